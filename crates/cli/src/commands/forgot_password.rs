//! `loginflow forgot-password`: request reset, verify the OTP, set the new password (realm API).

use crate::args::{ApiArg, Cli, ForgotPasswordArgs};
use crate::engine::{self, Client};
use crate::interact::Interact;
use crate::output::{CliError, Outcome};
use crate::{secret_input, settings};

/// Runs `forgot-password`.
pub fn run(cli: &Cli, args: &ForgotPasswordArgs) -> Result<Outcome, CliError> {
    if cli.api == Some(ApiArg::Ciam) {
        return Err(CliError::usage(
            "forgot-password belongs to the realm API: pass --api cap",
        ));
    }
    let cfg = settings::from_flags(cli, &[], Some(ApiArg::Cap), false)?;
    let transport = settings::transport(&cfg)?;
    let client = Client::new(&transport);
    // The reset calls send no client secret; the realm configuration still wants one.
    let realm = settings::realm_config(&cfg, login_core::secret::ClientSecret::new(""));
    let new_password = secret_input::password_from_stdin("new password")?;
    let mut interact = Interact::new(args.otp.clone(), None);
    let done = engine::forgot_password(
        &client,
        &realm,
        &args.username,
        new_password,
        &mut interact,
        &mut |_| {},
    )?;
    Ok(Outcome::new("PasswordReset")
        .field("api", "cap")
        .field("username", done.username())
        .line(format!(
            "PasswordReset: the password of {} was changed; log in with the new one",
            done.username()
        )))
}
