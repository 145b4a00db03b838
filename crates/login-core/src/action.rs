//! The uniform face: any action on any [`Flow`], checked against the transition table.
//!
//! The typed methods of each state (`realm::Start::request_login`, ...) are the engine; this
//! module puts one door in front of them for code that holds a [`Flow`] whose state it only
//! knows at run time: drivers, stores, property tests, fuzzers. [`Flow::actions`] lists what
//! the table allows from the current state; [`Flow::begin`] refuses anything else (with the
//! flow given back) and otherwise calls the typed method, returning the request and a
//! [`PendingFlow`] whose [`receive`](PendingFlow::receive) yields the next [`Flow`].
//!
//! ```
//! use std::time::SystemTime;
//! use login_core::action::{Action, Bank, Begun, Env};
//! use login_core::entropy::OsEntropy;
//! use login_core::{Flow, realm, secret::{ClientSecret, Otp, Password}, table::StateId, Response};
//!
//! let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
//! let mut entropy = OsEntropy;
//! let mut env = Env::new(Bank::Realm(&cfg), &mut entropy, SystemTime::now());
//! let flow = Flow::from(realm::Start::new("alice", Password::new("pw")));
//!
//! // The table says what may happen next; anything else is refused, and the flow comes back.
//! let refused = flow.begin(Action::Refresh, &mut env).unwrap_err();
//! let flow = refused.state.unwrap();
//!
//! let Begun::Send(request, pending) = flow.begin(Action::RequestLogin, &mut env).unwrap() else { panic!() };
//! assert_eq!(request.path(), "/auth/realm/cap/request");
//! let reply = Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"otp"}"#.to_vec());
//! let flow = pending.receive(&reply, env.now).unwrap();
//! assert_eq!(flow.state_id(), StateId::MfaPending);
//! assert!(flow.begin(Action::Otp(Otp::new("123456")), &mut env).is_ok());
//! ```

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::ciam::{self, CiamConfig, CiamProfile, Credentials};
use crate::entropy::Entropy;
use crate::realm::{self, RealmConfig, RealmProfile};
use crate::seal::CredentialSealer;
use crate::secret::{CaptchaAnswer, Otp, Password};
use crate::table::{Api, Input, StateId, StepId, TRANSITIONS};
use crate::{Error, Failed, Flow, Pending, Request, Response, TransportError, forgot};

/// What a caller asks a flow to do, with what the step sends beyond the state. The step it
/// takes depends on the API: [`Action::Otp`] is the realm token call, internet banking's
/// pre-login verify, or forgot password's verify OTP.
#[derive(Debug, Clone)]
pub enum Action {
    /// Realm: request login (the credentials are in `realm::Start`).
    RequestLogin,
    /// Exchange what the login produced for tokens (realm token call without OTP; internet
    /// banking's access token).
    Token,
    /// Submit a one-time password.
    Otp(Otp),
    /// Refresh the tokens.
    Refresh,
    /// End the session (local in the realm API).
    Revoke,
    /// Internet banking: authorize.
    Authorize,
    /// Internet banking: fetch a captcha.
    FetchCaptcha,
    /// Internet banking: the login challenge with the credentials.
    Credentials(Credentials),
    /// Internet banking: the login challenge with the credentials and the shown captcha's answer.
    CaptchaAnswer(Credentials, CaptchaAnswer),
    /// Forgot password: ask for the reset OTP.
    RequestReset,
    /// Forgot password: set the new password.
    NewPassword(Password),
}

