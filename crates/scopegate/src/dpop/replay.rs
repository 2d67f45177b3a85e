//! Where used proof `jti`s are remembered (RFC 9449 §11.1): a small trait, an in-memory default.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// The future of [`ReplayStore::record`].
pub type RecordFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Freshness, ReplayStoreError>> + Send + 'a>>;

/// Whether a proof identifier was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Not seen before; now recorded.
    New,
    /// Seen before, within its lifetime: a replay.
    Seen,
}

/// The store could not say whether the proof is new (e.g. Redis is unreachable). The proof is
/// then refused: a replay store that fails open would accept replays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("replay store unavailable: {message}")]
pub struct ReplayStoreError {
    /// What went wrong, for the log.
    pub message: String,
    /// When to try again.
    pub retry_after: Duration,
}

/// Records proof identifiers, atomically: of two concurrent records of one key, exactly one is
/// [`Freshness::New`]. Every replica of an API must share one store, or a proof used on one
/// replica can be replayed on another.
pub trait ReplayStore: Send + Sync + fmt::Debug + 'static {
    /// Records `key` for `ttl` (after which the proof is too old anyway) and says whether it was
    /// new.
    fn record<'a>(&'a self, key: &'a str, ttl: Duration) -> RecordFuture<'a>;
}

/// The default store: in this process's memory, bounded, each entry expiring with its proof's
/// `iat` window. Right for one replica; use a shared store (the `redis` feature's
/// `RedisReplayStore`) behind a load balancer.
///
/// At capacity, the entries nearest to expiry are evicted first (least recently inserted), so a
/// proof older than the last `capacity` proofs could be replayed until its `iat` window closes:
/// size it above the proofs per second times the window.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use scopegate::dpop::{Freshness, MemoryReplayStore, ReplayStore};
///
/// let store = MemoryReplayStore::new(1_000);
/// let ttl = Duration::from_secs(120);
/// assert_eq!(store.record("jti-1", ttl).await, Ok(Freshness::New));
/// assert_eq!(store.record("jti-1", ttl).await, Ok(Freshness::Seen));
/// # });
/// ```
pub struct MemoryReplayStore {
    seen: moka::sync::Cache<Box<str>, Duration, foldhash::fast::RandomState>,
}

/// Default capacity of the in-memory store: 1,000 proofs per second for two minutes.
pub const DEFAULT_MEMORY_CAPACITY: u64 = 120_000;

struct ExpiresWithProof;

impl moka::Expiry<Box<str>, Duration> for ExpiresWithProof {
    fn expire_after_create(&self, _: &Box<str>, ttl: &Duration, _: Instant) -> Option<Duration> {
        Some(*ttl)
    }
}

impl MemoryReplayStore {
    /// A store of at most `capacity` identifiers.
    pub fn new(capacity: u64) -> MemoryReplayStore {
        MemoryReplayStore {
            seen: moka::sync::Cache::builder()
                .max_capacity(capacity)
                // Admission by frequency (TinyLFU) could turn a new identifier away, and one
                // not recorded can be replayed: every new one is admitted, the oldest evicted.
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .expire_after(ExpiresWithProof)
                .build_with_hasher(foldhash::fast::RandomState::default()),
        }
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        MemoryReplayStore::new(DEFAULT_MEMORY_CAPACITY)
    }
}

impl fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("entries", &self.seen.entry_count())
            .finish()
    }
}

impl ReplayStore for MemoryReplayStore {
    fn record<'a>(&'a self, key: &'a str, ttl: Duration) -> RecordFuture<'a> {
        // `entry().or_insert()` is atomic per key: of two racing records, one inserts.
        let entry = self.seen.entry(Box::from(key)).or_insert(ttl);
        let freshness = if entry.is_fresh() {
            Freshness::New
        } else {
            Freshness::Seen
        };
        Box::pin(std::future::ready(Ok(freshness)))
    }
}
