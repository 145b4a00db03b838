//! One error type for every way a step can fail, classified by status first, then by the
//! server's `error` code (wire contract, "Error responses").

use std::time::Duration;

/// The longest server `error` code or `message` kept, in characters; the rest is cut.
pub const MAX_SERVER_TEXT: usize = 256;

/// What the server said when it refused a call. Text fields are length-bounded and stripped of
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The HTTP status.
    pub status: u16,
    /// The `error` field of the body, when the body was JSON with one.
    pub code: Option<String>,
    /// The `message` field of the body, when present.
    pub message: Option<String>,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// Why a transport could not produce a response. Defined here so that one error type covers a
/// whole flow; transports construct it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The host name did not resolve.
    Dns,
    /// The connection could not be established (refused, unreachable).
    Connect,
    /// A connect, header or whole-call deadline passed.
    Timeout,
    /// The connection was reset or closed early.
    Reset,
    /// TLS failed (certificate, handshake).
    Tls,
    /// The response body exceeded the configured cap.
    BodyTooLarge,
    /// The URL was refused before sending (plain HTTP to a non-loopback host, bad base URL).
    InsecureUrl,
    /// Anything else the HTTP client reported.
    Other,
}

impl TransportErrorKind {
    /// The snake_case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::Tls => "tls",
            Self::BodyTooLarge => "body_too_large",
            Self::InsecureUrl => "insecure_url",
            Self::Other => "transport",
        }
    }
}

/// A transport failure: no usable response arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {detail}")]
pub struct TransportError {
    /// What went wrong.
    pub kind: TransportErrorKind,
    /// A human-readable detail (never contains request bodies or credentials).
    pub detail: String,
}

impl TransportError {
    /// Makes a transport error.
    pub fn new(kind: TransportErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

/// Every way a step can fail.
///
/// ```
/// use login_core::{Error, ErrorKind};
/// let e = Error::from_response(&login_core::Response::new(
///     401,
///     br#"{"error":"invalid_otp","message":"wrong code"}"#.to_vec(),
/// ));
/// assert_eq!(e.kind(), ErrorKind::InvalidOtp);
/// assert_eq!(e.status(), Some(401));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401 `invalid_credentials`: wrong username or password (or client credentials).
    #[error("credentials were refused ({0})")]
    InvalidCredentials(ServerError),
    /// 401 `invalid_otp`: the one-time password was wrong or used up.
    #[error("the one-time password was refused ({0}); ask the user again")]
    InvalidOtp(ServerError),
    /// 400 `invalid_captcha`: the captcha answer was wrong or the captcha already used.
    #[error("the captcha answer was refused ({0}); fetch a new captcha")]
    InvalidCaptcha(ServerError),
    /// 400 `captcha_required`: the login challenge needs a captcha.
    #[error("the server requires a captcha ({0}); fetch one and answer it")]
    CaptchaRequired(ServerError),
    /// 401 `invalid_token`: a token, code or ticket is unknown, used or revoked.
    #[error("a token was refused ({0}); log in again")]
    InvalidToken(ServerError),
    /// 404 `expired`: the request id or session expired.
    #[error("the request expired ({0}); start the flow again")]
    Expired(ServerError),
    /// 404 `not_found` (or another 404): unknown request id or session.
    #[error("unknown request or session ({0}); start the flow again")]
    NotFound(ServerError),
    /// 423: the account is locked.
    #[error("the account is locked ({0}); wait for the lock to lift")]
    Locked(ServerError),
    /// 403: forbidden.
    #[error("forbidden ({0})")]
    Forbidden(ServerError),
    /// 429 after the transport's bounded retries.
    #[error("rate limited ({detail}); retry after {retry_after:?}")]
    RateLimited {
        /// The server's `Retry-After`, when given in seconds.
        retry_after: Option<Duration>,
        /// What the server said.
        detail: ServerError,
    },
    /// Another 400: the server rejected the request as malformed.
    #[error("the server rejected the request ({0})")]
    BadRequest(ServerError),
    /// 5xx: a server fault.
    #[error("server fault ({0})")]
    ServerFault(ServerError),
    /// A status the contract does not assign (1xx, other 4xx, or a 2xx not accepted by policy).
    #[error("unexpected status ({0})")]
    UnexpectedStatus(ServerError),
    /// A 3xx: redirects are never followed.
    #[error("the server answered with a redirect (HTTP {status}), which is never followed")]
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The `Location` header, length-bounded.
        location: Option<String>,
    },
    /// A success status whose body could not be used.
    #[error("malformed response (HTTP {status}): {reason}")]
    MalformedResponse {
        /// The HTTP status.
        status: u16,
        /// What was wrong, never the body itself.
        reason: String,
    },
    /// The server echoed a `state` that differs from the one sent.
    #[error("the server echoed a different `state`: possible cross-site request forgery")]
    StateMismatch,
    /// The credential envelope could not be made.
    #[error("sealing the credentials failed: {0}")]
    Seal(String),
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// No usable response arrived.
    #[error("transport failure: {0}")]
    Transport(#[from] TransportError),
    /// The randomness source failed.
    #[error("the randomness source failed")]
    Entropy,
    /// The caller asked for something the flow cannot do from its state (nothing was sent).
    #[error("refused: {0}")]
    Misuse(crate::action::Misuse),
}

/// The snake_case kind of an [`Error`], as used in JSON output and matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum ErrorKind {
    InvalidCredentials,
    InvalidOtp,
    InvalidCaptcha,
    CaptchaRequired,
    InvalidToken,
    Expired,
    NotFound,
    Locked,
    Forbidden,
    RateLimited,
    BadRequest,
    ServerError,
    UnexpectedStatus,
    Redirect,
    MalformedResponse,
    StateMismatch,
    Seal,
    Config,
    Transport(TransportErrorKind),
    Entropy,
    Misuse,
}

