//! `loginflow probe`: runs the flows of one API against a server and compares every answer
//! with the contract (`login_core::contract`), naming for each deviation the reading it breaks
//! and the profile setting that accepts it.
//!
//! What it sends, in order (docs/onboarding.md says the same to a bank's UAT owner):
//!
//! 1. one TLS handshake (https only), no request over it;
//! 2. **a wrong password**: a made-up user name (`loginflow-probe-` and random hex) and a random
//!    password, through the real flow (internet banking: authorize, then the login challenge);
//!    never repeated after the server has judged the password;
//! 3. with `--username`: the login (password from stdin or a prompt, the OTP from `--otp` or a
//!    prompt), one refresh, and the revoke (internet banking; the realm revoke sends nothing);
//! 4. four calls that need no credentials: an unknown request id, an empty body, a
//!    `text/plain` body, a refresh with a made-up token.
//!
//! A step refused with 400 `invalid_request` (or redirected on the same origin) is tried once
//! more per setting that could explain it (the scope's form, the refresh's fields, the
//! envelope's field or `enc`, the captcha header, the step's route), at most six retries in
//! all; the report counts the calls they cost.

mod body;
mod capture;
mod compare;
mod report;
mod setting;
mod tls;

use login_core::ErrorKind as K;
use login_core::contract::Reading;
use login_core::entropy::{Entropy as _, OsEntropy};
use login_core::runner::{Answer, Goal, Question, RunPolicy};
use login_core::secret::Password;
use login_core::table::{Api, StepId};
use login_core::{Flow, Method, Profile, Request, Runner, ciam, realm};
use login_transport::{Driver, Interaction, Stopped, Transport as _, UreqTransport};
use serde_json::{Value, json};

pub use report::Report;

use self::capture::{Capture, Exchange, Expect};
use self::compare::{Base, Deviation};
use self::report::{RequestSummary, StepReport};
use self::setting::Setting;
use self::tls::TlsReport;
use crate::args::api_flag;
use crate::error::CliError;
use crate::interact::Interact;
use crate::settings::{LoginConfig, Settings, origin, shown_url};
use crate::{redact, secret_input};

/// At most this many calls are sent only to try another setting.
const MAX_EXTRA: usize = 6;

const WRONG_PASSWORD_REALM: Expect = Expect::Refusal {
    statuses: &[401],
    codes: &["invalid_credentials"],
    kinds: &[K::InvalidCredentials],
};
const WRONG_PASSWORD_CIAM: Expect = Expect::Refusal {
    statuses: &[401, 400],
    codes: &["invalid_credentials", "captcha_required"],
    kinds: &[K::InvalidCredentials, K::CaptchaRequired],
};
const UNKNOWN_ID: Expect = Expect::Refusal {
    statuses: &[404],
    codes: &["not_found", "expired"],
    kinds: &[K::NotFound, K::Expired],
};
const EMPTY_BODY: Expect = Expect::Refusal {
    statuses: &[400],
    codes: &["invalid_request"],
    kinds: &[K::BadRequest],
};
const WRONG_CONTENT_TYPE: Expect = Expect::Refusal {
    statuses: &[400, 415],
    codes: &["invalid_request"],
    kinds: &[K::BadRequest, K::UnexpectedStatus],
};
const BOGUS_TOKEN: Expect = Expect::Refusal {
    statuses: &[401],
    codes: &["invalid_token"],
    kinds: &[K::InvalidToken],
};

/// A login to probe with.
pub struct Login {
    /// Who.
    pub username: String,
    /// The password.
    pub password: Password,
    /// Where the OTP and captcha answers come from.
    pub interact: Interact,
    /// Fetch a captcha before the credentials (internet banking).
    pub captcha_first: bool,
}

/// A setting tried after a refusal: at call `index`, retried from call `retry_from`.
struct Finding {
    index: usize,
    retry_from: usize,
    setting: Setting,
    reading: Reading,
    /// A later alternative replaced it (the retry failed the same way).
    superseded: bool,
}

