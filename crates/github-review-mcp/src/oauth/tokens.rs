//! Our tokens: the token endpoint (code and refresh grants), revocation (RFC 7009),
//! and the [`BearerVerifier`] the HTTP gate calls on every request.
//!
//! Access tokens (`grm_at_…`) live an hour and are bound to our resource; refresh
//! tokens (`grm_rt_…`) rotate on every use. Both are stored as hashes pointing at a
//! grant; ending the grant ends them all. A redeemed code or a rotated-out refresh
//! token leaves a marker: presenting it again is a replay, and revokes the grant
//! (RFC 9700 §4.14.2, §2.2.2).
//!
//! A GitHub App's user token expires; `verify` refreshes it upstream a minute
//! before, one refresh at a time per replica. Two replicas refreshing at once: GitHub
//! honours one refresh token once, so the loser re-reads the grant the winner wrote.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::authorize::{Code, Grant};
use super::upstream::{Issued, UpstreamError};
use super::{
    digest, no_store, now_secs, oauth_error, params, s256, same, secret, short, Oauth, Request,
    StepError,
};
use crate::auth::{BearerError, BearerVerifier, GrantRef, SignedIn, Token};
use crate::state::Space;

const ACCESS_PREFIX: &str = "grm_at_";
const REFRESH_PREFIX: &str = "grm_rt_";
/// How long the marker of a redeemed code is kept (past any code's life).
const USED_CODE_TTL: std::time::Duration = std::time::Duration::from_secs(900);

#[derive(Serialize, Deserialize)]
struct Access {
    grant_id: String,
    client_id: String,
    scopes: Vec<String>,
    resource: String,
}

#[derive(Serialize, Deserialize)]
struct Refresh {
    grant_id: String,
    client_id: String,
    scopes: Vec<String>,
    resource: String,
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

impl Oauth {
    pub(super) fn new_grant(
        &self,
        request: &Request,
        login: &str,
        user_id: u64,
        issued: &Issued,
    ) -> Grant {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let sealer = &self.config.sealer;
        Grant {
            github_token: sealer.seal(issued.access_token.expose_secret().as_bytes(), &id),
            github_refresh: issued
                .refresh_token
                .as_ref()
                .map(|r| sealer.seal(r.expose_secret().as_bytes(), &format!("{id}/refresh"))),
            github_expires_at: issued.expires_at,
            client_id: request.client_id.clone(),
            login: login.to_owned(),
            user_id,
            scopes: request.scopes.clone(),
            resource: request.resource.clone(),
            created_at: now_secs(),
            id,
        }
    }

