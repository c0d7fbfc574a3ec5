//! GraphQL at `POST /graphql` (and `/api/graphql`), executed by async-graphql over
//! a subset of GitHub's schema with the same names, so real documents run unchanged.
//! Errors carry GitHub's top-level `type` (e.g. `NOT_FOUND`).

pub mod connection;
pub mod types;

use async_graphql::{
    Context, EmptySubscription, InputObject, Object, Result, Schema, SimpleObject, ID,
};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::Value;

use crate::ratelimit::{Bucket, Resource};
use crate::server::json_headers;
use crate::state::Ctx;
use crate::time::now_epoch;
use connection::typed_error;
use types::{
    ctx, node, null_with_error, Node, PullRequestReviewComment, PullRequestReviewThread, RateLimit,
    Repository, User,
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

pub struct Mutation;

/// Finds a thread the caller may write to.
fn writable_thread(c: &Context<'_>, id: &str) -> Result<(usize, usize, usize, usize)> {
    let ctx = ctx(c);
    let not_found = || {
        typed_error(
            "NOT_FOUND",
            format!("Could not resolve to a node with the global id of '{id}'"),
        )
    };
    let Some(crate::world::NodeRef::Thread(r, p, t)) = ctx.world.nodes.get(id).copied() else {
        return Err(not_found());
    };
    if !ctx.world.can_read(ctx.caller.user, r) {
        return Err(not_found());
    }
    match ctx.caller.user {
        Some(u) if ctx.world.can_write(Some(u), r) => Ok((r, p, t, u)),
        _ => Err(typed_error(
            "FORBIDDEN",
            format!(
                "{} does not have the correct permissions to execute `ResolveReviewThread`",
                ctx.caller
                    .user
                    .map(|u| ctx.world.users[u].login.clone())
                    .unwrap_or_default()
            ),
        )),
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
        let (r, p, t, u) = writable_thread(c, &input.thread_id)?;
        let (_, w) = ctx(c)
            .app
            .update_world(|w| w.set_resolved(r, p, t, Some(u)));
        Ok(Some(ResolveReviewThreadPayload {
            client_mutation_id: input.client_mutation_id,
            thread: Some(PullRequestReviewThread { w, r, p, t }),
        }))
    }

    /// Marks a review thread as unresolved.
    async fn unresolve_review_thread(
        &self,
        c: &Context<'_>,
        input: UnresolveReviewThreadInput,
    ) -> Result<Option<UnresolveReviewThreadPayload>> {
        let (r, p, t, _) = writable_thread(c, &input.thread_id)?;
        let (_, w) = ctx(c).app.update_world(|w| w.set_resolved(r, p, t, None));
        Ok(Some(UnresolveReviewThreadPayload {
            client_mutation_id: input.client_mutation_id,
            thread: Some(PullRequestReviewThread { w, r, p, t }),
        }))
    }

    /// Adds a reply to an existing Pull Request Review Thread.
    async fn add_pull_request_review_thread_reply(
        &self,
        c: &Context<'_>,
        input: AddPullRequestReviewThreadReplyInput,
    ) -> Result<Option<AddPullRequestReviewThreadReplyPayload>> {
        let (r, p, t, u) = writable_thread(c, &input.pull_request_review_thread_id)?;
        let to = crate::world::CommentRef {
            repo: r,
            pull: p,
            thread: t,
            comment: 0,
        };
        let (cref, w) = ctx(c)
            .app
            .update_world(|w| w.add_reply(to, u, input.body, now_epoch()));
        Ok(Some(AddPullRequestReviewThreadReplyPayload {
            client_mutation_id: input.client_mutation_id,
            comment: Some(PullRequestReviewComment { w, c: cref }),
        }))
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

/// `POST /graphql`.
pub async fn handler(Extension(ctx): Extension<Ctx>, body: axum::body::Bytes) -> Response {
    let req: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let body =
                serde_json::json!({"errors": [{"message": format!("Problems parsing JSON: {e}")}]});
            return (StatusCode::BAD_REQUEST, json_headers(), body.to_string()).into_response();
        }
    };
    let schema = ctx.app.schema.clone();
    let resp = schema.execute(req.data(ctx)).await;
    // Serialise straight to bytes; only error responses need reshaping.
    let body = if resp.errors.is_empty() {
        serde_json::to_vec(&resp).unwrap_or_default()
    } else {
        let v = githubify_errors(serde_json::to_value(&resp).unwrap_or(Value::Null));
        serde_json::to_vec(&v).unwrap_or_default()
    };
    (StatusCode::OK, json_headers(), body).into_response()
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
