//! Plugin packages in OCI registries (GHCR, ECR, OCIR, Harbor, the CNCF distribution
//! registry): the few calls of the OCI distribution API a package needs, pushing and
//! pulling its manifest and blobs, with the credentials `docker login` wrote and the
//! registries' token handshake. What is pulled is held in memory and checked whole
//! ([`Artifact::open`]) before anything is installed, so a pull that fails half-way
//! leaves nothing behind.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use reqwest::{RequestBuilder, Response, StatusCode, header};

use crate::package::{
    Artifact, IMAGE_MANIFEST, ImageManifest, MAX_PACKAGE, VERSION, digest_of, is_digest,
};

/// Largest image manifest pulled.
const MAX_MANIFEST: u64 = 1 << 20;
/// Attempts per request when the registry cannot be reached or answers 5xx.
const ATTEMPTS: u32 = 3;

/// A package's place in a registry: `REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`.
    pub registry: String,
    /// `path/to/name`.
    pub repository: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The manifest digest, if any.
    pub digest: Option<String>,
}

impl Reference {
    /// Parse `REGISTRY/REPOSITORY[:TAG][@DIGEST]`; the registry part is required (a
    /// host with a dot or a port, or `localhost`), as owbench has no default registry.
    pub fn parse(text: &str) -> Result<Reference, String> {
        let bad = |why: &str| format!("`{text}` is not a registry reference ({why})");
        let (rest, digest) = match text.split_once('@') {
            Some((rest, d)) => {
                let hex = d
                    .strip_prefix("sha256:")
                    .ok_or_else(|| bad("digest must be sha256:"))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("bad digest"));
                }
                (rest, Some(d.to_ascii_lowercase()))
            }
            None => (text, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("expected REGISTRY/REPOSITORY[:TAG]"))?;
        let host = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
        let host_ok = (host.starts_with('[') && host.ends_with(']'))
            || (host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
                && host.starts_with(|c: char| c.is_ascii_alphanumeric()));
        if !host_ok
            || !(registry.contains('.') || registry.contains(':') || registry == "localhost")
        {
            return Err(bad("the first part must be a registry host, like ghcr.io"));
        }
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_owned())),
            _ => (path, None),
        };
        let repo_ok = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !repo_ok {
            return Err(bad(
                "a repository is lowercase letters, digits, `.`, `_`, `-` and `/`",
            ));
        }
        if let Some(t) = &tag
            && (t.is_empty()
                || t.len() > 128
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
        {
            return Err(bad("bad tag"));
        }
        Ok(Reference {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// `http` for a registry on loopback (as Docker treats them), else `https`.
    fn scheme(&self) -> &'static str {
        if is_loopback_authority(&self.registry) {
            "http"
        } else {
            "https"
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}://{}/v2/{}/{path}",
            self.scheme(),
            self.registry,
            self.repository
        )
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Whether `host[:port]` names this machine: `localhost` or a loopback address.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a registry call failed (one line).
#[derive(Debug, thiserror::Error)]
#[error("registry {registry}: {message}")]
pub struct RegistryError {
    registry: String,
    message: String,
}

/// User name and password for a registry.
#[derive(Clone)]
pub struct Credentials {
    user: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <hidden>)", self.user)
    }
}

/// Docker's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => crate::dirs::home().map(|h| h.join(".docker/config.json")),
    }
}

