//! Command line and environment, validated into a [`Config`] before anything starts.
//! Invalid configuration is one line of explanation and a non-zero exit.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::auth::{FingerprintKey, Token, TokenPolicy};
use crate::github::GitHubHost;

const ENV_HELP: &str = "\
Environment:
  GITHUB_TOKEN (or GITHUB_PERSONAL_ACCESS_TOKEN)  the server's own token, used when a call brings
      none (stdio: the local user's token). Read from the environment only, never a flag.
  GITHUB_HOST                 github.com (default), NAME.ghe.com, a GHES host, or a full URL
                              (http:// only for loopback, e.g. a local github-double)
  RUST_LOG                    log filter, e.g. info or github_review_mcp=debug

Token order per tools/call: params._meta.token, X-GitHub-Token header, Authorization: Bearer,
then GITHUB_TOKEN unless --require-client-token.";

#[derive(Debug, Parser)]
#[command(name = "github-review-mcp", version, about = "MCP server for GitHub pull-request reviews, one token per request", after_help = ENV_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdin/stdout for one local user; logs go to stderr.
    Stdio(CommonArgs),
    /// Serve MCP Streamable HTTP at /mcp, with GET /healthz, for many users.
    Http(Box<HttpArgs>),
    /// Follow a token from a client to GitHub hop by hop and say what to fix.
    Doctor(crate::doctor::DoctorArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Default `--max-concurrent-calls` per CPU core: enough calls to keep the cores busy
/// while others wait on GitHub, few enough that their answers stay a few MiB.
const CALLS_PER_CORE: usize = 8;
/// The default and smallest `--max-header-bytes`: hyper's smallest read buffer
/// (it refuses less), and the common limit of HTTP servers and proxies.
const MIN_HEADER_BYTES: usize = 8 * 1024;
const MAX_HEADER_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// GitHub host: github.com, NAME.ghe.com, a GHES host name, or a full URL.
    #[arg(long, env = "GITHUB_HOST", default_value = "github.com")]
    pub github_host: String,
    /// Never use the server's GITHUB_TOKEN: every call must bring its own token.
    #[arg(long, env = "GITHUB_REVIEW_MCP_REQUIRE_CLIENT_TOKEN")]
    pub require_client_token: bool,
    /// Seconds after which a request to GitHub is abandoned.
    #[arg(long, env = "GITHUB_REVIEW_MCP_GITHUB_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub github_timeout: u64,
    /// Seconds after which a whole tool call (every GitHub request and wait in it)
    /// ends with an error that says so. Every call returns within this bound.
    #[arg(long, env = "GITHUB_REVIEW_MCP_CALL_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub call_timeout: u64,
    /// Tool calls this replica works on at once (default: 8 per CPU core); more wait
    /// their turn, within the call timeout. Bounds the memory of answers in flight:
    /// about 0.4 MiB each for a 150-comment JSON read.
    #[arg(long, env = "GITHUB_REVIEW_MCP_MAX_CONCURRENT_CALLS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_concurrent_calls: Option<u64>,
    /// Idle keep-alive connections to GitHub kept for reuse (default: as many as
    /// --max-concurrent-calls); each may hold a read buffer as large as the largest
    /// answer it carried (up to 400 KiB).
    #[arg(long, env = "GITHUB_REVIEW_MCP_GITHUB_IDLE_CONNECTIONS", value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub github_idle_connections: Option<u64>,
    /// Log format on stderr.
    #[arg(long, env = "GITHUB_REVIEW_MCP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Hide the write tools: only tools annotated read-only are listed and callable.
    #[arg(long, env = "GITHUB_REVIEW_MCP_READ_ONLY")]
    pub read_only: bool,
    /// Expose only these tools (comma-separated names). HTTP clients may narrow
    /// further per request with X-MCP-Tools / X-MCP-Readonly, never widen.
    #[arg(long, env = "GITHUB_REVIEW_MCP_TOOLS", value_delimiter = ',')]
    pub tools: Vec<String>,
    /// Give each tenant at most this many GitHub requests per hour on the server's
    /// token (tenant: --tenant-header, else the MCP session). Past it, a tenant is told
    /// to bring its own token. Users with their own token are never limited by it.
    #[arg(long, env = "GITHUB_REVIEW_MCP_SERVER_TOKEN_SHARE", value_parser = clap::value_parser!(u64).range(1..))]
    pub server_token_share: Option<u64>,
    /// HTTP header that names the tenant for --server-token-share (e.g. X-Tenant-Id).
    #[arg(long, env = "GITHUB_REVIEW_MCP_TENANT_HEADER")]
    pub tenant_header: Option<String>,
    /// Longest total wait, in seconds, on GitHub's secondary rate limit before a read fails.
    #[arg(long, env = "GITHUB_REVIEW_MCP_MAX_RETRY_WAIT", default_value_t = 10)]
    pub max_retry_wait: u64,
    /// Concurrent GitHub reads per token (writes of a token always go one at a time).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub reads_per_token: u64,
    /// MiB of REST answers kept for conditional requests (a 304 costs no rate limit).
    #[arg(long, env = "GITHUB_REVIEW_MCP_CACHE_MB", default_value_t = 64)]
    pub cache_mb: usize,
    /// Secret that keys token fingerprints, so they agree across replicas and restarts.
    /// Random per process when unset.
    #[arg(
        long,
        env = "GITHUB_REVIEW_MCP_FINGERPRINT_KEY",
        hide_env_values = true,
        value_parser = |s: &str| Ok::<_, String>(secrecy::SecretString::from(s))
    )]
    pub fingerprint_key: Option<secrecy::SecretString>,
    /// A file holding the fingerprint key (e.g. a mounted secret); its trailing newline
    /// is ignored.
    #[arg(
        long,
        env = "GITHUB_REVIEW_MCP_FINGERPRINT_KEY_FILE",
        conflicts_with = "fingerprint_key",
        value_name = "PATH"
    )]
    pub fingerprint_key_file: Option<std::path::PathBuf>,
    /// Where cross-request state lives (spent budgets, back-offs, tenants' shares, MCP
    /// sessions): `memory` (this process), `file:PATH` (this process, with sessions in
    /// an embedded redb file that survives restarts), or `redis://[:PASSWORD@]HOST:PORT/DB`
    /// (`rediss://` for TLS), shared by every replica; the password may instead come
    /// from GITHUB_REVIEW_MCP_REDIS_PASSWORD. Shared state needs --fingerprint-key.
    /// Default: memory over stdio, file:$XDG_STATE_HOME/github-review-mcp/state.redb over HTTP.
    #[arg(
        long,
        env = "GITHUB_REVIEW_MCP_STATE",
        hide_env_values = true,
        value_name = "SPEC",
        value_parser = |s: &str| Ok::<_, String>(secrecy::SecretString::from(s))
    )]
    pub state: Option<secrecy::SecretString>,
    /// Longest wait for the state backend per operation, in ms; past it a call goes on
    /// with this replica's own view (see the README's failure policy).
    #[arg(long, default_value_t = 250, value_name = "MS")]
    pub state_timeout_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address to listen on. Loopback by default; see --allow-shared-server-token.
    #[arg(
        long,
        env = "GITHUB_REVIEW_MCP_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub listen: SocketAddr,
    /// Host header values accepted (DNS-rebinding protection), comma-separated or repeated.
    /// Default: localhost, 127.0.0.1, ::1 and the listen address.
    #[arg(
        long = "allowed-host",
        env = "GITHUB_REVIEW_MCP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Origin header values accepted from browsers (scheme://host:port, `:*` for any
    /// port), comma-separated or repeated. Default: http on localhost, 127.0.0.1, ::1.
    /// A request with any other Origin is refused (403).
    #[arg(
        long = "allowed-origin",
        env = "GITHUB_REVIEW_MCP_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Externally visible base URL (e.g. https://mcp.example.com) for the OAuth
    /// protected-resource metadata. Default: http://<Host header>.
    #[arg(long, env = "GITHUB_REVIEW_MCP_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// Acknowledge that, on a non-loopback address with the GITHUB_TOKEN fallback on,
    /// anyone who reaches the port acts with the server's token.
    #[arg(long)]
    pub allow_shared_server_token: bool,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Largest accepted request head (request line and headers), in bytes; a longer
    /// one is answered 431. Each connection's read buffer is bounded by it.
    #[arg(long, default_value_t = MIN_HEADER_BYTES)]
    pub max_header_bytes: usize,
    /// Serve without server-side MCP sessions: any replica can answer any request
    /// (caches and rate-limit budgets stay per replica).
    #[arg(long, env = "GITHUB_REVIEW_MCP_STATELESS")]
    pub stateless: bool,
    /// Seconds to let in-flight calls finish after SIGINT/SIGTERM.
    #[arg(long, default_value_t = 10)]
    pub shutdown_timeout: u64,
    /// Sign users in: the server becomes an OAuth 2.1 authorization server in front
    /// of GitHub (needs --public-url, GITHUB_OAUTH_CLIENT_ID, GITHUB_OAUTH_CLIENT_SECRET
    /// and GITHUB_REVIEW_MCP_OAUTH_KEY; see the README). The GITHUB_TOKEN fallback is off.
    #[arg(long, env = "GITHUB_REVIEW_MCP_OAUTH")]
    pub oauth: bool,
    /// With --oauth: accept only our own sign-in tokens; GitHub tokens in `_meta.token`
    /// or X-GitHub-Token are refused.
    #[arg(long, env = "GITHUB_REVIEW_MCP_OAUTH_ONLY", requires = "oauth")]
    pub oauth_only: bool,
    /// With --oauth and an OAuth App: the scopes asked of GitHub (a GitHub App's
    /// permissions are set on the app instead).
    #[arg(
        long,
        env = "GITHUB_REVIEW_MCP_OAUTH_GITHUB_SCOPES",
        default_value = "repo"
    )]
    pub oauth_github_scopes: String,
    /// With --oauth: lifetime of our access tokens, in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..=86_400))]
    pub oauth_access_ttl: u64,
    /// With --oauth: lifetime of our refresh tokens (and idle grants), in days.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=365))]
    pub oauth_refresh_days: u64,
    /// Testing only: lets client ID metadata documents come over http and from
    /// loopback or private addresses. Never in production.
    #[arg(long, hide = true)]
    pub oauth_test_mode: bool,
}

