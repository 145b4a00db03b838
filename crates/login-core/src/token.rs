//! The token set both APIs return, with absolute expiry instants computed at receipt.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::{MalformedReason, malformed, parse_json};
use crate::lenient::{Seconds, Text};
use crate::readings::ExpiryForm;
use crate::secret::{AccessToken, RefreshToken};
use crate::{Error, Response};

/// Tokens from a token, access-token or refresh call.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use login_core::{Response, TokenSet};
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
/// let body = br#"{"accessToken":"a","refreshToken":"r","expires":300.5,"tokenType":"Bearer"}"#;
/// let t = TokenSet::from_response(&Response::new(201, body.to_vec()), now).unwrap();
/// assert_eq!(t.expires_at(), Some(now + Duration::from_millis(300_500)));
/// assert!(!t.needs_refresh(now, Duration::from_secs(60)));
/// assert!(t.needs_refresh(now + Duration::from_secs(241), Duration::from_secs(60)));
/// ```
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSet {
    pub(crate) access_token: AccessToken,
    pub(crate) refresh_token: RefreshToken,
    #[serde(
        with = "unix_ms::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) expires_at: Option<SystemTime>,
    #[serde(
        with = "unix_ms::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) refresh_expires_at: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) session_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) redirect_url: Option<String>,
}

/// The wire shape, read tolerantly: only the two tokens are required; a field of an unexpected
/// type is ignored rather than failing the login.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenBody {
    access_token: Option<AccessToken>,
    refresh_token: Option<RefreshToken>,
    #[serde(default)]
    expires: Seconds,
    #[serde(default)]
    refresh_expires: Seconds,
    #[serde(default)]
    scope: Text,
    #[serde(default)]
    session_state: Text,
    #[serde(default)]
    token_type: Text,
    #[serde(default)]
    redirect_url: Text,
    /// `Some(Text(None))`: echoed, but not as a string.
    #[serde(default)]
    state: Option<Text>,
}

impl TokenSet {
    /// Reads a token-set body. `now` is the receipt instant.
    ///
    /// # Errors
    /// The server's refusal for a non-success status, or a malformed-response error when a
    /// token is missing or not header-safe.
    pub fn from_response(response: &Response, now: SystemTime) -> Result<Self, Error> {
        Self::from_response_with(response, now, ExpiryForm::Lifetime)
    }

    /// As [`from_response`](Self::from_response), with the expiry numbers read as `expiry`
    /// says (a profile's `expiry` setting).
    ///
    /// # Errors
    /// As [`from_response`](Self::from_response); with [`ExpiryForm::UnixTime`], an expiry
    /// already past at `now` is malformed too.
    pub fn from_response_with(
        response: &Response,
        now: SystemTime,
        expiry: ExpiryForm,
    ) -> Result<Self, Error> {
        Self::from_response_checking_state(response, now, expiry, None)
    }

