//! Sign-in (`http --oauth`): the server is its own OAuth 2.1 authorization server in
//! front of GitHub, so MCP clients sign users in with a browser and nobody pastes a
//! token. An axum sub-router that `transport::http` merges, plus the
//! [`BearerVerifier`](crate::auth::BearerVerifier) the HTTP gate calls per request.
//!
//! The flow: a client registers ([`clients`]: dynamic registration or a client ID
//! metadata document) → `/oauth/authorize` checks it and shows a consent page
//! ([`authorize`]) → on approval the user is sent to GitHub with our own state and
//! PKCE → `/oauth/callback` exchanges GitHub's code ([`upstream`]), makes a grant
//! holding the user's GitHub token sealed ([`crypto`]) and gives the client our code
//! → `/oauth/token` turns it into our access and refresh tokens ([`tokens`]).
//!
//! **Invariants.** Every record lives in the state layer (`state::Space::Oauth*`), so
//! replicas agree and a restart signs nobody out. Our secrets (codes, consent
//! handles, access and refresh tokens, upstream states) are stored only as SHA-256
//! hashes; the GitHub tokens only sealed with the operator's key. Single-use records
//! are redeemed with `Store::take`, atomic on every backend. No secret is logged.

pub mod authorize;
pub mod clients;
pub mod crypto;
pub mod metadata;
pub mod redirect;
pub mod tokens;
pub mod upstream;

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::FingerprintKey;
use crate::github::GitHubHost;
use crate::state::{Space, StateError, Store};

pub use crypto::Sealer;

/// Where our endpoints live, below the issuer.
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
pub const CONSENT_PATH: &str = "/oauth/consent";
pub const CALLBACK_PATH: &str = "/oauth/callback";
pub const TOKEN_PATH: &str = "/oauth/token";
pub const REGISTER_PATH: &str = "/oauth/register";
pub const REVOKE_PATH: &str = "/oauth/revoke";

/// The operator's sign-in settings, validated.
#[derive(Debug)]
pub struct OauthConfig {
    /// The public base URL: our issuer; `<issuer>/mcp` is the resource.
    pub issuer: url::Url,
    /// The GitHub OAuth App's or GitHub App's client id and secret.
    pub github_client_id: String,
    pub github_client_secret: SecretString,
    /// Scopes asked of GitHub for an OAuth App (a GitHub App ignores them).
    pub github_scopes: String,
    pub sealer: Sealer,
    /// Lets client ID metadata documents be fetched over http and from loopback,
    /// for tests on one machine. Never in production.
    pub test_mode: bool,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

/// The sign-in service: its settings, the state layer, and its outbound clients.
#[derive(Debug)]
pub struct Oauth {
    config: OauthConfig,
    store: Arc<dyn Store>,
    host: GitHubHost,
    upstream: upstream::Upstream,
    documents: clients::Documents,
    key: FingerprintKey,
    /// Upstream refreshes one at a time per replica; across replicas see `tokens`.
    refresh_lock: tokio::sync::Mutex<()>,
    me: Weak<Oauth>,
}

/// Why a sign-in step failed, as far as storage goes.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    Store(#[from] StateError),
    #[error("a stored sign-in record is damaged")]
    Damaged,
}

impl Oauth {
    pub fn new(
        config: OauthConfig,
        store: Arc<dyn Store>,
        host: GitHubHost,
        key: FingerprintKey,
        timeout: Duration,
    ) -> Result<Arc<Self>, String> {
        let upstream = upstream::Upstream::new(&host, timeout)?;
        let documents = clients::Documents::new(config.test_mode)?;
        Ok(Arc::new_cyclic(|me| Self {
            config,
            store,
            host,
            upstream,
            documents,
            key,
            refresh_lock: tokio::sync::Mutex::new(()),
            me: me.clone(),
        }))
    }

    /// The issuer, without a trailing slash.
    pub fn issuer(&self) -> String {
        self.config.issuer.as_str().trim_end_matches('/').to_owned()
    }

