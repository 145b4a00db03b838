//! What every transport enforces: the base URL and the HTTPS rule, timeouts, the response body
//! cap, trusted roots, the user agent and the 429 retry policy.
//!
//! ```
//! use std::time::Duration;
//! use login_transport::{RetryPolicy, TransportConfig};
//!
//! let cfg = TransportConfig::new("https://bank.example/internal-api/centaur")?
//!     .connect_timeout(Duration::from_secs(3))
//!     .body_cap(256 * 1024)
//!     .retry(RetryPolicy::new(2, Duration::from_secs(5)));
//! assert_eq!(cfg.timeouts().call, Duration::from_secs(20));
//!
//! // The seed's UAT base URL is plain HTTP: refused until the caller allows it.
//! let uat = TransportConfig::new("http://uat.ibank.com/internal-api/centaur")?;
//! let err = uat.check_url().unwrap_err();
//! assert!(err.detail.contains("allow_http(true)"));
//! assert!(uat.allow_http(true).check_url().is_ok());
//! # Ok::<(), login_transport::ConfigError>(())
//! ```

use std::net::IpAddr;
use std::time::Duration;

use login_core::{TransportError, TransportErrorKind};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Default connect timeout (DNS excluded: the system resolver has its own).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time from sending the request to the end of the response headers.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound on one whole call: connect, send, headers and body.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Default response body cap: 1 MiB.
pub const DEFAULT_BODY_CAP: usize = 1024 * 1024;
/// Default bound on response header bytes.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Default number of idle connections a transport keeps for later calls and flows.
pub const DEFAULT_IDLE_CONNECTIONS: usize = 32;

/// A configuration that could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL is not an absolute `http://` or `https://` URL this crate accepts.
    #[error("invalid base URL: {0}")]
    BaseUrl(String),
    /// The PEM text held no usable certificate.
    #[error("invalid root certificate PEM: {0}")]
    RootCertificate(String),
    /// The TLS client could not be configured.
    #[error("TLS configuration failed: {0}")]
    Tls(String),
}

/// Keeps the cause and drops the detail text: login-core's configuration errors carry no free
/// text (and a base URL's detail may quote user information).
impl From<ConfigError> for login_core::Error {
    fn from(e: ConfigError) -> Self {
        use login_core::error::ConfigError as Core;
        match e {
            ConfigError::BaseUrl(_) => Core::BaseUrl,
            ConfigError::RootCertificate(_) => Core::RootCertificate,
            ConfigError::Tls(_) => Core::Tls,
        }
        .into()
    }
}

/// The URL scheme of the base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

/// A parsed base URL: request paths are appended to `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    pub(crate) scheme: Scheme,
    /// Host without IPv6 brackets, lower case.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Value for the `Host` header: the authority as written (port only when given).
    pub(crate) authority: String,
    /// Path prefix without a trailing slash (may be empty).
    pub(crate) prefix: String,
    /// `scheme://authority` plus the prefix: what every absolute URL starts with.
    origin_prefix: String,
}

