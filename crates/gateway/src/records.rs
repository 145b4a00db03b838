//! The username of an internet-banking login paused at its captcha, kept beside the sealed flow.
//!
//! The captcha answer goes to the bank with the credentials again, and no internet-banking
//! state holds them (by design: the password is never stored). The client re-sends the
//! password with the answer; the username (not secret) is kept here, under
//! `lf:{id}:user` in the login's own hash slot, sealed with the store's keyring and bound to
//! that key, for the login's lifetime (login-store keeps flows only, so the gateway keeps this
//! record itself).
//!
//! Memory or Redis, like the store. Every Redis command is bounded by the store's command
//! timeout and fails as [`StoreError::Unavailable`] past it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use login_store::seal::Keyring;
use login_store::{LoginId, Store, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Sealed records by key, each with the instant it expires.
type MemoryRecords = Arc<Mutex<HashMap<String, (Vec<u8>, Instant)>>>;

/// Where the records live.
#[derive(Clone)]
pub(crate) enum Records {
    Memory(MemoryRecords),
    Redis {
        conn: ConnectionManager,
        timeout: Duration,
    },
}

fn key(id: &LoginId) -> String {
    format!("lf:{{{id}}}:user")
}

impl Records {
    pub(crate) fn memory() -> Self {
        Records::Memory(Arc::default())
    }

    /// A Redis connection of its own (login-store's is private to it).
    pub(crate) async fn redis(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|_| {
            StoreError::InvalidUrl("not a redis://, rediss:// or redis+unix:// URL")
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_millis(500));
        let conn = bounded(timeout, client.get_connection_manager_with_config(config)).await?;
        Ok(Records::Redis { conn, timeout })
    }

    /// Keeps `username` for the login `id` for `ttl`.
    pub(crate) async fn put(
        &self,
        store: &Store,
        id: &LoginId,
        username: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = key(id);
        let sealed = seal(store.keyring(), &key, store.options().now() + ttl, username)?;
        match self {
            Records::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                // Expired entries go on each write, so the map stays bounded by live logins.
                map.retain(|_, (_, until)| *until > now);
                map.insert(key, (sealed, now + ttl));
                Ok(())
            }
            Records::Redis { conn, timeout } => {
                let mut cmd = redis::cmd("SET");
                cmd.arg(&key)
                    .arg(sealed)
                    .arg("PX")
                    .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
                let mut conn = conn.clone();
                bounded(*timeout, cmd.query_async::<()>(&mut conn)).await
            }
        }
    }

    /// The username kept for `id`, if any.
    pub(crate) async fn get(
        &self,
        store: &Store,
        id: &LoginId,
    ) -> Result<Option<String>, StoreError> {
        let key = key(id);
        let sealed: Option<Vec<u8>> = match self {
            Records::Memory(map) => {
                let map = map.lock().unwrap_or_else(PoisonError::into_inner);
                map.get(&key)
                    .filter(|(_, until)| *until > Instant::now())
                    .map(|(v, _)| v.clone())
            }
            Records::Redis { conn, timeout } => {
                let mut cmd = redis::cmd("GET");
                cmd.arg(&key);
                let mut conn = conn.clone();
                bounded(*timeout, cmd.query_async(&mut conn)).await?
            }
        };
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let opened = store
            .keyring()
            .open(key.as_bytes(), store.options().now(), &sealed)
            .map_err(StoreError::Sealing)?;
        String::from_utf8(opened.plaintext().to_vec())
            .map(Some)
            .map_err(|_| StoreError::Corrupt("a username record that is not UTF-8"))
    }

    /// Drops the record of `id` (the login moved past its captcha, or ended).
    pub(crate) async fn remove(&self, id: &LoginId) -> Result<(), StoreError> {
        let key = key(id);
        match self {
            Records::Memory(map) => {
                map.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
                Ok(())
            }
            Records::Redis { conn, timeout } => {
                let mut cmd = redis::cmd("DEL");
                cmd.arg(&key);
                let mut conn = conn.clone();
                bounded(*timeout, cmd.query_async::<()>(&mut conn)).await
            }
        }
    }
}

fn seal(
    keyring: &Keyring,
    key: &str,
    until: SystemTime,
    username: &str,
) -> Result<Vec<u8>, StoreError> {
    keyring
        .seal(key.as_bytes(), until, username.as_bytes())
        .map_err(StoreError::Sealing)
}

async fn bounded<T>(
    timeout: Duration,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, call).await {
        Err(_) => Err(StoreError::Unavailable {
            reason: format!("no answer within {timeout:?}"),
        }),
        Ok(Err(e)) => {
            tracing::warn!(category = e.category(), "Redis failed (username records)");
            Err(StoreError::Unavailable {
                reason: e.category().to_owned(),
            })
        }
        Ok(Ok(v)) => Ok(v),
    }
}
