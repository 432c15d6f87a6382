//! OpenWhisk's REST API v1 (the subset a benchmark and the official clients use), with
//! OpenWhisk's status codes and bodies: API errors are `{"error", "code"}`, application
//! errors (502) carry the activation and never a top-level `code`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, RawPathParams, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};

use super::Platform;
use owbench_openwhisk::action::{RUNTIME_IMAGE, WASM_KIND};
use owbench_openwhisk::activation::is_activation_id;
use owbench_openwhisk::{ACTIVATION_ID_HEADER, ActionPut, Activation, ErrorBody};

use super::actions::{ActionEntry, build_doc};
use super::ids::{new_activation_id, new_transaction_id};
use super::invoker::{self, Received};
use super::store::ListQuery;
use owbench_openwhisk::activation::epoch_ms;

/// Largest invoke payload (OpenWhisk's default).
const MAX_PAYLOAD: usize = 1 << 20;
/// Largest request body (action code: 48 MB, base64-encoded).
const MAX_BODY: usize = 66 << 20;
type Shared = State<Arc<Platform>>;
type Params = Query<HashMap<String, String>>;

/// The API's routes.
pub fn router(platform: Arc<Platform>) -> Router {
    Router::new()
        .route("/", get(info))
        .route("/api/v1", get(api_info))
        .route("/api/v1/", get(api_info))
        .route("/api/v1/namespaces", get(namespaces))
        .route("/api/v1/namespaces/{ns}/limits", get(limits))
        .route("/api/v1/namespaces/{ns}/actions", get(list_actions))
        .route(
            "/api/v1/namespaces/{ns}/actions/{*name}",
            get(get_action)
                .put(put_action)
                .delete(delete_action)
                .post(invoke),
        )
        .route("/api/v1/namespaces/{ns}/activations", get(list_activations))
        .route(
            "/api/v1/namespaces/{ns}/activations/{id}",
            get(get_activation),
        )
        .route(
            "/api/v1/namespaces/{ns}/activations/{id}/{part}",
            get(activation_part),
        )
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(platform)
}

/// An API error: `{"error": message, "code": transaction id}`.
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// The transaction id, when it was already logged with the cause.
    code: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            code: None,
        }
    }

    fn not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
        )
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// A failure inside the platform: the cause goes to the server's log under the
    /// transaction id, the client gets only that id.
    fn internal(e: impl std::fmt::Display) -> ApiError {
        let code = new_transaction_id();
        tracing::error!(transaction = %code, "internal error: {e}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "The server encountered an internal error.".into(),
            code: Some(code),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code.unwrap_or_else(new_transaction_id);
        let body = ErrorBody {
            error: self.message.into(),
            code: code.into(),
        };
        json_response(self.status, &json!(body))
    }
}

type ApiResult = Result<Response, ApiError>;

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn ok(body: &Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

/// The namespace the request's basic-auth key belongs to, checked against the path's
/// `{ns}` when the route has one (`_` means the caller's own). Every route but the
/// API's self-description takes this extractor.
struct Caller(String);

impl FromRequestParts<Arc<Platform>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Caller, ApiError> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m);
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "The resource requires authentication, which was not supplied with the request",
            ));
        };
        let credentials = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok());
        let namespace = credentials.and_then(|c| {
            platform
                .config
                .keys
                .iter()
                .find(|(_, key)| *key == c)
                .map(|(ns, _)| ns.clone())
        });
        let Some(namespace) = namespace else {
            return Err(unauthorized("The supplied authentication is invalid"));
        };
        let path = RawPathParams::from_request_parts(parts, platform)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        match path.iter().find(|(key, _)| *key == "ns").map(|(_, ns)| ns) {
            None | Some("_") => Ok(Caller(namespace)),
            Some(ns) if ns == namespace => Ok(Caller(namespace)),
            Some(ns) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("The supplied authentication is not authorized to access '{ns}'."),
            )),
        }
    }
}

