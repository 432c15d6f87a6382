//! Matrix experiments: one bench spec run on several clusters (provider × shape), each
//! brought up with its installer, benched and brought down, and compared. A matrix file
//! names the bench spec and the cluster specs (paths relative to the matrix file):
//!
//! ```toml
//! name = "ec2-vs-oci"
//! bench = "bench.toml"           # its [target] is each cluster in turn
//!
//! [[cluster]]
//! spec = "aws-standalone.toml"
//! label = "ec2-m7i"              # its name in the comparison (default: the spec's name)
//!
//! [[cluster]]
//! spec = "oci-standalone.toml"
//! ```
//!
//! This module reads and checks a matrix; `owbench experiment plan` prints what it would
//! create and the most it can cost.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

use crate::bench::spec::Spec;
use crate::cluster::spec::ClusterSpec;

/// A matrix file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixFile {
    name: String,
    bench: PathBuf,
    #[serde(rename = "cluster", default)]
    clusters: Vec<ClusterEntry>,
}

/// One `[[cluster]]` of a matrix file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterEntry {
    spec: PathBuf,
    #[serde(default)]
    label: Option<String>,
}

/// A matrix, read and checked: its bench spec and its clusters' specs loaded.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// The experiment's name.
    pub name: String,
    /// The bench spec's path.
    pub bench_path: PathBuf,
    /// The bench spec every cluster runs.
    pub bench: Spec,
    /// The clusters, in the file's order.
    pub clusters: Vec<MatrixCluster>,
}

/// A cluster of a matrix.
#[derive(Debug, Clone)]
pub struct MatrixCluster {
    /// Its name in the comparison (unique in the matrix).
    pub label: String,
    /// Its spec's path.
    pub path: PathBuf,
    /// Its spec.
    pub spec: ClusterSpec,
}

impl Matrix {
    /// Read the matrix at `path` and the specs it names; every error is one line naming
    /// the file and what is wrong.
    pub fn load(path: &Path) -> anyhow::Result<Matrix> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read matrix {}", path.display()))?;
        let file: MatrixFile = crate::specfile::parse_toml(&text)
            .map_err(|e| anyhow::anyhow!("matrix {}:{e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        anyhow::ensure!(
            !file.clusters.is_empty(),
            "matrix {}: give at least one [[cluster]]",
            path.display()
        );
        let bench_path = base.join(&file.bench);
        let bench = Spec::load(&bench_path)?;
        let mut clusters: Vec<MatrixCluster> = Vec::new();
        for entry in file.clusters {
            let spec_path = base.join(&entry.spec);
            let spec = ClusterSpec::load(&spec_path)?;
            anyhow::ensure!(
                spec.installer.is_some(),
                "matrix {}: cluster spec {} has no [installer]: without OpenWhisk there is nothing to bench",
                path.display(),
                spec_path.display()
            );
            let label = entry.label.unwrap_or_else(|| spec.name.clone());
            anyhow::ensure!(
                !clusters.iter().any(|c| c.label == label),
                "matrix {}: two clusters are both called `{label}`: give one a `label`",
                path.display()
            );
            clusters.push(MatrixCluster {
                label,
                path: spec_path,
                spec,
            });
        }
        Ok(Matrix {
            name: file.name,
            bench_path,
            bench,
            clusters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const BENCH: &str = "name = \"b\"\ncount = 5\n[load]\nmodel = \"closed\"\nconcurrency = 1\n[[workload]]\nname = \"noop\"\n";

    fn cluster(name: &str, installer: bool) -> String {
        let mut text = format!(
            "name = \"{name}\"\nprovider = \"aws-ec2\"\nregion = \"us-east-1\"\nimage = \"ubuntu-24.04\"\nallowed_cidrs = [\"203.0.113.7/32\"]\n"
        );
        if installer {
            text.push_str("[installer]\nname = \"owbench-serve\"\n");
        }
        text.push_str("[[nodes]]\nrole = \"serve\"\nshape = \"m7i.xlarge\"\n");
        text
    }

    #[test]
    fn the_example_matrix_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/matrix.toml");
        let matrix = Matrix::load(&path).unwrap();
        let labels: Vec<&str> = matrix.clusters.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["ec2-m7i", "oci-e5"]);
        assert_eq!(matrix.bench.workloads.len(), 3);

        let path = path.with_file_name("matrix-storage.toml");
        let matrix = Matrix::load(&path).unwrap();
        let disks: Vec<(bool, Option<u32>)> = matrix
            .clusters
            .iter()
            .map(|c| {
                (
                    c.spec.nodes[0].local_nvme,
                    c.spec.nodes[0].volume.map(|v| v.size_gb),
                )
            })
            .collect();
        assert_eq!(
            disks,
            [
                (false, Some(200)),
                (true, None),
                (false, Some(200)),
                (true, None)
            ]
        );
    }

    #[test]
    fn a_matrix_reads_its_specs_and_refuses_what_cannot_run() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "bench.toml", BENCH);
        write(d, "a.toml", &cluster("a", true));
        write(d, "b.toml", &cluster("b", true));
        write(d, "bare.toml", &cluster("bare", false));
        let m = write(
            d,
            "m.toml",
            "name = \"m\"\nbench = \"bench.toml\"\n[[cluster]]\nspec = \"a.toml\"\n[[cluster]]\nspec = \"b.toml\"\nlabel = \"bee\"\n",
        );
        let matrix = Matrix::load(&m).unwrap();
        let labels: Vec<&str> = matrix.clusters.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["a", "bee"]);
        assert_eq!(matrix.bench.name, "b");

        let refused = |text: &str| {
            let m = write(d, "bad.toml", text);
            Matrix::load(&m).unwrap_err().to_string()
        };
        let e = refused(
            "name = \"m\"\nbench = \"bench.toml\"\n[[cluster]]\nspec = \"a.toml\"\n[[cluster]]\nspec = \"a.toml\"\n",
        );
        assert!(e.contains("two clusters are both called `a`"), "{e}");
        let e =
            refused("name = \"m\"\nbench = \"bench.toml\"\n[[cluster]]\nspec = \"bare.toml\"\n");
        assert!(e.contains("has no [installer]"), "{e}");
        let e = refused("name = \"m\"\nbench = \"bench.toml\"\n");
        assert!(e.contains("give at least one [[cluster]]"), "{e}");
        let e = refused("name = \"m\"\nbench = \"nope.toml\"\n[[cluster]]\nspec = \"a.toml\"\n");
        assert!(e.contains("nope.toml"), "{e}");
        let e = refused("name = \"m\"\nbench = \"bench.toml\"\nclusters = 2\n");
        assert!(e.starts_with("matrix ") && e.contains("clusters"), "{e}");
    }
}
