//! Fetching every review thread of a pull request with its comments, by GraphQL:
//! pages of threads in order, then the remaining comments of long threads
//! concurrently (bounded), each thread paged to its end.

use futures::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::json;

use super::client::{Credential, GitHubClient};
use super::error::GitHubError;
use super::pr_ref::PullRequestRef;
use super::threads::ThreadFilter;
use crate::model::{PullRequestSummary, ReviewComment, ReviewComments, ReviewThread};

pub const REVIEW_THREADS_QUERY: &str = include_str!("graphql/review_threads.graphql");
pub const THREAD_COMMENTS_QUERY: &str = include_str!("graphql/thread_comments.graphql");

/// How many long threads have their remaining comments fetched at once.
const FOLLOW_UP_CONCURRENCY: usize = 4;

/// Limits and filters of one fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Threads per page and comments per page (1–100).
    pub per_page: u32,
    /// Pages of threads at most (1–200).
    pub max_pages: u32,
    /// Comments at most (1–100000).
    pub max_comments: u32,
    pub include_resolved: bool,
    pub include_outdated: bool,
    /// Only threads on this file, or under this directory when it ends with `/`.
    pub path: Option<String>,
    /// Only threads whose first comment is by this login.
    pub author: Option<String>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            per_page: 100,
            max_pages: 200,
            max_comments: 100_000,
            include_resolved: true,
            include_outdated: true,
            path: None,
            author: None,
        }
    }
}

