//! Provider plugins: load once (compile, type-check against the `provider` world, check
//! `describe()` against the manifest), then call each export in a fresh store with no
//! environment, no files, only the manifest's hosts (plus the endpoint the user chose),
//! and the host's signer re-signing what goes out.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

use crate::bindings::provider::owbench::plugin::signer;
use crate::bindings::provider::{Provider as Bindings, ProviderPre};
use crate::error::CallError;
use crate::loader::{Plugin, PluginWorld, bindgen_world_methods, sealed};
use crate::manifest::{Manifest, World};
use crate::policy::{HostRule, RequestSigner};
use crate::state::CallState;
use crate::{PluginEngine, PluginError};

pub use crate::bindings::owbench::plugin::types::KeyValue;
pub use crate::bindings::owbench::plugin::types::Protocol;
pub use crate::bindings::provider::{
    AccountLimit, AttachedVolume, Demand, IngressRule, LimitsReport, Node, NodeRequest,
    PowerAction, ProviderInfo, Shape, Source, Target, VolumeClass, VolumeOffer, VolumeRequest,
};

/// The `provider` world: cloud plugins, the only world that links `signer`.
pub struct Provider;

impl PluginWorld for Provider {}

impl sealed::Bindings for Provider {
    const WORLD: World = World::Provider;
    type Pre = ProviderPre<CallState>;
    type Instance = Bindings;
    type Info = ProviderInfo;

    bindgen_world_methods!(ProviderPre);

    async fn describe(
        instance: &Self::Instance,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Result<Self::Info, String>> {
        Ok(Ok(instance.call_describe(store).await?))
    }

    fn link(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
        signer::add_to_linker::<_, HasSelf<_>>(linker, |s| s)
    }
}

/// A loaded provider plugin, with the signer that re-signs its requests.
pub struct ProviderPlugin {
    plugin: Plugin<Provider>,
    signer: Option<Arc<dyn RequestSigner>>,
    extra_hosts: Vec<HostRule>,
}

impl ProviderPlugin {
    /// Compile `bytes`, check it implements the `provider` world and that `describe()`
    /// matches `manifest`. `signer` re-signs its requests (required when the manifest
    /// asks for credentials).
    pub async fn load(
        engine: &PluginEngine,
        manifest: Manifest,
        bytes: &[u8],
        signer: Option<Arc<dyn RequestSigner>>,
    ) -> Result<ProviderPlugin, PluginError> {
        Ok(ProviderPlugin {
            plugin: Plugin::load(engine, manifest, bytes).await?,
            signer,
            extra_hosts: Vec::new(),
        })
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        self.plugin.manifest()
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &ProviderInfo {
        self.plugin.info()
    }

    /// Also allow requests to the origin of `url` (an endpoint the user chose, such as a
    /// local test server); the signer re-signs them like the manifest's hosts.
    pub fn allow_endpoint(&mut self, url: &str) -> Result<(), String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("endpoint `{url}` is not a URL: {e}"))?;
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return Err(format!(
                "endpoint `{url}` needs a scheme and a host, like http://127.0.0.1:5000"
            ));
        };
        let entry = match uri.port_u16() {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        };
        self.extra_hosts
            .push(HostRule::parse(&entry).map_err(|e| format!("endpoint `{url}`: {e}"))?);
        Ok(())
    }

    /// A fresh store and instance for one call.
    async fn start(
        &self,
        engine: &PluginEngine,
    ) -> Result<(Store<CallState>, Bindings), CallError> {
        let signer = self.signer.clone();
        Ok(self.plugin.start(engine, &self.extra_hosts, signer).await?)
    }

    /// The image id of `image` (an alias or an id) for nodes of `shape`.
    pub async fn resolve_image(
        &self,
        engine: &PluginEngine,
        target: &Target,
        image: &str,
        shape: &str,
    ) -> Result<String, CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_resolve_image(&mut store, target, image, shape).await;
        self.plugin.finish(&store, r)
    }

    /// The account's limits that bear on `demands` (see the world's `check-limits`).
    pub async fn check_limits(
        &self,
        engine: &PluginEngine,
        target: &Target,
        demands: &[Demand],
    ) -> Result<LimitsReport, CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_check_limits(&mut store, target, demands).await;
        self.plugin.finish(&store, r)
    }

    /// Create nodes (see the world's `create-nodes`).
    pub async fn create_nodes(
        &self,
        engine: &PluginEngine,
        target: &Target,
        request: &NodeRequest,
    ) -> Result<Vec<Node>, CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_create_nodes(&mut store, target, request).await;
        self.plugin.finish(&store, r)
    }

    /// Describe nodes by id.
    pub async fn describe_nodes(
        &self,
        engine: &PluginEngine,
        target: &Target,
        ids: &[String],
    ) -> Result<Vec<Node>, CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_describe_nodes(&mut store, target, ids).await;
        self.plugin.finish(&store, r)
    }

    /// The live nodes carrying every tag in `tags`.
    pub async fn list_nodes(
        &self,
        engine: &PluginEngine,
        target: &Target,
        tags: &[KeyValue],
    ) -> Result<Vec<Node>, CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_list_nodes(&mut store, target, tags).await;
        self.plugin.finish(&store, r)
    }

    /// Start or stop nodes.
    pub async fn power(
        &self,
        engine: &PluginEngine,
        target: &Target,
        ids: &[String],
        action: PowerAction,
    ) -> Result<(), CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_power(&mut store, target, ids, action).await;
        self.plugin.finish(&store, r)
    }

    /// Terminate nodes.
    pub async fn terminate_nodes(
        &self,
        engine: &PluginEngine,
        target: &Target,
        ids: &[String],
    ) -> Result<(), CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_terminate_nodes(&mut store, target, ids).await;
        self.plugin.finish(&store, r)
    }

    /// Delete the other resources carrying every tag; what was deleted.
    pub async fn delete_tagged(
        &self,
        engine: &PluginEngine,
        target: &Target,
        tags: &[KeyValue],
    ) -> Result<Vec<String>, CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_delete_tagged(&mut store, target, tags).await;
        self.plugin.finish(&store, r)
    }

    /// Store an object.
    pub async fn put_object(
        &self,
        engine: &PluginEngine,
        target: &Target,
        bucket: &str,
        key: &str,
        data: &[u8],
    ) -> Result<(), CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p
            .call_put_object(&mut store, target, bucket, key, data)
            .await;
        self.plugin.finish(&store, r)
    }

    /// A time-limited download URL of an object.
    pub async fn object_url(
        &self,
        engine: &PluginEngine,
        target: &Target,
        bucket: &str,
        key: &str,
        expires_secs: u32,
    ) -> Result<String, CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p
            .call_object_url(&mut store, target, bucket, key, expires_secs)
            .await;
        self.plugin.finish(&store, r)
    }

    /// Delete a bucket with its objects; what was deleted.
    pub async fn delete_bucket(
        &self,
        engine: &PluginEngine,
        target: &Target,
        bucket: &str,
    ) -> Result<Vec<String>, CallError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_delete_bucket(&mut store, target, bucket).await;
        self.plugin.finish(&store, r)
    }
}

impl signer::Host for CallState {
    fn presign(&mut self, url: String) -> Result<String, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
        if !self.hooks.policy.allows(&uri) {
            return Err(format!(
                "{} is not a host this plugin's manifest allows",
                uri.host().unwrap_or_default()
            ));
        }
        let signer = self.hooks.signer.as_ref().ok_or(
            "this plugin has no credentials to sign with (`[permissions] credentials` in plugin.toml)",
        )?;
        signer.presign(&url)
    }
}
