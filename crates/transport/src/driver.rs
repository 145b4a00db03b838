//! Drivers: run whole flows of either API over a transport, blocking ([`Driver`]) or async
//! ([`AsyncDriver`]).
//!
//! A driver sends each step's request, waits and repeats a call the server throttled (429, per
//! its [`RetryPolicy`]: the server did not process it), feeds the response back to login-core,
//! and moves on. It asks an [`Interaction`] for the OTP and the captcha answer and tells it of
//! every state change. Nothing else is ever repeated on its own: any other failure stops the flow
//! with a [`Stopped`] that keeps the state the flow can go on from.
//!
//! Each call runs in a `tracing` span `login_step` with `api`, `step`, `method`, `path`,
//! `status`, `duration_ms` and `retries` (no header, body or token ever goes into a field).
//!
//! Step-wise use, for a service that suspends while the user reads an OTP: when the interaction
//! returns `None` for the OTP, the flow stops with [`StopReason::NoAnswer`] and the `MfaPending`
//! state, which the service snapshots (login-core's `Flow`) and later finishes with
//! [`Driver::ciam_finish_mfa`] / [`AsyncDriver::ciam_finish_mfa`] (or the realm equivalents).
//! [`Driver::step`] runs any single step.
//!
//! The flows are written once, as async functions over a private "send" capability; the blocking
//! driver runs them with a trivial executor whose futures are always ready (its transport blocks
//! inside `send`), so there is no runtime and no thread behind it.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use login_core::ciam::{self, CiamConfig, Credentials, LoginOutcome};
use login_core::entropy::OsEntropy;
use login_core::forgot;
use login_core::realm::{self, LoginStarted, RealmConfig};
use login_core::seal::CredentialSealer;
use login_core::secret::{CaptchaAnswer, Otp, Password};
use login_core::table::{Api, StateId};
use login_core::{Error, ErrorKind, Failed, Pending, Request, Response, Step, TransportError};
use tracing::Instrument;

use crate::policy::RetryPolicy;
use crate::{AsyncTransport, Transport};

/// How many times one login fetches a new captcha after the server asked for one (400
/// `captcha_required` or `invalid_captcha`) before giving up.
pub const MAX_CAPTCHA_ROUNDS: u32 = 3;

/// What a driver asks of the user (or of the service embedding it) and tells it.
///
/// Answers are synchronous: a service that must wait for a person answers `None`, snapshots the
/// state it gets back in [`Stopped`] and finishes later (see the module docs).
pub trait Interaction {
    /// An OTP was sent: return it, or `None` to stop here (the flow keeps its state).
    fn otp(&mut self, prompt: &OtpPrompt<'_>) -> Option<Otp>;

    /// The server wants this captcha answered: return the answer, or `None` to stop here.
    fn captcha(&mut self, _image_png: &[u8]) -> Option<CaptchaAnswer> {
        None
    }

    /// Whether to fetch and answer a captcha before the first login challenge (otherwise only
    /// when the server asks for one).
    fn captcha_first(&self) -> bool {
        false
    }

    /// The flow reached a new state.
    fn state_changed(&mut self, _change: &StateChange) {}
}

/// The details shown to the user beside an OTP prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtpPrompt<'a> {
    /// Which API (and flow) asks.
    pub api: Api,
    /// Where the OTP went (`email`, `sms`), when the server said.
    pub channel: Option<&'a str>,
    /// The OTP reference the user sees beside the code, when the server gave one.
    pub ref_id: Option<&'a str>,
}

impl<'a> OtpPrompt<'a> {
    /// A prompt (for testing an [`Interaction`] of your own).
    pub fn new(api: Api, channel: Option<&'a str>, ref_id: Option<&'a str>) -> Self {
        Self {
            api,
            channel,
            ref_id,
        }
    }
}

/// A state a flow reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateChange {
    /// Which API (and flow).
    pub api: Api,
    /// The state reached.
    pub state: StateId,
}

impl StateChange {
    /// A state change (for testing an [`Interaction`] of your own).
    pub fn new(api: Api, state: StateId) -> Self {
        Self { api, state }
    }
}

/// An [`Interaction`] that answers nothing and ignores state changes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoInteraction;

impl Interaction for NoInteraction {
    fn otp(&mut self, _prompt: &OtpPrompt<'_>) -> Option<Otp> {
        None
    }
}

