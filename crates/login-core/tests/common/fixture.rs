//! The test fixture: the engine's configurations made from [`Settings`], the sealer,
//! deterministic entropy and a clock; the user's inputs; and reaching states through the
//! engine's one face (`Flow::actions` to choose, `Flow::begin`, `PendingFlow::receive`).
//! Nothing here dispatches on states: an action is made from the table's `(step, input)` and
//! the user's inputs alone.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use login_core::action::{Action, Bank, Begun, Env};
use login_core::ciam::{self, CiamConfig, Credentials};
use login_core::entropy::DeterministicEntropy;
use login_core::realm::{self, RealmConfig};
use login_core::seal::JweSealer;
use login_core::secret::{CaptchaAnswer, Otp, Password};
use login_core::table::{Api, Input, Outcome, StateId, StepId, TRANSITIONS};
use login_core::{Failed, Flow, Response, TransportError, TransportErrorKind, forgot};

use super::contract::{Fingerprint, Settings, USERNAME, fingerprint};
use super::oracle::{CAPTCHA_ANSWER, NEW_PASSWORD, OTP, PASSWORD, sealer};
use super::replies::success_replies;

/// A fixed receipt instant so expiries are reproducible.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

/// What the user types: the OTP, the credentials, the captcha answer, the new password.
#[derive(Clone, Debug)]
pub struct Inputs {
    pub otp: String,
    pub username: String,
    pub password: String,
    pub captcha_answer: String,
    pub new_password: String,
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            otp: OTP.to_owned(),
            username: USERNAME.to_owned(),
            password: PASSWORD.to_owned(),
            captcha_answer: CAPTCHA_ANSWER.to_owned(),
            new_password: NEW_PASSWORD.to_owned(),
        }
    }
}

impl Inputs {
    pub fn credentials(&self) -> Credentials {
        Credentials::new(self.username.clone(), Password::new(self.password.clone()))
    }

    pub fn otp(&self) -> Action {
        Action::Otp(Otp::new(self.otp.clone()))
    }

    pub fn login(&self) -> Action {
        Action::Credentials(self.credentials())
    }

    pub fn captcha_answer(&self) -> Action {
        Action::CaptchaAnswer(
            self.credentials(),
            CaptchaAnswer::new(self.captcha_answer.clone()),
        )
    }

    pub fn new_password(&self) -> Action {
        Action::NewPassword(Password::new(self.new_password.clone()))
    }
}

/// The action the table names `(step, input)`, carrying the user's `inputs`: data to
/// [`Action`], the inverse of [`Action::key`].
pub fn action_for(step: StepId, input: Input, inputs: &Inputs) -> Action {
    use StepId as S;
    match input {
        Input::Otp => inputs.otp(),
        Input::Credentials => inputs.login(),
        Input::CaptchaAnswer => inputs.captcha_answer(),
        Input::NewPassword => inputs.new_password(),
        Input::Nothing => match step {
            S::RealmRequestLogin => Action::RequestLogin,
            S::RealmToken | S::CiamAccessToken => Action::Token,
            S::RealmRefresh | S::CiamRefresh => Action::Refresh,
            S::RealmRevoke | S::CiamRevoke => Action::Revoke,
            S::ResetRequest => Action::RequestReset,
            S::CiamAuthorize => Action::Authorize,
            S::CiamCaptcha => Action::FetchCaptcha,
            S::ResetVerifyOtp
            | S::ResetPassword
            | S::CiamLoginChallenge
            | S::CiamPreLoginVerify => {
                panic!("{step:?} takes an input; the table names none without one")
            }
        },
    }
}

/// Every kind of action, with the user's inputs.
pub fn every_action(inputs: &Inputs) -> Vec<Action> {
    let all = vec![
        Action::RequestLogin,
        Action::Token,
        inputs.otp(),
        Action::Refresh,
        Action::Revoke,
        Action::Authorize,
        Action::FetchCaptcha,
        inputs.login(),
        inputs.captcha_answer(),
        Action::RequestReset,
        inputs.new_password(),
    ];
    // A new kind of action stops this from compiling until it is listed above.
    for action in &all {
        match action {
            Action::RequestLogin
            | Action::Token
            | Action::Otp(_)
            | Action::Refresh
            | Action::Revoke
            | Action::Authorize
            | Action::FetchCaptcha
            | Action::Credentials(_)
            | Action::CaptchaAnswer(..)
            | Action::RequestReset
            | Action::NewPassword(_) => {}
        }
    }
    all
}

