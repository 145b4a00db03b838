//! From flags, environment variables and a profile file to the [`Settings`] of a run; from
//! those (or a session or pending file) to an [`Endpoint`], login-core's [`Profile`], the
//! secrets a login sends ([`LoginConfig`]) and a transport. The API is chosen once, here:
//! everything after holds a `Profile` or a `Bank` of the chosen kind.
//!
//! Precedence: a flag on the command line, else its `LOGINFLOW_*` environment variable, else
//! the profile file (`--profile FILE`), else the default. Two rules keep ambient configuration
//! from surprising anyone:
//!
//! - a session or pending file keeps the settings it was made with, and only flags **on the
//!   command line** override them: an exported `LOGINFLOW_BASE_URL` never sends a saved
//!   session's refresh token to another server;
//! - a setting of the other API is an error only when given as a flag; from the environment or
//!   a profile file it is ignored (one environment may serve both APIs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ArgMatches;
use clap::ValueEnum as _;
use clap::parser::ValueSource;
use login_core::action::Bank;
use login_core::ciam::{self, CiamConfig, CiamProfile};
use login_core::realm::{self, RealmConfig, RealmProfile};
use login_core::seal::JweSealer;
use login_core::secret::Password;
use login_core::table::Api;
use login_core::{Profile, Runner};
use login_transport::{TransportConfig, UreqTransport};
use serde::Deserialize;

use crate::args::{GLOBAL_IDS, GlobalArgs, OutputFormat, RoutesArg, api_flag};
use crate::error::CliError;
use crate::readings::ProfileReadings;
use crate::secret_input;
use crate::session::Endpoint;
use crate::tape::Tape;

/// The global settings of a run, resolved: flags over environment over profile file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which API.
    pub api: Option<Api>,
    /// The base URL.
    pub base_url: Option<String>,
    /// The output format.
    pub output: OutputFormat,
    /// Plain HTTP to a non-loopback host allowed.
    pub allow_http: bool,
    /// The call timeout in seconds.
    pub timeout: Option<f64>,
    /// Realm id.
    pub realm: Option<String>,
    /// Client id.
    pub client_id: Option<String>,
    /// The realm client secret's file.
    pub client_secret_file: Option<PathBuf>,
    /// The redirect URI.
    pub redirect_uri: Option<String>,
    /// The device token's file.
    pub device_token_file: Option<PathBuf>,
    /// The server key's file.
    pub server_key: Option<PathBuf>,
    /// The route set.
    pub routes: Option<RoutesArg>,
    /// Latitude.
    pub lat: Option<String>,
    /// Longitude.
    pub lon: Option<String>,
    /// Event id.
    pub event_id: Option<String>,
    /// The reading settings (profile file only: they have no flags).
    pub readings: ProfileReadings,
    /// `--record FILE`.
    pub record: Option<PathBuf>,
    /// `--replay FILE`.
    pub replay: Option<PathBuf>,
    /// The cassette `--record` or `--replay` opened (see [`crate::tape`]).
    pub tape: Tape,
    /// The flags given on the command line (`--base-url`, ...).
    explicit: BTreeSet<&'static str>,
}

impl Settings {
    /// The settings from parsed flags (`global`), where clap says each came from (`matches`),
    /// and the profile file when one is named.
    ///
    /// # Errors
    /// The profile file cannot be read or holds an unknown or bad setting.
    pub fn resolve(global: &GlobalArgs, matches: &ArgMatches) -> Result<Self, CliError> {
        let mut explicit = BTreeSet::new();
        let mut unset = BTreeSet::new();
        for (id, flag) in GLOBAL_IDS {
            match matches.value_source(id) {
                Some(ValueSource::CommandLine) => {
                    explicit.insert(flag);
                }
                Some(ValueSource::EnvVariable) => {}
                _ => {
                    unset.insert(flag);
                }
            }
        }
        let mut s = Self::from_args(global.clone(), explicit);
        if let Some(path) = &global.profile {
            let file = ProfileFile::read(path)?;
            s.fill_from(file, &unset)?;
        }
        s.tape = Tape::open(s.record.as_deref(), s.replay.as_deref(), s.api)?;
        Ok(s)
    }

