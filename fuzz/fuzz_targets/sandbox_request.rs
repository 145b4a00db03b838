//! The sandbox's request handling, in process: its axum router (body limit, fallbacks, every
//! route of both APIs) called with `tower::ServiceExt::oneshot` on a sequence of up to four
//! arbitrary requests (enough for authorize, login challenge, access token, refresh). A request
//! is either raw bytes or a JSON object built from the contract's field names with arbitrary,
//! known-good or earlier-response values (so later requests reach past parsing: a real
//! `loginChallenge`, `reqId`, `code`, a sealed credential envelope, ...).
//!
//! Checked on every answer: no panic, no 5xx, every refusal is a JSON `{"error": "<code>", ...}`
//! body, and no refusal echoes a value the client sent (the marker below).
#![no_main]

use std::sync::{Mutex, OnceLock};

use arbitrary::Arbitrary;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use login_core::seal::{CredentialSealer, JweSealer};
use login_sandbox::config::{
    TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
};
use login_sandbox::{SandboxConfig, app::App, jwe::ServerKey, store::MemoryStore};
use tower::ServiceExt as _;

/// A value no refusal may repeat back.
const MARKER: &str = "zqxECHOMARKERzqx";
/// The server's state (throttles, lockouts, issued ids) is rebuilt this often, so memory stays
/// bounded over millions of runs.
const REBUILD_EVERY: u32 = 2_000;

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/internal-api/centaur/auth/realm/cap/request"),
    ("POST", "/internal-api/centaur/auth/realm/cap/token"),
    ("PATCH", "/internal-api/centaur/auth/realm/cap/token"),
    (
        "POST",
        "/internal-api/centaur/realm/admin/cap/user/forgotPassword",
    ),
    (
        "POST",
        "/internal-api/centaur/realm/admin/cap/user/verifyOtp",
    ),
    (
        "POST",
        "/internal-api/centaur/realm/admin/cap/user/resetPassword",
    ),
    ("POST", "/internal-api/centaur/auth/realm/other/request"),
    ("POST", "/api/v1/authorize"),
    ("GET", "/api/v1/captcha"),
    ("POST", "/api/v1/login-challenge"),
    ("POST", "/api/v1/pre-login-verify"),
    ("POST", "/api/v1/access-token"),
    ("POST", "/api/v1/revoke-token"),
    ("POST", "/api/v1/refresh-token"),
    ("POST", "/ciamauthsrvc/internetBanking/oauth/authorize"),
    (
        "POST",
        "/ciamauthsrvc/internetBanking/oauth/acceptLoginChallenge",
    ),
    ("POST", "/ciamauthsrvc/auth/mfa/prelogin/verify"),
    ("POST", "/ciamauthsrvc/internetBanking/oauth/accessToken"),
    ("POST", "/ciamauthsrvc/internetBanking/oauth/revoke"),
    (
        "POST",
        "/ciamauthsrvc/internetBanking/oauth/accessToken/refresh",
    ),
    ("GET", "/api/v1/jwks.json"),
    ("GET", "/_sandbox/outbox"),
    ("DELETE", "/api/v1/authorize"),
    ("POST", "/nowhere"),
];

const FIELDS: &[&str] = &[
    "username",
    "password",
    "clientId",
    "clientSecret",
    "reqId",
    "refId",
    "otp",
    "scope",
    "refreshToken",
    "newPassword",
    "codeChallenge",
    "codeChallengeMethod",
    "state",
    "authToken",
    "loginVerifier",
    "loginChallenge",
    "additionalAuthentication",
    "consentOtp",
    "mfaChallenge",
    "code",
    "codeVerifier",
    "grantType",
    "redirectUri",
];

/// Response fields whose values later requests may reuse.
const ECHOABLE: &[&str] = &[
    "reqId",
    "refId",
    "loginChallenge",
    "authToken",
    "captchaId",
    "mfaChallenge",
    "code",
    "token",
    "accessToken",
    "refreshToken",
    "state",
];

/// A fixed PKCE pair (RFC 7636 Appendix B).
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9Ux9vPPBz5V0vk2nlmcqQkgyTrc";
const CHALLENGE: &str = "E9Melhoa2OwvFWLqnlQmY2SjCuhDcuYhUXFLVXLUkM0";

