//! The transition table as data, and the Mermaid and Graphviz DOT renderings made from it.

/// Which API a state or step belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
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
            StepId::RealmRequestLogin
            | StepId::RealmToken
            | StepId::RealmRefresh
            | StepId::RealmRevoke => Api::Realm,
            StepId::ResetRequest | StepId::ResetVerifyOtp | StepId::ResetPassword => {
                Api::ForgotPassword
            }
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

/// A state in the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateId {
    /// Nothing sent yet.
    Start,
    /// Internet banking: a login challenge was issued.
    Authorized,
    /// Internet banking: a captcha was fetched; the login challenge must carry its answer.
    CaptchaShown,
    /// The user is verified; tokens come next.
    Challenged,
    /// A second factor (OTP) is awaited.
    MfaPending,
    /// A session with tokens.
    Tokened,
    /// Terminal: the session ended.
    Revoked,
    /// Forgot password: nothing sent yet.
    ResetStart,
    /// Forgot password: the OTP was sent.
    OtpSent,
    /// Forgot password: the OTP was verified; a reset ticket is held.
    Verified,
    /// Forgot password, terminal: the password was changed.
    PasswordReset,
}

impl StateId {
    /// The state's name as in the diagram.
    pub fn as_str(self) -> &'static str {
        match self {
            StateId::Start => "Start",
            StateId::Authorized => "Authorized",
            StateId::CaptchaShown => "CaptchaShown",
            StateId::Challenged => "Challenged",
            StateId::MfaPending => "MfaPending",
            StateId::Tokened => "Tokened",
            StateId::Revoked => "Revoked",
            StateId::ResetStart => "Start",
            StateId::OtpSent => "OtpSent",
            StateId::Verified => "Verified",
            StateId::PasswordReset => "PasswordReset",
        }
    }

    /// Whether no transition leaves the state.
    pub fn is_terminal(self) -> bool {
        matches!(self, StateId::Revoked | StateId::PasswordReset)
    }
}

/// How a transition is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A success response (with the branch it took, when a step has several).
    Success(&'static str),
    /// A refusal with one of these error kinds gives the state back (drawn as a loop). Every
    /// other non-final failure also gives the state back; these are the ones the flow is
    /// designed around.
    Rejected(&'static [crate::ErrorKind]),
    /// No request: the transition is local.
    Local,
}

/// What the caller hands a step besides its state and the configuration. Together with the
/// step it names an action (see [`crate::action::Action`]): the realm token call takes nothing
/// from `Challenged` but an OTP from `MfaPending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Input {
    /// Nothing: the state holds all the step sends.
    Nothing,
    /// A one-time password.
    Otp,
    /// The user's credentials (internet banking's login challenge).
    Credentials,
    /// The credentials again, with the answer to the captcha shown.
    CaptchaAnswer,
    /// The new password (forgot password).
    NewPassword,
}

/// One row of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    /// The API.
    pub api: Api,
    /// The state the transition leaves.
    pub from: StateId,
    /// The step that takes it.
    pub step: StepId,
    /// What the caller supplies.
    pub input: Input,
    /// How.
    pub outcome: Outcome,
    /// The state it reaches.
    pub to: StateId,
}

use crate::ErrorKind as K;

const fn t(
    api: Api,
    from: StateId,
    step: StepId,
    input: Input,
    outcome: Outcome,
    to: StateId,
) -> Transition {
    Transition {
        api,
        from,
        step,
        input,
        outcome,
        to,
    }
}

