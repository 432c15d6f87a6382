//! Running an experiment, in stages: prepare (resolve and check every workload, make
//! data sets), start the target, deploy, drive each workload with its load plan in each
//! repetition while rows stream to disk, and finish (summary, outputs, history).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::prepare::{self, Prepared};
use super::reduce::Reduction;
use super::report::{DriveView, Reporter};
use super::spec::{RunAs, Spec};
use super::target::{self, BenchTarget, Deployment, InvokeSettings};
use crate::load::sink::Sink;
use crate::load::summary::StatsByRun;
use crate::load::{InvokeFn, LoadPlan, Progress, RowTag, drive};
use crate::objects::ObjectServer;
use crate::results::history::History;
use crate::results::summary::{Ending, Machine, Meta, MetaFile, Status, Summary, WorkloadMeta};
use crate::results::threshold::Threshold;
use crate::results::{self, ROWS_FILE};
use owbench_plugin::PluginEngine;

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
/// telling `reporter` how it goes, recording it in `history` if given.
pub async fn run(
    spec: &Spec,
    engine: Arc<PluginEngine>,
    plugin_dirs: &[PathBuf],
    reporter: Arc<dyn Reporter>,
    mut history: Option<&mut History>,
    thresholds: &[Threshold],
) -> anyhow::Result<Finished> {
    raise_fd_limit();
    let started_wall = SystemTime::now();
    let workloads = prepare::prepare(spec, plugin_dirs, thresholds)?;
    let objects = prepare::object_server(spec).await?;
    let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
    // The target answers and accepts the key before any results directory exists.
    let target = target::start(
        &spec.target,
        engine.clone(),
        scratch.path(),
        invoke_settings(spec),
    )
    .await?;
    let dir = results_dir(&spec.output, &spec.name, started_wall)?;
    let spec_text = toml::to_string_pretty(spec)?;
    std::fs::write(dir.join("spec.toml"), &spec_text).context("cannot write spec.toml")?;
    let stop = stop_on_ctrl_c(reporter.clone());
    let sink = Sink::create(&dir.join(ROWS_FILE)).context("cannot create rows.jsonl")?;
    let mut meta = meta_file(spec, target.as_ref(), started_wall, spec_text);
    let mut driven = Driven::default();
    let result: anyhow::Result<()> = async {
        let drives = deploy(
            &workloads,
            target.as_ref(),
            &engine,
            objects.as_ref(),
            spec,
            &mut meta,
        )
        .await?;
        if let Some(h) = history.as_deref_mut() {
            meta.meta.id = Some(h.begin(&meta.meta, &dir)?);
        }
        results::write_meta(&dir, &meta)?;
        let ctx = DriveContext {
            spec,
            engine: &engine,
            sink: &sink,
            stop,
            reporter: reporter.as_ref(),
        };
        ctx.drive_all(&drives, &mut driven).await;
        Ok(())
    }
    .await;

    // Whatever happened, every row recorded so far is written before anything else.
    let stats = sink.finish().context("cannot write rows.jsonl")?;
    target.stop().await;
    result?;
    finish(dir, meta, &stats, driven, history, reporter.as_ref())
}

/// How invocations reach the target: the spec's blocking mode, retries, largest
/// in-flight count and request timeout.
fn invoke_settings(spec: &Spec) -> InvokeSettings {
    InvokeSettings {
        blocking: spec.blocking,
        retry: spec.retry,
        max_in_flight: spec
            .workloads
            .iter()
            .map(|w| w.max_in_flight.unwrap_or(spec.max_in_flight))
            .max()
            .unwrap_or(1),
        timeout: Duration::from_secs_f64(spec.request_timeout_s),
    }
}

/// A watch that turns true on the first Ctrl-C; its task ends with the run (when the
/// watch is dropped), so a later Ctrl-C is not this run's.
fn stop_on_ctrl_c(reporter: Arc<dyn Reporter>) -> watch::Receiver<bool> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            signal = tokio::signal::ctrl_c() => {
                if signal.is_ok() {
                    reporter.notice("stopping (Ctrl-C); waiting for invocations in flight");
                    let _ = stop_tx.send(true);
                }
            }
            () = stop_tx.closed() => {}
        }
    });
    stop_rx
}

/// The experiment's metadata, before any workload is deployed.
fn meta_file(
    spec: &Spec,
    target: &dyn BenchTarget,
    started: SystemTime,
    spec_text: String,
) -> MetaFile {
    MetaFile {
        meta: Meta {
            id: None,
            name: spec.name.clone(),
            runs: spec.runs,
            target: target.describe(),
            blocking: spec.blocking,
            started_ms: owbench_openwhisk::activation::epoch_ms(started),
            owbench_version: env!("CARGO_PKG_VERSION").into(),
            machine: Machine::this(),
            spec: spec_text,
        },
        workloads: Vec::new(),
    }
}

/// One workload, deployed: what to drive and how.
struct Drive {
    label: String,
    plan: LoadPlan,
    invoke: InvokeFn,
    reduction: Option<Reduction>,
}

/// Whether some invocation's parameters name a URL of the object endpoint `objects`.
fn reads_from(params: &[Map<String, Value>], objects: &ObjectServer) -> bool {
    let origin = format!("{}/", objects.origin());
    params
        .iter()
        .flat_map(|p| p.values())
        .any(|v| v.as_str().is_some_and(|s| s.starts_with(&origin)))
}

