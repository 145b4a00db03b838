//! End to end: the blocking and the async driver run every flow of both APIs against the
//! sandbox server over real HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use login_core::ciam::{self, CiamConfig, Credentials};
use login_core::realm::{self, RealmConfig};
use login_core::seal::JweSealer;
use login_core::secret::{CaptchaAnswer, ClientSecret, DeviceToken, Otp, Password};
use login_core::table::{Api, StateId};
use login_core::{ErrorKind, Failed, Flow, forgot};
use login_sandbox::config::{
    AnomalyMode, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
};
use login_sandbox::{BlockingSandbox, SandboxConfig, spawn_blocking_sandbox};
use login_transport::{
    AsyncDriver, Driver, HyperTransport, Interaction, OtpPrompt, Prompt, StateChange, StopReason,
    Stopped, TransportConfig, UreqTransport,
};

/// A scripted user: fixed answers, and a record of what was asked and which states were reached.
#[derive(Default)]
struct Script {
    otp: Option<&'static str>,
    captcha: Option<&'static str>,
    captcha_first: bool,
    prompts: Vec<(Api, Option<String>, Option<String>)>,
    captcha_images: Vec<Vec<u8>>,
    states: Vec<StateId>,
}

impl Script {
    fn otp(code: &'static str) -> Self {
        Script {
            otp: Some(code),
            ..Script::default()
        }
    }
}

impl Interaction for Script {
    fn otp(&mut self, prompt: &OtpPrompt<'_>) -> Option<Otp> {
        self.prompts.push((
            prompt.api,
            prompt.channel.map(String::from),
            prompt.ref_id.map(String::from),
        ));
        self.otp.map(Otp::new)
    }
    fn captcha(&mut self, image_png: &[u8]) -> Option<CaptchaAnswer> {
        self.captcha_images.push(image_png.to_vec());
        self.captcha.map(CaptchaAnswer::new)
    }
    fn captcha_first(&self) -> bool {
        self.captcha_first
    }
    fn state_changed(&mut self, change: &StateChange) {
        self.states.push(change.state);
    }
}

