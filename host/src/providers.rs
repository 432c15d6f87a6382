//! The provider catalog: the provider plugins built into the binary (`plugins/`) and
//! plugin directories, loaded with the credentials their manifests ask for.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cloud::aws::AwsSigner;
use crate::cloud::oci::OciSigner;
use crate::engine::policy::RequestSigner;
use crate::engine::{PluginEngine, ProviderPlugin};
use crate::manifest::{Credentials, Manifest};
use crate::workloads::{Source, component, resolve_among};

/// Names of the provider plugins built into the binary.
pub fn builtin_names() -> Vec<String> {
    owbench_components::PROVIDERS
        .iter()
        .filter_map(|b| Manifest::parse(b.manifest).ok().map(|m| m.name))
        .collect()
}

/// Find a provider: a built-in name, a plugin directory, or one named `name` under `search`.
pub fn resolve(name: &str, search: &[PathBuf]) -> anyhow::Result<Source> {
    Ok(resolve_among(
        name,
        search,
        owbench_components::PROVIDERS,
        "provider",
    )?)
}

/// The signer for `credentials`, from the user's configuration.
pub async fn signer(credentials: Credentials) -> anyhow::Result<Arc<dyn RequestSigner>> {
    match credentials {
        Credentials::Aws => Ok(Arc::new(AwsSigner::from_user_config().await?)),
        Credentials::Oci => Ok(Arc::new(OciSigner::from_user_config()?)),
    }
}

/// Load provider `name` with the credentials its manifest asks for.
pub async fn load(
    engine: &PluginEngine,
    name: &str,
    search: &[PathBuf],
) -> anyhow::Result<ProviderPlugin> {
    let source = resolve(name, search)?;
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
