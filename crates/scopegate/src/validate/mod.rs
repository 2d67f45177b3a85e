//! The [`Validator`]: token in, [`AuthContext`] or [`AuthError`] out.
//!
//! Order of checks on first sight of a token: length, form (three base64url segments of strict
//! JSON), header extensions (`crit`, `b64`), issuer (exact `iss` match, before any key lookup),
//! algorithm allow-list, `typ`, key (by `kid`, whose type and `alg` must fit the token's `alg`),
//! signature, then `exp`/`nbf` with leeway, `aud`, and the scope claims. A token that passes is
//! cached until its `exp` (or the cache's max age); a cache hit re-checks the expiry and that the
//! key which verified it is still in the issuer's key set. Time is the validator's [`Clock`].

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::audience::AudienceMatcher;
use crate::claims::{AuthContext, Claims, Scopes};
use crate::clock::{Clock, SystemClock, unix_millis, unix_seconds};
use crate::config::{AuthConfig, ConfigError};
use crate::error::{AuthError, Reason, TokenProblem};
use crate::json;
use crate::jwks::{JwksError, JwksSource, JwksStats, KeySource, RefreshReason, VerificationKey};
use crate::telemetry;

mod keys;

use crate::verify_pool::{VerifyPool, VerifyPoolConfig};
pub use keys::MAX_KIDLESS_CANDIDATES;

/// One signature check of the token at hand with a key, on the verification pool: whether it
/// verifies, or the pool's refusal.
type SignatureCheck<'a> = Pin<Box<dyn Future<Output = Result<bool, AuthError>> + Send + 'a>>;

/// Default longest token accepted (checked before any decoding).
pub const DEFAULT_MAX_TOKEN_LENGTH: usize = 16 * 1024;

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

/// Validates bearer tokens against one or more issuers. Cheap to clone; clones share keys and
/// caches.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use scopegate::{AuthConfig, Validator};
///
/// let config = AuthConfig::builder("https://tenant.logto.app/oidc", "https://shopping.api")
///     .jwks_uri("https://tenant.logto.app/oidc/jwks")
///     .build()?;
/// let validator = Validator::new(config)?;
/// validator.warm_up().await?; // optional: fetch the keys before serving
/// # let token = "";
/// let auth = validator.validate(token).await?;
/// assert!(auth.has_scope("read:products"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

/// Keyed by the full token: no other string can ever hit an entry. foldhash (randomly seeded)
/// hashes an 800-byte token in a third of SipHash's time; only verified tokens (or, in the small
/// rejected cache, a bounded number of forgeries) are ever keys, so flooding is not a concern.
type TokenCache<V> = moka::sync::Cache<Box<str>, V, foldhash::fast::RandomState>;

struct Inner {
    issuers: Vec<IssuerState>,
    cache: Option<TokenCache<CachedToken>>,
    /// Bad signatures, with the Unix millisecond at which each is forgotten.
    rejected: Option<TokenCache<u64>>,
    max_age: Duration,
    rejected_ttl: Duration,
    clock: Arc<dyn Clock>,
    max_token_length: usize,
    counters: Arc<telemetry::Counters>,
    pool: VerifyPool,
}

struct IssuerState {
    config: AuthConfig,
    keys: KeySource,
    secret: Option<Arc<VerificationKey>>,
}

#[derive(Clone)]
struct CachedToken {
    context: Arc<AuthContext>,
    /// `exp + leeway`, seconds since the epoch.
    valid_until: i64,
    /// `nbf - leeway`, seconds since the epoch.
    valid_from: i64,
    /// Verified at, plus the cache's max age: Unix milliseconds.
    fresh_until: u64,
    /// The key set current when the token was verified.
    key_generation: u64,
}

