//! The loader written once for every world: [`Plugin<W>`] checks the manifest's world,
//! compiles and pre-instantiates with that world's linker, calls `describe()` under
//! limits, checks its identity, and makes the stores of later calls. A world supplies
//! only its bindings ([`PluginWorld`]) and the host interfaces it links.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{InstancePre, Linker};
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::bindings::owbench::plugin::types;
use crate::error::{CallError, first_line};
use crate::manifest::{Manifest, World};
use crate::policy::{HostRule, PolicyHooks, RequestSigner};
use crate::state::CallState;
use crate::workload::CallLimits;
use crate::{PluginEngine, PluginError};

/// Time allowed for `describe()` at load time.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// One plugin world as the host sees it: its generated bindings, what `describe()`
/// returns, and the host interfaces a plugin of this world may import. Implemented by
/// [`Workload`](crate::workload::Workload), [`Provider`](crate::provider::Provider) and
/// [`Installer`](crate::installer::Installer); sealed.
pub trait PluginWorld: sealed::Bindings {}

pub(crate) mod sealed {
    use super::*;

    /// What a world supplies to the loader (crate-private: the bindings and the store
    /// are the host's business).
    pub trait Bindings: Sized + Send + Sync + 'static {
        /// The world's name in `plugin.toml`.
        const WORLD: World;
        /// The component typed as this world, pre-instantiated (`bindgen!`'s `…Pre`).
        type Pre: Send + Sync + 'static;
        /// A live instance (`bindgen!`'s world struct).
        type Instance: Send + 'static;
        /// What `describe()` says, as the host keeps it.
        type Info: Send + Sync + 'static;

        /// Type a pre-instance as this world (fails when an export is missing or typed
        /// differently).
        fn typed(pre: InstancePre<CallState>) -> wasmtime::Result<Self::Pre>;

        /// Instantiate in `store`.
        fn instantiate(
            pre: &Self::Pre,
            store: &mut Store<CallState>,
        ) -> impl Future<Output = wasmtime::Result<Self::Instance>> + Send;

        /// Call `describe()`; the inner error says why its answer is unusable.
        fn describe(
            instance: &Self::Instance,
            store: &mut Store<CallState>,
        ) -> impl Future<Output = wasmtime::Result<Result<Self::Info, String>>> + Send;

        /// The `name` and `version` the plugin states.
        fn identity(info: &Self::Info) -> (&str, &str);

        /// Add what this world imports beyond what every world gets (WASI, `wasi:http`
        /// through the outbound policy, `host`, `types`).
        fn link(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
            let _ = linker;
            Ok(())
        }
    }
}

/// The methods of [`sealed::Bindings`] that are the same for every `bindgen!` world:
/// typing the pre-instance as `$pre`, instantiating it, and reading the identity from
/// the `name` and `version` of what `describe()` returned.
macro_rules! bindgen_world_methods {
    ($pre:ident) => {
        fn typed(
            pre: wasmtime::component::InstancePre<$crate::state::CallState>,
        ) -> wasmtime::Result<Self::Pre> {
            $pre::new(pre)
        }

        async fn instantiate(
            pre: &Self::Pre,
            store: &mut wasmtime::Store<$crate::state::CallState>,
        ) -> wasmtime::Result<Self::Instance> {
            pre.instantiate_async(store).await
        }

        fn identity(info: &Self::Info) -> (&str, &str) {
            (&info.name, &info.version)
        }
    };
}
pub(crate) use bindgen_world_methods;

/// A loaded plugin of world `W`: compiled, type-checked, described, ready to be called
/// (each call in a fresh store).
pub struct Plugin<W: PluginWorld> {
    manifest: Manifest,
    info: W::Info,
    pre: W::Pre,
    sha256: String,
}

impl<W: PluginWorld> Plugin<W> {
    /// Compile `bytes`, check it implements the world `W` that `manifest` declares, and
    /// that its `describe()` names the plugin of the manifest.
    pub async fn load(
        engine: &PluginEngine,
        manifest: Manifest,
        bytes: &[u8],
    ) -> Result<Self, PluginError> {
        Self::load_as(engine, manifest, bytes, true).await
    }

