//! The GitHub token type: a secret that cannot be printed, serialised or compared
//! by accident, with a recognisable kind and a short keyed fingerprint for logs.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// What a token is, recognised from its prefix (GitHub's documented token formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// `ghp_`: classic personal access token.
    ClassicPat,
    /// `github_pat_`: fine-grained personal access token.
    FineGrainedPat,
    /// `gho_`: OAuth app user token.
    Oauth,
    /// `ghu_`: GitHub App user-to-server token.
    UserToServer,
    /// `ghs_`: GitHub App installation (server-to-server) token.
    Installation,
    /// 40 hexadecimal characters: a legacy token without a prefix.
    Legacy,
    /// Anything else (GHES custom formats, test doubles).
    Unknown,
}

impl TokenKind {
    pub fn of(token: &str) -> Self {
        if token.starts_with("github_pat_") {
            TokenKind::FineGrainedPat
        } else if token.starts_with("ghp_") {
            TokenKind::ClassicPat
        } else if token.starts_with("gho_") {
            TokenKind::Oauth
        } else if token.starts_with("ghu_") {
            TokenKind::UserToServer
        } else if token.starts_with("ghs_") {
            TokenKind::Installation
        } else if token.len() == 40 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
            TokenKind::Legacy
        } else {
            TokenKind::Unknown
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::ClassicPat => "classic_pat",
            TokenKind::FineGrainedPat => "fine_grained_pat",
            TokenKind::Oauth => "oauth",
            TokenKind::UserToServer => "user_to_server",
            TokenKind::Installation => "installation",
            TokenKind::Legacy => "legacy",
            TokenKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key of the keyed hash behind fingerprints. Random per process unless the
/// operator sets one (so fingerprints agree across replicas and restarts).
#[derive(Clone)]
pub struct FingerprintKey(Arc<[u8; 32]>);

impl FingerprintKey {
    pub fn random() -> Self {
        Self(Arc::new(rand::random()))
    }

    pub fn from_secret(secret: &str) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"github-review-mcp fingerprint key")
            .expect("HMAC takes any key length");
        mac.update(secret.as_bytes());
        Self(Arc::new(mac.finalize().into_bytes().into()))
    }

    fn digest(&self, token: &str) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0[..]).expect("HMAC takes any key length");
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(..)")
    }
}

/// A stable identity for a token that reveals nothing of it: the keyed hash.
/// Budgets and caches are keyed by this, never by the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenId([u8; 32]);

impl TokenId {
    /// Eight hex digits: enough to tell tokens apart in logs, nothing to steal.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }

    /// The whole keyed hash in hex: what shared-state keys use. It cannot be
    /// reversed, and without the fingerprint key it cannot be recomputed.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenId({})", self.short())
    }
}

/// Why a string cannot be a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("the token is empty")]
    Empty,
    #[error("the token is longer than 1024 characters")]
    TooLong,
    #[error("the token contains characters that are not printable ASCII (spaces, control characters or non-ASCII bytes)")]
    BadCharacters,
}

/// A GitHub token. No `Display`, no `Serialize`, no `PartialEq`; `Debug` shows only
/// the kind and the fingerprint. The secret is read only where the Authorization
/// header for GitHub is built.
#[derive(Clone)]
pub struct Token {
    secret: SecretString,
    kind: TokenKind,
    id: TokenId,
}

impl Token {
    /// Validates the shape (printable ASCII, no whitespace, bounded) and fingerprints it.
    pub fn parse(raw: &str, key: &FingerprintKey) -> Result<Self, TokenFormatError> {
        if raw.is_empty() {
            return Err(TokenFormatError::Empty);
        }
        if raw.len() > 1024 {
            return Err(TokenFormatError::TooLong);
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenFormatError::BadCharacters);
        }
        Ok(Self {
            kind: TokenKind::of(raw),
            id: TokenId(key.digest(raw)),
            secret: SecretString::from(raw.to_owned()),
        })
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    pub fn id(&self) -> TokenId {
        self.id
    }

    /// The secret itself. Only the GitHub client calls this, to build a header
    /// marked sensitive.
    pub(crate) fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}, {})", self.kind, self.id.short())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSIC: &str = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";

    #[test]
    fn kinds_are_recognised_from_prefixes() {
        assert_eq!(TokenKind::of(CLASSIC), TokenKind::ClassicPat);
        assert_eq!(
            TokenKind::of("github_pat_11AAAA_bbbb"),
            TokenKind::FineGrainedPat
        );
        assert_eq!(TokenKind::of("gho_x"), TokenKind::Oauth);
        assert_eq!(TokenKind::of("ghu_x"), TokenKind::UserToServer);
        assert_eq!(TokenKind::of("ghs_x"), TokenKind::Installation);
        assert_eq!(TokenKind::of(&"a1".repeat(20)), TokenKind::Legacy);
        assert_eq!(TokenKind::of(&"a1".repeat(19)), TokenKind::Unknown);
        assert_eq!(TokenKind::of("hunter2"), TokenKind::Unknown);
    }

    #[test]
    fn debug_shows_kind_and_fingerprint_but_no_part_of_the_token() {
        let key = FingerprintKey::random();
        let token = Token::parse(CLASSIC, &key).unwrap();
        let shown = format!("{token:?} {:?} {}", token.id(), token.id());
        assert!(shown.contains("classic_pat"));
        assert!(shown.contains(&token.id().short()));
        // No 4-character slice of the token appears (beyond its public prefix).
        for window in CLASSIC.as_bytes()[4..].windows(4) {
            let slice = std::str::from_utf8(window).unwrap();
            assert!(!shown.contains(slice), "{shown} leaks {slice}");
        }
    }

    #[test]
    fn fingerprints_are_keyed_and_stable_under_one_key() {
        let a = FingerprintKey::from_secret("one");
        let b = FingerprintKey::from_secret("two");
        let t1 = Token::parse(CLASSIC, &a).unwrap();
        let t2 = Token::parse(CLASSIC, &a).unwrap();
        let t3 = Token::parse(CLASSIC, &b).unwrap();
        assert_eq!(t1.id(), t2.id());
        assert_ne!(t1.id(), t3.id());
        assert_eq!(t1.id().short().len(), 8);
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let key = FingerprintKey::random();
        assert_eq!(Token::parse("", &key).unwrap_err(), TokenFormatError::Empty);
        assert_eq!(
            Token::parse("ghp_a b", &key).unwrap_err(),
            TokenFormatError::BadCharacters
        );
        assert_eq!(
            Token::parse("ghp_a\r\nX: y", &key).unwrap_err(),
            TokenFormatError::BadCharacters
        );
        assert_eq!(
            Token::parse("ghp_é", &key).unwrap_err(),
            TokenFormatError::BadCharacters
        );
        assert_eq!(
            Token::parse(&"a".repeat(2000), &key).unwrap_err(),
            TokenFormatError::TooLong
        );
    }
}
