//! Each tool's facts, declared once: its name, whether it writes, the GitHub
//! permissions it needs, and the line the README's tool table shows. The HTTP gate
//! (which tools need `review:write`), `run` (audit and write rules), `doctor`, the
//! sign-in's `scopes_supported`, the README and the tests read them here; a unit
//! test holds the router, its annotations and this list to each other.

use crate::auth::signin::{SCOPE_READ, SCOPE_WRITE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    /// The sign-in scope a caller needs for the tool.
    pub fn scope(self) -> &'static str {
        match self {
            Access::Read => SCOPE_READ,
            Access::Write => SCOPE_WRITE,
        }
    }
}

#[derive(Debug)]
pub struct ToolFacts {
    pub name: &'static str,
    pub access: Access,
    /// Fine-grained token and GitHub App permissions (classic tokens: `repo`, or
    /// `public_repo` for public repositories).
    pub permissions: &'static [&'static str],
    /// The README's line for the tool.
    pub summary: &'static str,
}

const PR_READ: &[&str] = &["Pull requests: read"];
const PR_WRITE: &[&str] = &["Pull requests: write"];

pub const CATALOG: &[ToolFacts] = &[
    ToolFacts {
        name: "resolve_open_pr_url",
        access: Access::Read,
        permissions: PR_READ,
        summary: "The open PR of `owner`/`repo`/`branch` (over stdio they default to the git repository the server runs in). `select_strategy`: `branch` (default), `latest`, `first`, `error`.",
    },
    ToolFacts {
        name: "fetch_pr_review_comments",
        access: Access::Read,
        permissions: PR_READ,
        summary: "Every review comment grouped by thread: file, line range, diff hunk (once per thread), author (bots marked), resolved/outdated state, replies. `output`: `markdown` (default), `json`, `both`. Filters `include_resolved`, `include_outdated`, `path`, `author`, `exclude_author`, `exclude_bots`, `only_bots`, `since`; `order` `newest_first`; `changes_since` (the cursor a fetch returns: only what changed); `max_output_bytes` (default 60000) with a `next_cursor` that continues exactly at the cut.",
    },
    ToolFacts {
        name: "list_review_threads",
        access: Access::Read,
        permissions: PR_READ,
        summary: "Threads with id, location, state and first comment only, filtered (`is_resolved`, `is_outdated`, `path`, `author`) and paged by `cursor`: the cheap way to find open threads.",
    },
    ToolFacts {
        name: "get_pull_request",
        access: Access::Read,
        permissions: PR_READ,
        summary: "Title, state, draft, author, base/head, mergeability, body, review decision, requested reviewers, changed files (optionally each file's patch, bounded by `max_patch_bytes`).",
    },
    ToolFacts {
        name: "list_pr_reviews",
        access: Access::Read,
        permissions: PR_READ,
        summary: "Every review: state, author, body, submitted_at, comment count.",
    },
    ToolFacts {
        name: "get_pending_review",
        access: Access::Read,
        permissions: PR_READ,
        summary: "Your pending (unsubmitted) review with its comments, their ids and lines: what to edit, delete or submit.",
    },
    ToolFacts {
        name: "get_pr_checks",
        access: Access::Read,
        permissions: &["Checks: read", "Commit statuses: read", "Actions: read"],
        summary: "Check runs and commit statuses of the head commit, summarised (overall, passed/failed/pending). `include_failure_details` adds, for failed runs, their annotations (up to 50) and the last `max_log_bytes` (default 4000) of the GitHub Actions job's log, timestamps and colours removed, fenced like comments; the log is downloaded from GitHub's signed link without your token.",
    },
    ToolFacts {
        name: "whoami",
        access: Access::Read,
        permissions: &[],
        summary: "Login, host, where the token came from (`meta`, `header`, `bearer`, `server`, `oauth`), its kind, an 8-hex fingerprint (the one in the logs), OAuth scopes, core and GraphQL rate limits. Never the token.",
    },
    ToolFacts {
        name: "reply_to_review_comment",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Reply in a thread (`comment_id`: the numeric id).",
    },
    ToolFacts {
        name: "resolve_review_thread",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Resolve a thread by id (`PRRT_...`); idempotent.",
    },
    ToolFacts {
        name: "unresolve_review_thread",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Reopen a thread by id; idempotent.",
    },
    ToolFacts {
        name: "create_pr_review",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "`event` `APPROVE`/`REQUEST_CHANGES`/`COMMENT` (omit for a pending review), `body`, inline `comments` on a line, a range or a whole file (`subject_type: file`), each with an optional `suggestion`. Every position is checked against the diff first: a miss posts nothing and names the nearest commentable ranges. With a pending review already open it says so, or adds to it with `add_to_pending`.",
    },
    ToolFacts {
        name: "add_pending_review_comment",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Add an inline comment (checked against the diff like `create_pr_review`'s) to your pending review.",
    },
    ToolFacts {
        name: "update_pending_review_comment",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Change the body of a comment of your pending review.",
    },
    ToolFacts {
        name: "delete_pending_review_comment",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Delete a comment of your pending review.",
    },
    ToolFacts {
        name: "submit_pending_review",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Submit your pending review with an event and an optional body.",
    },
    ToolFacts {
        name: "delete_pending_review",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Delete your pending review and its comments.",
    },
    ToolFacts {
        name: "add_issue_comment",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "A comment on the PR conversation.",
    },
    ToolFacts {
        name: "reply_and_resolve",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Reply in a thread, then resolve it, in one call; both outcomes reported (a reply that fails resolves nothing; a resolve that fails leaves the reply and says so).",
    },
    ToolFacts {
        name: "resolve_review_threads",
        access: Access::Write,
        permissions: PR_WRITE,
        summary: "Resolve (or `resolve: false`: reopen) 1 to 50 threads at once; each thread's outcome in order, and any failure makes the result an error naming it.",
    },
];

/// The facts of tool `name`.
pub fn facts(name: &str) -> Option<&'static ToolFacts> {
    CATALOG.iter().find(|t| t.name == name)
}

