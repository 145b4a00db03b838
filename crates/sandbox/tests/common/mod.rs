//! Test support: a small JSON client over ureq, an independent JWE sealer (the client side of
//! the credential envelope), and the steps of both flows.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use login_sandbox::config::{
    TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
};
use login_sandbox::tokens::random_bytes;
use login_sandbox::{BlockingSandbox, OutboxEntry, SandboxConfig, spawn_blocking_sandbox};
use p256::{PublicKey, SecretKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const SCOPE: &str = "openid accounts";

/// One HTTP answer: status, `Retry-After`, JSON body (`Null` when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Value,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field} in {}", self.body))
            .to_owned()
    }

    /// Asserts status and error code, and that the message is a non-empty string.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error_code()),
            (status, code),
            "body: {}",
            self.body
        );
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "body: {}",
            self.body
        );
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }
}

/// A JSON client for one sandbox.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    pub base: String,
}

impl Client {
    pub fn new(base: String) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(std::time::Duration::from_secs(10)))
            .timeout_recv_body(Some(std::time::Duration::from_secs(30)))
            .timeout_recv_response(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        Client { agent, base }
    }

    /// Sends `body` (raw bytes, as JSON) with `method` to `path` with the headers.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let url = format!("{}{}", self.base, path);
        let mut response = match body {
            None => {
                let mut req = match method {
                    "GET" => self.agent.get(&url),
                    "DELETE" => self.agent.delete(&url),
                    other => panic!("no bodyless {other} here"),
                };
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
            Some(bytes) => {
                let mut req = match method {
                    "POST" => self.agent.post(&url),
                    "PATCH" => self.agent.patch(&url),
                    "PUT" => self.agent.put(&url),
                    other => panic!("no {other} with a body here"),
                };
                req = req.header("Content-Type", "application/json");
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.send(&bytes[..])
            }
        }
        .unwrap_or_else(|e| panic!("{method} {path}: transport error {e}"));
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            retry_after,
            body,
        }
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Reply {
        self.raw("POST", path, headers, Some(body.to_string().into_bytes()))
    }

    pub fn patch(&self, path: &str, body: Value) -> Reply {
        self.raw("PATCH", path, &[], Some(body.to_string().into_bytes()))
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.raw("GET", path, headers, None)
    }

    /// A page as text: status, `Content-Type` and body.
    pub fn page(&self, path: &str) -> Page {
        let url = format!("{}{}", self.base, path);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: transport error {e}"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (content_type, cache_control) = (header("content-type"), header("cache-control"));
        Page {
            status: response.status().as_u16(),
            content_type,
            cache_control,
            text: response.body_mut().read_to_string().unwrap_or_default(),
        }
    }
}

/// A page as text.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub content_type: String,
    pub cache_control: String,
    pub text: String,
}

/// Asserts that none of `secrets` appears in `text` (naming `what` and the secret's kind).
#[track_caller]
pub fn assert_shows_no_secret(what: &str, text: &str, secrets: &[(&str, String)]) {
    for (kind, secret) in secrets {
        assert!(!secret.is_empty(), "an empty {kind} canary proves nothing");
        assert!(
            !text.contains(secret.as_str()),
            "{what} shows a {kind}: {secret}"
        );
    }
}

/// A started sandbox plus a client.
pub struct Harness {
    pub sandbox: BlockingSandbox,
    pub client: Client,
    pub jwk: String,
}

pub fn start(config: SandboxConfig) -> Harness {
    let sandbox = spawn_blocking_sandbox(config).expect("sandbox starts");
    let client = Client::new(sandbox.base_url());
    let jwk = sandbox.public_jwk_json();
    Harness {
        sandbox,
        client,
        jwk,
    }
}

pub fn start_default() -> Harness {
    start(SandboxConfig::for_tests())
}

