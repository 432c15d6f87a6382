//! owbench installer plugin `openwhisk-kube`: Apache OpenWhisk on k3s, a Kubernetes of
//! one server and two or more agents (Ubuntu 24.04), with OpenWhisk's Helm chart.
//!
//! The server runs Kubernetes' control plane and OpenWhisk's core (controller, Kafka,
//! CouchDB, the chart's nginx); each agent is an invoker node, where an invoker and the
//! action containers run (Kubernetes' container factory: k3s runs containerd). k3s, Helm
//! and the chart are pinned, every download checked against its pinned SHA-256. The
//! chart's values are sized from the shapes: each invoker's memory for action
//! containers, the pods a node may run, the controller's heap; the namespace limits are
//! raised for a benchmark of 1000 concurrent invocations. The `wasm` kind is in the
//! chart's runtime manifest, its image built on the server from the uploaded owbench
//! binary and imported into every node's containerd. Action containers reach neither the
//! platform nor private networks. The API is served only over TLS with the cluster's
//! certificate, and only once the chart's install job has completed and a probe action
//! has run.
#![cfg(target_arch = "wasm32")]

use owbench_installer::{
    Audience, CloudConfig, Cluster, IngressRule, InstallPlan, Installer, InstallerInfo, KeyValue,
    Limits, NodeGroup, Phase, Protocol, Result, RoleInfo, Settings, api_plan, client_ingress,
    data_disk, fetch_pinned, fill_template, owbench_binary, refuse, size, ssh_ingress,
    tls_front_to,
};

const SERVER: &str = "server";
const AGENT: &str = "agent";

const INSTALL_K3S: &str = include_str!("../files/install-k3s.sh");
const K3S_UNIT: &str = include_str!("../files/k3s.service");
const K3S_SERVER: &str = include_str!("../files/k3s-server.yaml");
const K3S_AGENT: &str = include_str!("../files/k3s-agent.yaml");
const INSTALL_SERVER: &str = include_str!("../files/install-kube-server.sh");
const INSTALL_AGENT: &str = include_str!("../files/install-kube-agent.sh");
const VALUES: &str = include_str!("../files/values.yaml");
const RUNTIMES: &str = include_str!("../files/runtimes.json");
const ACTION_EGRESS: &str = include_str!("../files/action-isolation.yaml");
const PROBE: &str = include_str!("../files/probe.toml");
const SHARE_SITE: &str = include_str!("../files/owbench-share.nginx");
/// The runtime image's Dockerfile, the repository's own (built from the uploaded binary).
const DOCKERFILE: &str = include_str!("../../../host/runtime/Dockerfile");

/// Where the chart's nginx serves the API (HTTPS, its own certificate) on every node.
const CHART_API_PORT: u16 = 31001;
/// Where the server publishes owbench's runtime image to the agents.
const SHARE_PORT: u16 = 8099;
/// Memory an agent keeps for the OS, k3s' agent and kubelet, and its invoker (a JVM with
/// a 1 GiB heap).
const AGENT_RESERVED_MIB: u64 = 2560;
/// The least memory of the server: Kubernetes' control plane and OpenWhisk's core
/// (controller, Kafka, ZooKeeper, CouchDB, Redis, nginx, the API gateway).
const SERVER_MIN_MIB: u64 = 7 * 1024;
/// Pods a node may run (`max-pods`): flannel gives each node a /24 of pod addresses.
const MAX_PODS: u64 = 250;
/// Pods an agent runs besides action containers (its invoker, k3s' own).
const AGENT_OTHER_PODS: u64 = 10;
/// OpenWhisk's default action memory, what containers are counted in.
const ACTION_MB: u64 = 256;
/// The largest action memory the chart allows, at most (and at most an invoker's pool).
const ACTION_MEMORY_MAX_MIB: u64 = 4096;
/// The cluster network ports k3s uses between nodes.
const KUBELET_PORT: u16 = 10250;
const VXLAN_PORT: u16 = 8472;
const K3S_API_PORT: u16 = 6443;

struct Kube;

impl Installer for Kube {
    fn describe() -> InstallerInfo {
        InstallerInfo {
            name: "openwhisk-kube".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Apache OpenWhisk on k3s (1 server and 2 or more agents, Ubuntu 24.04) with its Helm chart, the API over TLS".into(),
            roles: vec![
                RoleInfo {
                    name: SERVER.into(),
                    min: 1,
                    max: 1,
                    description: "the k3s server: Kubernetes' control plane and OpenWhisk's core (controller, Kafka, CouchDB, the API front)".into(),
                },
                RoleInfo {
                    name: AGENT.into(),
                    min: 2,
                    max: 100,
                    description: "k3s agents, the invoker nodes: an invoker each and the action containers".into(),
                },
            ],
        }
    }

