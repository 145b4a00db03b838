//! The internet-banking API ("CIAM", seed 001): everything it does differently lives in this
//! folder. Paths come from [`Routes`]; headers and bodies from the state files.
//!
//! ```text
//! Start --authorize--> Authorized --captcha--> Authorized
//!   Authorized --login_challenge--> Challenged (no anomaly) | MfaPending (anomaly: 2FA)
//!   MfaPending --pre_login_verify--> Challenged --access_token--> Tokened
//!   Tokened --refresh--> Tokened | --revoke--> Revoked
//! ```
//!
//! A whole login by hand, with canned responses (a transport would send each request):
//!
//! ```
//! use std::time::SystemTime;
//! use login_core::{ciam, entropy::OsEntropy, secret::{DeviceToken, Password}, Response};
//! # struct Sealer; // stands in for `seal::JweSealer::from_jwk(server_jwk)?`
//! # impl login_core::seal::CredentialSealer for Sealer {
//! #     fn seal(&self, _: &[u8], _: &mut dyn login_core::entropy::Entropy)
//! #         -> Result<login_core::secret::FlowSecret, login_core::Error> {
//! #         Ok(login_core::secret::FlowSecret::new("jwe"))
//! #     }
//! # }
//! # let sealer = Sealer;
//!
//! let cfg = ciam::CiamConfig::new("ib-web", "https://app.example/cb", DeviceToken::new("dev-token"));
//! let mut rng = OsEntropy; // the PKCE verifier, `state` and the seal's ephemeral key come from it
//! let now = SystemTime::now();
//!
//! let (req, p) = ciam::Start::new(&mut rng).unwrap().authorize(&cfg);
//! assert_eq!(req.path(), "/api/v1/authorize");
//! let authorized = p
//!     .receive(&Response::new(200, br#"{"loginChallenge":"lc","authToken":"at"}"#.to_vec()), now)
//!     .unwrap();
//!
//! let creds = ciam::Credentials::new("alice", Password::new("pw"));
//! let (req, p) = authorized.submit_credentials(&cfg, &sealer, &creds, &mut rng, now).unwrap();
//! assert_eq!(req.path(), "/api/v1/login-challenge");
//! let outcome = p.receive(&Response::new(200, br#"{"code":"c","token":"t"}"#.to_vec()), now).unwrap();
//! let ciam::LoginOutcome::Challenged(challenged) = outcome else { panic!("no 2FA expected") };
//!
//! let (req, p) = challenged.exchange(&cfg);
//! assert_eq!(req.path(), "/api/v1/access-token");
//! let body = br#"{"accessToken":"A","refreshToken":"R","expires":300}"#;
//! let tokened = p.receive(&Response::new(200, body.to_vec()), now).unwrap();
//! assert_eq!(tokened.tokens().access_token().expose(), "A");
//! ```

mod authorized;
mod captcha_shown;
mod challenged;
mod mfa_pending;
mod start;
mod tokened;

pub use crate::flow::ciam_state::State;
pub use crate::revoked::Revoked;
pub use authorized::{
    Authorized, Captcha, CaptchaStep, Credentials, LoginChallengeStep, LoginOutcome,
};
pub use captcha_shown::CaptchaShown;
pub use challenged::{AccessTokenStep, Challenged};
pub use mfa_pending::{Channel, MfaPending, PreLoginVerifyStep};
pub use start::{AuthorizeStep, Start};
pub use tokened::{CiamApi, RefreshStep, RevokeStep, Tokened};

use crate::readings::{
    Envelope, ExpiryForm, HeaderName, ReceiveReadings, ScopeForm, ScopeJson, SuccessStatus,
    is_default,
};
use crate::request::{Header, Method, Request};
use crate::secret::{DeviceToken, FlowSecret};
use crate::table::StepId;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The paths of the seven calls. Two sets come ready (the seed gives both); each path can be
/// overridden on its own.
///
/// ```
/// use login_core::{ciam::Routes, table::StepId};
/// let r = Routes::service().with(StepId::CiamCaptcha, "/ciamauthsrvc/captcha");
/// assert_eq!(r.path(StepId::CiamAuthorize), "/ciamauthsrvc/internetBanking/oauth/authorize");
/// assert_eq!(r.path(StepId::CiamCaptcha), "/ciamauthsrvc/captcha");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RoutesData", into = "RoutesData")]
pub struct Routes {
    // Shared with every request built from them (a reference count, not a copy per request).
    paths: [Arc<str>; 7],
}

