//! `inspect_tls` against a real rustls server on loopback with an rcgen certificate, directly
//! and through a CONNECT proxy.

mod common;

use common::tls::TlsServer;
use login_core::TransportErrorKind;
use login_transport::{TransportConfig, inspect_tls};

#[test]
fn a_trusted_chain_verifies_and_the_handshake_is_described() {
    let server = TlsServer::start();
    let config = TransportConfig::new(&server.url())
        .expect("config")
        .replace_roots_with_pem(server.ca_pem.as_bytes())
        .expect("CA");
    let facts = inspect_tls(&config).expect("handshake").expect("https");
    assert_eq!(facts.verified, Ok(()));
    assert_eq!(facts.version, "TLSv1_3");
    assert!(
        facts.cipher_suite.starts_with("TLS13_"),
        "{}",
        facts.cipher_suite
    );
    assert!(facts.key_exchange.is_some());
    assert_eq!(
        facts.chain.len(),
        1,
        "the test server presents its leaf only"
    );
}

#[test]
fn an_untrusted_chain_is_described_with_the_reason() {
    let server = TlsServer::start();
    // The Mozilla roots: the private CA is unknown to them.
    let config = TransportConfig::new(&server.url()).expect("config");
    let facts = inspect_tls(&config).expect("handshake").expect("https");
    let why = facts.verified.expect_err("not trusted");
    assert!(why.contains("UnknownIssuer"), "{why}");
    assert_eq!(facts.chain.len(), 1);
}

#[test]
fn plain_http_has_nothing_to_inspect_and_a_closed_port_is_a_connect_error() {
    let config = TransportConfig::new("http://127.0.0.1:9").expect("config");
    assert!(inspect_tls(&config).expect("nothing sent").is_none());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let config = TransportConfig::new(&format!("https://localhost:{port}")).expect("config");
    let err = inspect_tls(&config).expect_err("refused");
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
}

#[test]
fn through_the_configured_proxy_as_the_transports_go() {
    // A host that does not resolve: only the proxy (which routes every tunnel to the front)
    // can reach it, so facts prove the handshake went through the tunnel.
    let pki = test_reach::Pki::new("bank test CA");
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let front = test_reach::TlsFront::start(
        &pki.server(&["bank.invalid"]),
        None,
        upstream.local_addr().expect("addr"),
    );
    let credentials = ("probe-user", "probe-pass-CANARY");
    let proxy = test_reach::ConnectProxy::start_with(
        Some(credentials),
        test_reach::ProxyMode::Tunnel,
        Some(front.addr()),
    );
    let config = |proxy_url: &str| {
        TransportConfig::new("https://bank.invalid")
            .expect("config")
            .replace_roots_with_pem(pki.ca_pem.as_bytes())
            .expect("CA")
            .proxy(login_transport::Proxy::new(proxy_url).expect("proxy URL"))
    };
    let facts = inspect_tls(&config(&proxy.url(Some(credentials))))
        .expect("handshake through the tunnel")
        .expect("https");
    assert_eq!(facts.verified, Ok(()));
    assert_eq!(proxy.tunnels(), 1);
    assert_eq!(proxy.targets(), ["bank.invalid:443"]);

    let err =
        inspect_tls(&config(&proxy.url(Some(("probe-user", "wrong-CANARY"))))).expect_err("407");
    assert_eq!(err.kind, TransportErrorKind::Proxy, "{err}");
    assert!(err.detail.contains("407"), "{err}");
    assert!(!format!("{err} {err:?}").contains("CANARY"), "{err}");
    assert_eq!(proxy.refused(), 1);
}

#[test]
fn a_proxy_that_never_answers_is_a_timeout_within_the_connect_timeout() {
    let proxy = test_reach::ConnectProxy::start_with(None, test_reach::ProxyMode::Silent, None);
    let config = TransportConfig::new("https://bank.invalid")
        .expect("config")
        .connect_timeout(std::time::Duration::from_millis(300))
        .proxy(login_transport::Proxy::new(&proxy.url(None)).expect("proxy URL"));
    let started = std::time::Instant::now();
    let err = inspect_tls(&config).expect_err("no answer");
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    // A hang guard, not a speed goal: far below the default header timeout.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
