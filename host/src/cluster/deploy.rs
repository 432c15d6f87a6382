//! Carrying out an installer's plan (`owbench cluster up` with an `[installer]`): the
//! cluster's secrets made, the owbench binary uploaded to the provider's object storage,
//! the phases' nodes created in order (a later phase's user data gets the earlier nodes'
//! addresses), the health check waited for over TLS with the cluster's certificate
//! pinned, and the outputs recorded. The state file is saved after every step, so that
//! whatever fails, `down` removes what was made.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sha2::Digest as _;

use super::install::{self, Addresses, Values};
use super::spec::ClusterSpec;
use super::state::{ClusterState, Outputs, StateStore, Status};
use super::{Backoff, read_files, record, target};
use owbench_plugin::installer::{Audience, InstallPlan};
use owbench_plugin::provider::{IngressRule, NodeRequest, ProviderInfo, Source};
use owbench_plugin::{PluginEngine, ProviderPlugin};

/// How a node whose installation failed answers every request (status 503), then why:
/// the installers' convention (their `install-failed.sh`), so `up` stops waiting.
pub const INSTALL_FAILED: &str = "install failed: ";

/// The most user data the host sends: EC2's limit (OCI takes 32 KB).
pub const MAX_USER_DATA: usize = 16 * 1024;

/// How `up` carries a plan out.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for the health check, instead of the installer's timeout.
    pub health_timeout: Option<Duration>,
    /// How long to wait for a phase's nodes to get their addresses.
    pub address_timeout: Duration,
    /// Every node's public address as seen from here (`host:port`), instead of the one
    /// the provider reports. For tests only: a test cloud's addresses belong to others,
    /// so a test points the health check at a loopback server.
    pub reach: Option<String>,
    /// Retries of failed provider calls.
    pub backoff: Backoff,
}

/// The bucket a cluster's uploads go to (`down` deletes it).
pub fn bucket(id: &str) -> String {
    format!("owbench-{id}")
}

/// The CPU architecture of a Linux executable, as Rust names it: a 64-bit little-endian
/// ELF file for System V or Linux (the ABI bytes Linux's own binaries carry), executable
/// or position-independent.
pub fn elf_arch(bytes: &[u8]) -> Option<&'static str> {
    let elf64_le = bytes.len() >= 20 && &bytes[..4] == b"\x7fELF" && bytes[4] == 2 && bytes[5] == 1;
    if !elf64_le || !matches!(bytes[7], 0 | 3) || !matches!(bytes[16], 2 | 3) {
        return None;
    }
    match u16::from_le_bytes([bytes[18], bytes[19]]) {
        0x3e => Some("x86_64"),
        0xb7 => Some("aarch64"),
        _ => None,
    }
}

/// Read the owbench binary at `path` and check it runs on every node of `spec`: a Linux
/// executable for the architecture of each node's shape (as the provider lists it).
pub fn read_binary(
    path: &Path,
    spec: &ClusterSpec,
    info: &ProviderInfo,
) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the owbench binary {}", path.display()))?;
    let arch = elf_arch(&bytes).with_context(|| {
        format!(
            "{} is not a Linux x86_64 or aarch64 executable; the nodes need one (`--owbench-binary`)",
            path.display()
        )
    })?;
    for group in &spec.nodes {
        let Some(shape) = info.shapes.iter().find(|s| s.name == group.shape) else {
            continue;
        };
        anyhow::ensure!(
            shape.arch == arch,
            "role `{}`: shape {} is {}, the owbench binary {} is {arch}; give `--owbench-binary` a Linux {} build",
            group.role,
            shape.name,
            shape.arch,
            path.display(),
            shape.arch
        );
    }
    Ok(bytes)
}

/// Carry out `plan` for the cluster of `state` (its nodes' images already resolved):
/// on failure the state says `failed` and why, and the error names the `down` command.
pub async fn install(
    engine: &PluginEngine,
    provider: &ProviderPlugin,
    store: &StateStore,
    state: &mut ClusterState,
    plan: &InstallPlan,
    binary: Vec<u8>,
    options: &Options,
) -> anyhow::Result<()> {
    let result = Deployment {
        engine,
        provider,
        store,
        options,
    }
    .run(state, plan, binary)
    .await;
    if let Err(e) = &result {
        state.status = Status::Failed;
        state.error = Some(format!("{e:#}"));
        store.save(state)?;
    }
    result.map_err(|e| {
        anyhow::anyhow!(
            "cluster {}: {e:#}; `owbench cluster down {}` removes it",
            state.id,
            state.id
        )
    })
}

