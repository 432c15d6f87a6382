use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;

use aws_credential_types::Credentials;
use owbench::cloud::aws::AwsSigner;
use owbench_plugin::manifest::Manifest;
use owbench_plugin::policy::RequestSigner;
use owbench_plugin::provider::{IngressRule, KeyValue, NodeRequest, Protocol, Source, Target};
use owbench_plugin::{CallError, ProviderPlugin};
use serde_json::Value;

use crate::cloud_suite::{self, Expected, TestCloud};
use crate::helpers::{engine, python_with, spawn_server};

/// moto's AWS server on loopback with request authentication on (started by this test
/// setup, stopped when dropped), and the IAM key it accepts.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub key_id: String,
    pub secret: String,
    pub image: String,
}

impl Moto {
    pub fn start() -> Moto {
        let python = python_with("moto", &["moto[server]==5.2.5"]);
        let (child, v) = spawn_server(&python, "moto_server.py", &[]);
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        Moto {
            endpoint: s("endpoint"),
            key_id: s("access_key_id"),
            secret: s("secret_access_key"),
            image: s("image"),
            child,
        }
    }

    pub fn signer(&self) -> Arc<dyn RequestSigner> {
        Arc::new(AwsSigner::new(Credentials::new(
            &self.key_id,
            &self.secret,
            None,
            None,
            "test",
        )))
    }

