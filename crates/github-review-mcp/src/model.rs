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
    /// Threads left out by the filters.
    pub filtered_out_threads: u32,
    /// Set when `max_output_bytes` cut the answer: pass it as `cursor` (with the
    /// same other arguments) for the rest, from exactly where this one stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Pass as `changes_since` later to get only what changed after this read.
    /// Given on the last page of a read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_cursor: Option<String>,
    /// With `changes_since`: threads of the earlier read that are gone (deleted,
    /// or no longer matching the filters).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gone_thread_ids: Vec<String>,
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
    /// Comments of this thread given on earlier pages (a thread larger than
    /// `max_output_bytes` is split between its comments); 0 normally.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub comments_before: u32,
    /// Comments of this thread that follow on the next page (see `next_cursor`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub comments_after: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewComment {
    /// Numeric id: what replying to a comment takes.
    pub id: Option<u64>,
    /// GraphQL node id (`PRRC_...`).
    pub node_id: String,
    /// Login of the author (`name[bot]` for apps); null for a deleted account.
    pub author: Option<String>,
    /// True when the author is a bot (GitHub's `Bot` type, or a `[bot]` login).
    pub author_is_bot: bool,
    /// The whole body as GitHub has it (the Markdown text trims known bots' noise).
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

/// `fetch_pr_review_comments`'s structuredContent. Every call carries the counts and
/// the pull request; the threads themselves only when `output` is `json` or `both`.
/// A Markdown call (the default) has them in its text already, and a client that
/// validates structuredContent against this schema (the Python and TypeScript SDKs
/// do, on every call) would otherwise pay for the whole tree a second time.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReviewCommentsResult<'a> {
    pub pr: &'a PullRequestSummary,
    /// Threads in GitHub's order, each with its comments oldest first. Present only
    /// when `output` is `json` or `both`; a Markdown call lists them in its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<&'a [ReviewThread]>,
    /// Threads this call returned (after filters and limits).
    pub returned_threads: u32,
    /// Comments this call returned, replies included.
    pub returned_comments: u32,
    /// True when `max_comments` or `max_pages` stopped the fetch before the end:
    /// some threads or comments are missing. See `truncated_reason`.
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated_reason: Option<&'a str>,
    /// All review threads of the pull request, before filters.
    pub total_threads: u32,
    /// Threads left out by the filters (and, with `changes_since`, unchanged ones).
    pub filtered_out_threads: u32,
    /// Set when `max_output_bytes` cut the answer: pass it as `cursor` (with the
    /// same other arguments) for the rest, from exactly where this one stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<&'a str>,
    /// Pass as `changes_since` later to get only what changed after this read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_cursor: Option<&'a str>,
    /// With `changes_since`: threads of the earlier read that are gone.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub gone_thread_ids: &'a [String],
}

impl ReviewComments {
    /// The structuredContent of this fetch; `with_threads` adds the threads.
    pub fn result(&self, with_threads: bool) -> ReviewCommentsResult<'_> {
        ReviewCommentsResult {
            pr: &self.pr,
            threads: with_threads.then_some(self.threads.as_slice()),
            returned_threads: self.threads.len() as u32,
            returned_comments: self.comment_count() as u32,
            truncated: self.truncated,
            truncated_reason: self.truncated_reason.as_deref(),
            total_threads: self.total_threads,
            filtered_out_threads: self.filtered_out_threads,
            next_cursor: self.next_cursor.as_deref(),
            changes_cursor: self.changes_cursor.as_deref(),
            gone_thread_ids: &self.gone_thread_ids,
        }
    }
}

/// One open pull request, as `resolve_open_pr_url` lists candidates.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OpenPullRequest {
    pub number: u32,
    pub title: String,
    pub url: String,
    pub author: Option<String>,
    pub head_ref: String,
    /// Owner of the head repository (differs from the base owner for forks).
    pub head_owner: Option<String>,
    pub base_ref: String,
    pub draft: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// The open pull request found for a branch.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ResolvedPullRequest {
    /// The pull request's URL: what the other tools take as `pr_url`.
    pub pr_url: String,
    pub pr: OpenPullRequest,
    /// How it was chosen: `branch`, `latest` or `first`.
    pub strategy: String,
    /// Every open pull request that matched, when more than one did.
    pub candidates: Vec<OpenPullRequest>,
    /// Where owner/repo/branch came from: `arguments` or `git` (the server's working directory, stdio only).
    pub source: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangedFile {
    pub filename: String,
    /// `added`, `removed`, `modified`, `renamed`, `copied`, `changed` or `unchanged`.
    pub status: String,
    pub additions: u64,
    pub deletions: u64,
    pub previous_filename: Option<String>,
    /// The file's diff, when asked for and GitHub has one (binary and huge files have none).
    pub patch: Option<String>,
    /// True when `patch` was cut to `max_patch_bytes`.
    pub patch_truncated: bool,
}

