//! Property tests: random walks through the realm, internet-banking and forgot-password flows,
//! stepped only through the engine's face (`Flow::actions` to choose, `Flow::begin`,
//! `PendingFlow`), with random server replies (valid successes, every error status, random bytes, random JSON
//! with wrong types, floats and unknown fields, transport failures), random suspend/resume
//! through snapshots and random time advances.
//!
//! Invariants checked at every step: no panic; every request has exactly the contract's method,
//! path, headers and body fields, with the values the flow so far demands (the envelope opened
//! by independent code); success moves only along the table and `Tokened` is reached only by
//! the contract's sequence of steps; failures give back the state the table says or end the
//! flow exactly when `ends_flow()`; terminal states offer no action; an action the table does
//! not list is refused with the flow unchanged; a resumed flow behaves as the original (same
//! request bytes and same outcome for the same entropy and replies); no canary or wire secret
//! in any `Debug` or `Display`.
//!
//! The case count is proptest's (256 by default, `PROPTEST_CASES` raises it).

mod common;

use std::time::Duration;

use common::*;
use login_core::action::{Action, Begun};
use login_core::table::{Api, Input, Outcome, StateId, StepId, TRANSITIONS};
use login_core::{Error, ErrorKind, Failed, Flow, Response, TransportError};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};

/// Response fields of every step, and a few unknown ones.
const FIELDS: &[&str] = &[
    "reqId",
    "exp",
    "mfa",
    "refId",
    "accessToken",
    "refreshToken",
    "expires",
    "refreshExpires",
    "scope",
    "sessionState",
    "tokenType",
    "redirectUrl",
    "loginChallenge",
    "authToken",
    "state",
    "captchaId",
    "image",
    "code",
    "token",
    "mfaChallenge",
    "channel",
    "success",
    "error",
    "message",
    "unknownField",
];

/// Fields that carry secrets: only these may hold a canary in a random reply.
const SECRET_FIELDS: &[&str] = &[
    "reqId",
    "accessToken",
    "refreshToken",
    "loginChallenge",
    "authToken",
    "code",
    "token",
    "mfaChallenge",
];

/// Plain strings for non-secret fields (some are the values the contract knows).
const PLAIN: &[&str] = &[
    "none",
    "otp",
    "sms",
    "email",
    "",
    "x",
    "300",
    "1e3",
    "-5",
    "Bearer",
    "iVBORw0KGgo=",
    "data:image/png;base64,iVBORw0KGgo=",
    "invalid_otp",
    "true",
];

#[derive(Debug, Clone)]
enum JsonGen {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// An index into the plain strings, or a canary for secret fields.
    Str(usize),
    Array(Vec<JsonGen>),
    Object,
}

fn json_gen() -> impl Strategy<Value = JsonGen> {
    let leaf = prop_oneof![
        Just(JsonGen::Null),
        any::<bool>().prop_map(JsonGen::Bool),
        prop_oneof![
            Just(0i64),
            Just(300),
            Just(-1),
            Just(i64::MAX),
            any::<i64>()
        ]
        .prop_map(JsonGen::Int),
        prop_oneof![
            Just(0.5f64),
            Just(1e300),
            Just(-0.0),
            Just(299.999),
            any::<f64>()
        ]
        .prop_map(JsonGen::Float),
        (0usize..64).prop_map(JsonGen::Str),
        (0usize..64).prop_map(JsonGen::Str),
        (0usize..64).prop_map(JsonGen::Str),
        Just(JsonGen::Object),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(JsonGen::Array)
    })
}

fn render(g: &JsonGen, secret: bool, n: u32) -> Value {
    match g {
        JsonGen::Null => Value::Null,
        JsonGen::Bool(b) => json!(b),
        JsonGen::Int(i) => json!(i),
        JsonGen::Float(f) => json!(f),
        JsonGen::Str(i) if secret && i % 4 != 0 => json!(format!("{MARK}-R{n}-{i}")),
        JsonGen::Str(i) => json!(PLAIN[i % PLAIN.len()]),
        JsonGen::Array(items) => Value::Array(items.iter().map(|g| render(g, secret, n)).collect()),
        JsonGen::Object => json!({"nested": {"k": [1, 2.5]}}),
    }
}

