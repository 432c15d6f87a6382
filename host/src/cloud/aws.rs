//! AWS: credentials from the user's standard configuration (the `AWS_*` environment
//! variables, else the profile `AWS_PROFILE` names in `~/.aws/credentials` and
//! `~/.aws/config`), and SigV4 re-signing with `aws-sigv4`.
//!
//! The shared files are read here with `rust-ini` (which reads `~/.oci/config` too), not
//! with `aws-config`: its profile provider brings the STS client and the Smithy runtime
//! (about two CPU-minutes of every cold build) for a few INI keys. Profiles that get
//! their keys from SSO, a role or a process are named in a one-line error that says how
//! to export static keys.
//!
//! The region and service of a request are those the plugin signed it for (its
//! `Authorization` scope), so a loopback endpoint such as moto's signs the same way as
//! AWS's own hosts.

use std::borrow::Cow;
use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use http::header::{AUTHORIZATION, HeaderValue};

use owbench_plugin::policy::RequestSigner;

/// The header that carries S3's payload hash.
const CONTENT_SHA256: &str = "x-amz-content-sha256";
/// The query parameters of a SigV4 presigned URL.
const PRESIGN_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// Where the keys are when none are set: the hint every "no credentials" error ends with.
const HOW_TO_SET: &str = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put keys in a profile of ~/.aws/credentials (AWS_PROFILE picks it)";

/// The user's credentials: the environment, else profile `AWS_PROFILE` (or `default`)
/// of the credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`)
/// and the config file (`AWS_CONFIG_FILE`, else `~/.aws/config`).
fn user_credentials() -> Result<Credentials, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        let token = var("AWS_SESSION_TOKEN");
        return Ok(Credentials::new(id, secret, token, None, "environment"));
    }
    let home = owbench_plugin::dirs::home();
    let file = |var_name: &str, in_home: &str| {
        var(var_name)
            .map(|p| owbench_plugin::dirs::expand_home(Path::new(&p)))
            .or_else(|| home.as_ref().map(|h| h.join(in_home)))
    };
    let mut files = Vec::new();
    let mut looked = Vec::new();
    for (path, kind) in [
        (
            file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
            SharedFile::Credentials,
        ),
        (file("AWS_CONFIG_FILE", ".aws/config"), SharedFile::Config),
    ] {
        let Some(path) = path else { continue };
        looked.push(path.display().to_string());
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((path, text, kind)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
    }
    if files.is_empty() {
        return Err(format!("{HOW_TO_SET} (no {})", looked.join(" or ")));
    }
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let files: Vec<_> = files
        .iter()
        .map(|(path, text, kind)| (path.as_path(), text.as_str(), *kind))
        .collect();
    profile_credentials(&files, &profile)
}

/// Which shared file a text came from: they name profiles differently.
#[derive(Debug, Clone, Copy)]
enum SharedFile {
    /// `~/.aws/credentials`: `[NAME]`.
    Credentials,
    /// `~/.aws/config`: `[profile NAME]`, and `[default]` for the default profile.
    Config,
}

/// The static keys of `profile` in the shared files `files` (path, text, kind), the
/// credentials file's keys before the config file's, as the SDKs merge them.
fn profile_credentials(
    files: &[(&Path, &str, SharedFile)],
    profile: &str,
) -> Result<Credentials, String> {
    let mut sections = Vec::new();
    for (path, text, kind) in files {
        // The SDKs' grammar: no quotes or escapes, and comments after a section header
        // or after whitespace in a value.
        let options = ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..ini::ParseOption::default()
        };
        let ini = ini::Ini::load_from_str_opt(&strip_comments(text), options)
            .map_err(|e| format!("{} is not an AWS shared file: {e}", path.display()))?;
        let names = match kind {
            SharedFile::Credentials => vec![profile.to_owned()],
            SharedFile::Config if profile == "default" => {
                vec!["profile default".to_owned(), "default".to_owned()]
            }
            SharedFile::Config => vec![format!("profile {profile}")],
        };
        // `[profile  lab]` and `[ profile lab ]` name profile `lab` too, as in the SDKs.
        sections.extend(names.iter().filter_map(|name| {
            ini.iter()
                .find(|(section, _)| {
                    section.is_some_and(|s| s.split_whitespace().eq(name.split(' ')))
                })
                .map(|(_, properties)| properties.clone())
        }));
    }
    if sections.is_empty() {
        let paths: Vec<String> = files
            .iter()
            .map(|(p, _, _)| p.display().to_string())
            .collect();
        return Err(format!(
            "{HOW_TO_SET} (no profile `{profile}` in {})",
            paths.join(" or ")
        ));
    }
    let get = |key: &str| {
        sections
            .iter()
            .find_map(|s| s.get(key))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    for key in [
        "sso_session",
        "sso_start_url",
        "role_arn",
        "credential_process",
        "login_session",
    ] {
        if get(key).is_some() {
            return Err(format!(
                "profile `{profile}` gets its keys through `{key}`, which owbench does not follow: export static keys first (`eval \"$(aws configure export-credentials --profile {profile} --format env)\"`)"
            ));
        }
    }
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Credentials::new(
            id,
            secret,
            get("aws_session_token"),
            None,
            "profile",
        )),
        _ => Err(format!(
            "{HOW_TO_SET} (profile `{profile}` has no aws_access_key_id and aws_secret_access_key)"
        )),
    }
}

