//! Per-request token resolution: `_meta.token`, then `X-GitHub-Token`, then
//! `Authorization: Bearer`, then (if the operator allows it) the server's token.
//!
//! The same function decides the HTTP layer's 401/400 and gives tools their token,
//! so the two can never disagree. With sign-in on (`--oauth`) a Bearer is one of our
//! own tokens, verified by the HTTP gate before this runs ([`SignedIn`]); it is never
//! a GitHub token passed through.

use http::HeaderMap;
use serde_json::Value;

use super::signin::{GrantRef, SignedIn};
use super::token::{FingerprintKey, Token, TokenFormatError};

/// The header a client may send its user's GitHub token in.
pub const GITHUB_TOKEN_HEADER: &str = "x-github-token";

/// Where the token of a call came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// `params._meta.token` of the `tools/call` request.
    Meta,
    /// The `X-GitHub-Token` HTTP header.
    Header,
    /// `Authorization: Bearer` carrying a GitHub token (sign-in off).
    Bearer,
    /// `Authorization: Bearer` carrying our own access token (sign-in on): the
    /// signed-in user's GitHub token, held by the server.
    Oauth,
    /// The server's own `GITHUB_TOKEN`.
    Server,
}

impl TokenSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Meta => "meta",
            TokenSource::Header => "header",
            TokenSource::Bearer => "bearer",
            TokenSource::Oauth => "oauth",
            TokenSource::Server => "server",
        }
    }
}

/// A token together with where it came from.
#[derive(Debug, Clone)]
pub struct ResolvedToken {
    pub token: Token,
    pub source: TokenSource,
    /// The GitHub login, for a signed-in caller (source `oauth`).
    pub login: Option<String>,
    /// The grant behind a signed-in caller, so GitHub's 401 can end it.
    pub grant: Option<GrantRef>,
}

/// Why no token could be resolved. Messages name the source, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no GitHub token: send one in `_meta.token`, the X-GitHub-Token header or `Authorization: Bearer`")]
    MissingHttp,
    #[error("no GitHub token: send one in `_meta.token` of the tools/call request, or start the server with GITHUB_TOKEN set")]
    MissingStdio,
    #[error("`_meta.token` must be a string")]
    MetaTokenNotString,
    #[error("`_meta.token` is not a usable token: {0}")]
    BadMetaToken(TokenFormatError),
    #[error("the X-GitHub-Token header is not a usable token: {0}")]
    BadHeaderToken(TokenFormatError),
    #[error("the X-GitHub-Token header is sent more than once")]
    DuplicateHeaderToken,
    #[error("the Authorization header must be `Bearer <token>`: {0}")]
    BadAuthorization(&'static str),
    #[error("this server signs users in itself: send the access token it issued as `Authorization: Bearer`; GitHub tokens in `_meta.token` or X-GitHub-Token are turned off")]
    GitHubTokensOff,
    #[error("the Bearer token was not verified by the sign-in layer")]
    UnverifiedBearer,
}

impl AuthError {
    /// Whether the request simply lacks a token (HTTP 401) rather than carrying a
    /// malformed one (HTTP 400).
    pub fn is_missing(&self) -> bool {
        matches!(self, AuthError::MissingHttp | AuthError::MissingStdio)
    }
}

/// The operator's rules for tokens: the fallback token and whether it may be used.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    server_token: Option<Token>,
    key: FingerprintKey,
    sign_in: SignIn,
}

/// Whether the server signs users in itself (`--oauth`), and what else it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// A Bearer is a GitHub token.
    Off,
    /// A Bearer is one of our tokens; `github_tokens`: `_meta.token` and
    /// X-GitHub-Token still work.
    On { github_tokens: bool },
}

impl TokenPolicy {
    /// `server_token` is `None` when there is none or the fallback is turned off.
    pub fn new(server_token: Option<Token>, key: FingerprintKey) -> Self {
        Self {
            server_token,
            key,
            sign_in: SignIn::Off,
        }
    }

    /// Sign-in on: Bearer tokens are ours, and the server's token is never a fallback
    /// (anyone reaching a public deployment would act as the operator).
    pub fn with_sign_in(mut self, github_tokens: bool) -> Self {
        self.sign_in = SignIn::On { github_tokens };
        self.server_token = None;
        self
    }

