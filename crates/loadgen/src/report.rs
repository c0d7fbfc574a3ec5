//! The one table loadgen prints, and the same figures as JSON.

use serde::Serialize;
use serde_json::Value;

use crate::cause::ByCause;
use crate::doublelog::LogCheck;
use crate::load::TokenVia;
use crate::stats::Summary;

#[derive(Debug, Default, Clone, Serialize)]
pub struct Cpu {
    pub server_s: Option<f64>,
    pub double_s: Option<f64>,
    pub loadgen_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub tenants: usize,
    pub duration_s: f64,
    pub token_via: TokenVia,
    pub shared_session: bool,
    /// The `--fault` patch the double ran the server phase under.
    pub fault: Option<Value>,
    /// `--server-arg`s given to the server loadgen started.
    pub server_args: Vec<String>,
    /// Through the server.
    pub server: Summary,
    pub errors: u64,
    /// `errors` by cause (see `cause::classify`).
    pub errors_by_cause: ByCause,
    /// Answers holding another tenant's data; with `--fault`, in the faulted and the
    /// recovery phase together.
    pub cross_tenant: u64,
    /// None when the double's log was not available (`--server-url` without
    /// `--double-url`). With `--fault`, the faulted and the recovery phase together.
    pub wrong_token_requests: Option<u64>,
    /// With `--fault`: calls in the short phase through the same server after the
    /// double was made healthy again.
    pub recovery_calls: Option<u64>,
    /// With `--fault`: failed calls in that phase. Must be 0.
    pub recovery_errors: Option<u64>,
    pub recovery_errors_by_cause: ByCause,
    pub recovery_error_samples: Vec<String>,
    pub sessions_failed: u64,
    /// Straight to the double.
    pub direct: Option<Summary>,
    pub direct_errors: u64,
    pub direct_cross_tenant: u64,
    /// Server p50 − direct p50, in ms.
    pub added_p50_ms: Option<f64>,
    /// Server p50 / direct p50.
    pub p50_ratio: Option<f64>,
    /// `VmHWM` of the server process, when loadgen started it.
    pub server_peak_rss_bytes: Option<u64>,
    /// CPU seconds used during the phase through the server, per process (server
    /// and double only when loadgen started them).
    pub cpu_server_phase: Cpu,
    /// CPU seconds used during the direct phase.
    pub cpu_direct_phase: Cpu,
    /// Time to open every MCP session before the clock started.
    pub sessions_open_s: f64,
    pub double_log: Option<LogCheck>,
    pub error_samples: Vec<String>,
    pub cross_tenant_samples: Vec<String>,
    pub direct_error_samples: Vec<String>,
    /// Warning and error lines in the server's log.
    pub server_log_problems: u64,
    pub server_log_samples: Vec<String>,
}

impl Report {
    pub fn violations(&self) -> bool {
        self.cross_tenant > 0
            || self.direct_cross_tenant > 0
            || self.wrong_token_requests.unwrap_or(0) > 0
    }

    /// With `--fault`: whether the server answered normally once the double was
    /// healthy again (true without `--fault`).
    pub fn recovered(&self) -> bool {
        self.recovery_errors.unwrap_or(0) == 0
    }

