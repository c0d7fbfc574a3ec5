//! MCP sessions valid on every replica: rmcp's `SessionStore` over [`Store`]. A
//! 2025-11-25 client's `Mcp-Session-Id` opened through one replica is recognised by
//! the next one, which restores the session from its stored `initialize` parameters.
//! Records are keyed by a hash of the session id, never the id itself.

use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::streamable_http_server::session::store::{
    SessionState, SessionStore, SessionStoreError,
};

use super::{hashed_key, Space, Store};

/// How long a session's record lives after its last store (rmcp stores on
/// initialize); an idle client opens a new session after that.
const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub struct SharedSessions(pub Arc<dyn Store>);

/// Session ids come from clients: only plausible ones become keys.
fn plausible(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

#[async_trait::async_trait]
impl SessionStore for SharedSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        if !plausible(session_id) {
            return Ok(None);
        }
        match self.0.get(Space::Session, &hashed_key(session_id)).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let bytes = serde_json::to_vec(state)?;
        Ok(self
            .0
            .put(Space::Session, &hashed_key(session_id), &bytes, SESSION_TTL)
            .await?)
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        if !plausible(session_id) {
            return Ok(());
        }
        Ok(self
            .0
            .delete(Space::Session, &hashed_key(session_id))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::memory::MemoryStore;
    use rmcp::model::InitializeRequestParams;

    #[tokio::test]
    async fn a_session_is_restored_by_its_id_and_stored_under_a_hash_of_it() {
        let store = Arc::new(MemoryStore::default());
        let sessions = SharedSessions(store.clone());
        let id = "4f1c2a9e-session-id";
        let params: InitializeRequestParams = serde_json::from_value(serde_json::json!({
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}))
        .unwrap();
        sessions
            .store(id, &SessionState::new(params))
            .await
            .unwrap();
        let loaded = sessions.load(id).await.unwrap().expect("restored");
        assert_eq!(loaded.initialize_params.client_info.name, "t");
        assert_eq!(
            store.get(Space::Session, id).await.unwrap(),
            None,
            "not under the raw id"
        );
        assert!(store
            .get(Space::Session, &hashed_key(id))
            .await
            .unwrap()
            .is_some());
        assert!(sessions.load("other").await.unwrap().is_none());
        sessions.delete(id).await.unwrap();
        assert!(sessions.load(id).await.unwrap().is_none());
    }
}
