//! The internet-banking API (seed 001): authorize, captcha, login challenge, pre-login
//! verify, access token, revoke, refresh. Readings as in the wire contract, section 2.
//!
//! The flow: authorize binds a login challenge to the PKCE challenge, `state` and `scope`;
//! the login challenge opens the credential envelope (JWE), checks the captcha when one is
//! required, the password, then the anomaly rule; a clean login (or a verified 2FA) gives a
//! single-use authorization code plus a bearer token for the access-token call, which checks
//! the code, the PKCE verifier, `state`, `scope` and the redirect URI.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::anomaly::is_anomalous;
use crate::app::{App, TokenSet, new_family_id, otp_rejection, secs};
use crate::captcha::Captcha;
use crate::config::{Channel, GeoPoint};
use crate::error::{ApiError, ErrorCode};
use crate::flows::realm::SuccessBody;
use crate::otp::OtpVerdict;
use crate::secret::{Secret, ct_eq};
use crate::store::{CodeGrant, GrantContext, LoginChallenge, MfaChallenge, take_when_accepted};
use crate::time::Timestamp;
use crate::tokens::{Api, opaque_token, token_key};

/// `authorize` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeBody {
    /// The client id.
    pub client_id: String,
    /// PKCE challenge: base64url(SHA-256(verifier)) without padding, 43 characters (the last
    /// one carries 2 unused bits, which must be zero).
    // Read as optional so that a missing one gets the PKCE message, but required all the same.
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$",
        example = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")]
    pub code_challenge: Option<String>,
    /// Must be `S256`: anything else (or nothing) is refused as a PKCE downgrade.
    // Read as text, so a downgrade gets the PKCE message rather than a generic type error.
    #[serde(default)]
    #[schema(value_type = PkceMethod, required = true)]
    pub code_challenge_method: Option<String>,
    /// Space-separated scope; the access-token call must send the same.
    pub scope: String,
    /// The client's `state`; the access-token call must send the same.
    pub state: String,
    /// Optional, accepted and ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub auth_token: Option<Secret>,
    /// Optional, accepted and ignored.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub login_verifier: Option<Secret>,
}

/// `authorize` 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    /// The login challenge id (also the captcha's `checkIdentity`).
    pub login_challenge: String,
    /// The value the credential envelope must carry as `authToken`.
    pub auth_token: String,
    /// The client's `state`, echoed.
    pub state: String,
}

/// `captcha` 200.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaptchaResponse {
    /// Send back as `captchaId` inside the envelope.
    pub captcha_id: String,
    /// A PNG, base64 (standard alphabet, padded).
    #[schema(content_encoding = "base64", content_media_type = "image/png")]
    pub image: String,
}

/// `login-challenge` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginChallengeBody {
    /// The login challenge from authorize.
    pub login_challenge: String,
    /// The credential envelope: a JWE in compact form (ECDH-ES, A256GCM) to the key of
    /// `/api/v1/jwks.json`, whose plaintext is `{authToken, username, password, iat}` (plus
    /// `captchaId` and `captchaAnswer` when a captcha is required). The pattern is the compact
    /// shape: five base64url parts, the encrypted key empty, a 96-bit IV and a 128-bit tag.
    #[schema(value_type = String, pattern = r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]|[A-Za-z0-9_-][AQgw])?\.\.[A-Za-z0-9_-]{16}\.(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]|[A-Za-z0-9_-][AQgw])?\.[A-Za-z0-9_-]{21}[AQgw]$")]
    pub auth_token: Secret,
    /// Optional, accepted and ignored.
    #[serde(default)]
    pub additional_authentication: Option<String>,
}

/// The envelope's plaintext.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    auth_token: Secret,
    username: String,
    password: Secret,
    #[serde(default)]
    captcha_id: Option<String>,
    #[serde(default)]
    captcha_answer: Option<Secret>,
    iat: f64,
}

/// `{code, token}`: the result of a clean login or a verified 2FA.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeResponse {
    /// The single-use authorization code.
    pub code: String,
    /// The bearer token for the access-token call.
    pub token: String,
}

/// `{mfaChallenge, channel, refId}`: an anomaly; an OTP was sent.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaResponse {
    /// Send back with the OTP to pre-login verify.
    pub mfa_challenge: String,
    /// Where the OTP went.
    pub channel: Channel,
    /// The OTP reference.
    pub ref_id: String,
}

/// `login-challenge` 200: a code, or a second factor to verify.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginChallengeResponse {
    /// No anomaly.
    Code(CodeResponse),
    /// Anomaly: 2FA.
    Mfa(MfaResponse),
}

