//! Workload plugins: load (compile, type-check against the `workload` world, check
//! `describe()` against the manifest) once, then call many times, each call in a fresh
//! store.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use wasmtime::Store;
use wasmtime_wasi::FsPerms;

use super::bindings::owbench::plugin::types;
use super::bindings::reducing::ReducingWorkloadPre;
use super::bindings::{Workload as Bindings, WorkloadPre};
use super::error::first_line;
use super::loader::{Plugin, PluginWorld, bindgen_world_methods, classify, new_store, sealed};
use super::output::CapturePipe;
use super::policy::{Denial, HostRule, OutboundPolicy, PolicyHooks};
use super::state::{CallState, LogLine, Metric};
use super::{PluginEngine, PluginError};
use crate::manifest::{Manifest, World};

/// Most bytes of stdout (and of stderr) kept from one call.
pub const MAX_OUTPUT: usize = 1 << 20;
/// Time allowed for instantiation (running the component's start functions).
const INSTANTIATE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a workload says about itself, checked against its manifest.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadInfo {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Category (`cpu`, `memory`, ...).
    pub category: &'static str,
    /// One sentence.
    pub description: String,
    /// Default parameters (a JSON object).
    pub default_params: serde_json::Value,
}

/// Limits for one call; by default the manifest's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Largest linear memory, in bytes.
    pub memory: u64,
    /// Wall-clock limit.
    pub timeout: Duration,
}

/// Everything one call produced, including on failure.
#[derive(Debug)]
pub struct CallOutcome {
    /// The result JSON object as text, or why there is none.
    pub result: Result<String, PluginError>,
    /// Lines logged through `host.log`.
    pub logs: Vec<LogLine>,
    /// Log lines over the limit, dropped.
    pub dropped_logs: usize,
    /// Figures reported through `host.metric`.
    pub metrics: Vec<Metric>,
    /// Captured stdout (lossy UTF-8, at most 1 MiB).
    pub stdout: String,
    /// Captured stderr (lossy UTF-8, at most 1 MiB).
    pub stderr: String,
    /// Bytes of stdout and stderr past their 1 MiB, dropped.
    pub dropped_output: usize,
    /// Time to create the store and instantiate from the pre-instantiated component.
    pub instantiate: Duration,
    /// Time spent in the `run` export.
    pub run: Duration,
    /// Largest linear memory the call reached, in bytes.
    pub peak_memory: u64,
}

/// The `workload` world (and `reducing-workload`, which adds `reduce`).
pub struct Workload;

impl PluginWorld for Workload {}

impl sealed::Bindings for Workload {
    const WORLD: World = World::Workload;
    type Pre = WorkloadPre<CallState>;
    type Instance = Bindings;
    type Info = WorkloadInfo;

    bindgen_world_methods!(WorkloadPre);

    async fn describe(
        instance: &Self::Instance,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Result<Self::Info, String>> {
        let described = instance.call_describe(store).await?;
        let Some(default_params) =
            serde_json::from_str::<serde_json::Value>(&described.default_params)
                .ok()
                .filter(|v| v.is_object())
        else {
            return Ok(Err(
                "returned default-params that are not a JSON object".into()
            ));
        };
        Ok(Ok(WorkloadInfo {
            name: described.name,
            version: described.version,
            category: category_name(described.category),
            description: described.description,
            default_params,
        }))
    }
}

/// A loaded workload plugin, ready to be called.
pub struct WorkloadPlugin {
    plugin: Plugin<Workload>,
    /// The same component typed as a `reducing-workload`, when its manifest says it is one.
    reducer: Option<ReducingWorkloadPre<CallState>>,
}

impl WorkloadPlugin {
    /// Compile `bytes`, check it implements the `workload` world, and check that its
    /// `describe()` matches `manifest`.
    pub async fn load(
        engine: &PluginEngine,
        manifest: Manifest,
        bytes: &[u8],
    ) -> Result<WorkloadPlugin, PluginError> {
        Self::load_checked(engine, manifest, bytes, true).await
    }

