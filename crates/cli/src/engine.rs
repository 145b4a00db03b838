//! Runs whole flows: each login-core state's request goes out through a login-transport
//! [`Transport`], the response comes back into the engine, and every state change is reported
//! to a progress callback. Throttled calls (429) are repeated as the transport's retry policy
//! says (wire contract: once by default, waiting at most 10 s), because the server did not
//! process them.

use std::time::SystemTime;

use login_core::ciam::{self, CiamConfig};
use login_core::entropy::OsEntropy;
use login_core::realm::{self, RealmConfig};
use login_core::seal::CredentialSealer;
use login_core::secret::Password;
use login_core::table::{StateId, StepId};
use login_core::{ErrorKind, Failed, Pending, Request, Response, Step, TransportError, forgot};
use login_transport::{RetryPolicy, Transport};

use crate::interact::Interact;
use crate::output::CliError;

/// A state change, for progress lines.
#[derive(Debug, Clone)]
pub enum Event {
    /// A request for `StepId` is going out.
    Sending(StepId),
    /// The flow reached a state; the text says what came with it.
    Reached(StateId, String),
    /// A throttled call will be repeated after a wait.
    Retrying(StepId, std::time::Duration),
}

/// The progress callback.
pub type Progress<'a> = &'a mut dyn FnMut(Event);

/// A transport and its 429 retry policy.
pub struct Client<'t> {
    transport: &'t dyn Transport,
    retry: RetryPolicy,
}

impl<'t> Client<'t> {
    /// Wraps a transport.
    pub fn new(transport: &'t dyn Transport, retry: RetryPolicy) -> Self {
        Self { transport, retry }
    }

    fn send(&self, request: &Request, progress: Progress<'_>) -> Result<Response, TransportError> {
        let mut retries = 0;
        let mut waited = std::time::Duration::ZERO;
        loop {
            let response = self.transport.send(request)?;
            match self.retry.delay_before_retry(&response, retries, waited) {
                Some(delay) => {
                    progress(Event::Retrying(request.step(), delay));
                    std::thread::sleep(delay);
                    retries += 1;
                    waited += delay;
                }
                None => return Ok(response),
            }
        }
    }

    /// Sends one step's request and feeds the answer back.
    fn call<S: Step>(
        &self,
        (request, pending): (Request, Pending<S>),
        progress: Progress<'_>,
    ) -> Result<S::Next, Failed<S::State>> {
        progress(Event::Sending(request.step()));
        match self.send(&request, progress) {
            Ok(response) => pending.receive(&response, SystemTime::now()),
            Err(e) => Err(pending.fail(e)),
        }
    }
}

fn fail<S>(state: StateId) -> impl FnOnce(Failed<S>) -> CliError {
    move |f| CliError::engine(&f.error, state)
}

const MAX_ANSWERS: usize = 3;

/// Realm login: request login, then the token call (with an OTP when `mfa` is `otp`).
pub fn realm_login(
    client: &Client<'_>,
    cfg: &RealmConfig,
    username: &str,
    password: Password,
    interact: &mut Interact,
    progress: Progress<'_>,
) -> Result<realm::Tokened, CliError> {
    let started = client
        .call(
            realm::Start::new(username, password).request_login(cfg),
            progress,
        )
        .map_err(fail(StateId::Start))?;
    let tokened = match started {
        realm::LoginStarted::Challenged(c) => {
            progress(Event::Reached(StateId::Challenged, "mfa none".into()));
            client
                .call(c.exchange(cfg), progress)
                .map_err(fail(StateId::Challenged))?
        }
        realm::LoginStarted::MfaPending(mut m) => {
            let mut attempt = 0;
            loop {
                attempt += 1;
                progress(Event::Reached(
                    StateId::MfaPending,
                    m.ref_id().map_or("OTP sent".to_owned(), |r| {
                        format!("OTP sent, reference {r}")
                    }),
                ));
                let otp = interact
                    .otp(None, m.ref_id())
                    .map_err(|e| e.in_state(StateId::MfaPending))?;
                match client.call(m.submit_otp(cfg, otp), progress) {
                    Ok(t) => break t,
                    Err(Failed {
                        error,
                        state: Some(back),
                    }) if error.kind() == ErrorKind::InvalidOtp
                        && attempt < MAX_ANSWERS
                        && interact.can_ask_again() =>
                    {
                        m = back;
                    }
                    Err(f) => return Err(fail(StateId::MfaPending)(f)),
                }
            }
        }
        _ => {
            return Err(CliError::local(
                "unexpected_state",
                "request login led to a state this build does not know",
                3,
            ));
        }
    };
    progress(Event::Reached(StateId::Tokened, "tokens received".into()));
    Ok(tokened)
}

