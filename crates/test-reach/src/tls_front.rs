//! A TLS server in front of a plain upstream, optionally demanding a client certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::pki::{Issued, Pki};
use crate::runtime;

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
    /// Starts the server with `server`'s certificate, forwarding to `upstream`.
    pub fn start(server: &Issued, client_ca: Option<&Pki>, upstream: SocketAddr) -> TlsFront {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
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

    /// Where it listens (127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Handshakes that completed.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    /// Handshakes that completed with a client certificate.
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
