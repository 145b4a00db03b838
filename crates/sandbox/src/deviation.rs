//! Deviations on demand: the config section `deviations` switches on ways a real bank might
//! read the wire differently from the contract, one at a time (a list is allowed), so a client
//! can be tested against each: does its tolerant reader take it, or which profile setting
//! (`login_core::readings`) makes the login work?
//!
//! The server itself stays the contract's. A deviation is a translation layer around it
//! ([`adapt`], an axum middleware on the API routes): a request in the deviant dialect is
//! translated into the contract's before the handler sees it (and a contract request is
//! refused, as such a bank would refuse it), and the handler's answer is rewritten into the
//! deviant dialect on the way out. With no deviation on, the layer passes everything through
//! untouched, and the OpenAPI document (which describes the contract) stays true.
//!
//! | key | side | what the server does | the client reading that fits |
//! |---|---|---|---|
//! | `status200` | response | answers 200 where the contract says 201 (realm request login, token; forgot password, verify OTP) | `success: any2xx` (the default); `documented` fails |
//! | `numbersAsStrings` | response | `exp`, `expires`, `refreshExpires` as strings (`"300"`) | tolerant reader (any setting) |
//! | `scopeArray` | both | internet banking: `scope` must be a JSON array on authorize, access token and refresh (a string gets 400 `invalid_request` naming `scope`); token sets carry `scope` as an array | `scopeForm: array` |
//! | `unknownFields` | response | extra fields in every success body | tolerant reader |
//! | `missingRefId` | response | realm request login answers without `refId` | tolerant reader (`refId` is optional) |
//! | `htmlErrors` | response | error bodies as an HTML page, `Content-Type: text/html` | tolerant reader: classified by status (the `error` code is lost, so a 400 `captcha_required` reads as a plain 400) |
//! | `textPlain` | response | success bodies with `Content-Type: text/plain` | tolerant reader (the body is read as JSON whatever it says) |
//! | `retryAfterDate` | response | `Retry-After` as an HTTP date, rounded up to the next whole second (pair it with a tight `throttle.loginPerUser` to get a 429 on demand) | tolerant reader (`Retry-After` in either form) |
//! | `redirectStep` | request | `POST /api/v1/authorize` answers 308 to [`REDIRECT_TO`] (`/api/v2/authorize`), which this server then serves | `routes: {"authorize": "/api/v2/authorize"}` |
//! | `envelopeField` | request | the login challenge takes the JWE in [`ENVELOPE_FIELD`] (`credentials`); without it, 400 `invalid_request` naming that field | `envelope: {"field": "credentials"}` |
//! | `absoluteExpiry` | response | `exp`, `expires`, `refreshExpires` as Unix times (seconds since the epoch) | `expiry: unixTime` (the default reads them as lifetimes of decades) |
//! | `refreshTokenOnly` | request | the realm refresh refuses a body with `clientId` (400 `invalid_request` naming it) and takes `refreshToken` alone | `refreshFields: tokenOnly` |
//! | `captchaHeader` | request | the captcha call takes the login challenge in [`CAPTCHA_HEADER`] (`captchaIdentity`); `checkIdentity` alone gets 400 `invalid_request` naming the header | `captchaHeader: captchaIdentity` |
//! | `a128gcm` | request | the envelope must be `enc` `A128GCM`; `A256GCM` gets 400 `invalid_request` | `envelope: {"enc": "A128GCM"}` |
//! | `scopeString` | request | realm: the token call takes `scope` as one space-separated string (an array gets 400 `invalid_request` naming `scope`) | `scopeForm: string` |
//!
//! ```
//! use login_sandbox::deviation::Deviation;
//! let config: login_sandbox::SandboxConfig = serde_json::from_value(serde_json::json!({
//!   "users": {"alice": {"password": "alice-password"}},
//!   "realm": "cap", "clientId": "cap-mobile", "clientSecret": "not-a-real-secret",
//!   "deviceTokens": ["device-token-1"], "redirectUris": ["https://app.example/callback"],
//!   "anomaly": "never", "captchaRequired": false, "fixedOtp": null, "fixedCaptcha": null,
//!   "deviations": ["scopeArray"]
//! })).unwrap();
//! assert_eq!(config.deviations, [Deviation::ScopeArray]);
//! assert_eq!("a128gcm".parse::<Deviation>(), Ok(Deviation::A128gcm));
//! ```
//!
//! The layer keeps plain copies of the bodies it rewrites (they may hold a refresh token or a
//! sealed envelope): deviations are for tests against this sandbox, never for anything real.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::error::ApiError;
use crate::routes::Shared;
use crate::time::Timestamp;

