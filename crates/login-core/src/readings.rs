//! Readings as settings: every place where the seeds are silent and a bank could plausibly read
//! the wire the other way is a value of this module, and each API's profile holds one of each
//! that applies to it, with the wire contract's reading as the default
//! (`docs/wire-readings.md` lists them all and names each profile key).
//!
//! | setting | profile key | default | other values |
//! |---|---|---|---|
//! | [`SuccessStatus`] | `success` | `any2xx` | `documented` |
//! | [`ScopeForm`] | `scopeForm` | realm `array`, internet banking `string` | the other one |
//! | [`ExpiryForm`] | `expiry` | `lifetime` | `unixTime` |
//! | [`RefreshFields`] (realm) | `refreshFields` | `clientIdAndToken` | `tokenOnly` |
//! | [`TicketSource`] (realm) | `ticketSource` | `verify_req_id` | `verify_ref_id` |
//! | [`HeaderName`] (internet banking) | `captchaHeader` | `checkIdentity` | any header name |
//! | [`Envelope`] (internet banking) | `envelope` | `{"field":"authToken","enc":"A256GCM"}` | other field names, `A128GCM` |
//!
//! Every key may be left out of a profile (or a session file that holds one): a missing key is
//! the default, so files written before a setting existed still load, and a profile at the
//! defaults writes none of these keys.
//!
//! ```
//! use login_core::ciam::CiamProfile;
//! use login_core::readings::{ContentEncryption, Envelope, ExpiryForm, HeaderName, ScopeForm};
//!
//! let profile = CiamProfile::new("ib-web", "https://app.example/cb")
//!     .scope_form(ScopeForm::Array)
//!     .expiry(ExpiryForm::UnixTime)
//!     .captcha_header(HeaderName::new("captchaIdentity")?)
//!     .envelope(Envelope::default().field("credentials")?.enc(ContentEncryption::A128Gcm));
//! let json = serde_json::to_value(&profile).unwrap();
//! assert_eq!(json["scopeForm"], "array");
//! assert_eq!(json["expiry"], "unixTime");
//! assert_eq!(json["captchaHeader"], "captchaIdentity");
//! assert_eq!(json["envelope"]["field"], "credentials");
//! assert_eq!(json["envelope"]["enc"], "A128GCM");
//! assert_eq!(serde_json::from_value::<CiamProfile>(json).unwrap(), profile);
//! # Ok::<(), login_core::Error>(())
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, MalformedReason};
use crate::lenient::Seconds;

/// Which success statuses a step accepts. The contract says any 2xx is success; a stricter
/// deployment can demand the exact documented code. Profile key `success`.
///
/// ```
/// use login_core::SuccessStatus;
/// assert_eq!(serde_json::to_string(&SuccessStatus::Documented).unwrap(), r#""documented""#);
/// // The spelling of earlier versions still reads.
/// assert_eq!(serde_json::from_str::<SuccessStatus>(r#""Any2xx""#).unwrap(), SuccessStatus::Any2xx);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SuccessStatus {
    /// Any 2xx (the contract's reading; the default).
    #[default]
    #[serde(rename = "any2xx", alias = "Any2xx")]
    Any2xx,
    /// Only the status the seed documents for the step (201 or 200).
    #[serde(rename = "documented", alias = "Documented")]
    Documented,
}

impl SuccessStatus {
    pub(crate) fn accepts(self, status: u16, documented: u16) -> bool {
        match self {
            SuccessStatus::Any2xx => (200..300).contains(&status),
            SuccessStatus::Documented => status == documented,
        }
    }
}

/// Where the reset-password bearer ticket comes from (wire contract reading: the `reqId` that
/// verify OTP returns). Realm profile key `ticketSource`.
///
/// ```
/// use login_core::readings::TicketSource;
/// assert_eq!(serde_json::to_string(&TicketSource::VerifyRefId).unwrap(), r#""verify_ref_id""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TicketSource {
    /// The `reqId` of the verify-OTP response (the contract's reading).
    #[default]
    #[serde(alias = "verifyReqId")]
    VerifyReqId,
    /// The `refId` of the verify-OTP response, for banks that differ.
    #[serde(alias = "verifyRefId")]
    VerifyRefId,
}

