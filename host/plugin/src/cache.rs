//! Compiled components on disk: a component is compiled once per engine configuration,
//! then memory-mapped from `<cache dir>/<key>.cwasm` by every later process.
//!
//! The key is the SHA-256 of the component's bytes and of the engine's compatibility
//! hash (target, compiler flags, tunables, features and wasmtime's version), so a file is
//! only ever read back by an engine that could have written it; wasmtime checks the
//! header again when it loads one. Files are written to a temporary name and renamed, so
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

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    /// The cache in `dir` (created when the first component is stored).
    pub(crate) fn new(dir: &Path) -> ComponentCache {
        ComponentCache {
            dir: dir.to_path_buf(),
        }
    }

    /// Where the compiled form of `bytes` for `engine` lives.
    fn path(&self, engine: &Engine, bytes: &[u8]) -> PathBuf {
        let mut key = ShaHasher(Sha256::new());
        key.write(bytes);
        engine.precompile_compatibility_hash().hash(&mut key);
        self.dir
            .join(format!("{}.cwasm", hex::encode(key.0.finalize())))
    }

    /// The compiled component of `bytes`, if this cache holds it.
    pub(crate) fn load(&self, engine: &Engine, bytes: &[u8]) -> Option<Component> {
        let path = self.path(engine, bytes);
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
    pub(crate) fn store(&self, engine: &Engine, bytes: &[u8], component: &Component) {
        if let Err(e) = self.try_store(engine, bytes, component) {
            tracing::debug!(
                "cannot cache a compiled component in {}: {e:#}",
                self.dir.display()
            );
        }
    }

    fn try_store(
        &self,
        engine: &Engine,
        bytes: &[u8],
        component: &Component,
    ) -> anyhow::Result<()> {
        let serialized = component.serialize()?;
        std::fs::create_dir_all(&self.dir)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::io::Write::write_all(&mut file, &serialized)?;
        file.persist(self.path(engine, bytes))?;
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
        let cache = ComponentCache::new(&dir.path().join("c"));
        let engine = Engine::default();
        assert!(cache.load(&engine, EMPTY).is_none());
        let component = Component::new(&engine, EMPTY).unwrap();
        cache.store(&engine, EMPTY, &component);
        assert!(cache.load(&engine, EMPTY).is_some());
        // A damaged file is ignored, not trusted.
        std::fs::write(cache.path(&engine, EMPTY), b"not a compiled component").unwrap();
        assert!(cache.load(&engine, EMPTY).is_none());
        // Other bytes (or another engine configuration) have another key.
        assert_ne!(cache.path(&engine, EMPTY), cache.path(&engine, b"\0asm"));
    }

    #[test]
    fn the_oldest_files_go_first_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::new(dir.path());
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
