//! What both built-in transports share: the one crypto provider (aws-lc-rs, which login-core
//! already uses for sealing, so a binary carries one crypto library, not ring beside it) and
//! the classification of I/O errors.

use std::io;

use login_core::TransportErrorKind;
use rustls::crypto::CryptoProvider;

use crate::policy::{ConfigError, TransportConfig};

/// The provider both transports use: aws-lc-rs's defaults.
pub(crate) fn provider() -> std::sync::Arc<CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Installs aws-lc-rs as rustls' process-wide provider unless one is installed already. ureq's
/// stable API takes the process default (its per-agent setting is in its semver-exempt
/// `unversioned` API); an application's own choice, made first, wins.
#[cfg(feature = "ureq")]
pub(crate) fn install_default_provider() {
    if CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: some provider is then installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

/// Refuses a given root that is not a usable trust anchor.
#[cfg(feature = "ureq")]
pub(crate) fn check_roots(
    roots: &[rustls_pki_types::CertificateDer<'static>],
) -> Result<(), ConfigError> {
    let mut store = rustls::RootCertStore::empty();
    for cert in roots {
        store
            .add(cert.clone())
            .map_err(|e| ConfigError::RootCertificate(e.to_string()))?;
    }
    Ok(())
}

/// The roots `config` trusts: the public ones unless replaced, and the given ones.
pub(crate) fn root_store(config: &TransportConfig) -> Result<rustls::RootCertStore, ConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    if config.public_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for cert in &config.extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| ConfigError::RootCertificate(e.to_string()))?;
    }
    Ok(roots)
}

/// Classifies an I/O error (shared by both transports).
pub(crate) fn io_error_kind(e: &io::Error) -> TransportErrorKind {
    use io::ErrorKind as K;
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        return TransportErrorKind::Tls;
    }
    match e.kind() {
        K::ConnectionRefused
        | K::HostUnreachable
        | K::NetworkUnreachable
        | K::AddrNotAvailable
        | K::NotConnected => TransportErrorKind::Connect,
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
            TransportErrorKind::Reset
        }
        K::TimedOut | K::WouldBlock => TransportErrorKind::Timeout,
        _ => TransportErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_transport_kinds() {
        use io::ErrorKind as K;
        for (kind, expected) in [
            (K::ConnectionRefused, TransportErrorKind::Connect),
            (K::ConnectionReset, TransportErrorKind::Reset),
            (K::BrokenPipe, TransportErrorKind::Reset),
            (K::UnexpectedEof, TransportErrorKind::Reset),
            (K::TimedOut, TransportErrorKind::Timeout),
            (K::InvalidInput, TransportErrorKind::Other),
        ] {
            assert_eq!(io_error_kind(&io::Error::from(kind)), expected, "{kind:?}");
        }
        let tls = io::Error::new(K::InvalidData, rustls::Error::General("handshake".into()));
        assert_eq!(io_error_kind(&tls), TransportErrorKind::Tls);
    }

    #[cfg(feature = "ureq")]
    #[test]
    fn the_process_provider_is_aws_lc_rs() {
        install_default_provider();
        let installed = CryptoProvider::get_default().expect("a provider is installed");
        let aws = rustls::crypto::aws_lc_rs::default_provider();
        let names = |p: &CryptoProvider| {
            p.cipher_suites
                .iter()
                .map(|s| s.suite())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(installed), names(&aws));
        // aws-lc-rs offers the post-quantum hybrid key exchange; ring does not.
        assert!(
            installed
                .kx_groups
                .iter()
                .any(|g| g.name() == rustls::NamedGroup::X25519MLKEM768)
        );
    }
}