/// `pre-login-verify` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreLoginVerifyBody {
    /// The OTP.
    #[schema(value_type = String)]
    pub consent_otp: Secret,
    /// From the login challenge's answer.
    pub mfa_challenge: String,
}

/// `access-token` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenBody {
    /// The client id.
    pub client_id: String,
    /// The authorization code.
    #[schema(value_type = String)]
    pub code: Secret,
    /// The PKCE verifier: 43 to 128 unreserved characters (RFC 7636).
    // Read as optional so that a missing one gets the PKCE message, but required all the same.
    #[serde(default)]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z0-9._~-]{43,128}$",
        example = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")]
    pub code_verifier: Option<Secret>,
    /// `authorization_code`.
    #[schema(value_type = AuthorizationCodeGrant)]
    pub grant_type: String,
    /// One of the configured redirect URIs (the served document lists them).
    pub redirect_uri: String,
    /// The same scope as authorize.
    pub scope: String,
    /// The same state as authorize.
    pub state: String,
}

/// The PKCE method: only `S256` (schema only; the field is read as text).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum PkceMethod {
    /// SHA-256.
    S256,
}

/// The access-token step's `grantType` (schema only; the field is read as text).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum AuthorizationCodeGrant {
    /// The only value.
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
}

/// The refresh step's `grantType` (schema only; the field is read as text).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum RefreshTokenGrant {
    /// The only value.
    #[serde(rename = "refresh_token")]
    RefreshToken,
}

/// `revoke-token` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokeBody {
    /// The client id.
    pub client_id: String,
}

/// `refresh-token` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CiamRefreshBody {
    /// The client id.
    pub client_id: String,
    /// `refresh_token`.
    #[schema(value_type = RefreshTokenGrant)]
    pub grant_type: String,
    /// The refresh token.
    #[schema(value_type = String)]
    pub refresh_token: Secret,
    /// The session's scope.
    pub scope: String,
}

/// The RFC 7636 S256 challenge of a verifier: base64url(SHA-256(verifier)) without padding.
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn is_pkce_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

impl App {
    /// The key of the device identity token in `bearer`.
    ///
    /// # Errors
    /// 401 `invalid_token` when missing or not configured.
    pub fn check_device(&self, bearer: Option<&str>) -> Result<String, ApiError> {
        let Some(token) = bearer else {
            return Err(ApiError::invalid_token(
                "send Authorization: Bearer <device identity token>",
            ));
        };
        let known = self
            .config
            .device_tokens
            .iter()
            .fold(false, |acc, t| acc | t.ct_eq_str(token));
        if known {
            Ok(token_key(token))
        } else {
            Err(ApiError::invalid_token("unknown device identity token"))
        }
    }

    fn check_ciam_client(&self, client_id: &str) -> Result<(), ApiError> {
        if ct_eq(client_id.as_bytes(), self.config.client_id.as_bytes()) {
            Ok(())
        } else {
            Err(ApiError::invalid_credentials("unknown clientId"))
        }
    }

    /// Authorize: a login challenge bound to the PKCE challenge, `state` and `scope`.
    ///
    /// # Errors
    /// 401 `invalid_token` (device), 401 `invalid_credentials` (client), 400 for a missing or
    /// malformed PKCE challenge or a method other than `S256`.
    pub async fn authorize(
        &self,
        device: Option<&str>,
        body: AuthorizeBody,
        now: Timestamp,
    ) -> Result<AuthorizeResponse, ApiError> {
        let device_key = self.check_device(device)?;
        self.check_ciam_client(&body.client_id)?;
        if body.code_challenge_method.as_deref() != Some("S256") {
            return Err(ApiError::invalid_request(
                "PKCE is required with codeChallengeMethod \"S256\" (plain or none is refused)",
            ));
        }
        let Some(code_challenge) = body
            .code_challenge
            .filter(|c| c.len() == 43 && URL_SAFE_NO_PAD.decode(c).is_ok())
        else {
            return Err(ApiError::invalid_request(
                "codeChallenge must be base64url(SHA-256(verifier)), 43 characters",
            ));
        };
        let login_challenge = opaque_token();
        let auth_token = opaque_token();
        let record = LoginChallenge {
            auth_token_key: token_key(auth_token.expose()),
            device_key,
            grant: GrantContext {
                client_id: body.client_id,
                code_challenge,
                state: body.state.clone(),
                scope: body.scope,
            },
            captcha: None,
            expires_at: now.plus(secs(self.config.lifetimes.login_challenge_secs)),
        };
        self.store
            .login_challenges()
            .put(&token_key(login_challenge.expose()), record)
            .await;
        Ok(AuthorizeResponse {
            login_challenge: login_challenge.expose().to_owned(),
            auth_token: auth_token.expose().to_owned(),
            state: body.state,
        })
    }

