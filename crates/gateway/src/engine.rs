//! The logins and sessions behind both faces (the JSON API and the page): login-core's
//! [`Runner`] through [`AsyncDriver::run`], paused at every question, the paused flow kept in
//! login-store under a [`LoginId`], and sessions kept under a [`SessionId`] with one refresh
//! across instances ([`SharedTokenKeeper`]).
//!
//! A step:
//!
//! 1. **start**: a runner for the chosen API runs until it is done (a session), asks for an
//!    OTP or a captcha answer (the interaction answers `None`: the flow is stored and the
//!    question goes to the client), or fails (nothing is stored: a realm `Start` holds the
//!    password and is never stored).
//! 2. **resume** (`otp`, `captcha`): the flow is taken from the store (exactly one caller gets
//!    it; others get `login_busy`, then `not_found`), the answer handed to the runner, and the
//!    run settles the same way. A refusal the user can retry (a wrong OTP or captcha, a bank
//!    or network hiccup) puts the flow the runner gave back under the same id; anything else
//!    ends the login.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use login_core::action::Bank;
use login_core::ciam::{self, CiamConfig, Credentials};
use login_core::realm::{self, RealmConfig};
use login_core::runner::{Answer, Question, Runner, StopReason, Stopped};
use login_core::seal::JweSealer;
use login_core::secret::{AccessToken, CaptchaAnswer, Otp, Password};
use login_core::table::{Api, StepId};
use login_core::{ErrorKind, Flow, Profile, Request, Response, Session, TransportError};
use login_store::{
    LoginId, SessionId, SharedKeeperError, SharedKeeperOptions, SharedTokenKeeper, Store,
    StoreError,
};
use login_transport::{AsyncDriver, AsyncTransport, HyperTransport, Interaction};

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::records::Records;

/// Which bank API a login uses: `"cap"` (realm) or `"ciam"` (internet banking).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiChoice {
    /// The realm API.
    Cap,
    /// The internet-banking API.
    Ciam,
}

impl ApiChoice {
    /// `cap` or `ciam`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiChoice::Cap => "cap",
            ApiChoice::Ciam => "ciam",
        }
    }

    fn of_flow(flow: &Flow) -> Self {
        match flow {
            Flow::Ciam(_) => ApiChoice::Ciam,
            Flow::Realm(_) | Flow::ForgotPassword(_) => ApiChoice::Cap,
        }
    }
}

/// Where a login step left the login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    /// Logged in: the session's id and when the session ends (its refresh token's expiry).
    Authenticated {
        /// The session's id.
        session: SessionId,
        /// When the session ends.
        expires_at: SystemTime,
    },
    /// Waiting for an OTP.
    OtpRequired {
        /// The login's id.
        login: LoginId,
        /// Where the OTP went, when the bank said (`sms`, `email`).
        channel: Option<String>,
        /// The reference shown beside the code, when the bank gave one.
        ref_id: Option<String>,
    },
    /// Waiting for a captcha answer (and the password again).
    CaptchaRequired {
        /// The login's id.
        login: LoginId,
        /// The captcha image (PNG).
        image_png: Vec<u8>,
    },
}

/// A bank connection: a hyper transport (a session per call, connections pooled), timing each
/// call and counting refreshes.
#[derive(Clone)]
pub(crate) struct BankLink {
    transport: HyperTransport,
    metrics: Metrics,
}

impl AsyncTransport for BankLink {
    async fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let step = request.step();
        let started = Instant::now();
        let outcome = self.transport.session().send(request).await;
        self.metrics
            .bank_call(step.api().as_str(), step.as_str(), started.elapsed());
        match step {
            StepId::RealmRefresh => self.metrics.refresh("cap"),
            StepId::CiamRefresh => self.metrics.refresh("ciam"),
            _ => {}
        }
        outcome
    }
}

/// The configured banks.
pub(crate) struct Banks {
    pub cap: Option<(RealmConfig, BankLink)>,
    pub ciam: Option<(CiamConfig, JweSealer, BankLink)>,
}