impl BaseUrl {
    fn parse(input: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError::BaseUrl(format!("{why} (got {input:?})"));
        let uri: http::Uri = input.parse().map_err(|_| bad("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => Scheme::Https,
            Some(s) if s.eq_ignore_ascii_case("http") => Scheme::Http,
            _ => return Err(bad("the scheme must be http:// or https://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        // Credentials in a URL would be sent to the server and end up in logs.
        if authority.as_str().contains('@') {
            return Err(bad("user information in the URL is not supported"));
        }
        if uri.query().is_some() || input.contains('#') {
            return Err(bad("a base URL has no query or fragment"));
        }
        let raw_host = authority.host();
        let host = raw_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match (authority.port_u16(), scheme) {
            (Some(p), _) => p,
            (None, Scheme::Https) => 443,
            (None, Scheme::Http) => 80,
        };
        let prefix = uri.path().trim_end_matches('/').to_string();
        let authority = authority.as_str().to_ascii_lowercase();
        let scheme_name = match scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let origin_prefix = format!("{scheme_name}://{authority}{prefix}");
        Ok(Self {
            scheme,
            host,
            port,
            authority,
            prefix,
            origin_prefix,
        })
    }

    /// Whether the host is a loopback host: `localhost`, 127.0.0.0/8 or `::1`.
    pub(crate) fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }

    /// `scheme://authority` plus the prefix and `path`.
    pub(crate) fn url_for(&self, path: &str) -> String {
        // Once per call: two copies into an exact-size string, not the formatting machinery.
        concat_exact(&self.origin_prefix, path)
    }

    /// The origin-form request target: prefix plus `path`.
    #[cfg(feature = "hyper")]
    pub(crate) fn target_for(&self, path: &str) -> String {
        concat_exact(&self.prefix, path)
    }
}

fn concat_exact(a: &str, b: &str) -> String {
    let mut out = String::with_capacity(a.len() + b.len());
    out.push_str(a);
    out.push_str(b);
    out
}

/// Whether `host` (without brackets) names the local machine: `localhost`, an address in
/// 127.0.0.0/8, `::1`, or an IPv4-mapped loopback address.
///
/// ```
/// use login_transport::is_loopback_host;
/// assert!(is_loopback_host("localhost"));
/// assert!(is_loopback_host("127.8.9.10"));
/// assert!(is_loopback_host("::1"));
/// assert!(!is_loopback_host("uat.ibank.com"));
/// assert!(!is_loopback_host("localhost.bank.example"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

/// Addresses for hosts that need no DNS: IP literals, and `localhost` pinned to the loopback
/// addresses (so a resolver that maps `localhost` elsewhere cannot send plain HTTP off the
/// machine). `None` means "ask the system resolver".
#[cfg(feature = "hyper")]
pub(crate) fn fixed_addresses(host: &str) -> Option<Vec<IpAddr>> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return Some(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
    }
    host.parse::<IpAddr>().ok().map(|ip| vec![ip])
}

pub use login_core::RetryPolicy;

/// The effective timeouts of a [`TransportConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// From sending the request to the end of the response headers.
    pub headers: Duration,
    /// The whole call.
    pub call: Duration,
}

/// Everything a transport needs besides the request: where to send it and the limits it
/// enforces. Built once per base URL and shared.
#[derive(Clone)]
pub struct TransportConfig {
    pub(crate) base: BaseUrl,
    connect_timeout: Duration,
    header_timeout: Duration,
    call_timeout: Duration,
    body_cap: usize,
    allow_http: bool,
    pub(crate) custom_roots: Vec<CertificateDer<'static>>,
    retry: RetryPolicy,
    user_agent: String,
    idle_connections: usize,
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportConfig")
            .field("base_url", &self.base_url())
            .field("connect_timeout", &self.connect_timeout)
            .field("header_timeout", &self.header_timeout)
            .field("call_timeout", &self.call_timeout)
            .field("body_cap", &self.body_cap)
            .field("allow_http", &self.allow_http)
            .field("custom_roots", &self.custom_roots.len())
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("idle_connections", &self.idle_connections)
            .finish()
    }
}