#[derive(Debug, Arbitrary)]
enum Val {
    Text(String),
    Marker,
    Known(u8),
    Echo(u8),
    Envelope {
        user: u8,
        echo: u8,
        captcha: bool,
        iat_skew: i16,
    },
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    List(Vec<Val>),
    Object(Vec<(u8, Val)>),
}

#[derive(Debug, Arbitrary)]
enum BodyIn {
    Raw(Vec<u8>),
    Fields(Vec<(u8, Val)>),
    /// Larger than the 64 KiB body limit.
    Huge(u8),
}

#[derive(Debug, Arbitrary)]
struct Call {
    route: u8,
    /// 0: none, 1: the device token, 2: an echoed value, 3: arbitrary text, else: garbage scheme.
    auth: u8,
    auth_text: String,
    check_identity: Option<Val>,
    location: Option<(String, String)>,
    content_type: bool,
    body: BodyIn,
}

struct Server {
    runtime: tokio::runtime::Runtime,
    router: Router,
    sealer: JweSealer,
    runs: u32,
}

fn build(runtime: &tokio::runtime::Runtime) -> (Router, JweSealer) {
    let key = ServerKey::generate();
    let sealer =
        JweSealer::from_jwk(key.public_jwk()).expect("the sandbox's own public JWK parses");
    let app = runtime
        .block_on(App::new(
            SandboxConfig::for_tests(),
            std::sync::Arc::new(MemoryStore::default()),
            key,
        ))
        .expect("the test configuration builds");
    (
        login_sandbox::openapi::router(std::sync::Arc::new(app)),
        sealer,
    )
}

fn server() -> &'static Mutex<Server> {
    static SERVER: OnceLock<Mutex<Server>> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (router, sealer) = build(&runtime);
        Mutex::new(Server {
            runtime,
            router,
            sealer,
            runs: 0,
        })
    })
}

fn known(n: u8) -> serde_json::Value {
    let v = match n % 16 {
        0 => "alice",
        1 => "alice-password",
        2 => TEST_CLIENT_ID,
        3 => TEST_CLIENT_SECRET,
        4 => "123456",
        5 => "S256",
        6 => CHALLENGE,
        7 => VERIFIER,
        8 => TEST_REDIRECT_URI,
        9 => "authorization_code",
        10 => "refresh_token",
        11 => "openid",
        12 => "bob",
        13 => "ABCD",
        14 => "plain",
        _ => "stateSTATEstateSTATE0123",
    };
    if n >= 240 {
        serde_json::json!([v])
    } else {
        serde_json::Value::String(v.to_owned())
    }
}

fn echo(seen: &[String], n: u8) -> String {
    if seen.is_empty() {
        String::new()
    } else {
        seen[usize::from(n) % seen.len()].clone()
    }
}

fn value(v: &Val, seen: &[String], sealer: &JweSealer, depth: u8) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Val::Text(s) => J::String(s.clone()),
        Val::Marker => J::String(MARKER.to_owned()),
        Val::Known(n) => known(*n),
        Val::Echo(n) => J::String(echo(seen, *n)),
        Val::Envelope {
            user,
            echo: e,
            captcha,
            iat_skew,
        } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let (name, password) = match user % 4 {
                0 => ("alice", "alice-password"),
                1 => ("bob", "bob-password"),
                2 => ("alice", MARKER),
                _ => (MARKER, "x"),
            };
            let mut plain = serde_json::json!({
                "authToken": echo(seen, *e), "username": name, "password": password,
                "iat": now + i64::from(*iat_skew),
            });
            if *captcha {
                plain["captchaId"] = J::String(echo(seen, e.wrapping_add(1)));
                plain["captchaAnswer"] = J::String("ABCD".into());
            }
            let mut rng = login_core::entropy::DeterministicEntropy::new(u64::from(*e));
            match sealer.seal(plain.to_string().as_bytes(), &mut rng) {
                Ok(sealed) => J::String(sealed.expose().to_owned()),
                Err(_) => J::Null,
            }
        }
        Val::Int(i) => J::from(*i),
        Val::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Val::Bool(b) => J::Bool(*b),
        Val::Null => J::Null,
        Val::List(items) if depth < 4 => J::Array(
            items
                .iter()
                .take(8)
                .map(|i| value(i, seen, sealer, depth + 1))
                .collect(),
        ),
        Val::Object(fields) if depth < 4 => object(fields, seen, sealer, depth + 1),
        Val::List(_) | Val::Object(_) => J::Null,
    }
}

