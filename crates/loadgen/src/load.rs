//! The load through the server: one MCP session per tenant (or one shared
//! session), each tenant calling `fetch_pr_review_comments` on its own PR in a
//! loop until the deadline, every answer checked.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use rmcp::service::RunningService;
use rmcp::transport::common::client_side_sse::ExponentialBackoff;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::json;
use tokio::task::JoinSet;

use crate::cause::{self, ByCause, CLIENT_TIMEOUT_PREFIX, SESSION_PREFIX, TRANSPORT_PREFIX};
use crate::check::{clip, verdict, Verdict};
use crate::stats::Samples;

pub type Client = RunningService<RoleClient, ()>;

/// How many error / violation texts to keep.
pub const SAMPLES_KEPT: usize = 5;
/// Time allowed to open one MCP session.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenVia {
    /// `X-GitHub-Token` header on the session.
    Header,
    /// `Authorization: Bearer` on the session.
    Bearer,
    /// `params._meta.token` on every call.
    Meta,
    /// Tenant i uses header, bearer, meta for i % 3 = 0, 1, 2.
    Mixed,
}

impl TokenVia {
    /// The concrete mode of tenant `i`.
    pub fn for_tenant(self, i: usize) -> TokenVia {
        match self {
            TokenVia::Mixed => [TokenVia::Header, TokenVia::Bearer, TokenVia::Meta][i % 3],
            other => other,
        }
    }
}

pub fn token(i: usize) -> String {
    format!("ghp_tenant{i}")
}

/// Opens one MCP session. Retries are bounded: at most 3 SSE reconnects, and no
/// silent re-initialisation of an expired session (that would hide a server fault).
pub async fn connect(
    mcp_url: &str,
    via: TokenVia,
    token: &str,
    concurrency: usize,
) -> Result<Client> {
    let mut retry = ExponentialBackoff::default();
    retry.max_times = Some(3);
    retry.max_delay = Some(Duration::from_secs(2));
    let mut config = StreamableHttpClientTransportConfig::with_uri(mcp_url.to_owned())
        .max_concurrent_requests(concurrency)
        .reinit_on_expired_session(false);
    config.retry_config = Arc::new(retry);
    match via {
        TokenVia::Header => {
            let mut headers = HashMap::new();
            headers.insert(
                http::HeaderName::from_static("x-github-token"),
                http::HeaderValue::from_str(token).context("token as a header value")?,
            );
            config = config.custom_headers(headers);
        }
        TokenVia::Bearer => config = config.auth_header(token),
        TokenVia::Meta | TokenVia::Mixed => {}
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    let client = tokio::time::timeout(CONNECT_TIMEOUT, ().serve(transport))
        .await
        .context("MCP initialize did not finish within 30 s")?
        .context("MCP initialize failed")?;
    Ok(client)
}

/// What the load through the server measured.
#[derive(Debug, Default)]
pub struct LoadResult {
    pub latencies: Samples,
    pub calls: u64,
    pub errors: u64,
    /// `errors` by cause (see `cause::classify`).
    pub errors_by_cause: ByCause,
    pub cross_tenant: u64,
    pub error_samples: Vec<String>,
    pub cross_samples: Vec<String>,
    /// Calls made per tenant (index = tenant number).
    pub calls_by_tenant: HashMap<usize, u64>,
    /// Sessions that could not be opened.
    pub session_failures: u64,
    /// Wall time from the start signal to the last call's end.
    pub elapsed: Duration,
    /// Time to open every session.
    pub connect_time: Duration,
}

impl LoadResult {
    fn note_error(&mut self, text: String) {
        self.errors += 1;
        cause::count(&mut self.errors_by_cause, &text);
        if self.error_samples.len() < SAMPLES_KEPT {
            self.error_samples.push(text);
        }
    }

    fn merge(&mut self, other: TenantResult, tenant: usize) {
        self.calls += other.calls;
        self.calls_by_tenant.insert(tenant, other.calls);
        self.latencies.extend(other.latencies);
        self.cross_tenant += other.cross_samples.len() as u64 + other.cross_dropped;
        for s in other.cross_samples {
            if self.cross_samples.len() < SAMPLES_KEPT {
                self.cross_samples.push(s);
            }
        }
        self.errors += other.errors;
        cause::merge(&mut self.errors_by_cause, &other.errors_by_cause);
        for s in other.error_samples {
            if self.error_samples.len() < SAMPLES_KEPT {
                self.error_samples.push(s);
            }
        }
    }
}

#[derive(Debug, Default)]
struct TenantResult {
    calls: u64,
    errors: u64,
    errors_by_cause: ByCause,
    latencies: Samples,
    error_samples: Vec<String>,
    cross_samples: Vec<String>,
    cross_dropped: u64,
}

pub struct LoadOptions {
    pub mcp_url: String,
    pub tenants: usize,
    pub duration: Duration,
    pub token_via: TokenVia,
    pub shared_session: bool,
    pub call_timeout: Duration,
    /// `output` argument of every call.
    pub output: String,
}

/// Opens the sessions, runs every tenant until the deadline, closes the sessions.
pub async fn run(opts: &LoadOptions) -> Result<LoadResult> {
    let mut result = LoadResult::default();

    // 1. Sessions, all opened before the clock starts.
    let connect_started = Instant::now();
    let mut sessions: Vec<(usize, Arc<Client>)> = Vec::new();
    if opts.shared_session {
        let client = connect(&opts.mcp_url, TokenVia::Meta, "", opts.tenants.max(16))
            .await
            .context("opening the shared session")?;
        let client = Arc::new(client);
        sessions.extend((1..=opts.tenants).map(|i| (i, client.clone())));
    } else {
        let mut set = JoinSet::new();
        for i in 1..=opts.tenants {
            let url = opts.mcp_url.clone();
            let via = opts.token_via.for_tenant(i);
            set.spawn(async move { (i, connect(&url, via, &token(i), 16).await) });
        }
        while let Some(joined) = set.join_next().await {
            let (i, client) = joined.context("session task panicked")?;
            match client {
                Ok(c) => sessions.push((i, Arc::new(c))),
                Err(e) => {
                    result.session_failures += 1;
                    result.note_error(format!("tenant{i}: {SESSION_PREFIX} {e:#}"));
                }
            }
        }
        sessions.sort_by_key(|(i, _)| *i);
    }
    if sessions.is_empty() {
        anyhow::bail!(
            "no MCP session could be opened: {}",
            result.error_samples.join("; ")
        );
    }

    result.connect_time = connect_started.elapsed();

    // 2. The load.
    let started = Instant::now();
    let deadline = started + opts.duration;
    let mut set = JoinSet::new();
    for (i, client) in &sessions {
        let (i, client) = (*i, client.clone());
        let via = opts.token_via.for_tenant(i);
        let meta = opts.shared_session || via == TokenVia::Meta;
        let timeout = opts.call_timeout;
        let output = opts.output.clone();
        set.spawn(async move {
            (
                i,
                tenant_loop(i, client, meta, &output, deadline, timeout).await,
            )
        });
    }
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.context("tenant task panicked")?;
        result.merge(r, i);
    }
    result.elapsed = started.elapsed();

    // 3. Close the sessions (bounded).
    let mut closing = JoinSet::new();
    let mut seen = std::collections::HashSet::new();
    for (_, client) in sessions {
        let ptr = Arc::as_ptr(&client) as usize;
        if seen.insert(ptr) {
            closing.spawn(async move {
                let _ = client_close(client).await;
            });
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while closing.join_next().await.is_some() {}
    })
    .await;
    Ok(result)
}

