//! The deviations on the wire: with one on, the sandbox's raw answer (status, headers, body)
//! departs from the contract the way the `deviation` module says; with none on, it does not.
//! (login-transport's `tests/deviations.rs` runs a client against each.)

mod common;

use common::*;
use login_sandbox::SandboxConfig;
use login_sandbox::config::{Limit, TEST_CLIENT_ID, TEST_CLIENT_SECRET};
use login_sandbox::deviation::{self, Deviation};
use serde_json::{Value, json};

/// A raw answer: status, the headers asked about, the body text.
struct Raw {
    status: u16,
    content_type: String,
    retry_after: String,
    location: String,
    text: String,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }
}

fn send(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &Value) -> Raw {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let url = format!("{base}{path}");
    let mut req = match method {
        "POST" => agent.post(&url),
        "PATCH" => agent.patch(&url),
        other => panic!("no {other} here"),
    }
    .header("Content-Type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut response = req.send(body.to_string().as_bytes()).expect("an answer");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (content_type, retry_after, location) = (
        header("content-type"),
        header("retry-after"),
        header("location"),
    );
    Raw {
        status: response.status().as_u16(),
        content_type,
        retry_after,
        location,
        text: response.body_mut().read_to_string().unwrap_or_default(),
    }
}

fn with(deviation: Option<Deviation>, adjust: impl FnOnce(&mut SandboxConfig)) -> Harness {
    let mut config = SandboxConfig::for_tests();
    config.deviations = deviation.into_iter().collect();
    adjust(&mut config);
    start(config)
}

fn request_login(h: &Harness, user: &str, password: &str) -> Raw {
    let body = json!({"username": user, "password": password,
                      "clientId": TEST_CLIENT_ID, "clientSecret": TEST_CLIENT_SECRET});
    send(
        &h.client.base,
        "POST",
        "/internal-api/centaur/auth/realm/cap/request",
        &[],
        &body,
    )
}

#[test]
fn the_contract_answers_without_a_deviation() {
    let h = with(None, |_| {});
    let r = request_login(&h, "bob", "bob-password");
    assert_eq!(r.status, 201);
    assert!(r.content_type.starts_with("application/json"));
    let body = r.json();
    assert_eq!(body["exp"], json!(300));
    assert!(body["refId"].is_string());
    for field in deviation::UNKNOWN_FIELDS {
        assert!(body.get(field).is_none());
    }
    let r = request_login(&h, "alice", "wrong");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (401, json!("invalid_credentials"))
    );
    // The redirect target is not served.
    let r = send(
        &h.client.base,
        "POST",
        deviation::REDIRECT_TO,
        &[],
        &json!({}),
    );
    assert_eq!(r.status, 404);
    let doc = h.client.get("/openapi.json", &[]).body;
    assert!(
        !doc["info"]["description"]
            .as_str()
            .unwrap()
            .contains("deviations")
    );
}

#[test]
fn status200_answers_200_for_201() {
    let h = with(Some(Deviation::Status200), |_| {});
    let r = request_login(&h, "alice", "alice-password");
    assert_eq!(r.status, 200);
    assert!(r.json()["reqId"].is_string());
}

#[test]
fn numbers_as_strings_and_absolute_expiry_rewrite_exp() {
    let h = with(Some(Deviation::NumbersAsStrings), |_| {});
    assert_eq!(
        request_login(&h, "alice", "alice-password").json()["exp"],
        json!("300")
    );
    let h = with(Some(Deviation::AbsoluteExpiry), |_| {});
    let before = now_secs();
    let exp = request_login(&h, "alice", "alice-password").json()["exp"]
        .as_u64()
        .expect("a number");
    assert!((before + 300..=now_secs() + 300).contains(&exp), "{exp}");
}

#[test]
fn unknown_fields_are_added_to_success_bodies_only() {
    let h = with(Some(Deviation::UnknownFields), |_| {});
    let body = request_login(&h, "alice", "alice-password").json();
    for field in deviation::UNKNOWN_FIELDS {
        assert!(body.get(field).is_some(), "{field} in {body}");
    }
    assert!(body["reqId"].is_string());
    let refused = request_login(&h, "alice", "wrong").json();
    assert!(refused.get("sandboxNote").is_none());
}

#[test]
fn missing_ref_id_drops_it_from_request_login() {
    let h = with(Some(Deviation::MissingRefId), |_| {});
    let body = request_login(&h, "bob", "bob-password").json();
    assert_eq!(body["mfa"], "otp");
    assert!(body.get("refId").is_none(), "{body}");
}

#[test]
fn html_errors_turn_error_bodies_into_pages() {
    let h = with(Some(Deviation::HtmlErrors), |_| {});
    let r = request_login(&h, "alice", "wrong");
    assert_eq!(r.status, 401);
    assert!(
        r.content_type.starts_with("text/html"),
        "{}",
        r.content_type
    );
    assert!(r.text.starts_with("<!DOCTYPE html>"), "{}", r.text);
    assert!(r.text.contains("wrong username or password"));
    assert!(serde_json::from_str::<Value>(&r.text).is_err());
    // Success bodies stay JSON.
    assert!(
        request_login(&h, "alice", "alice-password")
            .content_type
            .starts_with("application/json")
    );
}

#[test]
fn text_plain_labels_success_bodies() {
    let h = with(Some(Deviation::TextPlain), |_| {});
    let r = request_login(&h, "alice", "alice-password");
    assert!(
        r.content_type.starts_with("text/plain"),
        "{}",
        r.content_type
    );
    assert!(r.json()["reqId"].is_string());
}

