//! The independent oracle: canary secrets and the check that no text holds one, the test
//! recipient key with a JWE opener, and S256. Nothing here reuses login-core's crypto: the
//! envelope is opened with RustCrypto p256, aes-gcm and sha2, and the Concat KDF is written
//! from RFC 7518 §4.6.2.

use std::sync::OnceLock;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use login_core::seal::JweSealer;
use p256::{PublicKey, SecretKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

// Every secret the tests hand in or a fake server hands out starts with `MARK`, and nothing
// that is not a secret does, so "no secret in Debug" is "no MARK in Debug".

/// The prefix of every canary.
pub const MARK: &str = "CANARY";
pub const PASSWORD: &str = "CANARY-PW-91f2";
pub const NEW_PASSWORD: &str = "CANARY-NEWPW-3c1d";
pub const CLIENT_SECRET: &str = "CANARY-CS-7a0e";
pub const OTP: &str = "CANARY-OTP-52b8";
pub const DEVICE_TOKEN: &str = "CANARY-DEV-e4a9";
pub const CAPTCHA_ANSWER: &str = "CANARY-CAPANS-0d77";
pub const CFG_AUTH_TOKEN: &str = "CANARY-CFGAT-19c4";
pub const CFG_LOGIN_VERIFIER: &str = "CANARY-CFGLV-8e21";
// Prefixes of server-issued secrets (a counter is appended so each reply is distinct).
pub const ACCESS: &str = "CANARY-AT";
pub const REFRESH: &str = "CANARY-RT";
pub const REQ_ID: &str = "CANARY-REQ";
pub const RESET_REQ_ID: &str = "CANARY-RREQ";
pub const TICKET: &str = "CANARY-TICKET";
pub const LOGIN_CHALLENGE: &str = "CANARY-LC";
pub const AUTH_TOKEN: &str = "CANARY-AUTHTOK";
pub const CODE: &str = "CANARY-CODE";
pub const TOKEN: &str = "CANARY-LCTOKEN";
pub const MFA: &str = "CANARY-MFA";

/// Asserts that `text` holds no canary and none of the `extra` secrets (values without the
/// mark that were seen on the wire: PKCE verifiers, envelopes).
pub fn assert_no_secret(what: &str, text: &str, extra: &[String]) {
    assert!(!text.contains(MARK), "{what} leaks a canary: {text}");
    for secret in extra {
        assert!(
            secret.is_empty() || !text.contains(secret.as_str()),
            "{what} leaks a secret value: {text}"
        );
    }
}

fn recipient() -> &'static (SecretKey, String) {
    static KEY: OnceLock<(SecretKey, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let secret = SecretKey::from_bytes(&[0x5au8; 32].into()).expect("a valid P-256 scalar");
        let jwk = secret.public_key().to_jwk_string();
        (secret, jwk)
    })
}

/// The server's public key as a JWK.
pub fn server_jwk() -> &'static str {
    &recipient().1
}

/// login-core's sealer to the test recipient (what the engine seals with; opened below).
pub fn sealer() -> JweSealer {
    JweSealer::from_jwk(server_jwk()).expect("the test JWK is valid")
}

fn b64(part: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| format!("base64url: {e}"))
}

/// Concat KDF for ECDH-ES direct with A256GCM (RFC 7518 §4.6.2), written from the RFC.
fn kdf(z: &[u8], apu: &[u8], apv: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(1u32.to_be_bytes());
    h.update(z);
    for part in [&b"A256GCM"[..], apu, apv] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    h.update(256u32.to_be_bytes());
    h.finalize().into()
}

/// Opens a compact JWE (ECDH-ES + A256GCM) to the test recipient, strictly.
pub fn open_jwe(jwe: &str) -> Result<Vec<u8>, String> {
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
    let field = |name: &str| -> Result<Vec<u8>, String> {
        header
            .get(name)
            .and_then(Value::as_str)
            .map(b64)
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let (apu, apv) = (field("apu")?, field("apv")?);
    let shared = p256::ecdh::diffie_hellman(recipient().0.to_nonzero_scalar(), epk.as_affine());
    let cek = kdf(shared.raw_secret_bytes(), &apu, &apv);
    let iv: [u8; 12] = b64(iv)?
        .try_into()
        .map_err(|v: Vec<u8>| format!("iv of {} bytes", v.len()))?;
    let tag = b64(tag)?;
    if tag.len() != 16 {
        return Err(format!("tag of {} bytes", tag.len()));
    }
    let mut msg = b64(ciphertext)?;
    msg.extend_from_slice(&tag);
    Aes256Gcm::new_from_slice(&cek)
        .map_err(|e| e.to_string())?
        .decrypt(
            &Nonce::from(iv),
            Payload {
                msg: &msg,
                aad: header_b64.as_bytes(),
            },
        )
        .map_err(|_| "authentication failed".to_string())
}

/// The envelope of a login challenge body, opened and parsed.
pub fn open_envelope(jwe: &str) -> Result<Value, String> {
    let plain = open_jwe(jwe).map_err(|e| format!("envelope: {e}"))?;
    serde_json::from_slice(&plain).map_err(|e| format!("envelope plaintext is not JSON: {e}"))
}

/// base64url(SHA-256(verifier)) without padding, computed with RustCrypto's sha2.
pub fn independent_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}
