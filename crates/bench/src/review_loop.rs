//! `bench review-loop`: the whole review loop an agent runs on a long pull request,
//! through the release server over stdio, as a user who can write:
//! `resolve_open_pr_url` → `list_review_threads` (open threads, every page) →
//! `fetch_pr_review_comments` → `reply_to_review_comment` → `resolve_review_thread` →
//! `create_pr_review` (COMMENT, one multi-line inline comment). Each step is checked;
//! its time and the requests github-double saw for it (GraphQL vs REST) are reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use serde_json::{json, Value};

use crate::measure::{self, median, ms, Expect};
use crate::procs::{Client, Double, McpCommand, Seed};
use crate::report::{self, fmt};

#[derive(clap::Args, Debug, Clone)]
pub struct ReviewLoopOpts {
    /// The server binary [default: github-review-mcp beside this binary, else target/release/]
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The double binary [default: github-double beside this binary, else target/release/]
    #[arg(long)]
    double_bin: Option<PathBuf>,
    /// Repetitions of the loop, each on a freshly started double and server.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Latency github-double adds to every request, in ms.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Review threads of the generated pull request.
    #[arg(long, default_value_t = 300)]
    threads: usize,
    /// Comments per generated thread.
    #[arg(long, default_value_t = 3)]
    comments_per_thread: usize,
    /// Where to write the figures as JSON [default: target/bench/review-loop.json]
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The loop's steps, in order.
const STEPS: [&str; 6] = [
    "resolve_open_pr_url",
    "list_review_threads",
    "fetch_pr_review_comments",
    "reply_to_review_comment",
    "resolve_review_thread",
    "create_pr_review",
];

/// The seed's user who may write to the repository (a `writers` entry with a token).
struct Writer {
    login: String,
    token: String,
    head: String,
}

fn writer_of(seed: &Seed) -> Result<Writer> {
    let raw: Value = serde_json::from_slice(&std::fs::read(&seed.path)?)?;
    let repo = &raw["repos"][0];
    let head = repo["pulls"][0]["head"]
        .as_str()
        .context("seed: pulls[0].head")?
        .to_owned();
    let writers: Vec<&str> = repo["writers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .chain(repo["owner"].as_str())
        .collect();
    raw["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|u| {
            let login = u["login"].as_str()?;
            let token = u["tokens"][0].as_str()?;
            writers.contains(&login).then(|| Writer {
                login: login.to_owned(),
                token: token.to_owned(),
                head: head.clone(),
            })
        })
        .context("seed: no writer (or owner) of the repo has a token")
}

/// Where the multi-line inline comment goes: a file of the PR and a range of the new
/// side that its patch covers (asked from the double's REST `.../pulls/N/files`).
#[derive(Debug, Clone)]
struct Target {
    path: String,
    start_line: u64,
    line: u64,
}

async fn inline_target(double: &Double, seed: &Seed, token: &str) -> Result<Target> {
    let files: Value = reqwest::Client::new()
        .get(format!(
            "{}/repos/{}/{}/pulls/{}/files?per_page=100",
            double.url, seed.owner, seed.repo, seed.number
        ))
        .bearer_auth(token)
        .header(reqwest::header::USER_AGENT, "github-review-mcp-bench")
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    for file in files.as_array().context("files: not an array")? {
        let (Some(path), Some(patch)) = (file["filename"].as_str(), file["patch"].as_str()) else {
            continue;
        };
        // `@@ -a,b +c,d @@`: new-side lines c..c+d-1; take the last three.
        let Some(new) = patch
            .lines()
            .next()
            .and_then(|h| h.split_whitespace().find(|w| w.starts_with('+')))
        else {
            continue;
        };
        let (start, count) = new[1..].split_once(',').unwrap_or((&new[1..], "1"));
        let (start, count): (u64, u64) = (start.parse()?, count.parse()?);
        if count >= 3 {
            let line = start + count - 1;
            return Ok(Target {
                path: path.to_owned(),
                start_line: line - 2,
                line,
            });
        }
    }
    bail!("no file of the PR has a patch hunk of 3 or more new-side lines")
}

/// One step of one run: its tools/call round-trips and the requests the double saw.
#[derive(Debug, Default, Clone)]
struct Step {
    calls: usize,
    time: Duration,
    graphql: usize,
    rest: usize,
    writes: u64,
    not_ok: usize,
    log: Vec<Value>,
}

impl Step {
    fn requests(&self) -> usize {
        self.graphql + self.rest
    }
}

/// One run: the six steps and what the loop found.
#[derive(Debug, Default)]
struct Run {
    steps: Vec<Step>,
    /// From before step 1 to after step 6, including the checks and the log reads
    /// between steps.
    wall_with_bookkeeping: Duration,
    list_pages: usize,
    open_threads: usize,
    markdown_bytes: usize,
    json_bytes: usize,
    comments: usize,
}

impl Run {
    fn loop_time(&self) -> Duration {
        self.steps.iter().map(|s| s.time).sum()
    }
}

async fn call(
    client: &Client,
    name: &'static str,
    args: Value,
) -> Result<(Duration, CallToolResult)> {
    let mut params = CallToolRequestParams::new(name);
    params.arguments = args.as_object().cloned();
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(120), client.call_tool(params))
        .await
        .with_context(|| format!("{name}: tools/call took over 120 s"))?
        .with_context(|| format!("{name}: tools/call failed"))?;
    let elapsed = started.elapsed();
    if result.is_error == Some(true) {
        let text: Vec<&str> = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
            .collect();
        bail!("{name} answered an error: {}", text.join("\n"));
    }
    Ok((elapsed, result))
}

