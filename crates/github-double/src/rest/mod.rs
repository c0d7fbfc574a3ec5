//! REST endpoints (served under `/` and `/api/v3`).
//!
//! Helpers return `Result<_, Response>`: the error is the finished GitHub error answer.
#![allow(clippy::result_large_err)]

pub mod json;
pub mod page;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::ratelimit::{Bucket, Resource};
use crate::server::{gh_error, json_headers, DOC_REST};
use crate::state::{AppState, Ctx};
use crate::time::now_epoch;
use crate::world::{NewReview, NewThread, PullState, Side, WriteError};
use axum::body::Bytes;
use page::PageReq;

type Q = Query<Vec<(String, String)>>;

/// The REST routes (paths without the GHES prefix).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/user", get(get_user))
        .route("/rate_limit", get(get_rate_limit))
        .route("/repos/{owner}/{repo}", get(get_repo))
        .route("/repos/{owner}/{repo}/pulls", get(list_pulls))
        .route("/repos/{owner}/{repo}/pulls/{number}", get(get_pull))
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/comments",
            get(list_comments).post(create_comment),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/comments/{id}/replies",
            post(create_reply),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/reviews",
            get(list_reviews).post(create_review),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/reviews/{id}",
            get(get_review).delete(delete_review),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/reviews/{id}/events",
            post(submit_review),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/reviews/{id}/comments",
            get(list_review_comments),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/files",
            get(list_files),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            get(list_issue_comments).post(create_issue_comment),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{ref}/check-runs",
            get(list_check_runs),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{ref}/status",
            get(combined_status),
        )
        .route(
            "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
            get(list_annotations),
        )
        .route(
            "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs",
            get(job_logs),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/comments/{id}",
            get(get_comment).patch(edit_comment).delete(delete_comment),
        )
}

fn ok_json(v: &Value) -> Response {
    (StatusCode::OK, json_headers(), v.to_string()).into_response()
}

fn not_found() -> Response {
    gh_error(StatusCode::NOT_FOUND, "Not Found", DOC_REST)
}

/// The repo index if the caller may read it; GitHub's 404 otherwise.
fn readable_repo(ctx: &Ctx, owner: &str, repo: &str) -> Result<usize, Response> {
    let ri = ctx.world.repo(owner, repo).ok_or_else(not_found)?;
    if ctx.world.can_read(ctx.caller.user, ri) {
        Ok(ri)
    } else {
        Err(not_found())
    }
}

fn readable_pull(
    ctx: &Ctx,
    owner: &str,
    repo: &str,
    number: &str,
) -> Result<(usize, usize), Response> {
    let ri = readable_repo(ctx, owner, repo)?;
    let n: u64 = number.parse().map_err(|_| not_found())?;
    let pi = *ctx.world.repos[ri]
        .pull_by_number
        .get(&n)
        .ok_or_else(not_found)?;
    Ok((ri, pi))
}

/// One page of `total` items, built by `item(i)`, with a `Link` header.
fn paged(
    ctx: &Ctx,
    path: &str,
    query: &[(String, String)],
    total: usize,
    item: impl Fn(usize) -> Value,
) -> Response {
    let map: BTreeMap<String, String> = query.iter().cloned().collect();
    let pr = PageReq::from_query(&map);
    let items: Vec<Value> = pr.range(total).map(item).collect();
    let mut r = ok_json(&Value::Array(items));
    if let Some(link) = pr.link_header(&format!("{}{}", ctx.api_base, path), query, total) {
        if let Ok(v) = HeaderValue::from_str(&link) {
            r.headers_mut().insert(header::LINK, v);
        }
    }
    r
}

async fn get_user(Extension(ctx): Extension<Ctx>) -> Response {
    match ctx.caller.user {
        Some(u) => ok_json(&json::private_user(&ctx.world, &ctx.api_base, u)),
        None => gh_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            DOC_REST,
        ),
    }
}

async fn get_rate_limit(Extension(ctx): Extension<Ctx>) -> Response {
    let bucket = ctx
        .caller
        .token
        .clone()
        .map_or(Bucket::Anonymous, Bucket::Token);
    let now = now_epoch();
    let core = ctx.app.limiter.peek(&bucket, Resource::Core, now);
    let graphql = ctx.app.limiter.peek(&bucket, Resource::Graphql, now);
    ok_json(&json::rate_limit(&core, &graphql))
}

async fn get_repo(
    Extension(ctx): Extension<Ctx>,
    Path((o, r)): Path<(String, String)>,
) -> Response {
    match readable_repo(&ctx, &o, &r) {
        Ok(ri) => ok_json(&json::repo(&ctx.world, &ctx.api_base, ri, ctx.caller.user)),
        Err(e) => e,
    }
}

