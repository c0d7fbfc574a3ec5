//! GraphQL behaviour: the server's documents run unchanged and return complete data.

mod common;

use common::*;
use serde_json::{json, Value};

async fn thread_ids(d: &github_double::Running) -> Vec<(String, u64)> {
    let doc = server_document("review_threads.graphql");
    let mut after: Option<String> = None;
    let mut out = vec![];
    loop {
        let vars = json!({"owner": "acme", "name": "secret", "number": 7,
            "threadsPage": 10, "commentsPage": 5, "after": after});
        let (status, body) = graphql(d, Some(ALICE), &doc, vars).await;
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "{body}");
        let threads = threads_page(&body);
        assert_eq!(threads["totalCount"], 41, "{body}");
        for t in threads["nodes"].as_array().unwrap() {
            out.push((
                t["id"].as_str().unwrap().to_string(),
                t["comments"]["totalCount"].as_u64().unwrap(),
            ));
        }
        if threads["pageInfo"]["hasNextPage"] == true {
            after = threads["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_string);
        } else {
            break;
        }
    }
    out
}

#[tokio::test]
async fn review_threads_document_pages_through_all_threads() {
    let d = start().await;
    let threads = thread_ids(&d).await;
    assert_eq!(threads.len(), 41);
    assert_eq!(threads[0].1, 160);
    assert!(threads[1..].iter().all(|t| t.1 == 3));
    assert!(threads.iter().all(|t| t.0.starts_with("PRRT_")));

    let doc = server_document("review_threads.graphql");
    let vars = json!({"owner": "acme", "name": "secret", "number": 7, "threadsPage": 2, "commentsPage": 2});
    let (_, body) = graphql(&d, Some(BOB), &doc, vars).await;
    let pr = &body["data"]["repository"]["pullRequest"];
    assert_eq!(pr["title"], "Add widgets");
    assert_eq!(pr["state"], "OPEN");
    assert_eq!(pr["url"], format!("{}/acme/secret/pull/7", d.base_url()));
    assert_eq!(pr["author"]["login"], "alice");
    assert_eq!(pr["headRefName"], "feature-x");
    let t0 = &threads_page(&body)["nodes"][0];
    assert_eq!(
        (t0["line"].as_u64(), t0["startLine"].as_u64()),
        (Some(12), Some(10))
    );
    assert_eq!(
        (t0["diffSide"].as_str(), t0["startDiffSide"].as_str()),
        (Some("RIGHT"), Some("RIGHT"))
    );
    assert_eq!(t0["subjectType"], "LINE");
    let c = &t0["comments"]["nodes"];
    assert!(
        c[0]["fullDatabaseId"].is_string(),
        "BigInt serialises as a string"
    );
    assert_eq!(c[0]["replyTo"], Value::Null);
    assert_eq!(c[1]["replyTo"]["fullDatabaseId"], c[0]["fullDatabaseId"]);
    assert_eq!(c[0]["body"], "long thread comment 0");
    assert_eq!(c[0]["createdAt"], "2026-01-02T03:00:00Z");
    let rl = &body["data"]["rateLimit"];
    assert_eq!(
        (rl["cost"].as_u64(), rl["limit"].as_u64()),
        (Some(1), Some(5000))
    );
}

