//! `owbench cluster`: machines from a provider plugin, with state and safe teardown.
//!
//! Every resource is tagged `owbench-cluster=<id>` (and `owbench-role=<role>`). `up`
//! writes the state file before its first create and after each create returns; a
//! failure or Ctrl-C in the middle leaves a state that `down` cleans: `down` terminates
//! the recorded nodes and every node it finds by tag (one created by a call that never
//! returned), waits until none is left, then deletes the other tagged resources. Calls
//! that fail with a retryable error (throttling, a resource still in use) are retried
//! with exponential backoff and jitter (`backon`).

pub mod deploy;
pub mod install;
pub mod secrets;
pub mod spec;
pub mod state;

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};

use owbench_plugin::provider::{
    Demand, IngressRule, KeyValue, Node, NodeRequest, Protocol, ProviderInfo, Source, Target,
    VolumeOffer,
};
use owbench_plugin::{CallError, PluginEngine, ProviderPlugin};
use spec::ClusterSpec;
use state::{ClusterState, NodeRecord, StateStore, Status};

/// The tag every resource of a cluster carries.
pub const CLUSTER_TAG: &str = "owbench-cluster";
/// The tag naming a node's role.
pub const ROLE_TAG: &str = "owbench-role";

/// How retryable failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Attempts in all.
    pub attempts: u32,
    /// The first delay (before jitter); doubled each time.
    pub base: Duration,
    /// The largest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 8,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// Run `call` until it succeeds, fails for good, or runs out of attempts; each retry
    /// is logged as a warning naming `what`.
    pub async fn retry<T, F, Fut>(&self, what: &str, call: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let policy = ExponentialBuilder::default()
            .with_min_delay(self.base)
            .with_max_delay(self.max)
            .with_max_times(self.attempts.saturating_sub(1) as usize)
            .with_jitter();
        call.retry(policy)
            .sleep(tokio::time::sleep)
            .when(CallError::retryable)
            .notify(|e, delay| {
                tracing::warn!("{what}: {e} (retrying in {:.1} s)", delay.as_secs_f64());
            })
            .await
    }
}

/// The target of a spec.
pub fn target(spec: &ClusterSpec) -> Target {
    Target {
        region: spec.region.clone(),
        endpoint: spec.endpoint.clone(),
        settings: spec
            .settings
            .iter()
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
    }
}

fn tags(id: &str) -> Vec<KeyValue> {
    vec![KeyValue {
        key: CLUSTER_TAG.into(),
        value: id.into(),
    }]
}

/// One line of a plan: a node group with its shape's size and price.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanLine {
    /// Role.
    pub role: String,
    /// Nodes.
    pub count: u32,
    /// Shape.
    pub shape: String,
    /// vCPUs and MiB per node, when the provider knows the shape.
    pub size: Option<(u32, u64)>,
    /// CPU architecture (`x86_64` or `aarch64`), when the provider knows the shape.
    pub arch: Option<String>,
    /// USD per hour for the group, its volumes included, when the provider knows the
    /// price.
    pub per_hour: Option<f64>,
    /// Each node's data disk for people, e.g. `200 GB gp3` or `475 GB local NVMe`.
    pub storage: Option<String>,
    /// What the installer is told of it.
    pub data_disk: Option<DataDisk>,
}

/// A node group's disk for the actions' data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DataDisk {
    /// A block volume of this many GB.
    Volume(u32),
    /// Local NVMe of this many GB.
    LocalNvme(u32),
}

/// Hours in a month, as cloud price lists count them.
const HOURS_PER_MONTH: f64 = 730.0;

/// The provider's offer of the class `volume` asks for.
pub fn volume_offer<'a>(
    info: &'a ProviderInfo,
    volume: &spec::VolumeSpec,
) -> Option<&'a VolumeOffer> {
    info.volumes.iter().find(|o| o.class == volume.class.wit())
}

/// What one node's volume costs, USD per hour, when priced.
fn volume_per_hour(offer: &VolumeOffer, size_gb: u32) -> Option<f64> {
    let storage = offer.price_per_gb_month? * f64::from(size_gb);
    let iops = offer.price_per_iops_month.unwrap_or(0.0) * f64::from(offer.iops);
    Some((storage + iops) / HOURS_PER_MONTH)
}

