//! Opaque random tokens and session families with refresh rotation.
//!
//! Every bearer value the sandbox hands out (request ids, login challenges, codes, access and
//! refresh tokens, reset tickets) is 32 random bytes in base64url. The store keys records by
//! [`token_key`] (the SHA-256 of the token), so it never holds a bearer value in plain.
//!
//! A login creates a [`SessionFamily`]: one current access token and one current refresh token.
//! [`SessionFamily::rotate`] swaps both for new ones; presenting a refresh token of the family
//! that is no longer current (it was rotated away) is reuse, which revokes the whole family,
//! so neither the thief nor the victim can refresh again (OAuth 2.0 Security BCP §4.14.2).
//!
//! ```
//! use login_sandbox::tokens::{FamilyLifetimes, Refresh, SessionFamily, token_key};
//! use login_sandbox::time::Timestamp;
//! use std::time::Duration;
//!
//! let life = FamilyLifetimes { access: Duration::from_secs(60), refresh: Duration::from_secs(600) };
//! let now = Timestamp(1_000_000);
//! let (mut family, first) = SessionFamily::new("alice".into(), "openid".into(), &life, now);
//! let second = match family.rotate(&token_key(first.refresh.expose()), &life, now) {
//!     Refresh::Rotated(pair) => pair,
//!     other => panic!("{other:?}"),
//! };
//! // The first refresh token is spent: showing it again revokes the family.
//! assert!(matches!(family.rotate(&token_key(first.refresh.expose()), &life, now), Refresh::Reused));
//! assert!(matches!(family.rotate(&token_key(second.refresh.expose()), &life, now), Refresh::Revoked));
//! ```

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::secret::{Secret, ct_eq};
use crate::time::Timestamp;

/// Random bytes from the operating system.
///
/// # Panics
/// When the operating system has no randomness to give, which no server can recover from.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}

/// A fresh opaque token: 32 random bytes, base64url without padding (43 characters).
pub fn opaque_token() -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// The store key of a token: base64url(SHA-256(token)).
pub fn token_key(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// An access token and a refresh token, fresh from [`SessionFamily::new`] or a rotation.
#[derive(Debug)]
pub struct TokenPair {
    /// The new access token.
    pub access: Secret,
    /// The new refresh token.
    pub refresh: Secret,
}

/// Lifetimes of the tokens in a family.
#[derive(Clone, Debug)]
pub struct FamilyLifetimes {
    /// Access token lifetime.
    pub access: Duration,
    /// Refresh token lifetime (each rotation starts a new one).
    pub refresh: Duration,
}

/// Which API a session family belongs to: a refresh token is only good at its own API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// The realm API.
    Realm,
    /// The internet-banking API.
    Ciam,
}

/// One login's tokens: the current access and refresh token (as keys), and whether the family
/// is revoked. The family id is the `sessionState` a client sees.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionFamily {
    /// The user.
    pub user: String,
    /// The granted scope, space separated.
    pub scope: String,
    /// Key of the current access token.
    pub access_key: String,
    /// When the current access token expires.
    pub access_expires: Timestamp,
    /// Key of the current refresh token.
    pub refresh_key: String,
    /// When the current refresh token expires.
    pub refresh_expires: Timestamp,
    /// Set by revoke, by refresh-token reuse and by authorization-code replay.
    pub revoked: bool,
    /// The `redirectUrl` of the token sets (set by the caller after [`SessionFamily::new`]).
    pub redirect_url: String,
}

/// The outcome of [`SessionFamily::rotate`].
#[derive(Debug)]
pub enum Refresh {
    /// The presented token was current: here are the new ones.
    Rotated(TokenPair),
    /// The presented token was current but has expired.
    Expired,
    /// The presented token was rotated away before: the family is now revoked.
    Reused,
    /// The family was already revoked.
    Revoked,
}

impl SessionFamily {
    /// A new family with its first token pair.
    pub fn new(
        user: String,
        scope: String,
        life: &FamilyLifetimes,
        now: Timestamp,
    ) -> (Self, TokenPair) {
        let pair = TokenPair {
            access: opaque_token(),
            refresh: opaque_token(),
        };
        let family = SessionFamily {
            user,
            scope,
            access_key: token_key(pair.access.expose()),
            access_expires: now.plus(life.access),
            refresh_key: token_key(pair.refresh.expose()),
            refresh_expires: now.plus(life.refresh),
            revoked: false,
            redirect_url: String::new(),
        };
        (family, pair)
    }

    /// Whether `access_key` is this family's current, unexpired access token.
    pub fn access_is_valid(&self, access_key: &str, now: Timestamp) -> bool {
        !self.revoked
            && now < self.access_expires
            && ct_eq(self.access_key.as_bytes(), access_key.as_bytes())
    }

    /// Rotates on a refresh: `refresh_key` is the key of a refresh token that was issued to this
    /// family (the caller found it in the token index). Revokes the family on reuse.
    pub fn rotate(&mut self, refresh_key: &str, life: &FamilyLifetimes, now: Timestamp) -> Refresh {
        if self.revoked {
            return Refresh::Revoked;
        }
        if !ct_eq(self.refresh_key.as_bytes(), refresh_key.as_bytes()) {
            self.revoked = true;
            return Refresh::Reused;
        }
        if now >= self.refresh_expires {
            return Refresh::Expired;
        }
        let pair = TokenPair {
            access: opaque_token(),
            refresh: opaque_token(),
        };
        self.access_key = token_key(pair.access.expose());
        self.access_expires = now.plus(life.access);
        self.refresh_key = token_key(pair.refresh.expose());
        self.refresh_expires = now.plus(life.refresh);
        Refresh::Rotated(pair)
    }
}

/// What a token key points at, in the token index: its family and kind.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRef {
    /// The family id.
    pub family: String,
    /// Access or refresh.
    pub kind: TokenKind,
    /// The API that issued it.
    pub api: Api,
    /// When the index entry may be dropped (the token's own expiry).
    pub expires_at: Timestamp,
}

/// Access or refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn life() -> FamilyLifetimes {
        FamilyLifetimes {
            access: Duration::from_secs(10),
            refresh: Duration::from_secs(100),
        }
    }

    #[test]
    fn tokens_are_random_and_43_chars() {
        let a = opaque_token();
        let b = opaque_token();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(token_key("x").len(), 43);
    }

    #[test]
    fn refresh_reuse_revokes_family() {
        let now = Timestamp(0);
        let (mut f, p1) = SessionFamily::new("u".into(), "s".into(), &life(), now);
        let Refresh::Rotated(p2) = f.rotate(&token_key(p1.refresh.expose()), &life(), now) else {
            panic!("rotation failed")
        };
        assert!(!f.access_is_valid(&token_key(p1.access.expose()), now));
        assert!(f.access_is_valid(&token_key(p2.access.expose()), now));
        assert!(matches!(
            f.rotate(&token_key(p1.refresh.expose()), &life(), now),
            Refresh::Reused
        ));
        assert!(f.revoked);
        assert!(!f.access_is_valid(&token_key(p2.access.expose()), now));
        assert!(matches!(
            f.rotate(&token_key(p2.refresh.expose()), &life(), now),
            Refresh::Revoked
        ));
    }

    #[test]
    fn expired_refresh_is_refused_without_revoking() {
        let (mut f, p1) = SessionFamily::new("u".into(), "s".into(), &life(), Timestamp(0));
        let later = Timestamp(100_000);
        assert!(matches!(
            f.rotate(&token_key(p1.refresh.expose()), &life(), later),
            Refresh::Expired
        ));
        assert!(!f.revoked);
    }
}
