//! The `openwhisk-kube` installer: its plans for 3 and 5 nodes against snapshots and the
//! validators (cloud-init, shellcheck, hadolint, kubernetes-validate, the chart's own
//! value keys, owbench's bench spec parser), its refusals, its pinned downloads, and
//! `cluster up`/`down` against moto: the server first, the agents after it with its
//! private address and the join token, a node that says its installation failed
//! reported at once, and nothing left after `down`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use serde_norway::Value as Yaml;

use crate::deploy::{
    done, down_leaves_nothing, free_port, owbench, serve_like_the_node, spec, state_with_secrets,
};
use crate::helpers::python_with;
use crate::installers::{check_plan, example, passes, refused_from};
use crate::providers::{Moto, read_back, tag, text};

/// The Kubernetes version the installer pins (k3s v1.32.3+k3s1).
const KUBERNETES: &str = "1.32.3";

/// The content of file `path` among a phase's written files.
fn file<'a>(files: &'a [(String, String)], path: &str) -> &'a str {
    &files
        .iter()
        .find(|(p, _)| p == path)
        .unwrap_or_else(|| panic!("{path} is not written"))
        .1
}

/// Every key path a YAML document sets (`a.b.c`), mappings only.
fn key_paths(value: &Yaml, prefix: &str, out: &mut Vec<String>) {
    if let Yaml::Mapping(map) = value {
        for (key, value) in map {
            let key = key.as_str().expect("string keys");
            let path = if prefix.is_empty() {
                key.to_owned()
            } else {
                format!("{prefix}.{key}")
            };
            key_paths(value, &path, out);
            out.push(path);
        }
    }
}

/// The plan for `spec`: snapshots, every validator, and what only this installer writes
/// (the chart's values, the Kubernetes manifest, the probe's bench spec, k3s' settings).
fn check_kube_plan(spec: &Path, snapshot: &str) -> String {
    let (printed, phases) = check_plan(spec, snapshot, 1);
    let roles: Vec<&str> = phases.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["agent", "server"]);
    let (agent, server) = (&phases[0].1, &phases[1].1);

    // The chart's values set only keys the pinned chart has.
    let known = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/openwhisk-chart-1.0.0-value-keys.txt"),
    )
    .unwrap();
    let known: Vec<&str> = known
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let values: Yaml =
        serde_norway::from_str(file(server, "/etc/owbench/kube/values.yaml")).unwrap();
    let mut set = Vec::new();
    key_paths(&values, "", &mut set);
    for path in &set {
        assert!(
            known.contains(&path.as_str()),
            "the chart's values set `{path}`, which chart 1.0.0 does not have"
        );
    }
    assert_eq!(values["whisk"]["auth"]["guest"], "<secret:guest-key>");
    assert_eq!(values["db"]["auth"]["password"], "<secret:db-password>");
    assert_eq!(values["invoker"]["containerFactory"]["impl"], "kubernetes");

    // The manifest it applies is valid for the Kubernetes it installs.
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("action-isolation.yaml");
    std::fs::write(
        &manifest,
        file(server, "/etc/owbench/kube/action-isolation.yaml"),
    )
    .unwrap();
    let python = python_with("kubernetes-validate", &["kubernetes-validate==1.32.0"]);
    passes(
        "kubernetes-validate",
        Command::new(python.with_file_name("kubernetes-validate"))
            .args(["--strict", "--kubernetes-version", KUBERNETES])
            .arg(&manifest)
            .output()
            .unwrap(),
    );

    // The probe is a bench spec owbench reads, with a threshold it reads.
    let probe = file(server, "/etc/owbench/kube/probe.toml");
    let probe = owbench::bench::spec::Spec::parse(probe).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(probe.workloads[0].name, "noop");
    let install = file(server, "/usr/local/lib/owbench/install-kube-server.sh");
    let threshold = install
        .split("--fail-if '")
        .nth(1)
        .and_then(|t| t.split('\'').next())
        .expect("the probe's --fail-if");
    threshold
        .parse::<owbench::results::threshold::Threshold>()
        .unwrap();

    // k3s: the server and the agents share the join token; the agents name the server.
    let server_k3s: Yaml =
        serde_norway::from_str(file(server, "/etc/rancher/k3s/config.yaml")).unwrap();
    let agent_k3s: Yaml =
        serde_norway::from_str(file(agent, "/etc/rancher/k3s/config.yaml")).unwrap();
    assert_eq!(server_k3s["token"], "<secret:join-token>");
    assert_eq!(agent_k3s["token"], "<secret:join-token>");
    assert_eq!(agent_k3s["server"], "https://<node:server:private-ip>:6443");
    assert_eq!(agent_k3s["node-label"][0], "openwhisk-role=invoker");
    assert_eq!(server_k3s["node-label"][0], "openwhisk-role=core");
    // Every download is pinned: only fetch-pinned.sh downloads from the internet
    // (fetch-owbench.sh fetches the uploaded binary and checks its SHA-256; an agent asks
    // the server for the runtime image's SHA-256, then fetches it with fetch-pinned.sh).
    let allowed = [
        "/usr/local/lib/owbench/fetch-pinned.sh",
        "/usr/local/lib/owbench/fetch-owbench.sh",
    ];
    for (path, content) in server.iter().chain(agent.iter()) {
        for line in content.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let downloads = [
                "curl ",
                "wget ",
                "docker pull",
                "ctr images pull",
                "git clone",
            ]
            .iter()
            .any(|d| line.contains(d));
            let sha_from_server = line.contains(
                "curl --fail --silent --max-time 10 \"$server/owbench-runtime.tar.sha256\"",
            );
            assert!(
                !downloads || allowed.contains(&path.as_str()) || sha_from_server,
                "{path} downloads without the pinned check: {line}"
            );
        }
    }
    printed
}