    /// Load the component of a platform action named `name` (no `plugin.toml`: the
    /// action's limits and `allowed-outbound-hosts` annotation stand in for it, and the
    /// component may call itself anything).
    pub async fn load_action(
        engine: &PluginEngine,
        name: &str,
        bytes: &[u8],
        allowed_outbound_hosts: Vec<HostRule>,
        limits: CallLimits,
    ) -> Result<WorkloadPlugin, PluginError> {
        let manifest = Manifest {
            name: name.to_owned(),
            version: semver::Version::new(0, 0, 0),
            world: World::Workload,
            component: String::new(),
            description: None,
            owbench: None,
            allowed_outbound_hosts,
            credentials: None,
            memory_limit: limits.memory,
            timeout: limits.timeout,
            build: None,
        };
        Self::load_checked(engine, manifest, bytes, false).await
    }

    async fn load_checked(
        engine: &PluginEngine,
        manifest: Manifest,
        bytes: &[u8],
        check_identity: bool,
    ) -> Result<WorkloadPlugin, PluginError> {
        let plugin = Plugin::<Workload>::load_as(engine, manifest, bytes, check_identity).await?;
        let manifest = plugin.manifest();
        let reducer = match manifest.world {
            World::ReducingWorkload => Some(
                ReducingWorkloadPre::new(plugin.pre().instance_pre().clone()).map_err(|e| {
                    PluginError::WorldMismatch {
                        plugin: manifest.name.clone(),
                        world: World::ReducingWorkload.to_string(),
                        reason: first_line(&format!("{e:#}")),
                    }
                })?,
            ),
            _ => None,
        };
        Ok(WorkloadPlugin { plugin, reducer })
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        self.plugin.manifest()
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &WorkloadInfo {
        self.plugin.info()
    }

    /// Whether the plugin merges partial results ([`WorkloadPlugin::reduce`]).
    pub fn reduces(&self) -> bool {
        self.reducer.is_some()
    }

    /// Merge `partials` (the JSON objects `run` returned, one per partition, in
    /// partition order) into the answer with the plugin's `reduce` export, in a fresh
    /// store with no files and no network, under the manifest's limits.
    pub async fn reduce(
        &self,
        engine: &PluginEngine,
        partials: &[String],
    ) -> Result<String, PluginError> {
        let plugin = &self.manifest().name;
        let Some(reducer) = &self.reducer else {
            return Err(PluginError::WorldMismatch {
                plugin: plugin.clone(),
                world: World::ReducingWorkload.to_string(),
                reason: format!("its plugin.toml declares `{}`", self.manifest().world),
            });
        };
        let limits = self.default_limits();
        let mut store = new_store(engine, CallState::minimal(limits.memory as usize), limits);
        let reduced = async {
            let instance = reducer.instantiate_async(&mut store).await?;
            instance
                .owbench_plugin_reducer()
                .call_reduce(&mut store, partials)
                .await
        }
        .await;
        match reduced {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(workload_error(plugin, e)),
            Err(e) => Err(classify(plugin, e, store.data(), limits, "")),
        }
    }

    /// SHA-256 of the component bytes (hex), for run metadata.
    pub fn sha256(&self) -> &str {
        self.plugin.sha256()
    }

    /// The manifest's limits.
    pub fn default_limits(&self) -> CallLimits {
        self.plugin.limits()
    }

    /// Create a store and instantiate from the pre-instantiated component, returning the
    /// live instance as an opaque guard (dropping it tears the store down). The fixed
    /// cost of every cold start, measured by the `instantiate` bench.
    pub async fn instantiate_only(
        &self,
        engine: &PluginEngine,
    ) -> Result<impl Sized + use<>, PluginError> {
        let limits = self.default_limits();
        let mut store = new_store(engine, CallState::minimal(limits.memory as usize), limits);
        match self.plugin.pre().instantiate_async(&mut store).await {
            Ok(instance) => Ok((store, instance)),
            Err(e) => Err(classify(&self.manifest().name, e, store.data(), limits, "")),
        }
    }

    /// Start a warm instance (what OpenWhisk calls a container): a store with its own
    /// private scratch directory, WASI context and memory limit, instantiated once and
    /// then called any number of times with [`WarmInstance::run`].
    pub async fn instantiate(
        &self,
        engine: &PluginEngine,
        memory_limit: u64,
    ) -> Result<WarmInstance, PluginError> {
        let plugin = &self.manifest().name;
        let host_error = |what: &str, e: std::io::Error| PluginError::Host {
            plugin: plugin.clone(),
            reason: format!("cannot {what} the scratch directory: {e}"),
        };
        // Removed when the instance is dropped, whatever the calls did.
        let scratch = tempfile::Builder::new()
            .prefix("owbench-scratch-")
            .tempdir_in(&engine.config().scratch_root)
            .map_err(|e| host_error("create", e))?;
        let stdout = CapturePipe::new(MAX_OUTPUT);
        let stderr = CapturePipe::new(MAX_OUTPUT);
        let mut wasi = wasmtime_wasi::WasiCtx::builder();
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_blocking_current_thread(true);
        wasi.preopened_dir(scratch.path(), "/scratch", FsPerms::ReadWrite)
            .map_err(|e| host_error("open", std::io::Error::other(e)))?;
        let denied = Arc::new(Mutex::new(Vec::new()));
        let hooks = PolicyHooks {
            policy: Default::default(),
            denied: denied.clone(),
            signer: None,
        };
        let state = CallState::new(wasi.build(), hooks, memory_limit as usize);
        let limits = CallLimits {
            memory: memory_limit,
            timeout: INSTANTIATE_TIMEOUT,
        };
        let started = Instant::now();
        let mut store = new_store(engine, state, limits);
        match self.plugin.pre().instantiate_async(&mut store).await {
            Ok(instance) => Ok(WarmInstance {
                plugin: plugin.clone(),
                rules: self.manifest().allowed_outbound_hosts.clone(),
                store,
                instance,
                stdout,
                stderr,
                denied,
                private_networks: engine.config().private_networks,
                memory_limit,
                instantiate: started.elapsed(),
                poisoned: false,
                _scratch: scratch,
            }),
            Err(e) => {
                let (err, _) = stderr.take();
                Err(classify(plugin, e, store.data(), limits, &err))
            }
        }
    }

    /// Run the workload once with `params` (a JSON object as text) in a fresh instance
    /// that is torn down afterwards.
    ///
    /// Never panics on guest misbehaviour: traps, timeouts, memory exhaustion and refused
    /// requests come back as a [`PluginError`] in [`CallOutcome::result`].
    pub async fn call(
        &self,
        engine: &PluginEngine,
        params: &str,
        limits: CallLimits,
    ) -> CallOutcome {
        if let Err(reason) = parse_params(params) {
            return CallOutcome::failed(PluginError::InvalidParams {
                plugin: self.manifest().name.clone(),
                reason,
            });
        }
        match self.instantiate(engine, limits.memory).await {
            Ok(mut instance) => {
                let mut outcome = instance.run(params, limits.timeout).await;
                outcome.instantiate = instance.instantiate_time();
                outcome
            }
            Err(e) => CallOutcome::failed(e),
        }
    }
}

/// A live instance of a workload, reusable across calls until it traps.
pub struct WarmInstance {
    plugin: String,
    rules: Vec<HostRule>,
    store: Store<CallState>,
    instance: Bindings,
    stdout: CapturePipe,
    stderr: CapturePipe,
    denied: Arc<Mutex<Vec<Denial>>>,
    /// The user granted `private-networks`.
    private_networks: bool,
    memory_limit: u64,
    instantiate: Duration,
    poisoned: bool,
    _scratch: tempfile::TempDir,
}

impl WarmInstance {
    /// How long instantiation took (the cold-start cost).
    pub fn instantiate_time(&self) -> Duration {
        self.instantiate
    }

