//! `genomics-align`: short-read alignment inside the component, as an RNA-seq pipeline
//! step (Rail-RNA style) runs it, one chunk of reads per invocation.
//!
//! The reference (FASTA) is indexed with an FM index (`bio`); each read is seeded with
//! exact 20-mers on both strands, and its best candidate loci aligned end to end with a
//! banded Smith-Waterman, scored as bowtie2's `--end-to-end` defaults score (see
//! [`align`]). The output is SAM.
//!
//! Parameters: `reference_url` (FASTA); the reads, either `reads` (FASTQ text) or
//! `reads_url` (a FASTQ file); `sam` (return the SAM text, default true);
//! `max_input_mb` (the most bytes of reads read from a URL, default 256);
//! `max_reference_mb` (the largest reference, default 32: its index takes about 11
//! bytes a base, so raise it only with the action's memory); `timeout_ms`. The
//! result: `reads`, `aligned`, `unaligned`, `aligned_uniquely` (no second alignment
//! above the minimum), `reference_bases`, `index_seconds`, `align_seconds`,
//! `reads_per_s` (alignment only), and `sam`.

#[cfg(feature = "kernel")]
pub mod align;
#[cfg(not(target_arch = "wasm32"))]
pub mod dataset;
#[cfg(feature = "kernel")]
pub mod fastx;
#[cfg(feature = "kernel")]
pub mod index;
pub mod reduce;
#[cfg(feature = "kernel")]
pub mod sam;

#[cfg(feature = "kernel")]
use std::time::Instant;

#[cfg(feature = "kernel")]
use owbench_workload::http::get_bytes;
#[cfg(feature = "kernel")]
use owbench_workload::{Category, Ctx, Error, Info, Params, Value, Workload, json};

/// The workload type exported as a component.
#[cfg(feature = "kernel")]
pub struct GenomicsAlign;

#[cfg(feature = "kernel")]
impl Workload for GenomicsAlign {
    fn info() -> Info {
        Info {
            name: "genomics-align",
            version: env!("CARGO_PKG_VERSION"),
            category: Category::Genomics,
            description: "aligns a chunk of FASTQ reads to a FASTA reference (FM-index seeds, banded Smith-Waterman), SAM out",
            default_params: json!({
                "sam": true, "timeout_ms": 300000, "max_input_mb": 256, "max_reference_mb": 32,
            }),
        }
    }

    fn reduce(partials: &[Value]) -> Result<Value, Error> {
        reduce::reduce(partials).map_err(Error::Failed)
    }

    fn run(params: &Params, ctx: &mut dyn Ctx) -> Result<Value, Error> {
        let timeout_ms = params.u64_in("timeout_ms", 1, 3_600_000)?;
        let max_mb = params.u64_in("max_input_mb", 1, 4096)?;
        let max_reference_mb = params.u64_in("max_reference_mb", 1, 4096)?;
        let want_sam = params.bool("sam")?;
        let reference_url = params.str("reference_url")?;
        let fetched;
        let reads_text: &[u8] = match (params.opt_str("reads")?, params.opt_str("reads_url")?) {
            (Some(text), None) => text.as_bytes(),
            (None, Some(url)) => {
                fetched = get_bytes(url, "reads_url", "max_input_mb", max_mb, timeout_ms)?;
                &fetched
            }
            _ => {
                return Err(Error::InvalidParams(
                    "give exactly one of `reads` and `reads_url`".into(),
                ));
            }
        };
        let reads = fastx::parse_fastq(reads_text, "reads")?;
        let fasta = get_bytes(
            reference_url,
            "reference_url",
            "max_reference_mb",
            max_reference_mb,
            timeout_ms,
        )?;
        let contigs = fastx::parse_fasta(&fasta, &format!("reference_url {reference_url}"))?;
        drop(fasta);

        let started = Instant::now();
        let reference = index::Reference::new(contigs);
        let index_seconds = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let mut aligner = align::Aligner::new(&reference);
        let mut sam = if want_sam {
            sam::header(&reference)
        } else {
            String::new()
        };
        let (mut aligned, mut unique) = (0u64, 0u64);
        for read in &reads {
            let hit = aligner.align(read.seq, read.qual);
            if let Some(h) = &hit {
                aligned += 1;
                unique += u64::from(h.second.is_none());
            }
            if want_sam {
                sam::record(&mut sam, &reference, read, hit.as_ref());
            }
        }
        let align_seconds = started.elapsed().as_secs_f64();
        let reads_per_s = reads.len() as f64 / align_seconds.max(1e-9);
        ctx.metric("index_ms", index_seconds * 1e3, "ms");
        ctx.metric("reads_per_s", reads_per_s, "reads/s");
        let mut out = json!({
            "reads": reads.len(),
            "aligned": aligned,
            "unaligned": reads.len() as u64 - aligned,
            "aligned_uniquely": unique,
            "reference_bases": reference.bases(),
            "index_seconds": index_seconds,
            "align_seconds": align_seconds,
            "seconds": index_seconds + align_seconds,
            "reads_per_s": reads_per_s,
        });
        if want_sam {
            out["sam"] = json!(sam);
        }
        Ok(out)
    }
}

#[cfg(feature = "kernel")]
owbench_workload::export_workload!(GenomicsAlign);
