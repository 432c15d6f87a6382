//! What a run leaves behind and what is made of it: statistics across repetitions,
//! summaries, time series, reports (text, Markdown, HTML), the run history database,
//! comparisons of two runs and `--fail-if` thresholds.
//!
//! - [`stats`]: medians, confidence intervals, CV, outlier fences.
//! - [`summary`]: `summary.json`: what ran and its figures.
//! - [`figures`]: the headline figures and their confidence intervals.
//! - [`machine`]: the machine a run came from.
//! - [`rows`]: reading `rows.jsonl` back, tolerating damage.
//! - [`series`]: per-interval time series.
//! - [`report`]: text, Markdown and HTML reports.
//! - [`history`]: the SQLite run history.
//! - [`compare`]: `owbench compare`.
//! - [`experiment`]: the report of `owbench experiment run`, every cluster side by side.
//! - [`threshold`]: the `--fail-if` thresholds.

pub mod compare;
pub mod experiment;
pub mod figures;
pub mod history;
pub mod machine;
pub mod platform;
pub mod report;
pub mod rows;
pub mod series;
pub mod stats;
pub mod summary;
pub mod threshold;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use history::History;
use summary::{Ending, MetaFile, Status, Summary};

/// The run's metadata, written when it starts.
pub const META_FILE: &str = "meta.json";
/// Per-invocation rows.
pub const ROWS_FILE: &str = "rows.jsonl";
/// The summary document.
pub const SUMMARY_FILE: &str = "summary.json";

/// Write every output of a finished (or rebuilt) run into `dir`: `summary.json`,
/// `summary.txt`, `summary.md`, `timeseries.csv` and `report.html`.
pub fn write_outputs(dir: &Path, s: &Summary) -> anyhow::Result<()> {
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("cannot write {}", dir.join(name).display()))
    };
    write(SUMMARY_FILE, &serde_json::to_string_pretty(s)?)?;
    write("summary.txt", &report::text(s))?;
    write("summary.md", &report::markdown(s))?;
    write("timeseries.csv", &series::csv(&s.series))?;
    write("report.html", &report::html(s))
}

/// Write `meta.json` into `dir`.
pub fn write_meta(dir: &Path, meta: &MetaFile) -> anyhow::Result<()> {
    std::fs::write(dir.join(META_FILE), serde_json::to_string_pretty(meta)?)
        .with_context(|| format!("cannot write {}", dir.join(META_FILE).display()))
}

/// Rebuild the summary of the run in `dir` from `meta.json` and `rows.jsonl`, marked
/// partial; also what was skipped in the rows file.
pub fn rebuild(dir: &Path) -> anyhow::Result<(Summary, rows::Damage)> {
    let meta_path = dir.join(META_FILE);
    let text = std::fs::read_to_string(&meta_path).with_context(|| {
        format!(
            "{} is not an owbench results directory (no readable {META_FILE})",
            dir.display()
        )
    })?;
    let meta: MetaFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is damaged", meta_path.display()))?;
    let rows_path = dir.join(ROWS_FILE);
    let (stats, damage) = rows::fold(&rows_path)?;
    let series = series::compute(&rows_path, &stats)?;
    let last_done = std::fs::metadata(&rows_path)
        .and_then(|m| m.modified())
        .map(owbench_openwhisk::activation::epoch_ms)
        .unwrap_or(meta.meta.started_ms);
    let summary = summary::build(
        meta,
        &stats,
        series,
        Ending {
            ended_ms: last_done,
            status: Status::Partial,
            abandoned: 0,
            damaged_rows: damage.damaged,
        },
    );
    Ok((summary, damage))
}

/// A run found by [`load`].
#[derive(Debug)]
pub struct Loaded {
    /// Its summary.
    pub summary: Summary,
    /// Its results directory, if known and present.
    pub dir: Option<PathBuf>,
    /// What rebuilding it found damaged, for people.
    pub warning: Option<String>,
}

/// Find a run: a history id, `latest`, or a results directory. A run that never
/// finished is rebuilt from its rows (marked partial), its outputs written, and its
/// history entry updated.
pub fn load(reference: &str, history: Option<&mut History>) -> anyhow::Result<Loaded> {
    let path = Path::new(reference);
    if path.is_dir() {
        return load_dir(path, None, history);
    }
    let Some(history) = history else {
        anyhow::bail!("unknown run `{reference}`: not a results directory");
    };
    let id = match reference {
        "latest" | "last" => history
            .latest()?
            .ok_or_else(|| anyhow::anyhow!("the run history {} is empty", history.path().display()))?,
        _ => reference.parse::<i64>().map_err(|_| {
            anyhow::anyhow!(
                "unknown run `{reference}`: give a run id from `owbench runs list`, `latest`, or a results directory"
            )
        })?,
    };
    let entry = history.get(id)?.ok_or_else(|| {
        anyhow::anyhow!(
            "no run {id} in the run history {} (see `owbench runs list`)",
            history.path().display()
        )
    })?;
    if let Some(text) = &entry.summary {
        let summary = Summary::parse(text).with_context(|| format!("run {id}"))?;
        return Ok(Loaded {
            summary,
            dir: entry.dir.is_dir().then(|| entry.dir.clone()),
            warning: None,
        });
    }
    anyhow::ensure!(
        entry.dir.is_dir(),
        "run {id} never finished and its results directory {} is gone",
        entry.dir.display()
    );
    load_dir(&entry.dir, Some(id), Some(history))
}

fn load_dir(dir: &Path, id: Option<i64>, history: Option<&mut History>) -> anyhow::Result<Loaded> {
    let summary_path = dir.join(SUMMARY_FILE);
    if let Ok(text) = std::fs::read_to_string(&summary_path) {
        let summary =
            Summary::parse(&text).with_context(|| format!("{}", summary_path.display()))?;
        return Ok(Loaded {
            summary,
            dir: Some(dir.to_owned()),
            warning: None,
        });
    }
    let (mut summary, damage) = rebuild(dir)?;
    let id = id.or(summary.meta.id);
    summary.meta.id = id;
    write_outputs(dir, &summary)?;
    if let (Some(id), Some(history)) = (id, history)
        && history.get(id)?.is_some_and(|e| e.summary.is_none())
    {
        history.finish(id, &summary)?;
    }
    Ok(Loaded {
        summary,
        dir: Some(dir.to_owned()),
        warning: damage.describe(&dir.join(ROWS_FILE)),
    })
}
