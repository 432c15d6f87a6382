//! The platform's database: actions and activation records in SQLite, surviving restarts.
//!
//! Activation records are written by one writer thread in batched transactions (the
//! invoke path never waits for the disk); until a record is committed it is served from
//! an in-memory map, so a `GET` right after an invoke always finds it. A retention bound
//! keeps the newest `max_activations` records.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use owbench_openwhisk::Activation;

/// Schema version in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;
/// Most records committed in one transaction.
const MAX_BATCH: usize = 4096;
/// Records queued for the writer at most; past that, finishing activations wait for the
/// disk (backpressure, as a platform's database would give), so memory stays bounded.
const MAX_QUEUED: usize = 8192;

enum Write {
    Activation(Arc<Activation>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Filters of an activation list.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    /// Only activations of this action name.
    pub name: Option<String>,
    /// Only activations that started at or after (epoch ms).
    pub since: Option<u64>,
    /// Only activations that started at or before (epoch ms).
    pub upto: Option<u64>,
    /// Page size.
    pub limit: u32,
    /// Records skipped.
    pub skip: u32,
}

/// Actions and activations on disk.
pub struct Store {
    reader: Mutex<Connection>,
    writer: tokio::sync::mpsc::Sender<Write>,
    pending: Arc<Mutex<HashMap<String, Arc<Activation>>>>,
}

impl Store {
    /// Open (or create) the database at `path`, keeping at most `max_activations` records.
    pub fn open(path: &Path, max_activations: u64) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let conn = open_connection(path)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            anyhow::bail!(
                "database {} has schema version {version}, newer than this owbench ({SCHEMA_VERSION})",
                path.display()
            );
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS actions (
                 namespace TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
                 PRIMARY KEY (namespace, name));
             CREATE TABLE IF NOT EXISTS activations (
                 seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
                 namespace TEXT NOT NULL, name TEXT NOT NULL, start INTEGER NOT NULL,
                 status_code INTEGER NOT NULL, doc TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS activations_by_start ON activations (namespace, start);
             PRAGMA user_version = 1;",
        )?;
        let writer_conn = open_connection(path)?;
        let pending = Arc::new(Mutex::new(HashMap::new()));
        let (tx, rx) = tokio::sync::mpsc::channel(MAX_QUEUED);
        let writer_pending = pending.clone();
        std::thread::Builder::new()
            .name("owbench-db-writer".into())
            .spawn(move || write_loop(writer_conn, rx, writer_pending, max_activations))?;
        Ok(Store {
            reader: Mutex::new(conn),
            writer: tx,
            pending,
        })
    }

