//! Plugin packages: one OCI artifact holding the component (as the CNCF wasm OCI
//! artifact layout has it: a `application/wasm` layer and a wasm config) and its
//! `plugin.toml` (a layer of its own), each by digest. The same artifact goes to an OCI
//! registry or into a local file: an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/…`) as a gzipped tar archive.
//!
//! Reading a package checks everything before anything is used: every blob against its
//! digest and size, that the manifest, the config and `plugin.toml` agree on the name,
//! version and world, and that an archive holds nothing but the layout's files (no
//! links, no absolute or `..` paths, no more bytes than it declares).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::manifest::{self, Manifest, ManifestError};

/// The OCI image manifest's media type.
pub const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The wasm OCI artifact's config media type.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// The component layer's media type.
pub const WASM_LAYER: &str = "application/wasm";
/// The `plugin.toml` layer's media type.
pub const PLUGIN_MANIFEST_LAYER: &str = "application/vnd.owbench.plugin.manifest.v1+toml";
/// The annotation holding a blob's file name, or the package's name.
pub const TITLE: &str = "org.opencontainers.image.title";
/// The annotation holding the package's version.
pub const VERSION: &str = "org.opencontainers.image.version";
/// The annotation holding the package's description.
pub const DESCRIPTION: &str = "org.opencontainers.image.description";
/// The annotation naming the image in an OCI layout's `index.json`.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Largest package, all blobs together (a component is a few MB to a few tens of MB).
pub const MAX_PACKAGE: u64 = 512 << 20;
/// Largest `index.json` or image manifest.
const MAX_JSON: u64 = 1 << 20;
/// An archive may expand to at most this many times its compressed size (wasm
/// compresses about 3:1; a run of zeros about 1000:1).
const MAX_RATIO: u64 = 100;

/// Why a package was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The archive or a blob could not be read.
    #[error("cannot read {what}: {source}")]
    Read {
        /// What was being read.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The archive holds an entry a package must not have.
    #[error("archive entry `{entry}`: {reason}")]
    BadEntry {
        /// The entry's path.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The archive expands to far more than its size (a decompression bomb?).
    #[error(
        "the archive expands to more than {MAX_RATIO} times its size or past {} MiB: refused",
        MAX_PACKAGE >> 20
    )]
    TooLarge,
    /// A blob's content does not match its digest or size.
    #[error("blob {digest}: {reason}")]
    Digest {
        /// The digest the descriptor names.
        digest: String,
        /// What does not match.
        reason: String,
    },
    /// The layout, manifest or config is not what a package holds.
    #[error("not an owbench plugin package: {0}")]
    Layout(String),
    /// `plugin.toml` was refused.
    #[error("plugin.toml: {0}")]
    Manifest(#[from] ManifestError),
    /// The manifest, config and `plugin.toml` disagree.
    #[error("the package and its plugin.toml disagree: {0}")]
    Disagree(String),
}

/// An OCI content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of what it points to.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image manifest (the fields a package uses).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`IMAGE_MANIFEST`].
    #[serde(default)]
    pub media_type: Option<String>,
    /// [`WASM_LAYER`]: what registries list the artifact as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The wasm config.
    pub config: Descriptor,
    /// The component, then `plugin.toml`.
    pub layers: Vec<Descriptor>,
    /// Name, version and description.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The wasm OCI artifact's config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig {
    architecture: String,
    os: String,
    layer_digests: Vec<String>,
    component: ComponentInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ComponentInfo {
    /// The world the component targets, `owbench:plugin/<world>@<version>`.
    target: String,
}

/// A package as blobs: its image manifest and every blob it names, by digest.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The image manifest, as stored (its digest is the package's).
    pub manifest: Vec<u8>,
    /// The blobs by digest.
    pub blobs: BTreeMap<String, Vec<u8>>,
}

/// A package whose every digest was checked, with its parsed `plugin.toml`.
#[derive(Debug, Clone)]
pub struct Package {
    /// `plugin.toml`, as packed.
    pub manifest_text: String,
    /// `plugin.toml`, parsed.
    pub manifest: Manifest,
    /// The component.
    pub component: Vec<u8>,
    /// Digests of the package (image manifest), the component and `plugin.toml`.
    pub digests: Digests,
}

/// The digests that identify a package and its parts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Digests {
    /// The image manifest's digest: the package's identity.
    pub package: String,
    /// The component's.
    pub component: String,
    /// `plugin.toml`'s.
    pub manifest: String,
}

/// Whether `text` is a digest as packages name them: `sha256:` and 64 lowercase hex
/// digits.
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn descriptor(media_type: &str, bytes: &[u8], title: Option<&str>) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: digest_of(bytes),
        size: bytes.len() as u64,
        annotations: title
            .map(|t| BTreeMap::from([(TITLE.to_owned(), t.to_owned())]))
            .unwrap_or_default(),
    }
}

