//! The loaded data the double serves: users, tokens, repositories, pull requests,
//! threads, comments and reviews, with every id assigned and every index built at
//! load time so that requests only look things up.
//!
//! Architecture invariant: a `World` is immutable once shared; writes clone it,
//! change the clone and swap it in (see `state::AppState::update_world`).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::seed::{self, Seed};
use crate::time::parse_rfc3339;

/// Errors a seed can have.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("token {0:?} belongs to more than one user")]
    DuplicateToken(String),
    #[error("user {0:?} is defined twice")]
    DuplicateUser(String),
    #[error("repository {0} is defined twice")]
    DuplicateRepo(String),
    #[error("pull request {0}#{1} is defined twice")]
    DuplicatePull(String, u64),
    #[error("OAuth app {0:?} is defined twice")]
    DuplicateOAuthApp(String),
    #[error("comment id {0} is used twice")]
    DuplicateCommentId(u64),
    #[error("invalid value {value:?} for {field}")]
    Invalid { field: &'static str, value: String },
}

pub type UserIx = usize;

#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    pub node_id: String,
    pub scopes: Option<String>,
    /// A GitHub App's bot account: `login` ends in `[bot]` (REST), GraphQL shows a
    /// `Bot` whose login lacks the suffix.
    pub bot: bool,
}

impl User {
    /// The login GraphQL shows: a bot's without `[bot]`, as on GitHub.
    pub fn graphql_login(&self) -> &str {
        if self.bot {
            self.login.strip_suffix("[bot]").unwrap_or(&self.login)
        } else {
            &self.login
        }
    }
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub id: u64,
    pub node_id: String,
    pub owner: UserIx,
    pub name: String,
    pub full_name: String,
    pub private: bool,
    pub description: Option<String>,
    pub default_branch: String,
    pub readers: Vec<UserIx>,
    pub writers: Vec<UserIx>,
    /// GraphQL `reviewDecision` is null when false.
    pub requires_review: bool,
    pub pulls: Vec<Pull>,
    pub pull_by_number: HashMap<u64, usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullState {
    Open,
    Closed,
    Merged,
}

#[derive(Debug, Clone)]
pub struct Pull {
    pub id: u64,
    pub node_id: String,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub author: UserIx,
    pub state: PullState,
    pub draft: bool,
    pub base: String,
    pub head: String,
    pub head_owner: UserIx,
    pub head_sha: String,
    pub base_sha: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub files: Vec<File>,
    pub threads: Vec<Thread>,
    pub reviews: Vec<Review>,
    /// Every comment as (thread, comment) index pairs, ordered by id.
    pub comment_order: Vec<(usize, usize)>,
    pub requested_reviewers: Vec<UserIx>,
    pub requested_teams: Vec<String>,
    pub mergeable: Option<bool>,
    pub mergeable_state: String,
    pub checks: Vec<CheckRun>,
    pub statuses: Vec<CommitStatus>,
    pub issue_comments: Vec<IssueComment>,
    /// (review id, author) of every PENDING review: visible only to its author.
    pub pending: Vec<(u64, UserIx)>,
    /// Head shas before the pushes `/_double/pulls/.../files` simulated, oldest first.
    pub past_heads: Vec<String>,
}

/// A check run on the head commit.
#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub node_id: String,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub details_url: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub text: Option<String>,
    pub app: String,
    pub started_at: u64,
    pub completed_at: Option<u64>,
    pub annotations: Vec<Annotation>,
    /// The job's log (GitHub Actions runs only); shared, as worlds are cloned per write.
    pub log: Option<Arc<str>>,
}

/// An annotation of a check run.
#[derive(Debug, Clone)]
pub struct Annotation {
    pub path: String,
    pub start_line: u64,
    pub end_line: u64,
    pub start_column: Option<u64>,
    pub end_column: Option<u64>,
    pub level: String,
    pub message: String,
    pub title: Option<String>,
    pub raw_details: Option<String>,
}

/// A commit status on the head commit.
#[derive(Debug, Clone)]
pub struct CommitStatus {
    pub id: u64,
    pub node_id: String,
    pub context: String,
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub created_at: u64,
}

/// A comment in the pull request's conversation.
#[derive(Debug, Clone)]
pub struct IssueComment {
    pub id: u64,
    pub node_id: String,
    pub author: UserIx,
    pub body: String,
    pub created_at: u64,
    pub updated_at: u64,
}

#[derive(Debug, Clone)]
pub struct File {
    pub filename: String,
    pub status: String,
    pub additions: u64,
    pub deletions: u64,
    pub patch: Option<String>,
    pub previous_filename: Option<String>,
    pub sha: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "LEFT",
            Side::Right => "RIGHT",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Thread {
    pub id: u64,
    pub node_id: String,
    pub path: String,
    pub line: Option<u64>,
    pub start_line: Option<u64>,
    pub original_line: Option<u64>,
    pub original_start_line: Option<u64>,
    pub side: Side,
    pub start_side: Option<Side>,
    pub file_level: bool,
    pub is_resolved: bool,
    pub is_outdated: bool,
    pub resolved_by: Option<UserIx>,
    pub diff_hunk: String,
    /// Head sha when the thread was started (`original_commit_id`).
    pub original_commit: String,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub node_id: String,
    pub author: UserIx,
    pub body: String,
    pub created_at: u64,
    pub updated_at: u64,
    /// Id of the review this comment was submitted with.
    pub review_id: u64,
    pub reply_to: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Review {
    pub id: u64,
    pub node_id: String,
    pub author: UserIx,
    pub body: String,
    pub state: String,
    pub submitted_at: u64,
}

/// Where a comment lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentRef {
    pub repo: usize,
    pub pull: usize,
    pub thread: usize,
    pub comment: usize,
}

/// What a GraphQL node id points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRef {
    User(UserIx),
    Repo(usize),
    Pull(usize, usize),
    Thread(usize, usize, usize),
    Comment(CommentRef),
    Review(usize, usize, usize),
}

/// Everything the double serves, indexed.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// The web origin of html URLs: the double's own address once it listens (as
    /// GitHub Enterprise Server answers with its own host), `https://github.com` before.
    pub web: String,
    pub users: Vec<User>,
    pub user_by_login: HashMap<String, UserIx>,
    pub token_user: HashMap<String, UserIx>,
    /// Apps of the OAuth web flow by client id (the tokens they get live in
    /// `oauth::OAuth`, not here: they change without a world write).
    pub oauth_apps: HashMap<String, seed::SeedOAuthApp>,
    pub repos: Vec<Repo>,
    /// Lower-cased `owner/name` to repo index.
    pub repo_by_name: HashMap<String, usize>,
    pub comment_by_id: HashMap<u64, CommentRef>,
    pub nodes: HashMap<String, NodeRef>,
    pub next_comment_id: u64,
    pub next_review_id: u64,
    pub next_issue_comment_id: u64,
    pub next_thread_id: u64,
    /// Bumped by every write; response caches are keyed by it.
    pub generation: u64,
}

