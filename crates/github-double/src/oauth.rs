//! GitHub's OAuth web flow for the seed's OAuth Apps and GitHub Apps, so a client
//! that signs users in can be tested end to end against the double.
//!
//! - `GET /login/oauth/authorize` shows an "Authorize <app>" page where picking a
//!   seeded user stands in for signing in; `POST` of that page approves (302 with
//!   `code`) or denies (302 with `error=access_denied`). Double-only switch:
//!   `GET ...?auto_approve=<login>` approves at once as that user, for tests
//!   without a browser.
//! - `POST /login/oauth/access_token` trades a code (with PKCE S256) or a GitHub
//!   App's refresh token for tokens, answering errors with 200 as GitHub does.
//! - `DELETE /applications/{client_id}/grant|token` (REST, Basic client auth)
//!   and `/_double/oauth/{revoke,expire,stats}` revoke and expire tokens.
//!
//! The `/login/oauth/*` pages are served as GitHub serves them, on the web host
//! (no `/api/v3` prefix), outside the API gate: no token, no rate limit, no
//! injected faults or latency, but logged, with codes and secrets fingerprinted.
//!
//! Architecture invariant: issued tokens authenticate through `server::gate`
//! exactly like seeded ones (`AppState::oauth` is consulted after the world's
//! tokens); past the gate no handler knows a token came from this flow.

pub mod page;
pub mod store;
pub mod wire;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub use store::{OAuth, Stats, TokenError, TokenOwner};

use crate::requestlog::LogEntry;
use crate::seed::{AppKind, SeedOAuthApp};
use crate::server::{gh_error, json_headers, Original};
use crate::state::AppState;
use crate::time::now_epoch;
use crate::world::{UserIx, World};
use store::{Grant, Issued};

const DOC_APP_TOKENS: &str = "https://docs.github.com/rest/apps/oauth-applications";
const ACCESS_DENIED_URI: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied";

/// The web-flow pages and the REST revocation endpoints.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/login/oauth/authorize",
            get(authorize_page).post(authorize_decision),
        )
        .route("/login/oauth/access_token", post(access_token))
        .route("/applications/{client_id}/grant", delete(delete_app_grant))
        .route("/applications/{client_id}/token", delete(delete_app_token))
}

/// `/_double/oauth/*`, nested by `control::router`.
pub fn control_router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/revoke", post(control_revoke))
        .route("/expire", post(control_expire))
        .route("/stats", get(control_stats))
}

/// Whether the gate hands `path` to `web_gate` instead of the API checks.
pub fn is_web_path(path: &str) -> bool {
    path.starts_with("/login/oauth/")
}

/// The login a web-flow answer acted for, put on the response for the log.
#[derive(Clone)]
struct ActedFor(String);

/// The gate for `/login/oauth/*`: log the request (secrets fingerprinted) and
/// serve it only on the web host, as GHES does not serve it under `/api/v3`.
pub async fn web_gate(app: &AppState, original: &Original, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut entry = LogEntry {
        seq: 0,
        method: req.method().to_string(),
        path: original.path.clone(),
        query: req.uri().query().map(wire::redact_query),
        user: None,
        token_fingerprint: None,
        status: 0,
        graphql_operation: None,
        if_none_match: false,
        writes: 0,
    };
    let resp = if original.prefix.is_empty() {
        next.run(req).await
    } else {
        gh_error(StatusCode::NOT_FOUND, "Not Found", crate::server::DOC_REST)
    };
    entry.user = resp.extensions().get::<ActedFor>().map(|a| a.0.clone());
    entry.status = resp.status().as_u16();
    app.log.record_time(started.elapsed().as_micros() as u64);
    app.log.push(entry);
    resp
}

/// Decoded query or form parameters; the first occurrence of a name counts and
/// an empty value counts as absent.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// What the authorize page posts back: everything but the page's own fields.
    fn hidden(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "login" | "decision" | "auto_approve"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// A checked authorize request: the app exists and may redirect there.
struct Authorization<'w> {
    app: &'w SeedOAuthApp,
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
    challenge: Option<String>,
}

impl Authorization<'_> {
    /// Where to send the user back: the redirect URI with `pairs` and `state`.
    fn location(&self, pairs: &[(&str, &str)]) -> String {
        let mut all = pairs.to_vec();
        if let Some(s) = &self.state {
            all.push(("state", s));
        }
        wire::with_params(&self.redirect_uri, &all)
    }
}

