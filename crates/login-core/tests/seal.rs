//! The credential envelope opened by independent code: RustCrypto p256 for the ECDH, sha2 for
//! a Concat KDF written here from RFC 7518 §4.6.2, aes-gcm for the content. Nothing of
//! login-core's sealing path is reused to open.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use login_core::Error;
use login_core::entropy::{DeterministicEntropy, Entropy, OsEntropy};
use login_core::error::{ConfigError, KeyProblem, LocalError};
use login_core::seal::{CredentialSealer, JweSealer, ServerKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use proptest::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const PLAINTEXT: &[u8] = br#"{"authToken":"test-auth-token","username":"test-user","password":"test-password","captchaId":"c1","captchaAnswer":"x7k","iat":1790000000}"#;

/// A fresh recipient key pair: the secret for the opener, the public JWK for the sealer.
fn recipient() -> (SecretKey, String) {
    loop {
        let mut bytes = [0u8; 32];
        OsEntropy.fill(&mut bytes).expect("os entropy");
        if let Ok(secret) = SecretKey::from_bytes(&bytes.into()) {
            let jwk = secret.public_key().to_jwk_string();
            return (secret, jwk);
        }
    }
}

fn b64(part: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| format!("base64url: {e}"))
}

/// Concat KDF for ECDH-ES direct with A256GCM (RFC 7518 §4.6.2), one SHA-256 round.
fn independent_kdf(z: &[u8], apu: &[u8], apv: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(1u32.to_be_bytes());
    h.update(z);
    h.update((b"A256GCM".len() as u32).to_be_bytes());
    h.update(b"A256GCM");
    h.update((apu.len() as u32).to_be_bytes());
    h.update(apu);
    h.update((apv.len() as u32).to_be_bytes());
    h.update(apv);
    h.update(256u32.to_be_bytes());
    h.finalize().into()
}

/// Opens a compact JWE the way a JOSE library would, strictly.
fn open(jwe: &str, secret: &SecretKey) -> Result<Vec<u8>, String> {
    let parts: Vec<&str> = jwe.split('.').collect();
    let [header_b64, encrypted_key, iv, ciphertext, tag] = parts[..] else {
        return Err(format!("{} parts", parts.len()));
    };
    if !encrypted_key.is_empty() {
        return Err("ECDH-ES direct has an empty encrypted key".into());
    }
    let header: Value =
        serde_json::from_slice(&b64(header_b64)?).map_err(|e| format!("header json: {e}"))?;
    if header["alg"] != "ECDH-ES" || header["enc"] != "A256GCM" {
        return Err(format!("unexpected alg/enc in {header}"));
    }
    let epk = serde_json::to_string(&header["epk"]).map_err(|e| e.to_string())?;
    let epk = PublicKey::from_jwk_str(&epk).map_err(|_| "epk is not a P-256 point".to_string())?;
    let apu = header
        .get("apu")
        .and_then(Value::as_str)
        .map(b64)
        .transpose()?
        .unwrap_or_default();
    let apv = header
        .get("apv")
        .and_then(Value::as_str)
        .map(b64)
        .transpose()?
        .unwrap_or_default();
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), epk.as_affine());
    let cek = independent_kdf(shared.raw_secret_bytes(), &apu, &apv);

    let iv = b64(iv)?;
    let iv: [u8; 12] = iv
        .try_into()
        .map_err(|v: Vec<u8>| format!("iv of {} bytes", v.len()))?;
    let tag = b64(tag)?;
    if tag.len() != 16 {
        return Err(format!("tag of {} bytes", tag.len()));
    }
    let mut msg = b64(ciphertext)?;
    msg.extend_from_slice(&tag);
    let cipher = Aes256Gcm::new_from_slice(&cek).map_err(|e| e.to_string())?;
    cipher
        .decrypt(
            &Nonce::from(iv),
            Payload {
                msg: &msg,
                aad: header_b64.as_bytes(),
            },
        )
        .map_err(|_| "authentication failed".to_string())
}

