//! Streamable HTTP: `/mcp` (rmcp's service behind our auth gate), `/healthz`, the
//! OAuth protected-resource metadata (RFC 9728) and, with `--oauth`, the sign-in
//! endpoints (`crate::oauth`). Graceful shutdown on SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::json;

use crate::state::sessions::SharedSessions;
use tokio_util::sync::CancellationToken;

use crate::auth::signin::{SCOPES, SCOPE_WRITE};
use crate::auth::{bearer_of, BearerError, BearerVerifier};
use crate::config::HttpConfig;
use crate::oauth::Oauth;
use crate::tools::{ReviewServer, Shared};

const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

struct Gate {
    shared: Arc<Shared>,
    /// Sign-in (`--oauth`): Bearer tokens are ours and verified here.
    oauth: Option<Arc<Oauth>>,
    /// Tools that need the write scope.
    write_tools: std::collections::BTreeSet<String>,
    allowed_hosts: Vec<String>,
    public_url: Option<url::Url>,
    listen: std::net::SocketAddr,
    max_body_bytes: usize,
}

impl Gate {
    /// `https://mcp.example.com`: the configured public URL, else this request's
    /// Host when it is an allowed one, else the listen address.
    fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(oauth) = &self.oauth {
            return oauth.issuer();
        }
        if let Some(url) = &self.public_url {
            return url.as_str().trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                let name = h
                    .rsplit_once(':')
                    .map_or(*h, |(n, _)| n)
                    .trim_matches(['[', ']']);
                self.allowed_hosts
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(name) || a.eq_ignore_ascii_case(h))
            });
        match host {
            Some(host) => format!("http://{host}"),
            None => format!("http://{}", self.listen),
        }
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The shape of a JSON-RPC request, as far as the gate needs it. Everything else is
/// skipped without being built.
#[derive(Deserialize)]
struct Probe {
    id: Option<serde_json::Value>,
    method: Option<String>,
    params: Option<ProbeParams>,
    #[serde(flatten)]
    _rest: IgnoredAny,
}

#[derive(Deserialize)]
struct ProbeParams {
    #[serde(rename = "_meta")]
    meta: Option<serde_json::Map<String, serde_json::Value>>,
    /// The tool of a `tools/call`.
    name: Option<String>,
}

/// A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1).
fn challenge(gate: &Gate, headers: &HeaderMap, error: Option<(&str, &str)>) -> String {
    let mut value = format!(
        "Bearer resource_metadata=\"{}{METADATA_PATH}\"",
        gate.base_url(headers)
    );
    if gate.oauth.is_some() {
        value.push_str(&format!(", scope=\"{}\"", SCOPES.join(" ")));
    }
    if let Some((code, description)) = error {
        value.push_str(&format!(
            ", error=\"{code}\", error_description=\"{}\"",
            description.replace(['"', '\\'], "'")
        ));
    }
    value
}

