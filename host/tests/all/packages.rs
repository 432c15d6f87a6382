//! Plugin packages end to end through the binary: pack, install with the user's grant,
//! resolve by `name` and `name@version` in `workload run` and `bench`, list, inspect,
//! remove; and every bad package refused with one line, nothing half-installed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::cli::assert_one_line_error;
use crate::helpers::*;
use owbench_plugin::package::{Artifact, digest_of};

/// A plugin store, a results directory and a run history of one test's own.
struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    fn store(&self) -> PathBuf {
        self.path().join("plugins")
    }

    /// `owbench ARGS` with this sandbox's store and Docker config `docker` (`None`: an
    /// empty one); stdin is not a terminal.
    fn command(&self, docker: Option<&Path>, args: &[&str]) -> Command {
        let empty = self.path().join("no-docker");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_owbench"));
        cmd.args(args)
            .env("OWBENCH_CACHE_DIR", cache_dir())
            .env("OWBENCH_DB", self.path().join("history.sqlite"))
            .env("OWBENCH_PLUGINS_DIR", self.store())
            .env("OWBENCH_STATE_DIR", self.path().join("clusters"))
            .env("DOCKER_CONFIG", docker.unwrap_or(&empty))
            .env_remove("OWBENCH_PLUGIN_PATH")
            .stdin(Stdio::null());
        cmd
    }

    fn owbench(&self, args: &[&str]) -> Output {
        self.command(None, args).output().expect("run owbench")
    }

    /// Run a bench spec of `text` here; its summary.
    fn bench(&self, text: &str) -> serde_json::Value {
        let spec = self.path().join("spec.toml");
        std::fs::write(&spec, text).unwrap();
        let results = self.path().join("results");
        _ = std::fs::remove_dir_all(&results);
        self.ok(&[
            "bench",
            spec.to_str().unwrap(),
            "--quiet",
            "-o",
            results.to_str().unwrap(),
        ]);
        let run_dir = std::fs::read_dir(&results)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let summary = std::fs::read_to_string(run_dir.join("summary.json")).unwrap();
        serde_json::from_str(&summary).unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.owbench(args);
        assert!(
            out.status.success(),
            "owbench {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Whatever is in the store besides empty name directories.
    fn installed(&self) -> Vec<PathBuf> {
        walk(&self.store())
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() { walk(&p) } else { vec![p] }
        })
        .collect()
}

/// The misbehave fixture's plugin.toml asking for `hosts`.
fn misbehave_toml(world: &str, hosts: &str) -> String {
    misbehave_manifest(world, "memory_mb = 64\ntimeout_ms = 2000").replace(
        "[limits]",
        &format!("[permissions]\nallowed_outbound_hosts = [{hosts}]\n[limits]"),
    )
}

fn misbehave_wasm() -> Vec<u8> {
    std::fs::read(owbench_components::fixtures::MISBEHAVE).unwrap()
}

