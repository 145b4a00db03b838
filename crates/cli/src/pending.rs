//! Pending files: a login paused at a question (an OTP, a captcha answer), written by
//! `login --save-pending FILE` and finished by `loginflow resume --pending FILE`, possibly in
//! another process hours later, within the flow's expiry.
//!
//! ```json
//! {"format":"loginflow-pending","version":1,
//!  "transport":{"baseUrl":"...","allowHttp":false},
//!  "profile":{"api":"realm",...},
//!  "username":"bob","waitingFor":"otp","refId":"K2","channel":"sms",
//!  "createdAt":1795400000,"expiresAt":1795400300,
//!  "flow":{"v":1,"api":"realm","flow":{"state":"MfaPending","data":{...}}}}
//! ```
//!
//! Like a session file it is written with mode 0600, atomically, under the sidecar lock. It
//! holds no password, no OTP and no device token: the realm flow pauses at `MfaPending` (the
//! request id, its expiry and the OTP reference); the internet-banking flow at `MfaPending`
//! (the MFA challenge and the PKCE verifier) or `CaptchaShown` (the login challenge, the
//! authorize token and the captcha), and a captcha answer is sealed with the password again at
//! `resume`. For that, `serverKey` keeps the server's public JWK (public, not a secret) and
//! `captchaImage` names the PNG written beside the file (`FILE.captcha.png`).
//!
//! After a successful resume the file is rewritten as `used` (`{"at": ...}`), without the flow;
//! when the server ends the flow it is rewritten as `ended` (`{"kind","at"}`). Both are refused
//! by a later `resume` with a clear error, as is a file past `expiresAt`.

use std::path::{Path, PathBuf};

use login_core::{Flow, Profile};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::session::{Ended, Endpoint};

/// The value of the `format` field.
pub const FORMAT: &str = "loginflow-pending";
/// The pending file version this build writes and reads.
pub const VERSION: u32 = 1;
/// The largest pending file read (a captcha PNG is inside the snapshot).
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// What a paused login waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WaitingFor {
    /// A one-time password.
    Otp,
    /// A captcha answer (and the password again).
    Captcha,
    /// The password (an internet-banking login back at `Authorized`).
    Password,
    /// Nothing: the next step needs no answer.
    Nothing,
}

impl WaitingFor {
    /// The word the CLI prints.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitingFor::Otp => "otp",
            WaitingFor::Captcha => "captcha",
            WaitingFor::Password => "password",
            WaitingFor::Nothing => "nothing",
        }
    }
}

/// When a pending file was used up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Used {
    /// Unix seconds.
    pub at: u64,
}

/// Everything in a pending file but the flow: nothing secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingInfo {
    /// Where the server is.
    pub transport: Endpoint,
    /// The API's non-secret settings.
    pub profile: Profile,
    /// Who is logging in.
    pub username: String,
    /// What the flow waits for.
    pub waiting_for: WaitingFor,
    /// Where the OTP went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The OTP reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<String>,
    /// The captcha PNG written beside the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captcha_image: Option<PathBuf>,
    /// The server's public credential-encryption key (a JWK), for a captcha resumed later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key: Option<serde_json::Value>,
    /// Where `login --save-session` asked the session to go (absolute), for `resume` to write
    /// it there unless it names another file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_session: Option<PathBuf>,
    /// When the login paused, Unix seconds.
    pub created_at: u64,
    /// When the paused flow expires on the server, Unix seconds, when the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Set once a resume finished the login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used: Option<Used>,
    /// Set when the server ended the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ended>,
}

/// A pending file: its information and the paused flow (absent once used or ended).
#[derive(Debug, Clone)]
pub struct PendingFile {
    /// What the file says about the flow.
    pub info: PendingInfo,
    /// The paused flow.
    pub flow: Option<Flow>,
}

/// A pending file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    /// The file cannot be opened or read.
    #[error("cannot read the pending file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes are not a pending file this build reads.
    #[error("the pending file {} is not usable: {why}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Writing failed.
    #[error("cannot {what} the pending file {}: {detail}", path.display())]
    Write {
        /// The step that failed.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

#[derive(Serialize)]
struct Header<'a> {
    format: &'a str,
    version: u32,
    #[serde(flatten)]
    info: &'a PendingInfo,
}

#[derive(Deserialize)]
struct VersionIn {
    format: Option<String>,
    version: Option<u32>,
}

#[derive(Deserialize)]
struct FlowIn<'a> {
    #[serde(borrow, default)]
    flow: Option<&'a serde_json::value::RawValue>,
}

/// Serializes a pending file (the flow's secrets inside: zeroed on drop).
///
/// # Errors
/// Serializing failed (not expected).
pub fn encode(file: &PendingFile) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut out = Zeroizing::new(Vec::with_capacity(4096));
    serde_json::to_writer(
        &mut *out,
        &Header {
            format: FORMAT,
            version: VERSION,
            info: &file.info,
        },
    )
    .map_err(|e| e.to_string())?;
    if let Some(flow) = &file.flow {
        let snapshot = flow.to_snapshot();
        out.pop();
        out.extend_from_slice(b",\"flow\":");
        out.extend_from_slice(snapshot.expose());
        out.push(b'}');
    }
    out.push(b'\n');
    Ok(out)
}