/// The JWE with one part's decoded bytes changed by `f`, re-encoded.
fn tamper(jwe: &str, index: usize, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let mut bytes = URL_SAFE_NO_PAD
        .decode(&parts[index])
        .expect("own part decodes");
    f(&mut bytes);
    parts[index] = URL_SAFE_NO_PAD.encode(&bytes);
    parts.join(".")
}

fn header_of(jwe: &str) -> Value {
    let first = jwe.split('.').next().expect("a header part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(first).expect("base64url")).expect("json")
}

#[test]
fn an_independent_opener_recovers_the_plaintext() {
    for seed in 0..20 {
        let (secret, jwk) = recipient();
        let sealer = JweSealer::from_jwk(&jwk).expect("recipient JWK");
        let jwe = sealer
            .seal(PLAINTEXT, &mut DeterministicEntropy::new(seed))
            .expect("seal");
        assert_eq!(open(jwe.expose(), &secret).expect("opens"), PLAINTEXT);
    }
}

#[test]
fn the_envelope_opens_with_os_entropy_and_empty_plaintext() {
    let (secret, jwk) = recipient();
    let sealer = JweSealer::from_jwk(&jwk).expect("recipient JWK");
    let jwe = sealer.seal(b"", &mut OsEntropy).expect("seal");
    assert_eq!(open(jwe.expose(), &secret).expect("opens"), b"");
    let jwe = sealer.seal(PLAINTEXT, &mut OsEntropy).expect("seal");
    assert_eq!(open(jwe.expose(), &secret).expect("opens"), PLAINTEXT);
}

#[test]
fn another_recipient_cannot_open() {
    let (_, jwk) = recipient();
    let (stranger, _) = recipient();
    let jwe = JweSealer::from_jwk(&jwk)
        .expect("jwk")
        .seal(PLAINTEXT, &mut DeterministicEntropy::new(1))
        .expect("seal");
    assert!(open(jwe.expose(), &stranger).is_err());
}

#[test]
fn the_header_holds_exactly_the_contract_fields() {
    let (_, jwk) = recipient();
    let jwe = JweSealer::from_jwk(&jwk)
        .expect("jwk")
        .seal(PLAINTEXT, &mut DeterministicEntropy::new(2))
        .expect("seal");
    let header = header_of(jwe.expose());
    let mut keys: Vec<&str> = header
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["alg", "enc", "epk"]);
    let mut epk_keys: Vec<&str> = header["epk"]
        .as_object()
        .expect("epk object")
        .keys()
        .map(String::as_str)
        .collect();
    epk_keys.sort_unstable();
    assert_eq!(epk_keys, ["crv", "kty", "x", "y"]);
    assert_eq!(header["epk"]["kty"], "EC");
    assert_eq!(header["epk"]["crv"], "P-256");
    // The plaintext (with its test password) appears nowhere in the envelope.
    assert!(!jwe.expose().contains("test-password"));
    let ct = URL_SAFE_NO_PAD
        .decode(jwe.expose().split('.').nth(3).expect("ct"))
        .expect("b64");
    assert_eq!(ct.len(), PLAINTEXT.len());
}

#[test]
fn the_epk_is_on_the_curve_and_fresh_per_seal() {
    let (_, jwk) = recipient();
    let sealer = JweSealer::from_jwk(&jwk).expect("jwk");
    let mut entropy = DeterministicEntropy::new(3);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        let jwe = sealer.seal(PLAINTEXT, &mut entropy).expect("seal");
        let header = header_of(jwe.expose());
        let x = URL_SAFE_NO_PAD
            .decode(header["epk"]["x"].as_str().expect("x"))
            .expect("b64");
        let y = URL_SAFE_NO_PAD
            .decode(header["epk"]["y"].as_str().expect("y"))
            .expect("b64");
        assert_eq!((x.len(), y.len()), (32, 32));
        let mut sec1 = vec![4u8];
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        let point = PublicKey::from_sec1_bytes(&sec1).expect("epk on the P-256 curve");
        assert_eq!(point.to_encoded_point(false).as_bytes(), &sec1[..]);
        assert!(seen.insert(sec1), "epk reused");
        let iv = jwe.expose().split('.').nth(2).expect("iv").to_owned();
        assert!(seen.insert(iv.into_bytes()), "iv reused");
    }
}

