//! loginflow-gateway: the loginflow engine behind HTTP, the way a mobile back-end embeds it.
//!
//! Any number of instances behind a load balancer share one store (Redis): a login paused for
//! its OTP or captcha can be resumed on any instance, by one request at a time, and however
//! many instances hand out one session's tokens, one refresh reaches the bank per expiry.
//!
//! # The interface
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1/logins` `{"api": "cap"\|"ciam", "username", "password"}` | `201 {"status": "authenticated", "session", "expiresAt"}`, `202 {"status": "otp_required", "login", "channel", "refId"}`, or `202 {"status": "captcha_required", "login", "captcha": {"image": "data:image/png;base64,..."}}` |
//! | `POST /v1/logins/{login}/otp` `{"otp"}` | the same three shapes |
//! | `POST /v1/logins/{login}/captcha` `{"answer", "password"}` | the same three shapes |
//! | `GET /v1/sessions/{session}/token` + `Authorization: Bearer <internal API key>` | `200 {"accessToken", "expiresAt"}` (refreshed first when it expires within 60 s) |
//! | `DELETE /v1/sessions/{session}` + the key | `204` (internet banking: revoked at the bank) |
//! | `GET /healthz`, `GET /metrics` | liveness; Prometheus text |
//! | `GET /` | the login page |
//!
//! Errors are `{"error": KIND, "message"}` (see [`error`]); a refused captcha answer also
//! carries the next `"captcha"`. `expiresAt` of a session is when it ends (its refresh
//! token's expiry); of a token, when that access token expires.
//!
//! # Embedding
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use loginflow_gateway::{Gateway, GatewayConfig};
//! let config = GatewayConfig::load(std::path::Path::new("/etc/loginflow/gateway.json"))?;
//! let running = Gateway::new(config).await?.spawn().await?;
//! println!("listening on {}", running.url());
//! # Ok(()) }
//! ```

mod api;
pub mod config;
pub mod demo;
mod engine;
pub mod error;
pub mod metrics;
mod page;
pub mod reach;
mod records;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use base64::Engine as _;
use login_store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

pub use config::{ApiKey, ConfigError, GatewayConfig, SecretSource, StoreChoice};
pub use engine::{ApiChoice, LoginStep};
pub use error::ApiError;
pub use reach::ReachFile;

use config::StoreChoice as Choice;
use engine::{Banks, Engine};
use records::Records;

/// The largest request body accepted (larger: 413 `payload_too_large`).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Tokens that expire within this are refreshed before they are handed out.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be reached or its URL is not usable.
    #[error("the login store: {0}")]
    Store(#[from] login_store::StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The embedded sandbox (demo) did not start.
    #[error("the demo sandbox did not start: {0}")]
    Sandbox(String),
}

/// What every handler shares.
pub(crate) struct AppState {
    pub engine: Engine,
    pub api_key: ApiKey,
    pub csrf_key: Zeroizing<Vec<u8>>,
    pub secure_cookies: bool,
}

pub(crate) type Shared = Arc<AppState>;

/// A gateway, connected to its store, ready to serve.
pub struct Gateway {
    state: Shared,
    listen: SocketAddr,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listen", &self.listen)
            .field("store", &self.state.engine.store)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Connects to the store (Redis within its command timeout) and prepares the banks.
    ///
    /// # Errors
    /// [`StartError::Store`] when Redis cannot be reached, [`StartError::Config`].
    pub async fn new(config: GatewayConfig) -> Result<Self, StartError> {
        let metrics = metrics::Metrics::new();
        let banks = Banks::new(&config, &metrics)?;
        let options = config.store_options.clone();
        let timeout = options.get_command_timeout();
        let (store, records) = match &config.store {
            Choice::Memory => (Store::in_memory(config.keyring, options), Records::memory()),
            Choice::Redis(url) => {
                let store = Store::connect_redis(url, config.keyring, options).await?;
                (store, Records::redis(url, timeout).await?)
            }
        };
        let engine = Engine::new(
            banks,
            store,
            records,
            metrics,
            config.clock,
            config.refresh_margin,
        );
        Ok(Self {
            state: Arc::new(AppState {
                engine,
                api_key: config.api_key,
                csrf_key: config.csrf_key,
                secure_cookies: config.secure_cookies,
            }),
            listen: config.listen,
        })
    }

    /// The routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(page::index))
            .route("/login", post(page::start))
            .route("/login/otp", post(page::otp))
            .route("/login/captcha", post(page::captcha))
            .route("/v1/logins", post(api::start))
            .route("/v1/logins/{login}/otp", post(api::otp))
            .route("/v1/logins/{login}/captcha", post(api::captcha))
            .route("/v1/sessions/{session}/token", get(api::token))
            .route(
                "/v1/sessions/{session}",
                axum::routing::delete(api::end_session),
            )
            .route("/healthz", get(api::healthz))
            .route("/metrics", get(api::metrics))
            .fallback(api::no_route)
            .method_not_allowed_fallback(api::wrong_method)
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(self.state.clone())
    }

    /// The store (for inspection in tests and tools).
    pub fn store(&self) -> &Store {
        &self.state.engine.store
    }

    /// The configured listen address.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// Binds the configured address and serves in a background task until
    /// [`RunningGateway::shutdown`] (or drop).
    ///
    /// # Errors
    /// [`StartError::Bind`].
    pub async fn spawn(self) -> Result<RunningGateway, StartError> {
        let listen = self.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: listen,
            source,
        })?;
        let router = self.router();
        let metrics = self.state.engine.metrics.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // Histograms are drained into their buckets now and then, not on every record.
            let upkeep = tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    metrics.upkeep();
                }
            });
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            upkeep.abort();
            if let Err(e) = served {
                tracing::error!(error = %e, "the gateway stopped with an error");
            }
        });
        tracing::info!(%addr, "loginflow-gateway listening");
        Ok(RunningGateway {
            addr,
            stop: Some(stop),
            server: Some(server),
            state: self.state,
        })
    }
}

/// A gateway serving in the background.
pub struct RunningGateway {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    state: Shared,
}

impl std::fmt::Debug for RunningGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningGateway")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningGateway {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.state.engine.store
    }

    /// The metrics in the Prometheus text format.
    pub fn metrics(&self) -> String {
        self.state.engine.metrics.render()
    }

    /// Stops accepting, lets open requests finish, and waits.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Waits until the server stops (it runs until shutdown or a fatal error).
    pub async fn wait(mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A PNG as a `data:` URI.
pub(crate) fn png_data_uri(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// RFC 3339 in UTC with second precision: `2026-12-03T12:40:47Z`.
pub fn rfc3339(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_796_301_647)),
            "2026-12-03T12:40:47Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}
