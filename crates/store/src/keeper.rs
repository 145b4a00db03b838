//! One token refresh across instances: [`SharedTokenKeeper`] hands out a session's access token
//! from the [`SessionStore`], and when it is about to expire, exactly one caller on one
//! instance refreshes it while every other caller (same instance or not) waits for the stored
//! result.
//!
//! # How
//!
//! 1. Read the stored session (one Redis command). Fresh: hand out its access token.
//! 2. Stale: callers on one instance queue on a local async mutex; the first one goes on, the
//!    others take its outcome when it is done (so one instance sends at most one Redis lock
//!    attempt per expiry and shares failures too).
//! 3. The first one tries the refresh lock ([`SessionStore::try_lock`], `SET NX PX` plus a read,
//!    one script). If it gets the lock and the session it read is still stale, it refreshes at
//!    the bank and stores the result with the fenced write ([`SessionStore::write_fenced`], a
//!    Lua compare-and-set on the version read under the lock), which also releases the lock.
//!    The refresh and the write run in a spawned task, so a caller that gives up (a cancelled
//!    request) cannot drop the rotated refresh token between the bank and the store.
//! 4. If another instance holds the lock, it polls the store with backoff (from
//!    `poll_min` doubling to `poll_max`) until the stored session is fresh, the lock is free
//!    again (it then tries the lock itself: that is how a dead holder's lock is taken over,
//!    once its TTL has run out), or `wait` has passed ([`SharedKeeperError::Timeout`]).
//!
//! # When the bank rotated the refresh token but the holder died before storing it
//!
//! This cannot be fully avoided: between the bank's answer and the store's write there is a
//! moment where the only copy of the new refresh token is in the holder's memory. If the
//! process dies (or Redis is unreachable for the write) right then, the store still holds the
//! **old** refresh token, which the bank has rotated away. What happens next:
//!
//! - the lock ends at its TTL; the next caller (any instance) takes it and refreshes with the
//!   old refresh token;
//! - the bank refuses it with 401 `invalid_token` (and, with reuse detection, revokes the whole
//!   session family, so the lost new tokens die too);
//! - the keeper deletes the stored session (a fenced delete) and reports
//!   [`SharedKeeperError::Ended`] with `kind: Some(ErrorKind::InvalidToken)` to that caller;
//!   callers that were waiting, and later callers, find no session and get
//!   [`SharedKeeperError::Ended`] with `kind: None`.
//!
//! The user logs in again; no instance keeps retrying with a dead token. A failure to store the
//! new session is logged at `error` level ("refreshed tokens could not be stored"), so the cause
//! of the later `Ended` is visible.
//!
//! # Choosing the lock TTL
//!
//! The lock TTL must exceed the slowest refresh: the transport's call timeout times the 429
//! retries plus their waits (the defaults, 20 s calls and one retry within 10 s, need more than
//! 50 s; the default TTL is 60 s). A holder that stalls past the TTL lets a second instance
//! refresh with the same refresh token; the fence then refuses the slower write
//! ([`SharedKeeperError::Fenced`]), but the bank may already have seen the token twice.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use login_core::secret::AccessToken;
use login_core::{Error, ErrorKind, Profile, Session};
use login_transport::{AsyncDriver, AsyncTransport};
use tokio::sync::Mutex;

use crate::error::StoreError;
use crate::id::SessionId;
use crate::session::{RefreshLock, SessionStore};

/// Why the keeper could not hand out a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SharedKeeperError {
    /// The session ended: the bank refused the refresh token (`kind` says why, e.g.
    /// `InvalidToken`), or the session is no longer in the store (`kind: None`: ended on another
    /// instance, removed at logout, or expired). Log in again.
    #[error("the session ended ({}); log in again", match .kind { Some(k) => k.as_str(), None => "not in the store" })]
    Ended {
        /// The bank's refusal, when this caller saw it.
        kind: Option<ErrorKind>,
    },
    /// The refresh failed and the session is kept (a network error, a 5xx, throttling): a later
    /// call tries again.
    #[error("refreshing the tokens failed: {0}")]
    Refresh(Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another instance held the refresh lock and no fresh session appeared in time.
    #[error(
        "another instance is refreshing this session and no fresh token appeared within {waited:?}"
    )]
    Timeout {
        /// How long this caller waited.
        waited: Duration,
    },
    /// A newer session was stored while this refresh ran (this holder's lock ran out and another
    /// instance took over): the fence refused this write. Raise the lock TTL above the slowest
    /// refresh.
    #[error(
        "a newer session was stored while this refresh ran (the refresh lock ran out); raise the lock TTL above the slowest refresh"
    )]
    Fenced,
    /// The refresh task stopped before finishing (the runtime is shutting down).
    #[error("the refresh was interrupted")]
    Interrupted,
}

