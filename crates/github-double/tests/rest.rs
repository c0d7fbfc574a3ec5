//! REST behaviour: auth, shapes, pagination, ETags, rate limits, the request log.

mod common;

use common::*;
use serde_json::Value;

#[tokio::test]
async fn unknown_token_gets_bad_credentials() {
    let d = start().await;
    let r = get(&d, Some("ghp_nobody"), "/repos/acme/public").await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "Bad credentials");
    assert_eq!(body["documentation_url"], "https://docs.github.com/rest");
}

#[tokio::test]
async fn carol_cannot_see_acmes_private_repo_but_bob_can() {
    let d = start().await;
    for path in [
        "/repos/acme/secret",
        "/repos/acme/secret/pulls/7",
        "/repos/acme/secret/pulls/7/comments",
    ] {
        let r = get(&d, Some(CAROL), path).await;
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["message"], "Not Found");
        assert_eq!(get(&d, Some(BOB), path).await.status(), 200, "{path}");
    }
    assert_eq!(get(&d, None, "/repos/acme/secret").await.status(), 404);
}

#[tokio::test]
async fn public_repo_is_readable_without_a_token_under_a_small_limit() {
    let d = start().await;
    let r = get(&d, None, "/repos/acme/public/pulls/1").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-limit"], "60");
    let pr: Value = r.json().await.unwrap();
    assert_eq!(pr["number"], 1);
    assert_eq!(pr["user"]["login"], "carol");
}

#[tokio::test]
async fn user_endpoint_reports_scopes_only_for_classic_tokens() {
    let d = start().await;
    let r = get(&d, Some(ALICE), "/user").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-oauth-scopes"], "repo, read:org");
    assert!(r.headers().contains_key("x-github-request-id"));
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        (me["login"].as_str(), me["id"].as_u64()),
        (Some("alice"), Some(1001))
    );
    let r = get(&d, Some(BOB), "/user").await;
    assert!(!r.headers().contains_key("x-oauth-scopes"));
    assert_eq!(get(&d, None, "/user").await.status(), 401);
}

#[tokio::test]
async fn ghes_prefix_serves_the_same_api_with_prefixed_urls() {
    let d = start().await;
    let r = get(&d, Some(ALICE), "/api/v3/repos/acme/secret/pulls/7").await;
    assert_eq!(r.status(), 200);
    let pr: Value = r.json().await.unwrap();
    let url = pr["url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("{}/api/v3/repos/acme/secret/pulls/7", d.base_url())
    );
    assert_eq!(
        pr["html_url"],
        format!("{}/acme/secret/pull/7", d.base_url())
    );
}

#[tokio::test]
async fn link_pagination_walks_every_review_comment_once() {
    let d = start().await;
    let mut url = format!(
        "{}/repos/acme/secret/pulls/7/comments?per_page=100",
        d.base_url()
    );
    let mut ids = vec![];
    let mut pages = 0;
    loop {
        let r = client().get(&url).bearer_auth(ALICE).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let next = r
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split(", ").find(|p| p.ends_with("rel=\"next\"")))
            .map(|p| p[1..p.find('>').unwrap()].to_string());
        let page: Vec<Value> = r.json().await.unwrap();
        ids.extend(page.iter().map(|c| c["id"].as_u64().unwrap()));
        pages += 1;
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 160 + 120);
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, ids, "ids ascend without duplicates");
}

#[tokio::test]
async fn link_header_names_last_and_first() {
    let d = start().await;
    let r = get(
        &d,
        Some(ALICE),
        "/repos/acme/secret/pulls/7/comments?per_page=30&page=2",
    )
    .await;
    let link = r.headers()["link"].to_str().unwrap().to_string();
    assert!(link.contains("page=10>; rel=\"last\""), "{link}");
    assert!(link.contains("page=1>; rel=\"first\""), "{link}");
    assert!(link.contains("page=3>; rel=\"next\""), "{link}");
    assert!(link.contains("page=1>; rel=\"prev\""), "{link}");
}

