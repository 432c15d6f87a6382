//! An installer's plan, checked against the cluster spec and made concrete: its
//! placeholders filled (inside YAML strings only), the host's own part of each phase's
//! user data added (the power-off `max_hours` after each boot).

use std::collections::BTreeMap;

use serde_norway::Value;

use super::spec::ClusterSpec;
use owbench_plugin::installer::{InstallPlan, InstallerInfo, Phase};

/// The secrets the host generates for a cluster.
pub const SECRETS: [&str; 6] = [
    "db-password",
    "guest-key",
    "join-token",
    "system-key",
    "tls-cert",
    "tls-key",
];
/// The files the host uploads for the nodes.
pub const ARTIFACTS: [&str; 1] = ["owbench"];

/// Check `spec` against installer `info`: the spec gives every role of the installer its
/// number of nodes, and no other role.
pub fn check_roles(spec: &ClusterSpec, info: &InstallerInfo) -> Result<(), String> {
    let name = &info.name;
    // Too few nodes in all: said as a total first (the usual mistake: one node for a
    // many-node installer).
    let fewest: u32 = info.roles.iter().map(|r| r.min).sum();
    if spec.node_count() < fewest {
        let roles: Vec<String> = info
            .roles
            .iter()
            .filter(|r| r.min > 0)
            .map(|r| {
                let more = if r.max > r.min { " or more" } else { "" };
                format!("{}{more} `{}`", r.min, r.name)
            })
            .collect();
        return Err(format!(
            "installer {name} needs at least {fewest} nodes ({}); the spec gives {}{}",
            roles.join(", "),
            spec.node_count(),
            if spec.node_count() == 1 {
                " (for one node, use openwhisk-standalone)"
            } else {
                ""
            }
        ));
    }
    for role in &info.roles {
        let count = spec
            .nodes
            .iter()
            .find(|g| g.role == role.name)
            .map_or(0, |g| g.count);
        if count < role.min || count > role.max {
            let wanted = if role.min == role.max {
                format!("{}", role.min)
            } else {
                format!("{} to {}", role.min, role.max)
            };
            return Err(format!(
                "installer {name} needs {wanted} `{}` node(s) ({}); the spec gives {count}",
                role.name, role.description
            ));
        }
    }
    if let Some(g) = spec
        .nodes
        .iter()
        .find(|g| !info.roles.iter().any(|r| r.name == g.role))
    {
        let roles: Vec<&str> = info.roles.iter().map(|r| r.name.as_str()).collect();
        return Err(format!(
            "installer {name} has no role `{}` (its roles: {})",
            g.role,
            roles.join(", ")
        ));
    }
    Ok(())
}