/// The flows as a test sees them; implemented once over each driver.
trait Flows {
    const NAME: &'static str;
    fn realm_login(
        &self,
        start: realm::Start,
        s: &mut Script,
    ) -> Result<realm::Tokened, Stopped<realm::State>>;
    fn realm_refresh(&self, t: realm::Tokened) -> Result<realm::Tokened, Failed<realm::Tokened>>;
    fn forgot(
        &self,
        start: forgot::Start,
        pw: Password,
        s: &mut Script,
    ) -> Result<forgot::PasswordReset, Stopped<forgot::State>>;
    fn env(&self) -> &Env;
    fn ciam_login_with(
        &self,
        cfg: &CiamConfig,
        creds: Credentials,
        s: &mut Script,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>>;
    fn ciam_login(
        &self,
        creds: Credentials,
        s: &mut Script,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        self.ciam_login_with(&self.env().ciam, creds, s)
    }
    /// The same on the seed's second route set (`/ciamauthsrvc/...`).
    fn ciam_login_service_routes(
        &self,
        creds: Credentials,
        s: &mut Script,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        self.ciam_login_with(&self.env().ciam_service, creds, s)
    }
    fn ciam_finish_mfa(
        &self,
        mfa: ciam::MfaPending,
        otp: Otp,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>>;
    fn realm_finish_mfa(
        &self,
        mfa: realm::MfaPending,
        otp: Otp,
    ) -> Result<realm::Tokened, Stopped<realm::State>>;
    fn ciam_refresh(&self, t: ciam::Tokened) -> Result<ciam::Tokened, Failed<ciam::Tokened>>;
    fn ciam_revoke(&self, t: ciam::Tokened) -> Result<ciam::Revoked, Failed<ciam::Tokened>>;
}

struct Env {
    sandbox: BlockingSandbox,
    realm: RealmConfig,
    ciam: CiamConfig,
    ciam_service: CiamConfig,
    sealer: JweSealer,
}

impl Env {
    fn start(config: SandboxConfig) -> Env {
        let sandbox = spawn_blocking_sandbox(config).unwrap();
        let sealer = JweSealer::from_jwk(&sandbox.public_jwk_json()).unwrap();
        Env {
            realm: RealmConfig::new("cap", TEST_CLIENT_ID, ClientSecret::new(TEST_CLIENT_SECRET)),
            ciam: CiamConfig::new(
                TEST_CLIENT_ID,
                TEST_REDIRECT_URI,
                DeviceToken::new(TEST_DEVICE_TOKEN),
            ),
            ciam_service: CiamConfig::new(
                TEST_CLIENT_ID,
                TEST_REDIRECT_URI,
                DeviceToken::new(TEST_DEVICE_TOKEN),
            )
            .routes(ciam::Routes::service()),
            sealer,
            sandbox,
        }
    }

    fn realm_transport(&self) -> TransportConfig {
        TransportConfig::new(&self.sandbox.realm_base_url()).unwrap()
    }

    fn ciam_transport(&self) -> TransportConfig {
        TransportConfig::new(&self.sandbox.base_url()).unwrap()
    }
}

struct Blocking<'a> {
    env: &'a Env,
    realm: Driver<UreqTransport>,
    ciam: Driver<UreqTransport>,
}

impl<'a> Blocking<'a> {
    fn new(env: &'a Env) -> Self {
        Blocking {
            realm: Driver::new(UreqTransport::new(env.realm_transport()).unwrap()),
            ciam: Driver::new(UreqTransport::new(env.ciam_transport()).unwrap()),
            env,
        }
    }
}

impl Flows for Blocking<'_> {
    const NAME: &'static str = "blocking";
    fn realm_login(
        &self,
        start: realm::Start,
        s: &mut Script,
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        self.realm.realm_login(&self.env.realm, start, s)
    }
    fn realm_refresh(&self, t: realm::Tokened) -> Result<realm::Tokened, Failed<realm::Tokened>> {
        self.realm.realm_refresh(&self.env.realm, t)
    }
    fn forgot(
        &self,
        start: forgot::Start,
        pw: Password,
        s: &mut Script,
    ) -> Result<forgot::PasswordReset, Stopped<forgot::State>> {
        self.realm.forgot_password(&self.env.realm, start, pw, s)
    }
    fn env(&self) -> &Env {
        self.env
    }
    fn ciam_login_with(
        &self,
        cfg: &CiamConfig,
        creds: Credentials,
        s: &mut Script,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        self.ciam.ciam_login(cfg, &self.env.sealer, creds, s)
    }
    fn ciam_finish_mfa(
        &self,
        mfa: ciam::MfaPending,
        otp: Otp,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        self.ciam.ciam_finish_mfa(&self.env.ciam, mfa, otp)
    }
    fn realm_finish_mfa(
        &self,
        mfa: realm::MfaPending,
        otp: Otp,
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        self.realm.realm_finish_mfa(&self.env.realm, mfa, otp)
    }
    fn ciam_refresh(&self, t: ciam::Tokened) -> Result<ciam::Tokened, Failed<ciam::Tokened>> {
        self.ciam.ciam_refresh(&self.env.ciam, t)
    }
    fn ciam_revoke(&self, t: ciam::Tokened) -> Result<ciam::Revoked, Failed<ciam::Tokened>> {
        self.ciam.ciam_revoke(&self.env.ciam, t)
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
                .unwrap(),
            realm: HyperTransport::new(env.realm_transport()).unwrap(),
            ciam: HyperTransport::new(env.ciam_transport()).unwrap(),
            sessions_opened: Mutex::new(Vec::new()),
            env,
        }
    }

    fn run<T, F>(&self, transport: &HyperTransport, f: F) -> T
    where
        F: AsyncFnOnce(&AsyncDriver<login_transport::HyperSession>) -> T,
    {
        let driver = AsyncDriver::new(transport.session());
        let out = self.rt.block_on(f(&driver));
        self.sessions_opened
            .lock()
            .unwrap()
            .push(driver.transport().connections_opened());
        out
    }
}

