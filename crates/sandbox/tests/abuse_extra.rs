//! More abuse over HTTP, beside `abuse.rs`, `realm.rs` and `ciam.rs`: brute force through the
//! internet-banking envelope, parallel guessing bursts against the lockout and the OTP attempt
//! limit, replays of realm request ids, realm OTPs and reset tickets, and malformed or oversized
//! bodies that must not spend a request id, challenge or code nor count toward a lockout. Each
//! test checks status and error code, then that the server's state is intact (the legitimate
//! continuation still works, or the replayed thing stays dead).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use login_sandbox::SandboxConfig;
use login_sandbox::config::{AnomalyMode, LockoutConfig};
use serde_json::json;

fn lockout_config(threshold: u32) -> SandboxConfig {
    let mut config = SandboxConfig::for_tests();
    config.lockout = LockoutConfig {
        threshold,
        window_secs: 120,
    };
    // Throttling would answer 429 before the lockout is reached.
    config.throttle.login_per_user = None;
    config
}

#[test]
fn brute_force_through_the_envelope_locks_both_apis_and_hides_unknown_users() {
    let h = start(lockout_config(3));
    let mut seen = Vec::new();
    for user in ["alice", "no-such-user"] {
        let auth = authorize(&h.client, GATEWAY);
        let answers: Vec<(u16, String, String)> = (0..5)
            .map(|_| {
                let r = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, user, "guess");
                (
                    r.status,
                    r.error_code().to_owned(),
                    r.body["message"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        seen.push(answers);
    }
    assert_eq!(
        seen[0], seen[1],
        "a real and an unknown user answer differently"
    );
    assert_eq!(
        seen[0]
            .iter()
            .map(|a| (a.0, a.1.as_str()))
            .collect::<Vec<_>>(),
        [
            (401, "invalid_credentials"),
            (401, "invalid_credentials"),
            (401, "invalid_credentials"),
            (423, "locked"),
            (423, "locked"),
        ]
    );
    // The lock holds for the right password, over both APIs.
    let auth = authorize(&h.client, GATEWAY);
    login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password")
        .assert_error(423, "locked");
    realm_request(&h.client, "alice", "alice-password").assert_error(423, "locked");
    // Other users are untouched.
    ciam_login(&h.client, GATEWAY, &h.jwk, "bob", "bob-password").assert_status(200);
}

/// The password checks of one username run one at a time (lock check, comparison, count), so a
/// parallel burst cannot pass the lock check before any guess is counted. (Found here: with
/// check-then-count, 24 of 24 parallel guesses were judged with a threshold of 3.)
#[test]
fn a_parallel_guessing_burst_gets_no_more_guesses_than_the_threshold() {
    const THRESHOLD: u32 = 3;
    let h = start(lockout_config(THRESHOLD));
    let verdicts = Arc::new(AtomicUsize::new(0));
    let locked = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for _ in 0..24 {
            let (client, verdicts, locked) = (h.client.clone(), verdicts.clone(), locked.clone());
            s.spawn(move || {
                let r = realm_request(&client, "alice", "guess");
                match (r.status, r.error_code()) {
                    (401, "invalid_credentials") => verdicts.fetch_add(1, Ordering::SeqCst),
                    (423, "locked") => locked.fetch_add(1, Ordering::SeqCst),
                    _ => panic!("unexpected answer to a guess: {} {}", r.status, r.body),
                };
            });
        }
    });
    assert!(
        verdicts.load(Ordering::SeqCst) <= THRESHOLD as usize,
        "{} guesses were judged; the lockout allows {THRESHOLD}",
        verdicts.load(Ordering::SeqCst)
    );
    assert_eq!(
        verdicts.load(Ordering::SeqCst) + locked.load(Ordering::SeqCst),
        24
    );
    realm_request(&h.client, "alice", "alice-password").assert_error(423, "locked");
}

#[test]
fn a_parallel_otp_burst_gets_no_more_than_five_attempts() {
    let h = start(lockout_config(100));
    let r = realm_request(&h.client, "bob", "bob-password");
    r.assert_status(201);
    assert_eq!(r.body["mfa"], "otp");
    let (req_id, ref_id) = (r.str("reqId"), r.str("refId"));
    let judged = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for i in 0..20 {
            let (client, judged, req_id, ref_id) = (
                h.client.clone(),
                judged.clone(),
                req_id.clone(),
                ref_id.clone(),
            );
            s.spawn(move || {
                let r = realm_token(
                    &client,
                    &req_id,
                    Some((&format!("{:06}", 900_000 + i), &ref_id)),
                );
                match (r.status, r.error_code()) {
                    (401, "invalid_otp") => {
                        judged.fetch_add(1, Ordering::SeqCst);
                    }
                    (404, "expired") => {}
                    _ => panic!("unexpected answer to an OTP guess: {} {}", r.status, r.body),
                }
            });
        }
    });
    assert!(
        judged.load(Ordering::SeqCst) <= 5,
        "{} OTP guesses were judged",
        judged.load(Ordering::SeqCst)
    );
    // The request is spent: even the right code is refused now.
    realm_token(&h.client, &req_id, Some(("123456", &ref_id))).assert_error(404, "expired");
}

