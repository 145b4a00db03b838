//! The HTTP proxy both transports can tunnel through, and the conventional proxy variables.
//!
//! A [`Proxy`] is an `http://` proxy that opens a tunnel with `CONNECT host:port`, optionally
//! authenticated with `Proxy-Authorization: Basic`. Both transports tunnel every call,
//! `https://` and plain `http://` base URLs alike, so the proxy sees the server's name and port
//! and, for HTTPS, nothing else: TLS runs end to end inside the tunnel.
//!
//! The credentials are secrets: held in buffers zeroed on drop, never in `Debug`, `Display` or
//! an error (the URL is shown as `http://***@proxy.example:3128`).
//!
//! ```
//! use login_transport::{Proxy, TransportConfig};
//!
//! let proxy = Proxy::new("http://alice:s3cret@proxy.example:3128")?;
//! assert_eq!(proxy.to_string(), "http://***@proxy.example:3128");
//! assert!(!format!("{proxy:?}").contains("s3cret"));
//!
//! let cfg = TransportConfig::new("https://bank.example/internal-api/centaur")?.proxy(proxy);
//! assert_eq!(cfg.effective_proxy()?.map(|p| p.host().to_owned()), Some("proxy.example".into()));
//! # Ok::<(), login_transport::ConfigError>(())
//! ```

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::policy::{ConfigError, shown_url};

/// An `http://` proxy reached with `CONNECT`, with optional Basic credentials.
#[derive(Clone)]
pub struct Proxy {
    inner: Arc<ProxyInner>,
}

struct ProxyInner {
    /// Lower case, without IPv6 brackets.
    host: String,
    port: u16,
    credentials: Option<Credentials>,
}

/// Percent-decoded user and password, zeroed on drop. Read by the transports only.
#[cfg_attr(not(any(feature = "ureq", feature = "hyper")), allow(dead_code))]
struct Credentials {
    user: Zeroizing<String>,
    password: Zeroizing<String>,
}

impl Proxy {
    /// Parses a proxy URL: `http://[user:password@]host[:port]` (`host:port` alone means
    /// `http://`; the port defaults to 80). The user and password are percent-decoded, so a
    /// password holding `@`, `:` or `/` is written `%40`, `%3A`, `%2F`.
    ///
    /// Only `http://` proxies are taken: the tunnel's contents are the server's own TLS, so TLS
    /// to the proxy would protect only the `CONNECT` line and the proxy credentials.
    ///
    /// ```
    /// use login_transport::Proxy;
    /// let p = Proxy::new("proxy.corp:3128")?;
    /// assert_eq!((p.host(), p.port(), p.has_credentials()), ("proxy.corp", 3128, false));
    /// let err = Proxy::new("socks5://alice:pw@proxy.corp:1080").unwrap_err();
    /// assert!(err.to_string().contains("socks5://***@proxy.corp:1080"), "{err}");
    /// # Ok::<(), login_transport::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::Proxy`] when the URL is not of that form (its text shows the URL without
    /// the credentials).
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError::Proxy(format!("{why} (got {:?})", shown_url(url)));
        let (scheme, rest) = match url.split_once("://") {
            Some((scheme, rest)) => (scheme, rest),
            None => ("http", url),
        };
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(bad(
                "only http:// proxies are supported (the tunnel carries the server's own TLS)",
            ));
        }
        // The authority ends at the first '/', '?' or '#' after the last '@' (an unencoded '/'
        // in a password would otherwise cut it short).
        let after_at = rest.rfind('@').map_or(0, |i| i + 1);
        let end = rest[after_at..]
            .find(['/', '?', '#'])
            .map_or(rest.len(), |i| after_at + i);
        let (authority, tail) = rest.split_at(end);
        if !(tail.is_empty() || tail == "/") {
            return Err(bad("a proxy URL has no path, query or fragment"));
        }
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let parsed: http::uri::Authority =
            host_port.parse().map_err(|_| bad("not a host[:port]"))?;
        let host = parsed
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        // The `http` crate takes `host:word` and drops the word; a port must be a number.
        if parsed.as_str().len() > parsed.host().len() && parsed.port_u16().is_none() {
            return Err(bad("the port is not a number"));
        }
        let port = parsed.port_u16().unwrap_or(80);
        let credentials = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |part: &str| {
                    percent_decode(part)
                        .ok_or_else(|| bad("the credentials are not valid percent-encoded UTF-8"))
                };
                Some(Credentials {
                    user: decode(user)?,
                    password: decode(password)?,
                })
            }
        };
        Ok(Self {
            inner: Arc::new(ProxyInner {
                host,
                port,
                credentials,
            }),
        })
    }

    /// The proxy's host (lower case, IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// Whether the URL carried credentials (sent as `Proxy-Authorization: Basic`).
    pub fn has_credentials(&self) -> bool {
        self.inner.credentials.is_some()
    }

    /// Whether the proxy is on this machine (see [`is_loopback_host`](crate::is_loopback_host)).
    pub fn is_loopback(&self) -> bool {
        crate::is_loopback_host(&self.inner.host)
    }

    /// The user and password, percent-decoded (for the transports).
    #[cfg(any(feature = "ureq", feature = "hyper"))]
    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        self.inner
            .credentials
            .as_ref()
            .map(|c| (c.user.as_str(), c.password.as_str()))
    }

    /// The value of `Proxy-Authorization`: `Basic base64(user:password)`, zeroed on drop.
    #[cfg(any(feature = "ureq", feature = "hyper"))]
    pub(crate) fn authorization(&self) -> Option<Zeroizing<String>> {
        use base64::Engine as _;
        let (user, password) = self.credentials()?;
        let mut pair = Zeroizing::new(Vec::with_capacity(user.len() + password.len() + 1));
        pair.extend_from_slice(user.as_bytes());
        pair.push(b':');
        pair.extend_from_slice(password.as_bytes());
        let mut value = Zeroizing::new(String::with_capacity(6 + pair.len().div_ceil(3) * 4));
        value.push_str("Basic ");
        base64::engine::general_purpose::STANDARD.encode_string(&*pair, &mut value);
        Some(value)
    }

    /// `host:port` with IPv6 in brackets.
    pub(crate) fn host_port(&self) -> String {
        host_port(&self.inner.host, self.inner.port)
    }
}

