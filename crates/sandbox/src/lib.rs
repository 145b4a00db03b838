//! login-sandbox: a reference bank auth server for both login APIs of the project's wire
//! contract (`shared/wire-contract.md`), for offline development and end-to-end tests.
//!
//! - **Realm API** under `/internal-api/centaur`: request login (mfa none/otp per user),
//!   token, refresh (PATCH, with rotation), forgot password → verify OTP → reset password.
//! - **Internet-banking API** at the root, on both route sets (`/api/v1/...` and
//!   `/ciamauthsrvc/...`): authorize (device token, PKCE S256, `state`), captcha, login challenge
//!   (JWE credential envelope, captcha, password, anomaly → 2FA), pre-login verify, access token
//!   (single-use code, PKCE verifier, `state`, `scope`, redirect URI), refresh with rotation and
//!   reuse detection, revoke.
//! - **What a real server holds:** argon2id password hashes (OWASP parameters by default),
//!   hashed on blocking threads with one hash per core at a time; constant-time secret
//!   comparisons; OTPs single use, 5 attempts counted before the comparison, 5-minute life;
//!   lockout (423) that lifts after a window and does not reveal which usernames exist;
//!   throttling (429 + `Retry-After`); a body limit (413); every error as
//!   `{"error","message"}`.
//! - **For developers:** JSON config, or none: `login-sandbox` without `--config` runs
//!   [`SandboxConfig::development`] and prints its users, passwords and fixed OTP on stderr; a
//!   start page at `GET /` (users, base URLs, links); a dev outbox of "sent" OTPs
//!   (`GET /_sandbox/outbox`, and newest first as a page at `GET /_sandbox/outbox.html`); a
//!   fixed OTP and captcha for tests; sessions started and refresh requests per session
//!   (`GET /_sandbox/refreshes`); the public JWK at `GET /api/v1/jwks.json`; the OpenAPI
//!   document at `GET /openapi.json` (see [`openapi`] for what it promises) and Swagger UI at
//!   `GET /docs/`; one log line per request ([`request_log`]).
//!
//! # Readings (where the contract leaves the server a choice)
//!
//! | situation | answer |
//! |---|---|
//! | malformed JSON, missing field, wrong type | 400 `invalid_request` (the message names a missing field, never echoes a value) |
//! | body over `maxBodyBytes` (64 KiB) | 413 `invalid_request` |
//! | unknown route / wrong method | 404 `not_found` / 405 `invalid_request` |
//! | unknown realm id | 404 `not_found` |
//! | wrong client id or secret | 401 `invalid_credentials` |
//! | wrong password, or unknown username (same message, same timing: dummy argon2 hash) | 401 `invalid_credentials` |
//! | `lockout.threshold` (5) wrong passwords within `lockout.windowSecs` (300 s) | every attempt for that username, right or wrong, gets 423 `locked` (with `Retry-After`) until the window ends |
//! | throttled (`throttle.loginPerUser` 30/60 s, `otpSendPerUser` 10/60 s, `requestsPerIp` off) | 429 `rate_limited` + `Retry-After`; nothing else was done |
//! | missing/unknown device token, missing bearer, or a challenge used from another device | 401 `invalid_token` |
//! | realm token: unknown or used `reqId` / expired `reqId` | 404 `not_found` / 404 `expired` |
//! | realm token: `mfa` `otp` without `otp`, or a `refId` that differs | 400 `invalid_request` (no attempt counted) |
//! | wrong OTP (attempts 1–5) | 401 `invalid_otp` ("N attempt(s) left") |
//! | 6th attempt on one OTP, right code or not; expired OTP | 404 `expired`: the request is spent; start again |
//! | forgot password for an unknown username | 201 as usual, but no OTP is sent and none ever verifies (401 `invalid_otp`) |
//! | reset ticket missing, unknown, used or expired | 401 `invalid_token`; a too short `newPassword` (< 8) is 400 and keeps the ticket |
//! | authorize: `codeChallengeMethod` not `S256` (or absent), `codeChallenge` not 43 base64url chars | 400 `invalid_request` (PKCE downgrade) |
//! | login challenge unknown / expired | 404 `not_found` / 404 `expired` (also for the captcha fetch) |
//! | envelope does not open, wrong `kid`, other challenge's `authToken`, `iat` off by > 300 s | 400 `invalid_request`; the challenge stays usable |
//! | `captchaRequired` and no captcha in the envelope / wrong, used, replaced or expired captcha | 400 `captcha_required` / 400 `invalid_captcha` |
//! | access token: bearer not the code's, unknown or expired code | 401 `invalid_token` |
//! | access token: a code used before | 401 `invalid_token`, and the session issued for it is revoked (RFC 6749 §4.1.2) |
//! | access token: `grantType`, `redirectUri`, `state`, `scope` or PKCE verifier wrong/missing | 400 `invalid_request`; the code stays usable until it succeeds or expires |
//! | refresh: unknown, expired, other API's, or revoked session | 401 `invalid_token` |
//! | refresh: a rotated-away refresh token (reuse) | 401 `invalid_token`, and the whole session family is revoked |
//! | internet-banking refresh: `scope` differs from the session's | 400 `invalid_request` |
//!
//! The login challenge stays valid until it succeeds or expires, so a wrong password or captcha
//! can be retried on it; any attempt that reaches the captcha check uses the captcha up. The
//! anomaly rule is described in [`anomaly`]. Realm `exp` and every lifetime are configurable
//! (`lifetimes` in the config).
//!
//! # Deviations on demand
//!
//! The config section `deviations` (off by default) makes the sandbox read or answer the wire
//! the way another bank might: 200 for 201, numbers as strings, `scope` as an array, unknown
//! fields, a missing `refId`, HTML error pages, `text/plain`, `Retry-After` as a date, a
//! redirected step, another envelope field, absolute expiry times, a refresh without
//! `clientId`, another captcha header, `A128GCM`, the realm `scope` as one string. See
//! [`deviation`] for each key and the
//! client setting that fits it.
//!
//! Server decisions live in HTTP-free modules ([`otp`], [`captcha`], [`lockout`],
//! [`throttle`], [`tokens`], [`passwords`], [`jwe`], [`anomaly`], and the flows in
//! [`flows`]) over a [`store::Store`]; [`routes`] is a thin axum front end.
//!
//! # Use from a test
//!
//! ```
//! use login_sandbox::{Sandbox, SandboxConfig};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let sandbox = Sandbox::start(SandboxConfig::for_tests()).await.unwrap();
//! let base = sandbox.base_url(); // "http://127.0.0.1:PORT"
//! assert!(base.starts_with("http://127.0.0.1:"));
//! assert_eq!(sandbox.realm_base_url(), format!("{base}/internal-api/centaur"));
//! assert!(sandbox.public_jwk_json().contains("\"crv\":\"P-256\""));
//! assert!(sandbox.outbox().await.is_empty());
//! sandbox.shutdown().await;
//! # });
//! ```
//!
//! From a non-async test, [`spawn_blocking_sandbox`] runs it on its own runtime:
//!
//! ```
//! let sandbox = login_sandbox::spawn_blocking_sandbox(login_sandbox::SandboxConfig::for_tests()).unwrap();
//! let url = format!("{}/api/v1/jwks.json", sandbox.base_url());
//! # let _ = url;
//! drop(sandbox); // stops the server
//! ```

