//! Prompts: the review loops an agent runs, as slash commands a client can offer.
//! Each takes a pull request (`owner/repo#123` or its URL) and embeds what it needs
//! as resources, read with the caller's token.

use rmcp::model::{
    ErrorData, GetPromptResult, ListPromptsResult, Prompt, PromptArgument, PromptMessage,
    ResourceContents, Role,
};
use rmcp::service::RequestContext;
use rmcp::RoleServer;
use serde_json::{Map, Value};

use super::resources::{self, Kind};
use super::ReviewServer;

pub const ADDRESS_REVIEW: &str = "address_review";
pub const REVIEW_PULL_REQUEST: &str = "review_pull_request";
pub const REVIEW_STATUS: &str = "review_status";

fn pr_argument() -> PromptArgument {
    PromptArgument::new("pr")
        .with_title("Pull request")
        .with_description("owner/repo#123 or the pull request's URL")
        .with_required(true)
}

pub fn list() -> ListPromptsResult {
    let prompts = vec![
        Prompt::new(
            ADDRESS_REVIEW,
            Some("Work through a pull request's open review threads: read each, fix the code, reply, resolve."),
            Some(vec![
                pr_argument(),
                PromptArgument::new("include_resolved")
                    .with_description("true to include threads already resolved (default false)")
                    .with_required(false),
            ]),
        )
        .with_title("Address the review of a PR"),
        Prompt::new(
            REVIEW_PULL_REQUEST,
            Some("Review a pull request's diff and leave a pending review with inline comments, then submit it."),
            Some(vec![
                pr_argument(),
                PromptArgument::new("focus")
                    .with_description("what to look at most (e.g. security, tests, API design)")
                    .with_required(false),
            ]),
        )
        .with_title("Review a PR"),
        Prompt::new(
            REVIEW_STATUS,
            Some("What is still open on a pull request, who is waiting on whom, and how its checks stand."),
            Some(vec![pr_argument()]),
        )
        .with_title("Review status of a PR"),
    ];
    ListPromptsResult {
        prompts,
        ttl_ms: Some(3_600_000),
        cache_scope: Some(rmcp::model::CacheScope::Public),
        ..Default::default()
    }
}

/// One of our Markdown resources, embedded in a prompt message.
fn markdown_resource(uri: String, text: String) -> PromptMessage {
    PromptMessage::new_resource(
        Role::User,
        uri,
        Some("text/markdown".into()),
        Some(text),
        None,
        None,
        None,
    )
}

fn argument<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

