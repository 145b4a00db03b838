//! `loginflow revoke --session FILE`: ends the session; the file is rewritten as revoked (no
//! tokens left in it), so it can never refresh again. The realm API has no revoke endpoint:
//! its sessions are revoked locally and nothing is sent.

use login_core::secret::DeviceToken;
use login_core::table::StateId;
use login_core::{Flow, ciam, realm};

use crate::args::{ApiArg, Cli, RevokeArgs};
use crate::engine::{self, Client};
use crate::output::{CliError, Outcome};
use crate::{session, settings};

/// Runs `revoke`.
pub fn run(cli: &Cli, args: &RevokeArgs) -> Result<Outcome, CliError> {
    let (cfg, flow) = session::read(&args.session)?;
    let cfg = settings::with_overrides(cfg, cli)?;
    let api = settings::api_of(&cfg)?;
    let (revoked, sent) = match (api, flow) {
        (ApiArg::Cap, Flow::Realm(realm::State::Tokened(t))) => {
            let r = t.revoke();
            let sent = r.sent_request();
            (Flow::Realm(realm::State::Revoked(r)), sent)
        }
        (ApiArg::Ciam, Flow::Ciam(ciam::State::Tokened(t))) => {
            let transport = settings::transport(&cfg)?;
            let client = Client::new(&transport);
            let cc = settings::ciam_config(&cfg, DeviceToken::new(""));
            let r = engine::ciam_revoke(&client, &cc, t, &mut |_| {})?;
            let sent = r.sent_request();
            (Flow::Ciam(ciam::State::Revoked(r)), sent)
        }
        (_, Flow::Realm(realm::State::Revoked(_)) | Flow::Ciam(ciam::State::Revoked(_))) => {
            return Ok(Outcome::new("Revoked")
                .field("api", api.as_str())
                .field("alreadyRevoked", true)
                .line(format!(
                    "Revoked: the session in {} was already revoked",
                    args.session.display()
                )));
        }
        (_, other) => {
            return Err(CliError::config(format!(
                "the session file holds a {} flow in state {}, not a session to revoke",
                other.api().as_str(),
                other.state_id().as_str()
            )));
        }
    };
    session::write(&args.session, &cfg, &revoked).map_err(|e| e.in_state(StateId::Revoked))?;
    let line = if sent {
        "Revoked: the server revoked the session; the session file holds no tokens now"
    } else {
        "Revoked: locally (the realm API has no revoke endpoint, nothing was sent); the session \
         file holds no tokens now"
    };
    Ok(Outcome::new("Revoked")
        .field("api", api.as_str())
        .field("sentRequest", sent)
        .line(line))
}
