//! Actions: validating a `PUT` body into a stored action document, and the in-memory
//! entry the invoker runs (decoded component, limits, bound parameters, compiled plugin).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use owbench_openwhisk::action::{
    BLACKBOX_KIND, RUNTIME_IMAGE, WASM_KIND, annotations as ann, is_runtime_image,
};
use owbench_openwhisk::{ActionPut, KeyValue, Limits};
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use owbench_plugin::policy::HostRule;
use owbench_plugin::{CallLimits, PluginEngine, WorkloadPlugin};

/// The one runtime kind this platform runs: a `owbench:plugin/workload` component.
pub const KIND: &str = WASM_KIND;
/// Annotation listing the hosts an action may reach (Spin's `allowed_outbound_hosts`).
pub const OUTBOUND_ANNOTATION: &str = ann::ALLOWED_OUTBOUND_HOSTS;

/// A stored action and what the invoker needs to run it.
pub struct ActionEntry {
    /// Resolved namespace.
    pub namespace: String,
    /// Name (may be `package/name`).
    pub name: String,
    /// Semantic version, bumped on each update.
    pub version: String,
    /// The stored document (with `exec.code`).
    pub doc: Value,
    /// The component bytes.
    pub code: Arc<Vec<u8>>,
    /// Limits.
    pub limits: Limits,
    /// Bound parameters.
    pub parameters: Map<String, Value>,
    /// Hosts it may reach.
    pub rules: Vec<HostRule>,
    plugin: OnceCell<Result<Arc<WorkloadPlugin>, String>>,
}

impl ActionEntry {
    /// Rebuild an entry from its stored document.
    pub fn from_doc(namespace: String, doc: Value) -> Result<ActionEntry, String> {
        let name = doc["name"].as_str().unwrap_or_default().to_owned();
        let version = doc["version"].as_str().unwrap_or("0.0.1").to_owned();
        let code = doc["exec"]["code"].as_str().unwrap_or_default();
        let code = base64::engine::general_purpose::STANDARD
            .decode(code)
            .map_err(|e| format!("exec.code is not base64: {e}"))?;
        let limits = limits_of(&doc["limits"]);
        let mut parameters = Map::new();
        for kv in doc["parameters"].as_array().into_iter().flatten() {
            if let Some(k) = kv["key"].as_str() {
                parameters.insert(k.to_owned(), kv["value"].clone());
            }
        }
        let rules = outbound_rules(doc["annotations"].as_array().map(Vec::as_slice))?;
        Ok(ActionEntry {
            namespace,
            name,
            version,
            doc,
            code: Arc::new(code),
            limits,
            parameters,
            rules,
            plugin: OnceCell::new(),
        })
    }

    /// The pool key of this action version.
    pub fn key(&self) -> String {
        format!("{}/{}@{}", self.namespace, self.name, self.version)
    }

    /// The action's kind (`wasm`, or `blackbox` with owbench's runtime image).
    pub fn kind(&self) -> &str {
        self.doc["exec"]["kind"].as_str().unwrap_or(KIND)
    }

