//! The `login-sandbox` binary: `--listen 127.0.0.1:0 --config FILE --jwk-out FILE` prints
//! `listening on http://HOST:PORT` first, writes the JWK, and serves both APIs. Without
//! `--config` it runs the development config and prints its credentials on stderr; either way
//! it logs one line per request there, with no secret and no colour codes in a pipe.

mod common;

use std::io::{BufRead, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("login-sandbox-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills the child on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The issue's config format, with cheap argon2 parameters for the test.
const CONFIG: &str = r#"{
  "users": {
    "alice": {"password": "alice-password", "mfa": "none", "channel": "sms"},
    "bob": {"password": "bob-password", "mfa": "otp", "channel": "email"}
  },
  "realm": "cap", "clientId": "cap-mobile", "clientSecret": "test-client-secret",
  "deviceTokens": ["test-device-token"], "redirectUris": ["https://app.example/callback"],
  "anomaly": "never", "captchaRequired": false, "fixedOtp": "123456", "fixedCaptcha": null,
  "argon2": {"memoryKib": 64, "iterations": 1, "parallelism": 1}
}"#;

fn sandbox_command(config: &std::path::Path, jwk: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_login-sandbox"));
    cmd.args(["--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--jwk-out")
        .arg(jwk);
    cmd
}

#[test]
fn binary_prints_its_url_writes_the_jwk_and_serves() {
    let dir = Scratch::new("bin");
    let (config, jwk_path) = (dir.0.join("config.json"), dir.0.join("jwk.json"));
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = sandbox_command(&config, &jwk_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Running(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );

    let client = Client::new(url);
    let jwk = std::fs::read_to_string(&jwk_path).unwrap();
    let served = client.get("/api/v1/jwks.json", &[]);
    assert_eq!(
        served.body["keys"][0],
        serde_json::from_str::<Value>(&jwk).unwrap()
    );
    realm_login(&client, "alice", "alice-password").assert_status(201);
    ciam_login(&client, GATEWAY, &jwk, "alice", "alice-password").assert_status(200);
    let r = realm_request(&client, "bob", "bob-password");
    let outbox = client.get("/_sandbox/outbox", &[]);
    assert_eq!(outbox.body[0]["channel"], "email");
    realm_token(&client, &r.str("reqId"), Some(("123456", &r.str("refId")))).assert_status(201);
    drop(child);
}

#[test]
fn binary_refuses_a_bad_config_with_a_message() {
    let dir = Scratch::new("bad");
    let (config, jwk_path) = (dir.0.join("config.json"), dir.0.join("jwk.json"));
    std::fs::write(&config, r#"{"users": {}, "realm": "cap", "typo": 1}"#).unwrap();
    let out = sandbox_command(&config, &jwk_path).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.json") && stderr.contains("typo"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    let missing = sandbox_command(&dir.0.join("missing.json"), &jwk_path)
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the config file"));
}

/// Reads the child's stderr on a thread; `finish` kills the child and returns all of it.
struct Stderr(std::thread::JoinHandle<String>);

impl Stderr {
    fn capture(child: &mut Child) -> Self {
        let mut pipe = child.stderr.take().expect("stderr is piped");
        Stderr(std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        }))
    }

    fn finish(self, child: Running) -> String {
        drop(child);
        self.0.join().expect("the stderr reader")
    }
}

/// The first stdout line's URL.
fn listening_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("the first stdout line");
    first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned()
}

#[test]
fn binary_without_config_runs_the_development_config_and_prints_its_credentials() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_login-sandbox"))
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("LOGIN_SANDBOX_LOG")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    let stderr = Stderr::capture(&mut child);
    let child = Running(child);
    let client = Client::new(url.clone());

    // The development users log in with the printed passwords, bob with the fixed OTP.
    let dev_request = |user: &str| {
        client.post(
            &format!("{REALM}/request"),
            &[],
            serde_json::json!({
                "username": user, "password": format!("{user}-password"),
                "clientId": "cap-mobile", "clientSecret": "dev-client-secret-not-real"
            }),
        )
    };
    dev_request("alice").assert_status(201);
    let bob = dev_request("bob");
    bob.assert_status(201);
    let tokens = realm_token(
        &client,
        &bob.str("reqId"),
        Some(("123456", &bob.str("refId"))),
    );
    tokens.assert_status(201);
    let authorize = client.post(
        "/api/v1/authorize",
        &[("Authorization", "Bearer dev-device-token")],
        authorize_body(&"v".repeat(43), "s"),
    );
    authorize.assert_status(200);
    let session = client.get(
        "/_sandbox/session",
        &[(
            "Authorization",
            &format!("Bearer {}", tokens.str("accessToken")),
        )],
    );
    session.assert_status(200);
    // A query string is not logged (it could carry a code).
    let page = client.page("/?code=query-code-canary");
    assert_eq!(page.status, 200);
    // Give the last log lines a moment to be written before the child is killed.
    std::thread::sleep(Duration::from_millis(200));
    let err = stderr.finish(child);

    let rule = "=".repeat(78);
    let mut parts = err.splitn(3, &rule);
    let (before, banner, log) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or_else(|| panic!("no banner in {err}")),
        parts
            .next()
            .unwrap_or_else(|| panic!("no end of the banner in {err}")),
    );
    assert!(before.trim().is_empty(), "before the banner: {before}");
    assert!(banner.contains("DEVELOPMENT ONLY"), "{banner}");
    for user in ["alice", "bob", "carol"] {
        assert!(banner.contains(&format!("{user}-password")), "{banner}");
    }
    assert!(banner.contains("fixed OTP:      123456"), "{banner}");
    assert!(banner.contains("dev-client-secret-not-real"), "{banner}");
    assert!(banner.contains("dev-device-token"), "{banner}");
    assert!(
        banner.contains(&format!("{url}/_sandbox/outbox.html")),
        "{banner}"
    );

    // One line per request: method, path, status, latency.
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 6, "{log}");
    for (line, (method, path, status)) in lines.iter().zip([
        ("POST", "/internal-api/centaur/auth/realm/cap/request", 201),
        ("POST", "/internal-api/centaur/auth/realm/cap/request", 201),
        ("POST", "/internal-api/centaur/auth/realm/cap/token", 201),
        ("POST", "/api/v1/authorize", 200),
        ("GET", "/_sandbox/session", 200),
        ("GET", "/", 200),
    ]) {
        assert!(
            line.contains(&format!("method={method} path={path}}}"))
                && line.contains(&format!("status={status} latency_ms=")),
            "{line}"
        );
    }
    assert!(!log.contains('\x1b'), "colour codes in a pipe: {log:?}");
    assert_shows_no_secret(
        "the request log",
        log,
        &[
            ("password", "alice-password".into()),
            ("password", "bob-password".into()),
            ("client secret", "dev-client-secret-not-real".into()),
            ("device token", "dev-device-token".into()),
            ("reqId", bob.str("reqId")),
            ("access token", tokens.str("accessToken")),
            ("refresh token", tokens.str("refreshToken")),
            ("login challenge", authorize.str("loginChallenge")),
            ("query string", "query-code-canary".into()),
        ],
    );
}

#[test]
fn binary_with_a_config_prints_no_credentials() {
    let dir = Scratch::new("quiet");
    let (config, jwk_path) = (dir.0.join("config.json"), dir.0.join("jwk.json"));
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = sandbox_command(&config, &jwk_path)
        .env_remove("LOGIN_SANDBOX_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    let stderr = Stderr::capture(&mut child);
    let child = Running(child);
    realm_login(&Client::new(url), "alice", "alice-password").assert_status(201);
    std::thread::sleep(Duration::from_millis(200));
    let err = stderr.finish(child);
    assert!(!err.contains("DEVELOPMENT"), "{err}");
    assert_shows_no_secret(
        "stderr",
        &err,
        &[
            ("password", "alice-password".into()),
            ("client secret", "test-client-secret".into()),
            ("device token", "test-device-token".into()),
        ],
    );
    assert_eq!(err.lines().count(), 2, "one line per request: {err}");
}
