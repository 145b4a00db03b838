//! The pages for people: the start page lists the users, both APIs' base URLs and links to
//! the API reference and the OTP outbox; the outbox page lists every OTP newest first; both
//! escape what they show and never show a password, a secret or a token.

mod common;

use common::*;
use login_sandbox::config::{Channel, Mfa, UserConfig};
use login_sandbox::secret::Secret;
use login_sandbox::time::Timestamp;
use login_sandbox::{SandboxConfig, config};
use serde_json::Value;

#[test]
fn index_lists_the_users_both_base_urls_and_the_tools() {
    let h = start_default();
    let page = h.client.page("/");
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"), "{page:?}");
    let base = h.sandbox.base_url();
    for user in ["alice", "bob", "carol"] {
        assert!(
            page.text
                .contains(&format!("<td class=\"user\">{user}</td>")),
            "{user}: {}",
            page.text
        );
    }
    for url in [
        format!("{base}/internal-api/centaur"),
        format!("{base}/api/v1"),
        format!("{base}/ciamauthsrvc"),
    ] {
        assert!(page.text.contains(&url), "{url} missing");
    }
    for link in [
        "href=\"/docs/\"",
        "href=\"/_sandbox/outbox.html\"",
        "href=\"/openapi.json\"",
    ] {
        assert!(page.text.contains(link), "{link} missing");
    }
}

#[test]
fn outbox_page_lists_each_otp_newest_first_with_time_user_channel_and_ref_id() {
    let h = start_default();
    let empty = h.client.page("/_sandbox/outbox.html");
    assert_eq!(empty.status, 200);
    assert!(empty.text.contains("No OTP has been sent yet"));
    assert_eq!(empty.cache_control, "no-store", "live OTPs are not cached");

    let bob = realm_request(&h.client, "bob", "bob-password");
    bob.assert_status(201);
    let carol = realm_request(&h.client, "carol", "carol-password");
    carol.assert_status(201);
    let page = h.client.page("/_sandbox/outbox.html").text;
    let (bob_ref, carol_ref) = (bob.str("refId"), carol.str("refId"));
    let (at_bob, at_carol) = (
        page.find(&bob_ref).expect("bob's refId"),
        page.find(&carol_ref).expect("carol's refId"),
    );
    assert!(at_carol < at_bob, "newest first");
    let outbox = h.sandbox.outbox();
    for entry in &outbox {
        let row = format!(
            "<td><time datetime=\"{t}\">{t}</time></td><td class=\"user\">{}</td><td>{}</td><td>{}</td><td class=\"ref\"><code>{}</code></td><td class=\"otp\">{}</td>",
            entry.user,
            entry.channel.as_str(),
            entry.purpose,
            entry.ref_id,
            entry.otp,
            t = entry.sent_at.to_rfc3339(),
        );
        assert!(page.contains(&row), "missing row {row} in {page}");
    }
    assert_eq!(outbox.len(), 2);
}

#[test]
fn outbox_json_keeps_its_fields_and_gains_the_time_sent() {
    let h = start_default();
    let before = Timestamp::now();
    realm_request(&h.client, "carol", "carol-password").assert_status(201);
    let after = Timestamp::now();
    let json = h.client.get("/_sandbox/outbox", &[]).body;
    let entry = &json[0];
    for field in ["user", "channel", "refId", "otp", "purpose", "sentAt"] {
        assert!(entry.get(field).is_some(), "{field} missing: {entry}");
    }
    assert_eq!(entry["user"], "carol");
    assert_eq!(entry["channel"], "email");
    assert_eq!(entry["otp"], "123456");
    assert_eq!(entry["purpose"], "realm-login");
    let sent = Timestamp::parse_rfc3339(entry["sentAt"].as_str().expect("text")).expect("RFC 3339");
    assert!(before <= sent && sent <= after, "{sent:?}");
}

#[test]
fn pages_escape_what_they_show() {
    let mut config = SandboxConfig::for_tests();
    let odd = "<b>eve</b>&\"quote'";
    config.users.insert(
        odd.into(),
        UserConfig {
            password: Secret::new("eve-password"),
            mfa: Mfa::Otp,
            channel: Channel::Sms,
            last_location: None,
        },
    );
    config.redirect_uris = vec!["https://app.example/cb?a=<x>&b=1".into()];
    let h = start(config);
    realm_request(&h.client, odd, "eve-password").assert_status(201);
    for path in ["/", "/_sandbox/outbox.html"] {
        let page = h.client.page(path).text;
        assert!(
            !page.contains("<b>eve</b>"),
            "{path} shows raw HTML: {page}"
        );
        // askama's HTML escaping writes numeric character references.
        assert!(
            page.contains("&#60;b&#62;eve&#60;/b&#62;&#38;&#34;quote&#39;"),
            "{path} does not show the escaped name: {page}"
        );
    }
    let index = h.client.page("/").text;
    assert!(!index.contains("<x>"), "the redirect URI is escaped");
}

/// Canaries: after logins on both APIs, no page (nor the API reference's files) shows a
/// password, the client secret, the device token or an issued token.
#[test]
fn pages_never_show_a_password_a_secret_or_a_token() {
    let h = start_default();
    let mut secrets: Vec<(&str, String)> = vec![
        ("password", "alice-password".into()),
        ("password", "bob-password".into()),
        ("password", "carol-password".into()),
        ("client secret", config::TEST_CLIENT_SECRET.into()),
        ("device token", config::TEST_DEVICE_TOKEN.into()),
    ];
    let realm = realm_login(&h.client, "alice", "alice-password");
    realm.assert_status(201);
    let bob = realm_request(&h.client, "bob", "bob-password");
    secrets.push(("reqId", bob.str("reqId")));
    let bob_tokens = realm_token(
        &h.client,
        &bob.str("reqId"),
        Some(("123456", &bob.str("refId"))),
    );
    bob_tokens.assert_status(201);
    let ciam = ciam_login(&h.client, GATEWAY, &h.jwk, "carol", "carol-password");
    ciam.assert_status(200);
    for set in [&realm.body, &bob_tokens.body, &ciam.body] {
        secrets.push(("access token", str_of(set, "accessToken")));
        secrets.push(("refresh token", str_of(set, "refreshToken")));
        secrets.push(("session id", str_of(set, "sessionState")));
    }
    for path in [
        "/",
        "/_sandbox/outbox.html",
        "/docs/",
        "/docs/swagger-initializer.js",
        "/openapi.json",
    ] {
        let page = h.client.page(path);
        assert_eq!(page.status, 200, "{path}");
        assert_shows_no_secret(path, &page.text, &secrets);
    }
    // The outbox page shows the OTP itself: that is what it is for.
    assert!(
        h.client
            .page("/_sandbox/outbox.html")
            .text
            .contains("123456")
    );
}

#[test]
fn the_api_reference_is_served_locally() {
    let h = start_default();
    let page = h.client.page("/docs/");
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    // Every script and style comes from the sandbox: no CDN.
    for attribute in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(
            !page.text.contains(attribute),
            "{attribute} in {}",
            page.text
        );
    }
    let init = h.client.page("/docs/swagger-initializer.js").text;
    assert!(init.contains("\"url\": \"/openapi.json\""), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    let bundle = h.client.page("/docs/swagger-ui-bundle.js");
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000, "the vendored bundle is served");
}

fn str_of(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
        .to_owned()
}
