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

pub use crate::bindings::installer::{
    Audience, Cluster, DataDisk, HealthCheck, IngressRule, InstallPlan, InstallerInfo, NodeGroup,
    Outputs, Phase, RoleInfo,
};
pub use crate::bindings::owbench::plugin::types::{KeyValue, Protocol};

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
        Ok(check_roles(&info.roles).map(|()| info))
    }
}

/// Why an installer's roles are unusable, if they are.
fn check_roles(roles: &[RoleInfo]) -> Result<(), String> {
    if roles.is_empty() {
        return Err("says it has no roles (an installer puts at least one on nodes)".into());
    }
    for (i, role) in roles.iter().enumerate() {
        let label = !role.name.is_empty()
            && role.name.len() <= 16
            && !role.name.starts_with('-')
            && role
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !label {
            return Err(format!(
                "names a role {:?} (1 to 16 lower-case letters, digits or `-`)",
                role.name
            ));
        }
        if role.max == 0 || role.min > role.max {
            return Err(format!(
                "gives role `{}` from {} to {} nodes (at most must be at least 1 and at least the fewest)",
                role.name, role.min, role.max
            ));
        }
        if roles[..i].iter().any(|r| r.name == role.name) {
            return Err(format!("lists role `{}` twice", role.name));
        }
    }
    Ok(())
}

/// A loaded installer plugin.
pub type InstallerPlugin = Plugin<Installer>;

impl Plugin<Installer> {
    /// The installation plan for `cluster` with the spec's installer `settings`.
    pub async fn plan(
        &self,
        engine: &PluginEngine,
        cluster: &Cluster,
        settings: &[KeyValue],
    ) -> Result<InstallPlan, CallError> {
        let (mut store, installer) = self.start(engine, &[], None).await?;
        let r = installer.call_plan(&mut store, cluster, settings).await;
        self.finish(&store, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, min: u32, max: u32) -> RoleInfo {
        RoleInfo {
            name: name.into(),
            min,
            max,
            description: String::new(),
        }
    }

    #[test]
    fn roles_must_be_labels_with_sane_counts() {
        assert!(check_roles(&[role("openwhisk", 1, 1)]).is_ok());
        assert!(check_roles(&[role("core", 1, 1), role("invoker", 0, 50)]).is_ok());
        assert!(check_roles(&[]).unwrap_err().contains("no roles"));
        assert!(
            check_roles(&[role("Core", 1, 1)])
                .unwrap_err()
                .contains("\"Core\"")
        );
        assert!(
            check_roles(&[role("a", 2, 1)])
                .unwrap_err()
                .contains("from 2 to 1")
        );
        assert!(check_roles(&[role("a", 0, 0)]).is_err());
        let e = check_roles(&[role("a", 1, 1), role("a", 1, 2)]).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
