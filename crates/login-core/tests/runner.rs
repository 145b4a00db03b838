//! The pure `Runner` with canned responses and a scripted user: what it sends, when it waits,
//! what it asks, when it asks again, and where it stops, with the flow it keeps.

mod common;

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use common::*;
use login_core::action::Action;
use login_core::runner::{Answer, Next, Prompt, Question, RunPolicy, Runner, StopReason, Stopped};
use login_core::secret::{CaptchaAnswer, Otp, Password};
use login_core::table::{Api, StateId, StepId};
use login_core::{
    ErrorKind, Flow, Response, RetryPolicy, TransportError, TransportErrorKind, realm,
};
use serde_json::json;

/// What a run did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Sent(StepId),
    Waited(SystemTime),
    Asked(Prompt, bool),
    Reached(StateId),
}

/// The server's side of a call: a response, or no usable one.
type Reply = Result<Response, TransportError>;

/// A finished run: its events, the requests sent, and how it ended (the runner comes back
/// paused when the user gave no answer).
struct Run {
    events: Vec<Event>,
    sent: Vec<(Fingerprint, Seen)>,
    end: Result<Flow, Stopped>,
}

impl Run {
    fn sends(&self) -> Vec<StepId> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Sent(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    fn asks(&self) -> Vec<(Prompt, bool)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Asked(p, r) => Some((*p, *r)),
                _ => None,
            })
            .collect()
    }

    fn done(self) -> Flow {
        self.end
            .unwrap_or_else(|s| panic!("the run stopped: {s:?}"))
    }

    fn stopped(self) -> Stopped {
        match self.end {
            Ok(flow) => panic!("the run finished at {:?}", flow.state_id()),
            Err(s) => s,
        }
    }
}

fn refused(q: &Question<'_>) -> bool {
    match q {
        Question::Otp { refused, .. } | Question::Captcha { refused, .. } => *refused,
        Question::Credentials | Question::NewPassword => false,
    }
}

/// Polls `runner` to the end: each request is checked against the contract and answered with
/// the next reply at the fixture's clock, each wait moves the clock, each question goes to
/// `user` (`None` pauses the run).
fn drive(
    mut runner: Runner,
    fx: &mut Fixture,
    api: Api,
    replies: impl IntoIterator<Item = Reply>,
    mut user: impl FnMut(&Question<'_>) -> Option<Answer>,
) -> Run {
    let mut replies: VecDeque<Reply> = replies.into_iter().collect();
    let (mut events, mut sent) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let now = fx.now;
        match runner.poll(&mut fx.env(api)) {
            Next::Send(req) => {
                events.push(Event::Sent(req.step()));
                let seen = check_request(req, &fx.settings)
                    .unwrap_or_else(|e| panic!("the runner sent a request off the contract: {e}"));
                sent.push((fingerprint(req), seen));
                match replies
                    .pop_front()
                    .expect("a canned reply for every request")
                {
                    Ok(response) => runner.handle_response(&response, now),
                    Err(error) => runner.handle_transport_error(error),
                }
            }
            Next::Wait(at) => {
                events.push(Event::Waited(at));
                fx.now = at;
            }
            Next::Ask(q) => {
                events.push(Event::Asked(q.prompt(), refused(&q)));
                match user(&q) {
                    Some(answer) => runner.answer(answer),
                    None => {
                        let end = Err(runner.pause());
                        return Run { events, sent, end };
                    }
                }
            }
            Next::Reached(state) => events.push(Event::Reached(state)),
            Next::Done(flow) => {
                return Run {
                    events,
                    sent,
                    end: Ok(flow),
                };
            }
            Next::Stopped(stopped) => {
                return Run {
                    events,
                    sent,
                    end: Err(stopped),
                };
            }
        }
    }
    panic!("the run did not end in 100 polls: {events:?}")
}

/// The success reply of `branch` for `step` from `from`.
fn ok(from: StateId, step: StepId, branch: usize, n: u32) -> Reply {
    Ok(success_replies(from, step, n).swap_remove(branch).1)
}

fn refusal(status: u16, code: &str) -> Reply {
    Ok(json(status, json!({"error": code, "message": "no"})))
}

