//! The command-line interface. Global flags (the connection and the API's settings) are
//! accepted before or after the subcommand and shown in every subcommand's help; each also
//! comes from a `LOGINFLOW_*` environment variable and from a profile file (`--profile FILE`),
//! with the precedence flag > environment > profile file (see [`crate::settings`]).
//!
//! Secrets are never flag values: the password comes from stdin or a terminal prompt, the
//! client secret from the environment or a file, the device token and the server key from
//! files.

use std::path::PathBuf;

use clap::builder::{BoolishValueParser, PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use login_core::ciam::Routes;
use login_core::table::Api;

use crate::error::CliError;
use crate::interact::Interact;

/// The environment variable that holds the realm API's client secret.
pub const CLIENT_SECRET_ENV: &str = "LOGINFLOW_CLIENT_SECRET";
/// The environment variable that names the output format (`text` or `json`).
pub const OUTPUT_ENV: &str = "LOGINFLOW_OUTPUT";

const CONNECTION: &str = "Connection and output (global: before or after the subcommand)";
const REALM: &str = "Realm API, --api cap (global)";
const CIAM: &str = "Internet-banking API, --api ciam (global)";

const TOP_EXAMPLES: &str = "\
Examples:
  loginflow demo                                   every flow of both APIs against a built-in sandbox
  export LOGINFLOW_CLIENT_SECRET=...               the realm client secret (never a flag)
  loginflow --api cap --base-url https://bank.example/internal-api/centaur --realm cap \\
            --client-id cap-mobile login --username bob --save-session ~/.bob.session
  loginflow token --session ~/.bob.session         the bare access token, refreshed when it is about to expire
  loginflow status --session ~/.bob.session        whose session, which API, expiries
  loginflow refresh --session ~/.bob.session --timeout 5
  loginflow --record bob.cassette.jsonl login ...  every exchange to a shareable file (secrets as placeholders)
  loginflow --replay bob.cassette.jsonl login ...  the same run again from the file, with no network

Settings come from flags, else LOGINFLOW_* environment variables (LOGINFLOW_API, LOGINFLOW_BASE_URL,
LOGINFLOW_CLIENT_ID, ...: each flag's help names its variable), else a profile file (--profile FILE,
JSON or TOML with the flags' names as keys). A profile file also holds the bank's wire readings, which
have no flags: scope-form, expiry, success, refresh-fields, ticket-source, captcha-header,
envelope-field, envelope-enc, envelope-username-field, envelope-password-field and a [paths] table
(docs/wire-readings.md).

Exit codes: 0 success; 1 the server answered with an error status; 2 usage or configuration error;
3 transport failure or an unusable answer; 4 a login paused for an OTP or a captcha (login
--save-pending), to finish with `loginflow resume`.";

const LOGIN_EXAMPLES: &str = "\
Examples:
  loginflow --api cap --base-url URL --realm cap --client-id ID login --username bob
      prompts for the password (and the OTP) on a terminal
  printf '%s\\n' \"$PW\" | loginflow --profile bank.toml login --username bob --password-stdin --otp 123456
  loginflow --profile bank.toml login --username bob --password-stdin --save-pending bob.pending < pw.txt
      exits 4 when the bank sends an OTP; later: loginflow resume --pending bob.pending --otp CODE";

const PROBE_EXAMPLES: &str = "\
Examples:
  loginflow --profile bank.toml probe              no credentials: a made-up user's wrong password,
                                                   an unknown request id, an empty body, a text/plain
                                                   body, a made-up refresh token
  printf '%s\\n' \"$PW\" | loginflow --profile bank.toml probe --username bob --password-stdin --otp 123456
      also the login, a refresh and the revoke
  loginflow --profile bank.toml --output json probe --suggest-profile bank.suggested.json
      one JSON document; the file holds the settings that accept what the server did
  loginflow --profile bank.suggested.json login --username bob
      (see docs/onboarding.md: probe, profile, record, replay in CI)

Exit codes: 0 the server conforms to the contract; 1 it deviates (each deviation names the
reading it breaks and the profile setting that accepts it); 2 usage or configuration; 3 the
server cannot be reached.";

const RESUME_EXAMPLES: &str = "\
Examples:
  loginflow resume --pending bob.pending --otp 123456 --save-session ~/.bob.session
  printf '%s\\n' \"$CODE\" | loginflow resume --pending bob.pending --otp-stdin
  printf '%s\\n' \"$PW\" | loginflow resume --pending alice.pending --captcha-answer K7QF --password-stdin
      a captcha login needs the password again: the credentials are sealed anew with the answer";

const SESSION_EXAMPLES: &str = "\
Examples:
  curl -H \"Authorization: Bearer $(loginflow token --session ~/.bob.session)\" https://bank.example/api
  loginflow --output json status --session ~/.bob.session
  loginflow refresh --session ~/.bob.session --timeout 5
  LOGINFLOW_SESSION=~/.bob.session loginflow revoke";

/// loginflow: log in to the realm and internet-banking bank APIs, or watch every flow run
/// against the built-in sandbox with `loginflow demo`.
#[derive(Debug, Parser)]
#[command(name = "loginflow", version, after_help = TOP_EXAMPLES)]
pub struct Cli {
    /// The settings every subcommand shares.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The global flags. Each is `global = true` (before or after the subcommand) and has a
/// `LOGINFLOW_*` environment variable; [`crate::settings::Settings::resolve`] lays the profile
/// file under them and records which came from the command line.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Which API: `cap` (the realm API) or `ciam` (internet banking).
    #[arg(long, global = true, env = "LOGINFLOW_API", value_name = "API",
          value_parser = api_parser(), help_heading = CONNECTION)]
    pub api: Option<Api>,
    /// The API's base URL. Loopback `http:` URLs need no `--allow-http`.
    #[arg(long, global = true, env = "LOGINFLOW_BASE_URL", value_name = "URL",
          help_heading = CONNECTION)]
    pub base_url: Option<String>,
    /// Output format: human-readable text, or exactly one JSON object on stdout.
    #[arg(long, global = true, env = OUTPUT_ENV, value_enum, default_value_t = OutputFormat::Text,
          help_heading = CONNECTION)]
    pub output: OutputFormat,
    /// Allow plain `http:` to a host that is not loopback (test environments only).
    #[arg(long, global = true, env = "LOGINFLOW_ALLOW_HTTP", action = ArgAction::SetTrue,
          value_parser = BoolishValueParser::new(), help_heading = CONNECTION)]
    pub allow_http: bool,
    /// Bound on each HTTP call, in seconds.
    #[arg(long, global = true, env = "LOGINFLOW_TIMEOUT", value_name = "SECS",
          value_parser = parse_timeout, help_heading = CONNECTION)]
    pub timeout: Option<f64>,
    /// A profile file of these settings (JSON, or TOML when it ends in `.toml`); flags and
    /// environment variables take precedence over it.
    #[arg(long, global = true, env = "LOGINFLOW_PROFILE", value_name = "FILE",
          help_heading = CONNECTION)]
    pub profile: Option<PathBuf>,
    /// Realm id (`cap` API).
    #[arg(long, global = true, env = "LOGINFLOW_REALM", value_name = "ID", help_heading = REALM)]
    pub realm: Option<String>,
    /// Client id (both APIs).
    #[arg(long, global = true, env = "LOGINFLOW_CLIENT_ID", value_name = "ID",
          help_heading = CONNECTION)]
    pub client_id: Option<String>,
    /// File holding the realm client secret (else the environment variable
    /// `LOGINFLOW_CLIENT_SECRET`).
    #[arg(long, global = true, env = "LOGINFLOW_CLIENT_SECRET_FILE", value_name = "F",
          help_heading = REALM)]
    pub client_secret_file: Option<PathBuf>,
    /// Redirect URI (`ciam` API).
    #[arg(long, global = true, env = "LOGINFLOW_REDIRECT_URI", value_name = "URI",
          help_heading = CIAM)]
    pub redirect_uri: Option<String>,
    /// File holding the device identity token (`ciam` API).
    #[arg(long, global = true, env = "LOGINFLOW_DEVICE_TOKEN_FILE", value_name = "F",
          help_heading = CIAM)]
    pub device_token_file: Option<PathBuf>,
    /// The server's credential-encryption public key, a P-256 JWK file (`ciam` API).
    #[arg(long, global = true, env = "LOGINFLOW_SERVER_KEY", value_name = "F",
          help_heading = CIAM)]
    pub server_key: Option<PathBuf>,
    /// Route set of the `ciam` API.
    #[arg(long, global = true, env = "LOGINFLOW_ROUTES", value_enum, help_heading = CIAM)]
    pub routes: Option<RoutesArg>,
    /// Latitude sent as `locLatitude` (`ciam` API).
    #[arg(long, global = true, env = "LOGINFLOW_LAT", value_name = "DEG",
          allow_hyphen_values = true, help_heading = CIAM)]
    pub lat: Option<String>,
    /// Longitude sent as `locLongitude` (`ciam` API).
    #[arg(long, global = true, env = "LOGINFLOW_LON", value_name = "DEG",
          allow_hyphen_values = true, help_heading = CIAM)]
    pub lon: Option<String>,
    /// Event id sent as `eventId` (`ciam` API).
    #[arg(long, global = true, env = "LOGINFLOW_EVENT_ID", value_name = "ID", help_heading = CIAM)]
    pub event_id: Option<String>,
    /// Record every HTTP exchange of this run to FILE, a cassette (JSON Lines, mode 0600) with
    /// every secret replaced by a placeholder, fit to commit and share.
    #[arg(long, global = true, env = "LOGINFLOW_RECORD", value_name = "FILE",
          help_heading = CONNECTION)]
    pub record: Option<PathBuf>,
    /// Answer every HTTP call from the cassette FILE (made with --record) instead of the
    /// network: nothing is dialled, and a request the cassette did not record fails with a
    /// diff.
    #[arg(long, global = true, env = "LOGINFLOW_REPLAY", value_name = "FILE",
          help_heading = CONNECTION)]
    pub replay: Option<PathBuf>,
    /// Client certificate, roots and proxy.
    #[command(flatten)]
    pub reach: crate::reach::ReachArgs,
}