#[test]
fn tampering_with_any_part_makes_opening_fail() {
    let (secret, jwk) = recipient();
    let (_, other_jwk) = recipient();
    let jwe = JweSealer::from_jwk(&jwk)
        .expect("jwk")
        .seal(PLAINTEXT, &mut DeterministicEntropy::new(4))
        .expect("seal");
    let jwe = jwe.expose();
    assert!(open(jwe, &secret).is_ok());

    // Header: a bit flip anywhere, an added field (still valid JSON, same epk: only the AAD
    // changes), another valid epk.
    let header_len = URL_SAFE_NO_PAD
        .decode(jwe.split('.').next().expect("h"))
        .expect("b64")
        .len();
    for i in 0..header_len {
        assert!(
            open(&tamper(jwe, 0, |b| b[i] ^= 0x01), &secret).is_err(),
            "header byte {i}"
        );
    }
    let mut header = header_of(jwe);
    header["zip"] = Value::from("DEF");
    let reheadered = tamper(jwe, 0, |b| *b = serde_json::to_vec(&header).expect("json"));
    assert!(open(&reheadered, &secret).is_err(), "added header field");
    let mut header = header_of(jwe);
    let other: Value = serde_json::from_str(&other_jwk).expect("jwk json");
    header["epk"] = other;
    let swapped = tamper(jwe, 0, |b| *b = serde_json::to_vec(&header).expect("json"));
    assert!(open(&swapped, &secret).is_err(), "swapped epk");

    // Encrypted key: must stay empty.
    let mut parts: Vec<&str> = jwe.split('.').collect();
    parts[1] = "AAAA";
    assert!(open(&parts.join("."), &secret).is_err(), "encrypted key");

    // IV, ciphertext, tag: every byte.
    for (index, name) in [(2, "iv"), (3, "ciphertext"), (4, "tag")] {
        let len = URL_SAFE_NO_PAD
            .decode(jwe.split('.').nth(index).expect("part"))
            .expect("b64")
            .len();
        for i in 0..len {
            assert!(
                open(&tamper(jwe, index, |b| b[i] ^= 0x80), &secret).is_err(),
                "{name} byte {i}"
            );
        }
    }
    // Truncated ciphertext and tag.
    assert!(
        open(
            &tamper(jwe, 3, |b| {
                b.pop();
            }),
            &secret
        )
        .is_err()
    );
    assert!(
        open(
            &tamper(jwe, 4, |b| {
                b.pop();
            }),
            &secret
        )
        .is_err()
    );
}

#[test]
fn the_same_seed_gives_the_same_envelope_and_other_seeds_differ() {
    let (_, jwk) = recipient();
    let sealer = JweSealer::from_jwk(&jwk).expect("jwk");
    let a = sealer
        .seal(PLAINTEXT, &mut DeterministicEntropy::new(42))
        .expect("seal");
    let b = sealer
        .seal(PLAINTEXT, &mut DeterministicEntropy::new(42))
        .expect("seal");
    let c = sealer
        .seal(PLAINTEXT, &mut DeterministicEntropy::new(43))
        .expect("seal");
    assert_eq!(a.expose(), b.expose());
    assert_ne!(a.expose(), c.expose());
    // Every random part differs, not just one.
    let pa: Vec<&str> = a.expose().split('.').collect();
    let pc: Vec<&str> = c.expose().split('.').collect();
    for i in [0, 2, 3, 4] {
        assert_ne!(pa[i], pc[i], "part {i}");
    }
}

