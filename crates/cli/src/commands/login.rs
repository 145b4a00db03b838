//! `loginflow login`: a whole login against any server; with `--save-pending FILE`, a login
//! that stops where the server asks for an OTP or a captcha answer no flag gives, writes the
//! paused flow to FILE and exits 4, to be finished by `loginflow resume`.

use std::path::Path;
use std::time::SystemTime;

use login_core::table::StateId;
use login_core::{Flow, Profile, ciam, realm};

use crate::args::{LoginArgs, api_flag};
use crate::engine::{Client, Halt};
use crate::error::CliError;
use crate::output::{EXIT_PAUSED, Outcome};
use crate::pending::{self, PendingFile, PendingInfo, WaitingFor};
use crate::progress::Reporter;
use crate::session::Endpoint;
use crate::settings::{LoginConfig, Settings};
use crate::{secret_input, settings};

/// Runs `login`.
pub fn run(s: &Settings, args: &LoginArgs) -> Result<Outcome, CliError> {
    let credentials = &args.credentials;
    let (endpoint, profile) = settings::from_flags(s, &credentials.scope, None, true)?;
    let api = profile.api();
    credentials.check_api(api)?;
    // Everything local is checked before the password is read and before any call.
    let transport = crate::tape::wire(s, &endpoint)?;
    let client = Client::new(&transport)
        .captcha_first(credentials.captcha)
        .pause_when_unanswered(args.save_pending.is_some());
    let mut interact = credentials.interact();
    let login = LoginConfig::read(s, &profile)?;
    let server_key = match (&args.save_pending, &profile) {
        // Kept in the pending file: a captcha resumed later seals with the same key.
        (Some(_), Profile::Ciam(_)) => {
            let (_, jwk) = settings::server_key(s.server_key.as_deref())?;
            serde_json::from_str(&jwk).ok()
        }
        _ => None,
    };
    let password =
        secret_input::password("password", credentials.password_stdin, "--password-stdin")?;
    let runner = login.runner(&args.username, password);
    let mut reporter = Reporter::new(s.output);
    let flow = match client.run(login.bank(), runner, &mut interact, &mut |e| {
        reporter.event(e)
    }) {
        Ok(flow) => flow,
        Err(Halt::Paused { flow }) => {
            let Some(path) = &args.save_pending else {
                return Err(Halt::Paused { flow }.into_error());
            };
            let state = flow.state_id();
            let base = PendingBase {
                endpoint,
                profile,
                username: args.username.clone(),
                server_key,
                // Absolute: `resume` may run in another directory.
                save_session: args
                    .save_session
                    .as_deref()
                    .map(std::path::absolute)
                    .transpose()
                    .map_err(|e| CliError::config(format!("--save-session: {e}")))?,
            };
            let _lock = crate::files::FileLock::acquire(path, || {})?;
            let info = write_pending(path, base, flow)?;
            return Ok(paused_outcome(path, &info, state));
        }
        Err(halt) => return Err(halt.into_error()),
    };
    let session = flow
        .into_session()
        .map_err(|flow| CliError::ended_elsewhere(StateId::Tokened, flow.state_id()))?;
    if let Some(path) = &args.save_session {
        super::save(
            path,
            endpoint,
            profile,
            Flow::from(session.clone()),
            &args.username,
        )?;
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

/// What a pending file keeps beside the flow: where, which API, who, and the server key.
pub struct PendingBase {
    /// Where the server is.
    pub endpoint: Endpoint,
    /// The API's settings.
    pub profile: Profile,
    /// Who logs in.
    pub username: String,
    /// The server's public JWK (internet banking).
    pub server_key: Option<serde_json::Value>,
    /// Where the session goes once the login is finished.
    pub save_session: Option<std::path::PathBuf>,
}

/// Writes `flow` as the pending file `path` (and a captcha PNG beside it when the flow shows
/// one); the caller holds the file's lock. Gives what the file now says.
pub fn write_pending(path: &Path, base: PendingBase, flow: Flow) -> Result<PendingInfo, CliError> {
    let state = flow.state_id();
    let (channel, ref_id, png) = match &flow {
        Flow::Realm(realm::State::MfaPending(m)) => (None, m.ref_id().map(str::to_owned), None),
        Flow::Ciam(ciam::State::MfaPending(m)) => (
            Some(m.channel().as_str().to_owned()),
            m.ref_id().map(str::to_owned),
            None,
        ),
        Flow::Ciam(ciam::State::CaptchaShown(c)) => {
            (None, None, Some(c.captcha().image_png().to_vec()))
        }
        _ => (None, None, None),
    };
    let captcha_image = match png {
        Some(png) => {
            let image = pending::captcha_path(path);
            crate::files::write_private_atomically(&image, ".loginflow-captcha-", &png).map_err(
                |f| {
                    CliError::config(format!(
                        "cannot {} the captcha image {}: {}",
                        f.what,
                        image.display(),
                        f.detail
                    ))
                    .in_state(state)
                },
            )?;
            Some(image)
        }
        None => {
            // A captcha answered earlier in this login is not waited for any more.
            let _ = std::fs::remove_file(pending::captcha_path(path));
            None
        }
    };
    let info = PendingInfo {
        transport: base.endpoint,
        profile: base.profile,
        username: base.username,
        waiting_for: waiting_for(&flow),
        channel,
        ref_id,
        captcha_image,
        server_key: base.server_key,
        save_session: base.save_session,
        created_at: super::unix_secs(SystemTime::now()),
        expires_at: flow_expiry(&flow),
        used: None,
        ended: None,
    };
    let file = PendingFile {
        info,
        flow: Some(flow),
    };
    pending::write(path, &file).map_err(|e| CliError::from(e).in_state(state))?;
    Ok(file.info)
}

/// What a flow in this state waits for.
pub fn waiting_for(flow: &Flow) -> WaitingFor {
    match flow.state_id() {
        StateId::MfaPending | StateId::OtpSent => WaitingFor::Otp,
        StateId::CaptchaShown => WaitingFor::Captcha,
        StateId::Authorized => WaitingFor::Password,
        _ => WaitingFor::Nothing,
    }
}

/// When the paused flow expires on the server, when it said (the realm request id).
pub fn flow_expiry(flow: &Flow) -> Option<u64> {
    match flow {
        Flow::Realm(realm::State::MfaPending(m)) => m.expires_at().map(super::unix_secs),
        Flow::Realm(realm::State::Challenged(c)) => c.expires_at().map(super::unix_secs),
        _ => None,
    }
}

/// The outcome of a paused login: what it waits for and how to finish it (exit 4).
pub fn paused_outcome(path: &Path, info: &PendingInfo, state: StateId) -> Outcome {
    let file = path.display().to_string();
    let mut outcome = Outcome::new(state.as_str())
        .field("api", api_flag(info.profile.api()))
        .field("username", info.username.as_str())
        .field("pending", file.as_str())
        .field("waitingFor", info.waiting_for.as_str())
        .exit_code(EXIT_PAUSED);
    let waits = match info.waiting_for {
        WaitingFor::Otp => {
            let sent = match (&info.channel, &info.ref_id) {
                (Some(c), Some(r)) => {
                    format!("a one-time password was sent by {c} (reference {r})")
                }
                (Some(c), None) => format!("a one-time password was sent by {c}"),
                (None, Some(r)) => format!("a one-time password was sent (reference {r})"),
                (None, None) => "a one-time password was sent".to_owned(),
            };
            format!("{sent}; finish with: loginflow resume --pending {file} --otp CODE")
        }
        WaitingFor::Captcha => {
            let image = info
                .captcha_image
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            format!(
                "the server asks for a captcha, saved to {image}; finish with: loginflow resume \
                 --pending {file} --captcha-answer TEXT --password-stdin"
            )
        }
        WaitingFor::Password | WaitingFor::Nothing => {
            format!("finish with: loginflow resume --pending {file} --password-stdin")
        }
    };
    if let Some(c) = &info.channel {
        outcome = outcome.field("channel", c.as_str());
    }
    if let Some(r) = &info.ref_id {
        outcome = outcome.field("refId", r.as_str());
    }
    if let Some(p) = &info.captcha_image {
        outcome = outcome.field("captchaImage", p.display().to_string());
    }
    if let Some(at) = info.expires_at {
        outcome = outcome.field("expiresAt", at);
    }
    outcome
        .line(format!(
            "{}: paused, the login waits in {file} (mode 0600, no password in it)",
            state.as_str()
        ))
        .line(waits)
}
