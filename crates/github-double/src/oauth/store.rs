//! The OAuth state: authorization codes, access tokens and refresh tokens, and
//! the rules for trading one for another. Every operation takes the time as an
//! argument, so tests move the clock instead of waiting.
//!
//! Architecture invariant: issued tokens live here, never in the `World`, so
//! issuing or revoking one neither bumps the world generation nor empties caches.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::seed::{AppKind, SeedOAuthApp};
use crate::world::UserIx;

/// How long a code from the authorize page can be exchanged: GitHub's 10 minutes.
pub const CODE_LIFETIME_SECS: u64 = 600;

/// What a user allowed an app; kept on the code and on every token it yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    pub user: UserIx,
    /// Normalised scopes (an OAuth App's; always empty for a GitHub App).
    pub scopes: Vec<String>,
}

#[derive(Debug)]
struct Code {
    grant: Grant,
    redirect_uri: String,
    /// The S256 PKCE challenge, when the authorize request had one.
    challenge: Option<String>,
    expires_at: u64,
}

#[derive(Debug)]
struct Access {
    grant: Grant,
    kind: AppKind,
    expires_at: Option<u64>,
    refresh: Option<String>,
}

#[derive(Debug)]
struct Refresh {
    grant: Grant,
    access: String,
    expires_at: u64,
}

/// Body of `GET /_double/oauth/stats`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub codes_issued: u64,
    pub codes_redeemed: u64,
    /// Access tokens, from codes and from refreshes.
    pub tokens_issued: u64,
    pub refreshes: u64,
    pub denials: u64,
}

/// What `POST /login/oauth/access_token` refuses, with GitHub's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("The client_id and/or client_secret passed are incorrect.")]
    IncorrectClientCredentials,
    #[error("The redirect_uri MUST match the registered callback URL for this application.")]
    RedirectUriMismatch,
    #[error("The code passed is incorrect or expired.")]
    BadVerificationCode,
    #[error("The grant type passed is not supported.")]
    UnsupportedGrantType,
    #[error("The refresh token passed is incorrect or expired.")]
    BadRefreshToken,
}

impl TokenError {
    /// The `error` field.
    pub fn code(self) -> &'static str {
        match self {
            TokenError::IncorrectClientCredentials => "incorrect_client_credentials",
            TokenError::RedirectUriMismatch => "redirect_uri_mismatch",
            TokenError::BadVerificationCode => "bad_verification_code",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::BadRefreshToken => "bad_refresh_token",
        }
    }

    /// The `error_uri` field: GitHub's troubleshooting page for the error.
    pub fn uri(self) -> &'static str {
        match self {
            TokenError::IncorrectClientCredentials => {
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials"
            }
            TokenError::RedirectUriMismatch => {
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#redirect-uri-mismatch2"
            }
            TokenError::BadVerificationCode => {
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"
            }
            TokenError::UnsupportedGrantType => {
                "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#unsupported-grant-type"
            }
            TokenError::BadRefreshToken => {
                "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens"
            }
        }
    }
}

/// A successful token answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// Whom the token authenticates (not part of the answer).
    pub user: UserIx,
    pub access_token: String,
    /// Comma-separated, as GitHub's `scope` field; empty for GitHub Apps.
    pub scope: String,
    /// Only for a GitHub App with expiring tokens.
    pub expiry: Option<Expiry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_token_expires_in: u64,
}

impl Issued {
    /// The answer's fields in GitHub's order, numbers as numbers.
    pub fn fields(&self) -> Vec<(&'static str, serde_json::Value)> {
        let mut f = vec![("access_token", self.access_token.clone().into())];
        if let Some(e) = &self.expiry {
            f.push(("expires_in", e.expires_in.into()));
            f.push(("refresh_token", e.refresh_token.clone().into()));
            f.push((
                "refresh_token_expires_in",
                e.refresh_token_expires_in.into(),
            ));
        }
        f.push(("token_type", "bearer".into()));
        f.push(("scope", self.scope.clone().into()));
        f
    }
}

/// Who an issued token authenticates, for the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub user: UserIx,
    pub client_id: String,
    /// `X-OAuth-Scopes`: an OAuth App token's scopes; none for a GitHub App's.
    pub scopes_header: Option<String>,
}

/// The thread-safe store `AppState` holds.
#[derive(Default)]
pub struct OAuth {
    inner: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Refresh>,
    stats: Stats,
    rng: TokenRng,
}

