//! The engine's own cost per flow, against its floor: serde_json encoding the same request
//! bodies and decoding the same responses into plain structs (what any client must do).
//! `cargo bench -p login-core --bench engine`; figures and ratios in docs/performance.md.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use login_core::entropy::{DeterministicEntropy, Entropy};
use login_core::seal::{CredentialSealer, JweSealer};
use login_core::secret::{ClientSecret, DeviceToken, FlowSecret, Otp, Password};
use login_core::{Flow, Response, ciam, realm};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

const REALM_LOGIN: &[u8] =
    br#"{"reqId":"3f1c2a9e-4b7d-4c55-9e0a-1d2b3c4d5e6f","exp":300,"mfa":"none"}"#;
const TOKENS: &[u8] = br#"{"accessToken":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU","expires":300,"refreshExpires":1800,"refreshToken":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInR5cCI6IlJlZnJlc2gifQ.cmVmcmVzaC1zaWduYXR1cmU","scope":"openid profile","sessionState":"b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e","tokenType":"Bearer","redirectUrl":"https://app.example/cb"}"#;
const AUTHORIZE: &[u8] = br#"{"loginChallenge":"hgsadfhj835gsdf7.nfh7867438fg7-2c9f","authToken":"sfgjhgsf3hddfqwqesg3435qfa-7d1e"}"#;
const CODE_TOKEN: &[u8] = br#"{"code":"c0de-5a1f-9e3b-7c2d","token":"t0ken-8b4a-2e6f-1d9c"}"#;

/// Stands in for the JWE to measure the engine without the key agreement.
struct NoSeal;
impl CredentialSealer for NoSeal {
    fn seal(&self, plaintext: &[u8], _: &mut dyn Entropy) -> Result<FlowSecret, login_core::Error> {
        Ok(FlowSecret::new(format!("sealed-{}", plaintext.len())))
    }
}

/// Canned responses, built once: a transport hands the engine an owned body, so building them
/// is not the engine's cost.
struct Replies {
    realm_login: Response,
    realm_tokens: Response,
    authorize: Response,
    code_token: Response,
    tokens: Response,
}

impl Replies {
    fn new() -> Self {
        Self {
            realm_login: Response::new(201, REALM_LOGIN),
            realm_tokens: Response::new(201, TOKENS),
            authorize: Response::new(200, AUTHORIZE),
            code_token: Response::new(200, CODE_TOKEN),
            tokens: Response::new(200, TOKENS),
        }
    }
}