    /// As [`from_response_with`](Self::from_response_with), and if the body echoes `state`, it
    /// must be `expected_state`.
    pub(crate) fn from_response_checking_state(
        response: &Response,
        now: SystemTime,
        expiry: ExpiryForm,
        expected_state: Option<&str>,
    ) -> Result<Self, Error> {
        let body: TokenBody = parse_json(response)?;
        if let (Some(expected), Some(echoed)) = (expected_state, body.state.as_ref())
            && echoed.0.as_deref() != Some(expected)
        {
            return Err(malformed(response, MalformedReason::StateMismatch));
        }
        let access_token = body
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| malformed(response, MalformedReason::missing("accessToken")))?;
        // The access token goes back out as `Authorization: Bearer` (revoke).
        if !crate::wire::is_header_safe(access_token.expose()) {
            return Err(malformed(response, MalformedReason::invalid("accessToken")));
        }
        let refresh_token = body
            .refresh_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| malformed(response, MalformedReason::missing("refreshToken")))?;
        let expires_at = expiry
            .instant(body.expires, now, "expires")
            .map_err(|r| malformed(response, r))?;
        let refresh_expires_at = expiry
            .instant(body.refresh_expires, now, "refreshExpires")
            .map_err(|r| malformed(response, r))?;
        Ok(Self {
            access_token,
            refresh_token,
            expires_at,
            refresh_expires_at,
            scope: body.scope.0,
            session_state: body.session_state.0,
            token_type: body.token_type.0,
            redirect_url: body.redirect_url.0,
        })
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        crate::flow::check::header_safe(
            self.access_token.expose(),
            "accessToken is not header-safe",
        )?;
        crate::flow::check::non_empty(self.refresh_token.expose(), "refreshToken is empty")
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> &RefreshToken {
        &self.refresh_token
    }

    /// When the access token expires, if the server said.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// When the refresh token expires, if the server said.
    pub fn refresh_expires_at(&self) -> Option<SystemTime> {
        self.refresh_expires_at
    }

    /// The granted scope, as sent.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// `sessionState`.
    pub fn session_state(&self) -> Option<&str> {
        self.session_state.as_deref()
    }

    /// `tokenType`.
    pub fn token_type(&self) -> Option<&str> {
        self.token_type.as_deref()
    }

    /// `redirectUrl`.
    pub fn redirect_url(&self) -> Option<&str> {
        self.redirect_url.as_deref()
    }

    /// Whether the access token expires within `margin` of `now` (reads no clock). A token with
    /// no stated expiry never needs a refresh by time.
    pub fn needs_refresh(&self, now: SystemTime, margin: Duration) -> bool {
        match self.expires_at {
            Some(at) => now
                .checked_add(margin)
                .is_none_or(|deadline| deadline >= at),
            None => false,
        }
    }
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scope", &self.scope)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

/// Instants serialized as Unix milliseconds (compact snapshots).
pub(crate) mod unix_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::{Duration, SystemTime};

    pub fn to_ms(t: SystemTime) -> u64 {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    pub fn from_ms(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&to_ms(*t)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SystemTime>, D::Error> {
            Ok(Option::<u64>::deserialize(d)?.map(from_ms))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<TokenSet, Error> {
        TokenSet::from_response(
            &Response::new(200, body.as_bytes().to_vec()),
            SystemTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn tolerant_reader_accepts_floats_strings_and_extra_fields() {
        let t = parse(r#"{"accessToken":"a","refreshToken":"r","expires":"60","refreshExpires":1.5e3,"extra":{"x":[1]},"scope":["a","b"]}"#)
            .unwrap();
        assert_eq!(
            t.expires_at(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(60))
        );
        assert_eq!(
            t.refresh_expires_at(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1500))
        );
        assert_eq!(t.scope(), Some("a b"));
    }

    #[test]
    fn missing_or_empty_tokens_are_malformed() {
        for body in [
            r#"{"refreshToken":"r"}"#,
            r#"{"accessToken":"","refreshToken":"r"}"#,
            r#"{"accessToken":"a"}"#,
            "[]",
            "",
            "<html>",
        ] {
            assert_eq!(
                parse(body).unwrap_err().kind(),
                crate::ErrorKind::MalformedResponse,
                "{body}"
            );
        }
    }

    #[test]
    fn negative_or_huge_lifetimes() {
        assert!(parse(r#"{"accessToken":"a","refreshToken":"r","expires":-1}"#).is_err());
        let t = parse(r#"{"accessToken":"a","refreshToken":"r","expires":1e300}"#).unwrap();
        assert!(t.expires_at().is_some());
    }

    #[test]
    fn needs_refresh_at_margin_boundary() {
        let t = parse(r#"{"accessToken":"a","refreshToken":"r","expires":120}"#).unwrap();
        let m = Duration::from_secs(60);
        assert!(!t.needs_refresh(SystemTime::UNIX_EPOCH + Duration::from_secs(59), m));
        assert!(t.needs_refresh(SystemTime::UNIX_EPOCH + Duration::from_secs(60), m));
    }

    #[test]
    fn error_never_quotes_body() {
        let e = parse(r#"{"accessToken":"SECRET-CANARY","refreshToken":7}"#).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("SECRET-CANARY"));
    }
}
