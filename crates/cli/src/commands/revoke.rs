//! `loginflow revoke --session FILE`: ends the session; the file is rewritten as revoked (no
//! tokens left in it), so it can never refresh again. The realm API has no revoke endpoint:
//! its sessions are revoked locally and nothing is sent.

use login_core::table::StateId;

use super::Held;
use crate::args::{Cli, RevokeArgs, api_flag};
use crate::engine::Client;
use crate::error::CliError;
use crate::output::Outcome;
use crate::{session, settings};

/// Runs `revoke`.
pub fn run(cli: &Cli, args: &RevokeArgs) -> Result<Outcome, CliError> {
    let saved = session::read(&args.session)?;
    let (endpoint, profile) = settings::with_overrides(saved.endpoint, saved.profile, cli)?;
    let api = api_flag(profile.api());
    let Held::Live(session) = super::held(saved.flow, "revoke")? else {
        return Ok(Outcome::new("Revoked")
            .field("api", api)
            .field("alreadyRevoked", true)
            .line(format!(
                "Revoked: the session in {} was already revoked",
                args.session.display()
            )));
    };
    let transport = settings::transport(&endpoint)?;
    let flow = Client::new(&transport).revoke(&profile, session, &mut |_| {})?;
    let sent = super::sent_request(&flow)
        .ok_or_else(|| CliError::ended_elsewhere(StateId::Revoked, flow.state_id()))?;
    super::save(&args.session, endpoint, profile, flow)?;
    let line = if sent {
        "Revoked: the server revoked the session; the session file holds no tokens now"
    } else {
        "Revoked: locally (the realm API has no revoke endpoint, nothing was sent); the session \
         file holds no tokens now"
    };
    Ok(Outcome::new("Revoked")
        .field("api", api)
        .field("sentRequest", sent)
        .line(line))
}
