//! The account's limits a plan needs: EC2's `max-instances` account attribute, and
//! Service Quotas' on-demand vCPU quota of the standard instance families.

use aws_sdk_ec2::types::Filter;
use owbench_provider::{AccountLimit, Demand, LimitsReport, PluginError};

use crate::{Sdk, sdk_error};

/// Service Quotas' code of "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z)
/// instances", in vCPUs.
pub const STANDARD_VCPUS: &str = "L-1216C47A";

/// Whether an instance type is of the standard families [`STANDARD_VCPUS`] counts.
fn standard(shape: &str) -> bool {
    shape
        .chars()
        .next()
        .is_some_and(|c| "acdhimrtz".contains(c))
}

/// The vCPUs of an instance type the plugin knows.
fn vcpus(shape: &str) -> Option<u32> {
    crate::ec2::SHAPES
        .iter()
        .find(|s| s.0 == shape)
        .map(|s| s.1)
}

pub async fn check(sdk: &Sdk, demands: Vec<Demand>) -> Result<LimitsReport, PluginError> {
    let ec2 = sdk.ec2();
    let mut report = LimitsReport {
        limits: Vec::new(),
        unread: Vec::new(),
    };
    // What runs now: pending and running instances, with their vCPUs.
    let mut running = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name("instance-state-name")
                    .values("pending")
                    .values("running")
                    .build(),
            )
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeInstances", e))?;
        for r in page.reservations() {
            for i in r.instances() {
                let shape = i.instance_type().map(|t| t.as_str().to_owned());
                let cpus = i
                    .cpu_options()
                    .and_then(|c| Some(c.core_count()? * c.threads_per_core()?))
                    .map(|n| n.max(0) as u64)
                    .or_else(|| shape.as_deref().and_then(vcpus).map(u64::from))
                    .unwrap_or(0);
                running.push((shape.unwrap_or_default(), cpus));
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    let needed_instances: u64 = demands.iter().map(|d| u64::from(d.count)).sum();
    let attributes = ec2
        .describe_account_attributes()
        .attribute_names(aws_sdk_ec2::types::AccountAttributeName::from(
            "max-instances",
        ))
        .send()
        .await
        .map_err(|e| sdk_error("DescribeAccountAttributes", e))?;
    let max_instances = attributes
        .account_attributes()
        .iter()
        .find(|a| a.attribute_name() == Some("max-instances"))
        .and_then(|a| {
            a.attribute_values()
                .first()?
                .attribute_value()?
                .parse::<u64>()
                .ok()
        });
    match max_instances {
        Some(max) => report.limits.push(AccountLimit {
            name: "EC2 account attribute max-instances".into(),
            unit: "instances".into(),
            needed: needed_instances,
            available: max.saturating_sub(running.len() as u64),
        }),
        None => report
            .unread
            .push("EC2 account attribute max-instances: not in DescribeAccountAttributes".into()),
    }
    let needed_vcpus: u64 = demands
        .iter()
        .filter(|d| standard(&d.shape))
        .map(|d| u64::from(d.count) * u64::from(vcpus(&d.shape).unwrap_or(0)))
        .sum();
    if needed_vcpus > 0 {
        let name =
            format!("Service Quotas {STANDARD_VCPUS} (Running On-Demand Standard instances)");
        let quota = sdk
            .service_quotas()
            .get_service_quota()
            .service_code("ec2")
            .quota_code(STANDARD_VCPUS)
            .send()
            .await;
        match quota {
            Ok(q) => match q.quota().and_then(|q| q.value()) {
                Some(value) => {
                    let in_use: u64 = running
                        .iter()
                        .filter(|(shape, _)| standard(shape))
                        .map(|(_, cpus)| cpus)
                        .sum();
                    report.limits.push(AccountLimit {
                        name,
                        unit: "vCPUs".into(),
                        needed: needed_vcpus,
                        available: (value.max(0.0) as u64).saturating_sub(in_use),
                    });
                }
                None => report.unread.push(format!("{name}: no value")),
            },
            Err(e) => report
                .unread
                .push(sdk_error(&format!("{name}: GetServiceQuota"), e).message),
        }
    }
    Ok(report)
}
