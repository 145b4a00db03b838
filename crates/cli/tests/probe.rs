//! `loginflow probe` against the real sandbox (conforming), a loopback bank that deviates on
//! purpose, a loopback rustls server (TLS facts) and a closed port; canaries on every output
//! and on the suggested profile file.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use common::{Env, closed_port_url, json_of, loginflow};
use serde_json::{Value, json};

/// The probe's steps as (probe, step, status).
fn steps_of(v: &Value) -> Vec<(String, String, Option<u64>)> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["probe"].as_str().unwrap().to_owned(),
                s["step"].as_str().unwrap().to_owned(),
                s["status"].as_u64(),
            )
        })
        .collect()
}

/// Every deviation as (step, what, reading, setting, accepted).
fn deviations_of(v: &Value) -> Vec<(String, String, String, Value, bool)> {
    let mut out = Vec::new();
    for s in v["steps"].as_array().unwrap() {
        for d in s["deviations"].as_array().unwrap() {
            out.push((
                format!(
                    "{}/{}",
                    s["probe"].as_str().unwrap(),
                    s["step"].as_str().unwrap()
                ),
                d["what"].as_str().unwrap().to_owned(),
                d["reading"].as_str().unwrap().to_owned(),
                d["setting"].clone(),
                d["accepted"].as_bool().unwrap(),
            ));
        }
    }
    out
}

