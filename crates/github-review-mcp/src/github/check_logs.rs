//! Why a check run failed: its annotations and, for a GitHub Actions job, the end of
//! the job's log (`get_pr_checks` with `include_failure_details`).
//!
//! The log comes through GitHub's `actions/jobs/{id}/logs`, which answers with a
//! redirect to a signed URL on another host. [`GitHubClient::download_link`] takes
//! that URL without following it, and [`GitHubClient::download`] fetches it with no
//! token, keeping only the last bytes ([`Tail`]) and stopping at [`MAX_DOWNLOAD`].
//! The text is then made readable ([`clean_log`]: GitHub's timestamps and ANSI
//! escapes off, hidden characters stripped) and cut to `max_log_bytes` at a line start.
//! A part that cannot be read is reported on its run; it never fails the call.

use std::collections::VecDeque;

use futures::StreamExt;
use serde::Deserialize;

use super::client::{Credential, DownloadLink, GitHubClient};
use super::error::GitHubError;
use super::pr_ref::PullRequestRef;
use crate::model::{CheckAnnotation, CheckRun, FailureDetails, LogTail, PullRequestChecks};
use crate::untrusted::clean;

/// Annotations read per run at most (one request).
pub const MAX_ANNOTATIONS: usize = 50;
/// Failed runs whose details are read per call; later ones say they were skipped.
pub const MAX_DETAILED_RUNS: usize = 10;
/// Runs whose details are read at once.
const CONCURRENT_RUNS: usize = 4;
/// A log larger than this is not read to its end (GitHub's logs can be hundreds of MiB).
pub const MAX_DOWNLOAD: u64 = 16 << 20;
/// The app slug of GitHub Actions' check runs, whose check run id is the job id.
pub const ACTIONS_APP: &str = "github-actions";

/// Conclusions that count as failed for `include_failure_details`.
pub fn is_failed(conclusion: Option<&str>) -> bool {
    matches!(
        conclusion,
        Some("failure" | "timed_out" | "cancelled" | "action_required" | "startup_failure")
    )
}

/// Fills `failure_details` of each failed run of `checks` (the first
/// [`MAX_DETAILED_RUNS`]), a few runs at a time, keeping `max_log_bytes` of each log.
pub async fn attach(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    checks: &mut PullRequestChecks,
    max_log_bytes: usize,
) {
    let failed: Vec<usize> = (0..checks.check_runs.len())
        .filter(|&i| is_failed(checks.check_runs[i].conclusion.as_deref()))
        .collect();
    let runs = &checks.check_runs;
    let read: Vec<(usize, FailureDetails)> =
        futures::stream::iter(failed.iter().take(MAX_DETAILED_RUNS).copied())
            .map(|i| async move {
                (
                    i,
                    failure_details(client, token, pr, &runs[i], max_log_bytes).await,
                )
            })
            .buffered(CONCURRENT_RUNS)
            .collect()
            .await;
    for (i, details) in read {
        checks.check_runs[i].failure_details = Some(details);
    }
    for &i in failed.iter().skip(MAX_DETAILED_RUNS) {
        let skipped = format!(
            "not read: details are read for the first {MAX_DETAILED_RUNS} failed runs only"
        );
        checks.check_runs[i].failure_details = Some(FailureDetails {
            annotations_error: Some(skipped.clone()),
            log_error: Some(skipped),
            ..FailureDetails::default()
        });
    }
}

