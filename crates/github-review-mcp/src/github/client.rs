//! One HTTP client per configured host, with pooled keep-alive connections reused
//! across calls and tenants (connections carry no credentials; each request carries
//! its own token). Redirects are followed only within the configured host.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use reqwest::redirect;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use super::cache::{CacheKey, CachedResponse, EtagCache};
use super::error::{github_message, GitHubError};
use super::host::GitHubHost;
use super::limits::{describe_reset, Gates, TenantShare};
use crate::auth::{Token, TokenId};
use crate::metrics::{Metrics, ResourceLabels};
use crate::state::{Share, Store};

const REST_ACCEPT: &str = "application/vnd.github+json";

/// What a call brings to GitHub: its token, and, when it spends the shared server
/// token, its tenant's share to charge.
#[derive(Debug, Clone)]
pub struct Credential {
    pub token: Token,
    pub share: Option<TenantShare>,
    /// A signed-in user's grant: GitHub's 401 on this token ends it.
    pub grant: Option<crate::auth::GrantRef>,
}

impl Credential {
    pub fn new(token: Token) -> Self {
        Self {
            token,
            share: None,
            grant: None,
        }
    }
}

/// What a transport failure was, in words a reader can act on: refused, reset,
/// closed before an answer, cut mid-answer, TLS, DNS. Read from the error's chain
/// (I/O error kinds first, then hyper's and rustls' own wording); never its URL.
fn transport_failure(e: &reqwest::Error) -> &'static str {
    use std::error::Error as _;
    use std::io::ErrorKind;
    let mut texts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => {
                    return "the connection was refused (nothing listens there, or a firewall said no)"
                }
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                    return "the connection was reset"
                }
                ErrorKind::UnexpectedEof if !(e.is_body() || e.is_decode()) => {
                    return "the connection was closed before an answer"
                }
                _ => {}
            }
        }
        texts.push(s.to_string().to_ascii_lowercase());
        source = s.source();
    }
    let said = |needle: &str| texts.iter().any(|t| t.contains(needle));
    if said("dns error") || said("failed to lookup address") || said("name or service not known") {
        "the host name did not resolve (DNS)"
    } else if said("certificate") || said("tls") || said("handshake") || said("corrupt message") {
        "the TLS handshake failed (a certificate, or not TLS at all on that port)"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off mid-body"
    } else if said("connection closed before message completed") || said("incomplete message") {
        "the connection was closed before an answer"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_redirect() {
        "too many redirects"
    } else {
        "the request failed"
    }
}

/// Tunables of the client's politeness towards GitHub.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub timeout: Duration,
    /// Longest total wait on secondary rate limits before a read gives up.
    pub max_retry_wait: Duration,
    /// Concurrent reads per token (GitHub allows 100; writes always go one at a time).
    pub reads_per_token: usize,
    /// Bytes of REST bodies kept for conditional requests.
    pub cache_bytes: usize,
    /// The server's own token, whose remaining budget is exported as a metric.
    pub server_token: Option<TokenId>,
    /// Idle keep-alive connections kept for reuse.
    pub idle_connections: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_retry_wait: Duration::from_secs(10),
            reads_per_token: 8,
            cache_bytes: 64 << 20,
            server_token: None,
            idle_connections: 16,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    Rest,
    GraphQl,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Rest => "rest",
            Api::GraphQl => "graphql",
        }
    }

    fn resource(self) -> &'static str {
        match self {
            Api::Rest => "core",
            Api::GraphQl => "graphql",
        }
    }
}

/// What a request's caller takes as GitHub's answer: a 2xx, or (the one endpoint that
/// hands out a download link) also a redirect GitHub did not ask us to follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Success,
    Redirect,
}

const USER_AGENT: &str = concat!("github-review-mcp/", env!("CARGO_PKG_VERSION"));

/// Size hints kept (a few dozen bytes each); the least recently used goes first.
const MAX_SIZE_HINTS: usize = 10_000;

/// Rate-limit figures GitHub sent with a response (`x-ratelimit-*`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct RateLimit {
    pub resource: String,
    pub limit: u64,
    pub remaining: u64,
    pub used: u64,
    /// Unix seconds when the budget resets.
    pub reset: u64,
}

impl RateLimit {
    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let num = |name: &str| headers.get(name)?.to_str().ok()?.parse::<u64>().ok();
        Some(Self {
            resource: headers
                .get("x-ratelimit-resource")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("core")
                .to_owned(),
            limit: num("x-ratelimit-limit")?,
            remaining: num("x-ratelimit-remaining")?,
            used: num("x-ratelimit-used").unwrap_or(0),
            reset: num("x-ratelimit-reset").unwrap_or(0),
        })
    }
}

/// A decoded REST answer with the headers callers care about.
#[derive(Debug)]
pub struct RestResponse<T> {
    pub body: T,
    /// `X-OAuth-Scopes`: present for classic PATs and OAuth tokens.
    pub scopes: Option<String>,
    pub rate_limit: Option<RateLimit>,
}

