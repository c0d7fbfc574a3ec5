//! Sign-in end to end (`http --oauth`): the real server and the double (with
//! GitHub's OAuth), driven as a browser and an MCP client would, plus every hostile
//! case the issue names. Each case asserts nothing was issued where it must not be.

mod common;

use std::time::Duration;

use common::signin::*;
use common::*;
use serde_json::{json, Value};

async fn get_json(url: &str) -> Value {
    browser()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// No secret of the sign-in may be in the server's log, at trace level.
fn assert_log_has_none_of(server: &HttpServer, secrets: &[&str]) {
    let logs = server.logs();
    for secret in secrets.iter().chain([&APP.1, &GITHUB_APP.1, &OAUTH_KEY]) {
        let tail = &secret[secret.len().saturating_sub(16)..];
        assert!(
            !logs.contains(tail),
            "the server log contains a secret ({}…)",
            &secret[..secret.len().min(10)]
        );
    }
    // Nor any token the (fake) GitHub issued for a signed-in user, whatever it was:
    // GitHub's OAuth token formats, `gho_`/`ghu_`/`ghr_` and at least 20 characters.
    for prefix in ["gho_", "ghu_", "ghr_"] {
        for (at, _) in logs.match_indices(prefix) {
            let run = logs[at + 4..]
                .bytes()
                .take_while(u8::is_ascii_alphanumeric)
                .count();
            assert!(
                run < 20,
                "the server log contains a GitHub user token ({prefix}…)"
            );
        }
    }
}

#[tokio::test]
async fn a_user_signs_in_and_whoami_names_them_with_source_oauth() {
    let double = Double::start().await;
    let server = oauth_server(&double, APP, &[]).await;
    let base = &server.base;

    // Discovery: the resource names this server as its authorization server.
    let prm = get_json(&format!("{base}/.well-known/oauth-protected-resource/mcp")).await;
    assert_eq!(prm["authorization_servers"], json!([base]));
    assert_eq!(prm["resource"], format!("{base}/mcp"));
    assert_eq!(
        prm["scopes_supported"],
        json!(["review:read", "review:write"])
    );
    let asm = get_json(&format!("{base}/.well-known/oauth-authorization-server")).await;
    // Browser-based MCP clients read metadata and call the token endpoint across
    // origins (no cookies there); the consent page is not readable that way.
    let cors = |path: &str| {
        browser()
            .get(format!("{base}{path}"))
            .header("origin", "https://client.example")
            .send()
    };
    let metadata = cors("/.well-known/oauth-authorization-server")
        .await
        .unwrap();
    assert_eq!(metadata.headers()["access-control-allow-origin"], "*");
    let page = cors("/oauth/authorize").await.unwrap();
    assert!(page.headers().get("access-control-allow-origin").is_none());
    assert_eq!(asm["issuer"], *base);
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(asm["client_id_metadata_document_supported"], true);

    // A client without a token is challenged at initialize, so it signs in first.
    let (status, challenge, _) = raw_mcp(&server, None, initialize()).await;
    assert_eq!(status, 401);
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{base}/.well-known/oauth-protected-resource\""
        )),
        "{challenge}"
    );

    let (_, tokens) = signed_in_tokens(&server, None, "carol").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert!(access.starts_with("grm_at_") && refresh.starts_with("grm_rt_"));
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "review:read review:write");

    let client = server.connect(&[], Some(access)).await;
    assert_eq!(
        whoami(&client, None).await,
        ("carol".to_owned(), "oauth".to_owned())
    );
    let tools = client.list_all_tools().await.unwrap();
    assert!(
        tools.iter().any(|t| t.name == "reply_to_review_comment"),
        "full scopes list the write tools"
    );
    client.cancel().await.unwrap();

    // The double saw a GitHub token, never ours; the log names the login.
    let logs = server.logs();
    assert!(
        logs.contains("token_source=\"oauth\"") || logs.contains("token_source=oauth"),
        "the log names the source"
    );
    assert!(logs.contains("carol"));
    assert_log_has_none_of(&server, &[access, refresh]);
}

