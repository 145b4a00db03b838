//! The realm API ("Cap", seed 000): everything it does differently lives in this folder.
//!
//! ```text
//! Start --request_login--> Challenged (mfa none) --token--> Tokened --refresh--> Tokened
//!                     \--> MfaPending (mfa otp) --token + otp--^      \--revoke (local)--> Revoked
//! ```
//!
//! ```
//! use std::time::SystemTime;
//! use login_core::{realm, secret::{ClientSecret, Otp, Password}, Response};
//!
//! let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
//! let now = SystemTime::now();
//! let (req, pending) = realm::Start::new("bob", Password::new("pw")).request_login(&cfg);
//! assert_eq!(req.path(), "/auth/realm/cap/request");
//! let reply = Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"otp","refId":"A7"}"#.to_vec());
//! let realm::LoginStarted::MfaPending(mfa) = pending.receive(&reply, now).unwrap() else { panic!() };
//! assert_eq!(mfa.ref_id(), Some("A7"));
//! let (req, pending) = mfa.submit_otp(&cfg, Otp::new("123456"));
//! assert_eq!(req.path(), "/auth/realm/cap/token");
//! let reply = Response::new(201, br#"{"accessToken":"a","refreshToken":"r","expires":300}"#.to_vec());
//! let tokened = pending.receive(&reply, now).unwrap();
//! let revoked = tokened.revoke();
//! assert!(!revoked.sent_request());
//! ```

mod challenged;
mod mfa_pending;
mod start;
mod tokened;

pub use crate::flow::realm_state::State;
pub use crate::revoked::Revoked;
pub use challenged::{AwaitingOtp, Challenged, ExchangeStep, LoginRequest, NoOtp};
pub use mfa_pending::{MfaPending, OtpStep};
pub use start::{LoginStarted, RequestLoginStep, Start};
pub use tokened::{RealmApi, RefreshStep, Tokened};

pub use crate::readings::TicketSource;
use crate::readings::{ExpiryForm, ReceiveReadings, RefreshFields, ScopeForm, SuccessStatus};
use crate::request::{Header, Method, Request};
use crate::secret::ClientSecret;
use crate::table::StepId;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The non-secret settings of the realm API: ids, scope and readings. It is what a service
/// stores beside a session (it serializes), and all that refresh and the OTP steps need.
///
/// The readings ([`crate::readings`]) are keys of their own (`success`, `ticketSource`,
/// `scopeForm`, `expiry`, `refreshFields`); a key left out is the contract's reading, and a
/// reading at its default is not written.
///
/// ```
/// use login_core::realm::RealmProfile;
/// use login_core::readings::{ExpiryForm, RefreshFields};
/// let profile = RealmProfile::new("cap", "cap-mobile").scope(["openid", "email"]);
/// let json = serde_json::to_string(&profile).unwrap();
/// assert_eq!(json, r#"{"realmId":"cap","clientId":"cap-mobile","scope":["openid","email"]}"#);
/// assert_eq!(serde_json::from_str::<RealmProfile>(&json).unwrap(), profile);
///
/// let bank = profile.refresh_fields(RefreshFields::TokenOnly).expiry(ExpiryForm::UnixTime);
/// let json = serde_json::to_value(&bank).unwrap();
/// assert_eq!((&json["refreshFields"], &json["expiry"]), (&"tokenOnly".into(), &"unixTime".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ProfileData", into = "ProfileData")]
pub struct RealmProfile {
    realm_id: String,
    /// Each step's path with the encoded realm id, built once (indexed by [`route`]).
    paths: [Arc<str>; 6],
    client_id: String,
    scope: Vec<String>,
    success: SuccessStatus,
    ticket_source: TicketSource,
    scope_form: ScopeForm,
    expiry: ExpiryForm,
    refresh_fields: RefreshFields,
}

/// The serialized form of a [`RealmProfile`] (the paths are derived, not stored).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileData {
    realm_id: String,
    client_id: String,
    #[serde(default = "default_scope")]
    scope: Vec<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    success: SuccessStatus,
    #[serde(default, skip_serializing_if = "is_default")]
    ticket_source: TicketSource,
    #[serde(
        default = "default_scope_form",
        skip_serializing_if = "is_default_scope_form"
    )]
    scope_form: ScopeForm,
    #[serde(default, skip_serializing_if = "is_default")]
    expiry: ExpiryForm,
    #[serde(default, skip_serializing_if = "is_default")]
    refresh_fields: RefreshFields,
}

use crate::readings::is_default;

/// The seed's form: an array of strings.
fn default_scope_form() -> ScopeForm {
    ScopeForm::Array
}

fn is_default_scope_form(form: &ScopeForm) -> bool {
    *form == default_scope_form()
}

