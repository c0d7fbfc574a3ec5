//! GraphQL at `POST /graphql` (and `/api/graphql`), executed by async-graphql over
//! a subset of GitHub's schema with the same names, so real documents run unchanged.
//! Errors carry GitHub's top-level `type` (e.g. `NOT_FOUND`).

pub mod connection;
pub mod types;

use std::sync::Arc;

use async_graphql::{
    Context, EmptySubscription, InputObject, Object, Result, Schema, SimpleObject, ID,
};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::Value;

use crate::cache::{HoleCounter, Template};
use crate::ratelimit::{Bucket, Resource};
use crate::server::json_headers;
use crate::state::Ctx;
use crate::time::now_epoch;
use crate::world::{NewReview, NewThread, NodeRef, Side, UserIx, WriteError};
use connection::typed_error;
use types::{
    ctx, node, null_with_error, DiffSide, Node, PullRequestReview, PullRequestReviewComment,
    PullRequestReviewThread, PullRequestReviewThreadSubjectType, RateLimit, Repository, User,
};

pub type GhSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn schema() -> GhSchema {
    Schema::build(Query, Mutation, EmptySubscription).finish()
}

pub struct Query;

#[Object]
impl Query {
    /// Lookup a given repository by the owner and repository name.
    async fn repository(
        &self,
        c: &Context<'_>,
        owner: String,
        name: String,
        follow_renames: Option<bool>,
    ) -> Result<Option<Repository>> {
        let _ = follow_renames;
        let ctx = ctx(c);
        match ctx.world.repo(&owner, &name) {
            Some(r) if ctx.world.can_read(ctx.caller.user, r) => Ok(Some(Repository {
                w: ctx.world.clone(),
                r,
            })),
            _ => null_with_error(
                c,
                typed_error(
                    "NOT_FOUND",
                    format!("Could not resolve to a Repository with the name '{owner}/{name}'."),
                ),
            ),
        }
    }

    /// Fetches an object given its ID.
    async fn node(&self, c: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let ctx = ctx(c);
        match node(&ctx.world, ctx.caller.user, &id) {
            Ok(n) => Ok(Some(n)),
            Err(e) => null_with_error(c, e),
        }
    }

    /// Lookup nodes by a list of IDs.
    async fn nodes(&self, c: &Context<'_>, ids: Vec<ID>) -> Vec<Option<Node>> {
        let ctx = ctx(c);
        ids.iter()
            .map(|id| node(&ctx.world, ctx.caller.user, id).ok())
            .collect()
    }

    /// The currently authenticated user.
    async fn viewer(&self, c: &Context<'_>) -> Result<User> {
        let ctx = ctx(c);
        let u = ctx.caller.user.ok_or_else(|| {
            typed_error(
                "FORBIDDEN",
                "This endpoint requires you to be authenticated.",
            )
        })?;
        Ok(User {
            w: ctx.world.clone(),
            u,
        })
    }

    /// The client's rate limit information.
    async fn rate_limit(&self, c: &Context<'_>, dry_run: Option<bool>) -> Option<RateLimit> {
        let ctx = ctx(c);
        let quota = ctx.graphql_quota.unwrap_or_else(|| {
            let bucket = ctx
                .caller
                .token
                .clone()
                .map_or(Bucket::Anonymous, Bucket::Token);
            ctx.app
                .limiter
                .peek(&bucket, Resource::Graphql, now_epoch())
        });
        Some(RateLimit {
            holes: ctx.holes.clone(),
            quota,
            // Every query costs one point, dry runs included (GitHub's minimum).
            cost: dry_run.map_or(1, |_| 1),
        })
    }
}

#[derive(InputObject)]
pub struct ResolveReviewThreadInput {
    pub client_mutation_id: Option<String>,
    pub thread_id: ID,
}

#[derive(InputObject)]
pub struct UnresolveReviewThreadInput {
    pub client_mutation_id: Option<String>,
    pub thread_id: ID,
}

#[derive(InputObject)]
pub struct AddPullRequestReviewThreadReplyInput {
    pub client_mutation_id: Option<String>,
    pub pull_request_review_id: Option<ID>,
    pub pull_request_review_thread_id: ID,
    pub body: String,
}

#[derive(SimpleObject)]
pub struct ResolveReviewThreadPayload {
    pub client_mutation_id: Option<String>,
    pub thread: Option<PullRequestReviewThread>,
}

