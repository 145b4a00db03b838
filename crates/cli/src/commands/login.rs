//! `loginflow login`: a whole login against any server.

use login_core::Flow;
use login_core::table::{Api, StateId};

use crate::args::{Cli, LoginArgs, api_flag};
use crate::engine::Client;
use crate::error::CliError;
use crate::interact::Interact;
use crate::output::Outcome;
use crate::settings::LoginConfig;
use crate::{secret_input, settings};

/// Runs `login`.
pub fn run(cli: &Cli, args: &LoginArgs) -> Result<Outcome, CliError> {
    let (endpoint, profile) = settings::from_flags(cli, &args.scope, None, true)?;
    let api = profile.api();
    if api == Api::Realm && (args.captcha || args.captcha_answer.is_some()) {
        return Err(CliError::usage(
            "--captcha and --captcha-answer belong to the ciam API, not --api cap",
        ));
    }
    // Everything local is checked before the password is read and before any call.
    let transport = settings::transport(&endpoint)?;
    let client = Client::new(&transport).captcha_first(args.captcha);
    let mut interact = Interact::new(args.otp.clone(), args.captcha_answer.clone());
    let login = LoginConfig::read(cli, &profile)?;
    let password = secret_input::password_from_stdin("password")?;
    let runner = login.runner(&args.username, password);
    let flow = client.run(login.bank(), runner, &mut interact, &mut |_| {})?;
    let session = flow
        .into_session()
        .map_err(|flow| CliError::ended_elsewhere(StateId::Tokened, flow.state_id()))?;
    if let Some(path) = &args.save_session {
        super::save(path, endpoint, profile, Flow::from(session.clone()))?;
    }
    Ok(super::tokened_outcome(
        api,
        &format!("logged in as {} ({} API)", args.username, api_flag(api)),
        session.tokens(),
        args.show_tokens,
        args.save_session.as_deref(),
    )
    .field("username", args.username.as_str()))
}
