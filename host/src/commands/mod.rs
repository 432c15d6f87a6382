//! The `owbench` subcommands, one module each; `bin/owbench.rs` only parses and dispatches.

pub mod bench;
pub mod cluster;
pub mod compare;
pub mod data;
pub mod experiment;
pub mod plugin;
pub mod progress;
pub mod report;
pub mod runs;
pub mod runtime;
pub mod serve;
mod table;
pub mod template;
pub mod workload;

use std::path::PathBuf;

use crate::results::history::{self, History};
use owbench_plugin::{EngineConfig, PluginEngine};

/// Where the run history lives.
#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    /// The run history database (default: `$XDG_DATA_HOME/owbench/history.sqlite`).
    #[arg(long, env = "OWBENCH_DB")]
    pub db: Option<PathBuf>,
}

impl HistoryArgs {
    /// Open it (created or migrated as needed).
    pub fn open(&self) -> anyhow::Result<History> {
        History::open(&self.db.clone().unwrap_or_else(history::default_path))
    }
}

/// Options every command that loads plugins shares.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Directories searched for plugin directories (`<dir>/<name>/plugin.toml`).
    #[arg(
        long = "plugin-dir",
        env = "OWBENCH_PLUGIN_PATH",
        value_delimiter = ':',
        global = true
    )]
    pub plugin_dirs: Vec<PathBuf>,
    /// Where compiled components are cached (default: `~/.cache/owbench/wasmtime`).
    #[arg(long, env = "OWBENCH_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Compile components afresh every time, without the on-disk cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Grant every plugin `private-networks`: the hosts a plugin may reach may then
    /// resolve to loopback, private or link-local addresses (the cloud metadata service
    /// among them). Off by default; a rule naming an address literally needs no grant.
    #[arg(long, env = "OWBENCH_ALLOW_PRIVATE_NETWORKS", global = true)]
    pub allow_private_networks: bool,
}

impl EngineArgs {
    /// Build the plugin engine these options describe.
    pub fn engine(&self) -> anyhow::Result<PluginEngine> {
        let mut config = EngineConfig::default();
        if let Some(dir) = &self.cache_dir {
            config.cache_dir = Some(dir.clone());
        }
        if self.no_cache {
            config.cache_dir = None;
        }
        config.private_networks = self.allow_private_networks;
        PluginEngine::new(config).map_err(|e| e.context("failed to start the plugin engine"))
    }
}
