//! The first-party WebAssembly components, built for `wasm32-wasip2` by this crate's build
//! script: the seed workloads (embedded, so the `owbench` binary is self-contained) and
//! the host's test fixtures (by path).

/// A plugin component (workload or provider) shipped inside the `owbench` binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its `plugin.toml`.
    pub manifest: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}

/// Test fixture components (paths to `.wasm` files).
pub mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

include!(concat!(env!("OUT_DIR"), "/workloads.rs"));
