//! The shared server context ([`App`]) and the decisions both APIs make the same way:
//! throttling, the password check with lockout, OTP delivery and session tokens.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use crate::captcha::CaptchaPolicy;
use crate::config::{Channel, Limit, SandboxConfig};
use crate::error::ApiError;
use crate::jwe::ServerKey;
use crate::lockout::{LockoutCounter, LockoutPolicy};
use crate::otp::{OtpPolicy, OtpState, OtpVerdict};
use crate::passwords::PasswordService;
use crate::secret::Secret;
use crate::store::{OutboxEntry, Store, UserRecord};
use crate::throttle::{ThrottlePolicy, ThrottleWindow};
use crate::time::Timestamp;
use crate::tokens::{
    Api, FamilyLifetimes, Refresh, SessionFamily, TokenKind, TokenPair, TokenRef, opaque_token,
    token_key,
};

/// Everything a handler needs: configuration, store, hasher, key and the policies.
pub struct App {
    /// The configuration.
    pub config: SandboxConfig,
    /// All state.
    pub store: Arc<dyn Store>,
    /// The argon2id hasher.
    pub passwords: PasswordService,
    /// The credential-envelope key.
    pub key: ServerKey,
    /// OTP policy.
    pub otp: OtpPolicy,
    /// Captcha policy.
    pub captcha: CaptchaPolicy,
    /// Lockout policy.
    pub lockout: LockoutPolicy,
    /// Token lifetimes.
    pub family_life: FamilyLifetimes,
    /// Password checks of one username run one at a time (see [`App::check_password`]).
    pub password_stripes: PasswordStripes,
    /// Sessions started and refresh requests per session (`GET /_sandbox/refreshes`).
    pub refresh_counter: RefreshCounter,
}

/// Counts of sessions started and of refresh requests per session family, for tests that
/// check how many refreshes reached the bank (`GET /_sandbox/refreshes`).
#[derive(Debug, Default)]
pub struct RefreshCounter(std::sync::Mutex<RefreshCounts>);

/// What [`RefreshCounter`] has counted.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshCounts {
    /// Session families started (logins that got tokens), both APIs.
    pub sessions_started: u64,
    /// Refresh requests that named a known session family, both APIs.
    pub refreshes: u64,
    /// Per session family (its `sessionState`), those with at least one refresh request.
    pub sessions: std::collections::BTreeMap<String, SessionRefreshes>,
}

/// The refresh requests of one session family.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionRefreshes {
    /// The user.
    pub user: String,
    /// Refresh requests for the family (rotated or refused).
    pub requests: u64,
    /// Requests that rotated the tokens.
    pub rotated: u64,
}

