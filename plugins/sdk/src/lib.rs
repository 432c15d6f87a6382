//! Write an owbench provider plugin (the `owbench:plugin/provider` world) as one
//! [`Provider`] implementation of async functions; [`export_provider!`] exports it, each
//! export running its future to completion on `wstd`'s executor (HTTP goes through
//! `wasi:http`, where the host applies the manifest's host allowlist and signs requests
//! with the user's credentials).
//!
//! Also here: what every provider checks of a [`NodeRequest`] and how it names the nodes.
#![cfg(target_arch = "wasm32")]

/// Generated bindings for `owbench:plugin/provider`.
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "provider",
        path: "../../wit",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "owbench_provider::bindings",
    });
}

pub use bindings::owbench::plugin::signer;
pub use bindings::owbench::plugin::types::{KeyValue, PluginError, Protocol};
pub use bindings::{
    AccountLimit, AttachedVolume, Demand, IngressRule, LimitsReport, Node, NodeRequest,
    PowerAction, ProviderInfo, Shape, Source, Target, VolumeClass, VolumeOffer, VolumeRequest,
};
#[doc(hidden)]
pub use wstd::runtime::block_on;

/// A result of a provider call.
pub type Result<T> = std::result::Result<T, PluginError>;

/// A cloud provider: a client made for one call's target, which serves the world's
/// exports through [`Machines`] and [`Objects`].
pub trait Provider: Machines + Objects + Sized {
    /// Name, version, regions and shapes.
    fn describe() -> ProviderInfo;
    /// The client for `target` (region, endpoint override, settings).
    fn connect(target: &Target) -> Self;
}

// Components run one call at a time on one thread: the futures need not be `Send`.
#[allow(async_fn_in_trait)]
/// Machines: the account's limits, images, create, describe, list by tag, power,
/// terminate, and what was made for them.
pub trait Machines {
    /// The account's limits that bear on `demands` (see the world's `check-limits`).
    async fn check_limits(&self, demands: Vec<Demand>) -> Result<LimitsReport>;
    /// The image id of `image` (an alias or an id) for nodes of `shape` (see the world's
    /// `resolve-image`).
    async fn resolve_image(&self, image: String, shape: String) -> Result<String>;
    /// Create the request's nodes (see the world's `create-nodes`).
    async fn create_nodes(&self, request: NodeRequest) -> Result<Vec<Node>>;
    /// Describe nodes by id; ids the provider no longer knows are left out.
    async fn describe_nodes(&self, ids: Vec<String>) -> Result<Vec<Node>>;
    /// The nodes not yet terminated that carry every tag in `tags`.
    async fn list_nodes(&self, tags: Vec<KeyValue>) -> Result<Vec<Node>>;
    /// Start or stop nodes by id.
    async fn power(&self, ids: Vec<String>, action: PowerAction) -> Result<()>;
    /// Terminate nodes by id; an unknown or terminated one is not an error.
    async fn terminate_nodes(&self, ids: Vec<String>) -> Result<()>;
    /// Delete the firewall rules and keys made for nodes tagged with every tag in `tags`;
    /// what was deleted.
    async fn delete_tagged(&self, tags: Vec<KeyValue>) -> Result<Vec<String>>;
}

#[allow(async_fn_in_trait)]
/// Object storage: store an object, hand out a time-limited download URL, delete a bucket.
pub trait Objects {
    /// Store `data` as object `key` of `bucket` (made if missing).
    async fn put_object(&self, bucket: String, key: String, data: Vec<u8>) -> Result<()>;
    /// A URL that downloads object `key` without credentials for `expires_secs` seconds.
    async fn object_url(&self, bucket: String, key: String, expires_secs: u32) -> Result<String>;
    /// Delete `bucket`, its objects and their download URLs; what was deleted. A missing
    /// bucket is not an error.
    async fn delete_bucket(&self, bucket: String) -> Result<Vec<String>>;
}

