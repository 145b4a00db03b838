//! The realm API (seed 000): request login, token, refresh; forgot password, verify OTP,
//! reset password. Readings as in the wire contract, section 1.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::{App, ThrottleKind, TokenSet, new_family_id, otp_rejection, secs};
use crate::config::Mfa;
use crate::error::ApiError;
use crate::otp::OtpVerdict;
use crate::secret::Secret;
use crate::store::{RealmRequest, ResetRequest, ResetTicket, take_when_accepted};
use crate::time::Timestamp;
use crate::tokens::{Api, opaque_token, token_key};

/// `POST /auth/realm/{realmId}/request` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestLoginBody {
    /// The username.
    pub username: String,
    /// The password.
    #[schema(value_type = String)]
    pub password: Secret,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    #[schema(value_type = String)]
    pub client_secret: Secret,
}

/// `201` of request login.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestLoginResponse {
    /// The login request id.
    pub req_id: String,
    /// Seconds until `reqId` expires.
    pub exp: u64,
    /// `none` or `otp`.
    pub mfa: Mfa,
    /// The OTP reference, when `mfa` is `otp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<String>,
}

/// `POST /auth/realm/{realmId}/token` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenBody {
    /// The login request id.
    pub req_id: String,
    /// The OTP reference (checked when given).
    #[serde(default)]
    pub ref_id: Option<String>,
    /// The OTP, when the login has `mfa` `otp`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub otp: Option<Secret>,
    /// The requested scopes.
    pub scope: Vec<String>,
}

/// `PATCH /auth/realm/{realmId}/token` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshBody {
    /// The client id.
    pub client_id: String,
    /// The refresh token.
    #[schema(value_type = String)]
    pub refresh_token: Secret,
}

/// `POST /realm/admin/{realmId}/user/forgotPassword` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForgotPasswordBody {
    /// The username.
    pub username: String,
}

/// `201` of forgot password and of verify OTP.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReqRefResponse {
    /// Forgot password: the reset request id. Verify OTP: the one-time reset ticket.
    pub req_id: String,
    /// The OTP reference.
    pub ref_id: String,
}

/// `POST /realm/admin/{realmId}/user/verifyOtp` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyOtpBody {
    /// The OTP.
    #[schema(value_type = String)]
    pub otp: Secret,
    /// The reset request id.
    pub req_id: String,
    /// The OTP reference.
    pub ref_id: String,
    /// The username.
    pub username: String,
}

/// `POST /realm/admin/{realmId}/user/resetPassword` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetPasswordBody {
    /// The new password: `minPasswordLength` (default 8; the served document has the
    /// configured value) to 1024 characters.
    #[schema(value_type = String, min_length = 8, max_length = 1024)]
    pub new_password: Secret,
}

/// `{success}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuccessBody {
    /// Always `true` on success.
    pub success: bool,
}

