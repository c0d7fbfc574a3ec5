//! Injected latency and faults, by flag and at runtime.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn half_fault_rate_fails_every_second_request() {
    let d = start().await;
    configure(&d, json!({"fault_status": 502, "fault_rate": 0.5})).await;
    let mut statuses = vec![];
    for _ in 0..4 {
        statuses.push(
            get(&d, Some(ALICE), "/repos/acme/secret")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 502, 200, 502]);
    let r = {
        configure(&d, json!({"fault_rate": 1.0})).await;
        get(&d, Some(ALICE), "/repos/acme/secret").await
    };
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "Bad Gateway");
    // /_double is never faulted.
    assert_eq!(get(&d, None, "/_double/config").await.status(), 200);
    let e = log(&d).await;
    assert_eq!(e.iter().filter(|e| e["status"] == 502).count(), 3);
}

#[tokio::test]
async fn secondary_rate_limit_hits_every_nth_with_retry_after() {
    let d = start().await;
    configure(
        &d,
        json!({"secondary_rate_limit_every": 3, "retry_after_secs": 7}),
    )
    .await;
    let mut hit = vec![];
    for _ in 0..6 {
        let r = get(&d, Some(ALICE), "/user").await;
        if r.status() == 403 {
            assert_eq!(r.headers()["retry-after"], "7");
            let b: Value = r.json().await.unwrap();
            assert!(b["message"]
                .as_str()
                .unwrap()
                .starts_with("You have exceeded a secondary rate limit"));
            hit.push(true);
        } else {
            hit.push(false);
        }
    }
    assert_eq!(hit, [false, false, true, false, false, true]);
}

#[tokio::test]
async fn dropped_requests_close_the_connection_without_an_answer() {
    let d = start().await;
    configure(&d, json!({"drop_rate": 1.0})).await;
    let err = client()
        .get(format!("{}/user", d.base_url()))
        .bearer_auth(ALICE)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap_err();
    assert!(
        !err.is_timeout(),
        "connection closed rather than hanging: {err}"
    );
    configure(&d, json!({"drop_rate": 0.0})).await;
    assert_eq!(get(&d, Some(ALICE), "/user").await.status(), 200);
    assert_eq!(log(&d).await[0]["status"], 0);
}

#[tokio::test]
async fn hanging_requests_never_answer() {
    let d = start().await;
    configure(&d, json!({"hang_rate": 1.0})).await;
    let err = client()
        .get(format!("{}/user", d.base_url()))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
}

#[tokio::test]
async fn latency_is_added_but_excluded_from_handler_time() {
    let d = start_with(github_double::DoubleConfig {
        latency_ms: 150,
        ..Default::default()
    })
    .await;
    let t = Instant::now();
    assert_eq!(
        get(&d, Some(ALICE), "/repos/acme/secret/pulls/7/comments")
            .await
            .status(),
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(150));
    let t = Instant::now();
    get(&d, None, "/_double/requests").await;
    assert!(
        t.elapsed() < Duration::from_millis(150),
        "control endpoints skip latency"
    );
    let stats: Value = get(&d, None, "/_double/stats").await.json().await.unwrap();
    assert_eq!(stats["requests"], 1);
    assert!(stats["handler_time_us_total"].as_u64().unwrap() < 100_000);
    assert!(stats["handler_time_us_p50"].is_u64());
}

#[tokio::test]
async fn config_updates_are_partial_and_validated() {
    let d = start().await;
    let c = configure(&d, json!({"latency_ms": 5})).await;
    assert_eq!(
        (c["latency_ms"].as_u64(), c["fault_status"].as_u64()),
        (Some(5), Some(500))
    );
    let c: Value = get(&d, None, "/_double/config").await.json().await.unwrap();
    assert_eq!(c["latency_ms"], 5);
    let r = client()
        .post(format!("{}/_double/config", d.base_url()))
        .json(&json!({"drop_rate": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn redirect_fault_points_at_another_host() {
    let d = start().await;
    configure(
        &d,
        json!({"redirect_to": "http://127.0.0.2:9", "redirect_rate": 1.0}),
    )
    .await;
    let r = get(&d, Some(ALICE), "/api/v3/repos/acme/secret?a=b").await;
    assert_eq!(r.status(), 307);
    assert_eq!(
        r.headers()["location"],
        "http://127.0.0.2:9/api/v3/repos/acme/secret?a=b"
    );
}