impl ErrorKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidOtp => "invalid_otp",
            Self::InvalidCaptcha => "invalid_captcha",
            Self::CaptchaRequired => "captcha_required",
            Self::InvalidToken => "invalid_token",
            Self::Expired => "expired",
            Self::NotFound => "not_found",
            Self::Locked => "locked",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::BadRequest => "invalid_request",
            Self::ServerError => "server_error",
            Self::UnexpectedStatus => "unexpected_status",
            Self::Redirect => "redirect",
            Self::MalformedResponse => "malformed_response",
            Self::StateMismatch => "state_mismatch",
            Self::Seal => "seal",
            Self::Config => "config",
            Self::Transport(k) => k.as_str(),
            Self::Entropy => "entropy",
            Self::Misuse => "misuse",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<serde_json::Value>,
}

fn bounded_text(v: Option<serde_json::Value>) -> Option<String> {
    let s = match v? {
        serde_json::Value::String(s) => s,
        _ => return None,
    };
    Some(bound(&s))
}

/// Cuts to [`MAX_SERVER_TEXT`] characters and drops control characters.
pub(crate) fn bound(s: &str) -> String {
    // Fast path for what servers send almost always (ids, tokens, codes): short printable
    // ASCII, which has no control characters and cannot exceed the cap in characters.
    if s.len() <= MAX_SERVER_TEXT && crate::request::all_bytes_in(s, 0x20, 0x7e) {
        return s.to_owned();
    }
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_SERVER_TEXT)
        .collect()
}

/// Keeps a redirect target's scheme, host and path only: its query or fragment may carry an
/// authorization code or a token, which must not reach logs.
fn redact_location(location: &str) -> String {
    let cut = location.find(['?', '#']).unwrap_or(location.len());
    let mut kept = bound(&location[..cut]);
    if cut < location.len() {
        kept.push_str("?<redacted>");
    }
    kept
}

