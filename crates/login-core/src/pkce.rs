//! PKCE (RFC 7636), S256 only, and the OAuth `state` value.
//!
//! The `plain` method is never offered: it would send the verifier itself as the challenge.
//!
//! ```
//! use login_core::entropy::OsEntropy;
//! use login_core::pkce::{Pkce, random_state};
//!
//! let mut entropy = OsEntropy;
//! let pkce = Pkce::generate(&mut entropy).unwrap();
//! assert_eq!(pkce.verifier().expose().len(), 43);
//! assert_eq!(pkce.challenge().len(), 43);
//! assert_eq!(Pkce::METHOD, "S256");
//! assert_eq!(random_state(&mut entropy).unwrap().len(), 22);
//! ```

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroize;

use crate::Error;
use crate::entropy::Entropy;
use crate::error::ConfigError;
use crate::secret::PkceVerifier;

/// Random bytes behind a generated verifier: 256 bits, which encode to the minimum 43 characters.
const VERIFIER_BYTES: usize = 32;
/// Random bytes behind a `state`: 128 bits, 22 base64url characters (the contract's minimum).
const STATE_BYTES: usize = 16;
/// RFC 7636 §4.1 bounds on the verifier length, in characters.
pub(crate) const VERIFIER_MIN: usize = 43;
pub(crate) const VERIFIER_MAX: usize = 128;

/// A PKCE verifier and its S256 challenge, made together so they cannot disagree.
///
/// `Debug` shows the challenge (it is sent in clear) and redacts the verifier.
#[derive(Clone, Debug)]
pub struct Pkce {
    verifier: PkceVerifier,
    challenge: String,
}

impl Pkce {
    /// The `codeChallengeMethod` sent with the challenge.
    pub const METHOD: &'static str = "S256";

    /// Draws a fresh verifier (32 random bytes, 43 base64url characters) from `entropy`.
    ///
    /// # Errors
    /// [`LocalError::Entropy`](crate::error::LocalError::Entropy) when the randomness source fails.
    pub fn generate(entropy: &mut dyn Entropy) -> Result<Pkce, Error> {
        let verifier = random_verifier(entropy)?;
        let challenge = s256_challenge(verifier.expose());
        Ok(Pkce {
            verifier,
            challenge,
        })
    }

    /// Wraps a verifier made elsewhere (a resumed flow, a fixed test value) after checking it.
    ///
    /// # Errors
    /// [`ConfigError::VerifierLength`] or [`ConfigError::VerifierCharacters`] unless the
    /// verifier is 43 to 128 characters of `A-Z a-z 0-9 - . _ ~` (RFC 7636 §4.1). The message
    /// never repeats the verifier.
    pub fn from_verifier(verifier: PkceVerifier) -> Result<Pkce, Error> {
        let value = verifier.expose();
        if !(VERIFIER_MIN..=VERIFIER_MAX).contains(&value.len()) {
            return Err(ConfigError::VerifierLength { len: value.len() }.into());
        }
        if !value.bytes().all(is_unreserved) {
            return Err(ConfigError::VerifierCharacters.into());
        }
        let challenge = s256_challenge(value);
        Ok(Pkce {
            verifier,
            challenge,
        })
    }

    /// The verifier, sent as `codeVerifier` on the access-token call.
    pub fn verifier(&self) -> &PkceVerifier {
        &self.verifier
    }

