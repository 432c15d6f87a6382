//! EC2: images by alias, instances, the security group and key pair made for them.

use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, HttpTokensState, Instance,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceType, IpPermission,
    IpRange, Ipv6Range, ResourceType, ShutdownBehavior, Tag, TagSpecification, VolumeType,
};
use base64::Engine as _;

use owbench_provider::{
    AttachedVolume, Demand, IngressRule, KeyValue, LimitsReport, Machines, Node, NodeRequest,
    PluginError, PowerAction, Protocol, Source, VolumeClass, VolumeOffer, check_request,
    check_volume, invalid, node_names,
};

use crate::{Sdk, sdk_error, tag_filters};

/// Regions the plugin offers (EC2's commercial regions).
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "sa-east-1",
];

/// Shapes it knows: (instance type, vCPUs, MiB, on-demand USD per hour in us-east-1,
/// Linux, as listed on 2026-11-01).
pub const SHAPES: &[(&str, u32, u64, f64)] = &[
    ("t3.small", 2, 2048, 0.0208),
    ("t3.medium", 2, 4096, 0.0416),
    ("t3.large", 2, 8192, 0.0832),
    ("m7i.large", 2, 8192, 0.1008),
    ("m7i.xlarge", 4, 16384, 0.2016),
    ("m7i.2xlarge", 8, 32768, 0.4032),
    ("c7i.large", 2, 4096, 0.0893),
    ("c7i.xlarge", 4, 8192, 0.1785),
    ("c7i.2xlarge", 8, 16384, 0.357),
    ("r7i.large", 2, 16384, 0.1323),
    ("r7i.xlarge", 4, 32768, 0.2646),
    // Graviton3 (aarch64).
    ("m7g.large", 2, 8192, 0.0816),
    ("m7g.xlarge", 4, 16384, 0.1632),
    ("m7g.2xlarge", 8, 32768, 0.3264),
    // Storage optimised, with local NVMe (see LOCAL_NVME).
    ("i3.large", 2, 15616, 0.156),
    ("i3.xlarge", 4, 31232, 0.312),
    ("i4i.large", 2, 16384, 0.172),
    ("i4i.xlarge", 4, 32768, 0.343),
];

/// The instance types of [`SHAPES`] with local NVMe instance storage, GB.
pub const LOCAL_NVME: &[(&str, u32)] = &[
    ("i3.large", 475),
    ("i3.xlarge", 950),
    ("i4i.large", 468),
    ("i4i.xlarge", 937),
];

/// The EBS volume of each class: (class, type, smallest and largest GB, provisioned
/// IOPS, USD per GB-month and per IOPS-month in us-east-1 as listed on 2026-11-01). io2
/// is provisioned at 16,000 IOPS (gp3's most), which needs 32 GB (500 IOPS per GB).
pub const VOLUMES: &[VolumeRow] = &[
    (VolumeClass::Ssd, "gp3", 1, 16384, 0, 0.08, None),
    (VolumeClass::Hdd, "st1", 125, 16384, 0, 0.045, None),
    (
        VolumeClass::HighIops,
        "io2",
        32,
        65536,
        16000,
        0.125,
        Some(0.065),
    ),
];