/// Deploy every workload (when the target takes deployments) and make its invoker and
/// load plan; record each in `meta`.
async fn deploy(
    workloads: &[Prepared<'_>],
    target: &dyn BenchTarget,
    engine: &PluginEngine,
    objects: Option<&ObjectServer>,
    spec: &Spec,
    meta: &mut MetaFile,
) -> anyhow::Result<Vec<Drive>> {
    let mut drives = Vec::new();
    for Prepared {
        spec: w,
        label,
        code,
        deploy,
    } in workloads
    {
        let action = w
            .action
            .clone()
            .unwrap_or_else(|| format!("owbench-{label}"));
        let params = prepare::resolve_params(w, objects);
        let reduction = match (&w.dataset, code) {
            (Some(set), Some((manifest, bytes))) if w.run_as == RunAs::Wasm => {
                Reduction::of(engine, (manifest.clone(), bytes), set.partitions()).await?
            }
            _ => None,
        };
        let mut kind = None;
        if *deploy && let Some((manifest, code)) = code {
            let deployed = target
                .deploy(Deployment {
                    action: &action,
                    manifest,
                    code,
                    run_as: w.run_as,
                    memory_mb: w.memory_mb,
                    timeout_ms: w.timeout_ms,
                    granted_hosts: objects
                        .filter(|o| reads_from(&params, o))
                        .map(|o| vec![o.origin()])
                        .unwrap_or_default(),
                })
                .await?;
            kind = Some(deployed);
        }
        let invoke = target.invoker(
            &action,
            &params,
            reduction.as_ref().map(Reduction::collector),
        )?;
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
            action,
            params: if params.len() == 1 {
                Value::Object(params[0].clone())
            } else {
                json!({"template": w.params, "dataset": w.dataset})
            },
            load: serde_json::to_value(&plan.model)?,
            kind,
            component_sha256: code
                .as_ref()
                .filter(|_| *deploy)
                .map(|(_, b)| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b))),
        });
        drives.push(Drive {
            label: label.clone(),
            plan,
            invoke,
            reduction,
        });
    }
    Ok(drives)
}

/// What driving the workloads produced besides rows.
#[derive(Default)]
struct Driven {
    answers: Vec<Value>,
    abandoned: u64,
    interrupted: bool,
}

/// What every drive of an experiment shares.
struct DriveContext<'a> {
    spec: &'a Spec,
    engine: &'a PluginEngine,
    sink: &'a Sink,
    stop: watch::Receiver<bool>,
    reporter: &'a dyn Reporter,
}

impl DriveContext<'_> {
    /// Drive every workload in every repetition, in spec order, until done or stopped.
    async fn drive_all(&self, drives: &[Drive], driven: &mut Driven) {
        for run in 0..self.spec.runs {
            for d in drives {
                let progress = Arc::new(Progress::default());
                let tag = RowTag {
                    run,
                    workload: d.label.clone(),
                };
                let display = self.reporter.drive(DriveView {
                    tag: tag.clone(),
                    runs: self.spec.runs,
                    count: d.plan.count,
                    progress: progress.clone(),
                    live: self.sink.live(),
                });
                let report = drive(
                    &d.plan,
                    d.invoke.clone(),
                    tag,
                    self.sink.sender(),
                    self.stop.clone(),
                    Duration::from_secs_f64(self.spec.grace_s),
                    progress,
                )
                .await;
                if let Some(display) = display {
                    display.finish().await;
                }
                driven.abandoned += report.abandoned;
                if let Some(r) = &d.reduction {
                    driven
                        .answers
                        .push(r.answer(self.engine, run, &d.label).await);
                }
                if report.interrupted {
                    driven.interrupted = true;
                    return;
                }
            }
        }
    }
}

/// The last stage: the summary from the rows, the outputs beside them, the answers,
/// and the history entry completed.
fn finish(
    dir: PathBuf,
    meta: MetaFile,
    stats: &StatsByRun,
    driven: Driven,
    history: Option<&mut History>,
    reporter: &dyn Reporter,
) -> anyhow::Result<Finished> {
    let series = crate::results::series::compute(&dir.join(ROWS_FILE), stats)?;
    let summary = crate::results::summary::build(
        meta,
        stats,
        series,
        Ending {
            ended_ms: owbench_openwhisk::activation::epoch_ms(SystemTime::now()),
            status: if driven.interrupted {
                Status::Interrupted
            } else {
                Status::Complete
            },
            abandoned: driven.abandoned,
            damaged_rows: 0,
        },
    );
    results::write_outputs(&dir, &summary)?;
    if !driven.answers.is_empty() {
        std::fs::write(
            dir.join("answers.json"),
            serde_json::to_string_pretty(&driven.answers)?,
        )
        .context("cannot write answers.json")?;
    }
    if let (Some(h), Some(id)) = (history, summary.meta.id)
        && let Err(e) = h.finish(id, &summary)
    {
        reporter.notice(&format!(
            "warning: {e:#} (the results directory has everything)"
        ));
    }
    Ok(Finished {
        dir,
        summary,
        answers: driven.answers,
        interrupted: driven.interrupted,
    })
}

/// `<output>/<name>-<UTC time>`, created.
pub(crate) fn results_dir(output: &Path, name: &str, at: SystemTime) -> anyhow::Result<PathBuf> {
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