/// Options of a [`SharedTokenKeeper`].
///
/// ```
/// use std::time::Duration;
/// use login_store::SharedKeeperOptions;
/// let options = SharedKeeperOptions::default()
///     .margin(Duration::from_secs(30))
///     .lock_ttl(Duration::from_secs(45));
/// assert_eq!(options.get_wait(), Duration::from_secs(50), "wait follows the lock TTL");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SharedKeeperOptions {
    margin: Duration,
    lock_ttl: Duration,
    wait: Option<Duration>,
    poll_min: Duration,
    poll_max: Duration,
}

impl Default for SharedKeeperOptions {
    fn default() -> Self {
        Self {
            margin: Duration::from_secs(60),
            lock_ttl: Duration::from_secs(60),
            wait: None,
            poll_min: Duration::from_millis(20),
            poll_max: Duration::from_millis(250),
        }
    }
}

impl SharedKeeperOptions {
    /// Refresh when the access token expires within `margin` (default 60 s).
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// How long the refresh lock lasts if its holder dies (default 60 s): longer than the
    /// slowest refresh (see the module docs).
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// How long a caller waits for another instance's refresh (default: the lock TTL plus 5 s,
    /// so a dead holder's lock is taken over within it).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = Some(wait);
        self
    }

    /// The first and the longest pause between two looks at the store while waiting (default
    /// 20 ms doubling to 250 ms).
    pub fn poll(mut self, first: Duration, longest: Duration) -> Self {
        self.poll_min = first;
        self.poll_max = longest.max(first);
        self
    }

    /// See [`SharedKeeperOptions::wait`].
    pub fn get_wait(&self) -> Duration {
        self.wait.unwrap_or(self.lock_ttl + Duration::from_secs(5))
    }
}

/// The last refresh attempt on this instance, for the callers that queued behind it.
struct Local {
    attempts: u64,
    last: Option<Result<AccessToken, SharedKeeperError>>,
}

struct Inner<T> {
    driver: AsyncDriver<T>,
    profile: Profile,
    sessions: SessionStore,
    id: SessionId,
    options: SharedKeeperOptions,
    attempts: AtomicU64,
    refreshes: AtomicU64,
    local: Mutex<Local>,
}

/// Hands out fresh access tokens of one stored session, with one refresh per expiry however
/// many tasks on however many instances ask (see the module docs). Cheap to clone; clones share
/// the local queue. Needs a tokio runtime.
///
/// ```no_run
/// # async fn run(store: login_store::Store, profile: login_core::Profile, id: login_store::SessionId)
/// #     -> Result<(), Box<dyn std::error::Error>> {
/// use login_store::{SharedKeeperOptions, SharedTokenKeeper};
/// use login_transport::{AsyncDriver, HyperTransport, TransportConfig};
///
/// let transport = HyperTransport::new(TransportConfig::new("https://bank.example/internal-api/centaur")?)?;
/// let keeper = SharedTokenKeeper::new(
///     AsyncDriver::new(transport.session()),
///     profile,
///     store.sessions(),
///     id,
///     SharedKeeperOptions::default(),
/// );
/// let token = keeper.access_token().await?; // refreshed by one instance when near expiry
/// # let _ = token; Ok(()) }
/// ```
pub struct SharedTokenKeeper<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for SharedTokenKeeper<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for SharedTokenKeeper<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedTokenKeeper")
            .field("id", &self.inner.id)
            .field("options", &self.inner.options)
            .field("refreshes", &self.inner.refreshes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T: AsyncTransport + 'static> SharedTokenKeeper<T> {
    /// A keeper of the session stored under `id`, refreshing with `driver` (whose clock also
    /// decides freshness) and `profile`.
    pub fn new(
        driver: AsyncDriver<T>,
        profile: Profile,
        sessions: SessionStore,
        id: SessionId,
        options: SharedKeeperOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                driver,
                profile,
                sessions,
                id,
                options,
                attempts: AtomicU64::new(0),
                refreshes: AtomicU64::new(0),
                local: Mutex::new(Local {
                    attempts: 0,
                    last: None,
                }),
            }),
        }
    }

    /// The session's id.
    pub fn id(&self) -> &SessionId {
        &self.inner.id
    }

    /// How many refreshes this keeper (with its clones) sent to the bank.
    pub fn refreshes_sent(&self) -> u64 {
        self.inner.refreshes.load(Ordering::Relaxed)
    }

    /// A fresh access token: the stored one, or after a refresh by this or another instance.
    ///
    /// # Errors
    /// [`SharedKeeperError::Ended`] when the session is over, [`SharedKeeperError::Refresh`]
    /// when the refresh failed (the session is kept), [`SharedKeeperError::Timeout`] when
    /// another instance's refresh did not finish in time, [`SharedKeeperError::Fenced`],
    /// [`SharedKeeperError::Store`] (e.g. `Unavailable`).
    pub async fn access_token(&self) -> Result<AccessToken, SharedKeeperError> {
        let inner = &self.inner;
        let current = inner.read().await?;
        if !inner.stale(&current) {
            return Ok(current.tokens().access_token().clone());
        }
        let seen = inner.attempts.load(Ordering::Acquire);
        let mut local = inner.local.lock().await;
        if local.attempts != seen
            && let Some(outcome) = &local.last
        {
            return outcome.clone();
        }
        let outcome = inner.clone().refresh_shared().await;
        local.attempts += 1;
        local.last = Some(outcome.clone());
        inner.attempts.store(local.attempts, Ordering::Release);
        outcome
    }
}