    /// The challenge, sent as `codeChallenge` on the authorize call.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

/// `BASE64URL(SHA-256(ASCII(verifier)))` without padding (RFC 7636 §4.2, S256).
///
/// ```
/// assert_eq!(
///     login_core::pkce::s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
/// );
/// ```
pub fn s256_challenge(verifier: &str) -> String {
    S256Challenge::of(verifier).as_str().to_owned()
}

/// Base64url characters (no padding) of a SHA-256 digest.
const CHALLENGE_LEN: usize = 43;
/// Base64url characters (no padding) of [`VERIFIER_BYTES`] and [`STATE_BYTES`].
const VERIFIER_LEN: usize = 43;
const STATE_LEN: usize = 22;

/// An S256 challenge on the stack: it is sent once, in the authorize body, so it needs no
/// allocation of its own.
pub(crate) struct S256Challenge([u8; CHALLENGE_LEN]);

impl S256Challenge {
    pub(crate) fn of(verifier: &str) -> Self {
        let digest = digest::digest(&digest::SHA256, verifier.as_bytes());
        let mut out = [0u8; CHALLENGE_LEN];
        encode_exact(digest.as_ref(), &mut out);
        Self(out)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Base64url output is ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Base64url without padding of `input` into `out`, which is exactly the encoded length.
fn encode_exact(input: &[u8], out: &mut [u8]) {
    let written = URL_SAFE_NO_PAD.encode_slice(input, out);
    debug_assert_eq!(written.ok(), Some(out.len()));
}

/// A fresh verifier alone (its random bytes and stack copy are wiped).
fn random_verifier(entropy: &mut dyn Entropy) -> Result<PkceVerifier, Error> {
    let mut bytes = [0u8; VERIFIER_BYTES];
    let mut verifier = [0u8; VERIFIER_LEN];
    let drawn = entropy.fill(&mut bytes);
    let result = drawn.map(|()| {
        encode_exact(&bytes, &mut verifier);
        PkceVerifier::new(std::str::from_utf8(&verifier).unwrap_or_default())
    });
    bytes.as_mut_slice().zeroize();
    verifier.as_mut_slice().zeroize();
    result
}

/// A fresh verifier and `state` from one draw of entropy, each encoded straight into its one
/// allocation (the verifier's random bytes and stack copy are wiped). The verifier is hashed
/// later, where the challenge is sent (one SHA-256 per flow, not two).
pub(crate) fn random_verifier_and_state(
    entropy: &mut dyn Entropy,
) -> Result<(PkceVerifier, String), Error> {
    let mut bytes = [0u8; VERIFIER_BYTES + STATE_BYTES];
    let mut verifier = [0u8; VERIFIER_LEN];
    let drawn = entropy.fill(&mut bytes);
    let result = drawn.map(|()| {
        let (v, s) = bytes.split_at(VERIFIER_BYTES);
        encode_exact(v, &mut verifier);
        let mut state = [0u8; STATE_LEN];
        encode_exact(s, &mut state);
        (
            PkceVerifier::new(std::str::from_utf8(&verifier).unwrap_or_default()),
            std::str::from_utf8(&state).unwrap_or_default().to_owned(),
        )
    });
    bytes.as_mut_slice().zeroize();
    verifier.as_mut_slice().zeroize();
    result
}

/// A fresh OAuth `state`: 16 random bytes (128 bits), 22 base64url characters.
///
/// # Errors
/// [`LocalError::Entropy`](crate::error::LocalError::Entropy) when the randomness source fails.
pub fn random_state(entropy: &mut dyn Entropy) -> Result<String, Error> {
    let mut bytes = [0u8; STATE_BYTES];
    entropy.fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// RFC 7636 §4.1 `unreserved`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::DeterministicEntropy;
    use crate::error::LocalError;
    use std::collections::HashSet;

    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    struct FailingEntropy;
    impl Entropy for FailingEntropy {
        fn fill(&mut self, _dest: &mut [u8]) -> Result<(), Error> {
            Err(Error::Local(LocalError::Entropy))
        }
    }

    fn is_base64url(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    #[test]
    fn rfc7636_appendix_b_vector_holds() {
        assert_eq!(s256_challenge(RFC_VERIFIER), RFC_CHALLENGE);
        // Appendix B also lists the SHA-256 octets the challenge encodes.
        let hash: [u8; 32] = [
            19, 211, 30, 150, 26, 26, 216, 236, 47, 22, 177, 12, 76, 152, 46, 8, 118, 168, 120,
            173, 109, 241, 68, 86, 110, 225, 137, 74, 203, 112, 249, 195,
        ];
        assert_eq!(URL_SAFE_NO_PAD.decode(RFC_CHALLENGE).unwrap(), hash);
        let pkce = Pkce::from_verifier(PkceVerifier::new(RFC_VERIFIER)).unwrap();
        assert_eq!(pkce.challenge(), RFC_CHALLENGE);
        assert_eq!(pkce.verifier().expose(), RFC_VERIFIER);
    }

    #[test]
    fn rfc7636_appendix_b_verifier_comes_from_its_octets() {
        // Appendix B's 32 octets encode to its verifier: the same path `generate` takes.
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        assert_eq!(URL_SAFE_NO_PAD.encode(octets), RFC_VERIFIER);
    }

    #[test]
    fn verifier_length_bounds_are_enforced() {
        for len in [0, 1, 42, 129, 500] {
            let err = Pkce::from_verifier(PkceVerifier::new("a".repeat(len))).unwrap_err();
            assert!(
                matches!(err, Error::Local(LocalError::Config(ConfigError::VerifierLength { len: l })) if l == len),
                "len {len}: {err:?}"
            );
        }
        for len in [43, 64, 128] {
            let pkce = Pkce::from_verifier(PkceVerifier::new("a".repeat(len))).unwrap();
            assert_eq!(pkce.challenge(), s256_challenge(&"a".repeat(len)));
        }
    }

    #[test]
    fn verifier_charset_is_enforced() {
        let base = "A".repeat(42);
        for bad in [' ', '+', '/', '=', '%', '\n', 'é', '\0'] {
            let err = Pkce::from_verifier(PkceVerifier::new(format!("{base}{bad}"))).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Local(LocalError::Config(ConfigError::VerifierCharacters))
                ),
                "{bad:?}: {err:?}"
            );
        }
        let ok = Pkce::from_verifier(PkceVerifier::new(format!("{base}-._~0zZ"))).unwrap();
        assert_eq!(ok.verifier().expose().len(), 49);
    }

    #[test]
    fn config_error_does_not_repeat_the_verifier() {
        let secret = format!("{}CANARY+", "x".repeat(40));
        let err = Pkce::from_verifier(PkceVerifier::new(secret)).unwrap_err();
        assert!(!err.to_string().contains("CANARY"), "{err}");
    }

    #[test]
    fn generated_verifier_is_43_base64url_chars_and_valid() {
        let mut entropy = DeterministicEntropy::new(1);
        let pkce = Pkce::generate(&mut entropy).unwrap();
        let v = pkce.verifier().expose();
        assert_eq!(v.len(), 43);
        assert!(is_base64url(v), "{v}");
        assert_eq!(pkce.challenge(), s256_challenge(v));
        // What `generate` makes, `from_verifier` accepts.
        let again = Pkce::from_verifier(pkce.verifier().clone()).unwrap();
        assert_eq!(again.challenge(), pkce.challenge());
    }

    #[test]
    fn generated_verifiers_are_distinct() {
        let mut entropy = DeterministicEntropy::new(2);
        let verifiers: HashSet<String> = (0..1000)
            .map(|_| {
                Pkce::generate(&mut entropy)
                    .unwrap()
                    .verifier()
                    .expose()
                    .to_owned()
            })
            .collect();
        assert_eq!(verifiers.len(), 1000);
        let other = Pkce::generate(&mut DeterministicEntropy::new(3)).unwrap();
        let same_seed = Pkce::generate(&mut DeterministicEntropy::new(3)).unwrap();
        assert_eq!(other.verifier().expose(), same_seed.verifier().expose());
        assert!(!verifiers.contains(other.verifier().expose()));
    }

    #[test]
    fn state_is_22_base64url_chars_and_distinct() {
        let mut entropy = DeterministicEntropy::new(4);
        let states: HashSet<String> = (0..1000)
            .map(|_| random_state(&mut entropy).unwrap())
            .collect();
        assert_eq!(states.len(), 1000);
        for s in &states {
            assert_eq!(s.len(), 22);
            assert!(is_base64url(s), "{s}");
        }
    }

    #[test]
    fn verifier_and_state_come_from_one_draw_in_order() {
        let mut one = DeterministicEntropy::new(9);
        let (verifier, state) = random_verifier_and_state(&mut one).unwrap();
        // The same bytes drawn as the 32 verifier bytes, then the 16 state bytes.
        let mut other = DeterministicEntropy::new(9);
        let mut bytes = [0u8; 48];
        other.fill(&mut bytes).unwrap();
        assert_eq!(verifier.expose(), URL_SAFE_NO_PAD.encode(&bytes[..32]));
        assert_eq!(state, URL_SAFE_NO_PAD.encode(&bytes[32..]));
        assert_eq!((verifier.expose().len(), state.len()), (43, 22));
        assert!(Pkce::from_verifier(verifier.clone()).is_ok());
        assert!(matches!(
            random_verifier_and_state(&mut FailingEntropy),
            Err(Error::Local(LocalError::Entropy))
        ));
    }

    #[test]
    fn challenge_on_the_stack_is_the_rfc_one() {
        assert_eq!(S256Challenge::of(RFC_VERIFIER).as_str(), RFC_CHALLENGE);
        let v = "a".repeat(128);
        assert_eq!(S256Challenge::of(&v).as_str(), s256_challenge(&v));
    }

    #[test]
    fn entropy_failure_is_reported() {
        assert!(matches!(
            Pkce::generate(&mut FailingEntropy),
            Err(Error::Local(LocalError::Entropy))
        ));
        assert!(matches!(
            random_state(&mut FailingEntropy),
            Err(Error::Local(LocalError::Entropy))
        ));
    }

    #[test]
    fn debug_redacts_the_verifier() {
        let pkce = Pkce::from_verifier(PkceVerifier::new(RFC_VERIFIER)).unwrap();
        let debug = format!("{pkce:?}");
        assert!(!debug.contains(RFC_VERIFIER), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
        assert!(debug.contains(RFC_CHALLENGE), "{debug}");
    }
}
