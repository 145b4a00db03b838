//! The wire contract (`shared/wire-contract.md`) as data: each step's method, routes,
//! documented success status, request fields, contract headers and success bodies (fields
//! with their JSON types and enumerated values), the error body and codes per status, and the
//! readings (`docs/wire-readings.md`) a server can break.
//!
//! The engine does not read this module: its states build requests and read responses on
//! their own, the tests check them against this description, and `loginflow probe` compares a
//! live server's answers with it. Paths, field and header names are written out literally, as
//! the seeds give them, so a slip in the engine shows up against this copy (and the other way
//! round).
//!
//! ```
//! use login_core::contract::{self, JsonType, Presence};
//! use login_core::table::StepId;
//!
//! let login = contract::step(StepId::RealmRequestLogin);
//! assert_eq!((login.method.as_str(), login.success_status), ("POST", 201));
//! assert_eq!(contract::realm_path(StepId::RealmRequestLogin, "cap").as_deref(),
//!            Some("/auth/realm/cap/request"));
//! let mfa = login.success[0].field("mfa").unwrap();
//! assert_eq!((mfa.ty, mfa.presence, mfa.values), (JsonType::String, Presence::Required, &["none", "otp"][..]));
//! assert!(JsonType::Number.matches(&serde_json::json!(300)));
//! assert_eq!(contract::error_codes(404), &["expired", "not_found"]);
//! ```

use serde_json::Value;

use self::HeaderWhen::{Always, WhenConfigured};
use self::JsonType::{Number, String as Str, StringArray};
use crate::request::Method;
use crate::table::StepId;

/// The content type of every request and response body.
pub const CONTENT_TYPE: &str = "application/json";

/// A JSON value's type, as the contract gives a field's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonType {
    /// A string.
    String,
    /// A number (integer or float).
    Number,
    /// `true` or `false`.
    Boolean,
    /// An array of strings.
    StringArray,
    /// An object.
    Object,
}

impl JsonType {
    /// The type's name: `string`, `number`, `boolean`, `string array`, `object`.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::StringArray => "string array",
            JsonType::Object => "object",
        }
    }

    /// Whether `value` is of this type.
    pub fn matches(self, value: &Value) -> bool {
        match self {
            JsonType::String => value.is_string(),
            JsonType::Number => value.is_number(),
            JsonType::Boolean => value.is_boolean(),
            JsonType::StringArray => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            JsonType::Object => value.is_object(),
        }
    }

    /// The type of `value`, named as the contract names types (`null` and arrays of other
    /// things are named too, for reports).
    pub fn name_of(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(items) if items.iter().all(Value::is_string) => "string array",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// Whether a field must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    /// Always there (`*` in the contract's request tables; listed in a success body).
    Required,
    /// May be there (the contract says "may", or the field has no `*`).
    Optional,
    /// Sent only when the configuration has a value for it (authorize's `authToken` and
    /// `loginVerifier`, the login challenge's `additionalAuthentication`).
    WhenConfigured,
}

/// One body field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The name, exactly as the contract spells it.
    pub name: &'static str,
    /// Its JSON type.
    pub ty: JsonType,
    /// Whether it must be there.
    pub presence: Presence,
    /// The values it may take; empty when any value of its type will do.
    pub values: &'static [&'static str],
}

const fn req(name: &'static str, ty: JsonType) -> Field {
    Field {
        name,
        ty,
        presence: Presence::Required,
        values: &[],
    }
}

const fn opt(name: &'static str, ty: JsonType) -> Field {
    Field {
        name,
        ty,
        presence: Presence::Optional,
        values: &[],
    }
}

const fn configured(name: &'static str) -> Field {
    Field {
        name,
        ty: JsonType::String,
        presence: Presence::WhenConfigured,
        values: &[],
    }
}

const fn one_of(name: &'static str, values: &'static [&'static str]) -> Field {
    Field {
        name,
        ty: JsonType::String,
        presence: Presence::Required,
        values,
    }
}

/// One success body a step may answer with (a step with branches has several).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The branch, as the transition table labels it (empty for a step with one).
    pub branch: &'static str,
    /// The fields.
    pub fields: &'static [Field],
}