#[test]
fn the_realm_sandbox_conforms_with_and_without_credentials() {
    let env = Env::new();
    let out = env
        .cap()
        .args(["--output", "json", "probe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out);
    assert_eq!(
        (v["conforms"].clone(), v["deviations"].clone()),
        (json!(true), json!(0)),
        "{v}"
    );
    assert_eq!(v["tls"]["scheme"], "http");
    assert_eq!(
        steps_of(&v),
        [
            ("wrong password", "request_login", Some(401)),
            ("unknown request id", "token", Some(404)),
            ("empty body", "request_login", Some(400)),
            ("wrong content type", "request_login", Some(400)),
            ("bogus refresh token", "refresh", Some(401)),
        ]
        .map(|(p, s, c)| (p.to_owned(), s.to_owned(), c))
    );

    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "probe",
            "--username",
            "bob",
            "--password-stdin",
        ])
        .args(["--otp", "123456"])
        .write_stdin("bob-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["deviations"], 0, "{v}");
    let steps = steps_of(&v);
    for expected in [
        ("login", "request_login", Some(201)),
        ("login", "token", Some(201)),
        ("refresh", "refresh", Some(200)),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned(), expected.2);
        assert!(steps.contains(&expected), "{expected:?} in {steps:?}");
    }
    // Field names only: the password's field is named, its value never.
    let login = &v["steps"][1]["request"];
    assert_eq!(login["path"], "/auth/realm/cap/request");
    assert!(
        login["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("password"))
    );
}

#[test]
fn the_internet_banking_sandbox_conforms_through_login_refresh_and_revoke() {
    let env = Env::new();
    let out = env
        .ciam()
        .args([
            "--output",
            "json",
            "probe",
            "--username",
            "alice",
            "--password-stdin",
        ])
        .write_stdin("alice-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["deviations"], 0, "{v}");
    let steps = steps_of(&v);
    for (probe, step, status) in [
        ("wrong password", "authorize", 200),
        ("wrong password", "login_challenge", 401),
        ("login", "access_token", 200),
        ("refresh", "refresh", 200),
        ("revoke", "revoke", 200),
        ("unknown request id", "pre_login_verify", 404),
        ("bogus refresh token", "refresh", 401),
    ] {
        let expected = (probe.to_owned(), step.to_owned(), Some(status));
        assert!(steps.contains(&expected), "{expected:?} in {steps:?}");
    }
    assert_eq!(v["extraRequests"], 0);
}

#[test]
fn an_unreachable_server_exits_3() {
    let url = closed_port_url();
    let out = loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", "not-a-real-secret")
        .args(["--api", "cap", "--base-url", &url, "--realm", "cap"])
        .args(["--client-id", "c", "--output", "json", "probe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["reachable"], false);
    assert_eq!(v["conforms"], false);
    assert!(v["steps"][0]["transportError"].is_string(), "{v}");
    let text = loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", "not-a-real-secret")
        .args(["--api", "cap", "--base-url", &url, "--realm", "cap"])
        .args(["--client-id", "c", "probe"])
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&text.stdout).contains("cannot be reached"));
}

/// The spelling login-core's profiles give `SuccessStatus::Any2xx`.
fn any2xx() -> Value {
    serde_json::to_value(login_core::SuccessStatus::Any2xx).unwrap()
}

const BOB_PASSWORD: &str = "CANARY-probe-pw-51ac";
const CLIENT_SECRET: &str = "CANARY-probe-cs-0e2b";
const ACCESS: &str = "CANARY-probe-at";
const REFRESH: &str = "CANARY-probe-rt";

/// A realm bank that deviates on purpose: 200 for 201, an expiry as a numeric string, an
/// unknown field, Unix-time expiries (every one of them) and the scope as an array in the
/// token set, HTML and
/// message-less error bodies, an HTTP-date `Retry-After`. Its tokens are canaries.
fn deviating_bank() -> String {
    scripted(|method, path, content_type, body| {
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let tokens = |n: u32| {
            json!({
                "accessToken": format!("{ACCESS}-{n}"), "refreshToken": format!("{REFRESH}-{n}"),
                "expires": now + 300, "refreshExpires": now + 1800, "scope": ["openid"],
                "sessionState": "s", "tokenType": "Bearer", "redirectUrl": "https://app.example/"
            })
            .to_string()
        };
        let json_reply = |status: u16, body: String| (status, "application/json", vec![], body);
        match (method, path) {
            ("POST", "/base/auth/realm/cap/request") if content_type != "application/json" => {
                json_reply(
                    415,
                    r#"{"error":"invalid_request","message":"JSON only"}"#.into(),
                )
            }
            ("POST", "/base/auth/realm/cap/request") if body.is_null() => {
                json_reply(400, r#"{"error":"invalid_request"}"#.into())
            }
            ("POST", "/base/auth/realm/cap/request")
                if body["username"] == "bob"
                    && body["password"] == BOB_PASSWORD
                    && body["clientSecret"] == CLIENT_SECRET =>
            {
                json_reply(
                    200,
                    json!({"reqId": "r1", "exp": (now + 300).to_string(), "mfa": "none", "debug": 1})
                        .to_string(),
                )
            }
            ("POST", "/base/auth/realm/cap/request") => (
                401,
                "text/html",
                vec![],
                "<html><body>denied</body></html>".into(),
            ),
            ("POST", "/base/auth/realm/cap/token") if body["reqId"] == "r1" => {
                json_reply(201, tokens(1))
            }
            ("POST", "/base/auth/realm/cap/token") => json_reply(
                404,
                r#"{"error":"not_found","message":"no such request"}"#.into(),
            ),
            ("PATCH", "/base/auth/realm/cap/token")
                if body["refreshToken"] == format!("{REFRESH}-1") =>
            {
                json_reply(200, tokens(2))
            }
            _ => (
                401,
                "application/json",
                vec![("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")],
                r#"{"error":"invalid_token","message":"unknown token"}"#.into(),
            ),
        }
    })
}

#[test]
fn a_deviating_bank_is_reported_with_readings_and_settings_and_the_suggestion_logs_in() {
    let base = deviating_bank();
    let dir = tempfile::tempdir().unwrap();
    let suggested = dir.path().join("bank.json");
    let realm = |cmd: &mut assert_cmd::Command| {
        cmd.env("LOGINFLOW_CLIENT_SECRET", CLIENT_SECRET)
            .args(["--api", "cap", "--base-url", &base, "--realm", "cap"])
            .args(["--client-id", "cap-mobile"]);
    };
    let mut cmd = loginflow();
    realm(&mut cmd);
    let out = cmd
        .args([
            "--output",
            "json",
            "probe",
            "--username",
            "bob",
            "--password-stdin",
        ])
        .arg("--suggest-profile")
        .arg(&suggested)
        .write_stdin(format!("{BOB_PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v = json_of(&out);
    let found = deviations_of(&v);
    let has = |step: &str, what: &str, reading: &str, setting: Value, accepted: bool| {
        assert!(
            found.iter().any(|(s, w, r, set, a)| s == step
                && w.contains(what)
                && r == reading
                && *set == setting
                && *a == accepted),
            "{step}: {what} ({reading}, {setting}, {accepted}) in {found:#?}"
        );
    };
    let none = Value::Null;
    has(
        "login/request_login",
        "status 200, the contract documents 201",
        "success-status",
        json!({"key": "success", "value": any2xx()}),
        true,
    );
    has(
        "login/request_login",
        "field exp is a numeric string",
        "tolerant-reader",
        none.clone(),
        true,
    );
    has(
        "login/request_login",
        "unknown field debug",
        "tolerant-reader",
        none.clone(),
        true,
    );
    has(
        "login/token",
        "field expires",
        "expiry-lifetimes",
        json!({"key": "expiry", "value": "unixTime"}),
        false,
    );
    has(
        "login/token",
        "field scope is a string array",
        "tolerant-reader",
        none.clone(),
        true,
    );
    has(
        "wrong password/request_login",
        "content type \"text/html\"",
        "error-body",
        none.clone(),
        true,
    );
    has(
        "wrong password/request_login",
        "the error body is not JSON",
        "error-body",
        none.clone(),
        true,
    );
    has(
        "empty body/request_login",
        "no message field",
        "error-body",
        none.clone(),
        true,
    );
    has(
        "bogus refresh token/refresh",
        "Retry-After is",
        "retry-after",
        none.clone(),
        true, // login-core reads an HTTP date too (RFC 9110)
    );
    assert!(
        !found
            .iter()
            .any(|(s, ..)| s.starts_with("wrong content type")),
        "415 for a text/plain body conforms: {found:#?}"
    );

    // The suggestion: the settings that accept what was seen, no secret, mode 0600.
    let file = std::fs::read_to_string(&suggested).unwrap();
    let profile: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(profile["expiry"], "unixTime", "{profile}");
    assert_eq!(profile["success"], any2xx());
    assert_eq!(profile["api"], "cap");
    assert_eq!(v["suggestedProfile"], profile);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&suggested).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The other commands take it.
    let out = loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", CLIENT_SECRET)
        .arg("--profile")
        .arg(&suggested)
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "bob",
            "--password-stdin",
        ])
        .write_stdin(format!("{BOB_PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_of(&out)["state"], "Tokened");

    // Canaries: nothing secret in any output of the probe or in the file.
    let mut cmd = loginflow();
    realm(&mut cmd);
    let text = cmd
        .env("LOGINFLOW_LOG", "trace")
        .args(["probe", "--username", "bob", "--password-stdin"])
        .write_stdin(format!("{BOB_PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(1));
    let outputs = [
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&text.stdout).into_owned(),
        String::from_utf8_lossy(&text.stderr).into_owned(),
        serde_json::to_string(&v).unwrap(),
        file,
    ];
    assert!(
        outputs[1].contains("reading expiry-lifetimes"),
        "{}",
        outputs[1]
    );
    for output in &outputs {
        for secret in [BOB_PASSWORD, CLIENT_SECRET, ACCESS, REFRESH] {
            assert!(!output.contains(secret), "{secret} in {output}");
        }
    }
}

#[test]
fn secrets_of_a_sandbox_run_never_reach_the_output() {
    const PASSWORD: &str = "CANARY-probe-sbx-pw-77";
    const SECRET: &str = "CANARY-probe-sbx-cs-91";
    const DEVICE: &str = "CANARY-probe-sbx-dev-3";
    const OTP: &str = "CANARY-otp-probe-6";
    let env = Env::with(|c| {
        c.users.insert(
            "dana".into(),
            login_sandbox::config::UserConfig {
                password: login_sandbox::secret::Secret::new(PASSWORD),
                mfa: login_sandbox::config::Mfa::Otp,
                channel: login_sandbox::config::Channel::Sms,
                last_location: None,
            },
        );
        c.client_secret = login_sandbox::secret::Secret::new(SECRET);
        c.device_tokens = vec![login_sandbox::secret::Secret::new(DEVICE)];
        c.fixed_otp = Some(OTP.into());
        c.anomaly = login_sandbox::config::AnomalyMode::Always;
    });
    let profile = env.path("suggested.toml");
    let mut outputs = Vec::new();
    for (mut cmd, output) in [
        (env.cap(), "json"),
        (env.cap(), "text"),
        (env.ciam(), "json"),
        (env.ciam(), "text"),
    ] {
        let out = cmd
            .env("LOGINFLOW_LOG", "trace")
            .args([
                "--output",
                output,
                "probe",
                "--username",
                "dana",
                "--password-stdin",
            ])
            .args(["--otp", OTP, "--suggest-profile"])
            .arg(&profile)
            .write_stdin(format!("{PASSWORD}\n"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        outputs.push(String::from_utf8_lossy(&out.stderr).into_owned());
        outputs.push(std::fs::read_to_string(&profile).unwrap());
    }
    assert!(
        outputs.iter().any(|o| o.contains("login_step")),
        "TRACE was captured"
    );
    for output in &outputs {
        for secret in [PASSWORD, SECRET, DEVICE, OTP] {
            assert!(!output.contains(secret), "{secret} in {output}");
        }
    }
}

#[test]
fn tls_facts_name_the_version_the_chain_and_why_it_is_not_trusted() {
    let (url, ca_subject) = tls_server();
    let out = loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", "not-a-real-secret")
        .args(["--api", "cap", "--base-url", &url, "--realm", "cap"])
        .args(["--client-id", "c", "--output", "json", "probe"])
        .output()
        .unwrap();
    // The private CA is not among the Mozilla roots: every call fails its handshake.
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let v = json_of(&out);
    let tls = &v["tls"];
    assert_eq!(tls["scheme"], "https");
    assert_eq!(tls["version"], "TLSv1_3");
    assert!(
        tls["cipherSuite"].as_str().unwrap().starts_with("TLS13_"),
        "{tls}"
    );
    assert_eq!(tls["verified"], false);
    assert!(
        tls["verifyError"]
            .as_str()
            .unwrap()
            .contains("UnknownIssuer"),
        "{tls}"
    );
    let leaf = &tls["chain"][0];
    assert!(
        leaf["subject"]
            .as_str()
            .unwrap()
            .contains("loginflow probe test"),
        "{leaf}"
    );
    assert!(
        leaf["issuer"].as_str().unwrap().contains(&ca_subject),
        "{leaf}"
    );
    // Valid until 2040-01-01T00:00:00Z.
    assert_eq!(leaf["notAfter"], 2_208_988_800_i64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(
        leaf["daysToExpiry"],
        (2_208_988_800 - now).div_euclid(86_400)
    );
    assert!(v["notes"].to_string().contains("does not verify"), "{v}");
}

/// A TLS server on loopback ("localhost", signed by a private rcgen CA, valid until 2040)
/// answering 404 to every request; returns the base URL and the CA's common name.
fn tls_server() -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let ca_name = "loginflow probe CA";
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    let issuer = Issuer::from_params(&ca, &ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "loginflow probe test");
    leaf.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let leaf = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            let config = config.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut buf = [0u8; 4096];
                if tls.read(&mut buf).is_ok_and(|n| n > 0) {
                    let _ = tls.write_all(
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
            });
        }
    });
    (format!("https://localhost:{port}"), ca_name.to_owned())
}

type Reply = (u16, &'static str, Vec<(&'static str, &'static str)>, String);

/// A loopback HTTP/1.1 server answering each request with `answer(method, path, content
/// type, body)`, one request per connection; returns its base URL with the path `/base`.
fn scripted(answer: fn(&str, &str, &str, &[u8]) -> Reply) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || serve(stream, answer));
        }
    });
    format!("http://{addr}/base")
}

fn serve(mut stream: TcpStream, answer: fn(&str, &str, &str, &[u8]) -> Reply) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let (mut length, mut content_type) = (0usize, String::new());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if let Some(v) = lower.strip_prefix("content-type:") {
                content_type = v.trim().to_owned();
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, ctype, headers, text) = answer(&method, &path, &content_type, &body);
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n",
            text.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(text.as_bytes()).is_err()
        {
            return;
        }
    }
}
