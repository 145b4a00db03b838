//! `loginflow token --session FILE`: the bare access token on stdout, for
//! `curl -H "Authorization: Bearer $(loginflow token --session f)"`. The token is refreshed
//! first when it expires within 60 s, under the session file's lock (so parallel callers make
//! one refresh between them).

use std::time::Duration;

use super::refresh::{Refreshed, When, refresh_locked};
use crate::args::{SessionArgs, api_flag};
use crate::error::CliError;
use crate::output::Outcome;
use crate::progress::Reporter;
use crate::redact;
use crate::settings::Settings;

/// How close to its expiry an access token is refreshed before it is printed.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Runs `token`.
pub fn run(s: &Settings, args: &SessionArgs) -> Result<Outcome, CliError> {
    let mut reporter = Reporter::new(s.output);
    let (session, refreshed) = refresh_locked(
        s,
        &args.session,
        When::ExpiringWithin(REFRESH_MARGIN),
        &mut reporter,
    )?;
    let tokens = session.tokens();
    // Printed on purpose (stdout only); every other message still scrubs both tokens.
    redact::register(tokens.access_token().expose());
    redact::register(tokens.refresh_token().expose());
    let mut outcome = Outcome::new("Tokened")
        .field("api", api_flag(session.api()))
        .field("accessToken", tokens.access_token().expose())
        .field("refreshed", refreshed == Refreshed::Rotated)
        .line(tokens.access_token().expose());
    if let Some(at) = tokens.expires_at() {
        outcome = outcome.field("expiresAt", super::unix_secs(at));
    }
    if let Some(t) = tokens.token_type() {
        outcome = outcome.field("tokenType", t);
    }
    Ok(outcome)
}
