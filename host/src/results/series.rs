//! Time series per (repetition, workload), computed from the rows file: per interval,
//! how many invocations the load model meant to start (the target rate) and how many
//! finished (the achieved rate), outcomes, cold starts, client latency p50/p99 and the
//! mean waitTime, initTime and duration. The interval adapts to the run's length.

use std::collections::BTreeMap;
use std::path::Path;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::load::outcome::Outcome;
use crate::load::{Row, StatsByRun};

/// At most about this many points per series.
const POINTS: u64 = 120;
/// Interval lengths to choose from, ms.
const STEPS_MS: [u64; 14] = [
    10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000, 600_000,
];

/// The time series of one workload in one repetition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Series {
    /// Repetition.
    pub run: u32,
    /// Workload name.
    pub workload: String,
    /// Interval length, ms.
    pub interval_ms: u64,
    /// One point per interval from the workload's start, warm-up included.
    pub points: Vec<Point>,
}

/// One interval.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Point {
    /// Start of the interval, seconds since the workload started.
    pub t_s: f64,
    /// Invocations meant to start in it.
    pub intended: u64,
    /// Invocations that finished in it.
    pub done: u64,
    /// Of those, warm-up.
    pub warmup: u64,
    /// Finished by outcome class (`ok` included).
    pub outcomes: BTreeMap<String, u64>,
    /// Finished cold starts.
    pub cold: u64,
    /// Client latency median of the finished, µs.
    pub p50_us: u64,
    /// Client latency 99th percentile of the finished, µs.
    pub p99_us: u64,
    /// Mean `waitTime`, µs.
    pub wait_mean_us: Option<f64>,
    /// Mean `initTime` of cold starts, µs.
    pub init_mean_us: Option<f64>,
    /// Mean activation `duration`, µs.
    pub duration_mean_us: Option<f64>,
}

impl Point {
    /// Finished invocations that were not `ok`.
    pub fn errors(&self) -> u64 {
        self.done - self.outcomes.get("ok").copied().unwrap_or(0)
    }
}

#[derive(Default)]
struct Acc {
    intended: u64,
    done: u64,
    warmup: u64,
    outcomes: BTreeMap<Outcome, u64>,
    cold: u64,
    latency: Option<Histogram<u32>>,
    sums: [(f64, u64); 3],
}

impl Acc {
    fn add_done(&mut self, row: &Row) {
        self.done += 1;
        self.warmup += u64::from(row.warmup);
        *self.outcomes.entry(row.outcome).or_default() += 1;
        self.cold += u64::from(row.cold == Some(true));
        let h = self.latency.get_or_insert_with(|| {
            Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("bounds")
        });
        h.saturating_record(row.latency_us.clamp(1, 3_600_000_000));
        for (sum, v) in self
            .sums
            .iter_mut()
            .zip([row.wait_us, row.init_us, row.duration_us])
        {
            if let Some(v) = v {
                sum.0 += v as f64;
                sum.1 += 1;
            }
        }
    }

    fn point(self, t_s: f64) -> Point {
        let q = |q: f64| self.latency.as_ref().map_or(0, |h| h.value_at_quantile(q));
        let mean = |(sum, n): (f64, u64)| (n > 0).then(|| sum / n as f64);
        Point {
            t_s,
            intended: self.intended,
            done: self.done,
            warmup: self.warmup,
            outcomes: self
                .outcomes
                .iter()
                .map(|(o, n)| (o.as_str().to_owned(), *n))
                .collect(),
            cold: self.cold,
            p50_us: q(0.5),
            p99_us: q(0.99),
            wait_mean_us: mean(self.sums[0]),
            init_mean_us: mean(self.sums[1]),
            duration_mean_us: mean(self.sums[2]),
        }
    }
}

/// The interval for a series `span_us` long: the smallest step giving at most [`POINTS`].
pub fn interval_ms(span_us: u64) -> u64 {
    let span_ms = span_us.div_ceil(1000).max(1);
    STEPS_MS
        .into_iter()
        .find(|step| span_ms.div_ceil(*step) <= POINTS)
        .unwrap_or(STEPS_MS[STEPS_MS.len() - 1])
}

