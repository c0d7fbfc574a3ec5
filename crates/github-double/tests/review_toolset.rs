//! What the server's review toolset needs: reviews (pending, submitted, deleted),
//! replies, the conversation, checks and statuses, review decisions, permissions,
//! and the response caches in front of it all.

mod common;

use common::*;
use serde_json::{json, Value};

const PR: &str = "/repos/acme/secret/pulls/7";

fn vars() -> Value {
    json!({"owner": "acme", "name": "secret", "number": 7})
}

async fn run_doc(d: &github_double::Running, token: &str, doc: &str, v: Value) -> Value {
    let (status, body) = graphql(d, Some(token), &server_document(doc), v).await;
    assert_eq!(status, 200);
    body
}

async fn decision(d: &github_double::Running) -> Value {
    let body = run_doc(d, ALICE, "review_decision.graphql", vars()).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["repository"]["pullRequest"]["reviewDecision"].clone()
}

async fn thread_count(d: &github_double::Running, token: &str) -> u64 {
    let v = json!({"owner": "acme", "name": "secret", "number": 7, "first": 1});
    let body = run_doc(d, token, "list_threads.graphql", v).await;
    body["data"]["repository"]["pullRequest"]["reviewThreads"]["totalCount"]
        .as_u64()
        .unwrap()
}

async fn review_count(d: &github_double::Running, token: &str) -> usize {
    let mut n = 0;
    for page in 1.. {
        let (s, list) = send(
            d,
            "GET",
            Some(token),
            &format!("{PR}/reviews?per_page=100&page={page}"),
            Value::Null,
        )
        .await;
        assert_eq!(s, 200);
        let len = list.as_array().unwrap().len();
        n += len;
        if len < 100 {
            break;
        }
    }
    n
}

