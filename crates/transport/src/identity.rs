//! A client identity for mutual TLS: a certificate chain and its private key, from PEM.
//!
//! The key is held in a buffer zeroed on drop and never shown: `Debug` says how many
//! certificates the chain has and `<redacted>` for the key; errors name the problem, never the
//! bytes. (The TLS libraries keep their own copy while a transport lives; zeroing there is
//! theirs, best effort.)
//!
//! ```no_run
//! use login_transport::{ClientIdentity, TransportConfig};
//!
//! let chain = std::fs::read("client-chain.pem")?;
//! let key = zeroize::Zeroizing::new(std::fs::read("client-key.pem")?);
//! let cfg = TransportConfig::new("https://bank.example/internal-api/centaur")?
//!     .client_identity(ClientIdentity::from_pem(&chain, &key)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use zeroize::Zeroizing;

use crate::policy::ConfigError;

/// Why a client certificate chain or key was refused. The texts never quote the PEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityProblem {
    /// The chain PEM holds no `CERTIFICATE` block.
    #[error("the certificate PEM holds no CERTIFICATE block")]
    NoCertificate,
    /// A PEM block could not be decoded.
    #[error("the {which} PEM is damaged")]
    Pem {
        /// `certificate` or `key`.
        which: &'static str,
    },
    /// The key PEM holds no unencrypted private key.
    #[error(
        "the key PEM holds no private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)"
    )]
    NoKey,
    /// The key PEM holds an encrypted key only.
    #[error(
        "the key is encrypted (ENCRYPTED PRIVATE KEY): decrypt it first, e.g. \
         `openssl pkey -in key.pem -out plain.pem`"
    )]
    EncryptedKey,
    /// The key PEM holds more than one private key.
    #[error("the key PEM holds more than one private key")]
    SeveralKeys,
    /// The key does not belong to the first certificate of the chain.
    #[error("the private key does not match the first certificate of the chain")]
    KeyMismatch,
    /// The TLS library could not use the key (an unsupported algorithm or a damaged key).
    #[error("the private key could not be used (unsupported algorithm or damaged key)")]
    UnusableKey,
}

/// A client certificate chain (leaf first) and its private key, for mutual TLS. Cheap to
/// clone (clones share one copy of the key).
#[derive(Clone)]
pub struct ClientIdentity {
    inner: Arc<Inner>,
}

struct Inner {
    chain: Vec<CertificateDer<'static>>,
    // Read by the TLS backends only.
    #[cfg_attr(not(any(feature = "ureq", feature = "hyper")), allow(dead_code))]
    key: Zeroizing<PrivateKeyDer<'static>>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.inner.chain.len())
            .field("key", &format_args!("<redacted>"))
            .finish()
    }
}

impl ClientIdentity {
    /// Reads the certificate chain (the `CERTIFICATE` blocks of `chain_pem`, leaf first) and
    /// the private key (the one `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block of
    /// `key_pem`; other blocks are skipped, so one file holding both can be passed twice).
    /// With a TLS backend built (feature `ureq` or `hyper`) it also checks that the key is
    /// usable and belongs to the leaf certificate.
    ///
    /// # Errors
    /// [`ConfigError::ClientIdentity`] with the [`IdentityProblem`].
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, ConfigError> {
        let problem = ConfigError::ClientIdentity;
        let mut chain = Vec::new();
        for cert in CertificateDer::pem_slice_iter(chain_pem) {
            chain.push(cert.map_err(|_| {
                problem(IdentityProblem::Pem {
                    which: "certificate",
                })
            })?);
        }
        if chain.is_empty() {
            return Err(problem(IdentityProblem::NoCertificate));
        }
        let mut key: Option<Zeroizing<PrivateKeyDer<'static>>> = None;
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(key_pem) {
            // The error may describe the bytes it met: it is dropped, not shown.
            let (kind, der) =
                section.map_err(|_| problem(IdentityProblem::Pem { which: "key" }))?;
            // The decoded bytes move into the key type: no copy is left behind.
            let found = match kind {
                SectionKind::PrivateKey => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
                SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
                SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
                _ => continue,
            };
            if key.is_some() {
                return Err(problem(IdentityProblem::SeveralKeys));
            }
            key = Some(Zeroizing::new(found));
        }
        let Some(key) = key else {
            let encrypted = key_pem
                .windows(b"ENCRYPTED PRIVATE KEY".len())
                .any(|w| w == b"ENCRYPTED PRIVATE KEY");
            return Err(problem(if encrypted {
                IdentityProblem::EncryptedKey
            } else {
                IdentityProblem::NoKey
            }));
        };
        let identity = Self {
            inner: Arc::new(Inner { chain, key }),
        };
        #[cfg(any(feature = "ureq", feature = "hyper"))]
        identity.certified_key(&crate::tls::provider())?;
        Ok(identity)
    }

    /// How many certificates the chain holds.
    pub fn chain_len(&self) -> usize {
        self.inner.chain.len()
    }

    /// The chain, leaf first.
    #[cfg(feature = "ureq")]
    pub(crate) fn chain(&self) -> &[CertificateDer<'static>] {
        &self.inner.chain
    }

    /// The key, for handing to a TLS library (which takes its own copy).
    #[cfg(feature = "ureq")]
    pub(crate) fn key(&self) -> &PrivateKeyDer<'static> {
        &self.inner.key
    }

    /// The key loaded by `provider`, checked against the leaf certificate.
    #[cfg(any(feature = "ureq", feature = "hyper"))]
    pub(crate) fn certified_key(
        &self,
        provider: &rustls::crypto::CryptoProvider,
    ) -> Result<rustls::sign::CertifiedKey, ConfigError> {
        rustls::sign::CertifiedKey::from_der(
            self.inner.chain.clone(),
            self.inner.key.clone_key(),
            provider,
        )
        .map_err(|e| {
            ConfigError::ClientIdentity(match e {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                    IdentityProblem::KeyMismatch
                }
                _ => IdentityProblem::UnusableKey,
            })
        })
    }
}