/// `base64url-no-pad(sha256(verifier))`: PKCE's S256, the only method GitHub accepts.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl OAuth {
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new single-use code (20 hex digits, like GitHub's) for an approval.
    pub fn issue_code(
        &self,
        grant: Grant,
        redirect_uri: &str,
        challenge: Option<String>,
        now: u64,
    ) -> String {
        let mut s = self.lock();
        s.codes.retain(|_, c| now < c.expires_at);
        let code = s.rng.hex(20);
        s.codes.insert(
            code.clone(),
            Code {
                grant,
                redirect_uri: redirect_uri.to_string(),
                challenge,
                expires_at: now + CODE_LIFETIME_SECS,
            },
        );
        s.stats.codes_issued += 1;
        code
    }

    /// Counts a user's "Cancel" on the authorize page.
    pub fn record_denial(&self) {
        self.lock().stats.denials += 1;
    }

    /// Trades a code for tokens. The code is spent only by a successful trade.
    pub fn redeem(
        &self,
        app: &SeedOAuthApp,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now: u64,
    ) -> Result<Issued, TokenError> {
        let mut s = self.lock();
        let c = s
            .codes
            .get(code)
            .filter(|c| c.grant.client_id == app.client_id && now < c.expires_at)
            .ok_or(TokenError::BadVerificationCode)?;
        if redirect_uri.is_some_and(|r| r != c.redirect_uri) {
            return Err(TokenError::RedirectUriMismatch);
        }
        let verified = match (&c.challenge, verifier) {
            (None, _) => true,
            (Some(ch), Some(v)) => s256(v) == *ch,
            (Some(_), None) => false,
        };
        if !verified {
            return Err(TokenError::BadVerificationCode);
        }
        let grant = c.grant.clone();
        s.codes.remove(code);
        s.stats.codes_redeemed += 1;
        Ok(s.issue(app, grant, now))
    }

    /// Trades a GitHub App's refresh token for a new pair; the old refresh token
    /// and the access token it came with stop working (GitHub rotates both).
    pub fn refresh(
        &self,
        app: &SeedOAuthApp,
        refresh_token: &str,
        now: u64,
    ) -> Result<Issued, TokenError> {
        let mut s = self.lock();
        let valid = s
            .refresh
            .get(refresh_token)
            .is_some_and(|r| r.grant.client_id == app.client_id && now < r.expires_at);
        let Some(old) = s.refresh.remove(refresh_token).filter(|_| valid) else {
            return Err(TokenError::BadRefreshToken);
        };
        s.access.remove(&old.access);
        s.stats.refreshes += 1;
        Ok(s.issue(app, old.grant, now))
    }

    /// Who `token` authenticates, unless it is unknown, revoked or expired.
    pub fn owner(&self, token: &str, now: u64) -> Option<TokenOwner> {
        let s = self.lock();
        let a = s.access.get(token)?;
        if a.expires_at.is_some_and(|e| now >= e) {
            return None;
        }
        Some(TokenOwner {
            user: a.grant.user,
            client_id: a.grant.client_id.clone(),
            scopes_header: (a.kind == AppKind::OauthApp).then(|| a.grant.scopes.join(", ")),
        })
    }

    /// Revokes every code and token `user` was given; returns how many tokens.
    pub fn revoke_user(&self, user: UserIx) -> usize {
        self.lock().revoke_where(|g| g.user == user)
    }

    /// Revokes one access or refresh token together with its partner; returns
    /// how many tokens that removed (0 when unknown).
    pub fn revoke_token(&self, token: &str) -> usize {
        self.lock().revoke_pair(token, None)
    }

    /// `DELETE /applications/{client_id}/token`: like `revoke_token`, for one
    /// app's access token only.
    pub fn revoke_app_token(&self, client_id: &str, token: &str) -> bool {
        self.lock().revoke_pair(token, Some(client_id)) > 0
    }

    /// `DELETE /applications/{client_id}/grant`: everything the app holds for the
    /// user of `token`.
    pub fn revoke_app_grant(&self, client_id: &str, token: &str) -> bool {
        let mut s = self.lock();
        let Some(user) = s
            .access
            .get(token)
            .filter(|a| a.grant.client_id == client_id)
            .map(|a| a.grant.user)
        else {
            return false;
        };
        s.revoke_where(|g| g.user == user && g.client_id == client_id);
        true
    }

    /// Makes `user`'s expiring access tokens expired now; refresh tokens stay
    /// valid, so a client's refresh path can be tested. Returns how many.
    pub fn expire_user(&self, user: UserIx, now: u64) -> usize {
        let mut s = self.lock();
        let mut n = 0;
        for a in s.access.values_mut().filter(|a| a.grant.user == user) {
            if let Some(e) = a.expires_at.as_mut() {
                *e = (*e).min(now);
                n += 1;
            }
        }
        n
    }

    /// Makes one expiring access token expired now; returns 1, or 0 when `token`
    /// is unknown or does not expire.
    pub fn expire_token(&self, token: &str, now: u64) -> usize {
        let mut s = self.lock();
        match s.access.get_mut(token).and_then(|a| a.expires_at.as_mut()) {
            Some(e) => {
                *e = (*e).min(now);
                1
            }
            None => 0,
        }
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats
    }
}