async fn list_pulls(
    Extension(ctx): Extension<Ctx>,
    Path((o, r)): Path<(String, String)>,
    Query(q): Q,
) -> Response {
    let ri = match readable_repo(&ctx, &o, &r) {
        Ok(ri) => ri,
        Err(e) => return e,
    };
    let w = &ctx.world;
    let repo = &w.repos[ri];
    let arg = |k: &str| q.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str());
    let state = arg("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return gh_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation Failed",
            DOC_REST,
        );
    }
    let head = arg("head").map(|h| match h.split_once(':') {
        Some((owner, branch)) => (Some(owner.to_lowercase()), branch.to_string()),
        None => (None, h.to_string()),
    });
    let mut matching: Vec<usize> = repo
        .pulls
        .iter()
        .enumerate()
        .filter(|(_, p)| match state {
            "open" => p.state == PullState::Open,
            "closed" => p.state != PullState::Open,
            _ => true,
        })
        .filter(|(_, p)| arg("base").is_none_or(|b| p.base == b))
        .filter(|(_, p)| {
            head.as_ref().is_none_or(|(owner, branch)| {
                p.head == *branch
                    && owner
                        .as_ref()
                        .is_none_or(|o| w.users[p.head_owner].login.to_lowercase() == *o)
            })
        })
        .map(|(i, _)| i)
        .collect();
    let sort = arg("sort").unwrap_or("created");
    if !matches!(sort, "created" | "updated" | "popularity" | "long-running") {
        return gh_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation Failed",
            DOC_REST,
        );
    }
    let key = |i: usize| {
        let p = &repo.pulls[i];
        let comments = p.threads.iter().map(|t| t.comments.len()).sum::<usize>() as u64;
        let k = match sort {
            "updated" => p.updated_at,
            "popularity" => comments,
            // Age of open pulls: oldest first when descending.
            "long-running" => u64::MAX - p.created_at,
            _ => p.created_at,
        };
        (k, p.number)
    };
    // GitHub's default direction: desc for `created` (or no sort), asc otherwise.
    let default_desc = sort == "created" || arg("sort").is_none();
    let desc = match arg("direction") {
        Some("asc") => false,
        Some("desc") => true,
        _ => default_desc,
    };
    matching.sort_by_key(|&i| key(i));
    if desc {
        matching.reverse();
    }
    let path = format!("/repos/{}/pulls", repo.full_name);
    paged(&ctx, &path, &q, matching.len(), |i| {
        json::pull(w, &ctx.api_base, ri, matching[i], ctx.caller.user, false)
    })
}

async fn get_pull(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n)): Path<(String, String, String)>,
) -> Response {
    match readable_pull(&ctx, &o, &r, &n) {
        Ok((ri, pi)) => ok_json(&json::pull(
            &ctx.world,
            &ctx.api_base,
            ri,
            pi,
            ctx.caller.user,
            true,
        )),
        Err(e) => e,
    }
}

async fn list_comments(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n)): Path<(String, String, String)>,
    Query(q): Q,
) -> Response {
    let (ri, pi) = match readable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let w = &ctx.world;
    let pull = &w.repos[ri].pulls[pi];
    let desc = q.iter().any(|(k, v)| k == "direction" && v == "desc");
    let viewer = ctx.caller.user;
    let visible: Option<Vec<(usize, usize)>> = (!pull.pending.is_empty()).then(|| {
        pull.comment_order
            .iter()
            .copied()
            .filter(|&(t, c)| pull.comment_visible(&pull.threads[t].comments[c], viewer))
            .collect()
    });
    let order = visible.as_deref().unwrap_or(&pull.comment_order);
    let total = order.len();
    let path = format!(
        "/repos/{}/pulls/{}/comments",
        w.repos[ri].full_name, pull.number
    );
    paged(&ctx, &path, &q, total, |i| {
        let i = if desc { total - 1 - i } else { i };
        let (thread, comment) = order[i];
        json::review_comment(
            w,
            &ctx.api_base,
            crate::world::CommentRef {
                repo: ri,
                pull: pi,
                thread,
                comment,
            },
        )
    })
}

async fn list_reviews(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n)): Path<(String, String, String)>,
    Query(q): Q,
) -> Response {
    let (ri, pi) = match readable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let w = &ctx.world;
    let pull = &w.repos[ri].pulls[pi];
    // Pending reviews are visible only to their author.
    let visible: Vec<usize> = (0..pull.reviews.len())
        .filter(|&i| {
            pull.reviews[i].state != "PENDING" || Some(pull.reviews[i].author) == ctx.caller.user
        })
        .collect();
    let path = format!(
        "/repos/{}/pulls/{}/reviews",
        w.repos[ri].full_name, pull.number
    );
    paged(&ctx, &path, &q, visible.len(), |i| {
        json::review(w, &ctx.api_base, ri, pi, &pull.reviews[visible[i]])
    })
}

