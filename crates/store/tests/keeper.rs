//! The shared token keeper and whole logins against the real sandbox bank (loopback, async
//! driver over hyper) and a real Redis: one refresh request for 200 callers on two instances, a
//! dead lock holder taken over, a rotated-but-unstored refresh token surfacing as an ended
//! session, and canaries: no password, OTP or token anywhere in Redis or its files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use login_core::ciam::{CiamConfig, Credentials};
use login_core::realm::{self, RealmConfig};
use login_core::runner::{Answer, Question};
use login_core::seal::JweSealer;
use login_core::secret::{CaptchaAnswer, ClientSecret, DeviceToken, Otp, Password};
use login_core::table::StepId;
use login_core::{
    Bank, ErrorKind, Flow, Profile, Request, Response, Runner, Session, TransportError, ciam,
};
use login_sandbox::config::{
    TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
};
use login_sandbox::{RunningSandbox, Sandbox, SandboxConfig};
use login_store::{
    LoginId, SessionId, SharedKeeperError, SharedKeeperOptions, SharedTokenKeeper, Store,
    StoreError, StoreOptions,
};
use login_transport::{
    AsyncDriver, AsyncTransport, HyperTransport, Interaction, NoInteraction, TransportConfig,
};

/// A transport that counts the refresh requests it sends (one hyper session per request).
#[derive(Clone)]
struct Counting {
    transport: Arc<HyperTransport>,
    refreshes: Arc<AtomicUsize>,
}

impl Counting {
    fn new(base_url: &str) -> Self {
        Self {
            transport: Arc::new(
                HyperTransport::new(TransportConfig::new(base_url).unwrap()).unwrap(),
            ),
            refreshes: Arc::default(),
        }
    }

    fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }
}

impl AsyncTransport for Counting {
    async fn send(&self, request: &Request) -> Result<Response, TransportError> {
        if matches!(request.step(), StepId::RealmRefresh | StepId::CiamRefresh) {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
        }
        self.transport.session().send(request).await
    }
}

/// Answers each kind of question once, if it has an answer for it; `None` pauses the flow.
#[derive(Default)]
struct Answers {
    otp: Option<&'static str>,
    captcha: Option<&'static str>,
    credentials: Option<(&'static str, &'static str)>,
}

impl Interaction for Answers {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        match question {
            Question::Otp { .. } => self.otp.take().map(|c| Answer::Otp(Otp::new(c))),
            Question::Captcha { .. } => self
                .captcha
                .take()
                .map(|c| Answer::Captcha(CaptchaAnswer::new(c))),
            Question::Credentials => self
                .credentials
                .take()
                .map(|(u, p)| Answer::Credentials(Credentials::new(u, Password::new(p)))),
            _ => None,
        }
    }
}

fn otp(code: &'static str) -> Answers {
    Answers {
        otp: Some(code),
        ..Answers::default()
    }
}

fn realm_config() -> RealmConfig {
    RealmConfig::new("cap", TEST_CLIENT_ID, ClientSecret::new(TEST_CLIENT_SECRET))
}

fn realm_profile() -> Profile {
    Profile::Realm(realm_config().profile().clone())
}

async fn sandbox() -> RunningSandbox {
    Sandbox::start(SandboxConfig::for_tests()).await.unwrap()
}

async fn alice_session(driver: &AsyncDriver<Counting>) -> Session {
    let start = realm::Start::new("alice", Password::new("alice-password"));
    driver
        .login(
            Bank::Realm(&realm_config()),
            Runner::login(start),
            &mut NoInteraction,
        )
        .await
        .unwrap()
}

/// Defines a clock that runs `SKEW` seconds ahead, settable per test, so a session can be made
/// "about to expire" without waiting; the drivers stamp and judge tokens by it.
macro_rules! skewed_clock {
    () => {{
        static SKEW: AtomicU64 = AtomicU64::new(0);
        fn clock() -> SystemTime {
            SystemTime::now() + Duration::from_secs(SKEW.load(Ordering::SeqCst))
        }
        (&SKEW, clock as fn() -> SystemTime)
    }};
}

