//! The browser's part: `/oauth/authorize` (check the request, show the consent
//! page), `/oauth/consent` (the user's answer), `/oauth/callback` (GitHub's answer).
//!
//! Rules: an unknown client or a redirect URI it did not register is an error page
//! here, never a redirect (RFC 6749 §4.1.2.1); every later error goes back to the
//! client's redirect with its `state`. The consent page cannot be framed, its form
//! carries a CSRF token that must equal a `__Host-` cookie set with the page and the
//! hash kept with the request; the handle is single use and lives ten minutes. The
//! GitHub leg has its own state and PKCE, created only after consent.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::clients::ClientError;
use super::redirect::{self, matches};
use super::upstream::UpstreamError;
use super::{
    digest, params, s256, same, secret, short, Oauth, Request, StepError, CALLBACK_PATH,
    CONSENT_PATH,
};
use crate::auth::signin::{SCOPES, SCOPE_READ, SCOPE_WRITE};
use crate::state::Space;

const CONSENT_TTL: Duration = Duration::from_secs(600);
const UPSTREAM_TTL: Duration = Duration::from_secs(600);
const CODE_TTL: Duration = Duration::from_secs(120);
/// How long a grant waits for its code to be redeemed before it lapses.
pub(super) const UNREDEEMED_GRANT_TTL: Duration = Duration::from_secs(600);
const COOKIE: &str = "__Host-grm-consent";

/// A request waiting for the user's consent.
#[derive(Serialize, Deserialize)]
struct Pending {
    request: Request,
    client_label: String,
    csrf_hash: String,
}

/// An approved request waiting for GitHub's callback.
#[derive(Serialize, Deserialize)]
struct Upstream {
    request: Request,
    /// Our PKCE verifier for the GitHub leg, sealed.
    verifier: String,
}

/// One of our authorization codes, as stored (under its hash).
#[derive(Serialize, Deserialize)]
pub(super) struct Code {
    pub grant_id: String,
    pub request: Request,
}

/// A grant: one user's approval of one client, with their GitHub token sealed.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Grant {
    pub id: String,
    pub client_id: String,
    pub login: String,
    pub user_id: u64,
    pub scopes: Vec<String>,
    pub resource: String,
    pub github_token: String,
    pub github_refresh: Option<String>,
    pub github_expires_at: Option<u64>,
    pub created_at: u64,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1f2328}\
h1{font-size:1.4rem}ul{padding-left:1.2rem}.who{font-weight:600}.muted{color:#59636e;font-size:.9rem}\
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.6rem;border-radius:6px;border:1px solid #d1d9e0;cursor:pointer}\
#approve{background:#1f883d;color:#fff;border-color:#1f883d}";

/// Headers every page of ours carries: not framable, not cached, no referrer to
/// other origins (the URL can hold a code), nothing but our inline style runs.
fn page(status: StatusCode, body: String, form_action: &str) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    let csp = format!("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action {form_action}");
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser posts the
    // consent form with `Origin: null`, which the origin check must refuse.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An error shown in the browser, with no redirect anywhere.
fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Sign-in failed</title><style>{STYLE}</style></head>\
<body><h1>{}</h1><p>{}</p><p class=muted>Close this window and start the sign-in again from your app.</p></body></html>",
        escape(title),
        escape(detail)
    );
    page(status, body, "'none'")
}

/// Back to the client with an error (RFC 6749 §4.1.2.1), its state, and our issuer.
fn redirect_error(oauth: &Oauth, request: &Request, error: &str, description: &str) -> Response {
    redirect_to_client(
        oauth,
        &request.redirect_uri,
        request.state.as_deref(),
        &[("error", error), ("error_description", description)],
    )
}

fn redirect_to_client(
    oauth: &Oauth,
    redirect_uri: &str,
    state: Option<&str>,
    pairs: &[(&str, &str)],
) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Bad redirect",
            "The client's redirect URI is not a URL.",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &oauth.issuer());
    }
    see_other(url.as_str())
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn store_failed(err: StepError) -> Response {
    tracing::error!(error = %err, "sign-in step failed on the store");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is unavailable",
        "The server could not reach its sign-in store. Try again in a moment.",
    )
}

