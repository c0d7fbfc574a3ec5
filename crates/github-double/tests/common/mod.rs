//! Shared helpers: start a double in-process on 127.0.0.1:0 and talk to it.
#![allow(dead_code)]

use github_double::seed::{
    GenerateSpec, SeedAnnotation, SeedCheck, SeedCheckOutput, SeedComment, SeedIssueComment,
    SeedPull, SeedRepo, SeedStatus, SeedThread, SeedUser,
};
use github_double::{DoubleConfig, Running, Seed, World};
use serde_json::Value;

pub const ALICE: &str = "ghp_alice";
pub const BOB: &str = "ghp_bob";
pub const CAROL: &str = "ghp_carol";
pub const DAVE: &str = "ghp_dave";

/// The log of acme/secret#7's failing `lint` job.
pub const LINT_LOG: &str = "\u{feff}2026-01-06T10:00:00.0000000Z Run cargo clippy\n\
                            2026-01-06T10:00:09.0000000Z \u{1b}[1m\u{1b}[91merror\u{1b}[0m: could not compile `widgets`\n";

/// alice owns private `acme/secret` (#7: 40 threads × 3 comments, plus one thread of
/// 160 comments, checks, statuses, a conversation); bob is a reader there, dave a
/// writer; carol has no access; `acme/public` is public. The OAuth apps are the
/// generated seeds' (`Iv1.doubleoauthapp`, `Iv23.doublegithubapp`).
pub fn seed() -> Seed {
    let user = |login: &str, token: &str, scopes: Option<&str>| SeedUser {
        login: login.into(),
        tokens: vec![token.into()],
        scopes: scopes.map(str::to_string),
        ..SeedUser::default()
    };
    let long_thread = SeedThread {
        path: "src/long.rs".into(),
        line: Some(12),
        start_line: Some(10),
        side: "RIGHT".into(),
        start_side: Some("RIGHT".into()),
        diff_hunk: "@@ -1,3 +1,4 @@\n a\n b\n+c".into(),
        comments: (0..160)
            .map(|i| SeedComment {
                author: if i % 2 == 0 { "bob" } else { "alice" }.into(),
                body: format!("long thread comment {i}"),
                created_at: Some(format!("2026-01-02T03:{:02}:{:02}Z", i / 60, i % 60)),
                id: None,
            })
            .collect(),
        ..SeedThread::default()
    };
    Seed {
        users: vec![
            SeedUser {
                id: Some(1001),
                ..user("alice", ALICE, Some("repo, read:org"))
            },
            user("bob", BOB, None),
            user("carol", CAROL, Some("repo")),
            user("dave", DAVE, Some("repo")),
        ],
        repos: vec![
            SeedRepo {
                owner: "acme".into(),
                name: "secret".into(),
                private: true,
                default_branch: "main".into(),
                readers: vec!["bob".into()],
                writers: vec!["alice".into(), "dave".into()],
                pulls: vec![
                    SeedPull {
                        number: 7,
                        title: "Add widgets".into(),
                        body: Some("Adds widgets.".into()),
                        author: "alice".into(),
                        state: "open".into(),
                        base: "main".into(),
                        head: "feature-x".into(),
                        threads: vec![long_thread],
                        requested_reviewers: vec!["dave".into(), "bob".into()],
                        requested_teams: vec!["core".into()],
                        checks: vec![
                            SeedCheck {
                                name: "build".into(),
                                status: "completed".into(),
                                conclusion: Some("success".into()),
                                details_url: Some("https://ci.example/build/1".into()),
                                output: Some(SeedCheckOutput {
                                    title: Some("Build passed".into()),
                                    summary: Some("All 12 targets built".into()),
                                    text: None,
                                }),
                                ..SeedCheck::default()
                            },
                            SeedCheck {
                                name: "lint".into(),
                                status: "completed".into(),
                                conclusion: Some("failure".into()),
                                annotations: (1..=35)
                                    .map(|i| SeedAnnotation {
                                        path: "src/lib.rs".into(),
                                        start_line: i,
                                        annotation_level: "warning".into(),
                                        message: format!("warning {i}"),
                                        ..SeedAnnotation::default()
                                    })
                                    .collect(),
                                log: Some(LINT_LOG.into()),
                                ..SeedCheck::default()
                            },
                            SeedCheck {
                                name: "e2e".into(),
                                status: "in_progress".into(),
                                ..SeedCheck::default()
                            },
                        ],
                        statuses: vec![
                            SeedStatus {
                                context: "ci/legacy".into(),
                                state: "pending".into(),
                                description: Some("Queued".into()),
                                target_url: None,
                                created_at: Some("2026-01-02T00:00:00Z".into()),
                            },
                            SeedStatus {
                                context: "ci/legacy".into(),
                                state: "success".into(),
                                description: Some("Passed".into()),
                                target_url: Some("https://ci.example/legacy/1".into()),
                                created_at: Some("2026-01-02T01:00:00Z".into()),
                            },
                            SeedStatus {
                                context: "coverage".into(),
                                state: "success".into(),
                                description: None,
                                target_url: None,
                                created_at: Some("2026-01-02T02:00:00Z".into()),
                            },
                        ],
                        issue_comments: vec![SeedIssueComment {
                            author: "bob".into(),
                            body: "Any ETA?".into(),
                            created_at: Some("2026-01-03T00:00:00Z".into()),
                        }],
                        generate: Some(GenerateSpec {
                            threads: 40,
                            comments_per_thread: 3,
                            body_len: 120,
                            hunk_lines: 6,
                            marker: None,
                            authors: vec!["alice".into(), "bob".into()],
                        }),
                        ..SeedPull::default()
                    },
                    SeedPull {
                        number: 8,
                        title: "Old".into(),
                        author: "bob".into(),
                        state: "closed".into(),
                        base: "main".into(),
                        head: "old".into(),
                        ..SeedPull::default()
                    },
                ],
                ..SeedRepo::default()
            },
            SeedRepo {
                owner: "acme".into(),
                name: "public".into(),
                default_branch: "main".into(),
                pulls: vec![SeedPull {
                    number: 1,
                    title: "Public PR".into(),
                    author: "carol".into(),
                    state: "open".into(),
                    base: "main".into(),
                    head: "p".into(),
                    generate: Some(GenerateSpec {
                        threads: 2,
                        comments_per_thread: 2,
                        body_len: 50,
                        hunk_lines: 4,
                        marker: None,
                        authors: vec![],
                    }),
                    ..SeedPull::default()
                }],
                ..SeedRepo::default()
            },
        ],
        oauth_apps: github_double::seed::default_oauth_apps(),
    }
}

