use std::process::{Command, Output};

use crate::helpers::*;

pub fn owbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_owbench"))
        .args(args)
        .env("OWBENCH_CACHE_DIR", cache_dir())
        .env("OWBENCH_DB", shared_db())
        .env_remove("OWBENCH_PLUGIN_PATH")
        .output()
        .expect("run owbench")
}

/// A failed command: exit code 1, and stderr is exactly one `error: ...` line.
pub fn assert_one_line_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{stderr} lacks {needle}");
    assert!(
        !stderr.contains("panicked at"),
        "the host panicked: {stderr}"
    );
}

#[test]
fn workload_run_matmul_prints_json_with_checksum_and_gflops() {
    let out = owbench(&["workload", "run", "matmul", "--param", "n=64", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["mode"], "wasm");
    assert!(report["result"]["checksum"].is_f64(), "{report}");
    assert!(
        report["result"]["gflops"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    assert!(report["instantiate_us"].as_f64().unwrap() > 0.0, "{report}");

    if !cfg!(feature = "native") {
        return;
    }
    let native = owbench(&[
        "workload", "run", "matmul", "--param", "n=64", "--json", "--native",
    ]);
    let native: serde_json::Value = serde_json::from_slice(&native.stdout).unwrap();
    assert_eq!(native["result"]["checksum"], report["result"]["checksum"]);
}

#[test]
fn workload_list_names_the_builtin_workloads() {
    let out = owbench(&["workload", "list", "--json"]);
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list.iter().map(|w| w["name"].as_str().unwrap()).collect();
    let mut expected = vec![
        "matmul",
        "bintree",
        "file-io",
        "object-download",
        "noop",
        "bigdata",
    ];
    if cfg!(feature = "heavy-workloads") {
        expected.extend(["ml-inference", "genomics-align"]);
    }
    assert_eq!(names, expected);
}

#[test]
fn bad_inputs_exit_non_zero_with_one_line() {
    let mis = misbehave_dir();
    let mis = mis.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["workload", "run", "nosuch"], "no such workload"),
        (
            &["workload", "run", "matmul", "--param", "n"],
            "not of the form KEY=VALUE",
        ),
        (
            &["workload", "run", "matmul", "--params-json", "{"],
            "not valid JSON",
        ),
        (
            &["workload", "run", "matmul", "--param", "n=0"],
            "`n` must be between 1 and 4096",
        ),
        (&["workload", "run", mis, "-p", "mode=trap"], "trapped"),
        (
            &[
                "workload",
                "run",
                mis,
                "-p",
                "mode=loop",
                "--timeout-ms",
                "300",
            ],
            "timed out after 300 ms",
        ),
        (
            &["workload", "run", mis, "-p", "mode=alloc"],
            "exceeded its memory limit of 64 MiB",
        ),
        (
            &["workload", "run", mis, "-p", "mode=stack"],
            "wasm stack overflow",
        ),
        (
            &[
                "workload",
                "run",
                mis,
                "-p",
                "mode=get",
                "-p",
                "url=http://127.0.0.1:9/",
            ],
            "denied",
        ),
    ];
    for (args, needle) in cases {
        assert_one_line_error(&owbench(args), needle);
    }
}

#[test]
fn a_corrupt_component_exits_non_zero_with_one_line() {
    let dir = plugin_dir(&misbehave_manifest("workload@0.4.0", ""), None);
    std::fs::write(dir.path().join("plugin.wasm"), b"\0asmjunk").unwrap();
    let out = owbench(&["workload", "run", dir.path().to_str().unwrap()]);
    assert_one_line_error(&out, "not a valid WebAssembly component");
}

#[test]
fn no_secret_from_the_environment_reaches_a_plugin() {
    let mis = misbehave_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_owbench"))
        .args([
            "workload",
            "run",
            mis.path().to_str().unwrap(),
            "-p",
            "mode=sandbox",
            "--json",
        ])
        .env("OWBENCH_CACHE_DIR", cache_dir())
        .env("AWS_SECRET_ACCESS_KEY", "planted-secret-value")
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["result"]["env"], serde_json::json!([]));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("planted-secret-value"));
}