fn otp_user(q: &Question<'_>) -> Option<Answer> {
    match q {
        Question::Otp { .. } => Some(Answer::Otp(Otp::new(OTP))),
        other => panic!("asked {other:?}"),
    }
}

fn realm_start() -> Runner {
    Runner::login(realm::Start::new(USERNAME, Password::new(PASSWORD)))
}

/// Realm request login answered `mfa: otp` (refId `R-7`, reqId numbered 1).
fn realm_mfa() -> Reply {
    ok(StateId::Start, StepId::RealmRequestLogin, 1, 1)
}

#[test]
fn realm_login_asks_for_the_otp_and_finishes() {
    let mut fx = Fixture::new(Settings::default(), 1);
    let replies = [
        realm_mfa(),
        ok(StateId::MfaPending, StepId::RealmToken, 0, 2),
    ];
    let mut asked = Vec::new();
    let run = drive(realm_start(), &mut fx, Api::Realm, replies, |q| {
        if let Question::Otp { api, ref_id, .. } = q {
            asked.push((*api, ref_id.map(str::to_owned)));
        }
        otp_user(q)
    });
    assert_eq!(
        run.events,
        [
            Event::Sent(StepId::RealmRequestLogin),
            Event::Reached(StateId::MfaPending),
            Event::Asked(Prompt::Otp, false),
            Event::Sent(StepId::RealmToken),
            Event::Reached(StateId::Tokened),
        ]
    );
    assert_eq!(asked, [(Api::Realm, Some("R-7".to_owned()))]);
    let token_call = &run.sent[1].1;
    assert_eq!(token_call.str("otp"), Some(OTP));
    assert_eq!(
        token_call.str("reqId"),
        Some(format!("{REQ_ID}-1").as_str())
    );
    let session = run.done().into_session().expect("a session");
    assert_eq!(
        session.tokens().access_token().expose(),
        format!("{ACCESS}-2")
    );
}

#[test]
fn a_wrong_otp_is_asked_again_up_to_the_policy_then_stops_with_invalid_otp() {
    for attempts in [1u32, 2, 3, 5] {
        let mut fx = Fixture::new(Settings::default(), 2);
        let mut replies = vec![realm_mfa()];
        replies.extend((0..attempts).map(|_| refusal(401, "invalid_otp")));
        let runner = realm_start().policy(RunPolicy::default().otp_attempts(attempts));
        let run = drive(runner, &mut fx, Api::Realm, replies, otp_user);
        let mut want_asks = vec![(Prompt::Otp, false)];
        want_asks.extend((1..attempts).map(|_| (Prompt::Otp, true)));
        assert_eq!(run.asks(), want_asks, "{attempts} attempts");
        let token_calls = run
            .sends()
            .iter()
            .filter(|s| **s == StepId::RealmToken)
            .count();
        assert_eq!(token_calls, attempts as usize);
        let stopped = run.stopped();
        assert_eq!(stopped.kind(), Some(ErrorKind::InvalidOtp));
        let kept = stopped.flow.expect("the flow is kept to try again");
        assert_eq!(kept.state_id(), StateId::MfaPending);
    }
}

/// Paused at the question that follows a refusal, the refusal is the reason given.
#[test]
fn pausing_after_a_refused_otp_reports_the_refusal() {
    let mut fx = Fixture::new(Settings::default(), 2);
    let replies = [realm_mfa(), refusal(401, "invalid_otp")];
    let mut answered = false;
    let run = drive(realm_start(), &mut fx, Api::Realm, replies, |q| {
        let first = !answered;
        answered = true;
        first.then(|| otp_user(q)).flatten()
    });
    assert_eq!(run.asks(), [(Prompt::Otp, false), (Prompt::Otp, true)]);
    let stopped = run.stopped();
    assert_eq!(stopped.kind(), Some(ErrorKind::InvalidOtp));
    assert_eq!(
        stopped.flow.map(|f| f.state_id()),
        Some(StateId::MfaPending)
    );
}

