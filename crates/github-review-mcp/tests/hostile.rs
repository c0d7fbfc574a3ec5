//! Hostile and broken input over HTTP: each gets a clear 4xx or a tool error, never
//! a 5xx, a panic or a hang, and the server answers normally afterwards.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCEPT: &str = "application/json, text/event-stream";

fn init_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
           "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
}

/// Raw bytes on a fresh connection; returns the status line's code.
async fn raw(server: &HttpServer, request: Vec<u8>) -> u16 {
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

fn post_with_header(server: &HttpServer, name: &[u8], value: &[u8]) -> Vec<u8> {
    let body = init_body().to_string();
    let host = server.base.trim_start_matches("http://");
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: {ACCEPT}\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(name);
    request.extend_from_slice(b": ");
    request.extend_from_slice(value);
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    request.extend_from_slice(body.as_bytes());
    request
}

#[tokio::test]
async fn broken_requests_get_4xx_and_the_server_stays_up() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let http = reqwest::Client::new();
    let url = server.mcp_url();
    let mut cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("malformed JSON", http.post(&url).header("content-type", "application/json").header("accept", ACCEPT).body("{\"jsonrpc\": ")),
        ("a batch", http.post(&url).header("accept", ACCEPT).json(&json!([init_body(), init_body()]))),
        ("a wrong content type", http.post(&url).header("content-type", "text/plain").header("accept", ACCEPT).body(init_body().to_string())),
        ("a foreign Host (DNS rebinding)", http.post(&url).header("host", "evil.example").header("accept", ACCEPT).json(&init_body())),
        ("a foreign Origin", http.post(&url).header("origin", "https://evil.example").header("accept", ACCEPT).json(&init_body())),
        ("Authorization: Basic", http.post(&url).header("authorization", "Basic dXNlcjpwYXNz").header("accept", ACCEPT).json(&init_body())),
        ("Bearer with nothing after it", http.post(&url).header("authorization", "Bearer ").header("accept", ACCEPT).json(&init_body())),
        ("a tools/call without a session", http.post(&url).header("accept", ACCEPT).header("x-github-token", ALICE).json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami"}}))),
    ];
    for (what, request) in cases.drain(..) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{what}: {status}");
    }
    // Header bytes a client library will not send.
    for (what, name, value) in [
        (
            "a token with a non-ASCII byte",
            &b"X-GitHub-Token"[..],
            &b"ghp_\xff\xfeabc"[..],
        ),
        (
            "an Authorization with a control byte",
            &b"Authorization"[..],
            &b"Bearer ghp_a\x01b"[..],
        ),
    ] {
        let status = raw(&server, post_with_header(&server, name, value)).await;
        assert!((400..500).contains(&status), "{what}: {status}");
    }
    // A body over the limit is refused from its Content-Length, before it is read
    // (sent raw: a client still writing a large body may miss an early answer).
    let host = server.base.trim_start_matches("http://").to_owned();
    let oversize = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: {ACCEPT}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{\"jsonrpc\"",
        2 << 20
    );
    assert_eq!(raw(&server, oversize.into_bytes()).await, 413);
    // A CR/LF cannot smuggle a header: it splits the line and the request is refused or sanitized.
    let status = raw(
        &server,
        post_with_header(&server, b"X-GitHub-Token", b"ghp_a\r\nX-Injected: 1"),
    )
    .await;
    assert!(status < 500, "CR/LF: {status}");

    let client = server.connect(&[("x-github-token", ALICE)], None).await;
    assert_eq!(whoami(&client, None).await.0, "alice", "still serving");
}

/// A raw POST /mcp of `body`, closing the connection after the answer.
fn post_body(server: &HttpServer, body: &str) -> Vec<u8> {
    let host = server.base.trim_start_matches("http://");
    format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: {ACCEPT}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn a_request_head_past_max_header_bytes_gets_431_and_bodies_are_not_bounded_by_it() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let padding = |n: usize| vec![b'a'; n];
    // The default bound is 8 KiB of request line and headers.
    let over = post_with_header(&server, b"X-Padding", &padding(9 * 1024));
    assert_eq!(raw(&server, over).await, 431, "a 9 KiB head");
    let under = post_with_header(&server, b"X-Padding", &padding(6 * 1024));
    assert_eq!(raw(&server, under).await, 200, "a 6 KiB head");
    // The bound is on the head only: a body 25 times as long is read in pieces.
    let mut body = init_body();
    body["params"]["clientInfo"]["description"] = json!("b".repeat(200 * 1024));
    let status = raw(&server, post_body(&server, &body.to_string())).await;
    assert_eq!(status, 200, "a 200 KiB body");

    let roomy = HttpServer::start(
        &double,
        ServerOptions {
            args: &["--max-header-bytes", "16384"],
            ..Default::default()
        },
    )
    .await;
    let nine = post_with_header(&roomy, b"X-Padding", &padding(9 * 1024));
    assert_eq!(raw(&roomy, nine).await, 200, "9 KiB under a 16 KiB bound");
}

#[tokio::test]
async fn hostile_arguments_are_tool_errors_and_nothing_reaches_github() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let client = server.connect(&[("x-github-token", ALICE)], None).await;
    double.clear_requests().await;
    let long = format!("https://127.0.0.1/{}", "a".repeat(100_000));
    for pr_url in [
        "javascript:alert(1)",
        "acme/widgets#-1",
        "acme/widgets#1234567890123456789012345",
        long.as_str(),
        "acme/../widgets#1",
        "https://127.0.0.1/acme%2Fwidgets/pull/1",
        "https://github.com@evil.example/acme/widgets/pull/7",
        "",
    ] {
        let result = call(
            &client,
            "fetch_pr_review_comments",
            json!({"pr_url": pr_url}),
            None,
        )
        .await;
        assert!(is_error(&result), "{pr_url:.60}: accepted");
        assert!(
            text(&result).len() < 600,
            "the error does not echo 100 KB: {}",
            text(&result).len()
        );
    }
    // Wrong argument types and a non-string _meta.token are errors, not crashes.
    let wrong_type = try_call(
        &client,
        "fetch_pr_review_comments",
        json!({"pr_url": 42}),
        None,
    )
    .await;
    assert!(wrong_type.is_err() || is_error(&wrong_type.unwrap()));
    let mut params = rmcp::model::CallToolRequestParams::new("whoami");
    params.arguments = Some(serde_json::Map::new());
    let mut meta = rmcp::model::RequestMetaObject::new();
    meta.0 .0.insert("token".into(), json!({"not": "a string"}));
    params.meta = Some(meta);
    let result = client.call_tool(params).await.unwrap();
    assert!(
        is_error(&result) && text(&result).contains("`_meta.token` must be a string"),
        "{}",
        text(&result)
    );
    assert!(
        double.requests().await.is_empty(),
        "nothing was sent to GitHub"
    );
    assert_eq!(whoami(&client, None).await.0, "alice");
}
