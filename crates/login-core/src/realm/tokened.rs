//! Realm `Tokened`: a session with tokens; refresh rotates them, revoke is local.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{RealmConfig, Revoked};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::table::StepId;
use crate::token::TokenSet;
use crate::{Error, Request, Response};

/// A logged-in realm session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tokened {
    tokens: TokenSet,
}

impl Tokened {
    pub(crate) fn new(tokens: TokenSet) -> Self {
        Self { tokens }
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        self.tokens.check()
    }

    /// The tokens.
    pub fn tokens(&self) -> &TokenSet {
        &self.tokens
    }

    /// Whether the access token expires within `margin` of `now`.
    pub fn needs_refresh(&self, now: SystemTime, margin: Duration) -> bool {
        self.tokens.needs_refresh(now, margin)
    }

    /// `PATCH /auth/realm/{realmId}/token` with `clientId` and `refreshToken`.
    pub fn refresh(self, cfg: &RealmConfig) -> (Request, Pending<RefreshStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            client_id: &'a str,
            refresh_token: &'a str,
        }
        let request = cfg.request(StepId::RealmRefresh).json(&Body {
            client_id: cfg.client_id(),
            refresh_token: self.tokens.refresh_token().expose(),
        });
        (
            request,
            Pending::new(RefreshStep { state: self }, cfg.success()),
        )
    }

    /// Ends the session locally: this API has no revoke endpoint, so no request is made and the
    /// tokens are dropped (and zeroed).
    pub fn revoke(self) -> Revoked {
        drop(self.tokens);
        Revoked::local()
    }
}

/// In flight: refresh.
#[derive(Debug)]
pub struct RefreshStep {
    state: Tokened,
}

impl sealed::Sealed for RefreshStep {}

impl Step for RefreshStep {
    type Next = Tokened;
    type State = Tokened;
    const ID: StepId = StepId::RealmRefresh;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(self, response: &Response, now: SystemTime) -> Result<Tokened, Failed<Tokened>> {
        TokenSet::from_response(response, now)
            .map(Tokened::new)
            .map_err(|e| Failed::keep_unless_final(e, self.state))
    }

    fn on_failure(self, error: Error) -> Failed<Tokened> {
        Failed::keep_unless_final(error, self.state)
    }
}
