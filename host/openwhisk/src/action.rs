//! Action documents: the body of `PUT .../actions/{name}` and what `GET` returns.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The runtime kind of an owbench action: an `owbench:plugin/workload` component.
pub const WASM_KIND: &str = "wasm";
/// The runtime family of [`WASM_KIND`] in `GET /`.
pub const WASM_FAMILY: &str = "wasm";
/// The kind of an action that runs a container image of its own.
pub const BLACKBOX_KIND: &str = "blackbox";
/// The repository of owbench's action runtime image (`owbench runtime`), tagged with
/// owbench's version.
pub const RUNTIME_IMAGE: &str = "owbench/runtime";

/// Whether `image` is owbench's action runtime image: any registry, any tag.
pub fn is_runtime_image(image: &str) -> bool {
    let without_tag = match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    };
    let without_digest = without_tag.split('@').next().unwrap_or(without_tag);
    without_digest == RUNTIME_IMAGE || without_digest.ends_with(&format!("/{RUNTIME_IMAGE}"))
}

/// Annotation names set on actions.
pub mod annotations {
    /// Whether the runtime gets the caller's API key (`false` on new actions).
    pub const PROVIDE_API_KEY: &str = "provide-api-key";
    /// The action's kind, added by the controller.
    pub const EXEC: &str = "exec";
    /// owbench's extension: the hosts a `wasm` action may reach (Spin's
    /// `allowed_outbound_hosts` grammar), an array of strings.
    pub const ALLOWED_OUTBOUND_HOSTS: &str = "allowed-outbound-hosts";
}

/// A `{"key", "value"}` pair (annotations, parameters).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyValue {
    /// Key.
    pub key: String,
    /// Any JSON value.
    pub value: Value,
}

impl KeyValue {
    /// A pair from a key and anything that converts to JSON.
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

#[cfg(test)]
mod image_tests {
    use super::is_runtime_image;

    #[test]
    fn the_runtime_image_is_known_by_its_repository() {
        for image in [
            "owbench/runtime",
            "owbench/runtime:0.1.0",
            "registry.example:5000/owbench/runtime:dev",
            "owbench/runtime@sha256:0123",
        ] {
            assert!(is_runtime_image(image), "{image}");
        }
        for image in [
            "openwhisk/dockerskeleton",
            "owbench/runtimes:1",
            "evil/owbench-runtime",
        ] {
            assert!(!is_runtime_image(image), "{image}");
        }
    }
}

/// The value of `key` in a key-value list, if present.
pub fn find<'a>(list: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    list.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
}

/// Action limits (OpenWhisk's `ActionLimits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Wall clock per activation, ms (OpenWhisk: 100..=300000, default 60000).
    pub timeout: u64,
    /// Memory, MB (default 256).
    pub memory: u64,
    /// Log bytes kept, MB (0..=10, default 10).
    pub logs: u64,
    /// Activations at once per container.
    pub concurrency: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: 60_000,
            memory: 256,
            logs: 10,
            concurrency: 1,
        }
    }
}

/// `exec`: what the action runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Exec {
    /// Runtime kind (`nodejs:20`, `blackbox`, `wasm`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The code: text, or base64 when `binary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Entry point (`main` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
    /// Whether `code` is base64 of binary content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<bool>,
    /// The container image of a `blackbox` action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// The body of `PUT .../actions/{name}` (`ActionPut`): every field optional, since an
/// update keeps what it leaves out. `limits` stays a JSON object, so that a server can
/// name the field that is wrong.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ActionPut {
    /// What to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<Exec>,
    /// Limits to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Map<String, Value>>,
    /// Annotations (replace the old ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<KeyValue>>,
    /// Bound parameters (replace the old ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<KeyValue>>,
    /// Whether the action is shared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_fill_missing_fields_with_openwhisks_defaults() {
        let l: Limits = serde_json::from_value(json!({"memory": 128})).unwrap();
        assert_eq!(
            (l.timeout, l.memory, l.logs, l.concurrency),
            (60_000, 128, 10, 1)
        );
    }

    #[test]
    fn a_put_body_leaves_out_what_it_does_not_set() {
        let put = ActionPut {
            exec: Some(Exec {
                kind: Some(WASM_KIND.into()),
                code: Some("AAAA".into()),
                ..Exec::default()
            }),
            annotations: Some(vec![KeyValue::new("a", 1)]),
            ..ActionPut::default()
        };
        assert_eq!(
            serde_json::to_value(&put).unwrap(),
            json!({"exec": {"kind": "wasm", "code": "AAAA"}, "annotations": [{"key": "a", "value": 1}]})
        );
        assert_eq!(
            find(put.annotations.as_deref().unwrap(), "a"),
            Some(&json!(1))
        );
    }
}
