//! Recording: [`CassetteWriter`] appends one line per exchange; [`Recording`] wraps any
//! transport and hands each exchange to it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use login_core::table::Api;
use login_core::{Request, Response, TransportError, TransportErrorKind};

use super::CassetteError;
use super::format::{CassetteHeader, Exchange, Outcome, VERSION};
use super::redact::Redactor;
use crate::{AsyncTransport, Transport};

/// What a new cassette's header says.
///
/// ```
/// use login_core::table::Api;
/// use login_transport::cassette::CassetteInfo;
/// let info = CassetteInfo::new().api(Api::Ciam).created_by("my-service 2.1");
/// # let _ = info;
/// ```
#[derive(Debug, Clone)]
pub struct CassetteInfo {
    api: Option<Api>,
    created_by: String,
}

impl Default for CassetteInfo {
    fn default() -> Self {
        Self::new()
    }
}

impl CassetteInfo {
    /// No API, created by this crate.
    pub fn new() -> Self {
        Self {
            api: None,
            created_by: concat!("login-transport ", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// The API the exchanges belong to.
    pub fn api(mut self, api: Api) -> Self {
        self.api = Some(api);
        self
    }

    /// The program that records (`loginflow 0.1.0`).
    pub fn created_by(mut self, who: impl Into<String>) -> Self {
        self.created_by = who.into();
        self
    }

    fn header(&self) -> CassetteHeader {
        CassetteHeader {
            cassette: VERSION,
            api: self.api.map(|a| a.as_str().to_owned()),
            created_by: self.created_by.clone(),
        }
    }
}

/// The open cassette: where lines go, and the placeholders handed out so far.
struct Tape {
    out: Box<dyn Write + Send>,
    redactor: Redactor,
    written: u64,
}

/// A cassette being written: cheap to clone (every clone appends to the same file, so one
/// cassette can take the exchanges of several transports, say a realm and an internet-banking
/// one). Each exchange is one line, written with one `write` and flushed before the call
/// returns; the file is append-only, so a crash leaves whole lines (and at worst a cut last
/// line, which [`Replay`](super::Replay) reports by its number).
///
/// ```no_run
/// use login_transport::cassette::{CassetteInfo, CassetteWriter, Recording};
/// use login_transport::{TransportConfig, UreqTransport};
///
/// let cassette = CassetteWriter::create("login.cassette.jsonl", CassetteInfo::new())?;
/// let transport = UreqTransport::new(TransportConfig::new("https://bank.example/api")?)?;
/// let recording = Recording::new(transport, cassette);
/// // Drive flows through `recording` as through any transport.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CassetteWriter {
    tape: Arc<Mutex<Tape>>,
    path: Option<Arc<PathBuf>>,
}

impl std::fmt::Debug for CassetteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CassetteWriter")
            .field("path", &self.path)
            .field("exchanges", &self.exchanges())
            .finish()
    }
}

impl CassetteWriter {
    /// Creates (or truncates) the file `path`, readable by its owner only (mode 0600 on
    /// Unix, also when the file existed with wider permissions), and writes the header line.
    ///
    /// # Errors
    /// [`CassetteError::Io`] when the file cannot be created or written.
    pub fn create(path: impl AsRef<Path>, info: CassetteInfo) -> Result<Self, CassetteError> {
        let path = path.as_ref();
        let io = |action, source| CassetteError::Io {
            action,
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(|e| io("create", e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io("restrict", e))?;
        }
        // Truncated only once the permissions are right: nothing is ever written to a file
        // others can read.
        file.set_len(0).map_err(|e| io("truncate", e))?;
        let mut writer = Self::from_writer(file, info)?;
        writer.path = Some(Arc::new(path.to_path_buf()));
        Ok(writer)
    }

    /// A cassette written to `out` (anything: a buffer, a pipe), starting with the header line.
    ///
    /// # Errors
    /// [`CassetteError::Io`] when the header line cannot be written.
    pub fn from_writer(
        out: impl Write + Send + 'static,
        info: CassetteInfo,
    ) -> Result<Self, CassetteError> {
        let mut tape = Tape {
            out: Box::new(out),
            redactor: Redactor::default(),
            written: 0,
        };
        let mut line = serde_json::to_vec(&info.header()).map_err(CassetteError::Encode)?;
        line.push(b'\n');
        write_line(&mut *tape.out, &line).map_err(|source| CassetteError::Io {
            action: "write",
            path: "the cassette".to_owned(),
            source,
        })?;
        Ok(Self {
            tape: Arc::new(Mutex::new(tape)),
            path: None,
        })
    }

    /// How many exchanges were written.
    pub fn exchanges(&self) -> u64 {
        self.tape
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .written
    }

    /// The file written, when it is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref().map(PathBuf::as_path)
    }

