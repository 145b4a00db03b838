//! The OpenAPI document lists exactly the routes the server mounts, and those are exactly the
//! wire contract's routes (plus the sandbox's own).

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

/// The contract's routes (wire-contract.md sections 1 and 2) and the sandbox's own.
const EXPECTED: &[(&str, &str)] = &[
    ("POST", "/internal-api/centaur/auth/realm/{realmId}/request"),
    ("POST", "/internal-api/centaur/auth/realm/{realmId}/token"),
    ("PATCH", "/internal-api/centaur/auth/realm/{realmId}/token"),
    (
        "POST",
        "/internal-api/centaur/realm/admin/{realmId}/user/forgotPassword",
    ),
    (
        "POST",
        "/internal-api/centaur/realm/admin/{realmId}/user/verifyOtp",
    ),
    (
        "POST",
        "/internal-api/centaur/realm/admin/{realmId}/user/resetPassword",
    ),
    ("POST", "/api/v1/authorize"),
    ("GET", "/api/v1/captcha"),
    ("POST", "/api/v1/login-challenge"),
    ("POST", "/api/v1/pre-login-verify"),
    ("POST", "/api/v1/access-token"),
    ("POST", "/api/v1/revoke-token"),
    ("POST", "/api/v1/refresh-token"),
    ("POST", "/ciamauthsrvc/internetBanking/oauth/authorize"),
    (
        "POST",
        "/ciamauthsrvc/internetBanking/oauth/acceptLoginChallenge",
    ),
    ("POST", "/ciamauthsrvc/auth/mfa/prelogin/verify"),
    ("POST", "/ciamauthsrvc/internetBanking/oauth/accessToken"),
    ("POST", "/ciamauthsrvc/internetBanking/oauth/revoke"),
    (
        "POST",
        "/ciamauthsrvc/internetBanking/oauth/accessToken/refresh",
    ),
    ("GET", "/api/v1/jwks.json"),
    ("GET", "/_sandbox/outbox"),
    ("GET", "/_sandbox/session"),
    ("GET", "/_sandbox/refreshes"),
    ("GET", "/openapi.json"),
];

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if ["get", "post", "patch", "put", "delete"].contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Whether the answer came from the router's fallbacks rather than a mounted handler.
fn is_fallback(r: &Reply) -> bool {
    r.status == 405
        || (r.status == 404
            && r.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("no route for")))
}

#[test]
fn openapi_lists_exactly_the_mounted_routes() {
    let h = start_default();
    let r = h.client.get("/openapi.json", &[]);
    r.assert_status(200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
    let doc_routes = documented(&r.body);
    let expected: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        doc_routes, expected,
        "the document and the contract's route list differ"
    );

    // Every documented route is served by a handler, not a fallback.
    for (method, path) in &doc_routes {
        let path = path.replace("{realmId}", "cap");
        let reply = match method.as_str() {
            "GET" => h.client.get(&path, &[]),
            other => h.client.raw(other, &path, &[], Some(b"{}".to_vec())),
        };
        assert!(
            !is_fallback(&reply),
            "{method} {path} is documented but not served: {reply:?}"
        );
        assert!(reply.status < 500, "{method} {path}: {reply:?}");
    }
    // And the fallbacks are what an undocumented route gets.
    assert!(is_fallback(&h.client.get("/api/v1/not-a-route", &[])));
    assert!(is_fallback(&h.client.raw(
        "PUT",
        "/api/v1/authorize",
        &[],
        Some(b"{}".to_vec())
    )));
}

#[test]
fn every_operation_documents_its_success_and_error_bodies() {
    let h = start_default();
    let doc = h.client.get("/openapi.json", &[]).body;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path}: no responses"));
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}: no success response"
            );
            if method != "get" {
                assert!(
                    op.get("requestBody").is_some(),
                    "{method} {path}: no request body"
                );
                assert!(responses.contains_key("400"), "{method} {path}: no 400");
            }
        }
    }
    for schema in [
        "TokenSet",
        "ErrorBody",
        "AuthorizeBody",
        "RequestLoginBody",
        "LoginChallengeResponse",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "schema {schema} missing"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The document tells the truth: every check the server makes on a request's shape is in it.

/// A component schema by name.
fn component<'d>(doc: &'d Value, name: &str) -> &'d Value {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "schema {name} missing");
    schema
}

/// A property of a component schema, following a `$ref` to its target.
fn property<'d>(doc: &'d Value, schema: &str, name: &str) -> &'d Value {
    let prop = &component(doc, schema)["properties"][name];
    match prop["$ref"].as_str() {
        Some(target) => component(doc, target.trim_start_matches("#/components/schemas/")),
        None => prop,
    }
}