    /// Every stored action document, as `(namespace, doc)`.
    pub fn actions(&self) -> anyhow::Result<Vec<(String, Value)>> {
        let conn = self.reader.lock().expect("db poisoned");
        let mut stmt = conn.prepare("SELECT namespace, doc FROM actions")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (ns, doc) = row?;
            out.push((ns, serde_json::from_str(&doc)?));
        }
        Ok(out)
    }

    /// Insert or replace an action document.
    pub fn put_action(&self, namespace: &str, name: &str, doc: &Value) -> anyhow::Result<()> {
        let conn = self.reader.lock().expect("db poisoned");
        conn.execute(
            "INSERT OR REPLACE INTO actions (namespace, name, doc) VALUES (?1, ?2, ?3)",
            params![namespace, name, doc.to_string()],
        )?;
        Ok(())
    }

    /// Delete an action document.
    pub fn delete_action(&self, namespace: &str, name: &str) -> anyhow::Result<()> {
        let conn = self.reader.lock().expect("db poisoned");
        conn.execute(
            "DELETE FROM actions WHERE namespace = ?1 AND name = ?2",
            params![namespace, name],
        )?;
        Ok(())
    }

    /// Queue a finished activation for writing; readable at once.
    pub async fn record(&self, activation: Arc<Activation>) {
        self.pending
            .lock()
            .expect("pending poisoned")
            .insert(activation.activation_id.clone(), activation.clone());
        // The writer thread only stops when the store is dropped.
        let _ = self.writer.send(Write::Activation(activation)).await;
    }

    /// Wait until every record queued so far is committed.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.writer.send(Write::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// One activation by id, in namespace `namespace`.
    pub fn activation(&self, namespace: &str, id: &str) -> anyhow::Result<Option<Activation>> {
        if let Some(a) = self.pending.lock().expect("pending poisoned").get(id) {
            return Ok((a.namespace == namespace).then(|| (**a).clone()));
        }
        let conn = self.reader.lock().expect("db poisoned");
        let doc: Option<String> = conn
            .query_row(
                "SELECT doc FROM activations WHERE id = ?1 AND namespace = ?2",
                params![id, namespace],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match doc {
            Some(doc) => Some(serde_json::from_str(&doc)?),
            None => None,
        })
    }

    /// Activations of `namespace`, newest first.
    pub async fn list(
        &self,
        namespace: &str,
        query: &ListQuery,
    ) -> anyhow::Result<Vec<Activation>> {
        self.flush().await;
        let conn = self.reader.lock().expect("db poisoned");
        let mut stmt = conn.prepare_cached(
            "SELECT doc FROM activations
             WHERE namespace = ?1 AND (?2 IS NULL OR name = ?2)
               AND (?3 IS NULL OR start >= ?3) AND (?4 IS NULL OR start <= ?4)
             ORDER BY start DESC, seq DESC LIMIT ?5 OFFSET ?6",
        )?;
        let rows = stmt.query_map(
            params![
                namespace,
                query.name,
                query.since.map(|v| v as i64),
                query.upto.map(|v| v as i64),
                query.limit,
                query.skip
            ],
            |r| r.get::<_, String>(0),
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    /// How many activations match `query` (paging ignored).
    pub async fn count(&self, namespace: &str, query: &ListQuery) -> anyhow::Result<u64> {
        self.flush().await;
        let conn = self.reader.lock().expect("db poisoned");
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM activations
             WHERE namespace = ?1 AND (?2 IS NULL OR name = ?2)
               AND (?3 IS NULL OR start >= ?3) AND (?4 IS NULL OR start <= ?4)",
            params![
                namespace,
                query.name,
                query.since.map(|v| v as i64),
                query.upto.map(|v| v as i64)
            ],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    Ok(conn)
}

/// Commit queued records in batches; prune past the retention bound.
fn write_loop(
    mut conn: Connection,
    mut rx: tokio::sync::mpsc::Receiver<Write>,
    pending: Arc<Mutex<HashMap<String, Arc<Activation>>>>,
    max_activations: u64,
) {
    let mut since_prune = 0u64;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut written = Vec::new();
        let mut flushes = Vec::new();
        let result = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR REPLACE INTO activations (id, namespace, name, start, status_code, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for op in batch {
                    match op {
                        Write::Activation(a) => {
                            let doc = serde_json::to_string(&*a).unwrap_or_default();
                            stmt.execute(params![
                                a.activation_id,
                                a.namespace,
                                a.name,
                                a.start as i64,
                                a.status_code().map_or(3, u8::from),
                                doc
                            ])?;
                            written.push(a.activation_id.clone());
                        }
                        Write::Flush(done) => flushes.push(done),
                    }
                }
            }
            since_prune += written.len() as u64;
            if since_prune >= 1024 {
                since_prune = 0;
                tx.execute(
                    "DELETE FROM activations WHERE seq <= (SELECT MAX(seq) FROM activations) - ?1",
                    params![max_activations as i64],
                )?;
            }
            tx.commit()
        })();
        if let Err(e) = result {
            tracing::error!("cannot store activation records: {e}");
        }
        let mut pending = pending.lock().expect("pending poisoned");
        for id in written {
            pending.remove(&id);
        }
        drop(pending);
        for done in flushes {
            let _ = done.send(());
        }
    }
}