/// One deviation from the wire contract (see the module docs for what each does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Deviation {
    /// 200 where the contract says 201.
    Status200,
    /// Expiry numbers as strings.
    NumbersAsStrings,
    /// Internet banking: `scope` as an array, in requests and token sets.
    ScopeArray,
    /// Extra fields in every success body.
    UnknownFields,
    /// Realm request login without `refId`.
    MissingRefId,
    /// Error bodies as HTML pages.
    HtmlErrors,
    /// Success bodies labelled `text/plain`.
    TextPlain,
    /// `Retry-After` as an HTTP date.
    RetryAfterDate,
    /// Authorize (gateway route) redirected to [`REDIRECT_TO`].
    RedirectStep,
    /// The login challenge's envelope in [`ENVELOPE_FIELD`].
    EnvelopeField,
    /// Expiry numbers as Unix times.
    AbsoluteExpiry,
    /// The realm refresh takes `refreshToken` alone.
    RefreshTokenOnly,
    /// The captcha call's login challenge in [`CAPTCHA_HEADER`].
    CaptchaHeader,
    /// The envelope sealed with `A128GCM`.
    A128gcm,
    /// Realm: the token call's `scope` as one string.
    ScopeString,
}

/// The login-challenge body field that carries the envelope under `envelopeField`.
pub const ENVELOPE_FIELD: &str = "credentials";
/// The captcha call's header under `captchaHeader`.
pub const CAPTCHA_HEADER: &str = "captchaIdentity";
/// The path `redirectStep` redirects (authorize, gateway route).
pub const REDIRECT_FROM: &str = "/api/v1/authorize";
/// Where `redirectStep` sends authorize (served only with that deviation on).
pub const REDIRECT_TO: &str = "/api/v2/authorize";
/// The fields `unknownFields` adds to every success body.
pub const UNKNOWN_FIELDS: [&str; 3] = ["sandboxNote", "serverTime", "x-extra"];

impl Deviation {
    /// Every deviation, in the module docs' order.
    pub const ALL: [Deviation; 15] = [
        Deviation::Status200,
        Deviation::NumbersAsStrings,
        Deviation::ScopeArray,
        Deviation::UnknownFields,
        Deviation::MissingRefId,
        Deviation::HtmlErrors,
        Deviation::TextPlain,
        Deviation::RetryAfterDate,
        Deviation::RedirectStep,
        Deviation::EnvelopeField,
        Deviation::AbsoluteExpiry,
        Deviation::RefreshTokenOnly,
        Deviation::CaptchaHeader,
        Deviation::A128gcm,
        Deviation::ScopeString,
    ];

    /// The config key, e.g. `"scopeArray"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Deviation::Status200 => "status200",
            Deviation::NumbersAsStrings => "numbersAsStrings",
            Deviation::ScopeArray => "scopeArray",
            Deviation::UnknownFields => "unknownFields",
            Deviation::MissingRefId => "missingRefId",
            Deviation::HtmlErrors => "htmlErrors",
            Deviation::TextPlain => "textPlain",
            Deviation::RetryAfterDate => "retryAfterDate",
            Deviation::RedirectStep => "redirectStep",
            Deviation::EnvelopeField => "envelopeField",
            Deviation::AbsoluteExpiry => "absoluteExpiry",
            Deviation::RefreshTokenOnly => "refreshTokenOnly",
            Deviation::CaptchaHeader => "captchaHeader",
            Deviation::A128gcm => "a128gcm",
            Deviation::ScopeString => "scopeString",
        }
    }
}

