//! The token keeper: holds a logged-in session and hands out a fresh access token, refreshing
//! ahead of expiry with a single request however many tasks ask at once.
//!
//! How single flight works: the session sits behind an async mutex. A caller that finds the
//! access token within the margin of expiry refreshes while holding the lock; everyone else waits
//! on the lock. Each caller notes the refresh-attempt counter *before* waiting; if an attempt
//! finished while it waited, it takes that attempt's outcome (the new token or the error) instead
//! of refreshing again. So one refresh request goes out, its outcome reaches every waiter, and a
//! failure does not poison the keeper: the next call after it tries again.
//!
//! The refresh itself runs in a spawned task that owns the lock, so a caller that gives up (a
//! cancelled request handler) cannot drop a refresh half-way and lose the rotated refresh token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use login_core::secret::AccessToken;
use login_core::table::Api;
use login_core::{Error, Profile, Session, Stopped, TokenSet};
#[cfg(feature = "tokio")]
use tokio::sync::{Mutex, OwnedMutexGuard};

#[cfg(feature = "tokio")]
use crate::AsyncTransport;
#[cfg(feature = "tokio")]
use crate::driver::AsyncDriver;

/// The default refresh margin: refresh when the access token expires within 60 s.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(60);

/// Why the keeper could not hand out a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum KeeperError {
    /// The refresh failed. When the error ends the session (e.g. 401 `invalid_token`) later
    /// calls report [`KeeperError::Ended`]; otherwise the next call tries again.
    #[error("refreshing the tokens failed: {0}")]
    Refresh(Error),
    /// The session ended (refused refresh token, or revoked): log in again and hand the keeper
    /// the new session.
    #[error("the session ended; log in again and give the keeper the new session")]
    Ended,
    /// The refresh task stopped before finishing (the runtime shut down).
    #[error("the refresh was interrupted")]
    Interrupted,
}

/// Called with every new token set, so the caller can persist it. Keep it quick, and do not
/// call back into the keeper from it: it runs while the keeper is locked.
pub type TokenCallback = Arc<dyn Fn(&TokenSet) + Send + Sync>;

/// Options of a [`TokenKeeper`].
#[derive(Clone)]
pub struct KeeperOptions {
    margin: Duration,
    on_new_tokens: Option<TokenCallback>,
}

impl Default for KeeperOptions {
    fn default() -> Self {
        Self {
            margin: DEFAULT_MARGIN,
            on_new_tokens: None,
        }
    }
}

impl std::fmt::Debug for KeeperOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeeperOptions")
            .field("margin", &self.margin)
            .field("on_new_tokens", &self.on_new_tokens.is_some())
            .finish()
    }
}

impl KeeperOptions {
    /// Refresh when the access token expires within `margin` (default 60 s).
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Hears each new token set (after every successful refresh and on [`TokenKeeper::replace`]).
    pub fn on_new_tokens(mut self, callback: impl Fn(&TokenSet) + Send + Sync + 'static) -> Self {
        self.on_new_tokens = Some(Arc::new(callback));
        self
    }
}

/// The keeper's core, the same for both keepers (only the lock differs): the session, and the
/// outcome of the last refresh attempt for the callers that waited on it.
struct Slot {
    held: Option<Session>,
    /// The session's API, the label of the keeper's metrics.
    api: Api,
    attempts: u64,
    last: Option<Result<AccessToken, KeeperError>>,
}

impl Slot {
    fn new(held: Session) -> Self {
        Slot {
            api: held.api(),
            held: Some(held),
            attempts: 0,
            last: None,
        }
    }

    /// What a caller that noted `seen` attempts before waiting does now that it holds the lock:
    /// share an outcome, hand out the current token, or refresh (`None`).
    fn answer(
        &self,
        seen: u64,
        force: bool,
        now: std::time::SystemTime,
        margin: Duration,
    ) -> Option<Result<AccessToken, KeeperError>> {
        if self.attempts != seen
            && let Some(outcome) = &self.last
        {
            crate::observe::refresh_shared(self.api);
            return Some(outcome.clone());
        }
        let Some(held) = &self.held else {
            return Some(Err(KeeperError::Ended));
        };
        if !force && !held.tokens().needs_refresh(now, margin) {
            return Some(Ok(held.tokens().access_token().clone()));
        }
        None
    }

    /// Replaces the session (after [`KeeperError::Ended`]); `false`, and nothing changes, for a
    /// session of another API than the profile's.
    fn replace(&mut self, session: Session, profile: &Profile, options: &KeeperOptions) -> bool {
        if session.api() != profile.api() {
            return false;
        }
        if let Some(callback) = &options.on_new_tokens {
            callback(session.tokens());
        }
        self.held = Some(session);
        true
    }

