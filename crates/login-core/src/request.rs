//! The request description a transition emits: method, path relative to the configured base URL,
//! headers and an optional JSON body. A transport sends it as is.

use crate::secret::{WipedString, wipe_vec};
use crate::table::StepId;
use std::sync::Arc;

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
    name: Name,
    value: Value,
}

/// A header name: the contract's spelling, or one a profile configures (the captcha header),
/// shared with the profile by reference count.
#[derive(Clone)]
enum Name {
    Static(&'static str),
    Shared(Arc<str>),
}

/// A header value: a constant needs no allocation (and holds nothing to zero). Whether it is
/// a credential is the variant, which keeps a value at three words and a header at six
/// (requests carry them inline; the name's variant costs the sixth).
#[derive(Clone)]
enum Value {
    Static(&'static str),
    Sensitive(WipedString),
    /// A configured value (location, event id), shared with the configuration by reference
    /// count rather than copied into every request.
    SharedPlain(Arc<str>),
    /// A configured credential (the device bearer), shared likewise; zeroed when the last
    /// holder drops it.
    SharedSensitive(Arc<WipedString>),
}

impl Header {
    /// An unused slot of [`Headers`]: never handed out.
    const VACANT: Header = Header::fixed("", "");

    /// A header whose value is a constant.
    pub(crate) const fn fixed(name: &'static str, value: &'static str) -> Self {
        Self {
            name: Name::Static(name),
            value: Value::Static(value),
        }
    }

    /// A header whose value is shared with the configuration that holds it.
    pub(crate) fn shared(name: &'static str, value: &Arc<str>) -> Self {
        Self {
            name: Name::Static(name),
            value: Value::SharedPlain(Arc::clone(value)),
        }
    }

    /// A sensitive header built once (per configuration) and shared by every request that
    /// carries it: each copy is a reference count, not an allocation.
    pub(crate) fn shared_sensitive(name: &'static str, value: String) -> Self {
        Self {
            name: Name::Static(name),
            value: Value::SharedSensitive(Arc::new(WipedString(value))),
        }
    }

    pub(crate) fn sensitive(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name: Name::Static(name),
            value: Value::Sensitive(WipedString(value.into())),
        }
    }

    /// A sensitive header under a configured name (a profile's `captchaHeader`, checked to be
    /// an HTTP token when it was made).
    pub(crate) fn sensitive_named(name: &Arc<str>, value: impl Into<String>) -> Self {
        Self {
            name: Name::Shared(Arc::clone(name)),
            value: Value::Sensitive(WipedString(value.into())),
        }
    }

    /// `Authorization: Bearer <token>`, built in one allocation of the exact size.
    pub(crate) fn bearer(token: &str) -> Self {
        Self::sensitive("Authorization", bearer_value(token))
    }

    /// `Authorization: Bearer <token>` to share between requests (see
    /// [`shared_sensitive`](Self::shared_sensitive)).
    pub(crate) fn shared_bearer(token: &str) -> Self {
        Self::shared_sensitive("Authorization", bearer_value(token))
    }

    /// The header name exactly as the contract (or the profile, for a configured one) spells
    /// it; HTTP treats it case-insensitively.
    pub fn name(&self) -> &str {
        match &self.name {
            Name::Static(n) => n,
            Name::Shared(n) => n,
        }
    }

    /// The header value. For sensitive headers this exposes a credential.
    pub fn value(&self) -> &str {
        match &self.value {
            Value::Static(v) => v,
            Value::Sensitive(v) => &v.0,
            Value::SharedPlain(v) => v,
            Value::SharedSensitive(v) => &v.0,
        }
    }

    /// Whether the value is a credential.
    pub fn is_sensitive(&self) -> bool {
        matches!(self.value, Value::Sensitive(_) | Value::SharedSensitive(_))
    }
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_sensitive() {
            write!(f, "{}: <redacted>", self.name())
        } else {
            write!(f, "{}: {:?}", self.name(), self.value())
        }
    }
}

