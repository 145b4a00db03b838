//! Redis killed (SIGKILL) mid-run and restarted on its append-only file: operations during the
//! outage fail with `Unavailable` within the command timeout (no hang, no panic), operations
//! after the restart succeed on the same store (reconnected in the background), and a login put
//! before the crash is still there to take.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use login_store::{LoginId, SessionId, Store, StoreError, StoreOptions};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// Slack for a loaded machine on top of the command timeout.
const SLACK: Duration = Duration::from_millis(1500);

/// Runs `op`, which must fail with `Unavailable` within the command timeout (plus slack).
async fn unavailable<T: std::fmt::Debug>(
    what: &str,
    op: impl Future<Output = Result<T, StoreError>>,
) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), op)
        .await
        .unwrap_or_else(|_| panic!("{what} hung during the outage"));
    let took = started.elapsed();
    assert!(
        matches!(outcome, Err(StoreError::Unavailable { .. })),
        "{what}: {outcome:?}"
    );
    assert!(
        took <= COMMAND_TIMEOUT + SLACK,
        "{what} took {took:?}, beyond the command timeout"
    );
    if let Err(e) = outcome {
        assert_eq!(e.http_status(), 503);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_and_restarted() {
    let mut server = RedisServer::start();
    let options = StoreOptions::default().command_timeout(COMMAND_TIMEOUT);
    let store = redis_store(&server, keyring(), options.clone()).await;
    let logins = store.logins();
    let sessions = store.sessions();

    let before = LoginId::generate().unwrap();
    logins
        .put(&before, &paused_login("req-before-crash", 300))
        .await
        .unwrap();
    let sid = SessionId::generate().unwrap();
    let v1 = sessions
        .insert(&sid, &session("a-before", "r-before", 300))
        .await
        .unwrap();

    // Traffic keeps flowing while Redis dies: every outcome is a success or `Unavailable`.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut ok, mut unavailable) = (0u32, 0u32);
            while !stop.load(Ordering::SeqCst) {
                let id = LoginId::generate().unwrap();
                let flow = paused_login("req-traffic", 300);
                let outcome = match store.logins().put(&id, &flow).await {
                    Ok(()) => store.logins().take(&id).await.map(drop),
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(()) => ok += 1,
                    Err(StoreError::Unavailable { .. }) => unavailable += 1,
                    Err(other) => panic!("traffic during the outage: {other:?}"),
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (ok, unavailable)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();

    unavailable(
        "put",
        logins.put(
            &LoginId::generate().unwrap(),
            &paused_login("req-during", 300),
        ),
    )
    .await;
    unavailable("take", logins.take(&before)).await;
    unavailable(
        "put_back",
        logins.put_back(&before, &paused_login("req-during", 300)),
    )
    .await;
    unavailable("finish", logins.finish(&before)).await;
    unavailable("get", sessions.get(&sid)).await;
    unavailable(
        "insert",
        sessions.insert(&SessionId::generate().unwrap(), &session("a", "r", 300)),
    )
    .await;
    unavailable("try_lock", sessions.try_lock(&sid, Duration::from_secs(5))).await;
    unavailable(
        "compare_and_set",
        sessions.compare_and_set(&sid, v1, &session("a", "r", 300)),
    )
    .await;
    unavailable("remove", sessions.remove(&SessionId::generate().unwrap())).await;
    // A new instance starting during the outage does not hang either.
    unavailable("connect", async {
        Store::connect_redis(&server.url(), keyring(), options.clone())
            .await
            .map(drop)
    })
    .await;

    server.restart();
    let restarted = Instant::now();
    // The same store reconnects by itself; the first calls may still see the old connection.
    let mut failures = 0;
    let stored = loop {
        match sessions.get(&sid).await {
            Ok(stored) => break stored,
            Err(StoreError::Unavailable { .. }) => failures += 1,
            Err(e) => panic!("after the restart: {e:?}"),
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(20),
            "no reconnection 20 s after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "reconnected {:?} after the restart, {failures} call(s) failed meanwhile",
        restarted.elapsed()
    );
    assert_eq!(stored.value().tokens().access_token().expose(), "a-before");
    stop.store(true, Ordering::SeqCst);
    let (ok, unavailable_count) = traffic.await.unwrap();
    println!("traffic: {ok} put+take succeeded, {unavailable_count} unavailable");
    assert!(ok > 0 && unavailable_count > 0);

    // The login put before the crash survived it (append-only file), and is taken once.
    let flow = logins.take(&before).await.unwrap();
    assert!(matches!(
        flow,
        login_core::Flow::Realm(login_core::realm::State::MfaPending(_))
    ));
    assert_eq!(logins.take(&before).await.unwrap_err(), StoreError::Busy);
    // Everything works again.
    let after = LoginId::generate().unwrap();
    logins
        .put(&after, &paused_login("req-after", 300))
        .await
        .unwrap();
    logins.take(&after).await.unwrap();
    let lock = sessions
        .try_lock(&sid, Duration::from_secs(5))
        .await
        .unwrap();
    sessions
        .write_fenced(lock, &session("a-after", "r-after", 300))
        .await
        .unwrap();
}
