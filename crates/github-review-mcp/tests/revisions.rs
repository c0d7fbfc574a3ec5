//! Both current MCP revisions from one binary: a 2026-07-28 client (no `initialize`,
//! no session: `server/discover`, then requests carrying their own `_meta`) beside a
//! 2025-11-25 client with a session, over stdio and HTTP, with the same per-call
//! token resolution.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const V2026: &str = "2026-07-28";

fn meta(extra: Value) -> Value {
    let mut meta = json!({
        "io.modelcontextprotocol/protocolVersion": V2026,
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    if let (Some(m), Some(e)) = (meta.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    meta
}

fn request(id: u64, method: &str, params: Value, extra_meta: Value) -> Value {
    let mut params = params;
    params["_meta"] = meta(extra_meta);
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Every JSON-RPC message of an HTTP answer (JSON, or SSE `data:` lines).
fn messages(body: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return vec![v];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

async fn post_2026(
    server: &HttpServer,
    body: &Value,
    headers: &[(&str, &str)],
) -> (u16, Vec<Value>) {
    let method = body["method"].as_str().unwrap();
    let mut request = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", V2026)
        .header("mcp-method", method)
        .json(body);
    if let Some(name) = body["params"]["name"].as_str() {
        request = request.header("mcp-name", name);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, messages(&response.text().await.unwrap()))
}

fn result_of(messages: &[Value], id: u64) -> &Value {
    messages
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no answer to {id} in {messages:?}"))
}

fn whoami_of(answer: &Value) -> (String, String) {
    let s = &answer["result"]["structuredContent"];
    (
        s["login"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"))
            .to_owned(),
        s["token_source"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_2026_client_over_http_needs_no_session_and_tokens_resolve_from_every_source() {
    let double = Double::start().await;
    let server = HttpServer::start(
        &double,
        ServerOptions {
            server_token: Some(SERVER),
            ..Default::default()
        },
    )
    .await;
    let (status, discovered) = post_2026(
        &server,
        &request(1, "server/discover", json!({}), json!({})),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let d = &result_of(&discovered, 1)["result"];
    assert!(
        d["supportedVersions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == V2026),
        "{d}"
    );
    for capability in ["tools", "prompts", "resources", "completions", "logging"] {
        assert!(
            d["capabilities"][capability].is_object(),
            "{capability} in {d}"
        );
    }
    // A 2025-11-25 client with a session, side by side.
    let old = server.connect(&[("x-github-token", CAROL)], None).await;
    let whoami_call = |id| {
        request(
            id,
            "tools/call",
            json!({"name": "whoami", "arguments": {}}),
            json!({}),
        )
    };
    // (HTTP headers, the request, whom whoami must name and from where)
    type Case<'a> = (&'a [(&'a str, &'a str)], Value, (&'a str, &'a str));
    let cases: [Case; 4] = [
        (
            &[("x-github-token", ALICE)],
            whoami_call(2),
            ("alice", "header"),
        ),
        (
            &[(
                "authorization",
                "Bearer github_pat_bobBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
            )],
            whoami_call(3),
            ("bob", "bearer"),
        ),
        (
            &[("x-github-token", ALICE)],
            request(
                4,
                "tools/call",
                json!({"name": "whoami", "arguments": {}}),
                json!({"token": DAVE}),
            ),
            ("dave", "meta"),
        ),
        (&[], whoami_call(5), ("review-bot", "server")),
    ];
    for (headers, body, (login, source)) in cases {
        let (status, answer) = post_2026(&server, &body, headers).await;
        assert_eq!(status, 200, "{answer:?}");
        let id = body["id"].as_u64().unwrap();
        assert_eq!(
            whoami_of(result_of(&answer, id)),
            (login.to_owned(), source.to_owned())
        );
        // ... while the session of the other revision goes on with its own token.
        assert_eq!(
            whoami(&old, None).await,
            ("carol".to_owned(), "header".to_owned())
        );
    }
    old.cancel().await.unwrap();
}

#[tokio::test]
async fn a_2026_request_gets_logs_only_when_its_own_meta_asks_for_them() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let fetch = |id, level: Option<&str>| {
        let extra = match level {
            Some(level) => json!({"io.modelcontextprotocol/logLevel": level}),
            None => json!({}),
        };
        request(
            id,
            "tools/call",
            json!({"name": "fetch_pr_review_comments", "arguments": {"pr_url": "acme/widgets#7"}}),
            extra,
        )
    };
    let (_, with_logs) = post_2026(
        &server,
        &fetch(1, Some("info")),
        &[("x-github-token", ALICE)],
    )
    .await;
    let logs: Vec<&Value> = with_logs
        .iter()
        .filter(|m| m["method"] == "notifications/message")
        .collect();
    assert!(
        logs.iter()
            .any(|m| m["params"]["data"]["message"] == "review threads read"
                && m["params"]["level"] == "info"),
        "{with_logs:?}"
    );
    assert!(
        !format!("{logs:?}").contains(&ALICE[4..]),
        "a log message carried the token"
    );
    let (_, quiet) = post_2026(&server, &fetch(2, None), &[("x-github-token", ALICE)]).await;
    assert!(
        quiet.iter().all(|m| m["method"] != "notifications/message"),
        "{quiet:?}"
    );
    result_of(&quiet, 2);
    // A resource read without any token is the same 401 a tool call gets.
    let read = request(
        3,
        "resources/read",
        json!({"uri": "github-review://acme/widgets/pull/7/threads"}),
        json!({}),
    );
    let (status, _) = post_2026(&server, &read, &[]).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_2026_client_over_stdio_discovers_then_calls_with_meta_and_server_tokens() {
    let double = Double::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(server_bin())
        .arg("stdio")
        .env_clear()
        .env("GITHUB_HOST", &double.url)
        .env("GITHUB_TOKEN", SERVER)
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stdio.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut ask = async |body: Value| -> Value {
        stdin
            .write_all(format!("{body}\n").as_bytes())
            .await
            .unwrap();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == body["id"] {
                return message;
            }
        }
    };
    let discovered = ask(request(1, "server/discover", json!({}), json!({}))).await;
    assert!(
        discovered["result"]["capabilities"]["prompts"].is_object(),
        "{discovered}"
    );
    let text = discovered.to_string();
    assert!(
        text.contains("image/svg+xml") && text.contains("address_review"),
        "icons and instructions: {text}"
    );
    let meta_call = ask(request(
        2,
        "tools/call",
        json!({"name": "whoami", "arguments": {}}),
        json!({"token": BOB}),
    ))
    .await;
    assert_eq!(whoami_of(&meta_call), ("bob".to_owned(), "meta".to_owned()));
    let server_call = ask(request(
        3,
        "tools/call",
        json!({"name": "whoami", "arguments": {}}),
        json!({}),
    ))
    .await;
    assert_eq!(
        whoami_of(&server_call),
        ("review-bot".to_owned(), "server".to_owned())
    );
    let prompts = ask(request(4, "prompts/list", json!({}), json!({}))).await;
    assert_eq!(
        prompts["result"]["prompts"].as_array().unwrap().len(),
        3,
        "{prompts}"
    );
    assert!(
        prompts["result"]["ttlMs"].is_number() && prompts["result"]["cacheScope"].is_string(),
        "{prompts}"
    );
    let missing = ask(request(
        5,
        "resources/read",
        json!({"uri": "github-review://acme/widgets/pull/999/threads"}),
        json!({}),
    ))
    .await;
    // SEP-2164: on 2026-07-28 a missing resource is -32602 (rmcp upgrades -32002).
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    drop(stdin);
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    assert_no_token_in(
        &std::fs::read_to_string(dir.path().join("stdio.log")).unwrap(),
        "stdio log",
    );
}
