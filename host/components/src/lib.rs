//! The first-party WebAssembly components, built for `wasm32-wasip2` by `owbench-guests`'
//! build script: the built-in workloads (embedded, so the `owbench` binary is self-contained;
//! heavy ones with the `heavy-workloads` feature), the provider plugins (with the
//! `providers` feature) and the host's test fixtures (by path).

pub use owbench_plugin::catalog::{Builtin, Builtins, LeftOut};

/// Every plugin built into this binary, for the catalog's resolve.
pub const BUILTINS: Builtins = Builtins {
    workloads: WORKLOADS,
    providers: PROVIDERS,
    installers: INSTALLERS,
    workloads_left_out: WORKLOADS_LEFT_OUT,
    providers_left_out: PROVIDERS_LEFT_OUT,
    installers_left_out: INSTALLERS_LEFT_OUT,
};

/// Test fixture components (paths to `.wasm` files), built with the `fixtures` feature.
#[cfg(feature = "fixtures")]
pub mod fixtures {
    include!(concat!(env!("OWBENCH_GUESTS_GENERATED"), "/fixtures.rs"));
}

include!(concat!(env!("OWBENCH_GUESTS_GENERATED"), "/workloads.rs"));