fn flag(params: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match params.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") | Some("") => Ok(true),
        Some(v) => Err(ApiError::bad_request(format!(
            "The request content was malformed: parameter '{name}' must be true or false, not '{v}'."
        ))),
    }
}

fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    params
        .get(name)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "The request content was malformed: parameter '{name}' must be a non-negative integer, not '{v}'."
                ))
            })
        })
        .transpose()
}

/// `limit` (0..=200; 0 means 200; default 30) and `skip`.
fn paging(params: &HashMap<String, String>) -> Result<(u32, u32), ApiError> {
    let limit = match number(params, "limit")? {
        None => 30,
        Some(0) => 200,
        Some(n) if n <= 200 => n as u32,
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "The value '{n}' is not in the range of 0 to 200 for the parameter 'limit'."
            )));
        }
    };
    let skip = number(params, "skip")?.unwrap_or(0).min(u32::MAX as u64) as u32;
    Ok((limit, skip))
}

async fn info(State(p): Shared) -> ApiResult {
    let (per_minute, concurrent) = p.throttles.limits();
    ok(&json!({
        "description": "OpenWhisk-compatible platform embedded in owbench",
        "api_paths": ["/api/v1"],
        "limits": {
            "actions_per_minute": per_minute,
            "triggers_per_minute": 0,
            "concurrent_actions": concurrent,
            "min_action_duration": 100,
            "max_action_duration": 300000,
            "min_action_memory": 16u64 << 20,
            "max_action_memory": 4096u64 << 20,
            "min_action_logs": 0,
            "max_action_logs": 10u64 << 20,
        },
        "runtimes": {
            "wasm": [{"kind": WASM_KIND, "image": format!("{RUNTIME_IMAGE}:{}", env!("CARGO_PKG_VERSION")),
                      "deprecated": false, "default": true, "attached": false, "requireMain": false}]
        }
    }))
}

async fn api_info() -> ApiResult {
    ok(&json!({
        "description": "OpenWhisk API",
        "api_version": "1.0.0",
        "api_version_path": "v1",
        "build": env!("CARGO_PKG_VERSION"),
        "buildno": concat!("owbench-", env!("CARGO_PKG_VERSION")),
    }))
}

async fn namespaces(Caller(ns): Caller) -> ApiResult {
    ok(&json!([ns]))
}

async fn limits(State(p): Shared, _: Caller) -> ApiResult {
    let (per_minute, concurrent) = p.throttles.limits();
    ok(&json!({
        "invocationsPerMinute": per_minute,
        "concurrentInvocations": concurrent,
        "firesPerMinute": 0,
        "minActionMemory": 16, "maxActionMemory": 4096,
        "minActionLogs": 0, "maxActionLogs": 10,
        "minActionTimeout": 100, "maxActionTimeout": 300000,
        "minActionConcurrency": 1, "maxActionConcurrency": 1,
        "maxParameterSize": "1048576 B",
        "maxActionInstances": concurrent,
    }))
}

async fn list_actions(State(p): Shared, Caller(ns): Caller, Query(params): Params) -> ApiResult {
    let (limit, skip) = paging(&params)?;
    let mut mine: Vec<Arc<ActionEntry>> = p
        .actions
        .read()
        .expect("actions poisoned")
        .values()
        .filter(|a| a.namespace == ns)
        .cloned()
        .collect();
    if flag(&params, "count")? {
        return ok(&json!({"actions": mine.len()}));
    }
    mine.sort_by(|a, b| {
        let updated = |e: &ActionEntry| e.doc["updated"].as_u64().unwrap_or(0);
        updated(b).cmp(&updated(a)).then(a.name.cmp(&b.name))
    });
    let page: Vec<Value> = mine
        .iter()
        .skip(skip as usize)
        .take(limit as usize)
        .map(|a| a.summary())
        .collect();
    ok(&Value::Array(page))
}

