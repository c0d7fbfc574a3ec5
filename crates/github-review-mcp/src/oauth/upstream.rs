//! GitHub's side of sign-in: its authorize URL, its token endpoint (code exchange
//! and, for GitHub Apps' expiring user tokens, refresh), and `GET /user`.
//!
//! The endpoints follow `GITHUB_HOST`: `<web origin>/login/oauth/authorize` and
//! `<web origin>/login/oauth/access_token` on github.com, `*.ghe.com`, GHES and the
//! loopback double. GitHub answers OAuth errors with HTTP 200 and an `error` field.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::github::GitHubHost;

#[derive(Debug)]
pub(crate) struct Upstream {
    http: reqwest::Client,
    authorize: url::Url,
    token: url::Url,
    user: url::Url,
}

/// What GitHub issued: a token, and for GitHub Apps its expiry and refresh token.
pub(crate) struct Issued {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// Unix seconds, for expiring tokens.
    pub expires_at: Option<u64>,
}

/// Why GitHub did not issue a token.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    /// GitHub's OAuth error code (`bad_verification_code`, `bad_refresh_token`, ...).
    #[error("GitHub refused: {0}")]
    Refused(String),
    #[error("GitHub could not be reached or answered unexpectedly: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct GitHubUser {
    pub login: String,
    pub id: u64,
}

impl Upstream {
    pub fn new(host: &GitHubHost, timeout: Duration) -> Result<Self, String> {
        let web = host.web();
        let join = |path: &str| {
            web.join(path)
                .map_err(|e| format!("cannot build GitHub's OAuth URL: {e}"))
        };
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("github-review-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the GitHub sign-in client: {e}"))?;
        Ok(Self {
            http,
            authorize: join("login/oauth/authorize")?,
            token: join("login/oauth/access_token")?,
            user: host
                .rest()
                .join("user")
                .map_err(|e| format!("cannot build GitHub's user URL: {e}"))?,
        })
    }

    /// Where the browser goes to sign in at GitHub.
    pub fn authorize_url(
        &self,
        client_id: &str,
        redirect_uri: &str,
        state: &str,
        scope: &str,
        challenge: &str,
    ) -> String {
        let mut url = self.authorize.clone();
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("scope", scope)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("allow_signup", "false");
        url.into()
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<Issued, UpstreamError> {
        let response = self
            .http
            .post(self.token.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| UpstreamError::Unavailable(without_url(&e)))?;
        let status = response.status();
        let answer: TokenAnswer = response.json().await.map_err(|_| {
            UpstreamError::Unavailable(format!("HTTP {status}, not an OAuth answer"))
        })?;
        if let Some(error) = answer.error {
            // GitHub's codes are short identifiers; keep only those characters.
            let code: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(UpstreamError::Refused(code));
        }
        let access_token = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| UpstreamError::Unavailable(format!("HTTP {status} without a token")))?;
        Ok(Issued {
            access_token: SecretString::from(access_token),
            refresh_token: answer
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(SecretString::from),
            expires_at: answer.expires_in.map(|s| super::now_secs() + s),
        })
    }

    /// Exchanges GitHub's code (with our PKCE verifier) for the user's token.
    pub async fn exchange(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<Issued, UpstreamError> {
        self.token_request(&[
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// Refreshes a GitHub App's expiring user token (the refresh token rotates).
    pub async fn refresh(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        refresh_token: &str,
    ) -> Result<Issued, UpstreamError> {
        self.token_request(&[
            ("client_id", client_id),
            ("client_secret", client_secret.expose_secret()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    /// Who the token belongs to.
    pub async fn user(&self, token: &SecretString) -> Result<GitHubUser, UpstreamError> {
        let response = self
            .http
            .get(self.user.clone())
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .send()
            .await
            .map_err(|e| UpstreamError::Unavailable(without_url(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(UpstreamError::Unavailable(format!(
                "GET /user answered {status}"
            )));
        }
        response
            .json()
            .await
            .map_err(|_| UpstreamError::Unavailable("GET /user did not return a user".into()))
    }
}

/// A transport error without its URL (which can carry a code in its query).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}
