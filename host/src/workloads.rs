//! Workloads: the catalog's workload plugins, and native builds of the seed kernels for
//! side-by-side runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use owbench_workload::{Ctx, Level};

use owbench_components::BUILTINS;
use owbench_plugin::catalog::{Source, component};
use owbench_plugin::manifest::World;
use owbench_plugin::{LogLine, Metric, PluginEngine, PluginError, WorkloadPlugin};

/// Names of the seed workloads built into the binary.
pub fn builtin_names() -> Vec<String> {
    BUILTINS.names(World::Workload)
}

/// Find a workload: a path to a plugin directory, a built-in name, or a plugin
/// directory named `name` under one of `search`.
pub fn resolve(name: &str, search: &[PathBuf]) -> Result<Source, PluginError> {
    BUILTINS.resolve(name, World::Workload, search)
}

/// Every workload: the built-ins, then the plugin directories under `search`.
pub fn discover(search: &[PathBuf]) -> Vec<Source> {
    BUILTINS.discover(World::Workload, search)
}

/// Read the manifest and component of `source`, then load it into `engine`.
pub async fn load(engine: &PluginEngine, source: &Source) -> Result<WorkloadPlugin, PluginError> {
    let (manifest, bytes) = component(source)?;
    WorkloadPlugin::load(engine, manifest, &bytes).await
}

/// What a native run produced.
#[derive(Debug)]
pub struct NativeOutcome {
    /// The result JSON object as text, or the workload's error.
    pub result: Result<String, owbench_workload::Error>,
    /// Lines logged.
    pub logs: Vec<LogLine>,
    /// Figures reported.
    pub metrics: Vec<Metric>,
    /// Wall time of the run.
    pub run: Duration,
}

/// Run the native build of a seed workload (`None` if `name` has none).
pub fn run_native(name: &str, params: &str) -> Option<NativeOutcome> {
    let run = native_runner(name)?;
    let mut ctx = NativeCtx {
        scratch: tempfile::Builder::new()
            .prefix("owbench-native-")
            .tempdir()
            .ok(),
        logs: vec![],
        metrics: vec![],
    };
    let started = Instant::now();
    let result = match ctx.scratch {
        Some(_) => run(params, &mut ctx),
        None => Err(owbench_workload::Error::Failed(
            "cannot create a scratch directory".into(),
        )),
    };
    let run = started.elapsed();
    Some(NativeOutcome {
        result,
        logs: ctx.logs,
        metrics: ctx.metrics,
        run,
    })
}

/// Whether `name` has a native build.
pub fn has_native(name: &str) -> bool {
    native_runner(name).is_some()
}

/// A workload's whole call, natively: params JSON in, result JSON out.
type NativeRun = fn(&str, &mut dyn Ctx) -> Result<String, owbench_workload::Error>;

/// The native entry point of a built-in workload: the same `run_json` the component
/// exports (`None` when `name` has none).
#[cfg(feature = "native")]
fn native_runner(name: &str) -> Option<NativeRun> {
    owbench_builtins::native(name)
}

/// Built without the `native` feature, no workload has a native build.
#[cfg(not(feature = "native"))]
fn native_runner(_name: &str) -> Option<NativeRun> {
    None
}

/// The host services a native run gets: the same as a component's, in process.
struct NativeCtx {
    scratch: Option<tempfile::TempDir>,
    logs: Vec<LogLine>,
    metrics: Vec<Metric>,
}

impl Ctx for NativeCtx {
    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        self.logs.push(LogLine {
            level,
            message: message.to_owned(),
        });
    }

    fn metric(&mut self, name: &str, value: f64, unit: &str) {
        self.metrics.push(Metric {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
        });
    }

    fn scratch_dir(&self) -> PathBuf {
        self.scratch
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default()
    }
}
