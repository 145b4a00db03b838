//! The store: a backend (memory or Redis), the keyring that seals every value, and the options.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::backend::Backend;
use crate::error::StoreError;
use crate::login::LoginStore;
use crate::seal::Keyring;
use crate::session::SessionStore;

/// The store's settings. Every duration has a default suited to the bank APIs' lifetimes.
///
/// ```
/// use std::time::Duration;
/// use login_store::StoreOptions;
/// let options = StoreOptions::default()
///     .command_timeout(Duration::from_secs(1))
///     .login_ttl(Duration::from_secs(300));
/// assert_eq!(options.get_command_timeout(), Duration::from_secs(1));
/// ```
#[derive(Clone, Debug)]
pub struct StoreOptions {
    command_timeout: Duration,
    login_ttl: Duration,
    resume_lease: Duration,
    session_ttl: Duration,
    clock: fn() -> SystemTime,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            command_timeout: Duration::from_secs(2),
            login_ttl: Duration::from_secs(600),
            resume_lease: Duration::from_secs(60),
            session_ttl: Duration::from_secs(24 * 3600),
            clock: SystemTime::now,
        }
    }
}

impl StoreOptions {
    /// The longest wait for any one Redis command, the connection included (default 2 s).
    /// Past it the operation fails with [`StoreError::Unavailable`].
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The lifetime of a paused login whose flow states no expiry of its own (the
    /// internet-banking states), and the cap on any paused login's lifetime (default 10 min,
    /// the bank's login challenge lifetime).
    pub fn login_ttl(mut self, ttl: Duration) -> Self {
        self.login_ttl = ttl;
        self
    }

    /// How long a taken login counts as being resumed ([`StoreError::Busy`] for other takers)
    /// when its taker neither puts it back nor finishes it (default 60 s; never longer than the
    /// login's remaining lifetime).
    pub fn resume_lease(mut self, lease: Duration) -> Self {
        self.resume_lease = lease;
        self
    }

    /// The lifetime of a stored session whose refresh token has no stated expiry (default
    /// 24 h). A session with one lives until it.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.session_ttl = ttl;
        self
    }

    /// The clock that stamps and checks sealed expiries (default `SystemTime::now`).
    pub fn clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    /// See [`StoreOptions::command_timeout`].
    pub fn get_command_timeout(&self) -> Duration {
        self.command_timeout
    }

    /// See [`StoreOptions::login_ttl`].
    pub fn get_login_ttl(&self) -> Duration {
        self.login_ttl
    }

    /// See [`StoreOptions::resume_lease`].
    pub fn get_resume_lease(&self) -> Duration {
        self.resume_lease
    }

    /// See [`StoreOptions::session_ttl`].
    pub fn get_session_ttl(&self) -> Duration {
        self.session_ttl
    }

    /// The clock's current time.
    pub fn now(&self) -> SystemTime {
        (self.clock)()
    }
}

pub(crate) struct Inner {
    pub backend: Backend,
    pub keyring: Keyring,
    pub options: StoreOptions,
}

/// Paused logins and sessions, sealed, in memory or in Redis. Cheap to clone; clones share the
/// backend (one Redis connection).
///
/// ```
/// use login_store::{Store, StoreOptions, seal::{Keyring, SealKey}};
/// let store = Store::in_memory(Keyring::new(SealKey::generate("k1")?), StoreOptions::default());
/// let (logins, sessions) = (store.logins(), store.sessions());
/// # let _ = (logins, sessions);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.inner.backend {
            Backend::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("Store")
            .field("backend", &backend)
            .field("keyring", &self.inner.keyring)
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Store {
    /// A store in this process's memory: no server, nothing survives a restart, nothing is
    /// shared with other instances.
    pub fn in_memory(keyring: Keyring, options: StoreOptions) -> Store {
        Self::with_backend(Backend::Memory(Arc::default()), keyring, options)
    }

    /// A store on Redis, connected within the command timeout. The URL carries everything
    /// about the connection:
    ///
    /// - `redis://[user:password@]host[:port][/db]`: TCP,
    /// - `rediss://...`: TLS (rustls; the system's root certificates),
    /// - `redis+unix:///path/to/redis.sock[?db=N&user=U&pass=P]`: a Unix socket.
    ///
    /// Read the URL from the environment or a file: it may hold the password. It never appears
    /// in errors or logs.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use login_store::{Store, StoreOptions, seal::Keyring};
    /// let keyring = Keyring::from_file("/run/secrets/store-keys")?;
    /// let url = std::env::var("LOGIN_STORE_URL")?; // e.g. rediss://app:…@redis.internal:6380
    /// let store = Store::connect_redis(&url, keyring, StoreOptions::default()).await?;
    /// # let _ = store; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::InvalidUrl`] for an unusable URL, [`StoreError::Unavailable`] when Redis
    /// does not answer in time, [`StoreError::Refused`] when it refuses the credentials.
    #[cfg(feature = "redis")]
    pub async fn connect_redis(
        url: &str,
        keyring: Keyring,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let backend =
            crate::backend::redis::RedisBackend::connect(url, options.command_timeout).await?;
        Ok(Self::with_backend(
            Backend::Redis(backend),
            keyring,
            options,
        ))
    }

    fn with_backend(backend: Backend, keyring: Keyring, options: StoreOptions) -> Store {
        Store {
            inner: Arc::new(Inner {
                backend,
                keyring,
                options,
            }),
        }
    }

    /// The paused logins.
    pub fn logins(&self) -> LoginStore {
        LoginStore::new(self.clone())
    }

    /// The sessions.
    pub fn sessions(&self) -> SessionStore {
        SessionStore::new(self.clone())
    }

    /// The options.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.inner.keyring
    }
}

/// The time from `now` to `until`, or an expiry error when it has passed.
pub(crate) fn remaining(now: SystemTime, until: SystemTime) -> Result<Duration, StoreError> {
    match until.duration_since(now) {
        Ok(left) if left >= Duration::from_millis(1) => Ok(left),
        _ => Err(StoreError::Sealing(crate::seal::SealError::Expired {
            expires_at: until,
        })),
    }
}
