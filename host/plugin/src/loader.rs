//! What loading and calling every world's plugins share: checking the manifest's world,
//! compiling and pre-instantiating with that world's linker, stores with limits, the
//! identity check of `describe()`, and turning a trap into a one-line error.

use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline};

use crate::error::first_line;
use crate::manifest::{Manifest, World};
use crate::state::CallState;
use crate::workload::CallLimits;
use crate::{PluginEngine, PluginError};

/// Time allowed for `describe()` at load time.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Refuse a plugin whose `describe()` names another plugin than its manifest does.
pub(crate) fn check_identity(
    manifest: &Manifest,
    name: &str,
    version: &str,
) -> Result<(), PluginError> {
    let expected = format!("{}@{}", manifest.name, manifest.version);
    let found = format!("{name}@{version}");
    if expected == found {
        Ok(())
    } else {
        Err(PluginError::Identity {
            plugin: manifest.name.clone(),
            expected,
            found,
        })
    }
}

/// Check that `manifest` declares `world`, compile `bytes` and pre-instantiate it with
/// the engine's linker; `typed` makes the world's typed pre-instance (what the
/// component lacks is a [`PluginError::WorldMismatch`]).
pub(crate) fn pre_instantiate<P>(
    engine: &PluginEngine,
    manifest: &Manifest,
    world: World,
    bytes: &[u8],
    typed: impl FnOnce(wasmtime::component::InstancePre<CallState>) -> wasmtime::Result<P>,
) -> Result<P, PluginError> {
    let plugin = &manifest.name;
    manifest
        .expect_world(world)
        .map_err(|source| PluginError::Manifest {
            plugin: plugin.clone(),
            source,
        })?;
    let component = engine.compile(plugin, bytes)?;
    let mismatch = |e: wasmtime::Error| PluginError::WorldMismatch {
        plugin: plugin.clone(),
        world: world.to_string(),
        reason: first_line(&format!("{e:#}")),
    };
    let pre = engine
        .linker(world)
        .instantiate_pre(&component)
        .map_err(mismatch)?;
    typed(pre).map_err(mismatch)
}

/// A store for calling `describe()` at load time, and its limits.
pub(crate) fn describe_store(
    engine: &PluginEngine,
    manifest: &Manifest,
) -> (Store<CallState>, CallLimits) {
    let limits = CallLimits {
        memory: manifest.memory_limit,
        timeout: DESCRIBE_TIMEOUT,
    };
    let store = new_store(engine, CallState::minimal(limits.memory as usize), limits);
    (store, limits)
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
