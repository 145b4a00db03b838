//! The wire contract (`shared/wire-contract.md`) as the tests use it: routes, the contract
//! headers and body fields of each step (from `login_core::contract`, the contract as data,
//! which the engine's states never read), the constants they carry, and a checker for request
//! descriptions.

use std::collections::BTreeSet;

use login_core::Request;
use login_core::ciam::{CiamConfig, Routes};
use login_core::contract::{self, HeaderWhen, JsonType, Presence};
use login_core::realm::RealmConfig;
use login_core::secret::{ClientSecret, DeviceToken, FlowSecret};
use login_core::table::StepId;
use serde_json::{Map, Value};

use super::oracle::{CFG_AUTH_TOKEN, CFG_LOGIN_VERIFIER, CLIENT_SECRET, DEVICE_TOKEN};

pub const USERNAME: &str = "alice";
pub const REALM_ID: &str = "cap";
pub const REALM_CLIENT_ID: &str = "cap-mobile";
pub const CIAM_CLIENT_ID: &str = "ib-web";
pub const REDIRECT_URI: &str = "https://app.example/cb";

/// Which internet-banking route set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteSet {
    Gateway,
    Service,
}

/// The contract's gateway routes (login-core's contract data, written out literally there).
pub const GATEWAY: [(StepId, &str); 7] = contract::GATEWAY_ROUTES;

/// The contract's service routes (captcha: "same as gateway unless overridden").
pub const SERVICE: [(StepId, &str); 7] = contract::SERVICE_ROUTES;

/// The settings of both APIs under test (routes, optional headers and fields, scopes): the
/// engine's configurations are made from them, and so is what the contract then demands.
#[derive(Clone, Debug)]
pub struct Settings {
    pub routes: RouteSet,
    pub overrides: Vec<(StepId, &'static str)>,
    pub location: Option<(&'static str, &'static str)>,
    pub event_id: Option<&'static str>,
    pub authorize_extras: bool,
    pub additional_authentication: Option<&'static str>,
    pub realm_scope: Vec<&'static str>,
    pub ciam_scope: Vec<&'static str>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            routes: RouteSet::Gateway,
            overrides: Vec::new(),
            location: None,
            event_id: None,
            authorize_extras: false,
            additional_authentication: None,
            realm_scope: vec!["openid"],
            ciam_scope: vec!["openid"],
        }
    }
}

impl Settings {
    /// Everything optional switched on, on the service routes with one override.
    pub fn everything() -> Self {
        Self {
            routes: RouteSet::Service,
            overrides: vec![(StepId::CiamCaptcha, "/ciamauthsrvc/captcha")],
            location: Some(("13.7563", "100.5018")),
            event_id: Some("evt-42"),
            authorize_extras: true,
            additional_authentication: Some("OTP"),
            realm_scope: vec!["openid", "profile", "offline_access"],
            ciam_scope: vec!["openid", "accounts"],
        }
    }

    /// A few settings covering both route sets and every optional header and field on and off.
    pub fn variants() -> Vec<Settings> {
        vec![
            Settings::default(),
            Settings::everything(),
            Settings {
                location: Some(("-33.8688", "151.2093")),
                ..Settings::default()
            },
            Settings {
                routes: RouteSet::Service,
                event_id: Some("e-1"),
                ..Settings::default()
            },
            Settings {
                overrides: vec![
                    (StepId::CiamAuthorize, "/custom/authorize"),
                    (StepId::CiamRefresh, "/custom/refresh"),
                ],
                authorize_extras: true,
                ..Settings::default()
            },
        ]
    }

    pub fn realm_config(&self) -> RealmConfig {
        RealmConfig::new(REALM_ID, REALM_CLIENT_ID, ClientSecret::new(CLIENT_SECRET))
            .scope(self.realm_scope.iter().copied())
    }

