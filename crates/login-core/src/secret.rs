//! Secret newtypes: redacted in `Debug`, no `Display`, no plain `PartialEq`, zeroed on drop.
//!
//! All of them come from one macro so they cannot drift apart. The value is reached only through
//! [`expose`](Password::expose), which makes every place that reads a secret easy to find.
//!
//! ```
//! use login_core::secret::Password;
//! let p = Password::new("hunter2");
//! assert_eq!(format!("{p:?}"), "Password(<redacted>)");
//! assert_eq!(p.expose(), "hunter2");
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// Zeroes every byte of `bytes`' allocation, the spare capacity included, and empties it.
///
/// Same coverage as `zeroize`'s `Vec` impl, but through its bulk path for byte slices (a `memset`
/// behind an optimization barrier) rather than one volatile store per initialized byte, which
/// made wiping the tokens of a flow cost more than reading them.
pub(crate) fn wipe_vec(bytes: &mut Vec<u8>) {
    bytes.as_mut_slice().zeroize();
    // Most secrets are built at their exact size: no spare capacity, no second call.
    if bytes.capacity() > bytes.len() {
        bytes.spare_capacity_mut().zeroize();
    }
    bytes.clear();
}

/// A `String` zeroed on drop (its whole allocation, see [`wipe_vec`]).
#[derive(Clone, Default)]
pub(crate) struct WipedString(pub(crate) String);

impl Drop for WipedString {
    fn drop(&mut self) {
        // Takes the buffer as bytes (a move, not a copy) to reach its spare capacity safely.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        wipe_vec(&mut bytes);
    }
}

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(WipedString);

        impl $name {
            /// Wraps a value; the original `String` is moved, not copied.
            pub fn new(value: impl Into<String>) -> Self {
                Self(WipedString(value.into()))
            }

            /// The secret value. Every call site is a place where the secret leaves the type.
            pub fn expose(&self) -> &str {
                &self.0.0
            }

            /// Compares in constant time with respect to the contents (length may leak).
            pub fn ct_eq(&self, other: &Self) -> bool {
                constant_time_eq(self.0.0.as_bytes(), other.0.0.as_bytes())
            }

            /// Whether the value is empty.
            pub fn is_empty(&self) -> bool {
                self.0.0.is_empty()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        // Serialization exists for snapshots (a suspended flow must carry its secrets to resume);
        // the snapshot bytes are themselves secret and documented so.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self(WipedString(String::deserialize(d)?)))
            }
        }
    };
}

secret_string!(
    /// A user's password.
    Password
);
secret_string!(
    /// The realm API's client secret.
    ClientSecret
);
secret_string!(
    /// A one-time password typed by the user.
    Otp
);
secret_string!(
    /// An OAuth access token.
    AccessToken
);
secret_string!(
    /// An OAuth refresh token.
    RefreshToken
);
secret_string!(
    /// The PKCE code verifier (RFC 7636).
    PkceVerifier
);
secret_string!(
    /// The one-time reset ticket sent as `Bearer` to reset a password.
    ResetTicket
);
secret_string!(
    /// The device identity token sent as `Bearer` on internet-banking calls.
    DeviceToken
);
secret_string!(
    /// A bearer credential handed out mid-flow: `authToken`, the login-challenge `token`, the
    /// authorization `code`, the `mfaChallenge`, the `loginChallenge`.
    FlowSecret
);
secret_string!(
    /// The answer to a captcha.
    CaptchaAnswer
);

/// Bytes that may hold secrets (a JSON body with a password, a response with tokens).
/// Redacted in `Debug`, zeroed on drop.
#[derive(Clone, Default)]
pub struct SecretBytes(Vec<u8>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        wipe_vec(&mut self.0);
    }
}

impl SecretBytes {
    /// Wraps bytes; the vector is moved, not copied.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Mutable access, for transports that fill a pre-sized buffer.
    pub fn expose_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(value: Vec<u8>) -> Self {
        Self::new(value)
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(value: &[u8]) -> Self {
        Self::new(value.to_vec())
    }
}

impl From<&str> for SecretBytes {
    fn from(value: &str) -> Self {
        Self::new(value.as_bytes().to_vec())
    }
}

impl Zeroize for SecretBytes {
    fn zeroize(&mut self) {
        wipe_vec(&mut self.0);
    }
}

/// Constant-time equality of two byte strings (the length is not hidden): aws-lc's
/// `CRYPTO_memcmp`, which the compiler cannot turn into an early-exit comparison.
///
/// ```
/// use login_core::secret::constant_time_eq;
/// assert!(constant_time_eq(b"123456", b"123456"));
/// assert!(!constant_time_eq(b"123456", b"123457"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_canary() {
        let canary = "CANARY-7f3a";
        let values: Vec<String> = vec![
            format!("{:?}", Password::new(canary)),
            format!("{:?}", ClientSecret::new(canary)),
            format!("{:?}", Otp::new(canary)),
            format!("{:?}", AccessToken::new(canary)),
            format!("{:?}", RefreshToken::new(canary)),
            format!("{:?}", PkceVerifier::new(canary)),
            format!("{:?}", ResetTicket::new(canary)),
            format!("{:?}", DeviceToken::new(canary)),
            format!("{:?}", FlowSecret::new(canary)),
            format!("{:?}", CaptchaAnswer::new(canary)),
            format!("{:?}", SecretBytes::from(canary)),
        ];
        for v in values {
            assert!(!v.contains(canary), "{v}");
            assert!(v.contains("redacted"), "{v}");
        }
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(Otp::new("1").ct_eq(&Otp::new("1")));
        assert!(!Otp::new("1").ct_eq(&Otp::new("2")));
    }

    #[test]
    fn secret_round_trips_through_serde_for_snapshots() {
        let t = RefreshToken::new("r1");
        let json = serde_json::to_string(&t).unwrap();
        let back: RefreshToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "r1");
    }
}
