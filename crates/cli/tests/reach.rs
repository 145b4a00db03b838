//! `--client-cert`/`--client-key`, `--ca-file` and `--proxy`: a realm login against the sandbox
//! behind a loopback TLS server that demands a client certificate, through a loopback CONNECT
//! proxy that wants credentials and counts its tunnels; and `probe` through both.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use common::{Env, json_of, loginflow};
use test_reach::{ConnectProxy, Pki, ProxyMode, TlsFront};

const PROXY_USER: &str = "cli-proxy-user";
const PROXY_PASS: &str = "cli-proxy-pass-CANARY";

/// The sandbox behind mutual TLS, the files a client needs, and a proxy.
struct Setup {
    env: Env,
    front: TlsFront,
    proxy: ConnectProxy,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    key_pem: String,
}

impl Setup {
    fn start() -> Setup {
        Self::start_as("localhost")
    }

    /// The bank's certificate names `host`; the proxy routes every tunnel to the front, so a
    /// `host` that does not resolve is reached only through the proxy.
    fn start_as(host: &str) -> Setup {
        let env = Env::new();
        let sandbox: SocketAddr = env
            .sandbox
            .base_url()
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .expect("the sandbox's address");
        let pki = Pki::new("bank test CA");
        let client_ca = Pki::new("client test CA");
        let front = TlsFront::start(&pki.server(&[host]), Some(&client_ca), sandbox);
        let proxy = ConnectProxy::start_with(
            Some((PROXY_USER, PROXY_PASS)),
            ProxyMode::Tunnel,
            Some(front.addr()),
        );
        let client = client_ca.client("loginflow-cli");
        let (ca, cert, key) = (
            env.path("ca.pem"),
            env.path("client.pem"),
            env.path("client.key"),
        );
        std::fs::write(&ca, &pki.ca_pem).expect("write CA");
        std::fs::write(&cert, &client.cert_pem).expect("write certificate");
        std::fs::write(&key, &client.key_pem).expect("write key");
        Setup {
            env,
            front,
            proxy,
            ca,
            cert,
            key,
            key_pem: client.key_pem,
        }
    }

    /// A realm login over HTTPS to the front, with the CA added to the public roots.
    fn login(&self) -> assert_cmd::Command {
        let mut cmd = loginflow();
        cmd.env("LOGINFLOW_CLIENT_SECRET", &self.env.client_secret)
            .args(["--api", "cap", "--realm", "cap", "--output", "json"])
            .args(["--client-id", &self.env.client_id])
            .arg("--base-url")
            .arg(format!(
                "https://localhost:{}/internal-api/centaur",
                self.front.port()
            ))
            .arg("--ca-file")
            .arg(&self.ca)
            .args(["login", "--username", "alice", "--password-stdin"])
            .write_stdin("alice-password\n");
        cmd
    }

    fn proxy_url(&self, password: &str) -> String {
        self.proxy.url(Some((PROXY_USER, password)))
    }

    /// Neither the proxy password nor the key shows in `out`.
    fn assert_no_secret(&self, out: &std::process::Output) {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(PROXY_PASS), "{text}");
        for line in self.key_pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "{text}");
        }
    }
}

#[test]
fn a_login_goes_through_the_proxy_with_the_client_certificate() {
    let s = Setup::start();
    let out = s
        .login()
        .env("LOGINFLOW_PROXY", s.proxy_url(PROXY_PASS))
        .arg("--client-cert")
        .arg(&s.cert)
        .arg("--client-key")
        .arg(&s.key)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_of(&out)["state"], "Tokened");
    // The two calls of the login share one tunnel and one TLS connection.
    assert_eq!(s.proxy.tunnels(), 1);
    assert_eq!(s.proxy.refused(), 0);
    assert_eq!(s.front.with_client_cert(), 1);
    assert_eq!(s.proxy.targets(), [format!("localhost:{}", s.front.port())]);
    s.assert_no_secret(&out);
}

#[test]
fn the_settings_come_from_the_environment_too() {
    let s = Setup::start();
    let out = s
        .login()
        .env("LOGINFLOW_PROXY", s.proxy_url(PROXY_PASS))
        .env("LOGINFLOW_CLIENT_CERT", &s.cert)
        .env("LOGINFLOW_CLIENT_KEY", &s.key)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!((s.proxy.tunnels(), s.front.with_client_cert()), (1, 1));
}

#[test]
fn without_the_client_certificate_the_bank_refuses_the_tls() {
    let s = Setup::start();
    let out = s.login().output().expect("runs");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(json_of(&out)["error"]["kind"], "tls");
    assert_eq!(s.front.with_client_cert(), 0);
}

#[test]
fn wrong_proxy_credentials_are_a_proxy_error_that_never_shows_them() {
    let s = Setup::start();
    let wrong = format!("{PROXY_PASS}-wrong");
    let out = s
        .login()
        .arg("--proxy")
        .arg(s.proxy_url(&wrong))
        .arg("--client-cert")
        .arg(&s.cert)
        .arg("--client-key")
        .arg(&s.key)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "proxy", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("407")),
        "{v}"
    );
    assert_eq!((s.proxy.tunnels(), s.proxy.refused()), (0, 1));
    s.assert_no_secret(&out);
}

#[test]
fn a_bad_proxy_url_is_refused_before_any_call_without_its_credentials() {
    let s = Setup::start();
    let out = s
        .login()
        .env(
            "LOGINFLOW_PROXY",
            format!("socks5://{PROXY_USER}:{PROXY_PASS}@127.0.0.1:1"),
        )
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "usage", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("***@127.0.0.1:1")),
        "{v}"
    );
    assert_eq!(s.front.handshakes(), 0);
    s.assert_no_secret(&out);
}

#[test]
fn the_probe_goes_through_the_proxy_for_its_calls_and_its_tls_facts() {
    // The bank's name does not resolve: only the proxy reaches it, so a verified TLS report
    // and conforming steps prove both went through it.
    let s = Setup::start_as("bank.invalid");
    let out = loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", &s.env.client_secret)
        .env("LOGINFLOW_PROXY", s.proxy_url(PROXY_PASS))
        .args(["--api", "cap", "--realm", "cap", "--output", "json"])
        .args(["--client-id", &s.env.client_id])
        .args(["--base-url", "https://bank.invalid/internal-api/centaur"])
        .arg("--ca-file")
        .arg(&s.ca)
        .arg("--ca-only")
        .arg("--client-cert")
        .arg(&s.cert)
        .arg("--client-key")
        .arg(&s.key)
        .arg("probe")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["conforms"], true, "{v}");
    assert_eq!(v["tls"]["scheme"], "https", "{v}");
    assert_eq!(v["tls"]["verified"], true, "{v}");
    assert_eq!(
        v["tls"]["chain"][0]["issuer"]
            .as_str()
            .map(|i| i.contains("bank test CA")),
        Some(true),
        "{v}"
    );
    let tunnels = s.proxy.tunnels();
    assert!(tunnels >= 2, "the TLS facts and the calls: {tunnels}");
    assert!(s.proxy.targets().iter().all(|t| t == "bank.invalid:443"));
    assert_eq!(s.proxy.refused(), 0);
    s.assert_no_secret(&out);
}
