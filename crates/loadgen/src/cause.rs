//! Sorting failed calls by cause, from the error text: the server's wording (see
//! github-review-mcp's `github/error.rs` and the call bound in `tools/mod.rs`) and
//! loadgen's own for timeouts and transport failures.

use std::collections::BTreeMap;

/// Error counts by cause, in a stable order for the table and the JSON.
pub type ByCause = BTreeMap<String, u64>;

/// loadgen's own text for a call that exceeded `--call-timeout`.
pub const CLIENT_TIMEOUT_PREFIX: &str = "tools/call timed out after";
/// loadgen's own text for a call whose request or answer failed in rmcp.
pub const TRANSPORT_PREFIX: &str = "tools/call failed:";
/// loadgen's own text for a session that could not be opened.
pub const SESSION_PREFIX: &str = "session not opened:";

/// The cause of one failed call, from its error text. The first rule that matches
/// wins: the call bound first (its text may mention GitHub being slow), then what
/// GitHub did, then loadgen's own failures.
pub fn classify(text: &str) -> &'static str {
    const RULES: &[(&str, &str)] = &[
        // tools/mod.rs `bounded`: "... did not finish within the server's call timeout of 5s"
        ("call timeout", "call_timeout"),
        // GitHubError::Server: "GitHub server error (502); try again later"
        ("GitHub server error (", "github_5xx"),
        // GitHubError::Timeout: "GitHub did not answer within 2s"
        ("did not answer within", "github_timeout"),
        // GitHubError::Network: "network error with HOST: the connection was reset"
        ("network error with", "network"),
        // GitHubError::SecondaryRateLimit (before the primary one: both say "rate limit")
        ("secondary rate limit", "secondary_rate_limit"),
        // GitHubError::RateLimited: "GitHub rate limit exhausted for the graphql budget ..."
        ("rate limit exhausted", "rate_limit"),
        // GitHubError::RedirectElsewhere
        (
            "redirected the request to another host",
            "redirect_elsewhere",
        ),
        (CLIENT_TIMEOUT_PREFIX, "client_timeout"),
        (TRANSPORT_PREFIX, "transport"),
        (SESSION_PREFIX, "transport"),
    ];
    RULES
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map_or("other", |(_, cause)| cause)
}

/// Counts one error of `text`'s cause.
pub fn count(by_cause: &mut ByCause, text: &str) {
    *by_cause.entry(classify(text).to_owned()).or_default() += 1;
}

/// Adds `other`'s counts to `into`.
pub fn merge(into: &mut ByCause, other: &ByCause) {
    for (cause, n) in other {
        *into.entry(cause.clone()).or_default() += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_texts_map_to_their_causes() {
        let cases = [
            ("isError: GitHub server error (502); try again later", "github_5xx"),
            ("isError: GitHub did not answer within 2s", "github_timeout"),
            (
                "isError: network error with 127.0.0.1: the answer was cut off mid-body",
                "network",
            ),
            (
                "isError: GitHub secondary rate limit hit (retry after 1s): slow down and retry later",
                "secondary_rate_limit",
            ),
            (
                "isError: GitHub rate limit exhausted for the graphql budget of this token; it resets within the hour",
                "rate_limit",
            ),
            (
                "isError: fetch_pr_review_comments did not finish within the server's call timeout of 5s (GitHub answered too slowly).",
                "call_timeout",
            ),
            (
                "isError: GitHub redirected the request to another host (127.0.0.1); not followed, so the token was not sent there",
                "redirect_elsewhere",
            ),
            ("tools/call timed out after 30 s", "client_timeout"),
            ("tools/call failed: Transport closed", "transport"),
            ("tenant3: session not opened: MCP initialize failed", "transport"),
            ("isError: not found: tenant1/repo1#1", "other"),
            (
                "structuredContent.pr.owner is None, expected \"tenant1\"",
                "other",
            ),
        ];
        for (text, cause) in cases {
            assert_eq!(classify(text), cause, "{text}");
        }
    }

    #[test]
    fn counts_merge() {
        let mut a = ByCause::new();
        count(&mut a, "GitHub server error (503)");
        count(&mut a, "GitHub server error (502)");
        let mut b = ByCause::new();
        count(&mut b, "something else");
        merge(&mut a, &b);
        assert_eq!(
            a.into_iter().collect::<Vec<_>>(),
            [("github_5xx".to_owned(), 2), ("other".to_owned(), 1)]
        );
    }
}
