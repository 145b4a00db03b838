//! What the CLI prints: text lines, or exactly one JSON object on stdout; and the exit codes.
//!
//! Exit codes: 0 success; 1 the server answered with an error status (a refusal, a lock,
//! throttling after the retries, a server fault); 2 usage or configuration (and a session or
//! pending file that can no longer be used); 3 transport failure or an answer that could not be
//! used (timeout, reset, TLS, body too large, redirect, malformed response); 4 a login paused
//! for an OTP or a captcha answer (`login --save-pending`), to finish with `loginflow resume`.

use std::io::Write as _;

use login_core::{Error, ErrorKind, TransportErrorKind, table::StateId};
use serde_json::{Map, Value, json};

use crate::args::OutputFormat;
use crate::error::{CliError, Failure};
use crate::redact::redact;

/// Exit code of a success.
pub const EXIT_OK: u8 = 0;
/// Exit code when the server answered with an error status.
pub const EXIT_SERVER: u8 = 1;
/// Exit code of a usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a transport failure or an unusable answer.
pub const EXIT_TRANSPORT: u8 = 3;
/// Exit code of a login paused for an answer (`login --save-pending`): not a failure, the
/// pending file waits for `loginflow resume`.
pub const EXIT_PAUSED: u8 = 4;

/// The exit code for an engine error.
pub fn exit_code(error: &Error) -> u8 {
    match error.kind() {
        ErrorKind::Config | ErrorKind::Seal => EXIT_USAGE,
        // Refused before sending: the fix is a flag (`--allow-http`) or a correct URL.
        ErrorKind::Transport(TransportErrorKind::InsecureUrl) => EXIT_USAGE,
        ErrorKind::Transport(_)
        | ErrorKind::Redirect
        | ErrorKind::MalformedResponse
        | ErrorKind::StateMismatch
        | ErrorKind::Entropy => EXIT_TRANSPORT,
        _ if error.status().is_some() => EXIT_SERVER,
        _ => EXIT_TRANSPORT,
    }
}

/// How a failure is shown: its JSON `kind`, HTTP status, message and exit code. These are the
/// CLI's interface (scripts match on the kinds); each is decided here, once per [`Failure`].
impl CliError {
    /// The snake_case kind of the JSON `error` object.
    pub fn kind(&self) -> &'static str {
        match self.failure() {
            Failure::Engine(e) | Failure::CaptchaRefused(e) => e.kind().as_str(),
            Failure::Usage(_) => "usage",
            Failure::Config(_)
            | Failure::Session(_)
            | Failure::NotASession { .. }
            | Failure::Pending(_)
            | Failure::Lock(_) => "config",
            Failure::SessionRevoked(_) => "session_revoked",
            Failure::SessionEnded { .. } => "session_ended",
            Failure::PendingUsed { .. } => "pending_used",
            Failure::PendingExpired { .. } => "pending_expired",
            Failure::PendingEnded { .. } => "pending_ended",
            Failure::EndedElsewhere { .. } => "unexpected_state",
        }
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self.failure() {
            Failure::Engine(e) | Failure::CaptchaRefused(e) => e.status(),
            _ => None,
        }
    }

    /// The exit code.
    pub fn exit(&self) -> u8 {
        match self.failure() {
            Failure::Engine(e) | Failure::CaptchaRefused(e) => exit_code(e),
            Failure::Usage(_)
            | Failure::Config(_)
            | Failure::Session(_)
            | Failure::NotASession { .. }
            | Failure::SessionRevoked(_)
            | Failure::SessionEnded { .. }
            | Failure::Pending(_)
            | Failure::PendingUsed { .. }
            | Failure::PendingExpired { .. }
            | Failure::PendingEnded { .. }
            | Failure::Lock(_) => EXIT_USAGE,
            Failure::EndedElsewhere { .. } => EXIT_TRANSPORT,
        }
    }

    /// The message (before redaction).
    pub fn message(&self) -> String {
        match self.failure() {
            Failure::Engine(e) => e.to_string(),
            Failure::CaptchaRefused(e) => match e.status() {
                Some(status) => {
                    format!("the captcha answer was refused ({status} {})", self.kind())
                }
                None => format!("the captcha answer was refused ({})", self.kind()),
            },
            Failure::Usage(m) | Failure::Config(m) => m.clone(),
            Failure::Session(e) => e.to_string(),
            Failure::NotASession { api, state, verb } => format!(
                "the session file holds a {} flow in state {}, not a session to {verb}",
                api.as_str(),
                state.as_str()
            ),
            Failure::SessionRevoked(path) => format!(
                "the session in {} was revoked and cannot refresh; log in again",
                path.display()
            ),
            Failure::SessionEnded { path, ended } => format!(
                "the server ended the session in {} ({} at {}); log in again",
                path.display(),
                ended.kind,
                crate::commands::utc(ended.at)
            ),
            Failure::Pending(e) => e.to_string(),
            Failure::PendingUsed { path, at } => format!(
                "the paused login in {} was already finished at {}; log in again",
                path.display(),
                crate::commands::utc(*at)
            ),
            Failure::PendingExpired { path, at } => format!(
                "the paused login in {} expired at {}; log in again",
                path.display(),
                crate::commands::utc(*at)
            ),
            Failure::PendingEnded { path, ended } => format!(
                "the server ended the paused login in {} ({} at {}); log in again",
                path.display(),
                ended.kind,
                crate::commands::utc(ended.at)
            ),
            Failure::Lock(e) => format!(
                "cannot lock {} (another loginflow may be using the file): {}",
                e.path.display(),
                e.source
            ),
            Failure::EndedElsewhere { expected } => {
                format!("the run did not end in state {}", expected.as_str())
            }
        }
    }

    /// The JSON text of [`to_json`](Self::to_json) with `state` first.
    pub fn to_json_string(&self) -> String {
        let v = self.to_json();
        let e = &v["error"];
        // Keys in the issue's order; serde_json's `Map` would sort them.
        format!(
            "{{\"state\":{},\"error\":{{\"kind\":{},\"status\":{},\"message\":{}}}}}",
            v["state"], e["kind"], e["status"], e["message"]
        )
    }

    /// The JSON failure shape: `{"state": ..., "error": {"kind", "status", "message"}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "state": self.state().map(StateId::as_str),
            "error": {
                "kind": self.kind(),
                "status": self.status(),
                "message": redact(&self.message()),
            }
        })
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// A successful command's result: the final state, fields for JSON, and lines for text.
#[derive(Debug, Default)]
pub struct Outcome {
    state: Option<String>,
    fields: Map<String, Value>,
    lines: Vec<String>,
    exit: u8,
}

