//! The plugin catalog: where a plugin comes from (built into the binary, a plugin
//! directory holding `plugin.toml` and its component, or an installed package), found
//! by one resolve function for every world.
//!
//! The plugins built into a binary are a [`Builtins`] value the binary hands in
//! (`owbench-components` generates owbench's), so this crate compiles without them.

use std::path::{Path, PathBuf};

use crate::PluginError;
use crate::installed::{Store, split_reference};
use crate::manifest::{Manifest, World};
use crate::package::Artifact;

/// A plugin component (workload, provider or installer) shipped inside the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its `plugin.toml`.
    pub manifest: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}

/// A built-in plugin this build left out, and the cargo feature that builds it in.
#[derive(Debug, Clone, Copy)]
pub struct LeftOut {
    /// The plugin's name.
    pub name: &'static str,
    /// The cargo feature that builds it in (`heavy-workloads`, `providers`).
    pub feature: &'static str,
}

/// The plugins built into a binary, per world, and those its build left out.
#[derive(Debug, Clone, Copy)]
pub struct Builtins {
    /// Built-in workloads.
    pub workloads: &'static [Builtin],
    /// Built-in provider plugins.
    pub providers: &'static [Builtin],
    /// Built-in installer plugins.
    pub installers: &'static [Builtin],
    /// Built-in workloads this build left out.
    pub workloads_left_out: &'static [LeftOut],
    /// Built-in provider plugins this build left out.
    pub providers_left_out: &'static [LeftOut],
    /// Built-in installer plugins this build left out.
    pub installers_left_out: &'static [LeftOut],
}

/// Where a plugin comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Built into the binary.
    Builtin(&'static Builtin),
    /// A plugin directory holding `plugin.toml` and the component it names.
    Dir(PathBuf),
}

impl Builtins {
    /// No built-in plugins at all.
    pub const NONE: Builtins = Builtins {
        workloads: &[],
        providers: &[],
        installers: &[],
        workloads_left_out: &[],
        providers_left_out: &[],
        installers_left_out: &[],
    };

    /// The plugins of `world` built in.
    pub fn of(&self, world: World) -> &'static [Builtin] {
        match world {
            World::Workload | World::ReducingWorkload => self.workloads,
            World::Provider => self.providers,
            World::Installer => self.installers,
        }
    }

    /// The built-in plugins of `world` this build left out (their cargo feature was off).
    pub fn left_out(&self, world: World) -> &'static [LeftOut] {
        match world {
            World::Workload | World::ReducingWorkload => self.workloads_left_out,
            World::Provider => self.providers_left_out,
            World::Installer => self.installers_left_out,
        }
    }

    /// Names of the plugins of `world` built in.
    pub fn names(&self, world: World) -> Vec<String> {
        names(self.of(world))
    }

    /// Find plugin `name` of `world`: a path to a plugin directory, an installed
    /// `name@version`, a built-in name, a plugin directory named `name` under one of
    /// `search`, or the newest installed version of `name` (in the default store).
    pub fn resolve(
        &self,
        name: &str,
        world: World,
        search: &[PathBuf],
    ) -> Result<Source, PluginError> {
        self.resolve_in(name, world, search, &Store::open_default())
    }

    /// [`resolve`](Builtins::resolve) with installed packages from `store`.
    pub fn resolve_in(
        &self,
        name: &str,
        world: World,
        search: &[PathBuf],
        store: &Store,
    ) -> Result<Source, PluginError> {
        let as_path = Path::new(name);
        if name.contains(std::path::MAIN_SEPARATOR) || as_path.join("plugin.toml").is_file() {
            return Ok(Source::Dir(as_path.to_path_buf()));
        }
        let installed_of_world = |name: &str, version| -> Result<Source, PluginError> {
            let found = store.find(name, version)?;
            found
                .manifest
                .expect_world(world)
                .map_err(|source| PluginError::Manifest {
                    plugin: name.to_owned(),
                    source,
                })?;
            Ok(Source::Dir(found.dir))
        };
        if name.contains('@') {
            let (bare, version) = split_reference(name).map_err(PluginError::Reference)?;
            return installed_of_world(bare, version.as_ref());
        }
        let builtins = self.of(world);
        let names = names(builtins);
        if let Some(i) = names.iter().position(|n| n == name) {
            return Ok(Source::Builtin(&builtins[i]));
        }
        if let Some(dir) = search
            .iter()
            .map(|d| d.join(name))
            .find(|d| d.join("plugin.toml").is_file())
        {
            return Ok(Source::Dir(dir));
        }
        if store.root().join(name).is_dir() {
            return installed_of_world(name, None);
        }
        if let Some(out) = self.left_out(world).iter().find(|l| l.name == name) {
            return Err(PluginError::LeftOut {
                plugin: name.to_owned(),
                world,
                feature: out.feature,
            });
        }
        Err(PluginError::NotFound {
            plugin: name.to_owned(),
            world,
            builtins: names.join(", "),
        })
    }

    /// Every plugin of `world`: the built-ins, each plugin directory under `search`
    /// (`<dir>/<name>/plugin.toml`) in name order, then the installed packages.
    pub fn discover(&self, world: World, search: &[PathBuf]) -> Vec<Source> {
        self.discover_in(world, search, &Store::open_default())
    }

    /// [`discover`](Builtins::discover) with installed packages from `store`.
    pub fn discover_in(&self, world: World, search: &[PathBuf], store: &Store) -> Vec<Source> {
        let mut found: Vec<PathBuf> = search
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flatten()
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.join("plugin.toml").is_file())
            .collect();
        found.sort();
        self.of(world)
            .iter()
            .map(Source::Builtin)
            .chain(found.into_iter().map(Source::Dir))
            .chain(
                store
                    .list()
                    .into_iter()
                    .filter(|i| i.manifest.world.includes(world))
                    .map(|i| Source::Dir(i.dir)),
            )
            .collect()
    }
}

