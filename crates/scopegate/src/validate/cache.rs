//! The two token caches: verified tokens, trusted until their `exp` (or the cache's max age)
//! while the key that verified them stays in the issuer's set; and bad signatures, remembered
//! briefly so a replayed forgery costs one verification.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::claims_check::Validity;
use super::{ChosenIssuer, IssuerState, Validator};
use crate::claims::AuthContext;
use crate::clock::{UnixTime, unix_millis};
use crate::error::{AuthError, Reason};

mod digest;
pub(super) use digest::{DigestMemo, TokenDigest};

/// The verified-token caches of a [`Validator`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Verified tokens kept (default 10,000; 0 turns the cache off), ~600 bytes each for a
    /// typical access token. Every one of `capacity` tokens fits: the cache's shards get room
    /// for an uneven spread, so it may hold a few percent more.
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

/// The verified-token cache: keyed by the token's SHA-256 digest, an entry per token of about
/// 600 bytes all told (ARCHITECTURE.md). quick_cache rather than moka: moka's own bookkeeping
/// per entry (its deques, timer wheel and `Arc`s) is ~350 bytes, quick_cache's ~30; expiry is
/// judged on every hit anyway (on the validator's clock), and the capacity bounds the memory.
pub(super) type VerifiedCache = quick_cache::sync::Cache<
    TokenDigest,
    CachedToken,
    quick_cache::UnitWeighter,
    foldhash::fast::RandomState,
>;

/// Bad signatures, by digest, with the Unix millisecond at which each is forgotten.
pub(super) type RejectedCache = moka::sync::Cache<TokenDigest, u64, foldhash::fast::RandomState>;

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

/// What the verified-token cache says of a token.
enum Lookup {
    /// Cached, still valid, its key still trusted.
    Hit(Arc<AuthContext>),
    /// Not cached (or no longer usable, and removed): the bad-signature cache is asked next.
    Miss,
    /// Its resolved issuer was evicted: verify afresh, against the issuer as resolved now.
    IssuerEvicted,
    /// Not to be trusted from here (unsigned, or the key set is overdue for its refresh): the
    /// uncached path decides.
    Undecided,
}

impl Validator {
    /// A usable verified-token cache hit for `token`, or `None`, with nothing counted for a
    /// miss: the layer's first try, before the token's syntax is checked. A hit needs no check:
    /// equal digests mean an equal token, which passed every check when it was cached. On
    /// `None` the layer takes the full path (syntax, then [`validate_cached`](Self::validate_cached)).
    pub(crate) fn cached_context(&self, token: &[u8]) -> Option<Arc<AuthContext>> {
        let inner = &*self.inner;
        if token.len() > inner.max_token_length {
            return None;
        }
        // Introspection routes tokens by kind and policy: its requests take the full path.
        #[cfg(feature = "remote")]
        if inner.introspection.is_some() {
            return None;
        }
        let cache = inner.cache.as_ref()?;
        let digest = inner.digests.digest(token);
        match self.lookup(cache, &digest, UnixTime::of(inner.clock.now())) {
            Lookup::Hit(context) => {
                inner.counters.cache_hit();
                Some(context)
            }
            Lookup::Miss | Lookup::IssuerEvicted | Lookup::Undecided => None,
        }
    }

    /// The caches' answer for a JWT validated locally (length already checked), without
    /// waiting: `None` means it has to be verified.
    pub(super) fn validate_cached_jwt(
        &self,
        token: &str,
    ) -> Option<Result<Arc<AuthContext>, AuthError>> {
        let inner = &*self.inner;
        if inner.cache.is_none() && inner.rejected.is_none() {
            return None;
        }
        // One digest per request, for both caches: equal digests mean equal tokens (SHA-256 is
        // collision resistant), so no other string can hit a token's entry.
        let digest = inner.digests.digest(token.as_bytes());
        let now = UnixTime::of(inner.clock.now());
        if let Some(cache) = &inner.cache {
            match self.lookup(cache, &digest, now) {
                Lookup::Hit(context) => {
                    inner.counters.cache_hit();
                    return Some(Ok(context));
                }
                Lookup::Miss => inner.counters.cache_miss(),
                Lookup::IssuerEvicted => {
                    inner.counters.cache_miss();
                    return None;
                }
                Lookup::Undecided => return None,
            }
        }
        if let Some(rejected) = &inner.rejected
            && rejected
                .get(&digest)
                .is_some_and(|until| now.millis < until)
        {
            inner.counters.cache_known_bad();
            inner.counters.rejected(Reason::BadSignature);
            return Some(Err(AuthError::BadSignature));
        }
        None
    }

