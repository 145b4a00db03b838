//! The async transport: hyper 1's HTTP/1 connection API over a tokio socket, plus tokio-rustls.
//!
//! Why not a pooled client: a pool hands connections to whichever request asks next, and at high
//! concurrency hyper-util's pool opened 1.7 to 1.9 connections per in-flight flow here. A flow is
//! a short sequence of calls to one host, so [`HyperSession`] holds exactly one connection for
//! the flow and re-dials only when it is gone. When the session ends, its connection (if idle
//! and healthy) goes to a small LIFO shelf on the [`HyperTransport`], where the next session
//! takes it instead of dialing: connections are shared between flows one after another, never
//! between flows at the same time. The connection's future is polled inside the flow's own task
//! alongside each call (no `tokio::spawn`, no thread, no `spawn_blocking`; only DNS for names
//! that are not IP literals or `localhost` goes to tokio's resolver).
//!
//! Through a proxy, a dial is: TCP to the proxy, `CONNECT host:port` (with
//! `Proxy-Authorization: Basic` when the proxy URL has credentials), the proxy's answer head
//! (at most 16 KiB, a 2xx required, no byte after it), then TLS to the server inside the
//! tunnel. Plain-HTTP base URLs are tunnelled too (the requests stay in origin form), as ureq
//! does, so both transports put the same bytes on the wire. The connect timeout bounds the
//! whole dial, the proxy leg included.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use ::hyper::body::{Body, Frame, SizeHint};
use ::hyper::client::conn::http1;
use ::hyper::header::{self, HeaderName, HeaderValue};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use login_core::secret::SecretBytes;
use login_core::{Request, Response, TransportError, TransportErrorKind};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use zeroize::Zeroizing;

use crate::policy::{ConfigError, MAX_HEADER_BYTES, Scheme, TransportConfig, fixed_addresses};
use crate::proxy::host_port;
use crate::tls::io_error_kind;
use crate::tunnel::Tunnel;
use crate::{AsyncTransport, Proxy};

/// An idle connection older than this is not reused: servers close idle connections on their
/// own schedule, and a request written into a connection the server is closing is lost without
/// knowing whether it was processed. ureq uses the same age.
const MAX_IDLE: Duration = Duration::from_secs(15);

/// The async transport's shared part: configuration, TLS setup and the shelf of idle
/// connections. Cheap to clone. It is an [`AsyncTransport`] itself (each call takes a
/// shelved connection or dials), and each flow can take its own [`HyperSession`], which keeps
/// one connection for all the flow's steps. Connections belong to the tokio runtime that
/// opened them, so use one transport per runtime.
///
/// ```no_run
/// use login_transport::{AsyncTransport, HyperTransport, TransportConfig};
/// # async fn run(request: login_core::Request) -> Result<(), Box<dyn std::error::Error>> {
/// let transport = HyperTransport::new(TransportConfig::new("https://bank.example")?)?;
/// let session = transport.session(); // one per flow: one connection for all of its steps
/// let response = session.send(&request).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HyperTransport {
    inner: Arc<Shared>,
}

struct Shared {
    config: TransportConfig,
    tls: Option<TlsConnector>,
    /// The proxy every dial goes through, decided when the transport was built.
    proxy: Option<ProxyRoute>,
    /// Idle connections of finished sessions, newest last; at most `config.max_idle_connections()`.
    shelf: SyncMutex<VecDeque<Conn>>,
}

impl Shared {
    /// The newest shelved connection, if any.
    fn take_shelved(&self) -> Option<Conn> {
        self.shelf
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_back()
    }

    /// Shelves a finished session's connection if it can carry another request. Connections
    /// past their idle age are dropped from the old end first, so the shelf does not keep
    /// sockets the server has long closed.
    fn shelve(&self, conn: Conn) {
        let cap = self.config.max_idle_connections();
        if cap == 0 || !conn.can_carry_another() {
            return;
        }
        let mut shelf = self.shelf.lock().unwrap_or_else(PoisonError::into_inner);
        while shelf
            .front()
            .is_some_and(|old| old.idle_since.elapsed() >= MAX_IDLE)
        {
            shelf.pop_front();
        }
        if shelf.len() >= cap {
            shelf.pop_front();
        }
        shelf.push_back(conn);
    }
}

