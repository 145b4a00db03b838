//! Realm `Tokened`: a session with tokens; refresh rotates them, revoke is local.

use std::time::SystemTime;

use serde::Serialize;

use super::{RealmProfile, Revoked};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::table::StepId;
use crate::token::TokenSet;
use crate::{Request, Response};

/// Marker for [`Tokened`]: the realm API.
#[derive(Debug, Clone, Copy)]
pub enum RealmApi {}

/// A logged-in session of the realm API.
pub type Tokened = crate::tokened::Tokened<RealmApi>;

impl Tokened {
    /// `PATCH /auth/realm/{realmId}/token` with `clientId` and `refreshToken`.
    pub fn refresh(self, cfg: &RealmProfile) -> (Request, Pending<RefreshStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            client_id: &'a str,
            refresh_token: &'a str,
        }
        let request = cfg.request(StepId::RealmRefresh).json(&Body {
            client_id: cfg.client_id(),
            refresh_token: self.tokens().refresh_token().expose(),
        });
        (
            request,
            Pending::new(RefreshStep { state: self }, cfg.success()),
        )
    }

    /// Ends the session locally: this API has no revoke endpoint, so no request is made and the
    /// tokens are dropped (and zeroed).
    pub fn revoke(self) -> Revoked {
        drop(self);
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

    fn into_state(self) -> Tokened {
        self.state
    }
}