impl Store {
    fn issue(&mut self, app: &SeedOAuthApp, grant: Grant, now: u64) -> Issued {
        self.stats.tokens_issued += 1;
        let expiring = app.kind == AppKind::GithubApp && app.token_lifetime_secs > 0;
        let prefix = match app.kind {
            AppKind::OauthApp => "gho_",
            AppKind::GithubApp => "ghu_",
        };
        let access_token = format!("{prefix}{}", self.rng.alphanumeric(36));
        let scope = grant.scopes.join(",");
        let grant_user = grant.user;
        let expiry = expiring.then(|| Expiry {
            expires_in: app.token_lifetime_secs,
            refresh_token: format!("ghr_{}", self.rng.alphanumeric(76)),
            refresh_token_expires_in: app.refresh_token_lifetime_secs,
        });
        if let Some(e) = &expiry {
            self.refresh.insert(
                e.refresh_token.clone(),
                Refresh {
                    grant: grant.clone(),
                    access: access_token.clone(),
                    expires_at: now + e.refresh_token_expires_in,
                },
            );
        }
        self.access.insert(
            access_token.clone(),
            Access {
                grant,
                kind: app.kind,
                expires_at: expiry.as_ref().map(|e| now + e.expires_in),
                refresh: expiry.as_ref().map(|e| e.refresh_token.clone()),
            },
        );
        Issued {
            user: grant_user,
            access_token,
            scope,
            expiry,
        }
    }

    fn revoke_where(&mut self, hit: impl Fn(&Grant) -> bool) -> usize {
        let before = self.access.len() + self.refresh.len();
        self.codes.retain(|_, c| !hit(&c.grant));
        self.access.retain(|_, a| !hit(&a.grant));
        self.refresh.retain(|_, r| !hit(&r.grant));
        before - self.access.len() - self.refresh.len()
    }

    fn revoke_pair(&mut self, token: &str, client_id: Option<&str>) -> usize {
        let of_app = |g: &Grant| client_id.is_none_or(|c| c == g.client_id);
        let (access, refresh) = if let Some(a) = self.access.get(token).filter(|a| of_app(&a.grant))
        {
            (Some(token.to_string()), a.refresh.clone())
        } else if let Some(r) = self
            .refresh
            .get(token)
            .filter(|r| client_id.is_none() && of_app(&r.grant))
        {
            (Some(r.access.clone()), Some(token.to_string()))
        } else {
            return 0;
        };
        let a = access.and_then(|t| self.access.remove(&t)).is_some();
        let r = refresh.and_then(|t| self.refresh.remove(&t)).is_some();
        usize::from(a) + usize::from(r)
    }
}

/// Unguessable token text: SHA-256 of a per-process key and a counter. The key
/// comes from std's randomly keyed SipHash, so the double needs no RNG crate.
pub(crate) struct TokenRng {
    key: [u8; 32],
    counter: u64,
}

impl Default for TokenRng {
    fn default() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            h.write_u128(nanos);
            h.write_u32(std::process::id());
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        TokenRng { key, counter: 0 }
    }
}

impl TokenRng {
    fn block(&mut self) -> [u8; 32] {
        self.counter += 1;
        Sha256::new()
            .chain_update(self.key)
            .chain_update(self.counter.to_le_bytes())
            .finalize()
            .into()
    }