#[tokio::test]
async fn comment_shapes_carry_threads_and_replies() {
    let d = start().await;
    let page: Vec<Value> = get(
        &d,
        Some(BOB),
        "/repos/acme/secret/pulls/7/comments?per_page=2",
    )
    .await
    .json()
    .await
    .unwrap();
    let (first, reply) = (&page[0], &page[1]);
    assert_eq!(first["path"], "src/long.rs");
    assert_eq!(
        (first["line"].as_u64(), first["start_line"].as_u64()),
        (Some(12), Some(10))
    );
    assert!(first.get("in_reply_to_id").is_none());
    assert_eq!(reply["in_reply_to_id"], first["id"]);
    let id = first["id"].as_u64().unwrap();
    assert!(id > i32::MAX as u64);
    assert_eq!(
        first["html_url"],
        format!("{}/acme/secret/pull/7#discussion_r{id}", d.base_url())
    );
    let one: Value = get(
        &d,
        Some(BOB),
        &format!("/repos/acme/secret/pulls/comments/{id}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(&one, first);
    let other_repo = get(
        &d,
        Some(BOB),
        &format!("/repos/acme/public/pulls/comments/{id}"),
    )
    .await;
    assert_eq!(other_repo.status(), 404);
}

#[tokio::test]
async fn pulls_list_filters_by_state_head_and_base() {
    let d = start().await;
    let numbers = |v: Vec<Value>| {
        v.iter()
            .map(|p| p["number"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let list = |q: &'static str| {
        let d = &d;
        async move {
            numbers(
                get(d, Some(ALICE), &format!("/repos/acme/secret/pulls{q}"))
                    .await
                    .json()
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(list("").await, [7]);
    assert_eq!(list("?state=closed").await, [8]);
    assert_eq!(list("?state=all").await.len(), 2);
    assert_eq!(list("?state=all&head=acme:feature-x").await, [7]);
    assert_eq!(
        list("?state=all&head=someone:feature-x").await,
        Vec::<u64>::new()
    );
    assert_eq!(list("?state=all&base=develop").await, Vec::<u64>::new());
}

#[tokio::test]
async fn reviews_and_files_are_listed() {
    let d = start().await;
    let reviews: Vec<Value> = get(
        &d,
        Some(ALICE),
        "/repos/acme/secret/pulls/7/reviews?per_page=100",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(reviews.len(), 100);
    assert_eq!(reviews[0]["state"], "COMMENTED");
    let files: Vec<Value> = get(&d, Some(ALICE), "/repos/acme/secret/pulls/7/files")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(files.len(), 10);
    assert!(files[0]["patch"].as_str().unwrap().starts_with("@@"));
}

#[tokio::test]
async fn conditional_request_gets_304_without_spending_budget() {
    let d = start().await;
    let path = "/repos/acme/secret/pulls/7";
    let r = get(&d, Some(ALICE), path).await;
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let remaining = r.headers()["x-ratelimit-remaining"]
        .to_str()
        .unwrap()
        .to_string();
    for _ in 0..3 {
        let r = client()
            .get(format!("{}{path}", d.base_url()))
            .bearer_auth(ALICE)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(
            r.headers()["x-ratelimit-remaining"].to_str().unwrap(),
            remaining
        );
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let stale = client()
        .get(format!("{}{path}", d.base_url()))
        .bearer_auth(ALICE)
        .header("If-None-Match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
    let left: u64 = stale.headers()["x-ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(left, remaining.parse::<u64>().unwrap() - 1);
    let entries = log(&d).await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["if_none_match"] == true)
            .count(),
        4
    );
}

#[tokio::test]
async fn exhausted_budget_answers_403_with_zero_remaining() {
    let d = start_with(github_double::DoubleConfig {
        rate_limit: 3,
        ..Default::default()
    })
    .await;
    for left in [2, 1, 0] {
        let r = get(&d, Some(ALICE), "/repos/acme/secret").await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["x-ratelimit-remaining"].to_str().unwrap(),
            left.to_string()
        );
        assert_eq!(r.headers()["x-ratelimit-resource"], "core");
    }
    let r = get(&d, Some(ALICE), "/repos/acme/secret").await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let body: Value = r.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("API rate limit exceeded for user ID 1001."));
    // Another token has its own budget, and /rate_limit is free.
    assert_eq!(get(&d, Some(BOB), "/repos/acme/secret").await.status(), 200);
    let rl = get(&d, Some(ALICE), "/rate_limit").await;
    assert_eq!(rl.status(), 200);
    let rl: Value = rl.json().await.unwrap();
    assert_eq!(rl["resources"]["core"]["remaining"], 0);
    assert_eq!(rl["resources"]["core"]["used"], 3);
    assert_eq!(rl["rate"]["limit"], 3);
}

#[tokio::test]
async fn request_log_records_callers_and_can_be_cleared() {
    let d = start().await;
    get(&d, Some(ALICE), "/repos/acme/secret?x=1").await;
    get(&d, Some("ghp_nobody"), "/user").await;
    get(&d, None, "/api/v3/repos/acme/public").await;
    let e = log(&d).await;
    assert_eq!(e.len(), 3, "control endpoints are not logged");
    assert_eq!(e[0]["user"], "alice");
    assert_eq!(e[0]["path"], "/repos/acme/secret");
    assert_eq!(e[0]["query"], "x=1");
    assert_eq!(e[0]["method"], "GET");
    assert_eq!(e[0]["status"], 200);
    assert_eq!(e[0]["token_fingerprint"].as_str().unwrap().len(), 8);
    assert_eq!(e[1]["user"], Value::Null);
    assert_eq!(e[1]["status"], 401);
    assert!(e[1]["token_fingerprint"].is_string());
    assert_eq!(e[2]["token_fingerprint"], Value::Null);
    assert_eq!(e[2]["path"], "/api/v3/repos/acme/public");
    assert!(e[2]["seq"].as_u64() > e[1]["seq"].as_u64());
    let r = client()
        .delete(format!("{}/_double/requests", d.base_url()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert!(log(&d).await.is_empty());
}

#[tokio::test]
async fn only_writers_can_reply_and_replies_join_the_thread() {
    let d = start().await;
    let page: Vec<Value> = get(
        &d,
        Some(ALICE),
        "/repos/acme/secret/pulls/7/comments?per_page=1",
    )
    .await
    .json()
    .await
    .unwrap();
    let id = page[0]["id"].as_u64().unwrap();
    let url = format!(
        "{}/repos/acme/secret/pulls/7/comments/{id}/replies",
        d.base_url()
    );
    let body = serde_json::json!({"body": "Done"});
    let r = client()
        .post(&url)
        .bearer_auth(BOB)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client()
        .post(&url)
        .bearer_auth(CAROL)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client()
        .post(&url)
        .bearer_auth(ALICE)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let c: Value = r.json().await.unwrap();
    assert_eq!(
        (c["body"].as_str(), c["in_reply_to_id"].as_u64()),
        (Some("Done"), Some(id))
    );
    let new_id = c["id"].as_u64().unwrap();
    let fetched = get(
        &d,
        Some(BOB),
        &format!("/repos/acme/secret/pulls/comments/{new_id}"),
    )
    .await;
    assert_eq!(fetched.status(), 200);
}

#[tokio::test]
async fn submitting_a_review_creates_it_with_its_state() {
    let d = start().await;
    let r = client()
        .post(format!(
            "{}/repos/acme/secret/pulls/7/reviews",
            d.base_url()
        ))
        .bearer_auth(DAVE)
        .json(&serde_json::json!({"event": "APPROVE", "body": "LGTM",
            "comments": [{"path": "src/module_3.rs", "line": 9, "body": "nice"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rv: Value = r.json().await.unwrap();
    assert_eq!(rv["state"], "APPROVED");
    let all: Vec<Value> = get(
        &d,
        Some(ALICE),
        "/repos/acme/secret/pulls/7/comments?per_page=100&page=3",
    )
    .await
    .json()
    .await
    .unwrap();
    let last = all.last().unwrap();
    assert_eq!(
        (
            last["body"].as_str(),
            last["pull_request_review_id"].as_u64()
        ),
        (Some("nice"), rv["id"].as_u64())
    );
}

/// The id of acme/secret#7's check run `name`.
async fn check_run_id(d: &github_double::Running, name: &str) -> u64 {
    let runs: Value = get(
        d,
        Some(BOB),
        "/repos/acme/secret/commits/feature-x/check-runs",
    )
    .await
    .json()
    .await
    .unwrap();
    let run = runs["check_runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no check run {name}: {runs}"));
    run["id"].as_u64().unwrap()
}

#[tokio::test]
async fn annotations_are_paged_like_github_and_counted_on_the_run() {
    let d = start().await;
    let runs: Value = get(
        &d,
        Some(BOB),
        "/repos/acme/secret/commits/feature-x/check-runs",
    )
    .await
    .json()
    .await
    .unwrap();
    let lint = runs["check_runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "lint")
        .unwrap();
    assert_eq!(lint["output"]["annotations_count"], 35);
    assert_eq!(lint["app"]["slug"], "github-actions");
    let id = lint["id"].as_u64().unwrap();
    assert!(
        lint["html_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/job/{id}")),
        "an Actions run's page is its job's: {}",
        lint["html_url"]
    );
    let path = format!("/repos/acme/secret/check-runs/{id}/annotations");
    let r = get(&d, Some(BOB), &format!("{path}?per_page=10&page=4")).await;
    assert_eq!(r.status(), 200);
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains("rel=\"prev\"") && !link.contains("rel=\"next\""),
        "{link}"
    );
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    let page: Vec<Value> = r.json().await.unwrap();
    let lines: Vec<u64> = page
        .iter()
        .map(|a| a["start_line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![31, 32, 33, 34, 35]);
    assert_eq!(page[0]["annotation_level"], "warning");
    assert_eq!(page[0]["end_line"], 31, "end_line defaults to start_line");
    assert!(page[0]["start_column"].is_null() && page[0]["title"].is_null());
    let first: Vec<Value> = get(&d, Some(BOB), &path).await.json().await.unwrap();
    assert_eq!(first.len(), 30, "GitHub's default page size");
    // A run without annotations has an empty list; an unknown one and a repo the
    // token cannot read are 404s.
    let build = check_run_id(&d, "build").await;
    let none: Vec<Value> = get(
        &d,
        Some(BOB),
        &format!("/repos/acme/secret/check-runs/{build}/annotations"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(none.is_empty());
    assert_eq!(get(&d, Some(CAROL), &path).await.status(), 404);
    let unknown = "/repos/acme/secret/check-runs/1/annotations";
    assert_eq!(get(&d, Some(BOB), unknown).await.status(), 404);
}

#[tokio::test]
async fn job_logs_redirect_to_a_signed_url_on_another_host_that_refuses_the_token() {
    let d = start().await;
    let id = check_run_id(&d, "lint").await;
    let path = format!("/repos/acme/secret/actions/jobs/{id}/logs");
    let r = get(&d, Some(BOB), &path).await;
    assert_eq!(r.status(), 302);
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let port = d.addr.port();
    assert!(
        location.starts_with(&format!("http://localhost:{port}/_double/blobs/{id}?sig=")),
        "another host name than the API's 127.0.0.1: {location}"
    );
    // The download: no token, a valid signature.
    let c = client();
    let blob = c.get(&location).send().await.unwrap();
    assert_eq!(blob.status(), 200);
    assert!(blob.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(blob.text().await.unwrap(), LINT_LOG);
    // With the token along: refused, and recorded.
    let leaked = c.get(&location).bearer_auth(BOB).send().await.unwrap();
    assert_eq!(leaked.status(), 400);
    // A signature for another job, or none: refused.
    let other = check_run_id(&d, "build").await;
    let forged = location.replace(&format!("/blobs/{id}?"), &format!("/blobs/{other}?"));
    assert_eq!(c.get(&forged).send().await.unwrap().status(), 403);
    let unsigned = location.split('?').next().unwrap().to_owned();
    assert_eq!(c.get(&unsigned).send().await.unwrap().status(), 403);
    let record: Vec<Value> = get(&d, None, "/_double/blob-requests")
        .await
        .json()
        .await
        .unwrap();
    let seen: Vec<(bool, u64)> = record
        .iter()
        .map(|b| {
            (
                b["authorization"].as_bool().unwrap(),
                b["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![(false, 200), (true, 400), (false, 403), (false, 403)]
    );
    assert_eq!(record[0]["host"], format!("localhost:{port}"));
    // The download host is not the API: not in the API's request log.
    assert!(log(&d)
        .await
        .iter()
        .all(|e| !e["path"].as_str().unwrap().contains("/_double/blobs")));
}

#[tokio::test]
async fn job_logs_are_404_without_a_log_or_read_access() {
    let d = start().await;
    let lint = check_run_id(&d, "lint").await;
    let build = check_run_id(&d, "build").await;
    for (token, path) in [
        (
            CAROL,
            format!("/repos/acme/secret/actions/jobs/{lint}/logs"),
        ),
        (BOB, format!("/repos/acme/secret/actions/jobs/{build}/logs")),
        (BOB, "/repos/acme/secret/actions/jobs/12/logs".to_owned()),
        (BOB, format!("/repos/acme/public/actions/jobs/{lint}/logs")),
    ] {
        let r = get(&d, Some(token), &path).await;
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["message"], "Not Found");
    }
    // Through the GHES prefix the redirect still leaves the API host.
    let r = get(
        &d,
        Some(BOB),
        &format!("/api/v3/repos/acme/secret/actions/jobs/{lint}/logs"),
    )
    .await;
    assert_eq!(r.status(), 302);
}
