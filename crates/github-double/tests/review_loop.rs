//! Issue 14's deeper review loop: bot authors, editing and deleting review
//! comments (pending ones too), file-level comments, and a push that outdates
//! threads and drops pending comments at submit.

mod common;

use common::*;
use github_double::seed::{SeedComment, SeedFile, SeedPull, SeedRepo, SeedThread, SeedUser};
use github_double::{DoubleConfig, Running, World};
use serde_json::{json, Value};

const PR: &str = "/repos/acme/loop/pulls/3";
/// Two hunks on the new side: lines 1..=4 and 21..=23.
const LIB_PATCH: &str = "@@ -1,3 +1,4 @@\n a\n+b\n c\n d\n@@ -20,2 +21,3 @@\n x\n+y\n z";

/// The common seed plus `acme/loop` (private; alice and dave write, bob reads) whose
/// PR #3 has a thread started by `coderabbitai[bot]`, one by the Copilot reviewer
/// (declared `"type": "Bot"` without the suffix) and one by alice.
fn loop_seed() -> github_double::Seed {
    let mut s = seed();
    s.users.push(SeedUser {
        login: "copilot-pull-request-reviewer".into(),
        kind: Some("Bot".into()),
        ..SeedUser::default()
    });
    let thread = |path: &str, line: u64, comments: Vec<(&str, &str)>| SeedThread {
        path: path.into(),
        line: Some(line),
        side: "RIGHT".into(),
        diff_hunk: "@@ -1,3 +1,4 @@\n a\n+b".into(),
        comments: comments
            .into_iter()
            .map(|(author, body)| SeedComment {
                author: author.into(),
                body: body.into(),
                created_at: Some("2026-02-01T00:00:00Z".into()),
                id: None,
            })
            .collect(),
        ..SeedThread::default()
    };
    s.repos.push(SeedRepo {
        owner: "acme".into(),
        name: "loop".into(),
        private: true,
        default_branch: "main".into(),
        readers: vec!["bob".into()],
        writers: vec!["alice".into(), "dave".into()],
        pulls: vec![SeedPull {
            number: 3,
            title: "Loop".into(),
            author: "alice".into(),
            state: "open".into(),
            base: "main".into(),
            head: "loop".into(),
            files: vec![
                SeedFile {
                    filename: "src/lib.rs".into(),
                    status: "modified".into(),
                    additions: 2,
                    deletions: 0,
                    patch: Some(LIB_PATCH.into()),
                    previous_filename: None,
                },
                SeedFile {
                    filename: "README.md".into(),
                    status: "modified".into(),
                    additions: 1,
                    deletions: 0,
                    patch: Some("@@ -1,2 +1,3 @@\n # Loop\n+More.\n end".into()),
                    previous_filename: None,
                },
            ],
            threads: vec![
                thread(
                    "src/lib.rs",
                    2,
                    vec![
                        (
                            "coderabbitai[bot]",
                            "_⚠️ Potential issue_\n\n**Off by one.**",
                        ),
                        ("alice", "Fixed."),
                    ],
                ),
                thread(
                    "src/lib.rs",
                    22,
                    vec![("copilot-pull-request-reviewer", "Use `y`.")],
                ),
                thread("README.md", 2, vec![("alice", "Typo?")]),
            ],
            ..SeedPull::default()
        }],
        ..SeedRepo::default()
    });
    s
}

async fn start_loop() -> Running {
    let world = World::from_seed(&loop_seed()).expect("seed loads");
    github_double::start(
        world,
        DoubleConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("double starts")
}

const THREADS: &str = r#"query($first: Int = 50) {
  repository(owner: "acme", name: "loop") { pullRequest(number: 3) {
    reviewThreads(first: $first) { totalCount nodes {
      id path line startLine originalLine isOutdated subjectType
      comments(first: 20) { nodes { id fullDatabaseId body state
        author { __typename login ... on Bot { id url } ... on User { name } } } } } } } } }"#;

async fn threads(d: &Running, token: &str) -> (u64, Vec<Value>) {
    let (s, body) = graphql(d, Some(token), THREADS, json!({})).await;
    assert_eq!(s, 200);
    assert!(body.get("errors").is_none(), "{body}");
    let conn = &body["data"]["repository"]["pullRequest"]["reviewThreads"];
    (
        conn["totalCount"].as_u64().unwrap(),
        conn["nodes"].as_array().unwrap().clone(),
    )
}