impl Action {
    /// The table's name of this action in `api`: its step and input, or `None` when the API
    /// has no such action.
    pub fn key(&self, api: Api) -> Option<(StepId, Input)> {
        use StepId as S;
        Some(match (api, self) {
            (Api::Realm, Action::RequestLogin) => (S::RealmRequestLogin, Input::Nothing),
            (Api::Realm, Action::Token) => (S::RealmToken, Input::Nothing),
            (Api::Realm, Action::Otp(_)) => (S::RealmToken, Input::Otp),
            (Api::Realm, Action::Refresh) => (S::RealmRefresh, Input::Nothing),
            (Api::Realm, Action::Revoke) => (S::RealmRevoke, Input::Nothing),
            (Api::ForgotPassword, Action::RequestReset) => (S::ResetRequest, Input::Nothing),
            (Api::ForgotPassword, Action::Otp(_)) => (S::ResetVerifyOtp, Input::Otp),
            (Api::ForgotPassword, Action::NewPassword(_)) => (S::ResetPassword, Input::NewPassword),
            (Api::Ciam, Action::Authorize) => (S::CiamAuthorize, Input::Nothing),
            (Api::Ciam, Action::FetchCaptcha) => (S::CiamCaptcha, Input::Nothing),
            (Api::Ciam, Action::Credentials(_)) => (S::CiamLoginChallenge, Input::Credentials),
            (Api::Ciam, Action::CaptchaAnswer(..)) => (S::CiamLoginChallenge, Input::CaptchaAnswer),
            (Api::Ciam, Action::Otp(_)) => (S::CiamPreLoginVerify, Input::Otp),
            (Api::Ciam, Action::Token) => (S::CiamAccessToken, Input::Nothing),
            (Api::Ciam, Action::Refresh) => (S::CiamRefresh, Input::Nothing),
            (Api::Ciam, Action::Revoke) => (S::CiamRevoke, Input::Nothing),
            _ => return None,
        })
    }
}

/// The non-secret settings of either API: what a service stores beside a session.
///
/// ```
/// use login_core::{action::Profile, realm::RealmProfile, table::Api};
/// let profile = Profile::from(RealmProfile::new("cap", "cap-mobile"));
/// let json = serde_json::to_string(&profile).unwrap();
/// assert!(json.starts_with(r#"{"api":"realm""#));
/// assert_eq!(serde_json::from_str::<Profile>(&json).unwrap().api(), Api::Realm);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "api", rename_all = "snake_case")]
pub enum Profile {
    /// The realm API (also its forgot-password flow).
    Realm(RealmProfile),
    /// The internet-banking API.
    Ciam(CiamProfile),
}

impl Profile {
    /// The same profile with another client id (both APIs send one).
    ///
    /// ```
    /// use login_core::{action::Profile, realm::RealmProfile};
    /// let p = Profile::from(RealmProfile::new("cap", "a").scope(["x"]));
    /// let Profile::Realm(r) = p.with_client_id("b") else { unreachable!() };
    /// assert_eq!((r.client_id(), r.scopes()), ("b", &["x".to_owned()][..]));
    /// ```
    pub fn with_client_id(self, client_id: impl Into<String>) -> Self {
        match self {
            Profile::Realm(p) => Profile::Realm(p.with_client_id(client_id)),
            Profile::Ciam(p) => Profile::Ciam(p.with_client_id(client_id)),
        }
    }

    /// The API (`Realm` for a realm profile, whichever of its flows it drives).
    pub fn api(&self) -> Api {
        match self {
            Profile::Realm(_) => Api::Realm,
            Profile::Ciam(_) => Api::Ciam,
        }
    }
}

impl From<RealmProfile> for Profile {
    fn from(p: RealmProfile) -> Self {
        Profile::Realm(p)
    }
}

impl From<CiamProfile> for Profile {
    fn from(p: CiamProfile) -> Self {
        Profile::Ciam(p)
    }
}

/// The bank side of an action: which API's configuration, with or without its secrets.
#[derive(Clone, Copy)]
pub enum Bank<'a> {
    /// The realm API with its client secret (every realm and forgot-password step).
    Realm(&'a RealmConfig),
    /// The internet-banking API with its secrets and the credential sealer (every step).
    Ciam(&'a CiamConfig, &'a dyn CredentialSealer),
    /// A profile alone: enough for the steps that send no configured secret (refresh, revoke,
    /// OTP and token steps, captcha, forgot password). The others are refused.
    Profile(&'a Profile),
}

impl std::fmt::Debug for Bank<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bank::Realm(cfg) => f.debug_tuple("Realm").field(cfg).finish(),
            Bank::Ciam(cfg, _) => f.debug_tuple("Ciam").field(cfg).finish(),
            Bank::Profile(p) => f.debug_tuple("Profile").field(p).finish(),
        }
    }
}

impl<'a> Bank<'a> {
    /// The API.
    pub fn api(&self) -> Api {
        match self {
            Bank::Realm(_) => Api::Realm,
            Bank::Ciam(..) => Api::Ciam,
            Bank::Profile(p) => p.api(),
        }
    }
}

