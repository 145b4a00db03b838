//! Pages for people: the start page (`GET /`) and the OTP outbox (`GET /_sandbox/outbox.html`).
//!
//! They are rendered on the server from askama templates (`templates/`), which HTML-escape
//! every value. They show what a developer needs to start (users, base URLs, links) and never
//! a password, a client secret, a device token or an issued token; the outbox page shows the
//! OTPs themselves, which is its purpose. They are not API routes, so the OpenAPI document
//! does not list them.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::Shared;
use crate::store::OutboxEntry;

/// The outbox page shows at most this many entries (the JSON has them all).
pub const OUTBOX_PAGE_LIMIT: usize = 500;

/// One row of the users table.
struct UserRow<'a> {
    name: &'a str,
    mfa: &'static str,
    channel: &'static str,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    /// `http://HOST` as the browser reached the sandbox.
    base: String,
    realm: &'a str,
    client_id: &'a str,
    users: Vec<UserRow<'a>>,
    redirect_uris: &'a [String],
    anomaly: &'static str,
    captcha_required: bool,
    fixed_otp: bool,
}

/// One row of the outbox table.
struct OutboxRow<'a> {
    sent_at: String,
    user: &'a str,
    channel: &'static str,
    purpose: &'a str,
    ref_id: &'a str,
    otp: &'a str,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage<'a> {
    entries: Vec<OutboxRow<'a>>,
    truncated: bool,
    shown: usize,
    total: usize,
}

/// The start page: users, the two APIs' base URLs, links to the API reference and the outbox.
pub async fn index(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let config = &app.config;
    // The Host the browser used, so the URLs shown are ones that work from there.
    let host = super::header(&headers, "host").unwrap_or("localhost");
    let page = IndexPage {
        base: format!("http://{host}"),
        realm: &config.realm,
        client_id: &config.client_id,
        users: config
            .users
            .iter()
            .map(|(name, user)| UserRow {
                name,
                mfa: user.mfa.as_str(),
                channel: user.channel.as_str(),
            })
            .collect(),
        redirect_uris: &config.redirect_uris,
        anomaly: config.anomaly.as_str(),
        captcha_required: config.captcha_required,
        fixed_otp: config.fixed_otp.is_some(),
    };
    html(page.render())
}

/// The OTP outbox, newest first: time, user, channel, purpose, `refId` and the code.
pub async fn outbox(State(app): State<Shared>) -> Response {
    let entries = app.store.outbox().entries().await;
    let total = entries.len();
    let rows: Vec<OutboxRow<'_>> = entries
        .iter()
        .rev()
        .take(OUTBOX_PAGE_LIMIT)
        .map(outbox_row)
        .collect();
    let page = OutboxPage {
        truncated: rows.len() < total,
        shown: rows.len(),
        total,
        entries: rows,
    };
    html(page.render())
}

fn outbox_row(entry: &OutboxEntry) -> OutboxRow<'_> {
    OutboxRow {
        sent_at: entry.sent_at.to_rfc3339(),
        user: &entry.user,
        channel: entry.channel.as_str(),
        purpose: &entry.purpose,
        ref_id: &entry.ref_id,
        otp: &entry.otp,
    }
}

/// A rendered page with headers that keep it local: no caching (the outbox holds live OTPs),
/// nothing loaded from elsewhere, no referrer.
fn html(rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(body) => {
            let mut response = Html(body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'none'; frame-ancestors 'none'",
                ),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render the page: {e}"),
        )
            .into_response(),
    }
}
