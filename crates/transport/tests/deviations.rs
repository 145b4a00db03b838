//! One test per sandbox deviation (`login_sandbox::deviation`), through the blocking driver over
//! real HTTP on 127.0.0.1: where the deviation is in the request, the contract's profile fails
//! and the profile setting that fits it makes the whole login succeed; where it is in the
//! answer, the tolerant reader takes it (or the setting reads it right), and the test says which.

use std::time::{Duration, SystemTime};

use login_core::ciam::{CiamConfig, Credentials, Routes};
use login_core::readings::{
    ContentEncryption, Envelope, ExpiryForm, HeaderName, RefreshFields, ScopeForm,
};
use login_core::realm::{self, RealmConfig};
use login_core::response::RetryAfter;
use login_core::retry::RetryPolicy;
use login_core::seal::JweSealer;
use login_core::secret::{CaptchaAnswer, ClientSecret, DeviceToken, Otp, Password};
use login_core::table::StepId;
use login_core::{
    Answer, Bank, Error, ErrorKind, Profile, Question, Runner, Session, SuccessStatus,
};
use login_sandbox::config::{
    Limit, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
};
use login_sandbox::deviation::{self, Deviation};
use login_sandbox::{BlockingSandbox, SandboxConfig, spawn_blocking_sandbox};
use login_transport::cassette::{CassetteInfo, CassetteWriter, Recording, Replay};
use login_transport::{Driver, Interaction, Stopped, TransportConfig, UreqTransport};

/// A user who knows the sandbox's fixed OTP and captcha, and notes the OTP references shown.
#[derive(Default)]
struct User {
    ref_ids: Vec<Option<String>>,
}

impl Interaction for User {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        match *question {
            Question::Otp { ref_id, .. } => {
                self.ref_ids.push(ref_id.map(str::to_owned));
                Some(Answer::Otp(Otp::new("123456")))
            }
            Question::Captcha { .. } => Some(Answer::Captcha(CaptchaAnswer::new("ABCD"))),
            Question::Credentials | Question::NewPassword => None,
        }
    }
}

/// A sandbox with one deviation on (`adjust` may change the rest of the test config).
struct Deviant {
    sandbox: BlockingSandbox,
    sealer: JweSealer,
}

fn sandbox(deviation: Deviation, adjust: impl FnOnce(&mut SandboxConfig)) -> Deviant {
    let mut config = SandboxConfig::for_tests();
    config.deviations = vec![deviation];
    adjust(&mut config);
    let sandbox = spawn_blocking_sandbox(config).expect("the sandbox starts");
    let sealer = JweSealer::from_jwk(&sandbox.public_jwk_json()).expect("the sandbox JWK");
    Deviant { sandbox, sealer }
}

fn realm_cfg() -> RealmConfig {
    RealmConfig::new("cap", TEST_CLIENT_ID, ClientSecret::new(TEST_CLIENT_SECRET))
}

fn ciam_cfg() -> CiamConfig {
    CiamConfig::new(
        TEST_CLIENT_ID,
        TEST_REDIRECT_URI,
        DeviceToken::new(TEST_DEVICE_TOKEN),
    )
    .scope(["openid", "email"])
}

impl Deviant {
    fn driver(&self, base_url: &str) -> Driver<UreqTransport> {
        let config = TransportConfig::new(base_url).expect("the sandbox URL");
        Driver::new(UreqTransport::new(config).expect("a ureq transport"))
    }

    fn realm_driver(&self) -> Driver<UreqTransport> {
        self.driver(&self.sandbox.realm_base_url())
    }

    fn realm_login_as(
        &self,
        cfg: &RealmConfig,
        user: &str,
        me: &mut User,
    ) -> Result<Session, Stopped> {
        let start = realm::Start::new(user, Password::new(format!("{user}-password")));
        self.realm_driver()
            .login(Bank::Realm(cfg), Runner::login(start), me)
    }

    fn realm_login(&self, cfg: &RealmConfig) -> Result<Session, Stopped> {
        self.realm_login_as(cfg, "alice", &mut User::default())
    }

    fn ciam_login_as(&self, cfg: &CiamConfig, password: &str) -> Result<Session, Stopped> {
        let creds = Credentials::new("alice", Password::new(password));
        self.driver(&self.sandbox.base_url()).login(
            Bank::Ciam(cfg, &self.sealer),
            Runner::ciam_login(creds),
            &mut User::default(),
        )
    }

    fn ciam_login(&self, cfg: &CiamConfig) -> Result<Session, Stopped> {
        self.ciam_login_as(cfg, "alice-password")
    }
}

/// The error a run stopped with.
fn error(stopped: &Stopped) -> &Error {
    stopped.error().expect("a step failed")
}

