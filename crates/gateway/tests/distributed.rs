//! Two gateway instances (in-process, on their own loopback ports, each with its own Redis
//! connections) sharing one real Redis (Unix socket, AOF), against the sandbox bank:
//!
//! - 1,000 concurrent logins of both APIs (OTP and captcha paths) with every request going to
//!   the other instance than the one before: none lost, none resumed twice, no error; then
//!   canaries: no password, OTP, captcha answer, token or configured secret in any Redis key or
//!   value, the AOF, the gateways' logs or the login pages;
//! - one login's OTP sent to both instances at once, 200 times: exactly one succeeds;
//! - 200 concurrent token requests for one near-expiry session over both instances: the bank
//!   sees exactly one refresh.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use login_sandbox::config::{TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN};
use login_store::{SessionId, Store, StoreOptions};
use tokio::sync::Semaphore;

/// Requests in flight at most: far below the machine's 20,000 open files (each in-flight login
/// holds a client connection, a gateway-side socket and a bank connection).
const IN_FLIGHT: usize = 200;
const LOGINS: usize = 1000;

/// Login `i`'s API and user: realm without and with OTP, internet banking (captcha, then OTP).
fn who(i: usize) -> (&'static str, &'static str, &'static str) {
    match i % 4 {
        0 => ("cap", "alice", "alice-password"),
        1 => ("cap", "bob", "bob-password"),
        2 => ("ciam", "carol", "carol-password"),
        _ => ("ciam", "bob", "bob-password"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_logins_over_two_instances_none_lost_none_twice_and_no_secret_stored() {
    capture_logs();
    let redis = RedisServer::start();
    let bank = sandbox(true).await;
    let setup = Setup {
        redis: Some(redis.url()),
        ..Setup::default()
    };
    let one = gateway(&bank, &setup).await;
    let two = gateway(&bank, &setup).await;
    let bases = Arc::new([one.url(), two.url()]);
    let http = Http::new();

    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..LOGINS {
        let (gate, http, bases) = (gate.clone(), http.clone(), bases.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let (api, user, password) = who(i);
            let bases = [bases[0].as_str(), bases[1].as_str()];
            // Each login starts on the other instance than the one before; every next request
            // of it goes to the other instance again.
            let session = full_login(&http, &bases, i % 2, api, user, password).await;
            (i, session)
        });
    }
    let mut sessions = Vec::new();
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (_, Ok(session)) => sessions.push(session),
            (i, Err(reply)) => errors.push(format!("login {i}: {} {}", reply.status, reply.text())),
        }
    }
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    let distinct: HashSet<_> = sessions.iter().collect();
    assert_eq!(sessions.len(), LOGINS, "none lost");
    assert_eq!(distinct.len(), LOGINS, "one session per login");
    // None resumed twice: the bank started exactly one session per login.
    let counts = http
        .get(&format!("{}/_sandbox/refreshes", bank.base_url()), None)
        .await
        .json();
    assert_eq!(counts["sessionsStarted"], LOGINS as u64, "{counts}");

    // Every session works on both instances; collect its tokens as canaries.
    let inspect = Store::connect_redis(&redis.url(), keyring(), StoreOptions::default())
        .await
        .unwrap();
    let mut canaries: Vec<String> = [
        "alice-password",
        "bob-password",
        "carol-password",
        "123456",
        "ABCD",
        TEST_CLIENT_SECRET,
        TEST_DEVICE_TOKEN,
        API_KEY,
    ]
    .map(String::from)
    .to_vec();
    for (n, session) in sessions.iter().enumerate() {
        let token = http.token(&bases[n % 2], session).await;
        token.expect(200, None);
        let id: SessionId = session.parse().unwrap();
        let stored = inspect.sessions().get(&id).await.unwrap().into_value();
        assert_eq!(
            stored.tokens().access_token().expose(),
            token.str("accessToken")
        );
        if n % 50 == 0 {
            canaries.push(stored.tokens().access_token().expose().to_owned());
            canaries.push(stored.tokens().refresh_token().expose().to_owned());
        }
    }
    let metrics = one.metrics() + &two.metrics();
    assert!(
        metrics.contains("gateway_logins_finished_total"),
        "{metrics}"
    );

    // The login page on both instances: a realm OTP login started on one, finished on the other.
    let pages = page_login(&http, &bases[0], &bases[1]).await;
    assert!(
        pages.last().unwrap().contains("Signed in"),
        "{}",
        pages.last().unwrap()
    );

    // Scan every key and value, every file Redis wrote, the logs and the pages.
    let dump = redis.dump();
    assert!(
        dump.len() >= LOGINS,
        "the sessions are in Redis ({} values)",
        dump.len()
    );
    let left: HashSet<String> = dump
        .iter()
        .map(|(key, _)| String::from_utf8_lossy(key).into_owned())
        .filter(|key| !key.ends_with(":session"))
        .collect();
    assert!(
        left.is_empty(),
        "finished logins left keys behind: {left:?}"
    );
    let files = redis.files();
    assert!(
        files
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("appendonly")),
        "the AOF is there to scan"
    );
    let logs = logs();
    assert!(!logs.is_empty(), "logs were captured");
    let mut hits = Vec::new();
    for canary in &canaries {
        let needle = canary.as_bytes();
        for (key, value) in &dump {
            if contains(key, needle) || contains(value, needle) {
                hits.push(format!(
                    "{canary} in Redis key {}",
                    String::from_utf8_lossy(key)
                ));
            }
        }
        for (path, bytes) in &files {
            // The server's log holds timestamps and pids: short digit runs occur by chance.
            let log = path.extension().is_some_and(|e| e == "log");
            if !(log && canary.len() < 8) && contains(bytes, needle) {
                hits.push(format!("{canary} in {}", path.display()));
            }
        }
        if contains(&logs, needle) {
            hits.push(format!("{canary} in the logs"));
        }
        for page in &pages {
            if without_data_uris(page).contains(canary.as_str()) {
                hits.push(format!("{canary} in a page"));
            }
        }
    }
    assert!(hits.is_empty(), "secrets in clear: {hits:?}");

    // Sizes for capacity planning (docs/distributed.md): Redis's own accounting of one key.
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut usage = |key: String| -> i64 {
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .query(&mut conn)
            .unwrap_or(-1)
    };
    println!(
        "MEMORY USAGE of a session: {} bytes",
        usage(format!("lf:{{{}}}:session", sessions[0]))
    );
    let paused = http
        .start(&bases[0], "cap", "bob", "bob-password")
        .await
        .str("login");
    println!(
        "MEMORY USAGE of a paused realm login: {} bytes",
        usage(format!("lf:{{{paused}}}:login"))
    );
    let paused = http
        .start(&bases[0], "ciam", "carol", "carol-password")
        .await
        .str("login");
    println!(
        "MEMORY USAGE of an internet-banking login at its captcha: {} + {} bytes (flow + username)",
        usage(format!("lf:{{{paused}}}:login")),
        usage(format!("lf:{{{paused}}}:user"))
    );
    let otp = http
        .captcha(&bases[1], &paused, "ABCD", "carol-password")
        .await;
    otp.expect(202, None);
    println!(
        "MEMORY USAGE of an internet-banking login at its OTP: {} bytes",
        usage(format!("lf:{{{paused}}}:login"))
    );
    println!(
        "{} logins, {} canaries over {} Redis values, {} files, {} bytes of logs, {} pages",
        LOGINS,
        canaries.len(),
        dump.len(),
        files.len(),
        logs.len(),
        pages.len()
    );
}

