//! The `loginflow-gateway` binary: `--demo --listen 127.0.0.1:0` prints `listening on
//! http://HOST:PORT` first and serves the page and the API on the embedded sandbox; `--config
//! FILE` reads its secrets from the files and variables the file names and logs in at a bank.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use login_sandbox::config::{TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI};

/// The child, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and reads its first stdout line: `listening on http://HOST:PORT`.
fn start(args: &[&str], env: &[(&str, &str)]) -> (Running, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loginflow-gateway"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (running, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_its_address_first_and_serves() {
    let key = "demo-internal-api-key-123456";
    let (_child, url) = start(
        &["--demo", "--listen", "127.0.0.1:0"],
        &[("LOGINFLOW_GATEWAY_API_KEY", key)],
    );
    let http = Http::new();
    http.get(&format!("{url}/healthz"), None)
        .await
        .expect(200, None);
    let page = http.get(&format!("{url}/"), None).await;
    page.expect(200, None);
    assert!(page.text().contains("Sign in"));
    let session = full_login(&http, &[&url], 0, "ciam", "carol", "carol-password")
        .await
        .unwrap();
    let token = http
        .get(&format!("{url}/v1/sessions/{session}/token"), Some(key))
        .await;
    token.expect(200, None);
}

/// Keys a rotation still accepts beside [`API_KEY`].
const OLD_API_KEY: &str = "previous-internal-api-key-1";
const OTHER_API_KEY: &str = "another-internal-api-key-22";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_with_secrets_in_files_and_the_environment() {
    let bank = sandbox(false).await;
    let dir = TempDir::new("config");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let keys = write("store-keys", &format!("k1:{KEY_B64}\n"));
    let secret = write("client-secret", &format!("{TEST_CLIENT_SECRET}\n"));
    let jwk = write("bank.jwk", &bank.public_jwk_json());
    let config = serde_json::json!({
        "listen": "127.0.0.1:0",
        "store": "memory",
        "storeKeys": {"file": keys},
        "internalApiKey": {"env": "GW_TEST_API_KEY"},
        "acceptedApiKeys": {"file": write("accepted-keys", &format!("{OLD_API_KEY}\n{OTHER_API_KEY}\n"))},
        "cap": {
            "baseUrl": bank.realm_base_url(),
            "profile": {"api": "realm", "realmId": "cap", "clientId": "cap-mobile"},
            "clientSecret": {"file": secret}
        },
        "ciam": {
            "baseUrl": bank.base_url(),
            "profile": {"api": "ciam", "clientId": "cap-mobile", "redirectUri": TEST_REDIRECT_URI},
            "deviceToken": {"env": "GW_TEST_DEVICE_TOKEN"},
            "serverJwk": {"file": jwk}
        }
    });
    let path = write("gateway.json", &config.to_string());
    let (_child, url) = start(
        &["--config", &path],
        &[
            ("GW_TEST_API_KEY", API_KEY),
            ("GW_TEST_DEVICE_TOKEN", TEST_DEVICE_TOKEN),
        ],
    );
    let http = Http::new();
    for (api, user) in [("cap", "bob"), ("ciam", "carol")] {
        let session = full_login(&http, &[&url], 0, api, user, &format!("{user}-password"))
            .await
            .unwrap_or_else(|r| panic!("{api}: {} {}", r.status, r.text()));
        http.token(&url, &session).await.expect(200, None);
        // During a rotation the other accepted keys open the session API too; others do not.
        let token_url = format!("{url}/v1/sessions/{session}/token");
        for key in [OLD_API_KEY, OTHER_API_KEY] {
            http.get(&token_url, Some(key)).await.expect(200, None);
        }
        http.get(&token_url, Some("not-an-accepted-key-0123"))
            .await
            .expect(401, Some("unauthorized"));
    }

    // A missing secret stops the start with a message naming the variable, not a value.
    let out = Command::new(env!("CARGO_BIN_EXE_loginflow-gateway"))
        .args(["--config", &path])
        .env_remove("GW_TEST_API_KEY")
        .env("GW_TEST_DEVICE_TOKEN", TEST_DEVICE_TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GW_TEST_API_KEY"), "{stderr}");
    assert!(!stderr.contains(TEST_CLIENT_SECRET), "{stderr}");
}

#[test]
fn the_example_config_parses() {
    let text = include_str!("../gateway.example.json");
    let file: loginflow_gateway::config::ConfigFile =
        serde_json::from_str(text).expect("gateway.example.json is a valid config");
    assert!(file.cap.is_some() && file.ciam.is_some());
}
