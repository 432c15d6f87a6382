//! `owbench experiment plan MATRIX`: what a matrix experiment would create, cluster by
//! cluster, and the most it can cost (see [`crate::experiment`]).

use std::path::PathBuf;

use crate::cluster;
use crate::commands::EngineArgs;
use crate::experiment::Matrix;

/// `owbench experiment`.
#[derive(Debug, clap::Subcommand)]
pub enum ExperimentCommand {
    /// Check a matrix (its bench spec, its cluster specs against their providers) and
    /// print each cluster's nodes, price and most cost, and the total.
    Plan {
        /// The matrix file.
        matrix: PathBuf,
    },
}

impl ExperimentCommand {
    /// Run the command.
    pub async fn run(&self, args: &EngineArgs) -> anyhow::Result<()> {
        match self {
            ExperimentCommand::Plan { matrix } => plan(args, matrix).await,
        }
    }
}

async fn plan(args: &EngineArgs, path: &std::path::Path) -> anyhow::Result<()> {
    let matrix = Matrix::load(path)?;
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
            .map(|l| format!("{} × {} ({})", l.count, l.shape, l.role))
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
    Ok(())
}
