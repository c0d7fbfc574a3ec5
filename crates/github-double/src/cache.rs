//! Response caches for hot read paths, keyed by the world's `generation` so any
//! write invalidates them (see `state::AppState::try_update_world`).
//!
//! - GraphQL: key = (caller, exact request body); the value is the serialised
//!   response with "holes" where `rateLimit` values go, filled per request.
//! - REST: key = (caller, API base, path and query) of a 200 `GET`; the value is
//!   the body, its ETag and the content headers.
//!
//! Only execution is skipped on a hit: the gate still applies latency, faults,
//! authentication, rate limits, ETags and the log to every request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use crate::ratelimit::Quota;
use crate::time::rfc3339;
use crate::world::UserIx;

/// Above this many entries a cache is emptied (benchmarks reuse few keys).
const MAX_ENTRIES: usize = 4096;

/// A `rateLimit` value that differs per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hole {
    Limit,
    Remaining,
    Used,
    ResetAt,
}

impl Hole {
    pub const ALL: [Hole; 4] = [Hole::Limit, Hole::Remaining, Hole::Used, Hole::ResetAt];

    /// What the resolver writes in template mode, as it appears in the JSON body.
    pub fn sentinel(self) -> &'static str {
        match self {
            Hole::Limit => "2147480011",
            Hole::Remaining => "2147480012",
            Hole::Used => "2147480013",
            Hole::ResetAt => "\\u0001rate-limit-reset\\u0001",
        }
    }

    /// The string value the `resetAt` resolver returns in template mode.
    pub const RESET_AT_VALUE: &'static str = "\u{1}rate-limit-reset\u{1}";

    pub fn sentinel_int(self) -> i32 {
        self.sentinel().parse().unwrap_or(0)
    }

    fn index(self) -> usize {
        self as usize
    }

    fn render(self, q: &Quota, out: &mut Vec<u8>) {
        let s = match self {
            Hole::Limit => q.limit.to_string(),
            Hole::Remaining => q.remaining().to_string(),
            Hole::Used => q.used.to_string(),
            Hole::ResetAt => rfc3339(q.reset),
        };
        out.extend_from_slice(s.as_bytes());
    }
}

/// Counts the `rateLimit` values a template-mode execution wrote.
#[derive(Debug, Default)]
pub struct HoleCounter([AtomicUsize; 4]);

impl HoleCounter {
    pub fn hit(&self, h: Hole) {
        self.0[h.index()].fetch_add(1, Ordering::Relaxed);
    }
    fn get(&self, h: Hole) -> usize {
        self.0[h.index()].load(Ordering::Relaxed)
    }
    fn total(&self) -> usize {
        Hole::ALL.iter().map(|&h| self.get(h)).sum()
    }
}

/// A serialised GraphQL response with holes for per-request `rateLimit` values.
#[derive(Debug, Clone)]
pub struct Template {
    body: Bytes,
    /// (byte offset, sentinel length, hole), ordered by offset.
    holes: Vec<(usize, usize, Hole)>,
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = vec![];
    let Some(&first) = needle.first() else {
        return out;
    };
    let mut i = 0;
    while let Some(p) = hay[i..].iter().position(|&b| b == first) {
        let at = i + p;
        if hay[at..].starts_with(needle) {
            out.push(at);
            i = at + needle.len();
        } else {
            i = at + 1;
        }
        if i >= hay.len() {
            break;
        }
    }
    out
}

impl Template {
    /// Builds a template from a template-mode body, or `None` when the sentinels
    /// found do not match what the resolvers wrote (user data containing one).
    pub fn new(body: Vec<u8>, counter: &HoleCounter) -> Option<Template> {
        let mut holes = vec![];
        if counter.total() > 0 {
            for h in Hole::ALL {
                let found = find_all(&body, h.sentinel().as_bytes());
                if found.len() != counter.get(h) {
                    return None;
                }
                holes.extend(found.into_iter().map(|at| (at, h.sentinel().len(), h)));
            }
            holes.sort_unstable_by_key(|&(at, _, _)| at);
        }
        Some(Template {
            body: Bytes::from(body),
            holes,
        })
    }

    /// Treats every sentinel found as a hole.
    pub fn forced(body: Vec<u8>) -> Template {
        let mut holes: Vec<(usize, usize, Hole)> = Hole::ALL
            .iter()
            .flat_map(|&h| {
                find_all(&body, h.sentinel().as_bytes())
                    .into_iter()
                    .map(move |at| (at, h.sentinel().len(), h))
            })
            .collect();
        holes.sort_unstable_by_key(|&(at, _, _)| at);
        Template {
            body: Bytes::from(body),
            holes,
        }
    }