    pub fn target(&self) -> Target {
        Target {
            region: "us-east-1".into(),
            endpoint: Some(self.endpoint.clone()),
            settings: vec![],
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The built-in provider `name`, signing with `signer`, allowed to reach `endpoint`.
pub async fn builtin_provider(
    engine: &owbench_plugin::PluginEngine,
    name: &str,
    endpoint: &str,
    signer: Option<Arc<dyn RequestSigner>>,
) -> ProviderPlugin {
    let builtin = owbench_components::PROVIDERS
        .iter()
        .find(|b| b.manifest.contains(&format!("name = \"{name}\"")))
        .unwrap();
    let manifest = Manifest::parse(builtin.manifest).unwrap();
    let mut plugin = ProviderPlugin::load(engine, manifest, builtin.wasm, signer)
        .await
        .unwrap();
    plugin.allow_endpoint(endpoint).unwrap();
    plugin
}

/// The built-in aws-ec2 provider, signing with `signer`, allowed to reach moto.
pub async fn aws_ec2(
    engine: &owbench_plugin::PluginEngine,
    moto: &Moto,
    signer: Option<Arc<dyn RequestSigner>>,
) -> ProviderPlugin {
    builtin_provider(engine, "aws-ec2", &moto.endpoint, signer).await
}

pub fn tag(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_plugin_works_against_moto_only_when_the_host_re_signs() {
    let moto = Moto::start();
    let engine = engine();
    let target = moto.target();
    let tags = vec![tag("owbench-cluster", "sign-test")];

    // Signed by the plugin alone (placeholder keys): moto refuses it.
    let unsigned = aws_ec2(&engine, &moto, None).await;
    let e = unsigned
        .list_nodes(&engine, &target, &tags)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Refused { code: Some(c), .. } if c == "AuthFailure"),
        "{e}"
    );
    // Re-signed with a wrong secret: refused too.
    let wrong = Arc::new(AwsSigner::new(Credentials::new(
        &moto.key_id,
        "not-the-secret",
        None,
        None,
        "test",
    )));
    let e = aws_ec2(&engine, &moto, Some(wrong))
        .await
        .list_nodes(&engine, &target, &tags)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("AuthFailure") || e.to_string().contains("Signature"),
        "{e}"
    );

    // Re-signed with the real key: the whole lifecycle works.
    let aws = aws_ec2(&engine, &moto, Some(moto.signer())).await;
    let request = NodeRequest {
        name: "sign-test-worker".into(),
        shape: "t3.medium".into(),
        image: moto.image.clone(),
        count: 2,
        tags: tags.clone(),
        user_data: "#cloud-config\nruncmd: [[echo, hi]]\n".into(),
        ssh_public_key: String::new(),
        ingress: vec![
            rule(Protocol::Tcp, 22, Source::Cidr("203.0.113.0/24".into())),
            rule(Protocol::Tcp, 443, Source::Cidr("2001:db8::/32".into())),
            rule(Protocol::Udp, 8472, Source::Cluster),
        ],
        terminate_on_shutdown: true,
        volume: None,
    };
    let nodes = aws.create_nodes(&engine, &target, &request).await.unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[1].name, "sign-test-worker-2");
    assert!(nodes[0].tags.contains(&tags[0]), "{:?}", nodes[0].tags);
    // What EC2 holds, read back with boto3: each port open to its source only (`cluster`
    // is the default VPC's block), the user data, termination on an instance-initiated
    // shutdown, and IMDSv2 with one hop.
    let made = read_back(&moto, &tags[0]);
    assert_eq!(
        made["groups"],
        serde_json::json!([{"name": "sign-test-worker-sg", "rules": [
            {"protocol": "tcp", "port": 22, "cidrs": ["203.0.113.0/24"]},
            {"protocol": "tcp", "port": 443, "cidrs": ["2001:db8::/32"]},
            {"protocol": "udp", "port": 8472, "cidrs": ["172.31.0.0/16"]},
        ]}]),
        "{made}"
    );
    let instances = made["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 2, "{made}");
    for i in instances {
        assert_eq!(
            i["user_data"], "#cloud-config\nruncmd: [[echo, hi]]\n",
            "{i}"
        );
        assert_eq!(i["shutdown"], "terminate", "{i}");
        assert_eq!(i["http_tokens"], "required", "{i}");
        assert_eq!(i["hop_limit"], 1, "{i}");
    }
    // Called twice, as a retry after a lost answer is: the group and its rules are there
    // already, and the call still succeeds, with the same rules. (EC2 answers a repeated
    // client token with the same nodes; moto makes new ones.)
    let retried = NodeRequest {
        name: "sign-test-retry".into(),
        count: 1,
        tags: vec![tag("owbench-cluster", "sign-test-retry")],
        ..request.clone()
    };
    let mut made_twice = aws.create_nodes(&engine, &target, &retried).await.unwrap();
    made_twice.extend(aws.create_nodes(&engine, &target, &retried).await.unwrap());
    let groups = &read_back(&moto, &retried.tags[0])["groups"];
    assert_eq!(groups[0]["rules"], made["groups"][0]["rules"], "{groups}");
    let ids: Vec<String> = made_twice.into_iter().map(|n| n.id).collect();
    aws.terminate_nodes(&engine, &target, &ids).await.unwrap();
    aws.delete_tagged(&engine, &target, &retried.tags)
        .await
        .unwrap();
    // A bad CIDR never reaches EC2.
    let bad = NodeRequest {
        ingress: vec![rule(
            Protocol::Tcp,
            22,
            Source::Cidr("203.0.113.7/24".into()),
        )],
        ..request.clone()
    };
    let e = aws.create_nodes(&engine, &target, &bad).await.unwrap_err();
    assert!(e.to_string().contains("host bits set"), "{e}");
    let listed = aws.list_nodes(&engine, &target, &tags).await.unwrap();
    assert_eq!(listed.len(), 2);
    let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    aws.power(
        &engine,
        &target,
        &ids,
        owbench_plugin::provider::PowerAction::Stop,
    )
    .await
    .unwrap();
    let described = aws.describe_nodes(&engine, &target, &ids).await.unwrap();
    assert!(
        described.iter().all(|n| n.state == "stopped"),
        "{described:?}"
    );
    aws.terminate_nodes(&engine, &target, &ids).await.unwrap();
    // Terminating again, or unknown ids, is not an error.
    aws.terminate_nodes(
        &engine,
        &target,
        &[ids[0].clone(), "i-0123456789abcdef0".into()],
    )
    .await
    .unwrap();
    assert!(
        aws.list_nodes(&engine, &target, &tags)
            .await
            .unwrap()
            .is_empty()
    );
    let deleted = aws.delete_tagged(&engine, &target, &tags).await.unwrap();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert!(deleted[0].starts_with("security-group sg-"), "{deleted:?}");

    // Objects: put (signed over its payload hash), then a presigned URL re-signed by
    // the host. moto answers every presigned GET with a 500 while authentication is on
    // (boto3's own URLs too), so the URL's signature is checked against botocore's for
    // the same URL, time and key.
    aws.put_object(
        &engine,
        &target,
        "owbench-objects",
        "a/b.bin",
        b"hello moto",
    )
    .await
    .unwrap();
    let url = aws
        .object_url(&engine, &target, "owbench-objects", "a/b.bin", 600)
        .await
        .unwrap();
    assert!(
        url.contains(&format!("X-Amz-Credential={}", moto.key_id)),
        "{url}"
    );
    assert!(url.contains("X-Amz-Expires=600"), "{url}");
    let python = python_with("moto", &["moto[server]==5.2.5"]);
    let check = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/sigv4_presigned.py"))
        .args([&url, &moto.key_id, &moto.secret])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check.stderr));
    let both: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(both["ours"], both["botocore"], "{url}");

    // The bucket goes with what is in it; a second time there is nothing left to delete.
    assert_eq!(
        read_back(&moto, &tags[0])["buckets"]["owbench-objects"],
        serde_json::json!(["a/b.bin"])
    );
    let deleted = aws
        .delete_bucket(&engine, &target, "owbench-objects")
        .await
        .unwrap();
    assert_eq!(
        deleted,
        [
            "object s3://owbench-objects/a/b.bin",
            "bucket s3://owbench-objects"
        ]
    );
    assert_eq!(read_back(&moto, &tags[0])["buckets"], serde_json::json!({}));
    let again = aws.delete_bucket(&engine, &target, "owbench-objects").await;
    assert_eq!(again.unwrap(), Vec::<String>::new());
}

