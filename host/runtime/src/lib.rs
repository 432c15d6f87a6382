//! OpenWhisk's action runtime protocol for owbench's workload components, so that a stock
//! Apache OpenWhisk runs them as actions (as a `blackbox` image, or as a `wasm` kind an
//! installer registers) without a fork.
//!
//! The invoker starts the container and talks to it on port 8080:
//! - `POST /init` once: `value.code` is the component, base64 (`binary: true`). It is
//!   compiled (or mapped from the compiled-component cache: the image ships the built-in
//!   workloads precompiled), type-checked against the `workload` world, and one
//!   instance is started.
//! - `POST /run` per activation: `value` goes to the component's `run`, bounded by the
//!   activation's `deadline` and the container's memory; the answer is classified as
//!   the invoker classifies it (200 with the result, 200 with `{"error"}` for the
//!   workload's own error, 502 with `{"error"}` for a trap, a timeout, memory
//!   exhaustion or a result that is not JSON). The component's stdout and stderr lines
//!   go to the runtime's, followed by the log sentinel on both streams.
//!
//! Concurrent `/run`s (action concurrency > 1) each get their own instance; an instance
//! that trapped is dropped and the next `/run` starts a new one.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use owbench_plugin::catalog::Builtins;
//! use owbench_plugin::{EngineConfig, PluginEngine};
//! use owbench_runtime::{Runtime, RuntimeConfig};
//!
//! let engine = PluginEngine::new(EngineConfig::default()).map_err(|e| e.to_string())?;
//! let runtime = Runtime::new(engine, RuntimeConfig::new(Builtins::NONE));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! owbench_runtime::serve(listener, runtime).await?;
//! # Ok(()) }
//! ```

mod action;
pub mod memory;
mod output;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode as Http;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use owbench_openwhisk::StatusCode;
use owbench_openwhisk::runtime::{InitRequest, RunRequest};
use owbench_plugin::PluginEngine;
use owbench_plugin::catalog::Builtins;
use owbench_plugin::policy::HostRule;
use serde_json::{Value, json};

use action::Action;

/// What `/init` answers to a second `/init`, as OpenWhisk's runtimes do.
pub const ALREADY_INITIALIZED: &str = "Cannot initialize the action more than once.";
/// What `/init` answers when there is no code, as OpenWhisk's runtimes do.
pub const MISSING_CODE: &str = "Missing main/no code to execute.";
/// What `/run` answers before a successful `/init` (OpenWhisk's action loop proxy).
pub const NOT_INITIALIZED: &str = "no action defined yet";

/// Largest `/init` or `/run` body: OpenWhisk's largest action (48 MB of code) in base64.
pub const MAX_BODY: usize = 72 << 20;

/// How the runtime runs the action it is given.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Built-in workloads, recognised by their bytes: their manifest applies (name,
    /// outbound hosts), and their compiled form is in the image's cache.
    pub builtins: Builtins,
    /// Linear memory of each instance, bytes; `None`: the component's manifest (built-ins)
    /// or [`DEFAULT_MEMORY`]. `owbench runtime` sets it from the container's cgroup.
    pub memory_limit: Option<u64>,
    /// Longest run when a `/run` has no deadline, or a later one (OpenWhisk's largest
    /// action time limit).
    pub max_timeout: Duration,
    /// Log bytes kept per activation (OpenWhisk's default action log limit).
    pub log_limit_mb: u64,
    /// Take the hosts the action may reach from the `/init` environment's
    /// [`OUTBOUND_HOSTS_ENV`] (owbench's own platform passes its action's
    /// `allowed-outbound-hosts` annotation there); a stock OpenWhisk sends none.
    pub outbound_hosts_from_init: bool,
}

/// The `/init` environment entry with the action's `allowed-outbound-hosts`, as a JSON
/// array of entries (read only when [`RuntimeConfig::outbound_hosts_from_init`]).
pub const OUTBOUND_HOSTS_ENV: &str = "__OWBENCH_ALLOWED_OUTBOUND_HOSTS";