const FIRST_USER_ID: u64 = 1001;
const FIRST_REPO_ID: u64 = 700_000_001;
const FIRST_PULL_ID: u64 = 1_900_000_001;
/// Comment ids start above `i32::MAX` on purpose, as GitHub's do.
const FIRST_COMMENT_ID: u64 = 2_500_000_001;
const FIRST_REVIEW_ID: u64 = 3_100_000_001;
const FIRST_THREAD_ID: u64 = 4_300_000_001;
const FIRST_ISSUE_COMMENT_ID: u64 = 1_700_000_001;
/// Check run ids; for GitHub Actions runs the check run id is also the job id.
const FIRST_CHECK_RUN_ID: u64 = 5_100_000_001;
/// The app slug of GitHub Actions' check runs.
pub const ACTIONS_APP: &str = "github-actions";
const FIRST_STATUS_ID: u64 = 6_100_000_001;

/// A GitHub-style global node id: `PREFIX_kwDO` + base64url of the database id.
pub fn node_id(prefix: &str, id: u64) -> String {
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.to_be_bytes());
    format!("{prefix}_kwDO{b}")
}

/// Deterministic 40-hex pseudo SHA for a label.
pub fn fake_sha(label: &str) -> String {
    hex::encode(&Sha256::digest(label.as_bytes())[..20])
}

fn parse_side(s: &str) -> Result<Side, SeedError> {
    match s.to_ascii_uppercase().as_str() {
        "LEFT" => Ok(Side::Left),
        "RIGHT" => Ok(Side::Right),
        _ => Err(SeedError::Invalid {
            field: "side",
            value: s.into(),
        }),
    }
}

fn parse_time(s: &Option<String>, default: u64) -> Result<u64, SeedError> {
    match s {
        None => Ok(default),
        Some(s) => parse_rfc3339(s).ok_or_else(|| SeedError::Invalid {
            field: "timestamp",
            value: s.clone(),
        }),
    }
}

