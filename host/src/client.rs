//! The OpenWhisk client: where the target is (`~/.wskprops`, environment, flags), deploying
//! workloads as actions (a `wasm` kind, or a `blackbox` action with owbench's runtime
//! image), invoking them, fetching activation records, and
//! classifying every outcome the way a benchmark needs to count it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use owbench_openwhisk::action::BLACKBOX_KIND;
use owbench_openwhisk::info::SystemInfo;
use owbench_openwhisk::wskprops::WskProps;
use owbench_openwhisk::{
    ACTIVATION_ID_HEADER, ActionPut, Activation, ErrorBody, Exec, KeyValue, StatusCode,
};
use reqwest::StatusCode as HttpStatus;
use serde_json::Map;

use crate::load::http::FastClient;
use crate::load::outcome::{Invoked, Outcome, fast_failure};

/// Where and as whom to call OpenWhisk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Base URL, with scheme (`https://` when the host has none, as `wsk` does).
    pub apihost: String,
    /// `uuid:key`.
    pub auth: String,
    /// Namespace (`_`: the key's own).
    pub namespace: String,
    /// Accept self-signed certificates.
    pub insecure: bool,
    /// Trust exactly this certificate (PEM), whatever the host's name: a cluster's own.
    pub pinned_cert: Option<String>,
}

impl Target {
    /// Resolve the target: explicit values win, then `__OW_APIHOST`/`__OW_API_KEY`/
    /// `__OW_NAMESPACE`, then the wskprops file (`WSK_CONFIG_FILE` or `~/.wskprops`).
    pub fn resolve(
        apihost: Option<&str>,
        auth: Option<&str>,
        namespace: Option<&str>,
        insecure: bool,
        wskprops: Option<&Path>,
    ) -> anyhow::Result<Target> {
        let props_path = wskprops.map(Path::to_path_buf).or_else(default_wskprops);
        let props = match &props_path {
            Some(p) if p.is_file() => read_wskprops(p)?,
            Some(p) if wskprops.is_some() => {
                anyhow::bail!("wskprops file {} does not exist", p.display())
            }
            _ => WskProps::default(),
        };
        let prop = |k: &str| props.get(k).map(str::to_owned);
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let apihost = apihost
            .map(str::to_owned)
            .or_else(|| env("__OW_APIHOST"))
            .or_else(|| prop("APIHOST"))
            .context(
                "no OpenWhisk API host: set `apihost`, __OW_APIHOST or APIHOST in ~/.wskprops",
            )?;
        let auth = auth
            .map(str::to_owned)
            .or_else(|| env("__OW_API_KEY"))
            .or_else(|| prop("AUTH"))
            .context("no OpenWhisk key: set `auth`, __OW_API_KEY or AUTH in ~/.wskprops")?;
        if !auth.contains(':') {
            anyhow::bail!("the OpenWhisk key must be `uuid:key`");
        }
        let namespace = namespace
            .map(str::to_owned)
            .or_else(|| env("__OW_NAMESPACE"))
            .or_else(|| prop("NAMESPACE"))
            .unwrap_or_else(|| "_".into());
        let apihost = if apihost.contains("://") {
            apihost
        } else {
            format!("https://{apihost}")
        };
        Ok(Target {
            apihost: apihost.trim_end_matches('/').to_owned(),
            auth,
            namespace,
            insecure,
            pinned_cert: None,
        })
    }
}

fn default_wskprops() -> Option<PathBuf> {
    std::env::var_os("WSK_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| owbench_plugin::dirs::home().map(|h| h.join(".wskprops")))
}

/// Read a wskprops file (`KEY=VALUE` lines; `#` comments, blank lines ignored).
pub fn read_wskprops(path: &Path) -> anyhow::Result<WskProps> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    WskProps::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// A client bound to one target.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    fast: Option<FastClient>,
    target: Target,
    namespace_url: String,
    namespace_path: String,
}

