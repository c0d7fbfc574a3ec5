//! MCP logging: `notifications/message` about a request's own work (pages read,
//! how long, what was cut), sent only to the request or session that asked for it
//! (`logging/setLevel` on 2025-11-25, the request's `_meta` log level on
//! 2026-07-28), and never with a token or request data in it.
//!
//! rmcp marks logging deprecated (SEP-2577, a revision after 2026-07-28); both
//! revisions this server speaks still have it, and clients show it, so it is kept
//! here, in one place.
#![allow(deprecated)]

use std::sync::Mutex;

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use rmcp::service::RequestContext;
use rmcp::RoleServer;

/// The lowest level a request reports; the notifications' severity scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
}

impl Level {
    fn of(level: LoggingLevel) -> u8 {
        match level {
            LoggingLevel::Debug => 0,
            LoggingLevel::Info => 1,
            LoggingLevel::Notice => 2,
            LoggingLevel::Warning => 3,
            LoggingLevel::Error => 4,
            LoggingLevel::Critical => 5,
            LoggingLevel::Alert => 6,
            LoggingLevel::Emergency => 7,
        }
    }

    fn wire(self) -> LoggingLevel {
        match self {
            Level::Debug => LoggingLevel::Debug,
            Level::Info => LoggingLevel::Info,
            Level::Warning => LoggingLevel::Warning,
        }
    }
}

/// A session's `logging/setLevel`, shared by the session's handler clones.
#[derive(Debug, Default, Clone)]
pub struct SessionLevel(std::sync::Arc<Mutex<Option<LoggingLevel>>>);

impl SessionLevel {
    pub fn set(&self, level: LoggingLevel) {
        *self.0.lock().expect("level lock") = Some(level);
    }

    fn get(&self) -> Option<LoggingLevel> {
        *self.0.lock().expect("level lock")
    }
}

/// Says the server sends log messages (the `logging` capability).
pub fn advertise(capabilities: &mut rmcp::model::ServerCapabilities) {
    capabilities.logging = Some(Default::default());
}

/// Whether this request (or its session) asked for messages at `level`.
pub fn wants(session: &SessionLevel, ctx: &RequestContext<RoleServer>, level: Level) -> bool {
    let wanted = ctx.meta.log_level().or_else(|| session.get());
    wanted.is_some_and(|w| Level::of(level.wire()) >= Level::of(w))
}

/// Turns the GitHub events of one call into log messages: answers at debug, retries
/// and rate-limit waits at info. Ends when the call's sender is dropped.
pub fn forward_github_events(
    session: SessionLevel,
    ctx: RequestContext<RoleServer>,
) -> (
    tokio::sync::mpsc::UnboundedSender<crate::github::events::Event>,
    tokio::task::JoinHandle<()>,
) {
    use crate::github::events::Event;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let task = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let (level, data) = match event {
                Event::Answered { api, status, ms } => (
                    Level::Debug,
                    serde_json::json!({ "message": "GitHub answered", "api": api, "status": status, "ms": ms }),
                ),
                Event::Retry { attempt, why } => (
                    Level::Info,
                    serde_json::json!({ "message": "sending the request to GitHub again", "attempt": attempt, "after": why }),
                ),
                Event::Wait { ms } => (
                    Level::Info,
                    serde_json::json!({ "message": "waiting out GitHub's secondary rate limit", "ms": ms }),
                ),
            };
            send(&session, &ctx, level, data).await;
        }
    });
    (tx, task)
}

/// Sends `data` at `level` if this request (or its session) asked for that level.
pub async fn send(
    session: &SessionLevel,
    ctx: &RequestContext<RoleServer>,
    level: Level,
    data: serde_json::Value,
) {
    let wanted = ctx.meta.log_level().or_else(|| session.get());
    if wanted.is_some_and(|w| Level::of(level.wire()) >= Level::of(w)) {
        let mut param = LoggingMessageNotificationParam::new(level.wire(), data);
        param.logger = Some("github-review-mcp".into());
        let _ = ctx.peer.notify_logging_message(param).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_like_syslog() {
        assert!(Level::of(LoggingLevel::Debug) < Level::of(LoggingLevel::Info));
        assert!(Level::of(Level::Warning.wire()) < Level::of(LoggingLevel::Error));
        let s = SessionLevel::default();
        assert_eq!(s.get(), None);
        s.set(LoggingLevel::Notice);
        assert_eq!(s.get(), Some(LoggingLevel::Notice));
    }
}
