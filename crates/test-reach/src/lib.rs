//! Test support for reaching a bank from a data centre, on loopback: a private CA ([`Pki`],
//! rcgen) that signs server and client certificates, a TLS server ([`TlsFront`]) that may demand
//! a client certificate and forwards the decrypted bytes to a plain upstream (a scripted server,
//! the sandbox), and an HTTP CONNECT proxy ([`ConnectProxy`]) that counts its tunnels and checks
//! `Proxy-Authorization`.
//!
//! Used by the tests of login-transport, the CLI and the gateway; never published. Every server
//! runs on its own small tokio runtime, bound to 127.0.0.1:0, and stops when dropped.
//!
//! ```
//! use test_reach::{ConnectProxy, Pki, TlsFront};
//!
//! let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("loopback");
//! let bank_ca = Pki::new("bank CA");
//! let client_ca = Pki::new("client CA");
//! let front = TlsFront::start(
//!     &bank_ca.server(&["localhost"]),
//!     Some(&client_ca),
//!     upstream.local_addr().expect("loopback"),
//! );
//! let proxy = ConnectProxy::start(Some(("user", "pass")));
//! assert_eq!((front.handshakes(), proxy.tunnels()), (0, 0));
//! ```
#![allow(clippy::expect_used)]

mod connect_proxy;
mod pki;
mod tls_front;

pub use connect_proxy::{ConnectProxy, ProxyMode};
pub use pki::{Issued, Pki};
pub use tls_front::TlsFront;

/// A one-worker runtime for a server.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}
