//! What can go wrong talking to GitHub, in words a user can act on. No variant
//! carries a token, a header value or a request body.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub rejected the token (401 Bad credentials): it is wrong, expired or revoked")]
    BadCredentials,
    #[error("not found: {0} (GitHub also answers 'not found' for private repositories the token cannot read)")]
    NotFound(String),
    #[error("GitHub refused access (403): {0}")]
    Forbidden(String),
    #[error(
        "GitHub rate limit exhausted for the {resource} budget of this token; it resets {reset}"
    )]
    RateLimited { resource: String, reset: String },
    #[error("this server's shared GitHub token allows each user {limit} requests an hour and you have used them (the share renews in {}m); bring your own token: X-GitHub-Token header, Authorization: Bearer, or _meta.token", resets_in_secs / 60)]
    ShareExhausted { limit: u64, resets_in_secs: u64 },
    #[error("GitHub secondary rate limit hit{}: slow down and retry later", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    SecondaryRateLimit { retry_after: Option<Duration> },
    #[error("GitHub server error ({status}); try again later")]
    Server { status: u16 },
    #[error("GitHub answered with an unexpected status {status}: {message}")]
    Unexpected { status: u16, message: String },
    #[error("GitHub did not answer within {0:?}")]
    Timeout(Duration),
    #[error("network error with {host}: {reason}")]
    Network { host: String, reason: String },
    #[error("GitHub redirected the request to another host ({0}); not followed, so the token was not sent there")]
    RedirectElsewhere(String),
    #[error("the download from {host} failed: {reason}")]
    Download { host: String, reason: String },
    #[error("GitHub's answer could not be read: {0}")]
    Decode(String),
    #[error("GitHub GraphQL error: {0}")]
    GraphQl(String),
}

impl GitHubError {
    /// A short, stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            GitHubError::BadCredentials => "bad_credentials",
            GitHubError::NotFound(_) => "not_found",
            GitHubError::Forbidden(_) => "forbidden",
            GitHubError::RateLimited { .. } => "rate_limited",
            GitHubError::SecondaryRateLimit { .. } => "secondary_rate_limit",
            GitHubError::ShareExhausted { .. } => "share_exhausted",
            GitHubError::Server { .. } => "server_error",
            GitHubError::Unexpected { .. } => "unexpected_status",
            GitHubError::Timeout(_) => "timeout",
            GitHubError::Network { .. } => "network",
            GitHubError::RedirectElsewhere(_) => "redirect_elsewhere",
            GitHubError::Download { .. } => "download",
            GitHubError::Decode(_) => "decode",
            GitHubError::GraphQl(_) => "graphql",
        }
    }
}

/// GitHub's own `message`, trimmed and bounded, for inclusion in an error.
pub(crate) fn github_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Body {
        message: Option<String>,
    }
    let message = serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.message)
        .unwrap_or_else(|| "no message".to_owned());
    let mut out: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if out.len() < message.len() {
        out.push('…');
    }
    out
}
