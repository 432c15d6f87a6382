//! The systems a benchmark runs against, behind one trait: the embedded platform, an
//! OpenWhisk reached by its REST API, and any HTTP URL. A new kind of target (a cluster
//! an installer made) is one more implementation of [`BenchTarget`] and one arm in
//! [`start`].

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use backon::{ExponentialBuilder, Retryable as _};
use base64::Engine as _;
use bytes::Bytes;
use owbench_openwhisk::action::RUNTIME_IMAGE;
use owbench_openwhisk::info::{Runner, SystemInfo};
use owbench_openwhisk::{Exec, KeyValue};
use owbench_plugin::PluginEngine;
use owbench_plugin::manifest::Manifest;
use serde_json::{Map, Value, json};

use super::spec::{Retry, RunAs, TargetSpec};
use crate::client::{Client, Target};
use crate::load::InvokeFn;
use crate::load::http::FastClient;
use crate::load::outcome::{Invoked, Outcome, fast_failure};
use crate::platform::{GUEST_KEY, Platform, PlatformConfig, Server, serve};

/// A boxed future, so that [`BenchTarget`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Results of successful invocations, by schedule index, for a reducer.
pub type Collector = Arc<std::sync::Mutex<Vec<(u64, Value)>>>;

/// How invocations are sent, whatever the target.
#[derive(Debug, Clone, Copy)]
pub struct InvokeSettings {
    /// Blocking invokes (`false`: 202, then the record is fetched by id).
    pub blocking: bool,
    /// How throttled invocations are retried.
    pub retry: Retry,
    /// Most invocations out at once (the connection pool's size).
    pub max_in_flight: usize,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// A workload to deploy as an action.
pub struct Deployment<'a> {
    /// The action's name.
    pub action: &'a str,
    /// The plugin's manifest (its hosts and default limits).
    pub manifest: &'a Manifest,
    /// What it runs: the component, or with [`RunAs::Python`] the `python:3` zip.
    pub code: &'a [u8],
    /// How it runs.
    pub run_as: RunAs,
    /// The spec's memory limit, MB, over the manifest's.
    pub memory_mb: Option<u64>,
    /// The spec's time limit, ms, over the manifest's.
    pub timeout_ms: Option<u64>,
    /// Origins the action may reach besides the manifest's hosts, each named literally
    /// (the loopback object endpoint this run started, granted for this run only).
    pub granted_hosts: Vec<String>,
}

/// A system under test: started (and checked) by [`start`], given workloads to deploy,
/// driven through the invokers it makes, and stopped at the end.
pub trait BenchTarget: Send + Sync {
    /// What the results record about the target (`kind` and where it is).
    fn describe(&self) -> Value;

    /// Whether workloads are deployed to it (an HTTP URL runs what it runs).
    fn deploys(&self) -> bool;

    /// Create or replace the action `d.action` running `d.code`; the kind it was
    /// deployed as (`wasm`, `blackbox`, `python:3`).
    fn deploy<'a>(&'a self, d: Deployment<'a>) -> BoxFuture<'a, anyhow::Result<String>>;

    /// The function the load engine calls once per invocation of `action`; invocation
    /// `seq` gets `params[seq % params.len()]`. Successful results go to `collector`.
    fn invoker(
        &self,
        action: &str,
        params: &[Map<String, Value>],
        collector: Option<Collector>,
    ) -> anyhow::Result<InvokeFn>;

