//! The axum front end: thin handlers that parse the request, call [`crate::app::App`] and
//! write the answer. Every route is annotated for the OpenAPI document, and
//! [`crate::openapi::router`] mounts them from those same annotations.

pub mod ciam;
pub mod dev;
pub mod pages;
pub mod realm;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::config::GeoPoint;
use crate::error::{ApiError, ErrorCode};

/// The state every handler gets.
pub type Shared = Arc<App>;

/// A JSON request body as the sandbox reads it, for a handler argument
/// `WireJson(body): WireJson<Body>`.
///
/// It reads the body through axum's [`Bytes`], so the router's `DefaultBodyLimit` applies, and
/// like `Bytes` it does not look at `Content-Type` (the sandbox has never required one).
/// A refusal is the finished error response: 413 `invalid_request` for a body over the limit,
/// the rejection's own status with `invalid_request` for any other unreadable body, and 400
/// `invalid_request` for malformed JSON, a missing field or a wrong type. The message never
/// echoes a value the client sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct WireJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for WireJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| refuse(unreadable(&rejection)))?;
        serde_json::from_slice(&bytes)
            .map(WireJson)
            .map_err(|e| refuse(malformed(&e)))
    }
}

/// Why the body could not be read (too large, broken connection), under axum's status.
fn unreadable(rejection: &BytesRejection) -> ApiError {
    let status = rejection.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "the request body is larger than the server accepts"
    } else {
        "the request body could not be read"
    };
    ApiError::new(status, ErrorCode::InvalidRequest, message)
}

/// Why the body is not the expected JSON, naming at most a field, never a value.
fn malformed(e: &serde_json::Error) -> ApiError {
    let message = match e.classify() {
        serde_json::error::Category::Data => {
            let text = e.to_string();
            // "missing field `x`" / "unknown variant" name fields, not values: keep those.
            match text.find("missing field") {
                Some(at) => text[at..]
                    .split(" at line")
                    .next()
                    .unwrap_or("missing field")
                    .to_owned(),
                None => format!(
                    "a field has the wrong type or value (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            }
        }
        _ => format!(
            "malformed JSON body (line {}, column {})",
            e.line(),
            e.column()
        ),
    };
    ApiError::invalid_request(message)
}

/// The value of a header as text.
pub fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = header(headers, "authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The optional `locLatitude`/`locLongitude` headers.
///
/// # Errors
/// 400 when only one is sent or a value is not a coordinate.
pub fn location(headers: &HeaderMap) -> Result<Option<GeoPoint>, ApiError> {
    crate::anomaly::parse_location(
        header(headers, "loclatitude"),
        header(headers, "loclongitude"),
    )
    .map_err(ApiError::invalid_request)
}

/// Writes `result` as JSON with `status`, or the error.
pub fn reply<T: Serialize>(status: StatusCode, result: Result<T, ApiError>) -> Response {
    match result {
        Ok(body) => (status, axum::Json(body)).into_response(),
        Err(error) => refuse(error),
    }
}

/// The response to a refused request, logged at debug level.
fn refuse(error: ApiError) -> Response {
    tracing::debug!(status = %error.status, code = error.code.as_str(), message = %error.message, "request refused");
    error.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Named {
        name: String,
    }

    /// The status and JSON body `WireJson<Named>` refuses `body` with.
    async fn refusal(body: &'static str) -> (StatusCode, serde_json::Value) {
        let request = Request::new(axum::body::Body::from(body));
        let Err(response) = WireJson::<Named>::from_request(request, &()).await else {
            panic!("{body:?} was accepted");
        };
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn refusals_are_400_invalid_request_and_never_echo_a_value() {
        for (body, message) in [
            ("{", "malformed JSON body (line 1, column 1)"),
            ("{}", "missing field `name`"),
            (
                r#"{"name": 424242}"#,
                "a field has the wrong type or value (line 1, column 15)",
            ),
        ] {
            let (status, json) = refusal(body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(json["error"], "invalid_request", "{body}");
            assert_eq!(json["message"], message, "{body}");
        }
    }

    #[tokio::test]
    async fn a_good_body_is_parsed() {
        let request = Request::new(axum::body::Body::from(r#"{"name":"x"}"#));
        let parsed = WireJson::<Named>::from_request(request, &()).await;
        assert!(matches!(parsed, Ok(WireJson(Named { name })) if name == "x"));
    }
}
