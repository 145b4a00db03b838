//! Session files under concurrency and crashes, and the commands that read them: parallel
//! refreshes of one file make one request and all succeed; a process killed between the
//! server's answer and the write leaves a whole file; a session the server ended is marked so
//! and later commands say so without a request; `token` and `status`. Every run is the real
//! binary against an in-process sandbox on loopback, through a counting proxy where the number
//! of calls matters.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Env, counting_proxy, json_of, loginflow, session_tokens, token_is_live};

/// Logs bob in (realm, OTP) through `base_url` and saves the session to `file`.
fn login_bob(env: &Env, base_url: &str, file: &Path) {
    loginflow()
        .env("LOGINFLOW_CLIENT_SECRET", &env.client_secret)
        .args(["--api", "cap", "--base-url", base_url, "--realm", "cap"])
        .args(["--client-id", &env.client_id])
        .args([
            "login",
            "--username",
            "bob",
            "--password-stdin",
            "--otp",
            "123456",
        ])
        .arg("--save-session")
        .arg(file)
        .write_stdin("bob-password\n")
        .assert()
        .code(0);
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("loginflow")
}

/// The binary as a plain `std` command (to spawn many at once), with the environment cleaned
/// as `common::loginflow` does.
fn spawnable() -> Command {
    let mut cmd = Command::new(binary());
    for var in common::CLI_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// The inode of `path`, to find its entries in `/proc/locks`.
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).unwrap().ino()
}

/// Waits until `n` processes are blocked on the lock of `lock_file` (Linux's `/proc/locks`
/// lists each waiter with `->`), at most 30 s; elsewhere sleeps 3 s.
fn wait_for_waiters(lock_file: &Path, n: usize) {
    let ino = format!(":{} ", inode(lock_file));
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Ok(locks) = std::fs::read_to_string("/proc/locks") else {
            std::thread::sleep(Duration::from_secs(3));
            return;
        };
        let waiting = locks
            .lines()
            .filter(|l| l.contains("->") && l.contains(&ino))
            .count();
        if waiting >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{n} processes never queued on the lock");
}

