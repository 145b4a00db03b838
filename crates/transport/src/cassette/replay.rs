//! [`Replay`]: a transport that answers from a cassette, with no network.

use std::io::BufRead;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use login_core::{Request, Response, TransportError, TransportErrorKind};
use serde_json::Value;

use super::CassetteError;
use super::diff::ReplayError;
use super::format::{CassetteHeader, Exchange, Outcome, RecordedResponse, VERSION};
use super::matcher::{Bindings, compare, wipe};
use super::placeholder::has_holes;
use super::record::step_name;
use crate::{AsyncTransport, Transport};

/// The largest cassette read, in bytes: a cassette is a few kilobytes per exchange.
const MAX_CASSETTE_BYTES: u64 = 64 * 1024 * 1024;

/// Where a replay stands: the next exchange, and what this run gave each placeholder.
struct Position {
    next: usize,
    bindings: Bindings,
}

/// A transport that answers every request from a cassette, in order, and never touches the
/// network. Each request must match the next recorded one (method, path, headers, body
/// structure; a placeholder matches any value of its type, a numbered one the value this run
/// gave it); a request that does not fails with a [`TransportError`] of kind
/// [`TransportErrorKind::Cassette`] whose detail is a readable diff, secrets redacted.
///
/// What the engine draws fresh on every run (the PKCE pair, `state`, the envelope) matches
/// whatever this run sends, and a replayed response that echoed it carries the value this run
/// sent. Tokens and other secrets the server issued come back as synthetic values
/// (`replayed-access-token-1`), the same wherever the cassette had the same placeholder, so a
/// later request that sends one back matches.
///
/// ```
/// use login_transport::cassette::{Replay, ReplayError};
/// use login_transport::Transport;
///
/// let cassette = concat!(
///     r#"{"cassette":1,"api":"realm","createdBy":"doc"}"#, "\n",
///     r#"{"exchange":1,"step":"realm.request_login","request":{"method":"POST","path":"/auth/realm/cap/request","#,
///     r#""headers":[["Content-Type","application/json"]],"body":{"clientId":"cap-mobile","clientSecret":"<client_secret>","#,
///     r#""password":"<password>","username":"alice"}},"response":{"status":201,"body":{"exp":300,"mfa":"none","reqId":"<req_id#1>"}},"elapsedMs":4}"#,
/// );
/// let replay = Replay::from_reader(cassette.as_bytes(), "doc")?;
/// let cfg = login_core::realm::RealmConfig::new(
///     "cap", "cap-mobile", login_core::secret::ClientSecret::new("any secret"));
/// let (request, _) = login_core::realm::Start::new("alice", login_core::secret::Password::new("any password"))
///     .request_login(&cfg);
/// let response = replay.send(&request).unwrap();
/// assert_eq!(response.status(), 201);
/// assert!(std::str::from_utf8(response.body()).unwrap().contains("replayed-req-id-1"));
///
/// // The cassette holds one exchange: a second request has nothing to match.
/// let (other, _) = login_core::realm::Start::new("bob", login_core::secret::Password::new("pw"))
///     .request_login(&cfg);
/// let error = replay.send(&other).unwrap_err();
/// assert!(error.detail.contains("holds 1 exchanges"), "{}", error.detail);
///
/// // Replayed afresh, bob is not the recorded user: the typed diff names the field.
/// let replay = Replay::from_reader(cassette.as_bytes(), "doc")?;
/// let Err(ReplayError::Mismatch { differences, .. }) = replay.answer(&other) else {
///     unreachable!("bob is not alice")
/// };
/// assert_eq!(differences[0].at, "body.username");
/// assert_eq!(differences[0].expected, "\"alice\"");
/// # Ok::<(), login_transport::cassette::CassetteError>(())
/// ```
pub struct Replay {
    header: CassetteHeader,
    exchanges: Vec<Exchange>,
    position: Mutex<Position>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("header", &self.header)
            .field("exchanges", &self.exchanges.len())
            .field("remaining", &self.remaining())
            .finish()
    }
}

