//! The JSON API on one gateway with the in-memory store, against the sandbox bank on
//! loopback: every answer shape, the session endpoints and their key, bad input refused with a
//! typed 4xx and nothing stored changed, metrics and health.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realm_logins_with_and_without_otp() {
    let bank = sandbox(false).await;
    let gw = gateway(&bank, &Setup::default()).await;
    let http = Http::new();
    let base = gw.url();

    let alice = http.start(&base, "cap", "alice", "alice-password").await;
    alice.expect(201, None);
    assert_eq!(alice.json()["status"], "authenticated");
    let session = alice.str("session");
    assert_eq!(session.len(), 22);
    assert!(alice.str("expiresAt").ends_with('Z'));
    assert_eq!(alice.header("cache-control").as_deref(), Some("no-store"));

    let bob = http.start(&base, "cap", "bob", "bob-password").await;
    bob.expect(202, None);
    assert_eq!(bob.json()["status"], "otp_required");
    assert!(bob.json()["refId"].is_string());
    assert!(
        bob.json()["channel"].is_null(),
        "the realm API names no channel"
    );
    let login = bob.str("login");

    // A wrong OTP: 401, and the same login goes on.
    http.otp(&base, &login, "000000")
        .await
        .expect(401, Some("invalid_otp"));
    let done = http.otp(&base, &login, "123456").await;
    done.expect(201, None);
    // Used: gone.
    http.otp(&base, &login, "123456")
        .await
        .expect(404, Some("not_found"));

    // Wrong password: the bank's 401 and kind; nothing to resume.
    http.start(&base, "cap", "alice", "wrong-password")
        .await
        .expect(401, Some("invalid_credentials"));

    // The session's token, with the key only.
    let token = http.token(&base, &session).await;
    token.expect(200, None);
    assert!(token.json()["accessToken"].is_string());
    assert!(token.str("expiresAt").ends_with('Z'));
    let url = format!("{base}/v1/sessions/{session}/token");
    http.get(&url, None).await.expect(401, Some("unauthorized"));
    http.get(&url, Some("test-internal-api-key-0f1e2d3X"))
        .await
        .expect(401, Some("unauthorized"));
    http.get(&url, Some("short"))
        .await
        .expect(401, Some("unauthorized"));

    // Ending a realm session drops it.
    let end = format!("{base}/v1/sessions/{session}");
    http.delete(&end, None)
        .await
        .expect(401, Some("unauthorized"));
    http.delete(&end, Some(API_KEY)).await.expect(204, None);
    http.token(&base, &session)
        .await
        .expect(404, Some("not_found"));
    http.delete(&end, Some(API_KEY))
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internet_banking_captcha_then_otp_and_revoke_at_the_bank() {
    let bank = sandbox(true).await;
    let gw = gateway(&bank, &Setup::default()).await;
    let http = Http::new();
    let base = gw.url();

    let started = http.start(&base, "ciam", "carol", "carol-password").await;
    started.expect(202, None);
    assert_eq!(started.json()["status"], "captcha_required");
    let image = started.json()["captcha"]["image"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(image.starts_with("data:image/png;base64,"));
    let login = started.str("login");

    // A wrong answer: 400, a new captcha to show, and the same login goes on.
    let wrong = http.captcha(&base, &login, "WXYZ", "carol-password").await;
    wrong.expect(400, Some("invalid_captcha"));
    let next_image = wrong.json()["captcha"]["image"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(next_image.starts_with("data:image/png;base64,"));
    // The OTP endpoint is the wrong step for it.
    http.otp(&base, &login, "123456")
        .await
        .expect(409, Some("wrong_step"));

    let otp = http.captcha(&base, &login, "ABCD", "carol-password").await;
    otp.expect(202, None);
    assert_eq!(otp.json()["status"], "otp_required");
    assert_eq!(otp.json()["channel"], "email");
    assert_eq!(otp.str("login"), login, "one id for the whole login");
    let done = http.otp(&base, &login, "123456").await;
    done.expect(201, None);
    let session = done.str("session");

    let token = http.token(&base, &session).await.str("accessToken");
    let probe = |token: String| {
        let http = http.clone();
        let url = format!("{}/_sandbox/session", bank.base_url());
        async move { http.get(&url, Some(&token)).await.status }
    };
    assert_eq!(probe(token.clone()).await, 200);
    http.delete(&format!("{base}/v1/sessions/{session}"), Some(API_KEY))
        .await
        .expect(204, None);
    assert_eq!(probe(token).await, 401, "revoked at the bank");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_with_the_captcha_ends_the_login() {
    let bank = sandbox(true).await;
    let gw = gateway(&bank, &Setup::default()).await;
    let http = Http::new();
    let base = gw.url();
    let login = http
        .start(&base, "ciam", "carol", "carol-password")
        .await
        .str("login");
    http.captcha(&base, &login, "ABCD", "not-carols")
        .await
        .expect(401, Some("invalid_credentials"));
    http.captcha(&base, &login, "ABCD", "carol-password")
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_typed_4xx_and_changes_nothing() {
    let bank = sandbox(false).await;
    let gw = gateway(&bank, &Setup::default()).await;
    let http = Http::new();
    let base = gw.url();
    let login = http
        .start(&base, "cap", "bob", "bob-password")
        .await
        .str("login");
    let session = http
        .start(&base, "cap", "alice", "alice-password")
        .await
        .str("session");
    let otp_url = format!("{base}/v1/logins/{login}/otp");
    let json_ct = [("content-type", "application/json")];

    // Malformed JSON, unknown fields, wrong types, missing fields.
    for body in [
        r#"{"otp": "123456""#.to_owned(),
        r#"{"otp": "123456", "extra": 1}"#.to_owned(),
        r#"{"otp": 123456}"#.to_owned(),
        r#"{}"#.to_owned(),
        r#"[]"#.to_owned(),
        String::new(),
        r#"{"otp": ""}"#.to_owned(),
    ] {
        let r = http
            .send("POST", &otp_url, &json_ct, body.clone().into_bytes())
            .await;
        r.expect(400, Some("invalid_request"));
        assert!(
            !r.text().contains("123456"),
            "no value echoed: {}",
            r.text()
        );
    }
    let r = http.start(&base, "cap", "", "x").await;
    r.expect(400, Some("invalid_request"));
    let r = http
        .post_json(
            &format!("{base}/v1/logins"),
            &json!({"api": "other", "username": "u", "password": "p"}),
        )
        .await;
    r.expect(400, Some("invalid_request"));
    // Wrong or missing content type.
    for ct in [vec![("content-type", "text/plain")], vec![]] {
        http.send("POST", &otp_url, &ct, br#"{"otp":"123456"}"#.to_vec())
            .await
            .expect(415, Some("unsupported_media_type"));
    }
    // A huge body.
    let huge = format!(r#"{{"otp": "{}"}}"#, "1".repeat(64 * 1024));
    http.send("POST", &otp_url, &json_ct, huge.into_bytes())
        .await
        .expect(413, Some("payload_too_large"));
    // Ids that are not ids.
    for bad in [
        "short",
        "AAAAAAAAAAAAAAAAAAAAA%3D",
        "AAAAAAAAAAAAAAAAAAAA%2B%2F",
        "lf%3A%7Bx%7D%3Alogin",
    ] {
        http.otp(&base, bad, "123456")
            .await
            .expect(400, Some("invalid_request"));
        http.get(&format!("{base}/v1/sessions/{bad}/token"), Some(API_KEY))
            .await
            .expect(400, Some("invalid_request"));
    }
    // A login id used as a session id, and a session id used as a login id.
    http.token(&base, &login)
        .await
        .expect(404, Some("not_found"));
    http.delete(&format!("{base}/v1/sessions/{login}"), Some(API_KEY))
        .await
        .expect(404, Some("not_found"));
    http.otp(&base, &session, "123456")
        .await
        .expect(404, Some("not_found"));
    // Unknown routes and methods.
    http.get(&format!("{base}/v1/nothing"), None)
        .await
        .expect(404, Some("not_found"));
    http.get(&format!("{base}/v1/logins"), None)
        .await
        .expect(405, Some("method_not_allowed"));

    // Nothing changed: the login and the session are both still there.
    http.otp(&base, &login, "123456").await.expect(201, None);
    http.token(&base, &session).await.expect(200, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_the_page() {
    let bank = sandbox(false).await;
    let gw = gateway(&bank, &Setup::default()).await;
    let http = Http::new();
    let base = gw.url();
    http.get(&format!("{base}/healthz"), None)
        .await
        .expect(200, None);
    full_login(&http, &[&base], 0, "cap", "bob", "bob-password")
        .await
        .unwrap();
    http.otp(&base, "AAAAAAAAAAAAAAAAAAAAAA", "1")
        .await
        .expect(404, Some("not_found"));
    let metrics = http.get(&format!("{base}/metrics"), None).await;
    metrics.expect(200, None);
    let text = metrics.text();
    for line in [
        r#"gateway_logins_started_total{api="cap"} 1"#,
        r#"gateway_logins_finished_total{api="cap"} 1"#,
        r#"gateway_logins_failed_total{api="unknown",kind="not_found"} 1"#,
        r#"gateway_bank_call_duration_seconds_count{api="realm",step="request_login"} 1"#,
        r#"gateway_step_duration_seconds_count{step="otp"} 2"#,
        // The drivers' own series, in the same exposition.
        r#"loginflow_flows_started_total{api="realm",flow="login"} 1"#,
        r#"loginflow_flows_started_total{api="realm",flow="resume"} 1"#,
        r#"# HELP loginflow_flows_finished_total"#,
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }

    let page = http.get(&format!("{base}/"), None).await;
    page.expect(200, None);
    let cookie = page.header("set-cookie").unwrap();
    assert!(cookie.starts_with("lf_csrf="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"), "loopback: no Secure");
    assert!(page.text().contains(r#"name="csrf""#));
    assert!(page.header("content-security-policy").is_some());
}