/// `host:port`, with an IPv6 host in brackets.
pub(crate) fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Shows the proxy without its credentials: `http://***@host:port`.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let creds = if self.has_credentials() { "***@" } else { "" };
        write!(f, "http://{creds}{}", self.host_port())
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self})")
    }
}

/// Percent-decodes `s` into a buffer zeroed on drop; `None` when an escape is damaged or the
/// result is not UTF-8.
fn percent_decode(s: &str) -> Option<Zeroizing<String>> {
    let bytes = s.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    std::str::from_utf8(&out).ok()?;
    // Moves the buffer (no copy left behind): the check above proved it UTF-8.
    let bytes = std::mem::take(&mut *out);
    String::from_utf8(bytes).ok().map(Zeroizing::new)
}

/// Where the proxy for a base URL comes from when the environment is read: the variables, in
/// the order they are looked up.
pub(crate) const HTTPS_PROXY_VARS: [&str; 2] = ["https_proxy", "HTTPS_PROXY"];
/// For plain-HTTP base URLs only the lower-case name: `HTTP_PROXY` is what a CGI program
/// receives from a request's `Proxy:` header ("httpoxy"), so it is never read.
pub(crate) const HTTP_PROXY_VARS: [&str; 1] = ["http_proxy"];
/// The exclusion list.
pub(crate) const NO_PROXY_VARS: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// The first non-empty value among `names`, and its name.
pub(crate) fn first_set(
    names: &[&'static str],
    var: &dyn Fn(&str) -> Option<String>,
) -> Option<(&'static str, Zeroizing<String>)> {
    names.iter().find_map(|name| {
        let value = Zeroizing::new(var(name)?);
        (!value.trim().is_empty()).then_some((*name, value))
    })
}

/// Whether a `NO_PROXY` list excludes `host:port`. The list is comma (or space) separated;
/// each entry is one of:
///
/// - `*`: every host;
/// - a name: that name and every name under it (`bank.example` and `.bank.example` and
///   `*.bank.example` all match `bank.example` and `api.bank.example`, not `notbank.example`);
/// - an IP address (`10.1.2.3`, `::1`, `[::1]`): that address, written as an IP literal in the
///   base URL (names are not resolved to compare);
/// - a CIDR range (`10.0.0.0/8`, `fd00::/8`): IP literals inside it;
/// - any of those with `:port`: only that port.
///
/// Matching ignores case and a trailing dot. Entries that fit none of these are ignored.
pub(crate) fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip: Option<IpAddr> = host.parse().ok();
    list.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| entry_matches(entry, &host, host_ip, port))
}

