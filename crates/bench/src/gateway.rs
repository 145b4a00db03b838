//! `bench gateway`: loginflow-gateway with Redis against the same gateway with the in-memory
//! store, in one run (docs/performance.md, "The gateway").
//!
//! Everything runs in this process on one tokio runtime (both gateways, the sandbox bank, the
//! clients), except `redis-server`, a child on a Unix socket in a temp dir with
//! `appendonly yes` and `appendfsync everysec` (a production setting). The two variants take
//! turns, so drift on a shared machine hits both; compare the ratios.
//!
//! - **logins/s**: realm logins with an OTP (`POST /v1/logins`, then `POST .../otp`), `c`
//!   clients back to back for `secs`, memory vs Redis (goal: Redis ≥ 0.8× memory).
//! - **resume latency**: one client, the OTP step alone, alternating memory and Redis; the
//!   difference of the medians is what Redis adds (goal: ≤ 0.5 ms).
//! - **token endpoint**: `GET /v1/sessions/{id}/token` for a fresh token (one `HMGET`, an
//!   unseal, JSON) vs a bare axum handler doing one Redis `GET` of a value of the same size
//!   (goal: ≥ 0.7×).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use login_core::ciam::CiamConfig;
use login_core::realm::RealmConfig;
use login_core::seal::JweSealer;
use login_core::secret::{ClientSecret, DeviceToken};
use login_sandbox::config::{
    Channel, Mfa, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
    UserConfig,
};
use login_sandbox::secret::Secret;
use login_sandbox::{RunningSandbox, Sandbox};
use login_store::seal::{Keyring, SealKey};
use loginflow_gateway::{ApiKey, Gateway, GatewayConfig, RunningGateway};
use redis::aio::ConnectionManager;

use crate::setup::{Argon2, sandbox_config};

const API_KEY: &str = "bench-internal-api-key-0123456789";
/// Users with an OTP, so concurrent logins do not queue on one username's password check.
const OTP_USERS: usize = 64;

type Http = Client<HttpConnector, Full<Bytes>>;

/// The options of `bench gateway`.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Seconds per throughput measurement.
    pub secs: f64,
    /// Concurrent clients for the throughput measurements.
    pub concurrency: usize,
    /// Alternating repetitions of each throughput pair.
    pub reps: usize,
    /// OTP steps timed per store for the latency measurement.
    pub samples: usize,
}

/// A `redis-server` child on a Unix socket, killed on drop.
struct RedisChild {
    child: Child,
    dir: PathBuf,
}

