//! Password hashing with argon2id, off the async threads and at most one hash per core.
//!
//! Each hash at the OWASP parameters (m = 19456 KiB, t = 2, p = 1) takes about 19 MiB and tens
//! of milliseconds of CPU, so hashing runs on `spawn_blocking` behind a semaphore with one
//! permit per core: memory stays bounded under any load and the async workers stay free.
//! Unknown usernames are checked against a dummy hash, so they cost the same time as real ones.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::Argon2Config;
use crate::secret::Secret;

/// Errors of the hasher.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The argon2 parameters are out of range.
    #[error("argon2 parameters are invalid: {0}")]
    Params(String),
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task failed or the hasher was shut down.
    #[error("password hashing task failed: {0}")]
    Task(String),
}

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct PasswordService {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for PasswordService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordService")
            .field("params", self.argon2.params())
            .finish_non_exhaustive()
    }
}

impl PasswordService {
    /// A hasher with the given parameters and one permit per core.
    ///
    /// # Errors
    /// When the parameters are out of argon2's range.
    pub fn new(config: &Argon2Config) -> Result<Self, PasswordError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| PasswordError::Params(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1);
        let dummy_hash = hash_now(&argon2, "a password no user has")?;
        Ok(PasswordService {
            argon2,
            permits: Arc::new(Semaphore::new(cores)),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes `password` into a PHC string (`$argon2id$v=19$m=...`).
    ///
    /// # Errors
    /// When hashing or the blocking task fails.
    pub async fn hash(&self, password: &Secret) -> Result<String, PasswordError> {
        let argon2 = self.argon2.clone();
        let password = password.clone();
        self.run(move || hash_now(&argon2, password.expose()))
            .await?
    }

    /// Whether `password` matches `phc` (or, with `None`, runs a dummy check and says no).
    ///
    /// # Errors
    /// When the blocking task fails.
    pub async fn verify(
        &self,
        phc: Option<&str>,
        password: &Secret,
    ) -> Result<bool, PasswordError> {
        let known = phc.is_some();
        let phc: Arc<str> = phc.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let argon2 = self.argon2.clone();
        let password = password.clone();
        let matched = self
            .run(move || {
                PasswordHash::new(&phc).is_ok_and(|parsed| {
                    argon2
                        .verify_password(password.expose().as_bytes(), &parsed)
                        .is_ok()
                })
            })
            .await?;
        Ok(known && matched)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| PasswordError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| PasswordError::Task(e.to_string()))
    }
}

fn hash_now(argon2: &Argon2<'_>, password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let svc = PasswordService::new(&Argon2Config::cheap()).unwrap();
        let pw = Secret::new("alice-password");
        let phc = svc.hash(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(svc.verify(Some(&phc), &pw).await.unwrap());
        assert!(!svc.verify(Some(&phc), &Secret::new("wrong")).await.unwrap());
        assert!(!svc.verify(None, &pw).await.unwrap());
    }

    #[test]
    fn owasp_defaults() {
        let c = Argon2Config::default();
        assert_eq!((c.memory_kib, c.iterations, c.parallelism), (19_456, 2, 1));
    }
}
