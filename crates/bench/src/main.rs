//! `bench`: measures github-review-mcp over stdio against github-double, next to two
//! baselines measured in the same run: a do-nothing MCP server (`floor`) and the
//! same GraphQL requests made directly to the double (`direct`). See README.md.

mod floor;
mod measure;
mod procs;
mod report;
mod review_loop;
mod sdk;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use measure::{call_tool, check, ms, Answer, Direct, Expect, Series};
use procs::{Double, McpChild, McpCommand, Seed};
use report::{fmt, Figure};
use sdk::Client;

/// The workspace root (this crate is `crates/bench`).
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "Benchmark github-review-mcp over stdio against github-double, with floor and direct baselines",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    opts: Opts,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The floor baseline: an MCP stdio server whose one tool returns a fixed text.
    #[command(hide = true)]
    FloorServer {
        /// Size of the text the tool returns, in bytes.
        #[arg(long)]
        text_bytes: usize,
        /// Size of a structuredContent object added to the answer (0: none).
        #[arg(long, default_value_t = 0)]
        structured_bytes: usize,
    },
    /// The whole review loop an agent runs on a 300-thread PR with 50 ms per request:
    /// find the PR, list open threads, fetch comments, reply, resolve, review.
    ReviewLoop(review_loop::ReviewLoopOpts),
}

#[derive(clap::Args, Debug, Clone)]
struct Opts {
    /// The server binary [default: github-review-mcp beside this binary, else target/release/]
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The double binary [default: github-double beside this binary, else target/release/]
    #[arg(long)]
    double_bin: Option<PathBuf>,
    /// Repetitions of every measurement; figures are the median across runs.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Sequential calls per run (no added latency).
    #[arg(long, default_value_t = 300)]
    calls: usize,
    /// Calls per run with 50 ms added per request (150-comment PR).
    #[arg(long, default_value_t = 40)]
    latency_calls: usize,
    /// Calls per run on the 2000-comment PR (50 ms per request).
    #[arg(long, default_value_t = 10)]
    big_calls: usize,
    /// Start-up samples per run (each a fresh process).
    #[arg(long, default_value_t = 20)]
    startup_samples: usize,
    /// Unmeasured calls before each series.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Latency the double adds per request for the latency figures, in ms.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Smoke run for CI: 1 run, 30 calls, 5 latency calls, 2 big calls, 3 start-ups.
    #[arg(long)]
    quick: bool,
    /// The MCP clients to measure with, each beside the floor measured with the same
    /// client in the same run: python (the official SDK), typescript (what editors
    /// build on), rmcp (in-process; validates nothing) [default: all three]
    #[arg(long, value_enum, value_delimiter = ',')]
    client: Vec<Client>,
    /// Where to write every figure and sample summary as JSON [default: target/bench/results.json]
    #[arg(long)]
    json: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::FloorServer {
            text_bytes,
            structured_bytes,
        }) => floor::serve(text_bytes, structured_bytes).await,
        Some(Cmd::ReviewLoop(opts)) => review_loop::run(opts).await,
        None => run(cli.opts).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Finds `name`: the override, else beside this binary, else `target/release/`;
/// builds the workspace's binaries once if neither exists.
fn find_bin(name: &str, explicit: Option<&PathBuf>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.exists() {
            bail!("{} does not exist", path.display());
        }
        return Ok(path.clone());
    }
    let beside = std::env::current_exe()?.with_file_name(name);
    let release = Path::new(WORKSPACE).join("target/release").join(name);
    for candidate in [&beside, &release] {
        if candidate.exists() {
            return Ok(candidate.canonicalize()?);
        }
    }
    eprintln!("{name} not found; running `cargo build --release --workspace --bins`");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "--workspace", "--bins"])
        .current_dir(WORKSPACE)
        .status()
        .context("running cargo build")?;
    if !status.success() || !release.exists() {
        bail!(
            "{name} is missing: build it with `cargo build --release --workspace --bins` \
             or pass --server-bin/--double-bin"
        );
    }
    Ok(release.canonicalize()?)
}

fn describe_bin(path: &Path) -> String {
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map(|d| format!("built {} min ago", d.as_secs() / 60))
        .unwrap_or_default();
    format!("{} ({age})", path.display())
}

