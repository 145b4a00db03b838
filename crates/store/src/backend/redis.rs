//! The Redis backend: a `redis` crate `ConnectionManager` on tokio (one multiplexed connection,
//! reconnected in the background after a failure), every command bounded by the command
//! timeout. Every operation is one Redis command, so Redis alone makes it atomic: `SET NX PX`,
//! `HMGET`, `DEL`, or one of the Lua scripts below (each touches the keys of one id only, all in
//! one hash-tag slot).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RedisResult, Script, Value};

use super::{Locked, LoginKeys, SessionKeys, StoredSession, Taken, Written};
use crate::error::StoreError;

/// Take a login: GETDEL it and, if it was there, mark it as being resumed for the lease (at most
/// the login's remaining TTL). `{1, sealed}` taken, `{2}` busy (being resumed), `{0}` missing.
/// KEYS: login, resuming. ARGV: lease in ms.
pub const TAKE_LOGIN: &str = r"
local ttl = redis.call('PTTL', KEYS[1])
local v = redis.call('GETDEL', KEYS[1])
if v then
  local lease = tonumber(ARGV[1])
  if ttl > 0 and ttl < lease then lease = ttl end
  redis.call('SET', KEYS[2], '1', 'PX', lease)
  return {1, v}
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {2} end
return {0}
";

/// Put a taken login back and clear its resuming mark.
/// KEYS: login, resuming. ARGV: sealed, TTL in ms.
pub const PUT_BACK_LOGIN: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
";

/// Insert a session at version 1 unless one exists: 1 inserted, 0 exists.
/// KEYS: session. ARGV: sealed, TTL in ms.
pub const INSERT_SESSION: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', '1', 's', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// The versioned write (compare-and-set, and the fenced write): replace the session if its
/// version is `expected`, then release the lock if the token still holds it (the plain
/// compare-and-set passes an empty token, which never does). 1 written, 0 conflict, -1 missing.
/// KEYS: session, lock. ARGV: expected, next version, sealed, TTL in ms, lock token.
pub const VERSIONED_WRITE: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
local r
if not v then r = -1
elseif v ~= ARGV[1] then r = 0
else
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  r = 1
end
if ARGV[5] ~= '' and redis.call('GET', KEYS[2]) == ARGV[5] then redis.call('DEL', KEYS[2]) end
return r
";

/// Take the refresh lock and read the session in one step: `{1, version, sealed}` locked, `{2}`
/// held by someone else, `{0}` no session. KEYS: session, lock. ARGV: token, TTL in ms.
pub const LOCK_SESSION: &str = r"
local s = redis.call('HMGET', KEYS[1], 'v', 's')
if not s[1] then return {0} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, s[1], s[2]} end
return {2}
";

/// Delete the session if still at the fence, then release the lock if ours.
/// 1 deleted, 0 conflict, -1 missing. KEYS: session, lock. ARGV: fence, token.
pub const REMOVE_FENCED: &str = r"
local v = redis.call('HGET', KEYS[1], 'v')
local r
if not v then r = -1
elseif v ~= ARGV[1] then r = 0
else redis.call('DEL', KEYS[1]); r = 1 end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return r
";

/// Release the lock if the token still holds it. KEYS: lock. ARGV: token.
pub const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

struct Scripts {
    take_login: Script,
    put_back_login: Script,
    insert_session: Script,
    versioned_write: Script,
    lock_session: Script,
    remove_fenced: Script,
    unlock: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            take_login: Script::new(TAKE_LOGIN),
            put_back_login: Script::new(PUT_BACK_LOGIN),
            insert_session: Script::new(INSERT_SESSION),
            versioned_write: Script::new(VERSIONED_WRITE),
            lock_session: Script::new(LOCK_SESSION),
            remove_fenced: Script::new(REMOVE_FENCED),
            unlock: Script::new(UNLOCK),
        }
    }
}

/// Reconnection attempts per outage detection (each failed command starts a new round).
const RECONNECT_RETRIES: usize = 3;
/// The longest pause between two reconnection attempts.
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub(crate) struct RedisBackend {
    conn: ConnectionManager,
    timeout: Duration,
    scripts: Arc<Scripts>,
}