    pub fn print(&self) {
        let opt = |v: Option<f64>| v.map_or("-".to_owned(), |x| format!("{x:.2}"));
        let mode = if self.shared_session {
            "meta, one shared session".to_owned()
        } else {
            format!(
                "{}, one session per tenant",
                serde_json::to_value(self.token_via)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )
        };
        let d = self.direct.as_ref();
        let row = |name: &str, server: String, direct: String| {
            println!("| {name:<22} | {server:>16} | {direct:>16} |");
        };
        println!();
        println!(
            "loadgen: {} tenants x {:.1} s, token via {mode}",
            self.tenants, self.duration_s
        );
        if let Some(fault) = &self.fault {
            println!("fault injected in the double: {fault} (direct baseline skipped)");
        }
        if !self.server_args.is_empty() {
            println!("server arguments: {}", self.server_args.join(" "));
        }
        println!(
            "| {:<22} | {:>16} | {:>16} |",
            "", "through server", "direct"
        );
        println!("|{:-<24}|{:->18}|{:->18}|", "", "", "");
        row(
            "calls",
            self.server.calls.to_string(),
            d.map_or("-".into(), |d| d.calls.to_string()),
        );
        row(
            "errors",
            self.errors.to_string(),
            d.map_or("-".into(), |_| self.direct_errors.to_string()),
        );
        for (cause, n) in &self.errors_by_cause {
            row(&format!("  {cause}"), n.to_string(), String::new());
        }
        row(
            "cross_tenant",
            self.cross_tenant.to_string(),
            d.map_or("-".into(), |_| self.direct_cross_tenant.to_string()),
        );
        row(
            "wrong_token_requests",
            self.wrong_token_requests
                .map_or("not checked".into(), |n| n.to_string()),
            String::new(),
        );
        row(
            "calls/s",
            format!("{:.1}", self.server.calls_per_s),
            d.map_or("-".into(), |d| format!("{:.1}", d.calls_per_s)),
        );
        row(
            "p50 ms",
            opt(self.server.p50_ms),
            opt(d.and_then(|d| d.p50_ms)),
        );
        row(
            "p99 ms",
            opt(self.server.p99_ms),
            opt(d.and_then(|d| d.p99_ms)),
        );
        row(
            "max ms",
            opt(self.server.max_ms),
            opt(d.and_then(|d| d.max_ms)),
        );
        if let (Some(calls), Some(errors)) = (self.recovery_calls, self.recovery_errors) {
            row("recovery calls", calls.to_string(), String::new());
            row("recovery errors", errors.to_string(), String::new());
            for (cause, n) in &self.recovery_errors_by_cause {
                row(&format!("  {cause}"), n.to_string(), String::new());
            }
        }
        row(
            "added p50 ms (ratio)",
            match (self.added_p50_ms, self.p50_ratio) {
                (Some(a), Some(r)) => format!("{a:.2} (x{r:.2})"),
                _ => "-".into(),
            },
            String::new(),
        );
        row(
            "server peak RSS MiB",
            self.server_peak_rss_bytes
                .map_or("-".into(), |b| format!("{:.1}", b as f64 / 1048576.0)),
            String::new(),
        );
        let cpu = |v: Option<f64>| v.map_or("-".to_owned(), |s| format!("{s:.2}"));
        row(
            "CPU s: server",
            cpu(self.cpu_server_phase.server_s),
            String::new(),
        );
        row(
            "CPU s: double",
            cpu(self.cpu_server_phase.double_s),
            cpu(self.cpu_direct_phase.double_s),
        );
        row(
            "CPU s: loadgen",
            cpu(self.cpu_server_phase.loadgen_s),
            cpu(self.cpu_direct_phase.loadgen_s),
        );
        println!(
            "{} MCP sessions opened in {:.2} s before the clock started",
            if self.shared_session { 1 } else { self.tenants },
            self.sessions_open_s
        );
        if self.sessions_failed > 0 {
            println!(
                "sessions that could not be opened: {}",
                self.sessions_failed
            );
        }
        if let Some(log) = &self.double_log {
            println!(
                "double log: {} entries{} ({} REST naming a repo checked against the token's tenant, \
                 {} with no repo in the log: token checked to be a tenant's), \
                 {} non-2xx, {} requests/call, {} tenants whose request count != calls x requests/call",
                log.entries,
                log.handled
                    .filter(|h| *h != log.entries)
                    .map_or(String::new(), |h| format!(" of {h} handled (log incomplete)")),
                log.rest_with_repo,
                log.repo_not_in_log,
                log.non_2xx,
                log.requests_per_call
                    .map_or("varying".into(), |k| k.to_string()),
                log.count_mismatch_tenants,
            );
            for s in &log.samples {
                println!("  wrong token: {s}");
            }
        }
        for s in &self.cross_tenant_samples {
            println!("  CROSS-TENANT: {s}");
        }
        for s in &self.error_samples {
            println!("  error: {s}");
        }
        for s in &self.recovery_error_samples {
            println!("  recovery error: {s}");
        }
        for s in &self.direct_error_samples {
            println!("  direct error: {s}");
        }
        if self.server_log_problems > 0 {
            println!(
                "server log: {} warning/error lines, first ones:",
                self.server_log_problems
            );
            for s in &self.server_log_samples {
                println!("  {s}");
            }
        }
    }
}