fn route_index(step: StepId) -> Option<usize> {
    ROUTE_STEPS.iter().position(|s| *s == step)
}

impl Routes {
    /// The gateway routes (`/api/v1/...`), the default.
    pub fn gateway() -> Self {
        Self {
            paths: [
                "/api/v1/authorize",
                "/api/v1/captcha",
                "/api/v1/login-challenge",
                "/api/v1/pre-login-verify",
                "/api/v1/access-token",
                "/api/v1/revoke-token",
                "/api/v1/refresh-token",
            ]
            .map(Arc::from),
        }
    }

    /// The service routes (the seed's second paths). The seed gives no captcha path there, so
    /// it stays the gateway's unless overridden.
    pub fn service() -> Self {
        Self {
            paths: [
                "/ciamauthsrvc/internetBanking/oauth/authorize",
                "/api/v1/captcha",
                "/ciamauthsrvc/internetBanking/oauth/acceptLoginChallenge",
                "/ciamauthsrvc/auth/mfa/prelogin/verify",
                "/ciamauthsrvc/internetBanking/oauth/accessToken",
                "/ciamauthsrvc/internetBanking/oauth/revoke",
                "/ciamauthsrvc/internetBanking/oauth/accessToken/refresh",
            ]
            .map(Arc::from),
        }
    }

    /// Overrides one step's path. Steps of other APIs are ignored.
    pub fn with(mut self, step: StepId, path: impl Into<String>) -> Self {
        if let Some(i) = route_index(step) {
            let mut p: String = path.into();
            if !p.starts_with('/') {
                p.insert(0, '/');
            }
            self.paths[i] = Arc::from(p);
        }
        self
    }

    /// The path of a step (`""` for a step of another API).
    pub fn path(&self, step: StepId) -> &str {
        route_index(step).map(|i| &*self.paths[i]).unwrap_or("")
    }

    /// The step a route name stands for: the keys of the serialized form (`authorize`,
    /// `captcha`, `loginChallenge`, `preLoginVerify`, `accessToken`, `revoke`, `refresh`).
    ///
    /// ```
    /// use login_core::{ciam::Routes, table::StepId};
    /// assert_eq!(Routes::step_named("loginChallenge"), Some(StepId::CiamLoginChallenge));
    /// assert_eq!(Routes::name_of(StepId::CiamAuthorize), Some("authorize"));
    /// assert_eq!(Routes::step_named("token"), None);
    /// ```
    pub fn step_named(name: &str) -> Option<StepId> {
        ROUTE_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| ROUTE_STEPS[i])
    }

    /// The route name of a step (see [`step_named`](Self::step_named)); `None` for a step of
    /// another API.
    pub fn name_of(step: StepId) -> Option<&'static str> {
        route_index(step).map(|i| ROUTE_NAMES[i])
    }
}

/// The route names, in `Routes::paths` order: the serialized form's keys.
const ROUTE_NAMES: [&str; 7] = [
    "authorize",
    "captcha",
    "loginChallenge",
    "preLoginVerify",
    "accessToken",
    "revoke",
    "refresh",
];

impl Default for Routes {
    fn default() -> Self {
        Self::gateway()
    }
}

/// The paths by name: the serialized form of [`Routes`]. A path left out is the gateway's.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoutesData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authorize: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    captcha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login_challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pre_login_verify: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoke: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh: Option<String>,
}

/// The steps in `Routes::paths` order.
const ROUTE_STEPS: [StepId; 7] = [
    StepId::CiamAuthorize,
    StepId::CiamCaptcha,
    StepId::CiamLoginChallenge,
    StepId::CiamPreLoginVerify,
    StepId::CiamAccessToken,
    StepId::CiamRevoke,
    StepId::CiamRefresh,
];

