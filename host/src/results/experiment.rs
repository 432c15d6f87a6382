//! The report of a matrix experiment (`owbench experiment run`): one run of the same
//! bench spec per cluster, side by side. For each cluster: its platform, whether it came
//! up, ran and came down, what its run cost and what the cluster cost from `up` to
//! `down`; for each workload, every headline figure per cluster (median across
//! repetitions and its 95% interval), and each cluster's change against the first one
//! that ran (as `owbench compare` judges it).

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Value, json};

use super::compare::{self, Verdict};
use super::report::cell;
use super::summary::{FIGURES, Summary};

/// What became of one cluster of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterRun {
    /// Its name in the matrix.
    pub label: String,
    /// Its cluster spec's path.
    pub spec: PathBuf,
    /// The cluster's id, once `up` made its state.
    pub cluster: Option<String>,
    /// The cluster's price, USD per hour, as `up` priced it.
    pub usd_per_hour: Option<f64>,
    /// The run's results directory, once the bench started writing one.
    pub results: Option<PathBuf>,
    /// The bench's summary, when it ran.
    #[serde(skip)]
    pub summary: Option<Summary>,
    /// What failed, `up: ...`, `bench: ...` (none when it ran to the end).
    pub error: Option<String>,
    /// What `down` removed (none when nothing was created, or when it failed).
    pub down: Option<String>,
    /// Why `down` failed: the cluster's resources may be left.
    pub down_error: Option<String>,
    /// Whether Ctrl-C cut it short, or kept it from starting.
    pub interrupted: bool,
    /// When `up` started, ms since the Unix epoch.
    pub up_started_ms: u64,
    /// When `down` ended, ms since the Unix epoch.
    pub down_ended_ms: u64,
}

impl ClusterRun {
    /// `ok`, `failed` (up or bench), `interrupted` (cut short or kept from starting by
    /// Ctrl-C), or `not down` (its resources may be left: `down` failed).
    pub fn status(&self) -> &'static str {
        match (&self.down_error, &self.error, &self.summary) {
            (Some(_), _, _) => "not down",
            _ if self.interrupted => "interrupted",
            (_, Some(_), _) => "failed",
            (_, None, Some(s)) if s.interrupted => "interrupted",
            (_, None, Some(_)) => "ok",
            (_, None, None) => "not run",
        }
    }

    /// The cluster's price over the time from `up` to `down` (what it cost in all), when
    /// it was priced and created.
    pub fn cluster_usd(&self) -> Option<f64> {
        self.cluster.as_ref()?;
        let hours = self.down_ended_ms.saturating_sub(self.up_started_ms) as f64 / 3_600_000.0;
        Some(self.usd_per_hour? * hours)
    }
}

/// A matrix experiment's outcome.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Its name.
    pub name: String,
    /// The matrix file.
    pub matrix: PathBuf,
    /// The bench spec.
    pub bench: PathBuf,
    /// Relative changes smaller than this are "same" (fraction).
    pub noise: f64,
    /// The clusters, in the matrix's order.
    pub clusters: Vec<ClusterRun>,
}

impl Experiment {
    /// The baseline of the changes: the first cluster that ran to the end, else the
    /// first whose bench ran at all.
    fn baseline(&self) -> Option<&ClusterRun> {
        self.clusters
            .iter()
            .find(|c| c.status() == "ok")
            .or_else(|| self.clusters.iter().find(|c| c.summary.is_some()))
    }

    /// Each other run cluster's comparison with the baseline.
    fn comparisons(&self) -> Vec<(&ClusterRun, Result<compare::Comparison, String>)> {
        let Some(base) = self.baseline() else {
            return Vec::new();
        };
        let a = base.summary.as_ref().expect("the baseline ran");
        self.clusters
            .iter()
            .filter(|c| c.label != base.label)
            .filter_map(|c| Some((c, c.summary.as_ref()?)))
            .map(|(c, b)| {
                (
                    c,
                    compare::compare(a, b, self.noise).map_err(|e| e.to_string()),
                )
            })
            .collect()
    }

    /// The workloads any cluster ran, in the first runs' order.
    fn workloads(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for s in self.clusters.iter().filter_map(|c| c.summary.as_ref()) {
            for w in &s.workloads {
                if !names.contains(&w.meta.name) {
                    names.push(w.meta.name.clone());
                }
            }
        }
        names
    }

    /// `experiment.json`: every cluster with its platform and costs, every figure per
    /// cluster, every change against the baseline.
    pub fn json(&self) -> Value {
        let clusters: Vec<Value> = self
            .clusters
            .iter()
            .map(|c| {
                let mut v = serde_json::to_value(c).expect("plain data");
                v["status"] = json!(c.status());
                v["cluster_usd"] = json!(c.cluster_usd());
                if let Some(s) = &c.summary {
                    v["platform"] = s.meta.target.clone();
                    v["run_cost"] = json!(s.cost);
                }
                v
            })
            .collect();
        let mut figures = Vec::new();
        for name in self.workloads() {
            for def in &FIGURES {
                let per: serde_json::Map<String, Value> = self
                    .clusters
                    .iter()
                    .filter_map(|c| {
                        let f = c.summary.as_ref()?.workload(&name)?.figures.get(def.key)?;
                        Some((c.label.clone(), json!({"median": f.median, "ci": f.ci})))
                    })
                    .collect();
                if !per.is_empty() {
                    figures.push(json!({"workload": name, "figure": def.key, "clusters": per}));
                }
            }
        }
        let changes: Vec<Value> = self
            .comparisons()
            .into_iter()
            .map(|(c, cmp)| match cmp {
                Ok(cmp) => json!({"cluster": c.label, "comparison": cmp}),
                Err(e) => json!({"cluster": c.label, "error": e}),
            })
            .collect();
        json!({
            "schema": "owbench.experiment/1",
            "name": self.name,
            "matrix": self.matrix,
            "bench": self.bench,
            "baseline": self.baseline().map(|c| &c.label),
            "noise": self.noise,
            "clusters": clusters,
            "figures": figures,
            "changes": changes,
        })
    }

