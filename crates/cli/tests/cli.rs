//! Every subcommand against an in-process sandbox on 127.0.0.1:0 (non-TTY paths: assert_cmd
//! gives the binary pipes), the JSON shapes, every exit code, session files, and canaries.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::sync::atomic::Ordering;

use common::{
    Env, closed_port_url, fake_server, json_of, login_as, loginflow, session_command,
    session_tokens, silent_server,
};
use predicates::prelude::*;

#[test]
fn realm_login_without_otp_prints_tokened_json_without_tokens() {
    let env = Env::new();
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ])
        .write_stdin("alice-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["state"], "Tokened");
    assert_eq!(v["api"], "cap");
    assert_eq!(v["username"], "alice");
    assert!(v["expiresAt"].as_u64().is_some(), "{v}");
    assert!(
        v.get("accessToken").is_none() && v.get("refreshToken").is_none(),
        "{v}"
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn password_line_ending_is_not_part_of_the_password() {
    let env = Env::new();
    env.cap()
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\r\n")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Tokened"));
    // Without a line ending at all.
    env.cap()
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password")
        .assert()
        .code(0);
}

#[test]
fn realm_login_with_otp_flag() {
    let env = Env::new();
    env.cap()
        .args([
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--otp",
            "123456",
        ])
        .write_stdin("bob-password\n")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("Tokened: logged in as bob"));
}

#[test]
fn missing_otp_without_tty_is_a_usage_error_naming_the_flag() {
    let env = Env::new();
    env.cap()
        .args(["login", "--username", "bob", "--password-stdin"])
        .write_stdin("bob-password\n")
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--otp").and(predicate::str::contains("MfaPending")));
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "bob",
            "--password-stdin",
        ])
        .write_stdin("bob-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out);
    assert_eq!(v["state"], "MfaPending");
    assert_eq!(v["error"]["kind"], "usage");
    assert_eq!(v["error"]["status"], serde_json::Value::Null);
    assert!(v["error"]["message"].as_str().unwrap().contains("--otp"));
}

#[test]
fn wrong_password_exits_1_with_the_failure_shape() {
    let env = Env::new();
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ])
        .write_stdin("not-the-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v["state"], "Start");
    assert_eq!(v["error"]["kind"], "invalid_credentials");
    assert_eq!(v["error"]["status"], 401);
    assert!(v["error"]["message"].is_string());
    assert_eq!(
        v.as_object().unwrap().len(),
        2,
        "exactly state and error: {v}"
    );
    // The text form goes to stderr.
    env.cap()
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("not-the-password\n")
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(
            predicate::str::contains("invalid_credentials")
                .and(predicate::str::contains("HTTP 401")),
        );
}

#[test]
fn wrong_otp_exits_1() {
    let env = Env::new();
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--otp",
            "000000",
        ])
        .write_stdin("bob-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v["state"], "MfaPending");
    assert_eq!(v["error"]["kind"], "invalid_otp");
}

