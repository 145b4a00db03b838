//! Cassettes end to end: every flow of both APIs recorded against the sandbox over real HTTP
//! on 127.0.0.1, then replayed with the sandbox stopped, reaching the same states; the
//! recorded files hold none of the secrets that crossed the wire; a replay that differs says
//! where.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use login_core::ciam::{CiamConfig, Credentials};
use login_core::realm::{self, RealmConfig};
use login_core::seal::JweSealer;
use login_core::secret::{CaptchaAnswer, ClientSecret, DeviceToken, Otp, Password};
use login_core::table::StateId;
use login_core::{
    Answer, Bank, ErrorKind, Flow, Profile, Question, Request, Response, RunPolicy, Runner,
    Session, TransportError, TransportErrorKind, ciam, forgot,
};
use login_sandbox::config::{AnomalyMode, Channel, Mfa, UserConfig};
use login_sandbox::secret::Secret;
use login_sandbox::{SandboxConfig, spawn_blocking_sandbox};
use login_transport::cassette::{
    CassetteError, CassetteInfo, CassetteWriter, Outcome, Recording, Replay,
};
use login_transport::{
    AsyncDriver, AsyncTransport, Driver, HyperTransport, Interaction, StateChange, Stopped,
    Transport, TransportConfig, UreqTransport,
};
use serde_json::Value;

/// Values nobody could mistake for anything else, so a scan of the cassette bytes for them is
/// exact. The sandbox takes them as its configuration; none is a real credential.
const CLIENT_SECRET: &str = "CANARY-client-secret-7d1f02";
const DEVICE_TOKEN: &str = "CANARY-device-token-0b9e44";
const OTP: &str = "CANARY-otp-5a3c19";
const CAPTCHA: &str = "CANARYCAPTCHAQ7";
const NEW_PASSWORD: &str = "CANARY-new-password-e81d";

fn password(user: &str) -> String {
    format!("CANARY-password-{user}-3f6a")
}

/// A sandbox whose every secret is a canary; every internet-banking login needs a captcha and
/// a second factor.
fn canary_sandbox() -> SandboxConfig {
    let mut cfg = SandboxConfig::for_tests();
    cfg.client_secret = Secret::new(CLIENT_SECRET);
    cfg.device_tokens = vec![Secret::new(DEVICE_TOKEN)];
    cfg.fixed_otp = Some(OTP.into());
    cfg.fixed_captcha = Some(CAPTCHA.into());
    cfg.anomaly = AnomalyMode::Always;
    cfg.captcha_required = true;
    cfg.users.clear();
    for (name, mfa) in [("alice", Mfa::None), ("bob", Mfa::Otp), ("carol", Mfa::Otp)] {
        cfg.users.insert(
            name.into(),
            UserConfig {
                password: Secret::new(password(name)),
                mfa,
                channel: Channel::Sms,
                last_location: None,
            },
        );
    }
    cfg
}

/// A user who answers every OTP and captcha question with the canaries.
struct Canaries;

impl Interaction for Canaries {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        match question {
            Question::Otp { .. } => Some(Answer::Otp(Otp::new(OTP))),
            Question::Captcha { .. } => Some(Answer::Captcha(CaptchaAnswer::new(CAPTCHA))),
            Question::Credentials | Question::NewPassword => None,
        }
    }
    fn state_changed(&mut self, _: &StateChange) {}
}

/// Every request a [`Spy`] passed on, with what came back.
type Traffic = Arc<Mutex<Vec<(Request, Result<Response, TransportError>)>>>;

/// A transport that keeps a copy of every request and response it passes on: what the test
/// scans the cassettes for. It observes the real transport; it answers nothing itself.
struct Spy<T> {
    inner: T,
    seen: Traffic,
}

impl<T> Spy<T> {
    fn new(inner: T, seen: &Traffic) -> Self {
        Spy {
            inner,
            seen: seen.clone(),
        }
    }
}

impl<T: Transport> Transport for Spy<T> {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let out = self.inner.send(request);
        self.seen
            .lock()
            .expect("not poisoned")
            .push((request.clone(), out.clone()));
        out
    }
}

