//! The blocking transport, on ureq 3 with rustls.
//!
//! Timeouts: `timeout_connect`, `timeout_recv_response` and the whole-call bound as
//! `timeout_global`. ureq's default resolver starts a thread for every request whenever a
//! resolve deadline applies (`timeout_global` makes one apply), which doubled client CPU per
//! call here. So the agent gets [`InlineResolver`] instead: IP literals and `localhost` need no
//! lookup at all (and `localhost` is pinned to loopback), other names go to the system resolver
//! on the calling thread, bounded by the resolver's own timeout rather than ours. The whole-call
//! deadline then holds exactly for connect, send, headers and body, with no thread per call.
//!
//! Socket timeouts: ureq arms each read and write with the time left before the nearest
//! deadline, and re-arms the socket (a `setsockopt`) whenever that value changes, which with a
//! whole-call deadline is before nearly every read and write: about 2.9 system calls per call,
//! measurable beside a loopback round trip. [`SteadyTimeouts`] rounds the time left down to
//! 10 ms when it is a second or more, so consecutive calls ask for the same value and the
//! socket keeps it. A deadline can only fire up to 10 ms early, never late.

use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use ::ureq::http;
use ::ureq::tls::{Certificate, RootCerts, TlsConfig};
use ::ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ::ureq::unversioned::transport::time::Duration as UreqDuration;
use ::ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport as UreqIo,
};
use ::ureq::{Agent, Timeout};
use login_core::secret::SecretBytes;
use login_core::{Request, Response, TransportError, TransportErrorKind};

use crate::Transport;
use crate::policy::{ConfigError, MAX_HEADER_BYTES, TransportConfig, fixed_addresses};

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
#[derive(Clone, Debug)]
pub struct UreqTransport {
    agent: Agent,
    config: Arc<TransportConfig>,
}