/// A pull request's metadata and changed files.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PullRequestDetails {
    pub host: String,
    pub owner: String,
    pub repo: String,
    pub number: u32,
    pub title: String,
    pub url: String,
    /// `open` or `closed`.
    pub state: String,
    pub merged: bool,
    pub draft: bool,
    pub author: Option<String>,
    pub body: String,
    pub base_ref: String,
    pub head_ref: String,
    pub head_sha: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `REVIEW_REQUIRED`, or null when no review is required.
    pub review_decision: Option<String>,
    /// Null while GitHub is still computing it.
    pub mergeable: Option<bool>,
    /// GitHub's `mergeable_state`: `clean`, `dirty` (conflicts), `blocked`, `behind`, `unstable`, `unknown`, ...
    pub mergeable_state: Option<String>,
    pub requested_reviewers: Vec<String>,
    pub requested_teams: Vec<String>,
    pub additions: u64,
    pub deletions: u64,
    pub changed_files: u64,
    pub files: Vec<ChangedFile>,
    /// True when the file list was cut to `max_files`.
    pub files_truncated: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewSummary {
    /// Numeric id: what submitting or deleting a pending review takes.
    pub id: Option<u64>,
    /// GraphQL node id (`PRR_...`): what adding a comment to a pending review takes.
    pub node_id: String,
    pub author: Option<String>,
    /// `PENDING`, `COMMENTED`, `APPROVED`, `CHANGES_REQUESTED` or `DISMISSED`.
    pub state: String,
    pub body: String,
    /// Null for a pending review.
    pub submitted_at: Option<String>,
    pub url: String,
    pub comment_count: u32,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PullRequestReviews {
    pub pr_url: String,
    pub reviews: Vec<ReviewSummary>,
}

/// The first comment of a thread, as `list_review_threads` shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThreadFirstComment {
    pub id: Option<u64>,
    pub author: Option<String>,
    pub body: String,
    pub created_at: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThreadSummary {
    /// GraphQL node id (`PRRT_...`): what resolve/unresolve take.
    pub id: String,
    pub path: String,
    pub line: Option<u32>,
    pub start_line: Option<u32>,
    pub original_line: Option<u32>,
    pub diff_side: String,
    pub subject_type: String,
    pub is_resolved: bool,
    pub is_outdated: bool,
    pub resolved_by: Option<String>,
    pub comment_count: u32,
    pub first_comment: Option<ThreadFirstComment>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThreadList {
    pub pr_url: String,
    /// Threads on this page that match the filters.
    pub threads: Vec<ThreadSummary>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// All review threads of the pull request, before filters.
    pub total_threads: u32,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckRun {
    /// GitHub's check run id; for a GitHub Actions run also its job id.
    pub id: u64,
    pub name: String,
    /// `queued`, `in_progress` or `completed` (also `waiting`, `requested`, `pending`).
    pub status: String,
    /// When completed: `success`, `failure`, `neutral`, `cancelled`, `skipped`, `timed_out`, `action_required`, `stale`.
    pub conclusion: Option<String>,
    pub details_url: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    /// Slug of the app that made the run: `github-actions` for a GitHub Actions job.
    pub app: Option<String>,
    /// How many annotations the run has.
    pub annotations_count: u32,
    /// With `include_failure_details`, for a failed run: its annotations and the end of
    /// its job's log. Null otherwise.
    pub failure_details: Option<FailureDetails>,
}

/// Why a check run failed, as far as GitHub says: annotations, and for a GitHub
/// Actions job the last lines of its log. Each part that could not be read says why.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct FailureDetails {
    /// The run's annotations in GitHub's order, at most 50.
    pub annotations: Vec<CheckAnnotation>,
    /// True when the run has more annotations than listed.
    pub annotations_truncated: bool,
    /// Why the annotations could not be read; null when they were.
    pub annotations_error: Option<String>,
    /// The end of the job's log; null for runs that are not GitHub Actions jobs, or
    /// when it could not be read (`log_error`).
    pub log: Option<LogTail>,
    /// Why the log could not be read; null when it was or the run has none.
    pub log_error: Option<String>,
}

/// An annotation of a check run (a failed test, a lint finding) on a file's lines.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckAnnotation {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub start_column: Option<u32>,
    pub end_column: Option<u32>,
    /// `notice`, `warning` or `failure`.
    pub level: String,
    pub title: Option<String>,
    pub message: String,
    /// Details the app attached (e.g. a stack trace).
    pub raw_details: Option<String>,
}

/// The last lines of a job's log: GitHub's timestamps and ANSI colour codes removed,
/// invisible characters stripped.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LogTail {
    pub text: String,
    /// True when the log was cut to its tail (`max_log_bytes`).
    pub truncated: bool,
    /// Size of the whole log as downloaded, in bytes.
    pub log_bytes: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CommitStatus {
    pub context: String,
    /// `success`, `failure`, `error` or `pending`.
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PullRequestChecks {
    pub pr_url: String,
    pub head_sha: String,
    /// `failure` if anything failed, else `pending` if anything runs, else `success`; `none` without checks.
    pub overall: String,
    pub passed: u32,
    pub failed: u32,
    pub pending: u32,
    pub check_runs: Vec<CheckRun>,
    pub statuses: Vec<CommitStatus>,
}

/// What a write created: every id and URL needed to find it again.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CreatedComment {
    /// Numeric id of the new comment.
    pub id: u64,
    pub node_id: String,
    pub url: String,
    /// For a reply: the comment it answers.
    pub in_reply_to_id: Option<u64>,
    /// Login of the author: the caller.
    pub author: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThreadResolution {
    pub thread_id: String,
    pub path: String,
    pub is_resolved: bool,
    pub resolved_by: Option<String>,
}

/// What `reply_and_resolve` did: the reply, then the resolution. A step that did not
/// happen is `null`, and `error` says which step failed and why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReplyAndResolve {
    pub reply: Option<CreatedComment>,
    pub resolution: Option<ThreadResolution>,
    pub error: Option<String>,
}

/// One thread of `resolve_review_threads`: its new state, or why it did not change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThreadOutcome {
    pub thread_id: String,
    /// The thread's state after the call, when GitHub answered.
    pub resolution: Option<ThreadResolution>,
    pub error: Option<String>,
}

