//! Runs whole flows with login-transport's [`Driver`]: it sends each step, repeats a call the
//! server throttled (429) as the transport's retry policy says, feeds responses back to
//! login-core, and asks this module's [`Interaction`] adapter for OTPs and captcha answers.
//!
//! Around the driver this module adds what a command line needs: progress events (the state
//! changes the driver reports, plus each request as it goes out, seen by wrapping the
//! transport), another prompt after a refused OTP when a person is at a terminal, and the
//! mapping of a stopped flow to a [`CliError`] naming the state it stopped in.

use std::cell::RefCell;

use login_core::ciam::{self, CiamConfig};
use login_core::realm::{self, RealmConfig};
use login_core::seal::CredentialSealer;
use login_core::secret::{CaptchaAnswer, Otp, Password};
use login_core::table::{StateId, StepId};
use login_core::{ErrorKind, Failed, Request, Response, TransportError, forgot};
use login_transport::{
    Driver, Interaction, OtpPrompt, StateChange, StopReason, Stopped, Transport, UreqTransport,
};

use crate::interact::Interact;
use crate::output::{CliError, EXIT_TRANSPORT};

/// A state change or a step, for progress lines.
#[derive(Debug, Clone)]
pub enum Event {
    /// A request for this step is going out.
    Sending(StepId),
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

/// A transport that reports each request before sending it through the real one.
struct Observed<'a, 'p> {
    inner: &'a UreqTransport,
    sink: &'a Sink<'p>,
}

impl Transport for Observed<'_, '_> {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        emit(self.sink, Event::Sending(request.step()));
        self.inner.send(request)
    }
}

/// The blocking transport every flow of a run goes through.
pub struct Client<'t> {
    transport: &'t UreqTransport,
}

impl<'t> Client<'t> {
    /// Wraps a transport; its configuration's retry policy governs 429s.
    pub fn new(transport: &'t UreqTransport) -> Self {
        Self { transport }
    }

    fn driver<'a, 'p>(&'a self, sink: &'a Sink<'p>) -> Driver<Observed<'a, 'p>> {
        Driver::new(Observed {
            inner: self.transport,
            sink,
        })
        .retry(self.transport.config().retry_policy())
    }
}

/// Adapts [`Interact`] to the driver's [`Interaction`]: keeps the last state reached and the
/// usage error behind an unanswered prompt.
struct Adapter<'a, 'p> {
    interact: &'a mut Interact,
    sink: &'a Sink<'p>,
    last: StateId,
    captcha_first: bool,
    captchas_answered: usize,
    unanswered: Option<CliError>,
}

impl<'a, 'p> Adapter<'a, 'p> {
    fn new(interact: &'a mut Interact, sink: &'a Sink<'p>, first: StateId) -> Self {
        Self {
            interact,
            sink,
            last: first,
            captcha_first: false,
            captchas_answered: 0,
            unanswered: None,
        }
    }

    fn ask_otp(&mut self, channel: Option<&str>, ref_id: Option<&str>) -> Option<Otp> {
        let sent = match (channel, ref_id) {
            (Some(c), Some(r)) => format!("OTP sent by {c}, reference {r}"),
            (None, Some(r)) => format!("OTP sent, reference {r}"),
            (Some(c), None) => format!("OTP sent by {c}"),
            (None, None) => "OTP sent".to_owned(),
        };
        emit(self.sink, Event::Note(sent));
        match self.interact.otp(channel, ref_id) {
            Ok(otp) => Some(otp),
            Err(e) => {
                self.unanswered = Some(e.in_state(self.last));
                None
            }
        }
    }

    /// The error for a flow that stopped.
    fn stopped<S>(&mut self, stopped: Stopped<S>) -> CliError {
        match stopped.reason {
            StopReason::Failed(e) => CliError::engine(&e, self.last),
            StopReason::NoAnswer(_) => self
                .unanswered
                .take()
                .unwrap_or_else(|| CliError::usage("no answer was given").in_state(self.last)),
            other => CliError::local("unsupported", other.to_string(), EXIT_TRANSPORT)
                .in_state(self.last),
        }
    }