/// Everything validated; what the rest of the program is built from.
#[derive(Debug)]
pub struct Config {
    pub host: GitHubHost,
    pub server_token_share: Option<u64>,
    pub tenant_header: Option<String>,
    pub max_retry_wait: Duration,
    pub reads_per_token: usize,
    pub cache_bytes: usize,
    pub read_only: bool,
    /// `None`: all tools.
    pub tools: Option<std::collections::BTreeSet<String>>,
    pub tokens: TokenPolicy,
    pub github_timeout: Duration,
    pub call_timeout: Duration,
    pub max_concurrent_calls: usize,
    pub github_idle_connections: usize,
    pub log_format: LogFormat,
    /// `None`: the transport's default (memory over stdio, a file over HTTP).
    pub state: Option<crate::state::StateSpec>,
    pub state_timeout: Duration,
}

#[derive(Debug)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    pub allowed_origins: Vec<String>,
    pub stateless: bool,
    pub allowed_hosts: Vec<String>,
    pub public_url: Option<url::Url>,
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
    pub shutdown_timeout: Duration,
}

/// Reads a secret from `NAME` or from the file named by `NAME_FILE` (a mounted
/// secret; its trailing newline is ignored). Never from an argument.
fn secret_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<String>, String> {
    if let Some(value) = env(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    {
        return Ok(Some(value));
    }
    match env(&format!("{name}_FILE")).filter(|p| !p.is_empty()) {
        Some(path) => std::fs::read_to_string(&path)
            .map(|v| Some(v.trim().to_owned()))
            .map_err(|e| format!("{name}_FILE {path}: {e}")),
        None => Ok(None),
    }
}

/// The server token from the environment, if any; blank counts as unset.
fn server_token_from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    ["GITHUB_TOKEN", "GITHUB_PERSONAL_ACCESS_TOKEN"]
        .iter()
        .filter_map(|name| env(name))
        .map(|t| t.trim().to_owned())
        .find(|t| !t.is_empty())
}

