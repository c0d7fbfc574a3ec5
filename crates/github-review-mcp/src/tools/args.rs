//! Tool arguments: their doc comments are the descriptions a model reads.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::github::comments::{BotFilter, FetchOptions};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Compact Markdown for reading (default); structuredContent carries the counts only.
    #[default]
    Markdown,
    /// Every thread as JSON: in structuredContent and as the text.
    Json,
    /// Markdown text, then the JSON text; every thread in structuredContent.
    Both,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct FetchArgs {
    /// The pull request: `owner/repo#123`, or its URL on the configured GitHub host
    /// (e.g. https://github.com/owner/repo/pull/123, with or without /files, query or fragment).
    pub pr_url: String,
    /// `markdown` (default): the threads as Markdown text, counts in structuredContent.
    /// `json` or `both`: every thread in structuredContent too (and as JSON text).
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
    /// Only threads on this file, or under this directory when it ends with `/`.
    #[serde(default)]
    pub path: Option<String>,
    /// Only threads opened by this login (the author of the thread's first comment).
    #[serde(default)]
    pub author: Option<String>,
    /// Leave out threads opened by this login (e.g. your own).
    #[serde(default)]
    pub exclude_author: Option<String>,
    /// Leave out threads opened by bots (CodeRabbit, Copilot, Gemini Code Assist, ...).
    #[serde(default)]
    pub exclude_bots: Option<bool>,
    /// Only threads opened by bots.
    #[serde(default)]
    pub only_bots: Option<bool>,
    /// Only threads with a comment at or after this instant (RFC 3339, e.g.
    /// `2026-11-30T12:00:00Z`); each such thread comes whole, for context.
    #[serde(default)]
    pub since: Option<String>,
    /// `oldest_first` (default: GitHub's order, by where the thread was opened) or
    /// `newest_first` (latest comment first).
    #[serde(default)]
    pub order: Option<ThreadOrder>,
    /// The `changes_cursor` of an earlier fetch: only threads with new comments, or
    /// whose resolved/outdated state changed, since then; `gone_thread_ids` lists
    /// threads that disappeared.
    #[serde(default)]
    pub changes_since: Option<String>,
    /// The `next_cursor` of a fetch that was cut at `max_output_bytes`: continues
    /// exactly where it stopped. Pass the same other arguments.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Largest answer in bytes of text (Markdown, or JSON with output json), 2000 to
    /// 50000000. Default 80000, about 20k tokens: below Claude Code's 25k-token cap.
    /// The cut falls between threads, or between the comments of a thread larger
    /// than the budget, and `next_cursor` continues from there.
    #[serde(default)]
    pub max_output_bytes: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThreadOrder {
    #[default]
    OldestFirst,
    NewestFirst,
}

/// `max_output_bytes` when the call gives none.
pub const DEFAULT_MAX_OUTPUT_BYTES: u32 = 80_000;

/// Parses a `since` argument as an instant.
pub fn parse_since(since: &str) -> Result<jiff::Timestamp, String> {
    since.trim().parse::<jiff::Timestamp>().map_err(|_| {
        format!(
            "since must be an RFC 3339 time such as 2026-11-30T12:00:00Z, got {}",
            crate::untrusted::echo(since)
        )
    })
}

pub(crate) fn in_range(
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

/// Everything a fetch call's arguments ask for, checked before GitHub is asked.
pub struct FetchPlan {
    pub options: FetchOptions,
    pub since: Option<jiff::Timestamp>,
    pub budget: usize,
    pub start: Option<super::fetch_view::Position>,
}

impl FetchArgs {
    pub fn plan(&self) -> Result<FetchPlan, String> {
        Ok(FetchPlan {
            options: self.options()?,
            since: self.since.as_deref().map(parse_since).transpose()?,
            budget: in_range(
                "max_output_bytes",
                self.max_output_bytes,
                2_000,
                50_000_000,
                DEFAULT_MAX_OUTPUT_BYTES,
            )? as usize,
            start: self
                .cursor
                .as_deref()
                .map(super::fetch_view::Position::decode)
                .transpose()?,
        })
    }

    pub fn options(&self) -> Result<FetchOptions, String> {
        Ok(FetchOptions {
            per_page: in_range("per_page", self.per_page, 1, 100, 100)?,
            max_pages: in_range("max_pages", self.max_pages, 1, 200, 200)?,
            max_comments: in_range("max_comments", self.max_comments, 1, 100_000, 100_000)?,
            include_resolved: self.include_resolved.unwrap_or(true),
            include_outdated: self.include_outdated.unwrap_or(true),
            path: self.path.clone().filter(|p| !p.is_empty()),
            author: self.author.clone().filter(|a| !a.is_empty()),
            exclude_author: self.exclude_author.clone().filter(|a| !a.is_empty()),
            bots: match (
                self.exclude_bots.unwrap_or(false),
                self.only_bots.unwrap_or(false),
            ) {
                (true, true) => return Err("exclude_bots and only_bots cannot both be true".into()),
                (true, false) => BotFilter::Exclude,
                (false, true) => BotFilter::Only,
                (false, false) => BotFilter::Keep,
            },
            progress: None,
        })
    }
}

/// The longest body GitHub accepts for a comment or review.
pub const MAX_BODY_CHARS: usize = 65_536;

/// A comment body: not blank, within GitHub's limit.
pub fn check_body(name: &str, body: &str) -> Result<(), String> {
    if body.trim().is_empty() {
        return Err(format!("{name} must not be empty"));
    }
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(format!(
            "{name} is {chars} characters; GitHub accepts at most {MAX_BODY_CHARS}"
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SelectStrategy {
    /// The open PR whose head is exactly `owner:branch` (default); falls back to a fork's PR of that branch.
    #[default]
    Branch,
    /// The most recently updated open PR among the matches.
    Latest,
    /// The oldest (lowest-numbered) open PR among the matches.
    First,
    /// Fail when more than one open PR matches, listing them.
    Error,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ResolvePrArgs {
    /// Repository owner. Over stdio, defaults to the origin remote of the git repository the server runs in.
    #[serde(default)]
    pub owner: Option<String>,
    /// Repository name. Over stdio, defaults from the origin remote.
    #[serde(default)]
    pub repo: Option<String>,
    /// Head branch of the pull request. Over stdio, defaults to the current git branch.
    #[serde(default)]
    pub branch: Option<String>,
    /// How to choose among several open PRs: `branch` (default), `latest`, `first`, `error`.
    #[serde(default)]
    pub select_strategy: Option<SelectStrategy>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct PrArgs {
    /// The pull request: `owner/repo#123` or its URL on the configured GitHub host.
    pub pr_url: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ChecksArgs {
    /// The pull request: `owner/repo#123` or its URL on the configured GitHub host.
    pub pr_url: String,
    /// For each failed check run (failure, timed_out, cancelled, action_required,
    /// startup_failure; the first 10): its annotations (up to 50) and, for a GitHub
    /// Actions job, the last lines of its log. Default false.
    #[serde(default)]
    pub include_failure_details: Option<bool>,
    /// Bytes of each job log's end kept, 200–20000. Default 4000.
    #[serde(default)]
    pub max_log_bytes: Option<u32>,
}

impl ChecksArgs {
    /// `max_log_bytes` when failure details are asked for; `None` when they are not.
    pub fn log_bytes(&self) -> Result<Option<usize>, String> {
        let bytes = in_range("max_log_bytes", self.max_log_bytes, 200, 20_000, 4000)?;
        Ok(self
            .include_failure_details
            .unwrap_or(false)
            .then_some(bytes as usize))
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct GetPullRequestArgs {
    /// The pull request: `owner/repo#123` or its URL on the configured GitHub host.
    pub pr_url: String,
    /// Include each changed file's patch (diff). Default false.
    #[serde(default)]
    pub include_patch: Option<bool>,
    /// Bytes of patch kept per file, 1–1000000. Default 20000; a cut patch is marked `patch_truncated`.
    #[serde(default)]
    pub max_patch_bytes: Option<u32>,
    /// Changed files listed at most, 1–3000 (GitHub's own limit). Default 300.
    #[serde(default)]
    pub max_files: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ListThreadsArgs {
    /// The pull request: `owner/repo#123` or its URL on the configured GitHub host.
    pub pr_url: String,
    /// Only resolved (true) or unresolved (false) threads.
    #[serde(default)]
    pub is_resolved: Option<bool>,
    /// Only outdated (true) or current (false) threads.
    #[serde(default)]
    pub is_outdated: Option<bool>,
    /// Only threads on this file, or under this directory when it ends with `/`.
    #[serde(default)]
    pub path: Option<String>,
    /// Only threads opened by this login.
    #[serde(default)]
    pub author: Option<String>,
    /// Threads scanned per page, 1–100. Default 100. Filters apply within the page.
    #[serde(default)]
    pub per_page: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ReplyArgs {
    /// The pull request the comment belongs to: `owner/repo#123` or its URL.
    pub pr_url: String,
    /// Numeric id of the review comment to answer (any comment of the thread).
    pub comment_id: u64,
    /// The reply, in GitHub Markdown.
    pub body: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ReplyAndResolveArgs {
    /// The pull request the thread belongs to: `owner/repo#123` or its URL.
    pub pr_url: String,
    /// Numeric id of a comment of the thread (its last one, usually): the reply answers it.
    pub comment_id: u64,
    /// The thread's GraphQL node id (`PRRT_...`): resolved once the reply is posted.
    pub thread_id: String,
    /// The reply, in GitHub Markdown: what was changed, or why not.
    pub body: String,
}

/// How many threads one `resolve_review_threads` call may change.
pub const MAX_THREADS_AT_ONCE: usize = 50;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ThreadsArgs {
    /// The threads' GraphQL node ids (`PRRT_...`), 1 to 50.
    pub thread_ids: Vec<String>,
    /// `false` reopens them instead. Default `true`.
    #[serde(default)]
    pub resolve: Option<bool>,
}

/// A review thread's node id as GitHub writes it, checked before anything is sent.
pub fn check_thread_id(id: &str) -> Result<&str, String> {
    let id = id.trim();
    if id.is_empty()
        || id.len() > 200
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-=".contains(&b))
    {
        return Err("thread_id must be a review thread's node id (PRRT_...)".into());
    }
    Ok(id)
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ThreadArgs {
    /// The thread's GraphQL node id (`PRRT_...`), as fetch_pr_review_comments and list_review_threads give it.
    pub thread_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewEvent {
    Approve,
    RequestChanges,
    Comment,
}

impl ReviewEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewEvent::Approve => "APPROVE",
            ReviewEvent::RequestChanges => "REQUEST_CHANGES",
            ReviewEvent::Comment => "COMMENT",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    /// The new version of the file (added or unchanged lines). Default.
    Right,
    /// The old version (deleted lines).
    Left,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Right => "RIGHT",
            Side::Left => "LEFT",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct InlineCommentArgs {
    /// File path relative to the repository root, as in the PR's changed files.
    pub path: String,
    /// The (last) line of the range, in the file version chosen by `side`; it must
    /// lie in one of the file's diff hunks. Omit it with `subject_type: file`.
    #[serde(default)]
    pub line: Option<u32>,
    /// `line` (default) or `file`: a comment on the whole file, not on lines.
    #[serde(default)]
    pub subject_type: Option<SubjectType>,
    /// `RIGHT` (default) or `LEFT`.
    #[serde(default)]
    pub side: Option<Side>,
    /// First line of a multi-line range; omit for one line.
    #[serde(default)]
    pub start_line: Option<u32>,
    /// Side of `start_line`; defaults to `side`.
    #[serde(default)]
    pub start_side: Option<Side>,
    /// The comment, in GitHub Markdown.
    pub body: String,
    /// Replacement text for the commented lines (`start_line`..`line`, RIGHT side):
    /// added to the body as a ```suggestion block the author can apply in one click.
    #[serde(default)]
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubjectType {
    Line,
    File,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CreateReviewArgs {
    /// The pull request: `owner/repo#123` or its URL.
    pub pr_url: String,
    /// `APPROVE`, `REQUEST_CHANGES` or `COMMENT`; omit to leave the review pending (visible only to you).
    #[serde(default)]
    pub event: Option<ReviewEvent>,
    /// The review's summary. Required for REQUEST_CHANGES and COMMENT without inline comments.
    #[serde(default)]
    pub body: Option<String>,
    /// Inline comments, each on one line, a range or a whole file. Every position is
    /// checked against the PR's diff before anything is posted.
    #[serde(default)]
    pub comments: Vec<InlineCommentArgs>,
    /// When you already have a pending review on this PR: add these comments to it
    /// (and submit it when `event` is given) instead of failing. Default false.
    #[serde(default)]
    pub add_to_pending: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SubmitReviewArgs {
    /// The pull request: `owner/repo#123` or its URL.
    pub pr_url: String,
    /// `APPROVE`, `REQUEST_CHANGES` or `COMMENT`.
    pub event: ReviewEvent,
    /// Optional summary added on submission.
    #[serde(default)]
    pub body: Option<String>,
    /// Numeric id of your pending review; found automatically when omitted.
    #[serde(default)]
    pub review_id: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct DeleteReviewArgs {
    /// The pull request: `owner/repo#123` or its URL.
    pub pr_url: String,
    /// Numeric id of your pending review; found automatically when omitted.
    #[serde(default)]
    pub review_id: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct AddPendingCommentArgs {
    /// The pull request: `owner/repo#123` or its URL.
    pub pr_url: String,
    #[serde(flatten)]
    pub comment: InlineCommentArgs,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct PendingCommentArgs {
    /// The pull request: `owner/repo#123` or its URL.
    pub pr_url: String,
    /// Numeric id of a comment of your pending review (from get_pending_review).
    pub comment_id: u64,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct UpdatePendingCommentArgs {
    /// The pull request: `owner/repo#123` or its URL.
    pub pr_url: String,
    /// Numeric id of a comment of your pending review (from get_pending_review).
    pub comment_id: u64,
    /// The comment's new text, in GitHub Markdown.
    pub body: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct IssueCommentArgs {
    /// The pull request: `owner/repo#123` or its URL.
    pub pr_url: String,
    /// The comment on the PR's conversation, in GitHub Markdown.
    pub body: String,
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
