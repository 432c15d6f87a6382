//! Process containers (`--containers process`): a warm instance is an `owbench runtime`
//! child process on a loopback port (port 0; it prints the one it got), driven as
//! OpenWhisk's container proxy drives an action container: `/init` once, `/run` per
//! activation with its deadline, the logs read from the process's stdout and stderr
//! up to the sentinels. A process that timed out, died or answered a developer error is
//! killed and discarded, as OpenWhisk destroys such a container.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use owbench_activation::{Classified, Line, Ran, cap, exceeded};
use owbench_openwhisk::runtime::{LOG_SENTINEL, classify_result, failure_error};
use owbench_openwhisk::{Limits, StatusCode};
use owbench_runtime::OUTBOUND_HOSTS_ENV;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::actions::ActionEntry;

/// How long the logs of an answered `/run` may take to reach their sentinels (the
/// runtime writes them before it answers; this only covers the pipe).
const LOG_WAIT: Duration = Duration::from_secs(5);
/// Time a `/run` may take past its deadline before the process is given up as hung.
const GRACE: Duration = Duration::from_secs(1);

/// The `/run` fields besides `value`: which activation this is.
#[derive(Clone, Copy)]
pub struct ProcessContext<'a> {
    /// The action.
    pub action: &'a ActionEntry,
    /// The activation's id.
    pub activation_id: &'a str,
}

/// An `owbench runtime` child process running one action.
pub struct RuntimeProcess {
    child: Child,
    url: String,
    http: reqwest::Client,
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: mpsc::UnboundedReceiver<String>,
}

