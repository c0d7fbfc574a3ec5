//! REST response bodies shaped like the schemas in GitHub's OpenAPI description.
//! API URLs are built from the base the caller used; `html_url`s point at github.com.

use serde_json::{json, Value};

use crate::time::rfc3339;
use crate::world::{
    Annotation, CheckRun, Comment, CommentRef, CommitStatus, File, IssueComment, Pull, PullState,
    Repo, Review, Thread, UserIx, World,
};

/// `simple-user`.
/// The web origin beside an API base: `http://h:p/api/v3` → `http://h:p`.
fn web_origin(base: &str) -> &str {
    base.strip_suffix("/api/v3").unwrap_or(base)
}

/// `simple-user`: `type` is `Bot` for a GitHub App's account, whose login keeps its
/// `[bot]` suffix and whose page is the app's (`/apps/slug`), as on GitHub.
pub fn simple_user(w: &World, base: &str, u: UserIx) -> Value {
    let u = &w.users[u];
    if !u.bot {
        return user_object(base, &u.login, u.id, &u.node_id, "User");
    }
    let mut v = user_object(base, &u.login, u.id, &u.node_id, "Bot");
    let escaped = u.login.replace('[', "%5B").replace(']', "%5D");
    if let Value::Object(m) = &mut v {
        for (_, val) in m.iter_mut() {
            if let Value::String(s) = val {
                if s.starts_with(base) {
                    *s = s.replace(&format!("/users/{}", u.login), &format!("/users/{escaped}"));
                }
            }
        }
        m.insert(
            "html_url".into(),
            Value::String(format!("{}/apps/{}", web_origin(base), u.graphql_login())),
        );
        m.insert(
            "avatar_url".into(),
            Value::String(format!(
                "https://avatars.githubusercontent.com/in/{}?v=4",
                u.id
            )),
        );
    }
    v
}

