//! What the drivers repeat and what they never do: 429 retries within the policy, no silent
//! retry of anything else, typed transport failures that keep the state, tracing without secrets,
//! `Send` futures.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Canned, Scripted, realm_answer};
use login_core::realm::{self, RealmConfig};
use login_core::secret::{ClientSecret, Otp, Password};
use login_core::table::StateId;
use login_core::{Answer, Bank, ErrorKind, Flow, Question, Runner, Session, TransportErrorKind};
use login_transport::{
    AsyncDriver, Driver, HyperTransport, Interaction, NoInteraction, RetryPolicy, Stopped,
    TransportConfig, UreqTransport,
};

fn cfg() -> RealmConfig {
    RealmConfig::new(
        "cap",
        "cap-mobile",
        ClientSecret::new("test-client-secret-CANARY"),
    )
}

fn start() -> Runner {
    Runner::login(realm::Start::new("alice", Password::new("password-CANARY")))
}

fn transport_config(url: &str) -> TransportConfig {
    TransportConfig::new(url).expect("loopback URL")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Whether a stop kept the realm flow in the state `state` matches.
fn kept(stopped: &Stopped, state: fn(&realm::State) -> bool) -> bool {
    matches!(&stopped.flow, Some(Flow::Realm(s)) if state(s))
}

/// Runs a realm login with the blocking driver, then with the async one, each against its own
/// fresh server from `make`, and hands both outcomes to `check`.
fn both_drivers(
    make: impl Fn() -> Scripted,
    policy: RetryPolicy,
    check: impl Fn(&str, Result<Session, Stopped>, &Scripted, Duration),
) {
    let cfg = cfg();
    let server = make();
    let transport = UreqTransport::new(transport_config(&server.server.url()));
    let driver = Driver::new(transport.expect("ureq transport")).retry(policy);
    let started = Instant::now();
    let outcome = driver.login(Bank::Realm(&cfg), start(), &mut NoInteraction);
    check("blocking", outcome, &server, started.elapsed());

    let server = make();
    let rt = runtime();
    let transport =
        HyperTransport::new(transport_config(&server.server.url())).expect("hyper transport");
    let started = Instant::now();
    let outcome = rt.block_on(async {
        AsyncDriver::new(transport.session())
            .retry(policy)
            .login(Bank::Realm(&cfg), start(), &mut NoInteraction)
            .await
    });
    check("async", outcome, &server, started.elapsed());
}

/// The first `throttled` request-login calls get 429 with `Retry-After: retry_after`.
fn throttling(throttled: usize, retry_after: &'static str) -> impl Fn() -> Scripted {
    move || {
        let left = Arc::new(Mutex::new(throttled));
        Scripted::start(move |line, _| {
            if line.starts_with("POST /auth/realm/cap/request ") {
                let mut left = left.lock().expect("not poisoned");
                if *left > 0 {
                    *left -= 1;
                    return Canned::new(429, r#"{"error":"rate_limited"}"#)
                        .header("Retry-After", retry_after);
                }
            }
            realm_answer(line, false, 300).unwrap_or_else(|| Canned::new(404, ""))
        })
    }
}

#[test]
fn a_429_is_repeated_after_retry_after() {
    both_drivers(
        throttling(1, "1"),
        RetryPolicy::default(),
        |name, outcome, server, took| {
            outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(server.count("POST /auth/realm/cap/request "), 2, "{name}");
            assert!(
                took >= Duration::from_secs(1),
                "{name}: waited Retry-After, took {took:?}"
            );
        },
    );
}

#[test]
fn retries_stop_at_the_policy_count_and_report_rate_limited() {
    both_drivers(
        throttling(5, "0"),
        RetryPolicy::default(),
        |name, outcome, server, _| {
            let stopped = outcome.expect_err("throttled past the policy");
            assert_eq!(stopped.kind(), Some(ErrorKind::RateLimited), "{name}");
            let error = stopped.error().expect("a step failed");
            assert_eq!(
                error.retry_after(),
                Some(login_core::response::RetryAfter::Delay(Duration::ZERO))
            );
            assert!(
                kept(&stopped, |s| matches!(s, realm::State::Start(_))),
                "{name}: the credentials are kept"
            );
            assert_eq!(
                server.count("POST /auth/realm/cap/request "),
                2,
                "{name}: one call and one retry"
            );
        },
    );
    both_drivers(
        throttling(5, "0"),
        RetryPolicy::new(3, Duration::from_secs(10)),
        |name, outcome, server, _| {
            assert_eq!(
                outcome.expect_err("throttled past the policy").kind(),
                Some(ErrorKind::RateLimited),
                "{name}"
            );
            assert_eq!(server.count("POST /auth/realm/cap/request "), 4, "{name}");
        },
    );
}

#[test]
fn a_retry_after_beyond_the_wait_bound_is_reported_at_once() {
    both_drivers(
        throttling(1, "60"),
        RetryPolicy::default(),
        |name, outcome, server, took| {
            let stopped = outcome.expect_err("the wait is too long");
            assert_eq!(
                stopped.error().expect("a step failed").retry_after(),
                Some(login_core::response::RetryAfter::Delay(
                    Duration::from_secs(60)
                )),
                "{name}"
            );
            assert_eq!(server.count("POST "), 1, "{name}");
            assert!(
                took < Duration::from_secs(2),
                "{name}: did not wait, took {took:?}"
            );
        },
    );
}

#[test]
fn a_server_fault_on_an_unsafe_call_is_never_repeated() {
    let make = || {
        Scripted::start(|line, _| {
            if line.starts_with("POST /auth/realm/cap/token ") {
                return Canned::new(503, "<html>down</html>");
            }
            realm_answer(line, false, 300).unwrap_or_else(|| Canned::new(404, ""))
        })
    };
    both_drivers(make, RetryPolicy::default(), |name, outcome, server, _| {
        let stopped = outcome.expect_err("the server failed");
        assert_eq!(stopped.kind(), Some(ErrorKind::ServerError), "{name}");
        assert!(
            kept(&stopped, |s| matches!(s, realm::State::Challenged(_))),
            "{name}: state kept"
        );
        assert_eq!(
            server.count("POST /auth/realm/cap/token "),
            1,
            "{name}: not repeated"
        );
    });
}

#[test]
fn a_connection_reset_is_a_typed_failure_that_keeps_the_state() {
    let make = || {
        Scripted::start(|line, _| {
            if line.starts_with("POST /auth/realm/cap/token ") {
                // Declares 100 bytes, sends 2, closes: the response is lost mid-way.
                return Canned::cut_off();
            }
            realm_answer(line, false, 300).unwrap_or_else(|| Canned::new(404, ""))
        })
    };
    both_drivers(make, RetryPolicy::default(), |name, outcome, server, _| {
        let stopped = outcome.expect_err("the response was cut off");
        assert_eq!(
            stopped.kind(),
            Some(ErrorKind::Transport(TransportErrorKind::Reset)),
            "{name}"
        );
        assert!(
            kept(&stopped, |s| matches!(s, realm::State::Challenged(_))),
            "{name}: state kept for a retry"
        );
        assert_eq!(
            server.count("POST /auth/realm/cap/token "),
            1,
            "{name}: not repeated"
        );
    });
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct OtpCanary;

impl Interaction for OtpCanary {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        matches!(question, Question::Otp { .. }).then(|| Answer::Otp(Otp::new("OTP-CANARY")))
    }
}

#[test]
fn every_call_is_traced_with_its_fields_and_no_secret() {
    // The login call is throttled once, so its repeat shows as a span of its own.
    let throttled = Arc::new(Mutex::new(1));
    let server = Scripted::start(move |line, _| {
        if line.starts_with("POST /auth/realm/cap/request ") {
            let mut left = throttled.lock().expect("not poisoned");
            if *left > 0 {
                *left -= 1;
                return Canned::new(429, r#"{"error":"rate_limited"}"#).header("Retry-After", "0");
            }
        }
        let canned = realm_answer(line, true, 300).unwrap_or_else(|| Canned::new(404, ""));
        // Tokens in the answer: they must not be logged either.
        let body = String::from_utf8(canned.body).expect("canned bodies are UTF-8");
        Canned {
            body: body.replace("first-access", "ACCESS-CANARY").into_bytes(),
            ..canned
        }
    });
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let transport = UreqTransport::new(transport_config(&server.server.url()));
    let driver = Driver::new(transport.expect("ureq transport"));
    let cfg = cfg();
    tracing::subscriber::with_default(subscriber, || {
        driver
            .login(Bank::Realm(&cfg), start(), &mut OtpCanary)
            .expect("the login succeeds after one retry");
    });
    let log = String::from_utf8(buffer.0.lock().expect("not poisoned").clone())
        .expect("the log is UTF-8");
    for expected in [
        "api=\"realm\"",
        "method=\"POST\"",
        "path=\"/auth/realm/cap/request\"",
        "path=\"/auth/realm/cap/token\"",
        "duration_ms=",
    ] {
        assert!(log.contains(expected), "missing {expected} in:\n{log}");
    }
    // One closed span per HTTP call, in order: the throttled call, its repeat, the OTP call.
    let closed: Vec<(&str, &str, &str)> = log
        .lines()
        .filter(|l| l.contains("login_step{") && l.contains("close"))
        .map(|l| (field(l, "step"), field(l, "status"), field(l, "retries")))
        .collect();
    assert_eq!(
        closed,
        [
            ("\"request_login\"", "429", "0"),
            ("\"request_login\"", "201", "1"),
            ("\"token\"", "201", "0"),
        ],
        "spans in:\n{log}"
    );
    for secret in ["CANARY", "req-1", "first-refresh"] {
        assert!(!log.contains(secret), "{secret} leaked into:\n{log}");
    }
}

/// The value of `name=` in a formatted span line (empty when absent).
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=");
    let key_first = format!("{{{name}=");
    let at = line
        .find(&key)
        .map(|i| i + key.len())
        .or_else(|| line.find(&key_first).map(|i| i + key_first.len()));
    at.map(|i| {
        let rest = &line[i..];
        let end = rest.find([' ', '}']).unwrap_or(rest.len());
        &rest[..end]
    })
    .unwrap_or_default()
}

/// Any valid P-256 public JWK.
const JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}"#;

#[test]
fn async_driver_futures_are_send() {
    fn assert_send<T: Send>(_: T) {}
    let transport = HyperTransport::new(transport_config("https://bank.example"));
    let driver = AsyncDriver::new(transport.expect("hyper transport").session());
    let cfg = cfg();
    let mut ia = NoInteraction;
    assert_send(driver.login(Bank::Realm(&cfg), start(), &mut ia));
    let ciam_cfg = login_core::ciam::CiamConfig::new(
        "c",
        "https://app.example/cb",
        login_core::secret::DeviceToken::new("test-device-token"),
    );
    let sealer = login_core::seal::JweSealer::from_jwk(JWK).expect("a valid JWK");
    let creds = login_core::ciam::Credentials::new("alice", Password::new("pw"));
    let bank = Bank::Ciam(&ciam_cfg, &sealer);
    assert_send(driver.login(bank, Runner::ciam_login(creds), &mut ia));
}

#[test]
fn a_configuration_that_would_split_a_header_stops_before_any_request() {
    use login_core::ciam::{CiamConfig, Credentials};
    use login_core::seal::JweSealer;
    use login_core::secret::DeviceToken;
    let server = Scripted::start(|_, _| Canned::new(500, ""));
    let cfg = CiamConfig::new(
        "ib-web",
        "https://app.example/cb",
        DeviceToken::new("device\r\nX-Injected: 1"),
    );
    // The flow must stop before sealing anything.
    let sealer = JweSealer::from_jwk(JWK).expect("a valid JWK");
    let login = || Runner::ciam_login(Credentials::new("alice", Password::new("password-CANARY")));
    let url = server.server.url();
    let transport = UreqTransport::new(transport_config(&url)).expect("ureq transport");
    let blocking =
        Driver::new(transport).login(Bank::Ciam(&cfg, &sealer), login(), &mut NoInteraction);
    let transport = HyperTransport::new(transport_config(&url)).expect("hyper transport");
    let asynchronous = runtime().block_on(async {
        AsyncDriver::new(transport.session())
            .login(Bank::Ciam(&cfg, &sealer), login(), &mut NoInteraction)
            .await
    });
    for outcome in [blocking, asynchronous] {
        let stopped = outcome.expect_err("the configuration is refused");
        let kinds = stopped.kind();
        // Nothing was sent: no flow past its start survives.
        let state = stopped.flow.as_ref().map(Flow::state_id);
        assert!(matches!(state, None | Some(StateId::Start)), "{stopped:?}");
        assert_eq!(server.server.accepted(), 0, "no request may go out");
        assert_eq!(kinds, Some(ErrorKind::Config), "{stopped}");
    }
}
