//! Shared state of a running double and the per-request context handlers receive.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use sha2::{Digest, Sha256};

use crate::faults::DoubleConfig;
use crate::graphql::GhSchema;
use crate::ratelimit::{Quota, RateLimiter};
use crate::requestlog::RequestLog;
use crate::world::{UserIx, World};

/// Everything a running double shares between requests.
pub struct AppState {
    world: RwLock<Arc<World>>,
    pub config: Mutex<DoubleConfig>,
    pub limiter: RateLimiter,
    pub log: RequestLog,
    /// Counts API requests (not `/_double/*` nor the OAuth web pages) for
    /// deterministic fault decisions.
    pub fault_counter: AtomicU64,
    pub request_counter: AtomicU64,
    pub addr: SocketAddr,
    pub schema: GhSchema,
    pub cache: crate::cache::ResponseCache,
    /// Codes and tokens of the OAuth web flow (outside the world: issuing a token
    /// is not a data write).
    pub oauth: crate::oauth::OAuth,
    /// Signed log download URLs and the downloads made (`blobs`).
    pub blobs: crate::blobs::Blobs,
}

impl AppState {
    pub fn new(mut world: World, config: DoubleConfig, addr: SocketAddr) -> Arc<Self> {
        world.web = format!("http://{addr}");
        Arc::new(AppState {
            world: RwLock::new(Arc::new(world)),
            limiter: RateLimiter::new(config.rate_limit, config.graphql_rate_limit),
            config: Mutex::new(config),
            log: RequestLog::default(),
            fault_counter: AtomicU64::new(0),
            request_counter: AtomicU64::new(0),
            addr,
            schema: crate::graphql::schema(),
            cache: crate::cache::ResponseCache::default(),
            oauth: crate::oauth::OAuth::default(),
            blobs: crate::blobs::Blobs::default(),
        })
    }

    /// A consistent snapshot of the data.
    pub fn world(&self) -> Arc<World> {
        self.world.read().unwrap().clone()
    }

    /// Applies a write: clones the world, lets `f` change it, swaps it in and
    /// invalidates the response caches.
    pub fn update_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> (T, Arc<World>) {
        match self.try_update_world(|w| Ok::<T, std::convert::Infallible>(f(w))) {
            Ok(x) => x,
            Err(e) => match e {},
        }
    }

    /// Like `update_world`, but nothing changes when `f` fails.
    pub fn try_update_world<T, E>(
        &self,
        f: impl FnOnce(&mut World) -> Result<T, E>,
    ) -> Result<(T, Arc<World>), E> {
        let mut guard = self.world.write().unwrap();
        let mut w = (**guard).clone();
        let out = f(&mut w)?;
        w.generation = guard.generation + 1;
        let w = Arc::new(w);
        *guard = w.clone();
        self.cache.invalidate(w.generation);
        Ok((out, w))
    }
}

/// First 8 hex digits of the token's SHA-256: safe to log.
pub fn fingerprint(token: &str) -> String {
    hex::encode(&Sha256::digest(token.as_bytes())[..4])
}

/// Who is calling.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub user: Option<UserIx>,
    pub token: Option<String>,
}

/// Per-request facts, put in request extensions by the gate middleware.
#[derive(Clone)]
pub struct Ctx {
    pub world: Arc<World>,
    pub caller: Caller,
    /// REST API root as the caller addressed it, e.g. `http://127.0.0.1:4000/api/v3`.
    pub api_base: String,
    /// GraphQL quota after this request was charged.
    pub graphql_quota: Option<Quota>,
    pub app: Arc<AppState>,
    /// Writes this request made (recorded in the request log).
    pub writes: Arc<AtomicU32>,
    /// Set while executing GraphQL for the response cache: `rateLimit` fields
    /// then write sentinels and count them.
    pub holes: Option<Arc<crate::cache::HoleCounter>>,
}

impl Ctx {
    /// A write on behalf of this request (see `AppState::try_update_world`).
    pub fn write<T, E>(
        &self,
        f: impl FnOnce(&mut World) -> Result<T, E>,
    ) -> Result<(T, Arc<World>), E> {
        let out = self.app.try_update_world(f)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }
}
