//! End to end: the blocking and the async driver run every flow of both APIs against the
//! sandbox server over real HTTP on 127.0.0.1.

use std::sync::Mutex;

use login_core::ciam::{self, CiamConfig, Credentials};
use login_core::realm::{self, RealmConfig};
use login_core::runner::MAX_CAPTCHA_ROUNDS;
use login_core::seal::JweSealer;
use login_core::secret::{CaptchaAnswer, ClientSecret, DeviceToken, Otp, Password};
use login_core::table::{Api, StateId};
use login_core::{
    Answer, Bank, ErrorKind, Flow, Profile, Question, RunPolicy, Runner, Session, forgot,
};
use login_sandbox::config::{
    AnomalyMode, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
};
use login_sandbox::{BlockingSandbox, SandboxConfig, spawn_blocking_sandbox};
use login_transport::{
    AsyncDriver, Driver, HyperSession, HyperTransport, Interaction, Prompt, StateChange,
    StopReason, Stopped, TransportConfig, UreqTransport,
};

/// One OTP question as the user saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Asked {
    api: Api,
    channel: Option<String>,
    ref_id: Option<String>,
    refused: bool,
}

/// A scripted user: fixed answers, and a record of what was asked and which states were reached.
#[derive(Default)]
struct Script {
    /// OTPs handed out in turn; none left means no answer.
    otps: Vec<&'static str>,
    captcha: Option<&'static str>,
    credentials: Option<(&'static str, &'static str)>,
    prompts: Vec<Asked>,
    captcha_images: Vec<Vec<u8>>,
    captcha_refused: Vec<bool>,
    states: Vec<StateId>,
}

impl Script {
    fn otp(code: &'static str) -> Self {
        Script {
            otps: vec![code],
            ..Script::default()
        }
    }
}

impl Interaction for Script {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        match *question {
            Question::Otp {
                api,
                channel,
                ref_id,
                refused,
            } => {
                self.prompts.push(Asked {
                    api,
                    channel: channel.map(String::from),
                    ref_id: ref_id.map(String::from),
                    refused,
                });
                let n = self.prompts.len() - 1;
                self.otps.get(n).map(|code| Answer::Otp(Otp::new(*code)))
            }
            Question::Captcha { image_png, refused } => {
                self.captcha_images.push(image_png.to_vec());
                self.captcha_refused.push(refused);
                self.captcha
                    .map(|answer| Answer::Captcha(CaptchaAnswer::new(answer)))
            }
            Question::Credentials => self
                .credentials
                .map(|(user, pw)| Answer::Credentials(Credentials::new(user, Password::new(pw)))),
            Question::NewPassword => None,
        }
    }
    fn state_changed(&mut self, change: &StateChange) {
        self.states.push(change.state);
    }
}