impl Artifact {
    /// The package of a plugin: `manifest_text` (its `plugin.toml`) and its component.
    /// The same inputs give the same bytes (no time stamps).
    pub fn pack(manifest_text: &str, component: &[u8]) -> Result<Artifact, PackageError> {
        let manifest = Manifest::parse(manifest_text)?;
        let layers = vec![
            descriptor(WASM_LAYER, component, Some(&manifest.component)),
            descriptor(
                PLUGIN_MANIFEST_LAYER,
                manifest_text.as_bytes(),
                Some("plugin.toml"),
            ),
        ];
        let config = WasmConfig {
            architecture: "wasm".into(),
            os: "wasip2".into(),
            layer_digests: vec![layers[0].digest.clone()],
            component: ComponentInfo {
                target: manifest.world.to_string(),
            },
        };
        let config = serde_json::to_vec(&config).expect("config serializes");
        let mut annotations = BTreeMap::from([
            (TITLE.to_owned(), manifest.name.clone()),
            (VERSION.to_owned(), manifest.version.to_string()),
        ]);
        if let Some(d) = &manifest.description {
            annotations.insert(DESCRIPTION.to_owned(), d.clone());
        }
        let image = ImageManifest {
            schema_version: 2,
            media_type: Some(IMAGE_MANIFEST.into()),
            artifact_type: Some(WASM_LAYER.into()),
            config: descriptor(WASM_CONFIG, &config, None),
            layers,
            annotations,
        };
        let blobs = BTreeMap::from([
            (image.config.digest.clone(), config),
            (image.layers[0].digest.clone(), component.to_vec()),
            (
                image.layers[1].digest.clone(),
                manifest_text.as_bytes().to_vec(),
            ),
        ]);
        Ok(Artifact {
            manifest: serde_json::to_vec_pretty(&image).expect("manifest serializes"),
            blobs,
        })
    }

    /// The image manifest, parsed.
    pub fn image(&self) -> Result<ImageManifest, PackageError> {
        serde_json::from_slice(&self.manifest)
            .map_err(|e| PackageError::Layout(format!("image manifest: {e}")))
    }

    /// Check every digest and that the parts agree; the package, ready to install.
    pub fn open(&self) -> Result<Package, PackageError> {
        let image = self.image()?;
        if image.schema_version != 2
            || image
                .media_type
                .as_deref()
                .is_some_and(|m| m != IMAGE_MANIFEST)
        {
            return Err(PackageError::Layout(
                "the manifest is not an OCI image manifest (schema 2)".into(),
            ));
        }
        if image.config.media_type != WASM_CONFIG {
            return Err(PackageError::Layout(format!(
                "config is `{}`, not `{WASM_CONFIG}`",
                image.config.media_type
            )));
        }
        let layer = |media: &str| {
            let mut found = image.layers.iter().filter(|l| l.media_type == media);
            match (found.next(), found.next()) {
                (Some(l), None) => Ok(l),
                _ => Err(PackageError::Layout(format!(
                    "it must have exactly one `{media}` layer"
                ))),
            }
        };
        let wasm = layer(WASM_LAYER)?;
        let toml = layer(PLUGIN_MANIFEST_LAYER)?;
        if image.layers.len() != 2 {
            return Err(PackageError::Layout(format!(
                "it has {} layers; a package has the component and plugin.toml",
                image.layers.len()
            )));
        }
        let config_bytes = self.blob(&image.config)?;
        let component = self.blob(wasm)?;
        let manifest_bytes = self.blob(toml)?;
        let config: WasmConfig = serde_json::from_slice(config_bytes)
            .map_err(|e| PackageError::Layout(format!("wasm config: {e}")))?;
        let manifest_text = String::from_utf8(manifest_bytes.to_vec())
            .map_err(|_| PackageError::Layout("plugin.toml is not UTF-8".into()))?;
        let manifest = Manifest::parse(&manifest_text)?;

        let target = manifest::parse_world(&config.component.target)?;
        if target != manifest.world {
            return Err(PackageError::Disagree(format!(
                "the config's component targets `{}`, plugin.toml says `{}`",
                config.component.target, manifest.world
            )));
        }
        if config.layer_digests != [wasm.digest.clone()] {
            return Err(PackageError::Disagree(
                "the config's layer digests do not name the component layer".into(),
            ));
        }
        for (key, value, what) in [
            (TITLE, manifest.name.clone(), "name"),
            (VERSION, manifest.version.to_string(), "version"),
        ] {
            match image.annotations.get(key) {
                Some(v) if *v == value => {}
                Some(v) => {
                    return Err(PackageError::Disagree(format!(
                        "the package's {what} is `{v}`, plugin.toml's `{value}`"
                    )));
                }
                None => {
                    return Err(PackageError::Layout(format!("no `{key}` annotation")));
                }
            }
        }
        Ok(Package {
            manifest_text,
            manifest,
            component: component.to_vec(),
            digests: Digests {
                package: digest_of(&self.manifest),
                component: wasm.digest.clone(),
                manifest: toml.digest.clone(),
            },
        })
    }

