//! OpenWhisk's documents as the API returns them: activation records (extended form),
//! their status codes, ids and log lines.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A `{"key", "value"}` pair (annotations, parameters).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyValue {
    /// Key.
    pub key: String,
    /// Any JSON value.
    pub value: Value,
}

/// OpenWhisk's activation status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum StatusCode {
    /// Ran and returned a result without `error`.
    Success = 0,
    /// Returned `{"error": ...}`.
    ApplicationError = 1,
    /// Failed to initialize, timed out, ran out of memory, crashed, bad result.
    DeveloperError = 2,
    /// The platform failed.
    InternalError = 3,
}

impl From<StatusCode> for u8 {
    fn from(s: StatusCode) -> u8 {
        s as u8
    }
}

impl TryFrom<u8> for StatusCode {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        Ok(match v {
            0 => StatusCode::Success,
            1 => StatusCode::ApplicationError,
            2 => StatusCode::DeveloperError,
            3 => StatusCode::InternalError,
            _ => return Err(format!("unknown status code {v}")),
        })
    }
}

impl StatusCode {
    /// The `response.status` text.
    pub fn text(self) -> &'static str {
        match self {
            StatusCode::Success => "success",
            StatusCode::ApplicationError => "application error",
            StatusCode::DeveloperError => "action developer error",
            StatusCode::InternalError => "whisk internal error",
        }
    }

    /// HTTP status of a blocking invoke that ended with this code.
    pub fn http_status(self) -> u16 {
        match self {
            StatusCode::Success => 200,
            StatusCode::ApplicationError | StatusCode::DeveloperError => 502,
            StatusCode::InternalError => 500,
        }
    }
}

/// `response` in the extended form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    /// Status text.
    pub status: String,
    /// Whether the status code is 0.
    pub success: bool,
    /// The result object.
    pub result: Value,
    /// Bytes of the result text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// An activation record as `GET /activations/{id}` returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activation {
    /// Namespace.
    pub namespace: String,
    /// Action name.
    pub name: String,
    /// Action version.
    pub version: String,
    /// Who invoked it.
    pub subject: String,
    /// 32 lowercase hex characters.
    #[serde(rename = "activationId")]
    pub activation_id: String,
    /// Epoch ms; on a cold start moved back by the init time.
    pub start: u64,
    /// Epoch ms.
    pub end: u64,
    /// `end - start`, ms.
    pub duration: u64,
    /// Always false.
    pub publish: bool,
    /// Outcome.
    pub response: Response,
    /// `"<time> stdout: <line>"`.
    pub logs: Vec<String>,
    /// `path`, `kind`, `limits`, `timeout`, `waitTime`, `initTime` (cold only).
    pub annotations: Vec<KeyValue>,
}

impl Activation {
    /// The numeric status, from `response.status`.
    pub fn status_code(&self) -> StatusCode {
        match self.response.status.as_str() {
            "success" => StatusCode::Success,
            "application error" => StatusCode::ApplicationError,
            "action developer error" => StatusCode::DeveloperError,
            _ => StatusCode::InternalError,
        }
    }

    /// The list-summary form: no `response` or `logs`, a top-level `statusCode`.
    pub fn summary(&self, status_code: i64) -> Value {
        json!({
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "publish": self.publish,
            "annotations": self.annotations,
            "activationId": self.activation_id,
            "start": self.start,
            "end": self.end,
            "duration": self.duration,
            "statusCode": status_code,
        })
    }

    /// `GET .../result`: the response object.
    pub fn result_doc(&self) -> Value {
        serde_json::to_value(&self.response).unwrap_or(Value::Null)
    }
}

/// A fresh activation id: 32 lowercase hex characters.
pub fn new_activation_id() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// A fresh transaction id (the `code` of API errors).
pub fn new_transaction_id() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Milliseconds since the Unix epoch.
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

/// One log line as OpenWhisk stores it: the RFC 3339 time padded to 30, the stream, the text.
pub fn log_line(at: SystemTime, stream: &str, message: &str) -> String {
    let time = humantime::format_rfc3339_nanos(at).to_string();
    format!("{time:<30} {stream}: {message}")
}

/// Whether `id` looks like an activation id.
pub fn is_activation_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_openwhisk_shape() {
        let id = new_activation_id();
        assert!(is_activation_id(&id), "{id}");
        assert!(!is_activation_id("ABCDEF0123456789abcdef0123456789"));
        assert_eq!(new_transaction_id().len(), 32);
    }

    #[test]
    fn log_lines_pad_the_time() {
        let line = log_line(UNIX_EPOCH, "stdout", "hi");
        assert_eq!(line, "1970-01-01T00:00:00.000000000Z stdout: hi");
    }
}
