//! Reviews: listing them (GraphQL, for comment counts), creating one with inline
//! comments, and the caller's pending review (submit, delete, add a comment).
//! Writes go out once; nothing here retries.

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::{Credential, GitHubClient};
use super::error::GitHubError;
use super::pr_ref::PullRequestRef;
use crate::model::{
    CreatedComment, PendingComment, PendingReview, PullRequestReviews, ReviewOutcome, ReviewSummary,
};
use crate::untrusted::clean;

pub const REVIEWS_QUERY: &str = include_str!("graphql/reviews.graphql");
pub const ADD_PENDING_COMMENT_MUTATION: &str = include_str!("graphql/add_pending_comment.graphql");

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
struct Count {
    total_count: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReviewNode {
    id: String,
    full_database_id: Option<String>,
    author: Option<Login>,
    state: String,
    body: String,
    submitted_at: Option<String>,
    url: String,
    comments: Count,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReviewConnection {
    page_info: PageInfo,
    nodes: Vec<ReviewNode>,
}

#[derive(Deserialize)]
struct PullNode {
    reviews: ReviewConnection,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepoNode {
    pull_request: Option<PullNode>,
}

#[derive(Deserialize)]
struct ReviewsData {
    repository: Option<RepoNode>,
}

/// Every review of the pull request, oldest first, with its comment count.
pub async fn list(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
) -> Result<PullRequestReviews, GitHubError> {
    let mut reviews = Vec::new();
    let mut after: Option<String> = None;
    // 100 pages of 100: 10,000 reviews is beyond any real pull request.
    for _ in 0..100 {
        let data: ReviewsData = client
            .graphql(
                token,
                REVIEWS_QUERY,
                json!({"owner": pr.owner, "name": pr.repo, "number": pr.number, "after": after}),
            )
            .await
            .map_err(|e| match e {
                GitHubError::NotFound(_) => pr.not_found(client.host()),
                other => other,
            })?;
        let connection = data
            .repository
            .and_then(|r| r.pull_request)
            .ok_or_else(|| pr.not_found(client.host()))?
            .reviews;
        reviews.extend(connection.nodes.into_iter().map(|r| ReviewSummary {
            id: r.full_database_id.and_then(|s| s.parse().ok()),
            node_id: r.id,
            author: r.author.map(|a| a.login),
            state: r.state,
            body: clean(r.body),
            submitted_at: r.submitted_at,
            url: r.url,
            comment_count: r.comments.total_count,
        }));
        match connection.page_info {
            PageInfo {
                has_next_page: true,
                end_cursor: Some(cursor),
            } => after = Some(cursor),
            _ => break,
        }
    }
    Ok(PullRequestReviews {
        pr_url: pr.web_url(client.host()),
        reviews,
    })
}

/// An inline comment of a new review: one line, `start_line`..`line`, or (with
/// `file_level`) the whole file, which only GraphQL can create.
#[derive(Debug, Clone, Serialize)]
pub struct InlineComment {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip)]
    pub file_level: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_side: Option<String>,
    pub body: String,
}

#[derive(Deserialize)]
struct RestReview {
    id: u64,
    node_id: String,
    state: String,
    #[serde(default)]
    body: Option<String>,
    html_url: Option<String>,
    user: Option<Login>,
}

/// A review comment as `GET .../reviews/{id}/comments` gives it.
#[derive(Deserialize)]
struct RestReviewComment {
    id: u64,
    node_id: String,
    path: String,
    #[serde(default)]
    subject_type: Option<String>,
    line: Option<u32>,
    start_line: Option<u32>,
    side: Option<String>,
    body: String,
}

impl From<RestReviewComment> for PendingComment {
    fn from(c: RestReviewComment) -> Self {
        let file = c.subject_type.as_deref() == Some("file");
        PendingComment {
            id: c.id,
            node_id: c.node_id,
            path: clean(c.path),
            subject_type: if file { "file" } else { "line" }.to_owned(),
            line: c.line,
            start_line: c.start_line,
            side: c.side.filter(|_| !file),
            body: clean(c.body),
        }
    }
}

#[derive(Deserialize)]
struct RestComment {
    id: u64,
    node_id: String,
    html_url: String,
    in_reply_to_id: Option<u64>,
    user: Option<Login>,
}

impl From<RestComment> for CreatedComment {
    fn from(c: RestComment) -> Self {
        CreatedComment {
            id: c.id,
            node_id: c.node_id,
            url: c.html_url,
            in_reply_to_id: c.in_reply_to_id,
            author: c.user.map(|u| u.login),
        }
    }
}

fn reviews_path(pr: &PullRequestRef) -> String {
    format!("repos/{}/{}/pulls/{}/reviews", pr.owner, pr.repo, pr.number)
}

/// The comments a review holds, as ids and URLs (a read after the write).
async fn review_comments(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    review_id: u64,
) -> Result<Vec<CreatedComment>, GitHubError> {
    let path = format!("{}/{review_id}/comments", reviews_path(pr));
    let (comments, _) = client.get_all::<RestComment>(token, &path, 1000).await?;
    Ok(comments.into_iter().map(CreatedComment::from).collect())
}

/// Creates a review; `event` `None` leaves it pending.
pub async fn create(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    event: Option<&str>,
    body: Option<&str>,
    comments: &[InlineComment],
) -> Result<ReviewOutcome, GitHubError> {
    let mut request = json!({ "comments": comments });
    if let Some(event) = event {
        request["event"] = json!(event);
    }
    if let Some(body) = body {
        request["body"] = json!(body);
    }
    let review: RestReview = client
        .write(token, Method::POST, &reviews_path(pr), &request)
        .await?;
    // The review exists now: a failure to list its comments must not hide that.
    let comments = review_comments(client, token, pr, review.id)
        .await
        .unwrap_or_default();
    Ok(ReviewOutcome {
        id: review.id,
        node_id: review.node_id,
        state: review.state,
        url: review.html_url,
        author: review.user.map(|u| u.login),
        comments,
        dropped_comments: Vec::new(),
    })
}

/// The caller's pending review on the pull request, if any (GitHub shows a
/// pending review only to its author, and allows one per user).
async fn find_pending(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
) -> Result<Option<RestReview>, GitHubError> {
    let (reviews, _) = client
        .get_all::<RestReview>(token, &reviews_path(pr), 3000)
        .await
        .map_err(pr.naming_not_found(client.host()))?;
    Ok(reviews.into_iter().find(|r| r.state == "PENDING"))
}

/// The (id, node id) of the caller's pending review, if any.
pub async fn find_pending_ids(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
) -> Result<Option<(u64, String)>, GitHubError> {
    Ok(find_pending(client, token, pr)
        .await?
        .map(|r| (r.id, r.node_id)))
}

/// The caller's pending review's (id, node id), or a clear error when there is none.
pub async fn pending(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
) -> Result<(u64, String), GitHubError> {
    find_pending(client, token, pr)
        .await?
        .map(|r| (r.id, r.node_id))
        .ok_or_else(|| GitHubError::NotFound(format!("a pending review of yours on {pr} (create one with create_pr_review without `event`)")))
}

/// The comments of review `review_id`, as a pending review shows them.
async fn pending_comments(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    review_id: u64,
) -> Result<Vec<PendingComment>, GitHubError> {
    let path = format!("{}/{review_id}/comments", reviews_path(pr));
    let (comments, _) = client
        .get_all::<RestReviewComment>(token, &path, 1000)
        .await?;
    Ok(comments.into_iter().map(PendingComment::from).collect())
}

/// The caller's pending review with its comments; `None` when they have none.
pub async fn pending_review(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
) -> Result<Option<PendingReview>, GitHubError> {
    let Some(review) = find_pending(client, token, pr).await? else {
        return Ok(None);
    };
    let comments = pending_comments(client, token, pr, review.id).await?;
    Ok(Some(PendingReview {
        id: review.id,
        node_id: review.node_id,
        body: clean(review.body.unwrap_or_default()),
        url: review.html_url,
        comments,
    }))
}

fn comment_path(pr: &PullRequestRef, comment_id: u64) -> String {
    format!("repos/{}/{}/pulls/comments/{comment_id}", pr.owner, pr.repo)
}

/// Changes the body of review comment `comment_id` (the caller's own).
pub async fn update_comment(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    comment_id: u64,
    body: &str,
) -> Result<CreatedComment, GitHubError> {
    let comment: RestComment = client
        .write(
            token,
            Method::PATCH,
            &comment_path(pr, comment_id),
            &json!({ "body": body }),
        )
        .await?;
    Ok(comment.into())
}

/// Deletes review comment `comment_id` (the caller's own).
pub async fn delete_comment(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    comment_id: u64,
) -> Result<(), GitHubError> {
    let _: Option<serde_json::Value> = client
        .write(
            token,
            Method::DELETE,
            &comment_path(pr, comment_id),
            &json!({}),
        )
        .await?;
    Ok(())
}

pub async fn submit(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    review_id: u64,
    event: &str,
    body: Option<&str>,
) -> Result<ReviewOutcome, GitHubError> {
    let mut request = json!({ "event": event });
    if let Some(body) = body {
        request["body"] = json!(body);
    }
    // What the review held before: GitHub drops, without a word, the comments whose
    // lines left the diff since they were written; the caller should hear of it.
    let before = pending_comments(client, token, pr, review_id).await.ok();
    let path = format!("{}/{review_id}/events", reviews_path(pr));
    let review: RestReview = client.write(token, Method::POST, &path, &request).await?;
    let after = review_comments(client, token, pr, review.id).await;
    let dropped_comments = match (before, &after) {
        (Some(before), Ok(after)) => before
            .into_iter()
            .filter(|b| !after.iter().any(|c| c.id == b.id))
            .collect(),
        _ => Vec::new(),
    };
    let comments = after.unwrap_or_default();
    Ok(ReviewOutcome {
        id: review.id,
        node_id: review.node_id,
        state: review.state,
        url: review.html_url,
        author: review.user.map(|u| u.login),
        comments,
        dropped_comments,
    })
}

pub async fn delete(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    review_id: u64,
) -> Result<ReviewOutcome, GitHubError> {
    let path = format!("{}/{review_id}", reviews_path(pr));
    let review: Option<RestReview> = client
        .write(token, Method::DELETE, &path, &json!({}))
        .await?;
    Ok(ReviewOutcome {
        id: review_id,
        node_id: review
            .as_ref()
            .map(|r| r.node_id.clone())
            .unwrap_or_default(),
        state: "DELETED".to_owned(),
        url: None,
        author: review.and_then(|r| r.user).map(|u| u.login),
        comments: Vec::new(),
        dropped_comments: Vec::new(),
    })
}

/// Adds an inline comment to the pending review `review_node_id`.
pub async fn add_pending_comment(
    client: &GitHubClient,
    token: &Credential,
    review_node_id: &str,
    comment: &InlineComment,
) -> Result<CreatedComment, GitHubError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct CommentNode {
        id: String,
        full_database_id: Option<String>,
        url: String,
        author: Option<Login>,
    }
    #[derive(Deserialize)]
    struct Nodes {
        nodes: Vec<CommentNode>,
    }
    #[derive(Deserialize)]
    struct Thread {
        comments: Nodes,
    }
    #[derive(Deserialize)]
    struct Payload {
        thread: Option<Thread>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Data {
        add_pull_request_review_thread: Option<Payload>,
    }
    let data: Data = client
        .graphql(
            token,
            ADD_PENDING_COMMENT_MUTATION,
            json!({
                "reviewId": review_node_id, "path": comment.path, "line": comment.line,
                "side": comment.side, "startLine": comment.start_line, "startSide": comment.start_side,
                "body": comment.body,
                "subjectType": if comment.file_level { "FILE" } else { "LINE" },
            }),
        )
        .await?;
    let node = data
        .add_pull_request_review_thread
        .and_then(|p| p.thread)
        .and_then(|t| t.comments.nodes.into_iter().next())
        .ok_or_else(|| {
            GitHubError::GraphQl("GitHub created no comment (is the line in the diff?)".to_owned())
        })?;
    Ok(CreatedComment {
        id: node
            .full_database_id
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        node_id: node.id,
        url: node.url,
        in_reply_to_id: None,
        author: node.author.map(|a| a.login),
    })
}

/// Replies in the thread of review comment `comment_id`.
pub async fn reply(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    comment_id: u64,
    body: &str,
) -> Result<CreatedComment, GitHubError> {
    let path = format!(
        "repos/{}/{}/pulls/{}/comments/{comment_id}/replies",
        pr.owner, pr.repo, pr.number
    );
    let comment: RestComment = client
        .write(token, Method::POST, &path, &json!({ "body": body }))
        .await?;
    Ok(comment.into())
}

/// A comment on the pull request's conversation (not on a line).
pub async fn issue_comment(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    body: &str,
) -> Result<CreatedComment, GitHubError> {
    #[derive(Deserialize)]
    struct IssueComment {
        id: u64,
        node_id: String,
        html_url: String,
        user: Option<Login>,
    }
    let path = format!(
        "repos/{}/{}/issues/{}/comments",
        pr.owner, pr.repo, pr.number
    );
    let c: IssueComment = client
        .write(token, Method::POST, &path, &json!({ "body": body }))
        .await?;
    Ok(CreatedComment {
        id: c.id,
        node_id: c.node_id,
        url: c.html_url,
        in_reply_to_id: None,
        author: c.user.map(|u| u.login),
    })
}
