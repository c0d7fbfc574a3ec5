//! `github-review-mcp doctor` against a real server: it finds what is wrong on the
//! token's way and never prints the token.

mod common;

use common::*;

struct Report {
    ok: bool,
    text: String,
}

async fn doctor(server: &HttpServer, token: Option<&str>, args: &[&str]) -> Report {
    let mut cmd = tokio::process::Command::new(server_bin());
    cmd.env_clear()
        .arg("doctor")
        .arg("--url")
        .arg(server.mcp_url())
        .args(args);
    if let Some(token) = token {
        cmd.env("GITHUB_TOKEN", token);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .unwrap()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_no_token_in(&text, "doctor output");
    Report {
        ok: out.status.success(),
        text,
    }
}

#[tokio::test]
async fn a_good_token_passes_every_hop() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    for via in ["header", "bearer", "meta"] {
        let report = doctor(&server, Some(ALICE), &["--via", via]).await;
        assert!(report.ok, "{via}: {}", report.text);
        assert!(report.text.contains("login alice"), "{}", report.text);
        assert!(
            report.text.contains(&format!("resolved from {via}")),
            "{}",
            report.text
        );
        assert!(report.text.contains("all hops ok"));
    }
}

#[tokio::test]
async fn a_header_that_does_not_arrive_is_found() {
    let double = Double::start().await;
    // With the fallback on, the server quietly uses its own token: the doctor notices.
    let with_fallback = HttpServer::start(
        &double,
        ServerOptions {
            server_token: Some(SERVER),
            ..Default::default()
        },
    )
    .await;
    let report = doctor(
        &with_fallback,
        Some(ALICE),
        &["--via", "header", "--header-name", "X-Github-Tokn"],
    )
    .await;
    assert!(!report.ok);
    assert!(
        report.text.contains("used the token from server"),
        "{}",
        report.text
    );
    assert!(report.text.contains("did not arrive"), "{}", report.text);
    // Without it, the 401 tells the same story.
    let strict = HttpServer::start(&double, ServerOptions::default()).await;
    let report = doctor(
        &strict,
        Some(ALICE),
        &["--via", "header", "--header-name", "X-Github-Tokn"],
    )
    .await;
    assert!(!report.ok);
    assert!(
        report.text.contains("401") && report.text.contains("X-Github-Tokn header did not arrive"),
        "{}",
        report.text
    );
    // And no token at all to send is said before anything is tried.
    let report = doctor(&strict, None, &["--via", "header"]).await;
    assert!(
        !report.ok && report.text.contains("$GITHUB_TOKEN is empty or unset"),
        "{}",
        report.text
    );
}

#[tokio::test]
async fn a_bad_token_is_found_at_github() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let report = doctor(
        &server,
        Some("ghp_notARealTokenZZZZZZZZZZZZZZZZZZZZZZZZZ"),
        &["--via", "header"],
    )
    .await;
    assert!(!report.ok);
    assert!(
        report.text.contains("token valid at GitHub") && report.text.contains("Bad credentials"),
        "{}",
        report.text
    );
    assert!(report.text.contains("create a new one"), "{}", report.text);
    assert!(!report.text.contains("ZZZZZZZZ"));
}

#[tokio::test]
async fn missing_scopes_are_found() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let report = doctor(&server, Some(DAVE), &["--via", "bearer"]).await;
    assert!(!report.ok, "{}", report.text);
    assert!(report.text.contains("login dave"), "{}", report.text);
    assert!(
        report.text.contains("FAIL] scopes for write tools"),
        "{}",
        report.text
    );
    assert!(report.text.contains("`repo` scope"), "{}", report.text);
}

#[tokio::test]
async fn an_unreachable_server_is_the_first_failure() {
    let double = Double::start().await;
    let server = HttpServer::start(&double, ServerOptions::default()).await;
    let out = tokio::process::Command::new(server_bin())
        .env_clear()
        .env("GITHUB_TOKEN", ALICE)
        .args(["doctor", "--url", "http://127.0.0.1:9/mcp"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(text.contains("FAIL] server reachable"), "{text}");
    drop(server);
}

#[tokio::test]
async fn doctor_starts_a_stdio_server_and_follows_the_meta_token() {
    let double = Double::start().await;
    let run = |via: &'static str| {
        let mut cmd = tokio::process::Command::new(server_bin());
        cmd.env_clear()
            .env("GITHUB_HOST", &double.url)
            .env("GITHUB_TOKEN", BOB)
            .args([
                "doctor",
                "--stdio",
                &format!("{} stdio", server_bin()),
                "--via",
                via,
            ]);
        cmd
    };
    let out = run("meta").output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("resolved from meta") && text.contains("login bob"),
        "{text}"
    );
    assert_no_token_in(&text, "doctor output");
    // Headers do not exist over stdio: said, not silently ignored.
    let out = run("header").output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !out.status.success() && text.contains("no headers"),
        "{text}"
    );
}
