//! `matmul`: dense N×N f64 matrix multiply, the classic CPU-bound serverless kernel
//! (FunctionBench's `matmul`, SeBS's compute microbenchmarks).
//!
//! Inputs are generated from `seed`, so the checksum is a pure function of `(n, seed)`
//! and equal between the wasm and native builds (the summation order is fixed: the
//! i-k-j loop vectorises across `j` only, and neither build fuses multiply-adds).

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

/// `C = A × B` for row-major `n×n` matrices, i-k-j order so the inner loop streams rows.
pub fn multiply(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    for (a_row, c_row) in a.chunks_exact(n).zip(c.chunks_exact_mut(n)) {
        for (&a_ik, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            for (c_ij, &b_kj) in c_row.iter_mut().zip(b_row) {
                *c_ij += a_ik * b_kj;
            }
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
                let want: f64 = (0..n).map(|k| a[i * n + k] * b[k * n + j]).sum();
                assert!((c[i * n + j] - want).abs() < 1e-12);
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
