//! A `#cloud-config` document: packages, files and the install steps, serialised as YAML.

use serde::Serialize;

/// Where the install steps are written; `runcmd` runs this one script.
pub const INSTALL_SCRIPT: &str = "/usr/local/lib/owbench/install.sh";
/// Where the install steps write their output.
pub const INSTALL_LOG: &str = "/var/log/owbench-install.log";
/// What says why the installation failed: the step, and the last line it wrote. On a
/// node with the TLS front, every request then gets `503` and `install failed: ...`,
/// which `owbench cluster up` reports at once instead of waiting out its health check.
pub const FAILED_SCRIPT: &str = "/usr/local/lib/owbench/install-failed.sh";

const INSTALL_FAILED: &str = include_str!("../files/install-failed.sh");
/// The first step on every node: the image's own firewall, if it has one, leaves
/// ingress to the cloud's security rules.
pub const IMAGE_FIREWALL_SCRIPT: &str = "/usr/local/lib/owbench/image-firewall.sh";
const IMAGE_FIREWALL: &str = include_str!("../files/image-firewall.sh");

/// The head of the install script: `step CMD...` runs one step, its output in
/// [`INSTALL_LOG`]; a failure stops the script after [`FAILED_SCRIPT`] said why.
fn steps_head() -> String {
    format!(
        r#"#!/bin/bash
# The install steps of this node, in order, their output in the log; the first that
# fails stops them, and {FAILED_SCRIPT} says why.
set -euo pipefail
log={INSTALL_LOG}
step() {{
  echo "== $*" >>"$log"
  if ! "$@" >>"$log" 2>&1; then
    {FAILED_SCRIPT} "$*" "$(tail -n 1 "$log")"
    exit 1
  fi
}}
"#
    )
}

/// The cloud-init user data of one phase.
#[derive(Debug, Default)]
pub struct CloudConfig {
    packages: Vec<String>,
    files: Vec<File>,
    steps: Vec<Vec<String>>,
}

/// A file cloud-init writes.
#[derive(Debug, Clone, Serialize)]
pub struct File {
    /// Absolute path.
    pub path: String,
    /// Its text.
    pub content: String,
    /// Octal mode, e.g. `0644`.
    pub permissions: String,
    /// `user:group`.
    pub owner: String,
}

/// The document as cloud-init reads it.
#[derive(Serialize)]
struct Document<'a> {
    package_update: bool,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    packages: &'a [String],
    write_files: Vec<File>,
    runcmd: [[&'a str; 1]; 1],
}

impl CloudConfig {
    /// An empty document.
    pub fn new() -> CloudConfig {
        CloudConfig::default()
    }

    /// Install Ubuntu packages (before the steps run; the package index is refreshed).
    pub fn packages(&mut self, names: &[&str]) -> &mut Self {
        for name in names {
            if !self.packages.iter().any(|p| p == name) {
                self.packages.push((*name).to_owned());
            }
        }
        self
    }

    /// Write a file owned by root with `mode` (octal, e.g. `0600`), before the packages
    /// are installed.
    pub fn file(&mut self, path: &str, content: impl Into<String>, mode: &str) -> &mut Self {
        self.files.push(File {
            path: path.to_owned(),
            content: content.into(),
            permissions: mode.to_owned(),
            owner: "root:root".to_owned(),
        });
        self
    }

    /// Run `args` once, on the first boot, after the packages are installed: the steps
    /// run in order from one script that stops at the first that fails.
    pub fn run(&mut self, args: &[&str]) -> &mut Self {
        self.steps
            .push(args.iter().map(|a| (*a).to_owned()).collect());
        self
    }

    /// The user data: `#cloud-config` and the YAML document, whose `runcmd` runs
    /// [`INSTALL_SCRIPT`]: [`IMAGE_FIREWALL_SCRIPT`], then the steps in order, their output
    /// in [`INSTALL_LOG`]; the first that fails stops them and [`FAILED_SCRIPT`] says why.
    pub fn to_user_data(&self) -> String {
        let mut script = steps_head();
        script.push_str(&format!("step {IMAGE_FIREWALL_SCRIPT}\n"));
        for step in &self.steps {
            let line: Vec<String> = step.iter().map(|a| quote(a)).collect();
            script.push_str("step ");
            script.push_str(&line.join(" "));
            script.push('\n');
        }
        let mut files = self.files.clone();
        files.push(File {
            path: IMAGE_FIREWALL_SCRIPT.to_owned(),
            content: IMAGE_FIREWALL.to_owned(),
            permissions: "0755".to_owned(),
            owner: "root:root".to_owned(),
        });
        files.push(File {
            path: FAILED_SCRIPT.to_owned(),
            content: INSTALL_FAILED.to_owned(),
            permissions: "0755".to_owned(),
            owner: "root:root".to_owned(),
        });
        files.push(File {
            path: INSTALL_SCRIPT.to_owned(),
            content: script,
            permissions: "0755".to_owned(),
            owner: "root:root".to_owned(),
        });
        let doc = Document {
            package_update: true,
            packages: &self.packages,
            write_files: files,
            runcmd: [[INSTALL_SCRIPT]],
        };
        let yaml = serde_norway::to_string(&doc).expect("a cloud-config serialises");
        format!("#cloud-config\n{yaml}")
    }
}

/// `arg` as one bash word.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:=@%+-,".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
