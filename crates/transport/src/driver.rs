//! Drivers: run whole flows of either API over a transport, blocking ([`Driver`]) or async
//! (`AsyncDriver`, feature `tokio`).
//!
//! Every decision is login-core's [`Runner`]: which step comes next, when a throttled call
//! (429) is repeated, when to ask for an OTP, a captcha answer or the credentials, when a
//! refused OTP is asked again. A driver is the loop around it that does the I/O: it sends what
//! the runner says to send, sleeps when it says wait, puts its questions to an
//! [`Interaction`], and reports each state reached. The loop is written once, as an async
//! function over a private "send and sleep" capability; the blocking driver runs it with a
//! trivial executor whose futures are always ready (its transport blocks inside `send`), so
//! there is no runtime and no thread behind it.
//!
//! Each run is a `tracing` span `login_flow` (API, flow kind, outcome, error kind) and each
//! HTTP call inside it a child span `login_step` with OpenTelemetry's HTTP client field names;
//! each run and call is also counted in the `metrics` facade. [`crate::observe`] lists the
//! names. No header, body or token ever goes into a field or a label.
//!
//! Step-wise use, for a service that waits for a person: when the interaction answers `None`,
//! the run stops with [`StopReason::NoAnswer`] and the flow, which the service snapshots
//! (login-core's `Flow::to_snapshot`) and later finishes with [`Driver::resume`].

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use login_core::action::{Bank, Env};
use login_core::entropy::OsEntropy;
use login_core::runner::{Answer, Next, Question, RunPolicy, Runner};
use login_core::table::{Api, StateId};
use login_core::{Flow, Profile, Request, Response, RetryPolicy, Session, TransportError};
use tracing::Instrument;

use crate::observe;

#[cfg(feature = "tokio")]
use crate::AsyncTransport;
use crate::Transport;

pub use login_core::runner::{Prompt, StopReason, Stopped};

/// What a driver asks of the user (or of the service embedding it) and tells it.
///
/// Answers are synchronous: a service that must wait for a person answers `None`, snapshots the
/// flow it gets back in [`Stopped`] and resumes later (see the module docs).
pub trait Interaction {
    /// Answer `question`, or `None` to stop here (the flow is kept). After a refusal
    /// (`refused: true` in the question) `None` reports that refusal.
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer>;

    /// The flow reached a new state.
    fn state_changed(&mut self, _change: &StateChange) {}
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
    fn ask(&mut self, _question: &Question<'_>) -> Option<Answer> {
        None
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

#[cfg(feature = "tokio")]
struct AsyncExchange<'a, T>(&'a T);

#[cfg(feature = "tokio")]
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
    policy: RunPolicy,
    clock: fn() -> SystemTime,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            policy: RunPolicy::default(),
            clock: SystemTime::now,
        }
    }
}

impl Settings {
    /// One run in its `login_flow` span, counted when it starts and when it ends.
    async fn run<E: Exchange, I: Interaction + ?Sized>(
        &self,
        exchange: E,
        bank: Bank<'_>,
        runner: Runner,
        interaction: &mut I,
    ) -> Result<Flow, Stopped> {
        let api = bank.api();
        let flow = observe::FlowKind::of(&runner);
        let span = observe::flow_span(api, flow);
        observe::flow_started(api, flow);
        // Instrumented, so the span is entered on every poll and left at every await: the
        // HTTP spans are its children on any runtime, and it never leaks onto another task.
        let result = self
            .drive(exchange, bank, runner, interaction, api)
            .instrument(span.clone())
            .await;
        observe::flow_finished(&span, api, flow, &result);
        result
    }

    /// The one driver loop: does what the runner says until it is done or stops.
    async fn drive<E: Exchange, I: Interaction + ?Sized>(
        &self,
        exchange: E,
        bank: Bank<'_>,
        runner: Runner,
        interaction: &mut I,
        api: Api,
    ) -> Result<Flow, Stopped> {
        let mut runner = runner.policy(self.policy);
        // The runner's own `Env` holds the bank, fresh randomness and the time of each poll.
        let mut entropy = OsEntropy;
        loop {
            let now = (self.clock)();
            let retries = runner.retries();
            // The environment lives for the poll only: it borrows the randomness, which is not
            // `Send`, and must not be held across an await.
            let next = runner.poll(&mut Env::new(bank, &mut entropy, now));
            match next {
                Next::Send(request) => {
                    let sent = call(&exchange, request, retries, api).await;
                    match sent {
                        Ok(response) => runner.handle_response(&response, (self.clock)()),
                        Err(e) => runner.handle_transport_error(e),
                    }
                }
                Next::Wait(until) => {
                    let delay = until.duration_since(now).unwrap_or(Duration::ZERO);
                    tracing::info!(
                        delay_ms = delay.as_millis() as u64,
                        "throttled (429): repeating the call after Retry-After"
                    );
                    exchange.sleep(delay).await;
                }
                Next::Ask(question) => match interaction.ask(&question) {
                    Some(answer) => runner.answer(answer),
                    None => return Err(runner.pause()),
                },
                Next::Reached(state) => {
                    let api = runner_api(bank, state);
                    interaction.state_changed(&StateChange { api, state });
                }
                Next::Done(flow) => return Ok(flow),
                Next::Stopped(stopped) => return Err(stopped),
            }
        }
    }
}

