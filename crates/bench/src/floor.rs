//! The hand-written floor clients: the same HTTP requests as the engine sends, in the same
//! order, with the same headers and bodies, written directly against the HTTP client and
//! serde_json, with no engine in between. Sealing uses login-core's `JweSealer`, the same cost
//! as the engine pays (item 2 measures it on its own).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use login_core::entropy::OsEntropy;
use login_core::seal::{CredentialSealer, JweSealer};
use serde::{Deserialize, Serialize};

use crate::setup::creds;

/// A floor failure: which step and why.
#[derive(Debug)]
pub struct FloorError(pub String);

impl std::fmt::Display for FloorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FloorError {}

fn fail(step: &str, e: impl std::fmt::Display) -> FloorError {
    FloorError(format!("{step}: {e}"))
}

// The request and response bodies, as plain structs.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RealmLogin<'a> {
    username: &'a str,
    password: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RealmLoginReply {
    req_id: String,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RealmToken<'a> {
    req_id: &'a str,
    scope: [&'a str; 1],
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tokens {
    access_token: String,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Authorize<'a> {
    client_id: &'a str,
    code_challenge: &'a str,
    code_challenge_method: &'a str,
    scope: &'a str,
    state: &'a str,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizeReply {
    login_challenge: String,
    auth_token: String,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    auth_token: &'a str,
    username: &'a str,
    password: &'a str,
    iat: u64,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginChallenge<'a> {
    auth_token: &'a str,
    login_challenge: &'a str,
}
#[derive(Deserialize)]
struct CodeToken {
    code: String,
    token: String,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccessToken<'a> {
    client_id: &'a str,
    code: &'a str,
    code_verifier: &'a str,
    grant_type: &'a str,
    redirect_uri: &'a str,
    scope: &'a str,
    state: &'a str,
}

/// PKCE verifier, its S256 challenge and a `state`, drawn like the engine draws them.
struct Pkce {
    verifier: String,
    challenge: String,
    state: String,
}

impl Pkce {
    fn new() -> Result<Self, FloorError> {
        use base64::Engine as _;
        use login_core::entropy::Entropy as _;
        use sha2::Digest as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut bytes = [0u8; 48];
        OsEntropy.fill(&mut bytes).map_err(|e| fail("entropy", e))?;
        let verifier = b64.encode(&bytes[..32]);
        let challenge = b64.encode(sha2::Sha256::digest(verifier.as_bytes()));
        let state = b64.encode(&bytes[32..]);
        Ok(Self {
            verifier,
            challenge,
            state,
        })
    }
}

fn seal(sealer: &JweSealer, auth_token: &str, username: &str) -> Result<String, FloorError> {
    let iat = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let plain = serde_json::to_vec(&Envelope {
        auth_token,
        username,
        password: creds::PASSWORD,
        iat,
    })
    .map_err(|e| fail("envelope", e))?;
    let jwe = sealer
        .seal(&plain, &mut OsEntropy)
        .map_err(|e| fail("seal", e))?;
    Ok(jwe.expose().to_owned())
}

fn json<T: Serialize>(step: &str, value: &T) -> Result<Vec<u8>, FloorError> {
    serde_json::to_vec(value).map_err(|e| fail(step, e))
}

fn parse<'a, T: Deserialize<'a>>(step: &str, status: u16, body: &'a [u8]) -> Result<T, FloorError> {
    if !(200..300).contains(&status) {
        return Err(fail(step, format!("status {status}")));
    }
    serde_json::from_slice(body).map_err(|e| fail(step, e))
}

/// The blocking floor: a ureq agent (keep-alive pool, per-phase timeouts so no resolver thread
/// is started per call), requests written by hand.
pub struct BlockingFloor {
    agent: ureq::Agent,
    base: String,
    realm_base: String,
    user_agent: String,
    device_bearer: String,
}

impl BlockingFloor {
    /// A floor client for a sandbox at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str, user_agent: &str) -> Self {
        Self::with_global_timeout(base, user_agent, None)
    }

    /// As [`new`](Self::new), plus ureq's whole-call timeout (what `UreqTransport` sets), to
    /// measure what that timeout alone costs.
    pub fn with_global_timeout(base: &str, user_agent: &str, global: Option<Duration>) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(global)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_recv_response(Some(Duration::from_secs(10)))
            .timeout_recv_body(Some(Duration::from_secs(10)))
            .build();
        Self {
            agent: config.into(),
            base: base.to_owned(),
            realm_base: format!("{base}/internal-api/centaur"),
            user_agent: user_agent.to_owned(),
            device_bearer: format!("Bearer {}", creds::DEVICE_TOKEN),
        }
    }

    fn post(
        &self,
        step: &str,
        url: &str,
        auth: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), FloorError> {
        let mut req = self
            .agent
            .post(url)
            .header("accept", "application/json")
            .header("user-agent", &self.user_agent);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let mut answer = req
            .header("content-type", "application/json")
            .send(&body[..])
            .map_err(|e| fail(step, e))?;
        let status = answer.status().as_u16();
        let body = answer
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| fail(step, e))?;
        Ok((status, body))
    }

    /// A realm login (request login, token); returns the access token's length.
    pub fn realm_login(&self) -> Result<usize, FloorError> {
        let url = format!("{}/auth/realm/{}/request", self.realm_base, creds::REALM);
        let body = json(
            "request login",
            &RealmLogin {
                username: creds::USER,
                password: creds::PASSWORD,
                client_id: creds::CLIENT_ID,
                client_secret: creds::CLIENT_SECRET,
            },
        )?;
        let (status, reply) = self.post("request login", &url, None, body)?;
        let login: RealmLoginReply = parse("request login", status, &reply)?;
        let url = format!("{}/auth/realm/{}/token", self.realm_base, creds::REALM);
        let body = json(
            "token",
            &RealmToken {
                req_id: &login.req_id,
                scope: ["openid"],
            },
        )?;
        let (status, reply) = self.post("token", &url, None, body)?;
        let tokens: Tokens = parse("token", status, &reply)?;
        Ok(tokens.access_token.len())
    }

    /// An internet-banking login (authorize, sealed login challenge, access token).
    pub fn ciam_login(&self, sealer: &JweSealer) -> Result<usize, FloorError> {
        let pkce = Pkce::new()?;
        let body = json(
            "authorize",
            &Authorize {
                client_id: creds::CLIENT_ID,
                code_challenge: &pkce.challenge,
                code_challenge_method: "S256",
                scope: "openid",
                state: &pkce.state,
            },
        )?;
        let url = format!("{}/api/v1/authorize", self.base);
        let (status, reply) = self.post("authorize", &url, Some(&self.device_bearer), body)?;
        let authorized: AuthorizeReply = parse("authorize", status, &reply)?;
        let envelope = seal(sealer, &authorized.auth_token, creds::USER)?;
        let body = json(
            "login challenge",
            &LoginChallenge {
                auth_token: &envelope,
                login_challenge: &authorized.login_challenge,
            },
        )?;
        let url = format!("{}/api/v1/login-challenge", self.base);
        let (status, reply) =
            self.post("login challenge", &url, Some(&self.device_bearer), body)?;
        let ct: CodeToken = parse("login challenge", status, &reply)?;
        let body = json(
            "access token",
            &AccessToken {
                client_id: creds::CLIENT_ID,
                code: &ct.code,
                code_verifier: &pkce.verifier,
                grant_type: "authorization_code",
                redirect_uri: creds::REDIRECT_URI,
                scope: "openid",
                state: &pkce.state,
            },
        )?;
        let url = format!("{}/api/v1/access-token", self.base);
        let bearer = format!("Bearer {}", ct.token);
        let (status, reply) = self.post("access token", &url, Some(&bearer), body)?;
        let tokens: Tokens = parse("access token", status, &reply)?;
        Ok(tokens.access_token.len())
    }
}