    /// Stores a refresh outcome for this caller and every waiter.
    fn record(
        &mut self,
        outcome: Result<Session, Stopped>,
        options: &KeeperOptions,
        attempts: &AtomicU64,
    ) -> Result<AccessToken, KeeperError> {
        let outcome = outcome.map_err(|stopped| {
            let error = stopped.error().cloned();
            (error, stopped.into_session())
        });
        let (result, label) = match outcome {
            Ok(held) => {
                if let Some(callback) = &options.on_new_tokens {
                    callback(held.tokens());
                }
                let token = held.tokens().access_token().clone();
                self.held = Some(held);
                (Ok(token), "refreshed")
            }
            Err((error, state)) => {
                // A refused refresh token ends the session (no state survives); anything else
                // keeps it for the next try.
                let label = if state.is_some() { "failed" } else { "ended" };
                self.held = state;
                match error {
                    Some(error) => {
                        tracing::warn!(
                            "error.type" = error.kind().as_str(),
                            "token refresh failed"
                        );
                        (Err(KeeperError::Refresh(error)), label)
                    }
                    None => (Err(KeeperError::Interrupted), "interrupted"),
                }
            }
        };
        crate::observe::refresh_finished(self.api, label);
        self.last = Some(result.clone());
        self.attempts += 1;
        attempts.store(self.attempts, Ordering::Release);
        result
    }
}

#[cfg(feature = "tokio")]
struct Shared<T> {
    driver: AsyncDriver<T>,
    profile: Profile,
    options: KeeperOptions,
    attempts: AtomicU64,
    slot: Arc<Mutex<Slot>>,
}

#[cfg(feature = "tokio")]
/// Holds a logged-in session (either API) and hands out fresh access tokens. Cheap to clone;
/// clones share the session. Needs a tokio runtime.
///
/// ```no_run
/// use login_transport::{AsyncDriver, HyperTransport, KeeperOptions, TokenKeeper, TransportConfig};
/// # async fn run(profile: login_core::Profile, session: login_core::Session)
/// #     -> Result<(), Box<dyn std::error::Error>> {
/// let transport = HyperTransport::new(TransportConfig::new("https://bank.example/internal-api/centaur")?)?;
/// let options = KeeperOptions::default().on_new_tokens(|tokens| {
///     // persist `tokens` (they are secret)
///     let _ = tokens.expires_at();
/// });
/// let keeper = TokenKeeper::new(AsyncDriver::new(transport.session()), profile, session, options);
/// let bearer = keeper.access_token().await?; // refreshed first when within 60 s of expiry
/// # let _ = bearer; Ok(()) }
/// ```
pub struct TokenKeeper<T> {
    shared: Arc<Shared<T>>,
}

#[cfg(feature = "tokio")]
impl<T> Clone for TokenKeeper<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

#[cfg(feature = "tokio")]
impl<T> std::fmt::Debug for TokenKeeper<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeeper")
            .field("options", &self.shared.options)
            .field(
                "refresh_attempts",
                &self.shared.attempts.load(Ordering::Acquire),
            )
            .finish()
    }
}

#[cfg(feature = "tokio")]
impl<T: AsyncTransport + 'static> TokenKeeper<T> {
    /// Keeps `session`, refreshed with `profile` (its API's non-secret settings).
    pub fn new(
        driver: AsyncDriver<T>,
        profile: Profile,
        session: Session,
        options: KeeperOptions,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                driver,
                profile,
                options,
                attempts: AtomicU64::new(0),
                slot: Arc::new(Mutex::new(Slot::new(session))),
            }),
        }
    }

    /// How many refreshes were attempted so far.
    pub fn refresh_attempts(&self) -> u64 {
        self.shared.attempts.load(Ordering::Acquire)
    }

    /// A fresh access token: the current one, or a new one after a refresh when the current one
    /// expires within the margin. Concurrent callers share one refresh and its outcome.
    ///
    /// # Errors
    /// [`KeeperError::Refresh`] when the refresh failed (the next call tries again, unless the
    /// error ended the session); [`KeeperError::Ended`] once the session has ended (log in
    /// again and [`replace`](Self::replace) it); [`KeeperError::Interrupted`] when the refresh
    /// stopped half-way (the runtime shut down).
    pub async fn access_token(&self) -> Result<AccessToken, KeeperError> {
        self.get(false).await
    }

    /// Refreshes now (sharing a refresh already under way) and returns the new access token.
    ///
    /// # Errors
    /// [`KeeperError::Refresh`] when the refresh failed (the next call tries again, unless the
    /// error ended the session); [`KeeperError::Ended`] once the session has ended (log in
    /// again and [`replace`](Self::replace) it); [`KeeperError::Interrupted`] when the refresh
    /// stopped half-way (the runtime shut down).
    pub async fn refresh(&self) -> Result<AccessToken, KeeperError> {
        self.get(true).await
    }

    /// A copy of the current token set, if the session has not ended.
    pub async fn tokens(&self) -> Option<TokenSet> {
        self.shared
            .slot
            .lock()
            .await
            .held
            .as_ref()
            .map(|h| h.tokens().clone())
    }

    /// Replaces the session with a new login (after [`KeeperError::Ended`]). Ignored (returns
    /// `false`) for a session of another API.
    pub async fn replace(&self, session: Session) -> bool {
        let shared = &self.shared;
        let mut slot = shared.slot.lock().await;
        slot.replace(session, &shared.profile, &shared.options)
    }

    async fn get(&self, force: bool) -> Result<AccessToken, KeeperError> {
        // Noted before waiting: an attempt that ends while we wait is ours to share.
        let seen = self.shared.attempts.load(Ordering::Acquire);
        let slot = self.shared.slot.clone().lock_owned().await;
        let now = self.shared.driver.now();
        if let Some(answer) = slot.answer(seen, force, now, self.shared.options.margin) {
            return answer;
        }
        let shared = self.shared.clone();
        tokio::spawn(refresh_locked(shared, slot))
            .await
            .map_err(|_| KeeperError::Interrupted)?
    }
}

