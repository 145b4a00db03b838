//! One error type for every way a step can fail, grouped by what a caller does about it: the
//! server refused the call ([`Refusal`], classified by status first, then by the server's
//! `error` code, wire contract "Error responses"), throttled it, redirected it, answered
//! something unusable ([`Malformed`]), or nothing was sent ([`LocalError`]) or received
//! ([`TransportError`]).

use crate::Response;
use crate::response::RetryAfter;
pub use crate::wire::MAX_SERVER_TEXT;
use crate::wire::{bound, json_from_bytes};

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
    /// A cassette could not stand in for the network: a replay met a request it did not
    /// record (the detail is a readable diff, secrets redacted) or ran past its end, or a
    /// recording could not be written. Not transient: the same run fails the same way.
    Cassette,
    /// The HTTP proxy did not open a tunnel to the server: it refused `CONNECT` (407 for
    /// missing or wrong proxy credentials, 403, 502, ...), or its answer was not HTTP. Nothing
    /// reached the server.
    Proxy,
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
            Self::Cassette => "cassette",
            Self::Proxy => "proxy",
            Self::Other => "transport",
        }
    }

    /// The kind [`as_str`](Self::as_str) names (an unknown name is `Other`), for output read
    /// back, such as a recorded cassette.
    ///
    /// ```
    /// use login_core::TransportErrorKind;
    /// assert_eq!(TransportErrorKind::from_name("proxy"), TransportErrorKind::Proxy);
    /// assert_eq!(TransportErrorKind::from_name("carrier pigeon"), TransportErrorKind::Other);
    /// ```
    pub fn from_name(name: &str) -> Self {
        match name {
            "dns" => Self::Dns,
            "connect" => Self::Connect,
            "timeout" => Self::Timeout,
            "reset" => Self::Reset,
            "tls" => Self::Tls,
            "body_too_large" => Self::BodyTooLarge,
            "insecure_url" => Self::InsecureUrl,
            "cassette" => Self::Cassette,
            "proxy" => Self::Proxy,
            _ => Self::Other,
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

/// Every way a step can fail, in six groups by what a caller does about it.
///
/// ```
/// use login_core::{Error, ErrorKind};
/// use login_core::error::RefusalKind;
/// let e = Error::from_response(&login_core::Response::new(
///     401,
///     br#"{"error":"invalid_otp","message":"wrong code"}"#.to_vec(),
/// ));
/// assert_eq!(e.kind(), ErrorKind::InvalidOtp);
/// assert_eq!(e.status(), Some(401));
/// assert!(matches!(e, Error::Refused(r) if r.kind == RefusalKind::InvalidOtp));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the call: a status the step did not accept, other than a 3xx or a
    /// 429 (a 4xx, a 5xx, or an unexpected status).
    #[error("{0}")]
    Refused(Refusal),
    /// 429 after the transport's bounded retries.
    #[error("rate limited ({detail}); retry after {}", describe_retry(retry_after.as_ref()))]
    RateLimited {
        /// The server's `Retry-After`, in seconds or as an HTTP date.
        retry_after: Option<RetryAfter>,
        /// What the server said.
        detail: ServerError,
    },
    /// A 3xx: redirects are never followed.
    #[error("the server answered with a redirect (HTTP {status}), which is never followed")]
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The `Location` header, length-bounded, its query and fragment redacted.
        location: Option<String>,
    },
    /// A success status whose body could not be used, or a server that broke the protocol.
    #[error("{0}")]
    Malformed(Malformed),
    /// Local misuse or configuration: nothing was sent.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// No usable response arrived.
    #[error("transport failure: {0}")]
    Transport(#[from] TransportError),
}

/// A refusal: what kind, and what the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What the refusal means for the flow.
    pub kind: RefusalKind,
    /// The status and the server's bounded `error` and `message`.
    pub detail: ServerError,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, advice) = self.kind.wording();
        write!(f, "{what} ({}){advice}", self.detail)
    }
}

/// The kinds of refusal, by status and then by the server's `error` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalKind {
    /// 401 `invalid_credentials` (or another 401 code): wrong username or password (or client
    /// credentials).
    InvalidCredentials,
    /// 401 `invalid_otp`: the one-time password was wrong or used up.
    InvalidOtp,
    /// 400 `invalid_captcha`: the captcha answer was wrong or the captcha already used.
    InvalidCaptcha,
    /// 400 `captcha_required`: the login challenge needs a captcha.
    CaptchaRequired,
    /// 401 `invalid_token`: a token, code or ticket is unknown, used or revoked.
    InvalidToken,
    /// 404 `expired`: the request id or session expired.
    Expired,
    /// 404 `not_found` (or another 404): unknown request id or session.
    NotFound,
    /// 423: the account is locked.
    Locked,
    /// 403: forbidden.
    Forbidden,
    /// Another 400: the server rejected the request as malformed.
    BadRequest,
    /// 5xx: a server fault.
    ServerFault,
    /// A status the contract does not assign (1xx, other 4xx, or a 2xx not accepted by policy).
    UnexpectedStatus,
}

