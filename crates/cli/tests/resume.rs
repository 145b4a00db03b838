//! Resumable logins: `login --save-pending FILE` stops at an OTP or a captcha and exits 4;
//! `loginflow resume --pending FILE` finishes it in another process; used, expired and
//! ended files are refused; a wrong answer keeps the file usable. Pending files are 0600 and
//! hold no password, OTP or device token.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::atomic::Ordering;

use common::{Env, counting_proxy, json_of, login_as, loginflow, session_tokens};
use login_sandbox::config::AnomalyMode;

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn resume(pending: &Path) -> assert_cmd::Command {
    let mut cmd = loginflow();
    cmd.args(["--output", "json", "resume", "--pending"])
        .arg(pending);
    cmd
}

#[test]
fn realm_otp_login_pauses_and_resumes_in_another_process() {
    let env = Env::new();
    let pending = env.path("bob.pending");
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "bob",
            "--password-stdin",
        ])
        .arg("--save-pending")
        .arg(&pending)
        .write_stdin("bob-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["state"], "MfaPending");
    assert_eq!(v["waitingFor"], "otp");
    assert_eq!(v["pending"], pending.display().to_string());
    assert!(
        v["refId"].as_str().is_some() && v["expiresAt"].as_u64().is_some(),
        "{v}"
    );
    assert_eq!(mode_of(&pending), 0o600);
    let text = std::fs::read_to_string(&pending).unwrap();
    assert!(
        !text.contains("bob-password"),
        "no password in the pending file"
    );
    assert_eq!(read_json(&pending)["flow"]["flow"]["state"], "MfaPending");

    let session = env.path("bob.session");
    let out = resume(&pending)
        .args(["--otp", "123456", "--save-session"])
        .arg(&session)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = json_of(&out);
    assert_eq!(
        (v["state"].clone(), v["username"].clone()),
        ("Tokened".into(), "bob".into())
    );
    session_tokens(&session);
    let used = read_json(&pending);
    assert!(used["used"]["at"].as_u64().is_some(), "{used}");
    assert!(
        used.get("flow").is_none(),
        "the flow's secrets left the file"
    );

    // Used up: refused with a clear error, nothing sent.
    let out = resume(&pending).args(["--otp", "123456"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "pending_used");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already finished")
    );
}

#[test]
fn text_output_says_what_the_login_waits_for_and_the_otp_can_come_from_stdin() {
    let env = Env::new();
    let pending = env.path("bob.pending");
    login_as(env.cap(), "bob")
        .arg("--save-pending")
        .arg(&pending)
        .assert()
        .code(4)
        .stdout(
            predicates::str::contains("MfaPending: paused")
                .and(predicates::str::contains("reference "))
                .and(predicates::str::contains("loginflow resume --pending")),
        );
    // Without an answer and without a terminal: a usage error naming the flags.
    loginflow()
        .args(["resume", "--pending"])
        .arg(&pending)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--otp"));
    loginflow()
        .args(["resume", "--otp-stdin", "--pending"])
        .arg(&pending)
        .write_stdin("123456\n")
        .assert()
        .code(0)
        .stdout(predicates::str::contains("Tokened"));
}

use predicates::prelude::*;

