//! All server state, behind the [`Store`] trait.
//!
//! The store only keeps records; every decision (OTP attempts, lockout, rotation, ...) is
//! made by the policy modules on a record inside one atomic [`Table::modify`] call. So a
//! persistent store implements just `modify` (a read-modify-write in one transaction), `purge_expired`
//! and the outbox, and the handlers do not change. [`MemoryStore`] keeps everything in hash maps
//! behind mutexes; no lock is held across an `.await`.
//!
//! Bearer values are never keys: records are keyed by [`crate::tokens::token_key`] (SHA-256),
//! users and lockout counters by username, throttle windows by `kind:subject`.
//!
//! The records of the two login APIs are defined here too (`realm.rs`, `ciam.rs`), so the
//! flows depend on the store and the store knows nothing of the flows. The counters and
//! windows of the policy modules ([`crate::lockout`], [`crate::throttle`], [`crate::tokens`])
//! stay with their rules; the store only says when they expire.
//!
//! ```
//! use login_sandbox::store::{MemoryStore, Store, UserRecord};
//! use login_sandbox::config::{Channel, Mfa};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::default();
//! let user = UserRecord { password_hash: "$argon2id$...".into(), mfa: Mfa::None, channel: Channel::Sms, last_location: None };
//! store.users().put("alice", user).await;
//! assert!(store.users().get("alice").await.is_some());
//! let removed = store.users().update("alice", |slot| slot.take()).await;
//! assert!(removed.is_some() && store.users().get("alice").await.is_none());
//! # });
//! ```

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{Channel, GeoPoint, Mfa};
use crate::lockout::LockoutCounter;
use crate::throttle::ThrottleWindow;
use crate::time::Timestamp;
use crate::tokens::{SessionFamily, TokenRef};

mod ciam;
mod memory;
mod realm;

pub use ciam::{CodeGrant, GrantContext, LoginChallenge, MfaChallenge};
pub use memory::{MemoryOutbox, MemoryStore, MemoryTable};
pub use realm::{RealmRequest, ResetRequest, ResetTicket};

/// A stored record: knows when it may be dropped.
pub trait Record: Clone + Send + Sync + 'static {
    /// When the record may be purged; `None` keeps it.
    fn expires_at(&self) -> Option<Timestamp>;
}

/// One kind of record, by key.
#[async_trait]
pub trait Table<V: Record>: Send + Sync {
    /// Atomically reads and changes the record under `key`: `f` is called exactly once with the
    /// slot (`None` when absent) and may change it, fill it or empty it.
    async fn modify(&self, key: &str, f: &mut (dyn for<'s> FnMut(&'s mut Option<V>) + Send));
    /// Drops every record whose `expires_at` has passed; returns how many.
    async fn purge_expired(&self, now: Timestamp) -> usize;
    /// How many records there are.
    async fn count(&self) -> usize;
}

impl<V: Record> dyn Table<V> + '_ {
    /// Atomically runs `f` on the slot of `key` and returns its result.
    pub async fn update<R: Send>(
        &self,
        key: &str,
        f: impl FnOnce(&mut Option<V>) -> R + Send,
    ) -> R {
        let mut f = Some(f);
        let mut out = None;
        self.modify(key, &mut |slot| {
            if let Some(f) = f.take() {
                out = Some(f(slot));
            }
        })
        .await;
        #[allow(clippy::expect_used)]
        out.expect("Table::modify must call its closure exactly once")
    }

    /// A copy of the record under `key`.
    pub async fn get(&self, key: &str) -> Option<V> {
        self.update(key, |slot| slot.clone()).await
    }

    /// Stores `value` under `key`, replacing any record there.
    pub async fn put(&self, key: &str, value: V) {
        self.update(key, move |slot| *slot = Some(value)).await;
    }

    /// Removes and returns the record under `key`.
    pub async fn take(&self, key: &str) -> Option<V> {
        self.update(key, Option::take).await
    }
}

