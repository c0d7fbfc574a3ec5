//! The clients people run: the official Python SDK (`mcp` 2.x) and the TypeScript SDK
//! (`@modelcontextprotocol/sdk`, what editors build on), each driving a stdio server
//! through a small script (`tests/python/bench_client.py`, `tests/node/bench_client.mjs`)
//! that times every `tools/call` inside the SDK, output-schema validation included.
//! rmcp's client validates nothing, so its figures alone hide what these users feel.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use rmcp::model::CallToolResult;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::measure::{self, Expect, Series};
use crate::procs::McpCommand;
use crate::WORKSPACE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Client {
    Python,
    Typescript,
    Rmcp,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Python => "python",
            Client::Typescript => "typescript",
            Client::Rmcp => "rmcp",
        }
    }

    /// The driver's command line before its own options.
    fn driver(self) -> Result<(PathBuf, Vec<String>)> {
        let root = Path::new(WORKSPACE);
        let (program, script) = match self {
            Client::Python => (
                root.join(".venv/bin/python"),
                root.join("tests/python/bench_client.py"),
            ),
            Client::Typescript => (
                PathBuf::from("node"),
                root.join("tests/node/bench_client.mjs"),
            ),
            Client::Rmcp => bail!("rmcp's client runs in-process"),
        };
        Ok((program, vec![script.to_string_lossy().into_owned()]))
    }
}

/// Installs the Python and Node clients when missing (`scripts/clients`, idempotent).
pub fn install_clients() -> Result<()> {
    let status = std::process::Command::new(Path::new(WORKSPACE).join("scripts/clients"))
        .status()
        .context("running scripts/clients")?;
    ensure!(status.success(), "scripts/clients failed: {status}");
    Ok(())
}

/// What a driver printed: one JSON line.
#[derive(Debug, Deserialize)]
struct Report {
    sdk_version: String,
    samples_ms: Vec<f64>,
    errors: usize,
    warnings: Vec<String>,
    server_peak_rss_bytes: Option<u64>,
    server_cpu_ms: Option<f64>,
    last: Value,
    text_bytes: Vec<usize>,
}

/// One series of calls through an SDK client.
#[derive(Debug)]
pub struct SdkSeries {
    pub series: Series,
    pub sdk_version: String,
    pub warnings: Vec<String>,
    pub peak_rss_bytes: Option<u64>,
    pub cpu_ms_per_call: Option<f64>,
}

/// Starts `server` under `client`'s driver, makes `warmup` then `calls` sequential
/// calls of `fetch_pr_review_comments` on `pr`, and checks the answers: none an
/// error, every text the same size, the last one complete (`expect`).
pub async fn series(
    client: Client,
    server: &McpCommand,
    pr: &str,
    calls: usize,
    warmup: usize,
    expect: Expect,
) -> Result<SdkSeries> {
    let (program, mut args) = client.driver()?;
    args.extend([
        "--calls".into(),
        calls.to_string(),
        "--warmup".into(),
        warmup.to_string(),
        "--tool".into(),
        "fetch_pr_review_comments".into(),
        "--args".into(),
        // The whole PR in one answer, as the issue-10 figures measure it.
        json!({ "pr_url": pr, "max_output_bytes": 50_000_000 }).to_string(),
        "--server-log".into(),
        server.log.to_string_lossy().into_owned(),
        "--".into(),
        server.program.to_string_lossy().into_owned(),
    ]);
    args.extend(server.args.iter().cloned());
    let mut command = tokio::process::Command::new(&program);
    command
        .args(&args)
        .env_clear()
        .envs(server.env.iter().cloned())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for key in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    let output = tokio::time::timeout(Duration::from_secs(600), command.output())
        .await
        .with_context(|| format!("the {} driver did not finish", client.name()))?
        .with_context(|| format!("starting {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "the {} driver failed ({}): {}",
            client.name(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let line = String::from_utf8_lossy(&output.stdout);
    let report: Report = serde_json::from_str(line.trim())
        .with_context(|| format!("the {} driver's report", client.name()))?;
    ensure!(
        report.errors == 0,
        "{}: {} calls answered an error",
        client.name(),
        report.errors
    );
    ensure!(
        report.samples_ms.len() == calls,
        "{}: {} samples, expected {calls}",
        client.name(),
        report.samples_ms.len()
    );
    let last: CallToolResult = serde_json::from_value(report.last)
        .with_context(|| format!("{}: the last result is not a CallToolResult", client.name()))?;
    let answer = measure::check(&last, expect)
        .with_context(|| format!("{}: the last answer", client.name()))?;
    ensure!(
        report
            .text_bytes
            .iter()
            .all(|&b| b == answer.markdown_bytes),
        "{}: the answers' text sizes differ: {:?}",
        client.name(),
        report.text_bytes
    );
    let samples: Vec<Duration> = report
        .samples_ms
        .iter()
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
        .collect();
    let wall = samples.iter().sum();
    Ok(SdkSeries {
        series: Series {
            samples,
            wall,
            graphql_bytes: 0,
        },
        sdk_version: report.sdk_version,
        warnings: report.warnings,
        peak_rss_bytes: report.server_peak_rss_bytes,
        cpu_ms_per_call: report.server_cpu_ms.map(|c| c / calls as f64),
    })
}
