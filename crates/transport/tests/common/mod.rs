//! A scripted, misbehaving HTTP/1.1 server on 127.0.0.1 for transport tests, and a uniform way
//! to call either transport from a blocking test.
#![allow(dead_code)]

pub mod tls;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use login_core::realm::{RealmConfig, Start};
use login_core::secret::{ClientSecret, Password};
use login_core::{Request, Response, TransportError};
use login_transport::{AsyncTransport, HyperTransport, Transport, TransportConfig, UreqTransport};

/// A loopback server: every accepted connection runs `handler` on its own thread.
pub struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start<F>(handler: F) -> Server
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        Self::serve(listener, handler)
    }

    pub fn serve<F>(listener: TcpListener, handler: F) -> Server
    where
        F: Fn(TcpStream) + Send + Sync + 'static,
    {
        let addr = listener.local_addr().expect("local addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let (acc, st) = (accepted.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let _ = stream.set_nodelay(true);
                acc.fetch_add(1, Ordering::SeqCst);
                let h = handler.clone();
                std::thread::spawn(move || h(stream));
            }
        });
        Server {
            addr,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The request head (lower-cased) and body, or `None` when the client closed first.
pub fn read_request<S: Read>(stream: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => return None,
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let len = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).ok()?;
    Some((head, body))
}

pub fn respond<S: Write>(
    stream: &mut S,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> bool {
    let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    // One write: a head and a body in two small segments would meet Nagle and delayed ACKs.
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).is_ok()
}

/// Serves `status`/`body` to every request on every connection (keep-alive) until the client
/// closes.
pub fn keep_alive_ok(body: &'static [u8]) -> impl Fn(TcpStream) + Send + Sync + 'static {
    move |mut s: TcpStream| {
        while read_request(&mut s).is_some() {
            if !respond(&mut s, 201, &[("content-type", "application/json")], body) {
                break;
            }
        }
    }
}

/// Sends an RST instead of a FIN on close.
pub fn reset(stream: TcpStream) {
    let sock = socket2::SockRef::from(&stream);
    let _ = sock.set_linger(Some(Duration::ZERO));
    drop(stream);
}

pub fn shutdown(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Both);
}

/// A real request description: the realm login call (POST with a JSON body).
pub fn login_request() -> Request {
    let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("test-client-secret"));
    Start::new("alice", Password::new("test-password"))
        .request_login(&cfg)
        .0
}

/// Either transport, called from a blocking test.
pub trait Client {
    const NAME: &'static str;
    /// Sends each request in turn over one transport (one session for the async one).
    fn call_all(
        cfg: TransportConfig,
        requests: &[Request],
    ) -> Vec<Result<Response, TransportError>> {
        Self::call_paced(cfg, requests, Duration::ZERO)
    }

    /// As `call_all`, pausing `pause` after each call.
    fn call_paced(
        cfg: TransportConfig,
        requests: &[Request],
        pause: Duration,
    ) -> Vec<Result<Response, TransportError>>;

    fn call(cfg: TransportConfig, request: &Request) -> Result<Response, TransportError> {
        Self::call_all(cfg, std::slice::from_ref(request)).remove(0)
    }
}

pub struct Ureq;

impl Client for Ureq {
    const NAME: &'static str = "ureq";
    fn call_paced(
        cfg: TransportConfig,
        requests: &[Request],
        pause: Duration,
    ) -> Vec<Result<Response, TransportError>> {
        let t = UreqTransport::new(cfg).expect("ureq transport");
        requests
            .iter()
            .map(|r| {
                let out = t.send(r);
                std::thread::sleep(pause);
                out
            })
            .collect()
    }
}

pub struct Hyper;

impl Client for Hyper {
    const NAME: &'static str = "hyper";
    fn call_paced(
        cfg: TransportConfig,
        requests: &[Request],
        pause: Duration,
    ) -> Vec<Result<Response, TransportError>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let t = HyperTransport::new(cfg).expect("hyper transport");
            let session = t.session();
            let mut out = Vec::new();
            for r in requests {
                out.push(session.send(r).await);
                tokio::time::sleep(pause).await;
            }
            out
        })
    }
}

/// One scripted answer.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Canned {
    pub fn new(status: u16, body: &str) -> Self {
        Canned {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
    /// Headers promising 100 bytes, 2 bytes of body, then the connection closes.
    pub fn cut_off() -> Self {
        Canned::new(0, "")
    }
}

/// A keep-alive server that answers each request with `answer(request_line, body)` and keeps
/// every request line it saw.
pub struct Scripted {
    pub server: Server,
    pub seen: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Scripted {
    pub fn start<F>(answer: F) -> Scripted
    where
        F: Fn(&str, &[u8]) -> Canned + Send + Sync + 'static,
    {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let server = Server::start(move |mut s| {
            while let Some((head, body)) = read_request(&mut s) {
                let line = head.lines().next().unwrap_or_default().to_string();
                log.lock().expect("log").push(line.clone());
                let canned = answer(&line, &body);
                std::thread::sleep(canned.delay);
                if canned.status == 0 {
                    let _ = s.write_all(b"HTTP/1.1 201 X\r\ncontent-length: 100\r\n\r\n{}");
                    shutdown(&s);
                    break;
                }
                let headers: Vec<(&str, &str)> = canned
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                if !respond(&mut s, canned.status, &headers, &canned.body) {
                    break;
                }
            }
        });
        Scripted { server, seen }
    }

    /// How many requests had a request line starting with `prefix` (e.g. "PATCH ").
    pub fn count(&self, prefix: &str) -> usize {
        self.seen
            .lock()
            .expect("log")
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
}

/// Realm answers: request login (mfa none, or otp with refId "R-7"), token (expires in
/// `expires` seconds).
pub fn realm_answer(line: &str, mfa_otp: bool, expires: u64) -> Option<Canned> {
    if line.starts_with("POST /auth/realm/cap/request ") {
        let mfa = if mfa_otp {
            r#""otp","refId":"R-7""#
        } else {
            r#""none""#
        };
        return Some(Canned::new(
            201,
            &format!(r#"{{"reqId":"req-1","exp":300,"mfa":{mfa}}}"#),
        ));
    }
    if line.starts_with("POST /auth/realm/cap/token ") {
        return Some(Canned::new(
            201,
            &format!(
                r#"{{"accessToken":"first-access","refreshToken":"first-refresh","expires":{expires},"refreshExpires":1800,"tokenType":"Bearer"}}"#
            ),
        ));
    }
    None
}
