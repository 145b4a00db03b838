//! The internet-banking API over HTTP, on both route sets: every flow and every rejection.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use login_sandbox::SandboxConfig;
use login_sandbox::config::{AnomalyMode, GeoPoint, TEST_CLIENT_ID, TEST_REDIRECT_URI};
use serde_json::{Value, json};

#[test]
fn full_login_refresh_revoke_on_both_route_sets() {
    let h = start_default();
    for routes in [GATEWAY, SERVICE] {
        let t = ciam_login(&h.client, routes, &h.jwk, "alice", "alice-password");
        t.assert_status(200);
        assert_eq!(t.body["scope"], SCOPE);
        assert_eq!(t.body["tokenType"], "Bearer");
        assert_eq!(t.body["redirectUrl"], TEST_REDIRECT_URI);
        assert_eq!(t.body["expires"], 300);
        assert_session_live(&h.client, &t.str("accessToken"), true);

        let r = ciam_refresh(&h.client, routes, &t.str("refreshToken"));
        r.assert_status(200);
        assert_eq!(r.str("sessionState"), t.str("sessionState"));
        assert_eq!(r.body["redirectUrl"], TEST_REDIRECT_URI);
        assert_session_live(&h.client, &t.str("accessToken"), false);

        let access = r.str("accessToken");
        let revoke = h.client.post(
            routes.revoke,
            &[("Authorization", &format!("Bearer {access}"))],
            json!({"clientId": TEST_CLIENT_ID}),
        );
        revoke.assert_status(200);
        assert_eq!(revoke.body["success"], true);
        assert_session_live(&h.client, &access, false);
        ciam_refresh(&h.client, routes, &r.str("refreshToken")).assert_error(401, "invalid_token");
        h.client
            .post(
                routes.revoke,
                &[("Authorization", &format!("Bearer {access}"))],
                json!({"clientId": TEST_CLIENT_ID}),
            )
            .assert_error(401, "invalid_token");
    }
}

#[test]
fn jwks_serves_the_public_key() {
    let h = start_default();
    let r = h.client.get("/api/v1/jwks.json", &[]);
    r.assert_status(200);
    let key = &r.body["keys"][0];
    assert_eq!(key, &serde_json::from_str::<Value>(&h.jwk).unwrap());
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert!(key.get("d").is_none(), "the private part is never served");
}

#[test]
fn wrong_password_can_be_retried_on_the_same_challenge() {
    let h = start_default();
    let auth = authorize(&h.client, GATEWAY);
    login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "nope")
        .assert_error(401, "invalid_credentials");
    login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "nobody", "nope")
        .assert_error(401, "invalid_credentials");
    let ok = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password");
    ok.assert_status(200);
    // Once used, the challenge is gone.
    login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password")
        .assert_error(404, "not_found");
    access_token(&h.client, GATEWAY, &auth, &ok.str("code"), &ok.str("token")).assert_status(200);
}

#[test]
fn captcha_is_required_single_use_and_replaced_by_a_new_fetch() {
    let mut config = SandboxConfig::for_tests();
    config.captcha_required = true;
    let h = start(config);
    let auth = authorize(&h.client, GATEWAY);
    let with = |captcha: Option<(&str, &str)>, password: &str| {
        login_challenge_with(
            &h.client,
            GATEWAY,
            &h.jwk,
            &auth,
            &credentials(&auth, "alice", password, captcha),
            &[],
        )
    };
    with(None, "alice-password").assert_error(400, "captcha_required");

    let c1 = fetch_captcha(&h.client, &auth);
    c1.assert_status(200);
    let png = STANDARD.decode(c1.str("image")).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert!(info.width > 50 && info.height > 20);
    let id1 = c1.str("captchaId");
    // Wrong answer: refused, and the captcha is used up.
    with(Some((&id1, "WXYZ")), "alice-password").assert_error(400, "invalid_captcha");
    // Replay of the used captcha with the right answer.
    with(Some((&id1, "ABCD")), "alice-password").assert_error(400, "invalid_captcha");

    // A new fetch replaces the earlier captcha.
    let id2 = fetch_captcha(&h.client, &auth).str("captchaId");
    let id3 = fetch_captcha(&h.client, &auth).str("captchaId");
    with(Some((&id2, "ABCD")), "alice-password").assert_error(400, "invalid_captcha");
    // id2's failure used up id3 too (any attempt uses the current captcha).
    with(Some((&id3, "ABCD")), "alice-password").assert_error(400, "invalid_captcha");

    // Right captcha, wrong password: 401; the captcha is spent, the challenge lives on.
    let id4 = fetch_captcha(&h.client, &auth).str("captchaId");
    with(Some((&id4, "abcd")), "wrong").assert_error(401, "invalid_credentials");
    let id5 = fetch_captcha(&h.client, &auth).str("captchaId");
    let ok = with(Some((&id5, "abcd")), "alice-password");
    ok.assert_status(200);
    access_token(&h.client, GATEWAY, &auth, &ok.str("code"), &ok.str("token")).assert_status(200);
}

