//! The probe's transport: sends each request through the real one and keeps what came back
//! (status, headers, body) beside a summary of what went out (method, path, the names of the
//! body fields and headers: never a value), for the comparison with the contract.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use login_core::table::StepId;
use login_core::{ErrorKind, Profile, Request, Response, TransportError};
use login_transport::{Transport, UreqTransport};
use serde::de::IgnoredAny;

/// What a probe expects a call to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The contract's success row of the step.
    Success,
    /// A refusal: one of these statuses, with one of these error codes, which login-core
    /// classifies as one of `kinds`.
    Refusal {
        /// The statuses the contract gives for what was sent.
        statuses: &'static [u16],
        /// The error codes.
        codes: &'static [&'static str],
        /// The kinds login-core should classify the answer as.
        kinds: &'static [ErrorKind],
    },
}

/// One call and its answer.
#[derive(Debug)]
pub struct Exchange {
    /// Which probe sent it (`login`, `wrong password`, `empty body`, ...).
    pub probe: &'static str,
    /// The contract row it is measured against.
    pub step: StepId,
    /// `GET`, `POST`, `PATCH`.
    pub method: &'static str,
    /// The path (relative to the base URL).
    pub path: String,
    /// The names of the body's top-level fields.
    pub fields: Vec<String>,
    /// The names of the headers sent.
    pub headers: Vec<String>,
    /// The answer, or why none came.
    pub reply: Result<Response, TransportError>,
    /// What the probe expected.
    pub expect: Expect,
    /// The profile in force when it went out.
    pub profile: Profile,
    /// The kind login-core stopped the run with at this call, when it did.
    pub engine_error: Option<ErrorKind>,
}

/// The recording transport. The probe labels each run before it starts.
pub struct Capture<'t> {
    inner: &'t UreqTransport,
    probe: Cell<&'static str>,
    /// The step whose answer is expected to be a refusal in this run, and how.
    refusal_at: Cell<Option<(StepId, Expect)>>,
    profile: RefCell<Option<Profile>>,
    log: RefCell<Vec<Exchange>>,
}

impl<'t> Capture<'t> {
    /// Wraps `inner`.
    pub fn new(inner: &'t UreqTransport) -> Self {
        Self {
            inner,
            probe: Cell::new(""),
            refusal_at: Cell::new(None),
            profile: RefCell::new(None),
            log: RefCell::new(Vec::new()),
        }
    }

    /// Labels the calls that follow with `probe` and the `profile` they go out under; the call
    /// of the step in `refusal` is expected to be refused that way, every other call to
    /// succeed.
    pub fn label(&self, probe: &'static str, profile: &Profile, refusal: Option<(StepId, Expect)>) {
        self.probe.set(probe);
        self.refusal_at.set(refusal);
        *self.profile.borrow_mut() = Some(profile.clone());
    }

    /// How many calls went out so far.
    pub fn count(&self) -> usize {
        self.log.borrow().len()
    }

    /// Marks the last call (when there was one after call number `from`) as the one the run
    /// stopped at with `kind`.
    pub fn stopped_at_last(&self, from: usize, kind: ErrorKind) {
        let mut log = self.log.borrow_mut();
        if log.len() > from
            && let Some(last) = log.last_mut()
        {
            last.engine_error = Some(kind);
        }
    }

    /// The answer of call number `index`.
    pub fn reply(&self, index: usize) -> Option<Result<Response, TransportError>> {
        self.log.borrow().get(index).map(|e| e.reply.clone())
    }

    /// The step of call number `index`.
    pub fn step(&self, index: usize) -> StepId {
        self.log
            .borrow()
            .get(index)
            .map_or(StepId::RealmRevoke, |e| e.step)
    }

    /// Every call, in order.
    pub fn into_log(self) -> Vec<Exchange> {
        self.log.into_inner()
    }
}

impl Transport for Capture<'_> {
    fn send(&self, request: &Request) -> Result<Response, TransportError> {
        let reply = self.inner.send(request);
        let step = request.step();
        let expect = match self.refusal_at.get() {
            Some((at, expect)) if at == step => expect,
            _ => Expect::Success,
        };
        // Field names only: the values (a password, a code) are skipped unread.
        let fields = request
            .body()
            .and_then(|b| serde_json::from_slice::<BTreeMap<String, IgnoredAny>>(b).ok())
            .map(|m| m.into_keys().collect())
            .unwrap_or_default();
        let profile = self.profile.borrow().clone();
        let Some(profile) = profile else {
            return reply;
        };
        self.log.borrow_mut().push(Exchange {
            probe: self.probe.get(),
            step,
            method: request.method().as_str(),
            path: request.path().to_owned(),
            fields,
            headers: request
                .headers()
                .iter()
                .map(|h| h.name().to_owned())
                .collect(),
            reply: reply.clone(),
            expect,
            profile,
            engine_error: None,
        });
        reply
    }
}
