//! Internet-banking `Challenged`: the user is verified; the code is exchanged for tokens.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{CiamProfile, Tokened, bearer};
use crate::error::{MalformedReason, malformed, parse_json};
use crate::pending::{Failed, Pending, Step, sealed};
use crate::readings::ScopeJson;
use crate::secret::{FlowSecret, PkceVerifier};
use crate::table::StepId;
use crate::token::TokenSet;
use crate::{Error, Request, Response};

/// `{code, token}` from the login challenge or pre-login verify.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenged {
    pub(crate) code: FlowSecret,
    pub(crate) token: FlowSecret,
    pub(crate) verifier: PkceVerifier,
    pub(crate) state: String,
}

#[derive(Deserialize)]
struct CodeTokenBody {
    #[serde(default)]
    code: Option<FlowSecret>,
    #[serde(default)]
    token: Option<FlowSecret>,
}

pub(super) fn parse_code_token(response: &Response) -> Result<(FlowSecret, FlowSecret), Error> {
    let body: CodeTokenBody = parse_json(response)?;
    match (
        body.code.filter(|c| !c.is_empty()),
        body.token
            .filter(|t| crate::wire::is_header_safe(t.expose())),
    ) {
        (Some(code), Some(token)) => Ok((code, token)),
        _ => Err(malformed(
            response,
            MalformedReason::missing("code or a header-safe token"),
        )),
    }
}

impl Challenged {
    pub(crate) fn new(
        code: FlowSecret,
        token: FlowSecret,
        verifier: PkceVerifier,
        state: String,
    ) -> Self {
        Self {
            code,
            token,
            verifier,
            state,
        }
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        use crate::flow::check;
        check::non_empty(self.code.expose(), "code is empty")?;
        check::header_safe(self.token.expose(), "token is not header-safe")?;
        check::verifier(&self.verifier)?;
        check::oauth_state(&self.state)
    }

    /// `POST` access token with `Bearer <token>`, the code, the PKCE verifier, and the same
    /// `state` and `scope` as authorize.
    pub fn exchange(self, cfg: &CiamProfile) -> (Request, Pending<AccessTokenStep>) {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            client_id: &'a str,
            code: &'a str,
            code_verifier: &'a str,
            grant_type: &'a str,
            redirect_uri: &'a str,
            scope: ScopeJson<'a>,
            state: &'a str,
        }
        let request = cfg
            .request(StepId::CiamAccessToken)
            .header(bearer(self.token.expose()))
            .json(&Body {
                client_id: cfg.client_id(),
                code: self.code.expose(),
                code_verifier: self.verifier.expose(),
                grant_type: "authorization_code",
                redirect_uri: cfg.redirect_uri(),
                scope: cfg.scope_json(),
                state: &self.state,
            });
        (
            request,
            Pending::new(AccessTokenStep { state: self }, cfg.receive_readings()),
        )
    }
}

/// In flight: access token.
#[derive(Debug)]
pub struct AccessTokenStep {
    state: Challenged,
}

impl sealed::Sealed for AccessTokenStep {}

impl Step for AccessTokenStep {
    type Next = Tokened;
    type State = Challenged;
    const ID: StepId = StepId::CiamAccessToken;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(
        self,
        response: &Response,
        now: SystemTime,
        expiry: crate::readings::ExpiryForm,
    ) -> Result<Tokened, Failed<Challenged>> {
        match TokenSet::from_response_checking_state(response, now, expiry, Some(&self.state.state))
        {
            Ok(tokens) => Ok(Tokened::new(tokens)),
            Err(e) => Err(Failed::keep_unless_final(e, self.state)),
        }
    }

    fn into_state(self) -> Challenged {
        self.state
    }
}
