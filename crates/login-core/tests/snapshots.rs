//! Snapshots: every state round-trips and then behaves exactly as the original; the ciam
//! `MfaPending` snapshot (the one services keep while the user reads the OTP) stays small; and
//! corrupt, truncated, wrong-version, huge or random bytes give a typed `SnapshotError`, never a
//! panic.

mod common;

use std::sync::OnceLock;

use common::*;
use login_core::flow::{MAX_SNAPSHOT_BYTES, SNAPSHOT_VERSION};
use login_core::table::{Api, StateId};
use login_core::{Flow, Response, SnapshotError};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Replies to continue with after a resume: each success branch, a refusal, a final error, a
/// transient one, garbage, and a transport failure (`None`).
fn continuations(act: Act, n: u32) -> Vec<Option<Response>> {
    let mut out: Vec<Option<Response>> = success_replies(act, n)
        .into_iter()
        .map(|(_, r)| Some(r))
        .collect();
    out.extend([
        Some(json(401, json!({"error": "invalid_otp"}))),
        Some(json(400, json!({"error": "invalid_captcha"}))),
        Some(json(404, json!({"error": "expired"}))),
        Some(Response::new(429, Vec::new()).with_header("Retry-After", "2")),
        Some(Response::new(200, b"<html>".to_vec())),
        None,
    ]);
    out
}

