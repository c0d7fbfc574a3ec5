//! State in this process only: what `--state memory` uses, what the file backend
//! keeps in memory, and the bounded local view a Redis backend falls back to.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    hashed_key, now_ms, Health, Share, ShareRequest, Space, StateError, Store, TokenLimits,
};
use crate::auth::TokenId;

/// Entries kept per map before expired ones are dropped (each is a few dozen bytes).
const MAX_ENTRIES: usize = 50_000;

type RecordKey = (&'static str, String);

#[derive(Debug, Default)]
pub struct MemoryStore {
    /// (token, resource) → unix seconds the spent budget resets.
    spent: Mutex<HashMap<(TokenId, String), u64>>,
    /// token → unix ms the back-off ends.
    backoff: Mutex<HashMap<TokenId, u64>>,
    /// hashed tenant → (requests counted, window start in unix ms).
    shares: Mutex<HashMap<String, (u64, u64)>>,
    /// (space, key) → (value, expiry in unix ms).
    records: Mutex<HashMap<RecordKey, (Vec<u8>, u64)>>,
}

fn prune<K, V>(map: &mut HashMap<K, V>, live: impl Fn(&V) -> bool) {
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, v| live(v));
    }
}

impl MemoryStore {
    pub fn limits(&self, token: TokenId, resource: &str) -> TokenLimits {
        let now = now_ms();
        let spent = self
            .spent
            .lock()
            .expect("state lock")
            .get(&(token, resource.to_owned()))
            .copied()
            .filter(|reset| reset * 1000 > now);
        let backoff = self
            .backoff
            .lock()
            .expect("state lock")
            .get(&token)
            .copied()
            .filter(|until| *until > now);
        TokenLimits {
            spent_until: spent,
            backoff_until_ms: backoff,
        }
    }

    pub fn take_share(&self, share: &ShareRequest<'_>) -> Share {
        let now = now_ms();
        let window = share.window.as_millis() as u64;
        let mut shares = self.shares.lock().expect("state lock");
        prune(&mut shares, |(_, start)| now < start + window);
        let entry = shares.entry(hashed_key(share.tenant)).or_insert((0, now));
        if now >= entry.1 + window {
            *entry = (0, now);
        }
        if entry.0 >= share.limit {
            return Share::Refused {
                resets_in_secs: (entry.1 + window).saturating_sub(now).div_ceil(1000),
            };
        }
        entry.0 += 1;
        Share::Granted
    }

    pub fn give_back(&self, share: &ShareRequest<'_>) {
        if let Some(entry) = self
            .shares
            .lock()
            .expect("state lock")
            .get_mut(&hashed_key(share.tenant))
        {
            entry.0 = entry.0.saturating_sub(1);
        }
    }

    pub fn note_spent(&self, token: TokenId, resource: &str, reset: u64) {
        let now = now_ms();
        let mut spent = self.spent.lock().expect("state lock");
        prune(&mut spent, |reset| reset * 1000 > now);
        spent.insert((token, resource.to_owned()), reset);
    }

    pub fn note_backoff(&self, token: TokenId, until_ms: u64) {
        let now = now_ms();
        let mut backoff = self.backoff.lock().expect("state lock");
        prune(&mut backoff, |until| *until > now);
        let entry = backoff.entry(token).or_insert(until_ms);
        *entry = (*entry).max(until_ms);
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn before_request(
        &self,
        token: TokenId,
        resource: &str,
        share: Option<ShareRequest<'_>>,
    ) -> (TokenLimits, Option<Share>) {
        let limits = self.limits(token, resource);
        let share = share.map(|s| self.take_share(&s));
        (limits, share)
    }

    async fn record_spent(&self, token: TokenId, resource: &str, reset: u64) {
        self.note_spent(token, resource, reset);
    }

    async fn record_backoff(&self, token: TokenId, until_ms: u64) {
        self.note_backoff(token, until_ms);
    }

    async fn refund(&self, share: ShareRequest<'_>) {
        self.give_back(&share);
    }

    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        let now = now_ms();
        Ok(self
            .records
            .lock()
            .expect("state lock")
            .get(&(space.as_str(), key.to_owned()))
            .filter(|(_, expiry)| *expiry > now)
            .map(|(v, _)| v.clone()))
    }

