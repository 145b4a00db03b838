//! What the drivers and keepers report: the `login_flow` span with its HTTP spans inside it
//! (OpenTelemetry field names), and the metrics through the `metrics` facade, captured with a
//! local debugging recorder and a recording `tracing` layer around real flows against the
//! sandbox. No secret may appear in any span field, event field or metric label.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::{Canned, Scripted, realm_answer};
use login_core::ciam::{CiamConfig, Credentials};
use login_core::realm::{RealmConfig, Start};
use login_core::seal::JweSealer;
use login_core::secret::{ClientSecret, DeviceToken, Otp, Password};
use login_core::{Answer, Bank, ErrorKind, Profile, Question, Runner, Session};
use login_sandbox::config::{
    TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
};
use login_sandbox::{BlockingSandbox, SandboxConfig, spawn_blocking_sandbox};
use login_transport::{
    AsyncDriver, BlockingTokenKeeper, Driver, HyperTransport, Interaction, KeeperError,
    KeeperOptions, NoInteraction, TokenKeeper, TransportConfig, UreqTransport, observe,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

// ---------------------------------------------------------------------------------------------
// What was recorded

/// One metric as the debugging recorder saw it.
#[derive(Debug)]
struct Metric {
    name: String,
    labels: BTreeMap<String, String>,
    value: DebugValue,
}

/// Every metric recorded while `f` ran on this thread (the recorder is local to it).
fn metrics_of<T>(f: impl FnOnce() -> T) -> (T, Vec<Metric>) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let out = metrics::with_local_recorder(&recorder, f);
    let metrics = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| Metric {
            name: key.key().name().to_owned(),
            labels: key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect(),
            value,
        })
        .collect();
    (out, metrics)
}

/// The metric named `name` with exactly these labels.
fn find<'a>(metrics: &'a [Metric], name: &str, labels: &[(&str, &str)]) -> Option<&'a Metric> {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    metrics
        .iter()
        .find(|m| m.name == name && m.labels == wanted)
}

/// A counter's value (0 when never incremented).
fn counter(metrics: &[Metric], name: &str, labels: &[(&str, &str)]) -> u64 {
    match find(metrics, name, labels).map(|m| &m.value) {
        Some(DebugValue::Counter(n)) => *n,
        Some(other) => panic!("{name} is not a counter: {other:?}"),
        None => 0,
    }
}

/// A histogram's samples (empty when never recorded).
fn samples(metrics: &[Metric], name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    match find(metrics, name, labels).map(|m| &m.value) {
        Some(DebugValue::Histogram(xs)) => xs.iter().map(|x| x.into_inner()).collect(),
        Some(other) => panic!("{name} is not a histogram: {other:?}"),
        None => Vec::new(),
    }
}

/// Every (name, labels) pair of a metric family, for messages and set comparisons.
fn series(metrics: &[Metric], name: &str) -> Vec<BTreeMap<String, String>> {
    let mut all: Vec<_> = metrics
        .iter()
        .filter(|m| m.name == name)
        .map(|m| m.labels.clone())
        .collect();
    all.sort();
    all
}

/// One span as the recording layer saw it.
#[derive(Debug, Clone)]
struct SpanRec {
    name: &'static str,
    /// Index of the parent in the recorded spans.
    parent: Option<usize>,
    fields: BTreeMap<String, String>,
}

impl SpanRec {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct Recorded {
    /// In creation order, with the subscriber's id (ids are reused after a span closes).
    spans: Vec<(u64, SpanRec)>,
    events: Vec<BTreeMap<String, String>>,
}

impl Recorded {
    fn index_of(&self, id: &Id) -> Option<usize> {
        self.spans.iter().rposition(|(i, _)| *i == id.into_u64())
    }

    fn named(&self, name: &str) -> Vec<(usize, &SpanRec)> {
        self.spans
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| s.name == name)
            .map(|(i, (_, s))| (i, s))
            .collect()
    }

    fn children(&self, parent: usize) -> Vec<&SpanRec> {
        self.spans
            .iter()
            .filter(|(_, s)| s.parent == Some(parent))
            .map(|(_, s)| s)
            .collect()
    }