async fn client_close(client: Arc<Client>) -> Option<()> {
    // Other clones are gone once every tenant task has finished.
    let mut client = Arc::into_inner(client)?;
    let _ = client.close_with_timeout(Duration::from_secs(5)).await;
    Some(())
}

async fn tenant_loop(
    i: usize,
    client: Arc<Client>,
    meta: bool,
    output: &str,
    deadline: Instant,
    call_timeout: Duration,
) -> TenantResult {
    let mut r = TenantResult::default();
    let mut params = CallToolRequestParams::new("fetch_pr_review_comments");
    params.arguments = json!({"pr_url": format!("tenant{i}/repo{i}#1"), "output": output})
        .as_object()
        .cloned();
    if meta {
        let mut m = RequestMetaObject::new();
        m.0 .0.insert("token".into(), json!(token(i)));
        params.meta = Some(m);
    }
    while Instant::now() < deadline {
        let t0 = Instant::now();
        let answer = tokio::time::timeout(call_timeout, client.call_tool(params.clone())).await;
        r.latencies.push(t0.elapsed());
        r.calls += 1;
        let outcome = match answer {
            Err(_) => Verdict::Error(format!(
                "{CLIENT_TIMEOUT_PREFIX} {} s",
                call_timeout.as_secs_f64()
            )),
            Ok(Err(e)) => {
                Verdict::Error(format!("{TRANSPORT_PREFIX} {}", clip(&e.to_string(), 300)))
            }
            Ok(Ok(res)) => {
                let text = res
                    .content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
                    .collect::<Vec<_>>()
                    .join("\n");
                verdict(
                    i as u64,
                    res.is_error == Some(true),
                    &text,
                    res.structured_content.as_ref(),
                )
            }
        };
        match outcome {
            Verdict::Ok => {}
            Verdict::Error(e) => {
                r.errors += 1;
                cause::count(&mut r.errors_by_cause, &e);
                if r.error_samples.len() < SAMPLES_KEPT {
                    r.error_samples.push(format!("tenant{i}: {e}"));
                }
            }
            Verdict::CrossTenant(e) => {
                if r.cross_samples.len() < SAMPLES_KEPT {
                    r.cross_samples.push(e);
                } else {
                    r.cross_dropped += 1;
                }
            }
        }
    }
    r
}
