//! `bintree`: the binary-trees allocation benchmark (Computer Language Benchmarks Game),
//! a memory-bound kernel: millions of short-lived small allocations.
//!
//! The `output` it returns is the benchmark's check output, line for line.

use std::fmt::Write;
use std::time::Instant;

use owbench_workload::{Category, Ctx, Error, Info, Params, Value, Workload, json};

/// The smallest trees the benchmark builds.
const MIN_DEPTH: u32 = 4;

/// The workload type exported as a component.
pub struct Bintree;

impl Workload for Bintree {
    fn info() -> Info {
        Info {
            name: "bintree",
            version: env!("CARGO_PKG_VERSION"),
            category: Category::Memory,
            description: "binary-trees allocation benchmark; returns the reference check output",
            default_params: json!({ "depth": 14 }),
        }
    }

    fn run(params: &Params, ctx: &mut dyn Ctx) -> Result<Value, Error> {
        // Depth 24 already allocates ~2^25 live nodes for the stretch tree.
        let depth = params.u64_in("depth", 0, 24)? as u32;
        let started = Instant::now();
        let (output, nodes) = binary_trees(depth);
        let seconds = started.elapsed().as_secs_f64();
        ctx.metric(
            "nodes_per_second",
            nodes as f64 / seconds.max(1e-9),
            "nodes/s",
        );
        Ok(json!({ "depth": depth, "output": output, "nodes": nodes, "seconds": seconds }))
    }
}

owbench_workload::export_workload!(Bintree);

/// A tree node; leaves have no children.
struct Tree {
    children: Option<(Box<Tree>, Box<Tree>)>,
}

impl Tree {
    fn bottom_up(depth: u32) -> Box<Tree> {
        Box::new(Tree {
            children: (depth > 0).then(|| (Tree::bottom_up(depth - 1), Tree::bottom_up(depth - 1))),
        })
    }

    fn check(&self) -> u64 {
        1 + self
            .children
            .as_ref()
            .map_or(0, |(l, r)| l.check() + r.check())
    }
}

/// Run the benchmark for `n`; returns the check output and the number of nodes allocated.
pub fn binary_trees(n: u32) -> (String, u64) {
    let max_depth = n.max(MIN_DEPTH + 2);
    let mut out = String::new();
    let mut nodes = 0;

    let stretch = Tree::bottom_up(max_depth + 1).check();
    nodes += stretch;
    let _ = writeln!(
        out,
        "stretch tree of depth {}\t check: {stretch}",
        max_depth + 1
    );

    let long_lived = Tree::bottom_up(max_depth);
    for depth in (MIN_DEPTH..=max_depth).step_by(2) {
        let iterations = 1u64 << (max_depth - depth + MIN_DEPTH);
        let check: u64 = (0..iterations)
            .map(|_| Tree::bottom_up(depth).check())
            .sum();
        nodes += check;
        let _ = writeln!(
            out,
            "{iterations}\t trees of depth {depth}\t check: {check}"
        );
    }
    let long_check = long_lived.check();
    nodes += long_check;
    let _ = writeln!(
        out,
        "long lived tree of depth {max_depth}\t check: {long_check}"
    );
    (out, nodes)
}

#[cfg(test)]
mod tests {
    /// The benchmark's published output for depth 10 (`binarytrees-output.txt`).
    const REFERENCE_10: &str = include_str!("../tests/reference-output-10.txt");

    #[test]
    fn output_matches_the_reference_for_depth_10() {
        assert_eq!(super::binary_trees(10).0, REFERENCE_10);
    }
}
