//! `--state file:PATH`: one machine, state that survives a restart. Budgets, back-offs
//! and shares stay in memory (they are GitHub's to repeat and an hour's window);
//! records (sessions, sign-in state) go to a redb file: an embedded, ACID, pure-Rust
//! key-value store with a stable file format, so the binary needs nothing else.
//! A file that cannot be opened is an error at start, never a silent reset.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::memory::MemoryStore;
use super::{now_ms, Health, Share, ShareRequest, Space, StateError, Store, TokenLimits};
use crate::auth::TokenId;

/// `space/key` → expiry (unix ms, 8 bytes big-endian) followed by the value.
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");

#[derive(Debug)]
pub struct FileStore {
    memory: MemoryStore,
    db: Arc<Database>,
    path: PathBuf,
}

impl FileStore {
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let fail = |reason: String| StateError::File {
            path: path.display().to_string(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create its directory: {e}")))?;
        }
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => fail(
                "is in use by another process (another github-review-mcp?): give each server \
                 its own --state file:PATH, or --state memory"
                    .into(),
            ),
            e => fail(format!(
                "cannot be opened as a state file ({e}); the server does not start on an empty state: \
                 fix or move the file away"
            )),
        })?;
        // A file that opens but whose table cannot be read is as bad: check now.
        let txn = db
            .begin_write()
            .map_err(|e| fail(format!("cannot be written: {e}")))?;
        txn.open_table(RECORDS)
            .map_err(|e| fail(format!("has no readable records table: {e}")))?;
        txn.commit()
            .map_err(|e| fail(format!("cannot be written: {e}")))?;
        Ok(Self {
            memory: MemoryStore::default(),
            db: Arc::new(db),
            path: path.to_owned(),
        })
    }

    fn error(&self, e: impl std::fmt::Display) -> StateError {
        StateError::File {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, String> + Send + 'static,
    ) -> Result<T, StateError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| self.error(e))?
            .map_err(|e| self.error(e))
    }
}

fn record_key(space: Space, key: &str) -> String {
    format!("{}/{key}", space.as_str())
}

#[async_trait]
impl Store for FileStore {
    async fn before_request(
        &self,
        token: TokenId,
        resource: &str,
        share: Option<ShareRequest<'_>>,
    ) -> (TokenLimits, Option<Share>) {
        self.memory.before_request(token, resource, share).await
    }

    async fn record_spent(&self, token: TokenId, resource: &str, reset: u64) {
        self.memory.record_spent(token, resource, reset).await
    }

    async fn record_backoff(&self, token: TokenId, until_ms: u64) {
        self.memory.record_backoff(token, until_ms).await
    }