impl RedisBackend {
    /// Connects (within the command timeout). TLS (`rediss://`) and AUTH (`user:password@`, or
    /// `?pass=` for `redis+unix://`) come from the URL.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|_| {
            StoreError::InvalidUrl("not a redis://, rediss:// or redis+unix:// URL")
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let conn = bounded(
            timeout,
            "connect",
            client.get_connection_manager_with_config(config),
        )
        .await?;
        Ok(Self {
            conn,
            timeout,
            scripts: Arc::new(Scripts::new()),
        })
    }

    async fn script(
        &self,
        what: &'static str,
        script: &Script,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<Value, StoreError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.conn.clone();
        bounded(self.timeout, what, invocation.invoke_async(&mut conn)).await
    }

    async fn command(&self, what: &'static str, cmd: &redis::Cmd) -> Result<Value, StoreError> {
        let mut conn = self.conn.clone();
        bounded(self.timeout, what, cmd.query_async(&mut conn)).await
    }

    pub async fn put_login(
        &self,
        keys: &LoginKeys,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(&keys.login)
            .arg(sealed)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl));
        match self.command("put login", &cmd).await? {
            Value::Okay => Ok(true),
            Value::Nil => Ok(false),
            _ => Err(StoreError::Corrupt("SET NX reply")),
        }
    }

    pub async fn take_login(&self, keys: &LoginKeys, lease: Duration) -> Result<Taken, StoreError> {
        let lease = ttl_millis(lease).to_string();
        let reply = self
            .script(
                "take login",
                &self.scripts.take_login,
                &[&keys.login, &keys.resuming],
                &[lease.as_bytes()],
            )
            .await?;
        match tagged(reply)? {
            (1, mut rest) if rest.len() == 1 => Ok(Taken::Value(bulk(rest.remove(0))?)),
            (2, _) => Ok(Taken::Busy),
            (0, _) => Ok(Taken::Missing),
            _ => Err(StoreError::Corrupt("take reply")),
        }
    }

    pub async fn put_back_login(
        &self,
        keys: &LoginKeys,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let ttl = ttl_millis(ttl).to_string();
        self.script(
            "put back login",
            &self.scripts.put_back_login,
            &[&keys.login, &keys.resuming],
            &[sealed, ttl.as_bytes()],
        )
        .await
        .map(drop)
    }

    pub async fn finish_login(&self, keys: &LoginKeys) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&keys.resuming);
        self.command("finish login", &cmd).await.map(drop)
    }

    pub async fn insert_session(
        &self,
        keys: &SessionKeys,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let ttl = ttl_millis(ttl).to_string();
        let reply = self
            .script(
                "insert session",
                &self.scripts.insert_session,
                &[&keys.session],
                &[sealed, ttl.as_bytes()],
            )
            .await?;
        Ok(int(&reply)? == 1)
    }

    pub async fn get_session(
        &self,
        keys: &SessionKeys,
    ) -> Result<Option<StoredSession>, StoreError> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(&keys.session).arg("v").arg("s");
        let Value::Array(mut fields) = self.command("get session", &cmd).await? else {
            return Err(StoreError::Corrupt("HMGET reply"));
        };
        if fields.len() != 2 {
            return Err(StoreError::Corrupt("HMGET reply"));
        }
        let sealed = fields.remove(1);
        match (fields.remove(0), sealed) {
            (Value::Nil, _) => Ok(None),
            (version, sealed) => Ok(Some((version_of(version)?, bulk(sealed)?))),
        }
    }

    async fn versioned_write(
        &self,
        keys: &SessionKeys,
        expected: u64,
        token: &str,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<Written, StoreError> {
        let expected_text = expected.to_string();
        let next = expected
            .checked_add(1)
            .ok_or(StoreError::Corrupt("version overflow"))?
            .to_string();
        let ttl = ttl_millis(ttl).to_string();
        let reply = self
            .script(
                "write session",
                &self.scripts.versioned_write,
                &[&keys.session, &keys.lock],
                &[
                    expected_text.as_bytes(),
                    next.as_bytes(),
                    sealed,
                    ttl.as_bytes(),
                    token.as_bytes(),
                ],
            )
            .await?;
        written(&reply)
    }

    pub async fn cas_session(
        &self,
        keys: &SessionKeys,
        expected: u64,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<Written, StoreError> {
        self.versioned_write(keys, expected, "", sealed, ttl).await
    }

    pub async fn lock_session(
        &self,
        keys: &SessionKeys,
        token: &str,
        ttl: Duration,
    ) -> Result<Locked, StoreError> {
        let ttl = ttl_millis(ttl).to_string();
        let reply = self
            .script(
                "lock session",
                &self.scripts.lock_session,
                &[&keys.session, &keys.lock],
                &[token.as_bytes(), ttl.as_bytes()],
            )
            .await?;
        match tagged(reply)? {
            (1, mut rest) if rest.len() == 2 => {
                let sealed = bulk(rest.remove(1))?;
                let version = version_of(rest.remove(0))?;
                Ok(Locked::Held { version, sealed })
            }
            (2, _) => Ok(Locked::Busy),
            (0, _) => Ok(Locked::Missing),
            _ => Err(StoreError::Corrupt("lock reply")),
        }
    }

    pub async fn write_fenced(
        &self,
        keys: &SessionKeys,
        fence: u64,
        token: &str,
        sealed: &[u8],
        ttl: Duration,
    ) -> Result<Written, StoreError> {
        self.versioned_write(keys, fence, token, sealed, ttl).await
    }

    pub async fn remove_fenced(
        &self,
        keys: &SessionKeys,
        fence: u64,
        token: &str,
    ) -> Result<Written, StoreError> {
        let fence = fence.to_string();
        let reply = self
            .script(
                "remove session",
                &self.scripts.remove_fenced,
                &[&keys.session, &keys.lock],
                &[fence.as_bytes(), token.as_bytes()],
            )
            .await?;
        written(&reply)
    }

    pub async fn unlock(&self, keys: &SessionKeys, token: &str) -> Result<(), StoreError> {
        self.script(
            "unlock session",
            &self.scripts.unlock,
            &[&keys.lock],
            &[token.as_bytes()],
        )
        .await
        .map(drop)
    }

    pub async fn remove_session(&self, keys: &SessionKeys) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&keys.session).arg(&keys.lock);
        self.command("remove session", &cmd).await.map(drop)
    }
}

