//! Installed plugin packages: `<root>/<name>/<version>/` holds the package's
//! `plugin.toml`, its component and `package.json` (where it came from, its digests and
//! the permissions the user granted). An installation is written beside its final place
//! and renamed into it, so a failed install leaves nothing behind.

use std::path::{Path, PathBuf};

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::manifest::{Credentials, Manifest};
use crate::package::{Digests, Package};

/// Where `plugin install` puts packages: `$OWBENCH_PLUGINS_DIR`, else
/// `$XDG_DATA_HOME/owbench/plugins` (`~/.local/share/owbench/plugins`).
pub fn default_root() -> PathBuf {
    crate::dirs::owbench_dir(
        "OWBENCH_PLUGINS_DIR",
        "XDG_DATA_HOME",
        ".local/share",
        "plugins",
    )
}

/// What a plugin asks to be allowed, as the user is shown it and grants it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Permissions {
    /// Hosts it may send HTTP requests to.
    pub outbound_hosts: Vec<String>,
    /// Whose credentials the host signs its requests with.
    pub credentials: Option<String>,
    /// Memory per call, MiB.
    pub memory_mb: u64,
    /// Time per call, ms.
    pub timeout_ms: u64,
}

impl Permissions {
    /// What `manifest` asks for.
    pub fn of(manifest: &Manifest) -> Permissions {
        Permissions {
            outbound_hosts: manifest
                .allowed_outbound_hosts
                .iter()
                .map(ToString::to_string)
                .collect(),
            credentials: manifest.credentials.map(|c| match c {
                Credentials::Aws => "aws".to_owned(),
                Credentials::Oci => "oci".to_owned(),
            }),
            memory_mb: manifest.memory_limit >> 20,
            timeout_ms: manifest.timeout.as_millis() as u64,
        }
    }

    /// Whether a grant of `self` covers what `asked` asks for.
    pub fn covers(&self, asked: &Permissions) -> bool {
        asked
            .outbound_hosts
            .iter()
            .all(|h| self.outbound_hosts.contains(h))
            && (asked.credentials.is_none() || asked.credentials == self.credentials)
            && asked.memory_mb <= self.memory_mb
            && asked.timeout_ms <= self.timeout_ms
    }

    /// One line per permission, as the user is asked.
    pub fn lines(&self) -> Vec<String> {
        let hosts = if self.outbound_hosts.is_empty() {
            "none".to_owned()
        } else {
            self.outbound_hosts.join(", ")
        };
        let mut lines = vec![format!("outbound HTTP to: {hosts}")];
        if let Some(c) = &self.credentials {
            lines.push(format!(
                "requests signed with your {} credentials (the plugin never sees them)",
                c.to_uppercase()
            ));
        }
        lines.push(format!("memory: up to {} MiB per call", self.memory_mb));
        lines.push(format!("time: up to {} ms per call", self.timeout_ms));
        lines
    }
}

/// `package.json` of an installed package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// Where it was installed from (a file, a directory or a registry reference).
    pub origin: String,
    /// Where its updates come from: `registry REGISTRY/REPOSITORY`, or `local` (a file
    /// or a directory); a grant holds only for updates from the same source.
    pub source: String,
    /// Its digests.
    pub digests: Digests,
    /// The permissions the user granted.
    pub granted: Permissions,
}

/// One installed package.
#[derive(Debug, Clone)]
pub struct Installed {
    /// Its directory (a plugin directory: `plugin.toml` and the component).
    pub dir: PathBuf,
    /// Its `plugin.toml`.
    pub manifest: Manifest,
    /// Its `package.json`.
    pub record: Record,
}

