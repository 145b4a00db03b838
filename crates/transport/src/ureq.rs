//! The blocking transport, on ureq 3 with rustls (aws-lc-rs). Only ureq's versioned API is
//! used, so any ureq 3.x from 3.5 on builds it.
//!
//! Timeouts are per phase: `timeout_connect`, `timeout_send_request`/`timeout_send_body` and
//! `timeout_recv_response` (the header timeout), and `timeout_recv_body` (the call timeout),
//! with the whole-call deadline checked again between body reads. No deadline is set on the
//! resolve step (`timeout_global`, `timeout_per_call` and `timeout_resolve` stay unset): ureq's
//! resolver starts a thread for every request whenever a resolve deadline applies, which
//! doubled client CPU per call here (docs/transport.md). Without one it resolves on the calling
//! thread, bounded by the system resolver's own timeout, as the hyper transport does.
//!
//! `localhost` over plain HTTP is dialed as 127.0.0.1 (with `Host: localhost:PORT`), so a
//! resolver that maps `localhost` elsewhere cannot carry plain HTTP off the machine; IP
//! literals need no lookup at all.
//!
//! Reaching a bank from a data centre: the client identity goes to `TlsConfig::client_cert`,
//! the proxy to ureq's `Proxy` (a `CONNECT` tunnel for every call; `timeout_connect` bounds
//! the proxy leg too), private roots to `RootCerts`. ureq's stable API takes roots only as
//! whole certificates, so roots *added* to the public ones are passed beside the public roots
//! as certificates (`webpki-root-certs`, the same Mozilla list as `webpki-roots`). A whole
//! `rustls::ClientConfig` has no place in ureq's stable API (only in its semver-exempt
//! `unversioned` module, which would pin ureq to one minor version again), so a configuration
//! holding one is refused with [`ConfigError::Unsupported`].

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use ::ureq::http;
use ::ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
use ::ureq::{Agent, ProxyProtocol, Timeout};
use login_core::secret::SecretBytes;
use login_core::{Request, Response, TransportError, TransportErrorKind};

use crate::Proxy;
use crate::Transport;
use crate::policy::{ConfigError, MAX_HEADER_BYTES, Scheme, TransportConfig};

/// A blocking [`Transport`] on ureq 3 with rustls. Cheap to clone; clones share one agent and
/// its keep-alive pool, so the steps of a flow reuse a connection.
///
/// ```no_run
/// use login_transport::{Transport, TransportConfig, UreqTransport};
/// let transport = UreqTransport::new(TransportConfig::new("https://bank.example")?)?;
/// let cfg = login_core::forgot::Start::new("alice");
/// let realm = login_core::realm::RealmConfig::new("cap", "cap-mobile", login_core::secret::ClientSecret::new("from-env"));
/// let (request, _pending) = cfg.request_reset(&realm);
/// let response = transport.send(&request)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct UreqTransport {
    agent: Agent,
    config: Arc<TransportConfig>,
    /// What each request's URL starts with: the base URL, with plain-HTTP `localhost` pinned to
    /// 127.0.0.1 (see the module docs).
    origin_prefix: Arc<str>,
    /// `Some(authority)` when the URL's host is not the one the base URL names: the `Host`
    /// header then says the name.
    host_header: Option<Arc<str>>,
}

/// The configuration only: ureq's own `Debug` shows part of a proxy's user name.
impl std::fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UreqTransport")
            .field("config", &self.config)
            .finish()
    }
}

