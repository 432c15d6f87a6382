//! Reads the one table of built-in workloads: the dependencies of
//! `host/builtins/Cargo.toml` whose directory holds a `plugin.toml`. Shared by the build
//! scripts of `owbench-builtins` (native runners) and `owbench-components` (wasm).

use std::path::{Path, PathBuf};

/// A built-in workload: its cargo package, crate name, directory and plugin name.
#[allow(
    dead_code,
    reason = "each build script that includes this file reads only some of the fields"
)]
pub struct Builtin {
    /// The cargo package (`file-io`).
    pub package: String,
    /// Its crate name, which is also the wasm artifact's stem (`file_io`).
    pub krate: String,
    /// The workload's directory (with `plugin.toml`).
    pub dir: PathBuf,
    /// The `name` in its `plugin.toml`.
    pub name: String,
    /// Whether its crate says `[package.metadata.owbench] heavy = true`: built into the
    /// binary only with the `heavy-workloads` feature (its dependencies take minutes).
    pub heavy: bool,
}

/// The `name` in `dir/plugin.toml`, if it has one.
pub fn plugin_name(dir: &Path) -> Option<String> {
    let manifest = std::fs::read_to_string(dir.join("plugin.toml")).ok()?;
    let name = manifest
        .parse::<toml::Table>()
        .ok()
        .and_then(|m| m.get("name")?.as_str().map(str::to_owned));
    Some(name.unwrap_or_else(|| panic!("{}/plugin.toml has no name", dir.display())))
}

/// Whether the crate in `dir` is marked heavy in its `Cargo.toml`.
fn is_heavy(dir: &Path) -> bool {
    let path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let doc: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
    let heavy = (|| {
        doc.get("package")?
            .get("metadata")?
            .get("owbench")?
            .get("heavy")
    })();
    heavy.and_then(toml::Value::as_bool).unwrap_or(false)
}

/// The built-in workloads listed in `builtins_manifest` (a `Cargo.toml`), in order.
pub fn builtin_workloads(builtins_manifest: &Path) -> Vec<Builtin> {
    let text = std::fs::read_to_string(builtins_manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", builtins_manifest.display()));
    let doc: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{} is not TOML: {e}", builtins_manifest.display()));
    let base = builtins_manifest
        .parent()
        .expect("a manifest has a directory");
    let deps = doc
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .expect("[dependencies]");
    // `toml::Table` keeps keys sorted; the file's order is the one people edit.
    let mut listed: Vec<(usize, Builtin)> = Vec::new();
    for (package, spec) in deps {
        let Some(path) = spec.get("path").and_then(toml::Value::as_str) else {
            continue;
        };
        let dir = base.join(path);
        let Some(name) = plugin_name(&dir) else {
            continue;
        };
        let at = text.find(&format!("\n{package} =")).unwrap_or(usize::MAX);
        listed.push((
            at,
            Builtin {
                package: package.clone(),
                krate: package.replace('-', "_"),
                heavy: is_heavy(&dir),
                dir,
                name,
            },
        ));
    }
    listed.sort_by_key(|(at, _)| *at);
    listed.into_iter().map(|(_, b)| b).collect()
}
