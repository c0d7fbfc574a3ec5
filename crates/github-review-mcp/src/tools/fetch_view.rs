//! What `fetch_pr_review_comments` does with the threads it read before it renders
//! them: `since`, the order, `changes_since` (a snapshot kept in the state layer,
//! so any replica can answer the next read), and the output budget, cut between
//! threads or between the comments of a thread, with a cursor that continues
//! exactly at the cut.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::TokenId;
use crate::model::ReviewThread;
use crate::state::{Space, Store};

/// How long a `changes_cursor` can be used.
const SNAPSHOT_TTL: Duration = Duration::from_secs(24 * 3600);
const CHANGES_PREFIX: &str = "grm_cs_";
const CURSOR_PREFIX: &str = "grm_pg_";
/// What the page's header and closing lines take, beside the threads.
const PAGE_OVERHEAD: usize = 1_200;

/// Keeps threads with a comment at or after `since`; returns how many it dropped.
pub fn since(threads: &mut Vec<ReviewThread>, since: jiff::Timestamp) -> u32 {
    let before = threads.len();
    threads.retain(|t| {
        t.comments.iter().any(|c| {
            c.created_at
                .parse::<jiff::Timestamp>()
                .is_ok_and(|at| at >= since)
        })
    });
    (before - threads.len()) as u32
}

/// Latest activity first (the newest comment of each thread); ties keep GitHub's order.
pub fn newest_first(threads: &mut [ReviewThread]) {
    let latest = |t: &ReviewThread| {
        t.comments
            .iter()
            .filter_map(|c| c.created_at.parse::<jiff::Timestamp>().ok())
            .max()
    };
    threads.sort_by_cached_key(|t| std::cmp::Reverse(latest(t)));
}

/// What a read saw of one thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    /// Comments in the thread.
    n: u32,
    /// The last comment's node id.
    last: String,
    resolved: bool,
    outdated: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    pr: String,
    token: String,
    threads: BTreeMap<String, Mark>,
}

fn mark(t: &ReviewThread) -> Mark {
    Mark {
        n: t.comments.len() as u32,
        last: t
            .comments
            .last()
            .map(|c| c.node_id.clone())
            .unwrap_or_default(),
        resolved: t.is_resolved,
        outdated: t.is_outdated,
    }
}

/// Stores what `threads` show and returns the cursor that names it. The key is a
/// hash of the caller, the pull request and the state, so reading an unchanged
/// pull request again stores nothing new.
pub async fn save(
    store: &dyn Store,
    token: TokenId,
    pr: &str,
    threads: &[ReviewThread],
) -> Result<String, crate::state::StateError> {
    let snapshot = Snapshot {
        pr: pr.to_owned(),
        token: token.hex(),
        threads: threads.iter().map(|t| (t.id.clone(), mark(t))).collect(),
    };
    let bytes = serde_json::to_vec(&snapshot).unwrap_or_default();
    let key = hex::encode(&Sha256::digest(&bytes)[..16]);
    store
        .put(Space::ReviewSnapshot, &key, &bytes, SNAPSHOT_TTL)
        .await?;
    Ok(format!("{CHANGES_PREFIX}{key}"))
}

/// Keeps the threads that are new or changed since the snapshot `cursor` names,
/// and returns the ids of the snapshot's threads that are gone.
pub async fn changed_since(
    store: &dyn Store,
    token: TokenId,
    pr: &str,
    cursor: &str,
    threads: &mut Vec<ReviewThread>,
) -> Result<Vec<String>, String> {
    let unknown = || {
        "changes_since is not a changes_cursor of yours for this pull request, or it expired (24 h): fetch without it".to_owned()
    };
    let key = cursor
        .strip_prefix(CHANGES_PREFIX)
        .filter(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(unknown)?;
    let bytes = store
        .get(Space::ReviewSnapshot, key)
        .await
        .map_err(|e| format!("could not read the changes_since snapshot: {e}"))?
        .ok_or_else(unknown)?;
    let snapshot: Snapshot = serde_json::from_slice(&bytes).map_err(|_| unknown())?;
    if snapshot.token != token.hex() || snapshot.pr != pr {
        return Err(unknown());
    }
    let gone = snapshot
        .threads
        .keys()
        .filter(|id| !threads.iter().any(|t| &t.id == *id))
        .cloned()
        .collect();
    threads.retain(|t| snapshot.threads.get(&t.id) != Some(&mark(t)));
    Ok(gone)
}

/// Where a page starts: a thread, and the first of its comments to give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    #[serde(rename = "t")]
    pub thread: String,
    #[serde(rename = "c")]
    pub comment: u32,
}

impl Position {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!(
            "{CURSOR_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        )
    }

