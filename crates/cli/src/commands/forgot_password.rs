//! `loginflow forgot-password`: request reset, verify the OTP, set the new password (realm API).

use login_core::action::Bank;
use login_core::table::{Api, StateId};
use login_core::{Flow, Runner, forgot};

use crate::args::{Cli, ForgotPasswordArgs};
use crate::engine::Client;
use crate::error::CliError;
use crate::interact::Interact;
use crate::output::Outcome;
use crate::{secret_input, settings};

/// Runs `forgot-password`.
pub fn run(cli: &Cli, args: &ForgotPasswordArgs) -> Result<Outcome, CliError> {
    if cli.api == Some(Api::Ciam) {
        return Err(CliError::usage(
            "forgot-password belongs to the realm API: pass --api cap",
        ));
    }
    let (endpoint, profile) = settings::from_flags(cli, &[], Some(Api::Realm), false)?;
    let transport = settings::transport(&endpoint)?;
    let new_password = secret_input::password_from_stdin("new password")?;
    let mut interact = Interact::new(args.otp.clone(), None);
    // The reset calls send no client secret: the profile alone drives them.
    let runner = Runner::forgot_password(forgot::Start::new(&args.username), new_password);
    let flow =
        Client::new(&transport).run(Bank::Profile(&profile), runner, &mut interact, &mut |_| {})?;
    let Flow::ForgotPassword(forgot::State::PasswordReset(done)) = flow else {
        return Err(CliError::ended_elsewhere(
            StateId::PasswordReset,
            flow.state_id(),
        ));
    };
    Ok(Outcome::new("PasswordReset")
        .field("api", "cap")
        .field("username", done.username())
        .line(format!(
            "PasswordReset: the password of {} was changed; log in with the new one",
            done.username()
        )))
}
