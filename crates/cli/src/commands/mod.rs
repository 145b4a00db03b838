//! One file per subcommand.

pub mod demo;
pub mod diagram;
pub mod forgot_password;
pub mod login;
pub mod probe;
pub mod refresh;
pub mod resume;
pub mod revoke;
pub mod sandbox;
pub mod status;
pub mod token;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use login_core::table::{Api, StateId};
use login_core::{Flow, Profile, Session, TokenSet, ciam, realm};
use zeroize::Zeroizing;

use crate::args::api_flag;
use crate::error::CliError;
use crate::files::FileLock;
use crate::output::Outcome;
use crate::progress::Reporter;
use crate::redact;
use crate::session::{self, Endpoint, SavedSession, SessionFile};

/// Unix seconds of an instant.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Unix seconds as UTC, `2026-05-01T12:00:00Z`.
pub fn utc(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A session file read under its lock: the lock is held until this is dropped, so the read,
/// the call and the write that follow are one step to every other loginflow process.
pub struct LockedSession {
    /// The file.
    pub path: PathBuf,
    /// What it holds.
    pub file: SessionFile,
    /// Whether another process rewrote the file since this one first read it (it refreshed,
    /// revoked or marked the session ended while this one started or waited for the lock).
    pub changed_while_waiting: bool,
    _lock: FileLock,
}

impl LockedSession {
    /// Locks the session file `path` and reads it. The file is read once before waiting for
    /// the lock and again after: if it changed meanwhile, another process did the work.
    pub fn open(path: &Path, reporter: &mut Reporter) -> Result<Self, CliError> {
        let before: Option<Zeroizing<Vec<u8>>> = session::read_bytes(path).ok();
        let lock = FileLock::acquire(path, || {
            reporter.waiting_for_lock(&path.display().to_string())
        })?;
        let bytes = session::read_bytes(path)?;
        // Compared whether or not this process had to wait: another may have finished and
        // released the lock between this process's first read and its lock.
        let changed_while_waiting = before
            .as_ref()
            .is_some_and(|b| b.as_slice() != bytes.as_slice());
        let file = session::decode_file(&bytes)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            changed_while_waiting,
            _lock: lock,
        })
    }

    /// Rewrites the file with `flow` (and the endpoint and profile it ran with); the username
    /// is kept, `ended` cleared.
    pub fn write(
        &mut self,
        endpoint: Endpoint,
        profile: Profile,
        flow: Flow,
    ) -> Result<(), CliError> {
        let state = flow.state_id();
        self.file.saved = SavedSession {
            endpoint,
            profile,
            flow,
        };
        self.file.ended = None;
        session::write_file(&self.path, &self.file).map_err(|e| CliError::from(e).in_state(state))
    }

    /// Marks the session ended by the server (`kind`), keeping everything else.
    pub fn mark_ended(&mut self, kind: login_core::ErrorKind) -> Result<(), CliError> {
        self.file.ended = Some(session::Ended {
            kind: kind.as_str().to_owned(),
            at: unix_secs(SystemTime::now()),
        });
        session::write_file(&self.path, &self.file).map_err(CliError::from)
    }
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

/// Writes a new session file for `flow` (a login) under the file's lock; a failure is
/// reported in the flow's state.
pub fn save(
    path: &Path,
    endpoint: Endpoint,
    profile: Profile,
    flow: Flow,
    username: &str,
) -> Result<(), CliError> {
    let state = flow.state_id();
    let _lock = FileLock::acquire(path, || {})?;
    let file = SessionFile {
        saved: SavedSession {
            endpoint,
            profile,
            flow,
        },
        username: Some(username.to_owned()),
        ended: None,
    };
    session::write_file(path, &file).map_err(|e| CliError::from(e).in_state(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_unix_seconds() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
