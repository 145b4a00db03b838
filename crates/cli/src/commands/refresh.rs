//! `loginflow refresh --session FILE`: rotates the tokens and rewrites the file.

use login_core::secret::{ClientSecret, DeviceToken};
use login_core::table::StateId;
use login_core::{Flow, ciam, realm};

use crate::args::{ApiArg, Cli, RefreshArgs};
use crate::engine::{self, Client};
use crate::output::{CliError, EXIT_USAGE, Outcome};
use crate::{session, settings};

/// The error for a session that was revoked.
pub fn revoked_error(path: &std::path::Path) -> CliError {
    CliError::local(
        "session_revoked",
        format!(
            "the session in {} was revoked and cannot refresh; log in again",
            path.display()
        ),
        EXIT_USAGE,
    )
    .in_state(StateId::Revoked)
}

/// Runs `refresh`.
pub fn run(cli: &Cli, args: &RefreshArgs) -> Result<Outcome, CliError> {
    let (cfg, flow) = session::read(&args.session)?;
    let cfg = settings::with_overrides(cfg, cli)?;
    let api = settings::api_of(&cfg)?;
    let transport = settings::transport(&cfg)?;
    let client = Client::new(&transport);
    let mut quiet = |_| {};
    // Refresh sends neither the client secret nor the device token: empty ones stand in.
    let flow = match (api, flow) {
        (ApiArg::Cap, Flow::Realm(realm::State::Tokened(t))) => {
            let rc = settings::realm_config(&cfg, ClientSecret::new(""));
            Flow::from(engine::realm_refresh(&client, &rc, t, &mut quiet)?)
        }
        (ApiArg::Ciam, Flow::Ciam(ciam::State::Tokened(t))) => {
            let cc = settings::ciam_config(&cfg, DeviceToken::new(""));
            Flow::from(engine::ciam_refresh(&client, &cc, t, &mut quiet)?)
        }
        (_, Flow::Realm(realm::State::Revoked(_)) | Flow::Ciam(ciam::State::Revoked(_))) => {
            return Err(revoked_error(&args.session));
        }
        (_, other) => {
            return Err(CliError::config(format!(
                "the session file holds a {} flow in state {}, not a session to refresh",
                other.api().as_str(),
                other.state_id().as_str()
            )));
        }
    };
    session::write(&args.session, &cfg, &flow).map_err(|e| e.in_state(StateId::Tokened))?;
    let tokens = match &flow {
        Flow::Realm(realm::State::Tokened(t)) => t.tokens(),
        Flow::Ciam(ciam::State::Tokened(t)) => t.tokens(),
        _ => return Err(CliError::config("refresh did not end with tokens")),
    };
    Ok(super::tokened_outcome(
        api,
        &format!("tokens rotated ({} API)", api.as_str()),
        tokens,
        args.show_tokens,
        Some(&args.session),
    ))
}
