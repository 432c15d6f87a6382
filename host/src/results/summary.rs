//! The summary of an experiment (`summary.json`, schema `owbench.summary/2`, documented
//! in `docs/results.md`): what ran, figures per workload merged over its repetitions,
//! each headline figure across repetitions with a 95% confidence interval, per-run
//! figures with their serialized HDR histograms, and the time series.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::figures::{Better, CiMethod, FIGURES, Figure, FigureDef, Unit, figure_def, show_us};
pub use super::machine::Machine;
use super::series::Series;
use crate::load::outcome::Outcome;
use crate::load::{Percentiles, StatsByRun, WorkloadStats};

/// Schema id of `summary.json`.
pub const SCHEMA: &str = "owbench.summary/2";

/// What ran, known before the first invocation: `meta.json` in the results directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetaFile {
    /// The run.
    #[serde(flatten)]
    pub meta: Meta,
    /// The workloads, in run order.
    pub workloads: Vec<WorkloadMeta>,
}

/// What ran (the workloads aside).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    /// Id in the run history, when recorded there.
    #[serde(default)]
    pub id: Option<i64>,
    /// The experiment's name.
    pub name: String,
    /// Repetitions asked for.
    pub runs: u32,
    /// The target, described (no secrets).
    pub target: Value,
    /// Blocking invokes.
    pub blocking: bool,
    /// Start, epoch ms.
    pub started_ms: u64,
    /// The owbench that ran it.
    pub owbench_version: String,
    /// The machine that ran it.
    pub machine: Machine,
    /// The effective spec, as TOML.
    pub spec: String,
}

/// What describes one workload besides its figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadMeta {
    /// Workload name (label).
    pub name: String,
    /// Action invoked.
    pub action: String,
    /// Parameters sent.
    pub params: Value,
    /// Load model.
    pub load: Value,
    /// The kind of the deployed action (`wasm`, `blackbox`, `python:3`; none when the
    /// action was not deployed by the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// SHA-256 of the deployed code: the component, or a `python:3` action's zip.
    pub component_sha256: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every repetition ran to the end.
    Complete,
    /// Ctrl-C cut it short; everything recorded is in.
    Interrupted,
    /// Rebuilt from the rows of a run that never finished (killed) or whose rows file is
    /// damaged.
    Partial,
}

impl Status {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Complete => "complete",
            Status::Interrupted => "interrupted",
            Status::Partial => "partial",
        }
    }
}

/// The summary document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// [`SCHEMA`].
    pub schema: String,
    /// What ran.
    #[serde(flatten)]
    pub meta: Meta,
    /// End (or, for a partial run, its last recorded invocation), epoch ms.
    pub ended_ms: u64,
    /// How it ended.
    pub status: Status,
    /// Cut short by Ctrl-C (`status` is `interrupted`).
    pub interrupted: bool,
    /// Invocations in flight when the grace period after Ctrl-C ran out.
    pub abandoned: u64,
    /// Lines of the rows file that could not be read (skipped).
    pub damaged_rows: u64,
    /// Repetitions with at least one recorded invocation.
    pub runs_done: u32,
    /// Figures per workload, in run order.
    pub workloads: Vec<WorkloadSummary>,
    /// Time series per (repetition, workload).
    pub series: Vec<Series>,
    /// What the run cost, on a cluster whose provider prices its nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<super::platform::RunCost>,
}

