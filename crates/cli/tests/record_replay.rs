//! `--record FILE` and `--replay FILE`: every flow of `loginflow demo`, run as the command a
//! person would type, recorded against the sandbox, then replayed with the sandbox gone: the
//! same exit code and the same JSON output. The cassettes hold none of the secrets used.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{Env, json_of, loginflow, session_tokens};
use login_sandbox::config::{AnomalyMode, Channel, GeoPoint, Mfa, UserConfig};
use login_sandbox::secret::Secret;
use serde_json::Value;

const CLIENT_SECRET: &str = "CANARY-rr-client-secret-41";
const DEVICE_TOKEN: &str = "CANARY-rr-device-token-9c";
const OTP: &str = "CANARY-rr-otp-77";
const CAPTCHA: &str = "CANARYRRCAPTCHA5";
const NEW_PASSWORD: &str = "CANARY-rr-new-password-0e";

fn password(user: &str) -> String {
    format!("CANARY-rr-{user}-password")
}

/// The demo's sandbox (its users, anomaly by location, dave last seen in Bangkok), with every
/// secret a canary.
fn demo_like_env() -> Env {
    Env::with(|c| {
        c.client_secret = Secret::new(CLIENT_SECRET);
        c.device_tokens = vec![Secret::new(DEVICE_TOKEN)];
        c.fixed_otp = Some(OTP.into());
        c.fixed_captcha = Some(CAPTCHA.into());
        c.anomaly = AnomalyMode::Rule;
        c.users.clear();
        for (name, mfa, home) in [
            ("alice", Mfa::None, None),
            ("bob", Mfa::Otp, None),
            ("carol", Mfa::Otp, None),
            (
                "dave",
                Mfa::None,
                Some(GeoPoint {
                    latitude: 13.7563,
                    longitude: 100.5018,
                }),
            ),
        ] {
            c.users.insert(
                name.into(),
                UserConfig {
                    password: Secret::new(password(name)),
                    mfa,
                    channel: Channel::Email,
                    last_location: home,
                },
            );
        }
    })
}

