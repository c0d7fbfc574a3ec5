//! Many tenants on one server, against the double's rate-limit headers: budgets,
//! fair shares of the server token, secondary limits, conditional requests, metrics.

mod common;

use common::*;
use serde_json::{json, Value};

const PR7: &str = "acme/widgets#7";

fn graphql_or_rest(log: &[Value], status: u64) -> usize {
    log.iter().filter(|r| r["status"] == status).count()
}

#[tokio::test]
async fn a_repeated_read_is_revalidated_with_if_none_match_and_answered_by_304() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let client = server.connect(&[("x-github-token", CAROL)], None).await;
    let first = call(&client, "get_pull_request", json!({"pr_url": PR7}), None).await;
    assert!(!is_error(&first), "{}", text(&first));
    double.clear_requests().await;
    let second = call(&client, "get_pull_request", json!({"pr_url": PR7}), None).await;
    assert_eq!(
        structured(&first),
        structured(&second),
        "the cached answer is the same"
    );
    let log = double.requests().await;
    let rest: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"].as_str().unwrap().contains("/repos/"))
        .collect();
    assert_eq!(rest.len(), 2, "{log:?}");
    for r in &rest {
        assert_eq!(r["if_none_match"], json!(true), "{r}");
        assert_eq!(r["status"], json!(304), "{r}");
    }
    // Another token never gets the first token's cache entry: its requests are unconditional.
    let other = server.connect(&[("x-github-token", ALICE)], None).await;
    double.clear_requests().await;
    call(&other, "get_pull_request", json!({"pr_url": PR7}), None).await;
    let log = double.requests().await;
    assert!(
        log.iter().all(|r| r["if_none_match"] == json!(false)),
        "{log:?}"
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("github_review_mcp_github_cache_total{result=\"revalidated\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_tenant_over_its_share_of_the_server_token_is_refused_while_own_tokens_are_served() {
    let double = Double::start().await;
    let server = HttpServer::start(
        &double,
        ServerOptions {
            server_token: Some(SERVER),
            args: &["--server-token-share", "3"],
            ..Default::default()
        },
    )
    .await;
    let greedy = server.connect(&[], None).await;
    // get_pull_request costs 3 requests: the whole share.
    let first = call(&greedy, "get_pull_request", json!({"pr_url": PR7}), None).await;
    assert!(!is_error(&first), "{}", text(&first));
    double.clear_requests().await;
    let refused = call(
        &greedy,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(is_error(&refused));
    assert!(
        text(&refused).contains("bring your own token"),
        "{}",
        text(&refused)
    );
    assert!(
        double.requests().await.is_empty(),
        "a refused call sends nothing"
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("server_token_share_refusals_total 1"),
        "{metrics}"
    );

    // Another tenant (another session) still has its share; a user with a token is unaffected.
    let other = server.connect(&[], None).await;
    assert!(!is_error(
        &call(
            &other,
            "fetch_pr_review_comments",
            json!({"pr_url": PR7}),
            None
        )
        .await
    ));
    let own = server.connect(&[("x-github-token", ALICE)], None).await;
    for _ in 0..5 {
        assert!(!is_error(
            &call(
                &own,
                "fetch_pr_review_comments",
                json!({"pr_url": PR7}),
                None
            )
            .await
        ));
    }
    // The greedy tenant can still work by bringing its own token in _meta.
    assert!(!is_error(
        &call(
            &greedy,
            "fetch_pr_review_comments",
            json!({"pr_url": PR7}),
            Some(BOB)
        )
        .await
    ));
}

#[tokio::test]
async fn an_exhausted_budget_names_its_reset_and_then_fails_fast_without_a_request() {
    let double = Double::start().await;
    double.configure(json!({"graphql_rate_limit": 2})).await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let client = server.connect(&[("x-github-token", CAROL)], None).await;
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            call(
                &client,
                "fetch_pr_review_comments",
                json!({"pr_url": PR7}),
                None,
            )
            .await,
        );
    }
    let last = last.unwrap();
    assert!(is_error(&last));
    let message = text(&last);
    assert!(
        message.contains("rate limit") && message.contains("graphql") && message.contains("reset"),
        "{message}"
    );
    double.clear_requests().await;
    let again = call(
        &client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(
        is_error(&again) && text(&again).contains("graphql"),
        "{}",
        text(&again)
    );
    assert!(
        double.requests().await.is_empty(),
        "the known-exhausted budget is not asked again"
    );
    // Another user's budget is their own.
    let alice = server.connect(&[("x-github-token", ALICE)], None).await;
    assert!(!is_error(
        &call(
            &alice,
            "fetch_pr_review_comments",
            json!({"pr_url": PR7}),
            None
        )
        .await
    ));
}

#[tokio::test]
async fn a_short_secondary_limit_is_waited_out_and_a_long_one_is_a_clear_error() {
    let double = Double::start().await;
    let server = HttpServer::start(
        &double,
        ServerOptions {
            args: &["--max-retry-wait", "3"],
            ..Default::default()
        },
    )
    .await;
    let client = server.connect(&[("x-github-token", CAROL)], None).await;
    double
        .configure(json!({"secondary_rate_limit_every": 1, "retry_after_secs": 1}))
        .await;
    // Every request is limited now: the read waits within the bound, then reports it.
    let limited = call(
        &client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(is_error(&limited));
    assert!(
        text(&limited).contains("secondary rate limit"),
        "{}",
        text(&limited)
    );
    assert!(
        graphql_or_rest(&double.requests().await, 403) >= 2,
        "it retried after retry-after"
    );

    // Every second request is limited: one request of ours first, so the server's
    // first request is the limited one and its retry goes through.
    double
        .configure(json!({"secondary_rate_limit_every": 2, "retry_after_secs": 1}))
        .await;
    reqwest::get(format!("{}/rate_limit", double.url))
        .await
        .unwrap();
    double.clear_requests().await;
    let ok = call(
        &client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(!is_error(&ok), "{}", text(&ok));
    let log = double.requests().await;
    assert_eq!(graphql_or_rest(&log, 403), 1, "{log:?}");
    assert_eq!(graphql_or_rest(&log, 200), 1, "{log:?}");

    double
        .configure(json!({"secondary_rate_limit_every": 1, "retry_after_secs": 60}))
        .await;
    let started = std::time::Instant::now();
    let long = call(
        &client,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    assert!(
        is_error(&long) && text(&long).contains("retry after 60s"),
        "{}",
        text(&long)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "a long wait is not held"
    );
}

#[tokio::test]
async fn metrics_count_calls_and_carry_no_secret() {
    let double = Double::start().await;
    let server = HttpServer::start(
        &double,
        ServerOptions {
            server_token: Some(SERVER),
            ..Default::default()
        },
    )
    .await;
    let alice = server.connect(&[("x-github-token", ALICE)], None).await;
    let fingerprint = structured(&call(&alice, "whoami", json!({}), None).await)["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        &alice,
        "fetch_pr_review_comments",
        json!({"pr_url": PR7}),
        None,
    )
    .await;
    let plain = server.connect(&[], None).await;
    call(
        &plain,
        "fetch_pr_review_comments",
        json!({"pr_url": "acme/widgets#999"}),
        None,
    )
    .await;
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("tool_calls_total{tool=\"fetch_pr_review_comments\",outcome=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tool_calls_total{tool=\"fetch_pr_review_comments\",outcome=\"error\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("github_requests_total{api=\"graphql\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("server_token_rate_limit_remaining{resource=\"graphql\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("github_review_mcp_active_sessions 2"),
        "{metrics}"
    );
    assert_no_token_in(&metrics, "metrics");
    assert!(!metrics.contains(&fingerprint), "no fingerprint in metrics");
    assert!(
        !metrics.contains("alice") && !metrics.contains("review-bot"),
        "no login in metrics"
    );
}

#[tokio::test]
async fn past_the_call_slots_a_call_waits_its_turn_and_one_that_waited_too_long_sends_nothing() {
    let double = Double::start().await;
    let server = HttpServer::start(
        &double,
        ServerOptions {
            args: &["--max-concurrent-calls", "1", "--call-timeout", "6"],
            ..Default::default()
        },
    )
    .await;
    let alice = std::sync::Arc::new(server.connect(&[("x-github-token", ALICE)], None).await);
    let carol = std::sync::Arc::new(server.connect(&[("x-github-token", CAROL)], None).await);
    let name = "github_review_mcp_calls_waiting";
    let sleep = |ms| tokio::time::sleep(std::time::Duration::from_millis(ms));
    // 1 s per GitHub request: alice's read holds the one slot for a second or more.
    double.configure(json!({"latency_ms": 1000})).await;
    let first = tokio::spawn({
        let alice = alice.clone();
        async move { call(&alice, "get_pull_request", json!({"pr_url": PR7}), None).await }
    });
    sleep(300).await;
    let second = tokio::spawn({
        let carol = carol.clone();
        async move { call(&carol, "whoami", json!({}), None).await }
    });
    sleep(300).await;
    assert_eq!(
        server.metric(name).await,
        Some(1.0),
        "carol waits for alice's slot"
    );
    let first = first.await.unwrap();
    assert!(!is_error(&first), "{}", text(&first));
    let second = second.await.unwrap();
    assert!(
        !is_error(&second),
        "it ran once the slot was free: {}",
        text(&second)
    );
    assert_eq!(server.metric(name).await, Some(0.0));

    // Behind a call that holds the slot to its own timeout (6 s), a write that got its
    // turn with 0.3 s left is not started: nothing reaches GitHub.
    double.configure(json!({"latency_ms": 8000})).await;
    let slow = tokio::spawn({
        let alice = alice.clone();
        async move { call(&alice, "get_pull_request", json!({"pr_url": PR7}), None).await }
    });
    sleep(300).await;
    double.clear_requests().await;
    let comment = json!({"pr_url": PR7, "body": "should never be posted"});
    let refused = call(&carol, "add_issue_comment", comment, None).await;
    assert!(is_error(&refused));
    let refused = text(&refused);
    assert!(
        refused.contains("was not started: the server was busy"),
        "{refused}"
    );
    assert!(refused.contains("Nothing was sent to GitHub"), "{refused}");
    assert!(!refused.contains("may or may not"), "{refused}");
    let slow = slow.await.unwrap();
    assert!(
        text(&slow).contains("call timeout of 6s"),
        "{}",
        text(&slow)
    );
    double.configure(json!({"latency_ms": 0})).await;
    let log = double.requests().await;
    let posted: Vec<&Value> = log
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().unwrap().contains("/comments"))
        .collect();
    assert!(posted.is_empty(), "nothing was posted: {posted:?}");
    assert_eq!(
        server.metric(name).await,
        Some(0.0),
        "the gauge came back down"
    );
}

#[tokio::test]
async fn past_the_idle_bound_connections_to_github_are_closed_instead_of_pooled() {
    let double = Double::start().await;
    let pooled_after_a_burst = |idle: &'static str| {
        let double = &double;
        async move {
            let server = HttpServer::start(
                double,
                ServerOptions {
                    args: &[
                        "--max-concurrent-calls",
                        "8",
                        "--github-idle-connections",
                        idle,
                    ],
                    ..Default::default()
                },
            )
            .await;
            let client = server.connect(&[("x-github-token", ALICE)], None).await;
            let calls =
                (0..6).map(|_| call(&client, "get_pull_request", json!({"pr_url": PR7}), None));
            for result in futures::future::join_all(calls).await {
                assert!(!is_error(&result), "{}", text(&result));
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            server.connections_to(&double.url)
        }
    };
    // 300 ms per request: six overlapping calls need several connections at once.
    double.configure(json!({"latency_ms": 300})).await;
    let kept = pooled_after_a_burst("8").await;
    assert!(
        kept >= 2,
        "the burst used several connections, kept idle: {kept}"
    );
    let bounded = pooled_after_a_burst("1").await;
    assert!(
        bounded <= 1,
        "one idle connection kept at most, found {bounded}"
    );
}
