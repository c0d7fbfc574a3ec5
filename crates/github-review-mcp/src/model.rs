//! The data the tools return: plain, serialisable, schema-described types. Produced
//! by `github`, rendered by `format`; neither knows the other.

use schemars::JsonSchema;
use serde::Serialize;

/// Every review thread of a pull request, as far as the call's limits allowed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewComments {
    pub pr: PullRequestSummary,
    /// Threads in GitHub's order, each with its comments oldest first.
    pub threads: Vec<ReviewThread>,
    /// True when `max_comments` or `max_pages` stopped the fetch before the end:
    /// some threads or comments are missing. See `truncated_reason`.
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated_reason: Option<String>,
    /// All review threads of the pull request, before filters.
    pub total_threads: u32,
    /// Threads left out by `include_resolved` / `include_outdated`.
    pub filtered_out_threads: u32,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PullRequestSummary {
    /// The GitHub host, e.g. `github.com`.
    pub host: String,
    pub owner: String,
    pub repo: String,
    pub number: u32,
    pub title: String,
    pub url: String,
    /// `OPEN`, `CLOSED` or `MERGED`.
    pub state: String,
    pub is_draft: bool,
    pub author: Option<String>,
    pub base_ref: String,
    pub head_ref: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewThread {
    /// GraphQL node id (`PRRT_...`): what resolving a thread takes.
    pub id: String,
    pub path: String,
    /// Last line of the commented range in the current diff; null when outdated.
    pub line: Option<u32>,
    /// First line of a multi-line range; null for single-line comments.
    pub start_line: Option<u32>,
    /// `line` in the diff the comment was written on.
    pub original_line: Option<u32>,
    pub original_start_line: Option<u32>,
    /// `RIGHT` (new code) or `LEFT` (old code).
    pub diff_side: String,
    /// `LINE` or `FILE` (a comment on the whole file).
    pub subject_type: String,
    pub is_resolved: bool,
    pub is_outdated: bool,
    pub resolved_by: Option<String>,
    pub comments: Vec<ReviewComment>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewComment {
    /// Numeric id: what replying to a comment takes.
    pub id: Option<u64>,
    /// GraphQL node id (`PRRC_...`).
    pub node_id: String,
    /// Login of the author; null for a deleted account.
    pub author: Option<String>,
    pub body: String,
    pub created_at: String,
    pub url: String,
    pub diff_hunk: String,
    /// The numeric id of the comment this one replies to.
    pub in_reply_to_id: Option<u64>,
}

impl ReviewComments {
    pub fn comment_count(&self) -> usize {
        self.threads.iter().map(|t| t.comments.len()).sum()
    }
}
