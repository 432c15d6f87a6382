use std::time::Duration;

use base64::Engine as _;
use owbench::platform::{Containers, GUEST_KEY};
use serde_json::{Value, json};

use crate::helpers::{builtin_wasm, npm_package, start_platform};

/// A client for the API under test.
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(base: String) -> Api {
        Api {
            base,
            http: reqwest::Client::new(),
        }
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let (user, pass) = GUEST_KEY.split_once(':').unwrap();
        rb.basic_auth(user, Some(pass))
    }

    async fn put(
        &self,
        name: &str,
        wasm: &[u8],
        extra: Value,
        overwrite: bool,
    ) -> reqwest::Response {
        let mut body = json!({"exec": {"kind": "wasm", "code": base64::engine::general_purpose::STANDARD.encode(wasm)}});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let url = format!(
            "{}/api/v1/namespaces/_/actions/{name}?overwrite={overwrite}",
            self.base
        );
        self.auth(self.http.put(url))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn invoke(
        &self,
        name: &str,
        query: &str,
        params: Value,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let url = format!("{}/api/v1/namespaces/_/actions/{name}?{query}", self.base);
        let r = self
            .auth(self.http.post(url))
            .json(&params)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .auth(
                self.http
                    .get(format!("{}/api/v1/namespaces/_/{path}", self.base)),
            )
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

fn annotation<'a>(record: &'a Value, key: &str) -> Option<&'a Value> {
    record["annotations"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_invoke_and_activations_behave_like_openwhisk() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_platform(dir.path(), |_| {}).await;
    let api = Api::new(server.url());

    // Auth: none, then wrong.
    let r = reqwest::get(format!("{}/api/v1/namespaces", server.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["code"].is_string() && body["error"].is_string(),
        "{body}"
    );
    let r = api
        .http
        .get(format!("{}/api/v1/namespaces", server.url()))
        .basic_auth("x", Some("y"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Create, conflict, update bumps the version.
    let r = api
        .put(
            "echo",
            builtin_wasm("noop"),
            json!({"limits": {"memory": 32}}),
            false,
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = api
        .put("echo", builtin_wasm("noop"), json!({}), false)
        .await;
    assert_eq!(r.status(), 409);
    let r = api
        .put(
            "echo",
            builtin_wasm("noop"),
            json!({"parameters": [{"key": "bound", "value": 1}]}),
            true,
        )
        .await;
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["version"], "0.0.2");
    assert_eq!(doc["limits"]["memory"], 32);

    // Blocking invoke: cold, then warm; bound parameters merged under the body.
    let (status, headers, cold) = api.invoke("echo", "blocking=true", json!({"x": 1})).await;
    assert_eq!(status, 200, "{cold}");
    let id = cold["activationId"].as_str().unwrap();
    assert_eq!(headers["x-openwhisk-activation-id"], id);
    assert_eq!(id.len(), 32);
    assert_eq!(
        cold["response"]["result"],
        json!({"echo": {"bound": 1, "x": 1}})
    );
    assert!(
        annotation(&cold, "initTime").is_some(),
        "first call is cold"
    );
    assert!(annotation(&cold, "waitTime").is_some());
    let (_, _, warm) = api.invoke("echo", "blocking=true", json!({})).await;
    assert!(
        annotation(&warm, "initTime").is_none(),
        "second call is warm: {warm}"
    );
    let (status, _, result) = api
        .invoke("echo", "blocking=true&result=true", json!({"y": 2}))
        .await;
    assert_eq!(
        (status, result),
        (200, json!({"echo": {"bound": 1, "y": 2}}))
    );

    // Non-blocking: 202 with the id, then the record, its logs and result.
    let (status, headers, body) = api.invoke("echo", "", json!({"z": 3})).await;
    assert_eq!(status, 202);
    let id = body["activationId"].as_str().unwrap().to_owned();
    assert_eq!(headers["x-openwhisk-activation-id"], id.as_str());
    let mut record = Value::Null;
    for _ in 0..100 {
        let (status, body) = api.get(&format!("activations/{id}")).await;
        if status == 200 {
            record = body;
            break;
        }
        assert_eq!(status, 404);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(record["response"]["status"], "success");
    assert_eq!(
        api.get(&format!("activations/{id}/result")).await.1["result"],
        json!({"echo": {"bound": 1, "z": 3}})
    );
    assert!(api.get(&format!("activations/{id}/logs")).await.1["logs"].is_array());
    assert_eq!(api.get("activations/0123").await.0, 400);
    assert_eq!(
        api.get("activations/0123456789abcdef0123456789abcdef")
            .await
            .0,
        404
    );

    // Lists: newest first, summaries carry statusCode, count, limit bounds.
    let (_, list) = api.get("activations?name=echo&limit=2").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["statusCode"], 0);
    assert!(list[0]["response"].is_null());
    assert!(list[0]["start"].as_u64() >= list[1]["start"].as_u64());
    assert_eq!(
        api.get("activations?count=true").await.1,
        json!({"activations": 4})
    );
    assert_eq!(api.get("activations?limit=201").await.0, 400);
    let (_, docs) = api.get("activations?docs=true&limit=1").await;
    assert!(docs[0]["response"]["success"].is_boolean());

    // Unknown action and unsupported kind.
    assert_eq!(api.invoke("nope", "blocking=true", json!({})).await.0, 404);
    let r = api
        .auth(
            api.http
                .put(format!("{}/api/v1/namespaces/_/actions/js", server.url())),
        )
        .json(&json!({"exec": {"kind": "nodejs:20", "code": "function main(){}"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("not supported"),
        "{body}"
    );

    // Delete.
    let r = api
        .auth(
            api.http
                .delete(format!("{}/api/v1/namespaces/_/actions/echo", server.url())),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(api.get("actions/echo").await.0, 404);
    server.stop().await;
}

/// The embedded platform with its warm instances in `containers`.
async fn platform_with(dir: &std::path::Path, containers: Containers) -> owbench::platform::Server {
    start_platform(dir, |c| {
        c.containers = containers;
        c.runtime_program = Some(env!("CARGO_BIN_EXE_owbench").into());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_classified_as_openwhisk_does() {
    failures_are_classified(Containers::InProcess).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_in_process_containers_are_classified_as_openwhisk_does() {
    failures_are_classified(Containers::Process).await;
}

async fn failures_are_classified(containers: Containers) {
    let dir = tempfile::tempdir().unwrap();
    let server = platform_with(dir.path(), containers).await;
    let api = Api::new(server.url());
    let misbehave = std::fs::read(owbench_components::fixtures::MISBEHAVE).unwrap();
    // A process container's cold start (a process, then `/init`) must fit in the time
    // limit too: on a busy machine that can take more than the 300 ms given in-process.
    let timeout = match containers {
        Containers::InProcess => 300,
        Containers::Process => 5000,
    };
    api.put(
        "bad",
        &misbehave,
        json!({"limits": {"timeout": timeout, "memory": 64}}),
        false,
    )
    .await;

    // Application error: 502, the record, no top-level `code`.
    let (status, _, body) = api
        .invoke("bad", "blocking=true", json!({"mode": "fail"}))
        .await;
    assert_eq!(status, 502);
    assert!(body.get("code").is_none(), "{body}");
    assert_eq!(body["response"]["status"], "application error");
    assert_eq!(body["response"]["result"]["error"], "failed on purpose");

    // Developer errors: trap, timeout (annotated), memory.
    let (status, _, body) = api
        .invoke("bad", "blocking=true", json!({"mode": "trap"}))
        .await;
    assert_eq!(status, 502);
    assert_eq!(body["response"]["status"], "action developer error");
    let (_, _, body) = api
        .invoke("bad", "blocking=true", json!({"mode": "loop"}))
        .await;
    assert_eq!(body["response"]["status"], "action developer error");
    assert_eq!(
        body["response"]["result"]["error"],
        format!("The action exceeded its time limits of {timeout} milliseconds.")
    );
    assert_eq!(annotation(&body, "timeout"), Some(&json!(true)));
    let (_, _, body) = api
        .invoke("bad", "blocking=true", json!({"mode": "alloc"}))
        .await;
    assert_eq!(
        body["response"]["result"]["error"],
        "The action exhausted its memory and was aborted."
    );

    // After the traps the action still works (a fresh instance replaces the broken one).
    let (status, _, body) = api
        .invoke("bad", "blocking=true&result=true", json!({"mode": "ok"}))
        .await;
    assert_eq!((status, body), (200, json!({"ok": true})));

    // A component that is not one: a developer error at init, not a crash.
    api.put("junk", b"definitely not wasm", json!({}), false)
        .await;
    let (status, _, body) = api.invoke("junk", "blocking=true", json!({})).await;
    assert_eq!(status, 502);
    assert_eq!(body["response"]["status"], "action developer error");
    // In-process the platform words it; a process container's `/init` answer is the
    // result, as OpenWhisk's invoker takes it.
    let error = body["response"]["result"]["error"].as_str().unwrap();
    let expected = match containers {
        Containers::InProcess => "initialization",
        Containers::Process => "junk",
    };
    assert!(error.contains(expected) && !error.contains('\n'), "{body}");

    // Malformed body, oversize payload.
    let r = api
        .auth(api.http.post(format!(
            "{}/api/v1/namespaces/_/actions/bad?blocking=true",
            server.url()
        )))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let big = json!({"blob": "x".repeat(1 << 20)});
    assert_eq!(api.invoke("bad", "blocking=true", big).await.0, 413);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttles_answer_429_and_long_blocking_calls_202() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_platform(dir.path(), |c| {
        c.concurrent_invocations = 1;
        c.max_blocking_wait = Duration::from_millis(200);
    })
    .await;
    let api = Api::new(server.url());
    let misbehave = std::fs::read(owbench_components::fixtures::MISBEHAVE).unwrap();
    // A peer that takes the connection and never answers: the call stays in flight,
    // however slow the machine, until the test closes it.
    let hold = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held = format!("http://{}", hold.local_addr().unwrap());
    api.put(
        "slow",
        &misbehave,
        json!({"limits": {"timeout": 300000, "memory": 64},
               "annotations": [{"key": "allowed-outbound-hosts", "value": [held]}]}),
        false,
    )
    .await;

    // A blocking call that outlasts the wait turns into 202 with the id.
    let (status, headers, body) = api
        .invoke(
            "slow",
            "blocking=true",
            json!({"mode": "get", "url": format!("{held}/")}),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        headers["x-openwhisk-activation-id"],
        body["activationId"].as_str().unwrap()
    );
    // It is still in flight: the concurrency throttle answers 429 like OpenWhisk.
    let (status, _, body) = api
        .invoke("slow", "blocking=true", json!({"mode": "ok"}))
        .await;
    assert_eq!(status, 429);
    assert_eq!(
        body["error"],
        "Too many concurrent requests in flight (count: 1, allowed: 1)."
    );
    assert!(body["code"].is_string());
    // Closing the peer resets the held connection: the call ends at once.
    drop(hold);
    server.stop().await;

    let server = start_platform(dir.path(), |c| c.invocations_per_minute = 0).await;
    let api = Api::new(server.url());
    let (status, _, body) = api
        .invoke("slow", "blocking=true", json!({"mode": "ok"}))
        .await;
    assert_eq!(status, 429);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Too many requests in the last minute")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_and_activations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_platform(dir.path(), |_| {}).await;
    let api = Api::new(server.url());
    api.put("echo", builtin_wasm("noop"), json!({}), false)
        .await;
    let (_, _, record) = api.invoke("echo", "blocking=true", json!({"k": "v"})).await;
    let id = record["activationId"].as_str().unwrap().to_owned();
    server.stop().await;

    let server = start_platform(dir.path(), |_| {}).await;
    let api = Api::new(server.url());
    let (status, again) = api.get(&format!("activations/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(again["response"], record["response"]);
    let (status, _, _) = api.invoke("echo", "blocking=true", json!({})).await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_npm_openwhisk_client_works_against_serve() {
    npm_client_works(Containers::InProcess).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_npm_openwhisk_client_works_against_serve_with_process_containers() {
    npm_client_works(Containers::Process).await;
}

async fn npm_client_works(containers: Containers) {
    let node_modules = npm_package("openwhisk@3.21.9");
    let dir = tempfile::tempdir().unwrap();
    let server = platform_with(dir.path(), containers).await;
    let wasm = dir.path().join("noop.wasm");
    std::fs::write(&wasm, builtin_wasm("noop")).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js/openwhisk-client.js");
    let out = tokio::process::Command::new("node")
        .arg(script)
        .env("NODE_PATH", &node_modules)
        .env("OW_APIHOST", server.url())
        .env("OW_AUTH", GUEST_KEY)
        .env("WASM_PATH", &wasm)
        .output()
        .await
        .expect("node must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    server.stop().await;
}

#[tokio::test]
async fn blackbox_actions_with_the_runtime_image_run_like_wasm_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_platform(dir.path(), |_| {}).await;
    let api = Api::new(server.url());
    // `GET /` lists the `wasm` family in OpenWhisk's format, with the runtime image.
    let info: Value = reqwest::get(format!("{}/", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wasm = &info["runtimes"]["wasm"][0];
    assert_eq!(wasm["kind"], "wasm");
    assert!(
        wasm["image"]
            .as_str()
            .unwrap()
            .starts_with("owbench/runtime:"),
        "{info}"
    );
    for field in ["deprecated", "default", "attached", "requireMain"] {
        assert!(wasm[field].is_boolean(), "{field}: {info}");
    }

    let code = base64::engine::general_purpose::STANDARD.encode(builtin_wasm("noop"));
    let put = |image: &str| {
        let body =
            json!({"exec": {"kind": "blackbox", "image": image, "code": code, "binary": true}});
        let url = format!(
            "{}/api/v1/namespaces/_/actions/bb?overwrite=true",
            server.url()
        );
        api.auth(api.http.put(url)).json(&body).send()
    };
    let refused = put("openwhisk/dockerskeleton").await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("owbench/runtime"),
        "{body}"
    );

    assert_eq!(put("owbench/runtime:0.1.0").await.unwrap().status(), 200);
    let (status, action) = api.get("actions/bb").await;
    assert_eq!(status, 200);
    assert_eq!(action["exec"]["kind"], "blackbox");
    assert_eq!(action["exec"]["image"], "owbench/runtime:0.1.0");
    assert_eq!(annotation(&action, "exec"), Some(&json!("blackbox")));
    let (status, _, record) = api
        .invoke("bb", "blocking=true", json!({"via": "blackbox"}))
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        record["response"]["result"],
        json!({"echo": {"via": "blackbox"}})
    );
    assert_eq!(annotation(&record, "kind"), Some(&json!("blackbox")));
    server.stop().await;
}

/// Process ids of this test process's `owbench runtime` children whose command line holds
/// `args` (NUL-separated, as `/proc/<pid>/cmdline` keeps them).
fn runtime_children_with(args: &str) -> Vec<u32> {
    let me = std::process::id();
    let pids = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok());
    pids.filter(|pid| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The parent is the second field after the command name's `)`.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        parent == Some(me) && String::from_utf8_lossy(&cmdline).contains(args)
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_container_killed_mid_run_is_a_developer_error_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let server = platform_with(dir.path(), Containers::Process).await;
    let api = Api::new(server.url());
    let misbehave = std::fs::read(owbench_components::fixtures::MISBEHAVE).unwrap();
    // 77 MB: a memory limit no other test's containers have, to find this one's process.
    api.put(
        "victim",
        &misbehave,
        json!({"limits": {"timeout": 60000, "memory": 77}}),
        false,
    )
    .await;
    let (status, _, _) = api
        .invoke("victim", "blocking=true", json!({"mode": "ok"}))
        .await;
    assert_eq!(status, 200);
    let mine = "--memory-mb\u{0}77\u{0}";
    assert_eq!(runtime_children_with(mine).len(), 1, "one warm container");

    // A run that would loop for a minute; its container is killed under it (or, on a slow
    // machine, just before `/run` reaches it: the same developer error).
    let kill = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        for pid in runtime_children_with(mine) {
            let killed = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
            assert!(killed.success());
        }
    };
    let ((status, _, body), ()) = tokio::join!(
        api.invoke("victim", "blocking=true", json!({"mode": "loop"})),
        kill
    );
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["response"]["status"], "action developer error");
    assert!(
        body["response"]["result"]["error"]
            .as_str()
            .unwrap()
            .contains("exited unexpectedly"),
        "{body}"
    );

    // The next activation gets a new process.
    let (status, _, body) = api
        .invoke("victim", "blocking=true", json!({"mode": "ok"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        annotation(&body, "initTime").is_some(),
        "a cold start: {body}"
    );
    server.stop().await;
}
