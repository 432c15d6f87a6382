//! The secrets the host makes for each cluster an installer sets up ([`SECRETS`]): fresh
//! OpenWhisk keys, never the published defaults, and a TLS certificate that clients pin.
//! They go into the nodes' user data (which the provider plugin hands to the cloud, as it
//! must) and the state file (its owner's only); never into the installer plugin.

use std::collections::BTreeMap;

use rand::Rng as _;
use rand::distr::Alphanumeric;

use super::install::SECRETS;

/// A fresh OpenWhisk key, `UUID:KEY` as OpenWhisk makes them: a random (version 4) UUID
/// and 64 letters and digits, from `rand`'s thread generator (ChaCha12, seeded and
/// reseeded by the operating system).
pub fn openwhisk_key() -> String {
    let uuid = uuid::Builder::from_random_bytes(rand::rng().random()).into_uuid();
    format!("{uuid}:{}", alphanumerics(64))
}

/// `n` fresh letters and digits.
fn alphanumerics(n: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// Every secret of cluster `id`, by name.
pub fn generate(id: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let cert = crate::tls::cluster_certificate(id)?;
    let secrets = BTreeMap::from([
        ("db-password".to_owned(), alphanumerics(64)),
        ("guest-key".to_owned(), openwhisk_key()),
        ("join-token".to_owned(), alphanumerics(64)),
        ("system-key".to_owned(), openwhisk_key()),
        ("tls-cert".to_owned(), cert.cert_pem),
        ("tls-key".to_owned(), cert.key_pem),
    ]);
    debug_assert!(secrets.keys().eq(SECRETS.iter().copied()));
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_uuid_colon_64_alphanumerics() {
        let a = openwhisk_key();
        let (uuid, key) = a.split_once(':').unwrap();
        let uuid = uuid::Uuid::parse_str(uuid).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(key.len(), 64);
        assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, openwhisk_key());
        // Never OpenWhisk's published guest key.
        assert!(!a.starts_with("23bc46b1-71f6-4ed5-8c54-816aa4f8c502"));
    }

    #[test]
    fn every_secret_is_made_and_the_certificate_serves() {
        let s = generate("ow-test-123abc").unwrap();
        assert_eq!(s.keys().collect::<Vec<_>>(), SECRETS);
        assert!(s["tls-cert"].starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(s["tls-key"].starts_with("-----BEGIN PRIVATE KEY-----"));
        for shared in ["join-token", "db-password"] {
            assert_eq!(s[shared].len(), 64);
            assert!(s[shared].bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        assert_ne!(s["join-token"], s["db-password"]);
        crate::tls::server(s["tls-cert"].as_bytes(), s["tls-key"].as_bytes()).unwrap();
        crate::tls::pinned_client(crate::tls::parse_certificate(&s["tls-cert"]).unwrap()).unwrap();
    }
}