#[test]
fn captcha_rejections() {
    let mut config = SandboxConfig::for_tests();
    config.lifetimes.captcha_secs = 1;
    config.captcha_required = true;
    let h = start(config);
    h.client
        .get("/api/v1/captcha", &[])
        .assert_error(400, "invalid_request");
    h.client
        .get("/api/v1/captcha", &[("checkIdentity", "unknown")])
        .assert_error(404, "not_found");
    let auth = authorize(&h.client, GATEWAY);
    let id = fetch_captcha(&h.client, &auth).str("captchaId");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let creds = credentials(&auth, "alice", "alice-password", Some((&id, "ABCD")));
    login_challenge_with(&h.client, GATEWAY, &h.jwk, &auth, &creds, &[])
        .assert_error(400, "invalid_captcha");
    let id = fetch_captcha(&h.client, &auth).str("captchaId");
    let creds = credentials(&auth, "alice", "alice-password", Some((&id, "ABCD")));
    login_challenge_with(&h.client, GATEWAY, &h.jwk, &auth, &creds, &[]).assert_status(200);
}

fn anomaly_config(mode: AnomalyMode) -> SandboxConfig {
    let mut config = SandboxConfig::for_tests();
    config.anomaly = mode;
    config
}

#[test]
fn anomaly_always_asks_for_an_otp_then_verify_gives_a_code() {
    let h = start(anomaly_config(AnomalyMode::Always));
    for (routes, user, channel) in [(GATEWAY, "alice", "sms"), (SERVICE, "carol", "email")] {
        let auth = authorize(&h.client, routes);
        let r = login_challenge(
            &h.client,
            routes,
            &h.jwk,
            &auth,
            user,
            &format!("{user}-password"),
        );
        r.assert_status(200);
        assert_eq!(r.body["channel"], channel);
        assert!(r.body.get("code").is_none());
        let sent = last_otp(&h.sandbox, user, "login-2fa");
        assert_eq!(sent.ref_id, r.str("refId"));
        let verify = |otp: &str| {
            h.client.post(
                routes.pre_login_verify,
                &[("Authorization", &device_auth())],
                json!({"consentOtp": otp, "mfaChallenge": r.str("mfaChallenge")}),
            )
        };
        verify("000000").assert_error(401, "invalid_otp");
        let v = verify(&sent.otp);
        v.assert_status(200);
        // OTP replay.
        verify(&sent.otp).assert_error(404, "not_found");
        access_token(&h.client, routes, &auth, &v.str("code"), &v.str("token")).assert_status(200);
    }
}

