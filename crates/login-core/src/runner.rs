//! The driver loop, written once and pure: what to do next in a flow, with time as an argument.
//!
//! A [`Runner`] owns a [`Flow`] and decides every step: which action comes next, when a
//! throttled call (429) is repeated and after how long, when to ask the user for an OTP, a
//! captcha answer or the credentials, when a refused OTP or captcha may be asked again, and when
//! the goal is reached. It does no I/O. A driver (blocking or async, in `login-transport`) is a
//! thin loop over its two faces, in the shape of quinn-proto:
//!
//! - **output**: [`Runner::poll`] says what to do: [`Next::Send`] this request,
//!   [`Next::Wait`] until an instant, [`Next::Ask`] the user, [`Next::Reached`] a state (for
//!   progress), [`Next::Done`] or [`Next::Stopped`];
//! - **input**: [`Runner::handle_response`] or [`Runner::handle_transport_error`] after a
//!   send, [`Runner::answer`] after an ask, or [`Runner::pause`] to stop at an ask and keep the
//!   flow (to snapshot it and [`Runner::resume`] it later, in this process or another).
//!
//! ```
//! use std::time::SystemTime;
//! use login_core::action::{Bank, Env};
//! use login_core::entropy::OsEntropy;
//! use login_core::runner::{Answer, Next, Question, Runner};
//! use login_core::secret::{ClientSecret, Otp, Password};
//! use login_core::{Response, realm};
//!
//! let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
//! let mut runner = Runner::login(realm::Start::new("alice", Password::new("pw")));
//! let replies = [
//!     Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"otp","refId":"K2"}"#.to_vec()),
//!     Response::new(201, br#"{"accessToken":"A","refreshToken":"R","expires":300}"#.to_vec()),
//! ];
//! let mut replies = replies.iter();
//! let session = loop {
//!     let now = SystemTime::now();
//!     let mut entropy = OsEntropy;
//!     let mut env = Env::new(Bank::Realm(&cfg), &mut entropy, now);
//!     match runner.poll(&mut env) {
//!         Next::Send(_request) => runner.handle_response(replies.next().unwrap(), now),
//!         Next::Ask(Question::Otp { ref_id, .. }) => {
//!             assert_eq!(ref_id, Some("K2"));
//!             runner.answer(Answer::Otp(Otp::new("123456")));
//!         }
//!         Next::Reached(_) | Next::Wait(_) => {}
//!         Next::Ask(_) => unreachable!(),
//!         Next::Done(flow) => break flow.into_session().unwrap(),
//!         Next::Stopped(stopped) => panic!("{stopped}"),
//!     }
//! };
//! assert_eq!(session.tokens().access_token().expose(), "A");
//! ```

use std::time::{Duration, SystemTime};

use crate::action::{Action, Begun, Env, PendingFlow};
use crate::ciam::{self, Credentials};
use crate::flow::{ciam_state as c, forgot_state as f, realm_state as r};
use crate::secret::{CaptchaAnswer, Otp, Password};
use crate::table::{Api, StateId};
use crate::{
    Error, ErrorKind, Failed, Flow, Request, Response, RetryPolicy, Session, TransportError,
};

/// How many times one login fetches a captcha after the server asked for one (400
/// `captcha_required` or `invalid_captcha`) before giving up, by default.
pub const MAX_CAPTCHA_ROUNDS: u32 = 3;

/// How many OTPs one login submits (the first and those after a refusal), by default. Banks
/// allow a few per code (the sandbox 5).
pub const MAX_OTP_ATTEMPTS: u32 = 3;

/// Where a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Log in (or reset the password): run until `Tokened` (or `PasswordReset`).
    Finish,
    /// Refresh a session once.
    Refresh,
    /// Revoke a session.
    Revoke,
}

/// The runner's limits and choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPolicy {
    retry: RetryPolicy,
    otp_attempts: u32,
    captcha_rounds: u32,
    captcha_first: bool,
}

impl Default for RunPolicy {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            otp_attempts: MAX_OTP_ATTEMPTS,
            captcha_rounds: MAX_CAPTCHA_ROUNDS,
            captcha_first: false,
        }
    }
}

impl RunPolicy {
    /// How 429s are repeated.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// OTP submissions per login, the first included (at least 1).
    pub fn otp_attempts(mut self, attempts: u32) -> Self {
        self.otp_attempts = attempts.max(1);
        self
    }

    /// Captcha fetches per login.
    pub fn captcha_rounds(mut self, rounds: u32) -> Self {
        self.captcha_rounds = rounds;
        self
    }