/// A row of [`VOLUMES`].
pub type VolumeRow = (VolumeClass, &'static str, u32, u32, u32, f64, Option<f64>);

/// The offers of [`VOLUMES`].
pub fn volume_offers() -> Vec<VolumeOffer> {
    VOLUMES
        .iter()
        .map(
            |&(class, kind, min_gb, max_gb, iops, gb, iops_price)| VolumeOffer {
                class,
                kind: kind.into(),
                min_gb,
                max_gb,
                iops,
                price_per_gb_month: Some(gb),
                price_per_iops_month: iops_price,
                unavailable_in: Vec::new(),
            },
        )
        .collect()
}

/// The device a node's volume is attached as (`/dev/nvme1n1` on Nitro machines).
const VOLUME_DEVICE: &str = "/dev/sdf";

/// Canonical's AWS account, the owner of the official Ubuntu AMIs.
const CANONICAL: &str = "099720109477";

/// Image aliases: (alias, the AMI name pattern with `{arch}` for `amd64`/`arm64`).
pub const IMAGE_ALIASES: &[(&str, &str)] = &[
    (
        "ubuntu-24.04",
        "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-{arch}-server-*",
    ),
    (
        "ubuntu-22.04",
        "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-{arch}-server-*",
    ),
];

/// The CPU architecture of an instance type, as Rust names it: Graviton families (a `g`
/// after the generation, as in `m7g`, `c8gd`, `t4g`) are `aarch64`, the others `x86_64`.
pub fn arch(shape: &str) -> &'static str {
    let family = shape.split('.').next().unwrap_or_default();
    let after_generation = family
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_start_matches(|c: char| c.is_ascii_digit());
    if after_generation.starts_with('g') {
        "aarch64"
    } else {
        "x86_64"
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn tag_spec(kind: ResourceType, tags: &[KeyValue], name: &str) -> TagSpecification {
    let mut spec = TagSpecification::builder()
        .resource_type(kind)
        .tags(tag("Name", name));
    for t in tags {
        spec = spec.tags(tag(&t.key, &t.value));
    }
    spec.build()
}

/// EC2's state names, in the world's words.
fn state_name(instance: &Instance) -> String {
    let state = instance
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str())
        .unwrap_or("unknown");
    match state {
        "shutting-down" => "terminating".into(),
        other => other.into(),
    }
}

fn node_of(instance: &Instance) -> Node {
    let tags: Vec<KeyValue> = instance
        .tags()
        .iter()
        .filter_map(|t| {
            Some(KeyValue {
                key: t.key()?.to_owned(),
                value: t.value().unwrap_or_default().to_owned(),
            })
        })
        .collect();
    Node {
        id: instance.instance_id().unwrap_or_default().to_owned(),
        name: tags
            .iter()
            .find(|t| t.key == "Name")
            .map(|t| t.value.clone())
            .unwrap_or_default(),
        state: state_name(instance),
        shape: instance
            .instance_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        public_ip: instance.public_ip_address().map(str::to_owned),
        private_ip: instance.private_ip_address().map(str::to_owned),
        tags,
        volumes: Vec::new(),
    }
}

/// The volumes attached to `nodes` besides their root volumes, filled in; `roots` is
/// each instance's root device name (its root volume is attached there, even before
/// DescribeInstances lists it).
async fn with_volumes(
    ec2: &aws_sdk_ec2::Client,
    mut nodes: Vec<Node>,
    roots: &[(String, String)],
) -> Result<Vec<Node>, PluginError> {
    let ids: Vec<String> = nodes.iter().map(|n| n.id.clone()).collect();
    if ids.is_empty() {
        return Ok(nodes);
    }
    let mut token: Option<String> = None;
    loop {
        let page = ec2
            .describe_volumes()
            .filters(
                Filter::builder()
                    .name("attachment.instance-id")
                    .set_values(Some(ids.clone()))
                    .build(),
            )
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeVolumes", e))?;
        for volume in page.volumes() {
            for attachment in volume.attachments() {
                let instance = attachment.instance_id().unwrap_or_default();
                let device = attachment.device().unwrap_or_default();
                if roots
                    .iter()
                    .any(|(i, root)| i == instance && root == device)
                {
                    continue;
                }
                let Some(node) = nodes.iter_mut().find(|n| n.id == instance) else {
                    continue;
                };
                node.volumes.push(AttachedVolume {
                    id: volume.volume_id().unwrap_or_default().to_owned(),
                    size_gb: volume.size().unwrap_or_default().max(0) as u32,
                    kind: volume
                        .volume_type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    state: volume
                        .state()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                });
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(nodes),
        }
    }
}

/// An instance's id and its root device name (`/dev/sda1`), if it has one.
fn root_device(instance: &Instance) -> Option<(String, String)> {
    Some((
        instance.instance_id()?.to_owned(),
        instance.root_device_name()?.to_owned(),
    ))
}

/// The security group named `name` (made with the request's tags if missing), with the
/// request's ingress rules: added each time, a rule already there being fine, so that a
/// call retried after the group was made still opens every port.
async fn security_group(
    ec2: &aws_sdk_ec2::Client,
    name: &str,
    request: &NodeRequest,
) -> Result<String, PluginError> {
    let existing = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .send()
        .await
        .map_err(|e| sdk_error("DescribeSecurityGroups", e))?;
    let id = match existing
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
    {
        Some(id) => id.to_owned(),
        None => ec2
            .create_security_group()
            .group_name(name)
            // No spaces: moto checks signatures over its own re-encoding of the form, which
            // writes a space as `+` where the SDK (and AWS) use `%20`.
            .description(format!("owbench-ports-of-{}", request.name))
            .tag_specifications(tag_spec(ResourceType::SecurityGroup, &request.tags, name))
            .send()
            .await
            .map_err(|e| sdk_error("CreateSecurityGroup", e))?
            .group_id()
            .unwrap_or_default()
            .to_owned(),
    };
    if request.ingress.is_empty() {
        return Ok(id);
    }
    let cluster = if request
        .ingress
        .iter()
        .any(|r| matches!(r.source, Source::Cluster))
    {
        vpc_cidrs(ec2).await?
    } else {
        Vec::new()
    };
    // One call per rule: EC2 refuses a whole call when one of its rules exists.
    for rule in &request.ingress {
        let added = ec2
            .authorize_security_group_ingress()
            .group_id(&id)
            .ip_permissions(permission(rule, &cluster))
            .send()
            .await;
        match added {
            Ok(_) => {}
            Err(e)
                if aws_sdk_ec2::error::ProvideErrorMetadata::code(&e)
                    == Some("InvalidPermission.Duplicate") => {}
            Err(e) => return Err(sdk_error("AuthorizeSecurityGroupIngress", e)),
        }
    }
    Ok(id)
}

/// One ingress rule as an EC2 permission; `cluster` is the VPC's CIDR blocks.
fn permission(rule: &IngressRule, cluster: &[String]) -> IpPermission {
    let protocol = match rule.protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    };
    let mut permission = IpPermission::builder()
        .ip_protocol(protocol)
        .from_port(i32::from(rule.port))
        .to_port(i32::from(rule.port));
    let cidrs = match &rule.source {
        Source::Cidr(cidr) => std::slice::from_ref(cidr),
        Source::Cluster => cluster,
    };
    for cidr in cidrs {
        permission = if cidr.contains(':') {
            permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build())
        } else {
            permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        };
    }
    permission.build()
}

