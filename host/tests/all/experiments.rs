//! `owbench experiment run MATRIX` end to end: clusters on EC2 (moto) and OCI (the
//! loopback OCI API server) brought up with an installer, benched, and brought down,
//! two at a time, and one report of every cluster side by side. As in the deploy tests,
//! the health checks and the benches reach a loopback `owbench serve` per cluster that
//! the test starts with that cluster's certificate and key (`OWBENCH_TEST_NODE_ADDRESS`,
//! per cluster spec name), never an address a test cloud made up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::deploy::{free_port, nothing_left, owbench, serve_like_the_node};
use crate::oci::OciCloud;
use crate::providers::{Moto, text};

const BENCH: &str = "name = \"matrix-noop\"\nruns = 2\ncount = 10\n[load]\nmodel = \"closed\"\nconcurrency = 2\n[[workload]]\nname = \"noop\"\n";

/// An EC2 cluster spec with the `owbench-serve` installer, against moto; `extra` goes in
/// its `[[nodes]]` (a volume).
fn ec2_spec(dir: &Path, moto: &Moto, name: &str, shape: &str, extra: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "name = \"{name}\"\nprovider = \"aws-ec2\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\nimage = \"ubuntu-24.04\"\nallowed_cidrs = [\"203.0.113.7/32\"]\nmax_hours = 2\n[installer]\nname = \"owbench-serve\"\n[[nodes]]\nrole = \"serve\"\nshape = \"{shape}\"\n{extra}\n",
        moto.endpoint
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// An OCI cluster spec with the `owbench-serve` installer, against the test server;
/// `extra` goes in its `[[nodes]]`.
fn oci_spec(dir: &Path, cloud: &OciCloud, name: &str, shape: &str, extra: &str) -> PathBuf {
    let s = &cloud.server;
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "name = \"{name}\"\nprovider = \"oci\"\nregion = \"us-phoenix-1\"\nendpoint = \"{}\"\nimage = \"ubuntu-24.04\"\nallowed_cidrs = [\"203.0.113.7/32\"]\nmax_hours = 2\n[settings]\ncompartment-id = \"{}\"\nsubnet-id = \"{}\"\nocpus = \"1\"\nmemory-gb = \"16\"\n[installer]\nname = \"owbench-serve\"\n[[nodes]]\nrole = \"serve\"\nshape = \"{shape}\"\n{extra}\n",
        s.endpoint, s.compartment, s.subnet
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A matrix of `clusters` (label, spec) running [`BENCH`].
fn matrix(dir: &Path, clusters: &[(&str, &Path)]) -> PathBuf {
    std::fs::write(dir.join("bench.toml"), BENCH).unwrap();
    let mut text = "name = \"clouds\"\nbench = \"bench.toml\"\n".to_owned();
    for (label, spec) in clusters {
        text.push_str(&format!(
            "[[cluster]]\nspec = \"{}\"\nlabel = \"{label}\"\n",
            spec.display()
        ));
    }
    let path = dir.join("matrix.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Run `cmd` to the end, starting an `owbench serve` "node" for each cluster whose state
/// holds its secrets, on the port `ports` gives its spec name. Its exit status, stdout
/// and stderr.
fn run_serving(
    mut cmd: Command,
    dir: &Path,
    ports: &BTreeMap<String, u16>,
) -> (ExitStatus, String, String) {
    let (out, err) = (dir.join("run.out"), dir.join("run.err"));
    cmd.stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .stdin(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut nodes: BTreeMap<String, Child> = BTreeMap::new();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        for entry in std::fs::read_dir(dir.join("state")).into_iter().flatten() {
            let Ok(state) = std::fs::read_to_string(entry.unwrap().path())
                .map_err(drop)
                .and_then(|t| serde_json::from_str::<Value>(&t).map_err(drop))
            else {
                continue;
            };
            let id = state["id"].as_str().unwrap_or_default().to_owned();
            let name = state["spec"]["name"].as_str().unwrap_or_default();
            if state["secrets"]["tls-cert"].is_string()
                && !nodes.contains_key(&id)
                && let Some(port) = ports.get(name)
            {
                let node_dir = dir.join(format!("node-{id}"));
                std::fs::create_dir_all(&node_dir).unwrap();
                nodes.insert(id, serve_like_the_node(&node_dir, &state, *port));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    for (_, mut node) in nodes {
        let _ = node.kill();
        let _ = node.wait();
    }
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
    (status, read(out), read(err))
}

/// The experiment's directory under `results`: the one directory there.
fn experiment_dir(results: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// Two clusters on each cloud, two at a time: each comes up, runs the bench and goes
/// down, leaving nothing in either cloud; the report has every cluster with its platform
/// and costs, every figure per cluster, and the changes against the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matrix_on_both_clouds_runs_each_cluster_and_reports_them_side_by_side() {
    let moto = Moto::start();
    let cloud = OciCloud::start();
    let home = cloud.home.path();
    // On each cloud, one cluster with an SSD volume and one with a hard-disk volume.
    let ssd = "volume = { size_gb = 100, class = \"ssd\" }";
    let hdd = "volume = { size_gb = 200, class = \"hdd\" }";
    let specs = [
        (
            "ec2-m7i",
            ec2_spec(home, &moto, "ec2-m7i", "m7i.xlarge", ssd),
        ),
        (
            "ec2-c7i",
            ec2_spec(home, &moto, "ec2-c7i", "c7i.large", hdd),
        ),
        (
            "oci-e5",
            oci_spec(home, &cloud, "oci-e5", "VM.Standard.E5.Flex", ssd),
        ),
        (
            "oci-e4",
            oci_spec(home, &cloud, "oci-e4", "VM.Standard.E4.Flex", hdd),
        ),
    ];
    let pairs: Vec<(&str, &Path)> = specs.iter().map(|(l, p)| (*l, p.as_path())).collect();
    let matrix = matrix(home, &pairs);
    let ports: BTreeMap<String, u16> = specs
        .iter()
        .map(|(name, _)| (name.to_string(), free_port()))
        .collect();
    let reach = ports
        .iter()
        .map(|(name, port)| format!("{name}=127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    let results = home.join("results");
    let run = |extra: &[&str]| {
        let mut args = vec!["experiment", "run", matrix.to_str().unwrap()];
        args.extend_from_slice(extra);
        let mut cmd = owbench(&moto, home, &reach, &args);
        cmd.env("OWBENCH_DB", home.join("history.sqlite"));
        cmd
    };

    // Without a terminal to ask on, and without --yes: nothing is created.
    let refused = run(&["-o", results.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    let error = text(&refused.stderr);
    assert!(
        error
            .trim_end()
            .ends_with("give --yes to go on without asking"),
        "{error}"
    );
    assert!(!home.join("state").exists() && !results.exists());

    let cmd = run(&[
        "--yes",
        "--parallel",
        "2",
        "--owbench-binary",
        "/usr/bin/true",
        "-o",
        results.to_str().unwrap(),
    ]);
    let node_dir = home.to_path_buf();
    let (status, stdout, stderr) =
        tokio::task::spawn_blocking(move || run_serving(cmd, &node_dir, &ports))
            .await
            .unwrap();
    assert!(status.success(), "{stderr}\n{stdout}");
    // The plan came first: every cluster priced, the most it can all cost; then each
    // cluster against its account's limits, and the two on each account together.
    for line in [
        "ec2-m7i",
        "oci-e4",
        "at most ",
        "clusters `ec2-m7i`, `ec2-c7i`, up at once on one account and region:",
        "clusters `oci-e5`, `oci-e4`, up at once on one account and region:",
    ] {
        assert!(stdout.contains(line), "{line} not in {stdout}");
    }

    let dir = experiment_dir(&results);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("experiment.json")).unwrap())
            .unwrap();
    let clusters = report["clusters"].as_array().unwrap();
    let labels: Vec<&str> = clusters
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        ["ec2-m7i", "ec2-c7i", "oci-e5", "oci-e4"],
        "{report}"
    );
    assert_eq!(report["baseline"], "ec2-m7i");
    let shapes = [
        "m7i.xlarge",
        "c7i.large",
        "VM.Standard.E5.Flex",
        "VM.Standard.E4.Flex",
    ];
    let providers = ["aws-ec2", "aws-ec2", "oci", "oci"];
    // Each cluster's price: its shape's, and its volume's (USD per GB-month over 730 h).
    let prices = [
        0.2016 + 100.0 * 0.08 / 730.0,
        0.0893 + 200.0 * 0.045 / 730.0,
        0.062 + 100.0 * 0.0425 / 730.0,
        0.049 + 200.0 * 0.0255 / 730.0,
    ];
    let volumes = [(100, "ssd"), (200, "hdd"), (100, "ssd"), (200, "hdd")];
    for (i, c) in clusters.iter().enumerate() {
        let (shape, provider) = (shapes[i], providers[i]);
        assert_eq!(c["status"], "ok", "{c}");
        let price = c["usd_per_hour"].as_f64().unwrap();
        assert!((price - prices[i]).abs() < 1e-9, "{price} {c}");
        let volume = &c["platform"]["cluster"]["nodes"][0]["volume"];
        assert_eq!(
            (
                volume["size_gb"].as_u64().unwrap(),
                volume["class"].as_str().unwrap()
            ),
            (volumes[i].0, volumes[i].1),
            "{c}"
        );
        let platform = &c["platform"]["cluster"];
        assert_eq!(platform["id"], c["cluster"], "{c}");
        assert_eq!(platform["provider"], provider, "{c}");
        assert_eq!(platform["nodes"][0]["shape"], shape, "{c}");
        assert_eq!(platform["installer"]["name"], "owbench-serve", "{c}");
        // The run's cost is the cluster's price over the run; the cluster's, over all
        // the time from up to down, which holds the run.
        let price = c["usd_per_hour"].as_f64().unwrap();
        assert_eq!(c["run_cost"]["usd_per_hour"].as_f64(), Some(price), "{c}");
        let run_usd = c["run_cost"]["usd"].as_f64().unwrap();
        let cluster_usd = c["cluster_usd"].as_f64().unwrap();
        assert!(0.0 < run_usd && run_usd < cluster_usd, "{c}");
        let hours =
            (c["down_ended_ms"].as_f64().unwrap() - c["up_started_ms"].as_f64().unwrap()) / 3.6e6;
        assert!((cluster_usd - price * hours).abs() < 1e-12, "{c}");
        assert!(c["run_cost"]["usd_per_1000"].as_f64().unwrap() > 0.0, "{c}");
        let down = c["down"].as_str().unwrap();
        assert!(
            down.starts_with(&format!(
                "cluster {} is down: 1 node(s)",
                c["cluster"].as_str().unwrap()
            )),
            "{c}"
        );
        let results = PathBuf::from(c["results"].as_str().unwrap());
        assert!(
            results.starts_with(dir.join(c["label"].as_str().unwrap())),
            "{c}"
        );
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(results.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["workloads"][0]["outcomes"]["ok"], 20, "{summary}");
    }
    // Every figure per cluster; a change for each other cluster against the baseline.
    let p50 = report["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["workload"] == "noop" && f["figure"] == "p50")
        .unwrap();
    for label in labels.iter() {
        assert!(
            p50["clusters"][label]["median"].as_f64().unwrap() > 0.0,
            "{p50}"
        );
        assert!(p50["clusters"][label]["ci"].is_array(), "{p50}");
    }
    let changed: Vec<&str> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["ec2-c7i", "oci-e5", "oci-e4"], "{report}");
    let notes = report["changes"][1]["comparison"]["notes"].to_string();
    assert!(
        notes.contains("aws-ec2 us-east-1") && notes.contains("oci us-phoenix-1"),
        "{notes}"
    );

    let markdown = std::fs::read_to_string(dir.join("experiment.md")).unwrap();
    for line in [
        "| `oci-e4` | ok | cluster ",
        "1 × VM.Standard.E4.Flex (serve, 200 GB hdd volume); owbench-serve ",
        "| figure | `ec2-m7i` | `ec2-c7i` | `oci-e5` | `oci-e4` | `ec2-c7i` vs `ec2-m7i` |",
    ] {
        assert!(markdown.contains(line), "{line} not in\n{markdown}");
    }
    assert!(stdout.contains(&markdown), "the report is printed too");

    // Nothing is left in either cloud.
    for c in clusters {
        let id = c["cluster"].as_str().unwrap();
        if c["platform"]["cluster"]["provider"] == "oci" {
            assert_eq!(cloud.server.live(id).await, 0);
        } else {
            nothing_left(&moto, id);
        }
    }
    assert_eq!(cloud.server.storage().await["buckets"], json!({}));
    let volumes = cloud.server.volumes().await;
    assert_eq!(volumes.len(), 2, "one volume per OCI cluster was made");
    assert!(
        volumes.iter().all(|v| v["lifecycleState"] == "TERMINATED"),
        "and deleted: {volumes:?}"
    );
}

/// A matrix of two small EC2 clusters, `a` and `b`, on moto.
fn two_ec2_clusters(home: &Path, moto: &Moto) -> PathBuf {
    let a = ec2_spec(home, moto, "a", "m7i.large", "");
    let b = ec2_spec(home, moto, "b", "c7i.large", "");
    matrix(home, &[("a", &a), ("b", &b)])
}

/// A matrix whose clusters all fail their health check: each fails in the report, each
/// is brought down, the run exits non-zero saying which.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matrix_whose_clusters_all_fail_says_so_per_cluster_and_leaves_nothing() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let matrix = two_ec2_clusters(home, &moto);
    // Nothing listens there: no health check passes.
    let (_refusing, addr) = crate::helpers::refusing_port();
    let results = home.join("results");
    let args = [
        "experiment",
        "run",
        matrix.to_str().unwrap(),
        "--yes",
        "--health-timeout",
        "1s",
        "--owbench-binary",
        "/usr/bin/true",
        "-o",
        results.to_str().unwrap(),
    ];
    let out = owbench(&moto, home, &addr.to_string(), &args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.trim_end().lines().last().unwrap().starts_with(
            "error: experiment clouds: 2 of 2 cluster(s) did not run to the end (a failed, b failed); the report is in "
        ),
        "{stderr}"
    );
    let dir = experiment_dir(&results);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("experiment.json")).unwrap())
            .unwrap();
    for c in report["clusters"].as_array().unwrap() {
        assert_eq!(c["status"], "failed", "{c}");
        let error = c["error"].as_str().unwrap();
        assert!(
            error.starts_with("up: ") && error.contains("did not pass within 1 s"),
            "{c}"
        );
        assert!(c["down"].as_str().unwrap().contains("is down"), "{c}");
        nothing_left(&moto, c["cluster"].as_str().unwrap());
    }
    let markdown = std::fs::read_to_string(dir.join("experiment.md")).unwrap();
    assert!(
        markdown.contains("No cluster ran the bench: there are no figures."),
        "{markdown}"
    );
    assert!(markdown.contains("`a` failed: up: "), "{markdown}");
}

/// Ctrl-C while the first of two clusters waits for its health check: that cluster is
/// brought down, the second is never brought up, the report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_a_matrix_brings_down_what_is_up_and_starts_nothing_more() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let matrix = two_ec2_clusters(home, &moto);
    // Nothing listens there: no health check passes.
    let (_refusing, addr) = crate::helpers::refusing_port();
    let results = home.join("results");
    let args = [
        "experiment",
        "run",
        matrix.to_str().unwrap(),
        "--yes",
        "--owbench-binary",
        "/usr/bin/true",
        "-o",
        results.to_str().unwrap(),
    ];
    let run = owbench(&moto, home, &addr.to_string(), &args)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // Once the first cluster's node runs, `up` waits for a health check that never passes.
    let (_, saved) = crate::deploy::first_node_running(home);
    let id = saved["id"].as_str().unwrap().to_owned();
    let kill = Command::new("kill")
        .args(["-INT", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = run.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("(a interrupted, b interrupted)"),
        "{stderr}"
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(experiment_dir(&results).join("experiment.json")).unwrap(),
    )
    .unwrap();
    let (ca, cb) = (&report["clusters"][0], &report["clusters"][1]);
    assert_eq!(ca["cluster"], id.as_str(), "{report}");
    assert!(
        ca["error"].as_str().unwrap().contains("interrupted"),
        "{report}"
    );
    assert!(ca["down"].as_str().unwrap().contains("is down"), "{report}");
    assert_eq!(
        cb["error"], "not started: interrupted (Ctrl-C) before its turn",
        "{report}"
    );
    assert!(cb["cluster"].is_null(), "{report}");
    nothing_left(&moto, &id);
    assert_eq!(
        std::fs::read_dir(home.join("state")).unwrap().count(),
        1,
        "only the first cluster was made"
    );
}

/// Two clusters each within the account's vCPU quota, but not both at once: with
/// `--parallel 2` the matrix is refused in one line before anything is created; one
/// after another it would pass the limits.
#[test]
fn clusters_up_at_once_are_checked_against_the_limits_together() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // 20 × 2 vCPUs each; the test's moto allows 64 on-demand standard vCPUs.
    let a = ec2_spec(home, &moto, "a", "m7i.large", "count = 20");
    let b = ec2_spec(home, &moto, "b", "m7i.large", "count = 20");
    let matrix = matrix(home, &[("a", &a), ("b", &b)]);
    let args = [
        "experiment",
        "run",
        matrix.to_str().unwrap(),
        "--yes",
        "--parallel",
        "2",
    ];
    let out = owbench(&moto, home, "127.0.0.1:9", &args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().last().unwrap(),
        "error: clusters `a`, `b` up at once: account limit Service Quotas L-1216C47A (Running On-Demand Standard instances) in us-east-1: the plan needs 80 vCPUs, 64 available; nothing created (raise the limit, or ask for less)"
    );
    // Each alone was within it.
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.matches("needs 40 vCPUs, 64 available").count(),
        2,
        "{stdout}"
    );
    assert!(!home.join("state").exists(), "nothing created");
}