async fn list_files(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n)): Path<(String, String, String)>,
    Query(q): Q,
) -> Response {
    let (ri, pi) = match readable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let w = &ctx.world;
    let pull = &w.repos[ri].pulls[pi];
    let path = format!(
        "/repos/{}/pulls/{}/files",
        w.repos[ri].full_name, pull.number
    );
    paged(&ctx, &path, &q, pull.files.len(), |i| {
        json::file(w, &ctx.api_base, ri, pi, &pull.files[i])
    })
}

async fn get_comment(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, id)): Path<(String, String, String)>,
) -> Response {
    let ri = match readable_repo(&ctx, &o, &r) {
        Ok(ri) => ri,
        Err(e) => return e,
    };
    let cref = id
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.world.comment_by_id.get(&id).copied())
        .filter(|c| c.repo == ri && visible_comment(&ctx, *c));
    match cref {
        Some(c) => ok_json(&json::review_comment(&ctx.world, &ctx.api_base, c)),
        None => not_found(),
    }
}

fn visible_comment(ctx: &Ctx, c: crate::world::CommentRef) -> bool {
    ctx.world.repos[c.repo].pulls[c.pull].comment_visible(ctx.world.comment(c), ctx.caller.user)
}

const DOC_REVIEWS: &str = "https://docs.github.com/rest/pulls/reviews";
const DOC_COMMENTS: &str = "https://docs.github.com/rest/pulls/comments";
const DOC_ISSUE_COMMENTS: &str = "https://docs.github.com/rest/issues/comments";

/// Write access check shared by the write endpoints: 401 without a user, 404 when
/// the caller cannot read the repository, 403 when they can read but not write.
fn writable_pull(ctx: &Ctx, o: &str, r: &str, n: &str) -> Result<(usize, usize, usize), Response> {
    let Some(user) = ctx.caller.user else {
        return Err(gh_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            DOC_REST,
        ));
    };
    let (ri, pi) = readable_pull(ctx, o, r, n)?;
    if !ctx.world.can_write(Some(user), ri) {
        return Err(forbidden());
    }
    Ok((ri, pi, user))
}

fn forbidden() -> Response {
    gh_error(
        StatusCode::FORBIDDEN,
        "Resource not accessible by personal access token",
        DOC_REST,
    )
}

/// GitHub's 422 with a list of messages (`validation-error-simple`).
fn unprocessable(errors: &[&str], doc: &str) -> Response {
    let body = serde_json::json!({
        "message": "Unprocessable Entity",
        "errors": errors,
        "documentation_url": doc,
        "status": "422",
    });
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        json_headers(),
        body.to_string(),
    )
        .into_response()
}

fn write_error(e: WriteError, doc: &str) -> Response {
    match e {
        WriteError::NotFound => not_found(),
        WriteError::Unprocessable(m) | WriteError::Unanchored(m) => {
            unprocessable(&[m.as_str()], doc)
        }
    }
}

/// Parses a JSON request body: 400 `Problems parsing JSON` when it is not JSON,
/// 422 `Invalid request` when fields are missing or mistyped. An empty body is `{}`.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8], doc: &str) -> Result<T, Response> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|_| gh_error(StatusCode::BAD_REQUEST, "Problems parsing JSON", doc))?
    };
    serde_json::from_value(v).map_err(|e| {
        let msg = e.to_string();
        let msg = match msg.strip_prefix("missing field `") {
            Some(rest) => format!(
                "Invalid request.\n\n\"{}\" wasn't supplied.",
                rest.trim_end_matches('`')
            ),
            None => format!("Invalid request.\n\n{msg}"),
        };
        gh_error(StatusCode::UNPROCESSABLE_ENTITY, &msg, doc)
    })
}

fn created(v: &Value) -> Response {
    (StatusCode::CREATED, json_headers(), v.to_string()).into_response()
}

#[derive(Deserialize)]
struct ReplyBody {
    body: String,
}

/// `POST .../pulls/{n}/comments/{id}/replies`: a reply in the comment's thread (201).
async fn create_reply(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n, id)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    let (ri, pi, user) = match writable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let rb: ReplyBody = match parse_body(&body, DOC_COMMENTS) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let to = id
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.world.comment_by_id.get(&id).copied())
        .filter(|c| c.repo == ri && c.pull == pi && visible_comment(&ctx, *c));
    let Some(to) = to else {
        return not_found();
    };
    if rb.body.trim().is_empty() {
        return unprocessable(&["Body can't be blank"], DOC_COMMENTS);
    }
    match ctx.write(|w| w.add_reply(to, user, rb.body, now_epoch())) {
        Ok((cref, world)) => created(&json::review_comment(&world, &ctx.api_base, cref)),
        Err(WriteError::Unprocessable(m)) => one_pending_review(&m),
        Err(e) => write_error(e, DOC_COMMENTS),
    }
}

