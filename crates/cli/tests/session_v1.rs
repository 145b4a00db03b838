//! Session files written by earlier builds (format version 1: one flat `config` object beside
//! the flow) still refresh and revoke, and are rewritten in version 2 (`transport` and
//! `profile`). The version 1 files are laid out here exactly as that writer did, around the
//! snapshot of a real login against the sandbox.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a panic is the failure

mod common;

use common::{Env, json_of, session_command, session_tokens};
use login_core::Profile;
use predicates::prelude::*;

/// Logs in with `login` (a command with its global flags) and gives the snapshot of the
/// session, as JSON text.
fn logged_in_snapshot(env: &Env, mut login: assert_cmd::Command, user: &str) -> String {
    let file = env.path(&format!("{user}.fresh"));
    login
        .args([
            "login",
            "--username",
            user,
            "--password-stdin",
            "--otp",
            "123456",
        ])
        .arg("--save-session")
        .arg(&file)
        .write_stdin(format!("{user}-password\n"))
        .assert()
        .code(0);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    v["flow"].to_string()
}

/// A version 1 file: `{"format","version":1,"config":{...},"flow":<snapshot>}`.
fn version_1_file(env: &Env, name: &str, config: &str, snapshot: &str) -> std::path::PathBuf {
    let path = env.path(name);
    std::fs::write(
        &path,
        format!(
            "{{\"format\":\"loginflow-session\",\"version\":1,\"config\":{config},\"flow\":{snapshot}}}\n"
        ),
    )
    .unwrap();
    path
}

/// The version and the profile of a session file.
fn version_and_profile(path: &std::path::Path) -> (u64, Profile) {
    let bytes = std::fs::read(path).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let saved = loginflow::session::decode(&bytes).unwrap();
    (v["version"].as_u64().unwrap(), saved.profile)
}

/// `loginflow --output json VERB --session FILE`, which must exit with `code`: its JSON.
fn session_json(verb: &str, file: &std::path::Path, code: i32) -> serde_json::Value {
    let out = session_command("json", verb, file).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{verb}: {out:?}");
    json_of(&out)
}

/// Refreshes a version 1 file (JSON and text), then revokes another one made from the
/// refreshed session; `api` is the `--api` value, `sent` whether revoking sends a request.
fn refresh_and_revoke_version_1(env: &Env, api: &str, config: &str, snapshot: &str, sent: bool) {
    let refreshed = version_1_file(env, &format!("{api}-refresh.v1"), config, snapshot);
    let before = session_tokens(&refreshed);
    let v = session_json("refresh", &refreshed, 0);
    assert_eq!(v["state"], "Tokened");
    assert_eq!(v["api"], api);
    assert_eq!(v["session"], refreshed.display().to_string());
    assert!(v["expiresAt"].as_u64().is_some(), "{v}");
    let after = session_tokens(&refreshed);
    assert_ne!(before[1], after[1], "rotated refresh token written back");
    let (version, profile) = version_and_profile(&refreshed);
    assert_eq!(version, 2, "rewritten in the current format");
    assert_eq!(
        profile.api().as_str(),
        if api == "cap" { "realm" } else { "ciam" }
    );
    // And the rewritten file refreshes again, in text.
    session_command("text", "refresh", &refreshed)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(format!(
            "Tokened: tokens rotated ({api} API)"
        )));

    // Revoke a version 1 file holding the live session.
    let live = std::fs::read_to_string(&refreshed).unwrap();
    let live: serde_json::Value = serde_json::from_str(&live).unwrap();
    let revoked = version_1_file(
        env,
        &format!("{api}-revoke.v1"),
        config,
        &live["flow"].to_string(),
    );
    let v = session_json("revoke", &revoked, 0);
    assert_eq!(v["state"], "Revoked");
    assert_eq!(v["api"], api);
    assert_eq!(v["sentRequest"], sent);
    assert_eq!(version_and_profile(&revoked).0, 2);
    let v = session_json("refresh", &revoked, 2);
    assert_eq!(v["state"], "Revoked");
    assert_eq!(v["error"]["kind"], "session_revoked");
}

#[test]
fn version_1_realm_session_files_still_refresh_and_revoke() {
    let env = Env::new();
    let snapshot = logged_in_snapshot(&env, env.cap(), "bob");
    let config = format!(
        "{{\"api\":\"cap\",\"baseUrl\":{},\"allowHttp\":false,\"realm\":\"cap\",\"clientId\":{},\"scope\":[\"openid\"]}}",
        serde_json::Value::from(env.sandbox.realm_base_url()),
        serde_json::Value::from(env.client_id.as_str()),
    );
    refresh_and_revoke_version_1(&env, "cap", &config, &snapshot, false);
}

#[test]
fn version_1_ciam_session_files_still_refresh_and_revoke() {
    let env = Env::new();
    let snapshot = logged_in_snapshot(&env, env.ciam(), "alice");
    let config = format!(
        "{{\"api\":\"ciam\",\"baseUrl\":{},\"allowHttp\":false,\"timeoutSecs\":30.0,\"clientId\":{},\"redirectUri\":{},\"routes\":\"gateway\",\"scope\":[\"openid\"]}}",
        serde_json::Value::from(env.sandbox.base_url()),
        serde_json::Value::from(env.client_id.as_str()),
        serde_json::Value::from(env.redirect_uri.as_str()),
    );
    refresh_and_revoke_version_1(&env, "ciam", &config, &snapshot, true);
}
