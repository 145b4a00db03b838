//! Shared test helpers: canary values, an independent JWE opener, the wire contract written out
//! as data and a checker for request descriptions, and a small driver that runs any flow through
//! one uniform interface (so exploration, property walks and canary sweeps share one path).
//!
//! Nothing here reuses login-core's own paths, body builders or crypto to decide what is right:
//! the contract's paths, fields and headers are written out literally from
//! `shared/wire-contract.md`, and the envelope is opened with RustCrypto p256/aes-gcm/sha2.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use login_core::ciam::{self, CiamConfig, Routes};
use login_core::entropy::DeterministicEntropy;
use login_core::realm::{self, RealmConfig};
use login_core::seal::JweSealer;
use login_core::secret::{CaptchaAnswer, ClientSecret, DeviceToken, FlowSecret, Otp, Password};
use login_core::table::{Api, StateId, StepId};
use login_core::{
    Error, Failed, Flow, Pending, Request, Response, Step, TransportError, TransportErrorKind,
    forgot,
};
use p256::{PublicKey, SecretKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// Canaries: every secret the tests hand in or a fake server hands out starts with `MARK`, and
// nothing that is not a secret does, so "no secret in Debug" is "no MARK in Debug".

/// The prefix of every canary.
pub const MARK: &str = "CANARY";
pub const USERNAME: &str = "alice";
pub const PASSWORD: &str = "CANARY-PW-91f2";
pub const NEW_PASSWORD: &str = "CANARY-NEWPW-3c1d";
pub const CLIENT_SECRET: &str = "CANARY-CS-7a0e";
pub const OTP: &str = "CANARY-OTP-52b8";
pub const DEVICE_TOKEN: &str = "CANARY-DEV-e4a9";
pub const CAPTCHA_ANSWER: &str = "CANARY-CAPANS-0d77";
pub const CFG_AUTH_TOKEN: &str = "CANARY-CFGAT-19c4";
pub const CFG_LOGIN_VERIFIER: &str = "CANARY-CFGLV-8e21";
// Prefixes of server-issued secrets (a counter is appended so each reply is distinct).
pub const ACCESS: &str = "CANARY-AT";
pub const REFRESH: &str = "CANARY-RT";
pub const REQ_ID: &str = "CANARY-REQ";
pub const RESET_REQ_ID: &str = "CANARY-RREQ";
pub const TICKET: &str = "CANARY-TICKET";
pub const LOGIN_CHALLENGE: &str = "CANARY-LC";
pub const AUTH_TOKEN: &str = "CANARY-AUTHTOK";
pub const CODE: &str = "CANARY-CODE";
pub const TOKEN: &str = "CANARY-LCTOKEN";
pub const MFA: &str = "CANARY-MFA";

pub const REALM_ID: &str = "cap";
pub const REALM_CLIENT_ID: &str = "cap-mobile";
pub const CIAM_CLIENT_ID: &str = "ib-web";
pub const REDIRECT_URI: &str = "https://app.example/cb";

/// A fixed receipt instant so expiries are reproducible.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

/// Asserts that none of `texts` holds a canary or any of `extra` secrets.
pub fn assert_no_secret(what: &str, text: &str, extra: &[String]) {
    assert!(!text.contains(MARK), "{what} leaks a canary: {text}");
    for secret in extra {
        assert!(
            secret.is_empty() || !text.contains(secret.as_str()),
            "{what} leaks a secret value: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The recipient key and an independent JWE opener (RustCrypto; nothing of login-core's sealer).

fn recipient() -> &'static (SecretKey, String) {
    static KEY: OnceLock<(SecretKey, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let secret = SecretKey::from_bytes(&[0x5au8; 32].into()).expect("a valid P-256 scalar");
        let jwk = secret.public_key().to_jwk_string();
        (secret, jwk)
    })
}

/// The server's public key as a JWK.
pub fn server_jwk() -> &'static str {
    &recipient().1
}

pub fn sealer() -> JweSealer {
    JweSealer::from_jwk(server_jwk()).expect("the test JWK is valid")
}

fn b64(part: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| format!("base64url: {e}"))
}

/// Concat KDF for ECDH-ES direct with A256GCM (RFC 7518 §4.6.2), written from the RFC.
fn kdf(z: &[u8], apu: &[u8], apv: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(1u32.to_be_bytes());
    h.update(z);
    for part in [&b"A256GCM"[..], apu, apv] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    h.update(256u32.to_be_bytes());
    h.finalize().into()
}

/// Opens a compact JWE (ECDH-ES + A256GCM) to the test recipient, strictly.
pub fn open_jwe(jwe: &str) -> Result<Vec<u8>, String> {
    let parts: Vec<&str> = jwe.split('.').collect();
    let [header_b64, encrypted_key, iv, ciphertext, tag] = parts[..] else {
        return Err(format!("{} parts", parts.len()));
    };
    if !encrypted_key.is_empty() {
        return Err("ECDH-ES direct has an empty encrypted key".into());
    }
    let header: Value =
        serde_json::from_slice(&b64(header_b64)?).map_err(|e| format!("header json: {e}"))?;
    if header["alg"] != "ECDH-ES" || header["enc"] != "A256GCM" {
        return Err(format!("unexpected alg/enc in {header}"));
    }
    let epk = serde_json::to_string(&header["epk"]).map_err(|e| e.to_string())?;
    let epk = PublicKey::from_jwk_str(&epk).map_err(|_| "epk is not a P-256 point".to_string())?;
    let field = |name: &str| -> Result<Vec<u8>, String> {
        header
            .get(name)
            .and_then(Value::as_str)
            .map(b64)
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let (apu, apv) = (field("apu")?, field("apv")?);
    let shared = p256::ecdh::diffie_hellman(recipient().0.to_nonzero_scalar(), epk.as_affine());
    let cek = kdf(shared.raw_secret_bytes(), &apu, &apv);
    let iv: [u8; 12] = b64(iv)?
        .try_into()
        .map_err(|v: Vec<u8>| format!("iv of {} bytes", v.len()))?;
    let tag = b64(tag)?;
    if tag.len() != 16 {
        return Err(format!("tag of {} bytes", tag.len()));
    }
    let mut msg = b64(ciphertext)?;
    msg.extend_from_slice(&tag);
    Aes256Gcm::new_from_slice(&cek)
        .map_err(|e| e.to_string())?
        .decrypt(
            &Nonce::from(iv),
            Payload {
                msg: &msg,
                aad: header_b64.as_bytes(),
            },
        )
        .map_err(|_| "authentication failed".to_string())
}

/// base64url(SHA-256(verifier)) without padding, computed with RustCrypto's sha2.
pub fn independent_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// Configuration profiles: one description from which the engine's configs and the contract
// expectations are both made.

/// Which internet-banking route set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteSet {
    Gateway,
    Service,
}

