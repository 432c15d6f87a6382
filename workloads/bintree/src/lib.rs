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
            default_params: json!({ "depth": 14, "allocator": "arena" }),
        }
    }

    fn run(params: &Params, ctx: &mut dyn Ctx) -> Result<Value, Error> {
        // Depth 24 already allocates ~2^25 live nodes for the stretch tree.
        let depth = params.u64_in("depth", 0, 24)? as u32;
        let allocator = match params.str("allocator")? {
            "arena" => Allocator::Arena,
            "global" => Allocator::Global,
            other => {
                return Err(Error::InvalidParams(format!(
                    "`allocator` must be `arena` or `global`, got `{other}`"
                )));
            }
        };
        let started = Instant::now();
        let (output, nodes) = binary_trees(depth, allocator);
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

/// Where the trees' nodes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// A bump arena per tree generation (`bumpalo`), reset between trees: what the
    /// fastest published Rust entries do. Measures building and walking trees.
    Arena,
    /// One `Box` per node from the global allocator (inside wasm, wasi-libc's dlmalloc):
    /// measures the allocator as much as the trees.
    Global,
}

/// Run the benchmark for `n`; returns the check output and the number of nodes allocated.
pub fn binary_trees(n: u32, allocator: Allocator) -> (String, u64) {
    match allocator {
        Allocator::Arena => {
            let long_lived = bumpalo::Bump::new();
            let mut scratch = bumpalo::Bump::new();
            drive(
                n,
                |depth| arena::Tree::bottom_up(&long_lived, depth),
                |tree| tree.check(),
                |depth| {
                    let check = arena::Tree::bottom_up(&scratch, depth).check();
                    scratch.reset();
                    check
                },
            )
        }
        Allocator::Global => drive(
            n,
            boxed::Tree::bottom_up,
            |tree| tree.check(),
            |depth| boxed::Tree::bottom_up(depth).check(),
        ),
    }
}

/// The benchmark's schedule, whatever the allocation: a stretch tree, a long-lived tree
/// kept across many short-lived ones of growing depth, then the long-lived tree's check.
fn drive<L>(
    n: u32,
    build_long_lived: impl FnOnce(u32) -> L,
    check_long_lived: impl Fn(&L) -> u64,
    mut temporary: impl FnMut(u32) -> u64,
) -> (String, u64) {
    let max_depth = n.max(MIN_DEPTH + 2);
    let mut out = String::new();
    let mut nodes = 0;

    let stretch = temporary(max_depth + 1);
    nodes += stretch;
    let _ = writeln!(
        out,
        "stretch tree of depth {}\t check: {stretch}",
        max_depth + 1
    );

    let long_lived = build_long_lived(max_depth);
    for depth in (MIN_DEPTH..=max_depth).step_by(2) {
        let iterations = 1u64 << (max_depth - depth + MIN_DEPTH);
        let check: u64 = (0..iterations).map(|_| temporary(depth)).sum();
        nodes += check;
        let _ = writeln!(
            out,
            "{iterations}\t trees of depth {depth}\t check: {check}"
        );
    }
    let long_check = check_long_lived(&long_lived);
    nodes += long_check;
    let _ = writeln!(
        out,
        "long lived tree of depth {max_depth}\t check: {long_check}"
    );
    (out, nodes)
}

mod boxed {
    //! Trees with one heap allocation per node.

    /// A node; leaves have no children.
    pub struct Tree {
        children: Option<(Box<Tree>, Box<Tree>)>,
    }

    impl Tree {
        pub fn bottom_up(depth: u32) -> Box<Tree> {
            Box::new(Tree {
                children: (depth > 0)
                    .then(|| (Tree::bottom_up(depth - 1), Tree::bottom_up(depth - 1))),
            })
        }

        pub fn check(&self) -> u64 {
            1 + self
                .children
                .as_ref()
                .map_or(0, |(l, r)| l.check() + r.check())
        }
    }
}

mod arena {
    //! Trees whose nodes live in a bump arena.

    use bumpalo::Bump;

    /// A node; leaves have no children.
    pub struct Tree<'a> {
        children: Option<(&'a Tree<'a>, &'a Tree<'a>)>,
    }

    impl<'a> Tree<'a> {
        pub fn bottom_up(arena: &'a Bump, depth: u32) -> &'a Tree<'a> {
            arena.alloc(Tree {
                children: (depth > 0).then(|| {
                    (
                        Tree::bottom_up(arena, depth - 1),
                        Tree::bottom_up(arena, depth - 1),
                    )
                }),
            })
        }

        pub fn check(&self) -> u64 {
            1 + self.children.map_or(0, |(l, r)| l.check() + r.check())
        }
    }
}

#[cfg(test)]
mod tests {
    /// The benchmark's published output for depth 10 (`binarytrees-output.txt`).
    const REFERENCE_10: &str = include_str!("../tests/reference-output-10.txt");

    #[test]
    fn output_matches_the_reference_for_depth_10_with_either_allocator() {
        for allocator in [super::Allocator::Arena, super::Allocator::Global] {
            assert_eq!(
                super::binary_trees(10, allocator).0,
                REFERENCE_10,
                "{allocator:?}"
            );
        }
    }
}
