//! The baseline: the same tenants sending the server's own GraphQL request straight
//! to the double, following thread pages, for the same duration.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::check::{clip, scan};
use crate::load::{token, SAMPLES_KEPT};
use crate::stats::Samples;

/// The server's document, sent unchanged.
const REVIEW_THREADS_QUERY: &str =
    include_str!("../../github-review-mcp/src/github/graphql/review_threads.graphql");
/// Whether the document reads threads from both ends (`head:`/`tail:` aliases,
/// `$withHead`/`$withTail`) rather than one plain `reviewThreads` page.
const BOTH_ENDS_DOCUMENT: bool = const_contains(REVIEW_THREADS_QUERY, "$withHead");
/// Bound on thread pages per call (the server's `max_pages` ceiling).
const MAX_PAGES: usize = 200;

const fn const_contains(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let mut i = 0;
    while i + n.len() <= h.len() {
        let mut j = 0;
        while j < n.len() && h[i + j] == n[j] {
            j += 1;
        }
        if j == n.len() {
            return true;
        }
        i += 1;
    }
    false
}

#[derive(Deserialize)]
struct Answer {
    data: Option<AnswerData>,
    errors: Option<Value>,
}

#[derive(Deserialize)]
struct AnswerData {
    repository: Option<AnswerRepo>,
}

#[derive(Deserialize)]
struct AnswerRepo {
    #[serde(rename = "pullRequest")]
    pull_request: Option<AnswerPull>,
}

/// `head:` with the both-ends document, `reviewThreads` with a plain one.
#[derive(Deserialize)]
struct AnswerPull {
    head: Option<ThreadPage>,
    #[serde(rename = "reviewThreads")]
    review_threads: Option<ThreadPage>,
}

#[derive(Deserialize)]
struct ThreadPage {
    #[serde(rename = "pageInfo")]
    page_info: PageInfo,
}

#[derive(Deserialize)]
struct PageInfo {
    #[serde(rename = "hasNextPage")]
    has_next_page: bool,
    #[serde(rename = "endCursor")]
    end_cursor: Option<String>,
}

#[derive(Debug, Default)]
pub struct DirectResult {
    pub latencies: Samples,
    pub calls: u64,
    pub errors: u64,
    pub cross_tenant: u64,
    pub error_samples: Vec<String>,
    pub elapsed: Duration,
}

pub async fn run(
    double_url: &str,
    tenants: usize,
    duration: Duration,
    call_timeout: Duration,
) -> Result<DirectResult> {
    let url = format!("{double_url}/api/graphql");
    let started = Instant::now();
    let deadline = started + duration;
    let mut set = JoinSet::new();
    for i in 1..=tenants {
        // One keep-alive client per tenant, as each MCP session has its own.
        let http = reqwest::Client::builder()
            .timeout(call_timeout)
            .build()
            .context("building an HTTP client")?;
        let url = url.clone();
        set.spawn(async move { tenant_loop(i, http, url, deadline).await });
    }
    let mut result = DirectResult::default();
    while let Some(joined) = set.join_next().await {
        let r = joined.context("direct tenant task panicked")?;
        result.calls += r.calls;
        result.errors += r.errors;
        result.cross_tenant += r.cross_tenant;
        result.latencies.extend(r.latencies);
        for s in r.error_samples {
            if result.error_samples.len() < SAMPLES_KEPT {
                result.error_samples.push(s);
            }
        }
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

async fn tenant_loop(
    i: usize,
    http: reqwest::Client,
    url: String,
    deadline: Instant,
) -> DirectResult {
    let mut r = DirectResult::default();
    let bearer = format!("Bearer {}", token(i));
    while Instant::now() < deadline {
        let t0 = Instant::now();
        let outcome = fetch_all_pages(&http, &url, &bearer, i).await;
        r.latencies.push(t0.elapsed());
        r.calls += 1;
        match outcome {
            Ok(foreign) if foreign.is_empty() => {}
            Ok(foreign) => {
                r.cross_tenant += 1;
                if r.error_samples.len() < SAMPLES_KEPT {
                    r.error_samples
                        .push(format!("tenant{i}: markers of other tenants {foreign:?}"));
                }
            }
            Err(e) => {
                r.errors += 1;
                if r.error_samples.len() < SAMPLES_KEPT {
                    r.error_samples.push(format!("tenant{i}: {e:#}"));
                }
            }
        }
    }
    r
}

/// Fetches every thread page of tenant `i`'s PR; returns other tenants' marker
/// numbers found (none expected).
async fn fetch_all_pages(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    i: usize,
) -> Result<Vec<u64>> {
    let mut after: Option<String> = None;
    let mut own = false;
    let mut foreign = Vec::new();
    for _ in 0..MAX_PAGES {
        let mut variables = json!({
            "owner": format!("tenant{i}"), "name": format!("repo{i}"), "number": 1,
            "threadsPage": 100, "commentsPage": 100, "after": after,
        });
        if BOTH_ENDS_DOCUMENT {
            // What the server sends for a forward scan (no tail page needed when
            // the pull request fits in one page, as the generated ones do).
            variables["before"] = Value::Null;
            variables["withHead"] = json!(true);
            variables["withTail"] = json!(false);
        }
        let body = json!({ "query": REVIEW_THREADS_QUERY, "variables": variables });
        let resp = http
            .post(url)
            .header("authorization", bearer)
            .header("user-agent", "loadgen")
            .json(&body)
            .send()
            .await
            .context("POST /api/graphql")?;
        let status = resp.status();
        let text = resp.text().await.context("reading the GraphQL answer")?;
        if !status.is_success() {
            bail!("HTTP {status}: {}", clip(&text, 300));
        }
        let m = scan(i as u64, &[&text]);
        own |= m.own;
        for n in m.foreign {
            if !foreign.contains(&n) {
                foreign.push(n);
            }
        }
        // Typed, so the thread nodes are skipped rather than built into a tree.
        let answer: Answer = serde_json::from_str(&text).context("GraphQL answer is not JSON")?;
        if let Some(errors) = answer.errors {
            bail!("GraphQL errors: {}", clip(&errors.to_string(), 300));
        }
        let page = answer
            .data
            .and_then(|d| d.repository)
            .and_then(|r| r.pull_request)
            .context("no repository.pullRequest in the answer")?;
        let page = page
            .head
            .or(page.review_threads)
            .context("no review-thread page in the answer")?
            .page_info;
        if !page.has_next_page {
            if !own && foreign.is_empty() {
                bail!("the answer lacks tenant-{i}-marker");
            }
            return Ok(foreign);
        }
        after = Some(page.end_cursor.context("hasNextPage without endCursor")?);
    }
    bail!("more than {MAX_PAGES} thread pages")
}