/// `text` without the comments the AWS SDKs allow beyond whole-line ones: anything after
/// a section header's `]`, and a `#` or `;` after whitespace in a property line.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        let kept = if trimmed.starts_with('[') {
            trimmed.find(']').map_or(trimmed, |end| &trimmed[..=end])
        } else if trimmed.starts_with(['#', ';']) {
            ""
        } else {
            let cut = line
                .char_indices()
                .find(|&(i, c)| (c == '#' || c == ';') && line[..i].ends_with(char::is_whitespace))
                .map_or(line.len(), |(i, _)| i);
            line[..cut].trim_end()
        };
        out.push_str(kept);
        out.push('\n');
    }
    out
}

/// Signs with the user's AWS credentials.
pub struct AwsSigner {
    credentials: Credentials,
}

impl std::fmt::Debug for AwsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials' own Debug redacts the secret; say only whose keys these are.
        f.debug_struct("AwsSigner")
            .field("access_key_id", &self.credentials.access_key_id())
            .finish()
    }
}

impl AwsSigner {
    /// A signer with these credentials.
    pub fn new(credentials: Credentials) -> AwsSigner {
        AwsSigner { credentials }
    }

    /// Credentials from the user's standard AWS configuration: the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), else the
    /// profile `AWS_PROFILE` names (or `default`) in the shared files.
    pub fn from_user_config() -> anyhow::Result<AwsSigner> {
        user_credentials()
            .map(AwsSigner::new)
            .map_err(|e| anyhow::anyhow!("no usable AWS credentials: {e}"))
    }

    /// The access key id (not secret) the signer signs as.
    pub fn access_key_id(&self) -> &str {
        self.credentials.access_key_id()
    }

    fn settings(service: &str) -> SigningSettings {
        let mut settings = SigningSettings::default();
        if service == "s3" {
            // S3 signs the path as sent: no double encoding, no normalization.
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        }
        settings
    }

