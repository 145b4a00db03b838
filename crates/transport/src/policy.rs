//! What every transport enforces and how it reaches the server: the base URL and the HTTPS
//! rule, timeouts, the response body cap, trusted roots, a client identity (mutual TLS), a
//! proxy, the user agent and the 429 retry policy.
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

use crate::identity::{ClientIdentity, IdentityProblem};
use crate::proxy::{
    HTTP_PROXY_VARS, HTTPS_PROXY_VARS, NO_PROXY_VARS, Proxy, first_set, no_proxy_matches,
};

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

/// A configuration that could not be made. No variant's text holds a credential: URLs are shown
/// without their user information, PEM problems are named, never quoted.
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
    /// The client certificate chain or its key could not be used.
    #[error("client identity: {0}")]
    ClientIdentity(#[from] IdentityProblem),
    /// The proxy URL (from [`Proxy::new`] or a proxy variable) is not one this crate accepts.
    #[error("invalid proxy: {0}")]
    Proxy(String),
    /// The transport cannot take a setting.
    #[error("{transport} cannot take `{setting}`: {why}")]
    Unsupported {
        /// The setting (its builder method).
        setting: &'static str,
        /// The transport.
        transport: &'static str,
        /// Why, and what to do instead.
        why: &'static str,
    },
    /// Two settings exclude each other.
    #[error("`{setting}` cannot be combined with `{with}`: {why}")]
    Conflict {
        /// The setting refused.
        setting: &'static str,
        /// The setting it conflicts with.
        with: &'static str,
        /// Why, and what to do instead.
        why: &'static str,
    },
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
            ConfigError::ClientIdentity(_) => Core::ClientIdentity,
            ConfigError::Proxy(_) => Core::Proxy,
            ConfigError::Unsupported { .. } | ConfigError::Conflict { .. } => Core::Unsupported,
        }
        .into()
    }
}

