//! A bank section's `reach`: the gateway, configured from a file, logs in to both APIs of the
//! sandbox behind a loopback TLS server that demands a client certificate signed by a private
//! CA, through a loopback CONNECT proxy that wants credentials and counts its tunnels. Without
//! the client certificate the bank refuses the handshake; the key and the proxy password never
//! reach the logs or the configuration's `Debug`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use login_sandbox::config::{TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI};
use loginflow_gateway::{Gateway, GatewayConfig};
use serde_json::{Value, json};
use test_reach::{ConnectProxy, Pki, TlsFront};

const PROXY_USER: &str = "gw-proxy-user";
const PROXY_PASS: &str = "gw-proxy-pass-CANARY";

/// Writes `text` to `name` in `dir`; returns the path.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A gateway config file for both APIs at `base` (an `https://localhost:PORT` front), each
/// bank section with `reach`.
fn load_config(dir: &Path, base: &str, jwk: &str, reach: &Value) -> GatewayConfig {
    let file = json!({
        "listen": "127.0.0.1:0",
        "store": "memory",
        "storeKeys": {"file": write(dir, "store-keys", &format!("k1:{KEY_B64}\n"))},
        "internalApiKey": {"file": write(dir, "api-key", API_KEY)},
        "cap": {
            "baseUrl": format!("{base}/internal-api/centaur"),
            "profile": {"api": "realm", "realmId": "cap", "clientId": "cap-mobile"},
            "clientSecret": {"file": write(dir, "client-secret", TEST_CLIENT_SECRET)},
            "reach": reach,
        },
        "ciam": {
            "baseUrl": base,
            "profile": {"api": "ciam", "clientId": "cap-mobile", "redirectUri": TEST_REDIRECT_URI},
            "deviceToken": {"file": write(dir, "device-token", TEST_DEVICE_TOKEN)},
            "serverJwk": {"file": write(dir, "bank.jwk", jwk)},
            "reach": reach,
        }
    });
    let path = write(dir, "gateway.json", &file.to_string());
    GatewayConfig::load(Path::new(&path)).unwrap()
}