/// Each global setting: its clap id (the field name) and its flag, in help order. The
/// settings module asks clap where each value came from by these ids.
pub const GLOBAL_IDS: [(&str, &str); 23] = [
    ("api", "--api"),
    ("base_url", "--base-url"),
    ("output", "--output"),
    ("allow_http", "--allow-http"),
    ("timeout", "--timeout"),
    ("realm", "--realm"),
    ("client_id", "--client-id"),
    ("client_secret_file", "--client-secret-file"),
    ("redirect_uri", "--redirect-uri"),
    ("device_token_file", "--device-token-file"),
    ("server_key", "--server-key"),
    ("routes", "--routes"),
    ("lat", "--lat"),
    ("lon", "--lon"),
    ("event_id", "--event-id"),
    ("record", "--record"),
    ("replay", "--replay"),
    ("client_cert", "--client-cert"),
    ("client_key", "--client-key"),
    ("ca_file", "--ca-file"),
    ("ca_only", "--ca-only"),
    ("proxy", "--proxy"),
    ("proxy_from_env", "--proxy-from-env"),
];

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in; with `--save-session` write the session for `refresh`, `token` and `revoke`.
    #[command(after_help = LOGIN_EXAMPLES)]
    Login(LoginArgs),
    /// Compare a server's answers with the contract: each deviation with the reading it breaks
    /// and the profile setting that accepts it; `--suggest-profile` writes those settings.
    #[command(after_help = PROBE_EXAMPLES)]
    Probe(ProbeArgs),
    /// Finish a login paused by `login --save-pending` with the OTP or the captcha answer.
    #[command(after_help = RESUME_EXAMPLES)]
    Resume(ResumeArgs),
    /// Refresh a saved session and rewrite its file with the rotated tokens.
    #[command(after_help = SESSION_EXAMPLES)]
    Refresh(RefreshArgs),
    /// Print the bare access token of a saved session, refreshing it first when it expires
    /// within 60 s.
    #[command(after_help = SESSION_EXAMPLES)]
    Token(SessionArgs),
    /// Say whose session a file holds, which API, when its tokens expire and whether it ended
    /// (sends nothing).
    #[command(after_help = SESSION_EXAMPLES)]
    Status(SessionArgs),
    /// Revoke a saved session (realm: local only, nothing is sent).
    #[command(after_help = SESSION_EXAMPLES)]
    Revoke(RevokeArgs),
    /// Reset a password with an OTP (realm API only).
    ForgotPassword(ForgotPasswordArgs),
    /// Print the state diagrams (the Markdown page, one Mermaid diagram, or Graphviz DOT).
    Diagram(DiagramArgs),
    /// Run the reference server (same flags as the `login-sandbox` binary).
    Sandbox(login_sandbox::cli::SandboxArgs),
    /// Start an embedded sandbox and run every flow of both APIs against it.
    Demo(DemoArgs),
}

