//! The core flows with canned responses and their serde floor, shared by login-core's `engine`
//! bench and loginflow-bench's `allocs` mode (included there by `#[path]`), so both measure the
//! same code. Functions are `#[inline(never)]` so callgrind attributes instructions to them.
#![allow(dead_code, clippy::panic, clippy::expect_used)]

use std::time::SystemTime;

use login_core::entropy::{DeterministicEntropy, Entropy};
use login_core::seal::CredentialSealer;
use login_core::secret::{FlowSecret, Password};
use login_core::{Response, ciam, realm};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

pub const REALM_LOGIN: &[u8] =
    br#"{"reqId":"3f1c2a9e-4b7d-4c55-9e0a-1d2b3c4d5e6f","exp":300,"mfa":"none"}"#;
pub const TOKENS: &[u8] = br#"{"accessToken":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU","expires":300,"refreshExpires":1800,"refreshToken":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInR5cCI6IlJlZnJlc2gifQ.cmVmcmVzaC1zaWduYXR1cmU","scope":"openid profile","sessionState":"b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e","tokenType":"Bearer","redirectUrl":"https://app.example/cb"}"#;
pub const AUTHORIZE: &[u8] = br#"{"loginChallenge":"hgsadfhj835gsdf7.nfh7867438fg7-2c9f","authToken":"sfgjhgsf3hddfqwqesg3435qfa-7d1e"}"#;
pub const CODE_TOKEN: &[u8] = br#"{"code":"c0de-5a1f-9e3b-7c2d","token":"t0ken-8b4a-2e6f-1d9c"}"#;

/// Stands in for the JWE to measure the engine without the key agreement.
pub struct NoSeal;
impl CredentialSealer for NoSeal {
    fn seal(&self, plaintext: &[u8], _: &mut dyn Entropy) -> Result<FlowSecret, login_core::Error> {
        Ok(FlowSecret::new(format!("sealed-{}", plaintext.len())))
    }
}

/// Canned responses, built once: a transport hands the engine an owned body, so building them
/// is not the engine's cost.
pub struct Replies {
    pub realm_login: Response,
    pub realm_tokens: Response,
    pub authorize: Response,
    pub code_token: Response,
    pub tokens: Response,
}

impl Replies {
    pub fn new() -> Self {
        Self {
            realm_login: Response::new(201, REALM_LOGIN),
            realm_tokens: Response::new(201, TOKENS),
            authorize: Response::new(200, AUTHORIZE),
            code_token: Response::new(200, CODE_TOKEN),
            tokens: Response::new(200, TOKENS),
        }
    }
}

#[inline(never)]
pub fn realm_flow(cfg: &realm::RealmConfig, r: &Replies, now: SystemTime) -> usize {
    let (req, p) = realm::Start::new("alice", Password::new("alice-password")).request_login(cfg);
    let mut bytes = req.body().map_or(0, <[u8]>::len);
    let Ok(realm::LoginStarted::Challenged(c)) = p.receive(&r.realm_login, now) else {
        panic!("bench reply")
    };
    let (req, p) = c.exchange(cfg);
    bytes += req.body().map_or(0, <[u8]>::len);
    let t = p
        .receive(&r.realm_tokens, now)
        .unwrap_or_else(|_| panic!("tokens"));
    bytes + t.tokens().access_token().expose().len()
}

#[inline(never)]
pub fn ciam_flow(
    cfg: &ciam::CiamConfig,
    sealer: &dyn CredentialSealer,
    rng: &mut DeterministicEntropy,
    r: &Replies,
    now: SystemTime,
) -> usize {
    let (req, p) = ciam::Start::new(rng).expect("entropy").authorize(cfg);
    let mut bytes = req.body().map_or(0, <[u8]>::len);
    let a = p.receive(&r.authorize, now).expect("authorize");
    let creds = ciam::Credentials::new("alice", Password::new("alice-password"));
    let Ok((req, p)) = a.submit_credentials(cfg, sealer, &creds, rng, now) else {
        panic!("seal")
    };
    bytes += req.body().map_or(0, <[u8]>::len);
    let Ok(ciam::LoginOutcome::Challenged(c)) = p.receive(&r.code_token, now) else {
        panic!("challenge")
    };
    let (req, p) = c.exchange(cfg);
    bytes += req.body().map_or(0, <[u8]>::len);
    let t = p
        .receive(&r.tokens, now)
        .unwrap_or_else(|_| panic!("tokens"));
    bytes + t.tokens().access_token().expose().len()
}

