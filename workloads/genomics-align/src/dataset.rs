//! The lambda phage data set for `owbench bench` (native builds only): the reference and
//! the 10,000 reads of bowtie2's own example (`reads_1.fq`), as Debian's
//! `bowtie2-examples` package ships them, the reads split into chunks (their results are
//! merged by [`crate::reduce`]).

use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Where Debian's `bowtie2-examples` puts bowtie2's examples.
pub const DEBIAN_EXAMPLES: &str = "/usr/share/doc/bowtie2/examples";

/// The examples directory: `$OWBENCH_BOWTIE2_EXAMPLES`, else Debian's.
pub fn examples_dir() -> PathBuf {
    std::env::var_os("OWBENCH_BOWTIE2_EXAMPLES")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEBIAN_EXAMPLES))
}

/// The reference, gzip-compressed, under the examples directory.
pub const REFERENCE_GZ: &str = "reference/lambda_virus.fa.gz";
/// The reads, gzip-compressed, under the examples directory.
pub const READS_GZ: &str = "reads/reads_1.fq.gz";

/// File name of chunk `i` of `table` (`reads`; `reference` is one file for every chunk).
pub fn partition_file(table: &str, i: u32) -> String {
    match table {
        "reference" => "lambda_virus.fa".into(),
        _ => format!("reads-{i:03}.fq"),
    }
}

/// Read a gzip file of the examples, or say which package provides it.
pub fn read_example(examples: &Path, file: &str) -> std::io::Result<Vec<u8>> {
    let path = examples.join(file);
    let compressed = std::fs::read(&path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot read {}: {e}; install Debian's bowtie2-examples package (apt-get install bowtie2-examples) or set OWBENCH_BOWTIE2_EXAMPLES to a copy of its examples directory",
                path.display()
            ),
        )
    })?;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&compressed[..])
        .read_to_end(&mut out)
        .map_err(|e| {
            std::io::Error::new(e.kind(), format!("{} is not gzip: {e}", path.display()))
        })?;
    Ok(out)
}

/// Write the reference and the reads, in `partitions` chunks of consecutive reads, into
/// `dir`.
pub fn write_partitions(dir: &Path, partitions: u32) -> std::io::Result<()> {
    let examples = examples_dir();
    let reference = read_example(&examples, REFERENCE_GZ)?;
    let reads = read_example(&examples, READS_GZ)?;
    let lines: Vec<&[u8]> = reads
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .collect();
    if !lines.len().is_multiple_of(4) {
        return Err(std::io::Error::other(format!(
            "{} has {} lines, not four per record",
            examples.join(READS_GZ).display(),
            lines.len()
        )));
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(partition_file("reference", 0)), reference)?;
    let records = lines.len() / 4;
    let p = partitions.max(1) as usize;
    for i in 0..p {
        let chunk = &lines[4 * (i * records / p)..4 * ((i + 1) * records / p)];
        std::fs::write(dir.join(partition_file("reads", i as u32)), chunk.concat())?;
    }
    Ok(())
}