/// The contract's gateway routes, literally.
pub const GATEWAY: [(StepId, &str); 7] = [
    (StepId::CiamAuthorize, "/api/v1/authorize"),
    (StepId::CiamCaptcha, "/api/v1/captcha"),
    (StepId::CiamLoginChallenge, "/api/v1/login-challenge"),
    (StepId::CiamPreLoginVerify, "/api/v1/pre-login-verify"),
    (StepId::CiamAccessToken, "/api/v1/access-token"),
    (StepId::CiamRevoke, "/api/v1/revoke-token"),
    (StepId::CiamRefresh, "/api/v1/refresh-token"),
];

/// The contract's service routes, literally (captcha: "same as gateway unless overridden").
pub const SERVICE: [(StepId, &str); 7] = [
    (
        StepId::CiamAuthorize,
        "/ciamauthsrvc/internetBanking/oauth/authorize",
    ),
    (StepId::CiamCaptcha, "/api/v1/captcha"),
    (
        StepId::CiamLoginChallenge,
        "/ciamauthsrvc/internetBanking/oauth/acceptLoginChallenge",
    ),
    (
        StepId::CiamPreLoginVerify,
        "/ciamauthsrvc/auth/mfa/prelogin/verify",
    ),
    (
        StepId::CiamAccessToken,
        "/ciamauthsrvc/internetBanking/oauth/accessToken",
    ),
    (
        StepId::CiamRevoke,
        "/ciamauthsrvc/internetBanking/oauth/revoke",
    ),
    (
        StepId::CiamRefresh,
        "/ciamauthsrvc/internetBanking/oauth/accessToken/refresh",
    ),
];

/// A configuration of both APIs, and what the contract then demands.
#[derive(Clone, Debug)]
pub struct Profile {
    pub routes: RouteSet,
    pub overrides: Vec<(StepId, &'static str)>,
    pub location: Option<(&'static str, &'static str)>,
    pub event_id: Option<&'static str>,
    pub authorize_extras: bool,
    pub additional_authentication: Option<&'static str>,
    pub realm_scope: Vec<&'static str>,
    pub ciam_scope: Vec<&'static str>,
}

impl Default for Profile {
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

impl Profile {
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

    /// A few profiles covering both route sets and every optional header and field on and off.
    pub fn variants() -> Vec<Profile> {
        vec![
            Profile::default(),
            Profile::everything(),
            Profile {
                location: Some(("-33.8688", "151.2093")),
                ..Profile::default()
            },
            Profile {
                routes: RouteSet::Service,
                event_id: Some("e-1"),
                ..Profile::default()
            },
            Profile {
                overrides: vec![
                    (StepId::CiamAuthorize, "/custom/authorize"),
                    (StepId::CiamRefresh, "/custom/refresh"),
                ],
                authorize_extras: true,
                ..Profile::default()
            },
        ]
    }

