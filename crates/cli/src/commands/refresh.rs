//! `loginflow refresh --session FILE`: rotates the tokens and rewrites the file, under the
//! file's lock. Parallel refreshes of one file make one request: a process that finds the file
//! rewritten since it first read it (another process refreshed while it waited for the lock)
//! takes those tokens instead of spending the rotated refresh token a second time, which the
//! server's reuse detection would punish by revoking the session.

use std::path::Path;
use std::time::{Duration, SystemTime};

use login_core::{Flow, Session};

use super::{Held, LockedSession};
use crate::args::{RefreshArgs, api_flag};
use crate::engine::{Client, Halt};
use crate::error::CliError;
use crate::output::Outcome;
use crate::progress::Reporter;
use crate::settings::{self, Settings};

/// The test-only environment variable that aborts a refresh between the server's answer and
/// the write (the crash test). Never set it outside tests.
pub const CRASH_AFTER_REFRESH_ENV: &str = "LOGINFLOW_TEST_CRASH_AFTER_REFRESH";

/// When to refresh.
#[derive(Debug, Clone, Copy)]
pub enum When {
    /// Now, unless another process refreshed since this one started (`refresh`).
    Always,
    /// Only when the access token expires within this margin (`token`).
    ExpiringWithin(Duration),
}

/// What a locked refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// This process rotated the tokens.
    Rotated,
    /// Another process rotated them a moment ago; its tokens are used.
    ByAnother,
    /// The tokens were fresh enough: nothing sent.
    NotNeeded,
}

/// Reads the session file under its lock, refreshes it `when` asked, writes it back, and gives
/// the session. A session the server ends is marked ended in the file.
pub fn refresh_locked(
    s: &Settings,
    path: &Path,
    when: When,
    reporter: &mut Reporter,
) -> Result<(Session, Refreshed), CliError> {
    let mut locked = LockedSession::open(path, reporter)?;
    if let Some(ended) = locked.file.ended.clone() {
        return Err(CliError::session_ended(path.to_path_buf(), ended));
    }
    let saved = locked.file.saved.clone();
    let (endpoint, profile) = settings::with_overrides(saved.endpoint, saved.profile, s)?;
    let transport = crate::tape::wire(s, &endpoint)?;
    let Held::Live(session) = super::held(saved.flow, "refresh")? else {
        return Err(CliError::session_revoked(path.to_path_buf()));
    };
    match when {
        When::Always if locked.changed_while_waiting => {
            return Ok((session, Refreshed::ByAnother));
        }
        When::ExpiringWithin(margin) if !session.needs_refresh(SystemTime::now(), margin) => {
            return Ok((session, Refreshed::NotNeeded));
        }
        _ => {}
    }
    let outcome = Client::new(&transport).refresh(&profile, session, &mut |e| reporter.event(e));
    match outcome {
        Ok(session) => {
            // The server has rotated the tokens; a crash from here to the rename leaves the
            // old file whole (the crash test stops the process exactly here).
            crate::files::test_crash_point(CRASH_AFTER_REFRESH_ENV);
            locked.write(endpoint, profile, Flow::from(session.clone()))?;
            Ok((session, Refreshed::Rotated))
        }
        Err(Halt::Failed {
            error,
            ended: Some(kind),
            ..
        }) => {
            // Kept, with the server's verdict beside it: later commands say so at once.
            locked.mark_ended(kind)?;
            Err(error)
        }
        Err(halt) => Err(halt.into_error()),
    }
}

/// Runs `refresh`.
pub fn run(s: &Settings, args: &RefreshArgs) -> Result<Outcome, CliError> {
    let mut reporter = Reporter::new(s.output);
    let (session, refreshed) = refresh_locked(s, &args.session, When::Always, &mut reporter)?;
    let api = session.api();
    let what = match refreshed {
        Refreshed::ByAnother => format!(
            "tokens rotated a moment ago by another loginflow process ({} API)",
            api_flag(api)
        ),
        _ => format!("tokens rotated ({} API)", api_flag(api)),
    };
    let mut outcome = super::tokened_outcome(
        api,
        &what,
        session.tokens(),
        args.show_tokens,
        Some(&args.session),
    );
    if refreshed == Refreshed::ByAnother {
        outcome = outcome.field("rotatedByAnother", true);
    }
    Ok(outcome)
}
