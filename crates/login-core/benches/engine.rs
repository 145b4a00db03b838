//! The engine's own cost per flow, against its floor: serde_json encoding the same request
//! bodies and decoding the same responses into plain structs (what any client must do).
//! `cargo bench -p login-core --bench engine`; figures and ratios in docs/performance.md.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use login_core::entropy::DeterministicEntropy;
use login_core::seal::{CredentialSealer, JweSealer};
use login_core::secret::{ClientSecret, DeviceToken, Otp, Password};
use login_core::{Flow, Response, ciam, realm};

mod flows;
use flows::*;

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