pub fn device_auth() -> String {
    format!("Bearer {TEST_DEVICE_TOKEN}")
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------------------------------------
// The client side of the credential envelope, written independently of the server's opener.

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seals `plaintext` to the server's public JWK: JWE compact, ECDH-ES + A256GCM, empty
/// encrypted key, `kid` from the JWK, no apu/apv.
pub fn seal(jwk_json: &str, plaintext: &[u8]) -> String {
    let jwk: Value = serde_json::from_str(jwk_json).unwrap();
    // p256's parser refuses members it does not know (kid, use, alg): give it the key alone.
    let bare = json!({"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]});
    let server = PublicKey::from_jwk_str(&bare.to_string()).expect("server JWK");
    let eph = loop {
        if let Ok(k) = SecretKey::from_slice(&random_bytes::<32>()) {
            break k;
        }
    };
    let epk: Value = serde_json::from_str(&eph.public_key().to_jwk_string()).unwrap();
    let header = json!({
        "alg": "ECDH-ES", "enc": "A256GCM", "kid": jwk["kid"],
        "epk": {"kty": "EC", "crv": "P-256", "x": epk["x"], "y": epk["y"]}
    });
    let header_b64 = b64(header.to_string());
    let shared = p256::ecdh::diffie_hellman(eph.to_nonzero_scalar(), server.as_affine());
    // Concat KDF (RFC 7518 §4.6.2): round 1, Z, AlgorithmID, PartyUInfo, PartyVInfo, keydatalen.
    let mut kdf = Sha256::new();
    kdf.update([0, 0, 0, 1]);
    kdf.update(shared.raw_secret_bytes());
    kdf.update((7u32).to_be_bytes());
    kdf.update(b"A256GCM");
    kdf.update([0u8; 4]);
    kdf.update([0u8; 4]);
    kdf.update(256u32.to_be_bytes());
    let key = kdf.finalize();
    let iv = random_bytes::<12>();
    let sealed = Aes256Gcm::new_from_slice(&key)
        .unwrap()
        .encrypt(
            &Nonce::from(iv),
            Payload {
                msg: plaintext,
                aad: header_b64.as_bytes(),
            },
        )
        .unwrap();
    let (ct, tag) = sealed.split_at(sealed.len() - 16);
    format!("{header_b64}..{}.{}.{}", b64(iv), b64(ct), b64(tag))
}

// ---------------------------------------------------------------------------------------------
// Realm steps.

pub const REALM: &str = "/internal-api/centaur/auth/realm/cap";
pub const REALM_ADMIN: &str = "/internal-api/centaur/realm/admin/cap/user";

pub fn realm_request(c: &Client, user: &str, password: &str) -> Reply {
    c.post(&format!("{REALM}/request"), &[], json!({
        "username": user, "password": password, "clientId": TEST_CLIENT_ID, "clientSecret": TEST_CLIENT_SECRET
    }))
}

pub fn realm_token(c: &Client, req_id: &str, otp: Option<(&str, &str)>) -> Reply {
    let mut body = json!({"reqId": req_id, "scope": ["openid", "accounts"]});
    if let Some((otp, ref_id)) = otp {
        body["otp"] = json!(otp);
        body["refId"] = json!(ref_id);
    }
    c.post(&format!("{REALM}/token"), &[], body)
}

pub fn realm_refresh(c: &Client, refresh_token: &str) -> Reply {
    c.patch(
        &format!("{REALM}/token"),
        json!({"clientId": TEST_CLIENT_ID, "refreshToken": refresh_token}),
    )
}

/// A full realm login of a user with `mfa` `none`: the token set.
pub fn realm_login(c: &Client, user: &str, password: &str) -> Reply {
    let r = realm_request(c, user, password);
    r.assert_status(201);
    assert_eq!(r.body["mfa"], "none", "{}", r.body);
    realm_token(c, &r.str("reqId"), None)
}

/// The newest outbox entry for `user` with `purpose`.
pub fn last_otp(sandbox: &BlockingSandbox, user: &str, purpose: &str) -> OutboxEntry {
    sandbox
        .outbox()
        .into_iter()
        .rev()
        .find(|e| e.user == user && e.purpose == purpose)
        .unwrap_or_else(|| panic!("no {purpose} OTP for {user} in the outbox"))
}

// ---------------------------------------------------------------------------------------------
// Internet-banking steps.

/// A login in progress: the PKCE verifier, state and authorize's answer.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub verifier: String,
    pub state: String,
    pub login_challenge: String,
    pub auth_token: String,
}

pub fn pkce_challenge(verifier: &str) -> String {
    b64(Sha256::digest(verifier.as_bytes()))
}

/// Paths of one route set.
#[derive(Clone, Copy, Debug)]
pub struct Routes {
    pub authorize: &'static str,
    pub login_challenge: &'static str,
    pub pre_login_verify: &'static str,
    pub access_token: &'static str,
    pub revoke: &'static str,
    pub refresh: &'static str,
}

pub const GATEWAY: Routes = Routes {
    authorize: "/api/v1/authorize",
    login_challenge: "/api/v1/login-challenge",
    pre_login_verify: "/api/v1/pre-login-verify",
    access_token: "/api/v1/access-token",
    revoke: "/api/v1/revoke-token",
    refresh: "/api/v1/refresh-token",
};

pub const SERVICE: Routes = Routes {
    authorize: "/ciamauthsrvc/internetBanking/oauth/authorize",
    login_challenge: "/ciamauthsrvc/internetBanking/oauth/acceptLoginChallenge",
    pre_login_verify: "/ciamauthsrvc/auth/mfa/prelogin/verify",
    access_token: "/ciamauthsrvc/internetBanking/oauth/accessToken",
    revoke: "/ciamauthsrvc/internetBanking/oauth/revoke",
    refresh: "/ciamauthsrvc/internetBanking/oauth/accessToken/refresh",
};

pub fn authorize_body(verifier: &str, state: &str) -> Value {
    json!({
        "clientId": TEST_CLIENT_ID, "codeChallenge": pkce_challenge(verifier), "codeChallengeMethod": "S256",
        "scope": SCOPE, "state": state
    })
}

pub fn authorize(c: &Client, routes: Routes) -> Authorized {
    let verifier = b64(random_bytes::<32>());
    let state = b64(random_bytes::<16>());
    let r = c.post(
        routes.authorize,
        &[("Authorization", &device_auth())],
        authorize_body(&verifier, &state),
    );
    r.assert_status(200);
    assert_eq!(r.str("state"), state);
    Authorized {
        verifier,
        state,
        login_challenge: r.str("loginChallenge"),
        auth_token: r.str("authToken"),
    }
}

/// The envelope plaintext.
pub fn credentials(
    auth: &Authorized,
    user: &str,
    password: &str,
    captcha: Option<(&str, &str)>,
) -> Value {
    let mut creds = json!({"authToken": auth.auth_token, "username": user, "password": password, "iat": now_secs()});
    if let Some((id, answer)) = captcha {
        creds["captchaId"] = json!(id);
        creds["captchaAnswer"] = json!(answer);
    }
    creds
}

pub fn login_challenge_with(
    c: &Client,
    routes: Routes,
    jwk: &str,
    auth: &Authorized,
    creds: &Value,
    headers: &[(&str, &str)],
) -> Reply {
    let envelope = seal(jwk, creds.to_string().as_bytes());
    let device = device_auth();
    let mut all = vec![("Authorization", device.as_str())];
    all.extend_from_slice(headers);
    c.post(
        routes.login_challenge,
        &all,
        json!({"loginChallenge": auth.login_challenge, "authToken": envelope}),
    )
}

pub fn login_challenge(
    c: &Client,
    routes: Routes,
    jwk: &str,
    auth: &Authorized,
    user: &str,
    password: &str,
) -> Reply {
    login_challenge_with(
        c,
        routes,
        jwk,
        auth,
        &credentials(auth, user, password, None),
        &[],
    )
}

pub fn fetch_captcha(c: &Client, auth: &Authorized) -> Reply {
    c.get(
        "/api/v1/captcha",
        &[("checkIdentity", &auth.login_challenge)],
    )
}

pub fn access_token_body(auth: &Authorized, code: &str) -> Value {
    json!({
        "clientId": TEST_CLIENT_ID, "code": code, "codeVerifier": auth.verifier, "grantType": "authorization_code",
        "redirectUri": TEST_REDIRECT_URI, "scope": SCOPE, "state": auth.state
    })
}

pub fn access_token(
    c: &Client,
    routes: Routes,
    auth: &Authorized,
    code: &str,
    token: &str,
) -> Reply {
    c.post(
        routes.access_token,
        &[("Authorization", &format!("Bearer {token}"))],
        access_token_body(auth, code),
    )
}

pub fn ciam_refresh(c: &Client, routes: Routes, refresh_token: &str) -> Reply {
    c.post(routes.refresh, &[], json!({
        "clientId": TEST_CLIENT_ID, "grantType": "refresh_token", "refreshToken": refresh_token, "scope": SCOPE
    }))
}

/// A full internet-banking login without anomaly: the token set.
pub fn ciam_login(c: &Client, routes: Routes, jwk: &str, user: &str, password: &str) -> Reply {
    let auth = authorize(c, routes);
    let r = login_challenge(c, routes, jwk, &auth, user, password);
    r.assert_status(200);
    access_token(c, routes, &auth, &r.str("code"), &r.str("token"))
}

/// Asserts that `access_token` is live (or not) through the session probe.
#[track_caller]
pub fn assert_session_live(c: &Client, access_token: &str, live: bool) {
    let r = c.get(
        "/_sandbox/session",
        &[("Authorization", &format!("Bearer {access_token}"))],
    );
    if live {
        r.assert_status(200);
    } else {
        r.assert_error(401, "invalid_token");
    }
}
