//! The `login-sandbox` binary: `--listen 127.0.0.1:0 --config FILE --jwk-out FILE` prints
//! `listening on http://HOST:PORT` first, writes the JWK, and serves both APIs.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

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
