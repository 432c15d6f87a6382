//! Data sets that heavy workloads read, partition by partition: generated once into a
//! cache (deterministic, so a cached set is the set), served to the actions over loopback
//! HTTP by the bench's object endpoint (`/files/<set>/<file>`).
//!
//! In a spec, `[workload.dataset]` names the set and a parameter `"{{ partition TABLE }}"`
//! becomes the URL of partition `seq % partitions` of `TABLE` for invocation `seq`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// A data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DatasetSpec {
    /// The AMPLab Big Data Benchmark tables `rankings` and `uservisits`.
    Bigdata {
        /// 10,000 × scale rankings, 100,000 × scale visits.
        #[serde(default = "one")]
        scale: f64,
        /// Partitions per table.
        #[serde(default = "eight")]
        partitions: u32,
        /// Generator seed.
        #[serde(default = "seed")]
        seed: u64,
    },
    /// scikit-learn's 8×8 handwritten digits (1797 images, as `ml-inference` ships them),
    /// table `images`, in partitions of consecutive images.
    Digits {
        /// Partitions.
        #[serde(default = "eight")]
        partitions: u32,
    },
    /// bowtie2's lambda phage example, as Debian's `bowtie2-examples` package ships it:
    /// table `reference` (one FASTA for every partition) and table `reads` (its 10,000
    /// reads in partitions of consecutive reads).
    Bowtie2Lambda {
        /// Partitions of the reads.
        #[serde(default = "eight")]
        partitions: u32,
    },
}

fn one() -> f64 {
    1.0
}
fn eight() -> u32 {
    8
}
fn seed() -> u64 {
    1
}

/// Where data sets are cached: `$OWBENCH_DATA_DIR`, else `$XDG_CACHE_HOME/owbench/data`
/// (or `~/.cache/owbench/data`).
pub fn cache_root() -> PathBuf {
    owbench_plugin::dirs::owbench_dir("OWBENCH_DATA_DIR", "XDG_CACHE_HOME", ".cache", "data")
}

impl DatasetSpec {
    /// Its directory name under the cache.
    pub fn name(&self) -> String {
        match self {
            DatasetSpec::Bigdata {
                scale,
                partitions,
                seed,
            } => format!("bigdata-s{scale}-p{partitions}-seed{seed}"),
            DatasetSpec::Digits { partitions } => format!("digits-p{partitions}"),
            DatasetSpec::Bowtie2Lambda { partitions } => format!("bowtie2-lambda-p{partitions}"),
        }
    }

    /// Partitions per table.
    pub fn partitions(&self) -> u32 {
        match self {
            DatasetSpec::Bigdata { partitions, .. }
            | DatasetSpec::Digits { partitions }
            | DatasetSpec::Bowtie2Lambda { partitions } => *partitions,
        }
    }

    /// Check its values.
    pub fn validate(&self) -> anyhow::Result<()> {
        match self {
            DatasetSpec::Bigdata {
                scale, partitions, ..
            } => {
                anyhow::ensure!(
                    scale.is_finite() && *scale > 0.0 && *scale <= 10_000.0,
                    "the data set's scale must be in (0, 10000], got {scale}"
                );
                anyhow::ensure!(
                    (1..=4096).contains(partitions),
                    "the data set's partitions must be 1 to 4096, got {partitions}"
                );
                Ok(())
            }
            DatasetSpec::Digits { partitions } => {
                anyhow::ensure!(
                    (1..=1797).contains(partitions),
                    "the digits data set's partitions must be 1 to 1797, got {partitions}"
                );
                Ok(())
            }
            DatasetSpec::Bowtie2Lambda { partitions } => {
                anyhow::ensure!(
                    (1..=10_000).contains(partitions),
                    "the bowtie2 lambda data set's partitions must be 1 to 10000, got {partitions}"
                );
                Ok(())
            }
        }
    }

    /// The path, under the cache root, of partition `i` of `table`.
    pub fn file(&self, table: &str, i: u32) -> String {
        match self {
            DatasetSpec::Bigdata { .. } => {
                format!(
                    "{}/{}",
                    self.name(),
                    bigdata::data::partition_file(table, i)
                )
            }
            DatasetSpec::Digits { .. } => {
                format!(
                    "{}/{}",
                    self.name(),
                    ml_inference::dataset::partition_file(i)
                )
            }
            DatasetSpec::Bowtie2Lambda { .. } => format!(
                "{}/{}",
                self.name(),
                genomics_align::dataset::partition_file(table, i)
            ),
        }
    }

    /// Whether `table` is one of its tables.
    pub fn has_table(&self, table: &str) -> bool {
        match self {
            DatasetSpec::Bigdata { .. } => matches!(table, "rankings" | "uservisits"),
            DatasetSpec::Digits { .. } => table == "images",
            DatasetSpec::Bowtie2Lambda { .. } => matches!(table, "reference" | "reads"),
        }
    }

    /// Generate it under `root` unless it is already there; its directory.
    pub fn prepare(&self, root: &Path) -> anyhow::Result<PathBuf> {
        self.validate()?;
        let dir = root.join(self.name());
        if dir.join("COMPLETE").is_file() {
            return Ok(dir);
        }
        std::fs::create_dir_all(root)
            .with_context(|| format!("cannot create the data cache {}", root.display()))?;
        // Generate beside, then rename: a half-written set is never used.
        let tmp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempdir_in(root)
            .with_context(|| format!("cannot write into {}", root.display()))?;
        match self {
            DatasetSpec::Bigdata {
                scale,
                partitions,
                seed,
            } => {
                bigdata::data::generate(tmp.path(), *scale, *partitions, *seed)
                    .with_context(|| format!("cannot generate {}", self.name()))?;
            }
            DatasetSpec::Digits { partitions } => {
                ml_inference::dataset::write_partitions(tmp.path(), *partitions)
                    .with_context(|| format!("cannot write {}", self.name()))?;
            }
            DatasetSpec::Bowtie2Lambda { partitions } => {
                genomics_align::dataset::write_partitions(tmp.path(), *partitions)
                    .with_context(|| format!("cannot write {}", self.name()))?;
            }
        }
        std::fs::write(tmp.path().join("COMPLETE"), b"")?;
        let tmp = tmp.keep();
        if std::fs::rename(&tmp, &dir).is_err() {
            // Someone else finished it first.
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Ok(dir)
    }
}

/// `"{{ partition TABLE }}"` → TABLE.
pub fn partition_placeholder(v: &serde_json::Value) -> Option<&str> {
    crate::specfile::template_arg(v, "partition")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_generated_once_and_named_by_its_parameters() {
        let root = tempfile::tempdir().unwrap();
        let set = DatasetSpec::Bigdata {
            scale: 0.01,
            partitions: 2,
            seed: 3,
        };
        let dir = set.prepare(root.path()).unwrap();
        assert_eq!(dir, root.path().join("bigdata-s0.01-p2-seed3"));
        let file = root.path().join(set.file("uservisits", 1));
        let first = std::fs::metadata(&file).unwrap().modified().unwrap();
        set.prepare(root.path()).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), first);
        assert_eq!(
            partition_placeholder(&serde_json::json!("{{ partition rankings }}")),
            Some("rankings")
        );
        let bad = DatasetSpec::Bigdata {
            scale: 0.0,
            partitions: 2,
            seed: 3,
        };
        assert!(bad.prepare(root.path()).is_err());
    }
}
