//! Secrets at rest: the 32-byte secrets key, the AEAD that seals stored secrets with it, and
//! the random tokens and hashes used for sessions and API tokens.
//!
//! A sealed value is `nonce (24 bytes) || ciphertext+tag`, XChaCha20-Poly1305 with a fresh
//! random nonce per value. The associated data binds the value to its row ([`Aad`]): a
//! ciphertext copied into another row, or another column, fails to open.
//!
//! Architecture invariant: the key bytes never leave this file, and no type here prints a
//! key, a plaintext or a token in `Debug`.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::StoreError;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// The secrets key: 32 random bytes. `Debug` prints nothing of it.
#[derive(Clone)]
pub(crate) struct SecretKey([u8; KEY_LEN]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A fresh random key.
    pub(crate) fn generate() -> SecretKey {
        let mut bytes = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    /// Parses a key given as base64 (standard or URL-safe alphabet, padding optional);
    /// surrounding whitespace is ignored.
    pub(crate) fn from_base64(text: &str) -> Result<SecretKey, StoreError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(StoreError::BadKey(
                "it is empty; expected 32 bytes encoded in base64 (44 characters, for example \
                 from `openssl rand -base64 32`)"
                    .into(),
            ));
        }
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or_else(|| {
                StoreError::BadKey(
                    "it is not valid base64; expected 32 bytes encoded in base64 (44 \
                     characters, for example from `openssl rand -base64 32`)"
                        .into(),
                )
            })?;
        let bytes: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            StoreError::BadKey(format!(
                "it decodes to {} bytes; expected 32 bytes encoded in base64 (44 characters, \
                 for example from `openssl rand -base64 32`)",
                bytes.len()
            ))
        })?;
        Ok(SecretKey(bytes))
    }

    /// The key in standard base64, as [`SecretKey::from_base64`] reads it back. Only for
    /// writing the key file; never log it.
    pub(crate) fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Reads the key file at `path`; never creates it (an absent file is
    /// [`StoreError::Io`] with `NotFound`).
    pub(crate) fn load(path: &Path) -> Result<SecretKey, StoreError> {
        read_key_file(path)
    }

    /// Reads the key file at `path` (for example `DATA_DIR/secret.key`), or generates a key
    /// into it when the file is absent: created exclusively (`O_EXCL`) with mode 0600, its
    /// folder created if needed. Returns the key and whether it was just created.
    pub(crate) fn load_or_create(path: &Path) -> Result<(SecretKey, bool), StoreError> {
        match read_key_file(path) {
            Ok(key) => return Ok((key, false)),
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            }
            Err(e) => return Err(e),
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
        }
        let key = SecretKey::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(path) {
            Ok(file) => file,
            // Another process created it between our read and our create: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return read_key_file(path).map(|key| (key, false));
            }
            Err(e) => return Err(StoreError::io(path, e)),
        };
        file.write_all(format!("{}\n", key.to_base64()).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| StoreError::io(path, e))?;
        Ok((key, true))
    }

    pub(super) fn cipher(&self) -> Cipher {
        Cipher(XChaCha20Poly1305::new(&self.0.into()))
    }

    /// The digester of this key: its own key, derived so that it is never the secrets key.
    pub(super) fn digester(&self) -> Digester {
        let mut derived = Sha256::new();
        derived.update(b"wshost keyed digest v1\0");
        derived.update(self.0);
        Digester(derived.finalize().into())
    }
}

/// Keyed digests (HMAC-SHA256): whether two values are equal, without what they are, for
/// whoever reads the store. A plain hash of a low-entropy secret (a password parameter)
/// could be guessed offline from the store; this one only with the secrets key.
#[derive(Clone)]
pub(super) struct Digester([u8; KEY_LEN]);

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digester(..)")
    }
}

impl Digester {
    /// The digest of `data`, in lowercase hex.
    pub(super) fn digest(&self, data: &[u8]) -> String {
        use hmac::Mac as _;
        let mut mac = <hmac::Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(data);
        hex(&mac.finalize().into_bytes())
    }
}