impl RefusalKind {
    /// Classifies a refusal: the status decides first, the `error` code only within a status.
    /// 3xx and 429 are not refusals and never reach here.
    fn classify(status: u16, code: &str) -> Self {
        match (status, code) {
            (400, "invalid_captcha") => Self::InvalidCaptcha,
            (400, "captcha_required") => Self::CaptchaRequired,
            (400, _) => Self::BadRequest,
            (401, "invalid_otp") => Self::InvalidOtp,
            (401, "invalid_token") => Self::InvalidToken,
            (401, _) => Self::InvalidCredentials,
            (403, _) => Self::Forbidden,
            (404, "expired") => Self::Expired,
            (404, _) => Self::NotFound,
            (423, _) => Self::Locked,
            (500..=599, _) => Self::ServerFault,
            _ => Self::UnexpectedStatus,
        }
    }

    /// The [`ErrorKind`] of an [`Error::Refused`] of this kind.
    pub fn error_kind(self) -> ErrorKind {
        match self {
            Self::InvalidCredentials => ErrorKind::InvalidCredentials,
            Self::InvalidOtp => ErrorKind::InvalidOtp,
            Self::InvalidCaptcha => ErrorKind::InvalidCaptcha,
            Self::CaptchaRequired => ErrorKind::CaptchaRequired,
            Self::InvalidToken => ErrorKind::InvalidToken,
            Self::Expired => ErrorKind::Expired,
            Self::NotFound => ErrorKind::NotFound,
            Self::Locked => ErrorKind::Locked,
            Self::Forbidden => ErrorKind::Forbidden,
            Self::BadRequest => ErrorKind::BadRequest,
            Self::ServerFault => ErrorKind::ServerError,
            Self::UnexpectedStatus => ErrorKind::UnexpectedStatus,
        }
    }

    /// Whether the refusal ends the flow: the server said the request, session or token is
    /// gone, or the account may not go on.
    pub fn ends_flow(self) -> bool {
        matches!(
            self,
            Self::Expired | Self::NotFound | Self::InvalidToken | Self::Locked | Self::Forbidden
        )
    }

    /// What happened and what to do, around the server's own words in the message.
    fn wording(self) -> (&'static str, &'static str) {
        match self {
            Self::InvalidCredentials => ("credentials were refused", ""),
            Self::InvalidOtp => ("the one-time password was refused", "; ask the user again"),
            Self::InvalidCaptcha => ("the captcha answer was refused", "; fetch a new captcha"),
            Self::CaptchaRequired => ("the server requires a captcha", "; fetch one and answer it"),
            Self::InvalidToken => ("a token was refused", "; log in again"),
            Self::Expired => ("the request expired", "; start the flow again"),
            Self::NotFound => ("unknown request or session", "; start the flow again"),
            Self::Locked => ("the account is locked", "; wait for the lock to lift"),
            Self::Forbidden => ("forbidden", ""),
            Self::BadRequest => ("the server rejected the request", ""),
            Self::ServerFault => ("server fault", ""),
            Self::UnexpectedStatus => ("unexpected status", ""),
        }
    }
}

/// An answer that could not be used: the status it came with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The HTTP status (a success status: failures are refusals).
    pub status: u16,
    /// What was wrong, never the body itself.
    pub reason: MalformedReason,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason {
            // Not a shape problem: says so on its own, as it always has.
            MalformedReason::StateMismatch => self.reason.fmt(f),
            _ => write!(
                f,
                "malformed response (HTTP {}): {}",
                self.status, self.reason
            ),
        }
    }
}

