//! Opens the login-challenge credential envelope: a JWE in compact serialization (RFC 7516)
//! with `alg` `ECDH-ES` (direct key agreement) and `enc` `A256GCM`, to the server's P-256 key
//! (`A128GCM` instead under the `a128gcm` deviation, see [`crate::deviation`]).
//!
//! `BASE64URL(header) . "" . BASE64URL(iv) . BASE64URL(ciphertext) . BASE64URL(tag)`: the
//! encrypted-key part is empty. The content key is the Concat KDF of RFC 7518 §4.6.2 over the
//! ECDH shared secret Z: `SHA-256(00000001 ‖ Z ‖ len‖enc ‖ len‖apu ‖ len‖apv ‖ keydatalen)`,
//! with `apu`/`apv` from the header (empty when absent), truncated to the key size (256 bits
//! for `A256GCM`, 128 for `A128GCM`). The AAD is the ASCII of the protected header's base64url
//! form. RustCrypto does the arithmetic: independent of login-core's sealer on purpose.
//!
//! The server key is generated at startup, or loaded from a private JWK; [`ServerKey::public_jwk`]
//! gives the public half with its RFC 7638 thumbprint as `kid`.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::JwkEcKey;
use p256::{PublicKey, SecretKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::tokens::random_bytes;

/// Why an envelope could not be opened. The message never contains key or plaintext material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JweError {
    /// Not five dot-separated base64url parts with an empty encrypted key.
    #[error("the envelope is not a JWE compact serialization with an empty encrypted key")]
    Shape,
    /// The protected header is not the expected JSON.
    #[error("the JWE header is invalid: {0}")]
    Header(&'static str),
    /// `alg` or `enc` is not the one this server opens.
    #[error("the JWE must use alg ECDH-ES and enc {}", .expected.as_str())]
    Algorithm {
        /// The `enc` this server opens.
        expected: Enc,
    },
    /// `kid` names another key.
    #[error("the JWE is sealed to another key (kid mismatch); fetch /api/v1/jwks.json")]
    KeyId,
    /// The ephemeral public key is not a P-256 point.
    #[error("the JWE ephemeral key is not a valid P-256 public key")]
    EphemeralKey,
    /// Authentication failed: wrong key, or the envelope was altered.
    #[error("the JWE could not be decrypted (wrong key or altered envelope)")]
    Decrypt,
}

/// A JWE content encryption the sandbox opens: the contract's, or the `a128gcm` deviation's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    /// `A256GCM` (the contract's).
    A256Gcm,
    /// `A128GCM`.
    A128Gcm,
}

impl Enc {
    /// The JWE `enc` value, also the Concat KDF's AlgorithmID.
    pub fn as_str(self) -> &'static str {
        match self {
            Enc::A256Gcm => "A256GCM",
            Enc::A128Gcm => "A128GCM",
        }
    }

    /// The content key's length in bits.
    pub fn key_bits(self) -> u32 {
        match self {
            Enc::A256Gcm => 256,
            Enc::A128Gcm => 128,
        }
    }
}

