//! Write tools. Each names in its result what it created (ids, URLs) and leaves an
//! audit line in the log. None retries: a write whose outcome is unknown is
//! reported as such, never repeated.

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, ErrorData, RoleServer};

use super::args::{
    check_body, check_thread_id, AddPendingCommentArgs, CreateReviewArgs, DeleteReviewArgs,
    InlineCommentArgs, IssueCommentArgs, ReplyAndResolveArgs, ReplyArgs, ReviewEvent, Side,
    SubmitReviewArgs, ThreadArgs, ThreadsArgs, MAX_THREADS_AT_ONCE,
};
use super::{respond, text_error, ReviewServer};
use crate::github::reviews::{self, InlineComment};
use crate::github::threads;
use crate::model::{
    CreatedComment, ReplyAndResolve, ReviewOutcome, ThreadOutcome, ThreadOutcomes, ThreadResolution,
};
use crate::untrusted::echo;

/// One audit line per landed write: who (login; the span adds the token's
/// fingerprint), which tool, on what, and what it created.
fn audit(tool: &str, target: &str, created: &str, login: Option<&str>) {
    tracing::info!(
        audit = true,
        login = login.unwrap_or("unknown"),
        tool,
        target,
        created,
        "write"
    );
}

/// Validates and converts an inline comment; a one-line "range" becomes one line.
pub(super) fn inline(c: &InlineCommentArgs) -> Result<InlineComment, String> {
    if c.path.trim().is_empty() {
        return Err("an inline comment needs a path".into());
    }
    let path = echo(&c.path);
    if c.line == 0 {
        return Err(format!("line must be 1 or more (comment on {path})"));
    }
    check_body(
        &format!("the body of the comment on {path} line {}", c.line),
        &c.body,
    )?;
    let side = c.side.unwrap_or(Side::Right);
    let start_line = c
        .start_line
        .filter(|&s| s != c.line || c.start_side.is_some_and(|ss| ss != side));
    if let Some(start) = start_line {
        if start == 0 || (start > c.line && c.start_side.unwrap_or(side) == side) {
            return Err(format!(
                "start_line ({start}) must be before line ({}) on {path}",
                c.line
            ));
        }
    }
    Ok(InlineComment {
        path: c.path.clone(),
        line: c.line,
        side: Some(side.as_str().to_owned()),
        start_line,
        start_side: start_line.map(|_| c.start_side.unwrap_or(side).as_str().to_owned()),
        body: c.body.clone(),
    })
}

/// The checks `create_pr_review` makes before it contacts GitHub: every inline
/// comment, the body (empty is allowed, blank is not), and what each event needs.
/// Returns the comments to send.
pub(super) fn review_comments(args: &CreateReviewArgs) -> Result<Vec<InlineComment>, String> {
    let comments = args
        .comments
        .iter()
        .map(inline)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(body) = args.body.as_deref().filter(|b| !b.is_empty()) {
        check_body("body", body)?;
    }
    let has_body = args.body.as_deref().is_some_and(|b| !b.trim().is_empty());
    match args.event {
        Some(ReviewEvent::RequestChanges) if !has_body => {
            Err("REQUEST_CHANGES needs a body saying what to change".into())
        }
        Some(ReviewEvent::Comment) if !has_body && comments.is_empty() => {
            Err("a COMMENT review needs a body or inline comments".into())
        }
        _ => Ok(comments),
    }
}

fn created_comment_text(what: &str, c: &CreatedComment) -> String {
    format!("{what}: comment {} ({}) {}", c.id, c.node_id, c.url)
}

fn review_text(verb: &str, r: &ReviewOutcome) -> String {
    let mut text = format!("{verb} review {} ({}), state {}", r.id, r.node_id, r.state);
    if let Some(url) = &r.url {
        text.push_str(&format!(", {url}"));
    }
    for c in &r.comments {
        text.push_str(&format!("\n- comment {} {}", c.id, c.url));
    }
    text
}