    async fn put(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StateError> {
        let now = now_ms();
        let mut records = self.records.lock().expect("state lock");
        prune(&mut records, |(_, expiry)| *expiry > now);
        records.insert(
            (space.as_str(), key.to_owned()),
            (value.to_vec(), now + ttl.as_millis() as u64),
        );
        Ok(())
    }

    async fn delete(&self, space: Space, key: &str) -> Result<(), StateError> {
        self.records
            .lock()
            .expect("state lock")
            .remove(&(space.as_str(), key.to_owned()));
        Ok(())
    }

    async fn take(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        let now = now_ms();
        Ok(self
            .records
            .lock()
            .expect("state lock")
            .remove(&(space.as_str(), key.to_owned()))
            .filter(|(_, expiry)| *expiry > now)
            .map(|(v, _)| v))
    }

    async fn put_if_absent(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StateError> {
        let now = now_ms();
        let mut records = self.records.lock().expect("state lock");
        let slot = (space.as_str(), key.to_owned());
        if records.get(&slot).is_some_and(|(_, expiry)| *expiry > now) {
            return Ok(false);
        }
        prune(&mut records, |(_, expiry)| *expiry > now);
        records.insert(slot, (value.to_vec(), now + ttl.as_millis() as u64));
        Ok(true)
    }

    async fn replace(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StateError> {
        let now = now_ms();
        let mut records = self.records.lock().expect("state lock");
        match records.get_mut(&(space.as_str(), key.to_owned())) {
            Some((stored, expiry)) if *expiry > now => {
                *stored = value.to_vec();
                if let Some(ttl) = ttl {
                    *expiry = now + ttl.as_millis() as u64;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn health(&self) -> Health {
        Health {
            backend: "memory",
            degraded: None,
            round_trips: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{FingerprintKey, Token};

    pub(crate) fn id(raw: &str) -> TokenId {
        Token::parse(raw, &FingerprintKey::from_secret("0123456789abcdef"))
            .unwrap()
            .id()
    }

    fn share(tenant: &str, limit: u64) -> ShareRequest<'_> {
        ShareRequest {
            tenant,
            limit,
            window: Duration::from_secs(3600),
        }
    }

    #[tokio::test]
    async fn a_record_is_taken_once_and_an_expired_one_not_at_all() {
        let store = std::sync::Arc::new(MemoryStore::default());
        store
            .put(Space::OauthCode, "c", b"grant", Duration::from_secs(60))
            .await
            .unwrap();
        let takers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.take(Space::OauthCode, "c").await.unwrap() })
            })
            .collect();
        let mut won = 0;
        for taker in takers {
            if let Some(v) = taker.await.unwrap() {
                assert_eq!(v, b"grant");
                won += 1;
            }
        }
        assert_eq!(won, 1);
        store
            .put(Space::OauthCode, "old", b"x", Duration::from_millis(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(store.take(Space::OauthCode, "old").await.unwrap(), None);
        // Spaces are apart: a code's key is not a grant's.
        store
            .put(Space::OauthGrant, "k", b"g", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(store.take(Space::OauthCode, "k").await.unwrap(), None);
        assert!(store.get(Space::OauthGrant, "k").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_claim_is_won_once_and_a_replace_never_resurrects() {
        let store = std::sync::Arc::new(MemoryStore::default());
        let claims: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .put_if_absent(Space::OauthCodeUsed, "c", b"g", Duration::from_secs(60))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for claim in claims {
            won += usize::from(claim.await.unwrap());
        }
        assert_eq!(won, 1);
        assert!(!store
            .replace(Space::OauthGrant, "gone", b"x", None)
            .await
            .unwrap());
        assert_eq!(store.get(Space::OauthGrant, "gone").await.unwrap(), None);
        store
            .put(Space::OauthGrant, "g", b"old", Duration::from_secs(60))
            .await
            .unwrap();
        assert!(store
            .replace(Space::OauthGrant, "g", b"new", None)
            .await
            .unwrap());
        assert_eq!(
            store.get(Space::OauthGrant, "g").await.unwrap().as_deref(),
            Some(&b"new"[..])
        );
    }

    #[tokio::test]
    async fn a_spent_budget_and_a_backoff_are_seen_until_they_end_and_only_for_their_token() {
        let store = MemoryStore::default();
        let (alice, bob) = (id("ghp_alice"), id("ghp_bob"));
        let reset = now_ms() / 1000 + 600;
        store.record_spent(alice, "core", reset).await;
        store.record_backoff(alice, now_ms() + 60_000).await;
        let (limits, share) = store.before_request(alice, "core", None).await;
        assert_eq!(limits.spent_until, Some(reset));
        assert!(limits.backoff_until_ms.is_some());
        assert_eq!(share, None);
        let (other_resource, _) = store.before_request(alice, "graphql", None).await;
        assert_eq!(other_resource.spent_until, None);
        assert_eq!(
            store.before_request(bob, "core", None).await.0,
            TokenLimits::default()
        );
        store.record_spent(alice, "core", now_ms() / 1000 - 1).await;
        assert_eq!(
            store
                .before_request(alice, "core", None)
                .await
                .0
                .spent_until,
            None
        );
    }

    #[tokio::test]
    async fn a_share_grants_its_limit_then_refuses_and_a_refund_gives_one_back() {
        let store = MemoryStore::default();
        let t = id("ghs_server");
        for _ in 0..2 {
            assert_eq!(
                store.before_request(t, "core", Some(share("a", 2))).await.1,
                Some(Share::Granted)
            );
        }
        let (_, refused) = store.before_request(t, "core", Some(share("a", 2))).await;
        assert!(
            matches!(refused, Some(Share::Refused { resets_in_secs }) if resets_in_secs > 3500)
        );
        assert_eq!(
            store.before_request(t, "core", Some(share("b", 2))).await.1,
            Some(Share::Granted)
        );
        store.refund(share("a", 2)).await;
        assert_eq!(
            store.before_request(t, "core", Some(share("a", 2))).await.1,
            Some(Share::Granted)
        );
    }

    #[tokio::test]
    async fn records_expire() {
        let store = MemoryStore::default();
        store
            .put(Space::Session, "s1", b"v", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            store.get(Space::Session, "s1").await.unwrap().as_deref(),
            Some(&b"v"[..])
        );
        store
            .put(Space::Session, "s2", b"v", Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(store.get(Space::Session, "s2").await.unwrap(), None);
        store.delete(Space::Session, "s1").await.unwrap();
        assert_eq!(store.get(Space::Session, "s1").await.unwrap(), None);
    }
}
