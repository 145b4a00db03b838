//! The cassette's line format (JSON Lines): a header line, then one line per exchange. Every
//! secret in a line is already a placeholder; see the module docs of [`crate::cassette`].

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// The first line of a cassette.
///
/// ```
/// use login_transport::cassette::CassetteHeader;
/// let header: CassetteHeader =
///     serde_json::from_str(r#"{"cassette":1,"api":"realm","createdBy":"loginflow 0.1.0"}"#).unwrap();
/// assert_eq!(header.api.as_deref(), Some("realm"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CassetteHeader {
    /// The format version ([`VERSION`]).
    pub cassette: u32,
    /// The API the exchanges belong to, when the recorder knew it (`realm`, `ciam`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// What wrote the cassette (`loginflow 0.1.0`).
    pub created_by: String,
}

/// One exchange: a request and what came back, with the time it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    /// Its place in the cassette, from 1.
    pub exchange: u64,
    /// The engine's step, `api.step` (`realm.request_login`, `ciam.access_token`).
    pub step: String,
    /// What was sent.
    pub request: RecordedRequest,
    /// What came back: a response, or a transport error.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Milliseconds from sending to the whole response (or the error).
    pub elapsed_ms: u64,
}

/// A response or a transport failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// A whole response came back (any status).
    Response(RecordedResponse),
    /// No usable response: the transport's error.
    Error(RecordedError),
}

/// A request as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// `GET`, `POST`, `PATCH`.
    pub method: String,
    /// The path relative to the base URL (the base URL itself is not recorded).
    pub path: String,
    /// The headers the engine set, in order, as `[name, value]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The body.
    #[serde(flatten)]
    pub body: RecordedBody,
    /// For each sealed envelope's placeholder, its decoded protected header (what is fresh in
    /// it a placeholder too); never the ciphertext.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub envelopes: BTreeMap<String, Value>,
}

/// A response as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers as received, in order, as `[name, value]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The body.
    #[serde(flatten)]
    pub body: RecordedBody,
}

/// A transport failure as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedError {
    /// The kind's name (`timeout`, `reset`, ...: [`login_core::TransportErrorKind::as_str`]).
    pub kind: String,
    /// The transport's detail.
    pub detail: String,
}

/// A body: JSON (`body`), other UTF-8 text (`bodyText`), other bytes (`bodyBase64`), or none.
/// A JSON body is kept as a value, so its placeholders stand where the secrets were and the
/// structure can be matched; replayed, it is written out again (same values; key order and
/// spacing may differ from the bytes received).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedBody {
    /// A JSON body.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub body: Option<Value>,
    /// A body that is UTF-8 but not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    /// A body that is not UTF-8, in standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// `"body": null` is a JSON body that says `null`, not an absent one.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl RecordedBody {
    /// How many of the three forms are present (a valid body has at most one).
    pub(crate) fn forms(&self) -> usize {
        usize::from(self.body.is_some())
            + usize::from(self.body_text.is_some())
            + usize::from(self.body_base64.is_some())
    }

    /// A short description for diffs: `a JSON body`, `a text body`, `no body`.
    pub(crate) fn describe(&self) -> &'static str {
        if self.body.is_some() {
            "a JSON body"
        } else if self.body_text.is_some() {
            "a text body"
        } else if self.body_base64.is_some() {
            "a binary body"
        } else {
            "no body"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_line_round_trips() {
        let line = r#"{"exchange":1,"step":"realm.token","request":{"method":"POST","path":"/auth/realm/cap/token","headers":[["Content-Type","application/json"]],"body":{"otp":"<otp>","reqId":"<req_id#1>"}},"response":{"status":201,"body":null},"elapsedMs":3}"#;
        let exchange: Exchange = serde_json::from_str(line).expect("parses");
        assert_eq!(exchange.request.headers[0].0, "Content-Type");
        let Outcome::Response(response) = &exchange.outcome else {
            panic!("a response")
        };
        assert_eq!(
            response.body.body,
            Some(Value::Null),
            "a null body is a body"
        );
        let again = serde_json::to_string(&exchange).expect("writes");
        assert_eq!(
            serde_json::from_str::<Exchange>(&again).expect("parses"),
            exchange
        );
        let error = r#"{"exchange":2,"step":"ciam.revoke","request":{"method":"POST","path":"/x"},"error":{"kind":"timeout","detail":"t"},"elapsedMs":9}"#;
        let exchange: Exchange = serde_json::from_str(error).expect("parses");
        assert!(matches!(exchange.outcome, Outcome::Error(ref e) if e.kind == "timeout"));
        assert_eq!(exchange.request.body.forms(), 0);
    }
}
