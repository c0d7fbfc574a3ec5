//! The sign-in key: AES-256-GCM for the GitHub tokens held for signed-in users.
//!
//! The operator gives one or more 32-byte keys (hex or base64), newest first. A
//! sealed value names its key by a 4-byte id, so keys can be rotated: new values use
//! the first key, old ones open with whichever key sealed them. The value's record
//! id is bound in as associated data, so a sealed token cannot be moved to another
//! grant. Keys never reach a log: Debug shows only their ids.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

struct Key {
    id: [u8; 4],
    cipher: Aes256Gcm,
}

/// Seals and opens secrets with the operator's keys.
pub struct Sealer {
    keys: Vec<Key>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.keys.iter().map(|k| hex::encode(k.id)).collect();
        f.debug_struct("Sealer").field("key_ids", &ids).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no sign-in key given: set GITHUB_REVIEW_MCP_OAUTH_KEY (or _FILE) to 32 random bytes in hex or base64, e.g. `openssl rand -hex 32`")]
    Missing,
    #[error(
        "sign-in key {0} is not 32 bytes of hex or base64 (make one with `openssl rand -hex 32`)"
    )]
    Malformed(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealed value does not open with any configured sign-in key (was the key changed without keeping the old one?)")]
pub struct OpenError;

fn decode_key(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).ok()?
    } else {
        STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .ok()?
    };
    bytes.try_into().ok()
}

impl Sealer {
    /// `keys`: comma- or newline-separated, newest first.
    pub fn from_keys(keys: &str) -> Result<Self, KeyError> {
        let mut parsed = Vec::new();
        for (n, text) in keys
            .split([',', '\n'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            let key = decode_key(text).ok_or(KeyError::Malformed(n + 1))?;
            let digest = Sha256::digest(key);
            parsed.push(Key {
                id: digest[..4].try_into().expect("4 bytes"),
                cipher: Aes256Gcm::new(&key.into()),
            });
        }
        if parsed.is_empty() {
            return Err(KeyError::Missing);
        }
        Ok(Self { keys: parsed })
    }

    /// A random key, for tests.
    pub fn random() -> Self {
        Self::from_keys(&hex::encode(rand::random::<[u8; 32]>())).expect("a valid key")
    }

    /// `plain` sealed under the newest key, bound to `context` (base64url text).
    pub fn seal(&self, plain: &[u8], context: &str) -> String {
        let key = &self.keys[0];
        let nonce: [u8; 12] = rand::random();
        let sealed = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM seals any message this size");
        let mut out = Vec::with_capacity(4 + 12 + sealed.len());
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens what [`Sealer::seal`] made with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, OpenError> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| OpenError)?;
        if bytes.len() < 4 + 12 + 16 {
            return Err(OpenError);
        }
        let (id, rest) = bytes.split_at(4);
        let (nonce, body) = rest.split_at(12);
        let key = self.keys.iter().find(|k| k.id == id).ok_or(OpenError)?;
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let sealer = Sealer::from_keys(K1).unwrap();
        let sealed = sealer.seal(b"gho_SECRETSECRET", "grant-1");
        assert!(!sealed.contains("SECRET"));
        assert_eq!(
            sealer.open(&sealed, "grant-1").unwrap(),
            b"gho_SECRETSECRET"
        );
        assert_eq!(sealer.open(&sealed, "grant-2"), Err(OpenError));
        assert_eq!(Sealer::random().open(&sealed, "grant-1"), Err(OpenError));
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            sealer.open(std::str::from_utf8(&tampered).unwrap(), "grant-1"),
            Err(OpenError)
        );
    }

    #[test]
    fn keys_rotate_newest_first_and_old_values_still_open() {
        let old = Sealer::from_keys(K1).unwrap();
        let sealed_before = old.seal(b"t1", "g");
        let new_key = STANDARD.encode([7u8; 32]);
        let rotated = Sealer::from_keys(&format!("{new_key},{K1}")).unwrap();
        assert_eq!(rotated.open(&sealed_before, "g").unwrap(), b"t1");
        let sealed_after = rotated.seal(b"t2", "g");
        assert_eq!(old.open(&sealed_after, "g"), Err(OpenError));
    }

    #[test]
    fn bad_keys_are_named_and_debug_shows_no_key() {
        assert_eq!(Sealer::from_keys(" ").unwrap_err(), KeyError::Missing);
        assert_eq!(
            Sealer::from_keys(&format!("{K1},abc")).unwrap_err(),
            KeyError::Malformed(2)
        );
        let shown = format!("{:?}", Sealer::from_keys(K1).unwrap());
        assert!(!shown.contains("0001020304"), "{shown}");
        assert!(shown.contains("key_ids"), "{shown}");
    }
}