fn required(doc: &Value, schema: &str) -> BTreeSet<String> {
    component(doc, schema)["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn pattern(doc: &Value, schema: &str, name: &str) -> regex::Regex {
    let text = property(doc, schema, name)["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{schema}.{name} has no pattern"));
    regex::Regex::new(text).expect("the pattern compiles")
}

fn operation<'d>(doc: &'d Value, method: &str, path: &str) -> &'d Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} missing");
    op
}

#[test]
fn the_schema_states_the_constants_and_required_fields_the_server_checks() {
    let h = start_default();
    let doc = h.client.get("/openapi.json", &[]).body;
    let one_of = |schema: &str, name: &str| property(&doc, schema, name)["enum"].clone();
    assert_eq!(
        one_of("AccessTokenBody", "grantType"),
        json!(["authorization_code"])
    );
    assert_eq!(
        one_of("CiamRefreshBody", "grantType"),
        json!(["refresh_token"])
    );
    assert_eq!(
        one_of("AuthorizeBody", "codeChallengeMethod"),
        json!(["S256"])
    );
    assert_eq!(
        one_of("AccessTokenBody", "redirectUri"),
        json!([login_sandbox::config::TEST_REDIRECT_URI])
    );
    for (schema, field) in [
        ("AuthorizeBody", "codeChallenge"),
        ("AuthorizeBody", "codeChallengeMethod"),
        ("AccessTokenBody", "codeVerifier"),
        ("AccessTokenBody", "grantType"),
        ("CiamRefreshBody", "grantType"),
    ] {
        assert!(
            required(&doc, schema).contains(field),
            "{schema}.{field} is not required"
        );
    }
    // Not nullable: `null` is refused like a missing value.
    for (schema, field) in [
        ("AccessTokenBody", "codeVerifier"),
        ("AuthorizeBody", "codeChallenge"),
    ] {
        assert_eq!(
            property(&doc, schema, field)["type"],
            "string",
            "{schema}.{field}"
        );
    }
    let password = property(&doc, "ResetPasswordBody", "newPassword");
    assert_eq!(
        (password["minLength"].clone(), password["maxLength"].clone()),
        (json!(8), json!(1024))
    );
    let sent_at = property(&doc, "OutboxEntry", "sentAt");
    assert_eq!(
        (sent_at["type"].clone(), sent_at["format"].clone()),
        (json!("string"), json!("date-time"))
    );
}

#[test]
fn the_location_headers_are_documented_as_a_pair_of_coordinates() {
    let h = start_default();
    let doc = h.client.get("/openapi.json", &[]).body;
    for path in [GATEWAY.login_challenge, SERVICE.login_challenge] {
        let op = operation(&doc, "post", path);
        let params = op["parameters"].as_array().expect("parameters");
        for (name, limit) in [("locLatitude", 90), ("locLongitude", 180)] {
            let p = params
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{path}: no {name}"));
            assert_eq!(p["in"], "header");
            assert_eq!(p["required"], false);
            assert_eq!(p["schema"]["type"], "number", "{path} {name}");
            assert_eq!(p["schema"]["minimum"], json!(-limit));
            assert_eq!(p["schema"]["maximum"], json!(limit));
        }
        assert_eq!(
            op["x-dependent-required"],
            json!({"locLatitude": ["locLongitude"], "locLongitude": ["locLatitude"]}),
            "{path}"
        );
    }
    // And that is what the server does: one alone is 400, both pass the header check.
    let body = json!({"loginChallenge": "unknown", "authToken": "x"});
    let device = device_auth();
    let send = |headers: &[(&str, &str)]| {
        let mut all = vec![("Authorization", device.as_str())];
        all.extend_from_slice(headers);
        h.client.post(GATEWAY.login_challenge, &all, body.clone())
    };
    send(&[("locLatitude", "13.75")]).assert_error(400, "invalid_request");
    send(&[("locLongitude", "100.5")]).assert_error(400, "invalid_request");
    send(&[("locLatitude", "13.75"), ("locLongitude", "100.5")]).assert_error(404, "not_found");
}

