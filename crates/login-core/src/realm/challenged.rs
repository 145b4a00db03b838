//! Realm `Challenged`: the login was accepted without a second factor; the token call follows.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{RealmConfig, Tokened};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::secret::FlowSecret;
use crate::table::StepId;
use crate::token::{TokenSet, unix_ms};
use crate::{Error, Request, Response};

/// Request login answered `mfa: "none"`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenged {
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

impl Challenged {
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

    /// When `reqId` expires (the server answers 404 `expired` after it).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Whether `reqId` has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// The `refId` the server gave, if any.
    pub fn ref_id(&self) -> Option<&str> {
        self.ref_id.as_deref()
    }

    /// `POST /auth/realm/{realmId}/token` with `reqId` and `scope`.
    pub fn exchange(self, cfg: &RealmConfig) -> (Request, Pending<ExchangeStep>) {
        let request = token_request(cfg, self.req_id.expose(), None, None);
        (
            request,
            Pending::new(ExchangeStep { state: self }, cfg.success()),
        )
    }
}

/// The token call's body, shared by the OTP and the no-OTP path.
pub(super) fn token_request(
    cfg: &RealmConfig,
    req_id: &str,
    ref_id: Option<&str>,
    otp: Option<&str>,
) -> Request {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        req_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        ref_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        otp: Option<&'a str>,
        scope: &'a [String],
    }
    cfg.request(StepId::RealmToken).json(&Body {
        req_id,
        ref_id,
        otp,
        scope: cfg.scopes(),
    })
}

/// In flight: the token call without OTP.
#[derive(Debug)]
pub struct ExchangeStep {
    state: Challenged,
}

impl sealed::Sealed for ExchangeStep {}

impl Step for ExchangeStep {
    type Next = Tokened;
    type State = Challenged;
    const ID: StepId = StepId::RealmToken;
    const DOCUMENTED_STATUS: u16 = 201;

    fn on_success(
        self,
        response: &Response,
        now: SystemTime,
    ) -> Result<Tokened, Failed<Challenged>> {
        TokenSet::from_response(response, now)
            .map(Tokened::new)
            .map_err(|e| Failed::keep_unless_final(e, self.state))
    }

    fn on_failure(self, error: Error) -> Failed<Challenged> {
        Failed::keep_unless_final(error, self.state)
    }
}
