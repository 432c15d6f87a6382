//! owbench installer plugin `openwhisk-standalone`: Apache OpenWhisk standalone on one
//! Ubuntu 24.04 node.
//!
//! There is no released standalone jar, so OpenWhisk runs as the `openwhisk/standalone`
//! image with the Docker socket (it starts action containers beside itself), as a
//! systemd service, on loopback; nginx serves the API over TLS with the cluster's
//! certificate. Its limits are raised for a benchmark of 1000 concurrent invocations
//! (OpenWhisk's defaults: 60 invocations a minute, 30 concurrent, 1 GB of container
//! memory), its `guest` and `whisk-system` keys are ones the host generates, its runtime
//! manifest has the `wasm` kind (owbench's runtime image, built on the node from the
//! uploaded owbench binary), and every runtime image is pulled before the service starts.
#![cfg(target_arch = "wasm32")]

use owbench_installer::{
    CloudConfig, Cluster, InstallPlan, Installer, InstallerInfo, Limits, Result, Settings,
    data_disk, fill_template, one_node_info, one_node_plan, owbench_binary, refuse, tls_front,
};

const ROLE: &str = "openwhisk";
const INSTALL: &str = include_str!("../files/install-openwhisk.sh");
const UNIT: &str = include_str!("../files/owbench-openwhisk.service");
const DOCKER_DROP_IN: &str = include_str!("../files/docker-owbench.conf");
const RUNTIMES: &str = include_str!("../files/runtimes.json");
/// The runtime image's Dockerfile, the repository's own (built from the uploaded binary).
const DOCKERFILE: &str = include_str!("../../../host/runtime/Dockerfile");
const CONF: &str = include_str!("../files/standalone.conf");

/// The standalone image (no release is tagged; a setting may pin another).
const DEFAULT_IMAGE: &str = "openwhisk/standalone:nightly";
/// Memory left to the OS, Docker, nginx and OpenWhisk's JVM (its heap is capped at 2 GiB
/// in the unit).
const RESERVED_MIB: u64 = 4 * 1024;

struct Standalone;

impl Installer for Standalone {
    fn describe() -> InstallerInfo {
        one_node_info(
            "openwhisk-standalone",
            env!("CARGO_PKG_VERSION"),
            "Apache OpenWhisk standalone on one Ubuntu 24.04 node, the API over TLS",
            ROLE,
            "OpenWhisk standalone (controller and invoker in one JVM) in Docker, behind nginx",
        )
    }

    fn plan(cluster: &Cluster, settings: &Settings) -> Result<InstallPlan> {
        let mut known = vec!["image"];
        known.extend(Limits::KEYS);
        settings.only(&known)?;
        let group = cluster.group(ROLE)?;
        let image = settings.get("image").unwrap_or(DEFAULT_IMAGE);
        if image.is_empty() || image.contains(|c: char| c.is_whitespace() || c == '@') {
            return Err(refuse(format!(
                "installer setting `image` must be a Docker image name, got {image:?}"
            )));
        }
        let limits = Limits::read(settings, (600_000, 5_000), group.memory_mib, RESERVED_MIB)?;
        let mut values = limits.template_values();
        values.push(("IMAGE", image.to_owned()));
        let images = [
            image,
            "alpine:3",
            "ubuntu:24.04",
            "openwhisk/action-nodejs-v20:nightly",
            "openwhisk/dockerskeleton:nightly",
        ]
        .join("\n")
            + "\n";

        let mut config = CloudConfig::new();
        // BuildKit (`docker-buildx`) builds only the stages the runtime image needs.
        config.packages(&["docker.io", "docker-buildx"]);
        // Action containers' files live in Docker's data root.
        let disk = data_disk(
            &mut config,
            group,
            "/var/lib/docker",
            &["docker.socket", "docker.service"],
        );
        owbench_binary(&mut config);
        config
            .file(
                "/etc/systemd/system/docker.service.d/owbench.conf",
                DOCKER_DROP_IN,
                "0644",
            )
            .file(
                "/etc/owbench/openwhisk/standalone.conf",
                fill_template(CONF, &values),
                "0600",
            )
            .file("/etc/owbench/openwhisk/runtimes.json", RUNTIMES, "0644")
            .file("/etc/owbench/openwhisk/images", images, "0644")
            .file(
                "/usr/local/lib/owbench/runtime/Dockerfile",
                DOCKERFILE,
                "0644",
            )
            .file(
                "/etc/systemd/system/owbench-openwhisk.service",
                fill_template(UNIT, &values),
                "0644",
            )
            .file(
                "/usr/local/lib/owbench/install-openwhisk.sh",
                INSTALL,
                "0755",
            )
            .run(&["/usr/local/lib/owbench/install-openwhisk.sh"]);
        tls_front(&mut config);

        // Pulling the images and OpenWhisk's start take minutes.
        let mut sizing = limits.sizing();
        sizing.extend(disk);
        Ok(one_node_plan(
            ROLE,
            config.to_user_data(),
            "OpenWhisk API",
            1200,
            sizing,
        ))
    }
}

owbench_installer::export_installer!(Standalone);
