//! Canary secrets across the commands, files and outputs issue 15 added: `login
//! --save-pending`, pending files (scanned whole), `resume` (OTP by flag and by stdin, captcha
//! with the password again), `token`, `status`, a refresh marked ended, profile files, and
//! settings from the environment. Every run has tracing at TRACE (`LOGINFLOW_LOG` and
//! `RUST_LOG`). No password, client secret, device token, OTP or captcha answer appears in any
//! output or file; tokens appear only where a command prints them on purpose: the access token
//! on `token`'s stdout, both with `--show-tokens`, and in session files' snapshots.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use std::path::{Path, PathBuf};

use common::{Env, loginflow, session_tokens};
use login_sandbox::config::{AnomalyMode, Channel, Mfa, UserConfig};
use login_sandbox::secret::Secret;

const PASSWORD: &str = "CANARY-pw-15aa01";
const CLIENT_SECRET: &str = "CANARY-cs-15bb02";
const DEVICE_TOKEN: &str = "CANARY-dev-15cc03";
const OTP: &str = "CANARY-otp-15dd";
const WRONG_OTP: &str = "CANARY-badotp-15e";
const CAPTCHA: &str = "CANARY-cap-15f";

const SECRETS: [&str; 6] = [
    PASSWORD,
    CLIENT_SECRET,
    DEVICE_TOKEN,
    OTP,
    WRONG_OTP,
    CAPTCHA,
];

fn canary_env() -> Env {
    Env::with(|c| {
        c.users.insert(
            "canary".into(),
            UserConfig {
                password: Secret::new(PASSWORD),
                mfa: Mfa::Otp,
                channel: Channel::Sms,
                last_location: None,
            },
        );
        c.client_secret = Secret::new(CLIENT_SECRET);
        c.device_tokens = vec![Secret::new(DEVICE_TOKEN)];
        c.fixed_otp = Some(OTP.into());
        c.fixed_captcha = Some(CAPTCHA.into());
        c.anomaly = AnomalyMode::Always;
    })
}

/// One run's output, and which tokens it may print on stdout.
struct Run {
    what: String,
    stdout: String,
    stderr: String,
    may_print: Vec<String>,
}

#[derive(Default)]
struct Transcript {
    runs: Vec<Run>,
}

impl Transcript {
    #[track_caller]
    fn run(&mut self, what: &str, mut cmd: assert_cmd::Command, stdin: &str, exit: i32) -> String {
        let out = cmd
            .env("LOGINFLOW_LOG", "trace")
            .env("RUST_LOG", "trace")
            .write_stdin(stdin.to_owned())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(exit),
            "{what}\nstdout: {stdout}\nstderr: {stderr}"
        );
        self.runs.push(Run {
            what: what.to_owned(),
            stdout: stdout.clone(),
            stderr,
            may_print: Vec::new(),
        });
        stdout
    }

    /// The last run may print `token` on stdout (on purpose).
    fn allow_last(&mut self, token: &str) {
        if let Some(run) = self.runs.last_mut() {
            run.may_print.push(token.to_owned());
        }
    }

    fn assert_clean(&self, tokens: &[String]) {
        assert!(
            self.runs.iter().any(|r| r.stderr.contains("login_step")),
            "the TRACE output was captured"
        );
        for run in &self.runs {
            for s in SECRETS {
                assert!(!run.stdout.contains(s), "{}: {s} on stdout", run.what);
                assert!(!run.stderr.contains(s), "{}: {s} on stderr", run.what);
            }
            for t in tokens {
                assert!(
                    !run.stderr.contains(t.as_str()),
                    "{}: a token on stderr",
                    run.what
                );
                if !run.may_print.contains(t) {
                    assert!(
                        !run.stdout.contains(t.as_str()),
                        "{}: a token on stdout: {}",
                        run.what,
                        run.stdout
                    );
                }
            }
        }
    }
}

/// No secret in any byte of a file (pending files hold no token either).
fn assert_file_free_of_secrets(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for s in SECRETS {
        assert!(!text.contains(s), "{s} in {}", path.display());
    }
}

