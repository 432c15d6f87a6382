//! `owbench bench`: experiments from a TOML spec, run against a target with the load
//! engine, with per-invocation rows, a summary, reports and a run-history entry.

pub mod prepare;
pub mod reduce;
pub mod report;
pub mod run;
pub mod spec;
pub mod target;

pub use report::{Display, DriveView, Reporter, Silent};
pub use run::{Finished, run};
pub use spec::{DEFAULT_SPEC, Spec};
