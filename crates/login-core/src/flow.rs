//! The enum of all states, for storage and property tests, and its versioned snapshot format.
//!
//! A flow suspended at `MfaPending` (the user takes minutes to read the OTP) is written as a
//! snapshot and resumed in another process. **A snapshot holds secrets** (tokens, the PKCE
//! verifier, the realm `reqId`): store it as you would a password. Bytes from anywhere else
//! are untrusted: resuming checks the format version and gives a typed error on anything else.
//!
//! ```
//! use login_core::{flow::Flow, realm, secret::{ClientSecret, Password}, Response};
//! # use std::time::SystemTime;
//! let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("from-env"));
//! let (_req, p) = realm::Start::new("bob", Password::new("pw")).request_login(&cfg);
//! let reply = Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"otp"}"#.to_vec());
//! let realm::LoginStarted::MfaPending(m) = p.receive(&reply, SystemTime::now()).unwrap() else { panic!() };
//!
//! let bytes = Flow::from(m).to_snapshot();
//! // ... later, in another process:
//! let Flow::Realm(realm::State::MfaPending(resumed)) = Flow::from_snapshot(bytes.expose()).unwrap() else { panic!() };
//! assert!(Flow::from_snapshot(b"{\"v\":99}").is_err());
//! ```

use serde::{Deserialize, Serialize};

use crate::secret::SecretBytes;
use crate::table::{Api, StateId};
use crate::{ciam, forgot, realm};

/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// The largest snapshot accepted, in bytes; anything larger is refused before parsing.
pub const MAX_SNAPSHOT_BYTES: usize = 64 * 1024;

macro_rules! state_enum {
    ($(#[$doc:meta])* $name:ident, $module:ident, { $($variant:ident => $id:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize)]
        #[serde(tag = "state", content = "data")]
        pub enum $name {
            $(
                #[allow(missing_docs)]
                $variant($module::$variant),
            )*
        }

        impl $name {
            pub(crate) fn check(&self) -> check::Result {
                match self {
                    $($name::$variant(s) => s.check(),)*
                }
            }

            /// The state's id in the transition table.
            pub fn id(&self) -> StateId {
                match self {
                    $($name::$variant(_) => StateId::$id,)*
                }
            }
        }

        $(
            impl From<$module::$variant> for $name {
                fn from(s: $module::$variant) -> Self {
                    $name::$variant(s)
                }
            }
        )*
    };
}

/// The states of a realm flow.
pub mod realm_state {
    use super::*;
    state_enum!(
        /// A realm flow in any state.
        State, realm, {
        Start => Start,
        Challenged => Challenged,
        MfaPending => MfaPending,
        Tokened => Tokened,
        Revoked => Revoked,
    });
}

/// The states of an internet-banking flow.
pub mod ciam_state {
    use super::*;
    state_enum!(
        /// An internet-banking flow in any state.
        State, ciam, {
        Start => Start,
        Authorized => Authorized,
        CaptchaShown => CaptchaShown,
        Challenged => Challenged,
        MfaPending => MfaPending,
        Tokened => Tokened,
        Revoked => Revoked,
    });
}

/// The states of a forgot-password flow.
pub mod forgot_state {
    use super::*;
    state_enum!(
        /// A forgot-password flow in any state.
        State, forgot, {
        Start => ResetStart,
        OtpSent => OtpSent,
        Verified => Verified,
        PasswordReset => PasswordReset,
    });
}

/// Any flow of any API in any state: an enum whose variants own the typed states, so matching
/// hands back a value with exactly the transitions legal from there.
///
/// It serializes, but has no public `Deserialize`: [`Flow::from_snapshot`] is the only way in,
/// so every flow read from outside has passed the format version and invariant checks.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "api", content = "flow", rename_all = "snake_case")]
pub enum Flow {
    /// The realm API.
    Realm(realm::State),
    /// The internet-banking API.
    Ciam(ciam::State),
    /// The realm API's forgot-password machine.
    ForgotPassword(forgot::State),
}

#[derive(Serialize)]
struct SnapshotOut<'a> {
    v: u32,
    #[serde(flatten)]
    flow: &'a Flow,
}

#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

#[derive(Deserialize)]
struct SnapshotIn {
    #[serde(flatten, with = "shadow::Flow")]
    flow: Flow,
}

