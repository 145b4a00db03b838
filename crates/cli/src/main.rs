//! `loginflow`: the command-line face of the loginflow engine (see the library's docs).

use std::process::ExitCode;

/// Environment variable with a tracing filter (e.g. `info`, `login_transport=debug`): the
/// driver's flow and per-step spans (api, flow, outcome, step, method, path, status, retries;
/// never a header, body or token; docs/transport.md, "Observability") go to stderr.
const LOG_ENV: &str = "LOGINFLOW_LOG";
/// The ecosystem's variable, honoured when `LOGINFLOW_LOG` is not set.
const RUST_LOG_ENV: &str = "RUST_LOG";

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env(RUST_LOG_ENV));
    if let Ok(mut filter) = filter {
        // The HTTP stack's own TRACE/DEBUG output dumps request heads and response bodies
        // (bearer tokens, token responses): whatever the user asks for, those crates stay at
        // `info`, which holds no wire data. Our own spans carry no secret at any level.
        for directive in [
            "ureq_proto=info",
            "ureq=info",
            "hyper=info",
            "hyper_util=info",
            "rustls=info",
            "h2=info",
        ] {
            if let Ok(d) = directive.parse() {
                filter = filter.add_directive(d);
            }
        }
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .with_ansi(false)
            .init();
    }
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    loginflow::run(&raw)
}
