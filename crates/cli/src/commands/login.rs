//! `loginflow login`: a whole login against any server.

use login_core::Flow;
use login_core::seal::JweSealer;
use login_core::secret::ClientSecret;
use login_core::table::StateId;

use crate::args::{ApiArg, Cli, LoginArgs};
use crate::engine::{self, CiamLogin, Client};
use crate::interact::Interact;
use crate::output::{CliError, Outcome};
use crate::{secret_input, session, settings};

/// Runs `login`.
pub fn run(cli: &Cli, args: &LoginArgs) -> Result<Outcome, CliError> {
    let cfg = settings::from_flags(cli, &args.scope, None, true)?;
    let api = settings::api_of(&cfg)?;
    if api == ApiArg::Cap && (args.captcha || args.captcha_answer.is_some()) {
        return Err(CliError::usage(
            "--captcha and --captcha-answer belong to the ciam API, not --api cap",
        ));
    }
    // Everything local is checked before the password is read and before any call.
    let transport = settings::transport(&cfg)?;
    let client = Client::new(&transport);
    let mut interact = Interact::new(args.otp.clone(), args.captcha_answer.clone());
    let mut quiet = |_| {};
    let flow = match api {
        ApiArg::Cap => {
            let secret: ClientSecret =
                secret_input::client_secret(cli.client_secret_file.as_deref())?;
            let realm = settings::realm_config(&cfg, secret);
            let password = secret_input::password_from_stdin("password")?;
            let t = engine::realm_login(
                &client,
                &realm,
                &args.username,
                password,
                &mut interact,
                &mut quiet,
            )?;
            Flow::from(t)
        }
        ApiArg::Ciam => {
            let device = secret_input::device_token(cli.device_token_file.as_deref())?;
            let key_path = cli.server_key.as_deref().ok_or_else(|| {
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
            let sealer = JweSealer::from_jwk(&jwk).map_err(|e| {
                CliError::config(format!("--server-key {}: {e}", key_path.display()))
            })?;
            let ciam = settings::ciam_config(&cfg, device);
            let password = secret_input::password_from_stdin("password")?;
            let t = engine::ciam_login(
                &client,
                &ciam,
                CiamLogin {
                    sealer: &sealer,
                    username: &args.username,
                    password,
                    captcha_first: args.captcha,
                },
                &mut interact,
                &mut quiet,
            )?;
            Flow::from(t)
        }
    };
    let tokens = match &flow {
        Flow::Realm(login_core::realm::State::Tokened(t)) => t.tokens(),
        Flow::Ciam(login_core::ciam::State::Tokened(t)) => t.tokens(),
        _ => {
            return Err(CliError::local(
                "unexpected_state",
                "the login did not end with tokens",
                3,
            ));
        }
    };
    if let Some(path) = &args.save_session {
        session::write(path, &cfg, &flow).map_err(|e| e.in_state(StateId::Tokened))?;
    }
    Ok(super::tokened_outcome(
        api,
        &format!("logged in as {} ({} API)", args.username, api.as_str()),
        tokens,
        args.show_tokens,
        args.save_session.as_deref(),
    )
    .field("username", args.username.as_str()))
}
