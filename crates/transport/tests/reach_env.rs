//! `proxy_from_env(true)` reads `HTTPS_PROXY` and `NO_PROXY`. Environment variables are
//! process-wide and tests run in parallel, so the variables are set only for a child process:
//! the test runs this binary again with them, and the child's (ignored) test makes the calls.
//! The proxy, in the parent, sends every tunnel to a loopback TLS server whose certificate
//! names `bank.test`, so the child reaches a name that no resolver knows: only through the
//! proxy can it work.

mod common;

use std::process::Command;

use common::{Client, Hyper, Server, Ureq, keep_alive_ok, login_request};
use login_transport::TransportConfig;
use test_reach::{ConnectProxy, Pki, ProxyMode, TlsFront};

const CHILD: &str = "child_calls_through_the_environment_proxy";
const BASE: &str = "https://bank.test";

#[test]
fn the_environment_proxy_is_used_only_when_asked() {
    let pki = Pki::new("bank test CA");
    let upstream = Server::start(keep_alive_ok(b"{\"via\":\"env\"}"));
    let front = TlsFront::start(&pki.server(&["bank.test"]), None, upstream.addr());
    let creds = ("env-user", "env-pass");
    let proxy = ConnectProxy::start_with(Some(creds), ProxyMode::Tunnel, Some(front.addr()));
    let exe = std::env::current_exe().expect("this test binary");
    let out = Command::new(exe)
        .args([
            "--exact",
            CHILD,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LOGINFLOW_TEST_CHILD", "1")
        .env("LOGINFLOW_TEST_CA", &pki.ca_pem)
        .env("HTTPS_PROXY", proxy.url(Some(creds)))
        .env_remove("https_proxy")
        .env("NO_PROXY", "localhost, excluded.test, 10.0.0.0/8")
        .env_remove("no_proxy")
        .output()
        .expect("the child runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child test ran:\n{text}");
    // One tunnel per transport, both to the name in the base URL, none refused.
    assert_eq!(proxy.tunnels(), 2, "{text}");
    assert_eq!(proxy.refused(), 0);
    assert_eq!(proxy.targets(), ["bank.test:443", "bank.test:443"]);
    assert_eq!(front.handshakes(), 2);
}

#[test]
#[ignore = "run by the_environment_proxy_is_used_only_when_asked, with the variables set"]
fn child_calls_through_the_environment_proxy() {
    assert_eq!(
        std::env::var("LOGINFLOW_TEST_CHILD").as_deref(),
        Ok("1"),
        "run only as the child"
    );
    let ca = std::env::var("LOGINFLOW_TEST_CA").expect("the CA");
    let cfg = TransportConfig::new(BASE)
        .expect("URL")
        .add_roots_pem(ca.as_bytes())
        .expect("PEM");
    // Not asked: no proxy, whatever the environment says.
    assert!(cfg.effective_proxy().expect("setting").is_none());
    let cfg = cfg.proxy_from_env(true);
    let proxy = cfg.effective_proxy().expect("setting").expect("a proxy");
    assert!(proxy.has_credentials());
    for out in [
        Ureq::call(cfg.clone(), &login_request()),
        Hyper::call(cfg.clone(), &login_request()),
    ] {
        assert_eq!(out.expect("through the proxy").body(), b"{\"via\":\"env\"}");
    }
    // NO_PROXY and loopback bypass it.
    for excluded in [
        "https://excluded.test",
        "https://api.excluded.test:8443",
        "https://10.2.3.4",
        "https://127.0.0.1:8443",
    ] {
        let cfg = TransportConfig::new(excluded)
            .expect("URL")
            .proxy_from_env(true);
        assert!(
            cfg.effective_proxy().expect("setting").is_none(),
            "{excluded}"
        );
    }
}
