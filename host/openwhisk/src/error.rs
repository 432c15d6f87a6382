//! The body of a failed API call.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"error": "...", "code": "<transaction id>"}`, as OpenWhisk answers any failed call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong (a string from OpenWhisk; kept as JSON to read any server).
    pub error: Value,
    /// The transaction id, to find the call in the controller's logs.
    #[serde(default)]
    pub code: Value,
}

impl ErrorBody {
    /// The `error` as one line of text.
    pub fn message(&self) -> String {
        match &self.error {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The error message of an API answer: its `error`, or a record's `response.result.error`
    /// (a failed blocking invoke); `None` when the body carries neither.
    pub fn message_of(body: &[u8]) -> Option<String> {
        #[derive(Deserialize)]
        struct Answer {
            error: Option<Value>,
            response: Option<Inner>,
        }
        #[derive(Deserialize)]
        struct Inner {
            result: Option<Value>,
        }
        let answer: Answer = serde_json::from_slice(body).ok()?;
        let error = answer
            .error
            .or_else(|| answer.response?.result?.get_mut("error").map(Value::take))?;
        Some(
            ErrorBody {
                error,
                code: Value::Null,
            }
            .message(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_error_or_the_records_result() {
        let m = |s: &str| ErrorBody::message_of(s.as_bytes());
        assert_eq!(
            m(r#"{"error":"Too many","code":"x"}"#).as_deref(),
            Some("Too many")
        );
        assert_eq!(
            m(r#"{"response":{"result":{"error":{"k":1}}}}"#).as_deref(),
            Some(r#"{"k":1}"#)
        );
        assert_eq!(m(r#"{"response":{"result":{}}}"#), None);
        assert_eq!(m("not json"), None);
    }
}