/// `login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The user name.
    #[arg(long, value_name = "U", env = "LOGINFLOW_USERNAME")]
    pub username: String,
    /// The password, OTP, captcha and scopes.
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Write the session (a versioned snapshot, mode 0600, atomically) to this file (with
    /// `--save-pending`: once `resume` finishes the login).
    #[arg(long, value_name = "FILE")]
    pub save_session: Option<PathBuf>,
    /// When the server asks for an OTP or a captcha answer not given as a flag, write the
    /// paused login to this file (mode 0600, no password in it) and exit 4; finish it with
    /// `loginflow resume --pending FILE`.
    #[arg(long, value_name = "FILE")]
    pub save_pending: Option<PathBuf>,
    /// Print the access and refresh tokens.
    #[arg(long)]
    pub show_tokens: bool,
}

/// How a login (`login`, or `probe --username`) answers: the password, OTP, captcha and
/// scopes, shared by both commands.
#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// Read the password from stdin (one line; the line ending is not part of it). Without it
    /// the password is prompted for on the terminal, with echo off.
    #[arg(long)]
    pub password_stdin: bool,
    /// The OTP, when the server asks for one (without it: a prompt on a TTY, else an error).
    #[arg(long, value_name = "CODE")]
    pub otp: Option<String>,
    /// The captcha answer (`ciam` API).
    #[arg(long, value_name = "A")]
    pub captcha_answer: Option<String>,
    /// Fetch a captcha before sending the credentials (`ciam` API).
    #[arg(long)]
    pub captcha: bool,
    /// A scope to ask for (repeatable; default `openid`).
    #[arg(long, value_name = "S")]
    pub scope: Vec<String>,
}