impl RuntimeProcess {
    /// Start `program runtime` for `action` and `/init` it: a cold start. `cache`: the
    /// compiled-component cache the process shares with the platform;
    /// `private_networks`: the platform's grant, passed on.
    pub async fn start(
        program: &Path,
        cache: Option<&Path>,
        private_networks: bool,
        action: &ActionEntry,
        limits: &Limits,
    ) -> Result<RuntimeProcess, Classified> {
        let started = Instant::now();
        let timeout = Duration::from_millis(limits.timeout);
        let mut command = Command::new(program);
        // Port 0, and the process says which port it got: no two containers race for
        // one port.
        command
            .arg("runtime")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--print-address")
            .arg("--outbound-hosts-from-init")
            .arg("--memory-mb")
            .arg(limits.memory.to_string());
        match cache {
            Some(dir) => command.arg("--cache-dir").arg(dir),
            None => command.arg("--no-cache"),
        };
        if private_networks {
            command.arg("--allow-private-networks");
        }
        // A container gets no environment of the platform's (but a temporary directory
        // for the scratch directories of its calls).
        command.env_clear();
        if let Some(tmp) = std::env::var_os("TMPDIR") {
            command.env("TMPDIR", tmp);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                internal(&format!(
                    "cannot start `{} runtime`: {e}",
                    program.display()
                ))
            })?;
        let mut stdout = lines_of(child.stdout.take().expect("piped stdout"));
        let mut stderr = lines_of(child.stderr.take().expect("piped stderr"));
        let announced = tokio::time::timeout(timeout, stdout.recv()).await;
        let addr = match announced {
            Ok(Some(line)) => line,
            Ok(None) => {
                let said = stderr.recv().await.unwrap_or_default();
                return Err(owbench_activation::init_failure(&format!(
                    "the runtime process exited before it listened: {said}"
                )));
            }
            Err(_) => return Err(init_timeout(timeout)),
        };
        let mut process = RuntimeProcess {
            child,
            url: format!("http://{addr}"),
            http: reqwest::Client::new(),
            stdout,
            stderr,
        };
        process.init(action, started, timeout).await?;
        Ok(process)
    }

    /// `POST /init` (the process listens already: it announced its port), within what
    /// is left of the action's time limit.
    async fn init(
        &mut self,
        action: &ActionEntry,
        started: Instant,
        timeout: Duration,
    ) -> Result<(), Classified> {
        let body = json!({"value": {
            "name": action.name,
            "main": "main",
            "binary": true,
            "code": action.doc["exec"]["code"],
            "env": {
                "__OW_NAMESPACE": action.namespace,
                "__OW_ACTION_NAME": format!("/{}", action.path()),
                "__OW_ACTION_VERSION": action.version,
                (OUTBOUND_HOSTS_ENV): serde_json::to_string(
                    &action.rules.iter().map(ToString::to_string).collect::<Vec<_>>(),
                ).expect("strings serialize"),
            },
        }});
        let left = timeout.saturating_sub(started.elapsed());
        let sent = self
            .http
            .post(format!("{}/init", self.url))
            .json(&body)
            .timeout(left)
            .send()
            .await;
        let failed = |result| Classified {
            status: StatusCode::DeveloperError,
            result,
            timed_out: false,
        };
        match sent {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => {
                let text = response.text().await.unwrap_or_default();
                Err(failed(failure_error(
                    &text,
                    "The action failed during initialization: ",
                )))
            }
            Err(e) if e.is_timeout() => Err(init_timeout(timeout)),
            Err(e) => Err(owbench_activation::init_failure(&format!(
                "the runtime process did not answer /init: {}",
                crate::client::root_cause(&e)
            ))),
        }
    }

    /// Run one activation: `POST /run` with `params` (a JSON object as text) and a
    /// deadline `limits.timeout` from now, then the logs up to the sentinels.
    pub async fn run(&mut self, params: &str, limits: &Limits, context: ProcessContext<'_>) -> Ran {
        let timeout = Duration::from_millis(limits.timeout);
        let value: Value = match serde_json::from_str(params) {
            Ok(value) => value,
            Err(e) => {
                return Ran {
                    outcome: Classified {
                        status: StatusCode::ApplicationError,
                        result: json!({"error": format!("invalid params: {e}")}),
                        timed_out: false,
                    },
                    lines: Vec::new(),
                    result_len: 0,
                    run: Duration::ZERO,
                    reusable: true,
                };
            }
        };
        let action = context.action;
        // The deadline rounded up to a whole ms, so that a runtime that stops the call
        // at its deadline answers no earlier than `timeout` after `started`.
        let started = Instant::now();
        let deadline = (SystemTime::now() + timeout)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros()
            .div_ceil(1000);
        let body = json!({
            "value": value,
            "namespace": action.namespace,
            "action_name": format!("/{}", action.path()),
            "action_version": action.version,
            "activation_id": context.activation_id,
            "transaction_id": "",
            "deadline": deadline.to_string(),
        });
        let sent = self
            .http
            .post(format!("{}/run", self.url))
            .json(&body)
            .timeout(timeout + GRACE)
            .send()
            .await;
        let answered = match sent {
            Ok(response) => {
                let status = response.status();
                response.text().await.map(|text| (status, text))
            }
            Err(e) => Err(e),
        };
        let run = started.elapsed();
        let result_len = answered.as_ref().map_or(0, |(_, text)| text.len());
        let outcome = match answered {
            Ok((status, text)) if status.is_success() => {
                let (status, result) = classify_result(&text);
                Classified {
                    status,
                    result,
                    timed_out: false,
                }
            }
            // A runtime that stopped the call at its deadline (clocks may disagree by
            // a little: wall time for the deadline, monotonic time here).
            Ok(_) if run + Duration::from_millis(2) >= timeout => exceeded(timeout),
            Ok((_, text)) => Classified {
                status: StatusCode::DeveloperError,
                result: failure_error(
                    &text,
                    "The action did not produce a valid JSON or JSON Array response: ",
                ),
                timed_out: false,
            },
            Err(e) if e.is_timeout() => exceeded(timeout),
            Err(_) => Classified {
                status: StatusCode::DeveloperError,
                result: json!({"error": "The action did not produce a valid response and exited unexpectedly."}),
                timed_out: false,
            },
        };
        let reusable = matches!(
            outcome.status,
            StatusCode::Success | StatusCode::ApplicationError
        );
        if !reusable {
            let _ = self.child.start_kill();
        }
        let lines = cap(self.logs().await, limits.logs << 20);
        Ran {
            outcome,
            lines,
            result_len,
            run,
            reusable,
        }
    }

    /// The lines written up to the next sentinel on each stream (or up to the end of a
    /// stream, or [`LOG_WAIT`]): stdout's, then stderr's.
    async fn logs(&mut self) -> Vec<Line> {
        let give_up = tokio::time::Instant::now() + LOG_WAIT;
        let mut lines = Vec::new();
        for (stream, rx) in [("stdout", &mut self.stdout), ("stderr", &mut self.stderr)] {
            while let Ok(Some(line)) = tokio::time::timeout_at(give_up, rx.recv()).await {
                if line == LOG_SENTINEL {
                    break;
                }
                lines.push(Line::new(stream, line));
            }
        }
        lines
    }
}

/// The lines of `stream`, read in the background until it closes.
fn lines_of(stream: impl AsyncRead + Unpin + Send + 'static) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// An init that did not finish within the action's time limit.
fn init_timeout(timeout: Duration) -> Classified {
    Classified {
        status: StatusCode::DeveloperError,
        result: json!({"error": format!(
            "The action exceeded its time limits of {} milliseconds during initialization.",
            timeout.as_millis()
        )}),
        timed_out: true,
    }
}

/// A failure of the platform itself to start a container.
fn internal(reason: &str) -> Classified {
    Classified {
        status: StatusCode::InternalError,
        result: json!({ "error": reason }),
        timed_out: false,
    }
}
