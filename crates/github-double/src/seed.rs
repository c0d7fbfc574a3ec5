//! The seed file: users, tokens, repositories and pull requests the double serves,
//! and the generator that fills pull requests with synthetic review threads.

use serde::{Deserialize, Serialize};

/// Top-level seed document (see the crate README for the format).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub repos: Vec<SeedRepo>,
    /// Apps users can authorize through the OAuth web flow (`/login/oauth/*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oauth_apps: Vec<SeedOAuthApp>,
}

/// An OAuth App or GitHub App registered on the double, as on GitHub's
/// "Developer settings" page: its credentials and callback URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOAuthApp {
    pub client_id: String,
    pub client_secret: String,
    pub kind: AppKind,
    /// Name on the authorize page; defaults to the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Allowed `redirect_uri`s (see `oauth::wire::redirect_allowed`); empty allows any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callback_urls: Vec<String>,
    /// Lifetime of a GitHub App's `ghu_` token; 0 is an app that opted out of
    /// expiring tokens (no refresh token then). Ignored for OAuth Apps.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_secs: u64,
    #[serde(default = "default_refresh_lifetime")]
    pub refresh_token_lifetime_secs: u64,
}

/// The two kinds of app GitHub lets users authorize; they differ in the tokens
/// they get (`gho_` with scopes vs expiring `ghu_` with a refresh token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    OauthApp,
    GithubApp,
}

/// GitHub's user access token lifetime: 8 hours.
fn default_token_lifetime() -> u64 {
    28_800
}
/// GitHub's refresh token lifetime: 6 months.
fn default_refresh_lifetime() -> u64 {
    15_897_600
}

impl SeedOAuthApp {
    /// An app that allows any callback, with GitHub's default lifetimes.
    pub fn new(client_id: &str, client_secret: &str, kind: AppKind) -> Self {
        SeedOAuthApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            kind,
            name: None,
            callback_urls: vec![],
            token_lifetime_secs: default_token_lifetime(),
            refresh_token_lifetime_secs: default_refresh_lifetime(),
        }
    }
}

/// The apps every generated seed has, so an OAuth client can be tested against a
/// generated seed without editing it.
pub fn default_oauth_apps() -> Vec<SeedOAuthApp> {
    vec![
        SeedOAuthApp::new(
            "Iv1.doubleoauthapp",
            "double-oauth-secret",
            AppKind::OauthApp,
        ),
        SeedOAuthApp::new(
            "Iv23.doublegithubapp",
            "double-app-secret",
            AppKind::GithubApp,
        ),
    ]
}

/// A user and the tokens that authenticate as it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub login: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Value of `X-OAuth-Scopes`; absent means no header (fine-grained token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `User` or `Bot` (a GitHub App's account: REST login `slug[bot]`, GraphQL
    /// `Bot` with login `slug`). Absent: `Bot` when the login ends in `[bot]`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A repository with its access lists and pull requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRepo {
    pub owner: String,
    pub name: String,
    #[serde(default)]
    pub private: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "default_branch", skip_serializing_if = "is_main")]
    pub default_branch: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writers: Vec<String>,
    /// Whether pull requests need an approving review (GraphQL `reviewDecision`
    /// is null when false, as on GitHub without branch protection).
    /// Absent means true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_review: Option<bool>,
    #[serde(default)]
    pub pulls: Vec<SeedPull>,
}

fn default_branch() -> String {
    "main".into()
}
fn is_main(s: &str) -> bool {
    s == "main"
}
fn default_open() -> String {
    "open".into()
}
fn default_right() -> String {
    "RIGHT".into()
}

/// A pull request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPull {
    pub number: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub author: String,
    /// `open`, `closed` or `merged`.
    #[serde(default = "default_open")]
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default = "default_branch")]
    pub base: String,
    #[serde(default)]
    pub head: String,
    /// Owner of the head repository when it is a fork (defaults to the base repo's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<SeedFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<SeedThread>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<SeedReview>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<GenerateSpec>,
    /// Logins whose review is requested (`requested_reviewers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_reviewers: Vec<String>,
    /// Team slugs whose review is requested (`requested_teams`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_teams: Vec<String>,
    /// `mergeable`; defaults to true when open, null otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mergeable: Option<bool>,
    /// `mergeable_state`; defaults to `draft`, `unstable` (a failing check or
    /// status) or `clean`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mergeable_state: Option<String>,
    /// Check runs on the head commit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<SeedCheck>,
    /// Commit statuses on the head commit (newest last).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<SeedStatus>,
    /// The conversation (`/issues/{n}/comments`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issue_comments: Vec<SeedIssueComment>,
}

