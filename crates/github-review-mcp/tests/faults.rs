//! GitHub failing in ordinary ways, injected by the double: every call ends within
//! its bound with an error that names the cause, reads retry, writes do not, a
//! redirect to another host carries nothing there, and the server stays healthy.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const PR7: &str = "acme/widgets#7";

fn statuses(log: &[Value]) -> Vec<u64> {
    log.iter()
        .map(|e| e["status"].as_u64().unwrap_or(0))
        .collect()
}

/// A double, a server started with `args`, and a client sending `token` by header.
async fn setup(args: &'static [&'static str], token: &str) -> (Double, HttpServer, Client) {
    let double = Double::start().await;
    let options = ServerOptions {
        args,
        ..Default::default()
    };
    let server = HttpServer::start(&double, options).await;
    let client = server.connect(&[("x-github-token", token)], None).await;
    (double, server, client)
}

async fn fetch(client: &Client) -> rmcp::model::CallToolResult {
    call(
        client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await
}

fn assert_error_naming(result: &rmcp::model::CallToolResult, cause: &str) {
    assert!(
        is_error(result) && text(result).contains(cause),
        "expected an error naming {cause:?}: {}",
        text(result)
    );
}

async fn healthy(client: &Client) {
    let result = fetch(client).await;
    assert!(!is_error(&result), "the server recovers: {}", text(&result));
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_and_named_when_they_persist() {
    let (double, _server, client) = setup(&[], CAROL).await;
    // Every second request fails: one of ours first, so the server's first one does.
    double
        .configure(json!({"fault_status": 502, "fault_rate": 0.5}))
        .await;
    reqwest::get(format!("{}/rate_limit", double.url))
        .await
        .unwrap();
    double.clear_requests().await;
    healthy(&client).await;
    assert!(
        statuses(&double.requests().await).contains(&502),
        "a 502 was seen and retried"
    );

    double
        .configure(json!({"fault_status": 503, "fault_rate": 1.0}))
        .await;
    double.clear_requests().await;
    let started = Instant::now();
    let result = fetch(&client).await;
    assert_error_naming(&result, "GitHub server error (503)");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(double.requests().await.len(), 3, "one try and two retries");
    double.configure(json!({"fault_rate": 0.0})).await;
    healthy(&client).await;
}

#[tokio::test]
async fn a_write_is_not_retried_after_a_server_error() {
    let (double, _server, alice) = setup(&[], ALICE).await;
    double
        .configure(json!({"fault_status": 502, "fault_rate": 1.0}))
        .await;
    double.clear_requests().await;
    let result = call(
        &alice,
        "add_issue_comment",
        json!({"pr_url": PR7, "body": "once"}),
        None,
    )
    .await;
    assert_error_naming(&result, "502");
    let posts = double
        .requests()
        .await
        .into_iter()
        .filter(|e| e["method"] == "POST")
        .count();
    assert_eq!(posts, 1, "a write is sent once");
}

#[tokio::test]
async fn a_write_refused_by_a_secondary_limit_is_sent_again_and_lands_once() {
    let (double, _server, alice) = setup(&[], ALICE).await;
    // Every second request is refused with retry-after: 1; ours takes the first.
    double
        .configure(json!({"secondary_rate_limit_every": 2, "retry_after_secs": 1}))
        .await;
    reqwest::get(format!("{}/rate_limit", double.url))
        .await
        .unwrap();
    double.clear_requests().await;
    let result = call(
        &alice,
        "add_issue_comment",
        json!({"pr_url": PR7, "body": "exactly once"}),
        None,
    )
    .await;
    assert!(!is_error(&result), "{}", text(&result));
    let posts: Vec<Value> = double
        .requests()
        .await
        .into_iter()
        .filter(|e| e["method"] == "POST")
        .collect();
    assert_eq!(
        statuses(&posts),
        [403, 201],
        "refused (so not applied), then sent again and created"
    );
    let created: u64 = posts.iter().filter_map(|e| e["writes"].as_u64()).sum();
    assert_eq!(created, 1, "one comment exists");
}

#[tokio::test]
async fn a_slow_body_arrives_within_the_timeout_and_is_cut_beyond_it() {
    let (double, _server, client) = setup(&["--github-timeout", "2"], CAROL).await;
    // Headers at once, the body in ten pieces over 0.6 s: slow, but in time.
    double
        .configure(json!({"slow_body_ms": 600, "slow_body_rate": 1.0}))
        .await;
    healthy(&client).await;
    double.configure(json!({"slow_body_ms": 5000})).await;
    double.clear_requests().await;
    let started = Instant::now();
    let result = fetch(&client).await;
    let took = started.elapsed();
    assert_error_naming(&result, "did not answer within 2s");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_eq!(
        double.requests().await.len(),
        1,
        "a timed-out read is not repeated (the bound would double)"
    );
    double.configure(json!({"slow_body_rate": 0.0})).await;
    healthy(&client).await;
}

#[tokio::test]
async fn every_call_ends_within_the_call_timeout_and_a_cut_write_says_so() {
    let (double, _server, alice) = setup(&["--call-timeout", "1"], ALICE).await;
    double.configure(json!({"latency_ms": 2500})).await;
    let started = Instant::now();
    let read = fetch(&alice).await;
    assert!(
        started.elapsed() < Duration::from_millis(2400),
        "{:?}",
        started.elapsed()
    );
    assert_error_naming(&read, "call timeout of 1s");
    assert!(!text(&read).contains("may or may not"));
    let write = call(
        &alice,
        "add_issue_comment",
        json!({"pr_url": PR7, "body": "slow"}),
        None,
    )
    .await;
    assert_error_naming(&write, "may or may not have applied");
    double.configure(json!({"latency_ms": 0})).await;
    healthy(&alice).await;
}

#[tokio::test]
async fn dropped_connections_are_retried_then_named() {
    let (double, _server, client) = setup(&[], CAROL).await;
    double.configure(json!({"drop_rate": 0.5})).await;
    reqwest::get(format!("{}/rate_limit", double.url))
        .await
        .unwrap();
    double.clear_requests().await;
    healthy(&client).await;
    assert!(
        statuses(&double.requests().await).contains(&0),
        "a dropped request was retried"
    );
    double.configure(json!({"drop_rate": 1.0})).await;
    let result = fetch(&client).await;
    // GitHub took the connection and closed it: not "could not reach".
    assert_error_naming(&result, "the connection was closed before an answer");
    assert!(
        !text(&result).contains("could not reach"),
        "{}",
        text(&result)
    );
    double.configure(json!({"drop_rate": 0.0})).await;
    healthy(&client).await;
}

#[tokio::test]
async fn a_request_that_never_answers_ends_at_the_timeout() {
    let (double, _server, client) = setup(&["--github-timeout", "2"], CAROL).await;
    double.configure(json!({"hang_rate": 1.0})).await;
    let started = Instant::now();
    let result = fetch(&client).await;
    let took = started.elapsed();
    assert_error_naming(&result, "did not answer within 2s");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "{took:?}"
    );
    double.configure(json!({"hang_rate": 0.0})).await;
    healthy(&client).await;
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_and_carries_no_token_there() {
    let double = Double::start().await;
    let elsewhere = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let client = server.connect(&[("x-github-token", CAROL)], None).await;
    double
        .configure(json!({"redirect_to": elsewhere.url, "redirect_rate": 1.0}))
        .await;
    let result = fetch(&client).await;
    assert!(is_error(&result), "{}", text(&result));
    assert!(
        text(&result).contains("redirected the request to another host"),
        "{}",
        text(&result)
    );
    assert!(
        elsewhere.requests().await.is_empty(),
        "nothing, and so no token, reached the other host"
    );
    double
        .configure(json!({"redirect_to": null, "redirect_rate": 0.0}))
        .await;
    healthy(&client).await;
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_write_finish_exits_zero_and_a_restart_loses_nothing() {
    let double = Double::start().await;
    double.configure(json!({"latency_ms": 800})).await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let alice = server.connect(&[("x-github-token", ALICE)], None).await;
    let in_flight = tokio::spawn(async move {
        let args = json!({"pr_url": PR7, "body": "sent before the restart"});
        let result = call(&alice, "add_issue_comment", args, None).await;
        (alice, result)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = server.terminate().await;
    let (_alice, result) = in_flight.await.unwrap();
    assert!(
        !is_error(&result),
        "the in-flight write completed: {}",
        text(&result)
    );
    assert_eq!(status, Some(0), "exit code after SIGTERM");
    let writes: u64 = double
        .requests()
        .await
        .iter()
        .filter_map(|e| e["writes"].as_u64())
        .sum();
    assert_eq!(writes, 1, "the write landed once");

    // A new process on the same GitHub: nothing to recover, and it serves at once.
    double.configure(json!({"latency_ms": 0})).await;
    let restarted = HttpServer::start(&double, ServerOptions::default()).await;
    let alice = restarted.connect(&[("x-github-token", ALICE)], None).await;
    assert_eq!(whoami(&alice, None).await.0, "alice");
    healthy(&alice).await;
}

/// Each kind of transport failure is named for what it was, so a reader knows
/// whether GitHub is unreachable, misconfigured, or broke off mid-answer.
#[tokio::test]
async fn transport_failures_are_named_for_what_they_were() {
    // Cut mid-body: headers and half the body, then the connection breaks.
    let (double, _server, client) = setup(&["--max-retry-wait", "1"], CAROL).await;
    double.configure(json!({"cut_body_rate": 1.0})).await;
    assert_error_naming(&fetch(&client).await, "the answer was cut off mid-body");
    double.configure(json!({"cut_body_rate": 0.0})).await;
    healthy(&client).await;

    // Nothing listens on the port: refused.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // TLS on a port that speaks plain HTTP: the handshake fails.
    let plain = url::Url::parse(&double.url).unwrap().port().unwrap();
    for (host, cause) in [
        (
            format!("http://127.0.0.1:{closed}"),
            "the connection was refused",
        ),
        (
            format!("https://127.0.0.1:{plain}"),
            "the TLS handshake failed",
        ),
        (
            "https://no-such-host.invalid".to_owned(),
            "the host name did not resolve (DNS)",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stdio.log");
        let mut cmd = tokio::process::Command::new(server_bin());
        cmd.arg("stdio")
            .env_clear()
            .env("GITHUB_HOST", &host)
            .env("RUST_LOG", "info")
            .args(["--github-timeout", "5", "--max-retry-wait", "1"]);
        let (transport, _) = rmcp::transport::TokioChildProcess::builder(cmd)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let client = rmcp::ServiceExt::serve((), transport).await.unwrap();
        let result = call(&client, "whoami", json!({}), Some(CAROL)).await;
        assert_error_naming(&result, cause);
        assert!(text(&result).starts_with("") && !text(&result).contains(&CAROL[4..]));
        client.cancel().await.unwrap();
    }
}
