//! Workloads written in Python: the template (its tests, its build, a bench), the ports
//! of the suites' Python functions (each checked against CPython running the same file,
//! then all benched on the embedded platform), and what goes wrong said in one line.
//!
//! componentize-py comes from PyPI (the first build installs it into the shared cache);
//! the components are cached by the SHA-256 of what goes into them, so a CI run builds
//! each once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::cli::assert_one_line_error;
use crate::helpers::cache_dir;

/// Where the Python builds of every test keep componentize-py, requirements and
/// components.
fn python_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-cache")
}

/// The ports, as their directories under `workloads/python`.
const PORTS: &[&str] = &[
    "float-operation",
    "pyaes",
    "chameleon",
    "json-dumps-loads",
    "dynamic-html",
    "compression",
];

fn owbench(args: &[&str]) -> Output {
    owbench_in(args, &[])
}

fn owbench_in(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_owbench"))
        .args(args)
        .env("OWBENCH_CACHE_DIR", cache_dir())
        .env("OWBENCH_PYTHON_CACHE", python_cache())
        .env("OWBENCH_DB", crate::helpers::shared_db())
        .env_remove("OWBENCH_PLUGIN_PATH")
        .env_remove("OWBENCH_COMPONENTIZE_PY")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run owbench")
}

fn ok(args: &[&str]) -> String {
    let out = owbench(args);
    assert!(
        out.status.success(),
        "owbench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `owbench workload run DIR --json` (with `extra` arguments): its report.
fn run_json(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["workload", "run", dir.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).unwrap()
}

/// A copy of the port `name` in `into`, so that building it writes nothing into the
/// checkout.
fn port(name: &str, into: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workloads/python")
        .join(name);
    let to = into.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    to
}

/// `owbench bench` on `spec` (TOML) with the plugin directories under `plugins`,
/// results under the returned directory's `results`.
fn run_bench(spec: &str, plugins: &Path) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.toml");
    std::fs::write(&path, spec).unwrap();
    let results = dir.path().join("results");
    let out = owbench(&[
        "bench",
        path.to_str().unwrap(),
        "--quiet",
        "--plugin-dir",
        plugins.to_str().unwrap(),
        "-o",
        results.to_str().unwrap(),
    ]);
    (out, dir)
}

/// Run `spec` (TOML) with the plugin directories under `plugins`; its summary.
fn bench(spec: &str, plugins: &Path) -> serde_json::Value {
    let (out, dir) = run_bench(spec, plugins);
    assert!(
        out.status.success(),
        "bench: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = std::fs::read_dir(dir.path().join("results"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_new_python_workload_tests_builds_runs_natively_and_benches() {
    let parent = tempfile::tempdir().unwrap();
    let created = ok(&[
        "plugin",
        "new",
        "workload",
        "hello-py",
        "--lang",
        "python",
        "--dir",
        parent.path().to_str().unwrap(),
    ]);
    assert!(
        created.starts_with("created workload `hello-py`"),
        "{created}"
    );
    let dir = parent.path().join("hello-py");

    let tested = Command::new("python3")
        .args(["-m", "unittest", "-v"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&tested.stderr);
    assert!(tested.status.success(), "{report}");
    assert!(report.contains("Ran 2 tests"), "{report}");

    // Not built yet: said so, with the command that builds it.
    assert_one_line_error(
        &owbench(&["workload", "run", dir.to_str().unwrap()]),
        "not built yet: run `owbench plugin build",
    );
    let built = ok(&["plugin", "build", dir.to_str().unwrap()]);
    assert!(built.starts_with("built "), "{built}");
    let again = ok(&["plugin", "build", dir.to_str().unwrap()]);
    assert!(again.contains("unchanged: from the cache"), "{again}");
    // A changed module is built again; the tests (test_*.py) are not part of it. The
    // change is new to this run (the cache outlives it): a comment naming its directory.
    let app = dir.join("app.py");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(&app, format!("{text}# changed in {}\n", dir.display())).unwrap();
    let rebuilt = ok(&["plugin", "build", dir.to_str().unwrap()]);
    assert!(!rebuilt.contains("from the cache"), "{rebuilt}");
    std::fs::write(&app, &text).unwrap();
    std::fs::write(dir.join("test_more.py"), "# another test module\n").unwrap();
    let same = ok(&["plugin", "build", dir.to_str().unwrap()]);
    assert!(same.contains("unchanged: from the cache"), "{same}");

    let wasm = run_json(&dir, &["-p", "who=py"]);
    assert_eq!(wasm["mode"], "wasm");
    assert_eq!(wasm["result"]["greeting"], "hello, py");
    assert_eq!(wasm["metrics"][0]["name"], "name_bytes");
    let native = run_json(&dir, &["-p", "who=py", "--native"]);
    assert_eq!(native["mode"], "native");
    assert_eq!(native["result"], wasm["result"]);
    assert_eq!(native["logs"][0]["message"], "greeting py");

    // Bad parameters are the workload's error, in one line, from either runtime.
    for extra in [&[][..], &["--native"][..]] {
        let mut args = vec!["workload", "run", dir.to_str().unwrap(), "-p", "who=\"\""];
        args.extend_from_slice(extra);
        assert_one_line_error(&owbench(&args), "`who` must be a non-empty string");
    }

    let summary = bench(
        "name = \"hello-py\"\ncount = 5\n[load]\nmodel = \"closed\"\nconcurrency = 1\n\
         [[workload]]\nname = \"hello-py\"\n",
        parent.path(),
    );
    assert_eq!(summary["workloads"][0]["outcomes"]["ok"], 5, "{summary}");
}

#[test]
fn every_port_agrees_with_cpython_and_runs_through_bench() {
    let plugins = tempfile::tempdir().unwrap();
    let mut spec = String::from(
        "name = \"python-ports\"\ncount = 2\n[load]\nmodel = \"closed\"\nconcurrency = 1\n",
    );
    for name in PORTS {
        let dir = port(name, plugins.path());
        ok(&["plugin", "build", dir.to_str().unwrap()]);
        let wasm = run_json(&dir, &[]);
        let native = run_json(&dir, &["--native"]);
        assert_eq!(native["mode"], "native");
        if *name == "float-operation" {
            // sin and cos come from wasi-libc's libm in the component and from the
            // machine's natively: the sum of 100,000 of them agrees to 1e-9.
            let (a, b) = (
                wasm["result"]["sum"].as_f64().unwrap(),
                native["result"]["sum"].as_f64().unwrap(),
            );
            assert!(((a - b) / b).abs() < 1e-9, "{name}: {a} vs {b}");
            assert_eq!(wasm["result"]["n"], native["result"]["n"]);
        } else {
            assert_eq!(wasm["result"], native["result"], "{name}");
        }
        spec.push_str(&format!("[[workload]]\nname = \"{name}\"\n"));
    }
    let summary = bench(&spec, plugins.path());
    for (i, name) in PORTS.iter().enumerate() {
        let workload = &summary["workloads"][i];
        assert_eq!(workload["name"], *name, "{summary}");
        assert_eq!(workload["outcomes"]["ok"], 2, "{name}: {summary}");
    }
}

/// Run `spec` (TOML) with the plugin directories under `plugins`, expecting a one-line
/// error containing `message`; nothing may be recorded.
fn bench_refused(spec: &str, plugins: &Path, message: &str) {
    let (out, dir) = run_bench(spec, plugins);
    assert_one_line_error(&out, message);
    assert!(
        !dir.path().join("results").exists(),
        "a refused spec recorded something"
    );
}

/// The files of a zip, by name.
fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read as _;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().unwrap().to_string(), data)
        })
        .collect()
}