    /// Captcha: a new captcha for the login challenge in `checkIdentity`, replacing any earlier.
    ///
    /// # Errors
    /// 400 without `checkIdentity`; 404 `not_found`/`expired`.
    pub async fn captcha(
        &self,
        check_identity: Option<&str>,
        now: Timestamp,
    ) -> Result<CaptchaResponse, ApiError> {
        let Some(challenge) = check_identity else {
            return Err(ApiError::invalid_request(
                "send the login challenge in the checkIdentity header",
            ));
        };
        let (captcha, png) =
            Captcha::generate(&self.captcha, now).map_err(|e| ApiError::server(e.to_string()))?;
        let captcha_id = captcha.id.clone();
        self.store
            .login_challenges()
            .update(&token_key(challenge), |slot| match slot.as_mut() {
                None => Err(ApiError::not_found("unknown login challenge")),
                Some(c) if now >= c.expires_at => Err(ApiError::expired(
                    "the login challenge has expired; authorize again",
                )),
                Some(c) => {
                    c.captcha = Some(captcha);
                    Ok(())
                }
            })
            .await?;
        Ok(CaptchaResponse {
            captcha_id,
            image: STANDARD.encode(png),
        })
    }

    /// Login challenge: envelope, captcha, password, anomaly.
    ///
    /// # Errors
    /// 401 `invalid_token` (device); 404 `not_found`/`expired`; 400 for an envelope that does
    /// not open or belongs to another challenge; 429; 400 `captcha_required`/`invalid_captcha`;
    /// 423; 401 `invalid_credentials`.
    pub async fn login_challenge(
        &self,
        device: Option<&str>,
        location: Option<GeoPoint>,
        body: LoginChallengeBody,
        now: Timestamp,
    ) -> Result<LoginChallengeResponse, ApiError> {
        let device_key = self.check_device(device)?;
        let challenge_key = token_key(&body.login_challenge);
        let challenge = self
            .live_challenge(&challenge_key, &device_key, now)
            .await?;

        let enc = if self.deviates(crate::deviation::Deviation::A128gcm) {
            crate::jwe::Enc::A128Gcm
        } else {
            crate::jwe::Enc::A256Gcm
        };
        let plaintext = self
            .key
            .open_with(body.auth_token.expose(), enc)
            .map_err(|e| ApiError::invalid_request(e.to_string()))?;
        let creds: Credentials = serde_json::from_slice(&plaintext).map_err(|_| {
            ApiError::invalid_request("the envelope's plaintext is not the credentials JSON object")
        })?;
        drop(plaintext);
        if !ct_eq(
            token_key(creds.auth_token.expose()).as_bytes(),
            challenge.auth_token_key.as_bytes(),
        ) {
            return Err(ApiError::invalid_request(
                "the envelope's authToken is not this login challenge's",
            ));
        }
        let skew = self.config.envelope_max_skew_secs as f64;
        if !creds.iat.is_finite() || (creds.iat - now.unix_secs() as f64).abs() > skew {
            return Err(ApiError::invalid_request(format!(
                "the envelope's iat is more than {skew} s from the server's clock"
            )));
        }

        self.throttle(crate::app::ThrottleKind::Login, &creds.username, now)
            .await?;
        // Any attempt uses the captcha up, right or wrong.
        let captcha = self
            .store
            .login_challenges()
            .update(&challenge_key, |slot| {
                slot.as_mut().and_then(|c| c.captcha.take())
            })
            .await;
        self.check_captcha(captcha.as_ref(), &creds, now)?;
        let user = self
            .check_password_unthrottled(&creds.username, &creds.password, now)
            .await?;

        // The challenge is done: take it, so a concurrent success cannot use it too.
        let challenge = self
            .store
            .login_challenges()
            .take(&challenge_key)
            .await
            .ok_or_else(|| {
                ApiError::not_found("this login challenge was just used by another request")
            })?;
        if is_anomalous(
            self.config.anomaly,
            self.config.anomaly_distance_km,
            user.last_location,
            location,
        ) {
            let otp = self
                .send_otp(&creds.username, user.channel, "login-2fa", now)
                .await;
            let mfa_challenge = opaque_token();
            let response = MfaResponse {
                mfa_challenge: mfa_challenge.expose().to_owned(),
                channel: user.channel,
                ref_id: otp.ref_id.clone(),
            };
            let record = MfaChallenge {
                user: creds.username.clone(),
                device_key,
                grant: challenge.grant,
                otp,
                location,
            };
            self.store
                .mfa_challenges()
                .put(&token_key(mfa_challenge.expose()), record)
                .await;
            return Ok(LoginChallengeResponse::Mfa(response));
        }
        Ok(LoginChallengeResponse::Code(
            self.complete_login(&creds.username, challenge.grant, location, now)
                .await,
        ))
    }

