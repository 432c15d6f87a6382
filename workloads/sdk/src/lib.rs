//! Write an owbench workload once, run it as a WebAssembly component or natively.
//!
//! A workload implements [`Workload`] and calls [`export_workload!`]. Built for
//! `wasm32-wasip2`, the macro exports the `owbench:plugin/workload` world (see `wit/`);
//! built natively, the same type is called by the host's `--native` runner, so both
//! sides run the very same kernel code.
//!
//! ```
//! use owbench_workload::{Category, Ctx, Error, Info, Params, Value, Workload, json};
//!
//! struct Echo;
//!
//! impl Workload for Echo {
//!     fn info() -> Info {
//!         Info {
//!             name: "echo",
//!             version: "0.1.0",
//!             category: Category::Cpu,
//!             description: "returns its `text` parameter",
//!             default_params: json!({ "text": "hello" }),
//!         }
//!     }
//!     fn run(params: &Params, _ctx: &mut dyn Ctx) -> Result<Value, Error> {
//!         Ok(json!({ "text": params.str("text")? }))
//!     }
//! }
//!
//! owbench_workload::export_workload!(Echo);
//! ```

use std::fmt;
use std::path::PathBuf;

pub use serde_json::{Map, Value, json};

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod guest;

#[cfg(feature = "http")]
pub mod http;

/// What a workload mostly stresses (the WIT `category` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Compute-bound.
    Cpu,
    /// Allocation- or memory-bound.
    Memory,
    /// Network-bound.
    Network,
    /// Storage-bound.
    Disk,
    /// Machine-learning inference.
    Ml,
    /// Genomics.
    Genomics,
    /// Big-data queries.
    Bigdata,
}

impl Category {
    /// The lowercase name used in WIT, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Cpu => "cpu",
            Category::Memory => "memory",
            Category::Network => "network",
            Category::Disk => "disk",
            Category::Ml => "ml",
            Category::Genomics => "genomics",
            Category::Bigdata => "bigdata",
        }
    }
}

/// A workload's self-description (the WIT `workload-info` record).
#[derive(Debug, Clone)]
pub struct Info {
    /// Short unique name.
    pub name: &'static str,
    /// Semantic version.
    pub version: &'static str,
    /// What it stresses.
    pub category: Category,
    /// One sentence.
    pub description: &'static str,
    /// Parameters used when none are given (a JSON object).
    pub default_params: Value,
}

/// Why a run failed (the WIT `workload-error` variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A parameter was missing, of the wrong type or out of range.
    InvalidParams(String),
    /// The run started but could not finish.
    Failed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidParams(m) => write!(f, "invalid params: {m}"),
            Error::Failed(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Turn any displayable error into [`Error::Failed`] with a prefix naming the step.
pub fn failed(step: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Failed(format!("{step}: {e}"))
}

/// Severity of a log line (the WIT `host.level` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Debug detail.
    Debug,
    /// Progress.
    Info,
    /// Recovered problem.
    Warn,
    /// Failure.
    Error,
}

/// What the host offers a running workload: logging, metrics, and its scratch directory.
pub trait Ctx {
    /// Record a log line.
    fn log(&mut self, level: Level, message: &str);
    /// Report a figure the workload measured itself.
    fn metric(&mut self, name: &str, value: f64, unit: &str);
    /// The private scratch directory for this call (`/scratch` inside the component).
    fn scratch_dir(&self) -> PathBuf;
}

/// A benchmark workload.
pub trait Workload {
    /// Describe the workload.
    fn info() -> Info;
    /// Run once with `params` (defaults already merged in).
    fn run(params: &Params, ctx: &mut dyn Ctx) -> Result<Value, Error>;
    /// Merge the results of invocations over every partition of a data set (in
    /// partition order) into one answer. Only a workload whose `plugin.toml` declares the
    /// `reducing-workload` world is asked; the default refuses.
    fn reduce(partials: &[Value]) -> Result<Value, Error> {
        let _ = partials;
        Err(Error::Failed(format!(
            "workload `{}` does not reduce partial results",
            Self::info().name
        )))
    }
}