#[tokio::test]
async fn thread_comments_document_pages_through_a_160_comment_thread() {
    let d = start().await;
    let (thread, total) = thread_ids(&d).await[0].clone();
    assert_eq!(total, 160);
    let doc = server_document("thread_comments.graphql");
    let mut after: Option<String> = None;
    let mut bodies = vec![];
    let mut ids = vec![];
    let mut calls = 0;
    loop {
        let (status, body) = graphql(
            &d,
            Some(BOB),
            &doc,
            json!({"id": thread, "commentsPage": 50, "after": after}),
        )
        .await;
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "{body}");
        calls += 1;
        let comments = &body["data"]["node"]["comments"];
        assert_eq!(comments["totalCount"], 160);
        for c in comments["nodes"].as_array().unwrap() {
            bodies.push(c["body"].as_str().unwrap().to_string());
            ids.push(
                c["fullDatabaseId"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            );
            assert!(c["id"].as_str().unwrap().starts_with("PRRC_"));
            assert!(c["url"].as_str().unwrap().contains("#discussion_r"));
        }
        if comments["pageInfo"]["hasNextPage"] == true {
            after = comments["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_string);
        } else {
            break;
        }
    }
    assert_eq!(calls, 4);
    let expected: Vec<String> = (0..160)
        .map(|i| format!("long thread comment {i}"))
        .collect();
    assert_eq!(bodies, expected);
    // The ids are the ones REST serves.
    let rest: Value = get(
        &d,
        Some(BOB),
        &format!("/repos/acme/secret/pulls/comments/{}", ids[42]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(rest["body"], "long thread comment 42");
}

#[tokio::test]
async fn unreadable_repository_resolves_to_null_with_not_found() {
    let d = start().await;
    let doc = server_document("review_threads.graphql");
    let vars = json!({"owner": "acme", "name": "secret", "number": 7, "threadsPage": 2, "commentsPage": 2});
    let (status, body) = graphql(&d, Some(CAROL), &doc, vars).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["repository"], Value::Null);
    assert!(body["data"].as_object().unwrap().contains_key("repository"));
    let e = &body["errors"][0];
    assert_eq!(e["type"], "NOT_FOUND");
    assert_eq!(e["path"], json!(["repository"]));
    assert_eq!(
        e["message"],
        "Could not resolve to a Repository with the name 'acme/secret'."
    );
}

#[tokio::test]
async fn hidden_thread_node_is_not_found_for_outsiders() {
    let d = start().await;
    let (thread, _) = thread_ids(&d).await[0].clone();
    let doc = server_document("thread_comments.graphql");
    let (_, body) = graphql(
        &d,
        Some(CAROL),
        &doc,
        json!({"id": thread, "commentsPage": 5}),
    )
    .await;
    assert_eq!(body["data"]["node"], Value::Null);
    assert_eq!(body["errors"][0]["type"], "NOT_FOUND");
}

#[tokio::test]
async fn graphql_requires_a_token() {
    let d = start().await;
    let (status, body) = graphql(&d, None, "{ viewer { login } }", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["message"],
        "This endpoint requires you to be authenticated."
    );
    let (status, body) = graphql(&d, Some("nope"), "{ viewer { login } }", json!({})).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Bad credentials"))
    );
    let (_, body) = graphql(&d, Some(ALICE), "{ viewer { login } }", json!({})).await;
    assert_eq!(body["data"]["viewer"]["login"], "alice");
}

#[tokio::test]
async fn connections_enforce_githubs_pagination_rules() {
    let d = start().await;
    let q = |args: &str| {
        format!("{{ repository(owner: \"acme\", name: \"secret\") {{ pullRequest(number: 7) {{ reviewThreads{args} {{ totalCount nodes {{ id }} }} }} }} }}")
    };
    // Counting alone needs no bounds, as on GitHub (`comments { totalCount }`).
    let count_only = "{ repository(owner: \"acme\", name: \"secret\") { pullRequest(number: 7) { reviewThreads { totalCount } } } }";
    let (_, body) = graphql(&d, Some(ALICE), count_only, json!({})).await;
    assert_eq!(
        body["data"]["repository"]["pullRequest"]["reviewThreads"]["totalCount"], 41,
        "{body}"
    );
    let (_, body) = graphql(&d, Some(ALICE), &q(""), json!({})).await;
    assert_eq!(
        body["errors"][0]["message"],
        "You must provide a `first` or `last` value to properly paginate the `reviewThreads` connection."
    );
    assert_eq!(body["errors"][0]["type"], "MISSING_PAGINATION_BOUNDARIES");
    let (_, body) = graphql(&d, Some(ALICE), &q("(first: 101)"), json!({})).await;
    assert_eq!(
        body["errors"][0]["message"],
        "Requesting 101 records on the `reviewThreads` connection exceeds the `first` limit of 100 records."
    );
    let (_, body) = graphql(&d, Some(ALICE), &q("(last: 100)"), json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn edges_and_last_before_page_backwards() {
    let d = start().await;
    let q = "query($b: String) { repository(owner: \"acme\", name: \"secret\") { pullRequest(number: 7) {
        reviewThreads(last: 3, before: $b) { pageInfo { hasPreviousPage startCursor } edges { cursor node { path } } } } } }";
    let (_, body) = graphql(&d, Some(ALICE), q, json!({"b": null})).await;
    let conn = &body["data"]["repository"]["pullRequest"]["reviewThreads"];
    assert_eq!(conn["edges"].as_array().unwrap().len(), 3);
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(conn["pageInfo"]["startCursor"], conn["edges"][0]["cursor"]);
    let before = conn["pageInfo"]["startCursor"].clone();
    let (_, body) = graphql(&d, Some(ALICE), q, json!({"b": before})).await;
    let edges = &body["data"]["repository"]["pullRequest"]["reviewThreads"]["edges"];
    assert_eq!(edges.as_array().unwrap().len(), 3);
    assert_ne!(edges[2]["cursor"], before);
}

