//! The realm API over HTTP: every flow and every rejection.

mod common;

use common::*;
use login_sandbox::SandboxConfig;
use login_sandbox::config::{TEST_CLIENT_ID, TEST_REDIRECT_URI};
use serde_json::json;

#[test]
fn login_without_mfa_gives_a_token_set() {
    let h = start_default();
    let r = realm_request(&h.client, "alice", "alice-password");
    r.assert_status(201);
    assert_eq!(r.body["mfa"], "none");
    assert_eq!(r.body["exp"], 300);
    assert!(r.body.get("refId").is_none());
    let t = realm_token(&h.client, &r.str("reqId"), None);
    t.assert_status(201);
    for field in ["accessToken", "refreshToken", "sessionState"] {
        assert_eq!(t.str(field).len(), 43, "{field}");
    }
    assert_eq!(t.body["expires"], 300);
    assert_eq!(t.body["refreshExpires"], 1800);
    assert_eq!(t.body["scope"], "openid accounts");
    assert_eq!(t.body["tokenType"], "Bearer");
    assert_eq!(t.body["redirectUrl"], TEST_REDIRECT_URI);
    assert_session_live(&h.client, &t.str("accessToken"), true);
}

#[test]
fn login_with_otp_on_sms_and_email() {
    let h = start_default();
    for (user, channel) in [("bob", "sms"), ("carol", "email")] {
        let r = realm_request(&h.client, user, &format!("{user}-password"));
        r.assert_status(201);
        assert_eq!(r.body["mfa"], "otp");
        let sent = last_otp(&h.sandbox, user, "realm-login");
        assert_eq!(sent.ref_id, r.str("refId"));
        assert_eq!(sent.otp, "123456");
        assert_eq!(serde_json::to_value(sent.channel).unwrap(), channel);
        realm_token(&h.client, &r.str("reqId"), Some(("123456", &sent.ref_id))).assert_status(201);
    }
    // The outbox is also served over HTTP.
    let outbox = h.client.get("/_sandbox/outbox", &[]);
    outbox.assert_status(200);
    let entries = outbox.body.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["user"], "bob");
    assert_eq!(entries[0]["purpose"], "realm-login");
    for key in ["user", "channel", "refId", "otp", "purpose"] {
        assert!(entries[1].get(key).is_some(), "{key}");
    }
}

#[test]
fn otp_login_without_refid_and_with_random_codes() {
    let mut config = SandboxConfig::for_tests();
    config.fixed_otp = None;
    let h = start(config);
    let r = realm_request(&h.client, "bob", "bob-password");
    let sent = last_otp(&h.sandbox, "bob", "realm-login");
    assert_eq!(sent.otp.len(), 6);
    let t = h.client.post(
        &format!("{REALM}/token"),
        &[],
        json!({"reqId": r.str("reqId"), "otp": sent.otp, "scope": ["openid"]}),
    );
    t.assert_status(201);
    assert_eq!(t.body["scope"], "openid");
}

#[test]
fn otp_login_rejections() {
    let h = start_default();
    let r = realm_request(&h.client, "bob", "bob-password");
    let req_id = r.str("reqId");
    let ref_id = r.str("refId");
    // No OTP at all: 400 and nothing counted.
    realm_token(&h.client, &req_id, None).assert_error(400, "invalid_request");
    // A refId that is not this request's.
    realm_token(&h.client, &req_id, Some(("123456", "ZZZZZZ")))
        .assert_error(400, "invalid_request");
    // Wrong code: 401, then the right one still works (attempt 2 of 5).
    realm_token(&h.client, &req_id, Some(("000000", &ref_id))).assert_error(401, "invalid_otp");
    let t = realm_token(&h.client, &req_id, Some(("123456", &ref_id)));
    t.assert_status(201);
    // Replay of the used request (and its OTP): gone.
    realm_token(&h.client, &req_id, Some(("123456", &ref_id))).assert_error(404, "not_found");
    assert_session_live(&h.client, &t.str("accessToken"), true);
}

