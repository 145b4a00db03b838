//! Sealed values: a paused flow or a session, serialized, then encrypted and authenticated with
//! AES-256-GCM (aws-lc-rs) under a key from a [`Keyring`].
//!
//! # Format
//!
//! ```text
//! sealed  = version (1 byte, 0x01) | kid length (1 byte) | kid | nonce (12 bytes) | ciphertext | tag (16 bytes)
//! plain   = expires_at (u64, Unix milliseconds, big-endian) | payload
//! AAD     = "loginflow-seal" | version | kid length | kid | binding
//! ```
//!
//! - The **key id** (kid) says which key sealed the value, so keys rotate: the keyring's first
//!   key seals, every key in it opens. A value sealed with a key that was removed gives
//!   [`SealError::UnknownKey`].
//! - The **binding** is what the value belongs to: the store key (`lf:{id}:login`), plus the
//!   version for a session. It is authenticated, not stored: a value copied to another store
//!   key, or replayed under another version, does not open ([`SealError::Unauthentic`]).
//! - The **expiry** is inside the ciphertext: a value past it gives [`SealError::Expired`] even
//!   when the store kept it longer than asked.
//! - The **nonce** is 96 random bits from aws-lc-rs's `SystemRandom`, fresh for every seal.
//!   With random nonces, NIST SP 800-38D allows 2^32 seals per key: rotate long before that
//!   (a million logins a day stays under it for over ten years).
//!
//! Altered bytes, a different key under the same kid and a moved value all fail the same tag
//! check and are reported alike, as [`SealError::Unauthentic`]: GCM cannot tell them apart,
//! by design.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use login_store::seal::{Keyring, SealError, SealKey};
//!
//! let keyring = Keyring::new(SealKey::generate("k1")?);
//! let now = SystemTime::now();
//! let sealed = keyring.seal(b"lf:{id}:login", now + Duration::from_secs(60), b"payload")?;
//! let opened = keyring.open(b"lf:{id}:login", now, &sealed)?;
//! assert_eq!(opened.plaintext(), b"payload");
//! // Another binding (the value moved to another key) does not open.
//! assert!(matches!(keyring.open(b"lf:{other}:login", now, &sealed), Err(SealError::Unauthentic)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use login_core::{Flow, Session, SnapshotError};
use zeroize::{Zeroize, Zeroizing};

/// The sealed format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// The length of a sealing key: 256 bits.
pub const KEY_LEN: usize = 32;

/// The longest key id accepted.
pub const MAX_KID_LEN: usize = 32;

const TAG_LEN: usize = 16;
const EXPIRY_LEN: usize = 8;
const AAD_LABEL: &[u8] = b"loginflow-seal";

