//! The two token caches: verified tokens, trusted until their `exp` (or the cache's max age)
//! while the key that verified them stays in the issuer's set; and bad signatures, remembered
//! briefly so a replayed forgery costs one verification.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use super::claims_check::Validity;
use super::{ChosenIssuer, IssuerState, Validator};
use crate::claims::AuthContext;
use crate::clock::{Clock, unix_millis, unix_seconds};
use crate::error::{AuthError, Reason};

/// The verified-token caches of a [`Validator`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Verified tokens kept (default 10,000; 0 turns the cache off).
    pub capacity: u64,
    /// Longest time a verified token is trusted without verifying it again (default 10 min);
    /// it is never trusted past its `exp`.
    pub max_age: Duration,
    /// Tokens with a bad signature remembered, so a replayed forgery costs one verification
    /// (default 1,000; 0 turns it off).
    pub rejected_capacity: u64,
    /// How long a bad signature is remembered (default 30 s).
    pub rejected_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            capacity: 10_000,
            max_age: Duration::from_secs(600),
            rejected_capacity: 1_000,
            rejected_ttl: Duration::from_secs(30),
        }
    }
}

impl CacheConfig {
    /// No caching at all: every token is verified on every request.
    pub fn disabled() -> CacheConfig {
        CacheConfig {
            capacity: 0,
            rejected_capacity: 0,
            ..CacheConfig::default()
        }
    }

    /// Sets [`capacity`](Self::capacity).
    ///
    /// ```
    /// use std::time::Duration;
    /// let cache = scopegate::CacheConfig::default().capacity(50_000).max_age(Duration::from_secs(60));
    /// assert_eq!((cache.capacity, cache.max_age), (50_000, Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets [`max_age`](Self::max_age).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets [`rejected_capacity`](Self::rejected_capacity).
    #[must_use]
    pub fn rejected_capacity(mut self, capacity: u64) -> Self {
        self.rejected_capacity = capacity;
        self
    }

    /// Sets [`rejected_ttl`](Self::rejected_ttl).
    #[must_use]
    pub fn rejected_ttl(mut self, ttl: Duration) -> Self {
        self.rejected_ttl = ttl;
        self
    }
}

/// Keyed by the full token: no other string can ever hit an entry. foldhash (randomly seeded)
/// hashes an 800-byte token in a third of SipHash's time; only verified tokens (or, in the small
/// rejected cache, a bounded number of forgeries) are ever keys, so flooding is not a concern.
pub(super) type TokenCache<V> = moka::sync::Cache<Box<str>, V, foldhash::fast::RandomState>;

#[derive(Clone)]
pub(super) struct CachedToken {
    context: Arc<AuthContext>,
    /// `exp + leeway`, seconds since the epoch.
    valid_until: i64,
    /// `nbf - leeway`, seconds since the epoch.
    valid_from: i64,
    /// Verified at, plus the cache's max age: Unix milliseconds.
    fresh_until: u64,
    /// The key set current when the token was verified.
    key_generation: u64,
    /// The issuer, if resolved at run time (configured ones are found by index): weak, so that
    /// an evicted issuer stops refreshing, and its tokens are verified afresh.
    resolved: Option<Weak<IssuerState>>,
}

/// Expires each cached token at the earlier of its `exp + leeway` and the cache's max age. This
/// frees the memory; whether a hit may be used is judged on the validator's clock.
struct UntilExpiry {
    max_age: Duration,
    clock: Arc<dyn Clock>,
}

impl moka::Expiry<Box<str>, CachedToken> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &Box<str>,
        value: &CachedToken,
        _created_at: Instant,
    ) -> Option<Duration> {
        let now = unix_seconds(self.clock.now());
        let left = value.valid_until.saturating_sub(now).max(0) as u64;
        Some(self.max_age.min(Duration::from_secs(left)))
    }
}

