//! End-to-end harness: starts the real `github-double` and `github-review-mcp`
//! binaries on loopback and connects rmcp's client to the server.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, RequestMetaObject};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const ALICE: &str = "ghp_aliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
pub const BOB: &str = "github_pat_bobBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
pub const CAROL: &str = "gho_carolCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
pub const SERVER: &str = "ghs_serverSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS";
pub const DAVE: &str = "ghp_daveDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD";
pub const ALL_TOKENS: [&str; 5] = [ALICE, BOB, CAROL, SERVER, DAVE];

pub mod signin;

pub type Client = RunningService<RoleClient, ()>;

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `target/<profile>/github-double`, beside this crate's binary, unless
/// `GITHUB_DOUBLE_BIN` says otherwise.
fn double_bin() -> PathBuf {
    if let Ok(path) = std::env::var("GITHUB_DOUBLE_BIN") {
        return PathBuf::from(path);
    }
    let server = PathBuf::from(env!("CARGO_BIN_EXE_github-review-mcp"));
    let path = server.with_file_name("github-double");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test does)",
        path.display()
    );
    path
}

pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_github-review-mcp")
}

pub struct Double {
    _child: Child,
    pub url: String,
    http: reqwest::Client,
}

impl Double {
    pub async fn start() -> Self {
        Self::start_with(&fixture("seed.json"), &[]).await
    }

    pub async fn start_with(seed: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(double_bin())
            .arg("--seed")
            .arg(seed)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start github-double");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(20),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("github-double did not start in time")
        .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .expect(&line)
            .to_owned();
        Self {
            _child: child,
            url,
            http: reqwest::Client::new(),
        }
    }

    /// The double's request log: method, path, user, token fingerprint, ...
    pub async fn requests(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_double/requests", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `POST /_double/config`: latency, faults, rate limits (partial update).
    pub async fn configure(&self, patch: Value) {
        let response = self
            .http
            .post(format!("{}/_double/config", self.url))
            .json(&patch)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "double config {patch}: {}",
            response.status()
        );
    }

    /// Downloads from the double's log host (`/_double/blob-requests`): job id, host,
    /// whether an `Authorization` header came along, status.
    pub async fn blob_requests(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_double/blob-requests", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn clear_requests(&self) {
        self.http
            .delete(format!("{}/_double/requests", self.url))
            .send()
            .await
            .unwrap();
    }
}

/// A running `github-review-mcp http`, its stderr captured to a file.
pub struct HttpServer {
    _child: Child,
    pub base: String,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

pub struct ServerOptions<'a> {
    pub server_token: Option<&'a str>,
    pub args: &'a [&'a str],
    pub rust_log: &'a str,
    /// More environment (the server starts with a clean one).
    pub env: &'a [(&'a str, &'a str)],
}

impl Default for ServerOptions<'_> {
    fn default() -> Self {
        Self {
            server_token: None,
            args: &[],
            // Every test runs the server at trace level, and every server's log is
            // checked for tokens when it is dropped (see `Drop for HttpServer`).
            rust_log: "trace",
            env: &[],
        }
    }
}