impl World {
    /// Loads a seed, expanding `generate` blocks and assigning every id.
    pub fn from_seed(seed: &Seed) -> Result<World, SeedError> {
        let mut w = World {
            next_comment_id: FIRST_COMMENT_ID,
            next_review_id: FIRST_REVIEW_ID,
            next_issue_comment_id: FIRST_ISSUE_COMMENT_ID,
            ..World::default()
        };
        let mut next_user_id = seed
            .users
            .iter()
            .filter_map(|u| u.id)
            .max()
            .map_or(FIRST_USER_ID, |m| m.max(FIRST_USER_ID - 1) + 1);
        for u in &seed.users {
            let id = u.id.unwrap_or_else(|| {
                let id = next_user_id;
                next_user_id += 1;
                id
            });
            let bot = match u.kind.as_deref() {
                None => u.login.ends_with("[bot]"),
                Some("Bot") => true,
                Some("User") => false,
                Some(other) => {
                    return Err(SeedError::Invalid {
                        field: "users.type",
                        value: other.into(),
                    })
                }
            };
            let login = if bot && !u.login.ends_with("[bot]") {
                format!("{}[bot]", u.login)
            } else {
                u.login.clone()
            };
            if w.user_by_login.contains_key(&login.to_lowercase()) {
                return Err(SeedError::DuplicateUser(u.login.clone()));
            }
            let ix = w.add_user(&login, id, u.scopes.clone(), u.name.clone(), bot);
            for t in &u.tokens {
                if w.token_user.insert(t.clone(), ix).is_some() {
                    return Err(SeedError::DuplicateToken(t.clone()));
                }
            }
        }
        for app in &seed.oauth_apps {
            w.add_oauth_app(app)?;
        }
        let mut user = |w: &mut World, login: &str| -> UserIx {
            if let Some(&ix) = w.user_by_login.get(&login.to_lowercase()) {
                return ix;
            }
            // A bot declared by its slug (`"type": "Bot"`) is named by it too.
            if let Some(&ix) = w
                .user_by_login
                .get(&format!("{}[bot]", login.to_lowercase()))
            {
                return ix;
            }
            let id = next_user_id;
            next_user_id += 1;
            w.add_user(login, id, None, None, login.ends_with("[bot]"))
        };
        let explicit_ids: std::collections::HashSet<u64> = seed
            .repos
            .iter()
            .flat_map(|r| &r.pulls)
            .flat_map(|p| &p.threads)
            .flat_map(|t| &t.comments)
            .filter_map(|c| c.id)
            .collect();
        let mut thread_id = FIRST_THREAD_ID;
        for (ri, sr) in seed.repos.iter().enumerate() {
            let full_name = format!("{}/{}", sr.owner, sr.name);
            let key = full_name.to_lowercase();
            if w.repo_by_name.contains_key(&key) {
                return Err(SeedError::DuplicateRepo(full_name));
            }
            let owner = user(&mut w, &sr.owner);
            let readers = sr.readers.iter().map(|l| user(&mut w, l)).collect();
            let writers = sr.writers.iter().map(|l| user(&mut w, l)).collect();
            let repo_id = FIRST_REPO_ID + ri as u64;
            let mut repo = Repo {
                id: repo_id,
                node_id: node_id("R", repo_id),
                owner,
                name: sr.name.clone(),
                full_name: full_name.clone(),
                private: sr.private,
                description: sr.description.clone(),
                default_branch: sr.default_branch.clone(),
                readers,
                writers,
                requires_review: sr.requires_review.unwrap_or(true),
                pulls: vec![],
                pull_by_number: HashMap::new(),
            };
            for sp in &sr.pulls {
                if repo.pull_by_number.contains_key(&sp.number) {
                    return Err(SeedError::DuplicatePull(full_name, sp.number));
                }
                let pi = repo.pulls.len();
                let pull_id = FIRST_PULL_ID + (ri as u64) * 10_000 + pi as u64;
                let mut threads_seed = sp.threads.clone();
                let mut files_seed = sp.files.clone();
                if let Some(spec) = &sp.generate {
                    let (t, f) = seed::generate_threads(spec, &sp.author);
                    threads_seed.extend(t);
                    if files_seed.is_empty() {
                        files_seed = f;
                    }
                }
                let author = user(&mut w, &sp.author);
                let created_at = parse_time(&sp.created_at, seed::GENERATED_EPOCH - 86_400)?;
                let state = match sp.state.to_ascii_lowercase().as_str() {
                    "open" => PullState::Open,
                    "closed" => PullState::Closed,
                    "merged" => PullState::Merged,
                    _ => {
                        return Err(SeedError::Invalid {
                            field: "state",
                            value: sp.state.clone(),
                        })
                    }
                };
                let head = if sp.head.is_empty() {
                    format!("pr-{}", sp.number)
                } else {
                    sp.head.clone()
                };
                let head_owner = match &sp.head_owner {
                    Some(l) => user(&mut w, l),
                    None => owner,
                };
                let mut pull =
                    Pull {
                        id: pull_id,
                        node_id: node_id("PR", pull_id),
                        number: sp.number,
                        title: sp.title.clone(),
                        body: sp.body.clone(),
                        author,
                        state,
                        draft: sp.draft,
                        base: sp.base.clone(),
                        head_sha: sp.head_sha.clone().unwrap_or_else(|| {
                            fake_sha(&format!("{full_name}#{}:head", sp.number))
                        }),
                        base_sha: sp.base_sha.clone().unwrap_or_else(|| {
                            fake_sha(&format!("{full_name}#{}:base", sp.number))
                        }),
                        head,
                        head_owner,
                        created_at,
                        updated_at: created_at,
                        files: files_seed
                            .iter()
                            .map(|f| File {
                                sha: fake_sha(&format!("{full_name}:{}", f.filename)),
                                filename: f.filename.clone(),
                                status: f.status.clone(),
                                additions: f.additions,
                                deletions: f.deletions,
                                patch: f.patch.clone(),
                                previous_filename: f.previous_filename.clone(),
                            })
                            .collect(),
                        threads: vec![],
                        reviews: vec![],
                        comment_order: vec![],
                        requested_reviewers: sp
                            .requested_reviewers
                            .iter()
                            .map(|l| user(&mut w, l))
                            .collect(),
                        requested_teams: sp.requested_teams.clone(),
                        mergeable: sp.mergeable.or((state == PullState::Open).then_some(true)),
                        mergeable_state: String::new(),
                        checks: vec![],
                        statuses: vec![],
                        issue_comments: vec![],
                        pending: vec![],
                        past_heads: vec![],
                    };
                let first_check = FIRST_CHECK_RUN_ID + (ri as u64) * 100_000 + pi as u64 * 1000;
                for (check_id, c) in (first_check..).zip(&sp.checks) {
                    let started_at = parse_time(&c.started_at, created_at)?;
                    let app = c.app.clone().unwrap_or_else(|| ACTIONS_APP.into());
                    if c.log.is_some() && app != ACTIONS_APP {
                        // Only GitHub Actions jobs have logs behind the Actions API.
                        return Err(SeedError::Invalid {
                            field: "checks.log (only for github-actions runs)",
                            value: app,
                        });
                    }
                    let done = c.status == "completed";
                    let out = c.output.clone().unwrap_or_default();
                    pull.checks.push(CheckRun {
                        id: check_id,
                        node_id: node_id("CR", check_id),
                        name: c.name.clone(),
                        status: c.status.clone(),
                        conclusion: if done {
                            Some(c.conclusion.clone().unwrap_or_else(|| "success".into()))
                        } else {
                            None
                        },
                        details_url: c.details_url.clone(),
                        title: out.title,
                        summary: out.summary,
                        text: out.text,
                        app,
                        started_at,
                        completed_at: if done {
                            Some(parse_time(&c.completed_at, started_at + 60)?)
                        } else {
                            None
                        },
                        annotations: c
                            .annotations
                            .iter()
                            .map(|a| {
                                if !matches!(
                                    a.annotation_level.as_str(),
                                    "notice" | "warning" | "failure"
                                ) {
                                    return Err(SeedError::Invalid {
                                        field: "checks.annotations.annotation_level",
                                        value: a.annotation_level.clone(),
                                    });
                                }
                                Ok(Annotation {
                                    path: a.path.clone(),
                                    start_line: a.start_line,
                                    end_line: a.end_line.unwrap_or(a.start_line),
                                    start_column: a.start_column,
                                    end_column: a.end_column,
                                    level: a.annotation_level.clone(),
                                    message: a.message.clone(),
                                    title: a.title.clone(),
                                    raw_details: a.raw_details.clone(),
                                })
                            })
                            .collect::<Result<_, _>>()?,
                        log: c.log.as_deref().map(Arc::from),
                    });
                }
                let first_status = FIRST_STATUS_ID + (ri as u64) * 100_000 + pi as u64 * 1000;
                for (status_id, st) in (first_status..).zip(&sp.statuses) {
                    if !matches!(
                        st.state.as_str(),
                        "error" | "failure" | "pending" | "success"
                    ) {
                        return Err(SeedError::Invalid {
                            field: "statuses.state",
                            value: st.state.clone(),
                        });
                    }
                    pull.statuses.push(CommitStatus {
                        id: status_id,
                        node_id: node_id("SC", status_id),
                        context: st.context.clone(),
                        state: st.state.clone(),
                        description: st.description.clone(),
                        target_url: st.target_url.clone(),
                        created_at: parse_time(&st.created_at, created_at)?,
                    });
                }
                pull.mergeable_state = sp.mergeable_state.clone().unwrap_or_else(|| {
                    let failing = pull.checks.iter().any(|c| {
                        matches!(
                            c.conclusion.as_deref(),
                            Some("failure" | "timed_out" | "cancelled" | "action_required")
                        )
                    }) || pull
                        .statuses
                        .iter()
                        .any(|s| matches!(s.state.as_str(), "failure" | "error"));
                    if sp.draft {
                        "draft".into()
                    } else if failing {
                        "unstable".into()
                    } else {
                        "clean".into()
                    }
                });
                for ic in &sp.issue_comments {
                    let author = user(&mut w, &ic.author);
                    let at = parse_time(&ic.created_at, created_at)?;
                    let id = w.next_issue_comment_id;
                    w.next_issue_comment_id += 1;
                    pull.issue_comments.push(IssueComment {
                        id,
                        node_id: node_id("IC", id),
                        author,
                        body: ic.body.clone(),
                        created_at: at,
                        updated_at: at,
                    });
                }
                for r in &sp.reviews {
                    let author = user(&mut w, &r.author);
                    let at = parse_time(&r.submitted_at, created_at)?;
                    let id = w.take_review_id();
                    pull.reviews.push(Review {
                        id,
                        node_id: node_id("PRR", id),
                        author,
                        body: r.body.clone(),
                        state: r.state.to_ascii_uppercase(),
                        submitted_at: at,
                    });
                }
                for st in &threads_seed {
                    let mut thread = Thread {
                        id: thread_id,
                        node_id: node_id("PRRT", thread_id),
                        path: st.path.clone(),
                        line: st.line,
                        start_line: st.start_line,
                        original_line: st.original_line.or(st.line),
                        original_start_line: st.original_start_line.or(st.start_line),
                        side: parse_side(&st.side)?,
                        start_side: match &st.start_side {
                            Some(s) => Some(parse_side(s)?),
                            None => st.start_line.map(|_| parse_side(&st.side)).transpose()?,
                        },
                        file_level: st
                            .subject_type
                            .as_deref()
                            .is_some_and(|s| s.eq_ignore_ascii_case("file")),
                        is_resolved: st.is_resolved,
                        is_outdated: st.is_outdated,
                        resolved_by: st.resolved_by.as_deref().map(|l| user(&mut w, l)),
                        diff_hunk: st.diff_hunk.clone(),
                        original_commit: pull.head_sha.clone(),
                        comments: vec![],
                    };
                    thread_id += 1;
                    let mut first_id = None;
                    for sc in &st.comments {
                        let id = match sc.id {
                            Some(id) => id,
                            None => loop {
                                let id = w.next_comment_id;
                                w.next_comment_id += 1;
                                if !explicit_ids.contains(&id) {
                                    break id;
                                }
                            },
                        };
                        if w.comment_by_id.contains_key(&id) {
                            return Err(SeedError::DuplicateCommentId(id));
                        }
                        let author = user(&mut w, &sc.author);
                        let at = parse_time(&sc.created_at, created_at)?;
                        // Every review comment is submitted with a review, as on GitHub.
                        let review_id = w.take_review_id();
                        pull.reviews.push(Review {
                            id: review_id,
                            node_id: node_id("PRR", review_id),
                            author,
                            body: String::new(),
                            state: "COMMENTED".into(),
                            submitted_at: at,
                        });
                        w.comment_by_id.insert(
                            id,
                            CommentRef {
                                repo: ri,
                                pull: pi,
                                thread: pull.threads.len(),
                                comment: thread.comments.len(),
                            },
                        );
                        thread.comments.push(Comment {
                            id,
                            node_id: node_id("PRRC", id),
                            author,
                            body: sc.body.clone(),
                            created_at: at,
                            updated_at: at,
                            review_id,
                            reply_to: first_id,
                        });
                        pull.updated_at = pull.updated_at.max(at);
                        first_id.get_or_insert(id);
                    }
                    pull.threads.push(thread);
                }
                pull.reviews.sort_by_key(|r| (r.submitted_at, r.id));
                pull.rebuild_comment_order();
                repo.pull_by_number.insert(sp.number, pi);
                repo.pulls.push(pull);
            }
            w.repo_by_name.insert(key, ri);
            w.repos.push(repo);
        }
        w.next_thread_id = thread_id;
        w.reindex();
        Ok(w)
    }