/// The server's message of a refusal.
fn message(stopped: &Stopped) -> String {
    error(stopped)
        .server_error()
        .and_then(|s| s.message.clone())
        .unwrap_or_default()
}

fn seconds_from_now(at: Option<SystemTime>) -> u64 {
    at.expect("an expiry")
        .duration_since(SystemTime::now())
        .expect("in the future")
        .as_secs()
}

#[test]
fn status200_is_taken_by_any2xx_and_refused_by_documented() {
    let bank = sandbox(Deviation::Status200, |_| {});
    // Response side: the default (any 2xx) takes 200 for the documented 201.
    bank.realm_login(&realm_cfg()).expect("any2xx takes 200");
    let strict = realm_cfg().success_status(SuccessStatus::Documented);
    let stopped = bank.realm_login(&strict).expect_err("documented wants 201");
    assert_eq!(
        stopped.kind(),
        Some(ErrorKind::UnexpectedStatus),
        "{stopped}"
    );
    assert_eq!(error(&stopped).status(), Some(200));
}

#[test]
fn numbers_as_strings_are_read_by_the_tolerant_reader() {
    let bank = sandbox(Deviation::NumbersAsStrings, |_| {});
    let session = bank
        .realm_login(&realm_cfg())
        .expect("strings read as numbers");
    // The sandbox's access token lives 300 s, now sent as "300".
    assert!((290..=300).contains(&seconds_from_now(session.tokens().expires_at())));
    let session = bank
        .ciam_login(&ciam_cfg())
        .expect("strings read as numbers");
    assert!((1790..=1800).contains(&seconds_from_now(session.tokens().refresh_expires_at())));
}

#[test]
fn scope_array_needs_scope_form_array() {
    let bank = sandbox(Deviation::ScopeArray, |_| {});
    // Request side: the contract's string is refused, naming the field.
    let stopped = bank
        .ciam_login(&ciam_cfg())
        .expect_err("a string scope is refused");
    assert_eq!(stopped.kind(), Some(ErrorKind::BadRequest), "{stopped}");
    assert!(message(&stopped).contains("scope"), "{stopped}");
    // With the setting, authorize, access token and refresh all send arrays.
    let cfg = ciam_cfg().scope_form(ScopeForm::Array);
    let session = bank.ciam_login(&cfg).expect("arrays are taken");
    // The token set's scope came back as an array: read either way.
    assert_eq!(session.tokens().scope(), Some("openid email"));
    let profile = Profile::from(cfg.profile().clone());
    let driver = bank.driver(&bank.sandbox.base_url());
    let refreshed = driver
        .refresh(&profile, session)
        .expect("the refresh sends an array too");
    assert_eq!(refreshed.tokens().scope(), Some("openid email"));
}

#[test]
fn scope_string_needs_scope_form_string_on_the_realm() {
    let bank = sandbox(Deviation::ScopeString, |_| {});
    // The realm's default array is refused at the token call, naming the field.
    let stopped = bank
        .realm_login(&realm_cfg())
        .expect_err("an array scope is refused");
    assert_eq!(stopped.kind(), Some(ErrorKind::BadRequest), "{stopped}");
    assert!(message(&stopped).contains("scope"), "{stopped}");
    // Two words: one string with a space, split back by the server.
    let cfg = realm_cfg()
        .scope(["openid", "accounts"])
        .scope_form(ScopeForm::String);
    let session = bank.realm_login(&cfg).expect("one string is taken");
    assert_eq!(session.tokens().scope(), Some("openid accounts"));
}

#[test]
fn unknown_fields_are_ignored() {
    let bank = sandbox(Deviation::UnknownFields, |_| {});
    bank.realm_login(&realm_cfg()).expect("realm login");
    bank.ciam_login(&ciam_cfg())
        .expect("internet-banking login");
}

#[test]
fn a_missing_ref_id_is_tolerated() {
    let bank = sandbox(Deviation::MissingRefId, |_| {});
    let mut me = User::default();
    // bob has an OTP: the request-login answer would carry refId; without it the token call
    // goes without one, and the user is shown no reference.
    bank.realm_login_as(&realm_cfg(), "bob", &mut me)
        .expect("the OTP login succeeds without refId");
    assert_eq!(me.ref_ids, [None]);
}

#[test]
fn html_error_pages_are_classified_by_status() {
    let bank = sandbox(Deviation::HtmlErrors, |_| {});
    let stopped = bank
        .ciam_login_as(&ciam_cfg(), "wrong-password")
        .expect_err("a wrong password");
    assert_eq!(
        stopped.kind(),
        Some(ErrorKind::InvalidCredentials),
        "{stopped}"
    );
    let server = error(&stopped).server_error().expect("a refusal");
    assert_eq!((server.status, server.code.as_deref()), (401, None));
    bank.ciam_login(&ciam_cfg()).expect("the right password");
}

