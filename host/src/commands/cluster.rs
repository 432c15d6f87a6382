//! `owbench cluster up SPEC | status ID | down ID | list`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use crate::cluster::deploy;
use crate::cluster::install::{self, Values};
use crate::cluster::spec::ClusterSpec;
use crate::cluster::state::{self, ClusterState, StateStore, Status};
use crate::cluster::{self, Backoff};
use crate::commands::EngineArgs;
use owbench_plugin::installer::{
    Audience, Cluster, DataDisk, InstallPlan, InstallerInfo, KeyValue, NodeGroup, Protocol,
};
use owbench_plugin::{PluginEngine, ProviderPlugin};

/// How `up` carries out an installer's plan.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct InstallArgs {
    /// With an installer: the owbench binary the nodes run, a Linux build for their
    /// architecture (default: this one).
    #[arg(long, value_name = "PATH")]
    pub owbench_binary: Option<PathBuf>,
    /// With an installer: wait at most this long for its health check (default: the
    /// installer's own timeout), e.g. `20m`.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub health_timeout: Option<Duration>,
}

/// Manage clusters of machines made by a provider plugin.
#[derive(Debug, clap::Args)]
pub struct ClusterCommand {
    #[command(subcommand)]
    action: ClusterAction,
    /// Where cluster state files live (default: `~/.local/state/owbench/clusters`).
    #[arg(long, env = "OWBENCH_STATE_DIR", global = true)]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum ClusterAction {
    /// Create the machines a cluster spec describes.
    Up {
        /// The cluster spec (TOML).
        spec: PathBuf,
        /// Print the plan and its cost per hour; create nothing. With an installer, its
        /// phases too (secrets, addresses and upload URLs shown as `<name>`).
        #[arg(long)]
        dry_run: bool,
        /// With `--dry-run` and an installer: write each phase's user data to
        /// `DIR/<role>.yaml` (to read, or to check with `cloud-init schema`).
        #[arg(long, value_name = "DIR", requires = "dry_run")]
        user_data_dir: Option<PathBuf>,
        #[command(flatten)]
        install: InstallArgs,
    },
    /// Show a cluster's nodes as the provider sees them now.
    Status {
        /// Cluster id.
        id: String,
    },
    /// Remove everything of a cluster (recorded nodes, nodes found by its tag, their
    /// firewall rules and keys); safe to repeat.
    Down {
        /// Cluster id.
        id: String,
        /// When the cluster's state file is gone (deleted, or made on another machine):
        /// the spec it was made from, whose provider, region, endpoint and settings are
        /// swept for resources carrying the id's tag.
        #[arg(long)]
        spec: Option<PathBuf>,
    },
    /// List known clusters, with their age and what they cost so far at list prices.
    List,
    /// Print a `.wskprops` for the OpenWhisk an installer set up (`wsk` reads it from
    /// `~/.wskprops` or `WSK_CONFIG_FILE`).
    Wskprops {
        /// Cluster id.
        id: String,
    },
}

impl ClusterCommand {
    /// Run it.
    pub async fn run(&self, args: &EngineArgs) -> anyhow::Result<()> {
        let store = StateStore::new(self.state_dir.clone().unwrap_or_else(state::default_dir));
        match &self.action {
            ClusterAction::Up {
                spec,
                dry_run,
                user_data_dir,
                install,
            } => {
                up(
                    args,
                    &store,
                    spec,
                    *dry_run,
                    user_data_dir.as_deref(),
                    install,
                )
                .await
            }
            ClusterAction::Status { id } => status(args, &store, id).await,
            ClusterAction::Down { id, spec } => down(args, &store, id, spec.as_deref()).await,
            ClusterAction::List => list(&store),
            ClusterAction::Wskprops { id } => wskprops(&store, id),
        }
    }
}