fn found(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Scopes as GitHub records them: split on spaces or commas, duplicates dropped.
fn normalize_scopes(scope: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope
        .unwrap_or("")
        .split([' ', ','])
        .filter(|s| !s.is_empty())
    {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// Why the authorize flow stops. Problems with the app or the redirect are shown
/// as a page (GitHub never redirects to an unverified URL); the others go back
/// to the client as a redirect carrying `error`.
enum Refusal {
    UnknownApp,
    RedirectMismatch,
    UnknownUser(String),
    BadDecision,
    /// A 302 to this location.
    Redirect(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::UnknownApp => page::error(
                StatusCode::NOT_FOUND,
                "Not Found",
                "No application is registered with this client_id.",
            ),
            Refusal::RedirectMismatch => page::error(
                StatusCode::BAD_REQUEST,
                "redirect_uri mismatch",
                "The redirect_uri is not associated with this application.",
            ),
            Refusal::UnknownUser(login) => page::error(
                StatusCode::BAD_REQUEST,
                "Unknown user",
                &format!("No seeded user has the login {login:?}."),
            ),
            Refusal::BadDecision => page::error(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "decision must be approve or deny.",
            ),
            Refusal::Redirect(location) => found(&location),
        }
    }
}

/// Checks an authorize request; only S256 PKCE is accepted, as on GitHub.
fn validate<'w>(world: &'w World, q: &Params) -> Result<Authorization<'w>, Refusal> {
    let app = q
        .get("client_id")
        .and_then(|id| world.oauth_apps.get(id))
        .ok_or(Refusal::UnknownApp)?;
    let redirect_uri = match q.get("redirect_uri") {
        Some(r) if wire::redirect_allowed(app.kind, &app.callback_urls, r) => r.to_string(),
        Some(_) => return Err(Refusal::RedirectMismatch),
        None => app
            .callback_urls
            .first()
            .cloned()
            .ok_or(Refusal::RedirectMismatch)?,
    };
    let auth = Authorization {
        app,
        redirect_uri,
        state: q.get("state").map(str::to_string),
        scopes: match app.kind {
            AppKind::OauthApp => normalize_scopes(q.get("scope")),
            AppKind::GithubApp => vec![],
        },
        challenge: q.get("code_challenge").map(str::to_string),
    };
    if auth.challenge.is_some() && q.get("code_challenge_method") != Some("S256") {
        return Err(Refusal::Redirect(auth.location(&[
            ("error", "invalid_request"),
            (
                "error_description",
                "code_challenge_method must be S256; GitHub accepts no other method.",
            ),
        ])));
    }
    Ok(auth)
}

async fn authorize_page(State(app): State<Arc<AppState>>, uri: Uri) -> Result<Response, Refusal> {
    let q = Params(wire::parse_form(uri.query().unwrap_or("")));
    let world = app.world();
    let auth = validate(&world, &q)?;
    if let Some(login) = q.get("auto_approve") {
        return approve(&app, &world, &auth, login);
    }
    let logins: Vec<&str> = world.users.iter().map(|u| u.login.as_str()).collect();
    let selected = q
        .get("login")
        .filter(|l| world.user_by_login.contains_key(&l.to_lowercase()))
        .or(logins.first().copied())
        .unwrap_or("");
    Ok(page::authorize(&page::AuthorizeView {
        app: auth.app,
        hidden: q.hidden(),
        logins,
        selected,
        scopes: &auth.scopes,
        redirect_uri: &auth.redirect_uri,
    }))
}

async fn authorize_decision(
    State(app): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, Refusal> {
    let q = Params(wire::parse_form(&String::from_utf8_lossy(&body)));
    let world = app.world();
    let auth = validate(&world, &q)?;
    match q.get("decision") {
        Some("approve") => approve(&app, &world, &auth, q.get("login").unwrap_or("")),
        Some("deny") => {
            app.oauth.record_denial();
            Err(Refusal::Redirect(auth.location(&[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The user has denied your application access.",
                ),
                ("error_uri", ACCESS_DENIED_URI),
            ])))
        }
        _ => Err(Refusal::BadDecision),
    }
}

/// `login` approves: a code bound to the request, sent back with a 302.
fn approve(
    app: &AppState,
    world: &World,
    auth: &Authorization,
    login: &str,
) -> Result<Response, Refusal> {
    let &user = world
        .user_by_login
        .get(&login.to_lowercase())
        .ok_or_else(|| Refusal::UnknownUser(login.to_string()))?;
    let grant = Grant {
        client_id: auth.app.client_id.clone(),
        user,
        scopes: auth.scopes.clone(),
    };
    let code = app.oauth.issue_code(
        grant,
        &auth.redirect_uri,
        auth.challenge.clone(),
        now_epoch(),
    );
    let mut r = found(&auth.location(&[("code", &code)]));
    r.extensions_mut()
        .insert(ActedFor(world.users[user].login.clone()));
    Ok(r)
}