impl CredentialArgs {
    /// Refuses the captcha flags for an API without a captcha.
    ///
    /// # Errors
    /// A usage error naming the flags.
    pub fn check_api(&self, api: Api) -> Result<(), CliError> {
        if api != Api::Ciam && (self.captcha || self.captcha_answer.is_some()) {
            return Err(CliError::usage(
                "--captcha and --captcha-answer belong to the ciam API, not --api cap",
            ));
        }
        Ok(())
    }

    /// The answers given as flags (the rest prompted on a terminal).
    pub fn interact(&self) -> Interact {
        Interact::new(self.otp.clone(), self.captcha_answer.clone())
    }
}

/// `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Also log in as this user (then refresh and revoke); without it the probe sends only
    /// calls that need no credentials.
    #[arg(long, value_name = "U")]
    pub username: Option<String>,
    /// The password, OTP, captcha and scopes (with --username).
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Write a profile file (mode 0600) with the settings that accept what the server did;
    /// pass it to the other commands with `--profile FILE`.
    #[arg(long, value_name = "FILE")]
    pub suggest_profile: Option<PathBuf>,
}

/// `resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The file written by `login --save-pending`.
    #[arg(long, value_name = "FILE")]
    pub pending: PathBuf,
    /// The OTP (without it, `--otp-stdin`, or a prompt on a TTY).
    #[arg(long, value_name = "CODE", conflicts_with = "otp_stdin")]
    pub otp: Option<String>,
    /// Read the OTP from stdin (one line).
    #[arg(long, conflicts_with = "password_stdin")]
    pub otp_stdin: bool,
    /// The captcha answer (`ciam` API; the password is needed again).
    #[arg(long, value_name = "A")]
    pub captcha_answer: Option<String>,
    /// Read the password from stdin (a paused captcha: the credentials are sealed anew with
    /// the answer). Without it the password is prompted for on the terminal.
    #[arg(long)]
    pub password_stdin: bool,
    /// Write the session (mode 0600, atomically) to this file (default: the `--save-session`
    /// given to the paused `login`, if any).
    #[arg(long, value_name = "FILE")]
    pub save_session: Option<PathBuf>,
    /// Print the access and refresh tokens.
    #[arg(long)]
    pub show_tokens: bool,
}