#[cfg(feature = "tokio")]
/// Refreshes while owning the lock; records the outcome for every waiter.
async fn refresh_locked<T: AsyncTransport>(
    shared: Arc<Shared<T>>,
    mut slot: OwnedMutexGuard<Slot>,
) -> Result<AccessToken, KeeperError> {
    let Some(session) = slot.held.take() else {
        return Err(KeeperError::Ended);
    };
    let outcome = shared.driver.refresh(&shared.profile, session).await;
    slot.record(outcome, &shared.options, &shared.attempts)
}

/// The blocking counterpart of [`TokenKeeper`], over a blocking [`Transport`](crate::Transport):
/// the same single flight (threads wait on a mutex; one refreshes; all share its outcome).
///
/// ```no_run
/// use login_transport::{BlockingTokenKeeper, Driver, KeeperOptions, TransportConfig, UreqTransport};
/// # fn run(profile: login_core::Profile, session: login_core::Session)
/// #     -> Result<(), Box<dyn std::error::Error>> {
/// let transport = UreqTransport::new(TransportConfig::new("https://bank.example/internal-api/centaur")?)?;
/// let keeper = BlockingTokenKeeper::new(Driver::new(transport), profile, session, KeeperOptions::default());
/// let bearer = keeper.access_token()?;
/// # let _ = bearer; Ok(()) }
/// ```
pub struct BlockingTokenKeeper<T> {
    shared: Arc<BlockingShared<T>>,
}

struct BlockingShared<T> {
    driver: crate::Driver<T>,
    profile: Profile,
    options: KeeperOptions,
    attempts: AtomicU64,
    slot: std::sync::Mutex<Slot>,
}

impl<T> Clone for BlockingTokenKeeper<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> std::fmt::Debug for BlockingTokenKeeper<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingTokenKeeper")
            .field("options", &self.shared.options)
            .field(
                "refresh_attempts",
                &self.shared.attempts.load(Ordering::Acquire),
            )
            .finish()
    }
}

impl<T: crate::Transport> BlockingTokenKeeper<T> {
    /// Keeps `session`, refreshed with `profile` (its API's non-secret settings).
    pub fn new(
        driver: crate::Driver<T>,
        profile: Profile,
        session: Session,
        options: KeeperOptions,
    ) -> Self {
        Self {
            shared: Arc::new(BlockingShared {
                driver,
                profile,
                options,
                attempts: AtomicU64::new(0),
                slot: std::sync::Mutex::new(Slot::new(session)),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        // A panic in a callback must not lock everyone out: the slot stays consistent.
        self.shared
            .slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many refreshes were attempted so far.
    pub fn refresh_attempts(&self) -> u64 {
        self.shared.attempts.load(Ordering::Acquire)
    }

    /// A fresh access token (see [`TokenKeeper::access_token`]).
    ///
    /// # Errors
    /// As [`TokenKeeper::access_token`]: [`KeeperError::Refresh`], [`KeeperError::Ended`].
    pub fn access_token(&self) -> Result<AccessToken, KeeperError> {
        self.get(false)
    }

    /// Refreshes now, sharing a refresh already under way.
    ///
    /// # Errors
    /// As [`TokenKeeper::access_token`]: [`KeeperError::Refresh`], [`KeeperError::Ended`].
    pub fn refresh(&self) -> Result<AccessToken, KeeperError> {
        self.get(true)
    }

    /// A copy of the current token set, if the session has not ended.
    pub fn tokens(&self) -> Option<TokenSet> {
        self.lock().held.as_ref().map(|h| h.tokens().clone())
    }

    /// Replaces the session with a new login; `false` for a session of another API.
    pub fn replace(&self, session: Session) -> bool {
        let shared = &self.shared;
        self.lock()
            .replace(session, &shared.profile, &shared.options)
    }

    fn get(&self, force: bool) -> Result<AccessToken, KeeperError> {
        let seen = self.shared.attempts.load(Ordering::Acquire);
        let mut slot = self.lock();
        let now = self.shared.driver.now();
        if let Some(answer) = slot.answer(seen, force, now, self.shared.options.margin) {
            return answer;
        }
        let Some(session) = slot.held.take() else {
            return Err(KeeperError::Ended);
        };
        let shared = &self.shared;
        let outcome = shared.driver.refresh(&shared.profile, session);
        slot.record(outcome, &shared.options, &shared.attempts)
    }
}
