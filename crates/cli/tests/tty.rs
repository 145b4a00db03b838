//! The terminal paths: `script` (util-linux) runs the CLI on a pseudo-terminal, so stderr is a
//! TTY and `/dev/tty` opens; what the test writes to `script`'s stdin is what a person types.
//! The password still comes from a pipe (`--password-stdin`), as in `pass show bank | loginflow`.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use common::Env;

/// Runs `loginflow ARGS` on a pseudo-terminal with `password` piped to its stdin and `typed`
/// typed at the terminal. Returns the exit code and the terminal transcript.
fn on_tty(
    env: &Env,
    global: &[String],
    args: &[&str],
    password: &str,
    typed: &str,
) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("loginflow");
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let mut command = format!(
        "printf '%s\\n' {} | {}",
        quote(password),
        quote(&bin.display().to_string())
    );
    for a in global
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
    {
        command.push(' ');
        command.push_str(&quote(a));
    }
    let out = assert_cmd::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env_remove("RUST_LOG")
        .env_remove("LOGINFLOW_LOG")
        .env("LOGINFLOW_CLIENT_SECRET", &env.client_secret)
        .env("TMPDIR", env.dir.path())
        .write_stdin(typed.to_owned())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("script (util-linux) runs");
    let transcript = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    (out.status.code().unwrap_or(-1), transcript)
}

fn cap_flags(env: &Env) -> Vec<String> {
    [
        "--api",
        "cap",
        "--base-url",
        &env.sandbox.realm_base_url(),
        "--realm",
        "cap",
        "--client-id",
        &env.client_id,
    ]
    .map(String::from)
    .to_vec()
}

fn ciam_flags(env: &Env) -> Vec<String> {
    vec![
        "--api".into(),
        "ciam".into(),
        "--base-url".into(),
        env.sandbox.base_url(),
        "--client-id".into(),
        env.client_id.clone(),
        "--redirect-uri".into(),
        env.redirect_uri.clone(),
        "--device-token-file".into(),
        env.device_token.display().to_string(),
        "--server-key".into(),
        env.jwk.display().to_string(),
    ]
}

#[test]
fn realm_otp_is_prompted_on_a_terminal_with_its_reference() {
    let env = Env::new();
    let (code, transcript) = on_tty(
        &env,
        &cap_flags(&env),
        &["login", "--username", "bob", "--password-stdin"],
        "bob-password",
        "123456\n",
    );
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("a one-time password was sent (reference "),
        "{transcript}"
    );
    assert!(transcript.contains("OTP: "), "{transcript}");
    assert!(
        transcript.contains("Tokened: logged in as bob"),
        "{transcript}"
    );
    assert!(!transcript.contains("bob-password"), "{transcript}");
}

#[test]
fn a_refused_otp_is_asked_again_on_a_terminal() {
    let env = Env::new();
    let (code, transcript) = on_tty(
        &env,
        &cap_flags(&env),
        &["login", "--username", "bob", "--password-stdin"],
        "bob-password",
        "000000\n123456\n",
    );
    assert_eq!(code, 0, "{transcript}");
    assert_eq!(transcript.matches("OTP: ").count(), 2, "{transcript}");
}

#[test]
fn ciam_2fa_prompt_shows_channel_and_reference() {
    let env = Env::with(|c| c.anomaly = login_sandbox::config::AnomalyMode::Always);
    let (code, transcript) = on_tty(
        &env,
        &ciam_flags(&env),
        &["login", "--username", "carol", "--password-stdin"],
        "carol-password",
        "123456\n",
    );
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("sent by email (reference "),
        "{transcript}"
    );
    assert!(transcript.contains("Tokened"), "{transcript}");
}

#[test]
fn captcha_is_saved_to_a_file_and_prompted_on_a_terminal() {
    let env = Env::new();
    let (code, transcript) = on_tty(
        &env,
        &ciam_flags(&env),
        &[
            "login",
            "--username",
            "alice",
            "--password-stdin",
            "--captcha",
        ],
        "alice-password",
        "ABCD\n",
    );
    assert_eq!(code, 0, "{transcript}");
    let path = transcript
        .lines()
        .find_map(|l| l.strip_prefix("captcha image saved to "))
        .unwrap_or_else(|| panic!("no captcha path in {transcript}"))
        .trim()
        .to_owned();
    let png = std::fs::read(&path).expect("the captcha file exists");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG image");
    assert!(transcript.contains("type the text: "), "{transcript}");
}