    fn add_oauth_app(&mut self, app: &seed::SeedOAuthApp) -> Result<(), SeedError> {
        let bad_url = app
            .callback_urls
            .iter()
            .find(|u| crate::oauth::wire::Url::parse(u).is_none());
        if let Some(url) = bad_url {
            return Err(SeedError::Invalid {
                field: "callback_urls",
                value: url.clone(),
            });
        }
        if self
            .oauth_apps
            .insert(app.client_id.clone(), app.clone())
            .is_some()
        {
            return Err(SeedError::DuplicateOAuthApp(app.client_id.clone()));
        }
        Ok(())
    }

    fn take_review_id(&mut self) -> u64 {
        let id = self.next_review_id;
        self.next_review_id += 1;
        id
    }

    fn add_user(
        &mut self,
        login: &str,
        id: u64,
        scopes: Option<String>,
        name: Option<String>,
        bot: bool,
    ) -> UserIx {
        let ix = self.users.len();
        self.users.push(User {
            id,
            login: login.into(),
            name,
            node_id: format!(
                "{}_kgDO{}",
                if bot { "BOT" } else { "U" },
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.to_be_bytes())
            ),
            scopes,
            bot,
        });
        self.user_by_login.insert(login.to_lowercase(), ix);
        ix
    }

    /// Rebuilds every derived index (node ids, comment ids, per-pull comment order
    /// and pending reviews) after load or a structural write.
    pub fn reindex(&mut self) {
        let mut nodes = HashMap::new();
        let mut comment_by_id = HashMap::new();
        for (ui, u) in self.users.iter().enumerate() {
            nodes.insert(u.node_id.clone(), NodeRef::User(ui));
        }
        for (ri, r) in self.repos.iter_mut().enumerate() {
            nodes.insert(r.node_id.clone(), NodeRef::Repo(ri));
            for (pi, p) in r.pulls.iter_mut().enumerate() {
                nodes.insert(p.node_id.clone(), NodeRef::Pull(ri, pi));
                for (vi, v) in p.reviews.iter().enumerate() {
                    nodes.insert(v.node_id.clone(), NodeRef::Review(ri, pi, vi));
                }
                for (ti, t) in p.threads.iter().enumerate() {
                    nodes.insert(t.node_id.clone(), NodeRef::Thread(ri, pi, ti));
                    for (ci, c) in t.comments.iter().enumerate() {
                        let cref = CommentRef {
                            repo: ri,
                            pull: pi,
                            thread: ti,
                            comment: ci,
                        };
                        nodes.insert(c.node_id.clone(), NodeRef::Comment(cref));
                        comment_by_id.insert(c.id, cref);
                    }
                }
                p.rebuild_comment_order();
                p.pending = p
                    .reviews
                    .iter()
                    .filter(|v| v.state == "PENDING")
                    .map(|v| (v.id, v.author))
                    .collect();
            }
        }
        self.nodes = nodes;
        self.comment_by_id = comment_by_id;
    }

    pub fn user_for_token(&self, token: &str) -> Option<UserIx> {
        self.token_user.get(token).copied()
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<usize> {
        self.repo_by_name
            .get(&format!("{owner}/{name}").to_lowercase())
            .copied()
    }

    /// The (pull, check) indices of check run `id` in repository `ri`.
    pub fn check_run(&self, ri: usize, id: u64) -> Option<(usize, usize)> {
        self.repos[ri]
            .pulls
            .iter()
            .enumerate()
            .find_map(|(pi, p)| Some((pi, p.checks.iter().position(|c| c.id == id)?)))
    }

    /// Public repos are readable by anyone; private ones by owner, readers, writers.
    pub fn can_read(&self, user: Option<UserIx>, repo: usize) -> bool {
        let r = &self.repos[repo];
        !r.private || user.is_some_and(|u| self.can_write(Some(u), repo) || r.readers.contains(&u))
    }

    /// Owner and writers may write.
    pub fn can_write(&self, user: Option<UserIx>, repo: usize) -> bool {
        let r = &self.repos[repo];
        user.is_some_and(|u| r.owner == u || r.writers.contains(&u))
    }

    pub fn comment(&self, c: CommentRef) -> &Comment {
        &self.repos[c.repo].pulls[c.pull].threads[c.thread].comments[c.comment]
    }

    pub fn thread_of(&self, c: CommentRef) -> &Thread {
        &self.repos[c.repo].pulls[c.pull].threads[c.thread]
    }
}