/// What the flow stopped waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt {
    /// A one-time password.
    Otp,
    /// A captcha answer.
    Captcha,
}

/// Why a driven flow stopped before its goal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StopReason {
    /// A step failed (server refusal, throttling after the bounded retries, transport failure).
    #[error(transparent)]
    Failed(#[from] Error),
    /// The interaction gave no answer: the flow waits at the returned state.
    #[error("no {} was supplied; the flow can resume from where it stopped", match .0 {
        Prompt::Otp => "one-time password",
        Prompt::Captcha => "captcha answer",
    })]
    NoAnswer(Prompt),
    /// login-core produced an outcome this driver does not know (a newer login-core).
    #[error("unsupported flow outcome: {0}")]
    Unsupported(&'static str),
}

/// A flow that stopped: why, and the state it can go on from (`None` when the server ended it).
pub struct Stopped<S> {
    /// Why it stopped.
    pub reason: StopReason,
    /// The state to continue from, when one survives.
    pub state: Option<S>,
}

impl<S> Stopped<S> {
    /// The login-core error, when a step failed.
    pub fn error(&self) -> Option<&Error> {
        match &self.reason {
            StopReason::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The error kind, when a step failed.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.error().map(Error::kind)
    }

    fn from_failed<X: Into<S>>(failed: Failed<X>) -> Self {
        Self {
            reason: StopReason::Failed(failed.error),
            state: failed.state.map(Into::into),
        }
    }

    /// A failure before the flow had a state to keep.
    fn before_start(error: Error) -> Self {
        Self {
            reason: StopReason::Failed(error),
            state: None,
        }
    }

    fn waiting(prompt: Prompt, state: impl Into<S>) -> Self {
        Self {
            reason: StopReason::NoAnswer(prompt),
            state: Some(state.into()),
        }
    }

    fn unsupported(what: &'static str) -> Self {
        Self {
            reason: StopReason::Unsupported(what),
            state: None,
        }
    }
}

impl<S> std::fmt::Debug for Stopped<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stopped")
            .field("reason", &self.reason)
            .field("state_kept", &self.state.is_some())
            .finish()
    }
}

impl<S> std::fmt::Display for Stopped<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.reason.fmt(f)
    }
}

impl<S> std::error::Error for Stopped<S> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.reason)
    }
}

/// The one thing the flows need from a driver: send a request, and wait.
trait Exchange {
    fn send(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send;
    fn sleep(&self, delay: Duration) -> impl Future<Output = ()> + Send;
}

struct BlockingExchange<'a, T>(&'a T);

impl<T: Transport> Exchange for BlockingExchange<'_, T> {
    fn send(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        std::future::ready(self.0.send(request))
    }

    fn sleep(&self, delay: Duration) -> impl Future<Output = ()> + Send {
        std::thread::sleep(delay);
        std::future::ready(())
    }
}

struct AsyncExchange<'a, T>(&'a T);

impl<T: AsyncTransport> Exchange for AsyncExchange<'_, T> {
    fn send(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send {
        self.0.send(request)
    }

    fn sleep(&self, delay: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(delay)
    }
}

/// Runs a future whose every await is ready at once (the blocking driver's flows).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // Not reached: blocking exchanges never return a pending future.
        std::thread::yield_now();
    }
}

/// Settings shared by both drivers.
#[derive(Debug, Clone, Copy)]
struct Settings {
    retry: RetryPolicy,
    clock: fn() -> SystemTime,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            clock: SystemTime::now,
        }
    }
}

struct Ctx<'a, E> {
    exchange: E,
    settings: &'a Settings,
}

fn notify(interaction: &mut (impl Interaction + ?Sized), api: Api, state: StateId) {
    interaction.state_changed(&StateChange { api, state });
}