/// `Bearer <token>` in one allocation of the exact size.
fn bearer_value(token: &str) -> String {
    const SCHEME: &str = "Bearer ";
    let mut value = String::with_capacity(SCHEME.len() + token.len());
    value.push_str(SCHEME);
    value.push_str(token);
    value
}

/// Most bodies fit (a realm login is about 110 bytes); the sealed login challenge grows once.
const INITIAL_BODY_CAPACITY: usize = 256;

/// A request body, zeroed on drop. Only [`WipingWriter`] fills it and nothing else gets mutable
/// access, so no byte beyond `len` was ever written: zeroing `len` bytes (not the whole
/// capacity, as `Zeroizing<Vec>` must for vectors of unknown history) leaves nothing behind.
#[derive(Clone)]
pub(crate) struct Body(Vec<u8>);

impl Body {
    /// The JSON bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Serializes `value` into a [`Body`]: zeroed on drop, and never `realloc`ed with a copy left
/// behind. Used for request bodies and for the credentials plaintext before it is sealed.
pub(crate) fn json_body<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Body, serde_json::Error> {
    let mut buf = WipingWriter(Vec::with_capacity(INITIAL_BODY_CAPACITY));
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => Ok(Body(std::mem::take(&mut buf.0))),
        Err(e) => {
            // The whole capacity: a partial body may sit beyond the cleared length.
            wipe_vec(&mut buf.0);
            Err(e)
        }
    }
}

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
        let mut old = std::mem::replace(&mut self.0, bigger);
        wipe_vec(&mut old);
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

/// Headers held inline: a credential (`Authorization` or `checkIdentity`) and `Content-Type`,
/// all that any request of a configuration without location or event id carries. More would
/// make every request larger to move, which costs more than the vector they save.
const INLINE_HEADERS: usize = 2;

/// The most headers a request of the engine carries: location (two), event id, a credential,
/// `Content-Type`.
const MAX_HEADERS: usize = 5;

/// A request's headers, in order: inline up to [`INLINE_HEADERS`] (no allocation per request),
/// moved to a vector beyond.
#[derive(Clone)]
enum Headers {
    Inline {
        slots: [Header; INLINE_HEADERS],
        len: usize,
    },
    Spilled(Vec<Header>),
}

impl Headers {
    const fn new() -> Self {
        Headers::Inline {
            slots: [Header::VACANT; INLINE_HEADERS],
            len: 0,
        }
    }

    fn push(&mut self, header: Header) {
        match self {
            Headers::Inline { slots, len } if *len < INLINE_HEADERS => {
                slots[*len] = header;
                *len += 1;
            }
            Headers::Inline { slots, .. } => {
                // Moves the values (no copy of a credential is left behind).
                let mut all: Vec<Header> = Vec::with_capacity(MAX_HEADERS);
                all.extend(
                    slots
                        .iter_mut()
                        .map(|h| std::mem::replace(h, Header::VACANT)),
                );
                all.push(header);
                *self = Headers::Spilled(all);
            }
            Headers::Spilled(all) => all.push(header),
        }
    }

    fn as_slice(&self) -> &[Header] {
        match self {
            Headers::Inline { slots, len } => &slots[..*len],
            Headers::Spilled(all) => all,
        }
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
    path: Arc<str>,
    headers: Headers,
    body: Option<Body>,
}

impl Request {
    /// `path` is shared with the configuration that built it (a reference count, not a copy
    /// per request).
    pub(crate) fn new(step: StepId, method: Method, path: impl Into<Arc<str>>) -> Self {
        Self {
            step,
            method,
            path: path.into(),
            headers: Headers::new(),
            body: None,
        }
    }

    pub(crate) fn header(mut self, header: Header) -> Self {
        self.headers.push(header);
        self
    }

