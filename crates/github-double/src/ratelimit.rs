//! Primary rate limits, counted per token (or per anonymous caller) per resource,
//! in hourly windows like GitHub's.

use std::collections::HashMap;
use std::sync::Mutex;

/// The buckets GitHub reports; the double counts `core` and `graphql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Core,
    Graphql,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Core => "core",
            Resource::Graphql => "graphql",
        }
    }
}

/// One bucket's state as reported in headers and `/rate_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u64,
    pub used: u64,
    pub reset: u64,
}

impl Quota {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

/// Who is being counted: a token's user, or the anonymous caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bucket {
    Token(String),
    Anonymous,
}

/// Window length: one hour.
pub const WINDOW_SECS: u64 = 3600;
/// GitHub's limit for unauthenticated REST callers.
pub const ANONYMOUS_LIMIT: u64 = 60;

#[derive(Debug)]
pub struct RateLimiter {
    pub core_limit: Mutex<u64>,
    pub graphql_limit: Mutex<u64>,
    buckets: Mutex<HashMap<(Bucket, Resource), Quota>>,
}

impl RateLimiter {
    pub fn new(core_limit: u64, graphql_limit: u64) -> Self {
        RateLimiter {
            core_limit: Mutex::new(core_limit),
            graphql_limit: Mutex::new(graphql_limit),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn limit_for(&self, bucket: &Bucket, res: Resource) -> u64 {
        match (bucket, res) {
            (Bucket::Anonymous, _) => ANONYMOUS_LIMIT,
            (_, Resource::Core) => *self.core_limit.lock().unwrap(),
            (_, Resource::Graphql) => *self.graphql_limit.lock().unwrap(),
        }
    }

    fn with<T>(
        &self,
        bucket: &Bucket,
        res: Resource,
        now: u64,
        f: impl FnOnce(&mut Quota) -> T,
    ) -> T {
        let limit = self.limit_for(bucket, res);
        let mut map = self.buckets.lock().unwrap();
        let q = map.entry((bucket.clone(), res)).or_insert(Quota {
            limit,
            used: 0,
            reset: now + WINDOW_SECS,
        });
        q.limit = limit;
        if now >= q.reset {
            q.used = 0;
            q.reset = now + WINDOW_SECS;
        }
        f(q)
    }

    /// Current state without spending.
    pub fn peek(&self, bucket: &Bucket, res: Resource, now: u64) -> Quota {
        self.with(bucket, res, now, |q| *q)
    }

    /// Spends `cost` points if available; `Err` carries the exhausted state.
    pub fn spend(
        &self,
        bucket: &Bucket,
        res: Resource,
        cost: u64,
        now: u64,
    ) -> Result<Quota, Quota> {
        self.with(bucket, res, now, |q| {
            if q.remaining() < cost {
                Err(*q)
            } else {
                q.used += cost;
                Ok(*q)
            }
        })
    }

    /// Forgets every bucket (tests use this through `/_double/config`).
    pub fn reset_all(&self) {
        self.buckets.lock().unwrap().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_stops_at_the_limit() {
        let rl = RateLimiter::new(2, 5);
        let b = Bucket::Token("t".into());
        assert_eq!(rl.spend(&b, Resource::Core, 1, 100).unwrap().remaining(), 1);
        assert_eq!(rl.spend(&b, Resource::Core, 1, 100).unwrap().remaining(), 0);
        assert!(rl.spend(&b, Resource::Core, 1, 100).is_err());
        // graphql is a separate bucket
        assert_eq!(
            rl.spend(&b, Resource::Graphql, 1, 100).unwrap().remaining(),
            4
        );
    }

    #[test]
    fn window_resets_after_an_hour() {
        let rl = RateLimiter::new(1, 1);
        let b = Bucket::Token("t".into());
        rl.spend(&b, Resource::Core, 1, 100).unwrap();
        assert!(rl.spend(&b, Resource::Core, 1, 101).is_err());
        assert!(rl.spend(&b, Resource::Core, 1, 100 + WINDOW_SECS).is_ok());
    }

    #[test]
    fn anonymous_callers_get_sixty() {
        let rl = RateLimiter::new(5000, 5000);
        assert_eq!(rl.peek(&Bucket::Anonymous, Resource::Core, 0).limit, 60);
    }
}
