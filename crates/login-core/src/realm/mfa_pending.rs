//! Realm `MfaPending`: the server sent an OTP; the token call carries it.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::challenged::token_request;
use super::{RealmConfig, Tokened};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::secret::{FlowSecret, Otp};
use crate::table::StepId;
use crate::token::{TokenSet, unix_ms};
use crate::{Error, Request, Response};

/// Request login answered `mfa: "otp"`. This is the state a service suspends in while the user
/// reads the code; it serializes small (see [`crate::Flow`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaPending {
    req_id: FlowSecret,
    #[serde(
        with = "unix_ms::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    expires_at: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ref_id: Option<String>,
}

impl MfaPending {
    pub(crate) fn new(
        req_id: FlowSecret,
        expires_at: Option<SystemTime>,
        ref_id: Option<String>,
    ) -> Self {
        Self {
            req_id,
            expires_at,
            ref_id,
        }
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        crate::flow::check::non_empty(self.req_id.expose(), "reqId is empty")
    }

    /// The OTP reference shown to the user beside the code, when the server gave one.
    pub fn ref_id(&self) -> Option<&str> {
        self.ref_id.as_deref()
    }

    /// When `reqId` expires.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Whether `reqId` has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// `POST /auth/realm/{realmId}/token` with `reqId`, `otp`, `refId` when known, and `scope`.
    /// A wrong OTP gives this state back (`invalid_otp`) for another try.
    pub fn submit_otp(self, cfg: &RealmConfig, otp: Otp) -> (Request, Pending<OtpStep>) {
        let request = token_request(
            cfg,
            self.req_id.expose(),
            self.ref_id.as_deref(),
            Some(otp.expose()),
        );
        (
            request,
            Pending::new(OtpStep { state: self }, cfg.success()),
        )
    }
}

/// In flight: the token call with the OTP.
#[derive(Debug)]
pub struct OtpStep {
    state: MfaPending,
}

impl sealed::Sealed for OtpStep {}

impl Step for OtpStep {
    type Next = Tokened;
    type State = MfaPending;
    const ID: StepId = StepId::RealmToken;
    const DOCUMENTED_STATUS: u16 = 201;

    fn on_success(
        self,
        response: &Response,
        now: SystemTime,
    ) -> Result<Tokened, Failed<MfaPending>> {
        TokenSet::from_response(response, now)
            .map(Tokened::new)
            .map_err(|e| Failed::keep_unless_final(e, self.state))
    }

    fn on_failure(self, error: Error) -> Failed<MfaPending> {
        Failed::keep_unless_final(error, self.state)
    }
}
