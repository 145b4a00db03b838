//! `loginflow sandbox`: the reference server, with the flags of the `login-sandbox` binary
//! (the sandbox crate's own argument struct, so the two cannot drift apart).

use crate::error::CliError;
use crate::output::Outcome;

/// Runs the sandbox until Ctrl-C or SIGTERM. Prints `listening on http://HOST:PORT` first.
pub fn run(args: login_sandbox::cli::SandboxArgs) -> Result<Outcome, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::config(format!("cannot start the async runtime: {e}")))?;
    runtime
        .block_on(login_sandbox::cli::run(args))
        .map_err(|e| CliError::config(format!("sandbox: {e}")))?;
    Ok(Outcome::stateless())
}