/// A check run on a pull request's head commit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCheck {
    pub name: String,
    /// `queued`, `in_progress` or `completed` (default).
    #[serde(default = "completed")]
    pub status: String,
    /// `success`, `failure`, `neutral`, `cancelled`, `skipped`, `timed_out`,
    /// `action_required`; null unless completed (default `success` when completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<SeedCheckOutput>,
    /// App slug (default `github-actions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Annotations of the run (`/check-runs/{id}/annotations`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<SeedAnnotation>,
    /// The text of the job's log, as GitHub Actions stores it (lines prefixed with
    /// a timestamp, ANSI colours kept). Only for `github-actions` runs, whose check
    /// run id is the job id: `/actions/jobs/{id}/logs` redirects to a download of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

/// An annotation of a check run (`check-annotation`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAnnotation {
    pub path: String,
    pub start_line: u64,
    /// Defaults to `start_line`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u64>,
    /// `notice`, `warning` or `failure` (default).
    #[serde(default = "failure")]
    pub annotation_level: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_details: Option<String>,
}

fn failure() -> String {
    "failure".into()
}

fn completed() -> String {
    "completed".into()
}

/// `output` of a check run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCheckOutput {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// A commit status (the combined status lists the latest per `context`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedStatus {
    pub context: String,
    /// `error`, `failure`, `pending` or `success`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// A comment in a pull request's conversation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedIssueComment {
    pub author: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// A changed file of a pull request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    pub filename: String,
    #[serde(default = "modified")]
    pub status: String,
    #[serde(default)]
    pub additions: u64,
    #[serde(default)]
    pub deletions: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_filename: Option<String>,
}

fn modified() -> String {
    "modified".into()
}

/// A review thread: a position in the diff and its comments, first one starting it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedThread {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_start_line: Option<u64>,
    #[serde(default = "default_right")]
    pub side: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_side: Option<String>,
    /// `line` or `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<String>,
    #[serde(default)]
    pub is_resolved: bool,
    #[serde(default)]
    pub is_outdated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<String>,
    #[serde(default)]
    pub diff_hunk: String,
    #[serde(default)]
    pub comments: Vec<SeedComment>,
}

/// One review comment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedComment {
    pub author: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Explicit numeric id; otherwise assigned deterministically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