impl Shape {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// When a contract header goes on a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderWhen {
    /// On every call of the step.
    Always,
    /// Only when configured (`locLatitude`/`locLongitude`, `eventId`).
    WhenConfigured,
}

/// The contract's row for one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepContract {
    /// The step.
    pub step: StepId,
    /// The method.
    pub method: Method,
    /// The success status the seed documents (any 2xx is success: [`Reading::SuccessStatus`]).
    pub success_status: u16,
    /// The request body's fields; `None` for a call without a body (the captcha GET).
    pub request: Option<&'static [Field]>,
    /// The contract headers the row lists.
    pub headers: &'static [(&'static str, HeaderWhen)],
    /// The success bodies, one per branch.
    pub success: &'static [Shape],
    /// Whether an empty success body also counts (revoke, reset password).
    pub empty_success: bool,
    /// Whether the success body carries tokens or codes (a response no cache should keep).
    pub carries_tokens: bool,
}

impl StepContract {
    /// The request field called `name`.
    pub fn request_field(&self, name: &str) -> Option<&'static Field> {
        self.request.and_then(|f| f.iter().find(|f| f.name == name))
    }
}

/// The token set of the realm and internet-banking token, refresh and access-token steps.
pub const TOKEN_SET: &[Field] = &[
    req("accessToken", Str),
    req("expires", Number),
    req("refreshExpires", Number),
    req("refreshToken", Str),
    req("scope", Str),
    req("sessionState", Str),
    req("tokenType", Str),
    req("redirectUrl", Str),
];

const LOCATION: [(&str, HeaderWhen); 2] = [
    ("locLatitude", WhenConfigured),
    ("locLongitude", WhenConfigured),
];

const NO_HEADERS: &[(&str, HeaderWhen)] = &[];

const fn shape(fields: &'static [Field]) -> Shape {
    Shape { branch: "", fields }
}

