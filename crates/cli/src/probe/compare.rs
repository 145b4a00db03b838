//! One call's answer against the contract row of its step (`login_core::contract`): status,
//! content type, each field (missing, unknown, wrong JSON type, a value outside the
//! enumeration, an expiry that reads as a Unix time), the error body's shape and code, the
//! `Retry-After` form, a redirect, and the cache headers of answers that carry tokens.
//!
//! Each departure is a [`Deviation`]: what was seen, the reading it breaks, the profile setting
//! that accepts it (`None` when no setting does: the tolerant reader takes it as it is, or
//! nothing can), and whether the profile in force accepted it. What the contract does not
//! govern (a missing `Cache-Control: no-store`, a refusal that is the run's outcome) is a note.

use login_core::contract::{self, Field, JsonType, Presence, Reading, Shape, StepContract};
use login_core::{Error, Response};
use serde::Serialize;
use serde_json::json;

use super::body::{NotAnObject, Seen, Shallow};
use super::capture::{Exchange, Expect};
use super::setting::{Setting, route_setting, value_of};
use crate::redact::redact;

/// A departure from the contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deviation {
    /// What was seen.
    pub what: String,
    /// The reading it breaks (`docs/wire-readings.md`).
    #[serde(serialize_with = "reading_name")]
    pub reading: Reading,
    /// The profile setting that accepts it, when one does.
    pub setting: Option<Setting>,
    /// Whether the profile in force accepted it.
    pub accepted: bool,
}

fn reading_name<S: serde::Serializer>(r: &Reading, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.as_str())
}

/// What one answer showed.
#[derive(Debug, Default)]
pub struct Compared {
    /// The status, when an answer came.
    pub status: Option<u16>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// The error code of a refusal.
    pub error_code: Option<String>,
    /// The departures.
    pub deviations: Vec<Deviation>,
    /// What the contract does not govern but an integrator wants to know.
    pub notes: Vec<String>,
}

/// Where the base URL points, for redirect targets: `scheme://host[:port]` and the path
/// prefix without a trailing slash.
#[derive(Debug, Clone)]
pub struct Base {
    /// `scheme://host[:port]`.
    pub origin: String,
    /// The base URL's path, without a trailing slash.
    pub prefix: String,
}

/// Compares `ex` with its step's row.
pub fn compare(ex: &Exchange, base: &Base) -> Compared {
    let mut out = Compared::default();
    let Ok(r) = &ex.reply else {
        return out;
    };
    let row = contract::step(ex.step);
    let status = r.status();
    out.status = Some(status);
    out.content_type = r.header("content-type").map(str::to_owned);
    out.cache_control = r.header("cache-control").map(str::to_owned);
    let engine_ok = ex.engine_error.is_none();
    retry_after(r, &mut out);
    if (300..400).contains(&status) {
        redirect(ex, r, row, base, &mut out);
        return out;
    }
    match ex.expect {
        Expect::Success if (200..300).contains(&status) => {
            success(ex, r, row, engine_ok, &mut out);
        }
        Expect::Success => {
            error_body(r, true, &mut out);
            let code = out.error_code.clone().unwrap_or_default();
            if status == 400 && (code.is_empty() || code == "invalid_request") {
                out.deviations.push(Deviation {
                    what: format!(
                        "the step was refused with 400 {}{}",
                        if code.is_empty() { "(no code)" } else { &code },
                        message_part(r)
                    ),
                    reading: Reading::RequestRow,
                    setting: None,
                    accepted: false,
                });
            } else {
                out.notes.push(format!(
                    "refused with {status} {}{}: the flows after this step were not probed",
                    if code.is_empty() { "(no code)" } else { &code },
                    message_part(r)
                ));
            }
        }
        Expect::Refusal {
            statuses,
            codes,
            kinds,
        } => {
            let classified = kinds.contains(&Error::from_response(r).kind());
            if (200..300).contains(&status) {
                out.deviations.push(Deviation {
                    what: format!(
                        "answered {status} (success) where the contract gives {} {}",
                        list(statuses),
                        codes.join(" or ")
                    ),
                    reading: Reading::ErrorBody,
                    setting: None,
                    accepted: false,
                });
                return out;
            }
            if !statuses.contains(&status) {
                out.deviations.push(Deviation {
                    what: format!("status {status}, the contract gives {}", list(statuses)),
                    reading: Reading::ErrorBody,
                    setting: None,
                    accepted: classified,
                });
            }
            error_body(r, classified, &mut out);
            if let Some(code) = &out.error_code
                && !codes.contains(&code.as_str())
                && contract::error_codes(status).contains(&code.as_str())
            {
                out.deviations.push(Deviation {
                    what: format!(
                        "error code {code:?}, the contract gives {} here",
                        codes.join(" or ")
                    ),
                    reading: Reading::ErrorBody,
                    setting: None,
                    accepted: classified,
                });
            }
        }
    }
    out
}

