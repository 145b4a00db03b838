//! Item 3 as separate processes: sequential logins with the blocking driver or the blocking
//! floor, against a server started elsewhere, so that each client's time and system calls
//! (`strace -c`) are its own.

use std::time::Instant;

use login_core::ciam::Credentials;
use login_core::realm::Start;
use login_core::seal::JweSealer;
use login_core::secret::Password;
use login_core::{Bank, Runner};
use login_transport::{Driver, NoInteraction, TransportConfig, UreqTransport};
use serde::{Deserialize, Serialize};

use crate::floor::BlockingFloor;
use crate::load::Api;
use crate::setup::creds;

/// Which blocking client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BlockingClient {
    /// `Driver` on `UreqTransport`.
    Driver,
    /// Hand-written ureq calls, same requests in the same order.
    Floor,
}

type Login = Box<dyn Fn() -> Result<(), String>>;

/// Runs `warmup` then `logins` sequential logins of `api` against the sandbox at `base` and
/// returns the mean wall time and the mean CPU time of this (single-threaded) process per timed
/// login, in µs.
pub fn run(
    base: &str,
    jwk: &str,
    api: Api,
    client: BlockingClient,
    warmup: usize,
    logins: usize,
) -> Result<(f64, f64), String> {
    let login = login_fn(base, jwk, api, client)?;
    for _ in 0..warmup {
        login()?;
    }
    let cpu = crate::procstat::thread_cpu_ns();
    let started = Instant::now();
    for _ in 0..logins {
        login()?;
    }
    let per = |total: f64| total / logins.max(1) as f64;
    Ok((
        per(started.elapsed().as_secs_f64() * 1e6),
        per(crate::procstat::thread_cpu_ns().saturating_sub(cpu) as f64 / 1e3),
    ))
}

/// Floor and driver in alternating blocks of `block` logins, `blocks` of each, in this one
/// process (load shifts hit both alike); returns µs per login of every block, floor first.
pub fn interleaved(
    base: &str,
    jwk: &str,
    api: Api,
    blocks: usize,
    block: usize,
) -> Result<[Vec<f64>; 2], String> {
    let logins = [
        login_fn(base, jwk, api, BlockingClient::Floor)?,
        login_fn(base, jwk, api, BlockingClient::Driver)?,
    ];
    for login in &logins {
        for _ in 0..block {
            login()?;
        }
    }
    let mut times = [Vec::with_capacity(blocks), Vec::with_capacity(blocks)];
    for _ in 0..blocks {
        for (login, times) in logins.iter().zip(&mut times) {
            let started = Instant::now();
            for _ in 0..block {
                login()?;
            }
            times.push(started.elapsed().as_secs_f64() * 1e6 / block.max(1) as f64);
        }
    }
    Ok(times)
}

fn login_fn(base: &str, jwk: &str, api: Api, client: BlockingClient) -> Result<Login, String> {
    let sealer = JweSealer::from_jwk(jwk).map_err(|e| e.to_string())?;
    let config = |url: &str| TransportConfig::new(url).map_err(|e| e.to_string());
    let realm_base = format!("{base}/internal-api/centaur");
    let user_agent = config(base)?.user_agent_header().to_owned();
    let realm_cfg = creds::realm_config();
    let ciam_cfg = creds::ciam_config();
    Ok(match (client, api) {
        (BlockingClient::Floor, api) => {
            let floor = BlockingFloor::new(base, &user_agent);
            Box::new(move || {
                match api {
                    Api::Realm => floor.realm_login(),
                    Api::Ciam => floor.ciam_login(&sealer),
                }
                .map(drop)
                .map_err(|e| e.to_string())
            })
        }
        (BlockingClient::Driver, Api::Realm) => {
            let transport = UreqTransport::new(config(&realm_base)?).map_err(|e| e.to_string())?;
            let driver = Driver::new(transport);
            Box::new(move || {
                let start = Start::new(creds::USER, Password::new(creds::PASSWORD));
                driver
                    .login(
                        Bank::Realm(&realm_cfg),
                        Runner::login(start),
                        &mut NoInteraction,
                    )
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        }
        (BlockingClient::Driver, Api::Ciam) => {
            let transport = UreqTransport::new(config(base)?).map_err(|e| e.to_string())?;
            let driver = Driver::new(transport);
            Box::new(move || {
                let credentials = Credentials::new(creds::USER, Password::new(creds::PASSWORD));
                driver
                    .login(
                        Bank::Ciam(&ciam_cfg, &sealer),
                        Runner::ciam_login(credentials),
                        &mut NoInteraction,
                    )
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        }
    })
}