/// Check `plan` (from installer `info`) against `spec`: every role gets one phase, the
/// plan uploads only what the host can, and every placeholder names a value the host has
/// when it fills it (a node address only of a role created in an earlier phase, an
/// artifact only when the plan uploads it).
pub fn check_plan(
    spec: &ClusterSpec,
    info: &InstallerInfo,
    plan: &InstallPlan,
) -> Result<(), String> {
    let name = &info.name;
    for artifact in &plan.artifacts {
        if !ARTIFACTS.contains(&artifact.as_str()) {
            return Err(format!(
                "installer {name} asks for artifact `{artifact}`; the host uploads only {}",
                ARTIFACTS.join(", ")
            ));
        }
    }
    let mut created: Vec<&str> = Vec::new();
    for phase in &plan.phases {
        if !spec.nodes.iter().any(|g| g.role == phase.role) {
            return Err(format!(
                "installer {name} planned a phase for role `{}`, which the spec does not give",
                phase.role
            ));
        }
        if created.contains(&phase.role.as_str()) {
            return Err(format!(
                "installer {name} planned role `{}` twice",
                phase.role
            ));
        }
        let known = Known {
            roles: &created,
            artifacts: &plan.artifacts,
        };
        for p in placeholders(&phase.user_data)? {
            known
                .check(&p)
                .map_err(|e| format!("installer {name}, phase `{}`: {e}", phase.role))?;
        }
        created.push(&phase.role);
    }
    if let Some(g) = spec
        .nodes
        .iter()
        .find(|g| !created.contains(&g.role.as_str()))
    {
        return Err(format!(
            "installer {name} planned no phase for role `{}`",
            g.role
        ));
    }
    let all = Known {
        roles: &created,
        artifacts: &plan.artifacts,
    };
    let outputs = &plan.outputs;
    // Secrets go only to the nodes (user data) and into the key the host keeps.
    for (what, text, secret_allowed) in [
        ("health check's URL", &plan.health_check.url, false),
        ("API host", &outputs.api_host, false),
        ("key", &outputs.auth, true),
        ("namespace", &outputs.namespace, false),
    ] {
        for p in placeholders(text)? {
            all.check(&p)
                .map_err(|e| format!("installer {name}, the {what}: {e}"))?;
            if !secret_allowed && p.starts_with("secret:") {
                return Err(format!("installer {name}: the {what} names a secret"));
            }
        }
    }
    // The host checks only the cluster's own nodes, and sends the key only over TLS.
    let check = &plan.health_check;
    let url = &check.url;
    let scheme_ok = node_url(url, "https://") || (!check.authenticated && node_url(url, "http://"));
    if !scheme_ok {
        return Err(format!(
            "installer {name}: the health check's URL {url:?} must be https://{{{{node:ROLE:public-ip}}}}/... (http only without the key)"
        ));
    }
    if !node_url(&outputs.api_host, "https://") {
        return Err(format!(
            "installer {name}: the API host {:?} must be https://{{{{node:ROLE:public-ip}}}} (clients send the key to it)",
            outputs.api_host
        ));
    }
    if spec.max_hours * 3600.0 <= f64::from(check.timeout_secs) {
        return Err(format!(
            "`max_hours` = {} powers the nodes off before installer {name}'s health check gives up ({} s)",
            spec.max_hours, check.timeout_secs
        ));
    }
    Ok(())
}

/// Whether `url` is `scheme` and a node's address, then nothing, a port or a path: a
/// URL of the cluster's own node, never another host.
fn node_url(url: &str, scheme: &str) -> bool {
    let Some(rest) = url
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("{{node:"))
    else {
        return false;
    };
    let Some(end) = rest.find("}}") else {
        return false;
    };
    let (placeholder, after) = (&rest[..end], &rest[end + 2..]);
    let address = placeholder.ends_with(":public-ip") || placeholder.ends_with(":private-ip");
    // `:PORT` (digits only: `:x@other.host` would make the address a user name).
    let after = match after.strip_prefix(':') {
        Some(port) => {
            let digits = port.len() - port.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return false;
            }
            &port[digits..]
        }
        None => after,
    };
    address && (after.is_empty() || after.starts_with('/'))
}

/// What a placeholder may name at one point of the plan.
struct Known<'a> {
    /// Roles whose nodes exist by then.
    roles: &'a [&'a str],
    /// The artifacts the plan uploads.
    artifacts: &'a [String],
}

impl Known<'_> {
    fn check(&self, placeholder: &str) -> Result<(), String> {
        let parts: Vec<&str> = placeholder.split(':').collect();
        let ok = match parts.as_slice() {
            ["cluster-id"] => true,
            ["secret", name] => SECRETS.contains(name),
            ["node", role, "public-ip" | "private-ip"] | ["nodes", role, "private-ips"] => {
                if !self.roles.contains(role) {
                    return Err(format!(
                        "`{{{{{placeholder}}}}}` names role `{role}`, whose nodes are not created before it"
                    ));
                }
                true
            }
            ["artifact", name, "url" | "sha256"] => {
                if !self.artifacts.iter().any(|a| a == name) {
                    return Err(format!(
                        "`{{{{{placeholder}}}}}` names artifact `{name}`, which the plan does not upload"
                    ));
                }
                true
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("unknown placeholder `{{{{{placeholder}}}}}`"))
        }
    }
}

/// The placeholders (`{{name}}`) in `text`, in order.
pub fn placeholders(text: &str) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    fill(text, &mut |name| {
        found.push(name.to_owned());
        Ok(String::new())
    })?;
    Ok(found)
}

