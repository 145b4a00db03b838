//! Reaching a bank from a data centre, on both transports: mutual TLS against a loopback TLS
//! server that demands a client certificate, private roots added to or replacing the public
//! ones, a loopback CONNECT proxy with and without credentials, and the hardening (HTTPS rule,
//! body cap, timeouts) holding through all of it. A whole `rustls::ClientConfig` is taken by
//! the async transport and refused, typed, by the blocking one.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Client, Server, keep_alive_ok, login_request, read_request};
use login_core::TransportErrorKind;
use login_transport::{
    ClientIdentity, ConfigError, HyperTransport, Proxy, TransportConfig, UreqTransport,
};
use test_reach::{ConnectProxy, Issued, Pki, ProxyMode, TlsFront};

const BODY: &[u8] = b"{\"reached\":true}";

/// A bank behind TLS that demands a client certificate signed by `client_ca`.
struct Bank {
    pki: Pki,
    client_ca: Pki,
    front: TlsFront,
    _upstream: Server,
}

impl Bank {
    fn start() -> Bank {
        Self::start_with(true)
    }

    fn start_with(mutual: bool) -> Bank {
        let pki = Pki::new("bank test CA");
        let client_ca = Pki::new("client test CA");
        let upstream = Server::start(keep_alive_ok(BODY));
        let server = pki.server(&["localhost"]);
        let front = TlsFront::start(&server, mutual.then_some(&client_ca), upstream.addr());
        Bank {
            pki,
            client_ca,
            front,
            _upstream: upstream,
        }
    }

    fn url(&self) -> String {
        format!("https://localhost:{}", self.front.port())
    }

    /// A configuration trusting the bank's CA beside the public roots.
    fn config(&self) -> TransportConfig {
        TransportConfig::new(&self.url())
            .expect("URL")
            .add_roots_pem(self.pki.ca_pem.as_bytes())
            .expect("CA PEM")
    }

    fn identity(&self) -> ClientIdentity {
        identity(&self.client_ca.client("loginflow-client"))
    }
}

fn identity(client: &Issued) -> ClientIdentity {
    ClientIdentity::from_pem(client.cert_pem.as_bytes(), client.key_pem.as_bytes())
        .expect("client identity")
}

mod cases {
    use super::*;

