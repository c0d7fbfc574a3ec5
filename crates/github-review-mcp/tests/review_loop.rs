//! The review toolset end to end: an agent works through a review with nothing but
//! these tools, and the double shows each write landed once, under the caller.

mod common;

use common::*;
use serde_json::{json, Value};

fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

#[tokio::test]
async fn the_whole_review_loop_lands_each_write_once_under_the_callers_user() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let alice = server.connect(&[("x-github-token", ALICE)], None).await;

    // Find the PR of the branch.
    let found = call(
        &alice,
        "resolve_open_pr_url",
        json!({"owner": "acme", "repo": "widgets", "branch": "frob"}),
        None,
    )
    .await;
    assert!(!is_error(&found), "{}", text(&found));
    let pr_url = s(structured(&found), "pr_url");
    assert!(pr_url.ends_with("/acme/widgets/pull/7"), "{pr_url}");

    // Open threads, cheaply.
    let open = call(
        &alice,
        "list_review_threads",
        json!({"pr_url": pr_url, "is_resolved": false}),
        None,
    )
    .await;
    assert!(!is_error(&open), "{}", text(&open));
    let threads = structured(&open)["threads"].as_array().unwrap().clone();
    assert_eq!(threads.len(), 2, "{}", text(&open));
    let thread = &threads[0];
    assert_eq!(thread["path"], "src/frob.rs");
    let thread_id = s(thread, "id");
    let root_id = thread["first_comment"]["id"].as_u64().unwrap();

    // Read it whole, then answer, resolve, and leave a review with a multi-line comment.
    let fetched = call(
        &alice,
        "fetch_pr_review_comments",
        json!({"pr_url": pr_url, "include_resolved": false}),
        None,
    )
    .await;
    assert!(text(&fetched).contains("These three lines could be one"));
    double.clear_requests().await;
    let reply = call(
        &alice,
        "reply_to_review_comment",
        json!({"pr_url": pr_url, "comment_id": root_id, "body": "Done in 1a2b3c."}),
        None,
    )
    .await;
    assert!(!is_error(&reply), "{}", text(&reply));
    let reply_id = structured(&reply)["id"].as_u64().unwrap();
    assert_eq!(structured(&reply)["in_reply_to_id"].as_u64(), Some(root_id));
    assert!(s(structured(&reply), "url").contains(&reply_id.to_string()));

    let resolved = call(
        &alice,
        "resolve_review_thread",
        json!({"thread_id": thread_id}),
        None,
    )
    .await;
    assert_eq!(
        structured(&resolved)["is_resolved"],
        json!(true),
        "{}",
        text(&resolved)
    );
    assert_eq!(structured(&resolved)["resolved_by"], "alice");
    let again = call(
        &alice,
        "resolve_review_thread",
        json!({"thread_id": thread_id}),
        None,
    )
    .await;
    assert!(
        !is_error(&again),
        "resolving twice is fine: {}",
        text(&again)
    );

    let review = call(
        &alice,
        "create_pr_review",
        json!({"pr_url": pr_url, "event": "COMMENT", "body": "A few notes.",
               "comments": [{"path": "src/frob.rs", "start_line": 8, "line": 10, "body": "These could be one expression."}]}),
        None,
    )
    .await;
    assert!(!is_error(&review), "{}", text(&review));
    let r = structured(&review);
    assert_eq!(r["state"], "COMMENTED");
    assert_eq!(r["comments"].as_array().unwrap().len(), 1, "{r}");

    // The double saw each write once, under alice.
    let log = double.requests().await;
    let writes: Vec<&Value> = log
        .iter()
        .filter(|e| e["writes"].as_u64().unwrap_or(0) > 0)
        .collect();
    assert!(writes.iter().all(|e| e["user"] == "alice"), "{writes:?}");
    assert_eq!(
        writes
            .iter()
            .filter(|e| s(e, "path").ends_with("/replies"))
            .count(),
        1,
        "{writes:?}"
    );
    assert_eq!(
        writes
            .iter()
            .filter(|e| s(e, "path").ends_with("/pulls/7/reviews"))
            .count(),
        1,
        "{writes:?}"
    );

    // Each write left an audit line naming the user, the tool and what it created.
    let logs = server.logs();
    let audit = logs
        .lines()
        .find(|l| l.contains("audit=true") && l.contains("reply_to_review_comment"))
        .expect("audit line");
    assert!(
        audit.contains("login=\"alice\"")
            && audit.contains(&reply_id.to_string())
            && audit.contains("token_fp="),
        "{audit}"
    );
    assert_no_token_in(&logs, "server logs");

    // And reading back shows them.
    let after = call(
        &alice,
        "fetch_pr_review_comments",
        json!({"pr_url": pr_url, "output": "json"}),
        None,
    )
    .await;
    let all = structured(&after)["threads"].as_array().unwrap().clone();
    let first = all.iter().find(|t| t["id"] == json!(thread_id)).unwrap();
    assert_eq!(first["is_resolved"], json!(true));
    let last = first["comments"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (
            last["author"].as_str(),
            last["body"].as_str(),
            last["id"].as_u64()
        ),
        (Some("alice"), Some("Done in 1a2b3c."), Some(reply_id))
    );
    let new_thread = all
        .iter()
        .find(|t| t["comments"][0]["body"] == "These could be one expression.")
        .expect("the review's thread");
    assert_eq!(
        (
            new_thread["start_line"].as_u64(),
            new_thread["line"].as_u64()
        ),
        (Some(8), Some(10))
    );
    assert_eq!(new_thread["comments"][0]["author"], "alice");
    let reviews = call(&alice, "list_pr_reviews", json!({"pr_url": pr_url}), None).await;
    assert!(structured(&reviews)["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["state"] == "COMMENTED" && r["author"] == "alice"));
}

#[tokio::test]
async fn a_pending_review_is_built_then_submitted_or_deleted() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let alice = server.connect(&[], Some(ALICE)).await;
    let pr = "acme/widgets#7";
    let pending = call(
        &alice,
        "create_pr_review",
        json!({"pr_url": pr, "body": "Draft"}),
        None,
    )
    .await;
    assert_eq!(
        structured(&pending)["state"],
        "PENDING",
        "{}",
        text(&pending)
    );
    let added = call(
        &alice,
        "add_pending_review_comment",
        json!({"pr_url": pr, "path": "src/lib.rs", "line": 2, "body": "Why here?"}),
        None,
    )
    .await;
    assert!(!is_error(&added), "{}", text(&added));
    // Nobody else sees it yet.
    let carol = server.connect(&[("x-github-token", CAROL)], None).await;
    let seen = call(
        &carol,
        "fetch_pr_review_comments",
        json!({"pr_url": pr}),
        None,
    )
    .await;
    assert!(!text(&seen).contains("Why here?"));
    let submitted = call(
        &alice,
        "submit_pending_review",
        json!({"pr_url": pr, "event": "COMMENT"}),
        None,
    )
    .await;
    assert_eq!(
        structured(&submitted)["state"],
        "COMMENTED",
        "{}",
        text(&submitted)
    );
    let seen = call(
        &carol,
        "fetch_pr_review_comments",
        json!({"pr_url": pr}),
        None,
    )
    .await;
    assert!(text(&seen).contains("Why here?"), "{}", text(&seen));

    let draft = call(&alice, "create_pr_review", json!({"pr_url": pr}), None).await;
    assert_eq!(structured(&draft)["state"], "PENDING");
    let deleted = call(&alice, "delete_pending_review", json!({"pr_url": pr}), None).await;
    assert_eq!(
        structured(&deleted)["state"],
        "DELETED",
        "{}",
        text(&deleted)
    );
    let none = call(&alice, "delete_pending_review", json!({"pr_url": pr}), None).await;
    assert!(
        is_error(&none) && text(&none).contains("pending review"),
        "{}",
        text(&none)
    );
}

