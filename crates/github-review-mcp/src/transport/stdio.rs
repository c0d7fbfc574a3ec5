//! MCP over stdin/stdout for one local user. Logs never go to stdout.

use std::sync::Arc;

use rmcp::ServiceExt;

use crate::tools::{ReviewServer, Shared};

pub async fn serve(shared: Arc<Shared>) -> anyhow::Result<()> {
    let service = ReviewServer::new(shared)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("MCP handshake over stdio failed: {e}"))?;
    tokio::select! {
        result = service.waiting() => { result?; }
        _ = super::shutdown_signal() => tracing::info!("signal received; exiting"),
    }
    Ok(())
}
