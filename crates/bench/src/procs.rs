//! The processes the benchmark drives: `github-double` (HTTP), MCP servers over
//! stdio (the real one and the floor), and the seeds they serve.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub type Client = RunningService<RoleClient, ()>;

/// What a generated seed holds: where its PR is, a token that can read it, and how
/// many threads and comments a complete answer has.
#[derive(Debug, Clone)]
pub struct Seed {
    pub path: PathBuf,
    pub owner: String,
    pub repo: String,
    pub number: u64,
    pub token: String,
    pub threads: usize,
    pub comments: usize,
}

impl Seed {
    pub fn pr_ref(&self) -> String {
        format!("{}/{}#{}", self.owner, self.repo, self.number)
    }

    /// Runs `github-double generate` into `dir/seed-<threads>x<comments>.json` and
    /// reads back the PR, a token and the expected counts.
    pub async fn generate(
        double_bin: &Path,
        dir: &Path,
        threads: usize,
        comments_per_thread: usize,
        body_len: usize,
        hunk_lines: usize,
    ) -> Result<Self> {
        let output = Command::new(double_bin)
            .args(["generate", "--threads", &threads.to_string()])
            .args(["--comments-per-thread", &comments_per_thread.to_string()])
            .args(["--body-len", &body_len.to_string()])
            .args(["--hunk-lines", &hunk_lines.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .await
            .with_context(|| format!("running {} generate", double_bin.display()))?;
        if !output.status.success() {
            bail!("github-double generate failed: {}", output.status);
        }
        let path = dir.join(format!("seed-{threads}x{comments_per_thread}.json"));
        std::fs::write(&path, &output.stdout)
            .with_context(|| format!("writing {}", path.display()))?;
        let seed: Value = serde_json::from_slice(&output.stdout).context("parsing the seed")?;
        Self::from_value(path, &seed)
    }

    fn from_value(path: PathBuf, seed: &Value) -> Result<Self> {
        let repo = &seed["repos"][0];
        let pull = &repo["pulls"][0];
        let owner = repo["owner"].as_str().context("seed: repos[0].owner")?;
        let name = repo["name"].as_str().context("seed: repos[0].name")?;
        let number = pull["number"].as_u64().context("seed: pulls[0].number")?;
        // A user that can read the repo: the owner, a writer or a reader, with a token.
        let can_read = |login: &str| {
            login == owner
                || ["writers", "readers"].iter().any(|k| {
                    repo[k]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|l| l.as_str() == Some(login)))
                })
        };
        let token = seed["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| u["login"].as_str().is_some_and(can_read))
            .find_map(|u| u["tokens"][0].as_str())
            .context("seed: no user with a token can read the repo")?;
        let explicit = pull["threads"].as_array().cloned().unwrap_or_default();
        let generate = &pull["generate"];
        let gen_threads = generate["threads"].as_u64().unwrap_or(0) as usize;
        let gen_cpt = generate["comments_per_thread"].as_u64().unwrap_or(0) as usize;
        let explicit_comments: usize = explicit
            .iter()
            .map(|t| t["comments"].as_array().map_or(0, Vec::len))
            .sum();
        Ok(Self {
            path,
            owner: owner.to_owned(),
            repo: name.to_owned(),
            number,
            token: token.to_owned(),
            threads: explicit.len() + gen_threads,
            comments: explicit_comments + gen_threads * gen_cpt,
        })
    }
}

/// A running `github-double`, killed on drop.
pub struct Double {
    _child: Child,
    pub pid: u32,
    pub url: String,
    http: reqwest::Client,
}

impl Double {
    pub async fn start(bin: &Path, seed: &Path, latency_ms: u64) -> Result<Self> {
        let mut child = Command::new(bin)
            .arg("--seed")
            .arg(seed)
            .args(["--listen", "127.0.0.1:0"])
            .args(["--latency-ms", &latency_ms.to_string()])
            // The benchmark spends thousands of GraphQL points per hour.
            .args([
                "--rate-limit",
                "100000000",
                "--graphql-rate-limit",
                "100000000",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("double pid")?;
        let stdout = child.stdout.take().context("double stdout")?;
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .context("github-double did not print its address within 30 s")??;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("unexpected first line from github-double: {line:?}"))?
            .to_owned();
        Ok(Self {
            _child: child,
            pid,
            url,
            http: reqwest::Client::new(),
        })
    }

    pub async fn set_latency(&self, latency_ms: u64) -> Result<()> {
        self.http
            .post(format!("{}/_double/config", self.url))
            .json(&json!({ "latency_ms": latency_ms }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Resets the double's timing statistics and its request log (which would
    /// otherwise grow through the whole benchmark).
    pub async fn reset(&self) -> Result<()> {
        for path in ["stats", "requests"] {
            self.http
                .delete(format!("{}/_double/{path}", self.url))
                .send()
                .await?
                .error_for_status()?;
        }
        Ok(())
    }

    /// `GET /_double/stats`: the double's own time per request, latency excluded.
    pub async fn stats(&self) -> Result<Value> {
        Ok(self
            .http
            .get(format!("{}/_double/stats", self.url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

/// An MCP server child on stdio with rmcp's client connected to it.
pub struct McpChild {
    pub child: Child,
    pub client: Client,
    pub pid: u32,
    /// From just before the spawn to the end of the initialize handshake.
    pub startup: Duration,
}

/// How to start one MCP server process.
#[derive(Debug, Clone)]
pub struct McpCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

impl McpCommand {
    /// Spawns the process (environment cleared but for `env`) and does the MCP
    /// initialize handshake over its stdin/stdout.
    pub async fn start(&self) -> Result<McpChild> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        let pid = child.id().context("child pid")?;
        let stdout = child.stdout.take().context("child stdout")?;
        let stdin = child.stdin.take().context("child stdin")?;
        let client = tokio::time::timeout(Duration::from_secs(30), ().serve((stdout, stdin)))
            .await
            .with_context(|| format!("{}: no MCP handshake within 30 s", self.program.display()))?
            .with_context(|| {
                format!(
                    "{}: MCP handshake failed (see {})",
                    self.program.display(),
                    self.log.display()
                )
            })?;
        let startup = started.elapsed();
        Ok(McpChild {
            child,
            client,
            pid,
            startup,
        })
    }
}

impl McpChild {
    /// Closes the client (the server sees EOF on stdin and should exit), waits up to
    /// 3 s, then kills.
    pub async fn stop(mut self) -> Result<()> {
        let _ = self.client.cancel().await;
        match tokio::time::timeout(Duration::from_secs(3), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                self.child.kill().await?;
            }
        }
        Ok(())
    }

    /// Peak resident set size (`VmHWM`) of the server process, in bytes.
    pub fn peak_rss(&self) -> Result<u64> {
        vm_hwm(self.pid)
    }
}

pub fn vm_hwm(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .with_context(|| format!("no VmHWM in {path}"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("parsing {line:?}"))?;
    Ok(kib * 1024)
}

/// CPU time (user + system) a process has used so far, in ms (`/proc/PID/stat`,
/// 10 ms ticks).
pub fn cpu_ms(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `state` is field 3; utime and stime are fields 14 and 15.
    let ticks =
        |i: usize| -> Result<f64> { Ok(fields.get(i - 3).context("short stat")?.parse::<f64>()?) };
    const TICKS_PER_SEC: f64 = 100.0; // USER_HZ on Linux
    Ok((ticks(14)? + ticks(15)?) * 1e3 / TICKS_PER_SEC)
}