    pub fn decode(cursor: &str) -> Result<Self, String> {
        let bad =
            || "cursor must be the next_cursor of an earlier fetch of this pull request".to_owned();
        let raw = cursor.strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
        if raw.len() > 400 {
            return Err(bad());
        }
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| bad())?;
        serde_json::from_slice(&json).map_err(|_| bad())
    }
}

/// One page of threads within a budget.
#[derive(Debug)]
pub struct Page {
    pub threads: Vec<ReviewThread>,
    /// Where the next page starts, when this one was cut.
    pub next: Option<Position>,
}

/// The threads from `start` that fit in `budget` bytes, as `cost` measures a
/// thread. A thread that does not fit on an empty page is split between its
/// comments; a page always holds at least one comment, so paging always ends.
/// `bound` (at least `cost`, and cheap) lets a first page that surely fits skip `cost`.
pub fn page(
    threads: Vec<ReviewThread>,
    start: Option<&Position>,
    budget: usize,
    cost: impl Fn(&ReviewThread) -> usize,
    bound: Option<&dyn Fn(&ReviewThread) -> usize>,
) -> Result<Page, String> {
    if let (None, Some(bound)) = (start, bound) {
        let room = budget.saturating_sub(PAGE_OVERHEAD);
        if threads.iter().map(bound).sum::<usize>() <= room {
            return Ok(Page {
                threads,
                next: None,
            });
        }
    }
    let mut threads = threads.into_iter().peekable();
    let mut first_comment = 0usize;
    if let Some(start) = start {
        // Skip to the cursor's thread.
        loop {
            match threads.peek() {
                Some(t) if t.id == start.thread => break,
                Some(_) => {
                    threads.next();
                }
                None => {
                    return Err(format!(
                        "the cursor's thread {} is gone (deleted, or the filters changed): fetch again without cursor",
                        crate::untrusted::echo(&start.thread)
                    ))
                }
            }
        }
        first_comment = start.comment as usize;
    }
    let mut room = budget.saturating_sub(PAGE_OVERHEAD);
    let mut out: Vec<ReviewThread> = Vec::new();
    for mut thread in threads {
        let total = thread.comments.len();
        let skip = first_comment.min(total);
        first_comment = 0;
        if skip > 0 {
            thread.comments.drain(..skip);
            thread.comments_before = skip as u32;
        }
        let whole = cost(&thread);
        if whole <= room {
            room -= whole;
            out.push(thread);
            continue;
        }
        if !out.is_empty() {
            let next = Position {
                thread: thread.id.clone(),
                comment: skip as u32,
            };
            return Ok(Page {
                threads: out,
                next: Some(next),
            });
        }
        // Alone on the page and still too big: as many comments as fit, one at least.
        let mut part = thread.clone();
        part.comments.truncate(1);
        while part.comments.len() < thread.comments.len() {
            part.comments
                .push(thread.comments[part.comments.len()].clone());
            if cost(&part) > room {
                part.comments.pop();
                break;
            }
        }
        let given = part.comments.len();
        part.comments_after = (thread.comments.len() - given) as u32;
        let next = (part.comments_after > 0).then(|| Position {
            thread: thread.id.clone(),
            comment: (skip + given) as u32,
        });
        out.push(part);
        if let Some(next) = next {
            return Ok(Page {
                threads: out,
                next: Some(next),
            });
        }
        room = room.saturating_sub(cost(out.last().expect("pushed")));
    }
    Ok(Page {
        threads: out,
        next: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReviewComment;

    fn thread(id: &str, comments: usize, at: &str) -> ReviewThread {
        ReviewThread {
            id: id.into(),
            path: "a.rs".into(),
            line: Some(1),
            start_line: None,
            original_line: Some(1),
            original_start_line: None,
            diff_side: "RIGHT".into(),
            subject_type: "LINE".into(),
            is_resolved: false,
            is_outdated: false,
            resolved_by: None,
            comments: (0..comments)
                .map(|i| ReviewComment {
                    id: Some(i as u64),
                    node_id: format!("{id}-c{i}"),
                    author: Some("a".into()),
                    author_is_bot: false,
                    body: "x".repeat(100),
                    created_at: at.into(),
                    url: String::new(),
                    diff_hunk: String::new(),
                    in_reply_to_id: None,
                })
                .collect(),
            comments_before: 0,
            comments_after: 0,
        }
    }

    fn cost(t: &ReviewThread) -> usize {
        50 + 100 * t.comments.len()
    }

    #[test]
    fn following_the_cursors_gives_every_comment_exactly_once_and_pages_stay_near_the_budget() {
        let threads = vec![
            thread("A", 3, "2026-01-01T00:00:00Z"),
            thread("B", 40, "2026-01-01T00:00:00Z"),
            thread("C", 1, "2026-01-01T00:00:00Z"),
            thread("D", 7, "2026-01-01T00:00:00Z"),
        ];
        let budget = PAGE_OVERHEAD + 1_000;
        let mut seen = Vec::new();
        let mut start: Option<Position> = None;
        for _ in 0..100 {
            let page = page(threads.clone(), start.as_ref(), budget, cost, None).unwrap();
            let used: usize = page.threads.iter().map(cost).sum();
            assert!(used <= budget, "page of {used} bytes");
            for t in &page.threads {
                seen.extend(t.comments.iter().map(|c| c.node_id.clone()));
            }
            match page.next {
                Some(next) => start = Some(Position::decode(&next.encode()).unwrap()),
                None => break,
            }
        }
        let all: Vec<String> = threads
            .iter()
            .flat_map(|t| t.comments.iter().map(|c| c.node_id.clone()))
            .collect();
        assert_eq!(seen, all, "every comment once, in order");
    }

    #[test]
    fn a_comment_bigger_than_the_budget_still_makes_progress() {
        let threads = vec![thread("A", 2, "2026-01-01T00:00:00Z")];
        let p = page(threads.clone(), None, 10, cost, Some(&cost)).unwrap();
        assert_eq!(p.threads[0].comments.len(), 1);
        assert_eq!(p.threads[0].comments_after, 1);
        let next = p.next.unwrap();
        let p2 = page(threads, Some(&next), 10, cost, None).unwrap();
        assert_eq!(p2.threads[0].comments_before, 1);
        assert!(p2.next.is_none());
    }

    #[test]
    fn a_cursor_of_a_vanished_thread_or_a_forged_one_is_refused() {
        let threads = vec![thread("A", 1, "2026-01-01T00:00:00Z")];
        let gone = Position {
            thread: "Z".into(),
            comment: 0,
        };
        assert!(page(threads, Some(&gone), 10_000, cost, None)
            .unwrap_err()
            .contains("is gone"));
        assert!(Position::decode("grm_pg_!!!").is_err());
        assert!(Position::decode("nope").is_err());
    }

    #[test]
    fn since_and_newest_first_compare_instants() {
        let mut threads = vec![
            thread("old", 1, "2026-01-01T00:00:00Z"),
            thread("new", 1, "2026-03-01T10:00:00+02:00"),
            thread("mid", 1, "2026-02-01T00:00:00Z"),
        ];
        newest_first(&mut threads);
        let order: Vec<&str> = threads.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(order, ["new", "mid", "old"]);
        let dropped = since(&mut threads, "2026-01-15T00:00:00Z".parse().unwrap());
        assert_eq!(dropped, 1);
        assert_eq!(threads.len(), 2);
    }

    #[tokio::test]
    async fn changes_since_keeps_new_and_changed_threads_and_names_the_gone_ones() {
        let store = crate::state::memory::MemoryStore::default();
        let key = crate::auth::FingerprintKey::random();
        let token = crate::auth::Token::parse("ghp_snapshotTOKENtoken", &key).unwrap();
        let other = crate::auth::Token::parse("ghp_someoneELSEelse", &key).unwrap();
        let before = vec![
            thread("A", 1, "2026-01-01T00:00:00Z"),
            thread("B", 2, "2026-01-01T00:00:00Z"),
            thread("C", 1, "2026-01-01T00:00:00Z"),
        ];
        let cursor = save(&store, token.id(), "o/r#1", &before).await.unwrap();
        let again = save(&store, token.id(), "o/r#1", &before).await.unwrap();
        assert_eq!(cursor, again, "an unchanged read names the same snapshot");
        let mut now = vec![
            thread("A", 1, "2026-01-01T00:00:00Z"),
            thread("B", 3, "2026-01-01T00:00:00Z"),
            thread("D", 1, "2026-01-01T00:00:00Z"),
        ];
        now[0].is_resolved = false;
        let gone = changed_since(&store, token.id(), "o/r#1", &cursor, &mut now)
            .await
            .unwrap();
        let ids: Vec<&str> = now.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["B", "D"]);
        assert_eq!(gone, ["C"]);
        let mut resolved = vec![thread("A", 1, "2026-01-01T00:00:00Z")];
        resolved[0].is_resolved = true;
        changed_since(&store, token.id(), "o/r#1", &cursor, &mut resolved)
            .await
            .unwrap();
        assert_eq!(resolved.len(), 1, "a resolve is a change");
        let mut any = before.clone();
        for (who, pr) in [(other.id(), "o/r#1"), (token.id(), "o/r#2")] {
            let e = changed_since(&store, who, pr, &cursor, &mut any)
                .await
                .unwrap_err();
            assert!(e.contains("not a changes_cursor of yours"), "{e}");
        }
    }
}