#[derive(Debug, Clone)]
enum ReplyGen {
    /// The step's success reply of this branch (modulo the number of branches).
    Success(usize),
    /// One of `error_replies()` (every error status and code, 3xx, 418, garbage 2xx).
    Error(usize),
    /// Random bytes with a random status.
    Bytes(u16, Vec<u8>),
    /// A random JSON object of known and unknown fields with random types.
    Json(u16, Vec<(usize, JsonGen)>),
    /// The step's success reply with one field replaced by a random value.
    Twisted(usize, usize, JsonGen),
    /// No response: a transport failure.
    Transport(usize),
}

fn reply_gen() -> impl Strategy<Value = ReplyGen> {
    let status = prop_oneof![
        Just(200u16),
        Just(201),
        Just(204),
        Just(400),
        Just(401),
        Just(404),
        Just(429),
        Just(500),
        100u16..600,
    ];
    prop_oneof![
        8 => (0usize..4).prop_map(ReplyGen::Success),
        4 => (0usize..128).prop_map(ReplyGen::Error),
        1 => (status.clone(), prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(s, b)| ReplyGen::Bytes(s, b)),
        2 => (status, prop::collection::vec((0..FIELDS.len(), json_gen()), 0..6))
            .prop_map(|(s, f)| ReplyGen::Json(s, f)),
        2 => (0usize..4, 0usize..16, json_gen())
            .prop_map(|(b, i, g)| ReplyGen::Twisted(b, i, g)),
        1 => (0usize..8).prop_map(ReplyGen::Transport),
    ]
}

/// The reply, or the transport failure.
fn build(g: &ReplyGen, from: StateId, step: StepId, n: u32) -> Result<Response, TransportError> {
    let mut successes = success_replies(from, step, n);
    if successes.is_empty() {
        // A local step (realm revoke) takes no reply; any placeholder will do.
        successes.push(("", Response::new(200, Vec::new())));
    }
    match g {
        ReplyGen::Success(i) => Ok(successes[i % successes.len()].1.clone()),
        ReplyGen::Error(i) => {
            let all = error_replies();
            Ok(all[i % all.len()].clone())
        }
        ReplyGen::Bytes(s, b) => Ok(Response::new(*s, b.clone())),
        ReplyGen::Json(s, fields) => {
            let mut m = Map::new();
            for (f, g) in fields {
                let name = FIELDS[*f];
                m.insert(name.to_owned(), render(g, SECRET_FIELDS.contains(&name), n));
            }
            Ok(json(*s, Value::Object(m)))
        }
        ReplyGen::Twisted(b, i, g) => {
            let (_, base) = &successes[b % successes.len()];
            let mut v: Value = serde_json::from_slice(base.body()).unwrap_or(json!({}));
            if let Some(obj) = v.as_object_mut() {
                let keys: Vec<String> = obj.keys().cloned().collect();
                if !keys.is_empty() {
                    let k = &keys[i % keys.len()];
                    let secret = SECRET_FIELDS.contains(&k.as_str());
                    obj.insert(k.clone(), render(g, secret, n));
                }
            }
            Ok(json(base.status(), v))
        }
        ReplyGen::Transport(i) => {
            let all = transport_failures();
            Err(all[i % all.len()].clone())
        }
    }
}

#[derive(Debug, Clone)]
struct Move {
    pick: usize,
    reply: ReplyGen,
    /// Seconds the clock moves before the step.
    advance: u64,
    /// Suspend to a snapshot and resume before the step.
    suspend: bool,
    /// Try an action the table does not list from here instead (it must be refused).
    unlisted: bool,
}

fn move_gen() -> impl Strategy<Value = Move> {
    (
        any::<usize>(),
        reply_gen(),
        prop_oneof![
            4 => Just(0u64),
            4 => 0u64..600,
            1 => 0u64..(20 * 365 * 86_400),
        ],
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(pick, reply, advance, suspend, unlisted)| Move {
            pick,
            reply,
            advance,
            suspend,
            unlisted,
        })
}

