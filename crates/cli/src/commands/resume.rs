//! `loginflow resume --pending FILE`: finishes a login paused by `login --save-pending`, in
//! this process or another, hours later if the flow has not expired, with login-transport's
//! `Driver::resume` over the paused `Flow` and the answer given now.
//!
//! Under the pending file's lock: a used, ended or expired file is refused before any call;
//! a success rewrites the file as used (without the flow); a refusal that leaves the flow
//! alive (a wrong OTP) rewrites it with that flow, to try again; a refusal that ends it marks
//! it ended. A new question on the way (an OTP after a captcha) is prompted on a terminal, and
//! without one pauses the login again in the same file (exit 4).

use std::time::SystemTime;

use login_core::action::Bank;
use login_core::ciam::{self, CiamConfig};
use login_core::seal::JweSealer;
use login_core::table::{Api, StateId};
use login_core::{Flow, Profile};

use super::login::{PendingBase, paused_outcome, write_pending};
use super::unix_secs;
use crate::args::{ResumeArgs, api_flag};
use crate::engine::{Client, Halt};
use crate::error::CliError;
use crate::files::FileLock;
use crate::interact::Interact;
use crate::output::Outcome;
use crate::pending::{self, PendingFile, Used, WaitingFor};
use crate::progress::Reporter;
use crate::session::Ended;
use crate::settings::{self, Settings};
use crate::{redact, secret_input};

/// Runs `resume`.
pub fn run(s: &Settings, args: &ResumeArgs) -> Result<Outcome, CliError> {
    let path = &args.pending;
    let mut reporter = Reporter::new(s.output);
    let _lock = FileLock::acquire(path, || {
        reporter.waiting_for_lock(&path.display().to_string())
    })?;
    let file = pending::read(path)?;
    let info = file.info.clone();
    if let Some(used) = &info.used {
        return Err(CliError::pending_used(path.clone(), used.at));
    }
    if let Some(ended) = info.ended.clone() {
        return Err(CliError::pending_ended(path.clone(), ended));
    }
    let Some(flow) = file.flow else {
        return Err(CliError::config(format!(
            "the pending file {} holds no paused login",
            path.display()
        )));
    };
    let state = flow.state_id();
    let now = unix_secs(SystemTime::now());
    if let Some(at) = info.expires_at.filter(|at| now >= *at) {
        return Err(CliError::pending_expired(path.clone(), at, state));
    }
    let (endpoint, profile) =
        settings::with_overrides(info.transport.clone(), info.profile.clone(), s)?;
    let transport = crate::tape::wire(s, &endpoint)?;

    let otp = match (&args.otp, args.otp_stdin) {
        (Some(otp), _) => Some(otp.clone()),
        (None, true) => Some(secret_input::otp_from_stdin()?.as_str().to_owned()),
        (None, false) => None,
    };
    if let Some(otp) = &otp {
        redact::register(otp);
    }
    let mut interact = Interact::new(otp.clone(), args.captcha_answer.clone());
    // The answer the file waits for, when nobody can type it: say which flag gives it.
    let missing = match info.waiting_for {
        WaitingFor::Otp if otp.is_none() => Some("--otp CODE or --otp-stdin"),
        WaitingFor::Captcha if args.captcha_answer.is_none() => Some("--captcha-answer TEXT"),
        _ => None,
    };
    if let (Some(flag), false) = (missing, interact.can_ask_again()) {
        return Err(CliError::usage(format!(
            "the login in {} waits for {}; no terminal to prompt on: pass {flag}",
            path.display(),
            info.waiting_for.as_str()
        ))
        .in_state(state));
    }

    let ciam = match &profile {
        Profile::Ciam(p) => Some(internet_banking(s, p, &info)?),
        Profile::Realm(_) => None,
    };
    let bank = match &ciam {
        Some((cfg, sealer)) => Bank::Ciam(cfg, sealer),
        // The realm steps after `MfaPending` send no client secret: the profile drives them.
        None => Bank::Profile(&profile),
    };
    let mut runner = login_core::Runner::resume(flow);
    if needs_credentials(state, profile.api()) {
        // The credentials are sealed anew with the captcha answer: the password again.
        let password = secret_input::password("password", args.password_stdin, "--password-stdin")?;
        runner = runner.credentials(ciam::Credentials::new(info.username.as_str(), password));
    }
    // A new question on the way pauses again when nobody is at a terminal to answer it.
    let client = Client::new(&transport).pause_when_unanswered(!interact.can_ask_again());
    let outcome = client.run(bank, runner, &mut interact, &mut |e| reporter.event(e));
    let base = || PendingBase {
        endpoint: endpoint.clone(),
        profile: profile.clone(),
        username: info.username.clone(),
        server_key: info.server_key.clone(),
        save_session: info.save_session.clone(),
    };
    let flow = match outcome {
        Ok(flow) => flow,
        Err(Halt::Paused { flow }) => {
            let state = flow.state_id();
            let written = write_pending(path, base(), flow)?;
            return Ok(paused_outcome(path, &written, state));
        }
        Err(Halt::Failed {
            error,
            flow: Some(flow),
            ..
        }) => {
            // Still alive (a wrong OTP, a transport failure): kept to try again.
            write_pending(path, base(), flow)?;
            return Err(error);
        }
        Err(Halt::Failed {
            error,
            flow: None,
            ended,
        }) => {
            let kind = ended.map_or(error.kind(), login_core::ErrorKind::as_str);
            mark(path, &file_without_flow(&info), |i| {
                i.ended = Some(Ended {
                    kind: kind.to_owned(),
                    at: unix_secs(SystemTime::now()),
                });
            })?;
            return Err(error);
        }
    };
    let session = flow
        .into_session()
        .map_err(|flow| CliError::ended_elsewhere(StateId::Tokened, flow.state_id()))?;
    // Used up before anything else can fail: the flow's secrets leave the file.
    mark(path, &file_without_flow(&info), |i| {
        i.used = Some(Used {
            at: unix_secs(SystemTime::now()),
        });
    })?;
    if let Some(image) = &info.captcha_image {
        let _ = std::fs::remove_file(image);
    }
    let api = session.api();
    // `login --save-pending F --save-session S` meant S for the finished login.
    let save_session = args
        .save_session
        .clone()
        .or_else(|| info.save_session.clone());
    if let Some(target) = &save_session {
        super::save(
            target,
            endpoint,
            profile,
            Flow::from(session.clone()),
            &info.username,
        )?;
    }
    Ok(super::tokened_outcome(
        api,
        &format!(
            "logged in as {} ({} API), resumed from {}",
            info.username,
            api_flag(api),
            path.display()
        ),
        session.tokens(),
        args.show_tokens,
        save_session.as_deref(),
    )
    .field("username", info.username.as_str()))
}

