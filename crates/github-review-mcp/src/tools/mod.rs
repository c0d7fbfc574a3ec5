//! The MCP service: tools, prompts, resources, completions and logging. Each tool
//! method is thin: resolve the call's context (request id, token), parse its
//! arguments, call `github`, render with `format`. Read tools live in `read`, write
//! tools in `write`; `filter` decides which a caller may see. `prompts`, `resources`
//! and `complete` read GitHub with the caller's token exactly as tools do.

mod args;
pub mod catalog;
mod complete;
mod context;
mod error;
mod fetch_view;
pub mod filter;
mod git;
mod logging;
mod prompts;
mod read;
pub mod resources;
mod schema;
mod write;

use std::sync::Arc;
use std::time::Instant;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams,
    CompleteResult, GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tracing::Instrument;

pub use args::{FetchArgs, OutputFormat, WhoamiArgs};
pub use context::CallContext;
pub use filter::ToolFilter;
pub use read::Whoami;

use crate::auth::TokenPolicy;
use crate::github::{GitHubClient, PullRequestRef};
use crate::metrics::{Metrics, SessionGuard};

/// What every session of the server shares: the GitHub client (one connection
/// pool per host), the token policy and the operator's tool filter. Nothing
/// per-request lives here.
#[derive(Debug)]
pub struct Shared {
    pub github: GitHubClient,
    pub tokens: TokenPolicy,
    pub tools: ToolFilter,
    pub metrics: Arc<Metrics>,
    /// Each tenant's share of the server token, requests per hour (counted in the
    /// state layer); `None`: no per-tenant limit.
    pub share_limit: Option<u64>,
    /// The cross-request state (`--state`): for `/healthz` and `/metrics`.
    pub state: Arc<dyn crate::state::Store>,
    /// Header naming the tenant for shares (else the MCP session id).
    pub tenant_header: Option<String>,
    /// Calls running now, so shutdown can let them finish.
    pub in_flight: Arc<InFlight>,
    /// Every tool call ends within this, with a result or an error saying so.
    pub call_timeout: std::time::Duration,
    /// One permit per tool call working now (`--max-concurrent-calls`); the rest wait
    /// their turn holding nothing but their arguments, so the answers in flight (and
    /// their memory) are bounded, not one per connected client.
    pub call_slots: Arc<tokio::sync::Semaphore>,
    /// Open pull requests for `completion/complete`, per token, briefly.
    pub completions: complete::CompletionCache,
}

/// Counts tool calls in progress; shutdown waits (bounded) for it to reach zero.
#[derive(Debug, Default)]
pub struct InFlight(std::sync::atomic::AtomicUsize);

/// Held for the length of one call.
pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl InFlight {
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    pub fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `true` when no call is running, or once none is within `bound`.
    pub async fn wait_idle(&self, bound: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + bound;
        while self.count() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        true
    }
}

/// The MCP server handler; one per MCP session, cheap to create.
#[derive(Clone)]
pub struct ReviewServer {
    shared: Arc<Shared>,
    /// The process's one router: a session borrows it (a clone was 7 KiB per session).
    tool_router: &'static ToolRouter<Self>,
    _session: Arc<SessionGuard>,
    /// The session's `logging/setLevel` (a request's own `_meta` level wins).
    log_level: logging::SessionLevel,
}

use error::{text_error, ToolError, ToolResult};