impl UreqTransport {
    /// Builds the agent for `config`: its roots, client identity and proxy (the environment's
    /// proxy variables are read now, when `proxy_from_env` is on).
    ///
    /// TLS runs on rustls with aws-lc-rs. ureq takes rustls' process-wide default provider, so
    /// when none is installed yet this installs aws-lc-rs's; an application that installed its
    /// own keeps it.
    ///
    /// # Errors
    /// [`ConfigError::Unsupported`] when `config` holds a whole `rustls::ClientConfig` (see
    /// the module docs); [`ConfigError::RootCertificate`] when a given root is not a usable CA
    /// certificate; [`ConfigError::ClientIdentity`] when the process's crypto provider cannot
    /// use the client key; [`ConfigError::Proxy`] when a proxy variable holds a bad URL.
    pub fn new(config: TransportConfig) -> Result<Self, ConfigError> {
        if config.rustls_config.is_some() {
            return Err(ConfigError::Unsupported {
                setting: "rustls_client_config",
                transport: "UreqTransport",
                why: "ureq's stable API takes no rustls::ClientConfig (only its semver-exempt \
                      `unversioned` API does); use HyperTransport, or the roots and \
                      client_identity settings",
            });
        }
        crate::tls::install_default_provider();
        let timeouts = config.timeouts();
        let roots = root_certs(&config)?;
        let client_cert = match &config.identity {
            None => None,
            Some(identity) => {
                // ureq panics on a key rustls refuses: check first, with the provider ureq uses.
                let provider = rustls::crypto::CryptoProvider::get_default()
                    .cloned()
                    .unwrap_or_else(crate::tls::provider);
                identity.certified_key(&provider)?;
                let chain: Vec<Certificate<'static>> = identity
                    .chain()
                    .iter()
                    .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                    .collect();
                // ureq's stable API names no key kind for DER (its `KeyKind` is not
                // exported): the key goes in as PEM, which carries the kind in its label.
                let pem = key_pem(identity.key());
                let key = PrivateKey::from_pem(pem.as_bytes()).map_err(|_| {
                    ConfigError::ClientIdentity(crate::IdentityProblem::UnusableKey)
                })?;
                Some(ClientCert::new_with_certs(&chain, key))
            }
        };
        let proxy = config
            .effective_proxy()?
            .map(|p| ureq_proxy(&p))
            .transpose()?;
        let agent_config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            // Only the proxy decided above: ureq's own reading of the environment would bypass
            // the opt-in and the loopback rule.
            .proxy(proxy)
            // Per phase only: a deadline on the resolve step would cost a thread per call.
            .timeout_connect(Some(timeouts.connect))
            .timeout_send_request(Some(timeouts.headers))
            .timeout_send_body(Some(timeouts.headers))
            .timeout_recv_response(Some(timeouts.headers))
            .timeout_recv_body(Some(timeouts.call))
            .max_response_header_size(MAX_HEADER_BYTES)
            // One host only: the per-host bound is the bound. At least one, so the steps of a
            // flow share a connection.
            .max_idle_connections(config.max_idle_connections().max(1))
            .max_idle_connections_per_host(config.max_idle_connections().max(1))
            .user_agent(config.user_agent_header())
            .tls_config(
                TlsConfig::builder()
                    .root_certs(roots)
                    .client_cert(client_cert)
                    .build(),
            )
            .build();
        let agent = Agent::new_with_config(agent_config);
        let (origin_prefix, host_header) = pinned_origin(&config);
        Ok(Self {
            agent,
            config: Arc::new(config),
            origin_prefix: origin_prefix.into(),
            host_header: host_header.map(Into::into),
        })
    }

    /// The configuration this transport enforces.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    fn run<B: ::ureq::AsSendBody>(
        &self,
        request: &Request,
        body: B,
    ) -> Result<Response, TransportError> {
        let deadline = Instant::now() + self.config.timeouts().call;
        let mut url = String::with_capacity(self.origin_prefix.len() + request.path().len());
        url.push_str(&self.origin_prefix);
        url.push_str(request.path());
        let mut builder = http::Request::builder()
            .method(request.method().as_str())
            .uri(url)
            .header(http::header::ACCEPT, "application/json");
        if let Some(host) = &self.host_header {
            builder = builder.header(http::header::HOST, host.as_ref());
        }
        for header in request.headers() {
            let name = http::HeaderName::from_bytes(header.name().as_bytes())
                .map_err(|_| invalid_header(header.name()))?;
            let mut value = http::HeaderValue::from_str(header.value())
                .map_err(|_| invalid_header(header.name()))?;
            value.set_sensitive(header.is_sensitive());
            builder = builder.header(name, value);
        }
        let http_request = builder.body(body).map_err(|e| {
            TransportError::new(
                TransportErrorKind::Other,
                format!("building the request: {e}"),
            )
        })?;
        let mut answer = self.agent.run(http_request).map_err(map_error)?;
        let mut response = Response::new(
            answer.status().as_u16(),
            read_body(&mut answer, self.config.max_body(), deadline)?,
        );
        for (name, value) in answer.headers() {
            response =
                response.with_header(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
        }
        Ok(response)
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        self.config.check_url()?;
        match request.body() {
            Some(body) => self.run(request, body),
            None => self.run(request, ()),
        }
    }
}

