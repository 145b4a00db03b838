//! `loginflow demo`: starts an embedded sandbox on an ephemeral loopback port and runs every
//! flow of both APIs through the same engine code the other subcommands use, showing each
//! state change as it happens, then a summary table. Exit 0 only if every flow ended as
//! expected.
//!
//! The sandbox runs with random OTPs, read back from its dev outbox as a user would read a
//! text message, and with its test-mode fixed captcha answer (nobody can read a generated
//! captcha image in a script).

use std::io::{IsTerminal as _, Write as _};
use std::rc::Rc;
use std::time::{Duration, Instant};

use login_core::action::Bank;
use login_core::ciam::CiamConfig;
use login_core::realm::RealmConfig;
use login_core::runner::Question;
use login_core::seal::JweSealer;
use login_core::secret::{ClientSecret, DeviceToken, Password};
use login_core::table::StateId;
use login_core::{Flow, Profile, Runner, Session, forgot};
use login_sandbox::config::{AnomalyMode, Channel, GeoPoint, Mfa, UserConfig};
use login_sandbox::{BlockingSandbox, SandboxConfig};
use login_transport::{TransportConfig, UreqTransport};
use serde_json::json;

use crate::engine::{Client, Event, Progress};
use crate::error::CliError;
use crate::interact::{Interact, Oracle};
use crate::output::{EXIT_SERVER, Outcome};
use crate::settings::{LoginConfig, Settings};
use crate::tape::{Tape, Wire};

/// Where the anomaly user last logged in (Bangkok) and where the demo logs in from
/// (Singapore, about 1,430 km away: more than the sandbox's 500 km rule).
const HOME: (f64, f64) = (13.7563, 100.5018);
const AWAY: (&str, &str) = ("1.3521", "103.8198");

/// One row of the summary.
struct Row {
    name: &'static str,
    expected: String,
    result: String,
    ok: bool,
    elapsed: Duration,
}

/// Prints progress and collects rows.
struct Scoreboard {
    tty: bool,
    quiet: bool,
    rows: Vec<Row>,
}

impl Scoreboard {
    fn event_text(event: &Event) -> Option<String> {
        match event {
            Event::Sending { step, .. } => Some(format!("{} ...", step.as_str())),
            // The state reached says how the call went.
            Event::Finished { .. } => None,
            Event::Reached(state) => Some(format!("-> {}", state.as_str())),
            Event::Note(note) => Some(format!("   {note}")),
        }
    }

    /// Runs one flow. `f` gives the final state's label and a value for later flows, or the
    /// error it ended with; the row is ok when the label (or the error kind) is `expected`.
    fn flow<T>(
        &mut self,
        name: &'static str,
        expected: &str,
        f: impl FnOnce(&mut dyn FnMut(Event)) -> Result<(String, T), CliError>,
    ) -> Option<T> {
        let started = Instant::now();
        let (tty, quiet) = (self.tty, self.quiet);
        let mut out = std::io::stdout();
        if !quiet && !tty {
            let _ = writeln!(out, "[{name}] start, expecting {expected}");
        }
        let mut progress = |event: Event| {
            if quiet {
                return;
            }
            let Some(text) = Self::event_text(&event) else {
                return;
            };
            let text = crate::redact::redact(&text);
            let mut out = std::io::stdout();
            if tty {
                // One line per flow, rewritten at each step.
                let _ = write!(out, "\r\x1b[2K  .. {name:<38} {text}");
                let _ = out.flush();
            } else {
                let _ = writeln!(out, "[{name}] {text}");
            }
        };
        let result = f(&mut progress);
        let elapsed = started.elapsed();
        let (label, value) = match result {
            Ok((label, value)) => (label, Some(value)),
            Err(e) => (
                match e.status() {
                    Some(s) => format!("error {} (HTTP {s})", e.kind()),
                    None => format!(
                        "error {}: {}",
                        e.kind(),
                        crate::redact::redact(&e.message())
                    ),
                },
                None,
            ),
        };
        let ok = label == expected;
        if !quiet {
            let mark = if ok { "ok" } else { "FAIL" };
            if tty {
                let _ = writeln!(
                    out,
                    "\r\x1b[2K  {mark:<4} {name:<38} {label} ({} ms)",
                    elapsed.as_millis()
                );
            } else {
                let _ = writeln!(
                    out,
                    "[{name}] {mark}: ended {label} ({} ms)",
                    elapsed.as_millis()
                );
            }
        }
        self.rows.push(Row {
            name,
            expected: expected.to_owned(),
            result: label,
            ok,
            elapsed,
        });
        if ok { value } else { None }
    }
}

/// The sandbox configuration of the demo: the test users, random OTPs, the location rule for
/// anomalies, and one more user who last logged in at [`HOME`].
fn demo_config() -> SandboxConfig {
    let mut cfg = SandboxConfig::for_tests();
    cfg.fixed_otp = None;
    cfg.anomaly = AnomalyMode::Rule;
    cfg.users.insert(
        "dave".to_owned(),
        UserConfig {
            password: login_sandbox::secret::Secret::new("dave-password"),
            mfa: Mfa::None,
            channel: Channel::Email,
            last_location: Some(GeoPoint {
                latitude: HOME.0,
                longitude: HOME.1,
            }),
        },
    );
    cfg
}