/// A proxy and its `Proxy-Authorization` value, computed once.
struct ProxyRoute {
    proxy: Proxy,
    authorization: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTransport")
            .field("config", &self.inner.config)
            .field("proxy", &self.inner.proxy.as_ref().map(|r| &r.proxy))
            .finish()
    }
}

impl HyperTransport {
    /// Prepares the TLS client (for `https://` base URLs) and the proxy for `config` (the
    /// environment's proxy variables are read now, when `proxy_from_env` is on).
    ///
    /// # Errors
    /// [`ConfigError::RootCertificate`] when a given root is not a usable CA certificate;
    /// [`ConfigError::ClientIdentity`] when the client key cannot be used;
    /// [`ConfigError::Conflict`] when a whole `rustls::ClientConfig` comes with root or
    /// client identity settings; [`ConfigError::Tls`] when rustls refuses the TLS
    /// configuration; [`ConfigError::Proxy`] when a proxy variable holds a bad URL.
    pub fn new(config: TransportConfig) -> Result<Self, ConfigError> {
        let tls = match config.base.scheme {
            Scheme::Http => None,
            Scheme::Https => Some(tls_connector(&config)?),
        };
        let proxy = config.effective_proxy()?.map(|proxy| ProxyRoute {
            authorization: proxy.authorization(),
            proxy,
        });
        Ok(Self {
            inner: Arc::new(Shared {
                config,
                tls,
                proxy,
                shelf: SyncMutex::new(VecDeque::new()),
            }),
        })
    }

    /// The configuration this transport enforces.
    pub fn config(&self) -> &TransportConfig {
        &self.inner.config
    }

    /// A session for one flow: on its first call it takes an idle connection a finished session
    /// left behind or opens one, and reuses it for every later call, re-dialing only when the
    /// server closed it or it sat idle too long. Dropping the session shelves its connection
    /// for the next one (see [`TransportConfig::idle_connections`]).
    pub fn session(&self) -> HyperSession {
        HyperSession {
            shared: self.inner.clone(),
            conn: Mutex::new(None),
            dialed: AtomicU64::new(0),
        }
    }
}

fn tls_connector(config: &TransportConfig) -> Result<TlsConnector, ConfigError> {
    let mut tls = match &config.rustls_config {
        Some(given) => {
            let conflict = |setting| ConfigError::Conflict {
                setting,
                with: "rustls_client_config",
                why: "a whole rustls::ClientConfig brings its own roots and client \
                      certificate; put them into it",
            };
            if config.identity.is_some() {
                return Err(conflict("client_identity"));
            }
            if !config.extra_roots.is_empty() {
                return Err(conflict(if config.public_roots {
                    "add_roots_pem"
                } else {
                    "replace_roots_with_pem"
                }));
            }
            (**given).clone()
        }
        None => {
            let provider = crate::tls::provider();
            let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| ConfigError::Tls(e.to_string()))?
                .with_root_certificates(crate::tls::root_store(config)?);
            match &config.identity {
                None => builder.with_no_client_auth(),
                Some(identity) => builder.with_client_cert_resolver(Arc::new(
                    rustls::sign::SingleCertAndKey::from(identity.certified_key(&provider)?),
                )),
            }
        }
    };
    // hyper speaks HTTP/1.1 here, whatever a given configuration offered.
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(tls)))
}

/// One flow's connection: an [`AsyncTransport`] that keeps a single HTTP/1.1 keep-alive
/// connection for all the flow's calls. Calls on one session run one at a time. On drop, an
/// idle healthy connection goes back to the transport for the next session.
pub struct HyperSession {
    shared: Arc<Shared>,
    conn: Mutex<Option<Conn>>,
    dialed: AtomicU64,
}

impl std::fmt::Debug for HyperSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperSession")
            .field("base_url", &self.shared.config.base_url())
            .field("connections_opened", &self.connections_opened())
            .finish()
    }
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