/// The roots: ureq's built-in public ones, the public ones as certificates plus the added
/// ones, or only the given ones.
fn root_certs(config: &TransportConfig) -> Result<RootCerts, ConfigError> {
    // ureq skips a root it cannot parse; refuse it instead, as the async transport does.
    crate::tls::check_roots(&config.extra_roots)?;
    let extra = config
        .extra_roots
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()));
    Ok(match (config.public_roots, config.extra_roots.is_empty()) {
        (true, true) => RootCerts::WebPki,
        (true, false) => {
            let certs: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()))
                .chain(extra.map(|c| c.to_owned()))
                .collect();
            RootCerts::new_with_certs(&certs)
        }
        (false, _) => {
            let certs: Vec<Certificate<'static>> = extra.map(|c| c.to_owned()).collect();
            RootCerts::new_with_certs(&certs)
        }
    })
}

/// `key` as PEM, in a buffer zeroed on drop.
fn key_pem(key: &rustls_pki_types::PrivateKeyDer<'_>) -> zeroize::Zeroizing<String> {
    use base64::Engine as _;
    let label = match key {
        rustls_pki_types::PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        rustls_pki_types::PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => "PRIVATE KEY",
    };
    let encoded =
        zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.secret_der()));
    let mut pem = zeroize::Zeroizing::new(String::with_capacity(encoded.len() * 65 / 64 + 80));
    pem.push_str("-----BEGIN ");
    pem.push_str(label);
    pem.push_str("-----\n");
    for line in encoded.as_bytes().chunks(64) {
        // Base64 is ASCII: every chunk is UTF-8.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END ");
    pem.push_str(label);
    pem.push_str("-----\n");
    pem
}

/// ureq's proxy for `proxy`: a CONNECT proxy with the decoded credentials.
fn ureq_proxy(proxy: &Proxy) -> Result<::ureq::Proxy, ConfigError> {
    let host = if proxy.host().contains(':') {
        format!("[{}]", proxy.host())
    } else {
        proxy.host().to_owned()
    };
    let mut builder = ::ureq::Proxy::builder(ProxyProtocol::Http)
        .host(&host)
        .port(proxy.port());
    if let Some((user, password)) = proxy.credentials() {
        builder = builder.username(user).password(password);
    }
    // ureq's error names no part of the URL; the proxy is shown without its credentials.
    builder
        .build()
        .map_err(|e| ConfigError::Proxy(format!("ureq refused the proxy {proxy}: {e}")))
}

/// The URL prefix and, when it differs from the base URL's host, the `Host` value: plain HTTP
/// to `localhost` goes to 127.0.0.1 (see the module docs).
fn pinned_origin(config: &TransportConfig) -> (String, Option<String>) {
    let base = &config.base;
    let is_localhost =
        base.host.eq_ignore_ascii_case("localhost") || base.host.eq_ignore_ascii_case("localhost.");
    if base.scheme == Scheme::Http && is_localhost {
        let origin = format!("http://127.0.0.1:{}{}", base.port, base.prefix);
        (origin, Some(base.authority.clone()))
    } else {
        (base.url_for(""), None)
    }
}

