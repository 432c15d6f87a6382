//! OCI's REST API over `wasi:http`: endpoints of a target, JSON requests, OCI's error
//! bodies as `plugin-error`s. Requests go out unsigned: the host signs each one.

use serde::de::DeserializeOwned;
use wstd::http::body::Bytes;
use wstd::http::error::ErrorCode;
use wstd::http::{Body, BodyExt, Client, Method, Request};

use owbench_provider::{PluginError, Target, invalid};

/// OCI error codes after which the same call may succeed later.
const RETRYABLE_CODES: &[&str] = &[
    "TooManyRequests",
    "IncorrectState",
    "Conflict",
    "InternalServerError",
    "ServiceUnavailable",
    "OutOfHostCapacity",
    "NoEtagMatch",
];

/// The endpoints and settings of one call.
pub struct Api {
    region: String,
    core: String,
    identity: String,
    objects: String,
    limits: String,
    settings: Vec<(String, String)>,
}

/// An answer: status, headers, body.
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: wstd::http::HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Answer {
    /// The body as `T`.
    pub fn json<T: DeserializeOwned>(&self, step: &str) -> Result<T, PluginError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| invalid(format!("{step}: unexpected answer from OCI: {e}")))
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    /// The API of `target`: OCI's regional endpoints, or all at the target's endpoint.
    pub fn new(target: &Target) -> Api {
        let region = &target.region;
        let (core, identity, objects, limits) = match &target.endpoint {
            Some(url) => {
                let url = url.trim_end_matches('/');
                (
                    url.to_owned(),
                    url.to_owned(),
                    url.to_owned(),
                    url.to_owned(),
                )
            }
            None => (
                format!("https://iaas.{region}.oraclecloud.com"),
                format!("https://identity.{region}.oci.oraclecloud.com"),
                format!("https://objectstorage.{region}.oraclecloud.com"),
                format!("https://limits.{region}.oci.oraclecloud.com"),
            ),
        };
        Api {
            region: region.clone(),
            core,
            identity,
            objects,
            limits,
            settings: target
                .settings
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect(),
        }
    }

    /// The target's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// A Core Services URL (`/20160918` + `path`).
    pub fn core(&self, path: &str) -> String {
        format!("{}/20160918{path}", self.core)
    }

    /// A Limits URL (`/20190729` + `path`).
    pub fn limits(&self, path: &str) -> String {
        format!("{}/20190729{path}", self.limits)
    }

    /// An Identity URL (`/20160918` + `path`).
    pub fn identity(&self, path: &str) -> String {
        format!("{}/20160918{path}", self.identity)
    }

    /// An Object Storage URL.
    pub fn objects(&self, path: &str) -> String {
        format!("{}{path}", self.objects)
    }

    /// Setting `key` of the target, if given and not empty.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Setting `key`, which `what` needs.
    pub fn need(&self, key: &str, what: &str) -> Result<&str, PluginError> {
        self.setting(key).ok_or_else(|| {
            invalid(format!(
                "setting `{key}` is missing: {what} (put it under [settings] of the cluster spec)"
            ))
        })
    }

    /// Send `method url` with `body` (JSON, or raw bytes for an object) and `headers`;
    /// the answer when it is 2xx, else OCI's error as a `plugin-error` naming `step`.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
        step: &str,
    ) -> Result<Answer, PluginError> {
        let mut request = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(bytes) => request
                .header("content-length", bytes.len())
                .body(Body::from(bytes)),
            // An empty streamed body is finished without a write (see the workload SDK).
            None => request.body(Body::from_http_body(
                wstd::http::body::util::Empty::<Bytes>::new(),
            )),
        }
        .map_err(|e| invalid(format!("{step}: bad request to {url}: {e}")))?;
        let response = Client::new()
            .send(request)
            .await
            .map_err(|e| transport_error(step, url, e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .into_boxed_body()
            .collect()
            .await
            .map_err(|e| transport_error(step, url, e))?
            .to_bytes();
        let answer = Answer {
            status,
            headers,
            body,
        };
        if (200..300).contains(&status) {
            Ok(answer)
        } else {
            Err(api_error(step, &answer))
        }
    }

    /// [`Api::send`] with a JSON body, the answer parsed as `T`.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
        step: &str,
    ) -> Result<T, PluginError> {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let body = body.map(|b| b.to_string().into_bytes());
        self.send(method, url, body, &all, step).await?.json(step)
    }

    /// GET `url` as `T`.
    pub async fn get<T: DeserializeOwned>(&self, url: &str, step: &str) -> Result<T, PluginError> {
        self.json(Method::GET, url, None, &[], step).await
    }
}

/// A `plugin-error` for an OCI error answer.
fn api_error(step: &str, answer: &Answer) -> PluginError {
    #[derive(serde::Deserialize)]
    struct Body {
        code: Option<String>,
        message: Option<String>,
    }
    let parsed: Option<Body> = serde_json::from_slice(&answer.body).ok();
    let code = parsed.as_ref().and_then(|b| b.code.clone());
    let message = parsed.and_then(|b| b.message).unwrap_or_else(|| {
        String::from_utf8_lossy(&answer.body)
            .chars()
            .take(200)
            .collect()
    });
    let retryable = answer.status == 429
        || answer.status >= 500
        || code
            .as_deref()
            .is_some_and(|c| RETRYABLE_CODES.contains(&c));
    PluginError {
        message: format!(
            "{step}: HTTP {} {}: {message}",
            answer.status,
            code.as_deref().unwrap_or("(no code)")
        ),
        retryable,
        code,
    }
}

/// A `plugin-error` for a request that got no answer; a refused host is final.
fn transport_error(step: &str, url: &str, e: wstd::http::Error) -> PluginError {
    let denied = matches!(
        e.downcast_ref::<ErrorCode>(),
        Some(ErrorCode::HttpRequestDenied)
    );
    PluginError {
        message: format!("{step}: {url}: {e:#}"),
        retryable: !denied,
        code: None,
    }
}

/// `text` percent-encoded for a query value or a path segment (RFC 3986 unreserved
/// characters kept).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
