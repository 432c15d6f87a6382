//! The plugin engine: one wasmtime [`Engine`] per process, shared by every plugin.
//!
//! Each plugin is compiled once (then memory-mapped from the on-disk [cache](crate::cache)) and
//! pre-instantiated once ([`InstancePre`](wasmtime::component::InstancePre)); every call
//! gets a fresh [`Store`](wasmtime::Store) with its own limits, WASI context and scratch
//! directory, so nothing leaks from one call to the next. Wall-clock timeouts use epoch
//! interruption (a ticker thread advances the epoch every [`EngineConfig::epoch_tick`]).

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::PluginError;
use crate::cache::ComponentCache;
use crate::installer::Installer;
use crate::loader::linker;
use crate::manifest::World;
use crate::provider::Provider;
use crate::state::CallState;
use crate::workload::Workload;

/// How the engine is set up; one per process.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where compiled components are cached (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Where per-call scratch directories are created.
    pub scratch_root: PathBuf,
    /// How often the epoch advances; timeouts are accurate to about one tick.
    pub epoch_tick: Duration,
    /// Use wasmtime's pooling allocator (faster instantiation, reserves address space).
    pub pooling: bool,
    /// Instances alive at once when pooling (the platform's concurrency ceiling).
    pub max_instances: u32,
    /// The user's grant of `private-networks` to every plugin: allowed hosts may resolve
    /// to loopback, private and link-local addresses.
    pub private_networks: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_dir: default_cache_dir(),
            scratch_root: std::env::temp_dir(),
            epoch_tick: Duration::from_millis(5),
            pooling: true,
            max_instances: 2000,
            private_networks: false,
        }
    }
}

/// `$XDG_CACHE_HOME/owbench/wasmtime`, or `~/.cache/owbench/wasmtime`.
fn default_cache_dir() -> Option<PathBuf> {
    Some(crate::dirs::xdg("XDG_CACHE_HOME", ".cache")?.join("owbench/wasmtime"))
}

/// The process-wide plugin engine.
pub struct PluginEngine {
    engine: Engine,
    /// What workload plugins may import: WASI, `wasi:http`, `host`, `types`.
    workload_linker: Linker<CallState>,
    /// What provider plugins may import: the same plus `signer`.
    provider_linker: Linker<CallState>,
    /// What installer plugins may import: what every world gets.
    installer_linker: Linker<CallState>,
    cache: Option<ComponentCache>,
    config: EngineConfig,
}

impl PluginEngine {
    /// Build the engine, a linker per world (what a plugin of that world may import)
    /// and start the epoch ticker.
    pub fn new(config: EngineConfig) -> anyhow::Result<PluginEngine> {
        let mut wasm = Config::new();
        wasm.epoch_interruption(true)
            .wasm_component_model(true)
            // Deep recursion is legitimate in benchmarks (tree walks); 1 MiB of wasm stack
            // and a larger host stack for async calls.
            .max_wasm_stack(1 << 20)
            .async_stack_size(4 << 20);
        if config.pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(config.max_instances)
                .total_core_instances(config.max_instances * 4)
                .total_memories(config.max_instances)
                .total_tables(config.max_instances * 2)
                .total_stacks(config.max_instances)
                .max_memory_size(crate::manifest::MAX_MEMORY_MB as usize * (1 << 20))
                // Keep a little of each slot resident: cheap re-instantiation.
                .linear_memory_keep_resident(64 << 10);
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&wasm)?;
        spawn_epoch_ticker(&engine, config.epoch_tick);

        let base = base_linker(&engine)?;
        Ok(PluginEngine {
            workload_linker: linker::<Workload>(&base)?,
            provider_linker: linker::<Provider>(&base)?,
            installer_linker: linker::<Installer>(&base)?,
            cache: config
                .cache_dir
                .as_deref()
                .map(|dir| ComponentCache::new(dir, &engine)),
            engine,
            config,
        })
    }

    /// Compile (or map from the cache) a component; `plugin` names it in errors.
    pub fn compile(&self, plugin: &str, bytes: &[u8]) -> Result<Component, PluginError> {
        self.compile_digested(plugin, bytes, &hex::encode(Sha256::digest(bytes)))
    }

    /// [`PluginEngine::compile`] of `bytes` whose SHA-256 (hex) the caller already has.
    pub(crate) fn compile_digested(
        &self,
        plugin: &str,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<Component, PluginError> {
        if let Some(component) = self
            .cache
            .as_ref()
            .and_then(|c| c.load(&self.engine, sha256))
        {
            return Ok(component);
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| PluginError::Compile {
            plugin: plugin.to_owned(),
            reason: crate::error::first_line(&format!("{e:#}")),
        })?;
        if let Some(cache) = &self.cache {
            cache.store(sha256, &component);
        }
        Ok(component)
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The outbound policy of a call under `rules` with `params`, with this engine's
    /// private-network grants.
    pub fn policy(
        &self,
        rules: &[crate::policy::HostRule],
        params: Option<&serde_json::Value>,
    ) -> crate::policy::OutboundPolicy {
        crate::policy::OutboundPolicy::resolve(rules, params)
            .grant_private_networks(self.config.private_networks)
    }

    /// The linker of `world`: a plugin can import only what its world offers (a
    /// workload that imports `signer` fails to load).
    pub(crate) fn linker(&self, world: World) -> &Linker<CallState> {
        match world {
            World::Provider => &self.provider_linker,
            World::Workload | World::ReducingWorkload => &self.workload_linker,
            World::Installer => &self.installer_linker,
        }
    }
}

/// Advance `engine`'s epoch every `tick` until the engine is dropped (Spin's pattern).
fn spawn_epoch_ticker(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("owbench-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        })
        .expect("failed to spawn the epoch ticker thread");
}

/// A linker with what every world offers: WASI p2 (the store's context decides what a
/// plugin really gets), `wasi:http` (through the outbound policy), `host` and `types`.
fn base_linker(engine: &Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::bindings::owbench::plugin::host::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    crate::bindings::owbench::plugin::types::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}