impl<T: AsyncTransport> AsyncTransport for Spy<T> {
    async fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let out = self.inner.send(request).await;
        self.seen
            .lock()
            .expect("not poisoned")
            .push((request.clone(), out.clone()));
        out
    }
}

/// The configurations of both APIs for one sandbox.
struct Apis {
    realm: RealmConfig,
    realm_profile: Profile,
    ciam: CiamConfig,
    ciam_profile: Profile,
    sealer: JweSealer,
}

impl Apis {
    fn new(jwk: &str) -> Self {
        let sandbox = SandboxConfig::for_tests();
        let realm = RealmConfig::new(
            "cap",
            sandbox.client_id.clone(),
            ClientSecret::new(CLIENT_SECRET),
        );
        let ciam = CiamConfig::new(
            sandbox.client_id.clone(),
            sandbox.redirect_uris[0].clone(),
            DeviceToken::new(DEVICE_TOKEN),
        );
        Apis {
            realm_profile: Profile::from(realm.profile().clone()),
            ciam_profile: Profile::from(ciam.profile().clone()),
            realm,
            ciam,
            sealer: JweSealer::from_jwk(jwk).expect("sandbox JWK"),
        }
    }
}

/// What a scenario reached, step by step, in words that a replay must repeat exactly.
type Trace = Vec<String>;

fn tokened(what: &str, session: &Session) -> String {
    let t = session.tokens();
    format!(
        "{what}: Tokened scope={:?} type={:?} lifetimes={:?}",
        t.scope(),
        t.token_type(),
        t.expires_at()
            .zip(t.refresh_expires_at())
            .map(|(a, r)| r.duration_since(a).map(|d| d.as_secs()).ok()),
    )
}

fn stopped(what: &str, s: &Stopped) -> String {
    format!(
        "{what}: stopped {:?} in {:?}",
        s.kind(),
        s.flow.as_ref().map(Flow::state_id)
    )
}

/// The realm scenario: bob logs in with an OTP, refreshes, revokes locally.
fn realm_scenario<T: Transport>(driver: &Driver<T>, apis: &Apis) -> (Trace, Session) {
    let mut trace = Trace::new();
    let start = realm::Start::new("bob", Password::new(password("bob")));
    let session = driver
        .login(
            Bank::Realm(&apis.realm),
            Runner::login(start),
            &mut Canaries,
        )
        .expect("bob logs in with the OTP");
    trace.push(tokened("login", &session));
    let refreshed = driver
        .refresh(&apis.realm_profile, session.clone())
        .expect("refresh");
    trace.push(tokened("refresh", &refreshed));
    assert!(
        !refreshed
            .tokens()
            .access_token()
            .ct_eq(session.tokens().access_token()),
        "the refresh gave a new access token"
    );
    let revoked = driver
        .revoke(&apis.realm_profile, refreshed.clone())
        .expect("local revoke");
    trace.push(format!("revoke: {:?}", revoked.state_id()));
    (trace, refreshed)
}

/// The forgot-password scenario: carol resets her password, then logs in with the new one.
fn forgot_scenario<T: Transport>(driver: &Driver<T>, apis: &Apis) -> Trace {
    let mut trace = Trace::new();
    let runner = Runner::forgot_password(forgot::Start::new("carol"), Password::new(NEW_PASSWORD));
    let done = driver
        .run(Bank::Profile(&apis.realm_profile), runner, &mut Canaries)
        .expect("reset");
    trace.push(format!("reset: {:?}", done.state_id()));
    let old = realm::Start::new("carol", Password::new(password("carol")));
    let refused = driver
        .login(Bank::Realm(&apis.realm), Runner::login(old), &mut Canaries)
        .expect_err("the old password is refused");
    trace.push(stopped("old password", &refused));
    let new = realm::Start::new("carol", Password::new(NEW_PASSWORD));
    let session = driver
        .login(Bank::Realm(&apis.realm), Runner::login(new), &mut Canaries)
        .expect("the new password logs in");
    trace.push(tokened("new password", &session));
    trace
}

