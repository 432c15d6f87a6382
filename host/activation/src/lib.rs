//! Running one activation of a workload component the way OpenWhisk runs an action:
//! start an instance (a cold start), call it with the action's limits, classify what it
//! returned as OpenWhisk does (status code and result), and keep its logs in OpenWhisk's
//! line format, capped at the action's log limit.
//!
//! Shared by the embedded platform (`owbench serve`, which adds the container pool, the
//! activation store and the throttles) and the action runtime (our components on a stock
//! OpenWhisk, where OpenWhisk keeps the records). Nothing here knows about either.
//!
//! ```no_run
//! # async fn demo(engine: &owbench_plugin::PluginEngine, plugin: &owbench_plugin::WorkloadPlugin) {
//! use owbench_openwhisk::Limits;
//!
//! let limits = Limits::default();
//! let mut instance = owbench_activation::start(engine, plugin, &limits).await.unwrap();
//! let ran = owbench_activation::run(&mut instance, r#"{"n": 64}"#, &limits).await;
//! println!("{} {}", ran.outcome.status.text(), ran.outcome.result);
//! # }
//! ```

#![deny(missing_docs)]

use std::time::{Duration, SystemTime};

use owbench_openwhisk::runtime::classify_result;
use owbench_openwhisk::{Limits, StatusCode};
use owbench_plugin::{CallOutcome, PluginEngine, PluginError, WarmInstance, WorkloadPlugin};
use serde_json::{Value, json};

/// How an activation (or its start) ended, as OpenWhisk classifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    /// The status code.
    pub status: StatusCode,
    /// The result object (`{"error": ...}` for a failure).
    pub result: Value,
    /// Whether it reached the time limit (the record's `timeout` annotation).
    pub timed_out: bool,
}

impl Classified {
    /// The `error` text of a failure's result (empty for a success).
    pub fn error(&self) -> &str {
        self.result["error"].as_str().unwrap_or_default()
    }
}

/// What one activation on a started instance produced.
#[derive(Debug)]
pub struct Ran {
    /// Status, result, and whether the run reached the time limit.
    pub outcome: Classified,
    /// Log lines in OpenWhisk's form (`"<time> stdout: <line>"`), capped at the limit.
    pub logs: Vec<String>,
    /// Time spent in the workload's `run`.
    pub run: Duration,
    /// Whether the instance can take another activation (not after a trap, a timeout or
    /// running out of memory: OpenWhisk destroys such a container too).
    pub reusable: bool,
}

/// A cold start: instantiate `plugin` with the action's memory limit. A failure comes
/// back classified as OpenWhisk classifies an init failure.
pub async fn start(
    engine: &PluginEngine,
    plugin: &WorkloadPlugin,
    limits: &Limits,
) -> Result<WarmInstance, Classified> {
    plugin
        .instantiate(engine, limits.memory << 20)
        .await
        .map_err(|e| classify_error(&e, timeout_of(limits)))
}

/// The classified failure of an action whose component could not be loaded (`reason`:
/// why, one line).
pub fn init_failure(reason: &str) -> Classified {
    Classified {
        status: StatusCode::DeveloperError,
        result: json!({"error": format!("The action failed during initialization: {reason}")}),
        timed_out: false,
    }
}

/// Run one activation on `instance` with `params` (a JSON object as text) under `limits`.
pub async fn run(instance: &mut WarmInstance, params: &str, limits: &Limits) -> Ran {
    let timeout = timeout_of(limits);
    let outcome = instance.run(params, timeout).await;
    let logs = capped_logs(&outcome, limits.logs << 20, SystemTime::now());
    Ran {
        outcome: classify(&outcome, timeout),
        logs,
        run: outcome.run,
        reusable: instance.is_reusable(),
    }
}

fn timeout_of(limits: &Limits) -> Duration {
    Duration::from_millis(limits.timeout)
}

/// OpenWhisk's classification of what a call returned.
pub fn classify(outcome: &CallOutcome, timeout: Duration) -> Classified {
    match &outcome.result {
        Ok(text) => {
            let (status, result) = classify_result(text);
            Classified {
                status,
                result,
                timed_out: false,
            }
        }
        Err(e) => classify_error(e, timeout),
    }
}

/// OpenWhisk's classification of a call (or a start) that failed.
pub fn classify_error(e: &PluginError, timeout: Duration) -> Classified {
    let (status, result) = match e {
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
            return Classified {
                status: StatusCode::DeveloperError,
                result: json!({"error": format!(
                    "The action exceeded its time limits of {} milliseconds.",
                    timeout.as_millis()
                )}),
                timed_out: true,
            };
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
    };
    Classified {
        status,
        result,
        timed_out: false,
    }
}

/// One log line as OpenWhisk stores it: the RFC 3339 time padded to 30, the stream, the text.
pub fn log_line(at: SystemTime, stream: &str, message: &str) -> String {
    let time = humantime::format_rfc3339_nanos(at).to_string();
    format!("{time:<30} {stream}: {message}")
}

/// A call's stdout, stderr and `host.log` lines as OpenWhisk log lines stamped `at`,
/// at most `limit` bytes of text; a last line says when some were cut.
pub fn capped_logs(outcome: &CallOutcome, limit: u64, at: SystemTime) -> Vec<String> {
    let limit = limit as usize;
    let mut logs = Vec::new();
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
        logs.push(log_line(at, stream, &line));
    }
    if truncated || outcome.dropped_logs > 0 {
        logs.push(log_line(
            at,
            "stderr",
            &format!("Logs were truncated because the total bytes size exceeds the limit of {limit} bytes."),
        ));
    }
    logs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_pad_the_time() {
        let line = log_line(std::time::UNIX_EPOCH, "stdout", "hi");
        assert_eq!(line, "1970-01-01T00:00:00.000000000Z stdout: hi");
    }

    #[test]
    fn failures_are_classified_as_openwhisk_does() {
        let plugin = || "p".to_string();
        let c = classify_error(
            &PluginError::Timeout {
                plugin: plugin(),
                limit: Duration::from_millis(100),
            },
            Duration::from_millis(100),
        );
        assert_eq!(c.status, StatusCode::DeveloperError);
        assert!(c.timed_out);
        assert_eq!(
            c.error(),
            "The action exceeded its time limits of 100 milliseconds."
        );
        let c = classify_error(
            &PluginError::Failed {
                plugin: plugin(),
                message: "no".into(),
            },
            Duration::ZERO,
        );
        assert_eq!((c.status, c.error()), (StatusCode::ApplicationError, "no"));
        assert_eq!(init_failure("bad").status, StatusCode::DeveloperError);
    }

    #[test]
    fn logs_are_capped_with_a_last_line_that_says_so() {
        let outcome = CallOutcome {
            stdout: "a\nbb\n".into(),
            stderr: "ccc\n".into(),
            ..CallOutcome::default()
        };
        let at = std::time::UNIX_EPOCH;
        let all = capped_logs(&outcome, 100, at);
        assert_eq!(all.len(), 3);
        assert!(all[2].ends_with("stderr: ccc"), "{all:?}");
        let cut = capped_logs(&outcome, 3, at);
        assert_eq!(cut.len(), 3, "{cut:?}");
        assert!(cut[1].ends_with("stdout: bb"));
        assert!(cut[2].contains("exceeds the limit of 3 bytes"), "{cut:?}");
    }
}