/// Why a snapshot could not be resumed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Written by another format version.
    #[error(
        "snapshot format version {found} is not supported (this build reads {SNAPSHOT_VERSION})"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// Larger than [`MAX_SNAPSHOT_BYTES`].
    #[error("snapshot is {0} bytes, more than the {MAX_SNAPSHOT_BYTES} accepted")]
    TooLarge(usize),
    /// Not a snapshot, or damaged.
    #[error("snapshot is corrupt: {0}")]
    Corrupt(String),
}

impl Flow {
    /// The API of the flow.
    pub fn api(&self) -> Api {
        match self {
            Flow::Realm(_) => Api::Realm,
            Flow::Ciam(_) => Api::Ciam,
            Flow::ForgotPassword(_) => Api::ForgotPassword,
        }
    }

    /// The state's id in the transition table.
    pub fn state_id(&self) -> StateId {
        match self {
            Flow::Realm(s) => s.id(),
            Flow::Ciam(s) => s.id(),
            Flow::ForgotPassword(s) => s.id(),
        }
    }

    /// Serializes the flow with its format version. The bytes hold secrets.
    pub fn to_snapshot(&self) -> SecretBytes {
        let mut buf = Vec::with_capacity(512);
        // Plain data into a Vec: cannot fail.
        let _ = serde_json::to_writer(
            &mut buf,
            &SnapshotOut {
                v: SNAPSHOT_VERSION,
                flow: self,
            },
        );
        SecretBytes::new(buf)
    }

    /// Resumes a flow from snapshot bytes, which may be untrusted.
    ///
    /// # Errors
    /// [`SnapshotError::TooLarge`] past [`MAX_SNAPSHOT_BYTES`];
    /// [`SnapshotError::UnsupportedVersion`] for another format version;
    /// [`SnapshotError::Corrupt`] for anything that is not a snapshot this engine could have
    /// written (bad JSON, an unknown state, a field that breaks a state's invariants).
    pub fn from_snapshot(bytes: &[u8]) -> Result<Flow, SnapshotError> {
        if bytes.len() > MAX_SNAPSHOT_BYTES {
            return Err(SnapshotError::TooLarge(bytes.len()));
        }
        // Two passes on purpose: the version is read alone first, so a snapshot of another format
        // version is reported as such instead of as a shape error.
        let version: VersionOnly = serde_json::from_slice(bytes)
            .map_err(|e| SnapshotError::Corrupt(format!("no format version ({})", category(&e))))?;
        if version.v != SNAPSHOT_VERSION {
            return Err(SnapshotError::UnsupportedVersion { found: version.v });
        }
        let parsed: SnapshotIn = serde_json::from_slice(bytes)
            .map_err(|e| SnapshotError::Corrupt(category(&e).to_owned()))?;
        let checked = match &parsed.flow {
            Flow::Realm(s) => s.check(),
            Flow::Ciam(s) => s.check(),
            Flow::ForgotPassword(s) => s.check(),
        };
        checked.map_err(|what| SnapshotError::Corrupt(what.to_owned()))?;
        Ok(parsed.flow)
    }
}

/// How snapshots are read. The states have no public `Deserialize` (it would skip the version
/// and invariant checks of [`Flow::from_snapshot`]); these private shadows, serde's "remote"
/// derives, read the exact shape the states' `Serialize` writes. The snapshot round-trip tests
/// (`tests/snapshots.rs`, the property tests) fail if the two drift apart.
mod shadow {
    use std::marker::PhantomData;
    use std::time::SystemTime;

    use serde::Deserialize;

    use crate::ciam::{Captcha, Channel};
    use crate::secret::{AccessToken, RefreshToken};
    use crate::secret::{FlowSecret, Password, PkceVerifier, ResetTicket};
    use crate::token::unix_ms;
    use crate::{ciam, forgot, realm};