/// `bytes` in lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_key_file(path: &Path) -> Result<SecretKey, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| StoreError::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "the secrets key file is readable by other users; make it mode 0600"
                );
            }
        }
    }
    SecretKey::from_base64(&text).map_err(|e| match e {
        StoreError::BadKey(why) => StoreError::BadKey(format!("{}: {why}", path.display())),
        other => other,
    })
}

/// The AEAD bound to the secrets key.
#[derive(Clone)]
pub(super) struct Cipher(XChaCha20Poly1305);

impl Cipher {
    /// Encrypts `plaintext` for the row that `aad` names.
    pub(super) fn seal(&self, aad: &Aad, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad.0,
                },
            )
            .map_err(|_| StoreError::Crypto)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`Cipher::seal`] produced for the same `aad`.
    pub(super) fn open(&self, aad: &Aad, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < NONCE_LEN {
            return Err(StoreError::Crypto);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad.0,
                },
            )
            .map_err(|_| StoreError::Crypto)
    }
}

/// Associated data naming the row a sealed value belongs to: a domain tag followed by the
/// row's key parts, each length-prefixed (so no two different rows share an encoding).
/// Changing this encoding makes every stored secret unreadable.
pub(super) struct Aad(Vec<u8>);

impl Aad {
    pub(super) fn new(domain: &str, parts: &[&str]) -> Aad {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(b"wshost\0");
        for part in std::iter::once(&domain).chain(parts) {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        Aad(out)
    }
}

/// `n` random bytes (from the OS) in unpadded base64url: `4n/3` characters, rounded up.
pub(crate) fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of `token`, in lowercase hex: what the store keeps instead of a token.
pub(super) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Standard base64, for sealed bytes kept in a text (JSON) column.
pub(super) fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The inverse of [`b64_encode`].
pub(super) fn b64_decode(text: &str) -> Result<Vec<u8>, StoreError> {
    STANDARD.decode(text).map_err(|_| StoreError::Crypto)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_row_and_key() {
        let key = SecretKey::generate();
        let cipher = key.cipher();
        let row = Aad::new("kv", &["plugin", "ws", "", "k"]);
        let sealed = cipher.seal(&row, b"hello").unwrap();
        assert_eq!(cipher.open(&row, &sealed).unwrap(), b"hello");
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
        // Another row, a shifted boundary, another key, a flipped bit: all refused.
        let others = [
            Aad::new("kv", &["plugin", "ws", "", "k2"]),
            Aad::new("kv", &["plugin", "w", "s", "k"]),
            Aad::new("ws", &["plugin", "ws", "", "k"]),
        ];
        for other in &others {
            assert!(matches!(
                cipher.open(other, &sealed),
                Err(StoreError::Crypto)
            ));
        }
        let stranger = SecretKey::generate().cipher();
        assert!(matches!(
            stranger.open(&row, &sealed),
            Err(StoreError::Crypto)
        ));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            cipher.open(&row, &flipped),
            Err(StoreError::Crypto)
        ));
        assert!(matches!(
            cipher.open(&row, &sealed[..10]),
            Err(StoreError::Crypto)
        ));
    }

    #[test]
    fn key_parsing_names_what_was_expected() {
        let key = SecretKey::generate();
        let text = key.to_base64();
        assert_eq!(
            SecretKey::from_base64(&format!("  {text}\n")).unwrap().0,
            key.0
        );
        let url_safe = URL_SAFE_NO_PAD.encode(key.0);
        assert_eq!(SecretKey::from_base64(&url_safe).unwrap().0, key.0);
        for bad in ["", "not base64 at all!", &STANDARD.encode([7u8; 16])] {
            let message = SecretKey::from_base64(bad).unwrap_err().to_string();
            assert!(message.contains("32 bytes"), "{message}");
            assert!(message.contains("base64"), "{message}");
        }
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/secret.key");
        let (first, created) = SecretKey::load_or_create(&path).unwrap();
        assert!(created);
        let (again, created) = SecretKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(first.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "garbage").unwrap();
        let message = SecretKey::load_or_create(&path).unwrap_err().to_string();
        assert!(
            message.contains("secret.key") && message.contains("32 bytes"),
            "{message}"
        );
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(random_token(32).len(), 43);
    }
}
