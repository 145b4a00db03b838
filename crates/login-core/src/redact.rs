//! Which values on the wire are secrets, or drawn fresh on every run: the API knowledge a
//! recorder needs to write a record of an exchange that can be shared (login-transport's
//! cassettes use it, and nothing else decides).
//!
//! Two small tables, [`BODY_FIELDS`] and [`HEADERS`], name each field and header of both APIs
//! (see the wire contract) whose value must not be written down, with the [`SecretKind`] that
//! names its placeholder. A row may be limited to one side (request or response) and to some
//! steps; the first row that applies wins, so the rows limited to steps come before the general
//! ones (`authToken` is the sealed credential envelope in a login-challenge request, and the
//! authorize step's opaque token everywhere else).
//!
//! ```
//! use login_core::redact::{self, SecretKind, Side};
//! use login_core::table::StepId;
//!
//! let kind = |step, side, name| redact::body_field(Some(step), side, name);
//! assert_eq!(kind(StepId::RealmRequestLogin, Side::Request, "password"), Some(SecretKind::Password));
//! assert_eq!(kind(StepId::CiamLoginChallenge, Side::Request, "authToken"), Some(SecretKind::Envelope));
//! assert_eq!(kind(StepId::CiamAuthorize, Side::Response, "authToken"), Some(SecretKind::AuthToken));
//! assert_eq!(kind(StepId::ResetVerifyOtp, Side::Response, "reqId"), Some(SecretKind::ResetTicket));
//! assert_eq!(kind(StepId::RealmRequestLogin, Side::Request, "username"), None);
//! assert_eq!(
//!     redact::header(Some(StepId::CiamAuthorize), Side::Request, "authorization"),
//!     Some(SecretKind::DeviceToken)
//! );
//! ```
//!
//! Not secret, and kept in clear: user names, client ids, realm ids, redirect URIs, scopes,
//! OTP references (`refId`, shown to the user beside the code), channels, lifetimes, token
//! types, captcha ids and images (see [`ciam::Captcha`](crate::ciam::Captcha)), locations and
//! event ids. The envelope's `iat` is inside the ciphertext, which is never written down.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::table::StepId;

/// Which way a value travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Sent by the client.
    Request,
    /// Sent back by the server.
    Response,
}

/// What a secret (or fresh) value is: the name of its placeholder (`<password>`,
/// `<access_token#1>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SecretKind {
    /// A user's password.
    Password,
    /// The new password of a reset.
    NewPassword,
    /// The realm client secret.
    ClientSecret,
    /// A one-time password.
    Otp,
    /// A captcha answer (sealed in the envelope by this engine; named in case a bank sends it).
    CaptchaAnswer,
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
    /// An ID token (not in the contract; named in case a server sends one).
    IdToken,
    /// The server's session id (`sessionState`): not a credential alone, but nothing needs it
    /// in clear.
    SessionState,
    /// The internet-banking device identity token (`Authorization: Bearer` on most calls).
    DeviceToken,
    /// A bearer credential of no more specific kind.
    Bearer,
    /// A cookie.
    Cookie,
    /// The PKCE code verifier: fresh per run.
    PkceVerifier,
    /// The PKCE code challenge: fresh per run.
    PkceChallenge,
    /// The OAuth `state`: fresh per run.
    State,
    /// The sealed credential envelope (a JWE): fresh per run, and never written down.
    Envelope,
    /// An envelope's ephemeral public key coordinate: public, but fresh per run.
    EphemeralKey,
    /// The internet-banking `authToken` from authorize (sealed into the envelope).
    AuthToken,
    /// The internet-banking login challenge (also the captcha's `checkIdentity`).
    LoginChallenge,
    /// A configured `loginVerifier`.
    LoginVerifier,
    /// A configured `additionalAuthentication`.
    AdditionalAuthentication,
    /// The authorization code.
    Code,
    /// The bearer token of the access-token call (`token` of login challenge or pre-login
    /// verify).
    FlowToken,
    /// The 2FA challenge of an anomalous internet-banking login.
    MfaChallenge,
    /// A realm request id (`reqId`): with an OTP, or alone when no OTP is asked, it buys tokens.
    RequestId,
    /// The one-time reset ticket (the `reqId` of verify OTP, sent back as `Bearer`).
    ResetTicket,
}

