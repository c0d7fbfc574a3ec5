//! GraphQL object types: a subset of GitHub's schema with the same type, field
//! and argument names. Objects hold a world snapshot and indices into it.

use std::sync::Arc;

use async_graphql::{Context, Enum, Interface, Object, Result, Scalar, ScalarType, Value, ID};

use super::connection::{connection, typed_error, Args};
use crate::cache::{Hole, HoleCounter};
use crate::state::Ctx;
use crate::time::rfc3339;
use crate::world::{CommentRef, NodeRef, PullState, Side, UserIx, World};

pub fn ctx<'a>(c: &'a Context<'_>) -> &'a Ctx {
    c.data_unchecked::<Ctx>()
}

/// Resolves a nullable field to `null` and records `err` at its path, as GitHub
/// does for `NOT_FOUND` (`{"repository": null}` plus an error).
pub fn null_with_error<T>(c: &Context<'_>, err: async_graphql::Error) -> Result<Option<T>> {
    c.add_error(c.set_error_path(err.into_server_error(c.item.pos)));
    Ok(None)
}

macro_rules! string_scalar {
    ($name:ident, $gql:literal) => {
        /// A string-serialised GitHub scalar.
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name(pub String);

        #[Scalar(name = $gql)]
        impl ScalarType for $name {
            fn parse(value: Value) -> async_graphql::InputValueResult<Self> {
                match value {
                    Value::String(s) => Ok($name(s)),
                    Value::Number(n) => Ok($name(n.to_string())),
                    other => Err(async_graphql::InputValueError::expected_type(other)),
                }
            }
            fn to_value(&self) -> Value {
                Value::String(self.0.clone())
            }
        }
    };
}

string_scalar!(DateTime, "DateTime");
string_scalar!(Uri, "URI");
string_scalar!(BigInt, "BigInt");
string_scalar!(GitObjectId, "GitObjectID");
string_scalar!(Html, "HTML");