/// An oracle answering OTP questions from the sandbox's outbox (the newest code sent to
/// `user`, matching the reference when one was shown) and captchas with the test answer.
fn outbox_oracle(
    sandbox: Rc<BlockingSandbox>,
    user: &'static str,
    captcha: Option<String>,
) -> Oracle {
    Box::new(move |question| match *question {
        Question::Otp { ref_id, .. } => sandbox
            .outbox()
            .into_iter()
            .rev()
            .find(|e| e.user == user && ref_id.is_none_or(|r| r == e.ref_id))
            .map(|e| e.otp),
        Question::Captcha { .. } => captcha.clone(),
        Question::Credentials | Question::NewPassword => None,
    })
}

/// The label and the session of a flow that must have ended `Tokened`.
fn tokened(flow: Flow) -> Result<(String, Session), CliError> {
    let session = flow
        .into_session()
        .map_err(|flow| CliError::ended_elsewhere(StateId::Tokened, flow.state_id()))?;
    Ok(("Tokened".to_owned(), session))
}

/// A refresh, labelled `Tokened` only when the refresh token was rotated.
fn refreshed(
    client: &Client<'_>,
    profile: &Profile,
    session: Session,
    progress: Progress<'_>,
) -> Result<(String, Session), CliError> {
    let before = session.tokens().refresh_token().expose().to_owned();
    let next = client.refresh(profile, session, progress)?;
    if next.tokens().refresh_token().expose() == before {
        return Ok(("Tokened, refresh token not rotated".to_owned(), next));
    }
    Ok(("Tokened".to_owned(), next))
}

/// A revoke, labelled `Revoked` when the server was asked, `Revoked (local)` otherwise.
fn revoked(
    client: &Client<'_>,
    profile: &Profile,
    session: Session,
    progress: Progress<'_>,
) -> Result<(String, ()), CliError> {
    let flow = client.revoke(profile, session, &mut *progress)?;
    let label = match super::sent_request(&flow) {
        Some(true) => "Revoked",
        Some(false) => {
            progress(Event::Note(
                "tokens dropped and zeroed; no request (no revoke endpoint)".into(),
            ));
            "Revoked (local)"
        }
        None => flow.state_id().as_str(),
    };
    Ok((label.to_owned(), ()))
}