    fn plan(cluster: &Cluster, settings: &Settings) -> Result<InstallPlan> {
        settings.only(&Limits::KEYS)?;
        let server = cluster.group(SERVER)?;
        let agents = cluster.group(AGENT)?;
        for group in [server, agents] {
            if group.arch.as_deref() == Some("aarch64") {
                return Err(refuse(format!(
                    "openwhisk-kube: OpenWhisk's images in its Helm chart 1.0.0 (openwhisk/controller, openwhisk/invoker) are built for x86_64 only; role `{}` has the aarch64 shape `{}`",
                    group.role, group.shape
                )));
            }
        }
        let sizes = Sizes::new(server, agents, settings)?;
        let values = sizes.values();

        let mut server_config = CloudConfig::new();
        // Docker builds the runtime image (then stops); nginx publishes it to the agents
        // and, at the end, fronts the API.
        server_config.packages(&["docker.io", "docker-buildx", "nginx"]);
        // k3s keeps its containers' files (CouchDB's, Kafka's, the actions') under
        // /var/lib/rancher: on the node's data disk when the spec gives it one.
        let mut disks: Vec<KeyValue> = data_disk(&mut server_config, server, RANCHER_DIR, &[])
            .into_iter()
            .collect();
        owbench_binary(&mut server_config);
        fetch_pinned(&mut server_config);
        k3s(&mut server_config, K3S_SERVER, &values);
        server_config
            .file(
                "/etc/docker/daemon.json",
                // The builder only: Docker must not rewrite the firewall k3s relies on.
                "{ \"iptables\": false }\n",
                "0644",
            )
            .file(
                "/usr/local/lib/owbench/runtime/Dockerfile",
                DOCKERFILE,
                "0644",
            )
            .file(
                "/etc/nginx/sites-available/owbench-share",
                fill_template(SHARE_SITE, &values),
                "0644",
            )
            .file(
                "/etc/owbench/kube/values.yaml",
                fill_template(VALUES, &values),
                "0600",
            )
            .file("/etc/owbench/kube/runtimes.json", RUNTIMES, "0644")
            .file(
                "/etc/owbench/kube/action-isolation.yaml",
                ACTION_EGRESS,
                "0644",
            )
            .file(
                "/etc/owbench/kube/probe.toml",
                fill_template(PROBE, &values),
                "0600",
            )
            .file(
                "/usr/local/lib/owbench/install-kube-server.sh",
                fill_template(INSTALL_SERVER, &values),
                "0755",
            )
            .run(&["/usr/local/lib/owbench/install-kube-server.sh"]);
        tls_front_to(&mut server_config, "https", CHART_API_PORT);

        let mut agent_config = CloudConfig::new();
        disks.extend(data_disk(&mut agent_config, agents, RANCHER_DIR, &[]));
        fetch_pinned(&mut agent_config);
        k3s(&mut agent_config, K3S_AGENT, &values);
        agent_config
            .file(
                "/usr/local/lib/owbench/install-kube-agent.sh",
                fill_template(INSTALL_AGENT, &values),
                "0755",
            )
            .run(&["/usr/local/lib/owbench/install-kube-agent.sh"]);

        let cluster_port = |protocol, port, purpose: &str| IngressRule {
            protocol,
            port,
            audience: Audience::Cluster,
            purpose: purpose.into(),
        };
        // What every node opens to the others: its kubelet and the pod network.
        let node_ports = [
            cluster_port(Protocol::Tcp, KUBELET_PORT, "kubelet (logs, exec)"),
            cluster_port(
                Protocol::Udp,
                VXLAN_PORT,
                "flannel VXLAN: pod traffic between nodes",
            ),
        ];
        let mut server_ingress = client_ingress("OpenWhisk API");
        server_ingress.push(cluster_port(
            Protocol::Tcp,
            K3S_API_PORT,
            "Kubernetes API (k3s server), for the agents",
        ));
        server_ingress.extend(node_ports.clone());
        server_ingress.extend([
            cluster_port(
                Protocol::Tcp,
                CHART_API_PORT,
                "OpenWhisk API inside the cluster (the chart's nginx)",
            ),
            cluster_port(
                Protocol::Tcp,
                SHARE_PORT,
                "owbench's runtime image, for the agents",
            ),
        ]);
        // Agents serve no API: SSH only from the clients.
        let mut agent_ingress = vec![ssh_ingress()];
        agent_ingress.extend(node_ports);
        let phases = vec![
            Phase {
                role: SERVER.into(),
                user_data: server_config.to_user_data(),
                ingress: server_ingress,
            },
            Phase {
                role: AGENT.into(),
                user_data: agent_config.to_user_data(),
                ingress: agent_ingress,
            },
        ];
        // Building the image, pulling OpenWhisk's images and its install job take tens of
        // minutes; the server gives up on each of its waits (30 minutes at most) and says
        // why before this does.
        let mut sizing = sizes.sizing();
        sizing.extend(disks);
        Ok(api_plan(SERVER, phases, 4200, sizing))
    }
}