/// The flows as a test sees them: the driver calls, implemented once over each driver. The
/// transport (realm or internet-banking base URL) follows the bank's API.
trait Flows {
    const NAME: &'static str;
    fn env(&self) -> &Env;
    fn run(
        &self,
        bank: Bank<'_>,
        runner: Runner,
        policy: RunPolicy,
        s: &mut Script,
    ) -> Result<Flow, Stopped>;
    fn login(&self, bank: Bank<'_>, runner: Runner, s: &mut Script) -> Result<Session, Stopped>;
    fn resume(&self, bank: Bank<'_>, flow: Flow, s: &mut Script) -> Result<Flow, Stopped>;
    fn refresh(&self, profile: &Profile, session: Session) -> Result<Session, Stopped>;
    fn revoke(&self, profile: &Profile, session: Session) -> Result<Flow, Stopped>;

    fn realm_login(&self, start: realm::Start, s: &mut Script) -> Result<Session, Stopped> {
        self.login(Bank::Realm(&self.env().realm), Runner::login(start), s)
    }
    fn ciam_login_with(
        &self,
        cfg: &CiamConfig,
        policy: RunPolicy,
        creds: Credentials,
        s: &mut Script,
    ) -> Result<Session, Stopped> {
        let bank = Bank::Ciam(cfg, &self.env().sealer);
        let flow = self.run(bank, Runner::ciam_login(creds), policy, s)?;
        Ok(flow.into_session().expect("a finished login is a session"))
    }
    fn ciam_login(&self, creds: Credentials, s: &mut Script) -> Result<Session, Stopped> {
        self.ciam_login_with(&self.env().ciam, RunPolicy::default(), creds, s)
    }
    fn ciam_bank(&self) -> Bank<'_> {
        Bank::Ciam(&self.env().ciam, &self.env().sealer)
    }
}

struct Env {
    sandbox: BlockingSandbox,
    realm: RealmConfig,
    ciam: CiamConfig,
    ciam_service: CiamConfig,
    realm_profile: Profile,
    ciam_profile: Profile,
    sealer: JweSealer,
}

impl Env {
    fn start(config: SandboxConfig) -> Env {
        let sandbox = spawn_blocking_sandbox(config).expect("sandbox starts");
        let sealer = JweSealer::from_jwk(&sandbox.public_jwk_json()).expect("sandbox JWK");
        let realm = RealmConfig::new("cap", TEST_CLIENT_ID, ClientSecret::new(TEST_CLIENT_SECRET));
        let ciam = CiamConfig::new(
            TEST_CLIENT_ID,
            TEST_REDIRECT_URI,
            DeviceToken::new(TEST_DEVICE_TOKEN),
        );
        Env {
            realm_profile: Profile::from(realm.profile().clone()),
            ciam_profile: Profile::from(ciam.profile().clone()),
            ciam_service: ciam.clone().routes(ciam::Routes::service()),
            realm,
            ciam,
            sealer,
            sandbox,
        }
    }

    fn realm_transport(&self) -> TransportConfig {
        TransportConfig::new(&self.sandbox.realm_base_url()).expect("sandbox URL")
    }

    fn ciam_transport(&self) -> TransportConfig {
        TransportConfig::new(&self.sandbox.base_url()).expect("sandbox URL")
    }
}

/// Whether `api`'s calls go to the realm base URL (the forgot-password flow is the realm's).
fn is_realm(api: Api) -> bool {
    api != Api::Ciam
}

struct Blocking<'a> {
    env: &'a Env,
    realm: UreqTransport,
    ciam: UreqTransport,
}

impl<'a> Blocking<'a> {
    fn new(env: &'a Env) -> Self {
        Blocking {
            realm: UreqTransport::new(env.realm_transport()).expect("ureq transport"),
            ciam: UreqTransport::new(env.ciam_transport()).expect("ureq transport"),
            env,
        }
    }

    /// A driver over the API's transport (shared, so its pool keeps the connection).
    fn driver(&self, api: Api) -> Driver<&UreqTransport> {
        Driver::new(if is_realm(api) {
            &self.realm
        } else {
            &self.ciam
        })
    }
}

impl Flows for Blocking<'_> {
    const NAME: &'static str = "blocking";
    fn env(&self) -> &Env {
        self.env
    }
    fn run(
        &self,
        bank: Bank<'_>,
        runner: Runner,
        policy: RunPolicy,
        s: &mut Script,
    ) -> Result<Flow, Stopped> {
        self.driver(bank.api()).policy(policy).run(bank, runner, s)
    }
    fn login(&self, bank: Bank<'_>, runner: Runner, s: &mut Script) -> Result<Session, Stopped> {
        self.driver(bank.api()).login(bank, runner, s)
    }
    fn resume(&self, bank: Bank<'_>, flow: Flow, s: &mut Script) -> Result<Flow, Stopped> {
        self.driver(bank.api()).resume(bank, flow, s)
    }
    fn refresh(&self, profile: &Profile, session: Session) -> Result<Session, Stopped> {
        self.driver(profile.api()).refresh(profile, session)
    }
    fn revoke(&self, profile: &Profile, session: Session) -> Result<Flow, Stopped> {
        self.driver(profile.api()).revoke(profile, session)
    }
}

