//! Internet-banking `Authorized`: the server issued a login challenge; credentials (and a
//! captcha, when asked) come next.

use std::time::SystemTime;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{CaptchaShown, Challenged, CiamConfig, CiamProfile, MfaPending, mfa_pending::Channel};
use crate::entropy::Entropy;
use crate::error::{MalformedReason, SealError, malformed, parse_json};
use crate::lenient::Text;
use crate::pending::{Failed, Pending, Step, sealed};
use crate::readings::Envelope;
use crate::seal::CredentialSealer;
use crate::secret::{CaptchaAnswer, FlowSecret, Password, PkceVerifier};
use crate::table::StepId;
use crate::{Request, Response};

/// A fetched captcha: its id and the PNG to show the user. Neither is secret; both are kept in
/// snapshots, so a login paused at [`CaptchaShown`](super::CaptchaShown) can show it again.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Captcha {
    id: String,
    #[serde(with = "png_base64")]
    image_png: Vec<u8>,
}

/// The captcha image as standard base64 in snapshots.
mod png_base64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

impl Captcha {
    /// The `captchaId`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The PNG bytes (decoded from base64).
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
}

impl Credentials {
    /// User name and password.
    pub fn new(username: impl Into<String>, password: Password) -> Self {
        Self {
            username: username.into(),
            password,
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }
}

/// Authorize succeeded.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorized {
    pub(crate) login_challenge: FlowSecret,
    pub(crate) auth_token: FlowSecret,
    pub(crate) verifier: PkceVerifier,
    pub(crate) state: String,
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

    /// `GET` captcha with `checkIdentity: <loginChallenge>` (the profile's `captchaHeader`
    /// names the header): leads to [`CaptchaShown`], whose login challenge carries the answer.
    /// Safe to repeat.
    pub fn fetch_captcha(self, cfg: &CiamProfile) -> (Request, Pending<CaptchaStep>) {
        let request = cfg
            .request(StepId::CiamCaptcha)
            .header(cfg.captcha_header_with(self.login_challenge.expose()));
        (
            request,
            Pending::new(CaptchaStep { state: self }, cfg.receive_readings()),
        )
    }

    /// Seals the credentials to the server's key and `POST`s the login challenge. A sealing
    /// failure gives this state back at once.
    ///
    /// # Errors
    /// A [`Failed`] holding this state when sealing fails (the randomness source failed, or the
    /// credentials could not be encoded); nothing was sent.
    pub fn submit_credentials(
        self,
        cfg: &CiamConfig,
        sealer: &dyn CredentialSealer,
        credentials: &Credentials,
        entropy: &mut dyn Entropy,
        now: SystemTime,
    ) -> Result<(Request, Pending<LoginChallengeStep>), Failed<Authorized>> {
        let sealed = Sealing {
            cfg,
            sealer,
            credentials,
            captcha: None,
            entropy,
            now,
        };
        sealed.login_challenge(self)
    }
}

/// What the login challenge seals: the credentials, and the captcha with its answer when one
/// was shown. One place for both ways into the call.
pub(super) struct Sealing<'a> {
    pub cfg: &'a CiamConfig,
    pub sealer: &'a dyn CredentialSealer,
    pub credentials: &'a Credentials,
    pub captcha: Option<(&'a Captcha, &'a CaptchaAnswer)>,
    pub entropy: &'a mut dyn Entropy,
    pub now: SystemTime,
}

