//! The gateway's configuration: a JSON file for everything that is not secret (the listen
//! address, each bank's base URL and login-core [`Profile`]), and for each secret where to read
//! it: `{"file": PATH}` or `{"env": VAR}`. Secrets are never written in the file itself.
//!
//! ```json
//! {
//!   "listen": "0.0.0.0:8080",
//!   "store": {"url": {"env": "LOGIN_STORE_URL"}},
//!   "storeKeys": {"file": "/run/secrets/login-store-keys"},
//!   "internalApiKey": {"env": "GATEWAY_API_KEY"},
//!   "cap": {
//!     "baseUrl": "https://bank.example/internal-api/centaur",
//!     "profile": {"api": "realm", "realmId": "cap", "clientId": "cap-mobile"},
//!     "clientSecret": {"file": "/run/secrets/realm-client-secret"}
//!   },
//!   "ciam": {
//!     "baseUrl": "https://bank.example",
//!     "profile": {"api": "ciam", "clientId": "ib-app", "redirectUri": "https://app.example/cb"},
//!     "deviceToken": {"env": "CIAM_DEVICE_TOKEN"},
//!     "serverJwk": {"file": "/etc/loginflow/bank-jwk.json"},
//!     "reach": {
//!       "clientCert": "/etc/loginflow/bank-client.pem",
//!       "clientKey": {"file": "/run/secrets/bank-client-key.pem"},
//!       "proxy": {"env": "GATEWAY_PROXY_URL"}
//!     }
//!   }
//! }
//! ```
//!
//! Each bank section may hold `reach` (mutual TLS, private roots, an HTTP proxy: see
//! [`ReachFile`]).
//!
//! `store` is `"memory"` (one instance, nothing survives a restart) or `{"url": SECRET}` (a
//! `redis://`, `rediss://` or `redis+unix://` URL, which may hold a password). `storeKeys` is a
//! login-store keyring: `kid:base64key` lines, the sealing key first. `acceptedApiKeys`
//! (optional) holds more keys the session API takes beside `internalApiKey`, whitespace-separated,
//! for a rotation (docs/distributed.md). `csrfKey` (optional; at
//! least 32 bytes) keys the login page's CSRF tokens; every instance behind one load balancer
//! needs the same one. Without it the key is derived from `internalApiKey`.

use std::fmt;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use login_core::Profile;
use login_core::ciam::CiamConfig;
use login_core::realm::RealmConfig;
use login_core::seal::JweSealer;
use login_core::secret::{ClientSecret, DeviceToken};
use login_store::StoreOptions;
use login_store::seal::Keyring;
use login_transport::TransportConfig;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::reach::ReachFile;

/// The longest secret file read, in bytes.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Why the configuration cannot be used. Messages name files, variables and keys, never a
/// secret's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid configuration.
    #[error("the config file {path} is not valid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong (serde's message: a key, a line and a column).
        message: String,
    },
    /// A secret could not be read.
    #[error("cannot read the {what}: {reason}")]
    Secret {
        /// Which secret (`internal API key`, ...).
        what: &'static str,
        /// Why (the file or variable, not the value).
        reason: String,
    },
    /// A value is not usable.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Where a secret is read from.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretSource {
    /// A file: its whole content, one trailing line ending dropped.
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl SecretSource {
    /// Reads the secret; `what` names it in errors.
    ///
    /// # Errors
    /// [`ConfigError::Secret`] when the file or variable is missing, empty or too large.
    pub fn read(&self, what: &'static str) -> Result<Zeroizing<String>, ConfigError> {
        let fail = |reason: String| ConfigError::Secret { what, reason };
        let mut text = match self {
            SecretSource::File(path) => read_secret_file(path).map_err(fail)?,
            SecretSource::Env(var) => Zeroizing::new(
                std::env::var(var)
                    .map_err(|_| fail(format!("the environment variable {var} is not set")))?,
            ),
        };
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.trim().is_empty() {
            return Err(fail("it is empty".into()));
        }
        Ok(text)
    }
}

fn read_secret_file(path: &Path) -> Result<Zeroizing<String>, String> {
    let mut bytes = read_capped(path, MAX_SECRET_BYTES)?;
    String::from_utf8(std::mem::take(&mut *bytes))
        .map(Zeroizing::new)
        .map_err(|_| format!("{} is not UTF-8", path.display()))
}

