//! `loginflow forgot-password`: request reset, verify the OTP, set the new password (realm API).

use login_core::action::Bank;
use login_core::table::{Api, StateId};
use login_core::{Flow, Runner, forgot};

use crate::args::ForgotPasswordArgs;
use crate::engine::Client;
use crate::error::CliError;
use crate::interact::Interact;
use crate::output::Outcome;
use crate::progress::Reporter;
use crate::settings::Settings;
use crate::{secret_input, settings};

/// Runs `forgot-password`.
pub fn run(s: &Settings, args: &ForgotPasswordArgs) -> Result<Outcome, CliError> {
    if s.explicit_api() == Some(Api::Ciam) {
        return Err(CliError::usage(
            "forgot-password belongs to the realm API: pass --api cap",
        ));
    }
    // Realm only: an `--api ciam` from the environment or a profile file does not apply.
    let mut realm = s.clone();
    realm.api = Some(Api::Realm);
    let (endpoint, profile) = settings::from_flags(&realm, &[], Some(Api::Realm), false)?;
    let transport = crate::tape::wire(s, &endpoint)?;
    let new_password = secret_input::new_password(args.new_password_stdin)?;
    let mut interact = Interact::new(args.otp.clone(), None);
    // The reset calls send no client secret: the profile alone drives them.
    let runner = Runner::forgot_password(forgot::Start::new(&args.username), new_password);
    let mut reporter = Reporter::new(s.output);
    let flow =
        Client::new(&transport).run(Bank::Profile(&profile), runner, &mut interact, &mut |e| {
            reporter.event(e)
        })?;
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
