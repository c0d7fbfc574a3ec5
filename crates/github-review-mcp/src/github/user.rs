//! Who a token belongs to and what it may still spend: `GET /user` and
//! `GET /rate_limit` (which GitHub does not count against the budget).

use serde::Deserialize;

use super::client::{Credential, GitHubClient};
use super::error::GitHubError;

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub login: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, schemars::JsonSchema)]
pub struct Budget {
    pub limit: u64,
    pub remaining: u64,
    pub used: u64,
    /// Unix seconds when the budget resets.
    pub reset: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimits {
    pub core: Budget,
    pub graphql: Option<Budget>,
}

#[derive(Deserialize)]
struct RateLimitBody {
    resources: RateLimits,
}

/// The token's user and its `X-OAuth-Scopes` (absent for fine-grained and app tokens).
pub async fn authenticated_user(
    client: &GitHubClient,
    token: &Credential,
) -> Result<(User, Option<String>), GitHubError> {
    let response = client.get::<User>(token, "user").await?;
    Ok((response.body, response.scopes))
}

pub async fn rate_limits(
    client: &GitHubClient,
    token: &Credential,
) -> Result<RateLimits, GitHubError> {
    Ok(client
        .get::<RateLimitBody>(token, "rate_limit")
        .await?
        .body
        .resources)
}
