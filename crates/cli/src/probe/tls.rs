//! The TLS facts of the probe's report: login-transport's handshake description with each
//! certificate's subject, issuer and expiry read by x509-parser.

use std::time::SystemTime;

use login_transport::{TlsFacts, TransportConfig, inspect_tls};
use serde::Serialize;

/// One certificate of the chain as presented.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// The subject (RFC 4514 text).
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// The end of its validity, Unix seconds.
    pub not_after: i64,
    /// Whole days from now to the end of its validity (negative once expired).
    pub days_to_expiry: i64,
}

/// What the report says about TLS.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsReport {
    /// `https`, or `http` (plain HTTP: nothing else is filled).
    pub scheme: &'static str,
    /// `TLSv1_3`, ...
    pub version: Option<String>,
    /// The cipher suite.
    pub cipher_suite: Option<String>,
    /// The key exchange group.
    pub key_exchange: Option<String>,
    /// Whether the chain verified for the host with the roots the transports trust.
    pub verified: Option<bool>,
    /// Why it did not.
    pub verify_error: Option<String>,
    /// The chain, leaf first.
    pub chain: Vec<Certificate>,
    /// Why the handshake failed, when it did.
    pub error: Option<String>,
}

impl TlsReport {
    /// One handshake to the transport's host (nothing for plain HTTP).
    pub fn inspect(config: &TransportConfig) -> Self {
        let https = config.base_url().starts_with("https:");
        let mut report = Self {
            scheme: if https { "https" } else { "http" },
            version: None,
            cipher_suite: None,
            key_exchange: None,
            verified: None,
            verify_error: None,
            chain: Vec::new(),
            error: None,
        };
        match inspect_tls(config) {
            Ok(Some(facts)) => report.fill(&facts),
            Ok(None) => {}
            Err(e) => report.error = Some(e.to_string()),
        }
        report
    }

    fn fill(&mut self, facts: &TlsFacts) {
        self.version = Some(facts.version.clone());
        self.cipher_suite = Some(facts.cipher_suite.clone());
        self.key_exchange = facts.key_exchange.clone();
        self.verified = Some(facts.verified.is_ok());
        self.verify_error = facts.verified.clone().err();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.chain = facts
            .chain
            .iter()
            .filter_map(|der| x509_parser::parse_x509_certificate(der.as_ref()).ok())
            .map(|(_, cert)| {
                let not_after = cert.validity().not_after.timestamp();
                Certificate {
                    subject: cert.subject().to_string(),
                    issuer: cert.issuer().to_string(),
                    not_after,
                    days_to_expiry: (not_after - now).div_euclid(86_400),
                }
            })
            .collect();
    }

    /// The text lines.
    pub fn lines(&self) -> Vec<String> {
        if self.scheme == "http" {
            return vec!["TLS: none, plain HTTP".into()];
        }
        if let Some(e) = &self.error {
            return vec![format!("TLS: the handshake failed: {e}")];
        }
        let mut lines = vec![format!(
            "TLS: {} {}{}; chain {}",
            self.version.as_deref().unwrap_or("?"),
            self.cipher_suite.as_deref().unwrap_or("?"),
            self.key_exchange
                .as_deref()
                .map(|k| format!(" ({k})"))
                .unwrap_or_default(),
            match (&self.verified, &self.verify_error) {
                (Some(true), _) => "verified".to_owned(),
                (_, Some(e)) => format!("NOT verified: {e}"),
                _ => "not verified".to_owned(),
            }
        )];
        for (i, c) in self.chain.iter().enumerate() {
            lines.push(format!(
                "  [{i}] {} (issuer {}), expires {} ({} days)",
                c.subject,
                c.issuer,
                crate::commands::utc(u64::try_from(c.not_after).unwrap_or(0)),
                c.days_to_expiry
            ));
        }
        lines
    }

    /// Problems worth a note: an unverified chain, a leaf expiring within 30 days.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(e) = &self.verify_error {
            notes.push(format!("the TLS chain does not verify for this host: {e}"));
        }
        if let Some(leaf) = self.chain.first()
            && leaf.days_to_expiry < 30
        {
            notes.push(format!(
                "the server certificate expires in {} days",
                leaf.days_to_expiry
            ));
        }
        notes
    }
}
