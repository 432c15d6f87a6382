//! How a reducing workload's partial results become one answer per repetition: with
//! the plugin's own `reduce` export, over the first result of each partition.

use serde_json::{Value, json};

use super::target::Collector;
use owbench_plugin::manifest::Manifest;
use owbench_plugin::{PluginEngine, WorkloadPlugin};

/// A reducing workload's plugin and what the current repetition collected.
pub struct Reduction {
    plugin: WorkloadPlugin,
    collected: Collector,
    partitions: u32,
}

impl Reduction {
    /// The reduction over `partitions` with the plugin `manifest` and `component`, if
    /// that plugin reduces.
    pub async fn of(
        engine: &PluginEngine,
        (manifest, component): (Manifest, &[u8]),
        partitions: u32,
    ) -> anyhow::Result<Option<Reduction>> {
        let plugin = WorkloadPlugin::load(engine, manifest, component).await?;
        Ok(plugin.reduces().then(|| Reduction {
            plugin,
            collected: Collector::default(),
            partitions,
        }))
    }

    /// Where the drive puts each invocation's result for this reduction.
    pub fn collector(&self) -> Collector {
        self.collected.clone()
    }

    /// Reduce (and clear) what repetition `run` collected: the first result of each
    /// partition counts once.
    pub async fn answer(&self, engine: &PluginEngine, run: u32, label: &str) -> Value {
        let collected = std::mem::take(&mut *self.collected.lock().expect("not poisoned"));
        let mut by_partition: std::collections::BTreeMap<u64, Value> = Default::default();
        for (seq, result) in collected {
            by_partition
                .entry(seq % u64::from(self.partitions))
                .or_insert(result);
        }
        let covered = by_partition.len();
        let partials: Vec<String> = by_partition.into_values().map(|v| v.to_string()).collect();
        let mut out = json!({
            "run": run, "workload": label,
            "partitions": self.partitions, "partitions_covered": covered,
            "complete": covered as u32 == self.partitions,
        });
        match self.plugin.reduce(engine, &partials).await {
            Ok(answer) => out["answer"] = serde_json::from_str(&answer).unwrap_or(json!(answer)),
            Err(e) => out["error"] = json!(e.to_string()),
        }
        out
    }
}