    /// The body with `quota`'s values in the holes.
    pub fn render(&self, quota: &Quota) -> Bytes {
        if self.holes.is_empty() {
            return self.body.clone();
        }
        let mut out = Vec::with_capacity(self.body.len() + 16);
        let mut pos = 0;
        for &(at, len, h) in &self.holes {
            out.extend_from_slice(&self.body[pos..at]);
            h.render(quota, &mut out);
            pos = at + len;
        }
        out.extend_from_slice(&self.body[pos..]);
        Bytes::from(out)
    }
}

/// A cached 200 answer to a REST `GET`.
#[derive(Debug, Clone)]
pub struct CachedRest {
    pub body: Bytes,
    pub etag: String,
    pub headers: Vec<(axum::http::HeaderName, axum::http::HeaderValue)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RestKey {
    pub user: Option<UserIx>,
    pub base: String,
    pub uri: String,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    graphql: HashMap<(Option<UserIx>, Bytes), Arc<Template>>,
    rest: HashMap<RestKey, Arc<CachedRest>>,
}

impl Inner {
    /// Aligns the cache with `generation`; false when the caller's snapshot is stale.
    fn at(&mut self, generation: u64) -> bool {
        if generation > self.generation {
            self.graphql.clear();
            self.rest.clear();
            self.generation = generation;
        }
        generation == self.generation
    }
}

/// Both caches.
#[derive(Default)]
pub struct ResponseCache {
    inner: Mutex<Inner>,
}

impl ResponseCache {
    /// Drops everything (writes, `/_double/config` changes).
    pub fn invalidate(&self, generation: u64) {
        let mut g = self.inner.lock().unwrap();
        g.graphql.clear();
        g.rest.clear();
        g.generation = g.generation.max(generation);
    }

    pub fn graphql_get(
        &self,
        generation: u64,
        user: Option<UserIx>,
        body: &Bytes,
    ) -> Option<Arc<Template>> {
        let mut g = self.inner.lock().unwrap();
        if !g.at(generation) {
            return None;
        }
        g.graphql.get(&(user, body.clone())).cloned()
    }

    pub fn graphql_put(
        &self,
        generation: u64,
        user: Option<UserIx>,
        body: Bytes,
        t: Arc<Template>,
    ) {
        let mut g = self.inner.lock().unwrap();
        if !g.at(generation) {
            return;
        }
        if g.graphql.len() >= MAX_ENTRIES {
            g.graphql.clear();
        }
        g.graphql.insert((user, body), t);
    }

    pub fn rest_get(&self, generation: u64, key: &RestKey) -> Option<Arc<CachedRest>> {
        let mut g = self.inner.lock().unwrap();
        if !g.at(generation) {
            return None;
        }
        g.rest.get(key).cloned()
    }

    pub fn rest_put(&self, generation: u64, key: RestKey, v: Arc<CachedRest>) {
        let mut g = self.inner.lock().unwrap();
        if !g.at(generation) {
            return;
        }
        if g.rest.len() >= MAX_ENTRIES {
            g.rest.clear();
        }
        g.rest.insert(key, v);
    }

    /// (GraphQL entries, REST entries), for tests.
    pub fn len(&self) -> (usize, usize) {
        let g = self.inner.lock().unwrap();
        (g.graphql.len(), g.rest.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_filled_per_request() {
        let c = HoleCounter::default();
        c.hit(Hole::Remaining);
        c.hit(Hole::ResetAt);
        let body = format!(
            "{{\"remaining\":{},\"resetAt\":\"{}\",\"x\":1}}",
            Hole::Remaining.sentinel(),
            Hole::ResetAt.sentinel()
        );
        let t = Template::new(body.into_bytes(), &c).unwrap();
        let q = Quota {
            limit: 5000,
            used: 3,
            reset: 0,
        };
        assert_eq!(
            &t.render(&q)[..],
            b"{\"remaining\":4997,\"resetAt\":\"1970-01-01T00:00:00Z\",\"x\":1}"
        );
    }

    #[test]
    fn a_sentinel_in_user_data_disables_the_template() {
        let c = HoleCounter::default();
        c.hit(Hole::Limit);
        let body = format!("[{0},\"{0}\"]", Hole::Limit.sentinel());
        assert!(Template::new(body.into_bytes(), &c).is_none());
    }

    #[test]
    fn stale_generations_neither_read_nor_write() {
        let cache = ResponseCache::default();
        let t = Arc::new(Template::new(b"{}".to_vec(), &HoleCounter::default()).unwrap());
        cache.graphql_put(1, None, Bytes::from_static(b"q"), t.clone());
        assert!(cache
            .graphql_get(1, None, &Bytes::from_static(b"q"))
            .is_some());
        assert!(cache
            .graphql_get(2, None, &Bytes::from_static(b"q"))
            .is_none());
        cache.graphql_put(1, None, Bytes::from_static(b"q"), t);
        assert!(cache.is_empty());
    }
}