#[test]
fn bearer_tokens_and_check_identity_are_security_schemes() {
    let h = start_default();
    let doc = h.client.get("/openapi.json", &[]).body;
    let schemes = &doc["components"]["securitySchemes"];
    for name in ["deviceToken", "codeToken", "accessToken", "resetTicket"] {
        assert_eq!(schemes[name]["type"], "http", "{name}");
        assert_eq!(schemes[name]["scheme"], "bearer", "{name}");
    }
    assert_eq!(
        schemes["checkIdentity"],
        json!({"type": "apiKey", "in": "header", "name": "checkIdentity",
               "description": "The `loginChallenge` from authorize."})
    );
    let expected = [
        ("post", GATEWAY.authorize, Some("deviceToken")),
        ("post", SERVICE.authorize, Some("deviceToken")),
        ("post", GATEWAY.login_challenge, Some("deviceToken")),
        ("post", GATEWAY.pre_login_verify, Some("deviceToken")),
        ("post", SERVICE.pre_login_verify, Some("deviceToken")),
        ("post", GATEWAY.access_token, Some("codeToken")),
        ("post", SERVICE.access_token, Some("codeToken")),
        ("post", GATEWAY.revoke, Some("accessToken")),
        ("post", SERVICE.revoke, Some("accessToken")),
        ("get", "/_sandbox/session", Some("accessToken")),
        ("get", "/api/v1/captcha", Some("checkIdentity")),
        (
            "post",
            "/internal-api/centaur/realm/admin/{realmId}/user/resetPassword",
            Some("resetTicket"),
        ),
        (
            "post",
            "/internal-api/centaur/auth/realm/{realmId}/request",
            None,
        ),
        (
            "post",
            "/internal-api/centaur/auth/realm/{realmId}/token",
            None,
        ),
        (
            "patch",
            "/internal-api/centaur/auth/realm/{realmId}/token",
            None,
        ),
        ("post", GATEWAY.refresh, None),
    ];
    for (method, path, scheme) in expected {
        let security = &operation(&doc, method, path)["security"];
        match scheme {
            Some(name) => assert_eq!(security, &json!([{name: []}]), "{method} {path}"),
            None => assert!(security.is_null(), "{method} {path}: {security}"),
        }
    }
    // OpenAPI ignores a header parameter named Authorization: none is left.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    !p["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case("authorization")),
                    "{method} {path}: Authorization as a parameter"
                );
            }
        }
    }
}

#[test]
fn documented_patterns_match_what_the_server_accepts_and_refuses() {
    let h = start_default();
    let doc = h.client.get("/openapi.json", &[]).body;
    let challenge = pattern(&doc, "AuthorizeBody", "codeChallenge");
    let verifier = pattern(&doc, "AccessTokenBody", "codeVerifier");
    let envelope = pattern(&doc, "LoginChallengeBody", "authToken");
    let device = device_auth();
    for _ in 0..32 {
        let auth = authorize(&h.client, GATEWAY);
        assert!(verifier.is_match(&auth.verifier), "{}", auth.verifier);
        assert!(challenge.is_match(&pkce_challenge(&auth.verifier)));
        let sealed = seal(
            &h.jwk,
            credentials(&auth, "alice", "x", None)
                .to_string()
                .as_bytes(),
        );
        assert!(envelope.is_match(&sealed), "{sealed}");
    }
    // A challenge whose unused bits are set: the pattern and the server both refuse it.
    let good = pkce_challenge("a-verifier-of-the-right-length-a-verifier-of");
    let mut bad = good[..42].to_owned();
    bad.push('B');
    assert!(!challenge.is_match(&bad));
    let mut body = authorize_body("unused", "s");
    body["codeChallenge"] = json!(bad);
    h.client
        .post(GATEWAY.authorize, &[("Authorization", &device)], body)
        .assert_error(400, "invalid_request");
    // A verifier one character short: the pattern and the server both refuse it; one of the
    // right length gets past the shape checks (401: no such code).
    let auth = authorize(&h.client, GATEWAY);
    let mut short = access_token_body(&auth, "no-such-code");
    short["codeVerifier"] = json!(&auth.verifier[..42]);
    assert!(!verifier.is_match(&auth.verifier[..42]));
    h.client
        .post(
            GATEWAY.access_token,
            &[("Authorization", "Bearer t")],
            short,
        )
        .assert_error(400, "invalid_request");
    h.client
        .post(
            GATEWAY.access_token,
            &[("Authorization", "Bearer t")],
            access_token_body(&auth, "no-such-code"),
        )
        .assert_error(401, "invalid_token");
    // Not the compact shape: the pattern and the server both refuse it.
    for text in [
        "a.b.c.d.e",
        "",
        "x..AAAAAAAAAAAAAAAA.x.AAAAAAAAAAAAAAAAAAAAAB",
    ] {
        assert!(!envelope.is_match(text), "{text:?}");
        h.client
            .post(
                GATEWAY.login_challenge,
                &[("Authorization", &device)],
                json!({"loginChallenge": auth.login_challenge, "authToken": text}),
            )
            .assert_error(400, "invalid_request");
    }
}