/// Why an answer could not be used. Every reason names fields, never their values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedReason {
    /// The body is not the JSON the step expects.
    Json {
        /// What kind of JSON error.
        problem: JsonProblem,
        /// Where reading stopped: line (from 1).
        line: usize,
        /// Where reading stopped: column (from 1).
        column: usize,
    },
    /// A required field is absent, empty or of another type (the tolerant reader reads a
    /// wrong type as absent). `field` may name alternatives ("code or token").
    Missing {
        /// The field, as the contract spells it.
        field: &'static str,
    },
    /// A field is present but unusable: not base64, not header-safe, not a lifetime, or a value
    /// the contract does not list.
    Invalid {
        /// The field, as the contract spells it.
        field: &'static str,
    },
    /// The body says `success: false` under a success status.
    SuccessFalse,
    /// The server echoed an OAuth `state` that differs from the one sent.
    StateMismatch,
    /// An expiry read as an absolute time ([`ExpiryForm::UnixTime`]) is already past at
    /// receipt: the `expiry` setting is wrong for this server, or its clock is far off.
    ///
    /// [`ExpiryForm::UnixTime`]: crate::readings::ExpiryForm::UnixTime
    PastExpiry {
        /// The field, as the contract spells it.
        field: &'static str,
    },
}

impl MalformedReason {
    /// [`Missing`](Self::Missing) `field`.
    pub(crate) const fn missing(field: &'static str) -> Self {
        Self::Missing { field }
    }

    /// [`Invalid`](Self::Invalid) `field`.
    pub(crate) const fn invalid(field: &'static str) -> Self {
        Self::Invalid { field }
    }

    /// `Missing` when the field was absent, `Invalid` when it was there but unusable.
    pub(crate) const fn absent_or_invalid(present: bool, field: &'static str) -> Self {
        if present {
            Self::Invalid { field }
        } else {
            Self::Missing { field }
        }
    }
}

impl std::fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json {
                problem,
                line,
                column,
            } => write!(f, "{problem} at line {line} column {column}"),
            Self::Missing { field } => write!(f, "{field} is missing"),
            Self::Invalid { field } => write!(f, "{field} holds a value the client cannot use"),
            Self::PastExpiry { field } => write!(
                f,
                "{field}, read as a Unix time, is already past at receipt; check the profile's \
                 `expiry` setting (`lifetime` or `unixTime`) and the clocks"
            ),
            Self::SuccessFalse => f.write_str("the server answered success: false"),
            Self::StateMismatch => f.write_str(
                "the server echoed a different `state`: possible cross-site request forgery",
            ),
        }
    }
}

/// What kind of JSON error stopped a reading (serde_json's categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonProblem {
    /// Not JSON at all.
    Syntax,
    /// JSON, but a required field is missing or has the wrong type.
    Data,
    /// The text ended early (truncated).
    Eof,
    /// Reading failed.
    Io,
}

impl JsonProblem {
    pub(crate) fn of(e: &serde_json::Error) -> Self {
        match e.classify() {
            serde_json::error::Category::Io => Self::Io,
            serde_json::error::Category::Syntax => Self::Syntax,
            serde_json::error::Category::Data => Self::Data,
            serde_json::error::Category::Eof => Self::Eof,
        }
    }
}

impl std::fmt::Display for JsonProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Syntax => "invalid JSON",
            Self::Data => "missing field or wrong type",
            Self::Eof => "truncated JSON",
            Self::Io => "read error",
        })
    }
}

/// Local misuse or configuration: the step sent nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// The configuration or an argument is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The credential envelope could not be made.
    #[error("sealing the credentials failed: {0}")]
    Seal(#[from] SealError),
    /// The randomness source failed.
    #[error("the randomness source failed")]
    Entropy,
    /// The caller asked for something the flow cannot do from its state (nothing was sent).
    #[error("refused: {0}")]
    Misuse(crate::action::Misuse),
}

impl LocalError {
    /// The [`ErrorKind`] of an [`Error::Local`] holding this.
    pub fn error_kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) => ErrorKind::Config,
            Self::Seal(_) => ErrorKind::Seal,
            Self::Entropy => ErrorKind::Entropy,
            Self::Misuse(_) => ErrorKind::Misuse,
        }
    }
}