#[derive(SimpleObject)]
pub struct UnresolveReviewThreadPayload {
    pub client_mutation_id: Option<String>,
    pub thread: Option<PullRequestReviewThread>,
}

#[derive(SimpleObject)]
pub struct AddPullRequestReviewThreadReplyPayload {
    pub client_mutation_id: Option<String>,
    pub comment: Option<PullRequestReviewComment>,
}

#[derive(InputObject)]
pub struct AddPullRequestReviewThreadInput {
    pub body: String,
    pub client_mutation_id: Option<String>,
    pub line: Option<i32>,
    pub path: String,
    pub pull_request_id: Option<ID>,
    pub pull_request_review_id: Option<ID>,
    /// Default RIGHT.
    pub side: Option<DiffSide>,
    pub start_line: Option<i32>,
    /// Default RIGHT.
    pub start_side: Option<DiffSide>,
    /// Default LINE.
    pub subject_type: Option<PullRequestReviewThreadSubjectType>,
}

#[derive(SimpleObject)]
pub struct AddPullRequestReviewThreadPayload {
    pub client_mutation_id: Option<String>,
    pub thread: Option<PullRequestReviewThread>,
}

#[derive(InputObject)]
pub struct UpdatePullRequestReviewCommentInput {
    pub body: String,
    pub client_mutation_id: Option<String>,
    pub pull_request_review_comment_id: ID,
}

#[derive(SimpleObject)]
pub struct UpdatePullRequestReviewCommentPayload {
    pub client_mutation_id: Option<String>,
    pub pull_request_review_comment: Option<PullRequestReviewComment>,
}

#[derive(InputObject)]
pub struct DeletePullRequestReviewCommentInput {
    pub client_mutation_id: Option<String>,
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DeletePullRequestReviewCommentPayload {
    pub client_mutation_id: Option<String>,
    pub pull_request_review: Option<PullRequestReview>,
    pub pull_request_review_comment: Option<PullRequestReviewComment>,
}

pub struct Mutation;

fn not_found_id(id: &str) -> async_graphql::Error {
    typed_error(
        "NOT_FOUND",
        format!("Could not resolve to a node with the global id of '{id}'"),
    )
}

/// The caller if they may write to repository `r`; GitHub's `FORBIDDEN` otherwise.
fn writer(c: &Context<'_>, r: usize, mutation: &str) -> Result<UserIx> {
    let ctx = ctx(c);
    match ctx.caller.user {
        Some(u) if ctx.world.can_write(Some(u), r) => Ok(u),
        _ => Err(typed_error(
            "FORBIDDEN",
            format!(
                "{} does not have the correct permissions to execute `{mutation}`",
                ctx.caller
                    .user
                    .map(|u| ctx.world.users[u].login.clone())
                    .unwrap_or_default()
            ),
        )),
    }
}

/// Finds a thread the caller may write to.
fn writable_thread(
    c: &Context<'_>,
    id: &str,
    mutation: &str,
) -> Result<(usize, usize, usize, usize)> {
    let ctx = ctx(c);
    let Some(NodeRef::Thread(r, p, t)) = ctx.world.nodes.get(id).copied() else {
        return Err(not_found_id(id));
    };
    let pull = &ctx.world.repos[r].pulls[p];
    if !ctx.world.can_read(ctx.caller.user, r)
        || !pull.thread_visible(&pull.threads[t], ctx.caller.user)
    {
        return Err(not_found_id(id));
    }
    let u = writer(c, r, mutation)?;
    Ok((r, p, t, u))
}

fn write_error(e: WriteError) -> async_graphql::Error {
    typed_error(e.kind(), e.to_string())
}

fn side(s: Option<DiffSide>) -> Side {
    match s {
        Some(DiffSide::Left) => Side::Left,
        _ => Side::Right,
    }
}

impl Mutation {
    /// Marks a review thread as resolved.
    async fn do_resolve_review_thread(
        &self,
        c: &Context<'_>,
        input: ResolveReviewThreadInput,
    ) -> Result<Option<ResolveReviewThreadPayload>> {
        let (r, p, t, u) = writable_thread(c, &input.thread_id, "ResolveReviewThread")?;
        let (_, w) = ctx(c)
            .write(|w| {
                w.set_resolved(r, p, t, Some(u));
                Ok::<_, WriteError>(())
            })
            .map_err(write_error)?;
        Ok(Some(ResolveReviewThreadPayload {
            client_mutation_id: input.client_mutation_id,
            thread: Some(PullRequestReviewThread { w, r, p, t }),
        }))
    }

