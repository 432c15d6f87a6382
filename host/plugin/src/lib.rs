//! owbench's plugin system: what a plugin is (its `plugin.toml`), where it comes from
//! (the catalog), and the wasmtime engine that loads, sandboxes and calls it.
//!
//! - [`manifest`]: `plugin.toml`, what a plugin is and may do.
//! - [`catalog`]: built-in plugins (a table the binary hands in) and plugin directories,
//!   one resolve for every world.
//! - [`engine`]: one wasmtime engine per process (compile once, fresh store per call).
//! - [`Plugin`]: the loader written once for every world (compile, type-check,
//!   `describe()`, identity, stores with limits).
//! - [`workload`], [`provider`], [`installer`]: each world's bindings and calls.
//! - [`policy`]: which hosts a plugin may reach, and the host-side request signer.
//! - [`error`]: why loading or calling a plugin failed, one line each.
//! - [`dirs`]: where owbench keeps files (XDG directories, `~`).
//!
//! Untrusted plugins get no environment, no files but a scratch directory, no network but
//! the hosts their manifest allows, and bounded memory and time.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use owbench_plugin::catalog::{self, Builtins};
//! use owbench_plugin::manifest::World;
//! use owbench_plugin::{EngineConfig, PluginEngine, WorkloadPlugin};
//!
//! let engine = PluginEngine::new(EngineConfig::default())?;
//! let source = Builtins::NONE.resolve("./plugins/noop", World::Workload, &[])?;
//! let (manifest, bytes) = catalog::component(&source)?;
//! let plugin = WorkloadPlugin::load(&engine, manifest, &bytes).await?;
//! let outcome = plugin.call(&engine, r#"{"hello": 1}"#, plugin.default_limits()).await;
//! println!("{:?}", outcome.result);
//! # Ok(()) }
//! ```

mod bindings;
mod cache;
pub mod catalog;
pub mod dirs;
pub mod engine;
pub mod error;
pub mod installed;
pub mod installer;
mod loader;
pub mod manifest;
mod outbound;
mod output;
pub mod package;
pub mod policy;
pub mod provider;
pub mod registry;
mod state;
pub mod workload;

pub use engine::{EngineConfig, PluginEngine};
pub use error::{CallError, PluginError};
pub use installer::InstallerPlugin;
pub use loader::{Plugin, PluginWorld};
pub use provider::ProviderPlugin;
pub use state::{LogLine, Metric};
pub use workload::{CallLimits, CallOutcome, WarmInstance, WorkloadInfo, WorkloadPlugin};
