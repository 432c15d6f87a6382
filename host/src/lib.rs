//! owbench: benchmark serverless platforms (Apache OpenWhisk first) with workloads,
//! cloud providers and installers as WebAssembly component plugins.
//!
//! - [`manifest`]: `plugin.toml`, what a plugin is and may do.
//! - [`engine`]: the wasmtime plugin engine (compile once, fresh store per call, limits).
//! - [`workloads`]: the workload catalog (built-in seed workloads, plugin directories) and
//!   native builds of the same kernels.
//! - [`platform`]: the embedded OpenWhisk-compatible platform (`owbench serve`).
//! - [`client`]: the OpenWhisk REST client (targets, deploy, invoke, records).
//! - [`load`]: load models, the load engine, rows and summaries.
//! - [`bench`]: experiments (`owbench bench`): specs, runs, the live view.
//! - [`results`]: statistics, summaries, reports, the run history, compare, thresholds.
//! - [`datasets`]: data sets for heavy workloads, generated, cached and served.
//! - [`cloud`]: cloud credentials, kept in the host, and the signers provider plugins use.
//! - [`providers`]: the provider plugin catalog; [`cluster`]: `owbench cluster`, machines
//!   with state and safe teardown.
//! - [`dirs`]: where owbench keeps files (XDG directories, `~`).
//! - [`commands`]: the `owbench` subcommands.

pub mod bench;
pub mod client;
pub mod cloud;
pub mod cluster;
pub mod commands;
pub mod datasets;
pub mod dirs;
pub mod engine;
pub mod load;
pub mod manifest;
pub mod objects;
pub mod platform;
pub mod providers;
pub mod results;
pub mod workloads;
