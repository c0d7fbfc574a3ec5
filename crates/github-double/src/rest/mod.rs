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
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::ratelimit::{Bucket, Resource};
use crate::server::{gh_error, json_headers, DOC_REST};
use crate::state::{AppState, Ctx};
use crate::time::now_epoch;
use crate::world::{NewReview, NewThread, PullState, Side};
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
            get(list_comments),
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
            "/repos/{owner}/{repo}/pulls/{number}/files",
            get(list_files),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/comments/{id}",
            get(get_comment),
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
    // Default sort: created, newest first.
    matching.sort_by_key(|&i| std::cmp::Reverse((repo.pulls[i].created_at, repo.pulls[i].number)));
    if arg("direction") == Some("asc") {
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
    let total = pull.comment_order.len();
    let path = format!(
        "/repos/{}/pulls/{}/comments",
        w.repos[ri].full_name, pull.number
    );
    paged(&ctx, &path, &q, total, |i| {
        let i = if desc { total - 1 - i } else { i };
        let (thread, comment) = pull.comment_order[i];
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
        .filter(|c| c.repo == ri);
    match cref {
        Some(c) => ok_json(&json::review_comment(&ctx.world, &ctx.api_base, c)),
        None => not_found(),
    }
}

/// Write access check shared by the write endpoints.
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
        return Err(gh_error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by personal access token",
            DOC_REST,
        ));
    }
    Ok((ri, pi, user))
}

fn unprocessable(msg: &str) -> Response {
    gh_error(StatusCode::UNPROCESSABLE_ENTITY, msg, DOC_REST)
}

#[derive(Deserialize)]
struct ReplyBody {
    body: String,
}

async fn create_reply(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n, id)): Path<(String, String, String, String)>,
    body: Option<Json<ReplyBody>>,
) -> Response {
    let (ri, pi, user) = match writable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Some(Json(body)) = body else {
        return unprocessable("Invalid request.\n\n\"body\" wasn't supplied.");
    };
    let to = id
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.world.comment_by_id.get(&id).copied())
        .filter(|c| c.repo == ri && c.pull == pi);
    let Some(to) = to else {
        return not_found();
    };
    let (cref, world) = ctx
        .app
        .update_world(|w| w.add_reply(to, user, body.body, now_epoch()));
    let v = json::review_comment(&world, &ctx.api_base, cref);
    (StatusCode::CREATED, json_headers(), v.to_string()).into_response()
}

#[derive(Deserialize)]
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
    start_line: Option<u64>,
    #[serde(default)]
    side: Option<String>,
    #[serde(default)]
    start_side: Option<String>,
}

fn side(s: Option<&str>) -> Option<Side> {
    match s {
        Some("LEFT") => Some(Side::Left),
        Some("RIGHT") => Some(Side::Right),
        _ => None,
    }
}

async fn create_review(
    Extension(ctx): Extension<Ctx>,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Option<Json<ReviewBody>>,
) -> Response {
    let (ri, pi, user) = match writable_pull(&ctx, &o, &r, &n) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Json(rb) = body.unwrap_or(Json(ReviewBody {
        body: None,
        event: None,
        comments: vec![],
    }));
    let state = match rb.event.as_deref() {
        None | Some("") => "PENDING",
        Some("APPROVE") => "APPROVED",
        Some("REQUEST_CHANGES") => "CHANGES_REQUESTED",
        Some("COMMENT") => "COMMENTED",
        Some(_) => return unprocessable("Unprocessable Entity"),
    };
    let body_text = rb.body.unwrap_or_default();
    if matches!(state, "CHANGES_REQUESTED" | "COMMENTED")
        && body_text.is_empty()
        && rb.comments.is_empty()
    {
        return unprocessable("Unprocessable Entity: \"Review Comment is missing body\"");
    }
    let threads = rb
        .comments
        .into_iter()
        .map(|c| NewThread {
            path: c.path,
            line: c.line,
            start_line: c.start_line,
            side: side(c.side.as_deref()).unwrap_or(Side::Right),
            start_side: side(c.start_side.as_deref()),
            body: c.body,
        })
        .collect();
    let (vi, world) = ctx.app.update_world(|w| {
        let review = NewReview {
            author: user,
            body: body_text,
            state,
            threads,
        };
        w.add_review(ri, pi, review, now_epoch())
    });
    let rv = &world.repos[ri].pulls[pi].reviews[vi];
    ok_json(&json::review(&world, &ctx.api_base, ri, pi, rv))
}
