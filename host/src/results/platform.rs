//! The platform a run ran on, as the description of its target records it (`target` in
//! meta.json and summary.json): for a cluster owbench made, its provider, region, nodes,
//! installer and price (`target.cluster`); for any OpenWhisk, the build and limits its
//! `GET /` reports (`target.openwhisk`). A run on a priced cluster has a cost: the
//! cluster's price over the run's wall time.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cluster::state::ClusterState;
use owbench_openwhisk::info::SystemInfo;

/// A cluster as a run's target records it.
pub fn cluster(state: &ClusterState) -> Value {
    let spec = &state.spec;
    json!({
        "id": state.id,
        "provider": spec.provider,
        "region": spec.region,
        "nodes": spec.nodes.iter().map(|g| json!({
            "role": g.role, "shape": g.shape, "count": g.count,
            "volume": g.volume, "local_nvme": g.local_nvme,
        })).collect::<Vec<_>>(),
        "installer": spec.installer.as_ref().map(|i| json!({
            "name": i.name,
            "version": state.installer_version,
            "settings": i.settings,
        })),
        "usd_per_hour": state.price_per_hour,
        "created_at": state.created_at,
    })
}

/// An OpenWhisk as a run's target records it: what its `GET /` says of its build and
/// limits (null where it says nothing).
pub fn openwhisk(info: &SystemInfo) -> Value {
    json!({"build": info.build, "buildno": info.buildno, "limits": info.limits})
}

/// What a run cost at the provider's list prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCost {
    /// The cluster's price, USD per hour (its nodes at the provider's list prices).
    pub usd_per_hour: f64,
    /// The run's wall time, hours.
    pub hours: f64,
    /// The cluster's time the run took, USD (setting the cluster up and idle time
    /// outside the run are not counted).
    pub usd: f64,
    /// That per 1,000 measured invocations, USD (none without any).
    pub usd_per_1000: Option<f64>,
}

/// The cost of a run from `started_ms` to `ended_ms` with `invocations` measured, on
/// the target `target` describes: none unless it is a priced cluster.
pub fn cost(target: &Value, started_ms: u64, ended_ms: u64, invocations: u64) -> Option<RunCost> {
    let usd_per_hour = target["cluster"]["usd_per_hour"].as_f64()?;
    let hours = ended_ms.saturating_sub(started_ms) as f64 / 3_600_000.0;
    let usd = usd_per_hour * hours;
    Some(RunCost {
        usd_per_hour,
        hours,
        usd,
        usd_per_1000: (invocations > 0).then(|| usd / invocations as f64 * 1000.0),
    })
}