impl Replay {
    /// Reads the cassette file `path`.
    ///
    /// # Errors
    /// [`CassetteError`]: the file cannot be read, or is not a cassette this build reads.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CassetteError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| CassetteError::Io {
            action: "open",
            path: path.display().to_string(),
            source,
        })?;
        Self::from_reader(std::io::BufReader::new(file), &path.display().to_string())
    }

    /// Reads a cassette from `reader`; `source` names it in errors.
    ///
    /// # Errors
    /// [`CassetteError`]: unreadable, empty, another version, a line that is not a cassette
    /// line (with its number), or larger than 64 MiB.
    pub fn from_reader(reader: impl BufRead, source: &str) -> Result<Self, CassetteError> {
        let mut lines = reader.take(MAX_CASSETTE_BYTES + 1).lines();
        let io = |e| CassetteError::Io {
            action: "read",
            path: source.to_owned(),
            source: e,
        };
        let mut total = 0u64;
        let mut next_line = |total: &mut u64| -> Option<Result<String, CassetteError>> {
            let line = lines.next()?;
            Some(line.map_err(io).and_then(|l| {
                *total += l.len() as u64 + 1;
                if *total > MAX_CASSETTE_BYTES {
                    Err(CassetteError::TooLarge)
                } else {
                    Ok(l)
                }
            }))
        };
        let first = next_line(&mut total).ok_or(CassetteError::Empty)??;
        let header: CassetteHeader = match serde_json::from_str::<Value>(&first) {
            Ok(v) => match v.get("cassette").and_then(Value::as_u64) {
                Some(found) if found != u64::from(VERSION) => {
                    return Err(CassetteError::Version { found });
                }
                Some(_) => serde_json::from_value(v).map_err(|e| CassetteError::Line {
                    line: 1,
                    reason: e.to_string(),
                })?,
                None => {
                    return Err(CassetteError::Line {
                        line: 1,
                        reason: "the first line is not a cassette header (no \"cassette\" version)"
                            .to_owned(),
                    });
                }
            },
            Err(e) => {
                return Err(CassetteError::Line {
                    line: 1,
                    reason: e.to_string(),
                });
            }
        };
        let mut exchanges = Vec::new();
        let mut number = 1;
        while let Some(line) = next_line(&mut total) {
            let line = line?;
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            let exchange: Exchange =
                serde_json::from_str(&line).map_err(|e| CassetteError::Line {
                    line: number,
                    reason: if e.is_eof() {
                        "the line is cut short (was the recording interrupted?)".to_owned()
                    } else {
                        e.to_string()
                    },
                })?;
            let bodies = [
                &exchange.request.body,
                match &exchange.outcome {
                    Outcome::Response(r) => &r.body,
                    Outcome::Error(_) => &exchange.request.body,
                },
            ];
            if bodies.iter().any(|b| b.forms() > 1) {
                return Err(CassetteError::Line {
                    line: number,
                    reason: "a body is given in more than one form".to_owned(),
                });
            }
            if bodies.iter().any(|b| {
                b.body_base64
                    .as_ref()
                    .is_some_and(|e| STANDARD.decode(e).is_err())
            }) {
                return Err(CassetteError::Line {
                    line: number,
                    reason: "bodyBase64 is not standard base64".to_owned(),
                });
            }
            exchanges.push(exchange);
        }
        Ok(Self {
            header,
            exchanges,
            position: Mutex::new(Position {
                next: 0,
                bindings: Bindings::default(),
            }),
        })
    }

    /// The cassette's header.
    pub fn header(&self) -> &CassetteHeader {
        &self.header
    }

    /// Every recorded exchange, in order.
    pub fn exchanges(&self) -> &[Exchange] {
        &self.exchanges
    }

    /// How many recorded exchanges have not been replayed yet. A run that ends with some
    /// left did less than the recorded one.
    pub fn remaining(&self) -> usize {
        let position = self.position.lock().unwrap_or_else(PoisonError::into_inner);
        self.exchanges.len().saturating_sub(position.next)
    }

    /// The answer to `request`: the next recorded exchange's outcome (a response, or the
    /// transport error recorded), when the request matches it. [`Transport::send`] and
    /// [`AsyncTransport::send`] give the same, a mismatch turned into a [`TransportError`] of
    /// kind [`TransportErrorKind::Cassette`] with the diff as its detail.
    ///
    /// # Errors
    /// [`ReplayError::Mismatch`], each differing field named; [`ReplayError::PastTheEnd`].
    /// Neither advances the replay.
    pub fn answer(
        &self,
        request: &Request,
    ) -> Result<Result<Response, TransportError>, ReplayError> {
        let mut position = self.position.lock().unwrap_or_else(PoisonError::into_inner);
        let position = &mut *position;
        let Some(exchange) = self.exchanges.get(position.next) else {
            let path = position.bindings.scrub(request.path());
            return Err(ReplayError::PastTheEnd {
                recorded: self.exchanges.len(),
                request: format!("{} {} {path}", step_name(request.step()), request.method()),
            });
        };
        let bindings = match compare(&exchange.request, request, &position.bindings) {
            Ok(bindings) => bindings,
            Err(differences) => {
                return Err(ReplayError::Mismatch {
                    exchange: position.next + 1,
                    of: self.exchanges.len(),
                    step: format!(
                        "{} {} {}",
                        exchange.step, exchange.request.method, exchange.request.path
                    ),
                    differences,
                });
            }
        };
        position.bindings = bindings;
        position.next += 1;
        Ok(match &exchange.outcome {
            Outcome::Response(recorded) => Ok(respond(recorded, &mut position.bindings)),
            Outcome::Error(e) => Err(TransportError::new(
                TransportErrorKind::from_name(&e.kind),
                position.bindings.fill(&e.detail),
            )),
        })
    }

    /// [`Self::answer`] with a mismatch as a transport error.
    fn send_replayed(&self, request: &Request) -> Result<Response, TransportError> {
        self.answer(request)
            .unwrap_or_else(|e| Err(cassette_error(&e)))
    }
}

