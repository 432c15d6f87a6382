//! The cluster spec (TOML): provider, region, image, node groups by role.
//!
//! ```toml
//! name = "ow-small"
//! provider = "aws-ec2"
//! region = "us-east-1"
//! image = "ami-0abcdef1234567890"
//! ssh_public_key = "~/.ssh/id_ed25519.pub"   # optional
//! open_ports = [22, 443]                     # default [22]
//! # endpoint = "http://127.0.0.1:5000"       # a local test server or private endpoint
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
    /// Image id for every node.
    pub image: String,
    /// SSH public key file installed on every node.
    #[serde(default)]
    pub ssh_public_key: Option<PathBuf>,
    /// Cloud-init user data file for every node.
    #[serde(default)]
    pub user_data: Option<PathBuf>,
    /// TCP ports opened to the world.
    #[serde(default = "default_ports")]
    pub open_ports: Vec<u16>,
    /// Provider-specific settings (e.g. OCI's `compartment-id`).
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Node groups.
    pub nodes: Vec<NodeGroup>,
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
}

fn default_ports() -> Vec<u16> {
    vec![22]
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
        Ok(())
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
        assert_eq!(s.open_ports, [22]);
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
}