impl From<RoutesData> for Routes {
    fn from(d: RoutesData) -> Self {
        let given = [
            d.authorize,
            d.captcha,
            d.login_challenge,
            d.pre_login_verify,
            d.access_token,
            d.revoke,
            d.refresh,
        ];
        ROUTE_STEPS.into_iter().zip(given).fold(
            Routes::gateway(),
            |routes, (step, path)| match path {
                Some(path) => routes.with(step, path),
                None => routes,
            },
        )
    }
}

impl From<Routes> for RoutesData {
    fn from(r: Routes) -> Self {
        let [
            authorize,
            captcha,
            login_challenge,
            pre_login_verify,
            access_token,
            revoke,
            refresh,
        ] = r.paths.map(|p| Some(p.to_string()));
        RoutesData {
            authorize,
            captcha,
            login_challenge,
            pre_login_verify,
            access_token,
            revoke,
            refresh,
        }
    }
}

/// `locLatitude` and `locLongitude`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Location {
    latitude: Arc<str>,
    longitude: Arc<str>,
}

/// The non-secret settings of the internet-banking API: ids, routes, scope, location, event id
/// and readings. It is what a service stores beside a session (it serializes), and all that
/// fetching a captcha, exchanging the code, refresh and revoke need.
///
/// The readings ([`crate::readings`]) are keys of their own (`success`, `scopeForm`, `expiry`,
/// `captchaHeader`, `envelope`; `routes` too); a key left out is the contract's reading, and a
/// reading at its default is not written.
///
/// ```
/// use login_core::ciam::{CiamProfile, Routes};
/// let profile = CiamProfile::new("ib-web", "https://app.example/cb")
///     .routes(Routes::service())
///     .location("1.29", "103.85");
/// let json = serde_json::to_string(&profile).unwrap();
/// assert_eq!(serde_json::from_str::<CiamProfile>(&json).unwrap(), profile);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CiamProfile {
    client_id: String,
    redirect_uri: String,
    #[serde(default = "default_scope")]
    scope: String,
    #[serde(default)]
    routes: Routes,
    // Shared with the requests that send them, like the paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event_id: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    additional_authentication: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    success: SuccessStatus,
    #[serde(
        default = "default_scope_form",
        skip_serializing_if = "is_default_scope_form"
    )]
    scope_form: ScopeForm,
    #[serde(default, skip_serializing_if = "is_default")]
    expiry: ExpiryForm,
    #[serde(default, skip_serializing_if = "is_default")]
    captcha_header: HeaderName,
    #[serde(default, skip_serializing_if = "is_default")]
    envelope: Envelope,
}

fn default_scope() -> String {
    "openid".to_owned()
}

/// The seed's form: one space-separated string.
fn default_scope_form() -> ScopeForm {
    ScopeForm::String
}

fn is_default_scope_form(form: &ScopeForm) -> bool {
    *form == default_scope_form()
}

