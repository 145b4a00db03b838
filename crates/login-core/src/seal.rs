//! The credential envelope: a JWE in compact serialization (RFC 7516) with `alg` `ECDH-ES`
//! (direct key agreement, RFC 7518 §4.6) and `enc` `A256GCM` (§5.3), to the server's P-256
//! public key given as a JWK (wire contract, "login challenge" reading). A profile's
//! `envelope.enc` may ask for `A128GCM` instead ([`CredentialSealer::seal_with`]); the Concat
//! KDF then derives a 128-bit key.
//!
//! The envelope is `BASE64URL(header) . "" . BASE64URL(iv) . BASE64URL(ciphertext) .
//! BASE64URL(tag)`: the encrypted-key part is empty because ECDH-ES derives the content key
//! directly. The protected header is
//! `{"alg":"ECDH-ES","enc":"A256GCM","kid":..,"epk":{"kty":"EC","crv":"P-256","x":..,"y":..}}`
//! (`kid` only when the server key has one; no `apu`/`apv`), and its base64url form is the AAD.
//!
//! Every random input (the ephemeral key, the IV) comes from the [`Entropy`] handed in (tests
//! use a seeded source, behind the `test-entropy` feature, for reproducible envelopes). aws-lc-rs does the arithmetic: one seal
//! costs tens of microseconds, several times less than a pure-Rust P-256.
//!
//! ```
//! use login_core::entropy::OsEntropy;
//! use login_core::seal::{CredentialSealer, JweSealer};
//!
//! // A P-256 public key (test value).
//! let jwk = r#"{"kty":"EC","crv":"P-256","kid":"k1",
//!   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
//!   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
//! let sealer = JweSealer::from_jwk(jwk).unwrap();
//! let jwe = sealer.seal(br#"{"username":"u"}"#, &mut OsEntropy).unwrap();
//! assert_eq!(jwe.expose().split('.').count(), 5);
//! assert_eq!(jwe.expose().split('.').nth(1), Some(""));
//! ```

use aws_lc_rs::agreement::{self, ECDH_P256, ParsedPublicKey, PrivateKey, UnparsedPublicKey};
use aws_lc_rs::{aead, kdf};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::Error;
use crate::entropy::Entropy;
use crate::error::{ConfigError, JsonProblem, KeyProblem, SealError};
use crate::readings::ContentEncryption;
use crate::secret::FlowSecret;

/// Seals the credentials for the server. Pluggable: [`JweSealer`] is the contract's default.
pub trait CredentialSealer: Send + Sync {
    /// Seals the plaintext (a JSON object, see the contract) for the server; returns the
    /// compact JWE.
    ///
    /// # Errors
    /// [`LocalError::Entropy`](crate::error::LocalError::Entropy) when the randomness source
    /// fails, a [`SealError`] when the cryptography fails.
    fn seal(&self, plaintext: &[u8], entropy: &mut dyn Entropy) -> Result<FlowSecret, Error>;

    /// Seals with the content encryption a profile's `envelope.enc` names; the engine calls
    /// this one. The default seals with [`seal`](Self::seal) when `enc` is the contract's
    /// (`A256GCM`) and refuses anything else, so a sealer that knows one algorithm never
    /// ignores the setting silently; [`JweSealer`] makes both.
    ///
    /// # Errors
    /// As [`seal`](Self::seal); [`SealError::UnsupportedEnc`] for an `enc` the sealer cannot
    /// make.
    fn seal_with(
        &self,
        plaintext: &[u8],
        enc: ContentEncryption,
        entropy: &mut dyn Entropy,
    ) -> Result<FlowSecret, Error> {
        match enc {
            ContentEncryption::A256Gcm => self.seal(plaintext, entropy),
            other => Err(SealError::UnsupportedEnc {
                enc: other.as_str(),
            }
            .into()),
        }
    }
}