impl ReviewServer {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            _session: Arc::new(SessionGuard::new(shared.metrics.clone())),
            shared,
            tool_router: Self::router(),
            log_level: Default::default(),
        }
    }

    /// Every tool, with schemas made strict (`schema::make_strict`), built once per
    /// process and shared by every session.
    fn router() -> &'static ToolRouter<Self> {
        static ROUTER: std::sync::LazyLock<ToolRouter<ReviewServer>> =
            std::sync::LazyLock::new(|| {
                let mut router = ReviewServer::read_tools() + ReviewServer::write_tools();
                for route in router.map.values_mut() {
                    schema::make_strict(Arc::make_mut(&mut route.attr.input_schema));
                    if let Some(output) = route.attr.output_schema.as_mut() {
                        schema::make_strict(Arc::make_mut(output));
                    }
                }
                router
            });
        &ROUTER
    }

    /// Every tool this build has, before any filter: for `--tools` validation and
    /// the schema snapshot.
    pub fn all_tools() -> Vec<Tool> {
        let mut tools = Self::router().list_all();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        tools
    }

    fn github(&self) -> &GitHubClient {
        &self.shared.github
    }

    fn parse_pr(&self, pr_url: &str) -> Result<PullRequestRef, ToolError> {
        Ok(PullRequestRef::parse(pr_url, self.github().host())?)
    }

    /// The filter for this request: the operator's, narrowed by the HTTP headers and,
    /// for a signed-in caller, by the scopes of their token (no write scope, no writes).
    fn filter_for(&self, ctx: &RequestContext<RoleServer>) -> ToolFilter {
        let parts = ctx.extensions.get::<http::request::Parts>();
        let mut filter = self.shared.tools.narrowed_by(parts.map(|p| &p.headers));
        if let Some(signed_in) = parts.and_then(|p| p.extensions.get::<crate::auth::SignedIn>()) {
            filter.read_only |= !signed_in.has_scope(crate::auth::signin::SCOPE_WRITE);
        }
        filter
    }

    /// The names of the tools that write (need the write scope).
    pub fn write_tool_names() -> std::collections::BTreeSet<String> {
        catalog::write_tools().map(str::to_owned).collect()
    }

    /// With a progress token on the request: a channel the fetch reports its pages
    /// to, and the task that turns them into `notifications/progress`.
    fn progress_reporter(
        &self,
        ctx: &RequestContext<RoleServer>,
        options: &mut crate::github::comments::FetchOptions,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let token = ctx.meta.get_progress_token()?;
        let (tx, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<crate::github::comments::FetchProgress>();
        options.progress = Some(tx);
        let peer = ctx.peer.clone();
        Some(tokio::spawn(async move {
            while let Some(step) = rx.recv().await {
                let mut param = rmcp::model::ProgressNotificationParam::new(
                    token.clone(),
                    f64::from(step.threads),
                );
                param.total = Some(f64::from(step.total));
                param.message = Some(format!(
                    "read {} of {} review threads",
                    step.threads, step.total
                ));
                let _ = peer.notify_progress(param).await;
            }
        }))
    }

    /// Reports a fact about this request's work to a client that asked for logs.
    async fn log_work(&self, ctx: &RequestContext<RoleServer>, data: serde_json::Value) {
        self.log_at(ctx, logging::Level::Info, data).await;
    }

    async fn log_at(
        &self,
        ctx: &RequestContext<RoleServer>,
        level: logging::Level,
        data: serde_json::Value,
    ) {
        logging::send(&self.log_level, ctx, level, data).await;
    }

    /// Waits for one of the replica's call slots, counted in `calls_waiting` meanwhile.
    async fn call_slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        if let Ok(slot) = self.shared.call_slots.try_acquire() {
            return slot;
        }
        // Counted down on drop, also when the wait is cancelled or times out.
        struct Waiting<'a>(&'a prometheus_client::metrics::gauge::Gauge);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.dec();
            }
        }
        self.shared.metrics.calls_waiting.inc();
        let _waiting = Waiting(&self.shared.metrics.calls_waiting);
        let slot = self.shared.call_slots.acquire().await;
        slot.expect("the call slots are never closed")
    }

    /// Runs one tool call inside a span carrying its request id and token facts,
    /// and logs its outcome. The token itself is passed to `f`, never logged.
    async fn run<F, Fut>(
        &self,
        tool: &'static str,
        ctx: &RequestContext<RoleServer>,
        f: F,
    ) -> Result<CallToolResult, ErrorData>
    where
        F: FnOnce(CallContext) -> Fut,
        Fut: std::future::Future<Output = ToolResult>,
    {
        let _running = self.shared.in_flight.enter();
        let mut call = match CallContext::from_request(ctx, &self.shared) {
            Ok(call) => call,
            Err((request_id, err)) => {
                tracing::warn!(request_id = %request_id, tool, outcome = "auth_error", error = %err, "tool call refused");
                self.shared.metrics.tool_call(tool, "error", 0.0);
                return Ok(text_error(err.to_string()));
            }
        };
        let span = tracing::info_span!(
            "tool_call",
            request_id = %call.request_id,
            tool,
            login = call.token.login.as_deref(),
            token_source = call.token.source.as_str(),
            token_kind = call.token.token.kind().as_str(),
            token_fp = %call.token.token.id(),
        );
        call.tool = tool;
        let is_write = catalog::is_write(tool);
        let request_id = call.request_id.clone();
        let bound = self.shared.call_timeout;
        let cancelled = ctx.ct.clone();
        async move {
            let started = Instant::now();
            // A cancelled request stops at once: its future (and the paging in it)
            // is dropped, not left to run to the end.
            // GitHub's side of the call (answers, retries, waits) for a client that
            // asked for logs; nothing is collected otherwise.
            let events = logging::wants(&self.log_level, ctx, logging::Level::Debug)
                .then(|| logging::forward_github_events(self.log_level.clone(), ctx.clone()));
            let slotted = std::sync::atomic::AtomicBool::new(false);
            let work = bounded(
                bound,
                async {
                    let _slot = self.call_slot().await;
                    let waited = started.elapsed();
                    if let Some(busy) = too_late_to_start(tool, waited, bound) {
                        tracing::warn!(outcome = "busy", waited_ms = waited.as_millis() as u64, "tool call not started: it waited too long for a call slot");
                        return busy;
                    }
                    slotted.store(true, std::sync::atomic::Ordering::Relaxed);
                    // Boxed once it has its slot: a waiting call holds a small future,
                    // not the tool's (tens of KiB for the paged reads).
                    Box::pin(f(call)).await.unwrap_or_else(ToolError::into_result)
                },
                tool,
                &request_id,
                is_write,
                &slotted,
            );
            let work = async {
                match &events {
                    Some((sink, _)) => crate::github::events::scope(sink.clone(), work).await,
                    None => work.await,
                }
            };
            let result = tokio::select! {
                result = work => result,
                _ = cancelled.cancelled() => {
                    tracing::info!(outcome = "cancelled", "tool call cancelled by the client");
                    text_error(if is_write {
                        "cancelled: the write may or may not have reached GitHub; check before retrying"
                    } else {
                        "cancelled"
                    })
                }
            };
            let outcome = if result.is_error == Some(true) {
                "error"
            } else {
                "ok"
            };
            if let Some((sink, forwarder)) = events {
                drop(sink);
                // Its messages go out before the result.
                let _ = forwarder.await;
            }
            let elapsed = started.elapsed().as_secs_f64();
            self.shared.metrics.tool_call(tool, outcome, elapsed);
            tracing::info!(outcome, duration_ms = elapsed * 1e3, "tool call finished");
            logging::send(
                &self.log_level,
                ctx,
                logging::Level::Debug,
                serde_json::json!({ "message": "tool call finished", "tool": tool, "outcome": outcome, "ms": (elapsed * 1e3).round() }),
            )
            .await;
            Ok(result)
        }
        .instrument(span)
        .await
    }
}

