//! Sign-in helpers for the end-to-end tests: a server with `--oauth` in front of the
//! double, and the browser's and client's steps of the authorization code flow.

use serde_json::{json, Value};

use super::*;

pub const OAUTH_KEY: &str = "5c1f0e6a9b2d4c7e8f10213243546576879a0b1c2d3e4f5061728394a5b6c7d8";
pub const APP: (&str, &str) = ("Iv1.doubleoauthapp", "double-oauth-secret");
pub const GITHUB_APP: (&str, &str) = ("Iv23.doublegithubapp", "double-app-secret");
pub const SHORT_LIVED_APP: (&str, &str) = ("Iv23.shortlivedapp", "short-lived-secret");
pub const REDIRECT: &str = "http://127.0.0.1:33418/callback";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server signing users in through the double, at a known public URL.
pub async fn oauth_server(double: &Double, app: (&str, &str), extra: &[&str]) -> HttpServer {
    oauth_server_on(double, app, extra, free_port(), None).await
}

pub async fn oauth_server_on(
    double: &Double,
    app: (&str, &str),
    extra: &[&str],
    port: u16,
    state: Option<&str>,
) -> HttpServer {
    oauth_replica(
        double,
        app,
        extra,
        port,
        &format!("http://127.0.0.1:{port}"),
        state,
    )
    .await
}

/// A server on `port` whose public URL is `public` (a replica behind a balancer).
pub async fn oauth_replica(
    double: &Double,
    app: (&str, &str),
    extra: &[&str],
    port: u16,
    public: &str,
    state: Option<&str>,
) -> HttpServer {
    let listen = format!("127.0.0.1:{port}");
    let mut args: Vec<&str> = vec!["--listen", &listen, "--oauth", "--public-url", public];
    args.extend_from_slice(extra);
    if let Some(state) = state {
        args.extend_from_slice(&["--state", state]);
    }
    let env = [
        ("GITHUB_OAUTH_CLIENT_ID", app.0),
        ("GITHUB_OAUTH_CLIENT_SECRET", app.1),
        ("GITHUB_REVIEW_MCP_OAUTH_KEY", OAUTH_KEY),
        (
            "GITHUB_REVIEW_MCP_FINGERPRINT_KEY",
            "fingerprint-key-for-tests",
        ),
    ];
    HttpServer::start(
        double,
        ServerOptions {
            args: &args,
            env: &env,
            ..Default::default()
        },
    )
    .await
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn pkce() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = format!("verifier-{}-{}", rand_hex(), rand_hex());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn rand_hex() -> String {
    format!("{:016x}", rand::random::<u64>())
}

pub async fn register(base: &str, redirect_uris: &[&str]) -> String {
    let response = browser()
        .post(format!("{base}/oauth/register"))
        .json(&json!({ "client_name": "Test Client", "redirect_uris": redirect_uris, "token_endpoint_auth_method": "none" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_endpoint_auth_method"], "none");
    body["client_id"].as_str().unwrap().to_owned()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location in {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name={name} value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The consent page of an authorization request: (handle, csrf, cookie).
pub async fn consent_page(base: &str, query: &[(&str, &str)]) -> (String, String, String, String) {
    let url = url::Url::parse_with_params(&format!("{base}/oauth/authorize"), query).unwrap();
    let response = browser().get(url).send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "authorize did not show the consent page"
    );
    let cookie = response
        .headers()
        .get("set-cookie")
        .expect("the consent page sets its CSRF cookie")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("__Host-grm-consent=")
            && cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = response.text().await.unwrap();
    (hidden(&html, "handle"), hidden(&html, "csrf"), cookie, html)
}

pub async fn post_consent(
    base: &str,
    handle: &str,
    csrf: &str,
    cookie: Option<&str>,
    decision: &str,
) -> reqwest::Response {
    let mut request = browser().post(format!("{base}/oauth/consent")).form(&[
        ("handle", handle),
        ("csrf", csrf),
        ("decision", decision),
    ]);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

pub struct Authorization<'a> {
    pub client_id: &'a str,
    pub redirect: &'a str,
    pub scope: Option<&'a str>,
    pub login: &'a str,
}

/// Walks the browser's part: consent, GitHub (the double approves as `login`), our
/// callback. Returns the code, the state the client got back, and the verifier.
pub async fn sign_in(base: &str, a: &Authorization<'_>) -> (String, String) {
    let (verifier, challenge) = pkce();
    let state = format!("state-{}", rand_hex());
    let resource = format!("{base}/mcp");
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", a.client_id),
        ("redirect_uri", a.redirect),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("state", &state),
        ("resource", &resource),
    ];
    if let Some(scope) = a.scope {
        query.push(("scope", scope));
    }
    let (handle, csrf, cookie, _) = consent_page(base, &query).await;
    let approved = post_consent(base, &handle, &csrf, Some(&cookie), "approve").await;
    assert_eq!(approved.status(), 303);
    let github = location(&approved);
    assert!(query_param(&github, "code_challenge_method").as_deref() == Some("S256"));
    // An OAuth App is asked for --oauth-github-scopes (default `repo`).
    assert_eq!(query_param(&github, "scope").as_deref(), Some("repo"));
    assert_ne!(
        query_param(&github, "state").as_deref(),
        Some(state.as_str()),
        "GitHub gets its own state"
    );
    let at_github = browser()
        .get(format!("{github}&auto_approve={}", a.login))
        .send()
        .await
        .unwrap();
    let callback = location(&at_github);
    assert!(
        callback.starts_with(&format!("{base}/oauth/callback?")),
        "{callback}"
    );
    let back = browser().get(&callback).send().await.unwrap();
    assert_eq!(back.status(), 303);
    let to_client = location(&back);
    assert!(to_client.starts_with(a.redirect), "{to_client}");
    assert_eq!(
        query_param(&to_client, "state").as_deref(),
        Some(state.as_str())
    );
    assert_eq!(query_param(&to_client, "iss").as_deref(), Some(base));
    (query_param(&to_client, "code").expect("a code"), verifier)
}

pub async fn token_request(base: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = browser()
        .post(format!("{base}/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (status, response.json().await.unwrap())
}

pub async fn redeem(
    base: &str,
    client_id: &str,
    code: &str,
    verifier: &str,
    redirect: &str,
) -> (u16, Value) {
    token_request(
        base,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client_id),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
            ("resource", &format!("{base}/mcp")),
        ],
    )
    .await
}

/// A whole sign-in for a new client: the token answer.
pub async fn signed_in_tokens(
    server: &HttpServer,
    scope: Option<&str>,
    login: &str,
) -> (String, Value) {
    let base = &server.base;
    let client_id = register(base, &[REDIRECT]).await;
    let (code, verifier) = sign_in(
        base,
        &Authorization {
            client_id: &client_id,
            redirect: REDIRECT,
            scope,
            login,
        },
    )
    .await;
    let (status, tokens) = redeem(base, &client_id, &code, &verifier, REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    (client_id, tokens)
}

/// A raw JSON-RPC POST to /mcp: (status, WWW-Authenticate, body).
pub async fn raw_mcp(
    server: &HttpServer,
    bearer: Option<&str>,
    body: Value,
) -> (u16, String, String) {
    let mut request = browser()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .json(&body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge, response.text().await.unwrap_or_default())
}

pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}})
}
