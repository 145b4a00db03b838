//! The internet-banking API's records: the login challenge from authorize, the login waiting
//! for its second factor, and the authorization code.

use serde::{Deserialize, Serialize};

use super::Record;
use crate::captcha::Captcha;
use crate::config::GeoPoint;
use crate::otp::OtpState;
use crate::time::Timestamp;

/// What authorize bound, carried to the code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantContext {
    /// The client id.
    pub client_id: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The client's state.
    pub state: String,
    /// The scope.
    pub scope: String,
}

/// A login challenge from authorize, valid until it succeeds or expires.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginChallenge {
    /// Key of the `authToken` the envelope must carry.
    pub auth_token_key: String,
    /// Key of the device identity token that authorized it.
    pub device_key: String,
    /// What the code will be bound to.
    pub grant: GrantContext,
    /// The current captcha, if one was fetched and not yet used up.
    pub captcha: Option<Captcha>,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// A login waiting for its second factor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MfaChallenge {
    /// The user.
    pub user: String,
    /// Key of the device identity token.
    pub device_key: String,
    /// What the code will be bound to.
    pub grant: GrantContext,
    /// The OTP.
    pub otp: OtpState,
    /// The login's location, recorded when the login completes.
    pub location: Option<GeoPoint>,
}

/// An authorization code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The user.
    pub user: String,
    /// Key of the bearer token that must come with the code.
    pub token_key: String,
    /// What authorize bound.
    pub grant: GrantContext,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The session it was exchanged for; a second exchange revokes it.
    pub family: Option<String>,
    /// Set when someone tried to use the code a second time.
    pub replayed: bool,
}

impl Record for LoginChallenge {
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.expires_at)
    }
}
impl Record for MfaChallenge {
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.otp.expires_at)
    }
}
impl Record for CodeGrant {
    fn expires_at(&self) -> Option<Timestamp> {
        Some(self.expires_at)
    }
}
