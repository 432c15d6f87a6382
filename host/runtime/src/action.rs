//! The action a runtime was initialised with: the compiled component, the limits its
//! instances run under, and the idle instances kept between activations.

use std::sync::Mutex;
use std::time::Duration;

use owbench_activation::{Classified, Ran};
use owbench_openwhisk::Limits;
use owbench_plugin::manifest::Manifest;
use owbench_plugin::policy::HostRule;
use owbench_plugin::{CallLimits, PluginEngine, PluginError, WarmInstance, WorkloadPlugin};

use crate::{DEFAULT_MEMORY, RuntimeConfig};

/// An initialised action.
pub struct Action {
    plugin: WorkloadPlugin,
    /// Memory (MB) and log (MB) limits of every activation; the timeout is per `/run`.
    limits: Limits,
    /// Instances that ran an activation and can take another.
    idle: Mutex<Vec<WarmInstance>>,
}

impl Action {
    /// Compile (or map from the cache) `bytes` as the workload named `name`. A built-in
    /// (the same bytes) keeps its manifest; any other component gets the action's name
    /// and the runtime's memory. `rules`, when the platform passed them, are the hosts
    /// it may reach; else a built-in's manifest's, and none for any other component.
    pub async fn load(
        engine: &PluginEngine,
        config: &RuntimeConfig,
        name: &str,
        bytes: &[u8],
        rules: Option<Vec<HostRule>>,
    ) -> Result<Action, PluginError> {
        let builtin = config.builtins.workloads.iter().find(|b| b.wasm == bytes);
        let plugin = match builtin.map(|b| Manifest::parse(b.manifest)) {
            Some(Ok(mut manifest)) => {
                if let Some(rules) = rules {
                    manifest.allowed_outbound_hosts = rules;
                }
                WorkloadPlugin::load(engine, manifest, bytes).await
            }
            _ => {
                let limits = CallLimits {
                    memory: config.memory_limit.unwrap_or(DEFAULT_MEMORY),
                    timeout: config.max_timeout,
                };
                let name = if name.is_empty() { "action" } else { name };
                let rules = rules.unwrap_or_default();
                WorkloadPlugin::load_action(engine, name, bytes, rules, limits).await
            }
        }?;
        let memory = config
            .memory_limit
            .unwrap_or(plugin.manifest().memory_limit);
        let limits = Limits {
            timeout: config.max_timeout.as_millis() as u64,
            // Whole MB, at least one (the limit is passed on in MB).
            memory: (memory >> 20).max(1),
            logs: config.log_limit_mb,
            concurrency: 1,
        };
        Ok(Action {
            plugin,
            limits,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The workload's name (its manifest's, or the action's).
    pub fn name(&self) -> &str {
        &self.plugin.manifest().name
    }

    /// Start the first instance, so that a component that cannot start fails `/init`.
    pub async fn warm_up(&self, engine: &PluginEngine) -> Result<(), Classified> {
        let instance = owbench_activation::start(engine, &self.plugin, &self.limits).await?;
        self.idle.lock().expect("idle instances").push(instance);
        Ok(())
    }

    /// Run one activation with `params` (a JSON object as text) within `timeout`, on an
    /// idle instance or a new one; the instance is kept if it can take another.
    pub async fn run(&self, engine: &PluginEngine, params: &str, timeout: Duration) -> Ran {
        let limits = Limits {
            timeout: timeout.as_millis() as u64,
            ..self.limits
        };
        let idle = self.idle.lock().expect("idle instances").pop();
        let mut instance = match idle {
            Some(instance) => instance,
            None => match owbench_activation::start(engine, &self.plugin, &limits).await {
                Ok(instance) => instance,
                Err(outcome) => {
                    return Ran {
                        outcome,
                        lines: Vec::new(),
                        result_len: 0,
                        run: Duration::ZERO,
                        reusable: false,
                    };
                }
            },
        };
        let ran = owbench_activation::run(&mut instance, params, &limits).await;
        if ran.reusable {
            self.idle.lock().expect("idle instances").push(instance);
        }
        ran
    }
}