/// P-256 coordinate and scalar length in bytes.
const COORD_LEN: usize = 32;
/// The GCM IV length (RFC 7518 §5.3: 96 bits).
const IV_LEN: usize = 12;
/// Draws of a fresh ephemeral scalar before giving up. A uniformly random 32-byte string is an
/// invalid P-256 scalar (zero or at least the group order) with probability about 2^-32, so
/// a second failure already means a broken randomness source; the bound keeps such a source
/// from looping forever.
const MAX_KEY_ATTEMPTS: usize = 8;

/// The server's credential-encryption key: a validated P-256 public key and its optional `kid`.
///
/// `Debug` shows only the `kid`.
#[derive(Clone)]
pub struct ServerKey {
    // Parsed once so that each seal skips decoding and the on-curve check.
    public: ParsedPublicKey,
    kid: Option<String>,
}

impl ServerKey {
    /// Reads a JWK object, or a JWKS `{"keys":[...]}` and takes its first EC P-256 key meant for
    /// encryption (`use` absent or `"enc"`, `alg` absent or `"ECDH-ES"`).
    ///
    /// # Errors
    /// [`ConfigError::ServerKey`] when the text is not JSON, the key is not `kty` `"EC"` with `crv`
    /// `"P-256"`, `x`/`y` are not 32-byte unpadded base64url, the point is not on the curve,
    /// `use`/`alg` say it is for something else, or it carries a private part (`d`). Never
    /// panics, whatever the input; messages never repeat the input.
    pub fn from_jwk(json: &str) -> Result<ServerKey, Error> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| key_error(KeyProblem::NotJson(JsonProblem::of(&e))))?;
        let object = value
            .as_object()
            .ok_or_else(|| key_error(KeyProblem::NotObject))?;
        match object.get("keys") {
            Some(keys) => {
                let keys = keys
                    .as_array()
                    .ok_or_else(|| key_error(KeyProblem::KeysNotArray))?;
                let jwk = keys
                    .iter()
                    .find(|k| is_p256_encryption_key(k))
                    .ok_or_else(|| key_error(KeyProblem::NoEncryptionKey))?;
                Self::from_jwk_value(jwk)
            }
            None => Self::from_jwk_value(&value),
        }
    }

    /// The key id, when the JWK had one; sent as the header's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn from_jwk_value(jwk: &Value) -> Result<ServerKey, Error> {
        let jwk = jwk
            .as_object()
            .ok_or_else(|| key_error(KeyProblem::NotObject))?;
        match jwk.get("kty").and_then(Value::as_str) {
            Some("EC") => {}
            Some(_) => return Err(key_error(KeyProblem::NotEc)),
            None => return Err(key_error(KeyProblem::Missing { member: "kty" })),
        }
        match jwk.get("crv").and_then(Value::as_str) {
            Some("P-256") => {}
            Some(_) => return Err(key_error(KeyProblem::NotP256)),
            None => return Err(key_error(KeyProblem::Missing { member: "crv" })),
        }
        if jwk.get("use").is_some_and(|u| u.as_str() != Some("enc")) {
            return Err(key_error(KeyProblem::NotForEncryption));
        }
        if jwk
            .get("alg")
            .is_some_and(|a| a.as_str() != Some("ECDH-ES"))
        {
            return Err(key_error(KeyProblem::NotEcdhEs));
        }
        if jwk.contains_key("d") {
            // The server's private key has no business in a client configuration.
            return Err(key_error(KeyProblem::PrivatePart));
        }
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(key_error(KeyProblem::KidNotString)),
        };
        let x = coordinate(jwk.get("x"), "x")?;
        let y = coordinate(jwk.get("y"), "y")?;
        let mut sec1 = [0u8; 1 + 2 * COORD_LEN];
        sec1[0] = 0x04; // SEC 1 uncompressed point
        sec1[1..=COORD_LEN].copy_from_slice(&x);
        sec1[1 + COORD_LEN..].copy_from_slice(&y);
        let public = ParsedPublicKey::try_from(UnparsedPublicKey::new(&ECDH_P256, &sec1[..]))
            .map_err(|_| key_error(KeyProblem::OffCurve))?;
        Ok(ServerKey { public, kid })
    }
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The contract's default sealer: JWE compact, ECDH-ES + A256GCM to a [`ServerKey`]; with
/// [`seal_with`](CredentialSealer::seal_with), A128GCM too (a profile's `envelope.enc`).
#[derive(Clone, Debug)]
pub struct JweSealer {
    key: ServerKey,
}

