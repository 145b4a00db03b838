//! Test support: a real `redis-server` (the workspace's `test-redis`, shared with login-store's
//! tests), the sandbox bank on loopback, gateways in-process on free
//! loopback ports, a small HTTP client, and a capture of the gateway's logs for canaries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use login_core::ciam::CiamConfig;
use login_core::realm::RealmConfig;
use login_core::seal::JweSealer;
use login_core::secret::{ClientSecret, DeviceToken};
use login_sandbox::config::{
    AnomalyMode, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
};
use login_sandbox::{RunningSandbox, Sandbox, SandboxConfig};
use login_store::StoreOptions;
use login_store::seal::Keyring;
use loginflow_gateway::{ApiKey, Gateway, GatewayConfig, RunningGateway};
use serde_json::{Value, json};

/// A fixed test key (standard base64 of bytes 0..32).
pub const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The internal API key of the test gateways.
pub const API_KEY: &str = "test-internal-api-key-0f1e2d3c";

pub fn keyring() -> Keyring {
    Keyring::from_base64("t1", KEY_B64).unwrap()
}

#[allow(unused_imports)] // each test binary uses its own part
pub use test_redis::{RedisServer, TempDir, contains};

/// The sandbox for gateway tests: the test users, no throttles (thousands of logins of three
/// users), internet banking with a captcha and an OTP on every login when `hard` is set.
pub fn sandbox_config(hard: bool) -> SandboxConfig {
    let mut config = SandboxConfig::for_tests();
    config.throttle.login_per_user = None;
    config.throttle.otp_send_per_user = None;
    config.throttle.requests_per_ip = None;
    if hard {
        config.captcha_required = true;
        config.anomaly = AnomalyMode::Always;
    }
    config
}

pub async fn sandbox(hard: bool) -> RunningSandbox {
    Sandbox::start(sandbox_config(hard)).await.unwrap()
}

/// How a test gateway is set up.
#[derive(Clone)]
pub struct Setup {
    pub redis: Option<String>,
    pub clock: fn() -> SystemTime,
    pub command_timeout: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            redis: None,
            clock: SystemTime::now,
            // Generous: the load tests put 200 logins in flight on two cores beside the
            // sandbox's password hashing, and what they check is correctness, not latency; a
            // tight bound could fail them on a loaded machine with nothing wrong. The outage
            // tests set their own short timeout.
            command_timeout: Duration::from_secs(10),
        }
    }
}

/// The configuration of a test gateway on `bank`, listening on a free loopback port.
pub fn gateway_config(bank: &RunningSandbox, setup: &Setup) -> GatewayConfig {
    let realm = RealmConfig::new("cap", TEST_CLIENT_ID, ClientSecret::new(TEST_CLIENT_SECRET));
    let ciam = CiamConfig::new(
        TEST_CLIENT_ID,
        TEST_REDIRECT_URI,
        DeviceToken::new(TEST_DEVICE_TOKEN),
    );
    let sealer = JweSealer::from_jwk(&bank.public_jwk_json()).unwrap();
    let mut config = GatewayConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        keyring(),
        ApiKey::new(API_KEY).unwrap(),
    )
    .realm(&bank.realm_base_url(), realm)
    .unwrap()
    .ciam(&bank.base_url(), ciam, sealer)
    .unwrap();
    if let Some(url) = &setup.redis {
        config = config.redis(url);
    }
    config.clock = setup.clock;
    config.store_options = StoreOptions::default()
        .command_timeout(setup.command_timeout)
        .clock(setup.clock);
    config
}

pub async fn gateway(bank: &RunningSandbox, setup: &Setup) -> RunningGateway {
    Gateway::new(gateway_config(bank, setup))
        .await
        .unwrap()
        .spawn()
        .await
        .unwrap()
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn str(&self, field: &str) -> String {
        self.json()[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field} in {} {}", self.status, self.text()))
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts the status and, for an error, the kind.
    #[track_caller]
    pub fn expect(&self, status: u16, kind: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.text());
        if let Some(kind) = kind {
            assert_eq!(self.json()["error"], kind, "{}", self.text());
        }
    }
}

