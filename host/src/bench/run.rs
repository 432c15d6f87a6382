//! Running an experiment: start the target (or check it), deploy the workloads, drive
//! each with its load plan, stream rows, and write `summary.json` and the table.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::progress::{View, show_progress};
use super::spec::{Spec, TargetSpec, WorkloadSpec};
use super::target::{self, Collector, Deployment, InvokeSettings};
use crate::load::sink::Sink;
use crate::load::{LoadPlan, Progress, RowTag, drive};
use crate::objects::{ObjectServer, sha256_of};
use crate::results::history::History;
use crate::results::summary::{Ending, Machine, Meta, MetaFile, Status, Summary, WorkloadMeta};
use crate::results::threshold::Threshold;
use crate::results::{self, ROWS_FILE};
use crate::workloads;
use owbench_plugin::{PluginEngine, WorkloadPlugin};

/// Where a finished experiment put its results.
#[derive(Debug)]
pub struct Finished {
    /// The results directory.
    pub dir: PathBuf,
    /// The summary document.
    pub summary: Summary,
    /// Each repetition's reduced answer of each reducing workload (`answers.json`).
    pub answers: Vec<Value>,
    /// Whether Ctrl-C cut it short.
    pub interrupted: bool,
}

/// Run `spec` (its text kept in the results), with plugins found on `plugin_dirs`,
/// recording it in `history` if given.
pub async fn run(
    spec: &Spec,
    engine: Arc<PluginEngine>,
    plugin_dirs: &[PathBuf],
    view: View,
    mut history: Option<&mut History>,
    thresholds: &[Threshold],
) -> anyhow::Result<Finished> {
    raise_fd_limit();
    let started_wall = SystemTime::now();

    // Resolve every workload before anything runs: a typo fails fast.
    let mut components = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for w in &spec.workloads {
        let component = if w.deploy && !matches!(spec.target, TargetSpec::Http { .. }) {
            Some(owbench_plugin::catalog::component(&workloads::resolve(
                &w.name,
                plugin_dirs,
            )?)?)
        } else {
            None
        };
        let label = w
            .label
            .clone()
            .or_else(|| component.as_ref().map(|(m, _)| m.name.clone()))
            .unwrap_or_else(|| w.name.clone());
        anyhow::ensure!(
            !labels.contains(&label),
            "two workloads are both called `{label}`: give one a `label`"
        );
        labels.push(label);
        components.push(component);
    }
    for t in thresholds {
        t.check_names(&labels)?;
    }
    for (w, label) in spec.workloads.iter().zip(&labels) {
        check_partitions(w, label)?;
    }
    let data_root = crate::datasets::cache_root();
    for w in &spec.workloads {
        if let Some(set) = &w.dataset {
            set.prepare(&data_root)?;
        }
    }

    let datasets = spec.workloads.iter().any(|w| w.dataset.is_some());
    let objects = if datasets || spec.workloads.iter().any(|w| uses_objects(&w.params)) {
        Some(
            ObjectServer::start_with_files(datasets.then(|| data_root.clone()))
                .await
                .context("cannot start the object endpoint")?,
        )
    } else {
        None
    };
    let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
    let settings = InvokeSettings {
        blocking: spec.blocking,
        retry: spec.retry,
        max_in_flight: spec
            .workloads
            .iter()
            .map(|w| w.max_in_flight.unwrap_or(spec.max_in_flight))
            .max()
            .unwrap_or(1),
        timeout: Duration::from_secs_f64(spec.request_timeout_s),
    };
    // The target answers and accepts the key before any results directory exists.
    let target = target::start(&spec.target, engine.clone(), scratch.path(), settings).await?;
    let dir = results_dir(&spec.output, &spec.name, started_wall)?;
    let spec_text = toml::to_string_pretty(spec)?;
    std::fs::write(dir.join("spec.toml"), &spec_text).context("cannot write spec.toml")?;

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("stopping (Ctrl-C); waiting for invocations in flight");
            let _ = stop_tx.send(true);
        }
    });

    let sink = Sink::create(&dir.join(ROWS_FILE)).context("cannot create rows.jsonl")?;
    let live = sink.live();
    let mut interrupted = false;
    let mut abandoned = 0;
    let mut answers: Vec<Value> = Vec::new();
    let mut meta = MetaFile {
        meta: Meta {
            id: None,
            name: spec.name.clone(),
            runs: spec.runs,
            target: target.describe(),
            blocking: spec.blocking,
            started_ms: owbench_openwhisk::activation::epoch_ms(started_wall),
            owbench_version: env!("CARGO_PKG_VERSION").into(),
            machine: Machine::this(),
            spec: spec_text,
        },
        workloads: Vec::new(),
    };
    let result: anyhow::Result<()> = async {
        // Deploy every workload, then repeat the whole experiment `runs` times.
        let mut plans = Vec::new();
        for ((w, component), label) in spec.workloads.iter().zip(&components).zip(&labels) {
            let action = w
                .action
                .clone()
                .unwrap_or_else(|| format!("owbench-{label}"));
            let params = resolve_params(w, objects.as_ref());
            let reduction = match &w.dataset {
                Some(set) => Reduction::of(&engine, &w.name, plugin_dirs, set.partitions()).await?,
                None => None,
            };
            if let Some((manifest, component)) = component {
                target
                    .deploy(Deployment {
                        action: &action,
                        manifest,
                        component,
                        memory_mb: w.memory_mb,
                        timeout_ms: w.timeout_ms,
                    })
                    .await?;
            }
            let collector = reduction.as_ref().map(|r| r.collected.clone());
            let invoke = target.invoker(&action, &params, collector)?;
            let plan = LoadPlan {
                model: w.load.clone().unwrap_or_else(|| spec.load.clone()),
                count: w.count.or(spec.count),
                duration: w
                    .duration_s
                    .or(spec.duration_s)
                    .map(Duration::from_secs_f64),
                warmup: w.warmup.unwrap_or(spec.warmup),
                max_in_flight: w.max_in_flight.unwrap_or(spec.max_in_flight),
            };
            meta.workloads.push(WorkloadMeta {
                name: label.clone(),
                action: action.clone(),
                params: if params.len() == 1 {
                    Value::Object(params[0].clone())
                } else {
                    json!({"template": w.params, "dataset": w.dataset})
                },
                load: serde_json::to_value(&plan.model)?,
                component_sha256: component
                    .as_ref()
                    .map(|(_, b)| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b))),
            });
            plans.push((label.clone(), plan, invoke, reduction));
        }
        if let Some(h) = history.as_deref_mut() {
            meta.meta.id = Some(h.begin(&meta.meta, &dir)?);
        }
        results::write_meta(&dir, &meta)?;
        for run in 0..spec.runs {
            for (label, plan, invoke, reduction) in &plans {
                let progress = Arc::new(Progress::default());
                let tag = RowTag {
                    run,
                    workload: label.clone(),
                };
                let display =
                    show_progress(view, &tag, spec.runs, plan, progress.clone(), live.clone());
                let report = drive(
                    plan,
                    invoke.clone(),
                    tag,
                    sink.sender(),
                    stop_rx.clone(),
                    Duration::from_secs_f64(spec.grace_s),
                    progress,
                )
                .await;
                if let Some(display) = display {
                    display.finish().await;
                }
                abandoned += report.abandoned;
                if let Some(r) = reduction {
                    answers.push(r.answer(&engine, run, label).await);
                }
                if report.interrupted {
                    interrupted = true;
                    return Ok(());
                }
            }
        }
        Ok(())
    }
    .await;

    // Whatever happened, every row recorded so far is written before anything else.
    let stats = sink.finish().context("cannot write rows.jsonl")?;
    target.stop().await;
    result?;
    let series = crate::results::series::compute(&dir.join(ROWS_FILE), &stats)?;
    let summary = crate::results::summary::build(
        meta,
        &stats,
        series,
        Ending {
            ended_ms: owbench_openwhisk::activation::epoch_ms(SystemTime::now()),
            status: if interrupted {
                Status::Interrupted
            } else {
                Status::Complete
            },
            abandoned,
            damaged_rows: 0,
        },
    );
    results::write_outputs(&dir, &summary)?;
    if !answers.is_empty() {
        std::fs::write(
            dir.join("answers.json"),
            serde_json::to_string_pretty(&answers)?,
        )
        .context("cannot write answers.json")?;
    }
    if let (Some(h), Some(id)) = (history, summary.meta.id)
        && let Err(e) = h.finish(id, &summary)
    {
        tracing::warn!("{e:#} (the results directory has everything)");
    }
    Ok(Finished {
        dir,
        summary,
        answers,
        interrupted,
    })
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
fn resolve_params(w: &WorkloadSpec, objects: Option<&ObjectServer>) -> Vec<Map<String, Value>> {
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

/// How a workload's partial results become one answer per repetition: with the
/// plugin's own `reduce`.
struct Reduction {
    plugin: WorkloadPlugin,
    collected: Collector,
    partitions: u32,
}

impl Reduction {
    /// The reduction of workload `name` over `partitions`, if its plugin reduces.
    async fn of(
        engine: &PluginEngine,
        name: &str,
        plugin_dirs: &[PathBuf],
        partitions: u32,
    ) -> anyhow::Result<Option<Reduction>> {
        let plugin = workloads::load(engine, &workloads::resolve(name, plugin_dirs)?).await?;
        Ok(plugin.reduces().then(|| Reduction {
            plugin,
            collected: Collector::default(),
            partitions,
        }))
    }

    /// Reduce (and clear) what repetition `run` collected: the first result of each
    /// partition counts once.
    async fn answer(&self, engine: &PluginEngine, run: u32, label: &str) -> Value {
        let collected = std::mem::take(&mut *self.collected.lock().expect("not poisoned"));
        let mut by_partition: std::collections::BTreeMap<u64, Value> = Default::default();
        for (seq, result) in collected {
            by_partition
                .entry(seq % u64::from(self.partitions))
                .or_insert(result);
        }
        let covered = by_partition.len();
        let partials: Vec<String> = by_partition.into_values().map(|v| v.to_string()).collect();
        let mut out = json!({
            "run": run, "workload": label,
            "partitions": self.partitions, "partitions_covered": covered,
            "complete": covered as u32 == self.partitions,
        });
        match self.plugin.reduce(engine, &partials).await {
            Ok(answer) => out["answer"] = serde_json::from_str(&answer).unwrap_or(json!(answer)),
            Err(e) => out["error"] = json!(e.to_string()),
        }
        out
    }
}

/// `<output>/<name>-<UTC time>`, created.
fn results_dir(output: &Path, name: &str, at: SystemTime) -> anyhow::Result<PathBuf> {
    let stamp = humantime::format_rfc3339_seconds(at)
        .to_string()
        .replace([':', '-'], "")
        .trim_end_matches('Z')
        .to_owned();
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut dir = output.join(format!("{safe}-{stamp}"));
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = output.join(format!("{safe}-{stamp}-{n}"));
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the results directory {}", dir.display()))?;
    Ok(dir)
}

/// Raise the open-files limit to its hard maximum: a thousand invocations at once need
/// a thousand connections (and the embedded platform as many again).
fn raise_fd_limit() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
}