#[derive(Debug, Clone)]
pub struct GitHubClient {
    http: reqwest::Client,
    host: GitHubHost,
    options: ClientOptions,
    gates: Arc<Gates>,
    cache: Arc<EtagCache>,
    metrics: Arc<Metrics>,
    /// Sizes seen per (token, key), e.g. a pull request's thread count, to plan the
    /// next fetch of the same thing. Per token, like every other cache.
    hints: Arc<std::sync::Mutex<lru::LruCache<(TokenId, String), u32>>>,
    /// What replicas must agree on: spent budgets, back-offs, tenants' shares.
    state: Arc<dyn Store>,
    /// Downloads from the hosts GitHub redirects to (`download`): no token, no redirects.
    downloads: Arc<std::sync::OnceLock<reqwest::Client>>,
}

#[derive(Deserialize)]
struct GraphQlResponse<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphQlError>,
}

#[derive(Deserialize)]
struct GraphQlError {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: String,
}

/// One request of a tenant's share, taken before the request is sent.
struct Reservation {
    state: Arc<dyn Store>,
    share: TenantShare,
    /// Set once GitHub answered with something it counts (anything but a 304).
    charged: bool,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.charged {
            return;
        }
        let (state, share) = (self.state.clone(), self.share.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { state.refund(share.request()).await });
        }
    }
}

impl GitHubClient {
    pub fn new(host: GitHubHost, timeout: Duration) -> Result<Self, reqwest::Error> {
        Self::with_options(
            host,
            ClientOptions {
                timeout,
                ..Default::default()
            },
            Arc::new(Metrics::new()),
            Arc::new(crate::state::memory::MemoryStore::default()),
        )
    }

    /// `state` is where what replicas must agree on lives (spent budgets, back-offs,
    /// tenants' shares); `main` picks it from `--state`.
    pub fn with_options(
        host: GitHubHost,
        options: ClientOptions,
        metrics: Arc<Metrics>,
        state: Arc<dyn Store>,
    ) -> Result<Self, reqwest::Error> {
        let timeout = options.timeout;
        let allowed = host.clone();
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 || !allowed.owns(attempt.url()) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder();
        if host.web().scheme() == "http" {
            // A loopback test or demo host: no TLS, so load no root certificates
            // (saves start-up time and a few MiB).
            builder = builder.tls_certs_only(std::iter::empty());
        } else {
            builder = builder.https_only(true);
        }
        let http = builder
            .user_agent(USER_AGENT)
            .redirect(policy)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            // hyper keeps an idle HTTP/1 connection's read buffer at the size of the
            // largest answer it carried: connections past this bound are closed
            // instead of pooled, so a burst does not leave one such buffer per call.
            .pool_max_idle_per_host(options.idle_connections)
            .build()?;
        Ok(Self {
            http,
            host,
            gates: Arc::new(Gates::new(options.reads_per_token)),
            cache: Arc::new(EtagCache::new(options.cache_bytes)),
            // Grown as used: a bounded LruCache would allocate all its slots up front
            // (about 280 KiB), a third of a stdio server's heap.
            hints: Arc::new(std::sync::Mutex::new(lru::LruCache::unbounded())),
            options,
            metrics,
            state,
            downloads: Arc::default(),
        })
    }

    pub fn host(&self) -> &GitHubHost {
        &self.host
    }

