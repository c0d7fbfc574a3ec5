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
    InlineCommentArgs, IssueCommentArgs, PendingCommentArgs, ReplyAndResolveArgs, ReplyArgs,
    ReviewEvent, Side, SubjectType, SubmitReviewArgs, ThreadArgs, ThreadsArgs,
    UpdatePendingCommentArgs, MAX_THREADS_AT_ONCE,
};
use super::context::CallContext;
use super::error::{reply, reply_partial, Doing, ToolError, ToolResult};
use super::ReviewServer;
use crate::github::diff::{self, PullDiff, Target};
use crate::github::reviews::{self, InlineComment};
use crate::github::threads;
use crate::model::{
    CreatedComment, PendingComment, ReplyAndResolve, ReviewOutcome, ThreadOutcome, ThreadOutcomes,
    ThreadResolution,
};
use crate::untrusted::{echo, fence_for};

/// One audit line per landed write: who (login; the span adds the token's
/// fingerprint), which tool, on what, and what it created.
fn audit(call: &CallContext, target: &str, created: &str, login: Option<&str>) {
    tracing::info!(
        audit = true,
        login = login.unwrap_or("unknown"),
        tool = call.tool,
        target,
        created,
        "write"
    );
}

/// Validates and converts an inline comment: a one-line "range" becomes one line,
/// a `suggestion` becomes a ```suggestion block of the body.
pub(super) fn inline(c: &InlineCommentArgs) -> Result<InlineComment, String> {
    if c.path.trim().is_empty() {
        return Err("an inline comment needs a path".into());
    }
    let path = echo(&c.path);
    if c.subject_type == Some(SubjectType::File) {
        if c.line.is_some() || c.start_line.is_some() || c.suggestion.is_some() {
            return Err(format!(
                "a comment on the whole file ({path}, subject_type file) takes no line, start_line or suggestion"
            ));
        }
        check_body(&format!("the body of the comment on {path}"), &c.body)?;
        return Ok(InlineComment {
            path: c.path.clone(),
            line: None,
            file_level: true,
            side: None,
            start_line: None,
            start_side: None,
            body: c.body.clone(),
        });
    }
    let line = match c.line {
        None => {
            return Err(format!(
                "the comment on {path} needs a line (or subject_type file for the whole file)"
            ))
        }
        Some(0) => return Err(format!("line must be 1 or more (comment on {path})")),
        Some(line) => line,
    };
    check_body(
        &format!("the body of the comment on {path} line {line}"),
        &c.body,
    )?;
    let side = c.side.unwrap_or(Side::Right);
    let start_line = c
        .start_line
        .filter(|&s| s != line || c.start_side.is_some_and(|ss| ss != side));
    if let Some(start) = start_line {
        if start == 0 || (start > line && c.start_side.unwrap_or(side) == side) {
            return Err(format!(
                "start_line ({start}) must be before line ({line}) on {path}"
            ));
        }
    }
    let start_side = start_line.map(|_| c.start_side.unwrap_or(side));
    let mut body = c.body.clone();
    if let Some(suggestion) = &c.suggestion {
        if side != Side::Right || start_side.is_some_and(|s| s != Side::Right) {
            return Err(format!(
                "a suggestion replaces lines of the new version: use side RIGHT (comment on {path} line {line})"
            ));
        }
        let fence = "`".repeat(fence_for(suggestion));
        let text = suggestion.strip_suffix('\n').unwrap_or(suggestion);
        body = format!("{body}\n\n{fence}suggestion\n{text}\n{fence}");
        check_body(
            &format!("the comment on {path} line {line} with its suggestion"),
            &body,
        )?;
    }
    Ok(InlineComment {
        path: c.path.clone(),
        line: Some(line),
        file_level: false,
        side: Some(side.as_str().to_owned()),
        start_line,
        start_side: start_side.map(|s| s.as_str().to_owned()),
        body,
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

/// Every comment's position against the pull request's diff; all misses in one
/// error, so nothing is posted and the caller can fix them at once.
pub(super) fn check_positions(diff: &PullDiff, comments: &[InlineComment]) -> Result<(), String> {
    let misses: Vec<String> = comments
        .iter()
        .filter_map(|c| {
            let target = match c.line {
                Some(line) if !c.file_level => Target::Lines {
                    line,
                    side: c.side.as_deref().unwrap_or("RIGHT"),
                    start: c
                        .start_line
                        .map(|s| (s, c.start_side.as_deref().unwrap_or("RIGHT"))),
                },
                _ => Target::File,
            };
            diff.check(&c.path, target).err()
        })
        .collect();
    if misses.is_empty() {
        return Ok(());
    }
    Err(format!(
        "Nothing was posted: {} of {} inline comments are not where GitHub accepts them:\n- {}",
        misses.len(),
        comments.len(),
        misses.join("\n- ")
    ))
}

/// A write that created or changed comment `c`: its audit line, and the result
/// naming it.
fn comment_landed(call: &CallContext, target: &str, what: &str, c: &CreatedComment) -> ToolResult {
    audit(call, target, &c.id.to_string(), c.author.as_deref());
    reply(c, created_comment_text(what, c))
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
    if !r.dropped_comments.is_empty() {
        text.push_str(&format!(
            "\nGitHub dropped {} comment(s) at submit because their lines are no longer in the diff:",
            r.dropped_comments.len()
        ));
        for c in &r.dropped_comments {
            let at = c
                .line
                .map(|l| format!("line {l}"))
                .unwrap_or_else(|| "file".into());
            text.push_str(&format!(
                "\n- dropped comment {} on {} {at}",
                c.id,
                echo(&c.path)
            ));
        }
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
            check_body("body", &args.body)?;
            let pr = self.parse_pr(&args.pr_url)?;
            let c = reviews::reply(
                self.github(),
                &call.credential,
                &pr,
                args.comment_id,
                &args.body,
            )
            .await
            .doing(|| format!("Could not reply to comment {} on {pr}", args.comment_id))?;
            comment_landed(
                &call,
                &format!("{pr} comment {}", args.comment_id),
                "Replied",
                &c,
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
            let comments = review_comments(&args)?;
            let pr = self.parse_pr(&args.pr_url)?;
            let github = self.github();
            let token = &call.credential;
            if !comments.is_empty() {
                let diff = diff::load(github, token, &pr).await.doing(|| {
                    format!("Could not read the diff of {pr} to check the comments' lines")
                })?;
                check_positions(&diff, &comments)?;
            }
            let event = args.event.map(ReviewEvent::as_str);
            let body = args.body.as_deref().filter(|b| !b.is_empty());
            let add_to_pending = args.add_to_pending.unwrap_or(false);
            let pending = if add_to_pending {
                reviews::find_pending_ids(github, token, &pr)
                    .await
                    .doing(|| format!("Could not look for your pending review on {pr}"))?
            } else {
                None
            };
            let has_file_comments = comments.iter().any(|c| c.file_level);
            let r = match pending {
                Some((id, node_id)) => {
                    self.add_to_pending(&call, &pr, (id, &node_id), &comments, event, body)
                        .await?
                }
                None if !has_file_comments => {
                    match reviews::create(github, token, &pr, event, body, &comments).await {
                        Ok(r) => r,
                        Err(err) => return Err(self.explain_create_failure(&call, &pr, err).await),
                    }
                }
                None => {
                    // GitHub's REST review takes line comments only: open it pending
                    // with them, add the file comments (GraphQL), then submit.
                    let lines: Vec<InlineComment> =
                        comments.iter().filter(|c| !c.file_level).cloned().collect();
                    let files: Vec<InlineComment> =
                        comments.iter().filter(|c| c.file_level).cloned().collect();
                    let opened = match reviews::create(github, token, &pr, None, None, &lines).await
                    {
                        Ok(r) => r,
                        Err(err) => return Err(self.explain_create_failure(&call, &pr, err).await),
                    };
                    audit(
                        &call,
                        &pr.to_string(),
                        &opened.id.to_string(),
                        opened.author.as_deref(),
                    );
                    self.add_to_pending(
                        &call,
                        &pr,
                        (opened.id, &opened.node_id),
                        &files,
                        event,
                        body,
                    )
                    .await?
                }
            };
            audit(
                &call,
                &pr.to_string(),
                &r.id.to_string(),
                r.author.as_deref(),
            );
            reply(
                &r,
                review_text(
                    if r.state == "PENDING" {
                        "Created pending"
                    } else {
                        "Created"
                    },
                    &r,
                ),
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
            let pr = self.parse_pr(&args.pr_url)?;
            let token = &call.credential;
            let review_id = self.pending_review_id(token, &pr, args.review_id).await?;
            let body = args.body.as_deref().filter(|b| !b.trim().is_empty());
            let r = reviews::submit(
                self.github(),
                token,
                &pr,
                review_id,
                args.event.as_str(),
                body,
            )
            .await
            .doing(|| format!("Could not submit review {review_id} on {pr}"))?;
            audit(
                &call,
                &pr.to_string(),
                &r.id.to_string(),
                r.author.as_deref(),
            );
            reply(&r, review_text("Submitted", &r))
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
            let pr = self.parse_pr(&args.pr_url)?;
            let token = &call.credential;
            let review_id = self.pending_review_id(token, &pr, args.review_id).await?;
            let r = reviews::delete(self.github(), token, &pr, review_id)
                .await
                .doing(|| format!("Could not delete review {review_id} on {pr}"))?;
            audit(
                &call,
                &pr.to_string(),
                &review_id.to_string(),
                r.author.as_deref(),
            );
            reply(&r, review_text("Deleted", &r))
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
            let comment = inline(&args.comment)?;
            let pr = self.parse_pr(&args.pr_url)?;
            let token = &call.credential;
            let github = self.github();
            let diff = diff::load(github, token, &pr)
                .await
                .doing(|| format!("Could not read the diff of {pr} to check the comment's line"))?;
            check_positions(&diff, std::slice::from_ref(&comment))?;
            let (_, node_id) = reviews::pending(github, token, &pr)
                .await
                .doing(|| "Could not find your pending review".into())?;
            let c = reviews::add_pending_comment(github, token, &node_id, &comment)
                .await
                .doing(|| format!("Could not add the comment to your pending review on {pr}"))?;
            comment_landed(&call, &pr.to_string(), "Added to your pending review", &c)
        })
        .await
    }

    #[tool(
        name = "update_pending_review_comment",
        description = "Change the body of a comment of your pending review (comment_id from get_pending_review). \
Only comments of your own pending review; submitted comments are not changed by this tool.",
        output_schema = schema_for_output::<CreatedComment>(),
        annotations(title = "Edit a pending review comment", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn update_pending_review_comment(
        &self,
        Parameters(args): Parameters<UpdatePendingCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("update_pending_review_comment", &ctx, |call| async move {
            check_body("body", &args.body)?;
            let pr = self.parse_pr(&args.pr_url)?;
            self.own_pending_comment(&call, &pr, args.comment_id)
                .await?;
            let c = reviews::update_comment(
                self.github(),
                &call.credential,
                &pr,
                args.comment_id,
                &args.body,
            )
            .await
            .doing(|| {
                format!(
                    "Could not change comment {} of your pending review on {pr}",
                    args.comment_id
                )
            })?;
            comment_landed(
                &call,
                &format!("{pr} comment {}", args.comment_id),
                "Changed",
                &c,
            )
        })
        .await
    }

    #[tool(
        name = "delete_pending_review_comment",
        description = "Delete a comment of your pending review (comment_id from get_pending_review). The review \
itself stays pending; delete_pending_review removes it whole.",
        output_schema = schema_for_output::<PendingComment>(),
        annotations(title = "Delete a pending review comment", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn delete_pending_review_comment(
        &self,
        Parameters(args): Parameters<PendingCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("delete_pending_review_comment", &ctx, |call| async move {
            let pr = self.parse_pr(&args.pr_url)?;
            let comment = self
                .own_pending_comment(&call, &pr, args.comment_id)
                .await?;
            reviews::delete_comment(self.github(), &call.credential, &pr, args.comment_id)
                .await
                .doing(|| {
                    format!(
                        "Could not delete comment {} of your pending review on {pr}",
                        args.comment_id
                    )
                })?;
            audit(
                &call,
                &format!("{pr} comment {}", args.comment_id),
                &args.comment_id.to_string(),
                None,
            );
            let text = format!(
                "Deleted comment {} ({} {}) from your pending review",
                comment.id,
                comment.path,
                comment
                    .line
                    .map(|l| format!("line {l}"))
                    .unwrap_or_else(|| "file".into())
            );
            reply(&comment, text)
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
            check_body("body", &args.body)?;
            let pr = self.parse_pr(&args.pr_url)?;
            let c = reviews::issue_comment(self.github(), &call.credential, &pr, &args.body)
                .await
                .doing(|| format!("Could not comment on {pr}"))?;
            comment_landed(&call, &pr.to_string(), "Commented", &c)
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
            check_body("body", &args.body)?;
            let thread_id = check_thread_id(&args.thread_id)?.to_owned();
            let pr = self.parse_pr(&args.pr_url)?;
            let github = self.github();
            let posted = reviews::reply(github, &call.credential, &pr, args.comment_id, &args.body)
                .await
                .doing(|| {
                    format!(
                        "Could not reply to comment {} on {pr} (the thread was not resolved)",
                        args.comment_id
                    )
                })?;
            audit(
                &call,
                &format!("{pr} comment {}", args.comment_id),
                &posted.id.to_string(),
                posted.author.as_deref(),
            );
            let outcome =
                match threads::set_resolved(github, &call.credential, &thread_id, true).await {
                    Ok(resolution) => {
                        audit(
                            &call,
                            &thread_id,
                            &thread_id,
                            resolution.resolved_by.as_deref(),
                        );
                        ReplyAndResolve {
                            reply: Some(posted),
                            resolution: Some(resolution),
                            error: None,
                        }
                    }
                    Err(err) => ReplyAndResolve {
                        reply: Some(posted),
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
            reply_partial(&outcome, text, outcome.error.is_some())
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
                return Err(ToolError::Invalid(format!(
                    "thread_ids must list 1 to {MAX_THREADS_AT_ONCE} threads"
                )));
            }
            let ids = args
                .thread_ids
                .iter()
                .map(|t| check_thread_id(t).map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?;
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
                        audit(&call, &id, &id, resolution.resolved_by.as_deref());
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
            reply_partial(&outcomes, text, failed > 0)
        })
        .await
    }
}

impl ReviewServer {
    /// Comment `comment_id` of the caller's pending review on `pr`, or an error
    /// saying it is not one (and which are).
    async fn own_pending_comment(
        &self,
        call: &CallContext,
        pr: &crate::github::PullRequestRef,
        comment_id: u64,
    ) -> Result<PendingComment, ToolError> {
        let review = reviews::pending_review(self.github(), &call.credential, pr)
            .await
            .doing(|| format!("Could not read your pending review on {pr}"))?
            .ok_or_else(|| ToolError::Invalid(format!("you have no pending review on {pr}")))?;
        let ids: Vec<String> = review.comments.iter().map(|c| c.id.to_string()).collect();
        review
            .comments
            .into_iter()
            .find(|c| c.id == comment_id)
            .ok_or_else(|| {
                ToolError::Invalid(format!(
                    "comment {comment_id} is not in your pending review {} on {pr} (its comments: {})",
                    review.id,
                    if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
                ))
            })
    }

    /// Adds `comments` to pending review `(id, node_id)`, then submits it when
    /// `event` is given. A failure after the first addition says what stands.
    async fn add_to_pending(
        &self,
        call: &CallContext,
        pr: &crate::github::PullRequestRef,
        (id, node_id): (u64, &str),
        comments: &[InlineComment],
        event: Option<&str>,
        body: Option<&str>,
    ) -> Result<ReviewOutcome, ToolError> {
        let github = self.github();
        let token = &call.credential;
        for (added, c) in comments.iter().enumerate() {
            if let Err(error) = reviews::add_pending_comment(github, token, node_id, c).await {
                return Err(ToolError::GitHub {
                    doing: format!(
                        "Your pending review {id} on {pr} holds {added} of the {} new comments; adding the one on {} failed (the review is still pending: submit_pending_review or delete_pending_review)",
                        comments.len(),
                        echo(&c.path)
                    ),
                    error,
                });
            }
        }
        match event {
            Some(event) => reviews::submit(github, token, pr, id, event, body)
                .await
                .doing(|| format!("Your pending review {id} on {pr} holds the comments, but submitting it failed (it is still pending)")),
            None => {
                let review = reviews::pending_review(github, token, pr)
                    .await
                    .doing(|| format!("The comments were added to your pending review {id} on {pr}, but reading it back failed"))?;
                let comments = review
                    .map(|r| r.comments)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| CreatedComment {
                        id: c.id,
                        node_id: c.node_id,
                        url: String::new(),
                        in_reply_to_id: None,
                        author: call.token.login.clone(),
                    })
                    .collect();
                Ok(ReviewOutcome {
                    id,
                    node_id: node_id.to_owned(),
                    state: "PENDING".into(),
                    url: None,
                    author: call.token.login.clone(),
                    comments,
                    dropped_comments: Vec::new(),
                })
            }
        }
    }

    /// GitHub's refusal of a new review, with the caller's pending review named
    /// when that is the cause (one pending review per user and pull request).
    async fn explain_create_failure(
        &self,
        call: &CallContext,
        pr: &crate::github::PullRequestRef,
        error: crate::github::GitHubError,
    ) -> ToolError {
        let pending_conflict = matches!(&error, crate::github::GitHubError::Unexpected { status: 422, message } if message.contains("pending review"));
        if pending_conflict {
            if let Ok(Some((id, _))) =
                reviews::find_pending_ids(self.github(), &call.credential, pr).await
            {
                return ToolError::Invalid(format!(
                    "Nothing was posted: you already have a pending review on {pr} (review {id}) and GitHub allows one per person. \
Add these comments to it with add_to_pending: true, read it with get_pending_review, or finish it with submit_pending_review / delete_pending_review."
                ));
            }
        }
        ToolError::GitHub {
            doing: format!("Could not create the review on {pr}"),
            error,
        }
    }

    /// `given`, or the id of the caller's pending review on `pr`.
    async fn pending_review_id(
        &self,
        token: &crate::github::Credential,
        pr: &crate::github::PullRequestRef,
        given: Option<u64>,
    ) -> Result<u64, ToolError> {
        match given {
            Some(id) => Ok(id),
            None => reviews::pending(self.github(), token, pr)
                .await
                .map(|(id, _)| id)
                .doing(|| "Could not find your pending review".into()),
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
            let id = check_thread_id(&args.thread_id)?;
            let verb = if resolve { "resolve" } else { "unresolve" };
            let t = threads::set_resolved(self.github(), &call.credential, id, resolve)
                .await
                .doing(|| format!("Could not {verb} thread {id}"))?;
            audit(&call, id, id, t.resolved_by.as_deref());
            let state = if t.is_resolved {
                "resolved"
            } else {
                "unresolved"
            };
            reply(
                &t,
                format!("Thread {} on {} is {state}", t.thread_id, t.path),
            )
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
            line: Some(line),
            subject_type: None,
            suggestion: None,
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
    fn a_suggestion_becomes_a_block_no_text_of_it_can_close() {
        let mut with = c(12, Some(10));
        with.suggestion = Some("let x = ```y```;\n".into());
        let r = inline(&with).unwrap();
        assert_eq!(
            r.body, "x\n\n````suggestion\nlet x = ```y```;\n````",
            "the fence is longer than any run in the suggestion"
        );
        with.side = Some(Side::Left);
        assert!(inline(&with).unwrap_err().contains("side RIGHT"));
    }

    #[test]
    fn a_file_comment_takes_no_line_and_a_line_comment_needs_one() {
        let mut file = c(1, None);
        file.line = None;
        file.subject_type = Some(SubjectType::File);
        let r = inline(&file).unwrap();
        assert!(r.file_level && r.line.is_none() && r.side.is_none());
        file.line = Some(3);
        assert!(inline(&file).unwrap_err().contains("takes no line"));
        let mut no_line = c(1, None);
        no_line.line = None;
        assert!(inline(&no_line).unwrap_err().contains("needs a line"));
    }

    #[test]
    fn every_miss_is_named_and_nothing_passes_with_one() {
        let diff = PullDiff::new(
            [(
                "src/a.rs".to_owned(),
                Some("@@ -1,3 +1,4 @@\n a\n+b\n c\n d\n".to_owned()),
            )],
            true,
        );
        let ok = inline(&c(2, None)).unwrap();
        let far = inline(&c(90, None)).unwrap();
        let mut other = c(1, None);
        other.path = "README.md".into();
        let other = inline(&other).unwrap();
        assert!(check_positions(&diff, std::slice::from_ref(&ok)).is_ok());
        let e = check_positions(&diff, &[ok, far, other]).unwrap_err();
        assert!(e.starts_with("Nothing was posted: 2 of 3"), "{e}");
        assert!(e.contains("line 90 (RIGHT) is not part of the diff; the nearest commentable RIGHT lines are 1-4"), "{e}");
        assert!(
            e.contains("\"README.md\" is not a file of this pull request"),
            "{e}"
        );
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
