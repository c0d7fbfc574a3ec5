//! loadgen: many tenants, each with its own GitHub token, calling
//! `fetch_pr_review_comments` through one github-review-mcp over Streamable HTTP
//! against github-double; every answer checked for other tenants' data, the
//! double's log checked for wrong tokens, and the same load sent straight to the
//! double as a baseline. See README.md.

mod cause;
mod check;
mod direct;
mod doublelog;
mod load;
mod procs;
mod report;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::{json, Value};

use crate::load::TokenVia;
use crate::report::Report;

/// Exit code when a tenant saw another tenant's data or a request used the wrong token.
const EXIT_VIOLATION: i32 = 3;
/// Exit code when, with `--fault`, calls still failed after the double was healthy again.
const EXIT_NOT_RECOVERED: i32 = 4;
/// How long the recovery phase after a `--fault` run lasts.
const RECOVERY_DURATION: Duration = Duration::from_secs(2);

#[derive(Parser, Debug)]
#[command(
    name = "loadgen",
    about = "Multi-tenant load through github-review-mcp (Streamable HTTP) against github-double, \
             with a direct-to-double baseline. Loopback only."
)]
struct Cli {
    /// Tenants (users tenant1..N, one PR each), one concurrent caller per tenant.
    #[arg(long, default_value_t = 10)]
    tenants: usize,
    /// How long each phase (through the server, then direct) runs: `30s`, `500ms`, `2m`.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// How each tenant's token reaches the server. `mixed`: tenant i uses header,
    /// bearer, meta for i % 3 = 0, 1, 2.
    #[arg(long, value_enum, default_value_t = TokenVia::Header)]
    token_via: TokenVia,
    /// One MCP session for all tenants, each call carrying its tenant's token in
    /// `_meta.token` (needs `--token-via meta`).
    #[arg(long)]
    shared_session: bool,
    /// Per-call timeout (a timed-out call counts as an error).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    call_timeout: Duration,
    /// The `output` every call asks for: `markdown` (what agents use by default; the
    /// threads in the text) or `json` (every thread in structuredContent too).
    #[arg(long, default_value = "markdown", value_parser = ["markdown", "json", "both"])]
    output: String,
    /// github-review-mcp binary [default: beside loadgen, else target/release/].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// github-double binary [default: beside loadgen, else target/release/].
    #[arg(long)]
    double_bin: Option<PathBuf>,
    /// Drive an already running server (`http://127.0.0.1:PORT[/mcp]`) instead of
    /// starting one. It must serve a `generate --tenants N` seed.
    #[arg(long)]
    server_url: Option<String>,
    /// With `--server-url`: the double that server uses, for the request-log check
    /// and the baseline. Without it loadgen starts its own double for the baseline
    /// and does not check the log.
    #[arg(long, requires = "server_url")]
    double_url: Option<String>,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run the phase through the server under a GitHub fault: a JSON object POSTed
    /// to the double's `/_double/config` (e.g. `{"fault_status":502,"fault_rate":0.2}`),
    /// then make the double healthy again and run a 2 s recovery phase that must
    /// have no errors. Skips the direct baseline. Needs the server's double (loadgen's
    /// own, or `--double-url`).
    #[arg(long, value_parser = parse_fault, value_name = "JSON")]
    fault: Option<Value>,
    /// Extra argument for the server loadgen starts, appended to its command line
    /// (repeatable): `--server-arg=--github-timeout=2 --server-arg=--call-timeout=5`.
    #[arg(
        long = "server-arg",
        value_name = "ARG",
        allow_hyphen_values = true,
        conflicts_with = "server_url"
    )]
    server_arg: Vec<String>,
}

/// `--fault`: any JSON object (the double says which fields it knows).
fn parse_fault(s: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(s) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("--fault must be a JSON object, e.g. {\"fault_rate\":0.2}".into()),
        Err(e) => Err(format!("--fault is not valid JSON: {e}")),
    }
}

