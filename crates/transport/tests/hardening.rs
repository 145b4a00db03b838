//! Hardening: every transport, the same cases, each against a misbehaving loopback server.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Client, Server, login_request, read_request, respond};
use login_core::{Error, ErrorKind, TransportErrorKind};
use login_transport::TransportConfig;

fn cfg(url: &str) -> TransportConfig {
    TransportConfig::new(url).expect("config")
}

mod cases {
    use super::*;

    pub fn sends_the_request_as_described_and_returns_any_status<C: Client>() {
        let (tx, rx) = mpsc::channel();
        let server = Server::start(move |mut s| {
            if let Some((head, body)) = read_request(&mut s) {
                let _ = tx.send((head, body));
                respond(
                    &mut s,
                    423,
                    &[("x-extra", "1")],
                    br#"{"error":"locked","message":"wait"}"#,
                );
            }
        });
        let response = C::call(
            cfg(&format!("{}/internal-api/centaur/", server.url())),
            &login_request(),
        )
        .expect("a response");
        assert_eq!(response.status(), 423, "{}", C::NAME);
        assert_eq!(response.header("X-Extra"), Some("1"));
        assert_eq!(Error::from_response(&response).kind(), ErrorKind::Locked);
        let (head, body) = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("request seen");
        let head = head.to_ascii_lowercase();
        assert!(
            head.starts_with("post /internal-api/centaur/auth/realm/cap/request http/1.1\r\n"),
            "{head}"
        );
        assert!(
            head.contains("content-type: application/json\r\n"),
            "{head}"
        );
        assert!(
            head.contains(&format!("host: {}\r\n", server.addr())),
            "{head}"
        );
        assert!(head.contains("user-agent: loginflow/"), "{head}");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON body");
        assert_eq!(json["username"], "alice");
        assert_eq!(json["clientId"], "cap-mobile");
    }

    pub fn reuses_one_connection_across_calls<C: Client>() {
        let server = Server::start(common::keep_alive_ok(
            br#"{"reqId":"r1","exp":300,"mfa":"none"}"#,
        ));
        let requests = [login_request(), login_request(), login_request()];
        for result in C::call_all(cfg(&server.url()), &requests) {
            let response = result.expect("a response");
            assert_eq!(response.status(), 201);
            assert_eq!(response.body(), br#"{"reqId":"r1","exp":300,"mfa":"none"}"#);
        }
        assert_eq!(
            server.accepted(),
            1,
            "{}: one keep-alive connection for three calls",
            C::NAME
        );
    }

    pub fn a_connection_the_server_closed_between_calls_is_replaced<C: Client>() {
        // One answer per connection, then the server closes (no `Connection: close` warning).
        let server = Server::start(|mut s| {
            if read_request(&mut s).is_some() {
                respond(&mut s, 201, &[], b"{}");
            }
        });
        let requests = [login_request(), login_request(), login_request()];
        // Paced, so that the close reaches the client before the next call, as between steps.
        let results = C::call_paced(cfg(&server.url()), &requests, Duration::from_millis(20));
        for (i, result) in results.into_iter().enumerate() {
            let response = result.unwrap_or_else(|e| panic!("{}: call {i}: {e}", C::NAME));
            assert_eq!(response.status(), 201);
        }
        assert_eq!(server.accepted(), 3, "{}", C::NAME);
    }

    pub fn chunked_and_close_delimited_bodies_are_read_whole<C: Client>() {
        let chunked = Server::start(|mut s| {
            if read_request(&mut s).is_some() {
                let _ = s.write_all(
                    b"HTTP/1.1 201 X\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n",
                );
            }
        });
        let response = C::call(cfg(&chunked.url()), &login_request()).expect("chunked");
        assert_eq!(response.body(), b"{\"a\":1}", "{}", C::NAME);

        let delimited = Server::start(|mut s| {
            if read_request(&mut s).is_some() {
                let _ = s.write_all(b"HTTP/1.1 201 X\r\nconnection: close\r\n\r\n{\"b\":2}");
            }
        });
        let response = C::call(cfg(&delimited.url()), &login_request()).expect("close-delimited");
        assert_eq!(response.body(), b"{\"b\":2}", "{}", C::NAME);
    }

    pub fn oversized_response_headers_are_refused<C: Client>() {
        let server = Server::start(|mut s| {
            if read_request(&mut s).is_some() {
                let mut head = String::from("HTTP/1.1 200 OK\r\n");
                for i in 0..2000 {
                    head.push_str(&format!("x-filler-{i}: {}\r\n", "v".repeat(60)));
                }
                head.push_str("content-length: 2\r\n\r\n{}");
                let _ = s.write_all(head.as_bytes());
            }
        });
        let err = C::call(cfg(&server.url()), &login_request()).expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Other, "{}: {err}", C::NAME);
    }