#[test]
fn sixth_2fa_attempt_is_refused_even_with_the_right_code() {
    let h = start(anomaly_config(AnomalyMode::Always));
    let auth = authorize(&h.client, GATEWAY);
    let r = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password");
    let verify = |otp: &str| {
        h.client.post(
            GATEWAY.pre_login_verify,
            &[("Authorization", &device_auth())],
            json!({"consentOtp": otp, "mfaChallenge": r.str("mfaChallenge")}),
        )
    };
    for _ in 0..5 {
        verify("111111").assert_error(401, "invalid_otp");
    }
    verify("123456").assert_error(404, "expired");
    // Unknown challenge, wrong device.
    h.client
        .post(
            GATEWAY.pre_login_verify,
            &[("Authorization", &device_auth())],
            json!({"consentOtp": "123456", "mfaChallenge": "nope"}),
        )
        .assert_error(404, "not_found");
    // A new login still works.
    let auth = authorize(&h.client, GATEWAY);
    let r = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password");
    h.client
        .post(
            GATEWAY.pre_login_verify,
            &[("Authorization", "Bearer other-device")],
            json!({"consentOtp": "123456", "mfaChallenge": r.str("mfaChallenge")}),
        )
        .assert_error(401, "invalid_token");
    h.client
        .post(
            GATEWAY.pre_login_verify,
            &[("Authorization", &device_auth())],
            json!({"consentOtp": "123456", "mfaChallenge": r.str("mfaChallenge")}),
        )
        .assert_status(200);
}

#[test]
fn anomaly_rule_compares_with_the_last_location() {
    let mut config = anomaly_config(AnomalyMode::Rule);
    config.users.get_mut("bob").unwrap().last_location = Some(GeoPoint {
        latitude: 13.7563,
        longitude: 100.5018,
    });
    let h = start(config);
    let at = |user: &str, lat: Option<&str>, lon: Option<&str>| {
        let auth = authorize(&h.client, GATEWAY);
        let mut headers = vec![];
        if let Some(lat) = lat {
            headers.push(("locLatitude", lat));
        }
        if let Some(lon) = lon {
            headers.push(("locLongitude", lon));
        }
        let creds = credentials(&auth, user, &format!("{user}-password"), None);
        login_challenge_with(&h.client, GATEWAY, &h.jwk, &auth, &creds, &headers)
    };
    // Bob's last location is Bangkok: near is fine, Singapore (about 1,430 km) or none is an anomaly.
    assert!(
        at("bob", Some("13.70"), Some("100.60"))
            .body
            .get("code")
            .is_some()
    );
    assert!(
        at("bob", Some("1.3521"), Some("103.8198"))
            .body
            .get("mfaChallenge")
            .is_some()
    );
    assert!(at("bob", None, None).body.get("mfaChallenge").is_some());
    // Alice has no last location: her first login is fine and records it.
    assert!(
        at("alice", Some("51.5072"), Some("-0.1276"))
            .body
            .get("code")
            .is_some()
    );
    assert!(
        at("alice", Some("48.8566"), Some("2.3522"))
            .body
            .get("code")
            .is_some()
    ); // Paris, 344 km
    assert!(
        at("alice", Some("40.7128"), Some("-74.0060"))
            .body
            .get("mfaChallenge")
            .is_some()
    ); // New York
    // Bad location headers.
    at("alice", Some("north"), Some("0")).assert_error(400, "invalid_request");
    at("alice", Some("10"), None).assert_error(400, "invalid_request");
    at("alice", Some("91"), Some("0")).assert_error(400, "invalid_request");
}

#[test]
fn code_replay_is_refused_and_revokes_the_session() {
    let h = start_default();
    let auth = authorize(&h.client, GATEWAY);
    let r = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password");
    let (code, token) = (r.str("code"), r.str("token"));
    let t = access_token(&h.client, GATEWAY, &auth, &code, &token);
    t.assert_status(200);
    access_token(&h.client, GATEWAY, &auth, &code, &token).assert_error(401, "invalid_token");
    assert_session_live(&h.client, &t.str("accessToken"), false);
    ciam_refresh(&h.client, GATEWAY, &t.str("refreshToken")).assert_error(401, "invalid_token");
    ciam_login(&h.client, GATEWAY, &h.jwk, "alice", "alice-password").assert_status(200);
}