/// A small HTTP/1.1 client (hyper-util's pooled client).
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    pub fn new() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(256)
                .build_http(),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut request = hyper::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request.body(Full::new(Bytes::from(body))).unwrap();
        let response = tokio::time::timeout(Duration::from_secs(60), self.client.request(request))
            .await
            .unwrap_or_else(|_| panic!("{method} {url} did not answer within 60 s"))
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post_json(&self, url: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            url,
            &[("content-type", "application/json")],
            body.to_string().into_bytes(),
        )
        .await
    }

    pub async fn get(&self, url: &str, key: Option<&str>) -> Reply {
        let auth = key.map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.send("GET", url, &headers, Vec::new()).await
    }

    pub async fn delete(&self, url: &str, key: Option<&str>) -> Reply {
        let auth = key.map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.send("DELETE", url, &headers, Vec::new()).await
    }

    pub async fn start(&self, base: &str, api: &str, user: &str, password: &str) -> Reply {
        self.post_json(
            &format!("{base}/v1/logins"),
            &json!({"api": api, "username": user, "password": password}),
        )
        .await
    }

    pub async fn otp(&self, base: &str, login: &str, otp: &str) -> Reply {
        self.post_json(
            &format!("{base}/v1/logins/{login}/otp"),
            &json!({"otp": otp}),
        )
        .await
    }

    pub async fn captcha(&self, base: &str, login: &str, answer: &str, password: &str) -> Reply {
        self.post_json(
            &format!("{base}/v1/logins/{login}/captcha"),
            &json!({"answer": answer, "password": password}),
        )
        .await
    }

    pub async fn token(&self, base: &str, session: &str) -> Reply {
        self.get(
            &format!("{base}/v1/sessions/{session}/token"),
            Some(API_KEY),
        )
        .await
    }
}

/// Logs a whole login to its session, answering whatever is asked (captcha `ABCD`, OTP
/// `123456`), each request going to the next of `bases` in turn (starting at `first`).
/// Returns the session id, or the first unexpected answer.
pub async fn full_login(
    http: &Http,
    bases: &[&str],
    first: usize,
    api: &str,
    user: &str,
    password: &str,
) -> Result<String, Reply> {
    let mut n = first;
    let mut next = || {
        let base = bases[n % bases.len()];
        n += 1;
        base
    };
    let mut reply = http.start(next(), api, user, password).await;
    for _ in 0..4 {
        match (reply.status, reply.json()["status"].as_str()) {
            (201, Some("authenticated")) => return Ok(reply.str("session")),
            (202, Some("otp_required")) => {
                let login = reply.str("login");
                reply = http.otp(next(), &login, "123456").await;
            }
            (202, Some("captcha_required")) => {
                let login = reply.str("login");
                reply = http.captcha(next(), &login, "ABCD", password).await;
            }
            _ => return Err(reply),
        }
    }
    Err(reply)
}

/// Everything the gateways (and the crates under them) logged in this test process, at debug
/// level, for canaries.
pub fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(|| LogSink)
            .try_init();
    });
}

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogSink;

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured logs so far.
pub fn logs() -> Vec<u8> {
    LOGS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Defines a clock that runs `SKEW` seconds ahead, settable per test, so a session can be made
/// "about to expire" without waiting; the gateways judge tokens by it.
#[macro_export]
macro_rules! skewed_clock {
    () => {{
        static SKEW: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        fn clock() -> std::time::SystemTime {
            std::time::SystemTime::now()
                + std::time::Duration::from_secs(SKEW.load(std::sync::atomic::Ordering::SeqCst))
        }
        (&SKEW, clock as fn() -> std::time::SystemTime)
    }};
}

/// Removes `data:` URIs (base64 images) from a page before it is scanned for canaries: four
/// letters such as a captcha answer can occur in base64 by chance.
pub fn without_data_uris(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(at) = rest.find("data:image/png;base64,") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(['"', '\'', '<']).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}