/// Image aliases resolve to Canonical's newest AMI for the shape's architecture; an id
/// stays as it is; an unknown alias is a one-line error naming the known ones.
#[tokio::test]
async fn aws_image_aliases_resolve_in_the_region() {
    let moto = Moto::start();
    let engine = engine();
    let aws = aws_ec2(&engine, &moto, Some(moto.signer())).await;
    let target = moto.target();
    let resolve = async |image: &str, shape: &str| {
        aws.resolve_image(&engine, &target, image, shape)
            .await
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        resolve("ubuntu-24.04", "m7i.large").await.unwrap(),
        "ami-0noble2"
    );
    assert_eq!(
        resolve("ubuntu-24.04", "m7g.large").await.unwrap(),
        "ami-0noblearm"
    );
    assert_eq!(resolve("ami-0abc", "m7i.large").await.unwrap(), "ami-0abc");
    let e = resolve("ubuntu-99.04", "m7i.large").await.unwrap_err();
    assert!(e.contains("ubuntu-24.04, ubuntu-22.04"), "{e}");
    let e = resolve("ubuntu-22.04", "m7i.large").await.unwrap_err();
    assert!(e.contains("no amd64 image of `ubuntu-22.04`"), "{e}");
}

/// An ingress rule.
pub fn rule(protocol: Protocol, port: u16, source: Source) -> IngressRule {
    IngressRule {
        protocol,
        port,
        source,
    }
}

