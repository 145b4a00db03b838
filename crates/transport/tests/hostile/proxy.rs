//! A loopback HTTP/1.1 proxy in front of the sandbox that forwards every request, except the
//! chosen step's, where it misbehaves (a bounded number of times; then it forwards that step too,
//! so a flow can be resumed through it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// What the proxy does on the hostile step instead of forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// 200 with bytes that are not JSON.
    Garbage200,
    /// 500 with an HTML page.
    Html500,
    /// 200 with an empty body.
    Empty200,
    /// 200 with a JSON document cut in the middle (the length header matches what is sent).
    TruncatedJson,
    /// 200 with every contract field present but of the wrong JSON type.
    WrongTypes,
    /// 200 with a 64 MiB body announced by `Content-Length`.
    Huge64MiB,
    /// 200 with a 64 MiB body without a length (read until close).
    Huge64MiBUnannounced,
    /// The status line, then one header line every 250 ms, forever.
    SlowHeaders,
    /// Headers at once, then the body at one byte per second.
    SlowBody,
    /// Part of the headers, then a TCP reset.
    ResetMidHeaders,
    /// A `Content-Length` of 100, ten bytes, then the connection closes.
    CutBody,
    /// 307 to another origin (a second loopback listener that must never be contacted).
    RedirectElsewhere,
    /// 429 with `Retry-After: 1`, once; the repeat is forwarded.
    TooManyRequestsOnce,
    /// 429 with `Retry-After: 1`, every time.
    TooManyRequestsAlways,
    /// The real answer, with unknown fields (floats, nesting) added and integers turned into floats.
    ExtraFloatFields,
}

impl Misbehaviour {
    pub const ALL: [Misbehaviour; 15] = [
        Misbehaviour::Garbage200,
        Misbehaviour::Html500,
        Misbehaviour::Empty200,
        Misbehaviour::TruncatedJson,
        Misbehaviour::WrongTypes,
        Misbehaviour::Huge64MiB,
        Misbehaviour::Huge64MiBUnannounced,
        Misbehaviour::SlowHeaders,
        Misbehaviour::SlowBody,
        Misbehaviour::ResetMidHeaders,
        Misbehaviour::CutBody,
        Misbehaviour::RedirectElsewhere,
        Misbehaviour::TooManyRequestsOnce,
        Misbehaviour::TooManyRequestsAlways,
        Misbehaviour::ExtraFloatFields,
    ];

    /// How many times the hostile step misbehaves before the proxy forwards it.
    fn times(self) -> u32 {
        match self {
            Misbehaviour::TooManyRequestsAlways | Misbehaviour::ExtraFloatFields => u32::MAX,
            _ => 1,
        }
    }
}

const HUGE: u64 = 64 * 1024 * 1024;

/// Fields of every step's success body, each of a wrong type.
const WRONG_TYPES: &str = r#"{"reqId":123,"refId":[1],"exp":"soon","mfa":7,"accessToken":{"a":1},"refreshToken":false,"expires":"x","refreshExpires":[],"scope":9,"tokenType":3,"loginChallenge":1,"authToken":true,"state":2,"captchaId":3,"image":4,"code":5,"token":6,"mfaChallenge":7,"channel":8,"success":"yes"}"#;
const TRUNCATED: &str =
    r#"{"reqId":"r-1","refId":"R1","exp":300,"mfa":"none","loginChallenge":"lc","accessToken":"a"#;

struct Shared {
    upstream: SocketAddr,
    method: String,
    path: String,
    misbehaviour: Misbehaviour,
    remaining: AtomicU32,
    hostile_hits: AtomicU32,
    huge_bytes_written: AtomicU64,
    stop: AtomicBool,
    elsewhere: SocketAddr,
    elsewhere_hits: Arc<AtomicUsize>,
}

/// A running proxy; dropping it stops accepting (connections already open finish on their own).
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _elsewhere: Sink,
}