/// A file's bytes, at most `max`, in a buffer zeroed on drop; errors name the file, never its
/// content.
pub(crate) fn read_capped(path: &Path, max: u64) -> Result<Zeroizing<Vec<u8>>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(format!("{} is too large", path.display()));
    }
    Ok(bytes)
}

/// The config file, as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    /// Where to listen.
    pub listen: SocketAddr,
    /// `"memory"` or `{"url": SECRET}`.
    pub store: StoreSetting,
    /// The login store's keyring (`kid:base64key` lines).
    pub store_keys: SecretSource,
    /// The key callers of the session API present as `Authorization: Bearer`.
    pub internal_api_key: SecretSource,
    /// More keys the session API accepts, for a rotation (whitespace-separated; optional).
    #[serde(default)]
    pub accepted_api_keys: Option<SecretSource>,
    /// The login page's CSRF key (optional; derived from the internal API key when absent).
    #[serde(default)]
    pub csrf_key: Option<SecretSource>,
    /// The realm API (`"api": "cap"` in a login request).
    #[serde(default)]
    pub cap: Option<RealmFile>,
    /// The internet-banking API (`"api": "ciam"`).
    #[serde(default)]
    pub ciam: Option<CiamFile>,
    /// Plain HTTP to a bank that is not on loopback (test environments only).
    #[serde(default)]
    pub allow_http: bool,
    /// The longest bank call, in seconds (default 20).
    #[serde(default)]
    pub bank_timeout_secs: Option<f64>,
    /// The longest store command, in seconds (default 2).
    #[serde(default)]
    pub store_timeout_secs: Option<f64>,
    /// Cookies get `Secure` (default: unless listening on loopback).
    #[serde(default)]
    pub secure_cookies: Option<bool>,
}

/// `"memory"` or `{"url": SECRET}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StoreSetting {
    /// `"memory"`.
    Named(String),
    /// A Redis URL read from a file or the environment.
    Url {
        /// Where the URL is.
        url: SecretSource,
    },
}

/// The realm API's section.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RealmFile {
    /// The realm API's base URL (`.../internal-api/centaur`).
    pub base_url: String,
    /// A realm profile (`{"api": "realm", "realmId", "clientId", ...}`).
    pub profile: Profile,
    /// The realm client secret.
    pub client_secret: SecretSource,
    /// Mutual TLS, private roots and a proxy for this bank ([`ReachFile`]).
    #[serde(default)]
    pub reach: ReachFile,
}

/// The internet-banking API's section.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CiamFile {
    /// The internet-banking base URL.
    pub base_url: String,
    /// An internet-banking profile (`{"api": "ciam", "clientId", "redirectUri", ...}`).
    pub profile: Profile,
    /// The device identity token.
    pub device_token: SecretSource,
    /// The bank's public JWK (P-256) the credentials are sealed to.
    pub server_jwk: SecretSource,
    /// Mutual TLS, private roots and a proxy for this bank ([`ReachFile`]).
    #[serde(default)]
    pub reach: ReachFile,
}

/// The internal API key, compared in constant time; `Debug` never shows it. During a rotation
/// it also accepts the keys given to [`ApiKey::also_accept`].
///
/// ```
/// use loginflow_gateway::ApiKey;
/// let key = ApiKey::new("the-new-key-0123456789")?
///     .also_accept("the-old-key-0123456789")?;
/// assert!(key.matches(b"the-new-key-0123456789") && key.matches(b"the-old-key-0123456789"));
/// assert!(!key.matches(b"another-key-0123456789"));
/// # Ok::<(), loginflow_gateway::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ApiKey {
    key: Zeroizing<Vec<u8>>,
    /// The SHA-256 of the key and of each other accepted key: what presented keys are compared
    /// with.
    digests: Vec<[u8; 32]>,
}

impl ApiKey {
    /// A key (at least 16 bytes).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a shorter key.
    pub fn new(key: &str) -> Result<Self, ConfigError> {
        let digest = checked_digest(key, "the internal API key")?;
        Ok(Self {
            key: Zeroizing::new(key.as_bytes().to_vec()),
            digests: vec![digest],
        })
    }

    /// Also accepts `other` (at least 16 bytes), as during a rotation: callers switch from one
    /// key to the other while every instance takes both. Only the first key derives the CSRF
    /// key when none is configured.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a shorter key.
    pub fn also_accept(mut self, other: &str) -> Result<Self, ConfigError> {
        self.digests
            .push(checked_digest(other, "an accepted API key")?);
        Ok(self)
    }