async fn get_action(
    State(p): Shared,
    Caller(ns): Caller,
    Path((_, name)): Path<(String, String)>,
    Query(params): Params,
) -> ApiResult {
    let action = p.action(&ns, &name).ok_or_else(ApiError::not_found)?;
    let with_code = params.get("code").map(|v| v != "false").unwrap_or(true);
    ok(&action.to_api(with_code))
}

async fn put_action(
    State(p): Shared,
    Caller(ns): Caller,
    Path((_, name)): Path<(String, String)>,
    Query(params): Params,
    body: Bytes,
) -> ApiResult {
    check_name(&name)?;
    let overwrite = flag(&params, "overwrite")?;
    let put: ActionPut = if body.iter().all(u8::is_ascii_whitespace) {
        ActionPut::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("The request content was malformed: {e}")))?
    };
    let previous = p.action(&ns, &name);
    if previous.is_some() && !overwrite {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "resource already exists",
        ));
    }
    let doc = build_doc(
        &ns,
        &name,
        put,
        previous.as_ref().map(|a| &a.doc),
        epoch_ms(SystemTime::now()),
    )
    .map_err(ApiError::bad_request)?;
    let entry = ActionEntry::from_doc(ns.clone(), doc).map_err(ApiError::bad_request)?;
    p.store
        .put_action(&ns, &name, &entry.doc)
        .map_err(ApiError::internal)?;
    let response = entry.to_api(true);
    p.actions
        .write()
        .expect("actions poisoned")
        .insert((ns, name), Arc::new(entry));
    if let Some(prev) = previous {
        p.pool.evict(&prev.key());
    }
    ok(&response)
}

async fn delete_action(
    State(p): Shared,
    Caller(ns): Caller,
    Path((_, name)): Path<(String, String)>,
) -> ApiResult {
    let removed = p
        .actions
        .write()
        .expect("actions poisoned")
        .remove(&(ns.clone(), name.clone()))
        .ok_or_else(ApiError::not_found)?;
    p.store
        .delete_action(&ns, &name)
        .map_err(ApiError::internal)?;
    p.pool.evict(&removed.key());
    ok(&removed.to_api(false))
}

/// OpenWhisk's entity name rule, with one optional `package/` prefix.
fn check_name(name: &str) -> Result<(), ApiError> {
    let valid_part = |s: &str| {
        let ok_char = |c: char| {
            c.is_alphanumeric() || c == '_' || c == '@' || c == '.' || c == '-' || c == ' '
        };
        !s.is_empty()
            && s.len() <= 256
            && s.starts_with(|c: char| c.is_alphanumeric() || c == '_')
            && s.chars().all(ok_char)
            && !s.ends_with(' ')
    };
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() <= 2 && parts.iter().all(|p| valid_part(p)) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "The name '{name}' is not a valid entity name."
        )))
    }
}