struct Ctx {
    opts: Opts,
    seed: Seed,
    big: Seed,
    double: Double,
    big_double: Double,
    server: McpCommand,
    big_server: McpCommand,
    floor: McpCommand,
    /// The floor that also returns a structuredContent as large as the real one.
    floor_full: McpCommand,
    expect: Expect,
    big_expect: Expect,
    floor_expect: Expect,
    /// Per phase, the double's `/_double/stats` of every run (with calls made).
    double_stats: RefCell<BTreeMap<&'static str, Vec<Value>>>,
    /// Per phase, CPU ms per call of the MCP server, the double and the bench itself.
    cpu: RefCell<BTreeMap<&'static str, Vec<[f64; 3]>>>,
    /// Per run, raw summaries of every series.
    runs: Vec<Value>,
}

async fn run(mut opts: Opts) -> Result<()> {
    if opts.quick {
        opts.runs = 1;
        opts.calls = 30;
        opts.latency_calls = 5;
        opts.big_calls = 2;
        opts.startup_samples = 3;
        opts.warmup = 3;
    }
    if opts.runs == 0 || opts.calls == 0 || opts.latency_calls == 0 || opts.big_calls == 0 {
        bail!("--runs, --calls, --latency-calls and --big-calls must be at least 1");
    }
    let mut clients = opts.client.clone();
    if clients.is_empty() {
        clients = vec![Client::Python, Client::Typescript, Client::Rmcp];
    }
    clients.sort();
    clients.dedup();
    let out_dir = Path::new(WORKSPACE).join("target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let out_dir = out_dir.canonicalize()?;
    let json_path = opts
        .json
        .clone()
        .unwrap_or_else(|| out_dir.join("results.json"));
    let server_bin = find_bin("github-review-mcp", opts.server_bin.as_ref())?;
    let double_bin = find_bin("github-double", opts.double_bin.as_ref())?;
    let bench_bin = std::env::current_exe()?;

    let seed = Seed::generate(&double_bin, &out_dir, 50, 3, 330, 8).await?;
    let big = Seed::generate(&double_bin, &out_dir, 400, 5, 330, 8).await?;
    let double = Double::start(&double_bin, &seed.path, 0).await?;
    let big_double = Double::start(&double_bin, &big.path, opts.latency_ms).await?;

    let server_cmd = |double: &Double, seed: &Seed| McpCommand {
        program: server_bin.clone(),
        args: vec!["stdio".into()],
        env: vec![
            ("GITHUB_HOST".into(), double.url.clone()),
            ("GITHUB_TOKEN".into(), seed.token.clone()),
            ("RUST_LOG".into(), "warn".into()),
        ],
        log: out_dir.join("server.log"),
    };
    let server = server_cmd(&double, &seed);
    let big_server = server_cmd(&big_double, &big);
    let expect = Expect::Complete {
        threads: seed.threads,
        comments: seed.comments,
    };
    let big_expect = Expect::Complete {
        threads: big.threads,
        comments: big.comments,
    };

    // One checked call to learn the size of the real Markdown answer: the floor
    // returns a text of that size.
    let probe = server.start().await?;
    let (_, result) = call_tool(&probe.client, &seed.pr_ref()).await?;
    let answer = measure::check_sizes(&result, expect).context("the real server's answer")?;
    probe.stop().await?;
    let floor = McpCommand {
        program: bench_bin.clone(),
        args: vec![
            "floor-server".into(),
            "--text-bytes".into(),
            answer.markdown_bytes.to_string(),
        ],
        env: vec![("RUST_LOG".into(), "warn".into())],
        log: out_dir.join("floor.log"),
    };

    let mut floor_full = floor.clone();
    floor_full.args.extend([
        "--structured-bytes".into(),
        answer.structured_bytes.to_string(),
    ]);
    println!("github-review-mcp benchmark");
    println!("  server  {}", describe_bin(&server_bin));
    println!("  double  {}", describe_bin(&double_bin));
    println!(
        "  machine {} CPUs; runs {}, sequential calls {}, latency calls {}, big calls {}, start-up samples {}, warm-up {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        opts.runs,
        opts.calls,
        opts.latency_calls,
        opts.big_calls,
        opts.startup_samples,
        opts.warmup
    );
    println!(
        "  PR {} with {} threads / {} comments; {} with {} threads / {} comments",
        seed.pr_ref(),
        seed.threads,
        seed.comments,
        big.pr_ref(),
        big.threads,
        big.comments
    );
    println!(
        "  answer: {} B Markdown + {} B structuredContent; floor returns {} B of text",
        answer.markdown_bytes, answer.structured_bytes, answer.markdown_bytes
    );
    println!();

    let mut ctx = Ctx {
        floor_expect: Expect::TextBytes(answer.markdown_bytes),
        opts: opts.clone(),
        seed,
        big,
        double,
        big_double,
        server,
        big_server,
        floor_full,
        floor,
        expect,
        big_expect,
        double_stats: RefCell::new(BTreeMap::new()),
        cpu: RefCell::new(BTreeMap::new()),
        runs: Vec::new(),
    };

    let mut results = json!({
        "config": {
            "runs": opts.runs, "calls": opts.calls, "latency_calls": opts.latency_calls,
            "big_calls": opts.big_calls, "startup_samples": opts.startup_samples,
            "warmup": opts.warmup, "latency_ms": opts.latency_ms, "quick": opts.quick,
            "clients": clients.iter().map(|c| c.name()).collect::<Vec<_>>(),
            "server_bin": server_bin, "double_bin": double_bin,
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        },
        "data": {
            "pr": ctx.seed.pr_ref(), "threads": ctx.seed.threads, "comments": ctx.seed.comments,
            "big_threads": ctx.big.threads, "big_comments": ctx.big.comments,
            "markdown_bytes": answer.markdown_bytes,
            "structured_content_bytes": answer.structured_bytes,
        },
    });
    if clients.contains(&Client::Rmcp) {
        let rmcp = rmcp_figures(&mut ctx, &answer).await?;
        results.as_object_mut().expect("an object").extend(rmcp);
    }
    let sdk_clients: Vec<Client> = clients
        .iter()
        .copied()
        .filter(|c| *c != Client::Rmcp)
        .collect();
    if !sdk_clients.is_empty() {
        results["sdk_clients"] = sdk_figures(&ctx, &sdk_clients, &answer).await?;
    }
    if let Some(dir) = json_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&results)?)?;
    println!("JSON: {}", json_path.display());
    Ok(())
}