    #[derive(Deserialize)]
    #[serde(
        remote = "crate::Flow",
        tag = "api",
        content = "flow",
        rename_all = "snake_case"
    )]
    pub(super) enum Flow {
        #[serde(with = "RealmState")]
        Realm(realm::State),
        #[serde(with = "CiamState")]
        Ciam(ciam::State),
        #[serde(with = "ForgotState")]
        ForgotPassword(forgot::State),
    }

    #[derive(Deserialize)]
    #[serde(remote = "realm::State", tag = "state", content = "data")]
    enum RealmState {
        #[serde(with = "RealmStart")]
        Start(realm::Start),
        #[serde(with = "LoginRequest")]
        Challenged(realm::Challenged),
        #[serde(with = "LoginRequest")]
        MfaPending(realm::MfaPending),
        #[serde(with = "Tokened")]
        Tokened(realm::Tokened),
        #[serde(with = "Revoked")]
        Revoked(realm::Revoked),
    }

    #[derive(Deserialize)]
    #[serde(remote = "ciam::State", tag = "state", content = "data")]
    enum CiamState {
        #[serde(with = "CiamStart")]
        Start(ciam::Start),
        #[serde(with = "Authorized")]
        Authorized(ciam::Authorized),
        #[serde(with = "CaptchaShown")]
        CaptchaShown(ciam::CaptchaShown),
        #[serde(with = "CiamChallenged")]
        Challenged(ciam::Challenged),
        #[serde(with = "CiamMfaPending")]
        MfaPending(ciam::MfaPending),
        #[serde(with = "Tokened")]
        Tokened(ciam::Tokened),
        #[serde(with = "Revoked")]
        Revoked(ciam::Revoked),
    }

    #[derive(Deserialize)]
    #[serde(remote = "forgot::State", tag = "state", content = "data")]
    enum ForgotState {
        #[serde(with = "ForgotStart")]
        Start(forgot::Start),
        #[serde(with = "OtpSent")]
        OtpSent(forgot::OtpSent),
        #[serde(with = "Verified")]
        Verified(forgot::Verified),
        #[serde(with = "PasswordReset")]
        PasswordReset(forgot::PasswordReset),
    }

    #[derive(Deserialize)]
    #[serde(remote = "realm::Start")]
    struct RealmStart {
        username: String,
        password: Password,
    }

    #[derive(Deserialize)]
    #[serde(remote = "realm::LoginRequest", rename_all = "camelCase")]
    struct LoginRequest<M> {
        req_id: FlowSecret,
        #[serde(with = "unix_ms::option", default)]
        expires_at: Option<SystemTime>,
        #[serde(default)]
        ref_id: Option<String>,
        #[serde(skip)]
        marker: PhantomData<fn() -> M>,
    }

    #[derive(Deserialize)]
    #[serde(remote = "crate::tokened::Tokened")]
    struct Tokened<A> {
        #[serde(with = "TokenSet")]
        tokens: crate::TokenSet,
        #[serde(skip)]
        api: PhantomData<fn() -> A>,
    }

    #[derive(Deserialize)]
    #[serde(remote = "crate::TokenSet", rename_all = "camelCase")]
    struct TokenSet {
        access_token: AccessToken,
        refresh_token: RefreshToken,
        #[serde(with = "unix_ms::option", default)]
        expires_at: Option<SystemTime>,
        #[serde(with = "unix_ms::option", default)]
        refresh_expires_at: Option<SystemTime>,
        #[serde(default)]
        scope: Option<String>,
        #[serde(default)]
        session_state: Option<String>,
        #[serde(default)]
        token_type: Option<String>,
        #[serde(default)]
        redirect_url: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(remote = "crate::revoked::Revoked", rename_all = "camelCase")]
    struct Revoked {
        sent_request: bool,
    }

    #[derive(Deserialize)]
    #[serde(remote = "ciam::Start", rename_all = "camelCase")]
    struct CiamStart {
        verifier: PkceVerifier,
        state: String,
    }

    #[derive(Deserialize)]
    #[serde(remote = "ciam::Authorized", rename_all = "camelCase")]
    struct Authorized {
        login_challenge: FlowSecret,
        auth_token: FlowSecret,
        verifier: PkceVerifier,
        state: String,
    }

    #[derive(Deserialize)]
    #[serde(remote = "ciam::CaptchaShown", rename_all = "camelCase")]
    struct CaptchaShown {
        #[serde(with = "Authorized")]
        authorized: ciam::Authorized,
        captcha: Captcha,
    }

    #[derive(Deserialize)]
    #[serde(remote = "ciam::Challenged", rename_all = "camelCase")]
    struct CiamChallenged {
        code: FlowSecret,
        token: FlowSecret,
        verifier: PkceVerifier,
        state: String,
    }

    #[derive(Deserialize)]
    #[serde(remote = "ciam::MfaPending", rename_all = "camelCase")]
    struct CiamMfaPending {
        mfa_challenge: FlowSecret,
        channel: Channel,
        #[serde(default)]
        ref_id: Option<String>,
        verifier: PkceVerifier,
        state: String,
    }

    #[derive(Deserialize)]
    #[serde(remote = "forgot::Start")]
    struct ForgotStart {
        username: String,
    }

    #[derive(Deserialize)]
    #[serde(remote = "forgot::OtpSent", rename_all = "camelCase")]
    struct OtpSent {
        username: String,
        req_id: FlowSecret,
        ref_id: String,
    }

    #[derive(Deserialize)]
    #[serde(remote = "forgot::Verified")]
    struct Verified {
        username: String,
        ticket: ResetTicket,
    }

    #[derive(Deserialize)]
    #[serde(remote = "forgot::PasswordReset")]
    struct PasswordReset {
        username: String,
    }
}

