//! The `github-review-mcp` binary: parse configuration, then serve stdio or HTTP.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use github_review_mcp::config::{Cli, Command};
use github_review_mcp::github::{ClientOptions, GitHubClient};
use github_review_mcp::metrics::Metrics;
use github_review_mcp::oauth::Oauth;
use github_review_mcp::state::{self, StateSpec};
use github_review_mcp::tools::{ReviewServer, Shared, ToolFilter};
use github_review_mcp::{doctor, telemetry, transport};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Http(_)) {
        tune_malloc();
    }
    if let Command::Doctor(args) = &cli.command {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
        };
        return if runtime.block_on(doctor::run(args)) {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    let env = |name: &str| std::env::var(name).ok();
    let common = match &cli.command {
        Command::Stdio(common) => common,
        Command::Http(http) => &http.common,
        Command::Doctor(_) => unreachable!("handled above"),
    };
    let mut config = match common.validate(&env) {
        Ok(config) => config,
        Err(reason) => return fail(&reason),
    };
    let http = match &cli.command {
        Command::Http(http) => match http.validate(&config) {
            Ok(http) => Some(http),
            Err(reason) => return fail(&reason),
        },
        _ => None,
    };
    let oauth_config = match &cli.command {
        Command::Http(args) => match args.oauth(&env) {
            Ok(oauth) => oauth,
            Err(reason) => return fail(&reason),
        },
        _ => None,
    };
    if let (Some(_), Command::Http(args)) = (&oauth_config, &cli.command) {
        config.tokens = config.tokens.clone().with_sign_in(!args.oauth_only);
    }
    if let Some(tools) = &config.tools {
        let known: Vec<String> = ReviewServer::all_tools()
            .into_iter()
            .map(|t| t.name.into_owned())
            .collect();
        if let Some(unknown) = tools.iter().find(|t| !known.contains(t)) {
            return fail(&format!(
                "--tools names an unknown tool {unknown:?}; the tools are: {}",
                known.join(", ")
            ));
        }
    }
    telemetry::init(config.log_format);
    telemetry::install_panic_hook();
    let metrics = Arc::new(Metrics::new());
    let client_options = ClientOptions {
        timeout: config.github_timeout,
        max_retry_wait: config.max_retry_wait,
        reads_per_token: config.reads_per_token,
        cache_bytes: config.cache_bytes,
        server_token: config.tokens.server_token_id(),
        idle_connections: config.github_idle_connections,
    };
    // One user over stdio needs one thread; HTTP serves many on all cores.
    let runtime = if http.is_some() {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    let spec = match (&config.state, &http) {
        (Some(spec), _) => spec.clone(),
        (None, Some(_)) => default_state_file(),
        (None, None) => StateSpec::Memory,
    };
    let state = match runtime.block_on(state::open(&spec, config.state_timeout)) {
        Ok(state) => state,
        Err(err) => return fail(&format!("--state {}: {err}", spec.describe())),
    };
    let github = match GitHubClient::with_options(
        config.host.clone(),
        client_options,
        metrics.clone(),
        state.clone(),
    ) {
        Ok(client) => client,
        Err(err) => return fail(&format!("cannot build the HTTP client: {err}")),
    };
    let oauth = match oauth_config {
        Some(oauth_config) => match Oauth::new(
            oauth_config,
            state.clone(),
            config.host.clone(),
            config.tokens.fingerprint_key().clone(),
            config.github_timeout,
        ) {
            Ok(oauth) => {
                tracing::info!(issuer = %oauth.issuer(), "sign-in on: this server is the OAuth authorization server of {}", oauth.resource());
                Some(oauth)
            }
            Err(reason) => return fail(&reason),
        },
        None => None,
    };
    tracing::info!(
        host = %config.host.display_name(),
        server_token = config.tokens.has_fallback(),
        state = %spec.describe(),
        "github-review-mcp {}",
        env!("CARGO_PKG_VERSION")
    );
    let shared = Arc::new(Shared {
        github,
        tokens: config.tokens,
        tools: ToolFilter {
            read_only: config.read_only,
            only: config.tools,
        },
        metrics,
        share_limit: config.server_token_share,
        state,
        tenant_header: config.tenant_header,
        in_flight: Default::default(),
        call_timeout: config.call_timeout,
        call_slots: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_calls)),
        completions: Default::default(),
    });
    let result = runtime.block_on(async move {
        match http {
            Some(http) => transport::http::serve(shared, oauth, http).await,
            None => transport::stdio::serve(shared).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err.to_string()),
    }
}

/// glibc raises its mmap threshold to the size of each large block freed, so after a
/// few answers every GitHub body, Markdown text and serialised message (100 KiB to a
/// few MiB) comes from the arenas, which keep the holes; under many tenants at once
/// that fragmentation was a fifth of the peak RSS. A fixed threshold keeps blocks of
/// 128 KiB and up in their own mappings, returned to the system when freed. Measured:
/// 200-tenant soak 141–154 → 117–126 MiB. Over HTTP only: one stdio user gains nothing
/// (its RSS is mostly the binary's code) and would pay the system calls. Set before any
/// thread starts.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable; main calls it before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Over HTTP without `--state`: the embedded file in the user's state directory.
fn default_state_file() -> StateSpec {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/state"))
        });
    match base {
        Some(dir) => StateSpec::File(dir.join("github-review-mcp/state.redb")),
        None => StateSpec::Memory,
    }
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("github-review-mcp: {reason}");
    ExitCode::from(2)
}