/// GitHub's 422 for a single comment while the caller has a pending review, in
/// the `validation-error` shape.
fn one_pending_review(m: &str) -> Response {
    let body = serde_json::json!({
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequestReview", "code": "custom",
                    "field": "user_id", "message": m}],
        "documentation_url": DOC_COMMENTS,
        "status": "422",
    });
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        json_headers(),
        body.to_string(),
    )
        .into_response()
}

#[derive(Deserialize)]
struct CommentBody {
    body: String,
    commit_id: String,
    path: String,
    #[serde(default)]
    line: Option<u64>,
    #[serde(default)]
    position: Option<u64>,
    #[serde(default)]
    side: Option<String>,
    #[serde(default)]
    start_line: Option<u64>,
    #[serde(default)]
    start_side: Option<String>,
    #[serde(default)]
    subject_type: Option<String>,
    #[serde(default)]
    in_reply_to: Option<u64>,
}

/// `POST .../pulls/{n}/comments`: one comment, submitted at once in its own
/// `COMMENTED` review (201). `subject_type: file` comments on the whole file (no
/// line); `in_reply_to` makes it a reply (other fields then ignored).
async fn create_comment(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let (ri, pi, user) = match writable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let cb: CommentBody = match parse_body(&body, DOC_COMMENTS) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if cb.body.trim().is_empty() {
        return comment_invalid("Body can't be blank");
    }
    if let Some(to) = cb.in_reply_to {
        let to = ctx
            .world
            .comment_by_id
            .get(&to)
            .copied()
            .filter(|c| c.repo == ri && c.pull == pi && visible_comment(&ctx, *c));
        let Some(to) = to else {
            return not_found();
        };
        return match ctx.write(|w| w.add_reply(to, user, cb.body, now_epoch())) {
            Ok((cref, world)) => created(&json::review_comment(&world, &ctx.api_base, cref)),
            Err(WriteError::Unprocessable(m)) => one_pending_review(&m),
            Err(e) => write_error(e, DOC_COMMENTS),
        };
    }
    let pull = &ctx.world.repos[ri].pulls[pi];
    if cb.commit_id != pull.head_sha && !pull.past_heads.contains(&cb.commit_id) {
        return comment_invalid(
            "pull_request_review_thread.commit_id is not part of the pull request",
        );
    }
    let file_level = match cb.subject_type.as_deref() {
        None | Some("line") => false,
        Some("file") => true,
        Some(_) => return unprocessable(&["Subject type must be one of line, file"], DOC_COMMENTS),
    };
    let (Ok(s), Ok(ss)) = (side(cb.side.as_deref()), side(cb.start_side.as_deref())) else {
        return comment_invalid("Side must be one of LEFT, RIGHT");
    };
    let line = if file_level {
        None
    } else {
        match cb
            .line
            .or_else(|| position_line(&ctx, ri, pi, &cb.path, cb.position))
        {
            Some(l) => Some(l),
            None => return comment_invalid("Line could not be resolved"),
        }
    };
    let start_line = cb.start_line.filter(|_| !file_level);
    let thread = NewThread {
        path: cb.path,
        line,
        start_line,
        side: s.unwrap_or(Side::Right),
        start_side: start_line.map(|_| ss.or(s).unwrap_or(Side::Right)),
        body: cb.body,
    };
    if pull.pending_review_of(user).is_some() {
        return one_pending_review("user_id can only have one pending review per pull request");
    }
    let review = NewReview {
        author: user,
        body: String::new(),
        state: "COMMENTED",
        threads: vec![thread],
    };
    match ctx.write(|w| {
        let vi = w.add_review(ri, pi, review, now_epoch())?;
        let id = w.repos[ri].pulls[pi].reviews[vi].id;
        let t = w.repos[ri].pulls[pi]
            .threads
            .iter()
            .rposition(|t| t.comments[0].review_id == id)
            .ok_or(WriteError::NotFound)?;
        Ok(crate::world::CommentRef {
            repo: ri,
            pull: pi,
            thread: t,
            comment: 0,
        })
    }) {
        Ok((cref, world)) => created(&json::review_comment(&world, &ctx.api_base, cref)),
        Err(WriteError::Unprocessable(m) | WriteError::Unanchored(m)) => comment_invalid(&m),
        Err(e) => write_error(e, DOC_COMMENTS),
    }
}