/// The credentials `docker login REGISTRY` stored for `registry` (the `auths` entries;
/// a credential helper is named in the error, as owbench does not run them).
pub fn docker_credentials(registry: &str) -> Result<Option<Credentials>, String> {
    let Some(path) = docker_config_path() else {
        return Ok(None);
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let host_of = |key: &str| {
        let key = key
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        key.split('/').next().unwrap_or(key).to_owned()
    };
    let entry = config["auths"]
        .as_object()
        .and_then(|auths| auths.iter().find(|(k, _)| host_of(k) == registry))
        .map(|(_, v)| v.clone());
    if let Some(auth) = entry.as_ref().and_then(|e| e["auth"].as_str()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                format!(
                    "{}: `auths.{registry}.auth` is not base64 of USER:PASSWORD",
                    path.display()
                )
            })?;
        let (user, password) = decoded.split_once(':').ok_or_else(|| {
            format!(
                "{}: `auths.{registry}.auth` is not USER:PASSWORD",
                path.display()
            )
        })?;
        return Ok(Some(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        }));
    }
    // A helper keeps this registry's credentials: named for it, or the default store
    // when `docker login` left an empty entry for it. Otherwise: anonymous.
    let helper = config["credHelpers"][registry].as_str().or_else(|| {
        entry
            .is_some()
            .then(|| config["credsStore"].as_str())
            .flatten()
    });
    match helper {
        Some(h) => Err(format!(
            "{} keeps the credentials of {registry} in the credential helper `docker-credential-{h}`, which owbench does not run; log in with `docker login` after removing `credsStore` or `credHelpers` from it",
            path.display()
        )),
        None => Ok(None),
    }
}

/// A client for one registry.
pub struct Registry {
    reference: Reference,
    http: reqwest::Client,
    credentials: Option<Credentials>,
    /// The `Authorization` header the registry accepted last.
    authorization: Mutex<Option<String>>,
    /// Wait before the second attempt (doubled for each further one).
    backoff: Duration,
}

