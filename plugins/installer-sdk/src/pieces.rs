//! What every installer here adds to a phase: the owbench binary, pinned downloads, and
//! the TLS front of the API; and the shape of a plan whose node serves the API.

use crate::{
    Audience, CloudConfig, DataDisk, HealthCheck, IngressRule, InstallPlan, InstallerInfo,
    KeyValue, NodeGroup, Outputs, Phase, Protocol, RoleInfo,
};

/// The port the API is served on, over TLS only.
pub const API_PORT: u16 = 443;
/// The loopback port the platform itself serves the API on, behind the TLS front.
pub const UPSTREAM_PORT: u16 = 3233;

const FETCH_OWBENCH: &str = include_str!("../files/fetch-owbench.sh");
const FETCH_PINNED: &str = include_str!("../files/fetch-pinned.sh");
const ENABLE_TLS_FRONT: &str = include_str!("../files/enable-tls-front.sh");
const NGINX_SITE: &str = include_str!("../files/owbench-api.nginx");
const DATA_DISK: &str = include_str!("../files/data-disk.sh");

/// Where [`data_disk`] writes the script that mounts a node's data disk.
pub const DATA_DISK_SCRIPT: &str = "/usr/local/lib/owbench/data-disk.sh";

/// When the cluster spec gives `group` a data disk (a block volume, or the shape's local
/// NVMe), make it the home of `mount` as the next install step, with `services` stopped
/// meanwhile (see `files/data-disk.sh`); a sizing line that says so, or none.
pub fn data_disk(
    config: &mut CloudConfig,
    group: &NodeGroup,
    mount: &str,
    services: &[&str],
) -> Option<KeyValue> {
    let (gb, kind, what) = match group.data_disk? {
        DataDisk::Volume(gb) => (gb, "volume", "block volume"),
        DataDisk::LocalNvme(gb) => (gb, "local-nvme", "local NVMe"),
    };
    let size_gb = gb.to_string();
    let mut args = vec![DATA_DISK_SCRIPT, kind, mount, size_gb.as_str()];
    args.extend(services);
    config.file(DATA_DISK_SCRIPT, DATA_DISK, "0755").run(&args);
    Some(size(
        &format!("data disk of `{}` nodes", group.role),
        format!("{gb} GB {what} at {mount}"),
    ))
}

/// `template` with each `@NAME@` of `values` replaced (installer-side values; the host's
/// placeholders, `{{...}}`, are left alone). `@UPSTREAM_PORT@` is replaced by
/// [`UPSTREAM_PORT`] unless `values` names it.
pub fn fill_template(template: &str, values: &[(&str, String)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("@{name}@"), value);
    }
    text.replace("@UPSTREAM_PORT@", &UPSTREAM_PORT.to_string())
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

/// Where [`fetch_pinned`] writes the script that downloads a file only if its SHA-256 is
/// the pinned one: `fetch-pinned.sh NAME URL SHA256 DEST`.
pub const FETCH_PINNED_SCRIPT: &str = "/usr/local/lib/owbench/fetch-pinned.sh";

/// Write [`FETCH_PINNED_SCRIPT`], for the install steps' downloads from the internet.
pub fn fetch_pinned(config: &mut CloudConfig) {
    config
        .packages(&["curl"])
        .file(FETCH_PINNED_SCRIPT, FETCH_PINNED, "0755");
}

/// Serve the API on [`API_PORT`] over TLS with the cluster's certificate (nginx in front
/// of [`UPSTREAM_PORT`] on loopback), from this install step on.
pub fn tls_front(config: &mut CloudConfig) {
    tls_front_to(config, "http", UPSTREAM_PORT);
}

/// [`tls_front`] in front of `scheme://127.0.0.1:port` (`http`, or `https` for a platform
/// that serves its own certificate on loopback; nginx does not check that one).
pub fn tls_front_to(config: &mut CloudConfig, scheme: &str, port: u16) {
    let site = fill_template(
        NGINX_SITE,
        &[
            ("UPSTREAM_SCHEME", scheme.to_owned()),
            ("UPSTREAM_PORT", port.to_string()),
        ],
    );
    config
        .packages(&["nginx"])
        .file("/etc/owbench/tls/api.crt", "{{secret:tls-cert}}", "0644")
        .file("/etc/owbench/tls/api.key", "{{secret:tls-key}}", "0600")
        .file("/etc/nginx/sites-available/owbench-api", site, "0644")
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

/// The ports a node serving the API opens to the spec's clients: [`API_PORT`] (what
/// serves it is `api`, e.g. `OpenWhisk API`) and SSH.
pub fn client_ingress(api: &str) -> Vec<IngressRule> {
    vec![
        IngressRule {
            protocol: Protocol::Tcp,
            port: API_PORT,
            audience: Audience::Clients,
            purpose: format!("{api} (TLS)"),
        },
        ssh_ingress(),
    ]
}

/// SSH (22), open to the spec's clients.
pub fn ssh_ingress() -> IngressRule {
    IngressRule {
        protocol: Protocol::Tcp,
        port: 22,
        audience: Audience::Clients,
        purpose: "SSH".into(),
    }
}

/// The plan of an installer whose first node of `api_role` serves an OpenWhisk API behind
/// [`tls_front`] with the host's `guest` key: `phases` in order, the owbench binary
/// uploaded, a health check that lists the namespaces with the key (waiting up to
/// `timeout_secs`), the API's address and key as outputs, and the plan's `sizing`.
pub fn api_plan(
    api_role: &str,
    phases: Vec<Phase>,
    timeout_secs: u32,
    sizing: Vec<KeyValue>,
) -> InstallPlan {
    let address = format!("https://{{{{node:{api_role}:public-ip}}}}");
    InstallPlan {
        phases,
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
        sizing,
    }
}

/// The plan of an installer that makes one node of `role` serve the API: that one phase
/// with `user_data` and the [`client_ingress`] ports, as [`api_plan`] says.
pub fn one_node_plan(
    role: &str,
    user_data: String,
    api: &str,
    timeout_secs: u32,
    sizing: Vec<KeyValue>,
) -> InstallPlan {
    let phase = Phase {
        role: role.to_owned(),
        user_data,
        ingress: client_ingress(api),
    };
    api_plan(role, vec![phase], timeout_secs, sizing)
}

/// A sizing line: `what` and its value.
pub fn size(what: &str, value: impl std::fmt::Display) -> KeyValue {
    KeyValue {
        key: what.to_owned(),
        value: value.to_string(),
    }
}