    /// `namespace/name`.
    pub fn path(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The document as the API returns it, with or without the code.
    pub fn to_api(&self, with_code: bool) -> Value {
        let mut doc = self.doc.clone();
        if !with_code && let Some(exec) = doc["exec"].as_object_mut() {
            exec.remove("code");
        }
        doc
    }

    /// The list-item form (no code, `exec: {binary}` only).
    pub fn summary(&self) -> Value {
        json!({
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "publish": self.doc["publish"],
            "annotations": self.doc["annotations"],
            "limits": self.limits,
            "exec": {"binary": true},
            "updated": self.doc["updated"],
        })
    }

    /// The compiled component (compiled on first use, then shared by every instance).
    pub async fn plugin(&self, engine: &PluginEngine) -> Result<Arc<WorkloadPlugin>, String> {
        self.plugin
            .get_or_init(|| async {
                let limits = CallLimits {
                    memory: self.limits.memory << 20,
                    timeout: Duration::from_millis(self.limits.timeout),
                };
                WorkloadPlugin::load_action(
                    engine,
                    &self.name,
                    &self.code,
                    self.rules.clone(),
                    limits,
                )
                .await
                .map(Arc::new)
                .map_err(|e| e.to_string())
            })
            .await
            .clone()
    }
}

/// The limits of a stored document (defaults for what it lacks).
fn limits_of(value: &Value) -> Limits {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

fn outbound_rules(annotations: Option<&[Value]>) -> Result<Vec<HostRule>, String> {
    let Some(value) = annotations
        .into_iter()
        .flatten()
        .find(|kv| kv["key"] == OUTBOUND_ANNOTATION)
        .map(|kv| &kv["value"])
    else {
        return Ok(Vec::new());
    };
    let Some(list) = value.as_array() else {
        return Err(format!(
            "annotation `{OUTBOUND_ANNOTATION}` must be an array of strings"
        ));
    };
    list.iter()
        .map(|v| {
            let s = v.as_str().ok_or_else(|| {
                format!("annotation `{OUTBOUND_ANNOTATION}` must be an array of strings")
            })?;
            HostRule::parse(s).map_err(|e| format!("annotation `{OUTBOUND_ANNOTATION}`: {e}"))
        })
        .collect()
}

/// Build the document to store for a `PUT`, given the previous one on update.
/// Errors are the 400 messages.
pub fn build_doc(
    namespace: &str,
    name: &str,
    put: ActionPut,
    previous: Option<&Value>,
    now_ms: u64,
) -> Result<Value, String> {
    let version = match previous {
        None => "0.0.1".to_owned(),
        Some(prev) => {
            let v = prev["version"].as_str().unwrap_or("0.0.0");
            let mut v = semver::Version::parse(v).unwrap_or(semver::Version::new(0, 0, 0));
            v.patch += 1;
            v.to_string()
        }
    };
    let exec = match (put.exec, previous) {
        (Some(exec), _) => {
            let kind = exec.kind.unwrap_or_else(|| "nodejs:default".into());
            let kind = if kind == "wasm:default" {
                KIND.into()
            } else {
                kind
            };
            // A blackbox action with owbench's runtime image runs the same component,
            // so that one spec deploys alike here and to a stock OpenWhisk.
            let image = match (kind.as_str(), exec.image) {
                (KIND, _) => None,
                (BLACKBOX_KIND, Some(image)) if is_runtime_image(&image) => Some(image),
                (BLACKBOX_KIND, image) => {
                    return Err(format!(
                        "This platform runs blackbox actions only with owbench's runtime image ({RUNTIME_IMAGE}), not '{}'.",
                        image.unwrap_or_default()
                    ));
                }
                _ => {
                    return Err(format!(
                        "The specified runtime '{kind}' is not supported by this platform. Valid values are: '{KIND}', '{BLACKBOX_KIND}' (with image {RUNTIME_IMAGE})."
                    ));
                }
            };
            let code = exec.code.unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(code.trim())
                .map_err(|_| {
                    "exec.code must be the WebAssembly component, base64-encoded".to_owned()
                })?;
            if bytes.is_empty() {
                return Err("exec.code must be the WebAssembly component, base64-encoded".into());
            }
            let mut exec_doc = json!({"kind": kind, "code": code.trim(), "binary": true});
            if let Some(image) = image {
                exec_doc["image"] = json!(image);
            }
            if let Some(main) = exec.main {
                exec_doc["main"] = json!(main);
            }
            exec_doc
        }
        (None, Some(prev)) => prev["exec"].clone(),
        (None, None) => return Err("exec undefined".into()),
    };
    let old_limits = previous
        .map(|p| limits_of(&p["limits"]))
        .unwrap_or_default();
    let limits = merge_limits(old_limits, put.limits.as_ref())?;

    let mut annotations = match (put.annotations, previous) {
        (Some(a), _) => a,
        (None, Some(prev)) => {
            serde_json::from_value(prev["annotations"].clone()).unwrap_or_default()
        }
        (None, None) => Vec::new(),
    };
    annotations.retain(|kv| kv.key != ann::EXEC);
    if previous.is_none() && !annotations.iter().any(|kv| kv.key == ann::PROVIDE_API_KEY) {
        annotations.push(KeyValue::new(ann::PROVIDE_API_KEY, false));
    }
    annotations.push(KeyValue::new(ann::EXEC, exec["kind"].clone()));
    let annotations_json = serde_json::to_value(&annotations).unwrap_or_default();
    outbound_rules(annotations_json.as_array().map(Vec::as_slice))?;
    let parameters = match (put.parameters, previous) {
        (Some(p), _) => serde_json::to_value(p).unwrap_or_default(),
        (None, Some(prev)) => prev["parameters"].clone(),
        (None, None) => json!([]),
    };
    Ok(json!({
        "namespace": namespace,
        "name": name,
        "version": version,
        "publish": put.publish.unwrap_or(false),
        "exec": exec,
        "annotations": annotations_json,
        "parameters": parameters,
        "limits": limits,
        "updated": now_ms,
    }))
}

fn merge_limits(mut limits: Limits, given: Option<&Map<String, Value>>) -> Result<Limits, String> {
    let Some(given) = given else {
        return Ok(limits);
    };
    let field = |k: &str| -> Result<Option<u64>, String> {
        match given.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("limits.{k} must be a non-negative integer")),
        }
    };
    if let Some(t) = field("timeout")? {
        if !(100..=300_000).contains(&t) {
            return Err(format!(
                "timeout {t} milliseconds is outside the allowed range of 100 to 300000 milliseconds"
            ));
        }
        limits.timeout = t;
    }
    if let Some(m) = field("memory")? {
        if !(16..=4096).contains(&m) {
            return Err(format!(
                "memory {m} MB is outside the allowed range of 16 to 4096 MB"
            ));
        }
        limits.memory = m;
    }
    if let Some(l) = field("logs")? {
        if l > 10 {
            return Err(format!("logs {l} MB exceeds allowed threshold of 10 MB"));
        }
        limits.logs = l;
    }
    if let Some(c) = field("concurrency")? {
        if c != 1 {
            return Err(format!("concurrency {c} exceeds allowed threshold of 1"));
        }
        limits.concurrency = c;
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(v: Value) -> ActionPut {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn create_then_update_bumps_version_and_keeps_exec() {
        let code = base64::engine::general_purpose::STANDARD.encode(b"\0asm");
        let doc = build_doc(
            "guest",
            "a",
            put(json!({"exec": {"kind": "wasm", "code": code}, "limits": {"memory": 64}})),
            None,
            1,
        )
        .unwrap();
        assert_eq!(doc["version"], "0.0.1");
        assert_eq!(doc["limits"]["memory"], 64);
        assert_eq!(doc["exec"]["binary"], true);
        let keys: Vec<&str> = doc["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| kv["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["provide-api-key", "exec"]);
        let updated = build_doc("guest", "a", put(json!({})), Some(&doc), 2).unwrap();
        assert_eq!(updated["version"], "0.0.2");
        assert_eq!(updated["exec"], doc["exec"]);
        assert_eq!(updated["limits"]["memory"], 64);
    }

    #[test]
    fn bad_bodies_are_refused_with_reasons() {
        let err = |v: Value| build_doc("guest", "a", put(v), None, 1).unwrap_err();
        assert!(
            err(json!({"exec": {"kind": "nodejs:20", "code": "x"}}))
                .contains("'nodejs:20' is not supported")
        );
        assert!(err(json!({"exec": {"kind": "wasm", "code": "%%%"}})).contains("base64"));
        assert!(
            err(json!({"exec": {"kind": "wasm", "code": "AAAA"}, "limits": {"timeout": 5}}))
                .contains("timeout 5")
        );
        assert!(err(json!({})).contains("exec undefined"));
        assert!(err(json!({"exec": {"kind": "wasm", "code": "AAAA"}, "annotations": [{"key": "allowed-outbound-hosts", "value": "x"}]})).contains("array of strings"));
    }
}