#[test]
fn bad_flags_exit_2() {
    loginflow().args(["login", "--bogus"]).assert().code(2);
    loginflow().arg("frobnicate").assert().code(2);
    // Secrets are never flags.
    loginflow()
        .args([
            "--api",
            "cap",
            "login",
            "--username",
            "a",
            "--password",
            "x",
        ])
        .assert()
        .code(2);
    // Global flags go before the subcommand.
    loginflow()
        .args(["diagram", "--api", "cap"])
        .assert()
        .code(2);
    // With --output json a parse error is still one JSON object.
    let out = loginflow()
        .args(["--output", "json", "login", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "usage");
}

#[test]
fn missing_configuration_exits_2_before_reading_stdin() {
    let env = Env::new();
    // No --api.
    loginflow()
        .args([
            "--base-url",
            &env.sandbox.base_url(),
            "login",
            "--username",
            "a",
            "--password-stdin",
        ])
        .write_stdin("x\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--api"));
    // No client secret anywhere.
    loginflow()
        .args([
            "--api",
            "cap",
            "--base-url",
            &env.sandbox.realm_base_url(),
            "--realm",
            "cap",
        ])
        .args([
            "--client-id",
            "cap-mobile",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ])
        .write_stdin("alice-password\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("LOGINFLOW_CLIENT_SECRET"));
    // A ciam flag with --api cap.
    env.cap()
        .args([
            "--routes",
            "service",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ])
        .write_stdin("alice-password\n")
        .assert()
        .code(2);
    // Plain HTTP to a non-loopback host without --allow-http: refused before sending.
    loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", "test-client-secret")
        .args([
            "--api",
            "cap",
            "--base-url",
            "http://bank.example.invalid/x",
            "--realm",
            "cap",
        ])
        .args([
            "--client-id",
            "c",
            "--output",
            "json",
            "login",
            "--username",
            "a",
            "--password-stdin",
        ])
        .write_stdin("pw\n")
        .assert()
        .code(2)
        .stdout(predicate::str::contains("--allow-http"));
    // A server key that is not a JWK.
    let bad_key = env.path("bad.jwk");
    std::fs::write(&bad_key, "{\"kty\":\"RSA\"}").unwrap();
    env.ciam()
        .arg("--server-key")
        .arg(&bad_key)
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(2);
}

#[test]
fn client_secret_from_file() {
    let env = Env::new();
    let secret_file = env.path("client-secret");
    std::fs::write(&secret_file, format!("{}\n", env.client_secret)).unwrap();
    loginflow()
        .args([
            "--api",
            "cap",
            "--base-url",
            &env.sandbox.realm_base_url(),
            "--realm",
            "cap",
        ])
        .args(["--client-id", &env.client_id])
        .arg("--client-secret-file")
        .arg(&secret_file)
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(0);
}

#[test]
fn closed_loopback_port_exits_3() {
    let url = closed_port_url();
    let out = loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", "test-client-secret")
        .args([
            "--api",
            "cap",
            "--base-url",
            &url,
            "--realm",
            "cap",
            "--client-id",
            "c",
        ])
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "a",
            "--password-stdin",
        ])
        .write_stdin("pw\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v = json_of(&out);
    assert_eq!(v["state"], "Start");
    assert_eq!(v["error"]["kind"], "connect");
    assert_eq!(v["error"]["status"], serde_json::Value::Null);
}

fn cap_against(url: &str) -> assert_cmd::Command {
    let mut cmd = loginflow();
    cmd.env("LOGINFLOW_CLIENT_SECRET", "test-client-secret")
        .args([
            "--api",
            "cap",
            "--base-url",
            url,
            "--realm",
            "cap",
            "--client-id",
            "c",
        ])
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "a",
            "--password-stdin",
        ])
        .write_stdin("pw\n");
    cmd
}

#[test]
fn garbage_answers_exit_3() {
    let (url, _) = fake_server(
        b"HTTP/1.1 201 Created\r\nContent-Length: 9\r\nConnection: close\r\n\r\n<garbage>",
    );
    let out = cap_against(&url).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json_of(&out)["error"]["kind"], "malformed_response");

    let (url, _) = fake_server(b"this is not HTTP at all\r\n\r\n");
    let out = cap_against(&url).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");

    let (url, _) = fake_server(
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let out = cap_against(&url).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json_of(&out)["error"]["kind"], "redirect");
}

#[test]
fn a_body_past_the_cap_exits_3() {
    let mut reply =
        b"HTTP/1.1 201 Created\r\nContent-Length: 2097152\r\nConnection: close\r\n\r\n".to_vec();
    reply.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    let (url, _) = fake_server(Box::leak(reply.into_boxed_slice()));
    let out = cap_against(&url).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json_of(&out)["error"]["kind"], "body_too_large");
}

#[test]
fn server_fault_with_html_exits_1() {
    let (url, _) = fake_server(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html></html>",
    );
    let out = cap_against(&url).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "server_error");
    assert_eq!(v["error"]["status"], 503);
}

#[test]
fn throttling_is_retried_once_then_reported() {
    let (url, count) = fake_server(
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{\"error\":\"rate_limited\"}",
    );
    let out = cap_against(&url).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["error"]["kind"], "rate_limited");
    assert_eq!(count.load(Ordering::SeqCst), 2, "one call and one retry");
}