/// Builds a [`Validator`] for several issuers, or with non-default caches and limits.
#[derive(Debug, Default)]
#[must_use]
pub struct ValidatorBuilder {
    issuers: Vec<AuthConfig>,
    cache: CacheConfig,
    max_token_length: Option<usize>,
    verify_pool: VerifyPoolConfig,
    clock: Option<Arc<dyn Clock>>,
}

impl ValidatorBuilder {
    /// Accepts tokens of one more issuer. The issuer of a token is chosen by exact match of its
    /// `iss` before anything else; one issuer's keys never verify another's tokens.
    pub fn issuer(mut self, config: AuthConfig) -> Self {
        self.issuers.push(config);
        self
    }

    /// Sets the verified-token caches.
    pub fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// Sets the longest token accepted (default 16 KiB).
    pub fn max_token_length(mut self, bytes: usize) -> Self {
        self.max_token_length = Some(bytes);
        self
    }

    /// Sets the pool of threads that check the signatures of tokens seen for the first time
    /// (see [`verify_pool`](crate::verify_pool)).
    pub fn verify_pool(mut self, pool: VerifyPoolConfig) -> Self {
        self.verify_pool = pool;
        self
    }

    /// Reads time from `clock` instead of the system's: for `exp`/`nbf`, the caches' ages and
    /// the key-set refresh schedule. Tests pass a [`TestClock`](crate::TestClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds the validator. Only configuration errors fail here: the issuer need not be up.
    /// Keys are fetched lazily, on the first token (or by [`Validator::warm_up`],
    /// [`Validator::warm_up_for`], or a [`ReadyService`](crate::ReadyService) probe); failed
    /// fetches are retried in the background with backoff, and until keys arrive that issuer's
    /// tokens are answered `503` with `Retry-After`.
    pub fn build(self) -> Result<Validator, ConfigError> {
        install_crypto_provider();
        if self.issuers.is_empty() {
            return Err(ConfigError::NoIssuers);
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let mut issuers: Vec<IssuerState> = Vec::with_capacity(self.issuers.len());
        for config in self.issuers {
            if issuers.iter().any(|i| i.config.issuer == config.issuer) {
                return Err(ConfigError::DuplicateIssuer(config.issuer.to_string()));
            }
            let fetcher = crate::jwks::fetcher(
                config.http_client.clone(),
                config.jwks_policy.max_body_bytes,
                config.allow_insecure_http,
            )
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
            let keys = KeySource::new(
                Arc::clone(&config.issuer),
                config.jwks.clone(),
                fetcher,
                config.jwks_policy.clone(),
                Arc::clone(&clock),
            );
            let secret = config
                .symmetric_secret
                .as_ref()
                .map(|s| Arc::new(VerificationKey::symmetric(s, config.algorithms)));
            issuers.push(IssuerState {
                config,
                keys,
                secret,
            });
        }
        let cache = (self.cache.capacity > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(self.cache.capacity)
                .expire_after(UntilExpiry {
                    max_age: self.cache.max_age,
                    clock: Arc::clone(&clock),
                })
                .build_with_hasher(foldhash::fast::RandomState::default())
        });
        let rejected = (self.cache.rejected_capacity > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(self.cache.rejected_capacity)
                .time_to_live(self.cache.rejected_ttl)
                .build_with_hasher(foldhash::fast::RandomState::default())
        });
        Ok(Validator {
            inner: Arc::new(Inner {
                issuers,
                cache,
                rejected,
                max_age: self.cache.max_age,
                rejected_ttl: self.cache.rejected_ttl,
                clock,
                max_token_length: self.max_token_length.unwrap_or(DEFAULT_MAX_TOKEN_LENGTH),
                counters: Arc::new(telemetry::Counters::register()),
                pool: VerifyPool::start(&self.verify_pool)?,
            }),
        })
    }
}