    /// A random key (for the demo).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when the system RNG fails.
    pub fn generate() -> Result<Self, ConfigError> {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        aws_lc_rs::rand::fill(&mut bytes)
            .map_err(|_| ConfigError::Invalid("the system RNG failed".into()))?;
        let text = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            bytes.as_slice(),
        );
        Self::new(&text)
    }

    /// Whether `presented` is the key or another accepted one: both sides are hashed (the keys
    /// once, at construction) and the digests compared in constant time, every one of them, so
    /// neither the content, the length nor which key matched leaks through timing.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let given = sha256(presented);
        self.digests.iter().fold(false, |found, digest| {
            aws_lc_rs::constant_time::verify_slices_are_equal(digest, &given).is_ok() | found
        })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.digests.len() {
            1 => f.write_str("ApiKey(<redacted>)"),
            n => write!(f, "ApiKey(<redacted>, {} more accepted)", n - 1),
        }
    }
}

/// The SHA-256 of an API key of at least 16 characters; `what` names it in the error.
fn checked_digest(key: &str, what: &str) -> Result<[u8; 32], ConfigError> {
    if key.len() < 16 {
        return Err(ConfigError::Invalid(format!(
            "{what} must be at least 16 characters"
        )));
    }
    Ok(sha256(key.as_bytes()))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref());
    out
}

/// Where paused logins and sessions live.
#[derive(Clone)]
pub enum StoreChoice {
    /// In this process (one instance).
    Memory,
    /// Redis at this URL (kept secret: it may hold a password).
    Redis(Zeroizing<String>),
}

impl fmt::Debug for StoreChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreChoice::Memory => f.write_str("Memory"),
            StoreChoice::Redis(_) => f.write_str("Redis(<url redacted>)"),
        }
    }
}

/// The realm API: its base URL and configuration (profile and client secret).
#[derive(Clone, Debug)]
pub struct RealmBank {
    /// The transport settings (base URL, timeouts).
    pub transport: TransportConfig,
    /// The profile and the client secret.
    pub config: RealmConfig,
}

/// The internet-banking API: base URL, configuration (profile, device token) and the sealer of
/// the credentials.
#[derive(Clone, Debug)]
pub struct CiamBank {
    /// The transport settings (base URL, timeouts).
    pub transport: TransportConfig,
    /// The profile and the device token.
    pub config: CiamConfig,
    /// Seals the credentials to the bank's key.
    pub sealer: JweSealer,
}

/// Everything a gateway runs with, secrets read. Build it from a file ([`GatewayConfig::load`])
/// or in code ([`GatewayConfig::new`] and the setters). `Debug` shows no secret.
pub struct GatewayConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The store.
    pub store: StoreChoice,
    /// The store's keyring.
    pub keyring: Keyring,
    /// The internal API key.
    pub api_key: ApiKey,
    /// The login page's CSRF key.
    pub csrf_key: Zeroizing<Vec<u8>>,
    /// The realm API, when offered.
    pub cap: Option<RealmBank>,
    /// The internet-banking API, when offered.
    pub ciam: Option<CiamBank>,
    /// The store's options (timeouts, lifetimes, clock).
    pub store_options: StoreOptions,
    /// Tokens that expire within this are refreshed before they are handed out (60 s).
    pub refresh_margin: Duration,
    /// The clock of the drivers and the token freshness check (tests skew it).
    pub clock: fn() -> SystemTime,
    /// Cookies get `Secure`.
    pub secure_cookies: bool,
}

impl fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("listen", &self.listen)
            .field("store", &self.store)
            .field("keyring", &self.keyring)
            .field("api_key", &self.api_key)
            .field("csrf_key", &"<redacted>")
            .field("cap", &self.cap)
            .field("ciam", &self.ciam)
            .field("store_options", &self.store_options)
            .field("refresh_margin", &self.refresh_margin)
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

impl GatewayConfig {
    /// A configuration with no bank yet, the in-memory store, and defaults: listen on
    /// `listen`, refresh tokens that expire within 60 s, store commands bounded by 2 s.
    pub fn new(listen: SocketAddr, keyring: Keyring, api_key: ApiKey) -> Self {
        let csrf_key = derive_csrf_key(&api_key);
        Self {
            listen,
            store: StoreChoice::Memory,
            keyring,
            api_key,
            csrf_key,
            cap: None,
            ciam: None,
            store_options: StoreOptions::default(),
            refresh_margin: crate::REFRESH_MARGIN,
            clock: SystemTime::now,
            secure_cookies: !listen.ip().is_loopback(),
        }
    }