#[test]
fn text_plain_bodies_are_read_as_json() {
    let bank = sandbox(Deviation::TextPlain, |_| {});
    bank.realm_login(&realm_cfg()).expect("realm login");
    bank.ciam_login(&ciam_cfg())
        .expect("internet-banking login");
}

#[test]
fn a_retry_after_date_is_read_and_waited_for() {
    // One login per user per second: the second login at once gets a 429.
    let bank = sandbox(Deviation::RetryAfterDate, |c| {
        c.throttle.login_per_user = Some(Limit {
            limit: 1,
            window_secs: 1,
        });
    });
    bank.realm_login(&realm_cfg()).expect("the first login");
    let start = realm::Start::new("alice", Password::new("alice-password"));
    let stopped = bank
        .realm_driver()
        .retry(RetryPolicy::none())
        .login(
            Bank::Realm(&realm_cfg()),
            Runner::login(start),
            &mut User::default(),
        )
        .expect_err("throttled, no retry");
    assert_eq!(stopped.kind(), Some(ErrorKind::RateLimited), "{stopped}");
    // Response side: the HTTP date is read (not dropped as an unreadable delay).
    match error(&stopped).retry_after() {
        Some(RetryAfter::At(at)) => {
            let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
            assert!(wait <= Duration::from_secs(2), "{wait:?}");
        }
        other => panic!("an HTTP date, got {other:?}"),
    }
    // The default policy waits until the date and goes again.
    bank.realm_login(&realm_cfg()).expect("after the wait");
}

#[test]
fn a_redirected_step_needs_its_route_in_the_profile() {
    let bank = sandbox(Deviation::RedirectStep, |_| {});
    let stopped = bank
        .ciam_login(&ciam_cfg())
        .expect_err("redirects are never followed");
    match error(&stopped) {
        Error::Redirect { status, location } => {
            assert_eq!(*status, 308);
            assert_eq!(location.as_deref(), Some(deviation::REDIRECT_TO));
        }
        other => panic!("a redirect, got {other:?}"),
    }
    let routes = Routes::gateway().with(StepId::CiamAuthorize, deviation::REDIRECT_TO);
    bank.ciam_login(&ciam_cfg().routes(routes))
        .expect("authorize at the new path");
}

#[test]
fn another_envelope_field_needs_envelope_field() {
    let bank = sandbox(Deviation::EnvelopeField, |_| {});
    let stopped = bank
        .ciam_login(&ciam_cfg())
        .expect_err("authToken is not read");
    assert_eq!(stopped.kind(), Some(ErrorKind::BadRequest), "{stopped}");
    assert!(
        message(&stopped).contains(deviation::ENVELOPE_FIELD),
        "{stopped}"
    );
    let envelope = Envelope::default()
        .field(deviation::ENVELOPE_FIELD)
        .expect("a field name");
    let cfg = ciam_cfg().envelope(envelope);
    bank.ciam_login(&cfg).expect("the envelope in its field");

    // Recorded, the envelope under its other field is a placeholder (no ciphertext in the
    // cassette), and the recording replays offline.
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("envelope-field.jsonl");
    let writer = CassetteWriter::create(&path, CassetteInfo::new()).expect("a cassette");
    let config = TransportConfig::new(&bank.sandbox.base_url()).expect("the sandbox URL");
    let recording = Recording::new(UreqTransport::new(config).expect("ureq"), writer);
    let creds = Credentials::new("alice", Password::new("alice-password"));
    Driver::new(recording)
        .login(
            Bank::Ciam(&cfg, &bank.sealer),
            Runner::ciam_login(creds),
            &mut User::default(),
        )
        .expect("recorded");
    let text = std::fs::read_to_string(&path).expect("the cassette");
    let challenge = text
        .lines()
        .find(|l| l.contains(deviation::ENVELOPE_FIELD))
        .expect("the login challenge line");
    let line: serde_json::Value = serde_json::from_str(challenge).expect("JSON");
    let sealed = line["request"]["body"][deviation::ENVELOPE_FIELD]
        .as_str()
        .expect("a string");
    assert!(sealed.starts_with("<envelope#"), "{challenge}");
    let replay = Replay::open(&path).expect("the cassette opens");
    let creds = Credentials::new("alice", Password::new("alice-password"));
    Driver::new(replay)
        .login(
            Bank::Ciam(&cfg, &bank.sealer),
            Runner::ciam_login(creds),
            &mut User::default(),
        )
        .expect("replayed offline");
}