fn object(
    fields: &[(u8, Val)],
    seen: &[String],
    sealer: &JweSealer,
    depth: u8,
) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (name, v) in fields.iter().take(16) {
        let key = FIELDS
            .get(usize::from(*name))
            .copied()
            .unwrap_or("extraField");
        map.insert(key.to_owned(), value(v, seen, sealer, depth));
    }
    serde_json::Value::Object(map)
}

fn sent_marker(call: &Call, body: &[u8]) -> bool {
    let in_body = body.windows(MARKER.len()).any(|w| w == MARKER.as_bytes());
    in_body || call.auth_text.contains(MARKER) || matches!(call.check_identity, Some(Val::Marker))
}

fuzz_target!(|calls: Vec<Call>| {
    let mut guard = server().lock().unwrap_or_else(|p| p.into_inner());
    let server = &mut *guard;
    server.runs += 1;
    if server.runs % REBUILD_EVERY == 0 {
        let (router, sealer) = build(&server.runtime);
        server.router = router;
        server.sealer = sealer;
    }
    let mut seen: Vec<String> = Vec::new();
    for call in calls.iter().take(4) {
        let (method, path) = ROUTES[usize::from(call.route) % ROUTES.len()];
        let body: Vec<u8> = match &call.body {
            BodyIn::Raw(bytes) => bytes.clone(),
            BodyIn::Fields(fields) => object(fields, &seen, &server.sealer, 0)
                .to_string()
                .into_bytes(),
            BodyIn::Huge(fill) => {
                vec![b'a'.wrapping_add(*fill % 26); 64 * 1024 + 1 + usize::from(*fill)]
            }
        };
        let mut builder = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("fixed method"))
            .uri(path);
        if call.content_type {
            builder = builder.header("content-type", "application/json");
        }
        let authorization = match call.auth % 6 {
            0 => None,
            1 => Some(format!("Bearer {TEST_DEVICE_TOKEN}")),
            2 => Some(format!("Bearer {}", echo(&seen, call.route))),
            3 => Some(format!("Bearer {}", call.auth_text)),
            4 => Some(call.auth_text.clone()),
            _ => Some(format!("Basic {}", call.auth_text)),
        };
        if let Some(a) = authorization {
            builder = builder.header("authorization", a);
        }
        if let Some(v) = &call.check_identity {
            if let serde_json::Value::String(s) = value(v, &seen, &server.sealer, 0) {
                builder = builder.header("checkidentity", s);
            }
        }
        if let Some((lat, lon)) = &call.location {
            builder = builder
                .header("loclatitude", lat.as_str())
                .header("loclongitude", lon.as_str());
        }
        let marker_sent = sent_marker(call, &body);
        // Header values the http crate refuses never reach a server: skip them.
        let Ok(request) = builder.body(Body::from(body)) else {
            continue;
        };
        let router = server.router.clone();
        let (status, bytes) = server.runtime.block_on(async move {
            let response = router
                .oneshot(request)
                .await
                .expect("axum routers are infallible");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
                .await
                .expect("the sandbox's answer is small");
            (status, bytes)
        });
        assert!(
            !status.is_server_error(),
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        if status.is_success() {
            if let Ok(serde_json::Value::Object(map)) =
                serde_json::from_slice::<serde_json::Value>(&bytes)
            {
                for name in ECHOABLE {
                    if let Some(serde_json::Value::String(s)) = map.get(*name) {
                        seen.push(s.clone());
                    }
                }
            }
        } else {
            let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("{method} {path}: {status} body is not JSON ({e}): {bytes:?}")
            });
            assert!(
                parsed
                    .get("error")
                    .is_some_and(serde_json::Value::is_string),
                "{method} {path}: {status} without an error code: {parsed}"
            );
            if marker_sent {
                let text = String::from_utf8_lossy(&bytes);
                assert!(
                    !text.contains(MARKER),
                    "{method} {path}: {status} echoes a sent value: {text}"
                );
            }
        }
    }
});
