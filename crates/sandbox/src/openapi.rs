//! The router and the OpenAPI 3 document, built from the same annotated handlers.
//!
//! Each `routes!(...)` below both mounts a handler and adds its `#[utoipa::path]` to the
//! document, so a route cannot be served without being documented, or documented without
//! being served. `GET /openapi.json` serves the result (no Swagger UI).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::ThrottleKind;
use crate::error::{ApiError, ErrorCode};
use crate::routes::dev::OpenApiJson;
use crate::routes::{Shared, ciam, dev, realm};
use crate::time::Timestamp;

/// The document's header; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "login-sandbox",
        description = "Reference bank auth server: the realm API (under /internal-api/centaur) and the \
                       internet-banking API (gateway and service routes), per the project's wire contract. \
                       Every error is {\"error\": code, \"message\": text}."
    ),
    tags(
        (name = "realm", description = "Realm API (seed 000)"),
        (name = "internet-banking", description = "Internet-banking login (seed 001), both route sets"),
        (name = "sandbox", description = "Developer conveniences")
    )
)]
pub struct ApiDoc;

/// The mounted routes and their document.
pub fn documented_router() -> (Router<Shared>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        // Realm API.
        .routes(routes!(realm::request_login))
        .routes(routes!(realm::token, realm::refresh))
        .routes(routes!(realm::forgot_password))
        .routes(routes!(realm::verify_otp))
        .routes(routes!(realm::reset_password))
        // Internet banking, gateway routes.
        .routes(routes!(ciam::authorize_gateway))
        .routes(routes!(ciam::captcha))
        .routes(routes!(ciam::login_challenge_gateway))
        .routes(routes!(ciam::pre_login_verify_gateway))
        .routes(routes!(ciam::access_token_gateway))
        .routes(routes!(ciam::revoke_gateway))
        .routes(routes!(ciam::refresh_gateway))
        // Internet banking, service routes.
        .routes(routes!(ciam::authorize_service))
        .routes(routes!(ciam::login_challenge_service))
        .routes(routes!(ciam::pre_login_verify_service))
        .routes(routes!(ciam::access_token_service))
        .routes(routes!(ciam::revoke_service))
        .routes(routes!(ciam::refresh_service))
        // Developer routes.
        .routes(routes!(dev::jwks))
        .routes(routes!(dev::outbox))
        .routes(routes!(dev::session))
        .routes(routes!(dev::refreshes))
        .routes(routes!(dev::openapi_json))
        .split_for_parts()
}

/// The whole server: routes, JSON fallbacks, body limit and the per-address throttle.
pub fn router(app: Shared) -> Router {
    let (routes, doc) = documented_router();
    let json = doc
        .to_json()
        .unwrap_or_else(|e| format!(r#"{{"error":"server_error","message":"{e}"}}"#));
    routes
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(Extension(OpenApiJson(json.into())))
        .layer(DefaultBodyLimit::max(app.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            throttle_by_address,
        ))
        .with_state(app)
}

async fn no_route(method: Method, uri: Uri) -> Response {
    ApiError::not_found(format!(
        "no route for {method} {}; see /openapi.json",
        uri.path()
    ))
    .into_response()
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    let status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    ApiError::new(
        status,
        ErrorCode::InvalidRequest,
        format!("{method} is not allowed on {}", uri.path()),
    )
    .into_response()
}

/// 429 when the client address exceeds `throttle.requestsPerIp` (off by default).
async fn throttle_by_address(State(app): State<Shared>, request: Request, next: Next) -> Response {
    if app.config.throttle.requests_per_ip.is_some() {
        if let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
            if let Err(e) = app
                .throttle(ThrottleKind::Ip, &addr.ip().to_string(), Timestamp::now())
                .await
            {
                return e.into_response();
            }
        }
    }
    next.run(request).await
}
