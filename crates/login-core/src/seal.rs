//! The credential envelope: JWE compact, ECDH-ES + A256GCM to the server P-256 JWK.
