//! Runs every flow through login-transport's [`Driver`] over login-core's [`Runner`]: the
//! runner decides each step, repeats a call the server throttled (429), and asks again after a
//! refused OTP or captcha; the driver does the I/O.
//!
//! What this module adds is what a command line needs around it: an [`Interaction`] adapter
//! that answers the runner's questions from [`Interact`] (flags, the terminal, the demo's
//! oracle) or pauses the run (`login --save-pending`), progress (each request as it goes out
//! and comes back, seen by wrapping the transport, and each state reached), transport errors
//! that name the URL they tried, and the mapping of a stopped run to a [`Halt`] naming the
//! state it stopped in and what survived.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use login_core::action::Bank;
use login_core::runner::{Answer, Question, RunPolicy};
use login_core::table::{StateId, StepId};
use login_core::{ErrorKind, Flow, Profile, Request, Response, Runner, Session, TransportError};
use login_transport::{Driver, Interaction, StateChange, StopReason, Stopped, Transport};

use crate::error::CliError;
use crate::interact::Interact;
use crate::settings::call_url;
use crate::tape::Wire;

/// A state change or a step, for progress lines.
#[derive(Debug, Clone)]
pub enum Event {
    /// A request for this step is going out to `url` (origin and path, no query).
    Sending {
        /// The step.
        step: StepId,
        /// `GET`, `POST`, ...
        method: &'static str,
        /// Where.
        url: String,
    },
    /// The request of a step came back: its status, or the transport failure's kind.
    Finished {
        /// The step.
        step: StepId,
        /// The HTTP status, or the transport error kind.
        outcome: Result<u16, &'static str>,
        /// How long the call took.
        elapsed: Duration,
    },
    /// The flow reached a state.
    Reached(StateId),
    /// Something the user would be shown: where an OTP went, a captcha fetched.
    Note(String),
}

/// The progress callback.
pub type Progress<'a> = &'a mut dyn FnMut(Event);

type Sink<'p> = RefCell<&'p mut dyn FnMut(Event)>;

fn emit(sink: &Sink<'_>, event: Event) {
    // Never re-entered: the callback does not call back into the engine.
    if let Ok(mut f) = sink.try_borrow_mut() {
        f(event);
    }
}

/// A transport that reports each request before and after sending it through the real one,
/// and names the URL in a transport failure.
struct Observed<'a, 'p> {
    inner: &'a Wire,
    base_url: &'a str,
    sink: &'a Sink<'p>,
}

impl Transport for Observed<'_, '_> {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let step = request.step();
        let method = request.method().as_str();
        let url = call_url(self.base_url, request.path());
        emit(
            self.sink,
            Event::Sending {
                step,
                method,
                url: url.clone(),
            },
        );
        let started = Instant::now();
        let sent = self.inner.send(request);
        let outcome = match &sent {
            Ok(response) => Ok(response.status()),
            Err(e) => Err(e.kind.as_str()),
        };
        emit(
            self.sink,
            Event::Finished {
                step,
                outcome,
                elapsed: started.elapsed(),
            },
        );
        // Which address refused or timed out is the first thing a person asks.
        sent.map_err(|e| TransportError::new(e.kind, format!("{} ({method} {url})", e.detail)))
    }
}

/// Why a run did not reach its goal.
#[derive(Debug)]
pub enum Halt {
    /// The run stopped at a question nobody answered on purpose (`--save-pending`): the flow
    /// waits there.
    Paused {
        /// The flow, in the state that asked (what it asks is in it: the OTP reference, the
        /// captcha).
        flow: Flow,
    },
    /// A step failed, or an answer could not be had.
    Failed {
        /// The error, in the state the failure left the flow in.
        error: CliError,
        /// The flow, when it survived.
        flow: Option<Flow>,
        /// The kind of a refusal that ended the flow (the server ended the session).
        ended: Option<ErrorKind>,
    },
}