pub async fn start_with(config: DoubleConfig) -> Running {
    let world = World::from_seed(&seed()).expect("seed loads");
    github_double::start(world, config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("double starts")
}

pub async fn start() -> Running {
    start_with(DoubleConfig::default()).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn get(d: &Running, token: Option<&str>, path: &str) -> reqwest::Response {
    let mut r = client().get(format!("{}{path}", d.base_url()));
    if let Some(t) = token {
        r = r.header("Authorization", format!("Bearer {t}"));
    }
    r.send().await.expect("request sent")
}

pub async fn graphql(
    d: &Running,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let mut r = client()
        .post(format!("{}/graphql", d.base_url()))
        .json(&serde_json::json!({"query": query, "variables": variables}));
    if let Some(t) = token {
        r = r.header("Authorization", format!("bearer {t}"));
    }
    let resp = r.send().await.expect("request sent");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

/// A GraphQL document the server sends, read from the server crate.
pub fn server_document(name: &str) -> String {
    let path = format!(
        "{}/../github-review-mcp/src/github/graphql/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

pub async fn log(d: &Running) -> Vec<Value> {
    get(d, None, "/_double/requests")
        .await
        .json()
        .await
        .unwrap()
}

pub async fn configure(d: &Running, patch: Value) -> Value {
    let r = client()
        .post(format!("{}/_double/config", d.base_url()))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "config accepted");
    r.json().await.unwrap()
}

/// Sends `method path` with a JSON body (none when `body` is null) as `token`.
pub async fn send(
    d: &Running,
    method: &str,
    token: Option<&str>,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let mut r = client().request(method.parse().unwrap(), format!("{}{path}", d.base_url()));
    if let Some(t) = token {
        r = r.header("Authorization", format!("token {t}"));
    }
    if !body.is_null() {
        r = r.json(&body);
    }
    let resp = r.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The threads page of a `review_threads.graphql` answer: the `head` alias when the
/// document has one (forward page), else `reviewThreads`.
pub fn threads_page(body: &Value) -> &Value {
    let pr = &body["data"]["repository"]["pullRequest"];
    if pr.get("head").is_some_and(|h| h.is_object()) {
        &pr["head"]
    } else {
        &pr["reviewThreads"]
    }
}