    fn reached(&mut self, state: StateId) {
        self.last = state;
        emit(self.sink, Event::Reached(state));
    }
}

impl Interaction for Adapter<'_, '_> {
    fn otp(&mut self, prompt: &OtpPrompt<'_>) -> Option<Otp> {
        self.ask_otp(prompt.channel, prompt.ref_id)
    }

    fn captcha(&mut self, image_png: &[u8]) -> Option<CaptchaAnswer> {
        emit(
            self.sink,
            Event::Note(format!(
                "captcha fetched ({} bytes of PNG)",
                image_png.len()
            )),
        );
        match self.interact.captcha(image_png) {
            Ok(answer) => {
                self.captchas_answered += 1;
                Some(answer)
            }
            // Asked again after an answer was sent: the server refused it (the driver fetches
            // a new captcha after 400 `invalid_captcha`). Without a person to ask, that refusal
            // is the outcome to report, not the missing flag.
            Err(_) if self.captchas_answered > 0 && !self.interact.can_ask_again() => {
                self.unanswered = Some(CliError::server_refusal(
                    "invalid_captcha",
                    400,
                    "the captcha answer was refused (400 invalid_captcha)",
                    self.last,
                ));
                None
            }
            Err(e) => {
                self.unanswered = Some(e.in_state(self.last));
                None
            }
        }
    }

    fn captcha_first(&self) -> bool {
        self.captcha_first
    }

    fn state_changed(&mut self, change: &StateChange) {
        self.reached(change.state);
    }
}

/// Whether a stopped flow may ask the person at the terminal for another OTP.
fn wrong_otp_again<S>(stopped: &Stopped<S>, attempt: usize, interact: &Interact) -> bool {
    stopped.kind() == Some(ErrorKind::InvalidOtp)
        && stopped.state.is_some()
        && attempt < MAX_OTP_ATTEMPTS
        && interact.can_ask_again()
}

/// OTP attempts at a terminal (the sandbox, like a bank, allows 5 per code).
const MAX_OTP_ATTEMPTS: usize = 3;

/// Realm login: request login, then the token call (with an OTP when `mfa` is `otp`).
pub fn realm_login(
    client: &Client<'_>,
    cfg: &RealmConfig,
    username: &str,
    password: Password,
    interact: &mut Interact,
    progress: Progress<'_>,
) -> Result<realm::Tokened, CliError> {
    let sink: Sink<'_> = RefCell::new(progress);
    let driver = client.driver(&sink);
    let mut adapter = Adapter::new(interact, &sink, StateId::Start);
    let mut result = driver.realm_login(cfg, realm::Start::new(username, password), &mut adapter);
    let mut attempt = 1;
    loop {
        match result {
            Ok(t) => return Ok(t),
            Err(stopped) if wrong_otp_again(&stopped, attempt, adapter.interact) => {
                let Some(realm::State::MfaPending(mfa)) = stopped.state else {
                    return Err(adapter.stopped(Stopped {
                        reason: stopped.reason,
                        state: None::<()>,
                    }));
                };
                attempt += 1;
                let Some(otp) = adapter.ask_otp(None, mfa.ref_id()) else {
                    return Err(adapter.stopped(Stopped {
                        reason: StopReason::NoAnswer(login_transport::Prompt::Otp),
                        state: None::<()>,
                    }));
                };
                result = driver.realm_finish_mfa(cfg, mfa, otp).inspect(|_| {
                    adapter.reached(StateId::Tokened);
                });
            }
            Err(stopped) => return Err(adapter.stopped(stopped)),
        }
    }
}

/// Realm refresh.
pub fn realm_refresh(
    client: &Client<'_>,
    cfg: &RealmConfig,
    tokened: realm::Tokened,
    progress: Progress<'_>,
) -> Result<realm::Tokened, CliError> {
    let sink: Sink<'_> = RefCell::new(progress);
    let t = client
        .driver(&sink)
        .realm_refresh(cfg, tokened)
        .map_err(|f: Failed<_>| CliError::engine(&f.error, StateId::Tokened))?;
    emit(&sink, Event::Reached(StateId::Tokened));
    Ok(t)
}