/// A `simple-user`-shaped object for any account.
fn user_object(base: &str, l: &str, id: u64, node_id: &str, kind: &str) -> Value {
    let web = web_origin(base);
    json!({
        "login": l, "id": id, "node_id": node_id,
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": format!("{base}/users/{l}"),
        "html_url": format!("{web}/{l}"),
        "followers_url": format!("{base}/users/{l}/followers"),
        "following_url": format!("{base}/users/{l}/following{{/other_user}}"),
        "gists_url": format!("{base}/users/{l}/gists{{/gist_id}}"),
        "starred_url": format!("{base}/users/{l}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{base}/users/{l}/subscriptions"),
        "organizations_url": format!("{base}/users/{l}/orgs"),
        "repos_url": format!("{base}/users/{l}/repos"),
        "events_url": format!("{base}/users/{l}/events{{/privacy}}"),
        "received_events_url": format!("{base}/users/{l}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// `private-user` for `GET /user`.
pub fn private_user(w: &World, base: &str, ui: UserIx) -> Value {
    let mut v = simple_user(w, base, ui);
    let u = &w.users[ui];
    let owned_private = w
        .repos
        .iter()
        .filter(|r| r.owner == ui && r.private)
        .count();
    let public = w
        .repos
        .iter()
        .filter(|r| r.owner == ui && !r.private)
        .count();
    let extra = json!({
        "name": u.name, "company": null, "blog": "", "location": null, "email": null,
        "hireable": null, "bio": null, "twitter_username": null, "notification_email": null,
        "public_repos": public, "public_gists": 0, "followers": 0, "following": 0,
        "created_at": "2020-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
        "private_gists": 0, "total_private_repos": owned_private,
        "owned_private_repos": owned_private, "disk_usage": 0, "collaborators": 0,
        "two_factor_authentication": true,
        "plan": {"name": "pro", "space": 976562499, "private_repos": 9999, "collaborators": 0},
    });
    merge(&mut v, extra);
    v
}

fn merge(v: &mut Value, extra: Value) {
    if let (Value::Object(a), Value::Object(b)) = (v, extra) {
        a.extend(b);
    }
}

/// `full-repository` (also satisfies `repository`, used in pull heads and bases).
pub fn repo(w: &World, base: &str, ri: usize, viewer: Option<UserIx>) -> Value {
    let web = w.web.as_str();
    let r: &Repo = &w.repos[ri];
    let f = &r.full_name;
    let api = format!("{base}/repos/{f}");
    let open = r
        .pulls
        .iter()
        .filter(|p| p.state == PullState::Open)
        .count();
    let write = w.can_write(viewer, ri);
    let admin = viewer == Some(r.owner);
    json!({
        "id": r.id, "node_id": r.node_id, "name": r.name, "full_name": f,
        "owner": simple_user(w, base, r.owner),
        "private": r.private, "html_url": format!("{web}/{f}"),
        "description": r.description, "fork": false, "url": api,
        "archive_url": format!("{api}/{{archive_format}}{{/ref}}"),
        "assignees_url": format!("{api}/assignees{{/user}}"),
        "blobs_url": format!("{api}/git/blobs{{/sha}}"),
        "branches_url": format!("{api}/branches{{/branch}}"),
        "collaborators_url": format!("{api}/collaborators{{/collaborator}}"),
        "comments_url": format!("{api}/comments{{/number}}"),
        "commits_url": format!("{api}/commits{{/sha}}"),
        "compare_url": format!("{api}/compare/{{base}}...{{head}}"),
        "contents_url": format!("{api}/contents/{{+path}}"),
        "contributors_url": format!("{api}/contributors"),
        "deployments_url": format!("{api}/deployments"),
        "downloads_url": format!("{api}/downloads"),
        "events_url": format!("{api}/events"),
        "forks_url": format!("{api}/forks"),
        "git_commits_url": format!("{api}/git/commits{{/sha}}"),
        "git_refs_url": format!("{api}/git/refs{{/sha}}"),
        "git_tags_url": format!("{api}/git/tags{{/sha}}"),
        "git_url": format!("git://github.com/{f}.git"),
        "issue_comment_url": format!("{api}/issues/comments{{/number}}"),
        "issue_events_url": format!("{api}/issues/events{{/number}}"),
        "issues_url": format!("{api}/issues{{/number}}"),
        "keys_url": format!("{api}/keys{{/key_id}}"),
        "labels_url": format!("{api}/labels{{/name}}"),
        "languages_url": format!("{api}/languages"),
        "merges_url": format!("{api}/merges"),
        "milestones_url": format!("{api}/milestones{{/number}}"),
        "notifications_url": format!("{api}/notifications{{?since,all,participating}}"),
        "pulls_url": format!("{api}/pulls{{/number}}"),
        "releases_url": format!("{api}/releases{{/id}}"),
        "ssh_url": format!("git@github.com:{f}.git"),
        "stargazers_url": format!("{api}/stargazers"),
        "statuses_url": format!("{api}/statuses/{{sha}}"),
        "subscribers_url": format!("{api}/subscribers"),
        "subscription_url": format!("{api}/subscription"),
        "tags_url": format!("{api}/tags"),
        "teams_url": format!("{api}/teams"),
        "trees_url": format!("{api}/git/trees{{/sha}}"),
        "clone_url": format!("{web}/{f}.git"),
        "mirror_url": null, "hooks_url": format!("{api}/hooks"),
        "svn_url": format!("{web}/{f}"), "homepage": null, "language": "Rust",
        "forks_count": 0, "forks": 0, "stargazers_count": 0, "watchers_count": 0,
        "watchers": 0, "subscribers_count": 1, "network_count": 0, "size": 108,
        "default_branch": r.default_branch, "open_issues_count": open, "open_issues": open,
        "is_template": false, "topics": [], "has_issues": true, "has_projects": true,
        "has_wiki": true, "has_pages": false, "has_downloads": true, "has_discussions": false,
        "archived": false, "disabled": false,
        "visibility": if r.private { "private" } else { "public" },
        "pushed_at": "2026-01-01T00:00:00Z", "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "permissions": {"admin": admin, "maintain": admin, "push": write, "triage": write,
            "pull": w.can_read(viewer, ri)},
        "allow_rebase_merge": true, "allow_squash_merge": true, "allow_merge_commit": true,
        "allow_auto_merge": false, "delete_branch_on_merge": false, "allow_forking": true,
        "web_commit_signoff_required": false, "license": null,
    })
}

fn pull_state(p: &Pull) -> &'static str {
    if p.state == PullState::Open {
        "open"
    } else {
        "closed"
    }
}

/// `pull-request-simple` (lists) or `pull-request` (`full`).
pub fn pull(
    w: &World,
    base: &str,
    ri: usize,
    pi: usize,
    viewer: Option<UserIx>,
    full: bool,
) -> Value {
    let web = w.web.as_str();
    let r = &w.repos[ri];
    let p = &r.pulls[pi];
    let f = &r.full_name;
    let n = p.number;
    let api = format!("{base}/repos/{f}");
    let html = format!("{web}/{f}/pull/{n}");
    let merged = p.state == PullState::Merged;
    let closed_at = (p.state != PullState::Open).then(|| rfc3339(p.updated_at));
    let repo_json = repo(w, base, ri, viewer);
    let side = |label_owner: UserIx, r#ref: &str, sha: &str| {
        json!({
            "label": format!("{}:{}", w.users[label_owner].login, r#ref),
            "ref": r#ref, "sha": sha,
            "user": simple_user(w, base, label_owner),
            "repo": repo_json,
        })
    };
    let mut v = json!({
        "url": format!("{api}/pulls/{n}"), "id": p.id, "node_id": p.node_id,
        "html_url": html, "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"),
        "issue_url": format!("{api}/issues/{n}"),
        "commits_url": format!("{api}/pulls/{n}/commits"),
        "review_comments_url": format!("{api}/pulls/{n}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{api}/issues/{n}/comments"),
        "statuses_url": format!("{api}/statuses/{}", p.head_sha),
        "number": n, "state": pull_state(p), "locked": false, "title": p.title,
        "user": simple_user(w, base, p.author), "body": p.body,
        "labels": [], "milestone": null, "active_lock_reason": null,
        "created_at": rfc3339(p.created_at), "updated_at": rfc3339(p.updated_at),
        "closed_at": closed_at, "merged_at": if merged { closed_at.clone() } else { None },
        "merge_commit_sha": if merged { Some(crate::world::fake_sha(&format!("{f}#{n}:merge"))) } else { None },
        "assignee": null, "assignees": [],
        "requested_reviewers": p.requested_reviewers.iter().map(|&u| simple_user(w, base, u)).collect::<Vec<_>>(),
        "requested_teams": p.requested_teams.iter().map(|t| team(w, base, ri, t)).collect::<Vec<_>>(),
        "head": side(p.head_owner, &p.head, &p.head_sha),
        "base": side(r.owner, &p.base, &p.base_sha),
        "_links": {
            "self": {"href": format!("{api}/pulls/{n}")},
            "html": {"href": html},
            "issue": {"href": format!("{api}/issues/{n}")},
            "comments": {"href": format!("{api}/issues/{n}/comments")},
            "review_comments": {"href": format!("{api}/pulls/{n}/comments")},
            "review_comment": {"href": format!("{api}/pulls/comments{{/number}}")},
            "commits": {"href": format!("{api}/pulls/{n}/commits")},
            "statuses": {"href": format!("{api}/statuses/{}", p.head_sha)},
        },
        "author_association": association(w, ri, p.author),
        "auto_merge": null, "draft": p.draft,
    });
    if full {
        let comments: usize =
            p.threads.iter().map(|t| t.comments.len()).sum::<usize>() - pending_comments(p);
        merge(
            &mut v,
            json!({
                "merged": merged, "mergeable": p.mergeable,
                "rebaseable": p.mergeable, "mergeable_state": p.mergeable_state,
                "merged_by": if merged { Some(simple_user(w, base, r.owner)) } else { None },
                "comments": p.issue_comments.len(), "review_comments": comments, "maintainer_can_modify": false,
                "commits": 1,
                "additions": p.files.iter().map(|f| f.additions).sum::<u64>(),
                "deletions": p.files.iter().map(|f| f.deletions).sum::<u64>(),
                "changed_files": p.files.len(),
            }),
        );
    }
    v
}

/// `author_association` of a user towards a repository.
pub fn association(w: &World, ri: usize, u: UserIx) -> &'static str {
    let r = &w.repos[ri];
    if r.owner == u {
        "OWNER"
    } else if r.writers.contains(&u) || r.readers.contains(&u) {
        "COLLABORATOR"
    } else {
        "CONTRIBUTOR"
    }
}