#[tokio::test]
async fn a_read_only_token_sees_no_write_tools_and_gets_insufficient_scope() {
    let double = Double::start().await;
    let server = oauth_server(&double, APP, &[]).await;
    let (_, tokens) = signed_in_tokens(&server, Some("review:read"), "alice").await;
    assert_eq!(tokens["scope"], "review:read");
    let access = tokens["access_token"].as_str().unwrap();
    let client = server.connect(&[], Some(access)).await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(!tools.is_empty());
    assert!(
        tools
            .iter()
            .all(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true)),
        "only read tools"
    );
    client.cancel().await.unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "reply_to_review_comment", "arguments": {"pr": "alice/widgets#1", "comment_id": 1, "body": "hi"}}});
    let (status, challenge, body) = raw_mcp(&server, Some(access), call).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"review:read review:write\""),
        "{challenge}"
    );
    assert!(body.contains("\"id\":7"), "{body}");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_grant() {
    let double = Double::start().await;
    let server = oauth_server(&double, APP, &[]).await;
    let base = &server.base;
    let (client_id, tokens) = signed_in_tokens(&server, None, "alice").await;
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let form = |rt: &str| {
        vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), rt.to_owned()),
            ("client_id".to_owned(), client_id.clone()),
        ]
    };
    let as_refs = |f: &Vec<(String, String)>| {
        f.iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect::<Vec<_>>()
    };
    let send = |f: Vec<(String, String)>| async move {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        token_request(base, &pairs).await
    };
    let (status, rotated) = send(as_refs(&form(&first_refresh))).await;
    assert_eq!(status, 200, "{rotated}");
    let second_access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated["refresh_token"].as_str().unwrap(), first_refresh);
    let (status, _, _) = raw_mcp(&server, Some(&second_access), initialize()).await;
    assert_eq!(status, 200);
    // The old refresh token again: a replay. Refused, and the grant ends.
    let (status, refused) = send(as_refs(&form(&first_refresh))).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, challenge, _) = raw_mcp(&server, Some(&second_access), initialize()).await;
    assert_eq!(status, 401, "the replay revoked what the rotation issued");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let (status, _) = send(as_refs(&form(rotated["refresh_token"].as_str().unwrap()))).await;
    assert_eq!(status, 400, "the newest refresh token died with its grant");
    assert_log_has_none_of(&server, &[]);
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_their_verifier_client_and_redirect() {
    let double = Double::start().await;
    let server = oauth_server(&double, APP, &[]).await;
    let base = &server.base;
    let client_id = register(base, &[REDIRECT]).await;
    let auth = Authorization {
        client_id: &client_id,
        redirect: REDIRECT,
        scope: None,
        login: "alice",
    };

    // Wrong verifier: refused, and the code is spent.
    let (code, verifier) = sign_in(base, &auth).await;
    let (status, err) = redeem(
        base,
        &client_id,
        &code,
        "wrong-verifier-wrong-verifier-wrong-verifier",
        REDIRECT,
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(err["error_description"].as_str().unwrap().contains("PKCE"));
    let (status, _) = redeem(base, &client_id, &code, &verifier, REDIRECT).await;
    assert_eq!(status, 400, "a code is tried once");

    // Missing verifier, other client, other redirect: each refused.
    let other = register(base, &[REDIRECT]).await;
    for (client, verifier_used, redirect) in [
        (client_id.as_str(), "", REDIRECT),
        (other.as_str(), "VERIFIER", REDIRECT),
        (
            client_id.as_str(),
            "VERIFIER",
            "http://127.0.0.1:33418/other",
        ),
    ] {
        let (code, verifier) = sign_in(base, &auth).await;
        let v = if verifier_used == "VERIFIER" {
            verifier.as_str()
        } else {
            ""
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", client),
            ("redirect_uri", redirect),
        ];
        if !v.is_empty() {
            form.push(("code_verifier", v));
        }
        let (status, err) = token_request(base, &form).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_grant")),
            "{client} {redirect}: {err}"
        );
    }

    // A reused code revokes what its first use issued.
    let (code, verifier) = sign_in(base, &auth).await;
    let (status, tokens) = redeem(base, &client_id, &code, &verifier, REDIRECT).await;
    assert_eq!(status, 200);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(raw_mcp(&server, Some(access), initialize()).await.0, 200);
    let (status, err) = redeem(base, &client_id, &code, &verifier, REDIRECT).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        raw_mcp(&server, Some(access), initialize()).await.0,
        401,
        "the replay revoked the first tokens"
    );
    assert_log_has_none_of(&server, &[&code, access]);
}

