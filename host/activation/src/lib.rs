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

/// One line an activation wrote, and to which stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `stdout` or `stderr` (`host.log` lines at `warn` and `error` go to `stderr`).
    pub stream: &'static str,
    /// The text, without the newline.
    pub text: String,
}

impl Line {
    /// A line of `stream` (`stdout` or `stderr`).
    pub fn new(stream: &'static str, text: impl Into<String>) -> Line {
        Line {
            stream,
            text: text.into(),
        }
    }

    fn is_truncation(&self) -> bool {
        self.text.starts_with(TRUNCATED)
    }

    /// The line as OpenWhisk stores it in an activation record, stamped `at`.
    pub fn stamped(&self, at: SystemTime) -> String {
        log_line(at, self.stream, &self.text)
    }
}

/// What one activation on a started instance produced.
#[derive(Debug)]
pub struct Ran {
    /// Status, result, and whether the run reached the time limit.
    pub outcome: Classified,
    /// The lines it wrote, capped at the log limit (a last line says when some were cut).
    pub lines: Vec<Line>,
    /// Bytes of the result as the action answered it (0 when it answered none).
    pub result_len: usize,
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
    let lines = capped_lines(&outcome, limits.logs << 20);
    Ran {
        outcome: classify(&outcome, timeout),
        lines,
        result_len: outcome.result.as_ref().map_or(0, String::len),
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

/// An activation stopped at its time limit, in OpenWhisk's words.
pub fn exceeded(timeout: Duration) -> Classified {
    Classified {
        status: StatusCode::DeveloperError,
        result: json!({"error": format!(
            "The action exceeded its time limits of {} milliseconds.",
            timeout.as_millis()
        )}),
        timed_out: true,
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
        PluginError::Timeout { .. } => return exceeded(timeout),
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

/// A call's stdout, stderr and `host.log` lines, at most `limit` bytes of text; a last
/// line (on `stderr`) says when some were cut, in OpenWhisk's words.
pub fn capped_lines(outcome: &CallOutcome, limit: u64) -> Vec<Line> {
    let lines = outcome
        .stdout
        .lines()
        .map(|l| Line::new("stdout", l))
        .chain(outcome.stderr.lines().map(|l| Line::new("stderr", l)))
        .chain(outcome.logs.iter().map(|l| {
            let stream = if matches!(l.level, "warn" | "error") {
                "stderr"
            } else {
                "stdout"
            };
            Line::new(stream, format!("[{}] {}", l.level, l.message))
        }));
    let mut kept = cap(lines, limit);
    if outcome.dropped_output > 0 {
        kept.push(Line::new(
            "stderr",
            format!(
                "Logs were truncated: the action wrote {} bytes to stdout and stderr past the {} bytes kept of each.",
                outcome.dropped_output,
                owbench_plugin::workload::MAX_OUTPUT
            ),
        ));
    }
    if outcome.dropped_logs > 0 && !kept.last().is_some_and(Line::is_truncation) {
        kept.push(truncation(limit));
    }
    kept
}

/// At most `limit` bytes of text of `lines`; a last line (on `stderr`) says when some
/// were cut, in OpenWhisk's words.
pub fn cap(lines: impl IntoIterator<Item = Line>, limit: u64) -> Vec<Line> {
    let mut kept = Vec::new();
    let mut bytes = 0u64;
    for line in lines {
        bytes += line.text.len() as u64;
        if bytes > limit {
            kept.push(truncation(limit));
            break;
        }
        kept.push(line);
    }
    kept
}

fn truncation(limit: u64) -> Line {
    Line::new(
        "stderr",
        format!("{TRUNCATED} the total bytes size exceeds the limit of {limit} bytes."),
    )
}

/// How OpenWhisk's line saying that logs were cut begins.
const TRUNCATED: &str = "Logs were truncated because";

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
        let all = capped_lines(&outcome, 100);
        assert_eq!(all.len(), 3);
        assert_eq!((all[2].stream, all[2].text.as_str()), ("stderr", "ccc"));
        assert!(
            all[2]
                .stamped(std::time::UNIX_EPOCH)
                .ends_with("stderr: ccc")
        );
        let cut = capped_lines(&outcome, 3);
        assert_eq!(cut.len(), 3, "{cut:?}");
        assert_eq!(cut[1].text, "bb");
        assert!(
            cut[2].text.contains("exceeds the limit of 3 bytes"),
            "{cut:?}"
        );
    }
}
