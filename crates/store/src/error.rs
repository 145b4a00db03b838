//! The store's errors.

use crate::seal::SealError;

/// Why a store operation failed.
///
/// ```
/// use login_store::StoreError;
/// assert_eq!(StoreError::Busy.http_status(), 409);
/// assert_eq!(StoreError::Unavailable { reason: "timeout".into() }.http_status(), 503);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer: connection refused or dropped, or no answer within the command
    /// timeout. Nothing is known about whether a write happened. A gateway answers 503.
    #[error("the login store is unavailable ({reason}); retry shortly")]
    Unavailable {
        /// What happened (no URL, no value).
        reason: String,
    },
    /// The login is being resumed by another request (taken and not yet put back or finished).
    /// A gateway answers 409.
    #[error("this login is being resumed by another request; retry after it finishes")]
    Busy,
    /// No such login or session: never stored, already taken and finished, or expired.
    #[error("no such login or session (never stored, finished, or expired)")]
    NotFound,
    /// Compare-and-set lost: the stored value is not the version this write expected (or the id
    /// is already in use). Read it again.
    #[error("the stored value changed since it was read; read it again")]
    Conflict,
    /// Sealing or opening the value failed.
    #[error(transparent)]
    Sealing(#[from] SealError),
    /// Redis refused the command (authentication, ACL, out of memory, read-only replica, ...).
    #[error("Redis refused the command ({category}); check the server's ACL, memory and role")]
    Refused {
        /// The error category or code Redis gave.
        category: String,
    },
    /// A stored value, or a Redis reply, has a shape this store never writes.
    #[error("the store holds or sent something this store never writes ({0})")]
    Corrupt(&'static str),
    /// The store URL is not usable.
    #[error(
        "the store URL is not usable ({0}); use redis://, rediss:// or redis+unix:// with the password in the URL"
    )]
    InvalidUrl(&'static str),
}

impl StoreError {
    /// The HTTP status a gateway answers with: 503 for `Unavailable`, 409 for `Busy` and
    /// `Conflict`, 404 for `NotFound`, 410 for an expired value, 500 for the rest.
    pub fn http_status(&self) -> u16 {
        match self {
            StoreError::Unavailable { .. } => 503,
            StoreError::Busy | StoreError::Conflict => 409,
            StoreError::NotFound => 404,
            StoreError::Sealing(SealError::Expired { .. }) => 410,
            _ => 500,
        }
    }
}