/// `pull-request-review-comment`.
pub fn review_comment(w: &World, base: &str, c: CommentRef) -> Value {
    let web = w.web.as_str();
    let r = &w.repos[c.repo];
    let p = &r.pulls[c.pull];
    let t: &Thread = &p.threads[c.thread];
    let cm: &Comment = &t.comments[c.comment];
    let api = format!("{base}/repos/{}", r.full_name);
    let n = p.number;
    let html = format!("{web}/{}/pull/{n}#discussion_r{}", r.full_name, cm.id);
    let first = c.comment == 0;
    let mut v = json!({
        "url": format!("{api}/pulls/comments/{}", cm.id),
        "pull_request_review_id": cm.review_id, "id": cm.id, "node_id": cm.node_id,
        "diff_hunk": t.diff_hunk, "path": t.path,
        "position": if t.is_outdated { None } else { Some(t.diff_hunk.lines().count().saturating_sub(1).max(1)) },
        "original_position": t.diff_hunk.lines().count().saturating_sub(1).max(1),
        "commit_id": if t.is_outdated { &t.original_commit } else { &p.head_sha },
        "original_commit_id": t.original_commit,
        "user": simple_user(w, base, cm.author), "body": cm.body,
        "created_at": rfc3339(cm.created_at), "updated_at": rfc3339(cm.updated_at),
        "html_url": html, "pull_request_url": format!("{api}/pulls/{n}"),
        "author_association": association(w, c.repo, cm.author),
        "_links": {
            "self": {"href": format!("{api}/pulls/comments/{}", cm.id)},
            "html": {"href": html},
            "pull_request": {"href": format!("{api}/pulls/{n}")},
        },
        "start_line": t.start_line, "original_start_line": t.original_start_line,
        "start_side": t.start_side.map(|s| s.as_str()),
        "line": t.line, "original_line": t.original_line, "side": t.side.as_str(),
        "subject_type": if t.file_level { "file" } else { "line" },
        "reactions": {
            "url": format!("{api}/pulls/comments/{}/reactions", cm.id),
            "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0,
            "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0,
        },
    });
    if !first {
        if let Some(to) = cm.reply_to {
            merge(&mut v, json!({"in_reply_to_id": to}));
        }
    }
    if let Value::Object(m) = &mut v {
        if t.file_level {
            for k in [
                "line",
                "original_line",
                "start_line",
                "original_start_line",
                "start_side",
                "position",
            ] {
                m.insert(k.into(), Value::Null);
            }
        }
        // The OpenAPI description types these as non-nullable integers: omit instead
        // of null (GitHub itself sends null for outdated comments; clients must take both).
        for k in ["line", "original_line", "position"] {
            if m.get(k).is_some_and(Value::is_null) {
                m.remove(k);
            }
        }
    }
    v
}