type Driver = http1::Connection<TokioIo<Box<dyn Io>>, SecretBody>;

struct Conn {
    sender: http1::SendRequest<SecretBody>,
    /// The connection's I/O future, polled alongside each call; `None` once it has ended.
    driver: Option<Pin<Box<Driver>>>,
    idle_since: Instant,
    /// True between exchanges that ended with a whole response. False while a call is under
    /// way, so a call abandoned halfway (its future dropped) leaves a connection that is never
    /// reused: its next bytes may be the rest of the abandoned response.
    idle: bool,
}

impl Conn {
    /// Whether, as far as is known without I/O, the connection can carry another request: the
    /// last call ended with a whole response, its I/O has not ended, the sender is open, and it
    /// has not idled too long.
    fn can_carry_another(&self) -> bool {
        self.idle
            && self.driver.is_some()
            && !self.sender.is_closed()
            && self.idle_since.elapsed() < MAX_IDLE
    }

    /// [`can_carry_another`](Self::can_carry_another), after a quick poll of its I/O that
    /// notices a close the server sent while the connection sat idle.
    async fn is_usable(&mut self) -> bool {
        let driver = &mut self.driver;
        let running = poll_fn(|cx| {
            Poll::Ready(match driver.as_mut() {
                Some(d) => d.as_mut().poll(cx).is_pending(),
                None => false,
            })
        })
        .await;
        running && self.can_carry_another()
    }
}

impl Drop for HyperSession {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.get_mut().take() {
            self.shared.shelve(conn);
        }
    }
}

/// What one exchange on a connection gave.
enum Exchange {
    /// The full response; `reusable` says whether the connection may carry another request.
    Done(Response, bool),
    /// The connection was closed before the request was written: safe to send on a new one.
    NotSent(::hyper::Request<SecretBody>),
}

impl HyperSession {
    /// How many connections this session has dialed: 1 for a flow that never lost its
    /// connection, 0 for one that took a connection a finished session left.
    pub fn connections_opened(&self) -> u64 {
        self.dialed.load(Ordering::Relaxed)
    }

    async fn send_inner(&self, request: &Request) -> Result<Response, TransportError> {
        let config = &self.shared.config;
        crate::observe::record_server(&config.base);
        config.check_url()?;
        let timeouts = config.timeouts();
        let deadline = Instant::now() + timeouts.call;
        let mut http_request = build_request(config, request)?;
        let mut slot = self.conn.lock().await;
        loop {
            let mut reused = match slot.as_mut() {
                Some(conn) => conn.is_usable().await,
                None => false,
            };
            // A session without a connection first tries the ones finished sessions left.
            while !reused {
                let Some(mut conn) = self.shared.take_shelved() else {
                    break;
                };
                if conn.is_usable().await {
                    *slot = Some(conn);
                    reused = true;
                }
            }
            if !reused {
                *slot = None;
                let connect_by = deadline.min(Instant::now() + timeouts.connect);
                let conn = tokio::time::timeout_at(connect_by, self.dial())
                    .await
                    .map_err(|_| timeout("connecting", timeouts.connect))??;
                self.dialed.fetch_add(1, Ordering::Relaxed);
                *slot = Some(conn);
            }
            let Some(conn) = slot.as_mut() else {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "no connection",
                ));
            };
            conn.idle = false;
            match exchange(conn, http_request, config, deadline).await {
                Ok(Exchange::Done(response, reusable)) => {
                    if reusable {
                        conn.idle = true;
                        conn.idle_since = Instant::now();
                    } else {
                        *slot = None;
                    }
                    return Ok(response);
                }
                // A reused connection closed under us before the request went out: nothing was
                // sent, so one more try on a fresh connection is safe for any step.
                Ok(Exchange::NotSent(back)) if reused => {
                    *slot = None;
                    http_request = back;
                }
                Ok(Exchange::NotSent(_)) => {
                    *slot = None;
                    return Err(TransportError::new(
                        TransportErrorKind::Reset,
                        "the new connection closed before the request was sent",
                    ));
                }
                Err(e) => {
                    *slot = None;
                    return Err(e);
                }
            }
        }
    }

    async fn dial(&self) -> Result<Conn, TransportError> {
        let base = &self.shared.config.base;
        let stream = match &self.shared.proxy {
            None => connect_tcp(&base.host, base.port, &base.host).await?,
            Some(route) => {
                let proxy = &route.proxy;
                let shown = format!("the proxy {proxy}");
                let stream = connect_tcp(proxy.host(), proxy.port(), &shown).await?;
                open_tunnel(stream, route, &host_port(&base.host, base.port)).await?
            }
        };
        let io: Box<dyn Io> = match &self.shared.tls {
            None => Box::new(stream),
            Some(tls) => {
                let name = ServerName::try_from(base.host.clone()).map_err(|e| {
                    TransportError::new(
                        TransportErrorKind::Tls,
                        format!("server name {}: {e}", base.host),
                    )
                })?;
                let tls_stream = tls.connect(name, stream).await.map_err(|e| {
                    let kind = match io_error_kind(&e) {
                        TransportErrorKind::Reset => TransportErrorKind::Reset,
                        _ => TransportErrorKind::Tls,
                    };
                    TransportError::new(kind, format!("TLS handshake with {}: {e}", base.host))
                })?;
                Box::new(tls_stream)
            }
        };
        let (sender, driver) = http1::Builder::new()
            .max_header_size(MAX_HEADER_BYTES)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| map_hyper_error(&e))?;
        Ok(Conn {
            sender,
            driver: Some(Box::pin(driver)),
            idle_since: Instant::now(),
            idle: true,
        })
    }
}