impl Banks {
    pub(crate) fn new(
        config: &crate::GatewayConfig,
        metrics: &Metrics,
    ) -> Result<Self, crate::StartError> {
        let link =
            |transport: &login_transport::TransportConfig| -> Result<BankLink, crate::StartError> {
                Ok(BankLink {
                    transport: HyperTransport::new(transport.clone()).map_err(|e| {
                        crate::StartError::Config(crate::ConfigError::Invalid(e.to_string()))
                    })?,
                    metrics: metrics.clone(),
                })
            };
        Ok(Self {
            cap: match &config.cap {
                Some(b) => Some((b.config.clone(), link(&b.transport)?)),
                None => None,
            },
            ciam: match &config.ciam {
                Some(b) => Some((b.config.clone(), b.sealer.clone(), link(&b.transport)?)),
                None => None,
            },
        })
    }

    fn bank(&self, api: ApiChoice) -> Result<(Bank<'_>, &BankLink), ApiError> {
        let missing = || {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "unsupported_api",
                format!("this gateway does not offer the `{}` API", api.as_str()),
            )
        };
        match api {
            ApiChoice::Cap => self
                .cap
                .as_ref()
                .map(|(cfg, link)| (Bank::Realm(cfg), link))
                .ok_or_else(missing),
            ApiChoice::Ciam => self
                .ciam
                .as_ref()
                .map(|(cfg, sealer, link)| (Bank::Ciam(cfg, sealer), link))
                .ok_or_else(missing),
        }
    }

    fn profile(&self, api: Api) -> Result<(Profile, &BankLink), ApiError> {
        let missing =
            || ApiError::internal("a stored session of an API this gateway does not offer");
        match api {
            Api::Ciam => self
                .ciam
                .as_ref()
                .map(|(cfg, _, link)| (Profile::Ciam(cfg.profile().clone()), link))
                .ok_or_else(missing),
            _ => self
                .cap
                .as_ref()
                .map(|(cfg, link)| (Profile::Realm(cfg.profile().clone()), link))
                .ok_or_else(missing),
        }
    }
}

/// What the runner asked when it paused (copied out: the question borrows the flow).
#[derive(Default)]
struct Pause {
    asked: Option<Asked>,
}

enum Asked {
    Otp {
        channel: Option<String>,
        ref_id: Option<String>,
    },
    Captcha(Vec<u8>),
    Other,
}

impl Interaction for Pause {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        self.asked = Some(match question {
            Question::Otp {
                channel, ref_id, ..
            } => Asked::Otp {
                channel: channel.map(str::to_owned),
                ref_id: ref_id.map(str::to_owned),
            },
            Question::Captcha { image_png, .. } => Asked::Captcha(image_png.to_vec()),
            _ => Asked::Other,
        });
        None
    }
}

/// A flow a person can go on with: paused at its OTP or its captcha.
fn resumable(flow: &Flow) -> bool {
    matches!(
        flow,
        Flow::Realm(realm::State::MfaPending(_))
            | Flow::Ciam(ciam::State::MfaPending(_) | ciam::State::CaptchaShown(_))
    )
}

type Keeper = SharedTokenKeeper<BankLink>;

/// The keepers of sessions with a request in flight on this instance: concurrent token
/// requests for one session share one keeper (so they queue locally behind one refresh), and a
/// keeper goes away with its last request.
#[derive(Default)]
struct Keepers {
    live: HashMap<SessionId, Weak<Keeper>>,
    purge_at: usize,
}

/// Logins and sessions.
pub(crate) struct Engine {
    pub banks: Banks,
    pub store: Store,
    pub records: Records,
    pub metrics: Metrics,
    pub clock: fn() -> SystemTime,
    pub refresh_margin: Duration,
    pub keeper_options: SharedKeeperOptions,
    keepers: Mutex<Keepers>,
}

/// Whether a resumed login is an existing one (taken from the store) or a new one.
enum Origin<'a> {
    Start {
        username: &'a str,
    },
    Resumed {
        login: &'a LoginId,
        username: Option<&'a str>,
    },
}

impl Engine {
    pub(crate) fn new(
        banks: Banks,
        store: Store,
        records: Records,
        metrics: Metrics,
        clock: fn() -> SystemTime,
        refresh_margin: Duration,
    ) -> Self {
        Self {
            banks,
            store,
            records,
            metrics,
            clock,
            refresh_margin,
            keeper_options: SharedKeeperOptions::default().margin(refresh_margin),
            keepers: Mutex::new(Keepers {
                live: HashMap::new(),
                purge_at: 1024,
            }),
        }
    }

