//! The command line of the `login-sandbox` binary, shared with `loginflow sandbox`:
//! `--listen ADDR --config FILE --jwk-out FILE`. Prints `listening on http://HOST:PORT` as the
//! first stdout line, then serves until killed (or Ctrl-C).
//!
//! Without `--config` it runs [`SandboxConfig::development`] and prints that config's users,
//! passwords and fixed OTP on stderr, marked as development only, so a newcomer can start it
//! and log in at once.

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
    /// Without it the built-in development config is used and its credentials are printed.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the credential-envelope public JWK to this file.
    #[arg(long, value_name = "FILE")]
    pub jwk_out: Option<PathBuf>,
    /// Switch on a deviation from the wire contract (repeatable), added to the config's
    /// `deviations`: status200, numbersAsStrings, scopeArray, unknownFields, missingRefId,
    /// htmlErrors, textPlain, retryAfterDate, redirectStep, envelopeField, absoluteExpiry,
    /// refreshTokenOnly, captchaHeader, a128gcm, scopeString.
    #[arg(long = "deviation", value_name = "NAME")]
    pub deviations: Vec<crate::deviation::Deviation>,
}

/// Runs the sandbox until Ctrl-C or SIGTERM.
///
/// # Errors
/// When the config cannot be loaded, the server cannot start or the JWK cannot be written.
pub async fn run(args: SandboxArgs) -> Result<(), SandboxError> {
    let (mut config, development) = match &args.config {
        Some(path) => (SandboxConfig::from_file(path)?, false),
        None => (SandboxConfig::development(), true),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    config.deviations.extend(args.deviations.iter().copied());
    // Kept for the banner: the sandbox hashes the passwords and does not keep them.
    let banner_config = development.then(|| config.clone());
    let deviations: Vec<&str> = config.deviations.iter().map(|d| d.as_str()).collect();
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
    if !deviations.is_empty() {
        eprintln!(
            "deviations on: {} (the sandbox departs from the wire contract on purpose)",
            deviations.join(", ")
        );
    }
    if let Some(config) = &banner_config {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(development_banner(config, &sandbox.base_url()).as_bytes());
        let _ = err.flush();
    }
    wait_for_stop().await;
    sandbox.shutdown().await;
    Ok(())
}

/// What the built-in development config holds and where to start, for stderr: users with their
/// passwords, the client and device credentials, the fixed OTP and the useful URLs.
///
/// ```
/// use login_sandbox::SandboxConfig;
/// let text = login_sandbox::cli::development_banner(&SandboxConfig::development(), "http://127.0.0.1:8080");
/// assert!(text.contains("DEVELOPMENT ONLY"));
/// assert!(text.contains("bob-password"));
/// assert!(text.contains("123456"));
/// ```
pub fn development_banner(config: &SandboxConfig, base_url: &str) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let rule = "=".repeat(78);
    let _ = writeln!(text, "{rule}");
    let _ = writeln!(
        text,
        "login-sandbox: no --config given: using the built-in DEVELOPMENT ONLY config."
    );
    let _ = writeln!(
        text,
        "Every credential below is public; never use this config for anything real."
    );
    let _ = writeln!(text, "  start page:     {base_url}/");
    let _ = writeln!(
        text,
        "  realm API:      {base_url}/internal-api/centaur   (realm id {:?})",
        config.realm
    );
    let _ = writeln!(
        text,
        "  internet bank:  {base_url}/api/v1/...  and  {base_url}/ciamauthsrvc/..."
    );
    let _ = writeln!(text, "  OTP outbox:     {base_url}/_sandbox/outbox.html");
    let _ = writeln!(text, "  users (name, password, realm mfa, OTP channel):");
    for (name, user) in &config.users {
        let _ = writeln!(
            text,
            "    {name:<8} {:<18} mfa {:<5} {}",
            user.password.expose(),
            user.mfa.as_str(),
            user.channel.as_str()
        );
    }
    let _ = writeln!(
        text,
        "  client:         clientId {}  clientSecret {}",
        config.client_id,
        config.client_secret.expose()
    );
    for token in &config.device_tokens {
        let _ = writeln!(text, "  device token:   {}", token.expose());
    }
    for uri in &config.redirect_uris {
        let _ = writeln!(text, "  redirect URI:   {uri}");
    }
    if let Some(otp) = &config.fixed_otp {
        let _ = writeln!(text, "  fixed OTP:      {otp}   (every OTP is this code)");
    }
    if let Some(captcha) = &config.fixed_captcha {
        let _ = writeln!(text, "  fixed captcha:  {captcha}");
    }
    let _ = writeln!(text, "{rule}");
    text
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