/// One demo flow as a command: its name, the command line after the global flags, its
/// stdin, and a file to copy first (in the run's directory: a session kept aside, to refresh
/// after a revoke, or to read the tokens it held).
struct Flow {
    name: &'static str,
    api: Api,
    args: Vec<String>,
    stdin: Option<String>,
    copy_first: Option<(&'static str, &'static str)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Api {
    /// `--api cap ...`
    Cap,
    /// `--api ciam ...`
    Ciam,
    /// A saved session's command: the file holds the settings.
    Session,
}

fn flow(name: &'static str, api: Api, args: &[&str], stdin: Option<&str>) -> Flow {
    Flow {
        name,
        api,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        stdin: stdin.map(|s| format!("{s}\n")),
        copy_first: None,
    }
}

/// The demo's thirteen flows (`commands/demo.rs`), in its order.
fn demo_flows() -> Vec<Flow> {
    let (alice, bob, carol, dave) = (
        password("alice"),
        password("bob"),
        password("carol"),
        password("dave"),
    );
    vec![
        flow(
            "realm: login, no OTP",
            Api::Cap,
            &["login", "--username", "alice", "--password-stdin"],
            Some(&alice),
        ),
        flow(
            "realm: login with OTP",
            Api::Cap,
            &[
                "login",
                "--username",
                "bob",
                "--password-stdin",
                "--otp",
                OTP,
                "--save-session",
                "bob.session",
            ],
            Some(&bob),
        ),
        Flow {
            copy_first: Some(("bob.session", "bob-login.session")),
            ..flow(
                "realm: refresh",
                Api::Session,
                &["refresh", "--session", "bob.session"],
                None,
            )
        },
        Flow {
            copy_first: Some(("bob.session", "bob-kept.session")),
            ..flow(
                "realm: revoke (local, nothing sent)",
                Api::Session,
                &["revoke", "--session", "bob.session"],
                None,
            )
        },
        flow(
            "realm: forgot password",
            Api::Cap,
            &[
                "forgot-password",
                "--username",
                "carol",
                "--otp",
                OTP,
                "--new-password-stdin",
            ],
            Some(NEW_PASSWORD),
        ),
        flow(
            "realm: old password refused",
            Api::Cap,
            &["login", "--username", "carol", "--password-stdin"],
            Some(&carol),
        ),
        flow(
            "realm: login with new password + OTP",
            Api::Cap,
            &[
                "login",
                "--username",
                "carol",
                "--password-stdin",
                "--otp",
                OTP,
            ],
            Some(NEW_PASSWORD),
        ),
        flow(
            "ciam: login, no anomaly",
            Api::Ciam,
            &[
                "login",
                "--username",
                "alice",
                "--password-stdin",
                "--save-session",
                "alice.session",
            ],
            Some(&alice),
        ),
        flow(
            "ciam: login with captcha",
            Api::Ciam,
            &[
                "login",
                "--username",
                "bob",
                "--password-stdin",
                "--captcha",
                "--captcha-answer",
                CAPTCHA,
            ],
            Some(&bob),
        ),
        flow(
            "ciam: login, anomaly -> 2FA OTP",
            Api::Ciam,
            &[
                "--lat",
                "1.3521",
                "--lon",
                "103.8198",
                "login",
                "--username",
                "dave",
                "--password-stdin",
                "--otp",
                OTP,
            ],
            Some(&dave),
        ),
        Flow {
            copy_first: Some(("alice.session", "alice-login.session")),
            ..flow(
                "ciam: refresh",
                Api::Session,
                &["refresh", "--session", "alice.session"],
                None,
            )
        },
        Flow {
            copy_first: Some(("alice.session", "alice-kept.session")),
            ..flow(
                "ciam: revoke",
                Api::Session,
                &["revoke", "--session", "alice.session"],
                None,
            )
        },
        flow(
            "ciam: refresh after revoke must fail",
            Api::Session,
            &["refresh", "--session", "alice-kept.session"],
            None,
        ),
    ]
}

/// What one run of a flow printed.
struct Ran {
    code: i32,
    json: Value,
    stderr: String,
}

/// The global flags of both APIs against one sandbox, kept as text so that the same command
/// lines run once the sandbox is gone.
struct Flags {
    realm_url: String,
    ciam_url: String,
    client_id: String,
    redirect_uri: String,
    client_secret: String,
    jwk: PathBuf,
    device_token: PathBuf,
}

impl Flags {
    fn of(env: &Env) -> Self {
        Flags {
            realm_url: env.sandbox.realm_base_url(),
            ciam_url: env.sandbox.base_url(),
            client_id: env.client_id.clone(),
            redirect_uri: env.redirect_uri.clone(),
            client_secret: env.client_secret.clone(),
            jwk: env.jwk.clone(),
            device_token: env.device_token.clone(),
        }
    }