/// The transition table: the one source of the diagrams, checked against the engine by a test
/// that explores every state with every class of response.
/// The transition table: the engine consults it before every action ([`crate::Flow::begin`]),
/// the diagrams are drawn from it, and a test explores every state with every class of
/// response to check that the engine takes exactly these arrows.
pub const TRANSITIONS: &[Transition] = &[
    // Realm API.
    t(
        Api::Realm,
        StateId::Start,
        StepId::RealmRequestLogin,
        Input::Nothing,
        Outcome::Success("mfa none"),
        StateId::Challenged,
    ),
    t(
        Api::Realm,
        StateId::Start,
        StepId::RealmRequestLogin,
        Input::Nothing,
        Outcome::Success("mfa otp"),
        StateId::MfaPending,
    ),
    t(
        Api::Realm,
        StateId::Challenged,
        StepId::RealmToken,
        Input::Nothing,
        Outcome::Success(""),
        StateId::Tokened,
    ),
    t(
        Api::Realm,
        StateId::MfaPending,
        StepId::RealmToken,
        Input::Otp,
        Outcome::Success("with otp"),
        StateId::Tokened,
    ),
    t(
        Api::Realm,
        StateId::MfaPending,
        StepId::RealmToken,
        Input::Otp,
        Outcome::Rejected(&[K::InvalidOtp]),
        StateId::MfaPending,
    ),
    t(
        Api::Realm,
        StateId::Tokened,
        StepId::RealmRefresh,
        Input::Nothing,
        Outcome::Success(""),
        StateId::Tokened,
    ),
    t(
        Api::Realm,
        StateId::Tokened,
        StepId::RealmRevoke,
        Input::Nothing,
        Outcome::Local,
        StateId::Revoked,
    ),
    // Forgot password.
    t(
        Api::ForgotPassword,
        StateId::ResetStart,
        StepId::ResetRequest,
        Input::Nothing,
        Outcome::Success(""),
        StateId::OtpSent,
    ),
    t(
        Api::ForgotPassword,
        StateId::OtpSent,
        StepId::ResetVerifyOtp,
        Input::Otp,
        Outcome::Success(""),
        StateId::Verified,
    ),
    t(
        Api::ForgotPassword,
        StateId::OtpSent,
        StepId::ResetVerifyOtp,
        Input::Otp,
        Outcome::Rejected(&[K::InvalidOtp]),
        StateId::OtpSent,
    ),
    t(
        Api::ForgotPassword,
        StateId::Verified,
        StepId::ResetPassword,
        Input::NewPassword,
        Outcome::Success(""),
        StateId::PasswordReset,
    ),
    // Internet banking.
    t(
        Api::Ciam,
        StateId::Start,
        StepId::CiamAuthorize,
        Input::Nothing,
        Outcome::Success(""),
        StateId::Authorized,
    ),
    t(
        Api::Ciam,
        StateId::Authorized,
        StepId::CiamCaptcha,
        Input::Nothing,
        Outcome::Success(""),
        StateId::CaptchaShown,
    ),
    t(
        Api::Ciam,
        StateId::CaptchaShown,
        StepId::CiamCaptcha,
        Input::Nothing,
        Outcome::Success("another"),
        StateId::CaptchaShown,
    ),
    t(
        Api::Ciam,
        StateId::Authorized,
        StepId::CiamLoginChallenge,
        Input::Credentials,
        Outcome::Success("no anomaly"),
        StateId::Challenged,
    ),
    t(
        Api::Ciam,
        StateId::Authorized,
        StepId::CiamLoginChallenge,
        Input::Credentials,
        Outcome::Success("anomaly: 2FA"),
        StateId::MfaPending,
    ),
    t(
        Api::Ciam,
        StateId::Authorized,
        StepId::CiamLoginChallenge,
        Input::Credentials,
        Outcome::Rejected(&[K::InvalidCredentials, K::CaptchaRequired]),
        StateId::Authorized,
    ),
    t(
        Api::Ciam,
        StateId::CaptchaShown,
        StepId::CiamLoginChallenge,
        Input::CaptchaAnswer,
        Outcome::Success("no anomaly"),
        StateId::Challenged,
    ),
    t(
        Api::Ciam,
        StateId::CaptchaShown,
        StepId::CiamLoginChallenge,
        Input::CaptchaAnswer,
        Outcome::Success("anomaly: 2FA"),
        StateId::MfaPending,
    ),
    t(
        Api::Ciam,
        StateId::CaptchaShown,
        StepId::CiamLoginChallenge,
        Input::CaptchaAnswer,
        Outcome::Rejected(&[K::InvalidCredentials, K::InvalidCaptcha, K::CaptchaRequired]),
        StateId::Authorized,
    ),
    t(
        Api::Ciam,
        StateId::MfaPending,
        StepId::CiamPreLoginVerify,
        Input::Otp,
        Outcome::Success(""),
        StateId::Challenged,
    ),
    t(
        Api::Ciam,
        StateId::MfaPending,
        StepId::CiamPreLoginVerify,
        Input::Otp,
        Outcome::Rejected(&[K::InvalidOtp]),
        StateId::MfaPending,
    ),
    t(
        Api::Ciam,
        StateId::Challenged,
        StepId::CiamAccessToken,
        Input::Nothing,
        Outcome::Success(""),
        StateId::Tokened,
    ),
    t(
        Api::Ciam,
        StateId::Tokened,
        StepId::CiamRefresh,
        Input::Nothing,
        Outcome::Success(""),
        StateId::Tokened,
    ),
    t(
        Api::Ciam,
        StateId::Tokened,
        StepId::CiamRevoke,
        Input::Nothing,
        Outcome::Success(""),
        StateId::Revoked,
    ),
];

fn label(tr: &Transition) -> String {
    match tr.outcome {
        Outcome::Success("") => tr.step.as_str().to_owned(),
        Outcome::Success(branch) => format!("{} [{branch}]", tr.step.as_str()),
        Outcome::Rejected(kinds) => {
            let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            format!("{} [{}]", tr.step.as_str(), names.join(" / "))
        }
        Outcome::Local => format!("{} (local, no request)", tr.step.as_str()),
    }
}

const DIAGRAM_APIS: [(Api, &str); 3] = [
    (Api::Realm, "Realm API (seed 000)"),
    (
        Api::ForgotPassword,
        "Realm API: forgot password (seed 000 §2)",
    ),
    (Api::Ciam, "Internet-banking API (seed 001)"),
];