/// Every step's row, in [`StepId::ALL`] order but for the local realm revoke.
const STEPS: [StepContract; 13] = [
    StepContract {
        step: StepId::RealmRequestLogin,
        method: Method::Post,
        success_status: 201,
        request: Some(&[
            req("username", Str),
            req("password", Str),
            req("clientId", Str),
            req("clientSecret", Str),
        ]),
        headers: NO_HEADERS,
        success: &[shape(&[
            req("reqId", Str),
            req("exp", Number),
            one_of("mfa", &["none", "otp"]),
            opt("refId", Str),
        ])],
        empty_success: false,
        carries_tokens: true,
    },
    StepContract {
        step: StepId::RealmToken,
        method: Method::Post,
        success_status: 201,
        request: Some(&[
            req("reqId", Str),
            opt("refId", Str),
            opt("otp", Str),
            req("scope", StringArray),
        ]),
        headers: NO_HEADERS,
        success: &[shape(TOKEN_SET)],
        empty_success: false,
        carries_tokens: true,
    },
    StepContract {
        step: StepId::RealmRefresh,
        method: Method::Patch,
        success_status: 200,
        request: Some(&[req("clientId", Str), req("refreshToken", Str)]),
        headers: NO_HEADERS,
        success: &[shape(TOKEN_SET)],
        empty_success: false,
        carries_tokens: true,
    },
    StepContract {
        step: StepId::ResetRequest,
        method: Method::Post,
        success_status: 201,
        request: Some(&[req("username", Str)]),
        headers: NO_HEADERS,
        success: &[shape(&[req("reqId", Str), req("refId", Str)])],
        empty_success: false,
        carries_tokens: false,
    },
    StepContract {
        step: StepId::ResetVerifyOtp,
        method: Method::Post,
        success_status: 201,
        request: Some(&[
            req("otp", Str),
            req("reqId", Str),
            req("refId", Str),
            req("username", Str),
        ]),
        headers: NO_HEADERS,
        success: &[shape(&[req("reqId", Str), req("refId", Str)])],
        empty_success: false,
        carries_tokens: true,
    },
    StepContract {
        step: StepId::ResetPassword,
        method: Method::Post,
        success_status: 200,
        request: Some(&[req("newPassword", Str)]),
        headers: &[("Authorization", Always)],
        success: &[shape(&[req("success", JsonType::Boolean)])],
        empty_success: true,
        carries_tokens: false,
    },
    StepContract {
        step: StepId::CiamAuthorize,
        method: Method::Post,
        success_status: 200,
        request: Some(&[
            req("clientId", Str),
            req("codeChallenge", Str),
            one_of("codeChallengeMethod", &["S256"]),
            req("scope", Str),
            req("state", Str),
            configured("authToken"),
            configured("loginVerifier"),
        ]),
        headers: &[("Authorization", Always), LOCATION[0], LOCATION[1]],
        success: &[shape(&[
            req("loginChallenge", Str),
            req("authToken", Str),
            opt("state", Str),
        ])],
        empty_success: false,
        carries_tokens: true,
    },
    StepContract {
        step: StepId::CiamCaptcha,
        method: Method::Get,
        success_status: 200,
        request: None,
        headers: &[("checkIdentity", Always), LOCATION[0], LOCATION[1]],
        success: &[shape(&[req("captchaId", Str), req("image", Str)])],
        empty_success: false,
        carries_tokens: false,
    },
    StepContract {
        step: StepId::CiamLoginChallenge,
        method: Method::Post,
        success_status: 200,
        request: Some(&[
            req("loginChallenge", Str),
            req("authToken", Str),
            configured("additionalAuthentication"),
        ]),
        headers: &[
            ("Authorization", Always),
            LOCATION[0],
            LOCATION[1],
            ("eventId", WhenConfigured),
        ],
        success: &[
            Shape {
                branch: "no anomaly",
                fields: &[req("code", Str), req("token", Str)],
            },
            Shape {
                branch: "anomaly: 2FA",
                fields: &[
                    req("mfaChallenge", Str),
                    one_of("channel", &["email", "sms"]),
                    req("refId", Str),
                ],
            },
        ],
        empty_success: false,
        carries_tokens: true,
    },
    StepContract {
        step: StepId::CiamPreLoginVerify,
        method: Method::Post,
        success_status: 200,
        request: Some(&[req("consentOtp", Str), req("mfaChallenge", Str)]),
        headers: &[
            ("Authorization", Always),
            LOCATION[0],
            LOCATION[1],
            ("eventId", WhenConfigured),
        ],
        success: &[shape(&[req("code", Str), req("token", Str)])],
        empty_success: false,
        carries_tokens: true,
    },
    StepContract {
        step: StepId::CiamAccessToken,
        method: Method::Post,
        success_status: 200,
        request: Some(&[
            req("clientId", Str),
            req("code", Str),
            req("codeVerifier", Str),
            one_of("grantType", &["authorization_code"]),
            req("redirectUri", Str),
            req("scope", Str),
            req("state", Str),
        ]),
        headers: &[
            ("Authorization", Always),
            LOCATION[0],
            LOCATION[1],
            ("eventId", WhenConfigured),
        ],
        success: &[shape(TOKEN_SET)],
        empty_success: false,
        carries_tokens: true,
    },
    StepContract {
        step: StepId::CiamRefresh,
        method: Method::Post,
        success_status: 200,
        request: Some(&[
            req("clientId", Str),
            one_of("grantType", &["refresh_token"]),
            req("refreshToken", Str),
            req("scope", Str),
        ]),
        headers: &[LOCATION[0], LOCATION[1]],
        success: &[shape(TOKEN_SET)],
        empty_success: false,
        carries_tokens: true,
    },
    StepContract {
        step: StepId::CiamRevoke,
        method: Method::Post,
        success_status: 200,
        request: Some(&[req("clientId", Str)]),
        headers: &[("Authorization", Always), LOCATION[0], LOCATION[1]],
        success: &[shape(&[req("success", JsonType::Boolean)])],
        empty_success: true,
        carries_tokens: false,
    },
];

/// The contract's row for `step`.
///
/// # Panics
/// Never for a step that sends a request; the realm revoke is local and has no row (it
/// panics there: a caller asking for it has a bug).
pub fn step(step: StepId) -> &'static StepContract {
    try_step(step).unwrap_or_else(|| panic!("{step:?} sends no request and has no contract row"))
}

/// The contract's row for `step`, `None` for the local realm revoke.
pub fn try_step(step: StepId) -> Option<&'static StepContract> {
    STEPS.iter().find(|s| s.step == step)
}

