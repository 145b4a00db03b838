//! Conversions to and from the [`http`] crate's types (feature `http`, on by default), so any
//! HTTP client that speaks `http::Request`/`http::Response` (reqwest, hyper, ureq, an in-house
//! one) becomes a transport in a few lines.
//!
//! A [`Request`] holds a path relative to the bank's base URL, so it becomes an absolute
//! `http::Request` with [`Request::to_http`]; an `http::Response<Vec<u8>>` becomes a
//! [`Response`] with `From` (and so `TryFrom`). The HTTPS rule, timeouts, the body cap and
//! "never follow a redirect" stay the client's job (login-transport's `TransportConfig` lists
//! them).
//!
//! ```
//! use login_core::{Response, realm, secret::{ClientSecret, Password}};
//!
//! let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
//! let (request, pending) = realm::Start::new("alice", Password::new("pw")).request_login(&cfg);
//!
//! let outgoing = request.to_http("https://bank.example/internal-api/centaur")?;
//! assert_eq!(outgoing.uri(), "https://bank.example/internal-api/centaur/auth/realm/cap/request");
//! assert_eq!(outgoing.method(), http::Method::POST);
//! assert_eq!(outgoing.headers()["content-type"], "application/json");
//! // ... the client sends `outgoing`; here is what came back:
//! let incoming = http::Response::builder()
//!     .status(201)
//!     .body(br#"{"reqId":"r1","exp":300,"mfa":"none"}"#.to_vec())?;
//! let started = pending.receive(&Response::from(incoming), std::time::SystemTime::now());
//! assert!(matches!(started, Ok(realm::LoginStarted::Challenged(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{Request, Response};

/// A conversion to an `http` type that could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpConversionError {
    /// The base URL plus the request's path is not an absolute `http://` or `https://` URL.
    #[error(
        "the base URL is not an absolute http:// or https:// URL; pass one like \
         \"https://bank.example/internal-api/centaur\""
    )]
    BaseUrl,
    /// A header name or value is not valid in HTTP. Only the name is given: the value may be a
    /// credential.
    #[error("header {0} is not valid in HTTP")]
    Header(String),
    /// The status code is outside 100..=999.
    #[error("status {0} is not a valid HTTP status code")]
    Status(u16),
}

impl Request {
    /// The absolute `http::Request` for this description, sent to `base` (the bank's base URL,
    /// e.g. `https://bank.example/internal-api/centaur`; a trailing `/` is ignored) plus
    /// [`path`](Request::path). Sensitive headers (`Authorization`, `checkIdentity`) are marked
    /// sensitive, so `http` and the clients that honour the flag keep them out of logs.
    ///
    /// The body is copied into a plain `Vec<u8>`, which is not wiped on drop (this crate's own
    /// buffers are): drop the `http::Request` once it is sent.
    ///
    /// # Errors
    /// [`HttpConversionError::BaseUrl`] when `base` is not an absolute `http://` or `https://`
    /// URL with a host; [`HttpConversionError::Header`] for a header value `http` refuses (a
    /// configured value with a control character, say).
    pub fn to_http(&self, base: &str) -> Result<http::Request<Vec<u8>>, HttpConversionError> {
        let base = base.trim_end_matches('/');
        let mut url = String::with_capacity(base.len() + self.path().len());
        url.push_str(base);
        url.push_str(self.path());
        let uri: http::Uri = url.parse().map_err(|_| HttpConversionError::BaseUrl)?;
        let http_scheme = uri
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
        if !http_scheme || uri.host().is_none_or(str::is_empty) {
            return Err(HttpConversionError::BaseUrl);
        }
        let method = match self.method() {
            crate::Method::Get => http::Method::GET,
            crate::Method::Post => http::Method::POST,
            crate::Method::Patch => http::Method::PATCH,
        };
        let mut builder = http::Request::builder().method(method).uri(uri);
        for header in self.headers() {
            let bad = || HttpConversionError::Header(header.name().to_owned());
            let name = http::HeaderName::from_bytes(header.name().as_bytes()).map_err(|_| bad())?;
            let mut value = http::HeaderValue::from_str(header.value()).map_err(|_| bad())?;
            value.set_sensitive(header.is_sensitive());
            builder = builder.header(name, value);
        }
        let body = self.body().map(<[u8]>::to_vec).unwrap_or_default();
        // Method, URI and every header were checked above; what is left cannot fail.
        builder.body(body).map_err(|_| HttpConversionError::BaseUrl)
    }
}