/// The engine's own invariants, checked on resume: a snapshot may hold only what the engine
/// itself could have made.
pub(crate) mod check {
    use crate::wire::is_header_safe;

    pub type Result = std::result::Result<(), &'static str>;

    pub fn non_empty(value: &str, what: &'static str) -> Result {
        if value.is_empty() { Err(what) } else { Ok(()) }
    }

    pub fn header_safe(value: &str, what: &'static str) -> Result {
        if is_header_safe(value) {
            Ok(())
        } else {
            Err(what)
        }
    }

    pub fn verifier(value: &crate::secret::PkceVerifier) -> Result {
        crate::pkce::Pkce::from_verifier(value.clone())
            .map(|_| ())
            .map_err(|_| "PKCE verifier is invalid")
    }

    /// A `state` as the engine makes it: at least 22 base64url characters.
    pub fn oauth_state(value: &str) -> Result {
        let ok = value.len() >= 22
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err("state is not one the engine makes")
        }
    }
}

/// Names the kind of parse error without quoting input (it may hold secrets).
fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unknown state or wrong field types",
        serde_json::error::Category::Eof => "truncated",
    }
}

macro_rules! flow_from {
    ($($module:ident :: $state:ident => $variant:ident),* $(,)?) => {
        $(
            impl From<$module::$state> for Flow {
                fn from(s: $module::$state) -> Self {
                    Flow::$variant(s.into())
                }
            }
        )*
    };
}

flow_from!(
    realm::Start => Realm, realm::Challenged => Realm, realm::MfaPending => Realm, realm::Tokened => Realm,
    ciam::Start => Ciam, ciam::Authorized => Ciam, ciam::CaptchaShown => Ciam, ciam::Challenged => Ciam, ciam::MfaPending => Ciam,
    ciam::Tokened => Ciam,
    forgot::Start => ForgotPassword, forgot::OtpSent => ForgotPassword, forgot::Verified => ForgotPassword,
    forgot::PasswordReset => ForgotPassword,
);

/// No public `Deserialize` reaches a flow or a state without [`Flow::from_snapshot`]'s checks:
/// each of these fails to compile.
///
/// ```compile_fail
/// let _: login_core::Flow = serde_json::from_str("{}").unwrap();
/// ```
/// ```compile_fail
/// let _: login_core::realm::State = serde_json::from_str("{}").unwrap();
/// ```
/// ```compile_fail
/// let _: login_core::realm::Tokened = serde_json::from_str("{}").unwrap();
/// ```
/// ```compile_fail
/// let _: login_core::ciam::Tokened = serde_json::from_str("{}").unwrap();
/// ```
/// ```compile_fail
/// let _: login_core::ciam::MfaPending = serde_json::from_str("{}").unwrap();
/// ```
/// ```compile_fail
/// let _: login_core::TokenSet = serde_json::from_str("{}").unwrap();
/// ```
/// The same line for a type that keeps its `Deserialize` compiles, so the blocks above fail for
/// the reason they name:
/// ```
/// let _: Result<login_core::realm::RealmProfile, _> = serde_json::from_str("{}");
/// ```
#[cfg(doctest)]
struct NoPublicDeserialize;