    /// Fetch and answer a captcha before the first login challenge (otherwise only when the
    /// server asks for one).
    pub fn captcha_first(mut self, first: bool) -> Self {
        self.captcha_first = first;
        self
    }
}

/// What the runner asks of the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question<'a> {
    /// A one-time password was sent. `refused` is set when the previous one was refused.
    Otp {
        /// Which flow asks.
        api: Api,
        /// Where the OTP went (`email`, `sms`), when the server said.
        channel: Option<&'a str>,
        /// The reference shown beside the code, when the server gave one.
        ref_id: Option<&'a str>,
        /// The previous OTP was refused (`invalid_otp`).
        refused: bool,
    },
    /// Answer this captcha. `refused` is set when the previous answer was refused.
    Captcha {
        /// The PNG to show.
        image_png: &'a [u8],
        /// The previous answer was refused (`invalid_captcha`).
        refused: bool,
    },
    /// The internet-banking credentials (a login resumed from a snapshot, which never holds
    /// them).
    Credentials,
    /// The new password (a password reset resumed from a snapshot).
    NewPassword,
}

impl Question<'_> {
    /// What is asked for, without the details.
    pub fn prompt(&self) -> Prompt {
        match self {
            Question::Otp { .. } => Prompt::Otp,
            Question::Captcha { .. } => Prompt::Captcha,
            Question::Credentials => Prompt::Credentials,
            Question::NewPassword => Prompt::NewPassword,
        }
    }
}

/// What a [`Question`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// A one-time password.
    Otp,
    /// A captcha answer.
    Captcha,
    /// The credentials.
    Credentials,
    /// A new password.
    NewPassword,
}

/// An answer to a [`Question`].
#[derive(Debug, Clone)]
pub enum Answer {
    /// The OTP.
    Otp(Otp),
    /// The captcha answer.
    Captcha(CaptchaAnswer),
    /// The credentials.
    Credentials(Credentials),
    /// The new password.
    NewPassword(Password),
}

/// What to do next.
#[derive(Debug)]
pub enum Next<'r> {
    /// Send this request, then call [`Runner::handle_response`] or
    /// [`Runner::handle_transport_error`].
    Send(&'r Request),
    /// Wait until this instant (a 429's `Retry-After`, counted from the response's arrival),
    /// then poll again: the call goes out on that poll.
    Wait(SystemTime),
    /// Ask the user, then call [`Runner::answer`] (or [`Runner::pause`] to stop here).
    Ask(Question<'r>),
    /// The flow reached this state (for progress); poll again.
    Reached(StateId),
    /// The goal is reached: the flow in its final state.
    Done(Flow),
    /// The run stopped: why, and the flow when one survives.
    Stopped(Stopped),
}

/// Why a run stopped before its goal.
#[derive(Debug, thiserror::Error)]
pub enum StopReason {
    /// A step failed (server refusal, throttling past the policy, transport, a local error).
    #[error(transparent)]
    Failed(#[from] Error),
    /// The user gave no answer: the flow waits where it stopped.
    #[error("no {} was supplied; the flow can resume from where it stopped", match .0 {
        Prompt::Otp => "one-time password",
        Prompt::Captcha => "captcha answer",
        Prompt::Credentials => "credentials",
        Prompt::NewPassword => "new password",
    })]
    NoAnswer(Prompt),
}

/// A run that stopped: why, and the flow to go on from (`None` when the server ended it).
pub struct Stopped {
    /// Why it stopped.
    pub reason: StopReason,
    /// The flow to continue from, when one survives.
    pub flow: Option<Flow>,
}

impl Stopped {
    /// The error, when a step failed.
    pub fn error(&self) -> Option<&Error> {
        match &self.reason {
            StopReason::Failed(e) => Some(e),
            StopReason::NoAnswer(_) => None,
        }
    }

    /// The error kind, when a step failed.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.error().map(Error::kind)
    }

    /// The session, when the flow that survived is one (a failed refresh keeps it).
    pub fn into_session(self) -> Option<Session> {
        self.flow.and_then(|f| f.into_session().ok())
    }

    /// A failure before any flow existed.
    pub fn before_start(error: Error) -> Self {
        Self {
            reason: StopReason::Failed(error),
            flow: None,
        }
    }
}

impl From<Failed<Flow>> for Stopped {
    fn from(failed: Failed<Flow>) -> Self {
        Self {
            reason: StopReason::Failed(failed.error),
            flow: failed.state,
        }
    }
}

impl std::fmt::Debug for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopped")
            .field("reason", &self.reason)
            .field("flow_kept", &self.flow.as_ref().map(Flow::state_id))
            .finish()
    }
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.reason.fmt(f)
    }
}

