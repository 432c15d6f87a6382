//! The experiment spec (`owbench bench SPEC.toml`): target, workloads with parameters,
//! load model, repetitions, warm-up, output directory. Unknown keys are errors, and
//! every error names the file, line and column.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::load::LoadModel;
use crate::platform::Containers;

/// An experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Name; the results directory is `<output>/<name>-<time>`.
    pub name: String,
    /// Where results go.
    #[serde(default = "default_output")]
    pub output: PathBuf,
    /// Repetitions of the whole experiment.
    #[serde(default = "one")]
    pub runs: u32,
    /// After Ctrl-C, how long in-flight invocations may finish, seconds.
    #[serde(default = "default_grace")]
    pub grace_s: f64,
    /// Client-side timeout of one request, seconds.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_s: f64,
    /// Default invocations per workload (warm-up included).
    #[serde(default)]
    pub count: Option<u64>,
    /// Default wall-clock bound per workload, seconds.
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Default warm-up invocations per workload.
    #[serde(default)]
    pub warmup: u64,
    /// Default most invocations in flight.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
    /// Blocking invokes (`false`: 202 then fetch the record).
    #[serde(default = "yes")]
    pub blocking: bool,
    /// Default load model.
    pub load: LoadModel,
    /// Retries of throttled (429) invocations.
    #[serde(default)]
    pub retry: Retry,
    /// Where to send invocations (default: the embedded platform).
    #[serde(default)]
    pub target: TargetSpec,
    /// The workloads, run one after the other.
    #[serde(rename = "workload", default)]
    pub workloads: Vec<WorkloadSpec>,
}

/// Retry policy for 429s.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Most retries per invocation (0: count 429s, never retry).
    #[serde(default)]
    pub max: u32,
    /// First backoff, ms; doubled each retry, with jitter.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
}

/// The system under test.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetSpec {
    /// The embedded platform, started in-process on an ephemeral loopback port.
    Embedded {
        /// Memory for warm instances, MB.
        #[serde(default)]
        user_memory_mb: Option<u64>,
        /// Seconds an idle instance is kept (0: every activation is a cold start).
        #[serde(default)]
        keep_alive_s: Option<u64>,
        /// Where warm instances run: `in-process` (default), or `process` (one
        /// `owbench runtime` process each, driven as OpenWhisk's invoker drives
        /// containers).
        #[serde(default)]
        containers: Containers,
    },
    /// A real OpenWhisk; unset fields come from `__OW_*` or `~/.wskprops`.
    Openwhisk {
        /// API host URL.
        #[serde(default)]
        apihost: Option<String>,
        /// `uuid:key`.
        #[serde(default)]
        auth: Option<String>,
        /// Namespace.
        #[serde(default)]
        namespace: Option<String>,
        /// Accept self-signed certificates.
        #[serde(default)]
        insecure: bool,
        /// A wskprops file other than `~/.wskprops`.
        #[serde(default)]
        wskprops: Option<PathBuf>,
        /// owbench's action runtime image, for a deployment that lists no `wasm`
        /// runtime: workloads are deployed as blackbox actions with it (default
        /// `owbench/runtime:<owbench's version>`).
        #[serde(default)]
        runtime_image: Option<String>,
    },
    /// The OpenWhisk an installer set up with `owbench cluster up`: its address, key and
    /// certificate (pinned) from the cluster's state.
    Cluster {
        /// The cluster's id, as `owbench cluster up` printed it.
        id: String,
        /// Where its state file is (default: `owbench cluster`'s state directory).
        #[serde(default)]
        state_dir: Option<PathBuf>,
    },
    /// Any HTTP endpoint, `GET` (calibrates the load engine itself).
    Http {
        /// The URL.
        url: String,
    },
}

impl Default for TargetSpec {
    /// The embedded platform with its defaults.
    fn default() -> Self {
        TargetSpec::Embedded {
            user_memory_mb: None,
            keep_alive_s: None,
            containers: Containers::default(),
        }
    }
}

/// One workload of the experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Built-in workload name or plugin directory.
    pub name: String,
    /// Name in rows and summaries (default: the workload's own name); must be unique.
    #[serde(default)]
    pub label: Option<String>,
    /// Action name (default `owbench-<name>`).
    #[serde(default)]
    pub action: Option<String>,
    /// What the action runs: `wasm`, the workload's component (the target's `wasm` kind,
    /// or a blackbox action with owbench's runtime image), or `python`, a Python workload
    /// as a stock OpenWhisk `python:3` action (not on the embedded platform).
    #[serde(default, rename = "as")]
    pub run_as: RunAs,
    /// Deploy the component as the action first (`false`: invoke an existing action).
    #[serde(default = "yes")]
    pub deploy: bool,
    /// Parameters; a string `"{{ object BYTES }}"` becomes the URL of a generated object
    /// of BYTES bytes on a loopback endpoint the host starts (and `expect_sha256` is set);
    /// `"{{ partition TABLE }}"` the URL of partition `seq % partitions` of the dataset's
    /// TABLE for invocation `seq`.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// A data set read partition by partition (generated and cached on first use). When
    /// the workload has a reducer (`bigdata`), every repetition's results are reduced into
    /// the query's answer (`answers.json`).
    #[serde(default)]
    pub dataset: Option<crate::datasets::DatasetSpec>,
    /// Action memory limit, MB (default: the plugin's).
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Action timeout, ms (default: the plugin's, at most 300000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Overrides of the defaults above.
    #[serde(default)]
    pub count: Option<u64>,
    /// Override.
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Override.
    #[serde(default)]
    pub warmup: Option<u64>,
    /// Override.
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// Override.
    #[serde(default)]
    pub load: Option<LoadModel>,
}

