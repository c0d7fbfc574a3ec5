//! Replicas sharing state through a real `redis-server`, behind a real HAProxy
//! (`deploy/haproxy.cfg.template`), on loopback. Needs the Debian packages
//! `redis-server` and `haproxy` (`.ci/run` and `scripts/test` install them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const PR7: &str = "acme/widgets#7";
const KEY: &str = "cluster-fingerprint-key-0123456789";
const REDIS_PASSWORD: &str = "redisPasswordNeverLogged0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn program(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: apt-get install redis-server haproxy (scripts/test does, as root)");
}

/// A `redis-server` on a loopback port, with a password, persisting nothing.
struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    async fn start() -> Self {
        let mut redis = Self {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        redis.run().await;
        redis
    }

    async fn run(&mut self) {
        let conf = self.dir.path().join("redis.conf");
        std::fs::write(
            &conf,
            format!(
                "port {}\nbind 127.0.0.1\nsave \"\"\nappendonly no\nrequirepass {REDIS_PASSWORD}\ndir {}\n",
                self.port,
                self.dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new(program("redis-server"))
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn url(&self) -> String {
        format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{}/0", self.port)
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
            child.wait().await.unwrap();
        }
    }
}

fn replica_args(redis: &Redis) -> Vec<String> {
    [
        "--state",
        &redis.url(),
        "--fingerprint-key",
        KEY,
        "--tenant-header",
        "x-tenant-id",
        "--server-token-share",
        "3",
        "--state-timeout-ms",
        "200",
        "--call-timeout",
        "10",
    ]
    .map(String::from)
    .to_vec()
}

async fn replicas(double: &Double, redis: &Redis, n: usize) -> Vec<HttpServer> {
    let args = replica_args(redis);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            HttpServer::start(
                double,
                ServerOptions {
                    server_token: Some(SERVER),
                    args: &args,
                    ..Default::default()
                },
            )
            .await,
        );
    }
    out
}

fn graphql_requests(log: &[Value]) -> usize {
    log.iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("graphql")))
        .count()
}

fn assert_no_redis_password(servers: &[HttpServer]) {
    for s in servers {
        assert!(
            !s.logs().contains(REDIS_PASSWORD),
            "a server logged the Redis password"
        );
    }
}

