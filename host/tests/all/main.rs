//! owbench's integration tests: one binary, a module per area. The cross-checks of the
//! native builds, the heavy workloads and the provider plugins need their features
//! (`cargo test --all-features`, as `ci/test.sh` runs them); without them those
//! modules and tests are left out of the build.

/// Shared helpers: engines, fixture plugin directories.
mod helpers;

/// Bad plugins and misbehaving guests: each refused with a one-line error, never a panic.
mod bad_plugins;

/// The seed workloads: correct results, wasm and native agree.
mod seed_workloads;

/// The `owbench` binary end to end: output, exit codes, one-line errors.
mod cli;

/// Plugin packages: pack, install with a grant, resolve, list, inspect, remove; bad
/// packages refused.
mod packages;

/// Workloads written in Python: the template, the suites' ports against CPython, and
/// their errors.
mod python;

/// The embedded OpenWhisk-compatible platform over its REST API.
mod platform;

/// `owbench runtime` driven as OpenWhisk's invoker drives an action container: `/init`,
/// `/run`, the log sentinels, misbehaving components and bad requests.
mod runtime;

/// `owbench bench` end to end: the default experiment, bad specs and targets, Ctrl-C, kill.
mod bench;

/// Repetitions, statistics, reports, the run history, compare and `--fail-if`.
mod results;

/// The HTML report in a real browser (headless Chromium).
mod browser;

/// `bigdata`: the AMPLab queries checked against SQLite on the same rows.
mod bigdata;

/// `ml-inference`: tract in the component checked against onnxruntime on the same images.
#[cfg(all(feature = "native", feature = "heavy-workloads"))]
mod ml_inference;

/// `genomics-align`: reads aligned in the component checked against bowtie2 on the same
/// reference and reads.
#[cfg(all(feature = "native", feature = "heavy-workloads"))]
mod genomics;

/// The `owbench cluster` scenarios every provider passes, run against each test cloud.
#[cfg(feature = "providers")]
mod cloud_suite;

/// Provider plugins against moto (AWS) with request authentication on: host re-signing,
/// the EC2 and S3 lifecycle, `owbench cluster` with safe teardown, no secret in a plugin.
#[cfg(feature = "providers")]
mod providers;

/// The installer plugins' plans: snapshots, `cloud-init schema`, `shellcheck`,
/// `hadolint`, and bad specs refused before anything is created.
#[cfg(feature = "providers")]
mod installers;

/// The OCI provider against the project's loopback OCI API server, which verifies every
/// signature; the host's OCI signature against the official `oci` SDK's, byte for byte.
#[cfg(feature = "providers")]
mod oci;

/// `owbench cluster up` with an installer against moto: the binary uploaded, the nodes
/// made with filled user data, the health check over pinned TLS against a loopback
/// `owbench serve`, `down` leaving nothing.
#[cfg(feature = "providers")]
mod deploy;

/// `owbench experiment run`: a matrix of clusters on EC2 and OCI, each up, benched and
/// down, and the report of them side by side.
#[cfg(feature = "providers")]
mod experiments;

/// The `openwhisk-kube` installer: plans for 3 and 5 nodes checked by every validator
/// (kubernetes-validate and the chart's value keys too), refusals, pinned downloads, and
/// `up`/`down` against moto with the agents joining the server.
#[cfg(feature = "providers")]
mod kube;