    async fn live_challenge(
        &self,
        key: &str,
        device_key: &str,
        now: Timestamp,
    ) -> Result<LoginChallenge, ApiError> {
        let challenge = self
            .store
            .login_challenges()
            .get(key)
            .await
            .ok_or_else(|| ApiError::not_found("unknown login challenge"))?;
        if now >= challenge.expires_at {
            return Err(ApiError::expired(
                "the login challenge has expired; authorize again",
            ));
        }
        if !ct_eq(challenge.device_key.as_bytes(), device_key.as_bytes()) {
            return Err(ApiError::invalid_token(
                "this login challenge belongs to another device",
            ));
        }
        Ok(challenge)
    }

    fn check_captcha(
        &self,
        captcha: Option<&Captcha>,
        creds: &Credentials,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let invalid = || {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCaptcha,
                "wrong, used or expired captcha; fetch a new one",
            )
        };
        match (&creds.captcha_id, &creds.captcha_answer) {
            (Some(id), Some(answer)) => match captcha {
                Some(c) if c.check(id, answer.expose(), now) => Ok(()),
                _ => Err(invalid()),
            },
            (None, None) if !self.config.captcha_required => Ok(()),
            (None, None) => Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                ErrorCode::CaptchaRequired,
                "a captcha is required: GET /api/v1/captcha with checkIdentity, then send captchaId and captchaAnswer",
            )),
            _ => Err(ApiError::invalid_request(
                "send captchaId and captchaAnswer together",
            )),
        }
    }

    /// Issues the code and bearer token, and records the login's location.
    async fn complete_login(
        &self,
        user: &str,
        grant: GrantContext,
        location: Option<GeoPoint>,
        now: Timestamp,
    ) -> CodeResponse {
        if let Some(location) = location {
            self.store
                .users()
                .update(user, |slot| {
                    if let Some(u) = slot.as_mut() {
                        u.last_location = Some(location);
                    }
                })
                .await;
        }
        let code = opaque_token();
        let token = opaque_token();
        let record = CodeGrant {
            user: user.to_owned(),
            token_key: token_key(token.expose()),
            grant,
            expires_at: now.plus(secs(self.config.lifetimes.code_secs)),
            family: None,
            replayed: false,
        };
        self.store
            .codes()
            .put(&token_key(code.expose()), record)
            .await;
        CodeResponse {
            code: code.expose().to_owned(),
            token: token.expose().to_owned(),
        }
    }

    /// Pre-login verify: the 2FA OTP for a code.
    ///
    /// # Errors
    /// 401 `invalid_token` (device); 404 `not_found`; 401 `invalid_otp`; 404 `expired` (OTP
    /// expired or attempts exhausted).
    pub async fn pre_login_verify(
        &self,
        device: Option<&str>,
        body: PreLoginVerifyBody,
        now: Timestamp,
    ) -> Result<CodeResponse, ApiError> {
        let device_key = self.check_device(device)?;
        let policy = &self.otp;
        let (pending, ()) = self
            .store
            .mfa_challenges()
            .update(&token_key(&body.mfa_challenge), |slot| {
                take_when_accepted(
                    slot,
                    || ApiError::not_found("unknown mfaChallenge (or already used)"),
                    |m| {
                        if !ct_eq(m.device_key.as_bytes(), device_key.as_bytes()) {
                            return Err(ApiError::invalid_token(
                                "this mfaChallenge belongs to another device",
                            ));
                        }
                        match m.otp.verify(body.consent_otp.expose(), policy, now) {
                            OtpVerdict::Accepted => Ok(()),
                            verdict => Err(otp_rejection(verdict)),
                        }
                    },
                )
            })
            .await?;
        Ok(self
            .complete_login(&pending.user, pending.grant, pending.location, now)
            .await)
    }

    /// Access token: the code (single use), its bearer token, PKCE, `state`, `scope`,
    /// redirect URI. A second use of a code revokes the session it was exchanged for.
    ///
    /// # Errors
    /// 401 `invalid_token` (missing bearer; unknown, expired or replayed code; bearer not the
    /// code's); 401 `invalid_credentials` (client); 400 `invalid_request` (grant type,
    /// redirect URI, state, scope, PKCE).
    pub async fn access_token(
        &self,
        bearer: Option<&str>,
        body: AccessTokenBody,
        now: Timestamp,
    ) -> Result<TokenSet, ApiError> {
        let Some(bearer) = bearer else {
            return Err(ApiError::invalid_token(
                "send Authorization: Bearer <token from the login challenge>",
            ));
        };
        if body.grant_type != "authorization_code" {
            return Err(ApiError::invalid_request(
                "grantType must be \"authorization_code\"",
            ));
        }
        if !self
            .config
            .redirect_uris
            .iter()
            .any(|u| u == &body.redirect_uri)
        {
            return Err(ApiError::invalid_request("redirectUri is not registered"));
        }
        let Some(verifier) = body
            .code_verifier
            .as_ref()
            .filter(|v| is_pkce_verifier(v.expose()))
        else {
            return Err(ApiError::invalid_request(
                "codeVerifier is required: 43 to 128 unreserved characters",
            ));
        };
        let code_key = token_key(body.code.expose());
        let bearer_key = token_key(bearer);
        let family_id = new_family_id();
        let outcome = self
            .store
            .codes()
            .update(&code_key, |slot| {
                let Some(grant) = slot.as_mut() else { return Err((ApiError::invalid_token("unknown authorization code"), None)) };
                if grant.family.is_some() {
                    grant.replayed = true;
                    let msg = "this authorization code was already used: the session issued for it is revoked";
                    return Err((ApiError::invalid_token(msg), grant.family.clone()));
                }
                let g = &grant.grant;
                let checks = if now >= grant.expires_at {
                    Err(ApiError::invalid_token("the authorization code has expired"))
                } else if !ct_eq(grant.token_key.as_bytes(), bearer_key.as_bytes()) {
                    Err(ApiError::invalid_token("the bearer token does not belong to this code"))
                } else if !ct_eq(g.client_id.as_bytes(), body.client_id.as_bytes()) {
                    Err(ApiError::invalid_credentials("clientId differs from authorize"))
                } else if g.state != body.state {
                    Err(ApiError::invalid_request("state differs from authorize"))
                } else if g.scope != body.scope {
                    Err(ApiError::invalid_request("scope differs from authorize"))
                } else if !ct_eq(pkce_s256(verifier.expose()).as_bytes(), g.code_challenge.as_bytes()) {
                    Err(ApiError::invalid_request("codeVerifier does not match the codeChallenge (PKCE S256)"))
                } else {
                    Ok(())
                };
                checks.map_err(|e| (e, None))?;
                grant.family = Some(family_id.clone());
                Ok((grant.user.clone(), g.scope.clone()))
            })
            .await;
        let (user, scope) = match outcome {
            Ok(found) => found,
            Err((error, replayed_family)) => {
                if let Some(family) = replayed_family {
                    self.revoke_family(&family).await;
                }
                return Err(error);
            }
        };
        let set = self
            .start_session(&family_id, Api::Ciam, &user, scope, body.redirect_uri, now)
            .await;
        // A replay that raced the session's creation marked the code: honour it now.
        if self
            .store
            .codes()
            .get(&code_key)
            .await
            .is_some_and(|g| g.replayed)
        {
            self.revoke_family(&family_id).await;
        }
        Ok(set)
    }

    /// Revoke: ends the session of the bearer access token.
    ///
    /// # Errors
    /// 401 `invalid_token`; 401 `invalid_credentials` (client).
    pub async fn revoke(
        &self,
        bearer: Option<&str>,
        body: RevokeBody,
        now: Timestamp,
    ) -> Result<SuccessBody, ApiError> {
        let Some(bearer) = bearer else {
            return Err(ApiError::invalid_token(
                "send Authorization: Bearer <accessToken>",
            ));
        };
        self.check_ciam_client(&body.client_id)?;
        self.revoke_by_access(Api::Ciam, bearer, now).await?;
        Ok(SuccessBody { success: true })
    }

    /// Refresh: rotates the refresh token (reuse revokes the session).
    ///
    /// # Errors
    /// 400 (grant type, scope); 401 `invalid_credentials` (client); 401 `invalid_token`.
    pub async fn ciam_refresh(
        &self,
        body: CiamRefreshBody,
        now: Timestamp,
    ) -> Result<TokenSet, ApiError> {
        if body.grant_type != "refresh_token" {
            return Err(ApiError::invalid_request(
                "grantType must be \"refresh_token\"",
            ));
        }
        self.check_ciam_client(&body.client_id)?;
        self.refresh(
            Api::Ciam,
            body.refresh_token.expose(),
            Some(&body.scope),
            now,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
