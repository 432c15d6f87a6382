//! `owbench data`: generate the data sets heavy workloads read.

use std::path::PathBuf;

/// Generate a data set.
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// The AMPLab Big Data Benchmark tables (`rankings`, `uservisits`), deterministic,
    /// co-partitioned by URL: `rankings-NNN.csv` and `uservisits-NNN.csv`.
    Bigdata {
        /// Size: 10,000 × scale rankings and 100,000 × scale visits.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Partitions per table (one invocation each).
        #[arg(long, default_value_t = 8)]
        partitions: u32,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the files go.
        #[arg(long, short)]
        out: PathBuf,
    },
}

impl DataCommand {
    /// Run it.
    pub async fn run(&self) -> anyhow::Result<()> {
        match self {
            DataCommand::Bigdata {
                scale,
                partitions,
                seed,
                out,
            } => {
                crate::datasets::DatasetSpec::Bigdata {
                    scale: *scale,
                    partitions: *partitions,
                    seed: *seed,
                }
                .validate()?;
                let g = bigdata::data::generate(out, *scale, *partitions, *seed).map_err(|e| {
                    anyhow::anyhow!("cannot write the data set into {}: {e}", out.display())
                })?;
                println!(
                    "{} rankings and {} uservisits in {} partitions: {}",
                    g.rankings,
                    g.uservisits,
                    g.partitions,
                    out.display()
                );
                Ok(())
            }
        }
    }
}