    /// Whether the instance can take another call (it cannot after a trap, a timeout or
    /// running out of memory: OpenWhisk destroys such a container too).
    pub fn is_reusable(&self) -> bool {
        !self.poisoned
    }

    /// Call `run(params)` with a wall-clock limit of `timeout`; the outcome holds only
    /// what this call produced.
    pub async fn run(&mut self, params: &str, timeout: Duration) -> CallOutcome {
        let plugin = &self.plugin;
        let mut outcome = CallOutcome::default();
        if self.poisoned {
            outcome.result = Err(PluginError::Host {
                plugin: plugin.clone(),
                reason: "the instance trapped earlier and cannot be called again".into(),
            });
            return outcome;
        }
        let parsed = match parse_params(params) {
            Ok(parsed) => parsed,
            Err(reason) => {
                outcome.result = Err(PluginError::InvalidParams {
                    plugin: plugin.clone(),
                    reason,
                });
                return outcome;
            }
        };
        {
            let state = self.store.data_mut();
            state.hooks.policy = OutboundPolicy::resolve(&self.rules, Some(&parsed))
                .grant_private_networks(self.private_networks);
            state.limiter.hit = false;
            state.deadline = Instant::now() + timeout;
        }
        self.denied.lock().expect("denied list poisoned").clear();
        self.store.set_epoch_deadline(1);

        let ran = Instant::now();
        let result = self.instance.call_run(&mut self.store, params).await;
        outcome.run = ran.elapsed();

        let (stdout, out_dropped) = self.stdout.take();
        let (stderr, err_dropped) = self.stderr.take();
        outcome.stdout = stdout;
        outcome.stderr = stderr;
        outcome.dropped_output = out_dropped + err_dropped;
        let first_denied = self
            .denied
            .lock()
            .expect("denied list poisoned")
            .first()
            .cloned();
        let limits = CallLimits {
            memory: self.memory_limit,
            timeout,
        };
        outcome.result = match result {
            Ok(Ok(json)) => Ok(json),
            Ok(Err(_)) if let Some(denial) = first_denied => Err(PluginError::Denied {
                plugin: plugin.clone(),
                request: denial.request,
                reason: denial.reason,
            }),
            Ok(Err(e)) => Err(workload_error(plugin, e)),
            Err(e) => {
                self.poisoned = true;
                Err(classify(
                    plugin,
                    e,
                    self.store.data(),
                    limits,
                    &outcome.stderr,
                ))
            }
        };
        let state = self.store.data_mut();
        outcome.peak_memory = state.limiter.peak as u64;
        outcome.logs = std::mem::take(&mut state.logs);
        outcome.dropped_logs = std::mem::take(&mut state.dropped_logs);
        outcome.metrics = std::mem::take(&mut state.metrics);
        outcome
    }
}

impl CallOutcome {
    /// The outcome of a call that failed before the workload ran.
    fn failed(e: PluginError) -> CallOutcome {
        CallOutcome {
            result: Err(e),
            ..CallOutcome::default()
        }
    }
}

impl Default for CallOutcome {
    /// An outcome with an empty result and nothing else, filled in as a call goes.
    fn default() -> CallOutcome {
        CallOutcome {
            result: Ok(String::new()),
            logs: Vec::new(),
            dropped_logs: 0,
            dropped_output: 0,
            metrics: Vec::new(),
            stdout: String::new(),
            stderr: String::new(),
            instantiate: Duration::ZERO,
            run: Duration::ZERO,
            peak_memory: 0,
        }
    }
}

/// A workload's own error (a WIT `workload-error`) as a [`PluginError`].
fn workload_error(plugin: &str, e: types::WorkloadError) -> PluginError {
    let plugin = plugin.to_owned();
    match e {
        types::WorkloadError::InvalidParams(reason) => {
            PluginError::InvalidParams { plugin, reason }
        }
        types::WorkloadError::Failed(message) => PluginError::Failed { plugin, message },
    }
}

/// Params must be a JSON object (empty text means `{}`).
fn parse_params(params: &str) -> Result<serde_json::Value, String> {
    if params.trim().is_empty() {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    match serde_json::from_str::<serde_json::Value>(params) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err("params must be a JSON object".into()),
        Err(e) => Err(format!("params are not valid JSON: {e}")),
    }
}

fn category_name(c: types::Category) -> &'static str {
    match c {
        types::Category::Cpu => "cpu",
        types::Category::Memory => "memory",
        types::Category::Network => "network",
        types::Category::Disk => "disk",
        types::Category::Ml => "ml",
        types::Category::Genomics => "genomics",
        types::Category::Bigdata => "bigdata",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_must_be_an_object() {
        assert!(parse_params("").unwrap().is_object());
        assert_eq!(
            parse_params("[]").unwrap_err(),
            "params must be a JSON object"
        );
        assert!(
            parse_params("{")
                .unwrap_err()
                .starts_with("params are not valid JSON")
        );
    }
}
