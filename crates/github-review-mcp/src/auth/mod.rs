//! Tokens and where they come from. Knows nothing of transports or tools: the HTTP
//! layer and the tools both call [`TokenPolicy::resolve`].

mod resolve;
mod token;

pub use resolve::{AuthError, ResolvedToken, TokenPolicy, TokenSource, GITHUB_TOKEN_HEADER};
pub use token::{FingerprintKey, Token, TokenFormatError, TokenId, TokenKind};