/// GitHub's 422 for `POST .../pulls/{n}/comments`: the `validation-error` shape
/// (`errors` are objects naming the field), unlike the reviews endpoint's strings.
fn comment_invalid(message: &str) -> Response {
    let field = if message.starts_with("Path") {
        "path"
    } else if message.starts_with("Line") {
        "line"
    } else if message.starts_with("Body") {
        "body"
    } else if message.starts_with("Side") {
        "side"
    } else if message.starts_with("Subject") {
        "subject_type"
    } else {
        message.split(' ').next().unwrap_or("")
    };
    let body = serde_json::json!({
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequestReviewComment", "code": "custom",
                    "field": field, "message": message}],
        "documentation_url": DOC_COMMENTS,
        "status": "422",
    });
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        json_headers(),
        body.to_string(),
    )
        .into_response()
}

/// The line the deprecated `position` (lines below the first hunk header) names:
/// a line of the first hunk's new side.
fn position_line(
    ctx: &Ctx,
    ri: usize,
    pi: usize,
    path: &str,
    position: Option<u64>,
) -> Option<u64> {
    let pull = &ctx.world.repos[ri].pulls[pi];
    let patch = pull
        .files
        .iter()
        .find(|f| f.filename == path)?
        .patch
        .as_ref()?;
    let header = patch.lines().next()?;
    let start: u64 = header
        .split(" +")
        .nth(1)?
        .split([',', ' '])
        .next()?
        .parse()
        .ok()?;
    position.map(|p| start + p.saturating_sub(1))
}

/// A review comment the caller may change: 401 without a token, 404 when the repo
/// or the comment is not visible to them (another user's pending comment is not),
/// 403 when it is neither theirs nor, for a submitted comment, in a repo they can
/// write to (people with write access may edit and delete others' comments).
fn changeable_comment(
    ctx: &Ctx,
    o: &str,
    r: &str,
    id: &str,
) -> Result<crate::world::CommentRef, Response> {
    let Some(user) = ctx.caller.user else {
        return Err(gh_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            DOC_REST,
        ));
    };
    let ri = readable_repo(ctx, o, r)?;
    let cref = id
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.world.comment_by_id.get(&id).copied())
        .filter(|c| c.repo == ri && visible_comment(ctx, *c))
        .ok_or_else(not_found)?;
    let c = ctx.world.comment(cref);
    let pending = ctx.world.repos[ri].pulls[cref.pull]
        .pending
        .iter()
        .any(|&(v, _)| v == c.review_id);
    if c.author == user || (!pending && ctx.world.can_write(Some(user), ri)) {
        Ok(cref)
    } else {
        Err(forbidden())
    }
}

/// Finds comment `id` again in the world a write got (indices may have moved).
fn comment_again(w: &crate::world::World, id: u64) -> Result<crate::world::CommentRef, WriteError> {
    w.comment_by_id
        .get(&id)
        .copied()
        .ok_or(WriteError::NotFound)
}

/// `PATCH .../pulls/comments/{id}` `{body}`: 200 with the edited comment.
async fn edit_comment(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let cref = match changeable_comment(&ctx, &o, &r, &id) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let rb: ReplyBody = match parse_body(&body, DOC_COMMENTS) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if rb.body.trim().is_empty() {
        return unprocessable(&["Body can't be blank"], DOC_COMMENTS);
    }
    let cid = ctx.world.comment(cref).id;
    match ctx.write(|w| {
        let c = comment_again(w, cid)?;
        w.edit_comment(c, rb.body, now_epoch());
        Ok(c)
    }) {
        Ok((c, world)) => ok_json(&json::review_comment(&world, &ctx.api_base, c)),
        Err(e) => write_error(e, DOC_COMMENTS),
    }
}

/// `DELETE .../pulls/comments/{id}`: 204; the thread goes with its only comment.
async fn delete_comment(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, id)): Path<(String, String, String)>,
) -> Response {
    let cref = match changeable_comment(&ctx, &o, &r, &id) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let cid = ctx.world.comment(cref).id;
    match ctx.write(|w| {
        let c = comment_again(w, cid)?;
        Ok(w.delete_comment(c))
    }) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => write_error(e, DOC_COMMENTS),
    }
}

#[derive(Deserialize, Default)]
struct ReviewBody {
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    comments: Vec<ReviewCommentBody>,
}

#[derive(Deserialize)]
struct ReviewCommentBody {
    path: String,
    body: String,
    #[serde(default)]
    line: Option<u64>,
    #[serde(default)]
    position: Option<u64>,
    #[serde(default)]
    start_line: Option<u64>,
    #[serde(default)]
    side: Option<String>,
    #[serde(default)]
    start_side: Option<String>,
}

