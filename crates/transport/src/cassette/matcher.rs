//! How a replay compares a request with the one the cassette recorded: method, path, headers
//! and body structure. Text matches exactly; a placeholder matches any non-empty string in its
//! place, except that a numbered placeholder, once this run has given it a value (sent it, or
//! received it in a replayed response), matches only that value. An envelope's placeholder
//! matches a JWE whose protected header matches the recorded one.

use std::collections::BTreeMap;

use login_core::Request;
use login_core::redact::{self, SecretKind, Side};
use login_core::table::StepId;
use serde_json::Value;
use zeroize::{Zeroize as _, Zeroizing};

use super::diff::{Difference, cut, quoted, shape};
use super::format::RecordedRequest;
use super::placeholder::{Part, Placeholder, parts};
use super::redact::MIN_SCRUBBED_INSIDE;

/// What this run gave each placeholder. Holds secrets (what the run sent): zeroed on drop.
#[derive(Default, Clone)]
pub(crate) struct Bindings {
    /// Numbered placeholder text → its value in this run.
    bound: Vec<(String, Zeroizing<String>)>,
    /// Values sent where an unnumbered placeholder stood (passwords, OTPs), with that
    /// placeholder: never shown in a diff.
    seen: Vec<(String, Zeroizing<String>)>,
}

impl Bindings {
    fn get(&self, placeholder: &str) -> Option<Zeroizing<String>> {
        self.bound
            .iter()
            .find(|(p, _)| p == placeholder)
            .map(|(_, v)| v.clone())
    }

    /// Ties a numbered placeholder to a value.
    pub(crate) fn bind(&mut self, placeholder: &str, value: &str) {
        self.bound
            .push((placeholder.to_owned(), Zeroizing::new(value.to_owned())));
    }

    fn see(&mut self, placeholder: &str, value: &str) {
        if !self.seen.iter().any(|(_, v)| v.as_str() == value) {
            self.seen
                .push((placeholder.to_owned(), Zeroizing::new(value.to_owned())));
        }
    }

    fn all(&self) -> impl Iterator<Item = &(String, Zeroizing<String>)> {
        self.bound.iter().chain(&self.seen)
    }

    /// The placeholder a value of this run stands for, if any.
    fn name_of(&self, value: &str) -> Option<&str> {
        self.all()
            .find(|(_, v)| v.as_str() == value)
            .map(|(p, _)| p.as_str())
    }

    /// `text` with every value of this run replaced by its placeholder (for diffs).
    pub(crate) fn scrub(&self, text: &str) -> String {
        if let Some(name) = self.name_of(text) {
            return name.to_owned();
        }
        let mut out = text.to_owned();
        for (placeholder, value) in self.all() {
            if value.len() >= MIN_SCRUBBED_INSIDE && out.contains(value.as_str()) {
                out = out.replace(value.as_str(), placeholder);
            }
        }
        out
    }

    /// The value a response carries where the cassette has `text` with placeholders: bound
    /// ones take this run's value; unbound numbered ones get a synthetic value, bound from
    /// now on; unnumbered ones stay as written.
    pub(crate) fn fill(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for part in parts(text) {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Hole(hole, written) => match self.get(written) {
                    Some(value) => out.push_str(&value),
                    None if hole.binds() => {
                        let value = hole.synthetic_value();
                        self.bind(written, &value);
                        out.push_str(&value);
                    }
                    None => out.push_str(written),
                },
            }
        }
        out
    }
}

/// Zeroes every string of a JSON value (a request body of this run: it holds secrets).
pub(crate) fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        Value::Number(_) | Value::Bool(_) | Value::Null => {}
    }
}

/// One comparison of a request with its recorded counterpart. Bindings made here are kept
/// only when the whole request matches.
struct Comparison<'a> {
    bindings: Bindings,
    step: StepId,
    envelopes: &'a BTreeMap<String, Value>,
    differences: Vec<Difference>,
}

/// Compares `request` with `recorded`: the bindings after it when they match, else every
/// difference.
pub(crate) fn compare(
    recorded: &RecordedRequest,
    request: &Request,
    bindings: &Bindings,
) -> Result<Bindings, Vec<Difference>> {
    let mut c = Comparison {
        bindings: bindings.clone(),
        step: request.step(),
        envelopes: &recorded.envelopes,
        differences: Vec::new(),
    };
    let method = request.method().as_str();
    if recorded.method != method {
        c.differ("method", quoted(&recorded.method), quoted(method));
    }
    if c.text(&recorded.path, request.path()).is_err() {
        let got = quoted(&c.bindings.scrub(request.path()));
        c.differ("path", quoted(&recorded.path), got);
    }
    c.headers(recorded, request);
    c.body(recorded, request.body().unwrap_or_default());
    if c.differences.is_empty() {
        Ok(c.bindings)
    } else {
        Err(c.differences)
    }
}