#[test]
fn a_kid_is_sent_and_the_envelope_still_opens() {
    let (secret, jwk) = recipient();
    let mut value: Value = serde_json::from_str(&jwk).expect("json");
    value["kid"] = Value::from("server-enc-1");
    let jwks = serde_json::json!({ "keys": [
        { "kty": "RSA", "n": "AQAB", "e": "AQAB" },
        { "kty": "EC", "crv": "P-384", "x": "AA", "y": "AA" },
        value,
    ]});
    let key = ServerKey::from_jwk(&jwks.to_string()).expect("jwks");
    assert_eq!(key.kid(), Some("server-enc-1"));
    let jwe = JweSealer::new(key)
        .seal(PLAINTEXT, &mut DeterministicEntropy::new(5))
        .expect("seal");
    assert_eq!(header_of(jwe.expose())["kid"], "server-enc-1");
    assert_eq!(open(jwe.expose(), &secret).expect("opens"), PLAINTEXT);
}

#[test]
fn debug_shows_no_key_material_beyond_kid() {
    let (_, jwk) = recipient();
    let value: Value = serde_json::from_str(&jwk).expect("json");
    let x = value["x"].as_str().expect("x").to_owned();
    let y = value["y"].as_str().expect("y").to_owned();
    let mut with_kid = value.clone();
    with_kid["kid"] = Value::from("kid-visible");
    let sealer = JweSealer::from_jwk(&with_kid.to_string()).expect("jwk");
    for debug in [format!("{sealer:?}"), format!("{:?}", sealer.key())] {
        assert!(debug.contains("kid-visible"), "{debug}");
        assert!(!debug.contains(&x) && !debug.contains(&y), "{debug}");
        assert!(
            !debug.contains(&x[..8]) && !debug.contains(&y[..8]),
            "{debug}"
        );
    }
    let sealed = sealer
        .seal(PLAINTEXT, &mut DeterministicEntropy::new(6))
        .expect("seal");
    assert!(!format!("{sealed:?}").contains(&sealed.expose()[..20]));
}

fn config_error(json: &str) -> KeyProblem {
    match ServerKey::from_jwk(json) {
        Err(Error::Local(LocalError::Config(ConfigError::ServerKey(problem)))) => problem,
        other => panic!("expected ConfigError::ServerKey for {json}, got {other:?}"),
    }
}

