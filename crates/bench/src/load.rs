//! Item 4: N concurrent full logins with the async driver, or with the pooled floor client.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use login_core::ciam::{CiamConfig, Credentials};
use login_core::realm::{RealmConfig, Start};
use login_core::seal::JweSealer;
use login_core::secret::Password;
use login_core::{Bank, Runner};
use login_transport::{AsyncDriver, HyperTransport, NoInteraction, TransportConfig};
use serde::{Deserialize, Serialize};

use crate::floor::AsyncFloor;
use crate::procstat::{self, Sampler};
use crate::setup::creds;

/// Which login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// Realm: request login, token (2 round trips).
    Realm,
    /// Internet banking: authorize, sealed login challenge, access token (3 round trips).
    Ciam,
}

/// Which client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    /// login-transport's `AsyncDriver` on a `HyperSession` per flow, the transport keeping up
    /// to N idle connections for later flows (`idle_connections(N)`; hyper-util's pool, the
    /// floor's, keeps any number).
    Engine,
    /// Hand-written calls on hyper-util's pooled client.
    Floor,
    /// As `Engine` with `idle_connections(0)`: every flow dials its own connection.
    #[serde(rename = "engine-dial")]
    #[value(name = "engine-dial")]
    EngineDial,
}

/// One load run's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    /// Which login.
    pub api: Api,
    /// Which client.
    pub client: Client,
    /// Concurrent flows per round.
    pub n: usize,
    /// Logins per worker (steady) or rounds (burst).
    pub rounds: usize,
    /// How the logins were started.
    pub mode: Mode,
    /// Failed logins (any step).
    pub failures: usize,
    /// The first failure's text.
    pub first_failure: Option<String>,
    /// Wall time of all logins, seconds.
    pub secs: f64,
    /// Completed logins per second.
    pub logins_per_s: f64,
    /// Median login latency, ms.
    pub p50_ms: f64,
    /// 99th-percentile login latency, ms.
    pub p99_ms: f64,
    /// Slowest login, ms.
    pub max_ms: f64,
    /// Resident memory before the first round, KiB.
    pub base_rss_kib: u64,
    /// Peak resident memory (VmHWM), KiB.
    pub peak_rss_kib: u64,
    /// (peak - base) / n, KiB per in-flight flow.
    pub kib_per_flow: f64,
    /// Most threads at once (sampler thread not counted).
    pub threads: u64,
    /// Connections opened, per login.
    pub conns_per_flow: f64,
    /// Most connections open at once, per in-flight flow.
    pub peak_open_per_flow: f64,
    /// Client CPU per login, µs.
    pub client_cpu_us: f64,
}

/// How the logins are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// N workers, each starting its next login when its last one ends: N always in flight.
    Steady,
    /// Rounds of N logins started together; a round ends with its slowest login.
    Burst,
}

/// What a run needs.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The server's public JWK (internet-banking sealing).
    pub jwk: String,
    /// Which login.
    pub api: Api,
    /// Which client.
    pub client: Client,
    /// Concurrent flows.
    pub n: usize,
    /// Logins per worker (steady) or rounds (burst): `n * rounds` logins in all.
    pub rounds: usize,
    /// How the logins are started.
    pub mode: Mode,
}

struct Shared {
    sealer: JweSealer,
    realm: RealmConfig,
    ciam: CiamConfig,
    realm_transport: HyperTransport,
    ciam_transport: HyperTransport,
    floor: AsyncFloor,
}

