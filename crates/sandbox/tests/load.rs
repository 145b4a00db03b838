//! Load: 200 concurrent full logins (half realm, half internet banking, each with a refresh)
//! over real HTTP, with no error and no lost session.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use common::*;
use login_sandbox::SandboxConfig;
use login_sandbox::config::{Channel, Mfa, UserConfig};
use login_sandbox::secret::Secret;

const LOGINS: usize = 200;

#[test]
fn holds_200_concurrent_logins_without_error_or_lost_session() {
    let mut config = SandboxConfig::for_tests();
    for i in 0..LOGINS {
        let user = UserConfig {
            password: Secret::new(format!("user{i}-password")),
            mfa: Mfa::None,
            channel: Channel::Sms,
            last_location: None,
        };
        config.users.insert(format!("user{i}"), user);
    }
    let h = start(config);
    let barrier = Arc::new(Barrier::new(LOGINS));
    let started = Instant::now();
    let workers: Vec<_> = (0..LOGINS)
        .map(|i| {
            let client = Client::new(h.client.base.clone());
            let jwk = h.jwk.clone();
            let barrier = barrier.clone();
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let (user, password) = (format!("user{i}"), format!("user{i}-password"));
                    barrier.wait();
                    let (tokens, refreshed) = if i % 2 == 0 {
                        let t = realm_login(&client, &user, &password);
                        t.assert_status(201);
                        let r = realm_refresh(&client, &t.str("refreshToken"));
                        (t, r)
                    } else {
                        let routes = if i % 4 == 1 { GATEWAY } else { SERVICE };
                        let t = ciam_login(&client, routes, &jwk, &user, &password);
                        t.assert_status(200);
                        let r = ciam_refresh(&client, routes, &t.str("refreshToken"));
                        (t, r)
                    };
                    refreshed.assert_status(200);
                    assert_eq!(refreshed.str("sessionState"), tokens.str("sessionState"));
                    (
                        user,
                        refreshed.str("sessionState"),
                        refreshed.str("accessToken"),
                    )
                })
                .expect("spawn a client thread")
        })
        .collect();
    let results: Vec<_> = workers
        .into_iter()
        .map(|w| w.join().expect("a login failed"))
        .collect();
    let elapsed = started.elapsed();
    eprintln!("{LOGINS} concurrent logins (with a refresh each) in {elapsed:?}");

    let sessions: BTreeSet<_> = results.iter().map(|(_, s, _)| s.clone()).collect();
    assert_eq!(sessions.len(), LOGINS, "session ids must be distinct");
    // No lost session: every session is stored, and every last access token is live for its user.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(
        rt.block_on(h.sandbox.app().store.sessions().count()),
        LOGINS
    );
    for (user, session, access) in &results {
        let r = h.client.get(
            "/_sandbox/session",
            &[("Authorization", &format!("Bearer {access}"))],
        );
        r.assert_status(200);
        assert_eq!((&r.str("user"), &r.str("sessionState")), (user, session));
    }
}