/// One probe run.
pub struct Probe<'a> {
    settings: &'a Settings,
    transport: &'a UreqTransport,
    profile: Profile,
    findings: Vec<Finding>,
    extra: usize,
    notes: Vec<String>,
}

impl<'a> Probe<'a> {
    /// A probe of `transport`'s server with `profile` (and the secrets `settings` name).
    pub fn new(settings: &'a Settings, transport: &'a UreqTransport, profile: Profile) -> Self {
        Self {
            settings,
            transport,
            profile,
            findings: Vec::new(),
            extra: 0,
            notes: Vec::new(),
        }
    }

    /// Runs every probe (with `login` when given) and reports.
    ///
    /// Errors: the configuration's secrets cannot be read (exit 2). A server that answers no
    /// call is a report too ([`Report::reachable`] false: exit 3).
    pub fn run(mut self, login: Option<Login>) -> Result<Report, CliError> {
        let config = self.transport.config();
        let tls = TlsReport::inspect(config);
        self.notes.extend(tls.notes());
        let capture = Capture::new(self.transport);
        let policy = RunPolicy::default().retry(config.retry_policy());

        self.wrong_password(&capture, policy)?;
        if let Some(login) = login {
            self.login(&capture, policy, login)?;
        }
        self.without_credentials(&capture)?;

        let base_url = config.base_url();
        let base = Base {
            origin: origin(&base_url),
            prefix: shown_url(&base_url)
                .strip_prefix(&origin(&base_url))
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
        };
        let log = capture.into_log();
        let reachable = log.iter().any(|e| e.reply.is_ok());
        if !reachable {
            self.notes
                .push("no call got an answer: the server cannot be reached from here".into());
        }
        let mut steps: Vec<StepReport> = log.iter().map(|e| step_report(e, &base)).collect();
        self.apply_findings(&log, &mut steps);
        let mut settings: Vec<Setting> = Vec::new();
        for d in steps.iter().flat_map(|s| &s.deviations) {
            if let Some(s) = &d.setting
                && !settings.contains(s)
            {
                settings.push(s.clone());
            }
        }
        Ok(Report {
            reachable,
            server: shown_url(&base_url),
            api: api_flag(self.profile.api()),
            tls,
            requests: log.len(),
            extra_requests: self.extra_requests(&log),
            steps,
            notes: self.notes,
            settings,
        })
    }

    /// A made-up user and password through the real flow: one refusal expected.
    fn wrong_password(&mut self, capture: &Capture<'_>, policy: RunPolicy) -> Result<(), CliError> {
        let username = format!("loginflow-probe-{}", random_hex(4)?);
        let password = Password::new(random_hex(16)?);
        redact::register(password.expose());
        let (runner, refusal) = match self.profile.api() {
            Api::Ciam => (
                Runner::ciam_login(ciam::Credentials::new(username.as_str(), password.clone())),
                (StepId::CiamLoginChallenge, WRONG_PASSWORD_CIAM),
            ),
            _ => (
                Runner::login(realm::Start::new(username.as_str(), password.clone())),
                (StepId::RealmRequestLogin, WRONG_PASSWORD_REALM),
            ),
        };
        let mut none = Interact::none();
        let result = self.drive(
            capture,
            policy,
            "wrong password",
            Some(refusal),
            runner,
            Some((&username, &password)),
            &mut none,
        )?;
        if result.is_ok() {
            self.notes.push(
                "a made-up user name and password logged in: the server checks nothing".into(),
            );
        }
        Ok(())
    }