#[tokio::test]
async fn a_read_only_users_write_fails_clearly_and_changes_nothing() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let carol = server.connect(&[("x-github-token", CAROL)], None).await;
    let before = call(
        &carol,
        "fetch_pr_review_comments",
        json!({"pr_url": "acme/widgets#7", "output": "json"}),
        None,
    )
    .await;
    let root = structured(&before)["threads"][0]["comments"][0]["id"]
        .as_u64()
        .unwrap();
    let reply = call(
        &carol,
        "reply_to_review_comment",
        json!({"pr_url": "acme/widgets#7", "comment_id": root, "body": "Me too"}),
        None,
    )
    .await;
    assert!(is_error(&reply));
    assert!(
        text(&reply).contains("403") && text(&reply).contains("Resource not accessible"),
        "{}",
        text(&reply)
    );
    let thread = structured(&before)["threads"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resolve = call(
        &carol,
        "resolve_review_thread",
        json!({"thread_id": thread}),
        None,
    )
    .await;
    assert!(is_error(&resolve), "{}", text(&resolve));
    let after = call(
        &carol,
        "fetch_pr_review_comments",
        json!({"pr_url": "acme/widgets#7", "output": "json"}),
        None,
    )
    .await;
    assert_eq!(structured(&before), structured(&after), "nothing changed");
    assert!(double
        .requests()
        .await
        .iter()
        .all(|e| e["writes"].as_u64().unwrap_or(0) == 0));
}