    pub fn mutual_tls_with_the_identity_and_refused_without<C: Client>() {
        let bank = Bank::start();
        let ok = C::call(
            bank.config().client_identity(bank.identity()),
            &login_request(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", C::NAME));
        assert_eq!((ok.status(), ok.body()), (201, BODY), "{}", C::NAME);
        assert_eq!(bank.front.with_client_cert(), 1, "{}", C::NAME);

        let err = C::call(bank.config(), &login_request()).expect_err("no client certificate");
        assert_eq!(err.kind, TransportErrorKind::Tls, "{}: {err}", C::NAME);

        // A certificate the bank's client CA did not sign is refused too.
        let stranger = identity(&Pki::new("another CA").client("stranger"));
        let err = C::call(bank.config().client_identity(stranger), &login_request())
            .expect_err("a certificate from another CA");
        assert_eq!(err.kind, TransportErrorKind::Tls, "{}: {err}", C::NAME);
        assert_eq!(bank.front.with_client_cert(), 1, "{}", C::NAME);
    }

    pub fn added_and_replacing_roots_both_trust_the_private_ca<C: Client>() {
        let bank = Bank::start_with(false);
        let base = TransportConfig::new(&bank.url()).expect("URL");
        let ca = bank.pki.ca_pem.as_bytes();
        for (how, cfg) in [
            ("added", base.clone().add_roots_pem(ca).expect("PEM")),
            (
                "replacing",
                base.clone().replace_roots_with_pem(ca).expect("PEM"),
            ),
        ] {
            let ok =
                C::call(cfg, &login_request()).unwrap_or_else(|e| panic!("{} {how}: {e}", C::NAME));
            assert_eq!(ok.status(), 201, "{} {how}", C::NAME);
        }
        // The public roots alone do not trust it.
        let err = C::call(base, &login_request()).expect_err("public roots only");
        assert_eq!(err.kind, TransportErrorKind::Tls, "{}: {err}", C::NAME);
    }

    pub fn calls_tunnel_through_a_proxy_and_share_one_tunnel<C: Client>() {
        let bank = Bank::start_with(false);
        let proxy = ConnectProxy::start(None);
        let cfg = bank
            .config()
            .proxy(Proxy::new(&proxy.url(None)).expect("proxy URL"));
        let requests = [login_request(), login_request(), login_request()];
        for out in C::call_all(cfg, &requests) {
            let ok = out.unwrap_or_else(|e| panic!("{}: {e}", C::NAME));
            assert_eq!(ok.body(), BODY, "{}", C::NAME);
        }
        assert_eq!(proxy.tunnels(), 1, "{}", C::NAME);
        assert_eq!(
            proxy.targets(),
            [format!("localhost:{}", bank.front.port())],
            "{}",
            C::NAME
        );
        assert_eq!(bank.front.handshakes(), 1, "{}", C::NAME);
    }

    pub fn plain_http_to_loopback_tunnels_too<C: Client>() {
        let upstream = Server::start(keep_alive_ok(BODY));
        let proxy = ConnectProxy::start(None);
        let cfg = TransportConfig::new(&upstream.url())
            .expect("URL")
            .proxy(Proxy::new(&proxy.url(None)).expect("proxy URL"));
        let ok = C::call(cfg, &login_request()).unwrap_or_else(|e| panic!("{}: {e}", C::NAME));
        assert_eq!(ok.body(), BODY, "{}", C::NAME);
        assert_eq!(proxy.tunnels(), 1, "{}", C::NAME);
        assert_eq!(
            proxy.targets(),
            [upstream.addr().to_string()],
            "{}",
            C::NAME
        );
    }

    pub fn proxy_credentials_are_sent_and_checked<C: Client>() {
        let bank = Bank::start_with(false);
        let creds = ("proxy-user", "pr0xy p@ss:word");
        let proxy = ConnectProxy::start(Some(creds));
        let encoded = format!("http://proxy-user:pr0xy%20p%40ss%3Aword@{}", proxy.addr());
        let ok = C::call(
            bank.config()
                .proxy(Proxy::new(&encoded).expect("proxy URL")),
            &login_request(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", C::NAME));
        assert_eq!(ok.body(), BODY, "{}", C::NAME);
        assert_eq!((proxy.tunnels(), proxy.refused()), (1, 0), "{}", C::NAME);

        for (what, url) in [
            (
                "wrong credentials",
                proxy.url(Some(("proxy-user", "wrong"))),
            ),
            ("no credentials", proxy.url(None)),
        ] {
            let err = C::call(
                bank.config().proxy(Proxy::new(&url).expect("proxy URL")),
                &login_request(),
            )
            .expect_err(what);
            assert_eq!(
                err.kind,
                TransportErrorKind::Proxy,
                "{} {what}: {err}",
                C::NAME
            );
            assert!(err.detail.contains("407"), "{} {what}: {err}", C::NAME);
            assert!(!err.detail.contains("wrong"), "{} {what}: {err}", C::NAME);
        }
        assert_eq!((proxy.tunnels(), proxy.refused()), (1, 2), "{}", C::NAME);
        assert_eq!(bank.front.handshakes(), 1, "{}", C::NAME);
    }

    pub fn a_silent_proxy_ends_at_the_connect_timeout<C: Client>() {
        let bank = Bank::start_with(false);
        let proxy = ConnectProxy::start_with(None, ProxyMode::Silent, None);
        let cfg = bank
            .config()
            .connect_timeout(Duration::from_millis(300))
            .proxy(Proxy::new(&proxy.url(None)).expect("proxy URL"));
        let err = C::call(cfg, &login_request()).expect_err("no answer to CONNECT");
        assert_eq!(err.kind, TransportErrorKind::Timeout, "{}: {err}", C::NAME);
        assert_eq!(proxy.targets().len(), 1, "{}", C::NAME);
    }

    pub fn a_proxy_refusing_the_tunnel_is_a_proxy_error<C: Client>() {
        let bank = Bank::start_with(false);
        let proxy = ConnectProxy::start_with(None, ProxyMode::BadGateway, None);
        let cfg = bank
            .config()
            .proxy(Proxy::new(&proxy.url(None)).expect("proxy URL"));
        let err = C::call(cfg, &login_request()).expect_err("502 to CONNECT");
        assert_eq!(err.kind, TransportErrorKind::Proxy, "{}: {err}", C::NAME);
        assert!(err.detail.contains("502"), "{}: {err}", C::NAME);
        assert_eq!(bank.front.handshakes(), 0, "{}", C::NAME);
    }

    pub fn the_https_rule_holds_through_a_proxy<C: Client>() {
        let proxy = ConnectProxy::start(None);
        let via_loopback_proxy = Proxy::new(&proxy.url(None)).expect("proxy URL");
        let err = C::call(
            TransportConfig::new("http://bank.example/api")
                .expect("URL")
                .proxy(via_loopback_proxy),
            &login_request(),
        )
        .expect_err("plain HTTP to a remote host");
        assert_eq!(
            err.kind,
            TransportErrorKind::InsecureUrl,
            "{}: {err}",
            C::NAME
        );
        assert!(proxy.heads().is_empty(), "{}", C::NAME);

        // Plain HTTP to loopback, but through a proxy off the machine: refused before any
        // lookup of the proxy's name.
        let err = C::call(
            TransportConfig::new("http://127.0.0.1:9/api")
                .expect("URL")
                .proxy(Proxy::new("http://proxy.invalid:3128").expect("proxy URL")),
            &login_request(),
        )
        .expect_err("plain HTTP off the machine");
        assert_eq!(
            err.kind,
            TransportErrorKind::InsecureUrl,
            "{}: {err}",
            C::NAME
        );
    }

    pub fn the_body_cap_holds_through_a_proxy_and_mutual_tls<C: Client>() {
        let pki = Pki::new("bank test CA");
        let client_ca = Pki::new("client test CA");
        // 2 MiB, not announced: read until the cap.
        let upstream = Server::start(|mut s| {
            if read_request(&mut s).is_some() {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..32 {
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                }
            }
        });
        let front = TlsFront::start(
            &pki.server(&["localhost"]),
            Some(&client_ca),
            upstream.addr(),
        );
        let proxy = ConnectProxy::start(Some(("u", "p")));
        let cfg = TransportConfig::new(&format!("https://localhost:{}", front.port()))
            .expect("URL")
            .add_roots_pem(pki.ca_pem.as_bytes())
            .expect("PEM")
            .client_identity(identity(&client_ca.client("c")))
            .proxy(Proxy::new(&proxy.url(Some(("u", "p")))).expect("proxy URL"))
            .body_cap(16 * 1024);
        let err = C::call(cfg, &login_request()).expect_err("over the cap");
        assert_eq!(
            err.kind,
            TransportErrorKind::BodyTooLarge,
            "{}: {err}",
            C::NAME
        );
        assert_eq!(
            (proxy.tunnels(), front.with_client_cert()),
            (1, 1),
            "{}",
            C::NAME
        );
    }
}

macro_rules! reach_suite {
    ($module:ident, $client:ty, [$($case:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $case() {
                    super::cases::$case::<$client>();
                }
            )*
        }
    };
}

macro_rules! every_case {
    ($module:ident, $client:ty) => {
        reach_suite!(
            $module,
            $client,
            [
                mutual_tls_with_the_identity_and_refused_without,
                added_and_replacing_roots_both_trust_the_private_ca,
                calls_tunnel_through_a_proxy_and_share_one_tunnel,
                plain_http_to_loopback_tunnels_too,
                proxy_credentials_are_sent_and_checked,
                a_silent_proxy_ends_at_the_connect_timeout,
                a_proxy_refusing_the_tunnel_is_a_proxy_error,
                the_https_rule_holds_through_a_proxy,
                the_body_cap_holds_through_a_proxy_and_mutual_tls,
            ]
        );
    };
}

every_case!(ureq, crate::common::Ureq);
every_case!(hyper, crate::common::Hyper);

/// A server-certificate verifier that accepts exactly one certificate (pinning), counting its
/// calls: proof that the transport used the configuration it was given.
#[derive(Debug)]
struct Pinned {
    der: Vec<u8>,
    calls: Arc<AtomicUsize>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if end_entity.as_ref() == self.der.as_slice() {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client configuration pinning `der`, with its verifier's call counter.
fn pinning(der: &[u8]) -> (Arc<rustls::ClientConfig>, Arc<AtomicUsize>) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let calls = Arc::new(AtomicUsize::new(0));
    let verifier = Pinned {
        der: der.to_vec(),
        calls: calls.clone(),
        provider: provider.clone(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    (Arc::new(config), calls)
}

#[test]
fn hyper_uses_a_whole_client_config_pinning_included() {
    use common::Hyper;
    let pki = Pki::new("bank test CA");
    let server = pki.server(&["localhost"]);
    let upstream = Server::start(keep_alive_ok(BODY));
    let front = TlsFront::start(&server, None, upstream.addr());
    let url = format!("https://localhost:{}", front.port());

    // Pinned to the server's certificate: trusted with no root at all.
    let (pinned, calls) = pinning(server.cert_der().as_ref());
    let cfg = TransportConfig::new(&url)
        .expect("URL")
        .rustls_client_config(pinned);
    let ok = Hyper::call(cfg, &login_request()).expect("the pinned certificate");
    assert_eq!(ok.body(), BODY);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Pinned to another certificate: refused by that verifier, though the public roots and
    // this CA would not have been asked.
    let other = pki.server(&["localhost"]);
    let (elsewhere, calls) = pinning(other.cert_der().as_ref());
    let cfg = TransportConfig::new(&url)
        .expect("URL")
        .rustls_client_config(elsewhere);
    let err = Hyper::call(cfg, &login_request()).expect_err("a different pin");
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn hyper_refuses_a_whole_client_config_beside_roots_or_an_identity() {
    let (config, _) = pinning(b"unused");
    let base = TransportConfig::new("https://bank.example")
        .expect("URL")
        .rustls_client_config(config);
    let client_ca = Pki::new("client test CA");
    let with_identity = base
        .clone()
        .client_identity(identity(&client_ca.client("c")));
    let with_roots = base
        .clone()
        .add_roots_pem(client_ca.ca_pem.as_bytes())
        .expect("PEM");
    for (cfg, setting) in [
        (with_identity, "client_identity"),
        (with_roots, "add_roots_pem"),
    ] {
        match HyperTransport::new(cfg) {
            Err(ConfigError::Conflict {
                setting: s, with, ..
            }) => {
                assert_eq!((s, with), (setting, "rustls_client_config"));
            }
            other => panic!("{setting}: {other:?}"),
        }
    }
    assert!(HyperTransport::new(base).is_ok());
}

#[test]
fn ureq_refuses_a_whole_client_config_typed() {
    let (config, _) = pinning(b"unused");
    let cfg = TransportConfig::new("https://bank.example")
        .expect("URL")
        .rustls_client_config(config);
    let err = UreqTransport::new(cfg).expect_err("ureq cannot take it");
    assert!(
        matches!(
            err,
            ConfigError::Unsupported {
                setting: "rustls_client_config",
                transport: "UreqTransport",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("HyperTransport"), "{err}");
}

#[test]
fn client_identities_are_checked_when_read() {
    let pki = Pki::new("client test CA");
    let one = pki.client("one");
    let two = pki.client("two");
    let read = |chain: &str, key: &str| {
        ClientIdentity::from_pem(chain.as_bytes(), key.as_bytes()).map(|_| ())
    };
    use login_transport::IdentityProblem as P;
    let problem = |r: Result<(), ConfigError>| match r {
        Err(ConfigError::ClientIdentity(p)) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(problem(read(&one.cert_pem, &two.key_pem)), P::KeyMismatch);
    assert_eq!(problem(read("", &one.key_pem)), P::NoCertificate);
    assert_eq!(problem(read(&one.cert_pem, &one.cert_pem)), P::NoKey);
    assert_eq!(
        problem(read(
            &one.cert_pem,
            &format!("{}{}", one.key_pem, two.key_pem)
        )),
        P::SeveralKeys
    );
    assert_eq!(
        problem(read(
            &one.cert_pem,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        )),
        P::EncryptedKey
    );
    assert_eq!(
        problem(read(
            &one.cert_pem,
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n"
        )),
        P::Pem { which: "key" }
    );
    // One file holding both, passed twice, is fine.
    let both = format!("{}{}", one.cert_pem, one.key_pem);
    assert!(read(&both, &both).is_ok());
}
