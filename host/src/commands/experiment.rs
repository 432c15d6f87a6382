//! `owbench experiment plan|run MATRIX`: what a matrix experiment would create, cluster by
//! cluster, and the most it can cost; and running it: each cluster up, the bench spec
//! run against it, down (also when something fails, and on Ctrl-C), and one report of
//! every cluster side by side (see [`crate::experiment`]).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt as _;

use super::cluster::InstallArgs;
use super::progress::View;
use super::{EngineArgs, HistoryArgs};
use crate::bench::spec::TargetSpec;
use crate::cluster;
use crate::cluster::spec::ClusterSpec;
use crate::cluster::state::{self, StateStore};
use crate::experiment::{Matrix, MatrixCluster};
use crate::results::experiment::{ClusterRun, Experiment};

/// `owbench experiment`.
#[derive(Debug, clap::Subcommand)]
pub enum ExperimentCommand {
    /// Check a matrix (its bench spec, its cluster specs against their providers) and
    /// print each cluster's nodes, price and most cost, and the total.
    Plan {
        /// The matrix file.
        matrix: PathBuf,
    },
    /// Run a matrix: print its plan and ask before anything is created; then for each
    /// cluster `cluster up`, the bench spec against it, `cluster down` (also when the
    /// bench fails, and on Ctrl-C); then one report of every cluster side by side.
    Run(RunArgs),
}

/// `owbench experiment run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The matrix file.
    matrix: PathBuf,
    /// Create the clusters without asking (for scripts; without a terminal to ask on,
    /// `run` refuses unless given).
    #[arg(long)]
    yes: bool,
    /// Clusters up at once (default: one after another).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    parallel: u32,
    /// The experiment's directory goes under this one (default: the bench spec's
    /// `output`): `<DIR>/<name>-<UTC time>/`, with each cluster's results under its label.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Relative changes smaller than this are "same" in the report (percent).
    #[arg(long, default_value = "5%", value_parser = super::compare::parse_percent)]
    noise: f64,
    /// No progress bar or per-second log of the benches.
    #[arg(long)]
    quiet: bool,
    /// Where cluster state files live (default: `~/.local/state/owbench/clusters`).
    #[arg(long, env = "OWBENCH_STATE_DIR")]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    install: InstallArgs,
    #[command(flatten)]
    history: HistoryArgs,
}

impl ExperimentCommand {
    /// Run the command.
    pub async fn run(&self, args: &EngineArgs) -> anyhow::Result<()> {
        match self {
            ExperimentCommand::Plan { matrix } => {
                plan(args, &Matrix::load(matrix)?).await?;
                Ok(())
            }
            ExperimentCommand::Run(run_args) => run(args, run_args).await,
        }
    }
}

