//! `owbench workload list` and `owbench workload run`.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};

use super::EngineArgs;
use crate::workloads;
use owbench_plugin::catalog::Source;
use owbench_plugin::manifest::World;

/// `owbench workload ...`
#[derive(Debug, clap::Subcommand)]
pub enum WorkloadCommand {
    /// List the workloads: built in, and plugin directories on the search path.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run one workload once, in the plugin engine (or natively), and print its result.
    Run(RunArgs),
}

/// Arguments of `owbench workload run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A built-in workload name, a plugin name on the search path, or a plugin directory.
    pub name: String,
    /// A parameter `KEY=VALUE`; VALUE is read as JSON when it parses, else as a string.
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// All parameters as one JSON object (`--param` entries override its keys).
    #[arg(long, value_name = "JSON")]
    pub params_json: Option<String>,
    /// Print the result, timings, metrics and logs as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Run the native build of the same kernel instead of the component.
    #[arg(long)]
    pub native: bool,
    /// Wall-clock limit for the call, in milliseconds (default: the manifest's).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Memory limit for the call, in MiB (default: the manifest's).
    #[arg(long)]
    pub memory_mb: Option<u64>,
}

impl WorkloadCommand {
    /// Run the command.
    pub async fn run(self, engine_args: &EngineArgs) -> anyhow::Result<()> {
        match self {
            WorkloadCommand::List { json } => list(engine_args, json).await,
            WorkloadCommand::Run(args) => run(engine_args, args).await,
        }
    }
}