/// The same Python workloads deployed as stock OpenWhisk `python:3` actions (`as =
/// "python"`): refused by the embedded platform in one line; against an OpenWhisk with
/// a `python:3` runtime (a double that runs the zip as OpenWhisk's Python runtime does,
/// with CPython), the action document is the zip OpenWhisk documents (`__main__.py`,
/// `main`, binary), what the actions return is what CPython returns natively, and the
/// zip is the one `plugin build --action-zip` writes.
#[tokio::test]
async fn python_workloads_deploy_as_stock_python_actions() {
    use base64::Engine as _;
    let plugins = tempfile::tempdir().unwrap();
    let names = ["pyaes", "dynamic-html"];
    let dirs: Vec<PathBuf> = names.iter().map(|n| port(n, plugins.path())).collect();
    let params = [
        r#"{"length_of_message": 300, "num_of_iterations": 2, "seed": 7}"#,
        r#"{"username": "owbench", "random_len": 50, "seed": 7}"#,
    ];
    let mut workloads = String::new();
    for (name, params) in names.iter().zip(params) {
        let params: serde_json::Value = serde_json::from_str(params).unwrap();
        let params: Vec<String> = params
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        workloads.push_str(&format!(
            "[[workload]]\nname = \"{name}\"\nas = \"python\"\nparams = {{ {} }}\n",
            params.join(", ")
        ));
    }
    let head = "name = \"as-python\"\ncount = 3\n[load]\nmodel = \"closed\"\nconcurrency = 1\n";

    // The embedded platform runs components only.
    bench_refused(
        &format!("{head}{workloads}"),
        plugins.path(),
        "the embedded platform runs components only",
    );

    let auth = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";
    let (mut openwhisk, started) = crate::helpers::spawn_server(
        Path::new("python3"),
        "python_openwhisk.py",
        &[std::ffi::OsStr::new(auth)],
    );
    let apihost = format!("http://127.0.0.1:{}", started["port"]);
    let summary = bench(
        &format!(
            "{head}[target]\nkind = \"openwhisk\"\napihost = \"{apihost}\"\nauth = \"{auth}\"\n{workloads}"
        ),
        plugins.path(),
    );

    let client = reqwest::Client::new();
    let (user, key) = auth.split_once(':').unwrap();
    let get = async |path: String| -> serde_json::Value {
        let response = client
            .get(format!("{apihost}/api/v1/namespaces/_/{path}"))
            .basic_auth(user, Some(key))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "GET {path}");
        response.json().await.unwrap()
    };
    for (i, ((name, dir), params)) in names.iter().zip(&dirs).zip(params).enumerate() {
        let label = format!("{name}-python");
        let workload = &summary["workloads"][i];
        assert_eq!(workload["name"], label.as_str(), "{summary}");
        // The target's default Python 3 kind.
        assert_eq!(workload["kind"], "python:3.10", "{summary}");
        assert_eq!(workload["outcomes"]["ok"], 3, "{name}: {summary}");

        // The action document, as the client sent it.
        let action = get(format!("actions/owbench-{label}")).await;
        let exec = &action["exec"];
        assert_eq!(exec["kind"], "python:3.10", "{action}");
        assert_eq!(exec["binary"], true, "{action}");
        assert_eq!(exec["main"], "main", "{action}");
        let zip = base64::engine::general_purpose::STANDARD
            .decode(exec["code"].as_str().unwrap())
            .unwrap();
        let files = unzip(&zip);
        let main = String::from_utf8(files["__main__.py"].clone()).unwrap();
        assert!(
            main.contains("import app")
                && main.contains("from owbench_workload.openwhisk import main"),
            "{main}"
        );
        for needed in [
            "app.py",
            "owbench_workload/__init__.py",
            "owbench_workload/openwhisk.py",
        ] {
            assert!(files.contains_key(needed), "{name}: no {needed} in the zip");
        }
        assert!(
            !files.keys().any(|f| f.ends_with(".so")
                || f.ends_with("plugin.toml")
                || f.contains("_component")
                || f.contains("__pycache__")),
            "{name}: {:?}",
            files.keys().collect::<Vec<_>>()
        );
        if *name == "dynamic-html" {
            assert!(
                files.contains_key("jinja2/__init__.py"),
                "jinja2 is bundled"
            );
        }

        // What the action returned is what CPython returns natively.
        let native = run_json(dir, &["--native", "--params-json", params]);
        let records = get(format!("activations?name=owbench-{label}&docs=true")).await;
        let records = records.as_array().unwrap();
        assert_eq!(records.len(), 3, "{name}");
        for record in records {
            assert_eq!(record["response"]["result"], native["result"], "{name}");
        }

        // `plugin build --action-zip` writes the same bytes.
        let written = plugins.path().join(format!("{name}.zip"));
        ok(&[
            "plugin",
            "build",
            dir.to_str().unwrap(),
            "--action-zip",
            written.to_str().unwrap(),
        ]);
        assert!(
            std::fs::read(&written).unwrap() == zip,
            "{name}: another zip"
        );
    }

    // A file whose name OpenWhisk's Python runtime reads itself is refused, in one line,
    // before anything is deployed or recorded.
    let odd = python_plugin(plugins.path(), "odd", &minimal_app("odd", "odd"), None);
    std::fs::write(odd.join("requirements.txt"), "six\n").unwrap();
    bench_refused(
        &format!(
            "{head}[target]\nkind = \"openwhisk\"\napihost = \"{apihost}\"\nauth = \"{auth}\"\n\
             [[workload]]\nname = \"odd\"\nas = \"python\"\n"
        ),
        plugins.path(),
        "`requirements.txt` cannot go into a python:3 action",
    );
    drop(openwhisk.stdin.take());
    let _ = openwhisk.wait();
}