    fn sign_with(
        &self,
        request: SignableRequest<'_>,
        region: &str,
        service: &str,
        settings: SigningSettings,
    ) -> Result<aws_sigv4::http_request::SigningInstructions, String> {
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let (instructions, _) = sign(request, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        Ok(instructions)
    }
}

/// The region and service of a SigV4 credential scope `KEY/DATE/REGION/SERVICE/aws4_request`.
fn scope(credential: &str) -> Option<(&str, &str)> {
    let mut parts = credential.split('/');
    let (_key, _date) = (parts.next()?, parts.next()?);
    let (region, service) = (parts.next()?, parts.next()?);
    (parts.next()? == "aws4_request" && parts.next().is_none()).then_some((region, service))
}

/// The credential scope of a SigV4 `Authorization` header.
fn header_scope(authorization: &str) -> Option<(&str, &str)> {
    authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")?
        .split(',')
        .find_map(|p| p.trim().strip_prefix("Credential="))
        .and_then(scope)
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl RequestSigner for AwsSigner {
    fn needs_body(&self, parts: &http::request::Parts) -> bool {
        parts.headers.contains_key(AUTHORIZATION) && !parts.headers.contains_key(CONTENT_SHA256)
    }

    fn sign(&self, parts: &mut http::request::Parts, body: Option<&[u8]>) -> Result<(), String> {
        let Some(authorization) = parts.headers.get(AUTHORIZATION) else {
            return Ok(());
        };
        let authorization = authorization
            .to_str()
            .map_err(|_| "the Authorization header is not text".to_owned())?;
        let (region, service) = header_scope(authorization)
            .map(|(r, s)| (r.to_owned(), s.to_owned()))
            .ok_or("the plugin's Authorization header is not a SigV4 signature")?;
        // The plugin's signature goes; its payload hash (S3) stays, signed over again.
        for name in [AUTHORIZATION.as_str(), "x-amz-date", "x-amz-security-token"] {
            parts.headers.remove(name);
        }
        let payload = parts
            .headers
            .get(CONTENT_SHA256)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = match (payload.as_deref(), body) {
            (Some("UNSIGNED-PAYLOAD"), _) => SignableBody::UnsignedPayload,
            (Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER"), _) => {
                SignableBody::StreamingUnsignedPayloadTrailer
            }
            (Some(hash), _) if is_sha256_hex(hash) => SignableBody::Precomputed(hash.to_owned()),
            (Some(other), _) => {
                return Err(format!(
                    "a payload signed as `{other}` cannot be re-signed (its chunks carry the plugin's signatures)"
                ));
            }
            (None, Some(bytes)) => SignableBody::Bytes(bytes),
            (None, None) => return Err("the request body was not read".into()),
        };
        let uri = parts.uri.to_string();
        let headers: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(parts.method.as_str(), uri, headers.into_iter(), body)
            .map_err(|e| e.to_string())?;
        let instructions = self.sign_with(signable, &region, &service, Self::settings(&service))?;
        let (headers, _) = instructions.into_parts();
        for header in headers {
            let mut value = HeaderValue::from_str(header.value()).map_err(|e| e.to_string())?;
            value.set_sensitive(header.sensitive());
            parts.headers.insert(header.name(), value);
        }
        Ok(())
    }

    fn presign(&self, url: &str) -> Result<String, String> {
        let mut parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        let query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let (region, service) = get("X-Amz-Credential")
            .and_then(scope)
            .map(|(r, s)| (r.to_owned(), s.to_owned()))
            .ok_or("not a SigV4 presigned URL (no X-Amz-Credential scope)")?;
        let expires: u64 = get("X-Amz-Expires")
            .and_then(|v| v.parse().ok())
            .ok_or("not a SigV4 presigned URL (no X-Amz-Expires)")?;
        // The URL without the plugin's signature, its other parameters kept in order.
        parsed.query_pairs_mut().clear();
        for (k, v) in query
            .iter()
            .filter(|(k, _)| !PRESIGN_PARAMS.contains(&k.as_str()))
        {
            parsed.query_pairs_mut().append_pair(k, v);
        }
        if parsed.query() == Some("") {
            parsed.set_query(None);
        }
        let mut settings = Self::settings(&service);
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
        let signable = SignableRequest::new(
            "GET",
            parsed.as_str(),
            std::iter::empty(),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| e.to_string())?;
        let instructions = self.sign_with(signable, &region, &service, settings)?;
        let (_, params) = instructions.into_parts();
        for (name, value) in params {
            parsed
                .query_pairs_mut()
                .append_pair(name, &Cow::into_owned(value));
        }
        Ok(parsed.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> AwsSigner {
        AwsSigner::new(Credentials::new(
            "AKIDREAL",
            "real-secret",
            None,
            None,
            "test",
        ))
    }

    fn keys(files: &[(&str, SharedFile)], profile: &str) -> Result<(String, String), String> {
        let files: Vec<_> = files
            .iter()
            .map(|(text, kind)| (Path::new("/home/u/.aws/f"), *text, *kind))
            .collect();
        profile_credentials(&files, profile).map(|c| {
            let token = c.session_token().unwrap_or("-").to_owned();
            (c.access_key_id().to_owned(), token)
        })
    }

    #[test]
    fn profiles_are_read_as_the_sdks_merge_the_two_shared_files() {
        let credentials = "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = s\n\
                           [work]\naws_access_key_id = AKWORK\naws_secret_access_key = s\n";
        let config = "[default]\nregion = eu-west-1\n\
                      [profile lab]\naws_access_key_id = AKLAB\naws_secret_access_key = s\n\
                      aws_session_token = T\n";
        let both = [
            (credentials, SharedFile::Credentials),
            (config, SharedFile::Config),
        ];
        assert_eq!(
            keys(&both, "default").unwrap(),
            ("AKDEF".into(), "-".into())
        );
        assert_eq!(keys(&both, "work").unwrap().0, "AKWORK");
        // The config file names profiles `[profile NAME]`; keys may live there too.
        assert_eq!(keys(&both, "lab").unwrap(), ("AKLAB".into(), "T".into()));
        // `[lab]` in the config file is not profile `lab`.
        let bare = [(
            "[lab]\naws_access_key_id = A\naws_secret_access_key = s\n",
            SharedFile::Config,
        )];
        assert!(keys(&bare, "lab").unwrap_err().contains("no profile `lab`"));
        // Extra whitespace in a header does not change the profile it names.
        let spaced = [(
            "[ profile \t lab ]\naws_access_key_id = AKSP\naws_secret_access_key = s\n",
            SharedFile::Config,
        )];
        assert_eq!(keys(&spaced, "lab").unwrap().0, "AKSP");
    }

    #[test]
    fn a_profile_without_static_keys_says_what_to_do() {
        let err = keys(
            &[("[default]\nregion = x\n", SharedFile::Config)],
            "default",
        );
        assert!(err.unwrap_err().contains("has no aws_access_key_id"));
        let sso = "[profile dev]\nsso_session = corp\nsso_account_id = 1\n";
        let err = keys(&[(sso, SharedFile::Config)], "dev").unwrap_err();
        assert!(err.contains("`sso_session`"), "{err}");
        assert!(
            err.contains("aws configure export-credentials --profile dev"),
            "{err}"
        );
        let err = keys(
            &[("[default\naws_access_key_id = x\n", SharedFile::Credentials)],
            "default",
        );
        assert!(err.unwrap_err().contains("is not an AWS shared file"));
        assert!(
            keys(&[], "default")
                .unwrap_err()
                .contains("no profile `default`")
        );
    }

    #[test]
    fn comments_after_headers_and_values_are_not_part_of_them() {
        let text = "[default] # mine\naws_access_key_id = AKID ; rotated in May\n\
                    aws_secret_access_key = s#not-a-comment\n# a whole line\n";
        let files = [(Path::new("/c"), text, SharedFile::Credentials)];
        let credentials = profile_credentials(&files, "default").unwrap();
        assert_eq!(credentials.access_key_id(), "AKID");
        assert_eq!(credentials.secret_access_key(), "s#not-a-comment");
        // `[profile default]` wins over `[default]` in the config file, as in the SDKs.
        let config = "[default]\naws_access_key_id = A\naws_secret_access_key = s\n\
                      [profile default]\naws_access_key_id = B\naws_secret_access_key = s\n";
        assert_eq!(
            keys(&[(config, SharedFile::Config)], "default").unwrap().0,
            "B"
        );
    }

    #[test]
    fn scopes_come_from_the_plugins_signature() {
        let auth = "AWS4-HMAC-SHA256 Credential=PLACEHOLDER/20261123/eu-west-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(header_scope(auth), Some(("eu-west-1", "ec2")));
        assert_eq!(header_scope("Basic abc"), None);
        assert_eq!(scope("K/D/r/s/aws4_request/x"), None);
    }

    #[test]
    fn a_request_is_re_signed_with_the_hosts_key_and_keeps_its_payload_hash() {
        let request = http::Request::post("http://127.0.0.1:5000/bucket/key")
            .header("host", "127.0.0.1:5000")
            .header(
                AUTHORIZATION,
                "AWS4-HMAC-SHA256 Credential=PLACEHOLDER/20261123/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
            )
            .header("x-amz-date", "20261123T000000Z")
            .header("x-amz-security-token", "placeholder-token")
            .header(CONTENT_SHA256, "UNSIGNED-PAYLOAD")
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        let s = signer();
        assert!(!s.needs_body(&parts));
        s.sign(&mut parts, None).unwrap();
        let auth = parts.headers[AUTHORIZATION].to_str().unwrap();
        assert!(auth.contains("Credential=AKIDREAL/"), "{auth}");
        assert!(auth.contains("/us-east-1/s3/aws4_request"), "{auth}");
        assert!(!parts.headers.contains_key("x-amz-security-token"));
        assert_eq!(parts.headers[CONTENT_SHA256], "UNSIGNED-PAYLOAD");
    }

    #[test]
    fn an_unsigned_request_is_left_alone_and_a_foreign_signature_refused() {
        let (mut parts, ()) = http::Request::get("https://example.com/")
            .body(())
            .unwrap()
            .into_parts();
        signer().sign(&mut parts, None).unwrap();
        assert!(!parts.headers.contains_key(AUTHORIZATION));
        parts
            .headers
            .insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert!(signer().sign(&mut parts, Some(b"")).is_err());
    }

    #[test]
    fn a_presigned_url_gets_the_hosts_signature_and_keeps_its_expiry() {
        let url = "http://127.0.0.1:5000/bucket/key?x-id=GetObject&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=PLACEHOLDER%2F20261123%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261123T000000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        let signed = signer().presign(url).unwrap();
        assert!(
            signed.starts_with("http://127.0.0.1:5000/bucket/key?x-id=GetObject&"),
            "{signed}"
        );
        assert!(signed.contains("X-Amz-Credential=AKIDREAL%2F"), "{signed}");
        assert!(signed.contains("X-Amz-Expires=600"), "{signed}");
        assert!(!signed.contains("PLACEHOLDER"), "{signed}");
        assert_eq!(signed.matches("X-Amz-Signature=").count(), 1);
        assert!(signer().presign("http://h/no-signature").is_err());
    }
}
