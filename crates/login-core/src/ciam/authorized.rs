//! Internet-banking `Authorized`: the server issued a login challenge; credentials (and a
//! captcha, when asked) come next.

use std::time::SystemTime;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{Challenged, CiamConfig, MfaPending, mfa_pending::Channel};
use crate::entropy::Entropy;
use crate::error::{ConfigError, MalformedReason, SealError, malformed, parse_json};
use crate::lenient::Text;
use crate::pending::{Failed, Pending, Step, sealed};
use crate::request::Header;
use crate::seal::CredentialSealer;
use crate::secret::{CaptchaAnswer, FlowSecret, Password, PkceVerifier};
use crate::table::StepId;
use crate::{Error, Request, Response};

/// A fetched captcha: its id and the PNG to show the user. The image is not kept in snapshots.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Captcha {
    id: String,
    #[serde(skip)]
    image_png: Vec<u8>,
}

impl Captcha {
    /// The `captchaId`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The PNG bytes (decoded from base64). Empty after a snapshot round trip.
    pub fn image_png(&self) -> &[u8] {
        &self.image_png
    }
}

impl std::fmt::Debug for Captcha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captcha")
            .field("id", &self.id)
            .field("image_bytes", &self.image_png.len())
            .finish()
    }
}

/// The user's credentials for the login challenge.
#[derive(Clone, Debug)]
pub struct Credentials {
    username: String,
    password: Password,
    captcha_answer: Option<CaptchaAnswer>,
}

impl Credentials {
    /// User name and password.
    pub fn new(username: impl Into<String>, password: Password) -> Self {
        Self {
            username: username.into(),
            password,
            captcha_answer: None,
        }
    }

    /// Adds the answer to the fetched captcha.
    pub fn with_captcha_answer(mut self, answer: CaptchaAnswer) -> Self {
        self.captcha_answer = Some(answer);
        self
    }

    /// Sets or clears the captcha answer.
    pub fn set_captcha_answer(&mut self, answer: Option<CaptchaAnswer>) {
        self.captcha_answer = answer;
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }
}

/// Authorize succeeded.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorized {
    login_challenge: FlowSecret,
    auth_token: FlowSecret,
    verifier: PkceVerifier,
    state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    captcha: Option<Captcha>,
}

impl Authorized {
    pub(crate) fn new(
        login_challenge: FlowSecret,
        auth_token: FlowSecret,
        verifier: PkceVerifier,
        state: String,
    ) -> Self {
        Self {
            login_challenge,
            auth_token,
            verifier,
            state,
            captcha: None,
        }
    }

    pub(crate) fn check(&self) -> crate::flow::check::Result {
        use crate::flow::check;
        check::header_safe(
            self.login_challenge.expose(),
            "loginChallenge is not header-safe",
        )?;
        check::non_empty(self.auth_token.expose(), "authToken is empty")?;
        check::verifier(&self.verifier)?;
        check::oauth_state(&self.state)
    }

    /// The captcha fetched for the next login challenge, if any.
    pub fn captcha(&self) -> Option<&Captcha> {
        self.captcha.as_ref()
    }

    /// `GET` captcha with `checkIdentity: <loginChallenge>`. A new captcha replaces any earlier
    /// one. Safe to repeat.
    pub fn fetch_captcha(self, cfg: &CiamConfig) -> (Request, Pending<CaptchaStep>) {
        let request = cfg.request(StepId::CiamCaptcha).header(Header::sensitive(
            "checkIdentity",
            self.login_challenge.expose(),
        ));
        (
            request,
            Pending::new(CaptchaStep { state: self }, cfg.success()),
        )
    }

    /// Seals the credentials to the server's key and `POST`s the login challenge. Sealing
    /// failures (and a fetched captcha with no answer) give this state back at once.
    pub fn submit_credentials(
        self,
        cfg: &CiamConfig,
        sealer: &dyn CredentialSealer,
        credentials: &Credentials,
        entropy: &mut dyn Entropy,
        now: SystemTime,
    ) -> Result<(Request, Pending<LoginChallengeStep>), Failed<Authorized>> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Plaintext<'a> {
            auth_token: &'a str,
            username: &'a str,
            password: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            captcha_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            captcha_answer: Option<&'a str>,
            iat: u64,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            additional_authentication: Option<&'a str>,
            auth_token: &'a str,
            login_challenge: &'a str,
        }
        let answer = credentials
            .captcha_answer
            .as_ref()
            .map(CaptchaAnswer::expose);
        if self.captcha.is_some() && answer.is_none() {
            return Err(Failed {
                error: ConfigError::CaptchaAnswerMissing.into(),
                state: Some(self),
            });
        }
        let iat = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let plaintext = Plaintext {
            auth_token: self.auth_token.expose(),
            username: &credentials.username,
            password: credentials.password.expose(),
            captcha_id: self.captcha.as_ref().map(|c| c.id.as_str()),
            captcha_answer: self.captcha.as_ref().and(answer),
            iat,
        };
        // Zeroed on drop like a request body (only the bytes written: nothing else was).
        let buf = match crate::request::json_body(&plaintext) {
            Ok(buf) => buf,
            Err(_) => {
                return Err(Failed {
                    error: SealError::Encode.into(),
                    state: Some(self),
                });
            }
        };
        let envelope = match sealer.seal(buf.bytes(), entropy) {
            Ok(jwe) => jwe,
            Err(error) => {
                return Err(Failed {
                    error,
                    state: Some(self),
                });
            }
        };
        let request = cfg
            .request(StepId::CiamLoginChallenge)
            .header(cfg.device_bearer())
            .json(&Body {
                additional_authentication: cfg.additional_authentication_value(),
                auth_token: envelope.expose(),
                login_challenge: self.login_challenge.expose(),
            });
        Ok((
            request,
            Pending::new(LoginChallengeStep { state: self }, cfg.success()),
        ))
    }
}

