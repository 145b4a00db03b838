//! The pages in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
//! driven over WebDriver by fantoccini. The test starts chromedriver on a free loopback port
//! and a sandbox on loopback, then checks that the start page lists the users, that the
//! outbox page shows the OTP of a realm login (driven over plain HTTP), and that the API
//! reference renders its title and operations. Each page is saved as a PNG under
//! `target/screenshots/` (`$CARGO_TARGET_DIR/screenshots/` when that is set), and no page
//! shows a password, a secret or a token.
//!
//! Without chromium and chromedriver the test fails when `CI=true` (CI installs them) and is
//! skipped with a note otherwise.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use login_sandbox::config;
use serde_json::{Value, json};

/// Chromium's flags for a headless run as root on a machine without outside network: the
/// background-networking flags stop it from trying to reach outside hosts.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
];

/// An executable named one of `names` on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// chromedriver and the browser, or why the test cannot run.
fn browser_tools() -> Result<(PathBuf, PathBuf), String> {
    let driver = on_path(&["chromedriver"]).ok_or("chromedriver is not on PATH")?;
    let browser = on_path(&["chromium", "chromium-browser", "google-chrome"])
        .ok_or("chromium is not on PATH")?;
    Ok((driver, browser))
}

/// Kills the process on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scratch directory removed on drop (Chromium's profile).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_loopback_port() -> u16 {
    // Bound and released at once; chromedriver takes it a moment later.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Starts chromedriver on a free loopback port and waits until it is ready.
fn start_chromedriver(driver: &Path) -> (Killed, String) {
    let port = free_loopback_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let child = Killed(child);
    let url = format!("http://127.0.0.1:{port}");
    let status_url = format!("{url}/status");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Refused connections are expected until it listens.
        let ready = ureq::get(&status_url)
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
            .is_some_and(|body| body["value"]["ready"] == true);
        if ready {
            return (child, url);
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not get ready on {url}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots` or the workspace's `target/screenshots`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

async fn save_screenshot(browser: &Browser, name: &str) -> PathBuf {
    let png = browser.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let path = screenshot_dir().join(name);
    std::fs::write(&path, png).expect("write the screenshot");
    eprintln!("screenshot: {}", path.display());
    path
}

async fn text_of(browser: &Browser, css: &str) -> String {
    let element = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    element.text().await.expect("the element's text")
}

#[test]
fn pages_render_in_a_real_browser() {
    let (driver, chromium) = match browser_tools() {
        Ok(tools) => tools,
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "{why}: the browser test needs Debian's chromium and chromium-driver \
             (`apt-get update && apt-get install -y chromium chromium-driver`; .ci/run installs them)"
        ),
        Err(why) => {
            eprintln!(
                "note: skipping the browser test: {why} (apt-get install -y chromium chromium-driver)"
            );
            return;
        }
    };
    let h = start_default();
    let base = h.sandbox.base_url();
    let (_driver, driver_url) = start_chromedriver(&driver);

    // A realm login with mfa otp over plain HTTP: bob's OTP goes to the outbox.
    let bob = realm_request(&h.client, "bob", "bob-password");
    bob.assert_status(201);
    let ref_id = bob.str("refId");
    let tokens = realm_token(&h.client, &bob.str("reqId"), Some(("123456", &ref_id)));
    tokens.assert_status(201);
    let secrets: Vec<(&str, String)> = vec![
        ("password", "alice-password".into()),
        ("password", "bob-password".into()),
        ("password", "carol-password".into()),
        ("client secret", config::TEST_CLIENT_SECRET.into()),
        ("device token", config::TEST_DEVICE_TOKEN.into()),
        ("reqId", bob.str("reqId")),
        ("access token", tokens.str("accessToken")),
        ("refresh token", tokens.str("refreshToken")),
    ];

    let profile = Scratch(
        std::env::temp_dir().join(format!("login-sandbox-chromium-{}", std::process::id())),
    );
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.0.display()));
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": args}),
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let browser = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .expect("a WebDriver session with headless Chromium");

        // The start page lists the users.
        browser.goto(&format!("{base}/")).await.expect("open /");
        let users = text_of(&browser, "#users").await;
        for user in ["alice", "bob", "carol"] {
            assert!(users.contains(user), "{user} not in {users}");
        }
        let apis = text_of(&browser, "#apis").await;
        assert!(
            apis.contains(&format!("{base}/internal-api/centaur")),
            "{apis}"
        );
        save_screenshot(&browser, "index.png").await;
        let source = browser.source().await.expect("the page source");
        assert_shows_no_secret("the start page", &source, &secrets);

        // The outbox page shows bob's OTP with its refId.
        browser
            .goto(&format!("{base}/_sandbox/outbox.html"))
            .await
            .expect("open the outbox");
        let outbox = text_of(&browser, "#outbox").await;
        let row = outbox
            .lines()
            .find(|line| line.contains(&ref_id))
            .unwrap_or_else(|| panic!("no row for {ref_id} in {outbox}"));
        for cell in ["bob", "sms", "realm-login", "123456"] {
            assert!(row.contains(cell), "{cell} not in {row}");
        }
        save_screenshot(&browser, "outbox.png").await;
        let source = browser.source().await.expect("the page source");
        assert_shows_no_secret("the outbox page", &source, &secrets);

        // The API reference renders the document: its title and its operations.
        browser
            .goto(&format!("{base}/docs/"))
            .await
            .expect("open the API reference");
        let title = text_of(&browser, ".swagger-ui .info .title").await;
        assert!(title.contains("login-sandbox"), "{title}");
        text_of(&browser, ".opblock-summary-path").await;
        let operations = browser
            .find_all(Locator::Css(".opblock-summary-path"))
            .await
            .expect("the operations");
        let mut paths = Vec::new();
        for op in &operations {
            paths.push(op.text().await.expect("a path"));
        }
        let paths: Vec<String> = paths
            .into_iter()
            .map(|p| p.replace('\u{200b}', ""))
            .collect();
        for expected in [
            "/api/v1/authorize",
            "/api/v1/access-token",
            "/internal-api/centaur/auth/realm/{realmId}/request",
        ] {
            assert!(
                paths.iter().any(|p| p == expected),
                "{expected} not in {paths:?}"
            );
        }
        // As many operations as the served document has (counted from the same generator).
        let document = login_sandbox::openapi::document(&login_sandbox::SandboxConfig::for_tests());
        let documented: usize = document["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .values()
                    .filter_map(|item| item.as_object())
                    .map(|item| {
                        item.keys()
                            .filter(|k| {
                                ["get", "post", "put", "patch", "delete"].contains(&k.as_str())
                            })
                            .count()
                    })
                    .sum()
            })
            .unwrap_or(0);
        assert!(
            documented >= 23,
            "the document lists {documented} operations"
        );
        assert_eq!(
            operations.len(),
            documented,
            "every documented operation: {paths:?}"
        );
        save_screenshot(&browser, "api-reference.png").await;
        let source = browser.source().await.expect("the page source");
        assert_shows_no_secret("the API reference", &source, &secrets);

        browser.close().await.expect("close the browser");
    });
}
