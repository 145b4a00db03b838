//! The `CONNECT` exchange with an HTTP proxy, without I/O: the request head to write, and the
//! proxy's answer judged as its bytes arrive. The hyper transport's dial (async) and
//! [`inspect_tls`](crate::inspect_tls) (blocking) drive it over their own sockets, so both read
//! a proxy the same way: the answer head at most [`MAX_ANSWER`] bytes, a 2xx required, no byte
//! after it (the server speaks only after the client).

use login_core::{TransportError, TransportErrorKind};
use zeroize::Zeroizing;

use crate::proxy::Proxy;

/// The most bytes read of a proxy's answer to `CONNECT`.
pub(crate) const MAX_ANSWER: usize = 16 * 1024;

/// One `CONNECT` to `target` (`host:port`) through `proxy`.
pub(crate) struct Tunnel<'a> {
    proxy: &'a Proxy,
    target: &'a str,
    authorized: bool,
    answer: Vec<u8>,
}

impl<'a> Tunnel<'a> {
    /// The exchange, and the request head to write first (zeroed on drop: it may hold the
    /// credentials). `authorization` is the `Proxy-Authorization` value.
    pub(crate) fn start(
        proxy: &'a Proxy,
        target: &'a str,
        authorization: Option<&str>,
    ) -> (Self, Zeroizing<String>) {
        let mut head = Zeroizing::new(String::with_capacity(128));
        head.push_str("CONNECT ");
        head.push_str(target);
        head.push_str(" HTTP/1.1\r\nHost: ");
        head.push_str(target);
        head.push_str("\r\n");
        if let Some(authorization) = authorization {
            head.push_str("Proxy-Authorization: ");
            head.push_str(authorization);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let tunnel = Self {
            proxy,
            target,
            authorized: authorization.is_some(),
            answer: Vec::with_capacity(512),
        };
        (tunnel, head)
    }

    /// Takes the next bytes of the answer (none: the proxy closed the connection). `Ok(true)`
    /// once the tunnel is open, `Ok(false)` while the head is incomplete.
    ///
    /// # Errors
    /// [`TransportErrorKind::Proxy`] for a proxy that closed, answered too much, not HTTP or
    /// not 2xx (407 says whether credentials were sent).
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<bool, TransportError> {
        let (proxy, target) = (self.proxy, self.target);
        let failed = |detail: String| TransportError::new(TransportErrorKind::Proxy, detail);
        if bytes.is_empty() {
            return Err(failed(format!(
                "the proxy {proxy} closed the connection without answering CONNECT {target}"
            )));
        }
        self.answer.extend_from_slice(bytes);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut headers);
        let status = match parsed.parse(&self.answer) {
            Ok(httparse::Status::Complete(len)) if len != self.answer.len() => {
                return Err(failed(format!(
                    "the proxy {proxy} sent data after its answer to CONNECT {target}"
                )));
            }
            Ok(httparse::Status::Complete(_)) => parsed.code.unwrap_or_default(),
            Ok(httparse::Status::Partial) if self.answer.len() <= MAX_ANSWER => return Ok(false),
            Ok(httparse::Status::Partial) => {
                return Err(failed(format!(
                    "the proxy {proxy}'s answer to CONNECT {target} exceeds {MAX_ANSWER} bytes"
                )));
            }
            Err(e) => {
                return Err(failed(format!(
                    "the proxy {proxy}'s answer to CONNECT {target} is not HTTP: {e}"
                )));
            }
        };
        match status {
            200..=299 => Ok(true),
            407 => Err(failed(format!(
                "the proxy {proxy} answered 407 (Proxy Authentication Required) to CONNECT \
                 {target}: {} proxy credentials",
                if self.authorized {
                    "check the"
                } else {
                    "it wants"
                }
            ))),
            other => Err(failed(format!(
                "the proxy {proxy} answered {other} to CONNECT {target}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy() -> Proxy {
        Proxy::new("http://u:secret-pw@proxy.corp:3128").expect("proxy URL")
    }

    #[test]
    fn the_head_names_the_target_twice_and_carries_the_authorization() {
        let proxy = proxy();
        let (_, head) = Tunnel::start(&proxy, "bank.example:443", Some("Basic dTpw"));
        assert_eq!(
            head.as_str(),
            "CONNECT bank.example:443 HTTP/1.1\r\nHost: bank.example:443\r\n\
             Proxy-Authorization: Basic dTpw\r\n\r\n"
        );
        let (_, head) = Tunnel::start(&proxy, "bank.example:443", None);
        assert!(!head.contains("Proxy-Authorization"));
    }

    #[test]
    fn an_answer_in_pieces_opens_the_tunnel_once_complete() {
        let proxy = proxy();
        let (mut tunnel, _) = Tunnel::start(&proxy, "bank.example:443", None);
        assert!(
            !tunnel
                .feed(b"HTTP/1.1 200 Connection est")
                .expect("partial")
        );
        assert!(tunnel.feed(b"ablished\r\n\r\n").expect("complete"));
    }

    #[test]
    fn refusals_are_typed_and_never_show_the_credentials() {
        let proxy = proxy();
        let answer = |authorization: Option<&str>, bytes: &[u8]| {
            let (mut tunnel, _) = Tunnel::start(&proxy, "bank.example:443", authorization);
            let e = tunnel.feed(bytes).expect_err("refused");
            assert_eq!(e.kind, TransportErrorKind::Proxy);
            assert!(!e.detail.contains("secret-pw"), "{}", e.detail);
            e.detail
        };
        assert!(answer(Some("Basic x"), b"HTTP/1.1 407 No\r\n\r\n").contains("check the"));
        assert!(answer(None, b"HTTP/1.1 407 No\r\n\r\n").contains("it wants"));
        assert!(answer(None, b"HTTP/1.1 502 Bad\r\n\r\n").contains("answered 502"));
        assert!(answer(None, b"HTTP/1.1 200 OK\r\n\r\nextra").contains("sent data after"));
        assert!(answer(None, b"SSH-2.0-OpenSSH\r\n\r\n").contains("not HTTP"));
        assert!(answer(None, b"").contains("closed the connection"));
        let (mut tunnel, _) = Tunnel::start(&proxy, "bank.example:443", None);
        let mut long = b"HTTP/1.1 200 OK\r\nx-pad: ".to_vec();
        long.resize(MAX_ANSWER + 1, b'x');
        let e = tunnel.feed(&long).expect_err("too long");
        assert!(e.detail.contains("exceeds"), "{}", e.detail);
    }
}