/// The token request's parameters: the body (form or JSON), then the query,
/// which GitHub also reads.
fn token_params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Params {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    let mut pairs = if is_json {
        serde_json::from_slice::<serde_json::Map<String, Value>>(body)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect()
    } else {
        wire::parse_form(&String::from_utf8_lossy(body))
    };
    pairs.extend(wire::parse_form(query.unwrap_or("")));
    Params(pairs)
}

/// Client credentials from HTTP Basic, else from the parameters; the app they
/// authenticate.
fn client<'w>(
    world: &'w World,
    headers: &HeaderMap,
    p: &Params,
) -> Result<&'w SeedOAuthApp, TokenError> {
    let (id, secret) = wire::basic_auth(headers)
        .or_else(|| Some((p.get("client_id")?.into(), p.get("client_secret")?.into())))
        .ok_or(TokenError::IncorrectClientCredentials)?;
    world
        .oauth_apps
        .get(&id)
        .filter(|a| a.client_secret == secret)
        .ok_or(TokenError::IncorrectClientCredentials)
}

fn exchange(
    app: &AppState,
    world: &World,
    headers: &HeaderMap,
    p: &Params,
) -> Result<Issued, TokenError> {
    let client = client(world, headers, p)?;
    let now = now_epoch();
    match p.get("grant_type") {
        None | Some("authorization_code") => app.oauth.redeem(
            client,
            p.get("code").unwrap_or(""),
            p.get("redirect_uri"),
            p.get("code_verifier"),
            now,
        ),
        Some("refresh_token") => {
            app.oauth
                .refresh(client, p.get("refresh_token").unwrap_or(""), now)
        }
        Some(_) => Err(TokenError::UnsupportedGrantType),
    }
}

async fn access_token(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let p = token_params(&headers, uri.query(), &body);
    let world = app.world();
    let json = wants_json(&headers);
    match exchange(&app, &world, &headers, &p) {
        Ok(issued) => {
            let mut r = token_answer(issued.fields(), json);
            r.extensions_mut()
                .insert(ActedFor(world.users[issued.user].login.clone()));
            r
        }
        Err(e) => token_answer(
            vec![
                ("error", e.code().into()),
                ("error_description", e.to_string().into()),
                ("error_uri", e.uri().into()),
            ],
            json,
        ),
    }
}

/// GitHub answers the token endpoint in JSON only when asked to.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("json"))
}

/// A 200 token answer (errors too, as on GitHub), JSON or form-encoded.
fn token_answer(fields: Vec<(&'static str, Value)>, json: bool) -> Response {
    let mut r = if json {
        let map: serde_json::Map<String, Value> = fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        (
            StatusCode::OK,
            json_headers(),
            Value::Object(map).to_string(),
        )
            .into_response()
    } else {
        let pairs: Vec<(&str, String)> = fields
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => (*k, s.clone()),
                other => (*k, other.to_string()),
            })
            .collect();
        let ct = HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8");
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, ct)],
            wire::form_encode(&pairs),
        )
            .into_response()
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn delete_app_grant(
    State(app): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    app_revocation(&app, &client_id, &headers, &body, OAuth::revoke_app_grant)
}

async fn delete_app_token(
    State(app): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    app_revocation(&app, &client_id, &headers, &body, OAuth::revoke_app_token)
}

/// The REST revocations: the app authenticates with Basic `client_id:secret`
/// and names an `access_token` of its own in the JSON body; 204 when revoked.
fn app_revocation(
    app: &AppState,
    client_id: &str,
    headers: &HeaderMap,
    body: &[u8],
    revoke: fn(&OAuth, &str, &str) -> bool,
) -> Response {
    let Some((id, secret)) = wire::basic_auth(headers) else {
        return gh_error(
            StatusCode::UNAUTHORIZED,
            "Requires authentication",
            DOC_APP_TOKENS,
        );
    };
    let world = app.world();
    let authed = id == client_id
        && world
            .oauth_apps
            .get(client_id)
            .is_some_and(|a| a.client_secret == secret);
    if !authed {
        return gh_error(StatusCode::NOT_FOUND, "Not Found", DOC_APP_TOKENS);
    }
    let token = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| Some(v.get("access_token")?.as_str()?.to_string()));
    let Some(token) = token else {
        return gh_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.\n\n\"access_token\" wasn't supplied.",
            DOC_APP_TOKENS,
        );
    };
    if revoke(&app.oauth, client_id, &token) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        gh_error(StatusCode::NOT_FOUND, "Not Found", DOC_APP_TOKENS)
    }
}

/// Body of the control endpoints: exactly one of a login or a token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetBody {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

