//! Shared test fixtures: an in-process sandbox on 127.0.0.1:0 with the files the CLI reads, and
//! tiny loopback servers that misbehave on purpose.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use login_sandbox::{BlockingSandbox, SandboxConfig};

/// A running sandbox and the files a CLI run against it needs.
pub struct Env {
    pub sandbox: BlockingSandbox,
    pub dir: tempfile::TempDir,
    pub jwk: PathBuf,
    pub device_token: PathBuf,
    pub client_secret: String,
    pub client_id: String,
    pub redirect_uri: String,
}

impl Env {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// A sandbox whose test configuration `adjust` changes first.
    pub fn with(adjust: impl FnOnce(&mut SandboxConfig)) -> Self {
        let mut cfg = SandboxConfig::for_tests();
        adjust(&mut cfg);
        let client_secret = cfg.client_secret.expose().to_owned();
        let client_id = cfg.client_id.clone();
        let redirect_uri = cfg.redirect_uris[0].clone();
        let device = cfg.device_tokens[0].expose().to_owned();
        let sandbox = login_sandbox::spawn_blocking_sandbox(cfg).expect("sandbox starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let jwk = dir.path().join("server-key.jwk");
        std::fs::write(&jwk, sandbox.public_jwk_json()).expect("write jwk");
        let device_token = dir.path().join("device-token");
        std::fs::write(&device_token, format!("{device}\n")).expect("write device token");
        Self {
            sandbox,
            dir,
            jwk,
            device_token,
            client_secret,
            client_id,
            redirect_uri,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `loginflow` with the realm API's global flags; the client secret in the environment.
    pub fn cap(&self) -> Command {
        let mut cmd = loginflow();
        cmd.env("LOGINFLOW_CLIENT_SECRET", &self.client_secret)
            .args([
                "--api",
                "cap",
                "--base-url",
                &self.sandbox.realm_base_url(),
                "--realm",
                "cap",
                "--client-id",
                &self.client_id,
            ]);
        cmd
    }

    /// `loginflow` with the internet-banking API's global flags.
    pub fn ciam(&self) -> Command {
        let mut cmd = loginflow();
        cmd.args(["--api", "ciam", "--base-url", &self.sandbox.base_url()])
            .args(["--client-id", &self.client_id])
            .args(["--redirect-uri", &self.redirect_uri])
            .arg("--device-token-file")
            .arg(&self.device_token)
            .arg("--server-key")
            .arg(&self.jwk);
        cmd
    }
}

/// Every environment variable the CLI reads for its settings, its logging or the tests.
pub const CLI_ENV: [&str; 37] = [
    "LOGINFLOW_CLIENT_SECRET",
    "LOGINFLOW_API",
    "LOGINFLOW_BASE_URL",
    "LOGINFLOW_OUTPUT",
    "LOGINFLOW_ALLOW_HTTP",
    "LOGINFLOW_TIMEOUT",
    "LOGINFLOW_PROFILE",
    "LOGINFLOW_REALM",
    "LOGINFLOW_CLIENT_ID",
    "LOGINFLOW_CLIENT_SECRET_FILE",
    "LOGINFLOW_REDIRECT_URI",
    "LOGINFLOW_DEVICE_TOKEN_FILE",
    "LOGINFLOW_SERVER_KEY",
    "LOGINFLOW_ROUTES",
    "LOGINFLOW_LAT",
    "LOGINFLOW_LON",
    "LOGINFLOW_EVENT_ID",
    "LOGINFLOW_RECORD",
    "LOGINFLOW_REPLAY",
    "LOGINFLOW_CLIENT_CERT",
    "LOGINFLOW_CLIENT_KEY",
    "LOGINFLOW_CA_FILE",
    "LOGINFLOW_CA_ONLY",
    "LOGINFLOW_PROXY",
    "LOGINFLOW_PROXY_FROM_ENV",
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "no_proxy",
    "NO_PROXY",
    "ALL_PROXY",
    "LOGINFLOW_USERNAME",
    "LOGINFLOW_SESSION",
    "LOGINFLOW_LOG",
    "RUST_LOG",
    "LOGINFLOW_TEST_CRASH_AFTER_REFRESH",
];

/// `login --username USER --password-stdin` on `command` (from [`Env::cap`] or [`Env::ciam`]),
/// with the sandbox's password for USER (`USER-password`) on stdin; add the rest of the flags.
pub fn login_as(mut command: Command, user: &str) -> Command {
    command
        .args(["login", "--username", user, "--password-stdin"])
        .write_stdin(format!("{user}-password\n"));
    command
}

/// The binary, with none of the CLI's settings, secrets or log filters inherited from the
/// environment (a developer's `RUST_LOG` must not change what a test sees); tests set what
/// they need after this.
pub fn loginflow() -> Command {
    let mut cmd = Command::cargo_bin("loginflow").expect("binary built");
    for var in CLI_ENV {
        cmd.env_remove(var);
    }
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

/// `loginflow --output <output> <verb> --session <file>`: a refresh or revoke of a saved session
/// (the file holds everything else).
pub fn session_command(output: &str, verb: &str, file: &std::path::Path) -> Command {
    let mut cmd = loginflow();
    cmd.args(["--output", output, verb, "--session"]).arg(file);
    cmd
}

/// Parses stdout as exactly one JSON object.
pub fn json_of(output: &std::process::Output) -> serde_json::Value {
    let text = String::from_utf8(output.stdout.clone()).expect("utf-8 stdout");
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "one line of JSON: {text}"
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("stdout is JSON");
    assert!(v.is_object(), "{v}");
    v
}

/// A loopback server answering every connection with `reply` (raw bytes, then close).
/// Returns the base URL and a counter of requests received.
pub fn fake_server(reply: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            read_request(&mut stream);
            let _ = stream.write_all(reply);
            let _ = stream.flush();
        }
    });
    (format!("http://{addr}"), count)
}

/// A loopback server that accepts and reads but never answers.
pub fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            read_request(&mut stream);
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

/// A loopback port with nothing listening (bound, then released).
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

fn read_request(stream: &mut std::net::TcpStream) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
}

