//! What a running experiment tells the person who started it. The experiment calls a
//! [`Reporter`]; the command that owns the terminal implements it (`owbench bench`'s
//! progress bar or per-second lines), so library code prints nothing itself.

use std::sync::Arc;

use crate::load::{Live, Progress, RowTag};

/// Receives an experiment's progress and notices.
pub trait Reporter: Send + Sync {
    /// One drive (a workload in a repetition) starts; the experiment finishes the
    /// returned display when the drive ends.
    fn drive(&self, drive: DriveView) -> Option<Display>;
    /// Something the person running the experiment should know (stopping on Ctrl-C).
    fn notice(&self, text: &str);
}

/// A reporter that shows nothing (library callers, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn drive(&self, _: DriveView) -> Option<Display> {
        None
    }

    fn notice(&self, _: &str) {}
}

/// What a reporter may watch of one drive.
pub struct DriveView {
    /// Which workload and repetition.
    pub tag: RowTag,
    /// Repetitions in the experiment.
    pub runs: u32,
    /// Invocations the drive makes, if it has a count (else it runs for a duration).
    pub count: Option<u64>,
    /// Invocations started and finished so far.
    pub progress: Arc<Progress>,
    /// Latency and error figures so far, per drive.
    pub live: Live,
}

/// A running display of one drive: a task that draws until told to stop.
pub struct Display {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Display {
    /// A display drawn by `task` until `stop` fires.
    pub fn new(
        task: tokio::task::JoinHandle<()>,
        stop: tokio::sync::oneshot::Sender<()>,
    ) -> Display {
        Display { task, stop }
    }

    /// Draw the last state and stop.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