/// The names in the manifests of `builtins`.
fn names(builtins: &[Builtin]) -> Vec<String> {
    builtins
        .iter()
        .filter_map(|b| Manifest::parse(b.manifest).ok().map(|m| m.name))
        .collect()
}

/// The manifest and component bytes of `source`. A built-in is read as a package (the
/// same pack and verification as a third-party package's: digests, and the manifest,
/// config and `plugin.toml` agreeing).
pub fn component(source: &Source) -> Result<(Manifest, Vec<u8>), PluginError> {
    match source {
        Source::Builtin(builtin) => {
            let package = Artifact::pack(builtin.manifest, builtin.wasm)
                .and_then(|artifact| artifact.open())
                .map_err(|source| PluginError::Package {
                    plugin: "built-in".into(),
                    source,
                })?;
            Ok((package.manifest, package.component))
        }
        Source::Dir(dir) => {
            let path = dir.join("plugin.toml");
            let text =
                std::fs::read_to_string(&path).map_err(|source| PluginError::ReadManifest {
                    path: path.clone(),
                    source,
                })?;
            let manifest = Manifest::parse(&text).map_err(|source| PluginError::Manifest {
                plugin: dir.display().to_string(),
                source,
            })?;
            let component = dir.join(&manifest.component);
            if manifest.build.is_some() && !component.exists() {
                return Err(PluginError::NotBuilt {
                    plugin: manifest.name.clone(),
                    dir: dir.clone(),
                });
            }
            let bytes = std::fs::read(&component).map_err(|source| PluginError::ReadComponent {
                plugin: manifest.name.clone(),
                path: component,
                source,
            })?;
            Ok((manifest, bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest of plugin `name` in `world` (`workload`, `provider`).
    fn manifest(name: &str, world: &str) -> &'static str {
        let text = format!(
            "name = \"{name}\"\nversion = \"0.1.0\"\nworld = \"owbench:plugin/{world}@0.4.0\"\n"
        );
        Box::leak(text.into_boxed_str())
    }

    fn two_worlds() -> Builtins {
        let workloads = vec![
            Builtin {
                manifest: manifest("matmul", "workload"),
                wasm: b"",
            },
            Builtin {
                manifest: manifest("noop", "workload"),
                wasm: b"",
            },
        ];
        let providers = vec![Builtin {
            manifest: manifest("cloud", "provider"),
            wasm: b"",
        }];
        Builtins {
            workloads: Box::leak(workloads.into_boxed_slice()),
            providers: Box::leak(providers.into_boxed_slice()),
            installers: &[],
            workloads_left_out: &[LeftOut {
                name: "heavy-thing",
                feature: "heavy-workloads",
            }],
            providers_left_out: &[],
            installers_left_out: &[],
        }
    }

    #[test]
    fn an_unknown_name_is_not_found_and_lists_the_builtins() {
        let err = two_worlds()
            .resolve("no-such-plugin", World::Workload, &[])
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no-such-plugin"), "{text}");
        assert!(text.contains("no such workload"), "{text}");
        assert!(text.contains("matmul, noop"), "{text}");
        assert!(!text.contains("syntax"), "{text}");
    }

    #[test]
    fn every_builtin_resolves_by_name_in_its_own_world_only() {
        let builtins = two_worlds();
        for world in [World::Workload, World::Provider] {
            for name in builtins.names(world) {
                let Source::Builtin(b) = builtins.resolve(&name, world, &[]).unwrap() else {
                    panic!("{name} is built in");
                };
                let (manifest, _) = component(&Source::Builtin(b)).unwrap();
                assert!(manifest.world.includes(world), "{name}");
            }
        }
        assert!(builtins.resolve("matmul", World::Provider, &[]).is_err());
        assert!(builtins.resolve("cloud", World::Workload, &[]).is_err());
        assert!(
            Builtins::NONE
                .resolve("matmul", World::Workload, &[])
                .is_err()
        );
    }

    #[test]
    fn a_builtin_left_out_of_this_build_names_the_feature_that_builds_it_in() {
        let builtins = two_worlds();
        let err = builtins.resolve("heavy-thing", World::Workload, &[]);
        let text = err.unwrap_err().to_string();
        assert_eq!(
            text,
            "workload `heavy-thing` is not built into this owbench: rebuild it with \
             `cargo build --release --features heavy-workloads`, or give a plugin directory"
        );
        // A plugin directory of that name still wins.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("heavy-thing")).unwrap();
        std::fs::write(dir.path().join("heavy-thing/plugin.toml"), "").unwrap();
        let search = [dir.path().to_path_buf()];
        let found = builtins.resolve("heavy-thing", World::Workload, &search);
        assert!(matches!(found, Ok(Source::Dir(_))));
    }

    #[test]
    fn discover_lists_builtins_then_directories_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["zeta", "alpha"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
            std::fs::write(dir.path().join(name).join("plugin.toml"), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("not-a-plugin")).unwrap();
        let store = Store::at(dir.path().join("no-store"));
        let found = two_worlds().discover_in(World::Workload, &[dir.path().to_path_buf()], &store);
        let shown: Vec<String> = found
            .iter()
            .map(|s| match s {
                Source::Builtin(b) => Manifest::parse(b.manifest).unwrap().name,
                Source::Dir(d) => d.file_name().unwrap().to_string_lossy().into_owned(),
            })
            .collect();
        assert_eq!(shown, ["matmul", "noop", "alpha", "zeta"]);
    }
}
