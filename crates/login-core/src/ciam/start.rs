//! Internet-banking `Start`: a fresh PKCE verifier and `state`, nothing sent yet.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Authorized, CiamConfig};
use crate::entropy::Entropy;
use crate::error::{MalformedReason, malformed, parse_json};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::pkce::{Pkce, S256Challenge, random_verifier_and_state};
use crate::readings::ScopeJson;
use crate::secret::{FlowSecret, PkceVerifier};
use crate::table::StepId;
use crate::{Error, Request, Response};

/// The start of an internet-banking login.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    pub(crate) verifier: PkceVerifier,
    pub(crate) state: String,
}

impl Start {
    /// Draws a PKCE verifier (32 bytes) and a `state` (16 bytes) from `entropy`.
    ///
    /// # Errors
    /// [`LocalError::Entropy`](crate::error::LocalError::Entropy) when the randomness source
    /// fails.
    pub fn new(entropy: &mut dyn Entropy) -> Result<Self, Error> {
        // The challenge is computed where it is sent (authorize), not here as well.
        let (verifier, state) = random_verifier_and_state(entropy)?;
        Ok(Self { verifier, state })
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        crate::flow::check::verifier(&self.verifier)?;
        crate::flow::check::oauth_state(&self.state)
    }

    /// The `state` sent with authorize and access token.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// `POST` authorize with the device token, the PKCE challenge (S256) and `state`.
    pub fn authorize(self, cfg: &CiamConfig) -> (Request, Pending<AuthorizeStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            auth_token: Option<&'a str>,
            client_id: &'a str,
            code_challenge: &'a str,
            code_challenge_method: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            login_verifier: Option<&'a str>,
            scope: ScopeJson<'a>,
            state: &'a str,
        }
        let challenge = S256Challenge::of(self.verifier.expose());
        let request = cfg
            .request(StepId::CiamAuthorize)
            .header(cfg.device_bearer())
            .json(&Body {
                auth_token: cfg.auth_token().map(FlowSecret::expose),
                client_id: cfg.client_id(),
                code_challenge: challenge.as_str(),
                code_challenge_method: Pkce::METHOD,
                login_verifier: cfg.login_verifier_value().map(FlowSecret::expose),
                scope: cfg.scope_json(),
                state: &self.state,
            });
        (
            request,
            Pending::new(AuthorizeStep { state: self }, cfg.receive_readings()),
        )
    }
}

/// In flight: authorize.
#[derive(Debug)]
pub struct AuthorizeStep {
    state: Start,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizeBody {
    login_challenge: Option<FlowSecret>,
    auth_token: Option<FlowSecret>,
    #[serde(default)]
    state: Option<crate::lenient::Text>,
}

impl sealed::Sealed for AuthorizeStep {}

impl Step for AuthorizeStep {
    type Next = Authorized;
    type State = Start;
    const ID: StepId = StepId::CiamAuthorize;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(
        self,
        response: &Response,
        _now: SystemTime,
        _expiry: crate::readings::ExpiryForm,
    ) -> Result<Authorized, Failed<Start>> {
        let body: AuthorizeBody = match parse_json(response) {
            Ok(b) => b,
            Err(e) => return Err(Failed::keep_unless_final(e, self.state)),
        };
        if let Some(echoed) = &body.state
            && echoed.0.as_deref() != Some(self.state.state.as_str())
        {
            return Err(Failed::dead(malformed(
                response,
                MalformedReason::StateMismatch,
            )));
        }
        let (Some(login_challenge), Some(auth_token)) = (
            // The login challenge goes back out as the `checkIdentity` header.
            body.login_challenge
                .filter(|v| crate::wire::is_header_safe(v.expose())),
            body.auth_token.filter(|v| !v.is_empty()),
        ) else {
            return Err(Failed::keep_unless_final(
                malformed(
                    response,
                    MalformedReason::missing("loginChallenge or authToken"),
                ),
                self.state,
            ));
        };
        Ok(Authorized::new(
            login_challenge,
            auth_token,
            self.state.verifier,
            self.state.state,
        ))
    }

    fn into_state(self) -> Start {
        self.state
    }
}
