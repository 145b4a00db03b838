//! Sealing: round trips, every typed error, key rotation, key loading.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use login_core::secret::Password;
use login_core::{Flow, realm};
use login_store::seal::{KeyError, Keyring, SealError, SealKey};

const BINDING: &[u8] = b"lf:{AAAAAAAAAAAAAAAAAAAAAA}:login";

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(300)
}

#[test]
fn a_paused_flow_and_a_session_round_trip() {
    let ring = keyring();
    let now = SystemTime::now();
    let flow = paused_login("req-round-trip", 300);
    let sealed = ring.seal_flow(BINDING, later(), &flow).unwrap();
    let opened = ring.open_flow(BINDING, now, &sealed).unwrap();
    assert_eq!(opened.to_snapshot().expose(), flow.to_snapshot().expose());
    assert!(matches!(opened, Flow::Realm(realm::State::MfaPending(_))));

    let session = session("canary-access", "canary-refresh", 300);
    let sealed = ring.seal_session(BINDING, later(), &session).unwrap();
    let opened = ring.open_session(BINDING, now, &sealed).unwrap();
    assert_eq!(opened.tokens().access_token().expose(), "canary-access");
    assert_eq!(opened.tokens().refresh_token().expose(), "canary-refresh");
    // A session opened as a flow is a Tokened flow; a paused flow is not a session.
    let flow_sealed = ring.seal_flow(BINDING, later(), &flow).unwrap();
    assert_eq!(
        ring.open_session(BINDING, now, &flow_sealed).unwrap_err(),
        SealError::NotASession
    );
}

#[test]
fn sealed_bytes_hold_no_secret_in_clear() {
    let ring = keyring();
    let session = session("canary-access-token", "canary-refresh-token", 300);
    let sealed = ring.seal_session(BINDING, later(), &session).unwrap();
    for canary in ["canary-access-token", "canary-refresh-token", "alice"] {
        assert!(!contains(&sealed, canary.as_bytes()), "{canary} in clear");
    }
    let flow = paused_login("req-canary-request-id", 300);
    let sealed = ring.seal_flow(BINDING, later(), &flow).unwrap();
    assert!(!contains(&sealed, b"req-canary-request-id"));
}

#[test]
fn a_flow_holding_the_password_is_refused() {
    let start = Flow::from(realm::Start::new("bob", Password::new("canary-password")));
    assert_eq!(
        keyring().seal_flow(BINDING, later(), &start).unwrap_err(),
        SealError::HoldsPassword
    );
}

#[test]
fn tampering_with_any_single_byte_is_detected() {
    let ring = keyring();
    let now = SystemTime::now();
    let sealed = ring.seal(BINDING, later(), b"a paused flow").unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        let err = ring.open(BINDING, now, &bad).unwrap_err();
        // Header bytes give format errors or an unknown kid; everything after the header fails
        // authentication.
        let header = 2 + 2; // version, kid length, "t1"
        if i >= header {
            assert_eq!(err, SealError::Unauthentic, "byte {i}");
        } else {
            assert!(
                matches!(err, SealError::Malformed(_) | SealError::UnknownKey { .. }),
                "byte {i}: {err:?}"
            );
        }
    }
    // Truncation and extension too.
    assert!(
        ring.open(BINDING, now, &sealed[..sealed.len() - 1])
            .is_err()
    );
    let mut longer = sealed.clone();
    longer.push(0);
    assert_eq!(
        ring.open(BINDING, now, &longer).unwrap_err(),
        SealError::Unauthentic
    );
}

