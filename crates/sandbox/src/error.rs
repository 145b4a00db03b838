//! The one error type of every handler: a status, a contract error code and a message,
//! sent as `{"error": "<code>", "message": "<text>"}` (wire contract, "Error responses").

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The error codes of the wire contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400 (or 405, 413): the request is malformed or a field fails a check.
    InvalidRequest,
    /// 400: the captcha answer is wrong, used or expired.
    InvalidCaptcha,
    /// 400: a captcha is required and none was given.
    CaptchaRequired,
    /// 401: wrong username, password or client credentials.
    InvalidCredentials,
    /// 401: wrong one-time password.
    InvalidOtp,
    /// 401: unknown, used, expired or revoked token (or code, or device token).
    InvalidToken,
    /// 403: the caller may not do this.
    Forbidden,
    /// 404: the request id or session has expired (or is spent).
    Expired,
    /// 404: no such request id, session or route.
    NotFound,
    /// 423: the account is locked for a while after repeated wrong passwords.
    Locked,
    /// 429: too many requests; see `Retry-After`.
    RateLimited,
    /// 500: the server failed.
    ServerError,
}

impl ErrorCode {
    /// The wire form, e.g. `"invalid_request"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidCaptcha => "invalid_captcha",
            ErrorCode::CaptchaRequired => "captcha_required",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::InvalidOtp => "invalid_otp",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Expired => "expired",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Locked => "locked",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ServerError => "server_error",
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The contract's error code.
    pub error: ErrorCode,
    /// What happened and what to do, for a person.
    pub message: String,
}

/// A rejected request: status, code, message and an optional `Retry-After` (seconds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {message}", code.as_str())]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The contract's error code.
    pub code: ErrorCode,
    /// The human-readable message.
    pub message: String,
    /// Seconds for a `Retry-After` header (429 always; 423 as a hint).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
    }

    /// 401 `invalid_credentials`.
    pub fn invalid_credentials(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidCredentials,
            message,
        )
    }

    /// 401 `invalid_token`.
    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken, message)
    }

    /// 401 `invalid_otp`.
    pub fn invalid_otp(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::InvalidOtp, message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// 404 `expired`.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::Expired, message)
    }

    /// 423 `locked`, with `Retry-After` as a hint.
    pub fn locked(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::LOCKED,
                ErrorCode::Locked,
                format!(
                    "too many wrong passwords: this account is locked; try again in {} s",
                    retry_after.max(1)
                ),
            )
        }
    }

    /// 429 `rate_limited` with `Retry-After`.
    pub fn rate_limited(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!(
                    "too many requests: nothing was done; retry in {} s",
                    retry_after.max(1)
                ),
            )
        }
    }

    /// 500 `server_error`.
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServerError,
            message,
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code,
            message: self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
