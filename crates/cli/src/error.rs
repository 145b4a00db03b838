//! A failed command, typed until the edge: commands and the engine adapter build a
//! [`CliError`] from what went wrong (login-core's error, a flag, a file, the session file);
//! only `output.rs` turns it into the JSON `error` object, the text line and the exit code.

use std::path::PathBuf;

use login_core::table::{Api, StateId};

use crate::files::LockFailure;
use crate::pending::PendingError;
use crate::session::{Ended, SessionError};

/// A failed command: what failed, and the state the flow was in (when there was a flow).
#[derive(Debug)]
pub struct CliError {
    failure: Failure,
    state: Option<StateId>,
}

/// What failed. Each variant has one JSON `kind` (or takes login-core's), so the kinds the CLI
/// prints cannot drift from one call site to another.
#[derive(Debug)]
pub enum Failure {
    /// A step of the flow failed: login-core's error (its kind, status and exit code).
    Engine(login_core::Error),
    /// A captcha answer the server refused, with nobody at a terminal to answer another one.
    CaptchaRefused(login_core::Error),
    /// A flag is missing or out of place, or an answer nobody can give (`usage`, exit 2).
    Usage(String),
    /// A file, a key, a secret or the environment is not usable (`config`, exit 2).
    Config(String),
    /// The session file cannot be read, used or written (`config`, exit 2).
    Session(SessionError),
    /// The session file holds a flow that is not a session (`config`, exit 2).
    NotASession {
        /// The flow's API.
        api: Api,
        /// The flow's state.
        state: StateId,
        /// What the command wanted to do with a session (`refresh`, `revoke`).
        verb: &'static str,
    },
    /// The session was revoked and cannot refresh (`session_revoked`, exit 2).
    SessionRevoked(PathBuf),
    /// The server ended the session earlier; the file says so (`session_ended`, exit 2).
    SessionEnded {
        /// The session file.
        path: PathBuf,
        /// How and when.
        ended: Ended,
    },
    /// The pending file cannot be read, used or written (`config`, exit 2).
    Pending(PendingError),
    /// The pending file's login was already finished (`pending_used`, exit 2).
    PendingUsed {
        /// The pending file.
        path: PathBuf,
        /// When it was used, Unix seconds.
        at: u64,
    },
    /// The pending file's flow expired on the server (`pending_expired`, exit 2).
    PendingExpired {
        /// The pending file.
        path: PathBuf,
        /// When it expired, Unix seconds.
        at: u64,
    },
    /// The server ended the pending file's flow (`pending_ended`, exit 2).
    PendingEnded {
        /// The pending file.
        path: PathBuf,
        /// How and when.
        ended: Ended,
    },
    /// A file's lock cannot be taken (`config`, exit 2).
    Lock(LockFailure),
    /// The run ended in another state than the command's goal (`unexpected_state`, exit 3).
    EndedElsewhere {
        /// The state the command runs to.
        expected: StateId,
    },
}

impl CliError {
    fn new(failure: Failure) -> Self {
        Self {
            failure,
            state: None,
        }
    }

    /// A usage error: a missing flag, a flag that cannot be used here.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Failure::Usage(message.into()))
    }

    /// A configuration error: unreadable files, bad keys, a missing secret.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Failure::Config(message.into()))
    }

    /// A step that failed with login-core's `error`.
    pub fn engine(error: login_core::Error) -> Self {
        Self::new(Failure::Engine(error))
    }

    /// The server refused the captcha answer (`error`) and nobody can give another.
    pub fn captcha_refused(error: login_core::Error) -> Self {
        Self::new(Failure::CaptchaRefused(error))
    }

    /// The session file holds a flow that is not a session to `verb`.
    pub fn not_a_session(api: Api, state: StateId, verb: &'static str) -> Self {
        Self::new(Failure::NotASession { api, state, verb })
    }

    /// The session in `path` was revoked.
    pub fn session_revoked(path: PathBuf) -> Self {
        Self::new(Failure::SessionRevoked(path)).in_state(StateId::Revoked)
    }

    /// The server ended the session in `path` earlier (the file says how and when).
    pub fn session_ended(path: PathBuf, ended: Ended) -> Self {
        Self::new(Failure::SessionEnded { path, ended }).in_state(StateId::Tokened)
    }

    /// The pending file `path` was used at `at`.
    pub fn pending_used(path: PathBuf, at: u64) -> Self {
        Self::new(Failure::PendingUsed { path, at })
    }

    /// The pending file `path` expired at `at`.
    pub fn pending_expired(path: PathBuf, at: u64, state: StateId) -> Self {
        Self::new(Failure::PendingExpired { path, at }).in_state(state)
    }

    /// The server ended the pending file's flow.
    pub fn pending_ended(path: PathBuf, ended: Ended) -> Self {
        Self::new(Failure::PendingEnded { path, ended })
    }

    /// A run that ended in `actual` instead of `expected`.
    pub fn ended_elsewhere(expected: StateId, actual: StateId) -> Self {
        Self::new(Failure::EndedElsewhere { expected }).in_state(actual)
    }

    /// Sets the state the flow was in.
    pub fn in_state(mut self, state: StateId) -> Self {
        self.state = Some(state);
        self
    }

    /// What failed.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// The state the flow was in, when there was a flow.
    pub fn state(&self) -> Option<StateId> {
        self.state
    }
}

impl From<SessionError> for CliError {
    fn from(error: SessionError) -> Self {
        Self::new(Failure::Session(error))
    }
}

impl From<PendingError> for CliError {
    fn from(error: PendingError) -> Self {
        Self::new(Failure::Pending(error))
    }
}

impl From<LockFailure> for CliError {
    fn from(error: LockFailure) -> Self {
        Self::new(Failure::Lock(error))
    }
}