    /// Offers the realm API.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an unusable base URL.
    pub fn realm(mut self, base_url: &str, config: RealmConfig) -> Result<Self, ConfigError> {
        self.cap = Some(RealmBank {
            transport: transport_config(base_url, false, None)?,
            config,
        });
        Ok(self)
    }

    /// Offers the internet-banking API.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an unusable base URL.
    pub fn ciam(
        mut self,
        base_url: &str,
        config: CiamConfig,
        sealer: JweSealer,
    ) -> Result<Self, ConfigError> {
        self.ciam = Some(CiamBank {
            transport: transport_config(base_url, false, None)?,
            config,
            sealer,
        });
        Ok(self)
    }

    /// Uses Redis at `url`.
    pub fn redis(mut self, url: &str) -> Self {
        self.store = StoreChoice::Redis(Zeroizing::new(url.to_owned()));
        self
    }

    /// Reads a config file and the secrets it points to.
    ///
    /// # Errors
    /// [`ConfigError`] naming what is missing or wrong.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file: ConfigFile = serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Self::from_file(file)
    }

    /// Builds the configuration from a parsed file, reading its secrets.
    ///
    /// # Errors
    /// [`ConfigError`] naming what is missing or wrong.
    pub fn from_file(file: ConfigFile) -> Result<Self, ConfigError> {
        let keyring = Keyring::parse(&file.store_keys.read("store keys")?)
            .map_err(|e| ConfigError::Invalid(format!("storeKeys: {e}")))?;
        let mut api_key = ApiKey::new(&file.internal_api_key.read("internal API key")?)?;
        if let Some(source) = &file.accepted_api_keys {
            let keys = source.read("accepted API keys")?;
            for key in keys.split_whitespace() {
                api_key = api_key.also_accept(key)?;
            }
        }
        let mut config = Self::new(file.listen, keyring, api_key);
        if let Some(source) = &file.csrf_key {
            let key = source.read("CSRF key")?;
            if key.len() < 32 {
                return Err(ConfigError::Invalid(
                    "csrfKey must be at least 32 characters".into(),
                ));
            }
            config.csrf_key = Zeroizing::new(key.as_bytes().to_vec());
        }
        config.store = match &file.store {
            StoreSetting::Named(name) if name == "memory" => StoreChoice::Memory,
            StoreSetting::Named(_) => {
                return Err(ConfigError::Invalid(
                    r#"store: write "memory" or {"url": {"env": VAR}} / {"url": {"file": PATH}}"#
                        .into(),
                ));
            }
            StoreSetting::Url { url } => StoreChoice::Redis(url.read("store URL")?),
        };
        let bank_timeout = match file.bank_timeout_secs {
            None => None,
            Some(secs) => Some(
                Duration::try_from_secs_f64(secs)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| ConfigError::Invalid("bankTimeoutSecs must be > 0".into()))?,
            ),
        };
        if let Some(secs) = file.store_timeout_secs {
            let timeout = Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| ConfigError::Invalid("storeTimeoutSecs must be > 0".into()))?;
            config.store_options = config.store_options.command_timeout(timeout);
        }
        if let Some(secure) = file.secure_cookies {
            config.secure_cookies = secure;
        }
        if let Some(cap) = file.cap {
            let Profile::Realm(profile) = cap.profile else {
                return Err(ConfigError::Invalid(
                    r#"cap.profile must be a realm profile ({"api": "realm", ...})"#.into(),
                ));
            };
            let secret = ClientSecret::new(cap.client_secret.read("realm client secret")?.as_str());
            config.cap = Some(RealmBank {
                transport: cap.reach.apply(
                    "cap",
                    transport_config(&cap.base_url, file.allow_http, bank_timeout)?,
                )?,
                config: RealmConfig::from_profile(profile, secret),
            });
        }
        if let Some(ciam) = file.ciam {
            let Profile::Ciam(profile) = ciam.profile else {
                return Err(ConfigError::Invalid(
                    r#"ciam.profile must be an internet-banking profile ({"api": "ciam", ...})"#
                        .into(),
                ));
            };
            let device = DeviceToken::new(ciam.device_token.read("device token")?.as_str());
            let jwk = ciam.server_jwk.read("bank's JWK")?;
            let sealer = JweSealer::from_jwk(&jwk)
                .map_err(|e| ConfigError::Invalid(format!("ciam.serverJwk: {e}")))?;
            config.ciam = Some(CiamBank {
                transport: ciam.reach.apply(
                    "ciam",
                    transport_config(&ciam.base_url, file.allow_http, bank_timeout)?,
                )?,
                config: CiamConfig::from_profile(profile, device),
                sealer,
            });
        }
        if config.cap.is_none() && config.ciam.is_none() {
            return Err(ConfigError::Invalid(
                "configure at least one API: `cap` (realm) or `ciam` (internet banking)".into(),
            ));
        }
        Ok(config)
    }
}

