//! Core Services: platform images by alias (ListImages), instances (LaunchInstance,
//! GetInstance, ListInstances, InstanceAction, TerminateInstance), their addresses (VNIC
//! attachments, VNICs) and the ingress rules of the subnet's security list that open the
//! request's ports.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use wstd::http::Method;

use owbench_provider::{
    AttachedVolume, Demand, IngressRule, KeyValue, LimitsReport, Machines, Node, NodeRequest,
    PluginError, PowerAction, Protocol, Source, VolumeClass, VolumeOffer, check_request,
    check_volume, invalid, node_names,
};

use crate::api::{Api, encode};

/// Regions the plugin offers (OCI's commercial regions).
pub const REGIONS: &[&str] = &[
    "us-ashburn-1",
    "us-phoenix-1",
    "us-sanjose-1",
    "us-chicago-1",
    "ca-toronto-1",
    "eu-frankfurt-1",
    "eu-amsterdam-1",
    "eu-paris-1",
    "eu-madrid-1",
    "eu-milan-1",
    "eu-stockholm-1",
    "uk-london-1",
    "ap-tokyo-1",
    "ap-osaka-1",
    "ap-seoul-1",
    "ap-mumbai-1",
    "ap-singapore-1",
    "ap-sydney-1",
    "sa-saopaulo-1",
    "me-dubai-1",
];

/// Shapes it knows: (shape, vCPUs, MiB, USD per hour). A flexible shape (`.Flex`) is
/// listed at 1 OCPU and 16 GB (settings `ocpus` and `memory-gb` change what is
/// launched, not the listed price); prices are OCI's pay-as-you-go list prices for
/// compute (OCPU-hours plus GB-hours), as listed on 2026-11-01. One x86 OCPU is 2 vCPUs.
pub const SHAPES: &[(&str, u32, u64, f64)] = &[
    ("VM.Standard.E2.1.Micro", 2, 1024, 0.0),
    ("VM.Standard2.1", 2, 15360, 0.0638),
    ("VM.Standard2.2", 4, 30720, 0.1276),
    ("VM.Standard.E4.Flex", 2, 16384, 0.049),
    ("VM.Standard.E5.Flex", 2, 16384, 0.062),
    ("VM.Standard3.Flex", 2, 16384, 0.064),
    ("VM.Standard.A1.Flex", 1, 16384, 0.034),
    // Dense I/O: 8 OCPUs with local NVMe (see LOCAL_NVME), $0.1275 per OCPU-hour.
    ("VM.DenseIO2.8", 16, 122880, 1.02),
];

/// The shapes of [`SHAPES`] with local NVMe storage, GB.
pub const LOCAL_NVME: &[(&str, u32)] = &[("VM.DenseIO2.8", 6400)];

/// Block volumes of each class: (class, volume performance units per GB, USD per
/// GB-month: $0.0255 of storage plus $0.0017 per VPU, as listed on 2026-11-01). Any size
/// from 50 GB to 32 TB.
pub const VOLUMES: &[(VolumeClass, u32, f64)] = &[
    (VolumeClass::Hdd, 0, 0.0255),
    (VolumeClass::Ssd, 10, 0.0425),
    (VolumeClass::HighIops, 20, 0.0595),
];

/// The offers of [`VOLUMES`].
pub fn volume_offers() -> Vec<VolumeOffer> {
    VOLUMES
        .iter()
        .map(|&(class, vpus, price)| VolumeOffer {
            class,
            kind: format!("vpus-{vpus}"),
            min_gb: 50,
            max_gb: 32768,
            iops: 0,
            price_per_gb_month: Some(price),
            price_per_iops_month: None,
            unavailable_in: Vec::new(),
        })
        .collect()
}

/// The device path a node's volume is attached at (OCI's consistent device paths).
const VOLUME_DEVICE: &str = "/dev/oracleoci/oraclevdb";