/// How requests send `scope`: one space-separated string or an array of strings. Profile key
/// `scopeForm`. The realm API's default is [`Array`](Self::Array), the internet-banking API's
/// [`String`](Self::String) (the seeds say so); responses are read in either form whatever the
/// setting.
///
/// ```
/// use login_core::readings::ScopeForm;
/// assert_eq!(serde_json::to_string(&ScopeForm::Array).unwrap(), r#""array""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ScopeForm {
    /// `"openid email"`.
    String,
    /// `["openid", "email"]`.
    Array,
}

/// `scope` as a request body sends it, written straight from the profile's words or string:
/// no list or string is built per request.
#[derive(Clone, Copy)]
pub(crate) enum ScopeJson<'a> {
    /// The words as an array.
    Words(&'a [String]),
    /// The words joined by spaces, as one string.
    WordsJoined(&'a [String]),
    /// The string as it is.
    Joined(&'a str),
    /// The string split at white space, as an array.
    JoinedSplit(&'a str),
}

impl Serialize for ScopeJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            ScopeJson::Words(words) => serializer.collect_seq(words),
            ScopeJson::WordsJoined(words) => serializer.collect_str(&SpaceJoined(words)),
            ScopeJson::Joined(joined) => serializer.serialize_str(joined),
            ScopeJson::JoinedSplit(joined) => serializer.collect_seq(joined.split_whitespace()),
        }
    }
}

/// Words displayed with one space between them.
struct SpaceJoined<'a>(&'a [String]);

impl std::fmt::Display for SpaceJoined<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, word) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(word)?;
        }
        Ok(())
    }
}

impl ScopeForm {
    /// The scope of a list of words, in this form.
    pub(crate) fn render_words(self, words: &[String]) -> ScopeJson<'_> {
        match self {
            ScopeForm::Array => ScopeJson::Words(words),
            ScopeForm::String => ScopeJson::WordsJoined(words),
        }
    }

    /// The scope of a space-separated string, in this form.
    pub(crate) fn render_joined(self, joined: &str) -> ScopeJson<'_> {
        match self {
            ScopeForm::Array => ScopeJson::JoinedSplit(joined),
            ScopeForm::String => ScopeJson::Joined(joined),
        }
    }
}

/// What the expiry numbers of a response (`exp`, `expires`, `refreshExpires`) count. Profile
/// key `expiry`.
///
/// With [`Lifetime`](Self::Lifetime) (the contract's reading) a value is seconds from the
/// response; the engine adds it to the receipt instant. With [`UnixTime`](Self::UnixTime) it is
/// seconds since the Unix epoch, taken as is. Either way a negative, non-finite or non-numeric
/// value is a `malformed_response`; an absolute time that is already past at receipt is one
/// too (the token or request would be dead on arrival: a wrong setting or a server clock far
/// off), with [`MalformedReason::PastExpiry`].
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use login_core::readings::ExpiryForm;
/// use login_core::{Response, TokenSet};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let body = br#"{"accessToken":"a","refreshToken":"r","expires":1700000300}"#.to_vec();
/// let t = TokenSet::from_response_with(&Response::new(200, body), now, ExpiryForm::UnixTime).unwrap();
/// assert_eq!(t.expires_at(), Some(now + Duration::from_secs(300)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ExpiryForm {
    /// Seconds from the response (the contract's reading; the default).
    #[default]
    Lifetime,
    /// Seconds since 1970-01-01T00:00:00Z.
    UnixTime,
}

