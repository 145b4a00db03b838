//! `login-sandbox --listen 127.0.0.1:0 --config FILE --jwk-out FILE`: see [`login_sandbox::cli`].
//! Without `--config` it runs the built-in development config. Logs (one line per request by
//! default; `LOGIN_SANDBOX_LOG` sets the filter) go to stderr, coloured only on a terminal.

use std::io::IsTerminal as _;

use clap::Parser;

/// A reference bank auth server (realm and internet-banking login APIs) for development and tests.
#[derive(Debug, Parser)]
#[command(name = "login-sandbox", version)]
struct Cli {
    #[command(flatten)]
    args: login_sandbox::cli::SandboxArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Colours only for a person at a terminal: a pipe or a file gets plain text.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOGIN_SANDBOX_LOG").unwrap_or_else(|_| {
                // Warnings, plus one line per request (see `login_sandbox::request_log`).
                tracing_subscriber::EnvFilter::new(format!(
                    "warn,{}=info",
                    login_sandbox::request_log::TARGET
                ))
            }),
        )
        .init();
    let cli = Cli::parse();
    match login_sandbox::cli::run(cli.args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("login-sandbox: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