impl Registry {
    /// A client for the registry of `reference`, logging in with `credentials`.
    pub fn new(reference: &Reference, credentials: Option<Credentials>) -> Registry {
        Registry {
            reference: reference.clone(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(300))
                .user_agent(concat!("owbench/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the HTTP client builds"),
            credentials,
            authorization: Mutex::new(None),
            backoff: Duration::from_millis(250),
        }
    }

    fn error(&self, message: impl Into<String>) -> RegistryError {
        RegistryError {
            registry: self.reference.registry.clone(),
            message: message.into(),
        }
    }

    /// Send the request `build` makes, logging in when the registry asks (Basic, or a
    /// bearer token from its realm) and retrying what a registry that went away or
    /// failed (5xx) did not answer; the response of a success or a 404.
    async fn send(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        self.send_counting(what, build, &mut 0).await
    }

    /// [`Registry::send`], counting its attempts in `attempt`, which a caller that also
    /// retries (a body cut off) shares: together they make at most [`ATTEMPTS`].
    async fn send_counting(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
        attempt: &mut u32,
    ) -> Result<Response, RegistryError> {
        let mut logged_in = false;
        loop {
            *attempt += 1;
            let tried = *attempt;
            let mut request = build(&self.http)
                .build()
                .map_err(|e| self.error(format!("{what}: {}", one_line(&e))))?;
            // Credentials go to the registry itself only (an upload may be sent
            // elsewhere, to storage that has its own signed URL).
            let to_registry = request.url().host_str().is_some_and(|h| {
                let authority = match request.url().port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_owned(),
                };
                authority == self.reference.registry
            });
            if to_registry && let Some(auth) = self.authorization.lock().expect("auth lock").clone()
            {
                request.headers_mut().insert(
                    header::AUTHORIZATION,
                    header::HeaderValue::from_str(&auth)
                        .map_err(|_| self.error(format!("{what}: a malformed token")))?,
                );
            }
            let retry = |e: String| -> Result<(), RegistryError> {
                if tried >= ATTEMPTS {
                    Err(self.error(format!("{what}: {e} (tried {ATTEMPTS} times)")))
                } else {
                    Ok(())
                }
            };
            let response = match self.http.execute(request).await {
                Ok(r) => r,
                Err(e) => {
                    retry(one_line(&e))?;
                    tokio::time::sleep(self.backoff * 2u32.pow(tried - 1)).await;
                    continue;
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !logged_in {
                let challenge = response
                    .headers()
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                self.log_in(what, &challenge).await?;
                logged_in = true;
                // Logging in is not a failed attempt.
                *attempt -= 1;
                continue;
            }
            if status.is_server_error() {
                retry(format!("{status}"))?;
                tokio::time::sleep(self.backoff * 2u32.pow(tried - 1)).await;
                continue;
            }
            if status.is_success() || status == StatusCode::NOT_FOUND {
                return Ok(response);
            }
            let detail = registry_message(response).await;
            let hint = match status {
                StatusCode::UNAUTHORIZED if self.credentials.is_none() => {
                    format!("; log in with `docker login {}`", self.reference.registry)
                }
                StatusCode::UNAUTHORIZED => " (the credentials were refused)".to_owned(),
                _ => String::new(),
            };
            return Err(self.error(format!("{what}: {status}{detail}{hint}")));
        }
    }

    /// Answer the registry's `WWW-Authenticate` challenge.
    async fn log_in(&self, what: &str, challenge: &str) -> Result<(), RegistryError> {
        let basic = self.credentials.as_ref().map(|c| {
            let pair = format!("{}:{}", c.user, c.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        let header = if scheme.eq_ignore_ascii_case("basic") {
            basic.ok_or_else(|| {
                self.error(format!(
                    "{what}: 401 Unauthorized; log in with `docker login {}`",
                    self.reference.registry
                ))
            })?
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let params = challenge_params(params);
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let realm = param("realm")
                .ok_or_else(|| self.error(format!("{what}: a Bearer challenge without a realm")))?;
            // The password goes only over TLS (or to this machine).
            let realm_ok = realm.starts_with("https://")
                || reqwest::Url::parse(&realm)
                    .is_ok_and(|u| u.host_str().is_some_and(is_loopback_authority));
            if !realm_ok {
                return Err(self.error(format!(
                    "{what}: the token service {realm} is not HTTPS; refusing to send credentials"
                )));
            }
            let mut token_request = self.http.get(&realm);
            let query: Vec<(&str, String)> =
                [("service", param("service")), ("scope", param("scope"))]
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .collect();
            token_request = token_request.query(&query);
            if let Some(b) = &basic {
                token_request = token_request.header(header::AUTHORIZATION, b);
            }
            let response = token_request
                .send()
                .await
                .map_err(|e| self.error(format!("token from {realm}: {}", one_line(&e))))?;
            if !response.status().is_success() {
                return Err(self.error(format!(
                    "token from {realm}: {}{}",
                    response.status(),
                    if self.credentials.is_none() {
                        format!("; log in with `docker login {}`", self.reference.registry)
                    } else {
                        String::new()
                    }
                )));
            }
            let body: serde_json::Value = response
                .json()
                .await
                .map_err(|e| self.error(format!("token from {realm}: {}", one_line(&e))))?;
            let token = body["token"]
                .as_str()
                .or_else(|| body["access_token"].as_str())
                .ok_or_else(|| self.error(format!("token from {realm}: no token in the answer")))?;
            format!("Bearer {token}")
        } else {
            return Err(self.error(format!(
                "{what}: 401 Unauthorized with an unknown challenge `{scheme}`"
            )));
        };
        *self.authorization.lock().expect("auth lock") = Some(header);
        Ok(())
    }

    /// Push `artifact` to the reference (tagged with its tag, else the package's
    /// version); the manifest's digest.
    pub async fn push(&self, artifact: &Artifact) -> Result<String, RegistryError> {
        let r = &self.reference;
        let image = artifact.image().map_err(|e| self.error(e.to_string()))?;
        if r.digest.is_some() {
            return Err(self.error(format!(
                "push to {r}: a push names a tag, not a digest (the digest is the package's)"
            )));
        }
        // OCI tags have no `+`: a version's build metadata is written with `_`, as
        // Docker does.
        let tag = r
            .tag
            .clone()
            .or_else(|| image.annotations.get(VERSION).map(|v| v.replace('+', "_")))
            .unwrap_or_else(|| "latest".into());
        for (digest, bytes) in &artifact.blobs {
            let what = format!("HEAD blob {digest}");
            let head = self
                .send(&what, |c| c.head(r.url(&format!("blobs/{digest}"))))
                .await?;
            if head.status().is_success() {
                continue;
            }
            let what = format!("upload of {digest}");
            let started = self
                .send(&what, |c| c.post(r.url("blobs/uploads/")))
                .await?;
            let location = started
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| self.error(format!("{what}: no Location for the upload")))?;
            let mut url = if location.starts_with('/') {
                format!("{}://{}{location}", r.scheme(), r.registry)
            } else {
                location.to_owned()
            };
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&format!("digest={digest}"));
            let body = bytes.clone();
            let done = self
                .send(&what, |c| {
                    c.put(&url)
                        .header(header::CONTENT_TYPE, "application/octet-stream")
                        .body(body.clone())
                })
                .await?;
            if done.status() == StatusCode::NOT_FOUND {
                return Err(self.error(format!("{what}: 404 Not Found")));
            }
        }
        let what = format!("PUT manifest {}:{tag}", r.repository);
        let manifest = artifact.manifest.clone();
        let put = self
            .send(&what, |c| {
                c.put(r.url(&format!("manifests/{tag}")))
                    .header(header::CONTENT_TYPE, IMAGE_MANIFEST)
                    .body(manifest.clone())
            })
            .await?;
        if put.status() == StatusCode::NOT_FOUND {
            return Err(self.error(format!("{what}: 404 Not Found")));
        }
        let digest = digest_of(&artifact.manifest);
        if let Some(said) = put
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            && said != digest
        {
            return Err(self.error(format!("{what}: the registry stored {said}, not {digest}")));
        }
        Ok(digest)
    }

    /// Pull the package at the reference into memory (every size bounded); check it
    /// with [`Artifact::open`].
    pub async fn pull(&self) -> Result<Artifact, RegistryError> {
        let r = &self.reference;
        let target = r
            .digest
            .clone()
            .or_else(|| r.tag.clone())
            .unwrap_or_else(|| "latest".into());
        let what = format!("GET manifest {}:{target}", r.repository);
        let manifest = self
            .fetch(
                &what,
                &r.url(&format!("manifests/{target}")),
                MAX_MANIFEST,
                true,
            )
            .await?;
        if let Some(d) = &r.digest {
            let actual = digest_of(&manifest);
            if actual != *d {
                return Err(self.error(format!("{what}: the manifest hashes to {actual}")));
            }
        }
        let image: ImageManifest = serde_json::from_slice(&manifest)
            .map_err(|e| self.error(format!("{what}: not an OCI image manifest: {e}")))?;
        let mut blobs = std::collections::BTreeMap::new();
        let mut total = 0u64;
        for d in std::iter::once(&image.config).chain(&image.layers) {
            if !is_digest(&d.digest) {
                return Err(self.error(format!(
                    "{what}: a descriptor names `{}`, not a sha256 digest",
                    d.digest.chars().take(80).collect::<String>()
                )));
            }
            total = total.saturating_add(d.size);
            if total > MAX_PACKAGE {
                return Err(self.error(format!(
                    "{what}: the package declares more than {} MiB",
                    MAX_PACKAGE >> 20
                )));
            }
            let what = format!("GET blob {}", d.digest);
            let bytes = self
                .fetch(&what, &r.url(&format!("blobs/{}", d.digest)), d.size, false)
                .await?;
            blobs.insert(d.digest.clone(), bytes);
        }
        Ok(Artifact { manifest, blobs })
    }

    /// The body at `url`, refused past `limit` bytes; a dropped connection or a short
    /// body is retried like a failed request.
    async fn fetch(
        &self,
        what: &str,
        url: &str,
        limit: u64,
        manifest: bool,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut attempt = 0;
        loop {
            let get = |c: &reqwest::Client| {
                let get = c.get(url);
                if manifest {
                    get.header(header::ACCEPT, IMAGE_MANIFEST)
                } else {
                    get
                }
            };
            let response = self.send_counting(what, get, &mut attempt).await?;
            if response.status() == StatusCode::NOT_FOUND {
                let detail = registry_message(response).await;
                return Err(self.error(format!("{what}: 404 Not Found{detail}")));
            }
            match read_limited(response, limit).await {
                Ok(bytes) => return Ok(bytes),
                Err(Body::TooLarge) => {
                    return Err(self.error(format!("{what}: more than the {limit} bytes declared")));
                }
                Err(Body::Broken(e)) if attempt < ATTEMPTS => {
                    tracing::debug!("{what}: {e}; retrying");
                    tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
                }
                Err(Body::Broken(e)) => {
                    return Err(self.error(format!("{what}: {e} (tried {ATTEMPTS} times)")));
                }
            }
        }
    }
}

enum Body {
    TooLarge,
    Broken(String),
}

async fn read_limited(mut response: Response, limit: u64) -> Result<Vec<u8>, Body> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(Body::TooLarge);
    }
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (bytes.len() + chunk.len()) as u64 > limit {
                    return Err(Body::TooLarge);
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(bytes),
            Err(e) => return Err(Body::Broken(one_line(&e))),
        }
    }
}