/// Whether `path` (the successful steps since the flow started) is a contract route to `to`.
fn contract_path(api: Api, to: StateId, path: &[StepId]) -> bool {
    let mut i = 0;
    let mut take = |s: StepId, path: &[StepId]| {
        if path.get(i) == Some(&s) {
            i += 1;
            true
        } else {
            false
        }
    };
    let (body, last) = match to {
        StateId::Revoked => match path.split_last() {
            Some((l, rest)) => (rest, Some(*l)),
            None => return false,
        },
        _ => (path, None),
    };
    let ok = match api {
        Api::Realm => {
            take(StepId::RealmRequestLogin, body) && take(StepId::RealmToken, body) && {
                while take(StepId::RealmRefresh, body) {}
                true
            }
        }
        Api::Ciam => {
            take(StepId::CiamAuthorize, body)
                && {
                    while take(StepId::CiamCaptcha, body) {}
                    true
                }
                && take(StepId::CiamLoginChallenge, body)
                && {
                    take(StepId::CiamPreLoginVerify, body);
                    true
                }
                && take(StepId::CiamAccessToken, body)
                && {
                    while take(StepId::CiamRefresh, body) {}
                    true
                }
        }
        Api::ForgotPassword => {
            take(StepId::ResetRequest, body)
                && take(StepId::ResetVerifyOtp, body)
                && take(StepId::ResetPassword, body)
        }
    };
    let revoke_ok = match (api, last) {
        (_, None) => true,
        (Api::Realm, Some(l)) => l == StepId::RealmRevoke,
        (Api::Ciam, Some(l)) => l == StepId::CiamRevoke,
        _ => false,
    };
    ok && i == body.len() && revoke_ok
}

fn in_table(api: Api, from: StateId, (step, input): (StepId, Input), to: StateId) -> bool {
    TRANSITIONS.iter().any(|t| {
        t.api == api
            && t.from == from
            && t.step == step
            && t.input == input
            && t.to == to
            && matches!(t.outcome, Outcome::Success(_) | Outcome::Local)
    })
}

struct Walk {
    api: Api,
    fx: Fixture,
    inputs: Inputs,
    flow: Flow,
    mem: Memory,
    path: Vec<StepId>,
    n: u32,
    tokened: usize,
}

macro_rules! check {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($fmt)*)));
        }
    };
}

impl Walk {
    fn no_secret(&self, what: &str, text: &str) -> Result<(), TestCaseError> {
        check!(!text.contains(MARK), "{what} leaks a canary: {text}");
        for s in &self.mem.secrets {
            check!(
                !text.contains(s.as_str()),
                "{what} leaks a wire secret: {text}"
            );
        }
        Ok(())
    }

    fn restart(&mut self) {
        self.flow = self.fx.start(self.api);
        self.mem = Memory::default();
        self.path.clear();
    }

    fn after_failure(
        &mut self,
        from: (Api, StateId),
        key: (StepId, Input),
        failed: Failed<Flow>,
    ) -> Result<(), TestCaseError> {
        let Failed { error, state } = failed;
        match state {
            Some(s) => {
                let want = state_after_failure(from.0, from.1, key.0, key.1);
                // A failed fetch of another captcha drops the shown one (see exploration.rs).
                let dropped_captcha = from.1 == StateId::CaptchaShown
                    && key.0 == StepId::CiamCaptcha
                    && s.state_id() == StateId::Authorized;
                check!(
                    state_key(&s) == (from.0, want) || dropped_captcha,
                    "a failure ({error:?}) of {key:?} moved {from:?} to {:?}",
                    state_key(&s)
                );
                check!(
                    !error.ends_flow(),
                    "{error:?} ends the flow yet kept the state"
                );
                self.flow = s;
            }
            None => {
                check!(
                    error.ends_flow(),
                    "{error:?} lost the state without ending the flow"
                );
                check!(!error.is_transient(), "transient {error:?} lost the state");
                self.restart();
            }
        }
        Ok(())
    }

    /// An action the table does not list from here: refused, nothing sent, the flow unchanged.
    fn try_unlisted(&mut self, pick: usize) -> Result<(), TestCaseError> {
        let unlisted: Vec<Action> = every_action(&self.inputs)
            .into_iter()
            .filter(|a| listed(&self.flow, a).is_none())
            .collect();
        let action = unlisted[pick % unlisted.len()].clone();
        let before = snap(&self.flow);
        match self.fx.begin(self.flow.clone(), action.clone()) {
            Ok(begun) => {
                check!(
                    false,
                    "{action:?} from {before:?} was not refused: {begun:?}"
                )
            }
            Err(Failed { error, state }) => {
                check!(error.kind() == ErrorKind::Misuse, "{action:?}: {error:?}");
                let back = state.ok_or_else(|| TestCaseError::fail("a refusal lost the flow"))?;
                check!(snap(&back) == before, "a refusal changed the flow");
                self.flow = back;
            }
        }
        Ok(())
    }