/// The async driver, each flow on a fresh session (one connection), on a current-thread runtime.
struct Async<'a> {
    env: &'a Env,
    rt: tokio::runtime::Runtime,
    realm: HyperTransport,
    ciam: HyperTransport,
    sessions_opened: Mutex<Vec<u64>>,
}

impl<'a> Async<'a> {
    fn new(env: &'a Env) -> Self {
        Async {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            realm: HyperTransport::new(env.realm_transport()).expect("hyper transport"),
            ciam: HyperTransport::new(env.ciam_transport()).expect("hyper transport"),
            sessions_opened: Mutex::new(Vec::new()),
            env,
        }
    }

    fn with<T>(
        &self,
        api: Api,
        policy: RunPolicy,
        f: impl AsyncFnOnce(&AsyncDriver<HyperSession>) -> T,
    ) -> T {
        let transport = if is_realm(api) {
            &self.realm
        } else {
            &self.ciam
        };
        let driver = AsyncDriver::new(transport.session()).policy(policy);
        let out = self.rt.block_on(f(&driver));
        self.sessions_opened
            .lock()
            .expect("not poisoned")
            .push(driver.transport().connections_opened());
        out
    }
}

impl Flows for Async<'_> {
    const NAME: &'static str = "async";
    fn env(&self) -> &Env {
        self.env
    }
    fn run(
        &self,
        bank: Bank<'_>,
        runner: Runner,
        policy: RunPolicy,
        s: &mut Script,
    ) -> Result<Flow, Stopped> {
        self.with(bank.api(), policy, async |d| d.run(bank, runner, s).await)
    }
    fn login(&self, bank: Bank<'_>, runner: Runner, s: &mut Script) -> Result<Session, Stopped> {
        self.with(bank.api(), RunPolicy::default(), async |d| {
            d.login(bank, runner, s).await
        })
    }
    fn resume(&self, bank: Bank<'_>, flow: Flow, s: &mut Script) -> Result<Flow, Stopped> {
        self.with(bank.api(), RunPolicy::default(), async |d| {
            d.resume(bank, flow, s).await
        })
    }
    fn refresh(&self, profile: &Profile, session: Session) -> Result<Session, Stopped> {
        self.with(profile.api(), RunPolicy::default(), async |d| {
            d.refresh(profile, session).await
        })
    }
    fn revoke(&self, profile: &Profile, session: Session) -> Result<Flow, Stopped> {
        self.with(profile.api(), RunPolicy::default(), async |d| {
            d.revoke(profile, session).await
        })
    }
}

fn with_anomaly(mode: AnomalyMode) -> SandboxConfig {
    let mut cfg = SandboxConfig::for_tests();
    cfg.anomaly = mode;
    cfg
}

/// The one reference the sandbox's outbox holds for `user`'s last OTP sent for `purpose`.
fn outbox_ref(env: &Env, user: &str, purpose: &str) -> String {
    env.sandbox
        .outbox()
        .iter()
        .rev()
        .find(|e| e.user == user && e.purpose == purpose)
        .map(|e| e.ref_id.clone())
        .expect("the sandbox sent an OTP")
}

mod cases {
    use super::*;

    pub fn realm_login_without_otp(f: &impl Flows) {
        let mut script = Script::default();
        let session = f
            .realm_login(
                realm::Start::new("alice", Password::new("alice-password")),
                &mut script,
            )
            .expect("alice logs in");
        assert!(!session.tokens().access_token().is_empty());
        assert!(script.prompts.is_empty(), "no OTP asked for mfa none");
        assert_eq!(script.states, [StateId::Challenged, StateId::Tokened]);
    }