/// An instance as OCI describes it (the fields the plugin reads).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instance {
    id: String,
    #[serde(default)]
    display_name: String,
    lifecycle_state: String,
    #[serde(default)]
    shape: String,
    #[serde(default)]
    freeform_tags: std::collections::BTreeMap<String, String>,
}

/// OCI's lifecycle states, in the world's words.
fn state_name(state: &str) -> String {
    match state {
        "PROVISIONING" | "STARTING" => "pending".into(),
        other => other.to_ascii_lowercase(),
    }
}

/// The subnet (GetSubnet): its security list id and its CIDR blocks (IPv4, then IPv6).
async fn subnet(api: &Api, subnet: &str) -> Result<(String, Vec<String>), PluginError> {
    let subnet: Value = api
        .get(
            &api.core(&format!("/subnets/{}", encode(subnet))),
            "GetSubnet",
        )
        .await?;
    let list = subnet["securityListIds"][0]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| invalid("GetSubnet: the subnet has no security list"))?;
    let mut cidrs: Vec<String> = subnet["cidrBlock"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    if let Some(v6) = subnet["ipv6CidrBlocks"].as_array() {
        cidrs.extend(v6.iter().filter_map(|c| c.as_str().map(str::to_owned)));
    }
    Ok((list, cidrs))
}

/// The description that marks the ingress rules made for `tags`.
fn rule_mark(tags: &[KeyValue]) -> String {
    let pairs: Vec<String> = tags
        .iter()
        .map(|t| format!("{}={}", t.key, t.value))
        .collect();
    format!("owbench:{}", pairs.join(","))
}

/// Whether `rule` was made for tags that include every one of `tags`.
fn marked_with(rule: &Value, tags: &[KeyValue]) -> bool {
    let Some(pairs) = rule["description"]
        .as_str()
        .and_then(|d| d.strip_prefix("owbench:"))
    else {
        return false;
    };
    let pairs: Vec<&str> = pairs.split(',').collect();
    tags.iter()
        .all(|t| pairs.contains(&format!("{}={}", t.key, t.value).as_str()))
}

/// An ingress rule from `source` as a security list rule marked `mark`.
fn rule_json(rule: &IngressRule, source: &str, mark: &str) -> Value {
    let range = json!({ "destinationPortRange": { "min": rule.port, "max": rule.port } });
    let mut json = json!({
        "source": source,
        "sourceType": "CIDR_BLOCK",
        "isStateless": false,
        "description": mark,
    });
    match rule.protocol {
        Protocol::Tcp => {
            json["protocol"] = "6".into();
            json["tcpOptions"] = range;
        }
        Protocol::Udp => {
            json["protocol"] = "17".into();
            json["udpOptions"] = range;
        }
    }
    json
}

/// Whether `existing` already lets in what `wanted` would (same protocol and source, a
/// port range holding its port).
fn covers(existing: &Value, wanted: &Value) -> bool {
    let options = |rule: &Value| {
        let range = &rule[if rule["protocol"] == "17" {
            "udpOptions"
        } else {
            "tcpOptions"
        }]["destinationPortRange"];
        (range["min"].as_u64(), range["max"].as_u64())
    };
    let (Some(port), _) = options(wanted) else {
        return false;
    };
    existing["protocol"] == wanted["protocol"]
        && existing["source"] == wanted["source"]
        && matches!(options(existing), (Some(min), Some(max)) if min <= port && port <= max)
}

/// A rule's protocol and port, as `tcp/443`.
fn describe_rule(rule: &Value) -> String {
    let (name, options) = if rule["protocol"] == "17" {
        ("udp", "udpOptions")
    } else {
        ("tcp", "tcpOptions")
    };
    format!(
        "{name}/{} from {}",
        rule[options]["destinationPortRange"]["min"],
        rule["source"].as_str().unwrap_or("?")
    )
}

