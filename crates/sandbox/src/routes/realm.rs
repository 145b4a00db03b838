//! Realm API handlers, under `/internal-api/centaur`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{Shared, WireJson, bearer, reply};
use crate::app::TokenSet;
use crate::error::ErrorBody;
use crate::flows::realm::{
    ForgotPasswordBody, RefreshBody, ReqRefResponse, RequestLoginBody, RequestLoginResponse,
    ResetPasswordBody, SuccessBody, TokenBody, VerifyOtpBody,
};
use crate::time::Timestamp;

/// Request login: password and client credentials; `mfa` `otp` sends an OTP.
#[utoipa::path(post, path = "/internal-api/centaur/auth/realm/{realmId}/request", tag = "realm",
    params(("realmId" = String, Path, description = "The realm id")),
    request_body = RequestLoginBody,
    responses(
        (status = 201, body = RequestLoginResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 423, description = "Locked after repeated wrong passwords", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the lock lifts"))),
        (status = 429, description = "Throttled: nothing was done", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn request_login(
    State(app): State<Shared>,
    Path(realm): Path<String>,
    WireJson(body): WireJson<RequestLoginBody>,
) -> Response {
    let result = app
        .realm_request_login(&realm, body, Timestamp::now())
        .await;
    reply(StatusCode::CREATED, result)
}

/// Get access token: `reqId` (and `otp` when `mfa` is `otp`) for a token set.
#[utoipa::path(post, path = "/internal-api/centaur/auth/realm/{realmId}/token", tag = "realm",
    params(("realmId" = String, Path, description = "The realm id")),
    request_body = TokenBody,
    responses(
        (status = 201, body = TokenSet),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn token(
    State(app): State<Shared>,
    Path(realm): Path<String>,
    WireJson(body): WireJson<TokenBody>,
) -> Response {
    let result = app.realm_token(&realm, body, Timestamp::now()).await;
    reply(StatusCode::CREATED, result)
}

/// Refresh token: rotates the refresh token; reusing an old one revokes the session.
#[utoipa::path(patch, path = "/internal-api/centaur/auth/realm/{realmId}/token", tag = "realm",
    params(("realmId" = String, Path, description = "The realm id")),
    request_body = RefreshBody,
    responses(
        (status = 200, body = TokenSet),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn refresh(
    State(app): State<Shared>,
    Path(realm): Path<String>,
    WireJson(body): WireJson<RefreshBody>,
) -> Response {
    let result = app.realm_refresh(&realm, body, Timestamp::now()).await;
    reply(StatusCode::OK, result)
}

/// Request reset password: sends an OTP (an unknown username gets the same answer).
#[utoipa::path(post, path = "/internal-api/centaur/realm/admin/{realmId}/user/forgotPassword", tag = "realm",
    params(("realmId" = String, Path, description = "The realm id")),
    request_body = ForgotPasswordBody,
    responses(
        (status = 201, body = ReqRefResponse),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, description = "Throttled: nothing was done", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn forgot_password(
    State(app): State<Shared>,
    Path(realm): Path<String>,
    WireJson(body): WireJson<ForgotPasswordBody>,
) -> Response {
    let result = app.forgot_password(&realm, body, Timestamp::now()).await;
    reply(StatusCode::CREATED, result)
}

/// Verify OTP: returns the one-time reset ticket as `reqId`.
#[utoipa::path(post, path = "/internal-api/centaur/realm/admin/{realmId}/user/verifyOtp", tag = "realm",
    params(("realmId" = String, Path, description = "The realm id")),
    request_body = VerifyOtpBody,
    responses(
        (status = 201, body = ReqRefResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn verify_otp(
    State(app): State<Shared>,
    Path(realm): Path<String>,
    WireJson(body): WireJson<VerifyOtpBody>,
) -> Response {
    let result = app.verify_otp(&realm, body, Timestamp::now()).await;
    reply(StatusCode::CREATED, result)
}

/// Reset password with `Authorization: Bearer <ticket from verifyOtp>`.
#[utoipa::path(post, path = "/internal-api/centaur/realm/admin/{realmId}/user/resetPassword", tag = "realm",
    params(("realmId" = String, Path, description = "The realm id")),
    security(("resetTicket" = [])),
    request_body = ResetPasswordBody,
    responses(
        (status = 200, body = SuccessBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_password(
    State(app): State<Shared>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    WireJson(body): WireJson<ResetPasswordBody>,
) -> Response {
    let result = app
        .reset_password(&realm, bearer(&headers), body, Timestamp::now())
        .await;
    reply(StatusCode::OK, result)
}