struct Deployment<'a> {
    engine: &'a PluginEngine,
    provider: &'a ProviderPlugin,
    store: &'a StateStore,
    options: &'a Options,
}

impl Deployment<'_> {
    async fn run(
        &self,
        state: &mut ClusterState,
        plan: &InstallPlan,
        binary: Vec<u8>,
    ) -> anyhow::Result<()> {
        state.status = Status::Creating;
        state.secrets = super::secrets::generate(&state.id)?;
        self.store.save(state)?;
        let mut values = Values {
            cluster_id: state.id.clone(),
            secrets: state.secrets.clone(),
            ..Values::default()
        };
        let timeout = self
            .options
            .health_timeout
            .unwrap_or(Duration::from_secs(u64::from(
                plan.health_check.timeout_secs,
            )));
        if plan.artifacts.iter().any(|a| a == "owbench") {
            // Valid while the nodes are made and checked, and an hour more.
            let valid = timeout + self.options.address_timeout + Duration::from_secs(3600);
            let uploaded = self.upload(state, "owbench", binary, valid).await?;
            values.artifacts.insert("owbench".into(), uploaded);
        }
        for phase in &plan.phases {
            let addresses = self.phase(state, phase, &values).await?;
            values.nodes.insert(phase.role.clone(), addresses);
        }
        let reach = self.reached(&values);
        self.health_check(state, plan, &values, &reach, timeout)
            .await?;
        state.outputs = Some(Outputs {
            api_host: reach
                .fill(&plan.outputs.api_host)
                .map_err(anyhow::Error::msg)?,
            auth: values
                .fill(&plan.outputs.auth)
                .map_err(anyhow::Error::msg)?,
            namespace: values
                .fill(&plan.outputs.namespace)
                .map_err(anyhow::Error::msg)?,
            tls_cert: state.secrets["tls-cert"].clone(),
        });
        state.status = Status::Ready;
        state.error = None;
        self.store.save(state)?;
        Ok(())
    }

    /// Upload artifact `name` to the cluster's bucket: its download URL (valid for
    /// `valid`) and SHA-256.
    async fn upload(
        &self,
        state: &ClusterState,
        name: &str,
        bytes: Vec<u8>,
        valid: Duration,
    ) -> anyhow::Result<(String, String)> {
        let target = target(&state.spec);
        let bucket = bucket(&state.id);
        let arch = elf_arch(&bytes).unwrap_or("unknown");
        let key = format!("{name}-{}-linux-{arch}", env!("CARGO_PKG_VERSION"));
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        let size = bytes.len();
        let backoff = self.options.backoff;
        backoff
            .retry(&format!("upload {key}"), || {
                self.provider
                    .put_object(self.engine, &target, &bucket, &key, &bytes)
            })
            .await
            .with_context(|| format!("uploading {name} ({size} bytes) to bucket {bucket}"))?;
        // Presigned URLs last at most 7 days.
        let secs = valid.as_secs().clamp(60, 604_800) as u32;
        let url = backoff
            .retry(&format!("download URL of {key}"), || {
                self.provider
                    .object_url(self.engine, &target, &bucket, &key, secs)
            })
            .await
            .with_context(|| format!("a download URL for {bucket}/{key}"))?;
        eprintln!(
            "uploaded {name} ({} MB) to {bucket}/{key}",
            size / 1_000_000
        );
        Ok((url, sha256))
    }

    /// Create the nodes of `phase`, record them, and wait for their addresses.
    async fn phase(
        &self,
        state: &mut ClusterState,
        phase: &owbench_plugin::installer::Phase,
        values: &Values,
    ) -> anyhow::Result<Vec<Addresses>> {
        let role = &phase.role;
        let group = state
            .spec
            .nodes
            .iter()
            .find(|g| &g.role == role)
            .cloned()
            .with_context(|| format!("the spec gives no role `{role}`"))?;
        let user_data = install::user_data(phase, values, state.spec.max_hours)
            .map_err(|e| anyhow::anyhow!("phase `{role}`: {e}"))?;
        let user_data = compress_if_large(user_data)
            .with_context(|| format!("phase `{role}`: cannot compress the user data"))?;
        anyhow::ensure!(
            user_data.len() <= MAX_USER_DATA,
            "phase `{role}`: the user data is {} bytes compressed, more than the {MAX_USER_DATA} a node takes",
            user_data.len()
        );
        let (ssh_key, _) = read_files(&state.spec)?;
        let request = NodeRequest {
            user_data,
            ssh_public_key: ssh_key,
            ingress: ingress(&state.spec, phase),
            terminate_on_shutdown: true,
            ..super::node_request(state, &group)
        };
        let target = target(&state.spec);
        let created = self
            .options
            .backoff
            .retry(&format!("create {}", request.name), || {
                self.provider.create_nodes(self.engine, &target, &request)
            })
            .await
            .with_context(|| format!("creating role `{role}`"))?;
        state.nodes.extend(created.iter().map(|n| record(role, n)));
        self.store.save(state)?;
        self.addresses(state, role).await
    }

    /// Wait until every node of `role` has its public and private address; record them.
    async fn addresses(
        &self,
        state: &mut ClusterState,
        role: &str,
    ) -> anyhow::Result<Vec<Addresses>> {
        let target = target(&state.spec);
        let ids: Vec<String> = state
            .nodes
            .iter()
            .filter(|n| n.role == role)
            .map(|n| n.id.clone())
            .collect();
        let started = Instant::now();
        let mut pause = Duration::from_millis(500);
        loop {
            let described = self
                .options
                .backoff
                .retry(&format!("describe role `{role}`"), || {
                    self.provider.describe_nodes(self.engine, &target, &ids)
                })
                .await?;
            for n in &mut state.nodes {
                if let Some(d) = described.iter().find(|d| d.id == n.id) {
                    *n = super::record(&n.role, d);
                }
            }
            let nodes: Vec<_> = state.nodes.iter().filter(|n| n.role == role).collect();
            if let Some(gone) = nodes
                .iter()
                .find(|n| matches!(n.state.as_str(), "terminating" | "terminated" | "stopped"))
            {
                anyhow::bail!(
                    "node {} of role `{role}` is {} before it was ready",
                    gone.name,
                    gone.state
                );
            }
            if nodes
                .iter()
                .all(|n| n.public_ip.is_some() && n.private_ip.is_some())
            {
                let addresses = nodes
                    .iter()
                    .map(|n| Addresses {
                        public: n.public_ip.clone(),
                        private: n.private_ip.clone(),
                    })
                    .collect();
                self.store.save(state)?;
                return Ok(addresses);
            }
            anyhow::ensure!(
                started.elapsed() < self.options.address_timeout,
                "the nodes of role `{role}` got no addresses within {} s",
                self.options.address_timeout.as_secs()
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(10));
        }
    }

    /// The values with every node's public address as reached from here.
    fn reached(&self, values: &Values) -> Values {
        let mut reach = values.clone();
        if let Some(address) = &self.options.reach {
            for nodes in reach.nodes.values_mut() {
                for node in nodes {
                    node.public = Some(address.clone());
                }
            }
        }
        reach
    }

    /// Wait until the plan's health check passes, at most `timeout`, or a node says its
    /// installation failed.
    async fn health_check(
        &self,
        state: &ClusterState,
        plan: &InstallPlan,
        values: &Values,
        reach: &Values,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let check = &plan.health_check;
        let url = reach.fill(&check.url).map_err(anyhow::Error::msg)?;
        let cert = crate::tls::parse_certificate(&state.secrets["tls-cert"])?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(crate::tls::pinned_client(cert)?)
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot build the health check's HTTP client")?;
        let auth = values
            .fill(&plan.outputs.auth)
            .map_err(anyhow::Error::msg)?;
        let (user, password) = auth.split_once(':').unwrap_or((&auth, ""));
        // The node the check addresses, to name it when the check fails.
        let node = install::placeholders(&check.url)
            .unwrap_or_default()
            .iter()
            .find_map(|p| {
                p.strip_prefix("node:")?
                    .split(':')
                    .next()
                    .map(str::to_owned)
            })
            .and_then(|role| state.nodes.iter().find(|n| n.role == role))
            .map_or_else(|| "?".to_owned(), |n| format!("{} ({})", n.name, n.id));
        eprintln!(
            "waiting for the health check GET {url} (at most {} s)",
            timeout.as_secs()
        );
        let started = Instant::now();
        let mut pause = Duration::from_millis(500);
        loop {
            let mut request = client.get(&url);
            if check.authenticated {
                request = request.basic_auth(user, Some(password));
            }
            let last = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.text().await.unwrap_or_default();
                    if status == check.expect_status && body.contains(&check.expect_body) {
                        return Ok(());
                    }
                    // A node whose installation failed says so (the installers' convention):
                    // no use waiting.
                    if status == 503 && body.starts_with(INSTALL_FAILED) {
                        let reason: String = body
                            .lines()
                            .next()
                            .unwrap_or_default()
                            .chars()
                            .take(1000)
                            .collect();
                        anyhow::bail!("node {node}: {reason}");
                    }
                    format!("{status} {}", body.chars().take(80).collect::<String>())
                }
                Err(e) => crate::client::root_cause(&e),
            };
            anyhow::ensure!(
                started.elapsed() < timeout,
                "the health check GET {url} of node {node} did not pass within {} s (last: {last})",
                timeout.as_secs()
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(10));
        }
    }
}

