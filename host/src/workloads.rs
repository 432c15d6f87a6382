//! The workload catalog: the seed workloads built into the binary, plugin directories
//! (`<dir>/<name>/plugin.toml` + component) on the search path, and native builds of the
//! seed kernels for side-by-side runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use owbench_workload::{Ctx, Level};

use crate::engine::{LogLine, Metric, PluginEngine, PluginError, WorkloadPlugin};
use crate::manifest::Manifest;

/// Where a workload comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Built into the binary.
    Builtin(&'static owbench_components::Builtin),
    /// A plugin directory holding `plugin.toml` and the component it names.
    Dir(PathBuf),
}

/// Names of the seed workloads built into the binary.
pub fn builtin_names() -> Vec<String> {
    owbench_components::WORKLOADS
        .iter()
        .filter_map(|b| Manifest::parse(b.manifest).ok().map(|m| m.name))
        .collect()
}

/// Find a workload: a path to a plugin directory, a built-in name, or a plugin
/// directory named `name` under one of `search`.
pub fn resolve(name: &str, search: &[PathBuf]) -> Result<Source, PluginError> {
    resolve_among(name, search, owbench_components::WORKLOADS, "workload")
}

/// Find plugin `name` (a `kind` of plugin) among `builtins`, as [`resolve`] does.
pub(crate) fn resolve_among(
    name: &str,
    search: &[PathBuf],
    builtins: &'static [owbench_components::Builtin],
    kind: &str,
) -> Result<Source, PluginError> {
    let as_path = Path::new(name);
    if name.contains(std::path::MAIN_SEPARATOR) || as_path.join("plugin.toml").is_file() {
        return Ok(Source::Dir(as_path.to_path_buf()));
    }
    let names: Vec<String> = builtins
        .iter()
        .filter_map(|b| Manifest::parse(b.manifest).ok().map(|m| m.name))
        .collect();
    if let Some(i) = names.iter().position(|n| n == name) {
        return Ok(Source::Builtin(&builtins[i]));
    }
    if let Some(dir) = search
        .iter()
        .map(|d| d.join(name))
        .find(|d| d.join("plugin.toml").is_file())
    {
        return Ok(Source::Dir(dir));
    }
    Err(PluginError::Manifest {
        plugin: name.to_owned(),
        source: crate::manifest::ManifestError::Syntax(format!(
            "no such {kind} (built in: {}; or give a plugin directory)",
            names.join(", ")
        )),
    })
}

/// Every plugin directory under `search` (each `<dir>/<name>/plugin.toml`).
pub fn discover(search: &[PathBuf]) -> Vec<Source> {
    let mut found: Vec<PathBuf> = search
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    found.sort();
    owbench_components::WORKLOADS
        .iter()
        .map(Source::Builtin)
        .chain(found.into_iter().map(Source::Dir))
        .collect()
}

/// The manifest and component bytes of `source`.
pub fn component(source: &Source) -> Result<(Manifest, Vec<u8>), PluginError> {
    match source {
        Source::Builtin(builtin) => {
            let manifest =
                Manifest::parse(builtin.manifest).map_err(|source| PluginError::Manifest {
                    plugin: "built-in".into(),
                    source,
                })?;
            Ok((manifest, builtin.wasm.to_vec()))
        }
        Source::Dir(dir) => {
            let path = dir.join("plugin.toml");
            let text =
                std::fs::read_to_string(&path).map_err(|source| PluginError::ReadManifest {
                    path: path.clone(),
                    source,
                })?;
            let manifest = Manifest::parse(&text).map_err(|source| PluginError::Manifest {
                plugin: dir.display().to_string(),
                source,
            })?;
            let component = dir.join(&manifest.component);
            let bytes = std::fs::read(&component).map_err(|source| PluginError::ReadComponent {
                plugin: manifest.name.clone(),
                path: component,
                source,
            })?;
            Ok((manifest, bytes))
        }
    }
}

/// Read the manifest and component of `source`, then load it into `engine`.
pub async fn load(engine: &PluginEngine, source: &Source) -> Result<WorkloadPlugin, PluginError> {
    let (manifest, bytes) = component(source)?;
    WorkloadPlugin::load(engine, manifest, &bytes).await
}

/// Merges the partial results of a workload's invocations (one per partition of its
/// data set) into one answer.
pub type Reducer = fn(&[serde_json::Value]) -> Result<serde_json::Value, String>;

/// The reducer of workload `name`, if it has one.
pub fn reducer(name: &str) -> Option<Reducer> {
    match name {
        "bigdata" => Some(bigdata::reduce::reduce),
        "ml-inference" => Some(ml_inference::dataset::reduce),
        "genomics-align" => Some(genomics_align::dataset::reduce),
        _ => None,
    }
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

type NativeRunner = fn(&str, &mut dyn Ctx) -> Result<String, owbench_workload::Error>;

/// The native entry point of a seed workload: the same `run_json` the component exports.
fn native_runner(name: &str) -> Option<NativeRunner> {
    Some(match name {
        "matmul" => owbench_workload::run_json::<matmul::Matmul>,
        "bintree" => owbench_workload::run_json::<bintree::Bintree>,
        "file-io" => owbench_workload::run_json::<file_io::FileIo>,
        "object-download" => owbench_workload::run_json::<object_download::ObjectDownload>,
        "bigdata" => owbench_workload::run_json::<bigdata::Bigdata>,
        "ml-inference" => owbench_workload::run_json::<ml_inference::MlInference>,
        "genomics-align" => owbench_workload::run_json::<genomics_align::GenomicsAlign>,
        "noop" => owbench_workload::run_json::<noop::Noop>,
        _ => return None,
    })
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