/// A refusal with its challenge and a JSON-RPC error body carrying the request's id
/// (when known), so SDKs that read the body show the reason.
fn refuse(
    status: StatusCode,
    challenge: String,
    id: Option<serde_json::Value>,
    message: &str,
) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": -32001, "message": message },
    });
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// In front of `/mcp`: a malformed token header is 400; a `tools/call`,
/// `resources/read` or `prompts/get` that ends with no token at all is 401 with the
/// RFC 9728 challenge. Everything else (initialize, lists, notifications) passes, so
/// a client that sends tokens only in `_meta` connects without any header.
///
/// With sign-in on, a Bearer must be one of our tokens (else 401 `invalid_token`),
/// what it vouches for rides along to the tools as [`crate::auth::SignedIn`], every
/// request (not only `tools/call`) needs a credential so clients start their sign-in
/// at `initialize`, and a write tool without the write scope is 403
/// `insufficient_scope`.
async fn auth_gate(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    if request.method() == axum::http::Method::DELETE {
        // rmcp ends a session with 202 Accepted; the Python SDK takes 200 or 204 and logs
        // "Session termination failed: 202" for anything else, on every close. The
        // session is gone when rmcp answers, so 204 No Content says so.
        let mut response = next.run(request).await;
        if response.status() == StatusCode::ACCEPTED {
            *response.status_mut() = StatusCode::NO_CONTENT;
        }
        return response;
    }
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let signed_in = match &gate.oauth {
        None => None,
        Some(oauth) => match bearer_of(request.headers()) {
            Err(err) => return json_error(StatusCode::BAD_REQUEST, &err.to_string()),
            Ok(None) => None,
            Ok(Some(bearer)) => match oauth.verify(bearer).await {
                Ok(signed_in) => Some(signed_in),
                Err(BearerError::Invalid(why)) => {
                    tracing::info!(
                        outcome = "invalid_token",
                        reason = why,
                        "bearer token refused: 401"
                    );
                    let challenge =
                        challenge(&gate, request.headers(), Some(("invalid_token", why)));
                    return refuse(StatusCode::UNAUTHORIZED, challenge, None, why);
                }
                Err(err @ BearerError::Unavailable(_)) => {
                    tracing::error!(error = %err, "bearer token not checked: 503");
                    return json_error(StatusCode::SERVICE_UNAVAILABLE, &err.to_string());
                }
            },
        },
    };
    if let Err(err) = gate
        .shared
        .tokens
        .resolve(None, Some(request.headers()), signed_in.as_ref())
    {
        if !err.is_missing() {
            return json_error(StatusCode::BAD_REQUEST, &err.to_string());
        }
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > gate.max_body_bytes) {
        // Refuse before reading a byte of it.
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body larger than {} bytes", gate.max_body_bytes),
        );
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match to_bytes(body, gate.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("request body larger than {} bytes", gate.max_body_bytes),
            )
        }
    };
    if let Ok(probe) = serde_json::from_slice::<Probe>(&bytes) {
        let is_call = probe.method.as_deref() == Some("tools/call");
        // What reads GitHub with the caller's token (completions do too, but are
        // only hints: without a token they are empty, not refused).
        let needs_token = matches!(
            probe.method.as_deref(),
            Some("tools/call" | "resources/read" | "prompts/get")
        );
        let is_request = probe.id.is_some() && probe.method.is_some();
        if needs_token || (gate.oauth.is_some() && is_request) {
            let meta_token = probe
                .params
                .as_ref()
                .and_then(|p| p.meta.as_ref())
                .and_then(|m| m.get("token"));
            if let Err(err) =
                gate.shared
                    .tokens
                    .resolve(meta_token, Some(&parts.headers), signed_in.as_ref())
            {
                if err.is_missing() {
                    tracing::info!(
                        outcome = "challenge",
                        method = probe.method.as_deref(),
                        "request without a token: 401"
                    );
                    let challenge = challenge(&gate, &parts.headers, None);
                    return refuse(
                        StatusCode::UNAUTHORIZED,
                        challenge,
                        probe.id,
                        &err.to_string(),
                    );
                }
                // A malformed `_meta.token` reaches the tool, which answers with a
                // tool error naming the problem.
            }
        }
        let tool = probe.params.as_ref().and_then(|p| p.name.as_deref());
        if let (true, Some(signed_in), Some(tool)) = (is_call, &signed_in, tool) {
            if gate.write_tools.contains(tool) && !signed_in.has_scope(SCOPE_WRITE) {
                tracing::info!(outcome = "insufficient_scope", tool, login = %signed_in.login, "write tool without the write scope: 403");
                let why = "this tool writes: sign in again granting the review:write scope";
                let challenge = challenge(&gate, &parts.headers, Some(("insufficient_scope", why)));
                return refuse(StatusCode::FORBIDDEN, challenge, probe.id, why);
            }
        }
    }
    if let Some(signed_in) = signed_in {
        parts.extensions.insert(signed_in);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Always 200 while the process serves: a degraded shared state is said, not a
/// reason for the load balancer to take every replica out at once.
async fn healthz(State(gate): State<Arc<Gate>>) -> impl IntoResponse {
    let health = gate.shared.state.health();
    match health.degraded {
        None => Json(json!({ "status": "ok", "state": health.backend })),
        Some(reason) => Json(json!({
            "status": "degraded",
            "state": health.backend,
            "reason": reason,
            "fallback": "budgets and shares are this replica's own until the state answers; sessions opened elsewhere are not found",
        })),
    }
}

async fn metrics(State(gate): State<Arc<Gate>>) -> impl IntoResponse {
    let health = gate.shared.state.health();
    let metrics = &gate.shared.metrics;
    metrics
        .state_degraded
        .set(i64::from(health.degraded.is_some()));
    let counted = metrics.state_round_trips.get();
    metrics
        .state_round_trips
        .inc_by(health.round_trips.saturating_sub(counted));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gate.shared.metrics.render(),
    )
}