impl JweSealer {
    /// A sealer for this server key.
    pub fn new(key: ServerKey) -> JweSealer {
        JweSealer { key }
    }

    /// A sealer for the key in this JWK or JWKS text (see [`ServerKey::from_jwk`]).
    ///
    /// # Errors
    /// [`ConfigError::ServerKey`] as [`ServerKey::from_jwk`].
    pub fn from_jwk(json: &str) -> Result<JweSealer, Error> {
        ServerKey::from_jwk(json).map(JweSealer::new)
    }

    /// The server key this sealer seals to.
    pub fn key(&self) -> &ServerKey {
        &self.key
    }
}

impl CredentialSealer for JweSealer {
    fn seal(&self, plaintext: &[u8], entropy: &mut dyn Entropy) -> Result<FlowSecret, Error> {
        self.seal_with(plaintext, ContentEncryption::A256Gcm, entropy)
    }

    fn seal_with(
        &self,
        plaintext: &[u8],
        enc: ContentEncryption,
        entropy: &mut dyn Entropy,
    ) -> Result<FlowSecret, Error> {
        let ephemeral = ephemeral_key(entropy)?;
        let epk = ephemeral
            .compute_public_key()
            .map_err(|_| SealError::EphemeralKey)?;
        let epk = epk.as_ref();
        if epk.len() != 1 + 2 * COORD_LEN || epk[0] != 0x04 {
            return Err(SealError::EphemeralKeyEncoding.into());
        }
        let (x, y) = epk[1..].split_at(COORD_LEN);

        let header = protected_header(x, y, enc, self.key.kid.as_deref());
        let header_b64 = URL_SAFE_NO_PAD.encode(header.as_bytes());

        // ECDH-ES direct: Z → Concat KDF(AlgorithmID = enc, empty apu/apv, the key's bits) = CEK.
        let cek = agreement::agree(
            &ephemeral,
            self.key.public.clone(),
            Error::from(SealError::KeyAgreement),
            |z| concat_kdf(z, enc.as_str().as_bytes(), b"", b"", enc.key_bits()),
        )?;

        let mut iv = [0u8; IV_LEN];
        entropy.fill(&mut iv)?;

        let algorithm = match enc {
            ContentEncryption::A256Gcm => &aead::AES_256_GCM,
            ContentEncryption::A128Gcm => &aead::AES_128_GCM,
        };
        let unbound = aead::UnboundKey::new(algorithm, &cek).map_err(|_| SealError::ContentKey)?;
        let key = aead::LessSafeKey::new(unbound);
        // The buffer holds the plaintext until it is encrypted in place; zero it either way.
        let mut in_out = Zeroizing::new(plaintext.to_vec());
        let tag = key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(iv),
                aead::Aad::from(header_b64.as_bytes()),
                in_out.as_mut_slice(),
            )
            .map_err(|_| SealError::Encrypt)?;

        let mut jwe =
            String::with_capacity(header_b64.len() + 4 + 16 + (in_out.len() * 4).div_ceil(3) + 22);
        jwe.push_str(&header_b64);
        jwe.push_str("..");
        URL_SAFE_NO_PAD.encode_string(iv, &mut jwe);
        jwe.push('.');
        URL_SAFE_NO_PAD.encode_string(in_out.as_slice(), &mut jwe);
        jwe.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut jwe);
        Ok(FlowSecret::new(jwe))
    }
}

