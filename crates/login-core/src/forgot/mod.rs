//! The realm API's forgot-password machine (seed 000 §2), its own small flow:
//!
//! ```text
//! Start --request_reset--> OtpSent --verify_otp--> Verified --reset_password--> PasswordReset
//! ```
//!
//! ```
//! use std::time::SystemTime;
//! use login_core::{forgot, realm::RealmProfile, secret::{Otp, Password}, Response};
//!
//! let cfg = RealmProfile::new("cap", "cap-mobile");
//! let now = SystemTime::now();
//! let (req, p) = forgot::Start::new("alice").request_reset(&cfg);
//! assert_eq!(req.path(), "/realm/admin/cap/user/forgotPassword");
//! let sent = p.receive(&Response::new(201, br#"{"reqId":"q1","refId":"R1"}"#.to_vec()), now).unwrap();
//! let (_req, p) = sent.verify(&cfg, Otp::new("123456"));
//! let verified = p.receive(&Response::new(201, br#"{"reqId":"ticket","refId":"R1"}"#.to_vec()), now).unwrap();
//! let (req, p) = verified.reset(&cfg, Password::new("new-pw"));
//! assert!(req.headers().iter().any(|h| h.name() == "Authorization" && h.value() == "Bearer ticket"));
//! let done = p.receive(&Response::new(200, br#"{"success":true}"#.to_vec()), now).unwrap();
//! assert_eq!(done.username(), "alice");
//! ```

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::{MalformedReason, malformed, parse_json};
pub use crate::flow::forgot_state::State;
use crate::pending::{Failed, Pending, Step, sealed};
use crate::realm::{RealmProfile, TicketSource};
use crate::secret::{FlowSecret, Otp, Password, ResetTicket};
use crate::table::StepId;
use crate::{Error, Request, Response};

/// Start of a password reset: the user name.
#[derive(Clone, Debug, Serialize)]
pub struct Start {
    pub(crate) username: String,
}

/// The reset OTP was sent.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpSent {
    pub(crate) username: String,
    pub(crate) req_id: FlowSecret,
    pub(crate) ref_id: String,
}

/// The OTP was verified: a one-time reset ticket is held.
#[derive(Clone, Debug, Serialize)]
pub struct Verified {
    pub(crate) username: String,
    pub(crate) ticket: ResetTicket,
}

/// Terminal: the password was changed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PasswordReset {
    pub(crate) username: String,
}

impl Start {
    /// A reset for `username`.
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
        }
    }

    /// `POST /realm/admin/{realmId}/user/forgotPassword`.
    pub fn request_reset(self, cfg: &RealmProfile) -> (Request, Pending<RequestResetStep>) {
        #[derive(Serialize)]
        struct Body<'a> {
            username: &'a str,
        }
        let request = cfg.request(StepId::ResetRequest).json(&Body {
            username: &self.username,
        });
        (
            request,
            Pending::new(RequestResetStep { state: self }, cfg.receive_readings()),
        )
    }
}

impl Start {
    pub(crate) fn check(&self) -> crate::flow::check::Result {
        crate::flow::check::non_empty(&self.username, "username is empty")
    }
}

impl PasswordReset {
    pub(crate) fn check(&self) -> crate::flow::check::Result {
        Ok(())
    }
}

impl OtpSent {
    pub(crate) fn check(&self) -> crate::flow::check::Result {
        crate::flow::check::non_empty(self.req_id.expose(), "reqId is empty")?;
        crate::flow::check::non_empty(&self.ref_id, "refId is empty")
    }

    /// The OTP reference shown to the user.
    pub fn ref_id(&self) -> &str {
        &self.ref_id
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// `POST /realm/admin/{realmId}/user/verifyOtp`. A wrong OTP gives this state back.
    pub fn verify(self, cfg: &RealmProfile, otp: Otp) -> (Request, Pending<VerifyOtpStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            otp: &'a str,
            req_id: &'a str,
            ref_id: &'a str,
            username: &'a str,
        }
        let request = cfg.request(StepId::ResetVerifyOtp).json(&Body {
            otp: otp.expose(),
            req_id: self.req_id.expose(),
            ref_id: &self.ref_id,
            username: &self.username,
        });
        let source = cfg.reset_ticket_source();
        (
            request,
            Pending::new(
                VerifyOtpStep {
                    state: self,
                    source,
                },
                cfg.receive_readings(),
            ),
        )
    }
}

impl Verified {
    pub(crate) fn check(&self) -> crate::flow::check::Result {
        crate::flow::check::header_safe(self.ticket.expose(), "reset ticket is not header-safe")
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// `POST /realm/admin/{realmId}/user/resetPassword` with `Authorization: Bearer <ticket>`.
    pub fn reset(
        self,
        cfg: &RealmProfile,
        new_password: Password,
    ) -> (Request, Pending<ResetPasswordStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            new_password: &'a str,
        }
        let request = cfg
            .request(StepId::ResetPassword)
            .header(RealmProfile::bearer(self.ticket.expose()))
            .json(&Body {
                new_password: new_password.expose(),
            });
        (
            request,
            Pending::new(ResetPasswordStep { state: self }, cfg.receive_readings()),
        )
    }
}