#[test]
fn absolute_expiry_needs_expiry_unix_time() {
    let bank = sandbox(Deviation::AbsoluteExpiry, |_| {});
    // Response side, read wrong without the setting: the login works, but a Unix time taken
    // as a lifetime puts the expiry decades away.
    let session = bank.realm_login(&realm_cfg()).expect("read as lifetimes");
    assert!(seconds_from_now(session.tokens().expires_at()) > 40 * 365 * 86_400);
    let cfg = realm_cfg().expiry(ExpiryForm::UnixTime);
    let session = bank.realm_login(&cfg).expect("read as Unix times");
    assert!((290..=301).contains(&seconds_from_now(session.tokens().expires_at())));
    let cfg = ciam_cfg().expiry(ExpiryForm::UnixTime);
    let session = bank.ciam_login(&cfg).expect("read as Unix times");
    assert!((1790..=1801).contains(&seconds_from_now(session.tokens().refresh_expires_at())));
}

#[test]
fn a_refresh_without_client_id_needs_refresh_fields_token_only() {
    let bank = sandbox(Deviation::RefreshTokenOnly, |_| {});
    let driver = bank.realm_driver();
    let session = bank
        .realm_login(&realm_cfg())
        .expect("the login is unchanged");
    let profile = Profile::from(realm_cfg().profile().clone());
    let stopped = driver
        .refresh(&profile, session)
        .expect_err("clientId refused");
    assert_eq!(stopped.kind(), Some(ErrorKind::BadRequest), "{stopped}");
    assert!(message(&stopped).contains("clientId"), "{stopped}");
    let session = stopped
        .into_session()
        .expect("a refused refresh keeps the session");

    let cfg = realm_cfg().refresh_fields(RefreshFields::TokenOnly);
    let profile = Profile::from(cfg.profile().clone());
    let refreshed = driver
        .refresh(&profile, session)
        .expect("refreshToken alone");
    assert_eq!(refreshed.tokens().token_type(), Some("Bearer"));
}

#[test]
fn another_captcha_header_needs_captcha_header() {
    let bank = sandbox(Deviation::CaptchaHeader, |c| c.captcha_required = true);
    let stopped = bank
        .ciam_login(&ciam_cfg())
        .expect_err("checkIdentity is not read");
    assert_eq!(stopped.kind(), Some(ErrorKind::BadRequest), "{stopped}");
    assert!(
        message(&stopped).contains(deviation::CAPTCHA_HEADER),
        "{stopped}"
    );
    let name = HeaderName::new(deviation::CAPTCHA_HEADER).expect("a header name");
    bank.ciam_login(&ciam_cfg().captcha_header(name))
        .expect("the captcha fetched under the other header");
}

#[test]
fn an_a128gcm_server_needs_envelope_enc_a128gcm() {
    let bank = sandbox(Deviation::A128gcm, |_| {});
    let stopped = bank
        .ciam_login(&ciam_cfg())
        .expect_err("A256GCM is refused");
    assert_eq!(stopped.kind(), Some(ErrorKind::BadRequest), "{stopped}");
    assert!(message(&stopped).contains("A128GCM"), "{stopped}");
    let cfg = ciam_cfg().envelope(Envelope::default().enc(ContentEncryption::A128Gcm));
    bank.ciam_login(&cfg).expect("sealed with A128GCM");
}

/// Without a deviation the sandbox is the contract's: the settings that fit a deviation fail
/// against it, so each test above depends on its deviation being on.
#[test]
fn the_settings_for_a_deviation_fail_against_the_contract() {
    let bank = sandbox(Deviation::Status200, |c| c.deviations.clear());
    assert!(bank.ciam_login(&ciam_cfg()).is_ok());
    for cfg in [
        ciam_cfg().scope_form(ScopeForm::Array),
        ciam_cfg().envelope(Envelope::default().field("credentials").expect("a name")),
        ciam_cfg().envelope(Envelope::default().enc(ContentEncryption::A128Gcm)),
        ciam_cfg().routes(Routes::gateway().with(StepId::CiamAuthorize, deviation::REDIRECT_TO)),
    ] {
        let stopped = bank
            .ciam_login(&cfg)
            .expect_err("the contract's server refuses it");
        assert!(
            matches!(
                stopped.kind(),
                Some(ErrorKind::BadRequest | ErrorKind::NotFound)
            ),
            "{stopped}"
        );
    }
    let stopped = bank
        .realm_login(&realm_cfg().scope_form(ScopeForm::String))
        .expect_err("the contract's realm wants an array");
    assert_eq!(stopped.kind(), Some(ErrorKind::BadRequest), "{stopped}");
    let stopped = bank
        .realm_login(&realm_cfg().expiry(ExpiryForm::UnixTime))
        .expect_err("a lifetime read as a Unix time is long past");
    assert_eq!(
        stopped.kind(),
        Some(ErrorKind::MalformedResponse),
        "{stopped}"
    );
}