/// A loopback HTTP server for the test's life: `/data` answers `body`, `/moved`
/// redirects there (302), anything else is 404.
async fn serve_bytes(body: Vec<u8>) -> std::net::SocketAddr {
    let app = axum::Router::new()
        .route(
            "/data",
            axum::routing::get(move || {
                let body = body.clone();
                async move { ([("content-type", "application/octet-stream")], body) }
            }),
        )
        .route(
            "/moved",
            axum::routing::get(|| async {
                (axum::http::StatusCode::FOUND, [("location", "/data")], "")
            }),
        )
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "no such thing") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// `http_get` from the SDK: through `wasi:http` in the component and urllib natively,
/// with the same answers (a body's checksum, a 404); a private address refused unless
/// granted, in one line; a refused connection a failure naming the URL; and a bench
/// reading the run's loopback object endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_gets_urls_in_the_component_as_natively() {
    let parent = tempfile::tempdir().unwrap();
    let dir = python_plugin(
        parent.path(),
        "fetch",
        "import hashlib\n\
         from owbench_workload import Failed, http_get, workload\n\n\
         @workload(name=\"fetch\", category=\"network\", description=\"GET url\")\n\
         def run(params):\n\
         \x20   got = http_get(params[\"url\"], timeout_s=10, max_bytes=params.get(\"max_bytes\", 1 << 28))\n\
         \x20   digest = hashlib.sha256(got.body).hexdigest()\n\
         \x20   if params.get(\"expect_sha256\", digest) != digest:\n\
         \x20       raise Failed(\"checksum mismatch\")\n\
         \x20   return {\"status\": got.status, \"bytes\": len(got.body), \"sha256\": digest,\n\
         \x20           \"type\": got.header(\"Content-Type\")}\n",
        None,
    );
    let manifest = dir.join("plugin.toml");
    let mut toml = std::fs::read_to_string(&manifest).unwrap();
    toml.push_str("[permissions]\nallowed_outbound_hosts = [\"{{ url }}\"]\n");
    std::fs::write(&manifest, toml).unwrap();
    let path = dir.to_str().unwrap().to_owned();
    tokio::task::spawn_blocking({
        let path = path.clone();
        move || ok(&["plugin", "build", &path])
    })
    .await
    .unwrap();

    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let addr = serve_bytes(body.clone()).await;
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            owbench(&args)
        })
    };
    let args = |url: &str, more: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["workload", "run", &path, "--json", "-p"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push(format!("url={url}"));
        a.extend(more.iter().map(|s| s.to_string()));
        a
    };
    let json = |out: Output| -> serde_json::Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    let data = format!("http://{addr}/data");
    let missing = format!("http://{addr}/missing");
    // Loopback is private: refused unless granted, in one line that says how.
    assert_one_line_error(
        &run(args(&data, &[])).await.unwrap(),
        "127.0.0.1 is a private address; name it literally",
    );
    // A redirect is not followed, either way: its own answer comes back.
    let moved = format!("http://{addr}/moved");
    for url in [&data, &missing, &moved] {
        let wasm = json(run(args(url, &["--allow-private-networks"])).await.unwrap());
        let native = json(run(args(url, &["--native"])).await.unwrap());
        assert_eq!(wasm["result"], native["result"], "{url}");
        if url == &data {
            let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body));
            assert_eq!(wasm["result"]["sha256"], digest.as_str());
            assert_eq!(wasm["result"]["type"], "application/octet-stream");
        } else if url == &moved {
            assert_eq!(wasm["result"]["status"], 302);
        } else {
            assert_eq!(wasm["result"]["status"], 404);
        }
    }

    // A body over `max_bytes` fails the call, in the same words either way.
    for more in [&["--allow-private-networks"][..], &["--native"]] {
        let mut a = args(&data, more);
        a.extend(["-p".to_owned(), "max_bytes=1000".to_owned()]);
        assert_one_line_error(
            &run(a).await.unwrap(),
            &format!("GET {data}: the body is over 1000 bytes"),
        );
    }

    // Nobody listens: a failure naming the URL, in the component as natively.
    let (_socket, refusing) = crate::helpers::refusing_port();
    let refused = format!("http://{refusing}/");
    for more in [&["--allow-private-networks"][..], &["--native"]] {
        let out = run(args(&refused, more)).await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: ")
                && last.ends_with(&format!("GET {refused}: connection refused")),
            "{more:?}: {stderr}"
        );
    }

    // Through `owbench bench` on the embedded platform, from the run's object endpoint
    // (granted to the action for the run).
    let spec = "name = \"fetch\"\ncount = 3\n[load]\nmodel = \"closed\"\nconcurrency = 1\n\
                [[workload]]\nname = \"fetch\"\nparams = { url = \"{{ object 100000 }}\" }\n"
        .to_owned();
    let plugins = parent.path().to_owned();
    let summary = tokio::task::spawn_blocking(move || bench(&spec, &plugins))
        .await
        .unwrap();
    assert_eq!(summary["workloads"][0]["outcomes"]["ok"], 3, "{summary}");
}

