//! From flags (or a session file) to an [`Endpoint`], login-core's [`Profile`], the secrets a
//! login sends ([`LoginConfig`]) and a transport. The API is chosen once, here: everything
//! after holds a `Profile` or a `Bank` of the chosen kind.

use std::time::Duration;

use login_core::action::Bank;
use login_core::ciam::{self, CiamConfig, CiamProfile};
use login_core::realm::{self, RealmConfig, RealmProfile};
use login_core::seal::JweSealer;
use login_core::secret::Password;
use login_core::table::Api;
use login_core::{Profile, Runner};
use login_transport::{TransportConfig, UreqTransport};

use crate::args::{Cli, RoutesArg, api_flag};
use crate::error::CliError;
use crate::secret_input;
use crate::session::Endpoint;

/// The endpoint and profile of a command run against a server, from the global flags.
/// `scope` empty means the default (`openid`).
/// `default_api` stands in when `--api` is absent (forgot-password is realm-only);
/// `client_id_needed` is false for calls that send no client id.
pub fn from_flags(
    cli: &Cli,
    scope: &[String],
    default_api: Option<Api>,
    client_id_needed: bool,
) -> Result<(Endpoint, Profile), CliError> {
    let api = cli.api.or(default_api).ok_or_else(|| {
        CliError::usage("which API? pass --api cap (realm) or --api ciam (internet banking)")
    })?;
    let base_url = cli
        .base_url
        .clone()
        .ok_or_else(|| CliError::usage("pass the server's base URL with --base-url URL"))?;
    let client_id = match (&cli.client_id, client_id_needed) {
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
        allow_http: cli.allow_http,
        timeout_secs: cli.timeout,
    };
    let profile = match api {
        Api::Ciam => {
            if cli.realm.is_some() || cli.client_secret_file.is_some() {
                return Err(CliError::usage(
                    "--realm and --client-secret-file belong to the realm API, not --api ciam",
                ));
            }
            let redirect_uri = cli
                .redirect_uri
                .clone()
                .ok_or_else(|| CliError::usage("the ciam API needs --redirect-uri URI"))?;
            let mut profile = CiamProfile::new(client_id, redirect_uri)
                .routes(cli.routes.unwrap_or(RoutesArg::Gateway).routes())
                .scope(&scope);
            match (&cli.lat, &cli.lon) {
                (Some(lat), Some(lon)) => profile = profile.location(lat.clone(), lon.clone()),
                (None, None) => {}
                _ => return Err(CliError::usage("pass --lat and --lon together")),
            }
            if let Some(event) = &cli.event_id {
                profile = profile.event_id(event.clone());
            }
            Profile::from(profile)
        }
        // `--api` parses to the realm or the internet-banking API only.
        Api::Realm | Api::ForgotPassword => {
            let realm = cli.realm.clone().ok_or_else(|| {
                CliError::usage("the realm API needs --realm ID (the seed's realm is `cap`)")
            })?;
            for (flag, given) in [
                ("--redirect-uri", cli.redirect_uri.is_some()),
                ("--device-token-file", cli.device_token_file.is_some()),
                ("--server-key", cli.server_key.is_some()),
                ("--routes", cli.routes.is_some()),
                ("--lat", cli.lat.is_some()),
                ("--lon", cli.lon.is_some()),
                ("--event-id", cli.event_id.is_some()),
            ] {
                if given {
                    return Err(CliError::usage(format!(
                        "{flag} belongs to the ciam API, not --api cap"
                    )));
                }
            }
            Profile::from(RealmProfile::new(realm, client_id).scope(scope))
        }
    };
    Ok((endpoint, profile))
}

