//! One call of each kind (through the real server, the floor, or directly to the
//! double), each checked for completeness, and the statistics over many of them.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use serde_json::{json, Value};

use crate::procs::{Client, Seed};

/// The server's own GraphQL document, so `direct` asks exactly what the server asks.
pub const REVIEW_THREADS_QUERY: &str =
    include_str!("../../github-review-mcp/src/github/graphql/review_threads.graphql");

/// What a complete answer must contain.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// The real server: not an error, not truncated, every thread and comment.
    Complete { threads: usize, comments: usize },
    /// The floor: a text of exactly this many bytes.
    TextBytes(usize),
}

/// Sizes of one checked answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Answer {
    pub markdown_bytes: usize,
    /// Compact JSON size of structuredContent; measured by `check_sizes` only (once),
    /// not by `check`, to keep the client's work between calls small.
    pub structured_bytes: usize,
}

/// `check`, plus the size of the structuredContent.
pub fn check_sizes(result: &CallToolResult, expect: Expect) -> Result<Answer> {
    let mut answer = check(result, expect)?;
    answer.structured_bytes = result
        .structured_content
        .as_ref()
        .map_or(0, |v| v.to_string().len());
    Ok(answer)
}

pub async fn call_tool(client: &Client, pr_ref: &str) -> Result<(Duration, CallToolResult)> {
    let mut params = CallToolRequestParams::new("fetch_pr_review_comments");
    params.arguments = json!({ "pr_url": pr_ref, "max_output_bytes": 50_000_000 })
        .as_object()
        .cloned();
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(60), client.call_tool(params))
        .await
        .context("tools/call took over 60 s")?
        .context("tools/call failed")?;
    Ok((started.elapsed(), result))
}