pub mod anomaly;
pub mod app;
pub mod captcha;
pub mod cli;
pub mod config;
pub mod deviation;
pub mod error;
pub mod flows;
pub mod jwe;
pub mod lockout;
pub mod openapi;
pub mod otp;
pub mod passwords;
pub mod request_log;
pub mod routes;
pub mod secret;
pub mod store;
pub mod throttle;
pub mod time;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::SandboxConfig;
pub use error::{ApiError, ErrorCode};
pub use store::OutboxEntry;

use app::App;
use jwe::ServerKey;
use store::{MemoryStore, Store};

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The key file could not be read or parsed.
    #[error("cannot load the private JWK from {path}: {reason}")]
    Key {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Setting up the server failed (argon2 parameters, hashing, runtime).
    #[error("cannot start the sandbox: {0}")]
    Setup(String),
}

/// Starts sandboxes.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Validates `config`, hashes the users' passwords, binds `config.listen` (default
    /// `127.0.0.1:0`) and serves until [`RunningSandbox::shutdown`].
    ///
    /// # Errors
    /// [`SandboxError`] when the config, the key or the address is unusable.
    pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
        Self::start_with_store(config, Arc::new(MemoryStore::default())).await
    }

    /// [`Sandbox::start`] over a given store (empty: the users are written into it).
    ///
    /// # Errors
    /// As [`Sandbox::start`].
    pub async fn start_with_store(
        config: SandboxConfig,
        store: Arc<dyn Store>,
    ) -> Result<RunningSandbox, SandboxError> {
        config.validate()?;
        let key = match &config.private_jwk_file {
            None => ServerKey::generate(),
            Some(path) => {
                let key_error = |reason: String| SandboxError::Key {
                    path: path.clone(),
                    reason,
                };
                let text = std::fs::read_to_string(path).map_err(|e| key_error(e.to_string()))?;
                ServerKey::from_private_jwk(&text).map_err(key_error)?
            }
        };
        let listen = config.listen;
        let app = Arc::new(
            App::new(config, store, key)
                .await
                .map_err(|e| SandboxError::Setup(e.message))?,
        );
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: listen,
            source,
        })?;
        let router = openapi::router(app.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let purge_store = app.store.clone();
        let purger = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                store::purge_all(purge_store.as_ref(), time::Timestamp::now()).await;
            }
        });
        let server = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let result = axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await;
            purger.abort();
            if let Err(e) = result {
                tracing::error!(error = %e, "the sandbox server stopped with an error");
            }
        });
        tracing::info!(%addr, "login-sandbox listening");
        Ok(RunningSandbox {
            addr,
            app,
            stop: Some(stop_tx),
            server: Some(server),
        })
    }
}