    /// Marks a review thread as unresolved.
    async fn do_unresolve_review_thread(
        &self,
        c: &Context<'_>,
        input: UnresolveReviewThreadInput,
    ) -> Result<Option<UnresolveReviewThreadPayload>> {
        let (r, p, t, _) = writable_thread(c, &input.thread_id, "UnresolveReviewThread")?;
        let (_, w) = ctx(c)
            .write(|w| {
                w.set_resolved(r, p, t, None);
                Ok::<_, WriteError>(())
            })
            .map_err(write_error)?;
        Ok(Some(UnresolveReviewThreadPayload {
            client_mutation_id: input.client_mutation_id,
            thread: Some(PullRequestReviewThread { w, r, p, t }),
        }))
    }

    /// Adds a reply to an existing Pull Request Review Thread. The reply joins the
    /// given pending review, else the caller's pending review if they have one,
    /// else it is submitted at once.
    async fn do_add_pull_request_review_thread_reply(
        &self,
        c: &Context<'_>,
        input: AddPullRequestReviewThreadReplyInput,
    ) -> Result<Option<AddPullRequestReviewThreadReplyPayload>> {
        let (r, p, t, u) = writable_thread(
            c,
            &input.pull_request_review_thread_id,
            "AddPullRequestReviewThreadReply",
        )?;
        let world = &ctx(c).world;
        let review = match &input.pull_request_review_id {
            Some(id) => match world.nodes.get(id.as_str()) {
                Some(&NodeRef::Review(rr, pp, v))
                    if (rr, pp) == (r, p) && world.repos[r].pulls[p].reviews[v].author == u =>
                {
                    if world.repos[r].pulls[p].reviews[v].state != "PENDING" {
                        return Err(typed_error(
                            "UNPROCESSABLE",
                            "Review has already been submitted.",
                        ));
                    }
                    Some(v)
                }
                _ => return Err(not_found_id(id)),
            },
            None => world.repos[r].pulls[p].pending_review_of(u),
        };
        let to = crate::world::CommentRef {
            repo: r,
            pull: p,
            thread: t,
            comment: 0,
        };
        let now = now_epoch();
        let (cref, w) = ctx(c)
            .write(|w| match review {
                Some(v) => Ok(w.reply_in_review(to, v, input.body, now)),
                None => w.add_reply(to, u, input.body, now),
            })
            .map_err(write_error)?;
        Ok(Some(AddPullRequestReviewThreadReplyPayload {
            client_mutation_id: input.client_mutation_id,
            comment: Some(PullRequestReviewComment { w, c: cref }),
        }))
    }

    /// Adds a new thread to a pending review: `pullRequestReviewId` names the
    /// caller's PENDING review; with `pullRequestId` instead, the caller's pending
    /// review is used (created when missing).
    async fn do_add_pull_request_review_thread(
        &self,
        c: &Context<'_>,
        input: AddPullRequestReviewThreadInput,
    ) -> Result<Option<AddPullRequestReviewThreadPayload>> {
        let cx = ctx(c);
        let world = &cx.world;
        let visible = |r: usize| world.can_read(cx.caller.user, r);
        enum Target {
            Review(usize, usize, usize),
            Pull(usize, usize),
        }
        let target = match (&input.pull_request_review_id, &input.pull_request_id) {
            (Some(id), _) => match world.nodes.get(id.as_str()) {
                Some(&NodeRef::Review(r, p, v))
                    if visible(r)
                        && world.repos[r].pulls[p].review_visible(
                            world.repos[r].pulls[p].reviews[v].id,
                            cx.caller.user,
                        ) =>
                {
                    Target::Review(r, p, v)
                }
                _ => return Err(not_found_id(id)),
            },
            (None, Some(id)) => match world.nodes.get(id.as_str()) {
                Some(&NodeRef::Pull(r, p)) if visible(r) => Target::Pull(r, p),
                _ => return Err(not_found_id(id)),
            },
            (None, None) => {
                return Err(typed_error(
                    "UNPROCESSABLE",
                    "A pull request review ID or pull request ID must be provided.",
                ))
            }
        };
        let (Target::Review(r, p, _) | Target::Pull(r, p)) = target;
        let u = writer(c, r, "AddPullRequestReviewThread")?;
        let file_level = input.subject_type == Some(PullRequestReviewThreadSubjectType::File);
        let nt = NewThread {
            path: input.path,
            line: if file_level {
                None
            } else {
                Some(input.line.map_or(0, |l| l.max(0) as u64))
            },
            start_line: if file_level {
                None
            } else {
                input.start_line.map(|l| l.max(0) as u64)
            },
            side: side(input.side),
            start_side: input.start_line.map(|_| side(input.start_side)),
            body: input.body,
        };
        let now = now_epoch();
        let (ti, w) = cx
            .write(|w| {
                let v = match target {
                    Target::Review(_, _, v) => v,
                    Target::Pull(..) => match w.repos[r].pulls[p].pending_review_of(u) {
                        Some(v) => v,
                        None => w.add_review(
                            r,
                            p,
                            NewReview {
                                author: u,
                                body: String::new(),
                                state: "PENDING",
                                threads: vec![],
                            },
                            now,
                        )?,
                    },
                };
                // A line outside the diff: GitHub creates nothing and answers
                // `thread: null` without an error (the review, if made, stays).
                match w.add_thread_to_pending(r, p, v, u, nt, now) {
                    Err(WriteError::Unanchored(_)) => Ok(None),
                    other => other.map(Some),
                }
            })
            .map_err(write_error)?;
        Ok(Some(AddPullRequestReviewThreadPayload {
            client_mutation_id: input.client_mutation_id,
            thread: ti.map(|t| PullRequestReviewThread { w, r, p, t }),
        }))
    }