/// What `up` would create, priced by the provider's description.
pub fn plan(spec: &ClusterSpec, info: &ProviderInfo) -> Vec<PlanLine> {
    spec.nodes
        .iter()
        .map(|g| {
            let shape = info.shapes.iter().find(|s| s.name == g.shape);
            let offer = g.volume.as_ref().and_then(|v| volume_offer(info, v));
            let volume_price = match (&g.volume, offer) {
                (None, _) => Some(0.0),
                (Some(v), Some(o)) => volume_per_hour(o, v.size_gb),
                (Some(_), None) => None,
            };
            let (storage, data_disk) = match (&g.volume, offer, shape) {
                (Some(v), offer, _) => (
                    Some(format!(
                        "{} GB {}",
                        v.size_gb,
                        offer.map_or(v.class.as_str(), |o| o.kind.as_str())
                    )),
                    Some(DataDisk::Volume(v.size_gb)),
                ),
                (None, _, Some(s)) if g.local_nvme => (
                    Some(format!("{} GB local NVMe", s.local_nvme_gb)),
                    Some(DataDisk::LocalNvme(s.local_nvme_gb)),
                ),
                _ => (None, None),
            };
            PlanLine {
                role: g.role.clone(),
                count: g.count,
                shape: g.shape.clone(),
                size: shape.map(|s| (s.vcpus, s.memory_mib)),
                arch: shape.map(|s| s.arch.clone()),
                per_hour: shape
                    .and_then(|s| s.price_per_hour)
                    .zip(volume_price)
                    .map(|(p, v)| (p + v) * f64::from(g.count)),
                storage,
                data_disk,
            }
        })
        .collect()
}

/// What the planned nodes cost in USD per hour, when the provider prices every one.
pub fn price_per_hour(lines: &[PlanLine]) -> Option<f64> {
    lines
        .iter()
        .try_fold(0.0, |sum, l| l.per_hour.map(|p| sum + p))
}

/// Check the spec against what the provider says it offers.
pub fn check(spec: &ClusterSpec, info: &ProviderInfo) -> anyhow::Result<()> {
    anyhow::ensure!(
        info.regions.is_empty() || info.regions.contains(&spec.region),
        "provider {} has no region `{}` (it knows: {})",
        info.name,
        spec.region,
        info.regions.join(", ")
    );
    for g in &spec.nodes {
        anyhow::ensure!(
            info.shapes.is_empty() || info.shapes.iter().any(|s| s.name == g.shape),
            "role `{}`: provider {} has no shape `{}` (it knows: {})",
            g.role,
            info.name,
            g.shape,
            info.shapes
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        check_storage(spec, g, info)?;
    }
    Ok(())
}

/// Check a group's data disk: a volume class the provider offers in the region, of a
/// size it makes; local NVMe on a shape that has it; not both.
fn check_storage(
    spec: &ClusterSpec,
    g: &spec::NodeGroup,
    info: &ProviderInfo,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !(g.local_nvme && g.volume.is_some()),
        "role `{}`: give `volume` or `local_nvme`, not both",
        g.role
    );
    if g.local_nvme
        && let Some(shape) = info.shapes.iter().find(|s| s.name == g.shape)
    {
        let with: Vec<&str> = info
            .shapes
            .iter()
            .filter(|s| s.local_nvme_gb > 0)
            .map(|s| s.name.as_str())
            .collect();
        anyhow::ensure!(
            shape.local_nvme_gb > 0,
            "role `{}`: shape {} has no local NVMe (on {}: {})",
            g.role,
            g.shape,
            info.name,
            if with.is_empty() {
                "none".to_owned()
            } else {
                with.join(", ")
            }
        );
    }
    if let Some(v) = &g.volume {
        let offer = volume_offer(info, v).filter(|o| !o.unavailable_in.contains(&spec.region));
        let Some(offer) = offer else {
            anyhow::bail!(
                "role `{}`: provider {} offers no `{}` volumes in {}",
                g.role,
                info.name,
                v.class.as_str(),
                spec.region
            );
        };
        anyhow::ensure!(
            (offer.min_gb..=offer.max_gb).contains(&v.size_gb),
            "role `{}`: a `{}` volume ({} on {}) must be {} to {} GB, not {}",
            g.role,
            v.class.as_str(),
            offer.kind,
            info.name,
            offer.min_gb,
            offer.max_gb,
            v.size_gb
        );
    }
    Ok(())
}

/// What the spec asks of the account, group by group, for the provider's
/// `check-limits`.
pub fn demands(spec: &ClusterSpec) -> Vec<Demand> {
    spec.nodes
        .iter()
        .map(|g| Demand {
            shape: g.shape.clone(),
            count: g.count,
            volume: g.volume.map(|v| v.request()),
        })
        .collect()
}

