//! [`RedisReplayStore`]: proof identifiers in Redis, shared by every replica (feature `redis`).

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::replay::{Freshness, RecordFuture, ReplayStore, ReplayStoreError};

/// A [`ReplayStore`] in Redis: one atomic `SET key 1 NX PX ttl` per proof, so that of two
/// replicas seeing the same proof exactly one accepts it.
///
/// The connection is opened on the first proof and re-opened after a failure (redis-rs's
/// `ConnectionManager`). Every record is bounded by a timeout: when Redis cannot answer in time,
/// the proof is refused with 503 and `Retry-After` (fail closed), and the outage is logged once
/// when it starts and once when it ends.
///
/// ```no_run
/// use scopegate::dpop::{ProofVerifier, RedisReplayStore};
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisReplayStore::builder("redis://127.0.0.1:6379/").build()?;
/// let verifier = ProofVerifier::builder().replay_store(store).build();
/// # Ok(()) }
/// ```
pub struct RedisReplayStore {
    client: redis::Client,
    config: ConnectionManagerConfig,
    connection: OnceLock<Result<ConnectionManager, String>>,
    prefix: String,
    timeout: Duration,
    retry_after: Duration,
    down: AtomicBool,
}

/// Builds a [`RedisReplayStore`].
#[derive(Debug, Clone)]
pub struct RedisReplayStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    retry_after: Duration,
}

impl RedisReplayStoreBuilder {
    /// Prefix of every key (default `scopegate:`), for APIs sharing one Redis.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Longest wait for one record, connecting included (default 500 ms).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `Retry-After` of the 503 while Redis is unreachable (default 2 s).
    #[must_use]
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// The store; fails only on a malformed URL. No connection is made until the first proof.
    pub fn build(self) -> Result<RedisReplayStore, redis::RedisError> {
        let client = redis::Client::open(self.url.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            // Reconnection is retried by the next record, not in a loop of its own.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(self.timeout);
        Ok(RedisReplayStore {
            client,
            config,
            connection: OnceLock::new(),
            prefix: self.prefix,
            timeout: self.timeout,
            retry_after: self.retry_after,
            down: AtomicBool::new(false),
        })
    }
}

impl RedisReplayStore {
    /// A builder for the Redis at `url` (`redis://host:port/db`, or `rediss://` with TLS support
    /// compiled into redis-rs).
    pub fn builder(url: impl Into<String>) -> RedisReplayStoreBuilder {
        RedisReplayStoreBuilder {
            url: url.into(),
            prefix: "scopegate:".into(),
            timeout: Duration::from_millis(500),
            retry_after: Duration::from_secs(2),
        }
    }

    fn failed(&self, message: String) -> ReplayStoreError {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::error!(
                target: "scopegate::dpop",
                error = %message,
                "DPoP replay store (Redis) unreachable: refusing DPoP requests with 503 until it is back"
            );
        }
        ReplayStoreError {
            message,
            retry_after: self.retry_after,
        }
    }

    async fn set_nx(&self, key: &str, ttl: Duration) -> Result<Freshness, ReplayStoreError> {
        // The manager is made lazily, inside the runtime of the first request.
        let connection = self.connection.get_or_init(|| {
            ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())
                .map_err(|e| e.to_string())
        });
        let mut connection = match connection {
            Ok(connection) => connection.clone(),
            Err(message) => return Err(self.failed(message.clone())),
        };
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let command = redis::cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .to_owned();
        let reply = tokio::time::timeout(
            self.timeout,
            command.query_async::<Option<String>>(&mut connection),
        )
        .await;
        let freshness = match reply {
            Ok(Ok(Some(_))) => Freshness::New,
            Ok(Ok(None)) => Freshness::Seen,
            Ok(Err(error)) => return Err(self.failed(error.to_string())),
            Err(_) => return Err(self.failed(format!("no answer within {:?}", self.timeout))),
        };
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(target: "scopegate::dpop", "DPoP replay store (Redis) reachable again");
        }
        Ok(freshness)
    }
}

impl fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: only the prefix and the state are shown.
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("down", &self.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl ReplayStore for RedisReplayStore {
    fn record<'a>(&'a self, key: &'a str, ttl: Duration) -> RecordFuture<'a> {
        Box::pin(self.set_nx(key, ttl))
    }
}
