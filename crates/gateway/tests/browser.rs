//! The login page end to end in headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver (fantoccini): a realm login with its OTP, and an internet-banking login
//! with its captcha (a wrong answer first) and then its OTP. A screenshot of each page is kept
//! under `target/screenshots/gateway-*.png`; no page source ever holds a password or an OTP.
//!
//! Without Chromium the test is skipped with a note, unless `CI=true`: then it fails and says
//! what to install.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMIUM: &str = "chromium";
const CHROMEDRIVER: &str = "chromedriver";

/// A chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Chromium and chromedriver, or `None` (skip) outside CI.
fn browser_available() -> bool {
    let ok = found(CHROMIUM) && found(CHROMEDRIVER);
    if !ok {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "headless Chromium is needed for the login page test: apt-get update && apt-get install -y chromium chromium-driver"
        );
        eprintln!(
            "skipped: chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)"
        );
    }
    ok
}

async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        port,
        _profile: TempDir::new("chromium"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        assert!(Instant::now() < deadline, "chromedriver did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn browser(driver: &Driver) -> Client {
    let profile = driver._profile.path().display().to_string();
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=800,900",
                format!("--user-data-dir={profile}"),
            ]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot and returns the page source, which must hold no secret.
async fn keep(client: &Client, name: &str) -> String {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(screenshots().join(format!("gateway-{name}.png")), png).unwrap();
    let source = client.source().await.unwrap();
    let text = without_data_uris(&source);
    for secret in ["bob-password", "carol-password", "123456", "WXYZ", API_KEY] {
        assert!(!text.contains(secret), "{secret} on the {name} page");
    }
    source
}

async fn fill(client: &Client, id: &str, text: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn submit(client: &Client) {
    client
        .find(Locator::Id("submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn text_of(client: &Client, id: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_in_headless_chromium() {
    if !browser_available() {
        return;
    }
    let bank = sandbox(true).await;
    let gw = gateway(&bank, &Setup::default()).await;
    let driver = start_driver().await;
    let client = browser(&driver).await;
    run_pages(&client, &gw.url()).await;
    let _ = client.close().await;
}

async fn run_pages(client: &Client, base: &str) {
    // Realm: bob, then his OTP.
    client.goto(&format!("{base}/")).await.unwrap();
    keep(client, "start").await;
    client
        .find(Locator::Id("api"))
        .await
        .unwrap()
        .select_by_value("cap")
        .await
        .unwrap();
    fill(client, "username", "bob").await;
    fill(client, "password", "bob-password").await;
    submit(client).await;
    text_of(client, "otp").await;
    let page = keep(client, "realm-otp").await;
    assert!(page.contains("One-time password"));
    fill(client, "otp", "123456").await;
    submit(client).await;
    let signed_in = text_of(client, "signed-in").await;
    assert!(signed_in.contains("Signed in"), "{signed_in}");
    let expires = client
        .find(Locator::Id("expires"))
        .await
        .unwrap()
        .attr("datetime")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(expires.ends_with('Z'), "{expires}");
    keep(client, "realm-signed-in").await;

    // Internet banking: carol, a wrong captcha answer, the right one, then her OTP.
    client.goto(&format!("{base}/")).await.unwrap();
    client
        .find(Locator::Id("api"))
        .await
        .unwrap()
        .select_by_value("ciam")
        .await
        .unwrap();
    fill(client, "username", "carol").await;
    fill(client, "password", "carol-password").await;
    submit(client).await;
    let image = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Id("captcha"))
        .await
        .unwrap()
        .attr("src")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(image.starts_with("data:image/png;base64,"));
    keep(client, "ciam-captcha").await;
    fill(client, "answer", "WXYZ").await;
    fill(client, "password", "carol-password").await;
    submit(client).await;
    let error = text_of(client, "error").await;
    assert!(error.contains("invalid_captcha"), "{error}");
    keep(client, "ciam-captcha-refused").await;
    fill(client, "answer", "ABCD").await;
    fill(client, "password", "carol-password").await;
    submit(client).await;
    text_of(client, "otp").await;
    keep(client, "ciam-otp").await;
    fill(client, "otp", "123456").await;
    submit(client).await;
    let signed_in = text_of(client, "signed-in").await;
    assert!(signed_in.contains("Signed in"), "{signed_in}");
    keep(client, "ciam-signed-in").await;
}
