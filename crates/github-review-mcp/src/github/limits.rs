//! Being a good citizen of GitHub's limits, per token: a bound on concurrent requests
//! (reads share a small pool, writes go one at a time, as GitHub asks), and what a
//! tenant's share of the server token is. Keyed by `TokenId` (a keyed hash), never by
//! the token. The gates are this replica's own; spent budgets, back-offs and shares,
//! which replicas must agree on, live in `state::Store`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use crate::auth::TokenId;

/// Entries kept before idle ones are dropped (each is a few dozen bytes).
const MAX_TRACKED_TOKENS: usize = 50_000;

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn describe_reset(reset: u64) -> String {
    let wait = reset.saturating_sub(now_unix());
    format!("in {}m{:02}s (at unix time {reset})", wait / 60, wait % 60)
}

/// Per-token concurrency: `reads` parallel reads at most, one write at a time.
#[derive(Debug)]
struct TokenGate {
    reads: Arc<Semaphore>,
    write: Arc<AsyncMutex<()>>,
    last_used: Mutex<Instant>,
}

#[derive(Debug)]
pub struct Gates {
    per_token: Mutex<HashMap<TokenId, Arc<TokenGate>>>,
    reads: usize,
}

/// Held while a request is in flight.
#[derive(Debug)]
pub enum Permit {
    Read(#[allow(dead_code)] OwnedSemaphorePermit),
    Write(#[allow(dead_code)] OwnedMutexGuard<()>),
}

impl Gates {
    pub fn new(reads_per_token: usize) -> Self {
        Self {
            per_token: Mutex::new(HashMap::new()),
            reads: reads_per_token.max(1),
        }
    }

    fn gate(&self, token: TokenId) -> Arc<TokenGate> {
        let mut map = self.per_token.lock().expect("gates lock");
        if map.len() >= MAX_TRACKED_TOKENS {
            // Drop gates nobody holds and nobody used for a minute.
            map.retain(|_, g| {
                Arc::strong_count(g) > 1
                    || g.last_used.lock().expect("gate").elapsed() < Duration::from_secs(60)
            });
        }
        let gate = map
            .entry(token)
            .or_insert_with(|| {
                Arc::new(TokenGate {
                    reads: Arc::new(Semaphore::new(self.reads)),
                    write: Arc::new(AsyncMutex::new(())),
                    last_used: Mutex::new(Instant::now()),
                })
            })
            .clone();
        *gate.last_used.lock().expect("gate") = Instant::now();
        gate
    }

    pub async fn acquire(&self, token: TokenId, write: bool) -> Permit {
        let gate = self.gate(token);
        if write {
            Permit::Write(gate.write.clone().lock_owned().await)
        } else {
            Permit::Read(
                gate.reads
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("semaphore never closed"),
            )
        }
    }
}

/// How long a tenant's share of the server token lasts before it starts again.
pub const SHARE_WINDOW: Duration = Duration::from_secs(3600);

/// A call on the server token: whose share it spends and how large that share is.
/// Counted in the state layer (`state::Store::before_request`), so it holds across
/// replicas when the state is shared.
#[derive(Debug, Clone)]
pub struct TenantShare {
    pub tenant: String,
    pub limit: u64,
}

impl TenantShare {
    pub fn request(&self) -> crate::state::ShareRequest<'_> {
        crate::state::ShareRequest {
            tenant: &self.tenant,
            limit: self.limit,
            window: SHARE_WINDOW,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{FingerprintKey, Token};

    fn id(raw: &str) -> TokenId {
        Token::parse(raw, &FingerprintKey::from_secret("0123456789abcdef"))
            .unwrap()
            .id()
    }

    #[tokio::test]
    async fn writes_of_one_token_go_one_at_a_time_reads_share_a_pool() {
        let gates = Gates::new(2);
        let t = id("ghp_x");
        let w1 = gates.acquire(t, true).await;
        let blocked = tokio::time::timeout(Duration::from_millis(50), gates.acquire(t, true)).await;
        assert!(blocked.is_err(), "a second write waits for the first");
        let _other =
            tokio::time::timeout(Duration::from_millis(50), gates.acquire(id("ghp_y"), true))
                .await
                .expect("another token's write does not wait");
        drop(w1);
        let r1 = gates.acquire(t, false).await;
        let r2 = gates.acquire(t, false).await;
        assert!(
            tokio::time::timeout(Duration::from_millis(50), gates.acquire(t, false))
                .await
                .is_err()
        );
        drop((r1, r2));
    }
}