#[tokio::test]
async fn a_tenants_share_of_the_server_token_holds_whichever_replica_serves_it() {
    let redis = Redis::start().await;
    let double = Double::start().await;
    let servers = replicas(&double, &redis, 3).await;
    let mut team_a = Vec::new();
    for s in &servers {
        team_a.push(s.connect(&[("x-tenant-id", "team-a")], None).await);
    }
    double.clear_requests().await;
    let (mut ok, mut refused) = (0, 0);
    for i in 0..7 {
        let r = call(
            &team_a[i % 3],
            "fetch_pr_review_comments",
            json!({"pr_url": PR7}),
            None,
        )
        .await;
        if is_error(&r) {
            assert!(text(&r).contains("bring your own token"), "{}", text(&r));
            refused += 1;
        } else {
            ok += 1;
        }
    }
    assert_eq!((ok, refused), (3, 4), "a share of 3 across 3 replicas");
    assert_eq!(
        graphql_requests(&double.requests().await),
        3,
        "exactly 3 reached GitHub"
    );
    // Each replica counts its Redis round trips (one per GitHub request it was asked for).
    let mut trips = 0;
    for s in &servers {
        trips += s
            .metric("github_review_mcp_state_round_trips_total")
            .await
            .expect("state_round_trips_total in /metrics") as u64;
    }
    assert!(trips >= 7, "7 calls, {trips} round trips");
    // Another tenant, on any replica, has its own share.
    let team_b = servers[1].connect(&[("x-tenant-id", "team-b")], None).await;
    let r = call(
        &team_b,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
    // A user with their own token is never limited by the server token's shares.
    let carol = servers[2]
        .connect(
            &[("x-tenant-id", "team-a"), ("x-github-token", CAROL)],
            None,
        )
        .await;
    let r = call(
        &carol,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_no_redis_password(&servers);
}

#[tokio::test]
async fn a_budget_spent_through_one_replica_fails_fast_on_the_others() {
    let redis = Redis::start().await;
    let double = Double::start().await;
    double.configure(json!({"graphql_rate_limit": 2})).await;
    let servers = replicas(&double, &redis, 3).await;
    let mut clients = Vec::new();
    for s in &servers {
        clients.push(s.connect(&[("x-github-token", CAROL)], None).await);
    }
    // Replica A spends the budget: its second answer says `remaining: 0`.
    for _ in 0..2 {
        let r = call(
            &clients[0],
            "fetch_pr_review_comments",
            json!({"pr_url": PR7}),
            None,
        )
        .await;
        assert!(!is_error(&r), "{}", text(&r));
    }
    double.clear_requests().await;
    for client in &clients[1..] {
        let r = call(
            client,
            "fetch_pr_review_comments",
            json!({"pr_url": PR7}),
            None,
        )
        .await;
        assert!(is_error(&r));
        assert!(
            text(&r).contains("rate limit") && text(&r).contains("graphql"),
            "{}",
            text(&r)
        );
    }
    assert!(
        double.requests().await.is_empty(),
        "replicas B and C did not ask GitHub: {:?}",
        double.requests().await
    );
    assert_no_redis_password(&servers);
}

#[tokio::test]
async fn a_changes_cursor_from_one_replica_is_honoured_by_another() {
    let redis = Redis::start().await;
    let double = Double::start().await;
    let servers = replicas(&double, &redis, 2).await;
    let a = servers[0].connect(&[("x-github-token", ALICE)], None).await;
    let b = servers[1].connect(&[("x-github-token", ALICE)], None).await;
    let first = call(
        &a,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7, "output": "json"}),
        None,
    )
    .await;
    assert!(!is_error(&first), "{}", text(&first));
    let cursor = structured(&first)["changes_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let comment = structured(&first)["threads"][0]["comments"][0]["id"]
        .as_u64()
        .unwrap();
    let thread = structured(&first)["threads"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = call(
        &b,
        "reply_to_review_comment",
        json!({"pr_url": PR7, "comment_id": comment, "body": "On it."}),
        None,
    )
    .await;
    assert!(!is_error(&reply), "{}", text(&reply));
    let second = call(
        &b,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7, "output": "json", "changes_since": cursor}),
        None,
    )
    .await;
    assert!(!is_error(&second), "{}", text(&second));
    let ids: Vec<&str> = structured(&second)["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [thread.as_str()],
        "replica B knew what replica A's read saw"
    );
    // Another caller cannot use it.
    let c = servers[1].connect(&[("x-github-token", CAROL)], None).await;
    let stolen = call(
        &c,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7, "changes_since": cursor}),
        None,
    )
    .await;
    assert!(is_error(&stolen) && text(&stolen).contains("not a changes_cursor of yours"));
    assert_no_redis_password(&servers);
}

/// The first non-empty SSE `data:` of an answer (rmcp primes a stream with an empty one).
fn first_data(body: &str) -> Option<&str> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .find(|d| !d.is_empty())
}

/// One JSON-RPC POST to `base/mcp`; returns the session id header and the JSON body
/// (from a JSON answer or the first SSE `data:` line).
async fn post(base: &str, session: Option<&str>, body: Value) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("x-github-token", CAROL)
        .json(&body);
    if let Some(id) = session {
        request = request
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-11-25");
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let json = first_data(&text)
        .or(Some(text.trim()))
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    (status, id, json)
}

#[tokio::test]
async fn a_session_opened_on_one_replica_continues_on_another() {
    let redis = Redis::start().await;
    let double = Double::start().await;
    let servers = replicas(&double, &redis, 2).await;
    let (a, b) = (&servers[0].base, &servers[1].base);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "cluster-test", "version": "1"}}});
    let (status, session, _) = post(a, None, init).await;
    assert_eq!(status, 200);
    let session = session.expect("a session id from replica A");
    let (status, _, _) = post(
        b,
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert!(status == 202 || status == 200, "{status}");
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}});
    let (status, _, body) = post(b, Some(&session), call.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["login"], "carol",
        "{body}"
    );
    // And back on A, the same session.
    let (status, _, body) = post(a, Some(&session), call).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["login"], "carol",
        "{body}"
    );
    // An unknown session is still refused on every replica.
    let (status, _, _) = post(
        b,
        Some("no-such-session"),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    )
    .await;
    assert_eq!(status, 404);
    assert_no_redis_password(&servers);
}

