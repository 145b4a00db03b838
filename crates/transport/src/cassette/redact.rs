//! The recording side's placeholder rules: which values become placeholders (login-core's
//! [`redact`](login_core::redact) tables decide), and a memory of every value replaced so far,
//! so the same value gets the same placeholder wherever it appears again in the cassette (a
//! token the server issued and the client sends back; a `state` the server echoes).
//!
//! Beyond the tables, every value replaced once is looked for again in every other string of
//! later lines (paths, error messages, header values, text bodies): a server that echoes a
//! token in an error message leaks nothing either. Values shorter than
//! [`MIN_SCRUBBED_INSIDE`] are replaced only where they are a whole value: searching for a
//! six-digit OTP inside base64 text would sooner or later corrupt an unrelated value.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use login_core::redact::{self, SecretKind, Side};
use login_core::table::StepId;
use login_core::{Request, Response, TransportError};
use serde_json::Value;
use zeroize::{Zeroize as _, Zeroizing};

use super::format::{RecordedBody, RecordedError, RecordedRequest, RecordedResponse};
use super::placeholder::Placeholder;

/// The shortest secret also looked for inside other strings.
pub(crate) const MIN_SCRUBBED_INSIDE: usize = 8;

/// A value replaced once, and its placeholder.
struct Known {
    value: Zeroizing<String>,
    placeholder: String,
}

/// The placeholders handed out so far in one cassette. Holds the secrets it replaced (to
/// recognise them again), zeroed on drop.
#[derive(Default)]
pub(crate) struct Redactor {
    /// Longest first, so a value that contains another is replaced whole.
    known: Vec<Known>,
    counters: HashMap<SecretKind, u32>,
}

impl Redactor {
    /// The placeholder for `value` of `kind`: the one it already has, or a new one.
    fn placeholder(&mut self, kind: SecretKind, value: &str) -> String {
        if let Some(known) = self.known.iter().find(|k| k.value.as_str() == value) {
            return known.placeholder.clone();
        }
        let number = kind.is_numbered().then(|| {
            let n = self.counters.entry(kind).or_insert(0);
            *n += 1;
            *n
        });
        let text = Placeholder { kind, number }.text();
        let at = self
            .known
            .iter()
            .position(|k| k.value.len() < value.len())
            .unwrap_or(self.known.len());
        self.known.insert(
            at,
            Known {
                value: Zeroizing::new(value.to_owned()),
                placeholder: text.clone(),
            },
        );
        text
    }

    /// `s` with every known value replaced by its placeholder: whole, or inside when long
    /// enough.
    fn scrub(&self, s: &str) -> String {
        if let Some(known) = self.known.iter().find(|k| k.value.as_str() == s) {
            return known.placeholder.clone();
        }
        let mut out: Option<String> = None;
        for known in &self.known {
            if known.value.len() < MIN_SCRUBBED_INSIDE {
                break;
            }
            let current = out.as_deref().unwrap_or(s);
            if current.contains(known.value.as_str()) {
                out = Some(current.replace(known.value.as_str(), &known.placeholder));
            }
        }
        out.unwrap_or_else(|| s.to_owned())
    }