#[test]
fn new_commands_and_files_leak_nothing_at_trace() {
    let env = canary_env();
    let mut t = Transcript::default();
    let mut tokens: Vec<String> = Vec::new();
    let mut pending_files: Vec<PathBuf> = Vec::new();
    for output in ["text", "json"] {
        // Realm: pause at the OTP, a wrong OTP, then the OTP from stdin.
        let pending = env.path(&format!("realm-{output}.pending"));
        let session = env.path(&format!("realm-{output}.session"));
        let mut cmd = env.cap();
        cmd.args([
            "--output",
            output,
            "login",
            "--username",
            "canary",
            "--password-stdin",
        ])
        .arg("--save-pending")
        .arg(&pending);
        t.run("realm login paused", cmd, &format!("{PASSWORD}\n"), 4);
        assert_file_free_of_secrets(&pending);
        let mut cmd = loginflow();
        cmd.args([
            "--output",
            output,
            "resume",
            "--otp",
            WRONG_OTP,
            "--pending",
        ])
        .arg(&pending);
        t.run("realm resume wrong otp", cmd, "", 1);
        assert_file_free_of_secrets(&pending);
        let mut cmd = loginflow();
        cmd.args(["--output", output, "resume", "--otp-stdin", "--pending"])
            .arg(&pending)
            .arg("--save-session")
            .arg(&session);
        t.run("realm resume", cmd, &format!("{OTP}\n"), 0);
        assert_file_free_of_secrets(&pending);
        pending_files.push(pending);
        tokens.extend(session_tokens(&session));

        // token (refresh not needed), status, refresh with --show-tokens, token again.
        let mut cmd = loginflow();
        cmd.args(["--output", output, "token", "--session"])
            .arg(&session);
        t.run("token", cmd, "", 0);
        let access = session_tokens(&session)[0].clone();
        t.allow_last(&access);
        let mut cmd = loginflow();
        cmd.args(["--output", output, "status", "--session"])
            .arg(&session);
        t.run("status", cmd, "", 0);
        let copy = env.path(&format!("realm-{output}.copy"));
        std::fs::copy(&session, &copy).unwrap();
        let mut cmd = loginflow();
        cmd.args(["--output", output, "refresh", "--show-tokens", "--session"])
            .arg(&session);
        t.run("refresh", cmd, "", 0);
        let rotated = session_tokens(&session);
        t.allow_last(&rotated[0]);
        t.allow_last(&rotated[1]);
        tokens.extend(rotated);
        // The copy's refresh token was spent: the server ends the session; marked in the file.
        let mut cmd = loginflow();
        cmd.args(["--output", output, "refresh", "--session"])
            .arg(&copy);
        t.run("refresh of a spent copy", cmd, "", 1);
        let mut cmd = loginflow();
        cmd.args(["--output", output, "token", "--session"])
            .arg(&copy);
        t.run("token of an ended session", cmd, "", 2);
        let mut cmd = loginflow();
        cmd.args(["--output", output, "status", "--session"])
            .arg(&copy);
        t.run("status of an ended session", cmd, "", 0);

        // Internet banking: captcha pause, resume with the answer and the password (then the
        // anomaly OTP pauses again), resume with the OTP; settings from the environment.
        let pending = env.path(&format!("ciam-{output}.pending"));
        let mut cmd = env.ciam();
        cmd.args([
            "--output",
            output,
            "login",
            "--username",
            "canary",
            "--password-stdin",
        ])
        .args(["--captcha", "--save-pending"])
        .arg(&pending);
        t.run(
            "ciam login paused at captcha",
            cmd,
            &format!("{PASSWORD}\n"),
            4,
        );
        assert_file_free_of_secrets(&pending);
        let mut cmd = loginflow();
        cmd.env("LOGINFLOW_DEVICE_TOKEN_FILE", &env.device_token)
            .args(["--output", output, "resume", "--captcha-answer", CAPTCHA])
            .args(["--password-stdin", "--pending"])
            .arg(&pending);
        t.run("ciam resume captcha", cmd, &format!("{PASSWORD}\n"), 4);
        assert_file_free_of_secrets(&pending);
        let session = env.path(&format!("ciam-{output}.session"));
        let mut cmd = loginflow();
        cmd.env("LOGINFLOW_DEVICE_TOKEN_FILE", &env.device_token)
            .args(["--output", output, "resume", "--otp", OTP, "--pending"])
            .arg(&pending)
            .arg("--save-session")
            .arg(&session);
        t.run("ciam resume otp", cmd, "", 0);
        assert_file_free_of_secrets(&pending);
        pending_files.push(pending);
        tokens.extend(session_tokens(&session));
        assert_file_free_of_secrets(&session);
    }
    // A profile file naming the secret's file.
    let secret = env.path("client-secret");
    std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap();
    let profile = env.path("bank.json");
    std::fs::write(
        &profile,
        format!(
            r#"{{"api":"cap","base-url":"{}","realm":"cap","client-id":"{}","client-secret-file":"client-secret"}}"#,
            env.sandbox.realm_base_url(),
            env.client_id
        ),
    )
    .unwrap();
    let mut cmd = loginflow();
    cmd.arg("--profile").arg(&profile).args([
        "login",
        "--username",
        "canary",
        "--password-stdin",
        "--otp",
        OTP,
    ]);
    t.run(
        "login with a profile file",
        cmd,
        &format!("{PASSWORD}\n"),
        0,
    );
    assert_file_free_of_secrets(&profile);

    assert_eq!(pending_files.len(), 4);
    t.assert_clean(&tokens);
}
