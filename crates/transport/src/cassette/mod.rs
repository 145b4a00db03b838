//! Cassettes: record every exchange of a transport to a file that can be committed and
//! shared, and replay it later with no network.
//!
//! - [`Recording`] wraps any transport ([`Transport`](crate::Transport) or
//!   [`AsyncTransport`](crate::AsyncTransport)) and appends each exchange to a
//!   [`CassetteWriter`].
//! - [`Replay`] is a transport (both kinds) that answers from a cassette, matching each
//!   request against the next recorded one and failing with a readable diff
//!   ([`ReplayError`], carried in a [`TransportError`](login_core::TransportError) of kind
//!   `Cassette`) when the engine sends something the cassette did not record.
//!
//! # The format
//!
//! JSON Lines. The first line is a [`CassetteHeader`]: the format version, the API when the
//! recorder knew it, and what wrote it (no timestamps). Each further line is one
//! [`Exchange`], in the order the calls completed:
//!
//! ```text
//! {"cassette":1,"api":"ciam","createdBy":"loginflow 0.1.0"}
//! {"exchange":1,"step":"ciam.authorize","request":{"method":"POST","path":"/api/v1/authorize",
//!   "headers":[["Authorization","Bearer <device_token>"],["Content-Type","application/json"]],
//!   "body":{"clientId":"ib-web","codeChallenge":"<pkce_challenge#1>","codeChallengeMethod":"S256",
//!   "scope":"openid","state":"<state#1>"}},"response":{"status":200,"headers":[...],
//!   "body":{"authToken":"<auth_token#1>","loginChallenge":"<login_challenge#1>","state":"<state#1>"}},
//!   "elapsedMs":2}
//! ```
//!
//! (one line per exchange; wrapped here). Bodies that are JSON are kept as JSON values
//! (`body`), other text as `bodyText`, other bytes as `bodyBase64`; a transport failure is
//! recorded as `"error":{"kind","detail"}` in place of `response`.
//!
//! # Placeholders
//!
//! Which values are secret (or drawn fresh on every run) is login-core's knowledge:
//! [`login_core::redact`] lists the body fields and headers by name with their
//! [`SecretKind`](login_core::redact::SecretKind), and any header login-core marks sensitive is
//! a secret too. Each is written as a placeholder: `<password>`, `<otp>`, `<client_secret>`,
//! `<device_token>` for what the user types or configures; numbered ones for what the server
//! issues or the engine draws (`<access_token#1>`, `<access_token#2>` after a rotation,
//! `<state#1>`, `<pkce_verifier#1>`), the same number for the same value everywhere in the
//! cassette, so a token a response carried and a later request sent back are visibly the same.
//! A credential header keeps its scheme (`Bearer <flow_token#1>`). The sealed envelope is
//! `<envelope#n>`, with its decoded protected header beside it in `envelopes` (the ephemeral
//! key's coordinates as `<epk>`), never the ciphertext. A value replaced once is replaced
//! wherever it appears again, inside any other string too when 8 characters or longer.
//!
//! # Replay rules
//!
//! Requests are matched in order. Method and path must be equal, every recorded header present
//! with a matching value and no other, and the body the same structure: the same keys, the
//! same JSON types, equal values where the cassette has no placeholder. A placeholder matches
//! any non-empty string; a numbered one, once this run has given it a value, only that value.
//! An envelope must be a JWE whose protected header matches the recorded one. In a replayed
//! response, a placeholder this run has filled carries that value (the `state` echoed by
//! authorize is the `state` this run sent); any other numbered placeholder gets a synthetic
//! value (`replayed-access-token-1`), then keeps it. A recorded transport error is returned
//! as it was recorded. Running past the end is an error, as is any mismatch; neither advances
//! the replay.
//!
//! # Writing
//!
//! [`CassetteWriter::create`] makes the file with mode 0600 (Unix) and writes the header.
//! Each exchange is one line, written with one `write` of the whole line and flushed before
//! the call returns; concurrent calls append whole lines (a lock is held for the write, never
//! across an await). A crash leaves whole lines, and at worst a cut last line, which
//! [`Replay::open`] reports by its number. A line that cannot be written fails the call with a
//! `Cassette` transport error, so a run never ends with a record that silently misses a call.

mod diff;
mod format;
mod matcher;
mod placeholder;
mod record;
mod redact;
mod replay;

pub use diff::{Difference, ReplayError};
pub use format::{
    CassetteHeader, Exchange, Outcome, RecordedBody, RecordedError, RecordedRequest,
    RecordedResponse, VERSION,
};
pub use record::{CassetteInfo, CassetteWriter, Recording};
pub use replay::Replay;

/// A cassette that cannot be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// The file cannot be created, opened, read or written.
    #[error("cannot {action} the cassette {path}: {source}")]
    Io {
        /// `create`, `open`, `read`, `write`, ...
        action: &'static str,
        /// Which file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line could not be encoded (never for the engine's own requests).
    #[error("cannot encode a cassette line: {0}")]
    Encode(#[source] serde_json::Error),
    /// Nothing in it: not even the header line.
    #[error("the cassette is empty: its first line must be the header")]
    Empty,
    /// Another format version.
    #[error("the cassette is format version {found}; this build reads version {VERSION}")]
    Version {
        /// The version the header names.
        found: u64,
    },
    /// A line that is not a header or an exchange.
    #[error("line {line} of the cassette is not a cassette line: {reason}")]
    Line {
        /// Its number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Larger than a cassette ever is (64 MiB).
    #[error("the cassette is larger than 64 MiB")]
    TooLarge,
}