/// `text` with each `{{name}}` replaced by `value(name)`.
pub fn fill(
    text: &str,
    value: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| {
            format!(
                "a placeholder is not closed: {:?}",
                truncate(&rest[start..])
            )
        })?;
        let name = &after[..end];
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains('{') {
            return Err(format!("bad placeholder {:?}", truncate(&rest[start..])));
        }
        out.push_str(&value(name)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The values placeholders are filled with. Values not (yet) known are shown as
/// `<name>`: `owbench cluster up --dry-run` shows a plan so, and never a secret.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// The cluster's id.
    pub cluster_id: String,
    /// Secrets by name ([`SECRETS`]).
    pub secrets: BTreeMap<String, String>,
    /// Each created role's nodes' addresses.
    pub nodes: BTreeMap<String, Vec<Addresses>>,
    /// Each uploaded artifact: (URL, SHA-256).
    pub artifacts: BTreeMap<String, (String, String)>,
}

/// A node's addresses, once assigned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Addresses {
    /// Public IP address.
    pub public: Option<String>,
    /// Private IP address.
    pub private: Option<String>,
}

impl Values {
    /// The value of placeholder `name`, or `<name>` when it is not known here.
    pub fn get(&self, name: &str) -> String {
        let shown = || format!("<{name}>");
        let parts: Vec<&str> = name.split(':').collect();
        match parts.as_slice() {
            ["cluster-id"] => self.cluster_id.clone(),
            ["secret", s] => self.secrets.get(*s).cloned().unwrap_or_else(shown),
            ["node", role, which] => self
                .nodes
                .get(*role)
                .and_then(|nodes| nodes.first())
                .and_then(|node| match *which {
                    "public-ip" => node.public.clone(),
                    _ => node.private.clone(),
                })
                .unwrap_or_else(shown),
            ["nodes", role, _] => self
                .nodes
                .get(*role)
                .map(|nodes| {
                    let ips: Vec<&str> =
                        nodes.iter().filter_map(|n| n.private.as_deref()).collect();
                    ips.join(",")
                })
                .filter(|ips| !ips.is_empty())
                .unwrap_or_else(shown),
            ["artifact", a, which] => self
                .artifacts
                .get(*a)
                .map(|(url, sha)| {
                    if *which == "url" {
                        url.clone()
                    } else {
                        sha.clone()
                    }
                })
                .unwrap_or_else(shown),
            _ => shown(),
        }
    }

    /// `text` with its placeholders filled.
    pub fn fill(&self, text: &str) -> Result<String, String> {
        fill(text, &mut |name| Ok(self.get(name)))
    }
}

/// The user data a phase's nodes are created with: the installer's `#cloud-config`
/// document with its placeholders filled inside YAML strings, and the host's power-off
/// `max_hours` after each boot added first to `bootcmd` (a transient systemd timer:
/// `bootcmd` runs before D-Bus and logind, which `shutdown +MIN` needs).
pub fn user_data(phase: &Phase, values: &Values, max_hours: f64) -> Result<String, String> {
    let text = &phase.user_data;
    let body = text
        .strip_prefix("#cloud-config\n")
        .ok_or("the user data does not start with a `#cloud-config` line")?;
    let mut doc: Value =
        serde_norway::from_str(body).map_err(|e| format!("the user data is not YAML: {e}"))?;
    fill_strings(&mut doc, values)?;
    let Value::Mapping(map) = &mut doc else {
        return Err("the user data is not a YAML mapping".into());
    };
    if map.contains_key("power_state") {
        return Err(
            "the user data sets `power_state`, which the host keeps for `max_hours`".into(),
        );
    }
    let minutes = (max_hours * 60.0).round() as u64;
    let power_off = Value::Sequence(
        [
            "systemd-run",
            // Without it, systemd-run waits for the timer's start, which waits for
            // sysinit.target, which waits for cloud-init's stage running this: a hung boot.
            "--no-block",
            "--unit=owbench-max-hours",
            &format!("--on-boot={minutes}min"),
            &format!(
                "--description=owbench cluster {}: max_hours ({max_hours} h) reached",
                values.cluster_id
            ),
            "systemctl",
            "poweroff",
        ]
        .into_iter()
        .map(|s| Value::String(s.to_owned()))
        .collect(),
    );
    match map.get_mut("bootcmd") {
        Some(Value::Sequence(commands)) => commands.insert(0, power_off),
        Some(_) => return Err("the user data's `bootcmd` is not a list".into()),
        None => {
            map.insert(
                Value::String("bootcmd".into()),
                Value::Sequence(vec![power_off]),
            );
        }
    }
    let yaml = serde_norway::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(format!("#cloud-config\n{yaml}"))
}

