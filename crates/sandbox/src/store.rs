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

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{Channel, GeoPoint, Mfa};
use crate::flows::ciam::{CodeGrant, LoginChallenge, MfaChallenge};
use crate::flows::realm::{RealmRequest, ResetRequest, ResetTicket};
use crate::lockout::LockoutCounter;
use crate::throttle::ThrottleWindow;
use crate::time::Timestamp;
use crate::tokens::{SessionFamily, TokenRef};

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

/// A table in memory.
#[derive(Debug)]
pub struct MemoryTable<V>(Mutex<HashMap<String, V>>);

impl<V> Default for MemoryTable<V> {
    fn default() -> Self {
        MemoryTable(Mutex::new(HashMap::new()))
    }
}

impl<V> MemoryTable<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, V>> {
        // A panic inside a closure leaves the map itself consistent: go on with it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl<V: Record> Table<V> for MemoryTable<V> {
    async fn modify(&self, key: &str, f: &mut (dyn for<'s> FnMut(&'s mut Option<V>) + Send)) {
        let mut map = self.lock();
        let mut slot = map.remove(key);
        f(&mut slot);
        if let Some(value) = slot {
            map.insert(key.to_owned(), value);
        }
    }

    async fn purge_expired(&self, now: Timestamp) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, v| v.expires_at().is_none_or(|at| now < at));
        before - map.len()
    }

    async fn count(&self) -> usize {
        self.lock().len()
    }
}

/// The outbox in memory, capped at [`MemoryOutbox::CAP`] entries.
#[derive(Debug, Default)]
pub struct MemoryOutbox(Mutex<VecDeque<OutboxEntry>>);

impl MemoryOutbox {
    /// Entries kept; the oldest go first.
    pub const CAP: usize = 10_000;
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn push(&self, entry: OutboxEntry) {
        let mut q = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if q.len() >= Self::CAP {
            q.pop_front();
        }
        q.push_back(entry);
    }

    async fn entries(&self) -> Vec<OutboxEntry> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// Everything in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    users: MemoryTable<UserRecord>,
    lockouts: MemoryTable<LockoutCounter>,
    throttles: MemoryTable<ThrottleWindow>,
    realm_requests: MemoryTable<RealmRequest>,
    reset_requests: MemoryTable<ResetRequest>,
    reset_tickets: MemoryTable<ResetTicket>,
    login_challenges: MemoryTable<LoginChallenge>,
    mfa_challenges: MemoryTable<MfaChallenge>,
    codes: MemoryTable<CodeGrant>,
    sessions: MemoryTable<SessionFamily>,
    tokens: MemoryTable<TokenRef>,
    outbox: MemoryOutbox,
}

impl Store for MemoryStore {
    fn users(&self) -> &dyn Table<UserRecord> {
        &self.users
    }
    fn lockouts(&self) -> &dyn Table<LockoutCounter> {
        &self.lockouts
    }
    fn throttles(&self) -> &dyn Table<ThrottleWindow> {
        &self.throttles
    }
    fn realm_requests(&self) -> &dyn Table<RealmRequest> {
        &self.realm_requests
    }
    fn reset_requests(&self) -> &dyn Table<ResetRequest> {
        &self.reset_requests
    }
    fn reset_tickets(&self) -> &dyn Table<ResetTicket> {
        &self.reset_tickets
    }
    fn login_challenges(&self) -> &dyn Table<LoginChallenge> {
        &self.login_challenges
    }
    fn mfa_challenges(&self) -> &dyn Table<MfaChallenge> {
        &self.mfa_challenges
    }
    fn codes(&self) -> &dyn Table<CodeGrant> {
        &self.codes
    }
    fn sessions(&self) -> &dyn Table<SessionFamily> {
        &self.sessions
    }
    fn tokens(&self) -> &dyn Table<TokenRef> {
        &self.tokens
    }
    fn outbox(&self) -> &dyn Outbox {
        &self.outbox
    }
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
