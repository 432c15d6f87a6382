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
mod limits;
mod objects;

use api::Api;
use owbench_provider::{Provider, ProviderInfo, Shape, Target};

impl Provider for Api {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            name: "oci".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            regions: compute::REGIONS.iter().map(|r| r.to_string()).collect(),
            shapes: compute::SHAPES
                .iter()
                .map(|&(name, vcpus, memory_mib, price)| Shape {
                    name: name.into(),
                    vcpus,
                    memory_mib,
                    price_per_hour: Some(price),
                    // Ampere (A1) shapes are Arm.
                    arch: if name.contains(".A1.") {
                        "aarch64"
                    } else {
                        "x86_64"
                    }
                    .into(),
                    local_nvme_gb: compute::LOCAL_NVME
                        .iter()
                        .find(|(shape, _)| *shape == name)
                        .map_or(0, |(_, gb)| *gb),
                })
                .collect(),
            volumes: compute::volume_offers(),
        }
    }

    fn connect(target: &Target) -> Api {
        Api::new(target)
    }
}

owbench_provider::export_provider!(Api);
