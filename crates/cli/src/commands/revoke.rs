//! `loginflow revoke --session FILE`: ends the session; the file is rewritten as revoked (no
//! tokens left in it), so it can never refresh again. The realm API has no revoke endpoint:
//! its sessions are revoked locally and nothing is sent. Runs under the file's lock, like
//! `refresh`, so a revoke never races a refresh of the same file.

use login_core::table::StateId;

use super::{Held, LockedSession};
use crate::args::{RevokeArgs, api_flag};
use crate::engine::{Client, Halt};
use crate::error::CliError;
use crate::output::Outcome;
use crate::progress::Reporter;
use crate::settings::{self, Settings};

/// Runs `revoke`.
pub fn run(s: &Settings, args: &RevokeArgs) -> Result<Outcome, CliError> {
    let mut reporter = Reporter::new(s.output);
    let mut locked = LockedSession::open(&args.session, &mut reporter)?;
    let saved = locked.file.saved.clone();
    let (endpoint, profile) = settings::with_overrides(saved.endpoint, saved.profile, s)?;
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
    if let Some(ended) = &locked.file.ended {
        // Nothing left to revoke: the server ended the session already.
        return Ok(Outcome::new("Revoked")
            .field("api", api)
            .field("alreadyEnded", true)
            .line(format!(
                "Revoked: the server had already ended the session in {} ({}); nothing was sent",
                args.session.display(),
                ended.kind
            )));
    }
    let transport = crate::tape::wire(s, &endpoint)?;
    let flow = match Client::new(&transport).revoke(&profile, session, &mut |e| reporter.event(e)) {
        Ok(flow) => flow,
        Err(Halt::Failed {
            error,
            ended: Some(kind),
            ..
        }) => {
            locked.mark_ended(kind)?;
            return Err(error);
        }
        Err(halt) => return Err(halt.into_error()),
    };
    let sent = super::sent_request(&flow)
        .ok_or_else(|| CliError::ended_elsewhere(StateId::Revoked, flow.state_id()))?;
    locked.write(endpoint, profile, flow)?;
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