    /// `experiment.md`, also printed at the end of the run.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### owbench experiment: {}\n", self.name);
        let _ = writeln!(
            out,
            "bench spec {} on {} cluster(s), from matrix {}\n",
            self.bench.display(),
            self.clusters.len(),
            self.matrix.display()
        );
        let _ = writeln!(
            out,
            "| cluster | status | platform | run cost, USD | USD per 1,000 | cluster up to down, USD | results |\n|---|---|---|---:|---:|---:|---|"
        );
        let money = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.6}"));
        for c in &self.clusters {
            let platform = c
                .summary
                .as_ref()
                .and_then(|s| super::platform::text(&s.meta.target))
                .or_else(|| c.cluster.as_ref().map(|id| format!("cluster {id}")))
                .unwrap_or_else(|| "-".to_owned());
            let cost = c.summary.as_ref().and_then(|s| s.cost.as_ref());
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                c.label,
                c.status(),
                platform,
                money(cost.map(|c| c.usd)),
                money(cost.and_then(|c| c.usd_per_1000)),
                money(c.cluster_usd()),
                c.results
                    .as_ref()
                    .map_or("-".to_owned(), |d| d.display().to_string())
            );
        }
        for c in &self.clusters {
            if let Some(e) = &c.error {
                let _ = writeln!(out, "\n`{}` failed: {e}", c.label);
            }
            if let Some(e) = &c.down_error {
                let _ = writeln!(
                    out,
                    "\n**`{}` may be left running**: down failed: {e}; `owbench cluster down {}` removes it",
                    c.label,
                    c.cluster.as_deref().unwrap_or("?")
                );
            }
            if let Some(line) = &c.down {
                let _ = writeln!(out, "\n`{}`: {line}", c.label);
            }
        }
        let ran: Vec<&ClusterRun> = self
            .clusters
            .iter()
            .filter(|c| c.summary.is_some())
            .collect();
        if ran.is_empty() {
            let _ = writeln!(out, "\nNo cluster ran the bench: there are no figures.");
            return out;
        }
        let comparisons = self.comparisons();
        let base = &self.baseline().expect("a cluster ran").label;
        for name in self.workloads() {
            let _ = write!(out, "\n#### `{name}`\n\n| figure |");
            for c in &ran {
                let _ = write!(out, " `{}` |", c.label);
            }
            for (c, _) in &comparisons {
                let _ = write!(out, " `{}` vs `{base}` |", c.label);
            }
            let _ = write!(out, "\n|---|");
            for _ in 0..ran.len() + comparisons.len() {
                let _ = write!(out, "---:|");
            }
            out.push('\n');
            for def in &FIGURES {
                let cells: Vec<String> = ran
                    .iter()
                    .map(|c| {
                        let f = c.summary.as_ref()?.workload(&name)?.figures.get(def.key)?;
                        Some(cell(def, f.median, f.ci))
                    })
                    .map(|c| c.unwrap_or_else(|| "-".to_owned()))
                    .collect();
                if cells.iter().all(|c| c == "-") {
                    continue;
                }
                let _ = write!(out, "| {} |", def.label);
                for text in cells {
                    let _ = write!(out, " {text} |");
                }
                for (_, cmp) in &comparisons {
                    let change = cmp.as_ref().ok().and_then(|cmp| {
                        cmp.changes
                            .iter()
                            .find(|ch| ch.workload == name && ch.figure == def.key)
                    });
                    let text = change.map_or("-".to_owned(), |ch| {
                        let verdict = match ch.verdict {
                            Verdict::Better => "better",
                            Verdict::Worse => "worse",
                            Verdict::Same => "same",
                        };
                        format!("{} {verdict}", ch.show_change())
                    });
                    let _ = write!(out, " {text} |");
                }
                out.push('\n');
            }
        }
        for (c, cmp) in &comparisons {
            match cmp {
                Ok(cmp) => {
                    for note in &cmp.notes {
                        let _ = writeln!(out, "\nnote, `{}` vs `{base}`: {note}", c.label);
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "\n`{}` vs `{base}`: {e}", c.label);
                }
            }
        }
        let _ = writeln!(
            out,
            "\nMedian across repetitions [95% confidence interval]; changes against `{base}` with their 95% intervals, \"same\" within {:.0}% or when the interval holds zero. Run cost: the cluster's list price over the bench's wall time; cluster up to down: over all the time it existed.",
            self.noise * 100.0
        );
        out
    }
}