    /// The settings of flags alone, every one counted as given on the command line (tests).
    #[cfg(test)]
    pub fn from_flags_only(global: GlobalArgs) -> Self {
        let mut explicit = BTreeSet::new();
        for (_, flag) in GLOBAL_IDS {
            explicit.insert(flag);
        }
        Self::from_args(global, explicit)
    }

    fn from_args(g: GlobalArgs, explicit: BTreeSet<&'static str>) -> Self {
        Self {
            api: g.api,
            base_url: g.base_url,
            output: g.output,
            allow_http: g.allow_http,
            timeout: g.timeout,
            realm: g.realm,
            client_id: g.client_id,
            client_secret_file: g.client_secret_file,
            redirect_uri: g.redirect_uri,
            device_token_file: g.device_token_file,
            server_key: g.server_key,
            routes: g.routes,
            lat: g.lat,
            lon: g.lon,
            event_id: g.event_id,
            readings: ProfileReadings::default(),
            record: g.record,
            replay: g.replay,
            tape: Tape::Off,
            explicit,
        }
    }

    /// Whether `flag` (`--base-url`) was given on the command line.
    pub fn given(&self, flag: &str) -> bool {
        self.explicit.contains(flag)
    }

    /// `--api`, when given on the command line.
    pub fn explicit_api(&self) -> Option<Api> {
        self.api.filter(|_| self.given("--api"))
    }

    /// Lays the profile file's values under the settings that neither a flag nor the
    /// environment gave (`unset`).
    fn fill_from(&mut self, f: ProfileFile, unset: &BTreeSet<&str>) -> Result<(), CliError> {
        let here = |flag: &str| unset.contains(flag);
        let bad = |key: &str, e: String| CliError::config(format!("profile file: {key}: {e}"));
        if let (true, Some(api)) = (here("--api"), f.api) {
            self.api = Some(crate::args::parse_api(&api).map_err(|e| bad("api", e))?);
        }
        if let (true, Some(v)) = (here("--base-url"), f.base_url) {
            self.base_url = Some(v);
        }
        if let (true, Some(v)) = (here("--output"), f.output) {
            self.output = OutputFormat::from_str(&v, false)
                .map_err(|_| bad("output", format!("{v:?} is not text or json")))?;
        }
        if let (true, Some(v)) = (here("--allow-http"), f.allow_http) {
            self.allow_http = v;
        }
        if let (true, Some(v)) = (here("--timeout"), f.timeout) {
            self.timeout = Some(crate::args::check_timeout(v).map_err(|e| bad("timeout", e))?);
        }
        if let (true, Some(v)) = (here("--realm"), f.realm) {
            self.realm = Some(v);
        }
        if let (true, Some(v)) = (here("--client-id"), f.client_id) {
            self.client_id = Some(v);
        }
        if let (true, Some(v)) = (here("--client-secret-file"), f.client_secret_file) {
            self.client_secret_file = Some(v);
        }
        if let (true, Some(v)) = (here("--redirect-uri"), f.redirect_uri) {
            self.redirect_uri = Some(v);
        }
        if let (true, Some(v)) = (here("--device-token-file"), f.device_token_file) {
            self.device_token_file = Some(v);
        }
        if let (true, Some(v)) = (here("--server-key"), f.server_key) {
            self.server_key = Some(v);
        }
        if let (true, Some(v)) = (here("--routes"), f.routes) {
            self.routes = Some(
                RoutesArg::from_str(&v, false)
                    .map_err(|_| bad("routes", format!("{v:?} is not gateway or service")))?,
            );
        }
        if let (true, Some(v)) = (here("--lat"), f.lat) {
            self.lat = Some(v.0);
        }
        if let (true, Some(v)) = (here("--lon"), f.lon) {
            self.lon = Some(v.0);
        }
        if let (true, Some(v)) = (here("--event-id"), f.event_id) {
            self.event_id = Some(v);
        }
        if let (true, Some(v)) = (here("--record"), f.record) {
            self.record = Some(v);
        }
        if let (true, Some(v)) = (here("--replay"), f.replay) {
            self.replay = Some(v);
        }
        self.readings = f.readings;
        Ok(())
    }
}

