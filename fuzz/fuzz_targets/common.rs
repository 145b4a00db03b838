//! Shared by the flow targets: configurations, canned successes, and one step of any flow
//! through the engine's one face (`Flow::actions` to choose, `Flow::begin`, `PendingFlow`).

#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use login_core::action::{Action, Bank, Begun, Env};
use login_core::ciam::{self, CiamConfig, Credentials};
use login_core::entropy::DeterministicEntropy;
use login_core::realm::{self, RealmConfig};
use login_core::seal::JweSealer;
use login_core::secret::{CaptchaAnswer, ClientSecret, DeviceToken, Otp, Password};
use login_core::table::{Api, Input, StepId};
use login_core::{ErrorKind, Failed, Flow, Response, TransportError, TransportErrorKind, forgot};

/// Every secret handed in contains this; no `Debug` may show it.
pub const SECRET: &str = "FUZZSECRET";

pub struct World {
    pub realm: RealmConfig,
    pub ciam: CiamConfig,
    pub sealer: JweSealer,
    pub rng: DeterministicEntropy,
    pub now: SystemTime,
}

impl World {
    pub fn new(seed: u64) -> Self {
        // Computing the public key is slow; once per process is enough.
        static JWK: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let jwk = JWK.get_or_init(|| {
            let key = p256::SecretKey::from_slice(&[7u8; 32]).expect("fixed scalar is valid");
            key.public_key().to_jwk_string()
        });
        Self {
            realm: RealmConfig::new(
                "cap",
                "cap-mobile",
                ClientSecret::new(format!("{SECRET}-cs")),
            ),
            ciam: CiamConfig::new(
                "ib",
                "https://app.example/cb",
                DeviceToken::new(format!("{SECRET}-dev")),
            )
            .location("13.7", "100.5")
            .event_id("ev-1"),
            sealer: JweSealer::from_jwk(jwk).expect("fixed key"),
            rng: DeterministicEntropy::new(seed),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        }
    }

    /// The environment for a flow of `api` (the realm bank drives forgot password too).
    pub fn env(&mut self, api: Api) -> Env<'_> {
        let bank = match api {
            Api::Ciam => Bank::Ciam(&self.ciam, &self.sealer),
            Api::Realm | Api::ForgotPassword => Bank::Realm(&self.realm),
        };
        Env::new(bank, &mut self.rng, self.now)
    }
}

/// What the "server" answers to one step.
#[derive(Debug, Arbitrary)]
pub enum Reply {
    /// A valid success; the byte picks the branch where a step has several.
    Success(u8),
    /// Anything at all.
    Raw { status: u16, body: Vec<u8> },
    /// An error status with a contract error code.
    Refusal { status: u16, code: u8 },
    /// No response.
    Transport,
}

#[derive(Debug, Arbitrary)]
pub struct Op {
    /// Which of the actions the table lists from the state (modulo their number); from
    /// [`UNLISTED`] up, an action it does not list, which must be refused.
    pub choice: u8,
    pub reply: Reply,
    pub suspend: bool,
    pub advance_secs: u16,
}

/// Choices from here up try an action the table does not list.
pub const UNLISTED: u8 = 0xf0;

const CODES: [&str; 10] = [
    "invalid_credentials",
    "invalid_otp",
    "invalid_captcha",
    "captcha_required",
    "invalid_token",
    "expired",
    "not_found",
    "locked",
    "invalid_request",
    "x",
];

fn tokens(n: u8) -> String {
    format!(
        r#"{{"accessToken":"{SECRET}-at{n}","refreshToken":"{SECRET}-rt{n}","expires":300.5,"refreshExpires":1800,"scope":"openid","tokenType":"Bearer","extra":[1,2]}}"#
    )
}