fn default_scope() -> Vec<String> {
    vec!["openid".to_owned()]
}

impl From<ProfileData> for RealmProfile {
    fn from(d: ProfileData) -> Self {
        RealmProfile::new(d.realm_id, d.client_id)
            .scope(d.scope)
            .success_status(d.success)
            .ticket_source(d.ticket_source)
            .scope_form(d.scope_form)
            .expiry(d.expiry)
            .refresh_fields(d.refresh_fields)
    }
}

impl From<RealmProfile> for ProfileData {
    fn from(p: RealmProfile) -> Self {
        ProfileData {
            realm_id: p.realm_id,
            client_id: p.client_id,
            scope: p.scope,
            success: p.success,
            ticket_source: p.ticket_source,
            scope_form: p.scope_form,
            expiry: p.expiry,
            refresh_fields: p.refresh_fields,
        }
    }
}

impl RealmProfile {
    /// A profile with the default scope `["openid"]`.
    pub fn new(realm_id: impl Into<String>, client_id: impl Into<String>) -> Self {
        let realm_id: String = realm_id.into();
        let paths = [
            StepId::RealmRequestLogin,
            StepId::RealmToken,
            StepId::RealmRefresh,
            StepId::ResetRequest,
            StepId::ResetVerifyOtp,
            StepId::ResetPassword,
        ]
        .map(|step| match route(step) {
            Some((_, _, prefix, suffix)) => {
                let mut path = String::with_capacity(prefix.len() + realm_id.len() + suffix.len());
                path.push_str(prefix);
                push_percent_encoded(&mut path, &realm_id);
                path.push_str(suffix);
                Arc::from(path)
            }
            None => Arc::from(""),
        });
        Self {
            realm_id,
            paths,
            client_id: client_id.into(),
            scope: default_scope(),
            success: SuccessStatus::default(),
            ticket_source: TicketSource::default(),
            scope_form: default_scope_form(),
            expiry: ExpiryForm::default(),
            refresh_fields: RefreshFields::default(),
        }
    }

    /// The scopes sent with the token call (an array in this API).
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        // Into, not AsRef: a `Vec<String>` (a profile being loaded) moves its words in.
        self.scope = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Which success statuses are accepted.
    pub fn success_status(mut self, success: SuccessStatus) -> Self {
        self.success = success;
        self
    }

    /// Where the reset ticket comes from.
    pub fn ticket_source(mut self, source: TicketSource) -> Self {
        self.ticket_source = source;
        self
    }

    /// How the token call sends `scope` (default: an array).
    ///
    /// ```
    /// use login_core::realm::RealmProfile;
    /// use login_core::readings::ScopeForm;
    /// let p = RealmProfile::new("cap", "cap-mobile").scope_form(ScopeForm::String);
    /// assert_eq!(p.scope_form_value(), ScopeForm::String);
    /// ```
    pub fn scope_form(mut self, form: ScopeForm) -> Self {
        self.scope_form = form;
        self
    }

    /// What `exp`, `expires` and `refreshExpires` count (default: seconds from receipt).
    ///
    /// ```
    /// use login_core::realm::RealmProfile;
    /// use login_core::readings::ExpiryForm;
    /// let p = RealmProfile::new("cap", "cap-mobile").expiry(ExpiryForm::UnixTime);
    /// assert_eq!(p.expiry_value(), ExpiryForm::UnixTime);
    /// ```
    pub fn expiry(mut self, form: ExpiryForm) -> Self {
        self.expiry = form;
        self
    }

    /// What the refresh sends (default: `clientId` and `refreshToken`).
    ///
    /// ```
    /// use login_core::realm::RealmProfile;
    /// use login_core::readings::RefreshFields;
    /// let p = RealmProfile::new("cap", "cap-mobile").refresh_fields(RefreshFields::TokenOnly);
    /// assert_eq!(p.refresh_fields_value(), RefreshFields::TokenOnly);
    /// ```
    pub fn refresh_fields(mut self, fields: RefreshFields) -> Self {
        self.refresh_fields = fields;
        self
    }

    /// Another client id.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Which success statuses are accepted.
    pub fn success_status_value(&self) -> SuccessStatus {
        self.success
    }

    /// Where the reset ticket comes from.
    pub fn ticket_source_value(&self) -> TicketSource {
        self.ticket_source
    }

    /// How the token call sends `scope`.
    pub fn scope_form_value(&self) -> ScopeForm {
        self.scope_form
    }

    /// What the expiry numbers count.
    pub fn expiry_value(&self) -> ExpiryForm {
        self.expiry
    }

    /// What the refresh sends.
    pub fn refresh_fields_value(&self) -> RefreshFields {
        self.refresh_fields
    }

