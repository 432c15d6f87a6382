//! The cluster spec (TOML): provider, region, image, node groups by role.
//!
//! ```toml
//! name = "ow-small"
//! provider = "aws-ec2"
//! region = "us-east-1"
//! image = "ubuntu-24.04"                    # an alias the provider resolves, or an id (ami-...)
//! ssh_public_key = "~/.ssh/id_ed25519.pub"   # optional
//! open_ports = [22, 443]                     # bare machines only; default [22]
//! # endpoint = "http://127.0.0.1:5000"       # a local test server or private endpoint
//! # allowed_cidrs = ["203.0.113.0/24"]       # who may reach the ports (needed with an installer)
//! # max_hours = 4                            # with an installer: nodes power off after this
//!
//! # [installer]                              # OpenWhisk on the nodes
//! # name = "openwhisk-standalone"
//! # concurrent-invocations = 5000            # the installer's own settings
//!
//! [[nodes]]
//! role = "controller"
//! shape = "m7i.large"
//!
//! [[nodes]]
//! role = "invoker"
//! shape = "c7i.xlarge"
//! count = 2
//! # image = "ami-..."                        # this role's own image
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A cluster to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Name (lower-case letters, digits, `-`; at most 20 characters); the cluster's id is
    /// the name and a random suffix.
    pub name: String,
    /// Provider plugin, e.g. `aws-ec2`.
    pub provider: String,
    /// Region.
    pub region: String,
    /// API endpoint instead of the provider's public one.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Image for every node: an alias the provider resolves in the region (e.g.
    /// `ubuntu-24.04`) or its id.
    pub image: String,
    /// SSH public key file installed on every node.
    #[serde(default)]
    pub ssh_public_key: Option<PathBuf>,
    /// Cloud-init user data file for every node.
    #[serde(default)]
    pub user_data: Option<PathBuf>,
    /// TCP ports bare machines open, to `allowed_cidrs` (to everyone when it is empty);
    /// with an installer its plan names the ports.
    #[serde(default)]
    pub open_ports: Option<Vec<u16>>,
    /// The client networks (CIDRs) that may reach the opened ports. A spec with an
    /// installer must list them, and the whole internet only as `0.0.0.0/0` (or `::/0`)
    /// in those words.
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    /// With an installer: every node powers itself off this many hours after it boots,
    /// so a forgotten cluster stops costing money.
    #[serde(default = "default_max_hours")]
    pub max_hours: f64,
    /// The installer that puts OpenWhisk on the nodes, and its settings.
    #[serde(default)]
    pub installer: Option<InstallerSpec>,
    /// Provider-specific settings (e.g. OCI's `compartment-id`).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Node groups.
    pub nodes: Vec<NodeGroup>,
}

/// `[installer]`: the installer plugin and its own settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstallerSpec {
    /// The installer plugin, e.g. `openwhisk-standalone`.
    pub name: String,
    /// Its settings: every other key (strings, numbers or booleans).
    #[serde(flatten)]
    pub settings: BTreeMap<String, toml::Value>,
}

impl InstallerSpec {
    /// The settings as text, as the installer world passes them.
    pub fn settings(&self) -> Result<Vec<(String, String)>, String> {
        self.settings
            .iter()
            .map(|(key, value)| match value {
                toml::Value::String(s) => Ok((key.clone(), s.clone())),
                toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                    Ok((key.clone(), value.to_string()))
                }
                _ => Err(format!(
                    "[installer] `{key}` must be a string, a number or a boolean"
                )),
            })
            .collect()
    }
}

/// Nodes of one role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    /// Role, e.g. `controller` or `invoker`.
    pub role: String,
    /// Shape (instance type).
    pub shape: String,
    /// Image id for this role, instead of the spec's.
    #[serde(default)]
    pub image: Option<String>,
    /// How many.
    #[serde(default = "one")]
    pub count: u32,
    /// A block volume made with each node for the actions' data (the installers put
    /// Docker's data root, or `owbench serve`'s data directory, on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeSpec>,
    /// Keep the actions' data on the shape's local NVMe storage instead (a shape with
    /// some: AWS i3/i4i, OCI DenseIO).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local_nvme: bool,
}

/// A node group's block volume: `volume = { size_gb = 200, class = "ssd" }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    /// Its size, GB.
    pub size_gb: u32,
    /// Its class.
    pub class: VolumeClassSpec,
}