/// The longest lifetime believed from a server (100 years); larger values are clamped so that
/// instant arithmetic cannot overflow.
const MAX_LIFETIME_SECS: f64 = 100.0 * 365.0 * 24.0 * 3600.0;

impl ExpiryForm {
    /// The instant an expiry number stands for, received at `now`; `None` when absent.
    pub(crate) fn instant(
        self,
        value: Seconds,
        now: SystemTime,
        field: &'static str,
    ) -> Result<Option<SystemTime>, MalformedReason> {
        let secs = match value.0 {
            None => return Ok(None),
            Some(v) => v.ok_or(MalformedReason::invalid(field))?,
        };
        if !secs.is_finite() || secs < 0.0 {
            return Err(MalformedReason::invalid(field));
        }
        match self {
            ExpiryForm::Lifetime => {
                let d = seconds(secs.min(MAX_LIFETIME_SECS));
                Ok(Some(now.checked_add(d).unwrap_or(now)))
            }
            ExpiryForm::UnixTime => {
                // Past the clamp is no time a server means; the epoch plus it cannot overflow.
                if secs > MAX_LIFETIME_SECS * 10.0 {
                    return Err(MalformedReason::invalid(field));
                }
                let at = SystemTime::UNIX_EPOCH
                    .checked_add(seconds(secs))
                    .ok_or(MalformedReason::invalid(field))?;
                if at <= now {
                    return Err(MalformedReason::PastExpiry { field });
                }
                Ok(Some(at))
            }
        }
    }
}

/// Whole seconds (what servers send) without the float decomposition of `from_secs_f64`.
fn seconds(secs: f64) -> Duration {
    let whole = secs as u64;
    if whole as f64 == secs {
        Duration::from_secs(whole)
    } else {
        Duration::from_secs_f64(secs)
    }
}

/// What the realm refresh (`PATCH .../token`) sends. Realm profile key `refreshFields`.
///
/// ```
/// use login_core::readings::RefreshFields;
/// assert_eq!(serde_json::to_string(&RefreshFields::TokenOnly).unwrap(), r#""tokenOnly""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RefreshFields {
    /// `clientId` and `refreshToken` (the contract's reading; the default).
    #[default]
    ClientIdAndToken,
    /// `refreshToken` alone.
    TokenOnly,
}

/// An HTTP header name (an RFC 9110 token), checked when made: the captcha call's header that
/// carries the login challenge. Internet-banking profile key `captchaHeader`, default
/// `checkIdentity`.
///
/// ```
/// use login_core::readings::HeaderName;
/// assert_eq!(HeaderName::default().as_str(), "checkIdentity");
/// assert!(HeaderName::new("x-captcha-identity").is_ok());
/// assert!(HeaderName::new("check identity").is_err());
/// assert!(serde_json::from_str::<HeaderName>(r#""a:b""#).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HeaderName(Arc<str>);

/// The contract's captcha header.
const CHECK_IDENTITY: &str = "checkIdentity";