/// A profile file: the global settings under their flag names (`base-url`, `client-id`, ...),
/// and the reading settings ([`ProfileReadings`]), in JSON or TOML. Paths in it are relative
/// to the file's directory. Secrets have no key: a file names the files that hold them. Any
/// other key is refused ([`ProfileFile::read`]).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ProfileFile {
    api: Option<String>,
    base_url: Option<String>,
    output: Option<String>,
    allow_http: Option<bool>,
    timeout: Option<f64>,
    realm: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
    redirect_uri: Option<String>,
    device_token_file: Option<PathBuf>,
    server_key: Option<PathBuf>,
    routes: Option<String>,
    lat: Option<Degrees>,
    lon: Option<Degrees>,
    event_id: Option<String>,
    record: Option<PathBuf>,
    replay: Option<PathBuf>,
    #[serde(flatten)]
    readings: ProfileReadings,
    /// Keys neither of the above take (serde refuses none itself once a struct flattens).
    #[serde(flatten)]
    unknown: BTreeMap<String, serde::de::IgnoredAny>,
}

/// A coordinate written as a number or a string, kept as the text sent.
#[derive(Debug)]
struct Degrees(String);

impl<'de> Deserialize<'de> for Degrees {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(f64),
            Text(String),
        }
        Ok(Degrees(match Either::deserialize(d)? {
            Either::Number(n) => n.to_string(),
            Either::Text(t) => t,
        }))
    }
}

/// Keys a person might try that must never be in a profile file.
const SECRET_KEYS: [&str; 5] = [
    "client-secret",
    "password",
    "device-token",
    "otp",
    "new-password",
];

/// The largest profile file read.
const MAX_PROFILE_BYTES: u64 = 64 * 1024;

impl ProfileFile {
    fn read(path: &Path) -> Result<Self, CliError> {
        use std::io::Read as _;
        let unreadable = |e: &dyn std::fmt::Display| {
            CliError::config(format!(
                "cannot read the profile file {}: {e}",
                path.display()
            ))
        };
        let file = std::fs::File::open(path).map_err(|e| unreadable(&e))?;
        let mut text = String::new();
        file.take(MAX_PROFILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| unreadable(&e))?;
        if text.len() as u64 > MAX_PROFILE_BYTES {
            return Err(unreadable(&"larger than 64 KiB"));
        }
        let toml =
            path.extension().is_some_and(|e| e == "toml") || !text.trim_start().starts_with('{');
        let parsed: Result<Self, String> = if toml {
            toml::from_str(&text).map_err(|e| e.message().to_owned())
        } else {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        };
        let mut file = parsed
            .map_err(|e| CliError::config(format!("the profile file {}: {e}", path.display())))?;
        if let Some(key) = file
            .unknown
            .keys()
            .find(|k| SECRET_KEYS.contains(&k.as_str()))
        {
            return Err(CliError::config(format!(
                "the profile file {} has a `{key}`: secrets never go in a profile file \
                 (name a file that holds one, e.g. client-secret-file, or use \
                 LOGINFLOW_CLIENT_SECRET)",
                path.display()
            )));
        }
        if let Some(key) = file.unknown.keys().next() {
            return Err(CliError::config(format!(
                "the profile file {}: unknown key `{key}` (the keys are the global flags' names \
                 and the reading settings: see `loginflow --help`)",
                path.display()
            )));
        }
        // Paths in the file are relative to it, not to wherever the command runs.
        let dir = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut file.client_secret_file,
            &mut file.device_token_file,
            &mut file.server_key,
            &mut file.record,
            &mut file.replay,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(file)
    }
}