/// Check the matrix's clusters against their providers and print the plan; the most it
/// all costs, when every shape is priced.
async fn plan(args: &EngineArgs, matrix: &Matrix) -> anyhow::Result<Option<f64>> {
    let engine = args.engine()?;
    let mut table = super::table::new(
        &[
            "cluster",
            "provider",
            "region",
            "nodes",
            "installer",
            "USD/hour",
            "max_hours",
            "at most USD",
        ],
        &[5, 6, 7],
    );
    let mut total = Some(0.0);
    for c in &matrix.clusters {
        let provider = super::cluster::load_provider(args, &engine, &c.spec).await?;
        cluster::check(&c.spec, provider.info())
            .map_err(|e| anyhow::anyhow!("cluster `{}` ({}): {e}", c.label, c.path.display()))?;
        let lines = cluster::plan(&c.spec, provider.info());
        let per_hour = cluster::price_per_hour(&lines);
        let most = per_hour.map(|p| p * c.spec.max_hours);
        total = total.zip(most).map(|(a, b)| a + b);
        let nodes = lines
            .iter()
            .map(|l| match &l.storage {
                Some(disk) => format!("{} × {} ({}, {disk})", l.count, l.shape, l.role),
                None => format!("{} × {} ({})", l.count, l.shape, l.role),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let money =
            |v: Option<f64>, digits: usize| v.map_or("?".into(), |v| format!("{v:.digits$}"));
        table.add_row(vec![
            c.label.clone(),
            c.spec.provider.clone(),
            c.spec.region.clone(),
            nodes,
            c.spec
                .installer
                .as_ref()
                .map_or("-".into(), |i| i.name.clone()),
            money(per_hour, 4),
            c.spec.max_hours.to_string(),
            money(most, 2),
        ]);
    }
    println!(
        "experiment {}: bench spec {} ({} workload(s), {} repetition(s)) on {} cluster(s), each up only while its bench runs",
        matrix.name,
        matrix.bench_path.display(),
        matrix.bench.workloads.len(),
        matrix.bench.runs,
        matrix.clusters.len()
    );
    super::table::print(&table);
    match total {
        Some(t) => println!(
            "at most {t:.2} USD in all: each cluster's on-demand list price over its max_hours, when its nodes power off; a cluster costs its price over the time it is up"
        ),
        None => println!("cost unknown: a provider does not price every shape (`?` above)"),
    }
    Ok(total)
}

/// Every cluster against its account's limits, before anything is created. Clusters on
/// one account and region (the same provider, region, endpoint and settings) that run at
/// once add up: with `--parallel` at least their number, their nodes are also checked
/// together; with fewer, that sum is not checked, and a line says so.
async fn check_limits(args: &EngineArgs, matrix: &Matrix, parallel: u32) -> anyhow::Result<()> {
    let engine = args.engine()?;
    let mut accounts: Vec<(ClusterSpec, Vec<&MatrixCluster>)> = Vec::new();
    for c in &matrix.clusters {
        let provider = super::cluster::load_provider(args, &engine, &c.spec).await?;
        println!("cluster `{}`:", c.label);
        super::cluster::check_limits(&engine, &provider, &c.spec)
            .await
            .map_err(|e| anyhow::anyhow!("cluster `{}` ({}): {e}", c.label, c.path.display()))?;
        let same = |s: &ClusterSpec| {
            (&s.provider, &s.region, &s.endpoint, &s.settings)
                == (
                    &c.spec.provider,
                    &c.spec.region,
                    &c.spec.endpoint,
                    &c.spec.settings,
                )
        };
        match accounts.iter_mut().find(|(s, _)| same(s)) {
            Some((together, members)) => {
                together.nodes.extend(c.spec.nodes.iter().cloned());
                members.push(c);
            }
            None => accounts.push((c.spec.clone(), vec![c])),
        }
    }
    for (together, members) in accounts.iter().filter(|(_, m)| m.len() > 1) {
        let labels = members
            .iter()
            .map(|c| format!("`{}`", c.label))
            .collect::<Vec<_>>()
            .join(", ");
        if parallel == 1 {
            continue;
        }
        if (parallel as usize) < members.len() {
            println!(
                "clusters {labels} share an account and region: up {parallel} at a time, their sum is not checked against its limits"
            );
            continue;
        }
        println!("clusters {labels}, up at once on one account and region:");
        let provider = super::cluster::load_provider(args, &engine, together).await?;
        super::cluster::check_limits(&engine, &provider, together)
            .await
            .map_err(|e| anyhow::anyhow!("clusters {labels} up at once: {e}"))?;
    }
    Ok(())
}

/// Ask on the terminal whether to go on; without one, only `--yes` goes on.
fn confirm(question: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "nothing created: no terminal to ask \"{question}\" on; give --yes to go on without asking"
    );
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    anyhow::ensure!(
        matches!(answer.trim(), "y" | "Y" | "yes"),
        "nothing created: not confirmed"
    );
    Ok(())
}

/// What every cluster's task shares.
struct Context<'a> {
    args: &'a EngineArgs,
    run: &'a RunArgs,
    matrix: &'a Matrix,
    store: StateStore,
    dir: PathBuf,
    view: Arc<View>,
    /// Set by Ctrl-C: clusters not yet started are not, and an `up` in flight stops.
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Context<'_> {
    /// Whether Ctrl-C was pressed.
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }
}

