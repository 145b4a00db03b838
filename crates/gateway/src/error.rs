//! The gateway's one error type and its HTTP shape: `{"error": KIND, "message": TEXT}` with a
//! status, and `Retry-After` when retrying later can help.
//!
//! Kinds are login-core's [`ErrorKind::as_str`] for everything the bank decided, plus the
//! gateway's own: `not_found`, `login_busy`, `store_unavailable`, `invalid_request`,
//! `unsupported_media_type`, `payload_too_large`, `unauthorized`, `wrong_step`,
//! `unsupported_api`, `refresh_pending`, `internal`.
//!
//! Status mapping (the CLI's): a bank refusal keeps its status (401 `invalid_credentials` and
//! `invalid_otp`, 400 `invalid_captcha`, 423 `locked`, 404 `expired`, ...), 429 `rate_limited`
//! keeps the bank's `Retry-After`; a bank 5xx, a transport failure, a redirect or an unusable
//! answer is 502; a local engine error is 500.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use login_core::{ErrorKind, TransportErrorKind};
use login_store::StoreError;
use login_store::seal::SealError;

/// A failed request: status, kind, message, and what the client needs to go on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    retry_after: Option<u64>,
    /// A new captcha PNG, after a refused captcha answer (the login waits for its answer).
    captcha_png: Option<Vec<u8>>,
}

impl ApiError {
    /// An error with a status, a kind and a message (the message must hold no secret).
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            retry_after: None,
            captcha_png: None,
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 `not_found`: an unknown, used or expired login or session id.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what} (never issued, already used, or expired)"),
        )
    }

    /// 401 `unauthorized`: the internal API key is missing or wrong.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the internal API key as `Authorization: Bearer <key>`",
        )
    }

    /// 500 `internal`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// Sets `Retry-After` in seconds.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Attaches the next captcha to show (after a refused answer).
    pub fn with_captcha(mut self, png: Vec<u8>) -> Self {
        self.captcha_png = Some(png);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The kind (`invalid_otp`, `login_busy`, ...).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The captcha to show next, after a refused answer.
    pub fn captcha_png(&self) -> Option<&[u8]> {
        self.captcha_png.as_deref()
    }

    /// Replaces every occurrence of each secret in the message: a bank's message could quote
    /// what it was sent, and nothing the user typed may come back in an error.
    pub fn redacted(mut self, secrets: &[&str]) -> Self {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            if self.message.contains(secret) {
                self.message = self.message.replace(secret, "<redacted>");
            }
        }
        self
    }

    /// From a login-core error: its kind, and the CLI's status mapping.
    pub fn from_engine(error: &login_core::Error) -> Self {
        let kind = error.kind();
        let status = match kind {
            ErrorKind::Transport(TransportErrorKind::InsecureUrl)
            | ErrorKind::Config
            | ErrorKind::Seal
            | ErrorKind::Entropy
            | ErrorKind::Misuse => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Transport(_)
            | ErrorKind::Redirect
            | ErrorKind::MalformedResponse
            | ErrorKind::StateMismatch => StatusCode::BAD_GATEWAY,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            _ => match error.status() {
                Some(s @ 400..=499) => StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY),
                _ => StatusCode::BAD_GATEWAY,
            },
        };
        let mut e = Self::new(status, kind.as_str(), error.to_string());
        if let Some(after) = error.retry_after() {
            // The bank may give an HTTP date; what the client gets is seconds from now.
            let wait = after.delay_from(std::time::SystemTime::now());
            e.retry_after = Some(wait.as_secs().max(1));
        }
        e
    }

    /// From a store error, for a login or a session (`what` names it in a 404).
    pub fn from_store(error: &StoreError, what: &str) -> Self {
        match error {
            StoreError::Unavailable { .. } | StoreError::Refused { .. } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the login store is unavailable; retry shortly",
            )
            .retry_after(1),
            StoreError::Busy => Self::new(
                StatusCode::CONFLICT,
                "login_busy",
                "this login is being resumed by another request; retry after it finishes",
            ),
            StoreError::NotFound | StoreError::Sealing(SealError::Expired { .. }) => {
                Self::not_found(what)
            }
            StoreError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "the stored value changed meanwhile; retry",
            ),
            other => {
                tracing::error!(error = %other, "login store failure");
                Self::internal("the login store failed; see the gateway's log")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.kind, "message": self.message });
        if let Some(png) = &self.captcha_png {
            body["captcha"] = serde_json::json!({ "image": crate::png_data_uri(png) });
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use login_core::Response as BankResponse;

    fn bank(status: u16, body: &str) -> ApiError {
        ApiError::from_engine(&login_core::Error::from_response(&BankResponse::new(
            status,
            body.as_bytes().to_vec(),
        )))
    }

    #[test]
    fn bank_refusals_keep_their_status_and_kind() {
        let e = bank(401, r#"{"error":"invalid_otp","message":"wrong"}"#);
        assert_eq!((e.status().as_u16(), e.kind()), (401, "invalid_otp"));
        let e = bank(400, r#"{"error":"invalid_captcha"}"#);
        assert_eq!((e.status().as_u16(), e.kind()), (400, "invalid_captcha"));
        let e = bank(423, r#"{"error":"locked"}"#);
        assert_eq!((e.status().as_u16(), e.kind()), (423, "locked"));
        let e = bank(500, "oops");
        assert_eq!((e.status().as_u16(), e.kind()), (502, "server_error"));
    }

    #[test]
    fn store_outage_is_503_with_retry_after() {
        let e = ApiError::from_store(
            &StoreError::Unavailable {
                reason: "down".into(),
            },
            "login",
        );
        assert_eq!(e.status().as_u16(), 503);
        assert_eq!(e.kind(), "store_unavailable");
        let response = e.into_response();
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(1u64))
        );
        let busy = ApiError::from_store(&StoreError::Busy, "login");
        assert_eq!((busy.status().as_u16(), busy.kind()), (409, "login_busy"));
    }

    #[test]
    fn secrets_are_redacted_from_messages() {
        let e =
            ApiError::invalid_request("you sent hunter2 twice: hunter2").redacted(&["hunter2", ""]);
        assert!(!e.message().contains("hunter2"));
    }
}