/// What an action needs besides the flow: the bank, randomness and the current time.
pub struct Env<'a> {
    /// Which API, and its configuration.
    pub bank: Bank<'a>,
    /// Randomness for PKCE, `state` and the credential envelope.
    pub entropy: &'a mut dyn Entropy,
    /// The current time (the envelope's `iat`; expiry checks).
    pub now: SystemTime,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("bank", &self.bank)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<'a> Env<'a> {
    /// An environment.
    pub fn new(bank: Bank<'a>, entropy: &'a mut dyn Entropy, now: SystemTime) -> Self {
        Self { bank, entropy, now }
    }
}

/// Why an action was refused before anything was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Misuse {
    /// The transition table lists no such action from this state.
    #[error("{api:?} has no action {action} from state {state:?}", action = describe(*.step, *.input))]
    NotInTable {
        /// The flow's API.
        api: Api,
        /// The flow's state.
        state: StateId,
        /// The step asked for (`None`: the API has no such action at all).
        step: Option<StepId>,
        /// The input given.
        input: Option<Input>,
    },
    /// The environment's bank is for another API than the flow.
    #[error("the flow is a {flow:?} flow but the configuration is for {bank:?}")]
    WrongApi {
        /// The flow's API.
        flow: Api,
        /// The configuration's API.
        bank: Api,
    },
    /// A [`Runner`](crate::runner::Runner) was polled after it finished, or paused without an
    /// ask.
    #[error("the run is over")]
    RunOver,
    /// The step sends a configured secret but the environment holds only a profile.
    #[error("{step:?} sends a configured secret: pass the whole configuration, not the profile")]
    SecretsNeeded {
        /// The step.
        step: StepId,
    },
}

fn describe(step: Option<StepId>, input: Option<Input>) -> String {
    match (step, input) {
        (Some(step), Some(input)) => format!("{} with {input:?}", step.as_str()),
        _ => "of that kind".to_owned(),
    }
}

/// The table's verdict: whether `api` may take `step` with `input` from `state`.
pub fn allowed(api: Api, state: StateId, step: StepId, input: Input) -> bool {
    TRANSITIONS
        .iter()
        .any(|t| t.api == api && t.from == state && t.step == step && t.input == input)
}

/// What [`Flow::begin`] started.
#[derive(Debug)]
pub enum Begun {
    /// Send the request and feed the response to the pending step.
    Send(Request, PendingFlow),
    /// A local transition (realm revoke): the next state, nothing to send.
    Local(Flow),
}

impl Flow {
    /// The actions the transition table allows from this state, as (step, input) pairs, each
    /// once, in table order.
    ///
    /// ```
    /// use login_core::{Flow, forgot, table::{Input, StepId}};
    /// let flow = Flow::from(forgot::Start::new("alice"));
    /// assert_eq!(flow.actions().collect::<Vec<_>>(), [(StepId::ResetRequest, Input::Nothing)]);
    /// ```
    pub fn actions(&self) -> impl Iterator<Item = (StepId, Input)> + use<> {
        let (api, state) = (self.api(), self.state_id());
        TRANSITIONS
            .iter()
            .enumerate()
            .filter(move |(i, t)| {
                t.api == api
                    && t.from == state
                    // Each (step, input) once: skip rows an earlier row already named.
                    && !TRANSITIONS[..*i].iter().any(|e| {
                        e.api == api && e.from == state && e.step == t.step && e.input == t.input
                    })
            })
            .map(|(_, t)| (t.step, t.input))
    }