/// The scopes asked for: known ones only; none means all; read always comes along.
fn requested_scopes(scope: Option<&str>) -> Result<Vec<String>, String> {
    let asked: Vec<&str> = scope
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(unknown) = asked.iter().find(|s| !SCOPES.contains(s)) {
        return Err(format!(
            "unknown scope {unknown:?}; this server's scopes are {}",
            SCOPES.join(" ")
        ));
    }
    let write = asked.is_empty() || asked.contains(&SCOPE_WRITE);
    let mut scopes = vec![SCOPE_READ.to_owned()];
    if write {
        scopes.push(SCOPE_WRITE.to_owned());
    }
    Ok(scopes)
}

fn is_pkce_challenge(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// `GET /oauth/authorize`.
pub(super) async fn authorize(
    State(oauth): State<Arc<Oauth>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match params(query.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Bad sign-in request", &e),
    };
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let Some(client_id) = get("client_id") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Bad sign-in request",
            "The request has no client_id.",
        );
    };
    let client = match oauth.client(client_id).await {
        Ok(client) => client,
        Err(ClientError::Unknown(why)) => {
            tracing::info!(outcome = "refused", reason = %why, "authorize: unknown client");
            return error_page(StatusCode::BAD_REQUEST, "Unknown app", &why);
        }
        Err(ClientError::Store(err)) => return store_failed(err),
    };
    let redirect_uri = match get("redirect_uri") {
        Some(uri) => uri.to_owned(),
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Bad sign-in request",
                "The request has no redirect_uri.",
            )
        }
    };
    if !client
        .redirect_uris
        .iter()
        .any(|r| matches(r, &redirect_uri))
    {
        tracing::warn!(client = %client.client_id, outcome = "refused", "authorize: redirect_uri not registered for the client");
        return error_page(
            StatusCode::BAD_REQUEST,
            "This redirect is not allowed",
            "The app asked to be sent back to an address it did not register. Nothing was sent there.",
        );
    }
    let state = get("state").map(str::to_owned);
    if state.as_ref().is_some_and(|s| s.len() > 2048) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Bad sign-in request",
            "The state parameter is longer than 2048 characters.",
        );
    }
    let mut request = Request {
        client_id: client.client_id.clone(),
        redirect_uri,
        state,
        code_challenge: String::new(),
        scopes: Vec::new(),
        resource: oauth.resource(),
    };
    if get("response_type") != Some("code") {
        return redirect_error(
            &oauth,
            &request,
            "unsupported_response_type",
            "response_type must be code",
        );
    }
    match (get("code_challenge"), get("code_challenge_method")) {
        (Some(challenge), Some("S256")) if is_pkce_challenge(challenge) => {
            request.code_challenge = challenge.to_owned()
        }
        (Some(_), Some("S256")) => {
            return redirect_error(
                &oauth,
                &request,
                "invalid_request",
                "code_challenge is not a valid S256 challenge",
            )
        }
        (Some(_), _) => {
            return redirect_error(
                &oauth,
                &request,
                "invalid_request",
                "code_challenge_method must be S256",
            )
        }
        (None, _) => {
            return redirect_error(
                &oauth,
                &request,
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256",
            )
        }
    }
    if let Some(resource) = get("resource") {
        if !oauth.accepts_resource(resource) {
            return redirect_error(
                &oauth,
                &request,
                "invalid_target",
                &format!("this server issues tokens only for {}", oauth.resource()),
            );
        }
    }
    request.scopes = match requested_scopes(get("scope")) {
        Ok(scopes) => scopes,
        Err(e) => return redirect_error(&oauth, &request, "invalid_scope", &e),
    };
    let handle = secret("");
    let csrf = secret("");
    let pending = Pending {
        request: request.clone(),
        client_label: client.label(),
        csrf_hash: digest(&csrf),
    };
    if let Err(err) = oauth
        .put_json(Space::OauthConsent, &digest(&handle), &pending, CONSENT_TTL)
        .await
    {
        return store_failed(err);
    }
    tracing::info!(client = %client.client_id, "authorize: consent page shown");
    let mut response = consent_page(&oauth, &pending, &handle, &csrf);
    let cookie = format!(
        "{COOKIE}={csrf}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
        CONSENT_TTL.as_secs()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn consent_page(oauth: &Oauth, pending: &Pending, handle: &str, csrf: &str) -> Response {
    let request = &pending.request;
    let scope_items: String = request
        .scopes
        .iter()
        .map(|s| {
            let what = if s == SCOPE_WRITE {
                "post replies, resolve threads and submit reviews as you"
            } else {
                "read pull requests, review threads, reviews, files and checks you can see"
            };
            format!("<li><code>{}</code>: {}</li>", escape(s), what)
        })
        .collect();
    let verified =
        if pending.client_label.contains(" (from ") || !request.client_id.starts_with("grm_c_") {
            ""
        } else {
            "<p class=muted>The app named itself; this server has not verified the name.</p>"
        };
    let body = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Allow access?</title><style>{STYLE}</style></head><body>\
<h1>Allow <span class=who id=client>{client}</span> to use GitHub review tools as you?</h1>{verified}\
<p>After you approve, you sign in at <b>{github}</b>; then you are sent back to <b id=redirect-host>{redirect}</b>.</p>\
<p>It asks to:</p><ul id=scopes>{scopes}</ul>\
<form method=post action=\"{action}\">\
<input type=hidden name=handle value=\"{handle}\"><input type=hidden name=csrf value=\"{csrf}\">\
<button type=submit id=approve name=decision value=approve>Approve</button>\
<button type=submit id=deny name=decision value=deny>Deny</button></form>\
<p class=muted>This page expires in 10 minutes. {issuer}</p></body></html>",
        client = escape(&pending.client_label),
        github = escape(&oauth.host.display_name()),
        redirect = escape(&redirect::describe(&request.redirect_uri)),
        scopes = scope_items,
        action = escape(&oauth.url(CONSENT_PATH)),
        handle = escape(handle),
        csrf = escape(csrf),
        issuer = escape(&oauth.issuer()),
    );
    // The form posts here; our answer redirects to GitHub or back to the client,
    // which CSP's form-action also governs.
    let form_action = format!(
        "'self' {} {}",
        oauth.host.web().origin().ascii_serialization(),
        redirect::csp_source(&request.redirect_uri)
    );
    page(StatusCode::OK, body, &form_action)
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// `POST /oauth/consent`: the user's answer on our page.
pub(super) async fn consent(
    State(oauth): State<Arc<Oauth>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match params(&body) {
        Ok(form) => form,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Bad form", &e),
    };
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        if origin != oauth.config.issuer.origin().ascii_serialization() {
            tracing::warn!(
                outcome = "refused",
                "consent: form posted from another origin"
            );
            return error_page(
                StatusCode::FORBIDDEN,
                "Refused",
                "This form was not sent from this server's sign-in page.",
            );
        }
    }
    let (Some(handle), Some(csrf)) = (form.get("handle"), form.get("csrf")) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Bad form",
            "The form is incomplete.",
        );
    };
    let pending: Pending = match oauth.take_json(Space::OauthConsent, &digest(handle)).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            tracing::info!(
                outcome = "refused",
                "consent: unknown, used or expired handle"
            );
            return error_page(
                StatusCode::BAD_REQUEST,
                "This sign-in page has expired",
                "It was already used, or is more than 10 minutes old.",
            );
        }
        Err(err) => return store_failed(err),
    };
    let cookie_ok = cookie_value(&headers, COOKIE).is_some_and(|c| same(c, csrf));
    if !cookie_ok || !same(&digest(csrf), &pending.csrf_hash) {
        tracing::warn!(client = %pending.request.client_id, outcome = "refused", "consent: CSRF check failed");
        return error_page(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form's check failed: it did not come from the page this server showed you.",
        );
    }
    let mut response = match form.get("decision").map(String::as_str) {
        Some("approve") => approved(&oauth, pending.request).await,
        _ => {
            tracing::info!(client = %pending.request.client_id, outcome = "denied", "consent: the user denied access");
            redirect_error(
                &oauth,
                &pending.request,
                "access_denied",
                "the user denied access",
            )
        }
    };
    let clear = format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Consent given: the GitHub leg starts, with its own state and PKCE.