#[test]
fn both_apis_log_in_over_mutual_tls_through_an_authenticating_proxy() {
    capture_logs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bank = rt.block_on(sandbox(false));
    // The servers of the kit run on runtimes of their own, started outside this one.
    let bank_ca = Pki::new("bank test CA");
    let client_ca = Pki::new("client test CA");
    let front = TlsFront::start(
        &bank_ca.server(&["localhost"]),
        Some(&client_ca),
        bank.local_addr(),
    );
    let proxy = ConnectProxy::start(Some((PROXY_USER, PROXY_PASS)));
    let client = client_ca.client("loginflow-gateway");
    let dir = TempDir::new("reach");
    let base = format!("https://localhost:{}", front.port());
    let reach = json!({
        "clientCert": write(dir.path(), "client.pem", &client.cert_pem),
        "clientKey": {"file": write(dir.path(), "client.key", &client.key_pem)},
        "caFile": write(dir.path(), "ca.pem", &bank_ca.ca_pem),
        "caOnly": true,
        "proxy": {"file": write(dir.path(), "proxy-url", &proxy.url(Some((PROXY_USER, PROXY_PASS))))},
    });
    let config = load_config(dir.path(), &base, &bank.public_jwk_json(), &reach);
    let shown = format!("{config:?}");

    rt.block_on(async {
        let gw = Gateway::new(config).await.unwrap().spawn().await.unwrap();
        let http = Http::new();
        let url = gw.url();
        for (api, user) in [("cap", "bob"), ("ciam", "carol")] {
            let session = full_login(&http, &[&url], 0, api, user, &format!("{user}-password"))
                .await
                .unwrap_or_else(|r| panic!("{api}: {} {}", r.status, r.text()));
            http.token(&url, &session).await.expect(200, None);
        }
    });
    assert!(proxy.tunnels() >= 1, "no tunnel through the proxy");
    assert_eq!(proxy.refused(), 0, "the proxy credentials were not sent");
    let target = format!("localhost:{}", front.port());
    assert!(
        proxy.targets().iter().all(|t| *t == target),
        "{:?}",
        proxy.targets()
    );
    assert!(front.handshakes() >= 1);
    assert_eq!(
        front.with_client_cert(),
        front.handshakes(),
        "every handshake presented the client certificate"
    );

    // Without the client certificate the bank refuses the handshake: a 502, nothing logged in.
    let without = json!({
        "caFile": reach["caFile"],
        "caOnly": true,
        "proxy": reach["proxy"],
    });
    let config = load_config(dir.path(), &base, &bank.public_jwk_json(), &without);
    let (certified, tunnels, handshakes) = (
        front.with_client_cert(),
        proxy.tunnels(),
        front.handshakes(),
    );
    rt.block_on(async {
        let gw = Gateway::new(config).await.unwrap().spawn().await.unwrap();
        let reply = Http::new()
            .start(&gw.url(), "cap", "alice", "alice-password")
            .await;
        assert_eq!(reply.status, 502, "{}", reply.text());
    });
    // The call reached the bank through the proxy (a new tunnel, the credentials taken) and
    // failed there: no handshake completed, with or without a certificate.
    assert!(proxy.tunnels() > tunnels, "no tunnel to the bank");
    assert_eq!(proxy.refused(), 0);
    assert_eq!(
        front.handshakes(),
        handshakes,
        "a handshake completed without the certificate"
    );
    assert_eq!(front.with_client_cert(), certified);

    // Canaries: the key and the proxy password, in the logs and the configuration's Debug.
    let key_body = client
        .key_pem
        .lines()
        .find(|l| !l.starts_with("-----"))
        .unwrap()
        .to_owned();
    let logs = String::from_utf8_lossy(&logs()).into_owned();
    for text in [&logs, &shown] {
        assert!(!text.contains(PROXY_PASS), "proxy password shown");
        assert!(!text.contains(&key_body), "client key shown");
    }
    assert!(shown.contains("ClientIdentity"), "{shown}");
    drop(rt);
}

#[test]
fn reach_mistakes_stop_the_start_with_a_message() {
    let dir = TempDir::new("reach-errors");
    let pki = Pki::new("CA");
    let ca = write(dir.path(), "ca.pem", &pki.ca_pem);
    let base = "https://localhost:1";
    let jwk = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    let load = |reach: Value| {
        let file = json!({
            "listen": "127.0.0.1:0",
            "store": "memory",
            "storeKeys": {"file": write(dir.path(), "store-keys", &format!("k1:{KEY_B64}\n"))},
            "internalApiKey": {"file": write(dir.path(), "api-key", API_KEY)},
            "ciam": {
                "baseUrl": base,
                "profile": {"api": "ciam", "clientId": "c", "redirectUri": TEST_REDIRECT_URI},
                "deviceToken": {"file": write(dir.path(), "device-token", TEST_DEVICE_TOKEN)},
                "serverJwk": {"file": write(dir.path(), "bank.jwk", jwk)},
                "reach": reach,
            }
        });
        let path = write(dir.path(), "gateway.json", &file.to_string());
        GatewayConfig::load(Path::new(&path))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let e = load(json!({"caFile": write(dir.path(), "not-pem", "not a certificate")})).unwrap_err();
    assert!(e.contains("ciam.reach: caFile"), "{e}");
    let e =
        load(json!({"clientCert": ca, "clientKey": {"env": "GW_REACH_UNSET_VAR"}})).unwrap_err();
    assert!(e.contains("GW_REACH_UNSET_VAR"), "{e}");
    let e =
        load(json!({"proxy": {"file": write(dir.path(), "p", "ftp://u:CANARY@p:1")}})).unwrap_err();
    assert!(
        e.contains("ciam.reach: proxy") && !e.contains("CANARY"),
        "{e}"
    );
    let e = load(json!({"caFil": ca})).unwrap_err();
    assert!(e.contains("caFil"), "{e}");
    load(json!({"caFile": ca, "proxyFromEnv": true})).unwrap();
}
