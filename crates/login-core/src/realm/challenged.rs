//! Realm `Challenged`: the login was accepted without a second factor; the token call follows.

use std::time::SystemTime;

use std::marker::PhantomData;

use serde::Serialize;

use super::{RealmProfile, Tokened};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::readings::ScopeJson;
use crate::secret::FlowSecret;
use crate::table::StepId;
use crate::token::{TokenSet, unix_ms};
use crate::{Request, Response};

/// A login request the server accepted (`reqId`, its expiry and `refId`): the data of both
/// [`Challenged`] and [`MfaPending`](super::MfaPending), which differ only in whether the token
/// call needs an OTP. The marker `M` says which; the state names are aliases.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest<M> {
    pub(crate) req_id: FlowSecret,
    #[serde(
        with = "unix_ms::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) expires_at: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ref_id: Option<String>,
    #[serde(skip)]
    pub(crate) marker: PhantomData<fn() -> M>,
}

/// Marker: request login answered `mfa: "none"`; the token call follows at once.
#[derive(Debug, Clone, Copy)]
pub enum NoOtp {}

/// Marker: request login answered `mfa: "otp"`; the token call carries the code.
#[derive(Debug, Clone, Copy)]
pub enum AwaitingOtp {}

/// Request login answered `mfa: "none"`.
pub type Challenged = LoginRequest<NoOtp>;

impl<M> Clone for LoginRequest<M> {
    fn clone(&self) -> Self {
        Self::new(self.req_id.clone(), self.expires_at, self.ref_id.clone())
    }
}

impl<M> std::fmt::Debug for LoginRequest<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("req_id", &self.req_id)
            .field("expires_at", &self.expires_at)
            .field("ref_id", &self.ref_id)
            .finish()
    }
}

impl<M> LoginRequest<M> {
    pub(crate) fn new(
        req_id: FlowSecret,
        expires_at: Option<SystemTime>,
        ref_id: Option<String>,
    ) -> Self {
        Self {
            req_id,
            expires_at,
            ref_id,
            marker: PhantomData,
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

    /// The `refId` the server gave (shown to the user beside an OTP), if any.
    pub fn ref_id(&self) -> Option<&str> {
        self.ref_id.as_deref()
    }

    pub(super) fn req_id(&self) -> &str {
        self.req_id.expose()
    }
}

impl Challenged {
    /// `POST /auth/realm/{realmId}/token` with `reqId` and `scope`.
    pub fn exchange(self, cfg: &RealmProfile) -> (Request, Pending<ExchangeStep>) {
        let request = token_request(cfg, self.req_id.expose(), None, None);
        (
            request,
            Pending::new(TokenStep::new(self), cfg.receive_readings()),
        )
    }
}

/// The token call's body, shared by the OTP and the no-OTP path.
pub(super) fn token_request(
    cfg: &RealmProfile,
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
        scope: ScopeJson<'a>,
    }
    cfg.request(StepId::RealmToken).json(&Body {
        req_id,
        ref_id,
        otp,
        scope: cfg.scope_form_value().render_words(cfg.scopes()),
    })
}

/// In flight: the token call, with or without the OTP. One step type for both states: they
/// hold the same data and the call answers the same way.
#[derive(Debug)]
pub struct TokenStep<M> {
    state: LoginRequest<M>,
}

/// In flight: the token call without OTP.
pub type ExchangeStep = TokenStep<NoOtp>;

impl<M> TokenStep<M> {
    pub(super) fn new(state: LoginRequest<M>) -> Self {
        Self { state }
    }
}

impl<M> sealed::Sealed for TokenStep<M> {}

impl<M> Step for TokenStep<M> {
    type Next = Tokened;
    type State = LoginRequest<M>;
    const ID: StepId = StepId::RealmToken;
    const DOCUMENTED_STATUS: u16 = 201;

    fn on_success(
        self,
        response: &Response,
        now: SystemTime,
        expiry: crate::readings::ExpiryForm,
    ) -> Result<Tokened, Failed<LoginRequest<M>>> {
        TokenSet::from_response_with(response, now, expiry)
            .map(Tokened::new)
            .map_err(|e| Failed::keep_unless_final(e, self.state))
    }

    fn into_state(self) -> LoginRequest<M> {
        self.state
    }
}
