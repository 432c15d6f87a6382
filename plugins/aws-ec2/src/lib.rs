//! `aws-ec2`: owbench's provider plugin for AWS, a WebAssembly component.
//!
//! Machines are EC2 instances (RunInstances, DescribeInstances, Start/Stop/Terminate),
//! each `create-nodes` call also makes the security group that opens the request's ports
//! and imports its SSH key; objects are S3 objects with presigned GET URLs. The AWS SDK
//! for Rust runs inside the component over `wasi:http` (`aws-smithy-wasm`). It signs with
//! placeholder keys: the host re-signs every request, and every presigned URL, with the
//! user's credentials, which never enter the component.
//!
//! Throttling (`RequestLimitExceeded`) and transient failures are retried by the SDK's
//! standard retry strategy (exponential backoff with full jitter, 5 attempts); what is
//! still failing after that comes back as a `plugin-error` that says whether a later retry
//! may help.
#![cfg(target_arch = "wasm32")]

mod ec2;
mod limits;
mod s3;

use aws_sdk_ec2::config::{Credentials, Region};
use aws_smithy_wasm::wasi::{WasiHttpClientBuilder, WasiSleep};

use owbench_provider::{KeyValue, PluginError, Provider, ProviderInfo, Shape, Target};

/// The keys the SDK signs with; the host replaces the signature.
const PLACEHOLDER_KEY_ID: &str = "OWBENCHHOSTSIGNS";
const PLACEHOLDER_SECRET: &str = "the-host-re-signs-every-request";

/// The client of SDK crate `$sdk` for `$this` (a [`Sdk`]): placeholder keys, `wasi:http`,
/// the standard retries, and the target's endpoint if it names one.
macro_rules! sdk_client {
    ($sdk:ident, $this:expr) => {{
        use $sdk::config::{BehaviorVersion, Region, retry::RetryConfig};
        let mut config = $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new($this.region.to_string()))
            .credentials_provider(placeholder())
            .http_client(WasiHttpClientBuilder::new().build())
            .sleep_impl(WasiSleep)
            .retry_config(RetryConfig::standard().with_max_attempts(5));
        if let Some(url) = &$this.endpoint {
            config = config.endpoint_url(url);
        }
        $sdk::Client::from_conf(config.build())
    }};
}

/// What the SDK needs for one call, whichever service.
struct Sdk {
    region: Region,
    endpoint: Option<String>,
}

impl Sdk {
    fn new(target: &Target) -> Sdk {
        Sdk {
            region: Region::new(target.region.clone()),
            endpoint: target.endpoint.clone(),
        }
    }

    fn ec2(&self) -> aws_sdk_ec2::Client {
        sdk_client!(aws_sdk_ec2, self)
    }

    fn service_quotas(&self) -> aws_sdk_servicequotas::Client {
        sdk_client!(aws_sdk_servicequotas, self)
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        use aws_sdk_s3::config::{RequestChecksumCalculation, retry::RetryConfig};
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(self.region.to_string()))
            .credentials_provider(placeholder())
            .http_client(WasiHttpClientBuilder::new().build())
            .sleep_impl(WasiSleep)
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            // A plain payload hash the host can sign over, no checksum trailer.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired);
        if let Some(url) = &self.endpoint {
            config = config.endpoint_url(url).force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }
}

fn placeholder() -> Credentials {
    Credentials::new(
        PLACEHOLDER_KEY_ID,
        PLACEHOLDER_SECRET,
        None,
        None,
        "owbench-host-signs",
    )
}

/// Error codes after which the same call may succeed later.
const RETRYABLE_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "SlowDown",
    "InsufficientInstanceCapacity",
    "DependencyViolation",
    "IncorrectInstanceState",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
];

/// A `plugin-error` for an SDK call that failed at `step`.
fn sdk_error<E, R>(step: &str, e: aws_sdk_ec2::error::SdkError<E, R>) -> PluginError
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
    let code = e.code().map(str::to_owned);
    let retryable = match &e {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(d) => d.is_timeout() || d.is_io(),
        _ => code
            .as_deref()
            .is_some_and(|c| RETRYABLE_CODES.contains(&c)),
    };
    let message = match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{step}: {code}: {message}"),
        _ => format!("{step}: {}", DisplayErrorContext(&e)),
    };
    PluginError {
        message,
        retryable,
        code,
    }
}

/// Tags as EC2 filters (`tag:KEY` = VALUE).
fn tag_filters(tags: &[KeyValue]) -> Vec<aws_sdk_ec2::types::Filter> {
    tags.iter()
        .map(|t| {
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{}", t.key))
                .values(&t.value)
                .build()
        })
        .collect()
}

impl Provider for Sdk {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            name: "aws-ec2".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            regions: ec2::REGIONS.iter().map(|r| r.to_string()).collect(),
            shapes: ec2::SHAPES
                .iter()
                .map(|&(name, vcpus, memory_mib, price)| Shape {
                    name: name.into(),
                    vcpus,
                    memory_mib,
                    price_per_hour: Some(price),
                    arch: ec2::arch(name).into(),
                    local_nvme_gb: ec2::LOCAL_NVME
                        .iter()
                        .find(|(shape, _)| *shape == name)
                        .map_or(0, |(_, gb)| *gb),
                })
                .collect(),
            volumes: ec2::volume_offers(),
        }
    }

    fn connect(target: &Target) -> Sdk {
        Sdk::new(target)
    }
}

owbench_provider::export_provider!(Sdk);