impl std::error::Error for Stopped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.reason)
    }
}

/// A call on the wire: the request (kept to repeat it after a 429), the step awaiting it, and
/// what the 429 policy has used so far.
struct InFlight {
    request: Request,
    pending: PendingFlow,
    retries: u32,
    waited: Duration,
    resend_at: Option<SystemTime>,
}

/// Where the runner is.
enum Stage {
    /// Between steps, holding the flow.
    Idle(Flow),
    /// A step is on the wire.
    Sending(InFlight),
    /// An internet-banking login whose `Start` (PKCE, `state`) is drawn at the first poll.
    Fresh,
    /// Finished: `Done` or `Stopped` was returned.
    Over,
}

/// The pure driver loop (see the [module docs](self)).
pub struct Runner {
    stage: Stage,
    goal: Goal,
    policy: RunPolicy,
    credentials: Option<Credentials>,
    new_password: Option<Password>,
    answer: Option<Answer>,
    /// The refusal that made the runner ask again, reported if the user then gives no answer.
    refused: Option<Error>,
    want_captcha: bool,
    otp_attempts: u32,
    captcha_rounds: u32,
    asked: Option<Prompt>,
    reached: Option<StateId>,
    stop: Option<Stopped>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("state", &self.state_id())
            .field("goal", &self.goal)
            .finish_non_exhaustive()
    }
}

impl Runner {
    fn with(stage: Stage, goal: Goal) -> Self {
        Self {
            stage,
            goal,
            policy: RunPolicy::default(),
            credentials: None,
            new_password: None,
            answer: None,
            refused: None,
            want_captcha: false,
            otp_attempts: 0,
            captcha_rounds: 0,
            asked: None,
            reached: None,
            stop: None,
        }
    }

    /// Runs `flow` (any state) to the end of a login or a password reset.
    pub fn login(flow: impl Into<Flow>) -> Self {
        Self::resume(flow.into())
    }

    /// An internet-banking login from the start: PKCE and `state` are drawn at the first poll.
    pub fn ciam_login(credentials: Credentials) -> Self {
        Self::with(Stage::Fresh, Goal::Finish).credentials(credentials)
    }

    /// A password reset to `new_password`.
    pub fn forgot_password(start: crate::forgot::Start, new_password: Password) -> Self {
        let mut runner = Self::login(start);
        runner.new_password = Some(new_password);
        runner
    }

    /// Resumes a flow (from a snapshot, or from where an earlier run paused) to the end of its
    /// login. A paused ask is asked again.
    pub fn resume(flow: Flow) -> Self {
        Self::with(Stage::Idle(flow), Goal::Finish)
    }

    /// Refreshes `session` once.
    pub fn refresh(session: Session) -> Self {
        Self::with(Stage::Idle(session.into()), Goal::Refresh)
    }

    /// Revokes `session`.
    pub fn revoke(session: Session) -> Self {
        Self::with(Stage::Idle(session.into()), Goal::Revoke)
    }

    /// Sets the policy.
    pub fn policy(mut self, policy: RunPolicy) -> Self {
        self.want_captcha = policy.captcha_first;
        self.policy = policy;
        self
    }

    /// The internet-banking credentials, for the login challenge (and again with a captcha).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The state the flow is in (`None` while a step is on the wire, or when over).
    pub fn state_id(&self) -> Option<StateId> {
        match &self.stage {
            Stage::Idle(flow) => Some(flow.state_id()),
            _ => None,
        }
    }

    /// The 429 repeats of the call on the wire so far.
    pub fn retries(&self) -> u32 {
        match &self.stage {
            Stage::Sending(call) => call.retries,
            _ => 0,
        }
    }

