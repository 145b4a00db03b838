//! `loginflow status --session FILE`: whose session a file holds, which API and server, when
//! its tokens expire, and whether it was revoked or ended by the server. Reads the file only:
//! nothing is sent, nothing secret is printed.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::{Held, unix_secs, utc};
use crate::args::{SessionArgs, api_flag};
use crate::error::CliError;
use crate::output::Outcome;
use crate::session;
use crate::settings::{Settings, shown_url};

/// `at` relative to `now`: "in 250 s" or "12 s ago".
fn relative(at: u64, now: u64) -> String {
    if at >= now {
        format!("in {} s", at - now)
    } else {
        format!("{} s ago", now - at)
    }
}

/// Runs `status`.
pub fn run(_s: &Settings, args: &SessionArgs) -> Result<Outcome, CliError> {
    let file = session::read_file(&args.session)?;
    let api = api_flag(file.saved.profile.api());
    let now = unix_secs(SystemTime::now());
    let who = file.username.clone();
    let base_url = shown_url(&file.saved.endpoint.base_url);
    let state = file.saved.flow.state_id();
    let held = super::held(file.saved.flow, "show")?;
    let mut outcome = Outcome::new(state.as_str())
        .field("api", api)
        .field("session", args.session.display().to_string())
        .field("username", who.clone().map_or(Value::Null, Value::from))
        .field("baseUrl", base_url.as_str());
    outcome = outcome.line(format!(
        "session {}: {} on the {api} API at {base_url}",
        args.session.display(),
        who.as_deref().unwrap_or("(user not recorded)"),
    ));
    let ended = file.ended.clone();
    outcome = outcome.field(
        "ended",
        ended
            .as_ref()
            .map_or(Value::Null, |e| json!({"kind": e.kind, "at": e.at})),
    );
    let live = match held {
        Held::Revoked => {
            outcome = outcome.line("revoked: the file holds no tokens; log in again");
            false
        }
        Held::Live(session) => {
            let tokens = session.tokens();
            if let Some(at) = tokens.expires_at().map(unix_secs) {
                let word = if at > now { "expires" } else { "expired" };
                outcome = outcome.field("expiresAt", at).line(format!(
                    "access token {word} {} ({})",
                    utc(at),
                    relative(at, now)
                ));
            }
            if let Some(at) = tokens.refresh_expires_at().map(unix_secs) {
                let word = if at > now { "expires" } else { "expired" };
                outcome = outcome.field("refreshExpiresAt", at).line(format!(
                    "refresh token {word} {} ({})",
                    utc(at),
                    relative(at, now)
                ));
            }
            if let Some(scope) = tokens.scope() {
                outcome = outcome.field("scope", scope);
            }
            match &ended {
                Some(e) => {
                    outcome = outcome.line(format!(
                        "ended: the server refused the session ({}) at {}; log in again",
                        e.kind,
                        utc(e.at)
                    ));
                    false
                }
                None => {
                    let refreshable = tokens
                        .refresh_expires_at()
                        .is_none_or(|at| unix_secs(at) > now);
                    outcome = outcome.line(if refreshable {
                        "live: `loginflow token` refreshes it when needed"
                    } else {
                        "the refresh token has expired; log in again"
                    });
                    refreshable
                }
            }
        }
    };
    Ok(outcome
        .field("revoked", state == login_core::table::StateId::Revoked)
        .field("live", live))
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn relative_times_read_both_ways() {
        assert_eq!(relative(110, 100), "in 10 s");
        assert_eq!(relative(90, 100), "10 s ago");
    }
}
