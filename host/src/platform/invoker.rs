//! Running one activation on the platform: a warm or cold instance from the pool, the
//! activation itself (`owbench_activation`: the call with the action's limits,
//! OpenWhisk's classification, capped logs), and the activation record with its
//! annotations (`waitTime`, `initTime` on cold starts, `timeout`, `limits`, `path`, `kind`).

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::Platform;
use super::actions::ActionEntry;
use super::container::Instance;
use super::pool::{Container, Grant};
use super::process::ProcessContext;
use owbench_activation::{Classified, log_line};
use owbench_openwhisk::activation::annotations as ann;
use owbench_openwhisk::activation::epoch_ms;
use owbench_openwhisk::runtime::limit_result;
use owbench_openwhisk::{Activation, KeyValue, Response};

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
    let wall_at = |at: Instant| received.wall + at.duration_since(received.at);
    let key = action.key();
    let limits = action.limits;
    let grant = platform.pool.acquire(&key, limits.memory).await;
    let record = Draft {
        action,
        activation_id,
        subject: received.subject,
        waited: received.at.elapsed(),
    };
    let (mut container, init) = match grant {
        Grant::Warm(c) => (*c, None),
        Grant::Cold => {
            // A cold start: compiling the component (the first time; cached after) and
            // instantiating it is the init time.
            let init_start = Instant::now();
            let started = Instance::start(platform, action, &limits).await;
            let init = init_start.elapsed();
            match started {
                Ok(instance) => {
                    let container = Container {
                        key,
                        memory_mb: limits.memory,
                        instance,
                    };
                    (container, Some(init))
                }
                Err(failed) => {
                    platform.pool.cancel_cold(limits.memory);
                    let now = Instant::now();
                    let logs = vec![log_line(wall_at(now), "stderr", failed.error())];
                    let ended = Ended {
                        start: wall_at(init_start),
                        end: wall_at(now),
                        init: Some(init),
                        run: Duration::ZERO,
                        outcome: failed,
                        logs,
                    };
                    return record.finish(ended);
                }
            }
        }
    };
    let run_start = Instant::now();
    let context = ProcessContext {
        action,
        activation_id: &record.activation_id,
    };
    let mut ran = container.instance.run(&params, &limits, context).await;
    // The invoker's bound on the size of a result.
    let result = std::mem::take(&mut ran.outcome.result);
    (ran.outcome.status, ran.outcome.result) =
        limit_result(ran.outcome.status, result, ran.result_len);
    let run_end = Instant::now();
    platform.pool.release(container, ran.reusable);
    let logs = ran
        .lines
        .iter()
        .map(|l| l.stamped(wall_at(run_end)))
        .collect();
    // On a cold start `start` is moved back by the init time, as OpenWhisk does.
    let start = run_start - init.unwrap_or_default();
    record.finish(Ended {
        start: wall_at(start),
        end: wall_at(run_end),
        init,
        run: run_end - run_start,
        outcome: ran.outcome,
        logs,
    })
}

/// Who ran what, known before the activation runs.
struct Draft<'a> {
    action: &'a ActionEntry,
    activation_id: String,
    subject: String,
    waited: Duration,
}

/// How the activation went.
struct Ended {
    start: SystemTime,
    end: SystemTime,
    init: Option<Duration>,
    run: Duration,
    outcome: Classified,
    logs: Vec<String>,
}

impl Draft<'_> {
    /// The activation record, with OpenWhisk's annotations and owbench's µs timings.
    fn finish(self, ended: Ended) -> Activation {
        let action = self.action;
        let start = epoch_ms(ended.start);
        let end = epoch_ms(ended.end).max(start);
        let waited = self.waited;
        let mut annotations = vec![
            KeyValue::new(ann::LIMITS, json!(action.limits)),
            KeyValue::new(ann::PATH, action.path()),
            KeyValue::new(ann::KIND, action.kind()),
            KeyValue::new(ann::TIMEOUT, ended.outcome.timed_out),
        ];
        if let Some(init) = ended.init {
            annotations.push(KeyValue::new(ann::INIT_TIME, init.as_millis() as u64));
        }
        annotations.push(KeyValue::new(ann::WAIT_TIME, waited.as_millis() as u64));
        // owbench's extension: the same times in microseconds (OpenWhisk's are whole ms,
        // too coarse for WebAssembly cold starts).
        let init_us = ended.init.map(|i| i.as_micros() as u64);
        let mut micros = json!({
            "waitTime": waited.as_micros() as u64,
            "duration": ended.run.as_micros() as u64 + init_us.unwrap_or(0),
        });
        if let Some(init) = init_us {
            micros["initTime"] = json!(init);
        }
        annotations.push(KeyValue::new(ann::MICROS, micros));
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
            response: Response::new(ended.outcome.status, ended.outcome.result),
            logs: ended.logs,
            annotations,
        }
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
