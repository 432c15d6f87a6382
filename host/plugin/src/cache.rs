//! Compiled components on disk: a component is compiled once per engine configuration,
//! then memory-mapped from `<cache dir>/<key>.cwasm` by every later process.
//!
//! A file is named by the SHA-256 of the component's bytes (which the loader computes
//! anyway) and of the engine's compatibility hash (target, compiler flags, tunables,
//! features and wasmtime's version), so it is only ever read back by an engine that could
//! have written it; wasmtime checks the header again when it loads one. Files are written to a temporary name and renamed, so
//! a reader never sees half a file. Least recently written files go first once the
//! cache is larger than [`MAX_BYTES`].
//!
//! This replaces wasmtime's `cache` feature, whose zstd compression cost every cold
//! build of owbench 50 s of C; a mapped file also loads without decompressing.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Size past which the oldest compiled components are removed.
const MAX_BYTES: u64 = 2 << 30;

/// A directory of compiled components for one engine.
#[derive(Debug, Clone)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
    /// The engine's compatibility hash (hex), part of every file name.
    engine: String,
}

impl ComponentCache {
    /// The cache of `engine`'s compiled components in `dir` (created when the first
    /// component is stored).
    pub(crate) fn new(dir: &Path, engine: &Engine) -> ComponentCache {
        let mut hash = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hash);
        ComponentCache {
            dir: dir.to_path_buf(),
            engine: hex::encode(&hash.0.finalize()[..16]),
        }
    }

    /// Where the compiled form of the component whose SHA-256 is `sha256` (hex) lives.
    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine))
    }

    /// The compiled component whose bytes have SHA-256 `sha256`, if this cache holds it.
    pub(crate) fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path(sha256);
        if !path.is_file() {
            return None;
        }
        // SAFETY: wasmtime requires that a deserialized file is a trusted artifact of
        // `Component::serialize`. Files here are written only by `store` below, under a
        // key that includes this engine's compatibility hash; the directory is the
        // user's own cache, as trusted as the one wasmtime's `cache` feature reads the
        // same way. wasmtime refuses a file of another version or configuration.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize_file(engine, &path) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::debug!("ignoring cached component {}: {e:#}", path.display());
                None
            }
        }
    }

    /// Keep the compiled `component` of `bytes`; failing to is not an error (the next
    /// process compiles again).
    pub(crate) fn store(&self, sha256: &str, component: &Component) {
        if let Err(e) = self.try_store(sha256, component) {
            tracing::debug!(
                "cannot cache a compiled component in {}: {e:#}",
                self.dir.display()
            );
        }
    }

    fn try_store(&self, sha256: &str, component: &Component) -> anyhow::Result<()> {
        let serialized = component.serialize()?;
        std::fs::create_dir_all(&self.dir)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::io::Write::write_all(&mut file, &serialized)?;
        file.persist(self.path(sha256))?;
        self.trim(MAX_BYTES)?;
        Ok(())
    }

    /// Remove the least recently written files until the cache holds at most `max` bytes.
    fn trim(&self, max: u64) -> std::io::Result<()> {
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = std::fs::read_dir(&self.dir)?
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= max {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
        Ok(())
    }
}

/// Feeds what a [`Hash`] writes into SHA-256 (stable across processes and builds, unlike
/// the standard library's hasher).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(
            digest[..8]
                .try_into()
                .expect("a SHA-256 digest has 8 bytes"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: no imports, no exports.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn a_stored_component_loads_and_other_bytes_miss() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ComponentCache::new(&dir.path().join("c"), &engine);
        let sha = hex::encode(Sha256::digest(EMPTY));
        assert!(cache.load(&engine, &sha).is_none());
        let component = Component::new(&engine, EMPTY).unwrap();
        cache.store(&sha, &component);
        assert!(cache.load(&engine, &sha).is_some());
        // A damaged file is ignored, not trusted.
        std::fs::write(cache.path(&sha), b"not a compiled component").unwrap();
        assert!(cache.load(&engine, &sha).is_none());
        // Another engine configuration has another key.
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = ComponentCache::new(&dir.path().join("c"), &Engine::new(&config).unwrap());
        assert_ne!(cache.path(&sha), other.path(&sha));
    }

    #[test]
    fn the_oldest_files_go_first_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(dir.path(), &Engine::default());
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let path = dir.path().join(format!("{name}.cwasm"));
            std::fs::write(&path, [0u8; 100]).unwrap();
            let when =
                std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(i as u64 + 1);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
        cache.trim(200).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["b.cwasm", "c.cwasm"]);
    }
}
