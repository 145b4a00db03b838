//! login-transport: runs [`login_core`] request descriptions over HTTP.
//!
//! Two small traits are all the drivers need: [`Transport`] (blocking) and [`AsyncTransport`]
//! (async, `Send` futures). Two implementations come with the crate, each behind its feature:
//!
//! - `UreqTransport` (feature `ureq`): blocking, on ureq 3 with rustls; its agent pools
//!   keep-alive connections.
//! - `HyperTransport` (feature `hyper`): async on tokio, hyper 1's HTTP/1 connection API over a
//!   tokio socket (plus tokio-rustls). Each flow can take a `HyperSession`, which holds **one**
//!   connection for the whole flow and drives it inside the flow's own task: no spawned task,
//!   no thread. A finished session leaves its idle connection to the next one, so flows one
//!   after another do not dial again. The transport itself is an [`AsyncTransport`] too (each
//!   call takes a shelved connection or dials).
//!
//! # Features
//!
//! | feature | default | brings |
//! |---|---|---|
//! | `ureq` | yes | `UreqTransport` (ureq, rustls) |
//! | `hyper` | yes | `HyperTransport`, `HyperSession` (hyper, tokio, tokio-rustls); implies `tokio` |
//! | `tokio` | with `hyper` | `AsyncDriver` and `TokenKeeper` over any [`AsyncTransport`] |
//!
//! `tracing` and `metrics` are not features: both are facades, always built, that cost next to
//! nothing until the application installs a subscriber or a recorder ([`observe`]).
//!
//! With `default-features = false` and one of them, only that stack is built: a blocking
//! service builds neither tokio nor hyper, an async one no ureq, and a service with its own
//! client (`tokio` alone, see below) neither. TLS in both transports runs on aws-lc-rs, the
//! library login-core seals with, so a binary carries one crypto library.
//!
//! Both enforce the same [`TransportConfig`]: connect, header and whole-call timeouts, a response
//! body cap checked while reading, HTTPS except to loopback hosts (unless allowed), and no
//! redirect following (a 3xx comes back as a response, which login-core classifies as
//! `Error::Redirect`). Neither one retries anything: the drivers decide that.
//!
//! Both reach a bank from a data centre the same way: a [`ClientIdentity`] for mutual TLS,
//! private roots added to the public ones ([`TransportConfig::add_roots_pem`]) or replacing
//! them ([`TransportConfig::replace_roots_with_pem`]), and an HTTP [`Proxy`] (`CONNECT`, with
//! Basic credentials), explicit or from `HTTPS_PROXY`/`NO_PROXY` when asked
//! ([`TransportConfig::proxy_from_env`]). `HyperTransport` also takes a whole
//! `rustls::ClientConfig` (pinning, a custom verifier); ureq's stable API cannot, so
//! `UreqTransport` refuses one with a typed error.
//!
//! On top of the transports:
//!
//! - [`Driver`] and [`AsyncDriver`] run every flow of both APIs (realm login with or without OTP,
//!   forgot password, internet-banking login with captcha and 2FA, refresh, revoke), asking an
//!   [`Interaction`] for OTPs and captcha answers, repeating only throttled (429) calls within a
//!   [`RetryPolicy`], and stopping with a [`Stopped`] that keeps the state on any failure.
//! - `inspect_tls` (with either backend) performs one TLS handshake to the base URL's host and
//!   describes it (version, cipher suite, the chain presented, whether it verified), for
//!   onboarding tools such as `loginflow probe`.
//! - [`TokenKeeper`] (async) and [`BlockingTokenKeeper`] hold a session and hand out fresh
//!   access tokens, with one refresh request however many tasks or threads ask at once.
//! - [`cassette`]: [`Recording`](cassette::Recording) writes every exchange of any transport
//!   to a cassette file with each secret replaced by a placeholder, and
//!   [`Replay`](cassette::Replay) answers from one with no network.
//! - [`observe`]: each run is a `tracing` span with its HTTP calls inside it (OpenTelemetry's
//!   HTTP field names), and runs, calls, retries and refreshes are counted and timed through the
//!   [`metrics`] facade.
//!
//! See `docs/transport.md` for the choices behind each part and the measurements.
//!
//! # Plugging in your own client
//!
//! A transport turns a [`Request`] (method, path relative to the base URL, headers, body) into a
//! [`Response`] or a [`TransportError`]. login-core converts both to and from the `http`
//! crate's types ([`Request::to_http`], `Response: From<http::Response<Vec<u8>>>`), so a client
//! that speaks them plugs in with a few lines. reqwest, async (`examples/reqwest_transport.rs`
//! runs a whole login with it):
//!
//! ```no_run
//! use login_core::{Request, Response, TransportError, TransportErrorKind};
//! use login_transport::AsyncTransport;
//!
//! struct Reqwest {
//!     client: reqwest::Client, // built with redirect::Policy::none() and timeouts
//!     base: String,            // e.g. "https://bank.example/internal-api/centaur"
//! }
//!
//! impl AsyncTransport for Reqwest {
//!     async fn send(&self, request: &Request) -> Result<Response, TransportError> {
//!         let other = |e: &dyn std::fmt::Display| TransportError::new(TransportErrorKind::Other, e.to_string());
//!         let outgoing = request.to_http(&self.base).map_err(|e| other(&e))?;
//!         let outgoing = reqwest::Request::try_from(outgoing).map_err(|e| other(&e))?;
//!         let answer = self.client.execute(outgoing).await.map_err(|e| other(&e))?;
//!         let mut response = http::Response::builder().status(answer.status());
//!         for (name, value) in answer.headers() {
//!             response = response.header(name, value);
//!         }
//!         let body = answer.bytes().await.map_err(|e| other(&e))?; // cap it in real code
//!         Ok(Response::from(response.body(body.to_vec()).map_err(|e| other(&e))?))
//!     }
//! }
//! ```
//!
//! And blocking, on a ureq agent of your own (say, one with a proxy); any blocking client works
//! the same way:
//!
//! ```no_run
//! use login_core::{Request, Response, TransportError, TransportErrorKind};
//! use login_transport::Transport;
//!
//! struct MyClient {
//!     agent: ureq::Agent, // built with max_redirects(0) and http_status_as_error(false)
//!     base: String,       // e.g. "https://bank.example/internal-api/centaur"
//! }
//!
//! impl Transport for MyClient {
//!     fn send(&self, request: &Request) -> Result<Response, TransportError> {
//!         let url = format!("{}{}", self.base, request.path());
//!         let mut builder = ureq::http::Request::builder().method(request.method().as_str()).uri(url);
//!         for h in request.headers() {
//!             builder = builder.header(h.name(), h.value());
//!         }
//!         let other = |e: &dyn std::fmt::Display| TransportError::new(TransportErrorKind::Other, e.to_string());
//!         let http_request = builder.body(request.body().unwrap_or_default().to_vec()).map_err(|e| other(&e))?;
//!         let mut answer = self.agent.run(http_request).map_err(|e| other(&e))?;
//!         let body = answer.body_mut().with_config().limit(1 << 20).read_to_vec().map_err(|e| other(&e))?;
//!         let mut response = Response::new(answer.status().as_u16(), body);
//!         for (name, value) in answer.headers() {
//!             response = response.with_header(name.as_str(), value.to_str().unwrap_or_default());
//!         }
//!         Ok(response)
//!     }
//! }
//! ```
//!
//! An async client implements [`AsyncTransport`] with an `async fn`; the future must be `Send`:
//!
//! ```
//! use login_core::{Request, Response, TransportError};
//! use login_transport::AsyncTransport;
//!
//! /// Answers every call with 503: a stand-in for a real client.
//! struct AlwaysBusy;
//!
//! impl AsyncTransport for AlwaysBusy {
//!     async fn send(&self, _request: &Request) -> Result<Response, TransportError> {
//!         Ok(Response::new(503, b"{\"error\":\"busy\"}".to_vec()))
//!     }
//! }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::missing_errors_doc)]

