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
use crate::untrusted::clean;

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
    /// Leave out threads whose first comment is by this login (e.g. the caller's own).
    pub exclude_author: Option<String>,
    /// Threads opened by bots: kept, left out, or the only ones kept.
    pub bots: BotFilter,
    /// Told how far the fetch is after each page (for MCP progress notifications).
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<FetchProgress>>,
}

/// What to do with threads a bot opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BotFilter {
    #[default]
    Keep,
    Exclude,
    Only,
}

/// How far a fetch is: threads read of the PR's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchProgress {
    pub threads: u32,
    pub total: u32,
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
            exclude_author: None,
            bots: BotFilter::Keep,
            progress: None,
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
struct ThreadPageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DbId {
    full_database_id: Option<String>,
}

/// A comment's author: `Bot` for apps (their GraphQL login lacks REST's `[bot]`).
#[derive(Deserialize)]
struct Actor {
    #[serde(rename = "__typename", default)]
    typename: String,
    login: String,
}

impl Actor {
    fn is_bot(&self) -> bool {
        self.typename == "Bot" || self.login.ends_with("[bot]")
    }

    /// The login as REST and the web show it (`coderabbitai[bot]`), and whether it is a bot.
    fn login_and_kind(self) -> (String, bool) {
        let bot = self.is_bot();
        if self.typename == "Bot" && !self.login.ends_with("[bot]") {
            (format!("{}[bot]", self.login), true)
        } else {
            (self.login, bot)
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentNode {
    id: String,
    full_database_id: Option<String>,
    author: Option<Actor>,
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
    page_info: ThreadPageInfo,
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
    head: Option<ThreadConnection>,
    tail: Option<ThreadConnection>,
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
        let (author, author_is_bot) = match c.author.map(Actor::login_and_kind) {
            Some((login, bot)) => (Some(login), bot),
            None => (None, false),
        };
        ReviewComment {
            id: parse_id(c.full_database_id.as_deref()),
            node_id: c.id,
            author,
            author_is_bot,
            body: clean(c.body),
            created_at: c.created_at,
            url: c.url,
            diff_hunk: clean(c.diff_hunk),
            in_reply_to_id: c
                .reply_to
                .and_then(|r| parse_id(r.full_database_id.as_deref())),
        }
    }
}

/// The threads of a pull request in GitHub's order, as far as the limits allow.
struct ThreadScan {
    summary: PullRequestSummary,
    threads: Vec<ThreadNode>,
    total: u32,
    /// Why the scan stopped before the last thread, if it did.
    cut: Option<String>,
}

/// Pages through the review threads. Without a comment limit it reads from both
/// ends at once once the pull request is known to span several pages (from this
/// token's last fetch of it, or from the first page's `totalCount`): a 400-thread
/// pull request takes 2 sequential round trips instead of 4, and the same number
/// of connection pages.
async fn scan_threads(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    options: &FetchOptions,
    filter: &ThreadFilter,
) -> Result<ThreadScan, GitHubError> {
    let per_page = options.per_page.clamp(1, 100);
    let max_comments = options.max_comments as usize;
    let both_ends = max_comments >= FetchOptions::default().max_comments as usize;
    let hint_key = format!("{}/{}#{}", pr.owner, pr.repo, pr.number);
    let hinted_total = client.size_hint(token.token.id(), &hint_key);
    let not_found = || pr.not_found(client.host());

    let mut head: Vec<ThreadNode> = Vec::new();
    let mut tail_pages: Vec<Vec<ThreadNode>> = Vec::new();
    let (mut head_cursor, mut tail_cursor): (Option<String>, Option<String>) = (None, None);
    let mut summary: Option<PullRequestSummary> = None;
    let (mut total, mut pages, mut matching_comments) = (0u32, 0u32, 0usize);
    let mut cut = None;
    loop {
        let fetched = head.len() + tail_pages.iter().map(Vec::len).sum::<usize>();
        if let (Some(progress), true) = (&options.progress, total > 0) {
            let _ = progress.send(FetchProgress {
                threads: (fetched as u32).min(total),
                total,
            });
        }
        let tail_started = !tail_pages.is_empty();
        let with_tail = both_ends
            && (tail_started
                || (pages == 0 && hinted_total.is_some_and(|t| t > per_page))
                || (pages > 0 && (total as usize).saturating_sub(fetched) > per_page as usize));
        let data: ReviewThreadsData = client
            .graphql(
                token,
                REVIEW_THREADS_QUERY,
                json!({
                    "owner": pr.owner, "name": pr.repo, "number": pr.number,
                    "threadsPage": per_page, "commentsPage": per_page,
                    "after": head_cursor, "before": tail_cursor, "withHead": true, "withTail": with_tail,
                }),
            )
            .await
            .map_err(|e| match e {
                GitHubError::NotFound(_) => not_found(),
                other => other,
            })?;
        pages += if with_tail { 2 } else { 1 };
        let pull = data
            .repository
            .and_then(|r| r.pull_request)
            .ok_or_else(not_found)?;
        let head_page = pull
            .head
            .ok_or_else(|| GitHubError::Decode("the answer has no review threads".to_owned()))?;
        if summary.is_none() {
            summary = Some(PullRequestSummary {
                host: client.host().display_name(),
                owner: pr.owner.clone(),
                repo: pr.repo.clone(),
                number: pull.number,
                title: clean(pull.title),
                url: pull.url,
                state: pull.state,
                is_draft: pull.is_draft,
                author: pull.author.map(|a| a.login),
                base_ref: pull.base_ref_name,
                head_ref: pull.head_ref_name,
            });
        }
        total = head_page.total_count;
        let head_more = head_page.page_info.has_next_page;
        head_cursor = head_page.page_info.end_cursor;
        matching_comments += head_page
            .nodes
            .iter()
            .filter(|n| filter.matches(n.is_resolved, n.is_outdated, &n.path, opener(n)))
            .map(|n| n.comments.nodes.len())
            .sum::<usize>();
        head.extend(head_page.nodes);
        let mut tail_more = true;
        if let Some(tail_page) = pull.tail {
            tail_more = tail_page.page_info.has_previous_page;
            tail_cursor = tail_page.page_info.start_cursor;
            tail_pages.push(tail_page.nodes);
        }
        let fetched = head.len() + tail_pages.iter().map(Vec::len).sum::<usize>();
        let met =
            !head_more || (!tail_pages.is_empty() && (!tail_more || fetched >= total as usize));
        if met {
            break;
        }
        if !both_ends && matching_comments >= max_comments {
            cut = Some(format!("stopped at max_comments = {max_comments}"));
            break;
        }
        if pages >= options.max_pages {
            cut = Some(format!(
                "stopped after max_pages = {} pages of {per_page} threads",
                options.max_pages
            ));
            break;
        }
    }
    client.set_size_hint(token.token.id(), &hint_key, total);
    if let (Some(progress), true) = (&options.progress, total > 0) {
        // The scan is done: every thread it will read is read.
        let read = head.len() + tail_pages.iter().map(Vec::len).sum::<usize>();
        let _ = progress.send(FetchProgress {
            threads: if cut.is_none() {
                total
            } else {
                (read as u32).min(total)
            },
            total,
        });
    }
    if cut.is_some() {
        // A cut scan from both ends would leave a hole in the middle: keep the head.
        tail_pages.clear();
    }
    // Head pages, then tail pages from the earliest; a thread both ends saw once.
    let mut seen: std::collections::HashSet<String> = head.iter().map(|n| n.id.clone()).collect();
    let mut threads = head;
    for page in tail_pages.into_iter().rev() {
        threads.extend(page.into_iter().filter(|n| seen.insert(n.id.clone())));
    }
    Ok(ThreadScan {
        summary: summary.ok_or_else(not_found)?,
        threads,
        total,
        cut,
    })
}

/// Who opened a thread: the author of its first comment.
fn opener(node: &ThreadNode) -> Option<&str> {
    node.comments
        .nodes
        .first()
        .and_then(|c| c.author.as_ref())
        .map(|a| a.login.as_str())
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
    let filter = ThreadFilter {
        is_resolved: (!options.include_resolved).then_some(false),
        is_outdated: (!options.include_outdated).then_some(false),
        path: options.path.clone(),
        author: options.author.clone(),
    };
    let scan = scan_threads(client, token, pr, options, &filter).await?;
    let mut truncated_reason = scan.cut;
    let mut threads: Vec<ReviewThread> = Vec::new();
    // (index into `threads`, thread id, cursor) of threads with more comments.
    let mut unfinished: Vec<(usize, String, String)> = Vec::new();
    let mut filtered_out = 0;
    let mut comment_count = 0usize;
    for node in scan.threads {
        let opened_by_bot = node
            .comments
            .nodes
            .first()
            .and_then(|c| c.author.as_ref())
            .is_some_and(Actor::is_bot);
        let bots_pass = match options.bots {
            BotFilter::Keep => true,
            BotFilter::Exclude => !opened_by_bot,
            BotFilter::Only => opened_by_bot,
        };
        let excluded = options
            .exclude_author
            .as_deref()
            .is_some_and(|x| opener(&node).is_some_and(|o| super::threads::same_login(o, x)));
        if !bots_pass
            || excluded
            || !filter.matches(
                node.is_resolved,
                node.is_outdated,
                &node.path,
                opener(&node),
            )
        {
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
            path: clean(node.path),
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
            comments_before: 0,
            comments_after: 0,
        });
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
        pr: scan.summary,
        threads,
        truncated: truncated_reason.is_some(),
        truncated_reason,
        total_threads: scan.total,
        filtered_out_threads: filtered_out,
        next_cursor: None,
        changes_cursor: None,
        gone_thread_ids: Vec::new(),
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
