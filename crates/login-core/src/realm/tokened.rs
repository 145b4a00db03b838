//! Realm `Tokened`: a session with tokens; refresh rotates them, revoke is local.

use serde::Serialize;

use super::{RealmProfile, Revoked};
use crate::Request;
use crate::pending::Pending;
use crate::readings::RefreshFields;
use crate::table::StepId;

/// Marker for [`Tokened`]: the realm API.
#[derive(Debug, Clone, Copy)]
pub enum RealmApi {}

/// A logged-in session of the realm API.
pub type Tokened = crate::tokened::Tokened<RealmApi>;

impl Tokened {
    /// `PATCH /auth/realm/{realmId}/token` with `clientId` and `refreshToken` (or the refresh
    /// token alone, as the profile's `refreshFields` says).
    pub fn refresh(self, cfg: &RealmProfile) -> (Request, Pending<RefreshStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            client_id: Option<&'a str>,
            refresh_token: &'a str,
        }
        let client_id = match cfg.refresh_fields_value() {
            RefreshFields::ClientIdAndToken => Some(cfg.client_id()),
            RefreshFields::TokenOnly => None,
        };
        let request = cfg.request(StepId::RealmRefresh).json(&Body {
            client_id,
            refresh_token: self.tokens().refresh_token().expose(),
        });
        (
            request,
            Pending::new(RefreshStep::new(self), cfg.receive_readings()),
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
pub type RefreshStep = crate::tokened::RefreshStep<RealmApi>;

impl crate::pending::sealed::Sealed for RealmApi {}

impl crate::tokened::TokenedApi for RealmApi {
    const REFRESH: StepId = StepId::RealmRefresh;
}