/// The server's P-256 key pair for the credential envelope.
#[derive(Clone)]
pub struct ServerKey {
    secret: SecretKey,
    public_jwk: String,
    kid: String,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ServerKey {
    /// A fresh random key pair.
    pub fn generate() -> Self {
        loop {
            let bytes = Zeroizing::new(random_bytes::<32>());
            // Fails only for zero or a value at least the group order (about 2^-32).
            if let Ok(secret) = SecretKey::from_slice(bytes.as_slice()) {
                return Self::from_secret(secret);
            }
        }
    }

    /// Loads a private key from a JWK (`{"kty":"EC","crv":"P-256","x","y","d"}`).
    ///
    /// # Errors
    /// When the text is not a P-256 private JWK.
    pub fn from_private_jwk(jwk: &str) -> Result<Self, String> {
        SecretKey::from_jwk_str(jwk)
            .map(Self::from_secret)
            .map_err(|_| "not a P-256 private JWK (kty EC, crv P-256, x, y, d)".to_owned())
    }

    fn from_secret(secret: SecretKey) -> Self {
        let jwk: Value =
            serde_json::from_str(&secret.public_key().to_jwk_string()).unwrap_or_default();
        let (x, y) = (
            jwk["x"].as_str().unwrap_or_default(),
            jwk["y"].as_str().unwrap_or_default(),
        );
        // RFC 7638 thumbprint: the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let public_jwk = json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "enc", "alg": "ECDH-ES"
        })
        .to_string();
        ServerKey {
            secret,
            public_jwk,
            kid,
        }
    }

    /// The public key as a JWK JSON object with `kid`, `use` `enc` and `alg` `ECDH-ES`.
    pub fn public_jwk(&self) -> &str {
        &self.public_jwk
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key as a JWK, to save it for a later start (keep it secret).
    pub fn private_jwk(&self) -> Zeroizing<String> {
        self.secret.to_jwk_string()
    }

    /// Opens a compact JWE (`enc` `A256GCM`) sealed to this key and returns the plaintext.
    ///
    /// # Errors
    /// See [`JweError`].
    pub fn open(&self, compact: &str) -> Result<Zeroizing<Vec<u8>>, JweError> {
        self.open_with(compact, Enc::A256Gcm)
    }

    /// Opens a compact JWE whose `enc` must be `enc`.
    ///
    /// # Errors
    /// See [`JweError`]; another `enc` is [`JweError::Algorithm`].
    pub fn open_with(&self, compact: &str, enc: Enc) -> Result<Zeroizing<Vec<u8>>, JweError> {
        let parts: Vec<&str> = compact.trim().split('.').collect();
        let [header_b64, encrypted_key, iv_b64, ct_b64, tag_b64] = parts.as_slice() else {
            return Err(JweError::Shape);
        };
        if !encrypted_key.is_empty() {
            return Err(JweError::Shape);
        }
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| JweError::Shape);
        let header: Value = serde_json::from_slice(&decode(header_b64)?)
            .map_err(|_| JweError::Header("not a JSON object"))?;
        if header["alg"] != "ECDH-ES" || header["enc"] != enc.as_str() {
            return Err(JweError::Algorithm { expected: enc });
        }
        if header.get("zip").is_some() || header.get("crit").is_some() {
            return Err(JweError::Header("zip and crit are not supported"));
        }
        if let Some(kid) = header.get("kid")
            && kid.as_str() != Some(self.kid.as_str())
        {
            return Err(JweError::KeyId);
        }
        let epk: JwkEcKey =
            serde_json::from_value(header["epk"].clone()).map_err(|_| JweError::EphemeralKey)?;
        let epk = PublicKey::from_jwk(&epk).map_err(|_| JweError::EphemeralKey)?;
        let party_info = |name: &'static str| -> Result<Vec<u8>, JweError> {
            match header.get(name) {
                None => Ok(Vec::new()),
                Some(Value::String(s)) => URL_SAFE_NO_PAD
                    .decode(s)
                    .map_err(|_| JweError::Header("apu/apv not base64url")),
                Some(_) => Err(JweError::Header("apu/apv must be strings")),
            }
        };
        let (apu, apv) = (party_info("apu")?, party_info("apv")?);
        let iv: [u8; 12] = decode(iv_b64)?.try_into().map_err(|_| JweError::Shape)?;
        let tag = decode(tag_b64)?;
        if tag.len() != 16 {
            return Err(JweError::Shape);
        }
        let mut sealed = decode(ct_b64)?;
        sealed.extend_from_slice(&tag);

        let shared = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), epk.as_affine());
        let key = concat_kdf(
            shared.raw_secret_bytes(),
            enc.as_str(),
            &apu,
            &apv,
            enc.key_bits(),
        );
        let payload = Payload {
            msg: &sealed,
            aad: header_b64.as_bytes(),
        };
        let opened = match enc {
            Enc::A256Gcm => Aes256Gcm::new_from_slice(&key)
                .map_err(|_| JweError::Decrypt)?
                .decrypt(&Nonce::from(iv), payload),
            Enc::A128Gcm => Aes128Gcm::new_from_slice(&key)
                .map_err(|_| JweError::Decrypt)?
                .decrypt(&Nonce::from(iv), payload),
        };
        opened.map(Zeroizing::new).map_err(|_| JweError::Decrypt)
    }
}

/// The Concat KDF of RFC 7518 §4.6.2 (NIST SP 800-56A) for a key of up to 256 bits: one
/// SHA-256 round, truncated to `key_bits` (128 or 256 for the AES-GCM `enc` values).
pub fn concat_kdf(
    z: &[u8],
    algorithm_id: &str,
    apu: &[u8],
    apv: &[u8],
    key_bits: u32,
) -> Zeroizing<Vec<u8>> {
    let mut hasher = Sha256::new();
    hasher.update(1u32.to_be_bytes());
    hasher.update(z);
    for field in [algorithm_id.as_bytes(), apu, apv] {
        hasher.update(u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        hasher.update(field);
    }
    hasher.update(key_bits.to_be_bytes());
    let round: [u8; 32] = hasher.finalize().into();
    let len = (key_bits as usize).div_ceil(8).min(round.len());
    Zeroizing::new(round[..len].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7518 Appendix C: ECDH-ES key agreement computation (A128GCM, 128-bit key), through
    /// the KDF and by hand.
    #[test]
    fn concat_kdf_matches_rfc7518_appendix_c() {
        let z: [u8; 32] = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let key = concat_kdf(&z, "A128GCM", b"Alice", b"Bob", 128);
        assert_eq!(
            URL_SAFE_NO_PAD.encode(key.as_slice()),
            "VqqN6vgjbSBcIijNcacQGg"
        );
        assert_eq!(concat_kdf(&z, "A256GCM", b"", b"", 256).len(), 32);
        let mut h = Sha256::new();
        h.update(1u32.to_be_bytes());
        h.update(z);
        for f in [&b"A128GCM"[..], b"Alice", b"Bob"] {
            h.update((f.len() as u32).to_be_bytes());
            h.update(f);
        }
        h.update(128u32.to_be_bytes());
        let derived = h.finalize();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&derived[..16]),
            "VqqN6vgjbSBcIijNcacQGg"
        );
    }

    #[test]
    fn garbage_envelopes_are_refused_not_panicking() {
        let key = ServerKey::generate();
        for bad in [
            "",
            "a.b.c.d.e",
            "....",
            "e30..AAAA.AAAA.AAAA",
            "eyJhbGciOiJSU0EifQ..a.b.c",
        ] {
            assert!(key.open(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_jwk_round_trips() {
        let key = ServerKey::generate();
        let again = ServerKey::from_private_jwk(&key.private_jwk()).unwrap();
        assert_eq!(key.public_jwk(), again.public_jwk());
        assert_eq!(key.kid().len(), 43);
    }
}