/// Counts the connections a pooled client opens, and how many are open now.
#[derive(Debug, Default)]
pub struct ConnCounter {
    /// Connections opened so far.
    pub opened: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
    /// The most open at once.
    pub peak: AtomicU64,
}

/// A TCP stream that decrements the open count when it closes.
pub struct CountedStream {
    inner: hyper_util::rt::TokioIo<tokio::net::TcpStream>,
    counter: Arc<ConnCounter>,
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.counter.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl hyper::rt::Read for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl hyper_util::client::legacy::connect::Connection for CountedStream {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new()
    }
}

/// hyper-util's HTTP connector, counting.
#[derive(Clone)]
pub struct CountingConnector {
    inner: HttpConnector,
    counter: Arc<ConnCounter>,
}

impl tower_service::Service<hyper::Uri> for CountingConnector {
    type Response = CountedStream;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future =
        Pin<Box<dyn Future<Output = Result<CountedStream, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: hyper::Uri) -> Self::Future {
        let fut = self.inner.call(uri);
        let counter = self.counter.clone();
        Box::pin(async move {
            let io = fut.await?;
            counter.opened.fetch_add(1, Ordering::Relaxed);
            let now = counter.open.fetch_add(1, Ordering::Relaxed) + 1;
            counter.peak.fetch_max(now, Ordering::Relaxed);
            Ok(CountedStream { inner: io, counter })
        })
    }
}

