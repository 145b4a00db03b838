//! Internet-banking `CaptchaShown`: a captcha was fetched for the next login challenge; the
//! challenge that follows must carry its answer.

use std::time::SystemTime;

use serde::Serialize;

use super::authorized::{Captcha, CaptchaStep, Credentials, LoginChallengeStep, Sealing};
use super::{Authorized, CiamConfig, CiamProfile};
use crate::Request;
use crate::entropy::Entropy;
use crate::flow::check;
use crate::pending::{Failed, Pending};
use crate::seal::CredentialSealer;
use crate::secret::CaptchaAnswer;

/// `Authorized` with a captcha on screen. Its login challenge takes the answer, so a challenge
/// without one cannot be sent from here; any answer, right or wrong, uses the captcha up.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptchaShown {
    pub(crate) authorized: Authorized,
    pub(crate) captcha: Captcha,
}

impl CaptchaShown {
    pub(crate) fn new(authorized: Authorized, captcha: Captcha) -> Self {
        Self {
            authorized,
            captcha,
        }
    }

    pub(crate) fn check(&self) -> check::Result {
        self.authorized.check()?;
        check::non_empty(self.captcha.id(), "captchaId is empty")
    }

    /// The captcha to show the user.
    pub fn captcha(&self) -> &Captcha {
        &self.captcha
    }

    /// Fetches another captcha in place of this one (the user could not read it).
    pub fn fetch_captcha(self, cfg: &CiamProfile) -> (Request, Pending<CaptchaStep>) {
        self.authorized.fetch_captcha(cfg)
    }

    /// Seals the credentials with the captcha's id and `answer` and `POST`s the login
    /// challenge. Whatever the outcome, the captcha is used up: a refusal (and a sealing
    /// failure) gives `Authorized` back.
    ///
    /// # Errors
    /// A [`Failed`] holding `Authorized` (the captcha is used up) when sealing fails; nothing
    /// was sent.
    pub fn submit(
        self,
        cfg: &CiamConfig,
        sealer: &dyn CredentialSealer,
        credentials: &Credentials,
        answer: &CaptchaAnswer,
        entropy: &mut dyn Entropy,
        now: SystemTime,
    ) -> Result<(Request, Pending<LoginChallengeStep>), Failed<Authorized>> {
        let sealing = Sealing {
            cfg,
            sealer,
            credentials,
            captcha: Some((&self.captcha, answer)),
            entropy,
            now,
        };
        sealing.login_challenge(self.authorized)
    }
}