pub fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fails unless `result` is a complete answer: a fast wrong answer fails the run.
pub fn check(result: &CallToolResult, expect: Expect) -> Result<Answer> {
    let text = text_of(result);
    if result.is_error == Some(true) {
        bail!("the tool answered an error: {}", truncate(&text, 500));
    }
    match expect {
        Expect::TextBytes(bytes) => {
            ensure!(
                text.len() == bytes,
                "floor answered {} bytes, expected {bytes}",
                text.len()
            );
            Ok(Answer {
                markdown_bytes: text.len(),
                structured_bytes: 0,
            })
        }
        Expect::Complete { threads, comments } => {
            let v = result
                .structured_content
                .as_ref()
                .context("the answer has no structuredContent")?;
            ensure!(
                v["truncated"] == Value::Bool(false),
                "the answer is truncated (truncated = {}, reason = {})",
                v["truncated"],
                v["truncated_reason"]
            );
            // A Markdown answer: counts in structuredContent, one `## N.` heading per
            // thread in the text; output=json/both would add the threads themselves.
            let (got_threads, got_comments) = match v["threads"].as_array() {
                Some(all) => (
                    all.len(),
                    all.iter()
                        .map(|t| t["comments"].as_array().map_or(0, Vec::len))
                        .sum(),
                ),
                None => (
                    v["returned_threads"].as_u64().unwrap_or(0) as usize,
                    v["returned_comments"].as_u64().unwrap_or(0) as usize,
                ),
            };
            ensure!(
                got_threads == threads && got_comments == comments,
                "incomplete answer: {got_threads} threads / {got_comments} comments, expected {threads} / {comments}",
            );
            let headings = text.matches("\n## ").count();
            ensure!(
                headings == threads,
                "the Markdown has {headings} thread headings, expected {threads}"
            );
            ensure!(!text.is_empty(), "the answer has no Markdown text");
            Ok(Answer {
                markdown_bytes: text.len(),
                structured_bytes: 0,
            })
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The server's GraphQL requests made straight to the double: one keep-alive client,
/// the same document and variables, pages followed with `after`.
pub struct Direct {
    http: reqwest::Client,
    endpoint: String,
    auth: String,
}

impl Direct {
    pub fn new(double_url: &str, token: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent("github-review-mcp-bench")
            .pool_idle_timeout(Duration::from_secs(90))
            .build()?;
        Ok(Self {
            http,
            // Where the server posts for a loopback URL host (GHES layout).
            endpoint: format!("{double_url}/api/graphql"),
            auth: format!("Bearer {token}"),
        })
    }

    /// Fetches every page of threads; checks the total against `seed`. Returns the
    /// time, the requests made and the response bytes.
    pub async fn fetch(&self, seed: &Seed) -> Result<(Duration, usize, usize)> {
        let started = Instant::now();
        let mut after: Option<String> = None;
        let (mut threads, mut comments, mut requests, mut bytes) = (0, 0, 0, 0);
        loop {
            let body = json!({
                "query": REVIEW_THREADS_QUERY,
                "variables": {
                    "owner": seed.owner,
                    "name": seed.repo,
                    "number": seed.number,
                    "threadsPage": 100,
                    "commentsPage": 100,
                    "after": after,
                }
            });
            let response = self
                .http
                .post(&self.endpoint)
                .header(reqwest::header::AUTHORIZATION, &self.auth)
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .json(&body)
                .send()
                .await?
                .error_for_status()?;
            let raw = response.bytes().await?;
            requests += 1;
            bytes += raw.len();
            let v: Value = serde_json::from_slice(&raw).context("GraphQL answer is not JSON")?;
            if let Some(errors) = v.get("errors") {
                bail!("GraphQL errors: {errors}");
            }
            // The document's `head` alias: a plain forward page (no `$withTail`).
            let connection = &v["data"]["repository"]["pullRequest"]["head"];
            let nodes = connection["nodes"].as_array().context("no head.nodes")?;
            threads += nodes.len();
            for node in nodes {
                comments += node["comments"]["nodes"].as_array().map_or(0, Vec::len);
                ensure!(
                    node["comments"]["pageInfo"]["hasNextPage"] == Value::Bool(false),
                    "a thread has more than 100 comments: the direct baseline does not page them"
                );
            }
            if connection["pageInfo"]["hasNextPage"] == Value::Bool(true) {
                after = connection["pageInfo"]["endCursor"]
                    .as_str()
                    .map(str::to_owned);
                ensure!(after.is_some(), "hasNextPage without endCursor");
            } else {
                break;
            }
        }
        let elapsed = started.elapsed();
        ensure!(
            threads == seed.threads && comments == seed.comments,
            "direct fetch incomplete: {threads} threads / {comments} comments, expected {} / {}",
            seed.threads,
            seed.comments
        );
        Ok((elapsed, requests, bytes))
    }
}

/// Latencies of a sequential series of calls.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub samples: Vec<Duration>,
    pub wall: Duration,
    /// Direct series only: GraphQL response bytes of one call (all pages).
    pub graphql_bytes: usize,
}

impl Series {
    pub fn calls_per_sec(&self) -> f64 {
        self.samples.len() as f64 / self.wall.as_secs_f64()
    }
    pub fn p50_ms(&self) -> f64 {
        percentile_ms(&self.samples, 0.50)
    }
    pub fn p99_ms(&self) -> f64 {
        percentile_ms(&self.samples, 0.99)
    }
    pub fn mean_ms(&self) -> f64 {
        ms(self.samples.iter().sum::<Duration>()) / self.samples.len().max(1) as f64
    }
    pub fn summary(&self) -> Value {
        json!({
            "calls": self.samples.len(),
            "wall_ms": ms(self.wall),
            "calls_per_sec": self.calls_per_sec(),
            "p50_ms": self.p50_ms(),
            "p99_ms": self.p99_ms(),
            "mean_ms": self.mean_ms(),
            "min_ms": percentile_ms(&self.samples, 0.0),
            "max_ms": percentile_ms(&self.samples, 1.0),
            "graphql_bytes_per_call": (self.graphql_bytes > 0).then_some(self.graphql_bytes),
        })
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile, in milliseconds.
pub fn percentile_ms(samples: &[Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    ms(sorted[rank - 1])
}

/// Median of plain values (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