    fn step(&mut self, mv: &Move) -> Result<(), TestCaseError> {
        self.no_secret("state", &format!("{:?}", self.flow))?;
        let offered: Vec<(StepId, Input)> = self.flow.actions().collect();
        check!(
            offered.is_empty() == self.flow.state_id().is_terminal(),
            "{:?} offers {offered:?}",
            self.flow.state_id()
        );
        if mv.unlisted {
            return self.try_unlisted(mv.pick);
        }
        if offered.is_empty() {
            self.restart();
            return Ok(());
        }
        self.fx.now += Duration::from_secs(mv.advance);
        let key = offered[mv.pick % offered.len()];
        let action = action_for(key.0, key.1, &self.inputs);
        self.n += 1;
        let reply = build(&mv.reply, self.flow.state_id(), key.0, self.n);

        if mv.suspend {
            let bytes = snap(&self.flow);
            let resumed = Flow::from_snapshot(&bytes)
                .map_err(|e| TestCaseError::fail(format!("own snapshot refused: {e}")))?;
            let (mut a, mut b) = (self.fx.fork(), self.fx.fork());
            let r = reply.as_ref().ok();
            let original = run_once(self.flow.clone(), action.clone(), &mut a, r);
            let again = run_once(resumed.clone(), action.clone(), &mut b, r);
            check!(original == again, "{key:?} differs after resume");
            self.flow = resumed;
        }

        let before = self.flow.clone();
        let from = state_key(&before);
        let flow = std::mem::replace(&mut self.flow, before.clone());
        match self.fx.begin(flow, action) {
            Ok(Begun::Local(next)) => {
                check!(
                    in_table(from.0, from.1, key, next.state_id()),
                    "local {key:?} to {:?}",
                    next.state_id()
                );
                self.path.push(key.0);
                self.flow = next;
            }
            Err(refused) => {
                self.no_secret("refusal", &format!("{refused:?} {refused}"))?;
                self.after_failure(from, key, refused)?;
            }
            Ok(Begun::Send(req, pending)) => {
                let seen = check_request(&req, &self.fx.settings).map_err(TestCaseError::fail)?;
                check_carried(
                    &before,
                    key,
                    &self.inputs,
                    &self.mem,
                    &seen,
                    self.fx.now,
                    true,
                )
                .map_err(TestCaseError::fail)?;
                self.mem.on_request(key.0, &seen);
                self.no_secret("request", &format!("{req:?}"))?;
                self.no_secret("pending", &format!("{pending:?}"))?;
                let (result, reply) = match reply {
                    Ok(r) => (pending.receive(&r, self.fx.now), Some(r)),
                    Err(t) => (Err(pending.fail(t)), None),
                };
                self.no_secret("result", &format!("{result:?}"))?;
                if let Err(f) = &result {
                    self.no_secret("display", &format!("{f} / {}", f.error))?;
                }
                match result {
                    Ok(next) => {
                        let to = next.state_id();
                        check!(
                            in_table(from.0, from.1, key, to),
                            "{from:?} --{key:?}--> {to:?} is not in the table"
                        );
                        self.path.push(key.0);
                        if matches!(
                            to,
                            StateId::Tokened | StateId::Revoked | StateId::PasswordReset
                        ) {
                            check!(
                                contract_path(self.api, to, &self.path),
                                "{to:?} reached by {:?}",
                                self.path
                            );
                            if to == StateId::Tokened {
                                self.tokened += 1;
                            }
                        }
                        if let Some(r) = &reply {
                            self.mem.on_success(key.0, r, &next);
                        }
                        self.flow = next;
                    }
                    Err(failed) => self.after_failure(from, key, failed)?,
                }
            }
        }
        Ok(())
    }
}

fn run_walk(api: Api, settings: usize, seed: u64, moves: &[Move]) -> Result<usize, TestCaseError> {
    let all = Settings::variants();
    let mut fx = Fixture::new(all[settings % all.len()].clone(), seed);
    let flow = fx.start(api);
    let mut walk = Walk {
        api,
        fx,
        inputs: Inputs::default(),
        flow,
        mem: Memory::default(),
        path: Vec::new(),
        n: 0,
        tokened: 0,
    };
    for mv in moves {
        walk.step(mv)?;
    }
    Ok(walk.tokened)
}

fn api_gen() -> impl Strategy<Value = Api> {
    prop_oneof![Just(Api::Realm), Just(Api::Ciam), Just(Api::ForgotPassword)]
}

