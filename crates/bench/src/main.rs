//! `bench`: the load driver and measurements of docs/performance.md.
//!
//! - `bench quick`: everything small, under a minute (CI).
//! - `bench item3 [--api realm] [--syscalls]`: sequential blocking logins, driver vs floor in
//!   alternating blocks in one client process (and each one's system calls, under `strace -c`).
//! - `bench item4 [--api ciam] [--ns 100,1000,10000]`: concurrent logins, engine vs floor.
//! - `bench item6 [--secs 5]`: sandbox requests/s vs a bare axum handler; argon2 logins/s.
//! - `bench allocs`: heap allocations per core flow vs the serde floor.
//! - `bench gateway [--secs 3] [--concurrency 32]`: loginflow-gateway with Redis vs the
//!   in-memory store (logins/s, the OTP step's latency) and its token endpoint vs a bare handler
//!   doing one Redis GET; all in this process but `redis-server`.
//!
//! The servers run as child processes of this binary (`serve-sandbox`, `serve-bare`) pinned to
//! core 0 with `taskset`; the clients (`load`, `rps`, `logins`) run pinned to core 1.

mod allocs;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use loginflow_bench::blocking::{self, BlockingClient};
use loginflow_bench::load::{self, Api, Client, LoadResult, LoadSpec, Mode};
use loginflow_bench::procstat;
use loginflow_bench::setup::{self, Argon2, ChildServer, Scratch};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

