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

async fn healthy(client: &Client) {
    let result = call(
        client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(!is_error(&result), "the server recovers: {}", text(&result));
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_and_named_when_they_persist() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let client = server.connect(&[("x-github-token", CAROL)], None).await;
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
    let result = call(
        &client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(
        is_error(&result) && text(&result).contains("GitHub server error (503)"),
        "{}",
        text(&result)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(double.requests().await.len(), 3, "one try and two retries");
    double.configure(json!({"fault_rate": 0.0})).await;
    healthy(&client).await;
}

#[tokio::test]
async fn a_write_is_not_retried_after_a_server_error() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let alice = server.connect(&[("x-github-token", ALICE)], None).await;
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
    assert!(
        is_error(&result) && text(&result).contains("502"),
        "{}",
        text(&result)
    );
    let posts = double
        .requests()
        .await
        .into_iter()
        .filter(|e| e["method"] == "POST")
        .count();
    assert_eq!(posts, 1, "a write is sent once");
}

#[tokio::test]
async fn dropped_connections_are_retried_then_named() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let client = server.connect(&[("x-github-token", CAROL)], None).await;
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
    let result = call(
        &client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(
        is_error(&result) && text(&result).contains("could not reach"),
        "{}",
        text(&result)
    );
    double.configure(json!({"drop_rate": 0.0})).await;
    healthy(&client).await;
}

#[tokio::test]
async fn a_request_that_never_answers_ends_at_the_timeout() {
    let double = Double::start().await;
    let server = HttpServer::start(
        &double,
        ServerOptions {
            args: &["--github-timeout", "2"],
            ..Default::default()
        },
    )
    .await;
    let client = server.connect(&[("x-github-token", CAROL)], None).await;
    double.configure(json!({"hang_rate": 1.0})).await;
    let started = Instant::now();
    let result = call(
        &client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    let took = started.elapsed();
    assert!(
        is_error(&result) && text(&result).contains("did not answer within 2s"),
        "{}",
        text(&result)
    );
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
    let result = call(
        &client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
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
async fn sigterm_lets_an_in_flight_call_finish_and_exits_zero() {
    let double = Double::start().await;
    double.configure(json!({"latency_ms": 800})).await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let client = server.connect(&[("x-github-token", CAROL)], None).await;
    let in_flight = tokio::spawn(async move {
        let result = call(&client, "whoami", json!({}), None).await;
        (client, result)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = server.terminate().await;
    let (_client, result) = in_flight.await.unwrap();
    assert!(
        !is_error(&result),
        "the in-flight call completed: {}",
        text(&result)
    );
    assert_eq!(status, Some(0), "exit code after SIGTERM");
}