/// The internet-banking gateway routes (the default set), literally.
pub const GATEWAY_ROUTES: [(StepId, &str); 7] = [
    (StepId::CiamAuthorize, "/api/v1/authorize"),
    (StepId::CiamCaptcha, "/api/v1/captcha"),
    (StepId::CiamLoginChallenge, "/api/v1/login-challenge"),
    (StepId::CiamPreLoginVerify, "/api/v1/pre-login-verify"),
    (StepId::CiamAccessToken, "/api/v1/access-token"),
    (StepId::CiamRevoke, "/api/v1/revoke-token"),
    (StepId::CiamRefresh, "/api/v1/refresh-token"),
];

/// The internet-banking service routes (the seed's second path set), literally; the seed
/// gives no service captcha path, so the captcha stays the gateway's.
pub const SERVICE_ROUTES: [(StepId, &str); 7] = [
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

/// The realm API's path template of `step`, with `{realmId}` where the realm id goes.
pub fn realm_template(step: StepId) -> Option<&'static str> {
    Some(match step {
        StepId::RealmRequestLogin => "/auth/realm/{realmId}/request",
        StepId::RealmToken | StepId::RealmRefresh => "/auth/realm/{realmId}/token",
        StepId::ResetRequest => "/realm/admin/{realmId}/user/forgotPassword",
        StepId::ResetVerifyOtp => "/realm/admin/{realmId}/user/verifyOtp",
        StepId::ResetPassword => "/realm/admin/{realmId}/user/resetPassword",
        _ => return None,
    })
}

/// The realm API's path of `step` for `realm_id` (already a valid path segment).
pub fn realm_path(step: StepId, realm_id: &str) -> Option<String> {
    realm_template(step).map(|t| t.replace("{realmId}", realm_id))
}

/// The contract headers: present only on calls whose row lists them.
pub const CONTRACT_HEADERS: [&str; 5] = [
    "Authorization",
    "checkIdentity",
    "locLatitude",
    "locLongitude",
    "eventId",
];

/// The error body's fields: `{"error": "<code>", "message": "<text>"}` (a reading; the client
/// tolerates either missing and any other body: [`Reading::ErrorBody`]).
pub const ERROR_BODY: [Field; 2] = [req("error", Str), req("message", Str)];

/// The error codes the contract gives for `status` (empty for statuses it gives none for:
/// 5xx and the unlisted ones).
pub fn error_codes(status: u16) -> &'static [&'static str] {
    match status {
        400 => &["invalid_captcha", "captcha_required", "invalid_request"],
        401 => &["invalid_credentials", "invalid_otp", "invalid_token"],
        403 => &["forbidden"],
        404 => &["expired", "not_found"],
        423 => &["locked"],
        429 => &["rate_limited"],
        _ => &[],
    }
}

/// The error statuses the contract names (5xx aside).
pub const ERROR_STATUSES: [u16; 6] = [400, 401, 403, 404, 423, 429];

/// The readings of `docs/wire-readings.md` a server can break, each with the page's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Reading {
    /// Any 2xx is success; the seed's 201/200 is what the sandbox sends.
    SuccessStatus,
    /// JSON bodies with `Content-Type: application/json`.
    JsonBodies,
    /// Each step's success body is the one the contract's table gives.
    SuccessBody,
    /// Each step sends its row's method, path, fields and headers (and no others).
    RequestRow,
    /// The tolerant reader: unknown fields ignored; numbers may be integers, floats or numeric
    /// strings; a scope may arrive as an array.
    TolerantReader,
    /// Errors: non-2xx with `{"error","message"}`, classified by status first, then code.
    ErrorBody,
    /// 429 means "not processed", with `Retry-After` in seconds.
    RetryAfter,
    /// A 3xx is an error and is never followed.
    NoRedirects,
    /// Expiry numbers are lifetimes in seconds from receipt.
    ExpiryLifetimes,
    /// The realm API's `scope` is an array of strings.
    RealmScope,
    /// The internet-banking API's `scope` is one space-separated string.
    CiamScope,
    /// The realm refresh sends both `clientId` and `refreshToken`.
    RealmRefreshFields,
    /// The login challenge's `authToken` is a JWE (`ECDH-ES`, `A256GCM`).
    CredentialEnvelope,
    /// The captcha call sends `checkIdentity: <loginChallenge>`.
    CaptchaHeader,
    /// The paths of each route set.
    Routes,
}