#[test]
fn a_value_moved_to_another_store_key_does_not_open() {
    let ring = keyring();
    let sealed = ring.seal(BINDING, later(), b"x").unwrap();
    let other = b"lf:{BBBBBBBBBBBBBBBBBBBBBA}:login";
    assert_eq!(
        ring.open(other, SystemTime::now(), &sealed).unwrap_err(),
        SealError::Unauthentic
    );
    // A session bound to version 1 does not open as version 2.
    let v1 = ring.seal(b"lf:{x}:session#v=1", later(), b"x").unwrap();
    assert_eq!(
        ring.open(b"lf:{x}:session#v=2", SystemTime::now(), &v1)
            .unwrap_err(),
        SealError::Unauthentic
    );
}

#[test]
fn a_wrong_key_under_the_same_id_does_not_open() {
    let sealed = keyring().seal(BINDING, later(), b"x").unwrap();
    let impostor = Keyring::new(SealKey::generate("t1").unwrap());
    assert_eq!(
        impostor
            .open(BINDING, SystemTime::now(), &sealed)
            .unwrap_err(),
        SealError::Unauthentic
    );
}

#[test]
fn an_unknown_key_id_is_named() {
    let sealed = random_keyring("elsewhere")
        .seal(BINDING, later(), b"x")
        .unwrap();
    assert_eq!(
        keyring()
            .open(BINDING, SystemTime::now(), &sealed)
            .unwrap_err(),
        SealError::UnknownKey {
            kid: "elsewhere".into()
        }
    );
}

#[test]
fn a_value_past_its_sealed_expiry_does_not_open() {
    let ring = keyring();
    let now = SystemTime::now();
    let sealed = ring
        .seal(BINDING, now + Duration::from_secs(1), b"x")
        .unwrap();
    assert!(ring.open(BINDING, now, &sealed).is_ok());
    let err = ring
        .open(BINDING, now + Duration::from_secs(2), &sealed)
        .unwrap_err();
    assert!(matches!(err, SealError::Expired { .. }), "{err:?}");
}

#[test]
fn rotation_new_key_seals_old_key_opens_until_removed() {
    let old_ring = Keyring::from_base64("2026-11", KEY_B64).unwrap();
    let before = old_ring.seal(BINDING, later(), b"sealed before").unwrap();

    // Rotated: the new key first, the old one still opening.
    let rotated = Keyring::parse(&format!(
        "# new first\n2026-12:{}\n2026-11:{KEY_B64}\n",
        "HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo="
    ))
    .unwrap();
    assert_eq!(rotated.sealing_kid().as_str(), "2026-12");
    let now = SystemTime::now();
    assert_eq!(
        rotated.open(BINDING, now, &before).unwrap().plaintext(),
        b"sealed before"
    );
    let after = rotated.seal(BINDING, later(), b"sealed after").unwrap();
    assert_eq!(&after[2..9], b"2026-12", "the new key seals");
    // The old keyring cannot open what the new key sealed.
    assert_eq!(
        old_ring.open(BINDING, now, &after).unwrap_err(),
        SealError::UnknownKey {
            kid: "2026-12".into()
        }
    );

    // The old key removed: values sealed with it are gone, typed.
    let removed =
        Keyring::from_base64("2026-12", "HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo=").unwrap();
    assert_eq!(
        removed.open(BINDING, now, &before).unwrap_err(),
        SealError::UnknownKey {
            kid: "2026-11".into()
        }
    );
    assert!(removed.open(BINDING, now, &after).is_ok());
}

#[test]
fn keys_load_from_a_file_and_not_from_a_missing_variable() {
    let dir = TempDir::new("keys");
    let path = dir.path().join("keys");
    std::fs::write(&path, format!("# comment\n\nt1:{KEY_B64}\n")).unwrap();
    let ring = Keyring::from_file(&path).unwrap();
    assert_eq!(ring.sealing_kid().as_str(), "t1");
    assert!(matches!(
        Keyring::from_file(dir.path().join("absent")),
        Err(KeyError::Read { .. })
    ));
    assert!(matches!(
        Keyring::from_env("LOGIN_STORE_TEST_SURELY_UNSET_VARIABLE"),
        Err(KeyError::MissingEnv { .. })
    ));
}
