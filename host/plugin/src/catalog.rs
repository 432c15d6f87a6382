//! The plugin catalog: where a plugin comes from (built into the binary, or a plugin
//! directory holding `plugin.toml` and its component), found by one resolve function
//! for every world.

use std::path::{Path, PathBuf};

use owbench_components::{Builtin, LeftOut};

use crate::PluginError;
use crate::manifest::{Manifest, World};

/// Where a plugin comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Built into the binary.
    Builtin(&'static Builtin),
    /// A plugin directory holding `plugin.toml` and the component it names.
    Dir(PathBuf),
}

/// The plugins of `world` built into the binary.
pub fn builtins(world: World) -> &'static [Builtin] {
    match world {
        World::Workload | World::ReducingWorkload => owbench_components::WORKLOADS,
        World::Provider => owbench_components::PROVIDERS,
        World::Installer => &[],
    }
}

/// The built-in plugins of `world` this build left out (their cargo feature was off).
pub fn left_out(world: World) -> &'static [LeftOut] {
    match world {
        World::Workload | World::ReducingWorkload => owbench_components::WORKLOADS_LEFT_OUT,
        World::Provider => owbench_components::PROVIDERS_LEFT_OUT,
        World::Installer => &[],
    }
}

/// Names of the plugins of `world` built into the binary.
pub fn builtin_names(world: World) -> Vec<String> {
    names(builtins(world))
}

/// The names in the manifests of `builtins`.
fn names(builtins: &[Builtin]) -> Vec<String> {
    builtins
        .iter()
        .filter_map(|b| Manifest::parse(b.manifest).ok().map(|m| m.name))
        .collect()
}

/// Find plugin `name` of `world`: a path to a plugin directory, a built-in name, or a
/// plugin directory named `name` under one of `search`.
pub fn resolve(name: &str, world: World, search: &[PathBuf]) -> Result<Source, PluginError> {
    resolve_among(name, world, search, builtins(world), left_out(world))
}

/// [`resolve`] against the given built-ins and left-out built-ins.
fn resolve_among(
    name: &str,
    world: World,
    search: &[PathBuf],
    builtins: &'static [Builtin],
    left_out: &[LeftOut],
) -> Result<Source, PluginError> {
    let as_path = Path::new(name);
    if name.contains(std::path::MAIN_SEPARATOR) || as_path.join("plugin.toml").is_file() {
        return Ok(Source::Dir(as_path.to_path_buf()));
    }
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
    if let Some(out) = left_out.iter().find(|l| l.name == name) {
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

/// Every plugin of `world`: the built-ins, then each plugin directory under `search`
/// (`<dir>/<name>/plugin.toml`) in name order.
pub fn discover(world: World, search: &[PathBuf]) -> Vec<Source> {
    let mut found: Vec<PathBuf> = search
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    found.sort();
    builtins(world)
        .iter()
        .map(Source::Builtin)
        .chain(found.into_iter().map(Source::Dir))
        .collect()
}

/// The manifest and component bytes of `source`.
pub fn component(source: &Source) -> Result<(Manifest, Vec<u8>), PluginError> {
    match source {
        Source::Builtin(builtin) => {
            let manifest =
                Manifest::parse(builtin.manifest).map_err(|source| PluginError::Manifest {
                    plugin: "built-in".into(),
                    source,
                })?;
            Ok((manifest, builtin.wasm.to_vec()))
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

    #[test]
    fn an_unknown_name_is_not_found_and_lists_the_builtins() {
        let err = resolve("no-such-plugin", World::Workload, &[]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no-such-plugin"), "{text}");
        assert!(text.contains("no such workload"), "{text}");
        assert!(text.contains("matmul"), "{text}");
        assert!(!text.contains("syntax"), "{text}");
    }

    #[test]
    fn every_builtin_resolves_by_name_in_its_own_world_only() {
        for world in [World::Workload, World::Provider] {
            for name in builtin_names(world) {
                let Source::Builtin(b) = resolve(&name, world, &[]).unwrap() else {
                    panic!("{name} is built in");
                };
                let (manifest, _) = component(&Source::Builtin(b)).unwrap();
                assert!(manifest.world.includes(world), "{name}");
            }
        }
        assert!(resolve("matmul", World::Provider, &[]).is_err());
    }

    #[test]
    fn a_builtin_left_out_of_this_build_names_the_feature_that_builds_it_in() {
        let out = [LeftOut {
            name: "heavy-thing",
            feature: "heavy-workloads",
        }];
        let builtins = builtins(World::Workload);
        let err = resolve_among("heavy-thing", World::Workload, &[], builtins, &out);
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
        let found = resolve_among("heavy-thing", World::Workload, &search, builtins, &out);
        assert!(matches!(found, Ok(Source::Dir(_))));
    }
}
