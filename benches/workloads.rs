//! Workloads, wasm component vs the native build of the same kernel, side by side in one
//! run: `matmul` (n = 256), `bintree` (depth 14, with its arena and with the global
//! allocator) and `bigdata` query 2 (one partition of 50,000 visits fetched from a
//! loopback endpoint). The wasm figure is a whole call (fresh store, instantiate, run);
//! instantiation is ~µs against ms-long kernels. `ml-inference` (all 1797 digits in one
//! call) counts only the classification, as the workload times it. `genomics-align`
//! (bowtie2's 10,000 lambda phage reads in one call: fetch, index, align, SAM) is run
//! beside single-threaded `bowtie2` on the same files (the whole process: index load,
//! alignment, SAM to /dev/null), when Debian's `bowtie2` and `bowtie2-examples` are
//! installed.
#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

use owbench::workloads;
use owbench_plugin::{EngineConfig, PluginEngine};

fn side_by_side(c: &mut Criterion) {
    // One worker serves the data set while the benchmark thread blocks on calls.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    bigdata::data::generate(data.path(), 0.5, 1, 1).unwrap();
    let files = rt
        .block_on(owbench::objects::ObjectServer::start_with_files(Some(
            data.path().to_owned(),
        )))
        .unwrap();
    ml_inference::dataset::write_partitions(&data.path().join("digits"), 1).unwrap();
    std::fs::write(
        data.path().join("digits/digits.onnx"),
        ml_inference::model::DIGITS_ONNX,
    )
    .unwrap();
    // The model by URL: each call, wasm or native, loads it afresh and runs a new plan
    // (the built-in one is kept by a native process across calls, not by a new instance).
    let digits = format!(
        r#"{{"images_url": "{}", "model_url": "{}"}}"#,
        files.file_url(&format!(
            "digits/{}",
            ml_inference::dataset::partition_file(0)
        )),
        files.file_url("digits/digits.onnx")
    );
    let q2 = format!(
        r#"{{"query": 2, "prefix": 8, "uservisits_url": "{}"}}"#,
        files.file_url(&bigdata::data::partition_file("uservisits", 0))
    );
    // The data sets are served on loopback: `private-networks` granted, as
    // `--allow-private-networks` does (a literal rule would need the port).
    let engine = PluginEngine::new(EngineConfig {
        max_instances: 16,
        private_networks: true,
        ..EngineConfig::default()
    })
    .unwrap();
    let cases = [
        ("matmul", "matmul", r#"{"n": 256, "seed": 42}"#),
        (
            "bintree",
            "bintree-arena",
            r#"{"depth": 14, "allocator": "arena"}"#,
        ),
        (
            "bintree",
            "bintree-global",
            r#"{"depth": 14, "allocator": "global"}"#,
        ),
        ("bigdata", "bigdata-q2", q2.as_str()),
    ];
    for (name, label, params) in cases {
        let source = workloads::resolve(name, &[]).unwrap();
        let plugin = rt.block_on(workloads::load(&engine, &source)).unwrap();
        let limits = plugin.default_limits();
        let mut group = c.benchmark_group(label);
        group.sample_size(20);
        group.bench_function("wasm", |b| {
            b.iter(|| {
                rt.block_on(plugin.call(&engine, params, limits))
                    .result
                    .unwrap()
            })
        });
        group.bench_function("native", |b| {
            b.iter(|| workloads::run_native(name, params).unwrap().result.unwrap())
        });
        group.finish();
    }

    // ml-inference: the time tract spends classifying (the result's `seconds`), not the
    // download and parse of the images around it.
    let source = workloads::resolve("ml-inference", &[]).unwrap();
    let plugin = rt.block_on(workloads::load(&engine, &source)).unwrap();
    let limits = plugin.default_limits();
    let classify_time = |text: String| {
        let result: serde_json::Value = serde_json::from_str(&text).unwrap();
        Duration::from_secs_f64(result["seconds"].as_f64().unwrap())
    };
    let mut group = c.benchmark_group("ml-inference-1797");
    group.sample_size(20);
    group.bench_function("wasm", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let outcome = rt.block_on(plugin.call(&engine, &digits, limits));
                    classify_time(outcome.result.unwrap())
                })
                .sum()
        })
    });
    group.bench_function("native", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let outcome = workloads::run_native("ml-inference", &digits).unwrap();
                    classify_time(outcome.result.unwrap())
                })
                .sum()
        })
    });
    group.finish();

    genomics(c, &rt, &engine, &files, data.path());
}

/// `genomics-align` wasm and native vs `bowtie2 -p 1`, all on the whole example.
fn genomics(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    engine: &PluginEngine,
    files: &owbench::objects::ObjectServer,
    data: &std::path::Path,
) {
    use genomics_align::dataset::{partition_file, write_partitions};
    let dir = data.join("lambda");
    if let Err(e) = write_partitions(&dir, 1) {
        eprintln!("genomics-align skipped: {e}");
        return;
    }
    let reference = dir.join(partition_file("reference", 0));
    let reads = dir.join(partition_file("reads", 0));
    let params = format!(
        r#"{{"reference_url": "{}", "reads_url": "{}"}}"#,
        files.file_url(&format!("lambda/{}", partition_file("reference", 0))),
        files.file_url(&format!("lambda/{}", partition_file("reads", 0)))
    );
    let source = workloads::resolve("genomics-align", &[]).unwrap();
    let plugin = rt.block_on(workloads::load(engine, &source)).unwrap();
    let limits = plugin.default_limits();
    let mut group = c.benchmark_group("genomics-align-10k");
    group.sample_size(10);
    group.bench_function("wasm", |b| {
        b.iter(|| {
            rt.block_on(plugin.call(engine, &params, limits))
                .result
                .unwrap()
        })
    });
    group.bench_function("native", |b| {
        b.iter(|| {
            workloads::run_native("genomics-align", &params)
                .unwrap()
                .result
                .unwrap()
        })
    });
    let index = dir.join("index");
    let built = std::process::Command::new("bowtie2-build")
        .args(["-q", "--threads", "1"])
        .arg(&reference)
        .arg(&index)
        .status();
    if built.is_ok_and(|s| s.success()) {
        group.bench_function("bowtie2", |b| {
            b.iter(|| {
                let status = std::process::Command::new("bowtie2")
                    .args(["-p", "1", "--reorder", "-x"])
                    .arg(&index)
                    .arg("-U")
                    .arg(&reads)
                    .args(["-S", "/dev/null"])
                    .stderr(std::process::Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success());
            })
        });
    } else {
        eprintln!("bowtie2 skipped: bowtie2-build is not installed (apt-get install bowtie2)");
    }
    group.finish();
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
