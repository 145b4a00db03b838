//! The habits of docker and gh: global flags after the subcommand, settings from
//! `LOGINFLOW_*` variables and a profile file (flag > environment > file), help with every flag
//! a subcommand needs and examples, `RUST_LOG`, errors that name the URL they tried and never a
//! library call, a password asked for only on a terminal, and `diagram --format mermaid` that
//! is exactly one Mermaid diagram.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use common::{Env, closed_port_url, json_of, login_as, loginflow, session_command, session_tokens};
use predicates::prelude::*;

#[test]
fn global_flags_work_after_the_subcommand() {
    let env = Env::new();
    let session = env.path("bob.session");
    loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", &env.client_secret)
        .args([
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--otp",
            "123456",
        ])
        .args(["--api", "cap", "--base-url", &env.sandbox.realm_base_url()])
        .args([
            "--realm",
            "cap",
            "--client-id",
            &env.client_id,
            "--output",
            "json",
        ])
        .arg("--save-session")
        .arg(&session)
        .write_stdin("bob-password\n")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("{\"state\":\"Tokened\""));
    // The issue's example.
    loginflow()
        .args(["refresh", "--session"])
        .arg(&session)
        .args(["--timeout", "5"])
        .assert()
        .code(0);
    // Before and after at once: the command line's last value wins, as clap does.
    let out = loginflow()
        .args([
            "--output",
            "text",
            "refresh",
            "--output",
            "json",
            "--session",
        ])
        .arg(&session)
        .output()
        .unwrap();
    assert_eq!(json_of(&out)["state"], "Tokened");
}

#[test]
fn every_setting_comes_from_the_environment() {
    let env = Env::new();
    loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", &env.client_secret)
        .env("LOGINFLOW_API", "cap")
        .env("LOGINFLOW_BASE_URL", env.sandbox.realm_base_url())
        .env("LOGINFLOW_REALM", "cap")
        .env("LOGINFLOW_CLIENT_ID", &env.client_id)
        .env("LOGINFLOW_OUTPUT", "json")
        .env("LOGINFLOW_TIMEOUT", "5")
        .env("LOGINFLOW_USERNAME", "alice")
        .args(["login", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"username\":\"alice\""));
    // The internet-banking settings too, and a flag over its variable.
    loginflow()
        .env("LOGINFLOW_API", "ciam")
        .env("LOGINFLOW_BASE_URL", closed_port_url())
        .env("LOGINFLOW_CLIENT_ID", &env.client_id)
        .env("LOGINFLOW_REDIRECT_URI", &env.redirect_uri)
        .env("LOGINFLOW_DEVICE_TOKEN_FILE", &env.device_token)
        .env("LOGINFLOW_SERVER_KEY", &env.jwk)
        .env("LOGINFLOW_ROUTES", "gateway")
        .args(["--base-url", &env.sandbox.base_url()])
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(0);
    // A bad value in a variable is a usage error naming it.
    loginflow()
        .env("LOGINFLOW_TIMEOUT", "0")
        .arg("diagram")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("timeout"));
}

#[test]
fn a_profile_file_sits_under_the_environment_and_the_flags() {
    let env = Env::new();
    let toml = env.path("bank.toml");
    std::fs::write(
        &toml,
        format!(
            "api = \"cap\"\nbase-url = \"{}\"\nrealm = \"cap\"\nclient-id = \"not-the-client\"\n\
             client-secret-file = \"secret\"\n",
            closed_port_url()
        ),
    )
    .unwrap();
    // Relative to the profile file.
    std::fs::write(env.path("secret"), format!("{}\n", env.client_secret)).unwrap();
    // The file alone: its base URL refuses the connection.
    loginflow()
        .arg("--profile")
        .arg(&toml)
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(3);
    // The environment over the file, a flag over both.
    loginflow()
        .env("LOGINFLOW_PROFILE", &toml)
        .env("LOGINFLOW_BASE_URL", env.sandbox.realm_base_url())
        .env("LOGINFLOW_CLIENT_ID", "also-not-the-client")
        .args(["--client-id", &env.client_id])
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(0);
    // JSON works too; a secret in a profile file is refused.
    let json = env.path("bank.json");
    std::fs::write(&json, r#"{"api":"cap","password":"x"}"#).unwrap();
    loginflow()
        .arg("--profile")
        .arg(&json)
        .arg("diagram")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "secrets never go in a profile file",
        ));
}

/// A saved session keeps its server: an exported base URL does not redirect its tokens, only
/// a flag on the command line overrides it.
#[test]
fn the_environment_does_not_override_a_saved_session() {
    let env = Env::new();
    let session = env.path("bob.session");
    env.cap()
        .args([
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--otp",
            "123456",
        ])
        .arg("--save-session")
        .arg(&session)
        .write_stdin("bob-password\n")
        .assert()
        .code(0);
    loginflow()
        .env("LOGINFLOW_BASE_URL", closed_port_url())
        .env("LOGINFLOW_API", "ciam")
        .args(["refresh", "--session"])
        .arg(&session)
        .assert()
        .code(0);
    loginflow()
        .args(["refresh", "--base-url", &closed_port_url(), "--session"])
        .arg(&session)
        .assert()
        .code(3);
}