enum Target {
    User(UserIx),
    Token(String),
}

/// A refused control request: `{"message"}` with a status.
struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "message": self.1 }))).into_response()
    }
}

fn parse_target(world: &World, body: &[u8]) -> Result<Target, ControlError> {
    let b: TargetBody = serde_json::from_slice(body)
        .map_err(|e| ControlError(StatusCode::BAD_REQUEST, e.to_string()))?;
    match (b.login, b.token) {
        (Some(login), None) => world
            .user_by_login
            .get(&login.to_lowercase())
            .map(|&u| Target::User(u))
            .ok_or_else(|| ControlError(StatusCode::NOT_FOUND, format!("no user {login:?}"))),
        (None, Some(token)) => Ok(Target::Token(token)),
        _ => Err(ControlError(
            StatusCode::BAD_REQUEST,
            "give exactly one of \"login\" and \"token\"".into(),
        )),
    }
}

/// `POST /_double/oauth/revoke`: `{"login"}` revokes all that user's codes and
/// tokens, `{"token"}` one access or refresh token and its partner.
async fn control_revoke(
    State(app): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let n = match parse_target(&app.world(), &body)? {
        Target::User(u) => app.oauth.revoke_user(u),
        Target::Token(t) => app.oauth.revoke_token(&t),
    };
    Ok(Json(serde_json::json!({ "revoked": n })))
}

/// `POST /_double/oauth/expire`: the user's (or one) expiring access tokens
/// expire now; refresh tokens stay valid, so a client must refresh.
async fn control_expire(
    State(app): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let now = now_epoch();
    let n = match parse_target(&app.world(), &body)? {
        Target::User(u) => app.oauth.expire_user(u, now),
        Target::Token(t) => app.oauth.expire_token(&t, now),
    };
    Ok(Json(serde_json::json!({ "expired": n })))
}

