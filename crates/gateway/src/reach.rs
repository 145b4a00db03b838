//! How the gateway reaches one bank from its data centre: a client certificate for mutual TLS,
//! private roots (beside the public ones, or instead of them) and an HTTP proxy. The `reach`
//! object of a bank's section in the config file; each bank has its own, since two banks seldom
//! share a client certificate.
//!
//! ```json
//! "reach": {
//!   "clientCert": "/etc/loginflow/bank-client.pem",
//!   "clientKey": {"file": "/run/secrets/bank-client-key.pem"},
//!   "caFile": "/etc/loginflow/bank-ca.pem",
//!   "caOnly": false,
//!   "proxy": {"env": "GATEWAY_PROXY_URL"},
//!   "proxyFromEnv": false
//! }
//! ```
//!
//! The key and the proxy URL (which may hold credentials) are secrets: read from a file or the
//! environment like the gateway's other secrets, zeroed after use, never in a message. The
//! certificate chain and the roots are public and given as paths.

use std::path::PathBuf;

use login_transport::{ClientIdentity, Proxy, TransportConfig};
use serde::Deserialize;

use crate::config::{ConfigError, SecretSource, read_capped};

/// The largest certificate chain or roots file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// A bank section's `reach` object, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReachFile {
    /// The client certificate chain (a PEM file, leaf first) for a bank that demands one; with
    /// `clientKey`.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM), a secret.
    #[serde(default)]
    pub client_key: Option<SecretSource>,
    /// Roots (a PEM file) trusted beside the public ones.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Trust only `caFile`'s roots.
    #[serde(default)]
    pub ca_only: bool,
    /// An HTTP proxy (`http://[user:pass@]host:port`) every call to this bank goes through, a
    /// secret since it may hold credentials.
    #[serde(default)]
    pub proxy: Option<SecretSource>,
    /// Use the proxy `HTTPS_PROXY`/`NO_PROXY` name; `proxy` wins.
    #[serde(default)]
    pub proxy_from_env: bool,
}

impl ReachFile {
    /// `transport` with these settings; `section` (`cap`, `ciam`) names the bank in errors.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a certificate without its key (or the reverse), `caOnly`
    /// without `caFile`, unreadable or unusable PEM and a bad proxy URL (shown without its
    /// credentials); [`ConfigError::Secret`] when the key or the proxy URL cannot be read.
    pub fn apply(
        &self,
        section: &str,
        mut transport: TransportConfig,
    ) -> Result<TransportConfig, ConfigError> {
        let invalid = |what: String| ConfigError::Invalid(format!("{section}.reach: {what}"));
        match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                let chain = read_capped(cert, MAX_PEM_BYTES).map_err(&invalid)?;
                let key = key.read("client certificate key")?;
                let identity = ClientIdentity::from_pem(&chain, key.as_bytes())
                    .map_err(|e| invalid(format!("clientCert/clientKey: {e}")))?;
                transport = transport.client_identity(identity);
            }
            (None, None) => {}
            _ => return Err(invalid("give clientCert and clientKey together".into())),
        }
        match (&self.ca_file, self.ca_only) {
            (Some(file), ca_only) => {
                let pem = read_capped(file, MAX_PEM_BYTES).map_err(&invalid)?;
                let bad = |e: login_transport::ConfigError| invalid(format!("caFile: {e}"));
                transport = if ca_only {
                    transport.replace_roots_with_pem(&pem).map_err(bad)?
                } else {
                    transport.add_roots_pem(&pem).map_err(bad)?
                };
            }
            (None, true) => {
                return Err(invalid(
                    "caOnly needs caFile (the roots to trust instead of the public ones)".into(),
                ));
            }
            (None, false) => {}
        }
        if let Some(source) = &self.proxy {
            let url = source.read("proxy URL")?;
            let proxy = Proxy::new(url.trim()).map_err(|e| invalid(format!("proxy: {e}")))?;
            transport = transport.proxy(proxy);
        }
        Ok(transport.proxy_from_env(self.proxy_from_env))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport() -> TransportConfig {
        TransportConfig::new("https://bank.example").expect("URL")
    }

    fn parse(json: &str) -> ReachFile {
        serde_json::from_str(json).expect("a reach object")
    }

    #[test]
    fn partners_are_required() {
        let e = parse(r#"{"clientCert": "/c.pem"}"#)
            .apply("cap", transport())
            .expect_err("no key");
        assert!(
            e.to_string()
                .contains("cap.reach: give clientCert and clientKey"),
            "{e}"
        );
        let e = parse(r#"{"caOnly": true}"#)
            .apply("ciam", transport())
            .expect_err("no roots");
        assert!(
            e.to_string().contains("ciam.reach: caOnly needs caFile"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = serde_json::from_str::<ReachFile>(r#"{"clientCertificate": "/c.pem"}"#)
            .expect_err("unknown key");
        assert!(e.to_string().contains("clientCertificate"), "{e}");
    }

    #[test]
    fn a_bad_proxy_is_reported_without_its_credentials() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("proxy");
        std::fs::write(&file, "socks5://canary-user:canary-pass@proxy:1080\n").expect("write");
        let reach = ReachFile {
            proxy: Some(SecretSource::File(file)),
            ..ReachFile::default()
        };
        let e = reach.apply("cap", transport()).expect_err("socks");
        let shown = format!("{e} {e:?} {reach:?}");
        assert!(!shown.contains("canary"), "{shown}");
        assert!(shown.contains("***@proxy:1080"), "{shown}");
    }

    #[test]
    fn the_proxy_and_the_environment_opt_in_reach_the_transport() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("proxy");
        std::fs::write(&file, "http://u:pw@proxy.corp:3128\n").expect("write");
        let reach = ReachFile {
            proxy: Some(SecretSource::File(file)),
            proxy_from_env: true,
            ..ReachFile::default()
        };
        let tc = reach.apply("cap", transport()).expect("valid");
        assert_eq!(
            tc.proxy_setting().map(ToString::to_string).as_deref(),
            Some("http://***@proxy.corp:3128")
        );
        assert!(format!("{tc:?}").contains("proxy_from_env: true"));
    }
}
