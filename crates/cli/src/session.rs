//! Session files: a versioned login-core [`Flow`] snapshot of a `Tokened` (or `Revoked`)
//! session, beside what is needed to refresh or revoke it and nothing secret: where the server
//! is ([`Endpoint`]) and login-core's [`Profile`] of the API.
//!
//! Version 2, written by this build:
//!
//! ```json
//! {"format":"loginflow-session","version":2,
//!  "transport":{"baseUrl":"https://...","allowHttp":false,"timeoutSecs":2.5},
//!  "profile":{"api":"ciam","clientId":"...","redirectUri":"...","scope":"openid",...},
//!  "flow":{"v":1,"api":"ciam","flow":{"state":"Tokened","data":{...}}}}
//! ```
//!
//! `transport.timeoutSecs` is left out when no timeout was given; `profile` is login-core's
//! `Profile` as serde writes it (tagged by `api`: `realm` or `ciam`). Two optional members
//! follow it when known: `username` (who logged in, for `loginflow status`) and `ended`
//! (`{"kind":"invalid_token","at":<unix seconds>}`: the server ended the session, so later
//! commands say so without a request). Readers of version 2 that predate them ignore them.
//!
//! Version 1, written by earlier builds and still read: a flat `config` object in place of
//! `transport` and `profile`:
//!
//! ```json
//! {"format":"loginflow-session","version":1,
//!  "config":{"api":"cap","baseUrl":"...","allowHttp":false,"realm":"cap","clientId":"...",
//!            "scope":["openid"]},
//!  "flow":{...}}
//! ```
//!
//! A file is rewritten in version 2 by the next `refresh` or `revoke`.
//!
//! The file holds tokens: it is written with mode 0600, atomically (a temporary file in the
//! same directory, synced, renamed over the target, then the directory synced), so a reader
//! never sees half a file and a crash never leaves a token-bearing file with wider permissions.
//! The CLI takes an advisory lock on the sidecar `FILE.lock` around read → call → write. The
//! reader takes untrusted bytes (`fuzz/fuzz_targets/session_file.rs` fuzzes [`decode`]).

use std::path::{Path, PathBuf};

use login_core::ciam::{CiamProfile, Routes};
use login_core::realm::RealmProfile;
use login_core::table::Api;
use login_core::{Flow, Profile, SnapshotError};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The value of the `format` field.
pub const FORMAT: &str = "loginflow-session";
/// The session file version this build writes.
pub const VERSION: u32 = 2;
/// The earlier version this build still reads.
const LEGACY_VERSION: u32 = 1;
/// The largest session file read.
const MAX_FILE_BYTES: u64 = 128 * 1024;

/// Where the server is and how to reach it: the transport settings a session was made with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// The base URL.
    pub base_url: String,
    /// Whether plain HTTP to a non-loopback host is allowed.
    #[serde(default)]
    pub allow_http: bool,
    /// The call timeout in seconds, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<f64>,
}

/// What a session file holds.
#[derive(Debug, Clone)]
pub struct SavedSession {
    /// Where the server is.
    pub endpoint: Endpoint,
    /// The API's non-secret settings.
    pub profile: Profile,
    /// The session's flow: `Tokened`, or `Revoked` after `revoke`.
    pub flow: Flow,
}

/// The server ended the session: the refusal's kind and when (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    /// The error kind (`invalid_token`, `expired`, ...).
    pub kind: String,
    /// When the refusal came, in Unix seconds.
    pub at: u64,
}

/// A session file: the session, and what the CLI notes beside it.
#[derive(Debug, Clone)]
pub struct SessionFile {
    /// The session.
    pub saved: SavedSession,
    /// Who logged in, when known (files from earlier builds do not say).
    pub username: Option<String>,
    /// Set when the server ended the session.
    pub ended: Option<Ended>,
}

/// A session file that cannot be read, used or written.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The file cannot be opened or read.
    #[error("cannot read the session file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than any session file.
    #[error("the session file is too large")]
    TooLarge,
    /// The bytes are not a session file this build reads.
    #[error("the session file is not usable: {0}")]
    Unusable(#[from] Unusable),
    /// The session could not be serialized.
    #[error("cannot encode the session: {0}")]
    Encode(String),
    /// Writing the file failed at step `what` (`create a temporary file for`, `write`, ...).
    #[error("cannot {what} the session file {}: {detail}", path.display())]
    Write {
        /// The step that failed.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

/// Why bytes are not a usable session file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    /// Not JSON, or not an object.
    #[error("not a loginflow session (bad JSON)")]
    BadJson,
    /// JSON without this format's marker.
    #[error("not a loginflow session file")]
    NotASessionFile,
    /// Another format version.
    #[error(
        "session format version {0:?} is not supported (this build reads {LEGACY_VERSION} and {VERSION})"
    )]
    Version(Option<u32>),
    /// A field is missing or has the wrong shape.
    #[error("missing or malformed fields")]
    Malformed,
    /// The profile is for one API and the flow for another.
    #[error("the profile is for the {profile} API but the flow is a {flow} flow")]
    ApiMismatch {
        /// The profile's API.
        profile: &'static str,
        /// The flow's API.
        flow: &'static str,
    },
    /// The snapshot is refused.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// The fields written before the flow; the snapshot is spliced in after them (it holds the