#[test]
fn every_state_round_trips_and_continues_identically() {
    for profile in [Profile::default(), Profile::everything()] {
        let mut env = Env::new(profile, 31);
        let states = all_states(&mut env);
        let mut n = 700;
        for (name, flow) in &states {
            let bytes = snap(flow);
            let resumed = Flow::from_snapshot(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(state_key(&resumed), state_key(flow), "{name}");
            assert_eq!(
                snap(&resumed),
                bytes,
                "{name}: a second round trip is stable"
            );
            for act in legal(flow) {
                for reply in continuations(act, n) {
                    for inputs in [
                        Inputs::default(),
                        Inputs {
                            captcha_answer: false,
                            ..Inputs::default()
                        },
                    ] {
                        let (mut a, mut b) = (env.fork(), env.fork());
                        let original = run_once(flow.clone(), act, &mut a, &inputs, reply.as_ref());
                        let again = run_once(resumed.clone(), act, &mut b, &inputs, reply.as_ref());
                        assert_eq!(original, again, "{name} {act:?} after resume");
                    }
                }
                n += 1;
            }
        }
    }
}

#[test]
fn a_resumed_mfa_pending_completes_the_login() {
    let mut env = Env::new(Profile::default(), 4);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let f = advance(f, Act::Submit, 1, &mut env, 2);
    let bytes = snap(&f);
    drop(f);
    // "Another process": only the bytes survive.
    let resumed = Flow::from_snapshot(&bytes).expect("resume");
    let f = advance(resumed, Act::CiamVerify, 0, &mut env, 3);
    let t = advance(f, Act::CiamExchange, 0, &mut env, 4);
    assert_eq!(t.state_id(), StateId::Tokened);
    let tokens = tokens(&t).expect("tokens");
    assert_eq!(tokens.access_token().expose(), format!("{ACCESS}-4"));
    assert_eq!(
        tokens.expires_at(),
        Some(t0() + std::time::Duration::from_secs(300))
    );
}

#[test]
fn expiry_instants_survive_a_snapshot_to_the_millisecond() {
    let mut env = Env::new(Profile::default(), 4);
    env.now = t0() + std::time::Duration::from_millis(250);
    let f = advance(env.start(Api::Realm), Act::RequestLogin, 1, &mut env, 1);
    let f = advance(f, Act::RealmOtp, 0, &mut env, 2);
    let back = Flow::from_snapshot(&snap(&f)).expect("resume");
    let (a, b) = (tokens(&f).expect("t"), tokens(&back).expect("t"));
    assert_eq!(a.expires_at(), b.expires_at());
    assert_eq!(a.refresh_expires_at(), b.refresh_expires_at());
    assert_eq!(
        b.refresh_expires_at(),
        Some(env.now + std::time::Duration::from_millis(1_800_500))
    );
}

#[test]
fn the_ciam_mfa_pending_snapshot_is_at_most_512_bytes() {
    let mut env = Env::new(Profile::everything(), 8);
    let f = advance(env.start(Api::Ciam), Act::Authorize, 0, &mut env, 1);
    let Begun::Sent(_, p) = begin(f, Act::Submit, &mut env, &Inputs::default()) else {
        panic!("submit sends")
    };
    // Realistic sizes: a 256-bit base64url challenge, a six-character reference.
    let reply = json(
        200,
        json!({"mfaChallenge": "CANARY-" .to_owned() + &"k".repeat(43), "channel": "email", "refId": "A7K2Q9"}),
    );
    let f = p.receive(reply, env.now).result.expect("mfa pending");
    assert_eq!(f.state_id(), StateId::MfaPending);
    let size = snap(&f).len();
    println!("ciam MfaPending snapshot: {size} bytes");
    assert!(size <= 512, "ciam MfaPending snapshot is {size} bytes");

    let mut env = Env::new(Profile::default(), 8);
    let Begun::Sent(_, p) = begin(
        env.start(Api::Realm),
        Act::RequestLogin,
        &mut env,
        &Inputs::default(),
    ) else {
        panic!("request login sends")
    };
    let reply = json(
        201,
        json!({"reqId": "9b2f6c1e-5d4a-4e7b-a3c2-1f0e8d7c6b5a", "exp": 300, "mfa": "otp", "refId": "A7K2Q9"}),
    );
    let f = p.receive(reply, env.now).result.expect("mfa pending");
    let size = snap(&f).len();
    println!("realm MfaPending snapshot: {size} bytes");
    assert!(size <= 512, "realm MfaPending snapshot is {size} bytes");
}

#[test]
fn every_strict_prefix_of_a_snapshot_is_corrupt() {
    let mut env = Env::new(Profile::everything(), 5);
    for (name, flow) in all_states(&mut env) {
        let bytes = snap(&flow);
        for len in 0..bytes.len() {
            match Flow::from_snapshot(&bytes[..len]) {
                Err(SnapshotError::Corrupt(_)) => {}
                other => panic!("{name}: prefix of {len} bytes gave {other:?}"),
            }
        }
    }
}

#[test]
fn wrong_versions_are_typed() {
    let mut env = Env::new(Profile::default(), 5);
    let flow = env.start(Api::Realm);
    let valid: Value = serde_json::from_slice(&snap(&flow)).expect("json");
    assert_eq!(valid["v"], json!(SNAPSHOT_VERSION));
    for v in [0u64, 2, 99, u64::from(u32::MAX)] {
        let mut s = valid.clone();
        s["v"] = json!(v);
        match Flow::from_snapshot(s.to_string().as_bytes()) {
            Err(SnapshotError::UnsupportedVersion { found }) => assert_eq!(u64::from(found), v),
            other => panic!("v = {v}: {other:?}"),
        }
    }
    for v in [
        json!(-1),
        json!("1"),
        json!(1.5),
        json!(null),
        json!(u64::MAX),
        json!([1]),
    ] {
        let mut s = valid.clone();
        s["v"] = v.clone();
        assert!(
            matches!(
                Flow::from_snapshot(s.to_string().as_bytes()),
                Err(SnapshotError::Corrupt(_))
            ),
            "v = {v}"
        );
    }
    let mut s = valid.clone();
    s.as_object_mut().expect("object").remove("v");
    assert!(matches!(
        Flow::from_snapshot(s.to_string().as_bytes()),
        Err(SnapshotError::Corrupt(_))
    ));
}

#[test]
fn huge_and_deep_inputs_are_refused_without_a_panic() {
    let too_big = vec![b' '; MAX_SNAPSHOT_BYTES + 1];
    match Flow::from_snapshot(&too_big) {
        Err(SnapshotError::TooLarge(n)) => assert_eq!(n, MAX_SNAPSHOT_BYTES + 1),
        other => panic!("{other:?}"),
    }
    let mut deep = b"{\"v\":1,\"api\":\"realm\",\"flow\":".to_vec();
    deep.extend(std::iter::repeat_n(b'[', MAX_SNAPSHOT_BYTES - deep.len()));
    assert!(matches!(
        Flow::from_snapshot(&deep),
        Err(SnapshotError::Corrupt(_))
    ));
    let deep_first = vec![b'['; MAX_SNAPSHOT_BYTES];
    assert!(matches!(
        Flow::from_snapshot(&deep_first),
        Err(SnapshotError::Corrupt(_))
    ));
    // Padding up to the limit is still read.
    let mut env = Env::new(Profile::default(), 5);
    let mut padded = snap(&env.start(Api::ForgotPassword));
    padded.resize(MAX_SNAPSHOT_BYTES, b' ');
    assert!(Flow::from_snapshot(&padded).is_ok());
}

#[test]
fn structurally_wrong_snapshots_are_corrupt() {
    let cases = [
        json!({"v": 1}),
        json!({"v": 1, "api": "realm"}),
        json!({"v": 1, "api": "mainframe", "flow": {"state": "Start", "data": {}}}),
        json!({"v": 1, "api": "realm", "flow": {"state": "Authorized", "data": {}}}),
        json!({"v": 1, "api": "realm", "flow": {"state": "Start", "data": {"username": "a"}}}),
        json!({"v": 1, "api": "realm", "flow": {"state": "Start", "data": {"username": 5, "password": "p"}}}),
        json!({"v": 1, "api": "ciam", "flow": {"state": "Tokened", "data": {"tokens": {}}}}),
        json!({"v": 1, "api": "forgot_password", "flow": {"state": "Verified", "data": null}}),
        json!([1, "realm"]),
        json!("v"),
    ];
    for case in cases {
        assert!(
            matches!(
                Flow::from_snapshot(case.to_string().as_bytes()),
                Err(SnapshotError::Corrupt(_))
            ),
            "{case}"
        );
    }
    for raw in [&b""[..], b"\xff\xfe", b"{\"v\":1,", b"null", b"{\"v\":1}}"] {
        assert!(
            matches!(Flow::from_snapshot(raw), Err(SnapshotError::Corrupt(_))),
            "{raw:?}"
        );
    }
}

/// Snapshot bytes of every state under the richest profile, built once.
fn valid_snapshots() -> &'static Vec<Vec<u8>> {
    static SNAPS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SNAPS.get_or_init(|| {
        let mut env = Env::new(Profile::everything(), 6);
        all_states(&mut env).iter().map(|(_, f)| snap(f)).collect()
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
    /// Replace a JSON string value (by position among the string values) with another value.
    Retype(usize, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!([])),
        Just(json!({"unknown": [1, 2.5]})),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), value).prop_map(|(i, v)| Mutation::Retype(i, v)),
    ]
}

