//! Item 4: N concurrent full logins with the async driver, or with the pooled floor client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use login_core::ciam::{CiamConfig, Credentials};
use login_core::realm::{RealmConfig, Start};
use login_core::seal::JweSealer;
use login_core::secret::{ClientSecret, DeviceToken, Password};
use login_transport::{AsyncDriver, HyperSession, HyperTransport, NoInteraction, TransportConfig};
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
    /// login-transport's `AsyncDriver` on a `HyperSession` per flow.
    Engine,
    /// Hand-written calls on hyper-util's pooled client.
    Floor,
    /// `AsyncDriver` with N long-lived `HyperSession`s, flow i of every round on session i:
    /// connections outlive flows, as the floor's pool lets them.
    #[serde(rename = "engine-keep")]
    #[value(name = "engine-keep")]
    EngineKeep,
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
    /// Rounds of `n`.
    pub rounds: usize,
    /// Failed logins (any step).
    pub failures: usize,
    /// The first failure's text.
    pub first_failure: Option<String>,
    /// Wall time of all rounds, seconds.
    pub secs: f64,
    /// Completed logins per second.
    pub logins_per_s: f64,
    /// Median login latency, ms.
    pub p50_ms: f64,
    /// 99th-percentile login latency, ms.
    pub p99_ms: f64,
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
    /// Rounds.
    pub rounds: usize,
}

struct Shared {
    sealer: JweSealer,
    realm: RealmConfig,
    ciam: CiamConfig,
    realm_transport: HyperTransport,
    ciam_transport: HyperTransport,
    floor: AsyncFloor,
}

/// One login; returns the connections the flow opened (engine) or 0 (floor: counted by the
/// pool's connector).
async fn one(
    shared: &Shared,
    api: Api,
    client: Client,
    kept: Option<Arc<HyperSession>>,
) -> Result<u64, String> {
    if let Some(session) = kept {
        let driver = AsyncDriver::new(session);
        match api {
            Api::Realm => {
                let start = Start::new(creds::USER, Password::new(creds::PASSWORD));
                driver
                    .realm_login(&shared.realm, start, &mut NoInteraction)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Api::Ciam => {
                let credentials = Credentials::new(creds::USER, Password::new(creds::PASSWORD));
                driver
                    .ciam_login(
                        &shared.ciam,
                        &shared.sealer,
                        credentials,
                        &mut NoInteraction,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        // Counted once per session at the end of the run.
        return Ok(0);
    }
    match (client, api) {
        (Client::Engine | Client::EngineKeep, Api::Realm) => {
            let driver = AsyncDriver::new(shared.realm_transport.session());
            let start = Start::new(creds::USER, Password::new(creds::PASSWORD));
            driver
                .realm_login(&shared.realm, start, &mut NoInteraction)
                .await
                .map_err(|e| e.to_string())?;
            Ok(driver.transport().connections_opened())
        }
        (Client::Engine | Client::EngineKeep, Api::Ciam) => {
            let driver = AsyncDriver::new(shared.ciam_transport.session());
            let credentials = Credentials::new(creds::USER, Password::new(creds::PASSWORD));
            driver
                .ciam_login(
                    &shared.ciam,
                    &shared.sealer,
                    credentials,
                    &mut NoInteraction,
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok(driver.transport().connections_opened())
        }
        (Client::Floor, Api::Realm) => shared
            .floor
            .realm_login()
            .await
            .map(|_| 0)
            .map_err(|e| e.to_string()),
        (Client::Floor, Api::Ciam) => shared
            .floor
            .ciam_login(&shared.sealer)
            .await
            .map(|_| 0)
            .map_err(|e| e.to_string()),
    }
}

/// Runs `rounds` rounds of `n` concurrent logins on the current tokio runtime.
pub async fn run(spec: &LoadSpec) -> Result<LoadResult, String> {
    let config = |base: &str| {
        TransportConfig::new(base)
            .map_err(|e| e.to_string())
            .and_then(|c| HyperTransport::new(c).map_err(|e| e.to_string()))
    };
    let realm_base = format!("{}/internal-api/centaur", spec.base);
    let realm_transport = config(&realm_base)?;
    let ciam_transport = config(&spec.base)?;
    let user_agent = ciam_transport.config().user_agent_header().to_owned();
    let shared = Arc::new(Shared {
        sealer: JweSealer::from_jwk(&spec.jwk).map_err(|e| e.to_string())?,
        realm: RealmConfig::new(
            creds::REALM,
            creds::CLIENT_ID,
            ClientSecret::new(creds::CLIENT_SECRET),
        ),
        ciam: CiamConfig::new(
            creds::CLIENT_ID,
            creds::REDIRECT_URI,
            DeviceToken::new(creds::DEVICE_TOKEN),
        ),
        realm_transport,
        ciam_transport,
        floor: AsyncFloor::new(&spec.base, &user_agent),
    });
    // Warm up (first connection, lazy statics), then take the baseline.
    one(&shared, spec.api, spec.client, None).await?;
    let kept: Vec<Arc<HyperSession>> = match spec.client {
        Client::EngineKeep => (0..spec.n)
            .map(|_| {
                Arc::new(match spec.api {
                    Api::Realm => shared.realm_transport.session(),
                    Api::Ciam => shared.ciam_transport.session(),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let floor_opened_before = shared
        .floor
        .counter
        .opened
        .load(std::sync::atomic::Ordering::Relaxed);
    let base_fds = procstat::fds();
    let base_rss = procstat::status_kib("VmRSS");
    let cpu0 = procstat::cpu_time("self");
    let sampler = Sampler::start(Duration::from_millis(20));
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(spec.n * spec.rounds);
    let mut failures = 0;
    let mut first_failure = None;
    let mut engine_opened = 0u64;
    for _ in 0..spec.rounds {
        let mut tasks = Vec::with_capacity(spec.n);
        for i in 0..spec.n {
            let shared = shared.clone();
            let session = kept.get(i).cloned();
            let (api, client) = (spec.api, spec.client);
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let r = one(&shared, api, client, session).await;
                (t.elapsed(), r)
            }));
        }
        for task in tasks {
            match task.await {
                Ok((took, Ok(opened))) => {
                    latencies.push(took.as_secs_f64() * 1e3);
                    engine_opened += opened;
                }
                Ok((_, Err(e))) => {
                    failures += 1;
                    first_failure.get_or_insert(e);
                }
                Err(e) => {
                    failures += 1;
                    first_failure.get_or_insert(e.to_string());
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
        Client::Engine => engine_opened,
        Client::EngineKeep => kept.iter().map(|s| s.connections_opened()).sum(),
        Client::Floor => {
            counter.opened.load(std::sync::atomic::Ordering::Relaxed) - floor_opened_before
        }
    };
    Ok(LoadResult {
        api: spec.api,
        client: spec.client,
        n: spec.n,
        rounds: spec.rounds,
        failures,
        first_failure,
        secs,
        logins_per_s: latencies.len() as f64 / secs,
        p50_ms: procstat::quantile(&latencies, 0.5),
        p99_ms: procstat::quantile(&latencies, 0.99),
        base_rss_kib: base_rss,
        peak_rss_kib: peak_rss,
        kib_per_flow: peak_rss.saturating_sub(base_rss) as f64 / spec.n as f64,
        threads: peaks.threads,
        conns_per_flow: opened as f64 / flows,
        peak_open_per_flow: peaks.fds.saturating_sub(base_fds) as f64 / spec.n as f64,
        client_cpu_us: cpu.as_secs_f64() * 1e6 / flows,
    })
}
