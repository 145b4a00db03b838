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

use login_core::ciam::CiamConfig;
use login_core::realm::RealmConfig;
use login_core::seal::JweSealer;
use login_core::secret::{ClientSecret, DeviceToken, Password};
use login_sandbox::config::{AnomalyMode, Channel, GeoPoint, Mfa, UserConfig};
use login_sandbox::{BlockingSandbox, SandboxConfig};
use login_transport::{TransportConfig, UreqTransport};
use serde_json::json;

use crate::engine::{self, CiamLogin, Client, Event};
use crate::interact::{Interact, Oracle, Question};
use crate::output::{CliError, EXIT_SERVER, Outcome};

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
struct Runner {
    tty: bool,
    quiet: bool,
    rows: Vec<Row>,
}

impl Runner {
    fn event_text(event: &Event) -> String {
        match event {
            Event::Sending(step) => format!("{} ...", step.as_str()),
            Event::Reached(state) => format!("-> {}", state.as_str()),
            Event::Note(note) => format!("   {note}"),
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
            let text = crate::redact::redact(&Self::event_text(&event));
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
                    None => format!("error {}: {}", e.kind(), crate::redact::redact(e.message())),
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
    Box::new(move |question| match question {
        Question::Otp { ref_id } => sandbox
            .outbox()
            .into_iter()
            .rev()
            .find(|e| e.user == user && ref_id.is_none_or(|r| r == e.ref_id))
            .map(|e| e.otp),
        Question::Captcha => captcha.clone(),
    })
}

fn tokened_label<T>(value: T) -> Result<(String, T), CliError> {
    Ok(("Tokened".to_owned(), value))
}

/// Runs the demo. `quiet` (JSON output) prints no progress.
pub fn run(quiet: bool) -> Result<Outcome, CliError> {
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
    let transport_for = |base: String| -> Result<UreqTransport, CliError> {
        let tc = TransportConfig::new(&base).map_err(|e| CliError::config(e.to_string()))?;
        UreqTransport::new(tc).map_err(|e| CliError::config(e.to_string()))
    };
    let realm_transport = transport_for(sandbox.realm_base_url())?;
    let ciam_transport = transport_for(sandbox.base_url())?;
    let realm_client = Client::new(&realm_transport);
    let ciam_client = Client::new(&ciam_transport);
    let realm = RealmConfig::new(
        realm_id,
        client_id.clone(),
        ClientSecret::new(client_secret),
    );
    let ciam = CiamConfig::new(client_id, redirect_uri, DeviceToken::new(device_token));
    let ciam_away = ciam.clone().location(AWAY.0, AWAY.1);
    let sealer = JweSealer::from_jwk(&sandbox.public_jwk_json())
        .map_err(|e| CliError::config(format!("the sandbox's JWK: {e}")))?;
    let pw = |user: &str| Password::new(format!("{user}-password"));
    let oracle = |user: &'static str| {
        Interact::oracle(outbox_oracle(sandbox.clone(), user, fixed_captcha.clone()))
    };

    let mut r = Runner {
        tty,
        quiet,
        rows: Vec::new(),
    };

    // Realm API.
    r.flow("realm: login, no OTP", "Tokened", |p| {
        tokened_label(engine::realm_login(
            &realm_client,
            &realm,
            "alice",
            pw("alice"),
            &mut oracle("alice"),
            p,
        )?)
    });
    let bob = r.flow("realm: login with OTP", "Tokened", |p| {
        tokened_label(engine::realm_login(
            &realm_client,
            &realm,
            "bob",
            pw("bob"),
            &mut oracle("bob"),
            p,
        )?)
    });
    let bob = bob.and_then(|t| {
        r.flow("realm: refresh", "Tokened", |p| {
            let before = t.tokens().refresh_token().expose().to_owned();
            let next = engine::realm_refresh(&realm_client, &realm, t, p)?;
            if next.tokens().refresh_token().expose() == before {
                return Ok(("Tokened, refresh token not rotated".to_owned(), next));
            }
            tokened_label(next)
        })
    });
    if let Some(t) = bob {
        r.flow(
            "realm: revoke (local, nothing sent)",
            "Revoked (local)",
            |p| {
                let revoked = t.revoke();
                let label = if revoked.sent_request() {
                    "Revoked (sent)"
                } else {
                    "Revoked (local)"
                };
                p(Event::Reached(login_core::table::StateId::Revoked));
                p(Event::Note(
                    "tokens dropped and zeroed; no request (no revoke endpoint)".into(),
                ));
                Ok((label.to_owned(), ()))
            },
        );
    }
    let reset = r.flow("realm: forgot password", "PasswordReset", |p| {
        let done = engine::forgot_password(
            &realm_client,
            &realm,
            "carol",
            Password::new("carol-new-password"),
            &mut oracle("carol"),
            p,
        )?;
        Ok(("PasswordReset".to_owned(), done))
    });
    if reset.is_some() {
        r.flow(
            "realm: old password refused",
            "error invalid_credentials (HTTP 401)",
            |p| {
                tokened_label(engine::realm_login(
                    &realm_client,
                    &realm,
                    "carol",
                    pw("carol"),
                    &mut oracle("carol"),
                    p,
                )?)
            },
        );
        r.flow("realm: login with new password + OTP", "Tokened", |p| {
            tokened_label(engine::realm_login(
                &realm_client,
                &realm,
                "carol",
                Password::new("carol-new-password"),
                &mut oracle("carol"),
                p,
            )?)
        });
    }

    // Internet-banking API.
    let login = |user: &'static str, captcha_first: bool| CiamLogin {
        sealer: &sealer,
        username: user,
        password: pw(user),
        captcha_first,
    };
    let alice = r.flow("ciam: login, no anomaly", "Tokened", |p| {
        tokened_label(engine::ciam_login(
            &ciam_client,
            &ciam,
            login("alice", false),
            &mut oracle("alice"),
            p,
        )?)
    });
    r.flow("ciam: login with captcha", "Tokened", |p| {
        tokened_label(engine::ciam_login(
            &ciam_client,
            &ciam,
            login("bob", true),
            &mut oracle("bob"),
            p,
        )?)
    });
    r.flow("ciam: login, anomaly -> 2FA OTP", "Tokened", |p| {
        tokened_label(engine::ciam_login(
            &ciam_client,
            &ciam_away,
            login("dave", false),
            &mut oracle("dave"),
            p,
        )?)
    });
    let alice = alice.and_then(|t| {
        r.flow("ciam: refresh", "Tokened", |p| {
            tokened_label(engine::ciam_refresh(&ciam_client, &ciam, t, p)?)
        })
    });
    if let Some(t) = alice {
        let kept = t.clone();
        let revoked = r.flow("ciam: revoke", "Revoked", |p| {
            engine::ciam_revoke(&ciam_client, &ciam, t, p)?;
            Ok(("Revoked".to_owned(), ()))
        });
        if revoked.is_some() {
            r.flow(
                "ciam: refresh after revoke must fail",
                "error invalid_token (HTTP 401)",
                |p| tokened_label(engine::ciam_refresh(&ciam_client, &ciam, kept, p)?),
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
