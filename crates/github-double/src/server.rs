//! HTTP plumbing: the accept loop (which can drop a connection on purpose), the
//! GHES prefix rewrite, and the gate every non-`/_double` request passes through:
//! latency, faults, authentication (seeded tokens, then those the OAuth flow
//! issued), rate limits, ETags, common headers, the log. The OAuth web pages
//! (`/login/oauth/*`) only get the log (`oauth::web_gate`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::cache::{CachedRest, RestKey};
use crate::faults::Fault;
use crate::ratelimit::{Bucket, Quota, Resource};
use crate::requestlog::LogEntry;
use crate::state::{fingerprint, AppState, Caller, Ctx};
use crate::time::now_epoch;

/// Lets a handler close its connection without answering.
#[derive(Clone)]
pub struct ConnKill(pub Arc<Notify>);

/// The path and prefix as the client sent them, before the GHES rewrite.
#[derive(Clone)]
pub struct Original {
    pub path: String,
    pub prefix: &'static str,
}

/// Serves `router` on `listener` until the future is dropped.
pub async fn serve(listener: TcpListener, router: Router) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let k = kill.clone();
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    let k = k.clone();
                    async move {
                        let mut req = rewrite_prefix(req.map(Body::new));
                        req.extensions_mut().insert(ConnKill(k));
                        Ok::<_, Infallible>(
                            router.oneshot(req).await.unwrap_or_else(|e| match e {}),
                        )
                    }
                });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            tokio::select! {
                r = conn => if let Err(e) = r { tracing::debug!(error = %e, "connection ended with error") },
                _ = kill.notified() => tracing::debug!("connection dropped on purpose"),
            }
        });
    }
}

/// Maps `/api/v3/...` to `/...` and `/api/graphql` to `/graphql`, remembering the prefix.
fn rewrite_prefix(mut req: Request) -> Request {
    let path = req.uri().path().to_string();
    let (prefix, new_path) = if path == "/api/graphql" {
        ("/api", "/graphql".to_string())
    } else if path == "/api/v3" || path.starts_with("/api/v3/") {
        let rest = &path["/api/v3".len()..];
        (
            "/api/v3",
            if rest.is_empty() {
                "/".into()
            } else {
                rest.to_string()
            },
        )
    } else {
        ("", path.clone())
    };
    if !prefix.is_empty() {
        let pq = match req.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        if let Ok(uri) = pq.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req.extensions_mut().insert(Original { path, prefix });
    req
}

/// GitHub's JSON error body.
pub fn gh_error(status: StatusCode, message: &str, doc: &str) -> Response {
    let body = serde_json::json!({
        "message": message,
        "documentation_url": doc,
        "status": status.as_u16().to_string(),
    });
    (status, json_headers(), body.to_string()).into_response()
}

pub fn json_headers() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    )]
}

pub const DOC_REST: &str = "https://docs.github.com/rest";

/// Extracts the token from `Authorization: Bearer T` or `token T`.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        Some(rest.trim().to_string())
    } else {
        None
    }
}

fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Sha256::digest(body)))
}

fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn set_quota_headers(h: &mut HeaderMap, q: &Quota, res: Resource) {
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set("x-ratelimit-limit", q.limit.to_string());
    set("x-ratelimit-remaining", q.remaining().to_string());
    set("x-ratelimit-used", q.used.to_string());
    set("x-ratelimit-reset", q.reset.to_string());
    set("x-ratelimit-resource", res.as_str().to_string());
}

