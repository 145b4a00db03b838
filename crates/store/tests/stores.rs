//! The login and session stores, each test on both backends (memory, and a real Redis started
//! by the test): take-once under concurrency, put-back, TTLs, compare-and-set, the refresh lock
//! and its fence, and the measured size and command count of each operation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use login_core::{Flow, realm};
use login_store::{LoginId, SessionId, Store, StoreError, StoreOptions};

/// Runs `test` on a memory store and on a Redis store (two clients of one server where the test
/// asks for two instances).
macro_rules! on_both {
    ($memory:ident, $redis:ident, $test:ident, $options:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $memory() {
            let store = Store::in_memory(keyring(), $options);
            $test(store.clone(), store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $redis() {
            let server = RedisServer::start();
            let one = redis_store(&server, keyring(), $options).await;
            let two = redis_store(&server, keyring(), $options).await;
            $test(one, two).await;
        }
    };
}

async fn take_once_under_concurrency(one: Store, two: Store) {
    let id = LoginId::generate().unwrap();
    one.logins()
        .put(&id, &paused_login("req-concurrent", 300))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let logins = if i % 2 == 0 {
                one.logins()
            } else {
                two.logins()
            };
            let id = id.clone();
            tokio::spawn(async move { logins.take(&id).await })
        })
        .collect();
    let (mut taken, mut busy) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(Flow::Realm(realm::State::MfaPending(_))) => taken += 1,
            Err(StoreError::Busy) => busy += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(
        (taken, busy),
        (1, 199),
        "exactly one caller resumes the login"
    );
}

on_both!(
    take_once_under_concurrency_in_memory,
    take_once_under_concurrency_on_redis,
    take_once_under_concurrency,
    StoreOptions::default()
);

async fn put_back_after_a_wrong_otp(one: Store, two: Store) {
    let id = LoginId::generate().unwrap();
    let flow = paused_login("req-put-back", 300);
    one.logins().put(&id, &flow).await.unwrap();
    assert_eq!(
        one.logins().put(&id, &flow).await.unwrap_err(),
        StoreError::Conflict,
        "an id in use is refused"
    );
    let taken = two.logins().take(&id).await.unwrap();
    assert_eq!(one.logins().take(&id).await.unwrap_err(), StoreError::Busy);
    // The OTP was wrong: the flow goes back for another try, on any instance.
    two.logins().put_back(&id, &taken).await.unwrap();
    let again = one.logins().take(&id).await.unwrap();
    assert_eq!(
        again.to_snapshot().expose(),
        flow.to_snapshot().expose(),
        "the same flow comes back"
    );
    one.logins().finish(&id).await.unwrap();
    assert_eq!(
        two.logins().take(&id).await.unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        two.logins()
            .take(&LoginId::generate().unwrap())
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
}

on_both!(
    put_back_after_a_wrong_otp_in_memory,
    put_back_after_a_wrong_otp_on_redis,
    put_back_after_a_wrong_otp,
    StoreOptions::default()
);

async fn a_login_lives_as_long_as_the_flow_says(one: Store, _two: Store) {
    // The realm login request expires in 1 s: so does the stored login.
    let id = LoginId::generate().unwrap();
    one.logins()
        .put(&id, &paused_login("req-short", 1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        one.logins().take(&id).await.unwrap_err(),
        StoreError::NotFound
    );
}

on_both!(
    a_login_lives_as_long_as_the_flow_says_in_memory,
    a_login_lives_as_long_as_the_flow_says_on_redis,
    a_login_lives_as_long_as_the_flow_says,
    StoreOptions::default()
);

async fn the_login_ttl_caps_a_logins_life(one: Store, _two: Store) {
    // The flow says 300 s; the store's login TTL (1 s here) is shorter and wins.
    let id = LoginId::generate().unwrap();
    one.logins()
        .put(&id, &paused_login("req-capped", 300))
        .await
        .unwrap();
    assert!(one.logins().take(&id).await.is_ok());
    let id = LoginId::generate().unwrap();
    one.logins()
        .put(&id, &paused_login("req-capped", 300))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        one.logins().take(&id).await.unwrap_err(),
        StoreError::NotFound
    );
}

on_both!(
    the_login_ttl_caps_a_logins_life_in_memory,
    the_login_ttl_caps_a_logins_life_on_redis,
    the_login_ttl_caps_a_logins_life,
    StoreOptions::default().login_ttl(Duration::from_secs(1))
);

async fn an_abandoned_resume_ends_with_its_lease(one: Store, two: Store) {
    let id = LoginId::generate().unwrap();
    one.logins()
        .put(&id, &paused_login("req-abandoned", 300))
        .await
        .unwrap();
    let _taken = one.logins().take(&id).await.unwrap();
    // The taker dies without putting back or finishing.
    assert_eq!(two.logins().take(&id).await.unwrap_err(), StoreError::Busy);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        two.logins().take(&id).await.unwrap_err(),
        StoreError::NotFound
    );
}