/// Reads `arguments` as each tool's argument type and runs the checks a call makes
/// before it contacts GitHub (limits, bodies, inline comment ranges, the PR
/// reference), returning their error texts. The fuzzer's `tool_args` property: this
/// never panics and no text grows with the input.
#[doc(hidden)]
pub fn argument_errors(arguments: &[u8]) -> Vec<String> {
    fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
        serde_json::from_slice(bytes).ok()
    }
    let mut errors = Vec::new();
    if let Some(args) = parse::<FetchArgs>(arguments) {
        errors.extend(args.plan().err());
    }
    if let Some(args) = parse::<args::UpdatePendingCommentArgs>(arguments) {
        errors.extend(args::check_body("body", &args.body).err());
    }
    if let Some(args) = parse::<args::PrArgs>(arguments) {
        let host = crate::github::GitHubHost::github_com();
        errors.extend(
            PullRequestRef::parse(&args.pr_url, &host)
                .err()
                .map(|e| e.to_string()),
        );
    }
    if let Some(args) = parse::<args::ChecksArgs>(arguments) {
        errors.extend(args.log_bytes().err());
    }
    if let Some(args) = parse::<args::CreateReviewArgs>(arguments) {
        errors.extend(write::review_comments(&args).err());
    }
    if let Some(args) = parse::<args::AddPendingCommentArgs>(arguments) {
        errors.extend(write::inline(&args.comment).err());
    }
    if let Some(args) = parse::<args::IssueCommentArgs>(arguments) {
        errors.extend(args::check_body("body", &args.body).err());
    }
    if let Some(args) = parse::<args::ReplyAndResolveArgs>(arguments) {
        errors.extend(args::check_thread_id(&args.thread_id).err());
    }
    if let Some(args) = parse::<args::ThreadsArgs>(arguments) {
        errors.extend(
            args.thread_ids
                .iter()
                .filter_map(|t| args::check_thread_id(t).err()),
        );
    }
    errors
}

