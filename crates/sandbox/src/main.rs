//! `login-sandbox --listen 127.0.0.1:0 --config FILE --jwk-out FILE`: see [`login_sandbox::cli`].

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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOGIN_SANDBOX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
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