#[test]
fn pkce_downgrade_and_wrong_verifier_are_refused() {
    let h = start_default();
    let device = device_auth();
    let headers = [("Authorization", device.as_str())];
    let verifier = "a".repeat(43);
    for method in [Some("plain"), Some("s256"), None] {
        let mut body = authorize_body(&verifier, "state-state-state-state");
        match method {
            Some(m) => body["codeChallengeMethod"] = json!(m),
            None => {
                body.as_object_mut().unwrap().remove("codeChallengeMethod");
            }
        }
        h.client
            .post(GATEWAY.authorize, &headers, body)
            .assert_error(400, "invalid_request");
    }
    let mut no_challenge = authorize_body(&verifier, "state-state-state-state");
    no_challenge
        .as_object_mut()
        .unwrap()
        .remove("codeChallenge");
    h.client
        .post(GATEWAY.authorize, &headers, no_challenge)
        .assert_error(400, "invalid_request");
    let mut plain_challenge = authorize_body(&verifier, "state-state-state-state");
    plain_challenge["codeChallenge"] = json!(verifier);
    h.client
        .post(GATEWAY.authorize, &headers, plain_challenge)
        .assert_error(400, "invalid_request");

    let auth = authorize(&h.client, GATEWAY);
    let r = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password");
    let bearer = format!("Bearer {}", r.str("token"));
    let mut body = access_token_body(&auth, &r.str("code"));
    body.as_object_mut().unwrap().remove("codeVerifier");
    h.client
        .post(
            GATEWAY.access_token,
            &[("Authorization", &bearer)],
            body.clone(),
        )
        .assert_error(400, "invalid_request");
    body["codeVerifier"] = json!("b".repeat(43));
    h.client
        .post(
            GATEWAY.access_token,
            &[("Authorization", &bearer)],
            body.clone(),
        )
        .assert_error(400, "invalid_request");
    body["codeVerifier"] = json!("short");
    h.client
        .post(GATEWAY.access_token, &[("Authorization", &bearer)], body)
        .assert_error(400, "invalid_request");
    // The failed attempts did not spend the code.
    access_token(&h.client, GATEWAY, &auth, &r.str("code"), &r.str("token")).assert_status(200);
}

#[test]
fn access_token_checks_state_scope_redirect_client_bearer_and_grant() {
    let h = start_default();
    let auth = authorize(&h.client, SERVICE);
    let r = login_challenge(&h.client, SERVICE, &h.jwk, &auth, "alice", "alice-password");
    let bearer = format!("Bearer {}", r.str("token"));
    let good = access_token_body(&auth, &r.str("code"));
    let cases: [(&str, Value, u16, &str); 7] = [
        ("state", json!("other-state"), 400, "invalid_request"),
        ("scope", json!("openid"), 400, "invalid_request"),
        (
            "redirectUri",
            json!("https://evil.example/cb"),
            400,
            "invalid_request",
        ),
        (
            "clientId",
            json!("other-client"),
            401,
            "invalid_credentials",
        ),
        ("grantType", json!("refresh_token"), 400, "invalid_request"),
        ("code", json!("unknown-code"), 401, "invalid_token"),
        ("codeVerifier", json!(null), 400, "invalid_request"),
    ];
    for (field, value, status, code) in cases {
        let mut body = good.clone();
        body[field] = value;
        h.client
            .post(SERVICE.access_token, &[("Authorization", &bearer)], body)
            .assert_error(status, code);
    }
    h.client
        .post(SERVICE.access_token, &[], good.clone())
        .assert_error(401, "invalid_token");
    h.client
        .post(
            SERVICE.access_token,
            &[("Authorization", "Bearer not-the-token")],
            good.clone(),
        )
        .assert_error(401, "invalid_token");
    h.client
        .post(SERVICE.access_token, &[("Authorization", &bearer)], good)
        .assert_status(200);
}

#[test]
fn expired_code_is_refused() {
    let mut config = SandboxConfig::for_tests();
    config.lifetimes.code_secs = 1;
    let h = start(config);
    let auth = authorize(&h.client, GATEWAY);
    let r = login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    access_token(&h.client, GATEWAY, &auth, &r.str("code"), &r.str("token"))
        .assert_error(401, "invalid_token");
}

