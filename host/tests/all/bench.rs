use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::cli::{assert_one_line_error, owbench};
use crate::helpers::*;

pub fn write_spec(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("spec.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The one results directory under `out`.
pub fn results(out: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.pop().unwrap()
}

/// Run `owbench bench SPEC --quiet -o OUT`, expect success; the summary document.
fn bench_ok(spec: &Path, out: &Path) -> Value {
    let o = owbench(&[
        "bench",
        spec.to_str().unwrap(),
        "--quiet",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(results(out).join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn rows(dir: &Path) -> Vec<Value> {
    let file = std::fs::File::open(dir.join("rows.jsonl")).unwrap();
    std::io::BufReader::new(file)
        .lines()
        .map(|l| l.unwrap())
        // A killed run may leave a torn last line; every complete line parses.
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect()
}

#[test]
fn the_default_experiment_accounts_for_every_invocation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    // The default experiment, smaller: every seed workload, 60 invocations each at once.
    let o = owbench(&[
        "bench",
        "--quiet",
        "--count",
        "60",
        "-o",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dir = results(&out);
    let rows = rows(&dir);
    assert_eq!(rows.len(), 240);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["schema"], "owbench.summary/2");
    let names: Vec<&str> = summary["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["matmul", "bintree", "file-io", "object-download"]);
    for w in summary["workloads"].as_array().unwrap() {
        assert_eq!(w["measured"], 60, "{w}");
        let total: u64 = w["outcomes"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(total, 60);
        assert!(w["outcomes"]["ok"].as_u64().unwrap() >= 58, "{w}");
        assert!(w["cold_starts"].as_u64().unwrap() >= 1, "{w}");
        assert!(w["latency_us"]["p50"].as_u64().unwrap() > 0);
        assert_eq!(w["with_record"], 60, "every blocking record read: {w}");
    }
    // Every row carries the three timestamps, consistently.
    for r in &rows {
        let (i, s, d) = (
            r["intended_us"].as_u64().unwrap(),
            r["sent_us"].as_u64().unwrap(),
            r["done_us"].as_u64().unwrap(),
        );
        assert!(i <= s && s <= d, "{r}");
        assert_eq!(r["latency_us"].as_u64().unwrap(), d - i);
    }
    for name in ["matmul", "object-download"] {
        assert!(stdout.contains(name), "table lacks {name}: {stdout}");
    }
}

#[test]
fn the_default_experiment_runs_with_process_containers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    // Each warm instance an `owbench runtime` process, driven over HTTP.
    let o = owbench(&[
        "bench",
        "--quiet",
        "--containers",
        "process",
        "--count",
        "20",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = results(&out);
    assert_eq!(rows(&dir).len(), 80);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    for w in summary["workloads"].as_array().unwrap() {
        assert_eq!(w["outcomes"]["ok"], 20, "{w}");
        assert!(w["cold_starts"].as_u64().unwrap() >= 1, "{w}");
    }
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["target"]["containers"], "process", "{meta}");

    // Not for other targets: one line that says so.
    let spec = write_spec(
        tmp.path(),
        "name = \"x\"\ncount = 1\n[target]\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\n[load]\nmodel = \"closed\"\nconcurrency = 1\n[[workload]]\nname = \"noop\"\ndeploy = false\n",
    );
    let o = owbench(&["bench", spec.to_str().unwrap(), "--containers", "process"]);
    assert_one_line_error(&o, "--containers applies to the embedded platform");
}

#[test]
fn a_malformed_spec_is_refused_with_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_spec(
        tmp.path(),
        "name = \"x\"\ncount = 10\n[load]\nmodel = \"burst\"\nsize = \"ten\"\n",
    );
    let o = owbench(&["bench", spec.to_str().unwrap()]);
    // The error points into the `[load]` table and says what is wrong.
    assert_one_line_error(
        &o,
        "spec.toml:3:1: invalid type: string \"ten\", expected usize",
    );
    let spec = write_spec(
        tmp.path(),
        "name = \"x\"\ncount = 10\n[load]\nmodel = \"sometimes\"\n",
    );
    assert_one_line_error(&owbench(&["bench", spec.to_str().unwrap()]), "spec.toml:");
    assert_one_line_error(
        &owbench(&["bench", "/no/such/spec.toml"]),
        "cannot read spec",
    );
}

const SMALL: &str = "name = \"small\"\ncount = 5\n[load]\nmodel = \"closed\"\nconcurrency = 1\n[[workload]]\nname = \"noop\"\n";

#[test]
fn an_unreachable_or_unauthenticated_target_is_reported_before_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    let (_refusing, refused) = refusing_port();
    let spec = write_spec(
        tmp.path(),
        &format!(
            "{SMALL}[target]\nkind = \"openwhisk\"\napihost = \"http://{refused}\"\nauth = \"a:b\"\n"
        ),
    );
    let o = owbench(&["bench", spec.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_one_line_error(&o, &format!("cannot reach OpenWhisk at http://{refused}"));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(start_platform(tmp.path(), |_| {}));
    let spec = write_spec(
        tmp.path(),
        &format!(
            "{SMALL}[target]\nkind = \"openwhisk\"\napihost = \"{}\"\nauth = \"wrong:key\"\n",
            server.url()
        ),
    );
    let o = owbench(&["bench", spec.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_one_line_error(&o, "rejected the key (HTTP 401)");

    // With the right key, the same remote-target path runs (wskprops supplies the key).
    let props = tmp.path().join("wskprops");
    std::fs::write(
        &props,
        format!(
            "APIHOST={}\nAUTH={}\n",
            server.url(),
            owbench::platform::GUEST_KEY
        ),
    )
    .unwrap();
    let spec = write_spec(
        tmp.path(),
        &format!(
            "{SMALL}[target]\nkind = \"openwhisk\"\nwskprops = \"{}\"\n",
            props.display()
        ),
    );
    bench_ok(&spec, &out);
    assert_eq!(rows(&results(&out)).len(), 5);
    runtime.block_on(server.stop());
}

#[test]
fn failing_actions_are_counted_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    let plugin = misbehave_dir();
    let spec = write_spec(
        tmp.path(),
        &format!(
            "name = \"failing\"\ncount = 6\n[target]\nkind = \"embedded\"\n[load]\nmodel = \"closed\"\nconcurrency = 2\n\
             [[workload]]\nname = \"{}\"\nparams = {{ mode = \"fail\" }}\n\
             [[workload]]\nname = \"{}\"\nlabel = \"trapper\"\nparams = {{ mode = \"trap\" }}\n",
            plugin.path().display(),
            plugin.path().display()
        ),
    );
    let summary = bench_ok(&spec, &out);
    assert_eq!(summary["workloads"][0]["outcomes"]["application_error"], 6);
    assert_eq!(summary["workloads"][1]["outcomes"]["developer_error"], 6);
}

/// A long open-loop run of noop, started in the background.
pub fn start_long_run(tmp: &Path, out: &Path, db: &Path) -> std::process::Child {
    let spec = write_spec(
        tmp,
        "name = \"long\"\nduration_s = 120\n[target]\nkind = \"embedded\"\n[load]\nmodel = \"open\"\nrate = 500\n[[workload]]\nname = \"noop\"\n",
    );
    Command::new(env!("CARGO_BIN_EXE_owbench"))
        .args([
            "bench",
            spec.to_str().unwrap(),
            "--quiet",
            "-o",
            out.to_str().unwrap(),
        ])
        .env("OWBENCH_CACHE_DIR", cache_dir())
        .env("OWBENCH_DB", db)
        // A killed run cannot remove its instances' scratch directories: they go with
        // the test's own directory instead of piling up in /tmp.
        .env("TMPDIR", tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait until the run has written at least `n` rows.
pub fn wait_for_rows(out: &Path, n: usize) {
    for _ in 0..600 {
        if let Ok(mut entries) = std::fs::read_dir(out)
            && let Some(Ok(dir)) = entries.next()
            && dir.path().join("rows.jsonl").exists()
            && rows(&dir.path()).len() >= n
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the run wrote fewer than {n} rows");
}

#[test]
fn ctrl_c_stops_and_writes_everything_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    let child = start_long_run(tmp.path(), &out, &shared_db());
    wait_for_rows(&out, 200);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("interrupted"));
    let dir = results(&out);
    let rows = rows(&dir);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["interrupted"], true);
    assert_eq!(
        summary["workloads"][0]["invocations"].as_u64().unwrap(),
        rows.len() as u64
    );
    assert!(rows.len() >= 200);
}

#[test]
fn a_killed_run_leaves_readable_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    let mut child = start_long_run(tmp.path(), &out, &shared_db());
    wait_for_rows(&out, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let rows = rows(&results(&out));
    assert!(rows.len() >= 200);
    // Complete rows, in the order they finished: no gaps in what was written.
    assert!(
        rows.iter()
            .all(|r| r["outcome"] == "ok" && r["done_us"].as_u64().is_some())
    );
}

#[test]
fn throttled_invocations_are_counted_or_retried_with_backoff() {
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let outcomes = |server: &owbench::platform::Server, retry: &str, name: &str| {
        let spec = format!(
            "name = \"throttled\"\ncount = 40\n{retry}[target]\nkind = \"openwhisk\"\napihost = \"{}\"\nauth = \"{}\"\n\
             [load]\nmodel = \"closed\"\nconcurrency = 8\n[[workload]]\nname = \"bintree\"\nparams = {{ depth = 14 }}\n",
            server.url(),
            owbench::platform::GUEST_KEY
        );
        let spec = write_spec(tmp.path(), &spec);
        bench_ok(&spec, &tmp.path().join(name))["workloads"][0]["outcomes"].clone()
    };
    // 10 invocations a minute and 40 sent: at least 20 are throttled, however fast or
    // slow the machine (even when the run straddles a minute boundary).
    let db = tempfile::tempdir().unwrap();
    let server = runtime.block_on(start_platform(db.path(), |c| c.invocations_per_minute = 10));
    let counted = outcomes(&server, "", "counted");
    let (ok, throttled) = (
        counted["ok"].as_u64().unwrap(),
        counted["throttled"].as_u64().unwrap(),
    );
    assert!(throttled >= 20, "{counted}");
    assert_eq!(ok + throttled, 40, "{counted}");
    runtime.block_on(server.stop());
    // One invocation at a time and 8 clients: whatever is throttled is retried until
    // every invocation succeeds.
    let server = runtime.block_on(start_platform(tmp.path(), |c| c.concurrent_invocations = 1));
    let retried = outcomes(&server, "[retry]\nmax = 200\nbackoff_ms = 1\n", "retried");
    assert_eq!(retried["ok"], 40, "{retried}");
    runtime.block_on(server.stop());
}

/// `owbench bench` with its data sets cached under `data_dir`.
pub fn with_data(spec: &Path, out: &Path, data_dir: &Path, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_owbench"))
        .arg("bench")
        .arg(spec)
        .args(["--quiet", "-o"])
        .arg(out)
        .args(extra)
        .env("OWBENCH_CACHE_DIR", crate::helpers::cache_dir())
        .env("OWBENCH_DB", crate::helpers::shared_db())
        .env("OWBENCH_DATA_DIR", data_dir)
        .output()
        .unwrap()
}