/// Reads at most `cap` bytes into a buffer sized once from `Content-Length`, so a body holding
/// tokens is not reallocated (and left behind) while it grows. Stops at `deadline`, the end of
/// the whole call, between reads (a single read is bounded by the body phase's timeout).
fn read_body(
    answer: &mut http::Response<::ureq::Body>,
    cap: usize,
    deadline: Instant,
) -> Result<SecretBytes, TransportError> {
    let declared = answer
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > cap as u64) {
        return Err(too_large(cap));
    }
    let hint = declared.map_or(8 * 1024, |len| len as usize);
    let mut buf = SecretBytes::new(Vec::with_capacity(hint.min(cap)));
    let mut reader = UntilDeadline {
        inner: answer.body_mut().with_config().limit(cap as u64).reader(),
        deadline,
    };
    match reader.read_to_end(buf.expose_mut()) {
        Ok(_) => Ok(buf),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut && Instant::now() >= deadline => Err(
            TransportError::new(TransportErrorKind::Timeout, "the whole call timed out"),
        ),
        Err(e) => Err(map_error(::ureq::Error::from(e))),
    }
}

/// A reader that refuses to start a read once `deadline` has passed.
struct UntilDeadline<R> {
    inner: R,
    deadline: Instant,
}

impl<R: Read> Read for UntilDeadline<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if Instant::now() >= self.deadline {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.inner.read(buf)
    }
}

fn too_large(cap: usize) -> TransportError {
    TransportError::new(
        TransportErrorKind::BodyTooLarge,
        format!("the response body exceeds the {cap}-byte cap"),
    )
}

fn invalid_header(name: &str) -> TransportError {
    // The value may be a credential: name only.
    TransportError::new(
        TransportErrorKind::Other,
        format!("header {name} has an invalid value"),
    )
}

/// Maps ureq's error onto the transport error kinds. Detail texts come from ureq and the OS,
/// never from the request.
fn map_error(error: ::ureq::Error) -> TransportError {
    use ::ureq::Error as E;
    let kind = match &error {
        E::Timeout(_) => TransportErrorKind::Timeout,
        E::HostNotFound => TransportErrorKind::Dns,
        E::ConnectionFailed => TransportErrorKind::Connect,
        E::BodyExceedsLimit(_) => TransportErrorKind::BodyTooLarge,
        E::Tls(_) | E::Pem(_) | E::Rustls(_) => TransportErrorKind::Tls,
        E::ConnectProxyFailed(_) => TransportErrorKind::Proxy,
        E::Io(io) => crate::tls::io_error_kind(io),
        E::Protocol(_) => TransportErrorKind::Other,
        _ => TransportErrorKind::Other,
    };
    let detail = match &error {
        E::Timeout(phase) => format!("{} timed out", phase_name(*phase)),
        E::BodyExceedsLimit(cap) => format!("the response body exceeds the {cap}-byte cap"),
        // ureq's reason: "proxy server responded 407/407" or "... did not respond".
        E::ConnectProxyFailed(reason) if reason.contains(" 407") => format!(
            "the proxy did not open a tunnel: {reason} (Proxy Authentication Required: check \
             the proxy credentials)"
        ),
        E::ConnectProxyFailed(reason) => format!("the proxy did not open a tunnel: {reason}"),
        other => other.to_string(),
    };
    TransportError::new(kind, detail)
}

