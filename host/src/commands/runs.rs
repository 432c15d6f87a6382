//! `owbench runs list`: the run history.

use super::HistoryArgs;

/// The run history.
#[derive(Debug, clap::Subcommand)]
pub enum RunsCommand {
    /// List every recorded run, oldest first.
    List {
        /// Which history.
        #[command(flatten)]
        history: HistoryArgs,
    },
}

impl RunsCommand {
    /// Run it.
    pub async fn run(&self) -> anyhow::Result<()> {
        match self {
            RunsCommand::List { history } => {
                let history = history.open()?;
                let runs = history.list()?;
                if runs.is_empty() {
                    eprintln!("no runs recorded in {}", history.path().display());
                    return Ok(());
                }
                let mut table = super::table::new(
                    &[
                        "id",
                        "started (UTC)",
                        "name",
                        "status",
                        "duration",
                        "results",
                    ],
                    &[0, 4],
                );
                for r in runs {
                    let started = humantime::format_rfc3339_seconds(
                        std::time::UNIX_EPOCH
                            + std::time::Duration::from_millis(r.started_ms.max(0) as u64),
                    );
                    let duration = r.ended_ms.map_or("-".into(), |e| {
                        format!("{:.1}s", (e - r.started_ms).max(0) as f64 / 1000.0)
                    });
                    let status = if r.status == "running" {
                        "unfinished"
                    } else {
                        r.status.as_str()
                    };
                    table.add_row(vec![
                        r.id.to_string(),
                        started.to_string(),
                        r.name,
                        status.to_owned(),
                        duration,
                        r.dir.display().to_string(),
                    ]);
                }
                super::table::print(&table);
                Ok(())
            }
        }
    }
}
