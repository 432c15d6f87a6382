//! Outbound HTTP policy: which hosts a plugin may reach, in Spin's
//! `allowed_outbound_hosts` grammar, enforced in the `wasi:http` send hook.
//!
//! An entry is `scheme://host[:port]`: `scheme` is `http`, `https` or `*`; `host` is a
//! name, an IP address, `*.domain` (any subdomain) or `*`; `port` is a number or `*`
//! (omitted: the scheme's default). `{{ name }}` stands for the origin of the URL in the
//! call's parameter `name`, so a download workload can reach the URL it is given and
//! nothing else.
//!
//! Matching names is not enough: a public-looking name may resolve to loopback, a private
//! range or the cloud's metadata service (169.254.169.254, where a cloud machine's own
//! credentials are). So every connection resolves the host itself, refuses such addresses
//! unless granted, and connects to the very address it checked (a name that resolves
//! public first and private later, DNS rebinding, is checked again on each connection).
//! Granted are: addresses a rule names literally (`http://127.0.0.1:8080`), endpoints
//! the host adds itself (a provider's endpoint override, the loopback endpoints `owbench
//! bench` starts), and everything when the user grants `private-networks`.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use http::Uri;
use wasmtime_wasi_http::{WasiBody, WasiHttpHooks};

use crate::outbound::SendError;

/// One `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRule {
    /// A fixed pattern.
    Pattern(HostPattern),
    /// `{{ name }}`: the origin of the URL in parameter `name`.
    Param(String),
}

/// A parsed `scheme://host[:port]` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    scheme: Option<String>,
    host: String,
    port: Option<u16>,
}

impl HostRule {
    /// Parse one entry; the error says what is wrong with it.
    pub fn parse(entry: &str) -> Result<HostRule, String> {
        let trimmed = entry.trim();
        if let Some(inner) = trimmed
            .strip_prefix("{{")
            .and_then(|r| r.strip_suffix("}}"))
        {
            let name = inner.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err("a template must name a parameter, like `{{ url }}`".into());
            }
            return Ok(HostRule::Param(name.to_owned()));
        }
        HostPattern::parse(trimmed).map(HostRule::Pattern)
    }
}

impl std::fmt::Display for HostRule {
    /// The entry in `allowed_outbound_hosts` form (parses back to the same rule).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostRule::Param(name) => write!(f, "{{{{ {name} }}}}"),
            HostRule::Pattern(p) => {
                let scheme = p.scheme.as_deref().unwrap_or("*");
                match p.port {
                    Some(port) => write!(f, "{scheme}://{}:{port}", p.host),
                    None => write!(f, "{scheme}://{}:*", p.host),
                }
            }
        }
    }
}

impl HostPattern {
    fn parse(entry: &str) -> Result<HostPattern, String> {
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or("must start with a scheme, like `https://`")?;
        let scheme = match scheme {
            "*" => None,
            "http" | "https" => Some(scheme.to_owned()),
            other => return Err(format!("unsupported scheme `{other}`")),
        };
        if rest.contains('/') {
            return Err("must not contain a path".into());
        }
        let (host, port) = split_host_port(rest);
        let port = match port {
            None => scheme.as_deref().map(default_port),
            Some("*") => None,
            Some(p) => Some(p.parse::<u16>().map_err(|_| format!("bad port `{p}`"))?),
        };
        if host.is_empty() {
            return Err("missing host".into());
        }
        let wildcard_ok = match host.strip_prefix("*.") {
            _ if host == "*" => true,
            Some(domain) => !domain.contains('*'),
            None => !host.contains('*'),
        };
        if !wildcard_ok {
            return Err("`*` may only stand alone or as a leading `*.` label".into());
        }
        if scheme.is_none() && port.is_none() && host == "*" {
            return Err("`*://*:*` would allow every host; list the hosts instead".into());
        }
        Ok(HostPattern {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// The address the pattern names literally, if its host is an IP address.
    fn literal_ip(&self) -> Option<IpAddr> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.parse().ok()
    }

    /// The exact origin of a URL, as a pattern.
    fn origin_of(url: &str) -> Option<HostPattern> {
        let uri: Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(default_port(&scheme));
        Some(HostPattern {
            scheme: Some(scheme),
            host,
            port: Some(port),
        })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme.as_deref().is_none_or(|s| s == scheme);
        let port_ok = self.port.is_none_or(|p| p == port);
        let host_ok = match self.host.strip_prefix("*.") {
            _ if self.host == "*" => true,
            Some(domain) => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain)
                    && host[..host.len() - domain.len()].ends_with('.')
            }
            None => self.host == host,
        };
        scheme_ok && port_ok && host_ok
    }
}