/// The report: parallel `refresh` of one file. With the lock held while all sixteen
/// start (so every one of them first sees the old tokens), exactly one refresh reaches the
/// server, all sixteen exit 0 with the same rotated tokens, and the server's reuse detection
/// did not fire (the session is alive).
#[test]
fn sixteen_parallel_refreshes_make_one_request_and_all_succeed() {
    let env = Env::new();
    let (proxy, calls) = counting_proxy(&env.sandbox.realm_base_url());
    let file = env.path("bob.session");
    login_bob(&env, &proxy, &file);
    let before = session_tokens(&file);
    let logins = calls.load(Ordering::SeqCst);

    let lock_file = env.path("bob.session.lock");
    std::fs::write(&lock_file, "").unwrap();
    let held = std::fs::File::open(&lock_file).unwrap();
    fs4::FileExt::lock(&held).unwrap();
    let children: Vec<_> = (0..16)
        .map(|_| {
            spawnable()
                .args(["--output", "json", "refresh", "--show-tokens", "--session"])
                .arg(&file)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    wait_for_waiters(&lock_file, 16);
    fs4::FileExt::unlock(&held).unwrap();

    let mut refresh_tokens = Vec::new();
    let mut by_another = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let v = json_of(&out);
        assert_eq!(v["state"], "Tokened");
        refresh_tokens.push(v["refreshToken"].as_str().unwrap().to_owned());
        if v["rotatedByAnother"] == true {
            by_another += 1;
        }
    }
    assert_eq!(
        calls.load(Ordering::SeqCst) - logins,
        1,
        "exactly one refresh reached the server"
    );
    assert_eq!(by_another, 15);
    let after = session_tokens(&file);
    assert_ne!(after[1], before[1], "rotated");
    assert!(
        refresh_tokens.iter().all(|t| *t == after[1]),
        "every process got the tokens in the file"
    );
    assert!(
        token_is_live(&env, &after[0]),
        "reuse detection did not fire"
    );
}

/// Without any coordination from the test: whatever the interleaving, every process
/// succeeds and the session survives (each refresh spends the latest refresh token).
#[test]
fn uncoordinated_parallel_refreshes_all_succeed() {
    let env = Env::new();
    let file = env.path("bob.session");
    login_bob(&env, &env.sandbox.realm_base_url(), &file);
    let children: Vec<_> = (0..8)
        .map(|_| {
            spawnable()
                .args(["--output", "json", "refresh", "--session"])
                .arg(&file)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let tokens = session_tokens(&file);
    assert!(token_is_live(&env, &tokens[0]));
    // And it refreshes again afterwards.
    common::session_command("json", "refresh", &file)
        .assert()
        .code(0);
}

/// A process killed between the server's answer and the write (the test-only crash point)
/// leaves the old file whole: it still decodes, byte for byte the same. The server rotated
/// the tokens, so the next refresh spends a used refresh token: the server ends the session,
/// the file is kept and marked ended, and later commands say so without a request.
#[test]
fn a_crash_after_the_answer_leaves_the_old_file_and_an_ended_session_is_marked() {
    let env = Env::new();
    let (proxy, calls) = counting_proxy(&env.sandbox.realm_base_url());
    let file = env.path("bob.session");
    login_bob(&env, &proxy, &file);
    let before = std::fs::read(&file).unwrap();

    let out = loginflow()
        .env("LOGINFLOW_TEST_CRASH_AFTER_REFRESH", "1")
        .args(["refresh", "--session"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), None, "aborted by a signal: {out:?}");
    assert_eq!(std::fs::read(&file).unwrap(), before, "the old file, whole");
    loginflow::session::decode(&before).unwrap();

    // The old refresh token was spent by the crashed process: reuse ends the session.
    let out = common::session_command("json", "refresh", &file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(json_of(&out)["error"]["kind"], "invalid_token");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["ended"]["kind"], "invalid_token", "{v}");
    assert!(v["ended"]["at"].as_u64().is_some());
    assert_eq!(v["flow"]["flow"]["state"], "Tokened", "the file is kept");

    let sent = calls.load(Ordering::SeqCst);
    for verb in ["refresh", "token"] {
        let out = common::session_command("json", verb, &file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{verb}: {out:?}");
        let v = json_of(&out);
        assert_eq!(v["error"]["kind"], "session_ended");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("log in again")
        );
    }
    let out = common::session_command("json", "status", &file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["ended"]["kind"], "invalid_token");
    assert_eq!(v["live"], false);
    let out = common::session_command("json", "revoke", &file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_of(&out)["alreadyEnded"], true);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        sent,
        "no request after the end"
    );
}

/// `token` prints the bare access token (nothing else on stdout), refreshing first only when
/// it expires within 60 s.
#[test]
fn token_prints_the_bare_access_token_and_refreshes_near_expiry() {
    // Access tokens live 30 s here: always within the 60 s margin.
    let short = Env::with(|c| c.lifetimes.access_token_secs = 30);
    let file = short.path("bob.session");
    login_bob(&short, &short.sandbox.realm_base_url(), &file);
    let before = session_tokens(&file);
    let out = loginflow()
        .args(["token", "--session"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let after = session_tokens(&file);
    assert_ne!(after[0], before[0], "refreshed first");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", after[0])
    );
    assert!(out.stderr.is_empty());

    // Default lifetimes (300 s): no refresh, the file's token as it is.
    let env = Env::new();
    let (proxy, calls) = counting_proxy(&env.sandbox.realm_base_url());
    let file = env.path("bob.session");
    login_bob(&env, &proxy, &file);
    let tokens = session_tokens(&file);
    let sent = calls.load(Ordering::SeqCst);
    let out = loginflow()
        .args(["token", "--output", "json", "--session"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["accessToken"], tokens[0]);
    assert_eq!(v["refreshed"], false);
    assert!(v.get("refreshToken").is_none());
    assert_eq!(calls.load(Ordering::SeqCst), sent, "nothing sent");
    // LOGINFLOW_SESSION names the file.
    loginflow()
        .env("LOGINFLOW_SESSION", &file)
        .arg("token")
        .assert()
        .code(0)
        .stdout(format!("{}\n", tokens[0]));
}

/// `status` says whose session, which API and server, the expiries, and revoked or not; it
/// sends nothing and prints no token.
#[test]
fn status_reports_user_api_expiries_and_revocation() {
    let env = Env::new();
    let file = env.path("bob.session");
    login_bob(&env, &env.sandbox.realm_base_url(), &file);
    let tokens = session_tokens(&file);
    let out = loginflow()
        .args(["status", "--output", "json", "--session"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["state"], "Tokened");
    assert_eq!(v["api"], "cap");
    assert_eq!(v["username"], "bob");
    assert_eq!(v["baseUrl"], env.sandbox.realm_base_url());
    assert!(v["expiresAt"].as_u64().is_some() && v["refreshExpiresAt"].as_u64().is_some());
    assert_eq!(
        (v["live"].clone(), v["revoked"].clone()),
        (true.into(), false.into())
    );
    let text = loginflow()
        .args(["status", "--session"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("bob on the cap API"), "{text}");
    assert!(text.contains("access token expires"), "{text}");
    for t in &tokens {
        assert!(!text.contains(t.as_str()));
    }
    common::session_command("json", "revoke", &file)
        .assert()
        .code(0);
    let out = common::session_command("json", "status", &file)
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["state"], "Revoked");
    assert_eq!(
        (v["live"].clone(), v["revoked"].clone()),
        (false.into(), true.into())
    );
}
