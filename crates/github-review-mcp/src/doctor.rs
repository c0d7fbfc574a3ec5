//! `github-review-mcp doctor`: follows a token from the client to GitHub, hop by hop,
//! the way one would by reading logs at each hop, and says what to fix. It talks to
//! a running server (URL) or starts one (stdio command) with a real MCP client, and
//! never prints the token: only its kind and the server's fingerprint of it.

use std::collections::HashMap;
use std::time::Duration;

use clap::{Args, ValueEnum};
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

use crate::auth::TokenKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Via {
    /// `params._meta.token` on the tools/call.
    Meta,
    /// The X-GitHub-Token header (or --header-name).
    Header,
    /// `Authorization: Bearer`.
    Bearer,
    /// No client token: the server's own GITHUB_TOKEN.
    Server,
}

impl Via {
    fn expected_source(self) -> &'static str {
        match self {
            Via::Meta => "meta",
            Via::Header => "header",
            Via::Bearer => "bearer",
            Via::Server => "server",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// The server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp.
    #[arg(long, conflicts_with = "stdio")]
    pub url: Option<String>,
    /// Instead of --url: a command that starts the server over stdio, e.g. "github-review-mcp stdio".
    #[arg(long)]
    pub stdio: Option<String>,
    /// Where the token should travel.
    #[arg(long, value_enum, default_value_t = Via::Header)]
    pub via: Via,
    /// Environment variable holding the token to send (read, never printed).
    #[arg(long, default_value = "GITHUB_TOKEN")]
    pub token_env: String,
    /// Header name used with --via header.
    #[arg(long, default_value = "X-GitHub-Token")]
    pub header_name: String,
    /// Seconds to wait for each step.
    #[arg(long, default_value_t = 20)]
    pub timeout: u64,
}

/// One hop's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub hop: &'static str,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    fn pass(hop: &'static str, detail: impl Into<String>) -> Self {
        Self {
            ok: true,
            hop,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(hop: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            ok: false,
            hop,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn render(&self) -> String {
        let mark = if self.ok { "ok  " } else { "FAIL" };
        let mut line = format!("[{mark}] {}: {}", self.hop, self.detail);
        if let Some(fix) = &self.fix {
            line.push_str(&format!("\n       fix: {fix}"));
        }
        line
    }
}

/// What scopes a classic/OAuth token needs, from `X-OAuth-Scopes`.
pub fn scope_checks(kind: TokenKind, scopes: Option<&str>) -> Vec<Check> {
    let Some(scopes) = scopes else {
        let detail = match kind {
            TokenKind::FineGrainedPat | TokenKind::Installation | TokenKind::UserToServer => {
                "this kind of token has permissions, not scopes; GitHub does not list them"
            }
            _ => "GitHub sent no X-OAuth-Scopes header",
        };
        use crate::tools::catalog::{permissions, Access};
        return vec![Check::pass(
            "scopes",
            format!(
                "{detail}: the read tools need {}; the write tools also {}",
                permissions(Access::Read).join(", "),
                permissions(Access::Write)
                    .into_iter()
                    .filter(|p| !permissions(Access::Read).contains(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )];
    };
    let list: Vec<&str> = scopes
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let has = |s: &str| list.contains(&s);
    let mut checks = Vec::new();
    if has("repo") {
        checks.push(Check::pass(
            "scopes for read tools",
            format!("`repo` ({scopes}): public and private repositories"),
        ));
        checks.push(Check::pass(
            "scopes for write tools",
            "`repo`: replies, reviews and thread resolution",
        ));
    } else if has("public_repo") {
        checks.push(Check::pass(
            "scopes for read tools",
            format!("public repositories only ({scopes})"),
        ));
        checks.push(Check::pass(
            "scopes for write tools",
            "`public_repo`: writes on public repositories only",
        ));
    } else {
        let shown = if scopes.is_empty() { "none" } else { scopes };
        checks.push(Check::fail(
            "scopes for read tools",
            format!("the token has scopes {shown}: public data only, no private repositories"),
            "create the token with the `repo` scope (or `public_repo` for public repositories only)",
        ));
        checks.push(Check::fail(
            "scopes for write tools",
            format!("scopes {shown} allow no replies, reviews or thread resolution"),
            "add the `repo` scope (or `public_repo`)",
        ));
    }
    checks
}

type Client = RunningService<RoleClient, ()>;

async fn connect(args: &DoctorArgs, token: Option<&str>) -> Result<Client, String> {
    if let Some(command) = &args.stdio {
        if matches!(args.via, Via::Header | Via::Bearer) {
            return Err(
                "over stdio there are no headers: use --via meta or --via server".to_owned(),
            );
        }
        let mut parts = command.split_whitespace();
        let program = parts.next().ok_or("--stdio is empty")?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(parts);
        if args.via == Via::Server {
            if let Some(token) = token {
                cmd.env("GITHUB_TOKEN", token);
            }
        }
        let (transport, _) = TokioChildProcess::builder(cmd)
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {program:?}: {e}"))?;
        return ()
            .serve(transport)
            .await
            .map_err(|e| format!("MCP handshake over stdio failed: {e}"));
    }
    let url = args.url.as_deref().ok_or("give --url or --stdio")?;
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    match (args.via, token) {
        (Via::Header, Some(token)) => {
            let name = http::HeaderName::from_bytes(args.header_name.as_bytes())
                .map_err(|_| "bad --header-name")?;
            let value = http::HeaderValue::from_str(token)
                .map_err(|_| "the token has characters no header can carry")?;
            config = config.custom_headers(HashMap::from([(name, value)]));
        }
        (Via::Bearer, Some(token)) => config = config.auth_header(token.to_owned()),
        _ => {}
    }
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .map_err(|e| format!("MCP handshake failed: {e}"))
}

async fn reachable(url: &str) -> Check {
    let health = url
        .trim_end_matches('/')
        .trim_end_matches("/mcp")
        .to_owned()
        + "/healthz";
    match reqwest::Client::new()
        .get(&health)
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => Check::pass(
            "server reachable",
            format!("{health} answered {}", r.status()),
        ),
        Ok(r) => Check::fail(
            "server reachable",
            format!("{health} answered {}", r.status()),
            "check the URL and that nothing in between (proxy, firewall) rewrites it",
        ),
        Err(e) => Check::fail(
            "server reachable",
            format!(
                "{health}: {}",
                if e.is_connect() {
                    "connection refused or unreachable"
                } else {
                    "no answer"
                }
            ),
            "start the server (`github-review-mcp http`) or fix the URL/port",
        ),
    }
}

/// Runs every hop and returns the verdicts in order.
pub async fn diagnose(args: &DoctorArgs) -> Vec<Check> {
    let mut checks = Vec::new();
    let step = Duration::from_secs(args.timeout);
    let token = std::env::var(&args.token_env)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    match (&token, args.via) {
        (None, Via::Server) => {}
        (None, via) => {
            checks.push(Check::fail(
                "token to send",
                format!(
                    "${} is empty or unset, so no token goes in the {}",
                    args.token_env,
                    via.expected_source()
                ),
                format!(
                    "export {}=<your GitHub token>, or pass --token-env",
                    args.token_env
                ),
            ));
            return checks;
        }
        (Some(t), _) => checks.push(Check::pass(
            "token to send",
            format!(
                "a {} token from ${}, sent via {}",
                TokenKind::of(t),
                args.token_env,
                args.via.expected_source()
            ),
        )),
    }
    if let Some(url) = &args.url {
        let check = reachable(url).await;
        let ok = check.ok;
        checks.push(check);
        if !ok {
            return checks;
        }
    }
    let client = match tokio::time::timeout(step, connect(args, token.as_deref())).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => {
            checks.push(Check::fail(
                "MCP handshake",
                e,
                "check that the URL is the /mcp endpoint and the Host is allowed (--allowed-host)",
            ));
            return checks;
        }
        Err(_) => {
            checks.push(Check::fail(
                "MCP handshake",
                "no answer in time",
                "check the server's logs",
            ));
            return checks;
        }
    };
    let server = client
        .peer_info()
        .and_then(|i| {
            i.server_info
                .as_ref()
                .map(|s| format!("{} {}", s.name, s.version))
        })
        .unwrap_or_else(|| "unknown server".to_owned());
    checks.push(Check::pass("MCP handshake", server));
    let mut params = CallToolRequestParams::new("whoami");
    params.arguments = Some(serde_json::Map::new());
    if let (Via::Meta, Some(token)) = (args.via, &token) {
        let mut meta = RequestMetaObject::new();
        meta.0 .0.insert("token".into(), json!(token));
        params.meta = Some(meta);
    }
    let result = match tokio::time::timeout(step, client.call_tool(params)).await {
        Err(_) => {
            checks.push(Check::fail(
                "token reaches the server",
                "whoami did not answer in time",
                "check the server's logs",
            ));
            return checks;
        }
        Ok(Err(e)) if e.is_authorization_required() => {
            checks.push(Check::fail(
                "token reaches the server",
                format!("the server answered 401: it saw no token ({})", e.auth_challenge().unwrap_or("no challenge")),
                match args.via {
                    Via::Header => format!("the {} header did not arrive: a proxy may strip it, or the client config misspells it", args.header_name),
                    Via::Bearer => "the Authorization header did not arrive: check the client's bearer token setting".to_owned(),
                    Via::Meta => "the client did not put `token` in params._meta".to_owned(),
                    Via::Server => "the server has no GITHUB_TOKEN, or runs with --require-client-token: send your own token".to_owned(),
                },
            ));
            return checks;
        }
        Ok(Err(e)) => {
            checks.push(Check::fail(
                "token reaches the server",
                format!("whoami failed: {e}"),
                "check the server's logs",
            ));
            return checks;
        }
        Ok(Ok(result)) => result,
    };
    if result.is_error == Some(true) {
        let text: String = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect();
        let fix = if text.contains("Bad credentials") {
            "the token is wrong, expired or revoked: create a new one"
        } else if text.contains("no GitHub token") {
            "send a token (see --via) or give the server a GITHUB_TOKEN"
        } else {
            "see the message; the server's log line with the same request id says more"
        };
        let hop = if text.contains("Bad credentials") {
            "token valid at GitHub"
        } else {
            "token reaches the server"
        };
        checks.push(Check::fail(hop, text, fix));
        return checks;
    }
    let who = result.structured_content.unwrap_or(Value::Null);
    let source = who["token_source"].as_str().unwrap_or("?");
    if source == args.via.expected_source() {
        checks.push(Check::pass(
            "token reaches the server",
            format!(
                "resolved from {source}, fingerprint {}",
                who["fingerprint"].as_str().unwrap_or("?")
            ),
        ));
    } else {
        checks.push(Check::fail(
            "token reaches the server",
            format!("the server used the token from {source}, not from {}", args.via.expected_source()),
            match (args.via, source) {
                (Via::Header | Via::Bearer, "server") => "your header did not arrive, so the server fell back to its own token: a proxy may strip it; the server can refuse fallback with --require-client-token".to_owned(),
                (_, "meta") => "the client also sends _meta.token, which wins".to_owned(),
                _ => "a more specific source won: _meta.token > X-GitHub-Token > Authorization: Bearer > server".to_owned(),
            },
        ));
    }
    checks.push(Check::pass(
        "token valid at GitHub",
        format!(
            "login {} on {}",
            who["login"].as_str().unwrap_or("?"),
            who["host"].as_str().unwrap_or("?")
        ),
    ));
    let kind = token
        .as_deref()
        .map(TokenKind::of)
        .unwrap_or(TokenKind::Unknown);
    checks.extend(scope_checks(kind, who["scopes"].as_str()));
    for (name, budget) in [
        ("core", &who["rate_limit_core"]),
        ("graphql", &who["rate_limit_graphql"]),
    ] {
        let (Some(remaining), Some(limit)) =
            (budget["remaining"].as_u64(), budget["limit"].as_u64())
        else {
            continue;
        };
        let detail = format!("{name}: {remaining} of {limit} left");
        if remaining * 10 < limit {
            checks.push(Check::fail(
                "rate limit left",
                detail,
                "wait for the reset, or use a token of your own",
            ));
        } else {
            checks.push(Check::pass("rate limit left", detail));
        }
    }
    let _ = client.cancel().await;
    checks
}

/// Prints the report; `true` when every hop passed.
pub async fn run(args: &DoctorArgs) -> bool {
    let checks = diagnose(args).await;
    for check in &checks {
        println!("{}", check.render());
    }
    let ok = checks.iter().all(|c| c.ok);
    println!(
        "{}",
        if ok {
            "all hops ok"
        } else {
            "a hop failed: see fix above"
        }
    );
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_scopes_are_named_with_their_fix() {
        let checks = scope_checks(TokenKind::ClassicPat, Some("read:org, gist"));
        assert!(checks.iter().all(|c| !c.ok));
        assert!(checks[0].fix.as_deref().unwrap().contains("`repo`"));
        assert!(scope_checks(TokenKind::ClassicPat, Some("repo"))
            .iter()
            .all(|c| c.ok));
        assert!(scope_checks(TokenKind::FineGrainedPat, None)
            .iter()
            .all(|c| c.ok));
    }
}
