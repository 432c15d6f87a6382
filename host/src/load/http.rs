//! The hot path of plain-`http://` requests: hyper's HTTP/1 connections kept in a small
//! pool (one connection per request in flight, reused with keep-alive; no pool-wide
//! lock held across a request), requests built from pre-computed parts. `https://`
//! targets go through reqwest instead.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// A response: status and body.
pub type Reply = (u16, Option<HeaderValue>, Bytes);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum FastError {
    /// Could not connect.
    #[error("connect: {0}")]
    Connect(std::io::Error),
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The connection failed mid-request.
    #[error("{0}")]
    Io(String),
}

/// A keep-alive connection pool to one `http://host:port`.
#[derive(Clone)]
pub struct FastClient {
    authority: String,
    host: HeaderValue,
    auth: Option<HeaderValue>,
    idle: Arc<Mutex<Vec<SendRequest<Full<Bytes>>>>>,
    timeout: Duration,
}

impl FastClient {
    /// A pool for the host of `base` (`http://` only), sending `Authorization: Basic`
    /// for `auth` (`user:password`) when given.
    pub fn new(base: &str, auth: Option<&str>, timeout: Duration) -> Option<FastClient> {
        let uri: Uri = base.parse().ok()?;
        if uri.scheme_str() != Some("http") {
            return None;
        }
        let authority = uri.authority()?.to_string();
        let authority = if authority.contains(':') {
            authority
        } else {
            format!("{authority}:80")
        };
        let auth = auth.map(|a| {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(a);
            HeaderValue::from_str(&format!("Basic {encoded}")).expect("base64 is a valid header")
        });
        Some(FastClient {
            host: HeaderValue::from_str(uri.authority()?.as_str()).ok()?,
            authority,
            auth,
            idle: Arc::default(),
            timeout,
        })
    }

    async fn connection(&self) -> Result<SendRequest<Full<Bytes>>, FastError> {
        loop {
            let idle = self.idle.lock().expect("pool poisoned").pop();
            match idle {
                Some(mut conn) => {
                    if conn.ready().await.is_ok() {
                        return Ok(conn);
                    }
                }
                None => break,
            }
        }
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(FastError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| FastError::Io(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(send)
    }

    /// Send `method path_and_query` with `body` (JSON when non-empty).
    pub async fn send(&self, method: Method, path: &str, body: Bytes) -> Result<Reply, FastError> {
        let attempt = async {
            let mut conn = self.connection().await?;
            let mut request = Request::builder().method(method).uri(path);
            let headers = request.headers_mut().expect("builder is valid");
            headers.insert(header::HOST, self.host.clone());
            if let Some(auth) = &self.auth {
                headers.insert(header::AUTHORIZATION, auth.clone());
            }
            if !body.is_empty() {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            let request = request
                .body(Full::new(body))
                .map_err(|e| FastError::Io(e.to_string()))?;
            let response = conn
                .send_request(request)
                .await
                .map_err(|e| FastError::Io(e.to_string()))?;
            let status = response.status().as_u16();
            let id = response
                .headers()
                .get(owbench_openwhisk::ACTIVATION_ID_HEADER)
                .cloned();
            let keep = !response
                .headers()
                .get(header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| FastError::Io(e.to_string()))?
                .to_bytes();
            if keep {
                self.idle.lock().expect("pool poisoned").push(conn);
            }
            Ok((status, id, bytes))
        };
        tokio::time::timeout(self.timeout, attempt)
            .await
            .unwrap_or(Err(FastError::Timeout))
    }
}
