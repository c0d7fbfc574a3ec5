//! Where GitHub accepts an inline comment: the hunks of each changed file's patch,
//! per side. GitHub takes a comment on any line a hunk shows on that side (context,
//! added or deleted), and a range only within one hunk; anything else is refused
//! (REST 422) or, in a pending review, dropped at submit. Checking first lets a
//! review with one bad position post nothing and say where the lines are.

use std::collections::HashMap;

use serde::Deserialize;

use super::client::{Credential, GitHubClient};
use super::error::GitHubError;
use super::pr_ref::PullRequestRef;
use crate::untrusted::echo;

/// Lines a hunk shows on one side: `start..=end`, or none (`count` 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hunk {
    pub left: Option<Span>,
    pub right: Option<Span>,
}

impl Hunk {
    fn side(&self, side: &str) -> Option<Span> {
        if side == "LEFT" {
            self.left
        } else {
            self.right
        }
    }
}

/// `@@ -a,b +c,d @@` lines of a unified-diff patch, in order.
pub fn hunks(patch: &str) -> Vec<Hunk> {
    fn span(part: &str) -> Option<Option<Span>> {
        let (start, count) = match part.split_once(',') {
            Some((s, c)) => (s.parse::<u32>().ok()?, c.parse::<u32>().ok()?),
            None => (part.parse::<u32>().ok()?, 1),
        };
        Some((count > 0).then(|| Span {
            start,
            end: start + count - 1,
        }))
    }
    patch
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("@@ -")?;
            let (ranges, _) = rest.split_once(" @@")?;
            let (old, new) = ranges.split_once(" +")?;
            Some(Hunk {
                left: span(old)?,
                right: span(new)?,
            })
        })
        .collect()
}

/// Where a comment goes: lines (`start`..`line`, each on a side) or the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Lines {
        line: u32,
        side: &'a str,
        start: Option<(u32, &'a str)>,
    },
    File,
}

/// The pull request's changed files and what each one's diff shows.
#[derive(Debug, Default)]
pub struct PullDiff {
    /// Path → hunks; `None` when GitHub sent no patch (binary, or too large):
    /// then only GitHub can tell, and the check lets it decide.
    files: HashMap<String, Option<Vec<Hunk>>>,
    /// False when GitHub's list of files was cut (more than 3000 files).
    complete: bool,
}

impl PullDiff {
    pub fn new(files: impl IntoIterator<Item = (String, Option<String>)>, complete: bool) -> Self {
        PullDiff {
            files: files
                .into_iter()
                .map(|(path, patch)| (path, patch.as_deref().map(hunks)))
                .collect(),
            complete,
        }
    }