    /// The comment behind node `id` if the caller may change it: invisible (another
    /// user's pending comment, an unreadable repo) is `NOT_FOUND`; neither theirs nor,
    /// when submitted, in a repo they can write to is `FORBIDDEN`.
    fn changeable_comment(
        &self,
        c: &Context<'_>,
        id: &str,
        mutation: &str,
    ) -> Result<crate::world::CommentRef> {
        let cx = ctx(c);
        let w = &cx.world;
        let Some(NodeRef::Comment(cref)) = w.nodes.get(id).copied() else {
            return Err(not_found_id(id));
        };
        let pull = &w.repos[cref.repo].pulls[cref.pull];
        let cm = w.comment(cref);
        if !w.can_read(cx.caller.user, cref.repo) || !pull.comment_visible(cm, cx.caller.user) {
            return Err(not_found_id(id));
        }
        let pending = pull.pending.iter().any(|&(v, _)| v == cm.review_id);
        if cx.caller.user == Some(cm.author) {
            return Ok(cref);
        }
        if pending {
            return Err(not_found_id(id));
        }
        writer(c, cref.repo, mutation)?;
        Ok(cref)
    }

    async fn do_update_pull_request_review_comment(
        &self,
        c: &Context<'_>,
        input: UpdatePullRequestReviewCommentInput,
    ) -> Result<Option<UpdatePullRequestReviewCommentPayload>> {
        let id = input.pull_request_review_comment_id.to_string();
        self.changeable_comment(c, &id, "UpdatePullRequestReviewComment")?;
        if input.body.trim().is_empty() {
            return Err(typed_error("UNPROCESSABLE", "Body can't be blank"));
        }
        let (cref, w) = ctx(c)
            .write(|w| {
                let Some(NodeRef::Comment(cref)) = w.nodes.get(&id).copied() else {
                    return Err(WriteError::NotFound);
                };
                w.edit_comment(cref, input.body, now_epoch());
                Ok(cref)
            })
            .map_err(write_error)?;
        Ok(Some(UpdatePullRequestReviewCommentPayload {
            client_mutation_id: input.client_mutation_id,
            pull_request_review_comment: Some(PullRequestReviewComment { w, c: cref }),
        }))
    }