/// `text` as the bytes a node gets: as it is when it fits in [`MAX_USER_DATA`], else
/// gzip-compressed (cloud-init recognises gzip and decompresses it).
pub fn compress_if_large(text: String) -> std::io::Result<Vec<u8>> {
    if text.len() <= MAX_USER_DATA {
        return Ok(text.into_bytes());
    }
    use std::io::Write as _;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(text.as_bytes())?;
    gzip.finish()
}

/// A phase's ingress rules for the provider: a `clients` port open to each of the spec's
/// `allowed_cidrs`, a `cluster` port to the cluster's own network.
pub fn ingress(spec: &ClusterSpec, phase: &owbench_plugin::installer::Phase) -> Vec<IngressRule> {
    let mut rules = Vec::new();
    for rule in &phase.ingress {
        let sources = match rule.audience {
            Audience::Clients => spec
                .allowed_cidrs
                .iter()
                .map(|c| Source::Cidr(c.clone()))
                .collect(),
            Audience::Cluster => vec![Source::Cluster],
        };
        rules.extend(sources.into_iter().map(|source| IngressRule {
            protocol: rule.protocol,
            port: rule.port,
            source,
        }));
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_is_compressed_only_when_it_would_not_fit() {
        let small = "#cloud-config\n{}\n".to_owned();
        assert_eq!(compress_if_large(small.clone()).unwrap(), small.as_bytes());
        let large = format!("#cloud-config\nx: {}\n", "ab".repeat(MAX_USER_DATA));
        let bytes = compress_if_large(large.clone()).unwrap();
        assert_eq!(&bytes[..2], [0x1f, 0x8b], "gzip");
        assert!(bytes.len() < MAX_USER_DATA);
        let mut back = String::new();
        use std::io::Read as _;
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, large);
    }

    #[test]
    fn elf_headers_name_their_architecture() {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2; // 64-bit
        header[5] = 1; // little-endian
        header[16] = 3; // position-independent executable
        header[18] = 0x3e;
        assert_eq!(elf_arch(&header), Some("x86_64"));
        header[18] = 0xb7;
        assert_eq!(elf_arch(&header), Some("aarch64"));
        header[7] = 9; // FreeBSD
        assert_eq!(elf_arch(&header), None);
        header[7] = 0;
        header[16] = 1; // a relocatable object
        assert_eq!(elf_arch(&header), None);
        header[16] = 2;
        header[4] = 1; // 32-bit
        assert_eq!(elf_arch(&header), None);
        header[4] = 2;
        header[18] = 0x28; // 32-bit Arm
        assert_eq!(elf_arch(&header), None);
        assert_eq!(elf_arch(b"#!/bin/sh\necho hi\n"), None);
        let this = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(elf_arch(&this), Some(std::env::consts::ARCH));
    }
}
