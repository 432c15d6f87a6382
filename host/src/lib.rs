//! owbench: benchmark serverless platforms (Apache OpenWhisk first) with workloads,
//! cloud providers and installers as WebAssembly component plugins.
//!
//! It builds on two crates of its own: `owbench_openwhisk` (OpenWhisk's wire protocol as
//! plain data) and `owbench_plugin` (manifests, the catalog and the wasmtime engine).
//!
//! - [`workloads`]: workload plugins from the catalog, and native builds of the same kernels.
//! - [`platform`]: the embedded OpenWhisk-compatible platform (`owbench serve`).
//! - [`client`]: the OpenWhisk REST client (targets, deploy, invoke, records).
//! - [`load`]: load models, the load engine, rows and summaries.
//! - [`bench`]: experiments (`owbench bench`): specs, runs, the live view.
//! - [`results`]: statistics, summaries, reports, the run history, compare, thresholds.
//! - [`datasets`]: data sets for heavy workloads, generated, cached and served.
//! - [`cloud`]: cloud credentials, kept in the host, and the signers provider plugins use.
//! - [`providers`]: the provider plugin catalog; [`cluster`]: `owbench cluster`, machines
//!   with state and safe teardown; [`experiment`]: matrix experiments over clusters.
//! - [`specfile`]: TOML spec files and parameter templates; [`net`]: listening sockets.
//! - [`commands`]: the `owbench` subcommands.

pub mod bench;
pub mod client;
pub mod cloud;
pub mod cluster;
pub mod commands;
pub mod datasets;
pub mod experiment;
pub mod installers;
pub mod load;
pub mod net;
pub mod objects;
pub mod platform;
pub mod providers;
pub mod python;
pub mod results;
pub mod specfile;
pub mod tls;
pub mod workloads;