impl Pull {
    /// Whether `viewer` may see comments submitted with review `review_id`
    /// (a PENDING review is visible only to its author).
    pub fn review_visible(&self, review_id: u64, viewer: Option<UserIx>) -> bool {
        self.pending.is_empty()
            || !self
                .pending
                .iter()
                .any(|&(id, author)| id == review_id && Some(author) != viewer)
    }

    pub fn comment_visible(&self, c: &Comment, viewer: Option<UserIx>) -> bool {
        self.review_visible(c.review_id, viewer)
    }

    /// A thread is visible when its first comment is.
    pub fn thread_visible(&self, t: &Thread, viewer: Option<UserIx>) -> bool {
        t.comments
            .first()
            .is_none_or(|c| self.comment_visible(c, viewer))
    }

    /// Indices of the threads `viewer` may see; `None` means all of them.
    pub fn visible_threads(&self, viewer: Option<UserIx>) -> Option<Vec<usize>> {
        if self.pending.iter().all(|&(_, a)| Some(a) == viewer) {
            return None;
        }
        Some(
            (0..self.threads.len())
                .filter(|&t| self.thread_visible(&self.threads[t], viewer))
                .collect(),
        )
    }

    /// Indices of a thread's comments `viewer` may see; `None` means all of them.
    pub fn visible_comments(&self, t: usize, viewer: Option<UserIx>) -> Option<Vec<usize>> {
        if self.pending.iter().all(|&(_, a)| Some(a) == viewer) {
            return None;
        }
        let th = &self.threads[t];
        Some(
            (0..th.comments.len())
                .filter(|&c| self.comment_visible(&th.comments[c], viewer))
                .collect(),
        )
    }

    /// The PENDING review of `user`, if any (index into `reviews`).
    pub fn pending_review_of(&self, user: UserIx) -> Option<usize> {
        self.reviews
            .iter()
            .position(|v| v.state == "PENDING" && v.author == user)
    }

    /// GraphQL `reviewDecision`: the latest approving or change-requesting review
    /// of each reviewer counts (dismissed and pending ones do not).
    pub fn review_decision(&self) -> &'static str {
        let mut latest: HashMap<UserIx, &str> = HashMap::new();
        let mut order: Vec<&Review> = self.reviews.iter().collect();
        order.sort_by_key(|v| (v.submitted_at, v.id));
        for v in order {
            match v.state.as_str() {
                "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED" => {
                    latest.insert(v.author, v.state.as_str());
                }
                _ => {}
            }
        }
        if latest.values().any(|s| *s == "CHANGES_REQUESTED") {
            "CHANGES_REQUESTED"
        } else if latest.values().any(|s| *s == "APPROVED") {
            "APPROVED"
        } else {
            "REVIEW_REQUIRED"
        }
    }

    /// Recomputes the id-ordered list of all comments.
    pub fn rebuild_comment_order(&mut self) {
        let mut order: Vec<(u64, usize, usize)> = self
            .threads
            .iter()
            .enumerate()
            .flat_map(|(ti, t)| {
                t.comments
                    .iter()
                    .enumerate()
                    .map(move |(ci, c)| (c.id, ti, ci))
            })
            .collect();
        order.sort_unstable();
        self.comment_order = order.into_iter().map(|(_, t, c)| (t, c)).collect();
    }
}

/// A review being created.
#[derive(Debug, Clone)]
pub struct NewReview {
    pub author: UserIx,
    pub body: String,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED` or `PENDING`.
    pub state: &'static str,
    pub threads: Vec<NewThread>,
}

/// A new thread started by a review.
#[derive(Debug, Clone)]
pub struct NewThread {
    pub path: String,
    pub line: Option<u64>,
    pub start_line: Option<u64>,
    pub side: Side,
    pub start_side: Option<Side>,
    pub body: String,
}

/// Why a write was refused; the REST layer answers 422 (`NotFound`: 404) and
/// GraphQL an error whose `type` is `kind()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Unprocessable(String),
    /// A line (or start line) outside the file's diff hunks: REST's 422; GraphQL's
    /// `addPullRequestReviewThread` answers `thread: null` without an error instead.
    #[error("{0}")]
    Unanchored(String),
    #[error("Not Found")]
    NotFound,
}

impl WriteError {
    pub fn kind(&self) -> &'static str {
        match self {
            WriteError::Unprocessable(_) | WriteError::Unanchored(_) => "UNPROCESSABLE",
            WriteError::NotFound => "NOT_FOUND",
        }
    }
}

/// Index of the hunk of `ranges` covering `line` on `side`.
fn hunk_of(
    ranges: &[(std::ops::Range<u64>, std::ops::Range<u64>)],
    side: Side,
    line: u64,
) -> Option<usize> {
    ranges.iter().position(|(old, new)| match side {
        Side::Left => old.contains(&line),
        Side::Right => new.contains(&line),
    })
}

/// Whether a line (and optional start line) lies in the file's diff, with GitHub's
/// message when not: the line in a hunk on its side, the start line in the same
/// hunk. A file without a patch (binary, too large) accepts any line.
pub fn anchor(
    file: &File,
    side: Side,
    line: u64,
    start: Option<(Side, u64)>,
) -> Result<(), &'static str> {
    let Some(patch) = &file.patch else {
        return Ok(());
    };
    let ranges = patch_ranges(patch);
    if ranges.is_empty() {
        return Ok(());
    }
    let Some(h) = hunk_of(&ranges, side, line) else {
        return Err("pull_request_review_thread.line must be part of the diff");
    };
    if let Some((ss, sl)) = start {
        if hunk_of(&ranges, ss, sl) != Some(h) {
            return Err(
                "pull_request_review_thread.start_line must be part of the same hunk as the line.",
            );
        }
    }
    Ok(())
}

/// A file as a simulated push leaves it (`/_double/pulls/.../files`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushedFile {
    pub filename: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub additions: Option<u64>,
    #[serde(default)]
    pub deletions: Option<u64>,
    /// The file's new patch; null: no patch (any line is then in the diff).
    pub patch: Option<String>,
}