/// Why an installed package could not be used, installed or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The same name and version is installed already.
    #[error("{name}@{version} is already installed (from {origin}); remove it first")]
    Duplicate {
        /// Name.
        name: String,
        /// Version.
        version: Version,
        /// Where the installed one came from.
        origin: String,
    },
    /// Nothing installed matches.
    #[error("no installed plugin `{0}`")]
    NotInstalled(String),
    /// Its files no longer match what was installed and granted.
    #[error("installed plugin {0}: {1}; reinstall it")]
    Changed(String, String),
    /// Reading or writing the store failed.
    #[error("plugin store {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The installed packages under one root.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The store at `root`.
    pub fn at(root: PathBuf) -> Store {
        Store { root }
    }

    /// The store at [`default_root`].
    pub fn open_default() -> Store {
        Store::at(default_root())
    }

    /// Its root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every installed package, by name then version.
    pub fn list(&self) -> Vec<Installed> {
        let mut found: Vec<Installed> = subdirs(&self.root)
            .into_iter()
            .flat_map(|name| subdirs(&name))
            .filter_map(|dir| read_installed(&dir).ok())
            .collect();
        found.sort_by(|a, b| {
            (&a.manifest.name, &a.manifest.version).cmp(&(&b.manifest.name, &b.manifest.version))
        });
        found
    }

    /// The installed package `name` at `version` (else its newest version), checked
    /// against what was installed and granted.
    pub fn find(&self, name: &str, version: Option<&Version>) -> Result<Installed, StoreError> {
        let shown = match version {
            Some(v) => format!("{name}@{v}"),
            None => name.to_owned(),
        };
        let (good, bad): (Vec<_>, Vec<_>) = subdirs(&self.root.join(name))
            .into_iter()
            .filter(|d| version.is_none_or(|v| d.file_name().is_some_and(|f| *f == *v.to_string())))
            .map(|d| read_installed(&d))
            .partition(Result::is_ok);
        let newest = good
            .into_iter()
            .flatten()
            .filter(|i| i.manifest.name == name)
            .max_by(|a, b| a.manifest.version.cmp(&b.manifest.version));
        let found = match (newest, bad.into_iter().find_map(Result::err)) {
            (Some(found), _) => found,
            (None, Some(broken)) => return Err(broken),
            (None, None) => return Err(StoreError::NotInstalled(shown)),
        };
        let asked = Permissions::of(&found.manifest);
        if !found.record.granted.covers(&asked) {
            return Err(StoreError::Changed(
                shown,
                "its plugin.toml asks for more than was granted".into(),
            ));
        }
        let component =
            std::fs::read(found.dir.join(&found.manifest.component)).map_err(io(&found.dir))?;
        if crate::package::digest_of(&component) != found.record.digests.component {
            return Err(StoreError::Changed(
                shown,
                "its component is not the one installed".into(),
            ));
        }
        Ok(found)
    }

    /// The permissions granted to the newest installed version of `name` from `source`.
    pub fn granted(&self, name: &str, source: &str) -> Option<Permissions> {
        self.list()
            .into_iter()
            .rev()
            .find(|i| i.manifest.name == name && i.record.source == source)
            .map(|i| i.record.granted)
    }

    /// Whether installing `manifest` from `source` needs the user's grant: nothing of
    /// its name is installed from that source, or it asks for more than was granted.
    pub fn needs_grant(&self, manifest: &Manifest, source: &str) -> bool {
        self.granted(&manifest.name, source)
            .is_none_or(|g| !g.covers(&Permissions::of(manifest)))
    }

    /// Install `package`, from `origin` (its updates from `source`), with `granted`
    /// permissions.
    pub fn install(
        &self,
        package: &Package,
        origin: &str,
        source: &str,
        granted: Permissions,
    ) -> Result<Installed, StoreError> {
        let m = &package.manifest;
        let name_dir = self.root.join(&m.name);
        let dir = name_dir.join(m.version.to_string());
        if let Ok(existing) = read_installed(&dir) {
            return Err(StoreError::Duplicate {
                name: m.name.clone(),
                version: m.version.clone(),
                origin: existing.record.origin,
            });
        }
        std::fs::create_dir_all(&name_dir).map_err(io(&name_dir))?;
        let staging = tempfile::Builder::new()
            .prefix(".installing-")
            .tempdir_in(&name_dir)
            .map_err(io(&name_dir))?;
        let record = Record {
            origin: origin.to_owned(),
            source: source.to_owned(),
            digests: package.digests.clone(),
            granted,
        };
        let write = |file: &str, bytes: &[u8]| {
            let path = staging.path().join(file);
            std::fs::write(&path, bytes).map_err(io(&path))
        };
        write("plugin.toml", package.manifest_text.as_bytes())?;
        write(&m.component, &package.component)?;
        write(
            "package.json",
            &serde_json::to_vec_pretty(&record).expect("record serializes"),
        )?;
        // What is about to be installed reads back as installed, or nothing is.
        read_installed(staging.path())?;
        // A directory left by an earlier failure is not an installation: replace it.
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        let staged = staging.keep();
        std::fs::rename(&staged, &dir).map_err(|e| {
            _ = std::fs::remove_dir_all(&staged);
            io(&dir)(e)
        })?;
        read_installed(&dir)
    }

    /// Remove `name` at `version` (every version when `None`); what was removed.
    pub fn remove(
        &self,
        name: &str,
        version: Option<&Version>,
    ) -> Result<Vec<Installed>, StoreError> {
        let gone: Vec<Installed> = self
            .list()
            .into_iter()
            .filter(|i| i.manifest.name == name && version.is_none_or(|v| *v == i.manifest.version))
            .collect();
        if gone.is_empty() {
            return Err(StoreError::NotInstalled(match version {
                Some(v) => format!("{name}@{v}"),
                None => name.to_owned(),
            }));
        }
        for i in &gone {
            std::fs::remove_dir_all(&i.dir).map_err(io(&i.dir))?;
        }
        let name_dir = self.root.join(name);
        if subdirs(&name_dir).is_empty() {
            _ = std::fs::remove_dir_all(&name_dir);
        }
        Ok(gone)
    }
}

