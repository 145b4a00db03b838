//! Canary secrets (password, new password, client secret, device token, OTP, captcha answer,
//! tokens) never reach stdout or stderr, on success or failure, in text or JSON; tokens only
//! with `--show-tokens`, and then only on stdout.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use common::{Env, loginflow, session_command, session_tokens};
use login_sandbox::config::{AnomalyMode, Channel, Mfa, UserConfig};
use login_sandbox::secret::Secret;

const PASSWORD: &str = "CANARY-pw-7f3a9c";
const NEW_PASSWORD: &str = "CANARY-newpw-2c81";
const WRONG_PASSWORD: &str = "CANARY-wrongpw-99e1";
const CLIENT_SECRET: &str = "CANARY-cs-51d2e8";
const DEVICE_TOKEN: &str = "CANARY-dev-0b9e44";
const OTP: &str = "CANARY-otp-4d4d";
const WRONG_OTP: &str = "CANARY-badotp-13";

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
        c.anomaly = AnomalyMode::Always;
    })
}

struct Transcript(Vec<(String, String)>);

impl Transcript {
    fn run(&mut self, mut cmd: assert_cmd::Command, stdin: &str) -> (i32, String, String) {
        // Every span and event the driver and the transports emit goes to stderr too.
        let out = cmd
            .env("LOGINFLOW_LOG", "trace")
            .write_stdin(stdin.to_owned())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        self.0.push((stdout.clone(), stderr.clone()));
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }

    fn assert_free_of(&self, secrets: &[String]) {
        assert!(
            self.0.iter().any(|(_, err)| err.contains("login_step")),
            "the tracing output was captured"
        );
        for (stdout, stderr) in &self.0 {
            for s in secrets {
                assert!(!stdout.contains(s.as_str()), "{s} on stdout: {stdout}");
                assert!(!stderr.contains(s.as_str()), "{s} on stderr: {stderr}");
            }
        }
    }
}