async fn run(args: &EngineArgs, run: &RunArgs) -> anyhow::Result<()> {
    let matrix = Matrix::load(&run.matrix)?;
    let total = plan(args, &matrix).await?;
    check_limits(args, &matrix, run.parallel).await?;
    let cost = total.map_or("at a cost owbench cannot price".to_owned(), |t| {
        format!("at most {t:.2} USD")
    });
    confirm(
        &format!(
            "Create {} cluster(s), {} at a time, {cost}?",
            matrix.clusters.len(),
            run.parallel
        ),
        run.yes,
    )?;
    let store = StateStore::new(run.state_dir.clone().unwrap_or_else(state::default_dir));
    let output = run.output.clone().unwrap_or(matrix.bench.output.clone());
    let dir = crate::bench::run::results_dir(&output, &matrix.name, std::time::SystemTime::now())?;
    eprintln!("experiment {}: results in {}", matrix.name, dir.display());
    let view = if run.quiet || run.parallel > 1 {
        View::Quiet
    } else if std::io::stderr().is_terminal() {
        View::Bar
    } else {
        View::Lines
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watch = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop.send(true);
            eprintln!(
                "interrupted: no further cluster is brought up; those up are brought down (Ctrl-C again quits at once, leaving them: `owbench cluster list` shows them)"
            );
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "interrupted again: quitting; clusters may be left up: `owbench cluster list`"
            );
            std::process::exit(130);
        }
    });
    let context = Context {
        args,
        run,
        matrix: &matrix,
        store,
        dir: dir.clone(),
        view: Arc::new(view),
        stop: stopped,
    };
    // Each cluster starts as soon as one before it is done, in the matrix's order; the
    // report keeps that order.
    let mut clusters: Vec<(usize, ClusterRun)> =
        futures::stream::iter(matrix.clusters.iter().enumerate())
            .map(|(i, c)| {
                let context = &context;
                async move { (i, run_cluster(context, c).await) }
            })
            .buffer_unordered(run.parallel as usize)
            .collect()
            .await;
    clusters.sort_by_key(|(i, _)| *i);
    let clusters: Vec<ClusterRun> = clusters.into_iter().map(|(_, c)| c).collect();
    watch.abort();
    let experiment = Experiment {
        name: matrix.name.clone(),
        matrix: run.matrix.clone(),
        bench: matrix.bench_path.clone(),
        noise: run.noise,
        clusters,
    };
    let markdown = experiment.markdown();
    write(&dir.join("experiment.md"), markdown.as_bytes())?;
    write(
        &dir.join("experiment.json"),
        serde_json::to_string_pretty(&experiment.json())?.as_bytes(),
    )?;
    print!("{markdown}");
    eprintln!(
        "experiment {}: {} and experiment.json",
        matrix.name,
        dir.join("experiment.md").display()
    );
    let bad: Vec<String> = experiment
        .clusters
        .iter()
        .filter(|c| c.status() != "ok")
        .map(|c| format!("{} {}", c.label, c.status()))
        .collect();
    anyhow::ensure!(
        bad.is_empty(),
        "experiment {}: {} of {} cluster(s) did not run to the end ({}); the report is in {}",
        matrix.name,
        bad.len(),
        experiment.clusters.len(),
        bad.join(", "),
        dir.display()
    );
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// One cluster of the matrix: up, the bench against it, down whatever happened.
async fn run_cluster(cx: &Context<'_>, c: &MatrixCluster) -> ClusterRun {
    let mut outcome = ClusterRun {
        label: c.label.clone(),
        spec: c.path.clone(),
        cluster: None,
        usd_per_hour: None,
        results: None,
        summary: None,
        error: None,
        down: None,
        down_error: None,
        interrupted: false,
        up_started_ms: now_ms(),
        down_ended_ms: 0,
    };
    if cx.stopped() {
        outcome.interrupted = true;
        outcome.error = Some("not started: interrupted (Ctrl-C) before its turn".into());
        return outcome;
    }
    eprintln!("experiment {}: cluster `{}` up", cx.matrix.name, c.label);
    let mut stop = cx.stop.clone();
    let up = super::cluster::up_installed(
        cx.args,
        &cx.store,
        &c.spec,
        &cx.run.install,
        &mut outcome.cluster,
    );
    let up = tokio::select! {
        r = up => r,
        // A Ctrl-C that came before `up` listened for one: `up` stops where it is.
        _ = stop.wait_for(|s| *s) => Err(anyhow::anyhow!("interrupted (Ctrl-C)")),
    };
    match up {
        Err(e) => {
            outcome.interrupted = cx.stopped();
            outcome.error = Some(format!("up: {e:#}"));
        }
        Ok(()) if cx.stopped() => {
            outcome.interrupted = true;
            outcome.error = Some("up, not benched: interrupted (Ctrl-C)".into());
        }
        Ok(()) => {
            let id = outcome
                .cluster
                .clone()
                .expect("a cluster that is up has an id");
            match bench(cx, c, &id).await {
                Ok(finished) => {
                    outcome.results = Some(finished.dir);
                    outcome.summary = Some(finished.summary);
                }
                Err(e) => outcome.error = Some(format!("bench: {e:#}")),
            }
        }
    }
    if let Some(id) = &outcome.cluster
        && cx.store.path(id).exists()
    {
        eprintln!(
            "experiment {}: cluster `{}` ({id}) down",
            cx.matrix.name, c.label
        );
        outcome.usd_per_hour = cx.store.load(id).ok().and_then(|s| s.price_per_hour);
        match super::cluster::down_known(cx.args, &cx.store, id).await {
            Ok(line) => outcome.down = Some(line),
            Err(e) => outcome.down_error = Some(format!("{e:#}")),
        }
    }
    outcome.down_ended_ms = now_ms();
    outcome
}

/// The matrix's bench spec against cluster `id`, its results under the cluster's label.
async fn bench(
    cx: &Context<'_>,
    c: &MatrixCluster,
    id: &str,
) -> anyhow::Result<crate::bench::Finished> {
    let mut spec = cx.matrix.bench.clone();
    spec.target = TargetSpec::Cluster {
        id: id.to_owned(),
        state_dir: Some(cx.store.dir().to_owned()),
    };
    spec.output = cx.dir.join(&c.label);
    let mut history = cx.run.history.open()?;
    let finished = crate::bench::run(
        &spec,
        Arc::new(cx.args.engine()?),
        &cx.args.plugin_dirs,
        cx.view.clone(),
        Some(&mut history),
        &[],
    )
    .await?;
    // Interrupted, its partial figures stay in the report, marked so.
    Ok(finished)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