    /// Starts `action` from this state. The table decides first: an action it does not list
    /// from here, a configuration for another API, or a profile where the step sends a secret
    /// is refused with the flow given back ([`Misuse`] inside the error). Otherwise the typed
    /// transition runs and its request comes back with the step awaiting its response.
    ///
    /// # Errors
    /// A refusal (nothing sent), or a local failure of the transition itself (entropy,
    /// sealing): both give the flow back.
    pub fn begin(self, action: Action, env: &mut Env<'_>) -> Result<Begun, Failed<Flow>> {
        let api = self.api();
        let state = self.state_id();
        let refuse = |flow: Flow, misuse: Misuse| Failed {
            error: Error::from(misuse),
            state: Some(flow),
        };
        let bank_api = match env.bank.api() {
            // The realm configuration drives its forgot-password flow too.
            Api::Realm if api == Api::ForgotPassword => Api::ForgotPassword,
            other => other,
        };
        if bank_api != api {
            return Err(refuse(
                self,
                Misuse::WrongApi {
                    flow: api,
                    bank: env.bank.api(),
                },
            ));
        }
        let key = action.key(api);
        let Some((step, _)) = key.filter(|(s, i)| allowed(api, state, *s, *i)) else {
            let misuse = Misuse::NotInTable {
                api,
                state,
                step: key.map(|k| k.0),
                input: key.map(|k| k.1),
            };
            return Err(refuse(self, misuse));
        };
        // A header value with CR or LF must not reach the HTTP library: its refusal says less,
        // and some libraries would send it.
        let headers_ok = match env.bank {
            Bank::Ciam(cfg, _) => cfg.check(),
            Bank::Profile(Profile::Ciam(p)) => p.check(),
            _ => Ok(()),
        };
        if let Err(error) = headers_ok {
            return Err(Failed {
                error,
                state: Some(self),
            });
        }
        let view = env.bank.view();
        let send = |(request, pending): (Request, PendingFlow)| Begun::Send(request, pending);
        let sealed = |sent: Result<(Request, PendingFlow), Failed<Flow>>| sent.map(send);
        use crate::flow::{ciam_state as c, forgot_state as f, realm_state as r};
        use View::{Ciam, Realm};
        // Each arm is a row group of the table, which has refused anything else already. The
        // last arm is reached only by a step that sends a secret, asked with a profile alone.
        match (self, action, view) {
            (Flow::Realm(r::State::Start(s)), Action::RequestLogin, Realm(_, Some(cfg))) => {
                Ok(send(wrap(s.request_login(cfg))))
            }
            (Flow::Realm(r::State::Challenged(s)), Action::Token, Realm(p, _)) => {
                Ok(send(wrap(s.exchange(p))))
            }
            (Flow::Realm(r::State::MfaPending(s)), Action::Otp(otp), Realm(p, _)) => {
                Ok(send(wrap(s.submit_otp(p, otp))))
            }
            (Flow::Realm(r::State::Tokened(s)), Action::Refresh, Realm(p, _)) => {
                Ok(send(wrap(s.refresh(p))))
            }
            (Flow::Realm(r::State::Tokened(s)), Action::Revoke, Realm(..)) => {
                Ok(Begun::Local(Flow::Realm(r::State::Revoked(s.revoke()))))
            }
            (Flow::ForgotPassword(f::State::Start(s)), Action::RequestReset, Realm(p, _)) => {
                Ok(send(wrap(s.request_reset(p))))
            }
            (Flow::ForgotPassword(f::State::OtpSent(s)), Action::Otp(otp), Realm(p, _)) => {
                Ok(send(wrap(s.verify(p, otp))))
            }
            (Flow::ForgotPassword(f::State::Verified(s)), Action::NewPassword(pw), Realm(p, _)) => {
                Ok(send(wrap(s.reset(p, pw))))
            }
            (Flow::Ciam(c::State::Start(s)), Action::Authorize, Ciam(_, Some((cfg, _)))) => {
                Ok(send(wrap(s.authorize(cfg))))
            }
            (Flow::Ciam(c::State::Authorized(s)), Action::FetchCaptcha, Ciam(p, _)) => {
                Ok(send(wrap(s.fetch_captcha(p))))
            }
            (Flow::Ciam(c::State::CaptchaShown(s)), Action::FetchCaptcha, Ciam(p, _)) => {
                Ok(send(wrap(s.fetch_captcha(p))))
            }
            (
                Flow::Ciam(c::State::Authorized(s)),
                Action::Credentials(credentials),
                Ciam(_, Some((cfg, sealer))),
            ) => sealed(
                s.submit_credentials(cfg, sealer, &credentials, env.entropy, env.now)
                    .map(wrap)
                    .map_err(|f| f.map_state(Flow::from)),
            ),
            (
                Flow::Ciam(c::State::CaptchaShown(s)),
                Action::CaptchaAnswer(credentials, answer),
                Ciam(_, Some((cfg, sealer))),
            ) => sealed(
                s.submit(cfg, sealer, &credentials, &answer, env.entropy, env.now)
                    .map(wrap)
                    .map_err(|f| f.map_state(Flow::from)),
            ),
            (Flow::Ciam(c::State::MfaPending(s)), Action::Otp(otp), Ciam(_, Some((cfg, _)))) => {
                Ok(send(wrap(s.verify(cfg, otp))))
            }
            (Flow::Ciam(c::State::Challenged(s)), Action::Token, Ciam(p, _)) => {
                Ok(send(wrap(s.exchange(p))))
            }
            (Flow::Ciam(c::State::Tokened(s)), Action::Refresh, Ciam(p, _)) => {
                Ok(send(wrap(s.refresh(p))))
            }
            (Flow::Ciam(c::State::Tokened(s)), Action::Revoke, Ciam(p, _)) => {
                Ok(send(wrap(s.revoke(p))))
            }
            (flow, _, _) => Err(refuse(flow, Misuse::SecretsNeeded { step })),
        }
    }
}