    pub fn refused_connection_is_connect<C: Client>() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let err = C::call(cfg(&format!("http://127.0.0.1:{port}")), &login_request())
            .expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Connect, "{}: {err}", C::NAME);
        assert!(Error::from(err).is_safe_to_retry());
    }

    pub fn connect_timeout_when_the_backlog_is_full<C: Client>() {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        socket
            .bind(
                &"127.0.0.1:0"
                    .parse::<std::net::SocketAddr>()
                    .expect("addr")
                    .into(),
            )
            .expect("bind");
        socket.listen(0).expect("listen");
        let listener: TcpListener = socket.into();
        let addr = listener.local_addr().expect("addr");
        // Never accepted: fill the accept queue until a connect stalls.
        let mut fillers = Vec::new();
        for _ in 0..16 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => fillers.push(s),
                Err(_) => break,
            }
        }
        let config = cfg(&format!("http://{addr}")).connect_timeout(Duration::from_millis(300));
        let started = Instant::now();
        let err = C::call(config, &login_request()).expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Timeout, "{}: {err}", C::NAME);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        drop(listener);
    }

    pub fn header_timeout_when_the_server_never_answers<C: Client>() {
        let server = Server::start(|mut s| {
            let _ = read_request(&mut s);
            std::thread::sleep(Duration::from_secs(4));
        });
        let config = cfg(&server.url()).header_timeout(Duration::from_millis(300));
        let started = Instant::now();
        let err = C::call(config, &login_request()).expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Timeout, "{}: {err}", C::NAME);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }

    pub fn header_timeout_on_slow_headers<C: Client>() {
        let server = Server::start(|mut s| {
            let _ = read_request(&mut s);
            for b in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}" {
                if s.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let config = cfg(&server.url()).header_timeout(Duration::from_millis(500));
        let started = Instant::now();
        let err = C::call(config, &login_request()).expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Timeout, "{}: {err}", C::NAME);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    pub fn whole_call_timeout_on_a_body_at_one_byte_per_second<C: Client>() {
        let server = Server::start(|mut s| {
            let _ = read_request(&mut s);
            if s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
                .is_err()
            {
                return;
            }
            for _ in 0..100 {
                if s.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        // Headers arrive at once, so only the whole-call bound can stop this.
        let config = cfg(&server.url())
            .header_timeout(Duration::from_secs(1))
            .call_timeout(Duration::from_millis(2500));
        let started = Instant::now();
        let err = C::call(config, &login_request()).expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Timeout, "{}: {err}", C::NAME);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(2400) && took < Duration::from_secs(4),
            "{took:?}"
        );
    }

    const BIG: usize = 64 * 1024 * 1024;

    /// Streams a 64 MiB body; `declared` says whether it announces its length. Returns how many
    /// bytes the server managed to write.
    fn big_body_server(declared: bool) -> (Server, Arc<AtomicUsize>) {
        let written = Arc::new(AtomicUsize::new(0));
        let w = written.clone();
        let server = Server::start(move |mut s| {
            let _ = read_request(&mut s);
            let head = if declared {
                format!("HTTP/1.1 200 OK\r\ncontent-length: {BIG}\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_string()
            };
            if s.write_all(head.as_bytes()).is_err() {
                return;
            }
            let chunk = vec![b'a'; 64 * 1024];
            let deadline = Instant::now() + Duration::from_secs(20);
            while w.load(Ordering::SeqCst) < BIG && Instant::now() < deadline {
                if s.write_all(&chunk).is_err() {
                    return;
                }
                w.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        });
        (server, written)
    }

    pub fn body_cap_refuses_a_declared_64_mib_body<C: Client>() {
        let (server, written) = big_body_server(true);
        let started = Instant::now();
        let err = C::call(cfg(&server.url()), &login_request()).expect_err("the call fails");
        assert_eq!(
            err.kind,
            TransportErrorKind::BodyTooLarge,
            "{}: {err}",
            C::NAME
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            written.load(Ordering::SeqCst) < BIG / 2,
            "the client kept reading"
        );
    }

    pub fn body_cap_is_enforced_while_reading_an_undeclared_body<C: Client>() {
        let (server, written) = big_body_server(false);
        let started = Instant::now();
        let err = C::call(cfg(&server.url()).body_cap(1024 * 1024), &login_request())
            .expect_err("the call fails");
        assert_eq!(
            err.kind,
            TransportErrorKind::BodyTooLarge,
            "{}: {err}",
            C::NAME
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        std::thread::sleep(Duration::from_millis(200));
        // The client stopped after the cap: the socket buffers hold a few MiB at most.
        assert!(
            written.load(Ordering::SeqCst) < BIG / 2,
            "the client kept reading"
        );
    }

    pub fn redirect_comes_back_and_nothing_reaches_the_location<C: Client>() {
        let target = Server::start(|mut s| {
            let _ = read_request(&mut s);
        });
        let location = format!("{}/steal", target.url());
        let server = Server::start(move |mut s| {
            if read_request(&mut s).is_some() {
                respond(&mut s, 307, &[("location", &location)], b"");
            }
        });
        let response =
            C::call(cfg(&server.url()), &login_request()).expect("the 3xx as a response");
        assert_eq!(response.status(), 307, "{}", C::NAME);
        let error = Error::from_response(&response);
        assert_eq!(error.kind(), ErrorKind::Redirect);
        assert_eq!(error.status(), Some(307));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            target.accepted(),
            0,
            "{}: a connection reached the redirect target",
            C::NAME
        );
    }

    pub fn plain_http_to_a_remote_host_is_refused_before_connecting<C: Client>() {
        // No DNS lookup and no connection happen: the URL is refused first.
        let err = C::call(
            cfg("http://bank.example/internal-api/centaur"),
            &login_request(),
        )
        .expect_err("the call fails");
        assert_eq!(
            err.kind,
            TransportErrorKind::InsecureUrl,
            "{}: {err}",
            C::NAME
        );
        assert!(err.detail.contains("allow_http(true)"), "{}", err.detail);
        assert!(err.detail.contains("bank.example"));
    }

    pub fn reset_mid_headers_is_reset<C: Client>() {
        let server = Server::start(|mut s| {
            if read_request(&mut s).is_some() {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Le");
                let _ = s.flush();
                std::thread::sleep(Duration::from_millis(50));
                common::reset(s);
            }
        });
        let err = C::call(cfg(&server.url()), &login_request()).expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Reset, "{}: {err}", C::NAME);
    }

    pub fn close_mid_body_is_reset<C: Client>() {
        let server = Server::start(|mut s| {
            if read_request(&mut s).is_some() {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"acc");
                common::shutdown(&s);
            }
        });
        let err = C::call(cfg(&server.url()), &login_request()).expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Reset, "{}: {err}", C::NAME);
    }

    pub fn custom_root_ca_is_trusted_and_required<C: Client>() {
        let tls = common::tls::TlsServer::start();
        let ok = C::call(
            cfg(&tls.url())
                .replace_roots_with_pem(tls.ca_pem.as_bytes())
                .expect("CA PEM"),
            &login_request(),
        )
        .expect("TLS with the private CA");
        assert_eq!(ok.status(), 201, "{}", C::NAME);
        assert_eq!(ok.body(), b"{\"tls\":true}");

        let err = C::call(cfg(&tls.url()), &login_request()).expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Tls, "{}: {err}", C::NAME);

        // The certificate names localhost, not 127.0.0.1.
        let by_ip = format!("https://127.0.0.1:{}", tls.server.addr().port());
        let err = C::call(
            cfg(&by_ip)
                .replace_roots_with_pem(tls.ca_pem.as_bytes())
                .expect("CA"),
            &login_request(),
        )
        .expect_err("the call fails");
        assert_eq!(err.kind, TransportErrorKind::Tls, "{}: {err}", C::NAME);
    }
}

