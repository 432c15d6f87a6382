//! The action runtime protocol: what an invoker sends to a runtime container's `/init`
//! and `/run` on port 8080, and how it classifies what `/run` answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::activation::StatusCode;

/// Written to stdout and stderr after each activation, so that the invoker knows where
/// the activation's logs end.
pub const LOG_SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/// Largest result an activation keeps, bytes (OpenWhisk's default).
pub const MAX_RESULT_BYTES: usize = 1 << 20;

/// The body of `POST /init`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InitRequest {
    /// What to initialize.
    #[serde(default)]
    pub value: InitValue,
}

/// `value` of `POST /init`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InitValue {
    /// The action's name.
    pub name: String,
    /// Entry point (`main`).
    pub main: String,
    /// The code: text, or base64 when `binary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Whether `code` is base64.
    pub binary: bool,
    /// Environment for the action (`__OW_*` and parameters annotated `init`); every
    /// value a string.
    pub env: Map<String, Value>,
}

/// The body of `POST /run`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RunRequest {
    /// The parameters (an object, or an array on newer runtimes).
    pub value: Value,
    /// The namespace of the caller.
    pub namespace: String,
    /// `/namespace/name` of the action.
    pub action_name: String,
    /// The action's version.
    pub action_version: String,
    /// The activation's id.
    pub activation_id: String,
    /// The transaction's id.
    pub transaction_id: String,
    /// Epoch ms by which the run must end, as a JSON string.
    pub deadline: String,
    /// The caller's key, only when the action's `provide-api-key` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

impl RunRequest {
    /// The `__OW_*` environment a runtime derives from the fields besides `value`.
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("__OW_NAMESPACE", self.namespace.clone()),
            ("__OW_ACTION_NAME", self.action_name.clone()),
            ("__OW_ACTION_VERSION", self.action_version.clone()),
            ("__OW_ACTIVATION_ID", self.activation_id.clone()),
            ("__OW_TRANSACTION_ID", self.transaction_id.clone()),
            ("__OW_DEADLINE", self.deadline.clone()),
        ];
        if let Some(key) = &self.api_key {
            env.push(("__OW_API_KEY", key.clone()));
        }
        env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// How OpenWhisk classifies the result text of a run that answered (HTTP 200 from
/// `/run`): an object with `error` is an application error, another object or an array
/// a success, anything else a developer error. The invoker also bounds the size:
/// [`limit_result`].
pub fn classify_result(text: &str) -> (StatusCode, Value) {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) if v.get("error").is_some() => (StatusCode::ApplicationError, v),
        Ok(v @ (Value::Object(_) | Value::Array(_))) => (StatusCode::Success, v),
        _ => (
            StatusCode::DeveloperError,
            json!({"error": format!("The action did not produce a valid JSON or JSON Array response: {text}")}),
        ),
    }
}

/// The result of a runtime's answer that is not 200 (from `/init` or `/run`), as the
/// invoker takes it: the body's `error` when it is an object with one, otherwise
/// `otherwise` followed by the body.
pub fn failure_error(body: &str, otherwise: &str) -> Value {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(mut fields)) if fields.contains_key("error") => {
            json!({ "error": fields.remove("error") })
        }
        _ => json!({ "error": format!("{otherwise}{body}") }),
    }
}

/// The invoker's bound on a result the action answered in `len` bytes: one over
/// [`MAX_RESULT_BYTES`] becomes an application error with OpenWhisk's message; any other
/// passes unchanged (and is not serialized again).
pub fn limit_result(status: StatusCode, result: Value, len: usize) -> (StatusCode, Value) {
    let answered = matches!(status, StatusCode::Success | StatusCode::ApplicationError);
    if !answered || len <= MAX_RESULT_BYTES {
        return (status, result);
    }
    let text = result.to_string();
    let head: String = text.chars().take(1024).collect();
    (
        StatusCode::ApplicationError,
        json!({"error": format!(
            "The action produced a response that exceeded the allowed length: {len} > {MAX_RESULT_BYTES} bytes. The truncated response was: {head}"
        )}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_requests_carry_the_deadline_as_a_string() {
        let run: RunRequest = serde_json::from_value(json!({
            "value": {"name": "John"}, "namespace": "guest", "action_name": "/guest/hello",
            "activation_id": "a", "deadline": "1717000060100"}))
        .unwrap();
        let env = run.environment();
        assert!(env.contains(&("__OW_DEADLINE".into(), "1717000060100".into())));
        assert!(!env.iter().any(|(k, _)| k == "__OW_API_KEY"));
        assert_eq!(
            serde_json::to_value(&run).unwrap()["deadline"],
            "1717000060100"
        );
    }

    #[test]
    fn results_are_classified_as_openwhisk_does() {
        assert_eq!(classify_result(r#"{"a":1}"#).0, StatusCode::Success);
        assert_eq!(classify_result("[1]").0, StatusCode::Success);
        assert_eq!(
            classify_result(r#"{"error":"x"}"#).0,
            StatusCode::ApplicationError
        );
        let (status, result) = classify_result("3");
        assert_eq!(status, StatusCode::DeveloperError);
        assert!(result["error"].as_str().unwrap().contains("valid JSON"));
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_RESULT_BYTES));
        let (status, result) = classify_result(&big);
        assert_eq!(status, StatusCode::Success);
        let (status, result) = limit_result(status, result, big.len());
        assert_eq!(status, StatusCode::ApplicationError);
        assert!(
            result["error"]
                .as_str()
                .unwrap()
                .contains("exceeded the allowed length")
        );
        let small = limit_result(StatusCode::Success, json!({"a": 1}), 7);
        assert_eq!(
            failure_error(r#"{"error": {"x": 1}}"#, "failed: "),
            json!({"error": {"x": 1}})
        );
        assert_eq!(
            failure_error("oops", "failed: "),
            json!({"error": "failed: oops"})
        );
        assert_eq!(small, (StatusCode::Success, json!({"a": 1})));
    }
}