/// What a workload's action runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunAs {
    /// Its component.
    #[default]
    Wasm,
    /// A Python workload's code on the target's own Python runtime.
    Python,
}

fn default_output() -> PathBuf {
    PathBuf::from("owbench-results")
}
fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn default_grace() -> f64 {
    10.0
}
fn default_request_timeout() -> f64 {
    120.0
}
fn default_in_flight() -> usize {
    1000
}
fn default_backoff() -> u64 {
    100
}

impl Spec {
    /// Read and check a spec file.
    pub fn load(path: &Path) -> anyhow::Result<Spec> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read spec {}: {e}", path.display()))?;
        Spec::parse(&text).map_err(|e| anyhow::anyhow!("spec {}:{e}", path.display()))
    }

    /// Parse and check spec text; errors start with `line:column: `.
    pub fn parse(text: &str) -> Result<Spec, String> {
        let spec: Spec = crate::specfile::parse_toml(text)?;
        spec.validate().map_err(|e| format!("1:1: {e}"))?;
        Ok(spec)
    }

    fn validate(&self) -> Result<(), String> {
        if self.workloads.is_empty() {
            return Err("give at least one [[workload]]".into());
        }
        if self.runs == 0 {
            return Err("`runs` must be at least 1".into());
        }
        if !(self.grace_s >= 0.0 && self.request_timeout_s > 0.0) {
            return Err("`grace_s` and `request_timeout_s` must be positive".into());
        }
        self.load.validate()?;
        for w in &self.workloads {
            let plan_load = w.load.as_ref().unwrap_or(&self.load);
            plan_load
                .validate()
                .map_err(|e| format!("workload `{}`: {e}", w.name))?;
            let bounded = w.count.or(self.count).is_some()
                || w.duration_s.or(self.duration_s).is_some()
                || plan_load.natural_duration().is_some();
            if !bounded {
                return Err(format!(
                    "workload `{}` never ends: give `count` or `duration_s`",
                    w.name
                ));
            }
            if let Some(d) = w.duration_s.or(self.duration_s)
                && !(d.is_finite() && d > 0.0)
            {
                return Err(format!(
                    "workload `{}`: `duration_s` must be positive",
                    w.name
                ));
            }
        }
        Ok(())
    }
}

/// The seed's concurrency experiment on the embedded default: the four seed workloads,
/// 1000 invocations each, all at once.
pub const DEFAULT_SPEC: &str = r#"
name = "seed-concurrency"
count = 1000
warmup = 0
blocking = true

[target]
kind = "embedded"

# A thousand invocations at once, per workload.
[load]
model = "burst"
size = 1000

[[workload]]
name = "matmul"
params = { n = 128 }
memory_mb = 64

[[workload]]
name = "bintree"
params = { depth = 12 }
memory_mb = 64

[[workload]]
name = "file-io"
params = { size_mb = 1, block_kb = 64 }
memory_mb = 32

[[workload]]
name = "object-download"
params = { url = "{{ object 1048576 }}" }
memory_mb = 32
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_spec_parses() {
        let spec = Spec::parse(DEFAULT_SPEC).unwrap();
        assert_eq!(spec.workloads.len(), 4);
        assert_eq!(
            spec.load,
            LoadModel::Burst {
                size: 1000,
                interval_ms: 0
            }
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = Spec::parse("name = \"x\"\n[load]\nmodel = \"open\"\nrat = 5\n").unwrap_err();
        assert!(err.starts_with("2:1:") || err.starts_with("4:1:"), "{err}");
        assert!(err.contains("rat"), "{err}");
        let err = Spec::parse("name = \"x\"\ncount = \"many\"\n").unwrap_err();
        assert!(err.starts_with("2:9:"), "{err}");
        let err = Spec::parse("name = 1 +").unwrap_err();
        assert!(err.starts_with("1:"), "{err}");
    }

    #[test]
    fn unbounded_and_empty_specs_are_refused() {
        let base = "name = \"x\"\n[target]\nkind = \"embedded\"\n[load]\nmodel = \"closed\"\nconcurrency = 2\n";
        assert!(
            Spec::parse(base)
                .unwrap_err()
                .contains("at least one [[workload]]")
        );
        let err = Spec::parse(&format!("{base}[[workload]]\nname = \"noop\"\n")).unwrap_err();
        assert!(err.contains("never ends"), "{err}");
        assert!(Spec::parse(&format!("count = 5\n{base}[[workload]]\nname = \"noop\"\n")).is_ok());
    }
}
