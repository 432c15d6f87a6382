//! What one call's [`Store`](wasmtime::Store) holds: its WASI context, HTTP policy,
//! memory limiter, and what the guest reported through the `host` interface.

use std::time::Instant;

use serde::Serialize;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::owbench::plugin::{host, types};
use super::policy::PolicyHooks;

/// Most log lines kept from one call; further lines are counted, not kept.
const MAX_LOG_LINES: usize = 1000;
/// Longest log line kept, in bytes.
const MAX_LOG_LINE: usize = 4096;
/// Most metrics kept from one call.
const MAX_METRICS: usize = 256;

/// One line the guest logged through `host.log`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogLine {
    /// `debug`, `info`, `warn` or `error`.
    pub level: &'static str,
    /// The text (truncated to 4 KiB).
    pub message: String,
}

/// One figure the guest reported through `host.metric`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metric {
    /// Metric name.
    pub name: String,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: String,
}

/// Refuses memory growth past the call's limit and remembers that it did.
pub(crate) struct MemoryLimiter {
    pub(crate) limit: usize,
    pub(crate) hit: bool,
    pub(crate) peak: usize,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The data of one call's store (public only because the sealed world trait names it;
/// not exported).
pub struct CallState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) http: WasiHttpCtx,
    pub(crate) hooks: PolicyHooks,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) logs: Vec<LogLine>,
    pub(crate) dropped_logs: usize,
    pub(crate) metrics: Vec<Metric>,
    /// When the current call (or instantiation) must stop.
    pub(crate) deadline: Instant,
}

impl CallState {
    pub(crate) fn new(wasi: WasiCtx, hooks: PolicyHooks, memory_limit: usize) -> CallState {
        CallState {
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks,
            limiter: MemoryLimiter {
                limit: memory_limit,
                hit: false,
                peak: 0,
            },
            logs: Vec::new(),
            dropped_logs: 0,
            metrics: Vec::new(),
            deadline: Instant::now(),
        }
    }

    /// A state with no policy, for calls that need none (`describe`).
    pub(crate) fn minimal(memory_limit: usize) -> CallState {
        CallState::new(
            WasiCtx::builder().build(),
            PolicyHooks::new(Default::default()),
            memory_limit,
        )
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl types::Host for CallState {}

impl host::Host for CallState {
    fn log(&mut self, level: host::Level, message: String) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.dropped_logs += 1;
            return;
        }
        let level = match level {
            host::Level::Debug => "debug",
            host::Level::Info => "info",
            host::Level::Warn => "warn",
            host::Level::Error => "error",
        };
        self.logs.push(LogLine {
            level,
            message: truncate(message, MAX_LOG_LINE),
        });
    }

    fn metric(&mut self, name: String, value: f64, unit: String) {
        if self.metrics.len() < MAX_METRICS {
            self.metrics.push(Metric {
                name: truncate(name, 128),
                value,
                unit: truncate(unit, 64),
            });
        }
    }
}

/// Cut `s` to at most `max` bytes on a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}