#[test]
fn timeout_exits_3() {
    let url = silent_server();
    let out = loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", "test-client-secret")
        .args([
            "--api",
            "cap",
            "--base-url",
            &url,
            "--realm",
            "cap",
            "--client-id",
            "c",
        ])
        .args([
            "--timeout",
            "0.5",
            "--output",
            "json",
            "login",
            "--username",
            "a",
            "--password-stdin",
        ])
        .write_stdin("pw\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json_of(&out)["error"]["kind"], "timeout");
}

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn realm_session_saved_0600_refreshed_in_place_then_revoked_locally() {
    let env = Env::new();
    let session = env.path("realm.session");
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--otp",
            "123456",
        ])
        .arg("--save-session")
        .arg(&session)
        .write_stdin("bob-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_of(&out)["session"], session.display().to_string());
    assert_eq!(mode_of(&session), 0o600);
    let before = session_tokens(&session);

    // Refresh needs no flags: the session file holds the non-secret configuration.
    let out = session_command("json", "refresh", &session)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_of(&out)["state"], "Tokened");
    let after = session_tokens(&session);
    assert_ne!(before[1], after[1], "rotated refresh token written back");
    assert_eq!(mode_of(&session), 0o600);

    let out = session_command("json", "revoke", &session)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["state"], "Revoked");
    assert_eq!(
        v["sentRequest"], false,
        "the realm API sends nothing to revoke"
    );
    let text = std::fs::read_to_string(&session).unwrap();
    assert!(
        !text.contains(&after[0]) && !text.contains(&after[1]),
        "no tokens left"
    );

    let out = session_command("json", "refresh", &session)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out);
    assert_eq!(v["state"], "Revoked");
    assert_eq!(v["error"]["kind"], "session_revoked");
}

#[test]
fn ciam_revoke_reaches_the_server_and_the_file_can_no_longer_refresh() {
    let env = Env::new();
    let session = env.path("ciam.session");
    login_as(env.ciam(), "alice")
        .arg("--save-session")
        .arg(&session)
        .assert()
        .code(0);
    assert_eq!(mode_of(&session), 0o600);
    loginflow()
        .args(["refresh", "--session"])
        .arg(&session)
        .assert()
        .code(0);
    // Keep a copy of the tokens to prove the server, not just the file, revoked them.
    let copy = env.path("copy.session");
    std::fs::copy(&session, &copy).unwrap();

    let out = session_command("json", "revoke", &session)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_of(&out)["sentRequest"], true);

    loginflow()
        .args(["refresh", "--session"])
        .arg(&session)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("revoked"));
    let out = session_command("json", "refresh", &copy).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v["state"], "Tokened");
    assert_eq!(v["error"]["kind"], "invalid_token");
    assert_eq!(v["error"]["status"], 401);
}

#[test]
fn damaged_session_file_exits_2() {
    let env = Env::new();
    let session = env.path("bad.session");
    std::fs::write(&session, "{\"format\":\"loginflow-session\",\"version\":9}").unwrap();
    loginflow()
        .args(["refresh", "--session"])
        .arg(&session)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("version"));
    loginflow()
        .args(["revoke", "--session"])
        .arg(env.path("missing"))
        .assert()
        .code(2);
}

#[test]
fn ciam_logins_plain_service_routes_captcha_and_location() {
    let env = Env::new();
    env.ciam()
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Tokened"));
    env.ciam()
        .args([
            "--routes",
            "service",
            "--lat",
            "13.75",
            "--lon",
            "100.5",
            "--event-id",
            "ev-1",
        ])
        .args([
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--scope",
            "openid",
            "--scope",
            "profile",
        ])
        .write_stdin("bob-password\n")
        .assert()
        .code(0);
    env.ciam()
        .args([
            "login",
            "--username",
            "carol",
            "--password-stdin",
            "--captcha",
            "--captcha-answer",
            "ABCD",
        ])
        .write_stdin("carol-password\n")
        .assert()
        .code(0);
    let out = env
        .ciam()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "carol",
            "--password-stdin",
            "--captcha",
        ])
        .args(["--captcha-answer", "WRONG"])
        .write_stdin("carol-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["error"]["kind"], "invalid_captcha");
}

