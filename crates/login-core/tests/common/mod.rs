//! Shared test code, one module per kind of knowledge:
//!
//! - [`oracle`]: canary secrets, an independent JWE opener and S256 (RustCrypto, not the
//!   engine's crypto);
//! - [`contract`]: the wire contract as data (routes, headers, body fields, constants) and a
//!   request checker;
//! - [`carried`]: what each request must carry from the inputs and earlier replies;
//! - [`replies`]: canned server replies of every class;
//! - [`fixture`]: configurations, inputs and reaching states through the engine's one face.

#![allow(dead_code, unused_imports)]

pub mod carried;
pub mod contract;
pub mod fixture;
pub mod oracle;
pub mod replies;

pub use carried::*;
pub use contract::*;
pub use fixture::*;
pub use oracle::*;
pub use replies::*;
