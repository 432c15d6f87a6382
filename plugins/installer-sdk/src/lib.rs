//! Write an owbench installer plugin (the `owbench:plugin/installer` world) as one
//! [`Installer`] implementation; [`export_installer!`] exports it.
//!
//! An installer only plans: [`CloudConfig`] builds each phase's `#cloud-config` user
//! data, [`Settings`] reads the spec's `[installer]` settings with one-line errors, and
//! [`owbench_binary`] and [`tls_front`] add what every installer here needs: the owbench
//! binary the host uploads, and the API served only over TLS with the cluster's
//! certificate. Placeholders (`{{secret:guest-key}}`, `{{node:ROLE:public-ip}}`, ...;
//! see the world's documentation) are left in the plan for the host to fill.
#![cfg(target_arch = "wasm32")]

mod cloud_config;
mod pieces;
mod settings;

/// Generated bindings for `owbench:plugin/installer`.
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "installer",
        path: "../../wit",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "owbench_installer::bindings",
    });
}

pub use bindings::owbench::plugin::types::{KeyValue, PluginError, Protocol};
pub use bindings::{
    Audience, Cluster, DataDisk, HealthCheck, IngressRule, InstallPlan, InstallerInfo, NodeGroup,
    Outputs, Phase, RoleInfo,
};
pub use cloud_config::{
    CloudConfig, FAILED_SCRIPT, File, IMAGE_FIREWALL_SCRIPT, INSTALL_LOG, INSTALL_SCRIPT,
};
pub use pieces::{
    API_PORT, DATA_DISK_SCRIPT, FETCH_PINNED_SCRIPT, UPSTREAM_PORT, api_plan, client_ingress,
    data_disk, fetch_pinned, fill_template, one_node_info, one_node_plan, owbench_binary, size,
    ssh_ingress, tls_front, tls_front_to,
};
pub use settings::{Limits, Settings};

/// A result of an installer call.
pub type Result<T> = std::result::Result<T, PluginError>;

/// A refusal: the plan cannot be made for this cluster or these settings.
pub fn refuse(message: impl Into<String>) -> PluginError {
    PluginError {
        message: message.into(),
        retryable: false,
        code: None,
    }
}

/// An OpenWhisk installer.
pub trait Installer {
    /// Name, version, description and roles.
    fn describe() -> InstallerInfo;
    /// The plan for `cluster` with the spec's `[installer]` settings.
    fn plan(cluster: &Cluster, settings: &Settings) -> Result<InstallPlan>;
}

impl Cluster {
    /// The node group of `role`, or a refusal naming it.
    pub fn group(&self, role: &str) -> Result<&NodeGroup> {
        self.groups
            .iter()
            .find(|g| g.role == role)
            .ok_or_else(|| refuse(format!("the cluster has no `{role}` nodes")))
    }
}

/// Export `$installer` (a type implementing [`Installer`]) as the component's
/// `installer` world.
#[macro_export]
macro_rules! export_installer {
    ($installer:ty) => {
        // The generated export glue is the component's only unsafe code.
        #[allow(unsafe_code)]
        const _: () = {
            use $crate::Installer as _;
            struct Component;
            impl $crate::bindings::Guest for Component {
                fn describe() -> $crate::InstallerInfo {
                    <$installer>::describe()
                }
                fn plan(
                    cluster: $crate::Cluster,
                    settings: ::std::vec::Vec<$crate::KeyValue>,
                ) -> $crate::Result<$crate::InstallPlan> {
                    <$installer>::plan(&cluster, &$crate::Settings::new(settings))
                }
            }
    $crate::bindings::export_bindings!(Component with_types_in $crate::bindings);
        };
    };
}