    /// What to do next. `env` supplies the configuration, randomness and the current time.
    pub fn poll(&mut self, env: &mut Env<'_>) -> Next<'_> {
        if let Some(state) = self.reached.take() {
            return Next::Reached(state);
        }
        if let Some(stop) = self.stop.take() {
            self.stage = Stage::Over;
            return Next::Stopped(stop);
        }
        loop {
            match std::mem::replace(&mut self.stage, Stage::Over) {
                Stage::Sending(mut call) => {
                    // Each wait is said once: the driver waits, then polls again, and the call
                    // goes out (a driver with a frozen test clock must not wait forever).
                    if let Some(at) = call.resend_at.take() {
                        self.stage = Stage::Sending(call);
                        return Next::Wait(at);
                    }
                    self.stage = Stage::Sending(call);
                    let Stage::Sending(call) = &self.stage else {
                        return Next::Wait(env.now);
                    };
                    return Next::Send(&call.request);
                }
                Stage::Fresh => match ciam::Start::new(env.entropy) {
                    Ok(start) => self.stage = Stage::Idle(Flow::from(start)),
                    Err(e) => return Next::Stopped(Stopped::before_start(e)),
                },
                Stage::Over => {
                    return Next::Stopped(Stopped::before_start(Error::from(
                        crate::action::Misuse::RunOver,
                    )));
                }
                Stage::Idle(flow) => {
                    let action = match self.choose(&flow) {
                        Choice::Act(action) => action,
                        Choice::Done => return Next::Done(flow),
                        Choice::Ask(prompt) => {
                            self.asked = Some(prompt);
                            self.stage = Stage::Idle(flow);
                            let Stage::Idle(flow) = &self.stage else {
                                return Next::Wait(env.now);
                            };
                            return Next::Ask(question(flow, prompt, self.refused.is_some()));
                        }
                    };
                    // A captcha fetched after a refused answer is asked with `refused: true` (and no
                    // answer then reports that refusal); any other action clears it.
                    let captcha_again = matches!(action, Action::FetchCaptcha)
                        && self
                            .refused
                            .as_ref()
                            .is_some_and(|e| e.kind() == ErrorKind::InvalidCaptcha);
                    if !captcha_again {
                        self.refused = None;
                    }
                    self.asked = None;
                    match flow.begin(action, env) {
                        Ok(Begun::Send(request, pending)) => {
                            self.stage = Stage::Sending(InFlight {
                                request,
                                pending,
                                retries: 0,
                                waited: Duration::ZERO,
                                resend_at: None,
                            });
                        }
                        Ok(Begun::Local(next)) => {
                            self.stage = Stage::Idle(next);
                            self.reached = self.state_id();
                            if let Some(state) = self.reached.take() {
                                return Next::Reached(state);
                            }
                        }
                        Err(failed) => return Next::Stopped(failed.into()),
                    }
                }
            }
        }
    }

    /// The answer to the last [`Next::Ask`].
    pub fn answer(&mut self, answer: Answer) {
        match answer {
            // Credentials and a new password stay for the rest of the run (a captcha round
            // sends the credentials again); the others are used once.
            Answer::Credentials(c) => self.credentials = Some(c),
            Answer::NewPassword(p) => self.new_password = Some(p),
            other => self.answer = Some(other),
        }
    }

    /// Stops at the last [`Next::Ask`] without an answer. The flow comes back to snapshot and
    /// resume; when the ask followed a refusal (a wrong OTP), that refusal is the reason.
    pub fn pause(mut self) -> Stopped {
        let flow = match std::mem::replace(&mut self.stage, Stage::Over) {
            Stage::Idle(flow) => Some(flow),
            _ => None,
        };
        let reason = match (self.refused.take(), self.asked) {
            (Some(error), _) => StopReason::Failed(error),
            (None, Some(prompt)) => StopReason::NoAnswer(prompt),
            // Paused without an ask: nothing was refused and nothing asked.
            (None, None) => StopReason::Failed(Error::from(crate::action::Misuse::RunOver)),
        };
        Stopped { reason, flow }
    }

    /// The response to the request of the last [`Next::Send`], and the instant it arrived.
    pub fn handle_response(&mut self, response: &Response, now: SystemTime) {
        let Stage::Sending(mut call) = std::mem::replace(&mut self.stage, Stage::Over) else {
            return;
        };
        if let Some(delay) =
            self.policy
                .retry
                .delay_before_retry(response, call.retries, call.waited, now)
        {
            call.retries += 1;
            call.waited += delay;
            call.resend_at = Some(now.checked_add(delay).unwrap_or(now));
            self.stage = Stage::Sending(call);
            return;
        }
        match call.pending.receive(response, now) {
            Ok(flow) => {
                self.reached = Some(flow.state_id());
                self.stage = Stage::Idle(flow);
                // One refresh per run: back at `Tokened`, the goal is reached.
                if self.goal == Goal::Refresh {
                    self.goal = Goal::Finish;
                }
            }
            Err(failed) => self.failed(failed),
        }
    }

    /// The call of the last [`Next::Send`] produced no usable response.
    pub fn handle_transport_error(&mut self, error: TransportError) {
        if let Stage::Sending(call) = std::mem::replace(&mut self.stage, Stage::Over) {
            self.stop = Some(call.pending.fail(error).into());
        }
    }

    /// A refusal the runner asks again after (a wrong OTP, a captcha the server wants), within
    /// the policy's limits; anything else stops the run.
    fn failed(&mut self, failed: Failed<Flow>) {
        let Failed { error, state } = failed;
        let Some(flow) = state else {
            self.stop = Some(Stopped::before_start(error));
            return;
        };
        let again = match error.kind() {
            ErrorKind::InvalidOtp => self.otp_attempts < self.policy.otp_attempts,
            ErrorKind::CaptchaRequired | ErrorKind::InvalidCaptcha => {
                let again = self.captcha_rounds < self.policy.captcha_rounds
                    && flow.state_id() == StateId::Authorized;
                self.want_captcha |= again;
                again
            }
            _ => false,
        };
        if again {
            self.refused = Some(error);
            self.stage = Stage::Idle(flow);
        } else {
            self.stop = Some(Stopped {
                reason: StopReason::Failed(error),
                flow: Some(flow),
            });
        }
    }

    /// The next action from `flow` towards the goal.
    fn choose(&mut self, flow: &Flow) -> Choice {
        use Choice::{Act, Ask, Done};
        let otp = |runner: &mut Self| match runner.answer.take() {
            Some(Answer::Otp(otp)) => {
                runner.otp_attempts += 1;
                Act(Action::Otp(otp))
            }
            _ => Ask(Prompt::Otp),
        };
        match flow {
            Flow::Realm(state) => match state {
                r::State::Start(_) => Act(Action::RequestLogin),
                r::State::Challenged(_) => Act(Action::Token),
                r::State::MfaPending(_) => otp(self),
                r::State::Tokened(_) => self.session_goal(),
                r::State::Revoked(_) => Done,
            },
            Flow::ForgotPassword(state) => match state {
                f::State::Start(_) => Act(Action::RequestReset),
                f::State::OtpSent(_) => otp(self),
                f::State::Verified(_) => match self.new_password.take() {
                    Some(pw) => Act(Action::NewPassword(pw)),
                    None => Ask(Prompt::NewPassword),
                },
                f::State::PasswordReset(_) => Done,
            },
            Flow::Ciam(state) => match state {
                c::State::Start(_) => Act(Action::Authorize),
                c::State::Authorized(_) if self.want_captcha => {
                    self.want_captcha = false;
                    self.captcha_rounds += 1;
                    Act(Action::FetchCaptcha)
                }
                c::State::Authorized(_) => match &self.credentials {
                    Some(creds) => Act(Action::Credentials(creds.clone())),
                    None => Ask(Prompt::Credentials),
                },
                c::State::CaptchaShown(_) => match (&self.credentials, &self.answer) {
                    (Some(creds), Some(Answer::Captcha(answer))) => {
                        let action = Action::CaptchaAnswer(creds.clone(), answer.clone());
                        self.answer = None;
                        Act(action)
                    }
                    (None, _) => Ask(Prompt::Credentials),
                    (Some(_), _) => Ask(Prompt::Captcha),
                },
                c::State::MfaPending(_) => otp(self),
                c::State::Challenged(_) => Act(Action::Token),
                c::State::Tokened(_) => self.session_goal(),
                c::State::Revoked(_) => Done,
            },
        }
    }

    fn session_goal(&self) -> Choice {
        match self.goal {
            Goal::Finish => Choice::Done,
            Goal::Refresh => Choice::Act(Action::Refresh),
            Goal::Revoke => Choice::Act(Action::Revoke),
        }
    }
}

enum Choice {
    Act(Action),
    Ask(Prompt),
    Done,
}

/// The question for `prompt` in `flow`, with the details the flow holds.
fn question(flow: &Flow, prompt: Prompt, refused: bool) -> Question<'_> {
    match (prompt, flow) {
        (Prompt::Credentials, _) => Question::Credentials,
        (Prompt::NewPassword, _) => Question::NewPassword,
        (_, flow) => otp_or_captcha(flow, refused),
    }
}

fn otp_or_captcha(flow: &Flow, refused: bool) -> Question<'_> {
    match flow {
        Flow::Realm(r::State::MfaPending(m)) => Question::Otp {
            api: Api::Realm,
            channel: None,
            ref_id: m.ref_id(),
            refused,
        },
        Flow::ForgotPassword(f::State::OtpSent(s)) => Question::Otp {
            api: Api::ForgotPassword,
            channel: None,
            ref_id: Some(s.ref_id()),
            refused,
        },
        Flow::Ciam(c::State::MfaPending(m)) => Question::Otp {
            api: Api::Ciam,
            channel: Some(m.channel().as_str()),
            ref_id: m.ref_id(),
            refused,
        },
        Flow::Ciam(c::State::CaptchaShown(s)) => Question::Captcha {
            image_png: s.captcha().image_png(),
            refused,
        },
        _ => Question::Credentials,
    }
}
