//! EC2: instances, the security group and key pair made for them.

use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{
    Filter, Instance, InstanceType, IpPermission, IpRange, ResourceType, Tag, TagSpecification,
};
use base64::Engine as _;

use owbench_provider::{
    KeyValue, Machines, Node, NodeRequest, PluginError, PowerAction, check_request, invalid,
    node_names,
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
];

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
    }
}

/// The security group named `name` (made with the request's tags and ports if missing).
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
    if let Some(id) = existing
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
    {
        return Ok(id.to_owned());
    }
    let created = ec2
        .create_security_group()
        .group_name(name)
        // No spaces: moto checks signatures over its own re-encoding of the form, which
        // writes a space as `+` where the SDK (and AWS) use `%20`.
        .description(format!("owbench-ports-of-{}", request.name))
        .tag_specifications(tag_spec(ResourceType::SecurityGroup, &request.tags, name))
        .send()
        .await
        .map_err(|e| sdk_error("CreateSecurityGroup", e))?;
    let id = created.group_id().unwrap_or_default().to_owned();
    if !request.open_ports.is_empty() {
        let mut ingress = ec2.authorize_security_group_ingress().group_id(&id);
        for &port in &request.open_ports {
            ingress = ingress.ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(i32::from(port))
                    .to_port(i32::from(port))
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            );
        }
        ingress
            .send()
            .await
            .map_err(|e| sdk_error("AuthorizeSecurityGroupIngress", e))?;
    }
    Ok(id)
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

/// Every instance matching `filters`, page by page.
async fn instances(
    ec2: &aws_sdk_ec2::Client,
    filters: Vec<Filter>,
) -> Result<Vec<Node>, PluginError> {
    let mut nodes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ec2
            .describe_instances()
            .set_filters(Some(filters.clone()))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeInstances", e))?;
        for reservation in page.reservations() {
            nodes.extend(reservation.instances().iter().map(node_of));
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(nodes),
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
    /// Create the request's nodes, one RunInstances each (named `NAME-i` when several), with
    /// a client token per node so that a retried call does not create a node twice.
    async fn create_nodes(&self, request: NodeRequest) -> Result<Vec<Node>, PluginError> {
        check_request(&request, 40)?;
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
                .tag_specifications(tag_spec(ResourceType::Instance, &request.tags, &name))
                .tag_specifications(tag_spec(ResourceType::Volume, &request.tags, &name));
            if has_key {
                run = run.key_name(&key);
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
        Ok(deleted)
    }
}
