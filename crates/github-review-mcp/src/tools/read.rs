//! Read tools (annotated `readOnlyHint: true`).

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router, ErrorData, RoleServer};

use super::args::{
    in_range, ChecksArgs, FetchArgs, FetchPlan, GetPullRequestArgs, ListThreadsArgs, OutputFormat,
    PrArgs, ResolvePrArgs, SelectStrategy, ThreadOrder, WhoamiArgs,
};
use super::error::{reply, structured, Doing, ToolError, ToolResult};
use super::fetch_view;
use super::logging;
use super::resources::{self, Kind};
use super::{git, ReviewServer};
use crate::format::{
    checks_markdown, pending_review_markdown, pull_request_markdown, review_comments_markdown,
    reviews_markdown, thread_markdown, thread_markdown_bound, threads_markdown,
};
use crate::github::check_logs;
use crate::github::comments::fetch_review_comments;
use crate::github::pulls::{self, DetailOptions};
use crate::github::threads::{self, ThreadFilter};
use crate::github::{reviews, user, GitHubError};
use crate::model::{
    OpenPullRequest, PendingReviewResult, PullRequestChecks, PullRequestDetails,
    PullRequestReviews, ResolvedPullRequest, ReviewComments, ReviewCommentsResult, ReviewThread,
    ThreadList,
};
use crate::untrusted::echo;

/// `whoami`'s answer: who the call's token belongs to, never the token.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Whoami {
    pub login: String,
    pub host: String,
    /// Where the server found the token: `meta`, `header`, `bearer` or `server`.
    pub token_source: crate::auth::TokenSource,
    pub token_kind: crate::auth::TokenKind,
    /// Eight hex digits of a keyed hash of the token, as in the server's logs.
    pub fingerprint: String,
    /// `X-OAuth-Scopes` as GitHub sent it; null for tokens without scopes
    /// (fine-grained and GitHub App tokens).
    pub scopes: Option<String>,
    pub rate_limit_core: user::Budget,
    pub rate_limit_graphql: Option<user::Budget>,
}

/// A Markdown call carries the text and the counts; `json` and `both` add every
/// thread to structuredContent and its JSON text to the content (the spec's advice
/// for clients that read only `content`). See `ReviewCommentsResult`.
fn render_review_comments(result: &ReviewComments, output: OutputFormat) -> ToolResult {
    let with_threads = !matches!(output, OutputFormat::Markdown);
    let structured_result = result.result(with_threads);
    let value = serde_json::to_value(&structured_result)
        .map_err(|err| ToolError::Invalid(format!("internal error: {err}")))?;
    let text = match output {
        OutputFormat::Markdown => vec![review_comments_markdown(result)],
        OutputFormat::Json => vec![value.to_string()],
        OutputFormat::Both => vec![review_comments_markdown(result), value.to_string()],
    };
    Ok(structured(value, text))
}

/// Picks the pull request among `candidates` (open PRs of the branch).
fn select(
    mut candidates: Vec<OpenPullRequest>,
    strategy: SelectStrategy,
    owner: &str,
    branch: &str,
) -> Result<(OpenPullRequest, Vec<OpenPullRequest>), String> {
    if candidates.is_empty() {
        return Err(format!(
            "no open pull request has head branch {} in {owner}'s repository or its forks",
            echo(branch)
        ));
    }
    let all = if candidates.len() > 1 {
        candidates.clone()
    } else {
        Vec::new()
    };
    let chosen = match strategy {
        SelectStrategy::Branch => {
            let same_owner = candidates
                .iter()
                .position(|p| p.head_owner.as_deref() == Some(owner));
            candidates.swap_remove(same_owner.unwrap_or(0))
        }
        SelectStrategy::Latest => candidates
            .into_iter()
            .max_by(|a, b| a.updated_at.cmp(&b.updated_at))
            .expect("not empty"),
        SelectStrategy::First => candidates
            .into_iter()
            .min_by_key(|p| p.number)
            .expect("not empty"),
        SelectStrategy::Error if candidates.len() > 1 => {
            let numbers: Vec<String> = candidates
                .iter()
                .map(|p| format!("#{} ({})", p.number, p.url))
                .collect();
            return Err(format!(
                "{} open pull requests match branch {}: {}; choose one, or use select_strategy latest/first",
                numbers.len(),
                echo(branch),
                numbers.join(", ")
            ));
        }
        SelectStrategy::Error => candidates.swap_remove(0),
    };
    Ok((chosen, all))
}

