//! The processes loadgen drives: the seed generator, `github-double` and
//! `github-review-mcp http`, all on loopback, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a child may take to announce its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The seed parameters the brief fixes.
pub const THREADS: usize = 50;
pub const COMMENTS_PER_THREAD: usize = 3;
pub const BODY_LEN: usize = 330;
pub const HUNK_LINES: usize = 8;

/// `name` beside loadgen's own executable (`target/release/` under `cargo run
/// --release`), else `target/release/name` from the current directory.
pub fn default_bin(name: &str) -> PathBuf {
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        let candidate = dir.join(name);
        if candidate.exists() {
            return candidate;
        }
    }
    PathBuf::from("target/release").join(name)
}

pub fn require_bin(path: &Path, what: &str) -> Result<()> {
    if !path.exists() {
        bail!(
            "{what} binary {} not found: run `cargo build --release --workspace --bins` first \
             (or pass its path)",
            path.display()
        );
    }
    Ok(())
}

/// Runs `github-double generate --tenants N ...` into `dir/seed.json`.
pub async fn generate_seed(double_bin: &Path, dir: &Path, tenants: usize) -> Result<PathBuf> {
    let output = Command::new(double_bin)
        .arg("generate")
        .args(["--tenants", &tenants.to_string()])
        .args(["--threads", &THREADS.to_string()])
        .args(["--comments-per-thread", &COMMENTS_PER_THREAD.to_string()])
        .args(["--body-len", &BODY_LEN.to_string()])
        .args(["--hunk-lines", &HUNK_LINES.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await
        .with_context(|| format!("running {} generate", double_bin.display()))?;
    if !output.status.success() {
        bail!("github-double generate failed: {}", output.status);
    }
    // Sanity: the seed has the tenants we are going to drive.
    let seed: Value = serde_json::from_slice(&output.stdout).context("parsing the seed")?;
    let repos = seed["repos"].as_array().map_or(0, Vec::len);
    if repos < tenants {
        bail!("the generated seed has {repos} repositories, expected {tenants}");
    }
    let path = dir.join("seed.json");
    std::fs::write(&path, &output.stdout).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A running `github-double`.
pub struct Double {
    child: Child,
    pub pid: u32,
    pub url: String,
}

impl Double {
    pub async fn start(bin: &Path, seed: &Path, log: &Path) -> Result<Self> {
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = Command::new(bin)
            .arg("--seed")
            .arg(seed)
            .args(["--listen", "127.0.0.1:0"])
            // The default budget (5,000 an hour per token) would run out within seconds.
            .args(["--rate-limit", "1000000000"])
            .args(["--graphql-rate-limit", "1000000000"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("github-double pid")?;
        let stdout = child.stdout.take().context("github-double stdout")?;
        let mut line = String::new();
        tokio::time::timeout(START_TIMEOUT, BufReader::new(stdout).read_line(&mut line))
            .await
            .context("github-double did not print its address within 30 s")?
            .context("reading github-double's stdout")?;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| {
                format!(
                    "unexpected first line from github-double: {line:?} (stderr in {})",
                    log.display()
                )
            })?
            .to_owned();
        Ok(Self { child, pid, url })
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A running `github-review-mcp http`, its stderr in a file.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts `bin http --listen 127.0.0.1:0 --require-client-token`, then `extra`
    /// (`--server-arg`) appended as given.
    pub async fn start(bin: &Path, double_url: &str, log: &Path, extra: &[String]) -> Result<Self> {
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = Command::new(bin)
            .args(["http", "--listen", "127.0.0.1:0", "--require-client-token"])
            .args(extra)
            .env_clear()
            .env("GITHUB_HOST", double_url)
            // warn for everything, plus the one info line that says where it listens.
            .env("RUST_LOG", "warn,github_review_mcp::transport::http=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("server pid")?;
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let base = loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(rest) = text.split("MCP at ").nth(1) {
                if let Some(base) = rest.split("/mcp").next().filter(|_| rest.contains("/mcp")) {
                    break base.trim().to_owned();
                }
            }
            if let Some(status) = child.try_wait()? {
                bail!("github-review-mcp exited at start ({status}): {text}");
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("github-review-mcp did not report `MCP at ...` within 30 s: {text}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Ok(Self {
            child,
            pid,
            base,
            log: log.to_owned(),
        })
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Peak resident set size (`VmHWM`) of a process, in bytes.
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

/// CPU time (user + system) a process has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th
    // and 15th fields overall, i.e. the 12th and 13th after the name.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Linux reports clock ticks; USER_HZ is 100 on every architecture Rust targets
    // that has /proc.
    Some((utime + stime) / 100.0)
}

/// CPU seconds of the server, the double and loadgen itself, to take differences of.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    pub server: Option<u32>,
    pub double: Option<u32>,
}

impl CpuMeter {
    pub fn read(&self) -> [Option<f64>; 3] {
        [
            self.server.and_then(cpu_seconds),
            self.double.and_then(cpu_seconds),
            cpu_seconds(std::process::id()),
        ]
    }

    /// Seconds used since `before`, per process.
    pub fn since(&self, before: [Option<f64>; 3]) -> crate::report::Cpu {
        let now = self.read();
        let d = |i: usize| Some(now[i]? - before[i]?);
        crate::report::Cpu {
            server_s: d(0),
            double_s: d(1),
            loadgen_s: d(2),
        }
    }
}

/// Refuses any URL whose host is not loopback.
pub fn require_loopback(url: &str, what: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{what}: invalid URL {url}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let ok = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !ok {
        bail!("{what}: {url} is not a loopback address; loadgen only targets loopback");
    }
    Ok(())
}
