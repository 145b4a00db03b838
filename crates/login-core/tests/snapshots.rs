//! Snapshots: every state round-trips and then behaves exactly as the original; the ciam
//! `MfaPending` snapshot (the one services keep while the user reads the OTP) stays small; and
//! corrupt, truncated, wrong-version, huge or random bytes give a typed `SnapshotError`, never a
//! panic.

mod common;

use std::sync::OnceLock;

use common::*;
use login_core::action::{Action, Begun};
use login_core::flow::{MAX_SNAPSHOT_BYTES, SNAPSHOT_VERSION};
use login_core::table::{Api, StateId, StepId};
use login_core::{Flow, Response, SnapshotError};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Replies to continue with after a resume: each success branch, a refusal, a final error, a
/// transient one, garbage, and a transport failure (`None`).
fn continuations(from: StateId, step: StepId, n: u32) -> Vec<Option<Response>> {
    let mut out: Vec<Option<Response>> = success_replies(from, step, n)
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

/// Every action, listed or not: a listed one continues with every class of reply, an unlisted
/// one must be refused alike before and after the round trip.
#[test]
fn every_state_round_trips_and_continues_identically() {
    let inputs = Inputs::default();
    for settings in [Settings::default(), Settings::everything()] {
        let mut fx = Fixture::new(settings, 31);
        let states = all_states(&mut fx);
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
            for action in every_action(&inputs) {
                let replies = match listed(flow, &action) {
                    Some((step, _)) => continuations(flow.state_id(), step, n),
                    None => vec![None],
                };
                for reply in replies {
                    let (mut a, mut b) = (fx.fork(), fx.fork());
                    let original = run_once(flow.clone(), action.clone(), &mut a, reply.as_ref());
                    let again = run_once(resumed.clone(), action.clone(), &mut b, reply.as_ref());
                    assert_eq!(original, again, "{name} {action:?} after resume");
                }
                n += 1;
            }
        }
    }
}

#[test]
fn a_resumed_mfa_pending_completes_the_login() {
    let mut fx = Fixture::new(Settings::default(), 4);
    let inputs = Inputs::default();
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let f = advance(f, inputs.login(), 1, &mut fx, 2);
    let bytes = snap(&f);
    drop(f);
    // "Another process": only the bytes survive.
    let resumed = Flow::from_snapshot(&bytes).expect("resume");
    let f = advance(resumed, inputs.otp(), 0, &mut fx, 3);
    let t = advance(f, Action::Token, 0, &mut fx, 4);
    assert_eq!(t.state_id(), StateId::Tokened);
    let tokens = tokens(&t).expect("tokens");
    assert_eq!(tokens.access_token().expose(), format!("{ACCESS}-4"));
    assert_eq!(
        tokens.expires_at(),
        Some(t0() + std::time::Duration::from_secs(300))
    );
}

/// A login paused at a shown captcha resumes with the same captcha to show and answer.
#[test]
fn a_resumed_captcha_shown_keeps_its_captcha() {
    let mut fx = Fixture::new(Settings::default(), 4);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let f = advance(f, Action::FetchCaptcha, 0, &mut fx, 2);
    let resumed = Flow::from_snapshot(&snap(&f)).expect("resume");
    let (
        Flow::Ciam(login_core::ciam::State::CaptchaShown(a)),
        Flow::Ciam(login_core::ciam::State::CaptchaShown(b)),
    ) = (&f, &resumed)
    else {
        panic!("captcha shown")
    };
    assert_eq!(b.captcha().id(), "cap-2");
    assert_eq!(
        (a.captcha().id(), a.captcha().image_png()),
        (b.captcha().id(), b.captcha().image_png())
    );
    assert!(!b.captcha().image_png().is_empty());
}

#[test]
fn expiry_instants_survive_a_snapshot_to_the_millisecond() {
    let mut fx = Fixture::new(Settings::default(), 4);
    fx.now = t0() + std::time::Duration::from_millis(250);
    let f = advance(fx.start(Api::Realm), Action::RequestLogin, 1, &mut fx, 1);
    let f = advance(f, Inputs::default().otp(), 0, &mut fx, 2);
    let back = Flow::from_snapshot(&snap(&f)).expect("resume");
    let (a, b) = (tokens(&f).expect("t"), tokens(&back).expect("t"));
    assert_eq!(a.expires_at(), b.expires_at());
    assert_eq!(a.refresh_expires_at(), b.refresh_expires_at());
    assert_eq!(
        b.refresh_expires_at(),
        Some(fx.now + std::time::Duration::from_millis(1_800_500))
    );
}