/// The Mermaid `stateDiagram-v2` of one API.
pub fn mermaid(api: Api) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let first = TRANSITIONS.iter().find(|tr| tr.api == api);
    if let Some(first) = first {
        out.push_str(&format!("    [*] --> {}\n", first.from.as_str()));
    }
    for tr in TRANSITIONS.iter().filter(|tr| tr.api == api) {
        out.push_str(&format!(
            "    {} --> {}: {}\n",
            tr.from.as_str(),
            tr.to.as_str(),
            label(tr)
        ));
    }
    let mut terminals: Vec<StateId> = TRANSITIONS
        .iter()
        .filter(|tr| tr.api == api && tr.to.is_terminal())
        .map(|tr| tr.to)
        .collect();
    terminals.dedup();
    for s in terminals {
        out.push_str(&format!("    {} --> [*]\n", s.as_str()));
    }
    out
}

/// The Graphviz DOT digraph of all three machines, one cluster each.
pub fn dot() -> String {
    let mut out = String::from(
        "digraph loginflow {\n    rankdir=LR;\n    node [shape=box, style=rounded];\n",
    );
    for (api, title) in DIAGRAM_APIS {
        let p = api.as_str();
        out.push_str(&format!(
            "    subgraph cluster_{p} {{\n        label=\"{title}\";\n"
        ));
        for tr in TRANSITIONS.iter().filter(|tr| tr.api == api) {
            out.push_str(&format!(
                "        \"{p}.{}\" -> \"{p}.{}\" [label=\"{}\"];\n",
                tr.from.as_str(),
                tr.to.as_str(),
                label(tr)
            ));
        }
        let mut states: Vec<StateId> = TRANSITIONS
            .iter()
            .filter(|tr| tr.api == api)
            .flat_map(|tr| [tr.from, tr.to])
            .collect();
        states.sort();
        states.dedup();
        for s in states {
            out.push_str(&format!(
                "        \"{p}.{}\" [label=\"{}\"];\n",
                s.as_str(),
                s.as_str()
            ));
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}

/// The whole of `docs/state-diagram.md`, generated.
pub fn state_diagram_markdown() -> String {
    let mut out = String::from(
        "# State diagrams\n\n<!-- Generated from login-core's transition table (`login_core::table::TRANSITIONS`) by\n`loginflow diagram`; a test fails when this file differs from the generator. Do not edit by hand. -->\n\n\
         Each arrow is a row of the table: `step` on success, `step [branch]` where a step has several\n\
         outcomes, `step [error kinds]` where a refusal gives the state back for another try. Any other\n\
         transient failure (transport, 429, 5xx) also gives the state back; a final one (expired,\n\
         unknown, revoked, locked, forbidden, state mismatch) ends the flow. One exception: a failed\n\
         captcha fetch from CaptchaShown gives Authorized back, without the captcha it replaced.\n",
    );
    for (api, title) in DIAGRAM_APIS {
        out.push_str(&format!(
            "\n## {title}\n\n```mermaid\n{}```\n",
            mermaid(api)
        ));
    }
    out.push_str(STATES_EXPLAINED);
    out
}

/// What each state holds and why the arrows run as they do (the design card's names).
const STATES_EXPLAINED: &str = "
## The states

The design card names the states Authorized → Challenged → MfaPending → Tokened → Revoked; the names
are kept, and this is what each holds.

- **Start** holds what the first call sends: the realm credentials, or the internet-banking PKCE
  verifier and `state` drawn fresh. Nothing has reached the server yet, so any failure leaves it
  as it was.
- **Authorized** (internet banking) holds the server's login challenge and `authToken` with the PKCE
  pair. The credentials are not in it: they are sealed into the login challenge call and never kept.
- **CaptchaShown** (internet banking) is Authorized with a captcha fetched, its id and image. Its login
  challenge must carry the answer; any answer uses the captcha up, so a refusal leads back to
  Authorized.
- **Challenged** holds proof that the user passed every check: the realm `reqId`, or the internet-banking
  `{code, token}` with the PKCE verifier. Only the token exchange remains.
- **MfaPending** holds what the OTP call needs (the realm `reqId`, or the internet-banking
  `mfaChallenge`) and where the code went. In the realm API it sits beside Challenged (request login
  says `mfa: none` or `otp`, and both lead to the token call); in internet banking it comes before
  Challenged, because the `{code, token}` Challenged holds is what the verified OTP returns.
- **Tokened** holds the token set with absolute expiries: the session. Refresh leads back to it with
  rotated tokens; revoke leaves it for good.
- **Revoked** holds nothing secret, only whether a request reached the server (the realm API revokes
  locally). No arrow leaves it.
- **OtpSent**, **Verified** and **PasswordReset** (forgot password) hold the reset request, then the
  one-time reset ticket, then only the user name: each call consumes what the previous one returned.
";