/// `pull-request-review`.
pub fn review(w: &World, base: &str, ri: usize, pi: usize, rv: &Review) -> Value {
    let web = w.web.as_str();
    let r = &w.repos[ri];
    let p = &r.pulls[pi];
    let n = p.number;
    let api = format!("{base}/repos/{}", r.full_name);
    let html = format!("{web}/{}/pull/{n}#pullrequestreview-{}", r.full_name, rv.id);
    let pending = rv.state == "PENDING";
    let mut v = json!({
        "id": rv.id, "node_id": rv.node_id, "user": simple_user(w, base, rv.author),
        "body": rv.body, "state": rv.state, "html_url": html,
        "pull_request_url": format!("{api}/pulls/{n}"),
        "author_association": association(w, ri, rv.author),
        "_links": {"html": {"href": html}, "pull_request": {"href": format!("{api}/pulls/{n}")}},
        "submitted_at": rfc3339(rv.submitted_at),
        "commit_id": p.head_sha,
    });
    // GitHub sends no `submitted_at` for a pending review.
    if let (true, Value::Object(m)) = (pending, &mut v) {
        m.remove("submitted_at");
    }
    v
}

/// `diff-entry`.
pub fn file(w: &World, base: &str, ri: usize, pi: usize, f: &File) -> Value {
    let web = w.web.as_str();
    let r = &w.repos[ri];
    let sha = &r.pulls[pi].head_sha;
    let full = &r.full_name;
    let mut v = json!({
        "sha": f.sha, "filename": f.filename, "status": f.status,
        "additions": f.additions, "deletions": f.deletions, "changes": f.additions + f.deletions,
        "blob_url": format!("{web}/{full}/blob/{sha}/{}", f.filename),
        "raw_url": format!("{web}/{full}/raw/{sha}/{}", f.filename),
        "contents_url": format!("{base}/repos/{full}/contents/{}?ref={sha}", f.filename),
    });
    if let Some(patch) = &f.patch {
        merge(&mut v, json!({"patch": patch}));
    }
    if let Some(prev) = &f.previous_filename {
        merge(&mut v, json!({"previous_filename": prev}));
    }
    v
}

