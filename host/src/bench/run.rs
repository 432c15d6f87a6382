//! Running an experiment: start the target (or check it), deploy the workloads, drive
//! each with its load plan, stream rows, and write `summary.json` and the table.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use bytes::Bytes;
use rand::Rng;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::progress::{View, show_progress};
use super::spec::{Retry, Spec, TargetSpec, WorkloadSpec};
use crate::client::{ActivationTimes, Client, Invoked, Outcome, Target};
use crate::engine::PluginEngine;
use crate::load::http::FastClient;
use crate::load::sink::Sink;
use crate::load::{InvokeFn, LoadPlan, Progress, RowTag, drive};
use crate::manifest::Manifest;
use crate::objects::{ObjectServer, sha256_of};
use crate::platform::{GUEST_KEY, Platform, PlatformConfig, Server, serve};
use crate::results::history::History;
use crate::results::summary::{Ending, Machine, Meta, MetaFile, Status, Summary, WorkloadMeta};
use crate::results::threshold::Threshold;
use crate::results::{self, ROWS_FILE};
use crate::workloads;

/// Where a finished experiment put its results.
#[derive(Debug)]
pub struct Finished {
    /// The results directory.
    pub dir: PathBuf,
    /// The summary document.
    pub summary: Summary,
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
            Some(workloads::component(&workloads::resolve(
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
    let (target, server) = start_target(&spec.target, engine, scratch.path()).await?;
    let timeout = Duration::from_secs_f64(spec.request_timeout_s);
    let max_in_flight = spec
        .workloads
        .iter()
        .map(|w| w.max_in_flight.unwrap_or(spec.max_in_flight))
        .max()
        .unwrap_or(1);
    // The target must answer and accept the key before any results directory exists.
    let client = match &target {
        BenchTarget::OpenWhisk(t) => {
            let client = Client::new(t.clone(), max_in_flight, timeout)?;
            if let Err(e) = client.check().await {
                if let Some(server) = server {
                    server.stop().await;
                }
                return Err(e);
            }
            Some(client)
        }
        BenchTarget::Http(_) => None,
    };
    let dir = results_dir(&spec.output, &spec.name, started_wall)?;
    let spec_text = toml::to_string_pretty(spec)?;
    std::fs::write(dir.join("spec.toml"), &spec_text).context("cannot write spec.toml")?;

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nowbench: stopping (Ctrl-C); waiting for invocations in flight");
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
            target: target_description(&target, &spec.target),
            blocking: spec.blocking,
            started_ms: crate::platform::record::epoch_ms(started_wall),
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
            let reduction = w.dataset.as_ref().and_then(|set| {
                Some(Reduction {
                    reduce: workloads::reducer(&w.name)?,
                    collected: Collector::default(),
                    partitions: set.partitions(),
                })
            });
            let invoke = match (&target, &client) {
                (BenchTarget::OpenWhisk(_), Some(client)) => {
                    if let Some((manifest, bytes)) = component {
                        deploy(client, &action, manifest, bytes, w).await?;
                    }
                    openwhisk_invoker(
                        client.clone(),
                        action.clone(),
                        &params,
                        spec.blocking,
                        spec.retry,
                        reduction.as_ref().map(|r| r.collected.clone()),
                    )
                }
                (BenchTarget::Http(url), _) => http_invoker(url.clone(), max_in_flight, timeout)?,
                _ => unreachable!("a client exists for OpenWhisk targets"),
            };
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
                    answers.push(r.answer(run, label));
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
    if let Some(server) = server {
        server.stop().await;
    }
    result?;
    let series = crate::results::series::compute(&dir.join(ROWS_FILE), &stats)?;
    let summary = crate::results::summary::build(
        meta,
        &stats,
        series,
        Ending {
            ended_ms: crate::platform::record::epoch_ms(SystemTime::now()),
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
        for a in &answers {
            eprintln!(
                "{} (run {}): answer over {} of {} partitions in answers.json{}",
                a["workload"].as_str().unwrap_or_default(),
                a["run"].as_u64().unwrap_or(0) + 1,
                a["partitions_covered"],
                a["partitions"],
                a["error"]
                    .as_str()
                    .map_or(String::new(), |e| format!(" (reduce failed: {e})"))
            );
        }
    }
    if let (Some(h), Some(id)) = (history, summary.meta.id)
        && let Err(e) = h.finish(id, &summary)
    {
        eprintln!("owbench: warning: {e:#} (the results directory has everything)");
    }
    print!("{}", results::report::text(&summary));
    Ok(Finished {
        dir,
        summary,
        interrupted,
    })
}

enum BenchTarget {
    OpenWhisk(Target),
    Http(String),
}

fn target_description(t: &BenchTarget, spec: &TargetSpec) -> Value {
    let kind = match spec {
        TargetSpec::Embedded { .. } => "embedded",
        _ => "openwhisk",
    };
    match t {
        BenchTarget::OpenWhisk(t) => {
            json!({"kind": kind, "apihost": t.apihost, "namespace": t.namespace})
        }
        BenchTarget::Http(url) => json!({"kind": "http", "url": url}),
    }
}

async fn start_target(
    spec: &TargetSpec,
    engine: Arc<PluginEngine>,
    scratch: &Path,
) -> anyhow::Result<(BenchTarget, Option<Server>)> {
    Ok(match spec {
        TargetSpec::Embedded {
            user_memory_mb,
            keep_alive_s,
        } => {
            let mut config = PlatformConfig::new(scratch.join("platform.sqlite"));
            if let Some(mb) = user_memory_mb {
                config.user_memory_mb = *mb;
            }
            if let Some(s) = keep_alive_s {
                config.keep_alive = Duration::from_secs(*s);
            }
            let platform = Arc::new(Platform::new(config, engine)?);
            let server = serve(platform, "127.0.0.1:0".parse().expect("valid address")).await?;
            let target = Target {
                apihost: server.url(),
                auth: GUEST_KEY.into(),
                namespace: "_".into(),
                insecure: false,
            };
            (BenchTarget::OpenWhisk(target), Some(server))
        }
        TargetSpec::Openwhisk {
            apihost,
            auth,
            namespace,
            insecure,
            wskprops,
        } => {
            let target = Target::resolve(
                apihost.as_deref(),
                auth.as_deref(),
                namespace.as_deref(),
                *insecure,
                wskprops.as_deref(),
            )?;
            (BenchTarget::OpenWhisk(target), None)
        }
        TargetSpec::Http { url } => (BenchTarget::Http(url.clone()), None),
    })
}

async fn deploy(
    client: &Client,
    action: &str,
    manifest: &Manifest,
    bytes: &[u8],
    w: &WorkloadSpec,
) -> anyhow::Result<()> {
    let hosts: Vec<String> = manifest
        .allowed_outbound_hosts
        .iter()
        .map(ToString::to_string)
        .collect();
    let annotations =
        json!([{"key": crate::platform::actions::OUTBOUND_ANNOTATION, "value": hosts}]);
    let memory = w.memory_mb.unwrap_or(manifest.memory_limit >> 20);
    let timeout = w
        .timeout_ms
        .unwrap_or(manifest.timeout.as_millis() as u64)
        .min(300_000);
    client
        .deploy(action, bytes, memory, timeout, annotations)
        .await
}

fn uses_objects(params: &Map<String, Value>) -> bool {
    params.values().any(|v| object_size(v).is_some())
}

/// `"{{ object BYTES }}"` → BYTES.
fn object_size(v: &Value) -> Option<u64> {
    super::spec::template_arg(v, "object")?.parse().ok()
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

/// Results of successful invocations, by schedule index, for a reducer.
type Collector = Arc<std::sync::Mutex<Vec<(u64, Value)>>>;

/// How a workload's partial results become one answer per repetition.
struct Reduction {
    reduce: workloads::Reducer,
    collected: Collector,
    partitions: u32,
}

impl Reduction {
    /// Reduce (and clear) what repetition `run` collected: the first result of each
    /// partition counts once.
    fn answer(&self, run: u32, label: &str) -> Value {
        let collected = std::mem::take(&mut *self.collected.lock().expect("not poisoned"));
        let mut by_partition: std::collections::BTreeMap<u64, Value> = Default::default();
        for (seq, result) in collected {
            by_partition
                .entry(seq % u64::from(self.partitions))
                .or_insert(result);
        }
        let covered = by_partition.len();
        let partials: Vec<Value> = by_partition.into_values().collect();
        let mut out = json!({
            "run": run, "workload": label,
            "partitions": self.partitions, "partitions_covered": covered,
            "complete": covered as u32 == self.partitions,
        });
        match (self.reduce)(&partials) {
            Ok(answer) => out["answer"] = answer,
            Err(e) => out["error"] = json!(e),
        }
        out
    }
}

fn openwhisk_invoker(
    client: Client,
    action: String,
    params: &[Map<String, Value>],
    blocking: bool,
    retry: Retry,
    collector: Option<Collector>,
) -> InvokeFn {
    let bodies: Arc<[Bytes]> = params
        .iter()
        .map(|p| Bytes::from(Value::Object(p.clone()).to_string()))
        .collect();
    let action: Arc<str> = action.into();
    Arc::new(move |seq| {
        let client = client.clone();
        let body = bodies[(seq % bodies.len() as u64) as usize].clone();
        let action = action.clone();
        let collector = collector.clone();
        Box::pin(async move {
            let mut attempt = 0;
            let mut invoked = loop {
                let invoked = client.invoke(&action, body.clone(), blocking).await;
                if invoked.outcome != Outcome::Throttled || attempt >= retry.max {
                    break invoked;
                }
                let base = retry.backoff_ms.saturating_mul(1 << attempt.min(16));
                let jitter = rand::rng().random_range(0..=base / 2 + 1);
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
                attempt += 1;
            };
            if invoked.outcome == Outcome::Accepted
                && let Some(id) = invoked.activation_id.clone()
            {
                complete_from_record(&client, &id, &mut invoked).await;
            }
            if let (Some(c), Some(result)) = (&collector, invoked.result.take()) {
                c.lock().expect("not poisoned").push((seq, result));
            }
            invoked
        })
    })
}

/// After a 202, the activation's record gives its times and how it really ended.
async fn complete_from_record(client: &Client, id: &str, invoked: &mut Invoked) {
    match client.activation(id, Duration::from_secs(300)).await {
        Ok(record) => {
            invoked.times = ActivationTimes::from_record(&record);
            invoked.outcome = match record.pointer("/response/status").and_then(Value::as_str) {
                Some("success") => Outcome::Ok,
                Some("application error") => Outcome::ApplicationError,
                Some("action developer error") => Outcome::DeveloperError,
                _ => Outcome::ServerError,
            };
            if invoked.outcome == Outcome::Ok {
                invoked.result = record.pointer("/response/result").cloned();
            }
        }
        Err(e) => invoked.error = Some(e.to_string()),
    }
}

fn http_invoker(
    url: String,
    max_connections: usize,
    timeout: Duration,
) -> anyhow::Result<InvokeFn> {
    let uri: http::Uri = url
        .parse()
        .with_context(|| format!("bad target URL `{url}`"))?;
    if let Some(fast) = FastClient::new(&url, None, timeout) {
        let path: Arc<str> = uri.path_and_query().map_or("/", |p| p.as_str()).into();
        return Ok(Arc::new(move |_| {
            let fast = fast.clone();
            let path = path.clone();
            Box::pin(async move {
                match fast.send(http::Method::GET, &path, Bytes::new()).await {
                    Ok((status, _, _)) => http_outcome(status),
                    Err(e) => crate::client::fast_failure(e),
                }
            })
        }));
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_connections)
        .timeout(timeout)
        .tcp_nodelay(true)
        .build()?;
    let url: Arc<str> = url.into();
    Ok(Arc::new(move |_| {
        let http = http.clone();
        let url = url.clone();
        Box::pin(async move {
            match http.get(&*url).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    match r.bytes().await {
                        Ok(_) => http_outcome(status),
                        Err(e) => crate::client::transport_failure(&e),
                    }
                }
                Err(e) => crate::client::transport_failure(&e),
            }
        })
    }))
}

fn http_outcome(status: u16) -> Invoked {
    let outcome = match status {
        200..=299 => Outcome::Ok,
        429 => Outcome::Throttled,
        400..=499 => Outcome::ClientError,
        _ => Outcome::ServerError,
    };
    Invoked {
        outcome,
        status,
        activation_id: None,
        times: None,
        error: None,
        result: None,
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
