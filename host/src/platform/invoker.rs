//! Running one activation: a warm or cold instance from the pool, the call with the
//! action's limits, and the activation record with OpenWhisk's classification and
//! annotations (`waitTime`, `initTime` on cold starts, `timeout`, `limits`, `path`, `kind`).

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::Platform;
use super::actions::{ActionEntry, KIND};
use super::pool::{Container, Grant};
use super::record::{Activation, KeyValue, Response, StatusCode, epoch_ms, log_line};
use crate::engine::{CallOutcome, PluginError};

/// Annotation with `waitTime`, `initTime` and `duration` in microseconds.
pub const MICROS_ANNOTATION: &str = "owbench.micros";
/// Largest result kept, bytes (OpenWhisk's default).
const MAX_RESULT: usize = 1 << 20;

/// When and by whom an invoke was received.
pub struct Received {
    /// Monotonic receive time (waitTime starts here).
    pub at: Instant,
    /// Its wall-clock equivalent.
    pub wall: SystemTime,
    /// Namespace of the caller.
    pub subject: String,
}

/// Run one activation of `action` with `params` (a JSON object as text) to its record.
pub async fn run(
    platform: &Platform,
    action: &ActionEntry,
    params: String,
    activation_id: String,
    received: Received,
) -> Activation {
    let mut out = Draft {
        action,
        activation_id,
        subject: received.subject,
        logs: Vec::new(),
        init: None,
        timed_out: false,
    };
    let wall_at = |at: Instant| received.wall + at.duration_since(received.at);
    let key = action.key();
    let memory_mb = action.limits.memory;
    let timeout = Duration::from_millis(action.limits.timeout);
    let grant = platform.pool.acquire(&key, memory_mb).await;
    let waited = received.at.elapsed();
    let mut container = match grant {
        Grant::Warm(c) => *c,
        Grant::Cold => {
            // A cold start: compiling the component (the first time; cached after) and
            // instantiating it is the init time.
            let init_start = Instant::now();
            let instance = match action.plugin(&platform.engine).await {
                Ok(plugin) => plugin
                    .instantiate(&platform.engine, memory_mb << 20)
                    .await
                    .map_err(|e| classify_error(&e, timeout, &mut out.timed_out)),
                Err(reason) => Err((
                    StatusCode::DeveloperError,
                    json!({"error": format!("The action failed during initialization: {reason}")}),
                )),
            };
            out.init = Some(init_start.elapsed());
            match instance {
                Ok(instance) => Container {
                    key,
                    memory_mb,
                    instance,
                },
                Err((status, result)) => {
                    platform.pool.cancel_cold(memory_mb);
                    let now = Instant::now();
                    let message = result["error"].as_str().unwrap_or_default().to_owned();
                    out.logs.push(log_line(wall_at(now), "stderr", &message));
                    return out.finish(
                        wall_at(init_start),
                        wall_at(now),
                        waited,
                        Duration::ZERO,
                        status,
                        result,
                    );
                }
            }
        }
    };
    let run_start = Instant::now();
    let outcome = container.instance.run(&params, timeout).await;
    let run_end = Instant::now();
    let reusable = container.instance.is_reusable();
    platform.pool.release(container, reusable);

    let (status, result) = classify(&outcome, timeout, &mut out.timed_out);
    out.collect_logs(&outcome, wall_at(run_end));
    // On a cold start `start` is moved back by the init time, as OpenWhisk does.
    let start = run_start - out.init.unwrap_or_default();
    out.finish(
        wall_at(start),
        wall_at(run_end),
        waited,
        run_end - run_start,
        status,
        result,
    )
}

struct Draft<'a> {
    action: &'a ActionEntry,
    activation_id: String,
    subject: String,
    logs: Vec<String>,
    init: Option<Duration>,
    timed_out: bool,
}