/// The internet-banking scenario: alice logs in through a captcha and a 2FA OTP, refreshes,
/// revokes, and a refresh of the revoked session fails. The driver fetches the captcha first.
fn ciam_scenario<T: Transport>(driver: &Driver<T>, apis: &Apis) -> Trace {
    let mut trace = Trace::new();
    let bank = Bank::Ciam(&apis.ciam, &apis.sealer);
    let creds = Credentials::new("alice", Password::new(password("alice")));
    let session = driver
        .login(bank, Runner::ciam_login(creds), &mut Canaries)
        .expect("alice logs in with a captcha and the OTP");
    trace.push(tokened("login", &session));
    let refreshed = driver
        .refresh(&apis.ciam_profile, session)
        .expect("refresh");
    trace.push(tokened("refresh", &refreshed));
    let revoked = driver
        .revoke(&apis.ciam_profile, refreshed.clone())
        .expect("revoke");
    let Flow::Ciam(ciam::State::Revoked(r)) = &revoked else {
        panic!("revoked, got {:?}", revoked.state_id())
    };
    trace.push(format!("revoke: sent={}", r.sent_request()));
    let after = driver
        .refresh(&apis.ciam_profile, refreshed)
        .expect_err("a revoked session does not refresh");
    trace.push(stopped("refresh after revoke", &after));
    trace
}

fn captcha_first() -> RunPolicy {
    RunPolicy::default().captcha_first(true)
}

/// What recording the three scenarios left behind.
struct Recorded {
    dir: tempfile::TempDir,
    traces: Vec<Trace>,
    jwk: String,
    seen: Traffic,
    /// A realm session the sandbox issued (real tokens), for a replay that sends them.
    real_session: Session,
}

const SCENARIOS: [&str; 3] = ["realm", "forgot", "ciam"];

impl Recorded {
    fn cassette(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.jsonl"))
    }
}

/// Records each scenario into its own cassette, through the blocking transport, against a
/// canary sandbox that is stopped before this returns.
fn record_all() -> Recorded {
    let sandbox = spawn_blocking_sandbox(canary_sandbox()).expect("sandbox starts");
    let jwk = sandbox.public_jwk_json();
    let apis = Apis::new(&jwk);
    let dir = tempfile::tempdir().expect("tempdir");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let transport = |base: String, name: &str| {
        let cassette = CassetteWriter::create(
            dir.path().join(format!("{name}.jsonl")),
            CassetteInfo::new().created_by("cassette test"),
        )
        .expect("cassette");
        let ureq = UreqTransport::new(TransportConfig::new(&base).expect("URL")).expect("ureq");
        Driver::new(Recording::new(Spy::new(ureq, &seen), cassette))
    };
    let realm = transport(sandbox.realm_base_url(), "realm");
    let (realm_trace, real_session) = realm_scenario(&realm, &apis);
    let forgot = transport(sandbox.realm_base_url(), "forgot");
    let forgot_trace = forgot_scenario(&forgot, &apis);
    let ciam = transport(sandbox.base_url(), "ciam").policy(captcha_first());
    let ciam_trace = ciam_scenario(&ciam, &apis);
    drop(sandbox);
    Recorded {
        dir,
        traces: vec![realm_trace, forgot_trace, ciam_trace],
        jwk,
        seen,
        real_session,
    }
}