impl Flows for Async<'_> {
    const NAME: &'static str = "async";
    fn realm_login(
        &self,
        start: realm::Start,
        s: &mut Script,
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        self.run(&self.realm, async |d| {
            d.realm_login(&self.env.realm, start, s).await
        })
    }
    fn realm_refresh(&self, t: realm::Tokened) -> Result<realm::Tokened, Failed<realm::Tokened>> {
        self.run(&self.realm, async |d| {
            d.realm_refresh(&self.env.realm, t).await
        })
    }
    fn forgot(
        &self,
        start: forgot::Start,
        pw: Password,
        s: &mut Script,
    ) -> Result<forgot::PasswordReset, Stopped<forgot::State>> {
        self.run(&self.realm, async |d| {
            d.forgot_password(&self.env.realm, start, pw, s).await
        })
    }
    fn env(&self) -> &Env {
        self.env
    }
    fn ciam_login_with(
        &self,
        cfg: &CiamConfig,
        creds: Credentials,
        s: &mut Script,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        self.run(&self.ciam, async |d| {
            d.ciam_login(cfg, &self.env.sealer, creds, s).await
        })
    }
    fn ciam_finish_mfa(
        &self,
        mfa: ciam::MfaPending,
        otp: Otp,
    ) -> Result<ciam::Tokened, Stopped<ciam::State>> {
        self.run(&self.ciam, async |d| {
            d.ciam_finish_mfa(&self.env.ciam, mfa, otp).await
        })
    }
    fn realm_finish_mfa(
        &self,
        mfa: realm::MfaPending,
        otp: Otp,
    ) -> Result<realm::Tokened, Stopped<realm::State>> {
        self.run(&self.realm, async |d| {
            d.realm_finish_mfa(&self.env.realm, mfa, otp).await
        })
    }
    fn ciam_refresh(&self, t: ciam::Tokened) -> Result<ciam::Tokened, Failed<ciam::Tokened>> {
        self.run(&self.ciam, async |d| {
            d.ciam_refresh(&self.env.ciam, t).await
        })
    }
    fn ciam_revoke(&self, t: ciam::Tokened) -> Result<ciam::Revoked, Failed<ciam::Tokened>> {
        self.run(&self.ciam, async |d| d.ciam_revoke(&self.env.ciam, t).await)
    }
}

fn with_anomaly(mode: AnomalyMode) -> SandboxConfig {
    let mut cfg = SandboxConfig::for_tests();
    cfg.anomaly = mode;
    cfg
}

mod cases {
    use super::*;

    pub fn realm_login_without_otp(f: &impl Flows) {
        let mut script = Script::default();
        let tokened = f
            .realm_login(
                realm::Start::new("alice", Password::new("alice-password")),
                &mut script,
            )
            .unwrap();
        assert!(!tokened.tokens().access_token().is_empty());
        assert!(script.prompts.is_empty(), "no OTP asked for mfa none");
        assert_eq!(script.states, [StateId::Challenged, StateId::Tokened]);
    }

    pub fn realm_login_with_otp_then_refresh_then_local_revoke(f: &impl Flows, env: &Env) {
        let mut script = Script::otp("123456");
        let tokened = f
            .realm_login(
                realm::Start::new("bob", Password::new("bob-password")),
                &mut script,
            )
            .unwrap();
        assert_eq!(script.states, [StateId::MfaPending, StateId::Tokened]);
        let (api, _, ref_id) = &script.prompts[0];
        assert_eq!(*api, Api::Realm);
        let sent = env.sandbox.outbox();
        let entry = sent
            .iter()
            .rev()
            .find(|e| e.user == "bob" && e.purpose == "realm-login")
            .unwrap();
        assert_eq!(
            ref_id.as_deref(),
            Some(entry.ref_id.as_str()),
            "the prompt shows the OTP's reference"
        );

        let before = tokened.tokens().access_token().clone();
        let refreshed = f.realm_refresh(tokened).unwrap();
        assert!(
            !refreshed.tokens().access_token().ct_eq(&before),
            "a new access token"
        );
        let revoked = refreshed.revoke();
        assert!(
            !revoked.sent_request(),
            "the realm API has no revoke endpoint"
        );
    }