/// A volume class as specs write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeClassSpec {
    /// General-purpose SSD (AWS gp3; OCI Balanced).
    Ssd,
    /// Hard disk, or the cheapest class (AWS st1; OCI Lower Cost).
    Hdd,
    /// The fastest class (AWS io2; OCI Higher Performance).
    HighIops,
}

impl VolumeClassSpec {
    /// The world's class.
    pub fn wit(self) -> owbench_plugin::provider::VolumeClass {
        use owbench_plugin::provider::VolumeClass;
        match self {
            VolumeClassSpec::Ssd => VolumeClass::Ssd,
            VolumeClassSpec::Hdd => VolumeClass::Hdd,
            VolumeClassSpec::HighIops => VolumeClass::HighIops,
        }
    }

    /// As specs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeClassSpec::Ssd => "ssd",
            VolumeClassSpec::Hdd => "hdd",
            VolumeClassSpec::HighIops => "high-iops",
        }
    }
}

impl VolumeSpec {
    /// The world's volume request.
    pub fn request(self) -> owbench_plugin::provider::VolumeRequest {
        owbench_plugin::provider::VolumeRequest {
            size_gb: self.size_gb,
            class: self.class.wit(),
        }
    }
}

/// The ports a spec without an installer opens when it names none.
pub const DEFAULT_PORTS: [u16; 1] = [22];

fn default_max_hours() -> f64 {
    4.0
}
fn one() -> u32 {
    1
}

fn is_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