    /// `Ok` when GitHub will take a comment on `path` at `target`; else a sentence
    /// naming the miss and the nearest ranges it could go on.
    pub fn check(&self, path: &str, target: Target<'_>) -> Result<(), String> {
        let Some(file) = self.files.get(path) else {
            if !self.complete {
                return Ok(());
            }
            let mut names: Vec<&str> = self.files.keys().map(String::as_str).collect();
            names.sort_unstable();
            let shown: Vec<String> = names.iter().take(10).map(|n| echo(n)).collect();
            let more = names.len().saturating_sub(10);
            return Err(format!(
                "{} is not a file of this pull request (its files: {}{})",
                echo(path),
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        };
        let (Target::Lines { line, side, start }, Some(hunks)) = (target, file) else {
            return Ok(());
        };
        let inside =
            |span: Option<Span>, l: u32| span.is_some_and(|s| (s.start..=s.end).contains(&l));
        let found = hunks.iter().find(|h| inside(h.side(side), line));
        match (found, start) {
            (None, _) => Err(format!(
                "{} line {line} ({side}) is not part of the diff; {}",
                echo(path),
                nearest(hunks, side, line)
            )),
            (Some(_), None) => Ok(()),
            (Some(h), Some((s, s_side))) if inside(h.side(s_side), s) => Ok(()),
            (Some(h), Some((s, s_side))) => Err(format!(
                "{} lines {s} ({s_side}) to {line} ({side}) are not in one diff hunk; the hunk with line {line} covers {}",
                echo(path),
                describe(h)
            )),
        }
    }
}

/// A hunk's lines on both sides, for a message.
fn describe(h: &Hunk) -> String {
    let side = |name: &str, s: Option<Span>| s.map(|s| format!("{name} {}-{}", s.start, s.end));
    [side("RIGHT", h.right), side("LEFT", h.left)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ranges on `side` nearest to `line`, closest first (at most three).
fn nearest(hunks: &[Hunk], side: &str, line: u32) -> String {
    let mut spans: Vec<Span> = hunks.iter().filter_map(|h| h.side(side)).collect();
    if spans.is_empty() {
        return format!("this file's diff shows no {side} lines (comment on the other side, or on the whole file with subject_type file)");
    }
    let distance = |s: &Span| {
        if line < s.start {
            s.start - line
        } else {
            line.saturating_sub(s.end)
        }
    };
    spans.sort_by_key(|s| (distance(s), s.start));
    let shown: Vec<String> = spans
        .iter()
        .take(3)
        .map(|s| {
            if s.start == s.end {
                format!("{}", s.start)
            } else {
                format!("{}-{}", s.start, s.end)
            }
        })
        .collect();
    format!(
        "the nearest commentable {side} lines are {}",
        shown.join(", ")
    )
}

#[derive(Deserialize)]
struct File {
    filename: String,
    patch: Option<String>,
}

/// The diff of `pr` as GitHub's files endpoint gives it (ETag-cached like every REST read).
pub async fn load(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
) -> Result<PullDiff, GitHubError> {
    let path = format!("repos/{}/{}/pulls/{}/files", pr.owner, pr.repo, pr.number);
    let (files, cut) = client
        .get_all::<File>(token, &path, 3000)
        .await
        .map_err(pr.naming_not_found(client.host()))?;
    Ok(PullDiff::new(
        files.into_iter().map(|f| (f.filename, f.patch)),
        !cut,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "@@ -10,4 +10,5 @@ fn a()\n ctx\n-old\n+new\n+new2\n ctx\n@@ -40,3 +41,2 @@\n ctx\n-gone\n ctx\n@@ -0,0 +1 @@\n+x\n";

    fn diff() -> PullDiff {
        PullDiff::new(
            [
                ("src/lib.rs".to_owned(), Some(PATCH.to_owned())),
                ("logo.png".to_owned(), None),
            ],
            true,
        )
    }

    fn lines(line: u32, side: &'static str, start: Option<(u32, &'static str)>) -> Target<'static> {
        Target::Lines { line, side, start }
    }

    #[test]
    fn hunk_headers_are_read_with_and_without_counts() {
        let h = hunks(PATCH);
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].left, Some(Span { start: 10, end: 13 }));
        assert_eq!(h[0].right, Some(Span { start: 10, end: 14 }));
        assert_eq!(h[2].left, None, "-0,0 shows no old lines");
        assert_eq!(h[2].right, Some(Span { start: 1, end: 1 }));
        assert!(hunks("not a patch\n@@ broken @@").is_empty());
    }

    #[test]
    fn lines_inside_one_hunk_on_their_side_pass() {
        let d = diff();
        assert!(d.check("src/lib.rs", lines(12, "RIGHT", None)).is_ok());
        assert!(d
            .check("src/lib.rs", lines(14, "RIGHT", Some((10, "RIGHT"))))
            .is_ok());
        assert!(d.check("src/lib.rs", lines(41, "LEFT", None)).is_ok());
        assert!(d
            .check("src/lib.rs", lines(12, "RIGHT", Some((11, "LEFT"))))
            .is_ok());
        assert!(d.check("src/lib.rs", Target::File).is_ok());
        assert!(
            d.check("logo.png", lines(3, "RIGHT", None)).is_ok(),
            "no patch: GitHub decides"
        );
    }

    #[test]
    fn a_miss_names_the_nearest_ranges_and_a_split_range_its_hunk() {
        let d = diff();
        let e = d.check("src/lib.rs", lines(30, "RIGHT", None)).unwrap_err();
        assert!(e.contains("line 30 (RIGHT) is not part of the diff"), "{e}");
        assert!(
            e.contains("nearest commentable RIGHT lines are 41-42, 10-14, 1"),
            "{e}"
        );
        let e = d
            .check("src/lib.rs", lines(42, "RIGHT", Some((12, "RIGHT"))))
            .unwrap_err();
        assert!(
            e.contains("not in one diff hunk") && e.contains("RIGHT 41-42"),
            "{e}"
        );
        let e = d
            .check("src/lib.rs", lines(41, "LEFT", Some((5, "LEFT"))))
            .unwrap_err();
        assert!(e.contains("not in one diff hunk"), "{e}");
        let e = d.check("src/main.rs", lines(1, "RIGHT", None)).unwrap_err();
        assert!(
            e.contains("not a file of this pull request") && e.contains("src/lib.rs"),
            "{e}"
        );
        let e = d.check("src/main.rs", Target::File).unwrap_err();
        assert!(e.contains("not a file"), "{e}");
    }

    #[test]
    fn an_incomplete_file_list_lets_github_decide() {
        let d = PullDiff::new([("a".to_owned(), Some(PATCH.to_owned()))], false);
        assert!(d.check("b", lines(1, "RIGHT", None)).is_ok());
        assert!(d.check("a", lines(99, "RIGHT", None)).is_err());
    }
}
