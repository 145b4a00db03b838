//! `loginflow-gateway --demo`: the embedded sandbox bank (both APIs) and an in-memory store, so
//! one command shows the login page on a fresh machine.
//!
//! The sandbox is configured so every path shows: realm user `alice` logs in with her password
//! alone and `bob` needs an OTP; internet banking always asks for a captcha and then an OTP.
//! Every OTP is `123456` and every captcha reads `ABCD` (the sandbox's test mode); passwords are
//! `<name>-password`.

use std::net::SocketAddr;

use login_core::ciam::CiamConfig;
use login_core::realm::RealmConfig;
use login_core::seal::JweSealer;
use login_core::secret::{ClientSecret, DeviceToken};
use login_sandbox::config::{
    AnomalyMode, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_DEVICE_TOKEN, TEST_REDIRECT_URI,
};
use login_sandbox::{RunningSandbox, Sandbox, SandboxConfig};
use login_store::seal::{Keyring, SealKey};

use crate::StartError;
use crate::config::{ApiKey, GatewayConfig};

/// The demo's sandbox configuration: the test users, a captcha and an OTP on every
/// internet-banking login, no throttling.
pub fn sandbox_config() -> SandboxConfig {
    let mut config = SandboxConfig::for_tests();
    config.captcha_required = true;
    config.anomaly = AnomalyMode::Always;
    config
}

/// A gateway configuration for `sandbox`: both APIs, the in-memory store, a fresh random
/// keyring, and `api_key` (random when `None`).
///
/// # Errors
/// [`StartError`] when the sandbox's key or URLs are not usable.
pub fn config_for(
    sandbox: &RunningSandbox,
    listen: SocketAddr,
    api_key: Option<ApiKey>,
) -> Result<GatewayConfig, StartError> {
    let keyring =
        Keyring::new(SealKey::generate("demo").map_err(|e| StartError::Sandbox(e.to_string()))?);
    let api_key = match api_key {
        Some(key) => key,
        None => ApiKey::generate()?,
    };
    let realm = RealmConfig::new("cap", TEST_CLIENT_ID, ClientSecret::new(TEST_CLIENT_SECRET));
    let ciam = CiamConfig::new(
        TEST_CLIENT_ID,
        TEST_REDIRECT_URI,
        DeviceToken::new(TEST_DEVICE_TOKEN),
    );
    let sealer = JweSealer::from_jwk(&sandbox.public_jwk_json())
        .map_err(|e| StartError::Sandbox(e.to_string()))?;
    Ok(GatewayConfig::new(listen, keyring, api_key)
        .realm(&sandbox.realm_base_url(), realm)?
        .ciam(&sandbox.base_url(), ciam, sealer)?)
}

/// Starts the demo sandbox.
///
/// # Errors
/// [`StartError::Sandbox`].
pub async fn start_sandbox() -> Result<RunningSandbox, StartError> {
    Sandbox::start(sandbox_config())
        .await
        .map_err(|e| StartError::Sandbox(e.to_string()))
}

/// What the demo prints after its first line.
pub const HELP: &str = "demo: the embedded sandbox bank and an in-memory store
  realm API (cap):        alice / alice-password (no OTP), bob / bob-password (OTP 123456)
  internet banking (ciam): carol / carol-password (captcha ABCD, then OTP 123456)
  set LOGINFLOW_GATEWAY_API_KEY (16+ characters) to call GET /v1/sessions/{id}/token";
