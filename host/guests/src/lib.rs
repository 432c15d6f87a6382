//! The first-party guests, built for `wasm32-wasip2` by this crate's build script (see
//! `build.rs`): the built-in workloads (the heavy ones with the `heavy-workloads`
//! feature), the provider plugins (with `providers`) and the host's test fixtures (with
//! `fixtures`), into `target/guests`. The script also writes the Rust that embeds them,
//! which `owbench-components` includes; this library is empty.
//!
//! The crate has no dependencies (only `toml` to build its build script): building the
//! guests alone is `cargo build -p owbench-guests --features ...`.
