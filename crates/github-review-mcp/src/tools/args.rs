//! Tool arguments: their doc comments are the descriptions a model reads.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::github::review::FetchOptions;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Compact Markdown for reading (default).
    #[default]
    Markdown,
    /// The JSON object only.
    Json,
    /// Markdown, then JSON.
    Both,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct FetchArgs {
    /// The pull request: `owner/repo#123`, or its URL on the configured GitHub host
    /// (e.g. https://github.com/owner/repo/pull/123, with or without /files, query or fragment).
    pub pr_url: String,
    /// `markdown` (default), `json` or `both`. structuredContent always carries the JSON.
    #[serde(default)]
    pub output: Option<OutputFormat>,
    /// Threads (and comments) fetched per GitHub request, 1–100. Default 100.
    #[serde(default)]
    pub per_page: Option<u32>,
    /// Pages of threads fetched at most, 1–200. Default 200.
    #[serde(default)]
    pub max_pages: Option<u32>,
    /// Comments returned at most, 1–100000. Default 100000. When it stops the fetch early
    /// the result says so (`truncated`).
    #[serde(default)]
    pub max_comments: Option<u32>,
    /// Include resolved threads. Default true.
    #[serde(default)]
    pub include_resolved: Option<bool>,
    /// Include outdated threads (on code that has since changed). Default true.
    #[serde(default)]
    pub include_outdated: Option<bool>,
}

fn in_range(
    name: &str,
    value: Option<u32>,
    min: u32,
    max: u32,
    default: u32,
) -> Result<u32, String> {
    match value {
        None => Ok(default),
        Some(v) if (min..=max).contains(&v) => Ok(v),
        Some(v) => Err(format!("{name} must be between {min} and {max}, got {v}")),
    }
}

impl FetchArgs {
    pub fn options(&self) -> Result<FetchOptions, String> {
        Ok(FetchOptions {
            per_page: in_range("per_page", self.per_page, 1, 100, 100)?,
            max_pages: in_range("max_pages", self.max_pages, 1, 200, 200)?,
            max_comments: in_range("max_comments", self.max_comments, 1, 100_000, 100_000)?,
            include_resolved: self.include_resolved.unwrap_or(true),
            include_outdated: self.include_outdated.unwrap_or(true),
        })
    }
}

/// `whoami` takes no arguments.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct WhoamiArgs {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_limits_are_errors_not_clamps() {
        let args: FetchArgs =
            serde_json::from_value(serde_json::json!({"pr_url": "o/r#1", "per_page": 0})).unwrap();
        assert_eq!(
            args.options().unwrap_err(),
            "per_page must be between 1 and 100, got 0"
        );
        let args: FetchArgs =
            serde_json::from_value(serde_json::json!({"pr_url": "o/r#1", "max_comments": 100001}))
                .unwrap();
        assert!(args.options().is_err());
        let args: FetchArgs =
            serde_json::from_value(serde_json::json!({"pr_url": "o/r#1"})).unwrap();
        let options = args.options().unwrap();
        assert_eq!(
            (options.per_page, options.max_pages, options.max_comments),
            (100, 200, 100_000)
        );
        assert!(options.include_resolved && options.include_outdated);
    }
}