    /// The realm id.
    pub fn realm_id(&self) -> &str {
        &self.realm_id
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The scopes sent with the token call.
    pub fn scopes(&self) -> &[String] {
        &self.scope
    }

    /// What a pending step of this API reads its answer with.
    pub(crate) fn receive_readings(&self) -> ReceiveReadings {
        ReceiveReadings {
            success: self.success,
            expiry: self.expiry,
        }
    }

    pub(crate) fn reset_ticket_source(&self) -> TicketSource {
        self.ticket_source
    }

    /// Builds the request for a step: the one place that knows this API's paths.
    pub(crate) fn request(&self, step: StepId) -> Request {
        match route(step) {
            Some((i, method, _, _)) => Request::new(step, method, self.paths[i].clone()),
            // Not a realm call: callers never pass these.
            None => Request::new(
                step,
                Method::Post,
                format!("/unsupported/{}", step.as_str()),
            ),
        }
    }

    pub(crate) fn bearer(token: &str) -> Header {
        Header::bearer(token)
    }
}

/// A [`RealmProfile`] with the client secret: what the login step needs. Every other step takes
/// the profile alone (a `&RealmConfig` converts to `&RealmProfile` on its own, through `Deref`).
/// The client secret is read at run time (environment or a file); there is no default.
///
/// ```
/// use login_core::{realm::RealmConfig, secret::ClientSecret};
/// let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
/// assert_eq!(cfg.profile().realm_id(), "cap");
/// assert!(!format!("{cfg:?}").contains("from-env"));
/// ```
#[derive(Clone, Debug)]
pub struct RealmConfig {
    profile: RealmProfile,
    client_secret: ClientSecret,
}

impl RealmConfig {
    /// A configuration with the default scope `["openid"]`.
    pub fn new(
        realm_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> Self {
        Self::from_profile(RealmProfile::new(realm_id, client_id), client_secret)
    }

    /// A profile and the client secret.
    pub fn from_profile(profile: RealmProfile, client_secret: ClientSecret) -> Self {
        Self {
            profile,
            client_secret,
        }
    }

    /// The scopes sent with the token call (an array in this API).
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.profile = self.profile.scope(scopes);
        self
    }

    /// Which success statuses are accepted.
    pub fn success_status(mut self, success: SuccessStatus) -> Self {
        self.profile = self.profile.success_status(success);
        self
    }

    /// Where the reset ticket comes from.
    pub fn ticket_source(mut self, source: TicketSource) -> Self {
        self.profile = self.profile.ticket_source(source);
        self
    }

    /// How the token call sends `scope` (see [`RealmProfile::scope_form`]).
    pub fn scope_form(mut self, form: ScopeForm) -> Self {
        self.profile = self.profile.scope_form(form);
        self
    }

    /// What the expiry numbers count (see [`RealmProfile::expiry`]).
    pub fn expiry(mut self, form: ExpiryForm) -> Self {
        self.profile = self.profile.expiry(form);
        self
    }

    /// What the refresh sends (see [`RealmProfile::refresh_fields`]).
    pub fn refresh_fields(mut self, fields: RefreshFields) -> Self {
        self.profile = self.profile.refresh_fields(fields);
        self
    }

    /// The non-secret part.
    pub fn profile(&self) -> &RealmProfile {
        &self.profile
    }

    pub(crate) fn client_secret(&self) -> &ClientSecret {
        &self.client_secret
    }
}

impl std::ops::Deref for RealmConfig {
    type Target = RealmProfile;

    fn deref(&self) -> &RealmProfile {
        &self.profile
    }
}

/// The one place that knows this API's paths: index into `RealmConfig::paths`, method, and the
/// path around the realm id.
fn route(step: StepId) -> Option<(usize, Method, &'static str, &'static str)> {
    Some(match step {
        StepId::RealmRequestLogin => (0, Method::Post, "/auth/realm/", "/request"),
        StepId::RealmToken => (1, Method::Post, "/auth/realm/", "/token"),
        StepId::RealmRefresh => (2, Method::Patch, "/auth/realm/", "/token"),
        StepId::ResetRequest => (3, Method::Post, "/realm/admin/", "/user/forgotPassword"),
        StepId::ResetVerifyOtp => (4, Method::Post, "/realm/admin/", "/user/verifyOtp"),
        StepId::ResetPassword => (5, Method::Post, "/realm/admin/", "/user/resetPassword"),
        _ => return None,
    })
}

/// Appends a percent-encoded path segment to `out` (RFC 3986 unreserved characters pass).
pub(crate) fn push_percent_encoded(out: &mut String, segment: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_id_is_encoded_as_one_segment() {
        let cfg = RealmProfile::new("a/b c", "x");
        assert_eq!(
            cfg.request(StepId::RealmToken).path(),
            "/auth/realm/a%2Fb%20c/token"
        );
    }
}