/// HAProxy from `deploy/haproxy.cfg.template`, round-robin over `servers`.
struct Haproxy {
    _child: Child,
    url: String,
    stats: String,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    async fn start(servers: &[HttpServer]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/haproxy.cfg.template"),
        )
        .unwrap();
        let (port, stats_port) = (free_port(), free_port());
        let lines: Vec<String> = servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "    server replica{} {}",
                    i + 1,
                    s.base.trim_start_matches("http://")
                )
            })
            .collect();
        let config = template
            .replace("@LB_BIND@", &format!("127.0.0.1:{port}"))
            .replace("@STATS_BIND@", &format!("127.0.0.1:{stats_port}"))
            .replace(
                "@STATS_SOCKET@",
                &dir.path().join("haproxy.sock").display().to_string(),
            )
            .replace("@CHECK_HOST@", "localhost")
            .replace("@SERVERS@", &lines.join("\n"));
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(program("haproxy"))
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start haproxy");
        let lb = Self {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
            stats: format!("http://127.0.0.1:{stats_port}/stats;csv"),
            _dir: dir,
        };
        lb.wait_up(servers.len()).await;
        lb
    }

    /// Replicas HAProxy counts as up.
    async fn up(&self) -> usize {
        let Ok(response) = reqwest::get(&self.stats).await else {
            return 0;
        };
        let csv = response.text().await.unwrap_or_default();
        csv.lines()
            .filter(|l| l.starts_with("mcp_replicas,replica") && l.contains(",UP,"))
            .count()
    }

    async fn wait_up(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.up().await != n {
            assert!(
                Instant::now() < deadline,
                "haproxy sees {} of {n} replicas up",
                self.up().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Four tenants calling through the load balancer until `stop`: every answer must be
/// their own; returns (ok, errors, slowest call).
async fn load(url: String, stop: tokio::sync::watch::Receiver<bool>) -> (usize, usize, Duration) {
    let tenants = [
        ("alice/secret-app#1", ALICE, "alice-only-marker"),
        ("bob/hidden#1", BOB, "bob-only-marker"),
    ];
    let mut tasks = Vec::new();
    for (pr, token, marker) in tenants {
        let (url, stop) = (url.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut slowest) = (0, 0, Duration::ZERO);
            let foreign = if marker.starts_with("alice") {
                "bob-only-marker"
            } else {
                "alice-only-marker"
            };
            while !*stop.borrow() {
                // A fresh stateless-looking POST sequence per call: initialize through
                // the balancer, then the call (whichever replica gets it).
                let started = Instant::now();
                let outcome = one_call(&url, token, pr).await;
                slowest = slowest.max(started.elapsed());
                match outcome {
                    Some(text) => {
                        assert!(!text.contains(foreign), "another tenant's data: {text}");
                        if text.contains(marker) {
                            ok += 1;
                        } else {
                            errors += 1;
                        }
                    }
                    None => errors += 1,
                }
            }
            (ok, errors, slowest)
        }));
    }
    let mut total = (0, 0, Duration::ZERO);
    for t in tasks {
        let (ok, errors, slowest) = t.await.unwrap();
        total = (total.0 + ok, total.1 + errors, total.2.max(slowest));
    }
    total
}

/// initialize + tools/call through `url` with `token`; the answer's text, or None.
async fn one_call(url: &str, token: &str, pr: &str) -> Option<String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let send = |session: Option<String>, body: Value| {
        let mut r = http
            .post(format!("{url}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("x-github-token", token)
            .json(&body);
        if let Some(s) = session {
            r = r
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-11-25");
        }
        r.send()
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "lb", "version": "1"}}});
    let response = send(None, init).await.ok()?;
    let session = response
        .headers()
        .get("mcp-session-id")?
        .to_str()
        .ok()?
        .to_owned();
    response.text().await.ok()?;
    send(
        Some(session.clone()),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await
    .ok()?;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "fetch_pr_review_comments", "arguments": {"pr_url": pr}}});
    let response = send(Some(session), call).await.ok()?;
    if response.status() != 200 {
        return None;
    }
    let body = response.text().await.ok()?;
    let data = first_data(&body)?;
    let v: Value = serde_json::from_str(data).ok()?;
    if v["result"]["isError"] == json!(true) {
        return Some(String::new());
    }
    Some(v["result"]["content"][0]["text"].as_str()?.to_owned())
}

