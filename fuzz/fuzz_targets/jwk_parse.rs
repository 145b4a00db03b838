//! The server key from an untrusted JWK file: a key or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use login_core::seal::{CredentialSealer, JweSealer, ServerKey};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = ServerKey::from_jwk(text) {
        // A key that parses must seal.
        let sealer = JweSealer::new(key);
        let mut rng = login_core::entropy::DeterministicEntropy::new(data.len() as u64);
        assert!(sealer.seal(b"{}", &mut rng).is_ok());
    }
});