/// Every string value under the keys `accessToken` / `refreshToken` in a JSON document.
pub fn tokens_in(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if (k == "accessToken" || k == "refreshToken") && v.is_string() {
                    out.push(v.as_str().unwrap_or_default().to_owned());
                } else {
                    tokens_in(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| tokens_in(v, out)),
        _ => {}
    }
}

/// The tokens in a session file: in its flow (the internet-banking profile beside it names a
/// route `accessToken` too).
pub fn session_tokens(path: &std::path::Path) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("read session")).expect("json");
    let mut out = Vec::new();
    tokens_in(&v["flow"], &mut out);
    assert_eq!(out.len(), 2, "two tokens in the session: {v}");
    out
}

/// A loopback TCP proxy in front of `target` (a base URL `http://HOST:PORT[/...]`): returns
/// the proxy's base URL (the same path) and a count of the connections it forwarded. Each CLI
/// process makes at most one connection per call it sends, so the count is the number of
/// calls that reached the server.
pub fn counting_proxy(target: &str) -> (String, Arc<AtomicUsize>) {
    let rest = target.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let upstream: std::net::SocketAddr = authority.parse().expect("HOST:PORT");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            let Ok(server) = std::net::TcpStream::connect(upstream) else {
                continue;
            };
            let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
                continue;
            };
            let (mut c, mut s) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c, &mut s);
                let _ = s.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (format!("http://{addr}{path}"), count)
}

/// Whether the sandbox still accepts `access_token` (its dev session probe answers 200).
pub fn token_is_live(env: &Env, access_token: &str) -> bool {
    let url = format!("{}/_sandbox/session", env.sandbox.base_url());
    let addr = url
        .strip_prefix("http://")
        .and_then(|r| r.split('/').next())
        .expect("address")
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    let request = format!(
        "GET /_sandbox/session HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {access_token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.1 200")
}