/// Memory of an instance of a component that is not built in, when the container sets
/// no limit: OpenWhisk's default action memory.
pub const DEFAULT_MEMORY: u64 = 256 << 20;

impl RuntimeConfig {
    /// OpenWhisk's defaults, with `builtins` recognised.
    pub fn new(builtins: Builtins) -> RuntimeConfig {
        RuntimeConfig {
            builtins,
            memory_limit: None,
            max_timeout: Duration::from_secs(300),
            log_limit_mb: 10,
            outbound_hosts_from_init: false,
        }
    }
}

/// One action runtime: at most one action, initialised once.
pub struct Runtime {
    engine: PluginEngine,
    config: RuntimeConfig,
    action: OnceLock<Arc<Action>>,
    /// Held by `/init` while it compiles, so that a second `/init` waits and is refused.
    initializing: tokio::sync::Mutex<()>,
}

impl Runtime {
    /// A runtime with no action yet.
    pub fn new(engine: PluginEngine, config: RuntimeConfig) -> Arc<Runtime> {
        Arc::new(Runtime {
            engine,
            config,
            action: OnceLock::new(),
            initializing: tokio::sync::Mutex::new(()),
        })
    }
}

/// The runtime's HTTP routes: `POST /init` and `POST /run`.
pub fn router(runtime: Arc<Runtime>) -> Router {
    Router::new()
        .route("/init", post(init))
        .route("/run", post(run))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(runtime)
}

/// Serve the runtime on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    runtime: Arc<Runtime>,
) -> std::io::Result<()> {
    axum::serve(listener, router(runtime)).await
}

/// Compile every built-in workload into the engine's cache (for an image, so that `/init`
/// of a built-in maps its compiled form instead of compiling): each name and how long it
/// took.
pub async fn precompile(
    engine: &PluginEngine,
    builtins: &Builtins,
) -> Result<Vec<(String, Duration)>, owbench_plugin::PluginError> {
    let mut done = Vec::new();
    for builtin in builtins.workloads {
        let started = Instant::now();
        let action = Action::load(
            engine,
            &RuntimeConfig::new(*builtins),
            "",
            builtin.wasm,
            None,
        )
        .await;
        let name = action?.name().to_owned();
        done.push((name, started.elapsed()));
    }
    Ok(done)
}

/// A refused request: the HTTP status and the `error` text.
struct Refusal(Http, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({"error": self.1}))).into_response()
    }
}

async fn init(State(runtime): State<Arc<Runtime>>, body: Bytes) -> Response {
    let _only_one = runtime.initializing.lock().await;
    if runtime.action.get().is_some() {
        // As OpenWhisk's runtimes: the text on stderr, and no sentinel.
        output::diagnostic(ALREADY_INITIALIZED).await;
        return Refusal(Http::FORBIDDEN, ALREADY_INITIALIZED.into()).into_response();
    }
    match initialize(&runtime, &body).await {
        Ok(action) => {
            let _ = runtime.action.set(Arc::new(action));
            axum::Json(json!({"ok": true})).into_response()
        }
        Err(refusal) => {
            // A failed init ends like an activation: the invoker reads its logs.
            output::failure(&refusal.1).await;
            refusal.into_response()
        }
    }
}