fn fill_strings(value: &mut Value, values: &Values) -> Result<(), String> {
    match value {
        Value::String(s) => *s = values.fill(s)?,
        Value::Sequence(items) => {
            for item in items {
                fill_strings(item, values)?;
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                if key.as_str().is_some_and(|k| k.contains("{{")) {
                    return Err(format!(
                        "a placeholder in the YAML key {:?} (only values are filled)",
                        key.as_str().unwrap_or_default()
                    ));
                }
                fill_strings(item, values)?;
            }
        }
        Value::Tagged(tagged) => fill_strings(&mut tagged.value, values)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_urls_of_the_clusters_own_nodes_pass() {
        for good in [
            "https://{{node:a:public-ip}}",
            "https://{{node:a:public-ip}}/api/v1/namespaces",
            "https://{{node:a:private-ip}}:8443/x",
        ] {
            assert!(node_url(good, "https://"), "{good}");
        }
        for bad in [
            "http://{{node:a:public-ip}}/",
            "https://{{node:a:public-ip}}.evil.example/",
            "https://{{node:a:public-ip}}@evil.example/",
            "https://{{node:a:public-ip}}:x@evil.example/",
            "https://{{node:a:public-ip}}:443@evil.example/",
            "https://{{cluster-id}}.example/",
            "https://evil.example/{{node:a:public-ip}}",
        ] {
            assert!(!node_url(bad, "https://"), "{bad}");
        }
    }

    #[test]
    fn placeholders_fill_in_order_and_bad_ones_are_named() {
        let mut values = Values {
            cluster_id: "ow-1".into(),
            ..Values::default()
        };
        values.secrets.insert("guest-key".into(), "u:k".into());
        values.nodes.insert(
            "core".into(),
            vec![
                Addresses {
                    public: Some("198.51.100.1".into()),
                    private: Some("10.0.0.1".into()),
                },
                Addresses {
                    public: None,
                    private: Some("10.0.0.2".into()),
                },
            ],
        );
        let text = "{{cluster-id}} {{secret:guest-key}} {{node:core:public-ip}} {{nodes:core:private-ips}} {{secret:tls-key}}";
        assert_eq!(
            values.fill(text).unwrap(),
            "ow-1 u:k 198.51.100.1 10.0.0.1,10.0.0.2 <secret:tls-key>"
        );
        assert_eq!(
            placeholders(text).unwrap(),
            [
                "cluster-id",
                "secret:guest-key",
                "node:core:public-ip",
                "nodes:core:private-ips",
                "secret:tls-key"
            ]
        );
        assert!(
            fill("a {{open", &mut |_| Ok(String::new()))
                .unwrap_err()
                .contains("not closed")
        );
        assert!(
            fill("{{a b}}", &mut |_| Ok(String::new()))
                .unwrap_err()
                .contains("bad placeholder")
        );
        let known = Known {
            roles: &["core"],
            artifacts: &["owbench".to_owned()],
        };
        assert!(known.check("node:core:public-ip").is_ok());
        assert!(known.check("artifact:owbench:sha256").is_ok());
        assert!(
            known
                .check("node:invoker:public-ip")
                .unwrap_err()
                .contains("not created before it")
        );
        assert!(
            known
                .check("secret:aws-key")
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(
            known
                .check("artifact:jar:url")
                .unwrap_err()
                .contains("does not upload")
        );
    }

    fn spec_and_plan() -> (ClusterSpec, InstallerInfo, InstallPlan) {
        use owbench_plugin::installer::{HealthCheck, Outputs, RoleInfo};
        let spec = ClusterSpec::parse(
            "name = \"c\"\nprovider = \"aws-ec2\"\nregion = \"r\"\nimage = \"i\"\nallowed_cidrs = [\"0.0.0.0/0\"]\n[installer]\nname = \"x\"\n[[nodes]]\nrole = \"a\"\nshape = \"s\"\n",
        )
        .unwrap();
        let info = InstallerInfo {
            name: "x".into(),
            version: "0.1.0".into(),
            description: String::new(),
            roles: vec![RoleInfo {
                name: "a".into(),
                min: 1,
                max: 1,
                description: String::new(),
            }],
        };
        let plan = InstallPlan {
            phases: vec![Phase {
                role: "a".into(),
                user_data: "#cloud-config\n{}\n".into(),
                ingress: vec![],
            }],
            artifacts: vec![],
            health_check: HealthCheck {
                url: "https://{{node:a:public-ip}}/api/v1".into(),
                authenticated: true,
                expect_status: 200,
                expect_body: String::new(),
                timeout_secs: 600,
            },
            outputs: Outputs {
                api_host: "https://{{node:a:public-ip}}".into(),
                auth: "{{secret:guest-key}}".into(),
                namespace: "guest".into(),
            },
            sizing: vec![],
        };
        (spec, info, plan)
    }

    #[test]
    fn a_plan_sends_secrets_only_to_its_nodes_and_checks_only_them() {
        let (spec, info, plan) = spec_and_plan();
        assert_eq!(check_roles(&spec, &info), Ok(()));
        assert_eq!(check_plan(&spec, &info, &plan), Ok(()));
        let with_url = |url: &str, authenticated: bool| {
            let mut plan = plan.clone();
            plan.health_check.url = url.into();
            plan.health_check.authenticated = authenticated;
            check_plan(&spec, &info, &plan)
        };
        assert!(
            with_url("http://{{node:a:public-ip}}/", true)
                .unwrap_err()
                .contains("http only without the key")
        );
        assert!(with_url("http://{{node:a:public-ip}}/", false).is_ok());
        assert!(with_url("https://example.com/", true).is_err());
        assert!(
            with_url("https://{{node:a:public-ip}}/{{secret:guest-key}}", true)
                .unwrap_err()
                .contains("names a secret")
        );
        let mut later = plan.clone();
        later.phases[0].user_data = "#cloud-config\nx: \"{{node:a:public-ip}}\"\n".into();
        assert!(
            check_plan(&spec, &info, &later)
                .unwrap_err()
                .contains("not created before it")
        );
        let mut slow = plan.clone();
        slow.health_check.timeout_secs = 4 * 3600;
        assert!(
            check_plan(&spec, &info, &slow)
                .unwrap_err()
                .contains("powers the nodes off")
        );
        let mut two = spec.clone();
        two.nodes[0].count = 2;
        assert!(
            check_roles(&two, &info)
                .unwrap_err()
                .contains("needs 1 `a` node(s)")
        );
        let mut many = info.clone();
        many.roles.push(owbench_plugin::installer::RoleInfo {
            name: "b".into(),
            min: 2,
            max: 64,
            description: String::new(),
        });
        assert_eq!(
            check_roles(&spec, &many).unwrap_err(),
            "installer x needs at least 3 nodes (1 `a`, 2 or more `b`); the spec gives 1 (for one node, use openwhisk-standalone)"
        );
    }

    #[test]
    fn user_data_fills_inside_strings_and_adds_the_power_off() {
        let phase = Phase {
            role: "core".into(),
            user_data: "#cloud-config\nwrite_files:\n- path: /k\n  content: \"{{secret:tls-key}}\"\nbootcmd:\n- [echo, hi]\n".into(),
            ingress: vec![],
        };
        let mut values = Values {
            cluster_id: "ow-1".into(),
            ..Values::default()
        };
        // A value with YAML syntax in it stays a string.
        values
            .secrets
            .insert("tls-key".into(), "-----BEGIN\nkey: [x]\n'\"".into());
        let out = user_data(&phase, &values, 4.0).unwrap();
        assert!(out.starts_with("#cloud-config\n"), "{out}");
        let doc: Value = serde_norway::from_str(&out).unwrap();
        assert_eq!(
            doc["write_files"][0]["content"],
            "-----BEGIN\nkey: [x]\n'\""
        );
        assert_eq!(doc["bootcmd"][0][0], "systemd-run");
        assert_eq!(doc["bootcmd"][0][1], "--no-block");
        assert_eq!(doc["bootcmd"][0][3], "--on-boot=240min");
        assert_eq!(doc["bootcmd"][1][0], "echo");

        let bad = Phase {
            user_data: "#!/bin/sh\necho".into(),
            ..phase.clone()
        };
        assert!(
            user_data(&bad, &values, 4.0)
                .unwrap_err()
                .contains("#cloud-config")
        );
        let bad = Phase {
            user_data: "#cloud-config\npower_state: {mode: reboot}\n".into(),
            ..phase
        };
        assert!(
            user_data(&bad, &values, 4.0)
                .unwrap_err()
                .contains("power_state")
        );
    }
}
