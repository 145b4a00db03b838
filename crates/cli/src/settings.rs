//! From flags (or a session file) to the engine's configurations and a transport.

use std::time::Duration;

use login_core::ciam::{CiamConfig, Routes};
use login_core::realm::RealmConfig;
use login_core::secret::{ClientSecret, DeviceToken};
use login_transport::{TransportConfig, UreqTransport};

use crate::args::{ApiArg, Cli, RoutesArg};
use crate::output::CliError;
use crate::session::SessionConfig;

/// The non-secret configuration of a command run against a server, from the global flags.
/// `scope` empty means the default (`openid`).
/// `default_api` stands in when `--api` is absent (forgot-password is realm-only);
/// `client_id_needed` is false for calls that send no client id.
pub fn from_flags(
    cli: &Cli,
    scope: &[String],
    default_api: Option<ApiArg>,
    client_id_needed: bool,
) -> Result<SessionConfig, CliError> {
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
    let mut cfg = SessionConfig {
        api: api.as_str().to_owned(),
        base_url,
        allow_http: cli.allow_http,
        timeout_secs: cli.timeout,
        realm: None,
        client_id,
        redirect_uri: None,
        routes: None,
        scope,
        lat: None,
        lon: None,
        event_id: None,
    };
    match api {
        ApiArg::Cap => {
            cfg.realm = Some(cli.realm.clone().ok_or_else(|| {
                CliError::usage("the realm API needs --realm ID (the seed's realm is `cap`)")
            })?);
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
        }
        ApiArg::Ciam => {
            if cli.realm.is_some() || cli.client_secret_file.is_some() {
                return Err(CliError::usage(
                    "--realm and --client-secret-file belong to the realm API, not --api ciam",
                ));
            }
            cfg.redirect_uri = Some(
                cli.redirect_uri
                    .clone()
                    .ok_or_else(|| CliError::usage("the ciam API needs --redirect-uri URI"))?,
            );
            cfg.routes = Some(cli.routes.unwrap_or(RoutesArg::Gateway).as_str().to_owned());
            if cli.lat.is_some() != cli.lon.is_some() {
                return Err(CliError::usage("pass --lat and --lon together"));
            }
            cfg.lat = cli.lat.clone();
            cfg.lon = cli.lon.clone();
            cfg.event_id = cli.event_id.clone();
        }
    }
    Ok(cfg)
}

/// A session's configuration with the global flags given on this run laid over it.
pub fn with_overrides(mut cfg: SessionConfig, cli: &Cli) -> Result<SessionConfig, CliError> {
    if let Some(api) = cli.api {
        if api.as_str() != cfg.api {
            return Err(CliError::usage(format!(
                "--api {} does not match the session's API ({})",
                api.as_str(),
                cfg.api
            )));
        }
    }
    if let Some(url) = &cli.base_url {
        cfg.base_url = url.clone();
    }
    if cli.allow_http {
        cfg.allow_http = true;
    }
    if cli.timeout.is_some() {
        cfg.timeout_secs = cli.timeout;
    }
    if let Some(id) = &cli.client_id {
        cfg.client_id = id.clone();
    }
    if let Some(routes) = cli.routes {
        cfg.routes = Some(routes.as_str().to_owned());
    }
    Ok(cfg)
}

/// The blocking transport for a configuration.
pub fn transport(cfg: &SessionConfig) -> Result<UreqTransport, CliError> {
    let mut tc = TransportConfig::new(&cfg.base_url)
        .map_err(|e| CliError::usage(format!("--base-url: {e}")))?
        .allow_http(cfg.allow_http);
    if let Some(secs) = cfg.timeout_secs {
        tc = tc.call_timeout(Duration::from_secs_f64(secs));
    }
    // Refused before any call when plain HTTP goes to a non-loopback host without
    // --allow-http: a configuration error, reported as such.
    tc.check_url().map_err(|e| CliError::usage(e.detail))?;
    UreqTransport::new(tc).map_err(|e| CliError::config(e.to_string()))
}

/// The realm configuration. Refresh sends no client secret, so a session run passes an empty
/// one (it is never sent).
pub fn realm_config(cfg: &SessionConfig, secret: ClientSecret) -> RealmConfig {
    RealmConfig::new(
        cfg.realm.clone().unwrap_or_default(),
        cfg.client_id.clone(),
        secret,
    )
    .scope(cfg.scope.clone())
}

/// The internet-banking configuration. Refresh and revoke send no device token, so a session
/// run passes an empty one (it is never sent).
pub fn ciam_config(cfg: &SessionConfig, device_token: DeviceToken) -> CiamConfig {
    let routes = match cfg.routes.as_deref() {
        Some("service") => Routes::service(),
        _ => Routes::gateway(),
    };
    let mut c = CiamConfig::new(
        cfg.client_id.clone(),
        cfg.redirect_uri.clone().unwrap_or_default(),
        device_token,
    )
    .routes(routes)
    .scope(&cfg.scope);
    if let (Some(lat), Some(lon)) = (&cfg.lat, &cfg.lon) {
        c = c.location(lat.clone(), lon.clone());
    }
    if let Some(event) = &cfg.event_id {
        c = c.event_id(event.clone());
    }
    c
}

/// The API of a configuration.
pub fn api_of(cfg: &SessionConfig) -> Result<ApiArg, CliError> {
    match cfg.api.as_str() {
        "cap" => Ok(ApiArg::Cap),
        "ciam" => Ok(ApiArg::Ciam),
        other => Err(CliError::config(format!(
            "unknown API {other:?} in the session"
        ))),
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
    use login_core::secret::{FlowSecret, Password};

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
        let cfg = from_flags(&cli, &[], None, true).expect("valid flags");
        let ciam = ciam_config(&cfg, DeviceToken::new("device"));
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
        let cfg = from_flags(&cli, &[], None, true).expect("valid flags");
        let ciam = ciam_config(&cfg, DeviceToken::new("device"));
        let (req, _) = Start::new(&mut DeterministicEntropy::new(1))
            .expect("entropy")
            .authorize(&ciam);
        assert_eq!(req.path(), "/api/v1/authorize");
        assert_eq!(header(&req, "locLatitude"), None);
    }
}