#[test]
fn device_token_is_required() {
    let h = start_default();
    let auth = authorize(&h.client, GATEWAY);
    let body = authorize_body("c".repeat(43).as_str(), "s");
    h.client
        .post(GATEWAY.authorize, &[], body.clone())
        .assert_error(401, "invalid_token");
    h.client
        .post(
            GATEWAY.authorize,
            &[("Authorization", "Bearer wrong")],
            body.clone(),
        )
        .assert_error(401, "invalid_token");
    h.client
        .post(
            GATEWAY.authorize,
            &[("Authorization", "Basic abc")],
            body.clone(),
        )
        .assert_error(401, "invalid_token");
    let mut other_client = body;
    other_client["clientId"] = json!("other");
    h.client
        .post(
            GATEWAY.authorize,
            &[("Authorization", &device_auth())],
            other_client,
        )
        .assert_error(401, "invalid_credentials");
    let envelope = seal(
        &h.jwk,
        credentials(&auth, "alice", "alice-password", None)
            .to_string()
            .as_bytes(),
    );
    let lc = json!({"loginChallenge": auth.login_challenge, "authToken": envelope});
    h.client
        .post(GATEWAY.login_challenge, &[], lc.clone())
        .assert_error(401, "invalid_token");
    h.client
        .post(
            GATEWAY.login_challenge,
            &[("Authorization", "Bearer wrong")],
            lc.clone(),
        )
        .assert_error(401, "invalid_token");
    h.client
        .post(
            GATEWAY.pre_login_verify,
            &[],
            json!({"consentOtp": "1", "mfaChallenge": "x"}),
        )
        .assert_error(401, "invalid_token");
    // The challenge is intact.
    h.client
        .post(
            GATEWAY.login_challenge,
            &[("Authorization", &device_auth())],
            lc,
        )
        .assert_status(200);
}

#[test]
fn envelope_rejections_leave_the_challenge_usable() {
    let h = start_default();
    let auth = authorize(&h.client, GATEWAY);
    let other = authorize(&h.client, GATEWAY);
    let device = device_auth();
    let send = |envelope: String| {
        h.client.post(
            GATEWAY.login_challenge,
            &[("Authorization", &device)],
            json!({"loginChallenge": auth.login_challenge, "authToken": envelope}),
        )
    };
    send("not-a-jwe".into()).assert_error(400, "invalid_request");
    send("a.b.c.d.e".into()).assert_error(400, "invalid_request");
    // Sealed to another key.
    let stranger = login_sandbox::jwe::ServerKey::generate();
    let creds = credentials(&auth, "alice", "alice-password", None);
    let foreign: Value = serde_json::from_str(stranger.public_jwk()).unwrap();
    let mut foreign_no_kid = foreign.clone();
    foreign_no_kid.as_object_mut().unwrap().remove("kid");
    send(seal(&foreign.to_string(), creds.to_string().as_bytes()))
        .assert_error(400, "invalid_request");
    send(seal(
        &foreign_no_kid.to_string(),
        creds.to_string().as_bytes(),
    ))
    .assert_error(400, "invalid_request");
    // Tampered ciphertext.
    let good = seal(&h.jwk, creds.to_string().as_bytes());
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    // Change the first character (to one it is not, or the "tampering" is a no-op 1 time in 64).
    let flipped = if parts[3].starts_with('A') { 'B' } else { 'A' };
    parts[3] = format!("{flipped}{}", &parts[3][1..]);
    send(parts.join(".")).assert_error(400, "invalid_request");
    // Another challenge's authToken, a stale iat, not JSON.
    let wrong_binding = credentials(&other, "alice", "alice-password", None);
    send(seal(&h.jwk, wrong_binding.to_string().as_bytes())).assert_error(400, "invalid_request");
    let mut stale = creds.clone();
    stale["iat"] = json!(now_secs() - 3600);
    send(seal(&h.jwk, stale.to_string().as_bytes())).assert_error(400, "invalid_request");
    send(seal(&h.jwk, b"hello")).assert_error(400, "invalid_request");
    // Unknown challenge.
    h.client
        .post(
            GATEWAY.login_challenge,
            &[("Authorization", &device)],
            json!({"loginChallenge": "nope", "authToken": good}),
        )
        .assert_error(404, "not_found");
    // Still usable.
    send(good).assert_status(200);
}

