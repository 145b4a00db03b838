//! `loginflow-gateway`: `--config FILE` runs it for real; `--demo` runs it on the embedded
//! sandbox with an in-memory store. The first line on stdout is `listening on http://HOST:PORT`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use loginflow_gateway::{ApiKey, Gateway, GatewayConfig, StartError, demo};

/// The environment variable holding the demo's internal API key.
const DEMO_API_KEY_ENV: &str = "LOGINFLOW_GATEWAY_API_KEY";

#[derive(Debug, Parser)]
#[command(
    name = "loginflow-gateway",
    version,
    about = "HTTP login service over the loginflow engine"
)]
struct Args {
    /// The configuration file (JSON; secrets are read from the files and variables it names).
    #[arg(long, conflicts_with = "demo", required_unless_present = "demo")]
    config: Option<PathBuf>,
    /// Start the embedded sandbox bank and an in-memory store (no configuration needed).
    #[arg(long)]
    demo: bool,
    /// Where to listen (overrides the file's `listen`; the demo's default is 127.0.0.1:8080;
    /// port 0 picks a free one).
    #[arg(long)]
    listen: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOGINFLOW_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loginflow-gateway: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<(), StartError> {
    let (config, sandbox) = if args.demo {
        let listen = args
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let sandbox = demo::start_sandbox().await?;
        let api_key = match std::env::var(DEMO_API_KEY_ENV) {
            Ok(key) => Some(ApiKey::new(&key)?),
            Err(_) => None,
        };
        (demo::config_for(&sandbox, listen, api_key)?, Some(sandbox))
    } else {
        let path = args.config.unwrap_or_default();
        let mut config = GatewayConfig::load(&path)?;
        if let Some(listen) = args.listen {
            config.listen = listen;
            config.secure_cookies = !listen.ip().is_loopback();
        }
        (config, None)
    };
    let running = Gateway::new(config).await?.spawn().await?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {}", running.url());
    if sandbox.is_some() {
        let _ = writeln!(out, "{}", demo::HELP);
    }
    let _ = out.flush();
    drop(out);
    shutdown_signal().await;
    running.shutdown().await;
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