/// The gate: see the module doc.
pub async fn gate(State(app): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let original = req
        .extensions()
        .get::<Original>()
        .cloned()
        .unwrap_or(Original {
            path: req.uri().path().to_string(),
            prefix: "",
        });
    if req.uri().path().starts_with("/_double") {
        return next.run(req).await;
    }
    if crate::oauth::is_web_path(req.uri().path()) {
        return crate::oauth::web_gate(&app, &original, req, next).await;
    }
    let n = app.fault_counter.fetch_add(1, Ordering::SeqCst) + 1;
    let config = app.config.lock().unwrap().clone();
    if config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(config.latency_ms)).await;
    }
    let started = Instant::now();
    let world = app.world();
    let token = bearer(req.headers());
    let seeded = token.as_deref().and_then(|t| world.user_for_token(t));
    let issued = token
        .as_deref()
        .filter(|_| seeded.is_none())
        .and_then(|t| app.oauth.owner(t, now_epoch()));
    let user = seeded.or(issued.as_ref().map(|o| o.user));
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut entry = LogEntry {
        seq: 0,
        method: req.method().to_string(),
        path: original.path.clone(),
        query: req.uri().query().map(str::to_string),
        user: user.map(|u| world.users[u].login.clone()),
        token_fingerprint: token.as_deref().map(fingerprint),
        status: 0,
        graphql_operation: None,
        if_none_match: if_none_match.is_some(),
        writes: 0,
    };
    let writes = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let is_graphql = req.uri().path() == "/graphql";
    let request_id = format!(
        "D0B1:{:04X}:{:06X}:{:06X}:{:08X}",
        std::process::id() & 0xffff,
        n,
        app.request_counter.fetch_add(1, Ordering::Relaxed),
        now_epoch() as u32
    );

    let mut resp = match config.fault_for(n) {
        Some(fault @ (Fault::Hang | Fault::Drop)) => {
            app.log.push(entry);
            if fault == Fault::Drop {
                if let Some(k) = req.extensions().get::<ConnKill>() {
                    k.0.notify_one();
                }
            }
            return std::future::pending::<Response>().await;
        }
        Some(Fault::SecondaryRateLimit) => {
            let mut r = gh_error(
                StatusCode::FORBIDDEN,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            );
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(config.retry_after_secs),
            );
            r
        }
        Some(Fault::Redirect) => {
            let target = config.redirect_to.clone().unwrap_or_default();
            let pq = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let location = format!("{}{}{}", target.trim_end_matches('/'), original.prefix, pq);
            let status = StatusCode::from_u16(config.redirect_status)
                .unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            let mut r = gh_error(status, "Moved", DOC_REST);
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Some(Fault::Status(s)) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let msg = status.canonical_reason().unwrap_or("Server Error");
            gh_error(status, msg, DOC_REST)
        }
        None => {
            let api_base = format!(
                "http://{}{}",
                req.headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
                    .unwrap_or_else(|| app.addr.to_string()),
                if original.prefix == "/api" {
                    "/api/v3"
                } else {
                    original.prefix
                }
            );
            let ctx = Ctx {
                world: world.clone(),
                caller: Caller {
                    user,
                    token: token.clone(),
                },
                api_base,
                graphql_quota: None,
                app: app.clone(),
                writes: writes.clone(),
                holes: None,
            };
            if token.is_some() && user.is_none() {
                gh_error(StatusCode::UNAUTHORIZED, "Bad credentials", DOC_REST)
            } else if is_graphql {
                graphql_gate(&app, ctx, user, token.as_deref(), req, next, &mut entry).await
            } else {
                let bucket = token.clone().map_or(Bucket::Anonymous, Bucket::Token);
                let counted = req.uri().path() != "/rate_limit";
                let now = now_epoch();
                let before = app.limiter.peek(&bucket, Resource::Core, now);
                if counted && before.remaining() == 0 {
                    let mut r = rate_limited(&world, user);
                    set_quota_headers(r.headers_mut(), &before, Resource::Core);
                    r
                } else {
                    let is_get = req.method() == Method::GET;
                    let key = (is_get && counted).then(|| RestKey {
                        user,
                        base: ctx.api_base.clone(),
                        uri: req
                            .uri()
                            .path_and_query()
                            .map_or_else(String::new, |p| p.to_string()),
                    });
                    let hit = key
                        .as_ref()
                        .and_then(|k| app.cache.rest_get(world.generation, k));
                    let r = match hit {
                        Some(c) => cached_response(&c, if_none_match.as_deref()),
                        None => {
                            req.extensions_mut().insert(ctx.clone());
                            let r = next.run(req).await;
                            if is_get && r.status() == StatusCode::OK {
                                let c = Arc::new(to_cached(r).await);
                                if let Some(k) = key {
                                    app.cache.rest_put(world.generation, k, c.clone());
                                }
                                cached_response(&c, if_none_match.as_deref())
                            } else {
                                r
                            }
                        }
                    };
                    let not_modified = r.status() == StatusCode::NOT_MODIFIED;
                    let quota = if counted && !not_modified {
                        app.limiter
                            .spend(&bucket, Resource::Core, 1, now)
                            .unwrap_or_else(|q| q)
                    } else {
                        app.limiter.peek(&bucket, Resource::Core, now)
                    };
                    let mut r = r;
                    set_quota_headers(r.headers_mut(), &quota, Resource::Core);
                    r
                }
            }
        }
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-github-request-id", v);
    }
    h.insert(
        "x-github-media-type",
        HeaderValue::from_static("github.v3; format=json"),
    );
    h.insert(
        "x-github-api-version-selected",
        HeaderValue::from_static("2022-11-28"),
    );
    let scopes = match &issued {
        Some(o) => o.scopes_header.as_deref(),
        None => user.and_then(|u| world.users[u].scopes.as_deref()),
    };
    if let Some(v) = scopes.and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert("x-oauth-scopes", v);
    }
    if let Some(v) = issued.and_then(|o| HeaderValue::from_str(&o.client_id).ok()) {
        h.insert("x-oauth-client-id", v);
    }
    entry.status = resp.status().as_u16();
    entry.writes = writes.load(Ordering::Relaxed);
    app.log.record_time(started.elapsed().as_micros() as u64);
    app.log.push(entry);
    if config.cut_body_for(n) {
        return cut_body(resp).await;
    }
    match config.slow_body_for(n) {
        Some(over) => slow_body(resp, over).await,
        None => resp,
    }
}

