//! `owbench runtime`: OpenWhisk's action runtime protocol (`/init`, `/run` on port 8080)
//! for owbench's workload components: the entrypoint of the runtime image, so that a
//! stock OpenWhisk runs them as actions.

use std::net::SocketAddr;

use anyhow::Context as _;
use owbench_runtime::{Runtime, RuntimeConfig, memory};

use super::EngineArgs;

/// `owbench runtime`.
#[derive(Debug, clap::Args)]
pub struct RuntimeCommand {
    /// Address to listen on (OpenWhisk's invoker calls the container's port 8080).
    #[arg(long, env = "OWBENCH_RUNTIME_LISTEN", default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Linear memory of each instance, MB (default: the container's cgroup memory limit
    /// less 32 MB for the runtime; without one, the component's manifest, or 256).
    #[arg(long)]
    memory_mb: Option<u64>,
    /// Compile every built-in workload into the compiled-component cache, print what it
    /// took, and exit (the image runs this when it is built).
    #[arg(long)]
    precompile: bool,
    /// Print the address listened on as the first line of stdout (for a parent that
    /// starts the runtime on port 0, as `owbench serve --containers process` does).
    #[arg(long, hide = true)]
    print_address: bool,
    /// Take the hosts the action may reach from `/init` (owbench's own platform passes
    /// its action's `allowed-outbound-hosts` annotation; a stock OpenWhisk does not).
    #[arg(long, hide = true)]
    outbound_hosts_from_init: bool,
}

impl RuntimeCommand {
    /// Serve until the process is stopped (the invoker stops the container).
    pub async fn run(&self, engine: &EngineArgs) -> anyhow::Result<()> {
        let engine = engine.engine()?;
        let builtins = owbench_components::BUILTINS;
        if self.precompile {
            if engine.config().cache_dir.is_none() {
                anyhow::bail!("--precompile fills the compiled-component cache: drop --no-cache");
            }
            for (name, took) in owbench_runtime::precompile(&engine, &builtins).await? {
                println!("{name}: compiled in {:.2} s", took.as_secs_f64());
            }
            return Ok(());
        }
        let mut config = RuntimeConfig::new(builtins);
        config.outbound_hosts_from_init = self.outbound_hosts_from_init;
        config.memory_limit = match self.memory_mb {
            Some(0) => anyhow::bail!("--memory-mb must be at least 1"),
            Some(mb) => Some(mb << 20),
            None => memory::cgroup_limit().map(memory::instance_limit),
        };
        // Nothing else is printed on start: the invoker reads this process's stdout and
        // stderr as the logs of the activations, and finds the port by trying it.
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen))?;
        if self.print_address {
            println!("{}", listener.local_addr()?);
        }
        owbench_runtime::serve(listener, Runtime::new(engine, config))
            .await
            .context("the runtime's HTTP server stopped")
    }
}