    /// Issues an access and a refresh token for `grant`, and keeps the grant as long
    /// as its refresh token.
    async fn issue(
        &self,
        grant: &Grant,
        client_id: &str,
        scopes: Vec<String>,
    ) -> Result<Response, StepError> {
        let access = secret(ACCESS_PREFIX);
        let refresh = secret(REFRESH_PREFIX);
        let cfg = &self.config;
        // Only onto a grant that still exists, so a revocation racing this issue
        // is never undone.
        if !self
            .replace_json(Space::OauthGrant, &grant.id, grant, Some(cfg.refresh_ttl))
            .await?
        {
            return Ok(invalid_grant("the sign-in was revoked"));
        }
        let record = Access {
            grant_id: grant.id.clone(),
            client_id: client_id.to_owned(),
            scopes: scopes.clone(),
            resource: grant.resource.clone(),
        };
        self.put_json(
            Space::OauthAccess,
            &digest(&access),
            &record,
            cfg.access_ttl,
        )
        .await?;
        let record = Refresh {
            grant_id: grant.id.clone(),
            client_id: client_id.to_owned(),
            scopes: scopes.clone(),
            resource: grant.resource.clone(),
        };
        self.put_json(
            Space::OauthRefresh,
            &digest(&refresh),
            &record,
            cfg.refresh_ttl,
        )
        .await?;
        let mut response = Json(json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": cfg.access_ttl.as_secs(),
            "refresh_token": refresh,
            "scope": scopes.join(" "),
        }))
        .into_response();
        no_store(&mut response);
        Ok(response)
    }

    async fn redeem_code(
        &self,
        form: &std::collections::HashMap<String, String>,
    ) -> Result<Response, StepError> {
        let get = |name: &str| form.get(name).map(String::as_str);
        let Some(code) = get("code") else {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "code is required",
            ));
        };
        let key = digest(code);
        let Some(record) = self.get_json::<Code>(Space::OauthCode, &key).await? else {
            if let Some(grant_id) = self.get_json::<String>(Space::OauthCodeUsed, &key).await? {
                self.revoke_grant(&grant_id, "an authorization code was presented twice")
                    .await;
            }
            tracing::warn!(
                outcome = "refused",
                "token: unknown, expired or reused code"
            );
            return Ok(invalid_grant(
                "the code is unknown, expired or already used",
            ));
        };
        // Spent now, whatever follows. Claimed, not just marked: of two redemptions
        // at once (on any replicas) one wins, and the other is the replay that revokes.
        if !self
            .claim_json(Space::OauthCodeUsed, &key, &record.grant_id, USED_CODE_TTL)
            .await?
        {
            self.revoke_grant(
                &record.grant_id,
                "an authorization code was redeemed twice at once",
            )
            .await;
            return Ok(invalid_grant(
                "the code is unknown, expired or already used",
            ));
        }
        self.store.delete(Space::OauthCode, &key).await?;
        let request = &record.request;
        let refusal = if get("client_id") != Some(request.client_id.as_str()) {
            Some("the code was issued to another client")
        } else if get("redirect_uri").is_some_and(|r| r != request.redirect_uri) {
            Some("redirect_uri differs from the one of the authorization request")
        } else if !get("code_verifier").is_some_and(|v| same(&s256(v), &request.code_challenge)) {
            Some("the PKCE code_verifier is missing or does not match the code_challenge")
        } else if get("resource").is_some_and(|r| !self.accepts_resource(r)) {
            Some("the code was issued for another resource")
        } else {
            None
        };
        if let Some(why) = refusal {
            self.revoke_grant(&record.grant_id, "a code was redeemed with the wrong proof")
                .await;
            tracing::warn!(client = %request.client_id, outcome = "refused", reason = why, "token: code refused");
            return Ok(invalid_grant(why));
        }
        let Some(grant) = self
            .get_json::<Grant>(Space::OauthGrant, &record.grant_id)
            .await?
        else {
            return Ok(invalid_grant("the sign-in behind this code has ended"));
        };
        tracing::info!(client = %request.client_id, login = %grant.login, grant = %short(&grant.id), "token: code redeemed");
        self.issue(&grant, &request.client_id, request.scopes.clone())
            .await
    }

    async fn rotate_refresh(
        &self,
        form: &std::collections::HashMap<String, String>,
    ) -> Result<Response, StepError> {
        let get = |name: &str| form.get(name).map(String::as_str);
        let Some(token) = get("refresh_token") else {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "refresh_token is required",
            ));
        };
        let key = digest(token);
        let Some(record) = self.get_json::<Refresh>(Space::OauthRefresh, &key).await? else {
            if let Some(grant_id) = self
                .get_json::<String>(Space::OauthRefreshUsed, &key)
                .await?
            {
                self.revoke_grant(&grant_id, "a rotated-out refresh token was presented again")
                    .await;
            }
            tracing::warn!(
                outcome = "refused",
                "token: unknown, expired or reused refresh token"
            );
            return Ok(invalid_grant(
                "the refresh token is unknown, expired or already used",
            ));
        };
        if !self
            .claim_json(
                Space::OauthRefreshUsed,
                &key,
                &record.grant_id,
                self.config.refresh_ttl,
            )
            .await?
        {
            self.revoke_grant(&record.grant_id, "a refresh token was used twice at once")
                .await;
            return Ok(invalid_grant(
                "the refresh token is unknown, expired or already used",
            ));
        }
        self.store.delete(Space::OauthRefresh, &key).await?;
        if get("client_id").is_some_and(|c| c != record.client_id) {
            self.revoke_grant(
                &record.grant_id,
                "a refresh token was presented by another client",
            )
            .await;
            return Ok(invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        if get("resource").is_some_and(|r| !self.accepts_resource(r)) {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "this server issues tokens only for its own resource",
            ));
        }
        let scopes = match get("scope") {
            None => record.scopes.clone(),
            Some(asked) => {
                let asked: Vec<String> = asked
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if asked.iter().any(|s| !record.scopes.contains(s)) {
                    return Ok(oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "a refresh cannot widen the scopes",
                    ));
                }
                asked
            }
        };
        let Some(grant) = self
            .get_json::<Grant>(Space::OauthGrant, &record.grant_id)
            .await?
        else {
            return Ok(invalid_grant(
                "the sign-in behind this refresh token has ended",
            ));
        };
        tracing::info!(client = %record.client_id, login = %grant.login, grant = %short(&grant.id), "token: refresh token rotated");
        self.issue(&grant, &record.client_id, scopes).await
    }

    /// The grant's GitHub token, refreshed upstream when it is about to expire.
    async fn github_token(&self, grant: Grant) -> Result<(Grant, String), BearerError> {
        let open = |grant: &Grant| {
            self.config
                .sealer
                .open(&grant.github_token, &grant.id)
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .map_err(|_| {
                    BearerError::Invalid(
                        "the sign-in was sealed with a key this server no longer has",
                    )
                })
        };
        let expiring = |grant: &Grant| {
            grant
                .github_expires_at
                .is_some_and(|at| at <= now_secs() + 60)
        };
        if !expiring(&grant) {
            let token = open(&grant)?;
            return Ok((grant, token));
        }
        let _one_at_a_time = self.refresh_lock.lock().await;
        let unavailable = |e: StepError| BearerError::Unavailable(e.to_string());
        let current = self
            .get_json::<Grant>(Space::OauthGrant, &grant.id)
            .await
            .map_err(unavailable)?
            .ok_or(BearerError::Invalid("the sign-in was revoked"))?;
        if !expiring(&current) {
            let token = open(&current)?;
            return Ok((current, token));
        }
        let Some(sealed) = &current.github_refresh else {
            self.revoke_grant(
                &current.id,
                "the GitHub token expired and cannot be refreshed",
            )
            .await;
            return Err(BearerError::Invalid(
                "the GitHub sign-in expired; sign in again",
            ));
        };
        let refresh = self
            .config
            .sealer
            .open(sealed, &format!("{}/refresh", current.id))
            .map_err(|_| {
                BearerError::Invalid("the sign-in was sealed with a key this server no longer has")
            })?;
        let refresh = SecretString::from(String::from_utf8_lossy(&refresh).into_owned());
        let cfg = &self.config;
        match self
            .upstream
            .refresh(
                &cfg.github_client_id,
                &cfg.github_client_secret,
                refresh.expose_secret(),
            )
            .await
        {
            Ok(issued) => {
                let mut renewed = current.clone();
                renewed.github_token = cfg
                    .sealer
                    .seal(issued.access_token.expose_secret().as_bytes(), &current.id);
                renewed.github_refresh = issued.refresh_token.as_ref().map(|r| {
                    cfg.sealer.seal(
                        r.expose_secret().as_bytes(),
                        &format!("{}/refresh", current.id),
                    )
                });
                renewed.github_expires_at = issued.expires_at;
                // Only onto a grant that still exists: a revocation meanwhile holds.
                if !self
                    .replace_json(Space::OauthGrant, &renewed.id, &renewed, None)
                    .await
                    .map_err(unavailable)?
                {
                    return Err(BearerError::Invalid("the sign-in was revoked"));
                }
                tracing::info!(login = %renewed.login, grant = %short(&renewed.id), "GitHub user token refreshed");
                Ok((renewed, issued.access_token.expose_secret().to_owned()))
            }
            Err(UpstreamError::Refused(code)) => {
                // Another replica may have used the refresh token first.
                let again = self
                    .get_json::<Grant>(Space::OauthGrant, &current.id)
                    .await
                    .map_err(unavailable)?;
                if let Some(again) = again.filter(|g| !expiring(g)) {
                    let token = open(&again)?;
                    return Ok((again, token));
                }
                tracing::warn!(login = %current.login, code = %code, "GitHub refused to refresh the user token");
                self.revoke_grant(&current.id, "GitHub refused to refresh the user token")
                    .await;
                Err(BearerError::Invalid(
                    "GitHub ended the sign-in; sign in again",
                ))
            }
            Err(UpstreamError::Unavailable(why)) => Err(BearerError::Unavailable(format!(
                "GitHub token refresh: {why}"
            ))),
        }
    }
}

