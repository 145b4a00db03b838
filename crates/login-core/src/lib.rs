//! login-core: a pure (sans-IO) engine for two bank login APIs.
#![doc = "Work in progress."]

pub mod entropy;
pub mod error;
pub mod pkce;
pub mod seal;
pub mod request;
pub mod response;
pub mod secret;
pub mod table;

pub use error::{Error, ErrorKind, ServerError, TransportError, TransportErrorKind};
pub use request::{Header, Method, Request};
pub use response::Response;