    pub fn realm_login_with_otp_then_refresh_then_local_revoke(f: &impl Flows, env: &Env) {
        let mut script = Script::otp("123456");
        let session = f
            .realm_login(
                realm::Start::new("bob", Password::new("bob-password")),
                &mut script,
            )
            .expect("bob logs in with the OTP");
        assert_eq!(script.states, [StateId::MfaPending, StateId::Tokened]);
        assert_eq!(script.prompts[0].api, Api::Realm);
        assert!(!script.prompts[0].refused);
        assert_eq!(
            script.prompts[0].ref_id.as_deref(),
            Some(outbox_ref(env, "bob", "realm-login").as_str()),
            "the prompt shows the OTP's reference"
        );

        let before = session.tokens().access_token().clone();
        let refreshed = f
            .refresh(&env.realm_profile, session)
            .expect("the refresh succeeds");
        assert!(
            !refreshed.tokens().access_token().ct_eq(&before),
            "a new access token"
        );
        let revoked = f
            .revoke(&env.realm_profile, refreshed)
            .expect("a local revoke cannot fail");
        let Flow::Realm(realm::State::Revoked(revoked)) = revoked else {
            panic!("revoked, got {:?}", revoked.state_id())
        };
        assert!(
            !revoked.sent_request(),
            "the realm API has no revoke endpoint"
        );
    }

    pub fn realm_wrong_otp_keeps_the_state(f: &impl Flows) {
        // One code: the runner asks again after the refusal, and no answer then stops the run
        // with that refusal.
        let mut script = Script::otp("000000");
        let stopped = f
            .realm_login(
                realm::Start::new("carol", Password::new("carol-password")),
                &mut script,
            )
            .expect_err("a wrong OTP is refused");
        assert_eq!(stopped.kind(), Some(ErrorKind::InvalidOtp), "{stopped}");
        assert!(matches!(
            stopped.flow,
            Some(Flow::Realm(realm::State::MfaPending(_)))
        ));
        let refused: Vec<bool> = script.prompts.iter().map(|p| p.refused).collect();
        assert_eq!(
            refused,
            [false, true],
            "asked again once, after the refusal"
        );
    }

    pub fn realm_wrong_otp_then_the_right_one_logs_in(f: &impl Flows) {
        let mut script = Script {
            otps: vec!["000000", "123456"],
            ..Script::default()
        };
        let session = f
            .realm_login(
                realm::Start::new("bob", Password::new("bob-password")),
                &mut script,
            )
            .expect("the second OTP logs in");
        assert!(!session.tokens().access_token().is_empty());
        let refused: Vec<bool> = script.prompts.iter().map(|p| p.refused).collect();
        assert_eq!(
            refused,
            [false, true],
            "the second ask says the first was refused"
        );
        assert_eq!(
            script.prompts[0].ref_id, script.prompts[1].ref_id,
            "the same code is asked again"
        );
        assert_eq!(script.states, [StateId::MfaPending, StateId::Tokened]);
    }

    pub fn realm_wrong_otp_stops_at_once_with_one_attempt(f: &impl Flows) {
        let mut script = Script {
            otps: vec!["000000", "123456"],
            ..Script::default()
        };
        let start = realm::Start::new("carol", Password::new("carol-password"));
        let bank = Bank::Realm(&f.env().realm);
        let policy = RunPolicy::default().otp_attempts(1);
        let stopped = f
            .run(bank, Runner::login(start), policy, &mut script)
            .expect_err("one attempt allowed");
        assert_eq!(stopped.kind(), Some(ErrorKind::InvalidOtp), "{stopped}");
        assert_eq!(script.prompts.len(), 1, "not asked again");
    }

    pub fn realm_otp_suspends_and_finishes_later(f: &impl Flows) {
        let bank = Bank::Realm(&f.env().realm);
        let stopped = f
            .realm_login(
                realm::Start::new("bob", Password::new("bob-password")),
                &mut Script::default(),
            )
            .expect_err("no OTP given");
        assert!(
            matches!(stopped.reason, StopReason::NoAnswer(Prompt::Otp)),
            "{stopped}"
        );
        let Some(flow @ Flow::Realm(realm::State::MfaPending(_))) = stopped.flow else {
            panic!("waits at MfaPending")
        };
        let done = f
            .resume(bank, flow, &mut Script::otp("123456"))
            .expect("the resumed flow logs in");
        let session = done.into_session().expect("a session");
        assert!(!session.tokens().access_token().is_empty());
    }

