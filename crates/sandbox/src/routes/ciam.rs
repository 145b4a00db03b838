//! Internet-banking handlers, at the root, on both route sets: the gateway routes
//! (`/api/v1/...`) and the service routes (`/ciamauthsrvc/...`). Each step has one
//! implementation; `both_route_sets!` declares its two annotated entry points.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{Shared, WireJson, bearer, header, location, reply};
use crate::app::TokenSet;
use crate::error::ErrorBody;
use crate::flows::ciam::{
    AccessTokenBody, AuthorizeBody, AuthorizeResponse, CaptchaResponse, CiamRefreshBody,
    CodeResponse, LoginChallengeBody, LoginChallengeResponse, PreLoginVerifyBody, RevokeBody,
};
use crate::flows::realm::SuccessBody;
use crate::time::Timestamp;

/// Declares a step's gateway and service handlers (same docs, same behaviour, same body).
macro_rules! both_route_sets {
    ($(#[doc = $doc:literal])+ $gateway:ident = $gw_path:tt, $service:ident = $svc_path:tt, via $inner:ident($body:ident), { $($spec:tt)* }) => {
        $(#[doc = $doc])+
        #[utoipa::path(post, path = $gw_path, tag = "internet-banking", request_body = $body, $($spec)*)]
        pub async fn $gateway(State(app): State<Shared>, headers: HeaderMap, WireJson(body): WireJson<$body>) -> Response {
            $inner(app, headers, body).await
        }

        $(#[doc = $doc])+
        #[utoipa::path(post, path = $svc_path, tag = "internet-banking", request_body = $body, $($spec)*)]
        pub async fn $service(State(app): State<Shared>, headers: HeaderMap, WireJson(body): WireJson<$body>) -> Response {
            $inner(app, headers, body).await
        }
    };
}

both_route_sets! {
    /// Authorize: a login challenge bound to the PKCE challenge (S256 only), `state` and `scope`.
    authorize_gateway = "/api/v1/authorize",
    authorize_service = "/ciamauthsrvc/internetBanking/oauth/authorize",
    via authorize(AuthorizeBody), {
        security(("deviceToken" = [])),
        responses((status = 200, body = AuthorizeResponse),
            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
    }
}

both_route_sets! {
    /// Login challenge: the credential envelope (JWE) is checked: captcha, password, anomaly.
    login_challenge_gateway = "/api/v1/login-challenge",
    login_challenge_service = "/ciamauthsrvc/internetBanking/oauth/acceptLoginChallenge",
    via login_challenge(LoginChallengeBody), {
        security(("deviceToken" = [])),
        params(("locLatitude" = Option<f64>, Header, nullable = false, minimum = -90.0, maximum = 90.0,
                description = "Latitude of the login in degrees, for the anomaly rule. Send it together with \
                               locLongitude or not at all: one without the other is refused with 400."),
               ("locLongitude" = Option<f64>, Header, nullable = false, minimum = -180.0, maximum = 180.0,
                description = "Longitude of the login in degrees, for the anomaly rule. Send it together with \
                               locLatitude or not at all: one without the other is refused with 400.")),
        // OpenAPI cannot tie two parameters together: say it the way JSON Schema's
        // `dependentRequired` does, for people and for tools that read it.
        extensions(("x-dependent-required" = json!({"locLatitude": ["locLongitude"], "locLongitude": ["locLatitude"]}))),
        responses((status = 200, body = LoginChallengeResponse),
            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
            (status = 423, description = "Locked after repeated wrong passwords", body = ErrorBody,
                headers(("Retry-After" = u64, description = "Seconds until the lock lifts"))),
            (status = 429, description = "Throttled: nothing was done", body = ErrorBody,
                headers(("Retry-After" = u64, description = "Seconds to wait"))))
    }
}

both_route_sets! {
    /// Pre-login verify: the 2FA OTP for `{code, token}`.
    pre_login_verify_gateway = "/api/v1/pre-login-verify",
    pre_login_verify_service = "/ciamauthsrvc/auth/mfa/prelogin/verify",
    via pre_login_verify(PreLoginVerifyBody), {
        security(("deviceToken" = [])),
        responses((status = 200, body = CodeResponse),
            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
    }
}

both_route_sets! {
    /// Access token: code, PKCE verifier, `state`, `scope` and redirect URI for a token set.
    access_token_gateway = "/api/v1/access-token",
    access_token_service = "/ciamauthsrvc/internetBanking/oauth/accessToken",
    via access_token(AccessTokenBody), {
        security(("codeToken" = [])),
        responses((status = 200, body = TokenSet),
            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
    }
}

both_route_sets! {
    /// Revoke: ends the session of the access token.
    revoke_gateway = "/api/v1/revoke-token",
    revoke_service = "/ciamauthsrvc/internetBanking/oauth/revoke",
    via revoke(RevokeBody), {
        security(("accessToken" = [])),
        responses((status = 200, body = SuccessBody),
            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
    }
}

both_route_sets! {
    /// Refresh: rotates the refresh token; reusing an old one revokes the session.
    refresh_gateway = "/api/v1/refresh-token",
    refresh_service = "/ciamauthsrvc/internetBanking/oauth/accessToken/refresh",
    via refresh(CiamRefreshBody), {
        responses((status = 200, body = TokenSet),
            (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
    }
}

/// Captcha: a new captcha for the login challenge, replacing any earlier one.
#[utoipa::path(get, path = "/api/v1/captcha", tag = "internet-banking",
    security(("checkIdentity" = [])),
    responses((status = 200, body = CaptchaResponse),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn captcha(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let result = app
        .captcha(header(&headers, "checkidentity"), Timestamp::now())
        .await;
    reply(StatusCode::OK, result)
}

/// Authorize at [`REDIRECT_TO`](crate::deviation::REDIRECT_TO), where the `redirectStep`
/// deviation sends it: mounted only with that deviation on, and not in the OpenAPI document
/// (which describes the contract).
pub async fn authorize_moved(
    State(app): State<Shared>,
    headers: HeaderMap,
    WireJson(body): WireJson<AuthorizeBody>,
) -> Response {
    authorize(app, headers, body).await
}

async fn authorize(app: Shared, headers: HeaderMap, body: AuthorizeBody) -> Response {
    let result = app
        .authorize(bearer(&headers), body, Timestamp::now())
        .await;
    reply(StatusCode::OK, result)
}

async fn login_challenge(app: Shared, headers: HeaderMap, body: LoginChallengeBody) -> Response {
    // The location headers are checked after the body, so a bad body is reported first.
    let result = match location(&headers) {
        Ok(here) => {
            let now = Timestamp::now();
            app.login_challenge(bearer(&headers), here, body, now).await
        }
        Err(e) => Err(e),
    };
    reply(StatusCode::OK, result)
}

async fn pre_login_verify(app: Shared, headers: HeaderMap, body: PreLoginVerifyBody) -> Response {
    let result = app
        .pre_login_verify(bearer(&headers), body, Timestamp::now())
        .await;
    reply(StatusCode::OK, result)
}

async fn access_token(app: Shared, headers: HeaderMap, body: AccessTokenBody) -> Response {
    let result = app
        .access_token(bearer(&headers), body, Timestamp::now())
        .await;
    reply(StatusCode::OK, result)
}

async fn revoke(app: Shared, headers: HeaderMap, body: RevokeBody) -> Response {
    let result = app.revoke(bearer(&headers), body, Timestamp::now()).await;
    reply(StatusCode::OK, result)
}

async fn refresh(app: Shared, _headers: HeaderMap, body: CiamRefreshBody) -> Response {
    let result = app.ciam_refresh(body, Timestamp::now()).await;
    reply(StatusCode::OK, result)
}