/// secrets, and goes from its zeroizing buffer straight into the output's).
#[derive(Serialize)]
struct Header<'a> {
    format: &'a str,
    version: u32,
    transport: &'a Endpoint,
    profile: &'a Profile,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended: Option<&'a Ended>,
}

#[derive(Deserialize)]
struct VersionIn {
    format: Option<String>,
    version: Option<u32>,
}

#[derive(Deserialize)]
struct FileIn<'a> {
    transport: Endpoint,
    profile: Profile,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    ended: Option<Ended>,
    #[serde(borrow)]
    flow: &'a serde_json::value::RawValue,
}

#[derive(Deserialize)]
struct LegacyFileIn<'a> {
    config: LegacyConfig,
    #[serde(borrow)]
    flow: &'a serde_json::value::RawValue,
}

/// The `config` object of a version 1 file: the transport settings and both APIs' fields in
/// one flat object, the API named by its `--api` value.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyConfig {
    api: LegacyApi,
    base_url: String,
    #[serde(default)]
    allow_http: bool,
    #[serde(default)]
    timeout_secs: Option<f64>,
    #[serde(default)]
    realm: Option<String>,
    client_id: String,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    routes: Option<String>,
    #[serde(default)]
    scope: Vec<String>,
    #[serde(default)]
    lat: Option<String>,
    #[serde(default)]
    lon: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
}

/// The API as a version 1 file names it: its `--api` value.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum LegacyApi {
    Cap,
    Ciam,
}

impl LegacyConfig {
    /// The endpoint and the profile the version 1 writer's settings meant.
    fn into_parts(self) -> (Endpoint, Profile) {
        let endpoint = Endpoint {
            base_url: self.base_url,
            allow_http: self.allow_http,
            timeout_secs: self.timeout_secs,
        };
        let profile = match self.api {
            LegacyApi::Cap => Profile::from(
                RealmProfile::new(self.realm.unwrap_or_default(), self.client_id).scope(self.scope),
            ),
            LegacyApi::Ciam => {
                let routes = match self.routes.as_deref() {
                    Some("service") => Routes::service(),
                    _ => Routes::gateway(),
                };
                let mut profile =
                    CiamProfile::new(self.client_id, self.redirect_uri.unwrap_or_default())
                        .routes(routes)
                        .scope(&self.scope);
                if let (Some(lat), Some(lon)) = (self.lat, self.lon) {
                    profile = profile.location(lat, lon);
                }
                if let Some(event) = self.event_id {
                    profile = profile.event_id(event);
                }
                Profile::from(profile)
            }
        };
        (endpoint, profile)
    }
}

/// Serializes a session into bytes that hold secrets (zeroed on drop).
///
/// # Errors
/// Serializing the header failed (not expected: every field serializes).
pub fn encode(session: &SavedSession) -> Result<Zeroizing<Vec<u8>>, SessionError> {
    encode_parts(session, None, None)
}

/// Serializes a session file with its notes (secrets inside: zeroed on drop).
///
/// # Errors
/// As [`encode`].
pub fn encode_file(file: &SessionFile) -> Result<Zeroizing<Vec<u8>>, SessionError> {
    encode_parts(&file.saved, file.username.as_deref(), file.ended.as_ref())
}

fn encode_parts(
    session: &SavedSession,
    username: Option<&str>,
    ended: Option<&Ended>,
) -> Result<Zeroizing<Vec<u8>>, SessionError> {
    let snapshot = session.flow.to_snapshot();
    let mut out = Zeroizing::new(Vec::with_capacity(1024 + snapshot.len()));
    serde_json::to_writer(
        &mut *out,
        &Header {
            format: FORMAT,
            version: VERSION,
            transport: &session.endpoint,
            profile: &session.profile,
            username,
            ended,
        },
    )
    .map_err(|e| SessionError::Encode(e.to_string()))?;
    // `out` holds one JSON object: splice the snapshot in as its last member.
    out.pop();
    out.extend_from_slice(b",\"flow\":");
    out.extend_from_slice(snapshot.expose());
    out.extend_from_slice(b"}\n");
    Ok(out)
}