fn unprocessable(msg: &str) -> WriteError {
    WriteError::Unprocessable(msg.to_string())
}

/// Line ranges a unified-diff patch covers: (old side, new side).
fn patch_ranges(patch: &str) -> Vec<(std::ops::Range<u64>, std::ops::Range<u64>)> {
    let parse = |s: &str| -> Option<std::ops::Range<u64>> {
        let (start, len) = match s.split_once(',') {
            Some((a, b)) => (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?),
            None => (s.parse::<u64>().ok()?, 1),
        };
        Some(start..start + len)
    };
    patch
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("@@ -")?;
            let (old, rest) = rest.split_once(" +")?;
            let new = rest.split_whitespace().next()?;
            Some((parse(old)?, parse(new)?))
        })
        .collect()
}

impl World {
    fn take_comment_id(&mut self) -> u64 {
        loop {
            let id = self.next_comment_id;
            self.next_comment_id += 1;
            if !self.comment_by_id.contains_key(&id) {
                break id;
            }
        }
    }

    fn new_comment(
        &mut self,
        author: UserIx,
        body: String,
        now: u64,
        review_id: u64,
        reply_to: Option<u64>,
    ) -> Comment {
        let id = self.take_comment_id();
        Comment {
            id,
            node_id: node_id("PRRC", id),
            author,
            body,
            created_at: now,
            updated_at: now,
            review_id,
            reply_to,
        }
    }

    fn push_review(
        &mut self,
        ri: usize,
        pi: usize,
        author: UserIx,
        body: String,
        state: &str,
        now: u64,
    ) -> usize {
        let id = self.take_review_id();
        let pull = &mut self.repos[ri].pulls[pi];
        pull.reviews.push(Review {
            id,
            node_id: node_id("PRR", id),
            author,
            body,
            state: state.into(),
            submitted_at: now,
        });
        pull.reviews.len() - 1
    }

    /// Checks a new thread against the pull request's files and diff, with GitHub's
    /// messages: the path must be a changed file and, when the file has a patch,
    /// the lines must lie in one of its hunks on the given side.
    pub fn validate_thread(&self, ri: usize, pi: usize, t: &NewThread) -> Result<(), WriteError> {
        let pull = &self.repos[ri].pulls[pi];
        let Some(file) = pull.files.iter().find(|f| f.filename == t.path) else {
            return Err(unprocessable("Path could not be resolved"));
        };
        if t.body.trim().is_empty() {
            return Err(unprocessable("Body can't be blank"));
        }
        // No line: a file-level thread.
        let Some(line) = t.line else {
            return Ok(());
        };
        if line == 0 {
            return Err(unprocessable("Line could not be resolved"));
        }
        if let Some(start) = t.start_line {
            if start >= line {
                return Err(unprocessable(
                    "pull_request_review_thread.start_line must precede the end line.",
                ));
            }
        }
        anchor(
            file,
            t.side,
            line,
            t.start_line.map(|l| (t.start_side.unwrap_or(t.side), l)),
        )
        .map_err(|m| WriteError::Unanchored(m.into()))?;
        Ok(())
    }

    /// Appends a thread (its first comment belonging to review `vi`); returns its index.
    fn push_thread(&mut self, ri: usize, pi: usize, vi: usize, nt: NewThread, now: u64) -> usize {
        let tid = self.next_thread_id.max(FIRST_THREAD_ID);
        self.next_thread_id = tid + 1;
        let review = &self.repos[ri].pulls[pi].reviews[vi];
        let (author, review_id) = (review.author, review.id);
        let c = self.new_comment(author, nt.body, now, review_id, None);
        let pull = &mut self.repos[ri].pulls[pi];
        let hunk = pull
            .files
            .iter()
            .find(|f| f.filename == nt.path)
            .and_then(|f| f.patch.clone())
            .unwrap_or_else(|| crate::seed::hunk(&nt.path, nt.line.unwrap_or(1), 4));
        pull.threads.push(Thread {
            id: tid,
            node_id: node_id("PRRT", tid),
            path: nt.path,
            line: nt.line,
            start_line: nt.start_line,
            original_line: nt.line,
            original_start_line: nt.start_line,
            side: nt.side,
            start_side: nt.start_line.map(|_| nt.start_side.unwrap_or(nt.side)),
            file_level: nt.line.is_none(),
            is_resolved: false,
            is_outdated: false,
            resolved_by: None,
            diff_hunk: hunk,
            original_commit: pull.head_sha.clone(),
            comments: vec![c],
        });
        pull.updated_at = pull.updated_at.max(now);
        pull.threads.len() - 1
    }

    /// Appends a reply to the thread holding `to` (in its own COMMENTED review, as
    /// GitHub's REST reply does); refused while the author has a pending review.
    pub fn add_reply(
        &mut self,
        to: CommentRef,
        author: UserIx,
        body: String,
        now: u64,
    ) -> Result<CommentRef, WriteError> {
        if self.repos[to.repo].pulls[to.pull]
            .pending_review_of(author)
            .is_some()
        {
            return Err(unprocessable(
                "user_id can only have one pending review per pull request",
            ));
        }
        let vi = self.push_review(to.repo, to.pull, author, String::new(), "COMMENTED", now);
        Ok(self.reply_in_review(to, vi, body, now))
    }

    /// Appends a reply belonging to review `vi` (pending or submitted).
    pub fn reply_in_review(
        &mut self,
        to: CommentRef,
        vi: usize,
        body: String,
        now: u64,
    ) -> CommentRef {
        let review = &self.repos[to.repo].pulls[to.pull].reviews[vi];
        let (author, review_id) = (review.author, review.id);
        let first = self.thread_of(to).comments[0].id;
        let c = self.new_comment(author, body, now, review_id, Some(first));
        let pull = &mut self.repos[to.repo].pulls[to.pull];
        let thread = &mut pull.threads[to.thread];
        let cref = CommentRef {
            comment: thread.comments.len(),
            ..to
        };
        thread.comments.push(c);
        pull.updated_at = pull.updated_at.max(now);
        self.reindex();
        cref
    }