fn side(s: Option<&str>) -> Result<Option<Side>, ()> {
    match s {
        None => Ok(None),
        Some("LEFT") => Ok(Some(Side::Left)),
        Some("RIGHT") => Ok(Some(Side::Right)),
        Some(_) => Err(()),
    }
}

fn event_state(event: Option<&str>) -> Result<&'static str, ()> {
    match event {
        None | Some("") => Ok("PENDING"),
        Some("APPROVE") => Ok("APPROVED"),
        Some("REQUEST_CHANGES") => Ok("CHANGES_REQUESTED"),
        Some("COMMENT") => Ok("COMMENTED"),
        Some(_) => Err(()),
    }
}

const BAD_EVENT: &str = "Event must be one of APPROVE, REQUEST_CHANGES, COMMENT";

/// `POST .../pulls/{n}/reviews`: pending without `event`; 200 with the review.
async fn create_review(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let (ri, pi, user) = match writable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let rb: ReviewBody = match parse_body(&body, DOC_REVIEWS) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Ok(state) = event_state(rb.event.as_deref()) else {
        return unprocessable(&[BAD_EVENT], DOC_REVIEWS);
    };
    let mut threads = vec![];
    for c in rb.comments {
        let (Ok(s), Ok(ss)) = (side(c.side.as_deref()), side(c.start_side.as_deref())) else {
            return unprocessable(&["Side must be one of LEFT, RIGHT"], DOC_REVIEWS);
        };
        // `position` (lines below the hunk header) is accepted as a line of the
        // first hunk's new side.
        let line = c
            .line
            .or_else(|| position_line(&ctx, ri, pi, &c.path, c.position));
        if line.is_none() {
            return unprocessable(&["Line could not be resolved"], DOC_REVIEWS);
        }
        threads.push(NewThread {
            path: c.path,
            line,
            start_line: c.start_line,
            side: s.unwrap_or(Side::Right),
            start_side: c.start_line.map(|_| ss.or(s).unwrap_or(Side::Right)),
            body: c.body,
        });
    }
    let review = NewReview {
        author: user,
        body: rb.body.unwrap_or_default(),
        state,
        threads,
    };
    match ctx.write(|w| w.add_review(ri, pi, review, now_epoch())) {
        Ok((vi, world)) => {
            let rv = &world.repos[ri].pulls[pi].reviews[vi];
            ok_json(&json::review(&world, &ctx.api_base, ri, pi, rv))
        }
        Err(e) => write_error(e, DOC_REVIEWS),
    }
}

/// A review of the pull request the caller may see (pending ones only their own).
fn visible_review(ctx: &Ctx, ri: usize, pi: usize, id: &str) -> Result<usize, Response> {
    let pull = &ctx.world.repos[ri].pulls[pi];
    id.parse::<u64>()
        .ok()
        .and_then(|id| pull.reviews.iter().position(|v| v.id == id))
        .filter(|&vi| pull.review_visible(pull.reviews[vi].id, ctx.caller.user))
        .ok_or_else(not_found)
}

async fn get_review(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n, id)): Path<(String, String, String, String)>,
) -> Response {
    let (ri, pi) = match readable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    match visible_review(&ctx, ri, pi, &id) {
        Ok(vi) => ok_json(&json::review(
            &ctx.world,
            &ctx.api_base,
            ri,
            pi,
            &ctx.world.repos[ri].pulls[pi].reviews[vi],
        )),
        Err(e) => e,
    }
}

/// `GET .../reviews/{id}/comments`: the review's comments (`review-comment`).
async fn list_review_comments(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n, id)): Path<(String, String, String, String)>,
    Query(q): Q,
) -> Response {
    let (ri, pi) = match readable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let vi = match visible_review(&ctx, ri, pi, &id) {
        Ok(vi) => vi,
        Err(e) => return e,
    };
    let w = &ctx.world;
    let pull = &w.repos[ri].pulls[pi];
    let review_id = pull.reviews[vi].id;
    let picked: Vec<(usize, usize)> = pull
        .comment_order
        .iter()
        .copied()
        .filter(|&(t, c)| pull.threads[t].comments[c].review_id == review_id)
        .collect();
    let path = format!(
        "/repos/{}/pulls/{}/reviews/{review_id}/comments",
        w.repos[ri].full_name, pull.number
    );
    paged(&ctx, &path, &q, picked.len(), |i| {
        let (thread, comment) = picked[i];
        let mut v = json::review_comment(
            w,
            &ctx.api_base,
            crate::world::CommentRef {
                repo: ri,
                pull: pi,
                thread,
                comment,
            },
        );
        // `review-comment` requires `position` (nullable).
        if let Value::Object(m) = &mut v {
            m.entry("position").or_insert(Value::Null);
        }
        v
    })
}

