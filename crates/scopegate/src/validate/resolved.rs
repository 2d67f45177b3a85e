//! The live issuers resolved at run time (see [`resolver`](crate::resolver)): a bounded LRU set, the issuers whose first fetch failed
//! (negative cache), the rate at which new ones may be created; and [`ChosenIssuer`], the issuer
//! a token names, as the request path holds it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::IssuerState;
use crate::clock::{Clock, unix_millis};
use crate::error::AuthError;
use crate::jwks::{JwksStats, RefreshReason};
use crate::resolver::{IssuerResolver, IssuerTrust, Policy, ResolverStats, Tenant};

type Cache<V> = moka::sync::Cache<Arc<str>, V, foldhash::fast::RandomState>;

/// The resolver of a [`Validator`](crate::Validator), built from an [`IssuerResolver`].
pub(crate) struct Registry {
    trust: IssuerTrust,
    policy: Arc<Policy>,
    live: Cache<Arc<IssuerState>>,
    /// Issuers whose first fetch failed, with the Unix millisecond (validator clock) until which
    /// they are answered 503 without a fetch.
    failed: Cache<u64>,
    failed_ttl: Duration,
    bucket: Mutex<Bucket>,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    created: AtomicU64,
    failed: AtomicU64,
    rate_limited: AtomicU64,
    known_failed: AtomicU64,
    untrusted: AtomicU64,
    evicted: AtomicU64,
}

impl Registry {
    pub(crate) fn new(resolver: IssuerResolver, clock: Arc<dyn Clock>) -> Registry {
        let counters = Arc::new(Counters::default());
        let on_evict = Arc::clone(&counters);
        let live = moka::sync::Cache::builder()
            .max_capacity(resolver.max_issuers)
            // LRU, not moka's default TinyLFU admission: a new tenant that just paid its fetch
            // must be admitted, or each of its tokens would pay it again.
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .eviction_listener(move |_, _, cause| {
                if cause == moka::notification::RemovalCause::Size {
                    on_evict.evicted.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build_with_hasher(foldhash::fast::RandomState::default());
        let failed = moka::sync::Cache::builder()
            .max_capacity(resolver.max_failed_issuers)
            .time_to_live(resolver.failed_issuer_ttl)
            .build_with_hasher(foldhash::fast::RandomState::default());
        let rate = f64::from(resolver.new_issuers_per_second);
        Registry {
            trust: resolver.trust,
            policy: resolver.policy,
            live,
            failed,
            failed_ttl: resolver.failed_issuer_ttl,
            bucket: Mutex::new(Bucket {
                tokens: rate,
                burst: rate,
                rate,
                last: clock.now(),
            }),
            clock,
            counters,
        }
    }

    /// The issuer `iss` names, trusted, live and holding keys; or why not. Nothing is fetched
    /// for an `iss` the rule does not trust, nor for one that failed within the TTL.
    pub(crate) async fn resolve(&self, iss: &str) -> Result<Arc<IssuerState>, AuthError> {
        if let Some(state) = self.live.get(iss) {
            state.keys.refresh_if_overdue().await;
            return Ok(state);
        }
        let Some(id) = self.trust.tenant_of(iss) else {
            self.counters.untrusted.fetch_add(1, Ordering::Relaxed);
            return Err(AuthError::WrongIssuer);
        };
        let now = self.clock.now();
        if let Some(until) = self.failed.get(iss) {
            let left = until.saturating_sub(unix_millis(now));
            if left > 0 {
                self.counters.known_failed.fetch_add(1, Ordering::Relaxed);
                return Err(AuthError::KeysUnavailable {
                    retry_after: Duration::from_millis(left),
                });
            }
        }
        let tenant = Tenant::new(iss, &id);
        // One creation per issuer at a time; concurrent first tokens share it.
        let state = self
            .live
            .try_get_with(Arc::clone(tenant.issuer_arc()), || {
                self.create(&tenant, now)
            })
            .map_err(|error| (*error).clone())?;
        if state.keys.has_keys() {
            return Ok(state);
        }
        // First sight: the keys are fetched now (a fetch under way is joined), so that an issuer
        // that does not exist is known as such before it holds a slot and a refresh schedule.
        state.keys.refresh(RefreshReason::Initial).await;
        if state.keys.has_keys() {
            return Ok(state);
        }
        self.live.invalidate(iss);
        let until = unix_millis(self.clock.now() + self.failed_ttl);
        self.failed.insert(Arc::clone(tenant.issuer_arc()), until);
        self.counters.failed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "scopegate::resolver", issuer = tenant.issuer(),
            "first fetch of a resolved issuer failed; refused without fetching for the TTL");
        Err(AuthError::KeysUnavailable {
            retry_after: self.failed_ttl,
        })
    }

    /// A new issuer for `tenant`, its keys not fetched yet: the policy's config, within the
    /// creation rate.
    fn create(&self, tenant: &Tenant, now: SystemTime) -> Result<Arc<IssuerState>, AuthError> {
        let refused = |why: &dyn std::fmt::Display| {
            self.counters.untrusted.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(target: "scopegate::resolver", issuer = tenant.issuer(), %why,
                "the tenant policy refused an issuer");
            AuthError::WrongIssuer
        };
        let config = (self.policy)(tenant).map_err(|error| refused(&error))?;
        if config.issuer() != tenant.issuer() {
            // A policy that handed out another issuer's config would let that issuer's keys
            // verify tokens naming this one.
            tracing::warn!(target: "scopegate::resolver", issuer = tenant.issuer(),
                configured = config.issuer(), "the tenant policy returned a config for another issuer");
            return Err(AuthError::WrongIssuer);
        }
        let wait = self
            .bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(now);
        if let Err(retry_after) = wait {
            self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(AuthError::KeysUnavailable { retry_after });
        }
        let state = IssuerState::new(config, &self.clock).map_err(|error| refused(&error))?;
        self.counters.created.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(state))
    }

    /// Marks the live issuer `iss` as just used (least-recently-used order).
    pub(crate) fn touch(&self, iss: &str) {
        let _ = self.live.get(iss);
    }

    /// Fetch counters of the live issuer `iss`.
    pub(crate) fn jwks_stats(&self, iss: &str) -> Option<JwksStats> {
        self.live.get(iss).map(|state| state.keys.stats())
    }

    pub(crate) fn stats(&self) -> ResolverStats {
        self.live.run_pending_tasks();
        let c = &*self.counters;
        ResolverStats {
            live: self.live.entry_count(),
            created: c.created.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            known_failed: c.known_failed.load(Ordering::Relaxed),
            untrusted: c.untrusted.load(Ordering::Relaxed),
            evicted: c.evicted.load(Ordering::Relaxed),
        }
    }
}

/// The issuer a token names: one of the configured, or one resolved at run time.
pub(super) enum ChosenIssuer<'v> {
    Configured(usize, &'v IssuerState),
    Resolved(Arc<IssuerState>),
}

impl std::ops::Deref for ChosenIssuer<'_> {
    type Target = IssuerState;