impl Sealing<'_> {
    pub(super) fn login_challenge(
        self,
        authorized: Authorized,
    ) -> Result<(Request, Pending<LoginChallengeStep>), Failed<Authorized>> {
        let envelope = self.cfg.envelope_value();
        let iat = self
            .now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let plaintext = Plaintext {
            names: envelope,
            auth_token: authorized.auth_token.expose(),
            username: &self.credentials.username,
            password: self.credentials.password.expose(),
            captcha_id: self.captcha.map(|(c, _)| c.id.as_str()),
            captcha_answer: self.captcha.map(|(_, a)| a.expose()),
            iat,
        };
        // Zeroed on drop like a request body (only the bytes written: nothing else was).
        let buf = match crate::request::json_body(&plaintext) {
            Ok(buf) => buf,
            Err(_) => {
                return Err(Failed {
                    error: SealError::Encode.into(),
                    state: Some(authorized),
                });
            }
        };
        let sealed = match self
            .sealer
            .seal_with(buf.bytes(), envelope.enc_value(), self.entropy)
        {
            Ok(jwe) => jwe,
            Err(error) => {
                return Err(Failed {
                    error,
                    state: Some(authorized),
                });
            }
        };
        let cfg = self.cfg;
        let request = cfg
            .request(StepId::CiamLoginChallenge)
            .header(cfg.device_bearer())
            .json(&Body {
                additional_authentication: cfg.additional_authentication_value(),
                envelope_field: envelope.field_name(),
                envelope: sealed.expose(),
                login_challenge: authorized.login_challenge.expose(),
            });
        Ok((
            request,
            Pending::new(
                LoginChallengeStep { state: authorized },
                cfg.receive_readings(),
            ),
        ))
    }
}

/// The credentials the envelope seals, under the profile's field names (`envelope`):
/// `{"authToken", <username>, <password>, "captchaId"?, "captchaAnswer"?, "iat"}`.
struct Plaintext<'a> {
    names: &'a Envelope,
    auth_token: &'a str,
    username: &'a str,
    password: &'a str,
    captcha_id: Option<&'a str>,
    captcha_answer: Option<&'a str>,
    iat: u64,
}

impl Serialize for Plaintext<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("authToken", self.auth_token)?;
        map.serialize_entry(self.names.username_field_name(), self.username)?;
        map.serialize_entry(self.names.password_field_name(), self.password)?;
        if let Some(id) = self.captcha_id {
            map.serialize_entry("captchaId", id)?;
        }
        if let Some(answer) = self.captcha_answer {
            map.serialize_entry("captchaAnswer", answer)?;
        }
        map.serialize_entry("iat", &self.iat)?;
        map.end()
    }
}

/// The login challenge's body, the envelope under the profile's field name (`authToken` by
/// default).
struct Body<'a> {
    additional_authentication: Option<&'a str>,
    envelope_field: &'a str,
    envelope: &'a str,
    login_challenge: &'a str,
}

impl Serialize for Body<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(None)?;
        if let Some(value) = self.additional_authentication {
            map.serialize_entry("additionalAuthentication", value)?;
        }
        map.serialize_entry(self.envelope_field, self.envelope)?;
        map.serialize_entry("loginChallenge", self.login_challenge)?;
        map.end()
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
    type Next = CaptchaShown;
    type State = Authorized;
    const ID: StepId = StepId::CiamCaptcha;
    const DOCUMENTED_STATUS: u16 = 200;

    fn on_success(
        self,
        response: &Response,
        _now: SystemTime,
        _expiry: crate::readings::ExpiryForm,
    ) -> Result<CaptchaShown, Failed<Authorized>> {
        let state = self.state;
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
            Ok(captcha) => Ok(CaptchaShown::new(state, captcha)),
            Err(e) => Err(Failed::keep_unless_final(e, state)),
        }
    }

    fn into_state(self) -> Authorized {
        self.state
    }
}

/// What the login challenge leads to.
#[derive(Debug)]
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
        _expiry: crate::readings::ExpiryForm,
    ) -> Result<LoginOutcome, Failed<Authorized>> {
        let Authorized {
            login_challenge,
            auth_token,
            verifier,
            state,
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

    /// Any attempt uses a captcha up; the login challenge itself stays valid, so `Authorized`
    /// (without the captcha) comes back for another try.
    fn into_state(self) -> Authorized {
        self.state
    }
}
