//! The run history: every run recorded in a local SQLite database (by default
//! `$XDG_DATA_HOME/owbench/history.sqlite`). A run is recorded when it starts (`running`)
//! and updated with its summary when it ends, so a killed run is still listed.
//!
//! The schema is versioned with `PRAGMA user_version`; an older database is migrated in
//! one transaction (all or nothing), a newer one is refused untouched.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension, params};

use super::summary::{Meta, Summary};

/// The schema this owbench writes.
pub const SCHEMA_VERSION: i64 = 2;

/// Migrations, from version `i` to `i + 1` at index `i`.
const MIGRATIONS: [&str; 2] = [
    // 1: runs with their summary document.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        dir TEXT NOT NULL,
        status TEXT NOT NULL,
        summary TEXT
    );",
    // 2: end time and target as columns, and the headline figures as rows (backfilled
    // from the summaries) so runs can be listed and queried without parsing documents.
    "ALTER TABLE runs ADD COLUMN ended_ms INTEGER;
     ALTER TABLE runs ADD COLUMN target TEXT;
     CREATE TABLE figures (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        workload TEXT NOT NULL,
        figure TEXT NOT NULL,
        median REAL NOT NULL,
        ci_low REAL,
        ci_high REAL,
        PRIMARY KEY (run_id, workload, figure)
     );
     CREATE INDEX runs_started ON runs(started_ms);",
];

/// The default database: `$XDG_DATA_HOME/owbench/history.sqlite` (or under
/// `~/.local/share`).
pub fn default_path() -> PathBuf {
    owbench_plugin::dirs::xdg("XDG_DATA_HOME", ".local/share")
        .unwrap_or_else(|| PathBuf::from("."))
        .join("owbench")
        .join("history.sqlite")
}

/// A run as listed.
#[derive(Debug, Clone)]
pub struct RunEntry {
    /// Its id.
    pub id: i64,
    /// Experiment name.
    pub name: String,
    /// Start, epoch ms.
    pub started_ms: i64,
    /// End, epoch ms, once finished.
    pub ended_ms: Option<i64>,
    /// `running` (or killed), `complete`, `interrupted`, `partial`.
    pub status: String,
    /// Its results directory.
    pub dir: PathBuf,
    /// The target, described.
    pub target: Option<String>,
    /// The summary document, once finished.
    pub summary: Option<String>,
}

/// An open history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl History {
    /// Open (creating or migrating) the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<History> {
        let what = || format!("run history {}", path.display());
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let mut conn = Connection::open(path).with_context(what)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .with_context(what)?;
        migrate(&mut conn).with_context(what)?;
        Ok(History {
            conn,
            path: path.to_owned(),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record a run that is starting; its id.
    pub fn begin(&self, meta: &Meta, dir: &Path) -> anyhow::Result<i64> {
        self.conn
            .execute(
                "INSERT INTO runs (name, started_ms, dir, status, target) VALUES (?1, ?2, ?3, 'running', ?4)",
                params![
                    meta.name,
                    meta.started_ms as i64,
                    dir.to_string_lossy(),
                    meta.target.to_string()
                ],
            )
            .context("cannot record the run in the history")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Store the summary of run `id` (its end, status and headline figures).
    pub fn finish(&mut self, id: i64, summary: &Summary) -> anyhow::Result<()> {
        let text = serde_json::to_string(summary)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE runs SET status = ?2, ended_ms = ?3, summary = ?4 WHERE id = ?1",
            params![id, summary.status.as_str(), summary.ended_ms as i64, text],
        )?;
        store_figures(&tx, id, summary)?;
        tx.commit()
            .context("cannot record the run's summary in the history")
    }

    /// Every run, oldest first.
    pub fn list(&self) -> anyhow::Result<Vec<RunEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, started_ms, ended_ms, status, dir, target, NULL FROM runs ORDER BY id",
        )?;
        let rows = stmt.query_map([], entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Run `id`, with its summary.
    pub fn get(&self, id: i64) -> anyhow::Result<Option<RunEntry>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, started_ms, ended_ms, status, dir, target, summary FROM runs WHERE id = ?1",
                [id],
                entry,
            )
            .optional()?)
    }

    /// The newest run's id.
    pub fn latest(&self) -> anyhow::Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT max(id) FROM runs", [], |r| r.get(0))?)
    }
}

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunEntry> {
    Ok(RunEntry {
        id: r.get(0)?,
        name: r.get(1)?,
        started_ms: r.get(2)?,
        ended_ms: r.get(3)?,
        status: r.get(4)?,
        dir: PathBuf::from(r.get::<_, String>(5)?),
        target: r.get(6)?,
        summary: r.get(7)?,
    })
}

fn store_figures(conn: &Connection, id: i64, summary: &Summary) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM figures WHERE run_id = ?1", [id])?;
    let mut insert = conn.prepare(
        "INSERT INTO figures (run_id, workload, figure, median, ci_low, ci_high) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for w in &summary.workloads {
        for (key, f) in &w.figures {
            insert.execute(params![
                id,
                w.meta.name,
                key,
                f.median,
                f.ci.map(|c| c.0),
                f.ci.map(|c| c.1)
            ])?;
        }
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    anyhow::ensure!(
        version <= SCHEMA_VERSION,
        "its schema version {version} is newer than this owbench's ({SCHEMA_VERSION}); \
         use a newer owbench or another --db"
    );
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)
            .with_context(|| format!("migrating schema {from} to {}", from + 1))?;
        if from + 1 == 2 {
            backfill_figures(&tx)?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Schema 2: fill `ended_ms`, `target` and `figures` from the stored summaries.
fn backfill_figures(conn: &Connection) -> anyhow::Result<()> {
    let mut stmt = conn.prepare("SELECT id, summary FROM runs WHERE summary IS NOT NULL")?;
    let runs: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, text) in runs {
        // A summary this owbench cannot read keeps its row; it just gets no figures.
        if let Ok(summary) = Summary::parse(&text) {
            conn.execute(
                "UPDATE runs SET ended_ms = ?2, target = ?3 WHERE id = ?1",
                params![id, summary.ended_ms as i64, summary.meta.target.to_string()],
            )?;
            store_figures(conn, id, &summary)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = History::open(&path).err().unwrap();
        assert!(format!("{err:#}").contains("schema version 99 is newer"));
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 99);
    }

    #[test]
    fn a_fresh_database_lists_nothing_and_counts_ids() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("sub/h.sqlite")).unwrap();
        assert!(h.list().unwrap().is_empty());
        assert_eq!(h.latest().unwrap(), None);
        assert!(h.get(1).unwrap().is_none());
    }
}