impl PasswordReset {
    /// The user whose password changed.
    pub fn username(&self) -> &str {
        &self.username
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReqRefBody {
    req_id: Option<FlowSecret>,
    #[serde(default)]
    ref_id: crate::lenient::Text,
}

fn parse_req_ref(response: &Response) -> Result<(FlowSecret, Option<String>), Error> {
    let body: ReqRefBody = parse_json(response)?;
    let req_id = body
        .req_id
        .filter(|r| !r.is_empty())
        .ok_or_else(|| malformed(response, MalformedReason::missing("reqId")))?;
    Ok((req_id, body.ref_id.0))
}

/// In flight: request reset.
#[derive(Debug)]
pub struct RequestResetStep {
    state: Start,
}

impl sealed::Sealed for RequestResetStep {}

impl Step for RequestResetStep {
    type Next = OtpSent;
    type State = Start;
    const ID: StepId = StepId::ResetRequest;
    const DOCUMENTED_STATUS: u16 = 201;

    fn on_success(
        self,
        response: &Response,
        _now: SystemTime,
        _expiry: crate::readings::ExpiryForm,
    ) -> Result<OtpSent, Failed<Start>> {
        match parse_req_ref(response) {
            Ok((req_id, Some(ref_id))) if !ref_id.is_empty() => Ok(OtpSent {
                username: self.state.username,
                req_id,
                ref_id,
            }),
            Ok(_) => Err(Failed::keep_unless_final(
                malformed(response, MalformedReason::missing("refId")),
                self.state,
            )),
            Err(e) => Err(Failed::keep_unless_final(e, self.state)),
        }
    }

    fn into_state(self) -> Start {
        self.state
    }
}

/// In flight: verify OTP.
#[derive(Debug)]
pub struct VerifyOtpStep {
    state: OtpSent,
    source: TicketSource,
}

impl sealed::Sealed for VerifyOtpStep {}

impl Step for VerifyOtpStep {
    type Next = Verified;
    type State = OtpSent;
    const ID: StepId = StepId::ResetVerifyOtp;
    const DOCUMENTED_STATUS: u16 = 201;

    fn on_success(
        self,
        response: &Response,
        _now: SystemTime,
        _expiry: crate::readings::ExpiryForm,
    ) -> Result<Verified, Failed<OtpSent>> {
        let (req_id, ref_id) = match parse_req_ref(response) {
            Ok(v) => v,
            Err(e) => return Err(Failed::keep_unless_final(e, self.state)),
        };
        let ticket = match self.source {
            TicketSource::VerifyReqId => Some(ResetTicket::new(req_id.expose())),
            TicketSource::VerifyRefId => ref_id.filter(|r| !r.is_empty()).map(ResetTicket::new),
        };
        match ticket.filter(|t| crate::wire::is_header_safe(t.expose())) {
            Some(ticket) => Ok(Verified {
                username: self.state.username.clone(),
                ticket,
            }),
            None => Err(Failed::keep_unless_final(
                malformed(response, MalformedReason::missing("the reset ticket")),
                self.state,
            )),
        }
    }

    fn into_state(self) -> OtpSent {
        self.state
    }
}

/// In flight: reset password.
#[derive(Debug)]
pub struct ResetPasswordStep {
    state: Verified,
}

impl sealed::Sealed for ResetPasswordStep {}

#[derive(Deserialize)]
struct SuccessBody {
    #[serde(default)]
    success: Option<serde_json::Value>,
}

/// `{success}` bodies: `false` is a refusal, an empty body or a missing field counts as success
/// (the status already said so).
pub(crate) fn check_success_body(response: &Response) -> Result<(), Error> {
    if response.body().iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let body: SuccessBody = parse_json(response)?;
    match body.success {
        Some(serde_json::Value::Bool(false)) => {
            Err(malformed(response, MalformedReason::SuccessFalse))
        }
        _ => Ok(()),
    }
}

impl Step for ResetPasswordStep {
    type Next = PasswordReset;
    type State = Verified;
    const ID: StepId = StepId::ResetPassword;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(
        self,
        response: &Response,
        _now: SystemTime,
        _expiry: crate::readings::ExpiryForm,
    ) -> Result<PasswordReset, Failed<Verified>> {
        match check_success_body(response) {
            Ok(()) => Ok(PasswordReset {
                username: self.state.username.clone(),
            }),
            Err(e) => Err(Failed::keep_unless_final(e, self.state)),
        }
    }

    fn into_state(self) -> Verified {
        self.state
    }
}