impl Halt {
    /// The error (a pause is a usage error to a command that does not pause).
    pub fn into_error(self) -> CliError {
        match self {
            Halt::Failed { error, .. } => error,
            Halt::Paused { flow } => {
                CliError::usage("no answer was given").in_state(flow.state_id())
            }
        }
    }
}

impl From<Halt> for CliError {
    fn from(halt: Halt) -> Self {
        halt.into_error()
    }
}

/// The blocking transport every flow of a command goes through, and the run policy.
pub struct Client<'t> {
    transport: &'t Wire,
    base_url: String,
    policy: RunPolicy,
    pause: bool,
}

impl<'t> Client<'t> {
    /// Wraps a transport; its configuration's retry policy governs 429s.
    pub fn new(transport: &'t Wire) -> Self {
        let policy = RunPolicy::default().retry(transport.retry_policy());
        Self {
            transport,
            base_url: transport.base_url().to_owned(),
            policy,
            pause: false,
        }
    }

    /// Fetch and answer a captcha before the first login challenge (`login --captcha`).
    pub fn captcha_first(mut self, first: bool) -> Self {
        self.policy = self.policy.captcha_first(first);
        self
    }

    /// Pause at an OTP or captcha question no flag answers, instead of prompting or failing
    /// (`login --save-pending`).
    pub fn pause_when_unanswered(mut self, pause: bool) -> Self {
        self.pause = pause;
        self
    }

    /// Runs `runner` to its goal with `bank`, asking `answers` what the runner asks.
    pub fn run(
        &self,
        bank: Bank<'_>,
        runner: Runner,
        answers: &mut Interact,
        progress: Progress<'_>,
    ) -> Result<Flow, Halt> {
        let sink: Sink<'_> = RefCell::new(progress);
        let driver = Driver::new(Observed {
            inner: self.transport,
            base_url: &self.base_url,
            sink: &sink,
        })
        .policy(self.policy);
        // A fresh internet-banking login draws its `Start` at the first poll.
        let first = runner.state_id().unwrap_or(StateId::Start);
        let mut adapter = Adapter::new(answers, &sink, first, self.pause);
        driver
            .run(bank, runner, &mut adapter)
            .map_err(|stopped| adapter.stopped(stopped))
    }

    /// Refreshes a session; needs only its profile.
    pub fn refresh(
        &self,
        profile: &Profile,
        session: Session,
        progress: Progress<'_>,
    ) -> Result<Session, Halt> {
        let runner = Runner::refresh(session);
        let flow = self.run(
            Bank::Profile(profile),
            runner,
            &mut Interact::none(),
            progress,
        )?;
        flow.into_session().map_err(|flow| Halt::Failed {
            error: CliError::ended_elsewhere(StateId::Tokened, flow.state_id()),
            flow: Some(flow),
            ended: None,
        })
    }

    /// Revokes a session (locally in the realm API, nothing sent); the flow ends `Revoked`.
    pub fn revoke(
        &self,
        profile: &Profile,
        session: Session,
        progress: Progress<'_>,
    ) -> Result<Flow, Halt> {
        let runner = Runner::revoke(session);
        self.run(
            Bank::Profile(profile),
            runner,
            &mut Interact::none(),
            progress,
        )
    }
}

/// Why the adapter answered a question with `None`.
enum Declined {
    /// The answer could not be had: a flag is missing, the terminal failed.
    Unanswered(CliError),
    /// The last answer was refused and nobody is at a terminal to give another: the refusal
    /// (the runner's stop reason) is the outcome.
    Refused { captcha: bool },
    /// Paused on purpose, to finish later.
    Paused,
}

/// Adapts [`Interact`] to the driver's [`Interaction`]: keeps the last state reached and why
/// a question went unanswered.
struct Adapter<'a, 'p> {
    answers: &'a mut Interact,
    sink: &'a Sink<'p>,
    last: StateId,
    pause: bool,
    /// Captcha answers given: a captcha asked for after one is a refusal of it (the runner
    /// also marks as `refused` a captcha the server first asked for with `captcha_required`).
    captchas_answered: usize,
    declined: Option<Declined>,
}

