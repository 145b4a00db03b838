//! Realm `Start`: credentials in hand, nothing sent yet.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Challenged, MfaPending, RealmConfig};
use crate::error::{MalformedReason, malformed, parse_json};
use crate::lenient::{Seconds, Text};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::secret::{FlowSecret, Password};
use crate::table::StepId;
use crate::{Request, Response};

/// The start of a realm login: the user's credentials.
#[derive(Clone, Debug, Serialize)]
pub struct Start {
    pub(crate) username: String,
    pub(crate) password: Password,
}

impl Start {
    /// Credentials for a login.
    pub fn new(username: impl Into<String>, password: Password) -> Self {
        Self {
            username: username.into(),
            password,
        }
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        crate::flow::check::non_empty(&self.username, "username is empty")
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// `POST /auth/realm/{realmId}/request` with the user's and the client's credentials.
    pub fn request_login(self, cfg: &RealmConfig) -> (Request, Pending<RequestLoginStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            username: &'a str,
            password: &'a str,
            client_id: &'a str,
            client_secret: &'a str,
        }
        let request = cfg.request(StepId::RealmRequestLogin).json(&Body {
            username: &self.username,
            password: self.password.expose(),
            client_id: cfg.client_id(),
            client_secret: cfg.client_secret().expose(),
        });
        (
            request,
            Pending::new(RequestLoginStep { start: self }, cfg.receive_readings()),
        )
    }
}

/// What request login leads to.
#[derive(Debug)]
pub enum LoginStarted {
    /// `mfa: "none"`: the token call can follow at once.
    Challenged(Challenged),
    /// `mfa: "otp"`: the server sent an OTP; the token call needs it.
    MfaPending(MfaPending),
}

/// In flight: request login.
#[derive(Debug)]
pub struct RequestLoginStep {
    start: Start,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestLoginBody {
    req_id: Option<FlowSecret>,
    #[serde(default)]
    exp: Seconds,
    #[serde(default)]
    mfa: Text,
    #[serde(default)]
    ref_id: Text,
}

impl sealed::Sealed for RequestLoginStep {}

impl Step for RequestLoginStep {
    type Next = LoginStarted;
    type State = Start;
    const ID: StepId = StepId::RealmRequestLogin;
    const DOCUMENTED_STATUS: u16 = 201;

    fn on_success(
        self,
        response: &Response,
        now: SystemTime,
        expiry: crate::readings::ExpiryForm,
    ) -> Result<LoginStarted, Failed<Start>> {
        let parsed = (|| {
            let body: RequestLoginBody = parse_json(response)?;
            let req_id = body
                .req_id
                .filter(|r| !r.is_empty())
                .ok_or_else(|| malformed(response, MalformedReason::missing("reqId")))?;
            let expires_at = expiry
                .instant(body.exp, now, "exp")
                .map_err(|r| malformed(response, r))?;
            let ref_id = body.ref_id.0;
            match body.mfa.0.as_deref() {
                Some("none") => Ok(LoginStarted::Challenged(Challenged::new(
                    req_id, expires_at, ref_id,
                ))),
                Some("otp") => Ok(LoginStarted::MfaPending(MfaPending::new(
                    req_id, expires_at, ref_id,
                ))),
                other => Err(malformed(
                    response,
                    MalformedReason::absent_or_invalid(other.is_some(), "mfa"),
                )),
            }
        })();
        // A malformed answer to a call that created a server-side request cannot be resumed;
        // the credentials are still good for a new attempt.
        parsed.map_err(|e| Failed::keep_unless_final(e, self.start))
    }

    fn into_state(self) -> Start {
        self.start
    }
}
