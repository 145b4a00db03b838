//! What reaching a bank from a data centre needs, on loopback: a private CA (rcgen) that signs
//! server and client certificates, a TLS server that demands a client certificate and
//! forwards the decrypted bytes to a plain upstream (a scripted server or the sandbox), and an
//! HTTP CONNECT proxy that counts its tunnels and checks `Proxy-Authorization`.
//!
//! Self-contained (rcgen, rustls, tokio, tokio-rustls, base64), so the CLI's tests include it
//! too (`#[path]`). Every server runs on its own small tokio runtime, bound to 127.0.0.1:0, and
//! stops when dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A private certificate authority.
pub struct Pki {
    params: CertificateParams,
    key: KeyPair,
    /// The CA certificate, PEM.
    pub ca_pem: String,
    ca_der: CertificateDer<'static>,
}

/// A certificate and its key.
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The key, PKCS#8 PEM.
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Issued {
    /// The certificate, DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA cert");
        Pki {
            ca_pem: cert.pem(),
            ca_der: cert.der().clone(),
            params,
            key,
        }
    }

    fn issue(&self, params: CertificateParams) -> Issued {
        let key = KeyPair::generate().expect("leaf key");
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("leaf cert");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Issued {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// A client certificate for `name`.
    pub fn client(&self, name: &str) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A TLS server on 127.0.0.1 with a certificate from `pki`; when `client_ca` is given it
/// demands a client certificate that CA signed. Each connection's decrypted bytes go to
/// `upstream` and back.
pub struct TlsFront {
    rt: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    /// Handshakes that completed.
    handshakes: Arc<AtomicUsize>,
    /// Handshakes that completed with a client certificate.
    with_client_cert: Arc<AtomicUsize>,
}

impl TlsFront {
    pub fn start(server: &Issued, client_ca: Option<&Pki>, upstream: SocketAddr) -> TlsFront {
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca.ca_der.clone()).expect("client CA");
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
            .with_single_cert(
                vec![server.cert_der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.key_der.clone())),
            )
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let rt = runtime();
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let with_client_cert = Arc::new(AtomicUsize::new(0));
        let (done, certified) = (handshakes.clone(), with_client_cert.clone());
        rt.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let (done, certified) = (done.clone(), certified.clone());
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).into_fallible().await {
                        Ok(tls) => tls,
                        Err((_, mut tcp)) => {
                            // The alert is sent; close lingering (read until the client
                            // closes), as HTTP servers do, so the client reads the alert rather
                            // than meeting a reset while it writes its request.
                            let mut sink = [0u8; 1024];
                            while let Ok(n) = tcp.read(&mut sink).await {
                                if n == 0 {
                                    break;
                                }
                            }
                            return;
                        }
                    };
                    done.fetch_add(1, Ordering::SeqCst);
                    if tls.get_ref().1.peer_certificates().is_some() {
                        certified.fetch_add(1, Ordering::SeqCst);
                    }
                    let Ok(mut plain) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront {
            rt: Some(rt),
            addr,
            handshakes,
            with_client_cert,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    pub fn with_client_cert(&self) -> usize {
        self.with_client_cert.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// How the proxy treats a `CONNECT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    /// Opens the tunnel (to the requested target, or to `route_to` when set).
    Tunnel,
    /// Reads the request and never answers.
    Silent,
    /// Answers 502.
    BadGateway,
}

/// A loopback HTTP CONNECT proxy.
pub struct ConnectProxy {
    rt: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    tunnels: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
    /// Every request head received, for checks on what went over the wire.
    heads: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    /// A proxy that tunnels to the requested target; with `credentials` (`user`, `password`)
    /// it answers 407 to a `CONNECT` without the matching `Proxy-Authorization: Basic`.
    pub fn start(credentials: Option<(&str, &str)>) -> ConnectProxy {
        Self::start_with(credentials, ProxyMode::Tunnel, None)
    }

    /// As [`start`](Self::start), with a mode and, optionally, one address every tunnel goes
    /// to whatever the target (so a test can name a host that does not resolve).
    pub fn start_with(
        credentials: Option<(&str, &str)>,
        mode: ProxyMode,
        route_to: Option<SocketAddr>,
    ) -> ConnectProxy {
        let expected = credentials.map(|(user, password)| {
            format!(
                "basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        });
        let rt = runtime();
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let tunnels = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let state = (
            tunnels.clone(),
            refused.clone(),
            targets.clone(),
            heads.clone(),
        );
        rt.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let expected = expected.clone();
                let (tunnels, refused, targets, heads) = state.clone();
                tokio::spawn(async move {
                    let mut client = client;
                    let Some(head) = read_head(&mut client).await else {
                        return;
                    };
                    heads.lock().expect("heads").push(head.clone());
                    let mut lines = head.lines();
                    let request = lines.next().unwrap_or_default().to_owned();
                    let mut parts = request.split_whitespace();
                    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
                        let _ = client
                            .write_all(
                                b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n",
                            )
                            .await;
                        return;
                    };
                    targets.lock().expect("targets").push(target.to_owned());
                    let authorization = lines.find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.trim()
                            .eq_ignore_ascii_case("proxy-authorization")
                            .then(|| value.trim().to_owned())
                    });
                    if let Some(expected) = &expected {
                        // The scheme is case-insensitive, the credentials are not.
                        let given = authorization.map(|v| match v.split_once(' ') {
                            Some((scheme, rest)) => format!("{} {rest}", scheme.to_lowercase()),
                            None => v,
                        });
                        if given.as_deref() != Some(expected.as_str()) {
                            refused.fetch_add(1, Ordering::SeqCst);
                            let _ = client
                                .write_all(
                                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                                      proxy-authenticate: Basic realm=\"test\"\r\n\
                                      content-length: 0\r\n\r\n",
                                )
                                .await;
                            return;
                        }
                    }
                    match mode {
                        ProxyMode::Silent => {
                            // Hold the connection open, answering nothing.
                            let mut sink = [0u8; 64];
                            while let Ok(n) = client.read(&mut sink).await {
                                if n == 0 {
                                    break;
                                }
                            }
                            return;
                        }
                        ProxyMode::BadGateway => {
                            let _ = client
                                .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                                .await;
                            return;
                        }
                        ProxyMode::Tunnel => {}
                    }
                    let upstream = match route_to {
                        Some(addr) => TcpStream::connect(addr).await,
                        None => TcpStream::connect(target).await,
                    };
                    let Ok(mut upstream) = upstream else {
                        let _ = client
                            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                            .await;
                        return;
                    };
                    tunnels.fetch_add(1, Ordering::SeqCst);
                    if client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        ConnectProxy {
            rt: Some(rt),
            addr,
            tunnels,
            refused,
            targets,
            heads,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, with `user:password@` when given.
    pub fn url(&self, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((user, password)) => format!("http://{user}:{password}@{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    /// Tunnels opened.
    pub fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }

    /// CONNECTs answered 407.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// The `CONNECT` targets asked for, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().expect("targets").clone()
    }

    /// The request heads received.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A request head, byte by byte up to the blank line (so nothing of the tunnel is consumed).
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}