impl std::fmt::Display for Deviation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no deviation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown deviation; one of: {}", Deviation::ALL.map(Deviation::as_str).join(", "))]
pub struct UnknownDeviation;

impl std::str::FromStr for Deviation {
    type Err = UnknownDeviation;

    fn from_str(s: &str) -> Result<Self, UnknownDeviation> {
        Deviation::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or(UnknownDeviation)
    }
}

impl App {
    /// Whether the deviation `d` is on.
    pub fn deviates(&self, d: Deviation) -> bool {
        self.config.deviations.contains(&d)
    }
}

/// The calls a deviation treats specially, on both route sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    CiamAuthorize,
    CiamCaptcha,
    CiamLoginChallenge,
    CiamAccessToken,
    CiamRefresh,
    RealmRequestLogin,
    RealmToken,
    RealmRefresh,
    Other,
}

impl Call {
    fn of(method: &Method, path: &str) -> Call {
        if let Some(rest) = path.strip_prefix("/internal-api/centaur/auth/realm/") {
            return match (method, rest.split_once('/').map(|(_, step)| step)) {
                (&Method::POST, Some("request")) => Call::RealmRequestLogin,
                (&Method::POST, Some("token")) => Call::RealmToken,
                (&Method::PATCH, Some("token")) => Call::RealmRefresh,
                _ => Call::Other,
            };
        }
        match (method, path) {
            (&Method::GET, "/api/v1/captcha") => Call::CiamCaptcha,
            (&Method::POST, REDIRECT_FROM | REDIRECT_TO)
            | (&Method::POST, "/ciamauthsrvc/internetBanking/oauth/authorize") => {
                Call::CiamAuthorize
            }
            (
                &Method::POST,
                "/api/v1/login-challenge"
                | "/ciamauthsrvc/internetBanking/oauth/acceptLoginChallenge",
            ) => Call::CiamLoginChallenge,
            (
                &Method::POST,
                "/api/v1/access-token" | "/ciamauthsrvc/internetBanking/oauth/accessToken",
            ) => Call::CiamAccessToken,
            (
                &Method::POST,
                "/api/v1/refresh-token" | "/ciamauthsrvc/internetBanking/oauth/accessToken/refresh",
            ) => Call::CiamRefresh,
            _ => Call::Other,
        }
    }
}

/// The API routes (both APIs, both route sets); not the JWK set, the pages or the dev routes.
fn is_api_path(path: &str) -> bool {
    path.starts_with("/internal-api/")
        || path.starts_with("/ciamauthsrvc/")
        || (path.starts_with("/api/") && path != "/api/v1/jwks.json")
}

/// The largest answer the layer rewrites (the sandbox's are a few KiB; a captcha under 10).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The middleware: translates a deviant request into the contract's, runs the handler and
/// rewrites its answer into the deviant dialect. A pass-through when no deviation is on.
pub async fn adapt(State(app): State<Shared>, request: Request, next: Next) -> Response {
    if app.config.deviations.is_empty() || !is_api_path(request.uri().path()) {
        return next.run(request).await;
    }
    let call = Call::of(request.method(), request.uri().path());
    let answer = match translate_request(&app, call, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal,
    };
    rewrite_answer(&app, call, answer, Timestamp::now()).await
}

