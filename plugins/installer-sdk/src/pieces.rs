//! What every installer here adds to a phase: the owbench binary, and the TLS front of
//! the API; and the shape of a one-node plan.

use crate::{
    Audience, CloudConfig, HealthCheck, IngressRule, InstallPlan, InstallerInfo, Outputs, Phase,
    Protocol, RoleInfo,
};

/// The port the API is served on, over TLS only.
pub const API_PORT: u16 = 443;
/// The loopback port the platform itself serves the API on, behind the TLS front.
pub const UPSTREAM_PORT: u16 = 3233;

const FETCH_OWBENCH: &str = include_str!("../files/fetch-owbench.sh");
const ENABLE_TLS_FRONT: &str = include_str!("../files/enable-tls-front.sh");
const NGINX_SITE: &str = include_str!("../files/owbench-api.nginx");

/// `template` with each `@NAME@` of `values` replaced (installer-side values; the host's
/// placeholders, `{{...}}`, are left alone). `@UPSTREAM_PORT@` is always replaced.
pub fn fill_template(template: &str, values: &[(&str, String)]) -> String {
    let mut text = template.replace("@UPSTREAM_PORT@", &UPSTREAM_PORT.to_string());
    for (name, value) in values {
        text = text.replace(&format!("@{name}@"), value);
    }
    text
}

/// Install the owbench binary the host uploads (the plan must list the `owbench`
/// artifact) as `/usr/local/bin/owbench`, as the next install step.
pub fn owbench_binary(config: &mut CloudConfig) {
    config
        .packages(&["curl"])
        // Root only: it holds the presigned URL.
        .file(
            "/usr/local/lib/owbench/fetch-owbench.sh",
            FETCH_OWBENCH,
            "0700",
        )
        .run(&["/usr/local/lib/owbench/fetch-owbench.sh"]);
}

/// Serve the API on [`API_PORT`] over TLS with the cluster's certificate (nginx in front
/// of [`UPSTREAM_PORT`] on loopback), from this install step on.
pub fn tls_front(config: &mut CloudConfig) {
    config
        .packages(&["nginx"])
        .file("/etc/owbench/tls/api.crt", "{{secret:tls-cert}}", "0644")
        .file("/etc/owbench/tls/api.key", "{{secret:tls-key}}", "0600")
        .file(
            "/etc/nginx/sites-available/owbench-api",
            fill_template(NGINX_SITE, &[]),
            "0644",
        )
        .file(
            "/usr/local/lib/owbench/enable-tls-front.sh",
            ENABLE_TLS_FRONT,
            "0755",
        )
        .run(&["/usr/local/lib/owbench/enable-tls-front.sh"]);
}

/// The description of an installer that puts one node of `role` up: its name, version,
/// what it installs, and what the node runs.
pub fn one_node_info(
    name: &str,
    version: &str,
    description: &str,
    role: &str,
    runs: &str,
) -> InstallerInfo {
    InstallerInfo {
        name: name.into(),
        version: version.into(),
        description: description.into(),
        roles: vec![RoleInfo {
            name: role.into(),
            min: 1,
            max: 1,
            description: runs.into(),
        }],
    }
}

/// The plan of an installer that makes one node of `role` serve an OpenWhisk API behind
/// [`tls_front`] with the host's `guest` key: that one phase with `user_data`, the API
/// port and SSH open to the spec's clients, the owbench binary uploaded, a health check
/// that lists the namespaces with the key (waiting up to `timeout_secs`), and the API's
/// address and key as outputs. `api` names what serves it, e.g. `OpenWhisk API`.
pub fn one_node_plan(role: &str, user_data: String, api: &str, timeout_secs: u32) -> InstallPlan {
    let address = format!("https://{{{{node:{role}:public-ip}}}}");
    InstallPlan {
        phases: vec![Phase {
            role: role.to_owned(),
            user_data,
            ingress: vec![
                IngressRule {
                    protocol: Protocol::Tcp,
                    port: API_PORT,
                    audience: Audience::Clients,
                    purpose: format!("{api} (TLS)"),
                },
                IngressRule {
                    protocol: Protocol::Tcp,
                    port: 22,
                    audience: Audience::Clients,
                    purpose: "SSH".into(),
                },
            ],
        }],
        artifacts: vec!["owbench".into()],
        health_check: HealthCheck {
            url: format!("{address}/api/v1/namespaces"),
            authenticated: true,
            expect_status: 200,
            expect_body: "guest".into(),
            timeout_secs,
        },
        outputs: Outputs {
            api_host: address,
            auth: "{{secret:guest-key}}".into(),
            namespace: "guest".into(),
        },
    }
}
