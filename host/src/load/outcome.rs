//! How one invocation ended, as a benchmark counts it: the class of every outcome and
//! what an invoker hands back to the load engine.

use owbench_openwhisk::{ActivationTimes, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::FastError;

/// How one invocation ended, as a benchmark counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 200: the action succeeded.
    Ok,
    /// 202: accepted (non-blocking, or blocking past the platform's limit).
    Accepted,
    /// 502 with status "application error": the action returned `{error}`.
    ApplicationError,
    /// 502 with status "action developer error": init failure, timeout, crash.
    DeveloperError,
    /// 429: throttled.
    Throttled,
    /// Another 4xx.
    ClientError,
    /// 500, 503 or another 5xx.
    ServerError,
    /// No answer within the client's timeout.
    Timeout,
    /// Could not connect.
    Connect,
    /// The connection failed mid-request, or the body was unreadable.
    Io,
}

impl Outcome {
    /// Every class, in report order.
    pub const ALL: [Outcome; 10] = [
        Outcome::Ok,
        Outcome::Accepted,
        Outcome::ApplicationError,
        Outcome::DeveloperError,
        Outcome::Throttled,
        Outcome::ClientError,
        Outcome::ServerError,
        Outcome::Timeout,
        Outcome::Connect,
        Outcome::Io,
    ];

    /// The class of a finished activation's status (`None`: a status text OpenWhisk does
    /// not use, counted as the platform's failure).
    pub fn of_status(status: Option<StatusCode>) -> Outcome {
        match status {
            Some(StatusCode::Success) => Outcome::Ok,
            Some(StatusCode::ApplicationError) => Outcome::ApplicationError,
            Some(StatusCode::DeveloperError) => Outcome::DeveloperError,
            Some(StatusCode::InternalError) | None => Outcome::ServerError,
        }
    }

    /// The snake_case name used in rows and summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Accepted => "accepted",
            Outcome::ApplicationError => "application_error",
            Outcome::DeveloperError => "developer_error",
            Outcome::Throttled => "throttled",
            Outcome::ClientError => "client_error",
            Outcome::ServerError => "server_error",
            Outcome::Timeout => "timeout",
            Outcome::Connect => "connect",
            Outcome::Io => "io",
        }
    }
}

/// What one invoke returned.
#[derive(Debug, Clone)]
pub struct Invoked {
    /// Class.
    pub outcome: Outcome,
    /// HTTP status (0 when there was none).
    pub status: u16,
    /// The activation id, when the platform gave one.
    pub activation_id: Option<String>,
    /// Timings, when the response carried the record.
    pub times: Option<ActivationTimes>,
    /// The error text of a failure (first 200 characters).
    pub error: Option<String>,
    /// The action's result, when the response or record carried it (successes only).
    pub result: Option<Value>,
}

/// An `Invoked` for a failure of the hot path.
pub fn fast_failure(e: FastError) -> Invoked {
    let outcome = match e {
        FastError::Connect(_) => Outcome::Connect,
        FastError::Timeout => Outcome::Timeout,
        FastError::Io(_) => Outcome::Io,
    };
    Invoked {
        outcome,
        status: 0,
        activation_id: None,
        times: None,
        error: Some(e.to_string()),
        result: None,
    }
}