#[test]
fn bad_keys_are_refused_with_config_errors() {
    let (secret, jwk) = recipient();
    let good: Value = serde_json::from_str(&jwk).expect("json");
    let with = |field: &str, v: Value| {
        let mut k = good.clone();
        k[field] = v;
        k.to_string()
    };
    let without = |field: &str| {
        let mut k = good.clone();
        k.as_object_mut().expect("object").remove(field);
        k.to_string()
    };
    assert!(ServerKey::from_jwk(&jwk).is_ok());

    config_error("");
    config_error("not json");
    config_error("[]");
    config_error("42");
    config_error(r#"{"keys":{}}"#);
    config_error(r#"{"keys":[]}"#);
    config_error(r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#);
    config_error(&with("kty", Value::from("RSA")));
    config_error(&with("kty", Value::from(1)));
    config_error(&without("kty"));
    config_error(&with("crv", Value::from("P-384")));
    config_error(&with("crv", Value::from("secp256k1")));
    config_error(&without("crv"));
    config_error(&without("x"));
    config_error(&without("y"));
    config_error(&with("x", Value::from(5)));
    config_error(&with("use", Value::from("sig")));
    config_error(&with("alg", Value::from("RSA-OAEP")));
    config_error(&with("kid", Value::from(7)));

    // Bad base64url: padded, standard alphabet, wrong length, non-canonical trailing bits.
    let x = good["x"].as_str().expect("x").to_owned();
    config_error(&with("x", Value::from(format!("{x}="))));
    config_error(&with("x", Value::from(format!("+{}", &x[1..]))));
    config_error(&with("x", Value::from(&x[..42])));
    config_error(&with("x", Value::from(format!("{x}A"))));
    config_error(&with("x", Value::from(URL_SAFE_NO_PAD.encode([0u8; 33]))));
    let mut noncanonical = x.clone();
    let last = noncanonical.pop().expect("last");
    // The 43rd character carries 2 unused bits; set them.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).expect("alphabet");
    noncanonical.push(alphabet.as_bytes()[idx | 0b11] as char);
    config_error(&with("x", Value::from(noncanonical)));

    // Points off the curve: y + 1, and all zeros (the point at infinity has no affine form).
    let mut y = URL_SAFE_NO_PAD
        .decode(good["y"].as_str().expect("y"))
        .expect("b64");
    y[31] = y[31].wrapping_add(1);
    let problem = config_error(&with("y", Value::from(URL_SAFE_NO_PAD.encode(&y))));
    assert_eq!(problem, KeyProblem::OffCurve);
    let zero = URL_SAFE_NO_PAD.encode([0u8; 32]);
    let mut zeros = good.clone();
    zeros["x"] = Value::from(zero.clone());
    zeros["y"] = Value::from(zero);
    config_error(&zeros.to_string());

    // A private key in the configuration is refused rather than silently used as public.
    let private = secret.to_jwk_string();
    let problem = config_error(&private);
    assert_eq!(problem, KeyProblem::PrivatePart);
    // The message never echoes the key.
    let d: Value = serde_json::from_str(&private).expect("json");
    let message = Error::from(ConfigError::ServerKey(problem)).to_string();
    assert!(message.contains("private"), "{message}");
    assert!(!message.contains(d["d"].as_str().expect("d")));
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        let _ = ServerKey::from_jwk(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = ServerKey::from_jwk(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn jwk_shaped_garbage_never_panics_and_off_curve_points_are_refused(
        kty in prop_oneof![Just("EC".to_owned()), ".{0,4}"],
        crv in prop_oneof![Just("P-256".to_owned()), ".{0,6}"],
        x in proptest::collection::vec(any::<u8>(), 0..40),
        y in proptest::collection::vec(any::<u8>(), 0..40),
        kid in proptest::option::of(".{0,12}"),
        as_jwks in any::<bool>(),
    ) {
        let mut jwk = serde_json::json!({
            "kty": kty, "crv": crv,
            "x": URL_SAFE_NO_PAD.encode(&x), "y": URL_SAFE_NO_PAD.encode(&y),
        });
        if let Some(kid) = &kid {
            jwk["kid"] = Value::from(kid.as_str());
        }
        let text = if as_jwks { serde_json::json!({ "keys": [jwk] }).to_string() } else { jwk.to_string() };
        let result = ServerKey::from_jwk(&text);
        // Accepted only when p256 agrees the point is on the curve.
        let mut sec1 = vec![4u8];
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        let valid = kty == "EC" && crv == "P-256" && x.len() == 32 && y.len() == 32
            && PublicKey::from_sec1_bytes(&sec1).is_ok();
        prop_assert_eq!(result.is_ok(), valid);
        if let Ok(key) = result {
            prop_assert_eq!(key.kid(), kid.as_deref());
        } else {
            prop_assert!(matches!(result, Err(Error::Local(LocalError::Config(ConfigError::ServerKey(_))))));
        }
    }

    #[test]
    fn any_plaintext_round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..512), seed in any::<u64>()) {
        let (secret, jwk) = recipient();
        let jwe = JweSealer::from_jwk(&jwk).expect("jwk")
            .seal(&plaintext, &mut DeterministicEntropy::new(seed)).expect("seal");
        prop_assert_eq!(open(jwe.expose(), &secret).expect("opens"), plaintext);
    }
}