impl Client {
    /// A client with `max_connections` idle keep-alive connections and a per-request
    /// `timeout`.
    pub fn new(
        target: Target,
        max_connections: usize,
        timeout: Duration,
    ) -> anyhow::Result<Client> {
        let mut http = reqwest::Client::builder().danger_accept_invalid_certs(target.insecure);
        if let Some(pem) = &target.pinned_cert {
            let cert = crate::tls::parse_certificate(pem)?;
            http = http.use_preconfigured_tls(crate::tls::pinned_client(cert)?);
        }
        let http = http
            .pool_max_idle_per_host(max_connections)
            .timeout(timeout)
            .tcp_nodelay(true)
            .user_agent(concat!("owbench/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        let namespace_path = format!("/api/v1/namespaces/{}", target.namespace);
        let namespace_url = format!("{}{namespace_path}", target.apihost);
        let fast = FastClient::new(&target.apihost, Some(&target.auth), timeout);
        Ok(Client {
            http,
            fast,
            target,
            namespace_url,
            namespace_path,
        })
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let (user, pass) = self
            .target
            .auth
            .split_once(':')
            .unwrap_or((&self.target.auth, ""));
        rb.basic_auth(user, Some(pass))
    }

    /// Check that the target answers and accepts the key (before any run starts).
    pub async fn check(&self) -> anyhow::Result<()> {
        let url = format!("{}/api/v1/namespaces", self.target.apihost);
        let response = self.authed(self.http.get(&url)).send().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach OpenWhisk at {}: {}",
                self.target.apihost,
                root_cause(&e)
            )
        })?;
        match response.status() {
            s if s.is_success() => Ok(()),
            HttpStatus::UNAUTHORIZED | HttpStatus::FORBIDDEN => anyhow::bail!(
                "OpenWhisk at {} rejected the key (HTTP {})",
                self.target.apihost,
                response.status().as_u16()
            ),
            s => anyhow::bail!(
                "OpenWhisk at {} answered HTTP {}",
                self.target.apihost,
                s.as_u16()
            ),
        }
    }

    /// What the target says about itself (`GET /`, no key needed). A deployment whose
    /// `/` is not OpenWhisk's (a proxy in front of the API) gives an empty answer.
    pub async fn system_info(&self) -> anyhow::Result<SystemInfo> {
        let url = format!("{}/", self.target.apihost);
        let response = self.http.get(&url).send().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach OpenWhisk at {}: {}",
                self.target.apihost,
                root_cause(&e)
            )
        })?;
        if !response.status().is_success() {
            return Ok(SystemInfo::default());
        }
        let body = response.bytes().await.unwrap_or_default();
        Ok(serde_json::from_slice(&body).unwrap_or_default())
    }

    /// Create or replace the action `name` running `exec` (a `wasm` kind, a blackbox
    /// action with owbench's runtime image, or a stock runtime's kind).
    pub async fn deploy(
        &self,
        name: &str,
        exec: Exec,
        memory_mb: u64,
        timeout_ms: u64,
        annotations: Vec<KeyValue>,
    ) -> anyhow::Result<()> {
        let mut limits = Map::new();
        limits.insert("memory".into(), memory_mb.into());
        limits.insert("timeout".into(), timeout_ms.into());
        let how = match (exec.kind.as_deref(), &exec.image) {
            (Some(BLACKBOX_KIND), Some(image)) => format!(
                "as a blackbox action with image `{image}` (the target lists no `wasm` runtime)"
            ),
            (kind, _) => format!("as kind `{}`", kind.unwrap_or("?")),
        };
        let body = ActionPut {
            exec: Some(exec),
            limits: Some(limits),
            annotations: Some(annotations),
            ..ActionPut::default()
        };
        let url = format!("{}/actions/{name}?overwrite=true", self.namespace_url);
        let response = self
            .authed(self.http.put(&url))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot deploy action `{name}`"))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let body = response.bytes().await.unwrap_or_default();
            anyhow::bail!(
                "deploying action `{name}` {how} failed: HTTP {status}: {}",
                error_text(&body)
            );
        }
        Ok(())
    }

    /// Invoke `name` with `params` (a JSON object, serialized once by the caller).
    pub async fn invoke(&self, name: &str, params: bytes::Bytes, blocking: bool) -> Invoked {
        if let Some(fast) = &self.fast {
            let path = format!("{}/actions/{name}?blocking={blocking}", self.namespace_path);
            return match fast.send(http::Method::POST, &path, params).await {
                Ok((status, id, body)) => classify_response(
                    status,
                    id.and_then(|v| v.to_str().ok().map(str::to_owned)),
                    &body,
                ),
                Err(e) => fast_failure(e),
            };
        }
        let url = format!("{}/actions/{name}?blocking={blocking}", self.namespace_url);
        let request = self
            .authed(self.http.post(&url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(params);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return transport_failure(&e),
        };
        let status = response.status().as_u16();
        let header_id = response
            .headers()
            .get(ACTIVATION_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return transport_failure(&e),
        };
        classify_response(status, header_id, &body)
    }

    /// A GET under the namespace; `Ok(None)` on 404.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> anyhow::Result<Option<T>> {
        let url = format!("{}/{path}", self.namespace_url);
        let response = self.authed(self.http.get(&url)).send().await?;
        match response.status() {
            HttpStatus::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(response.json().await?)),
            s => anyhow::bail!("GET {path}: HTTP {}", s.as_u16()),
        }
    }

    /// The record of activation `id`, retrying while it is not stored yet (404), for at
    /// most `patience`.
    pub async fn activation(&self, id: &str, patience: Duration) -> anyhow::Result<Activation> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut pause = Duration::from_millis(20);
        loop {
            if let Some(record) = self.get_json(&format!("activations/{id}")).await? {
                return Ok(record);
            }
            if tokio::time::Instant::now() + pause > deadline {
                anyhow::bail!("activation {id} was not stored within {patience:?}");
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// One page of full activation records of `name` started in `since..=upto` (a fixed
    /// `upto` keeps paging stable while new activations arrive).
    pub async fn activations_page(
        &self,
        name: &str,
        since: u64,
        upto: u64,
        skip: u32,
    ) -> anyhow::Result<Vec<Activation>> {
        let path = format!(
            "activations?name={name}&since={since}&upto={upto}&limit=200&skip={skip}&docs=true"
        );
        Ok(self.get_json(&path).await?.unwrap_or_default())
    }
}

/// Classify an invoke response: by HTTP status, and on a 502 by the record's status.
pub fn classify_response(status: u16, header_id: Option<String>, body: &[u8]) -> Invoked {
    let mut record: Option<Activation> = serde_json::from_slice(body).ok();
    let activation_id = header_id.or_else(|| {
        record
            .as_ref()
            .map(|r| r.activation_id.clone())
            .filter(|id| !id.is_empty())
    });
    let record_status = record
        .as_ref()
        .filter(|r| r.is_record())
        .map(Activation::status_code);
    let outcome = match status {
        200 => Outcome::Ok,
        202 => Outcome::Accepted,
        429 => Outcome::Throttled,
        502 => match record_status {
            Some(Some(StatusCode::ApplicationError)) => Outcome::ApplicationError,
            Some(_) => Outcome::DeveloperError,
            // `result=true` bodies carry only `{error}`: an application error.
            None => Outcome::ApplicationError,
        },
        400..=499 => Outcome::ClientError,
        _ => Outcome::ServerError,
    };
    let error = (outcome != Outcome::Ok && outcome != Outcome::Accepted).then(|| error_text(body));
    let times = record.as_ref().and_then(Activation::times);
    let result = record
        .as_mut()
        .filter(|r| outcome == Outcome::Ok && r.is_record())
        .map(|r| r.response.result.take());
    Invoked {
        outcome,
        status,
        activation_id,
        times,
        error,
        result,
    }
}

/// An `Invoked` for a reqwest failure.
pub fn transport_failure(e: &reqwest::Error) -> Invoked {
    let outcome = if e.is_timeout() {
        Outcome::Timeout
    } else if e.is_connect() {
        Outcome::Connect
    } else {
        Outcome::Io
    };
    Invoked {
        outcome,
        status: 0,
        activation_id: None,
        times: None,
        error: Some(root_cause(e)),
        result: None,
    }
}

/// The innermost cause of an error, one line.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The `error` of an OpenWhisk error body (or of `response.result`), else the text;
/// at most 200 characters.
fn error_text(body: &[u8]) -> String {
    let msg =
        ErrorBody::message_of(body).unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    msg.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_openwhisk_responses() {
        let c = |s, body: &str| classify_response(s, None, body.as_bytes()).outcome;
        assert_eq!(
            c(200, r#"{"activationId":"a","duration":1,"annotations":[]}"#),
            Outcome::Ok
        );
        assert_eq!(c(202, r#"{"activationId":"a"}"#), Outcome::Accepted);
        assert_eq!(
            c(429, r#"{"error":"Too many","code":"x"}"#),
            Outcome::Throttled
        );
        assert_eq!(
            c(502, r#"{"response":{"status":"application error"}}"#),
            Outcome::ApplicationError
        );
        assert_eq!(
            c(502, r#"{"response":{"status":"action developer error"}}"#),
            Outcome::DeveloperError
        );
        assert_eq!(
            c(404, r#"{"error":"nope","code":"x"}"#),
            Outcome::ClientError
        );
        assert_eq!(c(503, ""), Outcome::ServerError);
        let i = classify_response(202, Some("abc".into()), b"{}");
        assert_eq!(i.activation_id.as_deref(), Some("abc"));
    }

    #[test]
    fn takes_times_and_results_from_whole_records_only() {
        let record = r#"{"activationId":"a","duration":3,"response":{"status":"success","result":{"x":1}},
            "annotations":[{"key":"waitTime","value":2}]}"#;
        let i = classify_response(200, None, record.as_bytes());
        assert_eq!(i.activation_id.as_deref(), Some("a"));
        assert_eq!(
            i.times.map(|t| (t.duration_us, t.wait_us)),
            Some((3000, 2000))
        );
        assert_eq!(i.result, Some(json!({"x": 1})));
        let i = classify_response(200, None, br#"{"x":1}"#);
        assert_eq!((i.times, i.result), (None, None));
        let i = classify_response(502, None, br#"{"error":"boom"}"#);
        assert_eq!(i.error.as_deref(), Some("boom"));
    }

    #[test]
    fn wskprops_and_env_resolve_a_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wskprops");
        std::fs::write(
            &path,
            "# comment\nAPIHOST=example.org:443\nAUTH=u:k\nNAMESPACE=ns\n",
        )
        .unwrap();
        let t = Target::resolve(None, None, None, true, Some(&path)).unwrap();
        assert_eq!(t.apihost, "https://example.org:443");
        assert_eq!(
            (t.auth.as_str(), t.namespace.as_str(), t.insecure),
            ("u:k", "ns", true)
        );
        let t = Target::resolve(
            Some("http://127.0.0.1:1"),
            Some("a:b"),
            None,
            false,
            Some(&path),
        )
        .unwrap();
        assert_eq!(
            (t.apihost.as_str(), t.auth.as_str()),
            ("http://127.0.0.1:1", "a:b")
        );
        std::fs::write(&path, "garbage\n").unwrap();
        let err = Target::resolve(None, None, None, false, Some(&path)).unwrap_err();
        assert!(err.to_string().contains("expected KEY=VALUE"), "{err}");
    }
}