impl Reading {
    /// A short kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reading::SuccessStatus => "success-status",
            Reading::JsonBodies => "json-bodies",
            Reading::SuccessBody => "success-body",
            Reading::RequestRow => "request-row",
            Reading::TolerantReader => "tolerant-reader",
            Reading::ErrorBody => "error-body",
            Reading::RetryAfter => "retry-after",
            Reading::NoRedirects => "no-redirects",
            Reading::ExpiryLifetimes => "expiry-lifetimes",
            Reading::RealmScope => "realm-scope",
            Reading::CiamScope => "ciam-scope",
            Reading::RealmRefreshFields => "realm-refresh-fields",
            Reading::CredentialEnvelope => "credential-envelope",
            Reading::CaptchaHeader => "captcha-header",
            Reading::Routes => "routes",
        }
    }

    /// The reading, in the words of `docs/wire-readings.md`.
    pub fn text(self) -> &'static str {
        match self {
            Reading::SuccessStatus => {
                "Any 2xx is success (the seed's 201/200 is what the sandbox sends)"
            }
            Reading::JsonBodies => "JSON bodies, Content-Type: application/json, UTF-8",
            Reading::SuccessBody => {
                "Each step's success body has the fields the contract's table gives, with their types"
            }
            Reading::RequestRow => {
                "Each step sends its row's method, path, body fields and contract headers, and no others"
            }
            Reading::TolerantReader => {
                "Tolerant reader: unknown fields ignored; numbers may be integers, floats or \
                 numeric strings; a scope may arrive as an array"
            }
            Reading::ErrorBody => {
                "Errors: non-2xx with {\"error\",\"message\"}, either missing, body may be \
                 empty/HTML/garbage; classified by status first, then error code"
            }
            Reading::RetryAfter => {
                "429 means \"not processed\": the call is repeated after Retry-After (seconds)"
            }
            Reading::NoRedirects => "A 3xx is an error (redirect) and is never followed",
            Reading::ExpiryLifetimes => {
                "Expiry numbers (exp, expires, refreshExpires) are lifetimes in seconds from receipt"
            }
            Reading::RealmScope => "Realm API: scope is an array of strings",
            Reading::CiamScope => "Internet-banking API: scope is one space-separated string",
            Reading::RealmRefreshFields => "Realm refresh sends both clientId and refreshToken",
            Reading::CredentialEnvelope => {
                "The login challenge's authToken is a JWE compact serialization, alg ECDH-ES, \
                 enc A256GCM"
            }
            Reading::CaptchaHeader => "The captcha call sends checkIdentity: <loginChallenge>",
            Reading::Routes => {
                "Two route sets, gateway (/api/v1/...) and service (/ciamauthsrvc/...), each path \
                 overridable"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_that_sends_has_one_row() {
        for step in StepId::ALL {
            let rows = STEPS.iter().filter(|s| s.step == step).count();
            let expected = usize::from(step != StepId::RealmRevoke);
            assert_eq!(rows, expected, "{step:?}");
        }
        assert!(try_step(StepId::RealmRevoke).is_none());
    }

    #[test]
    fn names_are_camel_case_and_unique_per_body() {
        for row in STEPS {
            let mut bodies: Vec<&[Field]> = row.success.iter().map(|s| s.fields).collect();
            bodies.extend(row.request);
            for fields in bodies {
                for (i, f) in fields.iter().enumerate() {
                    assert!(
                        f.name
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_lowercase())
                    );
                    assert!(f.name.chars().all(|c| c.is_ascii_alphanumeric()));
                    assert!(!fields[..i].iter().any(|g| g.name == f.name), "{}", f.name);
                }
            }
        }
    }

    #[test]
    fn json_types_match_their_values() {
        use serde_json::json;
        assert!(JsonType::StringArray.matches(&json!(["a", "b"])));
        assert!(!JsonType::StringArray.matches(&json!(["a", 1])));
        assert!(!JsonType::Number.matches(&json!("300")));
        assert_eq!(JsonType::name_of(&json!(null)), "null");
        assert_eq!(JsonType::name_of(&json!([1])), "array");
    }
}