/// A bank seen from one API: its profile, and the configuration with secrets when it has one.
enum View<'a> {
    Realm(&'a RealmProfile, Option<&'a RealmConfig>),
    Ciam(
        &'a CiamProfile,
        Option<(&'a CiamConfig, &'a dyn CredentialSealer)>,
    ),
}

impl<'a> Bank<'a> {
    fn view(&self) -> View<'a> {
        match *self {
            Bank::Realm(cfg) => View::Realm(cfg.profile(), Some(cfg)),
            Bank::Ciam(cfg, sealer) => View::Ciam(cfg.profile(), Some((cfg, sealer))),
            Bank::Profile(Profile::Realm(p)) => View::Realm(p, None),
            Bank::Profile(Profile::Ciam(p)) => View::Ciam(p, None),
        }
    }
}

fn wrap<S>((request, pending): (Request, Pending<S>)) -> (Request, PendingFlow)
where
    S: crate::Step,
    PendingFlow: From<Pending<S>>,
{
    (request, PendingFlow::from(pending))
}

macro_rules! pending_flow {
    ($($variant:ident($step:ty) => $next:expr),* $(,)?) => {
        enum Steps {
            $($variant(Pending<$step>),)*
        }

        /// Any step of any flow, awaiting its response: [`Pending`] with the step's type erased
        /// into the [`Flow`] it yields.
        pub struct PendingFlow(Steps);

        impl PendingFlow {
            /// Which step awaits its response.
            pub fn step(&self) -> StepId {
                match &self.0 {
                    $(Steps::$variant(p) => p.step(),)*
                }
            }

            /// Feeds the response back (see [`Pending::receive`]).
            ///
            /// # Errors
            /// The step failed; the flow comes back unless the error ended it.
            pub fn receive(self, response: &Response, now: SystemTime) -> Result<Flow, Failed<Flow>> {
                match self.0 {
                    $(Steps::$variant(p) => p
                        .receive(response, now)
                        .map($next)
                        .map_err(|f| f.map_state(Flow::from)),)*
                }
            }

            /// No usable response arrived (see [`Pending::fail`]): the flow comes back.
            pub fn fail(self, error: TransportError) -> Failed<Flow> {
                match self.0 {
                    $(Steps::$variant(p) => p.fail(error).map_state(Flow::from),)*
                }
            }
        }

        $(
            impl From<Pending<$step>> for PendingFlow {
                fn from(p: Pending<$step>) -> Self {
                    PendingFlow(Steps::$variant(p))
                }
            }
        )*
    };
}

pending_flow!(
    RealmRequestLogin(realm::RequestLoginStep) => |next: realm::LoginStarted| match next {
        realm::LoginStarted::Challenged(s) => Flow::from(s),
        realm::LoginStarted::MfaPending(s) => Flow::from(s),
    },
    RealmExchange(realm::ExchangeStep) => Flow::from,
    RealmOtp(realm::OtpStep) => Flow::from,
    RealmRefresh(realm::RefreshStep) => Flow::from,
    ResetRequest(forgot::RequestResetStep) => Flow::from,
    ResetVerify(forgot::VerifyOtpStep) => Flow::from,
    ResetPassword(forgot::ResetPasswordStep) => Flow::from,
    CiamAuthorize(ciam::AuthorizeStep) => Flow::from,
    CiamCaptcha(ciam::CaptchaStep) => Flow::from,
    CiamLoginChallenge(ciam::LoginChallengeStep) => |next: ciam::LoginOutcome| match next {
        ciam::LoginOutcome::Challenged(s) => Flow::from(s),
        ciam::LoginOutcome::MfaPending(s) => Flow::from(s),
    },
    CiamVerify(ciam::PreLoginVerifyStep) => Flow::from,
    CiamAccessToken(ciam::AccessTokenStep) => Flow::from,
    CiamRefresh(ciam::RefreshStep) => Flow::from,
    CiamRevoke(ciam::RevokeStep) => |r: ciam::Revoked| Flow::Ciam(ciam::State::Revoked(r)),
);

impl std::fmt::Debug for PendingFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingFlow")
            .field("step", &self.step())
            .finish_non_exhaustive()
    }
}