/// The table's name of `action` from `flow`, when the table lists it there.
pub fn listed(flow: &Flow, action: &Action) -> Option<(StepId, Input)> {
    action
        .key(flow.api())
        .filter(|key| flow.actions().any(|a| a == *key))
}

/// The state a failure of `step` with `input` from `from` gives back (when the error does not
/// end the flow): the table's refusal row names it where the step uses something up (a
/// captcha); every other failure gives the state back as it was.
pub fn state_after_failure(api: Api, from: StateId, step: StepId, input: Input) -> StateId {
    TRANSITIONS
        .iter()
        .find(|t| {
            t.api == api
                && t.from == from
                && t.step == step
                && t.input == input
                && matches!(t.outcome, Outcome::Rejected(_))
        })
        .map_or(from, |t| t.to)
}

/// Everything a flow needs besides its state, owned, so a test can fork it.
pub struct Fixture {
    pub settings: Settings,
    pub realm: RealmConfig,
    pub ciam: CiamConfig,
    pub sealer: JweSealer,
    pub entropy: DeterministicEntropy,
    pub now: SystemTime,
}

impl Fixture {
    pub fn new(settings: Settings, seed: u64) -> Self {
        Self {
            realm: settings.realm_config(),
            ciam: settings.ciam_config(),
            settings,
            sealer: sealer(),
            entropy: DeterministicEntropy::new(seed),
            now: t0(),
        }
    }

    /// An identical, independent copy (same configs, same entropy position, same clock).
    pub fn fork(&self) -> Fixture {
        Fixture {
            settings: self.settings.clone(),
            realm: self.realm.clone(),
            ciam: self.ciam.clone(),
            sealer: self.sealer.clone(),
            entropy: self.entropy.clone(),
            now: self.now,
        }
    }

    /// The environment for a flow of `api` (the realm bank drives forgot password too), at
    /// the fixture's clock.
    pub fn env(&mut self, api: Api) -> Env<'_> {
        let bank = match api {
            Api::Ciam => Bank::Ciam(&self.ciam, &self.sealer),
            _ => Bank::Realm(&self.realm),
        };
        Env::new(bank, &mut self.entropy, self.now)
    }

    /// `flow.begin(action)` in this fixture's environment.
    pub fn begin(&mut self, flow: Flow, action: Action) -> Result<Begun, Failed<Flow>> {
        let api = flow.api();
        flow.begin(action, &mut self.env(api))
    }

    /// A fresh flow of an API at its start.
    pub fn start(&mut self, api: Api) -> Flow {
        match api {
            Api::Realm => Flow::from(realm::Start::new(USERNAME, Password::new(PASSWORD))),
            Api::Ciam => Flow::from(ciam::Start::new(&mut self.entropy).expect("entropy")),
            Api::ForgotPassword => Flow::from(forgot::Start::new(USERNAME)),
        }
    }
}

/// Takes `action` from `flow` with its success reply of `branch` (values numbered `n`).
pub fn advance(flow: Flow, action: Action, branch: usize, fx: &mut Fixture, n: u32) -> Flow {
    let from = flow.state_id();
    match fx.begin(flow, action) {
        Ok(Begun::Local(next)) => next,
        Ok(Begun::Send(_, pending)) => {
            let step = pending.step();
            let (_, reply) = success_replies(from, step, n).swap_remove(branch);
            pending
                .receive(&reply, fx.now)
                .unwrap_or_else(|f| panic!("{step:?} failed on its success reply: {f:?}"))
        }
        Err(f) => panic!("refused from {from:?}: {f:?}"),
    }
}

