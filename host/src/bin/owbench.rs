//! The `owbench` command line: parses arguments, runs a command, maps errors to exit codes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use owbench::commands::{
    EngineArgs, bench::BenchCommand, cluster::ClusterCommand, compare::CompareCommand,
    data::DataCommand, experiment::ExperimentCommand, plugin::PluginCommand, report::ReportCommand,
    runs::RunsCommand, runtime::RuntimeCommand, serve::ServeCommand, workload::WorkloadCommand,
};
use owbench::results::threshold::{EXIT_THRESHOLD, ThresholdsFailed};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Benchmark serverless platforms (Apache OpenWhisk first) with WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "owbench", version, about)]
struct Cli {
    #[command(flatten)]
    engine: EngineArgs,
    /// More log lines on stderr (`-v` info, `-vv` debug); `RUST_LOG` takes precedence.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List and run workloads.
    #[command(subcommand)]
    Workload(WorkloadCommand),
    /// Run an experiment against OpenWhisk (default: the embedded platform).
    Bench(BenchCommand),
    /// Serve the embedded OpenWhisk-compatible platform (REST API v1, `wasm` actions).
    Serve(ServeCommand),
    /// The run history.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// A recorded run's report (HTML, Markdown, JSON or text).
    Report(ReportCommand),
    /// Compare two recorded runs, figure by figure, with confidence intervals.
    Compare(CompareCommand),
    /// Generate the data sets heavy workloads read.
    #[command(subcommand)]
    Data(DataCommand),
    /// Machines from a cloud provider plugin: up, status, down, list.
    Cluster(ClusterCommand),
    /// Matrix experiments: one bench spec on several clusters (`plan` so far).
    #[command(subcommand)]
    Experiment(ExperimentCommand),
    /// OpenWhisk's action runtime (`/init`, `/run`) for owbench's components: the
    /// entrypoint of the runtime image a stock OpenWhisk runs them with.
    Runtime(RuntimeCommand),
    /// Plugin packages: pack, install (verified, with your grant), list, inspect, remove.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(&anyhow::Error::from(e).context("failed to start the async runtime"));
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Workload(cmd) => cmd.run(&cli.engine).await,
            Command::Serve(cmd) => cmd.run(&cli.engine).await,
            Command::Plugin(cmd) => cmd.run(&cli.engine).await,
            Command::Bench(cmd) => cmd.run(&cli.engine).await,
            Command::Runs(cmd) => cmd.run().await,
            Command::Report(cmd) => cmd.run().await,
            Command::Compare(cmd) => cmd.run().await,
            Command::Data(cmd) => cmd.run().await,
            Command::Cluster(cmd) => cmd.run(&cli.engine).await,
            Command::Experiment(cmd) => cmd.run(&cli.engine).await,
            Command::Runtime(cmd) => cmd.run(&cli.engine).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Log lines go to stderr: owbench's warnings and errors by default, more with `-v`
/// (`-vv` adds the libraries' own, such as the AWS SDK's), or what `RUST_LOG` says.
fn init_logs(verbose: u8) {
    const OURS: [&str; 5] = [
        "owbench",
        "owbench_plugin",
        "owbench_activation",
        "owbench_openwhisk",
        "owbench_runtime",
    ];
    let (ours, others) = match verbose {
        0 => ("warn", "off"),
        1 => ("info", "off"),
        _ => ("debug", "warn"),
    };
    let default = std::iter::once(others.to_owned())
        .chain(OURS.iter().map(|c| format!("{c}={ours}")))
        .collect::<Vec<_>>()
        .join(",");
    // `RUST_LOG` takes `target=level` directives (`Targets`: no span or field filters,
    // which owbench does not use, and no regex engine in the build).
    let filter = match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => text.parse::<Targets>().unwrap_or_else(|e| {
            eprintln!("warning: ignoring RUST_LOG `{text}` ({e}): give target=level directives, such as `warn,owbench=debug`");
            default.parse().expect("the default log directives parse")
        }),
        _ => default.parse().expect("the default log directives parse"),
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        );
    tracing_subscriber::registry().with(fmt).with(filter).init();
}

/// Print the error and its causes on one line; a closed stdout (`| head`) is not a
/// failure; a `--fail-if` threshold that held exits with status 3.
fn fail(e: &anyhow::Error) -> ExitCode {
    if let Some(t) = e.downcast_ref::<ThresholdsFailed>() {
        eprintln!("error: {t}");
        return ExitCode::from(EXIT_THRESHOLD);
    }
    if e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    let causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    eprintln!("error: {}", causes.join(": "));
    ExitCode::FAILURE
}