#[test]
fn expired_login_challenge_is_404_expired() {
    let mut config = SandboxConfig::for_tests();
    config.lifetimes.login_challenge_secs = 1;
    let h = start(config);
    let auth = authorize(&h.client, GATEWAY);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    login_challenge(&h.client, GATEWAY, &h.jwk, &auth, "alice", "alice-password")
        .assert_error(404, "expired");
    fetch_captcha(&h.client, &auth).assert_error(404, "expired");
}

#[test]
fn refresh_reuse_revokes_the_family_and_other_refresh_rejections() {
    let h = start_default();
    let t1 = ciam_login(&h.client, GATEWAY, &h.jwk, "alice", "alice-password");
    let t2 = ciam_refresh(&h.client, GATEWAY, &t1.str("refreshToken"));
    t2.assert_status(200);
    // Wrong scope, wrong grant type, wrong client: refused without spending the token.
    let mut body = json!({"clientId": TEST_CLIENT_ID, "grantType": "refresh_token", "refreshToken": t2.str("refreshToken"), "scope": "openid"});
    h.client
        .post(GATEWAY.refresh, &[], body.clone())
        .assert_error(400, "invalid_request");
    body["scope"] = json!(SCOPE);
    body["grantType"] = json!("authorization_code");
    h.client
        .post(GATEWAY.refresh, &[], body.clone())
        .assert_error(400, "invalid_request");
    body["grantType"] = json!("refresh_token");
    body["clientId"] = json!("other");
    h.client
        .post(GATEWAY.refresh, &[], body)
        .assert_error(401, "invalid_credentials");
    // A realm refresh token is not good here, nor an access token.
    let realm = realm_login(&h.client, "alice", "alice-password");
    ciam_refresh(&h.client, GATEWAY, &realm.str("refreshToken")).assert_error(401, "invalid_token");
    ciam_refresh(&h.client, GATEWAY, &t2.str("accessToken")).assert_error(401, "invalid_token");
    // Reuse of t1's refresh token revokes the family: t2's tokens die too.
    ciam_refresh(&h.client, GATEWAY, &t1.str("refreshToken")).assert_error(401, "invalid_token");
    ciam_refresh(&h.client, GATEWAY, &t2.str("refreshToken")).assert_error(401, "invalid_token");
    assert_session_live(&h.client, &t2.str("accessToken"), false);
    // The realm session is another family and lives on.
    assert_session_live(&h.client, &realm.str("accessToken"), true);
}

#[test]
fn revoke_rejections() {
    let h = start_default();
    let t = ciam_login(&h.client, GATEWAY, &h.jwk, "alice", "alice-password");
    let bearer = format!("Bearer {}", t.str("accessToken"));
    h.client
        .post(GATEWAY.revoke, &[], json!({"clientId": TEST_CLIENT_ID}))
        .assert_error(401, "invalid_token");
    h.client
        .post(
            GATEWAY.revoke,
            &[("Authorization", "Bearer nope")],
            json!({"clientId": TEST_CLIENT_ID}),
        )
        .assert_error(401, "invalid_token");
    h.client
        .post(
            GATEWAY.revoke,
            &[("Authorization", &bearer)],
            json!({"clientId": "other"}),
        )
        .assert_error(401, "invalid_credentials");
    assert_session_live(&h.client, &t.str("accessToken"), true);
    h.client
        .post(
            GATEWAY.revoke,
            &[("Authorization", &bearer)],
            json!({"clientId": TEST_CLIENT_ID}),
        )
        .assert_status(200);
}
