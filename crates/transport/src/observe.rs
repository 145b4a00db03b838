//! Observability: what the drivers and keepers report through `tracing` and the `metrics`
//! facade, with the names in one place.
//!
//! # Spans
//!
//! Every run of a driver ([`Driver`](crate::Driver), `AsyncDriver`) is one span, `login_flow`,
//! and every HTTP call inside it is a child span, `login_step`. Field names follow
//! OpenTelemetry's semantic conventions where one exists (HTTP client spans, `error.type`), and
//! `loginflow.*` otherwise; a `tracing-opentelemetry` layer exports them as they are.
//!
//! | span | field | value |
//! |---|---|---|
//! | `login_flow` | `loginflow.api` | `realm` or `ciam` |
//! | | `loginflow.flow` | `login`, `forgot_password`, `resume`, `refresh`, `revoke` ([`FLOW_KINDS`]) |
//! | | `loginflow.outcome` | at the end: `tokened`, `revoked`, `password_reset`, `paused`, `failed` ([`OUTCOMES`]) |
//! | | `error.type` | a failed run's [`ErrorKind`](login_core::ErrorKind) (`invalid_credentials`, `timeout`, ...) |
//! | | `otel.status_code` | `error` when the run failed (unset otherwise) |
//! | `login_step` | `otel.name` | the method (`POST`): the span name the HTTP conventions ask for |
//! | | `otel.kind` | `client` |
//! | | `loginflow.api`, `loginflow.step` | the API and login-core's step name (`request_login`, `token`, ...) |
//! | | `http.request.method` | `GET`, `POST`, `PATCH`, `DELETE` |
//! | | `url.path` | the request's path relative to the base URL, no query (`/auth/realm/cap/token`) |
//! | | `url.scheme`, `server.address`, `server.port` | the base URL's, recorded by the crate's own transports |
//! | | `http.request.resend_count` | the 429 repeats before this call, when there were any |
//! | | `http.response.status_code` | the status received |
//! | | `error.type` | the status (`401`) for a 4xx or 5xx, the transport failure (`timeout`, `reset`, ...) when no response came |
//! | | `otel.status_code` | `error` with `error.type` |
//!
//! The tracing name of the HTTP span stays `login_step` (constant names are what `tracing`
//! filters and formatters key on); `otel.name` gives exporters the conventional name. No field
//! holds a header, a body, a token, an OTP or a user name: a path holds only the realm id,
//! which is configuration, not a secret.
//!
//! # Metrics
//!
//! Recorded through the [`metrics`] facade, so they go to whatever recorder the application
//! installed (Prometheus, OpenTelemetry, statsd, ...) and cost next to nothing when none is: the
//! per-run and per-call series use keys built once (no allocation per call), and every label
//! value is a `&'static str` from a small fixed set (no user, no id, no status beyond its class).
//!
//! | metric | type | labels | unit |
//! |---|---|---|---|
//! | [`FLOWS_STARTED`] | counter | `api`, `flow` | runs |
//! | [`FLOWS_FINISHED`] | counter | `api`, `flow`, `outcome`, `error` (`none` unless failed) | runs |
//! | [`STEP_DURATION`] | histogram | `api`, `step`, `status_class` (`1xx` ... `5xx`, `other`, `error` for no response) | seconds, send to whole response |
//! | [`RETRIES`] | counter | `api`, `step` | 429 repeats |
//! | [`REFRESHES`] | counter | `api`, `outcome` (`refreshed`, `failed`, `ended`, `interrupted`) | keeper refresh attempts |
//! | [`KEEPER_COALESCED`] | counter | `api` | keeper callers that took another caller's refresh outcome |
//!
//! [`describe`] registers their descriptions and units with the current recorder.
//!
//! ```
//! // Any recorder; metrics-util's debugging recorder here.
//! let recorder = metrics_util::debugging::DebuggingRecorder::new();
//! metrics::with_local_recorder(&recorder, login_transport::observe::describe);
//! ```

use std::sync::OnceLock;
use std::time::Duration;

use login_core::runner::{Goal, Runner};
use login_core::table::{Api, StateId, StepId};
use login_core::{Flow, Request, Response, StopReason, Stopped, TransportError};
use metrics::{Key, Label, Metadata};
use tracing::Span;
use tracing::field::Empty;

/// Counter: runs started, by `api` and `flow`.
pub const FLOWS_STARTED: &str = "loginflow_flows_started_total";
/// Counter: runs finished, by `api`, `flow`, `outcome` and `error`.
pub const FLOWS_FINISHED: &str = "loginflow_flows_finished_total";
/// Histogram: seconds from sending a request to holding its whole response (or the failure),
/// by `api`, `step` and `status_class`.
pub const STEP_DURATION: &str = "loginflow_step_duration_seconds";
/// Counter: calls repeated after a 429, by `api` and `step`.
pub const RETRIES: &str = "loginflow_retries_total";
/// Counter: token keeper refresh attempts, by `api` and `outcome`.
pub const REFRESHES: &str = "loginflow_refreshes_total";
/// Counter: token keeper callers that shared a refresh another caller made, by `api`.
pub const KEEPER_COALESCED: &str = "loginflow_keeper_coalesced_total";

