//! The installer catalog: the installer plugins built into the binary (`plugins/`) and
//! plugin directories. Installers only plan: they get no credentials and no network.

use std::path::PathBuf;

use owbench_components::BUILTINS;
use owbench_plugin::catalog::component;
use owbench_plugin::manifest::World;
use owbench_plugin::{InstallerPlugin, PluginEngine};

/// Load installer `name`.
pub async fn load(
    engine: &PluginEngine,
    name: &str,
    search: &[PathBuf],
) -> anyhow::Result<InstallerPlugin> {
    let source = BUILTINS.resolve(name, World::Installer, search)?;
    let (manifest, bytes) = component(&source)?;
    Ok(InstallerPlugin::load(engine, manifest, &bytes).await?)
}