    /// Stop what [`start`] started for it.
    fn stop(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// Start the target `spec` describes (the embedded platform runs on a loopback port,
/// its database in `scratch`), and check that it answers and accepts the key: before
/// this returns, no results directory exists.
pub async fn start(
    spec: &TargetSpec,
    engine: Arc<PluginEngine>,
    scratch: &Path,
    settings: InvokeSettings,
) -> anyhow::Result<Box<dyn BenchTarget>> {
    match spec {
        TargetSpec::Embedded {
            user_memory_mb,
            keep_alive_s,
            containers,
        } => {
            let mut config = PlatformConfig::new(scratch.join("platform.sqlite"));
            if let Some(mb) = user_memory_mb {
                config.user_memory_mb = *mb;
            }
            if let Some(s) = keep_alive_s {
                config.keep_alive = Duration::from_secs(*s);
            }
            config.containers = *containers;
            let platform = Arc::new(Platform::new(config, engine)?);
            let server = serve(
                platform,
                "127.0.0.1:0".parse().expect("valid address"),
                None,
            )
            .await?;
            let target = Target {
                apihost: server.url(),
                auth: GUEST_KEY.into(),
                namespace: "_".into(),
                insecure: false,
                pinned_cert: None,
            };
            match OpenWhisk::connect(target, "embedded", settings, &default_runtime_image(), None)
                .await
            {
                Ok(openwhisk) => Ok(Box::new(Embedded { server, openwhisk })),
                Err(e) => {
                    server.stop().await;
                    Err(e)
                }
            }
        }
        TargetSpec::Openwhisk {
            apihost,
            auth,
            namespace,
            insecure,
            wskprops,
            runtime_image,
        } => {
            let target = Target::resolve(
                apihost.as_deref(),
                auth.as_deref(),
                namespace.as_deref(),
                *insecure,
                wskprops.as_deref(),
            )?;
            let image = runtime_image.clone().unwrap_or_else(default_runtime_image);
            Ok(Box::new(
                OpenWhisk::connect(target, "openwhisk", settings, &image, None).await?,
            ))
        }
        TargetSpec::Cluster { id, state_dir } => {
            let (target, cluster) = cluster_target(id, state_dir.as_deref())?;
            let image = default_runtime_image();
            Ok(Box::new(
                OpenWhisk::connect(target, "cluster", settings, &image, Some(cluster)).await?,
            ))
        }
        TargetSpec::Http { url } => Ok(Box::new(Http {
            url: url.clone(),
            settings,
        })),
    }
}

/// Where and as whom to reach the OpenWhisk of cluster `id` (state in `state_dir`, or
/// `owbench cluster`'s directory), with its certificate pinned; and the cluster as the
/// results record it.
pub fn cluster_target(id: &str, state_dir: Option<&Path>) -> anyhow::Result<(Target, Value)> {
    use crate::cluster::state::{self, StateStore};
    let store = StateStore::new(state_dir.map_or_else(state::default_dir, Path::to_path_buf));
    let cluster = store.load(id)?;
    let outputs = cluster.ready_outputs()?;
    let target = Target {
        apihost: outputs.api_host.clone(),
        auth: outputs.auth.clone(),
        namespace: outputs.namespace.clone(),
        insecure: false,
        pinned_cert: Some(outputs.tls_cert.clone()),
    };
    Ok((target, crate::results::platform::cluster(&cluster)))
}

/// An OpenWhisk reached by its REST API.
pub struct OpenWhisk {
    client: Client,
    kind: &'static str,
    settings: InvokeSettings,
    /// How workloads run there: its `wasm` kind, or blackbox actions with our image.
    runner: Runner,
    /// What it says about itself (its runtimes, build and limits).
    info: SystemInfo,
    /// The cluster owbench made it on, as the results record it.
    cluster: Option<Value>,
}

/// owbench's action runtime image of this version.
pub fn default_runtime_image() -> String {
    format!("{RUNTIME_IMAGE}:{}", env!("CARGO_PKG_VERSION"))
}

impl OpenWhisk {
    /// A client for `target`, checked: it answers and accepts the key; how workloads
    /// run there is read from its `GET /` (blackbox actions run `image`). `cluster`:
    /// the cluster it runs on, when owbench made it.
    async fn connect(
        target: Target,
        kind: &'static str,
        settings: InvokeSettings,
        image: &str,
        cluster: Option<Value>,
    ) -> anyhow::Result<OpenWhisk> {
        let client = Client::new(target, settings.max_in_flight, settings.timeout)?;
        client.check().await?;
        let info = client.system_info().await?;
        Ok(OpenWhisk {
            client,
            kind,
            settings,
            runner: info.runner(image),
            info,
            cluster,
        })
    }
}

impl OpenWhisk {
    /// The `exec` of the action of `d`: the component for the runner, or the zip for
    /// the target's Python 3 runtime (see [`SystemInfo::python3_kind`]).
    fn exec(&self, d: &Deployment) -> anyhow::Result<Exec> {
        let code = Some(base64::engine::general_purpose::STANDARD.encode(d.code));
        Ok(match d.run_as {
            RunAs::Wasm => Exec {
                kind: Some(self.runner.kind().into()),
                code,
                image: self.runner.image().map(Into::into),
                binary: self.runner.image().map(|_| true),
                ..Exec::default()
            },
            RunAs::Python => {
                let Some(kind) = self.info.python3_kind() else {
                    anyhow::bail!(
                        "cannot deploy `{}` as = \"python\": {} lists no Python 3 runtime (no `python:3*` kind that is not deprecated)",
                        d.action,
                        self.client.target().apihost
                    );
                };
                Exec {
                    kind: Some(kind.into()),
                    code,
                    main: Some("main".into()),
                    binary: Some(true),
                    ..Exec::default()
                }
            }
        })
    }

    /// Create or replace the action of `d`, its granted hosts in its annotation; the
    /// kind deployed.
    fn deploy_action<'a>(&'a self, d: Deployment<'a>) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let exec = self.exec(&d)?;
            let kind = exec.kind.clone().unwrap_or_default();
            let hosts: Vec<String> = d
                .manifest
                .allowed_outbound_hosts
                .iter()
                .map(ToString::to_string)
                .chain(d.granted_hosts.iter().cloned())
                .collect();
            let annotations = vec![KeyValue::new(
                owbench_openwhisk::action::annotations::ALLOWED_OUTBOUND_HOSTS,
                hosts,
            )];
            let memory = d.memory_mb.unwrap_or(d.manifest.memory_limit >> 20);
            let timeout = d
                .timeout_ms
                .unwrap_or(d.manifest.timeout.as_millis() as u64)
                .min(300_000);
            self.client
                .deploy(d.action, exec, memory, timeout, annotations)
                .await?;
            Ok(kind)
        })
    }
}

