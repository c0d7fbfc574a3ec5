//! Cross-request state: everything replicas of one deployment must agree on goes
//! through one interface, [`Store`], chosen at start-up (`--state`) and passed in.
//!
//! - GitHub's word on a token: a budget it reported spent (until its reset) and a
//!   secondary-limit back-off window; so one replica's 403 makes the others fail fast.
//! - Tenants' shares of the server token: a fixed window per tenant, counted atomically.
//! - Records that must outlive a request and be valid on every replica: MCP sessions
//!   (rmcp's `SessionStore`, see [`sessions`]) and, later, the sign-in stores.
//!
//! Backends: [`memory`] (one process; lost on restart), [`file`] (memory for what may
//! be lost, a redb file for records), [`redis`] (shared by replicas).
//! **Invariant:** no token, in any reversible form, in a key or a value: keys use the
//! keyed `TokenId`; tenants and session ids are hashed. **Invariant:** every operation ends within the
//! backend's bound; a failure is an error or a stated fallback, never a hang.

pub mod file;
pub mod memory;
pub mod redis;
pub mod sessions;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::auth::TokenId;

/// Why the state could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the shared state ({backend}) is unavailable: {reason}")]
    Unavailable {
        backend: &'static str,
        reason: String,
    },
    #[error("the state file {path}: {reason}")]
    File { path: String, reason: String },
}

/// What GitHub said about a token that every replica must respect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenLimits {
    /// The budget of this resource is spent until this unix time (seconds).
    pub spent_until: Option<u64>,
    /// GitHub asked this token to back off (secondary limit) until this unix time (ms).
    pub backoff_until_ms: Option<u64>,
}

/// The outcome of asking for one request of a tenant's share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Counted: the request may go.
    Granted,
    /// The share is used up until the window resets.
    Refused { resets_in_secs: u64 },
}

/// A tenant's share of the server token: `limit` requests per `window`.
#[derive(Debug, Clone)]
pub struct ShareRequest<'a> {
    pub tenant: &'a str,
    pub limit: u64,
    pub window: Duration,
}

/// Kinds of records, each its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    /// rmcp's `SessionState` of an MCP session, by session id.
    Session,
    /// Sign-in: a registered OAuth client, by client id.
    OauthClient,
    /// Sign-in: an authorization request waiting for the user's consent, by handle.
    OauthConsent,
    /// Sign-in: an approved request waiting for GitHub's callback, by upstream state.
    OauthUpstream,
    /// Sign-in: one of our authorization codes, by its hash.
    OauthCode,
    /// Sign-in: a redeemed code, by its hash (so a replay revokes its grant).
    OauthCodeUsed,
    /// Sign-in: one of our access tokens, by its hash.
    OauthAccess,
    /// Sign-in: one of our refresh tokens, by its hash.
    OauthRefresh,
    /// Sign-in: a rotated-out refresh token, by its hash (a replay revokes the grant).
    OauthRefreshUsed,
    /// Sign-in: a grant (a user's approval of a client, with their GitHub token
    /// encrypted), by grant id.
    OauthGrant,
    /// What a fetch of review threads saw (per thread: comments, last comment,
    /// resolved, outdated), by the `changes_cursor` it returned.
    ReviewSnapshot,
}

impl Space {
    /// Whether a restart must keep the space's records. A review snapshot is a
    /// convenience that a fetch without `changes_since` rebuilds, so the file
    /// backend keeps it in memory rather than write the disk on every fetch.
    pub fn durable(self) -> bool {
        !matches!(self, Space::ReviewSnapshot)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Space::Session => "session",
            Space::OauthClient => "oauth-client",
            Space::OauthConsent => "oauth-consent",
            Space::OauthUpstream => "oauth-upstream",
            Space::OauthCode => "oauth-code",
            Space::OauthCodeUsed => "oauth-code-used",
            Space::OauthAccess => "oauth-access",
            Space::OauthRefresh => "oauth-refresh",
            Space::OauthRefreshUsed => "oauth-refresh-used",
            Space::OauthGrant => "oauth-grant",
            Space::ReviewSnapshot => "review-snapshot",
        }
    }
}

/// How the state is doing, for `/healthz` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub backend: &'static str,
    /// `Some(reason)` while the backend answers with its stated fallback.
    pub degraded: Option<String>,
    /// Round trips to a remote backend so far (0 for in-process ones).
    pub round_trips: u64,
}

