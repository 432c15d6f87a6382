//! The rows sink: one thread that appends each finished invocation to `rows.jsonl` and
//! folds it into the per-workload figures. Whatever has been handed to it is on disk
//! (flushed after every batch) even if the process is killed right after, so a killed
//! run leaves a rows file readable up to its last completed invocations.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::engine::Row;
use super::outcome::Outcome;
use super::summary::{StatsByRun, WorkloadStats};

/// Rows buffered between the engine and the sink.
const CHANNEL: usize = 1 << 16;
/// How long the sink sleeps when no row is waiting.
const POLL: std::time::Duration = std::time::Duration::from_millis(2);

/// How often the live figures are refreshed.
const LIVE_EVERY: Duration = Duration::from_millis(250);

/// Figures so far of one (repetition, workload), for a live display.
#[derive(Debug, Clone, Default)]
pub struct LiveFigures {
    /// Measured invocations finished.
    pub measured: u64,
    /// Client latency median so far, µs.
    pub p50_us: u64,
    /// Client latency 99th percentile so far, µs.
    pub p99_us: u64,
    /// Measured invocations by outcome other than `ok`.
    pub errors: BTreeMap<Outcome, u64>,
}

/// Live figures by (repetition, workload), refreshed by the sink a few times a second.
pub type Live = Arc<Mutex<BTreeMap<(u32, String), LiveFigures>>>;

/// A running sink.
pub struct Sink {
    tx: mpsc::Sender<Row>,
    live: Live,
    thread: std::thread::JoinHandle<std::io::Result<StatsByRun>>,
}

impl Sink {
    /// Start writing rows to `path` (created or truncated).
    pub fn create(path: &Path) -> std::io::Result<Sink> {
        let file = File::create(path)?;
        let (tx, rx) = mpsc::channel(CHANNEL);
        let live = Live::default();
        let shared = live.clone();
        let thread = std::thread::Builder::new()
            .name("owbench-rows".into())
            .spawn(move || write_rows(BufWriter::with_capacity(1 << 16, file), rx, &shared))?;
        Ok(Sink { tx, live, thread })
    }

    /// The live figures this sink keeps up to date.
    pub fn live(&self) -> Live {
        self.live.clone()
    }

    /// Where the engine sends rows.
    pub fn sender(&self) -> mpsc::Sender<Row> {
        self.tx.clone()
    }

    /// Wait for every sent row to be written; the figures per (repetition, workload).
    pub fn finish(self) -> std::io::Result<StatsByRun> {
        drop(self.tx);
        self.thread
            .join()
            .map_err(|_| std::io::Error::other("the rows writer panicked"))?
    }
}

fn write_rows(
    mut out: BufWriter<File>,
    mut rx: mpsc::Receiver<Row>,
    live: &Live,
) -> std::io::Result<StatsByRun> {
    let mut stats = StatsByRun::new();
    let mut touched = BTreeSet::new();
    let mut published = Instant::now();
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
                    let key = (row.run, row.workload.clone());
                    stats.entry(key.clone()).or_default().add(&row);
                    touched.insert(key);
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
        if published.elapsed() >= LIVE_EVERY && !touched.is_empty() {
            publish(live, &stats, std::mem::take(&mut touched));
            published = Instant::now();
        }
    }
}

fn publish(live: &Live, stats: &StatsByRun, keys: BTreeSet<(u32, String)>) {
    let Ok(mut live) = live.lock() else { return };
    for key in keys {
        let s: &WorkloadStats = &stats[&key];
        live.insert(
            key,
            LiveFigures {
                measured: s.measured(),
                p50_us: s.latency.at(0.5),
                p99_us: s.latency.at(0.99),
                errors: s
                    .outcomes
                    .iter()
                    .filter(|(o, _)| **o != Outcome::Ok)
                    .map(|(o, n)| (*o, *n))
                    .collect(),
            },
        );
    }
}