    pub fn realm_wrong_otp_keeps_the_state(f: &impl Flows) {
        let mut script = Script::otp("000000");
        let stopped = f
            .realm_login(
                realm::Start::new("carol", Password::new("carol-password")),
                &mut script,
            )
            .unwrap_err();
        assert_eq!(stopped.kind(), Some(ErrorKind::InvalidOtp), "{stopped}");
        assert!(matches!(stopped.state, Some(realm::State::MfaPending(_))));
    }

    pub fn realm_otp_suspends_and_finishes_later(f: &impl Flows) {
        let stopped = f
            .realm_login(
                realm::Start::new("bob", Password::new("bob-password")),
                &mut Script::default(),
            )
            .unwrap_err();
        assert!(
            matches!(stopped.reason, StopReason::NoAnswer(Prompt::Otp)),
            "{stopped}"
        );
        let Some(realm::State::MfaPending(mfa)) = stopped.state else {
            panic!("waits at MfaPending")
        };
        let tokened = f.realm_finish_mfa(mfa, Otp::new("123456")).unwrap();
        assert!(!tokened.tokens().access_token().is_empty());
    }

    pub fn ciam_captcha_without_an_answer_waits_at_authorized(f: &impl Flows) {
        let stopped = f
            .ciam_login(
                Credentials::new("alice", Password::new("alice-password")),
                &mut Script::default(),
            )
            .unwrap_err();
        assert!(
            matches!(stopped.reason, StopReason::NoAnswer(Prompt::Captcha)),
            "{stopped}"
        );
        assert!(matches!(stopped.state, Some(ciam::State::Authorized(_))));
    }

    pub fn realm_wrong_password_is_typed(f: &impl Flows) {
        let stopped = f
            .realm_login(
                realm::Start::new("alice", Password::new("nope")),
                &mut Script::default(),
            )
            .unwrap_err();
        assert_eq!(
            stopped.kind(),
            Some(ErrorKind::InvalidCredentials),
            "{stopped}"
        );
    }

    pub fn forgot_password_then_login_with_the_new_one(f: &impl Flows, env: &Env) {
        let mut script = Script::otp("123456");
        let done = f
            .forgot(
                forgot::Start::new("alice"),
                Password::new("a-brand-new-password-1"),
                &mut script,
            )
            .unwrap();
        assert_eq!(done.username(), "alice");
        assert_eq!(
            script.states,
            [StateId::OtpSent, StateId::Verified, StateId::PasswordReset]
        );
        let sent = env.sandbox.outbox();
        let entry = sent
            .iter()
            .rev()
            .find(|e| e.user == "alice" && e.purpose == "forgot-password")
            .unwrap();
        assert_eq!(script.prompts[0].2.as_deref(), Some(entry.ref_id.as_str()));
        let old = f.realm_login(
            realm::Start::new("alice", Password::new("alice-password")),
            &mut Script::default(),
        );
        assert_eq!(old.unwrap_err().kind(), Some(ErrorKind::InvalidCredentials));
        f.realm_login(
            realm::Start::new("alice", Password::new("a-brand-new-password-1")),
            &mut Script::default(),
        )
        .unwrap();
    }

    pub fn ciam_login_plain_then_refresh_then_revoke(f: &impl Flows) {
        let mut script = Script::default();
        let tokened = f
            .ciam_login(
                Credentials::new("alice", Password::new("alice-password")),
                &mut script,
            )
            .unwrap();
        assert_eq!(
            script.states,
            [StateId::Authorized, StateId::Challenged, StateId::Tokened]
        );
        assert!(script.captcha_images.is_empty() && script.prompts.is_empty());

        let refreshed = f.ciam_refresh(tokened).unwrap();
        let kept = refreshed.clone();
        let revoked = f.ciam_revoke(refreshed).unwrap();
        assert!(revoked.sent_request());
        // The server revoked the session: its refresh token is refused, and the state is gone.
        let refused = f.ciam_refresh(kept).unwrap_err();
        assert_eq!(
            refused.error.kind(),
            ErrorKind::InvalidToken,
            "{}",
            refused.error
        );
        assert!(refused.state.is_none());
    }