    async fn do_delete_pull_request_review_comment(
        &self,
        c: &Context<'_>,
        input: DeletePullRequestReviewCommentInput,
    ) -> Result<Option<DeletePullRequestReviewCommentPayload>> {
        let id = input.id.to_string();
        let cref = self.changeable_comment(c, &id, "DeletePullRequestReviewComment")?;
        // The payload shows the comment as it was and its review as it is.
        let before = ctx(c).world.clone();
        let review_id = before.comment(cref).review_id;
        let (_, w) = ctx(c)
            .write(|w| {
                let Some(NodeRef::Comment(cref)) = w.nodes.get(&id).copied() else {
                    return Err(WriteError::NotFound);
                };
                Ok(w.delete_comment(cref))
            })
            .map_err(write_error)?;
        let review = w.repos[cref.repo].pulls[cref.pull]
            .reviews
            .iter()
            .position(|v| v.id == review_id)
            .map(|v| PullRequestReview {
                w: w.clone(),
                r: cref.repo,
                p: cref.pull,
                v,
            });
        Ok(Some(DeletePullRequestReviewCommentPayload {
            client_mutation_id: input.client_mutation_id,
            pull_request_review: review,
            pull_request_review_comment: Some(PullRequestReviewComment { w: before, c: cref }),
        }))
    }
}

#[Object]
impl Mutation {
    /// Marks a review thread as resolved.
    async fn resolve_review_thread(
        &self,
        c: &Context<'_>,
        input: ResolveReviewThreadInput,
    ) -> Result<Option<ResolveReviewThreadPayload>> {
        // A refused mutation answers `{"data": {"field": null}, "errors": [...]}`.
        match self.do_resolve_review_thread(c, input).await {
            Ok(p) => Ok(p),
            Err(e) => null_with_error(c, e),
        }
    }

    /// Marks a review thread as unresolved.
    async fn unresolve_review_thread(
        &self,
        c: &Context<'_>,
        input: UnresolveReviewThreadInput,
    ) -> Result<Option<UnresolveReviewThreadPayload>> {
        // A refused mutation answers `{"data": {"field": null}, "errors": [...]}`.
        match self.do_unresolve_review_thread(c, input).await {
            Ok(p) => Ok(p),
            Err(e) => null_with_error(c, e),
        }
    }

    /// Adds a reply to an existing Pull Request Review Thread.
    async fn add_pull_request_review_thread_reply(
        &self,
        c: &Context<'_>,
        input: AddPullRequestReviewThreadReplyInput,
    ) -> Result<Option<AddPullRequestReviewThreadReplyPayload>> {
        // A refused mutation answers `{"data": {"field": null}, "errors": [...]}`.
        match self.do_add_pull_request_review_thread_reply(c, input).await {
            Ok(p) => Ok(p),
            Err(e) => null_with_error(c, e),
        }
    }

    /// Adds a new thread to a pending Pull Request Review.
    async fn add_pull_request_review_thread(
        &self,
        c: &Context<'_>,
        input: AddPullRequestReviewThreadInput,
    ) -> Result<Option<AddPullRequestReviewThreadPayload>> {
        // A refused mutation answers `{"data": {"field": null}, "errors": [...]}`.
        match self.do_add_pull_request_review_thread(c, input).await {
            Ok(p) => Ok(p),
            Err(e) => null_with_error(c, e),
        }
    }

    /// Updates a pull request review comment.
    async fn update_pull_request_review_comment(
        &self,
        c: &Context<'_>,
        input: UpdatePullRequestReviewCommentInput,
    ) -> Result<Option<UpdatePullRequestReviewCommentPayload>> {
        match self.do_update_pull_request_review_comment(c, input).await {
            Ok(p) => Ok(p),
            Err(e) => null_with_error(c, e),
        }
    }

