//! Sessions: versioned, sealed, with compare-and-set and a refresh lock with a fencing version.
//!
//! Every write makes a new version (1, 2, 3, ...). The version is bound into the seal, so a
//! value cannot be replayed under another version.
//!
//! - [`SessionStore::compare_and_set`] writes only over the version it read
//!   ([`StoreError::Conflict`] otherwise).
//! - [`SessionStore::try_lock`] takes the refresh lock (Redis `SET NX PX`: it ends by itself
//!   after its TTL if the holder dies) and reads the session in the same step; the version read
//!   is the lock's **fence**. [`SessionStore::write_fenced`] is a compare-and-set on the fence
//!   that also releases the lock: a holder that stalled past its TTL, while another instance
//!   took over and stored a newer session, is refused instead of overwriting it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use std::time::{Duration, SystemTime};
//! # use login_core::{Flow, Response, realm, secret::{ClientSecret, Password}};
//! use login_store::{SessionId, Store, StoreError, StoreOptions, seal::{Keyring, SealKey}};
//! # let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
//! # let now = SystemTime::now();
//! # let (_r, p) = realm::Start::new("bob", Password::new("pw")).request_login(&cfg);
//! # let Ok(realm::LoginStarted::Challenged(c)) = p.receive(&Response::new(201, br#"{"reqId":"r","exp":300,"mfa":"none"}"#.to_vec()), now) else { panic!() };
//! # let (_r, p) = c.exchange(&cfg);
//! # let body = br#"{"accessToken":"A","refreshToken":"R","expires":300,"refreshExpires":1800}"#;
//! # let session = Flow::from(p.receive(&Response::new(201, body.to_vec()), now).map_err(|f| f.error)?).into_session().map_err(|_| "no session")?;
//! let store = Store::in_memory(Keyring::new(SealKey::generate("k1")?), StoreOptions::default());
//! let sessions = store.sessions();
//! let id = SessionId::generate()?;
//! let v1 = sessions.insert(&id, &session).await?;
//!
//! let lock = sessions.try_lock(&id, Duration::from_secs(30)).await?;
//! assert_eq!(lock.fence(), v1);
//! assert_eq!(sessions.try_lock(&id, Duration::from_secs(30)).await.unwrap_err(), StoreError::Busy);
//! // ... refresh `lock.session()` at the bank, then:
//! let v2 = sessions.write_fenced(lock, &session).await?;
//! assert_eq!(sessions.get(&id).await?.version(), v2);
//! // A writer that read v1 lost:
//! assert_eq!(sessions.compare_and_set(&id, v1, &session).await.unwrap_err(), StoreError::Conflict);
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use login_core::Session;

use crate::backend::{Locked, SessionKeys, Written};
use crate::error::StoreError;
use crate::id::SessionId;
use crate::seal::random_token;
use crate::store::{Store, remaining};

/// A session's version: 1 when inserted, one more at every write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A value and the version it was read at.
#[derive(Clone, Debug)]
pub struct Versioned<T> {
    value: T,
    version: Version,
}

impl<T> Versioned<T> {
    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The value, without its version.
    pub fn into_value(self) -> T {
        self.value
    }
}

/// The refresh lock of one session, held until [`SessionStore::write_fenced`],
/// [`SessionStore::remove_fenced`] or [`SessionStore::unlock`], or until its TTL ends (dropping
/// it does not release it). Holds the session as read when the lock was taken.
pub struct RefreshLock {
    id: SessionId,
    token: String,
    session: Versioned<Session>,
}

impl fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshLock")
            .field("id", &self.id)
            .field("fence", &self.session.version)
            .finish_non_exhaustive()
    }
}

impl RefreshLock {
    /// The session's id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The fence: the session's version when the lock was taken. A fenced write succeeds only
    /// over this version.
    pub fn fence(&self) -> Version {
        self.session.version
    }

    /// The session as read when the lock was taken.
    pub fn session(&self) -> &Session {
        &self.session.value
    }
}

/// The sessions of a [`Store`]. Cheap to clone.
#[derive(Clone)]
pub struct SessionStore {
    store: Store,
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SessionStore").field(&self.store).finish()
    }
}

/// What a session value is bound to: its store key and its version.
fn binding(keys: &SessionKeys, version: u64) -> Vec<u8> {
    format!("{}#v={version}", keys.session).into_bytes()
}