pub mod cassette;
pub mod driver;
pub mod identity;
pub mod keeper;
pub mod observe;
pub mod policy;
pub mod proxy;

#[cfg(feature = "hyper")]
mod hyper;
#[cfg(any(feature = "ureq", feature = "hyper"))]
mod tls;
#[cfg(any(feature = "ureq", feature = "hyper"))]
mod tls_facts;
#[cfg(any(feature = "ureq", feature = "hyper"))]
mod tunnel;
#[cfg(feature = "ureq")]
mod ureq;

use std::future::Future;
use std::sync::Arc;

pub use login_core::{Request, Response, TransportError, TransportErrorKind};

#[cfg(feature = "tokio")]
pub use crate::driver::AsyncDriver;
pub use crate::driver::{
    Driver, Interaction, NoInteraction, Prompt, StateChange, StopReason, Stopped,
};
#[cfg(feature = "hyper")]
pub use crate::hyper::{HyperSession, HyperTransport};
pub use crate::identity::{ClientIdentity, IdentityProblem};
#[cfg(feature = "tokio")]
pub use crate::keeper::TokenKeeper;
pub use crate::keeper::{BlockingTokenKeeper, KeeperError, KeeperOptions};
pub use crate::policy::{ConfigError, RetryPolicy, Timeouts, TransportConfig, is_loopback_host};
pub use crate::proxy::Proxy;
#[cfg(any(feature = "ureq", feature = "hyper"))]
pub use crate::tls_facts::{TlsFacts, inspect_tls};
#[cfg(feature = "ureq")]
pub use crate::ureq::UreqTransport;

/// A blocking HTTP client: sends one request description and returns the response as received.
///
/// Contract for implementations: send exactly once (no retries), never follow redirects (return
/// the 3xx), return any status as a [`Response`] (not as an error), cap the body, and report
/// failures without putting request bodies or credentials into the error text.
pub trait Transport {
    /// Sends `request` and returns the response, whatever its status.
    ///
    /// # Errors
    /// A [`TransportError`] when no whole response came back: DNS, connect, TLS, a timeout, a
    /// reset, a body over the cap, a refused plain-HTTP URL.
    fn send(&self, request: &Request) -> Result<Response, TransportError>;
}

/// An async HTTP client with `Send` futures, so drivers run inside `tokio::spawn` and axum
/// handlers. The same contract as [`Transport`].
pub trait AsyncTransport: Send + Sync {
    /// Sends `request` and returns the response, whatever its status.
    ///
    /// # Errors
    /// As [`Transport::send`].
    fn send(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send;
}

impl<T: Transport + ?Sized> Transport for &T {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        (**self).send(request)
    }
}

impl<T: AsyncTransport> AsyncTransport for &T {
    fn send(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        (**self).send(request)
    }
}

impl<T: AsyncTransport> AsyncTransport for Arc<T> {
    fn send(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        (**self).send(request)
    }
}

// The README's examples run as doc tests here (this crate has the sandbox as a dev-dependency),
// so the README cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;

// And this crate's own README.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeExamples;
