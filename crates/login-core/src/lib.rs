//! login-core: a pure (sans-IO) engine for two bank login APIs, the realm API and the
//! internet-banking API.
//!
//! Each state is a type; each transition consumes its state and returns a [`Request`]
//! description plus a [`Pending`] value. Send the request however you like, feed the
//! [`Response`] back with the instant it arrived, and get the next state or a [`Failed`] that
//! gives the state back when the flow can go on. Time and randomness are always arguments; the
//! crate has no sockets, no clock reads and no async runtime.
//!
//! ```
//! use std::time::SystemTime;
//! use login_core::{realm, secret::{ClientSecret, Password}, Response};
//!
//! // The client secret comes from the environment or a file at run time, never from code.
//! let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
//! let now = SystemTime::now();
//!
//! let (request, pending) = realm::Start::new("alice", Password::new("pw")).request_login(&cfg);
//! assert_eq!((request.method().as_str(), request.path()), ("POST", "/auth/realm/cap/request"));
//! // ... a transport sends `request`; here is the server's answer:
//! let reply = Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"none"}"#.to_vec());
//! let realm::LoginStarted::Challenged(challenged) = pending.receive(&reply, now).unwrap() else {
//!     unreachable!("mfa none")
//! };
//! let (request, pending) = challenged.exchange(&cfg);
//! assert_eq!(request.path(), "/auth/realm/cap/token");
//! let reply = Response::new(201, br#"{"accessToken":"A","refreshToken":"R","expires":300}"#.to_vec());
//! let tokened = pending.receive(&reply, now).unwrap();
//! assert!(!tokened.needs_refresh(now, std::time::Duration::from_secs(60)));
//! ```
//!
//! Modules: [`realm`], [`forgot`] and [`ciam`] hold each API's states; [`flow`] the enum of all
//! states and snapshots; [`table`] the transition table and diagrams; [`seal`] the credential
//! envelope; [`pkce`]; [`secret`] the redacting, zeroizing secret types; [`redact`] which values
//! on the wire are secrets (for records of exchanges that can be shared); [`readings`] the
//! settings for the wire readings a bank may take the other way; [`contract`] the wire
//! contract as data (what the tests and `loginflow probe` measure against).

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::missing_errors_doc)]

pub mod action;
pub mod ciam;
pub mod contract;
pub mod entropy;
pub mod error;
pub mod flow;
pub mod forgot;
#[cfg(feature = "http")]
pub mod interop;
mod lenient;
pub mod pending;
pub mod pkce;
pub mod readings;
pub mod realm;
pub mod redact;
pub mod request;
pub mod response;
pub mod retry;
mod revoked;
pub mod runner;
pub mod seal;
pub mod secret;
pub mod session;
pub mod table;
pub mod token;
pub mod tokened;
mod wire;

pub use action::{Action, Bank, Begun, Env, PendingFlow, Profile};
pub use error::{Error, ErrorKind, ServerError, TransportError, TransportErrorKind};
pub use flow::{Flow, SnapshotError};
#[cfg(feature = "http")]
pub use interop::HttpConversionError;
pub use pending::{Failed, Pending, Step, SuccessStatus};
pub use request::{Header, Method, Request};
pub use response::Response;
pub use retry::RetryPolicy;
pub use runner::{Answer, Goal, Next, Question, RunPolicy, Runner, StopReason, Stopped};
pub use session::Session;
pub use token::TokenSet;

// The crate README's example runs as a doc test, so it cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