impl CiamProfile {
    /// A profile with the gateway routes and scope `"openid"`.
    pub fn new(client_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scope: default_scope(),
            routes: Routes::gateway(),
            location: None,
            event_id: None,
            additional_authentication: None,
            success: SuccessStatus::default(),
            scope_form: default_scope_form(),
            expiry: ExpiryForm::default(),
            captcha_header: HeaderName::default(),
            envelope: Envelope::default(),
        }
    }

    /// The route set.
    pub fn routes(mut self, routes: Routes) -> Self {
        self.routes = routes;
        self
    }

    /// Scopes; sent as one space-separated string in this API.
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let parts: Vec<String> = scopes.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.scope = parts.join(" ");
        self
    }

    /// `locLatitude` and `locLongitude`, sent on every call.
    pub fn location(mut self, latitude: impl Into<String>, longitude: impl Into<String>) -> Self {
        self.location = Some(Location {
            latitude: Arc::from(latitude.into()),
            longitude: Arc::from(longitude.into()),
        });
        self
    }

    /// `eventId`, sent on login challenge, pre-login verify and access token.
    pub fn event_id(mut self, event_id: impl Into<String>) -> Self {
        self.event_id = Some(Arc::from(event_id.into()));
        self
    }

    /// `additionalAuthentication` sent on the login challenge (only when configured).
    pub fn additional_authentication(mut self, value: impl Into<String>) -> Self {
        self.additional_authentication = Some(value.into());
        self
    }

    /// Which success statuses are accepted.
    pub fn success_status(mut self, success: SuccessStatus) -> Self {
        self.success = success;
        self
    }

    /// How requests send `scope` (default: one space-separated string).
    ///
    /// ```
    /// use login_core::ciam::CiamProfile;
    /// use login_core::readings::ScopeForm;
    /// let p = CiamProfile::new("ib-web", "https://app.example/cb").scope_form(ScopeForm::Array);
    /// assert_eq!(p.scope_form_value(), ScopeForm::Array);
    /// ```
    pub fn scope_form(mut self, form: ScopeForm) -> Self {
        self.scope_form = form;
        self
    }

    /// What `expires` and `refreshExpires` count (default: seconds from receipt).
    ///
    /// ```
    /// use login_core::ciam::CiamProfile;
    /// use login_core::readings::ExpiryForm;
    /// let p = CiamProfile::new("ib-web", "https://app.example/cb").expiry(ExpiryForm::UnixTime);
    /// assert_eq!(p.expiry_value(), ExpiryForm::UnixTime);
    /// ```
    pub fn expiry(mut self, form: ExpiryForm) -> Self {
        self.expiry = form;
        self
    }

    /// The header the captcha call sends the login challenge in (default `checkIdentity`).
    ///
    /// ```
    /// use login_core::ciam::CiamProfile;
    /// use login_core::readings::HeaderName;
    /// let p = CiamProfile::new("ib-web", "https://app.example/cb")
    ///     .captcha_header(HeaderName::new("captchaIdentity")?);
    /// assert_eq!(p.captcha_header_name(), "captchaIdentity");
    /// # Ok::<(), login_core::Error>(())
    /// ```
    pub fn captcha_header(mut self, name: HeaderName) -> Self {
        self.captcha_header = name;
        self
    }

    /// The credential envelope's body field, `enc` and plaintext names (default `authToken`,
    /// `A256GCM`, `username`, `password`).
    ///
    /// ```
    /// use login_core::ciam::CiamProfile;
    /// use login_core::readings::{ContentEncryption, Envelope};
    /// let p = CiamProfile::new("ib-web", "https://app.example/cb")
    ///     .envelope(Envelope::default().enc(ContentEncryption::A128Gcm));
    /// assert_eq!(p.envelope_value().enc_value(), ContentEncryption::A128Gcm);
    /// ```
    pub fn envelope(mut self, envelope: Envelope) -> Self {
        self.envelope = envelope;
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

    /// How requests send `scope`.
    pub fn scope_form_value(&self) -> ScopeForm {
        self.scope_form
    }

    /// What the expiry numbers count.
    pub fn expiry_value(&self) -> ExpiryForm {
        self.expiry
    }

    /// The header the captcha call sends the login challenge in.
    pub fn captcha_header_name(&self) -> &str {
        self.captcha_header.as_str()
    }

    /// The credential envelope's names and algorithm.
    pub fn envelope_value(&self) -> &Envelope {
        &self.envelope
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The redirect URI.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The space-separated scope.
    pub fn scope_string(&self) -> &str {
        &self.scope
    }

    /// The path of each step.
    pub fn route_set(&self) -> &Routes {
        &self.routes
    }

    /// `locLatitude` and `locLongitude`, when configured.
    pub fn location_pair(&self) -> Option<(&str, &str)> {
        self.location
            .as_ref()
            .map(|l| (&*l.latitude, &*l.longitude))
    }

    /// `eventId`, when configured.
    pub fn event_id_value(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// What a pending step of this API reads its answer with.
    pub(crate) fn receive_readings(&self) -> ReceiveReadings {
        ReceiveReadings {
            success: self.success,
            expiry: self.expiry,
        }
    }

    /// `scope` as this API's requests send it.
    pub(crate) fn scope_json(&self) -> ScopeJson<'_> {
        self.scope_form.render_joined(&self.scope)
    }

    /// The captcha call's header with the login challenge.
    pub(crate) fn captcha_header_with(&self, login_challenge: &str) -> Header {
        Header::sensitive_named(self.captcha_header.shared(), login_challenge)
    }

    pub(crate) fn additional_authentication_value(&self) -> Option<&str> {
        self.additional_authentication.as_deref()
    }

    /// Checks the values that go into headers (location, event id): they must be visible ASCII,
    /// so no profile can split a header. `Flow::begin` calls it before every step.
    ///
    /// # Errors
    /// A configuration error naming the first value that is not.
    pub fn check(&self) -> Result<(), crate::Error> {
        check_header_values(self.header_values())
    }

    /// The values that go into headers must be visible ASCII, so no profile can split a header.
    fn header_values(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let location = self
            .location
            .iter()
            .flat_map(|l| [("latitude", &*l.latitude), ("longitude", &*l.longitude)]);
        location.chain(self.event_id.iter().map(|e| ("event id", &**e)))
    }

    /// The one request builder for this API: method, path, the optional location and event
    /// headers on exactly the calls whose row lists them.
    pub(crate) fn request(&self, step: StepId) -> Request {
        let method = if step == StepId::CiamCaptcha {
            Method::Get
        } else {
            Method::Post
        };
        let path = match route_index(step) {
            Some(i) => self.routes.paths[i].clone(),
            None => Arc::from(""),
        };
        let mut request = Request::new(step, method, path);
        if let Some(location) = &self.location {
            request = request
                .header(Header::shared("locLatitude", &location.latitude))
                .header(Header::shared("locLongitude", &location.longitude));
        }
        let takes_event_id = matches!(
            step,
            StepId::CiamLoginChallenge | StepId::CiamPreLoginVerify | StepId::CiamAccessToken
        );
        if let (true, Some(event_id)) = (takes_event_id, &self.event_id) {
            request = request.header(Header::shared("eventId", event_id));
        }
        request
    }
}

/// A [`CiamProfile`] with the secrets the login steps send: the device identity token, and the
/// optional `authToken` and `loginVerifier` of authorize. Captcha, code exchange, refresh and
/// revoke take the profile alone (a `&CiamConfig` converts to `&CiamProfile` on its own,
/// through `Deref`).
///
/// ```
/// use login_core::{ciam::CiamConfig, secret::DeviceToken};
/// let cfg = CiamConfig::new("ib-web", "https://app.example/cb", DeviceToken::new("dev"));
/// assert_eq!(cfg.profile().client_id(), "ib-web");
/// assert!(cfg.check().is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct CiamConfig {
    profile: CiamProfile,
    device_token: DeviceToken,
    /// `Authorization: Bearer <device token>`, built once and shared by every request.
    device_bearer: Header,
    auth_token: Option<FlowSecret>,
    login_verifier: Option<FlowSecret>,
}