/// What moto holds of the resources tagged `tag`, read back with boto3 (see
/// `tests/py/aws_read_back.py`).
pub fn read_back(moto: &Moto, tag: &KeyValue) -> Value {
    let python = python_with("moto", &["moto[server]==5.2.5"]);
    let out = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/aws_read_back.py"))
        .args([
            &moto.endpoint,
            &moto.key_id,
            &moto.secret,
            &tag.key,
            &tag.value,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `owbench cluster ARGS` with state files in `state`, HOME `home` and, of the cloud
/// configuration variables, only those in `env`.
pub fn cluster_in(
    state: &Path,
    home: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_owbench"));
    cmd.arg("cluster").args(args).env("HOME", home);
    cluster_env(&mut cmd, state, env);
    cmd.output().expect("run owbench")
}

/// `cmd` with the shared cache, state files in `state` (HOME too, unless set already),
/// no AWS or OCI configuration from the environment, and `env`.
fn cluster_env(cmd: &mut Command, state: &Path, env: &[(&str, &str)]) {
    cmd.env("OWBENCH_CACHE_DIR", crate::helpers::cache_dir())
        .env("OWBENCH_STATE_DIR", state);
    if !cmd.get_envs().any(|(k, _)| k == "HOME") {
        cmd.env("HOME", state);
    }
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") || name.starts_with("OCI_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied());
}

/// `owbench cluster ARGS` with the AWS configuration `aws` (key id, secret) in the
/// environment, state files in `state`, and no ~/.aws (HOME is `state`).
fn cluster(state: &Path, aws: Option<(&str, &str)>, args: &[&str]) -> std::process::Output {
    let env = match aws {
        Some((id, secret)) => vec![("AWS_ACCESS_KEY_ID", id), ("AWS_SECRET_ACCESS_KEY", secret)],
        None => vec![],
    };
    cluster_in(state, state, &env, args)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// moto as a test cloud of the shared provider scenarios.
struct AwsCloud {
    moto: Moto,
    dir: tempfile::TempDir,
}

impl AwsCloud {
    fn start() -> AwsCloud {
        AwsCloud {
            moto: Moto::start(),
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

impl TestCloud for AwsCloud {
    fn spec(&self, invoker_image: Option<&str>) -> std::path::PathBuf {
        let moto = &self.moto;
        let spec = format!(
            r#"name = "ow-test"
provider = "aws-ec2"
region = "us-east-1"
endpoint = "{endpoint}"
image = "ubuntu-24.04"
open_ports = [443]
allowed_cidrs = ["203.0.113.0/24"]

[[nodes]]
role = "controller"
shape = "m7i.large"

[[nodes]]
role = "invoker"
shape = "c7i.xlarge"
image = "{invoker_image}"
count = 2
"#,
            endpoint = moto.endpoint,
            invoker_image = invoker_image.unwrap_or(&moto.image),
        );
        let path = self.dir.path().join("cluster.toml");
        std::fs::write(&path, spec).unwrap();
        path
    }

    fn cluster(&self, args: &[&str]) -> std::process::Output {
        let aws = (self.moto.key_id.as_str(), self.moto.secret.as_str());
        cluster(&self.state_dir(), Some(aws), args)
    }

    fn state_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }

    async fn live(&self, id: &str) -> usize {
        let engine = engine();
        let aws = aws_ec2(&engine, &self.moto, Some(self.moto.signer())).await;
        let tags = [tag("owbench-cluster", id)];
        let nodes = aws.list_nodes(&engine, &self.moto.target(), &tags).await;
        nodes.unwrap().len()
    }

    async fn add_stray(&self, id: &str) {
        let engine = engine();
        let aws = aws_ec2(&engine, &self.moto, Some(self.moto.signer())).await;
        let stray = NodeRequest {
            name: format!("{id}-stray"),
            shape: "t3.medium".into(),
            image: self.moto.image.clone(),
            count: 1,
            tags: vec![tag("owbench-cluster", id)],
            user_data: Vec::new(),
            ssh_public_key: String::new(),
            ingress: vec![],
            terminate_on_shutdown: false,
            volume: None,
        };
        aws.create_nodes(&engine, &self.moto.target(), &stray)
            .await
            .unwrap();
    }

    fn expected(&self) -> Expected {
        Expected {
            // 0.1008 + 2 × 0.1785, from the plugin's price list.
            plan: "3 nodes on aws-ec2 in us-east-1: 0.4578 USD per hour",
            missing_image: "ami-00000000deadbeef0",
            missing_image_code: "InvalidAMIID",
            rule: "security-group sg-",
            ubuntu: "ami-0noble2",
            small_shape: "m7i.large",
            nvme_shape: ("i3.large", "475 GB local NVMe"),
            volume_kinds: ("st1", "gp3"),
        }
    }

    fn spec_with(&self, nodes: &str) -> std::path::PathBuf {
        let spec = format!(
            "name = \"ow-storage\"\nprovider = \"aws-ec2\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\nimage = \"{}\"\nallowed_cidrs = [\"203.0.113.0/24\"]\n\n{nodes}",
            self.moto.endpoint, self.moto.image
        );
        let path = self.dir.path().join("storage.toml");
        std::fs::write(&path, spec).unwrap();
        path
    }

    async fn volumes(&self, id: &str) -> Vec<String> {
        let made = read_back(&self.moto, &tag("owbench-cluster", id));
        made["volumes"]
            .as_array()
            .unwrap()
            .iter()
            // Each node's root volume is tagged too.
            .filter(|v| v["size"] != 8)
            .map(|v| format!("{} {}", v["type"].as_str().unwrap(), v["size"]))
            .collect()
    }

    async fn tighten_limits(&self) -> (&'static str, u32, &'static str) {
        // The test's moto has EC2's vCPU quota L-1216C47A at 64 (tests/py/moto_server.py).
        (
            "m7i.large",
            33,
            "error: account limit Service Quotas L-1216C47A (Running On-Demand Standard instances) in us-east-1: the plan needs 66 vCPUs, 64 available; nothing created (raise the limit, or ask for less)",
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_up_status_down_against_moto() {
    let cloud = AwsCloud::start();
    cloud_suite::up_status_list_down(&cloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_in_the_middle_of_up_leaves_state_that_down_cleans_completely() {
    let cloud = AwsCloud::start();
    cloud_suite::an_unknown_image_alias_creates_nothing(&cloud).await;
    cloud_suite::a_failed_up_leaves_state_that_down_cleans_completely(&cloud).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_and_limits_against_moto() {
    let cloud = AwsCloud::start();
    cloud_suite::volumes_are_made_shown_and_deleted_and_limits_come_first(&cloud).await;
}

#[test]
fn missing_credentials_and_bad_specs_get_one_line_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let spec = dir.path().join("c.toml");
    let write = |region: &str, shape: &str| {
        std::fs::write(
            &spec,
            format!(
                "name = \"x\"\nprovider = \"aws-ec2\"\nregion = \"{region}\"\nimage = \"ami-1\"\n[[nodes]]\nrole = \"a\"\nshape = \"{shape}\"\n"
            ),
        )
        .unwrap();
    };
    let one_line = |out: &std::process::Output, needle: &str| {
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(needle),
            "{stderr}"
        );
    };
    write("us-east-1", "m7i.large");
    one_line(
        &cluster(&state, None, &["up", spec.to_str().unwrap()]),
        "no usable AWS credentials",
    );
    // A malformed shared credentials file is named.
    std::fs::create_dir_all(state.join(".aws")).unwrap();
    std::fs::write(
        state.join(".aws/credentials"),
        "[default\naws_access_key_id = x\n",
    )
    .unwrap();
    one_line(
        &cluster(&state, None, &["up", spec.to_str().unwrap()]),
        "no usable AWS credentials",
    );
    let aws = Some(("AKIDEXAMPLE", "secret"));
    write("mars-north-1", "m7i.large");
    one_line(
        &cluster(&state, aws, &["up", spec.to_str().unwrap()]),
        "has no region `mars-north-1`",
    );
    write("us-east-1", "m9.huge");
    one_line(
        &cluster(&state, aws, &["up", spec.to_str().unwrap()]),
        "role `a`: provider aws-ec2 has no shape `m9.huge`",
    );
    one_line(
        &cluster(&state, aws, &["down", "nope-000000"]),
        "no cluster `nope-000000`",
    );
    let states: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    assert!(states.is_empty(), "nothing was started");
}

/// A loopback server that keeps the headers of every request it receives (and answers
/// `ok`: a real cloud echoes no request headers back either).
async fn echo_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let kept = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let kept = kept.clone();
        async move {
            let lines: Vec<String> = headers
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
                .collect();
            kept.lock().unwrap().extend(lines);
            "ok"
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_sees_no_environment_no_files_and_no_secret() {
    const SECRET: &str = "wJalrXUtnFEMI-owbench-test-SECRET";
    let (url, received) = echo_server().await;
    let engine = engine();
    let signer: Arc<dyn RequestSigner> = Arc::new(AwsSigner::new(Credentials::new(
        "AKIDOWBENCHTEST",
        SECRET,
        Some("session-token-SECRET".into()),
        None,
        "test",
    )));
    let manifest = Manifest::parse(
        "name = \"peek\"\nversion = \"0.1.0\"\nworld = \"owbench:plugin/provider@0.4.0\"\n[permissions]\ncredentials = \"aws\"\n",
    )
    .unwrap();
    let wasm = std::fs::read(owbench_components::fixtures::PEEK).unwrap();
    let mut peek = ProviderPlugin::load(&engine, manifest, &wasm, Some(signer))
        .await
        .unwrap();
    peek.allow_endpoint(&url).unwrap();
    let target = Target {
        region: "us-east-1".into(),
        endpoint: Some(url.clone()),
        settings: vec![],
    };
    let seen = peek
        .list_nodes(&engine, &target, &[])
        .await
        .unwrap()
        .remove(0)
        .tags;
    let everything = format!("{seen:?}");
    assert!(
        !seen.iter().any(|t| t.key.starts_with("env:")),
        "{everything}"
    );
    assert!(
        !seen.iter().any(|t| t.key.starts_with("file:")),
        "{everything}"
    );
    assert!(!everything.contains("SECRET"), "{everything}");
    // What the plugin sent carries its placeholder; what left the host, the real key.
    let sent = seen.iter().find(|t| t.key == "sent:authorization").unwrap();
    assert!(sent.value.contains("Credential=PLACEHOLDER/"), "{sent:?}");
    let received = received.lock().unwrap().join("\n");
    assert!(
        received.contains("Credential=AKIDOWBENCHTEST/"),
        "{received}"
    );
    assert!(
        received.contains("x-amz-security-token: session-token-SECRET"),
        "{received}"
    );
    assert!(
        !received.contains(SECRET),
        "the secret key itself never travels"
    );
    assert!(
        seen.iter().any(|t| t.key == "body" && t.value == "ok"),
        "{everything}"
    );
    // A presigned URL comes back signed by the host, without the secret.
    let presigned = peek
        .object_url(&engine, &target, "b", "k", 60)
        .await
        .unwrap();
    assert!(
        presigned.contains("X-Amz-Credential=AKIDOWBENCHTEST"),
        "{presigned}"
    );
    assert!(!presigned.contains(SECRET), "{presigned}");
}

/// `owbench experiment plan`: a matrix of the example clusters, checked against the
/// aws-ec2 plugin and priced as `cluster up --dry-run` prices each (no cloud is called);
/// a bad cluster is named in one line.
#[test]
fn a_matrix_plan_prices_each_cluster_as_its_dry_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
    for name in ["aws-standalone.toml", "aws-serve.toml", "aws-kube.toml"] {
        std::fs::copy(examples.join(name), d.join(name)).unwrap();
    }
    std::fs::write(
        d.join("bench.toml"),
        "name = \"b\"\ncount = 50\n[load]\nmodel = \"closed\"\nconcurrency = 4\n[[workload]]\nname = \"noop\"\n",
    )
    .unwrap();
    let matrix = d.join("matrix.toml");
    let write_matrix = |clusters: &[(&str, Option<&str>)]| {
        let mut text = String::from("name = \"ec2-shapes\"\nbench = \"bench.toml\"\n");
        for (spec, label) in clusters {
            text.push_str(&format!("[[cluster]]\nspec = \"{spec}\"\n"));
            if let Some(l) = label {
                text.push_str(&format!("label = \"{l}\"\n"));
            }
        }
        std::fs::write(&matrix, text).unwrap();
    };
    let aws = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "not-used"),
    ];
    let experiment = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_owbench"));
        cmd.arg("experiment").args(args);
        cluster_env(&mut cmd, d, &aws);
        cmd.output().unwrap()
    };

    write_matrix(&[
        ("aws-standalone.toml", None),
        ("aws-serve.toml", None),
        ("aws-kube.toml", Some("kube")),
    ]);
    let out = experiment(&["plan", matrix.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.starts_with("experiment ec2-shapes: bench spec ")
            && stdout.contains("(1 workload(s), 1 repetition(s)) on 3 cluster(s)"),
        "{stdout}"
    );
    // Each cluster's price per hour is its dry run's; the total is the sum of each over
    // its max_hours.
    let mut total = 0.0;
    for (spec, label) in [
        ("aws-standalone.toml", "ow-aws"),
        ("aws-serve.toml", "serve-aws"),
        ("aws-kube.toml", "kube"),
    ] {
        let dry = cluster_in(
            d,
            d,
            &aws,
            &["up", d.join(spec).to_str().unwrap(), "--dry-run"],
        );
        let dry_out = text(&dry.stdout);
        let per_hour: f64 = dry_out
            .split(" USD per hour")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{spec}: {dry_out}"));
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no row for {label}: {stdout}"));
        assert!(
            row.contains(&format!("{per_hour:.4}")),
            "{label}: {row} vs {per_hour}"
        );
        total += per_hour * 4.0; // every example has max_hours = 4
    }
    assert!(
        stdout.contains(&format!("at most {total:.2} USD in all")),
        "{stdout} (expected {total:.2})"
    );

    // A cluster the provider cannot make is named, in one line.
    let bad = std::fs::read_to_string(d.join("aws-serve.toml"))
        .unwrap()
        .replace("m7i.xlarge", "m7i.huge");
    std::fs::write(d.join("bad.toml"), bad).unwrap();
    write_matrix(&[("aws-standalone.toml", None), ("bad.toml", Some("huge"))]);
    crate::cli::assert_one_line_error(
        &experiment(&["plan", matrix.to_str().unwrap()]),
        "cluster `huge`",
    );
}