/// Runs the demo. `quiet` (JSON output) prints no progress. With `--record` every exchange
/// of every flow goes to the one cassette; `--replay` does not apply (the demo's answers come
/// from its own sandbox's outbox).
pub fn run(s: &Settings, quiet: bool) -> Result<Outcome, CliError> {
    if let Tape::Replay(_) = s.tape {
        return Err(CliError::usage(
            "the demo runs against its own sandbox and cannot be replayed; record the commands \
             it stands for (login, refresh, ...) with --record and replay those",
        ));
    }
    let config = demo_config();
    let client_id = config.client_id.clone();
    let client_secret = config.client_secret.expose().to_owned();
    let realm_id = config.realm.clone();
    let device_token = config
        .device_tokens
        .first()
        .map(|t| t.expose().to_owned())
        .unwrap_or_default();
    let redirect_uri = config.redirect_uris.first().cloned().unwrap_or_default();
    let fixed_captcha = config.fixed_captcha.clone();
    let sandbox = Rc::new(
        login_sandbox::spawn_blocking_sandbox(config)
            .map_err(|e| CliError::config(format!("cannot start the embedded sandbox: {e}")))?,
    );
    let tty = std::io::stdout().is_terminal();
    if !quiet {
        // A closed stdout (`| head`) must not panic the demo: write errors are ignored.
        let _ = writeln!(
            std::io::stdout(),
            "loginflow demo: sandbox listening on {} (realm API under {})",
            sandbox.base_url(),
            sandbox.realm_base_url()
        );
    }
    let transport_for = |base: String| -> Result<Wire, CliError> {
        let tc = TransportConfig::new(&base).map_err(|e| CliError::config(e.to_string()))?;
        let transport = UreqTransport::new(tc).map_err(|e| CliError::config(e.to_string()))?;
        Ok(s.tape.wrap(transport))
    };
    let realm_transport = transport_for(sandbox.realm_base_url())?;
    let ciam_transport = transport_for(sandbox.base_url())?;
    let realm_client = Client::new(&realm_transport);
    let ciam_client = Client::new(&ciam_transport);
    let captcha_client = Client::new(&ciam_transport).captcha_first(true);
    let realm_config = RealmConfig::new(
        realm_id,
        client_id.clone(),
        ClientSecret::new(client_secret),
    );
    let realm_profile = Profile::from(realm_config.profile().clone());
    let realm = LoginConfig::Realm(realm_config);
    let sealer = JweSealer::from_jwk(&sandbox.public_jwk_json())
        .map_err(|e| CliError::config(format!("the sandbox's JWK: {e}")))?;
    let ciam_config = CiamConfig::new(client_id, redirect_uri, DeviceToken::new(device_token));
    let ciam_profile = Profile::from(ciam_config.profile().clone());
    let ciam_away = LoginConfig::Ciam(ciam_config.clone().location(AWAY.0, AWAY.1), sealer.clone());
    let ciam = LoginConfig::Ciam(ciam_config, sealer);
    let pw = |user: &str| Password::new(format!("{user}-password"));
    let oracle = |user: &'static str| {
        Interact::oracle(outbox_oracle(sandbox.clone(), user, fixed_captcha.clone()))
    };
    // A login as `user` with the demo's oracle answering its questions.
    let login = |client: &Client<'_>,
                 login: &LoginConfig,
                 user: &'static str,
                 password: Password,
                 progress: Progress<'_>| {
        let runner = login.runner(user, password);
        tokened(client.run(login.bank(), runner, &mut oracle(user), progress)?)
    };

    let mut r = Scoreboard {
        tty,
        quiet,
        rows: Vec::new(),
    };

    // Realm API.
    r.flow("realm: login, no OTP", "Tokened", |p| {
        login(&realm_client, &realm, "alice", pw("alice"), p)
    });
    let bob = r.flow("realm: login with OTP", "Tokened", |p| {
        login(&realm_client, &realm, "bob", pw("bob"), p)
    });
    let bob = bob.and_then(|t| {
        r.flow("realm: refresh", "Tokened", |p| {
            refreshed(&realm_client, &realm_profile, t, p)
        })
    });
    if let Some(t) = bob {
        r.flow(
            "realm: revoke (local, nothing sent)",
            "Revoked (local)",
            |p| revoked(&realm_client, &realm_profile, t, p),
        );
    }
    let reset = r.flow("realm: forgot password", "PasswordReset", |p| {
        let new_password = Password::new("carol-new-password");
        let runner = Runner::forgot_password(forgot::Start::new("carol"), new_password);
        let bank = Bank::Profile(&realm_profile);
        let done = realm_client.run(bank, runner, &mut oracle("carol"), p)?;
        Ok((done.state_id().as_str().to_owned(), ()))
    });
    if reset.is_some() {
        r.flow(
            "realm: old password refused",
            "error invalid_credentials (HTTP 401)",
            |p| login(&realm_client, &realm, "carol", pw("carol"), p),
        );
        r.flow("realm: login with new password + OTP", "Tokened", |p| {
            let new_password = Password::new("carol-new-password");
            login(&realm_client, &realm, "carol", new_password, p)
        });
    }

    // Internet-banking API.
    let alice = r.flow("ciam: login, no anomaly", "Tokened", |p| {
        login(&ciam_client, &ciam, "alice", pw("alice"), p)
    });
    r.flow("ciam: login with captcha", "Tokened", |p| {
        login(&captcha_client, &ciam, "bob", pw("bob"), p)
    });
    r.flow("ciam: login, anomaly -> 2FA OTP", "Tokened", |p| {
        login(&ciam_client, &ciam_away, "dave", pw("dave"), p)
    });
    let alice = alice.and_then(|t| {
        r.flow("ciam: refresh", "Tokened", |p| {
            refreshed(&ciam_client, &ciam_profile, t, p)
        })
    });
    if let Some(t) = alice {
        let kept = t.clone();
        let revoked = r.flow("ciam: revoke", "Revoked", |p| {
            revoked(&ciam_client, &ciam_profile, t, p)
        });
        if revoked.is_some() {
            r.flow(
                "ciam: refresh after revoke must fail",
                "error invalid_token (HTTP 401)",
                |p| refreshed(&ciam_client, &ciam_profile, kept, p),
            );
        }
    }

    let all_ok = r.rows.len() == EXPECTED_FLOWS && r.rows.iter().all(|row| row.ok);
    let mut outcome = Outcome::stateless()
        .field("ok", all_ok)
        .field(
            "flows",
            r.rows
                .iter()
                .map(|row| {
                    json!({
                        "name": row.name,
                        "expected": row.expected,
                        "result": row.result,
                        "ok": row.ok,
                        "ms": row.elapsed.as_millis() as u64,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .line("")
        .line(format!(
            "{:<40} {:<38} {:<38} {}",
            "flow", "expected", "result", "ok"
        ));
    for row in &r.rows {
        outcome = outcome.line(format!(
            "{:<40} {:<38} {:<38} {}",
            row.name,
            row.expected,
            row.result,
            if row.ok { "yes" } else { "NO" }
        ));
    }
    let passed = r.rows.iter().filter(|row| row.ok).count();
    outcome = outcome.line(format!(
        "{passed} of {EXPECTED_FLOWS} flows ended as expected{}",
        if all_ok { "" } else { ": FAILED" }
    ));
    drop(r);
    // The sandbox stops when its last handle goes (oracles held clones; they are gone now).
    drop(sandbox);
    Ok(if all_ok {
        outcome
    } else {
        outcome.exit_code(EXIT_SERVER)
    })
}

/// How many rows a full run has: a flow skipped because an earlier one failed counts as failed.
const EXPECTED_FLOWS: usize = 13;