impl Outcome {
    /// An outcome ending in `state`.
    pub fn new(state: &str) -> Self {
        Self {
            state: Some(state.to_owned()),
            ..Self::default()
        }
    }

    /// An outcome with no flow state (diagram, demo).
    pub fn stateless() -> Self {
        Self::default()
    }

    /// Adds a JSON field.
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// Sets a non-zero exit code for an outcome that is still reported in full (the demo when
    /// a flow did not end as expected).
    pub fn exit_code(mut self, code: u8) -> Self {
        self.exit = code;
        self
    }

    /// Adds a text line.
    pub fn line(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    /// The JSON text: `state` first (without serde_json's `preserve_order`, a `Map` sorts its
    /// keys, so the object is spliced by hand), then the fields in key order.
    pub fn to_json_string(&self) -> String {
        let fields = Value::Object(self.fields.clone()).to_string();
        match &self.state {
            None => fields,
            Some(state) => {
                let state = Value::String(state.clone()).to_string();
                if self.fields.is_empty() {
                    format!("{{\"state\":{state}}}")
                } else {
                    format!("{{\"state\":{state},{}", &fields[1..])
                }
            }
        }
    }

    /// The JSON object.
    #[cfg(test)]
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        if let Some(state) = &self.state {
            map.insert("state".into(), Value::String(state.clone()));
        }
        for (k, v) in &self.fields {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }
}

/// Prints an outcome and gives the exit code. Write failures (a closed pipe) are ignored: there
/// is nowhere left to report them.
pub fn print_result(format: OutputFormat, result: &Result<Outcome, CliError>) -> u8 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match (format, result) {
        (OutputFormat::Json, Ok(outcome)) => {
            let _ = writeln!(out, "{}", outcome.to_json_string());
            outcome.exit
        }
        (OutputFormat::Text, Ok(outcome)) => {
            for line in &outcome.lines {
                let _ = writeln!(out, "{line}");
            }
            outcome.exit
        }
        (OutputFormat::Json, Err(e)) => {
            let _ = writeln!(out, "{}", e.to_json_string());
            e.exit()
        }
        (OutputFormat::Text, Err(e)) => {
            let _ = out.flush();
            let _ = writeln!(std::io::stderr(), "{}", text_error(e));
            e.exit()
        }
    }
}

