//! The command line of the `login-sandbox` binary, shared with `loginflow sandbox`:
//! `--listen ADDR --config FILE --jwk-out FILE`. Prints `listening on http://HOST:PORT` as the
//! first stdout line, then serves until killed (or Ctrl-C).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::{Sandbox, SandboxConfig, SandboxError};

/// The sandbox's flags.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on, e.g. 127.0.0.1:0 for an ephemeral port (default: the config's
    /// `listen`, else 127.0.0.1:0).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The JSON config file (users, realm, client, device tokens, redirect URIs, test mode).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Write the credential-envelope public JWK to this file.
    #[arg(long, value_name = "FILE")]
    pub jwk_out: Option<PathBuf>,
}

/// Runs the sandbox until Ctrl-C or SIGTERM.
///
/// # Errors
/// When the config cannot be loaded, the server cannot start or the JWK cannot be written.
pub async fn run(args: SandboxArgs) -> Result<(), SandboxError> {
    let mut config = SandboxConfig::from_file(&args.config)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let sandbox = Sandbox::start(config).await?;
    if let Some(path) = &args.jwk_out {
        std::fs::write(path, sandbox.public_jwk_json()).map_err(|e| {
            SandboxError::Setup(format!("cannot write the JWK to {}: {e}", path.display()))
        })?;
    }
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", sandbox.base_url());
        let _ = out.flush();
    }
    wait_for_stop().await;
    sandbox.shutdown().await;
    Ok(())
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