/// Resolves `host` (IP literals and `localhost` without DNS) and connects to the first address
/// that answers. `what` names the peer in errors.
async fn connect_tcp(host: &str, port: u16, what: &str) -> Result<TcpStream, TransportError> {
    let addrs: Vec<SocketAddr> = match fixed_addresses(host) {
        Some(ips) => ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect(),
        None => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| {
                TransportError::new(TransportErrorKind::Dns, format!("resolving {what}: {e}"))
            })?
            .collect(),
    };
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                // Small request/response exchanges: do not wait to coalesce segments.
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) => TransportError::new(io_connect_kind(&e), format!("connecting to {what}: {e}")),
        None => TransportError::new(TransportErrorKind::Dns, format!("{what} has no address")),
    })
}

/// Asks the proxy on `stream` for a tunnel to `target` (`host:port`) and returns the stream
/// once the proxy answered 2xx ([`Tunnel`] judges the answer). The caller's deadline bounds it.
async fn open_tunnel(
    mut stream: TcpStream,
    route: &ProxyRoute,
    target: &str,
) -> Result<TcpStream, TransportError> {
    let proxy = &route.proxy;
    let io_failed = |e: io::Error| {
        TransportError::new(
            io_connect_kind(&e),
            format!("talking to the proxy {proxy}: {e}"),
        )
    };
    let (mut tunnel, head) = Tunnel::start(
        proxy,
        target,
        route.authorization.as_deref().map(String::as_str),
    );
    stream.write_all(head.as_bytes()).await.map_err(io_failed)?;
    drop(head);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(io_failed)?;
        if tunnel.feed(&chunk[..n])? {
            return Ok(stream);
        }
    }
}

/// Each call takes a session of its own (a shelved connection, or a new one) and gives the
/// connection back to the shelf when it ends, so the transport can be shared by many tasks as
/// it is. A flow that wants one connection for all its steps uses [`HyperTransport::session`].
impl AsyncTransport for HyperTransport {
    fn send(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        let session = self.session();
        async move { session.send_inner(request).await }
    }
}

impl AsyncTransport for HyperSession {
    fn send(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        self.send_inner(request)
    }
}