/// `rate-limit-overview`.
pub fn rate_limit(core: &crate::ratelimit::Quota, graphql: &crate::ratelimit::Quota) -> Value {
    let q = |q: &crate::ratelimit::Quota| json!({"limit": q.limit, "used": q.used, "remaining": q.remaining(), "reset": q.reset});
    let fixed = |limit: u64, reset: u64| json!({"limit": limit, "used": 0, "remaining": limit, "reset": reset});
    let reset = core.reset;
    json!({
        "resources": {
            "core": q(core), "graphql": q(graphql),
            "search": fixed(30, reset), "code_search": fixed(10, reset),
            "integration_manifest": fixed(5000, reset), "source_import": fixed(100, reset),
            "code_scanning_upload": fixed(1000, reset), "actions_runner_registration": fixed(10000, reset),
            "scim": fixed(15000, reset), "dependency_snapshots": fixed(100, reset),
        },
        "rate": q(core),
    })
}

/// Comments in pending reviews (not counted in `review_comments`).
fn pending_comments(p: &Pull) -> usize {
    if p.pending.is_empty() {
        return 0;
    }
    p.threads
        .iter()
        .flat_map(|t| &t.comments)
        .filter(|c| p.pending.iter().any(|&(id, _)| id == c.review_id))
        .count()
}

fn small_hash(s: &str) -> u64 {
    let d = sha2::Sha256::digest(s.as_bytes());
    1_000_000 + u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 9_000_000)
}

/// `team-simple` of a team in the repository owner's organisation.
pub fn team(w: &World, base: &str, ri: usize, slug: &str) -> Value {
    let web = w.web.as_str();
    let r = &w.repos[ri];
    let org = &w.users[r.owner];
    let id = small_hash(&format!("{}/{slug}", org.login));
    let api = format!("{base}/organizations/{}/team/{id}", org.id);
    json!({
        "id": id, "node_id": crate::world::node_id("T", id), "url": api, "parent": null,
        "organization_id": org.id,
        "members_url": format!("{api}/members{{/member}}"),
        "name": slug, "slug": slug, "description": null, "permission": "pull",
        "privacy": "closed", "notification_setting": "notifications_enabled",
        "html_url": format!("{web}/orgs/{}/teams/{slug}", org.login),
        "repositories_url": format!("{api}/repos"), "type": "organization",
    })
}

use sha2::Digest;

