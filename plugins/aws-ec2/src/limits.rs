//! The account's limits a plan needs: Service Quotas' on-demand vCPU quota of the
//! standard instance families, against the vCPUs of the on-demand instances running.
//!
//! EC2's `max-instances` account attribute is not used: AWS documents it as no longer
//! supported (it does not reflect the vCPU limits that replaced instance counts).

use aws_sdk_ec2::types::Filter;
use owbench_provider::{AccountLimit, Demand, LimitsReport, PluginError};

use crate::{Sdk, sdk_error};

/// Service Quotas' code of "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z)
/// instances", in vCPUs.
pub const STANDARD_VCPUS: &str = "L-1216C47A";

/// The instance families [`STANDARD_VCPUS`] counts: the letters of its name, and the
/// families that start with one of them but have quotas of their own left out.
fn standard(shape: &str) -> bool {
    let family = shape.split('.').next().unwrap_or_default();
    let own_quota = ["inf", "dl", "hpc", "mac", "trn"];
    family
        .chars()
        .next()
        .is_some_and(|c| "acdhimrtz".contains(c))
        && !own_quota.iter().any(|q| family.starts_with(q))
}

/// The vCPUs of an instance type the plugin knows.
fn vcpus(shape: &str) -> Option<u32> {
    crate::ec2::SHAPES
        .iter()
        .find(|s| s.0 == shape)
        .map(|s| s.1)
}

/// The vCPUs of the pending and running on-demand instances of the standard families.
async fn standard_vcpus_in_use(sdk: &Sdk) -> Result<u64, PluginError> {
    let live = Filter::builder()
        .name("instance-state-name")
        .values("pending")
        .values("running")
        .build();
    let mut used = 0;
    crate::ec2::each_instance(&sdk.ec2(), vec![live], |i| {
        let shape = i.instance_type().map(|t| t.as_str()).unwrap_or_default();
        // Spot and scheduled instances have quotas of their own.
        if i.instance_lifecycle().is_some() || !standard(shape) {
            return;
        }
        used += i
            .cpu_options()
            .and_then(|c| Some(c.core_count()? * c.threads_per_core()?))
            .map(|n| n.max(0) as u64)
            .or_else(|| vcpus(shape).map(u64::from))
            .unwrap_or(0);
    })
    .await?;
    Ok(used)
}

pub async fn check(sdk: &Sdk, demands: Vec<Demand>) -> Result<LimitsReport, PluginError> {
    let mut report = LimitsReport {
        limits: Vec::new(),
        unread: Vec::new(),
    };
    let needed: u64 = demands
        .iter()
        .filter(|d| standard(&d.shape))
        .map(|d| u64::from(d.count) * u64::from(vcpus(&d.shape).unwrap_or(0)))
        .sum();
    if needed == 0 {
        return Ok(report);
    }
    let name = format!("Service Quotas {STANDARD_VCPUS} (Running On-Demand Standard instances)");
    let quota = sdk
        .service_quotas()
        .get_service_quota()
        .service_code("ec2")
        .quota_code(STANDARD_VCPUS)
        .send()
        .await;
    let value = match quota {
        Ok(q) => q.quota().and_then(|q| q.value()),
        Err(e) => {
            let e = sdk_error("GetServiceQuota", e);
            report.unread.push(format!("{name}: {}", e.message));
            return Ok(report);
        }
    };
    let Some(value) = value else {
        report.unread.push(format!("{name}: no value"));
        return Ok(report);
    };
    match standard_vcpus_in_use(sdk).await {
        Ok(used) => report.limits.push(AccountLimit {
            name,
            unit: "vCPUs".into(),
            needed,
            available: (value.max(0.0) as u64).saturating_sub(used),
        }),
        Err(e) => report
            .unread
            .push(format!("{name}: what runs now: {}", e.message)),
    }
    Ok(report)
}
