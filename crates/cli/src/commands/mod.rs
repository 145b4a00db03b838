//! One file per subcommand.

pub mod demo;
pub mod diagram;
pub mod forgot_password;
pub mod login;
pub mod refresh;
pub mod revoke;
pub mod sandbox;

use std::path::Path;
use std::time::SystemTime;

use login_core::table::{Api, StateId};
use login_core::{Flow, Profile, Session, TokenSet, ciam, realm};

use crate::args::api_flag;
use crate::error::CliError;
use crate::output::Outcome;
use crate::redact;
use crate::session::{self, Endpoint, SavedSession};

/// Unix seconds of an instant.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The outcome of a command that ends with tokens. Tokens appear only with `show_tokens`; they
/// are registered for redaction either way, so no error or progress line can carry them.
pub fn tokened_outcome(
    api: Api,
    what: &str,
    tokens: &TokenSet,
    show_tokens: bool,
    session: Option<&Path>,
) -> Outcome {
    redact::register(tokens.access_token().expose());
    redact::register(tokens.refresh_token().expose());
    let now = SystemTime::now();
    let mut outcome = Outcome::new("Tokened").field("api", api_flag(api));
    let mut line = format!("Tokened: {what}");
    if let Some(at) = tokens.expires_at() {
        outcome = outcome.field("expiresAt", unix_secs(at));
        let left = at.duration_since(now).map(|d| d.as_secs()).unwrap_or(0);
        line.push_str(&format!("; the access token expires in {left} s"));
    }
    if let Some(at) = tokens.refresh_expires_at() {
        outcome = outcome.field("refreshExpiresAt", unix_secs(at));
    }
    if let Some(scope) = tokens.scope() {
        outcome = outcome.field("scope", scope);
    }
    if let Some(t) = tokens.token_type() {
        outcome = outcome.field("tokenType", t);
    }
    outcome = outcome.line(line);
    if let Some(path) = session {
        outcome = outcome
            .field("session", path.display().to_string())
            .line(format!("session saved to {} (mode 0600)", path.display()));
    }
    if show_tokens {
        outcome = outcome
            .field("accessToken", tokens.access_token().expose())
            .field("refreshToken", tokens.refresh_token().expose())
            .line(format!("access token:  {}", tokens.access_token().expose()))
            .line(format!(
                "refresh token: {}",
                tokens.refresh_token().expose()
            ));
    }
    outcome
}

/// What a session file's flow is to `refresh` and `revoke`.
pub enum Held {
    /// A live session.
    Live(Session),
    /// A session that was revoked.
    Revoked,
}

/// What `flow` (read from a session file) holds; anything but a session or a revoked one is
/// not a session to `verb`.
pub fn held(flow: Flow, verb: &'static str) -> Result<Held, CliError> {
    match flow.into_session() {
        Ok(session) => Ok(Held::Live(session)),
        Err(flow) if flow.state_id() == StateId::Revoked => Ok(Held::Revoked),
        Err(other) => Err(CliError::not_a_session(other.api(), other.state_id(), verb)),
    }
}

/// Whether a revoke request reached the server, for a `Revoked` flow.
pub fn sent_request(flow: &Flow) -> Option<bool> {
    match flow {
        Flow::Realm(realm::State::Revoked(r)) | Flow::Ciam(ciam::State::Revoked(r)) => {
            Some(r.sent_request())
        }
        _ => None,
    }
}

/// Writes the session file for `flow`; a failure is reported in the flow's state.
pub fn save(path: &Path, endpoint: Endpoint, profile: Profile, flow: Flow) -> Result<(), CliError> {
    let state = flow.state_id();
    let saved = SavedSession {
        endpoint,
        profile,
        flow,
    };
    session::write(path, &saved).map_err(|e| CliError::from(e).in_state(state))
}
