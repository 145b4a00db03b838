//! reqwest as the transport, in a few lines, through login-core's `http` conversions
//! (`Request::to_http`, `Response: From<http::Response<Vec<u8>>>`), then a whole realm login
//! with OTP on the async driver.
//!
//! Run it with `cargo run -p login-transport --example reqwest_transport`: it starts the sandbox
//! bank on a loopback port, logs bob in and exits. login-transport is used with only its
//! `tokio` feature's parts (`AsyncDriver`), as a service with its own client would depend on
//! it: `default-features = false, features = ["tokio"]`.

use std::time::Duration;

use login_core::TransportErrorKind as Kind;
use login_core::realm::{RealmConfig, Start};
use login_core::secret::{ClientSecret, Otp, Password};
use login_core::{Answer, Bank, Question, Request, Response, Runner, TransportError};
use login_sandbox::config::TEST_CLIENT_SECRET;
use login_sandbox::{Sandbox, SandboxConfig};
use login_transport::{AsyncDriver, AsyncTransport, Interaction};

/// The largest response body read: a login answer is a few hundred bytes.
const BODY_CAP: usize = 1 << 20;

/// A transport on a reqwest client.
struct ReqwestTransport {
    client: reqwest::Client,
    base: String,
}

impl ReqwestTransport {
    fn new(base: &str) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            // The transport contract: a 3xx comes back as a response, never followed.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            // Environment proxies would bypass the HTTPS rule; a real bank URL is https://
            // (add `.https_only(true)` there).
            .no_proxy()
            .build()?;
        Ok(Self {
            client,
            base: base.to_owned(),
        })
    }
}

fn error(kind: Kind, e: &dyn std::fmt::Display) -> TransportError {
    // reqwest's texts name the URL, never a request body.
    TransportError::new(kind, e.to_string())
}

fn kind_of(e: &reqwest::Error) -> Kind {
    if e.is_timeout() {
        Kind::Timeout
    } else if e.is_connect() {
        Kind::Connect
    } else {
        Kind::Other
    }
}

impl AsyncTransport for ReqwestTransport {
    async fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let outgoing = request
            .to_http(&self.base)
            .map_err(|e| error(Kind::Other, &e))?;
        let outgoing = reqwest::Request::try_from(outgoing).map_err(|e| error(Kind::Other, &e))?;
        let mut answer = self
            .client
            .execute(outgoing)
            .await
            .map_err(|e| error(kind_of(&e), &e))?;
        let mut incoming = http::Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            incoming = incoming.header(name, value);
        }
        // Read chunk by chunk against the cap, so a hostile server cannot fill the memory.
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(|e| error(kind_of(&e), &e))? {
            if body.len() + chunk.len() > BODY_CAP {
                return Err(error(
                    Kind::BodyTooLarge,
                    &"the response body is over the cap",
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let incoming = incoming.body(body).map_err(|e| error(Kind::Other, &e))?;
        Ok(Response::from(incoming))
    }
}

/// The user typing the code the bank sent (the sandbox's test OTP).
struct TypedOtp;

impl Interaction for TypedOtp {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        match question {
            Question::Otp { refused: false, .. } => Some(Answer::Otp(Otp::new("123456"))),
            _ => None,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bank = Sandbox::start(SandboxConfig::for_tests()).await?;
    let driver = AsyncDriver::new(ReqwestTransport::new(&bank.realm_base_url())?);

    let realm = RealmConfig::new("cap", "cap-mobile", ClientSecret::new(TEST_CLIENT_SECRET));
    let start = Runner::login(Start::new("bob", Password::new("bob-password")));
    let session = driver
        .login(Bank::Realm(&realm), start, &mut TypedOtp)
        .await?;
    println!(
        "logged in over reqwest: {} session, access token expires at {:?}",
        session.api().as_str(),
        session.tokens().expires_at()
    );
    bank.shutdown().await;
    Ok(())
}
