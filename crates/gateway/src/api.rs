//! The JSON API: thin axum handlers over the [`Engine`](crate::engine::Engine).
//!
//! Every body is `application/json` (else 415), at most [`crate::MAX_BODY_BYTES`] (else 413),
//! and refuses unknown fields (400). Ids are checked before any store access (400 for anything
//! that is not an id). The session endpoints need `Authorization: Bearer <internal API key>`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use login_core::secret::{CaptchaAnswer, Otp, Password};
use login_store::{LoginId, SessionId};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::engine::{ApiChoice, LoginStep};
use crate::error::ApiError;
use crate::{Shared, png_data_uri, rfc3339};

/// The longest username accepted.
pub(crate) const MAX_USERNAME: usize = 256;
/// The longest password, OTP or captcha answer accepted.
pub(crate) const MAX_SECRET: usize = 1024;

/// A JSON body read strictly: `Content-Type: application/json`, the router's body limit, and
/// the type's own `deny_unknown_fields`. Refusals never quote a value the client sent.
pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES),
                )
            } else {
                ApiError::invalid_request("the body could not be read")
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(StrictJson)
            .map_err(|e| ApiError::invalid_request(json_problem(&e)))
    }
}

/// `application/json`, with or without parameters.
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// What is wrong with a body, naming fields but never values.
fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => format!("malformed JSON ({at})"),
        Category::Data => {
            let text = e.to_string();
            // serde's own words for these name a field or a variant, not a value.
            if text.starts_with("unknown field")
                || text.starts_with("missing field")
                || text.starts_with("unknown variant")
                || text.starts_with("duplicate field")
            {
                let first = text.split(" at line").next().unwrap_or("invalid body");
                let first = first.split(", expected").next().unwrap_or(first);
                format!("{first} ({at})")
            } else {
                format!("a field has the wrong type ({at})")
            }
        }
    }
}

/// `POST /v1/logins`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    api: ApiChoice,
    username: String,
    password: Password,
}

/// `POST /v1/logins/{login}/otp`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpBody {
    otp: Otp,
}

/// `POST /v1/logins/{login}/captcha`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaBody {
    answer: CaptchaAnswer,
    password: Password,
}

pub(crate) fn check_username(username: &str) -> Result<(), ApiError> {
    if username.trim().is_empty()
        || username.len() > MAX_USERNAME
        || username.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_request(format!(
            "the username must be 1 to {MAX_USERNAME} printable characters"
        )));
    }
    Ok(())
}

pub(crate) fn check_secret(what: &str, value: &str) -> Result<(), ApiError> {
    if value.is_empty() || value.len() > MAX_SECRET {
        return Err(ApiError::invalid_request(format!(
            "the {what} must be 1 to {MAX_SECRET} bytes"
        )));
    }
    Ok(())
}

pub(crate) fn login_id(text: &str) -> Result<LoginId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid_request("not a login id (22 base64url characters)"))
}

fn session_id(text: &str) -> Result<SessionId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid_request("not a session id (22 base64url characters)"))
}

/// The JSON answer of a login step.
pub(crate) fn step_response(step: LoginStep) -> Response {
    let (status, body) = match step {
        LoginStep::Authenticated {
            session,
            expires_at,
        } => (
            StatusCode::CREATED,
            json!({"status": "authenticated", "session": session.as_str(), "expiresAt": rfc3339(expires_at)}),
        ),
        LoginStep::OtpRequired {
            login,
            channel,
            ref_id,
        } => (
            StatusCode::ACCEPTED,
            json!({"status": "otp_required", "login": login.as_str(), "channel": channel, "refId": ref_id}),
        ),
        LoginStep::CaptchaRequired { login, image_png } => (
            StatusCode::ACCEPTED,
            json!({"status": "captcha_required", "login": login.as_str(), "captcha": {"image": png_data_uri(&image_png)}}),
        ),
    };
    (status, no_store(), Json(body)).into_response()
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

/// `POST /v1/logins`: starts a login.
pub async fn start(
    State(app): State<Shared>,
    StrictJson(body): StrictJson<StartBody>,
) -> Result<Response, ApiError> {
    check_username(&body.username)?;
    check_secret("password", body.password.expose())?;
    let step = app
        .engine
        .start(body.api, &body.username, body.password)
        .await?;
    Ok(step_response(step))
}

/// `POST /v1/logins/{login}/otp`: answers the OTP.
pub async fn otp(
    State(app): State<Shared>,
    Path(login): Path<String>,
    StrictJson(body): StrictJson<OtpBody>,
) -> Result<Response, ApiError> {
    let login = login_id(&login)?;
    check_secret("otp", body.otp.expose())?;
    Ok(step_response(app.engine.otp(&login, body.otp).await?))
}

/// `POST /v1/logins/{login}/captcha`: answers the captcha, with the password again.
pub async fn captcha(
    State(app): State<Shared>,
    Path(login): Path<String>,
    StrictJson(body): StrictJson<CaptchaBody>,
) -> Result<Response, ApiError> {
    let login = login_id(&login)?;
    check_secret("answer", body.answer.expose())?;
    check_secret("password", body.password.expose())?;
    Ok(step_response(
        app.engine
            .captcha(&login, body.answer, body.password)
            .await?,
    ))
}

/// The internal API key from `Authorization: Bearer`, or 401.
fn authorize(app: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    match presented {
        Some(key) if app.api_key.matches(key) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

/// `GET /v1/sessions/{session}/token`: a fresh access token.
pub async fn token(
    State(app): State<Shared>,
    Path(session): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let id = session_id(&session)?;
    let (token, expires_at) = app.engine.token(&id).await?;
    let body = json!({"accessToken": token.expose(), "expiresAt": expires_at.map(rfc3339)});
    Ok((StatusCode::OK, no_store(), Json(body)).into_response())
}

/// `DELETE /v1/sessions/{session}`: ends a session.
pub async fn end_session(
    State(app): State<Shared>,
    Path(session): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    authorize(&app, &headers)?;
    let id = session_id(&session)?;
    app.engine.end_session(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /healthz`.
pub async fn healthz() -> Response {
    (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics(State(app): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        app.engine.metrics.render(),
    )
        .into_response()
}

/// Any other route.
pub async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// A known route with another method.
pub async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed on this route",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_problems_never_quote_values() {
        let e = serde_json::from_str::<StartBody>(r#"{"api":"cap","username":"u","password":7}"#)
            .err()
            .map(|e| json_problem(&e))
            .unwrap_or_default();
        assert!(e.starts_with("a field has the wrong type"), "{e}");
        let e = serde_json::from_str::<OtpBody>(r#"{"otp":"1","extra":"secret-value"}"#)
            .err()
            .map(|e| json_problem(&e))
            .unwrap_or_default();
        assert!(e.starts_with("unknown field `extra`"), "{e}");
        assert!(!e.contains("secret-value"));
    }

    #[test]
    fn content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonx"));
    }
}
