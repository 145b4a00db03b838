//! The sandbox's JSON configuration.
//!
//! The keys of issue 4 are required as shown; every other knob is optional with a default.
//! Unknown keys are refused, so a typo does not silently fall back to a default.
//!
//! ```
//! use login_sandbox::SandboxConfig;
//!
//! let config: SandboxConfig = serde_json::from_str(r#"{
//!   "users": {"alice": {"password": "alice-password", "mfa": "none"},
//!             "bob": {"password": "bob-password", "mfa": "otp", "channel": "sms"}},
//!   "realm": "cap", "clientId": "cap-mobile", "clientSecret": "not-a-real-secret",
//!   "deviceTokens": ["device-token-1"], "redirectUris": ["https://app.example/callback"],
//!   "anomaly": "never", "captchaRequired": false, "fixedOtp": "123456", "fixedCaptcha": null
//! }"#).unwrap();
//! assert_eq!(config.lockout.threshold, 5);
//! assert_eq!(config.argon2.memory_kib, 19_456);
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::deviation::Deviation;
use crate::secret::Secret;

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SandboxConfig {
    /// Users by name.
    pub users: BTreeMap<String, UserConfig>,
    /// The realm id of the realm API (seed: `cap`).
    pub realm: String,
    /// The client id both APIs accept.
    pub client_id: String,
    /// The realm API's client secret.
    pub client_secret: Secret,
    /// Device identity tokens accepted by the internet-banking API.
    pub device_tokens: Vec<Secret>,
    /// Redirect URIs accepted at the access-token step.
    pub redirect_uris: Vec<String>,
    /// When the internet-banking login asks for a second factor.
    pub anomaly: AnomalyMode,
    /// Whether a login challenge needs a captcha answer.
    pub captcha_required: bool,
    /// Test mode: every OTP is this code.
    pub fixed_otp: Option<String>,
    /// Test mode: every captcha answer is this text.
    pub fixed_captcha: Option<String>,

    /// Where to listen (default `127.0.0.1:0`, an ephemeral port); `--listen` overrides it.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// A file holding the server's private P-256 JWK; without it a key is generated at start.
    #[serde(default)]
    pub private_jwk_file: Option<PathBuf>,
    /// argon2id parameters (default OWASP: m=19456 KiB, t=2, p=1).
    #[serde(default)]
    pub argon2: Argon2Config,
    /// Lockout after wrong passwords.
    #[serde(default)]
    pub lockout: LockoutConfig,
    /// Throttles.
    #[serde(default)]
    pub throttle: ThrottleConfig,
    /// Lifetimes of everything the server issues.
    #[serde(default)]
    pub lifetimes: Lifetimes,
    /// Largest request body accepted, in bytes (default 64 KiB); larger gets 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// The `anomaly: "rule"` distance in kilometres (default 500).
    #[serde(default = "default_anomaly_km")]
    pub anomaly_distance_km: f64,
    /// OTP attempts allowed (default 5).
    #[serde(default = "default_otp_attempts")]
    pub otp_max_attempts: u32,
    /// How far the envelope's `iat` may be from the server's clock, in seconds (default 300).
    #[serde(default = "default_iat_skew")]
    pub envelope_max_skew_secs: u64,
    /// Shortest new password accepted by reset password (default 8).
    #[serde(default = "default_min_password")]
    pub min_password_length: usize,
    /// Deviations from the wire contract to switch on (default none), e.g. `["scopeArray"]`:
    /// see [`crate::deviation`]. Meant one at a time; several combine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deviations: Vec<Deviation>,
}

/// One user.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserConfig {
    /// The password (hashed with argon2id at start; the plain value is not kept).
    pub password: Secret,
    /// Second factor of the realm API.
    #[serde(default)]
    pub mfa: Mfa,
    /// Where OTPs are "sent" (default `sms`).
    #[serde(default)]
    pub channel: Channel,
    /// The last known login location, for `anomaly: "rule"`.
    #[serde(default)]
    pub last_location: Option<GeoPoint>,
}

