//! Proxy credentials and the client key never appear in `Debug`, in error texts or in the logs
//! (tracing, and the `log` records of ureq and rustls), whether the call succeeds or fails, on
//! both transports. A test binary of its own: it installs a process-wide subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use common::{Client, Hyper, Server, Ureq, keep_alive_ok, login_request};
use login_core::realm::{RealmConfig, Start};
use login_core::secret::{ClientSecret, Password};
use login_core::{Bank, Runner};
use login_transport::{
    AsyncTransport as _, ClientIdentity, Driver, HyperTransport, NoInteraction, Proxy,
    TransportConfig, UreqTransport,
};
use test_reach::{ConnectProxy, Pki, TlsFront};

const USER: &str = "canary-proxy-user";
const PASSWORD: &str = "canary-proxy-pass";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged in this process, at every level, `log` records included.
fn captured() -> &'static Buffer {
    static LOG: OnceLock<Buffer> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        // `try_init` also routes the `log` crate (ureq, rustls) into tracing.
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .try_init()
            .expect("the only subscriber in this binary");
        buffer
    })
}

/// The secrets: the proxy credentials (as given and as sent) and every line of the key PEM.
fn canaries(key_pem: &str) -> Vec<String> {
    let mut out = vec![
        USER.to_owned(),
        PASSWORD.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")),
    ];
    out.extend(
        key_pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 16)
            .map(str::to_owned),
    );
    out
}

fn assert_clean(what: &str, text: &str, canaries: &[String]) {
    for canary in canaries {
        assert!(
            !text.contains(canary.as_str()),
            "{what} shows {canary}:\n{text}"
        );
    }
}

#[test]
fn proxy_credentials_and_the_client_key_never_show() {
    let log = captured();
    let pki = Pki::new("bank test CA");
    let client_ca = Pki::new("client test CA");
    let client = client_ca.client("loginflow-client");
    let canaries = canaries(&client.key_pem);
    let upstream = Server::start(keep_alive_ok(b"{}"));
    let front = TlsFront::start(
        &pki.server(&["localhost"]),
        Some(&client_ca),
        upstream.addr(),
    );
    let proxy = ConnectProxy::start(Some((USER, PASSWORD)));
    let wrong_proxy = ConnectProxy::start(Some(("someone", "else")));
    let identity = ClientIdentity::from_pem(client.cert_pem.as_bytes(), client.key_pem.as_bytes())
        .expect("identity");
    let config = |proxy: &ConnectProxy| {
        TransportConfig::new(&format!("https://localhost:{}", front.port()))
            .expect("URL")
            .add_roots_pem(pki.ca_pem.as_bytes())
            .expect("PEM")
            .client_identity(identity.clone())
            .proxy(Proxy::new(&proxy.url(Some((USER, PASSWORD)))).expect("proxy URL"))
    };

    let mut shown = Vec::new();
    // Debug of every type that holds them.
    let good = config(&proxy);
    shown.push(("TransportConfig", format!("{good:?} {good:#?}")));
    shown.push(("ClientIdentity", format!("{identity:?} {identity:#?}")));
    let ureq = UreqTransport::new(good.clone()).expect("ureq");
    shown.push(("UreqTransport", format!("{ureq:?} {ureq:#?}")));
    let hyper = HyperTransport::new(good.clone()).expect("hyper");
    shown.push(("HyperTransport", format!("{hyper:?} {hyper:#?}")));
    shown.push(("HyperSession", format!("{:?}", hyper.session())));

    // Successful calls (the handshakes and tunnels are logged).
    for result in [
        Ureq::call(good.clone(), &login_request()),
        Hyper::call(good.clone(), &login_request()),
    ] {
        assert_eq!(result.expect("through the proxy, with mTLS").status(), 201);
    }
    assert_eq!((proxy.tunnels(), front.with_client_cert()), (2, 2));

    // Failing calls: a proxy that wants other credentials, and a bank that refuses the key.
    let refused = config(&wrong_proxy);
    let stranger = Pki::new("another CA").client("stranger");
    let stranger =
        ClientIdentity::from_pem(stranger.cert_pem.as_bytes(), stranger.key_pem.as_bytes())
            .expect("identity");
    let untrusted = config(&proxy).client_identity(stranger);
    for cfg in [refused, untrusted] {
        for result in [
            Ureq::call(cfg.clone(), &login_request()),
            Hyper::call(cfg.clone(), &login_request()),
        ] {
            let err = result.expect_err("refused");
            let core = login_core::Error::from(err.clone());
            shown.push(("transport error", format!("{err} {err:?} {core} {core:?}")));
        }
    }
    assert_eq!(wrong_proxy.refused(), 2);

    // A whole login through the driver, refused by the proxy: its spans and events.
    let realm = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("client-secret"));
    let driver = Driver::new(UreqTransport::new(config(&wrong_proxy)).expect("ureq"));
    let stopped = driver
        .login(
            Bank::Realm(&realm),
            Runner::login(Start::new("alice", Password::new("password"))),
            &mut NoInteraction,
        )
        .expect_err("the proxy refuses");
    shown.push(("Stopped", format!("{stopped} {stopped:?}")));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let err = rt
        .block_on(async {
            HyperTransport::new(config(&wrong_proxy))
                .expect("hyper")
                .send(&login_request())
                .await
        })
        .expect_err("the proxy refuses");
    shown.push(("hyper error", format!("{err} {err:?}")));

    // Configuration errors that met the credentials.
    for bad in [
        format!("socks5://{USER}:{PASSWORD}@proxy:1080"),
        format!("http://{USER}:{PASSWORD}@proxy:port"),
    ] {
        let err = Proxy::new(&bad).expect_err("refused");
        shown.push(("proxy config error", format!("{err} {err:?}")));
    }
    let err = TransportConfig::new(&format!("https://{USER}:{PASSWORD}@bank.example"))
        .expect_err("user information");
    shown.push(("base URL error", format!("{err} {err:?}")));

    for (what, text) in &shown {
        assert_clean(what, text, &canaries);
    }
    let log = String::from_utf8(log.0.lock().expect("not poisoned").clone()).expect("UTF-8");
    // The capture works: ureq's and rustls' own records, and the driver's, are in it.
    for expected in ["ureq", "rustls", "login_step", "proxy"] {
        assert!(
            log.contains(expected),
            "{expected} missing from the log:\n{log}"
        );
    }
    assert_clean("the log", &log, &canaries);
}
