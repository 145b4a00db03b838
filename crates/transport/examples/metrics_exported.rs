//! The drivers' spans and metrics, exported: a Prometheus recorder behind the `metrics` facade
//! and a `tracing` formatter that prints each flow span and the HTTP spans inside it.
//!
//! Run it with `cargo run -p login-transport --example metrics_exported`: it starts the sandbox
//! bank on a loopback port, runs a few realm flows on the blocking driver (a login, a login
//! with a wrong password, a login with OTP, a token keeper refresh), prints the Prometheus text
//! a `/metrics` endpoint would serve, checks it holds the flow counters, and exits.
//!
//! The spans go to stderr (`RUST_LOG` filters them; `login_transport=info` by default). With a
//! `tracing-opentelemetry` layer instead of the formatter, the same spans reach an
//! OpenTelemetry collector under the HTTP semantic conventions' names.

use std::io::IsTerminal;

use login_core::realm::{RealmConfig, Start};
use login_core::secret::{ClientSecret, Otp, Password};
use login_core::{Answer, Bank, Profile, Question, Runner};
use login_sandbox::config::TEST_CLIENT_SECRET;
use login_sandbox::{SandboxConfig, spawn_blocking_sandbox};
use login_transport::{
    BlockingTokenKeeper, Driver, Interaction, KeeperOptions, NoInteraction, TransportConfig,
    UreqTransport, observe,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tracing_subscriber::fmt::format::FmtSpan;

/// Latency buckets for `loginflow_step_duration_seconds`: 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The user typing the code the bank sent (the sandbox's test OTP).
struct TypedOtp;

impl Interaction for TypedOtp {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        match question {
            Question::Otp { refused: false, .. } => Some(Answer::Otp(Otp::new("123456"))),
            _ => None,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Metrics: a Prometheus recorder installed process-wide. A service would serve
    // `handle.render()` at `/metrics` (or let the exporter's own listener do it).
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(observe::STEP_DURATION.into()), BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    observe::describe();

    // Spans: each flow and each HTTP call printed when it closes, with its fields (by default
    // only this crate's: the sandbox bank logs its own requests too).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,login_transport=info")
            }),
        )
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let bank = spawn_blocking_sandbox(SandboxConfig::for_tests())?;
    let driver = Driver::new(UreqTransport::new(TransportConfig::new(
        &bank.realm_base_url(),
    )?)?);
    let realm = RealmConfig::new("cap", "cap-mobile", ClientSecret::new(TEST_CLIENT_SECRET));
    let profile = Profile::from(realm.profile().clone());

    // alice logs in (no OTP), then types a wrong password once.
    let alice = Runner::login(Start::new("alice", Password::new("alice-password")));
    let session = driver.login(Bank::Realm(&realm), alice, &mut NoInteraction)?;
    let wrong = Runner::login(Start::new("alice", Password::new("not-her-password")));
    let refused = driver
        .login(Bank::Realm(&realm), wrong, &mut NoInteraction)
        .err()
        .and_then(|stopped| stopped.kind());
    println!("wrong password: {refused:?}");
    // bob logs in with the OTP the bank sent.
    let bob = Runner::login(Start::new("bob", Password::new("bob-password")));
    driver.login(Bank::Realm(&realm), bob, &mut TypedOtp)?;
    // A keeper holding alice's session refreshes it.
    let keeper = BlockingTokenKeeper::new(driver, profile, session, KeeperOptions::default());
    keeper.refresh()?;
    drop(bank);

    let text = handle.render();
    println!("{text}");
    for expected in [
        r#"loginflow_flows_finished_total{api="realm",flow="login",outcome="tokened",error="none"} 2"#,
        r#"loginflow_flows_finished_total{api="realm",flow="login",outcome="failed",error="invalid_credentials"} 1"#,
        r#"loginflow_refreshes_total{api="realm",outcome="refreshed"} 1"#,
        r#"loginflow_step_duration_seconds_count{api="realm",step="token",status_class="2xx"}"#,
    ] {
        if !text.contains(expected) {
            return Err(format!("the exported metrics lack {expected}").into());
        }
    }
    Ok(())
}