on_both!(
    an_abandoned_resume_ends_with_its_lease_in_memory,
    an_abandoned_resume_ends_with_its_lease_on_redis,
    an_abandoned_resume_ends_with_its_lease,
    StoreOptions::default().resume_lease(Duration::from_secs(1))
);

async fn compare_and_set_refuses_a_stale_version(one: Store, two: Store) {
    let id = SessionId::generate().unwrap();
    let v1 = one
        .sessions()
        .insert(&id, &session("a1", "r1", 300))
        .await
        .unwrap();
    assert_eq!(v1.get(), 1);
    assert_eq!(
        two.sessions()
            .insert(&id, &session("x", "x", 300))
            .await
            .unwrap_err(),
        StoreError::Conflict
    );
    let read = two.sessions().get(&id).await.unwrap();
    assert_eq!(read.version(), v1);
    assert_eq!(read.value().tokens().access_token().expose(), "a1");

    let v2 = two
        .sessions()
        .compare_and_set(&id, v1, &session("a2", "r2", 300))
        .await
        .unwrap();
    assert_eq!(v2.get(), 2);
    // The other instance still holds v1: its write is refused.
    assert_eq!(
        one.sessions()
            .compare_and_set(&id, v1, &session("a-stale", "r-stale", 300))
            .await
            .unwrap_err(),
        StoreError::Conflict
    );
    let read = one.sessions().get(&id).await.unwrap();
    assert_eq!(
        (
            read.version(),
            read.value().tokens().access_token().expose()
        ),
        (v2, "a2")
    );
    // Removed: gone for everyone.
    one.sessions().remove(&id).await.unwrap();
    assert_eq!(
        two.sessions().get(&id).await.unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        two.sessions()
            .compare_and_set(&id, v2, &session("a3", "r3", 300))
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
}

on_both!(
    compare_and_set_refuses_a_stale_version_in_memory,
    compare_and_set_refuses_a_stale_version_on_redis,
    compare_and_set_refuses_a_stale_version,
    StoreOptions::default()
);

async fn a_dead_holders_lock_ends_with_its_ttl(one: Store, two: Store) {
    let id = SessionId::generate().unwrap();
    one.sessions()
        .insert(&id, &session("a1", "r1", 300))
        .await
        .unwrap();
    let ttl = Duration::from_millis(2000);
    // Measured from before the lock is asked for: it cannot expire earlier than `ttl` after.
    let asked_at = Instant::now();
    let lock = one.sessions().try_lock(&id, ttl).await.unwrap();
    // The holder dies: the lock is never released.
    drop(lock);
    assert_eq!(
        two.sessions().try_lock(&id, ttl).await.unwrap_err(),
        StoreError::Busy
    );
    let lock = loop {
        match two.sessions().try_lock(&id, ttl).await {
            Ok(lock) => break lock,
            Err(StoreError::Busy) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("{e}"),
        }
        assert!(
            asked_at.elapsed() < Duration::from_secs(20),
            "never taken over"
        );
    };
    assert!(
        asked_at.elapsed() >= ttl - Duration::from_millis(5),
        "taken over only after the TTL ({:?})",
        asked_at.elapsed()
    );
    assert_eq!(lock.fence().get(), 1);
    assert_eq!(
        two.sessions()
            .write_fenced(lock, &session("a2", "r2", 300))
            .await
            .unwrap()
            .get(),
        2
    );
    // The write released the lock.
    let again = one.sessions().try_lock(&id, ttl).await.unwrap();
    assert_eq!(again.fence().get(), 2);
    one.sessions().unlock(again).await.unwrap();
}

on_both!(
    a_dead_holders_lock_ends_with_its_ttl_in_memory,
    a_dead_holders_lock_ends_with_its_ttl_on_redis,
    a_dead_holders_lock_ends_with_its_ttl,
    StoreOptions::default()
);

async fn a_stale_holders_write_is_fenced_off(one: Store, two: Store) {
    let id = SessionId::generate().unwrap();
    one.sessions()
        .insert(&id, &session("a1", "r1", 300))
        .await
        .unwrap();
    // A takes the lock and stalls past its TTL.
    let stale = one
        .sessions()
        .try_lock(&id, Duration::from_millis(500))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    // B takes over.
    let fresh = two
        .sessions()
        .try_lock(&id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(stale.fence(), fresh.fence());
    assert_eq!(
        one.sessions()
            .try_lock(&id, Duration::from_secs(30))
            .await
            .unwrap_err(),
        StoreError::Busy,
        "B holds the lock now"
    );
    // B stores its refreshed session; A wakes up and tries to store its own.
    two.sessions()
        .write_fenced(fresh, &session("a-new", "r-new", 300))
        .await
        .unwrap();
    assert_eq!(
        one.sessions()
            .write_fenced(stale, &session("a-stale", "r-stale", 300))
            .await
            .unwrap_err(),
        StoreError::Conflict,
        "the fence refuses the stale holder"
    );
    let stored = one.sessions().get(&id).await.unwrap();
    assert_eq!(stored.value().tokens().access_token().expose(), "a-new");
    assert_eq!(stored.version().get(), 2);

    // A stale holder's unlock leaves a newer holder's lock alone.
    let stale = one
        .sessions()
        .try_lock(&id, Duration::from_millis(300))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let current = two
        .sessions()
        .try_lock(&id, Duration::from_secs(30))
        .await
        .unwrap();
    one.sessions().unlock(stale).await.unwrap();
    assert_eq!(
        one.sessions()
            .try_lock(&id, Duration::from_secs(30))
            .await
            .unwrap_err(),
        StoreError::Busy,
        "the newer lock is still held"
    );
    // And a stale fenced delete does not remove a newer session.
    two.sessions()
        .write_fenced(current, &session("a3", "r3", 300))
        .await
        .unwrap();
    let old_fence = one
        .sessions()
        .try_lock(&id, Duration::from_millis(300))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let newer = two
        .sessions()
        .try_lock(&id, Duration::from_secs(30))
        .await
        .unwrap();
    two.sessions()
        .write_fenced(newer, &session("a4", "r4", 300))
        .await
        .unwrap();
    assert_eq!(
        one.sessions().remove_fenced(old_fence).await.unwrap_err(),
        StoreError::Conflict
    );
    assert_eq!(one.sessions().get(&id).await.unwrap().version().get(), 4);
}

on_both!(
    a_stale_holders_write_is_fenced_off_in_memory,
    a_stale_holders_write_is_fenced_off_on_redis,
    a_stale_holders_write_is_fenced_off,
    StoreOptions::default()
);

#[tokio::test]
async fn a_value_under_another_key_or_version_does_not_open_from_redis() {
    let server = RedisServer::start();
    let store = redis_store(&server, keyring(), StoreOptions::default()).await;
    let (a, b) = (LoginId::generate().unwrap(), LoginId::generate().unwrap());
    store
        .logins()
        .put(&a, &paused_login("req-moved", 300))
        .await
        .unwrap();
    // Someone with write access to Redis copies login a's value to login b.
    let mut conn = server.inspect();
    let value: Vec<u8> = redis::cmd("GET")
        .arg(format!("lf:{{{a}}}:login"))
        .query(&mut conn)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("lf:{{{b}}}:login"))
        .arg(value)
        .query(&mut conn)
        .unwrap();
    assert!(matches!(
        store.logins().take(&b).await,
        Err(StoreError::Sealing(
            login_store::seal::SealError::Unauthentic
        ))
    ));
    // The failed take does not leave login b "being resumed".
    assert_eq!(
        store.logins().take(&b).await.unwrap_err(),
        StoreError::NotFound
    );

    // A session's value replayed under another version does not open either.
    let id = SessionId::generate().unwrap();
    store
        .sessions()
        .insert(&id, &session("a1", "r1", 300))
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(format!("lf:{{{id}}}:session"))
        .arg("v")
        .arg("7")
        .query(&mut conn)
        .unwrap();
    assert!(matches!(
        store.sessions().get(&id).await,
        Err(StoreError::Sealing(
            login_store::seal::SealError::Unauthentic
        ))
    ));
}

#[tokio::test]
async fn a_store_with_another_keyring_cannot_open_and_says_why() {
    let server = RedisServer::start();
    let ours = redis_store(&server, keyring(), StoreOptions::default()).await;
    let theirs = redis_store(&server, random_keyring("other"), StoreOptions::default()).await;
    let id = LoginId::generate().unwrap();
    ours.logins()
        .put(&id, &paused_login("req-kid", 300))
        .await
        .unwrap();
    let err = theirs.logins().take(&id).await.unwrap_err();
    assert_eq!(err.http_status(), 500);
    assert!(
        matches!(
            &err,
            StoreError::Sealing(login_store::seal::SealError::UnknownKey { kid }) if kid == "t1"
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn auth_comes_from_the_url() {
    let server = RedisServer::start_with(&["--requirepass", "store-canary-pass"]);
    let with = |pass: &str| format!("{}?pass={pass}", server.url());
    let options = || StoreOptions::default().command_timeout(Duration::from_secs(2));

    let store = Store::connect_redis(&with("store-canary-pass"), keyring(), options())
        .await
        .unwrap();
    let id = LoginId::generate().unwrap();
    store
        .logins()
        .put(&id, &paused_login("req-auth", 300))
        .await
        .unwrap();
    store.logins().take(&id).await.unwrap();

    let wrong = Store::connect_redis(&with("wrong"), keyring(), options())
        .await
        .unwrap_err();
    assert!(matches!(wrong, StoreError::Refused { .. }), "{wrong:?}");
    assert!(!format!("{wrong} {wrong:?}").contains("wrong"));
    // Without a password the connection opens, and the first command is refused.
    let outcome = match Store::connect_redis(&server.url(), keyring(), options()).await {
        Ok(store) => store.logins().take(&id).await.map(drop),
        Err(e) => Err(e),
    };
    assert!(
        matches!(outcome, Err(StoreError::Refused { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_bad_url_is_refused_without_echoing_it() {
    let err = Store::connect_redis(
        "http://user:secret-pass@host/",
        keyring(),
        StoreOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl(_)), "{err:?}");
    assert!(!err.to_string().contains("secret-pass"));
}

#[tokio::test]
async fn a_tls_url_builds_its_tls_client_and_reports_an_unreachable_server() {
    // rediss:// builds the rustls client configuration before connecting (one crypto provider
    // in the build, or rustls would panic here); nobody listens on port 1.
    let err = Store::connect_redis(
        "rediss://app:secret-pass@127.0.0.1:1/",
        keyring(),
        StoreOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("secret-pass"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_commands_and_bytes_per_operation() {
    let server = RedisServer::start();
    let store = redis_store(&server, keyring(), StoreOptions::default()).await;
    let flow = paused_login("req-measure-0123456789abcdef", 300);
    // Warm up: each script is loaded once per Redis server (EVALSHA, NOSCRIPT, SCRIPT LOAD).
    let warm = LoginId::generate().unwrap();
    let warm_session = SessionId::generate().unwrap();
    let first = commands_sent(&server, async {
        store.logins().put(&warm, &flow).await.unwrap();
        store.logins().take(&warm).await.unwrap();
        store.logins().put_back(&warm, &flow).await.unwrap();
        let s = session("a", "r", 300);
        store.sessions().insert(&warm_session, &s).await.unwrap();
        let lock = store
            .sessions()
            .try_lock(&warm_session, Duration::from_secs(30))
            .await
            .unwrap();
        store.sessions().write_fenced(lock, &s).await.unwrap();
    })
    .await;

    let id = LoginId::generate().unwrap();
    let put = commands_sent(&server, async {
        store.logins().put(&id, &flow).await.unwrap();
    })
    .await;
    let mut conn = server.inspect();
    let login_bytes: usize = redis::cmd("STRLEN")
        .arg(format!("lf:{{{id}}}:login"))
        .query(&mut conn)
        .unwrap();
    let take = commands_sent(&server, async {
        store.logins().take(&id).await.unwrap();
    })
    .await;
    let put_back = commands_sent(&server, async {
        store.logins().put_back(&id, &flow).await.unwrap();
    })
    .await;
    let finish = commands_sent(&server, async {
        store.logins().take(&id).await.unwrap();
        store.logins().finish(&id).await.unwrap();
    })
    .await;

    let sid = SessionId::generate().unwrap();
    let s = session(
        "access-0123456789012345678901234567890123",
        "refresh-012345678901234567890123456789012",
        300,
    );
    store.sessions().insert(&sid, &s).await.unwrap();
    let session_bytes: usize = redis::cmd("HSTRLEN")
        .arg(format!("lf:{{{sid}}}:session"))
        .arg("s")
        .query(&mut conn)
        .unwrap();
    let get = commands_sent(&server, async {
        store.sessions().get(&sid).await.unwrap();
    })
    .await;
    let locked_write = commands_sent(&server, async {
        let lock = store
            .sessions()
            .try_lock(&sid, Duration::from_secs(30))
            .await
            .unwrap();
        store.sessions().write_fenced(lock, &s).await.unwrap();
    })
    .await;

    println!("every operation once on a fresh server (scripts loaded): {first:?}");
    println!("put: {put:?}; take: {take:?}; put_back: {put_back:?}; take+finish: {finish:?}");
    println!("session get: {get:?}; lock + fenced write: {locked_write:?}");
    println!(
        "sealed bytes: synthetic paused realm login {login_bytes}, synthetic realm session {session_bytes}"
    );
    assert_eq!(total(&put), 1, "{put:?}");
    assert_eq!(total(&take), 1, "{take:?}");
    assert_eq!(total(&put_back), 1, "{put_back:?}");
    assert_eq!(total(&finish), 2, "{finish:?}");
    assert_eq!(total(&get), 1, "{get:?}");
    assert_eq!(total(&locked_write), 2, "{locked_write:?}");
}