/// Replays each scenario from its cassette with the blocking driver.
fn replay_all(recorded: &Recorded) -> Vec<Trace> {
    let apis = Apis::new(&recorded.jwk);
    let replay = |name: &str| Driver::new(Replay::open(recorded.cassette(name)).expect("reads"));
    let realm = replay("realm");
    let (realm_trace, _) = realm_scenario(&realm, &apis);
    let forgot = replay("forgot");
    let forgot_trace = forgot_scenario(&forgot, &apis);
    let ciam = replay("ciam").policy(captcha_first());
    let ciam_trace = ciam_scenario(&ciam, &apis);
    for (name, driver) in [("realm", &realm), ("forgot", &forgot), ("ciam", &ciam)] {
        assert_eq!(
            driver.transport().remaining(),
            0,
            "{name}: every exchange used"
        );
    }
    vec![realm_trace, forgot_trace, ciam_trace]
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read cassette")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

#[test]
fn every_flow_recorded_against_the_sandbox_replays_offline_to_the_same_states() {
    let recorded = record_all();
    // The sandbox is gone: a replay that dialled would fail to connect.
    let replayed = replay_all(&recorded);
    assert_eq!(replayed, recorded.traces);
    assert!(
        recorded.traces[2]
            .last()
            .expect("a last step")
            .contains("InvalidToken"),
        "{:?}",
        recorded.traces[2]
    );
}

#[test]
fn a_cassette_links_each_value_sent_back_to_the_response_that_issued_it() {
    let recorded = record_all();
    let ciam = lines(&recorded.cassette("ciam"));
    assert_eq!(ciam[0]["cassette"], 1);
    let step = |name: &str| -> Vec<&Value> {
        ciam.iter()
            .filter(|l| l["step"] == format!("ciam.{name}"))
            .collect()
    };
    let authorize = step("authorize")[0];
    // The state the engine drew, and the server echoed, is one placeholder.
    assert_eq!(authorize["request"]["body"]["state"], "<state#1>");
    assert_eq!(authorize["response"]["body"]["state"], "<state#1>");
    assert_eq!(
        authorize["request"]["headers"][0][1], "Bearer <device_token>",
        "{authorize}"
    );
    let challenge = authorize["response"]["body"]["loginChallenge"].clone();
    let captcha = step("captcha")[0];
    assert_eq!(captcha["request"]["headers"][0][1], challenge);
    let login = step("login_challenge")[0];
    assert_eq!(login["request"]["body"]["authToken"], "<envelope#1>");
    let header = &login["request"]["envelopes"]["<envelope#1>"];
    assert_eq!(header["alg"], "ECDH-ES");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["epk"]["x"], "<epk>");
    let verify = step("pre_login_verify")[0];
    assert_eq!(verify["request"]["body"]["consentOtp"], "<otp>");
    assert_eq!(
        verify["request"]["body"]["mfaChallenge"],
        login["response"]["body"]["mfaChallenge"]
    );
    let token = step("access_token")[0];
    assert_eq!(
        token["request"]["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .find(|h| h[0] == "Authorization")
            .expect("a bearer")[1],
        format!(
            "Bearer {}",
            verify["response"]["body"]["token"].as_str().expect("token")
        )
    );
    assert_eq!(token["request"]["body"]["state"], "<state#1>");
    assert_eq!(
        token["request"]["body"]["codeVerifier"],
        "<pkce_verifier#1>"
    );
    assert_eq!(token["response"]["body"]["accessToken"], "<access_token#1>");
    let refreshes = step("refresh");
    assert_eq!(
        refreshes[0]["request"]["body"]["refreshToken"],
        "<refresh_token#1>"
    );
    assert_eq!(
        refreshes[0]["response"]["body"]["accessToken"],
        "<access_token#2>"
    );
    let revoke = step("revoke")[0];
    assert_eq!(
        revoke["request"]["headers"][0][1], "Bearer <access_token#2>",
        "the revoke sends the refreshed token"
    );
    // The refresh after the revoke sends the rotated refresh token and is refused.
    assert_eq!(
        refreshes[1]["request"]["body"]["refreshToken"],
        "<refresh_token#2>"
    );
    assert_eq!(refreshes[1]["response"]["status"], 401);
    for line in &ciam[1..] {
        assert!(line["elapsedMs"].is_u64(), "{line}");
    }
}

/// Every string value in a JSON document under one of `names`, at any depth.
fn values_under(v: &Value, names: &[&str], out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if names.contains(&k.as_str()) => {
                        out.insert(s.clone());
                    }
                    _ => values_under(v, names, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| values_under(v, names, out)),
        _ => {}
    }
}

