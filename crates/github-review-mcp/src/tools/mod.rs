//! The MCP tools. Each tool method is thin: resolve the call's context (request id,
//! token), parse its arguments, call `github`, render with `format`.

mod args;
mod context;

use std::sync::Arc;
use std::time::Instant;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};
use tracing::Instrument;

pub use args::{FetchArgs, OutputFormat, WhoamiArgs};
pub use context::CallContext;

use crate::auth::TokenPolicy;
use crate::format::review_comments_markdown;
use crate::github::review::fetch_review_comments;
use crate::github::{user, GitHubClient, PullRequestRef};
use crate::model::ReviewComments;

/// What every session of the server shares: the GitHub client (one connection
/// pool per host) and the token policy. Nothing per-request lives here.
#[derive(Debug)]
pub struct Shared {
    pub github: GitHubClient,
    pub tokens: TokenPolicy,
}

/// The MCP server handler; one per MCP session, cheap to create.
#[derive(Clone)]
pub struct ReviewServer {
    shared: Arc<Shared>,
    tool_router: ToolRouter<Self>,
}

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

fn text_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

fn structured(value: serde_json::Value, text: Vec<String>) -> CallToolResult {
    let mut result = CallToolResult::structured(value);
    result.content = text.into_iter().map(ContentBlock::text).collect();
    result
}

impl ReviewServer {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            tool_router: Self::tool_router(),
        }
    }

    /// Runs one tool call inside a span carrying its request id and token facts,
    /// and logs its outcome. The token itself is passed to `f`, never logged.
    async fn run<F, Fut>(
        &self,
        tool: &'static str,
        ctx: &RequestContext<RoleServer>,
        f: F,
    ) -> CallToolResult
    where
        F: FnOnce(CallContext) -> Fut,
        Fut: std::future::Future<Output = CallToolResult>,
    {
        let call = CallContext::from_request(ctx, &self.shared.tokens);
        let (request_id, call) = match call {
            Ok(call) => (call.request_id.clone(), call),
            Err((request_id, err)) => {
                tracing::warn!(request_id = %request_id, tool, outcome = "auth_error", error = %err, "tool call refused");
                return text_error(err.to_string());
            }
        };
        let span = tracing::info_span!(
            "tool_call",
            request_id = %request_id,
            tool,
            token_source = call.token.source.as_str(),
            token_kind = call.token.token.kind().as_str(),
            token_fp = %call.token.token.id(),
        );
        async move {
            let started = Instant::now();
            let result = f(call).await;
            let outcome = if result.is_error == Some(true) {
                "error"
            } else {
                "ok"
            };
            tracing::info!(
                outcome,
                duration_ms = started.elapsed().as_secs_f64() * 1e3,
                "tool call finished"
            );
            result
        }
        .instrument(span)
        .await
    }
}

#[tool_router]
impl ReviewServer {
    /// Every review comment of a pull request, grouped by review thread.
    #[tool(
        name = "fetch_pr_review_comments",
        description = "Fetch every review comment of a GitHub pull request, grouped by review thread: \
file path, line range, diff hunk, author, resolved/outdated state and all replies. \
Use it to read what reviewers asked for before changing code. Returns compact Markdown by default \
(output=json for JSON; structured JSON is always in structuredContent). Thread ids resolve threads; \
numeric comment ids are what replies take.",
        output_schema = schema_for_output::<ReviewComments>(),
        annotations(title = "Fetch PR review comments", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn fetch_pr_review_comments(
        &self,
        Parameters(args): Parameters<FetchArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(self
            .run("fetch_pr_review_comments", &ctx, |call| async move {
                let options = match args.options() {
                    Ok(options) => options,
                    Err(message) => return text_error(message),
                };
                let pr = match PullRequestRef::parse(&args.pr_url, self.shared.github.host()) {
                    Ok(pr) => pr,
                    Err(err) => return text_error(err.to_string()),
                };
                match fetch_review_comments(&self.shared.github, &call.token.token, &pr, &options)
                    .await
                {
                    Ok(result) => render_review_comments(&result, args.output.unwrap_or_default()),
                    Err(err) => {
                        tracing::info!(error_kind = err.kind(), "GitHub call failed");
                        text_error(format!("Could not fetch review comments of {pr}: {err}"))
                    }
                }
            })
            .await)
    }

    /// Who the call's token belongs to, where the server found it, and its budget.
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
        Ok(self
            .run("whoami", &ctx, |call| async move {
                let github = &self.shared.github;
                let token = &call.token.token;
                let (who, limits) = tokio::join!(
                    user::authenticated_user(github, token),
                    user::rate_limits(github, token)
                );
                let ((user, scopes), limits) = match (who, limits) {
                    (Ok(who), Ok(limits)) => (who, limits),
                    (Err(err), _) | (_, Err(err)) => {
                        tracing::info!(error_kind = err.kind(), "GitHub call failed");
                        return text_error(format!("Could not identify the token: {err}"));
                    }
                };
                let whoami = Whoami {
                    login: user.login,
                    host: github.host().display_name(),
                    token_source: call.token.source,
                    token_kind: token.kind(),
                    fingerprint: token.id().short(),
                    scopes,
                    rate_limit_core: limits.core,
                    rate_limit_graphql: limits.graphql,
                };
                match serde_json::to_value(&whoami) {
                    Ok(value) => {
                        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                        structured(value, vec![text])
                    }
                    Err(err) => text_error(format!("internal error: {err}")),
                }
            })
            .await)
    }
}

fn render_review_comments(result: &ReviewComments, output: OutputFormat) -> CallToolResult {
    let value = match serde_json::to_value(result) {
        Ok(value) => value,
        Err(err) => return text_error(format!("internal error: {err}")),
    };
    let text = match output {
        OutputFormat::Markdown => vec![review_comments_markdown(result)],
        OutputFormat::Json => vec![value.to_string()],
        OutputFormat::Both => vec![review_comments_markdown(result), value.to_string()],
    };
    structured(value, text)
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for ReviewServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("github-review-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(format!(
                "Pull-request review tools for {}. Pass pull requests as owner/repo#123 or their URL. \
Start with fetch_pr_review_comments to read a review.",
                self.shared.github.host().display_name()
            ))
    }
}
