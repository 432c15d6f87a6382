use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::bench::{results, rows, start_long_run, wait_for_rows, write_spec};
use crate::cli::{assert_one_line_error, owbench};

/// A small experiment: noop, closed loop, `count` invocations per repetition.
fn small_spec(dir: &Path, name: &str, workload_label: &str, count: u64) -> PathBuf {
    write_spec(
        dir,
        &format!(
            "name = \"{name}\"\ncount = {count}\nwarmup = 5\n[target]\nkind = \"embedded\"\n\
             [load]\nmodel = \"closed\"\nconcurrency = 4\n[[workload]]\nname = \"noop\"\nlabel = \"{workload_label}\"\n"
        ),
    )
}

fn run(args: &[&str], db: &Path) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--db", db.to_str().unwrap()]);
    owbench(&all)
}

/// `owbench bench SPEC --quiet -o OUT --db DB EXTRA...`.
fn bench(spec: &Path, out: &Path, db: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "bench",
        spec.to_str().unwrap(),
        "--quiet",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    run(&args, db)
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn summary_of(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn three_repetitions_give_intervals_a_report_and_a_history_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    let out = tmp.path().join("out");
    let spec = small_spec(tmp.path(), "reps", "noop", 300);
    let o = run(
        &[
            "bench",
            spec.to_str().unwrap(),
            "--runs",
            "3",
            "-o",
            out.to_str().unwrap(),
        ],
        &db,
    );
    let stdout = ok(&o);
    assert!(stdout.contains("across 3 repetitions"), "{stdout}");
    // Not a terminal: a plain progress line per second (at least one per drive).
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("[noop (run 3/3)]") && stderr.contains("p99"),
        "{stderr}"
    );
    let dir = results(&out);
    let s = summary_of(&dir);
    assert_eq!(
        (s["runs_done"].as_u64(), s["status"].as_str()),
        (Some(3), Some("complete"))
    );
    let w = &s["workloads"][0];
    assert_eq!(w["measured"], 885, "300 a repetition, 5 of them warm-up");
    assert_eq!(w["per_run"].as_array().unwrap().len(), 3);
    let p99 = &w["figures"]["p99"];
    assert_eq!(p99["method"], "bootstrap");
    assert_eq!(p99["values"].as_array().unwrap().len(), 3);
    let (lo, hi, median) = (
        p99["ci"][0].as_f64().unwrap(),
        p99["ci"][1].as_f64().unwrap(),
        p99["median"].as_f64().unwrap(),
    );
    assert!(lo <= median && median <= hi, "{p99}");
    assert_eq!(w["figures"]["throughput"]["method"], "t");
    assert!(w["figures"]["throughput"]["cv"].as_f64().is_some());
    // Exports.
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    assert!(csv.starts_with("run,workload,t_s,"));
    let done: u64 = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(done, 900, "every row, warm-up included, is in the series");
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("| `noop` | 885 |"), "{md}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<figure class=\"chart\"").count(), 6);
    assert!(!html.contains("chart-error") && !html.contains("<script"));
    // The history lists it and reports on it in every format.
    let list = ok(&run(&["runs", "list"], &db));
    assert!(list.contains("reps") && list.contains("complete"), "{list}");
    let md = ok(&run(&["report", "1", "--format", "md"], &db));
    assert!(md.contains("### owbench: reps"), "{md}");
    let json: Value =
        serde_json::from_str(&ok(&run(&["report", "latest", "--format", "json"], &db))).unwrap();
    assert_eq!(json["workloads"][0]["measured"], 885);
    let html_out = tmp.path().join("again.html");
    ok(&run(
        &["report", "1", "-o", html_out.to_str().unwrap()],
        &db,
    ));
    assert!(std::fs::read_to_string(html_out).unwrap().contains("<svg"));
}

#[test]
fn compare_prints_changes_with_intervals_and_refuses_unrelated_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    let out = tmp.path().join("out");
    for _ in 0..2 {
        let spec = small_spec(tmp.path(), "cmp", "noop", 200);
        ok(&bench(&spec, &out, &db, &["--runs", "2"]));
    }
    let table = ok(&run(&["compare", "1", "2"], &db));
    for needle in ["client latency p99", "throughput", "change"] {
        assert!(table.contains(needle), "{table} lacks {needle}");
    }
    assert!(
        table.contains("% ["),
        "a relative change with its interval: {table}"
    );
    assert!(
        ["better", "WORSE", "same"]
            .iter()
            .any(|v| table.contains(v)),
        "{table}"
    );
    let json: Value =
        serde_json::from_str(&ok(&run(&["compare", "1", "2", "--json"], &db))).unwrap();
    let changes = json["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["figure"] == "p99" && c["ci"].is_array())
    );

    // Another workload altogether: nothing to compare, said plainly.
    let spec = small_spec(tmp.path(), "other", "something-else", 20);
    ok(&bench(&spec, &out, &db, &[]));
    assert_one_line_error(
        &run(&["compare", "1", "3"], &db),
        "the runs share no workload",
    );
}