/// The patch that makes the double healthy again after `fault`. When the fault
/// touched the rate limits, their values from `before` (the double's configuration
/// before the fault) come back and the spending is forgotten.
fn healthy_patch(fault: &Value, before: &Value) -> Value {
    let mut patch = json!({
        "latency_ms": 0,
        "fault_rate": 0,
        "drop_rate": 0,
        "hang_rate": 0,
        "slow_body_rate": 0,
        "secondary_rate_limit_every": 0,
        "redirect_rate": 0,
        "redirect_to": null,
    });
    let touched_limits = ["rate_limit", "graphql_rate_limit", "reset_rate_limits"]
        .iter()
        .any(|k| fault.get(k).is_some());
    if touched_limits {
        for k in ["rate_limit", "graphql_rate_limit"] {
            if let Some(v) = before.get(k).filter(|v| v.is_u64()) {
                patch[k] = v.clone();
            }
        }
        patch["reset_rate_limits"] = json!(true);
    }
    patch
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(p) => s.split_at(p),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (use e.g. 30s, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("invalid duration unit in {s:?} (ms, s or m)")),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("duration must be positive: {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(report) => {
            if report.violations() {
                eprintln!(
                    "loadgen: ISOLATION VIOLATION (cross_tenant or wrong_token_requests > 0)"
                );
                std::process::exit(EXIT_VIOLATION);
            }
            if !report.recovered() {
                eprintln!(
                    "loadgen: the server did not recover: {} of {} calls failed after the double \
                     was healthy again",
                    report.recovery_errors.unwrap_or(0),
                    report.recovery_calls.unwrap_or(0)
                );
                std::process::exit(EXIT_NOT_RECOVERED);
            }
        }
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            std::process::exit(1);
        }
    }
}

fn normalise_mcp_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/mcp") {
        url.to_owned()
    } else {
        format!("{url}/mcp")
    }
}