/// Export a [`Provider`] as the component's `provider` world: each export connects to
/// its target and runs the call to completion.
#[macro_export]
macro_rules! export_provider {
    ($provider:ty) => {
        // The generated export glue is the component's only unsafe code.
        #[allow(unsafe_code)]
        const _: () = {
            use $crate::{Demand, KeyValue, LimitsReport, Node, NodeRequest, PluginError};
            use $crate::{Machines as _, Objects as _, Provider as _};
            use $crate::{PowerAction, Target};
            type R<T> = ::std::result::Result<T, PluginError>;
            fn call<T>(target: &Target, f: impl AsyncFnOnce(&$provider) -> R<T>) -> R<T> {
                let client = <$provider>::connect(target);
                $crate::block_on(f(&client))
            }
            struct Component;
            impl $crate::bindings::Guest for Component {
                fn describe() -> $crate::ProviderInfo {
                    <$provider>::describe()
                }
                fn check_limits(t: Target, demands: Vec<Demand>) -> R<LimitsReport> {
                    call(&t, async |p| p.check_limits(demands).await)
                }
                fn resolve_image(t: Target, image: String, shape: String) -> R<String> {
                    call(&t, async |p| p.resolve_image(image, shape).await)
                }
                fn create_nodes(t: Target, request: NodeRequest) -> R<Vec<Node>> {
                    call(&t, async |p| p.create_nodes(request).await)
                }
                fn describe_nodes(t: Target, ids: Vec<String>) -> R<Vec<Node>> {
                    call(&t, async |p| p.describe_nodes(ids).await)
                }
                fn list_nodes(t: Target, tags: Vec<KeyValue>) -> R<Vec<Node>> {
                    call(&t, async |p| p.list_nodes(tags).await)
                }
                fn power(t: Target, ids: Vec<String>, action: PowerAction) -> R<()> {
                    call(&t, async |p| p.power(ids, action).await)
                }
                fn terminate_nodes(t: Target, ids: Vec<String>) -> R<()> {
                    call(&t, async |p| p.terminate_nodes(ids).await)
                }
                fn delete_tagged(t: Target, tags: Vec<KeyValue>) -> R<Vec<String>> {
                    call(&t, async |p| p.delete_tagged(tags).await)
                }
                fn put_object(t: Target, bucket: String, key: String, data: Vec<u8>) -> R<()> {
                    call(&t, async |p| p.put_object(bucket, key, data).await)
                }
                fn object_url(t: Target, bucket: String, key: String, secs: u32) -> R<String> {
                    call(&t, async |p| p.object_url(bucket, key, secs).await)
                }
                fn delete_bucket(t: Target, bucket: String) -> R<Vec<String>> {
                    call(&t, async |p| p.delete_bucket(bucket).await)
                }
            }
    $crate::bindings::export_bindings!(Component with_types_in $crate::bindings);
        };
    };
}

/// A `plugin-error` for bad input: not retryable, no provider code.
pub fn invalid(message: impl Into<String>) -> PluginError {
    PluginError {
        message: message.into(),
        retryable: false,
        code: None,
    }
}

/// Check what every provider needs of a node request: 1 to 100 nodes, a name of 1 to
/// `max_name` characters (the provider's limit, less the `-N` suffix), and ingress rules
/// with a port and a CIDR block (`a.b.c.d/n` or an IPv6 one, host bits zero).
pub fn check_request(request: &NodeRequest, max_name: usize) -> Result<()> {
    for rule in &request.ingress {
        if rule.port == 0 {
            return Err(invalid("an ingress rule needs a port from 1 to 65535"));
        }
        if let Source::Cidr(cidr) = &rule.source {
            check_cidr(cidr)?;
        }
    }
    if request.count == 0 || request.count > 100 {
        return Err(invalid(format!(
            "count must be 1 to 100, got {}",
            request.count
        )));
    }
    if request.name.is_empty() || request.name.len() > max_name {
        return Err(invalid(format!(
            "a node name must be 1 to {max_name} characters, got {:?}",
            request.name
        )));
    }
    Ok(())
}

/// A volume class as cluster specs write it: `ssd`, `hdd`, `high-iops`.
pub fn class_name(class: VolumeClass) -> &'static str {
    match class {
        VolumeClass::Ssd => "ssd",
        VolumeClass::Hdd => "hdd",
        VolumeClass::HighIops => "high-iops",
    }
}

/// The offer of `offers` for the volume's class, checked: offered, and the size within
/// its bounds.
pub fn check_volume<'a>(
    volume: &VolumeRequest,
    offers: &'a [VolumeOffer],
) -> Result<&'a VolumeOffer> {
    let offer = offers
        .iter()
        .find(|o| o.class == volume.class)
        .ok_or_else(|| invalid(format!("no {} volumes here", class_name(volume.class))))?;
    if !(offer.min_gb..=offer.max_gb).contains(&volume.size_gb) {
        return Err(invalid(format!(
            "a {} volume must be {} to {} GB, got {}",
            offer.kind, offer.min_gb, offer.max_gb, volume.size_gb
        )));
    }
    Ok(offer)
}

/// The names of the request's nodes: its name for one node, `NAME-1` ... `NAME-N` for
/// several.
pub fn node_names(request: &NodeRequest) -> Vec<String> {
    if request.count == 1 {
        return vec![request.name.clone()];
    }
    (1..=request.count)
        .map(|i| format!("{}-{i}", request.name))
        .collect()
}

/// Check a CIDR block: an IPv4 or IPv6 network with no host bits set.
pub fn check_cidr(cidr: &str) -> Result<()> {
    let net: ipnet::IpNet = cidr.parse().map_err(|_| {
        invalid(format!(
            "`{cidr}` is not a CIDR block (like 203.0.113.0/24)"
        ))
    })?;
    if net.trunc() != net {
        return Err(invalid(format!(
            "`{cidr}` has host bits set (the block is {})",
            net.trunc()
        )));
    }
    Ok(())
}