/// The figures of one workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadSummary {
    /// What ran.
    #[serde(flatten)]
    pub meta: WorkloadMeta,
    /// Invocations recorded, warm-up included (all repetitions).
    pub invocations: u64,
    /// Warm-up invocations.
    pub warmup: u64,
    /// Measured invocations.
    pub measured: u64,
    /// Measured invocations by outcome class.
    pub outcomes: BTreeMap<String, u64>,
    /// Measured invocations that were not `ok`.
    pub errors: u64,
    /// Measured cold starts.
    pub cold_starts: u64,
    /// Measured invocations whose activation record was seen.
    pub with_record: u64,
    /// Measured invocations per second of measurement window (all repetitions).
    pub throughput_per_s: f64,
    /// Client latency, from the intended start.
    pub latency_us: Percentiles,
    /// Service time, from the send.
    pub service_us: Percentiles,
    /// Scheduling lag.
    pub lag_us: Percentiles,
    /// Activation `duration`.
    pub duration_us: Percentiles,
    /// `waitTime`.
    pub wait_us: Percentiles,
    /// `initTime` (cold starts).
    pub init_us: Percentiles,
    /// Service time minus duration.
    pub overhead_us: Percentiles,
    /// Client latency of cold starts.
    pub cold_latency_us: Percentiles,
    /// Client latency of warm activations.
    pub warm_latency_us: Percentiles,
    /// Headline figures across repetitions, keyed as in [`FIGURES`].
    pub figures: BTreeMap<String, Figure>,
    /// Figures of each repetition.
    pub per_run: Vec<RunFigures>,
    /// Histograms merged over the repetitions.
    pub histograms: Histograms,
}

/// The figures of one repetition of one workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunFigures {
    /// Repetition (0-based).
    pub run: u32,
    /// Measured invocations.
    pub measured: u64,
    /// Measured invocations by outcome class.
    pub outcomes: BTreeMap<String, u64>,
    /// Measured cold starts.
    pub cold_starts: u64,
    /// Measured invocations with an activation record.
    pub with_record: u64,
    /// Measured invocations per second of its window.
    pub throughput_per_s: f64,
    /// Client latency.
    pub latency_us: Percentiles,
    /// Activation duration.
    pub duration_us: Percentiles,
    /// Platform overhead.
    pub overhead_us: Percentiles,
    /// Its histograms.
    pub histograms: Histograms,
}

/// HDR histograms (V2 + DEFLATE, base64), µs: mergeable, and readable by HdrHistogram tools.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Histograms {
    /// Client latency.
    pub latency_us: String,
    /// Service time.
    pub service_us: String,
    /// Activation duration.
    pub duration_us: String,
    /// Platform overhead.
    pub overhead_us: String,
    /// `waitTime`.
    #[serde(default)]
    pub wait_us: String,
    /// `initTime`.
    #[serde(default)]
    pub init_us: String,
}

impl Histograms {
    fn of(s: &WorkloadStats) -> Histograms {
        Histograms {
            latency_us: s.latency.encoded(),
            service_us: s.service.encoded(),
            duration_us: s.duration.encoded(),
            overhead_us: s.overhead.encoded(),
            wait_us: s.wait.encoded(),
            init_us: s.init.encoded(),
        }
    }
}

fn outcome_names(s: &WorkloadStats) -> BTreeMap<String, u64> {
    Outcome::ALL
        .iter()
        .map(|o| {
            (
                o.as_str().to_owned(),
                s.outcomes.get(o).copied().unwrap_or(0),
            )
        })
        .collect()
}

/// What [`build`] needs besides the figures.
#[derive(Debug, Clone)]
pub struct Ending {
    /// End, epoch ms.
    pub ended_ms: u64,
    /// How it ended.
    pub status: Status,
    /// Invocations abandoned in flight.
    pub abandoned: u64,
    /// Unreadable lines skipped in the rows file.
    pub damaged_rows: u64,
}

/// The summary of a run from its metadata, figures per (repetition, workload) and series.
pub fn build(file: MetaFile, stats: &StatsByRun, series: Vec<Series>, ending: Ending) -> Summary {
    let MetaFile { meta, workloads } = file;
    let workloads: Vec<WorkloadSummary> = workloads
        .iter()
        .map(|w| {
            let runs: Vec<(u32, &WorkloadStats)> = stats
                .iter()
                .filter(|((_, name), _)| *name == w.name)
                .map(|((run, _), s)| (*run, s))
                .collect();
            workload(w.clone(), &runs)
        })
        .collect();
    let runs_done = stats
        .keys()
        .map(|(run, _)| *run)
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u32;
    let measured = workloads.iter().map(|w: &WorkloadSummary| w.measured).sum();
    let cost = super::platform::cost(&meta.target, meta.started_ms, ending.ended_ms, measured);
    Summary {
        schema: SCHEMA.into(),
        meta,
        ended_ms: ending.ended_ms,
        status: ending.status,
        interrupted: ending.status == Status::Interrupted,
        abandoned: ending.abandoned,
        damaged_rows: ending.damaged_rows,
        runs_done,
        workloads,
        series,
        cost,
    }
}

