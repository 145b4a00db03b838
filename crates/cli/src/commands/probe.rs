//! `loginflow probe`: the flows of the chosen API against a server, every answer compared with
//! the contract (see [`crate::probe`] for what is sent). Exit 0 when the server conforms, 1 when
//! it deviates, 3 when it cannot be reached. `--suggest-profile FILE` writes a profile file
//! (the format `--profile FILE` takes, mode 0600, atomically, no secret in it) with the
//! settings that accept what the probe saw.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::args::{ProbeArgs, api_flag};
use crate::error::CliError;
use crate::output::{EXIT_SERVER, EXIT_TRANSPORT, Outcome};
use crate::probe::{Login, Probe, Report};
use crate::settings::{self, LoginConfig, Settings};
use crate::{redact, secret_input};

/// Runs `probe`.
pub fn run(s: &Settings, args: &ProbeArgs) -> Result<Outcome, CliError> {
    if s.record.is_some() || s.replay.is_some() {
        // The probe's made-up values are new on every run: a cassette of it would never
        // replay. Record a login instead (docs/onboarding.md).
        return Err(CliError::usage(
            "probe takes no --record or --replay: record a login (`loginflow --record FILE \
             login ...`) and replay that",
        ));
    }
    let credentials = &args.credentials;
    let (endpoint, profile) = settings::from_flags(s, &credentials.scope, None, true)?;
    credentials.check_api(profile.api())?;
    let transport = settings::transport(&endpoint, &s.reach)?;
    // The configuration's secrets must be readable before anything is sent.
    LoginConfig::read(s, &profile)?;
    let login = match &args.username {
        Some(username) => {
            let password =
                secret_input::password("password", credentials.password_stdin, "--password-stdin")?;
            Some(Login {
                username: username.clone(),
                password,
                interact: credentials.interact(),
                captcha_first: credentials.captcha,
            })
        }
        None if credentials.password_stdin
            || credentials.otp.is_some()
            || credentials.captcha_answer.is_some() =>
        {
            return Err(CliError::usage(
                "--password-stdin, --otp and --captcha-answer need --username U",
            ));
        }
        None => None,
    };
    let report = Probe::new(s, &transport, profile).run(login)?;
    let suggested = suggested_profile(s, &report);
    let mut written = None;
    if let Some(path) = &args.suggest_profile {
        write_profile(path, &suggested)?;
        written = Some(path.display().to_string());
    }
    Ok(outcome(&report, &suggested, written.as_deref()))
}

/// The profile file `--suggest-profile` writes: this run's settings under their flag names
/// (paths absolute, so the file works from anywhere; secrets only as the files that hold
/// them) and a `readings` section with the settings that accept what the probe saw.
fn suggested_profile(s: &Settings, report: &Report) -> Value {
    let mut file = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(v) = value {
            file.insert(key.to_owned(), v);
        }
    };
    let path = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map(|p| json!(std::path::absolute(p).unwrap_or_else(|_| p.clone())))
    };
    put("api", s.api.map(|a| json!(api_flag(a))));
    put("base-url", s.base_url.as_ref().map(|u| json!(u)));
    put("allow-http", s.allow_http.then_some(json!(true)));
    put("timeout", s.timeout.map(|t| json!(t)));
    put("realm", s.realm.as_ref().map(|v| json!(v)));
    put("client-id", s.client_id.as_ref().map(|v| json!(v)));
    put("client-secret-file", path(&s.client_secret_file));
    put("redirect-uri", s.redirect_uri.as_ref().map(|v| json!(v)));
    put("device-token-file", path(&s.device_token_file));
    put("server-key", path(&s.server_key));
    put(
        "routes",
        s.routes.map(|r| {
            json!(if r == crate::args::RoutesArg::Service {
                "service"
            } else {
                "gateway"
            })
        }),
    );
    put("lat", s.lat.as_ref().map(|v| json!(v)));
    put("lon", s.lon.as_ref().map(|v| json!(v)));
    put("event-id", s.event_id.as_ref().map(|v| json!(v)));
    // The reading settings: kebab-case keys beside the flags' (`scope-form`, `envelope-field`)
    // and a `paths` table, over the ones this run's profile file already had.
    let mut paths = Map::new();
    let existing = existing_readings(s);
    for (key, value) in existing
        .into_iter()
        .chain(report.settings.iter().map(|x| x.file_entry()))
    {
        match key.strip_prefix("paths.") {
            Some(step) => {
                paths.insert(step.to_owned(), value);
            }
            None if key == "paths" => {
                if let Value::Object(m) = value {
                    paths.extend(m);
                }
            }
            None => {
                file.insert(key, value);
            }
        }
    }
    if !paths.is_empty() {
        file.insert("paths".into(), Value::Object(paths));
    }
    Value::Object(file)
}

/// The reading settings the profile file of this run had, as profile-file keys.
fn existing_readings(s: &Settings) -> Vec<(String, Value)> {
    match serde_json::to_value(&s.readings) {
        Ok(Value::Object(m)) => m.into_iter().collect(),
        _ => Vec::new(),
    }
}

fn write_profile(path: &Path, profile: &Value) -> Result<(), CliError> {
    // The format `--profile` reads it in: TOML for a `.toml` name, JSON otherwise.
    let toml = path.extension().is_some_and(|e| e == "toml");
    let mut text = if toml {
        toml::to_string(profile).map_err(|e| e.to_string())
    } else {
        serde_json::to_string_pretty(profile).map_err(|e| e.to_string())
    }
    .map_err(|e| CliError::config(format!("the suggested profile: {e}")))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    crate::files::write_private_atomically(path, ".loginflow-profile-", text.as_bytes()).map_err(
        |f| {
            CliError::config(format!(
                "cannot {} the profile file {}: {}",
                f.what,
                path.display(),
                f.detail
            ))
        },
    )
}

/// The report as the command's outcome: one JSON document, or the text; exit 1 on any
/// deviation.
fn outcome(report: &Report, suggested: &Value, written: Option<&str>) -> Outcome {
    let Value::Object(doc) = report.to_json(suggested) else {
        return Outcome::stateless();
    };
    // Server texts were redacted where they were read; the document is scrubbed once more as
    // a whole, the way every printed line is (a replacement never breaks a JSON string).
    let scrubbed = redact::redact(&Value::Object(doc).to_string());
    let doc: Map<String, Value> = serde_json::from_str(&scrubbed).unwrap_or_default();
    let mut outcome = Outcome::stateless();
    for (k, v) in doc {
        outcome = outcome.field(&k, v);
    }
    if let Some(path) = written {
        outcome = outcome.field("suggestedProfileFile", path);
    }
    for line in report.to_lines() {
        outcome = outcome.line(redact::redact(&line));
    }
    if let Some(path) = written {
        outcome = outcome.line(format!(
            "suggested profile written to {path} (mode 0600); use it with --profile {path}"
        ));
    }
    if !report.reachable {
        outcome.exit_code(EXIT_TRANSPORT)
    } else if report.conforms() {
        outcome
    } else {
        outcome.exit_code(EXIT_SERVER)
    }
}
