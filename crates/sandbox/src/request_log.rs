//! One log line per request, through tower-http's [`TraceLayer`]: method, path, status and
//! latency, at `info` under the target `login_sandbox::request`.
//!
//! Only the path is logged: never the query string (it may carry a code), a header (it may
//! carry a bearer token) or a body (passwords, secrets, OTPs). With the binary's default
//! filter a line reads like
//! `INFO request{method=POST path=/api/v1/authorize}: login_sandbox::request: status=200 latency_ms=0.41`.

use std::time::Duration;

use axum::http::{Request, Response};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, OnResponse, TraceLayer};
use tracing::Span;

/// The log target of the request lines, for filters (`LOGIN_SANDBOX_LOG`).
pub const TARGET: &str = "login_sandbox::request";

/// The request-log layer: a span with the method and path, one line when the response starts.
pub type RequestLogLayer =
    TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), LogResponse, (), (), ()>;

/// The request-log layer (see the module docs).
pub fn layer() -> RequestLogLayer {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        // One line per request: no "started" line, and no second line for a 5xx (the
        // response line already has the status).
        .on_request(())
        .on_response(LogResponse)
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// The request's span: method and path, nothing else of the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        tracing::info_span!(
            target: TARGET,
            "request",
            method = %request.method(),
            path = %request.uri().path(),
        )
    }
}

/// Logs the status and latency when the response starts.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogResponse;

impl<B> OnResponse<B> for LogResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, _span: &Span) {
        tracing::info!(
            target: TARGET,
            status = response.status().as_u16(),
            latency_ms = %format_args!("{:.2}", latency.as_secs_f64() * 1000.0),
        );
    }
}
