//! The per-call context: request id and resolved token. Built from the MCP request
//! (`_meta`) and, over HTTP, the HTTP request the call came in.

use rmcp::service::RequestContext;
use rmcp::RoleServer;
use serde_json::Value;

use super::Shared;
use crate::auth::{AuthError, ResolvedToken, SignedIn, TokenSource};
use crate::github::limits::TenantShare;
use crate::github::Credential;

/// What one tool call knows about its caller. Lives as long as the call.
#[derive(Debug)]
pub struct CallContext {
    pub request_id: String,
    /// The tool this call runs (set by `run`; empty for prompts and resources).
    pub tool: &'static str,
    pub token: ResolvedToken,
    /// The token plus, when it is the shared server token, the tenant's share.
    pub credential: Credential,
    /// Who shares of the server token are counted for: the operator's tenant
    /// header, else the MCP session, else `local`.
    pub tenant: String,
}

/// A request id fit for a log line: the client's if it is short and printable.
fn sanitize_request_id(value: &Value) -> Option<String> {
    let raw = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
    .then_some(raw)
}

impl CallContext {
    /// On failure returns the request id too, so the refusal can be logged with it.
    pub fn from_request(
        ctx: &RequestContext<RoleServer>,
        shared: &Shared,
    ) -> Result<Self, (String, AuthError)> {
        let policy = &shared.tokens;
        let meta = &ctx.meta.0 .0;
        let parts = ctx.extensions.get::<http::request::Parts>();
        let headers = parts.map(|parts| &parts.headers);
        let signed_in = parts.and_then(|parts| parts.extensions.get::<SignedIn>());
        let request_id = meta
            .get("requestId")
            .and_then(sanitize_request_id)
            .or_else(|| {
                headers
                    .and_then(|h| h.get("x-request-id"))
                    .and_then(|v| v.to_str().ok())
                    .and_then(|s| sanitize_request_id(&Value::String(s.to_owned())))
            })
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_owned());
        let token = policy
            .resolve(meta.get("token"), headers, signed_in)
            .map_err(|err| (request_id.clone(), err))?;
        let header_value = |name: &str| {
            headers
                .and_then(|h| h.get(name))
                .and_then(|v| v.to_str().ok())
                .and_then(|s| sanitize_request_id(&Value::String(s.to_owned())))
        };
        let tenant = shared
            .tenant_header
            .as_deref()
            .and_then(header_value)
            .map(|t| format!("header:{t}"))
            .or_else(|| header_value("mcp-session-id").map(|s| format!("session:{s}")))
            .unwrap_or_else(|| "local".to_owned());
        let share = match (shared.share_limit, token.source) {
            (Some(limit), TokenSource::Server) => Some(TenantShare {
                tenant: tenant.clone(),
                limit,
            }),
            _ => None,
        };
        let credential = Credential {
            token: token.token.clone(),
            share,
            grant: token.grant.clone(),
        };
        Ok(Self {
            request_id,
            tool: "",
            token,
            credential,
            tenant,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn debug_of_a_call_context_shows_no_part_of_its_token() {
        let key = crate::auth::FingerprintKey::random();
        let token = crate::auth::Token::parse("github_pat_callSECRETSECRET", &key).unwrap();
        let call = CallContext {
            request_id: "r1".into(),
            tool: "whoami",
            token: ResolvedToken {
                token: token.clone(),
                source: TokenSource::Meta,
                login: None,
                grant: None,
            },
            credential: Credential::new(token),
            tenant: "session:abc".into(),
        };
        let shown = format!("{call:?} {call:#?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            shown.contains("fine_grained") && shown.contains("r1"),
            "{shown}"
        );
    }

    #[test]
    fn request_ids_that_could_forge_log_lines_are_replaced() {
        assert_eq!(
            sanitize_request_id(&json!("abc-123")),
            Some("abc-123".into())
        );
        assert_eq!(sanitize_request_id(&json!(42)), Some("42".into()));
        assert_eq!(sanitize_request_id(&json!("a\nfake=line")), None);
        assert_eq!(sanitize_request_id(&json!("x".repeat(65))), None);
        assert_eq!(sanitize_request_id(&json!({"a": 1})), None);
    }
}