impl<E: Exchange> Ctx<'_, E> {
    /// One step: send, repeat throttled calls within the policy, feed the response back.
    async fn step<S: Step>(
        &self,
        request: Request,
        pending: Pending<S>,
    ) -> Result<S::Next, Failed<S::State>> {
        let step = request.step();
        let span = tracing::info_span!(
            "login_step",
            api = step.api().as_str(),
            step = step.as_str(),
            method = request.method().as_str(),
            path = request.path(),
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            retries = tracing::field::Empty,
        );
        let work = async {
            let started = Instant::now();
            let mut retries = 0;
            let mut waited = Duration::ZERO;
            let outcome = loop {
                match self.exchange.send(&request).await {
                    Err(e) => break Err(e),
                    Ok(response) => {
                        match self
                            .settings
                            .retry
                            .delay_before_retry(&response, retries, waited)
                        {
                            Some(delay) => {
                                tracing::info!(
                                    delay_ms = delay.as_millis() as u64,
                                    "throttled (429): repeating the call after Retry-After"
                                );
                                self.exchange.sleep(delay).await;
                                retries += 1;
                                waited += delay;
                            }
                            None => break Ok(response),
                        }
                    }
                }
            };
            let span = tracing::Span::current();
            span.record("duration_ms", started.elapsed().as_millis() as u64);
            span.record("retries", retries);
            match outcome {
                Ok(response) => {
                    span.record("status", response.status());
                    tracing::debug!(status = response.status(), "step answered");
                    pending.receive(&response, (self.settings.clock)())
                }
                Err(e) => {
                    tracing::debug!(error = e.kind.as_str(), "step failed in transport");
                    Err(pending.fail(e))
                }
            }
        };
        work.instrument(span).await
    }

    async fn realm_login<I: Interaction + ?Sized>(
        &self,
        cfg: &RealmConfig,
        start: realm::Start,
        interaction: &mut I,
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        let (request, pending) = start.request_login(cfg);
        let challenged = match self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?
        {
            LoginStarted::Challenged(challenged) => challenged,
            LoginStarted::MfaPending(mfa) => {
                notify(interaction, Api::Realm, StateId::MfaPending);
                let prompt = OtpPrompt {
                    api: Api::Realm,
                    channel: None,
                    ref_id: mfa.ref_id(),
                };
                let Some(otp) = interaction.otp(&prompt) else {
                    return Err(Stopped::waiting(Prompt::Otp, mfa));
                };
                return self.realm_finish_mfa(cfg, mfa, otp, interaction).await;
            }
            _ => return Err(Stopped::unsupported("realm login outcome")),
        };
        notify(interaction, Api::Realm, StateId::Challenged);
        let (request, pending) = challenged.exchange(cfg);
        let tokened = self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?;
        notify(interaction, Api::Realm, StateId::Tokened);
        Ok(tokened)
    }

    async fn realm_finish_mfa<I: Interaction + ?Sized>(
        &self,
        cfg: &RealmConfig,
        mfa: realm::MfaPending,
        otp: Otp,
        interaction: &mut I,
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        let (request, pending) = mfa.submit_otp(cfg, otp);
        let tokened = self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?;
        notify(interaction, Api::Realm, StateId::Tokened);
        Ok(tokened)
    }

    async fn forgot_password<I: Interaction + ?Sized>(
        &self,
        cfg: &RealmConfig,
        start: forgot::Start,
        new_password: Password,
        interaction: &mut I,
    ) -> Result<forgot::PasswordReset, Stopped<forgot::State>> {
        let (request, pending) = start.request_reset(cfg);
        let sent = self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?;
        notify(interaction, Api::ForgotPassword, StateId::OtpSent);
        let prompt = OtpPrompt {
            api: Api::ForgotPassword,
            channel: None,
            ref_id: Some(sent.ref_id()),
        };
        let Some(otp) = interaction.otp(&prompt) else {
            return Err(Stopped::waiting(Prompt::Otp, sent));
        };
        let (request, pending) = sent.verify(cfg, otp);
        let verified = self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?;
        notify(interaction, Api::ForgotPassword, StateId::Verified);
        let (request, pending) = verified.reset(cfg, new_password);
        let done = self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?;
        notify(interaction, Api::ForgotPassword, StateId::PasswordReset);
        Ok(done)
    }

    async fn ciam_login<I: Interaction + ?Sized>(
        &self,
        cfg: &CiamConfig,
        sealer: &dyn CredentialSealer,
        mut credentials: Credentials,
        interaction: &mut I,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        // A header value with CR or LF would otherwise reach the HTTP library, whose refusal
        // says less (and some libraries might send it).
        cfg.check().map_err(Stopped::before_start)?;
        let start = ciam::Start::new(&mut OsEntropy).map_err(Stopped::before_start)?;
        let (request, pending) = start.authorize(cfg);
        let mut authorized = self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?;
        notify(interaction, Api::Ciam, StateId::Authorized);
        let mut want_captcha = interaction.captcha_first();
        let mut captcha_rounds = 0;
        let challenged = loop {
            if want_captcha {
                captcha_rounds += 1;
                let (request, pending) = authorized.fetch_captcha(cfg);
                authorized = self
                    .step(request, pending)
                    .await
                    .map_err(Stopped::from_failed)?;
                let Some(captcha) = authorized.captcha() else {
                    return Err(Stopped::unsupported("captcha step gave no captcha"));
                };
                let Some(answer) = interaction.captcha(captcha.image_png()) else {
                    return Err(Stopped::waiting(Prompt::Captcha, authorized));
                };
                credentials.set_captcha_answer(Some(answer));
            }
            let (request, pending) = authorized
                .submit_credentials(
                    cfg,
                    sealer,
                    &credentials,
                    &mut OsEntropy,
                    (self.settings.clock)(),
                )
                .map_err(Stopped::from_failed)?;
            match self.step(request, pending).await {
                Ok(LoginOutcome::Challenged(challenged)) => break challenged,
                Ok(LoginOutcome::MfaPending(mfa)) => {
                    notify(interaction, Api::Ciam, StateId::MfaPending);
                    let prompt = OtpPrompt {
                        api: Api::Ciam,
                        channel: Some(mfa.channel().as_str()),
                        ref_id: mfa.ref_id(),
                    };
                    let Some(otp) = interaction.otp(&prompt) else {
                        return Err(Stopped::waiting(Prompt::Otp, mfa));
                    };
                    return self.ciam_finish_mfa(cfg, mfa, otp, interaction).await;
                }
                Ok(_) => return Err(Stopped::unsupported("login challenge outcome")),
                // The server wants a (new) captcha: the challenge is still valid, ask again.
                Err(Failed {
                    error,
                    state: Some(again),
                }) if matches!(
                    error.kind(),
                    ErrorKind::CaptchaRequired | ErrorKind::InvalidCaptcha
                ) && captcha_rounds < MAX_CAPTCHA_ROUNDS =>
                {
                    tracing::info!(
                        reason = error.kind().as_str(),
                        "the server asked for a captcha"
                    );
                    authorized = again;
                    want_captcha = true;
                }
                Err(failed) => return Err(Stopped::from_failed(failed)),
            }
        };
        notify(interaction, Api::Ciam, StateId::Challenged);
        let (request, pending) = challenged.exchange(cfg);
        let tokened = self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?;
        notify(interaction, Api::Ciam, StateId::Tokened);
        Ok(tokened)
    }

    async fn ciam_finish_mfa<I: Interaction + ?Sized>(
        &self,
        cfg: &CiamConfig,
        mfa: ciam::MfaPending,
        otp: Otp,
        interaction: &mut I,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        let (request, pending) = mfa.verify(cfg, otp);
        let challenged = self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?;
        notify(interaction, Api::Ciam, StateId::Challenged);
        let (request, pending) = challenged.exchange(cfg);
        let tokened = self
            .step(request, pending)
            .await
            .map_err(Stopped::from_failed)?;
        notify(interaction, Api::Ciam, StateId::Tokened);
        Ok(tokened)
    }
}