fn build_request(
    config: &TransportConfig,
    request: &Request,
) -> Result<::hyper::Request<SecretBody>, TransportError> {
    let method = ::hyper::Method::from_bytes(request.method().as_str().as_bytes())
        .map_err(|_| TransportError::new(TransportErrorKind::Other, "unsupported method"))?;
    let mut builder = ::hyper::Request::builder()
        .method(method)
        .uri(config.base.target_for(request.path()))
        .header(header::HOST, config.base.authority.as_str())
        .header(header::USER_AGENT, config.user_agent_header())
        .header(header::ACCEPT, "application/json");
    for h in request.headers() {
        let name =
            HeaderName::from_bytes(h.name().as_bytes()).map_err(|_| invalid_header(h.name()))?;
        let mut value = HeaderValue::from_str(h.value()).map_err(|_| invalid_header(h.name()))?;
        value.set_sensitive(h.is_sensitive());
        builder = builder.header(name, value);
    }
    let body = SecretBody(request.body().map(|b| SecretBuf {
        bytes: SecretBytes::from(b),
        pos: 0,
    }));
    builder.body(body).map_err(|e| {
        TransportError::new(
            TransportErrorKind::Other,
            format!("building the request: {e}"),
        )
    })
}

fn invalid_header(name: &str) -> TransportError {
    // The value may be a credential: name only.
    TransportError::new(
        TransportErrorKind::Other,
        format!("header {name} has an invalid value"),
    )
}

fn timeout(phase: &str, after: Duration) -> TransportError {
    TransportError::new(
        TransportErrorKind::Timeout,
        format!("{phase} timed out after {after:?}"),
    )
}

/// Polls `fut` to completion while also polling the connection's I/O future, which moves the
/// bytes. Ends at `deadline`.
async fn drive<F: Future>(
    fut: F,
    driver: &mut Option<Pin<Box<Driver>>>,
    deadline: Instant,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut fut = pin!(fut);
    let both = poll_fn(|cx: &mut Context<'_>| {
        if let Some(d) = driver.as_mut()
            && d.as_mut().poll(cx).is_ready()
        {
            // Dropping the ended connection fails whatever still waits on it.
            *driver = None;
        }
        fut.as_mut().poll(cx)
    });
    tokio::time::timeout_at(deadline, both).await
}

async fn exchange(
    conn: &mut Conn,
    request: ::hyper::Request<SecretBody>,
    config: &TransportConfig,
    deadline: Instant,
) -> Result<Exchange, TransportError> {
    let timeouts = config.timeouts();
    let headers_by = deadline.min(Instant::now() + timeouts.headers);
    // Wait until the connection takes a request (after the previous response it must first
    // settle back to idle); a closed connection hands the request back unsent.
    let sender = &mut conn.sender;
    match drive(
        poll_fn(|cx| sender.poll_ready(cx)),
        &mut conn.driver,
        headers_by,
    )
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Ok(Exchange::NotSent(request)),
        Err(_) => return Err(timeout("waiting for the connection", timeouts.headers)),
    }
    let sent = conn.sender.try_send_request(request);
    let head = match drive(sent, &mut conn.driver, headers_by).await {
        Err(_) if headers_by < deadline => {
            return Err(timeout(
                "waiting for the response headers",
                timeouts.headers,
            ));
        }
        Err(_) => return Err(timeout("the whole call", timeouts.call)),
        Ok(Err(mut e)) => {
            return match e.take_message() {
                Some(back) => Ok(Exchange::NotSent(back)),
                None => Err(map_hyper_error(e.error())),
            };
        }
        Ok(Ok(head)) => head,
    };
    let (parts, mut body) = head.into_parts();
    let cap = config.max_body();
    let declared = body.size_hint().exact().or_else(|| {
        parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    });
    if declared.is_some_and(|len| len > cap as u64) {
        return Err(too_large(cap));
    }
    // Sized once, so a body holding tokens is not reallocated (and left behind) while it grows.
    let hint = declared.map_or(8 * 1024, |len| len as usize);
    let mut buf = SecretBytes::new(Vec::with_capacity(hint.min(cap)));
    loop {
        let frame = match drive(body.frame(), &mut conn.driver, deadline).await {
            Err(_) => return Err(timeout("the whole call", timeouts.call)),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(map_hyper_error(&e)),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > cap {
                return Err(too_large(cap));
            }
            buf.expose_mut().extend_from_slice(&data);
        }
    }
    let mut response = Response::new(parts.status.as_u16(), buf);
    for (name, value) in &parts.headers {
        response = response.with_header(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
    }
    let reusable = conn.driver.is_some() && !conn.sender.is_closed();
    Ok(Exchange::Done(response, reusable))
}

