//! Load models: when each invocation is meant to start.
//!
//! Open models are pure functions of the arrival index (`arrival(i)` since the start), so
//! scheduling is on absolute time and drift never accumulates; the closed model has no
//! schedule: N workers each start the next invocation when the last one ends.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Exp};
use serde::{Deserialize, Serialize};

/// A load model, as written in a spec (`model = "..."`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum LoadModel {
    /// N invocations in flight at all times.
    Closed {
        /// Workers.
        concurrency: usize,
    },
    /// Arrivals at a constant rate (evenly spaced), or Poisson with a seed.
    Open {
        /// Invocations per second.
        rate: f64,
        /// Exponential gaps instead of even spacing.
        #[serde(default)]
        poisson: bool,
        /// Seed of the Poisson arrivals.
        #[serde(default = "default_seed")]
        seed: u64,
    },
    /// `size` invocations at once, every `interval_ms` (one burst when 0).
    Burst {
        /// Invocations per burst.
        size: usize,
        /// Gap between bursts, ms.
        #[serde(default)]
        interval_ms: u64,
    },
    /// Open-loop rate ramped linearly from stage to stage (k6's ramping arrival rate).
    Stages {
        /// Start rate, per second.
        #[serde(default)]
        start_rate: f64,
        /// Each stage ramps to `target` per second over `duration_s`.
        stages: Vec<Stage>,
    },
}

/// One ramp of a staged model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Length, seconds.
    pub duration_s: f64,
    /// Rate at the end of the stage, per second.
    pub target: f64,
}

fn default_seed() -> u64 {
    1
}