async fn initialize(runtime: &Runtime, body: &[u8]) -> Result<Action, Refusal> {
    let bad = |what: String| Refusal(Http::BAD_REQUEST, what);
    let request: InitRequest = serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "The /init body is not a JSON object with `value`: {e}"
        ))
    })?;
    let value = request.value;
    let code = value.code.as_deref().unwrap_or_default();
    if code.is_empty() {
        return Err(Refusal(Http::FORBIDDEN, MISSING_CODE.into()));
    }
    if !value.binary {
        return Err(bad(
            "`code` must be a WebAssembly component in base64 with `binary: true`".into(),
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(code.trim())
        .map_err(|e| bad(format!("`code` is not base64: {e}")))?;
    let rules = match value.env.get(OUTBOUND_HOSTS_ENV) {
        Some(v) if runtime.config.outbound_hosts_from_init => Some(outbound_rules(v).map_err(bad)?),
        _ => None,
    };
    let action = Action::load(&runtime.engine, &runtime.config, &value.name, &bytes, rules)
        .await
        .map_err(|e| Refusal(Http::BAD_GATEWAY, e.to_string()))?;
    action
        .warm_up(&runtime.engine)
        .await
        .map_err(|failed| Refusal(Http::BAD_GATEWAY, failed.error().to_owned()))?;
    Ok(action)
}

/// The rules in the `/init` environment's [`OUTBOUND_HOSTS_ENV`] (a JSON array in a
/// string).
fn outbound_rules(value: &serde_json::Value) -> Result<Vec<HostRule>, String> {
    let entries: Vec<String> = value
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| {
            format!("`{OUTBOUND_HOSTS_ENV}` is not a JSON array of strings in a string")
        })?;
    entries
        .iter()
        .map(|e| {
            HostRule::parse(e).map_err(|why| format!("`{OUTBOUND_HOSTS_ENV}` entry `{e}`: {why}"))
        })
        .collect()
}

async fn run(State(runtime): State<Arc<Runtime>>, body: Bytes) -> Response {
    let answer = match runtime.action.get() {
        None => Err(Refusal(Http::INTERNAL_SERVER_ERROR, NOT_INITIALIZED.into())),
        Some(action) => run_action(&runtime, action, &body).await,
    };
    match answer {
        Ok((lines, http, result)) => {
            output::activation(lines).await;
            (http, axum::Json(result)).into_response()
        }
        Err(refusal) => {
            output::failure(&refusal.1).await;
            refusal.into_response()
        }
    }
}

/// One activation: its log lines, the HTTP status and the body `/run` answers.
type Answer = (Vec<owbench_activation::Line>, Http, Value);

async fn run_action(runtime: &Runtime, action: &Action, body: &[u8]) -> Result<Answer, Refusal> {
    let bad = |what: String| Refusal(Http::BAD_REQUEST, what);
    let request: RunRequest = serde_json::from_slice(body)
        .map_err(|e| bad(format!("The /run body is not valid JSON: {e}")))?;
    if !request.value.is_object() {
        return Err(bad(
            "`value` must be a JSON object: owbench workloads take an object of parameters".into(),
        ));
    }
    let timeout = match deadline(&request.deadline).map_err(bad)? {
        None => runtime.config.max_timeout,
        Some(at) => match at.duration_since(SystemTime::now()) {
            Ok(left) => left.min(runtime.config.max_timeout),
            Err(_) => {
                return Err(Refusal(
                    Http::BAD_GATEWAY,
                    format!(
                        "The activation's deadline ({}) had passed when /run was called.",
                        request.deadline
                    ),
                ));
            }
        },
    };
    let ran = action
        .run(&runtime.engine, &request.value.to_string(), timeout)
        .await;
    let http = match ran.outcome.status {
        StatusCode::Success | StatusCode::ApplicationError => Http::OK,
        StatusCode::DeveloperError | StatusCode::InternalError => Http::BAD_GATEWAY,
    };
    Ok((ran.lines, http, ran.outcome.result))
}

/// The `/run` deadline (epoch ms as a JSON string; empty: none).
fn deadline(text: &str) -> Result<Option<SystemTime>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let ms: u64 = text
        .parse()
        .map_err(|_| format!("`deadline` is not epoch milliseconds: `{text}`"))?;
    Ok(Some(UNIX_EPOCH + Duration::from_millis(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_epoch_milliseconds_as_text() {
        assert_eq!(deadline(""), Ok(None));
        assert_eq!(
            deadline("1717000060100"),
            Ok(Some(UNIX_EPOCH + Duration::from_millis(1_717_000_060_100)))
        );
        assert!(deadline("soon").unwrap_err().contains("`soon`"));
    }
}