    pub fn realm_config(&self) -> RealmConfig {
        RealmConfig::new(REALM_ID, REALM_CLIENT_ID, ClientSecret::new(CLIENT_SECRET))
            .scope(self.realm_scope.iter().map(|s| s.to_string()).collect())
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
        let realm = |p: &str| p.replace("{realmId}", REALM_ID);
        match step {
            StepId::RealmRequestLogin => ("POST", realm("/auth/realm/{realmId}/request")),
            StepId::RealmToken => ("POST", realm("/auth/realm/{realmId}/token")),
            StepId::RealmRefresh => ("PATCH", realm("/auth/realm/{realmId}/token")),
            StepId::ResetRequest => ("POST", realm("/realm/admin/{realmId}/user/forgotPassword")),
            StepId::ResetVerifyOtp => ("POST", realm("/realm/admin/{realmId}/user/verifyOtp")),
            StepId::ResetPassword => ("POST", realm("/realm/admin/{realmId}/user/resetPassword")),
            other => {
                let set = match self.routes {
                    RouteSet::Gateway => GATEWAY,
                    RouteSet::Service => SERVICE,
                };
                let path = self
                    .overrides
                    .iter()
                    .find(|(s, _)| *s == other)
                    .map(|(_, p)| p.to_string())
                    .or_else(|| {
                        set.iter()
                            .find(|(s, _)| *s == other)
                            .map(|(_, p)| p.to_string())
                    })
                    .unwrap_or_else(|| panic!("no route for {other:?}"));
                let method = if other == StepId::CiamCaptcha {
                    "GET"
                } else {
                    "POST"
                };
                (method, path)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The contract as data: headers and body fields per step.

/// The headers the contract governs: present only on calls whose row lists them.
pub const CONTRACT_HEADERS: [&str; 5] = [
    "Authorization",
    "checkIdentity",
    "locLatitude",
    "locLongitude",
    "eventId",
];

/// A body field's JSON type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Str,
    StrArray,
}

/// The body fields of a step: (name, type, required). A field not listed must not be sent.
pub fn body_fields(step: StepId, p: &Profile) -> Option<Vec<(&'static str, Ty, bool)>> {
    use Ty::*;
    let s = |n| (n, Str, true);
    let opt = |n| (n, Str, false);
    Some(match step {
        StepId::RealmRequestLogin => vec![
            s("username"),
            s("password"),
            s("clientId"),
            s("clientSecret"),
        ],
        StepId::RealmToken => vec![
            s("reqId"),
            opt("refId"),
            opt("otp"),
            ("scope", StrArray, true),
        ],
        StepId::RealmRefresh => vec![s("clientId"), s("refreshToken")],
        StepId::ResetRequest => vec![s("username")],
        StepId::ResetVerifyOtp => vec![s("otp"), s("reqId"), s("refId"), s("username")],
        StepId::ResetPassword => vec![s("newPassword")],
        StepId::CiamAuthorize => {
            let mut f = vec![
                s("clientId"),
                s("codeChallenge"),
                s("codeChallengeMethod"),
                s("scope"),
                s("state"),
            ];
            if p.authorize_extras {
                f.extend([s("authToken"), s("loginVerifier")]);
            }
            f
        }
        StepId::CiamCaptcha => return None,
        StepId::CiamLoginChallenge => {
            let mut f = vec![s("loginChallenge"), s("authToken")];
            if p.additional_authentication.is_some() {
                f.push(s("additionalAuthentication"));
            }
            f
        }
        StepId::CiamPreLoginVerify => vec![s("consentOtp"), s("mfaChallenge")],
        StepId::CiamAccessToken => vec![
            s("clientId"),
            s("code"),
            s("codeVerifier"),
            s("grantType"),
            s("redirectUri"),
            s("scope"),
            s("state"),
        ],
        StepId::CiamRevoke => vec![s("clientId")],
        StepId::CiamRefresh => vec![s("clientId"), s("grantType"), s("refreshToken"), s("scope")],
        other => panic!("{other:?} sends no request"),
    })
}

/// Which contract headers a step's row lists under this profile.
pub fn expected_headers(step: StepId, p: &Profile) -> BTreeSet<&'static str> {
    let mut h = BTreeSet::new();
    let ciam = step.api() == Api::Ciam;
    match step {
        StepId::ResetPassword
        | StepId::CiamAuthorize
        | StepId::CiamLoginChallenge
        | StepId::CiamPreLoginVerify
        | StepId::CiamAccessToken
        | StepId::CiamRevoke => {
            h.insert("Authorization");
        }
        StepId::CiamCaptcha => {
            h.insert("checkIdentity");
        }
        _ => {}
    }
    if ciam && p.location.is_some() {
        h.insert("locLatitude");
        h.insert("locLongitude");
    }
    if p.event_id.is_some()
        && matches!(
            step,
            StepId::CiamLoginChallenge | StepId::CiamPreLoginVerify | StepId::CiamAccessToken
        )
    {
        h.insert("eventId");
    }
    h
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
pub fn check_request(req: &Request, p: &Profile) -> Result<Seen, String> {
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

fn check_constants(step: StepId, p: &Profile, seen: &Seen) -> Result<(), String> {
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

// ---------------------------------------------------------------------------------------------
// A uniform driver over every state and transition.

/// A transition method of some state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Act {
    RequestLogin,
    RealmExchange,
    RealmOtp,
    RealmRefresh,
    RealmRevoke,
    ResetRequest,
    ResetVerify,
    ResetPassword,
    Authorize,
    Captcha,
    Submit,
    CiamVerify,
    CiamExchange,
    CiamRefresh,
    CiamRevoke,
}

impl Act {
    /// The table's step for this method.
    pub fn step(self) -> StepId {
        match self {
            Act::RequestLogin => StepId::RealmRequestLogin,
            Act::RealmExchange | Act::RealmOtp => StepId::RealmToken,
            Act::RealmRefresh => StepId::RealmRefresh,
            Act::RealmRevoke => StepId::RealmRevoke,
            Act::ResetRequest => StepId::ResetRequest,
            Act::ResetVerify => StepId::ResetVerifyOtp,
            Act::ResetPassword => StepId::ResetPassword,
            Act::Authorize => StepId::CiamAuthorize,
            Act::Captcha => StepId::CiamCaptcha,
            Act::Submit => StepId::CiamLoginChallenge,
            Act::CiamVerify => StepId::CiamPreLoginVerify,
            Act::CiamExchange => StepId::CiamAccessToken,
            Act::CiamRefresh => StepId::CiamRefresh,
            Act::CiamRevoke => StepId::CiamRevoke,
        }
    }
}

/// The transition methods a state offers (what its type has, written out by hand).
pub fn legal(flow: &Flow) -> Vec<Act> {
    match (flow.api(), flow.state_id()) {
        (Api::Realm, StateId::Start) => vec![Act::RequestLogin],
        (Api::Realm, StateId::Challenged) => vec![Act::RealmExchange],
        (Api::Realm, StateId::MfaPending) => vec![Act::RealmOtp],
        (Api::Realm, StateId::Tokened) => vec![Act::RealmRefresh, Act::RealmRevoke],
        (Api::ForgotPassword, StateId::ResetStart) => vec![Act::ResetRequest],
        (Api::ForgotPassword, StateId::OtpSent) => vec![Act::ResetVerify],
        (Api::ForgotPassword, StateId::Verified) => vec![Act::ResetPassword],
        (Api::Ciam, StateId::Start) => vec![Act::Authorize],
        (Api::Ciam, StateId::Authorized) => vec![Act::Captcha, Act::Submit],
        (Api::Ciam, StateId::Challenged) => vec![Act::CiamExchange],
        (Api::Ciam, StateId::MfaPending) => vec![Act::CiamVerify],
        (Api::Ciam, StateId::Tokened) => vec![Act::CiamRefresh, Act::CiamRevoke],
        _ => vec![],
    }
}

/// Everything a flow needs besides its state.
pub struct Env {
    pub profile: Profile,
    pub realm: RealmConfig,
    pub ciam: CiamConfig,
    pub sealer: JweSealer,
    pub entropy: DeterministicEntropy,
    pub now: SystemTime,
}

impl Env {
    pub fn new(profile: Profile, seed: u64) -> Self {
        Self {
            realm: profile.realm_config(),
            ciam: profile.ciam_config(),
            profile,
            sealer: sealer(),
            entropy: DeterministicEntropy::new(seed),
            now: t0(),
        }
    }

    /// An identical, independent copy (same configs, same entropy position, same clock).
    pub fn fork(&self) -> Env {
        Env {
            profile: self.profile.clone(),
            realm: self.realm.clone(),
            ciam: self.ciam.clone(),
            sealer: self.sealer.clone(),
            entropy: self.entropy.clone(),
            now: self.now,
        }
    }

    /// A fresh flow of an API at its start.
    pub fn start(&mut self, api: Api) -> Flow {
        match api {
            Api::Realm => Flow::from(realm::Start::new(USERNAME, Password::new(PASSWORD))),
            Api::Ciam => Flow::from(ciam::Start::new(&mut self.entropy).expect("entropy")),
            Api::ForgotPassword => Flow::from(forgot::Start::new(USERNAME)),
            other => panic!("unknown api {other:?}"),
        }
    }
}

/// User input for a transition.
#[derive(Clone, Debug)]
pub struct Inputs {
    pub otp: String,
    pub new_password: String,
    /// Whether the credentials carry a captcha answer.
    pub captcha_answer: bool,
}

impl Default for Inputs {
    fn default() -> Self {
        Self {
            otp: OTP.to_owned(),
            new_password: NEW_PASSWORD.to_owned(),
            captcha_answer: true,
        }
    }
}

/// What the feed into a pending step is.
pub enum Feed {
    Response(Response, SystemTime),
    Fail(TransportError),
}

/// The result of a step, with the `Debug`/`Display` texts of what the engine returned.
pub struct Done {
    /// `Debug` of the raw `Result<Next, Failed<State>>` and of the error.
    pub debug: String,
    /// `Display` of the failure, when there was one.
    pub display: Option<String>,
    pub result: Result<Flow, (Error, Option<Flow>)>,
}

/// Any in-flight step, type-erased.
pub struct AnyPending {
    pub step: StepId,
    pub debug: String,
    run: Box<dyn FnOnce(Feed) -> Done>,
}

impl AnyPending {
    pub fn receive(self, response: Response, now: SystemTime) -> Done {
        (self.run)(Feed::Response(response, now))
    }

    pub fn fail(self, error: TransportError) -> Done {
        (self.run)(Feed::Fail(error))
    }
}

fn finish<N: Debug, S>(r: Result<N, Failed<S>>, ok: fn(N) -> Flow, back: fn(S) -> Flow) -> Done {
    match r {
        Ok(n) => Done {
            debug: format!("{n:?}"),
            display: None,
            result: Ok(ok(n)),
        },
        Err(f) => {
            let debug = format!("{f:?} {:?}", f.error);
            let display = Some(format!("{f} / {}", f.error));
            Done {
                debug,
                display,
                result: Err((f.error, f.state.map(back))),
            }
        }
    }
}

fn pend<S: Step + 'static>(
    p: Pending<S>,
    ok: fn(S::Next) -> Flow,
    back: fn(S::State) -> Flow,
) -> AnyPending
where
    S::Next: Debug,
{
    AnyPending {
        step: p.step(),
        debug: format!("{p:?}"),
        run: Box::new(move |feed| {
            let r = match feed {
                Feed::Response(resp, now) => p.receive(&resp, now),
                Feed::Fail(e) => Err(p.fail(e)),
            };
            finish(r, ok, back)
        }),
    }
}

fn login_started(n: realm::LoginStarted) -> Flow {
    match n {
        realm::LoginStarted::Challenged(c) => Flow::from(c),
        realm::LoginStarted::MfaPending(m) => Flow::from(m),
        other => panic!("unknown outcome {other:?}"),
    }
}

fn login_outcome(n: ciam::LoginOutcome) -> Flow {
    match n {
        ciam::LoginOutcome::Challenged(c) => Flow::from(c),
        ciam::LoginOutcome::MfaPending(m) => Flow::from(m),
        other => panic!("unknown outcome {other:?}"),
    }
}

pub fn realm_revoked(r: realm::Revoked) -> Flow {
    Flow::Realm(realm::State::Revoked(r))
}

pub fn ciam_revoked(r: ciam::Revoked) -> Flow {
    Flow::Ciam(ciam::State::Revoked(r))
}

/// How a transition method started.
pub enum Begun {
    /// A local transition (realm revoke): the next state, and its `Debug`.
    Local(Flow),
    /// A request to send and the step awaiting its response.
    Sent(Request, AnyPending),
    /// Refused before sending (the login challenge with a captcha but no answer, a seal
    /// failure): the error, its texts, and the state given back.
    Refused(Done),
}

/// Calls transition method `act` on `flow`. Panics when `act` is not legal there (the caller
/// picks from [`legal`]).
pub fn begin(flow: Flow, act: Act, env: &mut Env, inputs: &Inputs) -> Begun {
    use Flow as F;
    let sent = |(r, p)| Begun::Sent(r, p);
    match (flow, act) {
        (F::Realm(realm::State::Start(s)), Act::RequestLogin) => {
            let (r, p) = s.request_login(&env.realm);
            sent((r, pend(p, login_started, Flow::from)))
        }
        (F::Realm(realm::State::Challenged(s)), Act::RealmExchange) => {
            let (r, p) = s.exchange(&env.realm);
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::Realm(realm::State::MfaPending(s)), Act::RealmOtp) => {
            let (r, p) = s.submit_otp(&env.realm, Otp::new(inputs.otp.clone()));
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::Realm(realm::State::Tokened(s)), Act::RealmRefresh) => {
            let (r, p) = s.refresh(&env.realm);
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::Realm(realm::State::Tokened(s)), Act::RealmRevoke) => {
            Begun::Local(realm_revoked(s.revoke()))
        }
        (F::ForgotPassword(forgot::State::Start(s)), Act::ResetRequest) => {
            let (r, p) = s.request_reset(&env.realm);
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::ForgotPassword(forgot::State::OtpSent(s)), Act::ResetVerify) => {
            let (r, p) = s.verify(&env.realm, Otp::new(inputs.otp.clone()));
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::ForgotPassword(forgot::State::Verified(s)), Act::ResetPassword) => {
            let (r, p) = s.reset(&env.realm, Password::new(inputs.new_password.clone()));
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::Ciam(ciam::State::Start(s)), Act::Authorize) => {
            let (r, p) = s.authorize(&env.ciam);
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::Ciam(ciam::State::Authorized(s)), Act::Captcha) => {
            let (r, p) = s.fetch_captcha(&env.ciam);
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::Ciam(ciam::State::Authorized(s)), Act::Submit) => {
            let mut creds = ciam::Credentials::new(USERNAME, Password::new(PASSWORD));
            if inputs.captcha_answer {
                creds = creds.with_captcha_answer(CaptchaAnswer::new(CAPTCHA_ANSWER));
            }
            match s.submit_credentials(&env.ciam, &env.sealer, &creds, &mut env.entropy, env.now) {
                Ok((r, p)) => sent((r, pend(p, login_outcome, Flow::from))),
                Err(f) => Begun::Refused(finish::<ciam::LoginOutcome, _>(
                    Err(f),
                    login_outcome,
                    Flow::from,
                )),
            }
        }
        (F::Ciam(ciam::State::MfaPending(s)), Act::CiamVerify) => {
            let (r, p) = s.verify(&env.ciam, Otp::new(inputs.otp.clone()));
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::Ciam(ciam::State::Challenged(s)), Act::CiamExchange) => {
            let (r, p) = s.exchange(&env.ciam);
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::Ciam(ciam::State::Tokened(s)), Act::CiamRefresh) => {
            let (r, p) = s.refresh(&env.ciam);
            sent((r, pend(p, Flow::from, Flow::from)))
        }
        (F::Ciam(ciam::State::Tokened(s)), Act::CiamRevoke) => {
            let (r, p) = s.revoke(&env.ciam);
            sent((r, pend(p, ciam_revoked, Flow::from)))
        }
        (flow, act) => panic!("{act:?} is not a method of {:?}", flow.state_id()),
    }
}

// ---------------------------------------------------------------------------------------------
// Server replies.

/// A JSON response.
pub fn json(status: u16, v: Value) -> Response {
    Response::new(status, v.to_string().into_bytes())
}

/// A token set with canary tokens numbered `n`.
pub fn token_set(n: u32) -> Value {
    serde_json::json!({
        "accessToken": format!("{ACCESS}-{n}"),
        "refreshToken": format!("{REFRESH}-{n}"),
        "expires": 300,
        "refreshExpires": 1800.5,
        "scope": "openid",
        "sessionState": "sess-1",
        "tokenType": "Bearer",
        "redirectUrl": "https://app.example/home",
        "unknownField": {"nested": [1, 2.5, null]}
    })
}

/// One success reply per branch of a step (values numbered `n`), with the table's branch label.
pub fn success_replies(act: Act, n: u32) -> Vec<(&'static str, Response)> {
    use serde_json::json as j;
    match act {
        Act::RequestLogin => vec![
            (
                "mfa none",
                json(
                    201,
                    j!({"reqId": format!("{REQ_ID}-{n}"), "exp": 300, "mfa": "none"}),
                ),
            ),
            (
                "mfa otp",
                json(
                    201,
                    j!({"reqId": format!("{REQ_ID}-{n}"), "exp": 300.5, "mfa": "otp", "refId": "R-7"}),
                ),
            ),
            (
                "mfa otp",
                json(201, j!({"reqId": format!("{REQ_ID}-{n}"), "mfa": "otp"})),
            ),
        ],
        Act::RealmExchange => vec![("", json(201, token_set(n)))],
        Act::RealmOtp => vec![("with otp", json(201, token_set(n)))],
        Act::RealmRefresh | Act::CiamRefresh => vec![("", json(200, token_set(n)))],
        Act::CiamExchange => vec![("", json(200, token_set(n)))],
        Act::RealmRevoke => vec![],
        Act::ResetRequest => vec![(
            "",
            json(
                201,
                j!({"reqId": format!("{RESET_REQ_ID}-{n}"), "refId": "RR-1"}),
            ),
        )],
        Act::ResetVerify => vec![(
            "",
            json(201, j!({"reqId": format!("{TICKET}-{n}"), "refId": "RR-1"})),
        )],
        Act::ResetPassword => vec![
            ("", json(200, j!({"success": true}))),
            ("", Response::new(200, Vec::new())),
        ],
        Act::Authorize => vec![(
            "",
            json(
                200,
                j!({"loginChallenge": format!("{LOGIN_CHALLENGE}-{n}"), "authToken": format!("{AUTH_TOKEN}-{n}")}),
            ),
        )],
        Act::Captcha => vec![(
            "",
            json(
                200,
                j!({"captchaId": format!("cap-{n}"), "image": "iVBORw0KGgo="}),
            ),
        )],
        Act::Submit => vec![
            (
                "no anomaly",
                json(
                    200,
                    j!({"code": format!("{CODE}-{n}"), "token": format!("{TOKEN}-{n}")}),
                ),
            ),
            (
                "anomaly: 2FA",
                json(
                    200,
                    j!({"mfaChallenge": format!("{MFA}-{n}"), "channel": "sms", "refId": "R-9"}),
                ),
            ),
        ],
        Act::CiamVerify => vec![(
            "",
            json(
                200,
                j!({"code": format!("{CODE}-v{n}"), "token": format!("{TOKEN}-v{n}")}),
            ),
        )],
        Act::CiamRevoke => vec![
            ("", json(200, j!({"success": true}))),
            ("", Response::new(200, Vec::new())),
        ],
    }
}

/// Every error status and code of the contract, and the other classes: 3xx, 418, 1xx, a 2xx
/// the policy may refuse, with JSON, HTML, empty and garbage bodies.
pub fn error_replies() -> Vec<Response> {
    let coded = |status: u16, code: &str| {
        json(
            status,
            serde_json::json!({"error": code, "message": format!("server says {code}")}),
        )
    };
    let mut out = vec![
        coded(400, "invalid_captcha"),
        coded(400, "captcha_required"),
        coded(400, "invalid_request"),
        coded(401, "invalid_credentials"),
        coded(401, "invalid_otp"),
        coded(401, "invalid_token"),
        coded(403, "forbidden"),
        coded(404, "expired"),
        coded(404, "not_found"),
        coded(423, "locked"),
        coded(429, "rate_limited").with_header("Retry-After", "3"),
        coded(429, "rate_limited"),
        coded(500, "server_error"),
        Response::new(502, b"<html><body>Bad gateway</body></html>".to_vec()),
        Response::new(503, Vec::new()),
        Response::new(301, Vec::new()).with_header("Location", "https://elsewhere.example/"),
        Response::new(302, Vec::new()),
        Response::new(307, b"moved".to_vec()),
        Response::new(418, b"I'm a teapot".to_vec()),
        Response::new(100, Vec::new()),
        Response::new(401, Vec::new()),
        Response::new(404, b"<html>Not Found</html>".to_vec()),
        Response::new(400, b"{\"error\":".to_vec()),
        Response::new(401, br#"{"error":17,"message":["x"]}"#.to_vec()),
        Response::new(599, b"\xff\xfe\x00garbage".to_vec()),
    ];
    out.extend(garbage_success_replies());
    out
}

/// 2xx replies whose body no step can use.
pub fn garbage_success_replies() -> Vec<Response> {
    let mut out = Vec::new();
    for status in [200u16, 201, 204] {
        for body in [
            &b"<html><body>maintenance</body></html>"[..],
            b"{\"accessToken\":\"CANARY-TRUNC",
            b"{",
            b"null",
            b"[]",
            b"42",
            b"\"text\"",
            b"\xff\xfe\x00\x01",
            br#"{"success":false}"#,
            br#"{"reqId":7,"mfa":["otp"],"accessToken":{},"loginChallenge":1.5}"#,
        ] {
            out.push(Response::new(status, body.to_vec()));
        }
    }
    out
}

/// Every kind of transport failure.
pub fn transport_failures() -> Vec<TransportError> {
    [
        TransportErrorKind::Dns,
        TransportErrorKind::Connect,
        TransportErrorKind::Timeout,
        TransportErrorKind::Reset,
        TransportErrorKind::Tls,
        TransportErrorKind::BodyTooLarge,
        TransportErrorKind::InsecureUrl,
        TransportErrorKind::Other,
    ]
    .into_iter()
    .map(|k| TransportError::new(k, "test transport failure"))
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Reaching each state by the contract's happy path.

/// Takes `act` from `flow` with its first success reply, expecting the state `to`.
pub fn advance(flow: Flow, act: Act, branch: usize, env: &mut Env, n: u32) -> Flow {
    match begin(flow, act, env, &Inputs::default()) {
        Begun::Local(next) => next,
        Begun::Sent(_, pending) => {
            let (_, reply) = success_replies(act, n).swap_remove(branch);
            match pending.receive(reply, env.now).result {
                Ok(next) => next,
                Err((e, _)) => panic!("{act:?} failed on its success reply: {e:?}"),
            }
        }
        Begun::Refused(d) => panic!("{act:?} refused: {}", d.debug),
    }
}

/// Every state of every API, reached by the contract's steps (one representative each, plus
/// ciam `Authorized` with a captcha held).
pub fn all_states(env: &mut Env) -> Vec<(&'static str, Flow)> {
    let mut out = Vec::new();
    let r0 = env.start(Api::Realm);
    out.push(("realm Start", r0.clone()));
    let rc = advance(r0.clone(), Act::RequestLogin, 0, env, 1);
    out.push(("realm Challenged", rc.clone()));
    let rm = advance(r0, Act::RequestLogin, 1, env, 2);
    out.push(("realm MfaPending", rm.clone()));
    let rt = advance(rm, Act::RealmOtp, 0, env, 3);
    out.push(("realm Tokened", rt.clone()));
    out.push(("realm Revoked", advance(rt, Act::RealmRevoke, 0, env, 4)));
    let _ = rc;

    let f0 = env.start(Api::ForgotPassword);
    out.push(("forgot Start", f0.clone()));
    let f1 = advance(f0, Act::ResetRequest, 0, env, 5);
    out.push(("forgot OtpSent", f1.clone()));
    let f2 = advance(f1, Act::ResetVerify, 0, env, 6);
    out.push(("forgot Verified", f2.clone()));
    out.push((
        "forgot PasswordReset",
        advance(f2, Act::ResetPassword, 0, env, 7),
    ));

    let c0 = env.start(Api::Ciam);
    out.push(("ciam Start", c0.clone()));
    let ca = advance(c0, Act::Authorize, 0, env, 8);
    out.push(("ciam Authorized", ca.clone()));
    let cap = advance(ca.clone(), Act::Captcha, 0, env, 9);
    out.push(("ciam Authorized+captcha", cap));
    let cc = advance(ca.clone(), Act::Submit, 0, env, 10);
    out.push(("ciam Challenged", cc));
    let cm = advance(ca, Act::Submit, 1, env, 11);
    out.push(("ciam MfaPending", cm.clone()));
    let cc2 = advance(cm, Act::CiamVerify, 0, env, 12);
    let ct = advance(cc2, Act::CiamExchange, 0, env, 13);
    out.push(("ciam Tokened", ct.clone()));
    out.push(("ciam Revoked", advance(ct, Act::CiamRevoke, 0, env, 14)));
    out
}

/// Snapshot bytes of a flow, as a Vec.
pub fn snap(flow: &Flow) -> Vec<u8> {
    flow.to_snapshot().expose().to_vec()
}

/// Which (api, state) pairs exist.
pub fn state_key(flow: &Flow) -> (Api, StateId) {
    (flow.api(), flow.state_id())
}

/// Groups for reports.
pub fn count_by<K: Ord>(items: impl IntoIterator<Item = K>) -> BTreeMap<K, usize> {
    let mut m = BTreeMap::new();
    for k in items {
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

// ---------------------------------------------------------------------------------------------
// Dynamic values: what each request must carry given the replies so far.

/// What the fake server handed out and the client sent so far, to check later requests by.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    pub req_id: Option<String>,
    pub reset_req_id: Option<String>,
    pub ticket: Option<String>,
    pub login_challenge: Option<String>,
    pub auth_token: Option<String>,
    pub code: Option<String>,
    pub token: Option<String>,
    pub mfa_challenge: Option<String>,
    /// `state`, `codeChallenge` and `scope` sent with authorize.
    pub authorize: Option<(String, String, String)>,
    /// Secrets without the canary mark (the PKCE verifier, envelopes) seen on the wire.
    pub secrets: Vec<String>,
}

fn reply_str(reply: &Response, field: &str) -> Option<String> {
    let v: Value = serde_json::from_slice(reply.body()).ok()?;
    v.get(field).and_then(Value::as_str).map(str::to_owned)
}

impl Memory {
    /// Records what a request sent that later requests must repeat.
    pub fn on_request(&mut self, act: Act, seen: &Seen) {
        match act {
            Act::Authorize => {
                let get = |f| seen.str(f).unwrap_or_default().to_owned();
                self.authorize = Some((get("state"), get("codeChallenge"), get("scope")));
            }
            Act::Submit => {
                if let Some(jwe) = seen.str("authToken") {
                    self.secrets.push(jwe.to_owned());
                }
            }
            Act::CiamExchange => {
                if let Some(v) = seen.str("codeVerifier") {
                    if !self.secrets.iter().any(|s| s == v) {
                        self.secrets.push(v.to_owned());
                    }
                }
            }
            _ => {}
        }
    }

    /// Records the values of a reply the engine accepted (it moved to `next`).
    pub fn on_success(&mut self, act: Act, reply: &Response, next: &Flow) {
        let s = |f| reply_str(reply, f);
        match act {
            Act::RequestLogin => self.req_id = s("reqId"),
            Act::ResetRequest => self.reset_req_id = s("reqId"),
            Act::ResetVerify => self.ticket = s("reqId"),
            Act::Authorize => {
                self.login_challenge = s("loginChallenge");
                self.auth_token = s("authToken");
            }
            Act::Submit | Act::CiamVerify => match next.state_id() {
                StateId::MfaPending => self.mfa_challenge = s("mfaChallenge"),
                _ => {
                    self.code = s("code");
                    self.token = s("token");
                }
            },
            _ => {}
        }
    }
}

/// The tokens of a `Tokened` flow.
pub fn tokens(flow: &Flow) -> Option<&login_core::TokenSet> {
    match flow {
        Flow::Realm(realm::State::Tokened(t)) => Some(t.tokens()),
        Flow::Ciam(ciam::State::Tokened(t)) => Some(t.tokens()),
        _ => None,
    }
}

/// Checks the values a request carries against the state it left, the user's input and what
/// the server said before. `open` opens and checks the credential envelope (slow in debug).
pub fn check_dynamic(
    before: &Flow,
    act: Act,
    inputs: &Inputs,
    mem: &Memory,
    seen: &Seen,
    now: SystemTime,
    open: bool,
) -> Result<(), String> {
    let eq = |what: &str, got: Option<&str>, want: Option<&str>| -> Result<(), String> {
        if got == want {
            Ok(())
        } else {
            Err(format!("{act:?}: {what} = {got:?}, want {want:?}"))
        }
    };
    let keys: BTreeSet<&str> = seen.body.keys().map(String::as_str).collect();
    match (act, before) {
        (Act::RequestLogin, _) => {
            eq("username", seen.str("username"), Some(USERNAME))?;
            eq("password", seen.str("password"), Some(PASSWORD))?;
        }
        (Act::RealmExchange, _) => {
            eq("reqId", seen.str("reqId"), mem.req_id.as_deref())?;
            if keys != BTreeSet::from(["reqId", "scope"]) {
                return Err(format!("mfa none token call sends {keys:?}"));
            }
        }
        (Act::RealmOtp, Flow::Realm(realm::State::MfaPending(m))) => {
            eq("reqId", seen.str("reqId"), mem.req_id.as_deref())?;
            eq("otp", seen.str("otp"), Some(&inputs.otp))?;
            eq("refId", seen.str("refId"), m.ref_id())?;
        }
        (Act::RealmRefresh | Act::CiamRefresh, flow) => {
            let want = tokens(flow).map(|t| t.refresh_token().expose());
            eq("refreshToken", seen.str("refreshToken"), want)?;
        }
        (Act::ResetRequest, _) => eq("username", seen.str("username"), Some(USERNAME))?,
        (Act::ResetVerify, Flow::ForgotPassword(forgot::State::OtpSent(o))) => {
            eq("otp", seen.str("otp"), Some(&inputs.otp))?;
            eq("reqId", seen.str("reqId"), mem.reset_req_id.as_deref())?;
            eq("refId", seen.str("refId"), Some(o.ref_id()))?;
            eq("username", seen.str("username"), Some(o.username()))?;
        }
        (Act::ResetPassword, _) => {
            eq(
                "newPassword",
                seen.str("newPassword"),
                Some(&inputs.new_password),
            )?;
            eq(
                "bearer ticket",
                seen.authorization.as_deref(),
                mem.ticket.as_deref(),
            )?;
        }
        (Act::Authorize, Flow::Ciam(ciam::State::Start(s))) => {
            eq("state", seen.str("state"), Some(s.state()))?;
            if let Some((state, challenge, _)) = &mem.authorize {
                // A repeated authorize (after a failure) sends the same PKCE pair and state.
                eq("state", seen.str("state"), Some(state))?;
                eq("codeChallenge", seen.str("codeChallenge"), Some(challenge))?;
            }
        }
        (Act::Captcha, _) => eq(
            "checkIdentity",
            seen.check_identity.as_deref(),
            mem.login_challenge.as_deref(),
        )?,
        (Act::Submit, Flow::Ciam(ciam::State::Authorized(a))) => {
            eq(
                "loginChallenge",
                seen.str("loginChallenge"),
                mem.login_challenge.as_deref(),
            )?;
            if open {
                let jwe = seen.str("authToken").unwrap_or_default();
                let plain = open_jwe(jwe).map_err(|e| format!("envelope: {e}"))?;
                let v: Value = serde_json::from_slice(&plain)
                    .map_err(|e| format!("envelope plaintext is not JSON: {e}"))?;
                let captcha = a.captcha().map(|c| c.id().to_owned());
                check_plaintext(&v, mem.auth_token.as_deref(), captcha.as_deref(), now)?;
            }
        }
        (Act::CiamVerify, _) => {
            eq("consentOtp", seen.str("consentOtp"), Some(&inputs.otp))?;
            eq(
                "mfaChallenge",
                seen.str("mfaChallenge"),
                mem.mfa_challenge.as_deref(),
            )?;
        }
        (Act::CiamExchange, _) => {
            eq(
                "bearer",
                seen.authorization.as_deref(),
                mem.token.as_deref(),
            )?;
            eq("code", seen.str("code"), mem.code.as_deref())?;
            let (state, challenge, scope) = mem
                .authorize
                .clone()
                .ok_or("access token before any authorize")?;
            eq("state", seen.str("state"), Some(&state))?;
            eq("scope", seen.str("scope"), Some(&scope))?;
            let verifier = seen.str("codeVerifier").unwrap_or_default();
            eq(
                "S256(codeVerifier)",
                Some(&independent_s256(verifier)),
                Some(&challenge),
            )?;
        }
        (Act::CiamRevoke, flow) => {
            let want = tokens(flow).map(|t| t.access_token().expose());
            eq("bearer", seen.authorization.as_deref(), want)?;
        }
        (act, before) => {
            return Err(format!("{act:?} from {:?}", before.state_id()));
        }
    }
    Ok(())
}

/// The envelope's plaintext: exactly `{authToken, username, password, captchaId?,
/// captchaAnswer?, iat}` with the captcha pair only when a captcha is held.
pub fn check_plaintext(
    v: &Value,
    auth_token: Option<&str>,
    captcha_id: Option<&str>,
    now: SystemTime,
) -> Result<(), String> {
    let obj = v.as_object().ok_or("plaintext is not an object")?;
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    let mut want = BTreeSet::from(["authToken", "username", "password", "iat"]);
    if captcha_id.is_some() {
        want.extend(["captchaId", "captchaAnswer"]);
    }
    if keys != want {
        return Err(format!("plaintext fields {keys:?}, want {want:?}"));
    }
    let s = |f: &str| obj.get(f).and_then(Value::as_str);
    let checks = [
        ("authToken", s("authToken") == auth_token),
        ("username", s("username") == Some(USERNAME)),
        ("password", s("password") == Some(PASSWORD)),
        ("captchaId", s("captchaId") == captcha_id),
        (
            "captchaAnswer",
            s("captchaAnswer") == captcha_id.map(|_| CAPTCHA_ANSWER),
        ),
    ];
    for (field, ok) in checks {
        if !ok {
            return Err(format!("plaintext {field} is wrong"));
        }
    }
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match obj.get("iat") {
        Some(Value::Number(n)) if n.as_u64() == Some(secs) => Ok(()),
        other => Err(format!("iat = {other:?}, want the integer {secs}")),
    }
}

/// A comparable summary of a step's result: the next state's snapshot, or the error kind and
/// the snapshot of the state given back; and the failure's `Display`.
pub type Summary = (Result<Vec<u8>, (String, Option<Vec<u8>>)>, Option<String>);

/// Summarizes a step's result for comparison.
pub fn outcome_summary(done: &Done) -> Summary {
    let r = match &done.result {
        Ok(next) => Ok(snap(next)),
        Err((e, state)) => Err((e.kind().as_str().to_owned(), state.as_ref().map(snap))),
    };
    (r, done.display.clone())
}

/// Runs `act` from `flow` and feeds `reply` (or a transport failure when `None`): the request's
/// fingerprint and the outcome summary, for comparing two flows that should behave alike.
pub fn run_once(
    flow: Flow,
    act: Act,
    env: &mut Env,
    inputs: &Inputs,
    reply: Option<&Response>,
) -> (Option<Fingerprint>, Summary) {
    match begin(flow, act, env, inputs) {
        Begun::Local(next) => (None, (Ok(snap(&next)), None)),
        Begun::Refused(d) => (None, outcome_summary(&d)),
        Begun::Sent(req, pending) => {
            let done = match reply {
                Some(r) => pending.receive(r.clone(), env.now),
                None => pending.fail(TransportError::new(TransportErrorKind::Timeout, "t")),
            };
            (Some(fingerprint(&req)), outcome_summary(&done))
        }
    }
}