/// Change the ingress rules of the subnet's security list with `change` (which says
/// whether it changed anything), guarded by the list's etag.
async fn update_rules(
    api: &Api,
    subnet: &str,
    change: impl FnOnce(&mut Vec<Value>) -> bool,
) -> Result<String, PluginError> {
    let (id, _) = self::subnet(api, subnet).await?;
    let url = api.core(&format!("/securityLists/{}", encode(&id)));
    let answer = api
        .send(Method::GET, &url, None, &[], "GetSecurityList")
        .await?;
    let list: Value = answer.json("GetSecurityList")?;
    let mut rules = list["ingressSecurityRules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if change(&mut rules) {
        let etag = answer.header("etag").unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        if !etag.is_empty() {
            headers.push(("if-match", etag.as_str()));
        }
        let _: Value = api
            .json(
                Method::PUT,
                &url,
                Some(&json!({ "ingressSecurityRules": rules })),
                &headers,
                "UpdateSecurityList",
            )
            .await?;
    }
    Ok(id)
}

/// Open the request's ports, each to its source (`cluster`: the subnet's CIDR blocks),
/// on the subnet's security list, with rules marked with the request's tags; what a rule
/// of the user's own, or of this request's, already lets in is left as it is.
async fn open_ports(api: &Api, subnet: &str, request: &NodeRequest) -> Result<(), PluginError> {
    let mark = rule_mark(&request.tags);
    let cluster = if request
        .ingress
        .iter()
        .any(|r| matches!(r.source, Source::Cluster))
    {
        self::subnet(api, subnet).await?.1
    } else {
        Vec::new()
    };
    let mut wanted = Vec::new();
    for rule in &request.ingress {
        match &rule.source {
            Source::Cidr(cidr) => wanted.push(rule_json(rule, cidr, &mark)),
            Source::Cluster => {
                wanted.extend(cluster.iter().map(|cidr| rule_json(rule, cidr, &mark)));
            }
        }
    }
    update_rules(api, subnet, |rules| {
        let mut changed = false;
        for rule in wanted {
            // Another cluster's rule does not count: its `down` removes it.
            let ours_or_the_users = |r: &Value| {
                !r["description"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("owbench:"))
                    || marked_with(r, &request.tags)
            };
            if !rules
                .iter()
                .any(|r| ours_or_the_users(r) && covers(r, &rule))
            {
                rules.push(rule);
                changed = true;
            }
        }
        changed
    })
    .await
    .map(drop)
}

