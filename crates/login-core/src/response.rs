//! The response a transport feeds back: status, headers and body bytes.

use crate::secret::SecretBytes;

/// An HTTP response as received. The body may hold tokens: it is redacted in `Debug` and zeroed
/// on drop.
///
/// ```
/// use login_core::Response;
/// let r = Response::new(429, b"{}".to_vec()).with_header("Retry-After", "3");
/// assert_eq!(r.status(), 429);
/// assert_eq!(r.header("retry-after"), Some("3"));
/// ```
#[derive(Clone, Debug)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: SecretBytes,
}

impl Response {
    /// A response with a status and a body and no headers.
    pub fn new(status: u16, body: impl Into<SecretBytes>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header as received, in order (names as the server spelled them).
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        self.body.expose()
    }

    /// `Retry-After` as whole seconds, when present and given as seconds (HTTP dates are not
    /// honoured: the contract says seconds).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        let v = self.header("retry-after")?.trim();
        let secs: u64 = v.parse().ok()?;
        Some(std::time::Duration::from_secs(secs))
    }
}