#[tokio::test]
async fn through_haproxy_a_dead_replica_and_a_redis_outage_do_not_stop_the_service() {
    let mut redis = Redis::start().await;
    let double = Double::start().await;
    let mut servers = replicas(&double, &redis, 3).await;
    let lb = Haproxy::start(&servers).await;

    // Every session hops between replicas (round-robin, no stickiness).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(load(lb.url.clone(), stop_rx.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Kill one replica under load: the balancer stops sending to it.
    let dead = servers.remove(1);
    drop(dead); // kill_on_drop: SIGKILL
    let killed = Instant::now();
    lb.wait_up(2).await;
    let marked_down = killed.elapsed();
    assert!(marked_down < Duration::from_secs(5), "{marked_down:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_tx.send(true).unwrap();
    let (ok, errors, slowest) = running.await.unwrap();
    assert!(ok > 20, "calls went on: {ok} ok, {errors} errors");
    assert!(slowest < Duration::from_secs(11), "a call took {slowest:?}");

    // After the balancer saw it, no call fails.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(load(lb.url.clone(), stop_rx));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_tx.send(true).unwrap();
    let (ok, errors, _) = running.await.unwrap();
    assert!(
        ok > 10 && errors == 0,
        "with 2 replicas: {ok} ok, {errors} errors"
    );

    // Redis stops under load: calls go on within their bound (budgets and shares fall
    // back to each replica's own view), and /healthz says the state is degraded.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(load(lb.url.clone(), stop_rx));
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for s in &servers {
        let health: Value = reqwest::get(format!("{}/healthz", s.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "degraded", "{health}");
        let metrics = s.metrics().await;
        assert!(
            metrics.contains("github_review_mcp_state_degraded 1"),
            "{metrics}"
        );
    }
    stop_tx.send(true).unwrap();
    let (_ok, _errors, slowest) = running.await.unwrap();
    assert!(
        slowest < Duration::from_secs(11),
        "a call past its bound: {slowest:?}"
    );
    // A call on one replica (sessions opened there work without Redis) goes on.
    let carol = servers[0].connect(&[("x-github-token", CAROL)], None).await;
    let started = Instant::now();
    let r = call(
        &carol,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Redis comes back: the replicas reconnect by themselves.
    redis.run().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    for s in &servers {
        loop {
            // Traffic lets a replica notice Redis is back.
            let _ = call(&carol, "whoami", json!({}), None).await;
            let health: Value = reqwest::get(format!("{}/healthz", s.base))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if health["status"] == "ok" {
                break;
            }
            let probe = s.connect(&[("x-github-token", CAROL)], None).await;
            let _ = call(&probe, "whoami", json!({}), None).await;
            assert!(Instant::now() < deadline, "still degraded: {health}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Sharing resumes: a new session opened through the balancer works everywhere.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(load(lb.url.clone(), stop_rx));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_tx.send(true).unwrap();
    let (ok, errors, _) = running.await.unwrap();
    assert!(
        ok > 10 && errors == 0,
        "after Redis came back: {ok} ok, {errors} errors"
    );
    assert_no_redis_password(&servers);
}

#[tokio::test]
async fn with_a_state_file_a_session_survives_a_restart_and_a_corrupt_file_stops_the_start() {
    let double = Double::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let spec = format!("file:{}", path.display());
    let args = ["--state", spec.as_str()];
    let options = || ServerOptions {
        args: &args,
        ..Default::default()
    };
    let server = HttpServer::start(&double, options()).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "restart-test", "version": "1"}}});
    let (status, session, _) = post(&server.base, None, init).await;
    assert_eq!(status, 200);
    let session = session.unwrap();
    assert_eq!(server.terminate().await, Some(0));

    // The same file, a new process: the client's session goes on.
    let server = HttpServer::start(&double, options()).await;
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}});
    let (status, _, body) = post(&server.base, Some(&session), call).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["login"], "carol",
        "{body}"
    );
    assert_eq!(server.terminate().await, Some(0));

    // A damaged file is a clear error at start, and is left as it was.
    std::fs::write(&path, vec![0x42; 4096]).unwrap();
    let output = tokio::process::Command::new(server_bin())
        .args(["http", "--listen", "127.0.0.1:0", "--state", &spec])
        .env_clear()
        .env("GITHUB_HOST", &double.url)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("state.redb") && stderr.contains("does not start on an empty state"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), vec![0x42; 4096]);

    // A Redis that does not answer is a clear error too, naming no password.
    let port = free_port();
    let output = tokio::process::Command::new(server_bin())
        .args(["http", "--listen", "127.0.0.1:0", "--fingerprint-key", KEY])
        .env_clear()
        .env("GITHUB_HOST", &double.url)
        .env(
            "GITHUB_REVIEW_MCP_STATE",
            format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"),
        )
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("redis://127.0.0.1:{port}/0")),
        "{stderr}"
    );
    assert!(!stderr.contains(REDIS_PASSWORD), "{stderr}");
}

