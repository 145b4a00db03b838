//! Canned server replies: a success per branch of each step, every error class of the
//! contract and beyond (3xx, 418, 1xx, garbage 2xx), and every transport failure.

use login_core::table::{StateId, StepId};
use login_core::{Response, TransportError, TransportErrorKind};
use serde_json::Value;

use super::oracle::{
    ACCESS, AUTH_TOKEN, CODE, LOGIN_CHALLENGE, MFA, REFRESH, REQ_ID, RESET_REQ_ID, TICKET, TOKEN,
};

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

/// One success reply per branch of `step` taken from `from` (values numbered `n`), each with the
/// table's branch label for it. Realm revoke sends nothing and has none.
pub fn success_replies(from: StateId, step: StepId, n: u32) -> Vec<(&'static str, Response)> {
    use serde_json::json as j;
    match step {
        StepId::RealmRequestLogin => vec![
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
        // The realm token call answers alike with and without an OTP; the table labels the
        // branch by what went in.
        StepId::RealmToken if from == StateId::MfaPending => {
            vec![("with otp", json(201, token_set(n)))]
        }
        StepId::RealmToken => vec![("", json(201, token_set(n)))],
        StepId::RealmRefresh | StepId::CiamRefresh | StepId::CiamAccessToken => {
            vec![("", json(200, token_set(n)))]
        }
        StepId::RealmRevoke => vec![],
        StepId::ResetRequest => vec![(
            "",
            json(
                201,
                j!({"reqId": format!("{RESET_REQ_ID}-{n}"), "refId": "RR-1"}),
            ),
        )],
        StepId::ResetVerifyOtp => vec![(
            "",
            json(201, j!({"reqId": format!("{TICKET}-{n}"), "refId": "RR-1"})),
        )],
        StepId::ResetPassword => vec![
            ("", json(200, j!({"success": true}))),
            ("", Response::new(200, Vec::new())),
        ],
        StepId::CiamAuthorize => vec![(
            "",
            json(
                200,
                j!({"loginChallenge": format!("{LOGIN_CHALLENGE}-{n}"), "authToken": format!("{AUTH_TOKEN}-{n}")}),
            ),
        )],
        StepId::CiamCaptcha => {
            let label = if from == StateId::CaptchaShown {
                "another"
            } else {
                ""
            };
            vec![(
                label,
                json(
                    200,
                    j!({"captchaId": format!("cap-{n}"), "image": "iVBORw0KGgo="}),
                ),
            )]
        }
        StepId::CiamLoginChallenge => vec![
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
        StepId::CiamPreLoginVerify => vec![(
            "",
            json(
                200,
                j!({"code": format!("{CODE}-v{n}"), "token": format!("{TOKEN}-v{n}")}),
            ),
        )],
        StepId::CiamRevoke => vec![
            ("", json(200, j!({"success": true}))),
            ("", Response::new(200, Vec::new())),
        ],
    }
}

/// Replies that echo a `state` other than the one sent (authorize and access token read it).
pub fn mismatch_replies(step: StepId) -> Vec<Response> {
    match step {
        StepId::CiamAuthorize => vec![json(
            200,
            serde_json::json!({"loginChallenge": "CANARY-LC-m", "authToken": "CANARY-AUTHTOK-m", "state": "not-the-state"}),
        )],
        StepId::CiamAccessToken => {
            let mut t = token_set(99);
            t["state"] = serde_json::json!("not-the-state");
            vec![json(200, t)]
        }
        _ => vec![],
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
        TransportErrorKind::Cassette,
        TransportErrorKind::Proxy,
        TransportErrorKind::Other,
    ]
    .into_iter()
    .map(|k| TransportError::new(k, "test transport failure"))
    .collect()
}