#[test]
fn a_pause_at_the_otp_gives_a_flow_whose_snapshot_resumes_to_tokened() {
    let mut fx = Fixture::new(Settings::default(), 3);
    let run = drive(realm_start(), &mut fx, Api::Realm, [realm_mfa()], |_| None);
    let stopped = run.stopped();
    assert!(
        matches!(stopped.reason, StopReason::NoAnswer(Prompt::Otp)),
        "{stopped:?}"
    );
    let paused = stopped.flow.expect("the paused flow");
    assert_eq!(paused.state_id(), StateId::MfaPending);
    let bytes = snap(&paused);
    drop(paused);

    // Another process: only the bytes survive.
    let mut fx = Fixture::new(Settings::default(), 4);
    let resumed = Flow::from_snapshot(&bytes).expect("the snapshot resumes");
    let replies = [ok(StateId::MfaPending, StepId::RealmToken, 0, 5)];
    let run = drive(
        Runner::resume(resumed),
        &mut fx,
        Api::Realm,
        replies,
        otp_user,
    );
    assert_eq!(run.sends(), [StepId::RealmToken]);
    assert_eq!(run.asks(), [(Prompt::Otp, false)]);
    let seen = &run.sent[0].1;
    assert_eq!(seen.str("reqId"), Some(format!("{REQ_ID}-1").as_str()));
    assert_eq!(seen.str("refId"), Some("R-7"));
    let flow = run.done();
    assert_eq!(flow.state_id(), StateId::Tokened);
    assert_eq!(
        tokens(&flow).map(|t| t.access_token().expose().to_owned()),
        Some(format!("{ACCESS}-5"))
    );
}

fn throttled(secs: u64) -> Reply {
    Ok(Response::new(429, Vec::new()).with_header("Retry-After", secs.to_string()))
}

#[test]
fn a_throttled_call_waits_for_retry_after_then_goes_out_again_unchanged() {
    let mut fx = Fixture::new(Settings::default(), 5);
    let replies = [
        throttled(2),
        ok(StateId::Start, StepId::RealmRequestLogin, 0, 1),
        ok(StateId::Challenged, StepId::RealmToken, 0, 2),
    ];
    let run = drive(realm_start(), &mut fx, Api::Realm, replies, |q| {
        panic!("asked {q:?}")
    });
    assert_eq!(
        run.events[..3],
        [
            Event::Sent(StepId::RealmRequestLogin),
            Event::Waited(t0() + Duration::from_secs(2)),
            Event::Sent(StepId::RealmRequestLogin),
        ]
    );
    assert_eq!(run.sent[0].0, run.sent[1].0, "the same request again");
    assert_eq!(run.done().state_id(), StateId::Tokened);
}

#[test]
fn throttling_past_the_policy_stops_with_rate_limited_keeping_the_state() {
    for (policy, waits) in [
        (RetryPolicy::default(), 1),
        (RetryPolicy::new(3, Duration::from_secs(10)), 3),
        (RetryPolicy::none(), 0),
    ] {
        let mut fx = Fixture::new(Settings::default(), 6);
        let replies: Vec<Reply> = (0..=waits).map(|_| throttled(1)).collect();
        let runner = realm_start().policy(RunPolicy::default().retry(policy));
        let run = drive(runner, &mut fx, Api::Realm, replies, |q| {
            panic!("asked {q:?}")
        });
        let waited: Vec<&Event> = run
            .events
            .iter()
            .filter(|e| matches!(e, Event::Waited(_)))
            .collect();
        assert_eq!(waited.len(), waits, "{policy:?}");
        assert_eq!(run.sends().len(), waits + 1, "{policy:?}");
        let stopped = run.stopped();
        assert_eq!(stopped.kind(), Some(ErrorKind::RateLimited), "{policy:?}");
        assert_eq!(stopped.flow.map(|f| f.state_id()), Some(StateId::Start));
    }
}

/// The image the canned captcha reply carries, decoded.
const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

