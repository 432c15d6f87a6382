//! Oracle Cloud: the API signing key from the user's `~/.oci/config`, and OCI's HTTP
//! signature (draft-cavage `Signature` header, RSA-SHA256 PKCS#1 v1.5) on every request
//! a provider plugin sends to an allowed host.
//!
//! What is signed follows the official SDKs: `date (request-target) host` for every
//! request, and also `content-length content-type x-content-sha256` for `POST`, `PUT` and
//! `PATCH`, except an Object Storage object upload (`PUT /n/NS/b/BUCKET/o/NAME`), whose
//! body is not hashed (the SDKs' `put_object` signs the first three only).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, DATE, HOST, HeaderValue};
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use sha2::Digest as _;

use owbench_plugin::policy::RequestSigner;

/// The header that carries the body's SHA-256 (base64).
const CONTENT_SHA256: &str = "x-content-sha256";

/// Signs with the user's OCI API key.
pub struct OciSigner {
    key_id: String,
    key: RsaKeyPair,
}

impl std::fmt::Debug for OciSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OciSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The values of one profile of an OCI config file that signing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciProfile {
    /// The tenancy's OCID.
    pub tenancy: String,
    /// The user's OCID.
    pub user: String,
    /// The fingerprint of the API key, as the console shows it.
    pub fingerprint: String,
    /// The PEM file of the private key.
    pub key_file: PathBuf,
    /// The profile's region, if it names one.
    pub region: Option<String>,
}

impl OciProfile {
    /// Profile `profile` of the OCI config file `text` (read from `path`, named in
    /// errors). Keys of `[DEFAULT]` apply to every profile that does not set them, as
    /// in the SDKs; `~` in `key_file` is the home directory.
    pub fn parse(text: &str, path: &Path, profile: &str) -> anyhow::Result<OciProfile> {
        let ini = ini::Ini::load_from_str(text)
            .map_err(|e| anyhow::anyhow!("{} is not an OCI config file: {e}", path.display()))?;
        let get = |key: &str| {
            ini.section(Some(profile))
                .and_then(|s| s.get(key))
                .or_else(|| ini.section(Some("DEFAULT")).and_then(|s| s.get(key)))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        if ini.section(Some(profile)).is_none() {
            anyhow::bail!(
                "{} has no profile [{profile}] (OCI_CLI_PROFILE picks one)",
                path.display()
            );
        }
        let need = |key: &str| {
            get(key).map(str::to_owned).with_context(|| {
                format!(
                    "profile [{profile}] of {} has no `{key}` (an OCI API key profile needs user, fingerprint, tenancy and key_file)",
                    path.display()
                )
            })
        };
        if get("pass_phrase").is_some() {
            anyhow::bail!(
                "profile [{profile}] of {}: keys with a pass_phrase are not supported; decrypt the key (`openssl rsa -in KEY -out KEY.plain`) and point key_file at it",
                path.display()
            );
        }
        let (tenancy, user, fingerprint) = (need("tenancy")?, need("user")?, need("fingerprint")?);
        let key_file = owbench_plugin::dirs::expand_home(Path::new(&need("key_file")?));
        Ok(OciProfile {
            tenancy,
            user,
            fingerprint,
            key_file,
            region: get("region").map(str::to_owned),
        })
    }
}

impl OciSigner {
    /// A signer for `key_id` (`TENANCY/USER/FINGERPRINT`) with the RSA key in `pem`
    /// (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    pub fn new(key_id: String, pem: &[u8]) -> Result<OciSigner, String> {
        let der = PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => {
                "no unencrypted PEM private key in it (an encrypted key must be decrypted first)"
                    .to_owned()
            }
            other => format!("not a PEM private key: {other}"),
        })?;
        let key = match &der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => return Err("not an RSA private key (OCI API keys are RSA)".into()),
        }
        .map_err(|e| format!("not a usable RSA private key: {e}"))?;
        Ok(OciSigner { key_id, key })
    }

    /// The signer of `profile`, its key read from its `key_file`.
    pub fn from_profile(profile: &OciProfile) -> anyhow::Result<OciSigner> {
        let pem = std::fs::read(&profile.key_file).with_context(|| {
            format!(
                "cannot read the OCI API key {} (key_file of ~/.oci/config)",
                profile.key_file.display()
            )
        })?;
        let key_id = format!(
            "{}/{}/{}",
            profile.tenancy, profile.user, profile.fingerprint
        );
        OciSigner::new(key_id, &pem)
            .map_err(|e| anyhow::anyhow!("OCI API key {}: {e}", profile.key_file.display()))
    }

    /// The signer of the user's configuration: the file `OCI_CONFIG_FILE` names (else
    /// `~/.oci/config`), profile `OCI_CLI_PROFILE` (else `DEFAULT`).
    pub fn from_user_config() -> anyhow::Result<OciSigner> {
        let path = match std::env::var_os("OCI_CONFIG_FILE") {
            Some(path) => PathBuf::from(path),
            None => owbench_plugin::dirs::home()
                .context("no home directory to find ~/.oci/config in (HOME is not set)")?
                .join(".oci/config"),
        };
        let profile = std::env::var("OCI_CLI_PROFILE").unwrap_or_else(|_| "DEFAULT".into());
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no usable OCI credentials: cannot read {} (create it with `oci setup config`, or set OCI_CONFIG_FILE)",
                path.display()
            )
        })?;
        OciSigner::from_profile(&OciProfile::parse(&text, &path, &profile)?)
    }

    /// The key id the signer signs as (`TENANCY/USER/FINGERPRINT`; not secret).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// Whether the signature of `parts` covers its body: `POST`, `PUT` and `PATCH`, but not
