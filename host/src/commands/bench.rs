//! `owbench bench [SPEC.toml]`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use super::progress::View;
use super::{EngineArgs, HistoryArgs};
use crate::bench::spec::TargetSpec;
use crate::bench::{self, DEFAULT_SPEC, Spec};
use crate::platform::Containers;
use crate::results::threshold::{self, Threshold};

/// Run an experiment (with no spec: the seed's concurrency experiment on the embedded
/// platform) and write its results directory.
#[derive(Debug, clap::Args)]
pub struct BenchCommand {
    /// The experiment spec (TOML). Default: four seed workloads, 1000 invocations each,
    /// all at once, on the embedded platform.
    spec: Option<PathBuf>,
    /// Results go under this directory (overrides the spec's `output`).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Repetitions (overrides the spec's `runs`).
    #[arg(long)]
    runs: Option<u32>,
    /// Invocations per workload (overrides the spec's `count`).
    #[arg(long)]
    count: Option<u64>,
    /// The system under test, instead of the spec's `[target]`: `embedded`, or
    /// `cluster:ID` (the OpenWhisk `owbench cluster up` set up; its key and pinned
    /// certificate come from the cluster's state).
    #[arg(long, value_name = "TARGET", value_parser = parse_target)]
    target: Option<TargetSpec>,
    /// Where the embedded platform runs warm instances (overrides the spec's
    /// `target.containers`): `in-process`, or `process` (one `owbench runtime` process
    /// each, driven as OpenWhisk's invoker drives containers).
    #[arg(long, value_enum)]
    containers: Option<Containers>,
    /// No progress bar or per-second log.
    #[arg(long)]
    quiet: bool,
    /// Exit with status 3 if a threshold holds for the median across repetitions of any
    /// workload, e.g. `p99>500ms`, `error_rate>1%`, `matmul:throughput<100/s`
    /// (repeatable). Figures: throughput, p50, p90, p99, duration_p50, overhead_p50,
    /// cold_ratio, error_rate.
    #[arg(long = "fail-if", value_name = "THRESHOLD")]
    fail_if: Vec<String>,
    #[command(flatten)]
    history: HistoryArgs,
    /// Print the default spec and exit.
    #[arg(long)]
    print_default_spec: bool,
}

/// `--target`: `embedded` or `cluster:ID`.
fn parse_target(text: &str) -> Result<TargetSpec, String> {
    match text.split_once(':') {
        None if text == "embedded" => Ok(TargetSpec::default()),
        Some(("cluster", id)) => {
            crate::cluster::state::check_id(id).map_err(|e| e.to_string())?;
            Ok(TargetSpec::Cluster {
                id: id.to_owned(),
                state_dir: None,
            })
        }
        _ => Err(format!(
            "`{text}` is not a target: `embedded` or `cluster:ID` (an OpenWhisk elsewhere goes in the spec's [target])"
        )),
    }
}

impl BenchCommand {
    /// Run it.
    pub async fn run(&self, engine: &EngineArgs) -> anyhow::Result<()> {
        if self.print_default_spec {
            print!("{}", DEFAULT_SPEC.trim_start());
            return Ok(());
        }
        let thresholds = self
            .fail_if
            .iter()
            .map(|t| t.parse::<Threshold>())
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut spec = match &self.spec {
            Some(path) => Spec::load(path)?,
            None => Spec::parse(DEFAULT_SPEC).map_err(|e| anyhow::anyhow!("default spec:{e}"))?,
        };
        if let Some(o) = &self.output {
            spec.output = o.clone();
        }
        if let Some(r) = self.runs {
            anyhow::ensure!(r > 0, "--runs must be at least 1");
            spec.runs = r;
        }
        if let Some(c) = self.count {
            spec.count = Some(c);
            for w in &mut spec.workloads {
                w.count = None;
            }
        }
        if let Some(target) = &self.target {
            spec.target = target.clone();
        }
        if let Some(mode) = self.containers {
            match &mut spec.target {
                TargetSpec::Embedded { containers, .. } => *containers = mode,
                _ => anyhow::bail!(
                    "--containers applies to the embedded platform; this spec's target is not `embedded`"
                ),
            }
        }
        let mut history = self.history.open()?;
        let plugin_engine = Arc::new(engine.engine()?);
        let view = if self.quiet {
            View::Quiet
        } else if std::io::stderr().is_terminal() {
            View::Bar
        } else {
            View::Lines
        };
        let finished = bench::run(
            &spec,
            plugin_engine,
            &engine.plugin_dirs,
            Arc::new(view),
            Some(&mut history),
            &thresholds,
        )
        .await?;
        for a in &finished.answers {
            eprintln!(
                "{} (run {}): answer over {} of {} partitions in answers.json{}",
                a["workload"].as_str().unwrap_or_default(),
                a["run"].as_u64().unwrap_or(0) + 1,
                a["partitions_covered"],
                a["partitions"],
                a["error"]
                    .as_str()
                    .map_or(String::new(), |e| format!(" (reduce failed: {e})"))
            );
        }
        print!("{}", crate::results::report::text(&finished.summary));
        let id = finished
            .summary
            .meta
            .id
            .map_or(String::new(), |id| format!(" (run {id})"));
        eprintln!(
            "results{id}: {}; report: {}",
            finished.dir.display(),
            finished.dir.join("report.html").display()
        );
        if finished.interrupted {
            anyhow::bail!("interrupted; partial results in {}", finished.dir.display());
        }
        threshold::enforce(&thresholds, &finished.summary)
    }
}