/// In flight: captcha fetch.
#[derive(Debug)]
pub struct CaptchaStep {
    state: Authorized,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaptchaBody {
    #[serde(default)]
    captcha_id: Text,
    #[serde(default)]
    image: Option<String>,
}

fn decode_image(image: &str) -> Option<Vec<u8>> {
    // Tolerate a data URL and either base64 alphabet, with or without padding.
    let raw = image
        .rsplit_once("base64,")
        .map_or(image, |(_, b)| b)
        .trim();
    let cfg = base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
    base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, cfg)
        .decode(raw)
        .or_else(|_| {
            base64::engine::GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg).decode(raw)
        })
        .ok()
}

impl sealed::Sealed for CaptchaStep {}

impl Step for CaptchaStep {
    type Next = Authorized;
    type State = Authorized;
    const ID: StepId = StepId::CiamCaptcha;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(
        self,
        response: &Response,
        _now: SystemTime,
    ) -> Result<Authorized, Failed<Authorized>> {
        let mut state = self.state;
        let parsed = parse_json::<CaptchaBody>(response).and_then(|body| {
            let id = body
                .captcha_id
                .0
                .filter(|id| !id.is_empty())
                .ok_or_else(|| malformed(response, MalformedReason::missing("captchaId")))?;
            let image = body
                .image
                .as_deref()
                .and_then(decode_image)
                .ok_or_else(|| {
                    let reason = MalformedReason::absent_or_invalid(body.image.is_some(), "image");
                    malformed(response, reason)
                })?;
            Ok(Captcha {
                id,
                image_png: image,
            })
        });
        match parsed {
            Ok(captcha) => {
                state.captcha = Some(captcha);
                Ok(state)
            }
            Err(e) => Err(Failed::keep_unless_final(e, state)),
        }
    }

    fn on_failure(self, error: Error) -> Failed<Authorized> {
        Failed::keep_unless_final(error, self.state)
    }
}

/// What the login challenge leads to.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// No anomaly: `{code, token}`.
    Challenged(Challenged),
    /// Anomaly: 2FA with an OTP sent on a channel.
    MfaPending(MfaPending),
}

/// In flight: login challenge.
#[derive(Debug)]
pub struct LoginChallengeStep {
    state: Authorized,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginChallengeBody {
    #[serde(default)]
    code: Option<FlowSecret>,
    #[serde(default)]
    token: Option<FlowSecret>,
    #[serde(default)]
    mfa_challenge: Option<FlowSecret>,
    #[serde(default)]
    channel: Text,
    #[serde(default)]
    ref_id: Text,
}

impl sealed::Sealed for LoginChallengeStep {}

impl Step for LoginChallengeStep {
    type Next = LoginOutcome;
    type State = Authorized;
    const ID: StepId = StepId::CiamLoginChallenge;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(
        self,
        response: &Response,
        _now: SystemTime,
    ) -> Result<LoginOutcome, Failed<Authorized>> {
        let Authorized {
            login_challenge,
            auth_token,
            verifier,
            state,
            ..
        } = self.state;
        let body: LoginChallengeBody = match parse_json(response) {
            Ok(b) => b,
            Err(e) => {
                let back = Authorized::new(login_challenge, auth_token, verifier, state);
                return Err(Failed::keep_unless_final(e, back));
            }
        };
        if let Some(mfa_challenge) = body.mfa_challenge.filter(|m| !m.is_empty()) {
            let channel = Channel::from_wire(body.channel.0.as_deref());
            return Ok(LoginOutcome::MfaPending(MfaPending::new(
                mfa_challenge,
                channel,
                body.ref_id.0,
                verifier,
                state,
            )));
        }
        match (
            body.code.filter(|c| !c.is_empty()),
            body.token
                .filter(|t| crate::wire::is_header_safe(t.expose())),
        ) {
            (Some(code), Some(token)) => Ok(LoginOutcome::Challenged(Challenged::new(
                code, token, verifier, state,
            ))),
            _ => {
                let back = Authorized::new(login_challenge, auth_token, verifier, state);
                Err(Failed::keep_unless_final(
                    malformed(
                        response,
                        MalformedReason::missing("{code, token} or {mfaChallenge}"),
                    ),
                    back,
                ))
            }
        }
    }

    /// Any attempt uses the captcha up; the login challenge itself stays valid, so the state
    /// comes back for another try (with a new captcha when the server asks for one).
    fn on_failure(self, error: Error) -> Failed<Authorized> {
        let mut state = self.state;
        state.captcha = None;
        Failed::keep_unless_final(error, state)
    }
}