impl<T: AsyncTransport + 'static> Inner<T> {
    fn stale(&self, session: &Session) -> bool {
        session.needs_refresh(self.driver.now(), self.options.margin)
    }

    async fn read(&self) -> Result<Session, SharedKeeperError> {
        match self.sessions.get(&self.id).await {
            Ok(stored) => Ok(stored.into_value()),
            Err(StoreError::NotFound) => Err(SharedKeeperError::Ended { kind: None }),
            Err(e) => Err(SharedKeeperError::Store(e)),
        }
    }

    /// Takes the lock and refreshes, or waits for whoever holds it.
    async fn refresh_shared(self: Arc<Self>) -> Result<AccessToken, SharedKeeperError> {
        let started = Instant::now();
        let wait = self.options.get_wait();
        let mut pause = self.options.poll_min;
        loop {
            match self
                .sessions
                .try_lock(&self.id, self.options.lock_ttl)
                .await
            {
                Ok(lock) => {
                    if !self.stale(lock.session()) {
                        // Refreshed by someone else since our first look.
                        let token = lock.session().tokens().access_token().clone();
                        if let Err(e) = self.sessions.unlock(lock).await {
                            tracing::warn!(error = %e, "could not release the refresh lock");
                        }
                        return Ok(token);
                    }
                    let holder = self.clone();
                    return tokio::spawn(async move { holder.refresh_locked(lock).await })
                        .await
                        .unwrap_or(Err(SharedKeeperError::Interrupted));
                }
                Err(StoreError::Busy) => {}
                Err(StoreError::NotFound) => return Err(SharedKeeperError::Ended { kind: None }),
                Err(e) => return Err(SharedKeeperError::Store(e)),
            }
            let waited = started.elapsed();
            if waited >= wait {
                return Err(SharedKeeperError::Timeout { waited });
            }
            tokio::time::sleep(pause.min(wait - waited)).await;
            pause = (pause * 2).min(self.options.poll_max);
            let current = self.read().await?;
            if !self.stale(&current) {
                return Ok(current.tokens().access_token().clone());
            }
        }
    }

    /// Refreshes at the bank under the lock and stores the outcome.
    async fn refresh_locked(&self, lock: RefreshLock) -> Result<AccessToken, SharedKeeperError> {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let refreshed = self
            .driver
            .refresh(&self.profile, lock.session().clone())
            .await;
        match refreshed {
            Ok(session) => {
                let token = session.tokens().access_token().clone();
                match self.sessions.write_fenced(lock, &session).await {
                    Ok(version) => {
                        tracing::debug!(%version, "refreshed and stored the session");
                        Ok(token)
                    }
                    Err(StoreError::Conflict) => {
                        tracing::warn!(
                            "a newer session was stored while this refresh ran; this refresh's tokens are dropped"
                        );
                        Err(SharedKeeperError::Fenced)
                    }
                    Err(StoreError::NotFound) => Err(SharedKeeperError::Ended { kind: None }),
                    Err(e) => {
                        tracing::error!(
                            error = %e,
                            "refreshed tokens could not be stored; the stored refresh token is now rotated away and the next refresh will end the session"
                        );
                        Err(SharedKeeperError::Store(e))
                    }
                }
            }
            Err(stopped) => {
                let error = stopped.error().cloned();
                let kind = stopped.kind();
                if stopped.into_session().is_none() {
                    // The bank ended the session (a refused refresh token): no instance should
                    // try it again.
                    tracing::warn!(
                        kind = kind.map(|k| k.as_str()),
                        "the bank ended the session"
                    );
                    if let Err(e) = self.sessions.remove_fenced(lock).await {
                        tracing::warn!(error = %e, "could not remove the ended session");
                    }
                    return Err(SharedKeeperError::Ended { kind });
                }
                if let Err(e) = self.sessions.unlock(lock).await {
                    tracing::warn!(error = %e, "could not release the refresh lock");
                }
                Err(match error {
                    Some(error) => {
                        tracing::warn!(error = error.kind().as_str(), "token refresh failed");
                        SharedKeeperError::Refresh(error)
                    }
                    None => SharedKeeperError::Interrupted,
                })
            }
        }
    }
}