/// Parses session bytes (untrusted): version 2, or version 1 converted.
///
/// # Errors
/// The bytes are not a session file of either version, or its flow does not fit its profile.
pub fn decode(bytes: &[u8]) -> Result<SavedSession, SessionError> {
    decode_file(bytes).map(|file| file.saved)
}

/// Parses session bytes (untrusted) with the notes beside the session.
///
/// # Errors
/// As [`decode`].
pub fn decode_file(bytes: &[u8]) -> Result<SessionFile, SessionError> {
    let version: VersionIn = serde_json::from_slice(bytes).map_err(|_| Unusable::BadJson)?;
    if version.format.as_deref() != Some(FORMAT) {
        return Err(Unusable::NotASessionFile.into());
    }
    let (endpoint, profile, flow, username, ended) = match version.version {
        Some(VERSION) => {
            let file: FileIn<'_> =
                serde_json::from_slice(bytes).map_err(|_| Unusable::Malformed)?;
            (
                file.transport,
                file.profile,
                file.flow,
                file.username,
                file.ended,
            )
        }
        Some(LEGACY_VERSION) => {
            let file: LegacyFileIn<'_> =
                serde_json::from_slice(bytes).map_err(|_| Unusable::Malformed)?;
            let (endpoint, profile) = file.config.into_parts();
            (endpoint, profile, file.flow, None, None)
        }
        other => return Err(Unusable::Version(other).into()),
    };
    let flow = Flow::from_snapshot(flow.get().as_bytes()).map_err(Unusable::from)?;
    let fits = matches!(
        (profile.api(), flow.api()),
        (Api::Realm, Api::Realm | Api::ForgotPassword) | (Api::Ciam, Api::Ciam)
    );
    if !fits {
        return Err(Unusable::ApiMismatch {
            profile: profile.api().as_str(),
            flow: flow.api().as_str(),
        }
        .into());
    }
    Ok(SessionFile {
        saved: SavedSession {
            endpoint,
            profile,
            flow,
        },
        username,
        ended,
    })
}

/// Writes a session file (version 2) with mode 0600, atomically.
///
/// # Errors
/// The file cannot be written.
pub fn write(path: &Path, session: &SavedSession) -> Result<(), SessionError> {
    let bytes = encode(session)?;
    write_bytes(path, &bytes)
}

/// Writes a session file with its notes, with mode 0600, atomically.
///
/// # Errors
/// The file cannot be written.
pub fn write_file(path: &Path, file: &SessionFile) -> Result<(), SessionError> {
    let bytes = encode_file(file)?;
    write_bytes(path, &bytes)
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), SessionError> {
    crate::files::write_private_atomically(path, ".loginflow-session-", bytes).map_err(|f| {
        SessionError::Write {
            what: f.what,
            path: path.to_path_buf(),
            detail: f.detail,
        }
    })
}

/// Reads a session file.
///
/// # Errors
/// The file cannot be read or is not a usable session file.
pub fn read(path: &Path) -> Result<SavedSession, SessionError> {
    read_file(path).map(|file| file.saved)
}

/// Reads a session file with its notes.
///
/// # Errors
/// The file cannot be read or is not a usable session file.
pub fn read_file(path: &Path) -> Result<SessionFile, SessionError> {
    let bytes = read_bytes(path)?;
    decode_file(&bytes)
}

