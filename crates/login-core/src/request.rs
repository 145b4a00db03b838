//! The request description a transition emits: method, path relative to the configured base URL,
//! headers and an optional JSON body. A transport sends it as is.

use crate::table::StepId;
use zeroize::Zeroizing;

/// HTTP method of a request description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PATCH`
    Patch,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request header. Values that carry credentials (`Authorization`, `checkIdentity`) are
/// marked sensitive: redacted in `Debug` and zeroed on drop.
#[derive(Clone)]
pub struct Header {
    name: &'static str,
    value: Value,
    sensitive: bool,
}

/// A header value: a constant needs no allocation (and holds nothing to zero).
#[derive(Clone)]
enum Value {
    Static(&'static str),
    Owned(Zeroizing<String>),
}

impl Header {
    pub(crate) fn plain(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name,
            value: Value::Owned(Zeroizing::new(value.into())),
            sensitive: false,
        }
    }

    /// A header whose value is a constant.
    pub(crate) fn fixed(name: &'static str, value: &'static str) -> Self {
        Self {
            name,
            value: Value::Static(value),
            sensitive: false,
        }
    }

    pub(crate) fn sensitive(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name,
            value: Value::Owned(Zeroizing::new(value.into())),
            sensitive: true,
        }
    }

    /// `Authorization: Bearer <token>`, built in one allocation of the exact size.
    pub(crate) fn bearer(token: &str) -> Self {
        const SCHEME: &str = "Bearer ";
        let mut value = String::with_capacity(SCHEME.len() + token.len());
        value.push_str(SCHEME);
        value.push_str(token);
        Self::sensitive("Authorization", value)
    }

    /// The header name exactly as the contract spells it (HTTP treats it case-insensitively).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The header value. For sensitive headers this exposes a credential.
    pub fn value(&self) -> &str {
        match &self.value {
            Value::Static(v) => v,
            Value::Owned(v) => v,
        }
    }

    /// Whether the value is a credential.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.sensitive {
            write!(f, "{}: <redacted>", self.name)
        } else {
            write!(f, "{}: {:?}", self.name, self.value())
        }
    }
}

/// Whether a server-issued value can be sent back in a header: non-empty visible ASCII, so a
/// hostile server cannot split headers (`\r\n`) or smuggle bytes HTTP libraries reject.
pub(crate) fn is_header_safe(value: &str) -> bool {
    !value.is_empty() && all_bytes_in(value, 0x21, 0x7e)
}

/// Whether every byte of `s` is in `lo..=hi`. No early exit, so the loop vectorizes: these
/// checks run over every token of every response, and the answer is almost always yes.
pub(crate) fn all_bytes_in(s: &str, lo: u8, hi: u8) -> bool {
    s.bytes().fold(true, |ok, b| ok & (lo..=hi).contains(&b))
}

/// Most bodies fit (a realm login is about 110 bytes); the sealed login challenge grows once.
const INITIAL_BODY_CAPACITY: usize = 256;

/// A request body, zeroed on drop. Only [`WipingWriter`] fills it and nothing else gets mutable
/// access, so no byte beyond `len` was ever written: zeroing `len` bytes (not the whole
/// capacity, as `Zeroizing<Vec>` must for vectors of unknown history) leaves nothing behind.
#[derive(Clone)]
struct Body(Vec<u8>);

impl Drop for Body {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(self.0.as_mut_slice());
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// A `Vec` writer that never leaves a copy behind: when the buffer (which may hold a password)
/// must grow, the old one is zeroed before it is freed, instead of `Vec`'s `realloc`.
struct WipingWriter(Vec<u8>);

impl WipingWriter {
    #[cold]
    #[inline(never)]
    fn grow(&mut self, extra: usize) {
        let needed = self.0.len() + extra;
        let mut bigger = Vec::with_capacity(needed.max(self.0.capacity() * 2));
        bigger.extend_from_slice(&self.0);
        let old = std::mem::replace(&mut self.0, bigger);
        drop(Zeroizing::new(old));
    }
}

impl std::io::Write for WipingWriter {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.len() > self.0.capacity() - self.0.len() {
            self.grow(bytes.len());
        }
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A request description: everything a transport needs to perform one step.
///
/// ```
/// use login_core::realm::{RealmConfig, Start};
/// use login_core::secret::{ClientSecret, Password};
///
/// let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
/// let (request, _pending) = Start::new("alice", Password::new("pw")).request_login(&cfg);
/// assert_eq!(request.method().as_str(), "POST");
/// assert_eq!(request.path(), "/auth/realm/cap/request");
/// assert!(format!("{request:?}").contains("redacted"));
/// ```
#[derive(Clone)]
pub struct Request {
    step: StepId,
    method: Method,
    path: std::sync::Arc<str>,
    headers: Vec<Header>,
    body: Option<Body>,
}

impl Request {
    /// `path` is shared with the configuration that built it (a reference count, not a copy
    /// per request).
    pub(crate) fn new(step: StepId, method: Method, path: impl Into<std::sync::Arc<str>>) -> Self {
        Self {
            step,
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn header(mut self, header: Header) -> Self {
        self.headers.push(header);
        self
    }

    /// Serializes `body` as the JSON body and sets `Content-Type`.
    pub(crate) fn json<T: serde::Serialize>(mut self, body: &T) -> Self {
        let mut buf = WipingWriter(Vec::with_capacity(INITIAL_BODY_CAPACITY));
        // Serializing our own plain structs into a Vec cannot fail.
        if serde_json::to_writer(&mut buf, body).is_err() {
            // Zeroes the whole capacity: a partial body may sit beyond the cleared length.
            zeroize::Zeroize::zeroize(&mut buf.0);
        }
        self.headers
            .push(Header::fixed("Content-Type", "application/json"));
        self.body = Some(Body(std::mem::take(&mut buf.0)));
        self
    }

    /// Which step of which API this request performs.
    pub fn step(&self) -> StepId {
        self.step
    }

    /// The HTTP method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path relative to the configured base URL; always starts with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Headers to send, in order.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The JSON body, if any. May contain secrets.
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_ref().map(|b| b.0.as_slice())
    }

    /// Whether repeating this request after a server fault (5xx) or a lost response is safe:
    /// only steps with no server-side effect a repeat could double.
    pub fn is_safe_to_repeat(&self) -> bool {
        self.step.is_safe_to_repeat()
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("step", &self.step)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish()
    }
}