async fn rest_comments(d: &Running, token: &str) -> Vec<Value> {
    let (s, list) = send(
        d,
        "GET",
        Some(token),
        &format!("{PR}/comments"),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    list.as_array().unwrap().clone()
}

fn by_body<'a>(list: &'a [Value], body: &str) -> &'a Value {
    list.iter()
        .find(|c| c["body"].as_str().unwrap().starts_with(body))
        .unwrap_or_else(|| panic!("no comment {body:?} in {list:?}"))
}

async fn head_sha(d: &Running) -> String {
    let (_, pull) = send(d, "GET", Some(ALICE), PR, Value::Null).await;
    pull["head"]["sha"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn bots_are_bots_with_the_suffix_in_rest_and_without_it_in_graphql() {
    let d = start_loop().await;
    let list = rest_comments(&d, ALICE).await;
    let rabbit = &by_body(&list, "_⚠️")["user"];
    assert_eq!(rabbit["login"], "coderabbitai[bot]");
    assert_eq!(rabbit["type"], "Bot");
    assert!(rabbit["html_url"]
        .as_str()
        .unwrap()
        .ends_with("/apps/coderabbitai"));
    assert!(rabbit["url"]
        .as_str()
        .unwrap()
        .ends_with("/users/coderabbitai%5Bbot%5D"));
    assert!(rabbit["node_id"].as_str().unwrap().starts_with("BOT_"));
    // Declared `"type": "Bot"` without the suffix: REST adds it.
    let copilot = &by_body(&list, "Use `y`")["user"];
    assert_eq!(copilot["login"], "copilot-pull-request-reviewer[bot]");
    assert_eq!(copilot["type"], "Bot");
    let alice = &by_body(&list, "Fixed.")["user"];
    assert_eq!(
        (&alice["login"], &alice["type"]),
        (&json!("alice"), &json!("User"))
    );

    let (_, nodes) = threads(&d, ALICE).await;
    let author = |t: usize, c: usize| nodes[t]["comments"]["nodes"][c]["author"].clone();
    assert_eq!(author(0, 0)["__typename"], "Bot");
    assert_eq!(author(0, 0)["login"], "coderabbitai");
    assert!(author(0, 0)["url"]
        .as_str()
        .unwrap()
        .ends_with("/apps/coderabbitai"));
    assert!(
        author(0, 0).get("name").is_none(),
        "User fields stay off a Bot"
    );
    assert_eq!(author(0, 1)["__typename"], "User");
    assert_eq!(author(0, 1)["login"], "alice");
    assert_eq!(author(1, 0)["login"], "copilot-pull-request-reviewer");
    // The bot is a node of its own type.
    let (_, body) = graphql(
        &d,
        Some(ALICE),
        "query($id: ID!) { node(id: $id) { __typename ... on Actor { login } } }",
        json!({"id": author(0, 0)["id"]}),
    )
    .await;
    assert_eq!(
        body["data"]["node"],
        json!({"__typename": "Bot", "login": "coderabbitai"})
    );
}

#[tokio::test]
async fn authors_and_writers_edit_and_delete_comments_others_cannot() {
    let d = start_loop().await;
    let list = rest_comments(&d, ALICE).await;
    let fixed = by_body(&list, "Fixed.")["id"].as_u64().unwrap();
    let url = format!("/repos/acme/loop/pulls/comments/{fixed}");
    let first = client()
        .get(format!("{}{url}", d.base_url()))
        .header("Authorization", format!("token {ALICE}"))
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();

    let edit = json!({"body": "Fixed in abc123."});
    // Refusals change nothing: reader 403, outsider 404, anonymous 401, blank 422.
    assert_eq!(
        send(&d, "PATCH", Some(BOB), &url, edit.clone()).await.0,
        403
    );
    assert_eq!(
        send(&d, "PATCH", Some(CAROL), &url, edit.clone()).await.0,
        404
    );
    assert_eq!(send(&d, "PATCH", None, &url, edit.clone()).await.0, 401);
    let (s, err) = send(&d, "PATCH", Some(ALICE), &url, json!({"body": " "})).await;
    assert_eq!((s, &err["errors"][0]), (422, &json!("Body can't be blank")));
    assert_eq!(send(&d, "PATCH", Some(ALICE), &url, json!({})).await.0, 422);
    assert_eq!(
        send(&d, "DELETE", Some(BOB), &url, Value::Null).await.0,
        403
    );

    let (s, c) = send(&d, "PATCH", Some(ALICE), &url, edit.clone()).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["body"], "Fixed in abc123.");
    assert_eq!(c["id"], fixed);
    assert_ne!(c["updated_at"], c["created_at"]);
    // The old ETag no longer matches: the edit shows.
    let again = client()
        .get(format!("{}{url}", d.base_url()))
        .header("Authorization", format!("token {ALICE}"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["body"], "Fixed in abc123.");
    let writes: Vec<u64> = log(&d)
        .await
        .iter()
        .filter(|e| e["method"] == "PATCH" || e["method"] == "DELETE")
        .map(|e| e["writes"].as_u64().unwrap())
        .collect();
    assert_eq!(writes, [0, 0, 0, 0, 0, 0, 1]);

    // GitHub lets people with write access edit others' comments (dave, a writer,
    // edits the bot's), and GraphQL sees the edit.
    let rabbit = by_body(&list, "_⚠️")["id"].as_u64().unwrap();
    let (s, _) = send(
        &d,
        "PATCH",
        Some(DAVE),
        &format!("/repos/acme/loop/pulls/comments/{rabbit}"),
        json!({"body": "edited by dave"}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, nodes) = threads(&d, ALICE).await;
    assert_eq!(nodes[0]["comments"]["nodes"][0]["body"], "edited by dave");

    // Deleting the first comment of a two-comment thread keeps the thread; the
    // reply now starts it.
    let (s, body) = send(
        &d,
        "DELETE",
        Some(DAVE),
        &format!("/repos/acme/loop/pulls/comments/{rabbit}"),
        Value::Null,
    )
    .await;
    assert_eq!((s, body), (204, Value::Null));
    let (total, nodes) = threads(&d, ALICE).await;
    assert_eq!(total, 3);
    assert_eq!(nodes[0]["comments"]["nodes"].as_array().unwrap().len(), 1);
    let (_, c) = send(&d, "GET", Some(ALICE), &url, Value::Null).await;
    assert!(c.get("in_reply_to_id").is_none(), "{c}");
    // Deleting the only comment of a thread removes the thread.
    let readme = by_body(&list, "Typo?")["id"].as_u64().unwrap();
    let path = format!("/repos/acme/loop/pulls/comments/{readme}");
    assert_eq!(
        send(&d, "DELETE", Some(ALICE), &path, Value::Null).await.0,
        204
    );
    assert_eq!(
        send(&d, "GET", Some(ALICE), &path, Value::Null).await.0,
        404
    );
    assert_eq!(
        send(&d, "DELETE", Some(ALICE), &path, Value::Null).await.0,
        404
    );
    assert_eq!(threads(&d, ALICE).await.0, 2);
}

#[tokio::test]
async fn pending_comments_are_their_authors_alone_to_see_edit_and_delete() {
    let d = start_loop().await;
    let (s, review) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews"),
        json!({"comments": [{"path": "src/lib.rs", "line": 3, "body": "draft"}]}),
    )
    .await;
    assert_eq!((s, &review["state"]), (200, &json!("PENDING")));
    let rid = review["id"].as_u64().unwrap();
    // One pending review per user, REST and GraphQL alike.
    let (s, err) = send(&d, "POST", Some(DAVE), &format!("{PR}/reviews"), json!({})).await;
    assert_eq!(
        (s, &err["errors"][0]),
        (
            422,
            &json!("User can only have one pending review per pull request")
        )
    );
    let (_, pr) = graphql(
        &d,
        Some(DAVE),
        r#"{ repository(owner: "acme", name: "loop") { pullRequest(number: 3) { id } } }"#,
        json!({}),
    )
    .await;
    let pr_id = pr["data"]["repository"]["pullRequest"]["id"].clone();
    let (_, body) = graphql(
        &d,
        Some(DAVE),
        "mutation($pr: ID!) { addPullRequestReviewThread(input: {pullRequestId: $pr, path: \"README.md\", line: 2, body: \"second\"}) { thread { comments(first: 1) { nodes { pullRequestReview { fullDatabaseId state } } } } } }",
        json!({"pr": pr_id}),
    )
    .await;
    assert_eq!(
        body["data"]["addPullRequestReviewThread"]["thread"]["comments"]["nodes"][0]
            ["pullRequestReview"],
        json!({"fullDatabaseId": rid.to_string(), "state": "PENDING"}),
        "joins the pending review instead of making a second: {body}"
    );

    let reviews = |token| {
        let d = &d;
        async move {
            let (_, list) =
                send(d, "GET", Some(token), &format!("{PR}/reviews"), Value::Null).await;
            list.as_array()
                .unwrap()
                .iter()
                .filter(|v| v["state"] == "PENDING")
                .count()
        }
    };
    assert_eq!(reviews(DAVE).await, 1);
    assert_eq!(reviews(ALICE).await, 0);
    let comments_url = format!("{PR}/reviews/{rid}/comments");
    let (s, mine) = send(&d, "GET", Some(DAVE), &comments_url, Value::Null).await;
    assert_eq!(s, 200);
    let bodies: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["draft", "second"]);
    assert_eq!(
        send(&d, "GET", Some(ALICE), &comments_url, Value::Null)
            .await
            .0,
        404
    );

    let draft = mine[0]["id"].as_u64().unwrap();
    let url = format!("/repos/acme/loop/pulls/comments/{draft}");
    // Invisible to alice, a writer: 404, not 403.
    assert_eq!(
        send(&d, "PATCH", Some(ALICE), &url, json!({"body": "x"}))
            .await
            .0,
        404
    );
    assert_eq!(
        send(&d, "DELETE", Some(ALICE), &url, Value::Null).await.0,
        404
    );
    let (s, c) = send(&d, "PATCH", Some(DAVE), &url, json!({"body": "draft v2"})).await;
    assert_eq!((s, &c["body"]), (200, &json!("draft v2")));
    assert_eq!(
        send(&d, "DELETE", Some(DAVE), &url, Value::Null).await.0,
        204
    );
    let (_, mine) = send(&d, "GET", Some(DAVE), &comments_url, Value::Null).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    // Its thread went with it; the review is still pending.
    assert_eq!(threads(&d, DAVE).await.0, 4);
    assert_eq!(reviews(DAVE).await, 1);
}

#[tokio::test]
async fn graphql_edits_and_deletes_comments_with_githubs_errors() {
    let d = start_loop().await;
    let (_, nodes) = threads(&d, ALICE).await;
    let fixed = nodes[0]["comments"]["nodes"][1]["id"].clone();
    const UPDATE: &str = "mutation($id: ID!, $body: String!) { updatePullRequestReviewComment(input: {pullRequestReviewCommentId: $id, body: $body}) { pullRequestReviewComment { body lastEditedAt } } }";
    let (_, body) = graphql(&d, Some(BOB), UPDATE, json!({"id": fixed, "body": "x"})).await;
    assert_eq!(
        body["data"],
        json!({"updatePullRequestReviewComment": null})
    );
    assert_eq!(body["errors"][0]["type"], "FORBIDDEN");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["updatePullRequestReviewComment"])
    );
    let (_, body) = graphql(&d, Some(CAROL), UPDATE, json!({"id": fixed, "body": "x"})).await;
    assert_eq!(body["errors"][0]["type"], "NOT_FOUND");
    let (_, body) = graphql(&d, Some(ALICE), UPDATE, json!({"id": fixed, "body": "new"})).await;
    let c = &body["data"]["updatePullRequestReviewComment"]["pullRequestReviewComment"];
    assert_eq!(c["body"], "new");
    assert!(c["lastEditedAt"].is_string(), "{body}");

    const DELETE: &str = "mutation($id: ID!) { deletePullRequestReviewComment(input: {id: $id}) { pullRequestReviewComment { body } pullRequestReview { state } } }";
    let (_, body) = graphql(&d, Some(ALICE), DELETE, json!({"id": fixed})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let p = &body["data"]["deletePullRequestReviewComment"];
    assert_eq!(p["pullRequestReviewComment"]["body"], "new");
    assert_eq!(p["pullRequestReview"]["state"], "COMMENTED");
    let (_, body) = graphql(&d, Some(ALICE), DELETE, json!({"id": fixed})).await;
    assert_eq!(body["errors"][0]["type"], "NOT_FOUND");
    let (_, nodes) = threads(&d, ALICE).await;
    assert_eq!(nodes[0]["comments"]["nodes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn file_level_comments_have_no_line_and_need_a_changed_path() {
    let d = start_loop().await;
    let sha = head_sha(&d).await;
    let url = format!("{PR}/comments");
    let (s, c) = send(
        &d,
        "POST",
        Some(DAVE),
        &url,
        json!({"body": "Split this file?", "commit_id": sha, "path": "src/lib.rs", "subject_type": "file"}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["subject_type"], "file");
    assert!(c.get("line").is_none() && c["start_line"].is_null(), "{c}");
    assert_eq!(c["commit_id"], sha);
    let (s, c) = send(
        &d,
        "POST",
        Some(DAVE),
        &url,
        json!({"body": "Here.", "commit_id": sha, "path": "src/lib.rs", "line": 22, "start_line": 21}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(
        (&c["subject_type"], &c["line"], &c["start_line"]),
        (&json!("line"), &json!(22), &json!(21))
    );
    // A reply through `in_reply_to`.
    let (s, r) = send(
        &d,
        "POST",
        Some(ALICE),
        &url,
        json!({"body": "Sure.", "commit_id": sha, "path": "ignored", "in_reply_to": c["id"]}),
    )
    .await;
    assert_eq!((s, &r["in_reply_to_id"]), (201, &c["id"]));

    let refusals = [
        (
            json!({"body": "b", "commit_id": sha, "path": "nope.rs", "subject_type": "file"}),
            "Path could not be resolved",
        ),
        (
            json!({"body": "b", "commit_id": sha, "path": "src/lib.rs", "line": 10}),
            "pull_request_review_thread.line must be part of the diff",
        ),
        (
            json!({"body": "b", "commit_id": sha, "path": "src/lib.rs", "line": 22, "start_line": 2}),
            "pull_request_review_thread.start_line must be part of the same hunk as the line.",
        ),
        (
            json!({"body": "b", "commit_id": sha, "path": "src/lib.rs"}),
            "Line could not be resolved",
        ),
        (
            json!({"body": "b", "commit_id": "0".repeat(40), "path": "src/lib.rs", "line": 2}),
            "pull_request_review_thread.commit_id is not part of the pull request",
        ),
    ];
    for (body, msg) in refusals {
        let (s, err) = send(&d, "POST", Some(DAVE), &url, body.clone()).await;
        assert_eq!(
            (s, &err["errors"][0]["message"]),
            (422, &json!(msg)),
            "{body}"
        );
        assert_eq!(err["message"], "Validation Failed");
        assert_eq!(err["errors"][0]["resource"], "PullRequestReviewComment");
    }
    let (s, err) = send(
        &d,
        "POST",
        Some(DAVE),
        &url,
        json!({"body": "b", "path": "src/lib.rs"}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("\"commit_id\" wasn't supplied"));
    assert_eq!(
        send(
            &d,
            "POST",
            Some(BOB),
            &url,
            json!({"body": "b", "commit_id": sha, "path": "src/lib.rs", "line": 2})
        )
        .await
        .0,
        403
    );
    assert_eq!(threads(&d, ALICE).await.0, 5, "refusals made no thread");

    // GraphQL: a FILE thread on a pending review.
    const ADD: &str = "mutation($pr: ID!, $path: String!, $line: Int, $start: Int, $subject: PullRequestReviewThreadSubjectType) { addPullRequestReviewThread(input: {pullRequestId: $pr, path: $path, line: $line, startLine: $start, subjectType: $subject, body: \"b\"}) { thread { path line startLine originalLine isOutdated subjectType } } }";
    let (_, pr) = graphql(
        &d,
        Some(DAVE),
        r#"{ repository(owner: "acme", name: "loop") { pullRequest(number: 3) { id } } }"#,
        json!({}),
    )
    .await;
    let pr_id = pr["data"]["repository"]["pullRequest"]["id"].clone();
    let add = |path: &'static str, line: Value, start: Value, subject: Value| {
        let d = &d;
        let pr_id = pr_id.clone();
        async move {
            graphql(d, Some(DAVE), ADD, json!({"pr": pr_id, "path": path, "line": line, "start": start, "subject": subject}))
                .await
                .1
        }
    };
    let body = add("README.md", Value::Null, Value::Null, json!("FILE")).await;
    assert_eq!(
        body["data"]["addPullRequestReviewThread"]["thread"],
        json!({"path": "README.md", "line": null, "startLine": null, "originalLine": null,
               "isOutdated": false, "subjectType": "FILE"}),
        "{body}"
    );
    let body = add("nope.rs", Value::Null, Value::Null, json!("FILE")).await;
    assert_eq!(body["data"], json!({"addPullRequestReviewThread": null}));
    assert_eq!(body["errors"][0]["type"], "UNPROCESSABLE");
    assert_eq!(body["errors"][0]["message"], "Path could not be resolved");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["addPullRequestReviewThread"])
    );
    // Off the diff, or a start line in another hunk: GitHub answers no thread and
    // no error.
    for (line, start) in [(json!(10), Value::Null), (json!(22), json!(2))] {
        let body = add("src/lib.rs", line, start, Value::Null).await;
        assert!(body.get("errors").is_none(), "{body}");
        assert_eq!(
            body["data"]["addPullRequestReviewThread"],
            json!({"thread": null})
        );
    }
    assert_eq!(
        threads(&d, DAVE).await.0,
        6,
        "only the FILE thread was added"
    );
}

#[tokio::test]
async fn a_push_outdates_threads_and_drops_pending_comments_off_the_diff_at_submit() {
    let d = start_loop().await;
    let old_sha = head_sha(&d).await;
    let (s, _) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews"),
        json!({"comments": [
            {"path": "src/lib.rs", "line": 3, "body": "will vanish"},
            {"path": "src/lib.rs", "line": 22, "body": "stays"},
            {"path": "README.md", "body": "readme stays", "line": 2}]}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, before) = threads(&d, ALICE).await;
    let etag = {
        let r = client()
            .get(format!("{}{PR}/comments", d.base_url()))
            .header("Authorization", format!("token {ALICE}"))
            .send()
            .await
            .unwrap();
        r.headers()["etag"].to_str().unwrap().to_string()
    };

    // The push keeps only the second hunk of src/lib.rs.
    let push = client()
        .post(format!("{}/_double/pulls/acme/loop/3/files", d.base_url()))
        .json(&json!({"files": [{"filename": "src/lib.rs", "patch": "@@ -20,2 +21,3 @@\n x\n+y\n z"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 200);
    let push: Value = push.json().await.unwrap();
    let new_sha = push["head_sha"].as_str().unwrap().to_string();
    assert_ne!(new_sha, old_sha);
    assert_eq!(head_sha(&d).await, new_sha);
    // The bot's thread on line 2 is outdated now (alice cannot see dave's pending one).
    assert_eq!(push["outdated"].as_array().unwrap().len(), 2);
    assert!(push["outdated"]
        .as_array()
        .unwrap()
        .contains(&before[0]["id"]));

    let (_, nodes) = threads(&d, ALICE).await;
    assert_eq!(
        (
            &nodes[0]["isOutdated"],
            &nodes[0]["line"],
            &nodes[0]["originalLine"]
        ),
        (&json!(true), &Value::Null, &json!(2))
    );
    assert_eq!(
        (&nodes[1]["isOutdated"], &nodes[1]["line"]),
        (&json!(false), &json!(22))
    );
    assert_eq!(nodes[2]["isOutdated"], false, "README.md did not change");
    // REST: the cached list was invalidated; the outdated comment keeps its commit.
    let r = client()
        .get(format!("{}{PR}/comments", d.base_url()))
        .header("Authorization", format!("token {ALICE}"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list: Vec<Value> = r.json().await.unwrap();
    let rabbit = by_body(&list, "_⚠️");
    assert!(rabbit.get("line").is_none() && rabbit.get("position").is_none());
    assert_eq!(rabbit["original_line"], 2);
    assert_eq!(rabbit["original_commit_id"], old_sha);
    assert_eq!(by_body(&list, "Use `y`")["commit_id"], new_sha);
    // The new head takes comments; the old one is still a commit of the PR.
    let (_, files) = send(&d, "GET", Some(ALICE), &format!("{PR}/files"), Value::Null).await;
    assert_eq!(files[0]["additions"], 1);

    // Submitting: the comment whose line left the diff is dropped, silently.
    let (_, reviews) = send(&d, "GET", Some(DAVE), &format!("{PR}/reviews"), Value::Null).await;
    let rid = reviews
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["state"] == "PENDING")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let (s, v) = send(
        &d,
        "POST",
        Some(DAVE),
        &format!("{PR}/reviews/{rid}/events"),
        json!({"event": "COMMENT", "body": "done"}),
    )
    .await;
    assert_eq!((s, &v["state"]), (200, &json!("COMMENTED")));
    let (_, submitted) = send(
        &d,
        "GET",
        Some(ALICE),
        &format!("{PR}/reviews/{rid}/comments"),
        Value::Null,
    )
    .await;
    let bodies: Vec<&str> = submitted
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["stays", "readme stays"]);
    assert_eq!(threads(&d, ALICE).await.0, 5);

    // Bad control requests are 400 and change nothing.
    for (path, body) in [
        ("/_double/pulls/acme/nope/3/files", json!({"files": []})),
        ("/_double/pulls/acme/loop/99/files", json!({"files": []})),
        (
            "/_double/pulls/acme/loop/3/files",
            json!({"files": [], "head_sha": "xyz"}),
        ),
        ("/_double/pulls/acme/loop/3/files", json!({"patch": "x"})),
    ] {
        let r = client()
            .post(format!("{}{path}", d.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path} {body}");
    }
    assert_eq!(head_sha(&d).await, new_sha);
}

/// The bot-reviewed pull request of the server's fixture (`acme/widgets#11`) and of
/// the demo (`octo-org/hello-world#43`), as the double's README describes it.
#[tokio::test]
async fn the_seeded_bot_pull_requests_have_bots_resolved_and_outdated_threads() {
    for (file, owner, repo, number) in [
        (
            "../github-review-mcp/tests/fixtures/seed.json",
            "acme",
            "widgets",
            11,
        ),
        (
            "../../examples/demo-seed.json",
            "octo-org",
            "hello-world",
            43,
        ),
        ("../../tests/fidelity/seed.json", "acme", "widgets", 11),
    ] {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let seed: github_double::Seed =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let w = World::from_seed(&seed).unwrap_or_else(|e| panic!("{file}: {e}"));
        let ri = w.repo(owner, repo).unwrap();
        let pull = &w.repos[ri].pulls[w.repos[ri].pull_by_number[&number]];
        let login = |t: usize| &w.users[pull.threads[t].comments[0].author];
        let firsts: Vec<(&str, bool)> = (0..pull.threads.len())
            .map(|t| (login(t).login.as_str(), login(t).bot))
            .collect();
        assert_eq!(
            firsts[..5],
            [
                ("coderabbitai[bot]", true),
                ("coderabbitai[bot]", true),
                ("copilot-pull-request-reviewer[bot]", true),
                ("gemini-code-assist[bot]", true),
                ("coderabbitai[bot]", true),
            ],
            "{file}"
        );
        assert!(!firsts[5].1, "{file}: a person's file comment");
        assert!(pull.threads[0].is_resolved && !pull.threads[1].is_resolved);
        assert!(pull.threads[4].is_outdated && pull.threads[4].line.is_none());
        assert!(pull.threads[5].file_level);
        assert_eq!(pull.threads[0].comments[0].id, 2_600_000_001);
        assert!(pull.threads[0].comments[0]
            .body
            .contains("In src/parser.rs around lines 10 to 14,"));
        // Every line thread that is not outdated is anchored in its file's diff.
        for t in pull
            .threads
            .iter()
            .filter(|t| !t.is_outdated && !t.file_level)
        {
            let file = pull.files.iter().find(|f| f.filename == t.path).unwrap();
            let start = t.start_line.map(|s| (t.side, s));
            github_double::world::anchor(file, t.side, t.line.unwrap(), start)
                .unwrap_or_else(|e| panic!("{file:?} {}: {e}", t.path));
        }
    }
}