macro_rules! hardening_suite {
    ($module:ident, $client:ty, [$($case:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $case() {
                    super::cases::$case::<$client>();
                }
            )*
        }
    };
}

macro_rules! every_case {
    ($module:ident, $client:ty) => {
        hardening_suite!(
            $module,
            $client,
            [
                sends_the_request_as_described_and_returns_any_status,
                reuses_one_connection_across_calls,
                a_connection_the_server_closed_between_calls_is_replaced,
                chunked_and_close_delimited_bodies_are_read_whole,
                oversized_response_headers_are_refused,
                refused_connection_is_connect,
                connect_timeout_when_the_backlog_is_full,
                header_timeout_when_the_server_never_answers,
                header_timeout_on_slow_headers,
                whole_call_timeout_on_a_body_at_one_byte_per_second,
                body_cap_refuses_a_declared_64_mib_body,
                body_cap_is_enforced_while_reading_an_undeclared_body,
                redirect_comes_back_and_nothing_reaches_the_location,
                plain_http_to_a_remote_host_is_refused_before_connecting,
                reset_mid_headers_is_reset,
                close_mid_body_is_reset,
                custom_root_ca_is_trusted_and_required,
            ]
        );
    };
}

every_case!(ureq, crate::common::Ureq);
every_case!(hyper, crate::common::Hyper);