proptest! {
    #[test]
    fn random_walks_keep_every_invariant(
        api in api_gen(),
        profile in 0usize..8,
        seed in any::<u64>(),
        moves in prop::collection::vec(move_gen(), 1..40),
    ) {
        run_walk(api, profile, seed, &moves)?;
    }

    /// Any status and any bytes classify into a typed error that keeps the status.
    #[test]
    fn any_error_response_classifies(status in 0u16..1000, body in prop::collection::vec(any::<u8>(), 0..256)) {
        let e = Error::from_response(&Response::new(status, body));
        prop_assert_eq!(e.status(), Some(status));
        let kind = e.kind();
        let expected_class = match status {
            300..=399 => kind == ErrorKind::Redirect,
            400 => matches!(kind, ErrorKind::BadRequest | ErrorKind::InvalidCaptcha | ErrorKind::CaptchaRequired),
            401 => matches!(kind, ErrorKind::InvalidCredentials | ErrorKind::InvalidOtp | ErrorKind::InvalidToken),
            403 => kind == ErrorKind::Forbidden,
            404 => matches!(kind, ErrorKind::NotFound | ErrorKind::Expired),
            423 => kind == ErrorKind::Locked,
            429 => kind == ErrorKind::RateLimited,
            500..=599 => kind == ErrorKind::ServerError,
            _ => kind == ErrorKind::UnexpectedStatus,
        };
        prop_assert!(expected_class, "{} gave {:?}", status, kind);
        if let Some(se) = e.server_error() {
            prop_assert!(se.code.as_ref().is_none_or(|c| c.chars().count() <= 256));
            prop_assert!(se.message.as_ref().is_none_or(|m| m.chars().count() <= 256));
        }
    }
}

/// The walks are not vacuous: with mostly-successful replies they reach `Tokened` on both APIs
/// and complete the forgot-password machine.
#[test]
fn happy_walks_reach_the_end() {
    let happy = |pick| Move {
        pick,
        reply: ReplyGen::Success(pick),
        advance: 1,
        suspend: pick % 3 == 0,
        unlisted: false,
    };
    let moves: Vec<Move> = (0..30).map(happy).collect();
    for api in [Api::Realm, Api::Ciam] {
        let tokened = run_walk(api, 1, 7, &moves).expect("walk");
        assert!(tokened >= 2, "{api:?} reached Tokened {tokened} times");
    }
    run_walk(Api::ForgotPassword, 0, 7, &moves).expect("walk");
}

#[test]
fn contract_path_matcher_accepts_and_refuses() {
    use StepId::*;
    assert!(contract_path(
        Api::Realm,
        StateId::Tokened,
        &[RealmRequestLogin, RealmToken]
    ));
    assert!(contract_path(
        Api::Realm,
        StateId::Revoked,
        &[RealmRequestLogin, RealmToken, RealmRefresh, RealmRevoke]
    ));
    assert!(!contract_path(Api::Realm, StateId::Tokened, &[RealmToken]));
    assert!(contract_path(
        Api::Ciam,
        StateId::Tokened,
        &[
            CiamAuthorize,
            CiamCaptcha,
            CiamCaptcha,
            CiamLoginChallenge,
            CiamPreLoginVerify,
            CiamAccessToken,
            CiamRefresh
        ]
    ));
    assert!(!contract_path(
        Api::Ciam,
        StateId::Tokened,
        &[CiamAuthorize, CiamAccessToken]
    ));
    assert!(!contract_path(
        Api::Ciam,
        StateId::Tokened,
        &[
            CiamAuthorize,
            CiamLoginChallenge,
            CiamPreLoginVerify,
            CiamPreLoginVerify,
            CiamAccessToken
        ]
    ));
    assert!(contract_path(
        Api::ForgotPassword,
        StateId::PasswordReset,
        &[ResetRequest, ResetVerifyOtp, ResetPassword]
    ));
}

/// The random walks are not vacuous either: over a fixed sample, each API reaches `Tokened`
/// many times through random replies, suspends and resumes.
#[test]
fn random_walks_reach_tokened_often() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let moves = prop::collection::vec(move_gen(), 20..40);
    for api in [Api::Realm, Api::Ciam] {
        let mut reached = 0;
        for i in 0..60 {
            let sample = moves.new_tree(&mut runner).expect("sample").current();
            reached += run_walk(api, i, i as u64, &sample).expect("walk");
        }
        assert!(
            reached >= 100,
            "{api:?} reached Tokened {reached} times in 60 walks"
        );
    }
}