async fn resource_metadata(State(gate): State<Arc<Gate>>, headers: HeaderMap) -> impl IntoResponse {
    if let Some(oauth) = &gate.oauth {
        return Json(oauth.protected_resource_metadata());
    }
    let base = gate.base_url(&headers);
    Json(json!({
        "resource": format!("{base}/mcp"),
        "authorization_servers": [gate.shared.github.host().oauth_authorization_server()],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["repo"],
        "resource_name": "github-review-mcp",
        "resource_documentation": "https://github.com/settings/tokens",
    }))
}

/// Builds the HTTP application. `shutdown` cancels every MCP session when fired.
pub fn router(
    shared: Arc<Shared>,
    oauth: Option<Arc<Oauth>>,
    config: &HttpConfig,
    shutdown: CancellationToken,
) -> Router {
    let mut mcp_config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(config.allowed_hosts.clone())
        .with_allowed_origins(config.allowed_origins.clone())
        .enforce_origin_validation()
        .with_max_request_body_bytes(config.max_body_bytes)
        .with_cancellation_token(shutdown);
    if config.stateless {
        // No server-side session: every POST is served on its own, so any replica
        // behind a plain load balancer can answer it.
        mcp_config = mcp_config
            .with_legacy_session_mode(false)
            .with_json_response(true);
    }
    if !config.stateless && shared.state.health().backend != "memory" {
        // Sessions restorable on any replica (Redis) or after a restart (file).
        mcp_config.session_store = Some(Arc::new(SharedSessions(shared.state.clone())));
    }
    let factory_shared = shared.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(ReviewServer::new(factory_shared.clone())),
        Arc::new(LocalSessionManager::default()),
        mcp_config,
    );
    let gate = Arc::new(Gate {
        shared,
        oauth: oauth.clone(),
        write_tools: ReviewServer::write_tool_names(),
        allowed_hosts: config.allowed_hosts.clone(),
        public_url: config.public_url.clone(),
        listen: config.listen,
        max_body_bytes: config.max_body_bytes,
    });
    // Metadata and the sign-in endpoints that clients call from scripts carry no
    // cookies, so any origin may read them (browser-based MCP clients need this).
    let metadata = Router::new()
        .route(METADATA_PATH, get(resource_metadata))
        .route(&format!("{METADATA_PATH}/mcp"), get(resource_metadata))
        .with_state(gate.clone());
    let mut app = Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(gate.clone(), auth_gate))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(gate);
    let mut public = metadata;
    if let Some(oauth) = &oauth {
        public = public.merge(oauth.public_router());
        app = app.merge(oauth.browser_router());
    }
    app.merge(public.layer(tower_http::cors::CorsLayer::permissive()))
}

/// Serves until SIGINT/SIGTERM, then lets in-flight calls finish within the
/// configured bound.
pub async fn serve(
    shared: Arc<Shared>,
    oauth: Option<Arc<Oauth>>,
    config: HttpConfig,
) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let app = router(shared.clone(), oauth, &config, shutdown.clone());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "listening: MCP at http://{local}/mcp, health at /healthz");
    let signal = shutdown.clone();
    let grace = config.shutdown_timeout;
    let drain = shared.in_flight.clone();
    let stop = async move {
        super::shutdown_signal().await;
        tracing::info!(
            in_flight = drain.count(),
            "shutting down: finishing in-flight calls"
        );
        if !drain.wait_idle(grace).await {
            tracing::warn!(
                seconds = grace.as_secs(),
                in_flight = drain.count(),
                "drain bound reached; closing calls still open"
            );
        }
        // Let the last answers reach their streams before the sessions close.
        tokio::time::sleep(Duration::from_millis(100)).await;
        signal.cancel();
    };
    let server = super::connections::serve(listener, app, config.max_header_bytes, stop);
    tokio::select! {
        () = server => {}
        _ = async { shutdown.cancelled().await; tokio::time::sleep(Duration::from_secs(2)).await } => {
            tracing::warn!("connections still open after the sessions closed; exiting");
        }
    }
    tracing::info!("stopped");
    Ok(())
}