/// rmcp's client (in-process, validates nothing): start-up, sequential calls, latency,
/// the 2000-comment PR, RSS, and the floor and direct baselines. Returns the JSON keys
/// of these figures.
async fn rmcp_figures(
    ctx: &mut Ctx,
    answer: &measure::Answer,
) -> Result<serde_json::Map<String, Value>> {
    let mut startup = Figure::new(
        "startup_ms",
        "start to initialized (stdio)",
        "ms",
        false,
        10.0,
        2,
    );
    let mut cps = Figure::new(
        "seq_calls_per_sec",
        "150 comments, sequential",
        "calls/s",
        true,
        700.0,
        0,
    );
    let mut p50 = Figure::new("seq_p50_ms", "150 comments, p50", "ms", false, 1.5, 3);
    let mut p99 = Figure::new("seq_p99_ms", "150 comments, p99", "ms", false, 3.0, 3);
    let lat_label = format!("150 comments, +{} ms/request, p50", ctx.opts.latency_ms);
    let mut lat = Figure::new(
        "latency_p50_ms",
        Box::leak(lat_label.into_boxed_str()),
        "ms",
        false,
        55.0,
        2,
    );
    let big_label = format!(
        "2000 comments, +{} ms/request, one call",
        ctx.opts.latency_ms
    );
    let mut bigf = Figure::new(
        "big_call_ms",
        Box::leak(big_label.into_boxed_str()),
        "ms",
        false,
        150.0,
        2,
    );
    let mut bpc = Figure::new(
        "markdown_bytes_per_comment",
        "Markdown per comment",
        "B",
        false,
        520.0,
        1,
    );
    let mut rss = Figure::new(
        "peak_rss_mib",
        "server peak RSS (VmHWM)",
        "MiB",
        false,
        10.0,
        2,
    );

    let (mut floor_full_p50, mut floor_full_cps) = (Vec::new(), Vec::new());
    let mut rss_after_start = Vec::new();
    for run in 1..=ctx.opts.runs {
        eprintln!("run {run}/{}", ctx.opts.runs);
        let mut raw = serde_json::Map::new();

        // Start-up: fresh processes, server and floor alternating.
        let (mut s_up, mut f_up) = (Vec::new(), Vec::new());
        for _ in 0..ctx.opts.startup_samples {
            let child = ctx.server.start().await?;
            s_up.push(child.startup);
            child.stop().await?;
            let child = ctx.floor.start().await?;
            f_up.push(child.startup);
            child.stop().await?;
        }
        startup.server.push(measure::percentile_ms(&s_up, 0.5));
        startup.floor.push(measure::percentile_ms(&f_up, 0.5));
        raw.insert(
            "startup_ms".into(),
            json!({ "server": s_up.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                    "floor": f_up.iter().map(|d| ms(*d)).collect::<Vec<_>>() }),
        );

        // The real server: sequential calls, then RSS, then with added latency.
        let child = ctx.server.start().await?;
        let idle_hwm = child.peak_rss()?;
        let (seq, run_answer) = series(ctx, &child, ctx.opts.calls, "server_seq").await?;
        let hwm = child.peak_rss()?;
        ctx.double.set_latency(ctx.opts.latency_ms).await?;
        let (lat_s, _) = series(ctx, &child, ctx.opts.latency_calls, "server_latency").await?;
        ctx.double.set_latency(0).await?;
        child.stop().await?;
        cps.server.push(seq.calls_per_sec());
        p50.server.push(seq.p50_ms());
        p99.server.push(seq.p99_ms());
        lat.server.push(lat_s.p50_ms());
        rss.server.push(hwm as f64 / (1024.0 * 1024.0));
        bpc.server
            .push(run_answer.markdown_bytes as f64 / ctx.seed.comments as f64);

        // The floor: same calls, same client, fixed answer.
        let child = ctx.floor.start().await?;
        let (fseq, _) = series(ctx, &child, ctx.opts.calls, "floor_seq").await?;
        let fhwm = child.peak_rss()?;
        child.stop().await?;
        cps.floor.push(fseq.calls_per_sec());
        p50.floor.push(fseq.p50_ms());
        p99.floor.push(fseq.p99_ms());
        rss.floor.push(fhwm as f64 / (1024.0 * 1024.0));
        let child = ctx.floor_full.start().await?;
        let (ffseq, _) = series(ctx, &child, ctx.opts.calls, "floor_full_seq").await?;
        child.stop().await?;
        floor_full_p50.push(ffseq.p50_ms());
        floor_full_cps.push(ffseq.calls_per_sec());

        // Direct: the same GraphQL requests straight to the double.
        let direct = Direct::new(&ctx.double.url, &ctx.seed.token)?;
        let dseq = direct_series(ctx, &direct, false, ctx.opts.calls, "direct_seq").await?;
        ctx.double.set_latency(ctx.opts.latency_ms).await?;
        let dlat = direct_series(
            ctx,
            &direct,
            false,
            ctx.opts.latency_calls,
            "direct_latency",
        )
        .await?;
        ctx.double.set_latency(0).await?;
        cps.direct.push(dseq.calls_per_sec());
        p50.direct.push(dseq.p50_ms());
        p99.direct.push(dseq.p99_ms());
        lat.direct.push(dlat.p50_ms());

        // The 2000-comment PR, 50 ms per request (its double was started so).
        let child = ctx.big_server.start().await?;
        let (big_s, _) = series(ctx, &child, ctx.opts.big_calls, "server_big").await?;
        child.stop().await?;
        let big_direct = Direct::new(&ctx.big_double.url, &ctx.big.token)?;
        let dbig = direct_series(ctx, &big_direct, true, ctx.opts.big_calls, "direct_big").await?;
        bigf.server.push(big_s.p50_ms());
        bigf.direct.push(dbig.p50_ms());

        for (name, s) in [
            ("server_seq", &seq),
            ("server_latency", &lat_s),
            ("server_big", &big_s),
            ("floor_seq", &fseq),
            ("floor_full_seq", &ffseq),
            ("direct_seq", &dseq),
            ("direct_latency", &dlat),
            ("direct_big", &dbig),
        ] {
            raw.insert(name.into(), s.summary());
        }
        raw.insert("server_peak_rss_bytes".into(), json!(hwm));
        raw.insert("server_peak_rss_after_start_bytes".into(), json!(idle_hwm));
        rss_after_start.push(idle_hwm as f64 / (1024.0 * 1024.0));
        raw.insert("floor_peak_rss_bytes".into(), json!(fhwm));
        ctx.runs.push(Value::Object(raw));
    }

    let figures = vec![startup, cps, p50, p99, lat, bigf, bpc, rss];
    println!("{}", report::figures_table(&figures));
    println!("Baselines (median [min..max] across runs; floor = do-nothing MCP server returning the same Markdown size, direct = the server's GraphQL requests sent straight to the double):");
    println!("{}", report::baselines_table(&figures));
    println!(
        "Floor with the same Markdown and a same-size structuredContent ({} B answer): p50 {} ms, {} calls/s (medians across runs).",
        answer.markdown_bytes + answer.structured_bytes,
        fmt(measure::median(&floor_full_p50), 3),
        fmt(measure::median(&floor_full_cps), 0),
    );
    println!(
        "Server peak RSS right after the handshake, before any call: {} MiB (median across runs).",
        fmt(measure::median(&rss_after_start), 2),
    );
    println!();
    println!("github-double's own time per request (handler time, injected latency excluded; median across runs):");
    println!("{}", double_table(ctx));
    println!("CPU time per call in ms (user + system from /proc/PID/stat, 10 ms ticks; median across runs):");
    println!("{}", cpu_table(ctx));
    let met = figures.iter().filter(|f| f.met()).count();
    println!("{met}/{} targets met.", figures.len());

    let Value::Object(keys) = json!({
        "server_peak_rss_after_start_mib": { "median": measure::median(&rss_after_start), "runs": rss_after_start },
        "floor_with_structured_content": {
            "p50_ms": { "median": measure::median(&floor_full_p50), "runs": floor_full_p50 },
            "calls_per_sec": { "median": measure::median(&floor_full_cps), "runs": floor_full_cps },
        },
        "figures": figures.iter().map(|f| (f.key.to_owned(), f.to_json())).collect::<serde_json::Map<_, _>>(),
        "double_stats": *ctx.double_stats.borrow(),
        "cpu_ms_per_call": ctx.cpu.borrow().iter().map(|(k, runs)| {
            (k.to_string(), json!(runs.iter().map(|r| json!({"server": r[0], "double": r[1], "bench": r[2]})).collect::<Vec<_>>()))
        }).collect::<serde_json::Map<_, _>>(),
        "runs": ctx.runs,
    }) else {
        unreachable!("json! of an object")
    };
    Ok(keys)
}