/// A key's id: 1 to 32 characters of `A-Z a-z 0-9 . _ -`. Not secret; stored in clear in every
/// sealed value.
///
/// ```
/// use login_store::seal::KeyId;
/// assert_eq!(KeyId::new("2026-12")?.as_str(), "2026-12");
/// assert!(KeyId::new("has space").is_err());
/// # Ok::<(), login_store::seal::KeyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Checks and wraps a key id.
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`] when it is empty, longer than [`MAX_KID_LEN`], or holds other
    /// characters.
    pub fn new(kid: &str) -> Result<Self, KeyError> {
        if kid_is_valid(kid.as_bytes()) {
            Ok(Self(kid.to_owned()))
        } else {
            Err(KeyError::InvalidKeyId)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn kid_is_valid(kid: &[u8]) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// One AES-256-GCM key and its id. The key bytes are zeroized on drop and never printed.
///
/// ```
/// use login_store::seal::SealKey;
/// // 32 bytes in standard base64, e.g. from `openssl rand -base64 32`.
/// let key = SealKey::from_base64("k1", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")?;
/// assert_eq!(format!("{key:?}"), r#"SealKey { kid: "k1", key: "<redacted>" }"#);
/// # Ok::<(), login_store::seal::KeyError>(())
/// ```
pub struct SealKey {
    kid: KeyId,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealKey")
            .field("kid", &self.kid.as_str())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl SealKey {
    /// A key from its 32 bytes. The caller's copy is not touched: zeroize it yourself.
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`], or [`KeyError::WrongLength`] for anything but 32 bytes.
    pub fn from_bytes(kid: &str, bytes: &[u8]) -> Result<Self, KeyError> {
        let kid = KeyId::new(kid)?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(KeyError::WrongLength {
                kid: kid.0,
                len: bytes.len(),
            });
        }
        key.copy_from_slice(bytes);
        Ok(Self { kid, key })
    }

    /// A key from 32 bytes in standard base64 (with or without padding).
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`], [`KeyError::InvalidBase64`] or [`KeyError::WrongLength`].
    pub fn from_base64(kid: &str, base64: &str) -> Result<Self, KeyError> {
        let kid_checked = KeyId::new(kid)?;
        let trimmed = base64.trim().trim_end_matches('=');
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(trimmed)
                .map_err(|_| KeyError::InvalidBase64 {
                    kid: kid_checked.0.clone(),
                })?,
        );
        Self::from_bytes(kid, &bytes)
    }

    /// A fresh random key (aws-lc-rs's `SystemRandom`), for tests and key generation.
    ///
    /// # Errors
    /// [`KeyError::InvalidKeyId`], or [`KeyError::Random`] when the system RNG fails.
    pub fn generate(kid: &str) -> Result<Self, KeyError> {
        let kid = KeyId::new(kid)?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(key.as_mut())
            .map_err(|_| KeyError::Random)?;
        Ok(Self { kid, key })
    }

    /// The key's id.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The key as aws-lc-rs wants it. Built per call: aws-lc frees (and cleanses) its copy when
    /// the returned value drops, so the only long-lived copy is ours, which zeroizes on drop.
    fn aead(&self) -> Result<LessSafeKey, SealError> {
        UnboundKey::new(&AES_256_GCM, self.key.as_ref())
            .map(LessSafeKey::new)
            .map_err(|_| SealError::Crypto)
    }
}

/// The keys that seal and open: the first (current) key seals, every key opens.
///
/// # Key file format
///
/// One key per line, `kid:base64key`, the key 32 bytes in standard base64 (what
/// `openssl rand -base64 32` prints). The **first** key seals; the others only open, until
/// removed. Blank lines and lines starting with `#` are ignored; in an environment variable,
/// entries may also be separated by commas.
///
/// ```text
/// # sealing key first
/// 2026-12:q0Jp0y4W1b3n9kqf3Vb0mZp4vJ7o2nq8Yy3bW6c1TtE=
/// # still opens values sealed before the rotation; remove once they have expired
/// 2026-11:Zx1l1t0bKXQwqzv0m7S2b8k1d2Jq6Yv5n4r3e2w1Q0o=
/// ```
///
/// To rotate: put a new line first, deploy to every instance, and remove the old line once
/// every value sealed with it has expired (the longest login or session lifetime).
///
/// ```
/// use login_store::seal::Keyring;
/// let keyring = Keyring::parse(
///     "# sealing key first\n\
///      new:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\
///      old:HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo=\n",
/// )?;
/// assert_eq!(keyring.sealing_kid().as_str(), "new");
/// assert_eq!(keyring.len(), 2);
/// # Ok::<(), login_store::seal::KeyError>(())
/// ```
pub struct Keyring {
    keys: Vec<SealKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "kids",
                &self.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// A keyring whose only key seals and opens.
    pub fn new(sealing: SealKey) -> Self {
        Self {
            keys: vec![sealing],
        }
    }

    /// A keyring of one key given in base64 (see [`SealKey::from_base64`]).
    ///
    /// # Errors
    /// As [`SealKey::from_base64`].
    pub fn from_base64(kid: &str, base64: &str) -> Result<Self, KeyError> {
        SealKey::from_base64(kid, base64).map(Self::new)
    }

