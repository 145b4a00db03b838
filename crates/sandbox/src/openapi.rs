//! The router and the OpenAPI 3 document, built from the same annotated handlers.
//!
//! Each `routes!(...)` below both mounts a handler and adds its `#[utoipa::path]` to the
//! document, so an API route cannot be served without being documented, or documented without
//! being served. `GET /openapi.json` serves the result; `GET /docs/` renders it with Swagger
//! UI (vendored: no CDN). The pages for people (`GET /`, `GET /_sandbox/outbox.html`) and
//! Swagger UI's files are not API routes and are not in the document.
//!
//! # What the document promises
//!
//! Every check the server makes on a request's shape is in the schema, so a request that is
//! valid by the schema is refused only for what the schema cannot know (a wrong password, an
//! unknown or used id, a throttle): the constant `grantType`s, `codeChallengeMethod` `S256`,
//! the PKCE challenge and verifier patterns, required fields (also those read as optional to
//! give a precise message), the registered redirect URIs, the `newPassword` length, the
//! coordinate ranges of the location headers, the bearer tokens and the `checkIdentity`
//! header as security schemes, `413` on every body and `429` everywhere when the per-address
//! throttle is on. Values that come from the configuration (redirect URIs, the shortest new
//! password, the realm id example, the body limit) are written in by [`document`].
//!
//! One rule OpenAPI cannot state for parameters: `locLatitude` and `locLongitude` are sent
//! together or not at all (400 otherwise). Their descriptions say so, and the operation
//! carries it as `x-dependent-required` (JSON Schema's `dependentRequired`, applied to the
//! headers), which the CI's schemathesis hooks read.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::ThrottleKind;
use crate::config::SandboxConfig;
use crate::deviation::Deviation;
use crate::error::{ApiError, ErrorCode};
use crate::routes::dev::OpenApiJson;
use crate::routes::{Shared, ciam, dev, pages, realm};
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
    ),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The bearer tokens and the captcha's `checkIdentity` header, named by the operations'
/// `security(...)`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "deviceToken",
            bearer("A device identity token: one of the configuration's `deviceTokens`."),
        );
        components.add_security_scheme(
            "codeToken",
            bearer("The `token` returned with the authorization code by login challenge or pre-login verify."),
        );
        components.add_security_scheme("accessToken", bearer("An `accessToken` from a token set."));
        components.add_security_scheme(
            "resetTicket",
            bearer("The one-time reset ticket returned as `reqId` by verify OTP."),
        );
        components.add_security_scheme(
            "checkIdentity",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "checkIdentity",
                "The `loginChallenge` from authorize.",
            ))),
        );
    }
}

/// The mounted API routes and their document (before [`document`]'s configured values).
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

/// The document as served for `config`: the annotations plus the values that come from the
/// configuration (see the module docs).
pub fn document(config: &SandboxConfig) -> Value {
    let (_, doc) = documented_router();
    with_config(&doc, config)
}

fn with_config(doc: &utoipa::openapi::OpenApi, config: &SandboxConfig) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_else(|e| {
        json!({"openapi": "3.1.0", "info": {"title": "login-sandbox", "version": "0",
               "description": format!("the document could not be built: {e}")}, "paths": {}})
    });
    apply_config(&mut doc, config);
    doc
}