    pub fn sign_in(&self) -> SignIn {
        self.sign_in
    }

    pub fn fingerprint_key(&self) -> &FingerprintKey {
        &self.key
    }

    /// The fingerprint of the server's token, when there is one.
    pub fn server_token_id(&self) -> Option<super::TokenId> {
        self.server_token.as_ref().map(Token::id)
    }

    pub fn has_fallback(&self) -> bool {
        self.server_token.is_some()
    }

    /// Resolves the token of one call. `headers` is `None` over stdio; `signed_in`
    /// is what the HTTP gate verified of our Bearer token (sign-in on).
    pub fn resolve(
        &self,
        meta_token: Option<&Value>,
        headers: Option<&HeaderMap>,
        signed_in: Option<&SignedIn>,
    ) -> Result<ResolvedToken, AuthError> {
        // Every source that is present must be well formed, whichever wins.
        let (header, bearer) = match (headers, self.sign_in) {
            (Some(headers), SignIn::Off) => {
                (self.header_token(headers)?, self.bearer_token(headers)?)
            }
            (Some(headers), SignIn::On { .. }) => {
                if bearer_of(headers)?.is_some() && signed_in.is_none() {
                    return Err(AuthError::UnverifiedBearer);
                }
                (self.header_token(headers)?, None)
            }
            (None, _) => (None, None),
        };
        let meta = match meta_token {
            None | Some(Value::Null) => None,
            Some(Value::String(raw)) => {
                Some(Token::parse(raw, &self.key).map_err(AuthError::BadMetaToken)?)
            }
            Some(_) => return Err(AuthError::MetaTokenNotString),
        };
        if self.sign_in
            == (SignIn::On {
                github_tokens: false,
            })
            && (meta.is_some() || header.is_some())
        {
            return Err(AuthError::GitHubTokensOff);
        }
        let plain = |token, source| ResolvedToken {
            token,
            source,
            login: None,
            grant: None,
        };
        let resolved = meta
            .map(|token| plain(token, TokenSource::Meta))
            .or(header.map(|token| plain(token, TokenSource::Header)))
            .or(bearer.map(|token| plain(token, TokenSource::Bearer)))
            .or(signed_in.map(|s| ResolvedToken {
                token: s.github.clone(),
                source: TokenSource::Oauth,
                login: Some(s.login.clone()),
                grant: Some(s.grant.clone()),
            }))
            .or(self
                .server_token
                .clone()
                .map(|token| plain(token, TokenSource::Server)));
        match resolved {
            Some(resolved) => Ok(resolved),
            None if headers.is_some() => Err(AuthError::MissingHttp),
            None => Err(AuthError::MissingStdio),
        }
    }

    fn header_token(&self, headers: &HeaderMap) -> Result<Option<Token>, AuthError> {
        let mut values = headers.get_all(GITHUB_TOKEN_HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(AuthError::DuplicateHeaderToken);
        }
        let raw = value
            .to_str()
            .map_err(|_| AuthError::BadHeaderToken(TokenFormatError::BadCharacters))?;
        Token::parse(raw.trim(), &self.key)
            .map(Some)
            .map_err(AuthError::BadHeaderToken)
    }

    fn bearer_token(&self, headers: &HeaderMap) -> Result<Option<Token>, AuthError> {
        let Some(rest) = bearer_of(headers)? else {
            return Ok(None);
        };
        Token::parse(rest, &self.key).map(Some).map_err(|_| {
            AuthError::BadAuthorization(
                "the token has spaces or characters that are not printable ASCII",
            )
        })
    }
}

