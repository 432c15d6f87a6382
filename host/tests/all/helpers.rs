use std::path::PathBuf;
use std::sync::Arc;

use owbench::workloads;
use owbench_plugin::catalog::Source;
use owbench_plugin::{EngineConfig, PluginEngine, WorkloadPlugin};

/// A compilation cache shared by every test (and by the CLI tests), so each component
/// is compiled once per test run.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasmtime-cache")
}

/// The run history the CLI tests share unless they pass `--db` (never the user's own).
pub fn shared_db() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("history.sqlite")
}

/// A small engine of our own: pooling on (the production path), a few instances, and
/// `private-networks` granted (`--allow-private-networks`): the tests' servers are on
/// loopback. `engine_granting_private_networks(false)` is the default's refusal.
pub fn engine_with_scratch(scratch_root: PathBuf) -> Arc<PluginEngine> {
    let config = EngineConfig {
        cache_dir: Some(cache_dir()),
        scratch_root,
        max_instances: 16,
        private_networks: true,
        ..EngineConfig::default()
    };
    Arc::new(PluginEngine::new(config).expect("engine"))
}

pub fn engine() -> Arc<PluginEngine> {
    engine_with_scratch(std::env::temp_dir())
}

/// An engine as `owbench` makes one by default: no private address granted, or every
/// one (`private-networks`).
pub fn engine_granting_private_networks(granted: bool) -> Arc<PluginEngine> {
    let config = EngineConfig {
        cache_dir: Some(cache_dir()),
        max_instances: 16,
        private_networks: granted,
        ..EngineConfig::default()
    };
    Arc::new(PluginEngine::new(config).expect("engine"))
}

/// The `misbehave` fixture's manifest, with `extra` appended to its `[limits]` table.
pub fn misbehave_manifest(world: &str, limits: &str) -> String {
    format!(
        "name = \"misbehave\"\nversion = \"0.1.0\"\nworld = \"owbench:plugin/{world}\"\n\
         component = \"plugin.wasm\"\n[limits]\n{limits}\n"
    )
}

/// A plugin directory holding `manifest` and the component `wasm` (a path, copied).
pub fn plugin_dir(manifest: &str, wasm: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plugin.toml"), manifest).unwrap();
    if let Some(wasm) = wasm {
        std::fs::copy(wasm, dir.path().join("plugin.wasm")).unwrap();
    }
    dir
}

/// The `misbehave` fixture with 64 MiB and 2 s limits.
pub fn misbehave_dir() -> tempfile::TempDir {
    plugin_dir(
        &misbehave_manifest("workload@0.4.0", "memory_mb = 64\ntimeout_ms = 2000"),
        Some(owbench_components::fixtures::MISBEHAVE),
    )
}

pub async fn load_dir(
    engine: &PluginEngine,
    dir: &std::path::Path,
) -> Result<WorkloadPlugin, owbench_plugin::PluginError> {
    workloads::load(engine, &Source::Dir(dir.to_path_buf())).await
}

pub async fn load_builtin(engine: &PluginEngine, name: &str) -> WorkloadPlugin {
    let source = workloads::resolve(name, &[]).unwrap();
    workloads::load(engine, &source).await.unwrap()
}

/// The component bytes of a built-in workload.
pub fn builtin_wasm(name: &str) -> &'static [u8] {
    owbench_components::WORKLOADS
        .iter()
        .find(|b| {
            owbench_plugin::manifest::Manifest::parse(b.manifest).is_ok_and(|m| m.name == name)
        })
        .map(|b| b.wasm)
        .expect("built-in workload")
}

/// The embedded platform on an ephemeral loopback port, its database in `dir`.
pub async fn start_platform(
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut owbench::platform::PlatformConfig),
) -> owbench::platform::Server {
    let mut config = owbench::platform::PlatformConfig::new(dir.join("platform.sqlite"));
    tweak(&mut config);
    let platform = owbench::platform::Platform::new(config, engine()).expect("platform");
    owbench::platform::serve(Arc::new(platform), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .expect("serve")
}

/// An npm package (`name@version`, from the npm registry), installed once into the
/// target directory; its `node_modules`, for `NODE_PATH`.
pub fn npm_package(spec: &str) -> PathBuf {
    let name = spec.rsplit_once('@').map_or(spec, |(n, _)| n);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("npm-{name}"));
    if !dir
        .join("node_modules")
        .join(name)
        .join("package.json")
        .is_file()
    {
        std::fs::create_dir_all(&dir).unwrap();
        let status = std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(spec)
            .status()
            .expect("npm must be installed (Node 20)");
        assert!(status.success(), "npm install {spec} failed");
    }
    dir.join("node_modules")
}

/// The Python of a virtual environment with `packages` from PyPI, made once in the
/// target directory (`name` names it).
pub fn python_with(name: &str, packages: &[&str]) -> PathBuf {
    static MADE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("venv-{name}"));
    let python = dir.join("bin").join("python");
    let ready = dir.join("READY");
    if std::fs::read_to_string(&ready).ok().as_deref() != Some(&packages.join(" ")) {
        let status = std::process::Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&dir)
            .status()
            .expect("python3 must be installed (3.11)");
        assert!(status.success(), "python3 -m venv {} failed", dir.display());
        let status = std::process::Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages)
            .status()
            .unwrap();
        assert!(status.success(), "pip install {packages:?} failed");
        std::fs::write(&ready, packages.join(" ")).unwrap();
    }
    python
}

/// The result of built-in workload `name`'s component called once with `params`.
pub async fn wasm_result(name: &str, params: serde_json::Value) -> serde_json::Value {
    let engine = engine();
    let plugin = load_builtin(&engine, name).await;
    let outcome = plugin
        .call(&engine, &params.to_string(), plugin.default_limits())
        .await;
    let text = outcome.result.unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The result of the native build of workload `name` (run off the async threads).
#[cfg(feature = "native")]
pub async fn native_result(name: &'static str, params: String) -> serde_json::Value {
    let text = tokio::task::spawn_blocking(move || {
        owbench::workloads::run_native(name, &params)
            .unwrap()
            .result
            .unwrap()
    })
    .await
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Why a call of `plugin` with `params` and its default limits fails (it must fail).
pub async fn failure(
    engine: &PluginEngine,
    plugin: &WorkloadPlugin,
    params: serde_json::Value,
) -> owbench_plugin::PluginError {
    plugin
        .call(engine, &params.to_string(), plugin.default_limits())
        .await
        .result
        .unwrap_err()
}

/// Start a test server: `python script args`, which prints one JSON line describing
/// itself and serves until its stdin closes. The child and that line.
#[cfg_attr(not(feature = "providers"), allow(dead_code))]
pub fn spawn_server(
    python: &std::path::Path,
    script: &str,
    args: &[&std::ffi::OsStr],
) -> (std::process::Child, serde_json::Value) {
    use std::io::BufRead as _;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    let mut child = std::process::Command::new(python)
        .arg(&script)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("{} did not start ({e}): {line:?}", script.display()));
    (child, v)
}

/// A loopback port that refuses connections for as long as the returned socket lives:
/// bound (so nothing else can take it) and never listening.
pub fn refusing_port() -> (tokio::net::TcpSocket, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let addr = socket.local_addr().expect("bound address");
    (socket, addr)
}
