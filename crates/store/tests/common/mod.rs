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

pub use test_redis::{RedisServer, TempDir, contains};

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