impl<'a, 'p> Adapter<'a, 'p> {
    fn new(answers: &'a mut Interact, sink: &'a Sink<'p>, first: StateId, pause: bool) -> Self {
        Self {
            answers,
            sink,
            last: first,
            pause,
            captchas_answered: 0,
            declined: None,
        }
    }

    /// The question as the adapter understands it: a captcha counts as refused only after an
    /// answer was given.
    fn understood<'q>(&self, question: &Question<'q>) -> Question<'q> {
        match *question {
            Question::Captcha { image_png, refused } => Question::Captcha {
                image_png,
                refused: refused && self.captchas_answered > 0,
            },
            other => other,
        }
    }

    /// What the user is shown as the question comes (progress notes).
    fn note(&self, question: &Question<'_>) {
        let note = match *question {
            Question::Otp {
                channel, ref_id, ..
            } => match (channel, ref_id) {
                (Some(c), Some(r)) => format!("OTP sent by {c}, reference {r}"),
                (None, Some(r)) => format!("OTP sent, reference {r}"),
                (Some(c), None) => format!("OTP sent by {c}"),
                (None, None) => "OTP sent".to_owned(),
            },
            Question::Captcha { image_png, .. } => {
                format!("captcha fetched ({} bytes of PNG)", image_png.len())
            }
            Question::Credentials | Question::NewPassword => return,
        };
        emit(self.sink, Event::Note(note));
    }

    /// The run's end as a [`Halt`]: paused on purpose, the reason the adapter declined an
    /// answer, or the runner's reason, in the state the failure left the flow in.
    fn stopped(&mut self, stopped: Stopped) -> Halt {
        let state = stopped.flow.as_ref().map_or(self.last, Flow::state_id);
        let ended = stopped
            .error()
            .filter(|e| e.ends_flow())
            .map(login_core::Error::kind);
        let Stopped { reason, flow } = stopped;
        let error = match (self.declined.take(), reason) {
            (Some(Declined::Paused), _) => match flow {
                Some(flow) => return Halt::Paused { flow },
                None => CliError::usage("no answer was given").in_state(state),
            },
            (Some(Declined::Unanswered(e)), _) => e.in_state(state),
            // A refused captcha answer sends the flow back to `Authorized` (the captcha shown
            // since is a new one, that nobody answered).
            (Some(Declined::Refused { captcha: true }), StopReason::Failed(e)) => {
                CliError::captcha_refused(e).in_state(StateId::Authorized)
            }
            (_, StopReason::Failed(e)) => CliError::engine(e).in_state(state),
            (_, StopReason::NoAnswer(_)) => CliError::usage("no answer was given").in_state(state),
        };
        Halt::Failed { error, flow, ended }
    }
}

impl Interaction for Adapter<'_, '_> {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        let question = self.understood(question);
        self.note(&question);
        let refused = match question {
            Question::Otp { refused, .. } | Question::Captcha { refused, .. } => refused,
            Question::Credentials | Question::NewPassword => false,
        };
        if refused && !self.answers.can_ask_again() {
            let captcha = matches!(question, Question::Captcha { .. });
            self.declined = Some(Declined::Refused { captcha });
            return None;
        }
        let pausable = matches!(question, Question::Otp { .. } | Question::Captcha { .. });
        if self.pause && pausable && !refused && !self.answers.has_answer_for(&question) {
            self.declined = Some(Declined::Paused);
            return None;
        }
        match self.answers.answer(&question) {
            Ok(answer) => {
                if let Answer::Captcha(_) = answer {
                    self.captchas_answered += 1;
                }
                Some(answer)
            }
            Err(e) => {
                self.declined = Some(Declined::Unanswered(e));
                None
            }
        }
    }

    fn state_changed(&mut self, change: &StateChange) {
        self.last = change.state;
        emit(self.sink, Event::Reached(change.state));
    }
}