/// Check the spec against the account's limits (the provider's `check-limits`); the
/// limits read and those that could not be, for people. A limit the plan would exceed
/// is an error naming it, what the plan needs and what is available.
pub async fn check_limits(
    engine: &PluginEngine,
    provider: &ProviderPlugin,
    spec: &ClusterSpec,
    backoff: Backoff,
) -> anyhow::Result<Vec<String>> {
    let target = target(spec);
    let demands = demands(spec);
    let report = backoff
        .retry("check the account's limits", || {
            provider.check_limits(engine, &target, &demands)
        })
        .await
        .map_err(|e| anyhow::anyhow!("checking the account's limits: {e}"))?;
    for l in &report.limits {
        anyhow::ensure!(
            l.needed <= l.available,
            "account limit {} in {}: the plan needs {} {}, {} available; nothing created (raise the limit, or ask for less)",
            l.name,
            spec.region,
            l.needed,
            l.unit,
            l.available
        );
    }
    let mut lines: Vec<String> = report
        .limits
        .iter()
        .map(|l| {
            format!(
                "account limit {}: needs {} {}, {} available",
                l.name, l.needed, l.unit, l.available
            )
        })
        .collect();
    lines.extend(
        report
            .unread
            .iter()
            .map(|u| format!("account limit not checked: {u}")),
    );
    Ok(lines)
}

/// Resolve each node group's image (an alias such as `ubuntu-24.04`, or an id) to the
/// provider's id in the spec's region, and write it into the group, so the spec (and the
/// state that records it) names ids only; each resolution as (role, image, id).
pub async fn resolve_images(
    engine: &PluginEngine,
    provider: &ProviderPlugin,
    spec: &mut ClusterSpec,
    backoff: Backoff,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let target = target(spec);
    let mut resolved = Vec::new();
    for group in &mut spec.nodes {
        let image = group.image.clone().unwrap_or_else(|| spec.image.clone());
        let id = backoff
            .retry(&format!("resolve image {image}"), || {
                provider.resolve_image(engine, &target, &image, &group.shape)
            })
            .await
            .map_err(|e| anyhow::anyhow!("role `{}`: image `{image}`: {e}", group.role))?;
        resolved.push((group.role.clone(), image, id.clone()));
        group.image = Some(id);
    }
    Ok(resolved)
}

/// The request for the nodes of `group`, named `ID-ROLE`, tagged with the cluster and
/// the role; no user data, key or open port yet.
pub fn node_request(state: &ClusterState, group: &spec::NodeGroup) -> NodeRequest {
    let mut tags = tags(&state.id);
    tags.push(KeyValue {
        key: ROLE_TAG.into(),
        value: group.role.clone(),
    });
    NodeRequest {
        name: format!("{}-{}", state.id, group.role),
        shape: group.shape.clone(),
        image: group
            .image
            .clone()
            .unwrap_or_else(|| state.spec.image.clone()),
        count: group.count,
        tags,
        user_data: Vec::new(),
        ssh_public_key: String::new(),
        ingress: Vec::new(),
        terminate_on_shutdown: false,
        volume: group.volume.map(|v| v.request()),
    }
}

/// The ingress of bare machines: each of the spec's open ports (TCP) to each source.
pub fn bare_ingress(spec: &ClusterSpec) -> Vec<IngressRule> {
    let sources = spec.sources();
    spec.open_ports()
        .into_iter()
        .flat_map(|port| {
            sources.iter().map(move |cidr| IngressRule {
                protocol: Protocol::Tcp,
                port,
                source: Source::Cidr(cidr.clone()),
            })
        })
        .collect()
}

/// The files a spec names, read: (SSH public key, user data).
pub fn read_files(spec: &ClusterSpec) -> anyhow::Result<(String, String)> {
    let read = |path: &Option<std::path::PathBuf>, what: &str| -> anyhow::Result<String> {
        let Some(path) = path else {
            return Ok(String::new());
        };
        let path = owbench_plugin::dirs::expand_home(path);
        std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {what} {}: {e}", path.display()))
    };
    Ok((
        read(&spec.ssh_public_key, "ssh_public_key")?
            .trim()
            .to_owned(),
        read(&spec.user_data, "user_data")?,
    ))
}

pub(crate) fn record(role: &str, node: &Node) -> NodeRecord {
    NodeRecord {
        role: role.to_owned(),
        id: node.id.clone(),
        name: node.name.clone(),
        shape: node.shape.clone(),
        state: node.state.clone(),
        public_ip: node.public_ip.clone(),
        private_ip: node.private_ip.clone(),
        volumes: node
            .volumes
            .iter()
            .map(|v| state::VolumeRecord {
                id: v.id.clone(),
                size_gb: v.size_gb,
                kind: v.kind.clone(),
                state: v.state.clone(),
            })
            .collect(),
    }
}