#[test]
fn captcha_required_fetches_a_captcha_asks_for_it_and_sends_the_answer() {
    let mut fx = Fixture::new(Settings::default(), 7);
    let replies = [
        ok(StateId::Start, StepId::CiamAuthorize, 0, 1),
        refusal(400, "captcha_required"),
        ok(StateId::Authorized, StepId::CiamCaptcha, 0, 3),
        ok(StateId::CaptchaShown, StepId::CiamLoginChallenge, 0, 4),
        ok(StateId::Challenged, StepId::CiamAccessToken, 0, 5),
    ];
    let runner = Runner::ciam_login(Inputs::default().credentials());
    let mut images = Vec::new();
    let run = drive(runner, &mut fx, Api::Ciam, replies, |q| match q {
        Question::Captcha { image_png, .. } => {
            images.push(image_png.to_vec());
            Some(Answer::Captcha(CaptchaAnswer::new(CAPTCHA_ANSWER)))
        }
        other => panic!("asked {other:?}"),
    });
    assert_eq!(
        run.sends(),
        [
            StepId::CiamAuthorize,
            StepId::CiamLoginChallenge,
            StepId::CiamCaptcha,
            StepId::CiamLoginChallenge,
            StepId::CiamAccessToken,
        ]
    );
    assert_eq!(run.asks(), [(Prompt::Captcha, false)]);
    assert_eq!(images, [PNG_SIGNATURE.to_vec()]);
    let envelope = |i: usize| {
        open_envelope(run.sent[i].1.str("authToken").expect("an envelope")).expect("opens")
    };
    let (first, second) = (envelope(1), envelope(3));
    assert!(first.get("captchaId").is_none(), "{first}");
    assert_eq!(second["captchaId"], "cap-3");
    assert_eq!(second["captchaAnswer"], CAPTCHA_ANSWER);
    assert_eq!(second["password"], PASSWORD);
    assert_eq!(run.done().state_id(), StateId::Tokened);
}

/// A wrong captcha answer uses the captcha up: another is fetched and asked with
/// `refused: true`, within the policy's rounds; past them the run stops with the refusal.
#[test]
fn a_refused_captcha_answer_fetches_another_within_the_policy() {
    let answer = |q: &Question<'_>| match q {
        Question::Captcha { .. } => Some(Answer::Captcha(CaptchaAnswer::new(CAPTCHA_ANSWER))),
        other => panic!("asked {other:?}"),
    };
    let login = || {
        Runner::ciam_login(Inputs::default().credentials())
            .policy(RunPolicy::default().captcha_first(true).captcha_rounds(2))
    };
    let mut fx = Fixture::new(Settings::default(), 15);
    let replies = [
        ok(StateId::Start, StepId::CiamAuthorize, 0, 1),
        ok(StateId::Authorized, StepId::CiamCaptcha, 0, 2),
        refusal(400, "invalid_captcha"),
        ok(StateId::Authorized, StepId::CiamCaptcha, 0, 4),
        ok(StateId::CaptchaShown, StepId::CiamLoginChallenge, 0, 5),
        ok(StateId::Challenged, StepId::CiamAccessToken, 0, 6),
    ];
    let run = drive(login(), &mut fx, Api::Ciam, replies, answer);
    assert_eq!(
        run.asks(),
        [(Prompt::Captcha, false), (Prompt::Captcha, true)]
    );
    let envelope =
        open_envelope(run.sent[4].1.str("authToken").expect("an envelope")).expect("opens");
    assert_eq!(envelope["captchaId"], "cap-4", "the new captcha's id");
    assert_eq!(run.done().state_id(), StateId::Tokened);

    // Both rounds used: the second refusal stops the run at Authorized.
    let mut fx = Fixture::new(Settings::default(), 16);
    let replies = [
        ok(StateId::Start, StepId::CiamAuthorize, 0, 1),
        ok(StateId::Authorized, StepId::CiamCaptcha, 0, 2),
        refusal(400, "invalid_captcha"),
        ok(StateId::Authorized, StepId::CiamCaptcha, 0, 4),
        refusal(400, "invalid_captcha"),
    ];
    let run = drive(login(), &mut fx, Api::Ciam, replies, answer);
    let captchas = run
        .sends()
        .iter()
        .filter(|s| **s == StepId::CiamCaptcha)
        .count();
    assert_eq!(captchas, 2);
    let stopped = run.stopped();
    assert_eq!(stopped.kind(), Some(ErrorKind::InvalidCaptcha));
    assert_eq!(
        stopped.flow.map(|f| f.state_id()),
        Some(StateId::Authorized)
    );
}