    async fn refund(&self, share: ShareRequest<'_>) {
        self.memory.refund(share).await
    }

    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        if !space.durable() {
            return self.memory.get(space, key).await;
        }
        let key = record_key(space, key);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(|e| e.to_string())?;
            let table = txn.open_table(RECORDS).map_err(|e| e.to_string())?;
            let Some(value) = table.get(key.as_str()).map_err(|e| e.to_string())? else {
                return Ok(None);
            };
            let bytes = value.value();
            if bytes.len() < 8 {
                return Err(format!("record {key} is damaged"));
            }
            let expiry = u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
            Ok((expiry > now_ms()).then(|| bytes[8..].to_vec()))
        })
        .await
    }

    async fn put(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StateError> {
        if !space.durable() {
            return self.memory.put(space, key, value, ttl).await;
        }
        let key = record_key(space, key);
        let mut stored = (now_ms() + ttl.as_millis() as u64).to_be_bytes().to_vec();
        stored.extend_from_slice(value);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            {
                let mut table = txn.open_table(RECORDS).map_err(|e| e.to_string())?;
                table
                    .insert(key.as_str(), stored.as_slice())
                    .map_err(|e| e.to_string())?;
                // Drop expired records as we go; a few at a time keeps writes short.
                let now = now_ms();
                let expired: Vec<String> = table
                    .iter()
                    .map_err(|e| e.to_string())?
                    .filter_map(Result::ok)
                    .filter(|(_, v)| {
                        let b = v.value();
                        b.len() < 8
                            || u64::from_be_bytes(b[..8].try_into().expect("8 bytes")) <= now
                    })
                    .take(16)
                    .map(|(k, _)| k.value().to_owned())
                    .collect();
                for k in expired {
                    table.remove(k.as_str()).map_err(|e| e.to_string())?;
                }
            }
            txn.commit().map_err(|e| e.to_string())
        })
        .await
    }

    async fn delete(&self, space: Space, key: &str) -> Result<(), StateError> {
        if !space.durable() {
            return self.memory.delete(space, key).await;
        }
        let key = record_key(space, key);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            txn.open_table(RECORDS)
                .map_err(|e| e.to_string())?
                .remove(key.as_str())
                .map_err(|e| e.to_string())?;
            txn.commit().map_err(|e| e.to_string())
        })
        .await
    }

    async fn take(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        if !space.durable() {
            return self.memory.take(space, key).await;
        }
        let key = record_key(space, key);
        self.blocking(move |db| {
            // One write transaction: redb serialises writers, so two takes of one key
            // cannot both see it.
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            let taken = {
                let mut table = txn.open_table(RECORDS).map_err(|e| e.to_string())?;
                let removed = table.remove(key.as_str()).map_err(|e| e.to_string())?;
                removed.map(|v| v.value().to_vec())
            };
            txn.commit().map_err(|e| e.to_string())?;
            let Some(bytes) = taken else {
                return Ok(None);
            };
            if bytes.len() < 8 {
                return Err(format!("record {key} is damaged"));
            }
            let expiry = u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
            Ok((expiry > now_ms()).then(|| bytes[8..].to_vec()))
        })
        .await
    }

    async fn put_if_absent(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StateError> {
        if !space.durable() {
            return self.memory.put_if_absent(space, key, value, ttl).await;
        }
        let key = record_key(space, key);
        let mut stored = (now_ms() + ttl.as_millis() as u64).to_be_bytes().to_vec();
        stored.extend_from_slice(value);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            let inserted = {
                let mut table = txn.open_table(RECORDS).map_err(|e| e.to_string())?;
                let live = table
                    .get(key.as_str())
                    .map_err(|e| e.to_string())?
                    .is_some_and(|v| {
                        let b = v.value();
                        b.len() >= 8
                            && u64::from_be_bytes(b[..8].try_into().expect("8 bytes")) > now_ms()
                    });
                if !live {
                    table
                        .insert(key.as_str(), stored.as_slice())
                        .map_err(|e| e.to_string())?;
                }
                !live
            };
            txn.commit().map_err(|e| e.to_string())?;
            Ok(inserted)
        })
        .await
    }

    async fn replace(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StateError> {
        if !space.durable() {
            return self.memory.replace(space, key, value, ttl).await;
        }
        let key = record_key(space, key);
        let new_expiry = ttl.map(|ttl| now_ms() + ttl.as_millis() as u64);
        let value = value.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            let replaced = {
                let mut table = txn.open_table(RECORDS).map_err(|e| e.to_string())?;
                let expiry = table
                    .get(key.as_str())
                    .map_err(|e| e.to_string())?
                    .and_then(|v| {
                        let b = v.value();
                        (b.len() >= 8)
                            .then(|| u64::from_be_bytes(b[..8].try_into().expect("8 bytes")))
                    });
                match expiry.filter(|e| *e > now_ms()) {
                    Some(expiry) => {
                        let mut stored = new_expiry.unwrap_or(expiry).to_be_bytes().to_vec();
                        stored.extend_from_slice(&value);
                        table
                            .insert(key.as_str(), stored.as_slice())
                            .map_err(|e| e.to_string())?;
                        true
                    }
                    None => false,
                }
            };
            txn.commit().map_err(|e| e.to_string())?;
            Ok(replaced)
        })
        .await
    }

    fn health(&self) -> Health {
        Health {
            backend: "file",
            degraded: None,
            round_trips: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn review_snapshots_stay_in_memory_and_never_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let store = FileStore::open(&path).unwrap();
            let ttl = Duration::from_secs(600);
            store
                .put(Space::ReviewSnapshot, "k", b"SNAPSHOT-BYTES", ttl)
                .await
                .unwrap();
            assert_eq!(
                store
                    .get(Space::ReviewSnapshot, "k")
                    .await
                    .unwrap()
                    .as_deref(),
                Some(&b"SNAPSHOT-BYTES"[..])
            );
        }
        let on_disk = std::fs::read(&path).unwrap();
        assert!(!on_disk.windows(14).any(|w| w == b"SNAPSHOT-BYTES"));
        let store = FileStore::open(&path).unwrap();
        assert_eq!(store.get(Space::ReviewSnapshot, "k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn records_survive_a_restart_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state.redb");
        {
            let store = FileStore::open(&path).unwrap();
            store
                .put(Space::Session, "s1", b"kept", Duration::from_secs(600))
                .await
                .unwrap();
            store
                .put(Space::Session, "s2", b"short", Duration::ZERO)
                .await
                .unwrap();
            store
                .put(Space::Session, "s3", b"gone", Duration::from_secs(600))
                .await
                .unwrap();
            store.delete(Space::Session, "s3").await.unwrap();
        }
        let store = FileStore::open(&path).unwrap();
        assert_eq!(
            store.get(Space::Session, "s1").await.unwrap().as_deref(),
            Some(&b"kept"[..])
        );
        assert_eq!(store.get(Space::Session, "s2").await.unwrap(), None);
        assert_eq!(store.get(Space::Session, "s3").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_taken_record_is_gone_for_good_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let store = std::sync::Arc::new(FileStore::open(&path).unwrap());
            store
                .put(Space::OauthRefresh, "r", b"grant", Duration::from_secs(600))
                .await
                .unwrap();
            let (a, b) = tokio::join!(
                store.take(Space::OauthRefresh, "r"),
                store.take(Space::OauthRefresh, "r")
            );
            let won = [a.unwrap(), b.unwrap()];
            assert_eq!(won.iter().filter(|v| v.is_some()).count(), 1, "{won:?}");
        }
        let store = FileStore::open(&path).unwrap();
        assert_eq!(store.take(Space::OauthRefresh, "r").await.unwrap(), None);
        let ttl = Duration::from_secs(60);
        assert!(store
            .put_if_absent(Space::OauthCodeUsed, "c", b"g", ttl)
            .await
            .unwrap());
        assert!(!store
            .put_if_absent(Space::OauthCodeUsed, "c", b"h", ttl)
            .await
            .unwrap());
        assert!(!store
            .replace(Space::OauthGrant, "gone", b"x", None)
            .await
            .unwrap());
        store
            .put(Space::OauthGrant, "g", b"old", ttl)
            .await
            .unwrap();
        assert!(store
            .replace(Space::OauthGrant, "g", b"new", Some(ttl))
            .await
            .unwrap());
        assert_eq!(
            store.get(Space::OauthGrant, "g").await.unwrap().as_deref(),
            Some(&b"new"[..])
        );
    }

    #[test]
    fn a_corrupt_or_unreadable_file_is_a_clear_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = FileStore::open(&path).unwrap_err().to_string();
        assert!(
            err.contains("state.redb") && err.contains("does not start"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            vec![0x5a; 8192],
            "the file is left as it was"
        );

        let shared = dir.path().join("shared.redb");
        let _first = FileStore::open(&shared).unwrap();
        let err = FileStore::open(&shared).unwrap_err().to_string();
        assert!(err.contains("in use by another process"), "{err}");

        let not_a_file = dir.path().join("dir.redb");
        std::fs::create_dir(&not_a_file).unwrap();
        let err = FileStore::open(&not_a_file).unwrap_err().to_string();
        assert!(err.contains("dir.redb"), "{err}");
    }
}