impl Validator {
    /// The caches' answer for a JWT validated locally (length already checked), without
    /// waiting: `None` means it has to be verified.
    pub(super) fn validate_cached_jwt(
        &self,
        token: &str,
    ) -> Option<Result<Arc<AuthContext>, AuthError>> {
        let inner = &*self.inner;
        let clock_now = inner.clock.now();
        let now_ms = unix_millis(clock_now);
        if let Some(cache) = &inner.cache {
            if let Some(hit) = cache.get(token) {
                let now = unix_seconds(clock_now);
                let resolved;
                let issuer = match &hit.resolved {
                    None => &inner.issuers[hit.context.issuer_index],
                    Some(weak) => match weak.upgrade() {
                        Some(live) => {
                            resolved = live;
                            // A hit is a use: without this, a tenant whose tokens are all cached
                            // would look unused, be evicted, and pay a refetch.
                            if let Some(resolver) = &inner.resolver {
                                resolver.touch(&resolved.config.issuer);
                            }
                            &*resolved
                        }
                        None => {
                            // Evicted: verify afresh, against the issuer as it is resolved now.
                            cache.invalidate(token);
                            inner.counters.cache_miss();
                            return None;
                        }
                    },
                };
                let Some((_, key)) = &hit.context.signed else {
                    // Only signed tokens are cached here; never trust anything else.
                    cache.invalidate(token);
                    return None;
                };
                let key_trusted = match &issuer.secret {
                    Some(secret) if Arc::ptr_eq(secret, key) => true,
                    _ => {
                        let source = &issuer.keys;
                        // The runtime that ran the refresh may have ended: start it here.
                        source.ensure_background_refresh();
                        if source.is_overdue(clock_now) {
                            // The key set is past its refresh and no task refreshed it: the
                            // uncached path refreshes it first, then asks the cache again.
                            return None;
                        }
                        let keys = source.current();
                        keys.generation() == hit.key_generation || keys.contains(key)
                    }
                };
                if now < hit.valid_until
                    && now >= hit.valid_from
                    && now_ms < hit.fresh_until
                    && key_trusted
                {
                    inner.counters.cache_hit();
                    return Some(Ok(hit.context));
                }
                // Expired, or its key left the key set: verify afresh, which says which.
                cache.invalidate(token);
            }
            inner.counters.cache_miss();
        }
        if let Some(rejected) = &inner.rejected
            && rejected.get(token).is_some_and(|until| now_ms < until)
        {
            inner.counters.cache_known_bad();
            inner.counters.rejected(Reason::BadSignature);
            return Some(Err(AuthError::BadSignature));
        }
        None
    }

    /// Caches a token just verified, with the generation of the key set that vouches for its key.
    pub(super) fn remember_verified(
        &self,
        token: &str,
        context: &Arc<AuthContext>,
        validity: Validity,
        issuer: &ChosenIssuer<'_>,
        verified_at: SystemTime,
    ) {
        let Some(cache) = &self.inner.cache else {
            return;
        };
        // Only a set known to hold the key may vouch for it on later hits; 0 matches no set.
        let keys = issuer.keys.current();
        let signed_by = context.signed.as_ref().map(|(_, key)| key);
        let key_generation = if signed_by.is_some_and(|key| keys.contains(key)) {
            keys.generation()
        } else {
            0
        };
        let entry = CachedToken {
            context: Arc::clone(context),
            valid_until: validity.valid_until,
            valid_from: validity.valid_from,
            fresh_until: unix_millis(verified_at + self.inner.max_age),
            key_generation,
            resolved: match issuer {
                ChosenIssuer::Resolved(issuer) => Some(Arc::downgrade(issuer)),
                ChosenIssuer::Configured(..) => None,
            },
        };
        cache.insert(Box::from(token), entry);
    }

    /// Remembers a token whose signature did not verify, for the rejected cache's TTL.
    pub(super) fn remember_forgery(&self, token: &str) {
        if let Some(rejected) = &self.inner.rejected {
            let until = self.inner.clock.now() + self.inner.rejected_ttl;
            rejected.insert(Box::from(token), unix_millis(until));
        }
    }

    /// Verified tokens currently cached (approximate: the cache settles asynchronously).
    pub fn cached_tokens(&self) -> u64 {
        self.inner.cache.as_ref().map_or(0, |cache| {
            cache.run_pending_tasks();
            cache.entry_count()
        })
    }

    /// The cache's max age.
    pub fn cache_max_age(&self) -> Duration {
        self.inner.max_age
    }
}

/// The verified-token cache and the bad-signature cache `config` asks for (`None`: off).
pub(super) fn token_caches(
    config: &CacheConfig,
    clock: &Arc<dyn Clock>,
) -> (Option<TokenCache<CachedToken>>, Option<TokenCache<u64>>) {
    let verified = (config.capacity > 0).then(|| {
        moka::sync::Cache::builder()
            .max_capacity(config.capacity)
            .expire_after(UntilExpiry {
                max_age: config.max_age,
                clock: Arc::clone(clock),
            })
            .build_with_hasher(foldhash::fast::RandomState::default())
    });
    let rejected = (config.rejected_capacity > 0).then(|| {
        moka::sync::Cache::builder()
            .max_capacity(config.rejected_capacity)
            .time_to_live(config.rejected_ttl)
            .build_with_hasher(foldhash::fast::RandomState::default())
    });
    (verified, rejected)
}
