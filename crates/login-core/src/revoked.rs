//! `Revoked`: terminal. No method leads anywhere from here.

use serde::Serialize;

/// A session that has ended. It holds no tokens.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Revoked {
    pub(crate) sent_request: bool,
}

impl Revoked {
    /// Revoked locally, without a request (the realm API has no revoke endpoint).
    pub(crate) fn local() -> Self {
        Self {
            sent_request: false,
        }
    }

    /// Revoked by the server.
    pub(crate) fn remote() -> Self {
        Self { sent_request: true }
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        Ok(())
    }

    /// Whether a revoke request reached the server; `false` for the realm API, where revoking
    /// only drops the tokens on this side (the server's refresh token stays valid until it
    /// expires).
    pub fn sent_request(&self) -> bool {
        self.sent_request
    }
}