fn too_large(cap: usize) -> TransportError {
    TransportError::new(
        TransportErrorKind::BodyTooLarge,
        format!("the response body exceeds the {cap}-byte cap"),
    )
}

fn map_hyper_error(e: &::hyper::Error) -> TransportError {
    let kind = if e.is_parse() || e.is_parse_status() {
        TransportErrorKind::Other
    } else if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        TransportErrorKind::Reset
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else {
        match std::error::Error::source(e).and_then(|s| s.downcast_ref::<io::Error>()) {
            Some(io) => io_error_kind(io),
            None => TransportErrorKind::Other,
        }
    };
    let detail = match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    };
    TransportError::new(kind, detail)
}

fn io_connect_kind(e: &io::Error) -> TransportErrorKind {
    match io_error_kind(e) {
        TransportErrorKind::Reset | TransportErrorKind::Other => TransportErrorKind::Connect,
        kind => kind,
    }
}

/// A request body that zeroes its bytes on drop (it may hold a password).
struct SecretBody(Option<SecretBuf>);

struct SecretBuf {
    bytes: SecretBytes,
    pos: usize,
}

impl bytes::Buf for SecretBuf {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn chunk(&self) -> &[u8] {
        &self.bytes.expose()[self.pos..]
    }

    fn advance(&mut self, cnt: usize) {
        self.pos = (self.pos + cnt).min(self.bytes.len());
    }
}

impl Body for SecretBody {
    type Data = SecretBuf;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(self.get_mut().0.take().map(|buf| Ok(Frame::data(buf))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.bytes.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        rcgen::generate_simple_self_signed(vec!["test-ca".into()])
            .expect("a certificate")
            .cert
            .pem()
    }

    #[test]
    fn added_roots_join_the_public_ones_and_replacing_drops_them() {
        let public = webpki_roots::TLS_SERVER_ROOTS.len();
        assert!(public > 100, "{public}");
        let cfg = TransportConfig::new("https://bank.example").expect("a URL");
        let len = |cfg: &TransportConfig| crate::tls::root_store(cfg).expect("roots").len();
        assert_eq!(len(&cfg), public);
        let pem = ca_pem();
        let added = cfg.clone().add_roots_pem(pem.as_bytes()).expect("PEM");
        assert_eq!(len(&added), public + 1);
        let replaced = cfg.replace_roots_with_pem(pem.as_bytes()).expect("PEM");
        assert_eq!(len(&replaced), 1);
    }

    #[test]
    fn a_connect_failure_stays_a_connect_failure() {
        use io::ErrorKind as K;
        // A connect failure that is not a refusal is still a connect failure.
        assert_eq!(
            io_connect_kind(&io::Error::from(K::ConnectionReset)),
            TransportErrorKind::Connect
        );
    }

    #[test]
    fn secret_body_yields_its_bytes_once() {
        use bytes::Buf;
        let mut body = SecretBody(Some(SecretBuf {
            bytes: SecretBytes::from(&b"{\"a\":1}"[..]),
            pos: 0,
        }));
        assert_eq!(body.size_hint().exact(), Some(7));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) else {
            panic!()
        };
        let mut data = frame.into_data().unwrap_or_else(|_| panic!("data frame"));
        assert_eq!(data.chunk(), b"{\"a\":1}");
        data.advance(3);
        assert_eq!(data.remaining(), 4);
        assert!(body.is_end_stream());
        assert!(matches!(
            Pin::new(&mut body).poll_frame(&mut cx),
            Poll::Ready(None)
        ));
    }
}