impl HeaderName {
    /// A header name: 1 to 64 characters of RFC 9110's `tchar` (letters, digits and
    /// ``!#$%&'*+-.^_`|~``).
    ///
    /// # Errors
    /// [`ReadingError::HeaderName`] (inside a configuration error) for anything else.
    pub fn new(name: impl Into<String>) -> Result<Self, crate::Error> {
        Self::try_from(name.into()).map_err(|e| ConfigError::Reading(e).into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn shared(&self) -> &Arc<str> {
        &self.0
    }
}

fn is_token(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Default for HeaderName {
    fn default() -> Self {
        Self(Arc::from(CHECK_IDENTITY))
    }
}

impl TryFrom<String> for HeaderName {
    type Error = ReadingError;

    fn try_from(name: String) -> Result<Self, ReadingError> {
        if is_token(&name) {
            Ok(Self(Arc::from(name)))
        } else {
            Err(ReadingError::HeaderName)
        }
    }
}

impl From<HeaderName> for String {
    fn from(h: HeaderName) -> String {
        h.0.to_string()
    }
}

impl std::fmt::Debug for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The content encryption of the credential envelope (JWE `enc`). With ECDH-ES direct key
/// agreement the Concat KDF derives a key of its size (RFC 7518 §4.6.2).
///
/// ```
/// use login_core::readings::ContentEncryption;
/// assert_eq!(ContentEncryption::A128Gcm.as_str(), "A128GCM");
/// assert_eq!(serde_json::to_string(&ContentEncryption::default()).unwrap(), r#""A256GCM""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ContentEncryption {
    /// AES-256-GCM (the contract's reading; the default).
    #[default]
    #[serde(rename = "A256GCM")]
    A256Gcm,
    /// AES-128-GCM.
    #[serde(rename = "A128GCM")]
    A128Gcm,
}

impl ContentEncryption {
    /// The JWE `enc` value, also the Concat KDF's AlgorithmID.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentEncryption::A256Gcm => "A256GCM",
            ContentEncryption::A128Gcm => "A128GCM",
        }
    }

    /// The content key's length in bits.
    pub fn key_bits(self) -> u32 {
        match self {
            ContentEncryption::A256Gcm => 256,
            ContentEncryption::A128Gcm => 128,
        }
    }
}

/// The credential envelope's names and algorithm: which login-challenge body field carries the
/// JWE, its `enc`, and the plaintext's names for the username and password. Internet-banking
/// profile key `envelope`; each member may be left out (`{"field": "credentials"}`).
///
/// ```
/// use login_core::readings::Envelope;
/// let e = Envelope::default();
/// assert_eq!((e.field_name(), e.username_field_name(), e.password_field_name()),
///            ("authToken", "username", "password"));
/// assert!(Envelope::default().field("loginChallenge").is_err()); // would be sent twice
/// assert!(Envelope::default().username_field("iat").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "EnvelopeData", into = "EnvelopeData")]
pub struct Envelope {
    field: Arc<str>,
    enc: ContentEncryption,
    username_field: Arc<str>,
    password_field: Arc<str>,
}

/// The serialized form of [`Envelope`]: defaults left out.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EnvelopeData {
    #[serde(default = "default_field", skip_serializing_if = "is_default_field")]
    field: String,
    #[serde(default, skip_serializing_if = "is_default")]
    enc: ContentEncryption,
    #[serde(
        default = "default_username",
        skip_serializing_if = "is_default_username"
    )]
    username_field: String,
    #[serde(
        default = "default_password",
        skip_serializing_if = "is_default_password"
    )]
    password_field: String,
}

const ENVELOPE_FIELD: &str = "authToken";
const USERNAME_FIELD: &str = "username";
const PASSWORD_FIELD: &str = "password";
/// The login-challenge body's other fields, which the envelope field must not take.
const BODY_FIELDS: [&str; 2] = ["loginChallenge", "additionalAuthentication"];
/// The plaintext's other fields, which the username and password must not take.
const PLAINTEXT_FIELDS: [&str; 4] = ["authToken", "captchaId", "captchaAnswer", "iat"];

fn default_field() -> String {
    ENVELOPE_FIELD.to_owned()
}
fn default_username() -> String {
    USERNAME_FIELD.to_owned()
}
fn default_password() -> String {
    PASSWORD_FIELD.to_owned()
}
fn is_default_field(s: &str) -> bool {
    s == ENVELOPE_FIELD
}
fn is_default_username(s: &str) -> bool {
    s == USERNAME_FIELD
}
fn is_default_password(s: &str) -> bool {
    s == PASSWORD_FIELD
}

impl Default for Envelope {
    fn default() -> Self {
        Self {
            field: Arc::from(ENVELOPE_FIELD),
            enc: ContentEncryption::default(),
            username_field: Arc::from(USERNAME_FIELD),
            password_field: Arc::from(PASSWORD_FIELD),
        }
    }
}

