//! `completion/complete`: pull requests for the prompts' `pr` argument and the
//! resource templates' `number`, from the caller's view of GitHub (open pull
//! requests of the repository typed so far). Bounded (100 values, one page of
//! GitHub's answer) and cached per token for a minute.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmcp::model::{CompleteRequestParams, CompleteResult, CompletionInfo, ErrorData, Reference};
use rmcp::service::RequestContext;
use rmcp::RoleServer;

use super::context::CallContext;
use super::ReviewServer;
use crate::auth::TokenId;

const CACHE_FOR: Duration = Duration::from_secs(60);

/// (token, `owner/repo`) → when it was read, the open pull request numbers.
type Entries = lru::LruCache<(TokenId, String), (Instant, Vec<u32>)>;

/// Open pull request numbers by token and repository, for a minute.
pub struct CompletionCache(Mutex<Entries>);

impl Default for CompletionCache {
    fn default() -> Self {
        Self(Mutex::new(lru::LruCache::new(
            NonZeroUsize::new(512).expect("non-zero"),
        )))
    }
}

impl std::fmt::Debug for CompletionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompletionCache(..)")
    }
}

fn valid_name(s: &str) -> bool {
    !matches!(s, "" | "." | "..")
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn info(mut values: Vec<String>) -> CompleteResult {
    let total = values.len() as u32;
    values.truncate(CompletionInfo::MAX_VALUES);
    let has_more = total as usize > values.len();
    let mut result = CompleteResult::default();
    if let Ok(completion) = CompletionInfo::with_pagination(values, Some(total), has_more) {
        result.completion = completion;
    }
    result
}

impl ReviewServer {
    /// Open pull request numbers of `owner/repo` that the caller can see.
    async fn open_numbers(
        &self,
        owner: &str,
        repo: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Vec<u32> {
        if !valid_name(owner) || !valid_name(repo) {
            return Vec::new();
        }
        let Ok(call) = CallContext::from_request(ctx, &self.shared) else {
            return Vec::new();
        };
        let key = (call.token.token.id(), format!("{owner}/{repo}"));
        if let Some((at, numbers)) = self
            .shared
            .completions
            .0
            .lock()
            .expect("cache lock")
            .get(&key)
        {
            if at.elapsed() < CACHE_FOR {
                return numbers.clone();
            }
        }
        let numbers: Vec<u32> = match crate::github::pulls::open_pulls(
            self.github(),
            &call.credential,
            owner,
            repo,
            None,
        )
        .await
        {
            Ok(pulls) => pulls.into_iter().map(|p| p.number).take(300).collect(),
            Err(err) => {
                tracing::debug!(error_kind = err.kind(), "completion: no open pull requests");
                Vec::new()
            }
        };
        self.shared
            .completions
            .0
            .lock()
            .expect("cache lock")
            .put(key, (Instant::now(), numbers.clone()));
        numbers
    }

    pub(super) async fn complete_argument(
        &self,
        request: CompleteRequestParams,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let value = request.argument.value.trim();
        match (&request.r#ref, request.argument.name.as_str()) {
            (Reference::Prompt(_), "pr") => {
                // `owner/repo#12…`: the open pull requests of that repository.
                let Some((repo_path, number)) = value.split_once('#') else {
                    return Ok(info(Vec::new()));
                };
                let Some((owner, repo)) = repo_path.split_once('/') else {
                    return Ok(info(Vec::new()));
                };
                let numbers = self.open_numbers(owner, repo, ctx).await;
                Ok(info(
                    numbers
                        .into_iter()
                        .map(|n| n.to_string())
                        .filter(|n| n.starts_with(number))
                        .map(|n| format!("{owner}/{repo}#{n}"))
                        .collect(),
                ))
            }
            (Reference::Prompt(_), "include_resolved") => Ok(info(
                ["false", "true"]
                    .into_iter()
                    .filter(|v| v.starts_with(value))
                    .map(String::from)
                    .collect(),
            )),
            (Reference::Resource(_), "number") => {
                let context = request.context.as_ref().and_then(|c| c.arguments.as_ref());
                let get = |name: &str| {
                    context
                        .and_then(|a| a.get(name))
                        .map(String::as_str)
                        .unwrap_or("")
                };
                let numbers = self.open_numbers(get("owner"), get("repo"), ctx).await;
                Ok(info(
                    numbers
                        .into_iter()
                        .map(|n| n.to_string())
                        .filter(|n| n.starts_with(value))
                        .collect(),
                ))
            }
            _ => Ok(info(Vec::new())),
        }
    }
}
