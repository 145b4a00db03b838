//! The two backends behind one enum: in memory, and Redis. Both see sealed bytes only, and both
//! implement the same operations with the same outcomes; the Redis one does each operation as
//! one atomic Redis command (a plain command or a Lua script), the memory one under one mutex.
//!
//! Key layout (shared by both; `{id}` is a Redis Cluster hash tag, so one login's or one
//! session's keys live in one slot and a script may touch them together):
//!
//! | key                   | type   | holds                                              | expiry            |
//! |-----------------------|--------|----------------------------------------------------|-------------------|
//! | `lf:{id}:login`       | string | a sealed paused flow                               | the flow's own    |
//! | `lf:{id}:resuming`    | string | `1` while a taken login is being resumed           | the resume lease  |
//! | `lf:{id}:session`     | hash   | `v` (version, decimal), `s` (sealed session)       | the refresh token |
//! | `lf:{id}:lock`        | string | the refresh lock holder's random token             | the lock TTL      |

use std::time::Duration;

use crate::error::StoreError;
use crate::id::{LoginId, SessionId};

pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

/// The keys of one login.
#[derive(Debug, Clone)]
pub(crate) struct LoginKeys {
    pub login: String,
    pub resuming: String,
}

impl LoginKeys {
    pub fn new(id: &LoginId) -> Self {
        Self {
            login: format!("lf:{{{id}}}:login"),
            resuming: format!("lf:{{{id}}}:resuming"),
        }
    }
}

/// The keys of one session.
#[derive(Debug, Clone)]
pub(crate) struct SessionKeys {
    pub session: String,
    pub lock: String,
}

impl SessionKeys {
    pub fn new(id: &SessionId) -> Self {
        Self {
            session: format!("lf:{{{id}}}:session"),
            lock: format!("lf:{{{id}}}:lock"),
        }
    }
}

/// What taking a login found.
#[derive(Debug)]
pub(crate) enum Taken {
    /// The sealed flow; the login is now marked as being resumed.
    Value(Vec<u8>),
    /// No value, but the login is being resumed by someone else.
    Busy,
    /// Nothing.
    Missing,
}

/// What a versioned write did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    Done,
    /// The stored version is another one.
    Conflict,
    /// No session.
    Missing,
}

/// What trying the refresh lock found.
#[derive(Debug)]
pub(crate) enum Locked {
    /// Ours; the session as it was when the lock was taken.
    Held { version: u64, sealed: Vec<u8> },
    /// Someone else holds it.
    Busy,
    /// No session.
    Missing,
}

/// A stored session: its version and sealed bytes.
pub(crate) type StoredSession = (u64, Vec<u8>);

#[derive(Clone)]
pub(crate) enum Backend {
    Memory(std::sync::Arc<memory::Memory>),
    #[cfg(feature = "redis")]
    Redis(redis::RedisBackend),
}

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Backend::Memory(m) => m.$method($($arg),*),
            #[cfg(feature = "redis")]
            Backend::Redis(r) => r.$method($($arg),*).await,
        }
    };
}

impl Backend {
    /// Stores a new login unless the key is taken (SET NX PX). `false` when it was.
    pub async fn put_login(
        &self,
        keys: &LoginKeys,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        dispatch!(self.put_login(keys, sealed, ttl))
    }

    /// Takes a login (GETDEL) and marks it as being resumed for `lease` (at most its TTL).
    pub async fn take_login(&self, keys: &LoginKeys, lease: Duration) -> Result<Taken, StoreError> {
        dispatch!(self.take_login(keys, lease))
    }

    /// Puts a taken login back and clears the resuming mark.
    pub async fn put_back_login(
        &self,
        keys: &LoginKeys,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self.put_back_login(keys, sealed, ttl))
    }

    /// Clears the resuming mark (the login finished, for better or worse).
    pub async fn finish_login(&self, keys: &LoginKeys) -> Result<(), StoreError> {
        dispatch!(self.finish_login(keys))
    }

    /// Stores a new session at version 1 unless one exists. `false` when it does.
    pub async fn insert_session(
        &self,
        keys: &SessionKeys,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        dispatch!(self.insert_session(keys, sealed, ttl))
    }

    /// The stored session.
    pub async fn get_session(
        &self,
        keys: &SessionKeys,
    ) -> Result<Option<StoredSession>, StoreError> {
        dispatch!(self.get_session(keys))
    }

    /// Replaces the session with version `expected + 1` if it is at `expected`.
    pub async fn cas_session(
        &self,
        keys: &SessionKeys,
        expected: u64,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<Written, StoreError> {
        dispatch!(self.cas_session(keys, expected, sealed, ttl))
    }

    /// Takes the refresh lock (SET NX PX) and reads the session, in one step.
    pub async fn lock_session(
        &self,
        keys: &SessionKeys,
        token: &str,
        ttl: Duration,
    ) -> Result<Locked, StoreError> {
        dispatch!(self.lock_session(keys, token, ttl))
    }

    /// The fenced write: a compare-and-set on `fence`, then releases the lock if still ours.
    pub async fn write_fenced(
        &self,
        keys: &SessionKeys,
        fence: u64,
        token: &str,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<Written, StoreError> {
        dispatch!(self.write_fenced(keys, fence, token, sealed, ttl))
    }

    /// Deletes the session if still at `fence`, then releases the lock if still ours.
    pub async fn remove_fenced(
        &self,
        keys: &SessionKeys,
        fence: u64,
        token: &str,
    ) -> Result<Written, StoreError> {
        dispatch!(self.remove_fenced(keys, fence, token))
    }

    /// Releases the lock if still ours.
    pub async fn unlock(&self, keys: &SessionKeys, token: &str) -> Result<(), StoreError> {
        dispatch!(self.unlock(keys, token))
    }

    /// Deletes the session and its lock.
    pub async fn remove_session(&self, keys: &SessionKeys) -> Result<(), StoreError> {
        dispatch!(self.remove_session(keys))
    }
}