/// Takes the record out of `slot`, runs `check` on it, and puts it back unless `check` says
/// it is done with it (`Ok`): so a rejected attempt keeps the record (with its counted attempt).
/// Use inside [`Table::modify`] (through `update`) so the whole decision is atomic.
pub fn take_when_accepted<V, T, E>(
    slot: &mut Option<V>,
    missing: impl FnOnce() -> E,
    check: impl FnOnce(&mut V) -> Result<T, E>,
) -> Result<(V, T), E> {
    let Some(mut record) = slot.take() else {
        return Err(missing());
    };
    match check(&mut record) {
        Ok(out) => Ok((record, out)),
        Err(e) => {
            *slot = Some(record);
            Err(e)
        }
    }
}

/// A user as stored: the argon2id hash, never the password.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserRecord {
    /// PHC string of the password's argon2id hash.
    pub password_hash: String,
    /// Realm second factor.
    pub mfa: Mfa,
    /// Where OTPs go.
    pub channel: Channel,
    /// Last known login location.
    pub last_location: Option<GeoPoint>,
}

/// An OTP "sent" to a user, as the dev outbox shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    /// The user it was sent to.
    pub user: String,
    /// The channel it went by.
    pub channel: Channel,
    /// The reference shown beside the code.
    pub ref_id: String,
    /// The code.
    pub otp: String,
    /// Why: `realm-login`, `forgot-password` or `login-2fa`.
    pub purpose: String,
    /// When it was sent, RFC 3339 in UTC with milliseconds.
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-12-03T10:11:12.345Z")]
    pub sent_at: Timestamp,
}

/// The dev outbox: OTPs "sent", newest last, the oldest dropped past a cap.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Records a sent OTP.
    async fn push(&self, entry: OutboxEntry);
    /// Everything still held, oldest first.
    async fn entries(&self) -> Vec<OutboxEntry>;
}

/// Every table of the sandbox.
pub trait Store: Send + Sync + 'static {
    /// Users by name.
    fn users(&self) -> &dyn Table<UserRecord>;
    /// Wrong-password counters by username.
    fn lockouts(&self) -> &dyn Table<LockoutCounter>;
    /// Throttle windows by `kind:subject`.
    fn throttles(&self) -> &dyn Table<ThrottleWindow>;
    /// Realm login requests by request-id key.
    fn realm_requests(&self) -> &dyn Table<RealmRequest>;
    /// Forgot-password requests by request-id key.
    fn reset_requests(&self) -> &dyn Table<ResetRequest>;
    /// Reset tickets by ticket key.
    fn reset_tickets(&self) -> &dyn Table<ResetTicket>;
    /// Internet-banking login challenges by challenge key.
    fn login_challenges(&self) -> &dyn Table<LoginChallenge>;
    /// Pending 2FA by mfa-challenge key.
    fn mfa_challenges(&self) -> &dyn Table<MfaChallenge>;
    /// Authorization codes by code key.
    fn codes(&self) -> &dyn Table<CodeGrant>;
    /// Session families by family id.
    fn sessions(&self) -> &dyn Table<SessionFamily>;
    /// Access and refresh tokens by token key.
    fn tokens(&self) -> &dyn Table<TokenRef>;
    /// The dev outbox.
    fn outbox(&self) -> &dyn Outbox;
}

/// Purges every table of expired records; returns how many were dropped.
pub async fn purge_all(store: &dyn Store, now: Timestamp) -> usize {
    store.lockouts().purge_expired(now).await
        + store.throttles().purge_expired(now).await
        + store.realm_requests().purge_expired(now).await
        + store.reset_requests().purge_expired(now).await
        + store.reset_tickets().purge_expired(now).await
        + store.login_challenges().purge_expired(now).await
        + store.mfa_challenges().purge_expired(now).await
        + store.codes().purge_expired(now).await
        + store.sessions().purge_expired(now).await
        + store.tokens().purge_expired(now).await
}

impl Record for UserRecord {
    fn expires_at(&self) -> Option<Timestamp> {
        None
    }
}
impl Record for LockoutCounter {
    fn expires_at(&self) -> Option<Timestamp> {
        self.forget_at
    }
}
impl Record for ThrottleWindow {
    fn expires_at(&self) -> Option<Timestamp> {
        self.ends
    }
}
impl Record for SessionFamily {
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.refresh_expires.max(self.access_expires))
    }
}
impl Record for TokenRef {
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.expires_at)
    }
}
