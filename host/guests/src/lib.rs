//! The first-party guests, built for `wasm32-wasip2` by this crate's build script (see
//! `build.rs`): the built-in workloads (the heavy ones with the `heavy-workloads`
//! feature), the provider plugins (with `providers`) and the host's test fixtures (with
//! `fixtures`), into `target/guests`. The script also writes the Rust that embeds them,
//! which `owbench-components` includes; this library is empty.
//!
//! The crate has no dependencies (only `toml` to build its build script), so a build
//! can start it before anything else: `ci/test.sh` builds it in the background while the
//! test build compiles the host.