#[test]
fn sixth_otp_attempt_is_refused_even_with_the_right_code() {
    let h = start_default();
    let r = realm_request(&h.client, "bob", "bob-password");
    let (req_id, ref_id) = (r.str("reqId"), r.str("refId"));
    for _ in 0..5 {
        realm_token(&h.client, &req_id, Some(("654321", &ref_id))).assert_error(401, "invalid_otp");
    }
    realm_token(&h.client, &req_id, Some(("123456", &ref_id))).assert_error(404, "expired");
    // A fresh login still works.
    let r = realm_request(&h.client, "bob", "bob-password");
    realm_token(
        &h.client,
        &r.str("reqId"),
        Some(("123456", &r.str("refId"))),
    )
    .assert_status(201);
}

#[test]
fn wrong_credentials_realm_and_client() {
    let h = start_default();
    realm_request(&h.client, "alice", "wrong-password").assert_error(401, "invalid_credentials");
    realm_request(&h.client, "nobody", "alice-password").assert_error(401, "invalid_credentials");
    let bad_secret = h.client.post(&format!("{REALM}/request"), &[], json!({
        "username": "alice", "password": "alice-password", "clientId": TEST_CLIENT_ID, "clientSecret": "wrong"
    }));
    bad_secret.assert_error(401, "invalid_credentials");
    let bad_client = h.client.post(&format!("{REALM}/request"), &[], json!({
        "username": "alice", "password": "alice-password", "clientId": "other", "clientSecret": "test-client-secret"
    }));
    bad_client.assert_error(401, "invalid_credentials");
    let other_realm = h.client.post("/internal-api/centaur/auth/realm/other/request", &[], json!({
        "username": "alice", "password": "alice-password", "clientId": TEST_CLIENT_ID, "clientSecret": "test-client-secret"
    }));
    other_realm.assert_error(404, "not_found");
    realm_token(&h.client, "no-such-request", None).assert_error(404, "not_found");
    // State intact.
    realm_login(&h.client, "alice", "alice-password").assert_status(201);
}