    /// Writes one exchange: the request, its outcome and how long it took, every secret
    /// replaced by its placeholder.
    ///
    /// # Errors
    /// A [`TransportError`] of kind [`TransportErrorKind::Cassette`] when the line cannot be
    /// written: the call was made, but a record that silently misses it would mislead.
    pub fn append(
        &self,
        request: &Request,
        outcome: Result<&Response, &TransportError>,
        elapsed: Duration,
    ) -> Result<(), TransportError> {
        let mut tape = self.tape.lock().unwrap_or_else(PoisonError::into_inner);
        let tape = &mut *tape;
        let step = request.step();
        let recorded_request = tape.redactor.request(request);
        let outcome = match outcome {
            Ok(response) => Outcome::Response(tape.redactor.response(step, response)),
            Err(error) => Outcome::Error(tape.redactor.error(error)),
        };
        let exchange = Exchange {
            exchange: tape.written + 1,
            step: step_name(step),
            request: recorded_request,
            outcome,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        let failed = |e: &dyn std::fmt::Display| {
            let file = self
                .path()
                .map_or_else(|| "the cassette".to_owned(), |p| p.display().to_string());
            TransportError::new(
                TransportErrorKind::Cassette,
                format!(
                    "the call was made, but its record could not be written to {file} ({e}); \
                     the run stops rather than leave an incomplete cassette"
                ),
            )
        };
        let mut line = serde_json::to_vec(&exchange).map_err(|e| failed(&e))?;
        line.push(b'\n');
        write_line(&mut *tape.out, &line).map_err(|e| failed(&e))?;
        tape.written += 1;
        Ok(())
    }
}

/// One `write_all` of a whole line, then a flush: appenders never interleave inside a line.
fn write_line(out: &mut dyn Write, line: &[u8]) -> std::io::Result<()> {
    out.write_all(line)?;
    out.flush()
}

/// `api.step`, as the cassette names a step.
pub(crate) fn step_name(step: login_core::table::StepId) -> String {
    format!("{}.{}", step.api().as_str(), step.as_str())
}

/// A transport that records every exchange of the transport it wraps to a cassette; a
/// [`Transport`] when `T` is one, an [`AsyncTransport`] when `T` is one. The response (or
/// error) is returned unchanged.
///
/// ```
/// use login_core::{Request, Response, TransportError};
/// use login_transport::cassette::{CassetteInfo, CassetteWriter, Recording};
/// use login_transport::Transport;
///
/// /// Answers 503 to everything: a stand-in for a real client.
/// struct Busy;
/// impl Transport for Busy {
///     fn send(&self, _: &Request) -> Result<Response, TransportError> {
///         Ok(Response::new(503, b"{\"error\":\"busy\"}".to_vec()))
///     }
/// }
///
/// let cassette = CassetteWriter::from_writer(std::io::sink(), CassetteInfo::new())?;
/// let recording = Recording::new(Busy, cassette.clone());
/// let cfg = login_core::realm::RealmConfig::new(
///     "cap", "cap-mobile", login_core::secret::ClientSecret::new("from-env"));
/// let (request, _) = login_core::realm::Start::new("alice", login_core::secret::Password::new("pw"))
///     .request_login(&cfg);
/// assert_eq!(recording.send(&request).unwrap().status(), 503);
/// assert_eq!(cassette.exchanges(), 1);
/// # Ok::<(), login_transport::cassette::CassetteError>(())
/// ```
pub struct Recording<T> {
    inner: T,
    cassette: CassetteWriter,
}

impl<T> std::fmt::Debug for Recording<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("cassette", &self.cassette)
            .finish_non_exhaustive()
    }
}

impl<T> Recording<T> {
    /// Records `inner`'s exchanges to `cassette`.
    pub fn new(inner: T, cassette: CassetteWriter) -> Self {
        Self { inner, cassette }
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The cassette written to.
    pub fn cassette(&self) -> &CassetteWriter {
        &self.cassette
    }

    /// The wrapped transport, unwrapped.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport> Transport for Recording<T> {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let started = Instant::now();
        let outcome = self.inner.send(request);
        self.cassette
            .append(request, outcome.as_ref(), started.elapsed())?;
        outcome
    }
}

impl<T: AsyncTransport> AsyncTransport for Recording<T> {
    async fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let started = Instant::now();
        let outcome = self.inner.send(request).await;
        // The cassette's lock is taken here, after the await, and released before returning:
        // it is never held across a suspension point.
        self.cassette
            .append(request, outcome.as_ref(), started.elapsed())?;
        outcome
    }
}
