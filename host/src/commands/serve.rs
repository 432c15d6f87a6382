//! `owbench serve`: the embedded OpenWhisk-compatible platform on loopback.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::EngineArgs;
use crate::platform::{Containers, GUEST_KEY, Platform, PlatformConfig, serve};

/// Options of the embedded platform, shared by `serve` and `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlatformArgs {
    /// Where the platform keeps its database (default: `$XDG_DATA_HOME/owbench/platform`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Namespace throttle: invocations per wall-clock minute (OpenWhisk's stock value is 60).
    #[arg(long, default_value_t = 6_000_000)]
    pub invocations_per_minute: u32,
    /// Namespace throttle: activations in flight (OpenWhisk's stock value is 30).
    #[arg(long, default_value_t = 10_000)]
    pub concurrent_invocations: u32,
    /// Memory for warm instances, MB (OpenWhisk's invoker `user-memory`).
    #[arg(long, default_value_t = 16_384)]
    pub user_memory_mb: u64,
    /// Seconds an idle warm instance is kept (OpenWhisk's `idle-container`: 600).
    #[arg(long, default_value_t = 600)]
    pub keep_alive_s: u64,
    /// Most activation records kept in the database.
    #[arg(long, default_value_t = 100_000)]
    pub max_activations: u64,
    /// An accepted key, `NAMESPACE=UUID:KEY` (repeatable, or comma-separated in
    /// `OWBENCH_AUTH`, which keeps keys off the command line; default: the guest key).
    #[arg(
        long = "auth",
        value_name = "NAMESPACE=UUID:KEY",
        env = "OWBENCH_AUTH",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub keys: Vec<String>,
    /// Where warm instances run: in this process, or one `owbench runtime` process
    /// each, driven as OpenWhisk's invoker drives action containers.
    #[arg(long, value_enum, default_value_t = Containers::InProcess)]
    pub containers: Containers,
}

impl PlatformArgs {
    /// The platform configuration with its database at `db_path`.
    pub fn config(&self, db_path: PathBuf) -> anyhow::Result<PlatformConfig> {
        let mut config = PlatformConfig::new(db_path);
        config.invocations_per_minute = self.invocations_per_minute;
        config.concurrent_invocations = self.concurrent_invocations;
        config.user_memory_mb = self.user_memory_mb;
        config.keep_alive = Duration::from_secs(self.keep_alive_s);
        config.max_activations = self.max_activations;
        config.containers = self.containers;
        if !self.keys.is_empty() {
            config.keys = self
                .keys
                .iter()
                .map(|k| parse_key(k))
                .collect::<anyhow::Result<_>>()?;
        }
        Ok(config)
    }

    /// The database path: `--data-dir` or the XDG data directory.
    pub fn db_path(&self) -> anyhow::Result<PathBuf> {
        let dir = match &self.data_dir {
            Some(d) => d.clone(),
            None => data_home()
                .context("cannot find a data directory: set --data-dir or HOME")?
                .join("owbench/platform"),
        };
        Ok(dir.join("platform.sqlite"))
    }
}

fn parse_key(spec: &str) -> anyhow::Result<(String, String)> {
    let (ns, key) = spec
        .split_once('=')
        .with_context(|| format!("--auth `{spec}`: expected NAMESPACE=UUID:KEY"))?;
    if ns.is_empty() || !key.contains(':') {
        anyhow::bail!("--auth `{spec}`: expected NAMESPACE=UUID:KEY");
    }
    Ok((ns.to_owned(), key.to_owned()))
}

/// `$XDG_DATA_HOME`, or `~/.local/share`.
pub fn data_home() -> Option<PathBuf> {
    owbench_plugin::dirs::xdg("XDG_DATA_HOME", ".local/share")
}

/// `owbench serve`.
#[derive(Debug, clap::Args)]
pub struct ServeCommand {
    /// Address to listen on (loopback by default; the API has basic auth only, and TLS
    /// only with `--tls-cert`).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port (OpenWhisk standalone's is 3233; 0 picks a free one).
    #[arg(long, default_value_t = 3233)]
    port: u16,
    /// Serve HTTPS with this certificate (PEM; with `--tls-key`).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[command(flatten)]
    platform: PlatformArgs,
}

impl ServeCommand {
    /// Serve until Ctrl-C.
    pub async fn run(&self, engine: &EngineArgs) -> anyhow::Result<()> {
        let config = self.platform.config(self.platform.db_path()?)?;
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                let read = |path: &PathBuf| {
                    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
                };
                let config = crate::tls::server(&read(cert)?, &read(key)?)
                    .with_context(|| format!("--tls-cert {}", cert.display()))?;
                Some(Arc::new(config))
            }
            _ => None,
        };
        let db = config.db_path.clone();
        let engine = Arc::new(engine.engine()?);
        let platform = Arc::new(Platform::new(config, engine)?);
        let server = serve(platform, SocketAddr::new(self.host, self.port), tls).await?;
        eprintln!(
            "owbench serve: OpenWhisk API on {} (database {})",
            server.url(),
            db.display()
        );
        let auth = if self.platform.keys.is_empty() {
            GUEST_KEY
        } else {
            "<a key given with --auth>"
        };
        eprintln!(
            "  wsk property set --apihost '{}' --auth '{auth}'",
            server.url()
        );
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C")?,
            r = async { server.wait().await } => return r,
        }
        Ok(())
    }
}
