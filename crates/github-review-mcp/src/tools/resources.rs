//! Resources: a pull request's review threads (Markdown and JSON), its summary and
//! its checks, as URI templates a client can fill in and attach to a conversation.
//! Reads run with the caller's token, resolved like a tool call's; results are
//! `cacheScope: private` (one user's answer never serves another) with a short
//! `ttlMs`. A pull request that is not there is the resource-not-found error.

use rmcp::model::{
    CacheScope, ErrorData, ListResourceTemplatesResult, ReadResourceResult, ResourceContents,
    ResourceTemplate,
};
use rmcp::service::RequestContext;
use rmcp::RoleServer;

use super::context::CallContext;
use super::ReviewServer;
use crate::format::{checks_markdown, pull_request_markdown, review_comments_markdown};
use crate::github::comments::{fetch_review_comments, FetchOptions};
use crate::github::pulls::{self, DetailOptions};
use crate::github::{GitHubError, PullRequestRef};

pub const SCHEME: &str = "github-review://";
/// A summary names the files; their patches are what `get_pull_request` is for.
const SUMMARY: DetailOptions = DetailOptions {
    include_patch: false,
    max_patch_bytes: 0,
    max_files: 300,
};
/// How long a read may be treated as fresh: review threads move while people work.
pub const TTL_MS: u64 = 30_000;

/// What a resource URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Threads,
    ThreadsJson,
    Summary,
    Checks,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::Threads,
        Kind::ThreadsJson,
        Kind::Summary,
        Kind::Checks,
    ];

    fn suffix(self) -> &'static str {
        match self {
            Kind::Threads => "threads",
            Kind::ThreadsJson => "threads.json",
            Kind::Summary => "summary",
            Kind::Checks => "checks",
        }
    }

    fn mime(self) -> &'static str {
        match self {
            Kind::ThreadsJson => "application/json",
            _ => "text/markdown",
        }
    }

    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Kind::Threads => ("pr-review-threads", "Every review thread of a pull request, with file, line range, hunk, author, state and replies (Markdown)"),
            Kind::ThreadsJson => ("pr-review-threads-json", "Every review thread of a pull request as JSON (the fetch_pr_review_comments output schema)"),
            Kind::Summary => ("pr-summary", "A pull request's title, state, branches, review decision, reviewers and changed files (Markdown)"),
            Kind::Checks => ("pr-checks", "The check runs and statuses of a pull request's head commit (Markdown)"),
        }
    }
}

/// The URI of `kind` for `pr`.
pub fn uri(pr: &PullRequestRef, kind: Kind) -> String {
    format!(
        "{SCHEME}{}/{}/pull/{}/{}",
        pr.owner,
        pr.repo,
        pr.number,
        kind.suffix()
    )
}