#[derive(Debug, Parser)]
#[command(name = "bench", about = "loginflow measurements (docs/performance.md)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Everything small: item 4 at N=100, item 6 for 1 s each, allocations. Under a minute.
    Quick,
    /// Item 3: sequential blocking logins, Driver on UreqTransport vs hand-written ureq.
    Item3 {
        /// Which login.
        #[arg(long, value_enum, default_value = "realm")]
        api: Api,
        /// Blocks of each client, alternating.
        #[arg(long, default_value_t = 100)]
        blocks: usize,
        /// Logins per block.
        #[arg(long, default_value_t = 20)]
        block: usize,
        /// Also count each client's system calls once (`strace -c`).
        #[arg(long)]
        syscalls: bool,
        /// Also count each client's instructions per login (valgrind's callgrind).
        #[arg(long)]
        instructions: bool,
    },
    /// Item 4: N concurrent logins, engine (AsyncDriver) vs floor (hyper-util pool).
    Item4 {
        /// Which login.
        #[arg(long, value_enum, default_value = "ciam")]
        api: Api,
        /// Concurrency levels.
        #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
        ns: Vec<usize>,
        /// Logins per measurement at least (rounds of N).
        #[arg(long, default_value_t = 4000)]
        flows: usize,
        /// Alternating engine/floor repetitions per N.
        #[arg(long, default_value_t = 1)]
        reps: usize,
        /// Steady (N always in flight) or burst (rounds of N started together).
        #[arg(long, value_enum, default_value = "steady")]
        mode: Mode,
    },
    /// Item 6: sandbox GET /api/v1/jwks.json vs a bare axum handler; OWASP argon2 logins/s.
    Item6 {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5.0)]
        secs: f64,
        /// Client connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// Heap allocations per core flow (canned responses) against the serde floor.
    Allocs,
    /// loginflow-gateway: Redis vs in-memory store (logins/s, OTP step latency), and the token
    /// endpoint vs a bare axum handler doing one Redis GET.
    Gateway {
        /// Seconds per throughput measurement.
        #[arg(long, default_value_t = 3.0)]
        secs: f64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Alternating repetitions of each pair.
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// OTP steps timed per store.
        #[arg(long, default_value_t = 500)]
        samples: usize,
    },
    /// (child) One load run against a running server; prints one JSON line.
    Load {
        #[arg(long)]
        base: String,
        #[arg(long)]
        jwk_file: PathBuf,
        #[arg(long, value_enum)]
        api: Api,
        #[arg(long, value_enum)]
        client: Client,
        #[arg(long)]
        n: usize,
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        #[arg(long, value_enum, default_value = "steady")]
        mode: Mode,
    },
    /// (child) Floor and driver in alternating blocks against a running server; prints µs per
    /// login of every block, one line per client.
    Interleaved {
        #[arg(long)]
        base: String,
        #[arg(long)]
        jwk_file: PathBuf,
        #[arg(long, value_enum)]
        api: Api,
        #[arg(long)]
        blocks: usize,
        #[arg(long)]
        block: usize,
    },
    /// (child) Sequential blocking logins against a running server; prints µs per login.
    Blocking {
        #[arg(long)]
        base: String,
        #[arg(long)]
        jwk_file: PathBuf,
        #[arg(long, value_enum)]
        api: Api,
        #[arg(long, value_enum)]
        client: BlockingClient,
        #[arg(long, default_value_t = 200)]
        warmup: usize,
        #[arg(long)]
        logins: usize,
    },
    /// (child) GET requests/s against a running server; prints `ok failed`.
    Rps {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value = "/api/v1/jwks.json")]
        path: String,
        #[arg(long)]
        connections: usize,
        #[arg(long)]
        secs: f64,
    },
    /// (child) Realm logins/s against a running server; prints `ok failed`.
    Logins {
        #[arg(long)]
        base: String,
        #[arg(long)]
        concurrency: usize,
        #[arg(long)]
        secs: f64,
    },
    /// Writes the load sandbox's config (cheap argon2, load users) to `out`, for running
    /// `serve-sandbox` by hand (profiling one client against it).
    WriteConfig {
        #[arg(long)]
        out: PathBuf,
    },
    /// (child) The sandbox, as `login-sandbox` runs it.
    ServeSandbox {
        #[command(flatten)]
        args: login_sandbox::cli::SandboxArgs,
    },
    /// (child) The bare axum floor server.
    ServeBare {
        #[arg(long)]
        jwk_file: PathBuf,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    // Default worker count: one per core this process may run on (1 under `taskset -c N`).
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> Result<(), String> {
    match cmd {
        Cmd::Quick => {
            let t = std::time::Instant::now();
            allocs::report()?;
            for api in [Api::Realm, Api::Ciam] {
                item4(api, &[100], 300, 1, Mode::Steady)?;
            }
            item6(1.0, 16, true)?;
            println!("quick run took {:.1} s", t.elapsed().as_secs_f64());
            Ok(())
        }
        Cmd::Item3 {
            api,
            blocks,
            block,
            syscalls,
            instructions,
        } => item3(api, blocks, block, syscalls, instructions),
        Cmd::Interleaved {
            base,
            jwk_file,
            api,
            blocks,
            block,
        } => {
            let jwk = std::fs::read_to_string(&jwk_file).map_err(|e| e.to_string())?;
            for times in blocking::interleaved(&base, &jwk, api, blocks, block)? {
                let line: Vec<String> = times.iter().map(|us| format!("{us:.3}")).collect();
                println!("{}", line.join(" "));
            }
            Ok(())
        }
        Cmd::Item4 {
            api,
            ns,
            flows,
            reps,
            mode,
        } => item4(api, &ns, flows, reps, mode),
        Cmd::Item6 { secs, connections } => item6(secs, connections, false),
        Cmd::Allocs => allocs::report(),
        Cmd::Gateway {
            secs,
            concurrency,
            reps,
            samples,
        } => loginflow_bench::gateway::run(loginflow_bench::gateway::Options {
            secs,
            concurrency,
            reps,
            samples,
        }),
        Cmd::Load {
            base,
            jwk_file,
            api,
            client,
            n,
            rounds,
            mode,
        } => {
            let jwk = std::fs::read_to_string(&jwk_file).map_err(|e| e.to_string())?;
            let spec = LoadSpec {
                base,
                jwk,
                api,
                client,
                n,
                rounds,
                mode,
            };
            let result = runtime()?.block_on(load::run(&spec))?;
            println!(
                "{}",
                serde_json::to_string(&result).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Cmd::Blocking {
            base,
            jwk_file,
            api,
            client,
            warmup,
            logins,
        } => {
            let jwk = std::fs::read_to_string(&jwk_file).map_err(|e| e.to_string())?;
            let (wall, cpu) = blocking::run(&base, &jwk, api, client, warmup, logins)?;
            println!("{wall:.3} {cpu:.3}");
            Ok(())
        }
        Cmd::Rps {
            addr,
            path,
            connections,
            secs,
        } => {
            let (ok, failed) = runtime()?.block_on(loginflow_bench::rps::get_rps(
                &addr,
                &path,
                connections,
                secs,
            ))?;
            println!("{ok} {failed}");
            Ok(())
        }
        Cmd::Logins {
            base,
            concurrency,
            secs,
        } => {
            let (ok, failed) =
                runtime()?.block_on(loginflow_bench::rps::login_rate(&base, concurrency, secs))?;
            println!("{ok} {failed}");
            Ok(())
        }
        Cmd::WriteConfig { out } => {
            let json = serde_json::to_vec_pretty(&setup::sandbox_config(Argon2::Cheap))
                .map_err(|e| e.to_string())?;
            std::fs::write(&out, json).map_err(|e| e.to_string())
        }
        Cmd::ServeSandbox { args } => runtime()?
            .block_on(login_sandbox::cli::run(args))
            .map_err(|e| e.to_string()),
        Cmd::ServeBare { jwk_file } => {
            let jwk = std::fs::read_to_string(&jwk_file).map_err(|e| e.to_string())?;
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            runtime()?
                .block_on(setup::serve_bare(addr, jwk))
                .map_err(|e| e.to_string())
        }
    }
}

fn exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| e.to_string())
}

/// Runs this binary with `args` pinned to `cpu` and returns its stdout.
fn child(cpu: usize, args: &[String]) -> Result<String, String> {
    let out = Command::new("taskset")
        .arg("-c")
        .arg(cpu.to_string())
        .arg(exe()?)
        .args(args)
        .output()
        .map_err(|e| format!("running taskset: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn strs(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// The sandbox as a child on core 0, its config and key in `scratch`.
fn sandbox(scratch: &Scratch, argon2: Argon2) -> Result<(ChildServer, PathBuf), String> {
    let name = format!("sandbox-{argon2:?}.json");
    let config = scratch.write_config(&name, &setup::sandbox_config(argon2))?;
    let jwk = scratch.path(&format!("jwk-{argon2:?}.json"));
    let args = vec![
        "serve-sandbox".to_owned(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--config".into(),
        config.display().to_string(),
        "--jwk-out".into(),
        jwk.display().to_string(),
    ];
    let server = ChildServer::spawn(&exe()?, &args, Some(0))?;
    Ok((server, jwk))
}

fn item3(
    api: Api,
    blocks: usize,
    block: usize,
    syscalls: bool,
    instructions: bool,
) -> Result<(), String> {
    let scratch = Scratch::new().map_err(|e| e.to_string())?;
    let (server, jwk) = sandbox(&scratch, Argon2::Cheap)?;
    println!(
        "item 3 ({api:?}), blocking, server on core 0, client on core 1, load {:.2}",
        procstat::load_average()
    );
    let jwk = jwk.display().to_string();
    let out = child(
        1,
        &strs(&[
            "interleaved",
            "--base",
            &server.base,
            "--jwk-file",
            &jwk,
            "--api",
            &arg_name(api),
            "--blocks",
            &blocks.to_string(),
            "--block",
            &block.to_string(),
        ]),
    )?;
    let mut stats = Vec::new();
    for (client, line) in ["floor", "driver"].iter().zip(out.lines()) {
        let mut times = line
            .split_whitespace()
            .map(str::parse::<f64>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{e}: {line}"))?;
        times.sort_by(f64::total_cmp);
        let (Some(&fastest), Some(&median)) = (times.first(), times.get(times.len() / 2)) else {
            return Err(format!("no blocks for {client}"));
        };
        println!(
            "{client}: fastest block {fastest:.1} µs/login, median block {median:.1} µs/login"
        );
        stats.push((fastest, median));
    }
    if let [(f_min, f_med), (d_min, d_med)] = stats[..] {
        println!(
            "driver/floor, {blocks} interleaved blocks of {block}: {:.3}x (fastest blocks), {:.3}x (median blocks); load {:.2}",
            d_min / f_min,
            d_med / f_med,
            procstat::load_average()
        );
    }
    // The arguments of one client alone in a process.
    let single = |client: BlockingClient, warmup: usize, logins: usize| {
        strs(&[
            "blocking",
            "--base",
            &server.base,
            "--jwk-file",
            &jwk,
            "--api",
            &arg_name(api),
            "--client",
            &arg_name(client),
            "--warmup",
            &warmup.to_string(),
            "--logins",
            &logins.to_string(),
        ])
    };
    // One client alone, wrapped in `tool` (strace or valgrind).
    let wrapped = |client: BlockingClient, logins: usize, tool: &[String]| {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c")
            .arg("1")
            .args(tool)
            .arg(exe()?)
            .args(single(client, 0, logins));
        let out = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("{tool:?}: {e}"))?;
        if out.success() {
            Ok(())
        } else {
            Err(format!("{tool:?} run of {client:?} failed"))
        }
    };
    let clients = [BlockingClient::Floor, BlockingClient::Driver];
    // Each client alone, twice, alternating: its wall time and the server's CPU per login.
    for rep in 0..2 {
        // Alternate the order: the server's store grows with every login.
        let order = if rep == 0 {
            clients
        } else {
            [clients[1], clients[0]]
        };
        for client in order {
            let logins = blocks * block;
            let before = procstat::cpu_time(&server.pid().to_string());
            let out = child(1, &single(client, 200, logins))?;
            let server_us = procstat::cpu_time(&server.pid().to_string())
                .saturating_sub(before)
                .as_secs_f64()
                * 1e6
                / (logins + 200) as f64;
            let (wall, cpu) = out
                .trim()
                .split_once(' ')
                .ok_or(format!("bad output: {out}"))?;
            println!(
                "{client:?} alone (run {}): {wall} µs per login, client CPU {cpu} µs per login, server CPU {server_us:.1} µs per login",
                rep + 1
            );
        }
    }
    if syscalls {
        let logins = blocks * block;
        for client in clients {
            let trace = scratch.path(&format!("strace-{client:?}.txt"));
            let tool = strs(&["strace", "-c", "-o", &trace.display().to_string()]);
            wrapped(client, logins, &tool)?;
            let text = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
            let calls = syscall_counts(&text);
            let per = |n: u64| n as f64 / logins as f64;
            let total: u64 = calls.iter().map(|(_, n)| n).sum();
            let top: Vec<String> = calls
                .iter()
                .take(6)
                .map(|(name, n)| format!("{name} {:.2}", per(*n)))
                .collect();
            println!(
                "{client:?}: {:.2} system calls per login ({})",
                per(total),
                top.join(", ")
            );
        }
    }
    if instructions {
        // Two runs per client; the difference removes start-up (keys, agent, first connection).
        const FEW: usize = 100;
        const MANY: usize = 600;
        let mut per_login = Vec::new();
        for client in clients {
            let mut totals = Vec::new();
            for logins in [FEW, MANY] {
                let out = scratch.path(&format!("callgrind-{client:?}-{logins}.out"));
                let tool = strs(&[
                    "valgrind",
                    "--tool=callgrind",
                    &format!("--callgrind-out-file={}", out.display()),
                ]);
                wrapped(client, logins, &tool)?;
                let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
                let total = text
                    .lines()
                    .find_map(|l| l.strip_prefix("summary: "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or("no callgrind summary")?;
                totals.push(total);
            }
            let per = totals[1].saturating_sub(totals[0]) as f64 / (MANY - FEW) as f64;
            println!("{client:?}: {per:.0} client instructions per login (callgrind)");
            per_login.push(per);
        }
        if let [floor, driver] = per_login[..] {
            println!("driver/floor instructions: {:.3}x", driver / floor);
        }
    }
    Ok(())
}

/// `(syscall, calls)` from `strace -c` output, most calls first.
fn syscall_counts(text: &str) -> Vec<(String, u64)> {
    let mut calls: Vec<(String, u64)> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // % time, seconds, usecs/call, calls, [errors,] syscall
            if !(5..=6).contains(&fields.len()) || fields[0].parse::<f64>().is_err() {
                return None;
            }
            let name = *fields.last()?;
            if name == "total" {
                return None;
            }
            Some((name.to_owned(), fields[3].parse().ok()?))
        })
        .collect();
    calls.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    calls
}

fn item4(api: Api, ns: &[usize], flows: usize, reps: usize, mode: Mode) -> Result<(), String> {
    let scratch = Scratch::new().map_err(|e| e.to_string())?;
    let (server, jwk) = sandbox(&scratch, Argon2::Cheap)?;
    println!(
        "item 4 ({api:?}, {mode:?}), server on core 0, client on core 1, load {:.2}",
        procstat::load_average()
    );
    let mut failures = 0;
    println!(
        "| N | client | logins/s | p50 ms | p99 ms | max ms | KiB/flow | threads | conns opened/flow | peak open/flow | client CPU µs/login | server CPU µs/login | failures |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &n in ns {
        let rounds = flows.div_ceil(n).max(1);
        let mut pair: Vec<(Client, Vec<LoadResult>)> = vec![
            (Client::Floor, Vec::new()),
            (Client::Engine, Vec::new()),
            (Client::EngineDial, Vec::new()),
        ];
        // With one round there is nothing to hand from one flow to the next.
        let clients = if rounds > 1 { 3 } else { 2 };
        for rep in 0..reps {
            // Alternate the order so drift does not favour one.
            let mut order: Vec<usize> = (0..clients).collect();
            if rep % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let client = pair[i].0;
                let server_cpu = procstat::cpu_time(&server.pid().to_string());
                let out = child(
                    1,
                    &strs(&[
                        "load",
                        "--base",
                        &server.base,
                        "--jwk-file",
                        &jwk.display().to_string(),
                        "--api",
                        &arg_name(api),
                        "--client",
                        &arg_name(client),
                        "--n",
                        &n.to_string(),
                        "--rounds",
                        &rounds.to_string(),
                        "--mode",
                        &arg_name(mode),
                    ]),
                )?;
                let server_cpu =
                    procstat::cpu_time(&server.pid().to_string()).saturating_sub(server_cpu);
                let result: LoadResult =
                    serde_json::from_str(out.trim()).map_err(|e| format!("{e}: {out}"))?;
                // The warm-up login is included in the server's CPU; it is one in thousands.
                let server_us =
                    server_cpu.as_secs_f64() * 1e6 / (result.n * result.rounds + 1) as f64;
                println!(
                    "| {n} | {:?} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.2} | {:.2} | {:.0} | {:.0} | {}{} |",
                    client,
                    result.logins_per_s,
                    result.p50_ms,
                    result.p99_ms,
                    result.max_ms,
                    result.kib_per_flow,
                    result.threads,
                    result.conns_per_flow,
                    result.peak_open_per_flow,
                    result.client_cpu_us,
                    server_us,
                    result.failures,
                    result
                        .first_failure
                        .as_deref()
                        .map(|f| format!(" ({f})"))
                        .unwrap_or_default()
                );
                failures += result.failures;
                pair[i].1.push(result);
                // Let TIME_WAIT sockets and the server settle between runs.
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        let mean =
            |v: &[LoadResult]| v.iter().map(|r| r.logins_per_s).sum::<f64>() / v.len() as f64;
        let dial = if pair[2].1.is_empty() {
            String::new()
        } else {
            format!(
                ", engine-dial/floor {:.3}x",
                mean(&pair[2].1) / mean(&pair[0].1)
            )
        };
        println!(
            "N={n}: engine/floor throughput {:.3}x{dial} (load {:.2})",
            mean(&pair[1].1) / mean(&pair[0].1),
            procstat::load_average()
        );
    }
    if failures > 0 {
        return Err(format!("{failures} logins failed"));
    }
    Ok(())
}

/// The command-line spelling of a value of one of the `--api`, `--client`, `--mode` enums, for
/// the arguments of a child run.
fn arg_name(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

fn rate(out: &str, secs: f64) -> Result<(f64, u64), String> {
    let mut it = out.split_whitespace();
    let ok: u64 = it
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or(out.to_owned())?;
    let failed: u64 = it
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or(out.to_owned())?;
    Ok((ok as f64 / secs, failed))
}

fn item6(secs: f64, connections: usize, quick: bool) -> Result<(), String> {
    let scratch = Scratch::new().map_err(|e| e.to_string())?;
    println!(
        "item 6, servers on core 0, client on core 1, load {:.2}",
        procstat::load_average()
    );
    let (sandbox_server, jwk) = sandbox(&scratch, Argon2::Cheap)?;
    let bare = ChildServer::spawn(
        &exe()?,
        &strs(&["serve-bare", "--jwk-file", &jwk.display().to_string()]),
        Some(0),
    )?;
    let addr = |base: &str| base.trim_start_matches("http://").to_owned();
    let secs_s = secs.to_string();
    let conns = connections.to_string();
    let mut results = Vec::new();
    let mut cpu_per_request = [0.0f64; 4];
    for (i, (name, base, pid)) in [
        ("bare axum", &bare.base, bare.pid()),
        ("sandbox", &sandbox_server.base, sandbox_server.pid()),
        ("bare axum", &bare.base, bare.pid()),
        ("sandbox", &sandbox_server.base, sandbox_server.pid()),
    ]
    .into_iter()
    .enumerate()
    {
        let cpu0 = procstat::cpu_time(&pid.to_string());
        let out = child(
            1,
            &strs(&[
                "rps",
                "--addr",
                &addr(base),
                "--connections",
                &conns,
                "--secs",
                &secs_s,
            ]),
        )?;
        let cpu = procstat::cpu_time(&pid.to_string()).saturating_sub(cpu0);
        let (rps, failed) = rate(&out, secs)?;
        cpu_per_request[i] = cpu.as_secs_f64() * 1e6 / (rps * secs).max(1.0);
        println!(
            "GET /api/v1/jwks.json, {name}: {rps:.0} requests/s ({failed} failed), server CPU {:.1} µs/request, server core busy {:.0}%",
            cpu_per_request[i],
            cpu.as_secs_f64() * 100.0 / secs
        );
        results.push(rps);
    }
    println!(
        "sandbox/bare: {:.3}x requests/s, {:.3}x server CPU per request (load {:.2})",
        (results[1] + results[3]) / (results[0] + results[2]),
        (cpu_per_request[1] + cpu_per_request[3]) / (cpu_per_request[0] + cpu_per_request[2]),
        procstat::load_average()
    );
    drop(bare);
    drop(sandbox_server);
    // argon2id at the OWASP defaults: realm logins (each one verification) with the server on
    // one core. Two clients in flight keep the hasher busy.
    let (owasp, _) = sandbox(&scratch, Argon2::Owasp)?;
    let secs = if quick { secs.max(2.0) } else { secs.max(10.0) };
    let server_cpu = procstat::cpu_time(&owasp.pid().to_string());
    let out = child(
        1,
        &strs(&[
            "logins",
            "--base",
            &owasp.base,
            "--concurrency",
            "4",
            "--secs",
            &secs.to_string(),
        ]),
    )?;
    let server_cpu = procstat::cpu_time(&owasp.pid().to_string()).saturating_sub(server_cpu);
    let (per_s, failed) = rate(&out, secs)?;
    println!(
        "password logins (argon2id m=19456 KiB t=2 p=1), server on one core: {per_s:.1}/s ({failed} failed), server CPU {:.1} ms/login; vs 15/s per vCPU: {:.2}x (load {:.2})",
        server_cpu.as_secs_f64() * 1e3 / (per_s * secs).max(1.0),
        per_s / 15.0,
        procstat::load_average()
    );
    Ok(())
}