    /// `loginflow` with the API's global flags (as `Env::cap` and `Env::ciam` give them).
    fn command(&self, api: Api) -> Command {
        let mut cmd = loginflow();
        match api {
            Api::Cap => {
                cmd.env("LOGINFLOW_CLIENT_SECRET", &self.client_secret)
                    .args(["--api", "cap", "--base-url", &self.realm_url])
                    .args(["--realm", "cap", "--client-id", &self.client_id]);
            }
            Api::Ciam => {
                cmd.args(["--api", "ciam", "--base-url", &self.ciam_url])
                    .args(["--client-id", &self.client_id])
                    .args(["--redirect-uri", &self.redirect_uri])
                    .arg("--device-token-file")
                    .arg(&self.device_token)
                    .arg("--server-key")
                    .arg(&self.jwk);
            }
            Api::Session => {}
        }
        cmd
    }
}

/// Runs `flow` in `dir` with `tape` (`--record` or `--replay`) and its cassette.
fn run(flags: &Flags, flow: &Flow, dir: &Path, tape: &str, cassette: &Path) -> Ran {
    if let Some((from, to)) = flow.copy_first {
        std::fs::copy(dir.join(from), dir.join(to)).unwrap();
    }
    let mut cmd = flags.command(flow.api);
    cmd.current_dir(dir)
        .args(["--output", "json", tape])
        .arg(cassette)
        .args(&flow.args);
    if let Some(stdin) = &flow.stdin {
        cmd.write_stdin(stdin.as_str());
    }
    let output = cmd.output().unwrap();
    let code = output.status.code().unwrap();
    Ran {
        code,
        json: json_of(&output),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The JSON output without what the clock decides: the absolute expiry instants are counted
/// from the moment each response arrived, which differs between the two runs. What they say
/// about the tokens (the gap between access and refresh expiry, the lifetimes the server gave)
/// is kept and compared.
fn clockless(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        let access = map.remove("expiresAt").and_then(|v| v.as_u64());
        let refresh = map.remove("refreshExpiresAt").and_then(|v| v.as_u64());
        if let (Some(a), Some(r)) = (access, refresh) {
            map.insert("refreshOutlivesAccessBy".into(), Value::from(r - a));
        }
    }
    v
}

fn cassette_of(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("{i:02}.jsonl"))
}

#[test]
fn every_demo_flow_replays_offline_with_the_same_exit_code_and_json() {
    let env = demo_like_env();
    let flags = Flags::of(&env);
    let recording = tempfile::tempdir().unwrap();
    let replaying = tempfile::tempdir().unwrap();
    let cassettes = tempfile::tempdir().unwrap();
    let flows = demo_flows();
    let recorded: Vec<Ran> = flows
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let cassette = cassette_of(cassettes.path(), i);
            run(&flags, f, recording.path(), "--record", &cassette)
        })
        .collect();
    // The demo's expectations held while recording.
    let codes: Vec<i32> = recorded.iter().map(|r| r.code).collect();
    assert_eq!(codes, [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1], "{:?}", {
        recorded
            .iter()
            .map(|r| r.json.to_string())
            .collect::<Vec<_>>()
    });
    assert_eq!(recorded[5].json["error"]["kind"], "invalid_credentials");
    assert_eq!(recorded[12].json["error"]["kind"], "invalid_token");
    assert_eq!(
        recorded[3].json["sentRequest"], false,
        "{}",
        recorded[3].json
    );

    let tokens: Vec<String> = [
        "bob-login.session",
        "bob-kept.session",
        "alice-login.session",
        "alice-kept.session",
    ]
    .iter()
    .flat_map(|f| session_tokens(&recording.path().join(f)))
    .collect();
    // The sandbox goes (its port closes); its key and device token files stay. Nothing may
    // dial it now.
    let Env { sandbox, dir, .. } = env;
    drop(sandbox);

    for (i, (f, rec)) in flows.iter().zip(&recorded).enumerate() {
        let cassette = cassette_of(cassettes.path(), i);
        let rep = run(&flags, f, replaying.path(), "--replay", &cassette);
        assert_eq!(rep.code, rec.code, "{}: {}", f.name, rep.json);
        assert!(
            !rep.stderr.contains("not used"),
            "{}: {}",
            f.name,
            rep.stderr
        );
        assert_eq!(
            clockless(rep.json.clone()),
            clockless(rec.json.clone()),
            "{}",
            f.name
        );
    }
    // The replayed sessions hold the replay's own tokens, not the recorded ones.
    let replayed_tokens = session_tokens(&replaying.path().join("alice-kept.session"));
    assert!(
        replayed_tokens.iter().all(|t| t.starts_with("replayed-")),
        "{replayed_tokens:?}"
    );

    // No cassette holds a secret of the recording run.
    let mut secrets: Vec<String> = tokens;
    secrets.extend(
        [CLIENT_SECRET, DEVICE_TOKEN, OTP, CAPTCHA, NEW_PASSWORD]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    for user in ["alice", "bob", "carol", "dave"] {
        secrets.push(password(user));
    }
    for (i, f) in flows.iter().enumerate() {
        let text = std::fs::read_to_string(cassette_of(cassettes.path(), i)).unwrap();
        assert!(!text.contains("CANARY"), "{}: {text}", f.name);
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{}: {secret}", f.name);
        }
    }
    drop(dir);
}

