//! A loopback HTTP CONNECT proxy that counts its tunnels and checks `Proxy-Authorization`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::runtime;

/// How the proxy treats a `CONNECT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    /// Opens the tunnel (to the requested target, or to `route_to` when set).
    Tunnel,
    /// Reads the request and never answers.
    Silent,
    /// Answers 502.
    BadGateway,
}

/// A loopback HTTP CONNECT proxy.
pub struct ConnectProxy {
    rt: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    tunnels: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
    /// Every request head received, for checks on what went over the wire.
    heads: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    /// A proxy that tunnels to the requested target; with `credentials` (`user`, `password`)
    /// it answers 407 to a `CONNECT` without the matching `Proxy-Authorization: Basic`.
    pub fn start(credentials: Option<(&str, &str)>) -> ConnectProxy {
        Self::start_with(credentials, ProxyMode::Tunnel, None)
    }

    /// As [`start`](Self::start), with a mode and, optionally, one address every tunnel goes
    /// to whatever the target (so a test can name a host that does not resolve).
    pub fn start_with(
        credentials: Option<(&str, &str)>,
        mode: ProxyMode,
        route_to: Option<SocketAddr>,
    ) -> ConnectProxy {
        let expected = credentials.map(|(user, password)| {
            format!(
                "basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        });
        let rt = runtime();
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let tunnels = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let state = (
            tunnels.clone(),
            refused.clone(),
            targets.clone(),
            heads.clone(),
        );
        rt.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let expected = expected.clone();
                let (tunnels, refused, targets, heads) = state.clone();
                tokio::spawn(async move {
                    let mut client = client;
                    let Some(head) = read_head(&mut client).await else {
                        return;
                    };
                    heads.lock().expect("heads").push(head.clone());
                    let mut lines = head.lines();
                    let request = lines.next().unwrap_or_default().to_owned();
                    let mut parts = request.split_whitespace();
                    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
                        let _ = client
                            .write_all(
                                b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n",
                            )
                            .await;
                        return;
                    };
                    targets.lock().expect("targets").push(target.to_owned());
                    let authorization = lines.find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.trim()
                            .eq_ignore_ascii_case("proxy-authorization")
                            .then(|| value.trim().to_owned())
                    });
                    if let Some(expected) = &expected {
                        // The scheme is case-insensitive, the credentials are not.
                        let given = authorization.map(|v| match v.split_once(' ') {
                            Some((scheme, rest)) => format!("{} {rest}", scheme.to_lowercase()),
                            None => v,
                        });
                        if given.as_deref() != Some(expected.as_str()) {
                            refused.fetch_add(1, Ordering::SeqCst);
                            let _ = client
                                .write_all(
                                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                                      proxy-authenticate: Basic realm=\"test\"\r\n\
                                      content-length: 0\r\n\r\n",
                                )
                                .await;
                            return;
                        }
                    }
                    match mode {
                        ProxyMode::Silent => {
                            // Hold the connection open, answering nothing.
                            let mut sink = [0u8; 64];
                            while let Ok(n) = client.read(&mut sink).await {
                                if n == 0 {
                                    break;
                                }
                            }
                            return;
                        }
                        ProxyMode::BadGateway => {
                            let _ = client
                                .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                                .await;
                            return;
                        }
                        ProxyMode::Tunnel => {}
                    }
                    let upstream = match route_to {
                        Some(addr) => TcpStream::connect(addr).await,
                        None => TcpStream::connect(target).await,
                    };
                    let Ok(mut upstream) = upstream else {
                        let _ = client
                            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                            .await;
                        return;
                    };
                    tunnels.fetch_add(1, Ordering::SeqCst);
                    if client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        ConnectProxy {
            rt: Some(rt),
            addr,
            tunnels,
            refused,
            targets,
            heads,
        }
    }

    /// Where it listens (127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, with `user:password@` when given.
    pub fn url(&self, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((user, password)) => format!("http://{user}:{password}@{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    /// Tunnels opened.
    pub fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }

    /// CONNECTs answered 407.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// The `CONNECT` targets asked for, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().expect("targets").clone()
    }

    /// The request heads received.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// A request head, byte by byte up to the blank line (so nothing of the tunnel is consumed).
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}
