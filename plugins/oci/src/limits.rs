//! The account's limits a plan needs, from the Limits service's resource availability
//! (GetResourceAvailability): in the availability domain the nodes go to for a limit
//! scoped to one, else in the region.

use serde_json::Value;

use owbench_provider::{AccountLimit, Demand, LimitsReport, PluginError};

use crate::api::{Api, encode};
use crate::compute::{SHAPES, availability_domain, shape_config};

/// The size of a node's boot volume, GB (OCI's default for platform images), which
/// counts against block storage.
const BOOT_VOLUME_GB: u64 = 47;

/// The compute limit that counts a shape's cores, and whether it counts instances
/// instead (the Always Free micro shape).
fn compute_limit(shape: &str) -> Option<(&'static str, bool)> {
    Some(match shape {
        "VM.Standard.E2.1.Micro" => ("vm-standard-e2-1-micro-count", true),
        s if s.starts_with("VM.Standard2.") => ("standard2-core-count", false),
        "VM.Standard.E4.Flex" => ("standard-e4-core-count", false),
        "VM.Standard.E5.Flex" => ("standard-e5-core-count", false),
        "VM.Standard3.Flex" => ("standard3-core-count", false),
        "VM.Standard.A1.Flex" => ("standard-a1-core-count", false),
        s if s.starts_with("VM.DenseIO2.") => ("dense-io2-core-count", false),
        _ => return None,
    })
}

/// The OCPUs of one node of `shape`: setting `ocpus` for a flexible shape, else its
/// vCPUs over two.
fn ocpus(api: &Api, shape: &str) -> Result<u64, PluginError> {
    if shape.ends_with(".Flex") {
        let config = shape_config(api)?;
        return Ok(config["ocpus"].as_f64().unwrap_or(1.0).ceil() as u64);
    }
    Ok(SHAPES
        .iter()
        .find(|s| s.0 == shape)
        .map_or(1, |s| u64::from(s.1).div_ceil(2)))
}

/// The memory limit of a flexible shape (its memory is chosen, and counted apart from
/// its cores), with the GB of one node (setting `memory-gb`).
fn memory_limit(api: &Api, shape: &str) -> Result<Option<(&'static str, u64)>, PluginError> {
    let name = match shape {
        "VM.Standard.E4.Flex" => "standard-e4-memory-count",
        "VM.Standard.E5.Flex" => "standard-e5-memory-count",
        "VM.Standard3.Flex" => "standard3-memory-count",
        "VM.Standard.A1.Flex" => "standard-a1-memory-count",
        _ => return Ok(None),
    };
    let config = shape_config(api)?;
    let gb = config["memoryInGBs"].as_f64().unwrap_or(16.0).ceil() as u64;
    Ok(Some((name, gb)))
}

pub async fn check(api: &Api, demands: Vec<Demand>) -> Result<LimitsReport, PluginError> {
    let compartment = api.need("compartment-id", "the compartment OCID whose limits count")?;
    let ad = availability_domain(api, compartment).await?;
    let mut report = LimitsReport {
        limits: Vec::new(),
        unread: Vec::new(),
    };
    // What each limit needs, summed over the demands.
    let mut needs: Vec<(&str, &str, &str, u64)> = Vec::new();
    let mut add =
        |service: &'static str, limit: &'static str, unit: &'static str, n: u64| match needs
            .iter_mut()
            .find(|x| x.1 == limit)
        {
            Some(x) => x.3 += n,
            None => needs.push((service, limit, unit, n)),
        };
    for d in &demands {
        let count = u64::from(d.count);
        match compute_limit(&d.shape) {
            Some((limit, true)) => add("compute", limit, "instances", count),
            Some((limit, false)) => add("compute", limit, "OCPUs", count * ocpus(api, &d.shape)?),
            None => report
                .unread
                .push(format!("compute: no limit known for shape {}", d.shape)),
        }
        if let Some((limit, gb)) = memory_limit(api, &d.shape)? {
            add("compute", limit, "GB", count * gb);
        }
        let volume = d.volume.as_ref().map_or(0, |v| u64::from(v.size_gb));
        add(
            "block-storage",
            "total-storage-gb",
            "GB",
            count * (volume + BOOT_VOLUME_GB),
        );
    }
    for (service, limit, unit, needed) in needs {
        let url = api.limits(&format!(
            "/services/{service}/limits/{limit}/resourceAvailability?compartmentId={}",
            encode(compartment),
        ));
        let name = format!("{service} {limit}");
        // Most compute limits are scoped to an availability domain; a limit that is not
        // answers 400 to a call that names one, and is read for the region.
        let in_ad = format!("{url}&availabilityDomain={}", encode(&ad));
        let answer = match api.get::<Value>(&in_ad, "GetResourceAvailability").await {
            Err(e) if e.code.as_deref() == Some("InvalidParameter") => {
                api.get::<Value>(&url, "GetResourceAvailability").await
            }
            other => other,
        };
        match answer {
            Ok(v) => match v["available"].as_u64() {
                Some(available) => report.limits.push(AccountLimit {
                    name,
                    unit: unit.into(),
                    needed,
                    available,
                }),
                None => report
                    .unread
                    .push(format!("{name}: no `available` in the answer")),
            },
            Err(e) if !e.retryable => report.unread.push(format!("{name}: {}", e.message)),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}