#[test]
fn retry_after_date_sends_an_http_date() {
    let h = with(Some(Deviation::RetryAfterDate), |c| {
        c.throttle.login_per_user = Some(Limit {
            limit: 1,
            window_secs: 30,
        });
    });
    assert_eq!(request_login(&h, "alice", "alice-password").status, 201);
    let r = request_login(&h, "alice", "alice-password");
    assert_eq!(r.status, 429);
    assert!(r.retry_after.parse::<u64>().is_err(), "{}", r.retry_after);
    assert!(r.retry_after.ends_with(" GMT"), "{}", r.retry_after);
    // An IMF-fixdate (RFC 9110 §5.6.7), about the window's end away.
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(&r.retry_after, &format)
        .expect("an HTTP date")
        .assume_utc()
        .unix_timestamp();
    let wait = at - i64::try_from(now_secs()).unwrap();
    assert!((29..=31).contains(&wait), "{wait}");
}

#[test]
fn scope_array_refuses_a_string_and_answers_arrays() {
    let h = with(Some(Deviation::ScopeArray), |_| {});
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let authorize = |scope: Value| {
        let body = json!({"clientId": TEST_CLIENT_ID, "codeChallenge": challenge,
                          "codeChallengeMethod": "S256", "scope": scope, "state": "s"});
        send(
            &h.client.base,
            "POST",
            "/api/v1/authorize",
            &[("Authorization", &device_auth())],
            &body,
        )
    };
    let r = authorize(json!("openid accounts"));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(r.json()["message"].as_str().unwrap().contains("scope"));
    assert_eq!(authorize(json!(["openid", "accounts"])).status, 200);
    // Token sets carry scope as an array (the realm's too).
    let tokens = realm_login(&h.client, "alice", "alice-password").body;
    assert_eq!(tokens["scope"], json!(["openid", "accounts"]), "{tokens}");
}

#[test]
fn scope_string_takes_the_realm_scope_as_one_string() {
    let h = with(Some(Deviation::ScopeString), |_| {});
    let token = |scope: Value| {
        let r = realm_request(&h.client, "alice", "alice-password");
        r.assert_status(201);
        h.client.post(
            &format!("{REALM}/token"),
            &[],
            json!({"reqId": r.str("reqId"), "scope": scope}),
        )
    };
    let r = token(json!(["openid", "accounts"]));
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "invalid_request");
    assert!(r.body["message"].as_str().unwrap().contains("scope"));
    let r = token(json!("openid accounts"));
    r.assert_status(201);
    assert_eq!(r.body["scope"], "openid accounts", "{}", r.body);
}

#[test]
fn redirect_step_moves_authorize_and_serves_the_new_path() {
    let h = with(Some(Deviation::RedirectStep), |_| {});
    let r = send(
        &h.client.base,
        "POST",
        deviation::REDIRECT_FROM,
        &[],
        &json!({}),
    );
    assert_eq!(
        (r.status, r.location.as_str()),
        (308, deviation::REDIRECT_TO)
    );
    // The new path is the authorize step: a missing device token is refused as there.
    let r = send(
        &h.client.base,
        "POST",
        deviation::REDIRECT_TO,
        &[],
        &json!({
        "clientId": TEST_CLIENT_ID, "scope": "openid", "state": "s"}),
    );
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (401, json!("invalid_token"))
    );
    let doc = h.client.get("/openapi.json", &[]).body;
    let description = doc["info"]["description"].as_str().unwrap();
    assert!(
        description.contains("deviations switched on (redirectStep)"),
        "{description}"
    );
    assert!(
        doc["paths"].get(deviation::REDIRECT_TO).is_none(),
        "the document stays the contract's"
    );
}

#[test]
fn refresh_token_only_refuses_client_id() {
    let h = with(Some(Deviation::RefreshTokenOnly), |_| {});
    let tokens = realm_login(&h.client, "alice", "alice-password").body;
    let refresh = tokens["refreshToken"].as_str().unwrap();
    let path = "/internal-api/centaur/auth/realm/cap/token";
    let r = send(
        &h.client.base,
        "PATCH",
        path,
        &[],
        &json!({"clientId": TEST_CLIENT_ID, "refreshToken": refresh}),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().unwrap().contains("clientId"));
    let r = send(
        &h.client.base,
        "PATCH",
        path,
        &[],
        &json!({"refreshToken": refresh}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn the_deviation_flag_names_are_the_config_keys() {
    for d in Deviation::ALL {
        let config: SandboxConfig = serde_json::from_value(json!({
            "users": {}, "realm": "cap", "clientId": "c", "clientSecret": "s",
            "deviceTokens": [], "redirectUris": [], "anomaly": "never", "captchaRequired": false,
            "fixedOtp": null, "fixedCaptcha": null, "deviations": [d.as_str()]
        }))
        .expect("the key reads");
        assert_eq!(config.deviations, [d]);
    }
    let unknown = serde_json::from_value::<SandboxConfig>(json!({
        "users": {}, "realm": "cap", "clientId": "c", "clientSecret": "s",
        "deviceTokens": [], "redirectUris": [], "anomaly": "never", "captchaRequired": false,
        "fixedOtp": null, "fixedCaptcha": null, "deviations": ["scope_array"]
    }));
    assert!(unknown.is_err());
}