/// jsonwebtoken picks its crypto backend from its own features and panics at run time when it
/// finds none or both (as when another crate in the build enables the other one). Installing the
/// provider of scopegate's chosen backend explicitly removes that failure mode.
fn install_crypto_provider() {
    // Err means a provider is already installed (by us or the application): keep it.
    #[cfg(feature = "aws-lc-rs")]
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
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
    /// A validator for one issuer, with the default caches.
    pub fn new(config: AuthConfig) -> Result<Validator, ConfigError> {
        Validator::builder().issuer(config).build()
    }

    /// A builder for several issuers or non-default caches.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder::default()
    }

    /// Validates `token` (the bare JWT, without `Bearer `).
    pub async fn validate(&self, token: &str) -> Result<Arc<AuthContext>, AuthError> {
        let result = match self.validate_cached(token) {
            Some(result) => result,
            None => self.validate_uncached(token, None).await,
        };
        if result.is_ok() {
            self.inner.counters.accepted();
        }
        result
    }

    /// The verdict of a request the layer lets through, settled by its response (see
    /// [`telemetry::PendingVerdict`]).
    pub(crate) fn pending_verdict(&self, anonymous: bool) -> telemetry::PendingVerdict {
        telemetry::PendingVerdict::new(Arc::clone(&self.inner.counters), anonymous)
    }

    /// Answers from the caches when it can, without waiting: `None` means the token has to be
    /// verified. Rejections are counted here; an acceptance is counted by the caller, which
    /// knows whether something later refuses the request.
    pub(crate) fn validate_cached(
        &self,
        token: &str,
    ) -> Option<Result<Arc<AuthContext>, AuthError>> {
        let inner = &*self.inner;
        if token.len() > inner.max_token_length {
            let error = AuthError::MalformedToken(TokenProblem::TooLong);
            self.record_rejection(&error, None);
            return Some(Err(error));
        }
        let clock_now = inner.clock.now();
        let now_ms = unix_millis(clock_now);
        if let Some(cache) = &inner.cache {
            if let Some(hit) = cache.get(token) {
                let now = unix_seconds(clock_now);
                let issuer = &inner.issuers[hit.context.issuer_index];
                let key_trusted = match &issuer.secret {
                    Some(secret) if Arc::ptr_eq(secret, &hit.context.key) => true,
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
                        keys.generation() == hit.key_generation || keys.contains(&hit.context.key)
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

    /// Fully verifies `token` and caches the outcome (acceptance uncounted, as above); `peer`
    /// chooses its lane in the verification pool.
    pub(crate) async fn validate_uncached(
        &self,
        token: &str,
        peer: Option<IpAddr>,
    ) -> Result<Arc<AuthContext>, AuthError> {
        if self.refresh_overdue_keys().await
            && let Some(result) = self.validate_cached(token)
        {
            return result;
        }
        let mut parsed = match ParsedToken::parse(token) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.record_rejection(&error, None);
                return Err(error);
            }
        };
        match self.verify(token, &mut parsed, peer).await {
            Ok(context) => Ok(context),
            Err(error) => {
                if error == AuthError::BadSignature
                    && let Some(rejected) = &self.inner.rejected
                {
                    let until = self.inner.clock.now() + self.inner.rejected_ttl;
                    rejected.insert(Box::from(token), unix_millis(until));
                }
                self.record_rejection(&error, Some(&parsed));
                Err(error)
            }
        }
    }

    async fn verify(
        &self,
        token: &str,
        parsed: &mut ParsedToken<'_>,
        peer: Option<IpAddr>,
    ) -> Result<Arc<AuthContext>, AuthError> {
        let iss = match parsed.claims.get("iss") {
            None => return Err(AuthError::MissingClaim("iss")),
            Some(Value::String(iss)) => iss.as_str(),
            Some(_) => return Err(AuthError::InvalidClaim("iss")),
        };
        let (issuer_index, issuer) = self
            .inner
            .issuers
            .iter()
            .enumerate()
            .find(|(_, i)| *i.config.issuer == *iss)
            .ok_or(AuthError::WrongIssuer)?;
        let config = &issuer.config;
        if !config.algorithms.contains(parsed.alg) {
            return Err(AuthError::DisallowedAlgorithm);
        }
        if !config.token_type.accepts(parsed.typ.as_deref()) {
            return Err(AuthError::WrongTokenType);
        }

        let (signature, signing_input, alg) = (parsed.signature, parsed.signing_input, parsed.alg);
        let verifies = |key: Arc<VerificationKey>| -> SignatureCheck<'_> {
            Box::pin(async move {
                let valid = self
                    .inner
                    .pool
                    .verify_signature(peer, signing_input, signature, &key, alg)
                    .await
                    .map_err(|shed| {
                        self.inner.counters.shed(shed);
                        self.inner.pool.refusal(shed)
                    })?;
                self.inner.counters.signature_checked(valid);
                Ok(valid)
            })
        };
        let key = issuer
            .verified_key(parsed.kid.as_deref(), alg, verifies)
            .await?;

        let clock_now = self.inner.clock.now();
        let now = unix_seconds(clock_now);
        let leeway = config.leeway.as_secs() as i64;
        let claims = &parsed.claims;
        let expires_at = numeric_date(claims, "exp")?.ok_or(AuthError::MissingClaim("exp"))?;
        let valid_until = expires_at.saturating_add(leeway);
        if now >= valid_until {
            return Err(AuthError::Expired);
        }
        let not_before = numeric_date(claims, "nbf")?;
        let valid_from = not_before.map_or(i64::MIN, |nbf| nbf.saturating_sub(leeway));
        if now < valid_from {
            return Err(AuthError::NotYetValid);
        }
        let issued_at = numeric_date(claims, "iat")?;
        let audience = audience(claims)?;
        if !audience.iter().any(|aud| config.accepts_audience(aud)) {
            return Err(AuthError::WrongAudience);
        }
        for name in ["sub", "client_id", "jti"] {
            if !matches!(claims.get(name), None | Some(Value::String(_))) {
                return Err(AuthError::InvalidClaim(name));
            }
        }

        let claims = Claims {
            issuer: iss.to_owned(),
            audience,
            expires_at,
            not_before,
            issued_at,
            // Moved, not cloned: this is the hot path of a first sight.
            raw: std::mem::take(&mut parsed.claims),
        };
        let mut granted = Vec::new();
        for source in &config.scope_sources {
            if let Err(error) = source.collect(&claims, &mut granted) {
                // Give the claims back for the rejection's log line.
                parsed.claims = claims.raw;
                return Err(error);
            }
        }
        let scopes: Scopes = granted.iter().map(String::as_str).collect();
        let organization = config
            .organization_sources
            .iter()
            .find_map(|s| s.find(&claims));
        let context = Arc::new(AuthContext {
            claims,
            scopes,
            algorithm: parsed.alg,
            key,
            issuer_index,
            organization,
        });
        if let Some(cache) = &self.inner.cache {
            // Only a set known to hold the key may vouch for it on later hits; 0 matches no set.
            let keys = issuer.keys.current();
            let key_generation = if keys.contains(&context.key) {
                keys.generation()
            } else {
                0
            };
            let entry = CachedToken {
                context: Arc::clone(&context),
                valid_until,
                valid_from,
                fresh_until: unix_millis(clock_now + self.inner.max_age),
                key_generation,
            };
            cache.insert(Box::from(token), entry);
        }
        Ok(context)
    }

    /// One event per rejected token, with what can be told about it without trusting it. Values from
    /// the token are truncated and Debug-escaped, so a token cannot forge log lines.
    pub(crate) fn record_rejection(&self, error: &AuthError, parsed: Option<&ParsedToken<'_>>) {
        self.inner.counters.rejected(error.reason());
        let claim = |name: &str| {
            parsed
                .and_then(|p| p.claims.get(name))
                .and_then(Value::as_str)
                .map(short)
        };
        // A wrong audience is fixed by comparing the two lists: show both.
        let (aud, accepted) = match (error, parsed) {
            (AuthError::WrongAudience, Some(parsed)) => (
                Some(token_audiences(&parsed.claims)),
                self.accepted_audiences(claim("iss")),
            ),
            _ => (None, None),
        };
        tracing::debug!(
            target: "scopegate::reject",
            reason = error.reason().as_str(),
            claim = ?claim_name(error),
            kid = ?parsed.and_then(|p| p.kid.as_deref()).map(short),
            iss = ?claim("iss"),
            client_id = ?claim("client_id"),
            aud = ?aud,
            accepted = ?accepted,
            "rejected bearer token"
        );
    }

    /// Runs the scheduled refresh of every issuer whose keys are overdue for it. Returns whether
    /// any was.
    async fn refresh_overdue_keys(&self) -> bool {
        let mut any = false;
        for issuer in &self.inner.issuers {
            any |= issuer.keys.refresh_if_overdue().await;
        }
        any
    }

    /// The audiences the issuer `iss` accepts, as log text (each [`short`]).
    fn accepted_audiences(&self, iss: Option<&str>) -> Option<Vec<&str>> {
        let issuer = self
            .inner
            .issuers
            .iter()
            .find(|i| Some(&*i.config.issuer) == iss)?;
        Some(
            issuer
                .config
                .audiences
                .iter()
                .map(|matcher| match matcher {
                    AudienceMatcher::Exact(value) | AudienceMatcher::Prefix(value) => short(value),
                    AudienceMatcher::Function(_) => "<function>",
                })
                .collect(),
        )
    }

    /// Fetches every issuer's keys now (discovery included), instead of on the first token, and
    /// reports the first failure. A failure does not stop anything: the fetch is retried in the
    /// background with backoff. To start serving while the issuer is down, use
    /// [`warm_up_for`](Self::warm_up_for), which waits a bounded time and never fails.
    pub async fn warm_up(&self) -> Result<(), JwksError> {
        for issuer in &self.inner.issuers {
            if matches!(issuer.config.jwks, JwksSource::Static(_)) {
                continue;
            }
            issuer.keys.ensure_background_refresh();
            match issuer.keys.refresh(RefreshReason::WarmUp).await {
                Some(result) => result?,
                // No fetch finished in time to report on: fine if a set is at hand.
                None if issuer.keys.has_keys() => {}
                None => {
                    return Err(JwksError::Timeout {
                        url: issuer.config.issuer.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Fetch counters of the issuer `iss`, or `None` if it is not configured.
    pub fn jwks_stats(&self, iss: &str) -> Option<JwksStats> {
        self.inner
            .issuers
            .iter()
            .find(|i| *i.config.issuer == *iss)
            .map(|i| i.keys.stats())
    }

    /// Now, on the validator's clock.
    pub(crate) fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    /// Every issuer's key source, in configuration order.
    pub(crate) fn key_sources(&self) -> impl Iterator<Item = &KeySource> {
        self.inner.issuers.iter().map(|i| &i.keys)
    }

    /// The configured issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &AuthConfig> {
        self.inner.issuers.iter().map(|i| &i.config)
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

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field(
                "issuers",
                &self.issuers().map(AuthConfig::issuer).collect::<Vec<_>>(),
            )
            .field("cache", &self.inner.cache.is_some())
            .finish_non_exhaustive()
    }
}

/// A token split and decoded, not yet verified.
pub(crate) struct ParsedToken<'t> {
    signing_input: &'t str,
    signature: &'t str,
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<String>,
    claims: Map<String, Value>,
}

impl<'t> ParsedToken<'t> {
    fn parse(token: &'t str) -> Result<ParsedToken<'t>, AuthError> {
        let malformed = AuthError::MalformedToken;
        let mut dots = token.match_indices('.').map(|(i, _)| i);
        let (first, second) = match (dots.next(), dots.next(), dots.next()) {
            (Some(first), Some(second), None) => (first, second),
            (Some(_), Some(_), Some(_)) if token.split('.').count() == 5 => {
                return Err(malformed(TokenProblem::Encrypted));
            }
            _ => return Err(malformed(TokenProblem::NotJws)),
        };
        let header = decode_json(&token[..first])?;
        let payload = &token[first + 1..second];

        let text = |name: &str| -> Result<Option<String>, AuthError> {
            match header.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(malformed(TokenProblem::Header)),
            }
        };
        let alg = text("alg")?.ok_or(malformed(TokenProblem::Header))?;
        let alg: Algorithm = alg.parse().map_err(|_| AuthError::DisallowedAlgorithm)?;
        // RFC 7515 §4.1.11: an extension we do not implement must not be ignored. We implement
        // none, so any `crit` refuses the token; `b64: false` (RFC 7797) changes what is signed.
        if header.contains_key("crit") || header.get("b64").is_some_and(|b| b != &Value::Bool(true))
        {
            return Err(AuthError::UnsupportedHeader);
        }
        let kid = text("kid")?;
        let typ = text("typ")?;
        // `jku`, `x5u`, `jwk` and `x5c` are deliberately never read: keys come from the
        // configured source only.
        let claims = decode_json(payload)?;
        Ok(ParsedToken {
            signing_input: &token[..second],
            signature: &token[second + 1..],
            alg,
            kid,
            typ,
            claims,
        })
    }
}

fn decode_json(segment: &str) -> Result<Map<String, Value>, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::MalformedToken(TokenProblem::Base64))?;
    json::parse_object(&bytes).map_err(|_| AuthError::MalformedToken(TokenProblem::Json))
}

/// A NumericDate claim (RFC 7519 §2): a JSON number of seconds, possibly fractional, from 0 to
/// 10^15. Integers and floats share the bounds: an integer `exp` of `i64::MAX` would otherwise be
/// a token that never expires, and dates before 1970 are no date an access token can carry.
fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, AuthError> {
    // Far beyond any real date (31 million years), far below where f64 loses whole seconds.
    const LIMIT: i64 = 1_000_000_000_000_000;
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = match value {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(i),
            // u64 beyond i64, or a float: only a finite float in range gives a date.
            None => n
                .as_f64()
                .filter(|f| n.is_f64() && (0.0..=LIMIT as f64).contains(f))
                .map(|f| f.floor() as i64),
        },
        _ => None,
    };
    match seconds {
        Some(s) if (0..=LIMIT).contains(&s) => Ok(Some(s)),
        _ => Err(AuthError::InvalidClaim(name)),
    }
}

/// `aud`: one string or an array of strings (RFC 7519 §4.1.3).
fn audience(claims: &Map<String, Value>) -> Result<Vec<String>, AuthError> {
    match claims.get("aud") {
        None => Err(AuthError::MissingClaim("aud")),
        Some(Value::String(aud)) => Ok(vec![aud.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(aud) => Ok(aud.clone()),
                _ => Err(AuthError::InvalidClaim("aud")),
            })
            .collect(),
        Some(_) => Err(AuthError::InvalidClaim("aud")),
    }
}

/// The claim a `MissingClaim`/`InvalidClaim` rejection is about, for the log line.
fn claim_name(error: &AuthError) -> Option<&'static str> {
    match error {
        AuthError::MissingClaim(name) | AuthError::InvalidClaim(name) => Some(name),
        _ => None,
    }
}

/// A token's `aud` values for a log line: at most 8, each [`short`] (a token could list many).
fn token_audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(aud)) => vec![short(aud)],
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .take(8)
            .map(short)
            .collect(),
        _ => Vec::new(),
    }
}

fn short(value: &str) -> &str {
    let mut end = value.len().min(64);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

#[cfg(test)]
mod tests;