    /// The login, a refresh and the revoke.
    fn login(
        &mut self,
        capture: &Capture<'_>,
        policy: RunPolicy,
        mut login: Login,
    ) -> Result<(), CliError> {
        let runner = match self.profile.api() {
            Api::Ciam => Runner::ciam_login(ciam::Credentials::new(
                login.username.as_str(),
                login.password.clone(),
            )),
            _ => Runner::login(realm::Start::new(
                login.username.as_str(),
                login.password.clone(),
            )),
        };
        let creds = (login.username.as_str(), &login.password);
        let policy = policy.captcha_first(login.captcha_first);
        let flow = match self.drive(
            capture,
            policy,
            "login",
            None,
            runner,
            Some(creds),
            &mut login.interact,
        )? {
            Ok(flow) => flow,
            Err(stopped) => {
                self.notes.push(format!(
                    "the login stopped ({}): refresh and revoke were not probed",
                    stop_reason(&stopped)
                ));
                return Ok(());
            }
        };
        let Ok(session) = flow.into_session() else {
            return Ok(());
        };
        // The session's tokens never reach a line the probe prints.
        redact::register(session.tokens().access_token().expose());
        redact::register(session.tokens().refresh_token().expose());
        let mut none = Interact::none();
        let refreshed = match self.drive(
            capture,
            policy,
            "refresh",
            None,
            Runner::refresh(session),
            None,
            &mut none,
        )? {
            Ok(flow) => flow.into_session().ok(),
            Err(stopped) => {
                self.notes.push(format!(
                    "the refresh stopped ({}): revoke was not probed",
                    stop_reason(&stopped)
                ));
                None
            }
        };
        if let Some(session) = refreshed {
            redact::register(session.tokens().access_token().expose());
            redact::register(session.tokens().refresh_token().expose());
            if let Err(stopped) = self.drive(
                capture,
                policy,
                "revoke",
                None,
                Runner::revoke(session),
                None,
                &mut none,
            )? {
                self.notes
                    .push(format!("the revoke stopped ({})", stop_reason(&stopped)));
            }
        }
        Ok(())
    }