/// Medians across runs of one SDK client's series.
#[derive(Default)]
struct SdkFigures {
    floor_p50: Vec<f64>,
    floor_p99: Vec<f64>,
    floor_cps: Vec<f64>,
    floor_cpu: Vec<f64>,
    floor_rss: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    cps: Vec<f64>,
    cpu: Vec<f64>,
    rss: Vec<f64>,
    latency_p50: Vec<f64>,
    big_p50: Vec<f64>,
    warnings: Vec<String>,
    sdk_version: String,
}

/// The Python and TypeScript SDK clients, each beside the floor measured with the
/// same client in the same run: the 150-comment fetch, the same at +latency, the
/// 2000-comment fetch; schema warnings the SDK printed; the server's RSS and CPU.
async fn sdk_figures(ctx: &Ctx, clients: &[Client], answer: &measure::Answer) -> Result<Value> {
    sdk::install_clients()?;
    let opts = &ctx.opts;
    let pr = ctx.seed.pr_ref();
    let mut all = serde_json::Map::new();
    for &client in clients {
        let mut f = SdkFigures::default();
        for run in 1..=opts.runs {
            eprintln!("{} client: run {run}/{}", client.name(), opts.runs);
            let floor = sdk::series(
                client,
                &ctx.floor,
                &pr,
                opts.calls,
                opts.warmup,
                ctx.floor_expect,
            )
            .await?;
            let server = sdk::series(
                client,
                &ctx.server,
                &pr,
                opts.calls,
                opts.warmup,
                ctx.expect,
            )
            .await?;
            ctx.double.set_latency(opts.latency_ms).await?;
            let latency = sdk::series(
                client,
                &ctx.server,
                &pr,
                opts.latency_calls,
                opts.warmup.clamp(1, 2),
                ctx.expect,
            )
            .await;
            ctx.double.set_latency(0).await?;
            let latency = latency?;
            let big = sdk::series(
                client,
                &ctx.big_server,
                &ctx.big.pr_ref(),
                opts.big_calls,
                opts.warmup.clamp(1, 2),
                ctx.big_expect,
            )
            .await?;
            let mib = |b: Option<u64>| b.map_or(f64::NAN, |b| b as f64 / (1024.0 * 1024.0));
            f.floor_p50.push(floor.series.p50_ms());
            f.floor_p99.push(floor.series.p99_ms());
            f.floor_cps.push(floor.series.calls_per_sec());
            f.floor_cpu.push(floor.cpu_ms_per_call.unwrap_or(f64::NAN));
            f.floor_rss.push(mib(floor.peak_rss_bytes));
            f.p50.push(server.series.p50_ms());
            f.p99.push(server.series.p99_ms());
            f.cps.push(server.series.calls_per_sec());
            f.cpu.push(server.cpu_ms_per_call.unwrap_or(f64::NAN));
            f.rss.push(mib(server.peak_rss_bytes));
            f.latency_p50.push(latency.series.p50_ms());
            f.big_p50.push(big.series.p50_ms());
            for w in [&server, &latency, &big]
                .into_iter()
                .flat_map(|s| &s.warnings)
            {
                if !f.warnings.contains(w) {
                    f.warnings.push(w.clone());
                }
            }
            f.sdk_version = server.sdk_version;
        }
        let m = measure::median;
        let (floor_p50, p50) = (m(&f.floor_p50), m(&f.p50));
        let (floor_p99, p99) = (m(&f.floor_p99), m(&f.p99));
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let rows = vec![
            vec![
                "figure".into(),
                "floor".into(),
                "server".into(),
                "server − floor".into(),
                "server / floor".into(),
                "target".into(),
                "".into(),
            ],
            vec![
                "150 comments, p50 ms".into(),
                fmt(floor_p50, 2),
                fmt(p50, 2),
                fmt(p50 - floor_p50, 2),
                fmt(p50 / floor_p50, 2),
                "≤ floor + 2".into(),
                verdict(p50 <= floor_p50 + 2.0).into(),
            ],
            vec![
                "150 comments, p99 ms".into(),
                fmt(floor_p99, 2),
                fmt(p99, 2),
                fmt(p99 - floor_p99, 2),
                fmt(p99 / floor_p99, 2),
                "≤ floor + 4".into(),
                verdict(p99 <= floor_p99 + 4.0).into(),
            ],
            vec![
                "150 comments, calls/s".into(),
                fmt(m(&f.floor_cps), 0),
                fmt(m(&f.cps), 0),
                "".into(),
                fmt(m(&f.cps) / m(&f.floor_cps), 2),
                "".into(),
                "".into(),
            ],
            vec![
                format!("150 comments, +{} ms/request, p50 ms", opts.latency_ms),
                "".into(),
                fmt(m(&f.latency_p50), 1),
                "".into(),
                "".into(),
                "≤ 55".into(),
                verdict(m(&f.latency_p50) <= 55.0).into(),
            ],
            vec![
                format!("2000 comments, +{} ms/request, ms", opts.latency_ms),
                "".into(),
                fmt(m(&f.big_p50), 1),
                "".into(),
                "".into(),
                "≤ 150".into(),
                verdict(m(&f.big_p50) <= 150.0).into(),
            ],
            vec![
                "server CPU ms/call (150 comments)".into(),
                fmt(m(&f.floor_cpu), 2),
                fmt(m(&f.cpu), 2),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
            ],
            vec![
                "server peak RSS MiB".into(),
                fmt(m(&f.floor_rss), 1),
                fmt(m(&f.rss), 1),
                "".into(),
                "".into(),
                "≤ 10".into(),
                verdict(m(&f.rss) <= 10.0).into(),
            ],
            vec![
                "schema warnings printed".into(),
                "".into(),
                f.warnings.len().to_string(),
                "".into(),
                "".into(),
                "0".into(),
                verdict(f.warnings.is_empty()).into(),
            ],
        ];
        println!(
            "{} SDK client ({}), {} B Markdown per answer; medians across {} runs, floor = do-nothing server returning the same text, same client, same run:",
            client.name(), f.sdk_version, answer.markdown_bytes, opts.runs
        );
        println!(
            "{}",
            report::table(&rows, &[false, true, true, true, true, false, false])
        );
        all.insert(client.name().into(), json!({
            "sdk_version": f.sdk_version,
            "floor_p50_ms": f.floor_p50, "floor_p99_ms": f.floor_p99, "floor_calls_per_sec": f.floor_cps,
            "floor_cpu_ms_per_call": f.floor_cpu, "floor_peak_rss_mib": f.floor_rss,
            "p50_ms": f.p50, "p99_ms": f.p99, "calls_per_sec": f.cps,
            "server_cpu_ms_per_call": f.cpu, "server_peak_rss_mib": f.rss,
            "latency_p50_ms": f.latency_p50, "big_p50_ms": f.big_p50,
            "warnings": f.warnings,
            "medians": {"floor_p50_ms": floor_p50, "p50_ms": p50, "floor_p99_ms": floor_p99, "p99_ms": p99,
                        "latency_p50_ms": m(&f.latency_p50), "big_p50_ms": m(&f.big_p50), "server_peak_rss_mib": m(&f.rss)},
        }));
    }
    Ok(Value::Object(all))
}

