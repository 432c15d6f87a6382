//! `--fail-if` thresholds for CI pipelines: `p99>500ms`, `error_rate>1%`,
//! `matmul:throughput<100/s`. Each is checked against the median across repetitions of
//! every workload (or the one named before `:`); any that holds fails the command.

use std::fmt;

use super::summary::{FIGURES, FigureDef, Summary, Unit, figure_def};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }
}

/// One parsed `--fail-if` threshold.
#[derive(Debug, Clone)]
pub struct Threshold {
    text: String,
    workload: Option<String>,
    def: &'static FigureDef,
    op: Op,
    /// In the figure's own unit (µs, per second, or a ratio).
    value: f64,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Threshold {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Threshold> {
        let bad = |why: String| anyhow::anyhow!("--fail-if `{text}`: {why}");
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let at = compact
            .find(['<', '>'])
            .ok_or_else(|| bad("expected FIGURE>VALUE or FIGURE<VALUE, like p99>500ms".into()))?;
        let (lhs, rest) = compact.split_at(at);
        let (op, rhs) = if let Some(r) = rest.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = rest.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = rest.strip_prefix('>') {
            (Op::Gt, r)
        } else {
            (Op::Lt, &rest[1..])
        };
        let (workload, key) = match lhs.split_once(':') {
            Some((w, k)) => (Some(w.to_owned()), k),
            None => (None, lhs),
        };
        let def = figure_def(key).ok_or_else(|| {
            let keys: Vec<&str> = FIGURES.iter().map(|d| d.key).collect();
            bad(format!(
                "unknown figure `{key}` (one of: {})",
                keys.join(", ")
            ))
        })?;
        let value = parse_value(def.unit, rhs).map_err(bad)?;
        Ok(Threshold {
            text: text.trim().to_owned(),
            workload,
            def,
            op,
            value,
        })
    }
}

fn parse_value(unit: Unit, text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let scale = match (unit, suffix) {
        (Unit::Micros, "us" | "µs") => 1.0,
        (Unit::Micros, "ms") => 1e3,
        (Unit::Micros, "s") => 1e6,
        (Unit::Micros, _) => return Err(format!("`{text}`: give a time unit (us, ms or s)")),
        (Unit::PerSecond, "" | "/s") => 1.0,
        (Unit::PerSecond, _) => return Err(format!("`{text}`: a rate is a number or N/s")),
        (Unit::Ratio, "%") => 0.01,
        (Unit::Ratio, "") if number <= 1.0 => 1.0,
        (Unit::Ratio, _) => return Err(format!("`{text}`: a ratio is N% or a fraction 0..1")),
    };
    Ok(number * scale)
}

/// A threshold that held (so the run fails).
#[derive(Debug, Clone)]
pub struct Breach {
    /// The threshold as written.
    pub threshold: String,
    /// The workload.
    pub workload: String,
    /// What it measured, for people.
    pub measured: String,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} is {}",
            self.threshold, self.workload, self.measured
        )
    }
}

impl Threshold {
    /// Refuse a threshold naming a workload not among `names` (checked before a run).
    pub fn check_names(&self, names: &[String]) -> anyhow::Result<()> {
        match &self.workload {
            Some(name) if !names.contains(name) => anyhow::bail!(
                "--fail-if `{}`: the experiment has no workload `{name}` (it has {})",
                self.text,
                names.join(", ")
            ),
            _ => Ok(()),
        }
    }

    /// The workloads of `summary` for which this threshold holds; an error if it names
    /// a workload the run does not have.
    pub fn check(&self, summary: &Summary) -> anyhow::Result<Vec<Breach>> {
        if let Some(name) = &self.workload {
            anyhow::ensure!(
                summary.workload(name).is_some(),
                "--fail-if `{}`: the run has no workload `{name}`",
                self.text
            );
        }
        Ok(summary
            .workloads
            .iter()
            .filter(|w| self.workload.as_ref().is_none_or(|n| *n == w.meta.name))
            .filter_map(|w| {
                let f = w.figures.get(self.def.key)?;
                self.op.holds(f.median, self.value).then(|| Breach {
                    threshold: self.text.clone(),
                    workload: w.meta.name.clone(),
                    measured: format!(
                        "{} {} {}",
                        self.def.unit.show(f.median),
                        self.op.as_str(),
                        self.def.unit.show(self.value)
                    ),
                })
            })
            .collect())
    }
}

/// The `--fail-if` thresholds that held: the error that makes the command exit with
/// status 3.
#[derive(Debug)]
pub struct ThresholdsFailed(pub Vec<Breach>);

impl fmt::Display for ThresholdsFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "--fail-if: {}", all.join("; "))
    }
}

impl std::error::Error for ThresholdsFailed {}

/// Exit status of a run that worked but broke a `--fail-if` threshold.
pub const EXIT_THRESHOLD: u8 = 3;

/// Check every threshold; `Err(ThresholdsFailed)` if any held.
pub fn enforce(thresholds: &[Threshold], summary: &Summary) -> anyhow::Result<()> {
    let mut breaches = Vec::new();
    for t in thresholds {
        breaches.extend(t.check(summary)?);
    }
    if breaches.is_empty() {
        Ok(())
    } else {
        Err(ThresholdsFailed(breaches).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_with_units() {
        let t: Threshold = "p99>500ms".parse().unwrap();
        assert_eq!((t.def.key, t.op, t.value), ("p99", Op::Gt, 500_000.0));
        let t: Threshold = "error_rate > 1%".parse().unwrap();
        assert_eq!((t.op, t.value), (Op::Gt, 0.01));
        let t: Threshold = "matmul:throughput<=100/s".parse().unwrap();
        assert_eq!(
            (t.workload.as_deref(), t.op, t.value),
            (Some("matmul"), Op::Le, 100.0)
        );
        assert_eq!("p50>=2s".parse::<Threshold>().unwrap().value, 2e6);
        for (bad, why) in [
            ("p99 500ms", "expected FIGURE>VALUE"),
            ("p42>1ms", "unknown figure `p42`"),
            ("p99>500", "give a time unit"),
            ("error_rate>5", "a ratio is N%"),
            ("p99>fast", "does not start with a number"),
        ] {
            let e = bad.parse::<Threshold>().unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