#[test]
fn a_ciam_login_resumed_at_authorized_asks_for_the_credentials() {
    let mut fx = Fixture::new(Settings::default(), 8);
    let authorized = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let resumed = Flow::from_snapshot(&snap(&authorized)).expect("resumes");
    let replies = [
        ok(StateId::Authorized, StepId::CiamLoginChallenge, 0, 2),
        ok(StateId::Challenged, StepId::CiamAccessToken, 0, 3),
    ];
    let run = drive(
        Runner::resume(resumed),
        &mut fx,
        Api::Ciam,
        replies,
        |q| match q {
            Question::Credentials => Some(Answer::Credentials(Inputs::default().credentials())),
            other => panic!("asked {other:?}"),
        },
    );
    assert_eq!(run.events[0], Event::Asked(Prompt::Credentials, false));
    assert_eq!(
        run.sends(),
        [StepId::CiamLoginChallenge, StepId::CiamAccessToken]
    );
    let plain = open_envelope(run.sent[0].1.str("authToken").expect("an envelope")).expect("opens");
    assert_eq!(
        (&plain["username"], &plain["password"]),
        (&json!(USERNAME), &json!(PASSWORD))
    );
    assert_eq!(run.done().state_id(), StateId::Tokened);
}

/// A session of `api`, reached through the face (tokens numbered 10).
fn session(fx: &mut Fixture, api: Api) -> login_core::Session {
    let inputs = Inputs::default();
    let flow = match api {
        Api::Realm => {
            let f = advance(fx.start(api), Action::RequestLogin, 0, fx, 9);
            advance(f, Action::Token, 0, fx, 10)
        }
        _ => {
            let f = advance(fx.start(api), Action::Authorize, 0, fx, 8);
            let f = advance(f, inputs.login(), 0, fx, 9);
            advance(f, Action::Token, 0, fx, 10)
        }
    };
    flow.into_session().expect("tokened")
}

#[test]
fn the_refresh_goal_refreshes_exactly_once() {
    for (api, step) in [
        (Api::Realm, StepId::RealmRefresh),
        (Api::Ciam, StepId::CiamRefresh),
    ] {
        let mut fx = Fixture::new(Settings::default(), 9);
        let session = session(&mut fx, api);
        // A second reply is there to be taken if the runner refreshed twice.
        let replies = [
            ok(StateId::Tokened, step, 0, 11),
            ok(StateId::Tokened, step, 0, 12),
        ];
        let run = drive(Runner::refresh(session), &mut fx, api, replies, |q| {
            panic!("asked {q:?}")
        });
        assert_eq!(run.sends(), [step], "{api:?}");
        assert_eq!(
            run.sent[0].1.str("refreshToken"),
            Some(format!("{REFRESH}-10").as_str())
        );
        let session = run.done().into_session().expect("still a session");
        assert_eq!(
            session.tokens().access_token().expose(),
            format!("{ACCESS}-11"),
            "{api:?}: the rotated tokens"
        );
    }
}

#[test]
fn the_revoke_goal_ends_at_revoked() {
    // Internet banking tells the server; the realm API revokes locally and sends nothing.
    for (api, sends) in [(Api::Ciam, vec![StepId::CiamRevoke]), (Api::Realm, vec![])] {
        let mut fx = Fixture::new(Settings::default(), 10);
        let session = session(&mut fx, api);
        let replies = [ok(StateId::Tokened, StepId::CiamRevoke, 0, 11)];
        let run = drive(Runner::revoke(session), &mut fx, api, replies, |q| {
            panic!("asked {q:?}")
        });
        assert_eq!(run.sends(), sends, "{api:?}");
        let flow = run.done();
        assert_eq!(state_key(&flow), (api, StateId::Revoked));
    }
}