    /// `n` characters of `[A-Za-z0-9]`, unbiased (bytes ≥ 248 are skipped).
    fn alphanumeric(&mut self, n: usize) -> String {
        const ALPHABET: &[u8; 62] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(n);
        while out.len() < n {
            for b in self.block().into_iter().filter(|b| *b < 248) {
                if out.len() < n {
                    out.push(ALPHABET[usize::from(b % 62)] as char);
                }
            }
        }
        out
    }

    /// `n` (at most 64) lower-case hex digits.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        let mut h = hex::encode(self.block());
        h.truncate(n);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn oauth_app() -> SeedOAuthApp {
        SeedOAuthApp::new("Iv1.o", "so", AppKind::OauthApp)
    }

    fn github_app() -> SeedOAuthApp {
        SeedOAuthApp::new("Iv23.g", "sg", AppKind::GithubApp)
    }

    fn grant(app: &SeedOAuthApp, user: UserIx, scopes: &[&str]) -> Grant {
        Grant {
            client_id: app.client_id.clone(),
            user,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A code for `app` and user 0, traded at once.
    fn tokens(o: &OAuth, app: &SeedOAuthApp, user: UserIx) -> Issued {
        let code = o.issue_code(grant(app, user, &["repo"]), "http://cb", None, NOW);
        o.redeem(app, &code, None, None, NOW).unwrap()
    }

    #[test]
    fn tokens_look_like_githubs() {
        let o = OAuth::default();
        let code = o.issue_code(grant(&oauth_app(), 0, &[]), "http://cb", None, NOW);
        assert_eq!(code.len(), 20);
        assert!(code.bytes().all(|b| b.is_ascii_hexdigit()));
        let t = tokens(&o, &oauth_app(), 0);
        assert!(t.access_token.starts_with("gho_") && t.access_token.len() == 40);
        assert!(t.access_token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric()));
        let t = tokens(&o, &github_app(), 0);
        assert!(t.access_token.starts_with("ghu_") && t.access_token.len() == 40);
        let e = t.expiry.unwrap();
        assert!(e.refresh_token.starts_with("ghr_") && e.refresh_token.len() == 80);
        assert_eq!(
            (e.expires_in, e.refresh_token_expires_in),
            (28_800, 15_897_600)
        );
    }

    #[test]
    fn a_code_is_single_use_and_lives_ten_minutes() {
        let (o, app) = (OAuth::default(), oauth_app());
        let code = o.issue_code(grant(&app, 0, &[]), "http://cb", None, NOW);
        assert!(o.redeem(&app, &code, None, None, NOW).is_ok());
        assert_eq!(
            o.redeem(&app, &code, None, None, NOW),
            Err(TokenError::BadVerificationCode)
        );
        let code = o.issue_code(grant(&app, 0, &[]), "http://cb", None, NOW);
        let late = NOW + CODE_LIFETIME_SECS;
        assert_eq!(
            o.redeem(&app, &code, None, None, late),
            Err(TokenError::BadVerificationCode)
        );
    }

    #[test]
    fn a_code_belongs_to_its_app_and_redirect() {
        let (o, app) = (OAuth::default(), oauth_app());
        let code = o.issue_code(grant(&app, 0, &[]), "http://cb", None, NOW);
        assert_eq!(
            o.redeem(&github_app(), &code, None, None, NOW),
            Err(TokenError::BadVerificationCode)
        );
        assert_eq!(
            o.redeem(&app, &code, Some("http://evil"), None, NOW),
            Err(TokenError::RedirectUriMismatch)
        );
        assert!(o.redeem(&app, &code, Some("http://cb"), None, NOW).is_ok());
    }

    #[test]
    fn pkce_needs_the_verifier_of_the_challenge() {
        let (o, app) = (OAuth::default(), oauth_app());
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let code = o.issue_code(grant(&app, 0, &[]), "http://cb", Some(s256(verifier)), NOW);
        for wrong in [None, Some("not-it")] {
            assert_eq!(
                o.redeem(&app, &code, None, wrong, NOW),
                Err(TokenError::BadVerificationCode)
            );
        }
        assert!(o.redeem(&app, &code, None, Some(verifier), NOW).is_ok());
    }

    #[test]
    fn oauth_app_tokens_carry_scopes_and_never_expire() {
        let (o, app) = (OAuth::default(), oauth_app());
        let code = o.issue_code(
            grant(&app, 3, &["repo", "read:org"]),
            "http://cb",
            None,
            NOW,
        );
        let t = o.redeem(&app, &code, None, None, NOW).unwrap();
        assert_eq!((t.scope.as_str(), t.expiry), ("repo,read:org", None));
        let owner = o.owner(&t.access_token, u64::MAX).unwrap();
        assert_eq!(owner.user, 3);
        assert_eq!(owner.scopes_header.as_deref(), Some("repo, read:org"));
        assert_eq!(o.expire_user(3, NOW), 0);
    }

    #[test]
    fn refresh_rotates_both_tokens() {
        let (o, app) = (OAuth::default(), github_app());
        let first = tokens(&o, &app, 1);
        let old_refresh = first.expiry.unwrap().refresh_token;
        assert_eq!(
            o.owner(&first.access_token, NOW).unwrap().scopes_header,
            None
        );
        let second = o.refresh(&app, &old_refresh, NOW + 10).unwrap();
        assert!(o.owner(&first.access_token, NOW + 10).is_none());
        assert_eq!(o.owner(&second.access_token, NOW + 10).unwrap().user, 1);
        assert_eq!(
            o.refresh(&app, &old_refresh, NOW + 10),
            Err(TokenError::BadRefreshToken)
        );
        assert_eq!(o.stats().refreshes, 1);
        assert_eq!(o.stats().tokens_issued, 2);
    }

    #[test]
    fn access_tokens_expire_and_refresh_tokens_later() {
        let (o, app) = (OAuth::default(), github_app());
        let t = tokens(&o, &app, 0);
        assert!(o.owner(&t.access_token, NOW + 28_799).is_some());
        assert!(o.owner(&t.access_token, NOW + 28_800).is_none());
        let refresh = t.expiry.unwrap().refresh_token;
        assert_eq!(
            o.refresh(&app, &refresh, NOW + 15_897_600),
            Err(TokenError::BadRefreshToken)
        );
        assert_eq!(
            o.refresh(&oauth_app(), "ghr_unknown", NOW),
            Err(TokenError::BadRefreshToken)
        );
    }

    #[test]
    fn expire_leaves_the_refresh_token_usable() {
        let (o, app) = (OAuth::default(), github_app());
        let t = tokens(&o, &app, 2);
        assert_eq!(o.expire_user(2, NOW), 1);
        assert!(o.owner(&t.access_token, NOW).is_none());
        let refresh = t.expiry.unwrap().refresh_token;
        let fresh = o.refresh(&app, &refresh, NOW).unwrap();
        assert_eq!(o.expire_token(&fresh.access_token, NOW), 1);
        assert!(o.owner(&fresh.access_token, NOW).is_none());
    }

    #[test]
    fn revocation_by_user_token_and_app() {
        let o = OAuth::default();
        let (a, b) = (tokens(&o, &github_app(), 0), tokens(&o, &oauth_app(), 0));
        let other = tokens(&o, &oauth_app(), 1);
        assert_eq!(
            o.revoke_user(0),
            3,
            "two access tokens and one refresh token"
        );
        assert!(o.owner(&a.access_token, NOW).is_none());
        assert!(o.owner(&b.access_token, NOW).is_none());
        assert!(o.owner(&other.access_token, NOW).is_some());

        let t = tokens(&o, &github_app(), 0);
        let refresh = t.expiry.clone().unwrap().refresh_token;
        assert_eq!(
            o.revoke_token(&refresh),
            2,
            "a refresh token takes its partner"
        );
        assert!(o.owner(&t.access_token, NOW).is_none());

        assert!(!o.revoke_app_token("Iv23.g", &other.access_token));
        assert!(o.revoke_app_token("Iv1.o", &other.access_token));
        let (x, y) = (tokens(&o, &oauth_app(), 4), tokens(&o, &oauth_app(), 4));
        assert!(o.revoke_app_grant("Iv1.o", &x.access_token));
        assert!(o.owner(&y.access_token, NOW).is_none());
    }

    #[test]
    fn github_apps_may_opt_out_of_expiring_tokens() {
        let o = OAuth::default();
        let app = SeedOAuthApp {
            token_lifetime_secs: 0,
            ..github_app()
        };
        let t = tokens(&o, &app, 0);
        assert!(t.access_token.starts_with("ghu_"));
        assert_eq!(t.expiry, None);
        assert!(o.owner(&t.access_token, u64::MAX).is_some());
    }
}
