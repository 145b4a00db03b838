//! Redis killed (SIGKILL) mid-run under two gateways and restarted on its append-only file:
//! requests during the outage get 503 `store_unavailable` with `Retry-After` within the command
//! timeout (no hang, no panic, no other answer), logins started after the restart succeed, and
//! logins paused before the kill (an OTP login and a captcha login, whose username record is in
//! Redis too) resume after the restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;

const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// Slack for a loaded 2-core machine on top of the command timeout (a request may wait for
/// two store commands, and the bank's own round trips).
const SLACK: Duration = Duration::from_secs(4);

#[track_caller]
fn unavailable(what: &str, reply: &Reply, took: Duration) {
    assert_eq!(
        reply.status,
        503,
        "{what}: {} {}",
        reply.status,
        reply.text()
    );
    assert_eq!(reply.json()["error"], "store_unavailable", "{what}");
    assert!(reply.header("retry-after").is_some(), "{what}: Retry-After");
    assert!(
        took <= COMMAND_TIMEOUT * 2 + SLACK,
        "{what} took {took:?}, beyond the command timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_and_restarted() {
    let mut redis = RedisServer::start();
    let bank = sandbox(true).await;
    let setup = Setup {
        redis: Some(redis.url()),
        command_timeout: COMMAND_TIMEOUT,
        ..Setup::default()
    };
    let one = gateway(&bank, &setup).await;
    let two = gateway(&bank, &setup).await;
    let (a, b) = (one.url(), two.url());
    let http = Http::new();

    // Paused before the crash: a realm login at its OTP, an internet-banking one at its captcha.
    let otp_login = http
        .start(&a, "cap", "bob", "bob-password")
        .await
        .str("login");
    let captcha_login = http.start(&b, "ciam", "carol", "carol-password").await;
    assert_eq!(captcha_login.json()["status"], "captcha_required");
    let captcha_login = captcha_login.str("login");
    let session = full_login(&http, &[&a, &b], 0, "cap", "alice", "alice-password")
        .await
        .unwrap();

    // Traffic on both instances while Redis dies: every answer is a success or a 503.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (http, stop, bases) = (http.clone(), stop.clone(), [a.clone(), b.clone()]);
        tokio::spawn(async move {
            let (mut ok, mut refused) = (0u32, 0u32);
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let bases = [bases[0].as_str(), bases[1].as_str()];
                match full_login(&http, &bases, n, "cap", "bob", "bob-password").await {
                    Ok(_) => ok += 1,
                    Err(reply) if reply.status == 503 => {
                        assert_eq!(
                            reply.json()["error"],
                            "store_unavailable",
                            "{}",
                            reply.text()
                        );
                        refused += 1;
                    }
                    // A login whose OTP step met the outage after its start: its flow may still
                    // be marked as being resumed, or gone; never anything else.
                    Err(reply) => panic!(
                        "traffic during the outage: {} {}",
                        reply.status,
                        reply.text()
                    ),
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (ok, refused)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.kill();

    for (what, base) in [("one", &a), ("two", &b)] {
        let t = Instant::now();
        let r = http.start(base, "cap", "alice", "alice-password").await;
        unavailable(&format!("start on {what}"), &r, t.elapsed());
        let t = Instant::now();
        let r = http.token(base, &session).await;
        unavailable(&format!("token on {what}"), &r, t.elapsed());
        let t = Instant::now();
        let r = http.otp(base, &otp_login, "123456").await;
        unavailable(&format!("otp on {what}"), &r, t.elapsed());
        let t = Instant::now();
        let r = http
            .captcha(base, &captcha_login, "ABCD", "carol-password")
            .await;
        unavailable(&format!("captcha on {what}"), &r, t.elapsed());
        let t = Instant::now();
        let r = http
            .delete(&format!("{base}/v1/sessions/{session}"), Some(API_KEY))
            .await;
        unavailable(&format!("delete on {what}"), &r, t.elapsed());
        http.get(&format!("{base}/healthz"), None)
            .await
            .expect(200, None);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let (ok, refused) = tokio::time::timeout(Duration::from_secs(60), traffic)
        .await
        .expect("the traffic ends")
        .unwrap();
    assert!(ok >= 1, "traffic ran before the kill");
    assert!(refused >= 1, "traffic met the outage");

    redis.restart();
    // The connections (each instance's store and username records) come back in the
    // background: until then a request gets a 503, never another answer.
    let deadline = Instant::now() + Duration::from_secs(30);
    for first in 0..4 {
        let api = if first % 2 == 0 { "cap" } else { "ciam" };
        loop {
            match full_login(&http, &[&a, &b], first, api, "carol", "carol-password").await {
                Ok(_) => break,
                Err(reply) => {
                    assert_eq!(reply.status, 503, "{}", reply.text());
                    assert!(Instant::now() < deadline, "no recovery after the restart");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    // Recovered: logins started now succeed at once.
    for first in 0..4 {
        let api = if first % 2 == 0 { "cap" } else { "ciam" };
        full_login(&http, &[&a, &b], first, api, "carol", "carol-password")
            .await
            .unwrap_or_else(|r| panic!("after the restart: {} {}", r.status, r.text()));
    }
    // Paused before the kill, resumed after the restart (from the AOF), on either instance.
    http.otp(&b, &otp_login, "123456").await.expect(201, None);
    let otp = http
        .captcha(&a, &captcha_login, "ABCD", "carol-password")
        .await;
    otp.expect(202, None);
    http.otp(&b, &captcha_login, "123456")
        .await
        .expect(201, None);
    // The session from before the kill is still there.
    http.token(&a, &session).await.expect(200, None);
    let errors = one.metrics();
    assert!(
        errors.contains(r#"gateway_store_errors_total{kind="store_unavailable"}"#),
        "{errors}"
    );
}
