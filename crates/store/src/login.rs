//! Paused logins: a flow waiting for an OTP or a captcha answer, resumable on any instance by
//! exactly one caller at a time.
//!
//! The life of a paused login:
//!
//! 1. [`LoginStore::put`]: the flow, sealed, under a fresh [`LoginId`], living as long as the
//!    flow itself (a realm login request's `exp`; otherwise [`StoreOptions::login_ttl`]).
//! 2. [`LoginStore::take`]: removes it (Redis `GETDEL`) and marks the login as being resumed, so
//!    one caller gets the flow and every concurrent caller gets [`StoreError::Busy`].
//! 3. Then one of:
//!    - [`LoginStore::put_back`] after a refusal the user can retry (a wrong OTP): the flow
//!      the driver gave back is stored again and the mark cleared;
//!    - [`LoginStore::finish`] when the login is over (logged in, or failed for good).
//!
//! A taker that crashes between `take` and either of these loses the login (it was taken
//! once), and other callers see `Busy` until the resume lease ends, then `NotFound`.
//!
//! [`StoreOptions::login_ttl`]: crate::StoreOptions::login_ttl
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::SystemTime;
//! use login_core::{Flow, Response, realm, secret::{ClientSecret, Password}};
//! use login_store::{LoginId, Store, StoreError, StoreOptions, seal::{Keyring, SealKey}};
//!
//! // A realm login paused for its OTP.
//! let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
//! let (_request, pending) = realm::Start::new("bob", Password::new("pw")).request_login(&cfg);
//! let reply = Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"otp"}"#.to_vec());
//! let Ok(realm::LoginStarted::MfaPending(mfa)) = pending.receive(&reply, SystemTime::now()) else {
//!     unreachable!()
//! };
//! let paused = Flow::from(mfa);
//!
//! let store = Store::in_memory(Keyring::new(SealKey::generate("k1")?), StoreOptions::default());
//! let logins = store.logins();
//! let id = LoginId::generate()?;
//! logins.put(&id, &paused).await?;
//!
//! let flow = logins.take(&id).await?;               // this caller resumes it
//! assert_eq!(logins.take(&id).await.unwrap_err(), StoreError::Busy); // any other waits
//! logins.put_back(&id, &flow).await?;               // the OTP was wrong: try again later
//! let flow = logins.take(&id).await?;
//! logins.finish(&id).await?;                        // logged in
//! assert_eq!(logins.take(&id).await.unwrap_err(), StoreError::NotFound);
//! # let _ = flow; Ok(()) }
//! ```

use std::fmt;
use std::time::SystemTime;

use login_core::{Flow, realm};

use crate::backend::{LoginKeys, Taken};
use crate::error::StoreError;
use crate::id::LoginId;
use crate::store::{Store, remaining};

/// The paused logins of a [`Store`]. Cheap to clone.
#[derive(Clone)]
pub struct LoginStore {
    store: Store,
}

impl fmt::Debug for LoginStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LoginStore").field(&self.store).finish()
    }
}

/// When a flow itself expires, when it says.
fn flow_expiry(flow: &Flow) -> Option<SystemTime> {
    match flow {
        Flow::Realm(realm::State::Challenged(c)) => c.expires_at(),
        Flow::Realm(realm::State::MfaPending(m)) => m.expires_at(),
        _ => None,
    }
}

impl LoginStore {
    pub(crate) fn new(store: Store) -> Self {
        Self { store }
    }

    /// Seals a flow for its login key and gives its expiry and TTL.
    fn seal(
        &self,
        keys: &LoginKeys,
        flow: &Flow,
    ) -> Result<(Vec<u8>, std::time::Duration), StoreError> {
        let inner = &self.store.inner;
        let now = inner.options.now();
        let cap = now + inner.options.get_login_ttl();
        let expires_at = flow_expiry(flow).map_or(cap, |own| own.min(cap));
        let ttl = remaining(now, expires_at)?;
        let sealed = inner
            .keyring
            .seal_flow(keys.login.as_bytes(), expires_at, flow)?;
        Ok((sealed, ttl))
    }

    /// Stores a paused flow under a new id, for as long as the flow lives (a realm login
    /// request's `exp`, capped by [`StoreOptions::login_ttl`](crate::StoreOptions::login_ttl)).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id is in use, [`StoreError::Sealing`] with
    /// `HoldsPassword` for a realm flow in `Start` or `Expired` for a flow already expired, and
    /// the backend's errors ([`StoreError::Unavailable`], ...).
    pub async fn put(&self, id: &LoginId, flow: &Flow) -> Result<(), StoreError> {
        let keys = LoginKeys::new(id);
        let (sealed, ttl) = self.seal(&keys, flow)?;
        if self
            .store
            .inner
            .backend
            .put_login(&keys, &sealed, ttl)
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    /// Takes a paused flow to resume it: removes it from the store and marks the login as being
    /// resumed. Exactly one of any number of concurrent callers (on any instance) gets it.
    ///
    /// # Errors
    /// [`StoreError::Busy`] when another caller took it and has not put it back or finished,
    /// [`StoreError::NotFound`] when there is no such login (never stored, finished, expired),
    /// [`StoreError::Sealing`] when the value does not open (it is gone then), and the
    /// backend's errors.
    pub async fn take(&self, id: &LoginId) -> Result<Flow, StoreError> {
        let inner = &self.store.inner;
        let keys = LoginKeys::new(id);
        let sealed = match inner
            .backend
            .take_login(&keys, inner.options.get_resume_lease())
            .await?
        {
            Taken::Value(sealed) => sealed,
            Taken::Busy => return Err(StoreError::Busy),
            Taken::Missing => return Err(StoreError::NotFound),
        };
        match inner
            .keyring
            .open_flow(keys.login.as_bytes(), inner.options.now(), &sealed)
        {
            Ok(flow) => Ok(flow),
            Err(e) => {
                // The login is lost; do not leave others waiting on a resume that cannot come.
                tracing::warn!(error = %e, "a taken login did not open");
                if let Err(clear) = inner.backend.finish_login(&keys).await {
                    tracing::warn!(error = %clear, "could not clear the resuming mark");
                }
                Err(StoreError::Sealing(e))
            }
        }
    }

    /// Puts a taken flow back (after a refusal the user can retry, such as a wrong OTP; store
    /// the flow the driver gave back), for the rest of its life, and ends the resume.
    ///
    /// # Errors
    /// As [`LoginStore::put`], except that an existing value is replaced.
    pub async fn put_back(&self, id: &LoginId, flow: &Flow) -> Result<(), StoreError> {
        let keys = LoginKeys::new(id);
        let (sealed, ttl) = self.seal(&keys, flow)?;
        self.store
            .inner
            .backend
            .put_back_login(&keys, &sealed, ttl)
            .await
    }

    /// Ends the resume of a taken login that is over (logged in, or failed for good): later
    /// takes get [`StoreError::NotFound`] instead of [`StoreError::Busy`].
    ///
    /// # Errors
    /// The backend's errors.
    pub async fn finish(&self, id: &LoginId) -> Result<(), StoreError> {
        self.store
            .inner
            .backend
            .finish_login(&LoginKeys::new(id))
            .await
    }
}
