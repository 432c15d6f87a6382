//! The component side: wit-bindgen bindings for the `reducing-workload` world (the
//! `workload` world plus `reduce`) and the glue the
//! [`export_workload!`](crate::export_workload) macro calls.

use std::path::PathBuf;

use crate::{Category, Ctx, Level, Workload};

/// Generated bindings for `owbench:plugin/reducing-workload`.
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        // Every workload exports `reduce` (the SDK's default refuses): one world, one
        // component type, whether or not the workload reduces. The host calls it only
        // when `plugin.toml` declares `reducing-workload`.
        world: "reducing-workload",
        path: "../../wit",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "owbench_workload::guest::bindings",
    });
}

use bindings::owbench::plugin::{host, types};

/// The host as seen from inside the component.
struct HostCtx;

impl Ctx for HostCtx {
    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Debug => host::Level::Debug,
            Level::Info => host::Level::Info,
            Level::Warn => host::Level::Warn,
            Level::Error => host::Level::Error,
        };
        host::log(level, message);
    }

    fn metric(&mut self, name: &str, value: f64, unit: &str) {
        host::metric(name, value, unit);
    }

    fn scratch_dir(&self) -> PathBuf {
        PathBuf::from("/scratch")
    }
}

/// The `describe` export.
pub fn describe<W: Workload>() -> types::WorkloadInfo {
    let info = W::info();
    types::WorkloadInfo {
        name: info.name.into(),
        version: info.version.into(),
        category: match info.category {
            Category::Cpu => types::Category::Cpu,
            Category::Memory => types::Category::Memory,
            Category::Network => types::Category::Network,
            Category::Disk => types::Category::Disk,
            Category::Ml => types::Category::Ml,
            Category::Genomics => types::Category::Genomics,
            Category::Bigdata => types::Category::Bigdata,
        },
        description: info.description.into(),
        default_params: info.default_params.to_string(),
    }
}

/// The `run` export.
pub fn run<W: Workload>(params: &str) -> Result<String, types::WorkloadError> {
    crate::run_json::<W>(params, &mut HostCtx).map_err(|e| match e {
        crate::Error::InvalidParams(m) => types::WorkloadError::InvalidParams(m),
        crate::Error::Failed(m) => types::WorkloadError::Failed(m),
    })
}

/// The `reduce` export.
pub fn reduce<W: Workload>(partials: &[String]) -> Result<String, types::WorkloadError> {
    crate::reduce_json::<W>(partials).map_err(|e| match e {
        crate::Error::InvalidParams(m) => types::WorkloadError::InvalidParams(m),
        crate::Error::Failed(m) => types::WorkloadError::Failed(m),
    })
}
