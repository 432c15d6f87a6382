//! `summary.json` (schema `owbench.summary/1`, documented in `docs/results.md`) and the
//! table printed at the end of a run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use serde_json::{Value, json};

use super::spec::Spec;
use crate::client::Outcome;
use crate::load::{Percentiles, WorkloadStats};

/// Schema id of `summary.json`.
pub const SCHEMA: &str = "owbench.summary/1";

/// What describes one workload besides its figures.
#[derive(Debug, Clone)]
pub struct WorkloadMeta {
    /// Workload name.
    pub name: String,
    /// Action invoked.
    pub action: String,
    /// Parameters sent.
    pub params: Value,
    /// Load model.
    pub load: Value,
    /// SHA-256 of the deployed component.
    pub component_sha256: Option<String>,
}

/// Inputs of the summary document.
pub struct Context<'a> {
    /// The experiment.
    pub spec: &'a Spec,
    /// The target, described.
    pub target: &'a Value,
    /// Start.
    pub started: SystemTime,
    /// End.
    pub ended: SystemTime,
    /// Cut short by Ctrl-C.
    pub interrupted: bool,
    /// Invocations still in flight when the grace period ran out (not in the rows).
    pub abandoned: u64,
    /// Workloads, in run order.
    pub workloads: &'a [WorkloadMeta],
    /// Figures by workload name.
    pub stats: &'a BTreeMap<String, WorkloadStats>,
}

fn pct(p: Percentiles) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// The summary document.
pub fn document(c: Context<'_>) -> Value {
    let empty = WorkloadStats::default();
    let workloads: Vec<Value> = c
        .workloads
        .iter()
        .map(|meta| {
            let s = c.stats.get(&meta.name).unwrap_or(&empty);
            let outcomes: serde_json::Map<String, Value> = Outcome::ALL
                .iter()
                .map(|o| {
                    (
                        o.as_str().to_owned(),
                        json!(s.outcomes.get(o).copied().unwrap_or(0)),
                    )
                })
                .collect();
            json!({
                "name": meta.name,
                "action": meta.action,
                "params": meta.params,
                "load": meta.load,
                "component_sha256": meta.component_sha256,
                "invocations": s.rows,
                "warmup": s.warmup,
                "measured": s.measured(),
                "outcomes": outcomes,
                "errors": s.measured() - s.ok(),
                "cold_starts": s.cold,
                "with_record": s.with_record,
                "throughput_per_s": s.throughput(),
                "latency_us": pct(s.latency.percentiles()),
                "service_us": pct(s.service.percentiles()),
                "lag_us": pct(s.lag.percentiles()),
                "duration_us": pct(s.duration.percentiles()),
                "wait_us": pct(s.wait.percentiles()),
                "init_us": pct(s.init.percentiles()),
                "overhead_us": pct(s.overhead.percentiles()),
                "histograms": {
                    "latency_us": s.latency.encoded(),
                    "service_us": s.service.encoded(),
                    "duration_us": s.duration.encoded(),
                    "overhead_us": s.overhead.encoded(),
                },
            })
        })
        .collect();
    let ms = |t: SystemTime| crate::platform::record::epoch_ms(t);
    json!({
        "schema": SCHEMA,
        "owbench_version": env!("CARGO_PKG_VERSION"),
        "name": c.spec.name,
        "runs": c.spec.runs,
        "target": c.target,
        "blocking": c.spec.blocking,
        "started_ms": ms(c.started),
        "ended_ms": ms(c.ended),
        "interrupted": c.interrupted,
        "abandoned": c.abandoned,
        "machine": {
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        },
        "workloads": workloads,
    })
}

fn ms(us: &Value) -> String {
    let us = us.as_f64().unwrap_or(0.0);
    if us >= 100_000.0 {
        format!("{:.0}", us / 1000.0)
    } else if us >= 1000.0 {
        format!("{:.1}", us / 1000.0)
    } else {
        format!("{:.2}", us / 1000.0)
    }
}

/// The table printed after a run (times in ms).
pub fn table(summary: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<18} {:>7} {:>7} {:>6} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  errors",
        "workload",
        "count",
        "ok",
        "cold",
        "errors",
        "thr/s",
        "p50",
        "p90",
        "p99",
        "max",
        "dur p50",
        "ovh p50"
    );
    for w in summary["workloads"].as_array().into_iter().flatten() {
        let lat = &w["latency_us"];
        let errors: Vec<String> = w["outcomes"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| k.as_str() != "ok" && v.as_u64().unwrap_or(0) > 0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(
            out,
            "{:<18} {:>7} {:>7} {:>6} {:>6} {:>9.1} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  {}",
            w["name"].as_str().unwrap_or(""),
            w["measured"].as_u64().unwrap_or(0),
            w["outcomes"]["ok"].as_u64().unwrap_or(0),
            w["cold_starts"].as_u64().unwrap_or(0),
            w["errors"].as_u64().unwrap_or(0),
            w["throughput_per_s"].as_f64().unwrap_or(0.0),
            ms(&lat["p50"]),
            ms(&lat["p90"]),
            ms(&lat["p99"]),
            ms(&lat["max"]),
            ms(&w["duration_us"]["p50"]),
            ms(&w["overhead_us"]["p50"]),
            if errors.is_empty() {
                "-".to_owned()
            } else {
                errors.join(" ")
            },
        );
    }
    let _ = writeln!(
        out,
        "latency: client, from the intended start (ms); dur: activation duration; ovh: service time - duration"
    );
    if summary["interrupted"] == true {
        let _ = writeln!(
            out,
            "interrupted: partial results ({} invocations abandoned in flight)",
            summary["abandoned"]
        );
    }
    out
}
