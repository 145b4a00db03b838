//! Measurements, run by hand: `cargo test -p login-transport --release --test measure -- --ignored --nocapture`.
//! Not assertions: figures for docs/transport.md.

mod common;

use std::time::{Duration, Instant};

use common::{Scripted, login_request, realm_answer};
use login_transport::{Transport, TransportConfig, UreqTransport};

/// The most recently allocated PID on the machine: its growth counts the threads and processes
/// created meanwhile (by everything on the machine, so other work adds noise).
fn last_pid() -> u64 {
    let s = std::fs::read_to_string("/proc/loadavg").expect("/proc/loadavg");
    let last = s.split_whitespace().nth(4).expect("a fifth field");
    last.parse().expect("the last PID is a number")
}

fn cpu_time() -> Duration {
    // utime + stime of this process, in clock ticks (100 per second here).
    let s = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after_name = s.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| -> u64 {
        let field = fields.get(i).expect("utime and stime fields");
        field.parse().expect("ticks are a number")
    };
    let ticks = ticks(11) + ticks(12);
    Duration::from_millis(ticks * 10)
}

fn run(name: &str, calls: usize, send: impl Fn()) {
    let (pid, cpu, wall) = (last_pid(), cpu_time(), Instant::now());
    for _ in 0..calls {
        send();
    }
    let per_call = wall.elapsed() / calls as u32;
    let cpu_per_call = (cpu_time() - cpu) / calls as u32;
    let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .expect("/proc/sys/kernel/pid_max")
        .trim()
        .parse()
        .expect("pid_max is a number");
    // PIDs wrap around at pid_max.
    let tasks = (last_pid() + pid_max - pid) % pid_max;
    println!(
        "{name}: {calls} calls, {per_call:?}/call wall, {cpu_per_call:?}/call CPU (client+server), ~{tasks} tasks created"
    );
}

#[test]
#[ignore = "measurement, run by hand"]
fn ureq_resolver_threads() {
    let server =
        Scripted::start(|line, _| realm_answer(line, false, 300).expect("only realm calls"));
    let url = format!("http://localhost:{}", server.server.addr().port());
    let request = login_request();
    const CALLS: usize = 3000;

    let accepted = || server.server.accepted();
    let config = TransportConfig::new(&url).expect("loopback URL");
    let ours = UreqTransport::new(config.clone()).expect("ureq transport");
    run(
        "UreqTransport (per-phase deadlines, none on the resolve step)",
        CALLS,
        || {
            let response = ours.send(&request).expect("a response");
            assert_eq!(response.status(), 201);
        },
    );

    println!("  connections opened so far: {}", accepted());
    let stock = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(20)))
            .build(),
    );
    let target = format!("{url}{}", request.path());
    let body = request.body().expect("the login has a body").to_vec();
    run(
        "stock ureq agent (default resolver, timeout_global)",
        CALLS,
        || {
            let mut r = stock
                .post(&target)
                .header("content-type", "application/json")
                .send(&body[..])
                .expect("a response");
            assert_eq!(r.status().as_u16(), 201);
            // Read to the end, or the connection does not go back to the pool.
            r.body_mut().read_to_vec().expect("the body");
        },
    );
    println!("  connections opened so far: {}", accepted());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let hyper = login_transport::HyperTransport::new(config).expect("hyper transport");
    let session = hyper.session();
    run(
        "HyperSession (one connection, current-thread runtime)",
        CALLS,
        || {
            let response = rt
                .block_on(login_transport::AsyncTransport::send(&session, &request))
                .expect("a response");
            assert_eq!(response.status(), 201);
        },
    );
    println!("  connections opened so far: {}", accepted());
}