#[derive(Deserialize)]
struct SubmitBody {
    event: String,
    #[serde(default)]
    body: Option<String>,
}

/// `POST .../reviews/{id}/events`: submits the caller's pending review.
async fn submit_review(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n, id)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    let (ri, pi, _) = match writable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let vi = match visible_review(&ctx, ri, pi, &id) {
        Ok(vi) => vi,
        Err(e) => return e,
    };
    let sb: SubmitBody = match parse_body(&body, DOC_REVIEWS) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let state = match event_state(Some(&sb.event)) {
        Ok(s) if s != "PENDING" => s,
        _ => return unprocessable(&[BAD_EVENT], DOC_REVIEWS),
    };
    let review_id = ctx.world.repos[ri].pulls[pi].reviews[vi].id;
    let res = ctx.write(|w| {
        // Find the review again in the current world (indices may have moved).
        let vi = w.repos[ri].pulls[pi]
            .reviews
            .iter()
            .position(|v| v.id == review_id)
            .ok_or(WriteError::NotFound)?;
        w.submit_review(ri, pi, vi, state, sb.body, now_epoch())?;
        Ok(vi)
    });
    match res {
        Ok((vi, world)) => ok_json(&json::review(
            &world,
            &ctx.api_base,
            ri,
            pi,
            &world.repos[ri].pulls[pi].reviews[vi],
        )),
        Err(e) => write_error(e, DOC_REVIEWS),
    }
}

/// `DELETE .../reviews/{id}`: only a pending review; answers with it (200).
async fn delete_review(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n, id)): Path<(String, String, String, String)>,
) -> Response {
    let (ri, pi, _) = match writable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let vi = match visible_review(&ctx, ri, pi, &id) {
        Ok(vi) => vi,
        Err(e) => return e,
    };
    let review_id = ctx.world.repos[ri].pulls[pi].reviews[vi].id;
    // Render before deleting: the answer is the review as it was.
    let before = ctx.world.clone();
    let res = ctx.write(|w| {
        let vi = w.repos[ri].pulls[pi]
            .reviews
            .iter()
            .position(|v| v.id == review_id)
            .ok_or(WriteError::NotFound)?;
        w.delete_pending_review(ri, pi, vi)
    });
    match res {
        Ok((rv, _)) => ok_json(&json::review(&before, &ctx.api_base, ri, pi, &rv)),
        Err(e) => write_error(e, DOC_REVIEWS),
    }
}

async fn list_issue_comments(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n)): Path<(String, String, String)>,
    Query(q): Q,
) -> Response {
    let (ri, pi) = match readable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let w = &ctx.world;
    let pull = &w.repos[ri].pulls[pi];
    let since = q
        .iter()
        .find(|(k, _)| k == "since")
        .and_then(|(_, v)| crate::time::parse_rfc3339(v));
    let picked: Vec<usize> = (0..pull.issue_comments.len())
        .filter(|&i| since.is_none_or(|s| pull.issue_comments[i].updated_at >= s))
        .collect();
    let path = format!(
        "/repos/{}/issues/{}/comments",
        w.repos[ri].full_name, pull.number
    );
    paged(&ctx, &path, &q, picked.len(), |i| {
        json::issue_comment(w, &ctx.api_base, ri, pi, &pull.issue_comments[picked[i]])
    })
}

async fn create_issue_comment(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let (ri, pi, user) = match writable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let rb: ReplyBody = match parse_body(&body, DOC_ISSUE_COMMENTS) {
        Ok(b) => b,
        Err(e) => return e,
    };
    if rb.body.trim().is_empty() {
        return unprocessable(&["Body can't be blank"], DOC_ISSUE_COMMENTS);
    }
    let Ok((ci, world)) =
        ctx.write(|w| Ok::<_, WriteError>(w.add_issue_comment(ri, pi, user, rb.body, now_epoch())))
    else {
        return not_found();
    };
    let c = &world.repos[ri].pulls[pi].issue_comments[ci];
    created(&json::issue_comment(&world, &ctx.api_base, ri, pi, c))
}

/// The pull requests and sha `ref` names, or GitHub's 422 for an unknown commit.
fn commit_ref(ctx: &Ctx, ri: usize, r#ref: &str) -> Result<(Vec<usize>, String), Response> {
    json::pulls_at_ref(&ctx.world, ri, r#ref).ok_or_else(|| {
        gh_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("No commit found for SHA: {ref}"),
            "https://docs.github.com/rest/commits/commits",
        )
    })
}

