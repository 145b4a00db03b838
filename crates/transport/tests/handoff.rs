//! The async transport hands a finished flow's idle connection to the next flow instead of
//! dialing, never shares one between flows at the same time, and never hands over a
//! connection that is closed or was left in the middle of a call.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Canned, Scripted, Server, read_request, realm_answer, respond, shutdown};
use login_core::realm::{self, RealmConfig};
use login_core::secret::{ClientSecret, Password};
use login_core::{Bank, Runner};
use login_transport::{
    AsyncDriver, AsyncTransport, HyperTransport, NoInteraction, TransportConfig,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn transport(url: &str, idle: Option<usize>) -> HyperTransport {
    let config = TransportConfig::new(url).expect("loopback URL");
    let config = match idle {
        Some(n) => config.idle_connections(n),
        None => config,
    };
    HyperTransport::new(config).expect("hyper transport")
}

fn realm_server() -> Scripted {
    Scripted::start(|line, _| {
        realm_answer(line, false, 300).unwrap_or_else(|| Canned::new(404, ""))
    })
}

/// Runs `flows` realm logins one after another, each on a fresh session, and returns how many
/// connections each session dialed.
fn sequential_logins(transport: &HyperTransport, flows: usize) -> Vec<u64> {
    runtime().block_on(async {
        let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("test-client-secret"));
        let mut dialed = Vec::new();
        for i in 0..flows {
            let driver = AsyncDriver::new(transport.session());
            let start = realm::Start::new(format!("user{i}"), Password::new("test-password"));
            driver
                .login(Bank::Realm(&cfg), Runner::login(start), &mut NoInteraction)
                .await
                .expect("the login succeeds");
            dialed.push(driver.transport().connections_opened());
        }
        dialed
    })
}

#[test]
fn flows_one_after_another_share_one_connection() {
    let server = realm_server();
    let transport = transport(&server.server.url(), None);
    let dialed = sequential_logins(&transport, 5);
    assert_eq!(dialed, [1, 0, 0, 0, 0]);
    assert_eq!(server.count("POST "), 10);
    assert_eq!(server.server.accepted(), 1);
}

#[test]
fn the_transport_itself_is_an_async_transport_that_reuses_shelved_connections() {
    let server = realm_server();
    let transport = transport(&server.server.url(), None);
    runtime().block_on(async {
        let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("test-client-secret"));
        // A whole login through the transport itself: each call takes a session, whose
        // connection goes back on the shelf when the call ends.
        let driver = AsyncDriver::new(transport.clone());
        let start = realm::Start::new("alice", Password::new("test-password"));
        driver
            .login(Bank::Realm(&cfg), Runner::login(start), &mut NoInteraction)
            .await
            .expect("the login succeeds");
        let (request, _) = realm::Start::new("bob", Password::new("pw")).request_login(&cfg);
        let response = AsyncTransport::send(&transport, &request)
            .await
            .expect("a response");
        assert_eq!(response.status(), 201);
    });
    assert_eq!(server.count("POST "), 3);
    assert_eq!(server.server.accepted(), 1);
}

#[test]
fn with_no_idle_connections_kept_every_flow_dials() {
    let server = realm_server();
    let transport = transport(&server.server.url(), Some(0));
    let dialed = sequential_logins(&transport, 4);
    assert_eq!(dialed, [1, 1, 1, 1]);
    assert_eq!(server.server.accepted(), 4);
}

#[test]
fn the_shelf_keeps_at_most_the_configured_number_of_connections() {
    let server = realm_server();
    let transport = transport(&server.server.url(), Some(2));
    let request = common::login_request();
    runtime().block_on(async {
        // Four sessions alive together: four connections, one each.
        let first: Vec<_> = (0..4).map(|_| transport.session()).collect();
        for session in &first {
            let response = session.send(&request).await.expect("a response");
            assert_eq!(response.status(), 201);
        }
        assert_eq!(server.server.accepted(), 4);
        drop(first);
        // Two of them were kept; the next four sessions take those two and dial two.
        let second: Vec<_> = (0..4).map(|_| transport.session()).collect();
        for session in &second {
            let response = session.send(&request).await.expect("a response");
            assert_eq!(response.status(), 201);
        }
        let dialed: u64 = second.iter().map(|s| s.connections_opened()).sum();
        assert_eq!(dialed, 2);
    });
    assert_eq!(server.server.accepted(), 6);
}

#[test]
fn a_shelved_connection_the_server_closed_is_not_reused() {
    // Answers one request per connection as if it would keep the connection, then closes it.
    let server = Server::start(|mut s| {
        if read_request(&mut s).is_some() {
            respond(&mut s, 201, &[], b"{}");
            shutdown(&s);
        }
    });
    let transport = transport(&server.url(), None);
    let request = common::login_request();
    runtime().block_on(async {
        for _ in 0..3 {
            let session = transport.session();
            let response = session.send(&request).await.expect("a response");
            assert_eq!(response.status(), 201);
            drop(session);
            // Let the close arrive while the connection sits on the shelf.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    assert_eq!(server.accepted(), 3);
}

#[test]
fn a_call_abandoned_halfway_leaves_no_connection_behind() {
    // The first request on each connection is answered late with "stale"; later ones at once.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = Server::start(move |mut s| {
        let mut first = true;
        while read_request(&mut s).is_some() {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            if first && n == 0 {
                // Far past the client's 50 ms, so a loaded machine cannot let the call finish.
                std::thread::sleep(Duration::from_millis(1000));
                let _ = s.write_all(b"HTTP/1.1 201 X\r\ncontent-length: 9\r\n\r\n\"stale-1\"");
            } else if !respond(&mut s, 201, &[], b"\"fresh\"") {
                break;
            }
            first = false;
        }
    });
    let transport = transport(&server.url(), None);
    let request = common::login_request();
    runtime().block_on(async {
        let abandoned = transport.session();
        let cut = tokio::time::timeout(Duration::from_millis(50), abandoned.send(&request)).await;
        assert!(cut.is_err(), "the call should still be waiting");
        drop(abandoned);
        let next = transport.session();
        let response = next.send(&request).await.expect("a response");
        assert_eq!(response.body(), b"\"fresh\"");
        assert_eq!(next.connections_opened(), 1);
    });
    assert_eq!(server.accepted(), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