impl CiamConfig {
    /// A configuration with the gateway routes and scope `"openid"`.
    pub fn new(
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
        device_token: DeviceToken,
    ) -> Self {
        Self::from_profile(CiamProfile::new(client_id, redirect_uri), device_token)
    }

    /// A profile and the device identity token.
    pub fn from_profile(profile: CiamProfile, device_token: DeviceToken) -> Self {
        Self {
            profile,
            device_bearer: Header::shared_bearer(device_token.expose()),
            device_token,
            auth_token: None,
            login_verifier: None,
        }
    }

    /// The non-secret part.
    pub fn profile(&self) -> &CiamProfile {
        &self.profile
    }

    /// The route set.
    pub fn routes(mut self, routes: Routes) -> Self {
        self.profile = self.profile.routes(routes);
        self
    }

    /// Scopes; sent as one space-separated string in this API.
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.profile = self.profile.scope(scopes);
        self
    }

    /// `locLatitude` and `locLongitude`, sent on every call.
    pub fn location(mut self, latitude: impl Into<String>, longitude: impl Into<String>) -> Self {
        self.profile = self.profile.location(latitude, longitude);
        self
    }

    /// `eventId`, sent on login challenge, pre-login verify and access token.
    pub fn event_id(mut self, event_id: impl Into<String>) -> Self {
        self.profile = self.profile.event_id(event_id);
        self
    }

    /// `additionalAuthentication` sent on the login challenge (only when configured).
    pub fn additional_authentication(mut self, value: impl Into<String>) -> Self {
        self.profile = self.profile.additional_authentication(value);
        self
    }

    /// Which success statuses are accepted.
    pub fn success_status(mut self, success: SuccessStatus) -> Self {
        self.profile = self.profile.success_status(success);
        self
    }

    /// How requests send `scope` (see [`CiamProfile::scope_form`]).
    pub fn scope_form(mut self, form: ScopeForm) -> Self {
        self.profile = self.profile.scope_form(form);
        self
    }

    /// What the expiry numbers count (see [`CiamProfile::expiry`]).
    pub fn expiry(mut self, form: ExpiryForm) -> Self {
        self.profile = self.profile.expiry(form);
        self
    }

    /// The captcha call's header (see [`CiamProfile::captcha_header`]).
    pub fn captcha_header(mut self, name: HeaderName) -> Self {
        self.profile = self.profile.captcha_header(name);
        self
    }

    /// The credential envelope's names and algorithm (see [`CiamProfile::envelope`]).
    pub fn envelope(mut self, envelope: Envelope) -> Self {
        self.profile = self.profile.envelope(envelope);
        self
    }

    /// `authToken` sent on authorize (only when configured).
    pub fn authorize_auth_token(mut self, token: FlowSecret) -> Self {
        self.auth_token = Some(token);
        self
    }

    /// `loginVerifier` sent on authorize (only when configured).
    pub fn login_verifier(mut self, verifier: FlowSecret) -> Self {
        self.login_verifier = Some(verifier);
        self
    }

    /// Checks the values that go into headers (device token, location, event id): they must be
    /// visible ASCII, so no configuration can split a header. `Flow::begin` calls it before
    /// every step.
    ///
    /// # Errors
    /// [`ConfigError::HeaderValue`](crate::error::ConfigError::HeaderValue) naming the first
    /// value that is not.
    pub fn check(&self) -> Result<(), crate::Error> {
        let device = std::iter::once(("device token", self.device_token.expose()));
        check_header_values(device.chain(self.profile.header_values()))
    }

    pub(crate) fn auth_token(&self) -> Option<&FlowSecret> {
        self.auth_token.as_ref()
    }

    pub(crate) fn login_verifier_value(&self) -> Option<&FlowSecret> {
        self.login_verifier.as_ref()
    }

    /// `Authorization: Bearer <device identity token>`.
    pub(crate) fn device_bearer(&self) -> Header {
        self.device_bearer.clone()
    }
}

