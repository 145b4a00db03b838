//! The command-line interface, exactly as issue 5 gives it: global flags before the
//! subcommand, one subcommand per flow. Secrets are never flag values: the password comes from
//! stdin, the client secret from the environment or a file, the device token and the server key
//! from files.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use login_core::ciam::Routes;
use login_core::table::Api;

/// The environment variable that holds the realm API's client secret.
pub const CLIENT_SECRET_ENV: &str = "LOGINFLOW_CLIENT_SECRET";

/// loginflow: log in to the realm and internet-banking bank APIs, or watch every flow run
/// against the built-in sandbox with `loginflow demo`.
#[derive(Debug, Parser)]
#[command(
    name = "loginflow",
    version,
    after_help = "Exit codes: 0 success; 1 the server answered with an error status; 2 usage or \
                  configuration error; 3 transport failure or an unusable answer.\n\
                  Start with `loginflow demo`: every flow of both APIs against a built-in sandbox."
)]
pub struct Cli {
    /// Which API: `cap` (the realm API) or `ciam` (internet banking).
    #[arg(long, value_name = "API", value_parser = api_parser())]
    pub api: Option<Api>,
    /// The API's base URL. Loopback `http:` URLs need no `--allow-http`.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Output format: human-readable text, or exactly one JSON object on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Allow plain `http:` to a host that is not loopback (test environments only).
    #[arg(long)]
    pub allow_http: bool,
    /// Bound on each HTTP call, in seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<f64>,
    /// Realm id (`cap` API).
    #[arg(long, value_name = "ID")]
    pub realm: Option<String>,
    /// Client id (both APIs).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// File holding the realm client secret (else the environment variable
    /// `LOGINFLOW_CLIENT_SECRET`).
    #[arg(long, value_name = "F")]
    pub client_secret_file: Option<PathBuf>,
    /// Redirect URI (`ciam` API).
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// File holding the device identity token (`ciam` API).
    #[arg(long, value_name = "F")]
    pub device_token_file: Option<PathBuf>,
    /// The server's credential-encryption public key, a P-256 JWK file (`ciam` API).
    #[arg(long, value_name = "F")]
    pub server_key: Option<PathBuf>,
    /// Route set of the `ciam` API.
    #[arg(long, value_enum)]
    pub routes: Option<RoutesArg>,
    /// Latitude sent as `locLatitude` (`ciam` API).
    #[arg(long, value_name = "DEG", allow_hyphen_values = true)]
    pub lat: Option<String>,
    /// Longitude sent as `locLongitude` (`ciam` API).
    #[arg(long, value_name = "DEG", allow_hyphen_values = true)]
    pub lon: Option<String>,
    /// Event id sent as `eventId` (`ciam` API).
    #[arg(long, value_name = "ID")]
    pub event_id: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in; with `--save-session` write the session for `refresh` and `revoke`.
    Login(LoginArgs),
    /// Refresh a saved session and rewrite its file with the rotated tokens.
    Refresh(RefreshArgs),
    /// Revoke a saved session (realm: local only, nothing is sent).
    Revoke(RevokeArgs),
    /// Reset a password with an OTP (realm API only).
    ForgotPassword(ForgotPasswordArgs),
    /// Print the state diagram of every flow.
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
    #[arg(long, value_name = "U")]
    pub username: String,
    /// Read the password from stdin (one line; the line ending is not part of it).
    #[arg(long, required = true)]
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
    /// Write the session (a versioned snapshot, mode 0600, atomically) to this file.
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
    #[arg(long, value_name = "FILE")]
    pub session: PathBuf,
    /// Print the access and refresh tokens.
    #[arg(long)]
    pub show_tokens: bool,
}

/// `revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The session file written by `login --save-session`; rewritten as revoked.
    #[arg(long, value_name = "FILE")]
    pub session: PathBuf,
}

/// `forgot-password`.
#[derive(Debug, Args)]
pub struct ForgotPasswordArgs {
    /// The user name.
    #[arg(long, value_name = "U")]
    pub username: String,
    /// The OTP sent for the reset (without it: a prompt on a TTY, else an error).
    #[arg(long, value_name = "CODE")]
    pub otp: Option<String>,
    /// Read the new password from stdin (one line; the line ending is not part of it).
    #[arg(long, required = true)]
    pub new_password_stdin: bool,
}

/// `diagram`.
#[derive(Debug, Args)]
pub struct DiagramArgs {
    /// Mermaid (one `stateDiagram-v2` per API) or Graphviz DOT.
    #[arg(long, value_enum, default_value_t = DiagramFormat::Mermaid)]
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
    /// Mermaid `stateDiagram-v2`.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > 3600.0 {
        return Err("the timeout must be more than 0 and at most 3600 seconds".into());
    }
    Ok(secs)
}

/// Whether the raw arguments ask for JSON output, for reporting a parse error in the right
/// format before clap has produced a [`Cli`].
pub fn wants_json(raw: &[std::ffi::OsString]) -> bool {
    let mut iter = raw.iter().filter_map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        if arg == "--output=json" {
            return true;
        }
        if arg == "--output" {
            return iter.next() == Some("json");
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_come_before_the_subcommand() {
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
        assert_eq!(cli.api, Some(Api::Realm));
        assert_eq!(cli.output, OutputFormat::Json);
        let Command::Login(login) = cli.command else {
            panic!("login expected")
        };
        assert_eq!(login.scope, ["a", "b"]);
        // Global flags are not accepted after the subcommand.
        assert!(
            Cli::try_parse_from(["loginflow", "diagram", "--api", "cap"]).is_err(),
            "global flag after subcommand"
        );
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
    fn password_stdin_is_required_and_timeout_checked() {
        assert!(Cli::try_parse_from(["loginflow", "login", "--username", "u"]).is_err());
        assert!(Cli::try_parse_from(["loginflow", "--timeout", "0", "diagram"]).is_err());
        assert!(Cli::try_parse_from(["loginflow", "--timeout", "nan", "diagram"]).is_err());
        assert!(Cli::try_parse_from(["loginflow", "--timeout", "1.5", "diagram"]).is_ok());
    }

    #[test]
    fn api_names_parse_into_login_core_apis() {
        let api = |name: &str| Cli::try_parse_from(["loginflow", "--api", name, "diagram"]);
        assert_eq!(api("cap").unwrap().api, Some(Api::Realm));
        assert_eq!(api("realm").unwrap().api, Some(Api::Realm));
        assert_eq!(api("ciam").unwrap().api, Some(Api::Ciam));
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