/// Runs one Redis call within `timeout`; a late answer or a connection failure is
/// [`StoreError::Unavailable`], a refusal [`StoreError::Refused`].
async fn bounded<T>(
    timeout: Duration,
    what: &'static str,
    call: impl Future<Output = RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, call).await {
        Err(_) => {
            tracing::warn!(operation = what, ?timeout, "Redis did not answer in time");
            Err(StoreError::Unavailable {
                reason: format!("no answer within {timeout:?} to {what}"),
            })
        }
        Ok(Err(e)) => Err(classify(&e, what)),
        Ok(Ok(value)) => Ok(value),
    }
}

fn classify(e: &RedisError, what: &'static str) -> StoreError {
    use redis::{ErrorKind, ServerErrorKind};
    let unavailable = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                )
        );
    if unavailable {
        tracing::warn!(
            operation = what,
            category = e.category(),
            "Redis is unavailable"
        );
        StoreError::Unavailable {
            reason: format!("{} during {what}", e.category()),
        }
    } else {
        // Only the category and code: a server's detail text may quote script source.
        let category = match e.code() {
            Some(code) => format!("{} ({code})", e.category()),
            None => e.category().to_owned(),
        };
        tracing::warn!(operation = what, %category, "Redis refused a command");
        StoreError::Refused { category }
    }
}

/// A script reply `{tag, ...}`.
fn tagged(reply: Value) -> Result<(i64, Vec<Value>), StoreError> {
    let Value::Array(mut items) = reply else {
        return Err(StoreError::Corrupt("script reply is not an array"));
    };
    if items.is_empty() {
        return Err(StoreError::Corrupt("empty script reply"));
    }
    let tag = int(&items.remove(0))?;
    Ok((tag, items))
}

fn int(value: &Value) -> Result<i64, StoreError> {
    match value {
        Value::Int(i) => Ok(*i),
        _ => Err(StoreError::Corrupt("expected an integer reply")),
    }
}

fn bulk(value: Value) -> Result<Vec<u8>, StoreError> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        _ => Err(StoreError::Corrupt("expected a string value")),
    }
}

fn version_of(value: Value) -> Result<u64, StoreError> {
    let bytes = bulk(value)?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(StoreError::Corrupt("session version is not a number"))
}

fn written(reply: &Value) -> Result<Written, StoreError> {
    match int(reply)? {
        1 => Ok(Written::Done),
        0 => Ok(Written::Conflict),
        -1 => Ok(Written::Missing),
        _ => Err(StoreError::Corrupt("write reply")),
    }
}

/// A TTL in whole milliseconds, at least 1 (PX refuses 0).
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
