//! The `owbench` command line: parses arguments, runs a command, maps errors to exit codes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use owbench::commands::{
    EngineArgs, bench::BenchCommand, serve::ServeCommand, workload::WorkloadCommand,
};

/// Benchmark serverless platforms (Apache OpenWhisk first) with WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "owbench", version, about)]
struct Cli {
    #[command(flatten)]
    engine: EngineArgs,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            Command::Bench(cmd) => cmd.run(&cli.engine).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Print the error and its causes on one line; a closed stdout (`| head`) is not a failure.
fn fail(e: &anyhow::Error) -> ExitCode {
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
