//! login-store: paused logins and sessions kept for several instances of a service behind a load
//! balancer, sealed, in memory or in Redis; and one token refresh across all of them.
//!
//! - [`seal`]: every value is a login-core snapshot encrypted and authenticated with AES-256-GCM
//!   (aws-lc-rs) under a rotating [`seal::Keyring`], bound to its store key, with its expiry
//!   inside. The store sees ciphertext only; a flow holding the user's password (realm `Start`)
//!   is refused.
//! - [`LoginStore`]: a paused login (waiting for an OTP or a captcha answer) is put with its own
//!   lifetime, taken by exactly one caller at a time (Redis `GETDEL`), put back after a
//!   retryable refusal such as a wrong OTP, and finished.
//! - [`SessionStore`]: versioned sessions with compare-and-set, and a refresh lock (`SET NX PX`)
//!   whose fencing version keeps a stalled holder from overwriting a newer session.
//! - [`SharedTokenKeeper`]: hands out a session's access token; when it is about to expire, one
//!   refresh request reaches the bank however many tasks on however many instances ask.
//!
//! Two backends: [`Store::in_memory`] (no server; one process) and [`Store::connect_redis`]
//! (feature `redis`, on by default). Atomicity comes from Redis itself: each operation is a
//! single command or Lua script. The key layout and the scripts are in the crate README.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::SystemTime;
//! use login_core::{Flow, Response, realm, secret::{ClientSecret, Password}};
//! use login_store::{LoginId, Store, StoreOptions, seal::Keyring};
//!
//! // Keys come from a file or the environment at run time: `kid:base64key` lines.
//! # unsafe { std::env::set_var("LOGIN_STORE_KEYS", "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="); }
//! let keyring = Keyring::from_env("LOGIN_STORE_KEYS")?;
//! let store = Store::in_memory(keyring, StoreOptions::default());
//!
//! // A realm login paused for its OTP (in a service: the flow a driver stopped with).
//! let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
//! let (_request, pending) = realm::Start::new("bob", Password::new("pw")).request_login(&cfg);
//! let reply = Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"otp"}"#.to_vec());
//! let Ok(realm::LoginStarted::MfaPending(paused)) = pending.receive(&reply, SystemTime::now()) else {
//!     unreachable!()
//! };
//!
//! let id = LoginId::generate()?;             // give this to the client
//! store.logins().put(&id, &Flow::from(paused)).await?;
//! // ... the OTP arrives at another instance:
//! let Flow::Realm(realm::State::MfaPending(_resumed)) = store.logins().take(&id).await? else {
//!     unreachable!()
//! };
//! # Ok(()) }
//! ```

mod backend;
mod error;
mod id;
pub mod keeper;
pub mod login;
pub mod seal;
pub mod session;
mod store;

pub use error::StoreError;
pub use id::{ID_LEN, IdError, LoginId, SessionId};
pub use keeper::{SharedKeeperError, SharedKeeperOptions, SharedTokenKeeper};
pub use login::LoginStore;
pub use session::{RefreshLock, SessionStore, Version, Versioned};
pub use store::{Store, StoreOptions};

/// The Lua scripts the Redis backend runs, for review and for operators (each runs atomically
/// in Redis and touches the keys of one id only).
#[cfg(feature = "redis")]
pub mod scripts {
    pub use crate::backend::redis::{
        INSERT_SESSION, LOCK_SESSION, PUT_BACK_LOGIN, REMOVE_FENCED, TAKE_LOGIN, UNLOCK,
        VERSIONED_WRITE,
    };
}

// The README's examples run as doc tests, so the README cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