/// A valid success of `step` (the byte picks the branch); `state` is the `state` authorize
/// sent, echoed back on one branch.
fn success(step: StepId, b: u8, state: Option<&str>) -> (u16, String) {
    match step {
        StepId::RealmRequestLogin => (
            201,
            if b.is_multiple_of(2) {
                format!(r#"{{"reqId":"{SECRET}-r","exp":300,"mfa":"none"}}"#)
            } else {
                format!(r#"{{"reqId":"{SECRET}-r","exp":"300","mfa":"otp","refId":"K1"}}"#)
            },
        ),
        StepId::RealmToken => (201, tokens(b)),
        StepId::RealmRefresh | StepId::CiamAccessToken | StepId::CiamRefresh => (200, tokens(b)),
        StepId::ResetRequest => (201, format!(r#"{{"reqId":"{SECRET}-q","refId":"R1"}}"#)),
        StepId::ResetVerifyOtp => (
            201,
            format!(r#"{{"reqId":"{SECRET}-ticket","refId":"R1"}}"#),
        ),
        StepId::ResetPassword => (
            200,
            if b.is_multiple_of(2) {
                r#"{"success":true}"#.into()
            } else {
                String::new()
            },
        ),
        StepId::CiamAuthorize => (
            200,
            match state.filter(|_| b % 2 == 1) {
                Some(state) => format!(
                    r#"{{"loginChallenge":"{SECRET}-lc","authToken":"{SECRET}-at","state":"{state}"}}"#
                ),
                None => format!(r#"{{"loginChallenge":"{SECRET}-lc","authToken":"{SECRET}-at"}}"#),
            },
        ),
        StepId::CiamCaptcha => (200, r#"{"captchaId":"c1","image":"iVBORw0KGgo="}"#.into()),
        StepId::CiamLoginChallenge => (
            200,
            if b.is_multiple_of(2) {
                format!(r#"{{"code":"{SECRET}-code","token":"{SECRET}-tok"}}"#)
            } else {
                format!(r#"{{"mfaChallenge":"{SECRET}-mfa","channel":"sms","refId":"R2"}}"#)
            },
        ),
        StepId::CiamPreLoginVerify => (
            200,
            format!(r#"{{"code":"{SECRET}-code","token":"{SECRET}-tok"}}"#),
        ),
        // Revoke reads `{success}` leniently; realm revoke is local and never asks.
        StepId::CiamRevoke | StepId::RealmRevoke => (200, String::new()),
    }
}

/// The response for `reply`, or `None` for no response.
fn response(reply: &Reply, step: StepId, state: Option<&str>) -> Option<Response> {
    Some(match reply {
        Reply::Success(b) => {
            let (status, body) = success(step, *b, state);
            Response::new(status, body.into_bytes())
        }
        Reply::Raw { status, body } => {
            Response::new(*status, body.clone()).with_header("Retry-After", "1")
        }
        Reply::Refusal { status, code } => Response::new(
            400 + (*status % 200),
            format!(
                r#"{{"error":"{}","message":"m"}}"#,
                CODES[*code as usize % CODES.len()]
            )
            .into_bytes(),
        ),
        Reply::Transport => return None,
    })
}

fn otp() -> Otp {
    Otp::new(format!("{SECRET}-otp"))
}

fn credentials() -> Credentials {
    Credentials::new("alice", Password::new(format!("{SECRET}-pw")))
}

/// The action the table names `(step, input)`, with the fuzzer's secret-marked inputs.
fn action_for(step: StepId, input: Input) -> Action {
    match (input, step) {
        (Input::Otp, _) => Action::Otp(otp()),
        (Input::Credentials, _) => Action::Credentials(credentials()),
        (Input::CaptchaAnswer, _) => {
            Action::CaptchaAnswer(credentials(), CaptchaAnswer::new(format!("{SECRET}-cap")))
        }
        (Input::NewPassword, _) => Action::NewPassword(Password::new(format!("{SECRET}-new"))),
        (Input::Nothing, StepId::RealmRequestLogin) => Action::RequestLogin,
        (Input::Nothing, StepId::RealmRefresh | StepId::CiamRefresh) => Action::Refresh,
        (Input::Nothing, StepId::RealmRevoke | StepId::CiamRevoke) => Action::Revoke,
        (Input::Nothing, StepId::ResetRequest) => Action::RequestReset,
        (Input::Nothing, StepId::CiamAuthorize) => Action::Authorize,
        (Input::Nothing, StepId::CiamCaptcha) => Action::FetchCaptcha,
        // The token calls; the table lists no other step without an input.
        (Input::Nothing, _) => Action::Token,
    }
}

/// Every kind of action.
fn every_action() -> [Action; 11] {
    [
        Action::RequestLogin,
        Action::Token,
        Action::Otp(otp()),
        Action::Refresh,
        Action::Revoke,
        Action::Authorize,
        Action::FetchCaptcha,
        Action::Credentials(credentials()),
        Action::CaptchaAnswer(credentials(), CaptchaAnswer::new(format!("{SECRET}-cap"))),
        Action::RequestReset,
        Action::NewPassword(Password::new(format!("{SECRET}-new"))),
    ]
}

fn check_debug(what: &impl std::fmt::Debug) {
    let text = format!("{what:?}");
    assert!(!text.contains(SECRET), "secret in Debug: {text}");
}

fn fresh(w: &mut World, api: Api) -> Flow {
    match api {
        Api::Realm => realm_start(),
        Api::ForgotPassword => forgot_start(),
        Api::Ciam => ciam_start(w),
    }
}

/// After a failure: the surviving state, or a fresh start of the same API.
fn or_restart(w: &mut World, api: Api, failed: Failed<Flow>) -> Flow {
    check_debug(&failed);
    let _ = failed.error.to_string();
    match failed.state {
        Some(flow) => flow,
        None => fresh(w, api),
    }
}

fn realm_start() -> Flow {
    realm::Start::new("alice", Password::new(format!("{SECRET}-pw"))).into()
}

fn forgot_start() -> Flow {
    forgot::Start::new("alice").into()
}

fn ciam_start(w: &mut World) -> Flow {
    ciam::Start::new(&mut w.rng)
        .expect("deterministic entropy")
        .into()
}

/// The `state` an internet-banking `Start` will send with authorize, for the echo.
fn state_echo(flow: &Flow) -> Option<String> {
    match flow {
        Flow::Ciam(ciam::State::Start(s)) => Some(s.state().to_owned()),
        _ => None,
    }
}

/// An action the table does not list from `flow`: refused, nothing sent, the flow given back
/// byte for byte.
fn unlisted(w: &mut World, flow: Flow, choice: u8) -> Flow {
    let api = flow.api();
    let offered: Vec<(StepId, Input)> = flow.actions().collect();
    let others: Vec<Action> = every_action()
        .into_iter()
        .filter(|a| a.key(api).is_none_or(|key| !offered.contains(&key)))
        .collect();
    let action = others[usize::from(choice) % others.len()].clone();
    let before = flow.to_snapshot();
    match flow.begin(action, &mut w.env(api)) {
        Ok(begun) => panic!("an action the table does not list was begun: {begun:?}"),
        Err(failed) => {
            assert_eq!(failed.error.kind(), ErrorKind::Misuse);
            let back = failed.state.expect("a refusal gives the flow back");
            assert_eq!(back.to_snapshot().expose(), before.expose());
            back
        }
    }
}

/// Takes one action of `flow` (as `op.choice` picks) and answers it with `op.reply`.
pub fn step(w: &mut World, flow: Flow, op: &Op) -> Flow {
    let now = w.now;
    let api = flow.api();
    let offered: Vec<(StepId, Input)> = flow.actions().collect();
    let next = if offered.is_empty() {
        // Terminal states: start another flow, chosen by the op.
        match op.choice % 3 {
            0 => realm_start(),
            1 => forgot_start(),
            _ => ciam_start(w),
        }
    } else if op.choice >= UNLISTED {
        unlisted(w, flow, op.choice)
    } else {
        let (step, input) = offered[usize::from(op.choice) % offered.len()];
        let echo = state_echo(&flow);
        match flow.begin(action_for(step, input), &mut w.env(api)) {
            Ok(Begun::Local(next)) => next,
            Ok(Begun::Send(req, pending)) => {
                check_debug(&req);
                check_debug(&pending);
                let result = match response(&op.reply, step, echo.as_deref()) {
                    Some(r) => pending.receive(&r, now),
                    None => {
                        Err(pending.fail(TransportError::new(TransportErrorKind::Reset, "reset")))
                    }
                };
                match result {
                    Ok(next) => next,
                    Err(failed) => or_restart(w, api, failed),
                }
            }
            Err(failed) => or_restart(w, api, failed),
        }
    };
    check_debug(&next);
    w.now += Duration::from_secs(u64::from(op.advance_secs));
    if op.suspend {
        let bytes = next.to_snapshot();
        return Flow::from_snapshot(bytes.expose()).expect("a written snapshot resumes");
    }
    next
}