impl Draft<'_> {
    fn collect_logs(&mut self, outcome: &CallOutcome, at: SystemTime) {
        let limit = (self.action.limits.logs as usize) << 20;
        let mut bytes = 0;
        let mut truncated = false;
        let lines = outcome
            .stdout
            .lines()
            .map(|l| ("stdout", l.to_owned()))
            .chain(outcome.stderr.lines().map(|l| ("stderr", l.to_owned())))
            .chain(outcome.logs.iter().map(|l| {
                let stream = if matches!(l.level, "warn" | "error") {
                    "stderr"
                } else {
                    "stdout"
                };
                (stream, format!("[{}] {}", l.level, l.message))
            }));
        for (stream, line) in lines {
            bytes += line.len();
            if bytes > limit {
                truncated = true;
                break;
            }
            self.logs.push(log_line(at, stream, &line));
        }
        if truncated || outcome.dropped_logs > 0 {
            self.logs.push(log_line(
                at,
                "stderr",
                &format!("Logs were truncated because the total bytes size exceeds the limit of {limit} bytes."),
            ));
        }
    }

    fn finish(
        self,
        start: SystemTime,
        end: SystemTime,
        waited: Duration,
        run: Duration,
        status: StatusCode,
        result: Value,
    ) -> Activation {
        let action = self.action;
        let start = epoch_ms(start);
        let end = epoch_ms(end).max(start);
        let size = serde_json::to_string(&result).map(|s| s.len() as u64).ok();
        let mut annotations = vec![
            KeyValue {
                key: "limits".into(),
                value: action.limits.to_json(),
            },
            KeyValue {
                key: "path".into(),
                value: json!(action.path()),
            },
            KeyValue {
                key: "kind".into(),
                value: json!(KIND),
            },
            KeyValue {
                key: "timeout".into(),
                value: json!(self.timed_out),
            },
        ];
        if let Some(init) = self.init {
            annotations.push(KeyValue {
                key: "initTime".into(),
                value: json!(init.as_millis() as u64),
            });
        }
        annotations.push(KeyValue {
            key: "waitTime".into(),
            value: json!(waited.as_millis() as u64),
        });
        // owbench's extension: the same times in microseconds (OpenWhisk's are whole ms,
        // too coarse for WebAssembly cold starts).
        let mut micros = json!({
            "waitTime": waited.as_micros() as u64,
            "duration": run.as_micros() as u64 + self.init.map_or(0, |i| i.as_micros() as u64),
        });
        if let Some(init) = self.init {
            micros["initTime"] = json!(init.as_micros() as u64);
        }
        annotations.push(KeyValue {
            key: MICROS_ANNOTATION.into(),
            value: micros,
        });
        Activation {
            namespace: action.namespace.clone(),
            name: action.name.clone(),
            version: action.version.clone(),
            subject: self.subject,
            activation_id: self.activation_id,
            start,
            end,
            duration: end - start,
            publish: false,
            response: Response {
                status: status.text().into(),
                success: status == StatusCode::Success,
                result,
                size,
            },
            logs: self.logs,
            annotations,
        }
    }
}

/// OpenWhisk's classification of what the action returned.
fn classify(outcome: &CallOutcome, timeout: Duration, timed_out: &mut bool) -> (StatusCode, Value) {
    let text = match &outcome.result {
        Ok(text) => text,
        Err(e) => return classify_error(e, timeout, timed_out),
    };
    if text.len() > MAX_RESULT {
        let head: String = text.chars().take(1024).collect();
        return (
            StatusCode::ApplicationError,
            json!({"error": format!(
                "The action produced a response that exceeded the allowed length: {} > {MAX_RESULT} bytes. The truncated response was: {head}",
                text.len()
            )}),
        );
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) if v.get("error").is_some() => (StatusCode::ApplicationError, v),
        Ok(v @ (Value::Object(_) | Value::Array(_))) => (StatusCode::Success, v),
        _ => (
            StatusCode::DeveloperError,
            json!({"error": format!("The action did not produce a valid JSON or JSON Array response: {text}")}),
        ),
    }
}

fn classify_error(e: &PluginError, timeout: Duration, timed_out: &mut bool) -> (StatusCode, Value) {
    match e {
        PluginError::Failed { message, .. } => {
            (StatusCode::ApplicationError, json!({"error": message}))
        }
        PluginError::InvalidParams { reason, .. } => (
            StatusCode::ApplicationError,
            json!({"error": format!("invalid params: {reason}")}),
        ),
        PluginError::Denied { .. } => (
            StatusCode::ApplicationError,
            json!({"error": e.to_string()}),
        ),
        PluginError::Timeout { .. } => {
            *timed_out = true;
            (
                StatusCode::DeveloperError,
                json!({"error": format!("The action exceeded its time limits of {} milliseconds.", timeout.as_millis())}),
            )
        }
        PluginError::MemoryLimit { .. } => (
            StatusCode::DeveloperError,
            json!({"error": "The action exhausted its memory and was aborted."}),
        ),
        PluginError::Host { .. } => (StatusCode::InternalError, json!({"error": e.to_string()})),
        _ => (
            StatusCode::DeveloperError,
            json!({"error": format!("The action did not produce a valid response and exited unexpectedly: {e}")}),
        ),
    }
}

/// Merge bound parameters under the invoke body (the body wins).
pub fn merge_params(action: &ActionEntry, body: &[u8]) -> Result<String, String> {
    if action.parameters.is_empty() {
        return Ok(if body.iter().all(u8::is_ascii_whitespace) {
            "{}".into()
        } else {
            String::from_utf8_lossy(body).into_owned()
        });
    }
    let mut merged = action.parameters.clone();
    if !body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(given)) => merged.extend(given),
            Ok(_) => return Err("The request content was malformed: expected a JSON object".into()),
            Err(e) => return Err(format!("The request content was malformed: {e}")),
        }
    }
    Ok(Value::Object(merged).to_string())
}