    /// Adds a key that only opens (a key rotated out of sealing).
    ///
    /// # Errors
    /// [`KeyError::DuplicateKeyId`] when the keyring already has a key with that id.
    pub fn with_opening_key(mut self, key: SealKey) -> Result<Self, KeyError> {
        if self.keys.iter().any(|k| k.kid == key.kid) {
            return Err(KeyError::DuplicateKeyId { kid: key.kid.0 });
        }
        self.keys.push(key);
        Ok(self)
    }

    /// Parses the key file format (see the type's docs); commas also separate entries.
    ///
    /// # Errors
    /// [`KeyError::Empty`] without any key, [`KeyError::BadLine`] for a line without `:`, and
    /// the errors of [`SealKey::from_base64`] and [`Keyring::with_opening_key`]. No error
    /// message holds key material.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut keys: Option<Keyring> = None;
        let entries = text
            .split(['\n', ','])
            .map(str::trim)
            .enumerate()
            .filter(|(_, e)| !e.is_empty() && !e.starts_with('#'));
        for (index, entry) in entries {
            let Some((kid, key)) = entry.split_once(':') else {
                return Err(KeyError::BadLine { entry: index + 1 });
            };
            let key = SealKey::from_base64(kid.trim(), key)?;
            keys = Some(match keys {
                None => Keyring::new(key),
                Some(ring) => ring.with_opening_key(key)?,
            });
        }
        keys.ok_or(KeyError::Empty)
    }

    /// Reads and parses a key file. On Unix, a file readable by group or others is logged as a
    /// warning (it is still read).
    ///
    /// # Errors
    /// [`KeyError::Read`] when the file cannot be read, and the errors of [`Keyring::parse`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let read_error = |e: std::io::Error| KeyError::Read {
            path: path.display().to_string(),
            kind: e.kind(),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path)
                .map_err(read_error)?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{mode:o}"),
                    "the store key file is readable by group or others; chmod 600 it"
                );
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(read_error)?);
        Self::parse(&text)
    }

    /// Reads and parses the keys from an environment variable (the key file format, entries
    /// separated by newlines or commas).
    ///
    /// # Errors
    /// [`KeyError::MissingEnv`] when the variable is unset or not Unicode, and the errors of
    /// [`Keyring::parse`].
    pub fn from_env(var: &str) -> Result<Self, KeyError> {
        let text = Zeroizing::new(std::env::var(var).map_err(|_| KeyError::MissingEnv {
            var: var.to_owned(),
        })?);
        Self::parse(&text)
    }

    /// The id of the key that seals.
    pub fn sealing_kid(&self) -> &KeyId {
        &self.keys[0].kid
    }

    /// How many keys (the sealing key included).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a keyring has a sealing key.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn sealing(&self) -> &SealKey {
        &self.keys[0]
    }

    fn find(&self, kid: &[u8]) -> Option<&SealKey> {
        self.keys.iter().find(|k| k.kid.0.as_bytes() == kid)
    }

    /// Seals `plaintext` for `binding`, to expire at `expires_at`, with the sealing key and a
    /// fresh random nonce.
    ///
    /// # Errors
    /// [`SealError::Expired`] for an expiry before 1970, [`SealError::Random`] when the system
    /// RNG fails, [`SealError::Crypto`] when aws-lc refuses the operation.
    pub fn seal(
        &self,
        binding: &[u8],
        expires_at: SystemTime,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let key = self.sealing();
        let expires_ms = unix_millis(expires_at)?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let kid = key.kid.0.as_bytes();
        let header_len = 2 + kid.len();
        let body_start = header_len + NONCE_LEN;
        let mut out = Vec::with_capacity(body_start + EXPIRY_LEN + plaintext.len() + TAG_LEN);
        out.push(FORMAT_VERSION);
        // kid_is_valid bounds the length to MAX_KID_LEN.
        out.push(kid.len() as u8);
        out.extend_from_slice(kid);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&expires_ms.to_be_bytes());
        out.extend_from_slice(plaintext);
        let aad = aad(&out[..header_len], binding);
        let tag = key
            .aead()?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_slice()),
                &mut out[body_start..],
            )
            .map_err(|_| SealError::Crypto);
        match tag {
            Ok(tag) => {
                out.extend_from_slice(tag.as_ref());
                Ok(out)
            }
            Err(e) => {
                // Never leave plaintext behind in a buffer that failed to encrypt.
                out.zeroize();
                Err(e)
            }
        }
    }

    /// Opens a sealed value for `binding` at `now`.
    ///
    /// # Errors
    /// [`SealError::Malformed`] for bytes that are not a sealed value of this format,
    /// [`SealError::UnknownKey`] for a kid not in the keyring, [`SealError::Unauthentic`] when the
    /// tag does not verify (altered, another key with the same id, another binding), and
    /// [`SealError::Expired`] past the sealed expiry.
    pub fn open(
        &self,
        binding: &[u8],
        now: SystemTime,
        sealed: &[u8],
    ) -> Result<Opened, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Malformed("empty"))?;
        if version != FORMAT_VERSION {
            return Err(SealError::Malformed("unsupported format version"));
        }
        let (&kid_len, rest) = rest
            .split_first()
            .ok_or(SealError::Malformed("truncated header"))?;
        let kid_len = usize::from(kid_len);
        if rest.len() < kid_len + NONCE_LEN + EXPIRY_LEN + TAG_LEN {
            return Err(SealError::Malformed("truncated"));
        }
        let (kid, rest) = rest.split_at(kid_len);
        if !kid_is_valid(kid) {
            return Err(SealError::Malformed("invalid key id"));
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let key = self.find(kid).ok_or_else(|| SealError::UnknownKey {
            kid: String::from_utf8_lossy(kid).into_owned(),
        })?;
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed("nonce"))?;
        let aad = aad(&sealed[..2 + kid_len], binding);
        let mut buf = Zeroizing::new(body.to_vec());
        let plain_len = key
            .aead()?
            .open_in_place(nonce, Aad::from(aad.as_slice()), buf.as_mut_slice())
            .map_err(|_| SealError::Unauthentic)?
            .len();
        buf.truncate(plain_len);
        let mut expiry = [0u8; EXPIRY_LEN];
        expiry.copy_from_slice(&buf[..EXPIRY_LEN]);
        let expires_at = UNIX_EPOCH + Duration::from_millis(u64::from_be_bytes(expiry));
        if now >= expires_at {
            return Err(SealError::Expired { expires_at });
        }
        buf.drain(..EXPIRY_LEN);
        Ok(Opened {
            plaintext: buf,
            expires_at,
        })
    }

    /// Seals a paused flow (its login-core snapshot). A realm flow in `Start` holds the user's
    /// password and is refused.
    ///
    /// # Errors
    /// [`SealError::HoldsPassword`], and the errors of [`Keyring::seal`].
    pub fn seal_flow(
        &self,
        binding: &[u8],
        expires_at: SystemTime,
        flow: &Flow,
    ) -> Result<Vec<u8>, SealError> {
        if matches!(flow, Flow::Realm(login_core::realm::State::Start(_))) {
            return Err(SealError::HoldsPassword);
        }
        let snapshot = flow.to_snapshot();
        self.seal(binding, expires_at, snapshot.expose())
    }

    /// Opens a flow sealed by [`Keyring::seal_flow`].
    ///
    /// # Errors
    /// The errors of [`Keyring::open`], and [`SealError::Snapshot`] when the plaintext is not a
    /// snapshot this build reads (say, written by a newer version during a rolling upgrade).
    pub fn open_flow(
        &self,
        binding: &[u8],
        now: SystemTime,
        sealed: &[u8],
    ) -> Result<Flow, SealError> {
        let opened = self.open(binding, now, sealed)?;
        Flow::from_snapshot(opened.plaintext()).map_err(SealError::Snapshot)
    }

    /// Seals a session (as a `Tokened` flow snapshot).
    ///
    /// # Errors
    /// The errors of [`Keyring::seal`].
    pub fn seal_session(
        &self,
        binding: &[u8],
        expires_at: SystemTime,
        session: &Session,
    ) -> Result<Vec<u8>, SealError> {
        let snapshot = Flow::from(session.clone()).to_snapshot();
        self.seal(binding, expires_at, snapshot.expose())
    }

    /// Opens a session sealed by [`Keyring::seal_session`].
    ///
    /// # Errors
    /// As [`Keyring::open_flow`], and [`SealError::NotASession`] for a flow in another state.
    pub fn open_session(
        &self,
        binding: &[u8],
        now: SystemTime,
        sealed: &[u8],
    ) -> Result<Session, SealError> {
        self.open_flow(binding, now, sealed)?
            .into_session()
            .map_err(|_| SealError::NotASession)
    }
}

