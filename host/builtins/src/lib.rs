//! The built-in workloads' native builds: the very kernels the embedded components run,
//! compiled for the host, so that a workload can be run side by side with its
//! WebAssembly build (`owbench workload run --native`, the cross-checks, the benches).
//!
//! The table of built-in workloads is this crate's `Cargo.toml`: each workload
//! dependency there is built for `wasm32-wasip2` and embedded by `owbench-components`,
//! and listed in [`NATIVES`] by this crate's build script.
//!
//! ```
//! let run = owbench_builtins::native("noop").expect("noop is built in");
//! # let _ = run;
//! assert!(owbench_builtins::native("no-such-workload").is_none());
//! ```

#![deny(missing_docs)]

use owbench_workload::{Ctx, Error};

/// A workload's whole call, natively: params JSON in, result JSON out (what the
/// component's `run` export does).
pub type NativeRun = fn(&str, &mut dyn Ctx) -> Result<String, Error>;

include!(concat!(env!("OUT_DIR"), "/natives.rs"));

/// The native runner of built-in workload `name`.
pub fn native(name: &str) -> Option<NativeRun> {
    NATIVES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, run)| *run)
}