/// The engine and the spec's provider, allowed to reach the spec's endpoint.
async fn provider(
    args: &EngineArgs,
    spec: &ClusterSpec,
) -> anyhow::Result<(PluginEngine, ProviderPlugin)> {
    let engine = args.engine()?;
    let provider = load_provider(args, &engine, spec).await?;
    Ok((engine, provider))
}

/// The spec's provider in `engine`, allowed to reach the spec's endpoint.
pub(crate) async fn load_provider(
    args: &EngineArgs,
    engine: &PluginEngine,
    spec: &ClusterSpec,
) -> anyhow::Result<ProviderPlugin> {
    let mut provider = crate::providers::load(engine, &spec.provider, &args.plugin_dirs).await?;
    if let Some(endpoint) = &spec.endpoint {
        provider
            .allow_endpoint(endpoint)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(provider)
}

async fn up(
    args: &EngineArgs,
    store: &StateStore,
    path: &std::path::Path,
    dry_run: bool,
    user_data_dir: Option<&std::path::Path>,
    install_args: &InstallArgs,
) -> anyhow::Result<()> {
    let spec = ClusterSpec::load(path)?;
    let (engine, provider) = provider(args, &spec).await?;
    cluster::check(&spec, provider.info())?;
    cluster::read_files(&spec)?;
    let lines = cluster::plan(&spec, provider.info());
    let mut table = super::table::new(
        &[
            "role",
            "nodes",
            "shape",
            "vCPUs",
            "memory",
            "data disk",
            "USD/hour",
        ],
        &[1, 3, 4, 6],
    );
    for l in &lines {
        let (cpus, mem) = l
            .size
            .map(|(c, m)| (c.to_string(), format!("{} GiB", m / 1024)))
            .unwrap_or(("?".into(), "?".into()));
        let price = l
            .per_hour
            .map(|p| format!("{p:.4}"))
            .unwrap_or_else(|| "?".into());
        table.add_row(vec![
            l.role.clone(),
            l.count.to_string(),
            l.shape.clone(),
            cpus,
            mem,
            l.storage.clone().unwrap_or_else(|| "boot disk".into()),
            price,
        ]);
    }
    let total = cluster::price_per_hour(&lines);
    super::table::print(&table);
    // With an installer the nodes power themselves off after max_hours: the most it costs.
    let bound = |t: f64| match spec.installer {
        Some(_) => format!(
            ", at most {:.2} USD before they power off after max_hours = {}",
            t * spec.max_hours,
            spec.max_hours
        ),
        None => String::new(),
    };
    match total {
        Some(t) => println!(
            "{} nodes on {} in {}: {t:.4} USD per hour (on-demand list prices){}",
            spec.node_count(),
            spec.provider,
            spec.region,
            bound(t)
        ),
        None => println!(
            "{} nodes on {} in {}: cost unknown (the provider does not price every shape)",
            spec.node_count(),
            spec.provider,
            spec.region
        ),
    }
    if spec.installer.is_some() {
        let values = Values {
            cluster_id: "<cluster-id>".into(),
            ..Values::default()
        };
        let (info, plan) = install_plan(args, &engine, &spec, &lines, &values.cluster_id).await?;
        print_plan(&spec, &info, &plan, &values)?;
        // Every phase's user data is made (and so checked) in a dry run too.
        let mut documents = Vec::new();
        for phase in &plan.phases {
            let text = install::user_data(phase, &values, spec.max_hours).map_err(|e| {
                anyhow::anyhow!("installer {}, phase `{}`: {e}", info.name, phase.role)
            })?;
            documents.push((format!("{}.yaml", phase.role), text));
        }
        if let Some(dir) = user_data_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            for (name, text) in documents {
                let file = dir.join(name);
                std::fs::write(&file, text)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
            }
        }
        if !dry_run {
            return install_cluster(
                args,
                &engine,
                &provider,
                store,
                spec,
                &lines,
                total,
                install_args,
                &mut None,
            )
            .await;
        }
    }
    if dry_run {
        return Ok(());
    }
    check_limits(&engine, &provider, &spec).await?;
    let mut spec = spec;
    resolve_images(&engine, &provider, &mut spec).await?;
    let mut state = ClusterState::new(spec);
    state.price_per_hour = total;
    eprintln!(
        "cluster {}: state in {}",
        state.id,
        store.path(&state.id).display()
    );
    let created = tokio::select! {
        r = cluster::up(&engine, &provider, store, &mut state, Backoff::default()) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    match created {
        Some(Ok(())) => {
            print_nodes(&state);
            println!("cluster {} is up", state.id);
            Ok(())
        }
        Some(Err(e)) => Err(e),
        None => Err(interrupted(store, &mut state)),
    }
}

/// Check the spec against the account's limits (see [`cluster::check_limits`]), saying
/// what was checked.
pub(crate) async fn check_limits(
    engine: &PluginEngine,
    provider: &ProviderPlugin,
    spec: &ClusterSpec,
) -> anyhow::Result<()> {
    for line in cluster::check_limits(engine, provider, spec, Backoff::default()).await? {
        println!("{line}");
    }
    Ok(())
}

/// Resolve the spec's images in its region (see [`cluster::resolve_images`]), saying
/// what each alias is.
async fn resolve_images(
    engine: &PluginEngine,
    provider: &ProviderPlugin,
    spec: &mut ClusterSpec,
) -> anyhow::Result<()> {
    for (role, image, id) in
        cluster::resolve_images(engine, provider, spec, Backoff::default()).await?
    {
        if image != id {
            println!("role {role}: image {image} is {id} in {}", spec.region);
        }
    }
    Ok(())
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}

/// Record that `up` was interrupted (Ctrl-C): the error that says how to clean up.
fn interrupted(store: &StateStore, state: &mut ClusterState) -> anyhow::Error {
    state.status = Status::Interrupted;
    state.error = Some("interrupted (Ctrl-C)".into());
    if let Err(e) = store.save(state) {
        return e;
    }
    anyhow::anyhow!(
        "interrupted: cluster {} is partly created; `owbench cluster down {}` removes it",
        state.id,
        state.id
    )
}

/// `cluster wskprops ID`.
fn wskprops(store: &StateStore, id: &str) -> anyhow::Result<()> {
    let state = store.load(id)?;
    let outputs = state.ready_outputs()?;
    let installer = state
        .spec
        .installer
        .as_ref()
        .map_or("", |i| i.name.as_str());
    println!(
        "# owbench cluster {id}: {installer} on {} in {}",
        state.spec.provider, state.spec.region
    );
    println!("APIHOST={}", outputs.api_host);
    println!("AUTH={}", outputs.auth);
    println!("NAMESPACE={}", outputs.namespace);
    eprintln!(
        "The API serves the cluster's own certificate (in the state file {}, `outputs.tls_cert`); `wsk` cannot pin it: give it `-i`, or trust that certificate. `owbench bench --target cluster:{id}` pins it.",
        store.path(id).display()
    );
    Ok(())
}

/// `up` of a spec with an installer for `owbench experiment run`: checked against its
/// provider and carried out as `cluster up SPEC` does, without the plan printed first.
/// The cluster's id goes to `id` as soon as its state exists, so that a failed `up` can
/// be brought down.
pub(crate) async fn up_installed(
    args: &EngineArgs,
    store: &StateStore,
    spec: &ClusterSpec,
    install_args: &InstallArgs,
    id: &mut Option<String>,
) -> anyhow::Result<()> {
    let (engine, provider) = provider(args, spec).await?;
    cluster::check(spec, provider.info())?;
    cluster::read_files(spec)?;
    let lines = cluster::plan(spec, provider.info());
    let total = cluster::price_per_hour(&lines);
    install_cluster(
        args,
        &engine,
        &provider,
        store,
        spec.clone(),
        &lines,
        total,
        install_args,
        id,
    )
    .await
}

/// The address the health check and the API are reached at instead of the nodes', for
/// tests (see [`deploy::Options::reach`]): `OWBENCH_TEST_NODE_ADDRESS` is `HOST:PORT` for
/// every cluster, or `NAME=HOST:PORT,...` per cluster spec name. Said aloud when set.
fn test_node_address(spec_name: &str) -> Option<String> {
    let value = std::env::var("OWBENCH_TEST_NODE_ADDRESS").ok()?;
    let address = if value.contains('=') {
        value.split(',').find_map(|pair| {
            let (name, address) = pair.split_once('=')?;
            (name.trim() == spec_name).then(|| address.trim().to_owned())
        })?
    } else {
        value
    };
    eprintln!(
        "OWBENCH_TEST_NODE_ADDRESS is set: the health check and the API of cluster spec `{spec_name}` go to {address}, not to the nodes (a test setting)"
    );
    Some(address)
}

/// `up` with an installer: the binary checked, the images resolved, then the plan
/// carried out (see [`deploy`]), interrupted cleanly by Ctrl-C. The cluster's id goes to
/// `id` once its state exists.
#[allow(clippy::too_many_arguments)]
async fn install_cluster(
    args: &EngineArgs,
    engine: &PluginEngine,
    provider: &ProviderPlugin,
    store: &StateStore,
    mut spec: ClusterSpec,
    lines: &[cluster::PlanLine],
    price_per_hour: Option<f64>,
    install_args: &InstallArgs,
    id: &mut Option<String>,
) -> anyhow::Result<()> {
    let binary_path = match &install_args.owbench_binary {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("cannot find this owbench binary")?,
    };
    let binary = deploy::read_binary(&binary_path, &spec, provider.info())?;
    check_limits(engine, provider, &spec).await?;
    resolve_images(engine, provider, &mut spec).await?;
    let mut state = ClusterState::new(spec);
    state.price_per_hour = price_per_hour;
    let (info, plan) = install_plan(args, engine, &state.spec, lines, &state.id).await?;
    *id = Some(state.id.clone());
    state.installer_version = Some(info.version.clone());
    eprintln!(
        "cluster {}: state in {}",
        state.id,
        store.path(&state.id).display()
    );
    let options = deploy::Options {
        health_timeout: install_args.health_timeout,
        address_timeout: Duration::from_secs(600),
        reach: test_node_address(&state.spec.name),
        backoff: Backoff::default(),
    };
    let done = tokio::select! {
        r = deploy::install(engine, provider, store, &mut state, &plan, binary, &options) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    match done {
        Some(Ok(())) => {
            print_nodes(&state);
            let outputs = state.outputs.as_ref().expect("a ready cluster has outputs");
            println!(
                "cluster {} is up: OpenWhisk API {} (namespace {})",
                state.id, outputs.api_host, outputs.namespace
            );
            println!(
                "  owbench bench SPEC --target cluster:{}    owbench cluster wskprops {}    owbench cluster down {}",
                state.id, state.id, state.id
            );
            Ok(())
        }
        Some(Err(e)) => Err(e),
        None => Err(interrupted(store, &mut state)),
    }
}

/// The spec's installer, loaded, and its plan for the spec's nodes (`lines`: the
/// provider's plan of them, with their shapes' sizes), checked.
async fn install_plan(
    args: &EngineArgs,
    engine: &PluginEngine,
    spec: &ClusterSpec,
    lines: &[cluster::PlanLine],
    id: &str,
) -> anyhow::Result<(InstallerInfo, InstallPlan)> {
    let installer = spec.installer.as_ref().expect("a spec with an installer");
    let plugin = crate::installers::load(engine, &installer.name, &args.plugin_dirs).await?;
    let cluster = Cluster {
        id: id.to_owned(),
        provider: spec.provider.clone(),
        groups: lines
            .iter()
            .map(|l| NodeGroup {
                role: l.role.clone(),
                count: l.count,
                shape: l.shape.clone(),
                vcpus: l.size.map(|(cpus, _)| cpus),
                memory_mib: l.size.map(|(_, mib)| mib),
                arch: l.arch.clone(),
                data_disk: l.data_disk.map(|d| match d {
                    cluster::DataDisk::Volume(gb) => DataDisk::Volume(gb),
                    cluster::DataDisk::LocalNvme(gb) => DataDisk::LocalNvme(gb),
                }),
            })
            .collect(),
    };
    let settings: Vec<KeyValue> = installer
        .settings()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .into_iter()
        .map(|(key, value)| KeyValue { key, value })
        .collect();
    let info = plugin.info().clone();
    install::check_roles(spec, &info).map_err(|e| anyhow::anyhow!("{e}"))?;
    let plan = plugin.plan(engine, &cluster, &settings).await?;
    install::check_plan(spec, &info, &plan).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((info, plan))
}

/// Print an installer's phases, uploads, health check and outputs, placeholders filled
/// from `values`.
fn print_plan(
    spec: &ClusterSpec,
    info: &InstallerInfo,
    plan: &InstallPlan,
    values: &Values,
) -> anyhow::Result<()> {
    let fill = |text: &str| {
        values
            .fill(text)
            .map_err(|e| anyhow::anyhow!("installer {}: {e}", info.name))
    };
    println!(
        "installer {} {}: {}",
        info.name, info.version, info.description
    );
    let mut table = super::table::new(&["phase", "role", "port", "open to", "for"], &[0]);
    for (i, phase) in plan.phases.iter().enumerate() {
        for rule in &phase.ingress {
            let to = match rule.audience {
                Audience::Clients => spec.allowed_cidrs.join(", "),
                Audience::Cluster => "the cluster's nodes".to_owned(),
            };
            table.add_row(vec![
                (i + 1).to_string(),
                phase.role.clone(),
                format!("{}/{}", protocol_name(rule.protocol), rule.port),
                to,
                rule.purpose.clone(),
            ]);
        }
    }
    super::table::print(&table);
    if !plan.artifacts.is_empty() {
        println!(
            "uploads for the nodes: {} (this owbench binary)",
            plan.artifacts.join(", ")
        );
    }
    let check = &plan.health_check;
    println!(
        "ready when GET {} answers {}{} within {} s",
        fill(&check.url)?,
        check.expect_status,
        if check.expect_body.is_empty() {
            String::new()
        } else {
            format!(" with {:?}", check.expect_body)
        },
        check.timeout_secs
    );
    println!(
        "then: API host {}, namespace {}",
        fill(&plan.outputs.api_host)?,
        fill(&plan.outputs.namespace)?
    );
    if !plan.sizing.is_empty() {
        let mut table = super::table::new(&["sized for these nodes", ""], &[]);
        for kv in &plan.sizing {
            table.add_row(vec![kv.key.as_str(), kv.value.as_str()]);
        }
        super::table::print(&table);
    }
    Ok(())
}

fn print_nodes(state: &ClusterState) {
    let mut table = super::table::new(
        &[
            "node",
            "role",
            "shape",
            "state",
            "public ip",
            "private ip",
            "volumes",
        ],
        &[],
    );
    for n in &state.nodes {
        let volumes = n
            .volumes
            .iter()
            .map(|v| format!("{} {} GB {} ({})", v.id, v.size_gb, v.kind, v.state))
            .collect::<Vec<_>>()
            .join(", ");
        table.add_row(vec![
            n.id.clone(),
            n.role.clone(),
            n.shape.clone(),
            n.state.clone(),
            n.public_ip.clone().unwrap_or_else(|| "-".into()),
            n.private_ip.clone().unwrap_or_else(|| "-".into()),
            if volumes.is_empty() {
                "-".into()
            } else {
                volumes
            },
        ]);
    }
    super::table::print(&table);
}

async fn status(args: &EngineArgs, store: &StateStore, id: &str) -> anyhow::Result<()> {
    let mut state = store.load(id)?;
    let (engine, provider) = provider(args, &state.spec).await?;
    let untracked = cluster::status(&engine, &provider, &mut state).await?;
    store.save(&mut state)?;
    println!(
        "cluster {} ({} in {}): {}",
        state.id,
        state.spec.provider,
        state.spec.region,
        state.status.as_str()
    );
    if let Some(e) = &state.error {
        println!("last error: {e}");
    }
    print_nodes(&state);
    for n in &untracked {
        println!(
            "untracked node {} ({}) carries the cluster's tag; `down` removes it",
            n.id, n.state
        );
    }
    Ok(())
}

async fn down(
    args: &EngineArgs,
    store: &StateStore,
    id: &str,
    spec: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let mut state = match (store.load(id), spec) {
        (Ok(state), _) => state,
        (Err(e), None) if !store.path(id).exists() => {
            anyhow::bail!("{e}; to sweep its resources by tag anyway, add --spec SPEC")
        }
        (Err(e), None) => return Err(e),
        (Err(_), Some(path)) => {
            let spec = ClusterSpec::load(path)?;
            eprintln!(
                "no state for cluster {id}: sweeping {} in {} for resources tagged owbench-cluster={id}",
                spec.provider, spec.region
            );
            ClusterState::with_id(id, spec)?
        }
    };
    println!("{}", take_down(args, store, &mut state).await?);
    Ok(())
}

/// `down` of a cluster known by its state file, for `owbench experiment run`: what it
/// removed, in one line.
pub(crate) async fn down_known(
    args: &EngineArgs,
    store: &StateStore,
    id: &str,
) -> anyhow::Result<String> {
    let mut state = store.load(id)?;
    take_down(args, store, &mut state).await
}

/// Remove everything of the cluster `state` describes; what was removed, in one line.
async fn take_down(
    args: &EngineArgs,
    store: &StateStore,
    state: &mut ClusterState,
) -> anyhow::Result<String> {
    let (engine, provider) = provider(args, &state.spec).await?;
    let report = cluster::down(
        &engine,
        &provider,
        store,
        state,
        Backoff::default(),
        Duration::from_secs(5),
        Duration::from_secs(900),
    )
    .await?;
    Ok(format!(
        "cluster {} is down: {} node(s) terminated ({} found only by tag), {} other resource(s) deleted{}",
        state.id,
        report.terminated.len(),
        report.untracked.len(),
        report.deleted.len(),
        if report.deleted.is_empty() {
            String::new()
        } else {
            format!(": {}", report.deleted.join(", "))
        }
    ))
}

fn list(store: &StateStore) -> anyhow::Result<()> {
    let states = store.list()?;
    if states.is_empty() {
        println!("no clusters");
        return Ok(());
    }
    let mut table = super::table::new(
        &[
            "id",
            "provider",
            "region",
            "status",
            "nodes",
            "created",
            "age",
            "USD so far",
        ],
        &[4, 6, 7],
    );
    let now = std::time::SystemTime::now();
    for s in states {
        let age = s.age(now).map_or_else(
            || "?".to_owned(),
            |a| {
                humantime::format_duration(std::time::Duration::from_secs(a.as_secs() / 60 * 60))
                    .to_string()
            },
        );
        let cost = s
            .cost_so_far(now)
            .map_or_else(|| "?".to_owned(), |c| format!("{c:.2}"));
        table.add_row(vec![
            s.id.clone(),
            s.spec.provider.clone(),
            s.spec.region.clone(),
            s.status.as_str().to_owned(),
            s.nodes.len().to_string(),
            s.created_at.to_string(),
            age,
            cost,
        ]);
    }
    super::table::print(&table);
    Ok(())
}
