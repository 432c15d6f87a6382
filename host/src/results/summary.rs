//! The summary of an experiment (`summary.json`, schema `owbench.summary/2`, documented
//! in `docs/results.md`): what ran, figures per workload merged over its repetitions,
//! each headline figure across repetitions with a 95% confidence interval, per-run
//! figures with their serialized HDR histograms, and the time series.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::series::Series;
use super::stats;
use crate::client::Outcome;
use crate::load::{Hist, Percentiles, StatsByRun, WorkloadStats};

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

/// The machine a run came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    /// Operating system.
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// Host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// CPU model name.
    #[serde(default)]
    pub cpu_model: Option<String>,
    /// Total memory, MB.
    #[serde(default)]
    pub memory_mb: Option<u64>,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let cpu_model = read("/proc/cpuinfo").and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        });
        let memory_mb = read("/proc/meminfo").and_then(|t| {
            let kb: u64 = t
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(kb / 1024)
        });
        Machine {
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            hostname: read("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()),
            cpu_model,
            memory_mb,
        }
    }
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
    /// SHA-256 of the deployed component.
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

/// How a confidence interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiMethod {
    /// Percentile bootstrap of the median across repetitions.
    Bootstrap,
    /// Student's t-interval of the mean across repetitions.
    T,
    /// One repetition: distribution-free interval of the percentile from its order statistics.
    OrderStatistic,
    /// One repetition: Wilson score interval of the proportion.
    Wilson,
    /// No interval (one repetition of a figure with no within-run interval).
    None,
}

/// One figure across repetitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    /// Median across repetitions (the headline).
    pub median: f64,
    /// Mean across repetitions.
    pub mean: f64,
    /// 95% confidence interval.
    pub ci: Option<(f64, f64)>,
    /// How `ci` was computed.
    pub method: CiMethod,
    /// Coefficient of variation across repetitions.
    pub cv: Option<f64>,
    /// The repetitions with a value, and their values.
    pub runs: Vec<u32>,
    /// The value of each repetition in `runs`.
    pub values: Vec<f64>,
    /// Repetitions flagged as outliers (modified z-score over 3.5); never dropped.
    pub outliers: Vec<u32>,
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (latency, errors).
    Lower,
    /// Larger is better (throughput).
    Higher,
}

/// What unit a figure is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds.
    Micros,
    /// Per second.
    PerSecond,
    /// A ratio (0..=1), shown as a percentage.
    Ratio,
}

impl Unit {
    /// `v` in this unit, for people.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Micros => show_us(v),
            Unit::PerSecond => format!("{v:.1}/s"),
            Unit::Ratio => format!("{:.2}%", v * 100.0),
        }
    }
}

/// A duration in µs, for people: µs, ms or s with 3 significant digits.
pub fn show_us(us: f64) -> String {
    if !us.is_finite() {
        return "-".into();
    }
    let (v, unit) = if us >= 1e6 {
        (us / 1e6, "s")
    } else if us >= 1e3 {
        (us / 1e3, "ms")
    } else {
        (us, "µs")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

/// How a figure is read off one repetition.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// Measured invocations per second.
    Throughput,
    /// Quantile of client latency.
    Latency(f64),
    /// Quantile of activation duration.
    Duration(f64),
    /// Quantile of platform overhead.
    Overhead(f64),
    /// Cold starts among invocations with a record.
    ColdRatio,
    /// Measured invocations not `ok`.
    ErrorRate,
}

/// A headline figure.
#[derive(Debug, Clone, Copy)]
pub struct FigureDef {
    /// Key in `figures` and in `--fail-if`.
    pub key: &'static str,
    /// For people.
    pub label: &'static str,
    /// Unit of its values.
    pub unit: Unit,
    /// Which way is better.
    pub better: Better,
    source: Source,
}

/// The headline figures, in report order.
pub const FIGURES: [FigureDef; 8] = [
    FigureDef {
        key: "throughput",
        label: "throughput",
        unit: Unit::PerSecond,
        better: Better::Higher,
        source: Source::Throughput,
    },
    FigureDef {
        key: "p50",
        label: "client latency p50",
        unit: Unit::Micros,
        better: Better::Lower,
        source: Source::Latency(0.5),
    },
    FigureDef {
        key: "p90",
        label: "client latency p90",
        unit: Unit::Micros,
        better: Better::Lower,
        source: Source::Latency(0.9),
    },
    FigureDef {
        key: "p99",
        label: "client latency p99",
        unit: Unit::Micros,
        better: Better::Lower,
        source: Source::Latency(0.99),
    },
    FigureDef {
        key: "duration_p50",
        label: "platform duration p50",
        unit: Unit::Micros,
        better: Better::Lower,
        source: Source::Duration(0.5),
    },
    FigureDef {
        key: "overhead_p50",
        label: "platform overhead p50",
        unit: Unit::Micros,
        better: Better::Lower,
        source: Source::Overhead(0.5),
    },
    FigureDef {
        key: "cold_ratio",
        label: "cold-start ratio",
        unit: Unit::Ratio,
        better: Better::Lower,
        source: Source::ColdRatio,
    },
    FigureDef {
        key: "error_rate",
        label: "error rate",
        unit: Unit::Ratio,
        better: Better::Lower,
        source: Source::ErrorRate,
    },
];

/// The definition of figure `key`.
pub fn figure_def(key: &str) -> Option<&'static FigureDef> {
    FIGURES.iter().find(|d| d.key == key)
}