/// The Concat KDF of NIST SP 800-56A §5.8.1 as JWA uses it (RFC 7518 §4.6.2), with SHA-256:
/// `round_i = SHA-256(i as u32 BE || Z || OtherInfo)` for `i = 1, 2, ...`, where OtherInfo is
/// `len32 || algorithm_id || len32 || apu || len32 || apv || keydatalen_bits as u32 BE` (no
/// SuppPrivInfo). Returns the first `keydatalen_bits / 8` bytes (rounded up).
///
/// The rounds are aws-lc's one-step KDF (SP 800-56C rev. 2 §4, option 1, SHA-256), the same
/// construction under its newer name; this function only lays out OtherInfo.
///
/// ```
/// // RFC 7518 Appendix C.
/// let z = [158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251,
///          49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196];
/// let key = login_core::seal::concat_kdf(&z, b"A128GCM", b"Alice", b"Bob", 128)?;
/// assert_eq!(key.as_slice(), [86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26]);
/// # Ok::<(), login_core::Error>(())
/// ```
///
/// # Errors
/// [`SealError::KeyDerivation`] when `z` is empty, when `keydatalen_bits` is 0, or when an
/// input is longer than aws-lc accepts (2^30 bytes).
pub fn concat_kdf(
    z: &[u8],
    algorithm_id: &[u8],
    apu: &[u8],
    apv: &[u8],
    keydatalen_bits: u32,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let key_len = keydatalen_bits.div_ceil(8) as usize;
    let mut other_info = Vec::with_capacity(3 * 4 + algorithm_id.len() + apu.len() + apv.len() + 4);
    for part in [algorithm_id, apu, apv] {
        other_info.extend_from_slice(&len32(part));
        other_info.extend_from_slice(part);
    }
    other_info.extend_from_slice(&keydatalen_bits.to_be_bytes());
    let mut out = Zeroizing::new(vec![0u8; key_len]);
    let algorithm = kdf::get_sskdf_digest_algorithm(kdf::SskdfDigestAlgorithmId::Sha256)
        .ok_or(SealError::KeyDerivation)?;
    kdf::sskdf_digest(algorithm, z, &other_info, out.as_mut_slice())
        .map_err(|_| SealError::KeyDerivation)?;
    Ok(out)
}

/// The 32-bit big-endian length prefix of a Concat KDF field. JOSE fields are far below 4 GiB;
/// a longer one saturates rather than wraps, which can only make the derivation differ.
fn len32(part: &[u8]) -> [u8; 4] {
    u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes()
}

/// A fresh ephemeral P-256 key from `entropy`, redrawing on the rare invalid scalar.
fn ephemeral_key(entropy: &mut dyn Entropy) -> Result<PrivateKey, Error> {
    let mut scalar = Zeroizing::new([0u8; COORD_LEN]);
    for _ in 0..MAX_KEY_ATTEMPTS {
        entropy.fill(scalar.as_mut())?;
        if let Ok(key) = PrivateKey::from_private_key(&ECDH_P256, scalar.as_ref()) {
            return Ok(key);
        }
    }
    Err(SealError::NoValidScalar {
        draws: MAX_KEY_ATTEMPTS,
    }
    .into())
}

/// The protected header's JSON text. Only `kid` comes from outside; it is escaped by serde_json.
fn protected_header(x: &[u8], y: &[u8], enc: ContentEncryption, kid: Option<&str>) -> String {
    let x = URL_SAFE_NO_PAD.encode(x);
    let y = URL_SAFE_NO_PAD.encode(y);
    let kid = match kid {
        // Serializing a &str to JSON cannot fail; fall back to no kid rather than panic.
        Some(kid) => serde_json::to_string(kid)
            .map(|k| format!(",\"kid\":{k}"))
            .unwrap_or_default(),
        None => String::new(),
    };
    let enc = enc.as_str();
    format!(
        "{{\"alg\":\"ECDH-ES\",\"enc\":\"{enc}\"{kid},\
         \"epk\":{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"{x}\",\"y\":\"{y}\"}}}}"
    )
}

/// Whether a JWKS entry is one [`ServerKey::from_jwk`] should pick.
fn is_p256_encryption_key(k: &Value) -> bool {
    let field = |name: &str| k.get(name).and_then(Value::as_str);
    field("kty") == Some("EC")
        && field("crv") == Some("P-256")
        && k.get("use").is_none_or(|u| u.as_str() == Some("enc"))
        && k.get("alg").is_none_or(|a| a.as_str() == Some("ECDH-ES"))
}