fn phase_name(phase: Timeout) -> &'static str {
    match phase {
        Timeout::Connect => "connecting",
        Timeout::RecvResponse => "waiting for the response headers",
        Timeout::RecvBody => "reading the response body",
        Timeout::Global | Timeout::PerCall => "the whole call",
        Timeout::SendRequest | Timeout::SendBody => "sending the request",
        _ => "the call",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn ureq_errors_map_to_transport_kinds() {
        use ::ureq::Error as E;
        let cases = [
            (E::HostNotFound, TransportErrorKind::Dns),
            (E::ConnectionFailed, TransportErrorKind::Connect),
            (E::Timeout(Timeout::Connect), TransportErrorKind::Timeout),
            (E::Timeout(Timeout::Global), TransportErrorKind::Timeout),
            (E::BodyExceedsLimit(10), TransportErrorKind::BodyTooLarge),
            (E::Tls("bad certificate"), TransportErrorKind::Tls),
            (
                E::Io(io::Error::from(io::ErrorKind::ConnectionRefused)),
                TransportErrorKind::Connect,
            ),
            (
                E::Io(io::Error::from(io::ErrorKind::ConnectionReset)),
                TransportErrorKind::Reset,
            ),
            (
                E::Io(io::Error::from(io::ErrorKind::UnexpectedEof)),
                TransportErrorKind::Reset,
            ),
            (
                E::Io(io::Error::from(io::ErrorKind::TimedOut)),
                TransportErrorKind::Timeout,
            ),
            (E::Io(io::Error::other("odd")), TransportErrorKind::Other),
        ];
        for (error, kind) in cases {
            let shown = error.to_string();
            assert_eq!(map_error(error).kind, kind, "{shown}");
        }
        assert_eq!(
            map_error(E::Timeout(Timeout::RecvResponse)).detail,
            "waiting for the response headers timed out"
        );
    }

    fn config(url: &str) -> TransportConfig {
        TransportConfig::new(url).expect("a valid URL")
    }

    #[test]
    fn added_roots_join_the_public_ones_and_replacing_drops_them() {
        let roots = |cfg: TransportConfig| {
            let transport = UreqTransport::new(cfg).expect("agent");
            transport.agent.config().tls_config().root_certs().clone()
        };
        let pem = rcgen::generate_simple_self_signed(vec!["test-ca".into()])
            .expect("a certificate")
            .cert
            .pem();
        assert!(matches!(
            roots(config("https://bank.example")),
            RootCerts::WebPki
        ));
        let public = webpki_root_certs::TLS_SERVER_ROOT_CERTS.len();
        assert!(public > 100, "{public}");
        let added = config("https://bank.example")
            .add_roots_pem(pem.as_bytes())
            .expect("PEM");
        let RootCerts::Specific(certs) = roots(added) else {
            panic!("a list of roots")
        };
        assert_eq!(certs.len(), public + 1);
        let replaced = config("https://bank.example")
            .replace_roots_with_pem(pem.as_bytes())
            .expect("PEM");
        let RootCerts::Specific(certs) = roots(replaced) else {
            panic!("a list of roots")
        };
        assert_eq!(certs.len(), 1);
    }

    #[test]
    fn the_client_key_goes_to_ureq_as_the_same_key() {
        let key = rcgen::KeyPair::generate().expect("a key");
        let der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let pem = key_pem(&der);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let parsed = PrivateKey::from_pem(pem.as_bytes()).expect("PEM");
        assert_eq!(parsed.der(), der.secret_der());
    }

    #[test]
    fn no_deadline_reaches_the_resolve_step() {
        // ureq resolves on a fresh thread per call whenever one of these is set.
        let transport = UreqTransport::new(config("https://bank.example")).expect("agent");
        let timeouts = transport.agent.config().timeouts();
        assert_eq!(timeouts.global, None);
        assert_eq!(timeouts.per_call, None);
        assert_eq!(timeouts.resolve, None);
        // The phases are bounded all the same.
        let t = config("https://bank.example").timeouts();
        assert_eq!(timeouts.connect, Some(t.connect));
        assert_eq!(timeouts.recv_response, Some(t.headers));
        assert_eq!(timeouts.recv_body, Some(t.call));
    }

    #[test]
    fn plain_http_to_localhost_is_pinned_to_loopback() {
        let pinned = |url: &str| pinned_origin(&config(url));
        assert_eq!(
            pinned("http://localhost:8080/api/"),
            (
                "http://127.0.0.1:8080/api".to_owned(),
                Some("localhost:8080".to_owned())
            )
        );
        assert_eq!(
            pinned("http://LOCALHOST"),
            (
                "http://127.0.0.1:80".to_owned(),
                Some("localhost".to_owned())
            )
        );
        // HTTPS names the host it verifies; IP literals and other names go as written.
        assert_eq!(
            pinned("https://localhost:8443"),
            ("https://localhost:8443".to_owned(), None)
        );
        assert_eq!(
            pinned("http://127.0.0.9:81"),
            ("http://127.0.0.9:81".to_owned(), None)
        );
        assert_eq!(
            pinned("https://bank.example/x"),
            ("https://bank.example/x".to_owned(), None)
        );
    }
}