/// The one door to cross-request state. Every method is bounded by the backend.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Before a GitHub request, in one round trip: what GitHub said about this token
    /// and `resource`, and, for a call on the server token, one request of the
    /// tenant's share (counted when granted; see `refund`).
    async fn before_request(
        &self,
        token: TokenId,
        resource: &str,
        share: Option<ShareRequest<'_>>,
    ) -> (TokenLimits, Option<Share>);

    /// GitHub reported the budget of `resource` spent until `reset` (unix seconds).
    async fn record_spent(&self, token: TokenId, resource: &str, reset: u64);

    /// GitHub asked the token to back off until `until_ms` (unix milliseconds).
    async fn record_backoff(&self, token: TokenId, until_ms: u64);

    /// Gives back a granted request GitHub did not charge (a 304, or no answer).
    async fn refund(&self, share: ShareRequest<'_>);

    /// A record, if present and not expired.
    async fn get(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>, StateError>;

    /// Stores a record for `ttl`.
    async fn put(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StateError>;

    async fn delete(&self, space: Space, key: &str) -> Result<(), StateError>;

    /// Reads and deletes a record in one atomic step: of two callers taking the same
    /// key (on any replica), at most one gets it. What single-use records (codes,
    /// consent handles, refresh tokens) are redeemed with.
    async fn take(&self, space: Space, key: &str) -> Result<Option<Vec<u8>>, StateError>;

    /// Stores a record only if there is none (live) under `key`; `true` if it did.
    /// Of two callers claiming one key, on any replica, exactly one gets `true`.
    async fn put_if_absent(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StateError>;

    /// Overwrites a record only if it is (still) there, with a new `ttl` or (`None`)
    /// its old expiry; `true` if it did. A record deleted meanwhile (a revoked grant)
    /// stays deleted.
    async fn replace(
        &self,
        space: Space,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, StateError>;

    fn health(&self) -> Health;
}

/// `--state`: where cross-request state lives.
#[derive(Clone)]
pub enum StateSpec {
    /// In this process only (stdio, tests).
    Memory,
    /// In this process, with records in a redb file that survives restarts.
    File(PathBuf),
    /// Redis, shared by every replica: `redis://[:password@]host:port/db`, `rediss://` for TLS.
    Redis(SecretString),
}

impl fmt::Debug for StateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl StateSpec {
    /// Parses `memory`, `file:PATH` or a `redis://`/`rediss://` URL. A password may be
    /// in the URL or in `redis_password` (from the environment).
    pub fn parse(text: &str, redis_password: Option<&str>) -> Result<Self, String> {
        if text == "memory" {
            return Ok(StateSpec::Memory);
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err(
                    "--state file: needs a path, e.g. file:/var/lib/github-review-mcp/state.redb"
                        .into(),
                );
            }
            return Ok(StateSpec::File(PathBuf::from(path)));
        }
        if text.starts_with("redis://") || text.starts_with("rediss://") {
            let mut url = url::Url::parse(text)
                .map_err(|_| "--state: not a valid redis:// URL".to_owned())?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err("--state: the redis URL needs a host".into());
            }
            if url.path().len() > 1 && url.path()[1..].parse::<u32>().is_err() {
                return Err(
                    "--state: the redis URL's path must be a database number, e.g. /0".into(),
                );
            }
            if let (None, Some(password)) = (url.password(), redis_password) {
                url.set_password(Some(password))
                    .map_err(|_| "--state: cannot add the password to this URL".to_owned())?;
            }
            return Ok(StateSpec::Redis(SecretString::from(url.to_string())));
        }
        Err("--state must be memory, file:PATH, or a redis:// or rediss:// URL".into())
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, StateSpec::Redis(_))
    }

    /// For logs: the backend and where, never a password.
    pub fn describe(&self) -> String {
        match self {
            StateSpec::Memory => "memory".into(),
            StateSpec::File(path) => format!("file:{}", path.display()),
            StateSpec::Redis(url) => match url::Url::parse(url.expose_secret()) {
                Ok(u) => format!(
                    "{}://{}:{}{}",
                    u.scheme(),
                    u.host_str().unwrap_or(""),
                    u.port().unwrap_or(6379),
                    u.path()
                ),
                Err(_) => "redis".into(),
            },
        }
    }
}

/// Opens the backend `spec` names. A file that cannot be read, or a Redis that does
/// not answer, is an error here: the server does not start on a silent reset.
pub async fn open(spec: &StateSpec, timeout: Duration) -> Result<Arc<dyn Store>, StateError> {
    Ok(match spec {
        StateSpec::Memory => Arc::new(memory::MemoryStore::default()),
        StateSpec::File(path) => Arc::new(file::FileStore::open(path)?),
        StateSpec::Redis(url) => Arc::new(redis::RedisStore::connect(url, timeout).await?),
    })
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A caller-supplied name (a tenant, an MCP session id) as it appears in keys: hashed,
/// so it is neither stored (a session id read from Redis cannot be replayed) nor able
/// to shape a key.
pub(crate) fn hashed_key(name: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(name.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_never_show_a_password() {
        assert!(matches!(
            StateSpec::parse("memory", None),
            Ok(StateSpec::Memory)
        ));
        assert!(matches!(
            StateSpec::parse("file:/tmp/s.redb", None),
            Ok(StateSpec::File(p)) if p == std::path::Path::new("/tmp/s.redb")
        ));
        let spec = StateSpec::parse("redis://:hunter2secret@127.0.0.1:6380/2", None).unwrap();
        assert!(spec.is_shared());
        assert_eq!(spec.describe(), "redis://127.0.0.1:6380/2");
        assert!(!format!("{spec:?}").contains("hunter2"));
        let spec = StateSpec::parse("rediss://cache.example.com/0", Some("fromenv-pass")).unwrap();
        let StateSpec::Redis(url) = &spec else {
            panic!()
        };
        assert!(url.expose_secret().contains(":fromenv-pass@"));
        assert!(!spec.describe().contains("fromenv"));
        for bad in [
            "",
            "file:",
            "redis://",
            "redis://h/x",
            "postgres://h",
            "mem",
        ] {
            let err = StateSpec::parse(bad, None).unwrap_err();
            assert!(err.starts_with("--state"), "{bad}: {err}");
        }
    }
}