/// `url` as it may be shown in an error or a log: user information replaced by `***`, the
/// query and fragment cut (either may hold a credential). Everything before the last `@` is
/// taken for user information, since an unencoded `/`, `?` or `#` in a password would end a
/// parser's idea of the authority early.
///
/// ```text
/// http://alice:pw@proxy:3128  ->  http://***@proxy:3128
/// https://bank.example/x?k=v  ->  https://bank.example/x?***
/// ```
pub(crate) fn shown_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let mut out = String::with_capacity(url.len());
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    let rest = match rest.rfind('@') {
        Some(at) => {
            out.push_str("***@");
            &rest[at + 1..]
        }
        None => rest,
    };
    match rest.find(['?', '#']) {
        Some(cut) => {
            out.push_str(&rest[..cut]);
            out.push_str("?***");
        }
        None => out.push_str(rest),
    }
    out
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
        // Never the input itself: it may carry user information.
        let bad = |why: &str| ConfigError::BaseUrl(format!("{why} (got {:?})", shown_url(input)));
        let uri: http::Uri = input.parse().map_err(|_| bad("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => Scheme::Https,
            Some(s) if s.eq_ignore_ascii_case("http") => Scheme::Http,
            _ => return Err(bad("the scheme must be http:// or https://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        // Credentials in a URL would be sent to the server and end up in logs. An '@' anywhere
        // counts: an unencoded '/' in a password makes a parser end the authority early.
        if input.contains('@') {
            return Err(bad("user information in the URL is not supported"));
        }
        // The `http` crate takes `host:word` and drops the word; a port must be a number.
        if authority.as_str().len() > authority.host().len() && authority.port_u16().is_none() {
            return Err(bad("the port is not a number"));
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

/// Everything a transport needs besides the request: where to send it, how to reach it (TLS
/// roots, a client identity, a proxy) and the limits it enforces. Built once per base URL and
/// shared.
///
/// The limits hold whatever else is set: no proxy, root or TLS setting lifts the HTTPS rule,
/// the timeouts, the body cap or the refusal to follow redirects.
#[derive(Clone)]
pub struct TransportConfig {
    pub(crate) base: BaseUrl,
    connect_timeout: Duration,
    header_timeout: Duration,
    call_timeout: Duration,
    body_cap: usize,
    allow_http: bool,
    /// Roots given with `add_roots_pem` or `replace_roots_with_pem`.
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    /// False once `replace_roots_with_pem` was called.
    pub(crate) public_roots: bool,
    pub(crate) identity: Option<ClientIdentity>,
    proxy: Option<Proxy>,
    proxy_from_env: bool,
    #[cfg(any(feature = "ureq", feature = "hyper"))]
    pub(crate) rustls_config: Option<std::sync::Arc<rustls::ClientConfig>>,
    retry: RetryPolicy,
    user_agent: String,
    idle_connections: usize,
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("TransportConfig");
        d.field("base_url", &self.base_url())
            .field("connect_timeout", &self.connect_timeout)
            .field("header_timeout", &self.header_timeout)
            .field("call_timeout", &self.call_timeout)
            .field("body_cap", &self.body_cap)
            .field("allow_http", &self.allow_http)
            .field("public_roots", &self.public_roots)
            .field("extra_roots", &self.extra_roots.len())
            .field("client_identity", &self.identity)
            .field("proxy", &self.proxy)
            .field("proxy_from_env", &self.proxy_from_env);
        #[cfg(any(feature = "ureq", feature = "hyper"))]
        d.field("rustls_client_config", &self.rustls_config.is_some());
        d.field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("idle_connections", &self.idle_connections)
            .finish()
    }
}

impl TransportConfig {
    /// A configuration for `base_url` (`https://host[:port][/prefix]`) with the defaults: connect
    /// 5 s, response headers 10 s, whole call 20 s, body cap 1 MiB, plain HTTP only to loopback
    /// hosts, Mozilla's root certificates, no client certificate, no proxy (the environment's
    /// proxy variables are not read), one 429 retry waiting at most 10 s, up to 32 idle
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
            extra_roots: Vec::new(),
            public_roots: true,
            identity: None,
            proxy: None,
            proxy_from_env: false,
            #[cfg(any(feature = "ureq", feature = "hyper"))]
            rustls_config: None,
            retry: RetryPolicy::default(),
            user_agent: concat!("loginflow/", env!("CARGO_PKG_VERSION")).to_string(),
            idle_connections: DEFAULT_IDLE_CONNECTIONS,
        })
    }

    /// Bound on establishing a connection: TCP, the proxy's `CONNECT` when there is a proxy,
    /// and TLS. Zero is raised to 1 ms.
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

    /// Allows plain `http://` to hosts that are not loopback hosts, and to loopback hosts
    /// through a proxy that is not on this machine (test environments only).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Trusts the certificates in `pem` as roots **in addition to** the public (Mozilla)
    /// roots: a bank whose certificate a private CA signs, reached by a client that still
    /// trusts the public CAs.
    ///
    /// ```
    /// # let ca_pem = rcgen::generate_simple_self_signed(vec!["ca".into()])?.cert.pem();
    /// use login_transport::TransportConfig;
    /// let cfg = TransportConfig::new("https://bank.example")?.add_roots_pem(ca_pem.as_bytes())?;
    /// assert!(cfg.trusts_public_roots());
    /// assert_eq!(cfg.extra_root_count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::RootCertificate`] when `pem` holds no `CERTIFICATE` block or a damaged one.
    pub fn add_roots_pem(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        self.extra_roots.extend(certificates(pem)?);
        Ok(self)
    }

    /// Trusts **only** the certificates in `pem` (and any others given to this method or to
    /// [`add_roots_pem`](Self::add_roots_pem)): the public roots are dropped, so a client
    /// given a private CA trusts nothing else.
    ///
    /// ```
    /// # let ca_pem = rcgen::generate_simple_self_signed(vec!["ca".into()])?.cert.pem();
    /// use login_transport::TransportConfig;
    /// let cfg = TransportConfig::new("https://bank.example")?
    ///     .replace_roots_with_pem(ca_pem.as_bytes())?;
    /// assert!(!cfg.trusts_public_roots());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::RootCertificate`] when `pem` holds no `CERTIFICATE` block or a damaged one.
    pub fn replace_roots_with_pem(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        self.extra_roots.extend(certificates(pem)?);
        self.public_roots = false;
        Ok(self)
    }

    /// Presents `identity` (a certificate chain and its key) when the server asks for a client
    /// certificate (mutual TLS). Both transports take it.
    pub fn client_identity(mut self, identity: ClientIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Sends every call through `proxy`, an `http://` proxy that opens a `CONNECT` tunnel (see
    /// [`Proxy`]). An explicit proxy applies to every base URL, loopback ones included, and
    /// takes precedence over [`proxy_from_env`](Self::proxy_from_env). Plain HTTP through a
    /// proxy that is not on this machine needs [`allow_http`](Self::allow_http), even to a
    /// loopback base URL.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Reads the conventional proxy variables when the transport is built (off by default):
    /// for an `https://` base URL `https_proxy`, else `HTTPS_PROXY`; for a plain `http://` one
    /// only `http_proxy` (the upper-case `HTTP_PROXY` is what a CGI program receives from a
    /// request's `Proxy:` header, so it is never read). `no_proxy`, else `NO_PROXY`, excludes
    /// hosts: a comma-separated list of names (each matching itself and the names under
    /// it), IP addresses, CIDR ranges, any of them with `:port`, or `*`. A loopback base URL
    /// never goes through an environment proxy. An explicit [`proxy`](Self::proxy) wins.
    ///
    /// ```
    /// use login_transport::TransportConfig;
    /// let cfg = TransportConfig::new("https://bank.example")?.proxy_from_env(true);
    /// // Which proxy (if any) the transports will use, from the variables as they are now:
    /// let _ = cfg.effective_proxy()?;
    /// # Ok::<(), login_transport::ConfigError>(())
    /// ```
    pub fn proxy_from_env(mut self, read: bool) -> Self {
        self.proxy_from_env = read;
        self
    }

    /// Uses `config` for TLS instead of the one built from the roots and client identity
    /// settings: certificate pinning, a custom verifier, your own provider. Only
    /// [`HyperTransport`](crate::HyperTransport) takes it: ureq's stable API has no way to
    /// hand in a whole rustls configuration, so `UreqTransport::new` refuses it with
    /// [`ConfigError::Unsupported`]. It excludes the root and client identity settings (the
    /// transport refuses the combination with [`ConfigError::Conflict`]); the ALPN list is
    /// set to `http/1.1`, and everything else in `config` (verification included) is yours.
    /// The HTTPS rule, the timeouts, the body cap and the redirect refusal still hold.
    #[cfg(any(feature = "ureq", feature = "hyper"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "ureq", feature = "hyper"))))]
    pub fn rustls_client_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.rustls_config = Some(config);
        self
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

    /// Whether the public (Mozilla) roots are trusted: true unless
    /// [`replace_roots_with_pem`](Self::replace_roots_with_pem) was called.
    pub fn trusts_public_roots(&self) -> bool {
        self.public_roots
    }

    /// How many roots were given besides the public ones.
    pub fn extra_root_count(&self) -> usize {
        self.extra_roots.len()
    }

    /// Whether a client identity is configured.
    pub fn has_client_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// The explicit proxy, if one was set (see [`effective_proxy`](Self::effective_proxy) for
    /// the one the transports use).
    pub fn proxy_setting(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// The proxy the transports use for the base URL, deciding as they do when they are built:
    /// the explicit [`proxy`](Self::proxy); else, with
    /// [`proxy_from_env`](Self::proxy_from_env), the environment's, unless the base URL is a
    /// loopback one or `no_proxy` excludes it; else none.
    ///
    /// # Errors
    /// [`ConfigError::Proxy`] when the proxy variable holds a URL [`Proxy::new`] refuses.
    pub fn effective_proxy(&self) -> Result<Option<Proxy>, ConfigError> {
        self.effective_proxy_with(&|name| std::env::var(name).ok())
    }

    /// [`effective_proxy`](Self::effective_proxy) with the variables read through `var`.
    pub(crate) fn effective_proxy_with(
        &self,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, ConfigError> {
        if let Some(proxy) = &self.proxy {
            return Ok(Some(proxy.clone()));
        }
        if !self.proxy_from_env || self.base.is_loopback() {
            return Ok(None);
        }
        let names: &[&'static str] = match self.base.scheme {
            Scheme::Https => &HTTPS_PROXY_VARS,
            Scheme::Http => &HTTP_PROXY_VARS,
        };
        let Some((name, value)) = first_set(names, var) else {
            return Ok(None);
        };
        if let Some((_, list)) = first_set(&NO_PROXY_VARS, var)
            && no_proxy_matches(&list, &self.base.host, self.base.port)
        {
            return Ok(None);
        }
        Proxy::new(value.trim()).map(Some).map_err(|e| match e {
            ConfigError::Proxy(why) => ConfigError::Proxy(format!("{name}: {why}")),
            other => other,
        })
    }

    /// The 429 retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The `User-Agent` value.
    pub fn user_agent_header(&self) -> &str {
        &self.user_agent
    }

    /// Whether the HTTPS rule lets a request go out: HTTPS; or plain HTTP explicitly allowed;
    /// or plain HTTP to a loopback host, directly or through a proxy on this machine.
    /// Transports call this before resolving or connecting. (A proxy from the environment
    /// never serves a loopback base URL, so only an explicit one can matter here.)
    ///
    /// # Errors
    /// A [`TransportError`] of kind `InsecureUrl` for plain HTTP to a host that is not a
    /// loopback host, or through a proxy that is not on this machine, when plain HTTP is not
    /// allowed; its text says how to allow it.
    pub fn check_url(&self) -> Result<(), TransportError> {
        if self.base.scheme == Scheme::Https || self.allow_http {
            return Ok(());
        }
        let off_machine_proxy = self.proxy.as_ref().filter(|p| !p.is_loopback());
        match off_machine_proxy {
            None if self.base.is_loopback() => Ok(()),
            None => Err(TransportError::new(
                TransportErrorKind::InsecureUrl,
                format!(
                    "plain HTTP to {} is refused; pass `allow_http(true)` (`--allow-http`) for a \
                     test environment",
                    self.base.host
                ),
            )),
            Some(proxy) => Err(TransportError::new(
                TransportErrorKind::InsecureUrl,
                format!(
                    "plain HTTP to {} through the proxy {proxy} is refused (it would leave this \
                     machine unencrypted); pass `allow_http(true)` (`--allow-http`) for a test \
                     environment",
                    self.base.host
                ),
            )),
        }
    }
}

/// The `CERTIFICATE` blocks of `pem`.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let mut found = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        found.push(cert.map_err(|e| ConfigError::RootCertificate(e.to_string()))?);
    }
    if found.is_empty() {
        return Err(ConfigError::RootCertificate(
            "no CERTIFICATE block found".into(),
        ));
    }
    Ok(found)
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
            "https://user:pw/x@bank.example",
            "https://bank.example:https",
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
            cfg.clone().add_roots_pem(b"not a pem"),
            Err(ConfigError::RootCertificate(_))
        ));
        assert!(matches!(
            cfg.replace_roots_with_pem(b"not a pem"),
            Err(ConfigError::RootCertificate(_))
        ));
    }

    #[test]
    fn shown_urls_carry_no_user_information_query_or_fragment() {
        for (url, shown) in [
            ("http://alice:pw@proxy:3128", "http://***@proxy:3128"),
            ("https://bank.example/x?k=v", "https://bank.example/x?***"),
            ("https://bank.example/x#frag", "https://bank.example/x?***"),
            (
                "https://u:p/w?d#x@bank.example/a",
                "https://***@bank.example/a",
            ),
            ("user:pw@proxy:1", "***@proxy:1"),
            ("https://bank.example/api", "https://bank.example/api"),
            ("", ""),
        ] {
            assert_eq!(shown_url(url), shown, "{url}");
        }
    }

    #[test]
    fn base_url_errors_never_echo_credentials() {
        for bad in [
            "https://alice:canary-pw@bank.example",
            "ftp://alice:canary-pw@bank.example",
            "https://alice:canary-pw@bank.example/api?token=canary-token",
            "https://alice:canary/pw@bank.example",
            "https://bank.example/api?token=canary-token",
            "https://bank.example/api#canary-token",
        ] {
            let err = TransportConfig::new(bad).expect_err(bad);
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains("canary"), "{bad}: {shown}");
                assert!(!shown.contains("alice"), "{bad}: {shown}");
            }
            assert!(err.to_string().contains("bank.example"), "{err}");
        }
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    fn proxy_for(cfg: &TransportConfig, vars: &[(&str, &str)]) -> Option<String> {
        cfg.effective_proxy_with(&env(vars))
            .expect("a usable proxy setting")
            .map(|p| p.to_string())
    }

    #[test]
    fn environment_proxies_only_when_asked() {
        let https = TransportConfig::new("https://bank.example").unwrap();
        let vars = [("HTTPS_PROXY", "http://u:p@proxy.corp:3128")];
        assert_eq!(proxy_for(&https, &vars), None, "off by default");
        let https = https.proxy_from_env(true);
        assert_eq!(
            proxy_for(&https, &vars).as_deref(),
            Some("http://***@proxy.corp:3128")
        );
        // The lower-case name is read first, as curl does; an empty value counts as unset.
        assert_eq!(
            proxy_for(
                &https,
                &[("https_proxy", "lower:1"), ("HTTPS_PROXY", "upper:1")]
            )
            .as_deref(),
            Some("http://lower:1")
        );
        assert_eq!(
            proxy_for(&https, &[("https_proxy", " "), ("HTTPS_PROXY", "upper:1")]).as_deref(),
            Some("http://upper:1")
        );
        // Plain HTTP reads only `http_proxy` (never `HTTP_PROXY`, nor the HTTPS variables).
        let http = TransportConfig::new("http://uat.bank.example")
            .unwrap()
            .allow_http(true)
            .proxy_from_env(true);
        assert_eq!(
            proxy_for(&http, &[("HTTP_PROXY", "p:1"), ("HTTPS_PROXY", "p:2")]),
            None
        );
        assert_eq!(
            proxy_for(&http, &[("http_proxy", "p:3")]).as_deref(),
            Some("http://p:3")
        );
    }

    #[test]
    fn no_proxy_and_loopback_bypass_the_environment_proxy() {
        let cfg = |url: &str| TransportConfig::new(url).unwrap().proxy_from_env(true);
        let proxied = ("HTTPS_PROXY", "proxy.corp:3128");
        let bank = cfg("https://api.bank.example:8443/x");
        for list in [
            "bank.example",
            ".bank.example",
            "*",
            "other, api.bank.example:8443",
        ] {
            assert_eq!(
                proxy_for(&bank, &[proxied, ("NO_PROXY", list)]),
                None,
                "{list}"
            );
        }
        for list in ["other.example", "api.bank.example:443", "10.0.0.0/8"] {
            assert!(
                proxy_for(&bank, &[proxied, ("no_proxy", list)]).is_some(),
                "{list}"
            );
        }
        // `no_proxy` is read before `NO_PROXY`.
        assert!(
            proxy_for(
                &bank,
                &[proxied, ("no_proxy", "other.example"), ("NO_PROXY", "*")]
            )
            .is_some()
        );
        let by_ip = cfg("https://10.1.2.3");
        assert_eq!(
            proxy_for(&by_ip, &[proxied, ("NO_PROXY", "10.0.0.0/8")]),
            None
        );
        for loopback in [
            "https://127.0.0.1:8443",
            "https://localhost",
            "https://[::1]",
        ] {
            assert_eq!(proxy_for(&cfg(loopback), &[proxied]), None, "{loopback}");
        }
    }

    #[test]
    fn an_explicit_proxy_wins_and_applies_to_loopback() {
        let explicit = Proxy::new("http://127.0.0.1:3128").unwrap();
        let cfg = TransportConfig::new("https://127.0.0.1:8443")
            .unwrap()
            .proxy(explicit)
            .proxy_from_env(true);
        assert_eq!(
            proxy_for(&cfg, &[("HTTPS_PROXY", "other:1"), ("NO_PROXY", "*")]).as_deref(),
            Some("http://127.0.0.1:3128")
        );
    }

    #[test]
    fn a_bad_proxy_variable_is_named_without_its_credentials() {
        let cfg = TransportConfig::new("https://bank.example")
            .unwrap()
            .proxy_from_env(true);
        let err = cfg
            .effective_proxy_with(&env(&[(
                "HTTPS_PROXY",
                "socks5://alice:canary-pw@proxy:1080",
            )]))
            .expect_err("socks is refused");
        let text = err.to_string();
        assert!(text.contains("HTTPS_PROXY"), "{text}");
        assert!(
            !text.contains("canary") && !text.contains("alice"),
            "{text}"
        );
    }

    #[test]
    fn a_proxy_off_the_machine_needs_allow_http_for_plain_http() {
        let via = |proxy: &str| {
            TransportConfig::new("http://127.0.0.1:8080")
                .unwrap()
                .proxy(Proxy::new(proxy).unwrap())
        };
        assert!(via("http://127.0.0.1:3128").check_url().is_ok());
        assert!(via("http://localhost:3128").check_url().is_ok());
        let err = via("http://canary-user:canary-pw@proxy.corp:3128")
            .check_url()
            .expect_err("plain HTTP would leave the machine");
        assert_eq!(err.kind, TransportErrorKind::InsecureUrl);
        assert!(err.detail.contains("allow_http(true)"), "{}", err.detail);
        assert!(err.detail.contains("***@proxy.corp:3128"), "{}", err.detail);
        assert!(!err.detail.contains("canary"), "{}", err.detail);
        assert!(
            via("http://proxy.corp:3128")
                .allow_http(true)
                .check_url()
                .is_ok()
        );
        // HTTPS through any proxy is fine: TLS runs end to end.
        assert!(
            TransportConfig::new("https://bank.example")
                .unwrap()
                .proxy(Proxy::new("http://proxy.corp:3128").unwrap())
                .check_url()
                .is_ok()
        );
    }

    #[test]
    fn roots_add_or_replace() {
        let pem = rcgen::generate_simple_self_signed(vec!["test-ca".into()])
            .unwrap()
            .cert
            .pem();
        let cfg = TransportConfig::new("https://bank.example").unwrap();
        assert!(cfg.trusts_public_roots());
        assert_eq!(cfg.extra_root_count(), 0);
        let added = cfg.clone().add_roots_pem(pem.as_bytes()).unwrap();
        assert!(added.trusts_public_roots());
        assert_eq!(added.extra_root_count(), 1);
        // Order does not matter: once replaced, only the given roots count.
        let replaced = added.replace_roots_with_pem(pem.as_bytes()).unwrap();
        assert!(!replaced.trusts_public_roots());
        assert_eq!(replaced.extra_root_count(), 2);
        let replaced_first = cfg
            .replace_roots_with_pem(pem.as_bytes())
            .unwrap()
            .add_roots_pem(pem.as_bytes())
            .unwrap();
        assert!(!replaced_first.trusts_public_roots());
    }
}