    /// Creates a review (pending or submitted) with optional new threads, after
    /// GitHub's validations; returns the review index.
    pub fn add_review(
        &mut self,
        ri: usize,
        pi: usize,
        review: NewReview,
        now: u64,
    ) -> Result<usize, WriteError> {
        let NewReview {
            author,
            body,
            state,
            threads,
        } = review;
        let pull = &self.repos[ri].pulls[pi];
        if pull.pending_review_of(author).is_some() {
            return Err(unprocessable(
                "User can only have one pending review per pull request",
            ));
        }
        check_own_pull(pull, author, state)?;
        if matches!(state, "CHANGES_REQUESTED" | "COMMENTED")
            && body.trim().is_empty()
            && threads.is_empty()
        {
            return Err(unprocessable(&format!(
                "Body is required when using {} for the event parameter",
                if state == "COMMENTED" {
                    "COMMENT"
                } else {
                    "REQUEST_CHANGES"
                }
            )));
        }
        for t in &threads {
            self.validate_thread(ri, pi, t)?;
        }
        let vi = self.push_review(ri, pi, author, body, state, now);
        for nt in threads {
            self.push_thread(ri, pi, vi, nt, now);
        }
        if state != "PENDING" {
            self.repos[ri].pulls[pi]
                .requested_reviewers
                .retain(|&u| u != author);
        }
        let pull = &mut self.repos[ri].pulls[pi];
        pull.updated_at = pull.updated_at.max(now);
        self.reindex();
        Ok(vi)
    }

    /// Adds a thread to a PENDING review of `author`; returns the thread index.
    pub fn add_thread_to_pending(
        &mut self,
        ri: usize,
        pi: usize,
        vi: usize,
        author: UserIx,
        nt: NewThread,
        now: u64,
    ) -> Result<usize, WriteError> {
        let v = &self.repos[ri].pulls[pi].reviews[vi];
        if v.author != author {
            return Err(WriteError::NotFound);
        }
        if v.state != "PENDING" {
            return Err(unprocessable("Review has already been submitted."));
        }
        self.validate_thread(ri, pi, &nt)?;
        let ti = self.push_thread(ri, pi, vi, nt, now);
        self.reindex();
        Ok(ti)
    }

    /// Submits `author`'s PENDING review `vi` with `state`.
    pub fn submit_review(
        &mut self,
        ri: usize,
        pi: usize,
        vi: usize,
        state: &'static str,
        body: Option<String>,
        now: u64,
    ) -> Result<(), WriteError> {
        let pull = &self.repos[ri].pulls[pi];
        let v = &pull.reviews[vi];
        if v.state != "PENDING" {
            return Err(unprocessable("Can not submit a non-pending review"));
        }
        check_own_pull(pull, v.author, state)?;
        let body = body.unwrap_or_else(|| v.body.clone());
        let has_comments = pull
            .threads
            .iter()
            .flat_map(|t| &t.comments)
            .any(|c| c.review_id == v.id);
        if state == "CHANGES_REQUESTED" && body.trim().is_empty() && !has_comments {
            return Err(unprocessable(
                "Body is required when using REQUEST_CHANGES for the event parameter",
            ));
        }
        let author = v.author;
        let review_id = v.id;
        let pull = &mut self.repos[ri].pulls[pi];
        // GitHub drops, without a word, the threads this review would start whose
        // line is no longer in the diff (a push moved it out since they were written).
        pull.threads.retain(|t| {
            let starts_here = t.comments.first().is_some_and(|c| c.review_id == review_id);
            !starts_here || t.file_level || !t.is_outdated
        });
        let v = &mut pull.reviews[vi];
        v.state = state.into();
        v.body = body;
        v.submitted_at = now;
        for c in pull.threads.iter_mut().flat_map(|t| &mut t.comments) {
            if c.review_id == review_id {
                c.created_at = now;
                c.updated_at = now;
            }
        }
        pull.requested_reviewers.retain(|&u| u != author);
        pull.updated_at = pull.updated_at.max(now);
        self.reindex();
        Ok(())
    }

    /// Deletes a PENDING review with its comments (and the threads they started).
    pub fn delete_pending_review(
        &mut self,
        ri: usize,
        pi: usize,
        vi: usize,
    ) -> Result<Review, WriteError> {
        let pull = &mut self.repos[ri].pulls[pi];
        if pull.reviews[vi].state != "PENDING" {
            return Err(unprocessable(
                "Can not delete a non-pending pull request review",
            ));
        }
        let review = pull.reviews.remove(vi);
        for t in &mut pull.threads {
            t.comments.retain(|c| c.review_id != review.id);
        }
        pull.threads.retain(|t| !t.comments.is_empty());
        self.reindex();
        Ok(review)
    }

    /// Adds a comment to the pull request's conversation; returns its index.
    pub fn add_issue_comment(
        &mut self,
        ri: usize,
        pi: usize,
        author: UserIx,
        body: String,
        now: u64,
    ) -> usize {
        let id = self.next_issue_comment_id.max(FIRST_ISSUE_COMMENT_ID);
        self.next_issue_comment_id = id + 1;
        let pull = &mut self.repos[ri].pulls[pi];
        pull.issue_comments.push(IssueComment {
            id,
            node_id: node_id("IC", id),
            author,
            body,
            created_at: now,
            updated_at: now,
        });
        pull.updated_at = pull.updated_at.max(now);
        pull.issue_comments.len() - 1
    }

    /// Marks a thread resolved (by `by`) or unresolved (`None`); idempotent: resolving
    /// a resolved thread keeps who resolved it.
    pub fn set_resolved(&mut self, ri: usize, pi: usize, ti: usize, by: Option<UserIx>) {
        let t = &mut self.repos[ri].pulls[pi].threads[ti];
        if by.is_some() && t.is_resolved {
            return;
        }
        t.is_resolved = by.is_some();
        t.resolved_by = by;
    }

    /// Replaces a review comment's body (`updated_at` moves, `created_at` stays).
    pub fn edit_comment(&mut self, c: CommentRef, body: String, now: u64) {
        let pull = &mut self.repos[c.repo].pulls[c.pull];
        let cm = &mut pull.threads[c.thread].comments[c.comment];
        cm.body = body;
        cm.updated_at = now.max(cm.created_at + 1);
        pull.updated_at = pull.updated_at.max(now);
    }

    /// Deletes a review comment; a thread left without comments goes with it, and
    /// when the first comment goes the next one starts the thread.
    pub fn delete_comment(&mut self, c: CommentRef) -> Comment {
        let pull = &mut self.repos[c.repo].pulls[c.pull];
        let thread = &mut pull.threads[c.thread];
        let gone = thread.comments.remove(c.comment);
        if thread.comments.is_empty() {
            pull.threads.remove(c.thread);
        } else if c.comment == 0 {
            let first = thread.comments[0].id;
            thread.comments[0].reply_to = None;
            for cm in &mut thread.comments[1..] {
                cm.reply_to = Some(first);
            }
        }
        self.reindex();
        gone
    }