/// A saved session's endpoint and profile with the global flags given on this run laid over
/// them: `--base-url`, `--allow-http`, `--timeout`, `--client-id` and `--routes`; `--api` must
/// name the session's API.
pub fn with_overrides(
    mut endpoint: Endpoint,
    mut profile: Profile,
    cli: &Cli,
) -> Result<(Endpoint, Profile), CliError> {
    if let Some(api) = cli.api
        && api != profile.api()
    {
        return Err(CliError::usage(format!(
            "--api {} does not match the session's API ({})",
            api_flag(api),
            api_flag(profile.api())
        )));
    }
    if let Some(url) = &cli.base_url {
        endpoint.base_url = url.clone();
    }
    if cli.allow_http {
        endpoint.allow_http = true;
    }
    if cli.timeout.is_some() {
        endpoint.timeout_secs = cli.timeout;
    }
    if let Some(id) = &cli.client_id {
        profile = profile.with_client_id(id.as_str());
    }
    if let (Some(routes), Profile::Ciam(p)) = (cli.routes, &profile) {
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
    // --allow-http: a configuration error, reported as such.
    tc.check_url().map_err(|e| CliError::usage(e.detail))?;
    UreqTransport::new(tc).map_err(|e| CliError::config(e.to_string()))
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

impl LoginConfig {
    /// Reads the secrets `profile`'s API needs for a login (files, the environment).
    pub fn read(cli: &Cli, profile: &Profile) -> Result<Self, CliError> {
        match profile {
            Profile::Realm(p) => {
                let secret = secret_input::client_secret(cli.client_secret_file.as_deref())?;
                Ok(Self::Realm(RealmConfig::from_profile(p.clone(), secret)))
            }
            Profile::Ciam(p) => {
                let device = secret_input::device_token(cli.device_token_file.as_deref())?;
                let key_path = cli.server_key.as_deref().ok_or_else(|| {
                    CliError::usage(
                        "the ciam API needs the server's public key: pass --server-key F (a JWK \
                         file)",
                    )
                })?;
                let jwk = std::fs::read_to_string(key_path).map_err(|e| {
                    CliError::config(format!(
                        "cannot read the server key {}: {e}",
                        key_path.display()
                    ))
                })?;
                let sealer = JweSealer::from_jwk(&jwk).map_err(|e| {
                    CliError::config(format!("--server-key {}: {e}", key_path.display()))
                })?;
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
    use clap::Parser;
    use login_core::Response;
    use login_core::ciam::{Credentials, Start};
    use login_core::entropy::{DeterministicEntropy, Entropy};
    use login_core::seal::CredentialSealer;
    use login_core::secret::{DeviceToken, FlowSecret, Password};

    /// A saved session's settings take this run's flags; `--api` must match.
    #[test]
    fn session_overrides_replace_client_id_routes_and_timeout() {
        let cli = Cli::try_parse_from([
            "loginflow",
            "--client-id",
            "other",
            "--routes",
            "service",
            "--timeout",
            "5",
            "diagram",
        ])
        .expect("flags parse");
        let endpoint = Endpoint {
            base_url: "http://127.0.0.1:9".into(),
            allow_http: false,
            timeout_secs: None,
        };
        let profile = Profile::from(CiamProfile::new("ib", "https://app.example/cb").event_id("e"));
        let (endpoint, profile) = with_overrides(endpoint, profile, &cli).expect("overrides");
        assert_eq!(endpoint.timeout_secs, Some(5.0));
        let Profile::Ciam(p) = &profile else {
            panic!("a ciam profile")
        };
        assert_eq!(p.client_id(), "other");
        assert_eq!(p.route_set(), &login_core::ciam::Routes::service());
        assert_eq!(p.event_id_value(), Some("e"), "other settings are kept");
        let cap = Cli::try_parse_from(["loginflow", "--api", "cap", "diagram"]).expect("flags");
        let e = with_overrides(endpoint, profile, &cap).expect_err("another API");
        assert!(e.message().contains("does not match"), "{}", e.message());
    }

    /// The internet-banking configuration the flags make, with a test device token.
    fn internet_banking_config(cli: &Cli) -> CiamConfig {
        let (_, profile) = from_flags(cli, &[], None, true).expect("valid flags");
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
        let cli = Cli::try_parse_from([
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
        ])
        .expect("flags parse");
        let ciam = internet_banking_config(&cli);
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
        let cli = Cli::try_parse_from([
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
        ])
        .expect("flags parse");
        let ciam = internet_banking_config(&cli);
        let (req, _) = Start::new(&mut DeterministicEntropy::new(1))
            .expect("entropy")
            .authorize(&ciam);
        assert_eq!(req.path(), "/api/v1/authorize");
        assert_eq!(header(&req, "locLatitude"), None);
    }
}