/// Split `host[:port]`, where host may be a bracketed IPv6 address.
fn split_host_port(rest: &str) -> (&str, Option<&str>) {
    if rest.starts_with('[')
        && let Some(end) = rest.find(']')
    {
        return (&rest[..=end], rest[end + 1..].strip_prefix(':'));
    }
    match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    }
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// The hosts one call may reach: the manifest's rules with templates resolved against
/// the call's parameters, and which of them may be private addresses.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed: Vec<Allowed>,
    /// The user granted `private-networks`: any address an allowed host resolves to.
    private_networks: bool,
}

#[derive(Debug, Clone)]
struct Allowed {
    pattern: HostPattern,
    /// Whether the addresses this rule resolves to may be private (the rule names an IP
    /// literally, or the host itself granted it).
    private_ok: bool,
}

/// What the policy says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No rule matches the request's origin.
    Refused,
    /// A rule matches; the addresses the host resolves to must be public.
    PublicOnly,
    /// A rule matches that grants private addresses too.
    Any,
}

impl OutboundPolicy {
    /// Resolve `rules` for a call whose parameters are `params`; a template whose
    /// parameter is missing or not a URL allows nothing. Only a pattern that names an IP
    /// address literally may reach that address when it is private.
    pub fn resolve(rules: &[HostRule], params: Option<&serde_json::Value>) -> OutboundPolicy {
        let allowed = rules
            .iter()
            .filter_map(|rule| match rule {
                HostRule::Pattern(p) => Some(Allowed {
                    private_ok: p.literal_ip().is_some(),
                    pattern: p.clone(),
                }),
                HostRule::Param(name) => params
                    .and_then(|p| p.get(name))
                    .and_then(|v| v.as_str())
                    .and_then(HostPattern::origin_of)
                    .map(|pattern| Allowed {
                        pattern,
                        private_ok: false,
                    }),
            })
            .collect();
        OutboundPolicy {
            allowed,
            private_networks: false,
        }
    }

    /// Also allow `hosts`, which the host itself adds (a provider's endpoint override,
    /// owbench's own loopback endpoints): they may be private.
    pub fn grant_hosts(mut self, hosts: &[HostRule]) -> OutboundPolicy {
        let granted = OutboundPolicy::resolve(hosts, None);
        self.allowed
            .extend(granted.allowed.into_iter().map(|a| Allowed {
                private_ok: true,
                ..a
            }));
        self
    }

    /// Let every allowed host resolve to private addresses when `granted` (the user's
    /// grant of `private-networks`).
    pub fn grant_private_networks(mut self, granted: bool) -> OutboundPolicy {
        self.private_networks = granted;
        self
    }

    /// Whether a request to `uri` may go out, as far as its origin goes.
    pub fn allows(&self, uri: &Uri) -> bool {
        self.verdict(uri) != Verdict::Refused
    }

    /// What the policy says of a request to `uri`.
    pub fn verdict(&self, uri: &Uri) -> Verdict {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return Verdict::Refused;
        };
        let scheme = scheme.to_ascii_lowercase();
        let host = host.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(default_port(&scheme));
        let mut matching = self
            .allowed
            .iter()
            .filter(|a| a.pattern.allows(&scheme, &host, port))
            .peekable();
        if matching.peek().is_none() {
            Verdict::Refused
        } else if self.private_networks || matching.any(|a| a.private_ok) {
            Verdict::Any
        } else {
            Verdict::PublicOnly
        }
    }
}

/// Whether `ip` is an address an untrusted plugin must not reach unless granted:
/// loopback, private and shared ranges, link-local (the cloud metadata service
/// 169.254.169.254), unique-local IPv6 (fd00:ec2::254), unspecified, multicast and
/// broadcast, and IPv4 written inside IPv6.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            let s = v6.segments();
            let low_v4 = Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32);
            // Addresses that carry an IPv4 address are as private as it is: NAT64
            // (64:ff9b::/96, on IPv6-only subnets every IPv4 destination), SIIT
            // (::ffff:0:a.b.c.d) and 6to4 (2002:AABB:CCDD::/48).
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..6] == [0, 0, 0, 0, 0xffff, 0] {
                return is_private_v4(low_v4);
            }
            if s[0] == 0x2002 {
                return is_private_v4(Ipv4Addr::from(((s[1] as u32) << 16) | s[2] as u32));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
                || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
                || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
                || s[..6] == [0, 0, 0, 0, 0, 0] // ::a.b.c.d (IPv4-compatible)
                || s[..3] == [0x64, 0xff9b, 1] // 64:ff9b:1::/48 local-use NAT64
                || s[..2] == [0x2001, 0] // 2001::/32 Teredo (its client address is hidden)
        }
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || a == 0 // 0.0.0.0/8 "this network"
        || (a == 100 && (64..128).contains(&b)) // 100.64.0.0/10 shared (carrier NAT)
        || (a == 192 && b == 0 && v4.octets()[2] == 0) // 192.0.0.0/24 protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // 198.18.0.0/15 benchmarking
        || a >= 240 // reserved
}