impl TryFrom<EnvelopeData> for Envelope {
    type Error = ReadingError;

    fn try_from(d: EnvelopeData) -> Result<Self, ReadingError> {
        let e = Envelope {
            field: Arc::from(d.field),
            enc: d.enc,
            username_field: Arc::from(d.username_field),
            password_field: Arc::from(d.password_field),
        };
        e.check()?;
        Ok(e)
    }
}

impl From<Envelope> for EnvelopeData {
    fn from(e: Envelope) -> Self {
        EnvelopeData {
            field: e.field.to_string(),
            enc: e.enc,
            username_field: e.username_field.to_string(),
            password_field: e.password_field.to_string(),
        }
    }
}

impl Envelope {
    /// The login-challenge body field that carries the JWE (default `authToken`).
    ///
    /// # Errors
    /// [`ReadingError::EnvelopeField`] when empty, longer than 64 bytes, or the name of another
    /// body field (`loginChallenge`, `additionalAuthentication`).
    pub fn field(mut self, name: impl Into<String>) -> Result<Self, crate::Error> {
        self.field = Arc::from(name.into());
        self.checked()
    }

    /// The content encryption (default `A256GCM`).
    pub fn enc(mut self, enc: ContentEncryption) -> Self {
        self.enc = enc;
        self
    }

    /// The plaintext's name for the username (default `username`).
    ///
    /// # Errors
    /// [`ReadingError::EnvelopeField`] when empty, too long, or another plaintext field's name.
    pub fn username_field(mut self, name: impl Into<String>) -> Result<Self, crate::Error> {
        self.username_field = Arc::from(name.into());
        self.checked()
    }

    /// The plaintext's name for the password (default `password`).
    ///
    /// # Errors
    /// [`ReadingError::EnvelopeField`] when empty, too long, or another plaintext field's name.
    pub fn password_field(mut self, name: impl Into<String>) -> Result<Self, crate::Error> {
        self.password_field = Arc::from(name.into());
        self.checked()
    }

    /// The body field that carries the JWE.
    pub fn field_name(&self) -> &str {
        &self.field
    }

    /// The content encryption.
    pub fn enc_value(&self) -> ContentEncryption {
        self.enc
    }

    /// The plaintext's name for the username.
    pub fn username_field_name(&self) -> &str {
        &self.username_field
    }

    /// The plaintext's name for the password.
    pub fn password_field_name(&self) -> &str {
        &self.password_field
    }

    fn checked(self) -> Result<Self, crate::Error> {
        match self.check() {
            Ok(()) => Ok(self),
            Err(e) => Err(ConfigError::Reading(e).into()),
        }
    }

    fn check(&self) -> Result<(), ReadingError> {
        let fine = |name: &str, others: &[&str]| {
            !name.is_empty() && name.len() <= 64 && !others.contains(&name)
        };
        let user = &*self.username_field;
        let password = &*self.password_field;
        if fine(&self.field, &BODY_FIELDS)
            && fine(user, &PLAINTEXT_FIELDS)
            && fine(password, &PLAINTEXT_FIELDS)
            && user != password
        {
            Ok(())
        } else {
            Err(ReadingError::EnvelopeField)
        }
    }
}

/// A setting that cannot be used. Messages never repeat the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadingError {
    /// `captchaHeader` is not an HTTP header name.
    #[error(
        "captchaHeader must be an HTTP header name: 1 to 64 letters, digits or !#$%&'*+-.^_`|~"
    )]
    HeaderName,
    /// An `envelope` field name is empty, longer than 64 bytes, or the name of another field of
    /// the body or the plaintext (it would be sent twice).
    #[error(
        "envelope field names must be 1 to 64 bytes and differ from the other fields \
         (loginChallenge, additionalAuthentication; authToken, captchaId, captchaAnswer, iat; \
         the username and password fields from each other)"
    )]
    EnvelopeField,
}