/// Whether tool `name` writes; an unknown name counts as a write (fail closed).
pub fn is_write(name: &str) -> bool {
    facts(name).is_none_or(|t| t.access == Access::Write)
}

/// The names of the tools that write.
pub fn write_tools() -> impl Iterator<Item = &'static str> {
    CATALOG
        .iter()
        .filter(|t| t.access == Access::Write)
        .map(|t| t.name)
}

/// The sign-in scopes the tools need, read first: the metadata's `scopes_supported`.
pub fn scopes() -> Vec<&'static str> {
    let mut scopes: Vec<&str> = Vec::new();
    for access in [Access::Read, Access::Write] {
        if CATALOG.iter().any(|t| t.access == access) {
            scopes.push(access.scope());
        }
    }
    scopes
}

/// The fine-grained permissions the tools of `access` need, each once.
pub fn permissions(access: Access) -> Vec<&'static str> {
    let mut all: Vec<&str> = CATALOG
        .iter()
        .filter(|t| access == Access::Write || t.access == Access::Read)
        .flat_map(|t| t.permissions.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The README's tool table (between its `tools:begin` and `tools:end` markers).
pub fn readme_table() -> String {
    let mut table = String::from("| Tool | Access | Needs | What it does |\n|---|---|---|---|\n");
    for t in CATALOG {
        let access = match t.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        let needs = if t.permissions.is_empty() {
            "nothing".to_owned()
        } else {
            t.permissions.join(", ")
        };
        table.push_str(&format!(
            "| `{}` | {access} | {needs} | {} |\n",
            t.name, t.summary
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_unknown_tools_count_as_writes() {
        let mut names: Vec<&str> = CATALOG.iter().map(|t| t.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a tool listed twice");
        assert!(is_write("no_such_tool"));
        assert!(!is_write("whoami"));
        assert!(is_write("create_pr_review"));
    }

    #[test]
    fn the_scopes_offered_are_the_sign_in_scopes() {
        assert_eq!(scopes(), crate::auth::signin::SCOPES);
    }

    #[test]
    fn write_permissions_include_the_read_ones() {
        let read = permissions(Access::Read);
        let write = permissions(Access::Write);
        assert!(read.iter().all(|p| write.contains(p)));
        assert!(write.contains(&"Pull requests: write"));
        assert!(!read.contains(&"Pull requests: write"));
    }

    #[test]
    fn the_readme_table_is_the_catalog() {
        let readme = include_str!("../../../../README.md");
        let begin = "<!-- tools:begin (generated from tools/catalog.rs; a test checks it) -->\n";
        let start = readme
            .find(begin)
            .expect("README has the tools:begin marker")
            + begin.len();
        let end = readme[start..]
            .find("<!-- tools:end -->")
            .expect("README has the tools:end marker");
        let expected = readme_table();
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
            let updated = format!("{}{expected}{}", &readme[..start], &readme[start + end..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert_eq!(
            &readme[start..start + end],
            expected,
            "README's tool table differs from tools/catalog.rs; run UPDATE_SNAPSHOTS=1 cargo test -p github-review-mcp --lib catalog"
        );
    }
}