/// `refresh`.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The session file written by `login --save-session`; rewritten in place.
    #[arg(long, value_name = "FILE", env = "LOGINFLOW_SESSION")]
    pub session: PathBuf,
    /// Print the access and refresh tokens.
    #[arg(long)]
    pub show_tokens: bool,
}

/// `token` and `status`.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The session file written by `login --save-session`.
    #[arg(long, value_name = "FILE", env = "LOGINFLOW_SESSION")]
    pub session: PathBuf,
}

/// `revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The session file written by `login --save-session`; rewritten as revoked.
    #[arg(long, value_name = "FILE", env = "LOGINFLOW_SESSION")]
    pub session: PathBuf,
}

/// `forgot-password`.
#[derive(Debug, Args)]
pub struct ForgotPasswordArgs {
    /// The user name.
    #[arg(long, value_name = "U", env = "LOGINFLOW_USERNAME")]
    pub username: String,
    /// The OTP sent for the reset (without it: a prompt on a TTY, else an error).
    #[arg(long, value_name = "CODE")]
    pub otp: Option<String>,
    /// Read the new password from stdin (one line; the line ending is not part of it).
    /// Without it the new password is prompted for on the terminal, twice.
    #[arg(long)]
    pub new_password_stdin: bool,
}

/// `diagram`.
#[derive(Debug, Args)]
pub struct DiagramArgs {
    /// `markdown`: the whole page (docs/state-diagram.md, one diagram per flow); `mermaid`:
    /// exactly one `stateDiagram-v2` (every flow as a composite state, or the flows of
    /// `--api`); `dot`: Graphviz.
    #[arg(long, value_enum, default_value_t = DiagramFormat::Markdown)]
    pub format: DiagramFormat,
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {}

/// `--api NAME` straight into login-core's [`Api`]: `cap` (or `realm`) and `ciam`. clap checks
/// the name against the list (its help and error text name `cap` and `ciam`), then
/// [`parse_api`] maps it.
fn api_parser() -> impl TypedValueParser<Value = Api> {
    PossibleValuesParser::new([
        PossibleValue::new("cap").help("The realm API"),
        PossibleValue::new("realm").hide(true),
        PossibleValue::new("ciam").help("The internet-banking API"),
    ])
    .try_map(|name| parse_api(&name))
}

/// The API a `--api` value names.
pub fn parse_api(name: &str) -> Result<Api, String> {
    match name {
        "cap" | "realm" => Ok(Api::Realm),
        "ciam" => Ok(Api::Ciam),
        other => Err(format!(
            "{other:?} is not an API: pass cap (realm) or ciam (internet banking)"
        )),
    }
}

/// The name the CLI prints for an API (the `api` field of its JSON): the `--api` value. The
/// forgot-password flow belongs to the realm API, `cap`.
pub fn api_flag(api: Api) -> &'static str {
    match api {
        Api::Realm | Api::ForgotPassword => "cap",
        Api::Ciam => "ciam",
    }
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable lines.
    Text,
    /// Exactly one JSON object on stdout.
    Json,
}

/// `--routes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoutesArg {
    /// `/api/v1/...` (the default).
    Gateway,
    /// `/ciamauthsrvc/...`, the seed's second path set.
    Service,
}

impl RoutesArg {
    /// The route set named.
    pub fn routes(self) -> Routes {
        match self {
            RoutesArg::Gateway => Routes::gateway(),
            RoutesArg::Service => Routes::service(),
        }
    }
}

/// `diagram --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagramFormat {
    /// The Markdown page: a title and one fenced Mermaid diagram per flow.
    Markdown,
    /// One Mermaid `stateDiagram-v2`, nothing else (pipe it into a `.mmd` file).
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// Checks a timeout in seconds (a flag, a variable or a profile file).
pub fn parse_timeout(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    check_timeout(secs)
}

/// Checks a timeout in seconds: more than 0, at most an hour.
pub fn check_timeout(secs: f64) -> Result<f64, String> {
    if !secs.is_finite() || secs <= 0.0 || secs > 3600.0 {
        return Err("the timeout must be more than 0 and at most 3600 seconds".into());
    }
    Ok(secs)
}