    fn auth_header(token: &Token) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .expect("tokens are validated as printable ASCII");
        value.set_sensitive(true);
        value
    }

    pub fn size_hint(&self, token: TokenId, key: &str) -> Option<u32> {
        self.hints
            .lock()
            .expect("hints lock")
            .get(&(token, key.to_owned()))
            .copied()
    }

    pub fn set_size_hint(&self, token: TokenId, key: &str, size: u32) {
        let mut hints = self.hints.lock().expect("hints lock");
        hints.put((token, key.to_owned()), size);
        if hints.len() > MAX_SIZE_HINTS {
            hints.pop_lru();
        }
    }

    /// Sends one logical request: fail fast on a known-exhausted budget or a used-up
    /// share, wait for the token's concurrency permit, revalidate a cached body,
    /// record the budget GitHub reports, and (reads only) wait out a short secondary
    /// rate limit. Returns headers and body of a successful answer.
    async fn execute(
        &self,
        credential: &Credential,
        api: Api,
        write: bool,
        cache_key: Option<CacheKey>,
        expect: Expect,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(HeaderMap, bytes::Bytes), GitHubError> {
        let id = credential.token.id();
        let share = credential.share.as_ref();
        let (limits, granted) = self
            .state
            .before_request(id, api.resource(), share.map(TenantShare::request))
            .await;
        if let Some(reset) = limits.spent_until {
            return Err(GitHubError::RateLimited {
                resource: api.resource().to_owned(),
                reset: describe_reset(reset),
            });
        }
        if let (Some(Share::Refused { resets_in_secs }), Some(share)) = (granted, share) {
            self.metrics.share_refusals.inc();
            return Err(GitHubError::ShareExhausted {
                limit: share.limit,
                resets_in_secs,
            });
        }
        // Given back unless GitHub charged the request: after a 304, no answer, or a
        // call cut short (the call timeout drops this future mid-request).
        let mut reservation = match (granted, share) {
            (Some(Share::Granted), Some(share)) => Some(Reservation {
                state: self.state.clone(),
                share: share.clone(),
                charged: false,
            }),
            _ => None,
        };
        let mut not_reserved = false;
        let charged = reservation
            .as_mut()
            .map_or(&mut not_reserved, |r| &mut r.charged);
        self.send(
            credential, api, write, cache_key, expect, build, limits, charged,
        )
        .await
    }

    /// The request and its retries; `charged` is set when GitHub answered with
    /// something it counts against the budget (anything but a 304).
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        credential: &Credential,
        api: Api,
        write: bool,
        cache_key: Option<CacheKey>,
        expect: Expect,
        build: impl Fn() -> reqwest::RequestBuilder,
        limits: crate::state::TokenLimits,
        charged: &mut bool,
    ) -> Result<(HeaderMap, bytes::Bytes), GitHubError> {
        let id = credential.token.id();
        let started = Instant::now();
        if let Some(until) = limits.backoff_until_ms {
            // Another call (maybe on another replica) was told to back off.
            let wait = Duration::from_millis(until.saturating_sub(crate::state::now_ms()));
            if wait > self.options.max_retry_wait {
                return Err(GitHubError::SecondaryRateLimit {
                    retry_after: Some(wait),
                });
            }
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "secondary rate limit on this token: waiting before sending"
            );
            super::events::report(super::events::Event::Wait {
                ms: wait.as_millis() as u64,
            });
            tokio::time::sleep(wait).await;
        }
        let _permit = self.gates.acquire(id, write).await;
        let cached = cache_key.as_ref().and_then(|k| self.cache.get(k));
        let mut attempt = 0u32;
        loop {
            let mut request = build();
            if let Some(cached) = &cached {
                request = request.header(http::header::IF_NONE_MATCH, &cached.etag);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    self.metrics.upstream(api.name(), None);
                    let error = self.transport_error(&e);
                    // A read whose connection failed or broke is tried again, briefly;
                    // so is a write whose connection was never made (nothing was
                    // sent). A timeout is not (the bound would double).
                    let unsent = e.is_connect();
                    if (!write || unsent)
                        && !e.is_timeout()
                        && self.may_retry(started, &mut attempt).await
                    {
                        tracing::info!(attempt, write, error = %error, "sending the request again after a network error");
                        super::events::report(super::events::Event::Retry {
                            attempt,
                            why: "a network error",
                        });
                        continue;
                    }
                    return Err(error);
                }
            };
            let status = response.status();
            super::events::report(super::events::Event::Answered {
                api: api.name(),
                status: Some(status.as_u16()),
                ms: started.elapsed().as_millis() as u64,
            });
            let headers = response.headers().clone();
            self.metrics.upstream(api.name(), Some(status.as_u16()));
            if let Some(limit) = RateLimit::from_headers(&headers) {
                if self.options.server_token == Some(id) {
                    self.metrics
                        .server_token_remaining
                        .get_or_create(&ResourceLabels {
                            resource: limit.resource.clone(),
                        })
                        .set(limit.remaining as i64);
                }
                if limit.remaining == 0 {
                    self.state
                        .record_spent(id, &limit.resource, limit.reset)
                        .await;
                }
            }
            if status == StatusCode::NOT_MODIFIED {
                if let Some(cached) = cached {
                    self.metrics.cache_event("revalidated");
                    return Ok((cached.headers, cached.body));
                }
            }
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => {
                    let error = self.transport_error(&e);
                    if !write && !e.is_timeout() && self.may_retry(started, &mut attempt).await {
                        tracing::info!(attempt, error = %error, "retrying a read whose answer broke off");
                        super::events::report(super::events::Event::Retry {
                            attempt,
                            why: "an answer that broke off",
                        });
                        continue;
                    }
                    return Err(error);
                }
            };
            *charged = true;
            if status == StatusCode::UNAUTHORIZED {
                if let Some(grant) = &credential.grant {
                    // Revoked at GitHub: the sign-in grant ends with it.
                    grant.upstream_rejected().await;
                }
            }
            let redirected = expect == Expect::Redirect
                && status.is_redirection()
                && headers.contains_key(http::header::LOCATION);
            if status.is_success() || redirected {
                let etag = headers
                    .get(http::header::ETAG)
                    .and_then(|v| v.to_str().ok());
                match (cache_key, etag) {
                    (Some(key), Some(etag)) => {
                        self.metrics.cache_event("stored");
                        let mut kept = HeaderMap::new();
                        for name in [http::header::LINK.as_str(), "x-oauth-scopes"] {
                            if let Some(v) = headers.get(name) {
                                kept.insert(http::HeaderName::from_static(name), v.clone());
                            }
                        }
                        let entry = CachedResponse {
                            etag: etag.to_owned(),
                            body: body.clone(),
                            headers: kept,
                        };
                        self.cache.put(key, entry);
                    }
                    (Some(_), None) => self.metrics.cache_event("miss"),
                    _ => {}
                }
                return Ok((headers, body));
            }
            let error = self.status_error(status, &headers, &body);
            if let GitHubError::SecondaryRateLimit { retry_after } = &error {
                // GitHub refuses such a request before acting on it, so reads and
                // writes alike are sent again when the wait is short.
                let backoff = Duration::from_millis(1000 << attempt.min(4));
                let jitter = Duration::from_millis(rand::random::<u64>() % 250);
                let wait = retry_after.unwrap_or(backoff) + jitter;
                if let Some(after) = retry_after {
                    // Every replica's calls with this token wait it out too.
                    let until = crate::state::now_ms() + after.as_millis() as u64;
                    self.state.record_backoff(id, until).await;
                }
                if attempt < 3 && started.elapsed() + wait <= self.options.max_retry_wait {
                    tracing::info!(
                        wait_ms = wait.as_millis() as u64,
                        attempt,
                        write,
                        "secondary rate limit: waiting before sending the request again"
                    );
                    super::events::report(super::events::Event::Wait {
                        ms: wait.as_millis() as u64,
                    });
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            }
            if let GitHubError::Server { status } = &error {
                if !write && self.may_retry(started, &mut attempt).await {
                    tracing::info!(
                        attempt,
                        status,
                        "retrying a read after a GitHub server error"
                    );
                    super::events::report(super::events::Event::Retry {
                        attempt,
                        why: "a GitHub server error",
                    });
                    continue;
                }
            }
            return Err(error);
        }
    }

    /// Waits a jittered, growing backoff before retrying a read, if the attempt count
    /// and the total wait allow it (`max_retry_wait`). Two retries at most.
    async fn may_retry(&self, started: Instant, attempt: &mut u32) -> bool {
        if *attempt >= 2 {
            return false;
        }
        let base = Duration::from_millis(200 << *attempt);
        let wait =
            base + Duration::from_millis(rand::random::<u64>() % base.as_millis().max(1) as u64);
        if started.elapsed() + wait > self.options.max_retry_wait {
            return false;
        }
        tokio::time::sleep(wait).await;
        *attempt += 1;
        true
    }

    fn transport_error(&self, e: &reqwest::Error) -> GitHubError {
        if e.is_timeout() {
            return GitHubError::Timeout(self.options.timeout);
        }
        GitHubError::Network {
            host: self.host.display_name(),
            reason: transport_failure(e).to_owned(),
        }
    }

    fn status_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> GitHubError {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if status.is_redirection() {
            let target = header("location")
                .and_then(|l| Url::parse(l).ok())
                .and_then(|u| {
                    let host = u.host_str()?;
                    // The port too: on another port of the same name it is another host.
                    Some(match u.port() {
                        Some(port) => format!("{host}:{port}"),
                        None => host.to_owned(),
                    })
                })
                .unwrap_or_else(|| "an unknown host".to_owned());
            return GitHubError::RedirectElsewhere(target);
        }
        let message = github_message(body);
        match status.as_u16() {
            401 => GitHubError::BadCredentials,
            404 => GitHubError::NotFound(message),
            403 | 429 => {
                let retry_after = header("retry-after")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs);
                if header("x-ratelimit-remaining") == Some("0") {
                    GitHubError::RateLimited {
                        resource: header("x-ratelimit-resource").unwrap_or("core").to_owned(),
                        reset: header("x-ratelimit-reset")
                            .and_then(|v| v.parse().ok())
                            .map(describe_reset)
                            .unwrap_or_else(|| "at an unknown time".to_owned()),
                    }
                } else if retry_after.is_some()
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || message.contains("secondary rate limit")
                {
                    GitHubError::SecondaryRateLimit { retry_after }
                } else {
                    GitHubError::Forbidden(message)
                }
            }
            s if s >= 500 => GitHubError::Server { status: s },
            s => GitHubError::Unexpected { status: s, message },
        }
    }

    /// GET a REST path (relative to the API base, e.g. `user`) and decode it.
    pub async fn get<T: DeserializeOwned>(
        &self,
        token: &Credential,
        path: &str,
    ) -> Result<RestResponse<T>, GitHubError> {
        self.rest(token, Method::GET, path, None)
            .await
            .map(|(r, _)| r)
    }

    /// GET every page of a REST list (`per_page=100`, following `Link: rel="next"`
    /// within the configured host), up to `max_items`. Returns the items and
    /// whether the list was cut.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        token: &Credential,
        path: &str,
        max_items: usize,
    ) -> Result<(Vec<T>, bool), GitHubError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{path}{separator}per_page=100"));
        let mut items = Vec::new();
        while let Some(path) = next.take() {
            let (response, link) = self.rest::<Vec<T>>(token, Method::GET, &path, None).await?;
            items.extend(response.body);
            if items.len() >= max_items {
                let cut = items.len() > max_items || link.is_some();
                items.truncate(max_items);
                return Ok((items, cut));
            }
            next = link;
        }
        Ok((items, false))
    }

    /// Where GitHub hands out a download (the Actions logs endpoints answer `302 Found`
    /// to a short-lived signed URL on another host). Sent like any read (budgets,
    /// shares, gates, retries), but the redirect is not followed: its URL is returned,
    /// for [`Self::download`], which sends no token. When GitHub serves the file from
    /// its own host (a redirect within the host is followed, as always), the body is
    /// returned instead.
    pub async fn download_link(
        &self,
        credential: &Credential,
        path: &str,
    ) -> Result<DownloadLink, GitHubError> {
        let url = self.rest_url(path)?;
        let build = || {
            self.http
                .get(url.clone())
                .header(
                    http::header::AUTHORIZATION,
                    Self::auth_header(&credential.token),
                )
                .header(http::header::ACCEPT, REST_ACCEPT)
                .header("x-github-api-version", "2022-11-28")
        };
        let (headers, body) = self
            .execute(credential, Api::Rest, false, None, Expect::Redirect, build)
            .await?;
        match headers.get(http::header::LOCATION) {
            Some(location) => location
                .to_str()
                .ok()
                .and_then(|l| url.join(l).ok())
                .map(DownloadLink::Elsewhere)
                .ok_or_else(|| GitHubError::Decode("a redirect without a usable Location".into())),
            None => Ok(DownloadLink::Here(body)),
        }
    }

    /// Downloads `url` (from [`Self::download_link`]) with its own connection pool: no
    /// token, no cookies, no redirects, within the client's timeout. Each piece of
    /// the body goes to `sink` as it arrives; past `max_bytes` the download stops with
    /// an error. Only `https`, or plain `http` to a loopback address when the
    /// configured GitHub host is itself plain http (tests, the demo); see
    /// [`download_allowed`]. Returns the bytes read.
    pub async fn download(
        &self,
        url: &Url,
        max_bytes: u64,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<u64, GitHubError> {
        let host = url.host_str().unwrap_or("an unknown host").to_owned();
        let failed = |reason: String| GitHubError::Download {
            host: host.clone(),
            reason,
        };
        download_allowed(&self.host, url).map_err(|r| failed(r.to_owned()))?;
        let http = self.download_client().map_err(|e| failed(e.to_string()))?;
        let started = Instant::now();
        let response = http.get(url.clone()).send().await;
        let ms = || started.elapsed().as_millis() as u64;
        let mut response = match response {
            Ok(r) => r,
            Err(e) => {
                self.metrics.upstream(DOWNLOAD, None);
                return Err(failed(self.download_failure(&e)));
            }
        };
        let status = response.status();
        self.metrics.upstream(DOWNLOAD, Some(status.as_u16()));
        super::events::report(super::events::Event::Answered {
            api: DOWNLOAD,
            status: Some(status.as_u16()),
            ms: ms(),
        });
        if !status.is_success() {
            let hint = match status.as_u16() {
                401 | 403 => " (the signed link was refused; it may have expired)",
                404 | 410 => " (the file is gone; GitHub keeps logs for a limited time)",
                300..=399 => " (a further redirect, not followed)",
                _ => "",
            };
            return Err(failed(format!("it answered {}{hint}", status.as_u16())));
        }
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(failed(format!(
                "it is larger than {} MiB; not downloaded",
                max_bytes >> 20
            )));
        }
        let mut read = 0u64;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len() as u64;
                    if read > max_bytes {
                        return Err(failed(format!(
                            "it is larger than {} MiB; not read to its end",
                            max_bytes >> 20
                        )));
                    }
                    sink(&chunk);
                }
                Ok(None) => return Ok(read),
                Err(e) => return Err(failed(self.download_failure(&e))),
            }
        }
    }

    fn download_failure(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!("no complete answer within {:?}", self.options.timeout)
        } else {
            transport_failure(e).to_owned()
        }
    }

    /// The download connection pool, built on first use (most processes never need it).
    fn download_client(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(client) = self.downloads.get() {
            return Ok(client);
        }
        let mut builder = reqwest::Client::builder();
        if self.host.web().scheme() == "http" {
            builder = builder.tls_certs_only(std::iter::empty());
        } else {
            builder = builder.https_only(true);
        }
        let client = builder
            .user_agent(USER_AGENT)
            .redirect(redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10).min(self.options.timeout))
            .timeout(self.options.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(self.downloads.get_or_init(|| client))
    }

    /// A REST write (POST, PUT, PATCH, DELETE) with a JSON body. Sent again only when
    /// it provably did not happen (a secondary rate limit refused it, or no connection
    /// was made); a write that may have happened is reported, not repeated.
    pub async fn write<T: DeserializeOwned>(
        &self,
        token: &Credential,
        method: Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, GitHubError> {
        self.rest(token, method, path, Some(body))
            .await
            .map(|(r, _)| r.body)
    }

    /// One REST request; returns the decoded body and the `next` page's path.
    async fn rest<T: DeserializeOwned>(
        &self,
        credential: &Credential,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(RestResponse<T>, Option<String>), GitHubError> {
        let url = self.rest_url(path)?;
        let write = method != Method::GET;
        let cache_key = (!write).then(|| CacheKey {
            token: credential.token.id(),
            url: url.to_string(),
            accept: REST_ACCEPT,
        });
        let build = || {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(
                    http::header::AUTHORIZATION,
                    Self::auth_header(&credential.token),
                )
                .header(http::header::ACCEPT, REST_ACCEPT)
                .header("x-github-api-version", "2022-11-28");
            if let Some(body) = body {
                request = request.json(body);
            }
            request
        };
        let (headers, bytes) = self
            .execute(
                credential,
                Api::Rest,
                write,
                cache_key,
                Expect::Success,
                build,
            )
            .await?;
        // DELETE answers 204 with no body; decode that as JSON null.
        let decoded = if bytes.is_empty() {
            serde_json::from_slice(b"null")
        } else {
            serde_json::from_slice(&bytes)
        }
        .map_err(|e| GitHubError::Decode(e.to_string()))?;
        let next = headers
            .get(http::header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(next_link)
            .and_then(|url| self.relative_path(&url));
        Ok((
            RestResponse {
                body: decoded,
                scopes: headers
                    .get("x-oauth-scopes")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                rate_limit: RateLimit::from_headers(&headers),
            },
            next,
        ))
    }

    fn rest_url(&self, path: &str) -> Result<Url, GitHubError> {
        let url = self
            .host
            .rest()
            .join(path.trim_start_matches('/'))
            .map_err(|_| GitHubError::Decode(format!("bad path {path}")))?;
        if !self.host.owns(&url) {
            return Err(GitHubError::Decode(format!(
                "refusing a URL off the configured host: {path}"
            )));
        }
        Ok(url)
    }

    /// `https://api.github.com/repos/o/r/pulls?page=2` → `repos/o/r/pulls?page=2`, only
    /// for URLs under this host's REST base.
    fn relative_path(&self, url: &str) -> Option<String> {
        let url = Url::parse(url).ok()?;
        if !self.host.owns(&url) {
            return None;
        }
        let path = url.path().strip_prefix(self.host.rest().path())?;
        Some(match url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        })
    }

    /// Run a GraphQL document with variables; `data` is decoded into `T`.
    /// A `NOT_FOUND`/`FORBIDDEN` error becomes the matching [`GitHubError`].
    pub async fn graphql<T: DeserializeOwned>(
        &self,
        token: &Credential,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<T, GitHubError> {
        #[derive(serde::Serialize)]
        struct Request<'a> {
            query: &'a str,
            variables: serde_json::Value,
        }
        let payload = serde_json::to_vec(&Request { query, variables })
            .map_err(|e| GitHubError::Decode(e.to_string()))?;
        let write = query.trim_start().starts_with("mutation")
            || query
                .lines()
                .any(|l| l.trim_start().starts_with("mutation"));
        let build = || {
            self.http
                .post(self.host.graphql().clone())
                .header(http::header::AUTHORIZATION, Self::auth_header(&token.token))
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(payload.clone())
        };
        let (_, body) = self
            .execute(token, Api::GraphQl, write, None, Expect::Success, build)
            .await?;
        let response: GraphQlResponse<T> =
            serde_json::from_slice(&body).map_err(|e| GitHubError::Decode(e.to_string()))?;
        if let Some(error) = response.errors.first() {
            let message: String = error.message.chars().take(300).collect();
            match error.kind.as_deref() {
                Some("NOT_FOUND") => return Err(GitHubError::NotFound(message)),
                Some("FORBIDDEN") => return Err(GitHubError::Forbidden(message)),
                Some("RATE_LIMITED") => {
                    return Err(GitHubError::RateLimited {
                        resource: "graphql".to_owned(),
                        reset: "within the hour".to_owned(),
                    })
                }
                _ if response.data.is_none() => return Err(GitHubError::GraphQl(message)),
                _ => tracing::warn!(error = %message, "GraphQL answered with data and an error"),
            }
        }
        response
            .data
            .ok_or_else(|| GitHubError::Decode("GraphQL answer without data".to_owned()))
    }
}

/// Label of downloads in metrics and events (beside `rest` and `graphql`).
const DOWNLOAD: &str = "download";

/// What [`GitHubClient::download_link`] found.
#[derive(Debug)]
pub enum DownloadLink {
    /// A signed URL on another host, to fetch without the token.
    Elsewhere(Url),
    /// The file itself, served by GitHub's own host.
    Here(bytes::Bytes),
}

/// Whether a download link may be fetched: `https` (GitHub chose the host; no token
/// goes there), or plain `http` to a loopback address only when the configured
/// GitHub host is itself plain http on loopback. Never a URL with credentials in it.
pub fn download_allowed(host: &GitHubHost, url: &Url) -> Result<(), &'static str> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the link carries credentials; refused");
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("the link has no host"),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback && host.web().scheme() == "http" => Ok(()),
        "http" => Err("the link is plain http; only https is fetched"),
        _ => Err("the link is not https; refused"),
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_credential_and_the_client_shows_no_token() {
        let key = crate::auth::FingerprintKey::random();
        let token = Token::parse("ghp_credentialSECRETSECRET", &key).unwrap();
        let credential = Credential {
            token,
            share: Some(TenantShare {
                tenant: "t".into(),
                limit: 10,
            }),
            grant: None,
        };
        let client = GitHubClient::new(GitHubHost::github_com(), Duration::from_secs(1)).unwrap();
        let shown = format!("{credential:?} {client:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("classic_pat"), "{shown}");
    }

    #[test]
    fn next_link_is_found_among_others() {
        let header = r#"<https://api.github.com/repos/o/r/pulls?page=1>; rel="prev", <https://api.github.com/repos/o/r/pulls?page=3>; rel="next", <https://api.github.com/repos/o/r/pulls?page=9>; rel="last""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/repos/o/r/pulls?page=3")
        );
        assert_eq!(next_link(r#"<https://x/y>; rel="last""#), None);
    }

    fn test_client(port: u16, metrics: Arc<Metrics>) -> (GitHubClient, Credential) {
        let options = ClientOptions {
            timeout: Duration::from_secs(5),
            max_retry_wait: Duration::from_secs(5),
            ..Default::default()
        };
        let host = GitHubHost::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let client = GitHubClient::with_options(
            host,
            options,
            metrics,
            Arc::new(crate::state::memory::MemoryStore::default()),
        )
        .unwrap();
        let key = crate::auth::FingerprintKey::random();
        let token = Token::parse("ghp_clientTESTTESTTEST", &key).unwrap();
        (client, Credential::new(token))
    }

    #[tokio::test]
    async fn size_hints_stay_bounded_and_keep_the_recent_ones() {
        let (client, credential) = test_client(9, Arc::new(Metrics::new()));
        let token = credential.token.id();
        client.set_size_hint(token, "first", 1);
        for i in 0..MAX_SIZE_HINTS + 5 {
            client.set_size_hint(token, &format!("pr{i}"), 7);
        }
        assert_eq!(client.hints.lock().unwrap().len(), MAX_SIZE_HINTS);
        assert_eq!(client.size_hint(token, "first"), None);
        let last = format!("pr{}", MAX_SIZE_HINTS + 4);
        assert_eq!(client.size_hint(token, &last), Some(7));
    }

    #[tokio::test]
    async fn a_share_taken_by_a_call_that_is_cut_short_is_given_back() {
        use crate::state::{ShareRequest, Store};
        // GitHub accepts the connection and never answers: the call is cut from outside.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let state = Arc::new(crate::state::memory::MemoryStore::default());
        let host = GitHubHost::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let client = GitHubClient::with_options(
            host,
            ClientOptions::default(),
            Arc::new(Metrics::new()),
            state.clone(),
        )
        .unwrap();
        let key = crate::auth::FingerprintKey::random();
        let credential = Credential {
            token: Token::parse("ghp_serverSHARESHARE", &key).unwrap(),
            share: Some(TenantShare {
                tenant: "t".into(),
                limit: 1,
            }),
            grant: None,
        };
        let cut = tokio::time::timeout(
            Duration::from_millis(300),
            client.get::<serde_json::Value>(&credential, "user"),
        )
        .await;
        assert!(cut.is_err(), "the call hangs until it is cut");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let share = ShareRequest {
            tenant: "t",
            limit: 1,
            window: crate::github::limits::SHARE_WINDOW,
        };
        let token = credential.token.id();
        let (_, granted) = state
            .before_request(token, "core", Some(share.clone()))
            .await;
        assert_eq!(
            granted,
            Some(crate::state::Share::Granted),
            "the cut call's request came back to the share"
        );
        let (_, refused) = state.before_request(token, "core", Some(share)).await;
        assert!(matches!(refused, Some(crate::state::Share::Refused { .. })));
    }

    #[tokio::test]
    async fn a_write_whose_connection_was_never_made_is_tried_again_then_named() {
        // A port nobody listens on: every connection is refused, so nothing was sent.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let metrics = Arc::new(Metrics::new());
        let (client, token) = test_client(port, metrics.clone());
        let body = serde_json::json!({"body": "once"});
        let error = client
            .write::<serde_json::Value>(&token, Method::POST, "repos/o/r/issues/1/comments", &body)
            .await
            .unwrap_err();
        assert!(matches!(error, GitHubError::Network { .. }), "{error}");
        let rendered = metrics.render();
        assert!(
            rendered.contains(r#"status="error"} 3"#),
            "one try and two retries: {rendered}"
        );
    }

    #[tokio::test]
    async fn a_read_whose_answer_broke_off_is_tried_again() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let body = r#"{"login":"a"}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let answer = if n == 0 {
                    // The headers and half the body, then the connection breaks.
                    format!("{head}{}", &body[..5])
                } else {
                    format!("{head}{body}")
                };
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        let (client, token) = test_client(port, Arc::new(Metrics::new()));
        let user = client
            .get::<serde_json::Value>(&token, "user")
            .await
            .unwrap();
        assert_eq!(user.body["login"], "a");
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn a_redirect_elsewhere_names_the_host_and_port_it_pointed_to() {
        let client = GitHubClient::new(
            GitHubHost::parse("http://127.0.0.1:8080").unwrap(),
            Duration::from_secs(1),
        )
        .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "location",
            HeaderValue::from_static("http://127.0.0.1:9/graphql"),
        );
        let error = client.status_error(StatusCode::TEMPORARY_REDIRECT, &headers, b"");
        assert_eq!(error, GitHubError::RedirectElsewhere("127.0.0.1:9".into()));
        headers.insert(
            "location",
            HeaderValue::from_static("https://evil.example/x"),
        );
        let error = client.status_error(StatusCode::FOUND, &headers, b"");
        assert_eq!(error, GitHubError::RedirectElsewhere("evil.example".into()));
    }

    #[test]
    fn download_links_are_https_or_loopback_http_beside_a_loopback_github() {
        let dotcom = GitHubHost::github_com();
        let local = GitHubHost::parse("http://127.0.0.1:8080").unwrap();
        let url = |u: &str| Url::parse(u).unwrap();
        let blob = "https://pipelines.actions.githubusercontent.com/x/signedlogcontent?sig=1";
        for host in [&dotcom, &local] {
            assert_eq!(download_allowed(host, &url(blob)), Ok(()));
            assert!(download_allowed(host, &url("https://u:p@blob.example/x")).is_err());
            assert!(download_allowed(host, &url("ftp://blob.example/x")).is_err());
            assert!(download_allowed(host, &url("http://blob.example/x")).is_err());
        }
        for loopback in [
            "http://localhost:1/x",
            "http://127.0.0.1:1/x",
            "http://[::1]:1/x",
        ] {
            assert_eq!(
                download_allowed(&local, &url(loopback)),
                Ok(()),
                "{loopback}"
            );
            assert!(
                download_allowed(&dotcom, &url(loopback)).is_err(),
                "{loopback}"
            );
        }
        assert!(download_allowed(&local, &url("http://10.0.0.1/x")).is_err());
    }

    /// A GitHub on loopback whose logs endpoint redirects to `localhost` (another
    /// host), which serves `body`; records each request's path and whether it carried
    /// an `Authorization` header.
    async fn github_with_a_download_host(
        body: &'static str,
    ) -> (u16, Arc<std::sync::Mutex<Vec<(String, bool)>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                let auth = head.contains("\r\nauthorization:");
                record.lock().unwrap().push((path.clone(), auth));
                let answer = if path.starts_with("/expired") {
                    "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_owned()
                } else if path.ends_with("/logs") {
                    format!("HTTP/1.1 302 Found\r\nlocation: http://localhost:{port}/blob?sig=s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                } else {
                    format!("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
                };
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (port, seen)
    }

    #[tokio::test]
    async fn a_download_link_is_taken_not_followed_and_fetched_without_the_token() {
        let (port, seen) = github_with_a_download_host("line 1\nline 2\n").await;
        let (client, token) = test_client(port, Arc::new(Metrics::new()));
        let link = client
            .download_link(&token, "repos/o/r/actions/jobs/1/logs")
            .await
            .unwrap();
        let DownloadLink::Elsewhere(url) = link else {
            panic!("expected a link elsewhere: {link:?}")
        };
        assert_eq!(url.as_str(), format!("http://localhost:{port}/blob?sig=s"));
        let mut got = Vec::new();
        let read = client
            .download(&url, 1 << 20, |chunk| got.extend_from_slice(chunk))
            .await
            .unwrap();
        assert_eq!((read, got.as_slice()), (14, &b"line 1\nline 2\n"[..]));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                ("/api/v3/repos/o/r/actions/jobs/1/logs".to_owned(), true),
                ("/blob?sig=s".to_owned(), false)
            ],
            "the token went to GitHub's host only"
        );
    }

    #[tokio::test]
    async fn a_download_past_its_cap_or_refused_stops_with_an_error_naming_the_host() {
        let (port, _) = github_with_a_download_host("0123456789").await;
        let (client, _) = test_client(port, Arc::new(Metrics::new()));
        let url = Url::parse(&format!("http://localhost:{port}/blob")).unwrap();
        let error = client.download(&url, 5, |_| {}).await.unwrap_err();
        assert!(
            matches!(&error, GitHubError::Download { host, reason }
                if host == "localhost" && reason.contains("larger than")),
            "{error}"
        );
        // A signed link past its minute.
        let url = Url::parse(&format!("http://localhost:{port}/expired?sig=s")).unwrap();
        let error = client.download(&url, 5, |_| {}).await.unwrap_err();
        assert!(
            error
                .to_string()
                .contains("answered 403 (the signed link was refused; it may have expired)"),
            "{error}"
        );
        // Off loopback over plain http: refused before any connection.
        let url = Url::parse("http://blob.example/x").unwrap();
        let error = client.download(&url, 5, |_| {}).await.unwrap_err();
        assert!(error.to_string().contains("only https"), "{error}");
    }

    #[test]
    fn link_urls_off_the_host_are_not_followed() {
        let client = GitHubClient::new(GitHubHost::github_com(), Duration::from_secs(1)).unwrap();
        assert_eq!(
            client
                .relative_path("https://api.github.com/repos/o/r/pulls?page=2")
                .as_deref(),
            Some("repos/o/r/pulls?page=2")
        );
        assert_eq!(
            client.relative_path("https://evil.example/repos/o/r/pulls?page=2"),
            None
        );
        let ghes = GitHubClient::new(
            GitHubHost::parse("ghes.example").unwrap(),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            ghes.relative_path("https://ghes.example/api/v3/repos/o/r/pulls?page=2")
                .as_deref(),
            Some("repos/o/r/pulls?page=2")
        );
    }
}
