//! Login and session ids: 128 random bits in base64url without padding (22 characters).
//!
//! An id is what a client holds to resume its login or to use its session, so it is
//! unguessable, and parsing refuses anything that is not exactly such an id (it ends up inside a
//! Redis key). `Debug` shows only its first four characters, so ids do not end up whole in logs;
//! `Display` gives the whole id, for the response to the client.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::seal::random_token;

/// The length of an id in characters.
pub const ID_LEN: usize = 22;

/// Why an id could not be parsed or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not 22 characters of base64url encoding 16 bytes.
    #[error("not an id: an id is 22 base64url characters (128 random bits)")]
    Malformed,
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// A new random id (128 bits from aws-lc-rs's `SystemRandom`).
            ///
            /// # Errors
            /// [`IdError::Random`] when the system RNG fails.
            pub fn generate() -> Result<Self, IdError> {
                random_token().map(Self).map_err(|_| IdError::Random)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, IdError> {
                if is_id(text) {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(IdError::Malformed)
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}…)", stringify!($name), self.0.get(..4).unwrap_or(""))
            }
        }
    };
}

id_type!(
    /// The id of a paused login.
    ///
    /// ```
    /// use login_store::LoginId;
    /// let id = LoginId::generate()?;
    /// assert_eq!(id.as_str().len(), 22);
    /// assert_eq!(id.to_string().parse::<LoginId>()?, id);
    /// assert!("lf:{x}:login".parse::<LoginId>().is_err());
    /// # Ok::<(), login_store::IdError>(())
    /// ```
    LoginId
);

id_type!(
    /// The id of a stored session.
    ///
    /// ```
    /// use login_store::SessionId;
    /// let id = SessionId::generate()?;
    /// assert!(format!("{id:?}").ends_with("…)"), "Debug shows a prefix only");
    /// assert!("AAAAAAAAAAAAAAAAAAAAAA=".parse::<SessionId>().is_err());
    /// # Ok::<(), login_store::IdError>(())
    /// ```
    SessionId
);

/// Exactly the canonical base64url (no padding) encoding of 16 bytes.
fn is_id(text: &str) -> bool {
    text.len() == ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && URL_SAFE_NO_PAD
            .decode(text)
            .is_ok_and(|bytes| bytes.len() == 16 && URL_SAFE_NO_PAD.encode(&bytes) == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_canonical_base64url_of_16_bytes() {
        let id = LoginId::generate().unwrap();
        assert_eq!(id.as_str().parse::<LoginId>().unwrap(), id);
        for bad in [
            "",
            "short",
            "AAAAAAAAAAAAAAAAAAAAAAA", // 23
            "AAAAAAAAAAAAAAAAAAAAA=",  // padding
            "AAAAAAAAAAAAAAAAAAAA+/",  // standard alphabet
            "AAAAAAAAAAAAAAAAAAAAA}",  // would break the hash tag
            "AAAAAAAAAAAAAAAAAAAAAB",  // non-canonical trailing bits
            "AAAAAAAAAAAAAAAAAAAAÄ",
        ] {
            assert_eq!(bad.parse::<SessionId>(), Err(IdError::Malformed), "{bad}");
        }
        assert!("AAAAAAAAAAAAAAAAAAAAAA".parse::<SessionId>().is_ok());
    }

    #[test]
    fn two_ids_differ() {
        assert_ne!(LoginId::generate().unwrap(), LoginId::generate().unwrap());
    }
}