#[tokio::test]
async fn bad_write_input_is_refused_before_github_is_asked() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let alice = server.connect(&[("x-github-token", ALICE)], None).await;
    double.clear_requests().await;
    for (tool, args, says) in [
        (
            "reply_to_review_comment",
            json!({"pr_url": "acme/widgets#7", "comment_id": 1, "body": "  "}),
            "must not be empty",
        ),
        (
            "create_pr_review",
            json!({"pr_url": "acme/widgets#7", "event": "REQUEST_CHANGES"}),
            "needs a body",
        ),
        (
            "create_pr_review",
            json!({"pr_url": "acme/widgets#7", "event": "COMMENT", "comments": [{"path": "a", "line": 3, "start_line": 9, "body": "x"}]}),
            "must be before",
        ),
        (
            "resolve_review_thread",
            json!({"thread_id": "x\ny"}),
            "thread_id",
        ),
        (
            "add_issue_comment",
            json!({"pr_url": "acme/widgets#7", "body": "x".repeat(70_000)}),
            "at most 65536",
        ),
    ] {
        let result = call(&alice, tool, args, None).await;
        assert!(
            is_error(&result) && text(&result).contains(says),
            "{tool}: {}",
            text(&result)
        );
    }
    assert!(double.requests().await.is_empty());
}

#[tokio::test]
async fn pull_request_details_and_checks_are_summarised() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let bob = server.connect(&[("x-github-token", BOB)], None).await;
    let pr = call(
        &bob,
        "get_pull_request",
        json!({"pr_url": "acme/widgets#7", "include_patch": true, "max_patch_bytes": 40}),
        None,
    )
    .await;
    assert!(!is_error(&pr), "{}", text(&pr));
    let v = structured(&pr);
    assert_eq!(v["title"], "Add the frobnicator");
    assert_eq!(v["requested_reviewers"], json!(["bob"]));
    assert_eq!(v["files"].as_array().unwrap().len(), 3);
    assert_eq!(v["files"][0]["patch_truncated"], json!(true));
    assert!(v["files"][0]["patch"].as_str().unwrap().len() <= 40);
    assert!(text(&pr).contains("## Files (3 changed"), "{}", text(&pr));
    let checks = call(
        &bob,
        "get_pr_checks",
        json!({"pr_url": "acme/widgets#7"}),
        None,
    )
    .await;
    let c = structured(&checks);
    assert_eq!(
        (
            c["overall"].as_str(),
            c["passed"].as_u64(),
            c["failed"].as_u64(),
            c["pending"].as_u64()
        ),
        (Some("failure"), Some(1), Some(1), Some(1)),
        "{c}"
    );
    assert!(
        text(&checks).contains("check test: failure — 2 tests failed"),
        "{}",
        text(&checks)
    );
}