/// The CIDR blocks of the default VPC, where the nodes are made.
async fn vpc_cidrs(ec2: &aws_sdk_ec2::Client) -> Result<Vec<String>, PluginError> {
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .map_err(|e| sdk_error("DescribeVpcs", e))?;
    let vpc = vpcs
        .vpcs()
        .first()
        .ok_or_else(|| invalid("DescribeVpcs: the region has no default VPC to make nodes in"))?;
    let mut cidrs: Vec<String> = vpc.cidr_block().map(str::to_owned).into_iter().collect();
    for association in vpc.cidr_block_association_set() {
        if let Some(cidr) = association.cidr_block()
            && !cidrs.iter().any(|c| c == cidr)
        {
            cidrs.push(cidr.to_owned());
        }
    }
    Ok(cidrs)
}

/// Import the request's SSH key as key pair `name` unless it exists.
async fn key_pair(
    ec2: &aws_sdk_ec2::Client,
    name: &str,
    request: &NodeRequest,
) -> Result<(), PluginError> {
    let imported = ec2
        .import_key_pair()
        .key_name(name)
        .public_key_material(Blob::new(request.ssh_public_key.as_bytes()))
        .tag_specifications(tag_spec(ResourceType::KeyPair, &request.tags, name))
        .send()
        .await;
    match imported {
        Ok(_) => Ok(()),
        Err(e)
            if aws_sdk_ec2::error::ProvideErrorMetadata::code(&e)
                == Some("InvalidKeyPair.Duplicate") =>
        {
            Ok(())
        }
        Err(e) => Err(sdk_error("ImportKeyPair", e)),
    }
}

/// Every instance matching `filters` as a node, with its volumes.
async fn instances(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<Node>, PluginError> {
    let mut nodes = Vec::new();
    let mut roots = Vec::new();
    each_instance(ec2, filters, |instance| {
        nodes.push(node_of(instance));
        roots.extend(root_device(instance));
    })
    .await?;
    with_volumes(ec2, nodes, &roots).await
}

/// Call `f` on every instance matching `filters`, DescribeInstances page by page.
pub async fn each_instance(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
    mut f: impl FnMut(&Instance),
) -> Result<(), PluginError> {
    let mut token: Option<String> = None;
    loop {
        let page = ec2
            .describe_instances()
            .set_filters(Some(filters.clone()))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeInstances", e))?;
        page.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .for_each(&mut f);
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(()),
        }
    }
}

/// The instances with these ids (a filter, not `InstanceIds`: an unknown id is left out
/// instead of failing the call).
async fn by_ids(ec2: &aws_sdk_ec2::Client, ids: Vec<String>) -> Result<Vec<Node>, PluginError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let filter = Filter::builder()
        .name("instance-id")
        .set_values(Some(ids))
        .build();
    instances(ec2, vec![filter]).await
}