/// Parses `github-review://{owner}/{repo}/pull/{number}/{kind}`.
pub fn parse(uri: &str) -> Option<(PullRequestRef, Kind)> {
    let rest = uri.strip_prefix(SCHEME)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [owner, repo, "pull", number, suffix] = parts.as_slice() else {
        return None;
    };
    // GitHub's owner and repository names; never `.` or `..` (a path step).
    let valid = |s: &str| {
        !matches!(s, "" | "." | "..")
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if !valid(owner) || !valid(repo) {
        return None;
    }
    let number = number.parse::<u32>().ok().filter(|n| *n > 0)?;
    let kind = Kind::ALL.into_iter().find(|k| k.suffix() == *suffix)?;
    Some((
        PullRequestRef {
            owner: (*owner).to_owned(),
            repo: (*repo).to_owned(),
            number,
        },
        kind,
    ))
}

/// A successful tool result with a link to the resource that holds the same thing,
/// so a client can attach it to a conversation or read it again later.
pub fn link(
    mut result: rmcp::model::CallToolResult,
    pr: &PullRequestRef,
    kind: Kind,
) -> rmcp::model::CallToolResult {
    if result.is_error != Some(true) {
        let (name, description) = kind.describe();
        let mut resource = rmcp::model::Resource::new(uri(pr, kind), name);
        resource.description = Some(description.into());
        resource.mime_type = Some(kind.mime().into());
        result
            .content
            .push(rmcp::model::ContentBlock::resource_link(resource));
    }
    result
}

pub fn templates() -> ListResourceTemplatesResult {
    let resource_templates = Kind::ALL
        .into_iter()
        .map(|kind| {
            let (name, description) = kind.describe();
            let mut template = ResourceTemplate::new(
                format!(
                    "{SCHEME}{{owner}}/{{repo}}/pull/{{number}}/{}",
                    kind.suffix()
                ),
                name,
            );
            template.description = Some(description.into());
            template.mime_type = Some(kind.mime().into());
            template
        })
        .collect();
    ListResourceTemplatesResult {
        resource_templates,
        ttl_ms: Some(3_600_000),
        cache_scope: Some(CacheScope::Public),
        ..Default::default()
    }
}

fn github_error(uri: &str, err: GitHubError) -> ErrorData {
    match err {
        GitHubError::NotFound(_) => ErrorData::resource_not_found(
            format!("no pull request behind {uri} (or your token cannot see it)"),
            Some(serde_json::json!({ "uri": uri })),
        ),
        other => ErrorData::internal_error(format!("could not read {uri}: {other}"), None),
    }
}

impl ReviewServer {
    pub(super) async fn read(
        &self,
        uri: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ReadResourceResult, ErrorData> {
        let Some((pr, kind)) = parse(uri) else {
            return Err(ErrorData::resource_not_found(
                format!("not a resource of this server: {}; the templates are github-review://{{owner}}/{{repo}}/pull/{{number}}/threads|threads.json|summary|checks", crate::untrusted::echo(uri)),
                Some(serde_json::json!({ "uri": uri })),
            ));
        };
        let call = CallContext::from_request(ctx, &self.shared)
            .map_err(|(_, err)| ErrorData::invalid_request(err.to_string(), None))?;
        let github = self.github();
        let credential = &call.credential;
        let text = match kind {
            Kind::Threads | Kind::ThreadsJson => {
                let result =
                    fetch_review_comments(github, credential, &pr, &FetchOptions::default())
                        .await
                        .map_err(|e| github_error(uri, e))?;
                if kind == Kind::Threads {
                    review_comments_markdown(&result)
                } else {
                    serde_json::to_string(&result)
                        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
                }
            }
            Kind::Summary => {
                let details = pulls::details(github, credential, &pr, &SUMMARY)
                    .await
                    .map_err(|e| github_error(uri, e))?;
                pull_request_markdown(&details)
            }
            Kind::Checks => {
                let checks = pulls::checks(github, credential, &pr)
                    .await
                    .map_err(|e| github_error(uri, e))?;
                checks_markdown(&checks)
            }
        };
        let mut result = ReadResourceResult::new(vec![
            ResourceContents::text(text, uri).with_mime_type(kind.mime())
        ]);
        result.ttl_ms = Some(TTL_MS);
        result.cache_scope = Some(CacheScope::Private);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip_and_strangers_are_refused() {
        let pr = PullRequestRef {
            owner: "octo-org".into(),
            repo: "hello.world".into(),
            number: 42,
        };
        for kind in Kind::ALL {
            assert_eq!(parse(&uri(&pr, kind)), Some((pr.clone(), kind)));
        }
        for bad in [
            "github-review://o/r/pull/0/threads",
            "github-review://o/r/pull/x/threads",
            "github-review://o/r/issues/1/threads",
            "github-review://o/r/pull/1/secrets",
            "github-review://o/../pull/1/threads",
            "github-review://o/r/pull/1/threads/extra",
            "https://github.com/o/r/pull/1",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let templates = templates();
        assert_eq!(templates.resource_templates.len(), 4);
        assert!(templates.resource_templates[0]
            .uri_template
            .contains("{owner}/{repo}/pull/{number}"));
    }
}
