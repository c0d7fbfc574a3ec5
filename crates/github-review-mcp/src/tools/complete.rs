//! `completion/complete`: the prompts' `pr` argument and the resource templates'
//! `owner`, `repo` and `number`, from the caller's view of GitHub: the repositories
//! they own or collaborate on, and the open pull requests of the repository typed so
//! far. Bounded (100 values, one page of GitHub's answer) and cached per token for a
//! minute.

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

/// What is cached: a repository's open pull request numbers, or the caller's
/// repositories (`owner/name`).
#[derive(Clone)]
enum Cached {
    Numbers(Vec<u32>),
    Repositories(Vec<String>),
}

/// (token, `owner/repo` or `@repositories`) → when it was read, and what.
type Entries = lru::LruCache<(TokenId, String), (Instant, Cached)>;

/// Completion answers per token, for a minute.
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

impl CompletionCache {
    fn get(&self, key: &(TokenId, String)) -> Option<Cached> {
        let mut entries = self.0.lock().expect("cache lock");
        match entries.get(key) {
            Some((at, cached)) if at.elapsed() < CACHE_FOR => Some(cached.clone()),
            _ => None,
        }
    }

    fn put(&self, key: (TokenId, String), value: Cached) {
        self.0
            .lock()
            .expect("cache lock")
            .put(key, (Instant::now(), value));
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

fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    text.to_ascii_lowercase()
        .starts_with(&prefix.to_ascii_lowercase())
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
        if let Some(Cached::Numbers(numbers)) = self.shared.completions.get(&key) {
            return numbers;
        }
        let found =
            crate::github::pulls::open_pulls(self.github(), &call.credential, owner, repo, None)
                .await;
        let numbers: Vec<u32> = match found {
            Ok(pulls) => pulls.into_iter().map(|p| p.number).take(300).collect(),
            Err(err) => {
                tracing::debug!(error_kind = err.kind(), "completion: no open pull requests");
                Vec::new()
            }
        };
        self.shared
            .completions
            .put(key, Cached::Numbers(numbers.clone()));
        numbers
    }

    /// `owner/name` of the repositories the caller owns or collaborates on.
    async fn repositories(&self, ctx: &RequestContext<RoleServer>) -> Vec<String> {
        let Ok(call) = CallContext::from_request(ctx, &self.shared) else {
            return Vec::new();
        };
        let key = (call.token.token.id(), "@repositories".to_owned());
        if let Some(Cached::Repositories(names)) = self.shared.completions.get(&key) {
            return names;
        }
        let names = match crate::github::user::repositories(self.github(), &call.credential).await {
            Ok(names) => names,
            Err(err) => {
                tracing::debug!(error_kind = err.kind(), "completion: no repositories");
                Vec::new()
            }
        };
        self.shared
            .completions
            .put(key, Cached::Repositories(names.clone()));
        names
    }

    pub(super) async fn complete_argument(
        &self,
        request: CompleteRequestParams,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let value = request.argument.value.trim();
        let context = request.context.as_ref().and_then(|c| c.arguments.as_ref());
        let given = |name: &str| context.and_then(|a| a.get(name)).map(String::as_str);
        let values = match (&request.r#ref, request.argument.name.as_str()) {
            (Reference::Prompt(_), "pr") => match value.split_once('#') {
                // Before the `#`: the caller's repositories, as `owner/repo#`.
                None => self
                    .repositories(ctx)
                    .await
                    .into_iter()
                    .filter(|r| starts_with_ignoring_case(r, value))
                    .map(|r| format!("{r}#"))
                    .collect(),
                // `owner/repo#12…`: the open pull requests of that repository.
                Some((repo_path, number)) => match repo_path.split_once('/') {
                    Some((owner, repo)) => self
                        .open_numbers(owner, repo, ctx)
                        .await
                        .into_iter()
                        .map(|n| n.to_string())
                        .filter(|n| n.starts_with(number))
                        .map(|n| format!("{owner}/{repo}#{n}"))
                        .collect(),
                    None => Vec::new(),
                },
            },
            (Reference::Prompt(_), "include_resolved") => ["false", "true"]
                .into_iter()
                .filter(|v| v.starts_with(value))
                .map(String::from)
                .collect(),
            (Reference::Resource(_), "owner") => {
                let mut owners: Vec<String> = self
                    .repositories(ctx)
                    .await
                    .into_iter()
                    .filter_map(|r| r.split_once('/').map(|(o, _)| o.to_owned()))
                    .filter(|o| starts_with_ignoring_case(o, value))
                    .collect();
                owners.sort_by_key(|o| o.to_ascii_lowercase());
                owners.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
                owners
            }
            (Reference::Resource(_), "repo") => self
                .repositories(ctx)
                .await
                .into_iter()
                .filter_map(|r| r.split_once('/').map(|(o, n)| (o.to_owned(), n.to_owned())))
                .filter(|(o, n)| {
                    given("owner").is_none_or(|want| want.eq_ignore_ascii_case(o))
                        && starts_with_ignoring_case(n, value)
                })
                .map(|(_, n)| n)
                .collect(),
            (Reference::Resource(_), "number") => self
                .open_numbers(
                    given("owner").unwrap_or(""),
                    given("repo").unwrap_or(""),
                    ctx,
                )
                .await
                .into_iter()
                .map(|n| n.to_string())
                .filter(|n| n.starts_with(value))
                .collect(),
            _ => Vec::new(),
        };
        Ok(info(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_bounded_and_say_when_there_is_more() {
        let many: Vec<String> = (0..150).map(|n| n.to_string()).collect();
        let done = info(many);
        assert_eq!(done.completion.values.len(), CompletionInfo::MAX_VALUES);
        assert_eq!(done.completion.total, Some(150));
        assert_eq!(done.completion.has_more, Some(true));
        assert!(!valid_name("..") && !valid_name("a/b") && valid_name("hello.world"));
    }
}
