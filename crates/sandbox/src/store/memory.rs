//! The store in memory: hash maps behind mutexes, none held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    CodeGrant, LoginChallenge, MfaChallenge, Outbox, OutboxEntry, RealmRequest, Record,
    ResetRequest, ResetTicket, Store, Table, UserRecord,
};
use crate::lockout::LockoutCounter;
use crate::throttle::ThrottleWindow;
use crate::time::Timestamp;
use crate::tokens::{SessionFamily, TokenRef};

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