#[test]
fn a_plugin_is_packed_installed_with_a_grant_run_benched_and_removed() {
    let sb = Sandbox::new();
    let dir = misbehave_dir();
    let file = sb.path().join("misbehave.owbench.tar.gz");
    let packed = sb.ok(&[
        "plugin",
        "pack",
        dir.path().to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(
        packed.starts_with("packed misbehave@0.1.0 (sha256:"),
        "{packed}"
    );

    // Not a terminal and no --yes: nothing is granted, nothing installed.
    let out = sb.owbench(&["plugin", "install", file.to_str().unwrap()]);
    assert_one_line_error(
        &out,
        "asks for: outbound HTTP to: none; memory: up to 64 MiB per call; time: up to 2000 ms per call; run again with --yes to grant it",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("misbehave@0.1.0 from file "));
    assert!(sb.installed().is_empty(), "{:?}", sb.installed());

    let installed = sb.ok(&["plugin", "install", "--yes", file.to_str().unwrap()]);
    assert!(
        installed.starts_with("installed misbehave@0.1.0 (workload, sha256:"),
        "{installed}"
    );
    let again = sb.owbench(&["plugin", "install", "--yes", file.to_str().unwrap()]);
    assert_one_line_error(&again, "misbehave@0.1.0 is already installed (from file ");

    // Listed and inspected with the digests the package was packed with.
    let list: serde_json::Value =
        serde_json::from_str(&sb.ok(&["plugin", "list", "--json"])).unwrap();
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "misbehave")
        .expect("listed");
    assert!(
        row["source"]
            .as_str()
            .unwrap()
            .starts_with("installed from file "),
        "{row}"
    );
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "noop" && r["source"] == "built-in")
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&sb.ok(&["plugin", "inspect", "misbehave@0.1.0", "--json"])).unwrap();
    let package_digest = packed.split(['(', ')']).nth(1).unwrap();
    assert_eq!(inspect["digests"]["package"], package_digest);
    assert_eq!(
        inspect["digests"]["component"],
        digest_of(&misbehave_wasm())
    );
    assert_eq!(inspect["world"], "owbench:plugin/workload@0.4.0");
    let exports: Vec<&str> = inspect["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        exports.contains(&"run") && exports.contains(&"describe"),
        "{exports:?}"
    );

    // Resolved by name and by name@version.
    let run: serde_json::Value = serde_json::from_str(&sb.ok(&[
        "workload",
        "run",
        "misbehave@0.1.0",
        "-p",
        "mode=ok",
        "--json",
    ]))
    .unwrap();
    assert_eq!(run["result"], serde_json::json!({"ok": true}));
    let summary = sb.bench(
        "name = \"installed\"\ncount = 4\n[target]\nkind = \"embedded\"\n[load]\nmodel = \"closed\"\n\
         concurrency = 2\n[[workload]]\nname = \"misbehave\"\nparams = { mode = \"ok\" }\n",
    );
    assert_eq!(summary["workloads"][0]["outcomes"]["ok"], 4, "{summary}");

    assert_eq!(
        sb.ok(&["plugin", "remove", "misbehave"]),
        "removed misbehave@0.1.0\n"
    );
    assert!(sb.installed().is_empty());
    let gone = sb.owbench(&["workload", "run", "misbehave@0.1.0"]);
    assert_one_line_error(&gone, "no installed plugin `misbehave@0.1.0`");
}

/// Write `package` as an archive and try to install it; the one-line error.
fn refused(sb: &Sandbox, archive: &[u8], needle: &str) {
    let file = sb.path().join("bad.tar.gz");
    std::fs::write(&file, archive).unwrap();
    let out = sb.owbench(&["plugin", "install", "--yes", file.to_str().unwrap()]);
    assert_one_line_error(&out, needle);
    assert!(sb.installed().is_empty(), "{:?}", sb.installed());
}

fn archive_of(artifact: &Artifact) -> Vec<u8> {
    let mut bytes = Vec::new();
    artifact.write_archive(&mut bytes).unwrap();
    bytes
}

