//! `loginflow`: the command-line face of the loginflow engine. `loginflow demo` runs every flow
//! of both APIs against an embedded sandbox; the other subcommands talk to any server.
//!
//! Exit codes: 0 success; 1 the server answered with an error status; 2 usage or
//! configuration; 3 transport failure or an answer that could not be used.

mod args;
mod commands;
mod engine;
mod interact;
mod output;
mod redact;
mod secret_input;
mod session;
mod settings;

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind as ClapErrorKind;

use crate::args::{Cli, Command, OutputFormat};
use crate::output::{CliError, EXIT_OK, EXIT_USAGE};

/// Environment variable with a tracing filter (e.g. `info`, `login_transport=debug`): the
/// driver's per-step spans (api, step, method, path, status, duration, retries; never a header,
/// body or token) go to stderr.
const LOG_ENV: &str = "LOGINFLOW_LOG";

fn main() -> ExitCode {
    if let Ok(mut filter) = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV) {
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
    let cli = match Cli::try_parse_from(&raw) {
        Ok(cli) => cli,
        Err(e) => {
            if matches!(
                e.kind(),
                ClapErrorKind::DisplayHelp
                    | ClapErrorKind::DisplayVersion
                    | ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) && e.exit_code() == 0
            {
                let _ = e.print();
                return ExitCode::from(EXIT_OK);
            }
            if args::wants_json(&raw) {
                // clap's own first line ("error: unexpected argument '--bogus' found"), plain.
                let rendered = e.render().to_string();
                let first = rendered.lines().next().unwrap_or_default();
                let message = first.strip_prefix("error: ").unwrap_or(first);
                let err = CliError::usage(format!("{message}; see loginflow --help"));
                return ExitCode::from(output::print_result(OutputFormat::Json, &Err(err)));
            }
            let _ = e.print();
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let format = cli.output;
    let result = match &cli.command {
        Command::Login(a) => commands::login::run(&cli, a),
        Command::Refresh(a) => commands::refresh::run(&cli, a),
        Command::Revoke(a) => commands::revoke::run(&cli, a),
        Command::ForgotPassword(a) => commands::forgot_password::run(&cli, a),
        Command::Diagram(a) => Ok(commands::diagram::run(a)),
        Command::Sandbox(a) => commands::sandbox::run(a.clone()),
        Command::Demo(_) => commands::demo::run(format == OutputFormat::Json),
    };
    ExitCode::from(output::print_result(format, &result))
}