#[test]
fn no_secret_reaches_stdout_or_stderr() {
    let env = canary_env();
    let mut t = Transcript(Vec::new());
    let mut tokens = Vec::new();
    for output in ["text", "json"] {
        let realm = env.path(&format!("realm-{output}.session"));
        let ciam = env.path(&format!("ciam-{output}.session"));
        // Realm login with OTP, refresh, revoke.
        let mut cmd = env.cap();
        cmd.args([
            "--output",
            output,
            "login",
            "--username",
            "canary",
            "--password-stdin",
            "--otp",
            OTP,
        ])
        .arg("--save-session")
        .arg(&realm);
        assert_eq!(t.run(cmd, &format!("{PASSWORD}\n")).0, 0);
        tokens.extend(session_tokens(&realm));
        let cmd = session_command(output, "refresh", &realm);
        assert_eq!(t.run(cmd, "").0, 0);
        tokens.extend(session_tokens(&realm));
        let cmd = session_command(output, "revoke", &realm);
        assert_eq!(t.run(cmd, "").0, 0);

        // Internet-banking login with captcha and 2FA, refresh, revoke, refresh refused.
        let mut cmd = env.ciam();
        cmd.args([
            "--output",
            output,
            "login",
            "--username",
            "canary",
            "--password-stdin",
        ])
        .args([
            "--captcha",
            "--captcha-answer",
            "ABCD",
            "--otp",
            OTP,
            "--save-session",
        ])
        .arg(&ciam);
        assert_eq!(t.run(cmd, &format!("{PASSWORD}\n")).0, 0);
        tokens.extend(session_tokens(&ciam));
        let copy = env.path(&format!("ciam-{output}.copy"));
        let cmd = session_command(output, "refresh", &ciam);
        assert_eq!(t.run(cmd, "").0, 0);
        tokens.extend(session_tokens(&ciam));
        std::fs::copy(&ciam, &copy).unwrap();
        let cmd = session_command(output, "revoke", &ciam);
        assert_eq!(t.run(cmd, "").0, 0);
        let cmd = session_command(output, "refresh", &copy);
        assert_eq!(t.run(cmd, "").0, 1);

        // Failures: wrong password, wrong OTP, missing OTP.
        let mut cmd = env.cap();
        cmd.args([
            "--output",
            output,
            "login",
            "--username",
            "canary",
            "--password-stdin",
        ]);
        assert_eq!(t.run(cmd, &format!("{WRONG_PASSWORD}\n")).0, 1);
        let mut cmd = env.cap();
        cmd.args([
            "--output",
            output,
            "login",
            "--username",
            "canary",
            "--password-stdin",
            "--otp",
            WRONG_OTP,
        ]);
        assert_eq!(t.run(cmd, &format!("{PASSWORD}\n")).0, 1);
        let mut cmd = env.ciam();
        cmd.args([
            "--output",
            output,
            "login",
            "--username",
            "canary",
            "--password-stdin",
        ]);
        assert_eq!(t.run(cmd, &format!("{PASSWORD}\n")).0, 2);
    }
    // Forgot password with a canary new password, then a login with it.
    let mut cmd = env.cap();
    cmd.args([
        "forgot-password",
        "--username",
        "canary",
        "--otp",
        OTP,
        "--new-password-stdin",
    ]);
    assert_eq!(t.run(cmd, &format!("{NEW_PASSWORD}\n")).0, 0);
    let mut cmd = env.cap();
    cmd.args([
        "login",
        "--username",
        "canary",
        "--password-stdin",
        "--otp",
        OTP,
    ]);
    assert_eq!(t.run(cmd, &format!("{NEW_PASSWORD}\n")).0, 0);

    let mut secrets: Vec<String> = [
        PASSWORD,
        NEW_PASSWORD,
        WRONG_PASSWORD,
        CLIENT_SECRET,
        DEVICE_TOKEN,
        OTP,
        WRONG_OTP,
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(tokens.len(), 16);
    // The session files' non-secret part holds none of the secrets (the tokens live only in
    // the snapshot, and revoked files hold none).
    let mut files = 0;
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).unwrap())
        else {
            continue;
        };
        if v["format"] != "loginflow-session" {
            continue;
        }
        files += 1;
        let config = v["config"].to_string();
        for s in secrets.iter().chain(tokens.iter()) {
            assert!(!config.contains(s.as_str()), "{s} in {}", path.display());
        }
    }
    assert_eq!(
        files, 6,
        "realm, ciam and the ciam copy, for both output formats"
    );
    secrets.extend(tokens);
    t.assert_free_of(&secrets);
}

#[test]
fn tokens_only_with_show_tokens_and_only_on_stdout() {
    let env = canary_env();
    let session = env.path("s");
    let out = env
        .cap()
        .args([
            "--output",
            "json",
            "login",
            "--username",
            "canary",
            "--password-stdin",
            "--otp",
            OTP,
        ])
        .args(["--show-tokens", "--save-session"])
        .arg(&session)
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tokens = session_tokens(&session);
    assert_eq!(v["accessToken"], tokens[0]);
    assert_eq!(v["refreshToken"], tokens[1]);
    assert!(out.stderr.is_empty());
    // Text form too.
    let out = loginflow()
        .args(["refresh", "--show-tokens", "--session"])
        .arg(&session)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rotated = session_tokens(&session);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&rotated[0]) && stdout.contains(&rotated[1]),
        "{stdout}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&rotated[0]));
}

#[test]
fn a_server_echoing_the_password_is_redacted() {
    // A hostile or buggy server puts the password into its error message.
    let body = format!(r#"{{"error":"invalid_credentials","message":"bad pw {PASSWORD} given"}}"#);
    let reply: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let (url, _) = common::fake_server(reply);
    for output in ["text", "json"] {
        let out = loginflow()
            .env("LOGINFLOW_CLIENT_SECRET", CLIENT_SECRET)
            .args([
                "--api",
                "cap",
                "--base-url",
                &url,
                "--realm",
                "cap",
                "--client-id",
                "c",
            ])
            .args([
                "--output",
                output,
                "login",
                "--username",
                "u",
                "--password-stdin",
            ])
            .write_stdin(format!("{PASSWORD}\n"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(PASSWORD), "{all}");
        assert!(all.contains("<redacted>"), "{all}");
    }
}
