//! Internet-banking `MfaPending`: an anomaly triggered 2FA; an OTP was sent on a channel.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Challenged, CiamConfig, challenged::parse_code_token};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::secret::{FlowSecret, Otp, PkceVerifier};
use crate::table::StepId;
use crate::{Request, Response};

/// Where the OTP was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Channel {
    /// `"email"`
    Email,
    /// `"sms"`
    Sms,
    /// A channel the contract does not name, kept as sent (bounded).
    Other(String),
    /// The server named none.
    Unknown,
}

impl Channel {
    pub(crate) fn from_wire(value: Option<&str>) -> Self {
        match value {
            Some("email") => Channel::Email,
            Some("sms") => Channel::Sms,
            Some(other) => Channel::Other(other.to_owned()),
            None => Channel::Unknown,
        }
    }

    /// The name as sent by the server.
    pub fn as_str(&self) -> &str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Other(s) => s,
            Channel::Unknown => "unknown",
        }
    }
}

/// The login challenge answered with `{mfaChallenge, channel, refId}`. Services suspend here
/// while the user reads the code (see [`crate::Flow`]).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaPending {
    pub(crate) mfa_challenge: FlowSecret,
    pub(crate) channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ref_id: Option<String>,
    pub(crate) verifier: PkceVerifier,
    pub(crate) state: String,
}

impl MfaPending {
    pub(crate) fn new(
        mfa_challenge: FlowSecret,
        channel: Channel,
        ref_id: Option<String>,
        verifier: PkceVerifier,
        state: String,
    ) -> Self {
        Self {
            mfa_challenge,
            channel,
            ref_id,
            verifier,
            state,
        }
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        use crate::flow::check;
        check::non_empty(self.mfa_challenge.expose(), "mfaChallenge is empty")?;
        check::verifier(&self.verifier)?;
        check::oauth_state(&self.state)
    }

    /// Where the OTP was sent.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// The OTP reference shown to the user.
    pub fn ref_id(&self) -> Option<&str> {
        self.ref_id.as_deref()
    }

    /// `POST` pre-login verify with `consentOtp` and `mfaChallenge`. A wrong OTP gives this
    /// state back for another try.
    pub fn verify(self, cfg: &CiamConfig, otp: Otp) -> (Request, Pending<PreLoginVerifyStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            consent_otp: &'a str,
            mfa_challenge: &'a str,
        }
        let request = cfg
            .request(StepId::CiamPreLoginVerify)
            .header(cfg.device_bearer())
            .json(&Body {
                consent_otp: otp.expose(),
                mfa_challenge: self.mfa_challenge.expose(),
            });
        (
            request,
            Pending::new(PreLoginVerifyStep { state: self }, cfg.receive_readings()),
        )
    }
}

/// In flight: pre-login verify.
#[derive(Debug)]
pub struct PreLoginVerifyStep {
    state: MfaPending,
}

impl sealed::Sealed for PreLoginVerifyStep {}

impl Step for PreLoginVerifyStep {
    type Next = Challenged;
    type State = MfaPending;
    const ID: StepId = StepId::CiamPreLoginVerify;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(
        self,
        response: &Response,
        _now: SystemTime,
        _expiry: crate::readings::ExpiryForm,
    ) -> Result<Challenged, Failed<MfaPending>> {
        match parse_code_token(response) {
            Ok((code, token)) => {
                let MfaPending {
                    verifier, state, ..
                } = self.state;
                Ok(Challenged::new(code, token, verifier, state))
            }
            Err(e) => Err(Failed::keep_unless_final(e, self.state)),
        }
    }

    fn into_state(self) -> MfaPending {
        self.state
    }
}
