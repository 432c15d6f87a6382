//! The rows sink: one thread that appends each finished invocation to `rows.jsonl` and
//! folds it into the per-workload figures. Whatever has been handed to it is on disk
//! (flushed after every batch) even if the process is killed right after, so a killed
//! run leaves a rows file readable up to its last completed invocations.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use tokio::sync::mpsc;

use super::engine::Row;
use super::summary::WorkloadStats;

/// Rows buffered between the engine and the sink.
const CHANNEL: usize = 1 << 16;
/// How long the sink sleeps when no row is waiting.
const POLL: std::time::Duration = std::time::Duration::from_millis(2);

/// A running sink.
pub struct Sink {
    tx: mpsc::Sender<Row>,
    thread: std::thread::JoinHandle<std::io::Result<BTreeMap<String, WorkloadStats>>>,
}

impl Sink {
    /// Start writing rows to `path` (created or truncated).
    pub fn create(path: &Path) -> std::io::Result<Sink> {
        let file = File::create(path)?;
        let (tx, rx) = mpsc::channel(CHANNEL);
        let thread = std::thread::Builder::new()
            .name("owbench-rows".into())
            .spawn(move || write_rows(BufWriter::with_capacity(1 << 16, file), rx))?;
        Ok(Sink { tx, thread })
    }

    /// Where the engine sends rows.
    pub fn sender(&self) -> mpsc::Sender<Row> {
        self.tx.clone()
    }

    /// Wait for every sent row to be written; the figures per workload.
    pub fn finish(self) -> std::io::Result<BTreeMap<String, WorkloadStats>> {
        drop(self.tx);
        self.thread
            .join()
            .map_err(|_| std::io::Error::other("the rows writer panicked"))?
    }
}

fn write_rows(
    mut out: BufWriter<File>,
    mut rx: mpsc::Receiver<Row>,
) -> std::io::Result<BTreeMap<String, WorkloadStats>> {
    let mut stats: BTreeMap<String, WorkloadStats> = BTreeMap::new();
    let mut line = Vec::with_capacity(512);
    let mut write = |row: &Row, out: &mut BufWriter<File>| -> std::io::Result<()> {
        line.clear();
        serde_json::to_writer(&mut line, row)?;
        line.push(b'\n');
        out.write_all(&line)
    };
    // Poll rather than block: a wake-up per row costs the engine a futex call per
    // invocation; a batch every couple of milliseconds costs nothing.
    loop {
        let mut wrote = false;
        loop {
            match rx.try_recv() {
                Ok(row) => {
                    write(&row, &mut out)?;
                    stats.entry(row.workload.clone()).or_default().add(&row);
                    wrote = true;
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    out.flush()?;
                    return Ok(stats);
                }
            }
        }
        if wrote {
            out.flush()?;
        } else {
            std::thread::sleep(POLL);
        }
    }
}
