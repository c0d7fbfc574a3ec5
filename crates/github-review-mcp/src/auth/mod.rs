//! Tokens and where they come from. Knows nothing of transports or tools: the HTTP
//! layer and the tools both call [`TokenPolicy::resolve`].

mod resolve;
pub mod signin;
mod token;

pub use resolve::{
    bearer_of, AuthError, ResolvedToken, TokenPolicy, TokenSource, GITHUB_TOKEN_HEADER,
};
pub use signin::{BearerError, BearerVerifier, GrantRef, SignedIn};
pub use token::{FingerprintKey, Token, TokenFormatError, TokenId, TokenKind};