#[tokio::test]
async fn bad_redirects_resources_and_pkce_are_refused_before_anything_is_issued() {
    let double = Double::start().await;
    let server = oauth_server(&double, APP, &[]).await;
    let base = &server.base;
    let registered = "https://app.example.com/cb";
    let client_id = register(base, &[registered, REDIRECT]).await;
    let (_, challenge) = pkce();
    let query = |redirect: &str, extra: &[(&'static str, &'static str)]| {
        let mut q: Vec<(String, String)> = vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), client_id.clone()),
            ("redirect_uri".into(), redirect.into()),
            ("code_challenge".into(), challenge.clone()),
            ("code_challenge_method".into(), "S256".into()),
            ("state".into(), "https://evil.example/steal".into()),
        ];
        for (k, v) in extra {
            q.retain(|(name, _)| name != k);
            if !v.is_empty() {
                q.push(((*k).into(), (*v).into()));
            }
        }
        url::Url::parse_with_params(&format!("{base}/oauth/authorize"), &q).unwrap()
    };
    // Near misses and strangers: an error page, never a redirect.
    for redirect in [
        "https://app.example.com/cb/",
        "https://app.example.com/cb?next=https://evil.example",
        "https://app.example.com.evil.example/cb",
        "https://evil.example/cb",
        "http://app.example.com/cb",
        "http://127.0.0.1:33418/callback/../evil",
        "http://localhost:33418/callback",
    ] {
        let response = browser().get(query(redirect, &[])).send().await.unwrap();
        assert_eq!(response.status(), 400, "{redirect}");
        assert!(
            response.headers().get("location").is_none(),
            "{redirect} was redirected to"
        );
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let page = response.text().await.unwrap();
        assert!(
            !page.contains("evil.example"),
            "the page does not echo the target"
        );
    }
    let unknown = url::Url::parse_with_params(
        &format!("{base}/oauth/authorize"),
        &[
            ("client_id", "grm_c_nope"),
            ("redirect_uri", registered),
            ("response_type", "code"),
        ],
    )
    .unwrap();
    let response = browser().get(unknown).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());

    // Registered redirect, bad request: back to the client with the error; the
    // state is returned as data, percent-encoded, never followed.
    for (extra, error) in [
        (&[("code_challenge", "")][..], "invalid_request"),
        (&[("code_challenge_method", "plain")][..], "invalid_request"),
        (
            &[("resource", "https://other.example/mcp")][..],
            "invalid_target",
        ),
        (&[("scope", "repo admin:org")][..], "invalid_scope"),
        (
            &[("response_type", "token")][..],
            "unsupported_response_type",
        ),
    ] {
        let response = browser()
            .get(query(registered, extra))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{extra:?}");
        let to = location(&response);
        assert!(to.starts_with("https://app.example.com/cb?"), "{to}");
        assert_eq!(
            query_param(&to, "error").as_deref(),
            Some(error),
            "{extra:?}"
        );
        assert_eq!(
            query_param(&to, "state").as_deref(),
            Some("https://evil.example/steal")
        );
        assert!(
            response.headers().get("set-cookie").is_none(),
            "no consent was started"
        );
    }

    // Registration refuses what it must.
    for bad in [
        json!({"redirect_uris": ["http://evil.example/cb"]}),
        json!({"redirect_uris": ["javascript:alert(1)"]}),
        json!({"redirect_uris": []}),
        json!({"redirect_uris": [REDIRECT], "grant_types": ["implicit"]}),
    ] {
        let response = browser()
            .post(format!("{base}/oauth/register"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn the_consent_page_cannot_be_framed_forged_or_replayed() {
    let double = Double::start().await;
    let server = oauth_server(&double, APP, &[]).await;
    let base = &server.base;
    let client_id = register(base, &[REDIRECT]).await;
    let (_, challenge) = pkce();
    let query = [
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "s1"),
    ];
    let url = url::Url::parse_with_params(&format!("{base}/oauth/authorize"), &query).unwrap();
    let page = browser().get(url).send().await.unwrap();
    let headers = page.headers().clone();
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    // Not `no-referrer`: under it browsers post the form with `Origin: null`
    // (found by the Chromium test), which the origin check refuses.
    assert_eq!(headers["referrer-policy"], "same-origin");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Test Client") && html.contains("127.0.0.1") && html.contains("review:write"),
        "names the client, redirect host and scopes"
    );

    // A forged form: the right handle, but no cookie / another CSRF value.
    let (handle, csrf, cookie, _) = consent_page(base, &query).await;
    assert_eq!(
        post_consent(base, &handle, &csrf, None, "approve")
            .await
            .status(),
        403
    );
    let (handle, csrf, cookie2, _) = consent_page(base, &query).await;
    assert_eq!(
        post_consent(base, &handle, "forged", Some(&cookie2), "approve")
            .await
            .status(),
        403
    );
    assert_eq!(
        post_consent(base, &handle, &csrf, Some(&cookie), "approve")
            .await
            .status(),
        400,
        "a handle is single use: even a failed try spends it"
    );
    // From another origin: refused.
    let (handle, csrf, cookie, _) = consent_page(base, &query).await;
    let response = browser()
        .post(format!("{base}/oauth/consent"))
        .header("origin", "https://evil.example")
        .header("cookie", &cookie)
        .form(&[
            ("handle", handle.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // What a browser sends from our page (its real Origin) is accepted; `null` is not.
    let post = |origin: String, handle: String, csrf: String, cookie: String| async move {
        browser()
            .post(format!("{base}/oauth/consent"))
            .header("origin", origin)
            .header("cookie", cookie)
            .form(&[
                ("handle", handle.as_str()),
                ("csrf", csrf.as_str()),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap()
            .status()
    };
    let (handle, csrf, cookie, _) = consent_page(base, &query).await;
    assert_eq!(post(base.clone(), handle, csrf, cookie).await, 303);
    let (handle, csrf, cookie, _) = consent_page(base, &query).await;
    assert_eq!(post("null".into(), handle, csrf, cookie).await, 403);
    // Replayed: the first post goes to GitHub, the second is refused.
    let (handle, csrf, cookie, _) = consent_page(base, &query).await;
    assert_eq!(
        post_consent(base, &handle, &csrf, Some(&cookie), "approve")
            .await
            .status(),
        303
    );
    assert_eq!(
        post_consent(base, &handle, &csrf, Some(&cookie), "approve")
            .await
            .status(),
        400
    );
    // Deny: back to the client with access_denied, and nothing goes to GitHub.
    let (handle, csrf, cookie, _) = consent_page(base, &query).await;
    let denied = post_consent(base, &handle, &csrf, Some(&cookie), "deny").await;
    let to = location(&denied);
    assert!(
        to.starts_with(REDIRECT) && query_param(&to, "error").as_deref() == Some("access_denied"),
        "{to}"
    );
}

#[tokio::test]
async fn bearer_tokens_must_be_ours_and_github_tokens_still_work_by_header() {
    let double = Double::start().await;
    let server = oauth_server(&double, APP, &[]).await;
    // A GitHub token as Bearer is not passed through: 401 invalid_token.
    let (status, challenge, _) = raw_mcp(&server, Some(ALICE), initialize()).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let (status, _, _) = raw_mcp(
        &server,
        Some("grm_at_forgedforgedforgedforgedforgedforgedforg"),
        initialize(),
    )
    .await;
    assert_eq!(status, 401);
    // X-GitHub-Token and _meta.token still work unless the operator turns them off.
    let client = server.connect(&[("x-github-token", BOB)], None).await;
    assert_eq!(
        whoami(&client, None).await,
        ("bob".to_owned(), "header".to_owned())
    );
    client.cancel().await.unwrap();

    let strict = oauth_server(&double, APP, &["--oauth-only"]).await;
    let (status, _, body) = raw_mcp(&strict, None, initialize()).await;
    assert_eq!(status, 401, "{body}");
    let response = browser()
        .post(strict.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("x-github-token", BOB)
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "GitHub tokens are turned off");
    assert!(response.text().await.unwrap().contains("turned off"));
}

#[tokio::test]
async fn revocation_ends_the_grant_and_a_token_revoked_at_github_signs_the_user_out() {
    let double = Double::start().await;
    let server = oauth_server(&double, APP, &[]).await;
    let base = &server.base;
    // RFC 7009 revocation by the client.
    let (_, tokens) = signed_in_tokens(&server, None, "alice").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(raw_mcp(&server, Some(access), initialize()).await.0, 200);
    let response = browser()
        .post(format!("{base}/oauth/revoke"))
        .form(&[("token", tokens["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(raw_mcp(&server, Some(access), initialize()).await.0, 401);
    let unknown = browser()
        .post(format!("{base}/oauth/revoke"))
        .form(&[("token", "grm_rt_unknown")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        200,
        "revocation says nothing about unknown tokens"
    );

    // GitHub revokes the user's token: the next call's 401 ends our grant.
    let (_, tokens) = signed_in_tokens(&server, None, "carol").await;
    let access = tokens["access_token"].as_str().unwrap();
    let client = server.connect(&[], Some(access)).await;
    assert_eq!(whoami(&client, None).await.0, "carol");
    let revoked = reqwest::Client::new()
        .post(format!("{}/_double/oauth/revoke", double.url))
        .json(&json!({"login": "carol"}))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let result = call(&client, "whoami", json!({}), None).await;
    assert!(is_error(&result), "GitHub refused the token");
    client.cancel().await.unwrap();
    let (status, challenge, _) = raw_mcp(&server, Some(access), initialize()).await;
    assert_eq!(
        status, 401,
        "the grant ended with GitHub's 401: the client signs in again"
    );
    assert!(challenge.contains("invalid_token"));
    assert_log_has_none_of(&server, &[]);
}

#[tokio::test]
async fn a_github_apps_expiring_user_token_is_refreshed_upstream() {
    let double = Double::start().await;
    // Its user tokens live 30 s: inside the server's one-minute margin, so every
    // request finds the token expiring and refreshes it first.
    let server = oauth_server(&double, SHORT_LIVED_APP, &[]).await;
    let stats = || async {
        reqwest::get(format!("{}/_double/oauth/stats", double.url))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let (_, tokens) = signed_in_tokens(&server, None, "bob").await;
    let before = stats().await["refreshes"].as_u64().unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let client = server.connect(&[], Some(access)).await;
    assert_eq!(
        whoami(&client, None).await,
        ("bob".to_owned(), "oauth".to_owned())
    );
    client.cancel().await.unwrap();
    let after = stats().await["refreshes"].as_u64().unwrap();
    assert!(
        after > before,
        "the GitHub token was refreshed upstream ({before} -> {after})"
    );
    assert!(server.logs().contains("GitHub user token refreshed"));

    // GitHub revokes the user's tokens, refresh token included: the next refresh is
    // refused, the grant ends, and the client is told to sign in again.
    let revoked = reqwest::Client::new()
        .post(format!("{}/_double/oauth/revoke", double.url))
        .json(&json!({"login": "bob"}))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let (status, challenge, _) = raw_mcp(&server, Some(access), initialize()).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_token"), "{challenge}");
    assert_log_has_none_of(
        &server,
        &[
            access,
            tokens["refresh_token"].as_str().unwrap(),
            SHORT_LIVED_APP.1,
        ],
    );
}

#[tokio::test]
async fn a_restart_signs_nobody_out() {
    let double = Double::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = format!("file:{}", dir.path().join("state.redb").display());
    let port = free_port();
    let server = oauth_server_on(&double, APP, &[], port, Some(&state)).await;
    let (client_id, tokens) = signed_in_tokens(&server, None, "alice").await;
    assert_eq!(server.terminate().await, Some(0));
    let server = oauth_server_on(&double, APP, &[], port, Some(&state)).await;
    let client = server
        .connect(&[], Some(tokens["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(
        whoami(&client, None).await,
        ("alice".to_owned(), "oauth".to_owned())
    );
    client.cancel().await.unwrap();
    let (status, _) = token_request(
        &server.base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let raw = std::fs::read(dir.path().join("state.redb")).unwrap();
    let haystack = String::from_utf8_lossy(&raw);
    for secret in [
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    ] {
        assert!(
            !haystack.contains(&secret[7..]),
            "a token is stored in clear"
        );
    }
    assert_log_has_none_of(&server, &[]);
}

/// A client ID metadata document served from loopback (the server runs in test mode).
async fn serve_documents() -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let own = base.clone();
    let app = axum::Router::new()
        .route("/client.json", get(move || { let own = own.clone(); async move { axum::Json(json!({"client_id": format!("{own}/client.json"), "client_name": "Doc Client", "redirect_uris": [REDIRECT]})) } }))
        .route("/mismatch.json", get(|| async { axum::Json(json!({"client_id": "https://other.example/client.json", "redirect_uris": [REDIRECT]})) }))
        .route("/big.json", get(|| async { "x".repeat(64 * 1024) }))
        .route("/slow.json", get(|| async { tokio::time::sleep(Duration::from_secs(30)).await; "{}" }));
    let handle = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, handle)
}

#[tokio::test]
async fn a_client_id_metadata_document_signs_in_and_bad_documents_are_refused() {
    let double = Double::start().await;
    let server = oauth_server(&double, APP, &["--oauth-test-mode"]).await;
    let base = &server.base;
    let (docs, _serving) = serve_documents().await;
    let client_id = format!("{docs}/client.json");
    let (code, verifier) = sign_in(
        base,
        &Authorization {
            client_id: &client_id,
            redirect: REDIRECT,
            scope: None,
            login: "dave",
        },
    )
    .await;
    let (status, tokens) = redeem(base, &client_id, &code, &verifier, REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    let client = server
        .connect(&[], Some(tokens["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(
        whoami(&client, None).await,
        ("dave".to_owned(), "oauth".to_owned())
    );
    client.cancel().await.unwrap();

    let (_, challenge) = pkce();
    for (path, why) in [
        ("/mismatch.json", "does not match"),
        ("/big.json", "larger than"),
        ("/slow.json", "within"),
    ] {
        let started = std::time::Instant::now();
        let client_id = format!("{docs}{path}");
        let url = url::Url::parse_with_params(
            &format!("{base}/oauth/authorize"),
            &[
                ("client_id", client_id.as_str()),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .unwrap();
        let response = browser().get(url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        assert!(response.headers().get("location").is_none());
        assert!(response.text().await.unwrap().contains(why), "{path}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{path} is bounded in time"
        );
    }

    // Outside test mode, documents on loopback or private addresses are refused.
    let production = oauth_server(&double, APP, &[]).await;
    for client_id in [
        format!("{docs}/client.json").replace("http://", "https://"),
        "https://10.0.0.7/client.json".to_owned(),
        "https://localhost:1/client.json".to_owned(),
        format!("{docs}/client.json"),
    ] {
        let url = url::Url::parse_with_params(
            &format!("{}/oauth/authorize", production.base),
            &[
                ("client_id", client_id.as_str()),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
            ],
        )
        .unwrap();
        let response = browser().get(url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{client_id}");
        assert!(response.headers().get("location").is_none());
    }
    assert_log_has_none_of(&server, &[]);
}

#[tokio::test]
async fn rmcps_authorization_manager_signs_in_against_our_issuer() {
    use rmcp::transport::auth::{AuthClient, AuthorizationManager};
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::ServiceExt;

    let double = Double::start().await;
    let server = oauth_server(&double, APP, &[]).await;
    let base = server.base.clone();
    let mut manager =
        AuthorizationManager::new_allowing_private_addresses(server.mcp_url().as_str())
            .await
            .unwrap();
    let resolution = manager.resolve_metadata().await.unwrap();
    manager.set_metadata(resolution.metadata);
    let config = manager
        .register_client(
            "rmcp test client",
            REDIRECT,
            &["review:read", "review:write"],
        )
        .await
        .unwrap();
    manager.configure_client(config).unwrap();
    let auth_url = manager
        .get_authorization_url(&["review:read", "review:write"])
        .await
        .unwrap();
    assert!(
        auth_url.starts_with(&format!("{base}/oauth/authorize?")),
        "{auth_url}"
    );

    // The browser's part, as a person would do it.
    let page = browser().get(&auth_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let approved = post_consent(
        &base,
        &hidden(&html, "handle"),
        &hidden(&html, "csrf"),
        Some(&cookie),
        "approve",
    )
    .await;
    let at_github = browser()
        .get(format!("{}&auto_approve=alice", location(&approved)))
        .send()
        .await
        .unwrap();
    let back = browser().get(location(&at_github)).send().await.unwrap();
    let to_client = location(&back);
    let code = query_param(&to_client, "code").unwrap();
    let state = query_param(&to_client, "state").unwrap();
    // We advertise RFC 9207, so rmcp insists on the `iss` of the redirect.
    let iss = query_param(&to_client, "iss");
    assert!(
        manager
            .exchange_code_for_token(&code, &state)
            .await
            .is_err(),
        "without iss rmcp refuses"
    );
    manager
        .exchange_code_for_token_with_issuer(&code, &state, iss.as_deref())
        .await
        .unwrap();

    let transport = StreamableHttpClientTransport::with_client(
        AuthClient::new(reqwest::Client::new(), manager),
        StreamableHttpClientTransportConfig::with_uri(server.mcp_url()),
    );
    let client = ().serve(transport).await.expect("rmcp connects with its own OAuth token");
    assert_eq!(
        whoami(&client, None).await,
        ("alice".to_owned(), "oauth".to_owned())
    );
    client.cancel().await.unwrap();
    assert_log_has_none_of(&server, &[]);
}
