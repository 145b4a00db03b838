//! Realm `MfaPending`: the server sent an OTP; the token call carries it.

use std::time::SystemTime;

use super::challenged::{AwaitingOtp, LoginRequest, token_request};
use super::{RealmProfile, Tokened};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::secret::Otp;
use crate::table::StepId;
use crate::token::TokenSet;
use crate::{Request, Response};

/// Request login answered `mfa: "otp"`. This is the state a service suspends in while the user
/// reads the code; it serializes small (see [`crate::Flow`]).
pub type MfaPending = LoginRequest<AwaitingOtp>;

impl MfaPending {
    /// `POST /auth/realm/{realmId}/token` with `reqId`, `otp`, `refId` when known, and `scope`.
    /// A wrong OTP gives this state back (`invalid_otp`) for another try.
    pub fn submit_otp(self, cfg: &RealmProfile, otp: Otp) -> (Request, Pending<OtpStep>) {
        let request = token_request(cfg, self.req_id(), self.ref_id(), Some(otp.expose()));
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

    fn into_state(self) -> MfaPending {
        self.state
    }
}