#[test]
fn openwhisk_kube_plans_valid_documents_for_3_and_5_nodes() {
    let printed = check_kube_plan(&example("aws-kube.toml"), "openwhisk-kube-3");
    for line in [
        "invokers (one per agent)",
        "action containers of 256 MB at once",
        "236 (118 per agent; a node runs at most 250 pods)",
        "30208 MiB",
        "3 nodes on aws-ec2 in us-east-1: 1.0080 USD per hour",
    ] {
        assert!(printed.contains(line), "{line:?} not in:\n{printed}");
    }
    let dir = tempfile::tempdir().unwrap();
    let five = dir.path().join("aws-kube-5.toml");
    let text = std::fs::read_to_string(example("aws-kube.toml"))
        .unwrap()
        .replace("count = 2", "count = 4");
    std::fs::write(&five, text).unwrap();
    let printed = check_kube_plan(&five, "openwhisk-kube-5");
    assert!(printed.contains("472 (118 per agent"), "{printed}");
}

#[test]
fn bad_kube_specs_are_refused_in_one_line() {
    let dry = &["--dry-run"][..];
    let base = "aws-kube.toml";
    // One node: this installer needs 3.
    refused_from(
        base,
        |s| {
            let cut = s.find("[[nodes]]\nrole = \"agent\"").unwrap();
            s[..cut].to_owned()
        },
        dry,
        "installer openwhisk-kube needs at least 3 nodes (1 `server`, 2 or more `agent`); the spec gives 1 (for one node, use openwhisk-standalone)",
    );
    refused_from(
        base,
        |s| s.replace("count = 2", "count = 1"),
        dry,
        "installer openwhisk-kube needs at least 3 nodes",
    );
    // Invoker shapes that cannot hold one action container.
    refused_from(
        base,
        |s| s.replace("shape = \"m7i.2xlarge\"", "shape = \"t3.small\""),
        dry,
        "the agents' shape `t3.small` has 2048 MiB; an invoker node needs 2560 MiB for Kubernetes and its invoker and 256 MiB for one action container",
    );
    refused_from(
        base,
        |s| s.replace("shape = \"m7i.xlarge\"", "shape = \"t3.medium\""),
        dry,
        "the server's shape `t3.medium` has 4096 MiB",
    );
    refused_from(
        base,
        |s| s.replace("shape = \"m7i.2xlarge\"", "shape = \"m7g.2xlarge\""),
        dry,
        "built for x86_64 only; role `agent` has the aarch64 shape `m7g.2xlarge`",
    );
    refused_from(
        base,
        |s| s.replace("concurrent-invocations = 5000", "replicas = 3"),
        dry,
        "unknown installer setting `replicas`",
    );
}