/// Create the nodes of `state.spec`, group by group, saving `state` before the first
/// create and after each one returns. On failure the state says `failed` and why.
pub async fn up(
    engine: &PluginEngine,
    provider: &ProviderPlugin,
    store: &StateStore,
    state: &mut ClusterState,
    backoff: Backoff,
) -> anyhow::Result<()> {
    let (ssh_key, user_data) = read_files(&state.spec)?;
    state.status = Status::Creating;
    store.save(state)?;
    let target = target(&state.spec);
    for group in state.spec.nodes.clone() {
        let request = NodeRequest {
            user_data: user_data.clone().into_bytes(),
            ssh_public_key: ssh_key.clone(),
            ingress: bare_ingress(&state.spec),
            ..node_request(state, &group)
        };
        let created = backoff
            .retry(&format!("create {}", request.name), || {
                provider.create_nodes(engine, &target, &request)
            })
            .await;
        match created {
            Ok(nodes) => {
                state
                    .nodes
                    .extend(nodes.iter().map(|n| record(&group.role, n)));
                store.save(state)?;
            }
            Err(e) => {
                state.status = Status::Failed;
                state.error = Some(format!("creating role `{}`: {e}", group.role));
                store.save(state)?;
                anyhow::bail!(
                    "creating role `{}` of cluster {} failed: {e}; `owbench cluster down {}` removes what was created",
                    group.role,
                    state.id,
                    state.id
                );
            }
        }
    }
    state.status = Status::Ready;
    state.error = None;
    store.save(state)?;
    Ok(())
}

/// What `down` did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Teardown {
    /// Nodes terminated (recorded or found by tag).
    pub terminated: Vec<String>,
    /// Nodes found by tag that the state did not record.
    pub untracked: Vec<String>,
    /// Other resources deleted.
    pub deleted: Vec<String>,
}

