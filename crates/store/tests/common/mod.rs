//! Test support: a real `redis-server` on a Unix socket in a temp dir (killed on drop), keys,
//! and synthetic flows and sessions.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use login_core::secret::{ClientSecret, Password};
use login_core::{Flow, Response, Session, realm};
use login_store::seal::{Keyring, SealKey};
use login_store::{Store, StoreOptions};

/// A fixed test key (standard base64 of bytes 0..32).
pub const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn keyring() -> Keyring {
    Keyring::from_base64("t1", KEY_B64).unwrap()
}

pub fn random_keyring(kid: &str) -> Keyring {
    Keyring::new(SealKey::generate(kid).unwrap())
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
            "lstore-{tag}-{}-{}-{nanos}",
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
    extra: Vec<String>,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// With more server arguments (e.g. `--requirepass`).
    pub fn start_with(extra: &[&str]) -> Self {
        let mut server = Self {
            child: None,
            dir: TempDir::new("redis"),
            extra: extra.iter().map(|a| a.to_string()).collect(),
        };
        server.spawn();
        server
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
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
            .args(&self.extra)
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

    /// Waits until the server answers PING with PONG (not LOADING), or asks for a password.
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut s) = UnixStream::connect(self.socket()) {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok();
                let mut buf = [0u8; 64];
                if s.write_all(b"PING\r\n").is_ok()
                    && let Ok(n) = s.read(&mut buf)
                    && (buf[..n].starts_with(b"+PONG") || buf[..n].starts_with(b"-NOAUTH"))
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

    #[cfg(feature = "redis")]
    /// A plain (blocking) connection for inspection.
    pub fn inspect(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    #[cfg(feature = "redis")]
    /// Every key and every value (strings and hash fields), raw.
    pub fn dump(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut conn = self.inspect();
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

#[cfg(feature = "redis")]
pub async fn redis_store(server: &RedisServer, keyring: Keyring, options: StoreOptions) -> Store {
    Store::connect_redis(&server.url(), keyring, options)
        .await
        .unwrap()
}

pub fn realm_cfg() -> realm::RealmConfig {
    realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("test-client-secret"))
}

/// A realm login paused for its OTP, expiring `exp` seconds from now.
pub fn paused_login(req_id: &str, exp: u64) -> Flow {
    let (_request, pending) =
        realm::Start::new("bob", Password::new("canary-password")).request_login(&realm_cfg());
    let body = format!(r#"{{"reqId":"{req_id}","exp":{exp},"mfa":"otp","refId":"K2"}}"#);
    match pending.receive(&Response::new(201, body.into_bytes()), SystemTime::now()) {
        Ok(realm::LoginStarted::MfaPending(m)) => Flow::from(m),
        other => panic!("not paused: {other:?}"),
    }
}

/// A realm session with the given tokens, its access token living `expires` seconds.
pub fn session(access: &str, refresh: &str, expires: u64) -> Session {
    let now = SystemTime::now();
    let (_r, p) = realm::Start::new("alice", Password::new("pw")).request_login(&realm_cfg());
    let Ok(realm::LoginStarted::Challenged(c)) = p.receive(
        &Response::new(201, br#"{"reqId":"r","exp":300,"mfa":"none"}"#.to_vec()),
        now,
    ) else {
        panic!("challenged")
    };
    let (_r, p) = c.exchange(&realm_cfg());
    let body = format!(
        r#"{{"accessToken":"{access}","refreshToken":"{refresh}","expires":{expires},"refreshExpires":1800}}"#
    );
    Flow::from(
        p.receive(&Response::new(201, body.into_bytes()), now)
            .unwrap(),
    )
    .into_session()
    .unwrap()
}

pub fn realm_req_id(flow: &Flow) -> String {
    let snapshot = flow.to_snapshot();
    let json: serde_json::Value = serde_json::from_slice(snapshot.expose()).unwrap();
    let mut found = Vec::new();
    collect_strings(&json, &mut found);
    found
        .into_iter()
        .find(|s| s.starts_with("req-"))
        .unwrap_or_default()
}

/// Every string in a JSON value.
pub fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(feature = "redis")]
/// Counts the commands clients send while `ops` runs, with `MONITOR` (commands a script runs
/// inside Redis are shown as `[0 lua]` and not counted).
pub async fn commands_sent<F: std::future::Future<Output = ()>>(
    server: &RedisServer,
    ops: F,
) -> HashMap<String, usize> {
    let mut monitor = Command::new("redis-cli")
        .arg("-s")
        .arg(server.socket())
        .arg("monitor")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-cli (installed with redis-server)");
    let stdout = monitor.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // MONITOR answers OK once it is on.
    let ok = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(ok, "OK");
    ops.await;
    // A marker command shows when everything before it has been seen.
    let mut conn = server.inspect();
    let _: () = redis::cmd("ECHO")
        .arg("end-of-measure")
        .query(&mut conn)
        .unwrap();
    let mut counts = HashMap::new();
    loop {
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        if line.contains("end-of-measure") {
            break;
        }
        if line.contains(" lua]") {
            continue;
        }
        // 1700000000.123456 [0 unix:/path] "EVALSHA" "..." ...
        let command = line.split('"').nth(1).unwrap_or("?").to_ascii_uppercase();
        *counts.entry(command).or_insert(0) += 1;
    }
    let _ = monitor.kill();
    let _ = monitor.wait();
    let _ = reader.join();
    counts
}

pub fn total(counts: &HashMap<String, usize>) -> usize {
    counts.values().sum()
}