#[test]
fn a_replay_never_dials_whatever_the_base_url() {
    let env = demo_like_env();
    let flags = Flags::of(&env);
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("alice.jsonl");
    let login = |cmd: &mut Command| {
        cmd.args([
            "--output",
            "json",
            "login",
            "--username",
            "alice",
            "--password-stdin",
        ])
        .write_stdin(format!("{}\n", password("alice")))
        .output()
        .unwrap()
    };
    let recorded = login(flags.command(Api::Cap).arg("--record").arg(&cassette));
    assert!(recorded.status.success(), "{}", json_of(&recorded));
    // Plain HTTP to a host that does not resolve, without --allow-http: a live run refuses
    // it before sending; a replay never looks.
    let elsewhere = Flags {
        realm_url: "http://bank.invalid/internal-api".into(),
        ..Flags::of(&env)
    };
    let refused = login(&mut elsewhere.command(Api::Cap));
    assert_eq!(refused.status.code(), Some(2), "{}", json_of(&refused));
    let replayed = login(elsewhere.command(Api::Cap).arg("--replay").arg(&cassette));
    assert!(replayed.status.success(), "{}", json_of(&replayed));
    assert_eq!(clockless(json_of(&replayed)), clockless(json_of(&recorded)));
    // Another user is not what was recorded: exit 3, and a diff naming the field.
    let other = elsewhere
        .command(Api::Cap)
        .args(["--output", "json", "--replay"])
        .arg(&cassette)
        .args(["login", "--username", "mallory", "--password-stdin"])
        .write_stdin(format!("{}\n", password("mallory")))
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(3));
    let error = &json_of(&other)["error"];
    assert_eq!(error["kind"], "cassette", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("body.username: expected \"alice\", got \"mallory\""),
        "{message}"
    );
    assert!(!message.contains("CANARY"), "{message}");
}

#[test]
fn record_and_replay_are_refused_together_and_where_they_do_not_apply() {
    let dir = tempfile::tempdir().unwrap();
    let both = loginflow()
        .args(["--output", "json", "--record"])
        .arg(dir.path().join("a.jsonl"))
        .arg("--replay")
        .arg(dir.path().join("b.jsonl"))
        .arg("diagram")
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2));
    assert!(
        json_of(&both)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--record and --replay cannot be used together")
    );
    let missing = loginflow()
        .args(["--output", "json", "--replay"])
        .arg(dir.path().join("missing.jsonl"))
        .arg("diagram")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(json_of(&missing)["error"]["kind"], "config");
    // The environment variable works as the flag does.
    std::fs::write(dir.path().join("empty.jsonl"), "").unwrap();
    let empty = loginflow()
        .env("LOGINFLOW_REPLAY", dir.path().join("empty.jsonl"))
        .args(["--output", "json", "diagram"])
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(2));
    assert!(
        json_of(&empty)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("empty"),
    );
    let sandbox = loginflow()
        .args(["--output", "json", "--record"])
        .arg(dir.path().join("s.jsonl"))
        .arg("sandbox")
        .output()
        .unwrap();
    assert_eq!(sandbox.status.code(), Some(2));
}

#[test]
fn the_demo_records_every_flow_to_one_cassette_and_refuses_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("demo.jsonl");
    let demo = loginflow()
        .args(["--output", "json", "--record"])
        .arg(&cassette)
        .arg("demo")
        .output()
        .unwrap();
    let out = json_of(&demo);
    assert_eq!(out["ok"], true, "{out}");
    let text = std::fs::read_to_string(&cassette).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["cassette"], 1);
    assert!(
        lines[0]["createdBy"]
            .as_str()
            .unwrap()
            .starts_with("loginflow ")
    );
    let steps: std::collections::BTreeSet<&str> = lines[1..]
        .iter()
        .map(|l| l["step"].as_str().unwrap())
        .collect();
    for step in [
        "realm.request_login",
        "realm.token",
        "realm.refresh",
        "forgot_password.reset_password",
        "ciam.captcha",
        "ciam.pre_login_verify",
        "ciam.revoke",
    ] {
        assert!(steps.contains(step), "{step} in {steps:?}");
    }
    // The demo's sandbox secrets (its test configuration) are not in it.
    for secret in [
        login_sandbox::config::TEST_CLIENT_SECRET,
        login_sandbox::config::TEST_DEVICE_TOKEN,
        "alice-password",
        "carol-new-password",
    ] {
        assert!(!text.contains(secret), "{secret}");
    }
    let replay = loginflow()
        .args(["--output", "json", "--replay"])
        .arg(&cassette)
        .arg("demo")
        .output()
        .unwrap();
    assert_eq!(replay.status.code(), Some(2));
}
