//! The token keeper against a counting loopback server: single flight, shared outcomes, a
//! failure that does not poison the keeper, the new-token callback.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Canned, Scripted, realm_answer};
use login_core::realm::{self, RealmConfig};
use login_core::secret::{ClientSecret, Password};
use login_core::{Bank, ErrorKind, Profile, Runner, Session};
use login_transport::{
    AsyncDriver, HyperSession, HyperTransport, KeeperError, KeeperOptions, NoInteraction,
    TokenKeeper, TransportConfig,
};

const FRESH: &str = r#"{"accessToken":"fresh-access","refreshToken":"fresh-refresh","expires":3600,"refreshExpires":1800}"#;

fn cfg() -> RealmConfig {
    RealmConfig::new("cap", "cap-mobile", ClientSecret::new("test-client-secret"))
}

/// What the keeper refreshes with: the configuration without its secret.
fn profile() -> Profile {
    Profile::from(cfg().profile().clone())
}

fn login() -> Runner {
    Runner::login(realm::Start::new("alice", Password::new("test-password")))
}

fn transport_config(server: &Scripted) -> TransportConfig {
    TransportConfig::new(&server.server.url()).expect("loopback URL")
}

/// The keeper's outcome for a caller task: finished in time, not panicked.
async fn joined<T>(caller: tokio::task::JoinHandle<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), caller)
        .await
        .expect("the caller finishes in time")
        .expect("the caller did not panic")
}