/// One refused request: `METHOD url` and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// `METHOD url`.
    pub request: String,
    /// Why it was refused.
    pub reason: String,
}

/// Why a request whose origin no rule matches is refused.
pub const NOT_ALLOWED: &str = "host not in the manifest's `allowed_outbound_hosts`";

/// Signs a plugin's outgoing requests with credentials the plugin never sees: whatever
/// the plugin put in their place (AWS: a signature made with placeholder keys; OCI:
/// nothing) is replaced by the host's signature.
pub trait RequestSigner: Send + Sync {
    /// Whether re-signing `parts` needs the whole body (its hash is not in a header).
    fn needs_body(&self, parts: &http::request::Parts) -> bool;
    /// Sign the request in place; `body` is the whole body when [`needs_body`] said so.
    /// Which requests are signed is the scheme's choice (AWS: those the plugin signed
    /// with SigV4; OCI: all).
    ///
    /// [`needs_body`]: RequestSigner::needs_body
    fn sign(&self, parts: &mut http::request::Parts, body: Option<&[u8]>) -> Result<(), String>;
    /// Re-sign a presigned URL the plugin made with placeholder keys.
    fn presign(&self, url: &str) -> Result<String, String>;
}

/// The largest request body the host reads whole to sign it (bodies whose hash the
/// plugin sent in a header stream through unread).
pub const MAX_SIGNED_BODY: usize = 16 << 20;

/// The `wasi:http` hooks of one call: refuse what the policy does not allow and remember
/// it, so the host can name the refused host in its error; re-sign what goes out when
/// the plugin's manifest asks for credentials.
pub struct PolicyHooks {
    /// The call's policy.
    pub policy: OutboundPolicy,
    /// Requests refused so far, shared with the call's outcome.
    pub denied: Arc<Mutex<Vec<Denial>>>,
    /// Who re-signs outgoing requests, if anyone.
    pub signer: Option<Arc<dyn RequestSigner>>,
}

impl PolicyHooks {
    /// Hooks with `policy`, no signer and a fresh denied list.
    pub fn new(policy: OutboundPolicy) -> PolicyHooks {
        PolicyHooks {
            policy,
            denied: Arc::new(Mutex::new(Vec::new())),
            signer: None,
        }
    }
}