async fn approved(oauth: &Oauth, request: Request) -> Response {
    let state = secret("");
    let verifier = secret("");
    let upstream = Upstream {
        verifier: oauth
            .config
            .sealer
            .seal(verifier.as_bytes(), "upstream-verifier"),
        request,
    };
    if let Err(err) = oauth
        .put_json(
            Space::OauthUpstream,
            &digest(&state),
            &upstream,
            UPSTREAM_TTL,
        )
        .await
    {
        return store_failed(err);
    }
    tracing::info!(client = %upstream.request.client_id, "consent: approved; sending the user to GitHub");
    see_other(&oauth.upstream.authorize_url(
        &oauth.config.github_client_id,
        &oauth.url(CALLBACK_PATH),
        &state,
        &oauth.config.github_scopes,
        &s256(&verifier),
    ))
}

/// `GET /oauth/callback`: GitHub's answer. Makes the grant and gives the client our code.
pub(super) async fn callback(
    State(oauth): State<Arc<Oauth>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match params(query.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Bad answer from GitHub", &e),
    };
    let Some(state) = params.get("state") else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Bad answer from GitHub",
            "GitHub's answer has no state.",
        );
    };
    let upstream: Upstream = match oauth.take_json(Space::OauthUpstream, &digest(state)).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            tracing::warn!(
                outcome = "refused",
                "callback: unknown, used or expired state"
            );
            return error_page(
                StatusCode::BAD_REQUEST,
                "This sign-in has expired",
                "It was already completed, or took more than 10 minutes.",
            );
        }
        Err(err) => return store_failed(err),
    };
    let request = upstream.request;
    let Some(code) = params.get("code") else {
        let reason = params.get("error").map(String::as_str).unwrap_or("no code");
        tracing::info!(client = %request.client_id, outcome = "denied", "callback: GitHub sign-in did not complete");
        let description = if reason == "access_denied" {
            "the user cancelled the GitHub sign-in"
        } else {
            "GitHub did not sign the user in"
        };
        return redirect_error(&oauth, &request, "access_denied", description);
    };
    let Ok(verifier) = oauth
        .config
        .sealer
        .open(&upstream.verifier, "upstream-verifier")
    else {
        return redirect_error(
            &oauth,
            &request,
            "server_error",
            "the sign-in key changed during the sign-in",
        );
    };
    let verifier = String::from_utf8_lossy(&verifier).into_owned();
    let cfg = &oauth.config;
    let issued = match oauth
        .upstream
        .exchange(
            &cfg.github_client_id,
            &cfg.github_client_secret,
            code,
            &oauth.url(CALLBACK_PATH),
            &verifier,
        )
        .await
    {
        Ok(issued) => issued,
        Err(err) => {
            tracing::warn!(client = %request.client_id, error = %err, "callback: GitHub did not issue a token");
            let description = match err {
                UpstreamError::Refused(code) => format!("GitHub refused the sign-in ({code})"),
                UpstreamError::Unavailable(_) => "GitHub could not be reached".into(),
            };
            return redirect_error(&oauth, &request, "server_error", &description);
        }
    };
    let user = match oauth.upstream.user(&issued.access_token).await {
        Ok(user) => user,
        Err(err) => {
            tracing::warn!(client = %request.client_id, error = %err, "callback: GitHub did not say who signed in");
            return redirect_error(
                &oauth,
                &request,
                "server_error",
                "GitHub did not say who signed in",
            );
        }
    };
    let grant = oauth.new_grant(&request, &user.login, user.id, &issued);
    let code = secret("");
    let record = Code {
        grant_id: grant.id.clone(),
        request: request.clone(),
    };
    let stored = async {
        oauth
            .put_json(Space::OauthGrant, &grant.id, &grant, UNREDEEMED_GRANT_TTL)
            .await?;
        oauth
            .put_json(Space::OauthCode, &digest(&code), &record, CODE_TTL)
            .await
    };
    if let Err(err) = stored.await {
        return store_failed(err);
    }
    tracing::info!(client = %request.client_id, login = %user.login, grant = %short(&grant.id), "signed in at GitHub; code issued");
    redirect_to_client(
        &oauth,
        &request.redirect_uri,
        request.state.as_deref(),
        &[("code", &code)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_default_to_all_and_read_always_comes_along() {
        assert_eq!(
            requested_scopes(None).unwrap(),
            vec![SCOPE_READ, SCOPE_WRITE]
        );
        assert_eq!(
            requested_scopes(Some("review:read")).unwrap(),
            vec![SCOPE_READ]
        );
        assert_eq!(
            requested_scopes(Some("review:write")).unwrap(),
            vec![SCOPE_READ, SCOPE_WRITE]
        );
        assert!(requested_scopes(Some("repo"))
            .unwrap_err()
            .contains("unknown scope"));
    }

    #[test]
    fn pages_escape_what_clients_send() {
        assert_eq!(escape("<script>\"x'&"), "&lt;script&gt;&quot;x&#39;&amp;");
        let r = error_page(StatusCode::BAD_REQUEST, "<b>", "x");
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert!(r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }

    #[test]
    fn the_consent_cookie_is_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-grm-consent=abc; __Host-grm-consentx=evil"),
        );
        assert_eq!(cookie_value(&h, COOKIE), Some("abc"));
        assert!(
            is_pkce_challenge(&"a".repeat(43))
                && !is_pkce_challenge("short")
                && !is_pkce_challenge(&"a+".repeat(30))
        );
    }
}
