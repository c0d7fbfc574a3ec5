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
        /// A 422's reasons: strings, or objects with a `message` or a `code`.
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    let parsed = serde_json::from_slice::<Body>(body).ok();
    let reasons: Vec<String> = parsed
        .as_ref()
        .map(|b| {
            b.errors
                .iter()
                .filter_map(|e| match e {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Object(o) => o
                        .get("message")
                        .or_else(|| o.get("code"))
                        .and_then(|v| v.as_str())
                        .map(|m| match o.get("field").and_then(|f| f.as_str()) {
                            Some(field) if !m.contains(field) => format!("{field}: {m}"),
                            _ => m.to_owned(),
                        }),
                    _ => None,
                })
                .take(5)
                .collect()
        })
        .unwrap_or_default();
    let mut message = parsed
        .and_then(|b| b.message)
        .unwrap_or_else(|| "no message".to_owned());
    if !reasons.is_empty() {
        message = format!("{message} ({})", reasons.join("; "));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_422_carries_githubs_reasons_not_only_its_title() {
        let body = br#"{"message":"Unprocessable Entity","errors":["User can only have one pending review per pull request"]}"#;
        assert_eq!(
            github_message(body),
            "Unprocessable Entity (User can only have one pending review per pull request)"
        );
        let body = br#"{"message":"Validation Failed","errors":[{"resource":"PullRequestReviewComment","field":"line","code":"invalid"},{"message":"pull_request_review_thread.line must be part of the diff"}]}"#;
        assert_eq!(
            github_message(body),
            "Validation Failed (line: invalid; pull_request_review_thread.line must be part of the diff)"
        );
        assert_eq!(github_message(b"<html>"), "no message");
        let long = format!(r#"{{"message":"x","errors":["{}"]}}"#, "y".repeat(500));
        assert!(github_message(long.as_bytes()).chars().count() <= 201);
    }
}
