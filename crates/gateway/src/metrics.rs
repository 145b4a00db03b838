//! Metrics through the `metrics` facade, rendered by `metrics-exporter-prometheus` at
//! `GET /metrics`.
//!
//! Each gateway owns its recorder and records through it with
//! [`metrics::with_local_recorder`] rather than a process-wide one, so two gateways in one
//! process (the tests run two) keep their own counts.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `gateway_logins_started_total` | `api` | `POST /v1/logins` (and the page's) accepted |
//! | `gateway_logins_finished_total` | `api` | logins that ended with a session |
//! | `gateway_logins_failed_total` | `api`, `kind` | steps that failed (`invalid_otp`, `login_busy`, `store_unavailable`, ...) |
//! | `gateway_step_duration_seconds` | `step` | each login step's latency as the client sees it (`start`, `otp`, `captcha`), and `token` |
//! | `gateway_bank_call_duration_seconds` | `api`, `step` | each bank call (login-core's API and step names) |
//! | `gateway_refreshes_total` | `api` | token refreshes sent to the bank |
//! | `gateway_store_errors_total` | `kind` | store failures (`store_unavailable`, `sealing`, ...; not a missing or busy login) |
//!
//! Beside them, the login-transport drivers' own series (`loginflow_flows_started_total`,
//! `loginflow_flows_finished_total`, `loginflow_step_duration_seconds`, `loginflow_retries_total`,
//! ...: login-transport's `observe` module), recorded into the same recorder while the gateway
//! drives a flow.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Latency buckets in seconds: 0.5 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The gateway's steps, whose latency histograms are registered once (the token endpoint is
/// hot: no registry lookup per request).
const STEPS: [&str; 4] = ["start", "otp", "captcha", "token"];

/// One gateway's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    steps: Arc<[metrics::Histogram; 4]>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder with histogram buckets for every `*_seconds` metric.
    pub fn new() -> Self {
        // Fixed, valid buckets: the error branch is not reachable; fall back to summaries.
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("seconds".into()), BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // The drivers' series, described (HELP and unit lines) on this recorder.
        metrics::with_local_recorder(&recorder, login_transport::observe::describe);
        let steps = STEPS.map(|step| {
            metrics::with_local_recorder(
                &recorder,
                || metrics::histogram!("gateway_step_duration_seconds", "step" => step),
            )
        });
        Self {
            recorder: Arc::new(recorder),
            handle,
            steps: Arc::new(steps),
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains histogram samples into their buckets (run periodically).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.recorder.as_ref(), f)
    }

    /// `future` with this gateway's recorder current whenever it is polled, so what the
    /// login-transport drivers record inside it (the `loginflow_*` series) lands on this
    /// gateway's `/metrics`. A local recorder lasts one synchronous call; a future is many.
    pub(crate) fn recording<F>(&self, future: F) -> impl Future<Output = F::Output> + Send
    where
        F: Future + Send,
    {
        let recorder = Arc::clone(&self.recorder);
        let mut future = Box::pin(future);
        std::future::poll_fn(move |cx| {
            metrics::with_local_recorder(recorder.as_ref(), || future.as_mut().poll(cx))
        })
    }

    /// A login was started.
    pub fn login_started(&self, api: &'static str) {
        self.with(|| metrics::counter!("gateway_logins_started_total", "api" => api).increment(1));
    }

    /// A login ended with a session.
    pub fn login_finished(&self, api: &'static str) {
        self.with(|| metrics::counter!("gateway_logins_finished_total", "api" => api).increment(1));
    }

    /// A login step failed with `kind`.
    pub fn login_failed(&self, api: &'static str, kind: &'static str) {
        self.with(|| {
            metrics::counter!("gateway_logins_failed_total", "api" => api, "kind" => kind)
                .increment(1);
        });
    }

    /// A gateway step took `elapsed`.
    pub fn step(&self, step: &'static str, elapsed: Duration) {
        if let Some(at) = STEPS.iter().position(|s| *s == step) {
            self.steps[at].record(elapsed.as_secs_f64());
            return;
        }
        self.with(|| {
            metrics::histogram!("gateway_step_duration_seconds", "step" => step)
                .record(elapsed.as_secs_f64());
        });
    }

    /// A bank call of `api` took `elapsed`.
    pub fn bank_call(&self, api: &'static str, step: &'static str, elapsed: Duration) {
        self.with(|| {
            metrics::histogram!("gateway_bank_call_duration_seconds", "api" => api, "step" => step)
                .record(elapsed.as_secs_f64());
        });
    }

    /// A refresh was sent to the bank.
    pub fn refresh(&self, api: &'static str) {
        self.with(|| metrics::counter!("gateway_refreshes_total", "api" => api).increment(1));
    }

    /// A store operation failed.
    pub fn store_error(&self, kind: &'static str) {
        self.with(|| metrics::counter!("gateway_store_errors_total", "kind" => kind).increment(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_gateways_count_apart() {
        let (one, two) = (Metrics::new(), Metrics::new());
        one.login_started("cap");
        one.login_failed("cap", "invalid_otp");
        one.step("otp", Duration::from_millis(3));
        let text = one.render();
        assert!(
            text.contains(r#"gateway_logins_started_total{api="cap"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"gateway_logins_failed_total{api="cap",kind="invalid_otp"} 1"#));
        assert!(
            text.contains("gateway_step_duration_seconds_bucket"),
            "{text}"
        );
        assert!(!two.render().contains("gateway_logins_started_total"));
    }
}