async fn list_check_runs(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, rf)): Path<(String, String, String)>,
    Query(q): Q,
) -> Response {
    let ri = match readable_repo(&ctx, &o, &r) {
        Ok(ri) => ri,
        Err(e) => return e,
    };
    let (pulls, _) = match commit_ref(&ctx, ri, &rf) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let arg = |k: &str| q.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str());
    let w = &ctx.world;
    let repo = &w.repos[ri];
    let mut runs: Vec<(usize, usize)> = pulls
        .first()
        .map(|&pi| (0..repo.pulls[pi].checks.len()).map(|c| (pi, c)).collect())
        .unwrap_or_default();
    let check = |&(pi, c): &(usize, usize)| &repo.pulls[pi].checks[c];
    runs.retain(|x| {
        arg("check_name").is_none_or(|n| check(x).name == n)
            && arg("status").is_none_or(|s| check(x).status == s)
    });
    if arg("filter") != Some("all") {
        // `latest` (default): the most recent run of each name.
        let mut seen = std::collections::HashSet::new();
        let mut latest: Vec<(usize, usize)> = runs
            .iter()
            .rev()
            .filter(|x| seen.insert(check(x).name.clone()))
            .copied()
            .collect();
        latest.reverse();
        runs = latest;
    }
    let map: BTreeMap<String, String> = q.iter().cloned().collect();
    let pr = PageReq::from_query(&map);
    let items: Vec<Value> = pr
        .range(runs.len())
        .map(|i| json::check_run(w, &ctx.api_base, ri, runs[i].0, check(&runs[i])))
        .collect();
    let mut resp = ok_json(&serde_json::json!({"total_count": runs.len(), "check_runs": items}));
    let path = format!(
        "{}/repos/{}/commits/{rf}/check-runs",
        ctx.api_base, repo.full_name
    );
    if let Some(link) = pr.link_header(&path, &q, runs.len()) {
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    resp
}

async fn combined_status(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, rf)): Path<(String, String, String)>,
) -> Response {
    let ri = match readable_repo(&ctx, &o, &r) {
        Ok(ri) => ri,
        Err(e) => return e,
    };
    let (pulls, sha) = match commit_ref(&ctx, ri, &rf) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let w = &ctx.world;
    let repo = &w.repos[ri];
    let statuses: &[crate::world::CommitStatus] =
        pulls.first().map_or(&[], |&pi| &repo.pulls[pi].statuses);
    let (latest, state) = json::latest_statuses(statuses);
    let api = format!("{}/repos/{}", ctx.api_base, repo.full_name);
    ok_json(&serde_json::json!({
        "state": state,
        "statuses": latest
            .iter()
            .map(|s| json::commit_status(&ctx.api_base, &repo.full_name, &sha, s))
            .collect::<Vec<_>>(),
        "sha": sha,
        "total_count": latest.len(),
        "repository": json::repo(w, &ctx.api_base, ri, ctx.caller.user),
        "commit_url": format!("{api}/commits/{sha}"),
        "url": format!("{api}/commits/{sha}/status"),
    }))
}

/// The (pull, check) indices of check run `id` in a repository the caller can read.
fn readable_check_run(
    ctx: &Ctx,
    o: &str,
    r: &str,
    id: &str,
) -> Result<(usize, usize, usize), Response> {
    let ri = readable_repo(ctx, o, r)?;
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let (pi, ci) = ctx.world.check_run(ri, id).ok_or_else(not_found)?;
    Ok((ri, pi, ci))
}

/// `GET .../check-runs/{id}/annotations`: paged `check-annotation`s.
async fn list_annotations(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, id)): Path<(String, String, String)>,
    Query(q): Q,
) -> Response {
    let (ri, pi, ci) = match readable_check_run(&ctx, &o, &r, &id) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let w = &ctx.world;
    let run = &w.repos[ri].pulls[pi].checks[ci];
    let path = format!(
        "/repos/{}/check-runs/{}/annotations",
        w.repos[ri].full_name, run.id
    );
    paged(&ctx, &path, &q, run.annotations.len(), |i| {
        json::check_annotation(w, ri, pi, &run.annotations[i])
    })
}

/// `GET .../actions/jobs/{id}/logs`: `302 Found` to a signed download URL on the
/// download host (`crate::blobs`), valid for a minute; 404 for a job without a log.
async fn job_logs(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, id)): Path<(String, String, String)>,
) -> Response {
    let (ri, pi, ci) = match readable_check_run(&ctx, &o, &r, &id) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let run = &ctx.world.repos[ri].pulls[pi].checks[ci];
    if run.app != crate::world::ACTIONS_APP || run.log.is_none() {
        return not_found();
    }
    let sig = ctx.app.blobs.sign(run.id, now_epoch());
    let location = format!(
        "{}/_double/blobs/{}?sig={sig}",
        crate::blobs::download_origin(&ctx.api_base, ctx.app.addr.port()),
        run.id
    );
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}