#[test]
fn demo_on_a_terminal_rewrites_one_line_per_flow() {
    let bin = assert_cmd::cargo::cargo_bin("loginflow");
    let out = assert_cmd::Command::new("script")
        .args(["-qfec", &format!("'{}' demo", bin.display()), "/dev/null"])
        .write_stdin("")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("script runs");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{transcript}");
    assert!(
        transcript.contains("\x1b[2K"),
        "progress lines are rewritten in place"
    );
    assert!(
        transcript.contains("13 of 13 flows ended as expected"),
        "{transcript}"
    );
}

#[test]
fn password_typed_at_the_terminal_is_not_echoed() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("loginflow");
    let inner = format!(
        "'{}' --api cap --base-url '{}' --realm cap --client-id '{}' login --username alice --password-stdin",
        bin.display(),
        env.sandbox.realm_base_url(),
        env.client_id
    );
    // Type only after the prompt has turned echo off: a generous pause, then the password.
    let pipeline = format!(
        "(sleep 5; printf 'alice-password\\n') | script -qfec \"{}\" /dev/null",
        inner.replace('"', "\\\"")
    );
    let out = assert_cmd::Command::new("sh")
        .args(["-c", &pipeline])
        .env("LOGINFLOW_CLIENT_SECRET", &env.client_secret)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(out.status.code(), Some(0), "{transcript}");
    assert!(transcript.contains("password: "), "{transcript}");
    assert!(
        !transcript.contains("alice-password"),
        "echoed: {transcript}"
    );
    assert!(transcript.contains("Tokened"), "{transcript}");
}

#[test]
fn forgot_password_otp_is_prompted_on_a_terminal() {
    let env = Env::new();
    let (code, transcript) = on_tty(
        &env,
        &cap_flags(&env),
        &[
            "forgot-password",
            "--username",
            "alice",
            "--new-password-stdin",
        ],
        "alice-new-password",
        "123456\n",
    );
    assert_eq!(code, 0, "{transcript}");
    assert!(transcript.contains("(reference "), "{transcript}");
    assert!(transcript.contains("PasswordReset"), "{transcript}");
}

/// Without `--password-stdin`, on a terminal the password is prompted for with echo off (as
/// `docker login` does); each call shows progress on the terminal as it runs.
#[test]
fn without_password_stdin_the_password_is_prompted_and_progress_shown() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("loginflow");
    let inner = format!(
        "'{}' login --username alice --api cap --base-url '{}' --realm cap --client-id '{}'",
        bin.display(),
        env.sandbox.realm_base_url(),
        env.client_id
    );
    let pipeline = format!(
        "(sleep 5; printf 'alice-password\\n') | script -qfec \"{}\" /dev/null",
        inner.replace('"', "\\\"")
    );
    let out = assert_cmd::Command::new("sh")
        .args(["-c", &pipeline])
        .env("LOGINFLOW_CLIENT_SECRET", &env.client_secret)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(out.status.code(), Some(0), "{transcript}");
    assert!(transcript.contains("password: "), "{transcript}");
    assert!(
        !transcript.contains("alice-password"),
        "echoed: {transcript}"
    );
    // One line per call and per state, after the spinner.
    assert!(
        transcript.contains("request_login HTTP 201"),
        "{transcript}"
    );
    assert!(transcript.contains("-> Tokened"), "{transcript}");
    assert!(
        transcript.contains("Tokened: logged in as alice"),
        "{transcript}"
    );
}

/// A refused OTP is said to be refused before the prompt comes again.
#[test]
fn a_refused_otp_is_reported_before_the_next_prompt() {
    let env = Env::new();
    let (code, transcript) = on_tty(
        &env,
        &cap_flags(&env),
        &["login", "--username", "bob", "--password-stdin"],
        "bob-password",
        "000000\n123456\n",
    );
    assert_eq!(code, 0, "{transcript}");
    let refused = transcript
        .find("was refused")
        .unwrap_or_else(|| panic!("no refusal in {transcript}"));
    let second = transcript.rfind("OTP: ").unwrap_or(0);
    assert!(refused < second, "{transcript}");
}

/// `login --save-pending` on a terminal pauses instead of prompting: the flag asks for it.
#[test]
fn save_pending_pauses_even_on_a_terminal() {
    let env = Env::new();
    let pending = env.path("bob.pending");
    let (code, transcript) = on_tty(
        &env,
        &cap_flags(&env),
        &[
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--save-pending",
            &pending.display().to_string(),
        ],
        "bob-password",
        "",
    );
    assert_eq!(code, 4, "{transcript}");
    assert!(!transcript.contains("OTP: "), "{transcript}");
    assert!(
        transcript.contains("loginflow resume --pending"),
        "{transcript}"
    );
}