/// What a pending step needs from its profile to read the answer: which statuses are success
/// and what the expiry numbers count.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReceiveReadings {
    pub(crate) success: SuccessStatus,
    pub(crate) expiry: ExpiryForm,
}

pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(v: f64) -> Seconds {
        Seconds(Some(Some(v)))
    }

    const NOW: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    #[test]
    fn unix_time_is_taken_as_is_and_lifetime_is_added_to_receipt() {
        let at = ExpiryForm::UnixTime
            .instant(secs((NOW + 60) as f64), now(), "exp")
            .unwrap();
        assert_eq!(at, Some(now() + Duration::from_secs(60)));
        let lifetime = ExpiryForm::Lifetime
            .instant(secs((NOW + 60) as f64), now(), "exp")
            .unwrap();
        // The same number read as a lifetime lands decades later: why the setting exists.
        assert!(lifetime.unwrap() > now() + Duration::from_secs(50 * 365 * 86_400));
    }

    #[test]
    fn an_absolute_expiry_already_past_at_receipt_is_malformed() {
        for past in [0.0, (NOW - 1) as f64, NOW as f64] {
            assert_eq!(
                ExpiryForm::UnixTime.instant(secs(past), now(), "expires"),
                Err(MalformedReason::PastExpiry { field: "expires" }),
                "{past}"
            );
        }
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(
                ExpiryForm::UnixTime.instant(secs(bad), now(), "exp"),
                Err(MalformedReason::Invalid { field: "exp" }),
                "{bad}"
            );
        }
        assert_eq!(
            ExpiryForm::UnixTime.instant(Seconds(None), now(), "exp"),
            Ok(None)
        );
    }

    #[test]
    fn scope_forms_render_both_ways() {
        let words = vec!["openid".to_owned(), "email".to_owned()];
        let json = |s: ScopeJson<'_>| serde_json::to_string(&s).unwrap();
        assert_eq!(
            json(ScopeForm::Array.render_words(&words)),
            r#"["openid","email"]"#
        );
        assert_eq!(
            json(ScopeForm::String.render_words(&words)),
            r#""openid email""#
        );
        assert_eq!(
            json(ScopeForm::Array.render_joined("openid  email")),
            r#"["openid","email"]"#
        );
        assert_eq!(
            json(ScopeForm::String.render_joined("openid email")),
            r#""openid email""#
        );
    }

    #[test]
    fn header_names_are_rfc9110_tokens() {
        for good in [
            "checkIdentity",
            "X-Captcha-Identity",
            "a",
            "a!#$%&'*+-.^_`|~9",
        ] {
            assert!(HeaderName::new(good).is_ok(), "{good}");
        }
        let long = "a".repeat(65);
        for bad in ["", "a b", "a:b", "a\r\nb", "é", "(x)", long.as_str()] {
            let e = HeaderName::new(bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    crate::Error::Local(crate::error::LocalError::Config(ConfigError::Reading(
                        ReadingError::HeaderName
                    )))
                ),
                "{bad:?}: {e:?}"
            );
        }
    }

    #[test]
    fn envelope_serializes_only_what_differs_and_refuses_collisions() {
        assert_eq!(serde_json::to_string(&Envelope::default()).unwrap(), "{}");
        let e: Envelope = serde_json::from_str(r#"{"field":"credentials"}"#).unwrap();
        assert_eq!(e.field_name(), "credentials");
        assert_eq!(e.enc_value(), ContentEncryption::A256Gcm);
        for bad in [
            r#"{"field":""}"#,
            r#"{"field":"loginChallenge"}"#,
            r#"{"usernameField":"captchaId"}"#,
            r#"{"usernameField":"p","passwordField":"p"}"#,
            r#"{"enc":"A192GCM"}"#,
            r#"{"other":1}"#,
        ] {
            assert!(serde_json::from_str::<Envelope>(bad).is_err(), "{bad}");
        }
    }
}