/// The endpoint and profile of a command run against a server, from the settings.
/// `scope` empty means the default (`openid`).
/// `default_api` stands in when `--api` is absent (forgot-password is realm-only);
/// `client_id_needed` is false for calls that send no client id.
pub fn from_flags(
    s: &Settings,
    scope: &[String],
    default_api: Option<Api>,
    client_id_needed: bool,
) -> Result<(Endpoint, Profile), CliError> {
    let api = s.api.or(default_api).ok_or_else(|| {
        CliError::usage("which API? pass --api cap (realm) or --api ciam (internet banking)")
    })?;
    let base_url = s
        .base_url
        .clone()
        .ok_or_else(|| CliError::usage("pass the server's base URL with --base-url URL"))?;
    let client_id = match (&s.client_id, client_id_needed) {
        (Some(id), _) => id.clone(),
        (None, false) => String::new(),
        (None, true) => return Err(CliError::usage("pass the client id with --client-id ID")),
    };
    let scope = if scope.is_empty() {
        vec!["openid".to_owned()]
    } else {
        scope.to_vec()
    };
    let endpoint = Endpoint {
        base_url,
        allow_http: s.allow_http,
        timeout_secs: s.timeout,
    };
    let profile = match api {
        Api::Ciam => {
            if (s.given("--realm") && s.realm.is_some())
                || (s.given("--client-secret-file") && s.client_secret_file.is_some())
            {
                return Err(CliError::usage(
                    "--realm and --client-secret-file belong to the realm API, not --api ciam",
                ));
            }
            let redirect_uri = s
                .redirect_uri
                .clone()
                .ok_or_else(|| CliError::usage("the ciam API needs --redirect-uri URI"))?;
            let mut profile = CiamProfile::new(client_id, redirect_uri)
                .routes(s.routes.unwrap_or(RoutesArg::Gateway).routes())
                .scope(&scope);
            match (&s.lat, &s.lon) {
                (Some(lat), Some(lon)) => profile = profile.location(lat.clone(), lon.clone()),
                (None, None) => {}
                _ => return Err(CliError::usage("pass --lat and --lon together")),
            }
            if let Some(event) = &s.event_id {
                profile = profile.event_id(event.clone());
            }
            Profile::from(s.readings.apply_ciam(profile)?)
        }
        // `--api` parses to the realm or the internet-banking API only.
        Api::Realm | Api::ForgotPassword => {
            let realm = s.realm.clone().ok_or_else(|| {
                CliError::usage("the realm API needs --realm ID (the seed's realm is `cap`)")
            })?;
            for (flag, given) in [
                ("--redirect-uri", s.redirect_uri.is_some()),
                ("--device-token-file", s.device_token_file.is_some()),
                ("--server-key", s.server_key.is_some()),
                ("--routes", s.routes.is_some()),
                ("--lat", s.lat.is_some()),
                ("--lon", s.lon.is_some()),
                ("--event-id", s.event_id.is_some()),
            ] {
                if given && s.given(flag) {
                    return Err(CliError::usage(format!(
                        "{flag} belongs to the ciam API, not --api cap"
                    )));
                }
            }
            Profile::from(
                s.readings
                    .apply_realm(RealmProfile::new(realm, client_id).scope(scope)),
            )
        }
    };
    Ok((endpoint, profile))
}