/// An invalid configuration or argument. Messages never repeat the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A configured value that goes into a header (device token, location, event id) is not
    /// non-empty visible ASCII.
    #[error("the {what} must be non-empty visible ASCII")]
    HeaderValue {
        /// Which value, in words.
        what: &'static str,
    },
    /// A PKCE verifier is shorter or longer than RFC 7636 §4.1 allows.
    #[error(
        "a PKCE verifier must be {} to {} characters long, this one has {len}",
        crate::pkce::VERIFIER_MIN,
        crate::pkce::VERIFIER_MAX
    )]
    VerifierLength {
        /// Its length.
        len: usize,
    },
    /// A PKCE verifier holds a character RFC 7636 §4.1 does not allow.
    #[error("a PKCE verifier may only hold the characters A-Z a-z 0-9 - . _ ~")]
    VerifierCharacters,
    /// The server's credential-encryption key (JWK or JWKS) is not usable.
    #[error("{0}")]
    ServerKey(KeyProblem),
    /// A reading setting of a profile is unusable (see [`crate::readings`]).
    #[error("{0}")]
    Reading(#[from] crate::readings::ReadingError),
    /// login-transport: the base URL is not one it accepts.
    #[error("the base URL is not an absolute http:// or https:// URL the transport accepts")]
    BaseUrl,
    /// login-transport: the root certificate PEM held no usable certificate.
    #[error("the root certificate PEM holds no usable certificate")]
    RootCertificate,
    /// login-transport: the TLS client could not be configured.
    #[error("the TLS client could not be configured")]
    Tls,
    /// login-transport: the client certificate chain or its key could not be used.
    #[error("the client certificate or its key could not be used")]
    ClientIdentity,
    /// login-transport: the proxy URL is not one it accepts.
    #[error("the proxy URL is not an http:// proxy URL the transport accepts")]
    Proxy,
    /// login-transport: the transport cannot take a setting, or two settings exclude each other.
    #[error("the transport cannot take this combination of settings")]
    Unsupported,
}

/// Why a server key (JWK or JWKS) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The text is not JSON.
    #[error("the server key could not be read: {0}")]
    NotJson(JsonProblem),
    /// The JSON is not an object.
    #[error("the server key must be a JSON object (a JWK or a JWKS)")]
    NotObject,
    /// A JWKS whose `keys` is not an array.
    #[error("the JWKS member \"keys\" must be an array")]
    KeysNotArray,
    /// A JWKS with no key this client can use.
    #[error("the JWKS holds no EC P-256 key for ECDH-ES encryption")]
    NoEncryptionKey,
    /// A required member is absent or not a string.
    #[error("the server key has no string \"{member}\"")]
    Missing {
        /// The JWK member.
        member: &'static str,
    },
    /// `kty` is not `"EC"`.
    #[error("the server key's \"kty\" must be \"EC\"")]
    NotEc,
    /// `crv` is not `"P-256"`.
    #[error("the server key's \"crv\" must be \"P-256\"")]
    NotP256,
    /// `use` is present and not `"enc"`.
    #[error("the server key's \"use\" must be \"enc\" when present")]
    NotForEncryption,
    /// `alg` is present and not `"ECDH-ES"`.
    #[error("the server key's \"alg\" must be \"ECDH-ES\" when present")]
    NotEcdhEs,
    /// The key carries its private part `d`.
    #[error("the server key contains a private part (\"d\"); configure the public key only")]
    PrivatePart,
    /// `kid` is present and not a string.
    #[error("the server key's \"kid\" must be a string")]
    KidNotString,
    /// A coordinate is not 43 characters (32 bytes).
    #[error("the server key's \"{member}\" must be 43 base64url characters (32 bytes)")]
    CoordinateLength {
        /// `x` or `y`.
        member: &'static str,
    },
    /// A coordinate is not unpadded, canonical base64url.
    #[error("the server key's \"{member}\" is not unpadded base64url")]
    CoordinateEncoding {
        /// `x` or `y`.
        member: &'static str,
    },
    /// The point is not on the P-256 curve.
    #[error("the server key's point is not on the P-256 curve")]
    OffCurve,
}

/// Why the credential envelope could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The credentials could not be encoded as JSON.
    #[error("encoding the credentials failed")]
    Encode,
    /// The randomness source gave no valid P-256 scalar in `draws` draws.
    #[error("the randomness source gave no valid P-256 scalar in {draws} draws; it is not random")]
    NoValidScalar {
        /// How many draws were tried.
        draws: usize,
    },
    /// Computing the ephemeral public key failed.
    #[error("computing the ephemeral public key failed")]
    EphemeralKey,
    /// The ephemeral public key came back in an unexpected encoding.
    #[error("the ephemeral public key has an unexpected encoding")]
    EphemeralKeyEncoding,
    /// The ECDH key agreement failed.
    #[error("the ECDH key agreement failed")]
    KeyAgreement,
    /// The content key could not be derived (the one-step KDF refused its inputs).
    #[error("deriving the content key failed")]
    KeyDerivation,
    /// The derived content key was rejected.
    #[error("the content key was rejected")]
    ContentKey,
    /// The authenticated encryption failed.
    #[error("AES-GCM encryption failed")]
    Encrypt,
    /// The sealer cannot make the content encryption the profile's `envelope.enc` asks for
    /// (a custom sealer that only knows its own).
    #[error("this credential sealer cannot seal with enc {enc}")]
    UnsupportedEnc {
        /// The JWE `enc` asked for.
        enc: &'static str,
    },
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Local(LocalError::Config(e))
    }
}