impl SecretKind {
    /// Every kind.
    pub const ALL: [SecretKind; 26] = [
        SecretKind::Password,
        SecretKind::NewPassword,
        SecretKind::ClientSecret,
        SecretKind::Otp,
        SecretKind::CaptchaAnswer,
        SecretKind::AccessToken,
        SecretKind::RefreshToken,
        SecretKind::IdToken,
        SecretKind::SessionState,
        SecretKind::DeviceToken,
        SecretKind::Bearer,
        SecretKind::Cookie,
        SecretKind::PkceVerifier,
        SecretKind::PkceChallenge,
        SecretKind::State,
        SecretKind::Envelope,
        SecretKind::EphemeralKey,
        SecretKind::AuthToken,
        SecretKind::LoginChallenge,
        SecretKind::LoginVerifier,
        SecretKind::AdditionalAuthentication,
        SecretKind::Code,
        SecretKind::FlowToken,
        SecretKind::MfaChallenge,
        SecretKind::RequestId,
        SecretKind::ResetTicket,
    ];

    /// The placeholder's name: lower snake_case.
    pub fn name(self) -> &'static str {
        match self {
            SecretKind::Password => "password",
            SecretKind::NewPassword => "new_password",
            SecretKind::ClientSecret => "client_secret",
            SecretKind::Otp => "otp",
            SecretKind::CaptchaAnswer => "captcha_answer",
            SecretKind::AccessToken => "access_token",
            SecretKind::RefreshToken => "refresh_token",
            SecretKind::IdToken => "id_token",
            SecretKind::SessionState => "session_state",
            SecretKind::DeviceToken => "device_token",
            SecretKind::Bearer => "bearer",
            SecretKind::Cookie => "cookie",
            SecretKind::PkceVerifier => "pkce_verifier",
            SecretKind::PkceChallenge => "pkce_challenge",
            SecretKind::State => "state",
            SecretKind::Envelope => "envelope",
            SecretKind::EphemeralKey => "epk",
            SecretKind::AuthToken => "auth_token",
            SecretKind::LoginChallenge => "login_challenge",
            SecretKind::LoginVerifier => "login_verifier",
            SecretKind::AdditionalAuthentication => "additional_authentication",
            SecretKind::Code => "code",
            SecretKind::FlowToken => "flow_token",
            SecretKind::MfaChallenge => "mfa_challenge",
            SecretKind::RequestId => "req_id",
            SecretKind::ResetTicket => "reset_ticket",
        }
    }

    /// The kind a placeholder name names.
    ///
    /// ```
    /// use login_core::redact::SecretKind;
    /// assert_eq!(SecretKind::from_name("access_token"), Some(SecretKind::AccessToken));
    /// assert_eq!(SecretKind::from_name("username"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether distinct values of this kind get distinct numbered placeholders
    /// (`<access_token#1>`, `<access_token#2>`), so a value the server issued and the client
    /// later sends back is recognisably the same one. What the user types or configures
    /// (passwords, OTPs, the client secret, the device token) is not numbered: a record shows
    /// where it went, not whether two were equal.
    pub fn is_numbered(self) -> bool {
        !matches!(
            self,
            SecretKind::Password
                | SecretKind::NewPassword
                | SecretKind::ClientSecret
                | SecretKind::Otp
                | SecretKind::CaptchaAnswer
                | SecretKind::DeviceToken
                | SecretKind::EphemeralKey
        )
    }

    /// Whether the engine draws a new value on every run (so a replay must accept whatever the
    /// new run sends, and give it back where the server echoed it).
    pub fn is_fresh(self) -> bool {
        matches!(
            self,
            SecretKind::PkceVerifier
                | SecretKind::PkceChallenge
                | SecretKind::State
                | SecretKind::Envelope
                | SecretKind::EphemeralKey
        )
    }
}

impl std::fmt::Display for SecretKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One row of a table: a field or header name, where it applies and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct SecretField {
    /// The JSON key (exact) or header name (compared case-insensitively).
    pub name: &'static str,
    /// Only on this side; `None`: both.
    pub side: Option<Side>,
    /// Only in these steps; empty: every step (and calls of no known step).
    pub steps: &'static [StepId],
    /// What the value is.
    pub kind: SecretKind,
}

const fn row(name: &'static str, kind: SecretKind) -> SecretField {
    SecretField {
        name,
        side: None,
        steps: &[],
        kind,
    }
}

const fn row_in(
    name: &'static str,
    side: Side,
    steps: &'static [StepId],
    kind: SecretKind,
) -> SecretField {
    SecretField {
        name,
        side: Some(side),
        steps,
        kind,
    }
}

