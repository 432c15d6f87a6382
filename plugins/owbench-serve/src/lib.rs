//! owbench installer plugin `owbench-serve`: owbench's own OpenWhisk-compatible platform
//! (`owbench serve`, the embedded default) on one Ubuntu 24.04 node, from the owbench
//! binary the host uploads, as a systemd service on loopback behind nginx (the API over
//! TLS with the cluster's certificate). Against it, the same spec as against OpenWhisk
//! on the same shape gives the side-by-side baseline.
#![cfg(target_arch = "wasm32")]

use owbench_installer::{
    CloudConfig, Cluster, InstallPlan, Installer, InstallerInfo, Limits, Result, Settings,
    data_disk, fill_template, one_node_info, one_node_plan, owbench_binary, tls_front,
};

const ROLE: &str = "serve";
const UNIT: &str = include_str!("../files/owbench-serve.service");
/// Memory left to the OS, nginx and the platform itself.
const RESERVED_MIB: u64 = 1024;

struct Serve;

impl Installer for Serve {
    fn describe() -> InstallerInfo {
        one_node_info(
            "owbench-serve",
            env!("CARGO_PKG_VERSION"),
            "owbench's embedded platform on one Ubuntu 24.04 node, the API over TLS",
            ROLE,
            "owbench serve (wasm actions in wasmtime), behind nginx",
        )
    }

    fn plan(cluster: &Cluster, settings: &Settings) -> Result<InstallPlan> {
        settings.only(&Limits::KEYS)?;
        let group = cluster.group(ROLE)?;
        let limits = Limits::read(
            settings,
            (6_000_000, 10_000),
            group.memory_mib,
            RESERVED_MIB,
        )?;

        let mut config = CloudConfig::new();
        // The platform's data directory holds the actions' scratch directories. With
        // DynamicUser, systemd keeps it in /var/lib/private and links it.
        let disk = data_disk(&mut config, group, "/var/lib/private/owbench-serve", &[]);
        owbench_binary(&mut config);
        config
            .file(
                "/etc/owbench/serve.env",
                "OWBENCH_AUTH=guest={{secret:guest-key}}\n",
                "0600",
            )
            .file(
                "/etc/systemd/system/owbench-serve.service",
                fill_template(UNIT, &limits.template_values()),
                "0644",
            )
            .run(&["systemctl", "daemon-reload"])
            .run(&["systemctl", "enable", "--now", "owbench-serve.service"]);
        tls_front(&mut config);

        let mut sizing = limits.sizing();
        sizing.extend(disk);
        Ok(one_node_plan(
            ROLE,
            config.to_user_data(),
            "OpenWhisk-compatible API",
            600,
            sizing,
        ))
    }
}

owbench_installer::export_installer!(Serve);