/// A gzipped tar of raw entries: (path bytes, type, content); the path is written into
/// the header as is, as a hostile archive would.
fn raw_archive(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, kind, data) in entries {
        let mut header = tar::Header::new_old();
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        if kind.is_symlink() {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        tar.append(&header, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn bad_packages_are_refused_with_one_line_and_nothing_installed() {
    let sb = Sandbox::new();
    let toml = misbehave_toml("workload@0.4.0", "");
    let good = Artifact::pack(&toml, &misbehave_wasm()).unwrap();

    // A blob whose content does not match its digest.
    let mut tampered = good.clone();
    let wasm_digest = digest_of(&misbehave_wasm());
    let mut wasm = misbehave_wasm();
    *wasm.last_mut().unwrap() ^= 1;
    tampered.blobs.insert(wasm_digest.clone(), wasm);
    refused(
        &sb,
        &archive_of(&tampered),
        &format!("blob {wasm_digest}: content hashes to sha256:"),
    );

    // plugin.toml names another plugin than the component is.
    let other = Artifact::pack(
        &toml.replace("\"misbehave\"", "\"other\""),
        &misbehave_wasm(),
    )
    .unwrap();
    refused(&sb, &archive_of(&other), "cannot install other@0.1.0");

    // The manifest's annotations and plugin.toml disagree.
    let mut image = good.image().unwrap();
    image
        .annotations
        .insert("org.opencontainers.image.title".into(), "impostor".into());
    let disagree = Artifact {
        manifest: serde_json::to_vec(&image).unwrap(),
        blobs: good.blobs.clone(),
    };
    refused(
        &sb,
        &archive_of(&disagree),
        "the package's name is `impostor`, plugin.toml's `misbehave`",
    );

    // A component of another world than plugin.toml says.
    let provider =
        Artifact::pack(&misbehave_toml("provider@0.4.0", ""), &misbehave_wasm()).unwrap();
    refused(
        &sb,
        &archive_of(&provider),
        "cannot install misbehave@0.1.0",
    );

    // A plugin.toml this host refuses, its digests made right: another WIT version, or
    // other owbench versions.
    let with_toml = |text: &str| {
        let mut changed = good.clone();
        changed.blobs.remove(&digest_of(toml.as_bytes()));
        changed
            .blobs
            .insert(digest_of(text.as_bytes()), text.as_bytes().to_vec());
        let mut image = changed.image().unwrap();
        image.layers[1].digest = digest_of(text.as_bytes());
        image.layers[1].size = text.len() as u64;
        changed.manifest = serde_json::to_vec(&image).unwrap();
        changed
    };
    refused(
        &sb,
        &archive_of(&with_toml(&toml.replace("@0.4.0", "@0.5.0"))),
        "plugin targets `owbench:plugin@0.5.0`, but this owbench speaks `owbench:plugin@0.4.0`",
    );
    refused(
        &sb,
        &archive_of(&with_toml(&format!("owbench = \">=99\"\n{toml}"))),
        "plugin works with owbench >=99, but this is owbench ",
    );

    // Entries outside the layout.
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    for (path, kind, needle) in [
        (
            "../../evil",
            tar::EntryType::Regular,
            "archive entry `../../evil`: a path that leaves the package",
        ),
        (
            "blobs/../../evil",
            tar::EntryType::Regular,
            "a path that leaves the package",
        ),
        (
            "/etc/evil",
            tar::EntryType::Regular,
            "archive entry `/etc/evil`: an absolute path",
        ),
        (
            "blobs/sha256/link",
            tar::EntryType::Symlink,
            "archive entry `blobs/sha256/link`: a link",
        ),
        ("blobs/sha256/hard", tar::EntryType::Link, "a link"),
        (
            "notes.txt",
            tar::EntryType::Regular,
            "archive entry `notes.txt`: not a file of an OCI image layout",
        ),
    ] {
        let archive = raw_archive(&[
            ("oci-layout", tar::EntryType::Regular, layout),
            (path, kind, b"x"),
        ]);
        refused(&sb, &archive, needle);
    }

    // An archive that expands far past its size.
    let zeros = vec![0u8; 64 << 20];
    let name = format!("blobs/sha256/{}", "0".repeat(64));
    let bomb = raw_archive(&[(&name, tar::EntryType::Regular, &zeros)]);
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    refused(
        &sb,
        &bomb,
        "the archive expands to more than 100 times its size",
    );

    // Neither a file nor a plugin directory.
    let out = sb.owbench(&["plugin", "install", "--yes", "/no/such/package"]);
    assert_one_line_error(
        &out,
        "`/no/such/package` is neither a registry reference, a package file nor a plugin directory",
    );
}

#[test]
fn a_plugin_directory_installs_too_and_its_grant_is_asked_on_a_terminal() {
    let sb = Sandbox::new();
    let dir = plugin_dir(
        &misbehave_toml("workload@0.4.0", "\"https://example.com\""),
        Some(owbench_components::fixtures::MISBEHAVE),
    );
    // Answer "n" at the prompt through a pseudo-terminal-less pipe: refused as not a
    // terminal; the grant text names the host it asks for.
    let out = sb.owbench(&["plugin", "install", dir.path().to_str().unwrap()]);
    assert_one_line_error(&out, "outbound HTTP to: https://example.com:443");
    let installed = sb.ok(&["plugin", "install", "--yes", dir.path().to_str().unwrap()]);
    assert!(
        installed.contains("installed misbehave@0.1.0"),
        "{installed}"
    );
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sb.store().join("misbehave/0.1.0/package.json")).unwrap(),
    )
    .unwrap();
    assert!(
        record["origin"].as_str().unwrap().starts_with("directory "),
        "{record}"
    );
    assert_eq!(
        record["granted"]["outbound_hosts"],
        serde_json::json!(["https://example.com:443"])
    );
    // An installed plugin.toml edited to ask for more is refused until reinstalled.
    let toml = sb.store().join("misbehave/0.1.0/plugin.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&toml)
        .unwrap();
    f.write_all(
        text.replace("https://example.com", "https://example.org")
            .as_bytes(),
    )
    .unwrap();
    let out = sb.owbench(&["workload", "run", "misbehave"]);
    assert_one_line_error(
        &out,
        "its plugin.toml is not the one installed; reinstall it",
    );
}

/// Debian's `docker-registry` (the CNCF distribution registry) on a free loopback port,
/// its storage in a directory of its own; with basic auth (`user`, `secret`) when asked.
struct RegistryServer {
    child: std::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        _ = self.child.kill();
        _ = self.child.wait();
    }
}

impl RegistryServer {
    fn start(with_auth: bool) -> RegistryServer {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: {addr}\n",
            dir.path().join("data").display()
        );
        if with_auth {
            let python = python_with("bcrypt", &["bcrypt==4.2.1"]);
            let hash = Command::new(python)
                .args([
                    "-c",
                    "import bcrypt; print(bcrypt.hashpw(b'secret', bcrypt.gensalt(rounds=4)).decode())",
                ])
                .output()
                .unwrap();
            assert!(
                hash.status.success(),
                "{}",
                String::from_utf8_lossy(&hash.stderr)
            );
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(
                &htpasswd,
                format!("user:{}", String::from_utf8(hash.stdout).unwrap()),
            )
            .unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: owbench-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian's package; ci/test.sh installs it)");
        let server = RegistryServer {
            child,
            addr,
            _dir: dir,
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(&server.addr).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("docker-registry did not start on {}", server.addr);
    }
}

/// A Docker config directory holding `docker login` credentials for `registry`.
fn docker_config(sb: &Sandbox, registry: &str, user: &str, password: &str) -> PathBuf {
    use base64::Engine as _;
    let dir = sb.path().join("docker");
    std::fs::create_dir_all(&dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        dir.join("config.json"),
        serde_json::json!({"auths": {registry: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    dir
}

impl Sandbox {
    /// `owbench ARGS` with Docker's config in `docker` (`None`: an empty one).
    fn owbench_docker(&self, docker: Option<&Path>, args: &[&str]) -> Output {
        self.command(docker, args).output().expect("run owbench")
    }
}

fn succeeded(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn a_plugin_goes_through_a_registry_with_basic_auth_and_is_benched() {
    let registry = RegistryServer::start(true);
    let sb = Sandbox::new();
    let plugin = misbehave_dir();
    let dir = plugin.path().to_str().unwrap();
    let reference = format!("{}/owbench/misbehave:0.1.0", registry.addr);

    // No credentials, then wrong ones: one line each, nothing pushed.
    let out = sb.owbench_docker(None, &["plugin", "push", dir, &reference]);
    assert_one_line_error(
        &out,
        &format!(
            "401 Unauthorized; log in with `docker login {}`",
            registry.addr
        ),
    );
    let wrong = docker_config(&sb, &registry.addr, "user", "wrong");
    let out = sb.owbench_docker(Some(&wrong), &["plugin", "push", dir, &reference]);
    assert_one_line_error(&out, "the credentials were refused");

    let docker = docker_config(&sb, &registry.addr, "user", "secret");
    let pushed = succeeded(&sb.owbench_docker(Some(&docker), &["plugin", "push", dir, &reference]));
    assert!(
        pushed.starts_with(&format!("pushed misbehave@0.1.0 to {reference} (sha256:")),
        "{pushed}"
    );
    let digest = pushed
        .trim_end()
        .rsplit_once('(')
        .unwrap()
        .1
        .trim_end_matches(')');
    // Pushing the same package again uploads nothing new and names the same digest.
    let again = succeeded(&sb.owbench_docker(Some(&docker), &["plugin", "push", dir, &reference]));
    assert!(again.contains(digest), "{again}");

    // A tag that is not there: 404, one line, nothing installed.
    let missing = format!("{}/owbench/misbehave:9.9.9", registry.addr);
    let out = sb.owbench_docker(Some(&docker), &["plugin", "install", "--yes", &missing]);
    assert_one_line_error(&out, "404 Not Found");
    assert!(sb.installed().is_empty());

    // Found through an index file served over loopback HTTP, then installed by the
    // digest the index pins, and resolved by name in a bench.
    let index_dir = sb.path().join("index");
    std::fs::create_dir_all(&index_dir).unwrap();
    std::fs::write(
        index_dir.join("index.json"),
        serde_json::json!({"plugins": [
            {"name": "misbehave", "version": "0.1.0", "kind": "workload",
             "reference": reference, "digest": digest, "description": "a test fixture"},
            {"name": "other", "version": "1.0.0", "kind": "provider",
             "reference": "ghcr.io/x/other:1.0.0", "digest": format!("sha256:{}", "a".repeat(64))},
        ]})
        .to_string(),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let files = rt
        .block_on(owbench::objects::ObjectServer::start_with_files(Some(
            index_dir.clone(),
        )))
        .unwrap();
    let index_url = files.file_url("index.json");
    let found: serde_json::Value = serde_json::from_str(&sb.ok(&[
        "plugin", "search", "FIXTURE", "--index", &index_url, "--json",
    ]))
    .unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["digest"], digest);
    std::fs::write(index_dir.join("bad.json"), "[{\"name\": 1}]").unwrap();
    let out = sb.owbench(&[
        "plugin",
        "search",
        "x",
        "--index",
        &files.file_url("bad.json"),
    ]);
    assert_one_line_error(
        &out,
        "not a list of plugins (name, version, kind, reference, digest)",
    );
    let pinned = format!("{}@{}", found[0]["reference"].as_str().unwrap(), digest);
    let installed =
        succeeded(&sb.owbench_docker(Some(&docker), &["plugin", "install", "--yes", &pinned]));
    let by_digest = pinned;
    assert!(
        installed.contains(&format!("installed misbehave@0.1.0 (workload, {digest})")),
        "{installed}"
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&sb.ok(&["plugin", "inspect", "misbehave", "--json"])).unwrap();
    assert_eq!(
        inspect["source"],
        format!("installed from registry {by_digest}")
    );
    let summary = sb.bench(
        "name = \"pulled\"\ncount = 3\n[load]\nmodel = \"closed\"\nconcurrency = 1\n\
         [[workload]]\nname = \"misbehave@0.1.0\"\nparams = { mode = \"ok\" }\n",
    );
    assert_eq!(summary["workloads"][0]["outcomes"]["ok"], 3, "{summary}");
}

/// How the registry double answers requests for blobs.
#[derive(Clone, Copy, PartialEq)]
enum Blobs {
    /// In full.
    Whole,
    /// Every one cut off half-way.
    Cut,
    /// The first one cut off half-way, every later one 500.
    CutThenFail,
}

/// A registry double that serves one package and fails as told: the first `fail_first`
/// requests answered 500, and blobs as `blobs` says.
async fn flaky_registry(
    artifact: Artifact,
    fail_first: usize,
    blobs: Blobs,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let artifact = std::sync::Arc::new(artifact);
    let blobs_seen = std::sync::Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let artifact = artifact.clone();
            let blobs_seen = blobs_seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let reply = |status: &str, body: &[u8], send: usize| {
                    let mut out = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(&body[..send]);
                    out
                };
                let out = if n < fail_first {
                    reply("500 Internal Server Error", b"", 0)
                } else if path.contains("/manifests/") {
                    reply("200 OK", &artifact.manifest, artifact.manifest.len())
                } else if let Some(blob) = path
                    .split("/blobs/")
                    .nth(1)
                    .and_then(|d| artifact.blobs.get(d))
                {
                    let first = blobs_seen.fetch_add(1, Ordering::SeqCst) == 0;
                    match blobs {
                        Blobs::Whole => reply("200 OK", blob, blob.len()),
                        Blobs::CutThenFail if !first => reply("500 Internal Server Error", b"", 0),
                        Blobs::Cut | Blobs::CutThenFail => reply("200 OK", blob, blob.len() / 2),
                    }
                } else {
                    reply("404 Not Found", b"", 0)
                };
                _ = stream.write_all(&out).await;
                _ = stream.shutdown().await;
            });
        }
    });
    (addr, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_fails_or_goes_away_mid_pull_is_retried_then_named_in_one_line() {
    let sb = Sandbox::new();
    let artifact =
        Artifact::pack(&misbehave_toml("workload@0.4.0", ""), &misbehave_wasm()).unwrap();
    let run = |sb: &Sandbox, addr: std::net::SocketAddr| {
        let reference = format!("127.0.0.1:{}/owbench/misbehave:0.1.0", addr.port());
        let mut cmd = sb.command(None, &["plugin", "install", "--yes", &reference]);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };

    // Always 500: three attempts, then one line.
    let (addr, count) = flaky_registry(artifact.clone(), usize::MAX, Blobs::Whole).await;
    let out = run(&sb, addr).await.unwrap();
    assert_one_line_error(&out, "500 Internal Server Error (tried 3 times)");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(sb.installed().is_empty());

    // Every blob cut off half-way: retried, then one line, nothing left behind. The
    // manifest, then three attempts at the first blob.
    let (addr, count) = flaky_registry(artifact.clone(), 0, Blobs::Cut).await;
    let out = run(&sb, addr).await.unwrap();
    assert_one_line_error(&out, "(tried 3 times)");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 4);
    assert!(sb.installed().is_empty(), "{:?}", sb.installed());

    // A cut body, then failing requests: three attempts in all, not three per retry.
    let (addr, count) = flaky_registry(artifact.clone(), 0, Blobs::CutThenFail).await;
    let out = run(&sb, addr).await.unwrap();
    assert_one_line_error(&out, "500 Internal Server Error (tried 3 times)");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 4);
    assert!(sb.installed().is_empty(), "{:?}", sb.installed());

    // One failure, then a registry that answers: the retry installs it.
    let (addr, _) = flaky_registry(artifact, 1, Blobs::Whole).await;
    let out = run(&sb, addr).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(sb.store().join("misbehave/0.1.0/package.json").is_file());
}

#[test]
fn a_new_workload_builds_tests_and_goes_through_a_registry_into_a_bench() {
    let sb = Sandbox::new();
    let crates = crate_dir();
    let parent = crates.path().to_str().unwrap();
    let new = |name: &str| sb.owbench(&["plugin", "new", "workload", name, "--dir", parent]);
    let created = String::from_utf8(new("hello-world").stdout).unwrap();
    assert!(
        created.starts_with("created workload `hello-world`"),
        "{created}"
    );
    let dir = crates.path().join("hello-world");
    assert_one_line_error(&new("hello-world"), "exists already");
    assert_one_line_error(&new("Hello"), "plugin name `Hello`");

    let shellcheck = Command::new("shellcheck")
        .arg(dir.join("build.sh"))
        .output()
        .expect("shellcheck");
    assert!(
        shellcheck.status.success(),
        "{}",
        String::from_utf8_lossy(&shellcheck.stdout)
    );

    build_template(&dir, 2);

    let run: serde_json::Value = serde_json::from_str(&sb.ok(&[
        "workload",
        "run",
        dir.to_str().unwrap(),
        "-p",
        "who=owbench",
        "--json",
    ]))
    .unwrap();
    assert_eq!(run["result"]["greeting"], "hello, owbench");

    // Pushed to a registry, installed from it, benched by name.
    let registry = RegistryServer::start(false);
    let reference = format!("{}/someone/hello-world", registry.addr);
    let pushed = sb.ok(&["plugin", "push", dir.to_str().unwrap(), &reference]);
    assert!(
        pushed.contains(&format!("to {reference} (sha256:")),
        "{pushed}"
    );
    let from = format!("{reference}:0.1.0");
    let installed = sb.ok(&["plugin", "install", "--yes", &from]);
    assert!(
        installed.starts_with("installed hello-world@0.1.0 (workload, sha256:"),
        "{installed}"
    );
    let summary = sb.bench(
        "name = \"hello\"\ncount = 5\n[load]\nmodel = \"closed\"\nconcurrency = 1\n\
         [[workload]]\nname = \"hello-world\"\nparams = { who = \"bench\" }\n",
    );
    assert_eq!(summary["workloads"][0]["outcomes"]["ok"], 5, "{summary}");
}

/// Where a test makes plugin crates: inside owbench's target directory, so that they
/// build with the checkout's cargo configuration (its wasm32 flags) as the guests do.
fn crate_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Test and build the plugin crate `plugin new` made in `dir` as a plugin author would
/// (`cargo fmt --check`; `cargo test`: `tests` pass; `./build.sh`), offline with the
/// crate versions owbench's own guests use, in their target directory and profile (so
/// what they share is compiled once).
fn build_template(dir: &Path, tests: usize) {
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("guests");
    let profile = std::env::var("OWBENCH_GUESTS_PROFILE").unwrap_or_else(|_| "release".into());
    let formatted = Command::new("cargo")
        .args(["fmt", "--check"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        formatted.status.success(),
        "{}",
        String::from_utf8_lossy(&formatted.stdout)
    );
    let tested = Command::new("cargo")
        .args(["test", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        tested.status.success(),
        "{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(
        String::from_utf8_lossy(&tested.stdout).contains(&format!("{tests} passed")),
        "{}",
        String::from_utf8_lossy(&tested.stdout)
    );
    let mut build = Command::new(dir.join("build.sh"));
    build
        .arg("--offline")
        .env("CARGO_TARGET_DIR", &target)
        .env("PROFILE", &profile);
    if profile != "release" {
        build.args([
            "--config",
            &format!("profile.{profile}.inherits=\"release\""),
        ]);
    }
    let built = build.output().unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
}

/// (Its user data is checked by the installers' validators, built with the providers.)
#[cfg(feature = "providers")]
#[test]
fn a_new_provider_and_installer_build_test_install_and_plan_a_cluster() {
    let sb = Sandbox::new();
    let crates = crate_dir();
    let parent = crates.path().to_str().unwrap();
    for (kind, name, tests) in [("provider", "my-cloud", 6), ("installer", "my-setup", 3)] {
        let created = sb.ok(&["plugin", "new", kind, name, "--dir", parent]);
        assert!(
            created.starts_with(&format!("created {kind} `{name}`")),
            "{created}"
        );
        let dir = crates.path().join(name);
        build_template(&dir, tests);
        let installed = sb.ok(&["plugin", "install", "--yes", dir.to_str().unwrap()]);
        assert!(
            installed.starts_with(&format!("installed {name}@0.1.0 ({kind}, sha256:")),
            "{installed}"
        );
    }

    // Both, installed, plan a cluster by name: the provider's shapes and prices, the
    // installer's sizing from the shape's memory and its setting, valid user data.
    let spec = sb.path().join("cluster.toml");
    std::fs::write(
        &spec,
        "name = \"mine\"\nprovider = \"my-cloud\"\nregion = \"region-1\"\n\
         image = \"img-1\"\nallowed_cidrs = [\"203.0.113.7/32\"]\nmax_hours = 4\n\
         [installer]\nname = \"my-setup\"\ncontainer-mb = \"512\"\n\
         [[nodes]]\nrole = \"server\"\nshape = \"medium-4\"\n",
    )
    .unwrap();
    let user_data = sb.path().join("user-data");
    let plan = sb.ok(&[
        "cluster",
        "up",
        spec.to_str().unwrap(),
        "--dry-run",
        "--user-data-dir",
        user_data.to_str().unwrap(),
    ]);
    assert!(
        plan.contains("1 nodes on my-cloud in region-1: 0.1600 USD per hour"),
        "{plan}"
    );
    assert!(
        plan.contains("action containers of 512 MB at once") && plan.contains("30"),
        "{plan}"
    );
    let server = std::fs::read_to_string(user_data.join("server.yaml")).unwrap();
    crate::installers::check_phase("server", &server);
    assert!(server.contains("--concurrent-invocations 30"), "{server}");
    assert!(
        !sb.path().join("clusters").exists(),
        "a dry run records nothing"
    );

    // A setting the template does not know is refused in one line.
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("container-mb", "containers-mb")).unwrap();
    assert_one_line_error(
        &sb.owbench(&["cluster", "up", spec.to_str().unwrap(), "--dry-run"]),
        "containers-mb",
    );
}
