//! Test support: a real `redis-server` on a Unix socket in a temp dir (killed on drop; the
//! approach of login-store's tests), the sandbox bank on loopback, gateways in-process on free
//! loopback ports, a small HTTP client, and a capture of the gateway's logs for canaries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

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

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "lgw-{tag}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `redis-server` with no TCP port, on a Unix socket in its own temp dir, with an append-only
/// file fsynced at every write. Killed (SIGKILL) on drop.
pub struct RedisServer {
    child: Option<Child>,
    dir: TempDir,
}

impl RedisServer {
    pub fn start() -> Self {
        let mut server = Self {
            child: None,
            dir: TempDir::new("redis"),
        };
        server.spawn();
        server
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("r.sock")
    }

    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    fn spawn(&mut self) {
        let dir = self.dir.path();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}); install it: apt-get install -y redis-server"
                )
            });
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until the server answers PING with PONG (not LOADING).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut s) = UnixStream::connect(self.socket()) {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok();
                let mut buf = [0u8; 64];
                if s.write_all(b"PING\r\n").is_ok()
                    && let Ok(n) = s.read(&mut buf)
                    && buf[..n].starts_with(b"+PONG")
                {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not come up; see {}",
                self.dir.path().join("redis.log").display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again in the same directory (the AOF is loaded).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Every key and every value (strings and hash fields), raw.
    pub fn dump(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut conn = redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let mut cursor = 0u64;
        let mut keys: Vec<Vec<u8>> = Vec::new();
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn)
                .unwrap();
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let mut out = Vec::new();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
            let values: Vec<Vec<u8>> = match kind.as_str() {
                "string" => vec![redis::cmd("GET").arg(&key).query(&mut conn).unwrap()],
                "hash" => redis::cmd("HGETALL").arg(&key).query(&mut conn).unwrap(),
                "none" => vec![],
                other => panic!("unexpected key type {other}"),
            };
            for value in values {
                out.push((key.clone(), value));
            }
        }
        out
    }

    /// Every file in the server's directory (the AOF parts, the log), raw.
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

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
            command_timeout: Duration::from_secs(2),
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