    pub fn ciam_captcha_without_an_answer_waits_at_the_captcha(f: &impl Flows) {
        let stopped = f
            .ciam_login(
                Credentials::new("alice", Password::new("alice-password")),
                &mut Script::default(),
            )
            .expect_err("no captcha answer given");
        assert!(
            matches!(stopped.reason, StopReason::NoAnswer(Prompt::Captcha)),
            "{stopped}"
        );
        // The captcha is fetched and shown; the flow waits there (snapshots never hold the
        // credentials, so resuming asks for them again).
        let flow = stopped.flow.expect("flow kept");
        assert_eq!(flow.state_id(), StateId::CaptchaShown);
        let bytes = flow.to_snapshot();
        let flow = Flow::from_snapshot(bytes.expose()).expect("the snapshot reads back");
        let mut script = Script {
            captcha: Some("ABCD"),
            credentials: Some(("alice", "alice-password")),
            ..Script::default()
        };
        let done = f
            .resume(f.ciam_bank(), flow, &mut script)
            .expect("the resumed flow logs in");
        assert_eq!(done.state_id(), StateId::Tokened);
        assert_eq!(script.captcha_images.len(), 1, "the kept captcha is asked");
    }

    pub fn realm_wrong_password_is_typed(f: &impl Flows) {
        let stopped = f
            .realm_login(
                realm::Start::new("alice", Password::new("nope")),
                &mut Script::default(),
            )
            .expect_err("a wrong password is refused");
        assert_eq!(
            stopped.kind(),
            Some(ErrorKind::InvalidCredentials),
            "{stopped}"
        );
    }

    pub fn forgot_password_then_login_with_the_new_one(f: &impl Flows, env: &Env) {
        let mut script = Script::otp("123456");
        let runner = Runner::forgot_password(
            forgot::Start::new("alice"),
            Password::new("a-brand-new-password-1"),
        );
        let done = f
            .run(
                Bank::Realm(&env.realm),
                runner,
                RunPolicy::default(),
                &mut script,
            )
            .expect("the reset succeeds");
        let Flow::ForgotPassword(forgot::State::PasswordReset(done)) = done else {
            panic!("reset, got {:?}", done.state_id())
        };
        assert_eq!(done.username(), "alice");
        assert_eq!(
            script.states,
            [StateId::OtpSent, StateId::Verified, StateId::PasswordReset]
        );
        assert_eq!(script.prompts[0].api, Api::ForgotPassword);
        assert_eq!(
            script.prompts[0].ref_id.as_deref(),
            Some(outbox_ref(env, "alice", "forgot-password").as_str())
        );
        let old = f.realm_login(
            realm::Start::new("alice", Password::new("alice-password")),
            &mut Script::default(),
        );
        assert_eq!(
            old.expect_err("the old password is gone").kind(),
            Some(ErrorKind::InvalidCredentials)
        );
        f.realm_login(
            realm::Start::new("alice", Password::new("a-brand-new-password-1")),
            &mut Script::default(),
        )
        .expect("the new password logs in");
    }

    pub fn ciam_login_plain_then_refresh_then_revoke(f: &impl Flows, env: &Env) {
        let mut script = Script::default();
        let session = f
            .ciam_login(
                Credentials::new("alice", Password::new("alice-password")),
                &mut script,
            )
            .expect("alice logs in");
        assert_eq!(
            script.states,
            [StateId::Authorized, StateId::Challenged, StateId::Tokened]
        );
        assert!(script.captcha_images.is_empty() && script.prompts.is_empty());

        let refreshed = f
            .refresh(&env.ciam_profile, session)
            .expect("the refresh succeeds");
        let kept = refreshed.clone();
        let revoked = f
            .revoke(&env.ciam_profile, refreshed)
            .expect("the revoke succeeds");
        let Flow::Ciam(ciam::State::Revoked(revoked)) = revoked else {
            panic!("revoked, got {:?}", revoked.state_id())
        };
        assert!(revoked.sent_request());
        // The server revoked the session: its refresh token is refused, and the state is gone.
        let refused = f
            .refresh(&env.ciam_profile, kept)
            .expect_err("a revoked refresh token is refused");
        assert_eq!(refused.kind(), Some(ErrorKind::InvalidToken), "{refused}");
        assert!(refused.flow.is_none());
    }

