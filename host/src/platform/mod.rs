//! The embedded default platform (`owbench serve`): OpenWhisk's REST API v1 on loopback,
//! running `wasm` actions (workload components) in the plugin engine.
//!
//! - [`api`]: the HTTP routes, authentication, error bodies.
//! - [`actions`]: action documents and their runnable entries.
//! - [`invoker`]: one activation, from the pool to the record.
//! - [`pool`]: warm instances, cold starts, keep-alive, waiting for memory.
//! - [`container`]: what a warm instance is: in-process, or a runtime process
//!   ([`process`]) driven as OpenWhisk's invoker drives a container.
//! - [`throttle`]: namespace limits (invocations per minute, concurrent invocations).
//! - [`store`]: SQLite persistence with a retention bound.
//! - [`ids`]: activation and transaction ids.

pub mod actions;
pub mod api;
pub mod container;
pub mod ids;
pub mod invoker;
pub mod pool;
pub mod process;
pub mod store;
pub mod throttle;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actions::ActionEntry;
pub use container::Containers;
use owbench_plugin::PluginEngine;
use pool::ContainerPool;
use store::Store;
use throttle::Throttles;

/// OpenWhisk's default guest key (standalone, ansible, Helm).
pub const GUEST_KEY: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// How the platform is set up.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// SQLite database file.
    pub db_path: PathBuf,
    /// `(namespace, "uuid:key")` pairs accepted by basic auth.
    pub keys: Vec<(String, String)>,
    /// Namespace throttle: invocations per wall-clock minute.
    pub invocations_per_minute: u32,
    /// Namespace throttle: activations in flight.
    pub concurrent_invocations: u32,
    /// Memory for instances, MB (OpenWhisk's `user-memory`).
    pub user_memory_mb: u64,
    /// How long an idle warm instance is kept.
    pub keep_alive: Duration,
    /// Most activation records kept.
    pub max_activations: u64,
    /// Longest a blocking invoke waits before answering 202.
    pub max_blocking_wait: Duration,
    /// Where warm instances run: in this process, or one runtime process each.
    pub containers: Containers,
    /// The `owbench` binary process containers run (`None`: this executable).
    pub runtime_program: Option<PathBuf>,
}

impl PlatformConfig {
    /// Defaults sized for benchmarking on one machine, with the database at `db_path`.
    ///
    /// The throttles are far above OpenWhisk's stock 60/min and 30 concurrent (which
    /// would turn a load test into a test of 429s); set them to those values to mimic a
    /// default deployment.
    pub fn new(db_path: PathBuf) -> PlatformConfig {
        PlatformConfig {
            db_path,
            keys: vec![("guest".into(), GUEST_KEY.into())],
            invocations_per_minute: 6_000_000,
            concurrent_invocations: 10_000,
            user_memory_mb: 16_384,
            keep_alive: Duration::from_secs(600),
            max_activations: 100_000,
            max_blocking_wait: Duration::from_secs(60),
            containers: Containers::InProcess,
            runtime_program: None,
        }
    }
}

/// The platform: actions, the pool, the store.
pub struct Platform {
    config: PlatformConfig,
    engine: Arc<PluginEngine>,
    store: Store,
    actions: RwLock<HashMap<(String, String), Arc<ActionEntry>>>,
    pool: ContainerPool,
    throttles: Throttles,
    /// The program process containers run (`None`: instances run in this process).
    runtime_program: Option<PathBuf>,
}

impl Platform {
    /// Open the database and load the stored actions.
    pub fn new(config: PlatformConfig, engine: Arc<PluginEngine>) -> anyhow::Result<Platform> {
        let store = Store::open(&config.db_path, config.max_activations).map_err(|e| {
            e.context(format!(
                "cannot open the platform database {}",
                config.db_path.display()
            ))
        })?;
        let mut actions = HashMap::new();
        for (ns, doc) in store.actions()? {
            match ActionEntry::from_doc(ns.clone(), doc) {
                Ok(entry) => {
                    actions.insert((ns, entry.name.clone()), Arc::new(entry));
                }
                Err(e) => tracing::warn!("skipping a stored action: {e}"),
            }
        }
        let runtime_program = match config.containers {
            Containers::InProcess => None,
            Containers::Process => Some(match &config.runtime_program {
                Some(program) => program.clone(),
                None => std::env::current_exe()
                    .map_err(|e| anyhow::anyhow!("cannot find owbench's own executable: {e}"))?,
            }),
        };
        Ok(Platform {
            runtime_program,
            pool: ContainerPool::new(config.user_memory_mb, config.keep_alive),
            throttles: Throttles::new(config.invocations_per_minute, config.concurrent_invocations),
            config,
            engine,
            store,
            actions: RwLock::new(actions),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    /// The container pool.
    pub fn pool(&self) -> &ContainerPool {
        &self.pool
    }

    fn action(&self, namespace: &str, name: &str) -> Option<Arc<ActionEntry>> {
        self.actions
            .read()
            .expect("actions poisoned")
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }
}

/// A running server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Whether it serves TLS.
    pub tls: bool,
    /// The platform behind it.
    pub platform: Arc<Platform>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// `http://addr`, or `https://addr` with TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stop accepting connections, wait (at most 5 s) for open ones, and commit every
    /// activation record.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
        self.task.abort();
        self.platform.store.flush().await;
    }

    /// Serve until the task ends (for `owbench serve`).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await?;
        Ok(())
    }
}

/// Bind `addr` and serve the platform on it in the background, over TLS with `tls`.
pub async fn serve(
    platform: Arc<Platform>,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> anyhow::Result<Server> {
    let listener =
        crate::net::listen(addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let addr = listener.local_addr()?;
    let app = api::router(platform.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // Idle instances past their keep-alive are dropped once a second.
    let reaper = Arc::downgrade(&platform);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            match reaper.upgrade() {
                Some(p) => {
                    p.pool.reap();
                }
                None => break,
            }
        }
    });
    let serves_tls = tls.is_some();
    let task = match tls {
        None => tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!("the API server failed: {e}");
            }
        }),
        Some(config) => tokio::spawn(serve_tls(listener, app, config, rx)),
    };
    Ok(Server {
        addr,
        tls: serves_tls,
        platform,
        shutdown: Some(tx),
        task,
    })
}

/// Accept TLS connections on `listener` and serve `app` on each (HTTP/1.1) until
/// `shutdown`, then let open connections finish their requests (as `axum::serve` does).
/// A handshake gets 10 s; a failed one ends only its connection.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    config: Arc<rustls::ServerConfig>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(
                Duration::from_secs(10),
                acceptor.accept(stream),
            )
            .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!("TLS handshake with {peer}: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake with {peer}: no answer in 10 s");
                    return;
                }
            };
            let io = hyper_util::rt::TokioIo::new(stream);
            let connection =
                hyper::server::conn::http1::Builder::new().serve_connection(io, service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
    graceful.shutdown().await;
}