impl TransportConfig {
    /// A configuration for `base_url` (`https://host[:port][/prefix]`) with the defaults: connect
    /// 5 s, response headers 10 s, whole call 20 s, body cap 1 MiB, plain HTTP only to loopback
    /// hosts, Mozilla's root certificates, one 429 retry waiting at most 10 s, up to 32 idle
    /// connections kept.
    ///
    /// # Errors
    /// [`ConfigError::BaseUrl`] when `base_url` is not an absolute `http://` or `https://` URL
    /// with a host, or carries user information, a query or a fragment.
    pub fn new(base_url: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            base: BaseUrl::parse(base_url)?,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            body_cap: DEFAULT_BODY_CAP,
            allow_http: false,
            custom_roots: Vec::new(),
            retry: RetryPolicy::default(),
            user_agent: concat!("loginflow/", env!("CARGO_PKG_VERSION")).to_string(),
            idle_connections: DEFAULT_IDLE_CONNECTIONS,
        })
    }

    /// Bound on establishing a connection (TCP and TLS). Zero is raised to 1 ms.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Bound from sending the request to the end of the response headers. Zero is raised to 1 ms.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Bound on the whole call: connect, send, headers and body. It caps the other two.
    /// Zero is raised to 1 ms.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Largest response body accepted, in bytes; enforced while reading.
    pub fn body_cap(mut self, bytes: usize) -> Self {
        self.body_cap = bytes;
        self
    }

    /// Allows plain `http://` to hosts that are not loopback hosts (test environments only).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Trusts the certificates in `pem` as roots. Custom roots **replace** the built-in Mozilla
    /// roots: a client given a private CA trusts only the CAs it was given.
    ///
    /// # Errors
    /// [`ConfigError::RootCertificate`] when `pem` holds no `CERTIFICATE` block or a damaged one.
    pub fn add_root_ca_pem(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| ConfigError::RootCertificate(e.to_string()))?;
            self.custom_roots.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err(ConfigError::RootCertificate(
                "no CERTIFICATE block found".into(),
            ));
        }
        Ok(self)
    }

    /// Sets the 429 retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets the `User-Agent` header value.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How many idle keep-alive connections the transport keeps for later calls (default 32).
    /// The async transport hands a finished flow's connection to the next flow instead of
    /// dialing, so this bounds the connections kept between bursts of concurrent logins; 0
    /// makes every async flow dial its own. The blocking transport keeps at least one, so the
    /// steps of a flow share a connection. Idle connections older than 15 s are never reused.
    pub fn idle_connections(mut self, connections: usize) -> Self {
        self.idle_connections = connections;
        self
    }

    /// The most idle connections kept (see [`idle_connections`](Self::idle_connections)).
    pub fn max_idle_connections(&self) -> usize {
        self.idle_connections
    }

    /// The base URL, normalised (lower-case host, no trailing slash).
    pub fn base_url(&self) -> String {
        self.base.url_for("")
    }

    /// The effective timeouts (connect and header timeouts never exceed the call timeout).
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.connect_timeout.min(self.call_timeout),
            headers: self.header_timeout.min(self.call_timeout),
            call: self.call_timeout,
        }
    }

    /// The response body cap in bytes.
    pub fn max_body(&self) -> usize {
        self.body_cap
    }

    /// Whether plain HTTP to non-loopback hosts is allowed.
    pub fn is_http_allowed(&self) -> bool {
        self.allow_http
    }

    /// Whether custom roots replace the built-in ones.
    pub fn has_custom_roots(&self) -> bool {
        !self.custom_roots.is_empty()
    }

    /// The 429 retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The `User-Agent` value.
    pub fn user_agent_header(&self) -> &str {
        &self.user_agent
    }

    /// Whether the HTTPS rule lets a request go out: HTTPS, or plain HTTP to a loopback host, or
    /// plain HTTP explicitly allowed. Transports call this before resolving or connecting.
    ///
    /// # Errors
    /// A [`TransportError`] of kind `InsecureUrl` for plain HTTP to a host that is not a
    /// loopback host when plain HTTP is not allowed; its text says how to allow it.
    pub fn check_url(&self) -> Result<(), TransportError> {
        if self.base.scheme == Scheme::Https || self.allow_http || self.base.is_loopback() {
            return Ok(());
        }
        Err(TransportError::new(
            TransportErrorKind::InsecureUrl,
            format!(
                "plain HTTP to {} is refused; pass `allow_http(true)` (`--allow-http`) for a test \
                 environment",
                self.base.host
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_url_parts() {
        let b = BaseUrl::parse("http://UAT.ibank.com/internal-api/centaur/").unwrap();
        assert_eq!(b.scheme, Scheme::Http);
        assert_eq!(b.host, "uat.ibank.com");
        assert_eq!(b.port, 80);
        assert_eq!(b.authority, "uat.ibank.com");
        assert_eq!(b.prefix, "/internal-api/centaur");
        assert_eq!(
            b.url_for("/auth/realm/cap/request"),
            "http://uat.ibank.com/internal-api/centaur/auth/realm/cap/request"
        );
        let v6 = BaseUrl::parse("https://[::1]:8443").unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.port, 8443);
        assert_eq!(v6.prefix, "");
        assert_eq!(v6.target_for("/api/v1/authorize"), "/api/v1/authorize");
        assert!(v6.is_loopback());
    }

    #[test]
    fn rejects_unusable_base_urls() {
        for bad in [
            "ftp://bank.example",
            "bank.example/api",
            "https://user:pw@bank.example",
            "https://bank.example/api?x=1",
            "https://bank.example/api#frag",
            "",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(ConfigError::BaseUrl(_))),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "http://127.0.0.1:1",
            "http://localhost:8080/x",
            "http://[::1]:9",
            "http://127.2.3.4",
        ] {
            assert!(
                TransportConfig::new(ok).unwrap().check_url().is_ok(),
                "{ok}"
            );
        }
        let refused = TransportConfig::new("http://uat.ibank.com/internal-api/centaur").unwrap();
        let err = refused.check_url().unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::InsecureUrl);
        assert_eq!(
            err.detail,
            "plain HTTP to uat.ibank.com is refused; pass `allow_http(true)` (`--allow-http`) \
             for a test environment"
        );
        assert!(refused.allow_http(true).check_url().is_ok());
        assert!(
            TransportConfig::new("https://bank.example")
                .unwrap()
                .check_url()
                .is_ok()
        );
        // A name that merely starts with "localhost" or "127." is not loopback.
        for not_loopback in [
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
        ] {
            assert!(
                TransportConfig::new(not_loopback)
                    .unwrap()
                    .check_url()
                    .is_err()
            );
        }
    }

    #[test]
    fn timeouts_are_capped_by_the_call_timeout() {
        let cfg = TransportConfig::new("https://bank.example")
            .unwrap()
            .call_timeout(Duration::from_secs(2));
        assert_eq!(cfg.timeouts().connect, Duration::from_secs(2));
        assert_eq!(cfg.timeouts().headers, Duration::from_secs(2));
        let d = TransportConfig::new("https://bank.example")
            .unwrap()
            .timeouts();
        assert_eq!(d.connect, Duration::from_secs(5));
        assert_eq!(d.headers, Duration::from_secs(10));
        assert_eq!(d.call, Duration::from_secs(20));
        assert_eq!(
            TransportConfig::new("https://bank.example")
                .unwrap()
                .max_body(),
            1024 * 1024
        );
    }

    #[test]
    fn bad_pem_is_a_config_error() {
        let cfg = TransportConfig::new("https://bank.example").unwrap();
        assert!(matches!(
            cfg.clone().add_root_ca_pem(b"not a pem"),
            Err(ConfigError::RootCertificate(_))
        ));
    }
}