impl SessionStore {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Seals a session for `version`, to live until its refresh token expires (or
    /// [`StoreOptions::session_ttl`](crate::StoreOptions::session_ttl) when unknown).
    fn seal(
        &self,
        keys: &SessionKeys,
        version: u64,
        session: &Session,
    ) -> Result<(Vec<u8>, Duration), StoreError> {
        let inner = &self.store.inner;
        let now = inner.options.now();
        let expires_at: SystemTime = session
            .tokens()
            .refresh_expires_at()
            .unwrap_or(now + inner.options.get_session_ttl());
        let ttl = remaining(now, expires_at)?;
        let sealed = inner
            .keyring
            .seal_session(&binding(keys, version), expires_at, session)?;
        Ok((sealed, ttl))
    }

    fn open(
        &self,
        keys: &SessionKeys,
        version: u64,
        sealed: &[u8],
    ) -> Result<Versioned<Session>, StoreError> {
        let inner = &self.store.inner;
        let value =
            inner
                .keyring
                .open_session(&binding(keys, version), inner.options.now(), sealed)?;
        Ok(Versioned {
            value,
            version: Version(version),
        })
    }

    /// Stores a new session at version 1.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id is in use, [`StoreError::Sealing`] (`Expired` for a
    /// session whose refresh token has expired), and the backend's errors.
    pub async fn insert(&self, id: &SessionId, session: &Session) -> Result<Version, StoreError> {
        let keys = SessionKeys::new(id);
        let (sealed, ttl) = self.seal(&keys, 1, session)?;
        if self
            .store
            .inner
            .backend
            .insert_session(&keys, &sealed, ttl)
            .await?
        {
            Ok(Version(1))
        } else {
            Err(StoreError::Conflict)
        }
    }

    /// The stored session and its version.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Sealing`] when it does not open, and the
    /// backend's errors.
    pub async fn get(&self, id: &SessionId) -> Result<Versioned<Session>, StoreError> {
        let keys = SessionKeys::new(id);
        match self.store.inner.backend.get_session(&keys).await? {
            Some((version, sealed)) => self.open(&keys, version, &sealed),
            None => Err(StoreError::NotFound),
        }
    }

    /// Replaces the session if it is still at `expected`; gives the new version.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another write came first, [`StoreError::NotFound`], and
    /// the errors of [`SessionStore::insert`].
    pub async fn compare_and_set(
        &self,
        id: &SessionId,
        expected: Version,
        session: &Session,
    ) -> Result<Version, StoreError> {
        let keys = SessionKeys::new(id);
        let next = next_version(expected)?;
        let (sealed, ttl) = self.seal(&keys, next.0, session)?;
        let written = self
            .store
            .inner
            .backend
            .cas_session(&keys, expected.0, &sealed, ttl)
            .await?;
        outcome(written, next)
    }

    /// Deletes the session (a logout) and its refresh lock.
    ///
    /// # Errors
    /// The backend's errors.
    pub async fn remove(&self, id: &SessionId) -> Result<(), StoreError> {
        self.store
            .inner
            .backend
            .remove_session(&SessionKeys::new(id))
            .await
    }

    /// Takes the session's refresh lock for `ttl` and reads the session, in one atomic step.
    /// Choose a `ttl` longer than the slowest refresh (transport timeouts and 429 waits
    /// included): a lock that ends mid-refresh lets another instance refresh with the same
    /// refresh token.
    ///
    /// # Errors
    /// [`StoreError::Busy`] when another holder has it, [`StoreError::NotFound`], the errors of
    /// [`SessionStore::get`] (the lock is released again then).
    pub async fn try_lock(&self, id: &SessionId, ttl: Duration) -> Result<RefreshLock, StoreError> {
        let keys = SessionKeys::new(id);
        let token = random_token()?;
        let backend = &self.store.inner.backend;
        let (version, sealed) = match backend.lock_session(&keys, &token, ttl).await? {
            Locked::Held { version, sealed } => (version, sealed),
            Locked::Busy => return Err(StoreError::Busy),
            Locked::Missing => return Err(StoreError::NotFound),
        };
        match self.open(&keys, version, &sealed) {
            Ok(session) => Ok(RefreshLock {
                id: id.clone(),
                token,
                session,
            }),
            Err(e) => {
                if let Err(unlock) = backend.unlock(&keys, &token).await {
                    tracing::warn!(error = %unlock, "could not release a refresh lock");
                }
                Err(e)
            }
        }
    }

    /// The fenced write: stores `session` if the stored version is still the lock's fence, and
    /// releases the lock (if still held by this lock).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a newer session was stored since the lock was taken (this
    /// holder's lock ran out and another took over), [`StoreError::NotFound`] when the session
    /// was removed, and the errors of [`SessionStore::insert`].
    pub async fn write_fenced(
        &self,
        lock: RefreshLock,
        session: &Session,
    ) -> Result<Version, StoreError> {
        let keys = SessionKeys::new(&lock.id);
        let fence = lock.fence();
        let next = next_version(fence)?;
        let (sealed, ttl) = self.seal(&keys, next.0, session)?;
        let written = self
            .store
            .inner
            .backend
            .write_fenced(&keys, fence.0, &lock.token, &sealed, ttl)
            .await?;
        outcome(written, next)
    }

    /// Deletes the session if it is still at the lock's fence (the bank ended it), and releases
    /// the lock.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a newer session was stored since, [`StoreError::NotFound`]
    /// when it is already gone, and the backend's errors.
    pub async fn remove_fenced(&self, lock: RefreshLock) -> Result<(), StoreError> {
        let keys = SessionKeys::new(&lock.id);
        let written = self
            .store
            .inner
            .backend
            .remove_fenced(&keys, lock.fence().0, &lock.token)
            .await?;
        outcome(written, lock.fence()).map(drop)
    }

    /// Releases the lock without writing (if this lock still holds it; a lock that ran out and
    /// was taken by another holder is left alone).
    ///
    /// # Errors
    /// The backend's errors (the lock then ends at its TTL).
    pub async fn unlock(&self, lock: RefreshLock) -> Result<(), StoreError> {
        self.store
            .inner
            .backend
            .unlock(&SessionKeys::new(&lock.id), &lock.token)
            .await
    }
}

fn next_version(v: Version) -> Result<Version, StoreError> {
    v.0.checked_add(1)
        .map(Version)
        .ok_or(StoreError::Corrupt("version overflow"))
}

fn outcome(written: Written, version: Version) -> Result<Version, StoreError> {
    match written {
        Written::Done => Ok(version),
        Written::Conflict => Err(StoreError::Conflict),
        Written::Missing => Err(StoreError::NotFound),
    }
}
