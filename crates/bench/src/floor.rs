//! The floor baseline: a do-nothing MCP stdio server (`bench floor-server`) with one
//! tool named like the real one that returns a fixed text of a given size. What the
//! real server costs above it is its own work (GitHub requests, parsing, rendering).

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ErrorData, ServerHandler, ServiceExt};
use serde::Deserialize;

/// The same argument the real tool takes (ignored).
#[derive(Debug, Deserialize, rmcp::schemars::JsonSchema)]
pub struct FloorArgs {
    /// The pull request (ignored).
    #[allow(dead_code)]
    pub pr_url: String,
}

#[derive(Clone)]
pub struct FloorServer {
    text: Arc<str>,
    structured: Option<Arc<serde_json::Value>>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl FloorServer {
    /// Returns the fixed text.
    #[tool(
        name = "fetch_pr_review_comments",
        description = "Benchmark floor: returns a fixed text of the configured size."
    )]
    async fn fetch_pr_review_comments(
        &self,
        Parameters(_args): Parameters<FloorArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let mut result = CallToolResult::success(vec![ContentBlock::text(self.text.to_string())]);
        if let Some(value) = &self.structured {
            result.structured_content = Some(value.as_ref().clone());
        }
        Ok(result)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for FloorServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("bench-floor", env!("CARGO_PKG_VERSION")),
        )
    }
}

/// A text of exactly `bytes` bytes that looks vaguely like Markdown (ASCII only).
pub fn filler(bytes: usize) -> String {
    const LINE: &str = "- review comment text for the floor baseline, padded to size 0123456789\n";
    let mut text = LINE.repeat(bytes / LINE.len() + 1);
    text.truncate(bytes);
    text
}

/// A JSON object whose compact serialisation is exactly `bytes` bytes (at least 14).
pub fn filler_object(bytes: usize) -> serde_json::Value {
    serde_json::json!({ "filler": filler(bytes.saturating_sub(13).max(1)).replace('\n', " ") })
}

/// Serves MCP on stdin/stdout until the client closes stdin. With
/// `structured_bytes > 0` the answer also carries a structuredContent of that size.
pub async fn serve(text_bytes: usize, structured_bytes: usize) -> anyhow::Result<()> {
    let server = FloorServer {
        text: Arc::from(filler(text_bytes)),
        structured: (structured_bytes > 0).then(|| Arc::new(filler_object(structured_bytes))),
        tool_router: FloorServer::tool_router(),
    };
    let service = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("floor server handshake failed: {e}"))?;
    service.waiting().await?;
    Ok(())
}