impl FigureDef {
    /// This figure of one repetition, if it has one.
    fn value(&self, s: &WorkloadStats) -> Option<f64> {
        let quantile = |h: &Hist, q: f64| (!h.is_empty()).then(|| h.at(q) as f64);
        match self.source {
            Source::Throughput => (s.measured() > 0).then(|| s.throughput()),
            Source::Latency(q) => quantile(&s.latency, q),
            Source::Duration(q) => quantile(&s.duration, q),
            Source::Overhead(q) => quantile(&s.overhead, q),
            Source::ColdRatio => (s.with_record > 0).then(|| s.cold as f64 / s.with_record as f64),
            Source::ErrorRate => {
                (s.measured() > 0).then(|| (s.measured() - s.ok()) as f64 / s.measured() as f64)
            }
        }
    }

    /// A within-run interval, for a single repetition.
    fn single_run_ci(&self, s: &WorkloadStats) -> (Option<(f64, f64)>, CiMethod) {
        let bounds = |h: &Hist, q: f64| {
            stats::quantile_bounds(h.len(), q).map(|(lo, hi)| (h.at(lo) as f64, h.at(hi) as f64))
        };
        match self.source {
            Source::Throughput => (None, CiMethod::None),
            Source::Latency(q) => (bounds(&s.latency, q), CiMethod::OrderStatistic),
            Source::Duration(q) => (bounds(&s.duration, q), CiMethod::OrderStatistic),
            Source::Overhead(q) => (bounds(&s.overhead, q), CiMethod::OrderStatistic),
            Source::ColdRatio => (stats::wilson(s.cold, s.with_record), CiMethod::Wilson),
            Source::ErrorRate => (
                stats::wilson(s.measured() - s.ok(), s.measured()),
                CiMethod::Wilson,
            ),
        }
    }

    /// An interval cut to the values the figure can take: none is negative, and a
    /// proportion is at most 1 (a t-interval over few, spread repetitions can overshoot).
    fn clamp(&self, lo: f64, hi: f64) -> (f64, f64) {
        let max = match self.source {
            Source::ColdRatio | Source::ErrorRate => 1.0,
            _ => f64::INFINITY,
        };
        (lo.clamp(0.0, max), hi.clamp(0.0, max))
    }

    fn is_percentile(&self) -> bool {
        matches!(
            self.source,
            Source::Latency(_) | Source::Duration(_) | Source::Overhead(_)
        )
    }

    /// The figure across `runs` (each repetition's figures), if any repetition has it.
    fn across(&self, runs: &[(u32, &WorkloadStats)]) -> Option<Figure> {
        let (ids, values): (Vec<u32>, Vec<f64>) = runs
            .iter()
            .filter_map(|(run, s)| self.value(s).map(|v| (*run, v)))
            .unzip();
        if values.is_empty() {
            return None;
        }
        let (mean, _) = stats::mean_sd(&values);
        let (ci, method) = if values.len() >= 2 {
            if self.is_percentile() {
                (
                    stats::bootstrap(&values, stats::median),
                    CiMethod::Bootstrap,
                )
            } else {
                (stats::t_interval(&values), CiMethod::T)
            }
        } else {
            let only = runs
                .iter()
                .find(|(run, _)| *run == ids[0])
                .map(|(_, s)| *s)
                .expect("the value came from a run");
            self.single_run_ci(only)
        };
        let ci = ci.map(|(lo, hi)| self.clamp(lo, hi));
        let outliers = stats::mad_outliers(&values)
            .into_iter()
            .map(|i| ids[i])
            .collect();
        Some(Figure {
            median: stats::median(&values),
            mean,
            ci,
            method,
            cv: stats::cv(&values),
            runs: ids,
            values,
            outliers,
        })
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
    let workloads = workloads
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