    /// The one resource our tokens are for: the MCP endpoint.
    pub fn resource(&self) -> String {
        format!("{}/mcp", self.issuer())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    /// Resource values a client may ask for: the MCP endpoint (the canonical one),
    /// also written with a trailing slash, and the server's base URL.
    fn accepts_resource(&self, resource: &str) -> bool {
        let ours = self.resource();
        resource == ours
            || resource == format!("{ours}/")
            || resource == self.issuer()
            || resource == format!("{}/", self.issuer())
    }

    /// What clients call from code: metadata, registration, tokens, revocation.
    /// No cookies are involved, so the HTTP layer lets any origin read them (CORS).
    pub fn public_router(self: &Arc<Self>) -> Router {
        let issuer_path = self.config.issuer.path().trim_end_matches('/').to_owned();
        let mut router = Router::new()
            .route(metadata::WELL_KNOWN, get(metadata::authorization_server))
            .route(REGISTER_PATH, post(clients::register))
            .route(TOKEN_PATH, post(tokens::token))
            .route(REVOKE_PATH, post(tokens::revoke));
        if !issuer_path.is_empty() {
            // RFC 8414 §3: an issuer with a path has its metadata below the path.
            router = router.route(
                &format!("{}{issuer_path}", metadata::WELL_KNOWN),
                get(metadata::authorization_server),
            );
        }
        router
            .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
            .with_state(self.clone())
    }

    /// What the user's browser visits: authorize, consent, GitHub's callback.
    pub fn browser_router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(AUTHORIZE_PATH, get(authorize::authorize))
            .route(CONSENT_PATH, post(authorize::consent))
            .route(CALLBACK_PATH, get(authorize::callback))
            .layer(axum::extract::DefaultBodyLimit::max(16 * 1024))
            .with_state(self.clone())
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        space: Space,
        key: &str,
    ) -> Result<Option<T>, StepError> {
        match self.store.get(space, key).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| StepError::Damaged),
            None => Ok(None),
        }
    }

    async fn take_json<T: DeserializeOwned>(
        &self,
        space: Space,
        key: &str,
    ) -> Result<Option<T>, StepError> {
        match self.store.take(space, key).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| StepError::Damaged),
            None => Ok(None),
        }
    }

    async fn put_json<T: Serialize>(
        &self,
        space: Space,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), StepError> {
        let bytes = serde_json::to_vec(value).expect("records serialise");
        Ok(self.store.put(space, key, &bytes, ttl).await?)
    }

    /// Stores `value` unless `key` is taken; `true` if this caller won the claim.
    async fn claim_json<T: Serialize>(
        &self,
        space: Space,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<bool, StepError> {
        let bytes = serde_json::to_vec(value).expect("records serialise");
        Ok(self.store.put_if_absent(space, key, &bytes, ttl).await?)
    }

    /// Overwrites a record that still exists; `false` if it was deleted (revoked).
    async fn replace_json<T: Serialize>(
        &self,
        space: Space,
        key: &str,
        value: &T,
        ttl: Option<Duration>,
    ) -> Result<bool, StepError> {
        let bytes = serde_json::to_vec(value).expect("records serialise");
        Ok(self.store.replace(space, key, &bytes, ttl).await?)
    }

    /// Ends a grant: every access and refresh token of it stops working.
    async fn revoke_grant(&self, grant_id: &str, why: &'static str) {
        match self.store.delete(Space::OauthGrant, grant_id).await {
            Ok(()) => {
                tracing::warn!(grant = %short(grant_id), reason = why, "sign-in grant revoked")
            }
            Err(err) => {
                tracing::error!(grant = %short(grant_id), reason = why, error = %err, "could not revoke a sign-in grant")
            }
        }
    }
}

/// What a client asked for, carried from `/authorize` to the code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Request {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub scopes: Vec<String>,
    pub resource: String,
}

/// A new secret: `prefix` and 32 random bytes, base64url.
pub(crate) fn secret(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    )
}

/// How a secret is stored and looked up: its SHA-256. Our secrets are 256 random
/// bits, so a plain hash cannot be reversed.
pub(crate) fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// PKCE S256 (RFC 7636): base64url(SHA-256(verifier)).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Constant-time equality for secrets.
pub(crate) fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A grant id as logs show it.
pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

pub(crate) fn now_secs() -> u64 {
    crate::state::now_ms() / 1000
}

/// Parses a form or query string; a repeated parameter is an error (RFC 6749 §3.1).
pub(crate) fn params(text: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(text) {
        if out.insert(name.to_string(), value.to_string()).is_some() {
            return Err(format!("parameter {name} is repeated"));
        }
    }
    Ok(out)
}

/// An OAuth error answer (RFC 6749 §5.2), never cached.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response();
    no_store(&mut response);
    response
}

pub(crate) fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl From<StepError> for Response {
    fn from(err: StepError) -> Self {
        tracing::error!(error = %err, "sign-in step failed on the store");
        oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the sign-in store is unavailable; try again",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn secrets_are_random_and_stored_as_hashes() {
        let (a, b) = (secret("grm_at_"), secret("grm_at_"));
        assert_ne!(a, b);
        assert!(a.starts_with("grm_at_") && a.len() == 7 + 43);
        assert_eq!(digest(&a).len(), 64);
        assert!(!digest(&a).contains(&a[7..]));
        assert!(same(&a, &a.clone()) && !same(&a, &b) && !same(&a, "x"));
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(params(b"a=1&b=2").is_ok());
        assert!(params(b"a=1&a=2").unwrap_err().contains("a is repeated"));
    }
}
