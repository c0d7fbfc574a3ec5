//! Review threads without their bodies (cheap scanning with filters), and
//! resolving/unresolving them (idempotent on GitHub's side).

use serde::Deserialize;
use serde_json::json;

use super::client::{Credential, GitHubClient};
use super::error::GitHubError;
use super::pr_ref::PullRequestRef;
use crate::model::{ThreadFirstComment, ThreadList, ThreadResolution, ThreadSummary};
use crate::untrusted::clean;

pub const LIST_THREADS_QUERY: &str = include_str!("graphql/list_threads.graphql");
pub const RESOLVE_MUTATION: &str = include_str!("graphql/resolve_thread.graphql");
pub const UNRESOLVE_MUTATION: &str = include_str!("graphql/unresolve_thread.graphql");

/// Which threads a caller wants. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct ThreadFilter {
    pub is_resolved: Option<bool>,
    pub is_outdated: Option<bool>,
    /// A file path, or a directory when it ends with `/`.
    pub path: Option<String>,
    /// Login of the thread's first comment's author (who opened it).
    pub author: Option<String>,
}

impl ThreadFilter {
    pub fn matches(
        &self,
        is_resolved: bool,
        is_outdated: bool,
        path: &str,
        author: Option<&str>,
    ) -> bool {
        self.is_resolved.is_none_or(|want| want == is_resolved)
            && self.is_outdated.is_none_or(|want| want == is_outdated)
            && self.path.as_deref().is_none_or(|want| {
                if want.ends_with('/') {
                    path.starts_with(want)
                } else {
                    path == want
                }
            })
            && self
                .author
                .as_deref()
                .is_none_or(|want| author.is_some_and(|a| same_login(a, want)))
    }
}

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
struct FirstComment {
    full_database_id: Option<String>,
    author: Option<Login>,
    body: String,
    created_at: String,
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comments {
    total_count: u32,
    nodes: Vec<FirstComment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Thread {
    id: String,
    is_resolved: bool,
    is_outdated: bool,
    path: String,
    line: Option<u32>,
    start_line: Option<u32>,
    original_line: Option<u32>,
    diff_side: String,
    subject_type: String,
    resolved_by: Option<Login>,
    comments: Comments,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Threads {
    total_count: u32,
    page_info: PageInfo,
    nodes: Vec<Thread>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pull {
    review_threads: Threads,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Repo {
    pull_request: Option<Pull>,
}

#[derive(Deserialize)]
struct Data {
    repository: Option<Repo>,
}

/// One page of `page_size` threads after `cursor`, filtered.
/// Whether two logins name the same account: case-insensitive, and a bot's GraphQL
/// login (`coderabbitai`) equal to its REST one (`coderabbitai[bot]`).
pub fn same_login(a: &str, b: &str) -> bool {
    let bare = |l: &str| l.strip_suffix("[bot]").unwrap_or(l).to_owned();
    bare(a).eq_ignore_ascii_case(&bare(b))
}

pub async fn list(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    filter: &ThreadFilter,
    page_size: u32,
    cursor: Option<&str>,
) -> Result<ThreadList, GitHubError> {
    let not_found = || pr.not_found(client.host());
    let data: Data = client
        .graphql(
            token,
            LIST_THREADS_QUERY,
            json!({"owner": pr.owner, "name": pr.repo, "number": pr.number, "first": page_size, "after": cursor}),
        )
        .await
        .map_err(|e| match e {
            GitHubError::NotFound(_) => not_found(),
            other => other,
        })?;
    let threads = data
        .repository
        .and_then(|r| r.pull_request)
        .ok_or_else(not_found)?
        .review_threads;
    let summaries = threads
        .nodes
        .into_iter()
        .filter_map(|t| {
            let first = t.comments.nodes.into_iter().next();
            let author = first
                .as_ref()
                .and_then(|c| c.author.as_ref())
                .map(|a| a.login.as_str());
            if !filter.matches(t.is_resolved, t.is_outdated, &t.path, author) {
                return None;
            }
            Some(ThreadSummary {
                id: t.id,
                path: clean(t.path),
                line: t.line,
                start_line: t.start_line,
                original_line: t.original_line,
                diff_side: t.diff_side,
                subject_type: t.subject_type,
                is_resolved: t.is_resolved,
                is_outdated: t.is_outdated,
                resolved_by: t.resolved_by.map(|r| r.login),
                comment_count: t.comments.total_count,
                first_comment: first.map(|c| ThreadFirstComment {
                    id: c.full_database_id.and_then(|s| s.parse().ok()),
                    author: c.author.map(|a| a.login),
                    body: clean(c.body),
                    created_at: c.created_at,
                    url: c.url,
                }),
            })
        })
        .collect();
    Ok(ThreadList {
        pr_url: pr.web_url(client.host()),
        threads: summaries,
        next_cursor: threads
            .page_info
            .has_next_page
            .then_some(threads.page_info.end_cursor)
            .flatten(),
        total_threads: threads.total_count,
    })
}

/// Resolves (`resolve = true`) or unresolves a thread; already in that state is fine.
pub async fn set_resolved(
    client: &GitHubClient,
    token: &Credential,
    thread_id: &str,
    resolve: bool,
) -> Result<ThreadResolution, GitHubError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ThreadNode {
        id: String,
        is_resolved: bool,
        path: String,
        resolved_by: Option<Login>,
    }
    #[derive(Deserialize)]
    struct Payload {
        thread: Option<ThreadNode>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct MutationData {
        resolve_review_thread: Option<Payload>,
        unresolve_review_thread: Option<Payload>,
    }
    let document = if resolve {
        RESOLVE_MUTATION
    } else {
        UNRESOLVE_MUTATION
    };
    let data: MutationData = client
        .graphql(token, document, json!({ "threadId": thread_id }))
        .await?;
    let thread = data
        .resolve_review_thread
        .or(data.unresolve_review_thread)
        .and_then(|p| p.thread)
        .ok_or_else(|| GitHubError::NotFound(format!("review thread {thread_id}")))?;
    Ok(ThreadResolution {
        thread_id: thread.id,
        path: thread.path,
        is_resolved: thread.is_resolved,
        resolved_by: thread.resolved_by.map(|r| r.login),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_combine_and_paths_match_files_or_directories() {
        let f = ThreadFilter {
            is_resolved: Some(false),
            path: Some("src/".into()),
            author: Some("Bob".into()),
            ..Default::default()
        };
        assert!(f.matches(false, true, "src/lib.rs", Some("bob")));
        assert!(!f.matches(true, false, "src/lib.rs", Some("bob")));
        assert!(!f.matches(false, false, "docs/x.md", Some("bob")));
        assert!(!f.matches(false, false, "src/lib.rs", Some("alice")));
        assert!(!f.matches(false, false, "src/lib.rs", None));
        let exact = ThreadFilter {
            path: Some("src/lib.rs".into()),
            ..Default::default()
        };
        assert!(exact.matches(true, true, "src/lib.rs", None));
        assert!(!exact.matches(true, true, "src/lib.rs.bak", None));
        assert!(ThreadFilter::default().matches(true, true, "x", None));
    }
}