    pub fn ciam_config(&self) -> CiamConfig {
        let mut routes = match self.routes {
            RouteSet::Gateway => Routes::gateway(),
            RouteSet::Service => Routes::service(),
        };
        for (step, path) in &self.overrides {
            routes = routes.with(*step, *path);
        }
        let mut cfg = CiamConfig::new(CIAM_CLIENT_ID, REDIRECT_URI, DeviceToken::new(DEVICE_TOKEN))
            .routes(routes)
            .scope(self.ciam_scope.iter().copied());
        if let Some((lat, lon)) = self.location {
            cfg = cfg.location(lat, lon);
        }
        if let Some(e) = self.event_id {
            cfg = cfg.event_id(e);
        }
        if self.authorize_extras {
            cfg = cfg
                .authorize_auth_token(FlowSecret::new(CFG_AUTH_TOKEN))
                .login_verifier(FlowSecret::new(CFG_LOGIN_VERIFIER));
        }
        if let Some(a) = self.additional_authentication {
            cfg = cfg.additional_authentication(a);
        }
        cfg
    }

    /// The contract's method and path for a step under this profile.
    pub fn route(&self, step: StepId) -> (&'static str, String) {
        let method = contract::step(step).method.as_str();
        if let Some(path) = contract::realm_path(step, REALM_ID) {
            return (method, path);
        }
        let set = match self.routes {
            RouteSet::Gateway => GATEWAY,
            RouteSet::Service => SERVICE,
        };
        let path = self
            .overrides
            .iter()
            .find(|(s, _)| *s == step)
            .map(|(_, p)| p.to_string())
            .or_else(|| {
                set.iter()
                    .find(|(s, _)| *s == step)
                    .map(|(_, p)| p.to_string())
            })
            .unwrap_or_else(|| panic!("no route for {step:?}"));
        (method, path)
    }
}

/// The headers the contract governs: present only on calls whose row lists them.
pub const CONTRACT_HEADERS: [&str; 5] = contract::CONTRACT_HEADERS;

/// A body field's JSON type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Str,
    StrArray,
}

/// The body fields of a step: (name, type, required). A field not listed must not be sent;
/// a field sent only when configured is required when these settings configure it.
pub fn body_fields(step: StepId, p: &Settings) -> Option<Vec<(&'static str, Ty, bool)>> {
    let fields = contract::step(step).request?;
    let configured = |name: &str| match name {
        "authToken" | "loginVerifier" => p.authorize_extras,
        "additionalAuthentication" => p.additional_authentication.is_some(),
        other => panic!("{other} is not a configured field"),
    };
    Some(
        fields
            .iter()
            .filter_map(|f| {
                let ty = match f.ty {
                    JsonType::String => Ty::Str,
                    JsonType::StringArray => Ty::StrArray,
                    other => panic!("{}: requests send no {}", f.name, other.as_str()),
                };
                match f.presence {
                    Presence::Required => Some((f.name, ty, true)),
                    Presence::Optional => Some((f.name, ty, false)),
                    Presence::WhenConfigured => configured(f.name).then_some((f.name, ty, true)),
                }
            })
            .collect(),
    )
}

/// Which contract headers a step's row lists under this profile.
pub fn expected_headers(step: StepId, p: &Settings) -> BTreeSet<&'static str> {
    contract::step(step)
        .headers
        .iter()
        .filter(|(name, when)| match (*name, when) {
            (_, HeaderWhen::Always) => true,
            ("locLatitude" | "locLongitude", _) => p.location.is_some(),
            ("eventId", _) => p.event_id.is_some(),
            (other, _) => panic!("{other} is not a configured header"),
        })
        .map(|(name, _)| *name)
        .collect()
}

/// What a request carried, after it passed the contract check.
#[derive(Debug, Default)]
pub struct Seen {
    pub body: Map<String, Value>,
    pub authorization: Option<String>,
    pub check_identity: Option<String>,
}