/// A workload's parameters: the caller's JSON object over the workload's defaults.
#[derive(Debug, Clone)]
pub struct Params(Map<String, Value>);

impl Params {
    /// Parse `json` (an object, or empty for "no params") over `defaults`.
    pub fn parse(json: &str, defaults: &Value) -> Result<Self, Error> {
        let mut merged = defaults.as_object().cloned().unwrap_or_default();
        if !json.trim().is_empty() {
            let given: Value = serde_json::from_str(json)
                .map_err(|e| Error::InvalidParams(format!("params are not valid JSON: {e}")))?;
            let Value::Object(given) = given else {
                return Err(Error::InvalidParams(format!(
                    "params must be a JSON object, got {}",
                    kind_of(&given)
                )));
            };
            merged.extend(given);
        }
        Ok(Params(merged))
    }

    /// All parameters as one JSON object.
    pub fn as_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// The raw value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A required unsigned integer in `min..=max`.
    pub fn u64_in(&self, name: &str, min: u64, max: u64) -> Result<u64, Error> {
        let v = self.required(name)?;
        let n = v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| {
                Error::InvalidParams(format!("`{name}` must be an unsigned integer, got {v}"))
            })?;
        if !(min..=max).contains(&n) {
            return Err(Error::InvalidParams(format!(
                "`{name}` must be between {min} and {max}, got {n}"
            )));
        }
        Ok(n)
    }

    /// A required boolean.
    pub fn bool(&self, name: &str) -> Result<bool, Error> {
        let v = self.required(name)?;
        v.as_bool()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| Error::InvalidParams(format!("`{name}` must be true or false, got {v}")))
    }

    /// A required string.
    pub fn str(&self, name: &str) -> Result<&str, Error> {
        let v = self.required(name)?;
        v.as_str()
            .ok_or_else(|| Error::InvalidParams(format!("`{name}` must be a string, got {v}")))
    }

    /// An optional string (absent, null or empty means none).
    pub fn opt_str(&self, name: &str) -> Result<Option<&str>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.str(name).map(|s| Some(s).filter(|s| !s.is_empty())),
        }
    }

    fn required(&self, name: &str) -> Result<&Value, Error> {
        self.0
            .get(name)
            .ok_or_else(|| Error::InvalidParams(format!("missing parameter `{name}`")))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reduce partial results given as JSON texts into the answer's JSON text: the whole
/// call, exactly as the component's `reduce` export does it.
pub fn reduce_json<W: Workload>(partials: &[String]) -> Result<String, Error> {
    let partials = partials
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::from_str(p)
                .map_err(|e| Error::InvalidParams(format!("partial {i} is not valid JSON: {e}")))
        })
        .collect::<Result<Vec<Value>, Error>>()?;
    let answer = W::reduce(&partials)?;
    if !answer.is_object() {
        return Err(Error::Failed(format!(
            "reduce returned {}, not a JSON object",
            kind_of(&answer)
        )));
    }
    Ok(answer.to_string())
}

/// Run `W` on a params JSON string and return its result JSON string: the whole call,
/// exactly as the component export does it.
pub fn run_json<W: Workload>(params: &str, ctx: &mut dyn Ctx) -> Result<String, Error> {
    let params = Params::parse(params, &W::info().default_params)?;
    let result = W::run(&params, ctx)?;
    if !result.is_object() {
        return Err(Error::Failed(format!(
            "workload returned {}, not a JSON object",
            kind_of(&result)
        )));
    }
    Ok(result.to_string())
}