/// The token of an `Authorization: Bearer` header, if there is one; a malformed
/// header is an error, never ignored.
pub fn bearer_of(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::BadAuthorization("sent more than once"));
    }
    let raw = value
        .to_str()
        .map_err(|_| AuthError::BadAuthorization("not printable ASCII"))?;
    let (scheme, rest) = raw.trim().split_once(' ').unwrap_or((raw.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::BadAuthorization(
            "only the Bearer scheme is accepted",
        ));
    }
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(AuthError::BadAuthorization("no token after Bearer"));
    }
    Ok(Some(rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    fn policy(server: Option<&str>) -> TokenPolicy {
        let key = FingerprintKey::random();
        TokenPolicy::new(server.map(|t| Token::parse(t, &key).unwrap()), key)
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        map
    }

    fn same(policy: &TokenPolicy, resolved: &ResolvedToken, raw: &str) -> bool {
        resolved.token.id() == Token::parse(raw, policy.fingerprint_key()).unwrap().id()
    }

    #[test]
    fn meta_token_beats_header_bearer_and_server() {
        let p = policy(Some("ghp_server"));
        let h = headers(&[
            ("x-github-token", "ghp_header"),
            ("authorization", "Bearer gho_bearer"),
        ]);
        let r = p.resolve(Some(&json!("ghp_meta")), Some(&h), None).unwrap();
        assert_eq!(r.source, TokenSource::Meta);
        assert!(same(&p, &r, "ghp_meta"));
    }

    #[test]
    fn header_beats_bearer_and_bearer_beats_server() {
        let p = policy(Some("ghp_server"));
        let h = headers(&[
            ("x-github-token", "ghp_header"),
            ("authorization", "Bearer gho_bearer"),
        ]);
        let r = p.resolve(None, Some(&h), None).unwrap();
        assert_eq!(r.source, TokenSource::Header);
        assert!(same(&p, &r, "ghp_header"));
        let h = headers(&[("authorization", "bearer gho_bearer")]);
        let r = p.resolve(None, Some(&h), None).unwrap();
        assert_eq!(r.source, TokenSource::Bearer);
        assert!(same(&p, &r, "gho_bearer"));
        let r = p.resolve(None, Some(&HeaderMap::new()), None).unwrap();
        assert_eq!(r.source, TokenSource::Server);
    }

    #[test]
    fn without_fallback_a_request_with_no_token_is_missing() {
        let p = policy(None);
        assert_eq!(
            p.resolve(None, Some(&HeaderMap::new()), None).unwrap_err(),
            AuthError::MissingHttp
        );
        assert_eq!(
            p.resolve(None, None, None).unwrap_err(),
            AuthError::MissingStdio
        );
        assert_eq!(
            p.resolve(Some(&Value::Null), None, None).unwrap_err(),
            AuthError::MissingStdio
        );
        assert!(p.resolve(None, None, None).unwrap_err().is_missing());
    }

    #[test]
    fn malformed_sources_are_errors_not_fallbacks() {
        let p = policy(Some("ghp_server"));
        for auth in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Token",
        ] {
            let err = p
                .resolve(None, Some(&headers(&[("authorization", auth)])), None)
                .unwrap_err();
            assert!(
                matches!(err, AuthError::BadAuthorization(_)),
                "{auth}: {err:?}"
            );
            assert!(!err.is_missing());
        }
        let err = p.resolve(Some(&json!(42)), None, None).unwrap_err();
        assert_eq!(err, AuthError::MetaTokenNotString);
        let err = p.resolve(Some(&json!("")), None, None).unwrap_err();
        assert_eq!(err, AuthError::BadMetaToken(TokenFormatError::Empty));
        let err = p
            .resolve(None, Some(&headers(&[("x-github-token", "a\tb")])), None)
            .unwrap_err();
        assert!(matches!(err, AuthError::BadHeaderToken(_)));
        let err = p
            .resolve(
                None,
                Some(&headers(&[
                    ("x-github-token", "a"),
                    ("x-github-token", "b"),
                ])),
                None,
            )
            .unwrap_err();
        assert_eq!(err, AuthError::DuplicateHeaderToken);
        let mut h = HeaderMap::new();
        h.insert(
            "x-github-token",
            HeaderValue::from_bytes(b"ghp_\xff\xfe").unwrap(),
        );
        assert!(matches!(
            p.resolve(None, Some(&h), None).unwrap_err(),
            AuthError::BadHeaderToken(_)
        ));
    }

    #[derive(Debug)]
    struct NoVerifier;

    #[async_trait::async_trait]
    impl crate::auth::BearerVerifier for NoVerifier {
        async fn verify(&self, _: &str) -> Result<SignedIn, crate::auth::BearerError> {
            unreachable!()
        }
        async fn upstream_rejected(&self, _: &str) {}
    }

    fn signed_in(p: &TokenPolicy) -> SignedIn {
        SignedIn {
            github: Token::parse("gho_signedinSECRET", p.fingerprint_key()).unwrap(),
            login: "alice".into(),
            scopes: vec!["review:read".into()],
            grant: GrantRef {
                id: "g1".into(),
                verifier: std::sync::Arc::new(NoVerifier),
            },
        }
    }

    #[test]
    fn with_sign_in_a_bearer_is_ours_and_never_a_github_token() {
        let p = policy(Some("ghp_server")).with_sign_in(true);
        assert!(!p.has_fallback(), "sign-in turns the server token off");
        let h = headers(&[("authorization", "Bearer grm_at_ours")]);
        // The gate verifies first; without its word the Bearer is not used.
        assert_eq!(
            p.resolve(None, Some(&h), None).unwrap_err(),
            AuthError::UnverifiedBearer
        );
        let s = signed_in(&p);
        let r = p.resolve(None, Some(&h), Some(&s)).unwrap();
        assert_eq!(r.source, TokenSource::Oauth);
        assert_eq!(r.login.as_deref(), Some("alice"));
        assert!(same(&p, &r, "gho_signedinSECRET"));
        // The documented order still holds: _meta.token and X-GitHub-Token first.
        let h2 = headers(&[
            ("authorization", "Bearer grm_at_ours"),
            ("x-github-token", "ghp_header"),
        ]);
        let r = p.resolve(None, Some(&h2), Some(&s)).unwrap();
        assert_eq!(r.source, TokenSource::Header);
        let r = p
            .resolve(Some(&json!("ghp_meta")), Some(&h), Some(&s))
            .unwrap();
        assert_eq!(r.source, TokenSource::Meta);
        assert_eq!(
            p.resolve(None, Some(&HeaderMap::new()), None).unwrap_err(),
            AuthError::MissingHttp
        );
    }

    #[test]
    fn oauth_only_refuses_github_tokens() {
        let p = policy(None).with_sign_in(false);
        let s = signed_in(&p);
        let h = headers(&[("x-github-token", "ghp_header")]);
        assert_eq!(
            p.resolve(None, Some(&h), Some(&s)).unwrap_err(),
            AuthError::GitHubTokensOff
        );
        assert_eq!(
            p.resolve(Some(&json!("ghp_meta")), Some(&HeaderMap::new()), None)
                .unwrap_err(),
            AuthError::GitHubTokensOff
        );
        let h = headers(&[("authorization", "Bearer grm_at_ours")]);
        assert_eq!(
            p.resolve(None, Some(&h), Some(&s)).unwrap().source,
            TokenSource::Oauth
        );
    }

    #[test]
    fn debug_of_a_resolved_token_shows_no_part_of_it() {
        let p = policy(Some("ghp_serverSECRETSECRET"));
        let h = headers(&[("authorization", "Bearer gho_bearerSECRETSECRET")]);
        for resolved in [
            p.resolve(Some(&json!("ghp_metaSECRETSECRET")), None, None)
                .unwrap(),
            p.resolve(None, Some(&h), None).unwrap(),
            p.resolve(None, None, None).unwrap(),
        ] {
            let shown = format!("{resolved:?} {p:?}");
            assert!(
                !shown.contains("SECRET") && !shown.contains("Secret"),
                "{shown}"
            );
        }
    }

    #[test]
    fn error_messages_never_contain_the_token() {
        let p = policy(None);
        let secret = "ghp_SECRETSECRET with space";
        let errs = [
            p.resolve(Some(&json!(secret)), None, None).unwrap_err(),
            p.resolve(
                None,
                Some(&headers(&[("authorization", &format!("Bearer {secret}"))])),
                None,
            )
            .unwrap_err(),
            p.resolve(None, Some(&headers(&[("x-github-token", secret)])), None)
                .unwrap_err(),
        ];
        for err in errs {
            assert!(!err.to_string().contains("SECRET"), "{err}");
            assert!(!format!("{err:?}").contains("SECRET"), "{err:?}");
        }
    }
}