/// The one-line text form of an error, redacted.
pub fn text_error(e: &CliError) -> String {
    let mut head = format!("error [{}", e.kind());
    if let Some(status) = e.status() {
        head.push_str(&format!(", HTTP {status}"));
    }
    head.push(']');
    if let Some(state) = e.state() {
        head.push_str(&format!(" in state {}", state.as_str()));
    }
    format!("{head}: {}", redact(&e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use login_core::error::{ConfigError, Malformed, MalformedReason, SealError};
    use login_core::{Response, TransportError};

    fn from_status(status: u16, body: &str) -> Error {
        Error::from_response(&Response::new(status, body.as_bytes().to_vec()))
    }

    #[test]
    fn exit_codes_follow_the_issue() {
        assert_eq!(exit_code(&from_status(401, "")), 1);
        assert_eq!(exit_code(&from_status(423, "")), 1);
        assert_eq!(exit_code(&from_status(429, "")), 1);
        assert_eq!(exit_code(&from_status(503, "<html>")), 1);
        assert_eq!(exit_code(&from_status(418, "")), 1);
        assert_eq!(exit_code(&from_status(302, "")), 3);
        assert_eq!(
            exit_code(&Error::from(ConfigError::HeaderValue { what: "x" })),
            2
        );
        assert_eq!(exit_code(&Error::from(SealError::Encrypt)), 2);
        for kind in [
            TransportErrorKind::Connect,
            TransportErrorKind::Timeout,
            TransportErrorKind::Reset,
            TransportErrorKind::Tls,
            TransportErrorKind::BodyTooLarge,
        ] {
            assert_eq!(
                exit_code(&Error::Transport(TransportError::new(kind, "x"))),
                3
            );
        }
        assert_eq!(
            exit_code(&Error::Transport(TransportError::new(
                TransportErrorKind::InsecureUrl,
                "x"
            ))),
            2
        );
        for reason in [
            MalformedReason::Missing { field: "x" },
            MalformedReason::StateMismatch,
        ] {
            let malformed = Error::Malformed(Malformed {
                status: 201,
                reason,
            });
            assert_eq!(exit_code(&malformed), 3);
        }
    }

    #[test]
    fn failure_json_shape() {
        let e = CliError::engine(from_status(401, r#"{"error":"invalid_credentials"}"#))
            .in_state(StateId::Start);
        let v = e.to_json();
        assert_eq!(v["state"], "Start");
        assert_eq!(v["error"]["kind"], "invalid_credentials");
        assert_eq!(v["error"]["status"], 401);
        assert!(v["error"]["message"].is_string());
        let u = CliError::usage("pass --otp").to_json();
        assert_eq!(u["state"], Value::Null);
        assert_eq!(u["error"]["status"], Value::Null);
    }

    /// Each typed failure prints the kind, status, exit code and message scripts rely on.
    #[test]
    fn typed_failures_print_their_kinds() {
        let refused = CliError::captcha_refused(from_status(400, r#"{"error":"invalid_captcha"}"#))
            .in_state(StateId::Authorized);
        assert_eq!(
            refused.to_json_string(),
            r#"{"state":"Authorized","error":{"kind":"invalid_captcha","status":400,"message":"the captcha answer was refused (400 invalid_captcha)"}}"#
        );
        assert_eq!(refused.exit(), 1);
        let revoked = CliError::session_revoked("s.json".into());
        assert_eq!(
            (revoked.kind(), revoked.exit(), revoked.state()),
            ("session_revoked", 2, Some(StateId::Revoked))
        );
        let elsewhere = CliError::ended_elsewhere(StateId::Tokened, StateId::Revoked);
        assert_eq!(
            (elsewhere.kind(), elsewhere.exit()),
            ("unexpected_state", 3)
        );
        let not_a_session = CliError::not_a_session(
            login_core::table::Api::Realm,
            StateId::MfaPending,
            "refresh",
        );
        assert_eq!(not_a_session.kind(), "config");
        assert_eq!(
            not_a_session.message(),
            "the session file holds a realm flow in state MfaPending, not a session to refresh"
        );
        assert_eq!(CliError::config("x").kind(), "config");
    }

    #[test]
    fn outcome_json_puts_state_first() {
        let o = Outcome::new("Tokened").field("api", "cap").field("z", 1);
        assert_eq!(
            o.to_json_string(),
            r#"{"state":"Tokened","api":"cap","z":1}"#
        );
        assert_eq!(
            Outcome::new("Revoked").to_json_string(),
            r#"{"state":"Revoked"}"#
        );
        assert_eq!(
            Outcome::stateless().field("a", true).to_json_string(),
            r#"{"a":true}"#
        );
        let parsed: Value = serde_json::from_str(&o.to_json_string()).unwrap();
        assert_eq!(parsed, o.to_json());
        let e = CliError::usage("x").to_json_string();
        assert_eq!(
            e,
            r#"{"state":null,"error":{"kind":"usage","status":null,"message":"x"}}"#
        );
        assert_eq!(
            serde_json::from_str::<Value>(&e).unwrap(),
            CliError::usage("x").to_json()
        );
    }
}
