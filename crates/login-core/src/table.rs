//! The transition table as data, and the Mermaid and Graphviz DOT renderings made from it.

/// Which API a state or step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Api {
    /// The realm API (seed 000): request login, token, refresh.
    Realm,
    /// The realm API's forgot-password machine (seed 000 §2).
    ForgotPassword,
    /// The internet-banking API (seed 001).
    Ciam,
}

impl Api {
    /// Short name.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Realm => "realm",
            Api::ForgotPassword => "forgot_password",
            Api::Ciam => "ciam",
        }
    }
}

/// One step (one HTTP call, or a local action) of one API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StepId {
    /// Realm `POST /auth/realm/{realmId}/request`.
    RealmRequestLogin,
    /// Realm `POST /auth/realm/{realmId}/token`.
    RealmToken,
    /// Realm `PATCH /auth/realm/{realmId}/token`.
    RealmRefresh,
    /// Realm revoke: local, no request.
    RealmRevoke,
    /// `POST /realm/admin/{realmId}/user/forgotPassword`.
    ResetRequest,
    /// `POST /realm/admin/{realmId}/user/verifyOtp`.
    ResetVerifyOtp,
    /// `POST /realm/admin/{realmId}/user/resetPassword`.
    ResetPassword,
    /// Internet-banking authorize.
    CiamAuthorize,
    /// Internet-banking captcha (GET).
    CiamCaptcha,
    /// Internet-banking login challenge.
    CiamLoginChallenge,
    /// Internet-banking pre-login OTP verify.
    CiamPreLoginVerify,
    /// Internet-banking access token.
    CiamAccessToken,
    /// Internet-banking refresh.
    CiamRefresh,
    /// Internet-banking revoke.
    CiamRevoke,
}

impl StepId {
    /// Every step, in table order.
    pub const ALL: [StepId; 14] = [
        StepId::RealmRequestLogin,
        StepId::RealmToken,
        StepId::RealmRefresh,
        StepId::RealmRevoke,
        StepId::ResetRequest,
        StepId::ResetVerifyOtp,
        StepId::ResetPassword,
        StepId::CiamAuthorize,
        StepId::CiamCaptcha,
        StepId::CiamLoginChallenge,
        StepId::CiamPreLoginVerify,
        StepId::CiamAccessToken,
        StepId::CiamRefresh,
        StepId::CiamRevoke,
    ];

    /// The API the step belongs to.
    pub fn api(self) -> Api {
        match self {
            StepId::RealmRequestLogin | StepId::RealmToken | StepId::RealmRefresh | StepId::RealmRevoke => {
                Api::Realm
            }
            StepId::ResetRequest | StepId::ResetVerifyOtp | StepId::ResetPassword => Api::ForgotPassword,
            _ => Api::Ciam,
        }
    }

    /// A short snake_case name (for logs, spans and diagrams).
    pub fn as_str(self) -> &'static str {
        match self {
            StepId::RealmRequestLogin => "request_login",
            StepId::RealmToken => "token",
            StepId::RealmRefresh => "refresh",
            StepId::RealmRevoke => "revoke",
            StepId::ResetRequest => "request_reset",
            StepId::ResetVerifyOtp => "verify_otp",
            StepId::ResetPassword => "reset_password",
            StepId::CiamAuthorize => "authorize",
            StepId::CiamCaptcha => "captcha",
            StepId::CiamLoginChallenge => "login_challenge",
            StepId::CiamPreLoginVerify => "pre_login_verify",
            StepId::CiamAccessToken => "access_token",
            StepId::CiamRefresh => "refresh",
            StepId::CiamRevoke => "revoke",
        }
    }

    /// Whether repeating the call after a server fault or a lost response is harmless. Only the
    /// captcha fetch is: every other step creates, consumes or rotates something on the server.
    pub fn is_safe_to_repeat(self) -> bool {
        matches!(self, StepId::CiamCaptcha)
    }
}