#[test]
fn cassettes_hold_none_of_the_secrets_that_crossed_the_wire() {
    let recorded = record_all();
    // The secrets, by the wire contract's names (listed here, independently of login-core's
    // table), as they crossed the wire in this run.
    const SECRET_FIELDS: [&str; 17] = [
        "password",
        "newPassword",
        "clientSecret",
        "otp",
        "consentOtp",
        "accessToken",
        "refreshToken",
        "sessionState",
        "codeVerifier",
        "codeChallenge",
        "state",
        "authToken",
        "loginChallenge",
        "code",
        "token",
        "mfaChallenge",
        "reqId",
    ];
    let mut secrets = BTreeSet::new();
    for (request, response) in recorded.seen.lock().expect("not poisoned").iter() {
        for h in request.headers() {
            if h.name() == "Authorization" || h.name() == "checkIdentity" {
                let v = h.value();
                secrets.insert(v.strip_prefix("Bearer ").unwrap_or(v).to_owned());
            }
        }
        let bodies = [
            request.body().unwrap_or_default(),
            response.as_ref().map(Response::body).unwrap_or_default(),
        ];
        for body in bodies {
            if let Ok(v) = serde_json::from_slice::<Value>(body) {
                values_under(&v, &SECRET_FIELDS, &mut secrets);
            }
        }
    }
    for canary in [CLIENT_SECRET, DEVICE_TOKEN, OTP, CAPTCHA, NEW_PASSWORD] {
        secrets.insert(canary.to_owned());
    }
    for user in ["alice", "bob", "carol"] {
        secrets.insert(password(user));
    }
    // The run produced what the scan looks for: the PKCE verifier, an envelope, tokens.
    assert!(secrets.len() > 30, "{} secrets seen", secrets.len());
    assert!(
        secrets.iter().any(|s| s.split('.').count() == 5),
        "an envelope"
    );
    let mut scanned = 0;
    for name in SCENARIOS {
        let path = recorded.cassette(name);
        let text = std::fs::read_to_string(&path).expect("read cassette");
        assert!(!text.contains("CANARY"), "{name}: a canary leaked:\n{text}");
        for secret in &secrets {
            assert!(
                secret.len() >= 8,
                "a secret too short to scan for: {secret:?}"
            );
            assert!(!text.contains(secret.as_str()), "{name}: {secret} leaked");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        scanned += text.len();
    }
    assert!(scanned > 0);
}

#[test]
fn a_replay_that_sends_a_different_body_fails_with_a_diff_naming_the_field() {
    let recorded = record_all();
    let apis = Apis::new(&recorded.jwk);
    let replay = Driver::new(Replay::open(recorded.cassette("realm")).expect("reads"));
    // Another user than the cassette's bob, with a password the diff must not show.
    let start = realm::Start::new("mallory", Password::new("CANARY-replay-password-42"));
    let stopped = replay
        .login(
            Bank::Realm(&apis.realm),
            Runner::login(start),
            &mut Canaries,
        )
        .expect_err("not what the cassette recorded");
    let Some(login_core::Error::Transport(e)) = stopped.error() else {
        panic!("a transport error: {stopped}")
    };
    assert_eq!(e.kind, TransportErrorKind::Cassette);
    assert!(
        e.detail
            .contains("body.username: expected \"bob\", got \"mallory\""),
        "{}",
        e.detail
    );
    assert!(e.detail.contains("exchange 1 of 3"), "{}", e.detail);
    assert!(!e.detail.contains("CANARY"), "{}", e.detail);
    assert_eq!(
        replay.transport().remaining(),
        3,
        "a mismatch does not advance"
    );

    // A replayed login, then a refresh that sends the real (recorded run's) refresh token
    // rather than the one the replayed login handed out: named, and redacted.
    let start = realm::Start::new("bob", Password::new("any password"));
    let session = replay
        .login(
            Bank::Realm(&apis.realm),
            Runner::login(start),
            &mut Canaries,
        )
        .expect("the recorded login replays");
    assert_eq!(
        session.tokens().access_token().expose(),
        "replayed-access-token-1"
    );
    let real = recorded
        .real_session
        .tokens()
        .refresh_token()
        .expose()
        .to_owned();
    let stopped = replay
        .refresh(&apis.realm_profile, recorded.real_session.clone())
        .expect_err("another refresh token");
    let Some(login_core::Error::Transport(e)) = stopped.error() else {
        panic!("a transport error: {stopped}")
    };
    assert!(
        e.detail
            .contains("body.refreshToken: expected \"<refresh_token#1>\""),
        "{}",
        e.detail
    );
    assert!(e.detail.contains("redacted"), "{}", e.detail);
    assert!(!e.detail.contains(&real), "{}", e.detail);
    // The right one goes through.
    replay
        .refresh(&apis.realm_profile, session)
        .expect("the replayed session refreshes");
}

#[test]
fn running_past_the_end_of_a_cassette_is_a_clear_error() {
    let recorded = record_all();
    let apis = Apis::new(&recorded.jwk);
    let replay = Driver::new(Replay::open(recorded.cassette("realm")).expect("reads"));
    let (_, session) = realm_scenario(&replay, &apis);
    let stopped = replay
        .refresh(&apis.realm_profile, session)
        .expect_err("nothing more recorded");
    let Some(login_core::Error::Transport(e)) = stopped.error() else {
        panic!("a transport error: {stopped}")
    };
    assert_eq!(e.kind, TransportErrorKind::Cassette);
    assert!(
        e.detail.contains("holds 3 exchanges, all replayed")
            && e.detail
                .contains("realm.refresh PATCH /auth/realm/cap/token"),
        "{}",
        e.detail
    );
    assert!(stopped.flow.is_some(), "the session comes back");
}

/// The internet-banking login, refresh and revoke on the async driver.
async fn ciam_async<T: AsyncTransport>(driver: AsyncDriver<T>, apis: &Apis) -> Trace {
    let bank = Bank::Ciam(&apis.ciam, &apis.sealer);
    let creds = Credentials::new("alice", Password::new(password("alice")));
    let session = driver
        .login(bank, Runner::ciam_login(creds), &mut Canaries)
        .await
        .expect("login");
    let refreshed = driver
        .refresh(&apis.ciam_profile, session.clone())
        .await
        .expect("refresh");
    let revoked = driver
        .revoke(&apis.ciam_profile, refreshed)
        .await
        .expect("revoke");
    vec![
        tokened("login", &session),
        format!("revoke: {:?}", revoked.state_id()),
    ]
}

#[test]
fn async_recording_and_replay_reach_the_same_states() {
    let sandbox = spawn_blocking_sandbox(canary_sandbox()).expect("sandbox starts");
    let apis = Apis::new(&sandbox.public_jwk_json());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("async.jsonl");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let transport = HyperTransport::new(TransportConfig::new(&sandbox.base_url()).expect("URL"))
        .expect("hyper");
    let cassette =
        CassetteWriter::create(&path, CassetteInfo::new().api(login_core::table::Api::Ciam))
            .expect("cassette");
    // Inside a spawned task: the recording's futures are Send.
    let recorded = {
        let driver = AsyncDriver::new(Recording::new(transport.session(), cassette.clone()))
            .policy(captcha_first());
        let apis = Apis::new(&sandbox.public_jwk_json());
        rt.block_on(
            async move { tokio::spawn(async move { ciam_async(driver, &apis).await }).await },
        )
        .expect("task")
    };
    assert_eq!(
        cassette.exchanges(),
        7,
        "authorize, captcha, challenge, verify, token, refresh, revoke"
    );
    drop(sandbox);
    let replay = Arc::new(Replay::open(&path).expect("reads"));
    assert_eq!(replay.header().api.as_deref(), Some("ciam"));
    let driver = AsyncDriver::new(replay.clone()).policy(captcha_first());
    let replayed = rt.block_on(ciam_async(driver, &apis));
    assert_eq!(replayed, recorded);
    assert_eq!(replay.remaining(), 0);
    assert_eq!(recorded[1], format!("revoke: {:?}", StateId::Revoked));
}

#[test]
fn concurrent_calls_append_whole_lines() {
    let sandbox = spawn_blocking_sandbox(canary_sandbox()).expect("sandbox starts");
    let apis = Arc::new(Apis::new(&sandbox.public_jwk_json()));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("concurrent.jsonl");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let transport = Arc::new(Recording::new(
        HyperTransport::new(TransportConfig::new(&sandbox.realm_base_url()).expect("URL"))
            .expect("hyper"),
        CassetteWriter::create(&path, CassetteInfo::new()).expect("cassette"),
    ));
    const LOGINS: usize = 12;
    rt.block_on(async {
        let tasks: Vec<_> = (0..LOGINS)
            .map(|_| {
                let (transport, apis) = (transport.clone(), apis.clone());
                tokio::spawn(async move {
                    let start = realm::Start::new("alice", Password::new(password("alice")));
                    AsyncDriver::new(transport)
                        .login(
                            Bank::Realm(&apis.realm),
                            Runner::login(start),
                            &mut Canaries,
                        )
                        .await
                        .map(|_| ())
                        .map_err(|s| s.to_string())
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task").expect("alice logs in");
        }
    });
    let all = lines(&path);
    assert_eq!(
        all.len(),
        1 + 2 * LOGINS,
        "a header and two whole lines per login"
    );
    let numbers: Vec<u64> = all[1..]
        .iter()
        .map(|l| l["exchange"].as_u64().expect("a number"))
        .collect();
    assert_eq!(numbers, (1..=2 * LOGINS as u64).collect::<Vec<_>>());
    // Each login's request id is its own placeholder, sent back by its own token call.
    let issued: BTreeSet<&str> = all[1..]
        .iter()
        .filter(|l| l["step"] == "realm.request_login")
        .map(|l| l["response"]["body"]["reqId"].as_str().expect("reqId"))
        .collect();
    assert_eq!(issued.len(), LOGINS);
    let sent: BTreeSet<&str> = all[1..]
        .iter()
        .filter(|l| l["step"] == "realm.token")
        .map(|l| l["request"]["body"]["reqId"].as_str().expect("reqId"))
        .collect();
    assert_eq!(sent, issued);
}

#[test]
fn transport_errors_are_recorded_and_replayed_as_errors() {
    // A port with nothing listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("refused.jsonl");
    let apis = Apis::new(
        &spawn_blocking_sandbox(SandboxConfig::for_tests())
            .expect("sandbox")
            .public_jwk_json(),
    );
    let recording = Driver::new(Recording::new(
        UreqTransport::new(TransportConfig::new(&base).expect("URL")).expect("ureq"),
        CassetteWriter::create(&path, CassetteInfo::new()).expect("cassette"),
    ));
    let start = || realm::Start::new("bob", Password::new(password("bob")));
    let live = recording
        .login(
            Bank::Realm(&apis.realm),
            Runner::login(start()),
            &mut Canaries,
        )
        .expect_err("nothing listens");
    let replay = Driver::new(Replay::open(&path).expect("reads"));
    let replayed = replay
        .login(
            Bank::Realm(&apis.realm),
            Runner::login(start()),
            &mut Canaries,
        )
        .expect_err("the recorded failure");
    assert_eq!(
        live.kind(),
        Some(ErrorKind::Transport(TransportErrorKind::Connect))
    );
    assert_eq!(replayed.kind(), live.kind());
    let reread = Replay::open(&path).expect("reads");
    assert!(matches!(&reread.exchanges()[0].outcome, Outcome::Error(e) if e.kind == "connect"));
}

#[test]
fn unreadable_cassettes_say_which_line_and_why() {
    let recorded = record_all();
    let text = std::fs::read_to_string(recorded.cassette("realm")).expect("read");
    let dir = recorded.dir.path();
    // Cut inside the last line, as a crash during a write would.
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, &text[..text.len() - 20]).expect("write");
    let err = Replay::open(&cut).expect_err("a cut line");
    let lines = text.lines().count();
    assert!(
        matches!(&err, CassetteError::Line { line, reason } if *line == lines && reason.contains("cut short")),
        "{err}"
    );
    let newer = dir.join("newer.jsonl");
    std::fs::write(
        &newer,
        text.replacen("{\"cassette\":1", "{\"cassette\":2", 1),
    )
    .expect("write");
    assert!(matches!(
        Replay::open(&newer),
        Err(CassetteError::Version { found: 2 })
    ));
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").expect("write");
    assert!(matches!(Replay::open(&empty), Err(CassetteError::Empty)));
    assert!(matches!(
        Replay::open(dir.join("missing.jsonl")),
        Err(CassetteError::Io { action: "open", .. })
    ));
}