/// Every review through the server's `reviews.graphql`, page by page.
async fn all_reviews(d: &github_double::Running, token: &str) -> (u64, Vec<Value>) {
    let (mut after, mut out) = (Value::Null, vec![]);
    loop {
        let v = json!({"owner": "acme", "name": "secret", "number": 7, "after": after});
        let body = run_doc(d, token, "reviews.graphql", v).await;
        assert!(body.get("errors").is_none(), "{body}");
        let conn = &body["data"]["repository"]["pullRequest"]["reviews"];
        let total = conn["totalCount"].as_u64().unwrap();
        out.extend(conn["nodes"].as_array().unwrap().iter().cloned());
        if conn["pageInfo"]["hasNextPage"] != true {
            return (total, out);
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

async fn writes_logged(d: &github_double::Running, method: &str, path: &str) -> Vec<Value> {
    log(d)
        .await
        .into_iter()
        .filter(|e| e["method"] == method && e["path"] == path)
        .collect()
}

#[tokio::test]
async fn graphql_answers_are_cached_until_a_write() {
    let d = start().await;
    let v = json!({"owner": "acme", "name": "secret", "number": 7, "threadsPage": 50, "commentsPage": 50, "after": null});
    let a = run_doc(&d, ALICE, "review_threads.graphql", v.clone()).await;
    let b = run_doc(&d, ALICE, "review_threads.graphql", v.clone()).await;
    assert_eq!(
        d.state.cache.len().0,
        1,
        "second answer came from the cache"
    );
    // Identical except the per-request rate limit, which still counts down.
    let (ra, rb) = (
        a["data"]["rateLimit"].clone(),
        b["data"]["rateLimit"].clone(),
    );
    assert_eq!(
        ra["remaining"].as_u64().unwrap(),
        rb["remaining"].as_u64().unwrap() + 1
    );
    assert_eq!(ra["limit"], 5000);
    assert!(rb["resetAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(a["data"]["repository"], b["data"]["repository"]);
    // Another caller gets their own entry.
    run_doc(&d, BOB, "review_threads.graphql", v.clone()).await;
    assert_eq!(d.state.cache.len().0, 2);

    let thread = threads_page(&a)["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["isResolved"] == false)
        .unwrap()["id"]
        .clone();
    let r = run_doc(
        &d,
        DAVE,
        "resolve_thread.graphql",
        json!({"threadId": thread}),
    )
    .await;
    assert_eq!(
        r["data"]["resolveReviewThread"]["thread"]["isResolved"],
        true
    );
    assert_eq!(d.state.cache.len().0, 0, "a write empties the cache");
    let c = run_doc(&d, ALICE, "review_threads.graphql", v).await;
    let now = threads_page(&c)["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == thread)
        .unwrap()
        .clone();
    assert_eq!(now["isResolved"], true);
    assert_eq!(now["resolvedBy"]["login"], "dave");
    // The log and stats still see every request.
    let ops: Vec<Value> = log(&d).await;
    assert_eq!(
        ops.iter()
            .filter(|e| e["graphql_operation"] == "ReviewThreads")
            .count(),
        4
    );
    let stats: Value = get(&d, None, "/_double/stats").await.json().await.unwrap();
    assert_eq!(stats["requests"], 5);
}

#[tokio::test]
async fn cached_rest_lists_keep_etags_and_see_writes() {
    let d = start().await;
    let path = format!("{PR}/comments?per_page=100&page=3");
    let a = get(&d, Some(ALICE), &path).await;
    let etag = a.headers()["etag"].clone();
    let link = a.headers()["link"].clone();
    let a: Value = a.json().await.unwrap();
    let b = get(&d, Some(ALICE), &path).await;
    assert_eq!(b.headers()["etag"], etag);
    assert_eq!(b.headers()["link"], link);
    assert_eq!(b.headers()["x-ratelimit-remaining"], "4998");
    assert_eq!(b.json::<Value>().await.unwrap(), a);
    assert_eq!(d.state.cache.len().1, 1);
    let r = client()
        .get(format!("{}{path}", d.base_url()))
        .bearer_auth(ALICE)
        .header("If-None-Match", etag.to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let id = a[0]["id"].as_u64().unwrap();
    let (s, _) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/comments/{id}/replies"),
        json!({"body": "ok"}),
    )
    .await;
    assert_eq!(s, 201);
    let c: Value = get(&d, Some(ALICE), &path).await.json().await.unwrap();
    assert_eq!(c.as_array().unwrap().len(), a.as_array().unwrap().len() + 1);
}

#[tokio::test]
async fn review_decision_follows_the_latest_review_per_reviewer() {
    let d = start().await;
    assert_eq!(decision(&d).await, "REVIEW_REQUIRED");
    let (s, rv) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews"),
        json!({"event": "APPROVE"}),
    )
    .await;
    assert_eq!((s, rv["state"].as_str()), (200, Some("APPROVED")));
    assert_eq!(decision(&d).await, "APPROVED");
    let (s, _) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews"),
        json!({"event": "REQUEST_CHANGES", "body": "wait"}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(decision(&d).await, "CHANGES_REQUESTED");
    // Reviewing removes the reviewer from the requested ones.
    let (_, pull) = send(&d, "GET", Some(ALICE), PR, Value::Null).await;
    let logins: Vec<&str> = pull["requested_reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["bob"]);
}

#[tokio::test]
async fn reviews_document_counts_comments_and_hides_others_pending_reviews() {
    let d = start().await;
    let (s, pending) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews"),
        json!({"body": "draft", "comments": [
            {"path": "src/module_1.rs", "start_line": 6, "line": 8, "side": "RIGHT", "start_side": "RIGHT", "body": "range"},
            {"path": "src/module_2.rs", "line": 10, "body": "single"}]}),
    )
    .await;
    assert_eq!(s, 200, "{pending}");
    assert_eq!(pending["state"], "PENDING");
    assert!(pending.get("submitted_at").is_none());
    let (mine, nodes) = all_reviews(&d, DAVE).await;
    let (theirs, their_nodes) = all_reviews(&d, ALICE).await;
    assert_eq!(mine, theirs + 1);
    assert_eq!(
        (nodes.len() as u64, their_nodes.len() as u64),
        (mine, theirs)
    );
    let last = nodes.last().unwrap().clone();
    assert_eq!(last["state"], "PENDING");
    assert_eq!(
        last["fullDatabaseId"],
        pending["id"].as_u64().unwrap().to_string()
    );
    assert_eq!(last["comments"]["totalCount"], 2);
    assert!(last["submittedAt"].is_null());
    assert_eq!(last["author"]["login"], "dave");
    // Threads: dave sees the two new ones, alice does not; REST agrees.
    assert_eq!(
        thread_count(&d, DAVE).await,
        thread_count(&d, ALICE).await + 2
    );
    let id = pending["id"].as_u64().unwrap();
    let (s, _) = send(
        &d,
        "GET",
        Some(ALICE),
        &format!("{PR}/reviews/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    let (s, got) = send(
        &d,
        "GET",
        Some(DAVE),
        &format!("{PR}/reviews/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!((s, got["state"].as_str()), (200, Some("PENDING")));
    // The multi-line comment became one thread with startLine/line.
    let v = json!({"owner": "acme", "name": "secret", "number": 7, "threadsPage": 100, "commentsPage": 5, "after": null});
    let threads = run_doc(&d, DAVE, "review_threads.graphql", v).await;
    let nodes = threads_page(&threads)["nodes"].as_array().unwrap().clone();
    let range = nodes
        .iter()
        .find(|t| t["path"] == "src/module_1.rs" && t["startLine"] == 6)
        .unwrap();
    assert_eq!(
        (range["line"].as_u64(), range["startDiffSide"].as_str()),
        (Some(8), Some("RIGHT"))
    );
    assert_eq!(range["comments"]["nodes"][0]["author"]["login"], "dave");
    assert_eq!(range["comments"]["nodes"][0]["body"], "range");
}

#[tokio::test]
async fn one_pending_review_per_user_and_then_submit_it() {
    let d = start().await;
    let (s, pending) = send(&d, "POST", Some(DAVE), &format!("{PR}/reviews"), json!({})).await;
    assert_eq!((s, pending["state"].as_str()), (200, Some("PENDING")));
    for body in [json!({}), json!({"event": "COMMENT", "body": "x"})] {
        let (s, err) = send(&d, "POST", Some(DAVE), &format!("{PR}/reviews"), body).await;
        assert_eq!(s, 422);
        assert_eq!(err["message"], "Unprocessable Entity");
        assert_eq!(
            err["errors"][0],
            "User can only have one pending review per pull request"
        );
    }
    // GraphQL: add a thread to the pending review by its node id.
    let add = json!({"reviewId": pending["node_id"], "path": "src/module_4.rs", "line": 9,
                     "side": "RIGHT", "startLine": 7, "startSide": "RIGHT", "body": "from graphql"});
    let body = run_doc(&d, DAVE, "add_pending_comment.graphql", add.clone()).await;
    assert!(body.get("errors").is_none(), "{body}");
    let t = &body["data"]["addPullRequestReviewThread"]["thread"];
    assert_eq!(
        (
            t["path"].as_str(),
            t["line"].as_u64(),
            t["startLine"].as_u64()
        ),
        (Some("src/module_4.rs"), Some(9), Some(7))
    );
    let comment_id: u64 = t["comments"]["nodes"][0]["fullDatabaseId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(t["comments"]["nodes"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("#discussion_r{comment_id}")));
    // Someone else cannot use dave's review.
    let body = run_doc(&d, ALICE, "add_pending_comment.graphql", add).await;
    assert_eq!(body["errors"][0]["type"], "NOT_FOUND");
    assert!(body["data"]["addPullRequestReviewThread"].is_null());
    // Alice cannot see the pending comment over REST either.
    let (s, _) = send(
        &d,
        "GET",
        Some(ALICE),
        &format!("/repos/acme/secret/pulls/comments/{comment_id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    // Replies over REST are refused while dave has a pending review (GitHub's quirk).
    let (s, err) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/comments/{comment_id}/replies"),
        json!({"body": "r"}),
    )
    .await;
    assert_eq!(
        (s, err["message"].as_str()),
        (422, Some("Validation Failed"))
    );

    let id = pending["id"].as_u64().unwrap();
    let events = format!("{PR}/reviews/{id}/events");
    let (s, err) = send(&d, "POST", Some(DAVE), &events, json!({"event": "NOPE"})).await;
    assert_eq!(
        (s, err["message"].as_str()),
        (422, Some("Unprocessable Entity"))
    );
    let (s, _) = send(
        &d,
        "POST",
        Some(ALICE),
        &events,
        json!({"event": "COMMENT"}),
    )
    .await;
    assert_eq!(
        s, 404,
        "another user's pending review does not exist for them"
    );
    let (s, done) = send(
        &d,
        "POST",
        Some(DAVE),
        &events,
        json!({"event": "COMMENT", "body": "Submitted"}),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(
        (done["state"].as_str(), done["body"].as_str()),
        (Some("COMMENTED"), Some("Submitted"))
    );
    assert!(done["submitted_at"].is_string());
    let (s, _) = send(&d, "POST", Some(DAVE), &events, json!({"event": "APPROVE"})).await;
    assert_eq!(s, 422, "already submitted");
    // Now everyone sees it, and its comment.
    let (s, c) = send(
        &d,
        "GET",
        Some(ALICE),
        &format!("/repos/acme/secret/pulls/comments/{comment_id}"),
        Value::Null,
    )
    .await;
    assert_eq!((s, c["user"]["login"].as_str()), (200, Some("dave")));
    assert_eq!(c["pull_request_review_id"], id);
}

#[tokio::test]
async fn only_pending_reviews_can_be_deleted_and_take_their_threads() {
    let d = start().await;
    let before = thread_count(&d, DAVE).await;
    let (_, pending) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews"),
        json!({"comments": [{"path": "src/module_5.rs", "line": 10, "body": "gone soon"}]}),
    )
    .await;
    assert_eq!(thread_count(&d, DAVE).await, before + 1);
    let id = pending["id"].as_u64().unwrap();
    let (s, _) = send(
        &d,
        "DELETE",
        Some(ALICE),
        &format!("{PR}/reviews/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    let (s, deleted) = send(
        &d,
        "DELETE",
        Some(DAVE),
        &format!("{PR}/reviews/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (s, deleted["id"].as_u64(), deleted["state"].as_str()),
        (200, Some(id), Some("PENDING"))
    );
    assert_eq!(thread_count(&d, DAVE).await, before);
    let (s, _) = send(
        &d,
        "GET",
        Some(DAVE),
        &format!("{PR}/reviews/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    let (_, submitted) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews"),
        json!({"event": "COMMENT", "body": "kept"}),
    )
    .await;
    let sid = submitted["id"].as_u64().unwrap();
    let (s, err) = send(
        &d,
        "DELETE",
        Some(DAVE),
        &format!("{PR}/reviews/{sid}"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(err["message"], "Unprocessable Entity");
}

#[tokio::test]
async fn invalid_reviews_get_githubs_422s_and_change_nothing() {
    let d = start().await;
    let before = review_count(&d, ALICE).await;
    let cases = [
        (
            DAVE,
            json!({"event": "REQUEST_CHANGES"}),
            "Body is required when using REQUEST_CHANGES for the event parameter",
        ),
        (
            DAVE,
            json!({"event": "COMMENT", "body": ""}),
            "Body is required when using COMMENT for the event parameter",
        ),
        (
            DAVE,
            json!({"event": "COMMENT", "body": "x", "comments": [{"path": "nope.rs", "line": 1, "body": "b"}]}),
            "Path could not be resolved",
        ),
        (
            DAVE,
            json!({"event": "COMMENT", "body": "x", "comments": [{"path": "src/module_1.rs", "line": 400, "body": "b"}]}),
            "pull_request_review_thread.line must be part of the diff",
        ),
        (
            DAVE,
            json!({"event": "COMMENT", "body": "x", "comments": [{"path": "src/module_1.rs", "start_line": 9, "line": 8, "body": "b"}]}),
            "pull_request_review_thread.start_line must precede the end line.",
        ),
        (
            ALICE,
            json!({"event": "APPROVE"}),
            "Can not approve your own pull request",
        ),
        (
            ALICE,
            json!({"event": "REQUEST_CHANGES", "body": "no"}),
            "Can not request changes on your own pull request",
        ),
    ];
    for (who, body, msg) in cases {
        let (s, err) = send(
            &d,
            "POST",
            Some(who),
            &format!("{PR}/reviews"),
            body.clone(),
        )
        .await;
        assert_eq!(s, 422, "{body}");
        assert_eq!(err["message"], "Unprocessable Entity");
        assert_eq!(err["errors"], json!([msg]), "{body}");
        assert!(err["documentation_url"]
            .as_str()
            .unwrap()
            .starts_with("https://docs.github.com/"));
    }
    let (s, err) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews"),
        json!("not an object"),
    )
    .await;
    assert_eq!((s, err["message"].as_str()), (422, Some("Invalid request.\n\ninvalid type: string \"not an object\", expected struct ReviewBody")));
    assert_eq!(review_count(&d, ALICE).await, before);
    // The author may comment on their own pull request.
    let (s, _) = send(
        &d,
        "POST",
        Some(ALICE),
        &format!("{PR}/reviews"),
        json!({"event": "COMMENT", "body": "self note"}),
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn readers_get_403_outsiders_404_and_nothing_changes() {
    let d = start().await;
    let first: Vec<Value> = get(&d, Some(ALICE), &format!("{PR}/comments?per_page=1"))
        .await
        .json()
        .await
        .unwrap();
    let cid = first[0]["id"].as_u64().unwrap();
    let writes = [
        (
            "POST",
            format!("{PR}/reviews"),
            json!({"event": "COMMENT", "body": "x"}),
        ),
        (
            "POST",
            format!("{PR}/comments/{cid}/replies"),
            json!({"body": "x"}),
        ),
        (
            "POST",
            "/repos/acme/secret/issues/7/comments".to_string(),
            json!({"body": "x"}),
        ),
        (
            "POST",
            format!("{PR}/reviews/3100000001/events"),
            json!({"event": "COMMENT"}),
        ),
        ("DELETE", format!("{PR}/reviews/3100000001"), Value::Null),
    ];
    let snapshot = |d: &github_double::Running| d.state.world().generation;
    let gen = snapshot(&d);
    for (method, path, body) in &writes {
        let (s, err) = send(&d, method, Some(BOB), path, body.clone()).await;
        assert_eq!(s, 403, "{method} {path}");
        assert_eq!(
            err["message"],
            "Resource not accessible by personal access token"
        );
        assert!(err["documentation_url"].is_string());
        let (s, _) = send(&d, method, Some(CAROL), path, body.clone()).await;
        assert_eq!(s, 404, "{method} {path}");
        let (s, _) = send(&d, method, None, path, body.clone()).await;
        assert_eq!(s, 401, "{method} {path}");
    }
    assert_eq!(snapshot(&d), gen, "no write landed");
    let logged = log(&d).await;
    assert!(logged.iter().all(|e| e["writes"] == 0));
    assert!(logged
        .iter()
        .any(|e| e["method"] == "POST" && e["user"] == "bob" && e["status"] == 403));

    // GraphQL mutations: FORBIDDEN and a null field.
    let thread = run_doc(
        &d,
        BOB,
        "list_threads.graphql",
        json!({"owner": "acme", "name": "secret", "number": 7, "first": 1}),
    )
    .await["data"]["repository"]["pullRequest"]["reviewThreads"]["nodes"][0]["id"]
        .clone();
    for doc in ["resolve_thread.graphql", "unresolve_thread.graphql"] {
        let body = run_doc(&d, BOB, doc, json!({"threadId": thread})).await;
        assert_eq!(body["errors"][0]["type"], "FORBIDDEN", "{body}");
        assert_eq!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .split(" does not")
                .next(),
            Some("bob")
        );
        assert!(
            body["data"]
                .as_object()
                .unwrap()
                .values()
                .all(Value::is_null),
            "{body}"
        );
        let body = run_doc(&d, CAROL, doc, json!({"threadId": thread})).await;
        assert_eq!(body["errors"][0]["type"], "NOT_FOUND");
    }
    let pr_node = run_doc(&d, BOB, "review_threads.graphql", json!({"owner": "acme", "name": "secret", "number": 7, "threadsPage": 1, "commentsPage": 1, "after": null})).await;
    assert!(pr_node.get("errors").is_none());
    let (_, pending) = send(&d, "POST", Some(DAVE), &format!("{PR}/reviews"), json!({})).await;
    let gen = snapshot(&d);
    let body = run_doc(
        &d,
        BOB,
        "add_pending_comment.graphql",
        json!({"reviewId": pending["node_id"], "path": "src/module_1.rs", "line": 9, "body": "x"}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["type"], "NOT_FOUND",
        "another user's pending review is invisible"
    );
    assert_eq!(snapshot(&d), gen);
}

#[tokio::test]
async fn writes_are_logged_once_under_the_caller() {
    let d = start().await;
    let (s, _) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews"),
        json!({"event": "COMMENT", "body": "once"}),
    )
    .await;
    assert_eq!(s, 200);
    let entries = writes_logged(&d, "POST", &format!("{PR}/reviews")).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            entries[0]["user"].as_str(),
            entries[0]["status"].as_u64(),
            entries[0]["writes"].as_u64()
        ),
        (Some("dave"), Some(200), Some(1))
    );
    let thread = run_doc(
        &d,
        DAVE,
        "list_threads.graphql",
        json!({"owner": "acme", "name": "secret", "number": 7, "first": 1}),
    )
    .await["data"]["repository"]["pullRequest"]["reviewThreads"]["nodes"][0]["id"]
        .clone();
    run_doc(
        &d,
        DAVE,
        "resolve_thread.graphql",
        json!({"threadId": thread}),
    )
    .await;
    let gql: Vec<Value> = log(&d)
        .await
        .into_iter()
        .filter(|e| e["graphql_operation"] == "ResolveThread")
        .collect();
    assert_eq!(gql.len(), 1);
    assert_eq!(
        (gql[0]["user"].as_str(), gql[0]["writes"].as_u64()),
        (Some("dave"), Some(1))
    );
}

#[tokio::test]
async fn resolving_is_idempotent_both_ways() {
    let d = start().await;
    let thread = run_doc(
        &d,
        ALICE,
        "list_threads.graphql",
        json!({"owner": "acme", "name": "secret", "number": 7, "first": 1}),
    )
    .await["data"]["repository"]["pullRequest"]["reviewThreads"]["nodes"][0]["id"]
        .clone();
    for (token, who) in [(DAVE, "dave"), (ALICE, "dave")] {
        let body = run_doc(
            &d,
            token,
            "resolve_thread.graphql",
            json!({"threadId": thread}),
        )
        .await;
        let t = &body["data"]["resolveReviewThread"]["thread"];
        assert_eq!(
            (t["isResolved"].as_bool(), t["resolvedBy"]["login"].as_str()),
            (Some(true), Some(who))
        );
    }
    for _ in 0..2 {
        let body = run_doc(
            &d,
            ALICE,
            "unresolve_thread.graphql",
            json!({"threadId": thread}),
        )
        .await;
        let t = &body["data"]["unresolveReviewThread"]["thread"];
        assert_eq!(
            (t["isResolved"].as_bool(), t["resolvedBy"].is_null()),
            (Some(false), true)
        );
    }
}

#[tokio::test]
async fn replies_show_up_in_graphql_at_once() {
    let d = start().await;
    let v = json!({"owner": "acme", "name": "secret", "number": 7, "threadsPage": 2, "commentsPage": 10, "after": null});
    let body = run_doc(&d, ALICE, "review_threads.graphql", v.clone()).await;
    let t = threads_page(&body)["nodes"][1].clone();
    let first: u64 = t["comments"]["nodes"][0]["fullDatabaseId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (s, reply) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/comments/{first}/replies"),
        json!({"body": "on it"}),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(
        (
            reply["in_reply_to_id"].as_u64(),
            reply["user"]["login"].as_str()
        ),
        (Some(first), Some("dave"))
    );
    let (s, err) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/comments/{first}/replies"),
        json!({}),
    )
    .await;
    assert_eq!(
        (s, err["message"].as_str()),
        (422, Some("Invalid request.\n\n\"body\" wasn't supplied."))
    );
    let (s, _) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/comments/1/replies"),
        json!({"body": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    let body = run_doc(&d, ALICE, "review_threads.graphql", v).await;
    let t2 = &threads_page(&body)["nodes"][1];
    let n = t["comments"]["totalCount"].as_u64().unwrap();
    assert_eq!(t2["comments"]["totalCount"].as_u64().unwrap(), n + 1);
    let last = t2["comments"]["nodes"].as_array().unwrap().last().unwrap();
    assert_eq!(last["author"]["login"], "dave");
    assert_eq!(last["body"], "on it");
    assert_eq!(last["replyTo"]["fullDatabaseId"], first.to_string());
    assert_eq!(
        last["fullDatabaseId"],
        reply["id"].as_u64().unwrap().to_string()
    );
    let (total, nodes) = all_reviews(&d, ALICE).await;
    assert_eq!(total as usize, review_count(&d, ALICE).await);
    let newest = nodes.last().unwrap();
    assert_eq!(
        (
            newest["state"].as_str(),
            newest["comments"]["totalCount"].as_u64()
        ),
        (Some("COMMENTED"), Some(1))
    );
}

#[tokio::test]
async fn the_conversation_lists_and_takes_comments() {
    let d = start().await;
    let path = "/repos/acme/secret/issues/7/comments";
    let (s, list) = send(&d, "GET", Some(BOB), path, Value::Null).await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["body"], "Any ETA?");
    assert_eq!(list[0]["user"]["login"], "bob");
    let (s, c) = send(&d, "POST", Some(DAVE), path, json!({"body": "Tomorrow"})).await;
    assert_eq!(s, 201);
    assert_eq!(
        (c["body"].as_str(), c["user"]["login"].as_str()),
        (Some("Tomorrow"), Some("dave"))
    );
    assert!(c["html_url"]
        .as_str()
        .unwrap()
        .contains("/pull/7#issuecomment-"));
    let (_, list) = send(&d, "GET", Some(BOB), path, Value::Null).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, list) = send(
        &d,
        "GET",
        Some(BOB),
        &format!("{path}?since=2030-01-01T00:00:00Z"),
        Value::Null,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    let (s, _) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/issues/99/comments",
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    let (_, pull) = send(&d, "GET", Some(BOB), PR, Value::Null).await;
    assert_eq!(pull["comments"], 2);
}

#[tokio::test]
async fn checks_and_statuses_hang_off_the_head_commit() {
    let d = start().await;
    let (_, pull) = send(&d, "GET", Some(BOB), PR, Value::Null).await;
    let sha = pull["head"]["sha"].as_str().unwrap().to_string();
    for r#ref in [sha.as_str(), "feature-x"] {
        let (s, runs) = send(
            &d,
            "GET",
            Some(BOB),
            &format!("/repos/acme/secret/commits/{ref}/check-runs"),
            Value::Null,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(runs["total_count"], 3);
        let build = &runs["check_runs"][0];
        assert_eq!(
            (
                build["name"].as_str(),
                build["status"].as_str(),
                build["conclusion"].as_str()
            ),
            (Some("build"), Some("completed"), Some("success"))
        );
        assert_eq!(build["output"]["title"], "Build passed");
        assert_eq!(build["details_url"], "https://ci.example/build/1");
        assert_eq!(build["head_sha"], sha);
        let e2e = &runs["check_runs"][2];
        assert!(e2e["conclusion"].is_null() && e2e["completed_at"].is_null());
    }
    let (_, runs) = send(
        &d,
        "GET",
        Some(BOB),
        &format!("/repos/acme/secret/commits/{sha}/check-runs?check_name=lint"),
        Value::Null,
    )
    .await;
    assert_eq!(runs["check_runs"][0]["conclusion"], "failure");
    let (s, st) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/commits/feature-x/status",
        Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            st["state"].as_str(),
            st["total_count"].as_u64(),
            st["sha"].as_str()
        ),
        (Some("success"), Some(2), Some(sha.as_str()))
    );
    let legacy = st["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["context"] == "ci/legacy")
        .unwrap();
    assert_eq!(
        (legacy["state"].as_str(), legacy["target_url"].as_str()),
        (Some("success"), Some("https://ci.example/legacy/1"))
    );
    let (s, err) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/commits/deadbeef/status",
        Value::Null,
    )
    .await;
    assert_eq!(
        (s, err["message"].as_str()),
        (422, Some("No commit found for SHA: deadbeef"))
    );
    let (s, _) = send(
        &d,
        "GET",
        Some(CAROL),
        "/repos/acme/secret/commits/feature-x/check-runs",
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    // A pull without checks: empty, and a pending combined state.
    let (s, st) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/commits/old/status",
        Value::Null,
    )
    .await;
    assert_eq!(
        (s, st["state"].as_str(), st["total_count"].as_u64()),
        (200, Some("pending"), Some(0))
    );
}

#[tokio::test]
async fn pull_details_carry_reviewers_mergeability_and_size() {
    let d = start().await;
    let (s, pull) = send(&d, "GET", Some(BOB), PR, Value::Null).await;
    assert_eq!(s, 200);
    assert_eq!(pull["requested_reviewers"].as_array().unwrap().len(), 2);
    assert_eq!(pull["requested_teams"][0]["slug"], "core");
    assert_eq!(
        (
            pull["mergeable"].as_bool(),
            pull["mergeable_state"].as_str()
        ),
        (Some(true), Some("unstable"))
    );
    assert_eq!(
        (
            pull["changed_files"].as_u64(),
            pull["additions"].as_u64(),
            pull["deletions"].as_u64()
        ),
        (Some(10), Some(10), Some(0))
    );
    assert_eq!(
        (
            pull["draft"].as_bool(),
            pull["merged"].as_bool(),
            pull["body"].as_str()
        ),
        (Some(false), Some(false), Some("Adds widgets."))
    );
    let (_, files) = send(&d, "GET", Some(BOB), &format!("{PR}/files"), Value::Null).await;
    assert!(files[0]["patch"].as_str().unwrap().starts_with("@@ "));
    let (_, closed) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/pulls/8",
        Value::Null,
    )
    .await;
    assert!(closed["mergeable"].is_null());
}

#[tokio::test]
async fn pull_lists_filter_and_sort() {
    let d = start().await;
    let numbers = |v: &Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["number"].as_u64().unwrap())
            .collect()
    };
    let (_, all) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/pulls?state=all",
        Value::Null,
    )
    .await;
    assert_eq!(numbers(&all).len(), 2);
    let (_, asc) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/pulls?state=all&direction=asc",
        Value::Null,
    )
    .await;
    let mut rev = numbers(&all);
    rev.reverse();
    assert_eq!(numbers(&asc), rev);
    let (_, head) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/pulls?state=all&head=acme:feature-x",
        Value::Null,
    )
    .await;
    assert_eq!(numbers(&head), [7]);
    let (_, head) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/pulls?state=all&head=someone:feature-x",
        Value::Null,
    )
    .await;
    assert!(numbers(&head).is_empty());
    let (_, closed) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/pulls?state=closed&base=main",
        Value::Null,
    )
    .await;
    assert_eq!(numbers(&closed), [8]);
    let (_, pop) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/pulls?state=all&sort=popularity&direction=desc",
        Value::Null,
    )
    .await;
    assert_eq!(numbers(&pop), [7, 8]);
    let (_, upd) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/pulls?state=all&sort=updated",
        Value::Null,
    )
    .await;
    assert_eq!(numbers(&upd).len(), 2);
    let (s, _) = send(
        &d,
        "GET",
        Some(BOB),
        "/repos/acme/secret/pulls?sort=nope",
        Value::Null,
    )
    .await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn review_decision_is_null_without_required_reviews_and_documents_use_ghes_paths() {
    let mut seed = seed();
    seed.repos[0].requires_review = Some(false);
    let world = github_double::World::from_seed(&seed).unwrap();
    let d = github_double::start(world, Default::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    assert!(decision(&d).await.is_null());
    let r = client()
        .post(format!("{}/api/v3{PR}/reviews", d.base_url()))
        .bearer_auth(DAVE)
        .json(&json!({"event": "APPROVE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rv: Value = r.json().await.unwrap();
    assert!(rv["pull_request_url"]
        .as_str()
        .unwrap()
        .contains("/api/v3/repos/acme/secret/pulls/7"));
}

#[tokio::test]
async fn review_threads_document_reads_both_ends_when_it_asks_for_them() {
    let d = start().await;
    let doc = server_document("review_threads.graphql");
    if !doc.contains("$withTail") {
        return; // older document without the backward page
    }
    let v = json!({"owner": "acme", "name": "secret", "number": 7, "threadsPage": 5, "commentsPage": 2,
                   "after": null, "before": null, "withHead": true, "withTail": true});
    let (_, body) = graphql(&d, Some(BOB), &doc, v).await;
    assert!(body.get("errors").is_none(), "{body}");
    let pr = &body["data"]["repository"]["pullRequest"];
    let (head, tail) = (&pr["head"], &pr["tail"]);
    assert_eq!(
        (head["totalCount"].as_u64(), tail["totalCount"].as_u64()),
        (Some(41), Some(41))
    );
    assert_eq!(head["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(tail["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(head["pageInfo"]["hasNextPage"], true);
    assert_ne!(head["nodes"][4]["id"], tail["nodes"][0]["id"]);
    // Only the tail, from a cursor.
    let before = tail["pageInfo"]["startCursor"].clone();
    let v = json!({"owner": "acme", "name": "secret", "number": 7, "threadsPage": 5, "commentsPage": 2,
                   "before": before, "withHead": false, "withTail": true});
    let (_, body) = graphql(&d, Some(BOB), &doc, v).await;
    let pr = &body["data"]["repository"]["pullRequest"];
    assert!(pr.get("head").is_none());
    assert_eq!(pr["tail"]["nodes"].as_array().unwrap().len(), 5);
}
