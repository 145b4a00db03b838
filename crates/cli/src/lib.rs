//! `loginflow`: the command-line face of the loginflow engine. `loginflow demo` runs every flow
//! of both APIs against an embedded sandbox; the other subcommands talk to any server.
//!
//! The binary is [`run`]; the library also exposes the session file format ([`session`]), so
//! that other tools (the fuzz targets) read and write exactly what the CLI does.
//!
//! Exit codes: 0 success; 1 the server answered with an error status; 2 usage or
//! configuration; 3 transport failure or an answer that could not be used.

mod args;
mod commands;
mod engine;
mod error;
mod interact;
mod output;
mod redact;
mod secret_input;
pub mod session;
mod settings;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind as ClapErrorKind;

use crate::args::{Cli, Command, OutputFormat};
use crate::error::CliError;
use crate::output::{EXIT_OK, EXIT_USAGE};

/// Runs the command line `raw` (the program name first), prints its outcome and gives the
/// exit code.
pub fn run(raw: &[OsString]) -> ExitCode {
    let cli = match Cli::try_parse_from(raw) {
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
            if args::wants_json(raw) {
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
