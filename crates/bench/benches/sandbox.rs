//! Item 6 in criterion form: one `GET /api/v1/jwks.json` on a keep-alive connection against
//! the in-process sandbox vs the same request against a bare axum handler; and one argon2id
//! password login (realm request login) at the OWASP defaults. The throughput figures of item
//! 6 (server on one core) come from `bench item6`.
//!
//! `cargo bench -p loginflow-bench --bench sandbox`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use loginflow_bench::floor::BlockingFloor;
use loginflow_bench::setup::{self, Argon2};

fn get(agent: &ureq::Agent, url: &str) -> usize {
    let mut answer = agent.get(url).call().expect("get");
    assert!(answer.status().is_success(), "status {}", answer.status());
    answer.body_mut().read_to_vec().expect("body").len()
}

fn benches(c: &mut Criterion) {
    let sandbox = login_sandbox::spawn_blocking_sandbox(setup::sandbox_config(Argon2::Cheap))
        .expect("sandbox");
    let jwk = sandbox.public_jwk_json();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let bare_addr = listener.local_addr().expect("addr");
    runtime.spawn(async move { axum::serve(listener, setup::bare_router(jwk)).await });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_recv_response(Some(Duration::from_secs(5)))
        .build()
        .into();
    let sandbox_url = format!("{}/api/v1/jwks.json", sandbox.base_url());
    let bare_url = format!("http://{bare_addr}/api/v1/jwks.json");

    let mut g = c.benchmark_group("sandbox");
    g.bench_function("jwks_bare_axum", |b| {
        b.iter(|| black_box(get(&agent, &bare_url)))
    });
    g.bench_function("jwks_sandbox", |b| {
        b.iter(|| black_box(get(&agent, &sandbox_url)))
    });
    g.finish();
    drop(sandbox);

    let owasp = login_sandbox::spawn_blocking_sandbox(setup::sandbox_config(Argon2::Owasp))
        .expect("sandbox");
    let floor = BlockingFloor::new(&owasp.base_url(), "loginflow-bench");
    let mut g = c.benchmark_group("argon2");
    g.sample_size(10);
    g.bench_function("realm_login_owasp_argon2id", |b| {
        b.iter(|| black_box(floor.realm_login().expect("login")))
    });
    g.finish();
    drop(owasp);
    drop(runtime);
}

criterion_group!(sandbox, benches);
criterion_main!(sandbox);