#[test]
fn ciam_captcha_required_by_the_server() {
    let env = Env::with(|c| c.captcha_required = true);
    // The answer given up front is used for the captcha fetched after `captcha_required`.
    env.ciam()
        .args([
            "login",
            "--username",
            "alice",
            "--password-stdin",
            "--captcha-answer",
            "ABCD",
        ])
        .write_stdin("alice-password\n")
        .assert()
        .code(0);
    // No answer and no terminal: a usage error naming the flag.
    env.ciam()
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--captcha-answer"));
}

#[test]
fn ciam_anomaly_2fa_with_and_without_otp() {
    let env = Env::with(|c| c.anomaly = login_sandbox::config::AnomalyMode::Always);
    env.ciam()
        .args([
            "login",
            "--username",
            "carol",
            "--password-stdin",
            "--otp",
            "123456",
        ])
        .write_stdin("carol-password\n")
        .assert()
        .code(0);
    let out = env
        .ciam()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "carol",
            "--password-stdin",
        ])
        .write_stdin("carol-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out);
    assert_eq!(v["state"], "MfaPending");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("--otp") && message.contains("email"),
        "{message}"
    );
}

#[test]
fn forgot_password_then_login_with_the_new_password() {
    let env = Env::new();
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "forgot-password",
            "--username",
            "alice",
            "--otp",
            "123456",
        ])
        .arg("--new-password-stdin")
        .write_stdin("alice-new-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["state"], "PasswordReset");
    env.cap()
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-new-password\n")
        .assert()
        .code(0);
    env.cap()
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(1);
    // Without --otp and without a terminal: a usage error naming the flag.
    env.cap()
        .args([
            "forgot-password",
            "--username",
            "bob",
            "--new-password-stdin",
        ])
        .write_stdin("bob-new-password\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--otp"));
    // Realm only.
    env.ciam()
        .args([
            "forgot-password",
            "--username",
            "bob",
            "--otp",
            "1",
            "--new-password-stdin",
        ])
        .write_stdin("x\n")
        .assert()
        .code(2);
}