impl BenchTarget for OpenWhisk {
    fn describe(&self) -> Value {
        let t = self.client.target();
        let mut described = json!({"kind": self.kind, "apihost": t.apihost,
            "namespace": t.namespace, "action_kind": self.runner.kind()});
        if let Some(image) = self.runner.image() {
            described["runtime_image"] = json!(image);
        }
        described["openwhisk"] = crate::results::platform::openwhisk(&self.info);
        if let Some(cluster) = &self.cluster {
            described["cluster"] = cluster.clone();
        }
        described
    }

    fn deploys(&self) -> bool {
        true
    }

    fn deploy<'a>(&'a self, d: Deployment<'a>) -> BoxFuture<'a, anyhow::Result<String>> {
        // A remote OpenWhisk cannot reach this machine's loopback endpoints, and must not
        // keep a grant to addresses that are private on its own machines.
        self.deploy_action(Deployment {
            granted_hosts: Vec::new(),
            ..d
        })
    }

    fn invoker(
        &self,
        action: &str,
        params: &[Map<String, Value>],
        collector: Option<Collector>,
    ) -> anyhow::Result<InvokeFn> {
        Ok(openwhisk_invoker(
            self.client.clone(),
            action.to_owned(),
            params,
            self.settings.blocking,
            self.settings.retry,
            collector,
        ))
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// The embedded platform, served on a loopback port for the run: an OpenWhisk that this
/// run owns.
pub struct Embedded {
    server: Server,
    openwhisk: OpenWhisk,
}

impl BenchTarget for Embedded {
    fn describe(&self) -> Value {
        let mut described = self.openwhisk.describe();
        described["containers"] = json!(self.server.platform.config().containers);
        described
    }

    fn deploys(&self) -> bool {
        true
    }

    fn deploy<'a>(&'a self, d: Deployment<'a>) -> BoxFuture<'a, anyhow::Result<String>> {
        // The platform lives as long as the run: so does the grant of the run's
        // loopback object endpoint.
        self.openwhisk.deploy_action(d)
    }

    fn invoker(
        &self,
        action: &str,
        params: &[Map<String, Value>],
        collector: Option<Collector>,
    ) -> anyhow::Result<InvokeFn> {
        self.openwhisk.invoker(action, params, collector)
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(self.server.stop())
    }
}

/// Any URL, fetched with GET: a baseline for the load engine itself.
pub struct Http {
    url: String,
    settings: InvokeSettings,
}

impl BenchTarget for Http {
    fn describe(&self) -> Value {
        json!({"kind": "http", "url": self.url})
    }

    fn deploys(&self) -> bool {
        false
    }

    fn deploy<'a>(&'a self, d: Deployment<'a>) -> BoxFuture<'a, anyhow::Result<String>> {
        let action = d.action.to_owned();
        Box::pin(async move {
            anyhow::bail!("an http target runs no workloads: cannot deploy `{action}`")
        })
    }

    fn invoker(
        &self,
        _action: &str,
        _params: &[Map<String, Value>],
        _collector: Option<Collector>,
    ) -> anyhow::Result<InvokeFn> {
        http_invoker(
            self.url.clone(),
            self.settings.max_in_flight,
            self.settings.timeout,
        )
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async {})
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
            // A throttled invocation is an `Err` to `backon`, retried with backoff; the
            // last one is counted as throttled.
            let attempt = || async {
                let invoked = client.invoke(&action, body.clone(), blocking).await;
                match invoked.outcome {
                    Outcome::Throttled => Err(invoked),
                    _ => Ok(invoked),
                }
            };
            let policy = ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(retry.backoff_ms))
                .with_max_times(retry.max as usize)
                .with_jitter();
            let mut invoked = attempt
                .retry(policy)
                .sleep(tokio::time::sleep)
                .await
                .unwrap_or_else(|throttled| throttled);
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
            invoked.times = record.times();
            invoked.outcome = Outcome::of_status(record.status_code());
            if invoked.outcome == Outcome::Ok {
                invoked.result = Some(record.response.result);
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
                    Err(e) => fast_failure(e),
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
