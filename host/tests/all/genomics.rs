use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use genomics_align::dataset::{partition_file, write_partitions};
use owbench::objects::ObjectServer;
use serde_json::{Value, json};

use crate::helpers::{engine, failure, load_builtin, native_result, wasm_result};

/// bowtie2's lambda phage example in one partition (Debian's `bowtie2-examples`, which
/// ci/test.sh installs).
fn lambda(dir: &Path) -> (PathBuf, PathBuf) {
    write_partitions(dir, 1).unwrap_or_else(|e| {
        panic!("{e} (ci/test.sh installs bowtie2 and bowtie2-examples with apt-get)")
    });
    (
        dir.join(partition_file("reference", 0)),
        dir.join(partition_file("reads", 0)),
    )
}

/// Run `program` with `args`, expect success; its stdout.
fn run(program: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (apt-get install bowtie2): {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// bowtie2's SAM for `reads` against `reference`, one thread, reads in input order.
fn bowtie2_sam(reference: &Path, reads: &Path, tmp: &Path) -> String {
    let index = tmp.join("index");
    run(
        "bowtie2-build",
        &["-q".as_ref(), reference.as_os_str(), index.as_os_str()],
    );
    let sam = run(
        "bowtie2",
        &[
            "-p".as_ref(),
            "1".as_ref(),
            "--reorder".as_ref(),
            "-x".as_ref(),
            index.as_os_str(),
            "-U".as_ref(),
            reads.as_os_str(),
        ],
    );
    String::from_utf8(sam).unwrap()
}

/// A SAM record's flag, reference, position and whether it has a second alignment.
struct Placed {
    flag: u32,
    rname: String,
    pos: u64,
    has_second: bool,
}

/// The records of `sam` by read name.
fn records(sam: &str) -> HashMap<String, Placed> {
    sam.lines()
        .filter(|l| !l.starts_with('@'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 11, "a SAM record has 11 fields: {l}");
            let placed = Placed {
                flag: f[1].parse().unwrap(),
                rname: f[2].to_owned(),
                pos: f[3].parse().unwrap(),
                has_second: f[11..].iter().any(|t| t.starts_with("XS:i:")),
            };
            (f[0].to_owned(), placed)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_the_reads_bowtie2_maps_uniquely_99_percent_get_its_position_and_strand() {
    let tmp = tempfile::tempdir().unwrap();
    let (reference, reads) = lambda(tmp.path());
    let theirs = records(&bowtie2_sam(&reference, &reads, tmp.path()));
    assert_eq!(theirs.len(), 10_000);

    let server = ObjectServer::start_with_files(Some(tmp.path().to_owned()))
        .await
        .unwrap();
    let params = json!({
        "reference_url": server.file_url(&partition_file("reference", 0)),
        "reads_url": server.file_url(&partition_file("reads", 0)),
    });
    let wasm = wasm_result("genomics-align", params.clone()).await;
    let sam = wasm["sam"].as_str().unwrap();
    assert!(sam.starts_with("@HD\tVN:1.6"), "{}", &sam[..80]);
    let ours = records(sam);
    assert_eq!((wasm["reads"].as_u64(), ours.len()), (Some(10_000), 10_000));

    let unique: Vec<&String> = theirs
        .iter()
        .filter(|(_, p)| p.flag & 4 == 0 && !p.has_second)
        .map(|(name, _)| name)
        .collect();
    let same = unique
        .iter()
        .filter(|name| {
            let (a, b) = (&theirs[**name], &ours[**name]);
            b.flag & 4 == 0 && a.rname == b.rname && a.pos == b.pos && a.flag & 16 == b.flag & 16
        })
        .count();
    let share = same as f64 / unique.len() as f64;
    assert!(
        share >= 0.99,
        "only {same} of the {} reads bowtie2 maps uniquely got its position and strand",
        unique.len()
    );
    eprintln!(
        "{same} of {} uniquely mapped reads agree ({:.2}%)",
        unique.len(),
        share * 100.0
    );
    let aligned = ours.values().filter(|p| p.flag & 4 == 0).count() as u64;
    assert_eq!(wasm["aligned"], aligned);

    // The native build of the same code writes the same SAM.
    let native = native_result("genomics-align", params.to_string()).await;
    assert_eq!(native["sam"], wasm["sam"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_record_a_bad_quality_line_and_an_oversized_input_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, reads) = lambda(tmp.path());
    let text = std::fs::read_to_string(&reads).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Three whole records, then the header and bases of a fourth.
    std::fs::write(
        tmp.path().join("truncated.fq"),
        lines[..14].join("\n") + "\n",
    )
    .unwrap();
    let mut bad = lines[..8].to_vec();
    let short_qual = &lines[7][1..];
    bad[7] = short_qual;
    std::fs::write(tmp.path().join("badqual.fq"), bad.join("\n") + "\n").unwrap();
    let offset_of_line_8: usize = lines[..7].iter().map(|l| l.len() + 1).sum();
    std::fs::write(tmp.path().join("big.fq"), text.repeat(2)).unwrap(); // > 2 MB
    std::fs::copy(&reads, tmp.path().join("reads.fa")).unwrap();
    let server = ObjectServer::start_with_files(Some(tmp.path().to_owned()))
        .await
        .unwrap();
    let reference_url = server.file_url(&partition_file("reference", 0));
    let engine = engine();
    let plugin = load_builtin(&engine, "genomics-align").await;
    let call = |reads: &str, extra: Value| {
        let mut p = json!({"reference_url": reference_url, "reads_url": server.file_url(reads)});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };

    let e = failure(&engine, &plugin, call("truncated.fq", json!({}))).await;
    assert!(e.is_application_error(), "{e}");
    let offset_of_line_13: usize = lines[..12].iter().map(|l| l.len() + 1).sum();
    assert!(
        e.to_string().contains(&format!(
            "reads: record 4 (line 13, byte offset {offset_of_line_13}): truncated record, the input ends before its `+` line"
        )),
        "{e}"
    );

    let e = failure(&engine, &plugin, call("badqual.fq", json!({}))).await;
    assert!(e.is_application_error(), "{e}");
    assert!(
        e.to_string().contains(&format!(
            "reads: record 2 (line 8, byte offset {offset_of_line_8}): bad quality line, {} qualities for {} bases",
            short_qual.len(),
            lines[5].len()
        )),
        "{e}"
    );

    let e = failure(&engine, &plugin, call("big.fq", json!({"max_input_mb": 2}))).await;
    assert!(e.is_application_error(), "{e}");
    assert!(
        e.to_string()
            .contains("larger than max_input_mb (2 MB): it passes byte offset 2097152"),
        "{e}"
    );

    // A reference over its limit (the index would not fit the action's memory).
    let mut p = call("reads.fa", json!({"max_reference_mb": 1}));
    p["reference_url"] = json!(server.file_url("reads.fa"));
    let e = failure(&engine, &plugin, p).await;
    assert!(e.is_application_error(), "{e}");
    assert!(
        e.to_string()
            .contains("larger than max_reference_mb (1 MB): it passes byte offset 1048576"),
        "{e}"
    );

    // Reads given where the reference belongs: not FASTA, said with the line.
    let mut p = call("truncated.fq", json!({}));
    p["reference_url"] = json!(server.file_url("reads.fa"));
    p["reads_url"] = Value::Null;
    p["reads"] = json!(lines[..4].join("\n"));
    let e = failure(&engine, &plugin, p).await;
    assert!(e.is_application_error(), "{e}");
    assert!(
        e.to_string().contains("line 1 (byte offset 0)") && e.to_string().contains("not FASTA"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_spec_aligns_every_chunk_as_one_call_aligns_them_all() {
    let tmp = tempfile::tempdir().unwrap();
    let workload = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/genomics-align");
    let out = tmp.path().join("out");
    let data = tmp.path().join("data");
    let o = tokio::task::spawn_blocking({
        let out = out.clone();
        move || crate::bench::with_data(&workload.join("bench.toml"), &out, &data, &["--runs", "1"])
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = crate::bench::results(&out);
    let answers: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("answers.json")).unwrap()).unwrap();
    let a = &answers[0];
    assert_eq!(a["complete"], true, "{a}");
    assert_eq!(a["partitions"], 20, "{a}");

    // The same reads aligned in one native call: every read is aligned on its own, so
    // the chunks add up to the same counts.
    lambda(&tmp.path().join("whole"));
    let server = ObjectServer::start_with_files(Some(tmp.path().join("whole")))
        .await
        .unwrap();
    let params = json!({
        "reference_url": server.file_url(&partition_file("reference", 0)),
        "reads_url": server.file_url(&partition_file("reads", 0)),
        "sam": false,
    });
    let one = native_result("genomics-align", params.to_string()).await;
    assert!(one.get("sam").is_none());
    assert_eq!(one["reads"], 10_000);
    for field in ["reads", "aligned", "unaligned", "aligned_uniquely"] {
        assert_eq!(a["answer"][field], one[field], "{field}: {a} vs {one}");
    }
}
