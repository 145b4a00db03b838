//! `--record FILE` and `--replay FILE` (global; `LOGINFLOW_RECORD`, `LOGINFLOW_REPLAY`, or
//! the profile keys `record` and `replay`): every command that calls a server gets its
//! transport here, as a [`Wire`] that goes to the network, records each exchange to a cassette
//! on the way (login-transport's [`Recording`]), or answers from a cassette without dialling
//! anything ([`Replay`]).
//!
//! With `--replay` nothing is dialled and the base URL is never checked or resolved: it may
//! be anything (it is still needed, as the command's other settings are, and is what a session
//! file written by a replayed login says). One process writes or reads one cassette, shared by
//! every transport the command makes (the demo makes two).

use std::path::Path;
use std::sync::Arc;

use login_core::table::Api;
use login_core::{Request, Response, RetryPolicy, TransportError};
use login_transport::cassette::{CassetteInfo, CassetteWriter, Recording, Replay};
use login_transport::{Transport, TransportConfig, UreqTransport};

use crate::error::CliError;
use crate::session::Endpoint;
use crate::settings::{self, Settings};

/// What `--record`/`--replay` asked for, with the cassette open.
#[derive(Debug, Clone, Default)]
pub enum Tape {
    /// Neither: the network, as is.
    #[default]
    Off,
    /// Record every exchange to this cassette.
    Record(CassetteWriter),
    /// Answer every call from this cassette.
    Replay(Arc<Replay>),
}

impl Tape {
    /// Opens the cassette the settings name: creates the one to record (mode 0600), or reads
    /// the one to replay. `api` goes into a new cassette's header.
    pub fn open(
        record: Option<&Path>,
        replay: Option<&Path>,
        api: Option<Api>,
    ) -> Result<Self, CliError> {
        match (record, replay) {
            (Some(_), Some(_)) => Err(CliError::usage(
                "--record and --replay cannot be used together: record against a server, then \
                 replay the cassette",
            )),
            (Some(path), None) => {
                let mut info = CassetteInfo::new()
                    .created_by(concat!("loginflow ", env!("CARGO_PKG_VERSION")));
                if let Some(api) = api {
                    info = info.api(api);
                }
                CassetteWriter::create(path, info)
                    .map(Tape::Record)
                    .map_err(|e| CliError::config(format!("--record: {e}")))
            }
            (None, Some(path)) => Replay::open(path)
                .map(|r| Tape::Replay(Arc::new(r)))
                .map_err(|e| CliError::config(format!("--replay: {e}"))),
            (None, None) => Ok(Tape::Off),
        }
    }

    /// Whether a cassette is in use.
    pub fn is_on(&self) -> bool {
        !matches!(self, Tape::Off)
    }

    /// A transport built elsewhere (the demo's), recorded when recording. A replay has no
    /// network transport: the caller refuses it first.
    pub fn wrap(&self, transport: UreqTransport) -> Wire {
        let base_url = transport.config().base_url();
        let retry = transport.config().retry_policy();
        let kind = match self {
            Tape::Record(cassette) => Kind::Recorded(Recording::new(transport, cassette.clone())),
            Tape::Off | Tape::Replay(_) => Kind::Live(transport),
        };
        Wire {
            kind,
            base_url,
            retry,
        }
    }

    /// After a replay, how many recorded exchanges the run did not use (a run that did less
    /// than the recorded one).
    pub fn unused(&self) -> usize {
        match self {
            Tape::Replay(replay) => replay.remaining(),
            Tape::Off | Tape::Record(_) => 0,
        }
    }
}

/// The transport of a command: the network, recorded or not, or a cassette.
pub struct Wire {
    kind: Kind,
    base_url: String,
    retry: RetryPolicy,
}

enum Kind {
    Live(UreqTransport),
    Recorded(Recording<UreqTransport>),
    Replayed(Arc<Replay>),
}

impl Wire {
    /// The base URL the calls go to (shown in progress lines and errors).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The 429 retry policy of the transport's configuration.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }
}

impl Transport for Wire {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        match &self.kind {
            Kind::Live(t) => t.send(request),
            Kind::Recorded(t) => t.send(request),
            Kind::Replayed(t) => t.send(request),
        }
    }
}

/// The transport for `endpoint` under the settings' `--record`/`--replay`.
pub fn wire(s: &Settings, endpoint: &Endpoint) -> Result<Wire, CliError> {
    match &s.tape {
        Tape::Replay(replay) => Ok(Wire {
            kind: Kind::Replayed(Arc::clone(replay)),
            base_url: endpoint.base_url.clone(),
            // The policy a configuration of this URL would have; the default when the URL is
            // not one (a replay never dials it).
            retry: TransportConfig::new(&endpoint.base_url)
                .map(|c| c.retry_policy())
                .unwrap_or_default(),
        }),
        Tape::Off | Tape::Record(_) => Ok(s.tape.wrap(settings::transport(endpoint)?)),
    }
}