#[test]
fn a_transport_error_stops_the_run_keeping_the_state() {
    let timeout = || TransportError::new(TransportErrorKind::Timeout, "timed out");
    // Realm: the token call with the OTP is lost.
    let mut fx = Fixture::new(Settings::default(), 11);
    let run = drive(
        realm_start(),
        &mut fx,
        Api::Realm,
        [realm_mfa(), Err(timeout())],
        otp_user,
    );
    assert_eq!(run.sends(), [StepId::RealmRequestLogin, StepId::RealmToken]);
    let stopped = run.stopped();
    assert_eq!(
        stopped.kind(),
        Some(ErrorKind::Transport(TransportErrorKind::Timeout))
    );
    assert_eq!(
        stopped.flow.map(|f| f.state_id()),
        Some(StateId::MfaPending)
    );

    // Internet banking: the access token call is lost; the challenge is kept to try again.
    let mut fx = Fixture::new(Settings::default(), 12);
    let replies = [
        ok(StateId::Start, StepId::CiamAuthorize, 0, 1),
        ok(StateId::Authorized, StepId::CiamLoginChallenge, 0, 2),
        Err(timeout()),
    ];
    let runner = Runner::ciam_login(Inputs::default().credentials());
    let run = drive(runner, &mut fx, Api::Ciam, replies, |q| {
        panic!("asked {q:?}")
    });
    let stopped = run.stopped();
    assert!(
        stopped
            .kind()
            .is_some_and(|k| matches!(k, ErrorKind::Transport(_)))
    );
    let kept = stopped.flow.expect("the state is kept");
    assert_eq!(kept.state_id(), StateId::Challenged);
    // The kept state goes on where it stopped.
    let replies = [ok(StateId::Challenged, StepId::CiamAccessToken, 0, 4)];
    let run = drive(Runner::resume(kept), &mut fx, Api::Ciam, replies, |q| {
        panic!("asked {q:?}")
    });
    assert_eq!(run.sends(), [StepId::CiamAccessToken]);
    assert_eq!(run.done().state_id(), StateId::Tokened);
}

/// A password reset runs to the end with the new password given at the start, and a resumed
/// one asks for it.
#[test]
fn a_password_reset_runs_to_password_reset() {
    let mut fx = Fixture::new(Settings::default(), 13);
    let replies = [
        ok(StateId::ResetStart, StepId::ResetRequest, 0, 1),
        ok(StateId::OtpSent, StepId::ResetVerifyOtp, 0, 2),
        ok(StateId::Verified, StepId::ResetPassword, 0, 3),
    ];
    let start = login_core::forgot::Start::new(USERNAME);
    let runner = Runner::forgot_password(start, Password::new(NEW_PASSWORD));
    let run = drive(runner, &mut fx, Api::ForgotPassword, replies, otp_user);
    assert_eq!(run.asks(), [(Prompt::Otp, false)]);
    assert_eq!(run.sent[2].1.str("newPassword"), Some(NEW_PASSWORD));
    assert_eq!(run.done().state_id(), StateId::PasswordReset);

    let f = advance(
        fx.start(Api::ForgotPassword),
        Action::RequestReset,
        0,
        &mut fx,
        4,
    );
    let verified = advance(f, Inputs::default().otp(), 0, &mut fx, 5);
    let replies = [ok(StateId::Verified, StepId::ResetPassword, 0, 6)];
    let run = drive(
        Runner::resume(verified),
        &mut fx,
        Api::ForgotPassword,
        replies,
        |q| match q {
            Question::NewPassword => Some(Answer::NewPassword(Password::new(NEW_PASSWORD))),
            other => panic!("asked {other:?}"),
        },
    );
    assert_eq!(run.asks(), [(Prompt::NewPassword, false)]);
    assert_eq!(run.done().state_id(), StateId::PasswordReset);
}

/// Polled again after it finished, the runner says so instead of acting twice.
#[test]
fn a_finished_run_is_over() {
    let mut fx = Fixture::new(Settings::default(), 14);
    let mut runner = realm_start();
    let replies = [
        ok(StateId::Start, StepId::RealmRequestLogin, 0, 1),
        ok(StateId::Challenged, StepId::RealmToken, 0, 2),
    ];
    let mut replies = replies.into_iter();
    loop {
        let now = fx.now;
        match runner.poll(&mut fx.env(Api::Realm)) {
            Next::Send(_) => {
                let reply = replies.next().expect("a reply").expect("a response");
                runner.handle_response(&reply, now);
            }
            Next::Done(flow) => {
                assert_eq!(flow.state_id(), StateId::Tokened);
                break;
            }
            Next::Reached(_) => {}
            other => panic!("{other:?}"),
        }
    }
    match runner.poll(&mut fx.env(Api::Realm)) {
        Next::Stopped(s) => {
            assert_eq!(s.kind(), Some(ErrorKind::Misuse));
            assert!(s.flow.is_none());
        }
        other => panic!("{other:?}"),
    }
}
