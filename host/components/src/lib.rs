//! The first-party WebAssembly components, built for `wasm32-wasip2` by this crate's build
//! script: the built-in workloads (embedded, so the `owbench` binary is self-contained;
//! heavy ones with the `heavy-workloads` feature), the provider plugins (with the
//! `providers` feature) and the host's test fixtures (by path).

/// A plugin component (workload or provider) shipped inside the `owbench` binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its `plugin.toml`.
    pub manifest: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}

/// A built-in plugin this build left out, and the cargo feature that builds it in.
#[derive(Debug, Clone, Copy)]
pub struct LeftOut {
    /// The plugin's name.
    pub name: &'static str,
    /// The `owbench` cargo feature that builds it in (`heavy-workloads`, `providers`).
    pub feature: &'static str,
}

/// Test fixture components (paths to `.wasm` files), built with the `fixtures` feature.
#[cfg(feature = "fixtures")]
pub mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

include!(concat!(env!("OUT_DIR"), "/workloads.rs"));