    /// Simulates a push to the pull request's head: the given files' patches are
    /// replaced (or added), the head moves to `head_sha` (default: derived from the
    /// old one), and every line thread on a changed file whose line is no longer in
    /// its diff becomes outdated (`line`/`start_line` null, `original_*` kept).
    /// Returns the new head sha.
    pub fn push_files(
        &mut self,
        ri: usize,
        pi: usize,
        files: Vec<PushedFile>,
        head_sha: Option<String>,
        now: u64,
    ) -> String {
        let full_name = self.repos[ri].full_name.clone();
        let pull = &mut self.repos[ri].pulls[pi];
        let head = head_sha.unwrap_or_else(|| fake_sha(&format!("{}:push", pull.head_sha)));
        let old = std::mem::replace(&mut pull.head_sha, head.clone());
        pull.past_heads.push(old);
        let mut changed = vec![];
        for pf in files {
            let sha = fake_sha(&format!("{full_name}:{}:{head}", pf.filename));
            let counts = pf.patch.as_deref().map(patch_counts).unwrap_or((0, 0));
            let file = File {
                sha,
                status: pf.status.unwrap_or_else(|| "modified".into()),
                additions: pf.additions.unwrap_or(counts.0),
                deletions: pf.deletions.unwrap_or(counts.1),
                patch: pf.patch,
                previous_filename: None,
                filename: pf.filename,
            };
            changed.push(file.filename.clone());
            match pull.files.iter_mut().find(|f| f.filename == file.filename) {
                Some(f) => {
                    let prev = f.previous_filename.take();
                    *f = File {
                        previous_filename: prev,
                        ..file
                    };
                }
                None => pull.files.push(file),
            }
        }
        for t in &mut pull.threads {
            if t.file_level || t.is_outdated || !changed.contains(&t.path) {
                continue;
            }
            let Some(file) = pull.files.iter().find(|f| f.filename == t.path) else {
                continue;
            };
            let still = t.line.is_some_and(|l| {
                anchor(
                    file,
                    t.side,
                    l,
                    t.start_line.map(|s| (t.start_side.unwrap_or(t.side), s)),
                )
                .is_ok()
            });
            if !still {
                t.is_outdated = true;
                t.line = None;
                t.start_line = None;
            }
        }
        pull.updated_at = pull.updated_at.max(now);
        head
    }
}

/// (additions, deletions) a unified-diff patch shows.
fn patch_counts(patch: &str) -> (u64, u64) {
    patch.lines().fold((0, 0), |(a, d), l| {
        if l.starts_with('+') {
            (a + 1, d)
        } else if l.starts_with('-') {
            (a, d + 1)
        } else {
            (a, d)
        }
    })
}

/// The author of a pull request cannot approve it or request changes on it.
fn check_own_pull(pull: &Pull, author: UserIx, state: &str) -> Result<(), WriteError> {
    if pull.author == author {
        match state {
            "APPROVED" => return Err(unprocessable("Can not approve your own pull request")),
            "CHANGES_REQUESTED" => {
                return Err(unprocessable(
                    "Can not request changes on your own pull request",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{GenerateSpec, SeedPull, SeedRepo, SeedUser};

    fn seed() -> Seed {
        Seed {
            users: vec![
                SeedUser {
                    login: "alice".into(),
                    tokens: vec!["ta".into(), "ta2".into()],
                    ..SeedUser::default()
                },
                SeedUser {
                    login: "bob".into(),
                    tokens: vec!["tb".into()],
                    ..SeedUser::default()
                },
            ],
            repos: vec![
                SeedRepo {
                    owner: "acme".into(),
                    name: "secret".into(),
                    private: true,
                    writers: vec!["alice".into()],
                    pulls: vec![SeedPull {
                        number: 7,
                        author: "alice".into(),
                        state: "open".into(),
                        generate: Some(GenerateSpec {
                            threads: 3,
                            comments_per_thread: 2,
                            body_len: 40,
                            hunk_lines: 4,
                            marker: None,
                            authors: vec![],
                        }),
                        ..SeedPull::default()
                    }],
                    ..SeedRepo::default()
                },
                SeedRepo {
                    owner: "acme".into(),
                    name: "open".into(),
                    ..SeedRepo::default()
                },
            ],
            oauth_apps: vec![],
        }
    }

    #[test]
    fn private_repo_is_readable_only_by_its_people() {
        let w = World::from_seed(&seed()).unwrap();
        let alice = w.user_for_token("ta2");
        let bob = w.user_for_token("tb");
        let secret = w.repo("ACME", "Secret").unwrap();
        let open = w.repo("acme", "open").unwrap();
        assert!(w.can_read(alice, secret));
        assert!(!w.can_read(bob, secret));
        assert!(!w.can_read(None, secret));
        assert!(w.can_read(None, open) && w.can_read(bob, open));
        assert!(!w.can_write(bob, open));
    }

    #[test]
    fn ids_are_unique_deterministic_and_indexed() {
        let a = World::from_seed(&seed()).unwrap();
        let b = World::from_seed(&seed()).unwrap();
        let ids = |w: &World| {
            w.repos[0].pulls[0]
                .threads
                .iter()
                .flat_map(|t| t.comments.iter().map(|c| (c.id, c.node_id.clone())))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(ids(&a).len(), 6);
        for (id, node) in ids(&a) {
            assert!(id > i32::MAX as u64);
            assert!(node.starts_with("PRRC_"));
            let cref = a.comment_by_id[&id];
            assert_eq!(a.comment(cref).id, id);
            assert_eq!(a.nodes[&node], NodeRef::Comment(cref));
        }
        let t = &a.repos[0].pulls[0].threads[0];
        assert!(t.node_id.starts_with("PRRT_"));
        assert_eq!(t.comments[1].reply_to, Some(t.comments[0].id));
    }

    #[test]
    fn duplicate_tokens_are_rejected() {
        let mut s = seed();
        s.users[1].tokens.push("ta".into());
        assert!(matches!(
            World::from_seed(&s),
            Err(SeedError::DuplicateToken(_))
        ));
    }

    #[test]
    fn a_reply_joins_its_thread_and_the_id_index() {
        let mut w = World::from_seed(&seed()).unwrap();
        let first = w.repos[0].pulls[0].threads[1].comments[0].id;
        let to = w.comment_by_id[&first];
        let bob = w.user_by_login["bob"];
        let cref = w.add_reply(to, bob, "ok".into(), 5).unwrap();
        let c = w.comment(cref);
        assert_eq!((c.body.as_str(), c.reply_to), ("ok", Some(first)));
        assert_eq!(w.comment_by_id[&c.id], cref);
        assert_eq!(w.repos[0].pulls[0].comment_order.len(), 7);
    }
}