/// A call that got its slot with less than a quarter of the call timeout left is not
/// started: a read would likely be cut, and a write cut halfway leaves the user not
/// knowing whether it happened. Under a queue that long, shedding is the kind answer.
fn too_late_to_start(
    tool: &str,
    waited: std::time::Duration,
    bound: std::time::Duration,
) -> Option<CallToolResult> {
    (bound.saturating_sub(waited) < bound / 4).then(|| {
        text_error(format!(
            "{tool} was not started: the server was busy with other calls and it waited {:.1}s of the call timeout of {}s for its turn. Nothing was sent to GitHub; try again.",
            waited.as_secs_f64(),
            bound.as_secs()
        ))
    })
}

/// Runs a tool's future to its end, within `bound`: a panic becomes an internal
/// error (logged by the panic hook with its location only, see `telemetry`), and a
/// call past the bound is dropped with an error that says what is known about it:
/// `slotted` still false means it timed out waiting for a call slot, so nothing was
/// sent.
async fn bounded(
    bound: std::time::Duration,
    call: impl std::future::Future<Output = CallToolResult>,
    tool: &str,
    request_id: &str,
    is_write: bool,
    slotted: &std::sync::atomic::AtomicBool,
) -> CallToolResult {
    use futures::FutureExt;
    match tokio::time::timeout(bound, std::panic::AssertUnwindSafe(call).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(_panic)) => {
            tracing::error!(outcome = "panic", "tool call panicked");
            text_error(format!(
                "internal error in {tool} (request id {request_id}); the server logged where it happened and goes on serving"
            ))
        }
        Err(_elapsed) if !slotted.load(std::sync::atomic::Ordering::Relaxed) => {
            tracing::warn!(
                outcome = "call_timeout",
                "tool call waited the whole call timeout for a call slot"
            );
            text_error(format!(
                "{tool} was not started: the server was busy with other calls for the whole call timeout of {}s. Nothing was sent to GitHub; try again.",
                bound.as_secs()
            ))
        }
        Err(_elapsed) => {
            tracing::warn!(
                outcome = "call_timeout",
                "tool call exceeded the call timeout"
            );
            let outcome = if is_write {
                " GitHub may or may not have applied the change: check before trying again."
            } else {
                ""
            };
            text_error(format!(
                "{tool} did not finish within the server's call timeout of {}s (GitHub answered too slowly).{outcome}",
                bound.as_secs()
            ))
        }
    }
}

/// The server's icon: a green review speech bubble, as an SVG data URI (no fetch).
fn icon() -> rmcp::model::Icon {
    const SVG: &str = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCI+PHBhdGggZD0iTTQgNGgxNnYxMkg5bC01IDRWNHoiIGZpbGw9IiMxZjg4M2QiLz48Y2lyY2xlIGN4PSI5IiBjeT0iMTAiIHI9IjEuNSIgZmlsbD0iI2ZmZiIvPjxjaXJjbGUgY3g9IjE1IiBjeT0iMTAiIHI9IjEuNSIgZmlsbD0iI2ZmZiIvPjwvc3ZnPg==";
    let mut icon = rmcp::model::Icon::new(SVG);
    icon.mime_type = Some("image/svg+xml".into());
    icon.sizes = Some(vec!["any".into()]);
    icon
}