impl Comparison<'_> {
    fn differ(&mut self, at: impl Into<String>, expected: String, got: String) {
        self.differences.push(Difference {
            at: at.into(),
            expected,
            got,
        });
    }

    /// How a string the run sent is shown: the placeholder it stands for in this run, a
    /// redaction when it sits where a secret goes, else the text (any secret of this run in
    /// it replaced).
    fn show(&self, got: &str, secret: bool) -> String {
        if let Some(name) = self.bindings.name_of(got) {
            return name.to_owned();
        }
        if secret {
            return "a different value (redacted)".to_owned();
        }
        quoted(&self.bindings.scrub(got))
    }

    /// Matches a recorded string (text and placeholders) against what the run sent, binding
    /// the placeholders it fills. `Err` says why not, in words safe to show.
    fn text(&mut self, template: &str, actual: &str) -> Result<(), String> {
        let pieces = parts(template);
        let mut rest = actual;
        for (i, part) in pieces.iter().enumerate() {
            match *part {
                Part::Text(t) => {
                    rest = rest
                        .strip_prefix(t)
                        .ok_or_else(|| "different text".to_owned())?;
                }
                Part::Hole(hole, written) => {
                    let taken = match self.bindings.get(written) {
                        Some(bound) if rest.starts_with(bound.as_str()) => bound.len(),
                        Some(_) => {
                            return Err(format!("not the value {written} has in this run"));
                        }
                        None => match pieces.get(i + 1) {
                            Some(Part::Text(t)) => {
                                rest.find(t).ok_or_else(|| "different text".to_owned())?
                            }
                            Some(Part::Hole(..)) => {
                                return Err("two placeholders side by side".to_owned());
                            }
                            None => rest.len(),
                        },
                    };
                    let value = &rest[..taken];
                    if value.is_empty() {
                        return Err(format!("nothing where {written} stood"));
                    }
                    if hole.kind == SecretKind::Envelope {
                        self.envelope(written, value)?;
                    }
                    self.fill_hole(hole, written, value);
                    rest = &rest[taken..];
                }
            }
        }
        if rest.is_empty() {
            Ok(())
        } else {
            Err("different text".to_owned())
        }
    }

    fn fill_hole(&mut self, hole: Placeholder, written: &str, value: &str) {
        if hole.binds() {
            if self.bindings.get(written).is_none() {
                self.bindings.bind(written, value);
            }
        } else {
            self.bindings.see(written, value);
        }
    }

    /// Whether `value` is a JWE whose protected header matches the one recorded for
    /// `placeholder` (none recorded: any JWE).
    fn envelope(&mut self, placeholder: &str, value: &str) -> Result<(), String> {
        let Some(mut got) = redact::envelope_header(value) else {
            return Err("not a JWE envelope".to_owned());
        };
        let Some(expected) = self.envelopes.get(placeholder) else {
            return Ok(());
        };
        let mut inner = Comparison {
            bindings: self.bindings.clone(),
            step: self.step,
            envelopes: self.envelopes,
            differences: Vec::new(),
        };
        inner.json("header", expected, &got, None);
        wipe(&mut got);
        if inner.differences.is_empty() {
            return Ok(());
        }
        let said: Vec<String> = inner.differences.iter().map(|d| d.to_string()).collect();
        Err(format!("an envelope whose {}", said.join("; ")))
    }

    fn headers(&mut self, recorded: &RecordedRequest, request: &Request) {
        let step = self.step;
        let secret = |name: &str, sensitive: bool| {
            sensitive || redact::header(Some(step), Side::Request, name).is_some()
        };
        for (name, expected) in &recorded.headers {
            let actual = request
                .headers()
                .iter()
                .find(|h| h.name().eq_ignore_ascii_case(name));
            let at = format!("header.{name}");
            match actual {
                None => self.differ(at, quoted(expected), "nothing".to_owned()),
                Some(h) => {
                    if let Err(why) = self.text(expected, h.value()) {
                        let got = self.show(h.value(), secret(h.name(), h.is_sensitive()));
                        self.differ(at, quoted(expected), format!("{got} ({why})"));
                    }
                }
            }
        }
        for h in request.headers() {
            if !recorded
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(h.name()))
            {
                let got = self.show(h.value(), secret(h.name(), h.is_sensitive()));
                self.differ(format!("header.{}", h.name()), "nothing".to_owned(), got);
            }
        }
    }

    fn body(&mut self, recorded: &RecordedRequest, bytes: &[u8]) {
        let expected = &recorded.body;
        if bytes.is_empty() {
            if expected.forms() > 0 {
                self.differ("body", expected.describe().to_owned(), "no body".to_owned());
            }
            return;
        }
        if let Ok(mut got) = serde_json::from_slice::<Value>(bytes) {
            match &expected.body {
                Some(e) => self.json("body", e, &got, None),
                None => {
                    let shown = shape(&got);
                    self.differ(
                        "body",
                        expected.describe().to_owned(),
                        format!("a JSON body ({shown})"),
                    );
                }
            }
            wipe(&mut got);
            return;
        }
        match (std::str::from_utf8(bytes), &expected.body_text) {
            (Ok(text), Some(e)) => {
                if let Err(why) = self.text(e, text) {
                    let got = cut(&self.bindings.scrub(text));
                    self.differ("body", quoted(e), format!("{got:?} ({why})"));
                }
            }
            (Ok(text), None) => self.differ(
                "body",
                expected.describe().to_owned(),
                format!("a text body ({} characters)", text.chars().count()),
            ),
            (Err(_), _) => {
                use base64::Engine as _;
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                if expected.body_base64.as_deref() != Some(encoded.as_str()) {
                    self.differ(
                        "body",
                        expected.describe().to_owned(),
                        format!("different bytes ({} bytes)", bytes.len()),
                    );
                }
            }
        }
    }

    /// Compares JSON values at `at`; `key` is the field they sit under.
    fn json(&mut self, at: &str, expected: &Value, got: &Value, key: Option<&str>) {
        let secret =
            key.is_some_and(|k| redact::body_field(Some(self.step), Side::Request, k).is_some());
        match (expected, got) {
            (Value::String(e), Value::String(g)) => {
                if let Err(why) = self.text(e, g) {
                    let hole = super::placeholder::has_holes(e);
                    let shown = self.show(g, secret || hole);
                    let got = if hole {
                        format!("{shown} ({why})")
                    } else {
                        shown
                    };
                    self.differ(at, quoted(e), got);
                }
            }
            (Value::Object(e), Value::Object(g)) => {
                for (k, ev) in e {
                    let here = format!("{at}.{k}");
                    match g.get(k) {
                        Some(gv) => self.json(&here, ev, gv, Some(k)),
                        None => self.differ(here, cut(&ev.to_string()), "nothing".to_owned()),
                    }
                }
                for (k, gv) in g {
                    if !e.contains_key(k) {
                        let secret_key =
                            redact::body_field(Some(self.step), Side::Request, k).is_some();
                        let got = match gv {
                            Value::String(s) => self.show(s, secret_key),
                            other if secret_key => shape(other),
                            other => cut(&other.to_string()),
                        };
                        self.differ(format!("{at}.{k}"), "nothing".to_owned(), got);
                    }
                }
            }
            (Value::Array(e), Value::Array(g)) => {
                if e.len() != g.len() {
                    self.differ(
                        at,
                        format!("{} items", e.len()),
                        format!("{} items", g.len()),
                    );
                }
                for (i, (ev, gv)) in e.iter().zip(g).enumerate() {
                    self.json(&format!("{at}[{i}]"), ev, gv, key);
                }
            }
            (Value::Number(e), Value::Number(g)) => {
                if e != g && e.as_f64() != g.as_f64() {
                    let got = if secret { shape(got) } else { g.to_string() };
                    self.differ(at, e.to_string(), got);
                }
            }
            (e, g) if e == g => {}
            (e, g) => {
                let expected = match e {
                    Value::String(s) => quoted(s),
                    other => shape(other),
                };
                let got = match g {
                    Value::String(s) => {
                        let shown = self.show(s, secret);
                        format!("{shown} (a string)")
                    }
                    Value::Number(_) | Value::Bool(_) if secret => {
                        format!("a {}", kind_of(g))
                    }
                    other => shape(other),
                };
                self.differ(at, format!("{expected} ({})", kind_of(e)), got);
            }
        }
    }
}

/// The JSON type's name.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