/// The 300 s access token from the sandbox is 10 s from expiry at skew 290: inside the keeper's
/// 60 s margin; a token refreshed then is fresh again.
const NEAR_EXPIRY: u64 = 290;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_refresh_reaches_the_bank_for_200_callers_on_two_instances() {
    let (skew, clock) = skewed_clock!();
    let server = RedisServer::start();
    let bank = sandbox().await;
    let transport = Counting::new(&bank.realm_base_url());
    let session = alice_session(&AsyncDriver::new(transport.clone()).clock(clock)).await;
    let old_access = session.tokens().access_token().expose().to_owned();

    // Two instances: two Redis clients, two drivers, two keepers.
    let one = redis_store(&server, keyring(), StoreOptions::default()).await;
    let two = redis_store(&server, keyring(), StoreOptions::default()).await;
    let id = SessionId::generate().unwrap();
    one.sessions().insert(&id, &session).await.unwrap();
    let keeper = |store: &Store| {
        SharedTokenKeeper::new(
            AsyncDriver::new(transport.clone()).clock(clock),
            realm_profile(),
            store.sessions(),
            id.clone(),
            SharedKeeperOptions::default(),
        )
    };
    let (k1, k2) = (keeper(&one), keeper(&two));

    skew.store(NEAR_EXPIRY, Ordering::SeqCst);
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let k = if i % 2 == 0 { k1.clone() } else { k2.clone() };
            tokio::spawn(async move { k.access_token().await })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for task in tasks {
        let token = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("no caller hangs")
            .unwrap()
            .unwrap();
        tokens.insert(token.expose().to_owned());
    }
    assert_eq!(
        transport.refreshes(),
        1,
        "exactly one refresh request reached the bank"
    );
    assert_eq!(k1.refreshes_sent() + k2.refreshes_sent(), 1);
    assert_eq!(tokens.len(), 1, "every caller got the same new token");
    assert!(!tokens.contains(&old_access));
    let stored = two.sessions().get(&id).await.unwrap();
    assert_eq!(stored.version().get(), 2);
    assert!(tokens.contains(stored.value().tokens().access_token().expose()));

    // Fresh now: more callers, no more refreshes.
    for k in [&k1, &k2] {
        k.access_token().await.unwrap();
    }
    assert_eq!(transport.refreshes(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_lock_holder_is_taken_over_after_its_ttl() {
    let (skew, clock) = skewed_clock!();
    let server = RedisServer::start();
    let bank = sandbox().await;
    let transport = Counting::new(&bank.realm_base_url());
    let session = alice_session(&AsyncDriver::new(transport.clone()).clock(clock)).await;
    let one = redis_store(&server, keyring(), StoreOptions::default()).await;
    let two = redis_store(&server, keyring(), StoreOptions::default()).await;
    let id = SessionId::generate().unwrap();
    one.sessions().insert(&id, &session).await.unwrap();
    skew.store(NEAR_EXPIRY, Ordering::SeqCst);

    // Instance one takes the lock to refresh and dies: the lock is never released.
    // Measured from before the lock is asked for: it cannot expire earlier than 1.5 s after.
    let died_at = Instant::now();
    let lock = one
        .sessions()
        .try_lock(&id, Duration::from_millis(1500))
        .await
        .unwrap();
    drop(lock);
    drop(one);

    let keeper = SharedTokenKeeper::new(
        AsyncDriver::new(transport.clone()).clock(clock),
        realm_profile(),
        two.sessions(),
        id.clone(),
        SharedKeeperOptions::default().poll(Duration::from_millis(20), Duration::from_millis(100)),
    );
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let k = keeper.clone();
            tokio::spawn(async move { k.access_token().await })
        })
        .collect();
    for caller in callers {
        tokio::time::timeout(Duration::from_secs(60), caller)
            .await
            .expect("no caller hangs")
            .unwrap()
            .unwrap();
    }
    let waited = died_at.elapsed();
    assert!(
        waited >= Duration::from_millis(1495),
        "taken over only once the dead holder's lock expired ({waited:?})"
    );
    assert_eq!(transport.refreshes(), 1);
    assert_eq!(two.sessions().get(&id).await.unwrap().version().get(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_but_unstored_refresh_token_ends_the_session_typed() {
    let (skew, clock) = skewed_clock!();
    let server = RedisServer::start();
    let bank = sandbox().await;
    let transport = Counting::new(&bank.realm_base_url());
    let driver = AsyncDriver::new(transport.clone()).clock(clock);
    let session = alice_session(&driver).await;
    let store = redis_store(&server, keyring(), StoreOptions::default()).await;
    let id = SessionId::generate().unwrap();
    store.sessions().insert(&id, &session).await.unwrap();
    skew.store(NEAR_EXPIRY, Ordering::SeqCst);

    // A holder refreshes at the bank (the refresh token rotates) and dies before storing.
    let lock = store
        .sessions()
        .try_lock(&id, Duration::from_millis(300))
        .await
        .unwrap();
    let lost = driver
        .refresh(&realm_profile(), lock.session().clone())
        .await
        .unwrap();
    drop(lock);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let keeper = SharedTokenKeeper::new(
        AsyncDriver::new(transport.clone()).clock(clock),
        realm_profile(),
        store.sessions(),
        id.clone(),
        SharedKeeperOptions::default(),
    );
    // The next refresh presents the rotated-away token: the bank refuses it.
    let err = keeper.access_token().await.unwrap_err();
    assert!(
        matches!(
            err,
            SharedKeeperError::Ended {
                kind: Some(ErrorKind::InvalidToken)
            }
        ),
        "{err:?}"
    );
    // The ended session is gone from the store; every later caller hears it ended.
    assert_eq!(
        store.sessions().get(&id).await.unwrap_err(),
        StoreError::NotFound
    );
    assert!(matches!(
        keeper.access_token().await.unwrap_err(),
        SharedKeeperError::Ended { kind: None }
    ));
    // The sandbox's reuse detection revoked the family: the lost tokens are dead too.
    let stopped = driver.refresh(&realm_profile(), lost).await.unwrap_err();
    assert_eq!(stopped.kind(), Some(ErrorKind::InvalidToken));
    assert_eq!(transport.refreshes(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_refresh_is_shared_and_the_session_kept() {
    let (skew, clock) = skewed_clock!();
    let server = RedisServer::start();
    let bank = sandbox().await;
    let session =
        alice_session(&AsyncDriver::new(Counting::new(&bank.realm_base_url())).clock(clock)).await;
    // A bank that accepts connections and never answers: each refresh attempt takes the 2 s
    // call timeout, so every caller arrives while the first attempt is still out.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let transport = Counting {
        transport: Arc::new(
            HyperTransport::new(
                TransportConfig::new(&silent_url)
                    .unwrap()
                    .call_timeout(Duration::from_secs(2)),
            )
            .unwrap(),
        ),
        refreshes: Arc::default(),
    };
    let one = redis_store(&server, keyring(), StoreOptions::default()).await;
    let two = redis_store(&server, keyring(), StoreOptions::default()).await;
    let id = SessionId::generate().unwrap();
    one.sessions().insert(&id, &session).await.unwrap();
    skew.store(NEAR_EXPIRY, Ordering::SeqCst);
    let keeper = |store: &Store| {
        SharedTokenKeeper::new(
            AsyncDriver::new(transport.clone()).clock(clock),
            realm_profile(),
            store.sessions(),
            id.clone(),
            SharedKeeperOptions::default(),
        )
    };
    let (k1, k2) = (keeper(&one), keeper(&two));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let k = if i % 2 == 0 { k1.clone() } else { k2.clone() };
            tokio::spawn(async move { k.access_token().await })
        })
        .collect();
    for task in tasks {
        match tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .unwrap()
            .unwrap()
        {
            Err(SharedKeeperError::Refresh(e)) => {
                assert!(matches!(e.kind(), ErrorKind::Transport(_)), "{e:?}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        (1..=2).contains(&transport.refreshes()),
        "at most one attempt per instance, not one per caller ({})",
        transport.refreshes()
    );
    drop(silent);
    // Kept, unchanged, and unlocked.
    let stored = one.sessions().get(&id).await.unwrap();
    assert_eq!(stored.version().get(), 1);
    let lock = two
        .sessions()
        .try_lock(&id, Duration::from_secs(5))
        .await
        .unwrap();
    two.sessions().unlock(lock).await.unwrap();
}

/// Every string of 12 characters or more in a flow's snapshot: request ids, PKCE verifiers,
/// login challenges, tokens.
fn snapshot_secrets(flow: &Flow) -> Vec<String> {
    let snapshot = flow.to_snapshot();
    let json: serde_json::Value = serde_json::from_slice(snapshot.expose()).unwrap();
    let mut strings = Vec::new();
    collect_strings(&json, &mut strings);
    strings.retain(|s| s.len() >= 12 && !s.starts_with("http") && !s.starts_with("/"));
    strings
}

fn session_secrets(session: &Session) -> Vec<String> {
    let tokens = session.tokens();
    vec![
        tokens.access_token().expose().to_owned(),
        tokens.refresh_token().expose().to_owned(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn canaries_no_password_otp_or_token_reaches_redis_or_its_files() {
    let (skew, clock) = skewed_clock!();
    let server = RedisServer::start();
    // Internet-banking logins need a captcha and always ask for a second factor here.
    let mut config = SandboxConfig::for_tests();
    config.captcha_required = true;
    config.anomaly = login_sandbox::config::AnomalyMode::Always;
    let bank = Sandbox::start(config).await.unwrap();
    let realm_transport = Counting::new(&bank.realm_base_url());
    let realm_driver = AsyncDriver::new(realm_transport.clone()).clock(clock);
    let one = redis_store(&server, keyring(), StoreOptions::default()).await;
    let two = redis_store(&server, keyring(), StoreOptions::default()).await;
    let mut canaries: Vec<String> = [
        "bob-password",
        "carol-password",
        "alice-password",
        "123456",
        "000000",
        "ABCD",
        TEST_CLIENT_SECRET,
        TEST_DEVICE_TOKEN,
    ]
    .map(String::from)
    .to_vec();
    let mut sizes = Vec::new();
    let mut conn = server.inspect();
    let strlen = |conn: &mut redis::Connection, key: String| -> usize {
        redis::cmd("STRLEN").arg(key).query(conn).unwrap()
    };

    // Realm: bob pauses for his OTP on instance one ...
    let cfg = realm_config();
    let start = realm::Start::new("bob", Password::new("bob-password"));
    let paused = realm_driver
        .run(Bank::Realm(&cfg), Runner::login(start), &mut NoInteraction)
        .await
        .unwrap_err()
        .flow
        .unwrap();
    assert!(matches!(paused, Flow::Realm(realm::State::MfaPending(_))));
    canaries.extend(snapshot_secrets(&paused));
    let login = LoginId::generate().unwrap();
    one.logins().put(&login, &paused).await.unwrap();
    sizes.push((
        "paused realm login (MfaPending)",
        strlen(&mut conn, format!("lf:{{{login}}}:login")),
    ));
    // ... types a wrong OTP on instance two (put back) ...
    let flow = two.logins().take(&login).await.unwrap();
    let stopped = realm_driver
        .resume(Bank::Realm(&cfg), flow, &mut otp("000000"))
        .await
        .unwrap_err();
    assert_eq!(stopped.kind(), Some(ErrorKind::InvalidOtp));
    two.logins()
        .put_back(&login, &stopped.flow.unwrap())
        .await
        .unwrap();
    // ... and the right one on instance one.
    let flow = one.logins().take(&login).await.unwrap();
    let session = realm_driver
        .resume(Bank::Realm(&cfg), flow, &mut otp("123456"))
        .await
        .unwrap()
        .into_session()
        .unwrap();
    one.logins().finish(&login).await.unwrap();
    canaries.extend(session_secrets(&session));
    let sid = SessionId::generate().unwrap();
    one.sessions().insert(&sid, &session).await.unwrap();
    let hstrlen = |conn: &mut redis::Connection, sid: &SessionId| -> usize {
        redis::cmd("HSTRLEN")
            .arg(format!("lf:{{{sid}}}:session"))
            .arg("s")
            .query(conn)
            .unwrap()
    };
    sizes.push(("realm session", hstrlen(&mut conn, &sid)));

    // A refresh through the keeper, measured once the scripts are loaded (once per server).
    let warm = SessionId::generate().unwrap();
    one.sessions().insert(&warm, &session).await.unwrap();
    let lock = one
        .sessions()
        .try_lock(&warm, Duration::from_secs(5))
        .await
        .unwrap();
    one.sessions().write_fenced(lock, &session).await.unwrap();
    one.sessions().remove(&warm).await.unwrap();
    skew.store(NEAR_EXPIRY, Ordering::SeqCst);
    let keeper = SharedTokenKeeper::new(
        AsyncDriver::new(realm_transport.clone()).clock(clock),
        realm_profile(),
        two.sessions(),
        sid.clone(),
        SharedKeeperOptions::default(),
    );
    let refresh_commands = commands_sent(&server, async {
        keeper.access_token().await.unwrap();
    })
    .await;
    let fresh_commands = commands_sent(&server, async {
        keeper.access_token().await.unwrap();
    })
    .await;
    let refreshed = one.sessions().get(&sid).await.unwrap().into_value();
    canaries.extend(session_secrets(&refreshed));

    // Internet banking: carol pauses for the captcha, then for her OTP; no snapshot ever holds
    // her password.
    let ciam_transport = Counting::new(&bank.base_url());
    let ciam_driver = AsyncDriver::new(ciam_transport).clock(clock);
    let ciam_cfg = CiamConfig::new(
        TEST_CLIENT_ID,
        TEST_REDIRECT_URI,
        DeviceToken::new(TEST_DEVICE_TOKEN),
    );
    let sealer = JweSealer::from_jwk(&bank.public_jwk_json()).unwrap();
    let bank_ciam = Bank::Ciam(&ciam_cfg, &sealer);
    let credentials = Credentials::new("carol", Password::new("carol-password"));
    let captcha_shown = ciam_driver
        .run(
            bank_ciam,
            Runner::ciam_login(credentials),
            &mut NoInteraction,
        )
        .await
        .unwrap_err()
        .flow
        .unwrap();
    assert!(
        matches!(captcha_shown, Flow::Ciam(ciam::State::CaptchaShown(_))),
        "{captcha_shown:?}"
    );
    let ciam_login = LoginId::generate().unwrap();
    assert!(!contains(
        captcha_shown.to_snapshot().expose(),
        b"carol-password"
    ));
    canaries.extend(snapshot_secrets(&captcha_shown));
    one.logins().put(&ciam_login, &captcha_shown).await.unwrap();
    sizes.push((
        "paused internet-banking login (CaptchaShown, with the captcha PNG)",
        strlen(&mut conn, format!("lf:{{{ciam_login}}}:login")),
    ));
    let flow = two.logins().take(&ciam_login).await.unwrap();
    let mut answers = Answers {
        captcha: Some("ABCD"),
        credentials: Some(("carol", "carol-password")),
        otp: None,
    };
    let mfa_pending = ciam_driver
        .resume(bank_ciam, flow, &mut answers)
        .await
        .unwrap_err()
        .flow
        .unwrap();
    assert!(
        matches!(mfa_pending, Flow::Ciam(ciam::State::MfaPending(_))),
        "{mfa_pending:?}"
    );
    assert!(
        !contains(mfa_pending.to_snapshot().expose(), b"carol-password"),
        "an internet-banking snapshot holds no credentials"
    );
    canaries.extend(snapshot_secrets(&mfa_pending));
    two.logins()
        .put_back(&ciam_login, &mfa_pending)
        .await
        .unwrap();
    sizes.push((
        "paused internet-banking login (MfaPending)",
        strlen(&mut conn, format!("lf:{{{ciam_login}}}:login")),
    ));
    let flow = one.logins().take(&ciam_login).await.unwrap();
    let ciam_session = ciam_driver
        .resume(bank_ciam, flow, &mut otp("123456"))
        .await
        .unwrap()
        .into_session()
        .unwrap();
    one.logins().finish(&ciam_login).await.unwrap();
    canaries.extend(session_secrets(&ciam_session));
    let ciam_sid = SessionId::generate().unwrap();
    two.sessions()
        .insert(&ciam_sid, &ciam_session)
        .await
        .unwrap();
    sizes.push(("internet-banking session", hstrlen(&mut conn, &ciam_sid)));

    // Scan every key and value, and every file Redis wrote.
    let dump = server.dump();
    assert!(!dump.is_empty());
    let files = server.files();
    assert!(
        files
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("appendonly")),
        "the AOF is there to scan"
    );
    let mut hits = Vec::new();
    for canary in &canaries {
        for (key, value) in &dump {
            if contains(key, canary.as_bytes()) || contains(value, canary.as_bytes()) {
                hits.push(format!("{canary} in {}", String::from_utf8_lossy(key)));
            }
        }
        for (path, bytes) in &files {
            // The server's log holds timestamps and pids: six digits occur there by chance.
            let log = path.extension().is_some_and(|e| e == "log");
            if !(log && canary.len() < 8) && contains(bytes, canary.as_bytes()) {
                hits.push(format!("{canary} in {}", path.display()));
            }
        }
    }
    assert!(hits.is_empty(), "secrets in clear: {hits:?}");
    assert!(canaries.len() >= 15, "{} canaries", canaries.len());

    println!("canaries checked: {}", canaries.len());
    for (what, bytes) in &sizes {
        println!("sealed bytes, {what}: {bytes}");
    }
    println!(
        "commands: access_token with a refresh {refresh_commands:?} (total {}), fresh {fresh_commands:?} (total {})",
        total(&refresh_commands),
        total(&fresh_commands)
    );
    assert_eq!(total(&fresh_commands), 1);
    assert_eq!(total(&refresh_commands), 3);
}
