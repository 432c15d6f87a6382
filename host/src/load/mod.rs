//! The load engine and what it records.
//!
//! - [`schedule`]: load models and their arrival times.
//! - [`engine`]: driving invocations and stamping their times.
//! - [`http`]: the pooled HTTP/1 hot path for `http://` targets.
//! - [`sink`]: streaming rows to disk while summarizing them.
//! - [`summary`]: constant-memory per-workload figures.

pub mod engine;
pub mod http;
pub mod outcome;
pub mod schedule;
pub mod sink;
pub mod summary;

pub use engine::{DriveReport, InvokeFn, LoadPlan, Progress, Row, RowTag, drive};
pub use schedule::{LoadModel, Stage};
pub use sink::{Live, LiveFigures, Sink};
pub use summary::{Hist, Percentiles, StatsByRun, WorkloadStats};