/// ` ("message")`, bounded and redacted, or nothing.
fn message_part(r: &Response) -> String {
    match Shallow::read(r.body())
        .ok()
        .and_then(|b| text_of(&b, "message"))
    {
        Some(m) => format!(" ({:?})", redact(&m.chars().take(160).collect::<String>())),
        None => String::new(),
    }
}

fn text_of(body: &Shallow, name: &str) -> Option<String> {
    match body.get(name) {
        Some(Seen::Str { text, .. }) => text.clone(),
        _ => None,
    }
}

/// The message of a refusal (bounded, for reading names out of it).
pub fn message_of(r: &Response) -> String {
    Shallow::read(r.body())
        .ok()
        .and_then(|b| text_of(&b, "message"))
        .unwrap_or_default()
}

fn list(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

fn media_type(content_type: Option<&str>) -> Option<String> {
    content_type.map(|c| {
        c.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

fn retry_after(r: &Response, out: &mut Compared) {
    let Some(v) = r.header("retry-after") else {
        return;
    };
    let v = v.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return;
    }
    out.deviations.push(Deviation {
        what: format!(
            "Retry-After is {:?}, not a number of seconds",
            v.chars().take(64).collect::<String>()
        ),
        reading: Reading::RetryAfter,
        setting: None,
        accepted: r.retry_after().is_some(),
    });
}

fn redirect(ex: &Exchange, r: &Response, row: &StepContract, base: &Base, out: &mut Compared) {
    let location = r.header("location").unwrap_or_default();
    let setting = route_setting(ex.step, location, &base.origin, &base.prefix);
    out.deviations.push(Deviation {
        what: format!(
            "answered {} (a redirect to {:?}) where the contract gives {}",
            r.status(),
            crate::settings::shown_url(location),
            row.success_status
        ),
        reading: Reading::NoRedirects,
        accepted: setting
            .as_ref()
            .is_some_and(|s| super::setting::holds(&ex.profile, s)),
        setting,
    });
}

/// The expiry fields.
const EXPIRY_FIELDS: [&str; 3] = ["exp", "expires", "refreshExpires"];

/// A lifetime this long (about 31 years) is an absolute time, not a lifetime.
const UNIX_TIME_FLOOR: f64 = 1.0e9;

fn success(ex: &Exchange, r: &Response, row: &StepContract, engine_ok: bool, out: &mut Compared) {
    let status = r.status();
    if status != row.success_status {
        let any2xx = serde_json::to_value(login_core::SuccessStatus::Any2xx).unwrap_or_default();
        let accepted = value_of(&ex.profile, "success").is_none_or(|v| v == any2xx);
        let any = Setting::new("success", any2xx);
        out.deviations.push(Deviation {
            what: format!(
                "status {status}, the contract documents {}",
                row.success_status
            ),
            reading: Reading::SuccessStatus,
            setting: Some(any),
            accepted,
        });
    }
    if row.carries_tokens
        && !out
            .cache_control
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().contains("no-store"))
    {
        out.notes.push(
            "no Cache-Control: no-store on an answer that carries tokens or codes \
             (RFC 6749 §5.1 asks for it; the contract is silent)"
                .into(),
        );
    }
    if row.empty_success && r.body().iter().all(u8::is_ascii_whitespace) {
        return;
    }
    content_type(out, engine_ok, Reading::JsonBodies);
    let body = match Shallow::read(r.body()) {
        Ok(b) => b,
        Err(why) => {
            out.deviations.push(Deviation {
                what: format!("the body {}", not_an_object(why)),
                reading: Reading::SuccessBody,
                setting: None,
                accepted: engine_ok,
            });
            return;
        }
    };
    if ex.step == login_core::table::StepId::RealmRequestLogin
        && matches!(body.get("mfa"), Some(Seen::Str { text: Some(t), .. }) if t == "otp")
        && body.get("refId").is_none()
    {
        out.notes.push(
            "mfa otp without refId: allowed (the contract says the answer may carry one), but \
             the user is shown no reference beside the code"
                .into(),
        );
    }
    let shape = best_shape(row.success, &body);
    for field in shape.fields {
        match body.get(field.name) {
            None if field.presence == Presence::Required => out.deviations.push(Deviation {
                what: format!("field {} is missing", field.name),
                reading: Reading::SuccessBody,
                setting: None,
                accepted: engine_ok,
            }),
            None => {}
            Some(seen) => check_field(ex, field, seen, engine_ok, out),
        }
    }
    for (name, _) in &body.fields {
        if shape.field(name).is_none() {
            out.deviations.push(Deviation {
                what: format!("unknown field {name}"),
                reading: Reading::TolerantReader,
                setting: None,
                accepted: true,
            });
        }
    }
}

fn not_an_object(why: NotAnObject) -> &'static str {
    match why {
        NotAnObject::Empty => "is empty",
        NotAnObject::NotJson => "is not JSON (HTML, text or garbage)",
        NotAnObject::OtherJson => "is JSON but not an object",
    }
}

fn content_type(out: &mut Compared, accepted: bool, reading: Reading) {
    let media = media_type(out.content_type.as_deref());
    if media.as_deref() != Some(contract::CONTENT_TYPE) {
        out.deviations.push(Deviation {
            what: match &out.content_type {
                Some(c) => format!("content type {c:?}, the contract gives application/json"),
                None => "no content type, the contract gives application/json".into(),
            },
            reading,
            setting: None,
            accepted,
        });
    }
}

/// The branch whose required fields the body has most of.
fn best_shape(shapes: &'static [Shape], body: &Shallow) -> &'static Shape {
    let score = |s: &Shape| {
        s.fields
            .iter()
            .filter(|f| f.presence == Presence::Required && body.get(f.name).is_some())
            .count()
    };
    let mut best = &shapes[0];
    for s in shapes {
        if score(s) > score(best) {
            best = s;
        }
    }
    best
}

fn check_field(ex: &Exchange, field: &Field, seen: &Seen, engine_ok: bool, out: &mut Compared) {
    let name = field.name;
    let number = match (field.ty, seen) {
        (JsonType::Number, Seen::Number(n)) => Some(*n),
        (
            JsonType::Number,
            Seen::Str {
                numeric: Some(n), ..
            },
        ) => {
            out.deviations.push(Deviation {
                what: format!("field {name} is a numeric string, the contract gives a number"),
                reading: Reading::TolerantReader,
                setting: None,
                accepted: engine_ok,
            });
            Some(*n)
        }
        (JsonType::String, Seen::Array { all_strings: true }) if name == "scope" => {
            out.deviations.push(Deviation {
                what: "field scope is a string array, the contract gives a string".into(),
                reading: Reading::TolerantReader,
                setting: None,
                accepted: engine_ok,
            });
            None
        }
        (JsonType::String, Seen::Str { text, .. }) => {
            if let Some(text) = text
                && !field.values.is_empty()
                && !field.values.contains(&text.as_str())
            {
                out.deviations.push(Deviation {
                    what: format!(
                        "field {name} is {:?}, not one of {}",
                        redact(text),
                        field.values.join(", ")
                    ),
                    reading: Reading::SuccessBody,
                    setting: None,
                    accepted: engine_ok,
                });
            }
            None
        }
        (ty, seen) if ty.as_str() == seen.type_name() => None,
        (ty, seen) => {
            out.deviations.push(Deviation {
                what: format!(
                    "field {name} is a {}, the contract gives a {}",
                    seen.type_name(),
                    ty.as_str()
                ),
                reading: Reading::SuccessBody,
                setting: None,
                accepted: engine_ok,
            });
            None
        }
    };
    if let Some(n) = number
        && EXPIRY_FIELDS.contains(&name)
    {
        expiry(ex, name, n, engine_ok, out);
    }
}

/// An expiry number against the reading (lifetimes) and the profile's `expiry`.
fn expiry(ex: &Exchange, name: &str, n: f64, engine_ok: bool, out: &mut Compared) {
    let unix_profile = value_of(&ex.profile, "expiry").is_some_and(|v| v == "unixTime");
    if n >= UNIX_TIME_FLOOR {
        out.deviations.push(Deviation {
            what: format!("field {name} ({n}) reads as a Unix time, not a lifetime in seconds"),
            reading: Reading::ExpiryLifetimes,
            setting: Some(Setting::new("expiry", json!("unixTime"))),
            accepted: unix_profile && engine_ok,
        });
    } else if unix_profile {
        out.deviations.push(Deviation {
            what: format!(
                "field {name} ({n}) reads as a lifetime, but the profile says Unix times"
            ),
            reading: Reading::ExpiryLifetimes,
            setting: Some(Setting::new("expiry", json!("lifetime"))),
            accepted: false,
        });
    }
}

/// The error body: JSON, `{"error","message"}` strings, no other field, a code the contract
/// gives for the status. The client classifies by status first, so these are tolerated
/// (`accepted`) unless the classification itself went wrong.
fn error_body(r: &Response, accepted: bool, out: &mut Compared) {
    let status = r.status();
    content_type(out, accepted, Reading::ErrorBody);
    let body = match Shallow::read(r.body()) {
        Ok(b) => b,
        Err(why) => {
            out.deviations.push(Deviation {
                what: format!("the error body {}", not_an_object(why)),
                reading: Reading::ErrorBody,
                setting: None,
                accepted,
            });
            return;
        }
    };
    for field in contract::ERROR_BODY {
        match body.get(field.name) {
            None => out.deviations.push(Deviation {
                what: format!("the error body has no {} field", field.name),
                reading: Reading::ErrorBody,
                setting: None,
                accepted,
            }),
            Some(Seen::Str { .. }) => {}
            Some(seen) => out.deviations.push(Deviation {
                what: format!(
                    "the error body's {} is a {}, not a string",
                    field.name,
                    seen.type_name()
                ),
                reading: Reading::ErrorBody,
                setting: None,
                accepted,
            }),
        }
    }
    for (name, _) in &body.fields {
        if !contract::ERROR_BODY.iter().any(|f| f.name == name) {
            out.deviations.push(Deviation {
                what: format!("unknown field {name} in the error body"),
                reading: Reading::TolerantReader,
                setting: None,
                accepted: true,
            });
        }
    }
    let code = text_of(&body, "error");
    if let Some(code) = &code {
        let known = contract::error_codes(status);
        if !known.is_empty() && !known.contains(&code.as_str()) {
            out.deviations.push(Deviation {
                what: format!(
                    "error code {:?} for {status}, the contract gives {}",
                    redact(code),
                    known.join(", ")
                ),
                reading: Reading::ErrorBody,
                setting: None,
                accepted,
            });
        }
    }
    out.error_code = code;
}
