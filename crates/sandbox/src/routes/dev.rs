//! Developer routes: the public key, the OTP outbox, a session probe and the OpenAPI document.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Shared, bearer, reply};
use crate::error::{ApiError, ErrorBody};
use crate::store::OutboxEntry;
use crate::time::Timestamp;
use crate::tokens::Api;

/// The OpenAPI document as served, shared by the router.
#[derive(Clone, Debug)]
pub struct OpenApiJson(pub Arc<str>);

/// The credential-envelope public key as a JWK set: `{"keys": [jwk]}`.
#[utoipa::path(get, path = "/api/v1/jwks.json", tag = "internet-banking",
    responses((status = 200, description = "A JWK set with the server's P-256 key", content_type = "application/json")))]
pub async fn jwks(State(app): State<Shared>) -> Response {
    let body = format!(r#"{{"keys":[{}]}}"#, app.key.public_jwk());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The OTPs "sent" so far, oldest first (`/_sandbox/outbox.html` shows them newest first).
#[utoipa::path(get, path = "/_sandbox/outbox", tag = "sandbox",
    responses((status = 200, body = Vec<OutboxEntry>)))]
pub async fn outbox(State(app): State<Shared>) -> Response {
    reply(
        StatusCode::OK,
        Ok::<_, ApiError>(app.store.outbox().entries().await),
    )
}

/// Sessions started and the refresh requests per session family so far (for tests that count
/// the refreshes reaching the bank).
#[utoipa::path(get, path = "/_sandbox/refreshes", tag = "sandbox",
    responses((status = 200, body = crate::app::RefreshCounts)))]
pub async fn refreshes(State(app): State<Shared>) -> Response {
    reply(
        StatusCode::OK,
        Ok::<_, ApiError>(app.refresh_counter.counts()),
    )
}

/// What a live access token belongs to (a probe for tests: revoked or rotated tokens get 401).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// The user.
    pub user: String,
    /// The scope.
    pub scope: String,
    /// The session id.
    pub session_state: String,
    /// `realm` or `ciam`.
    pub api: String,
}

/// Probes an access token of either API.
#[utoipa::path(get, path = "/_sandbox/session", tag = "sandbox",
    security(("accessToken" = [])),
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody)))]
pub async fn session(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let now = Timestamp::now();
    let result = async {
        let token = bearer(&headers)
            .ok_or_else(|| ApiError::invalid_token("send Authorization: Bearer <accessToken>"))?;
        for api in [Api::Realm, Api::Ciam] {
            if let Ok(id) = app.session_of_access(api, token, now).await {
                let family = app
                    .store
                    .sessions()
                    .get(&id)
                    .await
                    .ok_or_else(|| ApiError::invalid_token("session ended"))?;
                let api = if api == Api::Realm { "realm" } else { "ciam" };
                return Ok(SessionInfo {
                    user: family.user,
                    scope: family.scope,
                    session_state: id,
                    api: api.into(),
                });
            }
        }
        Err(ApiError::invalid_token(
            "unknown, expired or revoked access token",
        ))
    }
    .await;
    reply(StatusCode::OK, result)
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "sandbox",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json")))]
pub async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.to_string(),
    )
        .into_response()
}