/// The raw bytes of a session file (to tell whether another process rewrote it).
///
/// # Errors
/// The file cannot be read or is too large.
pub fn read_bytes(path: &Path) -> Result<Zeroizing<Vec<u8>>, SessionError> {
    crate::files::read_capped(path, MAX_FILE_BYTES).map_err(|f| match f {
        crate::files::ReadFailure::Io(source) => SessionError::Read {
            path: path.to_path_buf(),
            source,
        },
        crate::files::ReadFailure::TooLarge => SessionError::TooLarge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use login_core::secret::{ClientSecret, Password};
    use login_core::{Response, realm};
    use std::time::SystemTime;

    fn tokened() -> realm::Tokened {
        let cfg = realm::RealmConfig::new("cap", "cap-mobile", ClientSecret::new("test-cs"));
        let now = SystemTime::now();
        let (_r, p) = realm::Start::new("alice", Password::new("pw")).request_login(&cfg);
        let reply = Response::new(201, br#"{"reqId":"r1","exp":300,"mfa":"none"}"#.to_vec());
        let Ok(realm::LoginStarted::Challenged(c)) = p.receive(&reply, now) else {
            panic!("challenged expected")
        };
        let (_r, p) = c.exchange(&cfg);
        let reply = Response::new(
            201,
            br#"{"accessToken":"ACCESS-1","refreshToken":"REFRESH-1","expires":300}"#.to_vec(),
        );
        p.receive(&reply, now).unwrap()
    }

    fn saved() -> SavedSession {
        SavedSession {
            endpoint: Endpoint {
                base_url: "http://127.0.0.1:9/internal-api/centaur".into(),
                allow_http: false,
                timeout_secs: Some(2.5),
            },
            profile: Profile::from(RealmProfile::new("cap", "cap-mobile")),
            flow: Flow::from(tokened()),
        }
    }

    fn refresh_token(flow: Flow) -> String {
        let Ok(session) = flow.into_session() else {
            panic!("a session expected")
        };
        session.tokens().refresh_token().expose().to_owned()
    }

    #[test]
    fn round_trips_endpoint_profile_and_flow() {
        let bytes = encode(&saved()).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.starts_with(
                r#"{"format":"loginflow-session","version":2,"transport":{"baseUrl":"#
            ),
            "{text}"
        );
        let back = decode(&bytes).unwrap();
        assert_eq!(back.endpoint, saved().endpoint);
        assert_eq!(back.profile, saved().profile);
        assert_eq!(refresh_token(back.flow), "REFRESH-1");
    }

    #[test]
    fn username_and_ended_round_trip_and_are_optional() {
        let file = SessionFile {
            saved: saved(),
            username: Some("bob".into()),
            ended: Some(Ended {
                kind: "invalid_token".into(),
                at: 1_800_000_000,
            }),
        };
        let bytes = encode_file(&file).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.contains(
                r#""username":"bob","ended":{"kind":"invalid_token","at":1800000000},"flow":"#
            ),
            "{text}"
        );
        let back = decode_file(&bytes).unwrap();
        assert_eq!(back.username.as_deref(), Some("bob"));
        assert_eq!(back.ended, file.ended);
        let plain = decode_file(&encode(&saved()).unwrap()).unwrap();
        assert_eq!((plain.username, plain.ended), (None, None));
    }

    /// A file exactly as the version 1 writer laid it out.
    fn legacy_file(config: &str) -> String {
        let snapshot = Flow::from(tokened()).to_snapshot();
        format!(
            r#"{{"format":"loginflow-session","version":1,"config":{config},"flow":{}}}"#,
            std::str::from_utf8(snapshot.expose()).unwrap()
        )
    }

    #[test]
    fn version_1_files_are_read_into_an_endpoint_and_a_profile() {
        let file = legacy_file(
            r#"{"api":"cap","baseUrl":"http://127.0.0.1:9/x","allowHttp":false,"realm":"cap","clientId":"cap-mobile","scope":["openid","profile"]}"#,
        );
        let back = decode(file.as_bytes()).unwrap();
        assert_eq!(back.endpoint.base_url, "http://127.0.0.1:9/x");
        assert_eq!(back.endpoint.timeout_secs, None);
        let Profile::Realm(p) = &back.profile else {
            panic!("a realm profile")
        };
        assert_eq!((p.realm_id(), p.client_id()), ("cap", "cap-mobile"));
        assert_eq!(p.scopes(), ["openid", "profile"]);
        assert_eq!(refresh_token(back.flow.clone()), "REFRESH-1");
        // Written again, it is a version 2 file that reads back the same.
        let again = decode(&encode(&back).unwrap()).unwrap();
        assert_eq!(again.profile, back.profile);
        assert_eq!(again.endpoint, back.endpoint);

        let unknown = legacy_file(r#"{"api":"xyz","baseUrl":"u","clientId":"c"}"#);
        assert!(matches!(
            decode(unknown.as_bytes()),
            Err(SessionError::Unusable(Unusable::Malformed))
        ));
        // A ciam profile beside a realm flow is refused.
        let mismatch = legacy_file(
            r#"{"api":"ciam","baseUrl":"u","clientId":"c","redirectUri":"https://a/cb","routes":"service"}"#,
        );
        assert!(matches!(
            decode(mismatch.as_bytes()),
            Err(SessionError::Unusable(Unusable::ApiMismatch { .. }))
        ));
    }

    #[test]
    fn refuses_other_versions_and_garbage() {
        let bytes = encode(&saved()).unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let other = text.replacen("\"version\":2", "\"version\":3", 1);
        assert!(
            decode(other.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("version")
        );
        for garbage in [
            &b""[..],
            b"{}",
            b"[1]",
            b"\xff\xfe",
            b"{\"format\":\"loginflow-session\"}",
        ] {
            assert!(matches!(decode(garbage), Err(SessionError::Unusable(_))));
        }
        let no_flow = text.replacen("\"flow\"", "\"wolf\"", 1);
        assert!(decode(no_flow.as_bytes()).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn written_with_mode_0600_and_replaced_atomically() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, &saved()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(read(&path).is_ok());
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
