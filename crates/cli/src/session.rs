//! Session files: a versioned login-core [`Flow`] snapshot of a `Tokened` (or `Revoked`)
//! session, beside the non-secret configuration needed to refresh or revoke it.
//!
//! ```json
//! {"format":"loginflow-session","version":1,
//!  "config":{"api":"ciam","baseUrl":"https://...","clientId":"...","scope":["openid"],...},
//!  "flow":{"v":1,"api":"ciam","flow":{"state":"Tokened","data":{...}}}}
//! ```
//!
//! `fuzz/fuzz_targets/session_file.rs` compiles this file by path with a stand-in for
//! `CliError::config`: keep its imports to login-core, serde, serde_json, zeroize and tempfile.
//!
//! The file holds tokens: it is written with mode 0600, atomically (a temporary file in the
//! same directory, synced, then renamed over the target), so a reader never sees half a file
//! and a crash never leaves a token-bearing file with wider permissions.

use std::io::{Read as _, Write as _};
use std::path::Path;

use login_core::Flow;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::output::CliError;

/// The value of the `format` field.
pub const FORMAT: &str = "loginflow-session";
/// The session file version this build writes and reads.
pub const VERSION: u32 = 1;
/// The largest session file read.
const MAX_FILE_BYTES: u64 = 128 * 1024;

/// What a session needs besides its tokens: nothing secret. The realm client secret and the
/// device token are not needed to refresh or revoke, so they are not stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionConfig {
    /// `cap` or `ciam`.
    pub api: String,
    /// The base URL the session was made against.
    pub base_url: String,
    /// Whether plain HTTP to a non-loopback host was allowed.
    #[serde(default)]
    pub allow_http: bool,
    /// The call timeout in seconds, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<f64>,
    /// Realm id (`cap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Redirect URI (`ciam`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// `gateway` or `service` (`ciam`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<String>,
    /// The scopes asked for.
    #[serde(default)]
    pub scope: Vec<String>,
    /// `locLatitude` (`ciam`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<String>,
    /// `locLongitude` (`ciam`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<String>,
    /// `eventId` (`ciam`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

#[derive(Serialize)]
struct Header<'a> {
    format: &'a str,
    version: u32,
    config: &'a SessionConfig,
}

#[derive(Deserialize)]
struct FileIn<'a> {
    format: String,
    version: u32,
    config: SessionConfig,
    #[serde(borrow)]
    flow: &'a serde_json::value::RawValue,
}

#[derive(Deserialize)]
struct VersionIn {
    format: Option<String>,
    version: Option<u32>,
}

/// Serializes a session into bytes that hold secrets (zeroed on drop).
pub fn encode(config: &SessionConfig, flow: &Flow) -> Zeroizing<Vec<u8>> {
    let header = serde_json::to_vec(&Header {
        format: FORMAT,
        version: VERSION,
        config,
    })
    .unwrap_or_else(|_| b"{}".to_vec());
    let snapshot = flow.to_snapshot();
    let mut out = Zeroizing::new(Vec::with_capacity(header.len() + snapshot.len() + 16));
    // `header` is a JSON object: splice the snapshot in as its last member.
    out.extend_from_slice(&header[..header.len().saturating_sub(1)]);
    out.extend_from_slice(b",\"flow\":");
    out.extend_from_slice(snapshot.expose());
    out.extend_from_slice(b"}\n");
    out
}

/// Parses session bytes (untrusted).
pub fn decode(bytes: &[u8]) -> Result<(SessionConfig, Flow), CliError> {
    let corrupt = |why: &str| CliError::config(format!("the session file is not usable: {why}"));
    let version: VersionIn =
        serde_json::from_slice(bytes).map_err(|_| corrupt("not a loginflow session (bad JSON)"))?;
    if version.format.as_deref() != Some(FORMAT) {
        return Err(corrupt("not a loginflow session file"));
    }
    if version.version != Some(VERSION) {
        return Err(corrupt(&format!(
            "session format version {:?} is not supported (this build reads {VERSION})",
            version.version
        )));
    }
    let file: FileIn<'_> =
        serde_json::from_slice(bytes).map_err(|_| corrupt("missing or malformed fields"))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(corrupt("not a loginflow session file"));
    }
    let flow =
        Flow::from_snapshot(file.flow.get().as_bytes()).map_err(|e| corrupt(&e.to_string()))?;
    Ok((file.config, flow))
}

/// Writes a session file with mode 0600, atomically.
pub fn write(path: &Path, config: &SessionConfig, flow: &Flow) -> Result<(), CliError> {
    let bytes = encode(config, flow);
    write_private_atomically(path, &bytes)
}

/// Reads a session file.
pub fn read(path: &Path) -> Result<(SessionConfig, Flow), CliError> {
    let file = std::fs::File::open(path).map_err(|e| {
        CliError::config(format!(
            "cannot read the session file {}: {e}",
            path.display()
        ))
    })?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            CliError::config(format!(
                "cannot read the session file {}: {e}",
                path.display()
            ))
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(CliError::config("the session file is too large"));
    }
    decode(&bytes)
}

/// Writes `bytes` to `path` through a 0600 temporary file in the same directory, then renames.
pub fn write_private_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        CliError::config(format!(
            "cannot {what} the session file {}: {e}",
            path.display()
        ))
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    // tempfile creates the file with mode 0600 on Unix; set it again in case a umask or
    // platform differs, before any secret byte is written.
    let mut tmp = tempfile::Builder::new()
        .prefix(".loginflow-session-")
        .tempfile_in(&dir)
        .map_err(|e| fail("create a temporary file for", &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| fail("set permissions of", &e))?;
    }
    tmp.write_all(bytes).map_err(|e| fail("write", &e))?;
    tmp.as_file().sync_all().map_err(|e| fail("sync", &e))?;
    tmp.persist(path).map_err(|e| fail("replace", &e.error))?;
    Ok(())
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

    fn config() -> SessionConfig {
        SessionConfig {
            api: "cap".into(),
            base_url: "http://127.0.0.1:9/internal-api/centaur".into(),
            allow_http: false,
            timeout_secs: None,
            realm: Some("cap".into()),
            client_id: "cap-mobile".into(),
            redirect_uri: None,
            routes: None,
            scope: vec!["openid".into()],
            lat: None,
            lon: None,
            event_id: None,
        }
    }

    #[test]
    fn round_trips_config_and_flow() {
        let bytes = encode(&config(), &Flow::from(tokened()));
        let (cfg, flow) = decode(&bytes).unwrap();
        assert_eq!(cfg, config());
        let Flow::Realm(realm::State::Tokened(t)) = flow else {
            panic!("tokened expected")
        };
        assert_eq!(t.tokens().refresh_token().expose(), "REFRESH-1");
    }

    #[test]
    fn refuses_other_versions_and_garbage() {
        let bytes = encode(&config(), &Flow::from(tokened()));
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let other = text.replacen("\"version\":1", "\"version\":2", 1);
        assert!(
            decode(other.as_bytes())
                .unwrap_err()
                .message()
                .contains("version")
        );
        for garbage in [
            &b""[..],
            b"{}",
            b"[1]",
            b"\xff\xfe",
            b"{\"format\":\"loginflow-session\"}",
        ] {
            assert_eq!(decode(garbage).unwrap_err().exit(), 2);
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
        write(&path, &config(), &Flow::from(tokened())).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(read(&path).is_ok());
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
