//! Prometheus metrics. Labels are closed sets (tool names, outcomes, status
//! classes, resources): no label ever carries a token, a fingerprint or a login.

use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabels {
    pub tool: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolName {
    pub tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// `rest` or `graphql`.
    pub api: String,
    /// HTTP status code, or `error` when no answer came.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `revalidated` (304), `miss`, `stored`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: String,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub tool_calls: Family<ToolLabels, Counter>,
    pub tool_duration: Family<ToolName, Histogram>,
    pub upstream_requests: Family<UpstreamLabels, Counter>,
    pub cache: Family<CacheLabels, Counter>,
    pub server_token_remaining: Family<ResourceLabels, Gauge<i64, AtomicI64Shim>>,
    pub active_sessions: Gauge,
    /// Tool calls waiting for one of the replica's call slots (`--max-concurrent-calls`).
    pub calls_waiting: Gauge,
    pub share_refusals: Counter,
    /// 1 while the state backend answers with its fallback (set when scraped).
    pub state_degraded: Gauge,
    /// Round trips to the state backend (brought up to date when scraped).
    pub state_round_trips: Counter,
}

/// `Gauge<i64, AtomicI64>` spelled for prometheus-client's generic.
pub type AtomicI64Shim = std::sync::atomic::AtomicI64;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("github_review_mcp");
        let tool_calls = Family::<ToolLabels, Counter>::default();
        registry.register(
            "tool_calls",
            "Tool calls by tool and outcome (ok, error)",
            tool_calls.clone(),
        );
        let tool_duration = Family::<ToolName, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "tool_call_duration_seconds",
            "Tool call latency",
            tool_duration.clone(),
        );
        let upstream_requests = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "github_requests",
            "Requests to GitHub by API and status",
            upstream_requests.clone(),
        );
        let cache = Family::<CacheLabels, Counter>::default();
        registry.register(
            "github_cache",
            "Conditional-request cache: revalidated (304, free), miss, stored",
            cache.clone(),
        );
        let server_token_remaining = Family::<ResourceLabels, Gauge<i64, AtomicI64Shim>>::default();
        registry.register(
            "server_token_rate_limit_remaining",
            "Rate-limit points left on the server's own token, by resource",
            server_token_remaining.clone(),
        );
        let active_sessions = Gauge::default();
        registry.register(
            "active_sessions",
            "MCP sessions open now",
            active_sessions.clone(),
        );
        let calls_waiting = Gauge::default();
        registry.register(
            "calls_waiting",
            "Tool calls waiting for a call slot (--max-concurrent-calls are working)",
            calls_waiting.clone(),
        );
        let share_refusals = Counter::default();
        registry.register(
            "server_token_share_refusals",
            "Calls refused because a tenant used up its share of the server token",
            share_refusals.clone(),
        );
        let state_degraded = Gauge::default();
        registry.register(
            "state_degraded",
            "1 while the shared state (Redis) does not answer and this replica uses its own view of budgets and shares",
            state_degraded.clone(),
        );
        let state_round_trips = Counter::default();
        registry.register(
            "state_round_trips",
            "Round trips to the shared state backend (Redis)",
            state_round_trips.clone(),
        );
        Self {
            state_round_trips,
            state_degraded,
            registry,
            tool_calls,
            tool_duration,
            upstream_requests,
            cache,
            server_token_remaining,
            active_sessions,
            calls_waiting,
            share_refusals,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }

    pub fn tool_call(&self, tool: &str, outcome: &str, seconds: f64) {
        self.tool_calls
            .get_or_create(&ToolLabels {
                tool: tool.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.tool_duration
            .get_or_create(&ToolName {
                tool: tool.to_owned(),
            })
            .observe(seconds);
    }

    pub fn upstream(&self, api: &str, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.upstream_requests
            .get_or_create(&UpstreamLabels {
                api: api.to_owned(),
                status,
            })
            .inc();
    }

    pub fn cache_event(&self, result: &str) {
        self.cache
            .get_or_create(&CacheLabels {
                result: result.to_owned(),
            })
            .inc();
    }
}

/// Keeps `active_sessions` right: one per live MCP session handler.
#[derive(Debug)]
pub struct SessionGuard(std::sync::Arc<Metrics>);

impl SessionGuard {
    pub fn new(metrics: std::sync::Arc<Metrics>) -> Self {
        metrics.active_sessions.inc();
        Self(metrics)
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.active_sessions.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_names_every_family() {
        let m = Metrics::new();
        m.tool_call("whoami", "ok", 0.01);
        m.upstream("rest", Some(200));
        m.cache_event("revalidated");
        let text = m.render();
        for name in [
            "github_review_mcp_tool_calls_total",
            "github_review_mcp_tool_call_duration_seconds_bucket",
            "github_review_mcp_github_requests_total",
            "github_review_mcp_github_cache_total",
            "github_review_mcp_active_sessions",
            "github_review_mcp_calls_waiting",
        ] {
            assert!(text.contains(name), "{name} missing:\n{text}");
        }
    }
}