/// A response as an `http` client returned it. Header values that are not UTF-8 are read
/// lossily (the engine reads only ASCII headers such as `Retry-After`), so this cannot fail;
/// `TryFrom` comes with it for clients written against `TryFrom`.
impl From<http::Response<Vec<u8>>> for Response {
    fn from(response: http::Response<Vec<u8>>) -> Self {
        let (parts, body) = response.into_parts();
        let mut out = Response::new(parts.status.as_u16(), body);
        for (name, value) in &parts.headers {
            out = out.with_header(name.as_str(), String::from_utf8_lossy(value.as_bytes()));
        }
        out
    }
}

/// The other way, for test servers and recorded exchanges: a [`Response`] as an
/// `http::Response`. The body is copied into a plain `Vec<u8>`.
impl TryFrom<&Response> for http::Response<Vec<u8>> {
    type Error = HttpConversionError;

    fn try_from(response: &Response) -> Result<Self, Self::Error> {
        let status = http::StatusCode::from_u16(response.status())
            .map_err(|_| HttpConversionError::Status(response.status()))?;
        let mut builder = http::Response::builder().status(status);
        for (name, value) in response.headers() {
            let bad = || HttpConversionError::Header(name.to_owned());
            let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            let value = http::HeaderValue::from_str(value).map_err(|_| bad())?;
            builder = builder.header(name, value);
        }
        builder
            .body(response.body().to_vec())
            .map_err(|_| HttpConversionError::Status(response.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realm::{RealmConfig, Start};
    use crate::secret::{ClientSecret, Password};

    fn login_request() -> Request {
        let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("s3cret"));
        Start::new("alice", Password::new("pw"))
            .request_login(&cfg)
            .0
    }

    #[test]
    fn to_http_joins_the_base_url_and_keeps_method_headers_and_body() {
        let request = login_request();
        let out = request
            .to_http("https://bank.example/api/")
            .expect("converts");
        assert_eq!(out.uri(), "https://bank.example/api/auth/realm/cap/request");
        assert_eq!(out.method(), http::Method::POST);
        assert_eq!(out.body().as_slice(), request.body().expect("a body"));
        assert_eq!(out.headers().len(), request.headers().len());
        for header in request.headers() {
            let value = &out.headers()[header.name()];
            assert_eq!(value, header.value());
            assert_eq!(
                value.is_sensitive(),
                header.is_sensitive(),
                "{}",
                header.name()
            );
        }
    }

    #[test]
    fn to_http_refuses_a_base_that_is_not_an_absolute_http_url() {
        let request = login_request();
        for base in [
            "",
            "bank.example",
            "/relative",
            "ftp://bank.example",
            "https://",
        ] {
            assert_eq!(
                request.to_http(base).map(|_| ()),
                Err(HttpConversionError::BaseUrl),
                "{base:?}"
            );
        }
        assert!(request.to_http("http://127.0.0.1:8080").is_ok());
    }

    #[test]
    fn an_http_response_converts_with_its_headers_and_back() {
        let incoming = http::Response::builder()
            .status(429)
            .header("Retry-After", "3")
            .header("x-odd", &[0xE9u8, b'a'][..])
            .body(b"{}".to_vec())
            .expect("valid");
        let response = Response::from(incoming);
        // Clients written against `TryFrom` take it too.
        fn takes_try_from<T: TryFrom<http::Response<Vec<u8>>>>() {}
        takes_try_from::<Response>();
        assert_eq!(response.status(), 429);
        assert_eq!(
            response.retry_after(),
            Some(crate::response::RetryAfter::Delay(
                std::time::Duration::from_secs(3)
            ))
        );
        assert_eq!(response.header("x-odd"), Some("\u{FFFD}a"));
        assert_eq!(response.body(), b"{}");

        let back = http::Response::<Vec<u8>>::try_from(&response).expect("valid");
        assert_eq!(back.status(), 429);
        assert_eq!(back.headers()["retry-after"], "3");
        assert_eq!(back.body().as_slice(), b"{}");
        let bad = Response::new(42, Vec::new());
        assert_eq!(
            http::Response::<Vec<u8>>::try_from(&bad).map(|_| ()),
            Err(HttpConversionError::Status(42))
        );
    }
}