/// The registry's own error message, if its body has one (` (message)`).
async fn registry_message(response: Response) -> String {
    let Ok(body) = response.json::<serde_json::Value>().await else {
        return String::new();
    };
    body["errors"][0]["message"]
        .as_str()
        .map(|m| {
            let line: String = m
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(200)
                .collect();
            format!(" ({line})")
        })
        .unwrap_or_default()
}

/// The `key=value` parameters of a `WWW-Authenticate` challenge; values may be quoted
/// strings holding commas (`scope="repository:a/b:pull,push"`).
fn challenge_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, next)) = chars.next() {
                            value.push(next);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        params.push((key, value));
        rest = tail.trim_start().trim_start_matches(',');
    }
    params
}

/// An error and its causes on one line.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let cause = s.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = s.source();
    }
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_with_quoted_commas_parse() {
        let p = challenge_params(
            r#"realm="https://auth.example.com/token",service="registry.example.com",scope="repository:me/x:pull,push""#,
        );
        assert_eq!(
            p,
            [
                (
                    "realm".to_owned(),
                    "https://auth.example.com/token".to_owned()
                ),
                ("service".to_owned(), "registry.example.com".to_owned()),
                ("scope".to_owned(), "repository:me/x:pull,push".to_owned()),
            ]
        );
        assert!(is_loopback_authority("127.0.0.1:5000"));
        assert!(is_loopback_authority("[::1]:5000"));
        assert!(is_loopback_authority("localhost"));
        assert!(!is_loopback_authority("127.corp.example:5000"));
    }

    #[test]
    fn references_parse_and_print_back() {
        for text in [
            "127.0.0.1:5000/owbench/hello:0.1.0",
            "ghcr.io/someone/plugins/aws-ec2",
            "localhost/x@sha256:0123456789012345678901234567890123456789012345678901234567890123",
        ] {
            assert_eq!(Reference::parse(text).unwrap().to_string(), text);
        }
        let r = Reference::parse("localhost:5000/a/b:1.2").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("localhost:5000", "a/b")
        );
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert_eq!(r.scheme(), "http");
        assert_eq!(Reference::parse("ghcr.io/a").unwrap().scheme(), "https");
        for bad in [
            "hello",
            "./plugins/hello",
            "noregistry/x",
            "ghcr.io/UPPER",
            "ghcr.io/a@md5:00",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