fn check_header_values<'a>(
    mut values: impl Iterator<Item = (&'static str, &'a str)>,
) -> Result<(), crate::Error> {
    match values.find(|(_, value)| !crate::wire::is_header_safe(value)) {
        Some((what, _)) => Err(crate::error::ConfigError::HeaderValue { what }.into()),
        None => Ok(()),
    }
}

impl std::ops::Deref for CiamConfig {
    type Target = CiamProfile;

    fn deref(&self) -> &CiamProfile {
        &self.profile
    }
}

pub(crate) fn bearer(token: &str) -> Header {
    Header::bearer(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The route names are the serialized form's keys, so a name given to `step_named` is the
    /// key a profile's `routes` takes.
    #[test]
    fn route_names_are_the_serialized_keys() {
        let json = serde_json::to_value(Routes::gateway()).expect("routes serialize");
        let mut keys: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut names = ROUTE_NAMES.to_vec();
        names.sort_unstable();
        assert_eq!(keys, names);
        for step in ROUTE_STEPS {
            let name = Routes::name_of(step).expect("a ciam step");
            assert_eq!(Routes::step_named(name), Some(step));
            let moved = Routes::gateway().with(step, "/moved");
            assert_eq!(
                serde_json::to_value(&moved).expect("serializes")[name],
                "/moved"
            );
        }
    }
}
