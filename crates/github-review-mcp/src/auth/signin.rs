//! What sign-in (the server's own OAuth, `crate::oauth`) vouches for, as this layer
//! sees it: a small trait the OAuth module implements, so [`super::TokenPolicy::resolve`]
//! stays the one door for every token source and imports neither `oauth` nor `state`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::Token;

/// The scope of the read tools.
pub const SCOPE_READ: &str = "review:read";
/// The scope of the write tools (replies, resolutions, reviews).
pub const SCOPE_WRITE: &str = "review:write";
/// Every scope this server issues, in the order metadata lists them.
pub const SCOPES: [&str; 2] = [SCOPE_READ, SCOPE_WRITE];

/// The scope a tool needs.
pub fn scope_for(read_only: bool) -> &'static str {
    if read_only {
        SCOPE_READ
    } else {
        SCOPE_WRITE
    }
}

/// A caller signed in through our OAuth: whose GitHub token to use and what our
/// token allows. Built per request by the HTTP gate; its Debug shows no token.
#[derive(Clone)]
pub struct SignedIn {
    /// The user's GitHub token, decrypted for this request only.
    pub github: Token,
    /// The GitHub login that approved the grant.
    pub login: String,
    /// The scopes of our access token.
    pub scopes: Vec<String>,
    /// The grant, so GitHub's refusal of the token can end it.
    pub grant: GrantRef,
}

impl SignedIn {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("github", &self.github)
            .field("login", &self.login)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Why a bearer token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// Not one of ours, expired, revoked, or for another resource: HTTP 401
    /// `invalid_token`, and the client signs in again.
    #[error("{0}")]
    Invalid(&'static str),
    /// The sign-in store did not answer: HTTP 503, try again.
    #[error("the sign-in store is unavailable: {0}")]
    Unavailable(String),
}

/// Checks our own access tokens. Implemented by `crate::oauth`.
#[async_trait]
pub trait BearerVerifier: Send + Sync + fmt::Debug + 'static {
    /// The caller behind `bearer`, with their GitHub token refreshed if it expired.
    async fn verify(&self, bearer: &str) -> Result<SignedIn, BearerError>;

    /// GitHub refused the grant's token (revoked upstream): end the grant, so the
    /// client's next request gets a 401 and signs in again.
    async fn upstream_rejected(&self, grant: &str);
}

/// A grant and who can end it: carried with a signed-in call's GitHub credential.
#[derive(Clone)]
pub struct GrantRef {
    pub id: String,
    pub verifier: Arc<dyn BearerVerifier>,
}

impl GrantRef {
    /// Tells the sign-in layer GitHub refused this grant's token.
    pub async fn upstream_rejected(&self) {
        self.verifier.upstream_rejected(&self.id).await
    }
}

impl fmt::Debug for GrantRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GrantRef(..)")
    }
}