    /// The verified-token cache's entry for `digest`, judged at `now`: expiry on the
    /// validator's clock, and the key that verified it still in its issuer's set.
    fn lookup(&self, cache: &VerifiedCache, digest: &TokenDigest, now: UnixTime) -> Lookup {
        let inner = &*self.inner;
        let Some(hit) = cache.get(digest) else {
            return Lookup::Miss;
        };
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
                    cache.remove(digest);
                    return Lookup::IssuerEvicted;
                }
            },
        };
        let Some((_, key)) = &hit.context.signed else {
            // Only signed tokens are cached here; never trust anything else.
            cache.remove(digest);
            return Lookup::Undecided;
        };
        let key_trusted = match &issuer.secret {
            Some(secret) if Arc::ptr_eq(secret, key) => true,
            _ => {
                let source = &issuer.keys;
                // The runtime that ran the refresh may have ended: start it here.
                source.ensure_background_refresh();
                if source.is_overdue_at(now.millis) {
                    // The key set is past its refresh and no task refreshed it: the uncached
                    // path refreshes it first, then asks the cache again.
                    return Lookup::Undecided;
                }
                source.current_generation() == hit.key_generation || source.current().contains(key)
            }
        };
        if now.seconds < hit.valid_until
            && now.seconds >= hit.valid_from
            && now.millis < hit.fresh_until
            && key_trusted
        {
            return Lookup::Hit(hit.context);
        }
        // Expired, or its key left the key set: verify afresh, which says which.
        cache.remove(digest);
        Lookup::Miss
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
        cache.insert(TokenDigest::of(token.as_bytes()), entry);
    }

    /// Remembers a token whose signature did not verify, for the rejected cache's TTL.
    pub(super) fn remember_forgery(&self, token: &str) {
        if let Some(rejected) = &self.inner.rejected {
            let until = self.inner.clock.now() + self.inner.rejected_ttl;
            rejected.insert(TokenDigest::of(token.as_bytes()), unix_millis(until));
        }
    }

    /// Verified tokens currently cached.
    pub fn cached_tokens(&self) -> u64 {
        self.inner
            .cache
            .as_ref()
            .map_or(0, |cache| cache.len() as u64)
    }

    /// The cache's max age.
    pub fn cache_max_age(&self) -> Duration {
        self.inner.max_age
    }
}

/// The verified-token cache and the bad-signature cache `config` asks for (`None`: off).
pub(super) fn token_caches(config: &CacheConfig) -> (Option<VerifiedCache>, Option<RejectedCache>) {
    let verified = (config.capacity > 0).then_some(()).and_then(|()| {
        let capacity = usize::try_from(config.capacity).unwrap_or(usize::MAX);
        let shards = shards_for(capacity);
        // Only a missing capacity is refused, and this one is set.
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(capacity)
            .weight_capacity(with_room_for_spread(config.capacity, shards as u64))
            .shards(shards)
            .build()
            .ok()?;
        Some(quick_cache::sync::Cache::with_options(
            options,
            quick_cache::UnitWeighter,
            foldhash::fast::RandomState::default(),
            Default::default(),
        ))
    });
    let rejected = (config.rejected_capacity > 0).then(|| {
        moka::sync::Cache::builder()
            .max_capacity(config.rejected_capacity)
            .time_to_live(config.rejected_ttl)
            .build_with_hasher(foldhash::fast::RandomState::default())
    });
    (verified, rejected)
}

/// Shards of the verified-token cache: four per core (hits take a shard's read lock, so more
/// shards spread that cache line), fewer for small caches, at least 64 entries each.
fn shards_for(capacity: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut shards = (cores * 4).next_power_of_two();
    while shards > 1 && capacity / shards < 64 {
        shards /= 2;
    }
    shards
}

/// Each shard evicts on its own once full, and tokens spread over the shards by hash, not
/// evenly: sized at exactly `capacity / shards`, a cache of 10,000 holding 10,000 tokens would
/// keep evicting ~40 of them. Each shard gets room for three standard deviations of its count
/// (a binomial's √(n·p·(1−p)) < √(n/shards)), so every one of `capacity` tokens fits.
fn with_room_for_spread(capacity: u64, shards: u64) -> u64 {
    if shards <= 1 {
        return capacity;
    }
    let per_shard = capacity.div_ceil(shards) as f64;
    let room = (3.0 * per_shard.sqrt()).ceil() as u64;
    capacity.saturating_add(room.saturating_mul(shards))
}
