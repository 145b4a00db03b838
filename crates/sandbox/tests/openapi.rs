//! The OpenAPI document lists exactly the routes the server mounts, and those are exactly the
//! wire contract's routes (plus the sandbox's own).

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

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
