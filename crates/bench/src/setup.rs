//! Servers for the measurements: the sandbox (in this process or as a child pinned to a core)
//! and a bare axum handler, the floor of the sandbox's cheapest endpoint.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use login_sandbox::SandboxConfig;
use login_sandbox::config::{
    Argon2Config, Channel, LockoutConfig, Mfa, ThrottleConfig, UserConfig,
};
use login_sandbox::secret::Secret;

/// Fake credentials the sandbox configs below accept (not secrets).
pub mod creds {
    pub use login_sandbox::config::{
        TEST_CLIENT_ID as CLIENT_ID, TEST_CLIENT_SECRET as CLIENT_SECRET,
        TEST_DEVICE_TOKEN as DEVICE_TOKEN, TEST_REDIRECT_URI as REDIRECT_URI,
    };
    /// The realm id.
    pub const REALM: &str = "cap";
    /// A user with no second factor.
    pub const USER: &str = "alice";
    /// Her password, and the password of every load user.
    pub const PASSWORD: &str = "alice-password";
    /// How many load users the cheap-argon2 sandbox has (`load-0` ...): load runs spread their
    /// logins over them, as a bank's many customers would, because the sandbox serializes each
    /// username's password checks.
    pub const LOAD_USERS: usize = 1000;

    /// The `i`-th login's user in a load run.
    pub fn load_user(i: usize) -> String {
        format!("load-{}", i % LOAD_USERS)
    }

    /// The realm client configuration these sandboxes accept.
    pub fn realm_config() -> login_core::realm::RealmConfig {
        login_core::realm::RealmConfig::new(
            REALM,
            CLIENT_ID,
            login_core::secret::ClientSecret::new(CLIENT_SECRET),
        )
    }

    /// The internet-banking client configuration these sandboxes accept.
    pub fn ciam_config() -> login_core::ciam::CiamConfig {
        login_core::ciam::CiamConfig::new(
            CLIENT_ID,
            REDIRECT_URI,
            login_core::secret::DeviceToken::new(DEVICE_TOKEN),
        )
    }
}

/// Which argon2id parameters the sandbox hashes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argon2 {
    /// m=64 KiB, t=1: login throughput measures the engine and the HTTP path, not hashing.
    Cheap,
    /// The OWASP defaults (m=19456 KiB, t=2, p=1): the password-logins/s figure.
    Owasp,
}

/// The sandbox's test configuration with throttles and lockout out of the way (users log in
/// thousands of times, concurrently) and the chosen argon2 parameters. With cheap argon2 it
/// also has the [`creds::LOAD_USERS`] load users (hashing them at the OWASP parameters would
/// take the sandbox half a minute to start).
pub fn sandbox_config(argon2: Argon2) -> SandboxConfig {
    let mut config = SandboxConfig::for_tests();
    config.argon2 = match argon2 {
        Argon2::Cheap => Argon2Config::cheap(),
        Argon2::Owasp => Argon2Config::default(),
    };
    if argon2 == Argon2::Cheap {
        for i in 0..creds::LOAD_USERS {
            config.users.insert(
                creds::load_user(i),
                UserConfig {
                    password: Secret::new(creds::PASSWORD),
                    mfa: Mfa::None,
                    channel: Channel::Sms,
                    last_location: None,
                },
            );
        }
    }
    // Each user still logs in many times at once: keep the lockout out of the way. (The
    // sandbox serializes each username's password checks, so concurrent logins of one user
    // queue behind each other; with cheap argon2 that costs well under a millisecond each.)
    config.lockout = LockoutConfig {
        threshold: 1_000_000,
        window_secs: 300,
    };
    config.throttle = ThrottleConfig {
        login_per_user: None,
        otp_send_per_user: None,
        requests_per_ip: None,
    };
    config
}

/// A child server process; killed (by its own pid) when dropped.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl ChildServer {
    /// Runs `exe args...` under `taskset -c cpu` (when `cpu` is given) and waits for its
    /// `listening on URL` line.
    pub fn spawn(exe: &Path, args: &[String], cpu: Option<usize>) -> Result<Self, String> {
        let mut cmd = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", exe.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err("no stdout".into());
        };
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let base = match (read, line.trim().strip_prefix("listening on ")) {
            (Ok(_), Some(url)) => url.to_owned(),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the server did not start: {line:?}"));
            }
        };
        Ok(Self { child, base })
    }

    /// The server's process id (for its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory for configs and keys, removed on drop.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh directory under the system temp dir.
    pub fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "loginflow-bench-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    /// A path inside.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes a sandbox config file and returns its path.
    pub fn write_config(&self, name: &str, config: &SandboxConfig) -> Result<PathBuf, String> {
        let path = self.path(name);
        let json = serde_json::to_vec_pretty(config).map_err(|e| e.to_string())?;
        std::fs::write(&path, json).map_err(|e| e.to_string())?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The bare axum router: one `GET /api/v1/jwks.json` handler that formats a body of the same
/// shape and size as the sandbox's, and nothing else (no state, no tracing, no fallback).
pub fn bare_router(jwk: String) -> axum::Router {
    use axum::http::header;
    use axum::response::IntoResponse;
    let jwk: std::sync::Arc<str> = jwk.into();
    axum::Router::new().route(
        "/api/v1/jwks.json",
        axum::routing::get(move || {
            let jwk = jwk.clone();
            async move {
                let body = format!(r#"{{"keys":[{jwk}]}}"#);
                ([(header::CONTENT_TYPE, "application/json")], body).into_response()
            }
        }),
    )
}

/// Serves [`bare_router`] on `listen` until the process ends, printing `listening on URL`.
pub async fn serve_bare(listen: SocketAddr, jwk: String) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    axum::serve(listener, bare_router(jwk)).await
}
