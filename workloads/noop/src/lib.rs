//! `noop`: does nothing and returns its parameters. The function every FaaS study uses to
//! measure the platform's own overhead (invocation path, scheduling, cold starts).

use owbench_workload::{Category, Ctx, Error, Info, Params, Value, Workload, json};

/// The workload type exported as a component.
pub struct Noop;

impl Workload for Noop {
    fn info() -> Info {
        Info {
            name: "noop",
            version: env!("CARGO_PKG_VERSION"),
            category: Category::Cpu,
            description: "returns its parameters unchanged; measures platform overhead",
            default_params: json!({}),
        }
    }

    fn run(params: &Params, _ctx: &mut dyn Ctx) -> Result<Value, Error> {
        Ok(json!({ "echo": params.as_value() }))
    }
}

owbench_workload::export_workload!(Noop);
