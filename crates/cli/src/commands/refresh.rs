//! `loginflow refresh --session FILE`: rotates the tokens and rewrites the file.

use login_core::Flow;

use super::Held;
use crate::args::{Cli, RefreshArgs, api_flag};
use crate::engine::Client;
use crate::error::CliError;
use crate::output::Outcome;
use crate::{session, settings};

/// Runs `refresh`.
pub fn run(cli: &Cli, args: &RefreshArgs) -> Result<Outcome, CliError> {
    let saved = session::read(&args.session)?;
    let (endpoint, profile) = settings::with_overrides(saved.endpoint, saved.profile, cli)?;
    let transport = settings::transport(&endpoint)?;
    let Held::Live(session) = super::held(saved.flow, "refresh")? else {
        return Err(CliError::session_revoked(args.session.clone()));
    };
    let session = Client::new(&transport).refresh(&profile, session, &mut |_| {})?;
    let api = session.api();
    super::save(
        &args.session,
        endpoint,
        profile,
        Flow::from(session.clone()),
    )?;
    Ok(super::tokened_outcome(
        api,
        &format!("tokens rotated ({} API)", api_flag(api)),
        session.tokens(),
        args.show_tokens,
        Some(&args.session),
    ))
}