/// `POST /oauth/token`.
pub(super) async fn token(State(oauth): State<Arc<Oauth>>, body: Bytes) -> Response {
    let form = match params(&body) {
        Ok(form) => form,
        Err(e) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e),
    };
    let outcome = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => oauth.redeem_code(&form).await,
        Some("refresh_token") => oauth.rotate_refresh(&form).await,
        Some(_) => Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        )),
        None => Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        )),
    };
    outcome.unwrap_or_else(Response::from)
}

/// `POST /oauth/revoke` (RFC 7009): ends the token's whole grant. Always 200, so
/// the answer says nothing about whether the token existed.
pub(super) async fn revoke(State(oauth): State<Arc<Oauth>>, body: Bytes) -> Response {
    let Ok(form) = params(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a form",
        );
    };
    let Some(token) = form.get("token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    let key = digest(token);
    let grant = if token.starts_with(ACCESS_PREFIX) {
        oauth
            .get_json::<Access>(Space::OauthAccess, &key)
            .await
            .map(|a| a.map(|a| a.grant_id))
    } else if token.starts_with(REFRESH_PREFIX) {
        oauth
            .take_json::<Refresh>(Space::OauthRefresh, &key)
            .await
            .map(|r| r.map(|r| r.grant_id))
    } else {
        Ok(None)
    };
    match grant {
        Ok(Some(grant_id)) => {
            let _ = oauth.store.delete(Space::OauthAccess, &key).await;
            oauth
                .revoke_grant(&grant_id, "the client revoked its token")
                .await;
        }
        Ok(None) => {}
        Err(err) => return err.into(),
    }
    let mut response = StatusCode::OK.into_response();
    no_store(&mut response);
    response
}