async fn control_stats(State(app): State<Arc<AppState>>) -> Json<Stats> {
    Json(app.oauth.stats())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{default_oauth_apps, Seed, SeedUser};
    use crate::DoubleConfig;
    use axum::body::Body;
    use base64::Engine;
    use tower::ServiceExt;

    const OAUTH_APP: (&str, &str) = ("Iv1.doubleoauthapp", "double-oauth-secret");
    const GITHUB_APP: (&str, &str) = ("Iv23.doublegithubapp", "double-app-secret");
    const CB: &str = "http://127.0.0.1:9/cb";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    /// alice and bob, the generated seeds' two apps, and `Iv1.strict` whose only
    /// callback is `https://app.test/cb`.
    fn double() -> Router {
        let user = |login: &str, scopes: Option<&str>| SeedUser {
            login: login.into(),
            tokens: vec![format!("ghp_{login}")],
            scopes: scopes.map(str::to_string),
            ..SeedUser::default()
        };
        let mut apps = default_oauth_apps();
        apps.push(SeedOAuthApp {
            callback_urls: vec!["https://app.test/cb".into()],
            name: Some("Strict".into()),
            ..SeedOAuthApp::new("Iv1.strict", "strict-secret", AppKind::OauthApp)
        });
        let seed = Seed {
            users: vec![user("alice", Some("repo")), user("bob", None)],
            repos: vec![],
            oauth_apps: apps,
        };
        let world = World::from_seed(&seed).unwrap();
        let state = AppState::new(
            world,
            DoubleConfig::default(),
            "127.0.0.1:1".parse().unwrap(),
        );
        crate::routes(state)
    }

    async fn call(d: &Router, req: axum::http::request::Builder, body: Body) -> Response {
        d.clone().oneshot(req.body(body).unwrap()).await.unwrap()
    }

    async fn text(r: Response) -> String {
        let b = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    async fn get(d: &Router, uri: &str) -> Response {
        call(d, Request::get(uri), Body::empty()).await
    }

    /// The query parameters of a redirect's `Location`.
    fn location_params(r: &Response) -> Params {
        let loc = r.headers()[header::LOCATION].to_str().unwrap();
        Params(wire::parse_form(loc.split_once('?').map_or("", |x| x.1)))
    }

    fn authorize_uri(client: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("client_id", client),
            ("redirect_uri", CB),
            ("state", "xyz"),
        ];
        pairs.extend_from_slice(extra);
        format!("/login/oauth/authorize?{}", wire::form_encode(&pairs))
    }

    /// A code approved by `login` through `auto_approve`.
    async fn code_for(d: &Router, client: &str, login: &str, extra: &[(&str, &str)]) -> String {
        let mut extra = extra.to_vec();
        extra.push(("auto_approve", login));
        let r = get(d, &authorize_uri(client, &extra)).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        let p = location_params(&r);
        assert_eq!(p.get("state"), Some("xyz"));
        p.get("code").unwrap().to_string()
    }

    /// `POST /login/oauth/access_token` with a form body, asking for JSON.
    async fn token(d: &Router, pairs: &[(&str, &str)]) -> Value {
        let req = Request::post("/login/oauth/access_token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        let r = call(d, req, Body::from(wire::form_encode(pairs))).await;
        assert_eq!(r.status(), StatusCode::OK, "errors are 200 too");
        serde_json::from_str(&text(r).await).unwrap()
    }

    fn exchange_pairs<'a>(app: (&'a str, &'a str), code: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("client_id", app.0),
            ("client_secret", app.1),
            ("code", code),
        ]
    }

    fn refresh_pairs(refresh_token: &str) -> Vec<(&str, &str)> {
        vec![
            ("client_id", GITHUB_APP.0),
            ("client_secret", GITHUB_APP.1),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]
    }

    async fn user(d: &Router, token: &str) -> (StatusCode, HeaderMap, Value) {
        let req = Request::get("/user").header(header::AUTHORIZATION, format!("Bearer {token}"));
        let r = call(d, req, Body::empty()).await;
        let (status, headers) = (r.status(), r.headers().clone());
        (
            status,
            headers,
            serde_json::from_str(&text(r).await).unwrap(),
        )
    }

    async fn control(d: &Router, path: &str, body: Value) -> Value {
        let req = Request::post(format!("/_double/oauth/{path}"))
            .header(header::CONTENT_TYPE, "application/json");
        let r = call(d, req, Body::from(body.to_string())).await;
        assert_eq!(r.status(), StatusCode::OK);
        serde_json::from_str(&text(r).await).unwrap()
    }

    /// A GitHub App's token pair for `login`.
    async fn app_tokens(d: &Router, login: &str) -> (String, String) {
        let code = code_for(d, GITHUB_APP.0, login, &[]).await;
        let t = token(d, &exchange_pairs(GITHUB_APP, &code)).await;
        let s = |k: &str| t[k].as_str().unwrap().to_string();
        (s("access_token"), s("refresh_token"))
    }

    #[tokio::test]
    async fn pkce_code_flow_signs_in_as_the_approving_user() {
        let d = double();
        let challenge = store::s256(VERIFIER);
        let pkce = [
            ("scope", "repo read:org"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let code = code_for(&d, OAUTH_APP.0, "bob", &pkce).await;
        assert_eq!(code.len(), 20);
        let mut pairs = exchange_pairs(OAUTH_APP, &code);
        pairs.extend([("code_verifier", VERIFIER), ("redirect_uri", CB)]);
        let t = token(&d, &pairs).await;
        assert_eq!(
            (t["token_type"].as_str(), t["scope"].as_str()),
            (Some("bearer"), Some("repo,read:org"))
        );
        assert!(t.get("expires_in").is_none() && t.get("refresh_token").is_none());
        let access = t["access_token"].as_str().unwrap();
        assert!(access.starts_with("gho_") && access.len() == 40);
        let (status, headers, me) = user(&d, access).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["login"], "bob");
        assert_eq!(headers["x-oauth-scopes"], "repo, read:org");
        assert_eq!(headers["x-oauth-client-id"], OAUTH_APP.0);
    }

    #[tokio::test]
    async fn a_missing_or_wrong_verifier_is_a_bad_verification_code() {
        let d = double();
        let challenge = store::s256(VERIFIER);
        let pkce = [
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let code = code_for(&d, OAUTH_APP.0, "alice", &pkce).await;
        let mut pairs = exchange_pairs(OAUTH_APP, &code);
        assert_eq!(token(&d, &pairs).await["error"], "bad_verification_code");
        pairs.push((
            "code_verifier",
            "another-verifier-of-sufficient-length-0000000",
        ));
        let t = token(&d, &pairs).await;
        assert_eq!(t["error"], "bad_verification_code");
        assert_eq!(
            t["error_description"],
            "The code passed is incorrect or expired."
        );
        assert!(t["error_uri"]
            .as_str()
            .unwrap()
            .ends_with("#bad-verification-code"));
    }

    #[tokio::test]
    async fn plain_pkce_is_refused_back_to_the_client() {
        let d = double();
        let pkce = [
            ("code_challenge", "abc"),
            ("code_challenge_method", "plain"),
            ("auto_approve", "alice"),
        ];
        let r = get(&d, &authorize_uri(OAUTH_APP.0, &pkce)).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        let p = location_params(&r);
        assert_eq!(
            (p.get("error"), p.get("code")),
            (Some("invalid_request"), None)
        );
    }

    #[tokio::test]
    async fn a_code_works_once() {
        let d = double();
        let code = code_for(&d, OAUTH_APP.0, "alice", &[]).await;
        let pairs = exchange_pairs(OAUTH_APP, &code);
        assert!(token(&d, &pairs).await["access_token"].is_string());
        assert_eq!(token(&d, &pairs).await["error"], "bad_verification_code");
    }

    #[tokio::test]
    async fn redirects_outside_the_callback_are_refused_and_never_followed() {
        let d = double();
        let uri = format!(
            "/login/oauth/authorize?client_id=Iv1.strict&redirect_uri={}&auto_approve=alice",
            wire::encode("https://evil.test/cb")
        );
        let r = get(&d, &uri).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(!r.headers().contains_key(header::LOCATION));
        assert!(text(r).await.contains("redirect_uri mismatch"));
        // Without redirect_uri the callback URL is used, and must then match.
        let r = get(
            &d,
            "/login/oauth/authorize?client_id=Iv1.strict&auto_approve=alice",
        )
        .await;
        let loc = r.headers()[header::LOCATION].to_str().unwrap();
        assert!(loc.starts_with("https://app.test/cb?code="), "{loc}");
        let code = location_params(&r).get("code").unwrap().to_string();
        let mut pairs = exchange_pairs(("Iv1.strict", "strict-secret"), &code);
        pairs.push(("redirect_uri", "https://app.test/cb/other"));
        assert_eq!(token(&d, &pairs).await["error"], "redirect_uri_mismatch");
    }

    #[tokio::test]
    async fn unknown_apps_get_a_404_page() {
        let d = double();
        let r = get(&d, "/login/oauth/authorize?client_id=Iv1.nope").await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
    }

    #[tokio::test]
    async fn wrong_client_credentials_are_refused_in_body_and_basic() {
        let d = double();
        let code = code_for(&d, OAUTH_APP.0, "alice", &[]).await;
        let wrong = exchange_pairs((OAUTH_APP.0, "nope"), &code);
        assert_eq!(
            token(&d, &wrong).await["error"],
            "incorrect_client_credentials"
        );
        let basic = |secret: &str| {
            let b = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{secret}", OAUTH_APP.0));
            Request::post("/login/oauth/access_token")
                .header(header::AUTHORIZATION, format!("Basic {b}"))
                .header(header::ACCEPT, "application/json")
                .header(header::CONTENT_TYPE, "application/json")
        };
        let body = || Body::from(serde_json::json!({ "code": code }).to_string());
        let r = call(&d, basic("nope"), body()).await;
        assert!(text(r).await.contains("incorrect_client_credentials"));
        let r = call(&d, basic(OAUTH_APP.1), body()).await;
        let t: Value = serde_json::from_str(&text(r).await).unwrap();
        assert!(
            t["access_token"].as_str().unwrap().starts_with("gho_"),
            "{t}"
        );
    }

    #[tokio::test]
    async fn the_answer_is_form_encoded_unless_json_is_accepted() {
        let d = double();
        let code = code_for(&d, OAUTH_APP.0, "alice", &[("scope", "repo")]).await;
        let req = Request::post("/login/oauth/access_token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let r = call(
            &d,
            req,
            Body::from(wire::form_encode(&exchange_pairs(OAUTH_APP, &code))),
        )
        .await;
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/x-www-form-urlencoded; charset=utf-8"
        );
        let p = Params(wire::parse_form(&text(r).await));
        assert!(p.get("access_token").unwrap().starts_with("gho_"));
        assert_eq!(
            (p.get("scope"), p.get("token_type")),
            (Some("repo"), Some("bearer"))
        );
        let req = Request::post("/login/oauth/access_token?code=bad&client_id=Iv1.doubleoauthapp&client_secret=double-oauth-secret");
        let body = text(call(&d, req, Body::empty()).await).await;
        assert!(
            body.starts_with("error=bad_verification_code&error_description="),
            "{body}"
        );
    }

    #[tokio::test]
    async fn github_app_tokens_expire_and_refresh_rotates_them() {
        let d = double();
        let code = code_for(&d, GITHUB_APP.0, "alice", &[("scope", "repo")]).await;
        let t = token(&d, &exchange_pairs(GITHUB_APP, &code)).await;
        assert!(t["access_token"].as_str().unwrap().starts_with("ghu_"));
        assert!(t["refresh_token"].as_str().unwrap().starts_with("ghr_"));
        assert_eq!(
            (
                t["expires_in"].as_u64(),
                t["refresh_token_expires_in"].as_u64()
            ),
            (Some(28_800), Some(15_897_600))
        );
        assert_eq!(t["scope"], "");
        let (old_access, old_refresh) = (
            t["access_token"].as_str().unwrap(),
            t["refresh_token"].as_str().unwrap(),
        );
        let (_, headers, _) = user(&d, old_access).await;
        assert!(
            !headers.contains_key("x-oauth-scopes"),
            "no scopes for GitHub App tokens"
        );

        let fresh = token(&d, &refresh_pairs(old_refresh)).await;
        let new_access = fresh["access_token"].as_str().unwrap();
        assert!(new_access.starts_with("ghu_") && new_access != old_access);
        assert_eq!(
            token(&d, &refresh_pairs(old_refresh)).await["error"],
            "bad_refresh_token"
        );
        let (status, _, body) = user(&d, old_access).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("Bad credentials"))
        );
        assert_eq!(user(&d, new_access).await.2["login"], "alice");
        let stats = control_stats_of(&d).await;
        assert_eq!(
            (stats["refreshes"].as_u64(), stats["tokens_issued"].as_u64()),
            (Some(1), Some(2))
        );
    }

    async fn control_stats_of(d: &Router) -> Value {
        serde_json::from_str(&text(get(d, "/_double/oauth/stats").await).await).unwrap()
    }

    #[tokio::test]
    async fn oauth_apps_cannot_refresh() {
        let d = double();
        let mut pairs = refresh_pairs("ghr_x");
        pairs[0] = ("client_id", OAUTH_APP.0);
        pairs[1] = ("client_secret", OAUTH_APP.1);
        assert_eq!(token(&d, &pairs).await["error"], "bad_refresh_token");
        pairs[2] = ("grant_type", "password");
        assert_eq!(token(&d, &pairs).await["error"], "unsupported_grant_type");
    }

    #[tokio::test]
    async fn expiring_a_user_forces_a_refresh() {
        let d = double();
        let (access, refresh) = app_tokens(&d, "bob").await;
        assert_eq!(user(&d, &access).await.0, StatusCode::OK);
        assert_eq!(
            control(&d, "expire", serde_json::json!({"login": "bob"})).await["expired"],
            1
        );
        let (status, _, body) = user(&d, &access).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("Bad credentials"))
        );
        let fresh = token(&d, &refresh_pairs(&refresh)).await;
        assert_eq!(
            user(&d, fresh["access_token"].as_str().unwrap()).await.2["login"],
            "bob"
        );
    }

    #[tokio::test]
    async fn revoking_a_user_signs_every_token_out() {
        let d = double();
        let (ghu, refresh) = app_tokens(&d, "alice").await;
        let code = code_for(&d, OAUTH_APP.0, "alice", &[]).await;
        let gho = token(&d, &exchange_pairs(OAUTH_APP, &code)).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let (bobs, _) = app_tokens(&d, "bob").await;
        assert_eq!(
            control(&d, "revoke", serde_json::json!({"login": "alice"})).await["revoked"],
            3
        );
        for t in [&ghu, &gho] {
            assert_eq!(user(&d, t).await.0, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            token(&d, &refresh_pairs(&refresh)).await["error"],
            "bad_refresh_token"
        );
        assert_eq!(user(&d, &bobs).await.0, StatusCode::OK);
        assert_eq!(
            control(&d, "revoke", serde_json::json!({"token": bobs})).await["revoked"],
            2
        );
        assert_eq!(user(&d, &bobs).await.0, StatusCode::UNAUTHORIZED);
        // Seeded tokens are not the flow's to revoke.
        assert_eq!(user(&d, "ghp_alice").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn the_page_lists_users_and_posts_back_the_request() {
        let d = double();
        let r = get(
            &d,
            &authorize_uri(OAUTH_APP.0, &[("scope", "repo"), ("login", "bob")]),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let html = text(r).await;
        assert!(html.contains("<title>Authorize Iv1.doubleoauthapp</title>"));
        assert!(html.contains(r#"<select name="login" id="login">"#));
        assert!(html.contains(r#"<option value="bob" selected>bob</option>"#));
        assert!(html.contains(r#"<option value="alice">alice</option>"#));
        assert!(html.contains(r#"<input type="hidden" name="state" value="xyz">"#));
        // What a browser posts when "Authorize" is clicked.
        let form = [
            ("client_id", OAUTH_APP.0),
            ("redirect_uri", CB),
            ("state", "xyz"),
            ("scope", "repo"),
            ("login", "bob"),
            ("decision", "approve"),
        ];
        let req = Request::post("/login/oauth/authorize")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let r = call(&d, req, Body::from(wire::form_encode(&form))).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        let code = location_params(&r).get("code").unwrap().to_string();
        let t = token(&d, &exchange_pairs(OAUTH_APP, &code)).await;
        assert_eq!(
            user(&d, t["access_token"].as_str().unwrap()).await.2["login"],
            "bob"
        );
    }

    #[tokio::test]
    async fn cancel_redirects_with_access_denied_and_the_state() {
        let d = double();
        let form = [
            ("client_id", OAUTH_APP.0),
            ("redirect_uri", CB),
            ("state", "s t"),
            ("login", "alice"),
            ("decision", "deny"),
        ];
        let req = Request::post("/login/oauth/authorize")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let r = call(&d, req, Body::from(wire::form_encode(&form))).await;
        assert_eq!(r.status(), StatusCode::FOUND);
        let p = location_params(&r);
        assert_eq!(p.get("error"), Some("access_denied"));
        assert_eq!(
            p.get("error_description"),
            Some("The user has denied your application access.")
        );
        assert!(p.get("error_uri").unwrap().ends_with("#access-denied"));
        assert_eq!((p.get("state"), p.get("code")), (Some("s t"), None));
        assert_eq!(control_stats_of(&d).await["denials"], 1);
    }

    #[tokio::test]
    async fn auto_approve_needs_a_seeded_login() {
        let d = double();
        let r = get(
            &d,
            &authorize_uri(OAUTH_APP.0, &[("auto_approve", "mallory")]),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let code = code_for(&d, OAUTH_APP.0, "ALICE", &[]).await;
        let t = token(&d, &exchange_pairs(OAUTH_APP, &code)).await;
        assert_eq!(
            user(&d, t["access_token"].as_str().unwrap()).await.2["login"],
            "alice"
        );
        let s = control_stats_of(&d).await;
        assert_eq!(
            (s["codes_issued"].as_u64(), s["codes_redeemed"].as_u64()),
            (Some(1), Some(1))
        );
    }

    #[tokio::test]
    async fn the_rest_revocation_api_needs_the_apps_credentials() {
        let d = double();
        let (access, _) = app_tokens(&d, "alice").await;
        let revoke = |secret: &str| {
            let b = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{secret}", GITHUB_APP.0));
            Request::delete(format!("/applications/{}/token", GITHUB_APP.0))
                .header(header::AUTHORIZATION, format!("Basic {b}"))
        };
        let body = || Body::from(serde_json::json!({ "access_token": access }).to_string());
        assert_eq!(
            call(&d, revoke("nope"), body()).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&d, revoke(GITHUB_APP.1), Body::from("{}"))
                .await
                .status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            call(&d, revoke(GITHUB_APP.1), body()).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(user(&d, &access).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(
            call(&d, revoke(GITHUB_APP.1), body()).await.status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn the_web_flow_is_logged_without_secrets_and_never_rate_limited() {
        let d = double();
        for _ in 0..70 {
            assert_eq!(
                get(&d, &authorize_uri(OAUTH_APP.0, &[])).await.status(),
                StatusCode::OK
            );
        }
        let code = code_for(&d, OAUTH_APP.0, "alice", &[]).await;
        let uri = format!(
            "/login/oauth/access_token?{}",
            wire::form_encode(&exchange_pairs(OAUTH_APP, &code))
        );
        let r = call(
            &d,
            Request::post(uri).header(header::ACCEPT, "application/json"),
            Body::empty(),
        )
        .await;
        let access = serde_json::from_str::<Value>(&text(r).await).unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let log = text(get(&d, "/_double/requests").await).await;
        for secret in [code.as_str(), OAUTH_APP.1, access.as_str()] {
            assert!(!log.contains(secret), "{secret} in the log");
        }
        assert!(log.contains(&format!("code=fp:{}", crate::state::fingerprint(&code))));
        let entries: Vec<Value> = serde_json::from_str(&log).unwrap();
        let last = entries.last().unwrap();
        assert_eq!(
            (
                last["path"].as_str(),
                last["user"].as_str(),
                last["status"].as_u64()
            ),
            (Some("/login/oauth/access_token"), Some("alice"), Some(200))
        );
        assert_eq!(
            get(&d, "/api/v3/login/oauth/authorize").await.status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn issued_tokens_work_for_graphql() {
        let d = double();
        let (access, _) = app_tokens(&d, "bob").await;
        let req = Request::post("/graphql")
            .header(header::AUTHORIZATION, format!("bearer {access}"))
            .header(header::CONTENT_TYPE, "application/json");
        let body = serde_json::json!({"query": "{ viewer { login } }"}).to_string();
        let v: Value =
            serde_json::from_str(&text(call(&d, req, Body::from(body)).await).await).unwrap();
        assert_eq!(v["data"]["viewer"]["login"], "bob", "{v}");
    }
}