/// Writes the configured values into the document.
fn apply_config(doc: &mut Value, config: &SandboxConfig) {
    if !config.deviations.is_empty()
        && let Some(Value::String(description)) = doc.pointer_mut("/info/description")
    {
        let keys: Vec<&str> = config.deviations.iter().map(|d| d.as_str()).collect();
        description.push_str(&format!(
            " This server runs with deviations switched on ({}): it departs from this document \
             on purpose (see the sandbox's `deviation` module).",
            keys.join(", ")
        ));
    }
    let schemas = "/components/schemas";
    if let Some(uri) = doc.pointer_mut(&format!("{schemas}/AccessTokenBody/properties/redirectUri"))
    {
        uri["enum"] = json!(config.redirect_uris);
    }
    if let Some(password) = doc.pointer_mut(&format!(
        "{schemas}/ResetPasswordBody/properties/newPassword"
    )) {
        password["minLength"] = json!(config.min_password_length);
    }
    let too_large = json!({
        "description": format!(
            "The body is larger than the server accepts ({} bytes)", config.max_body_bytes),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    });
    let throttled = json!({
        "description": "Too many requests from this address (throttle.requestsPerIp); see Retry-After",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(Value::as_object_mut)
    {
        if let Some(params) = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        {
            for param in params.iter_mut().filter(|p| p["name"] == "realmId") {
                param["example"] = json!(config.realm);
            }
        }
        let has_body = operation.contains_key("requestBody");
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        if has_body {
            responses.insert("413".into(), too_large.clone());
        }
        if config.throttle.requests_per_ip.is_some() {
            responses.entry("429").or_insert_with(|| throttled.clone());
        }
    }
}

/// The whole server: API routes, pages, Swagger UI, JSON fallbacks, body limit, the
/// per-address throttle and the request log.
pub fn router(app: Shared) -> Router {
    let (routes, doc) = documented_router();
    let json = serde_json::to_string(&with_config(&doc, &app.config))
        .unwrap_or_else(|e| format!(r#"{{"error":"server_error","message":"{e}"}}"#));
    let swagger = utoipa_swagger_ui::SwaggerUi::new("/docs").config(
        // The sandbox serves the document itself; no online validator badge.
        utoipa_swagger_ui::Config::new(["/openapi.json"]).validator_url("none"),
    );
    let routes = if app.deviates(Deviation::RedirectStep) {
        routes.route(
            crate::deviation::REDIRECT_TO,
            axum::routing::post(ciam::authorize_moved),
        )
    } else {
        routes
    };
    let routes = routes
        .route("/", get(pages::index))
        .route("/_sandbox/outbox.html", get(pages::outbox))
        .merge(swagger)
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method);
    // Inside the throttle and the log, around every route: the deviations' dialect, mounted
    // only when one is on (the contract's server pays nothing for it).
    let routes = if app.config.deviations.is_empty() {
        routes
    } else {
        routes.layer(middleware::from_fn_with_state(
            app.clone(),
            crate::deviation::adapt,
        ))
    };
    routes
        .layer(Extension(OpenApiJson(json.into())))
        .layer(DefaultBodyLimit::max(app.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            throttle_by_address,
        ))
        // Outermost, so throttled and refused requests are logged too.
        .layer(crate::request_log::layer())
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
    if app.config.throttle.requests_per_ip.is_some()
        && let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(e) = app
            .throttle(ThrottleKind::Ip, &addr.ip().to_string(), Timestamp::now())
            .await
    {
        return e.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_values_are_written_into_the_document() {
        let mut config = SandboxConfig::for_tests();
        config.min_password_length = 12;
        config.redirect_uris = vec!["https://a.example/cb".into(), "app://cb".into()];
        let doc = document(&config);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["AccessTokenBody"]["properties"]["redirectUri"]["enum"],
            json!(["https://a.example/cb", "app://cb"])
        );
        assert_eq!(
            schemas["ResetPasswordBody"]["properties"]["newPassword"]["minLength"],
            json!(12)
        );
        let request = &doc["paths"]["/internal-api/centaur/auth/realm/{realmId}/request"]["post"];
        assert!(request["responses"].get("413").is_some());
        assert!(
            request["responses"].get("429").is_some(),
            "login has its own 429"
        );
        let jwks = &doc["paths"]["/api/v1/jwks.json"]["get"];
        assert!(
            jwks["responses"].get("429").is_none(),
            "requestsPerIp is off"
        );
        let realm_param = request["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "realmId"));
        assert_eq!(realm_param.map(|p| &p["example"]), Some(&json!("cap")));
    }
}