/// Every value of the `flow` label and the `loginflow.flow` field.
pub const FLOW_KINDS: [&str; 5] = ["login", "forgot_password", "resume", "refresh", "revoke"];
/// Every value of the `outcome` label of [`FLOWS_FINISHED`] and the `loginflow.outcome` field.
pub const OUTCOMES: [&str; 5] = ["tokened", "revoked", "password_reset", "paused", "failed"];

/// Registers the metrics' descriptions and units with the current recorder (call it once,
/// after installing one; recorders that render help text show them).
///
/// ```
/// let recorder = metrics_util::debugging::DebuggingRecorder::new();
/// let snapshotter = recorder.snapshotter();
/// metrics::with_local_recorder(&recorder, || {
///     login_transport::observe::describe();
///     // A driver run here would record its series under these descriptions.
/// });
/// # let _ = snapshotter;
/// ```
pub fn describe() {
    use metrics::Unit;
    metrics::describe_counter!(
        FLOWS_STARTED,
        Unit::Count,
        "Driver runs started (login, forgot_password, resume, refresh, revoke)."
    );
    metrics::describe_counter!(
        FLOWS_FINISHED,
        Unit::Count,
        "Driver runs finished, by outcome and error kind (none unless failed)."
    );
    metrics::describe_histogram!(
        STEP_DURATION,
        Unit::Seconds,
        "One HTTP call of a flow, from send to the whole response or the failure."
    );
    metrics::describe_counter!(
        RETRIES,
        Unit::Count,
        "Calls repeated after a 429 within the retry policy."
    );
    metrics::describe_counter!(
        REFRESHES,
        Unit::Count,
        "Token keeper refresh attempts, by outcome."
    );
    metrics::describe_counter!(
        KEEPER_COALESCED,
        Unit::Count,
        "Token keeper callers that took the outcome of a refresh another caller made."
    );
}

/// The `error` label of a run that did not fail.
const NO_ERROR: &str = "none";

/// What a run does (the `flow` label), read from the runner before its first poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlowKind {
    Login,
    ForgotPassword,
    Resume,
    Refresh,
    Revoke,
}

impl FlowKind {
    pub(crate) fn of(runner: &Runner) -> Self {
        match runner.goal() {
            Goal::Refresh => Self::Refresh,
            Goal::Revoke => Self::Revoke,
            Goal::Finish => match runner.state_id() {
                // An internet-banking login draws its start at the first poll.
                None | Some(StateId::Start) => Self::Login,
                Some(StateId::ResetStart) => Self::ForgotPassword,
                Some(_) => Self::Resume,
            },
        }
    }

    fn as_str(self) -> &'static str {
        FLOW_KINDS[self as usize]
    }
}

/// How a run ended (the `outcome` label); `Failed` is last: the others carry no error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Tokened,
    Revoked,
    PasswordReset,
    Paused,
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        OUTCOMES[self as usize]
    }
}

/// The `api` label: a forgot-password run belongs to the realm API.
fn api_label(api: Api) -> &'static str {
    match api {
        Api::Ciam => "ciam",
        Api::Realm | Api::ForgotPassword => "realm",
    }
}

/// The `status_class` values; `other` for a status outside 100–599, `error` for no response.
const STATUS_CLASSES: [&str; 7] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other", "error"];

fn status_class(outcome: &Result<Response, TransportError>) -> usize {
    match outcome {
        Ok(response) => match response.status() / 100 {
            c @ 1..=5 => usize::from(c - 1),
            _ => 5,
        },
        Err(_) => 6,
    }
}

/// The keys of the driver's per-run and per-call series, built once. `metrics::counter!` with
/// label values from variables builds a key (a vector of labels) on every call, recorder or
/// not; a borrowed prepared key costs nothing when no recorder is installed and spares a real
/// recorder the hashing. Failures, 429 repeats and keeper refreshes are rare: they use the
/// macros.
struct Keys {
    /// By api and flow kind.
    started: Vec<Key>,
    /// By api, flow kind and outcome other than `failed` (error `none`).
    finished: Vec<Key>,
    /// By step (its API is the step's) and status class.
    steps: Vec<Key>,
}

const APIS: [Api; 2] = [Api::Realm, Api::Ciam];