/// Whether resuming from `state` sends the credentials again (an internet-banking login
/// before its login challenge went through).
fn needs_credentials(state: StateId, api: Api) -> bool {
    api == Api::Ciam
        && matches!(
            state,
            StateId::Start | StateId::Authorized | StateId::CaptchaShown
        )
}

/// The internet-banking configuration of a resume: the device token (a secret: from the
/// settings, never the pending file) and the server key (`--server-key`, else the one kept in
/// the pending file).
fn internet_banking(
    s: &Settings,
    profile: &ciam::CiamProfile,
    info: &pending::PendingInfo,
) -> Result<(CiamConfig, JweSealer), CliError> {
    let device = secret_input::device_token(s.device_token_file.as_deref())?;
    let sealer = match (&s.server_key, &info.server_key) {
        (Some(path), _) => settings::server_key(Some(path))?.0,
        (None, Some(jwk)) => JweSealer::from_jwk(&jwk.to_string())
            .map_err(|e| CliError::config(format!("the pending file's server key: {e}")))?,
        (None, None) => settings::server_key(None)?.0,
    };
    Ok((CiamConfig::from_profile(profile.clone(), device), sealer))
}

/// The pending file's information with no flow: what a used or ended file keeps.
fn file_without_flow(info: &pending::PendingInfo) -> PendingFile {
    PendingFile {
        info: info.clone(),
        flow: None,
    }
}

/// Rewrites the pending file without its flow, `note` applied to its information.
fn mark(
    path: &std::path::Path,
    file: &PendingFile,
    note: impl FnOnce(&mut pending::PendingInfo),
) -> Result<(), CliError> {
    let mut file = file.clone();
    note(&mut file.info);
    pending::write(path, &file).map_err(CliError::from)
}