/// The authenticated data: a label, the header (version and kid) and the binding.
fn aad(header: &[u8], binding: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + header.len() + binding.len());
    aad.extend_from_slice(AAD_LABEL);
    aad.extend_from_slice(header);
    aad.extend_from_slice(binding);
    aad
}

fn unix_millis(at: SystemTime) -> Result<u64, SealError> {
    let since = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| SealError::Expired { expires_at: at })?;
    Ok(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// An opened value: the plaintext (zeroized on drop) and its sealed expiry.
pub struct Opened {
    plaintext: Zeroizing<Vec<u8>>,
    expires_at: SystemTime,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field(
                "plaintext",
                &format_args!("<{} bytes>", self.plaintext.len()),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Opened {
    /// The plaintext.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// When the value expires (millisecond precision).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

/// Why a value could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A realm flow in `Start` holds the user's password, which is never stored.
    #[error(
        "a realm flow in `Start` holds the user's password and is never stored; send the login request first and store the flow it leads to"
    )]
    HoldsPassword,
    /// Sealed with a key that is not in the keyring (rotated out, or not yet deployed here).
    #[error(
        "the value was sealed with key `{kid}`, which is not in this keyring; deploy the key file with that key to every instance, or treat the value as lost"
    )]
    UnknownKey {
        /// The key id found in the value.
        kid: String,
    },
    /// The authentication tag does not verify: the bytes were altered, sealed with another key
    /// under the same id, or sealed for another store key or version.
    #[error(
        "the sealed value does not authenticate (altered, another key with the same id, or moved to another store key)"
    )]
    Unauthentic,
    /// Past its sealed expiry.
    #[error("the sealed value expired at {expires_at:?}")]
    Expired {
        /// When it expired.
        expires_at: SystemTime,
    },
    /// Not a sealed value of this format.
    #[error("not a sealed value ({0})")]
    Malformed(&'static str),
    /// Opened, but the plaintext is not a snapshot this build reads.
    #[error("the opened value is not a flow snapshot this build reads: {0}")]
    Snapshot(SnapshotError),
    /// Opened a flow where a session (a `Tokened` flow) was expected.
    #[error("the opened flow is not a logged-in session")]
    NotASession,
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// aws-lc refused the key or the operation.
    #[error("the AES-256-GCM operation failed")]
    Crypto,
}

