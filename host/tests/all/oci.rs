use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use owbench::cloud::oci::OciSigner;
use owbench_plugin::policy::RequestSigner;
use owbench_plugin::provider::{NodeRequest, PowerAction, Protocol, Source, Target};
use owbench_plugin::{CallError, ProviderPlugin};
use serde_json::{Value, json};

use crate::cloud_suite::{self, Expected, TestCloud, cluster_id};
use crate::helpers::{engine, python_with, spawn_server};
use crate::providers::{builtin_provider, cluster_in, rule, tag, text};

const TENANCY: &str = "ocid1.tenancy.oc1..aaaaowbenchtest";
const USER: &str = "ocid1.user.oc1..aaaaowbenchtest";

/// The venv with the official OCI SDK for Python (and `cryptography`).
fn python() -> PathBuf {
    python_with("oci", &["oci==2.189.0"])
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// An API key made by the SDK's `cryptography`: the PEM file and its fingerprint.
struct ApiKey {
    pem: PathBuf,
    fingerprint: String,
}

impl ApiKey {
    fn make(dir: &Path, name: &str) -> ApiKey {
        let pem = dir.join(format!("{name}.pem"));
        let out = Command::new(python())
            .arg(script("oci_sdk.py"))
            .arg("keygen")
            .arg(&pem)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        ApiKey {
            pem,
            fingerprint: text(&out.stdout).trim().to_owned(),
        }
    }

    fn key_id(&self) -> String {
        format!("{TENANCY}/{USER}/{}", self.fingerprint)
    }

    fn signer(&self) -> Arc<dyn RequestSigner> {
        Arc::new(OciSigner::new(self.key_id(), &std::fs::read(&self.pem).unwrap()).unwrap())
    }

    /// `~/.oci/config` text with this key as profile `DEFAULT`.
    fn config(&self) -> String {
        format!(
            "[DEFAULT]\nuser={USER}\nfingerprint={}\ntenancy={TENANCY}\nregion=us-phoenix-1\nkey_file={}\n",
            self.fingerprint,
            self.pem.display()
        )
    }
}

#[test]
fn the_hosts_oci_signature_equals_the_official_sdks_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let key = ApiKey::make(dir.path(), "api");
    let date = "Mon, 23 Nov 2026 22:00:00 GMT";
    // (method, URL, body, object upload): reads, JSON writes, an object upload.
    let cases: &[(&str, &str, Option<&str>, bool)] = &[
        (
            "GET",
            "https://iaas.us-phoenix-1.oraclecloud.com/20160918/instances?compartmentId=ocid1.compartment.oc1..x&limit=100&page=2",
            None,
            false,
        ),
        (
            "POST",
            "https://iaas.us-phoenix-1.oraclecloud.com/20160918/instances",
            Some(r#"{"displayName":"ow-1","freeformTags":{"owbench-cluster":"c1"}}"#),
            false,
        ),
        (
            "POST",
            "http://127.0.0.1:8123/20160918/instances/ocid1.instance.oc1.phx.a?action=STOP",
            Some(""),
            false,
        ),
        (
            "PUT",
            "https://iaas.us-phoenix-1.oraclecloud.com/20160918/securityLists/ocid1.securitylist.oc1.phx.s",
            Some(r#"{"ingressSecurityRules":[]}"#),
            false,
        ),
        (
            "PUT",
            "https://objectstorage.us-phoenix-1.oraclecloud.com/n/ns/b/bucket/o/data%2Fpart-0.bin",
            Some("object bytes"),
            true,
        ),
        (
            "DELETE",
            "https://iaas.us-phoenix-1.oraclecloud.com/20160918/instances/ocid1.instance.oc1.phx.a?preserveBootVolume=false",
            None,
            false,
        ),
    ];
    let input = json!({
        "key_file": key.pem,
        "tenancy": TENANCY,
        "user": USER,
        "fingerprint": key.fingerprint,
        "requests": cases.iter().map(|(method, url, body, upload)| json!({
            "method": method, "url": url, "date": date, "body": body, "object_upload": upload,
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new(python())
        .arg(script("oci_sdk.py"))
        .arg("sign")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let sdk: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();

    // The host's profile reader and signer, on the same requests.
    let config = dir.path().join("config");
    std::fs::write(&config, key.config()).unwrap();
    let profile =
        owbench::cloud::oci::OciProfile::parse(&key.config(), &config, "DEFAULT").unwrap();
    let signer = OciSigner::from_profile(&profile).unwrap();
    assert_eq!(signer.key_id(), key.key_id());
    for ((method, url, body, _), sdk) in cases.iter().zip(&sdk) {
        let (mut parts, ()) = http::Request::builder()
            .method(*method)
            .uri(*url)
            .header("date", date)
            .body(())
            .unwrap()
            .into_parts();
        let body = body.map(str::as_bytes);
        let body = if signer.needs_body(&parts) {
            body
        } else {
            None
        };
        signer.sign(&mut parts, body).unwrap();
        for (name, value) in sdk.as_object().unwrap() {
            let ours = parts.headers.get(name).map(|v| v.to_str().unwrap());
            // The SDK's content-length of an unsigned body is requests' business, not
            // the signer's.
            if name == "content-length"
                && !sdk["authorization"]
                    .as_str()
                    .unwrap()
                    .contains("content-length")
            {
                continue;
            }
            assert_eq!(ours, value.as_str(), "{method} {url}: header {name}");
        }
    }
}

/// The project's loopback OCI API server (started by this test setup, stopped when
/// dropped), verifying signatures made with `key`.
pub struct OciServer {
    child: Child,
    pub endpoint: String,
    pub compartment: String,
    pub subnet: String,
    pub image: String,
}

impl OciServer {
    fn start(key: &ApiKey) -> OciServer {
        let public = key.pem.with_extension("pub.pem");
        let out = Command::new(python())
            .args(["-c", "import sys; from cryptography.hazmat.primitives import serialization as s; k = s.load_pem_private_key(open(sys.argv[1], 'rb').read(), None); open(sys.argv[2], 'wb').write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))"])
            .arg(&key.pem)
            .arg(&public)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let key_id = key.key_id();
        let (child, v) = spawn_server(
            &python(),
            "oci_server.py",
            &[public.as_os_str(), key_id.as_ref()],
        );
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        OciServer {
            endpoint: s("endpoint"),
            compartment: s("compartment"),
            subnet: s("subnet"),
            image: s("image"),
            child,
        }
    }

    fn target(&self) -> Target {
        Target {
            region: "us-phoenix-1".into(),
            endpoint: Some(self.endpoint.clone()),
            settings: vec![
                tag("compartment-id", &self.compartment),
                tag("subnet-id", &self.subnet),
            ],
        }
    }

    /// Every instance the server knows, whatever its state (no signature needed).
    async fn instances(&self) -> Vec<Value> {
        reqwest::get(format!("{}/_test/instances", self.endpoint))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Buckets with their object names, the number of pre-authenticated requests, and
    /// the security list's ingress rules.
    pub(crate) async fn storage(&self) -> Value {
        reqwest::get(format!("{}/_test/storage", self.endpoint))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Every volume, whatever its state, with its attachments (no signature needed).
    pub(crate) async fn volumes(&self) -> Vec<Value> {
        reqwest::get(format!("{}/_test/volumes", self.endpoint))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub(crate) async fn live(&self, cluster: &str) -> usize {
        self.instances()
            .await
            .iter()
            .filter(|i| i["freeformTags"]["owbench-cluster"] == cluster)
            .filter(|i| i["lifecycleState"] != "TERMINATED" && i["lifecycleState"] != "TERMINATING")
            .count()
    }

    /// Make each LaunchInstance wait `ms` before it creates anything.
    async fn slow_launches(&self, ms: u64) {
        let r = reqwest::Client::new()
            .post(format!("{}/_test/slow?ms={ms}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Wait until `done` holds of the number of LaunchInstance calls in flight.
    async fn launches_in_flight(&self, done: impl Fn(u64) -> bool) {
        for _ in 0..200 {
            let url = format!("{}/_test/pending", self.endpoint);
            let pending: u64 = reqwest::get(url).await.unwrap().json().await.unwrap();
            if done(pending) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the launches in flight never reached the expected number");
    }

    /// Refuse every upload (PutObject) while `on`.
    async fn deny_uploads(&self, on: bool) {
        let r = reqwest::Client::new()
            .post(format!(
                "{}/_test/deny-uploads?on={}",
                self.endpoint,
                u8::from(on)
            ))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Answer the next `count` API requests with 429 TooManyRequests.
    async fn throttle(&self, count: u32) {
        let r = reqwest::Client::new()
            .post(format!("{}/_test/throttle?count={count}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
}

impl Drop for OciServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_test_server_accepts_the_official_sdks_own_requests() {
    // The server checks signatures as OCI does: the SDK's clients get through it.
    let dir = tempfile::tempdir().unwrap();
    let key = ApiKey::make(dir.path(), "api");
    let server = OciServer::start(&key);
    let config = json!({
        "user": USER, "tenancy": TENANCY, "fingerprint": key.fingerprint,
        "key_file": key.pem, "compartment": server.compartment, "subnet": server.subnet,
        "image": server.image,
    });
    let out = Command::new(python())
        .arg(script("oci_sdk.py"))
        .args(["client", &server.endpoint, &config.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "ok");
}

async fn oci(
    engine: &owbench_plugin::PluginEngine,
    server: &OciServer,
    signer: Option<Arc<dyn RequestSigner>>,
) -> ProviderPlugin {
    builtin_provider(engine, "oci", &server.endpoint, signer).await
}

fn code(e: &CallError) -> Option<&str> {
    match e {
        CallError::Refused { code, .. } => code.as_deref(),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oci_plugin_works_against_the_test_server_only_when_the_host_signs() {
    let dir = tempfile::tempdir().unwrap();
    let key = ApiKey::make(dir.path(), "api");
    let server = OciServer::start(&key);
    let engine = engine();
    let target = server.target();
    let tags = vec![tag("owbench-cluster", "oci-test")];

    // Unsigned (the plugin alone), or signed with another key: refused.
    let e = oci(&engine, &server, None)
        .await
        .list_nodes(&engine, &target, &tags)
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some("NotAuthenticated"), "{e}");
    let other = ApiKey::make(dir.path(), "other");
    let wrong: Arc<dyn RequestSigner> =
        Arc::new(OciSigner::new(key.key_id(), &std::fs::read(&other.pem).unwrap()).unwrap());
    let e = oci(&engine, &server, Some(wrong))
        .await
        .list_nodes(&engine, &target, &tags)
        .await
        .unwrap_err();
    assert_eq!(code(&e), Some("NotAuthenticated"), "{e}");

    // Signed by the host with the user's key: the whole lifecycle.
    let plugin = oci(&engine, &server, Some(key.signer())).await;
    let request = |name: &str, count: u32, shape: &str| NodeRequest {
        name: name.into(),
        shape: shape.into(),
        image: server.image.clone(),
        count,
        tags: tags.clone(),
        user_data: "#cloud-config\npackages: [docker.io]\n".into(),
        ssh_public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOWB owbench".into(),
        ingress: vec![
            rule(Protocol::Tcp, 22, Source::Cidr("203.0.113.0/24".into())),
            rule(Protocol::Tcp, 443, Source::Cidr("2001:db8::/32".into())),
            rule(Protocol::Udp, 8472, Source::Cluster),
        ],
        terminate_on_shutdown: true,
        volume: None,
    };
    let made = plugin
        .create_nodes(
            &engine,
            &target,
            &request("oci-test-invoker", 2, "VM.Standard.E5.Flex"),
        )
        .await
        .unwrap();
    assert_eq!(made.len(), 2);
    assert_eq!(made[0].name, "oci-test-invoker-1");
    assert_eq!(made[0].state, "pending");
    // Twice with the same name, as a retried call would: the second creates nothing.
    for _ in 0..2 {
        plugin
            .create_nodes(
                &engine,
                &target,
                &request("oci-test-controller", 1, "VM.Standard2.1"),
            )
            .await
            .unwrap();
    }
    let saved = server.instances().await;
    assert_eq!(saved.len(), 3, "{saved:?}");
    // Each port open to its source only (`cluster`: the subnet's block), once although
    // two requests asked for it.
    let rules: Vec<(String, String, u64)> = server.storage().await["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let options = if r["protocol"] == "17" {
                "udpOptions"
            } else {
                "tcpOptions"
            };
            let range = &r[options]["destinationPortRange"];
            assert_eq!(range["min"], range["max"], "{r}");
            (
                r["protocol"].as_str().unwrap().to_owned(),
                r["source"].as_str().unwrap().to_owned(),
                range["min"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("6", "203.0.113.0/24", 22),
        ("6", "2001:db8::/32", 443),
        ("17", "10.0.0.0/24", 8472),
    ]
    .map(|(p, s, n)| (p.to_owned(), s.to_owned(), n));
    assert_eq!(rules, expected);
    // Another cluster's request adds rules of its own (this cluster's do not count for
    // it), and its teardown leaves this cluster's.
    let other = NodeRequest {
        tags: vec![tag("owbench-cluster", "another")],
        ..request("oci-test-other", 1, "VM.Standard2.1")
    };
    let theirs = plugin.create_nodes(&engine, &target, &other).await.unwrap();
    let count = async || server.storage().await["rules"].as_array().unwrap().len();
    assert_eq!(count().await, 6);
    plugin
        .terminate_nodes(&engine, &target, &[theirs[0].id.clone()])
        .await
        .unwrap();
    let removed = plugin
        .delete_tagged(&engine, &target, &other.tags)
        .await
        .unwrap();
    assert_eq!(removed.len(), 3, "{removed:?}");
    assert_eq!(count().await, 3);
    let first = &saved[0];
    assert_eq!(
        first["shapeConfig"],
        json!({"ocpus": 1.0, "memoryInGBs": 16.0})
    );
    assert_eq!(
        first["metadata"]["ssh_authorized_keys"],
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOWB owbench"
    );
    use base64::Engine as _;
    let user_data = base64::engine::general_purpose::STANDARD
        .decode(first["metadata"]["user_data"].as_str().unwrap())
        .unwrap();
    assert_eq!(user_data, b"#cloud-config\npackages: [docker.io]\n");

    // Listed by tag across pages (the server pages by 2), running, with addresses.
    let listed = plugin.list_nodes(&engine, &target, &tags).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|n| n.state == "running"), "{listed:?}");
    assert!(listed.iter().all(|n| {
        n.public_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("203.0.113."))
    }));
    let none = plugin
        .list_nodes(&engine, &target, &[tag("owbench-cluster", "another")])
        .await
        .unwrap();
    assert!(none.is_empty());
    // No tags: refused rather than listing (or cleaning) the whole compartment.
    let e = plugin.list_nodes(&engine, &target, &[]).await.unwrap_err();
    assert!(
        !e.retryable() && e.to_string().contains("at least one tag"),
        "{e}"
    );
    let e = plugin
        .delete_tagged(&engine, &target, &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at least one tag"), "{e}");

    let ids: Vec<String> = listed.iter().map(|n| n.id.clone()).collect();
    plugin
        .power(&engine, &target, &ids[..1], PowerAction::Stop)
        .await
        .unwrap();
    let described = plugin
        .describe_nodes(
            &engine,
            &target,
            &[ids[0].clone(), "ocid1.instance.oc1.phx.gone".into()],
        )
        .await
        .unwrap();
    assert_eq!(described.len(), 1);
    assert_eq!(described[0].state, "stopped");
    plugin
        .power(&engine, &target, &ids[..1], PowerAction::Start)
        .await
        .unwrap();

    // Throttled: a retryable error with OCI's code.
    server.throttle(1).await;
    let e = plugin
        .list_nodes(&engine, &target, &tags)
        .await
        .unwrap_err();
    assert!(e.retryable(), "{e}");
    assert_eq!(code(&e), Some("TooManyRequests"));

    // Terminate (twice is fine), then the ingress rules go.
    plugin
        .terminate_nodes(&engine, &target, &ids)
        .await
        .unwrap();
    plugin
        .terminate_nodes(&engine, &target, &ids)
        .await
        .unwrap();
    assert!(
        plugin
            .list_nodes(&engine, &target, &tags)
            .await
            .unwrap()
            .is_empty()
    );
    let deleted = plugin.delete_tagged(&engine, &target, &tags).await.unwrap();
    assert_eq!(deleted.len(), 3, "{deleted:?}");
    assert!(
        deleted[0].starts_with(
            "ingress rule tcp/22 from 203.0.113.0/24 of security list ocid1.securitylist"
        ),
        "{deleted:?}"
    );
    assert!(
        deleted[2].starts_with("ingress rule udp/8472 from 10.0.0.0/24"),
        "{deleted:?}"
    );
    assert!(
        plugin
            .delete_tagged(&engine, &target, &tags)
            .await
            .unwrap()
            .is_empty()
    );

    // Objects: put (the bucket is made), then a pre-authenticated URL anyone can GET.
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    plugin
        .put_object(&engine, &target, "owbench-data", "sets/part 0.bin", &data)
        .await
        .unwrap();
    let url = plugin
        .object_url(&engine, &target, "owbench-data", "sets/part 0.bin", 600)
        .await
        .unwrap();
    assert!(url.starts_with(&format!("{}/p/", server.endpoint)), "{url}");
    let got = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), data.as_slice());

    // The bucket goes with its objects and download URLs (each listed across pages).
    for i in 0..3 {
        let key = format!("more/{i}");
        plugin
            .put_object(&engine, &target, "owbench-data", &key, b"x")
            .await
            .unwrap();
        plugin
            .object_url(&engine, &target, "owbench-data", &key, 600)
            .await
            .unwrap();
    }
    let deleted = plugin
        .delete_bucket(&engine, &target, "owbench-data")
        .await
        .unwrap();
    assert_eq!(deleted.len(), 9, "{deleted:?}");
    assert_eq!(
        deleted[0],
        "pre-authenticated request owbench-sets/part 0.bin of bucket owbench-data"
    );
    assert_eq!(
        deleted[3],
        "pre-authenticated request owbench-more/2 of bucket owbench-data"
    );
    assert_eq!(deleted[8], "bucket owbench-data");
    let left = server.storage().await;
    assert_eq!(left["buckets"], json!({}), "{left}");
    assert_eq!(left["pars"], 0, "{left}");
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
    let again = plugin.delete_bucket(&engine, &target, "owbench-data").await;
    assert_eq!(again.unwrap(), Vec::<String>::new());

    // Image aliases: the newest platform image of the OS and version for the shape.
    let resolve = async |image: &str, shape: &str| {
        plugin
            .resolve_image(&engine, &target, image, shape)
            .await
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        resolve("ubuntu-24.04", "VM.Standard.E5.Flex")
            .await
            .unwrap(),
        server.image
    );
    assert_eq!(
        resolve("ubuntu-24.04", "VM.Standard.A1.Flex")
            .await
            .unwrap(),
        "ocid1.image.oc1.phx.ubuntu2404-aarch64"
    );
    assert_eq!(
        resolve("ocid1.image.oc1.phx.any", "VM.Standard2.1")
            .await
            .unwrap(),
        "ocid1.image.oc1.phx.any"
    );
    let e = resolve("ubuntu-22.04", "VM.Standard2.1").await.unwrap_err();
    assert!(
        e.contains("no Canonical Ubuntu 22.04 platform image for shape VM.Standard2.1 in region us-phoenix-1"),
        "{e}"
    );
    let e = resolve("debian-12", "VM.Standard2.1").await.unwrap_err();
    assert!(
        e.contains("an alias this plugin knows (ubuntu-24.04"),
        "{e}"
    );
}

/// `owbench cluster` on OCI: `~/.oci/config` in `home`.
fn cluster(home: &Path, args: &[&str]) -> std::process::Output {
    cluster_in(&home.join("state"), home, &[], args)
}

fn spec_file(dir: &Path, server: &OciServer, invoker_image: &str) -> PathBuf {
    let spec = format!(
        r#"name = "ow-oci"
provider = "oci"
region = "us-phoenix-1"
endpoint = "{endpoint}"
image = "ubuntu-24.04"
open_ports = [443]
allowed_cidrs = ["203.0.113.0/24"]

[settings]
compartment-id = "{compartment}"
subnet-id = "{subnet}"
ocpus = "2"
memory-gb = "16"

[[nodes]]
role = "controller"
shape = "VM.Standard2.1"

[[nodes]]
role = "invoker"
shape = "VM.Standard.E5.Flex"
image = "{invoker_image}"
count = 2
"#,
        endpoint = server.endpoint,
        compartment = server.compartment,
        subnet = server.subnet,
    );
    let path = dir.join(format!("cluster-{}.toml", invoker_image.len()));
    std::fs::write(&path, spec).unwrap();
    path
}

/// The loopback OCI API server as a test cloud of the shared provider scenarios, with
/// `~/.oci/config` in `home`.
pub(crate) struct OciCloud {
    pub(crate) home: tempfile::TempDir,
    key: ApiKey,
    pub(crate) server: OciServer,
}

impl OciCloud {
    /// A home with `~/.oci/config` for a fresh API key, and a test server that knows it.
    pub(crate) fn start() -> OciCloud {
        let home = tempfile::tempdir().unwrap();
        let key = ApiKey::make(home.path(), "api");
        let server = OciServer::start(&key);
        std::fs::create_dir_all(home.path().join(".oci")).unwrap();
        std::fs::write(home.path().join(".oci/config"), key.config()).unwrap();
        OciCloud { home, key, server }
    }
}

impl TestCloud for OciCloud {
    fn spec(&self, invoker_image: Option<&str>) -> PathBuf {
        let image = invoker_image.unwrap_or(&self.server.image);
        spec_file(self.home.path(), &self.server, image)
    }

    fn cluster(&self, args: &[&str]) -> std::process::Output {
        cluster(self.home.path(), args)
    }

    fn state_dir(&self) -> PathBuf {
        self.home.path().join("state")
    }

    async fn live(&self, id: &str) -> usize {
        self.server.live(id).await
    }

    async fn add_stray(&self, id: &str) {
        let engine = engine();
        let plugin = oci(&engine, &self.server, Some(self.key.signer())).await;
        let stray = NodeRequest {
            name: format!("{id}-stray"),
            shape: "VM.Standard2.1".into(),
            image: self.server.image.clone(),
            count: 1,
            tags: vec![tag("owbench-cluster", id)],
            user_data: Vec::new(),
            ssh_public_key: String::new(),
            ingress: vec![],
            terminate_on_shutdown: false,
            volume: None,
        };
        plugin
            .create_nodes(&engine, &self.server.target(), &stray)
            .await
            .unwrap();
    }

    fn expected(&self) -> Expected {
        Expected {
            // 0.0638 + 2 × 0.062, from the plugin's price list.
            plan: "3 nodes on oci in us-phoenix-1: 0.1878 USD per hour",
            missing_image: "ocid1.image.oc1.phx.doesnotexist",
            missing_image_code: "NotAuthorizedOrNotFound",
            rule: "ingress rule tcp/443 from 203.0.113.0/24",
            ubuntu: "ocid1.image.oc1.phx.ubuntu2404",
            small_shape: "VM.Standard.E4.Flex",
            nvme_shape: ("VM.DenseIO2.8", "6400 GB local NVMe"),
            volume_kinds: ("vpus-0", "vpus-10"),
        }
    }

    fn spec_with(&self, nodes: &str) -> PathBuf {
        let s = &self.server;
        let spec = format!(
            "name = \"ow-storage\"\nprovider = \"oci\"\nregion = \"us-phoenix-1\"\nendpoint = \"{}\"\nimage = \"ubuntu-24.04\"\nallowed_cidrs = [\"203.0.113.0/24\"]\n\n[settings]\ncompartment-id = \"{}\"\nsubnet-id = \"{}\"\n\n{nodes}",
            s.endpoint, s.compartment, s.subnet
        );
        let path = self.home.path().join("storage.toml");
        std::fs::write(&path, spec).unwrap();
        path
    }

    async fn volumes(&self, id: &str) -> Vec<String> {
        let instances = self.server.instances().await;
        let ours = |instance: &str| {
            instances
                .iter()
                .any(|i| i["id"] == instance && i["freeformTags"]["owbench-cluster"] == id)
        };
        let volumes = self.server.volumes().await;
        volumes
            .iter()
            .filter(|v| v["lifecycleState"] != "TERMINATED")
            .filter(|v| {
                v["attachments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| ours(a["instanceId"].as_str().unwrap()))
            })
            .map(|v| format!("vpus-{} {}", v["vpusPerGB"], v["sizeInGBs"]))
            .collect()
    }

    async fn tighten_limits(&self) -> (&'static str, u32, &'static str) {
        let r = reqwest::Client::new()
            .post(format!(
                "{}/_test/limit?name=standard3-core-count&available=2",
                self.server.endpoint
            ))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        (
            "VM.Standard3.Flex",
            3,
            "error: account limit compute standard3-core-count in us-phoenix-1: the plan needs 3 OCPUs, 2 available; nothing created (raise the limit, or ask for less)",
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_bad_oci_config_gets_one_line_before_anything_is_created() {
    let home = tempfile::tempdir().unwrap();
    let key = ApiKey::make(home.path(), "api");
    let server = OciServer::start(&key);

    // No ~/.oci/config: one line naming the file, nothing created.
    let spec = spec_file(home.path(), &server, &server.image);
    let out = cluster(home.path(), &["up", spec.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(".oci/config") && stderr.contains("oci setup config"),
        "{stderr}"
    );
    // A key file that is not a key: one line naming it.
    std::fs::create_dir_all(home.path().join(".oci")).unwrap();
    let bad = key
        .config()
        .replace(key.pem.to_str().unwrap(), spec.to_str().unwrap());
    std::fs::write(home.path().join(".oci/config"), bad).unwrap();
    let out = cluster(home.path(), &["up", spec.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no unencrypted PEM private key"),
        "{stderr}"
    );
    assert!(server.instances().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_cluster_up_status_down_through_throttling() {
    let cloud = OciCloud::start();
    // Throttled for the first requests: `up` retries with backoff and gets there.
    cloud.server.throttle(3).await;
    cloud_suite::up_status_list_down(&cloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_in_the_middle_of_oci_up_leaves_state_that_down_cleans_completely() {
    let cloud = OciCloud::start();
    cloud_suite::an_unknown_image_alias_creates_nothing(&cloud).await;
    cloud_suite::a_failed_up_leaves_state_that_down_cleans_completely(&cloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_and_limits_against_the_oci_test_server() {
    let cloud = OciCloud::start();
    cloud_suite::volumes_are_made_shown_and_deleted_and_limits_come_first(&cloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_error_fails_up_at_once_and_down_cleans_what_was_made() {
    let cloud = OciCloud::start();
    let (home, server) = (&cloud.home, &cloud.server);
    // Three Always Free micro instances where the limit is two.
    let spec = cloud.spec(None).to_str().unwrap().to_owned();
    let text_of_spec = std::fs::read_to_string(&spec)
        .unwrap()
        .replace("VM.Standard.E5.Flex", "VM.Standard.E2.1.Micro")
        .replace("VM.Standard2.1", "VM.Standard.E2.1.Micro");
    std::fs::write(&spec, text_of_spec).unwrap();

    let up = cluster(home.path(), &["up", &spec]);
    assert_eq!(up.status.code(), Some(1));
    let stderr = text(&up.stderr);
    let id = cluster_id(&stderr);
    let error = stderr.lines().last().unwrap();
    assert!(error.contains("LimitExceeded"), "{stderr}");
    // Not retried (a retry prints "retrying in"): a quota does not go away by waiting.
    assert!(!stderr.contains("retrying"), "{stderr}");
    // The controller and the first invoker exist. Only the controller is recorded: the
    // invokers' create call failed as a whole; its first node carries the tag.
    assert_eq!(server.live(&id).await, 2);
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("state").join(format!("{id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["status"], "failed");
    assert_eq!(saved["nodes"].as_array().unwrap().len(), 1, "{saved}");
    let down = cluster(home.path(), &["down", &id]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    let out = text(&down.stdout);
    assert!(
        out.contains("2 node(s) terminated (1 found only by tag)"),
        "{out}"
    );
    assert_eq!(server.live(&id).await, 0, "zero instances left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_with_the_spec_sweeps_by_tag_when_the_state_file_is_gone() {
    let cloud = OciCloud::start();
    let (home, server) = (&cloud.home, &cloud.server);
    let spec = cloud.spec(None);
    let up = cluster(home.path(), &["up", spec.to_str().unwrap()]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let id = cluster_id(&text(&up.stderr));
    std::fs::remove_file(home.path().join("state").join(format!("{id}.json"))).unwrap();

    let down = cluster(home.path(), &["down", &id]);
    assert_eq!(down.status.code(), Some(1));
    let stderr = text(&down.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("add --spec SPEC"), "{stderr}");
    let bad = cluster(
        home.path(),
        &["down", "../escape", "--spec", spec.to_str().unwrap()],
    );
    assert!(
        text(&bad.stderr).contains("is not a cluster id"),
        "{}",
        text(&bad.stderr)
    );
    assert_eq!(server.live(&id).await, 3);

    let down = cluster(
        home.path(),
        &["down", &id, "--spec", spec.to_str().unwrap()],
    );
    assert!(down.status.success(), "{}", text(&down.stderr));
    let out = text(&down.stdout);
    assert!(
        out.contains("3 node(s) terminated (3 found only by tag)"),
        "{out}"
    );
    assert!(
        out.contains("ingress rule tcp/443 from 203.0.113.0/24"),
        "{out}"
    );
    assert_eq!(server.live(&id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_the_middle_of_up_leaves_state_that_down_cleans_completely() {
    let cloud = OciCloud::start();
    let (home, server) = (&cloud.home, &cloud.server);
    let spec = cloud.spec(None);
    server.slow_launches(1500).await;
    let state_dir = home.path().join("state");
    let child = Command::new(env!("CARGO_BIN_EXE_owbench"))
        .args(["cluster", "up", spec.to_str().unwrap()])
        .env("OWBENCH_CACHE_DIR", crate::helpers::cache_dir())
        .env("OWBENCH_STATE_DIR", &state_dir)
        .env("HOME", home.path())
        .env_remove("OCI_CONFIG_FILE")
        .env_remove("OCI_CLI_PROFILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first node is recorded (the next launch is then in flight): Ctrl-C.
    let state_file = 'wait: {
        for _ in 0..300 {
            if let Some(file) = std::fs::read_dir(&state_dir)
                .ok()
                .and_then(|mut d| d.next())
                && let Ok(text) = std::fs::read_to_string(file.unwrap().path())
                && let Ok(saved) = serde_json::from_str::<Value>(&text)
                && saved["nodes"].as_array().is_some_and(|n| !n.is_empty())
            {
                break 'wait saved;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("up recorded no node");
    };
    let id = state_file["id"].as_str().unwrap().to_owned();
    server.launches_in_flight(|n| n >= 1).await;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("interrupted: cluster {id} is partly created")),
        "{stderr}"
    );
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(state_dir.join(format!("{id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["status"], "interrupted");
    // The launch in flight at the Ctrl-C still makes its node, which no state records.
    server.launches_in_flight(|n| n == 0).await;
    server.slow_launches(0).await;
    let live = server.live(&id).await;
    assert!(
        live > saved["nodes"].as_array().unwrap().len(),
        "{live} live, {saved}"
    );

    let down = cluster(home.path(), &["down", &id]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert!(
        text(&down.stdout).contains("(1 found only by tag)"),
        "{}",
        text(&down.stdout)
    );
    assert_eq!(server.live(&id).await, 0, "zero instances left");
}

/// `up` with an installer on OCI, from the OCI example: the dry run prices it; then the
/// binary goes to Object Storage with a pre-authenticated URL in the user data, the ports
/// open to the spec's CIDR on the security list, and, as the health check never passes
/// (nothing listens where the test points it), `up` fails in one line and `down` removes
/// the node, the rules, the bucket, its object and its pre-authenticated request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installer_on_oci_uploads_opens_its_ports_and_down_removes_everything() {
    let cloud = OciCloud::start();
    let server = &cloud.server;
    let home = cloud.home.path();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/oci-standalone.toml");
    let example_text = std::fs::read_to_string(&example).unwrap();
    let dry = cluster(home, &["up", example.to_str().unwrap(), "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(
        text(&dry.stdout).contains("1 nodes on oci in eu-frankfurt-1: 0.0620 USD per hour"),
        "{}",
        text(&dry.stdout)
    );
    // The Kubernetes example: three nodes, sized from the flexible shape's 16 GB.
    let kube = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/oci-kube.toml");
    let dry = cluster(home, &["up", kube.to_str().unwrap(), "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    for line in [
        "3 nodes on oci in eu-frankfurt-1: 0.1860 USD per hour",
        "108 (54 per agent; a node runs at most 250 pods)",
    ] {
        assert!(text(&dry.stdout).contains(line), "{}", text(&dry.stdout));
    }
    let edited = example_text
        .replace(
            "region = \"eu-frankfurt-1\"",
            &format!(
                "region = \"us-phoenix-1\"\nendpoint = \"{}\"",
                server.endpoint
            ),
        )
        .lines()
        .map(|l| {
            if l.starts_with("compartment-id") {
                format!("compartment-id = \"{}\"", server.compartment)
            } else if l.starts_with("subnet-id") {
                format!("subnet-id = \"{}\"", server.subnet)
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let spec = home.join("oci-standalone.toml");
    std::fs::write(&spec, edited).unwrap();
    let (_refusing, addr) = crate::helpers::refusing_port();
    let addr = addr.to_string();
    let up_args = [
        "up",
        spec.to_str().unwrap(),
        "--health-timeout",
        "1s",
        "--owbench-binary",
        "/usr/bin/true",
    ];
    let test_address = [("OWBENCH_TEST_NODE_ADDRESS", addr.as_str())];

    // An upload the cloud refuses: one line naming the step and the `down` command,
    // before any node exists; `down` removes the bucket made for it.
    server.deny_uploads(true).await;
    let up = cluster_in(&home.join("state"), home, &test_address, &up_args);
    server.deny_uploads(false).await;
    let stderr = text(&up.stderr);
    assert_eq!(up.status.code(), Some(1), "{stderr}");
    let id = cluster_id(&stderr);
    let error = stderr.lines().last().unwrap();
    assert!(
        error.starts_with(&format!("error: cluster {id}: uploading owbench ("))
            && error.contains("NotAuthorizedOrNotFound"),
        "{stderr}"
    );
    assert!(
        error.ends_with(&format!("`owbench cluster down {id}` removes it")),
        "{stderr}"
    );
    assert_eq!(server.live(&id).await, 0);
    assert_eq!(
        server.storage().await["buckets"],
        json!({ format!("owbench-{id}"): [] })
    );
    let down = cluster(home, &["down", &id]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert_eq!(server.storage().await["buckets"], json!({}));

    let up = cluster_in(&home.join("state"), home, &test_address, &up_args);
    let stderr = text(&up.stderr);
    assert_eq!(up.status.code(), Some(1), "{stderr}");
    let id = cluster_id(&stderr);
    let error = stderr.lines().last().unwrap();
    assert!(error.contains("did not pass within 1 s"), "{stderr}");
    assert!(
        error.ends_with(&format!("`owbench cluster down {id}` removes it")),
        "{stderr}"
    );

    let storage = server.storage().await;
    let key = format!(
        "owbench-{}-linux-{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    assert_eq!(
        storage["buckets"],
        json!({ format!("owbench-{id}"): [key] }),
        "{storage}"
    );
    assert_eq!(storage["pars"], 1, "{storage}");
    let rules: Vec<(String, String, u64)> = storage["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["protocol"].as_str().unwrap().to_owned(),
                r["source"].as_str().unwrap().to_owned(),
                r["tcpOptions"]["destinationPortRange"]["min"]
                    .as_u64()
                    .unwrap(),
            )
        })
        .collect();
    let cidr = "203.0.113.7/32".to_owned();
    assert_eq!(
        rules,
        [("6".into(), cidr.clone(), 443), ("6".into(), cidr, 22)]
    );
    let instances = server.instances().await;
    assert_eq!(instances.len(), 1);
    use base64::Engine as _;
    let user_data = base64::engine::general_purpose::STANDARD
        .decode(instances[0]["metadata"]["user_data"].as_str().unwrap())
        .unwrap();
    let user_data = String::from_utf8(user_data).unwrap();
    assert!(
        user_data.contains(&format!("{}/p/", server.endpoint)),
        "the pre-authenticated URL"
    );
    assert!(user_data.contains("BEGIN PRIVATE KEY"), "the TLS key");

    let down = cluster(home, &["down", &id]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    let left = server.storage().await;
    assert_eq!(
        (&left["buckets"], &left["pars"], &left["rules"]),
        (&json!({}), &json!(0), &json!([])),
        "{left}"
    );
    assert_eq!(server.live(&id).await, 0);
}
