//! Abuse over HTTP: brute force and lockout, throttling, oversized and malformed bodies. Each
//! test checks the status, the error code, and that the server still serves a correct login.

mod common;

use std::time::Duration;

use common::*;
use login_sandbox::SandboxConfig;
use login_sandbox::config::{Limit, LockoutConfig, TEST_CLIENT_ID};
use serde_json::json;

fn lockout_config() -> SandboxConfig {
    let mut config = SandboxConfig::for_tests();
    config.lockout = LockoutConfig {
        threshold: 3,
        window_secs: 1,
    };
    config
}

#[test]
fn lockout_after_wrong_passwords_lifts_after_the_window() {
    let h = start(lockout_config());
    for _ in 0..3 {
        realm_request(&h.client, "alice", "guess").assert_error(401, "invalid_credentials");
    }
    // Locked: even the right password is refused, over both APIs.
    let locked = realm_request(&h.client, "alice", "alice-password");
    locked.assert_error(423, "locked");
    assert_eq!(locked.retry_after, Some(1));
    let auth = authorize(&h.client, GATEWAY);
    login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password")
        .assert_error(423, "locked");
    // Other users are unaffected.
    realm_request(&h.client, "bob", "bob-password").assert_status(201);
    ciam_login(&h.client, GATEWAY, &h.jwk, "bob", "bob-password").assert_status(200);
    // The lock lifts after the window, and the same challenge is still usable.
    std::thread::sleep(Duration::from_millis(1100));
    let ok = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password");
    ok.assert_status(200);
    realm_login(&h.client, "alice", "alice-password").assert_status(201);
}

#[test]
fn unknown_users_are_indistinguishable_from_real_ones() {
    let h = start(lockout_config());
    let mut seen = Vec::new();
    for user in ["alice", "no-such-user"] {
        let statuses: Vec<(u16, String, Option<u64>)> = (0..5)
            .map(|_| {
                let r = realm_request(&h.client, user, "guess");
                (
                    r.status,
                    r.body["message"].as_str().unwrap_or("").to_owned(),
                    r.retry_after,
                )
            })
            .collect();
        seen.push(statuses);
    }
    assert_eq!(
        seen[0], seen[1],
        "the answers for a real and an unknown user differ"
    );
    assert_eq!(
        seen[0].iter().map(|s| s.0).collect::<Vec<_>>(),
        [401, 401, 401, 423, 423]
    );
}

#[test]
fn login_attempts_are_throttled_with_retry_after() {
    let mut config = SandboxConfig::for_tests();
    config.throttle.login_per_user = Some(Limit {
        limit: 3,
        window_secs: 1,
    });
    let h = start(config);
    for _ in 0..3 {
        realm_request(&h.client, "alice", "alice-password").assert_status(201);
    }
    let r = realm_request(&h.client, "alice", "alice-password");
    r.assert_error(429, "rate_limited");
    assert_eq!(r.retry_after, Some(1));
    // Throttled attempts are not processed: they do not count toward the lockout either.
    let auth = authorize(&h.client, GATEWAY);
    login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "wrong")
        .assert_error(429, "rate_limited");
    std::thread::sleep(Duration::from_millis(1100));
    login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password")
        .assert_status(200);
}

#[test]
fn otp_sends_are_throttled() {
    let mut config = SandboxConfig::for_tests();
    config.throttle.otp_send_per_user = Some(Limit {
        limit: 2,
        window_secs: 60,
    });
    let h = start(config);
    let forgot = |user: &str| {
        h.client.post(
            &format!("{REALM_ADMIN}/forgotPassword"),
            &[],
            json!({"username": user}),
        )
    };
    forgot("carol").assert_status(201);
    forgot("carol").assert_status(201);
    let r = forgot("carol");
    r.assert_error(429, "rate_limited");
    assert!(r.retry_after.is_some_and(|s| (1..=60).contains(&s)));
    assert_eq!(h.sandbox.outbox().len(), 2);
    forgot("alice").assert_status(201);
}