impl UreqTransport {
    /// Builds the agent for `config`.
    pub fn new(config: TransportConfig) -> Result<Self, ConfigError> {
        let timeouts = config.timeouts();
        let roots = if config.custom_roots.is_empty() {
            RootCerts::WebPki
        } else {
            let certs: Vec<Certificate<'static>> = config
                .custom_roots
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                .collect();
            RootCerts::new_with_certs(&certs)
        };
        let agent_config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            // Environment proxies would bypass the HTTPS and loopback rules checked here.
            .proxy(None)
            .timeout_global(Some(timeouts.call))
            .timeout_connect(Some(timeouts.connect))
            .timeout_recv_response(Some(timeouts.headers))
            .max_response_header_size(MAX_HEADER_BYTES)
            // One host only: the per-host bound is the bound. At least one, so the steps of a
            // flow share a connection.
            .max_idle_connections(config.max_idle_connections().max(1))
            .max_idle_connections_per_host(config.max_idle_connections().max(1))
            .user_agent(config.user_agent_header())
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build();
        let agent = Agent::with_parts(
            agent_config,
            DefaultConnector::new().chain(SteadyTimeouts),
            InlineResolver,
        );
        Ok(Self {
            agent,
            config: Arc::new(config),
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
        let url = self.config.base.url_for(request.path());
        let mut builder = http::Request::builder()
            .method(request.method().as_str())
            .uri(url)
            .header(http::header::ACCEPT, "application/json");
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
            read_body(&mut answer, self.config.max_body())?,
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

/// Reads at most `cap` bytes into a buffer sized once from `Content-Length`, so a body holding
/// tokens is not reallocated (and left behind) while it grows.
fn read_body(
    answer: &mut http::Response<::ureq::Body>,
    cap: usize,
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
    let mut reader = answer.body_mut().with_config().limit(cap as u64).reader();
    reader
        .read_to_end(buf.expose_mut())
        .map_err(|e| map_error(::ureq::Error::from(e)))?;
    Ok(buf)
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
        E::Io(io) => crate::hyper::io_error_kind(io),
        E::Protocol(_) => TransportErrorKind::Other,
        _ => TransportErrorKind::Other,
    };
    let detail = match &error {
        E::Timeout(phase) => format!("{} timed out", phase_name(*phase)),
        E::BodyExceedsLimit(cap) => format!("the response body exceeds the {cap}-byte cap"),
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

/// Wraps every connection in [`Steady`]: see the module docs.
#[derive(Debug)]
struct SteadyTimeouts;

impl<In: UreqIo> Connector<In> for SteadyTimeouts {
    type Out = Steady<In>;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ::ureq::Error> {
        Ok(chained.map(|inner| Steady { inner }))
    }
}

/// A connection whose read and write timeouts are rounded by [`steady`].
#[derive(Debug)]
struct Steady<T> {
    inner: T,
}

/// Timeouts of at least this much are rounded down to a multiple of [`STEP`].
const ROUND_FROM: std::time::Duration = std::time::Duration::from_secs(1);
/// The rounding step: how early a deadline may fire at most.
const STEP: std::time::Duration = std::time::Duration::from_millis(10);

/// `timeout` with its time left rounded down to [`STEP`] when it is at least [`ROUND_FROM`].
/// Rounding down keeps every deadline: the socket gives up at most `STEP` early.
fn steady(mut timeout: NextTimeout) -> NextTimeout {
    if let UreqDuration::Exact(left) = timeout.after {
        if left >= ROUND_FROM {
            // The remainder is below one step, so it fits any integer type.
            let excess = left.as_nanos() % STEP.as_nanos();
            timeout.after =
                UreqDuration::Exact(left - std::time::Duration::from_nanos(excess as u64));
        }
    }
    timeout
}

impl<T: UreqIo> UreqIo for Steady<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> Result<(), ::ureq::Error> {
        self.inner.transmit_output(amount, steady(timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ::ureq::Error> {
        self.inner.await_input(steady(timeout))
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// A resolver that never spawns a thread: see the module docs.
#[derive(Debug)]
struct InlineResolver;

impl Resolver for InlineResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        _config: &::ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ::ureq::Error> {
        let host = uri.host().ok_or(::ureq::Error::HostNotFound)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = match uri.port_u16() {
            Some(p) => p,
            None if uri.scheme_str() == Some("https") => 443,
            None => 80,
        };
        let mut out = self.empty();
        match fixed_addresses(host) {
            Some(ips) => {
                for ip in ips {
                    out.push(SocketAddr::new(ip, port));
                }
            }
            None => {
                let found = (host, port)
                    .to_socket_addrs()
                    .map_err(|_| ::ureq::Error::HostNotFound)?;
                for addr in found {
                    if out.try_push(addr).is_err() {
                        break;
                    }
                }
            }
        }
        if out.is_empty() {
            Err(::ureq::Error::HostNotFound)
        } else {
            Ok(out)
        }
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

    #[test]
    fn steady_timeouts_round_down_long_waits_only() {
        use std::time::Duration as D;
        let after = |d: UreqDuration| {
            steady(NextTimeout {
                after: d,
                ..NextTimeout::default()
            })
            .after
        };
        let exact = |d: D| UreqDuration::Exact(d);
        // Two calls a few microseconds apart ask for the same socket timeout.
        assert_eq!(
            after(exact(D::from_nanos(19_999_987_654))),
            exact(D::from_millis(19_990))
        );
        assert_eq!(
            after(exact(D::from_nanos(19_999_912_345))),
            exact(D::from_millis(19_990))
        );
        assert_eq!(after(exact(D::from_secs(1))), exact(D::from_secs(1)));
        // Never later than asked, never more than one step earlier.
        for nanos in [1_000_000_001u64, 5_555_555_555, 86_400_000_000_123] {
            let UreqDuration::Exact(got) = after(exact(D::from_nanos(nanos))) else {
                panic!("exact in, exact out");
            };
            assert!(got <= D::from_nanos(nanos) && D::from_nanos(nanos) - got < STEP);
        }
        // Short waits stay exact, so a tight deadline is not cut to nothing.
        assert_eq!(
            after(exact(D::from_nanos(999_999_999))),
            exact(D::from_nanos(999_999_999))
        );
        assert_eq!(after(exact(D::ZERO)), exact(D::ZERO));
        assert_eq!(
            after(UreqDuration::NotHappening),
            UreqDuration::NotHappening
        );
    }

    #[test]
    fn the_resolver_pins_localhost_and_reads_ip_literals_without_lookup() {
        let resolve = |url: &str| {
            let uri: http::Uri = url.parse().unwrap();
            let config = ::ureq::config::Config::default();
            InlineResolver
                .resolve(&uri, &config, NextTimeout::default())
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            resolve("http://localhost:8080/x"),
            [
                "127.0.0.1:8080".parse().unwrap(),
                "[::1]:8080".parse().unwrap()
            ]
        );
        assert_eq!(
            resolve("https://127.0.0.9/"),
            ["127.0.0.9:443".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            resolve("http://[::1]/"),
            ["[::1]:80".parse::<SocketAddr>().unwrap()]
        );
    }
}
