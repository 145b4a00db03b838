//! Randomness is an input: the engine draws PKCE verifiers, `state` values and ephemeral keys
//! only from an [`Entropy`] it is handed.

/// A source of cryptographically secure random bytes.
///
/// ```
/// use login_core::entropy::{Entropy, OsEntropy};
/// let mut buf = [0u8; 16];
/// OsEntropy.fill(&mut buf).unwrap();
/// ```
pub trait Entropy {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    /// [`LocalError::Entropy`](crate::error::LocalError::Entropy) when the source fails.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), crate::Error>;
}

impl<E: Entropy + ?Sized> Entropy for &mut E {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), crate::Error> {
        (**self).fill(dest)
    }
}

/// The operating system's generator, through `getrandom`.
#[cfg(feature = "os-entropy")]
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

#[cfg(feature = "os-entropy")]
impl Entropy for OsEntropy {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), crate::Error> {
        getrandom::fill(dest).map_err(|_| crate::Error::Local(crate::error::LocalError::Entropy))
    }
}

/// A deterministic generator for tests and benchmarks: **not** secret, never use it for real
/// logins (every seal to one key would repeat its ephemeral key and GCM nonce). SplitMix64
/// from a seed.
///
/// Compiled only with the `test-entropy` feature, which this workspace turns on for its own
/// tests, benches and fuzz targets (as a dev-dependency feature), so an application cannot
/// pick it up by accident.
#[cfg(any(test, feature = "test-entropy"))]
#[derive(Debug, Clone)]
pub struct DeterministicEntropy {
    state: u64,
}

#[cfg(any(test, feature = "test-entropy"))]
impl DeterministicEntropy {
    /// Starts from a seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }
}

#[cfg(any(test, feature = "test-entropy"))]
impl Entropy for DeterministicEntropy {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), crate::Error> {
        for chunk in dest.chunks_mut(8) {
            self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}