/// The async floor: hyper-util's pooled client (one pool shared by every flow), requests
/// written by hand.
#[derive(Clone)]
pub struct AsyncFloor {
    client: Client<CountingConnector, Full<Bytes>>,
    /// Connection counts.
    pub counter: Arc<ConnCounter>,
    base: Arc<str>,
    realm_base: Arc<str>,
    user_agent: Arc<str>,
    device_bearer: Arc<str>,
}

impl AsyncFloor {
    /// A floor client for a sandbox at `base`.
    pub fn new(base: &str, user_agent: &str) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(5)));
        let counter = Arc::new(ConnCounter::default());
        let connector = CountingConnector {
            inner: http,
            counter: counter.clone(),
        };
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Self {
            client,
            counter,
            base: base.into(),
            realm_base: format!("{base}/internal-api/centaur").into(),
            user_agent: user_agent.into(),
            device_bearer: format!("Bearer {}", creds::DEVICE_TOKEN).into(),
        }
    }

    async fn post(
        &self,
        step: &str,
        url: &str,
        auth: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, Bytes), FloorError> {
        let mut req = hyper::Request::post(url)
            .header("accept", "application/json")
            .header("user-agent", &*self.user_agent);
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        let req = req
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| fail(step, e))?;
        let answer = tokio::time::timeout(Duration::from_secs(20), self.client.request(req))
            .await
            .map_err(|e| fail(step, e))?
            .map_err(|e| fail(step, e))?;
        let status = answer.status().as_u16();
        let body = answer
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(step, e))?
            .to_bytes();
        Ok((status, body))
    }

    /// A realm login.
    pub async fn realm_login(&self, username: &str) -> Result<usize, FloorError> {
        let url = format!("{}/auth/realm/{}/request", self.realm_base, creds::REALM);
        let body = json(
            "request login",
            &RealmLogin {
                username,
                password: creds::PASSWORD,
                client_id: creds::CLIENT_ID,
                client_secret: creds::CLIENT_SECRET,
            },
        )?;
        let (status, reply) = self.post("request login", &url, None, body).await?;
        let login: RealmLoginReply = parse("request login", status, &reply)?;
        let url = format!("{}/auth/realm/{}/token", self.realm_base, creds::REALM);
        let body = json(
            "token",
            &RealmToken {
                req_id: &login.req_id,
                scope: ["openid"],
            },
        )?;
        let (status, reply) = self.post("token", &url, None, body).await?;
        let tokens: Tokens = parse("token", status, &reply)?;
        Ok(tokens.access_token.len())
    }

    /// An internet-banking login.
    pub async fn ciam_login(
        &self,
        sealer: &JweSealer,
        username: &str,
    ) -> Result<usize, FloorError> {
        let pkce = Pkce::new()?;
        let body = json(
            "authorize",
            &Authorize {
                client_id: creds::CLIENT_ID,
                code_challenge: &pkce.challenge,
                code_challenge_method: "S256",
                scope: "openid",
                state: &pkce.state,
            },
        )?;
        let url = format!("{}/api/v1/authorize", self.base);
        let (status, reply) = self
            .post("authorize", &url, Some(&self.device_bearer), body)
            .await?;
        let authorized: AuthorizeReply = parse("authorize", status, &reply)?;
        let envelope = seal(sealer, &authorized.auth_token, username)?;
        let body = json(
            "login challenge",
            &LoginChallenge {
                auth_token: &envelope,
                login_challenge: &authorized.login_challenge,
            },
        )?;
        let url = format!("{}/api/v1/login-challenge", self.base);
        let (status, reply) = self
            .post("login challenge", &url, Some(&self.device_bearer), body)
            .await?;
        let ct: CodeToken = parse("login challenge", status, &reply)?;
        let body = json(
            "access token",
            &AccessToken {
                client_id: creds::CLIENT_ID,
                code: &ct.code,
                code_verifier: &pkce.verifier,
                grant_type: "authorization_code",
                redirect_uri: creds::REDIRECT_URI,
                scope: "openid",
                state: &pkce.state,
            },
        )?;
        let url = format!("{}/api/v1/access-token", self.base);
        let bearer = format!("Bearer {}", ct.token);
        let (status, reply) = self.post("access token", &url, Some(&bearer), body).await?;
        let tokens: Tokens = parse("access token", status, &reply)?;
        Ok(tokens.access_token.len())
    }
}