/// The series of every (repetition, workload) in the rows file `path`; `stats` (the same
/// rows, summarized) gives each series' length.
pub fn compute(path: &Path, stats: &StatsByRun) -> anyhow::Result<Vec<Series>> {
    let steps: BTreeMap<(u32, String), u64> = stats
        .iter()
        .map(|(key, s)| {
            let end = s.windows.values().map(|w| w.1).max().unwrap_or(0);
            (key.clone(), interval_ms(end) * 1000)
        })
        .collect();
    let mut accs: BTreeMap<(u32, String), BTreeMap<u64, Acc>> = BTreeMap::new();
    super::rows::read(path, |row| {
        let key = (row.run, row.workload.clone());
        let step = steps.get(&key).copied().unwrap_or(1_000_000);
        let series = accs.entry(key).or_default();
        series.entry(row.intended_us / step).or_default().intended += 1;
        series.entry(row.done_us / step).or_default().add_done(&row);
    })?;
    Ok(accs
        .into_iter()
        .map(|(key, points)| {
            let step = steps.get(&key).copied().unwrap_or(1_000_000);
            let last = points.keys().next_back().copied().unwrap_or(0);
            let mut points = points;
            let filled = (0..=last)
                .map(|i| {
                    points
                        .remove(&i)
                        .unwrap_or_default()
                        .point((i * step) as f64 / 1e6)
                })
                .collect();
            Series {
                run: key.0,
                workload: key.1,
                interval_ms: step / 1000,
                points: filled,
            }
        })
        .collect())
}

/// The series as CSV: one line per (repetition, workload, interval).
pub fn csv(series: &[Series]) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let _ = out.write_record([
        "run",
        "workload",
        "t_s",
        "interval_ms",
        "intended",
        "done",
        "warmup",
        "ok",
        "errors",
        "cold",
        "p50_us",
        "p99_us",
        "wait_mean_us",
        "init_mean_us",
        "duration_mean_us",
    ]);
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
    for s in series {
        for p in &s.points {
            let _ = out.write_record([
                (s.run + 1).to_string(),
                s.workload.clone(),
                format!("{:.3}", p.t_s),
                s.interval_ms.to_string(),
                p.intended.to_string(),
                p.done.to_string(),
                p.warmup.to_string(),
                p.outcomes.get("ok").copied().unwrap_or(0).to_string(),
                p.errors().to_string(),
                p.cold.to_string(),
                p.p50_us.to_string(),
                p.p99_us.to_string(),
                opt(p.wait_mean_us),
                opt(p.init_mean_us),
                opt(p.duration_mean_us),
            ]);
        }
    }
    // Writing to memory cannot fail.
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_adapt_to_the_span() {
        assert_eq!(interval_ms(500_000), 10);
        assert_eq!(interval_ms(2_000_000), 20);
        assert_eq!(interval_ms(60_000_000), 500);
        assert_eq!(interval_ms(3_600_000_000), 30_000);
    }

    #[test]
    fn series_count_intended_and_done_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.jsonl");
        let mut text = String::new();
        let mut stats = StatsByRun::new();
        // 100 invocations, one every 10 ms, each 25 ms long; the last two fail.
        for i in 0..100u64 {
            let row = Row {
                run: 0,
                workload: "w,x".into(),
                seq: i,
                warmup: i < 5,
                intended_us: i * 10_000,
                sent_us: i * 10_000,
                done_us: i * 10_000 + 25_000,
                latency_us: 25_000,
                service_us: 25_000,
                lag_us: 0,
                outcome: if i >= 98 {
                    Outcome::Timeout
                } else {
                    Outcome::Ok
                },
                status: 200,
                activation_id: None,
                cold: Some(i == 0),
                duration_us: Some(20_000),
                wait_us: Some(100),
                init_us: (i == 0).then_some(300),
                error: None,
            };
            text.push_str(&serde_json::to_string(&row).unwrap());
            text.push('\n');
            stats
                .entry((0, row.workload.clone()))
                .or_default()
                .add(&row);
        }
        std::fs::write(&path, text).unwrap();
        let series = compute(&path, &stats).unwrap();
        assert_eq!(series.len(), 1);
        let s = &series[0];
        assert_eq!(s.interval_ms, 10);
        let intended: u64 = s.points.iter().map(|p| p.intended).sum();
        let done: u64 = s.points.iter().map(|p| p.done).sum();
        let errors: u64 = s.points.iter().map(Point::errors).sum();
        assert_eq!((intended, done, errors), (100, 100, 2));
        assert_eq!(s.points[0].done, 0, "nothing finishes in the first 10 ms");
        assert_eq!(s.points[2].cold, 1);
        assert_eq!(s.points[2].init_mean_us, Some(300.0));
        let p50 = s.points[3].p50_us as f64;
        assert!(
            (p50 - 25_000.0).abs() < 250.0,
            "2 significant digits: {p50}"
        );
        let csv = csv(&series);
        assert_eq!(csv.lines().count(), 1 + s.points.len());
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("1,\"w,x\",0.000,10,")
        );
    }
}