impl Error {
    /// Classifies a response the step did not accept as success: by status first, then by the
    /// `error` code. Never fails: garbage, HTML or an empty body still give a typed error.
    pub fn from_response(response: &crate::Response) -> Self {
        let status = response.status();
        let (code, message) = match crate::pending::json_from_bytes::<ErrorBody>(response.body()) {
            Ok(b) => (bounded_text(b.error), bounded_text(b.message)),
            Err(_) => (None, None),
        };
        let detail = ServerError {
            status,
            code,
            message,
        };
        let code = detail.code.as_deref().unwrap_or("");
        match status {
            300..=399 => Error::Redirect {
                status,
                location: response.header("location").map(redact_location),
            },
            400 => match code {
                "invalid_captcha" => Error::InvalidCaptcha(detail),
                "captcha_required" => Error::CaptchaRequired(detail),
                _ => Error::BadRequest(detail),
            },
            401 => match code {
                "invalid_otp" => Error::InvalidOtp(detail),
                "invalid_token" => Error::InvalidToken(detail),
                _ => Error::InvalidCredentials(detail),
            },
            403 => Error::Forbidden(detail),
            404 => match code {
                "expired" => Error::Expired(detail),
                _ => Error::NotFound(detail),
            },
            423 => Error::Locked(detail),
            429 => Error::RateLimited {
                retry_after: response.retry_after(),
                detail,
            },
            500..=599 => Error::ServerFault(detail),
            _ => Error::UnexpectedStatus(detail),
        }
    }