impl Proxy {
    /// Forwards to `upstream`, misbehaving on `method path` (the full request target).
    pub fn start(
        upstream: SocketAddr,
        method: &str,
        path: &str,
        misbehaviour: Misbehaviour,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let elsewhere = Sink::start();
        let shared = Arc::new(Shared {
            upstream,
            method: method.to_owned(),
            path: path.to_owned(),
            misbehaviour,
            remaining: AtomicU32::new(misbehaviour.times()),
            hostile_hits: AtomicU32::new(0),
            huge_bytes_written: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            elsewhere: elsewhere.addr,
            elsewhere_hits: elsewhere.hits.clone(),
        });
        let accept = shared.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn = accept.clone();
                thread::spawn(move || serve(stream, &conn));
            }
        });
        Proxy {
            addr,
            shared,
            _elsewhere: elsewhere,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops misbehaving: every later request is forwarded.
    pub fn disarm(&self) {
        self.shared.remaining.store(0, Ordering::SeqCst);
    }

    /// How many requests of the hostile step got the misbehaviour.
    pub fn hostile_hits(&self) -> u32 {
        self.shared.hostile_hits.load(Ordering::SeqCst)
    }

    /// Body bytes the 64 MiB cases managed to write before the client went away.
    pub fn huge_bytes_written(&self) -> u64 {
        self.shared.huge_bytes_written.load(Ordering::SeqCst)
    }

    /// Connections the redirect target received (must stay 0).
    pub fn elsewhere_hits(&self) -> usize {
        self.shared.elsewhere_hits.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// A listener that only counts connections: the "other origin" of the redirect case.
struct Sink {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
        let addr = listener.local_addr().expect("sink address");
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if stream.is_ok() {
                    h.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        Sink { addr, hits, stop }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

struct Message {
    head: String,
    body: Vec<u8>,
}

impl Message {
    fn start_line(&self) -> &str {
        self.head.split("\r\n").next().unwrap_or_default()
    }

    fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.head.split("\r\n").skip(1).filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim(), value.trim()))
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Reads one message head (to the blank line) and its `Content-Length` or chunked body; with
/// `to_eof`, a body without either is read until the peer closes.
fn read_message(stream: &mut TcpStream, to_eof: bool) -> Option<Message> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 256 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf[..buf.len() - 4]).into_owned();
    let mut message = Message {
        head,
        body: Vec::new(),
    };
    if let Some(len) = message
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).ok()?;
        message.body = body;
    } else if message
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        message.body = read_chunked(stream)?;
    } else if to_eof {
        stream.read_to_end(&mut message.body).ok()?;
    }
    Some(message)
}

fn read_line(stream: &mut TcpStream) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        line.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&line[..line.len() - 2]).into_owned())
}

fn read_chunked(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size_line = read_line(stream)?;
        let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            // Trailers, up to the blank line.
            while !read_line(stream)?.is_empty() {}
            return Some(body);
        }
        let mut chunk = vec![0u8; size];
        stream.read_exact(&mut chunk).ok()?;
        body.extend_from_slice(&chunk);
        read_line(stream)?;
    }
}

fn serve(mut client: TcpStream, shared: &Shared) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    loop {
        let Some(request) = read_message(&mut client, false) else {
            return;
        };
        let mut parts = request.start_line().split(' ');
        let (method, target) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let hostile = method == shared.method
            && target == shared.path
            && shared
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if !hostile {
            let Some(answer) = forward(shared.upstream, &request) else {
                return;
            };
            if send(
                &mut client,
                answer.start_line(),
                &extra_headers(&answer),
                &answer.body,
            )
            .is_err()
            {
                return;
            }
            continue;
        }
        shared.hostile_hits.fetch_add(1, Ordering::SeqCst);
        if !misbehave(&mut client, &request, shared) {
            return;
        }
    }
}