impl From<crate::action::Misuse> for Error {
    fn from(e: crate::action::Misuse) -> Self {
        Error::Local(LocalError::Misuse(e))
    }
}

impl From<SealError> for Error {
    fn from(e: SealError) -> Self {
        Error::Local(LocalError::Seal(e))
    }
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
    pub fn from_response(response: &Response) -> Self {
        let status = response.status();
        let (code, message) = match json_from_bytes::<ErrorBody>(response.body()) {
            Ok(b) => (bounded_text(b.error), bounded_text(b.message)),
            Err(_) => (None, None),
        };
        let detail = ServerError {
            status,
            code,
            message,
        };
        match status {
            300..=399 => Error::Redirect {
                status,
                location: response.header("location").map(redact_location),
            },
            429 => Error::RateLimited {
                retry_after: response.retry_after(),
                detail,
            },
            _ => Error::Refused(Refusal {
                kind: RefusalKind::classify(status, detail.code.as_deref().unwrap_or("")),
                detail,
            }),
        }
    }

    /// The kind, for matching and for JSON output.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Refused(r) => r.kind.error_kind(),
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Redirect { .. } => ErrorKind::Redirect,
            Error::Malformed(m) if m.reason == MalformedReason::StateMismatch => {
                ErrorKind::StateMismatch
            }
            Error::Malformed(_) => ErrorKind::MalformedResponse,
            Error::Local(l) => l.error_kind(),
            Error::Transport(t) => ErrorKind::Transport(t.kind),
        }
    }

    /// The HTTP status of a refusal, a throttle, a redirect or an unusable body. `None` when
    /// no response arrived, and for a state mismatch: its success status says nothing about
    /// the failure (and error reports have never shown one for it).
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Refused(Refusal { detail, .. }) | Error::RateLimited { detail, .. } => {
                Some(detail.status)
            }
            Error::Redirect { status, .. } => Some(*status),
            Error::Malformed(m) if m.reason == MalformedReason::StateMismatch => None,
            Error::Malformed(m) => Some(m.status),
            Error::Local(_) | Error::Transport(_) => None,
        }
    }

    /// What the server said, when it answered with an error status.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Error::Refused(Refusal { detail, .. }) | Error::RateLimited { detail, .. } => {
                Some(detail)
            }
            Error::Redirect { .. }
            | Error::Malformed(_)
            | Error::Local(_)
            | Error::Transport(_) => None,
        }
    }

    /// `Retry-After` of a 429 (a delay, or an HTTP date: see [`RetryAfter::delay_from`]).
    pub fn retry_after(&self) -> Option<RetryAfter> {
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
                TransportErrorKind::Dns
                    | TransportErrorKind::Connect
                    | TransportErrorKind::Proxy
                    | TransportErrorKind::InsecureUrl
            ))
    }

    /// Whether the failure is transient (network, timeout, throttling, server fault): trying the
    /// same step again later may succeed. Hard errors (refusals) are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. } => true,
            Error::Refused(r) => r.kind == RefusalKind::ServerFault,
            Error::Transport(t) => !matches!(
                t.kind,
                TransportErrorKind::InsecureUrl | TransportErrorKind::Cassette
            ),
            _ => false,
        }
    }

    /// Whether the error ends the flow: the state it came from can no longer make progress
    /// (expired, unknown, revoked, locked, forbidden, tampered).
    pub fn ends_flow(&self) -> bool {
        match self {
            Error::Refused(r) => r.kind.ends_flow(),
            Error::Malformed(m) => m.reason == MalformedReason::StateMismatch,
            _ => false,
        }
    }
}

/// Parses a success body, tolerantly: unknown fields are ignored. The error never quotes the
/// body (it may hold tokens), only where parsing stopped.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T, Error> {
    json_from_bytes(response.body()).map_err(|e| {
        malformed(
            response,
            MalformedReason::Json {
                problem: JsonProblem::of(&e),
                line: e.line(),
                column: e.column(),
            },
        )
    })
}

fn describe_retry(retry_after: Option<&RetryAfter>) -> String {
    retry_after.map_or_else(|| "None".to_owned(), ToString::to_string)
}