async fn list(engine_args: &EngineArgs, as_json: bool) -> anyhow::Result<()> {
    let engine = engine_args.engine()?;
    let mut rows = Vec::new();
    for source in workloads::discover(&engine_args.plugin_dirs) {
        let origin = match &source {
            Source::Builtin(_) => "built-in".to_owned(),
            Source::Dir(dir) => dir.display().to_string(),
        };
        match workloads::load(&engine, &source).await {
            Ok(plugin) => {
                let info = plugin.info();
                rows.push(json!({
                    "name": info.name, "version": info.version, "category": info.category,
                    "description": info.description, "default_params": info.default_params,
                    "native": workloads::has_native(&info.name), "source": origin,
                }));
            }
            Err(e) => eprintln!("warning: skipping {origin}: {e}"),
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut table = super::table::new(
        &["NAME", "VERSION", "CATEGORY", "NATIVE", "DESCRIPTION"],
        &[],
    );
    for row in &rows {
        table.add_row(vec![
            row["name"].as_str().unwrap_or_default(),
            row["version"].as_str().unwrap_or_default(),
            row["category"].as_str().unwrap_or_default(),
            if row["native"] == true { "yes" } else { "no" },
            row["description"].as_str().unwrap_or_default(),
        ]);
    }
    super::table::print(&table);
    // Built-ins this build left out, unless a plugin directory provides them.
    let left_out: Vec<_> = owbench_components::BUILTINS
        .left_out(World::Workload)
        .iter()
        .filter(|l| !rows.iter().any(|r| r["name"] == l.name))
        .collect();
    if !left_out.is_empty() {
        let names: Vec<&str> = left_out.iter().map(|l| l.name).collect();
        let features: std::collections::BTreeSet<&str> =
            left_out.iter().map(|l| l.feature).collect();
        let features: Vec<&str> = features.into_iter().collect();
        println!(
            "\nNot built into this owbench: {} (rebuild with `cargo build --release --features {}`)",
            names.join(", "),
            features.join(",")
        );
    }
    Ok(())
}

async fn run(engine_args: &EngineArgs, args: RunArgs) -> anyhow::Result<()> {
    let params = build_params(args.params_json.as_deref(), &args.params)?;
    let params_text = Value::Object(params).to_string();

    if args.native {
        // A workload written in Python runs under CPython; a built-in, its native build.
        let python = match workloads::resolve(&args.name, &engine_args.plugin_dirs) {
            Ok(Source::Dir(dir))
                if crate::python::read_manifest(&dir).is_ok_and(|m| m.build.is_some()) =>
            {
                Some(dir)
            }
            _ => None,
        };
        let outcome = match python {
            Some(dir) => crate::python::run_native(&dir, &params_text)?,
            None => workloads::run_native(&args.name, &params_text).with_context(|| {
                if cfg!(feature = "native") {
                    format!("workload `{}` has no native build", args.name)
                } else {
                    "this owbench was built without native builds of the workloads: rebuild with `cargo build --release --features native`".to_owned()
                }
            })?,
        };
        let result = outcome
            .result
            .map_err(|e| anyhow::anyhow!("native `{}` failed: {e}", args.name))?;
        let report = json!({
            "workload": args.name, "mode": "native", "result": parse(&result)?,
            "run_ms": ms(outcome.run), "metrics": outcome.metrics, "logs": outcome.logs,
        });
        return print_report(&report, args.json);
    }

    let engine = engine_args.engine()?;
    let source = workloads::resolve(&args.name, &engine_args.plugin_dirs)?;
    let plugin = workloads::load(&engine, &source).await?;
    let mut limits = plugin.default_limits();
    if let Some(ms) = args.timeout_ms {
        limits.timeout = Duration::from_millis(ms);
    }
    if let Some(mb) = args.memory_mb {
        limits.memory = mb << 20;
    }
    let outcome = plugin.call(&engine, &params_text, limits).await;
    for line in &outcome.logs {
        eprintln!("[{}] {}", line.level, sanitize(&line.message));
    }
    let result = outcome.result?;
    let report = json!({
        "workload": plugin.info().name, "mode": "wasm", "result": parse(&result)?,
        "instantiate_us": outcome.instantiate.as_secs_f64() * 1e6, "run_ms": ms(outcome.run),
        "peak_memory_bytes": outcome.peak_memory, "metrics": outcome.metrics,
        "component_sha256": plugin.sha256(),
    });
    print_report(&report, args.json)
}

fn print_report(report: &Value, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        println!("{}", serde_json::to_string(report)?);
        return Ok(());
    }
    println!("{}", serde_json::to_string_pretty(&report["result"])?);
    let mut timing = format!(
        "{} {}:",
        report["mode"].as_str().unwrap_or(""),
        report["workload"].as_str().unwrap_or("")
    );
    if let Some(us) = report["instantiate_us"].as_f64() {
        timing += &format!(" instantiate {us:.1} µs,");
    }
    timing += &format!(
        " run {:.3} ms",
        report["run_ms"].as_f64().unwrap_or_default()
    );
    eprintln!("{timing}");
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn parse(result: &str) -> anyhow::Result<Value> {
    serde_json::from_str(result).context("workload returned a result that is not JSON")
}

/// Merge `--params-json` and `--param KEY=VALUE` into one object.
pub fn build_params(
    json_text: Option<&str>,
    pairs: &[String],
) -> anyhow::Result<Map<String, Value>> {
    let mut params = match json_text {
        None => Map::new(),
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => bail!("--params-json must be a JSON object"),
            Err(e) => bail!("--params-json is not valid JSON: {e}"),
        },
    };
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("--param `{pair}` is not of the form KEY=VALUE");
        };
        if key.is_empty() {
            bail!("--param `{pair}` has an empty key");
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        params.insert(key.to_owned(), value);
    }
    Ok(params)
}

/// Strip control characters (terminal escapes) from guest text before printing it.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '�'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_json_when_they_parse() {
        let p = build_params(
            Some(r#"{"n": 1, "s": "x"}"#),
            &["n=256".into(), "url=http://h/x".into()],
        )
        .unwrap();
        assert_eq!(
            Value::Object(p),
            json!({"n": 256, "s": "x", "url": "http://h/x"})
        );
    }

    #[test]
    fn bad_params_are_refused() {
        assert!(build_params(None, &["novalue".into()]).is_err());
        assert!(build_params(None, &["=1".into()]).is_err());
        assert!(build_params(Some("[1]"), &[]).is_err());
    }

    #[test]
    fn escapes_are_neutralised() {
        assert_eq!(sanitize("a\u{1b}[31mb"), "a�[31mb");
    }
}