    /// The kind, for matching and for JSON output.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidCredentials(_) => ErrorKind::InvalidCredentials,
            Error::InvalidOtp(_) => ErrorKind::InvalidOtp,
            Error::InvalidCaptcha(_) => ErrorKind::InvalidCaptcha,
            Error::CaptchaRequired(_) => ErrorKind::CaptchaRequired,
            Error::InvalidToken(_) => ErrorKind::InvalidToken,
            Error::Expired(_) => ErrorKind::Expired,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Locked(_) => ErrorKind::Locked,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::BadRequest(_) => ErrorKind::BadRequest,
            Error::ServerFault(_) => ErrorKind::ServerError,
            Error::UnexpectedStatus(_) => ErrorKind::UnexpectedStatus,
            Error::Redirect { .. } => ErrorKind::Redirect,
            Error::MalformedResponse { .. } => ErrorKind::MalformedResponse,
            Error::StateMismatch => ErrorKind::StateMismatch,
            Error::Seal(_) => ErrorKind::Seal,
            Error::Config(_) => ErrorKind::Config,
            Error::Transport(t) => ErrorKind::Transport(t.kind),
            Error::Entropy => ErrorKind::Entropy,
            Error::Misuse(_) => ErrorKind::Misuse,
        }
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::InvalidCredentials(d)
            | Error::InvalidOtp(d)
            | Error::InvalidCaptcha(d)
            | Error::CaptchaRequired(d)
            | Error::InvalidToken(d)
            | Error::Expired(d)
            | Error::NotFound(d)
            | Error::Locked(d)
            | Error::Forbidden(d)
            | Error::BadRequest(d)
            | Error::ServerFault(d)
            | Error::UnexpectedStatus(d)
            | Error::RateLimited { detail: d, .. } => Some(d.status),
            Error::Redirect { status, .. } | Error::MalformedResponse { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// What the server said, when it answered with an error status.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Error::InvalidCredentials(d)
            | Error::InvalidOtp(d)
            | Error::InvalidCaptcha(d)
            | Error::CaptchaRequired(d)
            | Error::InvalidToken(d)
            | Error::Expired(d)
            | Error::NotFound(d)
            | Error::Locked(d)
            | Error::Forbidden(d)
            | Error::BadRequest(d)
            | Error::ServerFault(d)
            | Error::UnexpectedStatus(d)
            | Error::RateLimited { detail: d, .. } => Some(d),
            _ => None,
        }
    }

    /// `Retry-After` of a 429.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the server did not process the call, so sending the same request again is safe
    /// whatever the step: a 429, or a failure before anything was sent.
    pub fn is_safe_to_retry(&self) -> bool {
        matches!(self, Error::RateLimited { .. })
            || matches!(self, Error::Transport(t) if matches!(
                t.kind,
                TransportErrorKind::Dns | TransportErrorKind::Connect | TransportErrorKind::InsecureUrl
            ))
    }

    /// Whether the failure is transient (network, timeout, throttling, server fault): trying the
    /// same step again later may succeed. Hard errors (refusals) are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::ServerFault(_) => true,
            Error::Transport(t) => !matches!(t.kind, TransportErrorKind::InsecureUrl),
            _ => false,
        }
    }

    /// Whether the error ends the flow: the state it came from can no longer make progress
    /// (expired, unknown, revoked, locked, forbidden, tampered).
    pub fn ends_flow(&self) -> bool {
        matches!(
            self,
            Error::Expired(_)
                | Error::NotFound(_)
                | Error::InvalidToken(_)
                | Error::Locked(_)
                | Error::Forbidden(_)
                | Error::StateMismatch
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Response;

    fn classify(status: u16, body: &str) -> Error {
        Error::from_response(&Response::new(status, body.as_bytes().to_vec()))
    }

    #[test]
    fn classifies_by_status_then_code() {
        assert_eq!(
            classify(400, r#"{"error":"invalid_captcha"}"#).kind(),
            ErrorKind::InvalidCaptcha
        );
        assert_eq!(
            classify(400, r#"{"error":"captcha_required"}"#).kind(),
            ErrorKind::CaptchaRequired
        );
        assert_eq!(
            classify(400, r#"{"error":"invalid_request"}"#).kind(),
            ErrorKind::BadRequest
        );
        assert_eq!(
            classify(401, r#"{"error":"invalid_otp"}"#).kind(),
            ErrorKind::InvalidOtp
        );
        assert_eq!(
            classify(401, r#"{"error":"invalid_token"}"#).kind(),
            ErrorKind::InvalidToken
        );
        assert_eq!(classify(401, "").kind(), ErrorKind::InvalidCredentials);
        assert_eq!(classify(403, "").kind(), ErrorKind::Forbidden);
        assert_eq!(
            classify(404, r#"{"error":"expired"}"#).kind(),
            ErrorKind::Expired
        );
        assert_eq!(classify(404, "<html>").kind(), ErrorKind::NotFound);
        assert_eq!(classify(423, "").kind(), ErrorKind::Locked);
        assert_eq!(classify(429, "").kind(), ErrorKind::RateLimited);
        assert_eq!(
            classify(503, "<html>oops</html>").kind(),
            ErrorKind::ServerError
        );
        assert_eq!(classify(302, "").kind(), ErrorKind::Redirect);
        assert_eq!(classify(418, "").kind(), ErrorKind::UnexpectedStatus);
        // The status decides first: a 500 that claims invalid_otp is still a server fault.
        assert_eq!(
            classify(500, r#"{"error":"invalid_otp"}"#).kind(),
            ErrorKind::ServerError
        );
    }

    #[test]
    fn keeps_status_code_and_bounded_message() {
        let long = "x".repeat(10_000);
        let e = classify(
            401,
            &format!(r#"{{"error":"invalid_otp","message":"{long}"}}"#),
        );
        let d = e.server_error().unwrap();
        assert_eq!(d.status, 401);
        assert_eq!(d.code.as_deref(), Some("invalid_otp"));
        assert_eq!(d.message.as_ref().unwrap().chars().count(), MAX_SERVER_TEXT);
    }

    #[test]
    fn wrong_types_in_error_body_are_ignored() {
        let e = classify(401, r#"{"error":12,"message":["a"]}"#);
        assert_eq!(e.kind(), ErrorKind::InvalidCredentials);
        assert_eq!(e.server_error().unwrap().code, None);
    }

    #[test]
    fn rate_limited_keeps_retry_after() {
        let r = Response::new(429, Vec::new()).with_header("Retry-After", "7");
        let e = Error::from_response(&r);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_safe_to_retry());
        assert!(e.is_transient());
    }
}
