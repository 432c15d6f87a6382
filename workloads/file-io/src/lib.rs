//! `file-io`: a disk-bound kernel. Writes a file block by block, then reads it back, both
//! sequentially and in a seeded random block order, with `fsync` after each write phase;
//! every block read is verified against the pattern written.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Instant;

use owbench_workload::{Category, Ctx, Error, Info, Params, Value, Workload, failed, json};

/// The workload type exported as a component.
pub struct FileIo;

impl Workload for FileIo {
    fn info() -> Info {
        Info {
            name: "file-io",
            version: env!("CARGO_PKG_VERSION"),
            category: Category::Disk,
            description: "sequential and random block writes and verified reads in the scratch dir, with fsync",
            default_params: json!({ "size_mb": 16, "block_kb": 64, "fsync": true, "seed": 7 }),
        }
    }

    fn run(params: &Params, ctx: &mut dyn Ctx) -> Result<Value, Error> {
        let size = params.u64_in("size_mb", 1, 4096)? << 20;
        let block = (params.u64_in("block_kb", 1, 16 * 1024)? << 10) as usize;
        if size % block as u64 != 0 {
            return Err(Error::InvalidParams(format!(
                "`size_mb` ({} MiB) must be a whole number of `block_kb` blocks ({} KiB)",
                size >> 20,
                block >> 10
            )));
        }
        let fsync = params.bool("fsync")?;
        let seed = params.u64_in("seed", 0, u64::MAX)?;
        let blocks = size / block as u64;
        let path = ctx.scratch_dir().join("file-io.dat");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(failed("create the test file"))?;

        let sequential: Vec<u64> = (0..blocks).collect();
        let random = shuffled(blocks, seed);
        let mut phases = owbench_workload::Map::new();
        let mut buf = vec![0u8; block];
        for (name, order, write, generation) in [
            ("seq_write", &sequential, true, 1),
            ("seq_read", &sequential, false, 1),
            ("rand_write", &random, true, 2),
            ("rand_read", &random, false, 2),
        ] {
            let started = Instant::now();
            for &index in order {
                file.seek(SeekFrom::Start(index * block as u64))
                    .map_err(failed(name))?;
                if write {
                    fill(&mut buf, seed, index, generation);
                    file.write_all(&buf).map_err(failed(name))?;
                } else {
                    file.read_exact(&mut buf).map_err(failed(name))?;
                    verify(&buf, seed, index, generation, block)?;
                }
            }
            if write && fsync {
                file.sync_all().map_err(failed(name))?;
            }
            let seconds = started.elapsed().as_secs_f64();
            let mbps = size as f64 / 1e6 / seconds.max(1e-9);
            ctx.metric(&format!("{name}_mbps"), mbps, "MB/s");
            phases.insert(name.into(), json!({ "seconds": seconds, "mbps": mbps }));
        }
        drop(file);
        remove(&path)?;
        Ok(json!({ "bytes": size, "block_bytes": block, "fsync": fsync, "phases": phases }))
    }
}

owbench_workload::export_workload!(FileIo);

fn remove(path: &Path) -> Result<(), Error> {
    std::fs::remove_file(path).map_err(failed("remove the test file"))
}

/// Fill `buf` with the pattern of block `index` in write `generation`.
fn fill(buf: &mut [u8], seed: u64, index: u64, generation: u64) {
    let mut state = seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (generation << 56);
    for chunk in buf.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
}

fn verify(buf: &[u8], seed: u64, index: u64, generation: u64, block: usize) -> Result<(), Error> {
    let mut want = vec![0u8; buf.len()];
    fill(&mut want, seed, index, generation);
    match buf.iter().zip(&want).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(at) => Err(Error::Failed(format!(
            "data read back differs from data written at byte offset {}",
            index * block as u64 + at as u64
        ))),
    }
}

/// A seeded permutation of `0..n` (Fisher–Yates over xorshift64*).
fn shuffled(n: u64, seed: u64) -> Vec<u64> {
    let mut order: Vec<u64> = (0..n).collect();
    let mut state = seed | 1;
    for i in (1..order.len()).rev() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let j = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffled_is_a_permutation() {
        let mut p = shuffled(1000, 9);
        assert_ne!(p, (0..1000).collect::<Vec<_>>());
        p.sort();
        assert_eq!(p, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn verify_names_the_first_bad_offset() {
        let mut buf = vec![0u8; 64];
        fill(&mut buf, 1, 3, 1);
        assert!(verify(&buf, 1, 3, 1, 64).is_ok());
        buf[10] ^= 1;
        let e = verify(&buf, 1, 3, 1, 64).unwrap_err();
        assert_eq!(
            e.to_string(),
            "data read back differs from data written at byte offset 202"
        );
    }
}