impl ServerHandler for ReviewServer {
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_prompts()
            .enable_resources()
            .enable_completions()
            .build();
        logging::advertise(&mut capabilities);
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("github-review-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("GitHub PR review")
                    .with_icons(vec![icon()]),
            )
            .with_instructions(format!(
                "Pull-request review tools for {}. Pass pull requests as owner/repo#123 or their URL. \
The review loop: list_review_threads (is_resolved=false) to find what is open, or fetch_pr_review_comments \
to read every thread with its hunk; fix the code; reply_to_review_comment (the thread's last comment id) to \
say what changed; resolve_review_thread (the thread id) when done; get_pr_checks for CI. To review: \
get_pull_request (include_patch=true), create_pr_review without an event for a pending review, \
add_pending_review_comment on lines inside the diff, submit_pending_review. The prompts address_review, \
review_pull_request and review_status run these loops; the resources \
github-review://{{owner}}/{{repo}}/pull/{{number}}/threads|summary|checks hold the same reads.",
                self.shared.github.host().display_name()
            ))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let filter = self.filter_for(&context);
        let mut tools: Vec<Tool> = self
            .tool_router
            .list_all()
            .into_iter()
            .filter(|t| filter.permits(t))
            .collect();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        // The list depends on the caller (headers, scopes): private to them.
        Ok(ListToolsResult {
            tools,
            ttl_ms: Some(300_000),
            cache_scope: Some(CacheScope::Private),
            ..Default::default()
        })
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(prompts::list())
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        self.prompt(&request.name, request.arguments, &context)
            .await
            .map(Into::into)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        // Every resource is a pull request's: reachable through the templates.
        Ok(ListResourcesResult {
            ttl_ms: Some(3_600_000),
            cache_scope: Some(CacheScope::Public),
            ..Default::default()
        })
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.read(&request.uri, &context).await.map(Into::into)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        self.complete_argument(request, &context).await
    }

    #[allow(deprecated)] // logging: see `logging`.
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.log_level.set(request.level);
        Ok(())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let filter = self.filter_for(&context);
        let visible = self
            .tool_router
            .get(&request.name)
            .is_some_and(|t| filter.permits(t));
        if !visible {
            return Err(ErrorData::invalid_params(
                format!("tool {:?} is not available on this server (hidden by read-only mode or the tool list, or unknown)", request.name),
                None,
            ));
        }
        self.tool_router
            .call(ToolCallContext::new(self, request, context))
            .await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tool_router
            .get(name)
            .filter(|t| self.shared.tools.permits(t))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/tools.json");

    /// Tool schemas are an API: a change must be deliberate. Review the diff, then
    /// run `UPDATE_SNAPSHOTS=1 cargo nextest run -p github-review-mcp tool_schemas`.
    #[test]
    fn argument_errors_name_the_problem_without_echoing_a_long_argument() {
        let long_path = "p/".repeat(50_000);
        let args = serde_json::json!({
            "pr_url": "acme/widgets#7",
            "body": "review",
            "comments": [{"path": long_path, "line": 0, "body": "x"}],
        });
        let errors = argument_errors(args.to_string().as_bytes());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("line must be 1 or more (comment on \"p/p/"),
            "{}",
            errors[0]
        );
        assert!(errors[0].len() < 200, "{}", errors[0].len());
        let errors = argument_errors(br#"{"pr_url": "javascript:alert(1)", "per_page": 0}"#);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(argument_errors(br#"{"pr_url": "acme/widgets#7"}"#).is_empty());
    }

    #[tokio::test]
    async fn a_panicking_call_becomes_an_internal_error_without_its_message() {
        let secret = "ghp_PanicPayloadMustNotSurface0000000000";
        let result = bounded(
            std::time::Duration::from_secs(5),
            async move { panic!("request data {secret}") },
            "whoami",
            "req-1",
            false,
            &std::sync::atomic::AtomicBool::new(true),
        )
        .await;
        assert_eq!(result.is_error, Some(true));
        let text = serde_json::to_string(&result.content).unwrap();
        assert!(
            text.contains("internal error in whoami (request id req-1)"),
            "{text}"
        );
        assert!(!text.contains("PanicPayload"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_past_the_bound_ends_with_an_error_naming_the_bound() {
        let slow = async {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            text_error("never")
        };
        let result = bounded(
            std::time::Duration::from_secs(7),
            slow,
            "add_issue_comment",
            "r",
            true,
            &std::sync::atomic::AtomicBool::new(true),
        )
        .await;
        let text = serde_json::to_string(&result.content).unwrap();
        assert!(text.contains("call timeout of 7s"), "{text}");
        assert!(text.contains("may or may not have applied"), "{text}");
        let read = bounded(
            std::time::Duration::from_secs(7),
            std::future::pending::<CallToolResult>(),
            "fetch_pr_review_comments",
            "r",
            false,
            &std::sync::atomic::AtomicBool::new(true),
        )
        .await;
        let text = serde_json::to_string(&read.content).unwrap();
        assert!(!text.contains("may or may not"), "{text}");
    }

    #[test]
    fn a_call_with_less_than_a_quarter_of_its_timeout_left_is_not_started() {
        let secs = std::time::Duration::from_secs;
        let ms = std::time::Duration::from_millis;
        assert!(too_late_to_start("whoami", ms(0), secs(60)).is_none());
        assert!(too_late_to_start("whoami", secs(45), secs(60)).is_none());
        let busy = too_late_to_start("add_issue_comment", ms(45_200), secs(60)).unwrap();
        assert_eq!(busy.is_error, Some(true));
        let text = serde_json::to_string(&busy.content).unwrap();
        assert!(text.contains("add_issue_comment was not started"), "{text}");
        assert!(
            text.contains("waited 45.2s of the call timeout of 60s"),
            "{text}"
        );
        assert!(text.contains("Nothing was sent to GitHub"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_got_a_slot_says_the_server_was_busy_and_nothing_was_sent() {
        let slots = tokio::sync::Semaphore::new(0);
        let slotted = std::sync::atomic::AtomicBool::new(false);
        let result = bounded(
            std::time::Duration::from_secs(7),
            async {
                let _slot = slots.acquire().await;
                slotted.store(true, std::sync::atomic::Ordering::Relaxed);
                text_error("never")
            },
            "add_issue_comment",
            "r",
            true,
            &slotted,
        )
        .await;
        let text = serde_json::to_string(&result.content).unwrap();
        assert!(
            text.contains("was not started: the server was busy"),
            "{text}"
        );
        assert!(text.contains("Nothing was sent to GitHub"), "{text}");
        assert!(!text.contains("may or may not"), "{text}");
    }

    #[test]
    fn tool_schemas_match_the_snapshot() {
        let current = serde_json::to_string_pretty(&ReviewServer::all_tools()).unwrap() + "\n";
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(SNAPSHOT, &current).unwrap();
            return;
        }
        let saved = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
        assert!(
            saved == current,
            "tool schemas differ from {SNAPSHOT}; if the change is intended, rerun with UPDATE_SNAPSHOTS=1"
        );
    }

    #[test]
    fn every_tool_has_schemas_descriptions_and_truthful_annotations() {
        let tools = ReviewServer::all_tools();
        let mut listed: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        let mut declared: Vec<&str> = catalog::CATALOG.iter().map(|t| t.name).collect();
        listed.sort_unstable();
        declared.sort_unstable();
        assert_eq!(listed, declared, "the router and tools/catalog.rs disagree");
        for tool in &tools {
            let a = tool.annotations.as_ref().expect("annotations");
            let is_write = catalog::is_write(&tool.name);
            assert_eq!(a.read_only_hint, Some(!is_write), "{}", tool.name);
            assert_eq!(a.open_world_hint, Some(true), "{}", tool.name);
            assert!(
                a.destructive_hint.is_some() && a.idempotent_hint.is_some(),
                "{}",
                tool.name
            );
            assert!(tool.output_schema.is_some(), "{}", tool.name);
            assert!(
                tool.description.as_ref().is_some_and(|d| d.len() > 40),
                "{}",
                tool.name
            );
            let props = tool
                .input_schema
                .get("properties")
                .and_then(|p| p.as_object());
            for (name, prop) in props.into_iter().flatten() {
                assert!(
                    prop.get("description").is_some()
                        || prop.get("$ref").is_some()
                        || prop.get("anyOf").is_some()
                        || prop.get("allOf").is_some(),
                    "{}.{name} has no description",
                    tool.name
                );
            }
        }
        let delete = tools
            .iter()
            .find(|t| t.name == "delete_pending_review")
            .unwrap();
        assert_eq!(
            delete.annotations.as_ref().unwrap().destructive_hint,
            Some(true)
        );
    }
}
