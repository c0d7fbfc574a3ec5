//! Pull requests over REST (ETag-friendly reads): details and files, open pull
//! requests of a branch, and the checks of the head commit.

use serde::Deserialize;
use serde_json::json;

use super::client::{Credential, GitHubClient};
use super::error::GitHubError;
use super::pr_ref::PullRequestRef;
use crate::model::{
    ChangedFile, CheckRun, CommitStatus, OpenPullRequest, PullRequestChecks, PullRequestDetails,
};
use crate::untrusted::clean;

pub const REVIEW_DECISION_QUERY: &str = include_str!("graphql/review_decision.graphql");

#[derive(Deserialize)]
pub(crate) struct Login {
    pub login: String,
}

#[derive(Deserialize)]
struct RepoOwner {
    owner: Login,
}

#[derive(Deserialize)]
struct Ref {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
    repo: Option<RepoOwner>,
}

#[derive(Deserialize)]
struct Team {
    slug: String,
}

#[derive(Deserialize)]
struct Pull {
    number: u32,
    title: String,
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    merged: Option<bool>,
    merged_at: Option<String>,
    user: Option<Login>,
    body: Option<String>,
    html_url: String,
    head: Ref,
    base: Ref,
    #[serde(default)]
    mergeable: Option<bool>,
    #[serde(default)]
    mergeable_state: Option<String>,
    #[serde(default)]
    requested_reviewers: Option<Vec<Login>>,
    #[serde(default)]
    requested_teams: Option<Vec<Team>>,
    #[serde(default)]
    additions: Option<u64>,
    #[serde(default)]
    deletions: Option<u64>,
    #[serde(default)]
    changed_files: Option<u64>,
    created_at: String,
    updated_at: String,
}

#[derive(Deserialize)]
struct File {
    filename: String,
    status: String,
    additions: u64,
    deletions: u64,
    patch: Option<String>,
    previous_filename: Option<String>,
}

