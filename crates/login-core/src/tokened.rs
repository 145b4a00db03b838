//! `Tokened`: a logged-in session of either API. Both hold the same data (a [`TokenSet`]), so
//! they are one struct; the marker `A` says which API's refresh and revoke apply, and each
//! API's folder names its own alias (`realm::Tokened`, `ciam::Tokened`).

use std::marker::PhantomData;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::Response;
use crate::pending::{Failed, Step, sealed};
use crate::table::StepId;
use crate::token::TokenSet;

/// What differs between the APIs' `Tokened`: the two API markers implement it (sealed).
pub trait TokenedApi: sealed::Sealed {
    /// The API's refresh step.
    const REFRESH: StepId;
}

/// A session with tokens of the API `A` (see [`crate::realm::Tokened`] and
/// [`crate::ciam::Tokened`]).
#[derive(Serialize)]
pub struct Tokened<A> {
    pub(crate) tokens: TokenSet,
    #[serde(skip)]
    pub(crate) api: PhantomData<fn() -> A>,
}

impl<A> Tokened<A> {
    pub(crate) fn new(tokens: TokenSet) -> Self {
        Self {
            tokens,
            api: PhantomData,
        }
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        self.tokens.check()
    }

    /// The tokens.
    pub fn tokens(&self) -> &TokenSet {
        &self.tokens
    }

    /// Whether the access token expires within `margin` of `now`.
    pub fn needs_refresh(&self, now: SystemTime, margin: Duration) -> bool {
        self.tokens.needs_refresh(now, margin)
    }
}

impl<A> Clone for Tokened<A> {
    fn clone(&self) -> Self {
        Self::new(self.tokens.clone())
    }
}

impl<A> std::fmt::Debug for Tokened<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokened")
            .field("tokens", &self.tokens)
            .finish()
    }
}

/// In flight: refresh, in either API (the answer is a token set in both).
#[derive(Debug)]
pub struct RefreshStep<A> {
    state: Tokened<A>,
}

impl<A> RefreshStep<A> {
    pub(crate) fn new(state: Tokened<A>) -> Self {
        Self { state }
    }
}

impl<A> sealed::Sealed for RefreshStep<A> {}

impl<A: TokenedApi> Step for RefreshStep<A> {
    type Next = Tokened<A>;
    type State = Tokened<A>;
    const ID: StepId = A::REFRESH;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(
        self,
        response: &Response,
        now: SystemTime,
        expiry: crate::readings::ExpiryForm,
    ) -> Result<Tokened<A>, Failed<Tokened<A>>> {
        TokenSet::from_response_with(response, now, expiry)
            .map(Tokened::new)
            .map_err(|e| Failed::keep_unless_final(e, self.state))
    }

    fn into_state(self) -> Tokened<A> {
        self.state
    }
}