impl CommonArgs {
    pub fn validate(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
        let host = GitHubHost::parse(&self.github_host).map_err(|e| e.to_string())?;
        use secrecy::ExposeSecret;
        let from_file = match &self.fingerprint_key_file {
            Some(path) => Some(secrecy::SecretString::from(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("--fingerprint-key-file {}: {e}", path.display()))?
                    .trim_end_matches(['\n', '\r'])
                    .to_owned(),
            )),
            None => None,
        };
        let given = self.fingerprint_key.as_ref().or(from_file.as_ref());
        let key = match given.map(|s| s.expose_secret()) {
            Some(secret) if secret.len() >= 16 => FingerprintKey::from_secret(secret),
            Some(_) => return Err("--fingerprint-key must be at least 16 characters".into()),
            None => FingerprintKey::random(),
        };
        let server_token = match server_token_from_env(env) {
            Some(_) if self.require_client_token => None,
            Some(raw) => Some(
                Token::parse(&raw, &key)
                    .map_err(|e| format!("GITHUB_TOKEN is not a usable token: {e}"))?,
            ),
            None => None,
        };
        let tools: std::collections::BTreeSet<String> = self
            .tools
            .iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if let Some(name) = &self.tenant_header {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!(
                    "--tenant-header {name:?} is not a valid header name"
                ));
            }
        }
        let state = match &self.state {
            Some(text) => Some(crate::state::StateSpec::parse(
                text.expose_secret().trim(),
                env("GITHUB_REVIEW_MCP_REDIS_PASSWORD").as_deref(),
            )?),
            None => None,
        };
        if state.as_ref().is_some_and(|s| s.is_shared()) && given.is_none() {
            return Err("--state redis://... is shared by replicas, so each must compute the same token ids: \
pass --fingerprint-key (or GITHUB_REVIEW_MCP_FINGERPRINT_KEY, or --fingerprint-key-file), the same secret on every replica"
                .into());
        }
        if !(10..=10_000).contains(&self.state_timeout_ms) {
            return Err("--state-timeout-ms must be between 10 and 10000".into());
        }
        let max_concurrent_calls = self.max_concurrent_calls.map_or_else(
            || CALLS_PER_CORE * std::thread::available_parallelism().map_or(1, |n| n.get()),
            |n| n as usize,
        );
        Ok(Config {
            state,
            state_timeout: Duration::from_millis(self.state_timeout_ms),
            host,
            server_token_share: self.server_token_share,
            tenant_header: self.tenant_header.as_ref().map(|h| h.to_ascii_lowercase()),
            max_retry_wait: Duration::from_secs(self.max_retry_wait),
            reads_per_token: self.reads_per_token as usize,
            cache_bytes: self.cache_mb << 20,
            read_only: self.read_only,
            tools: (!tools.is_empty()).then_some(tools),
            tokens: TokenPolicy::new(server_token, key),
            github_timeout: Duration::from_secs(self.github_timeout),
            call_timeout: Duration::from_secs(self.call_timeout),
            max_concurrent_calls,
            github_idle_connections: self
                .github_idle_connections
                .map_or(max_concurrent_calls, |n| n as usize),
            log_format: self.log_format,
        })
    }
}