/// Warm-up, reset the double's stats, `calls` checked sequential calls, record the
/// double's stats for `phase`. Returns the series and the last answer's sizes.
async fn series(
    ctx: &Ctx,
    child: &McpChild,
    calls: usize,
    phase: &'static str,
) -> Result<(Series, Answer)> {
    let (pr, expect, double) = match phase {
        "server_big" => (ctx.big.pr_ref(), ctx.big_expect, Some(&ctx.big_double)),
        p if p.starts_with("floor") => (ctx.seed.pr_ref(), ctx.floor_expect, None),
        _ => (ctx.seed.pr_ref(), ctx.expect, Some(&ctx.double)),
    };
    let warmup = if phase.ends_with("_seq") {
        ctx.opts.warmup
    } else {
        ctx.opts.warmup.clamp(1, 2)
    };
    for _ in 0..warmup {
        let (_, result) = call_tool(&child.client, &pr).await?;
        check(&result, expect).with_context(|| format!("{phase}: warm-up answer"))?;
    }
    if let Some(d) = double {
        d.reset().await?;
    }
    let mut s = Series::default();
    let mut answer = Answer::default();
    let cpu = Cpu::start(Some(child.pid), &ctx.double)?;
    for i in 0..calls {
        let (elapsed, result) = call_tool(&child.client, &pr).await?;
        // Checked outside the timed span: throughput is calls / sum of call times.
        answer = check(&result, expect).with_context(|| format!("{phase}: call {i}"))?;
        s.samples.push(elapsed);
    }
    s.wall = s.samples.iter().sum();
    if phase != "server_big" {
        cpu.finish(ctx, phase, calls)?;
    }
    if let Some(d) = double {
        record_stats(ctx, d, phase, calls).await?;
    }
    Ok((s, answer))
}

