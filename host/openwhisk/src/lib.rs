//! OpenWhisk's wire protocol as plain data (serde only): what the REST API and the action
//! runtime send and receive.
//!
//! The OpenWhisk client, the embedded platform (`owbench serve`), the bench and the action
//! runtime all speak through these types, so that a status text or an annotation name is
//! written in one place:
//!
//! - [`action`]: action documents (`exec`, `limits`, annotations, parameters).
//! - [`activation`]: activation records, status codes, timing annotations.
//! - [`error`]: the `{"error", "code"}` body of a failed API call.
//! - [`info`]: `GET /`, the runtimes a deployment lists, and how an owbench action runs there.
//! - [`runtime`]: the action runtime's `/init` and `/run` payloads.
//! - [`wskprops`]: the `wsk` CLI's `~/.wskprops` file.
//!
//! ```
//! use owbench_openwhisk::activation::{Activation, StatusCode};
//!
//! let body = r#"{"activationId": "0123456789abcdef0123456789abcdef", "duration": 3,
//!     "response": {"status": "application error", "success": false, "result": {"error": "no"}},
//!     "annotations": [{"key": "waitTime", "value": 2}]}"#;
//! let record: Activation = serde_json::from_str(body).unwrap();
//! assert_eq!(record.status_code(), Some(StatusCode::ApplicationError));
//! assert_eq!(record.times().unwrap().wait_us, 2000);
//! ```

#![deny(missing_docs)]

pub mod action;
pub mod activation;
pub mod error;
pub mod info;
pub mod runtime;
pub mod wskprops;

pub use action::{ActionPut, Exec, KeyValue, Limits};
pub use activation::{Activation, ActivationTimes, Response, StatusCode};
pub use error::ErrorBody;

/// The response header that carries the activation id of an invoke.
pub const ACTIVATION_ID_HEADER: &str = "x-openwhisk-activation-id";