/// The smallest app: workload `name` returning `{}`.
fn minimal_app(name: &str, description: &str) -> String {
    format!(
        "from owbench_workload import workload\n\n\
         @workload(name=\"{name}\", category=\"cpu\", description=\"{description}\")\n\
         def run(params):\n    return {{}}\n"
    )
}

/// A Python workload in `parent/NAME` from `app` (and `requirements`).
fn python_plugin(parent: &Path, name: &str, app: &str, requirements: Option<&str>) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = format!(
        "name = \"{name}\"\nversion = \"0.1.0\"\nworld = \"owbench:plugin/workload@0.4.0\"\n\
         [build]\npython = \"app\"\n"
    );
    if let Some(text) = requirements {
        toml.push_str("requirements = \"requirements.txt\"\n");
        std::fs::write(dir.join("requirements.txt"), text).unwrap();
    }
    std::fs::write(dir.join("plugin.toml"), toml).unwrap();
    std::fs::write(dir.join("app.py"), app).unwrap();
    dir
}

#[test]
fn what_goes_wrong_in_python_is_said_in_one_line() {
    let parent = tempfile::tempdir().unwrap();

    // One component misbehaves as `mode` says (one build and one compile for three
    // cases: a Python component takes seconds to compile).
    let dir = python_plugin(
        parent.path(),
        "misbehaves",
        "from owbench_workload import workload\n\n\
         @workload(name=\"misbehaves\", category=\"cpu\", description=\"as told\")\n\
         def run(params):\n\
         \x20   if params[\"mode\"] == \"raise\":\n\
         \x20       return {\"x\": 1 / 0}\n\
         \x20   if params[\"mode\"] == \"set\":\n\
         \x20       return {\"x\": {1, 2}}\n\
         \x20   print(\"from print\")\n\
         \x20   print(\"no newline\", end=\"\")\n\
         \x20   return {}\n",
        None,
    );
    ok(&["plugin", "build", dir.to_str().unwrap()]);
    let path = dir.to_str().unwrap();

    // `run` raises: a failure with the exception's type and message; the traceback is
    // in the logs.
    for native in [false, true] {
        let mut args = vec!["workload", "run", path, "-p", "mode=raise", "--json"];
        if native {
            args.push("--native");
        }
        let out = owbench(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: ") && last.contains("ZeroDivisionError: division by zero"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked at"), "{stderr}");
        if !native {
            // The traceback, a log line per line.
            assert!(
                stderr
                    .lines()
                    .any(|l| l.ends_with("[error] Traceback (most recent call last):"))
                    && stderr
                        .lines()
                        .any(|l| l.ends_with("[error] ZeroDivisionError: division by zero")),
                "{stderr}"
            );
        }
    }

    // A result JSON cannot hold.
    assert_one_line_error(
        &owbench(&["workload", "run", path, "-p", "mode=set"]),
        "the result is not JSON",
    );

    // What a workload prints is logged, in the component as natively.
    let out = owbench(&["workload", "run", path, "-p", "mode=print"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("[info] from print") && stderr.contains("[info] no newline"),
        "{stderr}"
    );
    let native = run_json(&dir, &["-p", "mode=print", "--native"]);
    assert_eq!(native["logs"][0]["message"], "from print", "{native}");
    assert_eq!(native["logs"][1]["message"], "no newline", "{native}");

    // A requirement that needs its C extension: refused at build, named; nothing built.
    let dir = python_plugin(
        parent.path(),
        "needs-c",
        "import ujson\nfrom owbench_workload import workload\n\n\
         @workload(name=\"needs-c\", category=\"cpu\", description=\"uses ujson\")\n\
         def run(params):\n    return {\"x\": ujson.dumps(1)}\n",
        Some("ujson==5.10.0\n"),
    );
    assert_one_line_error(
        &owbench(&["plugin", "build", dir.to_str().unwrap()]),
        "requirement `ujson` needs a C extension",
    );
    assert!(!dir.join("needs-c.wasm").exists());

    // componentize-py cannot be installed (no package index): one line that says how.
    let fresh = tempfile::tempdir().unwrap();
    let dir = python_plugin(
        parent.path(),
        "offline",
        &minimal_app("offline", "never built"),
        None,
    );
    let out = owbench_in(
        &["plugin", "build", dir.to_str().unwrap()],
        &[
            ("OWBENCH_PYTHON_CACHE", fresh.path().to_str().unwrap()),
            ("PIP_NO_INDEX", "1"),
            // No local wheel directory either (some machines set one).
            ("PIP_FIND_LINKS", fresh.path().to_str().unwrap()),
        ],
    );
    assert_one_line_error(&out, "set OWBENCH_COMPONENTIZE_PY");

    // A module that registers another name than plugin.toml's: the build fails.
    let dir = python_plugin(
        parent.path(),
        "misnamed",
        &minimal_app("other", "wrong name"),
        None,
    );
    assert_one_line_error(
        &owbench(&["plugin", "build", dir.to_str().unwrap()]),
        "registers workload 'other' version '0.1.0', but plugin.toml says 'misnamed'",
    );

    // Not a Python plugin, and a module that is not there.
    let rust = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/noop");
    assert_one_line_error(
        &owbench(&["plugin", "build", rust.to_str().unwrap()]),
        "there is nothing to build",
    );
    std::fs::remove_file(dir.join("app.py")).unwrap();
    assert_one_line_error(
        &owbench(&["plugin", "build", dir.to_str().unwrap()]),
        "there is no",
    );
}