/// The CSRF key when none is configured: an HMAC of a label under the internal API key, so
/// instances sharing the API key share it, and the API key itself never signs a form.
fn derive_csrf_key(api_key: &ApiKey) -> Zeroizing<Vec<u8>> {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, api_key.bytes());
    Zeroizing::new(
        hmac::sign(&key, b"loginflow-gateway csrf key v1")
            .as_ref()
            .to_vec(),
    )
}

fn transport_config(
    base_url: &str,
    allow_http: bool,
    timeout: Option<Duration>,
) -> Result<TransportConfig, ConfigError> {
    let mut config = TransportConfig::new(base_url)
        .map_err(|e| ConfigError::Invalid(format!("bank base URL: {e}")))?
        .allow_http(allow_http)
        .user_agent(concat!("loginflow-gateway/", env!("CARGO_PKG_VERSION")));
    if let Some(timeout) = timeout {
        config = config.call_timeout(timeout);
    }
    config
        .check_url()
        .map_err(|e| ConfigError::Invalid(e.detail))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_matches_only_itself_and_never_shows() {
        let key = ApiKey::new("0123456789abcdef-key").expect("long enough");
        assert!(key.matches(b"0123456789abcdef-key"));
        assert!(!key.matches(b"0123456789abcdef-kex"));
        assert!(!key.matches(b""));
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert!(ApiKey::new("short").is_err());
    }

    #[test]
    fn during_a_rotation_every_accepted_key_matches() {
        let key = ApiKey::new("0123456789abcdef-new")
            .and_then(|k| k.also_accept("0123456789abcdef-old"))
            .expect("long enough");
        assert!(key.matches(b"0123456789abcdef-new"));
        assert!(key.matches(b"0123456789abcdef-old"));
        assert!(!key.matches(b"0123456789abcdef-xxx"));
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>, 1 more accepted)");
        assert!(key.also_accept("short").is_err());
    }

    #[test]
    fn debug_shows_no_secret() {
        let keyring =
            Keyring::parse("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("a keyring");
        let config = GatewayConfig::new(
            "127.0.0.1:0".parse().expect("an address"),
            keyring,
            ApiKey::new("secret-api-key-0123456789").expect("a key"),
        )
        .realm(
            "http://127.0.0.1:9/internal-api/centaur",
            RealmConfig::new(
                "cap",
                "cap-mobile",
                ClientSecret::new("secret-client-secret"),
            ),
        )
        .expect("a realm bank")
        .redis("redis://:secret-redis-password@127.0.0.1:6379");
        let text = format!("{config:?}");
        for secret in [
            "secret-api-key",
            "secret-client-secret",
            "secret-redis-password",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let csrf = format!("{:?}", config.csrf_key.as_slice());
        assert!(!text.contains(&csrf[1..20]), "the CSRF key bytes in {text}");
    }

    #[test]
    fn the_file_refuses_unknown_keys_and_names_missing_secrets() {
        let text = r#"{"listen": "127.0.0.1:0", "store": "memory",
            "storeKeys": {"env": "LOGINFLOW_GATEWAY_TEST_UNSET_VAR"},
            "internalApiKey": {"env": "LOGINFLOW_GATEWAY_TEST_UNSET_VAR"}, "typo": 1}"#;
        assert!(serde_json::from_str::<ConfigFile>(text).is_err());
        let text = text.replace(r#", "typo": 1"#, "");
        let file: ConfigFile = serde_json::from_str(&text).expect("valid shape");
        let e = GatewayConfig::from_file(file).expect_err("the variable is unset");
        assert!(
            e.to_string().contains("LOGINFLOW_GATEWAY_TEST_UNSET_VAR"),
            "{e}"
        );
    }
}
