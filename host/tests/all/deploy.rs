//! `owbench cluster up` with an installer, carried out against moto with authentication
//! on: the owbench binary uploaded to S3, the node created with the filled user data, its
//! ports open to `allowed_cidrs` only, terminated on shutdown; the health check passed
//! over TLS with the cluster's certificate pinned; `bench --target cluster:ID` run; and
//! `down` leaving nothing. The cloud-side installation cannot run here: the health check
//! and the bench reach a loopback `owbench serve` that the test starts with the cluster's
//! certificate and key (`OWBENCH_TEST_NODE_ADDRESS`), never an address moto made up.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::cache_dir;
use crate::providers::{Moto, read_back, tag, text};

/// `owbench ARGS` with moto's keys, state in `dir/state`, HOME `dir`, and the test-only
/// node address `reach`.
pub(crate) fn owbench(moto: &Moto, dir: &Path, reach: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_owbench"));
    cmd.args(args)
        .env("OWBENCH_CACHE_DIR", cache_dir())
        .env("OWBENCH_STATE_DIR", dir.join("state"))
        .env("HOME", dir)
        .env("OWBENCH_TEST_NODE_ADDRESS", reach)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") || name.starts_with("OCI_") || name.starts_with("__OW_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", &moto.key_id)
        .env("AWS_SECRET_ACCESS_KEY", &moto.secret);
    cmd
}