/// Realm refresh.
pub fn realm_refresh(
    client: &Client<'_>,
    cfg: &RealmConfig,
    tokened: realm::Tokened,
    progress: Progress<'_>,
) -> Result<realm::Tokened, CliError> {
    let t = client
        .call(tokened.refresh(cfg), progress)
        .map_err(fail(StateId::Tokened))?;
    progress(Event::Reached(StateId::Tokened, "tokens rotated".into()));
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
    let mut sent = client
        .call(forgot::Start::new(username).request_reset(cfg), progress)
        .map_err(fail(StateId::ResetStart))?;
    let mut attempt = 0;
    let verified = loop {
        attempt += 1;
        progress(Event::Reached(
            StateId::OtpSent,
            format!("OTP sent, reference {}", sent.ref_id()),
        ));
        let otp = interact
            .otp(None, Some(sent.ref_id()))
            .map_err(|e| e.in_state(StateId::OtpSent))?;
        match client.call(sent.verify(cfg, otp), progress) {
            Ok(v) => break v,
            Err(Failed {
                error,
                state: Some(back),
            }) if error.kind() == ErrorKind::InvalidOtp
                && attempt < MAX_ANSWERS
                && interact.can_ask_again() =>
            {
                sent = back;
            }
            Err(f) => return Err(fail(StateId::OtpSent)(f)),
        }
    };
    progress(Event::Reached(
        StateId::Verified,
        "reset ticket held".into(),
    ));
    let done = client
        .call(verified.reset(cfg, new_password), progress)
        .map_err(fail(StateId::Verified))?;
    progress(Event::Reached(
        StateId::PasswordReset,
        "password changed".into(),
    ));
    Ok(done)
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

/// Internet-banking login: authorize, optional captcha, login challenge (with 2FA on an
/// anomaly), access token.
pub fn ciam_login(
    client: &Client<'_>,
    cfg: &CiamConfig,
    login: CiamLogin<'_>,
    interact: &mut Interact,
    progress: Progress<'_>,
) -> Result<ciam::Tokened, CliError> {
    let mut entropy = OsEntropy;
    let start = ciam::Start::new(&mut entropy).map_err(|e| CliError::engine(&e, StateId::Start))?;
    let mut authorized = client
        .call(start.authorize(cfg), progress)
        .map_err(fail(StateId::Start))?;
    progress(Event::Reached(
        StateId::Authorized,
        "login challenge issued".into(),
    ));
    if login.captcha_first {
        authorized = fetch_captcha(client, cfg, authorized, progress)?;
    }
    let mut credentials = ciam::Credentials::new(login.username, login.password);
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let answer = match authorized.captcha() {
            Some(c) => Some(
                interact
                    .captcha(c.image_png())
                    .map_err(|e| e.in_state(StateId::Authorized))?,
            ),
            None => None,
        };
        credentials.set_captcha_answer(answer);
        let call = authorized
            .submit_credentials(
                cfg,
                login.sealer,
                &credentials,
                &mut entropy,
                SystemTime::now(),
            )
            .map_err(fail(StateId::Authorized))?;
        match client.call(call, progress) {
            Ok(outcome) => break outcome,
            Err(Failed {
                error,
                state: Some(back),
            }) if matches!(
                error.kind(),
                ErrorKind::CaptchaRequired | ErrorKind::InvalidCaptcha
            ) && attempt < MAX_ANSWERS
                // A refused answer can only be corrected by a person at a terminal; a missing
                // captcha can be fetched and answered with --captcha-answer.
                && (error.kind() == ErrorKind::CaptchaRequired || interact.can_ask_again()) =>
            {
                progress(Event::Reached(
                    StateId::Authorized,
                    format!("server said {}", error.kind()),
                ));
                authorized = fetch_captcha(client, cfg, back, progress)?;
            }
            Err(f) => return Err(fail(StateId::Authorized)(f)),
        }
    };
    let challenged = match outcome {
        ciam::LoginOutcome::Challenged(c) => {
            progress(Event::Reached(StateId::Challenged, "no anomaly".into()));
            c
        }
        ciam::LoginOutcome::MfaPending(mut m) => {
            let mut attempt = 0;
            loop {
                attempt += 1;
                progress(Event::Reached(
                    StateId::MfaPending,
                    format!(
                        "anomaly: OTP sent by {}{}",
                        m.channel().as_str(),
                        m.ref_id()
                            .map_or(String::new(), |r| format!(", reference {r}"))
                    ),
                ));
                let otp = interact
                    .otp(Some(m.channel().as_str()), m.ref_id())
                    .map_err(|e| e.in_state(StateId::MfaPending))?;
                match client.call(m.verify(cfg, otp), progress) {
                    Ok(c) => {
                        progress(Event::Reached(StateId::Challenged, "OTP accepted".into()));
                        break c;
                    }
                    Err(Failed {
                        error,
                        state: Some(back),
                    }) if error.kind() == ErrorKind::InvalidOtp
                        && attempt < MAX_ANSWERS
                        && interact.can_ask_again() =>
                    {
                        m = back;
                    }
                    Err(f) => return Err(fail(StateId::MfaPending)(f)),
                }
            }
        }
        _ => {
            return Err(CliError::local(
                "unexpected_state",
                "the login challenge led to a state this build does not know",
                3,
            ));
        }
    };
    let tokened = client
        .call(challenged.exchange(cfg), progress)
        .map_err(fail(StateId::Challenged))?;
    progress(Event::Reached(StateId::Tokened, "tokens received".into()));
    Ok(tokened)
}