/// A server whose login gives a token expiring in 30 s (inside the 60 s margin) and whose
/// refreshes answer in turn from `refreshes` (the last one repeats), each after 200 ms.
fn server(refreshes: Vec<Canned>) -> Scripted {
    let next = Arc::new(AtomicUsize::new(0));
    Scripted::start(move |line, _| {
        if let Some(canned) = realm_answer(line, false, 30) {
            return canned;
        }
        if line.starts_with("PATCH /auth/realm/cap/token ") {
            let i = next.fetch_add(1, Ordering::SeqCst).min(refreshes.len() - 1);
            return refreshes[i].clone().delay(Duration::from_millis(200));
        }
        Canned::new(404, r#"{"error":"not_found"}"#)
    })
}

async fn logged_in(transport: &HyperTransport) -> Session {
    AsyncDriver::new(transport.session())
        .login(Bank::Realm(&cfg()), login(), &mut NoInteraction)
        .await
        .expect("the login succeeds")
}

async fn keeper(server: &Scripted, options: KeeperOptions) -> TokenKeeper<HyperSession> {
    let transport = HyperTransport::new(transport_config(server)).expect("hyper transport");
    let session = logged_in(&transport).await;
    assert_eq!(session.tokens().access_token().expose(), "first-access");
    let driver = AsyncDriver::new(transport.session());
    TokenKeeper::new(driver, profile(), session, options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_refresh_for_a_thousand_concurrent_callers() {
    let server = server(vec![Canned::new(200, FRESH)]);
    let heard = Arc::new(AtomicUsize::new(0));
    let h = heard.clone();
    let options = KeeperOptions::default().on_new_tokens(move |tokens| {
        assert_eq!(tokens.access_token().expose(), "fresh-access");
        h.fetch_add(1, Ordering::SeqCst);
    });
    let keeper = keeper(&server, options).await;

    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let k = keeper.clone();
            tokio::spawn(async move { k.access_token().await })
        })
        .collect();
    for caller in callers {
        let token = joined(caller).await.expect("a fresh token");
        assert_eq!(token.expose(), "fresh-access");
    }
    assert_eq!(
        server.count("PATCH "),
        1,
        "exactly one refresh request reached the server"
    );
    assert_eq!(keeper.refresh_attempts(), 1);
    assert_eq!(
        heard.load(Ordering::SeqCst),
        1,
        "the callback heard the new token set once"
    );
    // Fresh now: no more refreshes.
    let token = keeper.access_token().await.expect("the fresh token");
    assert_eq!(token.expose(), "fresh-access");
    assert_eq!(server.count("PATCH "), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_refresh_reaches_every_waiter_and_the_next_call_retries() {
    let server = server(vec![
        Canned::new(503, r#"{"error":"unavailable"}"#),
        Canned::new(200, FRESH),
    ]);
    let keeper = keeper(&server, KeeperOptions::default()).await;

    let callers: Vec<_> = (0..200)
        .map(|_| {
            let k = keeper.clone();
            tokio::spawn(async move { k.access_token().await })
        })
        .collect();
    for caller in callers {
        match joined(caller).await {
            Err(KeeperError::Refresh(e)) => assert_eq!(e.kind(), ErrorKind::ServerError),
            other => panic!("every waiter hears the failure, got {other:?}"),
        }
    }
    assert_eq!(
        server.count("PATCH "),
        1,
        "the failure was shared, not repeated per waiter"
    );

    // The keeper is still usable: the next call refreshes again and succeeds.
    let token = keeper.access_token().await.expect("the retried refresh");
    assert_eq!(token.expose(), "fresh-access");
    assert_eq!(server.count("PATCH "), 2);
    let tokens = keeper.tokens().await.expect("the session is kept");
    assert_eq!(tokens.refresh_token().expose(), "fresh-refresh");
}

#[tokio::test]
async fn a_refused_refresh_token_ends_the_session_until_replaced() {
    let server = server(vec![Canned::new(401, r#"{"error":"invalid_token"}"#)]);
    let keeper = keeper(&server, KeeperOptions::default()).await;
    match keeper.access_token().await {
        Err(KeeperError::Refresh(e)) => assert_eq!(e.kind(), ErrorKind::InvalidToken),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        keeper.access_token().await,
        Err(KeeperError::Ended)
    ));
    assert_eq!(
        server.count("PATCH "),
        1,
        "an ended session sends nothing more"
    );
    assert!(keeper.tokens().await.is_none());

    let transport = HyperTransport::new(transport_config(&server)).expect("hyper transport");
    assert!(keeper.replace(logged_in(&transport).await).await);
    assert!(keeper.tokens().await.is_some());
}

#[tokio::test]
async fn a_session_of_the_other_api_is_not_taken() {
    let server = server(vec![Canned::new(200, FRESH)]);
    let realm_keeper = keeper(&server, KeeperOptions::default()).await;
    // A keeper with the internet-banking profile refuses the realm session, and keeps its own.
    let ciam = login_core::ciam::CiamConfig::new(
        "ib-web",
        "https://app.example/cb",
        login_core::secret::DeviceToken::new("test-device-token"),
    );
    let transport = HyperTransport::new(transport_config(&server)).expect("hyper transport");
    let session = logged_in(&transport).await;
    let ciam_keeper = TokenKeeper::new(
        AsyncDriver::new(transport.session()),
        Profile::from(ciam.profile().clone()),
        session.clone(),
        KeeperOptions::default(),
    );
    assert!(!ciam_keeper.replace(session.clone()).await);
    assert!(realm_keeper.replace(session).await);
}

#[tokio::test]
async fn a_fresh_token_is_handed_out_without_refreshing() {
    let server = server(vec![Canned::new(200, FRESH)]);
    // A 10 s margin: the 30 s token is still fresh.
    let keeper = keeper(
        &server,
        KeeperOptions::default().margin(Duration::from_secs(10)),
    )
    .await;
    let token = keeper.access_token().await.expect("the current token");
    assert_eq!(token.expose(), "first-access");
    assert_eq!(server.count("PATCH "), 0);
    // An explicit refresh still goes out.
    let token = keeper.refresh().await.expect("a refreshed token");
    assert_eq!(token.expose(), "fresh-access");
    assert_eq!(server.count("PATCH "), 1);
}

mod blocking {
    use super::*;
    use login_transport::{BlockingTokenKeeper, Driver, UreqTransport};

    fn keeper(server: &Scripted) -> BlockingTokenKeeper<UreqTransport> {
        let transport = UreqTransport::new(transport_config(server)).expect("ureq transport");
        let driver = Driver::new(transport);
        let session = driver
            .login(Bank::Realm(&cfg()), login(), &mut NoInteraction)
            .expect("the login succeeds");
        BlockingTokenKeeper::new(driver, profile(), session, KeeperOptions::default())
    }

    #[test]
    fn one_refresh_for_many_threads() {
        let server = server(vec![Canned::new(200, FRESH)]);
        let keeper = keeper(&server);
        let threads: Vec<_> = (0..64)
            .map(|_| {
                let k = keeper.clone();
                std::thread::spawn(move || k.access_token())
            })
            .collect();
        for t in threads {
            let token = t.join().expect("no panic").expect("a fresh token");
            assert_eq!(token.expose(), "fresh-access");
        }
        assert_eq!(server.count("PATCH "), 1);
        assert_eq!(keeper.refresh_attempts(), 1);
    }

    #[test]
    fn a_failure_is_shared_and_the_keeper_stays_usable() {
        let server = server(vec![Canned::new(503, "{}"), Canned::new(200, FRESH)]);
        let keeper = keeper(&server);
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let k = keeper.clone();
                std::thread::spawn(move || k.access_token())
            })
            .collect();
        for t in threads {
            let outcome = t.join().expect("no panic");
            assert!(
                matches!(outcome, Err(KeeperError::Refresh(_))),
                "{outcome:?}"
            );
        }
        assert_eq!(server.count("PATCH "), 1);
        let token = keeper.access_token().expect("the retried refresh");
        assert_eq!(token.expose(), "fresh-access");
        assert_eq!(server.count("PATCH "), 2);
    }
}