/// Sends the headers and the first half of the body, then fails the body stream, so
/// hyper breaks the connection mid-answer.
async fn cut_body(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    let half = bytes.slice(..bytes.len() / 2);
    // A pause between the half and the break, so the headers and the half are on
    // the wire before hyper drops the connection.
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok::<_, std::io::Error>(half), 1)),
                1 => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Some((Err(std::io::Error::other("cut off on purpose")), 2))
                }
                _ => None,
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

async fn graphql_gate(
    app: &Arc<AppState>,
    mut ctx: Ctx,
    user: Option<usize>,
    token: Option<&str>,
    mut req: Request,
    next: Next,
    entry: &mut LogEntry,
) -> Response {
    let Some(token) = token.filter(|_| user.is_some()) else {
        return gh_error(
            StatusCode::UNAUTHORIZED,
            "This endpoint requires you to be authenticated.",
            "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
        );
    };
    let bucket = Bucket::Token(token.to_string());
    let now = now_epoch();
    match app.limiter.spend(&bucket, Resource::Graphql, 1, now) {
        Err(q) => {
            let uid = ctx.world.users[user.unwrap_or_default()].id;
            let body = serde_json::json!({"errors": [{
                "type": "RATE_LIMITED",
                "message": format!("API rate limit exceeded for user ID {uid}."),
            }]});
            let mut r = (StatusCode::OK, json_headers(), body.to_string()).into_response();
            set_quota_headers(r.headers_mut(), &q, Resource::Graphql);
            r
        }
        Ok(q) => {
            ctx.graphql_quota = Some(q);
            req.extensions_mut().insert(ctx);
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, 16 << 20)
                .await
                .unwrap_or_default();
            entry.graphql_operation = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| {
                    v.get("operationName")
                        .and_then(|n| n.as_str())
                        .map(str::to_string)
                        .or_else(|| operation_name(v.get("query")?.as_str()?))
                });
            let req = Request::from_parts(parts, Body::from(bytes));
            let mut r = next.run(req).await;
            set_quota_headers(r.headers_mut(), &q, Resource::Graphql);
            r
        }
    }
}

/// The name of a document's first named operation (`query Name(...)`), when the
/// request does not say `operationName`.
fn operation_name(query: &str) -> Option<String> {
    let text: String = query
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let mut words = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty());
    while let Some(w) = words.next() {
        if matches!(w, "query" | "mutation" | "subscription") {
            return words.next().map(str::to_string);
        }
        if w != "fragment" {
            return None;
        }
    }
    None
}