/// A user's second factor in the realm API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mfa {
    /// Password only.
    #[default]
    None,
    /// Password, then an OTP.
    Otp,
}

impl Mfa {
    /// The wire form: `none` or `otp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mfa::None => "none",
            Mfa::Otp => "otp",
        }
    }
}

/// Where an OTP is "sent".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// By text message.
    #[default]
    Sms,
    /// By email.
    Email,
}

impl Channel {
    /// The wire form: `sms` or `email`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

/// When the internet-banking login asks for a second factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnomalyMode {
    /// Never: a right password gives `{code, token}`.
    Never,
    /// Always: a right password gives `{mfaChallenge, channel, refId}`.
    Always,
    /// By location (see [`crate::anomaly`]).
    Rule,
}

impl AnomalyMode {
    /// The config form: `never`, `always` or `rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyMode::Never => "never",
            AnomalyMode::Always => "always",
            AnomalyMode::Rule => "rule",
        }
    }
}

/// A latitude/longitude in degrees.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    /// Latitude, -90 to 90.
    pub latitude: f64,
    /// Longitude, -180 to 180.
    pub longitude: f64,
}

/// argon2id parameters.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Argon2Config {
    /// Memory in KiB (default 19456).
    pub memory_kib: u32,
    /// Passes (default 2).
    pub iterations: u32,
    /// Lanes (default 1).
    pub parallelism: u32,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Argon2Config {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Config {
    /// Cheap parameters for tests only (m=64 KiB, t=1, p=1): never for real passwords.
    pub fn cheap() -> Self {
        Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }
}

/// Lockout after wrong passwords.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockoutConfig {
    /// Wrong passwords within the window that lock the username (default 5).
    pub threshold: u32,
    /// The counting window and lock duration in seconds (default 300).
    pub window_secs: u64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            threshold: 5,
            window_secs: 300,
        }
    }
}

/// A limit: `limit` events per `windowSecs`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limit {
    /// Events per window.
    pub limit: u32,
    /// The window in seconds.
    pub window_secs: u64,
}

/// Throttles; `null` turns one off.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Credential attempts per username (default 30 per 60 s).
    #[serde(default = "default_login_limit")]
    pub login_per_user: Option<Limit>,
    /// OTP sends per username: forgot password (default 10 per 60 s).
    #[serde(default = "default_otp_limit")]
    pub otp_send_per_user: Option<Limit>,
    /// All requests per client IP address (default off).
    #[serde(default)]
    pub requests_per_ip: Option<Limit>,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            login_per_user: default_login_limit(),
            otp_send_per_user: default_otp_limit(),
            requests_per_ip: None,
        }
    }
}

