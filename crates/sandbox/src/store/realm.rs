//! The realm API's records: a login waiting for its token call, and the forgot-password
//! request and ticket.

use serde::{Deserialize, Serialize};

use super::Record;
use crate::otp::OtpState;
use crate::time::Timestamp;

/// A realm login waiting for its token call.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RealmRequest {
    /// The user.
    pub user: String,
    /// The OTP, when the user has `mfa` `otp`.
    pub otp: Option<OtpState>,
    /// When `reqId` expires.
    pub expires_at: Timestamp,
}

/// A forgot-password request waiting for verify OTP.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResetRequest {
    /// The username as given.
    pub username: String,
    /// Whether the user exists (an unknown one gets the same answers, but no OTP is sent and
    /// none is ever accepted).
    pub known: bool,
    /// The OTP.
    pub otp: OtpState,
}

/// A one-time password-reset ticket.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResetTicket {
    /// The user.
    pub user: String,
    /// When it expires.
    pub expires_at: Timestamp,
}

impl Record for RealmRequest {
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.expires_at)
    }
}
impl Record for ResetRequest {
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.otp.expires_at)
    }
}
impl Record for ResetTicket {
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.expires_at)
    }
}
