//! Activation records as the API returns them (the extended form), their status codes
//! and the annotations that carry an activation's timings.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::action::{KeyValue, find};

/// Annotation names set on activation records.
pub mod annotations {
    /// The action's `namespace/name`.
    pub const PATH: &str = "path";
    /// The action's runtime kind.
    pub const KIND: &str = "kind";
    /// The action's limits when it ran.
    pub const LIMITS: &str = "limits";
    /// Whether the run (or the init) reached the time limit.
    pub const TIMEOUT: &str = "timeout";
    /// ms from the controller receiving the request to the start of `/init` or `/run`.
    pub const WAIT_TIME: &str = "waitTime";
    /// ms spent initializing; present only on a cold start.
    pub const INIT_TIME: &str = "initTime";
    /// owbench's extension: `{waitTime, initTime, duration}` in µs (OpenWhisk's are whole
    /// ms, too coarse for WebAssembly cold starts).
    pub const MICROS: &str = "owbench.micros";
}

/// OpenWhisk's activation status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
            _ => return Err(format!("unknown activation status code {v}")),
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

    /// The code of a `response.status` text (`None` for a text OpenWhisk does not use).
    pub fn from_text(text: &str) -> Option<StatusCode> {
        [
            StatusCode::Success,
            StatusCode::ApplicationError,
            StatusCode::DeveloperError,
            StatusCode::InternalError,
        ]
        .into_iter()
        .find(|s| s.text() == text)
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Response {
    /// Status text ([`StatusCode::text`]).
    pub status: String,
    /// Whether the status code is 0.
    pub success: bool,
    /// The result object.
    pub result: Value,
    /// Bytes of the result text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl Response {
    /// A response with `status` and `result`.
    pub fn new(status: StatusCode, result: Value) -> Response {
        let size = serde_json::to_string(&result).map(|s| s.len() as u64).ok();
        Response {
            status: status.text().into(),
            success: status == StatusCode::Success,
            result,
            size,
        }
    }
}

/// An activation record as `GET /activations/{id}` (and a blocking invoke) returns it.
///
/// Deserializing is lenient: missing fields take defaults, so that an invoke body that
/// is not a whole record (a 202's `{"activationId"}`) still parses; such a body has an
/// empty `response.status`, and [`Activation::times`] is then `None`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
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
    /// Outcome (its `status` is empty when the body was not a whole record).
    pub response: Response,
    /// `"<time> stdout: <line>"`.
    pub logs: Vec<String>,
    /// `path`, `kind`, `limits`, `timeout`, `waitTime`, `initTime` (cold only).
    pub annotations: Vec<KeyValue>,
}

impl Activation {
    /// The status code, from `response.status` (`None` when this is not a whole record,
    /// or for a text OpenWhisk does not use).
    pub fn status_code(&self) -> Option<StatusCode> {
        StatusCode::from_text(&self.response.status)
    }

    /// Whether this is a whole record (it has a `response.status`).
    pub fn is_record(&self) -> bool {
        !self.response.status.is_empty()
    }

    /// The value of annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&Value> {
        find(&self.annotations, key)
    }

    /// The timings of a record (`None` when this is not a whole record).
    pub fn times(&self) -> Option<ActivationTimes> {
        if !self.is_record() {
            return None;
        }
        let micros = self.annotation(annotations::MICROS);
        let us = |k: &str| micros.and_then(|m| m.get(k)).and_then(Value::as_u64);
        let ms = |k: &str| self.annotation(k).and_then(Value::as_u64).map(|v| v * 1000);
        Some(ActivationTimes {
            duration_us: us("duration").unwrap_or(self.duration * 1000),
            wait_us: us(annotations::WAIT_TIME)
                .or_else(|| ms(annotations::WAIT_TIME))
                .unwrap_or(0),
            init_us: us(annotations::INIT_TIME).or_else(|| ms(annotations::INIT_TIME)),
        })
    }

    /// The list-summary form: no `response` or `logs`, a top-level `statusCode`.
    pub fn summary(&self) -> Value {
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
            "statusCode": self.status_code().map_or(-1, |s| i64::from(u8::from(s))),
        })
    }
}

/// An activation's timings as a benchmark reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ActivationTimes {
    /// `duration` (µs when the platform reports them, else ms × 1000).
    pub duration_us: u64,
    /// `waitTime` annotation, µs.
    pub wait_us: u64,
    /// `initTime` annotation, µs; present only on cold starts.
    pub init_us: Option<u64>,
}

/// Milliseconds since the Unix epoch, as records give times.
pub fn epoch_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// Whether `id` looks like an activation id (32 lowercase hex characters).
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
    fn status_texts_round_trip() {
        for code in 0..4u8 {
            let s = StatusCode::try_from(code).unwrap();
            assert_eq!(StatusCode::from_text(s.text()), Some(s));
        }
        assert_eq!(StatusCode::from_text("application_error"), None);
        assert!(StatusCode::try_from(4).is_err());
    }

    #[test]
    fn times_come_from_ms_annotations_or_owbenchs_micros() {
        let record: Activation = serde_json::from_value(json!({"duration": 3,
            "response": {"status": "success"},
            "annotations": [{"key": "waitTime", "value": 2}, {"key": "initTime", "value": 1}]}))
        .unwrap();
        let t = record.times().unwrap();
        assert_eq!(
            (t.duration_us, t.wait_us, t.init_us),
            (3000, 2000, Some(1000))
        );
        let record: Activation = serde_json::from_value(json!({"duration": 0,
            "response": {"status": "success"},
            "annotations": [{"key": "waitTime", "value": 0},
                {"key": annotations::MICROS, "value": {"waitTime": 12, "duration": 40}}]}))
        .unwrap();
        let t = record.times().unwrap();
        assert_eq!((t.duration_us, t.wait_us, t.init_us), (40, 12, None));
        let accepted: Activation =
            serde_json::from_str(r#"{"activationId": "0123456789abcdef0123456789abcdef"}"#)
                .unwrap();
        assert!(accepted.times().is_none());
        assert_eq!(accepted.status_code(), None);
    }

    #[test]
    fn records_serialize_in_the_extended_form() {
        let record = Activation {
            activation_id: "0123456789abcdef0123456789abcdef".into(),
            response: Response::new(StatusCode::ApplicationError, json!({"error": "x"})),
            ..Activation::default()
        };
        let v = serde_json::to_value(&record).unwrap();
        assert_eq!(v["response"]["status"], "application error");
        assert_eq!(v["response"]["success"], false);
        assert_eq!(v["response"]["size"], 13);
        assert_eq!(record.summary()["statusCode"], 1);
        assert!(is_activation_id(&record.activation_id));
        assert!(!is_activation_id("ABCDEF0123456789abcdef0123456789"));
    }
}