impl RedisChild {
    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn start() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("bench-gw-redis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(dir.join("r.sock"))
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(&dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start redis-server ({e}); apt-get install -y redis-server")
            })?;
        let redis = Self { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(redis.dir.join("r.sock")).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not come up".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    fn url(&self) -> String {
        format!("redis+unix://{}", self.dir.join("r.sock").display())
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(bank: &RunningSandbox, redis: Option<&str>) -> Result<GatewayConfig, String> {
    let keyring = Keyring::new(SealKey::generate("b1").map_err(|e| e.to_string())?);
    let realm = RealmConfig::new("cap", TEST_CLIENT_ID, ClientSecret::new(TEST_CLIENT_SECRET));
    let ciam = CiamConfig::new(
        TEST_CLIENT_ID,
        TEST_REDIRECT_URI,
        DeviceToken::new(TEST_DEVICE_TOKEN),
    );
    let sealer = JweSealer::from_jwk(&bank.public_jwk_json()).map_err(|e| e.to_string())?;
    let mut config = GatewayConfig::new(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        keyring,
        ApiKey::new(API_KEY).map_err(|e| e.to_string())?,
    )
    .realm(&bank.realm_base_url(), realm)
    .map_err(|e| e.to_string())?
    .ciam(&bank.base_url(), ciam, sealer)
    .map_err(|e| e.to_string())?;
    if let Some(url) = redis {
        config = config.redis(url);
    }
    Ok(config)
}

async fn send(
    http: &Http,
    method: &str,
    url: &str,
    body: &str,
    auth: bool,
) -> Result<(u16, Vec<u8>), String> {
    let mut request = hyper::Request::builder().method(method).uri(url);
    if !body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    if auth {
        request = request.header("authorization", format!("Bearer {API_KEY}"));
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| e.to_string())?;
    let response = http.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok((status, body))
}

fn field(body: &[u8], name: &str) -> Result<String, String> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    json[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no {name} in {}", String::from_utf8_lossy(body)))
}

/// Starts a realm OTP login as `user`; returns its login id.
async fn start_login(http: &Http, base: &str, user: usize) -> Result<String, String> {
    let body = format!(r#"{{"api":"cap","username":"otp-{user}","password":"otp-password"}}"#);
    let (status, body) = send(http, "POST", &format!("{base}/v1/logins"), &body, false).await?;
    if status != 202 {
        return Err(format!(
            "start: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    field(&body, "login")
}

async fn finish_login(http: &Http, base: &str, login: &str) -> Result<(), String> {
    let (status, body) = send(
        http,
        "POST",
        &format!("{base}/v1/logins/{login}/otp"),
        r#"{"otp":"123456"}"#,
        false,
    )
    .await?;
    if status != 201 {
        return Err(format!("otp: {status} {}", String::from_utf8_lossy(&body)));
    }
    Ok(())
}

/// Whole OTP logins per second over `c` clients.
async fn logins_per_sec(http: &Http, base: &str, c: usize, secs: f64) -> Result<f64, String> {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for worker in 0..c {
        let (http, base) = (http.clone(), base.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < until {
                let login = start_login(&http, &base, worker % OTP_USERS).await?;
                finish_login(&http, &base, &login).await?;
                done += 1;
            }
            Ok::<u64, String>(done)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.map_err(|e| e.to_string())??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Successful GETs per second over `c` clients.
async fn gets_per_sec(
    http: &Http,
    url: &str,
    c: usize,
    secs: f64,
    auth: bool,
) -> Result<f64, String> {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..c {
        let (http, url) = (http.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < until {
                let (status, body) = send(&http, "GET", &url, "", auth).await?;
                if status != 200 {
                    return Err(format!("GET: {status} {}", String::from_utf8_lossy(&body)));
                }
                done += 1;
            }
            Ok::<u64, String>(done)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.map_err(|e| e.to_string())??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// The bare floor: one Redis `GET` and a JSON answer.
async fn bare_token(
    State(conn): State<ConnectionManager>,
    Path(key): Path<String>,
) -> Result<axum::Json<serde_json::Value>, axum::http::StatusCode> {
    let mut conn = conn.clone();
    let value: Option<Vec<u8>> = redis::cmd("GET")
        .arg(format!("bench:{{{key}}}:blob"))
        .query_async(&mut conn)
        .await
        .map_err(|_| axum::http::StatusCode::SERVICE_UNAVAILABLE)?;
    let value = value.ok_or(axum::http::StatusCode::NOT_FOUND)?;
    Ok(axum::Json(serde_json::json!({
        "accessToken": format!("bare-{}", value.len()),
        "expiresAt": "2026-12-03T12:00:00Z",
    })))
}

/// CPU time of this process (clients, gateways, bank) plus redis-server's.
fn cpu(redis_pid: &str) -> Duration {
    crate::procstat::cpu_time("self") + crate::procstat::cpu_time(redis_pid)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let at = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(at).copied().unwrap_or(f64::NAN)
}

/// Runs the three measurements and prints them.
///
/// # Errors
/// When a server does not start or a request fails.
pub fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(measure(options))
}

async fn measure(o: Options) -> Result<(), String> {
    let redis = RedisChild::start()?;
    let mut sandbox = sandbox_config(Argon2::Cheap);
    for i in 0..OTP_USERS {
        sandbox.users.insert(
            format!("otp-{i}"),
            UserConfig {
                password: Secret::new("otp-password"),
                mfa: Mfa::Otp,
                channel: Channel::Sms,
                last_location: None,
            },
        );
    }
    let bank = Sandbox::start(sandbox).await.map_err(|e| e.to_string())?;
    let spawn = |config: GatewayConfig| async move {
        Gateway::new(config)
            .await
            .map_err(|e| e.to_string())?
            .spawn()
            .await
            .map_err(|e| e.to_string())
    };
    let memory: RunningGateway = spawn(config(&bank, None)?).await?;
    let with_redis: RunningGateway = spawn(config(&bank, Some(&redis.url()))?).await?;
    let http: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(o.concurrency * 2)
        .build_http();
    let (mem, red) = (memory.url(), with_redis.url());

    // Warm both up (connections, scripts loaded into Redis).
    logins_per_sec(&http, &mem, o.concurrency, 0.5).await?;
    logins_per_sec(&http, &red, o.concurrency, 0.5).await?;

    println!(
        "== gateway: logins/s (realm, OTP: two requests each), {} clients, {:.1} s each",
        o.concurrency, o.secs
    );
    let pid = redis.pid();
    let (mut m_rates, mut r_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut m_cpu, mut r_cpu, mut cpu_ratios) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..o.reps {
        let (c0, t0) = (cpu(&pid), Instant::now());
        let m = logins_per_sec(&http, &mem, o.concurrency, o.secs).await?;
        let (c1, t1) = (cpu(&pid), Instant::now());
        let r = logins_per_sec(&http, &red, o.concurrency, o.secs).await?;
        let c2 = cpu(&pid);
        // CPU per login of everything involved (this process and redis-server): what a
        // saturated machine's capacity follows, less moved by other load than a rate.
        let mc = (c1 - c0).as_secs_f64() * 1e6 / (m * (t1 - t0).as_secs_f64());
        let rc = (c2 - c1).as_secs_f64() * 1e6 / (r * t1.elapsed().as_secs_f64());
        println!(
            "  rep {rep}: memory {m:.0}/s ({mc:.0} us CPU/login), redis {r:.0}/s ({rc:.0} us CPU/login), ratio {:.2}, CPU ratio {:.2}, load {:.1}",
            r / m,
            mc / rc,
            crate::procstat::load_average()
        );
        m_rates.push(m);
        r_rates.push(r);
        ratios.push(r / m);
        m_cpu.push(mc);
        r_cpu.push(rc);
        cpu_ratios.push(mc / rc);
    }
    println!(
        "  median: memory {:.0}/s, redis {:.0}/s, ratio redis/memory {:.2} (goal >= 0.80); CPU per login memory {:.0} us, redis {:.0} us: capacity ratio {:.2}",
        median(&mut m_rates),
        median(&mut r_rates),
        median(&mut ratios),
        median(&mut m_cpu),
        median(&mut r_cpu),
        median(&mut cpu_ratios)
    );

    println!(
        "== gateway: the OTP step's latency, one client, {} samples per store (alternating)",
        o.samples
    );
    let (mut m_lat, mut r_lat) = (Vec::new(), Vec::new());
    for i in 0..o.samples * 2 {
        let base = if i % 2 == 0 { &mem } else { &red };
        let login = start_login(&http, base, i % OTP_USERS).await?;
        let t = Instant::now();
        finish_login(&http, base, &login).await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if i % 2 == 0 {
            m_lat.push(ms);
        } else {
            r_lat.push(ms);
        }
    }
    let (m50, r50) = (percentile(&mut m_lat, 0.5), percentile(&mut r_lat, 0.5));
    println!(
        "  memory p50 {m50:.3} ms p90 {:.3} ms; redis p50 {r50:.3} ms p90 {:.3} ms; added p50 {:.3} ms (goal <= 0.5 ms)",
        percentile(&mut m_lat, 0.9),
        percentile(&mut r_lat, 0.9),
        r50 - m50
    );

    // A session on the Redis gateway, and a value of its sealed size for the bare handler.
    let (status, body) = send(
        &http,
        "POST",
        &format!("{red}/v1/logins"),
        r#"{"api":"cap","username":"alice","password":"alice-password"}"#,
        false,
    )
    .await?;
    if status != 201 {
        return Err(format!("alice: {status}"));
    }
    let session = field(&body, "session")?;
    let client = redis::Client::open(redis.url()).map_err(|e| e.to_string())?;
    let conn = client
        .get_connection_manager()
        .await
        .map_err(|e| e.to_string())?;
    let mut setup_conn = conn.clone();
    let sealed: Vec<u8> = redis::cmd("HGET")
        .arg(format!("lf:{{{session}}}:session"))
        .arg("s")
        .query_async(&mut setup_conn)
        .await
        .map_err(|e| e.to_string())?;
    let _: () = redis::cmd("SET")
        .arg(format!("bench:{{{session}}}:blob"))
        .arg(&sealed)
        .query_async(&mut setup_conn)
        .await
        .map_err(|e| e.to_string())?;
    let bare = axum::Router::new()
        .route("/bare/{key}", get(bare_token))
        .with_state(conn);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let bare_addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, bare).await;
    });
    let token_url = format!("{red}/v1/sessions/{session}/token");
    let bare_url = format!("http://{bare_addr}/bare/{session}");
    gets_per_sec(&http, &token_url, o.concurrency, 0.5, true).await?;
    gets_per_sec(&http, &bare_url, o.concurrency, 0.5, false).await?;
    println!(
        "== gateway: GET token (fresh, Redis) vs a bare axum handler doing one Redis GET of {} bytes, {} clients",
        sealed.len(),
        o.concurrency
    );
    let (mut g_rates, mut b_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut g_cpu, mut b_cpu, mut cpu_ratios) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..o.reps {
        let (c0, t0) = (cpu(&pid), Instant::now());
        let g = gets_per_sec(&http, &token_url, o.concurrency, o.secs, true).await?;
        let (c1, t1) = (cpu(&pid), Instant::now());
        let b = gets_per_sec(&http, &bare_url, o.concurrency, o.secs, false).await?;
        let c2 = cpu(&pid);
        let gc = (c1 - c0).as_secs_f64() * 1e6 / (g * (t1 - t0).as_secs_f64());
        let bc = (c2 - c1).as_secs_f64() * 1e6 / (b * t1.elapsed().as_secs_f64());
        println!(
            "  rep {rep}: gateway {g:.0}/s ({gc:.1} us CPU/request), bare {b:.0}/s ({bc:.1} us), ratio {:.2}, CPU ratio {:.2}, load {:.1}",
            g / b,
            bc / gc,
            crate::procstat::load_average()
        );
        g_rates.push(g);
        b_rates.push(b);
        ratios.push(g / b);
        g_cpu.push(gc);
        b_cpu.push(bc);
        cpu_ratios.push(bc / gc);
    }
    println!(
        "  median: gateway {:.0}/s, bare {:.0}/s, ratio gateway/bare {:.2} (goal >= 0.70); CPU per request gateway {:.1} us, bare {:.1} us: capacity ratio {:.2}",
        median(&mut g_rates),
        median(&mut b_rates),
        median(&mut ratios),
        median(&mut g_cpu),
        median(&mut b_cpu),
        median(&mut cpu_ratios)
    );
    memory.shutdown().await;
    with_redis.shutdown().await;
    bank.shutdown().await;
    Ok(())
}