// The floor: the same bodies through serde_json into plain structs.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginBody<'a> {
    username: &'a str,
    password: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenReq<'a> {
    req_id: &'a str,
    scope: &'a [&'a str],
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct LoginResp {
    req_id: String,
    exp: f64,
    mfa: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TokenResp {
    access_token: String,
    expires: f64,
    refresh_expires: f64,
    refresh_token: String,
    scope: String,
    session_state: String,
    token_type: String,
    redirect_url: String,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeReq<'a> {
    client_id: &'a str,
    code_challenge: &'a str,
    code_challenge_method: &'a str,
    scope: &'a str,
    state: &'a str,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AuthorizeResp {
    login_challenge: String,
    auth_token: String,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plain<'a> {
    auth_token: &'a str,
    username: &'a str,
    password: &'a str,
    iat: u64,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeReq<'a> {
    auth_token: &'a str,
    login_challenge: &'a str,
}
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct CodeResp {
    code: String,
    token: String,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessReq<'a> {
    client_id: &'a str,
    code: &'a str,
    code_verifier: &'a str,
    grant_type: &'a str,
    redirect_uri: &'a str,
    scope: &'a str,
    state: &'a str,
}

#[inline(never)]
pub fn floor_realm() -> usize {
    let a = serde_json::to_vec(&LoginBody {
        username: "alice",
        password: "alice-password",
        client_id: "cap-mobile",
        client_secret: "s",
    })
    .expect("ser");
    let r: LoginResp = serde_json::from_slice(REALM_LOGIN).expect("de");
    let b = serde_json::to_vec(&TokenReq {
        req_id: &r.req_id,
        scope: &["openid"],
    })
    .expect("ser");
    let t: TokenResp = serde_json::from_slice(TOKENS).expect("de");
    a.len() + b.len() + t.access_token.len()
}

#[inline(never)]
pub fn floor_ciam() -> usize {
    floor_ciam_with(
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "abcdefghijklmnopqrstuv",
    )
}

pub fn floor_ciam_with(verifier: &str, challenge: &str, state: &str) -> usize {
    let a = serde_json::to_vec(&AuthorizeReq {
        client_id: "ib",
        code_challenge: challenge,
        code_challenge_method: "S256",
        scope: "openid",
        state,
    })
    .expect("ser");
    let r: AuthorizeResp = serde_json::from_slice(AUTHORIZE).expect("de");
    let p = serde_json::to_vec(&Plain {
        auth_token: &r.auth_token,
        username: "alice",
        password: "alice-password",
        iat: 1,
    })
    .expect("ser");
    let b = serde_json::to_vec(&ChallengeReq {
        auth_token: "sealed",
        login_challenge: &r.login_challenge,
    })
    .expect("ser");
    let c: CodeResp = serde_json::from_slice(CODE_TOKEN).expect("de");
    let d = serde_json::to_vec(&AccessReq {
        client_id: "ib",
        code: &c.code,
        code_verifier: verifier,
        grant_type: "authorization_code",
        redirect_uri: "https://app.example/cb",
        scope: "openid",
        state,
    })
    .expect("ser");
    let t: TokenResp = serde_json::from_slice(TOKENS).expect("de");
    a.len() + p.len() + b.len() + d.len() + t.access_token.len()
}

/// The floor plus what any PKCE client must also do to build the same authorize body: draw a
/// verifier and a `state` and hash the verifier (the engine does exactly this in `Start::new`
/// and `authorize`).
#[inline(never)]
pub fn floor_ciam_pkce(rng: &mut DeterministicEntropy) -> usize {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = [0u8; 48];
    rng.fill(&mut bytes).expect("entropy");
    let verifier = b64.encode(&bytes[..32]);
    let state = b64.encode(&bytes[32..]);
    let challenge = b64.encode(sha2::Sha256::digest(verifier.as_bytes()));
    floor_ciam_with(&verifier, &challenge, &state)
}