#[test]
fn realm_request_id_replay_is_refused_and_the_issued_session_survives() {
    let h = start_default();
    let r = realm_request(&h.client, "alice", "alice-password");
    r.assert_status(201);
    let tokens = realm_token(&h.client, &r.str("reqId"), None);
    tokens.assert_status(201);
    realm_token(&h.client, &r.str("reqId"), None).assert_error(404, "not_found");
    assert_session_live(&h.client, &tokens.str("accessToken"), true);
    realm_refresh(&h.client, &tokens.str("refreshToken")).assert_status(200);
}

#[test]
fn realm_otp_replay_is_refused() {
    let h = start_default();
    let r = realm_request(&h.client, "bob", "bob-password");
    r.assert_status(201);
    let otp = last_otp(&h.sandbox, "bob", "realm-login").otp;
    let tokens = realm_token(&h.client, &r.str("reqId"), Some((&otp, &r.str("refId"))));
    tokens.assert_status(201);
    realm_token(&h.client, &r.str("reqId"), Some((&otp, &r.str("refId"))))
        .assert_error(404, "not_found");
    assert_session_live(&h.client, &tokens.str("accessToken"), true);
}

#[test]
fn reset_ticket_replay_is_refused_and_only_the_new_password_works() {
    let h = start_default();
    let f = h.client.post(
        &format!("{REALM_ADMIN}/forgotPassword"),
        &[],
        json!({"username": "alice"}),
    );
    f.assert_status(201);
    let v = h.client.post(
        &format!("{REALM_ADMIN}/verifyOtp"),
        &[],
        json!({"otp": "123456", "reqId": f.str("reqId"), "refId": f.str("refId"), "username": "alice"}),
    );
    v.assert_status(201);
    let bearer = format!("Bearer {}", v.str("reqId"));
    let reset = |password: &str| {
        h.client.post(
            &format!("{REALM_ADMIN}/resetPassword"),
            &[("Authorization", &bearer)],
            json!({"newPassword": password}),
        )
    };
    // Too short: refused, and the ticket is kept.
    reset("short").assert_error(400, "invalid_request");
    reset("brand-new-password-1").assert_status(200);
    // Replay, even with another password.
    reset("attacker-password-2").assert_error(401, "invalid_token");
    realm_request(&h.client, "alice", "alice-password").assert_error(401, "invalid_credentials");
    realm_request(&h.client, "alice", "attacker-password-2")
        .assert_error(401, "invalid_credentials");
    realm_request(&h.client, "alice", "brand-new-password-1").assert_status(201);
}