async fn direct_series(
    ctx: &Ctx,
    direct: &Direct,
    big: bool,
    calls: usize,
    phase: &'static str,
) -> Result<Series> {
    let (seed, double) = if big {
        (&ctx.big, &ctx.big_double)
    } else {
        (&ctx.seed, &ctx.double)
    };
    let warmup = if phase == "direct_seq" {
        ctx.opts.warmup
    } else {
        ctx.opts.warmup.clamp(1, 2)
    };
    for _ in 0..warmup {
        direct.fetch(seed).await.context("direct: warm-up")?;
    }
    double.reset().await?;
    let mut s = Series::default();
    let cpu = Cpu::start(None, double)?;
    for i in 0..calls {
        let (elapsed, _, bytes) = direct
            .fetch(seed)
            .await
            .with_context(|| format!("{phase}: call {i}"))?;
        s.graphql_bytes = bytes;
        s.samples.push(elapsed);
    }
    s.wall = s.samples.iter().sum();
    cpu.finish(ctx, phase, calls)?;
    record_stats(ctx, double, phase, calls).await?;
    Ok(s)
}

async fn record_stats(ctx: &Ctx, double: &Double, phase: &'static str, calls: usize) -> Result<()> {
    let mut stats = double.stats().await?;
    stats["calls"] = json!(calls);
    ctx.double_stats
        .borrow_mut()
        .entry(phase)
        .or_default()
        .push(stats);
    Ok(())
}

