//! The provider catalog: the provider plugins built into the binary (`plugins/`) and
//! plugin directories, loaded with the credentials their manifests ask for.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cloud::aws::AwsSigner;
use crate::cloud::oci::OciSigner;
use owbench_components::BUILTINS;
use owbench_plugin::catalog::component;
use owbench_plugin::manifest::{Credentials, World};
use owbench_plugin::policy::RequestSigner;
use owbench_plugin::{PluginEngine, ProviderPlugin};

/// The signer for `credentials`, from the user's configuration.
pub async fn signer(credentials: Credentials) -> anyhow::Result<Arc<dyn RequestSigner>> {
    match credentials {
        Credentials::Aws => Ok(Arc::new(AwsSigner::from_user_config()?)),
        Credentials::Oci => Ok(Arc::new(OciSigner::from_user_config()?)),
    }
}

/// Load provider `name` with the credentials its manifest asks for.
pub async fn load(
    engine: &PluginEngine,
    name: &str,
    search: &[PathBuf],
) -> anyhow::Result<ProviderPlugin> {
    let source = BUILTINS.resolve(name, World::Provider, search)?;
    let (manifest, bytes) = component(&source)?;
    let signer = match manifest.credentials {
        Some(kind) => Some(
            signer(kind)
                .await
                .with_context(|| format!("provider {name}"))?,
        ),
        None => None,
    };
    Ok(ProviderPlugin::load(engine, manifest, &bytes, signer).await?)
}