/// Sign-in across replicas: every step of one sign-in may land on another replica
/// (the balancer does not pin browsers), and a code redeemed on two replicas at once
/// is honoured once (Redis `GETDEL`).
#[tokio::test]
async fn a_sign_in_started_on_one_replica_finishes_on_another() {
    use common::signin::*;
    let redis = Redis::start().await;
    let double = Double::start().await;
    let (port_a, port_b) = (free_port(), free_port());
    let public = format!("http://127.0.0.1:{port_a}");
    let state = redis.url();
    let a = oauth_replica(&double, APP, &[], port_a, &public, Some(&state)).await;
    let b = oauth_replica(&double, APP, &[], port_b, &public, Some(&state)).await;
    let client_id = register(&b.base, &[REDIRECT]).await;
    let (verifier, challenge) = pkce();
    let resource = format!("{public}/mcp");
    let query = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
        ("resource", resource.as_str()),
    ];
    // Registered on B, authorized on A, consented on B, called back on A.
    let (handle, csrf, cookie, _) = consent_page(&a.base, &query).await;
    let approved = post_consent(&b.base, &handle, &csrf, Some(&cookie), "approve").await;
    assert_eq!(approved.status(), 303);
    let at_github = browser()
        .get(format!("{}&auto_approve=dave", location(&approved)))
        .send()
        .await
        .unwrap();
    let callback = location(&at_github).replace(&public, &a.base);
    let to_client = location(&browser().get(&callback).send().await.unwrap());
    let code = query_param(&to_client, "code").unwrap();
    // Both replicas redeem the code at once: at most one is answered with tokens,
    // the other try is a replay, and the replay revokes the grant everywhere, so
    // nothing issued for this code works on any replica.
    let (ra, rb) = tokio::join!(
        redeem(&a.base, &client_id, &code, &verifier, REDIRECT),
        redeem(&b.base, &client_id, &code, &verifier, REDIRECT)
    );
    let winners: Vec<&Value> = [&ra, &rb]
        .into_iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, v)| v)
        .collect();
    assert!(winners.len() <= 1, "{ra:?} {rb:?}");
    assert!([&ra, &rb]
        .iter()
        .any(|(s, v)| *s == 400 && v["error"] == "invalid_grant"));
    for won in winners {
        let access = won["access_token"].as_str().unwrap();
        for server in [&a, &b] {
            assert_eq!(raw_mcp(server, Some(access), initialize()).await.0, 401);
        }
    }
    // A clean sign-in: tokens from A work on B.
    let (code, verifier) = sign_in_via(&a, &b, &client_id, &public).await;
    let (status, tokens) = redeem(&a.base, &client_id, &code, &verifier, REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    let client = b
        .connect(&[], Some(tokens["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(
        whoami(&client, None).await,
        ("dave".to_owned(), "oauth".to_owned())
    );
    client.cancel().await.unwrap();
    assert_no_redis_password(&[a, b]);
}

/// One sign-in with its consent on `a` and the rest on `b`.
async fn sign_in_via(
    a: &HttpServer,
    b: &HttpServer,
    client_id: &str,
    public: &str,
) -> (String, String) {
    use common::signin::*;
    let (verifier, challenge) = pkce();
    let query = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let (handle, csrf, cookie, _) = consent_page(&b.base, &query).await;
    let approved = post_consent(&a.base, &handle, &csrf, Some(&cookie), "approve").await;
    let at_github = browser()
        .get(format!("{}&auto_approve=dave", location(&approved)))
        .send()
        .await
        .unwrap();
    let callback = location(&at_github).replace(public, &b.base);
    let to_client = location(&browser().get(&callback).send().await.unwrap());
    (query_param(&to_client, "code").unwrap(), verifier)
}