/// CPU time used during a series by the MCP server (if any), the double and the bench.
struct Cpu {
    server: Option<(u32, f64)>,
    double: (u32, f64),
    bench: f64,
}

impl Cpu {
    fn start(server: Option<u32>, double: &Double) -> Result<Self> {
        Ok(Self {
            server: server
                .map(|pid| Ok::<_, anyhow::Error>((pid, procs::cpu_ms(pid)?)))
                .transpose()?,
            double: (double.pid, procs::cpu_ms(double.pid)?),
            bench: procs::cpu_ms(std::process::id())?,
        })
    }

    fn finish(self, ctx: &Ctx, phase: &'static str, calls: usize) -> Result<()> {
        let n = calls as f64;
        let server = match self.server {
            Some((pid, t)) => (procs::cpu_ms(pid)? - t) / n,
            None => f64::NAN,
        };
        let double = (procs::cpu_ms(self.double.0)? - self.double.1) / n;
        let bench = (procs::cpu_ms(std::process::id())? - self.bench) / n;
        ctx.cpu
            .borrow_mut()
            .entry(phase)
            .or_default()
            .push([server, double, bench]);
        Ok(())
    }
}

fn cpu_table(ctx: &Ctx) -> String {
    let mut rows = vec![vec![
        "phase".to_owned(),
        "MCP server".to_owned(),
        "double".to_owned(),
        "bench (client)".to_owned(),
    ]];
    for (phase, runs) in ctx.cpu.borrow().iter() {
        let col = |i: usize| -> String {
            let v: Vec<f64> = runs.iter().map(|r| r[i]).collect();
            fmt(measure::median(&v), 3)
        };
        rows.push(vec![(*phase).to_owned(), col(0), col(1), col(2)]);
    }
    report::table(&rows, &[false, true, true, true])
}

