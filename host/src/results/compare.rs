//! `owbench compare A B`: the change of every headline figure of the workloads two runs
//! share, with a 95% confidence interval, judged better, worse or the same.
//!
//! Latency and throughput changes are relative (`B / A − 1`); with two or more
//! repetitions on each side the interval is a bootstrap over repetitions, with one it is
//! the widest change the two runs' own intervals allow. Ratios (cold starts, errors)
//! change in percentage points. A change is "same" when its interval holds zero, or when
//! a relative change is smaller than the noise threshold.

use serde::Serialize;

use super::stats;
use super::summary::{Better, FIGURES, Figure, FigureDef, Summary, Unit};

/// The judgement of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// B is better.
    Better,
    /// B is worse.
    Worse,
    /// Within noise or the interval holds zero.
    Same,
}

/// The change of one figure.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Workload.
    pub workload: String,
    /// Figure key.
    pub figure: &'static str,
    /// A's median and interval.
    pub a: (f64, Option<(f64, f64)>),
    /// B's median and interval.
    pub b: (f64, Option<(f64, f64)>),
    /// `relative` (B / A − 1) or `absolute` (B − A, for ratios).
    pub kind: &'static str,
    /// The change.
    pub change: f64,
    /// Its 95% interval.
    pub ci: Option<(f64, f64)>,
    /// Better, worse or same.
    pub verdict: Verdict,
    /// Why "same", when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_same: Option<&'static str>,
}

impl Change {
    /// The figure's definition.
    pub fn def(&self) -> &'static FigureDef {
        FIGURES
            .iter()
            .find(|d| d.key == self.figure)
            .expect("changes are made of known figures")
    }

    /// The change (and its interval) for people.
    pub fn show_change(&self) -> String {
        let one = |v: f64| {
            if self.kind == "absolute" {
                format!("{:+.2} pp", v * 100.0)
            } else {
                format!("{:+.1}%", v * 100.0)
            }
        };
        match self.ci {
            Some((lo, hi)) => format!("{} [{}, {}]", one(self.change), one(lo), one(hi)),
            None => one(self.change),
        }
    }
}

/// Two runs compared.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Noise threshold used (fraction).
    pub noise: f64,
    /// The changes, workload by workload in A's order.
    pub changes: Vec<Change>,
    /// What could not be compared, and differences in what ran.
    pub notes: Vec<String>,
}

/// Compare run `a` (the baseline) with run `b`.
pub fn compare(a: &Summary, b: &Summary, noise: f64) -> anyhow::Result<Comparison> {
    let names =
        |s: &Summary| -> Vec<String> { s.workloads.iter().map(|w| w.meta.name.clone()).collect() };
    let shared: Vec<&str> = a
        .workloads
        .iter()
        .map(|w| w.meta.name.as_str())
        .filter(|n| b.workload(n).is_some())
        .collect();
    anyhow::ensure!(
        !shared.is_empty(),
        "the runs share no workload (A has {}; B has {}): nothing to compare",
        names(a).join(", "),
        names(b).join(", ")
    );
    let mut notes = Vec::new();
    for (side, s, other) in [("A", a, b), ("B", b, a)] {
        for w in &s.workloads {
            if other.workload(&w.meta.name).is_none() {
                notes.push(format!("only {side} has workload `{}`", w.meta.name));
            }
        }
    }
    notes.extend(super::platform::differences(&a.meta.target, &b.meta.target));
    let mut changes = Vec::new();
    for name in shared {
        let (wa, wb) = (
            a.workload(name).expect("shared"),
            b.workload(name).expect("shared"),
        );
        if wa.meta.params != wb.meta.params {
            notes.push(format!(
                "`{name}` ran with other parameters: A {} vs B {}",
                wa.meta.params, wb.meta.params
            ));
        }
        // A run recorded before owbench recorded the action's kind has none: kinds are
        // compared only when both runs know theirs.
        match (&wa.meta.kind, &wb.meta.kind) {
            (Some(ka), Some(kb)) if ka != kb => notes.push(format!(
                "`{name}` ran as another kind of action: A {ka} vs B {kb}"
            )),
            _ if wa.meta.component_sha256 != wb.meta.component_sha256 => {
                notes.push(format!("`{name}` ran another build of its code"));
            }
            _ => {}
        }
        if wa.meta.load != wb.meta.load {
            notes.push(format!(
                "`{name}` ran under another load model: A {} vs B {}",
                wa.meta.load, wb.meta.load
            ));
        }
        for def in &FIGURES {
            match (wa.figures.get(def.key), wb.figures.get(def.key)) {
                (Some(fa), Some(fb)) => {
                    if let Some(c) = change(name, def, fa, fb, noise) {
                        changes.push(c);
                    }
                }
                (None, None) => {}
                _ => notes.push(format!("`{name}` {}: only one run has it", def.key)),
            }
        }
    }
    Ok(Comparison {
        noise,
        changes,
        notes,
    })
}

