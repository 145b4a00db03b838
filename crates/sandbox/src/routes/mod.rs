//! The axum front end: thin handlers that parse the request, call [`crate::app::App`] and
//! write the answer. Every route is annotated for the OpenAPI document, and
//! [`crate::openapi::router`] mounts them from those same annotations.

pub mod ciam;
pub mod dev;
pub mod realm;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::config::GeoPoint;
use crate::error::ApiError;

/// The state every handler gets.
pub type Shared = Arc<App>;

/// A request body, or why it could not be read (too large, broken connection).
pub type Body = Result<Bytes, BytesRejection>;

/// Parses a JSON body. Malformed JSON, a missing field or a wrong type is 400
/// `invalid_request`; a body over the limit is 413. The message never echoes field values.
pub fn parse_json<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is larger than the server accepts".to_owned()
        } else {
            "the request body could not be read".to_owned()
        };
        ApiError::new(status, crate::error::ErrorCode::InvalidRequest, message)
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
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
    })
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
        Err(error) => {
            tracing::debug!(status = %error.status, code = error.code.as_str(), message = %error.message, "request refused");
            error.into_response()
        }
    }
}
