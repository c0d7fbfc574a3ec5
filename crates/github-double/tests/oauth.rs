//! The OAuth web flow over real HTTP, driven the way a browser and a client app
//! drive github.com: the authorize page, its form, the redirect, the exchange.

mod common;

use common::*;
use github_double::oauth::wire::{form_encode, parse_form};
use github_double::Running;
use serde_json::Value;

const CB: &str = "http://127.0.0.1:1/callback";

/// The `(name, value)` of every hidden input of a page, unescaped.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let len = tag[start..].find('"')?;
        Some(
            tag[start..start + len]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    };
    html.split("<input ")
        .skip(1)
        .filter(|t| t.starts_with("type=\"hidden\""))
        .filter_map(|t| Some((attr(t, "name")?, attr(t, "value")?)))
        .collect()
}

/// The query parameter `key` of a 302's `Location`.
fn location_param(r: &reqwest::Response, key: &str) -> Option<String> {
    let loc = r.headers()["location"].to_str().unwrap();
    let query = loc.split_once('?')?.1;
    parse_form(query)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

async fn post_form(d: &Running, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
    client()
        .post(format!("{}{path}", d.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(pairs))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_browser_signs_in_as_dave_and_the_app_reads_his_private_repo() {
    let d = start().await;
    let query = form_encode(&[
        ("client_id", "Iv1.doubleoauthapp"),
        ("redirect_uri", CB),
        ("state", "st&1"),
        ("scope", "repo"),
        ("login", "dave"),
    ]);
    let page = get(&d, None, &format!("/login/oauth/authorize?{query}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<option value="dave" selected>dave</option>"#));

    // The browser posts the hidden inputs, the selected login and the button.
    let mut form = hidden_inputs(&html);
    form.push(("login".into(), "dave".into()));
    form.push(("decision".into(), "approve".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (&**k, &**v)).collect();
    let back = post_form(&d, "/login/oauth/authorize", &pairs).await;
    assert_eq!(back.status(), 302);
    assert!(back.headers()["location"].to_str().unwrap().starts_with(CB));
    assert_eq!(location_param(&back, "state").as_deref(), Some("st&1"));
    let code = location_param(&back, "code").unwrap();

    // The app trades the code with Basic client auth; no Accept: a form answer.
    let answer = client()
        .post(format!("{}/login/oauth/access_token", d.base_url()))
        .basic_auth("Iv1.doubleoauthapp", Some("double-oauth-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&[
            ("code", code.as_str()),
            ("redirect_uri", CB),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let fields = parse_form(&answer.text().await.unwrap());
    let token = &fields.iter().find(|(k, _)| k == "access_token").unwrap().1;
    assert!(token.starts_with("gho_"));

    let me: Value = get(&d, Some(token), "/user").await.json().await.unwrap();
    assert_eq!(me["login"], "dave");
    let repo = get(&d, Some(token), "/repos/acme/secret").await;
    assert_eq!(repo.status(), 200);
    assert_eq!(repo.headers()["x-oauth-scopes"], "repo");

    let entries = log(&d).await;
    let approve = entries
        .iter()
        .find(|e| e["method"] == "POST" && e["path"] == "/login/oauth/authorize")
        .unwrap();
    assert_eq!(
        (approve["user"].as_str(), approve["status"].as_u64()),
        (Some("dave"), Some(302))
    );
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(&code) && !text.contains(token.as_str()));
}

#[tokio::test]
async fn a_github_app_refreshes_after_the_double_expires_its_token() {
    let d = start().await;
    let query = form_encode(&[
        ("client_id", "Iv23.doublegithubapp"),
        ("redirect_uri", CB),
        ("auto_approve", "bob"),
    ]);
    let back = get(&d, None, &format!("/login/oauth/authorize?{query}")).await;
    let code = location_param(&back, "code").unwrap();
    let exchange = |body: Value| {
        client()
            .post(format!("{}/login/oauth/access_token", d.base_url()))
            .header("accept", "application/json")
            .json(&body)
            .send()
    };
    let t: Value = exchange(serde_json::json!({
        "client_id": "Iv23.doublegithubapp",
        "client_secret": "double-app-secret",
        "code": code,
    }))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(t["expires_in"], 28_800);
    let (status, body) = graphql(&d, Some(access), "{ viewer { login } }", Value::Null).await;
    assert_eq!(
        (status, &body["data"]["viewer"]["login"]),
        (200, &Value::from("bob"))
    );

    let expired = client()
        .post(format!("{}/_double/oauth/expire", d.base_url()))
        .json(&serde_json::json!({"login": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.json::<Value>().await.unwrap()["expired"], 1);
    let r = get(&d, Some(access), "/user").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "Bad credentials"
    );

    let fresh: Value = exchange(serde_json::json!({
        "client_id": "Iv23.doublegithubapp",
        "client_secret": "double-app-secret",
        "grant_type": "refresh_token",
        "refresh_token": t["refresh_token"],
    }))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let (status, _) = graphql(
        &d,
        fresh["access_token"].as_str(),
        "{ viewer { login } }",
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let stats: Value = get(&d, None, "/_double/oauth/stats")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats,
        serde_json::json!({"codes_issued": 1, "codes_redeemed": 1, "tokens_issued": 2,
                           "refreshes": 1, "denials": 0})
    );
}