impl Seen {
    pub fn str(&self, field: &str) -> Option<&str> {
        self.body.get(field).and_then(Value::as_str)
    }
}

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a request against the contract row of its step: method, path, exactly the listed
/// contract headers with the right values, `Content-Type` exactly when there is a body, and a
/// body with the listed fields only (required present, no nulls, right JSON types) and the
/// configured constant values. Dynamic values are left to the caller (see [`Seen`]).
pub fn check_request(req: &Request, p: &Settings) -> Result<Seen, String> {
    let step = req.step();
    let (method, path) = p.route(step);
    if req.method().as_str() != method {
        return Err(format!("{step:?}: method {} != {method}", req.method()));
    }
    if req.path() != path {
        return Err(format!("{step:?}: path {} != {path}", req.path()));
    }
    let mut seen = Seen::default();

    // Headers.
    let mut names = BTreeSet::new();
    let mut contract = BTreeSet::new();
    let mut content_type = None;
    for h in req.headers() {
        // RFC 9110 §5.5: a field value holds no control characters (CR/LF would split it).
        if h.value().chars().any(|c| c.is_control() && c != '\t') {
            return Err(format!(
                "{step:?}: header {} holds a control character",
                h.name()
            ));
        }
        if !names.insert(h.name().to_ascii_lowercase()) {
            return Err(format!("{step:?}: header {} twice", h.name()));
        }
        if let Some(c) = CONTRACT_HEADERS
            .iter()
            .find(|c| c.eq_ignore_ascii_case(h.name()))
        {
            if *c != h.name() {
                return Err(format!("{step:?}: header spelled {} not {c}", h.name()));
            }
            contract.insert(*c);
        }
        match h.name() {
            "Authorization" => {
                let token = h
                    .value()
                    .strip_prefix("Bearer ")
                    .ok_or_else(|| format!("{step:?}: Authorization is not Bearer"))?;
                if token.is_empty() {
                    return Err(format!("{step:?}: empty bearer"));
                }
                if !h.is_sensitive() {
                    return Err(format!("{step:?}: Authorization not marked sensitive"));
                }
                seen.authorization = Some(token.to_owned());
            }
            "checkIdentity" => {
                if h.value().is_empty() {
                    return Err(format!("{step:?}: empty checkIdentity"));
                }
                if !h.is_sensitive() {
                    return Err(format!("{step:?}: checkIdentity not marked sensitive"));
                }
                seen.check_identity = Some(h.value().to_owned());
            }
            "locLatitude" | "locLongitude" => {
                let (lat, lon) = p.location.unwrap_or(("", ""));
                let want = if h.name() == "locLatitude" { lat } else { lon };
                if h.value() != want {
                    return Err(format!("{step:?}: {} = {}", h.name(), h.value()));
                }
            }
            "eventId" if Some(h.value()) != p.event_id => {
                return Err(format!("{step:?}: eventId = {}", h.value()));
            }
            n if n.eq_ignore_ascii_case("content-type") => content_type = Some(h.value()),
            _ => {}
        }
    }
    let want = expected_headers(step, p);
    if contract != want {
        return Err(format!(
            "{step:?}: contract headers {contract:?}, the contract lists {want:?}"
        ));
    }
    let device = [
        StepId::CiamAuthorize,
        StepId::CiamLoginChallenge,
        StepId::CiamPreLoginVerify,
    ];
    if device.contains(&step) && seen.authorization.as_deref() != Some(DEVICE_TOKEN) {
        return Err(format!("{step:?}: Authorization is not the device token"));
    }

    // Body.
    let fields = body_fields(step, p);
    match (fields, req.body()) {
        (None, None) => {
            if content_type.is_some() {
                return Err(format!("{step:?}: Content-Type without a body"));
            }
            if method != "GET" {
                return Err(format!("{step:?}: no body on {method}"));
            }
        }
        (None, Some(_)) => return Err(format!("{step:?}: a body on a call without one")),
        (Some(_), None) => return Err(format!("{step:?}: no body")),
        (Some(fields), Some(body)) => {
            if content_type != Some("application/json") {
                return Err(format!("{step:?}: Content-Type {content_type:?}"));
            }
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| format!("{step:?}: body is not JSON: {e}"))?;
            let Value::Object(map) = value else {
                return Err(format!("{step:?}: body is not an object"));
            };
            for (k, v) in &map {
                let Some((_, ty, _)) = fields.iter().find(|(n, _, _)| n == k) else {
                    return Err(format!("{step:?}: field {k} is not in the contract"));
                };
                if !k.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    || !k.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    return Err(format!("{step:?}: field {k} is not camelCase"));
                }
                match (ty, v) {
                    (Ty::Str, Value::String(_)) => {}
                    (Ty::StrArray, Value::Array(items)) if items.iter().all(Value::is_string) => {}
                    _ => return Err(format!("{step:?}: field {k} has the wrong type ({v})")),
                }
            }
            for (n, _, required) in &fields {
                if *required && !map.contains_key(*n) {
                    return Err(format!("{step:?}: required field {n} missing"));
                }
            }
            seen.body = map;
            check_constants(step, p, &seen)?;
        }
    }
    Ok(seen)
}