/// Runs flows over a blocking [`Transport`].
///
/// ```no_run
/// use login_core::realm::{RealmConfig, Start};
/// use login_core::secret::{ClientSecret, Otp, Password};
/// use login_transport::{Driver, Interaction, OtpPrompt, TransportConfig, UreqTransport};
///
/// struct Prompt;
/// impl Interaction for Prompt {
///     fn otp(&mut self, prompt: &OtpPrompt<'_>) -> Option<Otp> {
///         eprintln!("OTP (ref {:?})?", prompt.ref_id);
///         let mut line = String::new();
///         std::io::stdin().read_line(&mut line).ok()?;
///         Some(Otp::new(line.trim()))
///     }
/// }
///
/// let transport = UreqTransport::new(TransportConfig::new("https://bank.example/internal-api/centaur")?)?;
/// let driver = Driver::new(transport);
/// let secret = ClientSecret::new(std::env::var("REALM_CLIENT_SECRET")?);
/// let cfg = RealmConfig::new("cap", "cap-mobile", secret);
/// let tokened = driver.realm_login(&cfg, Start::new("alice", Password::new("from a prompt")), &mut Prompt)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Driver<T> {
    transport: T,
    settings: Settings,
}

impl<T: Transport> Driver<T> {
    /// A driver with the default 429 policy (one retry, at most 10 s of waiting) and the system
    /// clock.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            settings: Settings::default(),
        }
    }

    /// Sets the 429 retry policy (e.g. `TransportConfig::retry_policy()`).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry = policy;
        self
    }

    /// Sets the clock that stamps responses (expiry instants are counted from it).
    pub fn clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.settings.clock = clock;
        self
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub(crate) fn now(&self) -> SystemTime {
        (self.settings.clock)()
    }

    fn ctx(&self) -> Ctx<'_, BlockingExchange<'_, T>> {
        Ctx {
            exchange: BlockingExchange(&self.transport),
            settings: &self.settings,
        }
    }

    /// Runs one step: sends `request` (repeating it only after a 429, within the policy) and
    /// feeds the response to `pending`.
    pub fn step<S: Step>(
        &self,
        request: Request,
        pending: Pending<S>,
    ) -> Result<S::Next, Failed<S::State>> {
        block_on(self.ctx().step(request, pending))
    }

    /// Realm login, with the OTP from `interaction` when the server asks for one.
    pub fn realm_login(
        &self,
        cfg: &RealmConfig,
        start: realm::Start,
        interaction: &mut dyn Interaction,
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        block_on(self.ctx().realm_login(cfg, start, interaction))
    }

    /// Finishes a realm login suspended at `MfaPending`.
    pub fn realm_finish_mfa(
        &self,
        cfg: &RealmConfig,
        mfa: realm::MfaPending,
        otp: Otp,
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        block_on(
            self.ctx()
                .realm_finish_mfa(cfg, mfa, otp, &mut NoInteraction),
        )
    }

    /// Realm refresh (`PATCH .../token`); a failure keeps the session unless it ended.
    pub fn realm_refresh(
        &self,
        cfg: &RealmConfig,
        tokened: realm::Tokened,
    ) -> Result<realm::Tokened, Failed<realm::Tokened>> {
        let (request, pending) = tokened.refresh(cfg);
        self.step(request, pending)
    }

    /// Forgot password: request the reset OTP, verify it, set `new_password`.
    pub fn forgot_password(
        &self,
        cfg: &RealmConfig,
        start: forgot::Start,
        new_password: Password,
        interaction: &mut dyn Interaction,
    ) -> Result<forgot::PasswordReset, Stopped<forgot::State>> {
        block_on(
            self.ctx()
                .forgot_password(cfg, start, new_password, interaction),
        )
    }

    /// Internet-banking login: authorize, captcha when asked, login challenge, 2FA when the
    /// server detects an anomaly, access token.
    pub fn ciam_login(
        &self,
        cfg: &CiamConfig,
        sealer: &dyn CredentialSealer,
        credentials: Credentials,
        interaction: &mut dyn Interaction,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        block_on(self.ctx().ciam_login(cfg, sealer, credentials, interaction))
    }

    /// Finishes an internet-banking login suspended at `MfaPending`.
    pub fn ciam_finish_mfa(
        &self,
        cfg: &CiamConfig,
        mfa: ciam::MfaPending,
        otp: Otp,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        block_on(
            self.ctx()
                .ciam_finish_mfa(cfg, mfa, otp, &mut NoInteraction),
        )
    }

    /// Internet-banking refresh.
    pub fn ciam_refresh(
        &self,
        cfg: &CiamConfig,
        tokened: ciam::Tokened,
    ) -> Result<ciam::Tokened, Failed<ciam::Tokened>> {
        let (request, pending) = tokened.refresh(cfg);
        self.step(request, pending)
    }

    /// Internet-banking revoke.
    pub fn ciam_revoke(
        &self,
        cfg: &CiamConfig,
        tokened: ciam::Tokened,
    ) -> Result<ciam::Revoked, Failed<ciam::Tokened>> {
        let (request, pending) = tokened.revoke(cfg);
        self.step(request, pending)
    }
}