#[test]
fn a_wrong_otp_keeps_the_pending_file_usable() {
    let env = Env::new();
    let pending = env.path("bob.pending");
    login_as(env.cap(), "bob")
        .arg("--save-pending")
        .arg(&pending)
        .assert()
        .code(4);
    let out = resume(&pending).args(["--otp", "000000"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["error"]["kind"], "invalid_otp");
    resume(&pending).args(["--otp", "123456"]).assert().code(0);
}

/// `login --save-pending P --save-session S`: the resumed login's session goes to S.
#[test]
fn the_session_file_named_at_login_is_written_by_resume() {
    let env = Env::new();
    let pending = env.path("bob.pending");
    let session = env.path("bob.session");
    env.cap()
        .args([
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--save-pending",
        ])
        .arg(&pending)
        .arg("--save-session")
        .arg(&session)
        .write_stdin("bob-password\n")
        .assert()
        .code(4);
    assert!(!session.exists());
    let out = resume(&pending).args(["--otp", "123456"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of(&out)["session"], session.display().to_string());
    session_tokens(&session);
}

#[test]
fn an_expired_pending_file_is_refused_without_a_request() {
    let env = Env::with(|c| c.lifetimes.login_request_secs = 1);
    let (proxy, calls) = counting_proxy(&env.sandbox.realm_base_url());
    let pending = env.path("bob.pending");
    loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", &env.client_secret)
        .args(["--api", "cap", "--base-url", &proxy, "--realm", "cap"])
        .args(["--client-id", &env.client_id])
        .args([
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--save-pending",
        ])
        .arg(&pending)
        .write_stdin("bob-password\n")
        .assert()
        .code(4);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let sent = calls.load(Ordering::SeqCst);
    let out = resume(&pending).args(["--otp", "123456"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["error"]["kind"], "pending_expired");
    assert_eq!(v["state"], "MfaPending");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired at")
    );
    assert_eq!(calls.load(Ordering::SeqCst), sent, "nothing sent");
}

/// Internet banking: a captcha pause (the PNG written beside the file), resumed with the
/// answer and the password again; the anomaly rule then asks for an OTP, which pauses the
/// login again in the same file (no terminal); a last resume finishes it.
#[test]
fn ciam_captcha_then_otp_pauses_twice_and_finishes() {
    let env = Env::with(|c| c.anomaly = AnomalyMode::Always);
    let pending = env.path("carol.pending");
    let out = env
        .ciam()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "carol",
            "--password-stdin",
        ])
        .args(["--captcha", "--save-pending"])
        .arg(&pending)
        .write_stdin("carol-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["state"], "CaptchaShown");
    assert_eq!(v["waitingFor"], "captcha");
    let image = v["captchaImage"].as_str().unwrap().to_owned();
    assert_eq!(
        Path::new(&image),
        common::Env::path(&env, "carol.pending.captcha.png")
    );
    assert!(
        std::fs::read(&image)
            .unwrap()
            .starts_with(b"\x89PNG\r\n\x1a\n")
    );
    let text = std::fs::read_to_string(&pending).unwrap();
    assert!(!text.contains("carol-password"));
    assert!(
        read_json(&pending)["serverKey"].is_object(),
        "the public key is kept"
    );

    // The device token is a secret: never in the file, given again.
    let with_device = |cmd: &mut assert_cmd::Command| {
        cmd.arg("--device-token-file").arg(&env.device_token);
    };
    // A wrong answer: refused, and a new captcha replaces the old one in the file.
    let before = std::fs::read(&image).unwrap();
    let mut cmd = resume(&pending);
    with_device(&mut cmd);
    let out = cmd
        .args(["--captcha-answer", "WRONG", "--password-stdin"])
        .write_stdin("carol-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(json_of(&out)["error"]["kind"], "invalid_captcha");
    assert_eq!(read_json(&pending)["waitingFor"], "captcha");
    assert_ne!(std::fs::read(&image).unwrap(), before, "a new captcha");

    let mut cmd = resume(&pending);
    with_device(&mut cmd);
    let out = cmd
        .args(["--captcha-answer", "ABCD", "--password-stdin"])
        .write_stdin("carol-password\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let v = json_of(&out);
    assert_eq!(v["state"], "MfaPending");
    assert_eq!(v["channel"], "email");

    let mut cmd = resume(&pending);
    with_device(&mut cmd);
    let out = cmd.args(["--otp", "123456"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_of(&out)["state"], "Tokened");
    assert!(!Path::new(&image).exists(), "the captcha image is removed");
}

/// A flow the server ends (the challenge is gone) marks the file ended.
#[test]
fn a_flow_the_server_ended_marks_the_pending_file() {
    let env = Env::with(|c| c.anomaly = AnomalyMode::Always);
    let pending = env.path("carol.pending");
    login_as(env.ciam(), "carol")
        .arg("--save-pending")
        .arg(&pending)
        .assert()
        .code(4);
    // Five wrong codes use the challenge up (the sandbox allows five attempts).
    let mut last = serde_json::Value::Null;
    for _ in 0..6 {
        let out = resume(&pending)
            .arg("--device-token-file")
            .arg(&env.device_token)
            .args(["--otp", "000000"])
            .output()
            .unwrap();
        last = json_of(&out);
        if read_json(&pending).get("ended").is_some() {
            break;
        }
    }
    let file = read_json(&pending);
    assert!(file["ended"]["kind"].is_string(), "{file} after {last}");
    let out = resume(&pending).args(["--otp", "123456"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_of(&out)["error"]["kind"], "pending_ended");
}
