//! The value a transition returns beside its request: it takes the response and yields the next
//! state, or a [`Failed`] that gives the state back when the flow can still go on from it.

use std::time::SystemTime;

use crate::{Error, Response, TransportError, table::StepId};

pub use crate::readings::SuccessStatus;
use crate::readings::{ExpiryForm, ReceiveReadings};

/// A failed step: the error, and the state the flow can go on from when there is one.
///
/// `state` is `Some` for failures after which the same step (or an earlier one) may be tried
/// again from that state: transport failures, throttling, server faults, a wrong OTP, a wrong
/// captcha. It is `None` when the server said the flow is over (expired, unknown, revoked,
/// locked, forbidden) or when `state` did not match.
pub struct Failed<S> {
    /// What went wrong.
    pub error: Error,
    /// The state to continue from, when one survives.
    pub state: Option<S>,
}

impl<S> Failed<S> {
    /// A failure that keeps `state` unless the error ends the flow.
    pub(crate) fn keep_unless_final(error: Error, state: S) -> Self {
        let state = if error.ends_flow() { None } else { Some(state) };
        Self { error, state }
    }

    /// A failure after which nothing survives.
    pub(crate) fn dead(error: Error) -> Self {
        Self { error, state: None }
    }

    /// Maps the surviving state, e.g. into the [`Flow`](crate::Flow) a service stores.
    ///
    /// ```
    /// use login_core::{Failed, Flow, realm, secret::{ClientSecret, Otp, Password}, Response};
    /// # use std::time::SystemTime;
    /// let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
    /// let (_r, p) = realm::Start::new("bob", Password::new("pw")).request_login(&cfg);
    /// let reply = Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"otp"}"#.to_vec());
    /// let Ok(realm::LoginStarted::MfaPending(m)) = p.receive(&reply, SystemTime::now()) else { panic!() };
    /// let (_r, p) = m.submit_otp(&cfg, Otp::new("000000"));
    /// let wrong = Response::new(401, br#"{"error":"invalid_otp"}"#.to_vec());
    /// let failed: Failed<Flow> = p.receive(&wrong, SystemTime::now()).unwrap_err().map_state(Flow::from);
    /// assert_eq!(failed.state.map(|f| f.state_id()), Some(login_core::table::StateId::MfaPending));
    /// ```
    pub fn map_state<T>(self, f: impl FnOnce(S) -> T) -> Failed<T> {
        Failed {
            error: self.error,
            state: self.state.map(f),
        }
    }
}

impl<S> std::fmt::Debug for Failed<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Failed")
            .field("error", &self.error)
            .field("state_kept", &self.state.is_some())
            .finish()
    }
}

impl<S> std::fmt::Display for Failed<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl<S> std::error::Error for Failed<S> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// One in-flight step: implemented by the engine for each call; not implementable outside.
pub trait Step: sealed::Sealed + Sized {
    /// What a success yields.
    type Next;
    /// The state a failure gives back.
    type State;
    /// Which step this is.
    const ID: StepId;
    /// The status the seed documents for success.
    const DOCUMENTED_STATUS: u16;
    /// Reads a success response; `expiry` says what its expiry numbers count.
    #[doc(hidden)]
    fn on_success(
        self,
        response: &Response,
        now: SystemTime,
        expiry: ExpiryForm,
    ) -> Result<Self::Next, Failed<Self::State>>;
    /// The state a failure gives back (unless the error ends the flow).
    #[doc(hidden)]
    fn into_state(self) -> Self::State;
}

/// Awaits the response to a request description.
///
/// ```
/// use std::time::SystemTime;
/// use login_core::{realm, secret::{ClientSecret, Password}, Response};
///
/// let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
/// let (_request, pending) = realm::Start::new("alice", Password::new("pw")).request_login(&cfg);
/// let reply = Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"none"}"#.to_vec());
/// match pending.receive(&reply, SystemTime::now()) {
///     Ok(realm::LoginStarted::Challenged(c)) => assert_eq!(c.ref_id(), None),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[must_use = "a pending step does nothing until it receives the response"]
pub struct Pending<S: Step> {
    step: S,
    readings: ReceiveReadings,
}

impl<S: Step> Pending<S> {
    pub(crate) fn new(step: S, readings: ReceiveReadings) -> Self {
        Self { step, readings }
    }

    /// Which step awaits its response.
    pub fn step(&self) -> StepId {
        S::ID
    }

    /// Feeds the response back. `now` is the instant the response was received; expiry times
    /// in the response are counted from it.
    ///
    /// # Errors
    /// A [`Failed`] with the server's refusal, a rate limit, a redirect or a malformed answer
    /// (see [`crate::Error`]); it holds the state to go on from unless the error ends the flow.
    pub fn receive(
        self,
        response: &Response,
        now: SystemTime,
    ) -> Result<S::Next, Failed<S::State>> {
        if self
            .readings
            .success
            .accepts(response.status(), S::DOCUMENTED_STATUS)
        {
            self.step.on_success(response, now, self.readings.expiry)
        } else {
            Err(Failed::keep_unless_final(
                Error::from_response(response),
                self.step.into_state(),
            ))
        }
    }

    /// No usable response arrived: the state comes back inside the failure so the caller may
    /// retry. Whether a retry is wise depends on the error (see [`Error::is_safe_to_retry`]).
    pub fn fail(self, error: TransportError) -> Failed<S::State> {
        Failed::keep_unless_final(Error::Transport(error), self.step.into_state())
    }
}

impl<S: Step> std::fmt::Debug for Pending<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("step", &S::ID)
            .finish_non_exhaustive()
    }
}