/// JSON body fields that hold secrets, at any depth of a request or response body. The
/// snake_case spellings are not in the contract; they are here so that a server speaking plain
/// OAuth leaks nothing either.
pub const BODY_FIELDS: &[SecretField] = &[
    // Step-limited rows first: the same name means something else elsewhere.
    row_in(
        "authToken",
        Side::Request,
        &[StepId::CiamLoginChallenge],
        SecretKind::Envelope,
    ),
    row_in(
        "reqId",
        Side::Response,
        &[StepId::ResetVerifyOtp],
        SecretKind::ResetTicket,
    ),
    row("password", SecretKind::Password),
    row("newPassword", SecretKind::NewPassword),
    row("clientSecret", SecretKind::ClientSecret),
    row("client_secret", SecretKind::ClientSecret),
    row("otp", SecretKind::Otp),
    row("consentOtp", SecretKind::Otp),
    row("captchaAnswer", SecretKind::CaptchaAnswer),
    row("accessToken", SecretKind::AccessToken),
    row("access_token", SecretKind::AccessToken),
    row("refreshToken", SecretKind::RefreshToken),
    row("refresh_token", SecretKind::RefreshToken),
    row("idToken", SecretKind::IdToken),
    row("id_token", SecretKind::IdToken),
    row("sessionState", SecretKind::SessionState),
    row("session_state", SecretKind::SessionState),
    row("codeVerifier", SecretKind::PkceVerifier),
    row("code_verifier", SecretKind::PkceVerifier),
    row("codeChallenge", SecretKind::PkceChallenge),
    row("code_challenge", SecretKind::PkceChallenge),
    row("state", SecretKind::State),
    row("authToken", SecretKind::AuthToken),
    row("loginChallenge", SecretKind::LoginChallenge),
    row("loginVerifier", SecretKind::LoginVerifier),
    row(
        "additionalAuthentication",
        SecretKind::AdditionalAuthentication,
    ),
    row("code", SecretKind::Code),
    row("token", SecretKind::FlowToken),
    row("mfaChallenge", SecretKind::MfaChallenge),
    row("reqId", SecretKind::RequestId),
];

/// Headers that hold secrets. A credential header's scheme (`Bearer `) is kept; what follows
/// it is the secret. Any header login-core marks sensitive
/// ([`Header::is_sensitive`](crate::Header::is_sensitive)) is a secret too, whether listed
/// here or not.
pub const HEADERS: &[SecretField] = &[
    row_in(
        "Authorization",
        Side::Request,
        &[
            StepId::CiamAuthorize,
            StepId::CiamLoginChallenge,
            StepId::CiamPreLoginVerify,
        ],
        SecretKind::DeviceToken,
    ),
    row_in(
        "Authorization",
        Side::Request,
        &[StepId::CiamAccessToken],
        SecretKind::FlowToken,
    ),
    row_in(
        "Authorization",
        Side::Request,
        &[StepId::CiamRevoke],
        SecretKind::AccessToken,
    ),
    row_in(
        "Authorization",
        Side::Request,
        &[StepId::ResetPassword],
        SecretKind::ResetTicket,
    ),
    row("Authorization", SecretKind::Bearer),
    row("Proxy-Authorization", SecretKind::Bearer),
    row("checkIdentity", SecretKind::LoginChallenge),
    row("Cookie", SecretKind::Cookie),
    row("Set-Cookie", SecretKind::Cookie),
];

fn applies(row: &SecretField, step: Option<StepId>, side: Side) -> bool {
    row.side.is_none_or(|s| s == side)
        && (row.steps.is_empty() || step.is_some_and(|step| row.steps.contains(&step)))
}

/// What the JSON field `name` holds in `step`'s request or response, when it is a secret.
pub fn body_field(step: Option<StepId>, side: Side, name: &str) -> Option<SecretKind> {
    BODY_FIELDS
        .iter()
        .find(|r| r.name == name && applies(r, step, side))
        .map(|r| r.kind)
}

/// What the header `name` (any case) holds in `step`'s request or response, when it is a
/// secret.
pub fn header(step: Option<StepId>, side: Side, name: &str) -> Option<SecretKind> {
    HEADERS
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name) && applies(r, step, side))
        .map(|r| r.kind)
}