fn cassette_error(e: &ReplayError) -> TransportError {
    TransportError::new(TransportErrorKind::Cassette, e.to_string())
}

/// Headers that describe the bytes on the wire, not the response: the replayed body is
/// written anew, so they would not hold.
const FRAMING_HEADERS: [&str; 3] = ["content-length", "transfer-encoding", "connection"];

/// The recorded response with this run's values (and synthetic ones) in its placeholders.
fn respond(recorded: &RecordedResponse, bindings: &mut Bindings) -> Response {
    let body = &recorded.body;
    let bytes = if let Some(value) = &body.body {
        let mut value = value.clone();
        fill_json(&mut value, bindings);
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        wipe(&mut value);
        bytes
    } else if let Some(text) = &body.body_text {
        bindings.fill(text).into_bytes()
    } else if let Some(encoded) = &body.body_base64 {
        // Checked when the cassette was read.
        STANDARD.decode(encoded).unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut response = Response::new(recorded.status, bytes);
    for (name, value) in &recorded.headers {
        if FRAMING_HEADERS.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            continue;
        }
        response = response.with_header(name.as_str(), bindings.fill(value));
    }
    response
}

fn fill_json(value: &mut Value, bindings: &mut Bindings) {
    match value {
        Value::String(s) if has_holes(s) => *s = bindings.fill(s),
        Value::Array(items) => items.iter_mut().for_each(|v| fill_json(v, bindings)),
        Value::Object(map) => map.values_mut().for_each(|v| fill_json(v, bindings)),
        _ => {}
    }
}

impl Transport for Replay {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        self.send_replayed(request)
    }
}

impl AsyncTransport for Replay {
    async fn send(&self, request: &Request) -> Result<Response, TransportError> {
        self.send_replayed(request)
    }
}