fn double_table(ctx: &Ctx) -> String {
    let all = ctx.double_stats.borrow();
    let mut rows = vec![vec![
        "phase".to_owned(),
        "requests/call".to_owned(),
        "p50 us".to_owned(),
        "mean us".to_owned(),
        "p99 us".to_owned(),
        "double ms/call".to_owned(),
    ]];
    for (phase, runs) in all.iter() {
        let get = |k: &str| -> Vec<f64> { runs.iter().filter_map(|v| v[k].as_f64()).collect() };
        let per_call: Vec<f64> = runs
            .iter()
            .filter_map(|v| Some(v["requests"].as_f64()? / v["calls"].as_f64()?))
            .collect();
        let ms_per_call: Vec<f64> = runs
            .iter()
            .filter_map(|v| Some(v["handler_time_us_total"].as_f64()? / v["calls"].as_f64()? / 1e3))
            .collect();
        rows.push(vec![
            (*phase).to_owned(),
            fmt(measure::median(&per_call), 2),
            fmt(measure::median(&get("handler_time_us_p50")), 0),
            fmt(measure::median(&get("handler_time_us_mean")), 0),
            fmt(measure::median(&get("handler_time_us_p99")), 0),
            fmt(measure::median(&ms_per_call), 3),
        ]);
    }
    report::table(&rows, &[false, true, true, true, true, true])
}
