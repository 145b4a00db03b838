//! `loginflow`: the command-line face of the loginflow engine. `loginflow demo` runs every flow
//! of both APIs against an embedded sandbox; the other subcommands talk to any server.
//!
//! The binary is [`run`]; the library also exposes the session file format ([`session`]), so
//! that other tools (the fuzz targets) read and write exactly what the CLI does.
//!
//! Exit codes: 0 success; 1 the server answered with an error status; 2 usage or
//! configuration; 3 transport failure or an answer that could not be used; 4 a login paused for
//! an OTP or a captcha answer (`login --save-pending`), to finish with `loginflow resume`.

mod args;
mod commands;
mod engine;
mod error;
mod files;
mod interact;
mod output;
mod pending;
mod probe;
mod progress;
mod reach;
mod readings;
mod redact;
mod secret_input;
pub mod session;
mod settings;
mod tape;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::ErrorKind as ClapErrorKind;
use clap::{CommandFactory as _, FromArgMatches as _};

use crate::args::{Cli, Command, OutputFormat};
use crate::error::CliError;
use crate::output::{EXIT_OK, EXIT_USAGE};
use crate::settings::Settings;

/// Runs the command line `raw` (the program name first), prints its outcome and gives the
/// exit code.
pub fn run(raw: &[OsString]) -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches_from(raw)
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
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
    let settings = match Settings::resolve(&cli.global, &matches) {
        Ok(settings) => settings,
        Err(e) => return ExitCode::from(output::print_result(cli.global.output, &Err(e))),
    };
    let format = settings.output;
    let s = &settings;
    let result = match &cli.command {
        Command::Login(a) => commands::login::run(s, a),
        Command::Probe(a) => commands::probe::run(s, a),
        Command::Resume(a) => commands::resume::run(s, a),
        Command::Refresh(a) => commands::refresh::run(s, a),
        Command::Token(a) => commands::token::run(s, a),
        Command::Status(a) => commands::status::run(s, a),
        Command::Revoke(a) => commands::revoke::run(s, a),
        Command::ForgotPassword(a) => commands::forgot_password::run(s, a),
        Command::Diagram(a) => commands::diagram::run(s, a),
        Command::Sandbox(_) if s.tape.is_on() => Err(CliError::usage(
            "--record and --replay apply to commands that call a server; `sandbox` is the server",
        )),
        Command::Sandbox(a) => commands::sandbox::run(a.clone()),
        Command::Demo(_) => commands::demo::run(s, format == OutputFormat::Json),
    };
    let unused = s.tape.unused();
    if unused > 0 {
        // Not an error (a recorded run may have gone further than this one asked), but the
        // first thing to check when a replay and its recording disagree.
        eprintln!("note: {unused} exchange(s) of the replayed cassette were not used by this run");
    }
    ExitCode::from(output::print_result(format, &result))
}
