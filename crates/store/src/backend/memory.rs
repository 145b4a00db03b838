//! The in-memory backend: the Redis data model (strings and a hash per key, each with an expiry)
//! in a map under one mutex, each operation the same steps as its Redis script. For one process
//! (tests, a single instance, development); nothing survives a restart.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Locked, LoginKeys, SessionKeys, StoredSession, Taken, Written};
use crate::error::StoreError;

/// Writes between two sweeps of expired entries.
const SWEEP_EVERY: u32 = 1024;

enum Value {
    Bytes(Vec<u8>),
    Session { version: u64, sealed: Vec<u8> },
}

struct Slot {
    value: Value,
    until: Instant,
}

#[derive(Default)]
struct State {
    slots: HashMap<String, Slot>,
    writes: u32,
}

impl State {
    /// The live slot at `key`, dropping it if expired.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Slot> {
        if self.slots.get(key).is_some_and(|s| s.until <= now) {
            self.slots.remove(key);
        }
        self.slots.get_mut(key)
    }

    fn set(&mut self, key: &str, value: Value, ttl: Duration, now: Instant) {
        self.writes = self.writes.wrapping_add(1);
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.slots.retain(|_, s| s.until > now);
        }
        self.slots.insert(
            key.to_owned(),
            Slot {
                value,
                until: now + ttl.max(Duration::from_millis(1)),
            },
        );
    }

    fn bytes(&mut self, key: &str, now: Instant) -> Option<&[u8]> {
        match self.live(key, now) {
            Some(Slot {
                value: Value::Bytes(b),
                ..
            }) => Some(b),
            _ => None,
        }
    }

    fn version(&mut self, key: &str, now: Instant) -> Option<u64> {
        match self.live(key, now) {
            Some(Slot {
                value: Value::Session { version, .. },
                ..
            }) => Some(*version),
            _ => None,
        }
    }

    fn release(&mut self, lock: &str, token: &str, now: Instant) {
        if self.bytes(lock, now) == Some(token.as_bytes()) {
            self.slots.remove(lock);
        }
    }
}

#[derive(Default)]
pub(crate) struct Memory {
    state: Mutex<State>,
}

impl Memory {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-done operation behind (each one
        // finishes its map writes before anything can panic), so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn put_login(
        &self,
        keys: &LoginKeys,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut s = self.state();
        if s.live(&keys.login, now).is_some() {
            return Ok(false);
        }
        s.set(&keys.login, Value::Bytes(sealed.to_vec()), ttl, now);
        Ok(true)
    }

    pub fn take_login(&self, keys: &LoginKeys, lease: Duration) -> Result<Taken, StoreError> {
        let now = Instant::now();
        let mut s = self.state();
        match s.live(&keys.login, now).map(|slot| slot.until) {
            Some(until) => {
                let Some(Slot {
                    value: Value::Bytes(sealed),
                    ..
                }) = s.slots.remove(&keys.login)
                else {
                    return Err(StoreError::Corrupt("a login key holds a session"));
                };
                let lease = lease.min(until.saturating_duration_since(now));
                s.set(&keys.resuming, Value::Bytes(b"1".to_vec()), lease, now);
                Ok(Taken::Value(sealed))
            }
            None if s.live(&keys.resuming, now).is_some() => Ok(Taken::Busy),
            None => Ok(Taken::Missing),
        }
    }

    pub fn put_back_login(
        &self,
        keys: &LoginKeys,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut s = self.state();
        s.set(&keys.login, Value::Bytes(sealed.to_vec()), ttl, now);
        s.slots.remove(&keys.resuming);
        Ok(())
    }

    pub fn finish_login(&self, keys: &LoginKeys) -> Result<(), StoreError> {
        self.state().slots.remove(&keys.resuming);
        Ok(())
    }

    pub fn insert_session(
        &self,
        keys: &SessionKeys,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut s = self.state();
        if s.live(&keys.session, now).is_some() {
            return Ok(false);
        }
        let value = Value::Session {
            version: 1,
            sealed: sealed.to_vec(),
        };
        s.set(&keys.session, value, ttl, now);
        Ok(true)
    }

    pub fn get_session(&self, keys: &SessionKeys) -> Result<Option<StoredSession>, StoreError> {
        let now = Instant::now();
        let mut s = self.state();
        match s.live(&keys.session, now) {
            Some(Slot {
                value: Value::Session { version, sealed },
                ..
            }) => Ok(Some((*version, sealed.clone()))),
            Some(_) => Err(StoreError::Corrupt("a session key holds a string")),
            None => Ok(None),
        }
    }

    pub fn cas_session(
        &self,
        keys: &SessionKeys,
        expected: u64,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<Written, StoreError> {
        let now = Instant::now();
        let mut s = self.state();
        Ok(cas(&mut s, &keys.session, expected, sealed, ttl, now))
    }

    pub fn lock_session(
        &self,
        keys: &SessionKeys,
        token: &str,
        ttl: Duration,
    ) -> Result<Locked, StoreError> {
        let now = Instant::now();
        let mut s = self.state();
        let Some((version, sealed)) = (match s.live(&keys.session, now) {
            Some(Slot {
                value: Value::Session { version, sealed },
                ..
            }) => Some((*version, sealed.clone())),
            _ => None,
        }) else {
            return Ok(Locked::Missing);
        };
        if s.live(&keys.lock, now).is_some() {
            return Ok(Locked::Busy);
        }
        s.set(
            &keys.lock,
            Value::Bytes(token.as_bytes().to_vec()),
            ttl,
            now,
        );
        Ok(Locked::Held { version, sealed })
    }

    pub fn write_fenced(
        &self,
        keys: &SessionKeys,
        fence: u64,
        token: &str,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<Written, StoreError> {
        let now = Instant::now();
        let mut s = self.state();
        let written = cas(&mut s, &keys.session, fence, sealed, ttl, now);
        s.release(&keys.lock, token, now);
        Ok(written)
    }

    pub fn remove_fenced(
        &self,
        keys: &SessionKeys,
        fence: u64,
        token: &str,
    ) -> Result<Written, StoreError> {
        let now = Instant::now();
        let mut s = self.state();
        let written = match s.version(&keys.session, now) {
            None => Written::Missing,
            Some(v) if v != fence => Written::Conflict,
            Some(_) => {
                s.slots.remove(&keys.session);
                Written::Done
            }
        };
        s.release(&keys.lock, token, now);
        Ok(written)
    }

    pub fn unlock(&self, keys: &SessionKeys, token: &str) -> Result<(), StoreError> {
        let now = Instant::now();
        self.state().release(&keys.lock, token, now);
        Ok(())
    }

    pub fn remove_session(&self, keys: &SessionKeys) -> Result<(), StoreError> {
        let mut s = self.state();
        s.slots.remove(&keys.session);
        s.slots.remove(&keys.lock);
        Ok(())
    }
}

fn cas(
    s: &mut State,
    key: &str,
    expected: u64,
    sealed: &[u8],
    ttl: Duration,
    now: Instant,
) -> Written {
    match s.version(key, now) {
        None => Written::Missing,
        Some(v) if v != expected => Written::Conflict,
        Some(v) => {
            let value = Value::Session {
                version: v + 1,
                sealed: sealed.to_vec(),
            };
            s.set(key, value, ttl, now);
            Written::Done
        }
    }
}
