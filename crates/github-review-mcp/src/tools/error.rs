//! One error type for tool bodies, so each reads as a straight line of `?`:
//! a caller's mistake (`Invalid`, the text says what to change) or GitHub's
//! failure (`GitHub`, with what the call was doing). `run` turns either into the
//! tool-error result the client sees; neither is a JSON-RPC error.

use rmcp::model::{CallToolResult, ContentBlock};
use serde::Serialize;

use crate::github::{GitHubError, PrRefError};

#[derive(Debug)]
pub(super) enum ToolError {
    /// Arguments or a state the caller must change; the text names it.
    Invalid(String),
    /// GitHub refused or failed. `doing` starts the message ("Could not list the
    /// reviews of o/r#1"), the error names the cause.
    GitHub { doing: String, error: GitHubError },
}

/// What a tool body returns.
pub(super) type ToolResult = Result<CallToolResult, ToolError>;

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError::Invalid(message)
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        ToolError::Invalid(message.to_owned())
    }
}

impl From<PrRefError> for ToolError {
    fn from(e: PrRefError) -> Self {
        ToolError::Invalid(e.to_string())
    }
}

impl ToolError {
    pub(super) fn into_result(self) -> CallToolResult {
        match self {
            ToolError::Invalid(message) => text_error(message),
            ToolError::GitHub { doing, error } => {
                tracing::info!(error_kind = error.kind(), "GitHub call failed");
                text_error(format!("{doing}: {error}"))
            }
        }
    }
}

/// Names what a GitHub call was for, so its failure reads as a sentence.
pub(super) trait Doing<T> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, ToolError>;
}

impl<T> Doing<T> for Result<T, GitHubError> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, ToolError> {
        self.map_err(|error| ToolError::GitHub {
            doing: what(),
            error,
        })
    }
}

pub(super) fn text_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// A successful result: `value` as structuredContent, `text` as the content.
pub(super) fn structured(value: serde_json::Value, text: Vec<String>) -> CallToolResult {
    let mut result = CallToolResult::structured(value);
    result.content = text.into_iter().map(ContentBlock::text).collect();
    result
}

/// `value` as structuredContent and `text` (one content block) as what the model reads.
pub(super) fn reply<T: Serialize>(value: &T, text: String) -> ToolResult {
    let json = serde_json::to_value(value)
        .map_err(|err| ToolError::Invalid(format!("internal error: {err}")))?;
    Ok(structured(json, vec![text]))
}

/// Like `reply`, but the result is an error when `failed` (a partial failure the
/// structured result details: some steps happened, one did not).
pub(super) fn reply_partial<T: Serialize>(value: &T, text: String, failed: bool) -> ToolResult {
    let mut result = reply(value, text)?;
    if failed {
        result.is_error = Some(true);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(result: &CallToolResult) -> String {
        result.content[0].as_text().unwrap().text.clone()
    }

    #[test]
    fn a_github_failure_reads_as_what_was_being_done_and_why() {
        let err: Result<(), _> = Err(GitHubError::NotFound("o/r#1".into()));
        let result = err.doing(|| "Could not list the reviews of o/r#1".into());
        let shown = result.unwrap_err().into_result();
        assert_eq!(shown.is_error, Some(true));
        let t = text(&shown);
        assert!(
            t.starts_with("Could not list the reviews of o/r#1: "),
            "{t}"
        );
        assert!(t.contains("o/r#1"), "{t}");
    }

    #[test]
    fn a_partial_failure_keeps_its_structured_result() {
        let r = reply_partial(&serde_json::json!({"done": 1}), "one of two".into(), true).unwrap();
        assert_eq!(r.is_error, Some(true));
        assert_eq!(r.structured_content.unwrap()["done"], 1);
        let ok = reply(&serde_json::json!({}), "fine".into()).unwrap();
        assert_ne!(ok.is_error, Some(true));
    }
}