async fn invoke(
    State(p): Shared,
    Caller(ns): Caller,
    Path((_, name)): Path<(String, String)>,
    Query(params): Params,
    body: Bytes,
) -> ApiResult {
    let received_at = Instant::now();
    let received_wall = SystemTime::now();
    let blocking = flag(&params, "blocking")?;
    let result_only = flag(&params, "result")?;
    let wait = match number(&params, "timeout")? {
        None => p.config.max_blocking_wait,
        Some(ms) if (1..=60_000).contains(&ms) => {
            Duration::from_millis(ms).min(p.config.max_blocking_wait)
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "The request content was malformed: Timeout must be number of milliseconds up to 60000.",
            ));
        }
    };
    if body.len() > MAX_PAYLOAD {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Request larger than allowed: {} > {MAX_PAYLOAD} bytes.",
                body.len()
            ),
        ));
    }
    let action = p.action(&ns, &name).ok_or_else(ApiError::not_found)?;
    if !body.iter().all(u8::is_ascii_whitespace)
        && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err()
    {
        return Err(ApiError::bad_request(
            "The request content was malformed: the body is not valid JSON",
        ));
    }
    let params = invoker::merge_params(&action, &body).map_err(ApiError::bad_request)?;
    let in_flight = p
        .throttles
        .admit(&ns)
        .map_err(|m| ApiError::new(StatusCode::TOO_MANY_REQUESTS, m))?;

    let activation_id = new_activation_id();
    let received = Received {
        at: received_at,
        wall: received_wall,
        subject: ns,
    };
    let platform = p.clone();
    let id = activation_id.clone();
    let mut task = tokio::spawn(async move {
        let record = invoker::run(&platform, &action, params, id, received).await;
        drop(in_flight);
        let record = Arc::new(record);
        platform.store.record(record.clone()).await;
        record
    });
    let accepted = || {
        let mut r = json_response(
            StatusCode::ACCEPTED,
            &json!({"activationId": activation_id}),
        );
        r.headers_mut().insert(
            ACTIVATION_ID_HEADER,
            HeaderValue::from_str(&activation_id).expect("hex id"),
        );
        r
    };
    if !blocking {
        return Ok(accepted());
    }
    let record = match tokio::time::timeout(wait, &mut task).await {
        Err(_) => return Ok(accepted()),
        Ok(Err(e)) => return Err(ApiError::internal(format!("the activation failed: {e}"))),
        Ok(Ok(record)) => record,
    };
    let status = record
        .status_code()
        .map_or(StatusCode::INTERNAL_SERVER_ERROR, |s| {
            StatusCode::from_u16(s.http_status()).expect("valid status")
        });
    let body = if result_only {
        record.response.result.clone()
    } else {
        serde_json::to_value(&*record).map_err(ApiError::internal)?
    };
    let mut response = json_response(status, &body);
    response.headers_mut().insert(
        ACTIVATION_ID_HEADER,
        HeaderValue::from_str(&activation_id).expect("hex id"),
    );
    Ok(response)
}

async fn list_activations(
    State(p): Shared,
    Caller(ns): Caller,
    Query(params): Params,
) -> ApiResult {
    let (limit, skip) = paging(&params)?;
    let docs = flag(&params, "docs")?;
    let count = flag(&params, "count")?;
    if docs && count {
        return Err(ApiError::bad_request(
            "The request content was malformed: 'docs' and 'count' cannot be combined.",
        ));
    }
    let query = ListQuery {
        name: params.get("name").filter(|n| !n.is_empty()).cloned(),
        since: number(&params, "since")?,
        upto: number(&params, "upto")?,
        limit,
        skip,
    };
    if count {
        let n = p
            .store
            .count(&ns, &query)
            .await
            .map_err(ApiError::internal)?;
        return ok(&json!({"activations": n}));
    }
    let rows = p
        .store
        .list(&ns, &query)
        .await
        .map_err(ApiError::internal)?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|a| {
            if docs {
                serde_json::to_value(&a).unwrap_or(Value::Null)
            } else {
                a.summary()
            }
        })
        .collect();
    ok(&Value::Array(items))
}

async fn get_activation(
    State(p): Shared,
    Caller(ns): Caller,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult {
    let record = find_activation(&p, &ns, &id)?;
    ok(&serde_json::to_value(&record).map_err(ApiError::internal)?)
}

async fn activation_part(
    State(p): Shared,
    Caller(ns): Caller,
    Path((_, id, part)): Path<(String, String, String)>,
) -> ApiResult {
    let record = find_activation(&p, &ns, &id)?;
    match part.as_str() {
        "logs" => ok(&json!({"logs": record.logs})),
        "result" => ok(&json!(record.response)),
        _ => Err(ApiError::not_found()),
    }
}

fn find_activation(p: &Platform, ns: &str, id: &str) -> Result<Activation, ApiError> {
    if !is_activation_id(id) {
        return Err(ApiError::bad_request(format!(
            "The request content was malformed: '{id}' is not a valid activation id."
        )));
    }
    p.store
        .activation(ns, id)
        .map_err(ApiError::internal)?
        .ok_or_else(ApiError::not_found)
}
