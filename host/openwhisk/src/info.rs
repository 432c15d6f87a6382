//! `GET /` of an OpenWhisk deployment: what it says about itself, and how an owbench
//! action runs there (a `wasm` kind an installer registered, or a `blackbox` action with
//! owbench's runtime image).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::action::{BLACKBOX_KIND, WASM_FAMILY};

/// The body of `GET /` (the fields owbench reads; others are ignored).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SystemInfo {
    /// Runtime families (`nodejs`, `python`, `wasm`, ...) and their kinds.
    #[serde(default)]
    pub runtimes: BTreeMap<String, Vec<RuntimeKind>>,
    /// System limits, as the deployment reports them.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub limits: Value,
    /// The build (a date on Apache OpenWhisk's controller), as the deployment reports it.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub build: Value,
    /// The build number, as the deployment reports it.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub buildno: Value,
}

/// One kind of a runtime family, as `GET /` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeKind {
    /// The kind (`nodejs:20`, `wasm`).
    pub kind: String,
    /// The container image (a string in `GET /`).
    #[serde(default)]
    pub image: Value,
    /// Whether the kind is deprecated.
    #[serde(default)]
    pub deprecated: bool,
    /// Whether it is the family's default.
    #[serde(default)]
    pub default: bool,
    /// Whether the code is stored as an attachment.
    #[serde(default)]
    pub attached: bool,
    /// Whether actions must name `main`.
    #[serde(default)]
    pub require_main: bool,
}

/// How an owbench action runs on a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runner {
    /// A kind of the `wasm` family (the embedded platform's, or one an installer
    /// registered in OpenWhisk's runtime manifest).
    Kind(String),
    /// A `blackbox` action with this image of owbench's runtime.
    Blackbox(String),
}

impl Runner {
    /// The `exec.kind` of the action.
    pub fn kind(&self) -> &str {
        match self {
            Runner::Kind(kind) => kind,
            Runner::Blackbox(_) => BLACKBOX_KIND,
        }
    }

    /// The `exec.image` of the action (blackbox only).
    pub fn image(&self) -> Option<&str> {
        match self {
            Runner::Kind(_) => None,
            Runner::Blackbox(image) => Some(image),
        }
    }
}

impl SystemInfo {
    /// The kind of `family` to deploy with: its default, else its first kind that is not
    /// deprecated.
    pub fn kind_of(&self, family: &str) -> Option<&str> {
        let kinds = self.runtimes.get(family)?;
        kinds
            .iter()
            .find(|k| k.default && !k.deprecated)
            .or_else(|| kinds.iter().find(|k| !k.deprecated))
            .map(|k| k.kind.as_str())
    }

    /// The kind a Python 3 action is deployed with: the `python` family's default when
    /// it is a Python 3 kind, else its newest Python 3 kind that is not deprecated
    /// (`python:3.11` over `python:3.10` over `python:3`).
    pub fn python3_kind(&self) -> Option<&str> {
        let kinds = self.runtimes.get("python")?;
        let python3 = |k: &&RuntimeKind| !k.deprecated && k.kind.starts_with("python:3");
        let minor = |k: &RuntimeKind| {
            k.kind
                .strip_prefix("python:3.")
                .and_then(|m| m.parse::<u32>().ok())
                .unwrap_or(0)
        };
        kinds
            .iter()
            .filter(python3)
            .find(|k| k.default)
            .or_else(|| kinds.iter().filter(python3).max_by_key(|k| minor(k)))
            .map(|k| k.kind.as_str())
    }

    /// How an owbench action runs here: a `wasm` kind when the deployment lists one,
    /// otherwise a blackbox action with `image` (owbench's runtime image).
    pub fn runner(&self, image: &str) -> Runner {
        match self.kind_of(WASM_FAMILY) {
            Some(kind) => Runner::Kind(kind.to_owned()),
            None => Runner::Blackbox(image.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_3_actions_take_the_default_else_the_newest_python_3() {
        let info = |kinds: &str| -> SystemInfo {
            serde_json::from_str(&format!(r#"{{"runtimes": {{"python": [{kinds}]}}}}"#)).unwrap()
        };
        let listed = info(
            r#"{"kind": "python:2", "default": true}, {"kind": "python:3.9", "deprecated": true},
               {"kind": "python:3.11"}, {"kind": "python:3.10"}, {"kind": "python:3"}"#,
        );
        assert_eq!(listed.python3_kind(), Some("python:3.11"));
        let with_default =
            info(r#"{"kind": "python:3.11"}, {"kind": "python:3.10", "default": true}"#);
        assert_eq!(with_default.python3_kind(), Some("python:3.10"));
        assert_eq!(
            info(r#"{"kind": "python:2", "default": true}"#).python3_kind(),
            None
        );
        assert_eq!(SystemInfo::default().python3_kind(), None);
    }

    #[test]
    fn a_listed_wasm_family_wins_over_blackbox() {
        let stock: SystemInfo = serde_json::from_str(
            r#"{"runtimes": {"nodejs": [{"kind": "nodejs:20", "image": "openwhisk/action-nodejs-v20:nightly",
                "deprecated": false, "default": true, "attached": false, "requireMain": false}]}}"#,
        )
        .unwrap();
        let image = "owbench/runtime:0.1.0";
        assert_eq!(stock.runner(image), Runner::Blackbox(image.into()));
        assert_eq!(stock.runner(image).kind(), "blackbox");
        let with_wasm: SystemInfo = serde_json::from_str(
            r#"{"runtimes": {"wasm": [{"kind": "wasm:old", "deprecated": true},
                {"kind": "wasm", "image": "owbench/runtime:0.1.0"}]}}"#,
        )
        .unwrap();
        assert_eq!(with_wasm.runner(image), Runner::Kind("wasm".into()));
        assert_eq!(with_wasm.runner(image).image(), None);
        assert_eq!(SystemInfo::default().runner(image).image(), Some(image));
    }
}
