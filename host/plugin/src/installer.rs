//! Installer plugins: what makes OpenWhisk out of a provider's bare machines. Loaded by
//! the one [`Plugin`] loader; each export call runs in a fresh store with no
//! environment, no files and only the manifest's hosts.

use wasmtime::Store;

use crate::PluginEngine;
use crate::bindings::installer::{Installer as Bindings, InstallerPre};
use crate::error::CallError;
use crate::loader::{Plugin, PluginWorld, bindgen_world_methods, sealed};
use crate::manifest::World;
use crate::state::CallState;

pub use crate::bindings::installer::InstallerInfo;
pub use crate::bindings::owbench::plugin::types::KeyValue;

/// The `installer` world.
pub struct Installer;

impl PluginWorld for Installer {}

impl sealed::Bindings for Installer {
    const WORLD: World = World::Installer;
    type Pre = InstallerPre<CallState>;
    type Instance = Bindings;
    type Info = InstallerInfo;

    bindgen_world_methods!(InstallerPre);

    async fn describe(
        instance: &Self::Instance,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Result<Self::Info, String>> {
        let info = instance.call_describe(store).await?;
        Ok(if info.min_nodes == 0 {
            Err("says it installs onto 0 nodes (min-nodes must be at least 1)".into())
        } else {
            Ok(info)
        })
    }
}

/// A loaded installer plugin.
pub type InstallerPlugin = Plugin<Installer>;

impl Plugin<Installer> {
    /// Cloud-init user data that installs OpenWhisk on a node of `role`.
    pub async fn cloud_init(
        &self,
        engine: &PluginEngine,
        role: &str,
        settings: &[KeyValue],
    ) -> Result<String, CallError> {
        let (mut store, installer) = self.start(engine, &[], None).await?;
        let r = installer.call_cloud_init(&mut store, role, settings).await;
        self.finish(&store, r)
    }
}
