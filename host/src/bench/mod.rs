//! `owbench bench`: experiments from a TOML spec, run against a target with the load
//! engine, with per-invocation rows, a summary document and a table.

pub mod run;
pub mod spec;
pub mod summary;

pub use run::{Finished, run};
pub use spec::{DEFAULT_SPEC, Spec};