/// an object upload.
fn signs_body(parts: &http::request::Parts) -> bool {
    let method = &parts.method;
    let writes = method == http::Method::POST
        || method == http::Method::PUT
        || method == http::Method::PATCH;
    writes && !(method == http::Method::PUT && is_object_path(parts.uri.path()))
}

/// `/n/NAMESPACE/b/BUCKET/o/OBJECT`: an Object Storage object.
fn is_object_path(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').splitn(6, '/');
    matches!(
        (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ),
        (Some("n"), Some(_), Some("b"), Some(_), Some("o"), Some(name)) if !name.is_empty()
    )
}

fn header_text<'a>(parts: &'a http::request::Parts, name: &str) -> Result<&'a str, String> {
    parts
        .headers
        .get(name)
        .ok_or_else(|| format!("the request has no `{name}` header"))?
        .to_str()
        .map_err(|_| format!("the `{name}` header is not text"))
}

impl RequestSigner for OciSigner {
    fn needs_body(&self, parts: &http::request::Parts) -> bool {
        signs_body(parts) && !parts.headers.contains_key(CONTENT_SHA256)
    }

    fn sign(&self, parts: &mut http::request::Parts, body: Option<&[u8]>) -> Result<(), String> {
        // Whatever the plugin put there is replaced.
        parts.headers.remove(AUTHORIZATION);
        if !parts.headers.contains_key(DATE) {
            let now = httpdate::fmt_http_date(std::time::SystemTime::now());
            parts.headers.insert(DATE, header_value(&now)?);
        }
        if !parts.headers.contains_key(HOST) {
            let authority = parts
                .uri
                .authority()
                .ok_or("the request URL has no host")?
                .to_string();
            parts.headers.insert(HOST, header_value(&authority)?);
        }
        parts
            .headers
            .entry(CONTENT_TYPE)
            .or_insert(HeaderValue::from_static("application/json"));
        let mut names = vec!["date", "(request-target)", "host"];
        if signs_body(parts) {
            if !parts.headers.contains_key(CONTENT_SHA256) {
                let body = body.ok_or("the request body was not read")?;
                let hash =
                    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body));
                parts.headers.insert(CONTENT_SHA256, header_value(&hash)?);
                parts.headers.insert(CONTENT_LENGTH, body.len().into());
            }
            names.extend(["content-length", "content-type", CONTENT_SHA256]);
        }
        let target = format!(
            "{} {}",
            parts.method.as_str().to_ascii_lowercase(),
            parts.uri.path_and_query().map_or("/", |p| p.as_str())
        );
        let mut signing_string = String::new();
        for name in &names {
            let value = match *name {
                "(request-target)" => target.as_str(),
                name => header_text(parts, name)?,
            };
            if !signing_string.is_empty() {
                signing_string.push('\n');
            }
            signing_string.push_str(name);
            signing_string.push_str(": ");
            signing_string.push_str(value);
        }
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_string.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "RSA signing failed".to_owned())?;
        let authorization = format!(
            "Signature algorithm=\"rsa-sha256\",headers=\"{}\",keyId=\"{}\",signature=\"{}\",version=\"1\"",
            names.join(" "),
            self.key_id,
            base64::engine::general_purpose::STANDARD.encode(signature)
        );
        let mut value = header_value(&authorization)?;
        value.set_sensitive(true);
        parts.headers.insert(AUTHORIZATION, value);
        Ok(())
    }

    fn presign(&self, _url: &str) -> Result<String, String> {
        Err("OCI has no presigned URLs: create a pre-authenticated request (an API call the host signs) instead".into())
    }
}

fn header_value(text: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(text).map_err(|_| format!("`{text}` is not a valid header value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_uploads_are_told_from_other_writes() {
        assert!(is_object_path("/n/ns/b/bucket/o/data/file.bin"));
        assert!(!is_object_path("/n/ns/b/bucket/o/"));
        assert!(!is_object_path("/n/ns/b/bucket/p/"));
        assert!(!is_object_path("/20160918/instances/"));
    }

    #[test]
    fn profiles_inherit_default_and_name_what_is_missing() {
        let text = "[DEFAULT]\ntenancy=ocid1.tenancy.oc1..t\nregion = eu-frankfurt-1\n\n[bench]\nuser=ocid1.user.oc1..u\nfingerprint=aa:bb\nkey_file=/k.pem\n";
        let path = Path::new("/home/u/.oci/config");
        let p = OciProfile::parse(text, path, "bench").unwrap();
        assert_eq!(p.tenancy, "ocid1.tenancy.oc1..t");
        assert_eq!(p.region.as_deref(), Some("eu-frankfurt-1"));
        assert_eq!(p.key_file, PathBuf::from("/k.pem"));
        let e = OciProfile::parse(text, path, "DEFAULT").unwrap_err();
        assert!(e.to_string().contains("has no `user`"), "{e}");
        let e = OciProfile::parse(text, path, "nope").unwrap_err();
        assert!(e.to_string().contains("no profile [nope]"), "{e}");
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused() {
        let e = OciSigner::new("t/u/f".into(), b"not a key").unwrap_err();
        assert!(e.contains("no unencrypted PEM private key"), "{e}");
    }
}
