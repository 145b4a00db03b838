//! Realm `MfaPending`: the server sent an OTP; the token call carries it.

use super::RealmProfile;
use super::challenged::{AwaitingOtp, LoginRequest, TokenStep, token_request};
use crate::Request;
use crate::pending::Pending;
use crate::secret::Otp;

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
            Pending::new(TokenStep::new(self), cfg.receive_readings()),
        )
    }
}

/// In flight: the token call with the OTP.
pub type OtpStep = TokenStep<AwaitingOtp>;