fn realm_flow(cfg: &realm::RealmConfig, r: &Replies, now: SystemTime) -> usize {
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

fn ciam_flow(
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
struct LoginBody<'a> {
    username: &'a str,
    password: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenReq<'a> {
    req_id: &'a str,
    scope: &'a [&'a str],
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct LoginResp {
    req_id: String,
    exp: f64,
    mfa: String,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct TokenResp {
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
struct AuthorizeReq<'a> {
    client_id: &'a str,
    code_challenge: &'a str,
    code_challenge_method: &'a str,
    scope: &'a str,
    state: &'a str,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AuthorizeResp {
    login_challenge: String,
    auth_token: String,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Plain<'a> {
    auth_token: &'a str,
    username: &'a str,
    password: &'a str,
    iat: u64,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChallengeReq<'a> {
    auth_token: &'a str,
    login_challenge: &'a str,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct CodeResp {
    code: String,
    token: String,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccessReq<'a> {
    client_id: &'a str,
    code: &'a str,
    code_verifier: &'a str,
    grant_type: &'a str,
    redirect_uri: &'a str,
    scope: &'a str,
    state: &'a str,
}

fn floor_realm() -> usize {
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

fn floor_ciam() -> usize {
    floor_ciam_with(
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "abcdefghijklmnopqrstuv",
    )
}

fn floor_ciam_with(verifier: &str, challenge: &str, state: &str) -> usize {
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
fn floor_ciam_pkce(rng: &mut DeterministicEntropy) -> usize {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = [0u8; 48];
    rng.fill(&mut bytes).expect("entropy");
    let verifier = b64.encode(&bytes[..32]);
    let state = b64.encode(&bytes[32..]);
    let challenge = b64.encode(sha2::Sha256::digest(verifier.as_bytes()));
    floor_ciam_with(&verifier, &challenge, &state)
}

/// Flow against floor on a loaded machine: blocks of each interleaved, the fastest block of
/// each kept (preemption only ever adds time), ratios printed before criterion's own runs.
fn interleaved(
    realm_cfg: &realm::RealmConfig,
    ciam_cfg: &ciam::CiamConfig,
    replies: &Replies,
    now: SystemTime,
) {
    const BLOCKS: usize = 400;
    const BLOCK: u32 = 200;
    fn block(mut f: impl FnMut() -> usize) -> f64 {
        let t = std::time::Instant::now();
        for _ in 0..BLOCK {
            black_box(f());
        }
        t.elapsed().as_secs_f64() * 1e6 / f64::from(BLOCK)
    }
    let mut rng = DeterministicEntropy::new(7);
    let mut floor_rng = DeterministicEntropy::new(8);
    let mut best = [f64::INFINITY; 5];
    for _ in 0..BLOCKS {
        best[0] = best[0].min(block(floor_realm));
        best[1] = best[1].min(block(|| realm_flow(realm_cfg, replies, now)));
        best[2] = best[2].min(block(floor_ciam));
        best[3] = best[3].min(block(|| floor_ciam_pkce(&mut floor_rng)));
        best[4] = best[4].min(block(|| {
            ciam_flow(ciam_cfg, &NoSeal, &mut rng, replies, now)
        }));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "interleaved, fastest of {BLOCKS} blocks of {BLOCK}: floor_realm {:.3} µs, realm_flow {:.3} µs = {:.2}x; floor_ciam {:.3} µs, floor_ciam_pkce {:.3} µs, ciam_flow_unsealed {:.3} µs = {:.2}x ({:.2}x vs the floor with PKCE); loadavg {}",
        best[0],
        best[1],
        best[1] / best[0],
        best[2],
        best[3],
        best[4],
        best[4] / best[2],
        best[4] / best[3],
        load.split_whitespace().next().unwrap_or("?")
    );
}

fn server_jwk() -> String {
    use p256::elliptic_curve::rand_core::OsRng;
    p256::SecretKey::random(&mut OsRng)
        .public_key()
        .to_jwk_string()
}

fn benches(c: &mut Criterion) {
    let now = SystemTime::now();
    let realm_cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("bench-secret"));
    let ciam_cfg = ciam::CiamConfig::new(
        "ib-web",
        "https://app.example/cb",
        DeviceToken::new("device"),
    );
    let sealer = JweSealer::from_jwk(&server_jwk()).expect("jwk");
    let mut rng = DeterministicEntropy::new(1);
    let replies = Replies::new();

    interleaved(&realm_cfg, &ciam_cfg, &replies, now);

    let mut g = c.benchmark_group("core");
    g.bench_function("floor_realm", |b| b.iter(|| black_box(floor_realm())));
    g.bench_function("realm_flow", |b| {
        b.iter(|| black_box(realm_flow(&realm_cfg, &replies, now)))
    });
    g.bench_function("floor_ciam", |b| b.iter(|| black_box(floor_ciam())));
    let mut floor_rng = DeterministicEntropy::new(2);
    g.bench_function("floor_ciam_pkce", |b| {
        b.iter(|| black_box(floor_ciam_pkce(&mut floor_rng)))
    });
    g.bench_function("ciam_flow_unsealed", |b| {
        b.iter(|| black_box(ciam_flow(&ciam_cfg, &NoSeal, &mut rng, &replies, now)))
    });
    g.bench_function("ciam_flow_sealed", |b| {
        b.iter(|| black_box(ciam_flow(&ciam_cfg, &sealer, &mut rng, &replies, now)))
    });
    g.finish();

    let mut g = c.benchmark_group("seal");
    let plaintext = br#"{"authToken":"sfgjhgsf3hddfqwqesg3435qfa","username":"alice","password":"alice-password","iat":1700000000}"#;
    g.bench_function("jwe_ecdh_es_a256gcm", |b| {
        b.iter(|| black_box(sealer.seal(plaintext, &mut rng).expect("seal")))
    });
    g.finish();

    // Suspend / resume at MfaPending.
    let (_r, p) = realm::Start::new("bob", Password::new("pw")).request_login(&realm_cfg);
    let reply = Response::new(201, &br#"{"reqId":"3f1c2a9e-4b7d-4c55-9e0a-1d2b3c4d5e6f","exp":300,"mfa":"otp","refId":"K2P9"}"#[..]);
    let Ok(realm::LoginStarted::MfaPending(m)) = p.receive(&reply, now) else {
        panic!()
    };
    let flow = Flow::from(m);
    let snap = flow.to_snapshot();
    eprintln!("realm MfaPending snapshot: {} bytes", snap.len());
    let mut g = c.benchmark_group("snapshot");
    g.bench_function("suspend_realm_mfa", |b| {
        b.iter(|| black_box(flow.to_snapshot()))
    });
    g.bench_function("resume_realm_mfa", |b| {
        b.iter(|| black_box(Flow::from_snapshot(snap.expose()).expect("resume")))
    });
    g.finish();

    // The same at internet-banking MfaPending (the larger state: verifier, state, challenge).
    let mut rng = DeterministicEntropy::new(9);
    let (_r, p) = ciam::Start::new(&mut rng)
        .expect("entropy")
        .authorize(&ciam_cfg);
    let a = p.receive(&replies.authorize, now).expect("authorize");
    let creds = ciam::Credentials::new("alice", Password::new("alice-password"));
    let Ok((_r, p)) = a.submit_credentials(&ciam_cfg, &NoSeal, &creds, &mut rng, now) else {
        panic!("seal")
    };
    let mfa = Response::new(
        200,
        &br#"{"mfaChallenge":"m-5f1e-2d3c-4b5a","channel":"sms","refId":"K2P9"}"#[..],
    );
    let Ok(ciam::LoginOutcome::MfaPending(m)) = p.receive(&mfa, now) else {
        panic!("mfa")
    };
    let flow = Flow::from(m);
    let snap = flow.to_snapshot();
    eprintln!("internet-banking MfaPending snapshot: {} bytes", snap.len());
    let mut g = c.benchmark_group("snapshot");
    g.bench_function("suspend_ciam_mfa", |b| {
        b.iter(|| black_box(flow.to_snapshot()))
    });
    g.bench_function("resume_ciam_mfa", |b| {
        b.iter(|| black_box(Flow::from_snapshot(snap.expose()).expect("resume")))
    });
    g.finish();
    let _ = Otp::new("x");
}

criterion_group!(engine, benches);
criterion_main!(engine);