fn workload(meta: WorkloadMeta, runs: &[(u32, &WorkloadStats)]) -> WorkloadSummary {
    let mut all = WorkloadStats::default();
    for (_, s) in runs {
        all.merge(s);
    }
    let figures = FIGURES
        .iter()
        .filter_map(|d| d.across(runs).map(|f| (d.key.to_owned(), f)))
        .collect();
    let per_run = runs
        .iter()
        .map(|(run, s)| RunFigures {
            run: *run,
            measured: s.measured(),
            outcomes: outcome_names(s),
            cold_starts: s.cold,
            with_record: s.with_record,
            throughput_per_s: s.throughput(),
            latency_us: s.latency.percentiles(),
            duration_us: s.duration.percentiles(),
            overhead_us: s.overhead.percentiles(),
            histograms: Histograms::of(s),
        })
        .collect();
    WorkloadSummary {
        meta,
        invocations: all.rows,
        warmup: all.warmup,
        measured: all.measured(),
        outcomes: outcome_names(&all),
        errors: all.measured() - all.ok(),
        cold_starts: all.cold,
        with_record: all.with_record,
        throughput_per_s: all.throughput(),
        latency_us: all.latency.percentiles(),
        service_us: all.service.percentiles(),
        lag_us: all.lag.percentiles(),
        duration_us: all.duration.percentiles(),
        wait_us: all.wait.percentiles(),
        init_us: all.init.percentiles(),
        overhead_us: all.overhead.percentiles(),
        cold_latency_us: all.latency_cold.percentiles(),
        warm_latency_us: all.latency_warm.percentiles(),
        figures,
        per_run,
        histograms: Histograms::of(&all),
    }
}

impl Summary {
    /// The workload called `name`.
    pub fn workload(&self, name: &str) -> Option<&WorkloadSummary> {
        self.workloads.iter().find(|w| w.meta.name == name)
    }