    /// Runs `runner`; a step refused with 400 `invalid_request` or redirected is tried again,
    /// once per alternative setting, from the state the refusal left.
    #[expect(
        clippy::too_many_arguments,
        reason = "one private loop, called four times with different parts of one run"
    )]
    fn drive(
        &mut self,
        capture: &Capture<'_>,
        policy: RunPolicy,
        probe: &'static str,
        refusal: Option<(StepId, Expect)>,
        mut runner: Runner,
        creds: Option<(&str, &Password)>,
        interact: &mut Interact,
    ) -> Result<Result<Flow, Stopped>, CliError> {
        // A retry starts over from the state the refusal left, toward the same goal.
        let goal = match probe {
            "refresh" => Goal::Refresh,
            "revoke" => Goal::Revoke,
            _ => Goal::Finish,
        };
        let driver = Driver::new(capture).policy(policy);
        let mut tried: Vec<Setting> = Vec::new();
        // The step being retried and the profile before its first alternative.
        let mut retrying: Option<(StepId, Profile)> = None;
        loop {
            let from = capture.count();
            capture.label(probe, &self.profile, refusal);
            let config = LoginConfig::read(self.settings, &self.profile)?;
            let mut answers = Answers { interact, creds };
            let stopped = match driver.run(config.bank(), runner, &mut answers) {
                Ok(flow) => return Ok(Ok(flow)),
                Err(stopped) => stopped,
            };
            if let Some(kind) = stopped.kind() {
                capture.stopped_at_last(from, kind);
            }
            let last = capture.count().checked_sub(1).filter(|i| *i >= from);
            let (Some(index), Some(error), Some(_)) = (last, stopped.error(), &stopped.flow) else {
                return Ok(Err(stopped));
            };
            let Some(Ok(reply)) = capture.reply(index) else {
                return Ok(Err(stopped));
            };
            let step = capture.step(index);
            let expected = matches!(refusal, Some((s, _)) if s == step)
                && !matches!(error.kind(), K::BadRequest | K::Redirect);
            if expected || self.extra >= MAX_EXTRA {
                return Ok(Err(stopped));
            }
            // An earlier alternative for this step failed the same way: undo it.
            let base = match &retrying {
                Some((s, before)) if *s == step => {
                    if let Some(last) = self.findings.last_mut() {
                        last.superseded = true;
                    }
                    before.clone()
                }
                _ => self.profile.clone(),
            };
            let candidates = match error.kind() {
                K::BadRequest => setting::alternatives(step, &base, &compare::message_of(&reply)),
                K::Redirect => self
                    .route_for(step, &reply)
                    .map(|s| vec![(s, Reading::NoRedirects)])
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            let Some((setting, reading)) = candidates.into_iter().find(|(s, _)| !tried.contains(s))
            else {
                self.profile = base;
                return Ok(Err(stopped));
            };
            let Ok(next) = setting::apply(&base, std::slice::from_ref(&setting)) else {
                return Ok(Err(stopped));
            };
            let Some(flow) = stopped.flow else {
                return Ok(Err(stopped));
            };
            tried.push(setting.clone());
            retrying = Some((step, base));
            self.profile = next;
            self.extra += 1;
            self.findings.push(Finding {
                index,
                retry_from: capture.count(),
                setting,
                reading,
                superseded: false,
            });
            runner = match goal {
                Goal::Refresh | Goal::Revoke => match flow.into_session() {
                    Ok(session) if goal == Goal::Refresh => Runner::refresh(session),
                    Ok(session) => Runner::revoke(session),
                    Err(flow) => Runner::resume(flow),
                },
                Goal::Finish => Runner::resume(flow),
            };
        }
    }

    /// The route setting that follows a redirect of `step` on the base URL's origin.
    fn route_for(&self, step: StepId, reply: &login_core::Response) -> Option<Setting> {
        let base_url = self.transport.config().base_url();
        let origin = origin(&base_url);
        let prefix = shown_url(&base_url)
            .strip_prefix(&origin)
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        setting::route_setting(step, reply.header("location")?, &origin, &prefix)
    }

    /// The calls that need no credentials: an unknown request id, an empty body, a
    /// `text/plain` body and a refresh with a made-up token.
    fn without_credentials(&mut self, capture: &Capture<'_>) -> Result<(), CliError> {
        let probes: [(&'static str, StepId, Expect); 4] = match self.profile.api() {
            Api::Ciam => [
                ("unknown request id", StepId::CiamPreLoginVerify, UNKNOWN_ID),
                ("empty body", StepId::CiamAuthorize, EMPTY_BODY),
                (
                    "wrong content type",
                    StepId::CiamAuthorize,
                    WRONG_CONTENT_TYPE,
                ),
                ("bogus refresh token", StepId::CiamRefresh, BOGUS_TOKEN),
            ],
            _ => [
                ("unknown request id", StepId::RealmToken, UNKNOWN_ID),
                ("empty body", StepId::RealmRequestLogin, EMPTY_BODY),
                (
                    "wrong content type",
                    StepId::RealmRequestLogin,
                    WRONG_CONTENT_TYPE,
                ),
                ("bogus refresh token", StepId::RealmRefresh, BOGUS_TOKEN),
            ],
        };
        for (probe, step, expect) in probes {
            let mut tried: Vec<Setting> = Vec::new();
            let before = self.profile.clone();
            let mut profile = before.clone();
            loop {
                let request = self.custom_request(probe, step, &profile)?;
                capture.label(probe, &profile, Some((step, expect)));
                let index = capture.count();
                let reply = capture.send(&request);
                let Ok(reply) = reply else { break };
                let refused_as_expected = match expect {
                    Expect::Refusal { statuses, .. } => statuses.contains(&reply.status()),
                    Expect::Success => false,
                };
                if refused_as_expected {
                    if profile != before {
                        self.profile = profile;
                    }
                    break;
                }
                // A made-up refresh token or request id refused as a bad request: another
                // form of the body may be what the server reads.
                let bad_request = reply.status() == 400
                    && matches!(probe, "unknown request id" | "bogus refresh token");
                if !bad_request || self.extra >= MAX_EXTRA {
                    break;
                }
                if let Some(last) = self.findings.last_mut()
                    && last.retry_from == index
                {
                    last.superseded = true;
                }
                let candidates = setting::alternatives(step, &before, &compare::message_of(&reply));
                let Some((setting, reading)) =
                    candidates.into_iter().find(|(s, _)| !tried.contains(s))
                else {
                    break;
                };
                let Ok(next) = setting::apply(&before, std::slice::from_ref(&setting)) else {
                    break;
                };
                tried.push(setting.clone());
                profile = next;
                self.extra += 1;
                self.findings.push(Finding {
                    index,
                    retry_from: capture.count(),
                    setting,
                    reading,
                    superseded: false,
                });
            }
        }
        Ok(())
    }

    /// The request of a credential-less probe, built from the contract's paths and fields.
    fn custom_request(
        &self,
        probe: &'static str,
        step: StepId,
        profile: &Profile,
    ) -> Result<Request, CliError> {
        let made_up = random_hex(16)?;
        let scope_form = setting::value_of(profile, "scopeForm");
        Ok(match profile {
            Profile::Realm(p) => {
                // The realm id as the engine encodes it into its paths.
                let cfg = realm::RealmConfig::from_profile(
                    p.clone(),
                    login_core::secret::ClientSecret::new("unused"),
                );
                let (login, _) = realm::Start::new("x", Password::new("x")).request_login(&cfg);
                let prefix = login.path().trim_end_matches("/request").to_owned();
                let scope = if scope_form.as_ref().is_some_and(|v| v == "string") {
                    json!(p.scopes().join(" "))
                } else {
                    json!(p.scopes())
                };
                match probe {
                    "unknown request id" => json_request(
                        step,
                        Method::Post,
                        format!("{prefix}/token"),
                        &json!({"reqId": made_up, "scope": scope}),
                    ),
                    "bogus refresh token" => {
                        let token_only = setting::value_of(profile, "refreshFields")
                            .is_some_and(|v| v == "tokenOnly");
                        let body = if token_only {
                            json!({"refreshToken": made_up})
                        } else {
                            json!({"clientId": p.client_id(), "refreshToken": made_up})
                        };
                        json_request(step, Method::Patch, format!("{prefix}/token"), &body)
                    }
                    other => malformed(other, step, login.path()),
                }
            }
            Profile::Ciam(p) => {
                let path = p.route_set().path(step).to_owned();
                let device =
                    || secret_input::device_token(self.settings.device_token_file.as_deref());
                let scope = if scope_form.as_ref().is_some_and(|v| v == "array") {
                    json!(p.scope_string().split_whitespace().collect::<Vec<_>>())
                } else {
                    json!(p.scope_string())
                };
                match probe {
                    "unknown request id" => json_request(
                        step,
                        Method::Post,
                        path,
                        &json!({"consentOtp": "000000", "mfaChallenge": made_up}),
                    )
                    .with_header(
                        "Authorization",
                        format!("Bearer {}", device()?.expose()),
                        true,
                    ),
                    "bogus refresh token" => json_request(
                        step,
                        Method::Post,
                        path,
                        &json!({
                            "clientId": p.client_id(),
                            "grantType": "refresh_token",
                            "refreshToken": made_up,
                            "scope": scope,
                        }),
                    ),
                    other => malformed(other, step, &path).with_header(
                        "Authorization",
                        format!("Bearer {}", device()?.expose()),
                        true,
                    ),
                }
            }
        })
    }

    /// The calls sent only because of a retry: from each retry's start to its retried call.
    fn extra_requests(&self, log: &[Exchange]) -> usize {
        self.findings
            .iter()
            .map(|f| {
                let step = log[f.index].step;
                log.iter()
                    .enumerate()
                    .skip(f.retry_from)
                    .find(|(_, e)| e.step == step)
                    .map_or(log.len().saturating_sub(f.retry_from), |(i, _)| {
                        i + 1 - f.retry_from
                    })
            })
            .sum()
    }

    /// Adds the confirmed findings to the calls they explain: the refused call gets the
    /// setting that made the retry pass.
    fn apply_findings(&self, log: &[Exchange], steps: &mut [StepReport]) {
        for f in self.findings.iter().filter(|f| !f.superseded) {
            let step = log[f.index].step;
            let retried = log
                .iter()
                .enumerate()
                .skip(f.retry_from)
                .find(|(_, e)| e.step == step);
            let passed = retried.is_some_and(|(_, e)| {
                e.reply
                    .as_ref()
                    .is_ok_and(|r| r.status() != 400 && !(300..400).contains(&r.status()))
            });
            if !passed {
                continue;
            }
            let report = &mut steps[f.index];
            if f.reading == Reading::NoRedirects {
                continue; // the redirect's deviation already names the route
            }
            // The refusal is explained by the setting: its status and code are not deviations
            // of their own (the error body's shape still is).
            report.deviations.retain(|d| {
                d.setting.is_some()
                    || !(d.reading == Reading::RequestRow
                        || d.what.starts_with("status ")
                        || d.what.starts_with("error code "))
            });
            report.deviations.push(Deviation {
                what: format!(
                    "refused with {} {}; the same step passed with {}",
                    report.status.map_or_else(|| "-".into(), |s| s.to_string()),
                    report.error_code.as_deref().unwrap_or("(no code)"),
                    f.setting.shown()
                ),
                reading: f.reading,
                setting: Some(f.setting.clone()),
                accepted: false,
            });
        }
    }
}

/// `step` with a JSON body.
fn json_request(step: StepId, method: Method, path: String, body: &Value) -> Request {
    Request::custom(step, method, path)
        .with_header("Content-Type", "application/json", false)
        .with_body(body.to_string().into_bytes())
}

/// The empty-body and wrong-content-type calls.
fn malformed(probe: &str, step: StepId, path: &str) -> Request {
    let request = Request::custom(step, Method::Post, path);
    if probe == "empty body" {
        // Declared empty (`Content-Length: 0`), not a chunked body with no chunk.
        request
            .with_header("Content-Type", "application/json", false)
            .with_body(Vec::new())
    } else {
        // A body that names no credential, so a server that ignores the content type still
        // refuses it as incomplete rather than judging a password.
        request
            .with_header("Content-Type", "text/plain", false)
            .with_body(br#"{"probe":"loginflow"}"#.to_vec())
    }
}

/// `n` random bytes as hex.
fn random_hex(n: usize) -> Result<String, CliError> {
    let mut bytes = vec![0u8; n];
    OsEntropy
        .fill(&mut bytes)
        .map_err(|e| CliError::config(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn stop_reason(stopped: &Stopped) -> String {
    match stopped.error() {
        Some(e) => match e.status() {
            Some(s) => format!("{s} {}", e.kind()),
            None => e.kind().to_string(),
        },
        None => "a question nobody answered: pass --otp or --captcha-answer, or run on a terminal"
            .into(),
    }
}

/// The report entry of one call.
fn step_report(ex: &Exchange, base: &Base) -> StepReport {
    let compared = compare::compare(ex, base);
    StepReport {
        step: ex.step.as_str(),
        probe: ex.probe,
        request: RequestSummary {
            method: ex.method,
            path: ex.path.clone(),
            fields: ex.fields.clone(),
            headers: ex.headers.clone(),
        },
        status: compared.status,
        content_type: compared.content_type,
        cache_control: compared.cache_control,
        error_code: compared.error_code,
        transport_error: ex
            .reply
            .as_ref()
            .err()
            .map(|e| redact::redact(&e.to_string())),
        deviations: compared.deviations,
        notes: compared.notes,
    }
}

/// The answers of a probe run: the credentials again when a resumed login asks, the OTP and
/// captcha from the flags or the terminal.
struct Answers<'i, 'c> {
    interact: &'i mut Interact,
    creds: Option<(&'c str, &'c Password)>,
}

impl Interaction for Answers<'_, '_> {
    fn ask(&mut self, question: &Question<'_>) -> Option<Answer> {
        match question {
            Question::Credentials => self.creds.map(|(user, password)| {
                Answer::Credentials(ciam::Credentials::new(user, password.clone()))
            }),
            Question::NewPassword => None,
            Question::Otp { refused: true, .. } | Question::Captcha { refused: true, .. }
                if !self.interact.can_ask_again() =>
            {
                None
            }
            _ => self.interact.answer(question).ok(),
        }
    }
}