/// The protected header of a JWE in compact serialization (the credential envelope), with
/// what is fresh on every run replaced by `<epk>`: the ephemeral key's coordinates, and any
/// member this reader does not know (its value could be anything). `alg`, `enc`, `zip`, `kid`,
/// `typ`, `cty` and the key's `kty` and `crv` stay: they say how the envelope was made, which
/// a replay can check. `None` when `compact` is not a JWE (five dot-separated parts whose
/// first decodes to a JSON object with `alg`).
///
/// ```
/// use login_core::redact::envelope_header;
/// // {"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"AAA","y":"BBB"}}
/// let jwe = "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTI1NkdDTSIsImVwayI6eyJrdHkiOiJFQyIsImNydiI6IlAtMjU2IiwieCI6IkFBQSIsInkiOiJCQkIifX0..iv.ct.tag";
/// let header = envelope_header(jwe).unwrap();
/// assert_eq!(header["alg"], "ECDH-ES");
/// assert_eq!(header["epk"]["crv"], "P-256");
/// assert_eq!(header["epk"]["x"], "<epk>");
/// assert_eq!(envelope_header("not.a.jwe"), None);
/// ```
pub fn envelope_header(compact: &str) -> Option<Value> {
    let mut parts = compact.split('.');
    let first = parts.next()?;
    if parts.count() != 4 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(first).ok()?;
    let Value::Object(header) = serde_json::from_slice::<Value>(&bytes).ok()? else {
        return None;
    };
    header.get("alg")?.as_str()?;
    const KEPT: [&str; 6] = ["alg", "enc", "zip", "kid", "typ", "cty"];
    const KEPT_IN_KEY: [&str; 2] = ["kty", "crv"];
    let fresh = || Value::String(format!("<{}>", SecretKind::EphemeralKey.name()));
    let mut out = Map::new();
    for (name, value) in header {
        let kept = match (name.as_str(), value) {
            (n, v) if KEPT.contains(&n) => v,
            ("epk", Value::Object(key)) => Value::Object(
                key.into_iter()
                    .map(|(n, v)| {
                        let v = if KEPT_IN_KEY.contains(&n.as_str()) {
                            v
                        } else {
                            fresh()
                        };
                        (n, v)
                    })
                    .collect(),
            ),
            _ => fresh(),
        };
        out.insert(name, kept);
    }
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_unique_and_round_trip() {
        for kind in SecretKind::ALL {
            assert_eq!(SecretKind::from_name(kind.name()), Some(kind));
            assert!(
                kind.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{kind}"
            );
        }
    }

    /// Every step-limited row comes before the general row of the same name, or it would
    /// never apply.
    #[test]
    fn limited_rows_come_before_general_ones() {
        for table in [BODY_FIELDS, HEADERS] {
            for (i, r) in table.iter().enumerate() {
                if r.steps.is_empty() && r.side.is_none() {
                    let later_limited = table[i + 1..]
                        .iter()
                        .any(|l| l.name.eq_ignore_ascii_case(r.name) && !l.steps.is_empty());
                    assert!(!later_limited, "{} is shadowed", r.name);
                }
            }
        }
    }

    /// Every secret the contract names, on the side it travels, is in the tables.
    #[test]
    fn the_contracts_secrets_are_listed() {
        use SecretKind as K;
        use Side::{Request as Q, Response as R};
        use StepId as S;
        let body = [
            (S::RealmRequestLogin, Q, "password", K::Password),
            (S::RealmRequestLogin, Q, "clientSecret", K::ClientSecret),
            (S::RealmRequestLogin, R, "reqId", K::RequestId),
            (S::RealmToken, Q, "reqId", K::RequestId),
            (S::RealmToken, Q, "otp", K::Otp),
            (S::RealmToken, R, "accessToken", K::AccessToken),
            (S::RealmToken, R, "refreshToken", K::RefreshToken),
            (S::RealmToken, R, "sessionState", K::SessionState),
            (S::RealmRefresh, Q, "refreshToken", K::RefreshToken),
            (S::ResetRequest, R, "reqId", K::RequestId),
            (S::ResetVerifyOtp, Q, "otp", K::Otp),
            (S::ResetVerifyOtp, Q, "reqId", K::RequestId),
            (S::ResetVerifyOtp, R, "reqId", K::ResetTicket),
            (S::ResetPassword, Q, "newPassword", K::NewPassword),
            (S::CiamAuthorize, Q, "codeChallenge", K::PkceChallenge),
            (S::CiamAuthorize, Q, "state", K::State),
            (S::CiamAuthorize, Q, "authToken", K::AuthToken),
            (S::CiamAuthorize, Q, "loginVerifier", K::LoginVerifier),
            (S::CiamAuthorize, R, "loginChallenge", K::LoginChallenge),
            (S::CiamAuthorize, R, "authToken", K::AuthToken),
            (S::CiamAuthorize, R, "state", K::State),
            (
                S::CiamLoginChallenge,
                Q,
                "loginChallenge",
                K::LoginChallenge,
            ),
            (S::CiamLoginChallenge, Q, "authToken", K::Envelope),
            (
                S::CiamLoginChallenge,
                Q,
                "additionalAuthentication",
                K::AdditionalAuthentication,
            ),
            (S::CiamLoginChallenge, R, "code", K::Code),
            (S::CiamLoginChallenge, R, "token", K::FlowToken),
            (S::CiamLoginChallenge, R, "mfaChallenge", K::MfaChallenge),
            (S::CiamPreLoginVerify, Q, "consentOtp", K::Otp),
            (S::CiamPreLoginVerify, Q, "mfaChallenge", K::MfaChallenge),
            (S::CiamPreLoginVerify, R, "code", K::Code),
            (S::CiamPreLoginVerify, R, "token", K::FlowToken),
            (S::CiamAccessToken, Q, "code", K::Code),
            (S::CiamAccessToken, Q, "codeVerifier", K::PkceVerifier),
            (S::CiamAccessToken, Q, "state", K::State),
            (S::CiamAccessToken, R, "accessToken", K::AccessToken),
            (S::CiamRefresh, Q, "refreshToken", K::RefreshToken),
            (S::CiamRefresh, R, "refreshToken", K::RefreshToken),
        ];
        for (step, side, name, kind) in body {
            assert_eq!(
                body_field(Some(step), side, name),
                Some(kind),
                "{step:?} {side:?} {name}"
            );
        }
        let headers = [
            (S::CiamAuthorize, "Authorization", K::DeviceToken),
            (S::CiamCaptcha, "checkIdentity", K::LoginChallenge),
            (S::CiamLoginChallenge, "Authorization", K::DeviceToken),
            (S::CiamPreLoginVerify, "Authorization", K::DeviceToken),
            (S::CiamAccessToken, "Authorization", K::FlowToken),
            (S::CiamRevoke, "Authorization", K::AccessToken),
            (S::ResetPassword, "Authorization", K::ResetTicket),
        ];
        for (step, name, kind) in headers {
            assert_eq!(header(Some(step), Q, name), Some(kind), "{step:?} {name}");
        }
        assert_eq!(header(None, R, "set-cookie"), Some(K::Cookie));
        for clear in [
            "username",
            "clientId",
            "refId",
            "scope",
            "captchaId",
            "image",
        ] {
            assert_eq!(body_field(Some(S::RealmToken), Q, clear), None, "{clear}");
        }
        for clear in ["locLatitude", "eventId", "Content-Type"] {
            assert_eq!(header(Some(S::CiamAuthorize), Q, clear), None, "{clear}");
        }
    }

    #[test]
    fn the_envelope_header_keeps_how_and_hides_what_is_fresh() {
        use crate::entropy::DeterministicEntropy;
        use crate::seal::{CredentialSealer, JweSealer};
        // RFC 7518 Appendix C's "Bob" key (public), with a kid.
        let jwk = r#"{"kty":"EC","crv":"P-256","kid":"k1",
            "x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
            "y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"}"#;
        let sealer = JweSealer::from_jwk(jwk).expect("key");
        let jwe = sealer
            .seal(b"{}", &mut DeterministicEntropy::new(3))
            .expect("sealed");
        let header = envelope_header(jwe.expose()).expect("a JWE");
        assert_eq!(header["alg"], "ECDH-ES");
        assert_eq!(header["enc"], "A256GCM");
        assert_eq!(header["kid"], "k1");
        assert_eq!(header["epk"]["kty"], "EC");
        assert_eq!(header["epk"]["x"], "<epk>");
        assert_eq!(header["epk"]["y"], "<epk>");
        let text = header.to_string();
        for part in jwe.expose().split('.').skip(1) {
            if !part.is_empty() {
                assert!(!text.contains(part), "no ciphertext, IV or tag");
            }
        }
        assert_eq!(envelope_header("a.b.c.d"), None);
        assert_eq!(envelope_header("e30.b.c.d.e"), None, "no alg");
    }
}
