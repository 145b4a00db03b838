//! An axum service that logs users in with the realm API and waits for the OTP across requests:
//!
//! - `POST /login {"username","password"}` starts the login. When the bank sends an OTP, the
//!   run stops at `MfaPending`; the service keeps the flow's snapshot under a fresh login id and
//!   answers `202 {"loginId": ..., "otp": "sent"}`.
//! - `POST /login/{id}/otp {"otp"}` resumes the kept flow with the code: `200` once logged in.
//!
//! Run it with `cargo run -p login-transport --example axum_mfa`: it starts the sandbox bank,
//! serves the app on a loopback port, drives both requests itself with reqwest, and exits.
//!
//! A real service keeps snapshots sealed and with an expiry (login-store does both, in memory or
//! in Redis), and reads the bank's client secret from its environment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use login_core::entropy::{Entropy, OsEntropy};
use login_core::realm::{RealmConfig, Start};
use login_core::secret::{ClientSecret, Otp, Password, SecretBytes};
use login_core::{Answer, Bank, Flow, Question, Runner, StopReason};
use login_sandbox::config::TEST_CLIENT_SECRET;
use login_sandbox::{Sandbox, SandboxConfig};
use login_transport::{AsyncDriver, HyperTransport, Interaction, TransportConfig};
use serde_json::{Value, json};

/// What the handlers share: the driver (one transport, so finished logins hand their
/// connection to the next) and the paused logins.
struct App {
    driver: AsyncDriver<HyperTransport>,
    realm: RealmConfig,
    paused: Mutex<HashMap<String, SecretBytes>>,
}

/// Answers nothing: the run stops where it needs a person, and the flow comes back.
struct AskLater;

impl Interaction for AskLater {
    fn ask(&mut self, _question: &Question<'_>) -> Option<Answer> {
        None
    }
}

/// Answers the first OTP question with the code the user typed; a refused code stops the run
/// (the user types another on the next request).
struct TypedOtp(Option<Otp>);

impl Interaction for TypedOtp {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        match question {
            Question::Otp { refused: false, .. } => self.0.take().map(Answer::Otp),
            _ => None,
        }
    }
}

type Reply = (StatusCode, Json<Value>);

fn reply(status: StatusCode, body: Value) -> Reply {
    (status, Json(body))
}

async fn start_login(State(app): State<Arc<App>>, Json(body): Json<Value>) -> Reply {
    let (Some(username), Some(password)) = (body["username"].as_str(), body["password"].as_str())
    else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "username and password"}),
        );
    };
    let start = Runner::login(Start::new(username, Password::new(password)));
    match app
        .driver
        .run(Bank::Realm(&app.realm), start, &mut AskLater)
        .await
    {
        Ok(flow) => logged_in(flow),
        Err(stopped) => match (stopped.reason, stopped.flow) {
            // The bank sent an OTP: keep the flow until the user types it.
            (StopReason::NoAnswer(_), Some(flow)) => {
                let Ok(id) = login_id() else {
                    return reply(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        json!({"error": "entropy"}),
                    );
                };
                app.paused
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id.clone(), flow.to_snapshot());
                reply(StatusCode::ACCEPTED, json!({"loginId": id, "otp": "sent"}))
            }
            (reason, _) => refused(&reason),
        },
    }
}

async fn submit_otp(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Reply {
    let Some(otp) = body["otp"].as_str() else {
        return reply(StatusCode::BAD_REQUEST, json!({"error": "otp"}));
    };
    let snapshot = app
        .paused
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
    let Some(snapshot) = snapshot else {
        return reply(StatusCode::NOT_FOUND, json!({"error": "no such login"}));
    };
    // The snapshot is checked (format version, every state invariant) on the way back in.
    let flow = match Flow::from_snapshot(snapshot.expose()) {
        Ok(flow) => flow,
        Err(e) => return reply(StatusCode::GONE, json!({"error": e.to_string()})),
    };
    let mut typed = TypedOtp(Some(Otp::new(otp)));
    match app
        .driver
        .resume(Bank::Realm(&app.realm), flow, &mut typed)
        .await
    {
        Ok(flow) => logged_in(flow),
        Err(stopped) => {
            // A refused OTP keeps the flow: put it back for the next try.
            if let Some(flow) = stopped.flow {
                app.paused
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id, flow.to_snapshot());
            }
            refused(&stopped.reason)
        }
    }
}

fn logged_in(flow: Flow) -> Reply {
    match flow.into_session() {
        // A real service keeps the session (a `TokenKeeper`, see axum_keeper.rs) and never
        // shows the tokens.
        Ok(session) => reply(
            StatusCode::OK,
            json!({"loggedIn": true, "api": session.api().as_str()}),
        ),
        Err(flow) => reply(
            StatusCode::CONFLICT,
            json!({"error": format!("stopped at {:?}", flow.state_id())}),
        ),
    }
}

fn refused(reason: &StopReason) -> Reply {
    let kind = match reason {
        StopReason::Failed(e) => e.kind().as_str(),
        StopReason::NoAnswer(_) => "no_answer",
    };
    reply(StatusCode::UNAUTHORIZED, json!({"error": kind}))
}

/// 16 random bytes as hex: not guessable, so one user cannot finish another's login.
fn login_id() -> Result<String, login_core::Error> {
    let mut bytes = [0u8; 16];
    OsEntropy.fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/login", post(start_login))
        .route("/login/{id}/otp", post(submit_otp))
        .with_state(app)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The bank: the sandbox, whose test users get the OTP 123456.
    let bank = Sandbox::start(SandboxConfig::for_tests()).await?;
    let transport = HyperTransport::new(TransportConfig::new(&bank.realm_base_url())?)?;
    let app = Arc::new(App {
        driver: AsyncDriver::new(transport),
        realm: RealmConfig::new("cap", "cap-mobile", ClientSecret::new(TEST_CLIENT_SECRET)),
        paused: Mutex::new(HashMap::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, router(app)).await });

    // The user's side: bob has OTP login.
    let client = reqwest::Client::new();
    let started = client
        .post(format!("{url}/login"))
        .json(&json!({"username": "bob", "password": "bob-password"}))
        .send()
        .await?;
    println!("POST /login -> {}", started.status());
    let started: Value = started.json().await?;
    let id = started["loginId"].as_str().ok_or("no login id")?;

    let finished = client
        .post(format!("{url}/login/{id}/otp"))
        .json(&json!({"otp": "123456"}))
        .send()
        .await?;
    let status = finished.status();
    println!(
        "POST /login/{{id}}/otp -> {status} {}",
        finished.text().await?
    );

    server.abort();
    bank.shutdown().await;
    if status != reqwest::StatusCode::OK {
        return Err(format!("the login did not finish: {status}").into());
    }
    Ok(())
}
