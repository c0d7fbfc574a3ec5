//! `--state redis://…`: state shared by every replica, in Redis, through redis-rs's
//! reconnecting `ConnectionManager`. The hot path is one round trip per GitHub
//! request: a Lua script reads the token's spent budget and back-off and takes one
//! request of the tenant's share (a fixed window on Redis's clock, so replicas'
//! clocks do not matter). GitHub's word is written only when it matters (a spent
//! budget, a back-off), and kept in memory too.
//!
//! Failure policy: every operation is bounded by `--state-timeout`. When Redis is slow
//! or down, budgets, back-offs and shares fall back to this replica's own view
//! (bounded, in memory) and `/healthz` and `/metrics` say the state is degraded;
//! records (sessions, sign-in) fail closed with an error. The manager reconnects by
//! itself; the first answer from Redis ends the degraded state.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};

use super::memory::MemoryStore;
use super::{
    hashed_key, now_ms, Health, Share, ShareRequest, Space, StateError, Store, TokenLimits,
};
use crate::auth::TokenId;

const PREFIX: &str = "grm";

/// A record's TTL as Redis's `PX` takes it: whole milliseconds, at least one.
fn ttl_ms(ttl: Duration) -> u64 {
    ttl.as_millis().max(1) as u64
}

/// KEYS: spent, backoff, share. ARGV: share limit, window seconds, "1" with a share.
/// Returns {spent reset or false, backoff-until ms or false, granted (1/0/-1), ttl}.
const BEFORE_REQUEST: &str = r"
local spent = redis.call('GET', KEYS[1])
local backoff = redis.call('GET', KEYS[2])
local granted = -1
local ttl = 0
if ARGV[3] == '1' then
  local n = redis.call('INCR', KEYS[3])
  if n == 1 or redis.call('TTL', KEYS[3]) < 0 then
    redis.call('EXPIRE', KEYS[3], ARGV[2])
  end
  if n > tonumber(ARGV[1]) then
    redis.call('DECR', KEYS[3])
    granted = 0
    ttl = redis.call('TTL', KEYS[3])
  else
    granted = 1
  end
end
return {spent, backoff, granted, ttl}
";

/// KEYS: share. Gives one request back, never below zero, never creating the key.
const REFUND: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
";

pub struct RedisStore {
    conn: ConnectionManager,
    timeout: Duration,
    /// The bounded local view used while Redis does not answer.
    local: MemoryStore,
    degraded: Mutex<Option<String>>,
    round_trips: std::sync::atomic::AtomicU64,
    before_request: redis::Script,
    refund: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// What went wrong, without anything of the URL (a password could be in it).
fn describe(e: &redis::RedisError) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connection_refusal() {
        "connection refused".into()
    } else if e.is_io_error() || e.is_connection_dropped() {
        "connection lost".into()
    } else {
        format!("{:?}", e.kind())
    }
}

impl RedisStore {
    /// Connects (bounded by `timeout`); a Redis that does not answer now is an error.
    pub async fn connect(url: &SecretString, timeout: Duration) -> Result<Self, StateError> {
        let unavailable = |reason: String| StateError::Unavailable {
            backend: "redis",
            reason,
        };
        let client = redis::Client::open(url.expose_secret())
            .map_err(|e| unavailable(format!("invalid URL ({})", describe(&e))))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let conn = tokio::time::timeout(
            timeout * 4,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| unavailable("did not answer in time".into()))?
        .map_err(|e| unavailable(describe(&e)))?;
        let store = Self {
            conn,
            timeout,
            local: MemoryStore::default(),
            degraded: Mutex::new(None),
            round_trips: Default::default(),
            before_request: redis::Script::new(BEFORE_REQUEST),
            refund: redis::Script::new(REFUND),
        };
        // Authentication and the database number are checked by a first command.
        store
            .run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map_err(unavailable)?;
        Ok(store)
    }

    /// Runs one Redis operation within the bound; records the outcome in `degraded`.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, String>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.round_trips
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let outcome = match tokio::time::timeout(self.timeout, op(self.conn.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(describe(&e)),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        };
        let mut degraded = self.degraded.lock().expect("state lock");
        match &outcome {
            Ok(_) => {
                if degraded.take().is_some() {
                    tracing::info!(
                        "shared state: Redis answers again; shares and budgets are shared again"
                    );
                }
            }
            Err(reason) => {
                if degraded.is_none() {
                    tracing::warn!(reason = %reason, "shared state: Redis does not answer; using this replica's own view of budgets and shares");
                }
                *degraded = Some(format!("redis: {reason}"));
            }
        }
        outcome
    }