    /// The blob `d` points to, checked against its digest and size.
    fn blob(&self, d: &Descriptor) -> Result<&[u8], PackageError> {
        let bad = |reason: String| PackageError::Digest {
            digest: d.digest.clone(),
            reason,
        };
        let bytes = self
            .blobs
            .get(&d.digest)
            .ok_or_else(|| bad("missing from the package".into()))?;
        if bytes.len() as u64 != d.size {
            return Err(bad(format!(
                "{} bytes, the descriptor says {}",
                bytes.len(),
                d.size
            )));
        }
        let actual = digest_of(bytes);
        if actual != d.digest {
            return Err(bad(format!("content hashes to {actual}")));
        }
        Ok(bytes)
    }

    /// Write the package as an OCI image layout in a gzipped tar archive.
    pub fn write_archive(&self, out: impl Write) -> std::io::Result<()> {
        let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let mut add = |path: &str, bytes: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, path, bytes)
        };
        add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let version = self
            .image()
            .ok()
            .and_then(|i| i.annotations.get(VERSION).cloned())
            .unwrap_or_else(|| "latest".into());
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": IMAGE_MANIFEST,
                "digest": digest_of(&self.manifest),
                "size": self.manifest.len(),
                "annotations": {REF_NAME: version},
            }],
        });
        add("index.json", &serde_json::to_vec_pretty(&index)?)?;
        add(&blob_path(&digest_of(&self.manifest)), &self.manifest)?;
        for (digest, bytes) in &self.blobs {
            add(&blob_path(digest), bytes)?;
        }
        tar.into_inner()?.finish()?.flush()
    }

    /// Read a package archive written by [`write_archive`](Artifact::write_archive) (or
    /// any OCI image layout of one package, gzipped or not), refusing links, paths
    /// outside the layout and archives that expand far past their size.
    pub fn read_archive(path: &Path) -> Result<Artifact, PackageError> {
        let read_err = |source| PackageError::Read {
            what: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let compressed = file.metadata().map_err(read_err)?.len();
        let budget = compressed
            .saturating_mul(MAX_RATIO)
            .saturating_add(1 << 20)
            .min(MAX_PACKAGE);
        let mut file = std::io::BufReader::new(file);
        // gzip's magic number; anything else is read as a plain tar.
        let gzipped = std::io::BufRead::fill_buf(&mut file)
            .map_err(read_err)?
            .starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read> = if gzipped {
            Box::new(flate2::read::GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        // The tar stream itself is bounded too: headers and padding count.
        let mut bounded = Bounded {
            inner: reader,
            left: budget.saturating_add(budget / 8 + (1 << 20)),
        };
        let mut archive = tar::Archive::new(&mut bounded);
        let mut index = None;
        let mut blobs = BTreeMap::new();
        let mut total = 0u64;
        let entries = archive.entries().map_err(read_err)?;
        for entry in entries {
            let mut entry = entry.map_err(|e| bomb_or(e, path))?;
            let name = entry
                .path()
                .map_err(read_err)?
                .to_string_lossy()
                .into_owned();
            let bad = |reason| PackageError::BadEntry {
                entry: name.clone(),
                reason,
            };
            let kind = entry.header().entry_type();
            let clean = name.trim_start_matches("./");
            if name.starts_with('/') || Path::new(&name).is_absolute() {
                return Err(bad("an absolute path"));
            }
            if clean.split('/').any(|part| part == "..") {
                return Err(bad("a path that leaves the package"));
            }
            if kind.is_symlink() || kind.is_hard_link() {
                return Err(bad("a link"));
            }
            if kind.is_dir() {
                continue;
            }
            if !kind.is_file() {
                return Err(bad("neither a file nor a directory"));
            }
            // The entry's size as tar readers take it (a PAX `size` record overrides the
            // header's).
            let size = entry.size();
            total = total.saturating_add(size);
            if total > budget {
                return Err(PackageError::TooLarge);
            }
            let mut bytes = Vec::with_capacity(size.min(MAX_PACKAGE) as usize);
            entry
                .by_ref()
                .take(size)
                .read_to_end(&mut bytes)
                .map_err(|e| bomb_or(e, path))?;
            match clean {
                "oci-layout" => {}
                "index.json" if size <= MAX_JSON => index = Some(bytes),
                "index.json" => return Err(bad("larger than 1 MiB")),
                _ => match clean
                    .strip_prefix("blobs/sha256/")
                    .map(|hex| format!("sha256:{hex}"))
                    .filter(|d| is_digest(d))
                {
                    Some(digest) => {
                        blobs.insert(digest, bytes);
                    }
                    None => return Err(bad("not a file of an OCI image layout")),
                },
            }
        }
        let index = index.ok_or_else(|| PackageError::Layout("no index.json".into()))?;
        let index: serde_json::Value = serde_json::from_slice(&index)
            .map_err(|e| PackageError::Layout(format!("index.json: {e}")))?;
        let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
        let [only] = manifests.as_slice() else {
            return Err(PackageError::Layout(format!(
                "index.json names {} manifests; a package has one",
                manifests.len()
            )));
        };
        let descriptor: Descriptor = serde_json::from_value(only.clone())
            .map_err(|e| PackageError::Layout(format!("index.json: {e}")))?;
        if descriptor.size > MAX_JSON {
            return Err(PackageError::Layout(
                "the image manifest is too large".into(),
            ));
        }
        let manifest = blobs.remove(&descriptor.digest).ok_or_else(|| {
            PackageError::Layout(format!(
                "index.json names {}, which the archive lacks",
                descriptor.digest
            ))
        })?;
        let artifact = Artifact { manifest, blobs };
        let actual = digest_of(&artifact.manifest);
        if actual != descriptor.digest {
            return Err(PackageError::Digest {
                digest: descriptor.digest,
                reason: format!("content hashes to {actual}"),
            });
        }
        Ok(artifact)
    }
}

/// `blobs/sha256/<hex>` of `digest`.
fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// A read error, or [`PackageError::TooLarge`] when the bound ran out.
fn bomb_or(e: std::io::Error, path: &Path) -> PackageError {
    if e.get_ref().is_some_and(|inner| inner.is::<Exhausted>()) {
        PackageError::TooLarge
    } else {
        PackageError::Read {
            what: path.display().to_string(),
            source: e,
        }
    }
}

/// The reader's bound ran out.
#[derive(Debug)]
struct Exhausted;

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the archive expands past its bound")
    }
}