/// A sandbox serving on a local address. Dropping it without [`RunningSandbox::shutdown`]
/// also asks the server to stop, without waiting.
#[derive(Debug)]
pub struct RunningSandbox {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl RunningSandbox {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, the internet-banking base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The realm API's base URL: [`RunningSandbox::base_url`] + `/internal-api/centaur`.
    pub fn realm_base_url(&self) -> String {
        format!("{}/internal-api/centaur", self.base_url())
    }

    /// The credential-envelope public key as a JWK JSON object.
    pub fn public_jwk_json(&self) -> String {
        self.app.key.public_jwk().to_owned()
    }

    /// The OTPs "sent" so far, oldest first (also `GET /_sandbox/outbox`).
    pub async fn outbox(&self) -> Vec<OutboxEntry> {
        self.app.store.outbox().entries().await
    }

    /// The server's shared context (config, store, policies), for white-box tests.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops accepting, lets open requests finish, and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A sandbox on its own tokio runtime, for non-async tests; dropping it stops the server.
///
/// Do not drop it inside an async context (dropping a runtime there panics).
#[derive(Debug)]
pub struct BlockingSandbox {
    running: Option<RunningSandbox>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// Starts a sandbox on a new multi-thread runtime owned by the returned handle.
///
/// # Errors
/// As [`Sandbox::start`], or when the runtime cannot be built.
pub fn spawn_blocking_sandbox(config: SandboxConfig) -> Result<BlockingSandbox, SandboxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("login-sandbox")
        .build()
        .map_err(|e| SandboxError::Setup(format!("cannot build a tokio runtime: {e}")))?;
    let running = runtime.block_on(Sandbox::start(config))?;
    Ok(BlockingSandbox {
        running: Some(running),
        runtime: Some(runtime),
    })
}

impl BlockingSandbox {
    fn running(&self) -> &RunningSandbox {
        #[allow(clippy::expect_used)]
        self.running
            .as_ref()
            .expect("the sandbox runs until dropped")
    }

    /// See [`RunningSandbox::base_url`].
    pub fn base_url(&self) -> String {
        self.running().base_url()
    }

    /// See [`RunningSandbox::realm_base_url`].
    pub fn realm_base_url(&self) -> String {
        self.running().realm_base_url()
    }

    /// See [`RunningSandbox::public_jwk_json`].
    pub fn public_jwk_json(&self) -> String {
        self.running().public_jwk_json()
    }

    /// See [`RunningSandbox::local_addr`].
    pub fn local_addr(&self) -> SocketAddr {
        self.running().local_addr()
    }

    /// See [`RunningSandbox::outbox`].
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        match &self.runtime {
            Some(rt) => rt.block_on(self.running().outbox()),
            None => Vec::new(),
        }
    }

    /// See [`RunningSandbox::app`].
    pub fn app(&self) -> &Arc<App> {
        self.running().app()
    }
}

impl Drop for BlockingSandbox {
    fn drop(&mut self) {
        if let (Some(running), Some(runtime)) = (self.running.take(), self.runtime.take()) {
            runtime.block_on(running.shutdown());
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

// The crate README's example compiles as a doc test, so it cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