// ---- GraphQL answer shapes (only what the documents ask for) ----

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DbId {
    full_database_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentNode {
    id: String,
    full_database_id: Option<String>,
    author: Option<Login>,
    body: String,
    created_at: String,
    url: String,
    diff_hunk: String,
    reply_to: Option<DbId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentConnection {
    page_info: PageInfo,
    nodes: Vec<CommentNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThreadNode {
    id: String,
    is_resolved: bool,
    is_outdated: bool,
    path: String,
    line: Option<u32>,
    start_line: Option<u32>,
    original_line: Option<u32>,
    original_start_line: Option<u32>,
    diff_side: String,
    subject_type: String,
    resolved_by: Option<Login>,
    comments: CommentConnection,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThreadConnection {
    total_count: u32,
    page_info: PageInfo,
    nodes: Vec<ThreadNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PullRequestNode {
    number: u32,
    title: String,
    url: String,
    state: String,
    is_draft: bool,
    author: Option<Login>,
    base_ref_name: String,
    head_ref_name: String,
    review_threads: ThreadConnection,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryNode {
    pull_request: Option<PullRequestNode>,
}

#[derive(Deserialize)]
struct ReviewThreadsData {
    repository: Option<RepositoryNode>,
}

#[derive(Deserialize)]
struct ThreadCommentsNode {
    comments: Option<CommentConnection>,
}

#[derive(Deserialize)]
struct ThreadCommentsData {
    node: Option<ThreadCommentsNode>,
}

fn parse_id(raw: Option<&str>) -> Option<u64> {
    raw.and_then(|s| s.parse().ok())
}

impl From<CommentNode> for ReviewComment {
    fn from(c: CommentNode) -> Self {
        ReviewComment {
            id: parse_id(c.full_database_id.as_deref()),
            node_id: c.id,
            author: c.author.map(|a| a.login),
            body: c.body,
            created_at: c.created_at,
            url: c.url,
            diff_hunk: c.diff_hunk,
            in_reply_to_id: c
                .reply_to
                .and_then(|r| parse_id(r.full_database_id.as_deref())),
        }
    }
}

/// Fetches the review threads of `pr` with `token`, following every page the
/// options allow.
pub async fn fetch_review_comments(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    options: &FetchOptions,
) -> Result<ReviewComments, GitHubError> {
    let per_page = options.per_page.clamp(1, 100);
    let max_comments = options.max_comments as usize;
    let not_found = || {
        GitHubError::NotFound(format!(
            "pull request {pr} on {}",
            client.host().display_name()
        ))
    };

    let mut threads: Vec<ReviewThread> = Vec::new();
    // (index into `threads`, thread id, cursor) of threads with more comments.
    let mut unfinished: Vec<(usize, String, String)> = Vec::new();
    let mut summary: Option<PullRequestSummary> = None;
    let mut total_threads;
    let mut filtered_out = 0;
    let mut comment_count = 0usize;
    let mut truncated_reason: Option<String> = None;
    let mut after: Option<String> = None;
    let mut pages = 0;

    loop {
        let data: ReviewThreadsData = client
            .graphql(
                token,
                REVIEW_THREADS_QUERY,
                json!({
                    "owner": pr.owner, "name": pr.repo, "number": pr.number,
                    "threadsPage": per_page, "commentsPage": per_page, "after": after,
                }),
            )
            .await
            .map_err(|e| match e {
                GitHubError::NotFound(_) => not_found(),
                other => other,
            })?;
        pages += 1;
        let pull = data
            .repository
            .and_then(|r| r.pull_request)
            .ok_or_else(not_found)?;
        total_threads = pull.review_threads.total_count;
        if summary.is_none() {
            summary = Some(PullRequestSummary {
                host: client.host().display_name(),
                owner: pr.owner.clone(),
                repo: pr.repo.clone(),
                number: pull.number,
                title: pull.title,
                url: pull.url,
                state: pull.state,
                is_draft: pull.is_draft,
                author: pull.author.map(|a| a.login),
                base_ref: pull.base_ref_name,
                head_ref: pull.head_ref_name,
            });
        }
        for node in pull.review_threads.nodes {
            let filter = ThreadFilter {
                is_resolved: (!options.include_resolved).then_some(false),
                is_outdated: (!options.include_outdated).then_some(false),
                path: options.path.clone(),
                author: options.author.clone(),
            };
            let opener = node
                .comments
                .nodes
                .first()
                .and_then(|c| c.author.as_ref())
                .map(|a| a.login.as_str());
            if !filter.matches(node.is_resolved, node.is_outdated, &node.path, opener) {
                filtered_out += 1;
                continue;
            }
            if comment_count >= max_comments {
                truncated_reason
                    .get_or_insert_with(|| format!("stopped at max_comments = {max_comments}"));
                break;
            }
            let mut comments: Vec<ReviewComment> = node
                .comments
                .nodes
                .into_iter()
                .map(ReviewComment::from)
                .collect();
            let room = max_comments - comment_count;
            let mut more = node.comments.page_info.has_next_page;
            if comments.len() >= room {
                if comments.len() > room || more {
                    truncated_reason
                        .get_or_insert_with(|| format!("stopped at max_comments = {max_comments}"));
                }
                comments.truncate(room);
                more = false;
            }
            comment_count += comments.len();
            if more {
                if let Some(cursor) = node.comments.page_info.end_cursor {
                    unfinished.push((threads.len(), node.id.clone(), cursor));
                }
            }
            threads.push(ReviewThread {
                id: node.id,
                path: node.path,
                line: node.line,
                start_line: node.start_line,
                original_line: node.original_line,
                original_start_line: node.original_start_line,
                diff_side: node.diff_side,
                subject_type: node.subject_type,
                is_resolved: node.is_resolved,
                is_outdated: node.is_outdated,
                resolved_by: node.resolved_by.map(|r| r.login),
                comments,
            });
        }
        let page_info = pull.review_threads.page_info;
        if truncated_reason.is_some() || !page_info.has_next_page {
            break;
        }
        if pages >= options.max_pages {
            truncated_reason = Some(format!(
                "stopped after max_pages = {} pages of {per_page} threads",
                options.max_pages
            ));
            break;
        }
        after = page_info.end_cursor;
    }

    // Long threads: page each to its end, several threads at once. The comment
    // budget left is shared in thread order, so results are deterministic.
    let follow_ups: Vec<(usize, Vec<ReviewComment>, bool)> = stream::iter(unfinished)
        .map(|(index, thread_id, cursor)| async move {
            let (rest, complete) =
                fetch_thread_rest(client, token, &thread_id, cursor, per_page, max_comments)
                    .await?;
            Ok::<_, GitHubError>((index, rest, complete))
        })
        .buffered(FOLLOW_UP_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    for (index, rest, complete) in follow_ups {
        let room = max_comments.saturating_sub(comment_count);
        if rest.len() > room || (!complete && rest.len() == room) {
            truncated_reason
                .get_or_insert_with(|| format!("stopped at max_comments = {max_comments}"));
        }
        let taken: Vec<ReviewComment> = rest.into_iter().take(room).collect();
        comment_count += taken.len();
        threads[index].comments.extend(taken);
    }

    Ok(ReviewComments {
        pr: summary.ok_or_else(not_found)?,
        threads,
        truncated: truncated_reason.is_some(),
        truncated_reason,
        total_threads,
        filtered_out_threads: filtered_out,
    })
}

/// The comments of one thread after `cursor`, up to `limit`; `true` when the
/// thread's end was reached.
async fn fetch_thread_rest(
    client: &GitHubClient,
    token: &Credential,
    thread_id: &str,
    mut cursor: String,
    per_page: u32,
    limit: usize,
) -> Result<(Vec<ReviewComment>, bool), GitHubError> {
    let mut out = Vec::new();
    loop {
        let data: ThreadCommentsData = client
            .graphql(
                token,
                THREAD_COMMENTS_QUERY,
                json!({ "id": thread_id, "commentsPage": per_page, "after": cursor }),
            )
            .await?;
        let connection = data
            .node
            .and_then(|n| n.comments)
            .ok_or_else(|| GitHubError::NotFound(format!("review thread {thread_id}")))?;
        out.extend(connection.nodes.into_iter().map(ReviewComment::from));
        match connection.page_info {
            PageInfo {
                has_next_page: true,
                end_cursor: Some(next),
            } if out.len() < limit => cursor = next,
            PageInfo { has_next_page, .. } => return Ok((out, !has_next_page)),
        }
    }
}