/// One 32-byte coordinate from its unpadded base64url member.
fn coordinate(value: Option<&Value>, name: &'static str) -> Result<[u8; COORD_LEN], Error> {
    let text = value
        .and_then(Value::as_str)
        .ok_or_else(|| key_error(KeyProblem::Missing { member: name }))?;
    // 32 bytes are 43 characters; refusing longer text first bounds the decoding work.
    if text.len() != 43 {
        return Err(key_error(KeyProblem::CoordinateLength { member: name }));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| key_error(KeyProblem::CoordinateEncoding { member: name }))?;
    // 43 characters always decode to 32 bytes; a length slip would still be a length error.
    <[u8; COORD_LEN]>::try_from(bytes.as_slice())
        .map_err(|_| key_error(KeyProblem::CoordinateLength { member: name }))
}

fn key_error(problem: KeyProblem) -> Error {
    ConfigError::ServerKey(problem).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::DeterministicEntropy;
    use crate::error::LocalError;
    use aws_lc_rs::digest;

    // RFC 7518 Appendix C: Z from Alice's ephemeral and Bob's static key.
    const RFC7518_Z: [u8; 32] = [
        158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110,
        163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
    ];
    // RFC 7518 Appendix C, Bob's public key (the example recipient; test value).
    const BOB_JWK: &str = r#"{"kty":"EC","crv":"P-256",
        "x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
        "y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"}"#;

    /// Hands out a script of byte patterns, one per `fill`, then repeats the last.
    struct ScriptedEntropy {
        script: Vec<u8>,
        calls: usize,
    }
    impl Entropy for ScriptedEntropy {
        fn fill(&mut self, dest: &mut [u8]) -> Result<(), Error> {
            let i = self.calls.min(self.script.len() - 1);
            dest.fill(self.script[i]);
            self.calls += 1;
            Ok(())
        }
    }

    struct FailingEntropy;
    impl Entropy for FailingEntropy {
        fn fill(&mut self, _dest: &mut [u8]) -> Result<(), Error> {
            Err(Error::Local(LocalError::Entropy))
        }
    }

    #[test]
    fn concat_kdf_matches_rfc7518_appendix_c() {
        let key = concat_kdf(&RFC7518_Z, b"A128GCM", b"Alice", b"Bob", 128).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(key.as_slice()),
            "VqqN6vgjbSBcIijNcacQGg"
        );
    }

    #[test]
    fn concat_kdf_output_length_and_rounds() {
        let k256 = concat_kdf(&RFC7518_Z, b"A256GCM", b"", b"", 256).unwrap();
        assert_eq!(k256.len(), 32);
        // Two rounds: the first 32 bytes are round 1 of the 512-bit derivation only if the
        // keydatalen were equal; it is part of OtherInfo, so they must differ.
        let k512 = concat_kdf(&RFC7518_Z, b"A256GCM", b"", b"", 512).unwrap();
        assert_eq!(k512.len(), 64);
        assert_ne!(&k512[..32], k256.as_slice());
        assert_ne!(&k512[..32], &k512[32..]);
        // Round 1 by hand: 1 || Z || len||alg || len||"" || len||"" || 256.
        let mut input = vec![0, 0, 0, 1];
        input.extend_from_slice(&RFC7518_Z);
        input.extend_from_slice(&[0, 0, 0, 7]);
        input.extend_from_slice(b"A256GCM");
        input.extend_from_slice(&[0; 8]);
        input.extend_from_slice(&256u32.to_be_bytes());
        let expected = digest::digest(&digest::SHA256, &input);
        assert_eq!(k256.as_slice(), expected.as_ref());
    }

    #[test]
    fn concat_kdf_refuses_what_it_cannot_derive() {
        let refused = |r: Result<Zeroizing<Vec<u8>>, Error>| {
            matches!(
                r,
                Err(Error::Local(LocalError::Seal(SealError::KeyDerivation)))
            )
        };
        assert!(refused(concat_kdf(b"", b"A256GCM", b"", b"", 256)));
        assert!(refused(concat_kdf(&RFC7518_Z, b"A256GCM", b"", b"", 0)));
        // Not a multiple of 8: rounded up to whole bytes, as JWA's key sizes always are.
        assert_eq!(
            concat_kdf(&RFC7518_Z, b"A256GCM", b"", b"", 9)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn header_has_the_contract_fields_and_no_apu_apv() {
        let header = protected_header(&[1; 32], &[2; 32], ContentEncryption::A256Gcm, Some("k\"1"));
        let v: Value = serde_json::from_str(&header).unwrap();
        assert_eq!(v["alg"], "ECDH-ES");
        assert_eq!(v["enc"], "A256GCM");
        assert_eq!(v["kid"], "k\"1");
        assert_eq!(v["epk"]["kty"], "EC");
        assert_eq!(v["epk"]["crv"], "P-256");
        assert_eq!(v["epk"]["x"], URL_SAFE_NO_PAD.encode([1; 32]));
        assert_eq!(v["epk"]["y"], URL_SAFE_NO_PAD.encode([2; 32]));
        assert_eq!(v.as_object().unwrap().len(), 4);
        let no_kid: Value = serde_json::from_str(&protected_header(
            &[1; 32],
            &[2; 32],
            ContentEncryption::A256Gcm,
            None,
        ))
        .unwrap();
        assert_eq!(no_kid.as_object().unwrap().len(), 3);
        assert!(no_kid.get("kid").is_none());
    }

    #[test]
    fn invalid_ephemeral_scalars_are_redrawn() {
        let sealer = JweSealer::from_jwk(BOB_JWK).unwrap();
        // 0x00.. is zero and 0xFF.. exceeds the group order: both invalid; 0x11.. is fine.
        let mut entropy = ScriptedEntropy {
            script: vec![0x00, 0xFF, 0x11, 0x22],
            calls: 0,
        };
        let jwe = sealer.seal(b"{}", &mut entropy).unwrap();
        // Three scalar draws and one IV draw.
        assert_eq!(entropy.calls, 4);
        let parts: Vec<&str> = jwe.expose().split('.').collect();
        assert_eq!(parts[2], URL_SAFE_NO_PAD.encode([0x22; IV_LEN]));
        // The epk is the public key of the scalar 0x11..: compare with aws-lc-rs directly.
        let expected = PrivateKey::from_private_key(&ECDH_P256, &[0x11; 32])
            .unwrap()
            .compute_public_key()
            .unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header["epk"]["x"],
            URL_SAFE_NO_PAD.encode(&expected.as_ref()[1..33])
        );
    }

    #[test]
    fn a_source_that_only_gives_invalid_scalars_fails_without_hanging() {
        let sealer = JweSealer::from_jwk(BOB_JWK).unwrap();
        let mut entropy = ScriptedEntropy {
            script: vec![0x00],
            calls: 0,
        };
        let err = sealer.seal(b"{}", &mut entropy).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Local(LocalError::Seal(SealError::NoValidScalar { draws: 8 }))
            ),
            "{err:?}"
        );
        assert_eq!(entropy.calls, MAX_KEY_ATTEMPTS);
    }

    #[test]
    fn entropy_failure_is_reported() {
        let sealer = JweSealer::from_jwk(BOB_JWK).unwrap();
        assert!(matches!(
            sealer.seal(b"{}", &mut FailingEntropy),
            Err(Error::Local(LocalError::Entropy))
        ));
    }

    #[test]
    fn kid_is_kept_and_sent() {
        let jwk = BOB_JWK.replacen('{', r#"{"kid":"bank-2026","use":"enc","alg":"ECDH-ES","#, 1);
        let sealer = JweSealer::from_jwk(&jwk).unwrap();
        assert_eq!(sealer.key().kid(), Some("bank-2026"));
        let jwe = sealer
            .seal(b"{}", &mut DeterministicEntropy::new(9))
            .unwrap();
        let header_b64 = jwe.expose().split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).unwrap()).unwrap();
        assert_eq!(header["kid"], "bank-2026");
        assert_eq!(JweSealer::from_jwk(BOB_JWK).unwrap().key().kid(), None);
    }
}