#[test]
fn fail_if_sets_the_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    let out = tmp.path().join("out");
    let spec = small_spec(tmp.path(), "gate", "noop", 50);
    let gate = |thresholds: &[&str]| {
        let extra: Vec<&str> = thresholds.iter().flat_map(|t| ["--fail-if", t]).collect();
        bench(&spec, &out, &db, &extra)
    };
    let o = gate(&["p99>1us"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("error: --fail-if: p99>1us: noop is"),
        "{stderr}"
    );
    ok(&gate(&["error_rate>50%", "p99>60s"]));
    // The same check on a recorded run.
    let o = run(
        &[
            "report",
            "1",
            "--format",
            "text",
            "--fail-if",
            "throughput<1000000000",
        ],
        &db,
    );
    assert_eq!(o.status.code(), Some(3));
    // A bad threshold is refused before anything runs.
    let before = std::fs::read_dir(&out).unwrap().count();
    assert_one_line_error(
        &gate(&["p99>500"]),
        "--fail-if `p99>500`: `500`: give a time unit",
    );
    assert_one_line_error(
        &gate(&["nope:p99>5ms"]),
        "the experiment has no workload `nope` (it has noop)",
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        before,
        "nothing ran"
    );
}

#[test]
fn unknown_runs_and_newer_databases_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    assert_one_line_error(
        &run(&["report", "999"], &db),
        "no run 999 in the run history",
    );
    assert_one_line_error(&run(&["report", "latest"], &db), "is empty");
    assert_one_line_error(&run(&["report", "bogus"], &db), "unknown run `bogus`");
    assert_one_line_error(
        &run(&["report", tmp.path().to_str().unwrap()], &db),
        "is not an owbench results directory",
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", 7).unwrap();
    drop(conn);
    assert_one_line_error(&run(&["runs", "list"], &db), "schema version 7 is newer");
}

#[test]
fn a_damaged_rows_file_still_gets_a_partial_report() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    let out = tmp.path().join("out");
    let spec = small_spec(tmp.path(), "damaged", "noop", 100);
    ok(&bench(&spec, &out, &db, &[]));
    let dir = results(&out);
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let mut text = std::fs::read_to_string(dir.join("rows.jsonl")).unwrap();
    text.insert_str(text.find('\n').unwrap() + 1, "{\"garbage\n");
    text.push_str("{\"run\":0,\"workload\":\"no");
    std::fs::write(dir.join("rows.jsonl"), text).unwrap();
    let o = run(&["report", dir.to_str().unwrap(), "--format", "text"], &db);
    let stdout = ok(&o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("2 damaged line(s) skipped, the first at line 2"),
        "{stderr}"
    );
    assert!(stdout.contains("partial"), "{stdout}");
    let s = summary_of(&dir);
    assert_eq!(
        (s["status"].as_str(), s["damaged_rows"].as_u64()),
        (Some("partial"), Some(2))
    );
    assert_eq!(s["workloads"][0]["invocations"], 100);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Partial results"));
}

#[test]
fn a_killed_run_is_listed_unfinished_and_reported_as_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("history.sqlite");
    let out = tmp.path().join("out");
    let mut child = start_long_run(tmp.path(), &out, &db);
    wait_for_rows(&out, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let list = ok(&run(&["runs", "list"], &db));
    assert!(list.contains("unfinished"), "{list}");
    let md = ok(&run(&["report", "latest", "--format", "md"], &db));
    assert!(md.contains("status **partial**"), "{md}");
    let recorded = rows(&results(&out)).len() as u64;
    let s = summary_of(&results(&out));
    assert_eq!(s["workloads"][0]["invocations"].as_u64(), Some(recorded));
    let list = ok(&run(&["runs", "list"], &db));
    assert!(list.contains("partial"), "{list}");
}

#[test]
fn a_schema_1_history_is_migrated_and_keeps_its_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let scratch_db = tmp.path().join("scratch.sqlite");
    let spec = small_spec(tmp.path(), "old", "noop", 30);
    ok(&bench(&spec, &out, &scratch_db, &[]));
    let dir = results(&out);
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    // The database as owbench's schema 1 wrote it.
    let db = tmp.path().join("v1.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, started_ms INTEGER NOT NULL, dir TEXT NOT NULL, status TEXT NOT NULL, summary TEXT);
         PRAGMA user_version = 1;",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO runs (name, started_ms, dir, status, summary) VALUES ('old', 1, ?1, 'complete', ?2)",
        rusqlite::params![dir.to_str().unwrap(), summary],
    )
    .unwrap();
    drop(conn);
    let list = ok(&run(&["runs", "list"], &db));
    assert!(list.contains("old") && list.contains("complete"), "{list}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    let figures: i64 = conn
        .query_row("SELECT count(*) FROM figures WHERE run_id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(figures >= 6, "figures backfilled: {figures}");
    drop(conn);
    let text = ok(&run(&["report", "1", "--format", "text"], &db));
    assert!(text.contains("noop"), "{text}");
}
