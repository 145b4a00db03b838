//! The request description a transition emits: method, path relative to the configured base URL,
//! headers and an optional JSON body. A transport sends it as is.

use crate::secret::SecretBytes;
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
    value: Zeroizing<String>,
    sensitive: bool,
}

impl Header {
    pub(crate) fn plain(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name,
            value: Zeroizing::new(value.into()),
            sensitive: false,
        }
    }

    pub(crate) fn sensitive(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name,
            value: Zeroizing::new(value.into()),
            sensitive: true,
        }
    }

    /// The header name exactly as the contract spells it (HTTP treats it case-insensitively).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The header value. For sensitive headers this exposes a credential.
    pub fn value(&self) -> &str {
        &self.value
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
            write!(f, "{}: {:?}", self.name, &*self.value)
        }
    }
}

/// Whether a server-issued value can be sent back in a header: non-empty visible ASCII, so a
/// hostile server cannot split headers (`\r\n`) or smuggle bytes HTTP libraries reject.
pub(crate) fn is_header_safe(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
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
    path: String,
    headers: Vec<Header>,
    body: Option<SecretBytes>,
}

impl Request {
    pub(crate) fn new(step: StepId, method: Method, path: String) -> Self {
        Self {
            step,
            method,
            path,
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
        // Pre-sized so the buffer (which may hold a password) is not reallocated and left behind.
        let mut buf = Vec::with_capacity(1024);
        // Serializing our own plain structs into a Vec cannot fail.
        if serde_json::to_writer(&mut buf, body).is_err() {
            buf.clear();
        }
        self.headers
            .push(Header::plain("Content-Type", "application/json"));
        self.body = Some(SecretBytes::new(buf));
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
        self.body.as_ref().map(SecretBytes::expose)
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