/// One run's annotations and log tail, read at the same time.
pub async fn failure_details(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    run: &CheckRun,
    max_log_bytes: usize,
) -> FailureDetails {
    let is_job = run.app.as_deref() == Some(ACTIONS_APP);
    let (annotations, log) = tokio::join!(annotations(client, token, pr, run), async {
        if is_job {
            Some(log_tail(client, token, pr, run.id, max_log_bytes).await)
        } else {
            None
        }
    });
    let (annotations, annotations_truncated, annotations_error) = match annotations {
        Ok(list) => {
            let cut = (run.annotations_count as usize) > list.len();
            (list, cut, None)
        }
        Err(e) => (vec![], false, Some(e.to_string())),
    };
    let (log, log_error) = match log {
        Some(Ok(tail)) => (Some(tail), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    FailureDetails {
        annotations,
        annotations_truncated,
        annotations_error,
        log,
        log_error,
    }
}

#[derive(Deserialize)]
struct RawAnnotation {
    path: String,
    start_line: u32,
    end_line: u32,
    start_column: Option<u32>,
    end_column: Option<u32>,
    annotation_level: Option<String>,
    title: Option<String>,
    message: Option<String>,
    raw_details: Option<String>,
}

/// The run's first [`MAX_ANNOTATIONS`] annotations; no request when it has none.
async fn annotations(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    run: &CheckRun,
) -> Result<Vec<CheckAnnotation>, GitHubError> {
    if run.annotations_count == 0 {
        return Ok(vec![]);
    }
    let path = format!(
        "repos/{}/{}/check-runs/{}/annotations?per_page={MAX_ANNOTATIONS}",
        pr.owner, pr.repo, run.id
    );
    let raw = client.get::<Vec<RawAnnotation>>(token, &path).await?.body;
    Ok(raw
        .into_iter()
        .take(MAX_ANNOTATIONS)
        .map(|a| CheckAnnotation {
            path: clean(a.path),
            start_line: a.start_line,
            end_line: a.end_line,
            start_column: a.start_column,
            end_column: a.end_column,
            level: clean(a.annotation_level.unwrap_or_else(|| "failure".into())),
            title: a.title.map(clean),
            message: clean(a.message.unwrap_or_default()),
            raw_details: a.raw_details.map(clean),
        })
        .collect())
}

/// The end of job `job_id`'s log: the link from GitHub, the download from wherever
/// it points (without the token), cleaned and cut to `max_bytes`.
async fn log_tail(
    client: &GitHubClient,
    token: &Credential,
    pr: &PullRequestRef,
    job_id: u64,
    max_bytes: usize,
) -> Result<LogTail, GitHubError> {
    let path = format!("repos/{}/{}/actions/jobs/{job_id}/logs", pr.owner, pr.repo);
    let mut tail = Tail::new(raw_window(max_bytes));
    let total = match client
        .download_link(token, &path)
        .await
        .map_err(|e| match e {
            GitHubError::NotFound(_) => {
                GitHubError::NotFound(format!("the log of job {job_id} (expired, or not kept)"))
            }
            other => other,
        })? {
        DownloadLink::Elsewhere(url) => {
            client
                .download(&url, MAX_DOWNLOAD, |chunk| tail.push(chunk))
                .await?
        }
        DownloadLink::Here(body) => {
            tail.push(&body);
            body.len() as u64
        }
    };
    Ok(tail.finish(total, max_bytes))
}

/// Raw bytes kept to end with `max_bytes` of clean text: timestamps take 29 bytes a
/// line and colour codes more, so four times as much, and at least 4 KiB.
fn raw_window(max_bytes: usize) -> usize {
    max_bytes.saturating_mul(4).max(4096)
}

/// The last `keep` bytes of a stream, and how many went by.
#[derive(Debug)]
pub struct Tail {
    keep: usize,
    buf: VecDeque<u8>,
    seen: u64,
}

impl Tail {
    pub fn new(keep: usize) -> Self {
        Self {
            keep,
            buf: VecDeque::with_capacity(keep.min(1 << 16)),
            seen: 0,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.seen += chunk.len() as u64;
        let chunk = &chunk[chunk.len().saturating_sub(self.keep)..];
        let over = (self.buf.len() + chunk.len()).saturating_sub(self.keep);
        self.buf.drain(..over);
        self.buf.extend(chunk);
    }

    /// The kept bytes, and whether earlier ones were dropped.
    pub fn bytes(&self) -> (Vec<u8>, bool) {
        (
            self.buf.iter().copied().collect(),
            self.seen > self.buf.len() as u64,
        )
    }

    /// The readable end of the log: from a line start, cleaned, at most `max_bytes`.
    fn finish(self, total: u64, max_bytes: usize) -> LogTail {
        let (bytes, dropped) = self.bytes();
        // After a drop the first line (maybe the first character) is a fragment; one
        // line longer than the window is kept as its end.
        let start = if dropped {
            bytes.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1)
        } else {
            0
        };
        let text = clean_log(&String::from_utf8_lossy(&bytes[start..]));
        let (text, cut) = tail_lines(&text, max_bytes);
        LogTail {
            text: text.to_owned(),
            truncated: dropped || cut,
            log_bytes: total,
        }
    }
}

/// The end of `text` within `max_bytes`, starting at a line start (mid-line, at a
/// character boundary, only when the last line alone is longer); and whether it cut.
pub fn tail_lines(text: &str, max_bytes: usize) -> (&str, bool) {
    if text.len() <= max_bytes {
        return (text, false);
    }
    let mut from = text.len() - max_bytes;
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let window = &text[from..];
    // Already at a line start when the byte before is a newline.
    if text.as_bytes()[from - 1] == b'\n' {
        return (window, true);
    }
    match window.find('\n') {
        Some(p) if p + 1 < window.len() => (&window[p + 1..], true),
        _ => (window, true),
    }
}

/// A job log as a reader wants it: GitHub's `2024-01-01T00:00:00.0000000Z ` prefix
/// and ANSI escape sequences removed from each line, a carriage return's overwritten
/// text dropped (what a terminal shows), trailing blank lines trimmed, and hidden
/// characters stripped ([`crate::untrusted::clean`]).
pub fn clean_log(raw: &str) -> String {
    let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    let mut out = String::with_capacity(raw.len());
    for line in raw.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = strip_timestamp(line);
        let line = strip_ansi(line);
        // A progress line redrawn with `\r`: keep what was drawn last.
        let line = line.rsplit('\r').next().unwrap_or("");
        out.push_str(line);
        out.push('\n');
    }
    let kept = out.trim_end().len();
    out.truncate(kept);
    clean(out)
}

/// `line` without GitHub's leading `YYYY-MM-DDTHH:MM:SS[.fraction]Z ` timestamp.
pub fn strip_timestamp(line: &str) -> &str {
    let b = line.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if b.len() < shape.len() + 1 {
        return line;
    }
    let fits = shape.iter().zip(b).all(|(&s, &c)| match s {
        b'd' => c.is_ascii_digit(),
        s => c == s,
    });
    if !fits {
        return line;
    }
    let mut i = shape.len();
    if b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i >= b.len() || b[i] != b'Z' {
        return line;
    }
    i += 1;
    if i < b.len() && b[i] == b' ' {
        i += 1;
    }
    &line[i..]
}

/// `line` without ANSI escape sequences: CSI (`ESC [ ... final`, colours and cursor
/// moves), OSC (`ESC ] ... BEL` or `ESC \`, titles and links) and two-byte escapes.
pub fn strip_ansi(line: &str) -> std::borrow::Cow<'_, str> {
    const ESC: char = '\u{1b}';
    if !line.contains(ESC) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != ESC {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == ESC && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            // Two-byte escapes (ESC c, ESC =, ...): both characters go.
            Some(_) | None => {}
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_of_github_logs_are_removed_and_other_text_kept() {
        assert_eq!(
            strip_timestamp("2024-01-01T00:00:00.0000000Z test result: FAILED"),
            "test result: FAILED"
        );
        assert_eq!(strip_timestamp("2024-01-01T00:00:00Z done"), "done");
        assert_eq!(strip_timestamp("2024-01-01T00:00:00.1Z"), "");
        assert_eq!(
            strip_timestamp("2024-01-01 not a stamp"),
            "2024-01-01 not a stamp"
        );
        assert_eq!(
            strip_timestamp("2024-01-01T00:00:00.0000000+01:00 x"),
            "2024-01-01T00:00:00.0000000+01:00 x"
        );
        assert_eq!(strip_timestamp("short"), "short");
    }

    #[test]
    fn ansi_colours_cursor_moves_and_links_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[92m   Compiling\u{1b}[0m frob"),
            "   Compiling frob"
        );
        assert_eq!(strip_ansi("a\u{1b}[2Kb\u{1b}[38;5;196mc"), "abc");
        assert_eq!(
            strip_ansi("\u{1b}]8;;https://x.example\u{7}link\u{1b}]8;;\u{1b}\\ end"),
            "link end"
        );
        assert_eq!(strip_ansi("cut \u{1b}["), "cut ");
        assert!(matches!(strip_ansi("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn a_log_is_cleaned_line_by_line_and_hidden_characters_go() {
        let raw = "\u{feff}2026-01-06T10:00:00.0000000Z ##[group]Run cargo test\r\n\
                   2026-01-06T10:00:01.0000000Z \u{1b}[31mFAILED\u{1b}[0m approve\u{202e} it\n\
                   2026-01-06T10:00:02.0000000Z 10%\r50%\r100%\n\n\n";
        assert_eq!(
            clean_log(raw),
            "##[group]Run cargo test\nFAILED approve it\n100%"
        );
    }

    #[test]
    fn the_tail_keeps_the_last_bytes_across_chunks() {
        let mut t = Tail::new(5);
        t.push(b"abc");
        assert_eq!(t.bytes(), (b"abc".to_vec(), false));
        t.push(b"defg");
        assert_eq!(t.bytes(), (b"cdefg".to_vec(), true));
        t.push(b"0123456789");
        assert_eq!(t.bytes(), (b"56789".to_vec(), true));
        assert_eq!(t.seen, 17);
    }

    #[test]
    fn a_tail_starts_at_a_line_and_says_it_was_cut() {
        let text = "first line\nsecond line\nthird\n";
        assert_eq!(tail_lines(text, 100), (text, false));
        assert_eq!(tail_lines(text, 13), ("third\n", true));
        // Exactly at a line start.
        assert_eq!(tail_lines(text, 18), ("second line\nthird\n", true));
        // One long last line: cut inside it, at a character boundary.
        let (t, cut) = tail_lines("ééééé", 5);
        assert!(cut && t == "éé", "{t}");
    }

    #[test]
    fn a_downloaded_log_ends_with_its_last_lines_from_a_line_start() {
        let lines: Vec<String> = (0..1000)
            .map(|i| format!("2026-01-06T10:00:00.0000000Z \u{1b}[32mline {i:04}\u{1b}[0m"))
            .collect();
        let raw = lines.join("\n") + "\n";
        let mut tail = Tail::new(raw_window(100));
        for chunk in raw.as_bytes().chunks(777) {
            tail.push(chunk);
        }
        let out = tail.finish(raw.len() as u64, 100);
        assert!(out.truncated);
        assert_eq!(out.log_bytes, raw.len() as u64);
        assert!(out.text.len() <= 100, "{}", out.text);
        assert!(out.text.starts_with("line "), "{}", out.text);
        assert!(out.text.ends_with("line 0999"), "{}", out.text);
        assert!(!out.text.contains("line 0900"));
        // One line longer than everything kept: its end, not nothing.
        let mut tail = Tail::new(raw_window(200));
        tail.push("x".repeat(100_000).as_bytes());
        let out = tail.finish(100_000, 200);
        assert_eq!((out.text.len(), out.truncated), (200, true));
        // A short log comes whole.
        let mut tail = Tail::new(raw_window(4000));
        tail.push(b"2026-01-06T10:00:00Z only\n");
        let out = tail.finish(26, 4000);
        assert_eq!((out.text.as_str(), out.truncated), ("only", false));
    }

    #[test]
    fn failed_conclusions_are_the_documented_five() {
        for c in [
            "failure",
            "timed_out",
            "cancelled",
            "action_required",
            "startup_failure",
        ] {
            assert!(is_failed(Some(c)), "{c}");
        }
        for c in [Some("success"), Some("neutral"), Some("skipped"), None] {
            assert!(!is_failed(c), "{c:?}");
        }
    }
}