#[async_trait]
impl BearerVerifier for Oauth {
    async fn verify(&self, bearer: &str) -> Result<SignedIn, BearerError> {
        if !bearer.starts_with(ACCESS_PREFIX) {
            return Err(BearerError::Invalid(
                "not an access token issued by this server",
            ));
        }
        let unavailable = |e: StepError| BearerError::Unavailable(e.to_string());
        let access = self
            .get_json::<Access>(Space::OauthAccess, &digest(bearer))
            .await
            .map_err(unavailable)?
            .ok_or(BearerError::Invalid(
                "the access token is expired or revoked",
            ))?;
        if !self.accepts_resource(&access.resource) {
            return Err(BearerError::Invalid(
                "the access token was issued for another resource",
            ));
        }
        let grant = self
            .get_json::<Grant>(Space::OauthGrant, &access.grant_id)
            .await
            .map_err(unavailable)?
            .ok_or(BearerError::Invalid("the sign-in was revoked"))?;
        let (grant, github) = self.github_token(grant).await?;
        let github = Token::parse(&github, &self.key)
            .map_err(|_| BearerError::Invalid("the stored GitHub token is not usable"))?;
        let verifier: Arc<dyn BearerVerifier> = self
            .me
            .upgrade()
            .ok_or(BearerError::Unavailable("shutting down".into()))?;
        Ok(SignedIn {
            github,
            login: grant.login,
            scopes: access.scopes,
            grant: GrantRef {
                id: grant.id,
                verifier,
            },
        })
    }

    async fn upstream_rejected(&self, grant: &str) {
        self.revoke_grant(grant, "GitHub answered 401 for the user's token")
            .await;
    }
}