/// Whether the raw arguments (or `LOGINFLOW_OUTPUT`) ask for JSON output, for reporting a
/// parse error in the right format before clap has produced a [`Cli`].
pub fn wants_json(raw: &[std::ffi::OsString]) -> bool {
    let mut iter = raw.iter().filter_map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        if arg == "--output=json" {
            return true;
        }
        if arg == "--output=text" {
            return false;
        }
        if arg == "--output" {
            return iter.next() == Some("json");
        }
    }
    std::env::var(OUTPUT_ENV).is_ok_and(|v| v == "json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_global_id_is_a_global_argument() {
        let cmd = Cli::command();
        for (id, flag) in GLOBAL_IDS {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_id() == id)
                .unwrap_or_else(|| panic!("{id} is an argument"));
            assert!(arg.is_global_set(), "{id} is global");
            assert_eq!(arg.get_long().map(|l| format!("--{l}")), Some(flag.into()));
        }
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "loginflow",
            "--api",
            "cap",
            "--base-url",
            "http://127.0.0.1:1",
            "--output",
            "json",
            "login",
            "--username",
            "alice",
            "--password-stdin",
            "--scope",
            "a",
            "--scope",
            "b",
        ])
        .unwrap();
        assert_eq!(cli.global.api, Some(Api::Realm));
        assert_eq!(cli.global.output, OutputFormat::Json);
        let Command::Login(login) = cli.command else {
            panic!("login expected")
        };
        assert_eq!(login.credentials.scope, ["a", "b"]);
        let after = Cli::try_parse_from([
            "loginflow",
            "refresh",
            "--session",
            "f",
            "--timeout",
            "5",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(after.global.timeout, Some(5.0));
        assert_eq!(after.global.output, OutputFormat::Json);
    }

    #[test]
    fn subcommand_help_lists_the_global_flags_and_examples() {
        let mut cmd = Cli::command();
        // Global flags propagate to subcommands when the command is built.
        cmd.build();
        let login = cmd
            .find_subcommand_mut("login")
            .expect("login")
            .render_long_help()
            .to_string();
        for flag in [
            "--api",
            "--base-url",
            "--realm",
            "--client-id",
            "--server-key",
        ] {
            assert!(login.contains(flag), "{flag} in login --help");
        }
        assert!(login.contains("Examples:"), "{login}");
        assert!(login.contains("LOGINFLOW_BASE_URL"), "{login}");
    }

    #[test]
    fn secrets_are_not_flags() {
        for flag in ["--password", "--client-secret", "--new-password"] {
            let r = Cli::try_parse_from([
                "loginflow",
                "login",
                "--username",
                "u",
                "--password-stdin",
                flag,
                "x",
            ]);
            assert!(r.is_err(), "{flag} must not exist");
        }
    }

    #[test]
    fn password_stdin_is_optional_and_timeout_checked() {
        assert!(Cli::try_parse_from(["loginflow", "login", "--username", "u"]).is_ok());
        assert!(Cli::try_parse_from(["loginflow", "--timeout", "0", "diagram"]).is_err());
        assert!(Cli::try_parse_from(["loginflow", "--timeout", "nan", "diagram"]).is_err());
        assert!(Cli::try_parse_from(["loginflow", "--timeout", "1.5", "diagram"]).is_ok());
    }

    #[test]
    fn api_names_parse_into_login_core_apis() {
        let api = |name: &str| Cli::try_parse_from(["loginflow", "--api", name, "diagram"]);
        assert_eq!(api("cap").unwrap().global.api, Some(Api::Realm));
        assert_eq!(api("realm").unwrap().global.api, Some(Api::Realm));
        assert_eq!(api("ciam").unwrap().global.api, Some(Api::Ciam));
        assert!(api("forgot_password").is_err());
        assert_eq!(api_flag(Api::Realm), "cap");
        assert_eq!(api_flag(Api::Ciam), "ciam");
    }

    #[test]
    fn json_is_detected_in_raw_args() {
        let raw = |v: &[&str]| {
            v.iter()
                .map(Into::into)
                .collect::<Vec<std::ffi::OsString>>()
        };
        assert!(wants_json(&raw(&[
            "loginflow",
            "--output",
            "json",
            "bogus"
        ])));
        assert!(wants_json(&raw(&["loginflow", "--output=json"])));
        assert!(!wants_json(&raw(&["loginflow", "--output", "text"])));
    }
}