    /// Bytes with every long-enough known value replaced (bodies that are not UTF-8).
    fn scrub_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for known in &self.known {
            let needle = known.value.as_bytes();
            if needle.len() < MIN_SCRUBBED_INSIDE {
                break;
            }
            let mut i = 0;
            while i + needle.len() <= out.len() {
                if &out[i..i + needle.len()] == needle {
                    out.splice(i..i + needle.len(), known.placeholder.bytes());
                    i += known.placeholder.len();
                } else {
                    i += 1;
                }
            }
        }
        out
    }

    /// A secret header value: its scheme (`Bearer `) kept, the credential replaced.
    fn header_secret(&mut self, kind: SecretKind, value: &str) -> String {
        let (scheme, credential) = split_scheme(value);
        if credential.is_empty() {
            return value.to_owned();
        }
        format!("{scheme}{}", self.placeholder(kind, credential))
    }

    fn header(
        &mut self,
        step: StepId,
        side: Side,
        name: &str,
        value: &str,
        sensitive: bool,
    ) -> String {
        match redact::header(Some(step), side, name).or(sensitive.then_some(SecretKind::Bearer)) {
            Some(kind) => self.header_secret(kind, value),
            None => self.scrub(value),
        }
    }

    /// Replaces the secrets of a JSON value in place (the values replaced are zeroed).
    /// `inherited` is the kind of the field this value sits under, if secret.
    fn json(
        &mut self,
        value: &mut Value,
        step: StepId,
        side: Side,
        inherited: Option<SecretKind>,
        envelopes: &mut BTreeMap<String, Value>,
    ) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let kind = redact::body_field(Some(step), side, key).or(inherited);
                    self.json(child, step, side, kind, envelopes);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.json(item, step, side, inherited, envelopes);
                }
            }
            Value::String(s) => {
                // A request value shaped like a JWE is the credential envelope under whatever
                // field a profile's `envelope.field` names (the table knows only `authToken`).
                // Decoded once: it decides the kind and is kept beside the placeholder.
                let header = match inherited {
                    None if side == Side::Request => redact::envelope_header(s),
                    Some(SecretKind::Envelope) => redact::envelope_header(s),
                    _ => None,
                };
                let inherited = inherited.or(header.is_some().then_some(SecretKind::Envelope));
                let replacement = match inherited {
                    Some(_) if s.is_empty() => return,
                    Some(SecretKind::Envelope) => {
                        let placeholder = self.placeholder(SecretKind::Envelope, s);
                        if let Some(header) = header {
                            envelopes.insert(placeholder.clone(), header);
                        }
                        placeholder
                    }
                    Some(kind) => self.placeholder(kind, s),
                    None => self.scrub(s),
                };
                let mut old = std::mem::replace(s, replacement);
                old.zeroize();
            }
            // Secrets are strings; numbers, booleans and null say nothing.
            Value::Number(_) | Value::Bool(_) | Value::Null => {}
        }
    }

    /// A body in its recorded form.
    fn body(
        &mut self,
        bytes: &[u8],
        step: StepId,
        side: Side,
        envelopes: &mut BTreeMap<String, Value>,
    ) -> RecordedBody {
        if bytes.is_empty() {
            return RecordedBody::default();
        }
        if let Ok(mut value) = serde_json::from_slice::<Value>(bytes) {
            self.json(&mut value, step, side, None, envelopes);
            return RecordedBody {
                body: Some(value),
                ..RecordedBody::default()
            };
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => RecordedBody {
                body_text: Some(self.scrub(text)),
                ..RecordedBody::default()
            },
            Err(_) => RecordedBody {
                body_base64: Some(STANDARD.encode(self.scrub_bytes(bytes))),
                ..RecordedBody::default()
            },
        }
    }

    /// A request in its recorded form.
    pub(crate) fn request(&mut self, request: &Request) -> RecordedRequest {
        let step = request.step();
        let headers = request
            .headers()
            .iter()
            .map(|h| {
                let value = self.header(step, Side::Request, h.name(), h.value(), h.is_sensitive());
                (h.name().to_owned(), value)
            })
            .collect();
        let mut envelopes = BTreeMap::new();
        let body = self.body(
            request.body().unwrap_or_default(),
            step,
            Side::Request,
            &mut envelopes,
        );
        RecordedRequest {
            method: request.method().as_str().to_owned(),
            path: self.scrub(request.path()),
            headers,
            body,
            envelopes,
        }
    }

    /// A response in its recorded form (`step` is its request's).
    pub(crate) fn response(&mut self, step: StepId, response: &Response) -> RecordedResponse {
        let headers = response
            .headers()
            .map(|(name, value)| {
                let value = self.header(step, Side::Response, name, value, false);
                (name.to_owned(), value)
            })
            .collect();
        let mut envelopes = BTreeMap::new();
        let body = self.body(response.body(), step, Side::Response, &mut envelopes);
        RecordedResponse {
            status: response.status(),
            headers,
            body,
        }
    }

    /// A transport error in its recorded form.
    pub(crate) fn error(&self, error: &TransportError) -> RecordedError {
        RecordedError {
            kind: error.kind.as_str().to_owned(),
            detail: self.scrub(&error.detail),
        }
    }
}