/// Why a key or keyring could not be loaded. No message holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key id is empty, too long, or holds characters other than `A-Z a-z 0-9 . _ -`.
    #[error("a key id must be 1 to {MAX_KID_LEN} characters of A-Z a-z 0-9 . _ -")]
    InvalidKeyId,
    /// A key is not valid base64.
    #[error("key `{kid}` is not valid base64; generate one with `openssl rand -base64 32`")]
    InvalidBase64 {
        /// The key id.
        kid: String,
    },
    /// A key is not 32 bytes.
    #[error("key `{kid}` is {len} bytes; AES-256-GCM needs 32 (`openssl rand -base64 32`)")]
    WrongLength {
        /// The key id.
        kid: String,
        /// Its length.
        len: usize,
    },
    /// Two keys share an id.
    #[error("key id `{kid}` appears twice in the keyring")]
    DuplicateKeyId {
        /// The key id.
        kid: String,
    },
    /// An entry is not `kid:base64key`.
    #[error("key entry {entry} is not `kid:base64key`")]
    BadLine {
        /// The entry's number (1-based, counting blank lines).
        entry: usize,
    },
    /// No key at all.
    #[error("the keyring has no key; write `kid:base64key` lines, the sealing key first")]
    Empty,
    /// The key file could not be read.
    #[error("cannot read the key file {path}: {kind}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        kind: std::io::ErrorKind,
    },
    /// The environment variable is unset (or not Unicode).
    #[error("the environment variable {var} holding the store keys is not set")]
    MissingEnv {
        /// The variable.
        var: String,
    },
    /// The system random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// 128 random bits in base64url without padding (22 characters).
