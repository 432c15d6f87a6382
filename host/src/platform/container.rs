//! What a warm instance of an action is: a wasmtime instance in the platform's own process
//! (the default), or an `owbench runtime` child process driven over HTTP as OpenWhisk's
//! invoker drives an action container (`--containers process`).

use serde::{Deserialize, Serialize};

use super::Platform;
use super::actions::ActionEntry;
use super::process::{ProcessContext, RuntimeProcess};
use owbench_activation::{Classified, Ran};
use owbench_openwhisk::Limits;
use owbench_plugin::WarmInstance;

/// Where the platform runs its warm instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Containers {
    /// wasmtime instances in the platform's own process.
    #[default]
    InProcess,
    /// One `owbench runtime` process per instance, on a loopback port: cold starts
    /// include starting a process, as a container's do.
    Process,
}

/// A started instance of an action.
pub enum Instance {
    /// A wasmtime instance in this process.
    InProcess(WarmInstance),
    /// An `owbench runtime` child process.
    Process(RuntimeProcess),
}

impl Instance {
    /// A cold start of `action` on `platform`. A failure is classified as OpenWhisk
    /// classifies a failed init.
    pub async fn start(
        platform: &Platform,
        action: &ActionEntry,
        limits: &Limits,
    ) -> Result<Instance, Classified> {
        match &platform.runtime_program {
            None => {
                let plugin = action
                    .plugin(&platform.engine)
                    .await
                    .map_err(|reason| owbench_activation::init_failure(&reason))?;
                owbench_activation::start(&platform.engine, &plugin, limits)
                    .await
                    .map(Instance::InProcess)
            }
            Some(program) => {
                let config = platform.engine.config();
                let cache = config.cache_dir.as_deref();
                RuntimeProcess::start(program, cache, config.private_networks, action, limits)
                    .await
                    .map(Instance::Process)
            }
        }
    }

    /// Run one activation with `params` (a JSON object as text) under `limits`.
    pub async fn run(&mut self, params: &str, limits: &Limits, context: ProcessContext<'_>) -> Ran {
        match self {
            Instance::InProcess(instance) => {
                owbench_activation::run(instance, params, limits).await
            }
            Instance::Process(process) => process.run(params, limits, context).await,
        }
    }
}