#[tokio::test]
async fn read_only_mode_and_narrowing_decide_what_can_be_listed_and_called() {
    let double = Double::start().await;
    let server = HttpServer::start(
        &double,
        ServerOptions {
            args: &["--read-only"],
            ..Default::default()
        },
    )
    .await;
    let alice = server.connect(&[("x-github-token", ALICE)], None).await;
    let names: Vec<String> = alice
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    let mut reads: Vec<&str> = github_review_mcp::tools::catalog::CATALOG
        .iter()
        .filter(|t| t.access == github_review_mcp::tools::catalog::Access::Read)
        .map(|t| t.name)
        .collect();
    reads.sort_unstable();
    let mut listed: Vec<&str> = names.iter().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(listed, reads, "--read-only lists exactly the read tools");
    assert!(!names
        .iter()
        .any(|n| n.contains("reply") || n.contains("create")));
    let err = try_call(
        &alice,
        "reply_to_review_comment",
        json!({"pr_url": "acme/widgets#7", "comment_id": 1, "body": "x"}),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not available"), "{err}");
    // A request can narrow further but never widen.
    let narrow = server
        .connect(
            &[
                ("x-github-token", ALICE),
                ("x-mcp-tools", "whoami,reply_to_review_comment"),
                ("x-mcp-readonly", "false"),
            ],
            None,
        )
        .await;
    let names: Vec<String> = narrow
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    assert_eq!(names, ["whoami"]);
    assert!(try_call(
        &narrow,
        "fetch_pr_review_comments",
        json!({"pr_url": "acme/widgets#7"}),
        None
    )
    .await
    .is_err());

    let open = HttpServer::start(
        &double,
        ServerOptions {
            args: &["--tools", "whoami,add_issue_comment"],
            ..Default::default()
        },
    )
    .await;
    let client = open
        .connect(
            &[("x-github-token", ALICE), ("x-mcp-readonly", "true")],
            None,
        )
        .await;
    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    assert_eq!(names, ["whoami"]);
}

#[tokio::test]
async fn an_unknown_tool_in_the_tools_flag_stops_start_up() {
    let out = tokio::process::Command::new(server_bin())
        .env_clear()
        .args(["stdio", "--tools", "whoami,frobnicate"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"frobnicate\"")
            && err.contains("fetch_pr_review_comments")
            && err.lines().count() == 1,
        "{err}"
    );
}

/// The composite writes: reply and resolve in one call, and many threads at once,
/// each outcome reported and a partial failure never hidden.
#[tokio::test]
async fn reply_and_resolve_and_resolving_many_report_every_outcome() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let alice = server.connect(&[("x-github-token", ALICE)], None).await;
    let pr = "acme/widgets#7";
    let open = call(
        &alice,
        "list_review_threads",
        json!({"pr_url": pr, "is_resolved": false}),
        None,
    )
    .await;
    let threads = structured(&open)["threads"].as_array().unwrap().clone();
    let (first, second) = (&threads[0], &threads[1]);
    let first_id = s(first, "id");
    let comment = first["first_comment"]["id"].as_u64().unwrap();

    let done = call(
        &alice,
        "reply_and_resolve",
        json!({"pr_url": pr, "comment_id": comment, "thread_id": first_id, "body": "Fixed in 9f8e7d."}),
        None,
    )
    .await;
    assert!(!is_error(&done), "{}", text(&done));
    let v = structured(&done);
    assert_eq!(v["reply"]["in_reply_to_id"].as_u64(), Some(comment));
    assert_eq!(v["resolution"]["is_resolved"], true);
    assert!(v["error"].is_null());
    assert!(
        text(&done).contains("Replied") && text(&done).contains("is resolved"),
        "{}",
        text(&done)
    );

    // The reply lands, the resolve does not (a thread id GitHub does not know): the
    // reply is reported, the failure named, the result an error.
    let partial = call(
        &alice,
        "reply_and_resolve",
        json!({"pr_url": pr, "comment_id": comment, "thread_id": "PRRT_doesnotexist", "body": "One more note."}),
        None,
    )
    .await;
    assert!(is_error(&partial), "{}", text(&partial));
    let v = structured(&partial);
    assert!(v["reply"]["id"].as_u64().is_some(), "the reply stands: {v}");
    assert!(v["resolution"].is_null());
    assert!(
        s(v, "error")
            .contains("the reply was posted, but resolving thread PRRT_doesnotexist failed"),
        "{v}"
    );

    // A reply that fails resolves nothing.
    let refused = call(
        &alice,
        "reply_and_resolve",
        json!({"pr_url": pr, "comment_id": 999_999_999u64, "thread_id": s(second, "id"), "body": "x"}),
        None,
    )
    .await;
    assert!(
        is_error(&refused) && text(&refused).contains("the thread was not resolved"),
        "{}",
        text(&refused)
    );
    let still_open = call(
        &alice,
        "list_review_threads",
        json!({"pr_url": pr, "is_resolved": false}),
        None,
    )
    .await;
    assert!(text(&still_open).contains(&s(second, "id")));

    // Many at once: one unknown id fails, the others change, each is reported.
    let second_id = s(second, "id");
    let many = call(
        &alice,
        "resolve_review_threads",
        json!({"thread_ids": [first_id, "PRRT_doesnotexist", second_id]}),
        None,
    )
    .await;
    assert!(
        is_error(&many),
        "a partial failure is an error: {}",
        text(&many)
    );
    let v = structured(&many);
    assert_eq!(
        (v["succeeded"].as_u64(), v["failed"].as_u64()),
        (Some(2), Some(1)),
        "{v}"
    );
    let outcomes = v["threads"].as_array().unwrap();
    assert_eq!(outcomes[1]["thread_id"], "PRRT_doesnotexist");
    assert!(
        outcomes[1]["error"].is_string() && outcomes[2]["resolution"]["is_resolved"] == true,
        "{v}"
    );
    assert!(text(&many).contains("FAILED"), "{}", text(&many));
    let reopened = call(
        &alice,
        "resolve_review_threads",
        json!({"thread_ids": [second_id], "resolve": false}),
        None,
    )
    .await;
    assert!(!is_error(&reopened), "{}", text(&reopened));
    assert_eq!(
        structured(&reopened)["threads"][0]["resolution"]["is_resolved"],
        false
    );
    let too_many: Vec<String> = (0..51).map(|i| format!("PRRT_{i}")).collect();
    let refused = call(
        &alice,
        "resolve_review_threads",
        json!({"thread_ids": too_many}),
        None,
    )
    .await;
    assert!(
        is_error(&refused) && text(&refused).contains("1 to 50"),
        "{}",
        text(&refused)
    );
    let writes: u64 = double
        .requests()
        .await
        .iter()
        .filter_map(|r| r["writes"].as_u64())
        .sum();
    assert!(writes >= 6, "the double saw the writes: {writes}");
}