/// Forgot password: request reset, verify the OTP, reset.
pub fn forgot_password(
    client: &Client<'_>,
    cfg: &RealmConfig,
    username: &str,
    new_password: Password,
    interact: &mut Interact,
    progress: Progress<'_>,
) -> Result<forgot::PasswordReset, CliError> {
    let sink: Sink<'_> = RefCell::new(progress);
    let driver = client.driver(&sink);
    let mut adapter = Adapter::new(interact, &sink, StateId::ResetStart);
    driver
        .forgot_password(
            cfg,
            forgot::Start::new(username),
            new_password,
            &mut adapter,
        )
        .map_err(|s| adapter.stopped(s))
}

/// What an internet-banking login needs besides the configuration.
pub struct CiamLogin<'a> {
    /// Seals the credentials to the server's key.
    pub sealer: &'a dyn CredentialSealer,
    /// The user name.
    pub username: &'a str,
    /// The password.
    pub password: Password,
    /// Fetch a captcha before the first login challenge.
    pub captcha_first: bool,
}

/// Internet-banking login: authorize, captcha (asked for, or when the server wants one),
/// login challenge (with 2FA on an anomaly), access token.
pub fn ciam_login(
    client: &Client<'_>,
    cfg: &CiamConfig,
    login: CiamLogin<'_>,
    interact: &mut Interact,
    progress: Progress<'_>,
) -> Result<ciam::Tokened, CliError> {
    let sink: Sink<'_> = RefCell::new(progress);
    let driver = client.driver(&sink);
    let mut adapter = Adapter::new(interact, &sink, StateId::Start);
    adapter.captcha_first = login.captcha_first;
    let credentials = ciam::Credentials::new(login.username, login.password);
    let mut result = driver.ciam_login(cfg, login.sealer, credentials, &mut adapter);
    let mut attempt = 1;
    loop {
        match result {
            Ok(t) => return Ok(t),
            Err(stopped) if wrong_otp_again(&stopped, attempt, adapter.interact) => {
                let Some(ciam::State::MfaPending(mfa)) = stopped.state else {
                    return Err(adapter.stopped(Stopped {
                        reason: stopped.reason,
                        state: None::<()>,
                    }));
                };
                attempt += 1;
                let Some(otp) = adapter.ask_otp(Some(mfa.channel().as_str()), mfa.ref_id()) else {
                    return Err(adapter.stopped(Stopped {
                        reason: StopReason::NoAnswer(login_transport::Prompt::Otp),
                        state: None::<()>,
                    }));
                };
                result = driver.ciam_finish_mfa(cfg, mfa, otp).inspect(|_| {
                    adapter.reached(StateId::Tokened);
                });
            }
            Err(stopped) => return Err(adapter.stopped(stopped)),
        }
    }
}

/// Internet-banking refresh.
pub fn ciam_refresh(
    client: &Client<'_>,
    cfg: &CiamConfig,
    tokened: ciam::Tokened,
    progress: Progress<'_>,
) -> Result<ciam::Tokened, CliError> {
    let sink: Sink<'_> = RefCell::new(progress);
    let t = client
        .driver(&sink)
        .ciam_refresh(cfg, tokened)
        .map_err(|f| CliError::engine(&f.error, StateId::Tokened))?;
    emit(&sink, Event::Reached(StateId::Tokened));
    Ok(t)
}

/// Internet-banking revoke.
pub fn ciam_revoke(
    client: &Client<'_>,
    cfg: &CiamConfig,
    tokened: ciam::Tokened,
    progress: Progress<'_>,
) -> Result<ciam::Revoked, CliError> {
    let sink: Sink<'_> = RefCell::new(progress);
    let r = client
        .driver(&sink)
        .ciam_revoke(cfg, tokened)
        .map_err(|f| CliError::engine(&f.error, StateId::Tokened))?;
    emit(&sink, Event::Reached(StateId::Revoked));
    Ok(r)
}