    pub fn ciam_login_on_the_service_routes(f: &impl Flows) {
        let mut script = Script::default();
        let session = f
            .ciam_login_with(
                &f.env().ciam_service,
                RunPolicy::default(),
                Credentials::new("alice", Password::new("alice-password")),
                &mut script,
            )
            .expect("alice logs in on the service routes");
        assert!(!session.tokens().access_token().is_empty());
        assert_eq!(
            script.states,
            [StateId::Authorized, StateId::Challenged, StateId::Tokened]
        );
    }

    pub fn ciam_login_with_captcha_when_the_server_asks(f: &impl Flows) {
        let mut script = Script {
            captcha: Some("ABCD"),
            ..Script::default()
        };
        f.ciam_login(
            Credentials::new("alice", Password::new("alice-password")),
            &mut script,
        )
        .expect("alice logs in with the captcha");
        assert_eq!(
            script.captcha_images.len(),
            1,
            "one captcha fetched after 400 captcha_required"
        );
        assert!(
            script.captcha_images[0].starts_with(b"\x89PNG\r\n\x1a\n"),
            "the image is a PNG"
        );
        assert_eq!(script.captcha_refused, [false], "nothing was refused yet");
    }

    pub fn ciam_login_with_captcha_first(f: &impl Flows) {
        let mut script = Script {
            captcha: Some("ABCD"),
            ..Script::default()
        };
        f.ciam_login_with(
            &f.env().ciam,
            RunPolicy::default().captcha_first(true),
            Credentials::new("alice", Password::new("alice-password")),
            &mut script,
        )
        .expect("alice logs in with a captcha first");
        assert_eq!(script.captcha_images.len(), 1);
        assert_eq!(
            script.states,
            [
                StateId::Authorized,
                StateId::CaptchaShown,
                StateId::Challenged,
                StateId::Tokened
            ]
        );
    }

    pub fn ciam_login_with_wrong_captcha_stops_after_bounded_rounds(f: &impl Flows) {
        let mut script = Script {
            captcha: Some("WRONG"),
            ..Script::default()
        };
        let stopped = f
            .ciam_login(
                Credentials::new("alice", Password::new("alice-password")),
                &mut script,
            )
            .expect_err("a wrong captcha is refused");
        assert_eq!(stopped.kind(), Some(ErrorKind::InvalidCaptcha), "{stopped}");
        assert_eq!(script.captcha_images.len() as u32, MAX_CAPTCHA_ROUNDS);
        assert!(
            matches!(stopped.flow, Some(Flow::Ciam(ciam::State::Authorized(_)))),
            "the challenge stays usable"
        );
        assert_eq!(
            script.captcha_refused,
            [false, true, true],
            "each captcha after a refused answer says so"
        );
    }

    pub fn ciam_login_with_2fa(f: &impl Flows, env: &Env) {
        let mut script = Script::otp("123456");
        f.ciam_login(
            Credentials::new("bob", Password::new("bob-password")),
            &mut script,
        )
        .expect("bob logs in with the OTP");
        assert_eq!(
            script.states,
            [
                StateId::Authorized,
                StateId::MfaPending,
                StateId::Challenged,
                StateId::Tokened
            ]
        );
        let asked = &script.prompts[0];
        assert_eq!(asked.api, Api::Ciam);
        assert_eq!(asked.channel.as_deref(), Some("sms"));
        assert_eq!(
            asked.ref_id.as_deref(),
            Some(outbox_ref(env, "bob", "login-2fa").as_str())
        );
    }