impl ReviewServer {
    /// Reads one of our resources for a prompt, as an embedded resource message.
    async fn embed(
        &self,
        uri: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<PromptMessage, ErrorData> {
        let read = self.read(uri, ctx).await?;
        let text = read
            .contents
            .into_iter()
            .find_map(|c| match c {
                ResourceContents::TextResourceContents { text, .. } => Some(text),
                _ => None,
            })
            .unwrap_or_default();
        Ok(markdown_resource(uri.to_owned(), text))
    }

    pub(super) async fn prompt(
        &self,
        name: &str,
        args: Option<Map<String, Value>>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<GetPromptResult, ErrorData> {
        let args = args.unwrap_or_default();
        let known = [ADDRESS_REVIEW, REVIEW_PULL_REQUEST, REVIEW_STATUS];
        if !known.contains(&name) {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown prompt {}; the prompts are {}",
                    crate::untrusted::echo(name),
                    known.join(", ")
                ),
                None,
            ));
        }
        let Some(pr_text) = argument(&args, "pr") else {
            return Err(ErrorData::invalid_params(
                "the argument pr is required: owner/repo#123 or the pull request's URL",
                None,
            ));
        };
        let pr = self
            .parse_pr(pr_text)
            .map_err(|_| ErrorData::invalid_params(format!("pr {} is not a pull request of this server's host: use owner/repo#123 or its URL", crate::untrusted::echo(pr_text)), None))?;
        let threads = resources::uri(&pr, Kind::Threads);
        let (description, messages) = match name {
            ADDRESS_REVIEW => {
                let include_resolved = argument(&args, "include_resolved")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                let steps = format!(
                    "Address the review of {pr}. The review threads are attached{}.\n\n\
For each open thread, in order:\n\
1. Read the comment, its file and line range, and the diff hunk; read the code around it.\n\
2. Decide: change the code as asked, or explain why not.\n\
3. After changing the code, answer with `reply_to_review_comment` (the thread's last comment id): say what you changed.\n\
4. When the thread is done, `resolve_review_thread` with the thread id.\n\n\
Skip outdated threads whose code no longer exists, but say so in a reply. Do not resolve a thread you did not address. \
Finish with a short summary of what you changed and what is left for a human.",
                    if include_resolved { " (resolved ones included)" } else { " (open ones only)" }
                );
                let mut messages = vec![PromptMessage::new_text(Role::User, steps)];
                if include_resolved {
                    messages.push(self.embed(&threads, ctx).await?);
                } else {
                    messages.push(self.open_threads(&pr, ctx).await?);
                }
                (
                    "Steps and the open review threads of the pull request",
                    messages,
                )
            }
            REVIEW_PULL_REQUEST => {
                let focus = argument(&args, "focus")
                    .map(|f| format!(" Pay most attention to: {}.", crate::untrusted::echo(f)))
                    .unwrap_or_default();
                let steps = format!(
                    "Review {pr}.{focus} Its summary is attached.\n\n\
1. Read the diff: `get_pull_request` with include_patch=true.\n\
2. Read what others already said: `list_review_threads`, so you do not repeat it.\n\
3. Start a pending review with `create_pr_review` (no event) and add inline comments with `add_pending_review_comment` on lines inside the diff hunks; one comment per problem, with a concrete fix.\n\
4. Submit with `submit_pending_review`: REQUEST_CHANGES if something must change, COMMENT otherwise, APPROVE only if it is ready."
                );
                let messages = vec![
                    PromptMessage::new_text(Role::User, steps),
                    self.embed(&resources::uri(&pr, Kind::Summary), ctx).await?,
                ];
                (
                    "Steps to review the pull request, and its summary",
                    messages,
                )
            }
            _ => {
                let steps = format!(
                    "Give the review status of {pr} from the attached summary, checks and open threads: \
which threads are open and whose move it is (the author's or the reviewer's), who was asked to review and has not, \
the review decision, and which checks fail. Be brief; end with the next step for each person."
                );
                let messages = vec![
                    PromptMessage::new_text(Role::User, steps),
                    self.embed(&resources::uri(&pr, Kind::Summary), ctx).await?,
                    self.embed(&resources::uri(&pr, Kind::Checks), ctx).await?,
                    self.open_threads(&pr, ctx).await?,
                ];
                (
                    "The pull request's summary, checks and open threads",
                    messages,
                )
            }
        };
        Ok(GetPromptResult::new(messages).with_description(description))
    }

    /// The unresolved threads of `pr`, as an embedded resource.
    async fn open_threads(
        &self,
        pr: &crate::github::PullRequestRef,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<PromptMessage, ErrorData> {
        let uri = resources::uri(pr, Kind::Threads);
        let call = super::context::CallContext::from_request(ctx, &self.shared)
            .map_err(|(_, err)| ErrorData::invalid_request(err.to_string(), None))?;
        let options = crate::github::comments::FetchOptions {
            include_resolved: false,
            ..Default::default()
        };
        let result = crate::github::comments::fetch_review_comments(
            self.github(),
            &call.credential,
            pr,
            &options,
        )
        .await
        .map_err(|e| match e {
            crate::github::GitHubError::NotFound(_) => ErrorData::invalid_params(
                format!("no pull request {pr} (or your token cannot see it)"),
                None,
            ),
            other => ErrorData::internal_error(
                format!("could not read the threads of {pr}: {other}"),
                None,
            ),
        })?;
        Ok(markdown_resource(
            uri,
            crate::format::review_comments_markdown(&result),
        ))
    }
}
