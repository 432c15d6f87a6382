//! `owbench compare A B`: how run B differs from run A, figure by figure.

use super::HistoryArgs;
use crate::results::compare::{Comparison, Verdict, compare};
use crate::results::report::cell;
use crate::results::{self, summary::figure_def};

/// Compare two runs (A is the baseline).
#[derive(Debug, clap::Args)]
pub struct CompareCommand {
    /// The baseline: a run id, `latest`, or a results directory.
    a: String,
    /// The run compared with it.
    b: String,
    /// Relative changes smaller than this are "same" (percent).
    #[arg(long, default_value = "5%", value_parser = parse_percent)]
    noise: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    history: HistoryArgs,
}

/// `5%` as 0.05.
pub(crate) fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(v) if (0.0..100.0).contains(&v) => Ok(v / 100.0),
        _ => Err(format!("`{text}` is not a percentage like 5%")),
    }
}

impl CompareCommand {
    /// Run it.
    pub async fn run(&self) -> anyhow::Result<()> {
        let mut history = self.history.open()?;
        let a = results::load(&self.a, Some(&mut history))?;
        let b = results::load(&self.b, Some(&mut history))?;
        let comparison = compare(&a.summary, &b.summary, self.noise)?;
        for (side, run) in [("A", &a), ("B", &b)] {
            if let Some(note) = results::report::status_note(&run.summary) {
                eprintln!("owbench: run {side} is {note}");
            }
        }
        if self.json {
            println!("{}", serde_json::to_string_pretty(&comparison)?);
        } else {
            print!("{}", table(&self.a, &self.b, &comparison));
        }
        Ok(())
    }
}

fn table(a: &str, b: &str, c: &Comparison) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "A = {a}, B = {b}; medians [95% CI]; change B vs A [95% CI]; noise threshold {:.0}%",
        c.noise * 100.0
    );
    let mut workload = "";
    for ch in &c.changes {
        if ch.workload != workload {
            workload = &ch.workload;
            let _ = writeln!(
                out,
                "\n{workload}\n  {:<24} {:<34} {:<34} {:<30} verdict",
                "figure", "A", "B", "change"
            );
        }
        let def = figure_def(ch.figure).expect("known figure");
        let fig = |(median, ci): (f64, Option<(f64, f64)>)| cell(def, median, ci);
        let verdict = match (ch.verdict, ch.why_same) {
            (Verdict::Better, _) => "better".to_owned(),
            (Verdict::Worse, _) => "WORSE".to_owned(),
            (Verdict::Same, Some(why)) => format!("same ({why})"),
            (Verdict::Same, None) => "same".to_owned(),
        };
        let _ = writeln!(
            out,
            "  {:<24} {:<34} {:<34} {:<30} {verdict}",
            def.label,
            fig(ch.a),
            fig(ch.b),
            ch.show_change()
        );
    }
    for note in &c.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
}