/// The API a reached state belongs to: the bank's, or its forgot-password flow's.
fn runner_api(bank: Bank<'_>, state: StateId) -> Api {
    match state {
        StateId::ResetStart | StateId::OtpSent | StateId::Verified | StateId::PasswordReset => {
            Api::ForgotPassword
        }
        _ => bank.api(),
    }
}

/// One HTTP call in its `login_step` span, timed for the step histogram.
async fn call<E: Exchange>(
    exchange: &E,
    request: &Request,
    retries: u32,
    api: Api,
) -> Result<Response, TransportError> {
    let span = observe::step_span(api, request, retries);
    if retries > 0 {
        observe::step_repeated(api, request);
    }
    async {
        let started = Instant::now();
        let outcome = exchange.send(request).await;
        let elapsed = started.elapsed();
        let span = tracing::Span::current();
        observe::step_finished(&span, request, &outcome, elapsed);
        match &outcome {
            Ok(response) => tracing::debug!(
                http.response.status_code = response.status(),
                "step answered"
            ),
            Err(e) => tracing::debug!("error.type" = e.kind.as_str(), "step failed in transport"),
        }
        outcome
    }
    .instrument(span)
    .await
}

macro_rules! driver {
    (@run BlockingExchange, $e:expr) => { block_on($e) };
    (@run AsyncExchange, $e:expr) => { $e };
    ($(#[$doc:meta])* $name:ident, $bound:path, $exchange:ident, $interaction:ty, $($async:ident)?, $($await:tt)*) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<T> {
            transport: T,
            settings: Settings,
        }

        impl<T: $bound> $name<T> {
            /// A driver with the default policy (one 429 retry within 10 s, 3 OTP attempts, 3
            /// captcha rounds) and the system clock.
            pub fn new(transport: T) -> Self {
                Self { transport, settings: Settings::default() }
            }

            /// Sets the 429 retry policy (e.g. `TransportConfig::retry_policy()`).
            pub fn retry(mut self, retry: RetryPolicy) -> Self {
                self.settings.policy = self.settings.policy.retry(retry);
                self
            }

            /// Sets the whole run policy.
            pub fn policy(mut self, policy: RunPolicy) -> Self {
                self.settings.policy = policy;
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

            /// The driver clock's current time.
            pub fn now(&self) -> SystemTime {
                (self.settings.clock)()
            }

            /// Runs `runner` to its goal (a login, a password reset, a refresh, a revoke) and
            /// returns the flow in its final state.
            ///
            /// # Errors
            /// The run stopped: a step failed or the interaction gave no answer. The flow comes
            /// back inside unless the server ended it.
            pub $($async)? fn run(
                &self,
                bank: Bank<'_>,
                runner: Runner,
                interaction: &mut $interaction,
            ) -> Result<Flow, Stopped> {
                driver!(@run $exchange, self.settings.run($exchange(&self.transport), bank, runner, interaction) $($await)*)
            }

            /// Logs in (see [`Runner::login`] and [`Runner::ciam_login`]) and returns the session.
            ///
            /// # Errors
            /// As [`Self::run`]; a runner whose flow ends elsewhere (a password reset) stops with
            /// that flow.
            pub $($async)? fn login(
                &self,
                bank: Bank<'_>,
                runner: Runner,
                interaction: &mut $interaction,
            ) -> Result<Session, Stopped> {
                into_session(self.run(bank, runner, interaction) $($await)*)
            }

            /// Resumes a paused flow (a snapshot) to the end of its login.
            ///
            /// # Errors
            /// As [`Self::run`].
            pub $($async)? fn resume(
                &self,
                bank: Bank<'_>,
                flow: Flow,
                interaction: &mut $interaction,
            ) -> Result<Flow, Stopped> {
                self.run(bank, Runner::resume(flow), interaction) $($await)*
            }

            /// Refreshes a session; needs only its profile.
            ///
            /// # Errors
            /// The refresh failed; the session comes back inside unless the server ended it.
            pub $($async)? fn refresh(&self, profile: &Profile, session: Session) -> Result<Session, Stopped> {
                into_session(self.run(Bank::Profile(profile), Runner::refresh(session), &mut NoInteraction) $($await)*)
            }

            /// Revokes a session (local in the realm API) and returns the `Revoked` flow.
            ///
            /// # Errors
            /// The revoke failed; the session comes back inside unless the server ended it.
            pub $($async)? fn revoke(&self, profile: &Profile, session: Session) -> Result<Flow, Stopped> {
                self.run(Bank::Profile(profile), Runner::revoke(session), &mut NoInteraction) $($await)*
            }
        }
    };
}

/// A flow that must be a session: anything else is a stop that keeps it.
fn into_session(done: Result<Flow, Stopped>) -> Result<Session, Stopped> {
    done?.into_session().map_err(|flow| Stopped {
        reason: StopReason::Failed(login_core::Error::from(login_core::action::Misuse::RunOver)),
        flow: Some(flow),
    })
}

driver!(
    /// Runs flows over a blocking [`Transport`].
    ///
    /// ```no_run
    /// use login_core::realm::{RealmConfig, Start};
    /// use login_core::secret::{ClientSecret, Password};
    /// use login_core::{Bank, Runner};
    /// use login_transport::{Driver, NoInteraction, TransportConfig, UreqTransport};
    ///
    /// let transport = UreqTransport::new(TransportConfig::new("https://bank.example/internal-api/centaur")?)?;
    /// let driver = Driver::new(transport);
    /// let secret = ClientSecret::new(std::env::var("REALM_CLIENT_SECRET")?);
    /// let cfg = RealmConfig::new("cap", "cap-mobile", secret);
    /// let start = Start::new("alice", Password::new("from a prompt"));
    /// let session = driver.login(Bank::Realm(&cfg), Runner::login(start), &mut NoInteraction)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Driver, Transport, BlockingExchange, dyn Interaction, ,
);

#[cfg(feature = "tokio")]
driver!(
    /// Runs flows over an [`AsyncTransport`]; every future is `Send`. Feature `tokio` (on with
    /// `hyper`): 429 waits sleep on tokio's timer.
    ///
    /// ```no_run
    /// use login_core::realm::{RealmConfig, Start};
    /// use login_core::secret::{ClientSecret, Password};
    /// use login_core::{Bank, Runner};
    /// use login_transport::{AsyncDriver, HyperTransport, NoInteraction, TransportConfig};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let transport = HyperTransport::new(TransportConfig::new("https://bank.example/internal-api/centaur")?)?;
    /// let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new(std::env::var("REALM_CLIENT_SECRET")?));
    /// // One session (one connection) per flow.
    /// let driver = AsyncDriver::new(transport.session());
    /// let start = Runner::login(Start::new("alice", Password::new("pw")));
    /// let session = driver.login(Bank::Realm(&cfg), start, &mut NoInteraction).await?;
    /// # Ok(()) }
    /// ```
    AsyncDriver, AsyncTransport, AsyncExchange, dyn Interaction + Send, async, .await
);

#[cfg(all(test, feature = "tokio"))]
mod tests {
    use super::*;
    use login_core::realm::{RealmConfig, Start};
    use login_core::secret::{ClientSecret, Password};

    struct Never;

    impl AsyncTransport for Never {
        async fn send(&self, _request: &Request) -> Result<Response, TransportError> {
            Ok(Response::new(503, Vec::new()))
        }
    }

    fn assert_send<F: Future + Send>(f: F) -> F {
        f
    }

    /// The async driver's futures run in `tokio::spawn` and axum handlers: they must be `Send`.
    #[test]
    fn async_driver_futures_are_send() {
        let driver = AsyncDriver::new(Never);
        let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("s"));
        let start = Runner::login(Start::new("alice", Password::new("pw")));
        let mut interaction = NoInteraction;
        let run = assert_send(driver.login(Bank::Realm(&cfg), start, &mut interaction));
        let stopped = block_on_tokio(run).expect_err("503 stops the login");
        assert_eq!(stopped.kind(), Some(login_core::ErrorKind::ServerError));
        assert!(stopped.flow.is_some(), "a server fault keeps the flow");
    }

    fn block_on_tokio<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(f))
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }
}