/// The availability domain: setting `availability-domain`, else the region's first.
pub(crate) async fn availability_domain(
    api: &Api,
    compartment: &str,
) -> Result<String, PluginError> {
    if let Some(ad) = api.setting("availability-domain") {
        return Ok(ad.to_owned());
    }
    let ads: Vec<Value> = api
        .get(
            &api.identity(&format!(
                "/availabilityDomains?compartmentId={}",
                encode(compartment)
            )),
            "ListAvailabilityDomains",
        )
        .await?;
    ads.first()
        .and_then(|a| a["name"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| invalid("ListAvailabilityDomains: the region has none"))
}

/// A flexible shape's `shapeConfig` from settings `ocpus` and `memory-gb` (1 and 16).
pub(crate) fn shape_config(api: &Api) -> Result<Value, PluginError> {
    let number = |key: &str, default: f64| match api.setting(key) {
        None => Ok(default),
        Some(v) => v.parse::<f64>().ok().filter(|n| *n > 0.0).ok_or_else(|| {
            invalid(format!(
                "setting `{key}` must be a positive number, got `{v}`"
            ))
        }),
    };
    Ok(json!({ "ocpus": number("ocpus", 1.0)?, "memoryInGBs": number("memory-gb", 16.0)? }))
}

fn node_of(instance: Instance, (public_ip, private_ip): (Option<String>, Option<String>)) -> Node {
    Node {
        state: state_name(&instance.lifecycle_state),
        id: instance.id,
        name: instance.display_name,
        shape: instance.shape,
        public_ip,
        private_ip,
        tags: instance
            .freeform_tags
            .into_iter()
            .map(|(key, value)| KeyValue { key, value })
            .collect(),
        volumes: Vec::new(),
    }
}

/// The block volumes attached to an instance not terminated (ListVolumeAttachments,
/// GetVolume).
async fn volumes(
    api: &Api,
    compartment: &str,
    instance: &Instance,
) -> Result<Vec<AttachedVolume>, PluginError> {
    if matches!(
        instance.lifecycle_state.as_str(),
        "TERMINATING" | "TERMINATED"
    ) {
        return Ok(Vec::new());
    }
    let attachments: Vec<Value> = api
        .get(
            &api.core(&format!(
                "/volumeAttachments?compartmentId={}&instanceId={}",
                encode(compartment),
                encode(&instance.id)
            )),
            "ListVolumeAttachments",
        )
        .await?;
    let mut found = Vec::new();
    for attachment in &attachments {
        let state = attachment["lifecycleState"].as_str().unwrap_or_default();
        let Some(id) = attachment["volumeId"].as_str() else {
            continue;
        };
        if matches!(state, "DETACHING" | "DETACHED") {
            continue;
        }
        let volume: Value = api
            .get(&api.core(&format!("/volumes/{}", encode(id))), "GetVolume")
            .await?;
        found.push(AttachedVolume {
            id: id.to_owned(),
            size_gb: volume["sizeInGBs"].as_u64().unwrap_or_default() as u32,
            kind: format!("vpus-{}", volume["vpusPerGB"].as_u64().unwrap_or_default()),
            state: state.to_ascii_lowercase(),
        });
    }
    Ok(found)
}

/// The public and private address of a running instance (from its first VNIC).
async fn addresses(
    api: &Api,
    compartment: &str,
    instance: &Instance,
) -> Result<(Option<String>, Option<String>), PluginError> {
    if instance.lifecycle_state != "RUNNING" {
        return Ok((None, None));
    }
    let attachments: Vec<Value> = api
        .get(
            &api.core(&format!(
                "/vnicAttachments?compartmentId={}&instanceId={}",
                encode(compartment),
                encode(&instance.id)
            )),
            "ListVnicAttachments",
        )
        .await?;
    let Some(vnic) = attachments
        .iter()
        .find(|a| a["lifecycleState"] == "ATTACHED")
        .and_then(|a| a["vnicId"].as_str())
    else {
        return Ok((None, None));
    };
    let vnic: Value = api
        .get(&api.core(&format!("/vnics/{}", encode(vnic))), "GetVnic")
        .await?;
    let text = |field: &str| vnic[field].as_str().map(str::to_owned);
    Ok((text("publicIp"), text("privateIp")))
}

async fn described(api: &Api, compartment: &str, instance: Instance) -> Result<Node, PluginError> {
    let ips = addresses(api, compartment, &instance).await?;
    let volumes = volumes(api, compartment, &instance).await?;
    let mut node = node_of(instance, ips);
    node.volumes = volumes;
    Ok(node)
}

/// Image aliases: (alias, OCI's operating system, its version).
pub const IMAGE_ALIASES: &[(&str, &str, &str)] = &[
    ("ubuntu-24.04", "Canonical Ubuntu", "24.04"),
    ("ubuntu-22.04", "Canonical Ubuntu", "22.04"),
    ("oracle-linux-9", "Oracle Linux", "9"),
];

impl Machines for Api {
    /// An alias of [`IMAGE_ALIASES`]: the newest available platform image of that
    /// operating system and version that fits the shape (ListImages, newest first); an
    /// `ocid1.image.` id as it is.
    async fn resolve_image(&self, image: String, shape: String) -> Result<String, PluginError> {
        if image.starts_with("ocid1.image.") {
            return Ok(image);
        }
        let Some(&(_, os, version)) = IMAGE_ALIASES.iter().find(|(alias, ..)| *alias == image)
        else {
            return Err(invalid(format!(
                "image `{image}` is neither an image OCID (ocid1.image...) nor an alias this plugin knows ({})",
                IMAGE_ALIASES
                    .iter()
                    .map(|(a, ..)| *a)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let compartment = self.need("compartment-id", "the compartment OCID to list images in")?;
        let images: Vec<Value> = self
            .get(
                &self.core(&format!(
                    "/images?compartmentId={}&operatingSystem={}&operatingSystemVersion={}&shape={}&lifecycleState=AVAILABLE&sortBy=TIMECREATED&sortOrder=DESC&limit=1",
                    encode(compartment),
                    encode(os),
                    encode(version),
                    encode(&shape)
                )),
                "ListImages",
            )
            .await?;
        images
            .first()
            .and_then(|i| i["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                invalid(format!(
                    "no {os} {version} platform image for shape {shape} in region {}",
                    self.region()
                ))
            })
    }

    /// Create the request's nodes, one LaunchInstance each (named `NAME-i` when several),
    /// with the node's name as the retry token so that a retried call creates nothing twice.
    async fn create_nodes(&self, request: NodeRequest) -> Result<Vec<Node>, PluginError> {
        check_request(&request, 60)?;
        let volume = match &request.volume {
            Some(v) => {
                let offers = volume_offers();
                let offer = check_volume(v, &offers)?;
                let vpus = VOLUMES
                    .iter()
                    .find(|o| o.0 == offer.class)
                    .map_or(10, |o| o.1);
                Some((v.size_gb, vpus))
            }
            None => None,
        };
        let compartment = self.need("compartment-id", "the compartment OCID to create nodes in")?;
        let subnet = self.need("subnet-id", "the OCID of the subnet the nodes join")?;
        let ad = availability_domain(self, compartment).await?;
        if !request.ingress.is_empty() {
            open_ports(self, subnet, &request).await?;
        }
        let flexible = request.shape.ends_with(".Flex");
        let mut metadata = serde_json::Map::new();
        if !request.ssh_public_key.trim().is_empty() {
            metadata.insert(
                "ssh_authorized_keys".into(),
                request.ssh_public_key.trim().into(),
            );
        }
        if !request.user_data.is_empty() {
            let encoded = base64::engine::general_purpose::STANDARD.encode(&request.user_data);
            metadata.insert("user_data".into(), encoded.into());
        }
        let tags: serde_json::Map<String, Value> = request
            .tags
            .iter()
            .map(|t| (t.key.clone(), Value::from(t.value.clone())))
            .collect();
        let mut nodes = Vec::new();
        for name in node_names(&request) {
            let mut details = json!({
                "availabilityDomain": ad,
                "compartmentId": compartment,
                "displayName": name,
                "shape": request.shape,
                "sourceDetails": { "sourceType": "image", "imageId": request.image },
                "createVnicDetails": { "subnetId": subnet, "assignPublicIp": true },
                "metadata": metadata,
                "freeformTags": tags,
            });
            if flexible {
                details["shapeConfig"] = shape_config(self)?;
            }
            // Made with the instance, and deleted with it (see terminate-nodes).
            if let Some((size, vpus)) = volume {
                details["launchVolumeAttachments"] = json!([{
                    "type": "paravirtualized",
                    "device": VOLUME_DEVICE,
                    "displayName": format!("{name}-data"),
                    "launchCreateVolumeDetails": {
                        "volumeCreationType": "ATTRIBUTES",
                        "compartmentId": compartment,
                        "displayName": format!("{name}-data"),
                        "sizeInGBs": size,
                        "vpusPerGB": vpus,
                    },
                }]);
            }
            let instance: Instance = self
                .json(
                    Method::POST,
                    &self.core("/instances"),
                    Some(&details),
                    &[("opc-retry-token", &name)],
                    "LaunchInstance",
                )
                .await?;
            nodes.push(node_of(instance, (None, None)));
        }
        Ok(nodes)
    }

    /// GetInstance of each id (one OCI no longer knows is left out).
    async fn describe_nodes(&self, ids: Vec<String>) -> Result<Vec<Node>, PluginError> {
        let compartment = self.need("compartment-id", "the compartment OCID of the nodes")?;
        let mut nodes = Vec::new();
        for id in ids {
            let url = self.core(&format!("/instances/{}", encode(&id)));
            match self.get::<Instance>(&url, "GetInstance").await {
                Ok(instance) => nodes.push(described(self, compartment, instance).await?),
                Err(e) if e.code.as_deref() == Some("NotAuthorizedOrNotFound") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(nodes)
    }

    /// ListInstances of the compartment, page by page, keeping those not terminated that
    /// carry every tag in `tags` (ListInstances has no tag filter).
    async fn list_nodes(&self, tags: Vec<KeyValue>) -> Result<Vec<Node>, PluginError> {
        if tags.is_empty() {
            return Err(invalid(
                "list-nodes needs at least one tag (it never lists a whole compartment)",
            ));
        }
        let compartment = self.need("compartment-id", "the compartment OCID of the nodes")?;
        let mut page: Option<String> = None;
        let mut nodes = Vec::new();
        loop {
            let mut url = self.core(&format!(
                "/instances?compartmentId={}&limit=100",
                encode(compartment)
            ));
            if let Some(p) = &page {
                url.push_str(&format!("&page={}", encode(p)));
            }
            let answer = self
                .send(Method::GET, &url, None, &[], "ListInstances")
                .await?;
            let instances: Vec<Instance> = answer.json("ListInstances")?;
            for instance in instances {
                let tagged = tags
                    .iter()
                    .all(|t| instance.freeform_tags.get(&t.key) == Some(&t.value));
                if tagged && instance.lifecycle_state != "TERMINATED" {
                    nodes.push(described(self, compartment, instance).await?);
                }
            }
            page = answer.header("opc-next-page").map(str::to_owned);
            if page.is_none() {
                return Ok(nodes);
            }
        }
    }

    /// InstanceAction START or STOP of each id.
    async fn power(&self, ids: Vec<String>, action: PowerAction) -> Result<(), PluginError> {
        let action = match action {
            PowerAction::Start => "START",
            PowerAction::Stop => "STOP",
        };
        for id in ids {
            let url = self.core(&format!("/instances/{}?action={action}", encode(&id)));
            let _: Value = self
                .json(Method::POST, &url, None, &[], "InstanceAction")
                .await?;
        }
        Ok(())
    }

    /// TerminateInstance of each id, its boot volume and the volumes made with it
    /// included; an unknown one is not an error.
    async fn terminate_nodes(&self, ids: Vec<String>) -> Result<(), PluginError> {
        for id in ids {
            let url = self.core(&format!(
                "/instances/{}?preserveBootVolume=false&preserveDataVolumesCreatedAtLaunch=false",
                encode(&id)
            ));
            match self
                .send(Method::DELETE, &url, None, &[], "TerminateInstance")
                .await
            {
                Ok(_) => {}
                Err(e) if e.code.as_deref() == Some("NotAuthorizedOrNotFound") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Remove the ingress rules made for tags including `tags` from the subnet's security
    /// list (the subnet of setting `subnet-id`; without it there is nothing of ours to find).
    async fn delete_tagged(&self, tags: Vec<KeyValue>) -> Result<Vec<String>, PluginError> {
        if tags.is_empty() {
            return Err(invalid(
                "delete-tagged needs at least one tag (it never deletes every owbench rule)",
            ));
        }
        let Some(subnet) = self.setting("subnet-id") else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        let list = update_rules(self, subnet, |rules| {
            rules.retain(|r| {
                let ours = marked_with(r, &tags);
                if ours {
                    removed.push(describe_rule(r));
                }
                !ours
            });
            !removed.is_empty()
        })
        .await?;
        Ok(removed
            .into_iter()
            .map(|rule| format!("ingress rule {rule} of security list {list}"))
            .collect())
    }

    /// The Limits service's resource availability, in the availability domain, of the
    /// shapes' cores (OCPUs) and of block storage (the volumes, and each node's boot
    /// volume of 47 GB).
    async fn check_limits(&self, demands: Vec<Demand>) -> Result<LimitsReport, PluginError> {
        crate::limits::check(self, demands).await
    }
}