#[test]
fn bad_bodies_do_not_spend_a_realm_request_id() {
    let h = start_default();
    let r = realm_request(&h.client, "alice", "alice-password");
    r.assert_status(201);
    let path = format!("{REALM}/token");
    let oversized = format!(
        r#"{{"reqId":"{}","scope":["openid"],"pad":"{}"}}"#,
        r.str("reqId"),
        "x".repeat(70_000)
    );
    h.client
        .raw(
            "POST",
            &path,
            &[("Content-Type", "application/json")],
            Some(oversized.into_bytes()),
        )
        .assert_error(413, "invalid_request");
    let truncated = format!(r#"{{"reqId":"{}","scope":["op"#, r.str("reqId"));
    h.client
        .raw(
            "POST",
            &path,
            &[("Content-Type", "application/json")],
            Some(truncated.into_bytes()),
        )
        .assert_error(400, "invalid_request");
    h.client
        .post(
            &path,
            &[],
            json!({"reqId": r.str("reqId"), "scope": "openid"}),
        )
        .assert_error(400, "invalid_request");
    h.client
        .post(
            &path,
            &[],
            json!({"reqId": [r.str("reqId")], "scope": ["openid"]}),
        )
        .assert_error(400, "invalid_request");
    realm_token(&h.client, &r.str("reqId"), None).assert_status(201);
}

#[test]
fn bad_bodies_do_not_spend_a_login_challenge_or_a_code() {
    let h = start_default();
    let auth = authorize(&h.client, GATEWAY);
    let device = device_auth();
    let json_headers = [
        ("Authorization", device.as_str()),
        ("Content-Type", "application/json"),
    ];
    let big = format!(
        r#"{{"loginChallenge":"{}","authToken":"{}"}}"#,
        auth.login_challenge,
        "a".repeat(70_000)
    );
    h.client
        .raw(
            "POST",
            GATEWAY.login_challenge,
            &json_headers,
            Some(big.into_bytes()),
        )
        .assert_error(413, "invalid_request");
    h.client
        .raw(
            "POST",
            GATEWAY.login_challenge,
            &json_headers,
            Some(b"{\"loginChallenge\":".to_vec()),
        )
        .assert_error(400, "invalid_request");
    h.client
        .post(
            GATEWAY.login_challenge,
            &[("Authorization", &device)],
            json!({"loginChallenge": auth.login_challenge, "authToken": 42}),
        )
        .assert_error(400, "invalid_request");
    let ok = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password");
    ok.assert_status(200);
    let (code, token) = (ok.str("code"), ok.str("token"));
    let bearer = format!("Bearer {token}");
    let token_headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let mut big = access_token_body(&auth, &code);
    big["pad"] = json!("p".repeat(70_000));
    h.client
        .raw(
            "POST",
            GATEWAY.access_token,
            &token_headers,
            Some(big.to_string().into_bytes()),
        )
        .assert_error(413, "invalid_request");
    h.client
        .raw(
            "POST",
            GATEWAY.access_token,
            &token_headers,
            Some(b"\xff\xfe{".to_vec()),
        )
        .assert_error(400, "invalid_request");
    let mut wrong_type = access_token_body(&auth, &code);
    wrong_type["code"] = json!({"code": code});
    h.client
        .post(
            GATEWAY.access_token,
            &[("Authorization", &bearer)],
            wrong_type,
        )
        .assert_error(400, "invalid_request");
    let tokens = access_token(&h.client, GATEWAY, &auth, &code, &token);
    tokens.assert_status(200);
    assert_session_live(&h.client, &tokens.str("accessToken"), true);
}

#[test]
fn malformed_login_bodies_do_not_count_toward_the_lockout() {
    let h = start(lockout_config(3));
    let path = format!("{REALM}/request");
    for body in [
        json!({"username": "alice", "password": 12345}),
        json!({"username": "alice"}),
        json!({"username": ["alice"], "password": "guess"}),
        json!({"username": "alice", "password": null, "clientId": "x"}),
    ] {
        for _ in 0..3 {
            h.client
                .post(&path, &[], body.clone())
                .assert_error(400, "invalid_request");
        }
    }
    realm_login(&h.client, "alice", "alice-password").assert_status(201);
}

#[test]
fn ciam_mfa_challenge_cannot_be_verified_from_the_captcha_route_or_twice() {
    let mut config = SandboxConfig::for_tests();
    config.anomaly = AnomalyMode::Always;
    let h = start(config);
    let auth = authorize(&h.client, GATEWAY);
    let r = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password");
    r.assert_status(200);
    let mfa = r.str("mfaChallenge");
    // An mfaChallenge is not a login challenge: no captcha for it.
    h.client
        .get("/api/v1/captcha", &[("checkIdentity", &mfa)])
        .assert_error(404, "not_found");
    let verify = || {
        h.client.post(
            GATEWAY.pre_login_verify,
            &[("Authorization", &device_auth())],
            json!({"consentOtp": "123456", "mfaChallenge": mfa}),
        )
    };
    let v = verify();
    v.assert_status(200);
    verify().assert_error(404, "not_found");
    // The first verification's code still works once.
    access_token(&h.client, GATEWAY, &auth, &v.str("code"), &v.str("token")).assert_status(200);
    access_token(&h.client, GATEWAY, &auth, &v.str("code"), &v.str("token"))
        .assert_error(401, "invalid_token");
}

/// Parallel logins with the right password are not mistaken for guessing: none is refused,
/// whatever the lockout threshold (a count-before-compare lock would lock the account here).
#[test]
fn parallel_right_passwords_never_lock_the_account() {
    const THRESHOLD: u32 = 3;
    let h = start(lockout_config(THRESHOLD));
    let refused = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for _ in 0..12 {
            let (client, refused) = (h.client.clone(), refused.clone());
            s.spawn(move || {
                let r = realm_request(&client, "alice", "alice-password");
                if r.status != 201 {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(refused.load(Ordering::SeqCst), 0);
    realm_request(&h.client, "alice", "alice-password").assert_status(201);
}