fn entry_matches(entry: &str, host: &str, host_ip: Option<IpAddr>, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    let (pattern, entry_port) = split_entry_port(entry);
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    if let Some((net, bits)) = pattern.split_once('/') {
        let (Ok(net), Ok(bits), Some(ip)) = (net.parse::<IpAddr>(), bits.parse::<u8>(), host_ip)
        else {
            return false;
        };
        return in_cidr(ip, net, bits);
    }
    if let Ok(ip) = pattern.parse::<IpAddr>() {
        return host_ip == Some(ip);
    }
    let domain = pattern
        .trim_start_matches('*')
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if domain.is_empty() || host_ip.is_some() {
        return false;
    }
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(&domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

/// Splits `entry` into its pattern (IPv6 brackets removed) and its port, if it names one.
fn split_entry_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => (ip, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    // More than one ':' is a bare IPv6 address (or range), which has no port.
    match entry.split_once(':') {
        Some((pattern, port)) if !port.contains(':') => match port.parse() {
            Ok(port) => (pattern, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proxy_urls_and_decodes_credentials() {
        let p = Proxy::new("http://al%40ice:p%3Aw%2Fd@Proxy.Example:3128/").unwrap();
        assert_eq!((p.host(), p.port()), ("proxy.example", 3128));
        #[cfg(any(feature = "ureq", feature = "hyper"))]
        assert_eq!(p.credentials(), Some(("al@ice", "p:w/d")));
        assert_eq!(p.to_string(), "http://***@proxy.example:3128");
        let bare = Proxy::new("10.0.0.1:8080").unwrap();
        assert_eq!(bare.to_string(), "http://10.0.0.1:8080");
        assert!(!bare.has_credentials());
        let v6 = Proxy::new("http://[::1]:3128").unwrap();
        assert_eq!(
            (v6.host(), v6.to_string()),
            ("::1", "http://[::1]:3128".into())
        );
        assert!(v6.is_loopback());
        assert_eq!(Proxy::new("http://proxy").unwrap().port(), 80);
        // A password with an unencoded '/' still ends at the last '@'.
        let slash = Proxy::new("http://u:pa/ss@proxy:1").unwrap();
        #[cfg(any(feature = "ureq", feature = "hyper"))]
        assert_eq!(slash.credentials(), Some(("u", "pa/ss")));
        assert_eq!(slash.host(), "proxy");
    }

    #[test]
    fn bad_proxy_urls_are_refused_without_their_credentials() {
        for bad in [
            "https://user:canary-pw@proxy:443",
            "socks5://user:canary-pw@proxy:1080",
            "http://user:canary-pw@proxy:3128/path",
            "http://user:canary-pw@proxy:3128?q",
            "http://user:canary-pw@:3128",
            "http://user:canary-pw@pro xy:3128",
            "http://user:canary%zz@proxy:3128",
            "http://user:canary%ff@proxy:3128",
            "http://user:canary-pw@proxy:port",
        ] {
            let err = Proxy::new(bad).expect_err(bad);
            assert!(matches!(err, ConfigError::Proxy(_)), "{bad}: {err:?}");
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains("canary"), "{bad}: {shown}");
                assert!(!shown.contains("user"), "{bad}: {shown}");
            }
        }
    }

    #[test]
    fn debug_and_display_hide_the_credentials() {
        let p = Proxy::new("http://canary-user:canary-pw@proxy:3128").unwrap();
        for shown in [p.to_string(), format!("{p:?}"), format!("{p:#?}")] {
            assert!(!shown.contains("canary"), "{shown}");
            assert!(shown.contains("***@proxy:3128"), "{shown}");
        }
    }

    #[cfg(any(feature = "ureq", feature = "hyper"))]
    #[test]
    fn authorization_is_basic_of_the_decoded_pair() {
        let p = Proxy::new("http://Aladdin:open%20sesame@proxy:1").unwrap();
        // RFC 7617's example.
        assert_eq!(
            p.authorization().as_deref().map(String::as_str),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert!(
            Proxy::new("http://proxy:1")
                .unwrap()
                .authorization()
                .is_none()
        );
    }

    #[test]
    fn no_proxy_entries() {
        let m = no_proxy_matches;
        assert!(m("*", "bank.example", 443));
        assert!(m("bank.example", "bank.example", 443));
        assert!(m("bank.example", "api.bank.example", 443));
        assert!(m(".bank.example", "bank.example", 443));
        assert!(m("*.bank.example", "api.bank.example", 443));
        assert!(m("BANK.example.", "Api.Bank.Example.", 443));
        assert!(!m("bank.example", "notbank.example", 443));
        assert!(!m("api.bank.example", "bank.example", 443));
        assert!(m("other.example, bank.example", "bank.example", 443));
        assert!(m("other.example bank.example", "bank.example", 443));
        assert!(m("bank.example:443", "bank.example", 443));
        assert!(!m("bank.example:8443", "bank.example", 443));
        assert!(m("10.1.2.3", "10.1.2.3", 443));
        assert!(!m("10.1.2.3", "10.1.2.4", 443));
        assert!(m("10.0.0.0/8", "10.200.3.4", 443));
        assert!(!m("10.0.0.0/8", "11.0.0.1", 443));
        assert!(m("0.0.0.0/0", "192.0.2.1", 443));
        assert!(m("::1", "::1", 443));
        assert!(m("[::1]", "::1", 443));
        assert!(m("[::1]:443", "::1", 443));
        assert!(!m("[::1]:80", "::1", 443));
        assert!(m("fd00::/8", "fd12::1", 443));
        assert!(!m("fd00::/8", "fe80::1", 443));
        // Names are not resolved, and an IP entry is no domain suffix.
        assert!(!m("10.1.2.3", "host.example", 443));
        assert!(!m("2.3", "10.1.2.3", 443));
        assert!(!m("", "bank.example", 443));
        assert!(!m(" , ", "bank.example", 443));
        assert!(!m("10.0.0.0/33", "10.0.0.1", 443));
    }
}
