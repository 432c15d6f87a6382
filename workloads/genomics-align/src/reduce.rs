//! Merging the partial results of every chunk of reads into the whole run's alignment
//! figures: the component's `reduce` export.

use owbench_workload::{Value, json};

/// The partial results of every chunk → reads, aligned, unaligned, aligned uniquely, and
/// the alignment rate over the time the chunks spent aligning.
pub fn reduce(partials: &[Value]) -> Result<Value, String> {
    let field = |p: &Value, i: usize, name: &str| {
        p[name]
            .as_u64()
            .ok_or_else(|| format!("partial {i} has no `{name}` count"))
    };
    let (mut reads, mut aligned, mut unique, mut seconds) = (0u64, 0u64, 0u64, 0f64);
    for (i, p) in partials.iter().enumerate() {
        reads += field(p, i, "reads")?;
        aligned += field(p, i, "aligned")?;
        unique += field(p, i, "aligned_uniquely")?;
        seconds += p["align_seconds"]
            .as_f64()
            .ok_or_else(|| format!("partial {i} has no `align_seconds`"))?;
    }
    Ok(json!({
        "reads": reads,
        "aligned": aligned,
        "unaligned": reads - aligned,
        "aligned_uniquely": unique,
        "alignment_rate": aligned as f64 / reads.max(1) as f64,
        "reads_per_s": reads as f64 / seconds.max(1e-9),
    }))
}