impl Keys {
    fn get() -> &'static Keys {
        static KEYS: OnceLock<Keys> = OnceLock::new();
        KEYS.get_or_init(Self::build)
    }

    fn build() -> Keys {
        let label = |k: &'static str, v: &'static str| Label::from_static_parts(k, v);
        let mut started = Vec::new();
        let mut finished = Vec::new();
        for api in APIS {
            for flow in FLOW_KINDS {
                let labels = vec![label("api", api_label(api)), label("flow", flow)];
                started.push(Key::from_parts(FLOWS_STARTED, labels));
                for outcome in &OUTCOMES[..Outcome::Failed as usize] {
                    let labels = vec![
                        label("api", api_label(api)),
                        label("flow", flow),
                        label("outcome", outcome),
                        label("error", NO_ERROR),
                    ];
                    finished.push(Key::from_parts(FLOWS_FINISHED, labels));
                }
            }
        }
        let mut steps = Vec::new();
        for step in StepId::ALL {
            for class in STATUS_CLASSES {
                let labels = vec![
                    label("api", api_label(step.api())),
                    label("step", step.as_str()),
                    label("status_class", class),
                ];
                steps.push(Key::from_parts(STEP_DURATION, labels));
            }
        }
        Keys {
            started,
            finished,
            steps,
        }
    }

    fn api_index(api: Api) -> usize {
        usize::from(api == Api::Ciam)
    }

    fn started(&self, api: Api, flow: FlowKind) -> Option<&Key> {
        self.started
            .get(Self::api_index(api) * FLOW_KINDS.len() + flow as usize)
    }

    fn finished(&self, api: Api, flow: FlowKind, outcome: Outcome) -> Option<&Key> {
        let ok = Outcome::Failed as usize;
        self.finished
            .get((Self::api_index(api) * FLOW_KINDS.len() + flow as usize) * ok + outcome as usize)
    }

    fn step(&self, step: StepId, class: usize) -> Option<&Key> {
        // `StepId::ALL` lists the steps in declaration order, so the discriminant is the
        // index (`prepared_keys_match_their_labels` checks every key's labels): no search per
        // call.
        self.steps.get(step as usize * STATUS_CLASSES.len() + class)
    }
}

/// What the facade's macros pass along with each key.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

fn increment(key: &Key) {
    metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(1));
}

/// The span of one whole run; its outcome is recorded by [`flow_finished`].
pub(crate) fn flow_span(api: Api, flow: FlowKind) -> Span {
    tracing::info_span!(
        "login_flow",
        "loginflow.api" = api_label(api),
        "loginflow.flow" = flow.as_str(),
        "loginflow.outcome" = Empty,
        "error.type" = Empty,
        "otel.status_code" = Empty,
    )
}

pub(crate) fn flow_started(api: Api, flow: FlowKind) {
    if let Some(key) = Keys::get().started(api, flow) {
        increment(key);
    }
}

/// Records how a run ended on its span and in [`FLOWS_FINISHED`].
pub(crate) fn flow_finished(span: &Span, api: Api, flow: FlowKind, result: &Result<Flow, Stopped>) {
    let outcome = match result {
        Ok(flow) => match flow.state_id() {
            StateId::Revoked => Outcome::Revoked,
            StateId::PasswordReset => Outcome::PasswordReset,
            // A login's, a refresh's and a resume's goal.
            _ => Outcome::Tokened,
        },
        Err(Stopped {
            reason: StopReason::NoAnswer(_),
            ..
        }) => Outcome::Paused,
        Err(Stopped {
            reason: StopReason::Failed(e),
            ..
        }) => {
            let error = e.kind().as_str();
            span.record("loginflow.outcome", Outcome::Failed.as_str());
            span.record("error.type", error);
            span.record("otel.status_code", "error");
            metrics::counter!(
                FLOWS_FINISHED,
                "api" => api_label(api),
                "flow" => flow.as_str(),
                "outcome" => Outcome::Failed.as_str(),
                "error" => error
            )
            .increment(1);
            return;
        }
    };
    span.record("loginflow.outcome", outcome.as_str());
    if let Some(key) = Keys::get().finished(api, flow, outcome) {
        increment(key);
    }
}

/// The span of one HTTP call (see the module docs for its fields).
pub(crate) fn step_span(api: Api, request: &Request, retries: u32) -> Span {
    let method = request.method().as_str();
    let path = request.path();
    // Paths carry no query today; if a configured route ever does, it stays out.
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    let span = tracing::info_span!(
        "login_step",
        "otel.name" = method,
        "otel.kind" = "client",
        "otel.status_code" = Empty,
        "loginflow.api" = api_label(api),
        "loginflow.step" = request.step().as_str(),
        "http.request.method" = method,
        "url.path" = path,
        "url.scheme" = Empty,
        "server.address" = Empty,
        "server.port" = Empty,
        "http.request.resend_count" = Empty,
        "http.response.status_code" = Empty,
        "error.type" = Empty,
    );
    if retries > 0 {
        span.record("http.request.resend_count", retries);
    }
    span
}