/// Remove everything of cluster `state`: recorded nodes and every node carrying its tag,
/// then its other tagged resources. Idempotent.
pub async fn down(
    engine: &PluginEngine,
    provider: &ProviderPlugin,
    store: &StateStore,
    state: &mut ClusterState,
    backoff: Backoff,
    poll: Duration,
    wait_limit: Duration,
) -> anyhow::Result<Teardown> {
    let target = target(&state.spec);
    let tags = tags(&state.id);
    state.status = Status::Deleting;
    store.save(state)?;
    let mut report = Teardown::default();
    let result: anyhow::Result<()> = async {
        let found = backoff
            .retry("list nodes", || provider.list_nodes(engine, &target, &tags))
            .await?;
        let recorded: Vec<String> = state
            .nodes
            .iter()
            .filter(|n| n.state != "terminated")
            .map(|n| n.id.clone())
            .collect();
        report.untracked = found
            .iter()
            .filter(|n| !recorded.contains(&n.id))
            .map(|n| n.id.clone())
            .collect();
        let mut ids = recorded;
        ids.extend(report.untracked.iter().cloned());
        if !ids.is_empty() {
            backoff
                .retry("terminate nodes", || {
                    provider.terminate_nodes(engine, &target, &ids)
                })
                .await?;
        }
        report.terminated = ids;
        // Wait until nothing carrying the tag is alive, then remove what they used.
        let started = std::time::Instant::now();
        loop {
            let left = backoff
                .retry("list nodes", || provider.list_nodes(engine, &target, &tags))
                .await?;
            let alive: Vec<&Node> = left.iter().filter(|n| n.state != "terminated").collect();
            if alive.is_empty() {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < wait_limit,
                "{} node(s) still not terminated after {} s: {}",
                alive.len(),
                wait_limit.as_secs(),
                alive
                    .iter()
                    .map(|n| format!("{} ({})", n.id, n.state))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            tokio::time::sleep(poll).await;
        }
        report.deleted = backoff
            .retry("delete tagged resources", || {
                provider.delete_tagged(engine, &target, &tags)
            })
            .await?;
        // An installer's cluster has a bucket with the binary its nodes downloaded.
        if state.spec.installer.is_some() {
            let bucket = deploy::bucket(&state.id);
            let objects = backoff
                .retry(&format!("delete bucket {bucket}"), || {
                    provider.delete_bucket(engine, &target, &bucket)
                })
                .await?;
            report.deleted.extend(objects);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            for n in &mut state.nodes {
                n.state = "terminated".into();
            }
            state.mark_deleted();
            state.error = None;
            store.save(state)?;
            Ok(report)
        }
        Err(e) => {
            state.error = Some(format!("down: {e:#}"));
            store.save(state)?;
            Err(e.context(format!(
                "tearing down cluster {} is unfinished; run `owbench cluster down {}` again",
                state.id, state.id
            )))
        }
    }
}

/// Refresh the recorded nodes from the provider; nodes carrying the tag that the state
/// does not record are returned apart.
pub async fn status(
    engine: &PluginEngine,
    provider: &ProviderPlugin,
    state: &mut ClusterState,
) -> Result<Vec<Node>, CallError> {
    let target = target(&state.spec);
    let ids: Vec<String> = state.nodes.iter().map(|n| n.id.clone()).collect();
    let described = provider.describe_nodes(engine, &target, &ids).await?;
    for n in &mut state.nodes {
        match described.iter().find(|d| d.id == n.id) {
            Some(d) => *n = record(&n.role, d),
            None => n.state = "terminated".into(),
        }
    }
    let found = provider
        .list_nodes(engine, &target, &tags(&state.id))
        .await?;
    Ok(found.into_iter().filter(|f| !ids.contains(&f.id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use owbench_plugin::provider::{Shape, VolumeClass};

    fn info() -> ProviderInfo {
        ProviderInfo {
            name: "cloud".into(),
            version: "0.1.0".into(),
            regions: vec!["north".into(), "south".into()],
            shapes: vec![
                Shape {
                    name: "small".into(),
                    vcpus: 2,
                    memory_mib: 4096,
                    price_per_hour: Some(0.1),
                    arch: "x86_64".into(),
                    local_nvme_gb: 0,
                },
                Shape {
                    name: "dense".into(),
                    vcpus: 8,
                    memory_mib: 65536,
                    price_per_hour: Some(1.0),
                    arch: "x86_64".into(),
                    local_nvme_gb: 1900,
                },
            ],
            volumes: vec![VolumeOffer {
                class: VolumeClass::HighIops,
                kind: "fast".into(),
                min_gb: 10,
                max_gb: 1000,
                iops: 1000,
                price_per_gb_month: Some(0.1),
                price_per_iops_month: Some(0.05),
                unavailable_in: vec!["south".into()],
            }],
        }
    }

    fn spec(region: &str, group: &str) -> ClusterSpec {
        ClusterSpec::parse(&format!(
            "name = \"c\"\nprovider = \"cloud\"\nregion = \"{region}\"\nimage = \"i\"\n[[nodes]]\nrole = \"r\"\ncount = 2\n{group}\n"
        ))
        .unwrap()
    }

    #[test]
    fn a_volume_is_priced_with_its_node_and_shown() {
        let lines = plan(
            &spec(
                "north",
                "shape = \"small\"\nvolume = { size_gb = 100, class = \"high-iops\" }",
            ),
            &info(),
        );
        // Two nodes, each 0.1 USD/h and a volume of 100 GB × 0.1 + 1000 IOPS × 0.05 a month.
        let want = 2.0 * (0.1 + (100.0 * 0.1 + 1000.0 * 0.05) / 730.0);
        assert!((lines[0].per_hour.unwrap() - want).abs() < 1e-12);
        assert_eq!(lines[0].storage.as_deref(), Some("100 GB fast"));
        assert_eq!(lines[0].data_disk, Some(DataDisk::Volume(100)));
        let nvme = plan(
            &spec("north", "shape = \"dense\"\nlocal_nvme = true"),
            &info(),
        );
        assert_eq!(nvme[0].data_disk, Some(DataDisk::LocalNvme(1900)));
        assert_eq!(nvme[0].per_hour, Some(2.0));
    }

    #[test]
    fn storage_the_provider_cannot_make_is_refused_in_one_line() {
        let refused = |region: &str, group: &str| {
            check(&spec(region, group), &info())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused(
                "south",
                "shape = \"small\"\nvolume = { size_gb = 100, class = \"high-iops\" }"
            ),
            "role `r`: provider cloud offers no `high-iops` volumes in south"
        );
        assert_eq!(
            refused(
                "north",
                "shape = \"small\"\nvolume = { size_gb = 100, class = \"ssd\" }"
            ),
            "role `r`: provider cloud offers no `ssd` volumes in north"
        );
        assert_eq!(
            refused(
                "north",
                "shape = \"small\"\nvolume = { size_gb = 5, class = \"high-iops\" }"
            ),
            "role `r`: a `high-iops` volume (fast on cloud) must be 10 to 1000 GB, not 5"
        );
        assert_eq!(
            refused("north", "shape = \"small\"\nlocal_nvme = true"),
            "role `r`: shape small has no local NVMe (on cloud: dense)"
        );
        assert!(
            check(
                &spec("south", "shape = \"dense\"\nlocal_nvme = true"),
                &info()
            )
            .is_ok()
        );
    }
}