///
/// # Errors
/// [`SealError::Random`] when the system RNG fails.
pub(crate) fn random_token() -> Result<String, SealError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SealError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn ring() -> Keyring {
        Keyring::from_base64("a", KEY_A).unwrap()
    }

    #[test]
    fn every_seal_draws_a_fresh_nonce() {
        let ring = ring();
        let at = SystemTime::now() + Duration::from_secs(5);
        let one = ring.seal(b"k", at, b"same").unwrap();
        let two = ring.seal(b"k", at, b"same").unwrap();
        assert_ne!(one, two);
        assert_eq!(one.len(), 2 + 1 + NONCE_LEN + EXPIRY_LEN + 4 + TAG_LEN);
    }

    #[test]
    fn the_key_file_format_rejects_what_it_should() {
        assert_eq!(Keyring::parse("").unwrap_err(), KeyError::Empty);
        assert_eq!(Keyring::parse("# only\n\n").unwrap_err(), KeyError::Empty);
        assert_eq!(
            Keyring::parse(KEY_A).unwrap_err(),
            KeyError::BadLine { entry: 1 }
        );
        assert!(matches!(
            Keyring::parse("a:!!!"),
            Err(KeyError::InvalidBase64 { .. })
        ));
        assert!(matches!(
            Keyring::parse("a:AAEC"),
            Err(KeyError::WrongLength { len: 3, .. })
        ));
        assert!(matches!(
            Keyring::parse(&format!("a:{KEY_A}\na:{KEY_A}")),
            Err(KeyError::DuplicateKeyId { .. })
        ));
        let ring =
            Keyring::parse(&format!("a:{KEY_A}, b : {}", STANDARD.encode([7u8; 32]))).unwrap();
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.sealing_kid().as_str(), "a");
    }

    #[test]
    fn key_errors_and_debug_never_show_key_material() {
        let ring = Keyring::parse(&format!("a:{KEY_A}")).unwrap();
        let debug = format!("{ring:?} {:?}", ring.sealing());
        assert!(
            !debug.contains(KEY_A) && !debug.contains("AAECAw"),
            "{debug}"
        );
        let err = Keyring::parse("a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYX").unwrap_err();
        assert!(!err.to_string().contains("AAECAw"), "{err}");
    }

    #[test]
    fn truncated_or_foreign_bytes_are_malformed() {
        let ring = ring();
        let now = SystemTime::now();
        for bytes in [&b""[..], b"\x01", b"\x02\x01a", b"\x01\x01a012345678901"] {
            assert!(matches!(
                ring.open(b"k", now, bytes),
                Err(SealError::Malformed(_))
            ));
        }
    }
}