/// The request in the contract's dialect, or the answer a deviant bank gives instead.
async fn translate_request(app: &App, call: Call, request: Request) -> Result<Request, Response> {
    if app.deviates(Deviation::RedirectStep)
        && request.method() == Method::POST
        && request.uri().path() == REDIRECT_FROM
    {
        return Err((
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, REDIRECT_TO)],
        )
            .into_response());
    }
    let (mut parts, body) = request.into_parts();
    if app.deviates(Deviation::CaptchaHeader) && call == Call::CiamCaptcha {
        captcha_header(&mut parts.headers).map_err(IntoResponse::into_response)?;
    }
    let rewrites_body = match call {
        Call::CiamAuthorize | Call::CiamAccessToken | Call::CiamRefresh => {
            app.deviates(Deviation::ScopeArray)
        }
        Call::CiamLoginChallenge => app.deviates(Deviation::EnvelopeField),
        Call::RealmRefresh => app.deviates(Deviation::RefreshTokenOnly),
        Call::RealmToken => app.deviates(Deviation::ScopeString),
        _ => false,
    };
    if !rewrites_body {
        return Ok(Request::from_parts(parts, body));
    }
    let bytes = to_bytes(body, app.config.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                crate::error::ErrorCode::InvalidRequest,
                "the request body is larger than the server accepts",
            )
            .into_response()
        })?;
    // Not a JSON object: the handler refuses it as it would anyway.
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(Request::from_parts(parts, Body::from(bytes)));
    };
    translate_body(app, call, &mut map).map_err(IntoResponse::into_response)?;
    let translated = serde_json::to_vec(&map).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Request::from_parts(parts, Body::from(translated)))
}

/// `captchaHeader`: the login challenge arrives in [`CAPTCHA_HEADER`] and goes on as
/// `checkIdentity`.
fn captcha_header(headers: &mut HeaderMap) -> Result<(), ApiError> {
    let custom = HeaderName::from_static("captchaidentity");
    let contract = HeaderName::from_static("checkidentity");
    let value = headers.remove(&custom);
    headers.remove(&contract);
    match value {
        Some(value) => {
            headers.insert(contract, value);
            Ok(())
        }
        None => Err(ApiError::invalid_request(format!(
            "send the login challenge in the {CAPTCHA_HEADER} header"
        ))),
    }
}