fn rate_limited(world: &crate::world::World, user: Option<usize>) -> Response {
    let msg = match user {
        Some(u) => format!(
            "API rate limit exceeded for user ID {}. If you reach out to GitHub Support for help, please include the request ID.",
            world.users[u].id
        ),
        None => "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)".to_string(),
    };
    gh_error(
        StatusCode::FORBIDDEN,
        &msg,
        "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits",
    )
}

/// Buffers a 200 answer with its strong ETag for the cache.
async fn to_cached(resp: Response) -> CachedRest {
    let (parts, body) = resp.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let etag = etag_of(&body);
    let headers = parts
        .headers
        .iter()
        .filter(|(k, _)| *k != header::CONTENT_LENGTH)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    CachedRest {
        body,
        etag,
        headers,
    }
}

/// A 200 with ETag and cache headers, or a bodiless 304 when `If-None-Match` matches.
fn cached_response(c: &CachedRest, if_none_match: Option<&str>) -> Response {
    let not_modified = if_none_match.is_some_and(|inm| etag_matches(inm, &c.etag));
    let mut r = if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(Body::from(c.body.clone()));
        for (k, v) in &c.headers {
            r.headers_mut().insert(k.clone(), v.clone());
        }
        r
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&c.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60, s-maxage=60"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization, Cookie"),
    );
    if not_modified {
        h.remove(header::CONTENT_TYPE);
    }
    r
}

/// A running double.
pub struct Running {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `listen` and serves `world` in the background.
pub async fn start(
    world: crate::world::World,
    config: crate::faults::DoubleConfig,
    listen: SocketAddr,
) -> std::io::Result<Running> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let state = AppState::new(world, config, addr);
    let router = crate::routes(state.clone());
    let task = tokio::spawn(serve(listener, router));
    Ok(Running { addr, state, task })
}

/// The same answer, its headers at once and its body in ten pieces spread over `over`
/// (chunked, no `content-length`), like a GitHub answer over a congested link.
async fn slow_body(resp: Response, over: Duration) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    let piece = bytes.len().div_ceil(10).max(1);
    let pieces: Vec<bytes::Bytes> = (0..bytes.len())
        .step_by(piece)
        .map(|start| bytes.slice(start..(start + piece).min(bytes.len())))
        .collect();
    let pause = over / 10;
    let stream = futures_util::stream::unfold(pieces.into_iter(), move |mut rest| async move {
        let next = rest.next()?;
        tokio::time::sleep(pause).await;
        Some((Ok::<_, Infallible>(next), rest))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_github_auth_schemes_are_accepted() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&h).as_deref(), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("token xyz"));
        assert_eq!(bearer(&h).as_deref(), Some("xyz"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn operation_names_come_from_the_document() {
        assert_eq!(
            operation_name("# c\nquery ReviewThreads($a: Int) { x }").as_deref(),
            Some("ReviewThreads")
        );
        assert_eq!(operation_name("mutation M { x }").as_deref(), Some("M"));
        assert_eq!(operation_name("{ viewer { login } }"), None);
    }

    #[test]
    fn etag_matching_accepts_lists_and_weak_forms() {
        let e = etag_of(b"{}");
        assert!(etag_matches(&e, &e));
        assert!(etag_matches(&format!("\"x\", W/{e}"), &e));
        assert!(!etag_matches("\"other\"", &e));
    }

    #[test]
    fn ghes_prefix_is_stripped_and_remembered() {
        let req = Request::builder()
            .uri("/api/v3/repos/o/r?page=2")
            .body(Body::empty())
            .unwrap();
        let req = rewrite_prefix(req);
        assert_eq!(req.uri().to_string(), "/repos/o/r?page=2");
        assert_eq!(
            req.extensions().get::<Original>().unwrap().prefix,
            "/api/v3"
        );
        let req = rewrite_prefix(
            Request::builder()
                .uri("/api/graphql")
                .body(Body::empty())
                .unwrap(),
        );
        assert_eq!(req.uri().path(), "/graphql");
    }
}