/// Runs flows over an [`AsyncTransport`]; every future is `Send`.
///
/// ```no_run
/// use login_core::realm::{RealmConfig, Start};
/// use login_core::secret::{ClientSecret, Password};
/// use login_transport::{AsyncDriver, HyperTransport, NoInteraction, TransportConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = HyperTransport::new(TransportConfig::new("https://bank.example/internal-api/centaur")?)?;
/// let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new(std::env::var("REALM_CLIENT_SECRET")?));
/// // One session (one connection) per flow.
/// let driver = AsyncDriver::new(transport.session());
/// let tokened = driver.realm_login(&cfg, Start::new("alice", Password::new("pw")), &mut NoInteraction).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AsyncDriver<T> {
    transport: T,
    settings: Settings,
}

impl<T: AsyncTransport> AsyncDriver<T> {
    /// A driver with the default 429 policy and the system clock.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            settings: Settings::default(),
        }
    }

    /// Sets the 429 retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry = policy;
        self
    }

    /// Sets the clock that stamps responses.
    pub fn clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.settings.clock = clock;
        self
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub(crate) fn now(&self) -> SystemTime {
        (self.settings.clock)()
    }

    fn ctx(&self) -> Ctx<'_, AsyncExchange<'_, T>> {
        Ctx {
            exchange: AsyncExchange(&self.transport),
            settings: &self.settings,
        }
    }

    /// Runs one step (see [`Driver::step`]).
    pub async fn step<S>(
        &self,
        request: Request,
        pending: Pending<S>,
    ) -> Result<S::Next, Failed<S::State>>
    where
        S: Step + Send,
    {
        self.ctx().step(request, pending).await
    }

    /// Realm login (see [`Driver::realm_login`]).
    pub async fn realm_login(
        &self,
        cfg: &RealmConfig,
        start: realm::Start,
        interaction: &mut (dyn Interaction + Send),
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        self.ctx().realm_login(cfg, start, interaction).await
    }

    /// Finishes a realm login suspended at `MfaPending`.
    pub async fn realm_finish_mfa(
        &self,
        cfg: &RealmConfig,
        mfa: realm::MfaPending,
        otp: Otp,
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        self.ctx()
            .realm_finish_mfa(cfg, mfa, otp, &mut NoInteraction)
            .await
    }

    /// Realm refresh.
    pub async fn realm_refresh(
        &self,
        cfg: &RealmConfig,
        tokened: realm::Tokened,
    ) -> Result<realm::Tokened, Failed<realm::Tokened>> {
        let (request, pending) = tokened.refresh(cfg);
        self.step(request, pending).await
    }

    /// Forgot password (see [`Driver::forgot_password`]).
    pub async fn forgot_password(
        &self,
        cfg: &RealmConfig,
        start: forgot::Start,
        new_password: Password,
        interaction: &mut (dyn Interaction + Send),
    ) -> Result<forgot::PasswordReset, Stopped<forgot::State>> {
        self.ctx()
            .forgot_password(cfg, start, new_password, interaction)
            .await
    }

    /// Internet-banking login (see [`Driver::ciam_login`]).
    pub async fn ciam_login(
        &self,
        cfg: &CiamConfig,
        sealer: &dyn CredentialSealer,
        credentials: Credentials,
        interaction: &mut (dyn Interaction + Send),
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        self.ctx()
            .ciam_login(cfg, sealer, credentials, interaction)
            .await
    }

    /// Finishes an internet-banking login suspended at `MfaPending`.
    pub async fn ciam_finish_mfa(
        &self,
        cfg: &CiamConfig,
        mfa: ciam::MfaPending,
        otp: Otp,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        self.ctx()
            .ciam_finish_mfa(cfg, mfa, otp, &mut NoInteraction)
            .await
    }

    /// Internet-banking refresh.
    pub async fn ciam_refresh(
        &self,
        cfg: &CiamConfig,
        tokened: ciam::Tokened,
    ) -> Result<ciam::Tokened, Failed<ciam::Tokened>> {
        let (request, pending) = tokened.refresh(cfg);
        self.step(request, pending).await
    }

    /// Internet-banking revoke.
    pub async fn ciam_revoke(
        &self,
        cfg: &CiamConfig,
        tokened: ciam::Tokened,
    ) -> Result<ciam::Revoked, Failed<ciam::Tokened>> {
        let (request, pending) = tokened.revoke(cfg);
        self.step(request, pending).await
    }
}