impl Machines for Sdk {
    /// An alias of [`IMAGE_ALIASES`]: the newest available AMI Canonical published under
    /// its name pattern for the shape's architecture, in the target's region; an `ami-`
    /// id as it is.
    async fn resolve_image(&self, image: String, shape: String) -> Result<String, PluginError> {
        if image.starts_with("ami-") {
            return Ok(image);
        }
        let Some((_, pattern)) = IMAGE_ALIASES.iter().find(|(alias, _)| *alias == image) else {
            return Err(invalid(format!(
                "image `{image}` is neither an AMI id (ami-...) nor an alias this plugin knows ({})",
                IMAGE_ALIASES
                    .iter()
                    .map(|(a, _)| *a)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        // Ubuntu's names for them.
        let arch = match arch(&shape) {
            "aarch64" => "arm64",
            _ => "amd64",
        };
        let name = pattern.replace("{arch}", arch);
        let images = self
            .ec2()
            .describe_images()
            .owners(CANONICAL)
            .filters(Filter::builder().name("name").values(&name).build())
            .filters(Filter::builder().name("state").values("available").build())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeImages", e))?;
        // ISO 8601 dates sort as text.
        images
            .images()
            .iter()
            .filter(|i| i.image_id().is_some())
            .max_by_key(|i| i.creation_date().unwrap_or_default())
            .and_then(|i| i.image_id())
            .map(str::to_owned)
            .ok_or_else(|| {
                invalid(format!(
                    "no {arch} image of `{image}` ({name}, owner {CANONICAL}) in region {}",
                    self.region
                ))
            })
    }

    /// Create the request's nodes, one RunInstances each (named `NAME-i` when several), with
    /// a client token per node so that a retried call does not create a node twice.
    async fn create_nodes(&self, request: NodeRequest) -> Result<Vec<Node>, PluginError> {
        check_request(&request, 40)?;
        let volume = match &request.volume {
            Some(v) => {
                let offers = volume_offers();
                let offer = check_volume(v, &offers)?;
                let mut ebs = EbsBlockDevice::builder()
                    .volume_size(v.size_gb as i32)
                    .volume_type(VolumeType::from(offer.kind.as_str()))
                    .delete_on_termination(true);
                if offer.iops > 0 {
                    ebs = ebs.iops(offer.iops as i32);
                }
                Some(
                    BlockDeviceMapping::builder()
                        .device_name(VOLUME_DEVICE)
                        .ebs(ebs.build())
                        .build(),
                )
            }
            None => None,
        };
        let ec2 = self.ec2();
        let group = security_group(&ec2, &format!("{}-sg", request.name), &request).await?;
        let key = format!("{}-key", request.name);
        let has_key = !request.ssh_public_key.trim().is_empty();
        if has_key {
            key_pair(&ec2, &key, &request).await?;
        }
        let user_data = base64::engine::general_purpose::STANDARD.encode(&request.user_data);
        let mut nodes = Vec::new();
        for name in node_names(&request) {
            let mut run = ec2
                .run_instances()
                .image_id(&request.image)
                .instance_type(InstanceType::from(request.shape.as_str()))
                .min_count(1)
                .max_count(1)
                .client_token(&name)
                .security_group_ids(&group)
                .user_data(&user_data)
                // IMDSv2 only, one hop: containers on the node cannot reach the metadata.
                .metadata_options(
                    InstanceMetadataOptionsRequest::builder()
                        .http_endpoint(InstanceMetadataEndpointState::Enabled)
                        .http_tokens(HttpTokensState::Required)
                        .http_put_response_hop_limit(1)
                        .build(),
                )
                .tag_specifications(tag_spec(ResourceType::Instance, &request.tags, &name))
                .tag_specifications(tag_spec(ResourceType::Volume, &request.tags, &name));
            if has_key {
                run = run.key_name(&key);
            }
            if let Some(volume) = &volume {
                run = run.block_device_mappings(volume.clone());
            }
            if request.terminate_on_shutdown {
                run = run.instance_initiated_shutdown_behavior(ShutdownBehavior::Terminate);
            }
            let out = run
                .send()
                .await
                .map_err(|e| sdk_error(&format!("RunInstances ({name})"), e))?;
            nodes.extend(out.instances().iter().map(node_of));
        }
        Ok(nodes)
    }

    /// Describe nodes by id; ids EC2 does not know are left out.
    async fn describe_nodes(&self, ids: Vec<String>) -> Result<Vec<Node>, PluginError> {
        by_ids(&self.ec2(), ids).await
    }

    /// The instances not terminated that carry every tag.
    async fn list_nodes(&self, tags: Vec<KeyValue>) -> Result<Vec<Node>, PluginError> {
        if tags.is_empty() {
            return Err(invalid(
                "list-nodes needs at least one tag (it never lists a whole account)",
            ));
        }
        let mut filters = tag_filters(&tags);
        filters.push(
            Filter::builder()
                .name("instance-state-name")
                .set_values(Some(
                    ["pending", "running", "stopping", "stopped", "shutting-down"]
                        .map(String::from)
                        .to_vec(),
                ))
                .build(),
        );
        instances(&self.ec2(), filters).await
    }

    /// Start or stop instances.
    async fn power(&self, ids: Vec<String>, action: PowerAction) -> Result<(), PluginError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ec2 = self.ec2();
        match action {
            PowerAction::Start => ec2
                .start_instances()
                .set_instance_ids(Some(ids))
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("StartInstances", e)),
            PowerAction::Stop => ec2
                .stop_instances()
                .set_instance_ids(Some(ids))
                .send()
                .await
                .map(drop)
                .map_err(|e| sdk_error("StopInstances", e)),
        }
    }

    /// Terminate instances; those EC2 no longer knows are skipped.
    async fn terminate_nodes(&self, ids: Vec<String>) -> Result<(), PluginError> {
        let ec2 = self.ec2();
        // Only the ids that still exist: TerminateInstances fails as a whole on an unknown one.
        let known: Vec<String> = by_ids(&ec2, ids)
            .await?
            .into_iter()
            .filter(|n| n.state != "terminated")
            .map(|n| n.id)
            .collect();
        if known.is_empty() {
            return Ok(());
        }
        ec2.terminate_instances()
            .set_instance_ids(Some(known))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("TerminateInstances", e))
    }

    /// Delete the security groups and key pairs carrying every tag.
    async fn delete_tagged(&self, tags: Vec<KeyValue>) -> Result<Vec<String>, PluginError> {
        if tags.is_empty() {
            return Err(invalid(
                "delete-tagged needs at least one tag (it never deletes across a whole account)",
            ));
        }
        let ec2 = self.ec2();
        let mut deleted = Vec::new();
        let groups = ec2
            .describe_security_groups()
            .set_filters(Some(tag_filters(&tags)))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeSecurityGroups", e))?;
        for group in groups.security_groups() {
            let Some(id) = group.group_id() else { continue };
            ec2.delete_security_group()
                .group_id(id)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("DeleteSecurityGroup ({id})"), e))?;
            deleted.push(format!("security-group {id}"));
        }
        let keys = ec2
            .describe_key_pairs()
            .set_filters(Some(tag_filters(&tags)))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeKeyPairs", e))?;
        for key in keys.key_pairs() {
            let Some(name) = key.key_name() else { continue };
            ec2.delete_key_pair()
                .key_name(name)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("DeleteKeyPair ({name})"), e))?;
            deleted.push(format!("key-pair {name}"));
        }
        // Volumes are deleted with their instances; one left (detached) is deleted here.
        let volumes = ec2
            .describe_volumes()
            .set_filters(Some(tag_filters(&tags)))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeVolumes", e))?;
        for volume in volumes.volumes() {
            let Some(id) = volume.volume_id() else {
                continue;
            };
            match volume.state().map(|s| s.as_str()) {
                Some("available") => {
                    ec2.delete_volume()
                        .volume_id(id)
                        .send()
                        .await
                        .map_err(|e| sdk_error(&format!("DeleteVolume ({id})"), e))?;
                    deleted.push(format!("volume {id}"));
                }
                Some("in-use") => {
                    return Err(PluginError {
                        message: format!("volume {id} is still attached to a node"),
                        retryable: true,
                        code: Some("VolumeInUse".into()),
                    });
                }
                _ => {}
            }
        }
        Ok(deleted)
    }

    /// Service Quotas' L-1216C47A (on-demand standard instances, vCPUs) against the
    /// vCPUs of those running (see [`crate::limits`]).
    async fn check_limits(&self, demands: Vec<Demand>) -> Result<LimitsReport, PluginError> {
        crate::limits::check(self, demands).await
    }
}