/// A review without inline comments (approval, change request, plain comment).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedReview {
    pub author: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED` or `PENDING`.
    pub state: String,
    #[serde(default)]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
}

/// Knobs for synthetic threads, in a seed's pull (`"generate"`) or on the CLI.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    pub threads: usize,
    pub comments_per_thread: usize,
    #[serde(default = "default_body_len")]
    pub body_len: usize,
    #[serde(default = "default_hunk_lines")]
    pub hunk_lines: usize,
    /// Text included in every generated comment body (e.g. `tenant-3-marker`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Comment authors, cycled; defaults to the pull's author and `reviewer`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
}

fn default_body_len() -> usize {
    330
}
fn default_hunk_lines() -> usize {
    8
}

const LOREM: &str =
    "Consider extracting this into a helper so the error path is tested on its own. \
The loop re-reads the configuration on every iteration, which is wasteful under load. \
Nit: the name suggests a boolean but it returns a count. \
Could we add a regression test for the empty input case before merging? \
This allocation happens per request; caching it at startup would help. ";

/// Epoch of generated timestamps: 2026-01-01T00:00:00Z.
pub const GENERATED_EPOCH: u64 = 1_767_225_600;

/// Fills a deterministic body of exactly `len` bytes (ASCII), starting with `prefix`.
fn body_text(prefix: &str, len: usize, salt: usize) -> String {
    let mut s = String::with_capacity(len.max(prefix.len()));
    s.push_str(prefix);
    let start = (salt * 37) % LOREM.len();
    let mut it = LOREM[start..].chars().chain(LOREM.chars().cycle());
    while s.len() < len {
        s.push(it.next().unwrap_or(' '));
    }
    if s.len() > len && len >= prefix.len() {
        s.truncate(len);
    }
    s
}

/// A unified-diff hunk of `lines` lines around `line`.
pub fn hunk(path: &str, line: u64, lines: usize) -> String {
    let lines = lines.max(2);
    let start = line.saturating_sub(lines as u64 - 1).max(1);
    let mut h = format!(
        "@@ -{start},{} +{start},{lines} @@ fn {}()",
        lines - 1,
        path.replace(['/', '.'], "_")
    );
    for i in 0..lines {
        let n = start + i as u64;
        if i == lines - 1 {
            h.push_str(&format!("\n+    let value_{n} = compute({n});"));
        } else {
            h.push_str(&format!("\n     context_line({n});"));
        }
    }
    h
}

/// Generates the threads (and matching files) a `GenerateSpec` asks for.
pub fn generate_threads(
    spec: &GenerateSpec,
    pull_author: &str,
) -> (Vec<SeedThread>, Vec<SeedFile>) {
    let authors: Vec<String> = if spec.authors.is_empty() {
        vec![pull_author.to_string(), "reviewer".to_string()]
    } else {
        spec.authors.clone()
    };
    let n_files = spec.threads.clamp(1, 10);
    let mut threads = Vec::with_capacity(spec.threads);
    for t in 0..spec.threads {
        let path = format!("src/module_{}.rs", t % n_files);
        let line = 10 + (t / n_files) as u64 * 20;
        let outdated = t % 7 == 6;
        let resolved = t % 5 == 4;
        let comments = (0..spec.comments_per_thread)
            .map(|c| {
                // First comment comes from a reviewer, replies alternate.
                let author = authors[(c + 1) % authors.len()].clone();
                let marker = spec
                    .marker
                    .as_deref()
                    .map(|m| format!("{m} "))
                    .unwrap_or_default();
                let prefix = format!("{marker}Thread {t} comment {c}: ");
                SeedComment {
                    author,
                    body: body_text(&prefix, spec.body_len, t * 31 + c),
                    created_at: Some(crate::time::rfc3339(
                        GENERATED_EPOCH + (t as u64) * 3600 + (c as u64) * 60,
                    )),
                    id: None,
                }
            })
            .collect();
        threads.push(SeedThread {
            path: path.clone(),
            line: if outdated { None } else { Some(line) },
            start_line: None,
            original_line: Some(line),
            original_start_line: None,
            side: "RIGHT".into(),
            start_side: None,
            subject_type: None,
            is_resolved: resolved,
            is_outdated: outdated,
            resolved_by: resolved.then(|| pull_author.to_string()),
            diff_hunk: hunk(&path, line, spec.hunk_lines),
            comments,
        });
    }
    let files = (0..n_files.min(spec.threads))
        .map(|f| {
            let filename = format!("src/module_{f}.rs");
            SeedFile {
                patch: Some(hunk(&filename, 10, spec.hunk_lines)),
                filename,
                status: "modified".into(),
                additions: 1,
                deletions: 0,
                previous_filename: None,
            }
        })
        .collect();
    (threads, files)
}

/// Options of `github-double generate`.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub spec: GenerateSpec,
    pub owner: String,
    pub repo: String,
    pub number: u64,
    pub tenants: Option<usize>,
}

/// Builds a complete seed: one user `alice` (token `ghp_alice`) owning a private
/// repo whose pull has the generated threads, plus `reviewer`; or, with `tenants`,
/// users `tenant1..K` each owning `tenantI/repoI` whose PR #1 carries `tenant-I-marker`.
/// Either way with the `default_oauth_apps`.
pub fn generate_seed(opts: &GenerateOptions) -> Seed {
    let pull = |number: u64, author: &str, spec: GenerateSpec| SeedPull {
        number,
        title: format!("Generated pull request #{number}"),
        body: Some("Generated by github-double.".into()),
        author: author.into(),
        state: "open".into(),
        base: "main".into(),
        head: "feature".into(),
        generate: Some(spec),
        ..SeedPull::default()
    };
    let reviewer = SeedUser {
        login: "reviewer".into(),
        tokens: vec!["ghp_reviewer".into()],
        scopes: Some("repo".into()),
        ..SeedUser::default()
    };
    match opts.tenants {
        Some(k) => {
            let mut seed = Seed {
                users: vec![reviewer],
                repos: vec![],
                oauth_apps: default_oauth_apps(),
            };
            for i in 1..=k {
                let login = format!("tenant{i}");
                seed.users.push(SeedUser {
                    login: login.clone(),
                    tokens: vec![format!("ghp_tenant{i}")],
                    scopes: Some("repo, read:org".into()),
                    ..SeedUser::default()
                });
                let spec = GenerateSpec {
                    marker: Some(format!("tenant-{i}-marker")),
                    authors: vec![login.clone(), "reviewer".into()],
                    ..opts.spec.clone()
                };
                seed.repos.push(SeedRepo {
                    owner: login.clone(),
                    name: format!("repo{i}"),
                    private: true,
                    default_branch: "main".into(),
                    readers: vec!["reviewer".into()],
                    pulls: vec![pull(1, &login, spec)],
                    ..SeedRepo::default()
                });
            }
            seed
        }
        None => Seed {
            users: vec![
                SeedUser {
                    login: "alice".into(),
                    tokens: vec!["ghp_alice".into()],
                    scopes: Some("repo, read:org".into()),
                    ..SeedUser::default()
                },
                reviewer,
            ],
            repos: vec![SeedRepo {
                owner: opts.owner.clone(),
                name: opts.repo.clone(),
                private: true,
                default_branch: "main".into(),
                writers: vec!["alice".into()],
                readers: vec!["reviewer".into()],
                pulls: vec![pull(opts.number, "alice", opts.spec.clone())],
                ..SeedRepo::default()
            }],
            oauth_apps: default_oauth_apps(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(threads: usize, comments: usize) -> GenerateSpec {
        GenerateSpec {
            threads,
            comments_per_thread: comments,
            body_len: 330,
            hunk_lines: 8,
            marker: None,
            authors: vec![],
        }
    }

    #[test]
    fn generated_threads_have_requested_shape() {
        let (threads, files) = generate_threads(&spec(50, 3), "alice");
        assert_eq!(threads.len(), 50);
        assert!(threads.iter().all(|t| t.comments.len() == 3));
        assert!(threads
            .iter()
            .flat_map(|t| &t.comments)
            .all(|c| c.body.len() == 330));
        assert_eq!(threads[0].diff_hunk.lines().count(), 9);
        assert_eq!(files.len(), 10);
    }

    #[test]
    fn generation_is_deterministic() {
        let a = serde_json::to_string(&generate_threads(&spec(5, 2), "a").0).unwrap();
        let b = serde_json::to_string(&generate_threads(&spec(5, 2), "a").0).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn tenant_seeds_mark_every_body_with_their_tenant() {
        let seed = generate_seed(&GenerateOptions {
            spec: spec(2, 2),
            owner: "o".into(),
            repo: "r".into(),
            number: 1,
            tenants: Some(3),
        });
        assert_eq!(seed.repos.len(), 3);
        assert_eq!(seed.repos[2].owner, "tenant3");
        let g = seed.repos[2].pulls[0].generate.as_ref().unwrap();
        assert_eq!(g.marker.as_deref(), Some("tenant-3-marker"));
        let (threads, _) = generate_threads(g, "tenant3");
        assert!(threads[1].comments[1].body.contains("tenant-3-marker"));
        assert_eq!(seed.oauth_apps, default_oauth_apps());
    }

    #[test]
    fn oauth_apps_are_optional_and_default_to_githubs_lifetimes() {
        let old: Seed = serde_json::from_str(r#"{"users": [{"login": "a"}]}"#).unwrap();
        assert!(old.oauth_apps.is_empty());
        let s: Seed = serde_json::from_str(
            r#"{"oauth_apps": [{"client_id": "Iv23.x", "client_secret": "s", "kind": "github_app"}]}"#,
        )
        .unwrap();
        let app = &s.oauth_apps[0];
        assert_eq!(app.kind, AppKind::GithubApp);
        assert_eq!(
            (app.token_lifetime_secs, app.refresh_token_lifetime_secs),
            (28_800, 15_897_600)
        );
        assert!(app.callback_urls.is_empty());
    }
}