/// A call goes out again after a 429.
pub(crate) fn step_repeated(api: Api, request: &Request) {
    metrics::counter!(RETRIES, "api" => api_label(api), "step" => request.step().as_str())
        .increment(1);
}

/// Records the server a built-in transport sends to on the current HTTP span (a no-op outside
/// one, or when no subscriber listens).
#[cfg(any(feature = "ureq", feature = "hyper"))]
pub(crate) fn record_server(base: &crate::policy::BaseUrl) {
    let span = Span::current();
    if span.is_disabled() {
        return;
    }
    let scheme = match base.scheme {
        crate::policy::Scheme::Http => "http",
        crate::policy::Scheme::Https => "https",
    };
    span.record("url.scheme", scheme);
    span.record("server.address", base.host.as_str());
    span.record("server.port", base.port);
}

/// Records a finished HTTP call on its span and in [`STEP_DURATION`].
pub(crate) fn step_finished(
    span: &Span,
    request: &Request,
    outcome: &Result<Response, TransportError>,
    elapsed: Duration,
) {
    if let Some(key) = Keys::get().step(request.step(), status_class(outcome)) {
        let seconds = elapsed.as_secs_f64();
        metrics::with_recorder(|r| r.register_histogram(key, &METADATA).record(seconds));
    }
    if span.is_disabled() {
        return;
    }
    match outcome {
        Ok(response) => {
            let status = response.status();
            span.record("http.response.status_code", status);
            // The HTTP conventions: a 4xx or 5xx is an error of a client span, named by its status.
            if status >= 400 {
                if let Ok(code) = http::StatusCode::from_u16(status) {
                    span.record("error.type", code.as_str());
                }
                span.record("otel.status_code", "error");
            }
        }
        Err(e) => {
            span.record("error.type", e.kind.as_str());
            span.record("otel.status_code", "error");
        }
    }
}

/// A keeper refresh attempt ended: `refreshed`, `failed` (the session is kept for the next
/// try), `ended` (the server ended the session) or `interrupted`.
pub(crate) fn refresh_finished(api: Api, outcome: &'static str) {
    metrics::counter!(REFRESHES, "api" => api_label(api), "outcome" => outcome).increment(1);
}

/// A keeper caller took the outcome of a refresh another caller made.
pub(crate) fn refresh_shared(api: Api) {
    metrics::counter!(KEEPER_COALESCED, "api" => api_label(api)).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        let classes: Vec<&str> = [100, 204, 302, 429, 503, 600, 42]
            .into_iter()
            .map(|status| STATUS_CLASSES[status_class(&Ok(Response::new(status, Vec::new())))])
            .collect();
        assert_eq!(
            classes,
            ["1xx", "2xx", "3xx", "4xx", "5xx", "other", "other"]
        );
        let failed = Err(TransportError::new(
            login_core::TransportErrorKind::Timeout,
            "slow",
        ));
        assert_eq!(STATUS_CLASSES[status_class(&failed)], "error");
    }

    /// Every prepared key carries the labels its index stands for.
    #[test]
    fn prepared_keys_match_their_labels() {
        let keys = Keys::get();
        let labels = |key: Option<&Key>| -> Vec<(String, String)> {
            key.expect("a key")
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect()
        };
        let pairs = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let flows = [
            FlowKind::Login,
            FlowKind::ForgotPassword,
            FlowKind::Resume,
            FlowKind::Refresh,
            FlowKind::Revoke,
        ];
        let outcomes = [
            Outcome::Tokened,
            Outcome::Revoked,
            Outcome::PasswordReset,
            Outcome::Paused,
        ];
        for api in [Api::Realm, Api::Ciam, Api::ForgotPassword] {
            for flow in flows {
                assert_eq!(
                    labels(keys.started(api, flow)),
                    pairs(&[("api", api_label(api)), ("flow", flow.as_str())])
                );
                for outcome in outcomes {
                    let key = keys.finished(api, flow, outcome);
                    assert_eq!(key.map(Key::name), Some(FLOWS_FINISHED));
                    assert_eq!(
                        labels(key),
                        pairs(&[
                            ("api", api_label(api)),
                            ("flow", flow.as_str()),
                            ("outcome", outcome.as_str()),
                            ("error", "none"),
                        ])
                    );
                }
            }
        }
        for step in StepId::ALL {
            for (class, name) in STATUS_CLASSES.iter().enumerate() {
                let key = keys.step(step, class);
                assert_eq!(key.map(Key::name), Some(STEP_DURATION));
                assert_eq!(
                    labels(key),
                    pairs(&[
                        ("api", api_label(step.api())),
                        ("step", step.as_str()),
                        ("status_class", name),
                    ])
                );
            }
        }
    }
}
