//! Shared by the flow targets: configurations, canned successes, and one step of any flow.

#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use login_core::ciam::{self, CiamConfig, Credentials};
use login_core::entropy::DeterministicEntropy;
use login_core::realm::{self, RealmConfig};
use login_core::seal::JweSealer;
use login_core::secret::{CaptchaAnswer, ClientSecret, DeviceToken, Otp, Password};
use login_core::{
    Failed, Flow, Pending, Response, Step, TransportError, TransportErrorKind, forgot,
};

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
    pub choice: u8,
    pub reply: Reply,
    pub suspend: bool,
    pub advance_secs: u16,
}

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

fn answer<S: Step>(
    pending: Pending<S>,
    reply: &Reply,
    success: impl FnOnce(u8) -> (u16, String),
    now: SystemTime,
) -> Result<S::Next, Failed<S::State>> {
    let response = match reply {
        Reply::Success(b) => {
            let (status, body) = success(*b);
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
        Reply::Transport => {
            return Err(pending.fail(TransportError::new(TransportErrorKind::Reset, "reset")));
        }
    };
    pending.receive(&response, now)
}

fn check_debug(what: &impl std::fmt::Debug) {
    let text = format!("{what:?}");
    assert!(!text.contains(SECRET), "secret in Debug: {text}");
}

/// After a failure: the surviving state, or a fresh start of the same API.
fn or_restart<S: Into<Flow>>(failed: Failed<S>, fresh: Flow) -> Flow {
    check_debug(&failed);
    let _ = failed.error.to_string();
    failed.state.map(Into::into).unwrap_or(fresh)
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

/// Takes one transition of `flow` and answers it with `op.reply`.
pub fn step(w: &mut World, flow: Flow, op: &Op) -> Flow {
    let now = w.now;
    let otp = || Otp::new(format!("{SECRET}-otp"));
    let next: Flow = match flow {
        Flow::Realm(realm::State::Start(s)) => {
            let (req, p) = s.request_login(&w.realm);
            check_debug(&req);
            match answer(
                p,
                &op.reply,
                |b| {
                    (
                        201,
                        if b % 2 == 0 {
                            format!(r#"{{"reqId":"{SECRET}-r","exp":300,"mfa":"none"}}"#)
                        } else {
                            format!(
                                r#"{{"reqId":"{SECRET}-r","exp":"300","mfa":"otp","refId":"K1"}}"#
                            )
                        },
                    )
                },
                now,
            ) {
                Ok(realm::LoginStarted::Challenged(c)) => c.into(),
                Ok(realm::LoginStarted::MfaPending(m)) => m.into(),
                Ok(_) => realm_start(),
                Err(f) => or_restart(f, realm_start()),
            }
        }
        Flow::Realm(realm::State::Challenged(s)) => {
            let (req, p) = s.exchange(&w.realm);
            check_debug(&req);
            match answer(p, &op.reply, |b| (201, tokens(b)), now) {
                Ok(t) => t.into(),
                Err(f) => or_restart(f, realm_start()),
            }
        }
        Flow::Realm(realm::State::MfaPending(s)) => {
            let (req, p) = s.submit_otp(&w.realm, otp());
            check_debug(&req);
            match answer(p, &op.reply, |b| (201, tokens(b)), now) {
                Ok(t) => t.into(),
                Err(f) => or_restart(f, realm_start()),
            }
        }
        Flow::Realm(realm::State::Tokened(s)) => {
            if op.choice % 4 == 0 {
                Flow::Realm(realm::State::Revoked(s.revoke()))
            } else {
                let (req, p) = s.refresh(&w.realm);
                check_debug(&req);
                match answer(p, &op.reply, |b| (200, tokens(b)), now) {
                    Ok(t) => t.into(),
                    Err(f) => or_restart(f, realm_start()),
                }
            }
        }
        Flow::ForgotPassword(forgot::State::Start(s)) => {
            let (req, p) = s.request_reset(&w.realm);
            check_debug(&req);
            match answer(
                p,
                &op.reply,
                |_| (201, format!(r#"{{"reqId":"{SECRET}-q","refId":"R1"}}"#)),
                now,
            ) {
                Ok(n) => n.into(),
                Err(f) => or_restart(f, forgot_start()),
            }
        }
        Flow::ForgotPassword(forgot::State::OtpSent(s)) => {
            let (req, p) = s.verify(&w.realm, otp());
            check_debug(&req);
            match answer(
                p,
                &op.reply,
                |_| {
                    (
                        201,
                        format!(r#"{{"reqId":"{SECRET}-ticket","refId":"R1"}}"#),
                    )
                },
                now,
            ) {
                Ok(n) => n.into(),
                Err(f) => or_restart(f, forgot_start()),
            }
        }
        Flow::ForgotPassword(forgot::State::Verified(s)) => {
            let (req, p) = s.reset(&w.realm, Password::new(format!("{SECRET}-new")));
            check_debug(&req);
            match answer(
                p,
                &op.reply,
                |b| {
                    (
                        200,
                        if b % 2 == 0 {
                            r#"{"success":true}"#.into()
                        } else {
                            String::new()
                        },
                    )
                },
                now,
            ) {
                Ok(n) => n.into(),
                Err(f) => or_restart(f, forgot_start()),
            }
        }
        Flow::Ciam(ciam::State::Start(s)) => {
            let state = s.state().to_owned();
            let (req, p) = s.authorize(&w.ciam);
            check_debug(&req);
            let fresh = ciam_start(w);
            match answer(
                p,
                &op.reply,
                |b| {
                    (
                        200,
                        if b % 2 == 0 {
                            format!(
                                r#"{{"loginChallenge":"{SECRET}-lc","authToken":"{SECRET}-at"}}"#
                            )
                        } else {
                            format!(
                                r#"{{"loginChallenge":"{SECRET}-lc","authToken":"{SECRET}-at","state":"{state}"}}"#
                            )
                        },
                    )
                },
                now,
            ) {
                Ok(n) => n.into(),
                Err(f) => or_restart(f, fresh),
            }
        }
        Flow::Ciam(ciam::State::Authorized(s)) => {
            let fresh = ciam_start(w);
            if op.choice % 3 == 0 {
                let (req, p) = s.fetch_captcha(&w.ciam);
                check_debug(&req);
                match answer(
                    p,
                    &op.reply,
                    |_| (200, r#"{"captchaId":"c1","image":"iVBORw0KGgo="}"#.into()),
                    now,
                ) {
                    Ok(n) => n.into(),
                    Err(f) => or_restart(f, fresh),
                }
            } else {
                let mut creds = Credentials::new("alice", Password::new(format!("{SECRET}-pw")));
                if s.captcha().is_some() {
                    creds = creds.with_captcha_answer(CaptchaAnswer::new(format!("{SECRET}-cap")));
                }
                match s.submit_credentials(&w.ciam, &w.sealer, &creds, &mut w.rng, now) {
                    Ok((req, p)) => {
                        check_debug(&req);
                        match answer(
                            p,
                            &op.reply,
                            |b| {
                                (
                                    200,
                                    if b % 2 == 0 {
                                        format!(
                                            r#"{{"code":"{SECRET}-code","token":"{SECRET}-tok"}}"#
                                        )
                                    } else {
                                        format!(
                                            r#"{{"mfaChallenge":"{SECRET}-mfa","channel":"sms","refId":"R2"}}"#
                                        )
                                    },
                                )
                            },
                            now,
                        ) {
                            Ok(ciam::LoginOutcome::Challenged(c)) => c.into(),
                            Ok(ciam::LoginOutcome::MfaPending(m)) => m.into(),
                            Ok(_) => fresh,
                            Err(f) => or_restart(f, fresh),
                        }
                    }
                    Err(f) => or_restart(f, fresh),
                }
            }
        }
        Flow::Ciam(ciam::State::MfaPending(s)) => {
            let (req, p) = s.verify(&w.ciam, otp());
            check_debug(&req);
            let fresh = ciam_start(w);
            match answer(
                p,
                &op.reply,
                |_| {
                    (
                        200,
                        format!(r#"{{"code":"{SECRET}-code","token":"{SECRET}-tok"}}"#),
                    )
                },
                now,
            ) {
                Ok(n) => n.into(),
                Err(f) => or_restart(f, fresh),
            }
        }
        Flow::Ciam(ciam::State::Challenged(s)) => {
            let (req, p) = s.exchange(&w.ciam);
            check_debug(&req);
            let fresh = ciam_start(w);
            match answer(p, &op.reply, |b| (200, tokens(b)), now) {
                Ok(n) => n.into(),
                Err(f) => or_restart(f, fresh),
            }
        }
        Flow::Ciam(ciam::State::Tokened(s)) => {
            let fresh = ciam_start(w);
            if op.choice % 4 == 0 {
                let (req, p) = s.revoke(&w.ciam);
                check_debug(&req);
                match answer(p, &op.reply, |_| (200, String::new()), now) {
                    Ok(r) => Flow::Ciam(ciam::State::Revoked(r)),
                    Err(f) => or_restart(f, fresh),
                }
            } else {
                let (req, p) = s.refresh(&w.ciam);
                check_debug(&req);
                match answer(p, &op.reply, |b| (200, tokens(b)), now) {
                    Ok(n) => n.into(),
                    Err(f) => or_restart(f, fresh),
                }
            }
        }
        // Terminal states: start another flow, chosen by the op.
        _ => match op.choice % 3 {
            0 => realm_start(),
            1 => forgot_start(),
            _ => ciam_start(w),
        },
    };
    check_debug(&next);
    w.now += Duration::from_secs(u64::from(op.advance_secs));
    if op.suspend {
        let bytes = next.to_snapshot();
        return Flow::from_snapshot(bytes.expose()).expect("a written snapshot resumes");
    }
    next
}