/// The upstream's headers minus the framing ones (the proxy writes its own).
fn extra_headers(message: &Message) -> Vec<(String, String)> {
    message
        .headers()
        .filter(|(n, _)| {
            ![
                "connection",
                "content-length",
                "transfer-encoding",
                "keep-alive",
            ]
            .iter()
            .any(|f| n.eq_ignore_ascii_case(f))
        })
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

fn forward(upstream: SocketAddr, request: &Message) -> Option<Message> {
    let mut up = TcpStream::connect(upstream).ok()?;
    let _ = up.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = format!("{}\r\n", request.start_line());
    for (name, value) in request.headers() {
        if !name.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("connection: close\r\n\r\n");
    up.write_all(head.as_bytes()).ok()?;
    up.write_all(&request.body).ok()?;
    read_message(&mut up, true)
}

fn send(
    client: &mut TcpStream,
    status_line: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("{status_line}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    client.write_all(head.as_bytes())?;
    client.write_all(body)?;
    client.flush()
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/json".into())]
}

/// Misbehaves on `client`; returns whether the connection can carry another request.
fn misbehave(client: &mut TcpStream, request: &Message, shared: &Shared) -> bool {
    let ok = |r: std::io::Result<()>| r.is_ok();
    match shared.misbehaviour {
        Misbehaviour::Garbage200 => ok(send(
            client,
            "HTTP/1.1 200 OK",
            &json_headers(),
            b"\x00\xff<<not json>>\x7f{]",
        )),
        Misbehaviour::Html500 => ok(send(
            client,
            "HTTP/1.1 500 Internal Server Error",
            &[("content-type".into(), "text/html".into())],
            b"<html><body><h1>500 Internal Server Error</h1><p>nginx</p></body></html>",
        )),
        Misbehaviour::Empty200 => ok(send(client, "HTTP/1.1 200 OK", &json_headers(), b"")),
        Misbehaviour::TruncatedJson => ok(send(
            client,
            "HTTP/1.1 200 OK",
            &json_headers(),
            TRUNCATED.as_bytes(),
        )),
        Misbehaviour::WrongTypes => ok(send(
            client,
            "HTTP/1.1 200 OK",
            &json_headers(),
            WRONG_TYPES.as_bytes(),
        )),
        Misbehaviour::Huge64MiB | Misbehaviour::Huge64MiBUnannounced => {
            let framing = if shared.misbehaviour == Misbehaviour::Huge64MiB {
                format!("content-length: {HUGE}")
            } else {
                "connection: close".to_owned()
            };
            let head =
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{framing}\r\n\r\n");
            if client.write_all(head.as_bytes()).is_err() {
                return false;
            }
            // A JSON string that never ends: nothing short of the whole body would parse.
            let mut chunk = vec![b'a'; 64 * 1024];
            chunk[..9].copy_from_slice(b"{\"reqId\":");
            chunk[9] = b'"';
            let mut written = 0u64;
            while written < HUGE {
                match client.write(&chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        written += n as u64;
                        shared.huge_bytes_written.store(written, Ordering::SeqCst);
                    }
                }
                chunk[..10].copy_from_slice(b"aaaaaaaaaa");
            }
            false
        }
        Misbehaviour::SlowHeaders => {
            let start = Instant::now();
            if client.write_all(b"HTTP/1.1 200 OK\r\n").is_err() {
                return false;
            }
            while start.elapsed() < Duration::from_secs(8) {
                thread::sleep(Duration::from_millis(250));
                if client.write_all(b"x-slow: 1\r\n").is_err() {
                    break;
                }
            }
            false
        }
        Misbehaviour::SlowBody => {
            let body = br#"{"reqId":"slow","exp":300,"mfa":"none"}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            if client.write_all(head.as_bytes()).is_err() {
                return false;
            }
            for byte in body {
                if client.write_all(&[*byte]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_secs(1));
            }
            false
        }
        Misbehaviour::ResetMidHeaders => {
            let _ = client.write_all(b"HTTP/1.1 200 OK\r\nContent-Ty");
            let _ = client.flush();
            // SO_LINGER 0: close sends RST instead of FIN.
            let _ = socket2::SockRef::from(&*client).set_linger(Some(Duration::ZERO));
            false
        }
        Misbehaviour::CutBody => {
            let _ = client.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"reqId\":");
            let _ = client.shutdown(std::net::Shutdown::Both);
            false
        }
        Misbehaviour::RedirectElsewhere => ok(send(
            client,
            "HTTP/1.1 307 Temporary Redirect",
            &[(
                "location".into(),
                format!("http://{}/steal{}", shared.elsewhere, shared.path),
            )],
            b"",
        )),
        Misbehaviour::TooManyRequestsOnce | Misbehaviour::TooManyRequestsAlways => ok(send(
            client,
            "HTTP/1.1 429 Too Many Requests",
            &[
                ("retry-after".into(), "1".into()),
                ("content-type".into(), "application/json".into()),
            ],
            br#"{"error":"rate_limited","message":"slow down"}"#,
        )),
        Misbehaviour::ExtraFloatFields => {
            let Some(answer) = forward(shared.upstream, request) else {
                return false;
            };
            let body = with_extra_floats(&answer.body);
            ok(send(
                client,
                answer.start_line(),
                &extra_headers(&answer),
                &body,
            ))
        }
    }
}

/// Integers become floats (`300` → `300.0`) and unknown fields are added, at every level.
fn with_extra_floats(body: &[u8]) -> Vec<u8> {
    fn floaty(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            Value::Array(items) => Value::Array(items.into_iter().map(floaty).collect()),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, floaty(v))).collect())
            }
            other => other,
        }
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    let mut value = floaty(value);
    if let serde_json::Value::Object(map) = &mut value {
        let extras = serde_json::json!({
            "zzUnknownFloat": 1.797_693_134_862_315_7e308,
            "zzTiny": 5e-324,
            "zzNegativeZero": -0.0,
            "zzThird": 0.333_333_333_333_333_3,
            "zzNested": {"a": [1.5, {"b": null, "c": [2.25e-10]}], "d": "text"},
            "zzList": [0.1, 0.2, 0.30000000000000004],
        });
        if let serde_json::Value::Object(extra) = extras {
            map.extend(extra);
        }
    }
    serde_json::to_vec(&value).unwrap_or_else(|_| body.to_vec())
}