    fn deref(&self) -> &IssuerState {
        match self {
            ChosenIssuer::Configured(_, issuer) => issuer,
            ChosenIssuer::Resolved(issuer) => issuer,
        }
    }
}

impl ChosenIssuer<'_> {
    /// The index of a configured issuer; resolved issuers have none (the cache holds them).
    pub(super) fn index(&self) -> usize {
        match self {
            ChosenIssuer::Configured(index, _) => *index,
            ChosenIssuer::Resolved(_) => usize::MAX,
        }
    }
}

/// A token bucket on the validator's clock (so tests drive it without sleeping). Written here
/// rather than taken from `governor`, whose clocks are its own: a dozen lines over [`Clock`].
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    burst: f64,
    /// Tokens per second.
    rate: f64,
    last: SystemTime,
}

impl Bucket {
    /// Takes one token, or says how long until one is there.
    fn take(&mut self, now: SystemTime) -> Result<(), Duration> {
        // A clock stepped back adds nothing.
        if let Ok(elapsed) = now.duration_since(self.last) {
            self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate).min(self.burst);
            self.last = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate_up_to_its_burst() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut bucket = Bucket {
            tokens: 2.0,
            burst: 2.0,
            rate: 2.0,
            last: start,
        };
        assert!(bucket.take(start).is_ok());
        assert!(bucket.take(start).is_ok());
        assert_eq!(bucket.take(start), Err(Duration::from_millis(500)));
        assert!(bucket.take(start + Duration::from_millis(500)).is_ok());
        // A long pause refills to the burst, no more.
        let later = start + Duration::from_secs(60);
        assert!(bucket.take(later).is_ok() && bucket.take(later).is_ok());
        assert!(bucket.take(later).is_err());
        // A clock set back neither panics nor refills.
        assert!(bucket.take(start).is_err());
    }
}
