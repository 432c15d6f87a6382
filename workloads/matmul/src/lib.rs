//! `matmul`: dense N×N f64 matrix multiply, the classic CPU-bound serverless kernel
//! (FunctionBench's `matmul`, SeBS's compute microbenchmarks).
//!
//! Inputs are generated from `seed`, so the checksum is a pure function of `(n, seed)`
//! and equal between the wasm and native builds (every element is summed over `k` in
//! ascending order, and neither build fuses multiply-adds).

use std::time::Instant;

use owbench_workload::{Category, Ctx, Error, Info, Params, Value, Workload, json};

/// The largest `n` accepted: three 4096² f64 matrices are 384 MiB.
pub const MAX_N: u64 = 4096;

/// The workload type exported as a component.
pub struct Matmul;

impl Workload for Matmul {
    fn info() -> Info {
        Info {
            name: "matmul",
            version: env!("CARGO_PKG_VERSION"),
            category: Category::Cpu,
            description: "dense N×N f64 matrix multiply (wasm SIMD); returns a checksum and GFLOP/s",
            default_params: json!({ "n": 256, "seed": 42 }),
        }
    }

    fn run(params: &Params, ctx: &mut dyn Ctx) -> Result<Value, Error> {
        let n = params.u64_in("n", 1, MAX_N)? as usize;
        let seed = params.u64_in("seed", 0, u64::MAX)?;
        let a = random_matrix(n, seed);
        let b = random_matrix(n, seed ^ 0x9e37_79b9_7f4a_7c15);
        let started = Instant::now();
        let c = multiply(&a, &b, n);
        let seconds = started.elapsed().as_secs_f64();
        let checksum: f64 = c.iter().sum();
        let gflops = 2.0 * (n as f64).powi(3) / seconds.max(1e-9) / 1e9;
        ctx.metric("gflops", gflops, "GFLOP/s");
        Ok(
            json!({ "n": n, "seed": seed, "checksum": checksum, "seconds": seconds, "gflops": gflops }),
        )
    }
}

owbench_workload::export_workload!(Matmul);

/// `n×n` matrix of values in [-1, 1) from a splitmix64 stream.
pub fn random_matrix(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..n * n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// Rows and columns of the block of `C` kept in registers by [`multiply`].
const BLOCK: usize = 4;

/// Rows of `B` consumed per pass of the innermost loop (written out by hand below; 8
/// measured slower: the accumulators no longer fit in registers).
const UNROLL_K: usize = 4;

/// `acc[r][c] += A[i + r][k] * B[k][j + c]` for the block's 4×4 elements.
#[inline(always)]
fn accumulate(acc: &mut [[f64; BLOCK]; BLOCK], rows: &[&[f64]; BLOCK], k: usize, b_kj: &[f64]) {
    let b_kj: &[f64; BLOCK] = b_kj.try_into().expect("a block-wide slice");
    for (acc_r, row) in acc.iter_mut().zip(rows) {
        let a_rk = row[k];
        for (acc_rc, &b_kc) in acc_r.iter_mut().zip(b_kj) {
            *acc_rc += a_rk * b_kc;
        }
    }
}

/// `C = A × B` for row-major `n×n` matrices.
///
/// Register-blocked: each 4×4 block of `C` is accumulated in locals over all `k`, so one
/// pass of the inner loop does 16 multiply-adds on 4 values of `A` and a 4-wide row slice
/// of `B` (two f64x2 vectors), amortising the loop overhead (and wasmtime's per-iteration
/// epoch check) over many flops. Every element is still the sum over `k` in ascending
/// order from 0.0, so the result does not depend on the blocking or the target.
pub fn multiply(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    let full = n - n % BLOCK;
    for i in (0..full).step_by(BLOCK) {
        let rows: [&[f64]; BLOCK] = std::array::from_fn(|r| &a[(i + r) * n..(i + r + 1) * n]);
        for j in (0..full).step_by(BLOCK) {
            let mut acc = [[0.0f64; BLOCK]; BLOCK];
            // `k` advances four rows of `B` per loop pass (unrolled, still in order): the
            // fewer back-edges, the fewer of wasmtime's epoch checks, whose slow-path call
            // makes Cranelift spill the accumulators around every pass.
            let mut groups = b.chunks_exact(n * UNROLL_K);
            for (g, group) in groups.by_ref().enumerate() {
                let k = g * UNROLL_K;
                let b_kj = |dk: usize| &group[dk * n + j..dk * n + j + BLOCK];
                accumulate(&mut acc, &rows, k, b_kj(0));
                accumulate(&mut acc, &rows, k + 1, b_kj(1));
                accumulate(&mut acc, &rows, k + 2, b_kj(2));
                accumulate(&mut acc, &rows, k + 3, b_kj(3));
            }
            let done = n - groups.remainder().len() / n.max(1);
            for (dk, b_row) in groups.remainder().chunks_exact(n).enumerate() {
                accumulate(&mut acc, &rows, done + dk, &b_row[j..j + BLOCK]);
            }
            for (r, acc_r) in acc.iter().enumerate() {
                c[(i + r) * n + j..(i + r) * n + j + BLOCK].copy_from_slice(acc_r);
            }
        }
    }
    // The edges that do not fill a block: one element at a time, same order.
    for i in 0..n {
        let cols = if i < full { full..n } else { 0..n };
        for j in cols {
            c[i * n + j] = (0..n).fold(0.0, |sum, k| sum + a[i * n + k] * b[k * n + j]);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiply_matches_the_textbook_definition() {
        let n = 7;
        let (a, b) = (random_matrix(n, 1), random_matrix(n, 2));
        let c = multiply(&a, &b, n);
        for i in 0..n {
            for j in 0..n {
                // Same summation order as the definition: equal to the bit.
                let want = (0..n).fold(0.0, |s, k| s + a[i * n + k] * b[k * n + j]);
                assert_eq!(c[i * n + j], want);
            }
        }
    }

    #[test]
    fn edges_that_do_not_fill_a_block_are_computed_too() {
        for n in [1, 3, 5, 6, 9] {
            let (a, b) = (random_matrix(n, 4), random_matrix(n, 5));
            let c = multiply(&a, &b, n);
            for i in 0..n {
                for j in 0..n {
                    let want = (0..n).fold(0.0, |s, k| s + a[i * n + k] * b[k * n + j]);
                    assert_eq!(c[i * n + j], want, "n={n} ({i},{j})");
                }
            }
        }
    }

    #[test]
    fn identity_leaves_a_matrix_unchanged() {
        let n = 5;
        let a = random_matrix(n, 3);
        let mut id = vec![0.0; n * n];
        (0..n).for_each(|i| id[i * n + i] = 1.0);
        assert_eq!(multiply(&a, &id, n), a);
    }
}
