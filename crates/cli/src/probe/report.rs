//! The probe's report: one entry per call (what went out, in names only; what came back; the
//! deviations and notes), the TLS facts, the settings that would accept what was seen, and its
//! text and JSON forms.

use serde::Serialize;
use serde_json::{Value, json};

use super::compare::Deviation;
use super::setting::Setting;
use super::tls::TlsReport;

/// What went out, without a value.
#[derive(Debug, Clone, Serialize)]
pub struct RequestSummary {
    /// `POST`, ...
    pub method: &'static str,
    /// The path relative to the base URL.
    pub path: String,
    /// The body's field names.
    pub fields: Vec<String>,
    /// The header names.
    pub headers: Vec<String>,
}

/// One call.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// The contract row (`request_login`, `authorize`, ...).
    pub step: &'static str,
    /// Which probe sent it.
    pub probe: &'static str,
    /// What went out.
    pub request: RequestSummary,
    /// The status.
    pub status: Option<u16>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// A refusal's error code.
    pub error_code: Option<String>,
    /// Why no answer came.
    pub transport_error: Option<String>,
    /// The departures from the contract.
    pub deviations: Vec<Deviation>,
    /// What the contract does not govern.
    pub notes: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Whether any call got an answer.
    pub reachable: bool,
    /// The base URL (no user info or query).
    pub server: String,
    /// `cap` or `ciam`.
    pub api: &'static str,
    /// TLS.
    pub tls: TlsReport,
    /// Every call, in order.
    pub steps: Vec<StepReport>,
    /// Calls sent.
    pub requests: usize,
    /// Calls sent only to try another setting after a refusal or a redirect.
    pub extra_requests: usize,
    /// Notes on the whole run (TLS, what could not be probed).
    pub notes: Vec<String>,
    /// The settings that accept every deviation a setting can accept.
    pub settings: Vec<Setting>,
}

impl Report {
    /// Every deviation.
    pub fn deviations(&self) -> impl Iterator<Item = (&StepReport, &Deviation)> {
        self.steps
            .iter()
            .flat_map(|s| s.deviations.iter().map(move |d| (s, d)))
    }

    /// Whether the server did what the contract says, everywhere it was probed.
    pub fn conforms(&self) -> bool {
        self.reachable && self.deviations().next().is_none()
    }

    /// The JSON document: `server`, `reachable`, `api`, `tls`, `steps`, `requests`, `extraRequests`,
    /// `notes`, `conforms`, `deviations` (a count) and `suggestedProfile` (`suggested`: the
    /// profile file `--suggest-profile` writes).
    pub fn to_json(&self, suggested: &Value) -> Value {
        json!({
            "server": self.server,
            "reachable": self.reachable,
            "api": self.api,
            "tls": self.tls,
            "steps": self.steps,
            "requests": self.requests,
            "extraRequests": self.extra_requests,
            "notes": self.notes,
            "conforms": self.conforms(),
            "deviations": self.deviations().count(),
            "suggestedProfile": suggested,
        })
    }

    /// The text: a header, TLS, a table of the calls, each deviation with its reading and
    /// setting, the notes, the suggestion and the verdict.
    pub fn to_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "probe of {} ({} API): {} requests ({} extra to try other settings)",
            self.server, self.api, self.requests, self.extra_requests
        )];
        lines.extend(self.tls.lines());
        lines.push(String::new());
        let rows: Vec<[String; 6]> = self
            .steps
            .iter()
            .map(|s| {
                [
                    s.probe.to_owned(),
                    s.step.to_owned(),
                    format!("{} {}", s.request.method, s.request.path),
                    s.status.map_or_else(|| "-".to_owned(), |c| c.to_string()),
                    s.content_type
                        .clone()
                        .or_else(|| s.transport_error.clone())
                        .unwrap_or_else(|| "-".into()),
                    match s.deviations.len() {
                        0 => "conforms".to_owned(),
                        1 => "1 deviation".to_owned(),
                        n => format!("{n} deviations"),
                    },
                ]
            })
            .collect();
        let head = [
            "probe",
            "step",
            "request",
            "status",
            "content type",
            "result",
        ]
        .map(str::to_owned);
        let mut widths = head.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count().min(48));
            }
        }
        for row in std::iter::once(&head).chain(&rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            lines.push(format!("  {}", cells.join("  ").trim_end()));
        }
        if !self.conforms() {
            lines.push(String::new());
            lines.push("Deviations:".into());
            for (step, d) in self.deviations() {
                lines.push(format!(
                    "  {} / {} ({}): {}",
                    step.probe,
                    step.step,
                    step.status.map_or_else(|| "-".into(), |c| c.to_string()),
                    d.what
                ));
                lines.push(format!(
                    "      reading {}: {}",
                    d.reading.as_str(),
                    d.reading.text()
                ));
                let setting = match &d.setting {
                    Some(s) => format!("setting {}", s.shown()),
                    None => "no setting: the reading tolerates it or nothing can".to_owned(),
                };
                lines.push(format!(
                    "      {setting}; accepted by this profile: {}",
                    if d.accepted { "yes" } else { "no" }
                ));
            }
        }
        let notes: Vec<String> = self
            .steps
            .iter()
            .flat_map(|s| {
                s.notes
                    .iter()
                    .map(move |n| format!("  {} / {}: {n}", s.probe, s.step))
            })
            .chain(self.notes.iter().map(|n| format!("  {n}")))
            .collect();
        if !notes.is_empty() {
            lines.push(String::new());
            lines.push("Notes:".into());
            lines.extend(notes);
        }
        lines.push(String::new());
        if !self.settings.is_empty() {
            let shown: Vec<String> = self.settings.iter().map(Setting::shown).collect();
            lines.push(format!("Suggested settings: {}", shown.join("; ")));
        }
        let count = self.deviations().count();
        let refused = self.deviations().filter(|(_, d)| !d.accepted).count();
        lines.push(if !self.reachable {
            "The server cannot be reached: nothing was compared.".to_owned()
        } else if count == 0 {
            "The server conforms to the contract everywhere it was probed.".to_owned()
        } else {
            format!(
                "The server deviates from the contract in {count} place(s); {refused} not \
                 accepted by this profile."
            )
        });
        lines
    }
}