fn retype(v: &mut Value, target: &mut usize, new: &Value) -> bool {
    match v {
        Value::String(_) => {
            if *target == 0 {
                *v = new.clone();
                return true;
            }
            *target -= 1;
            false
        }
        Value::Array(items) => items.iter_mut().any(|i| retype(i, target, new)),
        Value::Object(map) => map.values_mut().any(|i| retype(i, target, new)),
        _ => false,
    }
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match m {
        Mutation::Flip(i, b) => {
            if !bytes.is_empty() {
                bytes[i % len] ^= b | 1;
            }
        }
        Mutation::Delete(i, n) => {
            let start = i % len;
            let end = (start + n).min(bytes.len());
            if start < end {
                bytes.drain(start..end);
            }
        }
        Mutation::Insert(i, b) => {
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::Retype(i, new) => {
            if let Ok(mut v) = serde_json::from_slice::<Value>(bytes) {
                let mut count = *i % 16;
                if retype(&mut v, &mut count, new) {
                    *bytes = v.to_string().into_bytes();
                }
            }
        }
    }
}

/// A resumed flow, whatever bytes it came from, can be driven without a panic.
fn drive_once(flow: Flow) {
    let mut env = Env::new(Profile::everything(), 1);
    for act in legal(&flow) {
        for reply in continuations(act, 1) {
            let _ = run_once(
                flow.clone(),
                act,
                &mut env,
                &Inputs::default(),
                reply.as_ref(),
            );
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_give_a_typed_error(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        match Flow::from_snapshot(&bytes) {
            Err(SnapshotError::Corrupt(_) | SnapshotError::UnsupportedVersion { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
            Ok(flow) => drive_once(flow),
        }
    }

    #[test]
    fn arbitrary_json_gives_a_typed_error(v in "[{}\\[\\]\":,0-9a-zA-Z_ .-]{0,300}") {
        let with_version = format!("{{\"v\":1,{}", v);
        for input in [v.as_bytes(), with_version.as_bytes()] {
            if let Ok(flow) = Flow::from_snapshot(input) {
                drive_once(flow);
            }
        }
    }

    #[test]
    fn mutated_snapshots_never_panic(
        which in 0usize..64,
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let snaps = valid_snapshots();
        let mut bytes = snaps[which % snaps.len()].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        match Flow::from_snapshot(&bytes) {
            Ok(flow) => {
                // Whatever was accepted snapshots again into something accepted.
                let again = Flow::from_snapshot(&snap(&flow));
                prop_assert!(again.is_ok(), "{again:?}");
                drive_once(flow);
            }
            Err(SnapshotError::Corrupt(_) | SnapshotError::UnsupportedVersion { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }
}

/// Bytes that parse but hold what the engine never makes itself (an RFC-breaking PKCE verifier,
/// an empty `state`, empty request ids or tokens) are corrupt too: resumed, they would put
/// contract-breaking requests on the wire (a one-character `codeVerifier`, an empty `reqId`).
#[test]
fn resumed_states_must_hold_the_engines_own_invariants() {
    let cases = [
        json!({"v": 1, "api": "ciam", "flow": {"state": "Start", "data": {"verifier": "x", "state": "s"}}}),
        json!({"v": 1, "api": "ciam", "flow": {"state": "Start", "data": {"verifier": "a".repeat(43), "state": ""}}}),
        json!({"v": 1, "api": "ciam", "flow": {"state": "Challenged", "data": {"code": "c", "token": "t", "verifier": "a b", "state": "s".repeat(22)}}}),
        json!({"v": 1, "api": "ciam", "flow": {"state": "Challenged", "data": {"code": "", "token": "", "verifier": "a".repeat(43), "state": "s".repeat(22)}}}),
        json!({"v": 1, "api": "realm", "flow": {"state": "MfaPending", "data": {"reqId": ""}}}),
        json!({"v": 1, "api": "realm", "flow": {"state": "Tokened", "data": {"tokens": {"accessToken": "", "refreshToken": ""}}}}),
    ];
    let mut accepted = Vec::new();
    for case in cases {
        if let Ok(flow) = Flow::from_snapshot(case.to_string().as_bytes()) {
            // Show what would go on the wire.
            let mut env = Env::new(Profile::default(), 1);
            for act in legal(&flow) {
                if let Begun::Sent(req, _) = begin(flow.clone(), act, &mut env, &Inputs::default())
                {
                    if let Err(e) = check_request(&req, &env.profile) {
                        accepted.push(format!("{case} -> {e}"));
                        continue;
                    }
                }
                accepted.push(format!("{case} accepted"));
            }
        }
    }
    assert!(accepted.is_empty(), "{accepted:#?}");
}

proptest! {
    /// Snapshots keep instants in milliseconds: a resumed expiry is never later than the
    /// original and less than a millisecond earlier, so a resumed flow refreshes no later.
    #[test]
    fn resumed_expiry_is_never_later_and_within_a_millisecond(
        lifetime in prop_oneof![0.0f64..1e7, (0u64..10_000_000).prop_map(|s| s as f64)],
        nanos in 0u32..1_000_000_000,
    ) {
        let now = t0() + std::time::Duration::new(0, nanos);
        let mut env = Env::new(Profile::default(), 2);
        env.now = now;
        let f = advance(env.start(Api::Realm), Act::RequestLogin, 0, &mut env, 1);
        let Begun::Sent(_, p) = begin(f, Act::RealmExchange, &mut env, &Inputs::default()) else {
            panic!("sends")
        };
        let body = json!({"accessToken": "CANARY-AT-p", "refreshToken": "CANARY-RT-p", "expires": lifetime});
        let f = p.receive(json(201, body), now).result.expect("tokened");
        let back = Flow::from_snapshot(&snap(&f)).expect("resume");
        let (a, b) = (
            tokens(&f).and_then(|t| t.expires_at()).expect("expiry"),
            tokens(&back).and_then(|t| t.expires_at()).expect("expiry"),
        );
        prop_assert!(b <= a, "resumed expiry {:?} is later than {:?}", b, a);
        let gap = a.duration_since(b).unwrap_or_default();
        prop_assert!(gap < std::time::Duration::from_millis(1), "{:?}", gap);
        let expected = now + std::time::Duration::from_secs_f64(lifetime);
        prop_assert_eq!(a, expected);
    }
}
