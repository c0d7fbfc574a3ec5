//! The properties the fuzz targets check, as plain functions: `cargo fuzz` drives
//! them with libFuzzer, and `cargo test` replays the kept corpus through them.

use github_review_mcp::auth::{FingerprintKey, Token, TokenPolicy};
use github_review_mcp::github::{GitHubHost, PullRequestRef};
use github_review_mcp::tools::FetchArgs;

/// PR references: never panic; whatever is accepted is a valid owner, repository
/// and number; an error quotes a bounded part of the input.
pub fn pr_ref(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let hosts = [
        GitHubHost::github_com(),
        GitHubHost::parse("ghes.example.com:8443").expect("valid"),
    ];
    for host in hosts {
        match PullRequestRef::parse(input, &host) {
            Ok(pr) => {
                assert!((1..=39).contains(&pr.owner.len()));
                assert!(!pr.repo.is_empty() && pr.repo != "." && pr.repo != "..");
                assert!(!pr.owner.contains('/') && !pr.repo.contains('/'));
                assert!(pr.number >= 1 && pr.number <= i32::MAX as u32);
            }
            Err(err) => {
                let message = err.to_string();
                assert!(
                    message.len() < 600,
                    "an error text grew with the input: {} bytes",
                    message.len()
                );
            }
        }
        let _ = GitHubHost::parse(input);
    }
}

/// Token sources from hostile header bytes and `_meta` JSON: never panic; an error
/// text is a bounded template whatever the input's size (a 4 KB header cannot come
/// back in it); a resolved token's `Debug` shows no part of the secret.
///
/// (An earlier "the secret is not in the message" check had false alarms: the fuzzer
/// built headers out of template words, e.g. "ghp_`_meta.token` must be a strin";
/// those inputs stay in the corpus.)
pub fn token_sources(data: &[u8]) {
    let key = FingerprintKey::from_secret("fuzzing-key-0123456789");
    let policy = TokenPolicy::new(Token::parse("ghp_server", &key).ok(), key);
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (header, meta) = data.split_at(split);
    let meta_value: Option<serde_json::Value> =
        serde_json::from_slice(meta.get(1..).unwrap_or_default()).ok();
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_bytes(header) {
        headers.insert("x-github-token", value.clone());
        headers.insert(http::header::AUTHORIZATION, value);
    }
    for with_headers in [Some(&headers), None] {
        match policy.resolve(meta_value.as_ref(), with_headers, None) {
            Err(err) => assert!(
                err.to_string().len() < 300,
                "an error text grew with the input"
            ),
            Ok(resolved) => {
                let shown = format!("{resolved:?}");
                if let Ok(text) = std::str::from_utf8(header) {
                    let secret = text.trim().split(' ').next_back().unwrap_or("");
                    let secret = secret.get(4..).unwrap_or("");
                    if secret.len() >= 8 && resolved.source.as_str() != "meta" {
                        assert!(!shown.contains(secret), "Debug shows the token: {shown}");
                    }
                }
            }
        }
    }
}

/// Tool arguments as a model might send them: parsing and validation of every tool's
/// arguments never panic, no error text grows with the input, and accepted limits are
/// in range.
pub fn tool_args(data: &[u8]) {
    for error in github_review_mcp::tools::argument_errors(data) {
        assert!(
            error.len() < 1000,
            "an error text grew with the input: {} bytes",
            error.len()
        );
    }
    if let Ok(args) = serde_json::from_slice::<FetchArgs>(data) {
        if let Ok(options) = args.options() {
            assert!((1..=100).contains(&options.per_page));
            assert!((1..=200).contains(&options.max_pages));
            assert!((1..=100_000).contains(&options.max_comments));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn replay(target: &str, check: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("corpus directory") {
            check(&std::fs::read(entry.expect("entry").path()).expect("corpus file"));
            n += 1;
        }
        assert!(n > 0, "{} is empty", dir.display());
    }

    #[test]
    fn the_pr_ref_corpus_replays_clean() {
        replay("pr_ref", super::pr_ref);
    }

    #[test]
    fn the_token_sources_corpus_replays_clean() {
        replay("token_sources", super::token_sources);
    }

    #[test]
    fn the_tool_args_corpus_replays_clean() {
        replay("tool_args", super::tool_args);
    }
}