/// Every state of every API, reached by the contract's steps (one representative each).
pub fn all_states(fx: &mut Fixture) -> Vec<(&'static str, Flow)> {
    let inputs = Inputs::default();
    let mut out = Vec::new();
    let r0 = fx.start(Api::Realm);
    out.push(("realm Start", r0.clone()));
    let rc = advance(r0.clone(), Action::RequestLogin, 0, fx, 1);
    out.push(("realm Challenged", rc));
    let rm = advance(r0, Action::RequestLogin, 1, fx, 2);
    out.push(("realm MfaPending", rm.clone()));
    let rt = advance(rm, inputs.otp(), 0, fx, 3);
    out.push(("realm Tokened", rt.clone()));
    out.push(("realm Revoked", advance(rt, Action::Revoke, 0, fx, 4)));

    let f0 = fx.start(Api::ForgotPassword);
    out.push(("forgot Start", f0.clone()));
    let f1 = advance(f0, Action::RequestReset, 0, fx, 5);
    out.push(("forgot OtpSent", f1.clone()));
    let f2 = advance(f1, inputs.otp(), 0, fx, 6);
    out.push(("forgot Verified", f2.clone()));
    let f3 = advance(f2, inputs.new_password(), 0, fx, 7);
    out.push(("forgot PasswordReset", f3));

    let c0 = fx.start(Api::Ciam);
    out.push(("ciam Start", c0.clone()));
    let ca = advance(c0, Action::Authorize, 0, fx, 8);
    out.push(("ciam Authorized", ca.clone()));
    let cs = advance(ca.clone(), Action::FetchCaptcha, 0, fx, 9);
    out.push(("ciam CaptchaShown", cs));
    let cc = advance(ca.clone(), inputs.login(), 0, fx, 10);
    out.push(("ciam Challenged", cc));
    let cm = advance(ca, inputs.login(), 1, fx, 11);
    out.push(("ciam MfaPending", cm.clone()));
    let cc2 = advance(cm, inputs.otp(), 0, fx, 12);
    let ct = advance(cc2, Action::Token, 0, fx, 13);
    out.push(("ciam Tokened", ct.clone()));
    out.push(("ciam Revoked", advance(ct, Action::Revoke, 0, fx, 14)));
    out
}

/// Snapshot bytes of a flow, as a Vec.
pub fn snap(flow: &Flow) -> Vec<u8> {
    flow.to_snapshot().expose().to_vec()
}

/// Which (api, state) a flow is in.
pub fn state_key(flow: &Flow) -> (Api, StateId) {
    (flow.api(), flow.state_id())
}

/// Counts per key, for reports.
pub fn count_by<K: Ord>(items: impl IntoIterator<Item = K>) -> BTreeMap<K, usize> {
    let mut m = BTreeMap::new();
    for k in items {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

/// A comparable summary of a step's result: the next state's snapshot, or the error kind and
/// the snapshot of the state given back; and the failure's `Display`.
pub type Summary = (Result<Vec<u8>, (String, Option<Vec<u8>>)>, Option<String>);

/// Summarizes a step's result for comparison.
pub fn summary(result: &Result<Flow, Failed<Flow>>) -> Summary {
    match result {
        Ok(next) => (Ok(snap(next)), None),
        Err(f) => (
            Err((
                f.error.kind().as_str().to_owned(),
                f.state.as_ref().map(snap),
            )),
            Some(format!("{f} / {}", f.error)),
        ),
    }
}

/// Begins `action` from `flow` and feeds `reply` (a transport failure when `None`): the
/// request's fingerprint and the outcome summary, to compare two flows that should behave
/// alike.
pub fn run_once(
    flow: Flow,
    action: Action,
    fx: &mut Fixture,
    reply: Option<&Response>,
) -> (Option<Fingerprint>, Summary) {
    match fx.begin(flow, action) {
        Ok(Begun::Local(next)) => (None, summary(&Ok(next))),
        Err(refused) => (None, summary(&Err(refused))),
        Ok(Begun::Send(req, pending)) => {
            let result = match reply {
                Some(r) => pending.receive(r, fx.now),
                None => Err(pending.fail(TransportError::new(TransportErrorKind::Timeout, "t"))),
            };
            (Some(fingerprint(&req)), summary(&result))
        }
    }
}
