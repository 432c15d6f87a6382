//! Provider plugins: load once (compile, type-check against the `provider` world, check
//! `describe()` against the manifest), then call each export in a fresh store with no
//! environment, no files, only the manifest's hosts (plus the endpoint the user chose),
//! and the host's signer re-signing what goes out.

use std::sync::Arc;

use wasmtime::Store;

use super::bindings::owbench::plugin::types;
use super::bindings::provider::owbench::plugin::signer;
use super::bindings::provider::{Provider, ProviderPre};
use super::loader::{check_identity, classify, describe_store, new_store, pre_instantiate};
use super::policy::{HostRule, OutboundPolicy, PolicyHooks, RequestSigner};
use super::state::CallState;
use super::workload::CallLimits;
use super::{PluginEngine, PluginError};
use crate::manifest::{Manifest, World};

pub use super::bindings::owbench::plugin::types::KeyValue;
pub use super::bindings::provider::{Node, NodeRequest, PowerAction, ProviderInfo, Shape, Target};

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The cloud (or the plugin's checks) refused or failed the operation.
    #[error("{plugin}: {message}")]
    Cloud {
        /// The plugin.
        plugin: String,
        /// What failed, naming the step and the resource.
        message: String,
        /// Whether the same call may succeed later.
        retryable: bool,
        /// The provider's error code, if it gave one.
        code: Option<String>,
    },
    /// The plugin misbehaved or was stopped (trap, timeout, memory, a refused host).
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

impl ProviderError {
    /// Whether the same call may succeed later (throttling, eventual consistency).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::Cloud {
                retryable: true,
                ..
            }
        )
    }
}

/// A loaded provider plugin.
pub struct ProviderPlugin {
    manifest: Manifest,
    info: ProviderInfo,
    pre: ProviderPre<CallState>,
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
        let plugin = manifest.name.clone();
        let pre = pre_instantiate(engine, &manifest, World::Provider, bytes, ProviderPre::new)?;
        let (mut store, limits) = describe_store(engine, &manifest);
        let info = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance.call_describe(&mut store).await
        }
        .await
        .map_err(|e| classify(&plugin, e, store.data(), limits, ""))?;
        check_identity(&manifest, &info.name, &info.version)?;
        Ok(ProviderPlugin {
            manifest,
            info,
            pre,
            signer,
            extra_hosts: Vec::new(),
        })
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &ProviderInfo {
        &self.info
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
    ) -> Result<(Store<CallState>, Provider), ProviderError> {
        let rules: Vec<HostRule> = self
            .manifest
            .allowed_outbound_hosts
            .iter()
            .chain(&self.extra_hosts)
            .cloned()
            .collect();
        let mut hooks = PolicyHooks::new(OutboundPolicy::resolve(&rules, None));
        hooks.signer = self.signer.clone();
        // No environment, no preopened directory: a provider needs neither.
        let wasi = wasmtime_wasi::WasiCtx::builder().build();
        let limits = self.limits();
        let state = CallState::new(wasi, hooks, limits.memory as usize);
        let mut store = new_store(engine, state, limits);
        match self.pre.instantiate_async(&mut store).await {
            Ok(instance) => Ok((store, instance)),
            Err(e) => Err(classify(&self.manifest.name, e, store.data(), limits, "").into()),
        }
    }

    fn limits(&self) -> CallLimits {
        CallLimits {
            memory: self.manifest.memory_limit,
            timeout: self.manifest.timeout,
        }
    }

    /// The outcome of one export call.
    fn finish<T>(
        &self,
        store: &Store<CallState>,
        result: wasmtime::Result<Result<T, types::PluginError>>,
    ) -> Result<T, ProviderError> {
        let plugin = self.manifest.name.clone();
        let denied = store
            .data()
            .hooks
            .denied
            .lock()
            .expect("denied list poisoned")
            .first()
            .cloned();
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) if denied.is_some() => Err(PluginError::Denied {
                plugin,
                request: denied.unwrap_or_default(),
            }
            .into()),
            Ok(Err(e)) => Err(ProviderError::Cloud {
                plugin,
                message: e.message,
                retryable: e.retryable,
                code: e.code,
            }),
            Err(e) => Err(classify(&plugin, e, store.data(), self.limits(), "").into()),
        }
    }

    /// Create nodes (see the world's `create-nodes`).
    pub async fn create_nodes(
        &self,
        engine: &PluginEngine,
        target: &Target,
        request: &NodeRequest,
    ) -> Result<Vec<Node>, ProviderError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_create_nodes(&mut store, target, request).await;
        self.finish(&store, r)
    }

    /// Describe nodes by id.
    pub async fn describe_nodes(
        &self,
        engine: &PluginEngine,
        target: &Target,
        ids: &[String],
    ) -> Result<Vec<Node>, ProviderError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_describe_nodes(&mut store, target, ids).await;
        self.finish(&store, r)
    }

    /// The live nodes carrying every tag in `tags`.
    pub async fn list_nodes(
        &self,
        engine: &PluginEngine,
        target: &Target,
        tags: &[KeyValue],
    ) -> Result<Vec<Node>, ProviderError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_list_nodes(&mut store, target, tags).await;
        self.finish(&store, r)
    }

    /// Start or stop nodes.
    pub async fn power(
        &self,
        engine: &PluginEngine,
        target: &Target,
        ids: &[String],
        action: PowerAction,
    ) -> Result<(), ProviderError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_power(&mut store, target, ids, action).await;
        self.finish(&store, r)
    }

    /// Terminate nodes.
    pub async fn terminate_nodes(
        &self,
        engine: &PluginEngine,
        target: &Target,
        ids: &[String],
    ) -> Result<(), ProviderError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_terminate_nodes(&mut store, target, ids).await;
        self.finish(&store, r)
    }

    /// Delete the other resources carrying every tag; what was deleted.
    pub async fn delete_tagged(
        &self,
        engine: &PluginEngine,
        target: &Target,
        tags: &[KeyValue],
    ) -> Result<Vec<String>, ProviderError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p.call_delete_tagged(&mut store, target, tags).await;
        self.finish(&store, r)
    }

    /// Store an object.
    pub async fn put_object(
        &self,
        engine: &PluginEngine,
        target: &Target,
        bucket: &str,
        key: &str,
        data: &[u8],
    ) -> Result<(), ProviderError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p
            .call_put_object(&mut store, target, bucket, key, data)
            .await;
        self.finish(&store, r)
    }

    /// A time-limited download URL of an object.
    pub async fn object_url(
        &self,
        engine: &PluginEngine,
        target: &Target,
        bucket: &str,
        key: &str,
        expires_secs: u32,
    ) -> Result<String, ProviderError> {
        let (mut store, p) = self.start(engine).await?;
        let r = p
            .call_object_url(&mut store, target, bucket, key, expires_secs)
            .await;
        self.finish(&store, r)
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