impl RefreshCounter {
    fn with<T>(&self, f: impl FnOnce(&mut RefreshCounts) -> T) -> T {
        f(&mut self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// The counts so far.
    pub fn counts(&self) -> RefreshCounts {
        self.with(|c| c.clone())
    }
}

/// Striped locks that serialize the password checks of one username: the lock check, the
/// comparison and the count then happen as one step, so a parallel burst of guesses is judged
/// one after another and at most the lockout threshold is ever judged, while concurrent right
/// passwords simply wait their turn (no lock from legitimate parallel logins). A fixed number of
/// stripes keeps memory bounded whatever usernames arrive. This serializes within one process;
/// a store shared by several server instances would need the same atomicity in the store.
pub struct PasswordStripes(Box<[tokio::sync::Mutex<()>]>);

impl PasswordStripes {
    const STRIPES: usize = 64;

    fn stripe(&self, username: &str) -> &tokio::sync::Mutex<()> {
        // FNV-1a: a stable spread over the stripes; no secret is involved.
        let h = username.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        &self.0[(h % Self::STRIPES as u64) as usize]
    }
}

impl Default for PasswordStripes {
    fn default() -> Self {
        Self(
            (0..Self::STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        )
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The token set both APIs return.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenSet {
    /// The access token.
    pub access_token: String,
    /// Access token lifetime in seconds.
    pub expires: u64,
    /// Refresh token lifetime in seconds.
    pub refresh_expires: u64,
    /// The refresh token (rotated on every refresh).
    pub refresh_token: String,
    /// Granted scope, space separated.
    pub scope: String,
    /// The session id.
    pub session_state: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// The redirect URI of the login (internet banking) or the first configured one (realm).
    pub redirect_url: String,
}

/// Which throttle a check is for.
#[derive(Clone, Copy, Debug)]
pub enum ThrottleKind {
    /// Credential attempts per username.
    Login,
    /// OTP sends per username.
    OtpSend,
    /// All requests per client address.
    Ip,
}

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl App {
    /// Builds the context: hashes the configured passwords into a fresh store.
    ///
    /// # Errors
    /// When the argon2 parameters are invalid or hashing fails.
    pub async fn new(
        config: SandboxConfig,
        store: Arc<dyn Store>,
        key: ServerKey,
    ) -> Result<Self, ApiError> {
        let passwords =
            PasswordService::new(&config.argon2).map_err(|e| ApiError::server(e.to_string()))?;
        let lt = &config.lifetimes;
        let app = App {
            otp: OtpPolicy {
                max_attempts: config.otp_max_attempts,
                lifetime: secs(lt.otp_secs),
                fixed: config.fixed_otp.clone(),
                ..OtpPolicy::default()
            },
            captcha: CaptchaPolicy {
                lifetime: secs(lt.captcha_secs),
                fixed: config.fixed_captcha.clone(),
                ..CaptchaPolicy::default()
            },
            lockout: LockoutPolicy {
                threshold: config.lockout.threshold,
                window: secs(config.lockout.window_secs),
            },
            family_life: FamilyLifetimes {
                access: secs(lt.access_token_secs),
                refresh: secs(lt.refresh_token_secs),
            },
            passwords,
            password_stripes: PasswordStripes::default(),
            refresh_counter: RefreshCounter::default(),
            key,
            store,
            config,
        };
        for (name, user) in &app.config.users {
            let password_hash = app
                .passwords
                .hash(&user.password)
                .await
                .map_err(|e| ApiError::server(e.to_string()))?;
            let record = UserRecord {
                password_hash,
                mfa: user.mfa,
                channel: user.channel,
                last_location: user.last_location,
            };
            app.store.users().put(name, record).await;
        }
        Ok(app)
    }

    /// Counts one event for `subject` under the throttle `kind`, or refuses with 429.
    ///
    /// # Errors
    /// 429 `rate_limited` with `Retry-After`.
    pub async fn throttle(
        &self,
        kind: ThrottleKind,
        subject: &str,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let t = &self.config.throttle;
        let (prefix, limit): (&str, &Option<Limit>) = match kind {
            ThrottleKind::Login => ("login", &t.login_per_user),
            ThrottleKind::OtpSend => ("otp", &t.otp_send_per_user),
            ThrottleKind::Ip => ("ip", &t.requests_per_ip),
        };
        let Some(limit) = limit else { return Ok(()) };
        let policy = ThrottlePolicy {
            limit: limit.limit,
            window: secs(limit.window_secs),
        };
        self.store
            .throttles()
            .update(&format!("{prefix}:{subject}"), |slot| {
                slot.get_or_insert_with(ThrottleWindow::default)
                    .hit(&policy, now)
            })
            .await
            .map_err(ApiError::rate_limited)
    }

    /// The credential check both APIs share: throttle, then lockout and argon2id as one step
    /// per username ([`PasswordStripes`]).
    ///
    /// Unknown usernames take the same path (a dummy hash, the same counters, the same 401), so
    /// no answer tells whether a username exists. Returns the user on success and clears the
    /// wrong-password count.
    ///
    /// # Errors
    /// 429 throttled, 423 locked, 401 `invalid_credentials`, 500 when hashing fails.
    pub async fn check_password(
        &self,
        username: &str,
        password: &Secret,
        now: Timestamp,
    ) -> Result<UserRecord, ApiError> {
        self.throttle(ThrottleKind::Login, username, now).await?;
        self.check_password_unthrottled(username, password, now)
            .await
    }

    /// Lockout and argon2id, one username at a time: the lock is checked, the password compared
    /// and a wrong one counted while this username's stripe is held, so a parallel burst cannot
    /// pass the lock check before any guess is counted.
    ///
    /// # Errors
    /// 423 locked, 401 `invalid_credentials`, 500 when hashing fails.
    pub async fn check_password_unthrottled(
        &self,
        username: &str,
        password: &Secret,
        now: Timestamp,
    ) -> Result<UserRecord, ApiError> {
        let _turn = self.password_stripes.stripe(username).lock().await;
        self.ensure_not_locked(username, now).await?;
        self.verify_password(username, password, now).await
    }

    /// 423 when `username` is locked now.
    ///
    /// # Errors
    /// 423 `locked`.
    async fn ensure_not_locked(&self, username: &str, now: Timestamp) -> Result<(), ApiError> {
        let locked = self
            .store
            .lockouts()
            .update(username, |slot| {
                slot.as_ref().and_then(|c| c.locked_for(now))
            })
            .await;
        match locked {
            Some(secs) => Err(ApiError::locked(secs)),
            None => Ok(()),
        }
    }

    /// argon2id check of `password`, counting a wrong one toward the lockout.
    async fn verify_password(
        &self,
        username: &str,
        password: &Secret,
        now: Timestamp,
    ) -> Result<UserRecord, ApiError> {
        let user = self.store.users().get(username).await;
        let ok = self
            .passwords
            .verify(user.as_ref().map(|u| u.password_hash.as_str()), password)
            .await
            .map_err(|e| ApiError::server(e.to_string()))?;
        match user {
            Some(user) if ok => {
                self.store.lockouts().take(username).await;
                Ok(user)
            }
            _ => {
                let policy = &self.lockout;
                self.store
                    .lockouts()
                    .update(username, |slot| {
                        slot.get_or_insert_with(LockoutCounter::default)
                            .record_failure(policy, now)
                    })
                    .await;
                Err(ApiError::invalid_credentials("wrong username or password"))
            }
        }
    }

    /// Issues an OTP for `user` and records it in the dev outbox.
    pub async fn send_otp(
        &self,
        user: &str,
        channel: Channel,
        purpose: &str,
        now: Timestamp,
    ) -> OtpState {
        let otp = self.otp.issue(now);
        let entry = OutboxEntry {
            user: user.to_owned(),
            channel,
            ref_id: otp.ref_id.clone(),
            otp: otp.code.expose().to_owned(),
            purpose: purpose.to_owned(),
            sent_at: now,
        };
        tracing::debug!(user, ?channel, purpose, ref_id = %otp.ref_id, "OTP sent to the dev outbox");
        self.store.outbox().push(entry).await;
        otp
    }

    /// Starts the session family `family_id` (a fresh [`new_family_id`]) and returns its
    /// token set.
    pub async fn start_session(
        &self,
        family_id: &str,
        api: Api,
        user: &str,
        scope: String,
        redirect_url: String,
        now: Timestamp,
    ) -> TokenSet {
        let (mut family, pair) = SessionFamily::new(user.to_owned(), scope, &self.family_life, now);
        family.redirect_url = redirect_url;
        self.index_pair(family_id, api, &family, &pair).await;
        let set = self.token_set(family_id, &family, pair, now);
        self.store.sessions().put(family_id, family).await;
        self.refresh_counter.with(|c| c.sessions_started += 1);
        set
    }

    /// Rotates a refresh token of `api`.
    ///
    /// # Errors
    /// 401 `invalid_token` when the token is unknown, expired, of the other API, already used
    /// (which revokes the family) or of a revoked family; 400 when `scope` differs.
    pub async fn refresh(
        &self,
        api: Api,
        refresh_token: &str,
        scope: Option<&str>,
        now: Timestamp,
    ) -> Result<TokenSet, ApiError> {
        let key = token_key(refresh_token);
        let Some(token) = self
            .store
            .tokens()
            .get(&key)
            .await
            .filter(|t| t.kind == TokenKind::Refresh && t.api == api)
        else {
            return Err(ApiError::invalid_token("unknown refresh token"));
        };
        let life = &self.family_life;
        let outcome = self
            .store
            .sessions()
            .update(&token.family, |slot| match slot.as_mut() {
                None => Err(ApiError::invalid_token("this session has ended")),
                Some(family) => {
                    if let Some(scope) = scope
                        && !family.revoked
                        && family.scope != scope
                    {
                        return Err(ApiError::invalid_request(
                            "scope differs from the session's scope",
                        ));
                    }
                    match family.rotate(&key, life, now) {
                        Refresh::Rotated(pair) => Ok((family.clone(), pair)),
                        Refresh::Expired => {
                            Err(ApiError::invalid_token("the refresh token has expired"))
                        }
                        Refresh::Reused => Err(ApiError::invalid_token(
                            "this refresh token was already used: the whole session is now revoked",
                        )),
                        Refresh::Revoked => {
                            Err(ApiError::invalid_token("this session was revoked"))
                        }
                    }
                }
            })
            .await;
        self.refresh_counter.with(|c| {
            c.refreshes += 1;
            let entry = c.sessions.entry(token.family.clone()).or_default();
            entry.requests += 1;
            if let Ok((family, _)) = &outcome {
                entry.user.clone_from(&family.user);
                entry.rotated += 1;
            }
        });
        let (family, pair) = outcome?;
        self.index_pair(&token.family, api, &family, &pair).await;
        Ok(self.token_set(&token.family, &family, pair, now))
    }

    /// Revokes the family of a current access token of `api`.
    ///
    /// # Errors
    /// 401 `invalid_token` when the access token is not current.
    pub async fn revoke_by_access(
        &self,
        api: Api,
        access_token: &str,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let family = self.session_of_access(api, access_token, now).await?;
        self.revoke_family(&family).await;
        Ok(())
    }

    /// The family id and record of a current access token of `api`.
    ///
    /// # Errors
    /// 401 `invalid_token`.
    pub async fn session_of_access(
        &self,
        api: Api,
        access_token: &str,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let key = token_key(access_token);
        let token = self
            .store
            .tokens()
            .get(&key)
            .await
            .filter(|t| t.kind == TokenKind::Access && t.api == api);
        let valid = match &token {
            Some(t) => {
                self.store
                    .sessions()
                    .update(&t.family, |s| {
                        s.as_ref().is_some_and(|f| f.access_is_valid(&key, now))
                    })
                    .await
            }
            None => false,
        };
        match token {
            Some(t) if valid => Ok(t.family),
            _ => Err(ApiError::invalid_token(
                "unknown, expired or revoked access token",
            )),
        }
    }

    /// Marks a family revoked (no-op when it is gone).
    pub async fn revoke_family(&self, family_id: &str) {
        self.store
            .sessions()
            .update(family_id, |slot| {
                if let Some(f) = slot.as_mut() {
                    f.revoked = true;
                }
            })
            .await;
    }

    async fn index_pair(
        &self,
        family_id: &str,
        api: Api,
        family: &SessionFamily,
        pair: &TokenPair,
    ) {
        let access = TokenRef {
            family: family_id.to_owned(),
            kind: TokenKind::Access,
            api,
            expires_at: family.access_expires,
        };
        let refresh = TokenRef {
            family: family_id.to_owned(),
            kind: TokenKind::Refresh,
            api,
            expires_at: family.refresh_expires,
        };
        self.store
            .tokens()
            .put(&token_key(pair.access.expose()), access)
            .await;
        self.store
            .tokens()
            .put(&token_key(pair.refresh.expose()), refresh)
            .await;
    }

    fn token_set(
        &self,
        family_id: &str,
        family: &SessionFamily,
        pair: TokenPair,
        now: Timestamp,
    ) -> TokenSet {
        TokenSet {
            access_token: pair.access.expose().to_owned(),
            expires: now.secs_until(family.access_expires),
            refresh_expires: now.secs_until(family.refresh_expires),
            refresh_token: pair.refresh.expose().to_owned(),
            scope: family.scope.clone(),
            session_state: family_id.to_owned(),
            token_type: "Bearer".to_owned(),
            redirect_url: family.redirect_url.clone(),
        }
    }
}

/// A fresh session family id (the `sessionState`).
pub fn new_family_id() -> String {
    opaque_token().expose().to_owned()
}

/// The error for an OTP attempt that was not accepted.
pub fn otp_rejection(verdict: OtpVerdict) -> ApiError {
    match verdict {
        OtpVerdict::Accepted => ApiError::server("an accepted OTP is not a rejection"),
        OtpVerdict::Wrong { attempts_left } => ApiError::invalid_otp(format!(
            "wrong one-time password; {attempts_left} attempt(s) left"
        )),
        OtpVerdict::Exhausted => ApiError::expired(
            "too many wrong one-time passwords: this request is no longer valid; start again",
        ),
        OtpVerdict::Expired => ApiError::expired("the one-time password has expired; start again"),
        OtpVerdict::Spent => ApiError::not_found("this one-time password was already used"),
    }
}