    pub fn ciam_login_on_the_service_routes(f: &impl Flows) {
        let mut script = Script::default();
        let tokened = f
            .ciam_login_service_routes(
                Credentials::new("alice", Password::new("alice-password")),
                &mut script,
            )
            .unwrap();
        assert!(!tokened.tokens().access_token().is_empty());
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
        .unwrap();
        assert_eq!(
            script.captcha_images.len(),
            1,
            "one captcha fetched after 400 captcha_required"
        );
        assert!(
            script.captcha_images[0].starts_with(b"\x89PNG\r\n\x1a\n"),
            "the image is a PNG"
        );
    }

    pub fn ciam_login_with_captcha_first(f: &impl Flows) {
        let mut script = Script {
            captcha: Some("ABCD"),
            captcha_first: true,
            ..Script::default()
        };
        f.ciam_login(
            Credentials::new("alice", Password::new("alice-password")),
            &mut script,
        )
        .unwrap();
        assert_eq!(script.captcha_images.len(), 1);
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
            .unwrap_err();
        assert_eq!(stopped.kind(), Some(ErrorKind::InvalidCaptcha), "{stopped}");
        assert_eq!(
            script.captcha_images.len() as u32,
            login_transport::driver::MAX_CAPTCHA_ROUNDS
        );
        assert!(
            matches!(stopped.state, Some(ciam::State::Authorized(_))),
            "the challenge stays usable"
        );
    }

    pub fn ciam_login_with_2fa(f: &impl Flows, env: &Env) {
        let mut script = Script::otp("123456");
        f.ciam_login(
            Credentials::new("bob", Password::new("bob-password")),
            &mut script,
        )
        .unwrap();
        assert_eq!(
            script.states,
            [
                StateId::Authorized,
                StateId::MfaPending,
                StateId::Challenged,
                StateId::Tokened
            ]
        );
        let (api, channel, ref_id) = &script.prompts[0];
        assert_eq!(*api, Api::Ciam);
        assert_eq!(channel.as_deref(), Some("sms"));
        let sent = env.sandbox.outbox();
        let entry = sent
            .iter()
            .rev()
            .find(|e| e.user == "bob" && e.purpose == "login-2fa")
            .unwrap();
        assert_eq!(ref_id.as_deref(), Some(entry.ref_id.as_str()));
    }

    pub fn ciam_2fa_suspends_and_resumes_from_a_snapshot(f: &impl Flows) {
        // A service: no answer now, so the flow stops at MfaPending with its state...
        let mut script = Script::default();
        let stopped = f
            .ciam_login(
                Credentials::new("carol", Password::new("carol-password")),
                &mut script,
            )
            .unwrap_err();
        assert!(
            matches!(stopped.reason, StopReason::NoAnswer(Prompt::Otp)),
            "{stopped}"
        );
        let Some(state) = stopped.state else {
            panic!("state kept")
        };
        // ...which it stores between requests...
        let bytes = Flow::Ciam(state).to_snapshot();
        let Flow::Ciam(ciam::State::MfaPending(mfa)) = Flow::from_snapshot(bytes.expose()).unwrap()
        else {
            panic!("MfaPending comes back")
        };
        assert_eq!(mfa.channel().as_str(), "email");
        // ...and finishes on the next request.
        let tokened = f.ciam_finish_mfa(mfa, Otp::new("123456")).unwrap();
        assert!(!tokened.tokens().access_token().is_empty());
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
                cases::realm_wrong_password_is_typed(&f);
                cases::realm_otp_suspends_and_finishes_later(&f);
                cases::forgot_password_then_login_with_the_new_one(&f, &env);
                check_connections(&f);
            }

            #[test]
            fn ciam_flows_without_anomaly() {
                let env = Env::start(SandboxConfig::for_tests());
                let f = $flows::new(&env);
                cases::ciam_login_plain_then_refresh_then_revoke(&f);
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
                cases::ciam_login_with_wrong_captcha_stops_after_bounded_rounds(&f);
                cases::ciam_captcha_without_an_answer_waits_at_authorized(&f);
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
        self.sessions_opened.lock().unwrap().clone()
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