#[test]
fn expired_request_id_is_404_expired() {
    let mut config = SandboxConfig::for_tests();
    config.lifetimes.login_request_secs = 1;
    let h = start(config);
    let r = realm_request(&h.client, "alice", "alice-password");
    assert_eq!(r.body["exp"], 1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    realm_token(&h.client, &r.str("reqId"), None).assert_error(404, "expired");
    realm_login(&h.client, "alice", "alice-password").assert_status(201);
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_family() {
    let h = start_default();
    let first = realm_login(&h.client, "alice", "alice-password");
    first.assert_status(201);
    let second = realm_refresh(&h.client, &first.str("refreshToken"));
    second.assert_status(200);
    assert_ne!(second.str("refreshToken"), first.str("refreshToken"));
    assert_eq!(second.str("sessionState"), first.str("sessionState"));
    assert_session_live(&h.client, &first.str("accessToken"), false);
    assert_session_live(&h.client, &second.str("accessToken"), true);
    // Reuse of the rotated token: refused, and the whole family is revoked.
    realm_refresh(&h.client, &first.str("refreshToken")).assert_error(401, "invalid_token");
    realm_refresh(&h.client, &second.str("refreshToken")).assert_error(401, "invalid_token");
    assert_session_live(&h.client, &second.str("accessToken"), false);
    // Other sessions are untouched; a new login works.
    realm_login(&h.client, "alice", "alice-password").assert_status(201);
    // The dev route counted every refresh request of the family, and the rotation.
    let counts = h.client.get("/_sandbox/refreshes", &[]);
    counts.assert_status(200);
    assert_eq!(counts.body["sessionsStarted"], 2);
    assert_eq!(counts.body["refreshes"], 3);
    let family = &counts.body["sessions"][first.str("sessionState")];
    assert_eq!(family["requests"], 3);
    assert_eq!(family["rotated"], 1);
    assert_eq!(family["user"], "alice");
}

#[test]
fn refresh_rejections() {
    let h = start_default();
    let t = realm_login(&h.client, "alice", "alice-password");
    realm_refresh(&h.client, "unknown").assert_error(401, "invalid_token");
    // An access token is not a refresh token.
    realm_refresh(&h.client, &t.str("accessToken")).assert_error(401, "invalid_token");
    h.client
        .patch(
            &format!("{REALM}/token"),
            json!({"clientId": "other", "refreshToken": t.str("refreshToken")}),
        )
        .assert_error(401, "invalid_credentials");
    h.client
        .patch(
            &format!("{REALM}/token"),
            json!({"clientId": TEST_CLIENT_ID}),
        )
        .assert_error(400, "invalid_request");
    // None of that spent the refresh token.
    realm_refresh(&h.client, &t.str("refreshToken")).assert_status(200);
}

#[test]
fn forgot_verify_reset_then_login_with_the_new_password() {
    let h = start_default();
    let f = h.client.post(
        &format!("{REALM_ADMIN}/forgotPassword"),
        &[],
        json!({"username": "carol"}),
    );
    f.assert_status(201);
    let sent = last_otp(&h.sandbox, "carol", "forgot-password");
    assert_eq!(sent.ref_id, f.str("refId"));
    let v = h.client.post(
        &format!("{REALM_ADMIN}/verifyOtp"),
        &[],
        json!({
            "otp": sent.otp, "reqId": f.str("reqId"), "refId": f.str("refId"), "username": "carol"
        }),
    );
    v.assert_status(201);
    assert_eq!(v.str("refId"), f.str("refId"));
    let ticket = v.str("reqId");
    assert_ne!(ticket, f.str("reqId"));
    let reset = |password: &str| {
        h.client.post(
            &format!("{REALM_ADMIN}/resetPassword"),
            &[("Authorization", &format!("Bearer {ticket}"))],
            json!({"newPassword": password}),
        )
    };
    // Too short: refused, and the ticket survives.
    reset("short").assert_error(400, "invalid_request");
    let ok = reset("carol-new-password");
    ok.assert_status(200);
    assert_eq!(ok.body["success"], true);
    // The ticket is single use.
    reset("carol-other-password").assert_error(401, "invalid_token");
    realm_request(&h.client, "carol", "carol-password").assert_error(401, "invalid_credentials");
    realm_request(&h.client, "carol", "carol-new-password").assert_status(201);
}

#[test]
fn reset_flow_rejections() {
    let h = start_default();
    let f = h.client.post(
        &format!("{REALM_ADMIN}/forgotPassword"),
        &[],
        json!({"username": "alice"}),
    );
    let verify = |otp: &str, req_id: &str, ref_id: &str, user: &str| {
        h.client.post(
            &format!("{REALM_ADMIN}/verifyOtp"),
            &[],
            json!({"otp": otp, "reqId": req_id, "refId": ref_id, "username": user}),
        )
    };
    verify("123456", "unknown", &f.str("refId"), "alice").assert_error(404, "not_found");
    verify("123456", &f.str("reqId"), "OTHER1", "alice").assert_error(400, "invalid_request");
    verify("123456", &f.str("reqId"), &f.str("refId"), "bob").assert_error(400, "invalid_request");
    verify("000000", &f.str("reqId"), &f.str("refId"), "alice").assert_error(401, "invalid_otp");
    verify("123456", &f.str("reqId"), &f.str("refId"), "alice").assert_status(201);
    // OTP replay.
    verify("123456", &f.str("reqId"), &f.str("refId"), "alice").assert_error(404, "not_found");
    // Reset without or with a bogus ticket.
    let path = format!("{REALM_ADMIN}/resetPassword");
    h.client
        .post(&path, &[], json!({"newPassword": "long-enough-1"}))
        .assert_error(401, "invalid_token");
    h.client
        .post(
            &path,
            &[("Authorization", "Bearer nope")],
            json!({"newPassword": "long-enough-1"}),
        )
        .assert_error(401, "invalid_token");
    // Unchanged password still works.
    realm_login(&h.client, "alice", "alice-password").assert_status(201);
}

#[test]
fn forgot_password_does_not_reveal_unknown_users() {
    let h = start_default();
    let f = h.client.post(
        &format!("{REALM_ADMIN}/forgotPassword"),
        &[],
        json!({"username": "mallory"}),
    );
    f.assert_status(201);
    assert_eq!(f.str("reqId").len(), 43);
    assert_eq!(f.str("refId").len(), 6);
    assert!(
        h.sandbox.outbox().is_empty(),
        "no OTP is sent to an unknown user"
    );
    // Even the fixed test OTP never verifies for an unknown user.
    let v = h.client.post(
        &format!("{REALM_ADMIN}/verifyOtp"),
        &[],
        json!({
            "otp": "123456", "reqId": f.str("reqId"), "refId": f.str("refId"), "username": "mallory"
        }),
    );
    v.assert_error(401, "invalid_otp");
}