    /// Deletes a pull request review comment.
    async fn delete_pull_request_review_comment(
        &self,
        c: &Context<'_>,
        input: DeletePullRequestReviewCommentInput,
    ) -> Result<Option<DeletePullRequestReviewCommentPayload>> {
        match self.do_delete_pull_request_review_comment(c, input).await {
            Ok(p) => Ok(p),
            Err(e) => null_with_error(c, e),
        }
    }
}

/// Moves `extensions.type` to a top-level `type`, as GitHub shapes its errors.
pub fn githubify_errors(mut v: Value) -> Value {
    if let Some(Value::Array(errors)) = v.get_mut("errors") {
        for e in errors {
            let Some(obj) = e.as_object_mut() else {
                continue;
            };
            let kind = obj
                .get_mut("extensions")
                .and_then(|x| x.as_object_mut())
                .and_then(|x| x.remove("type"));
            if let Some(kind) = kind {
                obj.insert("type".into(), kind);
            }
            if obj
                .get("extensions")
                .and_then(|x| x.as_object())
                .is_some_and(|x| x.is_empty())
            {
                obj.remove("extensions");
            }
        }
    }
    v
}

/// Puts the operation's variable defaults (`$withTail: Boolean = false`) into the
/// request where the caller sent none: async-graphql evaluates `@include`/`@skip`
/// on the raw variables, so without this a defaulted `@include(if: $x)` would drop
/// the field (GitHub applies the default).
fn fill_variable_defaults(req: &mut async_graphql::Request) {
    if !req.query.contains('=') {
        return;
    }
    let Ok(doc) = async_graphql::parser::parse_query(&req.query) else {
        return;
    };
    for (name, op) in doc.operations.iter() {
        if req
            .operation_name
            .as_deref()
            .is_some_and(|wanted| name.is_some_and(|n| n.as_str() != wanted))
        {
            continue;
        }
        for vd in &op.node.variable_definitions {
            if let Some(default) = &vd.node.default_value {
                req.variables
                    .entry(vd.node.name.node.clone())
                    .or_insert_with(|| default.node.clone());
            }
        }
    }
}

/// Executes a request; `holes` puts `rateLimit` sentinels in for a cache template.
async fn execute(
    ctx: &Ctx,
    req: async_graphql::Request,
    holes: Option<Arc<HoleCounter>>,
) -> Vec<u8> {
    let ctx = Ctx {
        holes,
        ..ctx.clone()
    };
    let schema = ctx.app.schema.clone();
    let resp = schema.execute(req.data(ctx)).await;
    // Serialise straight to bytes; only error responses need reshaping.
    if resp.errors.is_empty() {
        serde_json::to_vec(&resp).unwrap_or_default()
    } else {
        let v = githubify_errors(serde_json::to_value(&resp).unwrap_or(Value::Null));
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

/// `POST /graphql`: answers from the response cache when the same caller sent the
/// same body since the last write; otherwise executes (and fills the cache).
pub async fn handler(Extension(ctx): Extension<Ctx>, body: axum::body::Bytes) -> Response {
    let quota = ctx.graphql_quota.unwrap_or_else(|| {
        let bucket = ctx
            .caller
            .token
            .clone()
            .map_or(Bucket::Anonymous, Bucket::Token);
        ctx.app
            .limiter
            .peek(&bucket, Resource::Graphql, now_epoch())
    });
    let generation = ctx.world.generation;
    let user = ctx.caller.user;
    if let Some(t) = ctx.app.cache.graphql_get(generation, user, &body) {
        return (StatusCode::OK, json_headers(), t.render(&quota)).into_response();
    }
    let parse = || {
        serde_json::from_slice::<async_graphql::Request>(&body).map(|mut r| {
            fill_variable_defaults(&mut r);
            r
        })
    };
    let req = match parse() {
        Ok(r) => r,
        Err(e) => {
            let body =
                serde_json::json!({"errors": [{"message": format!("Problems parsing JSON: {e}")}]});
            return (StatusCode::BAD_REQUEST, json_headers(), body.to_string()).into_response();
        }
    };
    let holes = Arc::new(HoleCounter::default());
    let out = execute(&ctx, req, Some(holes.clone())).await;
    let out_copy = out.clone();
    let wrote = ctx.writes.load(std::sync::atomic::Ordering::Relaxed) > 0;
    let out = match Template::new(out, &holes) {
        Some(t) => {
            let t = Arc::new(t);
            if !wrote {
                ctx.app.cache.graphql_put(generation, user, body, t.clone());
            }
            t.render(&quota)
        }
        // A sentinel showed up in user data: execute again with real values.
        // (Mutations never get here: they do not read `rateLimit` twice.)
        None => match parse() {
            Ok(req) if !wrote => execute(&ctx, req, None).await.into(),
            // A mutation cannot run twice: fill every sentinel found.
            _ => Template::forced(out_copy).render(&quota),
        },
    };
    (StatusCode::OK, json_headers(), out).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_moves_to_top_level() {
        let v = serde_json::json!({"data": null, "errors": [{"message": "m", "extensions": {"type": "NOT_FOUND"}}]});
        let v = githubify_errors(v);
        assert_eq!(v["errors"][0]["type"], "NOT_FOUND");
        assert!(v["errors"][0].get("extensions").is_none());
    }

    #[test]
    fn schema_uses_githubs_names() {
        let sdl = schema().sdl();
        for needle in [
            "type PullRequestReviewThread implements Node",
            "fullDatabaseId: BigInt",
            "scalar GitObjectID",
            "enum DiffSide",
            "reviewThreads(after: String, before: String, first: Int, last: Int): PullRequestReviewThreadConnection!",
            "interface Actor",
        ] {
            assert!(sdl.contains(needle), "missing {needle}");
        }
    }
}
