//! The headline figures of a summary: their definitions (key, unit, which way is
//! better), how each is read off one repetition, and how repetitions become one figure
//! with a 95% confidence interval.

use serde::{Deserialize, Serialize};

use super::stats;
use crate::load::{Hist, WorkloadStats};

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
    pub(crate) fn across(&self, runs: &[(u32, &WorkloadStats)]) -> Option<Figure> {
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