#[test]
fn help_lists_the_flags_a_subcommand_needs_and_examples() {
    let out = loginflow().args(["login", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for needed in [
        "--api",
        "--base-url",
        "--realm",
        "--client-id",
        "--client-secret-file",
        "--redirect-uri",
        "--device-token-file",
        "--server-key",
        "--save-pending",
        "LOGINFLOW_BASE_URL",
        "Examples:",
    ] {
        assert!(help.contains(needed), "{needed} in login --help:\n{help}");
    }
    let top = loginflow().arg("--help").output().unwrap();
    let top = String::from_utf8(top.stdout).unwrap();
    for needed in [
        "Examples:",
        "Exit codes:",
        "resume",
        "token",
        "status",
        "4 a login paused",
    ] {
        assert!(top.contains(needed), "{needed} in --help");
    }
    for sub in ["resume", "token", "status", "refresh"] {
        let out = loginflow().args([sub, "--help"]).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(
            help.contains("Examples:") && help.contains("--timeout"),
            "{sub}: {help}"
        );
    }
}

#[test]
fn the_password_is_asked_for_only_on_a_terminal() {
    let env = Env::new();
    // stdin is a pipe and --password-stdin is absent: nobody to ask, nothing read or sent.
    env.cap()
        .args(["login", "--username", "alice"])
        .write_stdin("alice-password\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--password-stdin"));
}

#[test]
fn transport_errors_name_the_url_and_no_library_call() {
    let url = closed_port_url();
    let out = loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", "test-client-secret")
        .args([
            "--api",
            "cap",
            "--base-url",
            &format!("{url}/bank"),
            "--realm",
            "cap",
        ])
        .args(["--client-id", "c", "--output", "json"])
        .args(["login", "--username", "a", "--password-stdin"])
        .write_stdin("pw\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let message = json_of(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains(&format!("POST {url}/bank/auth/realm/cap/")),
        "{message}"
    );
    // Plain HTTP elsewhere: the flag, not the library call.
    let out = loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", "test-client-secret")
        .args([
            "--api",
            "cap",
            "--base-url",
            "http://bank.example.invalid/x",
        ])
        .args(["--realm", "cap", "--client-id", "c", "--output", "json"])
        .args(["login", "--username", "a", "--password-stdin"])
        .write_stdin("pw\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let message = json_of(&out)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("--allow-http"), "{message}");
    assert!(!message.contains("allow_http("), "{message}");
    assert!(message.contains("http://bank.example.invalid"), "{message}");
}

#[test]
fn rust_log_is_honoured_beside_loginflow_log() {
    let env = Env::new();
    env.cap()
        .env("RUST_LOG", "debug")
        .env_remove("LOGINFLOW_LOG")
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("login_step"));
    // LOGINFLOW_LOG wins when both are set.
    env.cap()
        .env("RUST_LOG", "debug")
        .env("LOGINFLOW_LOG", "off")
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .code(0)
        .stderr(predicate::str::is_empty());
}

#[test]
fn mermaid_output_is_exactly_one_diagram() {
    let out = loginflow()
        .args(["diagram", "--format", "mermaid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("stateDiagram-v2\n"), "{text}");
    assert_eq!(text.matches("stateDiagram-v2").count(), 1);
    assert!(!text.contains("```") && !text.contains("# "));
    for state in ["MfaPending", "PasswordReset", "CaptchaShown"] {
        assert!(text.contains(state), "{state}");
    }
    // One API, `--api` after the subcommand.
    let out = loginflow()
        .args(["diagram", "--format", "mermaid", "--api", "ciam"])
        .output()
        .unwrap();
    let ciam = String::from_utf8(out.stdout).unwrap();
    assert!(ciam.contains("CaptchaShown") && !ciam.contains("PasswordReset"));
    // The page stays the default.
    loginflow()
        .arg("diagram")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("# State diagrams"));
}

#[test]
fn progress_is_silent_off_a_terminal() {
    let env = Env::new();
    let session = env.path("s");
    login_as(env.cap(), "alice")
        .arg("--save-session")
        .arg(&session)
        .assert()
        .code(0)
        .stderr(predicate::str::is_empty());
    session_tokens(&session);
    session_command("text", "refresh", &session)
        .assert()
        .code(0)
        .stderr(predicate::str::is_empty());
}

/// A bank that reads the wire its own way: the profile file's reading settings (no flags)
/// make the login work, and the saved session keeps them for the refresh.
#[test]
fn a_profile_files_readings_fit_a_bank_that_deviates() {
    use login_sandbox::deviation::{self, Deviation};
    let env = Env::with(|c| {
        c.deviations = vec![
            Deviation::ScopeArray,
            Deviation::EnvelopeField,
            Deviation::RedirectStep,
        ];
    });
    // The contract's readings fail at once (authorize is redirected).
    env.ciam()
        .args(["login", "--username", "alice", "--password-stdin"])
        .write_stdin("alice-password\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("redirect"));
    let toml = env.path("bank.toml");
    std::fs::write(
        &toml,
        format!(
            "scope-form = \"array\"\nenvelope-field = \"{}\"\nrefresh-fields = \"tokenOnly\"\n\
             [paths]\nauthorize = \"{}\"\n",
            deviation::ENVELOPE_FIELD,
            deviation::REDIRECT_TO
        ),
    )
    .unwrap();
    let session = env.path("alice.session");
    env.ciam()
        .arg("--profile")
        .arg(&toml)
        .args([
            "login",
            "--username",
            "alice",
            "--password-stdin",
            "--save-session",
        ])
        .arg(&session)
        .write_stdin("alice-password\n")
        .assert()
        .code(0);
    // The refresh sends scope as an array again: the session file kept the setting.
    session_command("json", "refresh", &session)
        .assert()
        .code(0);
    // A bad reading value is a configuration error naming the key.
    std::fs::write(&toml, "envelope-enc = \"A192GCM\"\n").unwrap();
    env.ciam()
        .arg("--profile")
        .arg(&toml)
        .arg("diagram")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("A192GCM"));
}