/// A saved (session or pending) file's endpoint and profile with the flags given on this
/// command line laid over them: `--base-url`, `--allow-http`, `--timeout`, `--client-id` and
/// `--routes`; `--api` must name the file's API. Values from the environment or a profile
/// file do not override a saved file (see the module docs).
pub fn with_overrides(
    mut endpoint: Endpoint,
    mut profile: Profile,
    s: &Settings,
) -> Result<(Endpoint, Profile), CliError> {
    if let Some(api) = s.explicit_api()
        && api != profile.api()
    {
        return Err(CliError::usage(format!(
            "--api {} does not match the session's API ({})",
            api_flag(api),
            api_flag(profile.api())
        )));
    }
    if let (true, Some(url)) = (s.given("--base-url"), &s.base_url) {
        endpoint.base_url = url.clone();
    }
    if s.given("--allow-http") && s.allow_http {
        endpoint.allow_http = true;
    }
    if s.given("--timeout") && s.timeout.is_some() {
        endpoint.timeout_secs = s.timeout;
    }
    if let (true, Some(id)) = (s.given("--client-id"), &s.client_id) {
        profile = profile.with_client_id(id.as_str());
    }
    if let (true, Some(routes), Profile::Ciam(p)) = (s.given("--routes"), s.routes, &profile) {
        profile = Profile::from(p.clone().routes(routes.routes()));
    }
    Ok((endpoint, profile))
}

/// The blocking transport for an endpoint.
pub fn transport(endpoint: &Endpoint) -> Result<UreqTransport, CliError> {
    let mut tc = TransportConfig::new(&endpoint.base_url)
        .map_err(|e| CliError::usage(format!("--base-url: {e}")))?
        .allow_http(endpoint.allow_http);
    if let Some(secs) = endpoint.timeout_secs {
        // A session file is untrusted: its timeout is checked like the flag's.
        let timeout = Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| CliError::config(format!("the timeout {secs} s is not usable")))?;
        tc = tc.call_timeout(timeout);
    }
    // Refused before any call when plain HTTP goes to a non-loopback host without
    // --allow-http: a configuration error, reported as such, in the CLI's words (the
    // transport's own message names its library call).
    if tc.check_url().is_err() {
        return Err(CliError::usage(format!(
            "plain HTTP to {} is refused; pass --allow-http for a test environment, or use https",
            origin(&endpoint.base_url)
        )));
    }
    UreqTransport::new(tc).map_err(|e| CliError::config(e.to_string()))
}

/// `url` without its user info, query and fragment: safe to print (a query or user info may
/// hold a credential).
pub fn shown_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// The scheme, host and port of `url` (no user info, path or query).
pub fn origin(url: &str) -> String {
    let shown = shown_url(url);
    match shown.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or_default();
            format!("{scheme}://{host}")
        }
        None => shown,
    }
}

/// The URL a request to `path` goes to: the base URL (shown) joined with the path, without
/// any query.
pub fn call_url(base_url: &str, path: &str) -> String {
    let base = shown_url(base_url);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// A profile with the secrets a login sends (the realm client secret; the device token and
/// the server's key to seal the credentials to). Refresh, revoke and forgot-password need none
/// of them: they run on the [`Profile`] alone.
#[expect(
    clippy::large_enum_variant,
    reason = "one per command, built once and borrowed: boxing buys nothing"
)]
pub enum LoginConfig {
    /// The realm API.
    Realm(RealmConfig),
    /// The internet-banking API, with the sealer for the credentials.
    Ciam(CiamConfig, JweSealer),
}

/// A server key read from a file: the sealer, and the JWK text (public, kept in pending
/// files so a paused captcha login seals with the same key).
pub fn server_key(path: Option<&Path>) -> Result<(JweSealer, String), CliError> {
    let key_path = path.ok_or_else(|| {
        CliError::usage(
            "the ciam API needs the server's public key: pass --server-key F (a JWK file)",
        )
    })?;
    let jwk = std::fs::read_to_string(key_path).map_err(|e| {
        CliError::config(format!(
            "cannot read the server key {}: {e}",
            key_path.display()
        ))
    })?;
    let sealer = JweSealer::from_jwk(&jwk)
        .map_err(|e| CliError::config(format!("--server-key {}: {e}", key_path.display())))?;
    Ok((sealer, jwk))
}