fn time(t: u64) -> DateTime {
    DateTime(rfc3339(t))
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DiffSide {
    Left,
    Right,
}

impl From<Side> for DiffSide {
    fn from(s: Side) -> Self {
        match s {
            Side::Left => DiffSide::Left,
            Side::Right => DiffSide::Right,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PullRequestState {
    Closed,
    Merged,
    Open,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PullRequestReviewThreadSubjectType {
    File,
    Line,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PullRequestReviewCommentState {
    Pending,
    Submitted,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PullRequestReviewDecision {
    Approved,
    ChangesRequested,
    ReviewRequired,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PullRequestReviewState {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
    Pending,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CommentAuthorAssociation {
    Collaborator,
    Contributor,
    FirstTimer,
    FirstTimeContributor,
    Mannequin,
    Member,
    None,
    Owner,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RepositoryPermission {
    Admin,
    Maintain,
    Read,
    Triage,
    Write,
}

fn association(w: &World, ri: usize, u: UserIx) -> CommentAuthorAssociation {
    match crate::rest::json::association(w, ri, u) {
        "OWNER" => CommentAuthorAssociation::Owner,
        "COLLABORATOR" => CommentAuthorAssociation::Collaborator,
        _ => CommentAuthorAssociation::Contributor,
    }
}

/// `Node`.
#[derive(Interface, Clone)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    User(User),
    Bot(Bot),
    Repository(Repository),
    PullRequest(PullRequest),
    PullRequestReviewThread(PullRequestReviewThread),
    PullRequestReviewComment(PullRequestReviewComment),
    PullRequestReview(PullRequestReview),
}

/// `Actor`.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface, Clone)]
#[graphql(
    field(name = "login", ty = "String"),
    field(name = "url", ty = "Uri"),
    field(name = "resource_path", ty = "Uri"),
    field(
        name = "avatar_url",
        ty = "Uri",
        arg(name = "size", ty = "Option<i32>")
    )
)]
pub enum Actor {
    User(User),
    Bot(Bot),
}

/// `RepositoryOwner`.
#[allow(clippy::duplicated_attributes)]
#[derive(Interface, Clone)]
#[graphql(
    field(name = "id", ty = "ID"),
    field(name = "login", ty = "String"),
    field(name = "url", ty = "Uri"),
    field(name = "resource_path", ty = "Uri"),
    field(
        name = "avatar_url",
        ty = "Uri",
        arg(name = "size", ty = "Option<i32>")
    )
)]
pub enum RepositoryOwner {
    User(User),
}

/// `User`.
#[derive(Clone)]
pub struct User {
    pub w: Arc<World>,
    pub u: UserIx,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.w.users[self.u].node_id.clone())
    }
    async fn database_id(&self) -> Option<i32> {
        i32::try_from(self.w.users[self.u].id).ok()
    }
    async fn login(&self) -> String {
        self.w.users[self.u].login.clone()
    }
    async fn name(&self) -> Option<String> {
        self.w.users[self.u].name.clone()
    }
    async fn url(&self) -> Uri {
        Uri(format!("{}/{}", self.w.web, self.w.users[self.u].login))
    }
    async fn resource_path(&self) -> Uri {
        Uri(format!("/{}", self.w.users[self.u].login))
    }
    /// The repositories the user owns or collaborates on (GitHub's default
    /// `ownerAffiliations`: OWNER, COLLABORATOR), by name; another user's private
    /// ones only to a viewer who can read them.
    async fn repositories(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        last: Option<i32>,
        after: Option<String>,
        before: Option<String>,
    ) -> Result<RepositoryConnection> {
        let viewer = ctx(c).caller.user;
        let w = &self.w;
        let mut repos: Vec<usize> = (0..w.repos.len())
            .filter(|&r| {
                let repo = &w.repos[r];
                (repo.owner == self.u
                    || repo.writers.contains(&self.u)
                    || repo.readers.contains(&self.u))
                    && w.can_read(viewer, r)
            })
            .collect();
        repos.sort_by_key(|&r| w.repos[r].full_name.to_lowercase());
        let args = Args::new(c, first, last, after, before);
        RepositoryConnection::build(repos.len(), &args, "repositories", |i| Repository {
            w: w.clone(),
            r: repos[i],
        })
    }
    async fn avatar_url(&self, size: Option<i32>) -> Uri {
        let s = size.map(|s| format!("&s={s}")).unwrap_or_default();
        Uri(format!(
            "https://avatars.githubusercontent.com/u/{}?v=4{s}",
            self.w.users[self.u].id
        ))
    }
}

fn actor(w: &Arc<World>, u: UserIx) -> Actor {
    if w.users[u].bot {
        Actor::Bot(Bot { w: w.clone(), u })
    } else {
        Actor::User(User { w: w.clone(), u })
    }
}

/// `Bot`: a GitHub App's account. Its login has no `[bot]` suffix (REST's has),
/// its URL is the app's page.
#[derive(Clone)]
pub struct Bot {
    pub w: Arc<World>,
    pub u: UserIx,
}

#[Object]
impl Bot {
    async fn id(&self) -> ID {
        ID(self.w.users[self.u].node_id.clone())
    }
    async fn database_id(&self) -> Option<i32> {
        i32::try_from(self.w.users[self.u].id).ok()
    }
    async fn login(&self) -> &str {
        self.w.users[self.u].graphql_login()
    }
    async fn url(&self) -> Uri {
        Uri(format!(
            "{}/apps/{}",
            self.w.web,
            self.w.users[self.u].graphql_login()
        ))
    }
    async fn resource_path(&self) -> Uri {
        Uri(format!("/apps/{}", self.w.users[self.u].graphql_login()))
    }
    async fn avatar_url(&self, size: Option<i32>) -> Uri {
        let s = size.map(|s| format!("&s={s}")).unwrap_or_default();
        Uri(format!(
            "https://avatars.githubusercontent.com/in/{}?v=4{s}",
            self.w.users[self.u].id
        ))
    }
    async fn created_at(&self) -> DateTime {
        DateTime("2020-01-01T00:00:00Z".into())
    }
    async fn updated_at(&self) -> DateTime {
        DateTime("2025-01-01T00:00:00Z".into())
    }
}

/// `Repository`.
#[derive(Clone)]
pub struct Repository {
    pub w: Arc<World>,
    pub r: usize,
}

connection!(PullRequestConnection, PullRequestEdge, PullRequest);
connection!(RepositoryConnection, RepositoryEdge, Repository);
connection!(
    PullRequestReviewThreadConnection,
    PullRequestReviewThreadEdge,
    PullRequestReviewThread
);
connection!(
    PullRequestReviewCommentConnection,
    PullRequestReviewCommentEdge,
    PullRequestReviewComment
);
connection!(
    PullRequestReviewConnection,
    PullRequestReviewEdge,
    PullRequestReview
);

#[Object]
impl Repository {
    async fn id(&self) -> ID {
        ID(self.w.repos[self.r].node_id.clone())
    }
    async fn database_id(&self) -> Option<i32> {
        i32::try_from(self.w.repos[self.r].id).ok()
    }
    async fn name(&self) -> &str {
        &self.w.repos[self.r].name
    }
    async fn name_with_owner(&self) -> &str {
        &self.w.repos[self.r].full_name
    }
    async fn owner(&self) -> RepositoryOwner {
        RepositoryOwner::User(User {
            w: self.w.clone(),
            u: self.w.repos[self.r].owner,
        })
    }
    async fn description(&self) -> Option<&str> {
        self.w.repos[self.r].description.as_deref()
    }
    async fn is_private(&self) -> bool {
        self.w.repos[self.r].private
    }
    async fn url(&self) -> Uri {
        Uri(format!("{}/{}", self.w.web, self.w.repos[self.r].full_name))
    }
    async fn viewer_permission(&self, c: &Context<'_>) -> Option<RepositoryPermission> {
        let viewer = ctx(c).caller.user;
        let repo = &self.w.repos[self.r];
        if viewer == Some(repo.owner) {
            Some(RepositoryPermission::Admin)
        } else if self.w.can_write(viewer, self.r) {
            Some(RepositoryPermission::Write)
        } else if self.w.can_read(viewer, self.r) {
            Some(RepositoryPermission::Read)
        } else {
            None
        }
    }
    async fn pull_request(&self, c: &Context<'_>, number: i32) -> Result<Option<PullRequest>> {
        let repo = &self.w.repos[self.r];
        match u64::try_from(number)
            .ok()
            .and_then(|n| repo.pull_by_number.get(&n))
        {
            Some(&p) => Ok(Some(PullRequest {
                w: self.w.clone(),
                r: self.r,
                p,
            })),
            None => null_with_error(
                c,
                typed_error(
                    "NOT_FOUND",
                    format!("Could not resolve to a PullRequest with the number of {number}."),
                ),
            ),
        }
    }
    #[allow(clippy::too_many_arguments)]
    async fn pull_requests(
        &self,
        c: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        states: Option<Vec<PullRequestState>>,
        head_ref_name: Option<String>,
        base_ref_name: Option<String>,
    ) -> Result<PullRequestConnection> {
        let repo = &self.w.repos[self.r];
        let picked: Vec<usize> = (0..repo.pulls.len())
            .filter(|&i| {
                let p = &repo.pulls[i];
                states
                    .as_ref()
                    .is_none_or(|s| s.contains(&pull_state(p.state)))
                    && head_ref_name.as_ref().is_none_or(|h| &p.head == h)
                    && base_ref_name.as_ref().is_none_or(|b| &p.base == b)
            })
            .collect();
        let args = Args::new(c, first, last, after, before);
        PullRequestConnection::build(picked.len(), &args, "pullRequests", |i| PullRequest {
            w: self.w.clone(),
            r: self.r,
            p: picked[i],
        })
    }
}

fn pull_state(s: PullState) -> PullRequestState {
    match s {
        PullState::Open => PullRequestState::Open,
        PullState::Closed => PullRequestState::Closed,
        PullState::Merged => PullRequestState::Merged,
    }
}

/// `PullRequest`.
#[derive(Clone)]
pub struct PullRequest {
    pub w: Arc<World>,
    pub r: usize,
    pub p: usize,
}

impl PullRequest {
    fn pull(&self) -> &crate::world::Pull {
        &self.w.repos[self.r].pulls[self.p]
    }
}

#[Object]
impl PullRequest {
    async fn id(&self) -> ID {
        ID(self.pull().node_id.clone())
    }
    async fn database_id(&self) -> Option<i32> {
        i32::try_from(self.pull().id).ok()
    }
    async fn full_database_id(&self) -> Option<BigInt> {
        Some(BigInt(self.pull().id.to_string()))
    }
    async fn number(&self) -> i32 {
        self.pull().number as i32
    }
    async fn title(&self) -> &str {
        &self.pull().title
    }
    async fn body(&self) -> &str {
        self.pull().body.as_deref().unwrap_or("")
    }
    async fn body_text(&self) -> &str {
        self.pull().body.as_deref().unwrap_or("")
    }
    async fn url(&self) -> Uri {
        Uri(format!(
            "{}/{}/pull/{}",
            self.w.web,
            self.w.repos[self.r].full_name,
            self.pull().number
        ))
    }
    async fn permalink(&self) -> Uri {
        Uri(format!(
            "{}/{}/pull/{}",
            self.w.web,
            self.w.repos[self.r].full_name,
            self.pull().number
        ))
    }
    async fn state(&self) -> PullRequestState {
        pull_state(self.pull().state)
    }
    async fn is_draft(&self) -> bool {
        self.pull().draft
    }
    async fn closed(&self) -> bool {
        self.pull().state != PullState::Open
    }
    async fn merged(&self) -> bool {
        self.pull().state == PullState::Merged
    }
    async fn author(&self) -> Option<Actor> {
        Some(actor(&self.w, self.pull().author))
    }
    async fn author_association(&self) -> CommentAuthorAssociation {
        association(&self.w, self.r, self.pull().author)
    }
    async fn base_ref_name(&self) -> &str {
        &self.pull().base
    }
    async fn head_ref_name(&self) -> &str {
        &self.pull().head
    }
    async fn head_ref_oid(&self) -> GitObjectId {
        GitObjectId(self.pull().head_sha.clone())
    }
    async fn base_ref_oid(&self) -> GitObjectId {
        GitObjectId(self.pull().base_sha.clone())
    }
    async fn created_at(&self) -> DateTime {
        time(self.pull().created_at)
    }
    async fn updated_at(&self) -> DateTime {
        time(self.pull().updated_at)
    }
    async fn additions(&self) -> i32 {
        self.pull().files.iter().map(|f| f.additions as i32).sum()
    }
    async fn deletions(&self) -> i32 {
        self.pull().files.iter().map(|f| f.deletions as i32).sum()
    }
    async fn changed_files(&self) -> i32 {
        self.pull().files.len() as i32
    }
    async fn repository(&self) -> Repository {
        Repository {
            w: self.w.clone(),
            r: self.r,
        }
    }
    async fn review_threads(
        &self,
        c: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<PullRequestReviewThreadConnection> {
        let args = Args::new(c, first, last, after, before);
        let pull = self.pull();
        let visible = pull.visible_threads(ctx(c).caller.user);
        let total = visible.as_ref().map_or(pull.threads.len(), Vec::len);
        PullRequestReviewThreadConnection::build(total, &args, "reviewThreads", |i| {
            PullRequestReviewThread {
                w: self.w.clone(),
                r: self.r,
                p: self.p,
                t: visible.as_ref().map_or(i, |v| v[i]),
            }
        })
    }
    /// The current status of this pull request with respect to code review.
    async fn review_decision(&self) -> Option<PullRequestReviewDecision> {
        if !self.w.repos[self.r].requires_review {
            return None;
        }
        Some(match self.pull().review_decision() {
            "APPROVED" => PullRequestReviewDecision::Approved,
            "CHANGES_REQUESTED" => PullRequestReviewDecision::ChangesRequested,
            _ => PullRequestReviewDecision::ReviewRequired,
        })
    }
    #[allow(clippy::too_many_arguments)]
    async fn reviews(
        &self,
        c: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        author: Option<String>,
        states: Option<Vec<PullRequestReviewState>>,
    ) -> Result<Option<PullRequestReviewConnection>> {
        let pull = self.pull();
        let viewer = ctx(c).caller.user;
        let picked: Vec<usize> = (0..pull.reviews.len())
            .filter(|&i| {
                let rv = &pull.reviews[i];
                pull.review_visible(rv.id, viewer)
                    && author.as_ref().is_none_or(|a| {
                        let u = &self.w.users[rv.author];
                        u.login.eq_ignore_ascii_case(a) || u.graphql_login().eq_ignore_ascii_case(a)
                    })
                    && states
                        .as_ref()
                        .is_none_or(|s| s.contains(&review_state(&rv.state)))
            })
            .collect();
        let args = Args::new(c, first, last, after, before);
        PullRequestReviewConnection::build(picked.len(), &args, "reviews", |i| PullRequestReview {
            w: self.w.clone(),
            r: self.r,
            p: self.p,
            v: picked[i],
        })
        .map(Some)
    }
}

fn review_state(s: &str) -> PullRequestReviewState {
    match s {
        "APPROVED" => PullRequestReviewState::Approved,
        "CHANGES_REQUESTED" => PullRequestReviewState::ChangesRequested,
        "DISMISSED" => PullRequestReviewState::Dismissed,
        "PENDING" => PullRequestReviewState::Pending,
        _ => PullRequestReviewState::Commented,
    }
}

/// `PullRequestReviewThread`.
#[derive(Clone)]
pub struct PullRequestReviewThread {
    pub w: Arc<World>,
    pub r: usize,
    pub p: usize,
    pub t: usize,
}

impl PullRequestReviewThread {
    fn thread(&self) -> &crate::world::Thread {
        &self.w.repos[self.r].pulls[self.p].threads[self.t]
    }
}

#[Object]
impl PullRequestReviewThread {
    async fn id(&self) -> ID {
        ID(self.thread().node_id.clone())
    }
    async fn path(&self) -> &str {
        &self.thread().path
    }
    async fn line(&self) -> Option<i32> {
        self.thread().line.map(|l| l as i32)
    }
    async fn start_line(&self) -> Option<i32> {
        self.thread().start_line.map(|l| l as i32)
    }
    async fn original_line(&self) -> Option<i32> {
        self.thread().original_line.map(|l| l as i32)
    }
    async fn original_start_line(&self) -> Option<i32> {
        self.thread().original_start_line.map(|l| l as i32)
    }
    async fn diff_side(&self) -> DiffSide {
        self.thread().side.into()
    }
    async fn start_diff_side(&self) -> Option<DiffSide> {
        self.thread().start_side.map(Into::into)
    }
    async fn subject_type(&self) -> PullRequestReviewThreadSubjectType {
        if self.thread().file_level {
            PullRequestReviewThreadSubjectType::File
        } else {
            PullRequestReviewThreadSubjectType::Line
        }
    }
    async fn is_resolved(&self) -> bool {
        self.thread().is_resolved
    }
    async fn is_outdated(&self) -> bool {
        self.thread().is_outdated
    }
    async fn is_collapsed(&self) -> bool {
        self.thread().is_resolved
    }
    async fn resolved_by(&self) -> Option<User> {
        self.thread().resolved_by.map(|u| User {
            w: self.w.clone(),
            u,
        })
    }
    async fn viewer_can_reply(&self, c: &Context<'_>) -> bool {
        self.w.can_write(ctx(c).caller.user, self.r)
    }
    async fn viewer_can_resolve(&self, c: &Context<'_>) -> bool {
        !self.thread().is_resolved && self.w.can_write(ctx(c).caller.user, self.r)
    }
    async fn viewer_can_unresolve(&self, c: &Context<'_>) -> bool {
        self.thread().is_resolved && self.w.can_write(ctx(c).caller.user, self.r)
    }
    async fn pull_request(&self) -> PullRequest {
        PullRequest {
            w: self.w.clone(),
            r: self.r,
            p: self.p,
        }
    }
    async fn repository(&self) -> Repository {
        Repository {
            w: self.w.clone(),
            r: self.r,
        }
    }
    async fn comments(
        &self,
        c: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        skip: Option<i32>,
    ) -> Result<PullRequestReviewCommentConnection> {
        let skip = skip.unwrap_or(0).max(0) as usize;
        let pull = &self.w.repos[self.r].pulls[self.p];
        let visible = pull.visible_comments(self.t, ctx(c).caller.user);
        let total = visible
            .as_ref()
            .map_or(self.thread().comments.len(), Vec::len);
        let args = Args::new(c, first, last, after, before);
        let mut conn = PullRequestReviewCommentConnection::build(
            total.saturating_sub(skip),
            &args,
            "comments",
            |i| PullRequestReviewComment {
                w: self.w.clone(),
                c: CommentRef {
                    repo: self.r,
                    pull: self.p,
                    thread: self.t,
                    comment: visible.as_ref().map_or(i + skip, |v| v[i + skip]),
                },
            },
        )?;
        conn.total = total;
        Ok(conn)
    }
}

/// `PullRequestReviewComment`.
#[derive(Clone)]
pub struct PullRequestReviewComment {
    pub w: Arc<World>,
    pub c: CommentRef,
}

impl PullRequestReviewComment {
    fn comment(&self) -> &crate::world::Comment {
        self.w.comment(self.c)
    }
    fn thread(&self) -> &crate::world::Thread {
        self.w.thread_of(self.c)
    }
    fn pending(&self) -> bool {
        let pull = &self.w.repos[self.c.repo].pulls[self.c.pull];
        let id = self.comment().review_id;
        pull.pending.iter().any(|&(r, _)| r == id)
    }
}

#[Object]
impl PullRequestReviewComment {
    async fn id(&self) -> ID {
        ID(self.comment().node_id.clone())
    }
    #[graphql(
        deprecation = "`databaseId` will be removed because it does not support 64-bit signed integer identifiers. Use `fullDatabaseId` instead."
    )]
    async fn database_id(&self) -> Option<i32> {
        i32::try_from(self.comment().id).ok()
    }
    async fn full_database_id(&self) -> Option<BigInt> {
        Some(BigInt(self.comment().id.to_string()))
    }
    async fn author(&self) -> Option<Actor> {
        Some(actor(&self.w, self.comment().author))
    }
    async fn author_association(&self) -> CommentAuthorAssociation {
        association(&self.w, self.c.repo, self.comment().author)
    }
    async fn body(&self) -> &str {
        &self.comment().body
    }
    async fn body_text(&self) -> &str {
        &self.comment().body
    }
    #[graphql(name = "bodyHTML")]
    async fn body_html(&self) -> Html {
        let b = self
            .comment()
            .body
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        Html(format!("<p dir=\"auto\">{b}</p>"))
    }
    async fn created_at(&self) -> DateTime {
        time(self.comment().created_at)
    }
    async fn updated_at(&self) -> DateTime {
        time(self.comment().updated_at)
    }
    async fn published_at(&self) -> Option<DateTime> {
        (!self.pending()).then(|| time(self.comment().created_at))
    }
    async fn last_edited_at(&self) -> Option<DateTime> {
        let c = self.comment();
        (c.updated_at > c.created_at).then(|| time(c.updated_at))
    }
    async fn url(&self) -> Uri {
        let r = &self.w.repos[self.c.repo];
        Uri(format!(
            "{}/{}/pull/{}#discussion_r{}",
            self.w.web,
            r.full_name,
            r.pulls[self.c.pull].number,
            self.comment().id
        ))
    }
    async fn diff_hunk(&self) -> &str {
        &self.thread().diff_hunk
    }
    async fn outdated(&self) -> bool {
        self.thread().is_outdated
    }
    async fn path(&self) -> &str {
        &self.thread().path
    }
    async fn line(&self) -> Option<i32> {
        self.thread().line.map(|l| l as i32)
    }
    async fn original_line(&self) -> Option<i32> {
        self.thread().original_line.map(|l| l as i32)
    }
    async fn start_line(&self) -> Option<i32> {
        self.thread().start_line.map(|l| l as i32)
    }
    async fn original_start_line(&self) -> Option<i32> {
        self.thread().original_start_line.map(|l| l as i32)
    }
    async fn state(&self) -> PullRequestReviewCommentState {
        if self.pending() {
            PullRequestReviewCommentState::Pending
        } else {
            PullRequestReviewCommentState::Submitted
        }
    }
    async fn subject_type(&self) -> PullRequestReviewThreadSubjectType {
        if self.thread().file_level {
            PullRequestReviewThreadSubjectType::File
        } else {
            PullRequestReviewThreadSubjectType::Line
        }
    }
    async fn is_minimized(&self) -> bool {
        false
    }
    async fn minimized_reason(&self) -> Option<String> {
        None
    }
    async fn viewer_did_author(&self, c: &Context<'_>) -> bool {
        ctx(c).caller.user == Some(self.comment().author)
    }
    async fn viewer_can_update(&self, c: &Context<'_>) -> bool {
        ctx(c).caller.user == Some(self.comment().author)
    }
    async fn viewer_can_delete(&self, c: &Context<'_>) -> bool {
        ctx(c).caller.user == Some(self.comment().author)
            || self.w.can_write(ctx(c).caller.user, self.c.repo)
    }
    async fn reply_to(&self) -> Option<PullRequestReviewComment> {
        let to = self.comment().reply_to?;
        let c = *self.w.comment_by_id.get(&to)?;
        Some(PullRequestReviewComment {
            w: self.w.clone(),
            c,
        })
    }
    async fn pull_request(&self) -> PullRequest {
        PullRequest {
            w: self.w.clone(),
            r: self.c.repo,
            p: self.c.pull,
        }
    }
    async fn pull_request_review(&self) -> Option<PullRequestReview> {
        let pull = &self.w.repos[self.c.repo].pulls[self.c.pull];
        let id = self.comment().review_id;
        let v = pull.reviews.iter().position(|r| r.id == id)?;
        Some(PullRequestReview {
            w: self.w.clone(),
            r: self.c.repo,
            p: self.c.pull,
            v,
        })
    }
    async fn repository(&self) -> Repository {
        Repository {
            w: self.w.clone(),
            r: self.c.repo,
        }
    }
}

/// `PullRequestReview`.
#[derive(Clone)]
pub struct PullRequestReview {
    pub w: Arc<World>,
    pub r: usize,
    pub p: usize,
    pub v: usize,
}

impl PullRequestReview {
    fn review(&self) -> &crate::world::Review {
        &self.w.repos[self.r].pulls[self.p].reviews[self.v]
    }
}

#[Object]
impl PullRequestReview {
    async fn id(&self) -> ID {
        ID(self.review().node_id.clone())
    }
    async fn database_id(&self) -> Option<i32> {
        i32::try_from(self.review().id).ok()
    }
    async fn full_database_id(&self) -> Option<BigInt> {
        Some(BigInt(self.review().id.to_string()))
    }
    async fn author(&self) -> Option<Actor> {
        Some(actor(&self.w, self.review().author))
    }
    async fn author_association(&self) -> CommentAuthorAssociation {
        association(&self.w, self.r, self.review().author)
    }
    async fn body(&self) -> &str {
        &self.review().body
    }
    async fn state(&self) -> PullRequestReviewState {
        review_state(&self.review().state)
    }
    async fn submitted_at(&self) -> Option<DateTime> {
        (self.review().state != "PENDING").then(|| time(self.review().submitted_at))
    }
    async fn created_at(&self) -> DateTime {
        time(self.review().submitted_at)
    }
    async fn url(&self) -> Uri {
        let r = &self.w.repos[self.r];
        Uri(format!(
            "{}/{}/pull/{}#pullrequestreview-{}",
            self.w.web,
            r.full_name,
            r.pulls[self.p].number,
            self.review().id
        ))
    }
    async fn pull_request(&self) -> PullRequest {
        PullRequest {
            w: self.w.clone(),
            r: self.r,
            p: self.p,
        }
    }
    async fn comments(
        &self,
        c: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> Result<PullRequestReviewCommentConnection> {
        let pull = &self.w.repos[self.r].pulls[self.p];
        let id = self.review().id;
        let picked: Vec<(usize, usize)> = pull
            .comment_order
            .iter()
            .copied()
            .filter(|&(t, c)| pull.threads[t].comments[c].review_id == id)
            .collect();
        let args = Args::new(c, first, last, after, before);
        PullRequestReviewCommentConnection::build(picked.len(), &args, "comments", |i| {
            PullRequestReviewComment {
                w: self.w.clone(),
                c: CommentRef {
                    repo: self.r,
                    pull: self.p,
                    thread: picked[i].0,
                    comment: picked[i].1,
                },
            }
        })
    }
}

/// `RateLimit`. With `holes` (response-cache template mode) the per-request
/// values are sentinels the cache fills in for each request.
pub struct RateLimit {
    pub quota: crate::ratelimit::Quota,
    pub cost: i32,
    pub holes: Option<Arc<HoleCounter>>,
}

impl RateLimit {
    fn int(&self, h: Hole, real: u64) -> i32 {
        match &self.holes {
            Some(c) => {
                c.hit(h);
                h.sentinel_int()
            }
            None => real as i32,
        }
    }
}

#[Object]
impl RateLimit {
    async fn cost(&self) -> i32 {
        self.cost
    }
    async fn limit(&self) -> i32 {
        self.int(Hole::Limit, self.quota.limit)
    }
    async fn remaining(&self) -> i32 {
        self.int(Hole::Remaining, self.quota.remaining())
    }
    async fn used(&self) -> i32 {
        self.int(Hole::Used, self.quota.used)
    }
    async fn reset_at(&self) -> DateTime {
        match &self.holes {
            Some(c) => {
                c.hit(Hole::ResetAt);
                DateTime(Hole::RESET_AT_VALUE.to_string())
            }
            None => time(self.quota.reset),
        }
    }
    async fn node_count(&self) -> i32 {
        1
    }
}

/// Resolves a node id the caller may see.
pub fn node(w: &Arc<World>, viewer: Option<UserIx>, id: &str) -> Result<Node> {
    let not_found = || {
        typed_error(
            "NOT_FOUND",
            format!("Could not resolve to a node with the global id of '{id}'"),
        )
    };
    let r = *w.nodes.get(id).ok_or_else(not_found)?;
    let repo = match r {
        NodeRef::User(_) => None,
        NodeRef::Repo(r)
        | NodeRef::Pull(r, _)
        | NodeRef::Thread(r, _, _)
        | NodeRef::Review(r, _, _) => Some(r),
        NodeRef::Comment(c) => Some(c.repo),
    };
    if repo.is_some_and(|r| !w.can_read(viewer, r)) {
        return Err(not_found());
    }
    let hidden = match r {
        NodeRef::Thread(r, p, t) => {
            let pull = &w.repos[r].pulls[p];
            !pull.thread_visible(&pull.threads[t], viewer)
        }
        NodeRef::Comment(c) => {
            let pull = &w.repos[c.repo].pulls[c.pull];
            !pull.comment_visible(w.comment(c), viewer)
        }
        NodeRef::Review(r, p, v) => {
            let pull = &w.repos[r].pulls[p];
            !pull.review_visible(pull.reviews[v].id, viewer)
        }
        _ => false,
    };
    if hidden {
        return Err(not_found());
    }
    let w = w.clone();
    Ok(match r {
        NodeRef::User(u) if w.users[u].bot => Node::Bot(Bot { w, u }),
        NodeRef::User(u) => Node::User(User { w, u }),
        NodeRef::Repo(r) => Node::Repository(Repository { w, r }),
        NodeRef::Pull(r, p) => Node::PullRequest(PullRequest { w, r, p }),
        NodeRef::Thread(r, p, t) => {
            Node::PullRequestReviewThread(PullRequestReviewThread { w, r, p, t })
        }
        NodeRef::Comment(c) => Node::PullRequestReviewComment(PullRequestReviewComment { w, c }),
        NodeRef::Review(r, p, v) => Node::PullRequestReview(PullRequestReview { w, r, p, v }),
    })
}