fn change(
    workload: &str,
    def: &'static FigureDef,
    a: &Figure,
    b: &Figure,
    noise: f64,
) -> Option<Change> {
    let absolute = def.unit == Unit::Ratio;
    let (value, ci) = if absolute {
        let ci = stats::bootstrap_two(&a.values, &b.values, stats::median, |x, y| Some(y - x))
            .or_else(|| Some((b.ci?.0 - a.ci?.1, b.ci?.1 - a.ci?.0)));
        (b.median - a.median, ci)
    } else {
        let value = stats::relative(a.median, b.median)?;
        let ci = stats::bootstrap_two(&a.values, &b.values, stats::median, stats::relative)
            .or_else(|| {
                let ((alo, ahi), (blo, bhi)) = (a.ci?, b.ci?);
                (alo > 0.0).then(|| (blo / ahi - 1.0, bhi / alo - 1.0))
            });
        (value, ci)
    };
    let why_same = if ci.is_some_and(|(lo, hi)| lo <= 0.0 && 0.0 <= hi) {
        Some("interval holds zero")
    } else if !absolute && value.abs() < noise {
        Some("under the noise threshold")
    } else if value == 0.0 {
        Some("no change")
    } else {
        None
    };
    let verdict = match (why_same, def.better, value > 0.0) {
        (Some(_), _, _) => Verdict::Same,
        (None, Better::Higher, true) | (None, Better::Lower, false) => Verdict::Better,
        (None, _, _) => Verdict::Worse,
    };
    Some(Change {
        workload: workload.to_owned(),
        figure: def.key,
        a: (a.median, a.ci),
        b: (b.median, b.ci),
        kind: if absolute { "absolute" } else { "relative" },
        change: value,
        ci,
        verdict,
        why_same,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::summary::CiMethod;

    fn fig(values: &[f64]) -> Figure {
        Figure {
            median: stats::median(values),
            mean: stats::mean_sd(values).0,
            ci: stats::bootstrap(values, stats::median),
            method: CiMethod::Bootstrap,
            cv: stats::cv(values),
            runs: (0..values.len() as u32).collect(),
            values: values.to_vec(),
            outliers: Vec::new(),
        }
    }

    fn def(key: &str) -> &'static FigureDef {
        FIGURES.iter().find(|d| d.key == key).unwrap()
    }

    /// A run of one workload `w` deployed as `kind` with code `sha`, with no rows.
    fn run(kind: Option<&str>, sha: Option<&str>) -> Summary {
        use crate::results::summary::{Ending, Meta, MetaFile, Status, WorkloadMeta, build};
        let file = MetaFile {
            meta: Meta {
                id: None,
                name: "t".into(),
                runs: 1,
                target: serde_json::Value::Null,
                blocking: true,
                started_ms: 0,
                owbench_version: "0".into(),
                machine: Default::default(),
                spec: String::new(),
            },
            workloads: vec![WorkloadMeta {
                name: "w".into(),
                action: "a".into(),
                params: serde_json::Value::Null,
                load: serde_json::Value::Null,
                kind: kind.map(Into::into),
                component_sha256: sha.map(Into::into),
            }],
        };
        let ending = Ending {
            ended_ms: 1,
            status: Status::Complete,
            abandoned: 0,
            damaged_rows: 0,
        };
        build(file, &Default::default(), Vec::new(), ending)
    }

    #[test]
    fn another_kind_or_build_is_noted_and_an_unrecorded_kind_is_no_difference() {
        let notes = |a: &Summary, b: &Summary| compare(a, b, 0.05).unwrap().notes;
        let wasm = run(Some("wasm"), Some("aa"));
        let python = run(Some("python:3.11"), Some("bb"));
        assert_eq!(
            notes(&wasm, &python),
            ["`w` ran as another kind of action: A wasm vs B python:3.11"]
        );
        // Recorded before kinds were: only the build differs.
        assert_eq!(
            notes(&run(None, Some("aa")), &run(Some("wasm"), Some("cc"))),
            ["`w` ran another build of its code"]
        );
        assert!(notes(&run(None, Some("aa")), &wasm).is_empty());
    }

    #[test]
    fn a_clear_latency_rise_is_worse_and_noise_is_same() {
        let a = fig(&[100.0, 102.0, 98.0, 101.0, 99.0]);
        let b = fig(&[150.0, 149.0, 152.0, 151.0, 148.0]);
        let c = change("w", def("p99"), &a, &b, 0.05).unwrap();
        assert_eq!(c.verdict, Verdict::Worse);
        assert!((c.change - 0.5).abs() < 0.02);
        let (lo, hi) = c.ci.unwrap();
        assert!(lo > 0.4 && hi < 0.6);
        assert!(
            c.show_change().starts_with("+50.0% ["),
            "{}",
            c.show_change()
        );
        // The same rise in throughput is better.
        assert_eq!(
            change("w", def("throughput"), &a, &b, 0.05)
                .unwrap()
                .verdict,
            Verdict::Better
        );
        // 1% apart, tight intervals: under the 5% noise threshold.
        let b = fig(&[101.0, 103.0, 99.0, 102.0, 100.0]);
        let c = change("w", def("p99"), &a, &b, 0.05).unwrap();
        assert_eq!(c.verdict, Verdict::Same);
    }

    #[test]
    fn ratios_change_in_points() {
        let a = fig(&[0.0, 0.0, 0.0]);
        let b = fig(&[0.10, 0.11, 0.09]);
        let c = change("w", def("error_rate"), &a, &b, 0.05).unwrap();
        assert_eq!((c.kind, c.verdict), ("absolute", Verdict::Worse));
        assert!(c.show_change().starts_with("+10.00 pp"));
    }
}
