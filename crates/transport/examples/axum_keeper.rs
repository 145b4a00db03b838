//! A `TokenKeeper` in axum state feeding outgoing API calls: every handler asks the keeper for
//! a bearer token, and the keeper refreshes it ahead of expiry with one request however many
//! handlers ask at once.
//!
//! `GET /balance` calls the bank's resource API (here a stand-in route of this same app that
//! checks the bearer) with the session's access token.
//!
//! Run it with `cargo run -p login-transport --example axum_keeper`: it starts the sandbox bank,
//! logs alice in, serves the app on a loopback port, calls it with reqwest before and after a
//! token refresh, and exits.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use login_core::realm::{RealmConfig, Start};
use login_core::secret::{ClientSecret, Password};
use login_core::{Bank, Profile, Runner};
use login_sandbox::config::TEST_CLIENT_SECRET;
use login_sandbox::{Sandbox, SandboxConfig};
use login_transport::{
    AsyncDriver, HyperTransport, KeeperOptions, NoInteraction, TokenKeeper, TransportConfig,
};
use serde_json::{Value, json};

/// What the handlers share: the keeper (it holds the session) and the client for the bank's
/// resource API.
#[derive(Clone)]
struct AppState {
    keeper: TokenKeeper<HyperTransport>,
    api: reqwest::Client,
    api_url: String,
}

async fn balance(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // Fresh, or refreshed first when it expires within the keeper's margin (60 s).
    let token = match state.keeper.access_token().await {
        Ok(token) => token,
        // `Ended` means log in again; a failed refresh is tried again on the next call.
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                Json(json!({"error": e.to_string()})),
            );
        }
    };
    let answer = state
        .api
        .get(format!("{}/accounts/main/balance", state.api_url))
        .bearer_auth(token.expose())
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status =
                StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let body = answer.json().await.unwrap_or(Value::Null);
            (status, Json(body))
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({"error": e.to_string()})),
        ),
    }
}

/// Stands in for the bank's resource API: it only checks that a bearer token came along.
async fn resource_api(headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| !t.is_empty());
    match bearer {
        Some(_) => (
            StatusCode::OK,
            Json(json!({"balance": "1234.56", "currency": "THB"})),
        ),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "no bearer"})),
        ),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bank = Sandbox::start(SandboxConfig::for_tests()).await?;
    let transport = HyperTransport::new(TransportConfig::new(&bank.realm_base_url())?)?;
    let driver = AsyncDriver::new(transport);

    // Log in once (alice has no OTP); refreshing needs only the non-secret profile.
    let realm = RealmConfig::new("cap", "cap-mobile", ClientSecret::new(TEST_CLIENT_SECRET));
    let start = Runner::login(Start::new("alice", Password::new("alice-password")));
    let session = driver
        .login(Bank::Realm(&realm), start, &mut NoInteraction)
        .await?;
    let profile = Profile::from(realm.profile().clone());
    let options = KeeperOptions::default().on_new_tokens(|tokens| {
        // Persist them here (sealed: login-store does it); never log them.
        println!("new tokens, expiring at {:?}", tokens.expires_at());
    });
    let keeper = TokenKeeper::new(driver, profile, session, options);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = AppState {
        keeper: keeper.clone(),
        api: reqwest::Client::new(),
        api_url: format!("{url}/bank-api"),
    };
    let app = Router::new()
        .route("/balance", get(balance))
        .route("/bank-api/accounts/main/balance", get(resource_api))
        .with_state(state);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let first = client.get(format!("{url}/balance")).send().await?;
    println!("GET /balance -> {} {}", first.status(), first.text().await?);
    // As if the token were about to expire: the next call goes out with the rotated one.
    keeper.refresh().await?;
    let second = client.get(format!("{url}/balance")).send().await?;
    let status = second.status();
    println!("GET /balance -> {status} {}", second.text().await?);
    println!("refreshes so far: {}", keeper.refresh_attempts());

    server.abort();
    bank.shutdown().await;
    if status != reqwest::StatusCode::OK || keeper.refresh_attempts() != 1 {
        return Err("the keeper did not feed the API call".into());
    }
    Ok(())
}