/// Every thread's outcome, in the order asked; `failed` counts the ones that did not change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ThreadOutcomes {
    pub threads: Vec<ThreadOutcome>,
    pub succeeded: u32,
    pub failed: u32,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReviewOutcome {
    /// Numeric id of the review.
    pub id: u64,
    /// GraphQL node id (`PRR_...`).
    pub node_id: String,
    /// `PENDING`, `COMMENTED`, `APPROVED` or `CHANGES_REQUESTED`; `DELETED` after delete.
    pub state: String,
    pub url: Option<String>,
    /// Login of the reviewer: the caller.
    pub author: Option<String>,
    /// Inline comments created with the review (after a submit: every comment it holds).
    pub comments: Vec<CreatedComment>,
    /// Comments of the pending review that GitHub dropped when it was submitted
    /// (their lines were no longer in the diff). Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_comments: Vec<PendingComment>,
}

/// The caller's pending (unsubmitted) review, which only they can see.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PendingReview {
    /// Numeric id of the review (what submit_pending_review and delete_pending_review take).
    pub id: u64,
    /// GraphQL node id (`PRR_...`).
    pub node_id: String,
    /// The summary saved with it so far (may be empty).
    pub body: String,
    pub url: Option<String>,
    pub comments: Vec<PendingComment>,
}

/// A comment of a pending review.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PendingComment {
    /// Numeric id (what update_pending_review_comment and delete_pending_review_comment take).
    pub id: u64,
    pub node_id: String,
    pub path: String,
    /// `line` or `file`.
    pub subject_type: String,
    /// The (last) line; null for a file comment.
    pub line: Option<u32>,
    pub start_line: Option<u32>,
    /// `RIGHT` or `LEFT`; null for a file comment.
    pub side: Option<String>,
    pub body: String,
}

/// `get_pending_review`'s answer: the review, or null when you have none on the PR.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PendingReviewResult {
    pub pr_url: String,
    pub review: Option<PendingReview>,
}
