//! Item 3: a full login with the blocking driver (`Driver` on `UreqTransport`) against the
//! sandbox over loopback, vs hand-written ureq calls sending the same requests in the same
//! order. Both reuse one keep-alive connection after the first step; both run in this process
//! against the same in-process sandbox (cheap argon2), interleaved by criterion in one run.
//!
//! `cargo bench -p loginflow-bench --bench e2e`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use login_core::ciam::Credentials;
use login_core::realm::Start;
use login_core::seal::JweSealer;
use login_core::secret::Password;
use login_core::{Bank, Runner};
use login_transport::{Driver, NoInteraction, TransportConfig, UreqTransport};
use loginflow_bench::floor::BlockingFloor;
use loginflow_bench::setup::{self, Argon2, creds};

fn benches(c: &mut Criterion) {
    let sandbox = login_sandbox::spawn_blocking_sandbox(setup::sandbox_config(Argon2::Cheap))
        .expect("sandbox");
    let base = sandbox.base_url();
    let sealer = JweSealer::from_jwk(&sandbox.public_jwk_json()).expect("jwk");
    let transport = |url: &str| {
        UreqTransport::new(TransportConfig::new(url).expect("config")).expect("transport")
    };
    let realm_driver = Driver::new(transport(&sandbox.realm_base_url()));
    let ciam_driver = Driver::new(transport(&base));
    let user_agent = TransportConfig::new(&base)
        .expect("config")
        .user_agent_header()
        .to_owned();
    let floor = BlockingFloor::new(&base, &user_agent);
    let realm_cfg = creds::realm_config();
    let ciam_cfg = creds::ciam_config();
    let ciam_bank = Bank::Ciam(&ciam_cfg, &sealer);

    let floor_global = BlockingFloor::with_global_timeout(
        &base,
        &user_agent,
        Some(std::time::Duration::from_secs(20)),
    );

    interleaved(&[
        ("realm_floor", &|| {
            floor.realm_login().expect("floor realm");
        }),
        ("realm_driver", &|| {
            let start = Start::new(creds::USER, Password::new(creds::PASSWORD));
            realm_driver
                .login(
                    Bank::Realm(&realm_cfg),
                    Runner::login(start),
                    &mut NoInteraction,
                )
                .expect("realm login");
        }),
        ("ciam_floor", &|| {
            floor.ciam_login(&sealer).expect("floor ciam");
        }),
        ("ciam_driver", &|| {
            let credentials = Credentials::new(creds::USER, Password::new(creds::PASSWORD));
            ciam_driver
                .login(
                    ciam_bank,
                    Runner::ciam_login(credentials),
                    &mut NoInteraction,
                )
                .expect("ciam login");
        }),
    ]);

    let mut g = c.benchmark_group("e2e");
    g.bench_function("realm_floor_global_timeout", |b| {
        b.iter(|| black_box(floor_global.realm_login().expect("floor realm")))
    });
    g.bench_function("realm_floor", |b| {
        b.iter(|| black_box(floor.realm_login().expect("floor realm")))
    });
    g.bench_function("realm_driver", |b| {
        b.iter(|| {
            let start = Start::new(creds::USER, Password::new(creds::PASSWORD));
            black_box(
                realm_driver
                    .login(
                        Bank::Realm(&realm_cfg),
                        Runner::login(start),
                        &mut NoInteraction,
                    )
                    .expect("realm login"),
            )
        })
    });
    g.bench_function("ciam_floor", |b| {
        b.iter(|| black_box(floor.ciam_login(&sealer).expect("floor ciam")))
    });
    g.bench_function("ciam_driver", |b| {
        b.iter(|| {
            let credentials = Credentials::new(creds::USER, Password::new(creds::PASSWORD));
            black_box(
                ciam_driver
                    .login(
                        ciam_bank,
                        Runner::ciam_login(credentials),
                        &mut NoInteraction,
                    )
                    .expect("ciam login"),
            )
        })
    });
    g.finish();
    drop(sandbox);
}

/// Driver against floor on a loaded machine: blocks of each interleaved, and for each the
/// fastest block and the median block, printed before criterion's own (sequential) runs.
fn interleaved(cases: &[(&str, &dyn Fn())]) {
    const BLOCKS: usize = 60;
    const BLOCK: u32 = 20;
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..BLOCKS {
        for (i, (_, f)) in cases.iter().enumerate() {
            let t = std::time::Instant::now();
            for _ in 0..BLOCK {
                f();
            }
            times[i].push(t.elapsed().as_secs_f64() * 1e6 / f64::from(BLOCK));
        }
    }
    let stats: Vec<(f64, f64)> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            (t[0], t[t.len() / 2])
        })
        .collect();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    for pair in stats.chunks(2).zip(cases.chunks(2)) {
        let ([(f_min, f_med), (d_min, d_med)], [(floor, _), (driver, _)]) = pair else {
            continue;
        };
        eprintln!(
            "interleaved {BLOCKS}x{BLOCK}: {floor} min {f_min:.1} µs / median {f_med:.1} µs, {driver} min {d_min:.1} µs / median {d_med:.1} µs: {:.3}x (min), {:.3}x (median); loadavg {}",
            d_min / f_min,
            d_med / f_med,
            load.split_whitespace().next().unwrap_or("?")
        );
    }
}

criterion_group!(e2e, benches);
criterion_main!(e2e);
