//! `github-double` binary: serve a seed, or generate one.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use github_double::seed::{generate_seed, GenerateOptions, GenerateSpec};
use github_double::{DoubleConfig, Seed, World};

/// A fake GitHub (REST + GraphQL) for tests, benchmarks and offline demos.
#[derive(Parser, Debug)]
#[command(
    name = "github-double",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a generated seed JSON to stdout.
    Generate(GenerateArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Seed file (JSON) to serve.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Latency added before answering every non-/_double request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// REST (core) requests per token per hour.
    #[arg(long, default_value_t = 5000)]
    rate_limit: u64,
    /// GraphQL points per token per hour.
    #[arg(long, default_value_t = 5000)]
    graphql_rate_limit: u64,
    /// Status answered for the share `--fault-rate` of requests.
    #[arg(long, default_value_t = 500)]
    fault_status: u16,
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Share of requests whose connection is closed without an answer.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Share of requests never answered.
    #[arg(long, default_value_t = 0.0)]
    hang_rate: f64,
    /// Share of answers whose body trickles in over `--slow-body-ms`.
    #[arg(long, default_value_t = 0.0)]
    slow_body_rate: f64,
    #[arg(long, default_value_t = 0)]
    slow_body_ms: u64,
    /// Every N-th request gets a secondary rate limit 403 (0 = never).
    #[arg(long, default_value_t = 0)]
    secondary_rate_limit_every: u64,
    #[arg(long, default_value_t = 60)]
    retry_after_secs: u64,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    #[arg(long)]
    threads: usize,
    #[arg(long)]
    comments_per_thread: usize,
    #[arg(long, default_value_t = 330)]
    body_len: usize,
    #[arg(long, default_value_t = 8)]
    hunk_lines: usize,
    #[arg(long, default_value = "acme")]
    owner: String,
    #[arg(long, default_value = "widgets")]
    repo: String,
    #[arg(long, default_value_t = 1)]
    number: u64,
    /// Make K tenants tenant1..K, each with its own private repo and marker.
    #[arg(long)]
    tenants: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Generate(g)) = cli.command {
        let seed = generate_seed(&GenerateOptions {
            spec: GenerateSpec {
                threads: g.threads,
                comments_per_thread: g.comments_per_thread,
                body_len: g.body_len,
                hunk_lines: g.hunk_lines,
                marker: None,
                authors: vec![],
            },
            owner: g.owner,
            repo: g.repo,
            number: g.number,
            tenants: g.tenants,
        });
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &seed)?;
        writeln!(out)?;
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = cli.serve;
    let seed_path = args.seed.context("--seed FILE is required")?;
    let text = std::fs::read_to_string(&seed_path)
        .with_context(|| format!("reading seed {}", seed_path.display()))?;
    let seed: Seed = serde_json::from_str(&text)
        .with_context(|| format!("parsing seed {}", seed_path.display()))?;
    let world = World::from_seed(&seed).context("loading seed")?;
    let mut config = DoubleConfig {
        latency_ms: args.latency_ms,
        rate_limit: args.rate_limit,
        graphql_rate_limit: args.graphql_rate_limit,
        fault_status: args.fault_status,
        secondary_rate_limit_every: args.secondary_rate_limit_every,
        retry_after_secs: args.retry_after_secs,
        ..DoubleConfig::default()
    };
    let patch = github_double::faults::ConfigPatch {
        fault_rate: Some(args.fault_rate),
        drop_rate: Some(args.drop_rate),
        hang_rate: Some(args.hang_rate),
        slow_body_rate: Some(args.slow_body_rate),
        slow_body_ms: Some(args.slow_body_ms),
        ..Default::default()
    };
    config.apply(&patch).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let comments: usize = world.comment_by_id.len();
        let running = github_double::start(world, config, args.listen).await?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{}", running.addr)?;
            out.flush()?;
        }
        tracing::info!(addr = %running.addr, comments, "github-double serving");
        shutdown_signal().await;
        tracing::info!("shutting down");
        drop(running);
        anyhow::Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