/// Parses pending-file bytes (untrusted).
///
/// # Errors
/// The bytes are not a pending file of this version, or the flow does not fit the profile.
pub fn decode(bytes: &[u8]) -> Result<PendingFile, String> {
    let version: VersionIn = serde_json::from_slice(bytes).map_err(|_| "not JSON".to_owned())?;
    if version.format.as_deref() != Some(FORMAT) {
        return Err("not a loginflow pending file".into());
    }
    if version.version != Some(VERSION) {
        return Err(format!(
            "pending file version {:?} is not supported (this build reads {VERSION})",
            version.version
        ));
    }
    let info: PendingInfo =
        serde_json::from_slice(bytes).map_err(|_| "missing or malformed fields".to_owned())?;
    let raw: FlowIn<'_> =
        serde_json::from_slice(bytes).map_err(|_| "missing or malformed fields".to_owned())?;
    let flow = match raw.flow {
        Some(raw) => {
            let flow = Flow::from_snapshot(raw.get().as_bytes()).map_err(|e| e.to_string())?;
            let fits = match &info.profile {
                Profile::Realm(_) => flow.api() == login_core::table::Api::Realm,
                Profile::Ciam(_) => flow.api() == login_core::table::Api::Ciam,
            };
            if !fits {
                return Err("the flow is not of the profile's API".into());
            }
            Some(flow)
        }
        None => None,
    };
    Ok(PendingFile { info, flow })
}

/// Reads a pending file.
///
/// # Errors
/// Unreadable, or not a usable pending file.
pub fn read(path: &Path) -> Result<PendingFile, PendingError> {
    let bytes = crate::files::read_capped(path, MAX_FILE_BYTES).map_err(|f| match f {
        crate::files::ReadFailure::Io(source) => PendingError::Read {
            path: path.to_path_buf(),
            source,
        },
        crate::files::ReadFailure::TooLarge => PendingError::Unusable {
            path: path.to_path_buf(),
            why: "too large".into(),
        },
    })?;
    decode(&bytes).map_err(|why| PendingError::Unusable {
        path: path.to_path_buf(),
        why,
    })
}

/// Writes a pending file with mode 0600, atomically.
///
/// # Errors
/// The file cannot be written.
pub fn write(path: &Path, file: &PendingFile) -> Result<(), PendingError> {
    let fail = |what, detail| PendingError::Write {
        what,
        path: path.to_path_buf(),
        detail,
    };
    let bytes = encode(file).map_err(|e| fail("encode", e))?;
    crate::files::write_private_atomically(path, ".loginflow-pending-", &bytes)
        .map_err(|f| fail(f.what, f.detail))
}

/// Where the captcha PNG of the pending file `path` goes: `FILE.captcha.png`.
pub fn captcha_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".captcha.png");
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(name),
        _ => PathBuf::from(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use login_core::realm::{self, RealmProfile};
    use login_core::secret::{ClientSecret, Password};
    use login_core::{Response, realm::RealmConfig};
    use std::time::SystemTime;

    fn mfa_pending() -> Flow {
        let cfg = RealmConfig::new("cap", "cap-mobile", ClientSecret::new("s"));
        let (_r, p) = realm::Start::new("bob", Password::new("CANARY-pw")).request_login(&cfg);
        let reply = Response::new(
            201,
            br#"{"reqId":"r1","exp":300,"mfa":"otp","refId":"K2"}"#.to_vec(),
        );
        let Ok(realm::LoginStarted::MfaPending(m)) = p.receive(&reply, SystemTime::now()) else {
            panic!("MfaPending")
        };
        Flow::from(m)
    }

    fn info() -> PendingInfo {
        PendingInfo {
            transport: Endpoint {
                base_url: "http://127.0.0.1:9/x".into(),
                allow_http: false,
                timeout_secs: None,
            },
            profile: Profile::from(RealmProfile::new("cap", "cap-mobile")),
            username: "bob".into(),
            waiting_for: WaitingFor::Otp,
            channel: None,
            ref_id: Some("K2".into()),
            captcha_image: None,
            server_key: None,
            save_session: None,
            created_at: 1,
            expires_at: Some(301),
            used: None,
            ended: None,
        }
    }

    #[test]
    fn round_trips_and_holds_no_password() {
        let file = PendingFile {
            info: info(),
            flow: Some(mfa_pending()),
        };
        let bytes = encode(&file).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.starts_with(r#"{"format":"loginflow-pending","version":1,"transport":"#),
            "{text}"
        );
        assert!(!text.contains("CANARY-pw"));
        let back = decode(&bytes).unwrap();
        assert_eq!(back.info.ref_id.as_deref(), Some("K2"));
        assert_eq!(
            back.flow.map(|f| f.state_id()),
            Some(login_core::table::StateId::MfaPending)
        );
        // Used: no flow.
        let mut used = info();
        used.used = Some(Used { at: 2 });
        let bytes = encode(&PendingFile {
            info: used,
            flow: None,
        })
        .unwrap();
        let back = decode(&bytes).unwrap();
        assert!(back.flow.is_none() && back.info.used.is_some());
        for bad in [
            &b"{}"[..],
            b"[",
            br#"{"format":"loginflow-pending","version":9}"#,
        ] {
            assert!(decode(bad).is_err());
        }
    }

    #[test]
    fn captcha_image_sits_beside_the_file() {
        assert_eq!(
            captcha_path(Path::new("/tmp/a/bob.pending")),
            Path::new("/tmp/a/bob.pending.captcha.png")
        );
        assert_eq!(captcha_path(Path::new("p")), Path::new("p.captcha.png"));
    }
}
