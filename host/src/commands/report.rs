//! `owbench report RUN`: a run's report as HTML, Markdown or JSON.

use std::path::PathBuf;

use super::HistoryArgs;
use crate::results::threshold::{self, Threshold};
use crate::results::{self, report};

/// Report formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// The self-contained HTML report (written to a file).
    Html,
    /// A Markdown summary (for a pull-request comment).
    Md,
    /// The summary document.
    Json,
    /// The table printed after a run.
    Text,
}

/// Report on a recorded run (a run that never finished is rebuilt from its rows and
/// marked partial).
#[derive(Debug, clap::Args)]
pub struct ReportCommand {
    /// A run id from `owbench runs list`, `latest`, or a results directory.
    run: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "html")]
    format: Format,
    /// Write here instead (HTML default: `report.html` in the run's results directory).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Exit with status 3 if a threshold holds (as `owbench bench --fail-if`).
    #[arg(long = "fail-if", value_name = "THRESHOLD")]
    fail_if: Vec<String>,
    #[command(flatten)]
    history: HistoryArgs,
}

impl ReportCommand {
    /// Run it.
    pub async fn run(&self) -> anyhow::Result<()> {
        let thresholds = self
            .fail_if
            .iter()
            .map(|t| t.parse::<Threshold>())
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut history = self.history.open()?;
        let loaded = results::load(&self.run, Some(&mut history))?;
        if let Some(w) = &loaded.warning {
            eprintln!("owbench: warning: {w}");
        }
        let s = &loaded.summary;
        if let Some(note) = report::status_note(s) {
            eprintln!("owbench: {note}");
        }
        let text = match self.format {
            Format::Html => report::html(s),
            Format::Md => report::markdown(s),
            Format::Json => serde_json::to_string_pretty(s)?,
            Format::Text => report::text(s),
        };
        let target = match (&self.output, self.format, &loaded.dir) {
            (Some(path), _, _) => Some(path.clone()),
            (None, Format::Html, Some(dir)) => Some(dir.join("report.html")),
            (None, Format::Html, None) => anyhow::bail!(
                "the run's results directory is gone: give --output FILE for the HTML report"
            ),
            _ => None,
        };
        match target {
            Some(path) => {
                std::fs::write(&path, text)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                eprintln!("report: {}", path.display());
            }
            None => print!("{text}"),
        }
        threshold::enforce(&thresholds, s)
    }
}