/// Example spec `name` (under docs/examples), pointed at moto.
pub(crate) fn spec(dir: &Path, moto: &Moto, name: &str) -> PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/examples")
        .join(name);
    let text = std::fs::read_to_string(example).unwrap().replace(
        "region = \"us-east-1\"",
        &format!("region = \"us-east-1\"\nendpoint = \"{}\"", moto.endpoint),
    );
    let key = dir.join("id_ed25519.pub");
    std::fs::write(&key, SSH_KEY).unwrap();
    let text = text.replace(
        "# ssh_public_key = \"~/.ssh/id_ed25519.pub\"",
        &format!("ssh_public_key = \"{}\"", key.display()),
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// An SSH public key for the nodes (made for these tests; its private half is gone).
const SSH_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1sPbkaM6gy+A60M52/JoU6jk/FgK8wDH+KaJlF64+9 owbench-test\n";

/// A free loopback port (bound, then released).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The one state file in `dir/state`, once it holds the cluster's secrets.
pub(crate) fn state_with_secrets(dir: &Path) -> (PathBuf, Value) {
    for _ in 0..600 {
        if let Ok(entries) = std::fs::read_dir(dir.join("state")) {
            for e in entries.flatten() {
                let path = e.path();
                if path.extension().is_some_and(|x| x == "json")
                    && let Ok(state) =
                        serde_json::from_str::<Value>(&std::fs::read_to_string(&path).unwrap())
                    && state["secrets"]["tls-cert"].is_string()
                {
                    return (path, state);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no state file with secrets in {}", dir.display());
}

/// The one state file in `dir/state` and what it holds, once its first node is seen
/// running with its addresses.
pub(crate) fn first_node_running(dir: &Path) -> (PathBuf, Value) {
    for _ in 0..600 {
        let (path, _) = state_with_secrets(dir);
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if saved["nodes"][0]["state"] == "running" && saved["nodes"][0]["public_ip"].is_string() {
            return (path, saved);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the node never got its addresses");
}

/// `owbench serve` on `port` with the cluster's certificate, key and guest key, as the
/// `owbench-serve` installer runs it behind nginx on the node.
pub(crate) fn serve_like_the_node(dir: &Path, state: &Value, port: u16) -> Child {
    let secret = |name: &str| state["secrets"][name].as_str().unwrap().to_owned();
    serve_tls(
        dir,
        &secret("tls-cert"),
        &secret("tls-key"),
        &secret("guest-key"),
        port,
    )
}

/// `owbench serve --tls-cert --tls-key` on `port`, accepting key `guest`.
fn serve_tls(dir: &Path, cert_pem: &str, key_pem: &str, guest: &str, port: u16) -> Child {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    Command::new(env!("CARGO_BIN_EXE_owbench"))
        .args(["serve", "--port", &port.to_string()])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--data-dir")
        .arg(dir.join("serve"))
        .env("OWBENCH_CACHE_DIR", cache_dir())
        .env("OWBENCH_AUTH", format!("guest={guest}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub(crate) fn done(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

/// `owbench cluster down ID`, then nothing of the cluster is left in moto: no instance,
/// security group, key pair, bucket or object. What `down` printed.
pub(crate) fn down_leaves_nothing(moto: &Moto, dir: &Path, id: &str) -> String {
    let down = done(
        owbench(moto, dir, "", &["cluster", "down", id])
            .spawn()
            .unwrap(),
    );
    assert!(down.status.success(), "{}", text(&down.stderr));
    nothing_left(moto, id);
    text(&down.stdout)
}

/// Nothing of cluster `id` is left in moto: no instance, volume, security group, key
/// pair, bucket or object.
pub(crate) fn nothing_left(moto: &Moto, id: &str) {
    let left = read_back(moto, &tag("owbench-cluster", id));
    assert_eq!(
        (
            &left["instances"],
            &left["volumes"],
            &left["groups"],
            &left["keys"],
            &left["buckets"]
        ),
        (&json!([]), &json!([]), &json!([]), &json!([]), &json!({})),
        "{left}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_an_installer_uploads_creates_checks_health_and_down_removes_everything() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &moto, "aws-serve.toml");
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
    // The host made the secrets before anything else: serve with them, as the node would.
    let (state_path, state) = state_with_secrets(dir.path());
    let mut server = serve_like_the_node(dir.path(), &state, port);
    let up = tokio::task::spawn_blocking(move || done(up)).await.unwrap();
    let id_ = state["id"].as_str().unwrap().to_owned();
    // While the "node" serves: the seed's kind of experiment against the cluster, and
    // the .wskprops for `wsk`.
    let bench = up.status.success().then(|| {
        let spec = dir.path().join("bench.toml");
        std::fs::write(
            &spec,
            "name = \"on-cluster\"\ncount = 20\n[load]\nmodel = \"closed\"\nconcurrency = 4\n[[workload]]\nname = \"noop\"\n",
        )
        .unwrap();
        let target = format!("--target=cluster:{id_}");
        let out = dir.path().join("results");
        let args = ["bench", spec.to_str().unwrap(), &target, "--quiet", "-o", out.to_str().unwrap()];
        let mut cmd = owbench(&moto, dir.path(), &reach, &args);
        cmd.env("OWBENCH_DB", dir.path().join("history.sqlite"));
        let bench = done(cmd.spawn().unwrap());
        let wsk = done(owbench(&moto, dir.path(), &reach, &["cluster", "wskprops", &id_]).spawn().unwrap());
        (bench, out, wsk)
    });
    let _ = server.kill();
    let _ = server.wait();
    assert!(up.status.success(), "{}", text(&up.stderr));
    let (bench, out, wsk) = bench.unwrap();
    assert!(bench.status.success(), "{}", text(&bench.stderr));
    let results = crate::bench::results(&out);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["workloads"][0]["outcomes"]["ok"], 20, "{summary}");
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["target"]["kind"], "cluster", "{meta}");
    // The run knows its platform, and what it cost at the provider's list prices.
    let cluster = &summary["target"]["cluster"];
    assert_eq!(cluster["id"], id_.as_str(), "{summary}");
    assert_eq!(cluster["provider"], "aws-ec2", "{summary}");
    assert_eq!(cluster["nodes"][0]["shape"], "m7i.xlarge", "{summary}");
    assert_eq!(cluster["installer"]["name"], "owbench-serve", "{summary}");
    let installer_version = cluster["installer"]["version"].as_str().unwrap();
    let price = cluster["usd_per_hour"].as_f64().unwrap();
    let cost = &summary["cost"];
    assert_eq!(cost["usd_per_hour"].as_f64(), Some(price), "{summary}");
    let ms = |k: &str| summary[k].as_f64().unwrap();
    let usd = price * (ms("ended_ms") - ms("started_ms")) / 3.6e6;
    assert!(
        (cost["usd"].as_f64().unwrap() - usd).abs() < 1e-12,
        "{summary}"
    );
    let per_1000 = cost["usd_per_1000"].as_f64().unwrap();
    assert!((per_1000 - usd / 20.0 * 1000.0).abs() < 1e-12, "{summary}");
    let markdown = std::fs::read_to_string(results.join("summary.md")).unwrap();
    assert!(
        markdown.contains(&format!(
            "platform: cluster {id_}: aws-ec2 us-east-1, 1 × m7i.xlarge (serve); owbench-serve {installer_version}; {price:.4} USD/h"
        )) && markdown.contains(&format!("cost: {:.6} USD for ", cost["usd"].as_f64().unwrap())),
        "{markdown}"
    );
    assert!(wsk.status.success(), "{}", text(&wsk.stderr));
    let props = text(&wsk.stdout);
    let guest_key = state["secrets"]["guest-key"].as_str().unwrap();
    assert!(
        props.contains(&format!(
            "APIHOST=https://{reach}\nAUTH={guest_key}\nNAMESPACE=guest\n"
        )),
        "{props}"
    );
    let out = text(&up.stdout);
    assert!(
        out.contains("role serve: image ubuntu-24.04 is ami-0noble2"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "is up: OpenWhisk API https://{reach} (namespace guest)"
        )),
        "{out}"
    );

    // The state: ready, the outputs (the key is the fresh guest key), the owner's only.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let id = saved["id"].as_str().unwrap();
    assert_eq!(saved["status"], "ready", "{saved}");
    let guest = saved["secrets"]["guest-key"].as_str().unwrap();
    assert_eq!(
        saved["outputs"],
        json!({"api_host": format!("https://{reach}"), "auth": guest, "namespace": "guest",
               "tls_cert": saved["secrets"]["tls-cert"]})
    );
    assert_ne!(guest, saved["secrets"]["system-key"].as_str().unwrap());
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&state_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // What moto holds: the binary in the cluster's bucket, the node with the filled user
    // data (the guest key, the binary's URL and digest), terminated on shutdown, its
    // ports open to the spec's CIDR only.
    let made = read_back(&moto, &tag("owbench-cluster", id));
    let binary = std::fs::read(env!("CARGO_BIN_EXE_owbench")).unwrap();
    let key = format!(
        "owbench-{}-linux-{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    assert_eq!(
        made["buckets"][format!("owbench-{id}")],
        json!([key]),
        "{made}"
    );
    assert_eq!(
        made["groups"],
        json!([{"name": format!("{id}-serve-sg"), "rules": [
            {"protocol": "tcp", "port": 22, "cidrs": ["203.0.113.7/32"]},
            {"protocol": "tcp", "port": 443, "cidrs": ["203.0.113.7/32"]},
        ]}]),
        "{made}"
    );
    assert_eq!(made["keys"], json!([format!("{id}-serve-key")]), "{made}");
    let instance = &made["instances"][0];
    assert_eq!(instance["shutdown"], "terminate");
    let user_data = instance["user_data"].as_str().unwrap();
    use sha2::Digest as _;
    let sha256 = hex::encode(sha2::Sha256::digest(&binary));
    for expected in [
        guest,
        &sha256,
        &format!("{}/owbench-{id}/{key}", moto.endpoint),
        "--on-boot=240min",
    ] {
        assert!(
            user_data.contains(expected),
            "{expected} not in the user data"
        );
    }
    assert!(
        !user_data.contains("{{"),
        "a placeholder left in the user data"
    );

    // `down` removes the node, its security group, its key and the bucket with the binary.
    let out = down_leaves_nothing(&moto, dir.path(), id);
    assert!(out.contains(&format!("bucket s3://owbench-{id}")), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_check_that_never_passes_fails_up_in_one_line_and_down_cleans() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    // OpenWhisk standalone, the largest user data (its secrets and the binary's URL filled
    // in, still within EC2's 16 KB). Nothing listens at the node's address; a small real
    // executable is uploaded.
    let spec = spec(dir.path(), &moto, "aws-standalone.toml");
    let (_refusing, addr) = crate::helpers::refusing_port();
    let up = done(
        owbench(
            &moto,
            dir.path(),
            &addr.to_string(),
            &[
                "cluster",
                "up",
                spec.to_str().unwrap(),
                "--health-timeout",
                "2s",
                "--owbench-binary",
                "/usr/bin/true",
            ],
        )
        .spawn()
        .unwrap(),
    );
    assert_eq!(up.status.code(), Some(1));
    let stderr = text(&up.stderr);
    let error = stderr.lines().last().unwrap();
    let (state_path, _) = state_with_secrets(dir.path());
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let id = saved["id"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("error: cluster {id}: the health check GET https://{addr}/api/v1/namespaces of node {id}-openwhisk (i-"))
            && error.contains("did not pass within 2 s (last: ")
            && error.ends_with(&format!("`owbench cluster down {id}` removes it")),
        "{stderr}"
    );
    assert_eq!(saved["status"], "failed");
    assert!(saved["outputs"].is_null());
    let made = read_back(&moto, &tag("owbench-cluster", id));
    assert_eq!(made["instances"].as_array().unwrap().len(), 1, "{made}");
    let user_data = made["instances"][0]["user_data"].as_str().unwrap();
    assert!(
        user_data.contains("BEGIN PRIVATE KEY"),
        "the TLS key is filled in"
    );
    eprintln!("openwhisk-standalone user data: {} bytes", user_data.len());

    down_leaves_nothing(&moto, dir.path(), id);
}

/// The client trusts the cluster's certificate and nothing else: another self-signed
/// certificate (another cluster's) is refused, and so is this one without the pin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pinned_client_trusts_the_clusters_certificate_only() {
    use owbench::tls::{cluster_certificate, parse_certificate, pinned_client};
    let dir = tempfile::tempdir().unwrap();
    let ours = cluster_certificate("ow-ours-000001").unwrap();
    let theirs = cluster_certificate("ow-theirs-000002").unwrap();
    let guest = owbench::cluster::secrets::openwhisk_key();
    let port = free_port();
    let mut server = serve_tls(dir.path(), &ours.cert_pem, &ours.key_pem, &guest, port);
    let url = format!("https://127.0.0.1:{port}/api/v1/namespaces");
    let (user, password) = guest.split_once(':').unwrap();
    let get = async |client: reqwest::Client| {
        client
            .get(&url)
            .basic_auth(user, Some(password))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| owbench::client::root_cause(&e))
    };
    let pinned = |pem: &str| {
        reqwest::Client::builder()
            .use_preconfigured_tls(pinned_client(parse_certificate(pem).unwrap()).unwrap())
            .build()
            .unwrap()
    };
    let mut answer = Err(String::new());
    for _ in 0..100 {
        answer = get(pinned(&ours.cert_pem)).await;
        if answer.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused_theirs = get(pinned(&theirs.cert_pem)).await;
    let refused_unpinned = get(reqwest::Client::new()).await;
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(answer, Ok(200));
    let e = refused_theirs.unwrap_err();
    assert!(e.contains("not the cluster's (pinned) certificate"), "{e}");
    assert!(refused_unpinned.is_err());
}

/// Ctrl-C while `up` waits for the health check: the state says `interrupted`, and
/// `down` removes the node, its security group and the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_an_installation_leaves_state_that_down_cleans() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &moto, "aws-serve.toml");
    let (_refusing, addr) = crate::helpers::refusing_port();
    let up = owbench(
        &moto,
        dir.path(),
        &addr.to_string(),
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
    // Once the node is seen running with its addresses, `up` waits for the health check.
    let (state_path, saved) = first_node_running(dir.path());
    let id = saved["id"].as_str().unwrap().to_owned();
    let kill = Command::new("kill")
        .args(["-INT", &up.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let up = done(up);
    assert_eq!(up.status.code(), Some(1));
    let stderr = text(&up.stderr);
    assert!(
        stderr.contains(&format!("interrupted: cluster {id} is partly created")),
        "{stderr}"
    );
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    assert_eq!(saved["status"], "interrupted");
    let made = read_back(&moto, &tag("owbench-cluster", &id));
    assert_eq!(made["instances"].as_array().unwrap().len(), 1, "{made}");

    down_leaves_nothing(&moto, dir.path(), &id);
}