/// The error for an unusable success answer.
pub(crate) fn malformed(response: &Response, reason: MalformedReason) -> Error {
    Error::Malformed(Malformed {
        status: response.status(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_kind_names_read_back() {
        use TransportErrorKind as K;
        let all = [
            K::Dns,
            K::Connect,
            K::Timeout,
            K::Reset,
            K::Tls,
            K::BodyTooLarge,
            K::InsecureUrl,
            K::Cassette,
            K::Proxy,
            K::Other,
        ];
        // A new kind fails to compile here until it is added to the list above.
        for kind in all {
            match kind {
                K::Dns
                | K::Connect
                | K::Timeout
                | K::Reset
                | K::Tls
                | K::BodyTooLarge
                | K::InsecureUrl
                | K::Cassette
                | K::Proxy
                | K::Other => {}
            }
            assert_eq!(K::from_name(kind.as_str()), kind);
        }
    }
    use crate::TokenSet;
    use std::time::Duration;
    use std::time::SystemTime;

    fn classify(status: u16, body: &str) -> Error {
        Error::from_response(&Response::new(status, body.as_bytes().to_vec()))
    }

    fn malformed_at(status: u16, reason: MalformedReason) -> Error {
        Error::Malformed(Malformed { status, reason })
    }

    /// The classification as the flat enum did it, kept as the oracle for the grouped one.
    fn flat_kind(status: u16, code: &str) -> ErrorKind {
        match status {
            300..=399 => ErrorKind::Redirect,
            400 => match code {
                "invalid_captcha" => ErrorKind::InvalidCaptcha,
                "captcha_required" => ErrorKind::CaptchaRequired,
                _ => ErrorKind::BadRequest,
            },
            401 => match code {
                "invalid_otp" => ErrorKind::InvalidOtp,
                "invalid_token" => ErrorKind::InvalidToken,
                _ => ErrorKind::InvalidCredentials,
            },
            403 => ErrorKind::Forbidden,
            404 => match code {
                "expired" => ErrorKind::Expired,
                _ => ErrorKind::NotFound,
            },
            423 => ErrorKind::Locked,
            429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::ServerError,
            _ => ErrorKind::UnexpectedStatus,
        }
    }

    #[test]
    fn every_status_and_code_keeps_its_kind() {
        let codes = [
            None,
            Some("invalid_credentials"),
            Some("invalid_otp"),
            Some("invalid_token"),
            Some("invalid_captcha"),
            Some("captcha_required"),
            Some("invalid_request"),
            Some("expired"),
            Some("not_found"),
            Some("locked"),
            Some("server_error"),
            Some(""),
            Some("EXPIRED"),
        ];
        for status in 0..=1000u16 {
            for code in codes {
                let body = match code {
                    Some(c) => format!(r#"{{"error":"{c}"}}"#),
                    None => "<html>".to_owned(),
                };
                let e = classify(status, &body);
                assert_eq!(
                    e.kind(),
                    flat_kind(status, code.unwrap_or("")),
                    "{status} {code:?}"
                );
                assert_eq!(e.status(), Some(status), "{status} {code:?}");
            }
        }
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
        assert!(matches!(
            classify(500, r#"{"error":"invalid_otp"}"#),
            Error::Refused(Refusal {
                kind: RefusalKind::ServerFault,
                ..
            })
        ));
    }

    #[test]
    fn refusal_texts_are_unchanged() {
        let body = r#"{"error":"c","message":"m"}"#;
        for (status, code, text) in [
            (401, "x", "credentials were refused (HTTP 401 x: m)"),
            (
                401,
                "invalid_otp",
                "the one-time password was refused (HTTP 401 invalid_otp: m); ask the user again",
            ),
            (
                400,
                "invalid_captcha",
                "the captcha answer was refused (HTTP 400 invalid_captcha: m); fetch a new captcha",
            ),
            (
                400,
                "captcha_required",
                "the server requires a captcha (HTTP 400 captcha_required: m); fetch one and answer it",
            ),
            (
                401,
                "invalid_token",
                "a token was refused (HTTP 401 invalid_token: m); log in again",
            ),
            (
                404,
                "expired",
                "the request expired (HTTP 404 expired: m); start the flow again",
            ),
            (
                404,
                "x",
                "unknown request or session (HTTP 404 x: m); start the flow again",
            ),
            (
                423,
                "x",
                "the account is locked (HTTP 423 x: m); wait for the lock to lift",
            ),
            (403, "x", "forbidden (HTTP 403 x: m)"),
            (400, "x", "the server rejected the request (HTTP 400 x: m)"),
            (502, "x", "server fault (HTTP 502 x: m)"),
            (418, "x", "unexpected status (HTTP 418 x: m)"),
        ] {
            let e = classify(status, &body.replace("\"c\"", &format!("\"{code}\"")));
            assert_eq!(e.to_string(), text);
        }
        assert_eq!(
            classify(429, "").to_string(),
            "rate limited (HTTP 429); retry after None"
        );
        assert_eq!(
            classify(301, "").to_string(),
            "the server answered with a redirect (HTTP 301), which is never followed"
        );
    }

    #[test]
    fn status_and_server_error_by_group() {
        let refused = classify(401, r#"{"error":"invalid_otp"}"#);
        assert_eq!(refused.status(), Some(401));
        assert_eq!(
            refused.server_error().and_then(|d| d.code.as_deref()),
            Some("invalid_otp")
        );
        let throttled = classify(429, r#"{"error":"slow_down"}"#);
        assert_eq!(throttled.status(), Some(429));
        assert_eq!(
            throttled.server_error().and_then(|d| d.code.as_deref()),
            Some("slow_down")
        );
        let redirect = classify(307, r#"{"error":"x"}"#);
        assert_eq!(redirect.status(), Some(307));
        assert!(redirect.server_error().is_none());
        let malformed = malformed_at(201, MalformedReason::Missing { field: "reqId" });
        assert_eq!(malformed.status(), Some(201));
        assert!(malformed.server_error().is_none());
        let mismatch = malformed_at(200, MalformedReason::StateMismatch);
        assert_eq!(mismatch.status(), None);
        assert!(mismatch.server_error().is_none());
        for local in [
            Error::from(ConfigError::VerifierCharacters),
            Error::from(SealError::Encrypt),
            Error::Local(LocalError::Entropy),
            Error::Transport(TransportError::new(TransportErrorKind::Reset, "x")),
        ] {
            assert_eq!(local.status(), None, "{local:?}");
            assert!(local.server_error().is_none(), "{local:?}");
        }
    }

    #[test]
    fn local_and_malformed_kinds_and_texts() {
        for (e, kind, text) in [
            (
                Error::from(ConfigError::HeaderValue { what: "event id" }),
                ErrorKind::Config,
                "invalid configuration: the event id must be non-empty visible ASCII",
            ),
            (
                Error::from(ConfigError::VerifierLength { len: 7 }),
                ErrorKind::Config,
                "invalid configuration: a PKCE verifier must be 43 to 128 characters long, this one has 7",
            ),
            (
                Error::from(SealError::NoValidScalar { draws: 8 }),
                ErrorKind::Seal,
                "sealing the credentials failed: the randomness source gave no valid P-256 scalar \
                 in 8 draws; it is not random",
            ),
            (
                Error::Local(LocalError::Entropy),
                ErrorKind::Entropy,
                "the randomness source failed",
            ),
            (
                malformed_at(201, MalformedReason::Missing { field: "reqId" }),
                ErrorKind::MalformedResponse,
                "malformed response (HTTP 201): reqId is missing",
            ),
            (
                malformed_at(
                    200,
                    MalformedReason::Json {
                        problem: JsonProblem::Eof,
                        line: 1,
                        column: 9,
                    },
                ),
                ErrorKind::MalformedResponse,
                "malformed response (HTTP 200): truncated JSON at line 1 column 9",
            ),
            (
                malformed_at(200, MalformedReason::StateMismatch),
                ErrorKind::StateMismatch,
                "the server echoed a different `state`: possible cross-site request forgery",
            ),
        ] {
            assert_eq!(e.kind(), kind, "{e:?}");
            assert_eq!(e.to_string(), text);
        }
    }

    #[test]
    fn retry_transience_and_flow_end_by_group() {
        let ends: Vec<ErrorKind> = [
            classify(401, ""),
            classify(401, r#"{"error":"invalid_otp"}"#),
            classify(401, r#"{"error":"invalid_token"}"#),
            classify(400, r#"{"error":"invalid_captcha"}"#),
            classify(403, ""),
            classify(404, ""),
            classify(404, r#"{"error":"expired"}"#),
            classify(423, ""),
            classify(429, ""),
            classify(500, ""),
            classify(302, ""),
            malformed_at(200, MalformedReason::SuccessFalse),
            malformed_at(200, MalformedReason::StateMismatch),
            Error::Local(LocalError::Entropy),
        ]
        .iter()
        .filter(|e| e.ends_flow())
        .map(Error::kind)
        .collect();
        assert_eq!(
            ends,
            [
                ErrorKind::InvalidToken,
                ErrorKind::Forbidden,
                ErrorKind::NotFound,
                ErrorKind::Expired,
                ErrorKind::Locked,
                ErrorKind::StateMismatch
            ]
        );
        assert!(classify(503, "").is_transient());
        assert!(!classify(503, "").is_safe_to_retry());
        assert!(!classify(401, "").is_transient());
        assert!(!malformed_at(200, MalformedReason::SuccessFalse).is_transient());
        let insecure = Error::from(TransportError::new(TransportErrorKind::InsecureUrl, "x"));
        assert!(insecure.is_safe_to_retry() && !insecure.is_transient());
        let reset = Error::from(TransportError::new(TransportErrorKind::Reset, "x"));
        assert!(!reset.is_safe_to_retry() && reset.is_transient());
        let cassette = Error::from(TransportError::new(TransportErrorKind::Cassette, "x"));
        assert!(!cassette.is_safe_to_retry() && !cassette.is_transient());
    }

    #[test]
    fn unusable_bodies_give_typed_reasons() {
        let token = |body: &str, state: Option<&str>| {
            TokenSet::from_response_checking_state(
                &Response::new(200, body.as_bytes().to_vec()),
                SystemTime::UNIX_EPOCH,
                crate::readings::ExpiryForm::Lifetime,
                state,
            )
            .map(|_| ())
        };
        let reason = |r: Result<(), Error>| match r {
            Err(Error::Malformed(m)) => m.reason,
            other => panic!("not malformed: {other:?}"),
        };
        assert!(matches!(
            reason(token(r#"{"accessToken":"a","refresh"#, None)),
            MalformedReason::Json {
                problem: JsonProblem::Eof,
                line: 1,
                ..
            }
        ));
        assert!(matches!(
            reason(token("<html>", None)),
            MalformedReason::Json {
                problem: JsonProblem::Syntax,
                ..
            }
        ));
        assert_eq!(
            reason(token(r#"{"refreshToken":"r"}"#, None)),
            MalformedReason::Missing {
                field: "accessToken"
            }
        );
        assert_eq!(
            reason(token(r#"{"accessToken":"a b","refreshToken":"r"}"#, None)),
            MalformedReason::Invalid {
                field: "accessToken"
            }
        );
        assert_eq!(
            reason(token(
                r#"{"accessToken":"a","refreshToken":"r","expires":-1}"#,
                None
            )),
            MalformedReason::Invalid { field: "expires" }
        );
        let mismatch = token(
            r#"{"accessToken":"a","refreshToken":"r","state":"other"}"#,
            Some("sent"),
        );
        assert_eq!(reason(mismatch), MalformedReason::StateMismatch);
    }

    #[test]
    fn no_text_quotes_the_body() {
        const CANARY: &str = "CANARY-body-7f3a";
        let bodies = [
            format!(r#"{{"error":"invalid_otp","otp":"{CANARY}"}}"#),
            format!(r#"{{"accessToken":"{CANARY}","refresh"#),
            format!(r#"{{"accessToken":"{CANARY}","refreshToken":7}}"#),
            format!(r#"{{"accessToken":"{CANARY} x","refreshToken":"r"}}"#),
            format!("<html>{CANARY}</html>"),
            format!(r#"{{"{CANARY}":1}}"#),
        ];
        for body in &bodies {
            for status in [200, 201, 302, 400, 401, 404, 423, 429, 500, 418] {
                let response = Response::new(status, body.as_bytes().to_vec())
                    .with_header("location", format!("/cb?code={CANARY}"));
                let errors = [
                    Error::from_response(&response),
                    TokenSet::from_response(&response, SystemTime::UNIX_EPOCH)
                        .map(|_| ())
                        .err()
                        .unwrap_or(Error::Local(LocalError::Entropy)),
                ];
                for e in errors {
                    let shown = format!("{e} / {e:?}");
                    assert!(!shown.contains(CANARY), "{status} {body}: {shown}");
                }
            }
        }
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
        assert_eq!(
            e.retry_after(),
            Some(RetryAfter::Delay(Duration::from_secs(7)))
        );
        assert!(e.is_safe_to_retry());
        assert!(e.is_transient());
        // RFC 9110 allows an HTTP date too; the tolerant reader keeps it for the runner.
        let r = Response::new(429, Vec::new())
            .with_header("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT");
        let at = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let e = Error::from_response(&r);
        assert_eq!(e.retry_after(), Some(RetryAfter::At(at)));
        assert!(
            e.to_string()
                .ends_with("retry after Sun, 06 Nov 1994 08:49:37 GMT"),
            "{e}"
        );
    }
}