/// The request-side deviations of a JSON body.
fn translate_body(app: &App, call: Call, map: &mut Map<String, Value>) -> Result<(), ApiError> {
    match call {
        Call::CiamAuthorize | Call::CiamAccessToken | Call::CiamRefresh => match map.get("scope") {
            Some(Value::Array(items)) => {
                let words: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                if let Some(words) = words {
                    let joined = words.join(" ");
                    map.insert("scope".into(), Value::String(joined));
                }
                Ok(())
            }
            Some(Value::String(_)) => Err(ApiError::invalid_request(
                "scope must be a JSON array of strings on this server",
            )),
            _ => Ok(()),
        },
        Call::CiamLoginChallenge => match map.remove(ENVELOPE_FIELD) {
            Some(envelope) => {
                map.insert("authToken".into(), envelope);
                Ok(())
            }
            None => Err(ApiError::invalid_request(format!(
                "the credential envelope goes in the `{ENVELOPE_FIELD}` field on this server"
            ))),
        },
        Call::RealmToken => match map.get("scope") {
            Some(Value::String(scope)) => {
                let words: Vec<Value> = scope.split_whitespace().map(Value::from).collect();
                map.insert("scope".into(), Value::Array(words));
                Ok(())
            }
            Some(Value::Array(_)) => Err(ApiError::invalid_request(
                "scope must be one space-separated string on this server",
            )),
            _ => Ok(()),
        },
        Call::RealmRefresh => {
            if map.contains_key("clientId") {
                return Err(ApiError::invalid_request(
                    "this server's refresh takes refreshToken alone: leave clientId out",
                ));
            }
            map.insert(
                "clientId".into(),
                Value::String(app.config.client_id.clone()),
            );
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The answer in the deviant dialect.
async fn rewrite_answer(app: &App, call: Call, answer: Response, now: Timestamp) -> Response {
    let (mut parts, body) = answer.into_parts();
    if app.deviates(Deviation::Status200) && parts.status == StatusCode::CREATED {
        parts.status = StatusCode::OK;
    }
    if app.deviates(Deviation::RetryAfterDate)
        && let Some(secs) = parts
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        && let Ok(date) = HeaderValue::from_str(&http_date(now, secs))
    {
        parts.headers.insert(header::RETRY_AFTER, date);
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let success = parts.status.is_success();
    let rewrites = if success {
        [
            Deviation::NumbersAsStrings,
            Deviation::AbsoluteExpiry,
            Deviation::MissingRefId,
            Deviation::ScopeArray,
            Deviation::UnknownFields,
            Deviation::TextPlain,
        ]
        .into_iter()
        .any(|d| app.deviates(d))
    } else {
        app.deviates(Deviation::HtmlErrors)
    };
    if !is_json || !rewrites {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = to_bytes(body, MAX_ANSWER_BYTES).await else {
        return ApiError::server("the answer could not be read for rewriting").into_response();
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    let (content_type, rewritten) = if success {
        let rewritten = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(mut map)) => {
                rewrite_success(app, call, &mut map, now.unix_secs());
                serde_json::to_vec(&map).unwrap_or_else(|_| bytes.to_vec())
            }
            _ => bytes.to_vec(),
        };
        let content_type = if app.deviates(Deviation::TextPlain) {
            "text/plain; charset=utf-8"
        } else {
            "application/json"
        };
        (content_type, rewritten)
    } else {
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        let page = html_error_page(parts.status, &message);
        ("text/html; charset=utf-8", page.into_bytes())
    };
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Response::from_parts(parts, Body::from(rewritten))
}

/// The expiry fields of the contract's answers.
const EXPIRY_FIELDS: [&str; 3] = ["exp", "expires", "refreshExpires"];

/// The response-side deviations of a success body (`now_secs`: Unix seconds).
fn rewrite_success(app: &App, call: Call, map: &mut Map<String, Value>, now_secs: u64) {
    for field in EXPIRY_FIELDS {
        let Some(Value::Number(n)) = map.get(field) else {
            continue;
        };
        let Some(secs) = n.as_u64() else { continue };
        let secs = if app.deviates(Deviation::AbsoluteExpiry) {
            now_secs.saturating_add(secs)
        } else {
            secs
        };
        let value = if app.deviates(Deviation::NumbersAsStrings) {
            Value::String(secs.to_string())
        } else {
            Value::from(secs)
        };
        map.insert(field.into(), value);
    }
    if app.deviates(Deviation::MissingRefId) && call == Call::RealmRequestLogin {
        map.remove("refId");
    }
    if app.deviates(Deviation::ScopeArray)
        && let Some(Value::String(scope)) = map.get("scope")
    {
        let words: Vec<Value> = scope.split_whitespace().map(Value::from).collect();
        map.insert("scope".into(), Value::Array(words));
    }
    if app.deviates(Deviation::UnknownFields) {
        let [note, time, extra] = UNKNOWN_FIELDS;
        map.insert(
            note.into(),
            json!("a field the contract does not name: a tolerant reader ignores it"),
        );
        map.insert(time.into(), json!(now_secs));
        map.insert(
            extra.into(),
            json!({"nested": [1, "two", null, {"three": 3.5}], "flag": true}),
        );
    }
}

/// `Retry-After` as an IMF-fixdate (RFC 9110 §5.6.7), `secs` after `now` rounded up to the
/// next whole second, so a client that waits until it never comes back early.
pub fn http_date(now: Timestamp, secs: u64) -> String {
    let at_ms = now.0.saturating_add(secs.saturating_mul(1000));
    let at = i64::try_from(at_ms.div_ceil(1000)).unwrap_or(i64::MAX);
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "Fri, 31 Dec 9999 23:59:59 GMT".to_owned())
}

/// An error as a bank's HTML error page: the status and the message, escaped.
fn html_error_page(status: StatusCode, message: &str) -> String {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    format!(
        "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head>\
         <body><h1>{code} {reason}</h1><p>{}</p></body></html>\n",
        escape_html(message)
    )
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_deviation_round_trips_through_its_config_key() {
        for d in Deviation::ALL {
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{}\"", d.as_str()));
            assert_eq!(serde_json::from_str::<Deviation>(&json).unwrap(), d);
            assert_eq!(d.as_str().parse::<Deviation>(), Ok(d));
        }
        let e = "scope_array".parse::<Deviation>().unwrap_err();
        assert!(e.to_string().contains("scopeArray, unknownFields"), "{e}");
    }

    #[test]
    fn calls_are_recognised_on_both_route_sets() {
        let post = Method::POST;
        for (method, path, call) in [
            (&post, "/api/v1/authorize", Call::CiamAuthorize),
            (&post, "/api/v2/authorize", Call::CiamAuthorize),
            (
                &post,
                "/ciamauthsrvc/internetBanking/oauth/authorize",
                Call::CiamAuthorize,
            ),
            (&Method::GET, "/api/v1/captcha", Call::CiamCaptcha),
            (
                &post,
                "/ciamauthsrvc/internetBanking/oauth/acceptLoginChallenge",
                Call::CiamLoginChallenge,
            ),
            (&post, "/api/v1/access-token", Call::CiamAccessToken),
            (
                &post,
                "/ciamauthsrvc/internetBanking/oauth/accessToken/refresh",
                Call::CiamRefresh,
            ),
            (
                &post,
                "/internal-api/centaur/auth/realm/cap/request",
                Call::RealmRequestLogin,
            ),
            (
                &post,
                "/internal-api/centaur/auth/realm/cap/token",
                Call::RealmToken,
            ),
            (
                &Method::PATCH,
                "/internal-api/centaur/auth/realm/cap/token",
                Call::RealmRefresh,
            ),
            (
                &post,
                "/internal-api/centaur/auth/realm/cap/forgot-password",
                Call::Other,
            ),
            (&Method::GET, "/api/v1/jwks.json", Call::Other),
        ] {
            assert_eq!(Call::of(method, path), call, "{method} {path}");
        }
        assert!(!is_api_path("/api/v1/jwks.json"));
        assert!(!is_api_path("/_sandbox/outbox"));
        assert!(is_api_path("/api/v1/login-challenge"));
    }

    #[test]
    fn the_http_date_is_rounded_up_to_a_whole_second() {
        // 1994-11-06T08:49:36.500Z plus one second: 08:49:37.5, rounded up to :38.
        let now = Timestamp(784_111_776_500);
        assert_eq!(http_date(now, 1), "Sun, 06 Nov 1994 08:49:38 GMT");
        assert_eq!(
            http_date(Timestamp(784_111_777_000), 0),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn the_html_page_escapes_the_message() {
        let page = html_error_page(StatusCode::UNAUTHORIZED, "wrong <b>\"pw\"</b> & co");
        assert!(page.contains("<h1>401 Unauthorized</h1>"));
        assert!(page.contains("wrong &lt;b&gt;&quot;pw&quot;&lt;/b&gt; &amp; co"));
        assert!(serde_json::from_str::<Value>(&page).is_err(), "not JSON");
    }

    #[test]
    fn a_captcha_header_is_moved_to_check_identity_and_the_contract_one_refused() {
        let mut headers = HeaderMap::new();
        headers.insert("captchaidentity", HeaderValue::from_static("lc"));
        headers.insert("checkidentity", HeaderValue::from_static("other"));
        captcha_header(&mut headers).unwrap();
        assert_eq!(headers.get("checkidentity").unwrap(), "lc");
        assert!(headers.get("captchaidentity").is_none());
        let e = captcha_header(&mut HeaderMap::new()).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains(CAPTCHA_HEADER));
    }
}