#[tool_router(router = write_tools, vis = "pub(super)")]
impl ReviewServer {
    #[tool(
        name = "reply_to_review_comment",
        description = "Reply in the thread of a review comment (comment_id: the numeric id from fetch_pr_review_comments). \
Returns the new comment's id and URL. Not retried: if the result is an error about the network, check the thread \
before replying again.",
        output_schema = schema_for_output::<CreatedComment>(),
        annotations(title = "Reply to a review comment", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn reply_to_review_comment(
        &self,
        Parameters(args): Parameters<ReplyArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("reply_to_review_comment", &ctx, |call| async move {
            if let Err(e) = check_body("body", &args.body) {
                return text_error(e);
            }
            let pr = match self.parse_pr(&args.pr_url) {
                Ok(pr) => pr,
                Err(e) => return e,
            };
            let result = reviews::reply(
                self.github(),
                &call.credential,
                &pr,
                args.comment_id,
                &args.body,
            )
            .await;
            if let Ok(c) = &result {
                audit(
                    "reply_to_review_comment",
                    &format!("{pr} comment {}", args.comment_id),
                    &c.id.to_string(),
                    c.author.as_deref(),
                );
            }
            respond(
                result,
                &format!("Could not reply to comment {} on {pr}", args.comment_id),
                |c| created_comment_text("Replied", c),
            )
        })
        .await
    }

    #[tool(
        name = "resolve_review_thread",
        description = "Mark a review thread resolved (thread_id: the PRRT_ id). Resolving a resolved thread is fine.",
        output_schema = schema_for_output::<ThreadResolution>(),
        annotations(title = "Resolve a review thread", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn resolve_review_thread(
        &self,
        Parameters(args): Parameters<ThreadArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.set_resolved("resolve_review_thread", args, ctx, true)
            .await
    }

    #[tool(
        name = "unresolve_review_thread",
        description = "Reopen a resolved review thread (thread_id: the PRRT_ id). Unresolving an open thread is fine.",
        output_schema = schema_for_output::<ThreadResolution>(),
        annotations(title = "Unresolve a review thread", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn unresolve_review_thread(
        &self,
        Parameters(args): Parameters<ThreadArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.set_resolved("unresolve_review_thread", args, ctx, false)
            .await
    }

    #[tool(
        name = "create_pr_review",
        description = "Leave a review: event APPROVE, REQUEST_CHANGES or COMMENT (omit it to create a pending review \
only you see, then add_pending_review_comment and submit_pending_review), a body, and inline comments each on \
a line or a range (path, line, side, start_line, start_side, body). Returns the review's and each comment's id and URL.",
        output_schema = schema_for_output::<ReviewOutcome>(),
        annotations(title = "Create a PR review", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn create_pr_review(
        &self,
        Parameters(args): Parameters<CreateReviewArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("create_pr_review", &ctx, |call| async move {
            let comments = match review_comments(&args) {
                Ok(c) => c,
                Err(e) => return text_error(e),
            };
            let pr = match self.parse_pr(&args.pr_url) {
                Ok(pr) => pr,
                Err(e) => return e,
            };
            let event = args.event.map(ReviewEvent::as_str);
            let result = reviews::create(
                self.github(),
                &call.credential,
                &pr,
                event,
                args.body.as_deref().filter(|b| !b.is_empty()),
                &comments,
            )
            .await;
            if let Ok(r) = &result {
                audit(
                    "create_pr_review",
                    &pr.to_string(),
                    &r.id.to_string(),
                    r.author.as_deref(),
                );
            }
            respond(
                result,
                &format!("Could not create the review on {pr}"),
                |r| review_text("Created", r),
            )
        })
        .await
    }

    #[tool(
        name = "submit_pending_review",
        description = "Submit your pending review with event APPROVE, REQUEST_CHANGES or COMMENT and an optional body. \
review_id is found automatically when omitted.",
        output_schema = schema_for_output::<ReviewOutcome>(),
        annotations(title = "Submit your pending review", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn submit_pending_review(
        &self,
        Parameters(args): Parameters<SubmitReviewArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("submit_pending_review", &ctx, |call| async move {
            let pr = match self.parse_pr(&args.pr_url) {
                Ok(pr) => pr,
                Err(e) => return e,
            };
            let token = &call.credential;
            let review_id = match self.pending_review_id(token, &pr, args.review_id).await {
                Ok(id) => id,
                Err(e) => return e,
            };
            let body = args.body.as_deref().filter(|b| !b.trim().is_empty());
            let result = reviews::submit(
                self.github(),
                token,
                &pr,
                review_id,
                args.event.as_str(),
                body,
            )
            .await;
            if let Ok(r) = &result {
                audit(
                    "submit_pending_review",
                    &pr.to_string(),
                    &r.id.to_string(),
                    r.author.as_deref(),
                );
            }
            respond(
                result,
                &format!("Could not submit review {review_id} on {pr}"),
                |r| review_text("Submitted", r),
            )
        })
        .await
    }

    #[tool(
        name = "delete_pending_review",
        description = "Delete your pending (unsubmitted) review and its comments. review_id is found automatically \
when omitted. Submitted reviews cannot be deleted.",
        output_schema = schema_for_output::<ReviewOutcome>(),
        annotations(title = "Delete your pending review", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = true)
    )]
    async fn delete_pending_review(
        &self,
        Parameters(args): Parameters<DeleteReviewArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("delete_pending_review", &ctx, |call| async move {
            let pr = match self.parse_pr(&args.pr_url) {
                Ok(pr) => pr,
                Err(e) => return e,
            };
            let token = &call.credential;
            let review_id = match self.pending_review_id(token, &pr, args.review_id).await {
                Ok(id) => id,
                Err(e) => return e,
            };
            let result = reviews::delete(self.github(), token, &pr, review_id).await;
            if let Ok(r) = &result {
                audit(
                    "delete_pending_review",
                    &pr.to_string(),
                    &review_id.to_string(),
                    r.author.as_deref(),
                );
            }
            respond(
                result,
                &format!("Could not delete review {review_id} on {pr}"),
                |r| review_text("Deleted", r),
            )
        })
        .await
    }

    #[tool(
        name = "add_pending_review_comment",
        description = "Add an inline comment (one line, or start_line..line) to your pending review; create one first \
with create_pr_review without event. Nobody else sees it until you submit_pending_review.",
        output_schema = schema_for_output::<CreatedComment>(),
        annotations(title = "Add to your pending review", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn add_pending_review_comment(
        &self,
        Parameters(args): Parameters<AddPendingCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("add_pending_review_comment", &ctx, |call| async move {
            let comment = match inline(&args.comment) {
                Ok(c) => c,
                Err(e) => return text_error(e),
            };
            let pr = match self.parse_pr(&args.pr_url) {
                Ok(pr) => pr,
                Err(e) => return e,
            };
            let token = &call.credential;
            let node_id = match reviews::pending(self.github(), token, &pr).await {
                Ok((_, node_id)) => node_id,
                Err(e) => return text_error(format!("Could not find your pending review: {e}")),
            };
            let result =
                reviews::add_pending_comment(self.github(), token, &node_id, &comment).await;
            if let Ok(c) = &result {
                audit(
                    "add_pending_review_comment",
                    &pr.to_string(),
                    &c.id.to_string(),
                    c.author.as_deref(),
                );
            }
            respond(
                result,
                &format!("Could not add the comment to your pending review on {pr}"),
                |c| created_comment_text("Added to your pending review", c),
            )
        })
        .await
    }

    #[tool(
        name = "add_issue_comment",
        description = "Comment on a pull request's conversation (not on a line of code). Returns the comment's id and URL.",
        output_schema = schema_for_output::<CreatedComment>(),
        annotations(title = "Comment on a PR", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn add_issue_comment(
        &self,
        Parameters(args): Parameters<IssueCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("add_issue_comment", &ctx, |call| async move {
            if let Err(e) = check_body("body", &args.body) {
                return text_error(e);
            }
            let pr = match self.parse_pr(&args.pr_url) {
                Ok(pr) => pr,
                Err(e) => return e,
            };
            let result =
                reviews::issue_comment(self.github(), &call.credential, &pr, &args.body).await;
            if let Ok(c) = &result {
                audit(
                    "add_issue_comment",
                    &pr.to_string(),
                    &c.id.to_string(),
                    c.author.as_deref(),
                );
            }
            respond(result, &format!("Could not comment on {pr}"), |c| {
                created_comment_text("Commented", c)
            })
        })
        .await
    }

    #[tool(
        name = "reply_and_resolve",
        description = "Answer a review thread and resolve it, in one call: posts the reply (comment_id: a \
comment of the thread, thread_id: its PRRT_ id), then resolves the thread. Both outcomes are reported; if the \
reply fails nothing is resolved, and if the resolve fails the reply still stands and the error says so.",
        output_schema = schema_for_output::<ReplyAndResolve>(),
        annotations(title = "Reply and resolve", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn reply_and_resolve(
        &self,
        Parameters(args): Parameters<ReplyAndResolveArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("reply_and_resolve", &ctx, |call| async move {
            let checked = check_body("body", &args.body)
                .and_then(|()| check_thread_id(&args.thread_id).map(str::to_owned));
            let thread_id = match checked {
                Ok(id) => id,
                Err(e) => return text_error(e),
            };
            let pr = match self.parse_pr(&args.pr_url) {
                Ok(pr) => pr,
                Err(e) => return e,
            };
            let github = self.github();
            let reply =
                match reviews::reply(github, &call.credential, &pr, args.comment_id, &args.body)
                    .await
                {
                    Ok(reply) => reply,
                    Err(err) => {
                        return text_error(format!(
                        "Could not reply to comment {} on {pr}: {err}; the thread was not resolved",
                        args.comment_id
                    ))
                    }
                };
            audit(
                "reply_and_resolve",
                &format!("{pr} comment {}", args.comment_id),
                &reply.id.to_string(),
                reply.author.as_deref(),
            );
            let outcome =
                match threads::set_resolved(github, &call.credential, &thread_id, true).await {
                    Ok(resolution) => {
                        audit(
                            "reply_and_resolve",
                            &thread_id,
                            &thread_id,
                            resolution.resolved_by.as_deref(),
                        );
                        ReplyAndResolve {
                            reply: Some(reply),
                            resolution: Some(resolution),
                            error: None,
                        }
                    }
                    Err(err) => ReplyAndResolve {
                        reply: Some(reply),
                        resolution: None,
                        error: Some(format!(
                            "the reply was posted, but resolving thread {thread_id} failed: {err}"
                        )),
                    },
                };
            let mut text = created_comment_text("Replied", outcome.reply.as_ref().expect("posted"));
            match (&outcome.resolution, &outcome.error) {
                (Some(r), _) => text.push_str(&format!(
                    "\nThread {} on {} is resolved",
                    r.thread_id, r.path
                )),
                (None, Some(e)) => text.push_str(&format!("\nNot resolved: {e}")),
                (None, None) => {}
            }
            let failed = outcome.error.is_some();
            let mut result = super::structured(
                serde_json::to_value(&outcome).unwrap_or_default(),
                vec![text],
            );
            if failed {
                result.is_error = Some(true);
            }
            result
        })
        .await
    }

    #[tool(
        name = "resolve_review_threads",
        description = "Resolve (or, with resolve=false, reopen) several review threads at once: thread_ids are \
PRRT_ ids, 1 to 50. Each thread's outcome is reported in order; if any fails the result is an error that names \
each failure, and the others still changed.",
        output_schema = schema_for_output::<ThreadOutcomes>(),
        annotations(title = "Resolve several review threads", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn resolve_review_threads(
        &self,
        Parameters(args): Parameters<ThreadsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("resolve_review_threads", &ctx, |call| async move {
            if args.thread_ids.is_empty() || args.thread_ids.len() > MAX_THREADS_AT_ONCE {
                return text_error(format!(
                    "thread_ids must list 1 to {MAX_THREADS_AT_ONCE} threads"
                ));
            }
            let ids = match args
                .thread_ids
                .iter()
                .map(|t| check_thread_id(t).map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(ids) => ids,
                Err(e) => return text_error(e),
            };
            let resolve = args.resolve.unwrap_or(true);
            let verb = if resolve { "resolve" } else { "unresolve" };
            // One at a time: a token's writes go one by one anyway (GitHub's advice).
            let mut threads_out = Vec::with_capacity(ids.len());
            for id in ids {
                let outcome = match threads::set_resolved(
                    self.github(),
                    &call.credential,
                    &id,
                    resolve,
                )
                .await
                {
                    Ok(resolution) => {
                        audit(
                            "resolve_review_threads",
                            &id,
                            &id,
                            resolution.resolved_by.as_deref(),
                        );
                        ThreadOutcome {
                            thread_id: id,
                            resolution: Some(resolution),
                            error: None,
                        }
                    }
                    Err(err) => ThreadOutcome {
                        thread_id: id,
                        resolution: None,
                        error: Some(err.to_string()),
                    },
                };
                threads_out.push(outcome);
            }
            let failed = threads_out.iter().filter(|t| t.error.is_some()).count() as u32;
            let outcomes = ThreadOutcomes {
                succeeded: threads_out.len() as u32 - failed,
                failed,
                threads: threads_out,
            };
            let mut text = format!(
                "{verb}d {} of {} threads",
                outcomes.succeeded,
                outcomes.threads.len()
            );
            for t in &outcomes.threads {
                match (&t.resolution, &t.error) {
                    (Some(r), _) => text.push_str(&format!(
                        "\n- {}: {} on {}",
                        t.thread_id,
                        if r.is_resolved {
                            "resolved"
                        } else {
                            "unresolved"
                        },
                        r.path
                    )),
                    (None, Some(e)) => text.push_str(&format!("\n- {}: FAILED, {e}", t.thread_id)),
                    (None, None) => {}
                }
            }
            let mut result = super::structured(
                serde_json::to_value(&outcomes).unwrap_or_default(),
                vec![text],
            );
            if failed > 0 {
                result.is_error = Some(true);
            }
            result
        })
        .await
    }
}

impl ReviewServer {
    /// `given`, or the id of the caller's pending review on `pr`.
    async fn pending_review_id(
        &self,
        token: &crate::github::Credential,
        pr: &crate::github::PullRequestRef,
        given: Option<u64>,
    ) -> Result<u64, CallToolResult> {
        match given {
            Some(id) => Ok(id),
            None => reviews::pending(self.github(), token, pr)
                .await
                .map(|(id, _)| id)
                .map_err(|e| text_error(format!("Could not find your pending review: {e}"))),
        }
    }

    async fn set_resolved(
        &self,
        tool: &'static str,
        args: ThreadArgs,
        ctx: RequestContext<RoleServer>,
        resolve: bool,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(tool, &ctx, |call| async move {
            let id = match check_thread_id(&args.thread_id) {
                Ok(id) => id,
                Err(e) => return text_error(e),
            };
            let result = threads::set_resolved(self.github(), &call.credential, id, resolve).await;
            if let Ok(t) = &result {
                audit(tool, id, id, t.resolved_by.as_deref());
            }
            let verb = if resolve { "resolve" } else { "unresolve" };
            respond(result, &format!("Could not {verb} thread {id}"), |t| {
                format!(
                    "Thread {} on {} is {}",
                    t.thread_id,
                    t.path,
                    if t.is_resolved {
                        "resolved"
                    } else {
                        "unresolved"
                    }
                )
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(line: u32, start: Option<u32>) -> InlineCommentArgs {
        InlineCommentArgs {
            path: "src/a.rs".into(),
            line,
            side: None,
            start_line: start,
            start_side: None,
            body: "x".into(),
        }
    }

    #[test]
    fn a_review_needs_what_its_event_needs_and_allows_an_empty_body() {
        let review = |event: Option<&str>, body: Option<&str>, comments: Vec<InlineCommentArgs>| {
            let args: CreateReviewArgs = serde_json::from_value(serde_json::json!({
                "pr_url": "acme/widgets#7",
                "event": event,
                "body": body,
                "comments": [],
            }))
            .unwrap();
            review_comments(&CreateReviewArgs { comments, ..args })
        };
        assert_eq!(review(Some("APPROVE"), Some(""), vec![]).unwrap().len(), 0);
        assert_eq!(review(None, None, vec![c(3, None)]).unwrap().len(), 1);
        assert!(review(Some("APPROVE"), Some("  "), vec![])
            .unwrap_err()
            .contains("must not be empty"));
        assert!(review(Some("REQUEST_CHANGES"), None, vec![c(3, None)])
            .unwrap_err()
            .contains("REQUEST_CHANGES"));
        assert!(review(Some("COMMENT"), Some(""), vec![])
            .unwrap_err()
            .contains("COMMENT"));
        assert!(review(Some("COMMENT"), None, vec![c(0, None)])
            .unwrap_err()
            .contains("line must be 1"));
    }

    #[test]
    fn ranges_are_validated_and_one_line_ranges_collapse() {
        let r = inline(&c(12, Some(10))).unwrap();
        assert_eq!(
            (r.start_line, r.start_side.as_deref(), r.side.as_deref()),
            (Some(10), Some("RIGHT"), Some("RIGHT"))
        );
        assert_eq!(inline(&c(12, Some(12))).unwrap().start_line, None);
        assert!(inline(&c(10, Some(12)))
            .unwrap_err()
            .contains("must be before"));
        assert!(inline(&c(0, None)).is_err());
        let mut blank = c(3, None);
        blank.body = "  ".into();
        assert!(inline(&blank).unwrap_err().contains("must not be empty"));
    }
}
