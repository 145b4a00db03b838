//! Internet-banking `Tokened`: refresh rotates the tokens; revoke ends the session on the server.

use std::time::SystemTime;

use serde::Serialize;

use super::{CiamProfile, Revoked, bearer};
use crate::forgot::check_success_body;
use crate::pending::{Failed, Pending, Step, sealed};
use crate::readings::ScopeJson;
use crate::table::StepId;
use crate::{Request, Response};

/// Marker for [`Tokened`]: the internet-banking API.
#[derive(Debug, Clone, Copy)]
pub enum CiamApi {}

/// A logged-in session of the internet-banking API.
pub type Tokened = crate::tokened::Tokened<CiamApi>;

impl Tokened {
    /// `POST` refresh (no `Authorization`) with `clientId`, `grantType`, `refreshToken`, `scope`.
    pub fn refresh(self, cfg: &CiamProfile) -> (Request, Pending<RefreshStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            client_id: &'a str,
            grant_type: &'a str,
            refresh_token: &'a str,
            scope: ScopeJson<'a>,
        }
        let request = cfg.request(StepId::CiamRefresh).json(&Body {
            client_id: cfg.client_id(),
            grant_type: "refresh_token",
            refresh_token: self.tokens().refresh_token().expose(),
            scope: cfg.scope_json(),
        });
        (
            request,
            Pending::new(RefreshStep::new(self), cfg.receive_readings()),
        )
    }

    /// `POST` revoke with `Bearer <accessToken>` and `clientId`.
    pub fn revoke(self, cfg: &CiamProfile) -> (Request, Pending<RevokeStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            client_id: &'a str,
        }
        let request = cfg
            .request(StepId::CiamRevoke)
            .header(bearer(self.tokens().access_token().expose()))
            .json(&Body {
                client_id: cfg.client_id(),
            });
        (
            request,
            Pending::new(RevokeStep { state: self }, cfg.receive_readings()),
        )
    }
}

/// In flight: refresh.
pub type RefreshStep = crate::tokened::RefreshStep<CiamApi>;

impl crate::pending::sealed::Sealed for CiamApi {}

impl crate::tokened::TokenedApi for CiamApi {
    const REFRESH: StepId = StepId::CiamRefresh;
}

/// In flight: revoke.
#[derive(Debug)]
pub struct RevokeStep {
    state: Tokened,
}

impl sealed::Sealed for RevokeStep {}

impl Step for RevokeStep {
    type Next = Revoked;
    type State = Tokened;
    const ID: StepId = StepId::CiamRevoke;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(
        self,
        response: &Response,
        _now: SystemTime,
        _expiry: crate::readings::ExpiryForm,
    ) -> Result<Revoked, Failed<Tokened>> {
        match check_success_body(response) {
            Ok(()) => Ok(Revoked::remote()),
            Err(e) => Err(Failed::keep_unless_final(e, self.state)),
        }
    }

    fn into_state(self) -> Tokened {
        self.state
    }
}