    /// [`Plugin::load`], with the identity check only when `check_identity`.
    pub(crate) async fn load_as(
        engine: &PluginEngine,
        manifest: Manifest,
        bytes: &[u8],
        check_identity: bool,
    ) -> Result<Self, PluginError> {
        let plugin = manifest.name.clone();
        let mismatch = |reason: String| PluginError::WorldMismatch {
            plugin: plugin.clone(),
            world: W::WORLD.to_string(),
            reason,
        };
        manifest
            .expect_world(W::WORLD)
            .map_err(|source| PluginError::Manifest {
                plugin: plugin.clone(),
                source,
            })?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let component = engine.compile_digested(&plugin, bytes, &sha256)?;
        let pre = engine
            .linker(W::WORLD)
            .instantiate_pre(&component)
            .and_then(W::typed)
            .map_err(|e| mismatch(first_line(&format!("{e:#}"))))?;

        let limits = CallLimits {
            memory: manifest.memory_limit,
            timeout: DESCRIBE_TIMEOUT,
        };
        let mut store = new_store(engine, CallState::minimal(limits.memory as usize), limits);
        let described = async {
            let instance = W::instantiate(&pre, &mut store).await?;
            W::describe(&instance, &mut store).await
        }
        .await
        .map_err(|e| classify(&plugin, e, store.data(), limits, ""))?;
        let info = described.map_err(|reason| mismatch(format!("describe() {reason}")))?;
        if check_identity {
            let (name, version) = W::identity(&info);
            let expected = format!("{}@{}", manifest.name, manifest.version);
            let found = format!("{name}@{version}");
            if expected != found {
                return Err(PluginError::Identity {
                    plugin,
                    expected,
                    found,
                });
            }
        }
        Ok(Plugin {
            sha256,
            manifest,
            info,
            pre,
        })
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &W::Info {
        &self.info
    }

    /// SHA-256 of the component bytes (hex), for run metadata.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The manifest's limits.
    pub fn limits(&self) -> CallLimits {
        CallLimits {
            memory: self.manifest.memory_limit,
            timeout: self.manifest.timeout,
        }
    }

    /// The typed pre-instance.
    pub(crate) fn pre(&self) -> &W::Pre {
        &self.pre
    }

    /// A fresh instance for one export call under the manifest's limits: no
    /// environment, no files, only the manifest's hosts and `extra_hosts` reachable,
    /// `signer` re-signing what goes out.
    pub(crate) async fn start(
        &self,
        engine: &PluginEngine,
        extra_hosts: &[HostRule],
        signer: Option<Arc<dyn RequestSigner>>,
    ) -> Result<(Store<CallState>, W::Instance), PluginError> {
        let policy = engine
            .policy(&self.manifest.allowed_outbound_hosts, None)
            .grant_hosts(extra_hosts);
        let mut hooks = PolicyHooks::new(policy);
        hooks.signer = signer;
        let wasi = wasmtime_wasi::WasiCtx::builder().build();
        let limits = self.limits();
        let state = CallState::new(wasi, hooks, limits.memory as usize);
        let mut store = new_store(engine, state, limits);
        match W::instantiate(&self.pre, &mut store).await {
            Ok(instance) => Ok((store, instance)),
            Err(e) => Err(classify(&self.manifest.name, e, store.data(), limits, "")),
        }
    }

    /// The outcome of an export that returns `result<T, plugin-error>`, called in a
    /// store from [`Plugin::start`]: a refused request outranks the error the guest
    /// made of it.
    pub(crate) fn finish<T>(
        &self,
        store: &Store<CallState>,
        result: wasmtime::Result<Result<T, types::PluginError>>,
    ) -> Result<T, CallError> {
        let plugin = self.manifest.name.clone();
        let denied = store
            .data()
            .hooks
            .denied
            .lock()
            .expect("denied list poisoned")
            .first()
            .cloned();
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) if let Some(denial) = denied => Err(PluginError::Denied {
                plugin,
                request: denial.request,
                reason: denial.reason,
            }
            .into()),
            Ok(Err(e)) => Err(CallError::Refused {
                plugin,
                message: e.message,
                retryable: e.retryable,
                code: e.code,
            }),
            Err(e) => Err(classify(&plugin, e, store.data(), self.limits(), "").into()),
        }
    }
}

/// A linker for world `W`: what every world gets, plus what `W` links.
pub(crate) fn linker<W: PluginWorld>(
    base: &Linker<CallState>,
) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = base.clone();
    W::link(&mut linker)?;
    Ok(linker)
}

/// A store with its memory limiter and a wall-clock deadline `limits.timeout` from now.
///
/// At every epoch tick the guest yields to the async executor (so long-running guests
/// share the runtime's threads fairly) and traps with `Interrupt` once past its deadline.
pub(crate) fn new_store(
    engine: &PluginEngine,
    mut state: CallState,
    limits: CallLimits,
) -> Store<CallState> {
    state.deadline = Instant::now() + limits.timeout;
    let mut store = Store::new(engine.engine(), state);
    store.limiter(|s| &mut s.limiter);
    store.epoch_deadline_callback(|ctx| {
        Ok(if Instant::now() >= ctx.data().deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(1)
        })
    });
    store.set_epoch_deadline(1);
    store
}

/// Turn a wasmtime error from instantiate or call into a one-line [`PluginError`].
pub(crate) fn classify(
    plugin: &str,
    e: wasmtime::Error,
    state: &CallState,
    limits: CallLimits,
    stderr: &str,
) -> PluginError {
    let plugin = plugin.to_owned();
    if state.limiter.hit {
        return PluginError::MemoryLimit {
            plugin,
            limit: limits.memory,
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginError::Timeout {
            plugin,
            limit: limits.timeout,
        },
        Some(Trap::StackOverflow) => PluginError::StackOverflow { plugin },
        Some(trap) => {
            let mut reason = trap.to_string();
            if *trap == Trap::MemoryOutOfBounds {
                // Rust and C guests keep a stack in linear memory; overflowing it wraps
                // below address 0 and lands here rather than in `StackOverflow`.
                reason += " (also what an overflow of the guest's in-memory stack looks like)";
            }
            if let Some(panic) = guest_panic(stderr) {
                reason = format!("{reason}; guest panicked: {panic}");
            }
            PluginError::Trap { plugin, reason }
        }
        None => PluginError::Trap {
            plugin,
            reason: first_line(&format!("{e:#}")),
        },
    }
}

/// The message of a Rust guest's panic, from its stderr
/// (`thread '...' panicked at src/lib.rs:1:2:\n<message>`).
fn guest_panic(stderr: &str) -> Option<String> {
    let mut lines = stderr.lines();
    lines.find(|l| l.contains("panicked at"))?;
    lines
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_guest_panic_message() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:25:24:\ntrapped on purpose\nnote: run with ...";
        assert_eq!(guest_panic(stderr).as_deref(), Some("trapped on purpose"));
        assert_eq!(guest_panic("nothing here"), None);
    }
}