#[tool_router(router = read_tools, vis = "pub(super)")]
impl ReviewServer {
    #[tool(
        name = "fetch_pr_review_comments",
        description = "Fetch every review comment of a GitHub pull request, grouped by review thread: \
file path, line range, diff hunk, author, resolved/outdated state and all replies. \
Use it to read what reviewers asked for before changing code. Returns compact Markdown by default \
(output=json or both adds every thread to structuredContent, described by the output schema; \
the default Markdown call carries only the counts there). Thread ids resolve threads; \
numeric comment ids are what replies take. Filters: include_resolved, include_outdated, path, author.",
        output_schema = schema_for_output::<ReviewCommentsResult<'static>>(),
        annotations(title = "Fetch PR review comments", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn fetch_pr_review_comments(
        &self,
        Parameters(args): Parameters<FetchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let progress_ctx = ctx.clone();
        self.run("fetch_pr_review_comments", &ctx, |call| async move {
            let FetchPlan { mut options, since, budget, start } = args.plan()?;
            let pr = self.parse_pr(&args.pr_url)?;
            let reporter = self.progress_reporter(&progress_ctx, &mut options);
            let fetched =
                fetch_review_comments(self.github(), &call.credential, &pr, &options).await;
            drop(options);
            if let Some(reporter) = reporter {
                // Every progress notification goes out before the result.
                let _ = reporter.await;
            }
            if let Some(reason) = fetched.as_ref().ok().and_then(|r| r.truncated_reason.clone()) {
                self.log_at(
                    &progress_ctx,
                    logging::Level::Warning,
                    serde_json::json!({ "message": "the answer is incomplete", "pr": pr.to_string(), "reason": reason }),
                )
                .await;
            }
            if let Ok(result) = &fetched {
                let comments: usize = result.threads.iter().map(|t| t.comments.len()).sum();
                self.log_work(
                    &progress_ctx,
                    serde_json::json!({
                        "message": "review threads read",
                        "pr": pr.to_string(),
                        "threads": result.threads.len(),
                        "comments": comments,
                        "truncated": result.truncated,
                    }),
                )
                .await;
            }
            let mut result = fetched.doing(|| format!("Could not fetch review comments of {pr}"))?;
            let output = args.output.unwrap_or_default();
            let token = call.credential.token.id();
            let pr_key = pr.to_string();
            let state = self.shared.state.as_ref();
            let mut threads = std::mem::take(&mut result.threads);
            if let Some(since) = since {
                result.filtered_out_threads += fetch_view::since(&mut threads, since);
            }
            // The snapshot of everything this read covers (before changes_since
            // narrows it), named on the read's last page.
            let changes = fetch_view::save(state, token, &pr_key, &threads).await;
            if let Some(cursor) = args.changes_since.as_deref() {
                let before = threads.len();
                result.gone_thread_ids =
                    fetch_view::changed_since(state, token, &pr_key, cursor, &mut threads).await?;
                result.filtered_out_threads += (before - threads.len()) as u32;
            }
            if args.order == Some(ThreadOrder::NewestFirst) {
                fetch_view::newest_first(&mut threads);
            }
            let pr_url = result.pr.url.clone();
            let cost = |t: &ReviewThread| match output {
                OutputFormat::Markdown => thread_markdown(t, &pr_url).len(),
                OutputFormat::Json => serde_json::to_vec(t).map_or(0, |v| v.len()),
                OutputFormat::Both => {
                    thread_markdown(t, &pr_url).len() + serde_json::to_vec(t).map_or(0, |v| v.len())
                }
            };
            // Markdown (the default) has a cheap upper bound: most answers skip measuring.
            let bound = matches!(output, OutputFormat::Markdown)
                .then_some(&thread_markdown_bound as &dyn Fn(&ReviewThread) -> usize);
            let page = fetch_view::page(threads, start.as_ref(), budget, cost, bound)?;
            result.threads = page.threads;
            result.next_cursor = page.next.as_ref().map(fetch_view::Position::encode);
            if page.next.is_none() {
                match changes {
                    Ok(cursor) => result.changes_cursor = Some(cursor),
                    Err(e) => tracing::warn!(error = %e, "could not store the changes_since snapshot"),
                }
            }
            Ok(resources::link(
                render_review_comments(&result, output)?,
                &pr,
                Kind::Threads,
            ))
        })
        .await
    }

    #[tool(
        name = "whoami",
        description = "Show which GitHub account this server acts as for you: login, host, where your token \
came from (meta, header, bearer or server), its kind, a short fingerprint, OAuth scopes and the remaining \
core and GraphQL rate limits. Never shows the token. Use it to check a token before other tools.",
        output_schema = schema_for_output::<Whoami>(),
        annotations(title = "Who am I on GitHub", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn whoami(
        &self,
        Parameters(_args): Parameters<WhoamiArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("whoami", &ctx, |call| async move {
            let github = self.github();
            let token = &call.credential;
            let (who, limits) = tokio::join!(
                user::authenticated_user(github, token),
                user::rate_limits(github, token)
            );
            let result = match (who, limits) {
                (Ok((user, scopes)), Ok(limits)) => Ok::<_, GitHubError>(Whoami {
                    login: user.login,
                    host: github.host().display_name(),
                    token_source: call.token.source,
                    token_kind: token.token.kind(),
                    fingerprint: token.token.id().short(),
                    scopes,
                    rate_limit_core: limits.core,
                    rate_limit_graphql: limits.graphql,
                }),
                (Err(err), _) | (_, Err(err)) => Err(err),
            };
            let w = result.doing(|| "Could not identify the token".into())?;
            reply(&w, serde_json::to_string_pretty(&w).unwrap_or_default())
        })
        .await
    }

    #[tool(
        name = "resolve_open_pr_url",
        description = "Find the open pull request of a branch and return its URL (what the other tools take as pr_url). \
Give owner, repo and branch; over stdio they default to the git repository the server runs in (origin remote, \
current branch). select_strategy picks among several matches: branch (default, exact head owner:branch), latest, first, error.",
        output_schema = schema_for_output::<ResolvedPullRequest>(),
        annotations(title = "Find the open PR of a branch", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn resolve_open_pr_url(
        &self,
        Parameters(args): Parameters<ResolvePrArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let over_http = ctx.extensions.get::<http::request::Parts>().is_some();
        self.run("resolve_open_pr_url", &ctx, |call| async move {
            let (owner, repo, branch, source) = match (args.owner, args.repo, args.branch) {
                (Some(o), Some(r), Some(b)) => (o, r, b, "arguments"),
                _ if over_http => {
                    return Err("owner, repo and branch are required over HTTP: the server's directory is not yours".into())
                }
                (o, r, b) => match git::local_repository().await {
                    Ok(((host, go, gr), gb)) => {
                        if o.is_none() && r.is_none() && host != self.github().host().display_name() {
                            return Err(ToolError::Invalid(format!(
                                "the origin remote is on {host}, but this server is configured for {}: pass owner and repo",
                                self.github().host().display_name()
                            )));
                        }
                        (o.unwrap_or(go), r.unwrap_or(gr), b.unwrap_or(gb), "git")
                    }
                    Err(message) => return Err(message.into()),
                },
            };
            let token = &call.credential;
            let strategy = args.select_strategy.unwrap_or_default();
            let listing = || format!("Could not list pull requests of {owner}/{repo}");
            let mut candidates = pulls::open_pulls(self.github(), token, &owner, &repo, Some((&owner, &branch)))
                .await
                .doing(listing)?;
            if candidates.is_empty() {
                // A fork's PR: the head owner differs, so filter all open PRs by branch name.
                let all = pulls::open_pulls(self.github(), token, &owner, &repo, None).await.doing(listing)?;
                candidates = all.into_iter().filter(|p| p.head_ref == branch).collect();
            }
            let strategy_name = match strategy {
                SelectStrategy::Branch => "branch",
                SelectStrategy::Latest => "latest",
                SelectStrategy::First => "first",
                SelectStrategy::Error => "error",
            };
            let (pr, candidates) = select(candidates, strategy, &owner, &branch)?;
            let r = ResolvedPullRequest {
                pr_url: pr.url.clone(),
                pr,
                strategy: strategy_name.to_owned(),
                candidates,
                source: source.to_owned(),
            };
            let text = format!("{} — #{} {} ({} ← {})", r.pr_url, r.pr.number, r.pr.title, r.pr.base_ref, r.pr.head_ref);
            reply(&r, text)
        })
        .await
    }

    #[tool(
        name = "get_pull_request",
        description = "A pull request's title, state, draft, author, base/head, mergeability, body, review decision, \
requested reviewers, and its changed files with additions/deletions; include_patch adds each file's diff \
(bounded by max_patch_bytes).",
        output_schema = schema_for_output::<PullRequestDetails>(),
        annotations(title = "Get a pull request", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_pull_request(
        &self,
        Parameters(args): Parameters<GetPullRequestArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("get_pull_request", &ctx, |call| async move {
            let options = DetailOptions {
                include_patch: args.include_patch.unwrap_or(false),
                max_patch_bytes: in_range(
                    "max_patch_bytes",
                    args.max_patch_bytes,
                    1,
                    1_000_000,
                    20_000,
                )? as usize,
                max_files: in_range("max_files", args.max_files, 1, 3000, 300)? as usize,
            };
            let pr = self.parse_pr(&args.pr_url)?;
            let details = pulls::details(self.github(), &call.credential, &pr, &options)
                .await
                .doing(|| format!("Could not get {pr}"))?;
            Ok(resources::link(
                reply(&details, pull_request_markdown(&details))?,
                &pr,
                Kind::Summary,
            ))
        })
        .await
    }

    #[tool(
        name = "list_pr_reviews",
        description = "Every review of a pull request: state (APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, \
or PENDING for your own unsubmitted one), author, body, submitted_at and how many inline comments it has.",
        output_schema = schema_for_output::<PullRequestReviews>(),
        annotations(title = "List PR reviews", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn list_pr_reviews(
        &self,
        Parameters(args): Parameters<PrArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("list_pr_reviews", &ctx, |call| async move {
            let pr = self.parse_pr(&args.pr_url)?;
            let list = reviews::list(self.github(), &call.credential, &pr)
                .await
                .doing(|| format!("Could not list the reviews of {pr}"))?;
            reply(&list, reviews_markdown(&list))
        })
        .await
    }

    #[tool(
        name = "get_pending_review",
        description = "Your pending (unsubmitted) review on a pull request, with each comment's id, file, line and \
body; null when you have none. GitHub allows one pending review per person: read it here, change it with \
update_pending_review_comment / delete_pending_review_comment / add_pending_review_comment, then submit_pending_review.",
        output_schema = schema_for_output::<PendingReviewResult>(),
        annotations(title = "Get your pending review", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_pending_review(
        &self,
        Parameters(args): Parameters<PrArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("get_pending_review", &ctx, |call| async move {
            let pr = self.parse_pr(&args.pr_url)?;
            let review = reviews::pending_review(self.github(), &call.credential, &pr)
                .await
                .doing(|| format!("Could not read your pending review on {pr}"))?;
            let result = PendingReviewResult {
                pr_url: pr.web_url(self.github().host()),
                review,
            };
            reply(&result, pending_review_markdown(&result))
        })
        .await
    }

    #[tool(
        name = "list_review_threads",
        description = "Review threads of a pull request with their id, location, state and first comment only: the \
cheap way to find open threads (is_resolved=false) before fetching bodies. Filters: is_resolved, is_outdated, \
path (file, or directory ending in /), author (who opened the thread). Paged: pass next_cursor back as cursor.",
        output_schema = schema_for_output::<ThreadList>(),
        annotations(title = "List review threads", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn list_review_threads(
        &self,
        Parameters(args): Parameters<ListThreadsArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("list_review_threads", &ctx, |call| async move {
            let per_page = in_range("per_page", args.per_page, 1, 100, 100)?;
            if args
                .cursor
                .as_ref()
                .is_some_and(|c| c.len() > 512 || c.is_empty())
            {
                return Err("cursor must be a next_cursor value from a previous call".into());
            }
            let pr = self.parse_pr(&args.pr_url)?;
            let filter = ThreadFilter {
                is_resolved: args.is_resolved,
                is_outdated: args.is_outdated,
                path: args.path.filter(|p| !p.is_empty()),
                author: args.author.filter(|a| !a.is_empty()),
            };
            let list = threads::list(
                self.github(),
                &call.credential,
                &pr,
                &filter,
                per_page,
                args.cursor.as_deref(),
            )
            .await
            .doing(|| format!("Could not list the review threads of {pr}"))?;
            reply(&list, threads_markdown(&list))
        })
        .await
    }

    #[tool(
        name = "get_pr_checks",
        description = "Check runs and commit statuses of a pull request's head commit, summarised: overall \
success/failure/pending/none with counts, then each check with its conclusion and link. \
include_failure_details adds, for failed runs, their annotations and the end of the GitHub Actions job's log \
(bounded by max_log_bytes).",
        output_schema = schema_for_output::<PullRequestChecks>(),
        annotations(title = "Get PR checks", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn get_pr_checks(
        &self,
        Parameters(args): Parameters<ChecksArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run("get_pr_checks", &ctx, |call| async move {
            let log_bytes = args.log_bytes()?;
            let pr = self.parse_pr(&args.pr_url)?;
            let mut checks = pulls::checks(self.github(), &call.credential, &pr)
                .await
                .doing(|| format!("Could not get the checks of {pr}"))?;
            if let Some(bytes) = log_bytes {
                check_logs::attach(self.github(), &call.credential, &pr, &mut checks, bytes).await;
            }
            Ok(resources::link(
                reply(&checks, checks_markdown(&checks))?,
                &pr,
                Kind::Checks,
            ))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(number: u32, head_owner: &str, updated: &str) -> OpenPullRequest {
        OpenPullRequest {
            number,
            title: format!("pr {number}"),
            url: format!("https://github.com/o/r/pull/{number}"),
            author: None,
            head_ref: "feature".into(),
            head_owner: Some(head_owner.into()),
            base_ref: "main".into(),
            draft: false,
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: updated.into(),
        }
    }

    #[test]
    fn strategies_choose_as_documented() {
        let prs = || {
            vec![
                open(5, "fork", "2026-03-01"),
                open(3, "o", "2026-01-01"),
                open(9, "other", "2026-02-01"),
            ]
        };
        assert_eq!(
            select(prs(), SelectStrategy::Branch, "o", "feature")
                .unwrap()
                .0
                .number,
            3
        );
        assert_eq!(
            select(prs(), SelectStrategy::Latest, "o", "feature")
                .unwrap()
                .0
                .number,
            5
        );
        assert_eq!(
            select(prs(), SelectStrategy::First, "o", "feature")
                .unwrap()
                .0
                .number,
            3
        );
        let err = select(prs(), SelectStrategy::Error, "o", "feature").unwrap_err();
        assert!(
            err.contains("3 open pull requests") && err.contains("#9"),
            "{err}"
        );
        assert_eq!(
            select(
                vec![open(1, "o", "x")],
                SelectStrategy::Error,
                "o",
                "feature"
            )
            .unwrap()
            .0
            .number,
            1
        );
        assert!(select(vec![], SelectStrategy::Branch, "o", "feature")
            .unwrap_err()
            .contains("no open pull request"));
        assert_eq!(
            select(prs(), SelectStrategy::Branch, "o", "feature")
                .unwrap()
                .1
                .len(),
            3
        );
    }
}
