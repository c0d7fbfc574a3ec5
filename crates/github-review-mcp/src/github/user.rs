//! Who a token belongs to and what it may still spend: `GET /user` and
//! `GET /rate_limit` (which GitHub does not count against the budget); and which
//! repositories it works in (for completions).

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

pub const VIEWER_REPOSITORIES_QUERY: &str = include_str!("graphql/viewer_repositories.graphql");

#[derive(Deserialize)]
struct ViewerRepositories {
    viewer: ViewerRepositoryList,
}

#[derive(Deserialize)]
struct ViewerRepositoryList {
    repositories: RepositoryNodes,
}

#[derive(Deserialize)]
struct RepositoryNodes {
    nodes: Vec<Option<RepositoryName>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryName {
    name_with_owner: String,
}

/// `owner/name` of the first 100 repositories the token's user owns or collaborates on.
pub async fn repositories(
    client: &GitHubClient,
    token: &Credential,
) -> Result<Vec<String>, GitHubError> {
    let data: ViewerRepositories = client
        .graphql(token, VIEWER_REPOSITORIES_QUERY, serde_json::json!({}))
        .await?;
    Ok(data
        .viewer
        .repositories
        .nodes
        .into_iter()
        .flatten()
        .map(|r| r.name_with_owner)
        .collect())
}