#[test]
fn requests_per_address_are_throttled() {
    let mut config = SandboxConfig::for_tests();
    config.throttle.requests_per_ip = Some(Limit {
        limit: 5,
        window_secs: 1,
    });
    let h = start(config);
    for _ in 0..5 {
        h.client.get("/api/v1/jwks.json", &[]).assert_status(200);
    }
    let r = h.client.get("/api/v1/jwks.json", &[]);
    r.assert_error(429, "rate_limited");
    assert_eq!(r.retry_after, Some(1));
    std::thread::sleep(Duration::from_millis(1100));
    realm_login(&h.client, "alice", "alice-password").assert_status(201);
}

/// Every POST/PATCH route of both APIs, for the body tests.
fn body_routes() -> Vec<(&'static str, String)> {
    let mut routes = vec![
        ("POST", format!("{REALM}/request")),
        ("POST", format!("{REALM}/token")),
        ("PATCH", format!("{REALM}/token")),
        ("POST", format!("{REALM_ADMIN}/forgotPassword")),
        ("POST", format!("{REALM_ADMIN}/verifyOtp")),
        ("POST", format!("{REALM_ADMIN}/resetPassword")),
    ];
    for set in [GATEWAY, SERVICE] {
        for path in [
            set.authorize,
            set.login_challenge,
            set.pre_login_verify,
            set.access_token,
            set.revoke,
            set.refresh,
        ] {
            routes.push(("POST", path.to_owned()));
        }
    }
    routes
}

#[test]
fn oversized_bodies_get_413_json() {
    let h = start_default();
    let big = format!(r#"{{"username":"{}"}}"#, "x".repeat(70 * 1024)).into_bytes();
    let device = device_auth();
    for (method, path) in body_routes() {
        let r = h.client.raw(
            method,
            &path,
            &[("Authorization", &device)],
            Some(big.clone()),
        );
        r.assert_error(413, "invalid_request");
    }
    realm_login(&h.client, "alice", "alice-password").assert_status(201);
    ciam_login(&h.client, GATEWAY, &h.jwk, "alice", "alice-password").assert_status(200);
}

#[test]
fn malformed_json_gets_400_never_500() {
    let h = start_default();
    let device = device_auth();
    let bodies: [&[u8]; 8] = [
        b"",
        b"{",
        b"not json",
        b"[]",
        b"null",
        br#"{"username": 5, "password": [], "clientId": {}, "clientSecret": null}"#,
        b"\xff\xfe\x00garbage",
        br#"{"reqId": "x", "scope": "openid"}"#,
    ];
    for (method, path) in body_routes() {
        for body in bodies {
            let r = h.client.raw(
                method,
                &path,
                &[("Authorization", &device)],
                Some(body.to_vec()),
            );
            assert!(
                r.status == 400 || r.status == 401 || r.status == 404,
                "{method} {path}: {r:?}"
            );
            if r.status == 400 {
                assert_eq!(r.error_code(), "invalid_request", "{method} {path}: {r:?}");
            }
            assert!(r.body["message"].is_string(), "{method} {path}: {r:?}");
        }
    }
    // Missing-field messages name the field, and never echo values.
    let r = h.client.post(
        &format!("{REALM}/request"),
        &[],
        json!({"username": "alice", "password": "hunter2-secret"}),
    );
    r.assert_error(400, "invalid_request");
    assert!(
        r.body["message"].as_str().unwrap().contains("clientId"),
        "{r:?}"
    );
    let r = h.client.post(&format!("{REALM}/request"), &[], json!({"username": "alice", "password": 123456789, "clientId": TEST_CLIENT_ID, "clientSecret": "x"}));
    assert!(
        !r.body["message"].as_str().unwrap().contains("123456789"),
        "{r:?}"
    );
    realm_login(&h.client, "alice", "alice-password").assert_status(201);
}

#[test]
fn unknown_routes_and_methods_get_json_errors() {
    let h = start_default();
    h.client.get("/nope", &[]).assert_error(404, "not_found");
    h.client
        .get("/api/v1/authorize", &[])
        .assert_error(405, "invalid_request");
    h.client
        .raw("DELETE", &format!("{REALM}/token"), &[], None)
        .assert_error(405, "invalid_request");
}