/// Login number `i`; returns the connections the flow dialed (engine) or 0 (floor: counted by
/// the pool's connector).
async fn one(shared: &Shared, api: Api, client: Client, i: usize) -> Result<u64, String> {
    let user = creds::load_user(i);
    match (client, api) {
        (Client::Engine | Client::EngineDial, Api::Realm) => {
            let driver = AsyncDriver::new(shared.realm_transport.session());
            let start = Start::new(user, Password::new(creds::PASSWORD));
            driver
                .login(
                    Bank::Realm(&shared.realm),
                    Runner::login(start),
                    &mut NoInteraction,
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(driver.transport().connections_opened())
        }
        (Client::Engine | Client::EngineDial, Api::Ciam) => {
            let driver = AsyncDriver::new(shared.ciam_transport.session());
            let credentials = Credentials::new(user, Password::new(creds::PASSWORD));
            driver
                .login(
                    Bank::Ciam(&shared.ciam, &shared.sealer),
                    Runner::ciam_login(credentials),
                    &mut NoInteraction,
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(driver.transport().connections_opened())
        }
        (Client::Floor, Api::Realm) => shared
            .floor
            .realm_login(&user)
            .await
            .map(|_| 0)
            .map_err(|e| e.to_string()),
        (Client::Floor, Api::Ciam) => shared
            .floor
            .ciam_login(&shared.sealer, &user)
            .await
            .map(|_| 0)
            .map_err(|e| e.to_string()),
    }
}

/// Runs `n * rounds` logins, `n` at a time, on the current tokio runtime.
pub async fn run(spec: &LoadSpec) -> Result<LoadResult, String> {
    let idle = match spec.client {
        Client::EngineDial => 0,
        _ => spec.n,
    };
    let config = |base: &str| {
        TransportConfig::new(base)
            .map(|c| c.idle_connections(idle))
            .map_err(|e| e.to_string())
            .and_then(|c| HyperTransport::new(c).map_err(|e| e.to_string()))
    };
    let realm_base = format!("{}/internal-api/centaur", spec.base);
    let realm_transport = config(&realm_base)?;
    let ciam_transport = config(&spec.base)?;
    let user_agent = ciam_transport.config().user_agent_header().to_owned();
    let shared = Arc::new(Shared {
        sealer: JweSealer::from_jwk(&spec.jwk).map_err(|e| e.to_string())?,
        realm: creds::realm_config(),
        ciam: creds::ciam_config(),
        realm_transport,
        ciam_transport,
        floor: AsyncFloor::new(&spec.base, &user_agent),
    });
    // Warm up (first connection, lazy statics), then take the baseline.
    one(&shared, spec.api, spec.client, 0).await?;
    let floor_opened_before = shared.floor.counter.opened.load(Ordering::Relaxed);
    let base_fds = procstat::fds();
    let base_rss = procstat::status_kib("VmRSS");
    let cpu0 = procstat::cpu_time("self");
    let sampler = Sampler::start(Duration::from_millis(20));
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(spec.n * spec.rounds);
    let mut failures = 0;
    let mut first_failure = None;
    let mut engine_opened = 0u64;
    let total = spec.n * spec.rounds;
    // Burst: each round starts its N logins together and waits for the last. Steady: N
    // workers, each starting its next login as soon as its last one ends.
    let (waves, per_wave, per_worker) = match spec.mode {
        Mode::Burst => (spec.rounds, spec.n, 1),
        Mode::Steady => (1, spec.n, total),
    };
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..waves {
        let wave_end = (next.load(Ordering::Relaxed) + per_wave * per_worker).min(total);
        let mut tasks = Vec::with_capacity(per_wave);
        for _ in 0..per_wave {
            let (shared, next) = (shared.clone(), next.clone());
            let (api, client) = (spec.api, spec.client);
            tasks.push(tokio::spawn(async move {
                let mut done = Vec::new();
                for _ in 0..per_worker {
                    let login = next.fetch_add(1, Ordering::Relaxed);
                    if login >= wave_end {
                        break;
                    }
                    let t = Instant::now();
                    let r = one(&shared, api, client, login).await;
                    done.push((t.elapsed(), r));
                }
                done
            }));
        }
        for task in tasks {
            let done = match task.await {
                Ok(done) => done,
                Err(e) => {
                    failures += 1;
                    first_failure.get_or_insert(e.to_string());
                    continue;
                }
            };
            for (took, r) in done {
                match r {
                    Ok(opened) => {
                        latencies.push(took.as_secs_f64() * 1e3);
                        engine_opened += opened;
                    }
                    Err(e) => {
                        failures += 1;
                        first_failure.get_or_insert(e);
                    }
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = procstat::cpu_time("self").saturating_sub(cpu0);
    let peaks = sampler.finish();
    let peak_rss = procstat::status_kib("VmHWM");
    latencies.sort_by(f64::total_cmp);
    let flows = (spec.n * spec.rounds) as f64;
    let counter = &shared.floor.counter;
    let opened = match spec.client {
        Client::Engine | Client::EngineDial => engine_opened,
        Client::Floor => counter.opened.load(Ordering::Relaxed) - floor_opened_before,
    };
    Ok(LoadResult {
        api: spec.api,
        client: spec.client,
        n: spec.n,
        rounds: spec.rounds,
        mode: spec.mode,
        failures,
        first_failure,
        secs,
        logins_per_s: latencies.len() as f64 / secs,
        p50_ms: procstat::quantile(&latencies, 0.5),
        p99_ms: procstat::quantile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(0.0),
        base_rss_kib: base_rss,
        peak_rss_kib: peak_rss,
        kib_per_flow: peak_rss.saturating_sub(base_rss) as f64 / spec.n as f64,
        threads: peaks.threads,
        conns_per_flow: opened as f64 / flows,
        peak_open_per_flow: peaks.fds.saturating_sub(base_fds) as f64 / spec.n as f64,
        client_cpu_us: cpu.as_secs_f64() * 1e6 / flows,
    })
}