/// Export `$workload` (a type implementing [`Workload`]) as the `owbench:plugin/workload`
/// world when built for wasm32; does nothing in a native build.
#[macro_export]
macro_rules! export_workload {
    ($workload:ty) => {
        /// This workload's whole call, natively: what the component's `run` export does
        /// (the host's `--native` runs; see `owbench-builtins`).
        #[cfg(not(target_arch = "wasm32"))]
        pub const NATIVE_RUN: fn(
            &str,
            &mut dyn $crate::Ctx,
        ) -> ::std::result::Result<::std::string::String, $crate::Error> =
            $crate::run_json::<$workload>;

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct Component;
            impl $crate::guest::bindings::Guest for Component {
                fn describe() -> $crate::guest::bindings::owbench::plugin::types::WorkloadInfo {
                    $crate::guest::describe::<$workload>()
                }
                fn run(
                    params: ::std::string::String,
                ) -> ::std::result::Result<
                    ::std::string::String,
                    $crate::guest::bindings::owbench::plugin::types::WorkloadError,
                > {
                    $crate::guest::run::<$workload>(&params)
                }
            }
            impl $crate::guest::bindings::exports::owbench::plugin::reducer::Guest for Component {
                fn reduce(
                    partials: ::std::vec::Vec<::std::string::String>,
                ) -> ::std::result::Result<
                    ::std::string::String,
                    $crate::guest::bindings::owbench::plugin::types::WorkloadError,
                > {
                    $crate::guest::reduce::<$workload>(&partials)
                }
            }
            $crate::guest::bindings::export_bindings!(Component with_types_in $crate::guest::bindings);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sum;

    impl Workload for Sum {
        fn info() -> Info {
            Info {
                name: "sum",
                version: "0.1.0",
                category: Category::Cpu,
                description: "adds",
                default_params: json!({}),
            }
        }
        fn run(_: &Params, _: &mut dyn Ctx) -> Result<Value, Error> {
            Ok(json!({}))
        }
        fn reduce(partials: &[Value]) -> Result<Value, Error> {
            Ok(json!({"sum": partials.iter().filter_map(|p| p["n"].as_u64()).sum::<u64>()}))
        }
    }

    #[test]
    fn reduce_json_parses_partials_and_checks_the_answer() {
        let parts = [r#"{"n": 1}"#.to_owned(), r#"{"n": 2}"#.to_owned()];
        assert_eq!(reduce_json::<Sum>(&parts).unwrap(), r#"{"sum":3}"#);
        let bad = ["{".to_owned()];
        assert!(
            reduce_json::<Sum>(&bad)
                .unwrap_err()
                .to_string()
                .contains("partial 0")
        );
    }

    #[test]
    fn params_merge_over_defaults() {
        let p = Params::parse(r#"{"n": 8}"#, &json!({"n": 4, "seed": 1})).unwrap();
        assert_eq!(p.u64_in("n", 1, 10).unwrap(), 8);
        assert_eq!(p.u64_in("seed", 0, u64::MAX).unwrap(), 1);
    }

    #[test]
    fn params_accept_numeric_strings_from_cli() {
        let p = Params::parse(r#"{"n": "16", "fsync": "false"}"#, &json!({})).unwrap();
        assert_eq!(p.u64_in("n", 1, 100).unwrap(), 16);
        assert!(!p.bool("fsync").unwrap());
    }

    #[test]
    fn bad_params_name_the_problem() {
        let e = Params::parse("[1]", &json!({})).unwrap_err();
        assert_eq!(
            e,
            Error::InvalidParams("params must be a JSON object, got an array".into())
        );
        let e = Params::parse("{", &json!({})).unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        let p = Params::parse(r#"{"n": 0}"#, &json!({})).unwrap();
        assert_eq!(
            p.u64_in("n", 1, 4).unwrap_err(),
            Error::InvalidParams("`n` must be between 1 and 4, got 0".into())
        );
        assert_eq!(
            p.u64_in("m", 1, 4).unwrap_err(),
            Error::InvalidParams("missing parameter `m`".into())
        );
    }
}