#[tokio::test]
async fn graphql_budget_is_counted_separately_and_reported() {
    let d = start_with(github_double::DoubleConfig {
        graphql_rate_limit: 2,
        ..Default::default()
    })
    .await;
    let q = "{ rateLimit { remaining used limit } }";
    let (_, body) = graphql(&d, Some(ALICE), q, json!({})).await;
    assert_eq!(
        body["data"]["rateLimit"],
        json!({"remaining": 1, "used": 1, "limit": 2})
    );
    graphql(&d, Some(ALICE), q, json!({})).await;
    let (status, body) = graphql(&d, Some(ALICE), q, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["type"], "RATE_LIMITED");
    // REST core budget is untouched.
    let r = get(&d, Some(ALICE), "/user").await;
    assert_eq!(r.headers()["x-ratelimit-remaining"], "4999");
}

#[tokio::test]
async fn graphql_responses_carry_rate_limit_headers_and_log_operation() {
    let d = start().await;
    let r = client()
        .post(format!("{}/api/graphql", d.base_url()))
        .bearer_auth(ALICE)
        .json(&json!({"query": "query Me { viewer { login } }", "operationName": "Me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-ratelimit-resource"], "graphql");
    assert_eq!(r.headers()["x-ratelimit-used"], "1");
    let e = log(&d).await;
    assert_eq!(e[0]["graphql_operation"], "Me");
    assert_eq!(e[0]["path"], "/api/graphql");
}

#[tokio::test]
async fn writers_resolve_threads_and_readers_cannot() {
    let d = start().await;
    let (thread, _) = thread_ids(&d).await[0].clone();
    let m = "mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) { thread { isResolved resolvedBy { login } } } }";
    let (_, body) = graphql(&d, Some(BOB), m, json!({"id": thread})).await;
    assert_eq!(body["errors"][0]["type"], "FORBIDDEN");
    let (_, body) = graphql(&d, Some(ALICE), m, json!({"id": thread})).await;
    assert_eq!(
        body["data"]["resolveReviewThread"]["thread"],
        json!({"isResolved": true, "resolvedBy": {"login": "alice"}})
    );
    let q = "query($id: ID!) { node(id: $id) { ... on PullRequestReviewThread { isResolved } } }";
    let (_, body) = graphql(&d, Some(BOB), q, json!({"id": thread})).await;
    assert_eq!(body["data"]["node"]["isResolved"], true);
    let m = "mutation($id: ID!) { unresolveReviewThread(input: {threadId: $id}) { thread { isResolved } } }";
    let (_, body) = graphql(&d, Some(ALICE), m, json!({"id": thread})).await;
    assert_eq!(
        body["data"]["unresolveReviewThread"]["thread"]["isResolved"],
        false
    );
}