/// Re-sign `request` with `signer`, reading its body first when the signature covers it.
async fn resign(
    signer: &dyn RequestSigner,
    request: http::Request<WasiBody>,
) -> Result<http::Request<WasiBody>, wasmtime_wasi_http::Error> {
    use http_body_util::BodyExt;
    let (mut parts, body) = request.into_parts();
    let signing_failed = |e: String| {
        wasmtime_wasi_http::Error::InternalError(Some(format!(
            "the host could not sign the request: {e}"
        )))
    };
    if !signer.needs_body(&parts) {
        signer.sign(&mut parts, None).map_err(signing_failed)?;
        return Ok(http::Request::from_parts(parts, body));
    }
    let bytes = http_body_util::Limited::new(body, MAX_SIGNED_BODY)
        .collect()
        .await
        .map_err(|_| wasmtime_wasi_http::Error::HttpRequestBodySize(Some(MAX_SIGNED_BODY as u64)))?
        .to_bytes();
    signer
        .sign(&mut parts, Some(&bytes))
        .map_err(signing_failed)?;
    let body = http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(http::Request::from_parts(parts, body))
}

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        _ = fut;
        let verdict = self.policy.verdict(request.uri());
        let what = format!("{} {}", request.method(), request.uri());
        let denied = self.denied.clone();
        let deny = move |reason: String| {
            denied.lock().expect("denied list poisoned").push(Denial {
                request: what,
                reason,
            });
            // An error code, not a reset: the guest sees `HTTP-request-denied` at once and
            // a well-behaved client does not retry it.
            wasmtime_wasi_http::Error::HttpRequestDenied
        };
        if verdict == Verdict::Refused {
            let err = deny(NOT_ALLOWED.to_owned());
            return Box::new(async { Err(err) });
        }
        let signer = self.signer.clone();
        Box::new(async move {
            let request = match &signer {
                Some(signer) => resign(signer.as_ref(), request).await?,
                None => request,
            };
            match crate::outbound::send(request, options, verdict == Verdict::Any).await {
                Ok(sent) => Ok(sent),
                Err(SendError::Private(reason)) => Err(deny(reason)),
                Err(SendError::Failed(e)) => Err(e),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_display_as_entries_that_parse_back() {
        for entry in [
            "https://*.amazonaws.com",
            "{{ url }}",
            "*://localhost:*",
            "http://127.0.0.1:8080",
        ] {
            let rule = HostRule::parse(entry).unwrap();
            assert_eq!(HostRule::parse(&rule.to_string()).unwrap(), rule, "{entry}");
        }
    }

    fn policy(entries: &[&str], params: serde_json::Value) -> OutboundPolicy {
        let rules: Vec<_> = entries
            .iter()
            .map(|e| HostRule::parse(e).unwrap())
            .collect();
        OutboundPolicy::resolve(&rules, Some(&params))
    }

    fn allows(p: &OutboundPolicy, url: &str) -> bool {
        p.allows(&url.parse().unwrap())
    }

    #[test]
    fn private_addresses_are_told_from_public_ones() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::ffff:0:a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            "64:ff9b:1::1",
            "2001:0:4136:e378::1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "64:ff9b::808:808",
            "2002:808:808::1",
            "8.8.8.8",
            "52.94.76.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn only_literal_addresses_and_grants_may_be_private() {
        let p = policy(
            &["http://127.0.0.1:8080", "https://example.com", "{{ url }}"],
            serde_json::json!({"url": "http://10.0.0.1/x"}),
        );
        let verdict = |url: &str| p.verdict(&url.parse().unwrap());
        assert_eq!(verdict("http://127.0.0.1:8080/"), Verdict::Any);
        assert_eq!(verdict("https://example.com/"), Verdict::PublicOnly);
        assert_eq!(verdict("http://10.0.0.1/y"), Verdict::PublicOnly);
        assert_eq!(verdict("http://10.0.0.2/y"), Verdict::Refused);
        let p = p.grant_private_networks(true);
        assert_eq!(
            p.verdict(&"http://10.0.0.1/y".parse().unwrap()),
            Verdict::Any
        );
        // A grant is no allowance of its own.
        let p = policy(&[], serde_json::json!({})).grant_private_networks(true);
        assert_eq!(
            p.verdict(&"http://10.9.9.9/".parse().unwrap()),
            Verdict::Refused
        );
    }

    #[test]
    fn ipv6_literals_parse() {
        let p = policy(&["http://[::1]:8080"], serde_json::json!({}));
        assert!(allows(&p, "http://[::1]:8080/x"));
        assert!(!allows(&p, "http://[::1]:8081/x"));
    }

    #[test]
    fn empty_allows_nothing() {
        let p = policy(&[], serde_json::json!({}));
        assert!(!allows(&p, "http://127.0.0.1/"));
    }

    #[test]
    fn exact_host_uses_the_default_port() {
        let p = policy(&["https://example.com"], serde_json::json!({}));
        assert!(allows(&p, "https://example.com/x"));
        assert!(allows(&p, "https://EXAMPLE.com:443/x"));
        assert!(!allows(&p, "https://example.com:8443/x"));
        assert!(!allows(&p, "http://example.com/x"));
        assert!(!allows(&p, "https://example.com.evil.net/x"));
    }

    #[test]
    fn subdomain_wildcard_needs_a_subdomain() {
        let p = policy(&["https://*.amazonaws.com:*"], serde_json::json!({}));
        assert!(allows(&p, "https://ec2.us-east-1.amazonaws.com/"));
        assert!(!allows(&p, "https://amazonaws.com/"));
        assert!(!allows(&p, "https://evilamazonaws.com/"));
    }

    #[test]
    fn template_allows_the_origin_of_the_parameter_only() {
        let p = policy(
            &["{{ url }}"],
            serde_json::json!({"url": "http://127.0.0.1:8080/obj"}),
        );
        assert!(allows(&p, "http://127.0.0.1:8080/other"));
        assert!(!allows(&p, "http://127.0.0.1:8081/obj"));
        let p = policy(&["{{ url }}"], serde_json::json!({}));
        assert!(!allows(&p, "http://127.0.0.1:8080/obj"));
    }

    #[test]
    fn bad_entries_say_why() {
        assert_eq!(
            HostRule::parse("example.com").unwrap_err(),
            "must start with a scheme, like `https://`"
        );
        assert_eq!(
            HostRule::parse("https://example.com/path").unwrap_err(),
            "must not contain a path"
        );
        assert_eq!(
            HostRule::parse("ftp://example.com").unwrap_err(),
            "unsupported scheme `ftp`"
        );
        assert!(HostRule::parse("*://*:*").is_err());
        assert!(HostRule::parse("https://a.*.com").is_err());
        assert!(HostRule::parse("{{ }}").is_err());
        assert_eq!(HostRule::parse("http://h:x").unwrap_err(), "bad port `x`");
    }
}