fn fetch_captcha(
    client: &Client<'_>,
    cfg: &CiamConfig,
    authorized: ciam::Authorized,
    progress: Progress<'_>,
) -> Result<ciam::Authorized, CliError> {
    let a = client
        .call(authorized.fetch_captcha(cfg), progress)
        .map_err(fail(StateId::Authorized))?;
    progress(Event::Reached(
        StateId::Authorized,
        format!(
            "captcha fetched ({} bytes of PNG)",
            a.captcha().map_or(0, |c| c.image_png().len())
        ),
    ));
    Ok(a)
}

/// Internet-banking refresh.
pub fn ciam_refresh(
    client: &Client<'_>,
    cfg: &CiamConfig,
    tokened: ciam::Tokened,
    progress: Progress<'_>,
) -> Result<ciam::Tokened, CliError> {
    let t = client
        .call(tokened.refresh(cfg), progress)
        .map_err(fail(StateId::Tokened))?;
    progress(Event::Reached(StateId::Tokened, "tokens rotated".into()));
    Ok(t)
}

/// Internet-banking revoke.
pub fn ciam_revoke(
    client: &Client<'_>,
    cfg: &CiamConfig,
    tokened: ciam::Tokened,
    progress: Progress<'_>,
) -> Result<ciam::Revoked, CliError> {
    let r = client
        .call(tokened.revoke(cfg), progress)
        .map_err(fail(StateId::Tokened))?;
    progress(Event::Reached(
        StateId::Revoked,
        "revoked by the server".into(),
    ));
    Ok(r)
}