impl HttpArgs {
    pub fn validate(&self, config: &Config) -> Result<HttpConfig, String> {
        let ip = self.listen.ip();
        if !ip.is_loopback()
            && config.tokens.has_fallback()
            && !self.allow_shared_server_token
            && !self.oauth
        {
            return Err(format!(
                "refusing to listen on {} with the GITHUB_TOKEN fallback on: anyone who reaches the port \
would act as the server's GitHub user. Pass --require-client-token so every user brings a token, \
or --allow-shared-server-token to accept this",
                self.listen
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err("--max-body-bytes must be at least 1024".into());
        }
        if !(MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&self.max_header_bytes) {
            return Err(format!(
                "--max-header-bytes must be between {MIN_HEADER_BYTES} and {MAX_HEADER_BYTES}"
            ));
        }
        let mut allowed_hosts: Vec<String> = self
            .allowed_hosts
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect();
        if allowed_hosts.is_empty() {
            allowed_hosts = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
            if !ip.is_unspecified() && !ip.is_loopback() {
                allowed_hosts.push(ip.to_string());
            }
        }
        if let Some(url) = &self.public_url {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err("--public-url must be an http(s) URL".into());
            }
        }
        let mut allowed_origins: Vec<String> = self
            .allowed_origins
            .iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if allowed_origins.is_empty() {
            allowed_origins = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
                .map(String::from)
                .to_vec();
        }
        if let Some(bad) = allowed_origins
            .iter()
            .find(|o| !o.contains("://") && o.as_str() != "null")
        {
            return Err(format!(
                "--allowed-origin {bad:?} needs a scheme, e.g. https://app.example.com:443"
            ));
        }
        if self.oauth && self.public_url.is_none() {
            return Err("--oauth needs --public-url: the URL clients and GitHub reach this server at (it is the issuer, and GitHub's callback is <public-url>/oauth/callback)".into());
        }
        if let Some(url) = self.public_url.as_ref().filter(|_| self.oauth) {
            let loopback = matches!(url.host(), Some(url::Host::Domain("localhost")))
                || url
                    .host_str()
                    .and_then(|h| h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok())
                    .is_some_and(|ip| ip.is_loopback());
            if url.scheme() != "https" && !loopback {
                return Err("--oauth needs an https --public-url (http only on loopback, for trying it out)".into());
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err("--public-url must not have a query or fragment".into());
            }
        }
        Ok(HttpConfig {
            listen: self.listen,
            allowed_origins,
            stateless: self.stateless,
            allowed_hosts,
            public_url: self.public_url.clone(),
            max_body_bytes: self.max_body_bytes,
            max_header_bytes: self.max_header_bytes,
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
        })
    }
}

impl HttpArgs {
    /// The sign-in settings of `--oauth`, from the flags and the environment.
    pub fn oauth(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<crate::oauth::OauthConfig>, String> {
        if !self.oauth {
            return Ok(None);
        }
        let issuer = self
            .public_url
            .clone()
            .ok_or("--oauth needs --public-url")?;
        let client_id = secret_from_env(env, "GITHUB_OAUTH_CLIENT_ID")?.ok_or(
            "--oauth needs GITHUB_OAUTH_CLIENT_ID: the client id of the GitHub OAuth App or GitHub App you registered (see the README)",
        )?;
        let client_secret = secret_from_env(env, "GITHUB_OAUTH_CLIENT_SECRET")?.ok_or(
            "--oauth needs GITHUB_OAUTH_CLIENT_SECRET (or GITHUB_OAUTH_CLIENT_SECRET_FILE)",
        )?;
        let keys = secret_from_env(env, "GITHUB_REVIEW_MCP_OAUTH_KEY")?.unwrap_or_default();
        let sealer = crate::oauth::Sealer::from_keys(&keys).map_err(|e| e.to_string())?;
        if self.oauth_github_scopes.chars().any(|c| c.is_control()) {
            return Err("--oauth-github-scopes has control characters".into());
        }
        Ok(Some(crate::oauth::OauthConfig {
            issuer,
            github_client_id: client_id,
            github_client_secret: secrecy::SecretString::from(client_secret),
            github_scopes: self.oauth_github_scopes.trim().to_owned(),
            sealer,
            test_mode: self.oauth_test_mode,
            access_ttl: Duration::from_secs(self.oauth_access_ttl),
            refresh_ttl: Duration::from_secs(self.oauth_refresh_days * 24 * 3600),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_needs_its_url_app_and_key_from_the_environment() {
        let key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let full = |name: &str| match name {
            "GITHUB_OAUTH_CLIENT_ID" => Some("Iv1.abc".to_owned()),
            "GITHUB_OAUTH_CLIENT_SECRET" => Some("appSECRETSECRET".to_owned()),
            "GITHUB_REVIEW_MCP_OAUTH_KEY" => Some(key.to_owned()),
            _ => None,
        };
        let h = parse_http(&["http", "--oauth", "--public-url", "https://mcp.example.com"]);
        let cfg = h.oauth(&full).unwrap().unwrap();
        assert_eq!(cfg.github_client_id, "Iv1.abc");
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("SECRETSECRET") && !shown.contains("0001020304"),
            "{shown}"
        );
        let no_key = |name: &str| {
            if name == "GITHUB_REVIEW_MCP_OAUTH_KEY" {
                None
            } else {
                full(name)
            }
        };
        assert!(h
            .oauth(&no_key)
            .unwrap_err()
            .contains("GITHUB_REVIEW_MCP_OAUTH_KEY"));
        let no_secret = |name: &str| {
            if name == "GITHUB_OAUTH_CLIENT_SECRET" {
                None
            } else {
                full(name)
            }
        };
        assert!(h
            .oauth(&no_secret)
            .unwrap_err()
            .contains("GITHUB_OAUTH_CLIENT_SECRET"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "fromFILEsecret\n").unwrap();
        let path = file.display().to_string();
        let via_file = move |name: &str| match name {
            "GITHUB_OAUTH_CLIENT_SECRET" => None,
            "GITHUB_OAUTH_CLIENT_SECRET_FILE" => Some(path.clone()),
            other => full(other),
        };
        let cfg = h.oauth(&via_file).unwrap().unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(cfg.github_client_secret.expose_secret(), "fromFILEsecret");
        let config = h.common.validate(&|_: &str| None).unwrap();
        assert!(parse_http(&["http", "--oauth"])
            .validate(&config)
            .unwrap_err()
            .contains("--public-url"));
        assert!(
            parse_http(&["http", "--oauth", "--public-url", "http://mcp.example.com"])
                .validate(&config)
                .unwrap_err()
                .contains("https")
        );
        assert!(
            parse_http(&["http", "--oauth", "--public-url", "http://127.0.0.1:8000"])
                .validate(&config)
                .is_ok()
        );
        assert!(Cli::try_parse_from(["github-review-mcp", "http", "--oauth-only"]).is_err());
    }

    fn parse_http(args: &[&str]) -> HttpArgs {
        match parse(args).command {
            Command::Http(h) => *h,
            _ => unreachable!(),
        }
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("github-review-mcp").chain(args.iter().copied()))
            .unwrap()
    }

    fn env_with_token(name: &str) -> Option<String> {
        (name == "GITHUB_TOKEN").then(|| "ghp_servertoken".to_owned())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn http(args: &[&str]) -> HttpArgs {
        match parse(args).command {
            Command::Http(h) => *h,
            _ => unreachable!(),
        }
    }

    #[test]
    fn call_slots_default_to_eight_per_core_and_idle_connections_follow_them() {
        let config_of = |args: &[&str]| {
            let cli = parse(args);
            let Command::Stdio(common) = &cli.command else {
                unreachable!()
            };
            common.validate(&|_: &str| None).unwrap()
        };
        let cores = std::thread::available_parallelism().unwrap().get();
        let config = config_of(&["stdio"]);
        assert_eq!(config.max_concurrent_calls, 8 * cores);
        assert_eq!(config.github_idle_connections, 8 * cores);
        let config = config_of(&["stdio", "--max-concurrent-calls", "5"]);
        assert_eq!(
            (config.max_concurrent_calls, config.github_idle_connections),
            (5, 5)
        );
        let config = config_of(&[
            "stdio",
            "--max-concurrent-calls",
            "5",
            "--github-idle-connections",
            "0",
        ]);
        assert_eq!(
            (config.max_concurrent_calls, config.github_idle_connections),
            (5, 0)
        );
        assert!(
            Cli::try_parse_from(["github-review-mcp", "stdio", "--max-concurrent-calls", "0"])
                .is_err()
        );
    }

    #[test]
    fn debug_of_the_arguments_and_config_shows_no_token_and_no_key() {
        let cli = parse(&["stdio", "--fingerprint-key", "KEYKEYKEYKEYKEYKEYKEY"]);
        let Command::Stdio(common) = &cli.command else {
            unreachable!()
        };
        let env =
            |name: &str| (name == "GITHUB_TOKEN").then(|| "ghp_serverSECRETSECRET".to_owned());
        let config = common.validate(&env).unwrap();
        assert!(config.tokens.has_fallback());
        let shown = format!("{cli:?} {config:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(!shown.contains("KEYKEY"), "{shown}");
    }

    #[test]
    fn shared_state_needs_a_fingerprint_key_and_its_password_is_never_shown() {
        let url = "redis://:redisSECRETpass@127.0.0.1:6379/0";
        let cli = parse(&["http", "--state", url]);
        let Command::Http(h) = &cli.command else {
            unreachable!()
        };
        let err = h.common.validate(&no_env).unwrap_err();
        assert!(err.contains("--fingerprint-key"), "{err}");
        assert!(!err.contains("SECRET"), "{err}");
        let cli = parse(&[
            "http",
            "--state",
            url,
            "--fingerprint-key",
            "KEYKEYKEYKEYKEYKEYKEY",
        ]);
        let Command::Http(h) = &cli.command else {
            unreachable!()
        };
        let config = h.common.validate(&no_env).unwrap();
        assert!(config.state.as_ref().is_some_and(|s| s.is_shared()));
        let shown = format!("{cli:?} {config:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        // The key from a file (a mounted secret) counts, and equals the same key given inline.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "KEYKEYKEYKEYKEYKEYKEY\n").unwrap();
        let cli = parse(&[
            "http",
            "--state",
            url,
            "--fingerprint-key-file",
            file.to_str().unwrap(),
        ]);
        let Command::Http(h) = &cli.command else {
            unreachable!()
        };
        let from_file = h.common.validate(&no_env).unwrap();
        let raw = "ghp_sameTokenOnEveryReplica000000000";
        assert_eq!(
            Token::parse(raw, from_file.tokens.fingerprint_key())
                .unwrap()
                .id(),
            Token::parse(raw, config.tokens.fingerprint_key())
                .unwrap()
                .id()
        );
        // A file or memory state is this machine's own: no key needed.
        for spec in ["memory", "file:/tmp/state.redb"] {
            let cli = parse(&["http", "--state", spec]);
            let Command::Http(h) = &cli.command else {
                unreachable!()
            };
            assert!(h.common.validate(&no_env).is_ok(), "{spec}");
        }
        let cli = parse(&["http", "--state", "postgres://x"]);
        let Command::Http(h) = &cli.command else {
            unreachable!()
        };
        assert!(h
            .common
            .validate(&no_env)
            .unwrap_err()
            .starts_with("--state"));
    }

    #[test]
    fn non_loopback_with_fallback_is_refused_unless_acknowledged() {
        let h = http(&["http", "--listen", "0.0.0.0:8000"]);
        let config = h.common.validate(&env_with_token).unwrap();
        let err = h.validate(&config).unwrap_err();
        assert!(
            err.contains("--require-client-token") && err.contains("--allow-shared-server-token"),
            "{err}"
        );

        let h = http(&["http", "--listen", "0.0.0.0:8000", "--require-client-token"]);
        assert!(h
            .validate(&h.common.validate(&env_with_token).unwrap())
            .is_ok());
        let h = http(&[
            "http",
            "--listen",
            "0.0.0.0:8000",
            "--allow-shared-server-token",
        ]);
        assert!(h
            .validate(&h.common.validate(&env_with_token).unwrap())
            .is_ok());
        let h = http(&["http", "--listen", "0.0.0.0:8000"]);
        assert!(h.validate(&h.common.validate(&no_env).unwrap()).is_ok());
    }

    #[test]
    fn max_header_bytes_defaults_to_8_kib_and_refuses_what_hyper_cannot_take() {
        let config = |args: &[&str]| {
            let h = http(args);
            h.validate(&h.common.validate(&no_env).unwrap())
        };
        assert_eq!(config(&["http"]).unwrap().max_header_bytes, 8192);
        assert_eq!(
            config(&["http", "--max-header-bytes", "65536"])
                .unwrap()
                .max_header_bytes,
            65536
        );
        for bad in ["8191", "0", "2000000"] {
            let err = config(&["http", "--max-header-bytes", bad]).unwrap_err();
            assert!(
                err.contains("--max-header-bytes must be between 8192 and 1048576"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn loopback_is_the_default_listen_address() {
        let h = http(&["http"]);
        assert!(h.listen.ip().is_loopback());
        let config = h.common.validate(&env_with_token).unwrap();
        let http = h.validate(&config).unwrap();
        assert_eq!(http.allowed_hosts, ["localhost", "127.0.0.1", "::1"]);
    }

    #[test]
    fn require_client_token_drops_the_server_token() {
        let h = http(&["http", "--require-client-token"]);
        assert!(!h
            .common
            .validate(&env_with_token)
            .unwrap()
            .tokens
            .has_fallback());
        let h = http(&["http"]);
        assert!(h
            .common
            .validate(&env_with_token)
            .unwrap()
            .tokens
            .has_fallback());
    }

    #[test]
    fn origins_default_to_loopback_and_need_a_scheme() {
        let h = http(&["http"]);
        let config = h.common.validate(&no_env).unwrap();
        assert!(h
            .validate(&config)
            .unwrap()
            .allowed_origins
            .contains(&"http://localhost:*".to_owned()));
        let h = http(&["http", "--allowed-origin", "app.example.com"]);
        let err = h
            .validate(&h.common.validate(&no_env).unwrap())
            .unwrap_err();
        assert!(err.contains("needs a scheme"), "{err}");
        let h = http(&["http", "--allowed-origin", "https://app.example.com:443"]);
        let http = h.validate(&h.common.validate(&no_env).unwrap()).unwrap();
        assert_eq!(http.allowed_origins, ["https://app.example.com:443"]);
    }

    #[test]
    fn bad_host_and_bad_token_are_one_line_errors() {
        let h = http(&["http", "--github-host", "http://ghes.example.com"]);
        let err = h.common.validate(&no_env).unwrap_err();
        assert!(err.contains("loopback") && !err.contains('\n'), "{err}");
        let h = http(&["http"]);
        let bad = |name: &str| (name == "GITHUB_TOKEN").then(|| "ghp_with space".to_owned());
        let err = h.common.validate(&bad).unwrap_err();
        assert!(
            err.starts_with("GITHUB_TOKEN is not a usable token") && !err.contains("with space"),
            "{err}"
        );
    }
}
