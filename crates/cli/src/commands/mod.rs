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

use login_core::TokenSet;

use crate::args::ApiArg;
use crate::output::Outcome;
use crate::redact;

/// Unix seconds of an instant.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The outcome of a command that ends with tokens. Tokens appear only with `show_tokens`; they
/// are registered for redaction either way, so no error or progress line can carry them.
pub fn tokened_outcome(
    api: ApiArg,
    what: &str,
    tokens: &TokenSet,
    show_tokens: bool,
    session: Option<&Path>,
) -> Outcome {
    redact::register(tokens.access_token().expose());
    redact::register(tokens.refresh_token().expose());
    let now = SystemTime::now();
    let mut outcome = Outcome::new("Tokened").field("api", api.as_str());
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
