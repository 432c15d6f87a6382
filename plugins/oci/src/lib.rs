//! `oci`: owbench's provider plugin for Oracle Cloud, a WebAssembly component.
//!
//! Machines are Core Services instances (LaunchInstance, GetInstance, ListInstances,
//! InstanceAction, TerminateInstance) in the compartment and subnet the target's settings
//! name; `create-nodes` opens the request's ports with ingress rules on the subnet's
//! security list, and the SSH key goes into the instance metadata. Objects are Object
//! Storage objects with pre-authenticated requests as download URLs. There is no
//! official Rust SDK for OCI: the plugin builds the REST requests itself and sends them
//! unsigned over `wasi:http`; the host signs each one with the user's API key, which
//! never enters the component.
//!
//! Target settings: `compartment-id` (required), `subnet-id` (required to create nodes),
//! `availability-domain` (else the region's first), `ocpus` and `memory-gb` (flexible
//! shapes; 1 and 16), `namespace` (Object Storage; else the tenancy's).
//!
//! Throttling (429) and transient failures come back as retryable `plugin-error`s;
//! `owbench cluster` retries them with backoff and jitter, and LaunchInstance carries a
//! retry token so that a retried call creates nothing twice.
#![cfg(target_arch = "wasm32")]

mod api;
mod compute;
mod objects;

use api::Api;
use bindings::owbench::plugin::types::{KeyValue, PluginError};
use bindings::{Node, NodeRequest, PowerAction, ProviderInfo, Shape, Target};

#[allow(missing_docs, unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        world: "provider",
        path: "../../wit",
        generate_all,
    });
}

struct Component;

impl bindings::Guest for Component {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            name: "oci".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            regions: compute::REGIONS.iter().map(|r| r.to_string()).collect(),
            shapes: compute::SHAPES
                .iter()
                .map(|&(name, vcpus, memory_mib, price, _)| Shape {
                    name: name.into(),
                    vcpus,
                    memory_mib,
                    price_per_hour: Some(price),
                })
                .collect(),
        }
    }

    fn create_nodes(target: Target, request: NodeRequest) -> Result<Vec<Node>, PluginError> {
        wstd::runtime::block_on(compute::create_nodes(Api::new(&target), request))
    }

    fn describe_nodes(target: Target, ids: Vec<String>) -> Result<Vec<Node>, PluginError> {
        wstd::runtime::block_on(compute::describe_nodes(Api::new(&target), ids))
    }

    fn list_nodes(target: Target, tags: Vec<KeyValue>) -> Result<Vec<Node>, PluginError> {
        wstd::runtime::block_on(compute::list_nodes(Api::new(&target), tags))
    }

    fn power(target: Target, ids: Vec<String>, action: PowerAction) -> Result<(), PluginError> {
        wstd::runtime::block_on(compute::power(Api::new(&target), ids, action))
    }

    fn terminate_nodes(target: Target, ids: Vec<String>) -> Result<(), PluginError> {
        wstd::runtime::block_on(compute::terminate(Api::new(&target), ids))
    }

    fn delete_tagged(target: Target, tags: Vec<KeyValue>) -> Result<Vec<String>, PluginError> {
        wstd::runtime::block_on(compute::delete_tagged(Api::new(&target), tags))
    }

    fn put_object(
        target: Target,
        bucket: String,
        key: String,
        data: Vec<u8>,
    ) -> Result<(), PluginError> {
        wstd::runtime::block_on(objects::put_object(Api::new(&target), bucket, key, data))
    }

    fn object_url(
        target: Target,
        bucket: String,
        key: String,
        expires_secs: u32,
    ) -> Result<String, PluginError> {
        wstd::runtime::block_on(objects::object_url(
            Api::new(&target),
            bucket,
            key,
            expires_secs,
        ))
    }
}

// The generated export glue is the component's only unsafe code.
#[allow(unsafe_code)]
const _: () = {
    bindings::export!(Component with_types_in bindings);
};