impl App {
    fn check_realm(&self, realm: &str) -> Result<(), ApiError> {
        if realm == self.config.realm {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("unknown realm {realm:?}")))
        }
    }

    fn check_client(
        &self,
        client_id: &str,
        client_secret: Option<&Secret>,
    ) -> Result<(), ApiError> {
        let id_ok = crate::secret::ct_eq(client_id.as_bytes(), self.config.client_id.as_bytes());
        let secret_ok =
            client_secret.is_none_or(|s| self.config.client_secret.ct_eq_str(s.expose()));
        if id_ok && secret_ok {
            Ok(())
        } else {
            Err(ApiError::invalid_credentials(
                "unknown client or wrong client secret",
            ))
        }
    }

    fn realm_redirect_url(&self) -> String {
        self.config
            .redirect_uris
            .first()
            .cloned()
            .unwrap_or_default()
    }

    /// Request login: client credentials, then the password; `mfa` `otp` sends an OTP.
    ///
    /// # Errors
    /// 404 unknown realm; 401 `invalid_credentials`; 423 locked; 429 throttled.
    pub async fn realm_request_login(
        &self,
        realm: &str,
        body: RequestLoginBody,
        now: Timestamp,
    ) -> Result<RequestLoginResponse, ApiError> {
        self.check_realm(realm)?;
        self.check_client(&body.client_id, Some(&body.client_secret))?;
        let user = self
            .check_password(&body.username, &body.password, now)
            .await?;
        let otp = match user.mfa {
            Mfa::Otp => Some(
                self.send_otp(&body.username, user.channel, "realm-login", now)
                    .await,
            ),
            Mfa::None => None,
        };
        let req_id = opaque_token();
        let ref_id = otp.as_ref().map(|o| o.ref_id.clone());
        let lifetime = self.config.lifetimes.login_request_secs;
        let record = RealmRequest {
            user: body.username,
            otp,
            expires_at: now.plus(secs(lifetime)),
        };
        self.store
            .realm_requests()
            .put(&token_key(req_id.expose()), record)
            .await;
        Ok(RequestLoginResponse {
            req_id: req_id.expose().to_owned(),
            exp: lifetime,
            mfa: user.mfa,
            ref_id,
        })
    }

    /// Get access token: the request id (and OTP when required) for a token set.
    ///
    /// # Errors
    /// 404 `not_found`/`expired`; 400 when the OTP or a matching `refId` is missing; 401
    /// `invalid_otp`; 404 `expired` after too many OTP attempts.
    pub async fn realm_token(
        &self,
        realm: &str,
        body: TokenBody,
        now: Timestamp,
    ) -> Result<TokenSet, ApiError> {
        self.check_realm(realm)?;
        let policy = &self.otp;
        let (request, ()) = self
            .store
            .realm_requests()
            .update(&token_key(&body.req_id), |slot| {
                take_when_accepted(
                    slot,
                    || ApiError::not_found("unknown reqId (or already used)"),
                    |req| {
                        if now >= req.expires_at {
                            return Err(ApiError::expired(
                                "this login request has expired; request login again",
                            ));
                        }
                        let Some(otp) = req.otp.as_mut() else {
                            return Ok(());
                        };
                        let Some(code) = body.otp.as_ref() else {
                            return Err(ApiError::invalid_request(
                                "this login has mfa \"otp\": send the otp",
                            ));
                        };
                        if body.ref_id.as_ref().is_some_and(|r| *r != otp.ref_id) {
                            return Err(ApiError::invalid_request(
                                "refId does not match this login request",
                            ));
                        }
                        match otp.verify(code.expose(), policy, now) {
                            OtpVerdict::Accepted => Ok(()),
                            verdict => Err(otp_rejection(verdict)),
                        }
                    },
                )
            })
            .await?;
        let scope = body.scope.join(" ");
        Ok(self
            .start_session(
                &new_family_id(),
                Api::Realm,
                &request.user,
                scope,
                self.realm_redirect_url(),
                now,
            )
            .await)
    }

    /// Refresh (PATCH): rotates the refresh token.
    ///
    /// # Errors
    /// 401 `invalid_credentials` for another client; 401 `invalid_token` (see [`App::refresh`]).
    pub async fn realm_refresh(
        &self,
        realm: &str,
        body: RefreshBody,
        now: Timestamp,
    ) -> Result<TokenSet, ApiError> {
        self.check_realm(realm)?;
        self.check_client(&body.client_id, None)?;
        self.refresh(Api::Realm, body.refresh_token.expose(), None, now)
            .await
    }

    /// Forgot password: sends an OTP. An unknown username gets the same answer and no OTP.
    ///
    /// # Errors
    /// 404 unknown realm; 429 throttled.
    pub async fn forgot_password(
        &self,
        realm: &str,
        body: ForgotPasswordBody,
        now: Timestamp,
    ) -> Result<ReqRefResponse, ApiError> {
        self.check_realm(realm)?;
        self.throttle(ThrottleKind::OtpSend, &body.username, now)
            .await?;
        let user = self.store.users().get(&body.username).await;
        let otp = match &user {
            Some(user) => {
                self.send_otp(&body.username, user.channel, "forgot-password", now)
                    .await
            }
            None => self.otp.issue(now),
        };
        let req_id = opaque_token();
        let ref_id = otp.ref_id.clone();
        let record = ResetRequest {
            username: body.username,
            known: user.is_some(),
            otp,
        };
        self.store
            .reset_requests()
            .put(&token_key(req_id.expose()), record)
            .await;
        Ok(ReqRefResponse {
            req_id: req_id.expose().to_owned(),
            ref_id,
        })
    }

    /// Verify OTP: the reset request's OTP for a one-time reset ticket (returned as `reqId`).
    ///
    /// # Errors
    /// 404 `not_found`/`expired`; 400 when `refId` or `username` differ; 401 `invalid_otp`.
    pub async fn verify_otp(
        &self,
        realm: &str,
        body: VerifyOtpBody,
        now: Timestamp,
    ) -> Result<ReqRefResponse, ApiError> {
        self.check_realm(realm)?;
        let policy = &self.otp;
        let (request, ()) = self
            .store
            .reset_requests()
            .update(&token_key(&body.req_id), |slot| {
                take_when_accepted(
                    slot,
                    || ApiError::not_found("unknown reqId (or already used)"),
                    |req| {
                        if req.username != body.username || req.otp.ref_id != body.ref_id {
                            return Err(ApiError::invalid_request(
                                "username or refId does not match this request",
                            ));
                        }
                        match req.otp.verify(body.otp.expose(), policy, now) {
                            OtpVerdict::Accepted if req.known => Ok(()),
                            OtpVerdict::Accepted => Err(otp_rejection(OtpVerdict::Wrong {
                                attempts_left: policy.max_attempts.saturating_sub(req.otp.attempts),
                            })),
                            verdict => Err(otp_rejection(verdict)),
                        }
                    },
                )
            })
            .await?;
        let ticket = opaque_token();
        let expires_at = now.plus(secs(self.config.lifetimes.reset_ticket_secs));
        self.store
            .reset_tickets()
            .put(
                &token_key(ticket.expose()),
                ResetTicket {
                    user: request.username,
                    expires_at,
                },
            )
            .await;
        Ok(ReqRefResponse {
            req_id: ticket.expose().to_owned(),
            ref_id: request.otp.ref_id,
        })
    }

    /// Reset password with the one-time ticket; also lifts a lockout.
    ///
    /// # Errors
    /// 401 `invalid_token` for a missing, unknown, used or expired ticket; 400 for a too
    /// short new password.
    pub async fn reset_password(
        &self,
        realm: &str,
        ticket: Option<&str>,
        body: ResetPasswordBody,
        now: Timestamp,
    ) -> Result<SuccessBody, ApiError> {
        self.check_realm(realm)?;
        let Some(ticket) = ticket else {
            return Err(ApiError::invalid_token(
                "send Authorization: Bearer <ticket from verifyOtp>",
            ));
        };
        let min = self.config.min_password_length;
        let length = body.new_password.expose().chars().count();
        if length < min || length > 1024 {
            return Err(ApiError::invalid_request(format!(
                "newPassword must be {min} to 1024 characters"
            )));
        }
        let ticket = self
            .store
            .reset_tickets()
            .take(&token_key(ticket))
            .await
            .filter(|t| now < t.expires_at)
            .ok_or_else(|| ApiError::invalid_token("unknown, used or expired reset ticket"))?;
        let hash = self
            .passwords
            .hash(&body.new_password)
            .await
            .map_err(|e| ApiError::server(e.to_string()))?;
        let found = self
            .store
            .users()
            .update(&ticket.user, |slot| {
                slot.as_mut().map(|u| u.password_hash = hash).is_some()
            })
            .await;
        if !found {
            return Err(ApiError::invalid_token(
                "the user of this ticket no longer exists",
            ));
        }
        self.store.lockouts().take(&ticket.user).await;
        Ok(SuccessBody { success: true })
    }
}
