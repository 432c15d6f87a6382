//! The first stage of an experiment: every workload resolved, named and checked, and
//! its data set made, before any target starts or any results directory exists (a typo
//! fails fast and leaves nothing behind).

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::{Map, Value, json};

use super::spec::{RunAs, Spec, TargetSpec, WorkloadSpec};
use crate::objects::{ObjectServer, sha256_of};
use crate::results::threshold::Threshold;
use crate::workloads;
use owbench_plugin::manifest::Manifest;

/// A workload of the spec, ready to deploy.
pub struct Prepared<'s> {
    /// Its entry in the spec.
    pub spec: &'s WorkloadSpec,
    /// Its name in rows and the summary (`label`, else the plugin's name).
    pub label: String,
    /// Its plugin's manifest and what the action runs (the component, or with `as =
    /// "python"` the `python:3` zip), when owbench deploys it or reduces its results
    /// with the plugin's `reduce`.
    pub code: Option<(Manifest, Vec<u8>)>,
    /// Whether owbench deploys it (else the target already runs it).
    pub deploy: bool,
}

/// Resolve, name and check every workload of `spec`, then make the data sets they read.
pub fn prepare<'s>(
    spec: &'s Spec,
    plugin_dirs: &[PathBuf],
    thresholds: &[Threshold],
) -> anyhow::Result<Vec<Prepared<'s>>> {
    let mut prepared: Vec<Prepared> = Vec::new();
    for w in &spec.workloads {
        let deploy = w.deploy && !matches!(spec.target, TargetSpec::Http { .. });
        // The plugin is read now (a typo fails before anything starts) when it is
        // deployed or when its `reduce` merges the partial results of a data set.
        if w.run_as == RunAs::Python {
            check_python_target(w, &spec.target)?;
        }
        let code = match w.run_as {
            RunAs::Wasm if deploy || w.dataset.is_some() => Some(
                owbench_plugin::catalog::component(&workloads::resolve(&w.name, plugin_dirs)?)?,
            ),
            // A Python action has no `reduce`: its zip is made only to be deployed.
            RunAs::Python if deploy => Some(python_action(w, plugin_dirs)?),
            _ => None,
        };
        let name = code.as_ref().map_or(w.name.as_str(), |(m, _)| &m.name);
        let label = w.label.clone().unwrap_or_else(|| match w.run_as {
            RunAs::Wasm => name.to_owned(),
            RunAs::Python => format!("{name}-python"),
        });
        anyhow::ensure!(
            !prepared.iter().any(|p| p.label == label),
            "two workloads are both called `{label}`: give one a `label`"
        );
        check_partitions(w, &label)?;
        prepared.push(Prepared {
            spec: w,
            label,
            code,
            deploy,
        });
    }
    let labels: Vec<String> = prepared.iter().map(|p| p.label.clone()).collect();
    for t in thresholds {
        t.check_names(&labels)?;
    }
    let data_root = crate::datasets::cache_root();
    for w in &spec.workloads {
        if let Some(set) = &w.dataset {
            set.prepare(&data_root)?;
        }
    }
    Ok(prepared)
}

/// `as = "python"` needs a stock OpenWhisk: the embedded platform runs components only,
/// and an HTTP target runs what it runs.
fn check_python_target(w: &WorkloadSpec, target: &TargetSpec) -> anyhow::Result<()> {
    match target {
        TargetSpec::Embedded { .. } => anyhow::bail!(
            "workload `{}`: `as = \"python\"` needs an OpenWhisk with a Python 3 runtime; the embedded platform runs components only (use `as = \"wasm\"`, or a target of kind `openwhisk` or `cluster`)",
            w.name
        ),
        TargetSpec::Http { .. } => anyhow::bail!(
            "workload `{}`: `as = \"python\"` means nothing to an http target, which runs no actions",
            w.name
        ),
        _ => Ok(()),
    }
}

/// The manifest and `python:3` zip of the Python workload `w` names, for `as =
/// "python"`: only a Python workload has one.
fn python_action(w: &WorkloadSpec, plugin_dirs: &[PathBuf]) -> anyhow::Result<(Manifest, Vec<u8>)> {
    let dir = match workloads::resolve(&w.name, plugin_dirs)? {
        owbench_plugin::catalog::Source::Dir(dir) => dir,
        owbench_plugin::catalog::Source::Builtin(_) => anyhow::bail!(
            "workload `{}`: `as = \"python\"` runs Python workloads only, and `{}` is built in (a Rust component)",
            w.name,
            w.name
        ),
    };
    crate::python::action_zip(&dir).with_context(|| format!("workload `{}`", w.name))
}

/// The loopback object endpoint, if a workload reads generated objects or a data set.
pub async fn object_server(spec: &Spec) -> anyhow::Result<Option<ObjectServer>> {
    let datasets = spec.workloads.iter().any(|w| w.dataset.is_some());
    if !datasets && !spec.workloads.iter().any(|w| uses_objects(&w.params)) {
        return Ok(None);
    }
    let files = datasets.then(crate::datasets::cache_root);
    ObjectServer::start_with_files(files)
        .await
        .map(Some)
        .context("cannot start the object endpoint")
}

fn uses_objects(params: &Map<String, Value>) -> bool {
    params.values().any(|v| object_size(v).is_some())
}

/// `"{{ object BYTES }}"` → BYTES.
fn object_size(v: &Value) -> Option<u64> {
    crate::specfile::template_arg(v, "object")?.parse().ok()
}

/// The parameters of each invocation: one map, or one per partition of the dataset
/// (invocation `seq` gets `params[seq % len]`).
pub fn resolve_params(w: &WorkloadSpec, objects: Option<&ObjectServer>) -> Vec<Map<String, Value>> {
    let mut base = w.params.clone();
    for (k, v) in &w.params {
        if let (Some(bytes), Some(objects)) = (object_size(v), objects) {
            base.insert(k.clone(), json!(objects.url(bytes, 1)));
            base.entry("expect_sha256")
                .or_insert_with(|| json!(sha256_of(bytes, 1)));
        }
    }
    let (Some(set), Some(objects)) = (&w.dataset, objects) else {
        return vec![base];
    };
    (0..set.partitions())
        .map(|i| {
            let mut params = base.clone();
            for (k, v) in &w.params {
                if let Some(table) = crate::datasets::partition_placeholder(v) {
                    params.insert(k.clone(), json!(objects.file_url(&set.file(table, i))));
                }
            }
            params
        })
        .collect()
}

/// The dataset's values are valid, and a `"{{ partition TABLE }}"` parameter needs a
/// dataset that has TABLE (checked for every workload before any data set is made).
fn check_partitions(w: &WorkloadSpec, label: &str) -> anyhow::Result<()> {
    if let Some(set) = &w.dataset {
        set.validate()
            .with_context(|| format!("workload `{label}`"))?;
    }
    for (k, v) in &w.params {
        let Some(table) = crate::datasets::partition_placeholder(v) else {
            continue;
        };
        match &w.dataset {
            None => anyhow::bail!(
                "workload `{label}`: parameter `{k}` reads a partition but the workload has no [workload.dataset]"
            ),
            Some(set) if !set.has_table(table) => anyhow::bail!(
                "workload `{label}`: parameter `{k}`: dataset {} has no table `{table}`",
                set.name()
            ),
            Some(_) => {}
        }
    }
    Ok(())
}