    /// Serializes `body` as the JSON body and sets `Content-Type`.
    pub(crate) fn json<T: serde::Serialize>(mut self, body: &T) -> Self {
        // Serializing our own plain structs into a Vec cannot fail.
        let body = json_body(body).unwrap_or(Body(Vec::new()));
        self.headers
            .push(Header::fixed("Content-Type", "application/json"));
        self.body = Some(body);
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
        self.headers.as_slice()
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

    /// A request the engine's states never make, for conformance probes and tests: an empty
    /// body, another content type, a made-up request id. `step` names the contract row the
    /// answer is measured against; add headers with [`with_header`](Self::with_header) and a
    /// body with [`with_body`](Self::with_body). Any transport sends it like the others.
    ///
    /// ```
    /// use login_core::{Method, Request, table::StepId};
    /// let probe = Request::custom(StepId::RealmRequestLogin, Method::Post, "/auth/realm/cap/request")
    ///     .with_header("Content-Type", "text/plain", false)
    ///     .with_body(b"{}".to_vec());
    /// assert_eq!(probe.headers()[0].value(), "text/plain");
    /// assert_eq!(probe.body(), Some(&b"{}"[..]));
    /// ```
    pub fn custom(step: StepId, method: Method, path: impl Into<String>) -> Self {
        Self::new(step, method, path.into())
    }

    /// Adds a header; a `sensitive` value is redacted in `Debug` and zeroed on drop.
    pub fn with_header(
        self,
        name: &'static str,
        value: impl Into<String>,
        sensitive: bool,
    ) -> Self {
        let value = value.into();
        self.header(if sensitive {
            Header::sensitive(name, value)
        } else {
            Header::shared(name, &Arc::from(value))
        })
    }

    /// Sets the body bytes as they are (no `Content-Type` is added; the body is zeroed on
    /// drop).
    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(Body(body));
        self
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("step", &self.step)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers.as_slice())
            .field("body", &self.body)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    /// Requests carry their headers inline: a header stays small.
    #[test]
    fn a_header_is_six_words() {
        assert_eq!(
            std::mem::size_of::<super::Header>(),
            6 * std::mem::size_of::<usize>()
        );
    }

    use super::*;

    #[test]
    fn headers_keep_their_order_inline_and_after_spilling() {
        let shared: Arc<str> = Arc::from("13.75");
        for count in 0..=MAX_HEADERS + 2 {
            let mut request = Request::new(StepId::CiamAuthorize, Method::Post, "/p");
            for i in 0..count {
                request = match i % 3 {
                    0 => request.header(Header::shared("locLatitude", &shared)),
                    1 => request.header(Header::bearer(&format!("t{i}"))),
                    _ => request.header(Header::fixed("Content-Type", "application/json")),
                };
            }
            let headers = request.headers();
            assert_eq!(headers.len(), count);
            for (i, h) in headers.iter().enumerate() {
                match i % 3 {
                    0 => assert_eq!(
                        (h.name(), h.value(), h.is_sensitive()),
                        ("locLatitude", "13.75", false)
                    ),
                    1 => {
                        assert_eq!(h.value(), format!("Bearer t{i}"));
                        assert!(h.is_sensitive());
                        assert!(!format!("{h:?}").contains(&format!("t{i}")));
                    }
                    _ => assert_eq!(h.value(), "application/json"),
                }
            }
            let copy = request.clone();
            assert_eq!(copy.headers().len(), count);
        }
    }

    #[test]
    fn a_shared_bearer_is_one_value_and_redacted() {
        let h = Header::shared_bearer("dev-token");
        let copy = h.clone();
        assert_eq!(copy.value(), "Bearer dev-token");
        assert!(copy.is_sensitive());
        assert_eq!(format!("{copy:?}"), "Authorization: <redacted>");
        assert!(std::ptr::eq(h.value(), copy.value()), "shared, not copied");
    }

    #[test]
    fn json_body_holds_exactly_the_serialized_bytes() {
        let long = "x".repeat(3 * INITIAL_BODY_CAPACITY);
        for value in ["short", long.as_str()] {
            let body = json_body(&serde_json::json!({ "v": value })).expect("serializes");
            assert_eq!(
                body.bytes(),
                serde_json::to_vec(&serde_json::json!({ "v": value })).expect("json")
            );
        }
    }
}
