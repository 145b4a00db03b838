//! What the drivers repeat and what they never do: 429 retries within the policy, no silent
//! retry of anything else, typed transport failures that keep the state, tracing without secrets,
//! `Send` futures.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Canned, Scripted, realm_answer};
use login_core::realm::{self, RealmConfig};
use login_core::secret::{ClientSecret, Otp, Password};
use login_core::{ErrorKind, TransportErrorKind};
use login_transport::{
    AsyncDriver, Driver, HyperTransport, Interaction, NoInteraction, OtpPrompt, RetryPolicy,
    Stopped, TransportConfig, UreqTransport,
};

fn cfg() -> RealmConfig {
    RealmConfig::new(
        "cap",
        "cap-mobile",
        ClientSecret::new("test-client-secret-CANARY"),
    )
}

fn start() -> realm::Start {
    realm::Start::new("alice", Password::new("password-CANARY"))
}

/// Runs a realm login with the blocking driver, then with the async one, each against its own
/// fresh server from `make`, and hands both outcomes to `check`.
fn both_drivers(
    make: impl Fn() -> Scripted,
    policy: RetryPolicy,
    check: impl Fn(&str, Result<realm::Tokened, Stopped<realm::State>>, &Scripted, Duration),
) {
    let server = make();
    let driver = Driver::new(
        UreqTransport::new(TransportConfig::new(&server.server.url()).unwrap()).unwrap(),
    )
    .retry(policy);
    let started = Instant::now();
    let outcome = driver.realm_login(&cfg(), start(), &mut NoInteraction);
    check("blocking", outcome, &server, started.elapsed());

    let server = make();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let transport =
        HyperTransport::new(TransportConfig::new(&server.server.url()).unwrap()).unwrap();
    let started = Instant::now();
    let outcome = rt.block_on(async {
        AsyncDriver::new(transport.session())
            .retry(policy)
            .realm_login(&cfg(), start(), &mut NoInteraction)
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
                let mut left = left.lock().unwrap();
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
            let stopped = outcome.unwrap_err();
            assert_eq!(stopped.kind(), Some(ErrorKind::RateLimited), "{name}");
            assert_eq!(stopped.error().unwrap().retry_after(), Some(Duration::ZERO));
            assert!(
                matches!(stopped.state, Some(realm::State::Start(_))),
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
                outcome.unwrap_err().kind(),
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
            let stopped = outcome.unwrap_err();
            assert_eq!(
                stopped.error().unwrap().retry_after(),
                Some(Duration::from_secs(60)),
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
        let stopped = outcome.unwrap_err();
        assert_eq!(stopped.kind(), Some(ErrorKind::ServerError), "{name}");
        assert!(
            matches!(stopped.state, Some(realm::State::Challenged(_))),
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
        let stopped = outcome.unwrap_err();
        assert_eq!(
            stopped.kind(),
            Some(ErrorKind::Transport(TransportErrorKind::Reset)),
            "{name}"
        );
        assert!(
            matches!(stopped.state, Some(realm::State::Challenged(_))),
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
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct OtpCanary;

impl Interaction for OtpCanary {
    fn otp(&mut self, _prompt: &OtpPrompt<'_>) -> Option<Otp> {
        Some(Otp::new("OTP-CANARY"))
    }
}

#[test]
fn every_step_is_traced_with_its_fields_and_no_secret() {
    let server = Scripted::start(|line, _| {
        let canned = realm_answer(line, true, 300).unwrap_or_else(|| Canned::new(404, ""));
        // Tokens in the answer: they must not be logged either.
        Canned {
            body: String::from_utf8(canned.body)
                .unwrap()
                .replace("first-access", "ACCESS-CANARY")
                .into_bytes(),
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
    let driver = Driver::new(
        UreqTransport::new(TransportConfig::new(&server.server.url()).unwrap()).unwrap(),
    );
    tracing::subscriber::with_default(subscriber, || {
        driver.realm_login(&cfg(), start(), &mut OtpCanary).unwrap();
    });
    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "login_step",
        "api=\"realm\"",
        "step=\"request_login\"",
        "step=\"token\"",
        "method=\"POST\"",
        "path=\"/auth/realm/cap/request\"",
        "status=201",
        "duration_ms=",
        "retries=0",
    ] {
        assert!(log.contains(expected), "missing {expected} in:\n{log}");
    }
    for secret in ["CANARY", "req-1", "first-refresh"] {
        assert!(!log.contains(secret), "{secret} leaked into:\n{log}");
    }
}

#[test]
fn async_driver_and_keeper_futures_are_send() {
    fn assert_send<T: Send>(_: T) {}
    let transport =
        HyperTransport::new(TransportConfig::new("https://bank.example").unwrap()).unwrap();
    let driver = AsyncDriver::new(transport.session());
    let cfg = cfg();
    let mut ia = NoInteraction;
    assert_send(driver.realm_login(&cfg, start(), &mut ia));
    let ciam_cfg = login_core::ciam::CiamConfig::new(
        "c",
        "https://app.example/cb",
        login_core::secret::DeviceToken::new("test-device-token"),
    );
    let sealer = NoSeal;
    let creds = login_core::ciam::Credentials::new("alice", Password::new("pw"));
    assert_send(driver.ciam_login(&ciam_cfg, &sealer, creds, &mut ia));
}

struct NoSeal;

impl login_core::seal::CredentialSealer for NoSeal {
    fn seal(
        &self,
        _plaintext: &[u8],
        _entropy: &mut dyn login_core::entropy::Entropy,
    ) -> Result<login_core::secret::FlowSecret, login_core::Error> {
        Err(login_core::error::SealError::Encrypt.into())
    }
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
    // Any valid P-256 public JWK: the flow must stop before sealing anything.
    let jwk = r#"{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}"#;
    let sealer = JweSealer::from_jwk(jwk).unwrap();
    let credentials = || Credentials::new("alice", Password::new("password-CANARY"));
    let url = server.server.url();
    let blocking = Driver::new(UreqTransport::new(TransportConfig::new(&url).unwrap()).unwrap())
        .ciam_login(&cfg, &sealer, credentials(), &mut NoInteraction);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let transport = HyperTransport::new(TransportConfig::new(&url).unwrap()).unwrap();
    let asynchronous = rt.block_on(async {
        AsyncDriver::new(transport.session())
            .ciam_login(&cfg, &sealer, credentials(), &mut NoInteraction)
            .await
    });
    for outcome in [blocking, asynchronous] {
        let stopped = outcome.unwrap_err();
        assert_eq!(stopped.kind(), Some(ErrorKind::Config));
        assert!(stopped.state.is_none());
    }
    assert_eq!(server.server.accepted(), 0, "no request may go out");
}