    fn driver(&self, link: &BankLink) -> AsyncDriver<BankLink> {
        AsyncDriver::new(link.clone()).clock(self.clock)
    }

    /// Starts a login.
    pub(crate) async fn start(
        &self,
        api: ApiChoice,
        username: &str,
        password: Password,
    ) -> Result<LoginStep, ApiError> {
        let started = Instant::now();
        let (bank, link) = self.banks.bank(api)?;
        self.metrics.login_started(api.as_str());
        let secret = password.expose().to_owned();
        let runner = match api {
            ApiChoice::Cap => Runner::login(realm::Start::new(username, password)),
            ApiChoice::Ciam => Runner::ciam_login(Credentials::new(username, password)),
        };
        let mut pause = Pause::default();
        let outcome = self
            .metrics
            .recording(self.driver(link).run(bank, runner, &mut pause))
            .await;
        let step = self
            .settle(api, Origin::Start { username }, outcome, pause, &[&secret])
            .await;
        self.metrics.step("start", started.elapsed());
        step
    }

    /// Resumes a login paused for its OTP.
    pub(crate) async fn otp(&self, login: &LoginId, otp: Otp) -> Result<LoginStep, ApiError> {
        let started = Instant::now();
        let secret = otp.expose().to_owned();
        let step = self
            .resume(login, Prompt::Otp, Answer::Otp(otp), None, &[&secret])
            .await;
        self.metrics.step("otp", started.elapsed());
        step
    }

    /// Resumes a login paused for its captcha, with the password again.
    pub(crate) async fn captcha(
        &self,
        login: &LoginId,
        answer: CaptchaAnswer,
        password: Password,
    ) -> Result<LoginStep, ApiError> {
        let started = Instant::now();
        let secrets = [answer.expose().to_owned(), password.expose().to_owned()];
        let step = self
            .resume(
                login,
                Prompt::Captcha,
                Answer::Captcha(answer),
                Some(password),
                &[&secrets[0], &secrets[1]],
            )
            .await;
        self.metrics.step("captcha", started.elapsed());
        step
    }