impl std::error::Error for Exhausted {}

/// A reader that fails once more than `left` bytes were read.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self
            .left
            .checked_sub(n as u64)
            .ok_or_else(|| std::io::Error::other(Exhausted))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = "name = \"hello\"\nversion = \"1.2.0\"\n\
        world = \"owbench:plugin/workload@0.4.0\"\ncomponent = \"hello.wasm\"\n";

    #[test]
    fn a_packed_plugin_opens_with_its_digests() {
        let artifact = Artifact::pack(TOML, b"\0asm-component").unwrap();
        let package = artifact.open().unwrap();
        assert_eq!(package.manifest.name, "hello");
        assert_eq!(package.component, b"\0asm-component");
        assert_eq!(package.digests.component, digest_of(b"\0asm-component"));
        assert_eq!(package.digests.package, digest_of(&artifact.manifest));
        // Reproducible: the same plugin packs to the same package.
        let again = Artifact::pack(TOML, b"\0asm-component").unwrap();
        assert_eq!(again.manifest, artifact.manifest);
    }

    #[test]
    fn an_archive_round_trips() {
        let artifact = Artifact::pack(TOML, &[7u8; 5000]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello.tar.gz");
        artifact
            .write_archive(std::fs::File::create(&path).unwrap())
            .unwrap();
        let read = Artifact::read_archive(&path).unwrap();
        assert_eq!(read.manifest, artifact.manifest);
        assert_eq!(read.blobs, artifact.blobs);
    }

    #[test]
    fn a_changed_blob_is_a_digest_mismatch() {
        let mut artifact = Artifact::pack(TOML, b"\0asm-component").unwrap();
        let digest = digest_of(b"\0asm-component");
        artifact
            .blobs
            .insert(digest.clone(), b"\0asm-c0mponent".to_vec());
        let e = artifact.open().unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("blob {digest}: content hashes to sha256:")),
            "{e}"
        );
    }

    #[test]
    fn a_manifest_that_disagrees_with_the_package_is_refused() {
        let artifact = Artifact::pack(TOML, b"x").unwrap();
        let mut image = artifact.image().unwrap();
        image.annotations.insert(VERSION.into(), "9.9.9".into());
        let tampered = Artifact {
            manifest: serde_json::to_vec(&image).unwrap(),
            blobs: artifact.blobs.clone(),
        };
        assert_eq!(
            tampered.open().unwrap_err().to_string(),
            "the package and its plugin.toml disagree: the package's version is `9.9.9`, plugin.toml's `1.2.0`"
        );
    }
}
