//! What a server's TLS looks like from this client: one handshake to the base URL's host, with
//! the roots the transports trust, and nothing sent after it but `close_notify`. For onboarding
//! tools (`loginflow probe`): the protocol version, the cipher suite, the key exchange, the
//! certificate chain as presented, and whether it verified for the host.
//!
//! Unlike the transports, the handshake completes even when the chain does not verify (the
//! verdict is recorded instead), so a report can say *why* a bank's UAT certificate is refused:
//! no request, header or credential ever goes over this connection.
//!
//! ```no_run
//! use login_transport::{TransportConfig, inspect_tls};
//! let config = TransportConfig::new("https://bank.example/internal-api/centaur")?;
//! let facts = inspect_tls(&config)?.expect("an https URL");
//! println!("{} {} chain of {}", facts.version, facts.cipher_suite, facts.chain.len());
//! assert!(facts.verified.is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use login_core::{TransportError, TransportErrorKind};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::policy::{Scheme, TransportConfig};
use crate::proxy::{Proxy, host_port};
use crate::tunnel::Tunnel;

/// What one TLS handshake showed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsFacts {
    /// The protocol version, `TLSv1_3` or `TLSv1_2`.
    pub version: String,
    /// The negotiated cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The key exchange group, e.g. `X25519MLKEM768`, when the library reports one.
    pub key_exchange: Option<String>,
    /// The certificates as the server presented them, leaf first (DER).
    pub chain: Vec<CertificateDer<'static>>,
    /// Whether the chain verified for the host against the roots the transports trust (the
    /// Mozilla roots unless replaced, and the configured private CAs), and if not, why.
    pub verified: Result<(), String>,
}

/// Connects once to `config`'s host and port (through the proxy the transports would use, see
/// [`TransportConfig::effective_proxy`]) and performs a TLS handshake with the roots and client
/// certificate the transports use, within the connect and header timeouts (the proxy leg within
/// the connect timeout, as the transports bound it). `Ok(None)` for a plain `http:`
/// base URL (no TLS to inspect).
///
/// # Errors
/// A [`TransportError`] when the host does not resolve, refuses or times out, or the
/// handshake itself fails (no shared protocol version or cipher suite, a reset). A chain that
/// does not verify is not an error here: it is [`TlsFacts::verified`].
pub fn inspect_tls(config: &TransportConfig) -> Result<Option<TlsFacts>, TransportError> {
    let base = &config.base;
    if base.scheme == Scheme::Http {
        return Ok(None);
    }
    let timeouts = config.timeouts();
    let provider = crate::tls::provider();
    // The roots the transports trust (public unless replaced, plus the given ones); a whole
    // rustls configuration, when one was given, keeps its own (inspected with the public ones).
    let roots = crate::tls::root_store(config).map_err(|e| tls_error(&e))?;
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| tls_error(&e))?;
    let verifier = Arc::new(Recording {
        inner: webpki,
        verdict: Mutex::new(None),
    });
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(&e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    // A server that asks for a client certificate gets the configured one, as the transports
    // would present it.
    let tls = match &config.identity {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            builder.with_client_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(
                identity
                    .certified_key(&provider)
                    .map_err(|e| tls_error(&e))?,
            )))
        }
    };
    let name = ServerName::try_from(base.host.clone()).map_err(|e| {
        TransportError::new(TransportErrorKind::Tls, format!("not a server name: {e}"))
    })?;
    let mut conn = rustls::ClientConnection::new(Arc::new(tls), name).map_err(|e| tls_error(&e))?;

    // Where the transports would go: the server, or the proxy they would tunnel through.
    let proxy = config
        .effective_proxy()
        .map_err(|e| TransportError::new(TransportErrorKind::Proxy, e.to_string()))?;
    let (host, port) = match &proxy {
        Some(proxy) => (proxy.host(), proxy.port()),
        None => (base.host.as_str(), base.port),
    };
    let address = (host, port)
        .to_socket_addrs()
        .map_err(|e| TransportError::new(TransportErrorKind::Dns, e.to_string()))?
        .next()
        .ok_or_else(|| TransportError::new(TransportErrorKind::Dns, "no address"))?;
    let mut socket = TcpStream::connect_timeout(&address, timeouts.connect)
        .map_err(|e| io_error(&e, "connect"))?;
    socket
        .set_read_timeout(Some(timeouts.headers))
        .and_then(|()| socket.set_write_timeout(Some(timeouts.headers)))
        .map_err(|e| io_error(&e, "configure the socket"))?;
    if let Some(proxy) = &proxy {
        let deadline = Instant::now() + timeouts.connect;
        open_tunnel(
            &mut socket,
            proxy,
            &host_port(&base.host, base.port),
            deadline,
        )?;
        socket
            .set_read_timeout(Some(timeouts.headers))
            .map_err(|e| io_error(&e, "configure the socket"))?;
    }
    while conn.is_handshaking() {
        conn.complete_io(&mut socket)
            .map_err(|e| io_error(&e, "TLS handshake"))?;
    }
    let facts = TlsFacts {
        version: conn
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default(),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default(),
        key_exchange: conn
            .negotiated_key_exchange_group()
            .map(|g| format!("{:?}", g.name())),
        chain: conn
            .peer_certificates()
            .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
            .unwrap_or_default(),
        verified: verifier
            .verdict
            .lock()
            .map(|v| v.clone())
            .unwrap_or(None)
            .unwrap_or_else(|| Err("the server presented no certificate".into())),
    };
    // Polite close; the facts are in hand whatever happens to it.
    conn.send_close_notify();
    let _ = conn.complete_io(&mut socket);
    let _ = socket.flush();
    Ok(Some(facts))
}

/// Asks `proxy` on `socket` for a tunnel to `target`, as the transports do ([`Tunnel`]), by
/// `deadline` (a proxy that drips its answer a byte at a time does not hold the probe longer).
fn open_tunnel(
    socket: &mut TcpStream,
    proxy: &Proxy,
    target: &str,
    deadline: Instant,
) -> Result<(), TransportError> {
    let authorization = proxy.authorization();
    let (mut tunnel, head) =
        Tunnel::start(proxy, target, authorization.as_deref().map(String::as_str));
    socket
        .write_all(head.as_bytes())
        .map_err(|e| io_error(&e, "talking to the proxy"))?;
    drop(head);
    let mut chunk = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TransportError::new(
                TransportErrorKind::Timeout,
                format!("the proxy {proxy} did not answer CONNECT {target} in time"),
            ));
        }
        let n = socket
            .set_read_timeout(Some(left))
            .and_then(|()| socket.read(&mut chunk))
            .map_err(|e| io_error(&e, "talking to the proxy"))?;
        if tunnel.feed(&chunk[..n])? {
            return Ok(());
        }
    }
}

fn tls_error(e: &dyn std::fmt::Display) -> TransportError {
    TransportError::new(TransportErrorKind::Tls, e.to_string())
}

fn io_error(e: &std::io::Error, during: &str) -> TransportError {
    TransportError::new(crate::tls::io_error_kind(e), format!("{during}: {e}"))
}

/// A verifier that asks webpki and records its verdict instead of failing the handshake;
/// signatures are still checked by webpki's rules (the handshake proves the key).
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    verdict: Mutex<Option<Result<(), String>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ())
            .map_err(|e| e.to_string());
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(verdict);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
