//! Conditional-request cache for REST GETs: the last body and ETag of each URL, per
//! token. A repeated read sends `If-None-Match` and a 304 costs no rate-limit points.
//! Keyed by token fingerprint + URL + media type, so no entry of one token ever
//! answers another; bounded in bytes, least recently used first out.

use std::sync::Mutex;

use bytes::Bytes;
use http::HeaderMap;
use lru::LruCache;

use crate::auth::TokenId;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub token: TokenId,
    /// The full URL, host included.
    pub url: String,
    pub accept: &'static str,
}

#[derive(Debug, Clone)]
pub struct CachedResponse {
    pub etag: String,
    pub body: Bytes,
    /// The headers callers read from a response (`link`, `x-oauth-scopes`).
    pub headers: HeaderMap,
}

impl CachedResponse {
    fn size(&self, key: &CacheKey) -> usize {
        self.body.len() + self.etag.len() + key.url.len() + 128
    }
}

#[derive(Debug)]
pub struct EtagCache {
    inner: Mutex<(LruCache<CacheKey, CachedResponse>, usize)>,
    max_bytes: usize,
}

impl EtagCache {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new((LruCache::unbounded(), 0)),
            max_bytes,
        }
    }

    pub fn get(&self, key: &CacheKey) -> Option<CachedResponse> {
        self.inner.lock().expect("cache lock").0.get(key).cloned()
    }

    pub fn put(&self, key: CacheKey, value: CachedResponse) {
        let size = value.size(&key);
        if size > self.max_bytes / 4 {
            return; // one huge body would evict everything else
        }
        let mut guard = self.inner.lock().expect("cache lock");
        let (lru, bytes) = &mut *guard;
        if let Some(old) = lru.put(key.clone(), value) {
            *bytes -= old.size(&key);
        }
        *bytes += size;
        while *bytes > self.max_bytes {
            match lru.pop_lru() {
                Some((k, v)) => *bytes -= v.size(&k),
                None => break,
            }
        }
    }

    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.inner.lock().expect("cache lock").1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{FingerprintKey, Token};

    fn key(token: &str, url: &str) -> CacheKey {
        CacheKey {
            token: Token::parse(token, &FingerprintKey::from_secret("0123456789abcdef"))
                .unwrap()
                .id(),
            url: url.into(),
            accept: "application/vnd.github+json",
        }
    }

    fn body(n: usize) -> CachedResponse {
        CachedResponse {
            etag: "\"e\"".into(),
            body: Bytes::from(vec![b'x'; n]),
            headers: HeaderMap::new(),
        }
    }

    #[test]
    fn one_tokens_entry_never_answers_another() {
        let cache = EtagCache::new(1 << 20);
        cache.put(key("ghp_alice", "https://api.github.com/x"), body(10));
        assert!(cache
            .get(&key("ghp_alice", "https://api.github.com/x"))
            .is_some());
        assert!(cache
            .get(&key("ghp_bob", "https://api.github.com/x"))
            .is_none());
        assert!(cache
            .get(&key("ghp_alice", "https://api.github.com/y"))
            .is_none());
    }

    #[test]
    fn bounded_in_bytes_least_recently_used_out() {
        let cache = EtagCache::new(10_000);
        for i in 0..20 {
            cache.put(key("ghp_a", &format!("u{i}")), body(1000));
        }
        assert!(cache.bytes() <= 10_000);
        assert!(cache.get(&key("ghp_a", "u19")).is_some());
        assert!(cache.get(&key("ghp_a", "u0")).is_none());
        cache.put(key("ghp_a", "huge"), body(9000));
        assert!(
            cache.get(&key("ghp_a", "huge")).is_none(),
            "a body over a quarter of the cache is not kept"
        );
    }
}