fn structured(result: &CallToolResult, name: &str) -> Result<Value> {
    result
        .structured_content
        .clone()
        .with_context(|| format!("{name}: no structuredContent"))
}

/// Reads the double's request log for the step just done, then clears it.
async fn take_log(http: &reqwest::Client, double: &Double, step: &mut Step) -> Result<()> {
    let entries: Vec<Value> = http
        .get(format!("{}/_double/requests", double.url))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    clear_log(http, double).await?;
    for e in &entries {
        let path = e["path"].as_str().unwrap_or_default();
        if path.ends_with("/graphql") {
            step.graphql += 1;
        } else {
            step.rest += 1;
        }
        step.writes += e["writes"].as_u64().unwrap_or(0);
        let status = e["status"].as_u64().unwrap_or(0);
        if !(200..300).contains(&status) && status != 304 {
            step.not_ok += 1;
        }
        step.log.push(json!({
            "method": e["method"], "path": path, "query": e["query"], "status": status,
            "graphql_operation": e["graphql_operation"], "writes": e["writes"],
        }));
    }
    Ok(())
}

async fn clear_log(http: &reqwest::Client, double: &Double) -> Result<()> {
    http.delete(format!("{}/_double/requests", double.url))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// One loop on a fresh double and a fresh server.
async fn one_run(
    opts: &ReviewLoopOpts,
    double_bin: &Path,
    seed: &Seed,
    writer: &Writer,
    server: &McpCommand,
) -> Result<(Run, Target)> {
    let double = Double::start(double_bin, &seed.path, opts.latency_ms).await?;
    let http = reqwest::Client::new();
    let target = inline_target(&double, seed, &writer.token).await?;
    let mut server = server.clone();
    server.env.push(("GITHUB_HOST".into(), double.url.clone()));
    let child = server.start().await?;
    clear_log(&http, &double).await?;
    let client = &child.client;
    let mut run = Run::default();
    let started = Instant::now();

    // 1. The open PR of the head branch.
    let mut step = Step::default();
    let (t, r) = call(
        client,
        STEPS[0],
        json!({ "owner": seed.owner, "repo": seed.repo, "branch": writer.head }),
    )
    .await?;
    step.calls += 1;
    step.time += t;
    take_log(&http, &double, &mut step).await?;
    let v = structured(&r, STEPS[0])?;
    let pr_url = v["pr_url"].as_str().context("no pr_url")?.to_owned();
    ensure!(
        v["pr"]["number"].as_u64() == Some(seed.number) && v["pr"]["head_ref"] == writer.head,
        "resolve_open_pr_url found {} (head {}), expected #{} of {}",
        v["pr"]["number"],
        v["pr"]["head_ref"],
        seed.number,
        writer.head
    );
    run.steps.push(step);

    // 2. Every open thread, page by page.
    let mut step = Step::default();
    let mut cursor: Option<String> = None;
    let mut open = Vec::new();
    loop {
        let (t, r) = call(
            client,
            STEPS[1],
            json!({ "pr_url": pr_url, "is_resolved": false, "cursor": cursor }),
        )
        .await?;
        step.calls += 1;
        step.time += t;
        let v = structured(&r, STEPS[1])?;
        ensure!(
            v["total_threads"].as_u64() == Some(seed.threads as u64),
            "list_review_threads: total_threads {}, expected {}",
            v["total_threads"],
            seed.threads
        );
        for th in v["threads"].as_array().context("no threads")? {
            ensure!(
                th["is_resolved"] == false,
                "list_review_threads(is_resolved: false) returned a resolved thread"
            );
            open.push(th.clone());
        }
        cursor = v["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
        ensure!(step.calls < 1000, "list_review_threads: over 1000 pages");
    }
    take_log(&http, &double, &mut step).await?;
    let ids: BTreeSet<&str> = open.iter().filter_map(|t| t["id"].as_str()).collect();
    ensure!(
        !open.is_empty() && ids.len() == open.len(),
        "list_review_threads: {} open threads, {} distinct ids",
        open.len(),
        ids.len()
    );
    run.list_pages = step.calls;
    run.open_threads = open.len();
    run.steps.push(step);

    // 3. Every comment (Markdown, the default), checked complete.
    let mut step = Step::default();
    let (t, r) = call(
        client,
        STEPS[2],
        json!({ "pr_url": pr_url, "max_output_bytes": 50_000_000 }),
    )
    .await?;
    step.calls += 1;
    step.time += t;
    take_log(&http, &double, &mut step).await?;
    let answer = measure::check_sizes(
        &r,
        Expect::Complete {
            threads: seed.threads,
            comments: seed.comments,
        },
    )
    .context("fetch_pr_review_comments")?;
    // The Markdown's thread headings say `· UNRESOLVED` (structuredContent has counts only).
    structured(&r, STEPS[2])?;
    let unresolved = measure::text_of(&r)
        .lines()
        .filter(|l| l.starts_with("## ") && l.contains(" · UNRESOLVED"))
        .count();
    ensure!(
        unresolved == open.len(),
        "fetch_pr_review_comments has {unresolved} unresolved threads, list_review_threads {}",
        open.len()
    );
    run.markdown_bytes = answer.markdown_bytes;
    run.json_bytes = answer.structured_bytes;
    run.comments = seed.comments;
    run.steps.push(step);

    // 4. Reply to the first open thread's first comment.
    let first = &open[0];
    let thread_id = first["id"]
        .as_str()
        .context("thread without id")?
        .to_owned();
    let comment_id = first["first_comment"]["id"]
        .as_u64()
        .context("first open thread has no first comment id")?;
    let mut step = Step::default();
    let (t, r) = call(
        client,
        STEPS[3],
        json!({ "pr_url": pr_url, "comment_id": comment_id, "body": "Done: renamed as suggested. (bench review-loop)" }),
    )
    .await?;
    step.calls += 1;
    step.time += t;
    take_log(&http, &double, &mut step).await?;
    let v = structured(&r, STEPS[3])?;
    ensure!(
        v["in_reply_to_id"].as_u64() == Some(comment_id)
            && v["id"].as_u64().is_some_and(|id| id != comment_id),
        "reply_to_review_comment: unexpected answer {v}"
    );
    ensure!(
        step.writes >= 1,
        "reply_to_review_comment: no write reached the double"
    );
    run.steps.push(step);

    // 5. Resolve that thread.
    let mut step = Step::default();
    let (t, r) = call(client, STEPS[4], json!({ "thread_id": thread_id })).await?;
    step.calls += 1;
    step.time += t;
    take_log(&http, &double, &mut step).await?;
    let v = structured(&r, STEPS[4])?;
    ensure!(
        v["thread_id"] == thread_id.as_str()
            && v["is_resolved"] == true
            && v["resolved_by"] == writer.login.as_str(),
        "resolve_review_thread: unexpected answer {v}"
    );
    ensure!(
        step.writes >= 1,
        "resolve_review_thread: no write reached the double"
    );
    run.steps.push(step);

    // 6. A COMMENT review with a body and one multi-line inline comment.
    let mut step = Step::default();
    let (t, r) = call(
        client,
        STEPS[5],
        json!({
            "pr_url": pr_url,
            "event": "COMMENT",
            "body": "Addressed the open threads; one more note inline. (bench review-loop)",
            "comments": [{
                "path": target.path,
                "start_line": target.start_line,
                "line": target.line,
                "side": "RIGHT",
                "body": "These lines could share one helper.",
            }],
        }),
    )
    .await?;
    step.calls += 1;
    step.time += t;
    take_log(&http, &double, &mut step).await?;
    let v = structured(&r, STEPS[5])?;
    ensure!(
        v["state"] == "COMMENTED"
            && v["id"].as_u64().is_some()
            && v["comments"].as_array().map_or(0, Vec::len) == 1,
        "create_pr_review: unexpected answer {v}"
    );
    ensure!(
        step.writes >= 1,
        "create_pr_review: no write reached the double"
    );
    run.steps.push(step);
    run.wall_with_bookkeeping = started.elapsed();

    for (name, s) in STEPS.iter().zip(&run.steps) {
        ensure!(
            s.not_ok == 0,
            "{name}: the double answered {} request(s) with an error status: {:?}",
            s.not_ok,
            s.log
        );
    }
    child.stop().await?;
    drop(double);
    Ok((run, target))
}

fn stats(v: &[f64]) -> Value {
    json!({
        "median": median(v),
        "min": v.iter().copied().fold(f64::INFINITY, f64::min),
        "max": v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        "runs": v,
    })
}

/// A count across runs: `n` when every run agrees, else `median (min..max)`.
fn count_cell(v: &[usize]) -> String {
    let lo = v.iter().min().copied().unwrap_or(0);
    let hi = v.iter().max().copied().unwrap_or(0);
    if lo == hi {
        lo.to_string()
    } else {
        let f: Vec<f64> = v.iter().map(|&x| x as f64).collect();
        format!("{} ({lo}..{hi})", fmt(median(&f), 1))
    }
}

pub async fn run(opts: ReviewLoopOpts) -> Result<()> {
    ensure!(opts.runs >= 1, "--runs must be at least 1");
    ensure!(opts.threads >= 1, "--threads must be at least 1");
    let out_dir = Path::new(crate::WORKSPACE).join("target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let out_dir = out_dir.canonicalize()?;
    let json_path = opts
        .json
        .clone()
        .unwrap_or_else(|| out_dir.join("review-loop.json"));
    let server_bin = crate::find_bin("github-review-mcp", opts.server_bin.as_ref())?;
    let double_bin = crate::find_bin("github-double", opts.double_bin.as_ref())?;
    let seed = Seed::generate(
        &double_bin,
        &out_dir,
        opts.threads,
        opts.comments_per_thread,
        330,
        8,
    )
    .await?;
    let writer = writer_of(&seed)?;
    let server = McpCommand {
        program: server_bin.clone(),
        args: vec!["stdio".into()],
        env: vec![
            ("GITHUB_TOKEN".into(), writer.token.clone()),
            ("RUST_LOG".into(), "warn".into()),
        ],
        log: out_dir.join("review-loop-server.log"),
    };

    println!("github-review-mcp review loop");
    println!("  server  {}", crate::describe_bin(&server_bin));
    println!("  double  {}", crate::describe_bin(&double_bin));
    println!(
        "  PR {} (head {}) with {} threads / {} comments; as {} (writer); +{} ms per request; {} runs, each on a fresh double and server (writes do not accumulate)",
        seed.pr_ref(),
        writer.head,
        seed.threads,
        seed.comments,
        writer.login,
        opts.latency_ms,
        opts.runs
    );

    let mut runs = Vec::new();
    let mut target = None;
    for i in 1..=opts.runs {
        eprintln!("run {i}/{}", opts.runs);
        let (run, t) = one_run(&opts, &double_bin, &seed, &writer, &server)
            .await
            .with_context(|| format!("run {i}"))?;
        runs.push(run);
        target = Some(t);
    }
    let target = target.context("no run")?;
    println!(
        "  {} open threads over {} list_review_threads page(s); inline comment on {} lines {}-{}",
        runs[0].open_threads, runs[0].list_pages, target.path, target.start_line, target.line
    );
    println!();

    // The table: one row per step, then the whole loop.
    let mut rows = vec![vec![
        "step".to_owned(),
        "tool calls".to_owned(),
        "median ms".to_owned(),
        "min ms".to_owned(),
        "max ms".to_owned(),
        "requests".to_owned(),
        "GraphQL".to_owned(),
        "REST".to_owned(),
    ]];
    let mut steps_json = serde_json::Map::new();
    let per_run = |f: &dyn Fn(&Run) -> usize| -> Vec<usize> { runs.iter().map(f).collect() };
    for (i, name) in STEPS.iter().enumerate() {
        let times: Vec<f64> = runs.iter().map(|r| ms(r.steps[i].time)).collect();
        let calls = per_run(&|r| r.steps[i].calls);
        let total = per_run(&|r| r.steps[i].requests());
        let graphql = per_run(&|r| r.steps[i].graphql);
        let rest = per_run(&|r| r.steps[i].rest);
        let (lo, hi) = (
            times.iter().copied().fold(f64::INFINITY, f64::min),
            times.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        rows.push(vec![
            (*name).to_owned(),
            count_cell(&calls),
            fmt(median(&times), 1),
            fmt(lo, 1),
            fmt(hi, 1),
            count_cell(&total),
            count_cell(&graphql),
            count_cell(&rest),
        ]);
        steps_json.insert(
            (*name).to_owned(),
            json!({
                "ms": stats(&times),
                "tool_calls": calls,
                "requests": { "total": total, "graphql": graphql, "rest": rest },
                "writes": runs.iter().map(|r| r.steps[i].writes).collect::<Vec<_>>(),
                "log_first_run": runs[0].steps[i].log,
            }),
        );
    }
    let loop_ms: Vec<f64> = runs.iter().map(|r| ms(r.loop_time())).collect();
    let wall_ms: Vec<f64> = runs.iter().map(|r| ms(r.wall_with_bookkeeping)).collect();
    let calls = per_run(&|r| r.steps.iter().map(|s| s.calls).sum());
    let total = per_run(&|r| r.steps.iter().map(Step::requests).sum());
    let graphql = per_run(&|r| r.steps.iter().map(|s| s.graphql).sum());
    let rest = per_run(&|r| r.steps.iter().map(|s| s.rest).sum());
    rows.push(vec![
        "whole loop".to_owned(),
        count_cell(&calls),
        fmt(median(&loop_ms), 1),
        fmt(loop_ms.iter().copied().fold(f64::INFINITY, f64::min), 1),
        fmt(loop_ms.iter().copied().fold(f64::NEG_INFINITY, f64::max), 1),
        count_cell(&total),
        count_cell(&graphql),
        count_cell(&rest),
    ]);
    println!(
        "Review loop, +{} ms per request (times: tools/call round-trips; across {} runs):",
        opts.latency_ms, opts.runs
    );
    println!(
        "{}",
        report::table(&rows, &[false, true, true, true, true, true, true, true])
    );
    println!(
        "Whole loop including the bench's checks and request-log reads between steps: median {} ms.",
        fmt(median(&wall_ms), 1)
    );

    let md_pc: Vec<f64> = runs
        .iter()
        .map(|r| r.markdown_bytes as f64 / r.comments as f64)
        .collect();
    let json_pc: Vec<f64> = runs
        .iter()
        .map(|r| r.json_bytes as f64 / r.comments as f64)
        .collect();
    let mut size_rows = vec![vec![
        "fetch_pr_review_comments answer".to_owned(),
        "bytes".to_owned(),
        "comments".to_owned(),
        "bytes/comment".to_owned(),
    ]];
    size_rows.push(vec![
        "Markdown text".to_owned(),
        runs[0].markdown_bytes.to_string(),
        runs[0].comments.to_string(),
        fmt(median(&md_pc), 1),
    ]);
    size_rows.push(vec![
        "structuredContent (compact JSON)".to_owned(),
        runs[0].json_bytes.to_string(),
        runs[0].comments.to_string(),
        fmt(median(&json_pc), 1),
    ]);
    println!("{}", report::table(&size_rows, &[false, true, true, true]));

    let results = json!({
        "config": {
            "runs": opts.runs, "latency_ms": opts.latency_ms,
            "threads": opts.threads, "comments_per_thread": opts.comments_per_thread,
            "server_bin": server_bin, "double_bin": double_bin,
            "fresh_double_and_server_per_run": true,
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        },
        "data": {
            "pr": seed.pr_ref(), "head": writer.head, "user": writer.login,
            "threads": seed.threads, "comments": seed.comments,
            "open_threads": runs[0].open_threads, "list_pages": runs[0].list_pages,
            "inline_comment": { "path": target.path, "start_line": target.start_line, "line": target.line },
        },
        "loop_ms": stats(&loop_ms),
        "loop_wall_with_bookkeeping_ms": stats(&wall_ms),
        "requests": { "total": total, "graphql": graphql, "rest": rest },
        "tool_calls": calls,
        "steps": steps_json,
        "markdown_bytes": runs.iter().map(|r| r.markdown_bytes).collect::<Vec<_>>(),
        "structured_content_bytes": runs.iter().map(|r| r.json_bytes).collect::<Vec<_>>(),
        "markdown_bytes_per_comment": stats(&md_pc),
        "json_bytes_per_comment": stats(&json_pc),
    });
    if let Some(dir) = json_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&results)?)?;
    println!("JSON: {}", json_path.display());
    Ok(())
}