    async fn resume(
        &self,
        login: &LoginId,
        prompt: Prompt,
        answer: Answer,
        password: Option<Password>,
        secrets: &[&str],
    ) -> Result<LoginStep, ApiError> {
        let logins = self.store.logins();
        let flow = match logins.take(login).await {
            Ok(flow) => flow,
            Err(e) => {
                let api = "unknown";
                self.store_failed(&e);
                self.metrics.login_failed(api, store_kind(&e));
                return Err(ApiError::from_store(&e, "login"));
            }
        };
        let api = ApiChoice::of_flow(&flow);
        let waits_for = match &flow {
            Flow::Ciam(ciam::State::CaptchaShown(_)) => Some(Prompt::Captcha),
            f if resumable(f) => Some(Prompt::Otp),
            _ => None,
        };
        if waits_for != Some(prompt) {
            // Untouched: put it back as it was.
            self.put_back(login, &flow).await?;
            self.metrics.login_failed(api.as_str(), "wrong_step");
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "wrong_step",
                match waits_for {
                    Some(Prompt::Captcha) => {
                        "this login waits for a captcha answer: POST /v1/logins/{login}/captcha"
                    }
                    _ => "this login waits for an OTP: POST /v1/logins/{login}/otp",
                },
            ));
        }
        let (bank, link) = match self.banks.bank(api) {
            Ok(b) => b,
            Err(e) => {
                self.put_back(login, &flow).await?;
                return Err(e);
            }
        };
        let mut runner = Runner::resume(flow);
        let mut username = None;
        if let Some(password) = password {
            // The captcha goes with the credentials again: the username kept at the pause.
            let name = match self.records.get(&self.store, login).await {
                Ok(Some(name)) => name,
                Ok(None) => {
                    self.end(login, false).await;
                    return Err(ApiError::not_found("login"));
                }
                Err(e) => {
                    self.store_failed(&e);
                    // Not resumed: the flow goes back for a retry once the store answers.
                    if let Some(flow) = runner_flow(runner) {
                        let _ = self.put_back(login, &flow).await;
                    }
                    return Err(ApiError::from_store(&e, "login"));
                }
            };
            runner = runner.credentials(Credentials::new(name.as_str(), password));
            username = Some(name);
        }
        runner.answer(answer);
        let mut pause = Pause::default();
        let outcome = self
            .metrics
            .recording(self.driver(link).run(bank, runner, &mut pause))
            .await;
        self.settle(
            api,
            Origin::Resumed {
                login,
                username: username.as_deref(),
            },
            outcome,
            pause,
            secrets,
        )
        .await
    }

    /// Where a run ended: a session, a pause to store, or an error (the flow kept when the user
    /// can retry).
    async fn settle(
        &self,
        api: ApiChoice,
        origin: Origin<'_>,
        outcome: Result<Flow, Stopped>,
        pause: Pause,
        secrets: &[&str],
    ) -> Result<LoginStep, ApiError> {
        let result = self
            .settle_inner(api, &origin, outcome, pause, secrets)
            .await;
        match &result {
            Ok(LoginStep::Authenticated { .. }) => self.metrics.login_finished(api.as_str()),
            Ok(_) => {}
            Err(e) => self.metrics.login_failed(api.as_str(), e.kind()),
        }
        result
    }

    async fn settle_inner(
        &self,
        api: ApiChoice,
        origin: &Origin<'_>,
        outcome: Result<Flow, Stopped>,
        pause: Pause,
        secrets: &[&str],
    ) -> Result<LoginStep, ApiError> {
        let stopped = match outcome {
            Ok(flow) => {
                let ended = async {
                    if let Origin::Resumed { login, username } = origin {
                        self.end(login, username.is_some()).await;
                    }
                };
                return match flow.into_session() {
                    // Independent writes: ending the login and storing the session go together.
                    Ok(session) => tokio::join!(ended, self.new_session(&session)).1,
                    Err(flow) => {
                        ended.await;
                        Err(ApiError::internal(format!(
                            "the login ended in state {} instead of a session",
                            flow.state_id().as_str()
                        )))
                    }
                };
            }
            Err(stopped) => stopped,
        };
        let Stopped { reason, flow } = stopped;
        match reason {
            StopReason::NoAnswer(_) => {
                let Some(flow) = flow else {
                    return Err(ApiError::internal("a paused login without its flow"));
                };
                match pause.asked {
                    Some(Asked::Otp { channel, ref_id }) => {
                        // Past its captcha: the username kept for it goes.
                        let username = match origin {
                            Origin::Resumed { username, .. } => *username,
                            Origin::Start { .. } => None,
                        };
                        let login = self.keep(origin, &flow, username).await?;
                        Ok(LoginStep::OtpRequired {
                            login,
                            channel,
                            ref_id,
                        })
                    }
                    Some(Asked::Captcha(image_png)) => {
                        let username = match origin {
                            Origin::Start { username } => Some(*username),
                            Origin::Resumed { username, .. } => *username,
                        };
                        let login = self.keep(origin, &flow, username).await?;
                        Ok(LoginStep::CaptchaRequired { login, image_png })
                    }
                    _ => {
                        if let Origin::Resumed { login, username } = origin {
                            self.end(login, username.is_some()).await;
                        }
                        Err(ApiError::internal(
                            "the login asked for something this gateway cannot ask a person",
                        ))
                    }
                }
            }
            StopReason::Failed(error) => {
                let mut api_error = ApiError::from_engine(&error).redacted(secrets);
                tracing::info!(
                    api = api.as_str(),
                    error = error.kind().as_str(),
                    "login step refused"
                );
                match (origin, flow) {
                    (Origin::Resumed { login, username }, Some(flow))
                        if resumable(&flow) && !error.ends_flow() =>
                    {
                        // A wrong OTP or captcha (or a hiccup): the user tries again on the same id.
                        if let Flow::Ciam(ciam::State::CaptchaShown(shown)) = &flow {
                            api_error =
                                api_error.with_captcha(shown.captcha().image_png().to_vec());
                        }
                        let kept = match (&flow, username) {
                            (Flow::Ciam(ciam::State::CaptchaShown(_)), _) => Ok(()),
                            (_, Some(_)) => self.records.remove(login).await,
                            _ => Ok(()),
                        };
                        if let Err(e) = kept {
                            self.store_failed(&e);
                        }
                        self.put_back(login, &flow).await?;
                    }
                    (Origin::Resumed { login, username }, _) => {
                        self.end(login, username.is_some()).await;
                    }
                    (Origin::Start { .. }, _) => {}
                }
                if error.kind() == ErrorKind::InvalidCaptcha && api_error.captcha_png().is_none() {
                    tracing::debug!("a refused captcha without a new one to show");
                }
                Err(api_error)
            }
        }
    }

    /// Stores a paused flow: under a new id for a new login, put back under its id otherwise.
    /// `username` is kept beside a flow paused at its captcha.
    async fn keep(
        &self,
        origin: &Origin<'_>,
        flow: &Flow,
        username: Option<&str>,
    ) -> Result<LoginId, ApiError> {
        let at_captcha = matches!(flow, Flow::Ciam(ciam::State::CaptchaShown(_)));
        let login = match origin {
            Origin::Start { .. } => LoginId::generate()
                .map_err(|_| ApiError::internal("the system random number generator failed"))?,
            Origin::Resumed { login, .. } => (*login).clone(),
        };
        let records = match (at_captcha, username) {
            (true, Some(name)) => {
                self.records
                    .put(
                        &self.store,
                        &login,
                        name,
                        self.store.options().get_login_ttl(),
                    )
                    .await
            }
            (true, None) => Err(StoreError::Corrupt("a captcha pause without a username")),
            (false, Some(_)) => self.records.remove(&login).await,
            (false, None) => Ok(()),
        };
        if let Err(e) = records {
            self.store_failed(&e);
            if let Origin::Resumed { login, .. } = origin {
                // Lost: it cannot be resumed without its username.
                self.end(login, true).await;
            }
            return Err(ApiError::from_store(&e, "login"));
        }
        let stored = match origin {
            Origin::Start { .. } => self.store.logins().put(&login, flow).await,
            Origin::Resumed { .. } => self.store.logins().put_back(&login, flow).await,
        };
        match stored {
            Ok(()) => Ok(login),
            Err(e) => {
                self.store_failed(&e);
                Err(ApiError::from_store(&e, "login"))
            }
        }
    }

    async fn put_back(&self, login: &LoginId, flow: &Flow) -> Result<(), ApiError> {
        self.store
            .logins()
            .put_back(login, flow)
            .await
            .map_err(|e| {
                self.store_failed(&e);
                ApiError::from_store(&e, "login")
            })
    }

    /// Ends a taken login: later takes get `not_found`; its username record goes too when it
    /// may have one (a login resumed at its captcha). Failures are logged only: the resume
    /// lease ends the mark anyway, and the record expires with the login.
    async fn end(&self, login: &LoginId, has_record: bool) {
        let records = async {
            if has_record {
                self.records.remove(login).await
            } else {
                Ok(())
            }
        };
        let logins = self.store.logins();
        let (finished, removed) = tokio::join!(logins.finish(login), records);
        if let Err(e) = finished {
            self.store_failed(&e);
            tracing::warn!(error = %e, "could not finish a login");
        }
        if let Err(e) = removed {
            self.store_failed(&e);
        }
    }

    async fn new_session(&self, session: &Session) -> Result<LoginStep, ApiError> {
        let id = SessionId::generate()
            .map_err(|_| ApiError::internal("the system random number generator failed"))?;
        self.store
            .sessions()
            .insert(&id, session)
            .await
            .map_err(|e| {
                self.store_failed(&e);
                ApiError::from_store(&e, "session")
            })?;
        let expires_at = session
            .tokens()
            .refresh_expires_at()
            .unwrap_or_else(|| (self.clock)() + self.store.options().get_session_ttl());
        Ok(LoginStep::Authenticated {
            session: id,
            expires_at,
        })
    }

    /// Counts a store failure (a missing or busy login is an answer, not a failure).
    fn store_failed(&self, e: &StoreError) {
        if !matches!(e, StoreError::NotFound | StoreError::Busy) {
            self.metrics.store_error(store_kind(e));
        }
    }

    /// A fresh access token of a session and its expiry: the stored one, or refreshed first
    /// when it expires within the margin (one refresh across instances).
    pub(crate) async fn token(
        &self,
        id: &SessionId,
    ) -> Result<(AccessToken, Option<SystemTime>), ApiError> {
        let started = Instant::now();
        let result = self.token_inner(id).await;
        self.metrics.step("token", started.elapsed());
        result
    }

    async fn token_inner(
        &self,
        id: &SessionId,
    ) -> Result<(AccessToken, Option<SystemTime>), ApiError> {
        let session = self.session(id).await?;
        if !session.needs_refresh((self.clock)(), self.refresh_margin) {
            let tokens = session.tokens();
            return Ok((tokens.access_token().clone(), tokens.expires_at()));
        }
        let keeper = self.keeper(id, session.api())?;
        // The refresh runs in a task of the keeper's own: the drivers' series of refreshes are
        // not on this gateway's recorder (`gateway_refreshes_total` counts them).
        let token = keeper
            .access_token()
            .await
            .map_err(|e| self.keeper_error(e))?;
        // The keeper hands out the token alone: its expiry is in the stored session.
        let stored = self.session(id).await?;
        let tokens = stored.tokens();
        if tokens.access_token().ct_eq(&token)
            || !stored.needs_refresh((self.clock)(), self.refresh_margin)
        {
            Ok((tokens.access_token().clone(), tokens.expires_at()))
        } else {
            Ok((token, None))
        }
    }

    async fn session(&self, id: &SessionId) -> Result<Session, ApiError> {
        self.store
            .sessions()
            .get(id)
            .await
            .map(login_store::Versioned::into_value)
            .map_err(|e| {
                self.store_failed(&e);
                ApiError::from_store(&e, "session")
            })
    }

    fn keeper(&self, id: &SessionId, api: Api) -> Result<Arc<Keeper>, ApiError> {
        let mut keepers = self.keepers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(keeper) = keepers.live.get(id).and_then(Weak::upgrade) {
            return Ok(keeper);
        }
        if keepers.live.len() >= keepers.purge_at {
            keepers.live.retain(|_, k| k.strong_count() > 0);
            keepers.purge_at = (keepers.live.len() * 2).max(1024);
        }
        let (profile, link) = self.banks.profile(api)?;
        let keeper = Arc::new(SharedTokenKeeper::new(
            self.driver(link),
            profile,
            self.store.sessions(),
            id.clone(),
            self.keeper_options,
        ));
        keepers.live.insert(id.clone(), Arc::downgrade(&keeper));
        Ok(keeper)
    }

    fn keeper_error(&self, error: SharedKeeperError) -> ApiError {
        use axum::http::StatusCode;
        match error {
            SharedKeeperError::Ended { kind: Some(kind) } => ApiError::new(
                StatusCode::UNAUTHORIZED,
                kind.as_str(),
                "the bank ended this session; log in again",
            ),
            SharedKeeperError::Ended { kind: None } => ApiError::not_found("session"),
            SharedKeeperError::Refresh(e) => ApiError::from_engine(&e),
            SharedKeeperError::Store(e) => {
                self.store_failed(&e);
                ApiError::from_store(&e, "session")
            }
            other => {
                tracing::warn!(error = %other, "token refresh did not finish");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "refresh_pending",
                    "the session's tokens are being refreshed; retry shortly",
                )
                .retry_after(1)
            }
        }
    }

    /// Ends a session: an internet-banking session is revoked at the bank first; a realm
    /// session's tokens are dropped (the realm API has no revoke).
    pub(crate) async fn end_session(&self, id: &SessionId) -> Result<(), ApiError> {
        let session = self.session(id).await?;
        if let Session::Ciam(_) = &session {
            let (profile, link) = self.banks.profile(Api::Ciam)?;
            let revoked = self
                .metrics
                .recording(self.driver(link).revoke(&profile, session))
                .await;
            if let Err(stopped) = revoked {
                match stopped.error() {
                    // Worth another try: keep the session so the caller can retry.
                    Some(e) if e.is_transient() => return Err(ApiError::from_engine(e)),
                    // The bank refused: the session is dead there anyway.
                    _ => tracing::info!("the bank refused the revoke; dropping the session"),
                }
            }
        }
        self.store.sessions().remove(id).await.map_err(|e| {
            self.store_failed(&e);
            ApiError::from_store(&e, "session")
        })
    }
}

/// What a resume endpoint answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prompt {
    Otp,
    Captcha,
}

/// The flow inside a runner that never ran (to put it back untouched).
fn runner_flow(runner: Runner) -> Option<Flow> {
    runner.pause().flow
}

fn store_kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::Unavailable { .. } => "store_unavailable",
        StoreError::Busy => "login_busy",
        StoreError::NotFound => "not_found",
        StoreError::Conflict => "conflict",
        StoreError::Sealing(_) => "sealing",
        StoreError::Refused { .. } => "refused",
        _ => "other",
    }
}