async fn run(cli: Cli) -> Result<Report> {
    if cli.tenants == 0 {
        bail!("--tenants must be at least 1");
    }
    if cli.shared_session && cli.token_via != TokenVia::Meta {
        bail!(
            "--shared-session needs --token-via meta (one session can carry no per-tenant header)"
        );
    }
    if let Some(url) = &cli.server_url {
        procs::require_loopback(url, "--server-url")?;
    }
    if let Some(url) = &cli.double_url {
        procs::require_loopback(url, "--double-url")?;
    }
    if cli.fault.is_some() && cli.server_url.is_some() && cli.double_url.is_none() {
        bail!("--fault with --server-url needs --double-url (the double that server uses)");
    }
    let double_bin = cli
        .double_bin
        .clone()
        .unwrap_or_else(|| procs::default_bin("github-double"));
    let server_bin = cli
        .server_bin
        .clone()
        .unwrap_or_else(|| procs::default_bin("github-review-mcp"));

    let workdir = std::env::temp_dir().join(format!("loadgen-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).with_context(|| format!("creating {}", workdir.display()))?;
    let http = reqwest::Client::new();

    // 1. The double (ours unless one is given) and the server (ours unless given).
    let own_double = match &cli.double_url {
        Some(_) => None,
        None => {
            procs::require_bin(&double_bin, "github-double")?;
            let seed = procs::generate_seed(&double_bin, &workdir, cli.tenants).await?;
            Some(procs::Double::start(&double_bin, &seed, &workdir.join("double.log")).await?)
        }
    };
    let double_url = cli
        .double_url
        .clone()
        .or_else(|| own_double.as_ref().map(|d| d.url.clone()))
        .context("no double")?;
    procs::require_loopback(&double_url, "github-double")?;
    let mut server = match &cli.server_url {
        Some(_) => None,
        None => {
            procs::require_bin(&server_bin, "github-review-mcp")?;
            Some(
                procs::Server::start(
                    &server_bin,
                    &double_url,
                    &workdir.join("server.log"),
                    &cli.server_arg,
                )
                .await?,
            )
        }
    };
    let mcp_url = match (&cli.server_url, &server) {
        (Some(url), _) => normalise_mcp_url(url),
        (None, Some(s)) => s.mcp_url(),
        (None, None) => unreachable!("a server is either given or started"),
    };
    // The double whose log shows the server's requests, when we know it.
    let server_double = (server.is_some() || cli.double_url.is_some()).then(|| doublelog::Double {
        http: &http,
        url: &double_url,
    });
    eprintln!(
        "loadgen: {} tenants, {:.1} s per phase, MCP at {mcp_url}, double at {double_url}",
        cli.tenants,
        cli.duration.as_secs_f64()
    );

    // 2. Through the server (under the fault, if any: set after the log is cleared).
    if let Some(d) = &server_double {
        d.reset().await?;
    }
    let fault = match (&cli.fault, &server_double) {
        (Some(patch), Some(d)) => {
            let before = d.config().await?;
            d.configure(patch).await?;
            eprintln!("loadgen: fault injected: {patch}");
            Some((patch, healthy_patch(patch, &before)))
        }
        (Some(_), None) => unreachable!("--fault without the server's double is refused above"),
        (None, _) => None,
    };
    let load_options = load::LoadOptions {
        mcp_url: mcp_url.clone(),
        tenants: cli.tenants,
        duration: cli.duration,
        token_via: cli.token_via,
        shared_session: cli.shared_session,
        call_timeout: cli.call_timeout,
        output: cli.output.clone(),
    };
    // The double's CPU in the server phase only when it is the server's double.
    let meter = procs::CpuMeter {
        server: server.as_ref().map(|s| s.pid),
        double: own_double
            .as_ref()
            .filter(|_| server.is_some())
            .map(|d| d.pid),
    };
    let cpu_before = meter.read();
    let load = load::run(&load_options).await;
    let cpu_server_phase = meter.since(cpu_before);
    let load = match (load, &fault, &server_double) {
        (Ok(load), _, _) => load,
        (Err(e), Some((_, healthy)), Some(d)) => {
            // Leave a double someone else runs healthy even when the phase failed.
            let _ = d.configure(healthy).await;
            return Err(e);
        }
        (Err(e), _, _) => return Err(e),
    };
    let mut double_log = match &server_double {
        Some(d) => Some(d.check(cli.tenants, &load.calls_by_tenant).await?),
        None => None,
    };
    let mut error_samples = load.error_samples.clone();
    if let Some(s) = server.as_mut() {
        if !s.alive() {
            error_samples.push("the server process exited during the run".into());
        }
    }

    // 3. With a fault: the double healthy again, and a short phase through the same
    //    server that must go through without errors.
    let recovery = match (&fault, &server_double) {
        (Some((_, healthy)), Some(d)) => {
            d.configure(healthy).await?;
            d.reset().await?;
            eprintln!(
                "loadgen: double healthy again; recovery phase ({:.0} s)",
                RECOVERY_DURATION.as_secs_f64()
            );
            let r = load::run(&load::LoadOptions {
                duration: RECOVERY_DURATION,
                ..load_options
            })
            .await?;
            let log = d.check(cli.tenants, &r.calls_by_tenant).await?;
            if let Some(l) = double_log.as_mut() {
                l.wrong_token_requests += log.wrong_token_requests;
                l.samples.extend(log.samples);
                l.samples.truncate(load::SAMPLES_KEPT);
            }
            if let Some(s) = server.as_mut() {
                if !s.alive() {
                    error_samples.push("the server process exited during recovery".into());
                }
            }
            Some(r)
        }
        _ => None,
    };

    // 4. Direct to the double (log cleared first so it does not grow for nothing);
    //    not under a fault, where it would measure nothing useful.
    let (direct, cpu_direct_phase) = if fault.is_some() {
        (None, report::Cpu::default())
    } else {
        eprintln!("loadgen: direct baseline");
        doublelog::Double {
            http: &http,
            url: &double_url,
        }
        .reset()
        .await?;
        let meter = procs::CpuMeter {
            server: None,
            double: own_double.as_ref().map(|d| d.pid),
        };
        let cpu_before = meter.read();
        let direct = direct::run(&double_url, cli.tenants, cli.duration, cli.call_timeout).await?;
        (Some(direct), meter.since(cpu_before))
    };

    // 5. Server memory, then stop what we started.
    let server_peak_rss_bytes = server.as_ref().and_then(|s| procs::vm_hwm(s.pid).ok());
    let (server_log_problems, server_log_samples) = server
        .as_ref()
        .map(|s| log_problems(&s.log))
        .unwrap_or_default();
    if let Some(s) = server.take() {
        s.stop().await;
    }
    if let Some(d) = own_double {
        d.stop().await;
    }

    let server_summary = load.latencies.summary(load.calls, load.elapsed);
    let direct_summary = direct
        .as_ref()
        .map(|d| d.latencies.summary(d.calls, d.elapsed));
    let (added_p50_ms, p50_ratio) = match (
        server_summary.p50_ms,
        direct_summary.as_ref().and_then(|d| d.p50_ms),
    ) {
        (Some(s), Some(d)) => (Some(s - d), (d > 0.0).then(|| s / d)),
        _ => (None, None),
    };
    let mut cross_tenant_samples = load.cross_samples;
    let mut cross_tenant = load.cross_tenant;
    if let Some(r) = &recovery {
        cross_tenant += r.cross_tenant;
        cross_tenant_samples.extend(r.cross_samples.iter().cloned());
        cross_tenant_samples.truncate(load::SAMPLES_KEPT);
    }
    let report = Report {
        tenants: cli.tenants,
        duration_s: cli.duration.as_secs_f64(),
        token_via: cli.token_via,
        shared_session: cli.shared_session,
        fault: cli.fault.clone(),
        server_args: cli.server_arg.clone(),
        server: server_summary,
        errors: load.errors,
        errors_by_cause: load.errors_by_cause,
        cross_tenant,
        wrong_token_requests: double_log.as_ref().map(|l| l.wrong_token_requests),
        recovery_calls: recovery.as_ref().map(|r| r.calls),
        recovery_errors: recovery.as_ref().map(|r| r.errors),
        recovery_errors_by_cause: recovery
            .as_ref()
            .map(|r| r.errors_by_cause.clone())
            .unwrap_or_default(),
        recovery_error_samples: recovery
            .as_ref()
            .map(|r| r.error_samples.clone())
            .unwrap_or_default(),
        sessions_failed: load.session_failures,
        direct: direct_summary,
        direct_errors: direct.as_ref().map_or(0, |d| d.errors),
        direct_cross_tenant: direct.as_ref().map_or(0, |d| d.cross_tenant),
        added_p50_ms,
        p50_ratio,
        server_peak_rss_bytes,
        cpu_server_phase,
        cpu_direct_phase,
        sessions_open_s: load.connect_time.as_secs_f64(),
        double_log,
        error_samples,
        cross_tenant_samples,
        direct_error_samples: direct.map(|d| d.error_samples).unwrap_or_default(),
        server_log_problems,
        server_log_samples,
    };
    report.print();
    if let Some(path) = &cli.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    let troubled = report.violations()
        || !report.recovered()
        || report.errors > 0
        || report.direct_errors > 0
        || report.server_log_problems > 0;
    if troubled {
        println!("logs kept in {}", workdir.display());
    } else {
        let _ = std::fs::remove_dir_all(&workdir);
    }
    Ok(report)
}

/// Counts WARN/ERROR lines in the server's log; returns the first few.
fn log_problems(path: &std::path::Path) -> (u64, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut n = 0;
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.contains(" WARN ") || line.contains(" ERROR ") || line.contains("panicked") {
            n += 1;
            if samples.len() < load::SAMPLES_KEPT {
                samples.push(check::clip(line, 300));
            }
        }
    }
    (n, samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("20"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn faults_must_be_json_objects() {
        assert!(parse_fault(r#"{"fault_rate":0.2}"#).is_ok());
        assert!(parse_fault("{}").is_ok());
        assert!(parse_fault("[1]").is_err());
        assert!(parse_fault("fault_rate=0.2").is_err());
    }

    #[test]
    fn healthy_again_restores_limits_only_when_the_fault_touched_them() {
        let before = json!({"rate_limit": 1000000000u64, "graphql_rate_limit": 1000000000u64});
        let p = healthy_patch(&json!({"fault_rate": 1.0}), &before);
        assert_eq!(p["fault_rate"], json!(0));
        assert_eq!(p["redirect_to"], Value::Null);
        assert!(p.get("graphql_rate_limit").is_none() && p.get("reset_rate_limits").is_none());
        let p = healthy_patch(&json!({"graphql_rate_limit": 0}), &before);
        assert_eq!(p["graphql_rate_limit"], json!(1000000000u64));
        assert_eq!(p["rate_limit"], json!(1000000000u64));
        assert_eq!(p["reset_rate_limits"], json!(true));
    }

    #[test]
    fn server_args_may_start_with_hyphens() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "--server-arg=--github-timeout=2",
            "--server-arg",
            "--call-timeout=5",
            "--fault",
            r#"{"hang_rate":0.05}"#,
        ])
        .unwrap();
        assert_eq!(cli.server_arg, ["--github-timeout=2", "--call-timeout=5"]);
        assert_eq!(cli.fault, Some(json!({"hang_rate": 0.05})));
        assert!(Cli::try_parse_from([
            "loadgen",
            "--server-url",
            "http://127.0.0.1:1",
            "--server-arg=--x"
        ])
        .is_err());
    }

    #[test]
    fn mcp_urls() {
        assert_eq!(
            normalise_mcp_url("http://127.0.0.1:8000"),
            "http://127.0.0.1:8000/mcp"
        );
        assert_eq!(
            normalise_mcp_url("http://127.0.0.1:8000/mcp/"),
            "http://127.0.0.1:8000/mcp"
        );
    }

    #[test]
    fn only_loopback() {
        assert!(procs::require_loopback("http://127.0.0.1:1/mcp", "x").is_ok());
        assert!(procs::require_loopback("http://localhost:1", "x").is_ok());
        assert!(procs::require_loopback("http://[::1]:1", "x").is_ok());
        assert!(procs::require_loopback("http://10.0.0.1:1", "x").is_err());
        assert!(procs::require_loopback("https://example.com", "x").is_err());
    }

    #[test]
    fn mixed_cycles_through_the_three_ways() {
        let modes: Vec<_> = (0..4).map(|i| TokenVia::Mixed.for_tenant(i)).collect();
        assert_eq!(
            modes,
            [
                TokenVia::Header,
                TokenVia::Bearer,
                TokenVia::Meta,
                TokenVia::Header
            ]
        );
    }
}