/// Pull requests a ref (sha or branch) of repository `ri` points at, and the sha.
pub fn pulls_at_ref(w: &World, ri: usize, r#ref: &str) -> Option<(Vec<usize>, String)> {
    let r = &w.repos[ri];
    let heads: Vec<usize> = (0..r.pulls.len())
        .filter(|&i| r.pulls[i].head_sha == r#ref || r.pulls[i].head == r#ref)
        .collect();
    if let Some(&first) = heads.first() {
        return Some((heads, r.pulls[first].head_sha.clone()));
    }
    r.pulls
        .iter()
        .find(|p| p.base_sha == r#ref || p.base == r#ref)
        .map(|p| (vec![], p.base_sha.clone()))
}

/// `check-run`.
pub fn check_run(w: &World, base: &str, ri: usize, pi: usize, c: &CheckRun) -> Value {
    let web = w.web.as_str();
    let r = &w.repos[ri];
    let p = &r.pulls[pi];
    let api = format!("{base}/repos/{}", r.full_name);
    let app_id = small_hash(&c.app);
    let mini = |rf: &str, sha: &str| json!({"ref": rf, "sha": sha, "repo": {"id": r.id, "url": api, "name": r.name}});
    let suite = c.id + 1_000_000_000;
    // An Actions job's page is under its workflow run (the suite stands in for it).
    let html_url = if c.app == crate::world::ACTIONS_APP {
        format!("{web}/{}/actions/runs/{suite}/job/{}", r.full_name, c.id)
    } else {
        format!("{web}/{}/runs/{}", r.full_name, c.id)
    };
    json!({
        "id": c.id, "node_id": c.node_id, "head_sha": p.head_sha, "external_id": "",
        "url": format!("{api}/check-runs/{}", c.id),
        "html_url": html_url,
        "details_url": c.details_url.clone().unwrap_or_else(|| html_url.clone()),
        "status": c.status, "conclusion": c.conclusion,
        "started_at": rfc3339(c.started_at), "completed_at": c.completed_at.map(rfc3339),
        "output": {
            "title": c.title, "summary": c.summary, "text": c.text,
            "annotations_count": c.annotations.len(),
            "annotations_url": format!("{api}/check-runs/{}/annotations", c.id),
        },
        "name": c.name,
        "check_suite": {"id": suite},
        "app": {
            "id": app_id, "slug": c.app, "node_id": crate::world::node_id("A", app_id),
            "owner": user_object(base, "github", 9919, "MDEyOk9yZ2FuaXphdGlvbjk5MTk=", "Organization"),
            "name": c.app, "description": "", "external_url": format!("{web}/apps/{}", c.app),
            "html_url": format!("{web}/apps/{}", c.app),
            "created_at": "2018-07-30T09:30:17Z", "updated_at": "2024-01-01T00:00:00Z",
            "permissions": {"checks": "write", "contents": "write", "metadata": "read", "pull_requests": "write", "statuses": "write"},
            "events": ["check_run", "check_suite", "pull_request", "push"],
        },
        "pull_requests": if p.state == PullState::Open { vec![json!({
            "url": format!("{api}/pulls/{}", p.number), "id": p.id, "number": p.number,
            "head": mini(&p.head, &p.head_sha), "base": mini(&p.base, &p.base_sha),
        })] } else { vec![] },
    })
}

/// `check-annotation`.
pub fn check_annotation(w: &World, ri: usize, pi: usize, a: &Annotation) -> Value {
    let r = &w.repos[ri];
    json!({
        "path": a.path, "start_line": a.start_line, "end_line": a.end_line,
        "start_column": a.start_column, "end_column": a.end_column,
        "annotation_level": a.level, "title": a.title, "message": a.message,
        "raw_details": a.raw_details,
        "blob_href": format!("{}/{}/blob/{}/{}", w.web, r.full_name, r.pulls[pi].head_sha, a.path),
    })
}

/// `simple-commit-status`.
pub fn commit_status(base: &str, ri_full: &str, sha: &str, s: &CommitStatus) -> Value {
    json!({
        "url": format!("{base}/repos/{ri_full}/statuses/{sha}"),
        "avatar_url": "https://avatars.githubusercontent.com/u/9919?v=4",
        "id": s.id, "node_id": s.node_id, "state": s.state, "description": s.description,
        "target_url": s.target_url, "context": s.context,
        "created_at": rfc3339(s.created_at), "updated_at": rfc3339(s.created_at),
    })
}

/// The latest status per context, newest first, and GitHub's combined state.
pub fn latest_statuses(statuses: &[CommitStatus]) -> (Vec<&CommitStatus>, &'static str) {
    let mut latest: Vec<&CommitStatus> = vec![];
    let mut sorted: Vec<&CommitStatus> = statuses.iter().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse((s.created_at, s.id)));
    for s in sorted {
        if !latest.iter().any(|l| l.context == s.context) {
            latest.push(s);
        }
    }
    let state = if latest.is_empty() {
        "pending"
    } else if latest
        .iter()
        .any(|s| matches!(s.state.as_str(), "error" | "failure"))
    {
        "failure"
    } else if latest.iter().any(|s| s.state == "pending") {
        "pending"
    } else {
        "success"
    };
    (latest, state)
}

/// `issue-comment`.
pub fn issue_comment(w: &World, base: &str, ri: usize, pi: usize, c: &IssueComment) -> Value {
    let web = w.web.as_str();
    let r = &w.repos[ri];
    let n = r.pulls[pi].number;
    let api = format!("{base}/repos/{}", r.full_name);
    json!({
        "id": c.id, "node_id": c.node_id,
        "url": format!("{api}/issues/comments/{}", c.id),
        "html_url": format!("{web}/{}/pull/{n}#issuecomment-{}", r.full_name, c.id),
        "body": c.body, "user": simple_user(w, base, c.author),
        "created_at": rfc3339(c.created_at), "updated_at": rfc3339(c.updated_at),
        "issue_url": format!("{api}/issues/{n}"),
        "author_association": association(w, ri, c.author),
        "reactions": {
            "url": format!("{api}/issues/comments/{}/reactions", c.id),
            "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0,
            "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0,
        },
    })
}