#[test]
fn the_ciam_mfa_pending_snapshot_is_at_most_512_bytes() {
    let mut fx = Fixture::new(Settings::everything(), 8);
    let f = advance(fx.start(Api::Ciam), Action::Authorize, 0, &mut fx, 1);
    let Ok(Begun::Send(_, p)) = fx.begin(f, Inputs::default().login()) else {
        panic!("the login challenge sends")
    };
    // Realistic sizes: a 256-bit base64url challenge, a six-character reference.
    let reply = json(
        200,
        json!({"mfaChallenge": "CANARY-" .to_owned() + &"k".repeat(43), "channel": "email", "refId": "A7K2Q9"}),
    );
    let f = p.receive(&reply, fx.now).expect("mfa pending");
    assert_eq!(f.state_id(), StateId::MfaPending);
    let size = snap(&f).len();
    println!("ciam MfaPending snapshot: {size} bytes");
    assert!(size <= 512, "ciam MfaPending snapshot is {size} bytes");

    let mut fx = Fixture::new(Settings::default(), 8);
    let start = fx.start(Api::Realm);
    let Ok(Begun::Send(_, p)) = fx.begin(start, Action::RequestLogin) else {
        panic!("request login sends")
    };
    let reply = json(
        201,
        json!({"reqId": "9b2f6c1e-5d4a-4e7b-a3c2-1f0e8d7c6b5a", "exp": 300, "mfa": "otp", "refId": "A7K2Q9"}),
    );
    let f = p.receive(&reply, fx.now).expect("mfa pending");
    let size = snap(&f).len();
    println!("realm MfaPending snapshot: {size} bytes");
    assert!(size <= 512, "realm MfaPending snapshot is {size} bytes");
}

#[test]
fn every_strict_prefix_of_a_snapshot_is_corrupt() {
    let mut fx = Fixture::new(Settings::everything(), 5);
    for (name, flow) in all_states(&mut fx) {
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
    let mut fx = Fixture::new(Settings::default(), 5);
    let flow = fx.start(Api::Realm);
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
    let mut fx = Fixture::new(Settings::default(), 5);
    let mut padded = snap(&fx.start(Api::ForgotPassword));
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

/// Snapshot bytes of every state under the richest settings, built once.
fn valid_snapshots() -> &'static Vec<Vec<u8>> {
    static SNAPS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SNAPS.get_or_init(|| {
        let mut fx = Fixture::new(Settings::everything(), 6);
        all_states(&mut fx).iter().map(|(_, f)| snap(f)).collect()
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
    let mut fx = Fixture::new(Settings::everything(), 1);
    let inputs = Inputs::default();
    for (step, input) in flow.actions() {
        for reply in continuations(flow.state_id(), step, 1) {
            let action = action_for(step, input, &inputs);
            let _ = run_once(flow.clone(), action, &mut fx, reply.as_ref());
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
            let mut fx = Fixture::new(Settings::default(), 1);
            for (step, input) in flow.actions() {
                let action = action_for(step, input, &Inputs::default());
                if let Ok(Begun::Send(req, _)) = fx.begin(flow.clone(), action)
                    && let Err(e) = check_request(&req, &fx.settings)
                {
                    accepted.push(format!("{case} -> {e}"));
                    continue;
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
        let mut fx = Fixture::new(Settings::default(), 2);
        fx.now = now;
        let f = advance(fx.start(Api::Realm), Action::RequestLogin, 0, &mut fx, 1);
        let Ok(Begun::Send(_, p)) = fx.begin(f, Action::Token) else {
            panic!("sends")
        };
        let body = json!({"accessToken": "CANARY-AT-p", "refreshToken": "CANARY-RT-p", "expires": lifetime});
        let f = p.receive(&json(201, body), now).expect("tokened");
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