/// A realm OTP login through the page's forms: started on `first`, finished on `second`.
/// Returns every page's HTML.
async fn page_login(http: &Http, first: &str, second: &str) -> Vec<String> {
    let start = http.get(&format!("{first}/"), None).await;
    start.expect(200, None);
    let csrf_cookie = start
        .header("set-cookie")
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .unwrap();
    let html = start.text();
    let csrf = html
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let form = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    };
    let ct = ("content-type", "application/x-www-form-urlencoded");
    let otp_page = http
        .send(
            "POST",
            &format!("{first}/login"),
            &[ct, ("cookie", &csrf_cookie)],
            form(&[
                ("csrf", &csrf),
                ("api", "cap"),
                ("username", "bob"),
                ("password", "bob-password"),
            ]),
        )
        .await;
    otp_page.expect(200, None);
    let login_cookie = otp_page
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("lf_login="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let cookies = format!("{csrf_cookie}; {login_cookie}");
    let wrong = http
        .send(
            "POST",
            &format!("{second}/login/otp"),
            &[ct, ("cookie", &cookies)],
            form(&[("csrf", &csrf), ("otp", "000000")]),
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    // Without the CSRF token: refused, nothing resumed.
    let forged = http
        .send(
            "POST",
            &format!("{second}/login/otp"),
            &[ct, ("cookie", &cookies)],
            form(&[("csrf", "forged"), ("otp", "123456")]),
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    let done = http
        .send(
            "POST",
            &format!("{second}/login/otp"),
            &[ct, ("cookie", &cookies)],
            form(&[("csrf", &csrf), ("otp", "123456")]),
        )
        .await;
    done.expect(200, None);
    vec![
        html,
        otp_page.text(),
        wrong.text(),
        forged.text(),
        done.text(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_otp_sent_to_both_instances_at_once_succeeds_exactly_once() {
    let redis = RedisServer::start();
    let bank = sandbox(false).await;
    let setup = Setup {
        redis: Some(redis.url()),
        ..Setup::default()
    };
    let one = gateway(&bank, &setup).await;
    let two = gateway(&bank, &setup).await;
    let (a, b) = (one.url(), two.url());
    let http = Http::new();
    let mut others = std::collections::BTreeMap::new();
    for round in 0..200 {
        let start = http
            .start(
                if round % 2 == 0 { &a } else { &b },
                "cap",
                "bob",
                "bob-password",
            )
            .await;
        start.expect(202, None);
        let login = start.str("login");
        let (x, y) = tokio::join!(
            http.otp(&a, &login, "123456"),
            http.otp(&b, &login, "123456")
        );
        let (won, lost) = match (x.status, y.status) {
            (201, _) => (x, y),
            (_, 201) => (y, x),
            _ => panic!(
                "round {round}: nobody succeeded: {} {} / {} {}",
                x.status,
                x.text(),
                y.status,
                y.text()
            ),
        };
        assert_eq!(won.json()["status"], "authenticated");
        let kind = lost.json()["error"].as_str().unwrap_or("").to_owned();
        assert!(
            (lost.status == 409 && kind == "login_busy")
                || (lost.status == 404 && kind == "not_found"),
            "round {round}: the other got {} {}",
            lost.status,
            lost.text()
        );
        *others.entry((lost.status, kind)).or_insert(0) += 1;
    }
    let counts = http
        .get(&format!("{}/_sandbox/refreshes", bank.base_url()), None)
        .await
        .json();
    assert_eq!(counts["sessionsStarted"], 200, "one session per login");
    println!("the other request of each pair: {others:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_token_requests_over_two_instances_make_one_refresh() {
    let (skew, clock) = skewed_clock!();
    let redis = RedisServer::start();
    let bank = sandbox(false).await;
    let setup = Setup {
        redis: Some(redis.url()),
        clock,
        ..Setup::default()
    };
    let one = gateway(&bank, &setup).await;
    let two = gateway(&bank, &setup).await;
    let bases = [one.url(), two.url()];
    let http = Http::new();
    let session = full_login(&http, &[&bases[0]], 0, "cap", "alice", "alice-password")
        .await
        .unwrap();
    let old = http.token(&bases[1], &session).await.str("accessToken");

    // The sandbox's access tokens live 300 s: at +290 s they expire within the 60 s margin.
    skew.store(290, Ordering::SeqCst);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (http, base, session) = (http.clone(), bases[i % 2].clone(), session.clone());
        tasks.spawn(async move {
            tokio::time::timeout(Duration::from_secs(60), http.token(&base, &session))
                .await
                .expect("no token request hangs")
        });
    }
    let mut tokens = HashSet::new();
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        reply.expect(200, None);
        tokens.insert(reply.str("accessToken"));
    }
    assert_eq!(tokens.len(), 1, "every caller got the same new token");
    assert!(!tokens.contains(&old), "refreshed");
    let counts = http
        .get(&format!("{}/_sandbox/refreshes", bank.base_url()), None)
        .await
        .json();
    assert_eq!(
        counts["refreshes"], 1,
        "exactly one refresh reached the bank: {counts}"
    );
    let per_session: Vec<_> = counts["sessions"].as_object().unwrap().values().collect();
    assert_eq!(per_session.len(), 1);
    assert_eq!(per_session[0]["requests"], 1);
    assert_eq!(per_session[0]["rotated"], 1);
    // Fresh now: more requests, no more refreshes.
    for base in &bases {
        http.token(base, &session).await.expect(200, None);
    }
    let counts = http
        .get(&format!("{}/_sandbox/refreshes", bank.base_url()), None)
        .await
        .json();
    assert_eq!(counts["refreshes"], 1);
    let refreshed = one.metrics() + &two.metrics();
    assert!(
        refreshed.contains(r#"gateway_refreshes_total{api="cap"} 1"#),
        "{refreshed}"
    );
}