/// Where k3s keeps its data (its default `data-dir` is under it).
const RANCHER_DIR: &str = "/var/lib/rancher";

/// k3s on a node: its settings (`config`, a template), the service, the install script.
fn k3s(config: &mut CloudConfig, settings: &str, values: &[(&str, String)]) {
    config
        .file(
            "/etc/rancher/k3s/config.yaml",
            fill_template(settings, values),
            "0600",
        )
        .file("/usr/local/lib/owbench/k3s.service", K3S_UNIT, "0644")
        .file("/usr/local/lib/owbench/install-k3s.sh", INSTALL_K3S, "0755");
}

/// What the plan sizes from the shapes and the settings.
struct Sizes {
    invokers: u32,
    limits: Limits,
    containers_per_invoker: u64,
    action_memory_max_mib: u64,
    controller_heap_mib: u64,
}

impl Sizes {
    fn new(server: &NodeGroup, agents: &NodeGroup, settings: &Settings) -> Result<Sizes> {
        if let Some(mib) = server.memory_mib
            && mib < SERVER_MIN_MIB
        {
            return Err(refuse(format!(
                "openwhisk-kube: the server's shape `{}` has {mib} MiB; Kubernetes' control plane and OpenWhisk's core need at least {SERVER_MIN_MIB} MiB",
                server.shape
            )));
        }
        if let Some(mib) = agents.memory_mib
            && mib < AGENT_RESERVED_MIB + ACTION_MB
        {
            return Err(refuse(format!(
                "openwhisk-kube: the agents' shape `{}` has {mib} MiB; an invoker node needs {AGENT_RESERVED_MIB} MiB for Kubernetes and its invoker and {ACTION_MB} MiB for one action container",
                agents.shape
            )));
        }
        let limits = Limits::read(
            settings,
            (600_000, 5_000),
            agents.memory_mib,
            AGENT_RESERVED_MIB,
        )?;
        let server_mib = server.memory_mib.unwrap_or(8 * 1024);
        Ok(Sizes {
            invokers: agents.count,
            limits,
            containers_per_invoker: limits
                .containers(ACTION_MB)
                .min(MAX_PODS - AGENT_OTHER_PODS),
            action_memory_max_mib: limits.user_memory_mb.min(ACTION_MEMORY_MAX_MIB),
            controller_heap_mib: (server_mib / 8).clamp(1024, 4096),
        })
    }

    /// The values the files' `@NAME@` templates take.
    fn values(&self) -> Vec<(&'static str, String)> {
        let mut values = self.limits.template_values();
        values.extend([
            ("INVOKERS", self.invokers.to_string()),
            ("ACTION_MEMORY_MAX", self.action_memory_max_mib.to_string()),
            ("CONTROLLER_HEAP", self.controller_heap_mib.to_string()),
            ("MAX_PODS", MAX_PODS.to_string()),
            ("SHARE_PORT", SHARE_PORT.to_string()),
            ("PROBE_COUNT", (4 * self.invokers).to_string()),
        ]);
        values
    }

    /// What `cluster up --dry-run` shows.
    fn sizing(&self) -> Vec<KeyValue> {
        let containers = self.containers_per_invoker * u64::from(self.invokers);
        vec![
            size("invokers (one per agent)", self.invokers),
            size(
                "memory for action containers per invoker (whisk.containerPool.userMemory)",
                format!("{} MiB", self.limits.user_memory_mb),
            ),
            size(
                "action containers of 256 MB at once",
                format!(
                    "{containers} ({} per agent; a node runs at most {MAX_PODS} pods)",
                    self.containers_per_invoker
                ),
            ),
            size(
                "largest action memory (whisk.limits.actions.memory.max)",
                format!("{} MiB", self.action_memory_max_mib),
            ),
            size(
                "invocations per minute (namespace limit)",
                self.limits.per_minute,
            ),
            size(
                "concurrent invocations (namespace limit)",
                self.limits.concurrent,
            ),
            size(
                "controller JVM heap",
                format!("{} MiB", self.controller_heap_mib),
            ),
        ]
    }
}

owbench_installer::export_installer!(Kube);