    /// Every value of every span and event field.
    fn values(&self) -> Vec<String> {
        self.spans
            .iter()
            .flat_map(|(_, s)| s.fields.values().cloned())
            .chain(self.events.iter().flat_map(|e| e.values().cloned()))
            .collect()
    }
}

/// A `tracing` layer that keeps every span (name, fields as recorded, parent) and every event.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Recorded>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut recorded = self.0.lock().expect("not poisoned");
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .and_then(|parent| recorded.index_of(&parent.id()));
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let span = SpanRec {
            name: attrs.metadata().name(),
            parent,
            fields,
        };
        recorded.spans.push((id.into_u64(), span));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut recorded = self.0.lock().expect("not poisoned");
        if let Some(at) = recorded.index_of(id) {
            values.record(&mut Fields(&mut recorded.spans[at].1.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().expect("not poisoned").events.push(fields);
    }
}

/// Every span and event made while `f` ran on this thread.
fn spans_of<T>(f: impl FnOnce() -> T) -> (T, Arc<Mutex<Recorded>>) {
    let layer = Spans::default();
    let recorded = layer.0.clone();
    let subscriber = tracing_subscriber::registry().with(layer);
    let out = tracing::subscriber::with_default(subscriber, f);
    (out, recorded)
}

// ---------------------------------------------------------------------------------------------
// The bank

struct Env {
    sandbox: BlockingSandbox,
    realm: RealmConfig,
    ciam: CiamConfig,
    sealer: JweSealer,
}

impl Env {
    fn start() -> Env {
        let sandbox = spawn_blocking_sandbox(SandboxConfig::for_tests()).expect("sandbox starts");
        let sealer = JweSealer::from_jwk(&sandbox.public_jwk_json()).expect("sandbox JWK");
        Env {
            realm: RealmConfig::new("cap", TEST_CLIENT_ID, ClientSecret::new(TEST_CLIENT_SECRET)),
            ciam: CiamConfig::new(
                TEST_CLIENT_ID,
                TEST_REDIRECT_URI,
                DeviceToken::new(TEST_DEVICE_TOKEN),
            ),
            sealer,
            sandbox,
        }
    }

    fn realm_driver(&self) -> Driver<UreqTransport> {
        let config = TransportConfig::new(&self.sandbox.realm_base_url()).expect("sandbox URL");
        Driver::new(UreqTransport::new(config).expect("ureq transport"))
    }

    fn realm_profile(&self) -> Profile {
        Profile::from(self.realm.profile().clone())
    }

    fn ciam_profile(&self) -> Profile {
        Profile::from(self.ciam.profile().clone())
    }

    fn hyper(&self, base: &str) -> HyperTransport {
        HyperTransport::new(TransportConfig::new(base).expect("sandbox URL")).expect("hyper")
    }
}

/// The sandbox's fixed OTP, typed once.
struct TypedOtp;

impl Interaction for TypedOtp {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        matches!(question, Question::Otp { refused: false, .. })
            .then(|| Answer::Otp(Otp::new("123456")))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Values that must never be a span field, an event field or a metric label.
fn secrets_of(sessions: &[&Session]) -> Vec<String> {
    let mut secrets: Vec<String> = [
        "alice-password",
        "bob-password",
        "wrong-CANARY",
        "123456",
        TEST_CLIENT_SECRET,
        TEST_DEVICE_TOKEN,
        // User names are not secrets, but personal: they stay out too.
        "alice",
        "bob",
    ]
    .map(String::from)
    .to_vec();
    for session in sessions {
        secrets.push(session.tokens().access_token().expose().to_owned());
        secrets.push(session.tokens().refresh_token().expose().to_owned());
    }
    secrets
}

fn assert_no_secret(values: &[String], secrets: &[String]) {
    for value in values {
        for secret in secrets {
            assert!(
                !value.contains(secret.as_str()),
                "{secret:?} appears in {value:?}"
            );
        }
    }
}

fn label_values(metrics: &[Metric]) -> Vec<String> {
    metrics
        .iter()
        .flat_map(|m| m.labels.values().cloned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Metrics

#[test]
fn blocking_realm_flows_are_counted_and_timed() {
    let env = Env::start();
    let driver = env.realm_driver();
    let realm = Bank::Realm(&env.realm);
    let (sessions, metrics) = metrics_of(|| {
        let alice = Runner::login(Start::new("alice", Password::new("alice-password")));
        let alice = driver
            .login(realm, alice, &mut NoInteraction)
            .expect("alice logs in");
        let wrong = Runner::login(Start::new("alice", Password::new("wrong-CANARY")));
        let refused = driver
            .login(realm, wrong, &mut NoInteraction)
            .expect_err("a wrong password is refused");
        assert_eq!(refused.kind(), Some(ErrorKind::InvalidCredentials));
        let bob = Runner::login(Start::new("bob", Password::new("bob-password")));
        let bob = driver
            .login(realm, bob, &mut TypedOtp)
            .expect("bob logs in with the OTP");
        // Paused at the OTP: no answer.
        let paused = Runner::login(Start::new("bob", Password::new("bob-password")));
        driver
            .login(realm, paused, &mut NoInteraction)
            .expect_err("no OTP given");
        let refreshed = driver
            .refresh(&env.realm_profile(), bob.clone())
            .expect("the refresh succeeds");
        let revoked = driver.revoke(&env.realm_profile(), refreshed.clone());
        assert!(revoked.is_ok(), "a realm revoke is local");
        vec![alice, bob, refreshed]
    });

    let login = [("api", "realm"), ("flow", "login")];
    assert_eq!(counter(&metrics, observe::FLOWS_STARTED, &login), 4);
    let finished = |flow: &str, outcome: &str, error: &str| {
        let labels = [
            ("api", "realm"),
            ("flow", flow),
            ("outcome", outcome),
            ("error", error),
        ];
        counter(&metrics, observe::FLOWS_FINISHED, &labels)
    };
    assert_eq!(finished("login", "tokened", "none"), 2, "alice and bob");
    assert_eq!(finished("login", "failed", "invalid_credentials"), 1);
    assert_eq!(finished("login", "paused", "none"), 1);
    assert_eq!(finished("refresh", "tokened", "none"), 1);
    assert_eq!(finished("revoke", "revoked", "none"), 1);
    assert_eq!(
        series(&metrics, observe::FLOWS_FINISHED).len(),
        5,
        "no other outcome: {:?}",
        series(&metrics, observe::FLOWS_FINISHED)
    );

    // Every HTTP call in the histogram, by step and status class: 4 request_login calls (one
    // refused), 2 token calls, 1 refresh; the revoke sends nothing.
    let step = |step: &str, class: &str| {
        samples(
            &metrics,
            observe::STEP_DURATION,
            &[("api", "realm"), ("step", step), ("status_class", class)],
        )
    };
    assert_eq!(step("request_login", "2xx").len(), 3);
    assert_eq!(step("request_login", "4xx").len(), 1);
    assert_eq!(step("token", "2xx").len(), 2);
    assert_eq!(step("refresh", "2xx").len(), 1);
    assert_eq!(series(&metrics, observe::STEP_DURATION).len(), 4);
    let all = samples(
        &metrics,
        observe::STEP_DURATION,
        &[("api", "realm"), ("step", "token"), ("status_class", "2xx")],
    );
    assert!(
        all.iter().all(|s| *s > 0.0 && *s < 60.0),
        "seconds: {all:?}"
    );
    assert_eq!(
        counter(
            &metrics,
            observe::RETRIES,
            &[("api", "realm"), ("step", "request_login")]
        ),
        0,
        "nothing was throttled"
    );

    let secrets = secrets_of(&sessions.iter().collect::<Vec<_>>());
    assert_no_secret(&label_values(&metrics), &secrets);
}

#[test]
fn a_throttled_call_is_counted_as_a_retry_and_timed_twice() {
    let throttled = Arc::new(Mutex::new(1));
    let server = Scripted::start(move |line, _| {
        if line.starts_with("POST /auth/realm/cap/request ") {
            let mut left = throttled.lock().expect("not poisoned");
            if *left > 0 {
                *left -= 1;
                return Canned::new(429, r#"{"error":"rate_limited"}"#).header("Retry-After", "0");
            }
        }
        realm_answer(line, false, 300).unwrap_or_else(|| Canned::new(404, ""))
    });
    let config = TransportConfig::new(&server.server.url()).expect("loopback URL");
    let driver = Driver::new(UreqTransport::new(config).expect("ureq transport"));
    let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("client-CANARY"));
    let ((result, metrics), recorded) = spans_of(|| {
        metrics_of(|| {
            let start = Runner::login(Start::new("alice", Password::new("alice-password")));
            driver.login(Bank::Realm(&cfg), start, &mut NoInteraction)
        })
    });
    let session = result.expect("the login succeeds after one retry");
    let request_login = [("api", "realm"), ("step", "request_login")];
    assert_eq!(counter(&metrics, observe::RETRIES, &request_login), 1);
    let class = |c: &'static str| {
        let labels = [
            ("api", "realm"),
            ("step", "request_login"),
            ("status_class", c),
        ];
        samples(&metrics, observe::STEP_DURATION, &labels).len()
    };
    assert_eq!((class("4xx"), class("2xx")), (1, 1));

    // The repeat is a span of its own that says it is one.
    let recorded = recorded.lock().expect("not poisoned");
    let calls: Vec<(Option<&str>, Option<&str>, Option<&str>)> = recorded
        .named("login_step")
        .into_iter()
        .map(|(_, s)| {
            (
                s.field("http.response.status_code"),
                s.field("http.request.resend_count"),
                s.field("error.type"),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            (Some("429"), None, Some("429")),
            (Some("201"), Some("1"), None),
            (Some("201"), None, None),
        ]
    );
    let mut secrets = secrets_of(&[&session]);
    secrets.push("client-CANARY".into());
    assert_no_secret(&recorded.values(), &secrets);
    assert_no_secret(&label_values(&metrics), &secrets);
}

#[test]
fn a_transport_failure_is_timed_as_error_and_ends_the_flow_with_its_kind() {
    // A port nothing listens on: the connection is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = TransportConfig::new(&format!("http://127.0.0.1:{port}")).expect("URL");
    let driver = Driver::new(UreqTransport::new(config).expect("ureq transport"));
    let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("client-CANARY"));
    let ((stopped, metrics), recorded) = spans_of(|| {
        metrics_of(|| {
            let start = Runner::login(Start::new("alice", Password::new("alice-password")));
            driver
                .login(Bank::Realm(&cfg), start, &mut NoInteraction)
                .expect_err("nothing listens")
        })
    });
    let kind = stopped.kind().expect("a failure").as_str();
    let labels = [
        ("api", "realm"),
        ("flow", "login"),
        ("outcome", "failed"),
        ("error", kind),
    ];
    assert_eq!(counter(&metrics, observe::FLOWS_FINISHED, &labels), 1);
    let error = [
        ("api", "realm"),
        ("step", "request_login"),
        ("status_class", "error"),
    ];
    assert_eq!(samples(&metrics, observe::STEP_DURATION, &error).len(), 1);
    let recorded = recorded.lock().expect("not poisoned");
    let steps = recorded.named("login_step");
    assert_eq!(steps.len(), 1);
    let step = steps[0].1;
    assert_eq!(step.field("error.type"), Some(kind));
    assert_eq!(step.field("otel.status_code"), Some("error"));
    assert_eq!(step.field("http.response.status_code"), None);
    let flows = recorded.named("login_flow");
    assert_eq!(flows[0].1.field("error.type"), Some(kind));
}

#[test]
fn async_ciam_login_and_keeper_refreshes_are_counted() {
    let env = Env::start();
    let rt = runtime();
    let ciam_base = env.sandbox.base_url();
    let (sessions, metrics) = metrics_of(|| {
        rt.block_on(async {
            let transport = env.hyper(&ciam_base);
            let driver = AsyncDriver::new(transport.session());
            let bank = Bank::Ciam(&env.ciam, &env.sealer);
            let creds = Credentials::new("alice", Password::new("alice-password"));
            let session = driver
                .login(bank, Runner::ciam_login(creds), &mut NoInteraction)
                .await
                .expect("alice logs in");
            // A keeper shared by eight callers: one refresh goes out, seven share it.
            let keeper = TokenKeeper::new(
                AsyncDriver::new(transport.clone()),
                env.ciam_profile(),
                session.clone(),
                KeeperOptions::default(),
            );
            let callers: Vec<_> = (0..8)
                .map(|_| {
                    let keeper = keeper.clone();
                    tokio::spawn(async move { keeper.refresh().await })
                })
                .collect();
            for caller in callers {
                caller
                    .await
                    .expect("the caller ran")
                    .expect("the shared refresh succeeds");
            }
            assert_eq!(keeper.refresh_attempts(), 1);
            // The rotated-away refresh token used again: the bank revokes the whole session
            // family, so the keeper's next refresh ends its session.
            let reused = driver
                .refresh(&env.ciam_profile(), session.clone())
                .await
                .expect_err("reuse is refused");
            assert_eq!(reused.kind(), Some(ErrorKind::InvalidToken));
            let refreshed = keeper.tokens().await.expect("the keeper's session");
            let ended = keeper.refresh().await;
            assert!(matches!(ended, Err(KeeperError::Refresh(_))), "{ended:?}");
            assert!(matches!(
                keeper.access_token().await,
                Err(KeeperError::Ended)
            ));
            (session, refreshed)
        })
    });
    let (session, refreshed) = sessions;

    let finished = |flow: &str, outcome: &str, error: &str| {
        let labels = [
            ("api", "ciam"),
            ("flow", flow),
            ("outcome", outcome),
            ("error", error),
        ];
        counter(&metrics, observe::FLOWS_FINISHED, &labels)
    };
    assert_eq!(
        counter(
            &metrics,
            observe::FLOWS_STARTED,
            &[("api", "ciam"), ("flow", "login")]
        ),
        1
    );
    assert_eq!(finished("login", "tokened", "none"), 1);
    assert_eq!(finished("refresh", "tokened", "none"), 1);
    assert_eq!(
        finished("refresh", "failed", "invalid_token"),
        2,
        "the reuse and the keeper's last try"
    );
    let refresh_4xx = [
        ("api", "ciam"),
        ("step", "refresh"),
        ("status_class", "4xx"),
    ];
    assert_eq!(
        samples(&metrics, observe::STEP_DURATION, &refresh_4xx).len(),
        2
    );
    for step in ["authorize", "login_challenge", "access_token", "refresh"] {
        let labels = [("api", "ciam"), ("step", step), ("status_class", "2xx")];
        assert_eq!(
            samples(&metrics, observe::STEP_DURATION, &labels).len(),
            1,
            "{step}: {:?}",
            series(&metrics, observe::STEP_DURATION)
        );
    }
    let refreshes = |outcome: &str| {
        counter(
            &metrics,
            observe::REFRESHES,
            &[("api", "ciam"), ("outcome", outcome)],
        )
    };
    assert_eq!((refreshes("refreshed"), refreshes("ended")), (1, 1));
    assert_eq!(
        counter(&metrics, observe::KEEPER_COALESCED, &[("api", "ciam")]),
        7
    );
    let mut secrets = secrets_of(&[&session]);
    secrets.push(refreshed.access_token().expose().to_owned());
    secrets.push(refreshed.refresh_token().expose().to_owned());
    assert_no_secret(&label_values(&metrics), &secrets);
}

#[test]
fn blocking_keeper_refresh_is_counted() {
    let env = Env::start();
    let driver = env.realm_driver();
    let ((), metrics) = metrics_of(|| {
        let start = Runner::login(Start::new("alice", Password::new("alice-password")));
        let session = driver
            .login(Bank::Realm(&env.realm), start, &mut NoInteraction)
            .expect("alice logs in");
        let keeper = BlockingTokenKeeper::new(
            env.realm_driver(),
            env.realm_profile(),
            session,
            KeeperOptions::default(),
        );
        keeper.refresh().expect("the refresh succeeds");
        // Fresh for another 5 minutes: no second refresh.
        keeper.access_token().expect("the current token");
    });
    let refreshed = [("api", "realm"), ("outcome", "refreshed")];
    assert_eq!(counter(&metrics, observe::REFRESHES, &refreshed), 1);
    assert_eq!(series(&metrics, observe::REFRESHES).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Spans

#[test]
fn a_failed_login_span_holds_its_http_span_with_otel_fields() {
    let env = Env::start();
    let driver = env.realm_driver();
    let port = env.sandbox.local_addr().port().to_string();
    let (stopped, recorded) = spans_of(|| {
        let start = Runner::login(Start::new("alice", Password::new("wrong-CANARY")));
        driver
            .login(Bank::Realm(&env.realm), start, &mut NoInteraction)
            .expect_err("a wrong password is refused")
    });
    assert_eq!(stopped.kind(), Some(ErrorKind::InvalidCredentials));
    let recorded = recorded.lock().expect("not poisoned");
    let flows = recorded.named("login_flow");
    assert_eq!(flows.len(), 1);
    let (at, flow) = flows[0];
    let expected_flow: BTreeMap<String, String> = [
        ("loginflow.api", "realm"),
        ("loginflow.flow", "login"),
        ("loginflow.outcome", "failed"),
        ("error.type", "invalid_credentials"),
        ("otel.status_code", "error"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(flow.fields, expected_flow);
    assert_eq!(flow.parent, None);

    let steps = recorded.children(at);
    assert_eq!(steps.len(), 1, "{steps:?}");
    let step = steps[0];
    assert_eq!(step.name, "login_step");
    let expected_step: BTreeMap<String, String> = [
        ("otel.name", "POST"),
        ("otel.kind", "client"),
        ("otel.status_code", "error"),
        ("loginflow.api", "realm"),
        ("loginflow.step", "request_login"),
        ("http.request.method", "POST"),
        ("url.path", "/auth/realm/cap/request"),
        ("url.scheme", "http"),
        ("server.address", "127.0.0.1"),
        ("server.port", port.as_str()),
        ("http.response.status_code", "401"),
        ("error.type", "401"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(step.fields, expected_step);
    assert_no_secret(&recorded.values(), &secrets_of(&[]));
}

#[test]
fn concurrent_async_flows_keep_their_http_spans_apart() {
    let env = Env::start();
    let rt = runtime();
    let realm_base = env.sandbox.realm_base_url();
    let ciam_base = env.sandbox.base_url();
    let (sessions, recorded) = spans_of(|| {
        rt.block_on(async {
            let realm = AsyncDriver::new(env.hyper(&realm_base));
            let ciam = AsyncDriver::new(env.hyper(&ciam_base));
            let bob = Runner::login(Start::new("bob", Password::new("bob-password")));
            let creds = Credentials::new("alice", Password::new("alice-password"));
            // Both on one thread, their awaits interleaved: a span entered by one must not
            // be current while the other runs.
            let (mut typed, mut none) = (TypedOtp, NoInteraction);
            let (bob, alice) = tokio::join!(
                realm.login(Bank::Realm(&env.realm), bob, &mut typed),
                ciam.login(
                    Bank::Ciam(&env.ciam, &env.sealer),
                    Runner::ciam_login(creds),
                    &mut none
                ),
            );
            vec![bob.expect("bob logs in"), alice.expect("alice logs in")]
        })
    });
    let recorded = recorded.lock().expect("not poisoned");
    let flows = recorded.named("login_flow");
    assert_eq!(flows.len(), 2);
    let mut steps_by_api = BTreeMap::new();
    for (at, flow) in flows {
        assert_eq!(flow.parent, None, "a flow span is a root here");
        assert_eq!(flow.field("loginflow.outcome"), Some("tokened"));
        assert_eq!(flow.field("error.type"), None);
        let api = flow.field("loginflow.api").expect("an API");
        let steps: Vec<&str> = recorded
            .children(at)
            .into_iter()
            .map(|s| {
                assert_eq!(s.name, "login_step");
                assert_eq!(s.field("loginflow.api"), Some(api), "{s:?}");
                assert!(s.field("http.request.method").is_some());
                s.field("loginflow.step").expect("a step")
            })
            .collect();
        steps_by_api.insert(api, steps);
    }
    assert_eq!(steps_by_api["realm"], ["request_login", "token"]);
    assert_eq!(
        steps_by_api["ciam"],
        ["authorize", "login_challenge", "access_token"]
    );
    // Every HTTP span belongs to a flow.
    for (_, step) in recorded.named("login_step") {
        let parent = step.parent.expect("a parent");
        assert_eq!(recorded.spans[parent].1.name, "login_flow");
    }
    assert_no_secret(
        &recorded.values(),
        &secrets_of(&sessions.iter().collect::<Vec<_>>()),
    );
}