#[test]
fn diagram_in_both_formats() {
    loginflow()
        .args(["diagram", "--format", "mermaid"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("stateDiagram-v2")
                .and(predicate::str::contains("MfaPending"))
                .and(predicate::str::contains("PasswordReset")),
        );
    loginflow()
        .args(["diagram", "--format", "dot"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("digraph"));
    let out = loginflow()
        .args(["--output", "json", "diagram", "--format", "dot"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["format"], "dot");
    assert!(v["diagram"].as_str().unwrap().contains("cluster_ciam"));
}

#[test]
fn mermaid_diagram_is_the_committed_state_diagram_doc() {
    let out = loginflow().args(["diagram"]).output().unwrap();
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/state-diagram.md");
    if let Ok(committed) = std::fs::read_to_string(doc) {
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim_end(),
            committed.trim_end()
        );
    }
}

#[test]
fn sandbox_subcommand_serves_the_example_config_and_the_cli_logs_in_to_it() {
    // The configuration the README's walkthrough uses.
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox.example.json");
    let dir = tempfile::tempdir().unwrap();
    let jwk = dir.path().join("jwk.json");
    let device = dir.path().join("device-token");
    std::fs::write(&device, "dev-device-token\n").unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loginflow"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--jwk-out")
        .arg(&jwk)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let stdout = child.stdout.take().unwrap();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    let result = std::panic::catch_unwind(|| {
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .expect("first line")
            .to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        assert!(std::fs::read_to_string(&jwk).unwrap().contains("P-256"));
        let session = dir.path().join("bob.session");
        loginflow()
            .env("LOGINFLOW_CLIENT_SECRET", "dev-client-secret-not-real")
            .args([
                "--api",
                "cap",
                "--base-url",
                &format!("{base}/internal-api/centaur"),
            ])
            .args(["--realm", "cap", "--client-id", "cap-mobile"])
            .args([
                "login",
                "--username",
                "bob",
                "--password-stdin",
                "--otp",
                "123456",
                "--save-session",
            ])
            .arg(&session)
            .write_stdin("bob-password\n")
            .assert()
            .code(0);
        loginflow()
            .args(["refresh", "--session"])
            .arg(&session)
            .assert()
            .code(0);
        // carol last logged in at Bangkok: from Singapore the rule asks for a second factor.
        let ciam = || {
            let mut cmd = loginflow();
            cmd.args([
                "--api",
                "ciam",
                "--base-url",
                &base,
                "--client-id",
                "cap-mobile",
            ])
            .args([
                "--redirect-uri",
                "https://app.example/callback",
                "--device-token-file",
            ])
            .arg(&device)
            .arg("--server-key")
            .arg(&jwk)
            .args(["--lat", "1.3521", "--lon", "103.8198"])
            .args(["login", "--username", "carol", "--password-stdin"])
            .write_stdin("carol-password\n");
            cmd
        };
        ciam().assert().code(2).stderr(
            predicate::str::contains("sent by email").and(predicate::str::contains("--otp")),
        );
        ciam().args(["--otp", "123456"]).assert().code(0);
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn sandbox_subcommand_with_a_bad_config_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.json");
    std::fs::write(&config, "{\"users\": 3}").unwrap();
    loginflow()
        .args(["sandbox", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .assert()
        .code(2);
}

#[test]
fn demo_runs_every_flow_and_exits_0() {
    let out = loginflow().arg("demo").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for flow in [
        "realm: login, no OTP",
        "realm: login with OTP",
        "realm: refresh",
        "realm: revoke",
        "realm: forgot password",
        "realm: login with new password + OTP",
        "ciam: login, no anomaly",
        "ciam: login with captcha",
        "ciam: login, anomaly -> 2FA OTP",
        "ciam: refresh",
        "ciam: revoke",
        "ciam: refresh after revoke must fail",
    ] {
        assert!(text.contains(flow), "{flow} missing:\n{text}");
    }
    assert!(text.contains("13 of 13 flows ended as expected"), "{text}");
    // Not a terminal: plain lines, no cursor control.
    assert!(!text.contains('\x1b'));
    assert!(text.contains("[realm: login with OTP] -> MfaPending"));

    let out = loginflow()
        .args(["--output", "json", "demo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["flows"].as_array().unwrap().len(), 13);
}

#[test]
fn a_failed_refresh_or_revoke_leaves_the_session_file_untouched() {
    let env = Env::new();
    let session = env.path("ciam.session");
    login_as(env.ciam(), "alice")
        .arg("--save-session")
        .arg(&session)
        .assert()
        .code(0);
    let before = std::fs::read(&session).unwrap();
    let closed = closed_port_url();
    for command in ["refresh", "revoke"] {
        let out = loginflow()
            .args([
                "--base-url",
                &closed,
                "--output",
                "json",
                command,
                "--session",
            ])
            .arg(&session)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{command}: {out:?}");
        let v = json_of(&out);
        assert_eq!(v["state"], "Tokened");
        assert_eq!(v["error"]["kind"], "connect");
        assert_eq!(
            std::fs::read(&session).unwrap(),
            before,
            "{command} kept the file"
        );
    }
    // The session still works against the real server, and revoking twice is harmless.
    loginflow()
        .args(["revoke", "--session"])
        .arg(&session)
        .assert()
        .code(0);
    let out = session_command("json", "revoke", &session)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of(&out)["alreadyRevoked"], true);
    // --api must match the session.
    loginflow()
        .args(["--api", "cap", "refresh", "--session"])
        .arg(&session)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not match"));
}

#[test]
fn a_locked_account_exits_1_with_status_423() {
    let env = Env::new();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let out = env
            .cap()
            .args([
                "--output",
                "json",
                "login",
                "--username",
                "alice",
                "--password-stdin",
            ])
            .write_stdin("wrong-password\n")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let v = json_of(&out);
        seen.push(v["error"]["kind"].as_str().unwrap().to_owned());
        if v["error"]["kind"] == "locked" {
            assert_eq!(v["error"]["status"], 423);
            break;
        }
    }
    assert_eq!(seen.last().map(String::as_str), Some("locked"), "{seen:?}");
    // While locked, even the right password is refused with the lock.
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ])
        .write_stdin("alice-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["error"]["kind"], "locked");
}