    /// Parse a summary document, naming what is wrong.
    pub fn parse(text: &str) -> anyhow::Result<Summary> {
        let value: Value = serde_json::from_str(text)?;
        match value.get("schema").and_then(Value::as_str) {
            Some(SCHEMA) => Ok(serde_json::from_value(value)?),
            Some(other) => anyhow::bail!(
                "summary schema `{other}` is not `{SCHEMA}` (written by another owbench version)"
            ),
            None => anyhow::bail!("not an owbench summary (no `schema`)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Hist;
    use crate::load::Row;

    fn stats(latencies: &[u64], errors: u64) -> WorkloadStats {
        let mut s = WorkloadStats::default();
        for (i, l) in latencies.iter().enumerate() {
            let failed = (i as u64) < errors;
            s.add(&Row {
                run: 0,
                workload: "w".into(),
                seq: i as u64,
                warmup: false,
                intended_us: i as u64 * 1000,
                sent_us: i as u64 * 1000,
                done_us: i as u64 * 1000 + l,
                latency_us: *l,
                service_us: *l,
                lag_us: 0,
                outcome: if failed {
                    Outcome::ApplicationError
                } else {
                    Outcome::Ok
                },
                status: 200,
                activation_id: None,
                cold: Some(i == 0),
                duration_us: Some(l / 2),
                wait_us: Some(1),
                init_us: (i == 0).then_some(5),
                error: None,
            });
        }
        s
    }

    fn meta() -> MetaFile {
        MetaFile {
            meta: Meta {
                id: None,
                name: "t".into(),
                runs: 3,
                target: Value::Null,
                blocking: true,
                started_ms: 0,
                owbench_version: "0".into(),
                machine: Machine::default(),
                spec: String::new(),
            },
            workloads: vec![WorkloadMeta {
                name: "w".into(),
                action: "a".into(),
                params: Value::Null,
                load: Value::Null,
                kind: None,
                component_sha256: None,
            }],
        }
    }

    const ENDING: Ending = Ending {
        ended_ms: 1,
        status: Status::Complete,
        abandoned: 0,
        damaged_rows: 0,
    };

    #[test]
    fn three_runs_give_medians_intervals_and_flag_no_outlier_among_equals() {
        let mut by_run = StatsByRun::new();
        for (run, base) in [(0u32, 1000u64), (1, 1100), (2, 1050)] {
            let lat: Vec<u64> = (0..200).map(|i| base + i).collect();
            by_run.insert((run, "w".into()), stats(&lat, 2));
        }
        let s = build(meta(), &by_run, Vec::new(), ENDING);
        let w = s.workload("w").unwrap();
        assert_eq!((w.measured, w.errors, s.runs_done), (600, 6, 3));
        let p50 = &w.figures["p50"];
        assert_eq!(p50.method, CiMethod::Bootstrap);
        assert_eq!(p50.values.len(), 3);
        let (lo, hi) = p50.ci.unwrap();
        assert!(lo <= p50.median && p50.median <= hi);
        assert!(p50.cv.unwrap() > 0.0);
        let err = &w.figures["error_rate"];
        assert_eq!(err.method, CiMethod::T);
        assert!((err.median - 0.01).abs() < 1e-9);
        assert_eq!(w.figures["cold_ratio"].median, 1.0 / 200.0);
        assert!(w.figures.values().all(|f| f.outliers.is_empty()));
        // The document round-trips.
        let text = serde_json::to_string(&s).unwrap();
        let back = Summary::parse(&text).unwrap();
        assert_eq!(
            back.workloads[0].figures["p99"].values,
            w.figures["p99"].values
        );
        let merged = Hist::decode(&back.workloads[0].histograms.latency_us).unwrap();
        assert_eq!(merged.len(), 600);
    }

    #[test]
    fn intervals_stay_within_what_a_figure_can_take() {
        // Errors in one repetition of three: the t-interval of [0.5, 0, 0] spans below 0.
        let mut by_run = StatsByRun::new();
        for (run, errors) in [(0u32, 4u64), (1, 0), (2, 0)] {
            by_run.insert(
                (run, "w".into()),
                stats(&[10, 20, 30, 40, 50, 60, 70, 80], errors),
            );
        }
        let s = build(meta(), &by_run, Vec::new(), ENDING);
        let err = &s.workload("w").unwrap().figures["error_rate"];
        assert_eq!(err.values, vec![0.5, 0.0, 0.0]);
        let (lo, hi) = err.ci.unwrap();
        assert_eq!(lo, 0.0);
        assert!(hi > 0.5 && hi <= 1.0, "{hi}");
    }

    #[test]
    fn one_run_gets_within_run_intervals() {
        let mut by_run = StatsByRun::new();
        let lat: Vec<u64> = (0..1000).map(|i| 1000 + i).collect();
        by_run.insert((0, "w".into()), stats(&lat, 10));
        let s = build(meta(), &by_run, Vec::new(), ENDING);
        let w = &s.workloads[0];
        let p99 = &w.figures["p99"];
        assert_eq!(p99.method, CiMethod::OrderStatistic);
        let (lo, hi) = p99.ci.unwrap();
        assert!(lo < p99.median && p99.median < hi, "{p99:?}");
        assert_eq!(w.figures["error_rate"].method, CiMethod::Wilson);
        assert_eq!(w.figures["throughput"].ci, None);
        assert!(Summary::parse("{\"schema\":\"owbench.summary/1\"}").is_err());
    }
}