/// Split `name@version`; a bare name has no version.
pub fn split_reference(text: &str) -> Result<(&str, Option<Version>), String> {
    match text.split_once('@') {
        None => Ok((text, None)),
        Some((name, version)) => Version::parse(version)
            .map(|v| (name, Some(v)))
            .map_err(|e| format!("`{text}`: `{version}` is not a version ({e})")),
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect()
}

fn read_installed(dir: &Path) -> Result<Installed, StoreError> {
    let changed = |what: String| StoreError::Changed(dir.display().to_string(), what);
    let text = std::fs::read_to_string(dir.join("plugin.toml")).map_err(io(dir))?;
    let manifest = Manifest::parse(&text).map_err(|e| changed(e.to_string()))?;
    let record = std::fs::read(dir.join("package.json")).map_err(io(dir))?;
    let record: Record =
        serde_json::from_slice(&record).map_err(|e| changed(format!("package.json: {e}")))?;
    if crate::package::digest_of(text.as_bytes()) != record.digests.manifest {
        return Err(changed("its plugin.toml is not the one installed".into()));
    }
    Ok(Installed {
        dir: dir.to_path_buf(),
        manifest,
        record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::Artifact;

    fn package(version: &str, hosts: &str) -> Package {
        let toml = format!(
            "name = \"hello\"\nversion = \"{version}\"\nworld = \"owbench:plugin/workload@0.4.0\"\n\
             [permissions]\nallowed_outbound_hosts = [{hosts}]\n"
        );
        Artifact::pack(&toml, b"\0asm").unwrap().open().unwrap()
    }

    #[test]
    fn an_update_that_asks_for_more_needs_a_new_grant() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().to_path_buf());
        let first = package("1.0.0", "\"https://example.com\"");
        assert!(store.needs_grant(&first.manifest, "local"));
        store
            .install(&first, "test", "local", Permissions::of(&first.manifest))
            .unwrap();
        let same = package("1.1.0", "\"https://example.com\"");
        assert!(!store.needs_grant(&same.manifest, "local"));
        // The same plugin from another source is asked about again.
        assert!(store.needs_grant(&same.manifest, "registry ghcr.io/someone/hello"));
        let more = package("1.2.0", "\"https://example.com\", \"https://example.org\"");
        assert!(store.needs_grant(&more.manifest, "local"));
        let mut bigger = package("1.3.0", "\"https://example.com\"");
        bigger.manifest.memory_limit *= 2;
        assert!(store.needs_grant(&bigger.manifest, "local"));
    }

    #[test]
    fn install_find_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().to_path_buf());
        for v in ["1.0.0", "1.10.0", "1.9.0"] {
            let p = package(v, "");
            store
                .install(&p, "test", "local", Permissions::of(&p.manifest))
                .unwrap();
        }
        // The newest version by semver, not by name.
        assert_eq!(
            store
                .find("hello", None)
                .unwrap()
                .manifest
                .version
                .to_string(),
            "1.10.0"
        );
        let v = Version::parse("1.9.0").unwrap();
        assert_eq!(store.find("hello", Some(&v)).unwrap().manifest.version, v);
        let again = package("1.9.0", "");
        let e = store
            .install(
                &again,
                "elsewhere",
                "local",
                Permissions::of(&again.manifest),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "hello@1.9.0 is already installed (from test); remove it first"
        );
        // A component changed after installation is refused.
        let installed = store.find("hello", Some(&v)).unwrap();
        std::fs::write(installed.dir.join("hello.wasm"), b"\0asm-changed").unwrap();
        let e = store.find("hello", Some(&v)).unwrap_err().to_string();
        assert!(e.contains("its component is not the one installed"), "{e}");
        assert_eq!(store.remove("hello", None).unwrap().len(), 3);
        assert!(store.list().is_empty());
        assert!(!dir.path().join("hello").exists());
        assert_eq!(
            store.remove("hello", None).unwrap_err().to_string(),
            "no installed plugin `hello`"
        );
    }
}