/// `Bearer abc` → (`Bearer `, `abc`); a value with no scheme is all credential.
pub(crate) fn split_scheme(value: &str) -> (&str, &str) {
    match value.split_once(' ') {
        Some((scheme, rest))
            if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic()) =>
        {
            (&value[..=scheme.len()], rest)
        }
        _ => ("", value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_value_keeps_its_placeholder_and_numbers_count_per_kind() {
        let mut r = Redactor::default();
        assert_eq!(
            r.placeholder(SecretKind::AccessToken, "tok-one-1234"),
            "<access_token#1>"
        );
        assert_eq!(
            r.placeholder(SecretKind::AccessToken, "tok-two-5678"),
            "<access_token#2>"
        );
        assert_eq!(
            r.placeholder(SecretKind::FlowToken, "tok-one-1234"),
            "<access_token#1>"
        );
        assert_eq!(r.placeholder(SecretKind::Password, "pw"), "<password>");
        assert_eq!(r.placeholder(SecretKind::Password, "other"), "<password>");
        assert_eq!(
            r.scrub("error: tok-two-5678 revoked"),
            "error: <access_token#2> revoked"
        );
        assert_eq!(
            r.scrub("pw"),
            "<password>",
            "a short secret as a whole value"
        );
        assert_eq!(r.scrub("pwned"), "pwned", "but not inside other text");
    }

    #[test]
    fn an_envelope_under_another_field_name_is_still_an_envelope() {
        // The protected header of a real ECDH-ES envelope, with made-up later parts.
        let jwe = "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTEyOEdDTSIsImVwayI6eyJrdHkiOiJFQyIsImNydiI6IlAtMjU2IiwieCI6IkFBQSIsInkiOiJCQkIifX0..aXYtaXYtaXY.Y2lwaGVydGV4dC1zZWNyZXQ.dGFn";
        let mut r = Redactor::default();
        let mut envelopes = BTreeMap::new();
        let body = serde_json::json!({ "credentials": jwe, "note": "a.b" }).to_string();
        let recorded = r.body(
            body.as_bytes(),
            StepId::CiamLoginChallenge,
            Side::Request,
            &mut envelopes,
        );
        let value = recorded.body.expect("a JSON body");
        let placeholder = value["credentials"].as_str().expect("a string");
        assert!(placeholder.starts_with("<envelope"), "{value}");
        assert_eq!(
            value["note"], "a.b",
            "not every dotted value is an envelope"
        );
        assert!(!value.to_string().contains("Y2lwaGVydGV4dC1zZWNyZXQ"));
        assert_eq!(envelopes[placeholder]["enc"], "A128GCM");
        // Answers are not envelopes: a response's dotted token keeps its own rules.
        let mut envelopes = BTreeMap::new();
        let answer = r.body(
            body.as_bytes(),
            StepId::CiamLoginChallenge,
            Side::Response,
            &mut envelopes,
        );
        assert!(envelopes.is_empty(), "{:?}", answer.body);
    }

    #[test]
    fn schemes_are_kept() {
        assert_eq!(split_scheme("Bearer abc def"), ("Bearer ", "abc def"));
        assert_eq!(split_scheme("lc-123"), ("", "lc-123"));
        assert_eq!(split_scheme("a=b; c=d"), ("", "a=b; c=d"));
    }
}
