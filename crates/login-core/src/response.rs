//! The response a transport feeds back: status, headers and body bytes.

use std::time::{Duration, SystemTime};

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

    /// `Retry-After`, in either form RFC 9110 §10.2.3 allows: whole seconds (the contract's)
    /// or an HTTP date (a tolerant reader takes both). `None` when absent or neither.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use login_core::{Response, response::RetryAfter};
    /// let r = Response::new(429, Vec::new()).with_header("Retry-After", "3");
    /// assert_eq!(r.retry_after(), Some(RetryAfter::Delay(Duration::from_secs(3))));
    /// let r = Response::new(429, Vec::new()).with_header("Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT");
    /// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
    /// assert_eq!(r.retry_after(), Some(RetryAfter::At(at)));
    /// ```
    pub fn retry_after(&self) -> Option<RetryAfter> {
        let v = self.header("retry-after")?.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(RetryAfter::Delay(Duration::from_secs(secs)));
        }
        httpdate::parse_http_date(v).ok().map(RetryAfter::At)
    }
}

/// A `Retry-After` value: a delay, or the HTTP date to wait until. The engine is pure, so the
/// wait of a date is computed by whoever holds the clock (the runner, from the receipt instant).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use login_core::response::RetryAfter;
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
/// assert_eq!(RetryAfter::Delay(Duration::from_secs(3)).delay_from(now), Duration::from_secs(3));
/// assert_eq!(RetryAfter::At(now + Duration::from_secs(5)).delay_from(now), Duration::from_secs(5));
/// assert_eq!(RetryAfter::At(now - Duration::from_secs(5)).delay_from(now), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Delay(Duration),
    /// `Retry-After: <HTTP date>`.
    At(SystemTime),
}

impl RetryAfter {
    /// How long to wait from `now`: the delay itself, or the time until the date (zero once it
    /// has passed).
    pub fn delay_from(self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Delay(d) => d,
            RetryAfter::At(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}

impl std::fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryAfter::Delay(d) => write!(f, "{d:?}"),
            RetryAfter::At(at) => write!(f, "{}", httpdate::fmt_http_date(*at)),
        }
    }
}