fn server_command(double: &Double, options: &ServerOptions<'_>, log: &Path) -> Command {
    let mut cmd = Command::new(server_bin());
    cmd.env_clear()
        .env("GITHUB_HOST", &double.url)
        .env("RUST_LOG", options.rust_log)
        // Over HTTP the default state is a file in the user's state directory: each
        // server gets its own, beside its log.
        .env(
            "XDG_STATE_HOME",
            log.parent().expect("the log is in a directory"),
        )
        .stdin(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .kill_on_drop(true);
    if let Some(token) = options.server_token {
        cmd.env("GITHUB_TOKEN", token);
    }
    for (name, value) in options.env {
        cmd.env(name, value);
    }
    cmd
}

impl HttpServer {
    /// Open TCP connections (IPv4, established) from the server to `url`'s port: its
    /// connections to the double, from `/proc` (Linux).
    pub fn connections_to(&self, url: &str) -> usize {
        let pid = self._child.id().expect("the server runs");
        let port: u16 = url
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let inodes: std::collections::HashSet<String> =
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .unwrap()
                .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                .filter_map(|link| {
                    let link = link.to_string_lossy().into_owned();
                    Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect();
        std::fs::read_to_string("/proc/net/tcp")
            .unwrap()
            .lines()
            .skip(1)
            .filter(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let remote_port = f[2]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok());
                remote_port == Some(port) && f[3] == "01" && inodes.contains(f[9])
            })
            .count()
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// One unlabelled sample of `/metrics`, by its full name.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        self.metrics()
            .await
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    pub async fn start(double: &Double, options: ServerOptions<'_>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut cmd = server_command(double, &options, &log);
        cmd.arg("http");
        if !options.args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        let child = cmd
            .args(options.args)
            .stdout(Stdio::null())
            .spawn()
            .expect("start github-review-mcp http");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let base = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("MCP at ").nth(1) {
                break rest.split("/mcp").next().unwrap().to_owned();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server did not start: {text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Self {
            _child: child,
            base,
            log,
            _dir: dir,
        }
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    pub async fn connect(&self, headers: &[(&str, &str)], bearer: Option<&str>) -> Client {
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.mcp_url());
        let mut custom = std::collections::HashMap::new();
        for (name, value) in headers {
            custom.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        config = config.custom_headers(custom);
        if let Some(token) = bearer {
            config = config.auth_header(token);
        }
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .expect("MCP handshake over HTTP")
    }

    /// Sends SIGTERM and waits (bounded) for the exit code.
    pub async fn terminate(mut self) -> Option<i32> {
        let pid = self._child.id().expect("running") as i32;
        // SAFETY: kill(2) with a pid we own.
        unsafe { libc_kill(pid, 15) };
        tokio::time::timeout(Duration::from_secs(15), self._child.wait())
            .await
            .expect("exits within the drain bound")
            .ok()
            .and_then(|s| s.code())
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for HttpServer {
    /// Whatever the test did (faults, hostile input, many tenants), no token and no
    /// slice of one may appear in what the server wrote.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_no_token_in(&self.logs(), "server logs");
        }
    }
}

/// A `github-review-mcp stdio` child with an rmcp client on its pipes.
pub async fn stdio_client(double: &Double, options: ServerOptions<'_>, log: &Path) -> Client {
    let mut cmd = server_command(double, &options, log);
    cmd.arg("stdio").args(options.args);
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start github-review-mcp stdio");
    ().serve(transport).await.expect("MCP handshake over stdio")
}

pub async fn call(
    client: &Client,
    tool: &str,
    args: Value,
    meta_token: Option<&str>,
) -> CallToolResult {
    try_call(client, tool, args, meta_token)
        .await
        .expect("tools/call")
}

pub async fn try_call(
    client: &Client,
    tool: &str,
    args: Value,
    meta_token: Option<&str>,
) -> Result<CallToolResult, rmcp::ServiceError> {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    params.arguments = args.as_object().cloned();
    if let Some(token) = meta_token {
        let mut meta = RequestMetaObject::new();
        meta.0 .0.insert("token".into(), json!(token));
        params.meta = Some(meta);
    }
    let result = tokio::time::timeout(Duration::from_secs(30), client.call_tool(params))
        .await
        .expect("tools/call did not hang");
    // Whatever a test does, no answer (text, structuredContent, or a protocol error)
    // carries a token or a slice of one.
    let shown = match &result {
        Ok(r) => serde_json::to_string(r).unwrap_or_default(),
        Err(e) => e.to_string(),
    };
    assert_no_token_in(&shown, "a tools/call answer");
    result
}

pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

pub fn structured(result: &CallToolResult) -> &Value {
    result
        .structured_content
        .as_ref()
        .expect("structuredContent")
}

/// The login `whoami` reports and where the server found the token.
pub async fn whoami(client: &Client, meta_token: Option<&str>) -> (String, String) {
    let result = call(client, "whoami", json!({}), meta_token).await;
    assert!(!is_error(&result), "whoami failed: {}", text(&result));
    let v = structured(&result);
    (
        v["login"].as_str().unwrap().to_owned(),
        v["token_source"].as_str().unwrap().to_owned(),
    )
}

/// Asserts that no token, nor any 8-character slice of one past its prefix,
/// appears in `haystack`.
pub fn assert_no_token_in(haystack: &str, what: &str) {
    for token in ALL_TOKENS {
        let secret = &token[token.find('_').map_or(0, |i| i + 1)..];
        for window in secret.as_bytes().windows(8) {
            let slice = std::str::from_utf8(window).unwrap();
            assert!(
                !haystack.contains(slice),
                "{what} contains a slice of a token: {slice}"
            );
        }
    }
}