    /// One record command, bounded like every other; a failure is `Unavailable`
    /// (records fail closed, they have no local fallback).
    async fn record<T: redis::FromRedisValue + Send + 'static>(
        &self,
        cmd: redis::Cmd,
    ) -> Result<T, StateError> {
        self.run(|mut c| async move { cmd.query_async::<T>(&mut c).await })
            .await
            .map_err(Self::unavailable)
    }

    fn key(kind: &str, id: &str) -> String {
        format!("{PREFIX}:{kind}:{id}")
    }

    fn token_key(kind: &str, token: TokenId, resource: Option<&str>) -> String {
        match resource {
            Some(r) => Self::key(kind, &format!("{}:{r}", token.hex())),
            None => Self::key(kind, &token.hex()),
        }
    }

    fn unavailable(reason: String) -> StateError {
        StateError::Unavailable {
            backend: "redis",
            reason,
        }
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn before_request(
        &self,
        token: TokenId,
        resource: &str,
        share: Option<ShareRequest<'_>>,
    ) -> (TokenLimits, Option<Share>) {
        // What this replica already knows is enough to refuse without a round trip.
        let local = self.local.limits(token, resource);
        if local.spent_until.is_some() {
            return (local, None);
        }
        let mut invocation = self.before_request.prepare_invoke();
        invocation
            .key(Self::token_key("spent", token, Some(resource)))
            .key(Self::token_key("backoff", token, None));
        match &share {
            Some(s) => invocation
                .key(Self::key("share", &hashed_key(s.tenant)))
                .arg(s.limit)
                .arg(s.window.as_secs().max(1))
                .arg("1"),
            None => invocation
                .key(Self::key("share", "-"))
                .arg(0)
                .arg(1)
                .arg("0"),
        };
        let answer = self
            .run(|mut c| async move {
                invocation
                    .invoke_async::<(Option<u64>, Option<u64>, i64, i64)>(&mut c)
                    .await
            })
            .await;
        match answer {
            Ok((spent, backoff, granted, ttl)) => {
                let now = now_ms();
                let limits = TokenLimits {
                    spent_until: spent.filter(|r| r * 1000 > now),
                    backoff_until_ms: backoff.filter(|b| *b > now),
                };
                let share = match granted {
                    1 => Some(Share::Granted),
                    0 => Some(Share::Refused {
                        resets_in_secs: ttl.max(0) as u64,
                    }),
                    _ => None,
                };
                (limits, share)
            }
            // The stated fallback: this replica's own view.
            Err(_) => (local, share.map(|s| self.local.take_share(&s))),
        }
    }

    async fn record_spent(&self, token: TokenId, resource: &str, reset: u64) {
        self.local.note_spent(token, resource, reset);
        if reset * 1000 <= now_ms() {
            return;
        }
        let key = Self::token_key("spent", token, Some(resource));
        let _ = self
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(reset)
                    .arg("EXAT")
                    .arg(reset)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
    }

    async fn record_backoff(&self, token: TokenId, until_ms: u64) {
        self.local.note_backoff(token, until_ms);
        if until_ms <= now_ms() {
            return;
        }
        let key = Self::token_key("backoff", token, None);
        let _ = self
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(until_ms)
                    .arg("PXAT")
                    .arg(until_ms)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
    }

    async fn refund(&self, share: ShareRequest<'_>) {
        let key = Self::key("share", &hashed_key(share.tenant));
        let mut invocation = self.refund.prepare_invoke();
        invocation.key(key);
        let answer = self
            .run(|mut c| async move { invocation.invoke_async::<i64>(&mut c).await })
            .await;
        if answer.is_err() {
            self.local.give_back(&share);
        }
    }

    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(Self::key(space.as_str(), key));
        self.record(cmd).await
    }

    async fn put(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StateError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(Self::key(space.as_str(), key))
            .arg(value)
            .arg("PX")
            .arg(ttl_ms(ttl));
        self.record(cmd).await
    }

    async fn delete(&self, space: Space, key: &str) -> Result<(), StateError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(Self::key(space.as_str(), key));
        self.record(cmd).await
    }

    async fn take(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        // GETDEL (Redis 6.2+) is atomic: of two replicas redeeming one code, one wins.
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(Self::key(space.as_str(), key));
        self.record(cmd).await
    }

    async fn put_if_absent(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StateError> {
        // SET NX: Redis decides which replica's claim wins.
        let mut cmd = redis::cmd("SET");
        cmd.arg(Self::key(space.as_str(), key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms(ttl));
        Ok(self.record::<Option<String>>(cmd).await?.is_some())
    }

    async fn replace(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StateError> {
        // SET XX (with KEEPTTL, Redis 6.0+): only an existing key.
        let mut cmd = redis::cmd("SET");
        cmd.arg(Self::key(space.as_str(), key)).arg(value).arg("XX");
        match ttl {
            Some(ttl) => cmd.arg("PX").arg(ttl_ms(ttl)),
            None => cmd.arg("KEEPTTL"),
        };
        Ok(self.record::<Option<String>>(cmd).await?.is_some())
    }

    fn health(&self) -> Health {
        Health {
            backend: "redis",
            degraded: self.degraded.lock().expect("state lock").clone(),
            round_trips: self.round_trips.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}