impl ClusterSpec {
    /// Read and check a spec file; errors name the file, line and column.
    pub fn load(path: &Path) -> anyhow::Result<ClusterSpec> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read cluster spec {}: {e}", path.display()))?;
        ClusterSpec::parse(&text)
            .map_err(|e| anyhow::anyhow!("cluster spec {}:{e}", path.display()))
    }

    /// Parse and check spec text; errors start with `line:column: `.
    pub fn parse(text: &str) -> Result<ClusterSpec, String> {
        let spec: ClusterSpec = crate::specfile::parse_toml(text)?;
        spec.validate().map_err(|e| format!("1:1: {e}"))?;
        Ok(spec)
    }

    fn validate(&self) -> Result<(), String> {
        if !is_label(&self.name, 20) {
            return Err(format!(
                "`name` must be 1 to 20 lower-case letters, digits or `-`, got {:?}",
                self.name
            ));
        }
        if self.nodes.is_empty() {
            return Err("give at least one [[nodes]] group".into());
        }
        let mut roles = std::collections::BTreeSet::new();
        for g in &self.nodes {
            if !is_label(&g.role, 16) {
                return Err(format!(
                    "a node role must be 1 to 16 lower-case letters, digits or `-`, got {:?}",
                    g.role
                ));
            }
            if !roles.insert(&g.role) {
                return Err(format!("role `{}` is listed twice", g.role));
            }
            if !(1..=100).contains(&g.count) {
                return Err(format!(
                    "role `{}`: count must be 1 to 100, got {}",
                    g.role, g.count
                ));
            }
        }
        for cidr in &self.allowed_cidrs {
            let net: ipnet::IpNet = cidr.parse().map_err(|_| {
                format!("`allowed_cidrs`: {cidr:?} is not a CIDR (like \"203.0.113.0/24\")")
            })?;
            if net.trunc() != net {
                return Err(format!(
                    "`allowed_cidrs`: {cidr:?} has host bits set (the network is {})",
                    net.trunc()
                ));
            }
        }
        if !(0.25..=720.0).contains(&self.max_hours) {
            return Err(format!(
                "`max_hours` must be from 0.25 to 720, got {}",
                self.max_hours
            ));
        }
        if let Some(installer) = &self.installer {
            installer.settings()?;
            if self.allowed_cidrs.is_empty() {
                return Err(format!(
                    "installer `{}` opens the API and SSH: list who may reach them in `allowed_cidrs` (e.g. [\"203.0.113.7/32\"]; \"0.0.0.0/0\" opens them to everyone)",
                    installer.name
                ));
            }
            if self.open_ports.is_some() {
                return Err(format!(
                    "`open_ports` is for bare machines: installer `{}` names the ports it opens",
                    installer.name
                ));
            }
            if self.user_data.is_some() {
                return Err(format!(
                    "`user_data` is for bare machines: installer `{}` writes the nodes' user data",
                    installer.name
                ));
            }
        }
        Ok(())
    }

    /// The TCP ports bare machines open.
    pub fn open_ports(&self) -> Vec<u16> {
        self.open_ports.clone().unwrap_or(DEFAULT_PORTS.to_vec())
    }

    /// Who may reach the ports: `allowed_cidrs`, or every IPv4 address (`0.0.0.0/0`) for
    /// bare machines that list none.
    pub fn sources(&self) -> Vec<String> {
        if self.allowed_cidrs.is_empty() {
            vec!["0.0.0.0/0".into()]
        } else {
            self.allowed_cidrs.clone()
        }
    }

    /// Nodes in all groups.
    pub fn node_count(&self) -> u32 {
        self.nodes.iter().map(|g| g.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
name = "ow-small"
provider = "aws-ec2"
region = "us-east-1"
image = "ami-1"

[[nodes]]
role = "controller"
shape = "m7i.large"

[[nodes]]
role = "invoker"
shape = "c7i.xlarge"
count = 2
"#;

    #[test]
    fn a_spec_parses_with_defaults() {
        let s = ClusterSpec::parse(SPEC).unwrap();
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.open_ports(), [22]);
        assert_eq!(s.max_hours, 4.0);
        assert_eq!(s.nodes[0].count, 1);
    }

    #[test]
    fn bad_specs_say_where_and_why() {
        let e = ClusterSpec::parse(&SPEC.replace("count = 2", "count = 0")).unwrap_err();
        assert_eq!(e, "1:1: role `invoker`: count must be 1 to 100, got 0");
        let e = ClusterSpec::parse(&SPEC.replace("image", "imag")).unwrap_err();
        assert!(e.starts_with("2:1: ") || e.contains("unknown field"), "{e}");
        let e = ClusterSpec::parse(&SPEC.replace("ow-small", "Ow_Small")).unwrap_err();
        assert!(e.contains("`name` must be"), "{e}");
        let e = ClusterSpec::parse(&SPEC.replace("invoker", "controller")).unwrap_err();
        assert!(e.contains("listed twice"), "{e}");
    }

    #[test]
    fn an_installer_needs_allowed_cidrs_and_owns_ports_and_user_data() {
        let with = |extra: &str, installer: &str| {
            let spec = SPEC.replacen("[[nodes]]", &format!("{extra}\n[[nodes]]"), 1);
            ClusterSpec::parse(&format!("{spec}\n[installer]\n{installer}\n"))
        };
        let ok = with(
            "allowed_cidrs = [\"203.0.113.0/24\", \"2001:db8::/32\"]",
            "name = \"openwhisk-standalone\"\nconcurrent-invocations = 2000\nimage = \"x\"",
        )
        .unwrap();
        let installer = ok.installer.unwrap();
        assert_eq!(
            installer.settings().unwrap(),
            [
                ("concurrent-invocations".to_owned(), "2000".to_owned()),
                ("image".to_owned(), "x".to_owned())
            ]
        );
        let bare = SPEC.replacen(
            "[[nodes]]",
            "allowed_cidrs = [\"203.0.113.0/24\"]\n[[nodes]]",
            1,
        );
        let bare = ClusterSpec::parse(&bare).unwrap();
        assert_eq!(bare.sources(), ["203.0.113.0/24"]);
        assert_eq!(ClusterSpec::parse(SPEC).unwrap().sources(), ["0.0.0.0/0"]);
        let e = with("", "name = \"openwhisk-standalone\"").unwrap_err();
        assert!(e.contains("allowed_cidrs"), "{e}");
        let e = with("allowed_cidrs = [\"203.0.113.0/33\"]", "name = \"x\"").unwrap_err();
        assert!(e.contains("is not a CIDR"), "{e}");
        let e = with("allowed_cidrs = [\"203.0.113.7/24\"]", "name = \"x\"").unwrap_err();
        assert!(
            e.contains("host bits set (the network is 203.0.113.0/24)"),
            "{e}"
        );
        let e = with(
            "allowed_cidrs = [\"0.0.0.0/0\"]\nopen_ports = [443]",
            "name = \"x\"",
        )
        .unwrap_err();
        assert!(e.contains("`open_ports` is for bare machines"), "{e}");
        let e = with(
            "allowed_cidrs = [\"0.0.0.0/0\"]\nmax_hours = 0",
            "name = \"x\"",
        )
        .unwrap_err();
        assert!(e.contains("`max_hours` must be"), "{e}");
        let e = with(
            "allowed_cidrs = [\"0.0.0.0/0\"]",
            "name = \"x\"\nlist = [1]",
        )
        .unwrap_err();
        assert!(e.contains("[installer] `list`"), "{e}");
    }
}