impl LoadModel {
    /// Check the numbers; the error names the bad field.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            LoadModel::Closed { concurrency } if *concurrency == 0 => {
                Err("closed: `concurrency` must be at least 1".into())
            }
            LoadModel::Open { rate, .. } if !(rate.is_finite() && *rate > 0.0) => {
                Err("open: `rate` must be a positive number".into())
            }
            LoadModel::Burst { size, .. } if *size == 0 => {
                Err("burst: `size` must be at least 1".into())
            }
            LoadModel::Stages { stages, start_rate } => {
                if stages.is_empty() {
                    return Err("stages: give at least one stage".into());
                }
                if !(start_rate.is_finite() && *start_rate >= 0.0) {
                    return Err("stages: `start_rate` must be a non-negative number".into());
                }
                for (i, s) in stages.iter().enumerate() {
                    if !(s.duration_s.is_finite() && s.duration_s > 0.0) {
                        return Err(format!("stages[{i}]: `duration_s` must be positive"));
                    }
                    if !(s.target.is_finite() && s.target >= 0.0) {
                        return Err(format!("stages[{i}]: `target` must be non-negative"));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The arrival schedule of an open model (`None` for the closed model).
    pub fn arrivals(&self) -> Option<Arrivals> {
        let kind = match self {
            LoadModel::Closed { .. } => return None,
            LoadModel::Open {
                rate,
                poisson: false,
                ..
            } => Kind::Constant { gap: 1.0 / rate },
            LoadModel::Open {
                rate,
                poisson: true,
                seed,
            } => Kind::Poisson {
                rng: Box::new(StdRng::seed_from_u64(*seed)),
                exp: Exp::new(*rate).expect("validated rate"),
                at: 0.0,
            },
            LoadModel::Burst { size, interval_ms } => Kind::Burst {
                size: *size,
                interval: *interval_ms as f64 / 1000.0,
            },
            LoadModel::Stages { start_rate, stages } => Kind::Stages {
                start_rate: *start_rate,
                stages: stages.clone(),
                at: 0.0,
            },
        };
        Some(Arrivals { kind, index: 0 })
    }

    /// How long the schedule lasts by itself (`None`: unbounded, needs a count or duration).
    pub fn natural_duration(&self) -> Option<Duration> {
        match self {
            LoadModel::Stages { stages, .. } => Some(Duration::from_secs_f64(
                stages.iter().map(|s| s.duration_s).sum(),
            )),
            LoadModel::Burst { interval_ms: 0, .. } => Some(Duration::ZERO),
            _ => None,
        }
    }
}

/// Arrival times of an open model, as offsets from the start; ends when the schedule does.
pub struct Arrivals {
    kind: Kind,
    index: u64,
}

enum Kind {
    Constant {
        gap: f64,
    },
    Poisson {
        rng: Box<StdRng>,
        exp: Exp<f64>,
        at: f64,
    },
    Burst {
        size: usize,
        interval: f64,
    },
    Stages {
        start_rate: f64,
        stages: Vec<Stage>,
        at: f64,
    },
}

impl Iterator for Arrivals {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let i = self.index;
        self.index += 1;
        let seconds = match &mut self.kind {
            Kind::Constant { gap } => i as f64 * *gap,
            Kind::Poisson { rng, exp, at } => {
                let t = *at;
                *at += exp.sample(rng.as_mut());
                t
            }
            Kind::Burst { size, interval } => {
                let burst = i / *size as u64;
                if *interval == 0.0 && burst > 0 {
                    return None;
                }
                burst as f64 * *interval
            }
            Kind::Stages {
                start_rate,
                stages,
                at,
            } => {
                let t = next_staged_arrival(*start_rate, stages, *at, i == 0)?;
                *at = t;
                t
            }
        };
        Some(Duration::from_secs_f64(seconds))
    }
}

/// The next arrival after `at` under a piecewise-linear rate: the time where the integral
/// of the rate from `at` reaches one (the first arrival is at the first positive rate).
fn next_staged_arrival(start_rate: f64, stages: &[Stage], at: f64, first: bool) -> Option<f64> {
    let mut need = if first { 0.0 } else { 1.0 };
    let mut t0 = 0.0;
    let mut r0 = start_rate;
    for stage in stages {
        let t1 = t0 + stage.duration_s;
        let r1 = stage.target;
        if at < t1 {
            let from = at.max(t0);
            let slope = (r1 - r0) / stage.duration_s;
            let rate_at = |t: f64| r0 + slope * (t - t0);
            // Arrivals accumulated from `from` to `t` = ∫ rate = a·dt² / 2 + b·dt.
            let (a, b) = (slope, rate_at(from));
            let span = t1 - from;
            let available = a * span * span / 2.0 + b * span;
            if need == 0.0 && b > 0.0 {
                return Some(from);
            }
            if available >= need && (need > 0.0 || available > 0.0) {
                let target = if need == 0.0 { f64::EPSILON } else { need };
                let dt = if a.abs() < 1e-12 {
                    target / b
                } else {
                    let disc = (b * b + 2.0 * a * target).max(0.0);
                    (-b + disc.sqrt()) / a
                };
                return Some(from + dt.max(0.0));
            }
            need = (need - available).max(0.0);
        }
        t0 = t1;
        r0 = r1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(model: &LoadModel, n: usize) -> Vec<f64> {
        model
            .arrivals()
            .unwrap()
            .take(n)
            .map(|d| d.as_secs_f64())
            .collect()
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let m = LoadModel::Open {
            rate: 4.0,
            poisson: false,
            seed: 1,
        };
        assert_eq!(secs(&m, 3), [0.0, 0.25, 0.5]);
    }

    #[test]
    fn poisson_is_seeded_and_has_the_right_mean() {
        let m = LoadModel::Open {
            rate: 100.0,
            poisson: true,
            seed: 7,
        };
        let a = secs(&m, 10_001);
        assert_eq!(a, secs(&m, 10_001), "same seed, same arrivals");
        let mean_gap = a[10_000] / 10_000.0;
        assert!((mean_gap - 0.01).abs() < 0.0005, "{mean_gap}");
    }

    #[test]
    fn bursts_release_groups_at_once() {
        let one = LoadModel::Burst {
            size: 3,
            interval_ms: 0,
        };
        assert_eq!(one.arrivals().unwrap().count(), 3);
        let many = LoadModel::Burst {
            size: 2,
            interval_ms: 500,
        };
        assert_eq!(secs(&many, 5), [0.0, 0.0, 0.5, 0.5, 1.0]);
    }

    #[test]
    fn stages_ramp_the_rate() {
        // 0 → 10/s over 2 s: 10 arrivals in all, denser at the end.
        let m = LoadModel::Stages {
            start_rate: 0.0,
            stages: vec![Stage {
                duration_s: 2.0,
                target: 10.0,
            }],
        };
        let a: Vec<f64> = m.arrivals().unwrap().map(|d| d.as_secs_f64()).collect();
        assert!((9..=11).contains(&a.len()), "{a:?}");
        assert!(a.windows(2).all(|w| w[1] > w[0]));
        let early = a[1] - a[0];
        let late = a[a.len() - 1] - a[a.len() - 2];
        assert!(late < early, "{a:?}");
        // A flat stage is a constant rate.
        let flat = LoadModel::Stages {
            start_rate: 5.0,
            stages: vec![Stage {
                duration_s: 1.0,
                target: 5.0,
            }],
        };
        let a: Vec<f64> = flat.arrivals().unwrap().map(|d| d.as_secs_f64()).collect();
        assert_eq!(a.len(), 5, "{a:?}");
        assert!((a[1] - 0.2).abs() < 1e-9);
    }

    #[test]
    fn bad_numbers_are_named() {
        let bad = LoadModel::Open {
            rate: 0.0,
            poisson: false,
            seed: 1,
        };
        assert!(bad.validate().unwrap_err().contains("rate"));
        let bad = LoadModel::Closed { concurrency: 0 };
        assert!(bad.validate().unwrap_err().contains("concurrency"));
    }
}
