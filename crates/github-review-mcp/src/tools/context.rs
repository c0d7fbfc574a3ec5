//! The per-call context: request id and resolved token. Built from the MCP request
//! (`_meta`) and, over HTTP, the HTTP request the call came in.

use rmcp::service::RequestContext;
use rmcp::RoleServer;
use serde_json::Value;

use crate::auth::{AuthError, ResolvedToken, TokenPolicy};

/// What one tool call knows about its caller. Lives as long as the call.
#[derive(Debug)]
pub struct CallContext {
    pub request_id: String,
    pub token: ResolvedToken,
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
        policy: &TokenPolicy,
    ) -> Result<Self, (String, AuthError)> {
        let meta = &ctx.meta.0 .0;
        let headers = ctx
            .extensions
            .get::<http::request::Parts>()
            .map(|parts| &parts.headers);
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
        match policy.resolve(meta.get("token"), headers) {
            Ok(token) => Ok(Self { request_id, token }),
            Err(err) => Err((request_id, err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