/// `fetch-pinned.sh`, which every download of the installers goes through: a file whose
/// SHA-256 is the pinned one is installed; another is refused in one line naming it, and
/// nothing is left. Served from loopback.
#[test]
fn a_download_that_does_not_match_its_pin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir(&served).unwrap();
    std::fs::write(served.join("k3s"), b"a k3s binary, supposedly\n").unwrap();
    let port = free_port();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .arg("--directory")
        .arg(&served)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/installer-sdk/files/fetch-pinned.sh");
    let url = format!("http://127.0.0.1:{port}/k3s");
    let fetch = |sha256: &str, dest: &Path| {
        Command::new("bash")
            .arg(&script)
            .args(["k3s v1.32.3+k3s1 (k3s)", &url, sha256])
            .arg(dest)
            .output()
            .unwrap()
    };
    use sha2::Digest as _;
    let right = hex::encode(sha2::Sha256::digest(b"a k3s binary, supposedly\n"));
    let wrong = "b19216803650b567bf980888dec39035edaf664339c55bc4462f7a003edbef83";
    let good = dir.path().join("good");
    let ok = fetch(&right, &good);
    let bad = dir.path().join("bad");
    let refused = fetch(wrong, &bad);
    let _ = server.kill();
    let _ = server.wait();
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert_eq!(std::fs::read(&good).unwrap(), b"a k3s binary, supposedly\n");
    assert_eq!(refused.status.code(), Some(1));
    let said = text(&refused.stderr);
    assert_eq!(
        said,
        format!("k3s v1.32.3+k3s1 (k3s): {url} has SHA-256 {right}, not the pinned {wrong}\n")
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("bad"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Against moto: the server is created first, then the agents, whose user data names
/// the server's private address and the join token; the health check passes against a
/// loopback `owbench serve` standing in for the server; `down` leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_creates_the_server_then_agents_that_join_it_and_down_removes_all() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &moto, "aws-kube.toml");
    let port = free_port();
    let reach = format!("127.0.0.1:{port}");
    let up = owbench(
        &moto,
        dir.path(),
        &reach,
        &["cluster", "up", spec.to_str().unwrap()],
    )
    .spawn()
    .unwrap();
    let (state_path, state) = state_with_secrets(dir.path());
    let mut server = serve_like_the_node(dir.path(), &state, port);
    let up = tokio::task::spawn_blocking(move || done(up)).await.unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(up.status.success(), "{}", text(&up.stderr));

    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let id = saved["id"].as_str().unwrap();
    assert_eq!(saved["status"], "ready", "{saved}");
    // The state records the nodes in creation order: the server, then the agents.
    let roles: Vec<&str> = saved["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["server", "agent", "agent"]);

    let made = read_back(&moto, &tag("owbench-cluster", id));
    let instances = made["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 3, "{made}");
    let by_role = |role: &str| -> Vec<&Value> {
        instances
            .iter()
            .filter(|i| {
                i["name"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("{id}-{role}"))
            })
            .collect()
    };
    let servers = by_role("server");
    assert_eq!(servers.len(), 1, "{made}");
    let server_ip = servers[0]["private_ip"].as_str().unwrap();
    let token = saved["secrets"]["join-token"].as_str().unwrap();
    assert!(servers[0]["user_data"].as_str().unwrap().contains(token));
    let agents = by_role("agent");
    assert_eq!(agents.len(), 2, "{made}");
    for agent in agents {
        let user_data = agent["user_data"].as_str().unwrap();
        let config: Yaml =
            serde_norway::from_str(user_data.strip_prefix("#cloud-config\n").unwrap()).unwrap();
        let k3s = config["write_files"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|f| f["path"] == "/etc/rancher/k3s/config.yaml")
            .unwrap()["content"]
            .as_str()
            .unwrap();
        let k3s: Yaml = serde_norway::from_str(k3s).unwrap();
        assert_eq!(k3s["server"], format!("https://{server_ip}:6443").as_str());
        assert_eq!(k3s["token"], token);
        assert!(user_data.contains(&format!("http://{server_ip}:8099")));
        assert!(!user_data.contains("{{"), "a placeholder left");
        // Agents get no API key and no TLS key.
        assert!(!user_data.contains(saved["secrets"]["guest-key"].as_str().unwrap()));
        assert!(!user_data.contains("BEGIN PRIVATE KEY"));
    }
    // Clients reach the server's API and SSH, the agents' SSH; the rest is open to the
    // cluster's own network (moto's default VPC) only.
    let vpc = json!(["172.31.0.0/16"]);
    let client = json!(["203.0.113.7/32"]);
    let rule = |protocol: &str, port: u16, cidrs: &Value| json!({"protocol": protocol, "port": port, "cidrs": cidrs});
    let mut groups = made["groups"].as_array().unwrap().clone();
    groups.sort_by_key(|g| g["name"].as_str().unwrap().to_owned());
    assert_eq!(
        Value::Array(groups),
        json!([
            {"name": format!("{id}-agent-sg"), "rules": [
                rule("tcp", 22, &client), rule("tcp", 10250, &vpc), rule("udp", 8472, &vpc),
            ]},
            {"name": format!("{id}-server-sg"), "rules": [
                rule("tcp", 22, &client), rule("tcp", 443, &client),
                rule("tcp", 6443, &vpc), rule("tcp", 8099, &vpc), rule("tcp", 10250, &vpc),
                rule("tcp", 31001, &vpc), rule("udp", 8472, &vpc),
            ]},
        ]),
        "{made}"
    );
    let out = text(&up.stdout);
    assert!(
        out.contains(&format!("is up: OpenWhisk API https://{reach}")),
        "{out}"
    );

    down_leaves_nothing(&moto, dir.path(), id);
}

/// A node that says its installation failed (a pinned download that did not match, as
/// its `install-failed.sh` reports it) fails `up` at once with its reason, and `down`
/// cleans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_says_its_install_failed_fails_up_at_once_and_down_cleans() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &moto, "aws-kube.toml");
    let port = free_port();
    let reach = format!("127.0.0.1:{port}");
    let up = owbench(
        &moto,
        dir.path(),
        &reach,
        &[
            "cluster",
            "up",
            spec.to_str().unwrap(),
            "--owbench-binary",
            "/usr/bin/true",
        ],
    )
    .spawn()
    .unwrap();
    let (state_path, state) = state_with_secrets(dir.path());
    let secret = |name: &str| state["secrets"][name].as_str().unwrap().to_owned();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, secret("tls-cert")).unwrap();
    std::fs::write(&key, secret("tls-key")).unwrap();
    // As install-failed.sh words a pin mismatch: the longest reason a node gives.
    let reason = "k3s v1.32.3+k3s1 (k3s): https://github.com/k3s-io/k3s/releases/download/v1.32.3%2Bk3s1/k3s has SHA-256 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8, not the pinned b19216803650b567bf980888dec39035edaf664339c55bc4462f7a003edbef83 (step: /usr/local/lib/owbench/install-kube-server.sh; log: /var/log/owbench-install.log on this node)";
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/failed_node.py");
    let mut node = Command::new("python3")
        .arg(&script)
        .arg(port.to_string())
        .arg(&cert)
        .arg(&key)
        .arg(reason)
        .spawn()
        .unwrap();
    let up = tokio::task::spawn_blocking(move || done(up)).await.unwrap();
    let _ = node.kill();
    let _ = node.wait();
    assert_eq!(up.status.code(), Some(1));
    let stderr = text(&up.stderr);
    let error = stderr.lines().last().unwrap();
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let id = saved["id"].as_str().unwrap();
    assert!(
        error.contains(&format!("install failed: {reason}"))
            && error.contains(&format!("{id}-server"))
            && error.ends_with(&format!("`owbench cluster down {id}` removes it")),
        "{stderr}"
    );
    assert_eq!(saved["status"], "failed");
    down_leaves_nothing(&moto, dir.path(), id);
}