/// Lifetimes in seconds.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Lifetimes {
    /// Realm login request (`exp`; default 300).
    pub login_request_secs: u64,
    /// Internet-banking login challenge from authorize (default 600).
    pub login_challenge_secs: u64,
    /// Captcha (default 120).
    pub captcha_secs: u64,
    /// OTP (default 300).
    pub otp_secs: u64,
    /// Authorization code (default 60).
    pub code_secs: u64,
    /// Access token (default 300).
    pub access_token_secs: u64,
    /// Refresh token (default 1800).
    pub refresh_token_secs: u64,
    /// Password-reset ticket from verify OTP (default 300).
    pub reset_ticket_secs: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            login_request_secs: 300,
            login_challenge_secs: 600,
            captcha_secs: 120,
            otp_secs: 300,
            code_secs: 60,
            access_token_secs: 300,
            refresh_token_secs: 1800,
            reset_ticket_secs: 300,
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}
fn default_max_body() -> usize {
    64 * 1024
}
fn default_anomaly_km() -> f64 {
    500.0
}
fn default_otp_attempts() -> u32 {
    5
}
fn default_iat_skew() -> u64 {
    300
}
fn default_min_password() -> usize {
    8
}
#[allow(clippy::unnecessary_wraps)]
fn default_login_limit() -> Option<Limit> {
    Some(Limit {
        limit: 30,
        window_secs: 60,
    })
}
#[allow(clippy::unnecessary_wraps)]
fn default_otp_limit() -> Option<Limit> {
    Some(Limit {
        limit: 10,
        window_secs: 60,
    })
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The JSON does not match the schema.
    #[error("the config file {path} is not valid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A well-formed fake device token for [`SandboxConfig::for_tests`].
pub const TEST_DEVICE_TOKEN: &str = "test-device-token";
/// The redirect URI of [`SandboxConfig::for_tests`].
pub const TEST_REDIRECT_URI: &str = "https://app.example/callback";
/// The client id of [`SandboxConfig::for_tests`].
pub const TEST_CLIENT_ID: &str = "cap-mobile";
/// The fake client secret of [`SandboxConfig::for_tests`] (not a credential).
pub const TEST_CLIENT_SECRET: &str = "test-client-secret";

/// The public client secret of [`SandboxConfig::development`] (not a credential).
pub const DEV_CLIENT_SECRET: &str = "dev-client-secret-not-real";
/// The public device token of [`SandboxConfig::development`] (not a credential).
pub const DEV_DEVICE_TOKEN: &str = "dev-device-token";

impl SandboxConfig {
    /// Reads and validates a JSON config file.
    ///
    /// # Errors
    /// When the file cannot be read, parsed or validated.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: SandboxConfig =
            serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.to_owned(),
                source,
            })?;
        config.validate()?;
        Ok(config)
    }

    /// A configuration for tests: users `alice` (mfa none, sms), `bob` (mfa otp, sms) and
    /// `carol` (mfa otp, email), passwords `"<name>-password"`; realm `cap`, client
    /// [`TEST_CLIENT_ID`] / [`TEST_CLIENT_SECRET`], device token [`TEST_DEVICE_TOKEN`],
    /// redirect URI [`TEST_REDIRECT_URI`], `fixedOtp` `"123456"`, `fixedCaptcha` `"ABCD"`,
    /// anomaly `never`, no captcha required, cheap argon2 parameters.
    pub fn for_tests() -> Self {
        let user = |name: &str, mfa, channel| {
            (
                name.to_owned(),
                UserConfig {
                    password: Secret::new(format!("{name}-password")),
                    mfa,
                    channel,
                    last_location: None,
                },
            )
        };
        SandboxConfig {
            users: [
                user("alice", Mfa::None, Channel::Sms),
                user("bob", Mfa::Otp, Channel::Sms),
                user("carol", Mfa::Otp, Channel::Email),
            ]
            .into_iter()
            .collect(),
            realm: "cap".into(),
            client_id: TEST_CLIENT_ID.into(),
            client_secret: Secret::new(TEST_CLIENT_SECRET),
            device_tokens: vec![Secret::new(TEST_DEVICE_TOKEN)],
            redirect_uris: vec![TEST_REDIRECT_URI.into()],
            anomaly: AnomalyMode::Never,
            captcha_required: false,
            fixed_otp: Some("123456".into()),
            fixed_captcha: Some("ABCD".into()),
            listen: default_listen(),
            private_jwk_file: None,
            argon2: Argon2Config::cheap(),
            lockout: LockoutConfig::default(),
            throttle: ThrottleConfig::default(),
            lifetimes: Lifetimes::default(),
            max_body_bytes: default_max_body(),
            anomaly_distance_km: default_anomaly_km(),
            otp_max_attempts: default_otp_attempts(),
            envelope_max_skew_secs: default_iat_skew(),
            min_password_length: default_min_password(),
            deviations: Vec::new(),
        }
    }

    /// The built-in development configuration, used when `login-sandbox` starts without
    /// `--config`: the example users of `crates/cli/sandbox.example.json` (`alice` mfa none,
    /// `bob` mfa otp by sms, `carol` mfa otp by email with a last location in Bangkok;
    /// passwords `"<name>-password"`), realm `cap`, client `cap-mobile` /
    /// `dev-client-secret-not-real`, device token `dev-device-token`, redirect URI
    /// `https://app.example/callback`, anomaly `rule`, `fixedOtp` `"123456"`, `fixedCaptcha`
    /// `"ABCD"`, and the default (OWASP) argon2 parameters.
    ///
    /// **For development only:** every credential in it is public.
    pub fn development() -> Self {
        let mut config = Self::for_tests();
        if let Some(carol) = config.users.get_mut("carol") {
            carol.last_location = Some(GeoPoint {
                latitude: 13.7563,
                longitude: 100.5018,
            });
        }
        SandboxConfig {
            client_secret: Secret::new(DEV_CLIENT_SECRET),
            device_tokens: vec![Secret::new(DEV_DEVICE_TOKEN)],
            anomaly: AnomalyMode::Rule,
            argon2: Argon2Config::default(),
            ..config
        }
    }

    /// Checks values a type cannot: non-empty names and lists, sane ranges.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: &str| Err(ConfigError::Invalid(msg.to_owned()));
        if self.realm.is_empty() || self.realm.contains('/') {
            return invalid("`realm` must be a non-empty path segment");
        }
        if self.client_id.is_empty() || self.client_secret.expose().is_empty() {
            return invalid("`clientId` and `clientSecret` must not be empty");
        }
        if self.device_tokens.iter().any(|t| t.expose().is_empty()) {
            return invalid("`deviceTokens` must not hold an empty token");
        }
        if self.fixed_otp.as_deref() == Some("") || self.fixed_captcha.as_deref() == Some("") {
            return invalid("`fixedOtp` and `fixedCaptcha` must be null or non-empty");
        }
        if self.lockout.threshold == 0 || self.lockout.window_secs == 0 {
            return invalid("`lockout.threshold` and `lockout.windowSecs` must be at least 1");
        }
        if self.otp_max_attempts == 0 {
            return invalid("`otpMaxAttempts` must be at least 1");
        }
        let throttles = [
            &self.throttle.login_per_user,
            &self.throttle.otp_send_per_user,
            &self.throttle.requests_per_ip,
        ];
        if throttles
            .iter()
            .any(|l| l.as_ref().is_some_and(|l| l.window_secs == 0))
        {
            return invalid("a throttle's `windowSecs` must be at least 1");
        }
        if self.max_body_bytes < 256 {
            return invalid("`maxBodyBytes` must be at least 256");
        }
        for (name, user) in &self.users {
            if name.is_empty() || user.password.expose().is_empty() {
                return invalid("user names and passwords must not be empty");
            }
            if let Some(p) = user.last_location
                && !crate::anomaly::is_valid(p)
            {
                return invalid("a user's `lastLocation` is out of range");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_config_is_valid() {
        let config = SandboxConfig::development();
        assert!(config.validate().is_ok());
        assert_eq!(config.users.len(), 3);
        assert_eq!(config.fixed_otp.as_deref(), Some("123456"));
    }

    /// The built-in config is the CLI's example file, so the two cannot drift apart.
    #[test]
    fn the_development_config_is_the_cli_example() {
        let example =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/sandbox.example.json");
        if !example.exists() {
            eprintln!(
                "note: {} is gone; nothing to compare with",
                example.display()
            );
            return;
        }
        let from_file = SandboxConfig::from_file(&example).expect("the example config loads");
        let as_json = |c: &SandboxConfig| serde_json::to_value(c).expect("a config serializes");
        assert_eq!(as_json(&SandboxConfig::development()), as_json(&from_file));
    }
}