impl LoginConfig {
    /// Reads the secrets `profile`'s API needs for a login (files, the environment).
    pub fn read(s: &Settings, profile: &Profile) -> Result<Self, CliError> {
        match profile {
            Profile::Realm(p) => {
                let secret = secret_input::client_secret(s.client_secret_file.as_deref())?;
                Ok(Self::Realm(RealmConfig::from_profile(p.clone(), secret)))
            }
            Profile::Ciam(p) => {
                let device = secret_input::device_token(s.device_token_file.as_deref())?;
                let (sealer, _) = server_key(s.server_key.as_deref())?;
                Ok(Self::Ciam(
                    CiamConfig::from_profile(p.clone(), device),
                    sealer,
                ))
            }
        }
    }

    /// The bank side of the login's steps.
    pub fn bank(&self) -> Bank<'_> {
        match self {
            Self::Realm(cfg) => Bank::Realm(cfg),
            Self::Ciam(cfg, sealer) => Bank::Ciam(cfg, sealer),
        }
    }

    /// The runner of a login as `username`.
    pub fn runner(&self, username: &str, password: Password) -> Runner {
        match self {
            Self::Realm(_) => Runner::login(realm::Start::new(username, password)),
            Self::Ciam(..) => Runner::ciam_login(ciam::Credentials::new(username, password)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Cli;
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};
    use login_core::Response;
    use login_core::ciam::{Credentials, Start};
    use login_core::entropy::{DeterministicEntropy, Entropy};
    use login_core::seal::CredentialSealer;
    use login_core::secret::{DeviceToken, FlowSecret, Password};

    fn flags(args: &[&str]) -> Settings {
        let cli = Cli::try_parse_from(args).expect("flags parse");
        Settings::from_flags_only(cli.global)
    }

    /// Settings as `run` resolves them: with the sources clap reports.
    fn resolved(args: &[&str]) -> Result<Settings, CliError> {
        let matches = Cli::command()
            .try_get_matches_from(args)
            .expect("flags parse");
        let cli = Cli::from_arg_matches(&matches).expect("matches");
        Settings::resolve(&cli.global, &matches)
    }

    /// A saved session's settings take this run's flags; `--api` must match.
    #[test]
    fn session_overrides_replace_client_id_routes_and_timeout() {
        let s = flags(&[
            "loginflow",
            "--client-id",
            "other",
            "--routes",
            "service",
            "--timeout",
            "5",
            "diagram",
        ]);
        let endpoint = Endpoint {
            base_url: "http://127.0.0.1:9".into(),
            allow_http: false,
            timeout_secs: None,
        };
        let profile = Profile::from(CiamProfile::new("ib", "https://app.example/cb").event_id("e"));
        let (endpoint, profile) = with_overrides(endpoint, profile, &s).expect("overrides");
        assert_eq!(endpoint.timeout_secs, Some(5.0));
        let Profile::Ciam(p) = &profile else {
            panic!("a ciam profile")
        };
        assert_eq!(p.client_id(), "other");
        assert_eq!(p.route_set(), &login_core::ciam::Routes::service());
        assert_eq!(p.event_id_value(), Some("e"), "other settings are kept");
        let cap = flags(&["loginflow", "--api", "cap", "diagram"]);
        let e = with_overrides(endpoint, profile, &cap).expect_err("another API");
        assert!(e.message().contains("does not match"), "{}", e.message());
    }

    /// Flags after the subcommand count as given on the command line.
    #[test]
    fn flags_after_the_subcommand_are_explicit() {
        let s = resolved(&["loginflow", "diagram", "--api", "ciam", "--timeout", "2"]).unwrap();
        assert!(s.given("--api") && s.given("--timeout"));
        assert_eq!(s.explicit_api(), Some(Api::Ciam));
        assert!(!s.given("--base-url"));
    }

    /// A profile file fills what flags did not give; relative paths are the file's.
    #[test]
    fn profile_file_is_under_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("bank.toml");
        std::fs::write(
            &toml,
            "api = \"ciam\"\nbase-url = \"http://127.0.0.1:9\"\nclient-id = \"ib\"\n\
             redirect-uri = \"https://app.example/cb\"\ndevice-token-file = \"device\"\n\
             lat = 13.75\nlon = \"100.5\"\ntimeout = 4\noutput = \"json\"\n",
        )
        .unwrap();
        let path = toml.display().to_string();
        let s = resolved(&[
            "loginflow",
            "--profile",
            &path,
            "--client-id",
            "flag",
            "diagram",
        ])
        .unwrap();
        assert_eq!(s.api, Some(Api::Ciam));
        assert_eq!(s.client_id.as_deref(), Some("flag"), "the flag wins");
        assert_eq!(s.timeout, Some(4.0));
        assert_eq!(s.output, OutputFormat::Json);
        assert_eq!(s.lat.as_deref(), Some("13.75"));
        assert_eq!(s.device_token_file, Some(dir.path().join("device")));
        assert!(!s.given("--api"), "from the file, not the command line");

        let json = dir.path().join("bank.json");
        std::fs::write(&json, r#"{"api":"cap","realm":"cap","client-secret":"x"}"#).unwrap();
        let e = resolved(&[
            "loginflow",
            "--profile",
            &json.display().to_string(),
            "diagram",
        ])
        .unwrap_err();
        assert!(e.message().contains("secrets never go"), "{}", e.message());
        std::fs::write(&json, r#"{"api":"cap","bogus":1}"#).unwrap();
        let e = resolved(&[
            "loginflow",
            "--profile",
            &json.display().to_string(),
            "diagram",
        ])
        .unwrap_err();
        assert!(e.message().contains("bogus"), "{}", e.message());
    }

    /// `record` and `replay` come from a profile file too (relative to it), and never both.
    #[test]
    fn cassettes_come_from_the_profile_file_and_exclude_each_other() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bob.jsonl"),
            "{\"cassette\":1,\"createdBy\":\"test\"}\n",
        )
        .unwrap();
        let profile = dir.path().join("bank.toml");
        std::fs::write(&profile, "replay = \"bob.jsonl\"\n").unwrap();
        let path = profile.display().to_string();
        let s = resolved(&["loginflow", "--profile", &path, "diagram"]).unwrap();
        assert_eq!(s.replay, Some(dir.path().join("bob.jsonl")));
        assert!(matches!(s.tape, Tape::Replay(_)), "{:?}", s.tape);
        let record = dir.path().join("new.jsonl").display().to_string();
        let e = resolved(&[
            "loginflow",
            "--profile",
            &path,
            "--record",
            &record,
            "diagram",
        ])
        .unwrap_err();
        assert!(
            e.message().contains("cannot be used together"),
            "{}",
            e.message()
        );
        assert!(!dir.path().join("new.jsonl").exists(), "nothing created");
        let s = resolved(&["loginflow", "--record", &record, "diagram"]).unwrap();
        assert!(matches!(s.tape, Tape::Record(_)));
        let header = std::fs::read_to_string(dir.path().join("new.jsonl")).unwrap();
        assert!(header.starts_with("{\"cassette\":1,"), "{header}");
    }

    #[test]
    fn urls_are_shown_without_user_info_or_query() {
        assert_eq!(
            shown_url("https://u:pw@bank.example:8443/x/y?token=1#f"),
            "https://bank.example:8443/x/y"
        );
        assert_eq!(origin("http://u@h:1/a/b?q"), "http://h:1");
        assert_eq!(
            call_url("http://h:1/base/", "/auth/x?code=1"),
            "http://h:1/base/auth/x"
        );
    }

    #[test]
    fn plain_http_is_refused_in_the_clis_words() {
        let endpoint = Endpoint {
            base_url: "http://bank.example.invalid/x".into(),
            allow_http: false,
            timeout_secs: None,
        };
        let Err(e) = transport(&endpoint) else {
            panic!("refused")
        };
        let m = e.message();
        assert!(
            m.contains("--allow-http") && !m.contains("allow_http("),
            "{m}"
        );
        assert!(
            m.contains("http://bank.example.invalid") && !m.contains("k=v"),
            "{m}"
        );
    }

    /// The internet-banking configuration the flags make, with a test device token.
    fn internet_banking_config(s: &Settings) -> CiamConfig {
        let (_, profile) = from_flags(s, &[], None, true).expect("valid flags");
        let Profile::Ciam(profile) = profile else {
            panic!("a ciam profile")
        };
        CiamConfig::from_profile(profile, DeviceToken::new("device"))
    }

    struct Unsealed;
    impl CredentialSealer for Unsealed {
        fn seal(&self, _: &[u8], _: &mut dyn Entropy) -> Result<FlowSecret, login_core::Error> {
            Ok(FlowSecret::new("jwe"))
        }
    }

    fn header<'a>(req: &'a login_core::Request, name: &str) -> Option<&'a str> {
        req.headers()
            .iter()
            .find(|h| h.name() == name)
            .map(|h| h.value())
    }

    /// `--routes`, `--lat`/`--lon` and `--event-id` end up in the requests the engine emits.
    #[test]
    fn routes_location_and_event_flags_reach_the_wire() {
        let s = flags(&[
            "loginflow",
            "--api",
            "ciam",
            "--base-url",
            "http://127.0.0.1:9",
            "--client-id",
            "ib",
            "--redirect-uri",
            "https://app.example/cb",
            "--device-token-file",
            "/dev/null",
            "--server-key",
            "/dev/null",
            "--routes",
            "service",
            "--lat",
            "13.75",
            "--lon",
            "100.5",
            "--event-id",
            "ev-9",
            "diagram",
        ]);
        let ciam = internet_banking_config(&s);
        let mut rng = DeterministicEntropy::new(1);

        let (req, pending) = Start::new(&mut rng).expect("entropy").authorize(&ciam);
        assert_eq!(req.path(), "/ciamauthsrvc/internetBanking/oauth/authorize");
        assert_eq!(header(&req, "locLatitude"), Some("13.75"));
        assert_eq!(header(&req, "locLongitude"), Some("100.5"));
        assert_eq!(
            header(&req, "eventId"),
            None,
            "authorize's row lists no eventId"
        );

        let reply = Response::new(200, br#"{"loginChallenge":"lc","authToken":"at"}"#.to_vec());
        let authorized = pending
            .receive(&reply, std::time::SystemTime::now())
            .expect("authorized");
        let creds = Credentials::new("alice", Password::new("pw"));
        let (req, _) = authorized
            .submit_credentials(
                &ciam,
                &Unsealed,
                &creds,
                &mut rng,
                std::time::SystemTime::now(),
            )
            .map_err(|f| f.error)
            .expect("request");
        assert_eq!(
            req.path(),
            "/ciamauthsrvc/internetBanking/oauth/acceptLoginChallenge"
        );
        assert_eq!(header(&req, "eventId"), Some("ev-9"));
        assert_eq!(header(&req, "locLatitude"), Some("13.75"));
    }

    #[test]
    fn gateway_routes_and_no_optional_headers_by_default() {
        let s = flags(&[
            "loginflow",
            "--api",
            "ciam",
            "--base-url",
            "http://127.0.0.1:9",
            "--client-id",
            "ib",
            "--redirect-uri",
            "https://app.example/cb",
            "--device-token-file",
            "/dev/null",
            "--server-key",
            "/dev/null",
            "diagram",
        ]);
        let ciam = internet_banking_config(&s);
        let (req, _) = Start::new(&mut DeterministicEntropy::new(1))
            .expect("entropy")
            .authorize(&ciam);
        assert_eq!(req.path(), "/api/v1/authorize");
        assert_eq!(header(&req, "locLatitude"), None);
    }
}