impl From<Pull> for OpenPullRequest {
    fn from(p: Pull) -> Self {
        OpenPullRequest {
            number: p.number,
            title: p.title,
            url: p.html_url,
            author: p.user.map(|u| u.login),
            head_ref: p.head.name,
            head_owner: p.head.repo.map(|r| r.owner.login),
            base_ref: p.base.name,
            draft: p.draft.unwrap_or(false),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

fn pull_path(pr: &PullRequestRef) -> String {
    format!("repos/{}/{}/pulls/{}", pr.owner, pr.repo, pr.number)
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn cut(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

/// Options of `get_pull_request`.
#[derive(Debug, Clone)]
pub struct DetailOptions {
    pub include_patch: bool,
    pub max_patch_bytes: usize,
    pub max_files: usize,
}

pub async fn details(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    options: &DetailOptions,
) -> Result<PullRequestDetails, GitHubError> {
    let path = pull_path(pr);
    let files_path = format!("{path}/files");
    let decision = async {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct P {
            review_decision: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct R {
            pull_request: Option<P>,
        }
        #[derive(Deserialize)]
        struct D {
            repository: Option<R>,
        }
        let d: D = client
            .graphql(
                token,
                REVIEW_DECISION_QUERY,
                json!({"owner": pr.owner, "name": pr.repo, "number": pr.number}),
            )
            .await?;
        Ok::<_, GitHubError>(
            d.repository
                .and_then(|r| r.pull_request)
                .and_then(|p| p.review_decision),
        )
    };
    let (pull, files, decision) = tokio::join!(
        client.get::<Pull>(token, &path),
        client.get_all::<File>(token, &files_path, options.max_files),
        decision
    );
    let pull = pull.map_err(pr.naming_not_found(client.host()))?.body;
    let (files, files_truncated) = files.map_err(pr.naming_not_found(client.host()))?;
    let review_decision = decision.map_err(pr.naming_not_found(client.host()))?;
    let files = files
        .into_iter()
        .map(|f| {
            let mut patch = f.patch.filter(|_| options.include_patch).map(clean);
            let patch_truncated = patch
                .as_mut()
                .is_some_and(|p| cut(p, options.max_patch_bytes));
            ChangedFile {
                filename: clean(f.filename),
                status: f.status,
                additions: f.additions,
                deletions: f.deletions,
                previous_filename: f.previous_filename,
                patch,
                patch_truncated,
            }
        })
        .collect();
    Ok(PullRequestDetails {
        host: client.host().display_name(),
        owner: pr.owner.clone(),
        repo: pr.repo.clone(),
        number: pull.number,
        title: clean(pull.title),
        url: pull.html_url,
        state: pull.state,
        merged: pull.merged.unwrap_or(pull.merged_at.is_some()),
        draft: pull.draft.unwrap_or(false),
        author: pull.user.map(|u| u.login),
        body: clean(pull.body.unwrap_or_default()),
        base_ref: pull.base.name,
        head_ref: pull.head.name,
        head_sha: pull.head.sha,
        review_decision,
        mergeable: pull.mergeable,
        mergeable_state: pull.mergeable_state,
        requested_reviewers: pull
            .requested_reviewers
            .unwrap_or_default()
            .into_iter()
            .map(|u| u.login)
            .collect(),
        requested_teams: pull
            .requested_teams
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.slug)
            .collect(),
        additions: pull.additions.unwrap_or(0),
        deletions: pull.deletions.unwrap_or(0),
        changed_files: pull.changed_files.unwrap_or(0),
        files,
        files_truncated,
        created_at: pull.created_at,
        updated_at: pull.updated_at,
    })
}

/// Open pull requests of `owner/repo`, those whose head is `head_owner:branch` when given.
pub async fn open_pulls(
    client: &GitHubClient,
    token: &Credential,
    owner: &str,
    repo: &str,
    head: Option<(&str, &str)>,
) -> Result<Vec<OpenPullRequest>, GitHubError> {
    let mut path = format!("repos/{owner}/{repo}/pulls?state=open&sort=updated&direction=desc");
    if let Some((head_owner, branch)) = head {
        path.push_str(&format!("&head={}:{}", encode(head_owner), encode(branch)));
    }
    let (pulls, _) = client
        .get_all::<Pull>(token, &path, 300)
        .await
        .map_err(|e| match e {
            GitHubError::NotFound(_) => GitHubError::NotFound(format!("repository {owner}/{repo}")),
            other => other,
        })?;
    Ok(pulls.into_iter().map(OpenPullRequest::from).collect())
}

/// Percent-encodes a query value (branch names may hold `/`, `#`, `&`, `+`).
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[derive(Deserialize)]
struct CheckRuns {
    check_runs: Vec<RawCheckRun>,
}

#[derive(Deserialize)]
struct RawOutput {
    title: Option<String>,
    summary: Option<String>,
    #[serde(default)]
    annotations_count: u32,
}

#[derive(Deserialize)]
struct RawApp {
    slug: Option<String>,
}

#[derive(Deserialize)]
struct RawCheckRun {
    id: u64,
    name: String,
    status: String,
    conclusion: Option<String>,
    details_url: Option<String>,
    output: Option<RawOutput>,
    app: Option<RawApp>,
}

#[derive(Deserialize)]
struct CombinedStatus {
    statuses: Vec<RawStatus>,
}

#[derive(Deserialize)]
struct RawStatus {
    context: String,
    state: String,
    description: Option<String>,
    target_url: Option<String>,
}

pub async fn checks(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
) -> Result<PullRequestChecks, GitHubError> {
    let pull = client
        .get::<Pull>(token, &pull_path(pr))
        .await
        .map_err(pr.naming_not_found(client.host()))?
        .body;
    let sha = pull.head.sha;
    let base = format!("repos/{}/{}/commits/{sha}", pr.owner, pr.repo);
    let runs_path = format!("{base}/check-runs?per_page=100");
    let status_path = format!("{base}/status?per_page=100");
    let (runs, status) = tokio::join!(
        client.get::<CheckRuns>(token, &runs_path),
        client.get::<CombinedStatus>(token, &status_path)
    );
    let check_runs: Vec<CheckRun> = runs?
        .body
        .check_runs
        .into_iter()
        .map(|r| CheckRun {
            id: r.id,
            name: clean(r.name),
            status: r.status,
            conclusion: r.conclusion,
            details_url: r.details_url.map(clean),
            title: r.output.as_ref().and_then(|o| o.title.clone()).map(clean),
            annotations_count: r.output.as_ref().map_or(0, |o| o.annotations_count),
            summary: r.output.and_then(|o| o.summary).map(clean),
            app: r.app.and_then(|a| a.slug).map(clean),
            failure_details: None,
        })
        .collect();
    let statuses: Vec<CommitStatus> = status?
        .body
        .statuses
        .into_iter()
        .map(|s| CommitStatus {
            context: clean(s.context),
            state: s.state,
            description: s.description.map(clean),
            target_url: s.target_url.map(clean),
        })
        .collect();
    let (mut passed, mut failed, mut pending) = (0, 0, 0);
    for run in &check_runs {
        match (run.status.as_str(), run.conclusion.as_deref()) {
            ("completed", Some("success" | "neutral" | "skipped")) => passed += 1,
            ("completed", _) => failed += 1,
            _ => pending += 1,
        }
    }
    for status in &statuses {
        match status.state.as_str() {
            "success" => passed += 1,
            "pending" => pending += 1,
            _ => failed += 1,
        }
    }
    let overall = if failed > 0 {
        "failure"
    } else if pending > 0 {
        "pending"
    } else if passed > 0 {
        "success"
    } else {
        "none"
    };
    Ok(PullRequestChecks {
        pr_url: pull.html_url,
        head_sha: sha,
        overall: overall.to_owned(),
        passed,
        failed,
        pending,
        check_runs,
        statuses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_respects_character_boundaries() {
        let mut s = "aé".repeat(10);
        assert!(cut(&mut s, 4));
        assert_eq!(s, "aéa");
        let mut s = "short".to_owned();
        assert!(!cut(&mut s, 100));
    }

    #[test]
    fn branch_names_are_encoded_in_queries() {
        assert_eq!(encode("feature/x#1&y+z"), "feature%2Fx%231%26y%2Bz");
    }
}