fn check_constants(step: StepId, p: &Settings, seen: &Seen) -> Result<(), String> {
    let expect = |field: &str, want: &str| -> Result<(), String> {
        match seen.str(field) {
            Some(v) if v == want => Ok(()),
            other => Err(format!("{step:?}: {field} = {other:?}, want {want:?}")),
        }
    };
    let ciam_scope = p.ciam_scope.join(" ");
    match step {
        StepId::RealmRequestLogin => {
            expect("clientId", REALM_CLIENT_ID)?;
            expect("clientSecret", CLIENT_SECRET)?;
        }
        StepId::RealmToken => {
            let scope: Vec<&str> = seen.body["scope"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if scope != p.realm_scope {
                return Err(format!("{step:?}: scope {scope:?}"));
            }
        }
        StepId::RealmRefresh => expect("clientId", REALM_CLIENT_ID)?,
        StepId::CiamAuthorize => {
            expect("clientId", CIAM_CLIENT_ID)?;
            expect("codeChallengeMethod", "S256")?;
            expect("scope", &ciam_scope)?;
            let challenge = seen.str("codeChallenge").unwrap_or_default();
            if challenge.len() != 43 || !is_base64url(challenge) {
                return Err(format!("{step:?}: codeChallenge {challenge:?} is not S256"));
            }
            let state = seen.str("state").unwrap_or_default();
            if state.len() < 22 || !is_base64url(state) {
                return Err(format!("{step:?}: state {state:?} is too weak"));
            }
            if p.authorize_extras {
                expect("authToken", CFG_AUTH_TOKEN)?;
                expect("loginVerifier", CFG_LOGIN_VERIFIER)?;
            }
        }
        StepId::CiamLoginChallenge => {
            let jwe = seen.str("authToken").unwrap_or_default();
            let parts: Vec<&str> = jwe.split('.').collect();
            if parts.len() != 5 || !parts[1].is_empty() || parts.iter().any(|p| !is_base64url(p)) {
                return Err(format!("{step:?}: authToken is not a compact ECDH-ES JWE"));
            }
            if let Some(a) = p.additional_authentication {
                expect("additionalAuthentication", a)?;
            }
        }
        StepId::CiamAccessToken => {
            expect("clientId", CIAM_CLIENT_ID)?;
            expect("grantType", "authorization_code")?;
            expect("redirectUri", REDIRECT_URI)?;
            expect("scope", &ciam_scope)?;
            let v = seen.str("codeVerifier").unwrap_or_default();
            if !(43..=128).contains(&v.len())
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            {
                return Err(format!("{step:?}: codeVerifier breaks RFC 7636 §4.1"));
            }
        }
        StepId::CiamRevoke => expect("clientId", CIAM_CLIENT_ID)?,
        StepId::CiamRefresh => {
            expect("clientId", CIAM_CLIENT_ID)?;
            expect("grantType", "refresh_token")?;
            expect("scope", &ciam_scope)?;
        }
        _ => {}
    }
    Ok(())
}

/// A request as comparable data (method, path, headers with values, body bytes).
pub type Fingerprint = (String, String, Vec<(String, String)>, Option<Vec<u8>>);

pub fn fingerprint(req: &Request) -> Fingerprint {
    (
        req.method().as_str().to_owned(),
        req.path().to_owned(),
        req.headers()
            .iter()
            .map(|h| (h.name().to_owned(), h.value().to_owned()))
            .collect(),
        req.body().map(<[u8]>::to_vec),
    )
}