    pub fn ciam_2fa_suspends_and_resumes_from_a_snapshot(f: &impl Flows) {
        // A service: no answer now, so the flow stops at MfaPending with its state...
        let mut script = Script::default();
        let stopped = f
            .ciam_login(
                Credentials::new("carol", Password::new("carol-password")),
                &mut script,
            )
            .expect_err("no OTP given");
        assert!(
            matches!(stopped.reason, StopReason::NoAnswer(Prompt::Otp)),
            "{stopped}"
        );
        let flow = stopped.flow.expect("flow kept");
        // ...which it stores between requests...
        let bytes = flow.to_snapshot();
        let flow = Flow::from_snapshot(bytes.expose()).expect("the snapshot reads back");
        let Flow::Ciam(ciam::State::MfaPending(mfa)) = &flow else {
            panic!("MfaPending comes back")
        };
        assert_eq!(mfa.channel().as_str(), "email");
        // ...and finishes on the next request.
        let done = f
            .resume(f.ciam_bank(), flow, &mut Script::otp("123456"))
            .expect("the resumed flow logs in");
        let session = done.into_session().expect("a session");
        assert!(!session.tokens().access_token().is_empty());
    }
}

macro_rules! flow_suite {
    ($module:ident, $flows:ident) => {
        mod $module {
            use super::*;

            #[test]
            fn realm_flows() {
                let env = Env::start(SandboxConfig::for_tests());
                let f = $flows::new(&env);
                cases::realm_login_without_otp(&f);
                cases::realm_login_with_otp_then_refresh_then_local_revoke(&f, &env);
                cases::realm_wrong_otp_keeps_the_state(&f);
                cases::realm_wrong_otp_stops_at_once_with_one_attempt(&f);
                cases::realm_wrong_password_is_typed(&f);
                cases::realm_otp_suspends_and_finishes_later(&f);
                cases::forgot_password_then_login_with_the_new_one(&f, &env);
                check_connections(&f);
            }

            #[test]
            fn realm_wrong_otp_is_asked_again() {
                let env = Env::start(SandboxConfig::for_tests());
                let f = $flows::new(&env);
                cases::realm_wrong_otp_then_the_right_one_logs_in(&f);
            }

            #[test]
            fn ciam_flows_without_anomaly() {
                let env = Env::start(SandboxConfig::for_tests());
                let f = $flows::new(&env);
                cases::ciam_login_plain_then_refresh_then_revoke(&f, &env);
                cases::ciam_login_with_captcha_first(&f);
                cases::ciam_login_on_the_service_routes(&f);
                check_connections(&f);
            }

            #[test]
            fn ciam_flows_with_captcha_required() {
                let mut config = SandboxConfig::for_tests();
                config.captcha_required = true;
                let env = Env::start(config);
                let f = $flows::new(&env);
                cases::ciam_login_with_captcha_when_the_server_asks(&f);
                cases::ciam_captcha_without_an_answer_waits_at_the_captcha(&f);
                cases::ciam_login_with_wrong_captcha_stops_after_bounded_rounds(&f);
            }

            #[test]
            fn ciam_flows_with_2fa() {
                let env = Env::start(with_anomaly(AnomalyMode::Always));
                let f = $flows::new(&env);
                cases::ciam_login_with_2fa(&f, &env);
                cases::ciam_2fa_suspends_and_resumes_from_a_snapshot(&f);
                check_connections(&f);
            }
        }
    };
}

/// The async driver's sessions each dialed at most one connection (a session that starts after
/// another finished takes its connection instead of dialing), and the flows, run one after
/// another, needed few: the first dials, the rest mostly reuse.
trait Connections {
    fn per_session(&self) -> Vec<u64>;
}
impl Connections for Blocking<'_> {
    fn per_session(&self) -> Vec<u64> {
        Vec::new()
    }
}
impl Connections for Async<'_> {
    fn per_session(&self) -> Vec<u64> {
        self.sessions_opened.lock().expect("not poisoned").clone()
    }
}
fn check_connections<F: Flows + Connections>(f: &F) {
    let opened = f.per_session();
    for &n in &opened {
        assert!(n <= 1, "{}: a flow dialed {n} connections", F::NAME);
    }
    if let Some(&first) = opened.first() {
        assert_eq!(first, 1, "{}: the first flow dials", F::NAME);
        let total: u64 = opened.iter().sum();
        assert!(
            total * 2 <= opened.len() as u64 + 1,
            "{}: {total} connections for {} flows one after another",
            F::NAME,
            opened.len()
        );
    }
}

flow_suite!(blocking, Blocking);
flow_suite!(async_driver, Async);