/// The cluster's nodes, `1 × c5.xlarge (server), 2 × c5.large (worker)`.
fn nodes(cluster: &Value) -> String {
    let groups = cluster["nodes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    groups
        .iter()
        .map(|g| {
            let storage = match (&g["volume"], g["local_nvme"].as_bool()) {
                (v, _) if v.is_object() => format!(
                    ", {} GB {} volume",
                    v["size_gb"],
                    v["class"].as_str().unwrap_or("?")
                ),
                (_, Some(true)) => ", local NVMe".to_owned(),
                _ => String::new(),
            };
            format!(
                "{} × {} ({}{storage})",
                g["count"].as_u64().map_or("?".into(), |c| c.to_string()),
                g["shape"].as_str().unwrap_or("?"),
                g["role"].as_str().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The installer, `openwhisk-standalone 0.1.0`.
fn installer(cluster: &Value) -> Option<String> {
    let i = &cluster["installer"];
    let name = i["name"].as_str()?;
    Some(match i["version"].as_str() {
        Some(v) => format!("{name} {v}"),
        None => name.to_owned(),
    })
}

/// The platform for people, one line, or none when the target says nothing of it:
/// `cluster aws-1a2b3c: aws-ec2 us-east-1, 1 × c5.xlarge (server); openwhisk-standalone
/// 0.1.0; 0.1700 USD/h; OpenWhisk build 2024-05-01`.
pub fn text(target: &Value) -> Option<String> {
    let mut parts = Vec::new();
    let cluster = &target["cluster"];
    if cluster.is_object() {
        parts.push(format!(
            "cluster {}: {} {}, {}",
            cluster["id"].as_str().unwrap_or("?"),
            cluster["provider"].as_str().unwrap_or("?"),
            cluster["region"].as_str().unwrap_or("?"),
            nodes(cluster)
        ));
        parts.extend(installer(cluster));
        if let Some(p) = cluster["usd_per_hour"].as_f64() {
            parts.push(format!("{p:.4} USD/h"));
        }
    }
    // The embedded platform reports owbench's version as its build: no OpenWhisk's.
    if let Some(build) = target["openwhisk"]["build"].as_str()
        && target["kind"] != "embedded"
    {
        parts.push(format!("OpenWhisk build {build}"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// How the platforms of two targets differ, in words (empty when alike): the provider
/// and region, the nodes, the installer, the OpenWhisk build and its limits.
pub fn differences(a: &Value, b: &Value) -> Vec<String> {
    let (ca, cb) = (&a["cluster"], &b["cluster"]);
    let place = |c: &Value| {
        format!(
            "{} {}",
            c["provider"].as_str().unwrap_or("?"),
            c["region"].as_str().unwrap_or("?")
        )
    };
    let show = |v: &Value| match v {
        Value::Null => "unknown".to_owned(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("the runs ran on other {what}: A {x} vs B {y}"));
        }
    };
    match (ca.is_object(), cb.is_object()) {
        (true, true) => {
            differ("clouds", place(ca), place(cb));
            differ("nodes", nodes(ca), nodes(cb));
            differ(
                "installers",
                installer(ca).unwrap_or_else(|| "none".into()),
                installer(cb).unwrap_or_else(|| "none".into()),
            );
        }
        (false, false) => {}
        _ => differ(
            "platforms",
            text(a).unwrap_or_else(|| "no cluster".into()),
            text(b).unwrap_or_else(|| "no cluster".into()),
        ),
    }
    // A run recorded before owbench read OpenWhisk's `GET /` knows neither: only what
    // both runs know is compared.
    for (what, key) in [
        ("OpenWhisk builds", "build"),
        ("OpenWhisk limits", "limits"),
    ] {
        let (x, y) = (&a["openwhisk"][key], &b["openwhisk"][key]);
        if !x.is_null() && !y.is_null() {
            differ(what, show(x), show(y));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(provider: &str, shape: &str, price: f64) -> Value {
        json!({"kind": "cluster", "apihost": "https://192.0.2.1",
            "cluster": {"id": "c-1", "provider": provider, "region": "r-1",
                "nodes": [{"role": "server", "shape": shape, "count": 1}],
                "installer": {"name": "openwhisk-standalone", "version": "0.1.0"},
                "usd_per_hour": price},
            "openwhisk": {"build": "2024-05-01", "buildno": "1", "limits": {"concurrent_actions": 100}}})
    }

    #[test]
    fn a_priced_cluster_costs_its_price_over_the_run() {
        let t = target("aws-ec2", "c5.xlarge", 0.17);
        // 30 minutes, 2,000 invocations.
        let c = cost(&t, 1_000, 1_000 + 1_800_000, 2000).unwrap();
        assert!((c.hours - 0.5).abs() < 1e-12);
        assert!((c.usd - 0.085).abs() < 1e-12);
        assert!((c.usd_per_1000.unwrap() - 0.0425).abs() < 1e-12);
        assert_eq!(cost(&t, 0, 1, 0).unwrap().usd_per_1000, None);
        assert_eq!(cost(&json!({"kind": "embedded"}), 0, 1000, 5), None);
        assert_eq!(
            text(&t).unwrap(),
            "cluster c-1: aws-ec2 r-1, 1 × c5.xlarge (server); openwhisk-standalone 0.1.0; 0.1700 USD/h; OpenWhisk build 2024-05-01"
        );
        assert_eq!(text(&json!({"kind": "embedded"})), None);
    }

    #[test]
    fn differences_name_what_differs() {
        let a = target("aws-ec2", "c5.xlarge", 0.17);
        assert!(differences(&a, &a).is_empty());
        let b = target("oci", "VM.Standard.E4.Flex", 0.1);
        assert_eq!(
            differences(&a, &b),
            [
                "the runs ran on other clouds: A aws-ec2 r-1 vs B oci r-1",
                "the runs ran on other nodes: A 1 × c5.xlarge (server) vs B 1 × VM.Standard.E4.Flex (server)"
            ]
        );
        let mut newer = a.clone();
        newer["openwhisk"]["limits"] = json!({"concurrent_actions": 30});
        assert_eq!(
            differences(&a, &newer),
            [
                r#"the runs ran on other OpenWhisk limits: A {"concurrent_actions":100} vs B {"concurrent_actions":30}"#
            ]
        );
        let mut older = a.clone();
        older["openwhisk"] = Value::Null;
        assert!(differences(&a, &older).is_empty());
        let embedded = json!({"kind": "embedded"});
        let d = differences(&a, &embedded);
        assert!(
            d[0].starts_with("the runs ran on other platforms: A cluster c-1"),
            "{d:?}"
        );
        assert!(d[0].ends_with("vs B no cluster"), "{d:?}");
    }
}
