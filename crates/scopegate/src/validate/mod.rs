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
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::claims::AuthContext;
use crate::clock::{Clock, unix_seconds};
use crate::config::{AuthConfig, ConfigError};
use crate::error::{AuthError, TokenProblem};
use crate::jwks::{JwksError, JwksSource, JwksStats, KeySource, RefreshReason, VerificationKey};
use crate::resolver::ResolverStats;
use crate::telemetry;
use crate::verify_pool::VerifyPool;
pub(crate) use issuer::IssuerState;
use resolved::{ChosenIssuer, Registry};

mod builder;
mod cache;
mod claims_check;
// Introspection is an HTTP call: compiled with `remote` only (a config asking for it without
// `remote` is refused by AuthConfigBuilder::build).
#[cfg(feature = "remote")]
mod introspected;
#[cfg(feature = "remote")]
mod introspection_judge;
mod issuer;
mod jose;
mod keys;
mod rejection;
mod resolved;
mod shared;

pub use builder::ValidatorBuilder;
pub use cache::CacheConfig;
use cache::{DigestMemo, RejectedCache, VerifiedCache};
pub(crate) use jose::ParsedToken;
pub use keys::MAX_KIDLESS_CANDIDATES;

/// One signature check of the token at hand with a key, on the verification pool: whether it
/// verifies, or the pool's refusal.
type SignatureCheck<'a> = Pin<Box<dyn Future<Output = Result<bool, AuthError>> + Send + 'a>>;

/// Default longest token accepted (checked before any decoding).
pub const DEFAULT_MAX_TOKEN_LENGTH: usize = 16 * 1024;

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

struct Inner {
    issuers: Vec<IssuerState>,
    /// Issuers chosen at run time by a trust rule, after the configured ones.
    resolver: Option<Registry>,
    cache: Option<VerifiedCache>,
    /// Bad signatures, with the Unix millisecond at which each is forgotten.
    rejected: Option<RejectedCache>,
    /// The caches' keys of the tokens sent most often.
    digests: DigestMemo,
    max_age: Duration,
    rejected_ttl: Duration,
    clock: Arc<dyn Clock>,
    max_token_length: usize,
    counters: Arc<telemetry::Counters>,
    pool: VerifyPool,
    /// The one issuer whose tokens are introspected, if any (see [`crate::introspect`]).
    #[cfg(feature = "remote")]
    introspection: Option<introspected::Introspection>,
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

    /// Fully verifies (or introspects) `token` and caches the outcome (acceptance uncounted, as in
    /// [`validate_cached`](Self::validate_cached)); `peer`
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
        #[cfg(feature = "remote")]
        if let Some(result) = self.validate_introspected(token, peer).await {
            return result;
        }
        self.validate_jwt(token, peer).await
    }

    /// Answers from the caches when it can, without waiting: `None` means the token has to be
    /// verified (or introspected). Rejections are counted here; an acceptance is counted by the
    /// caller, which knows whether something later refuses the request.
    pub(crate) fn validate_cached(
        &self,
        token: &str,
    ) -> Option<Result<Arc<AuthContext>, AuthError>> {
        if token.len() > self.inner.max_token_length {
            let error = AuthError::MalformedToken(TokenProblem::TooLong);
            self.record_rejection(&error, None);
            return Some(Err(error));
        }
        #[cfg(feature = "remote")]
        if let Some(routed) = self.route(token) {
            return self.validate_cached_introspected(token, routed);
        }
        self.validate_cached_jwt(token)
    }

    /// The uncached path of a JWT validated locally: parsed, then verified.
    async fn validate_jwt(
        &self,
        token: &str,
        peer: Option<IpAddr>,
    ) -> Result<Arc<AuthContext>, AuthError> {
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
                if error == AuthError::BadSignature {
                    self.remember_forgery(token);
                }
                self.record_rejection(&error, Some(&parsed));
                Err(error)
            }
        }
    }

    /// The steps of a first sight after parsing, in the order of ARCHITECTURE.md's request path.
    async fn verify(
        &self,
        token: &str,
        parsed: &mut ParsedToken<'_>,
        peer: Option<IpAddr>,
    ) -> Result<Arc<AuthContext>, AuthError> {
        let chosen = self.issuer_of(parsed).await?;
        let issuer = &*chosen;
        issuer.accepts_header(parsed)?;
        let key = self.verified_key(issuer, parsed, peer).await?;
        let now = self.inner.clock.now();
        let checked = claims_check::check(&parsed.claims, &issuer.config, unix_seconds(now))?;
        let validity = checked.validity;
        let context = Arc::new(issuer.context(chosen.index(), parsed, checked, key)?);
        self.remember_verified(token, &context, validity, &chosen, now);
        Ok(context)
    }

    /// The issuer whose `iss` the token names exactly, before any key is looked at: a
    /// configured one, else one the resolver's trust rule accepts.
    async fn issuer_of(&self, parsed: &ParsedToken<'_>) -> Result<ChosenIssuer<'_>, AuthError> {
        let iss = match parsed.claims.get("iss") {
            None => return Err(AuthError::MissingClaim("iss")),
            Some(Value::String(iss)) => iss.as_str(),
            Some(_) => return Err(AuthError::InvalidClaim("iss")),
        };
        let configured = self
            .inner
            .issuers
            .iter()
            .enumerate()
            .find(|(_, i)| *i.config.issuer == *iss);
        match (configured, &self.inner.resolver) {
            (Some((index, issuer)), _) => Ok(ChosenIssuer::Configured(index, issuer)),
            (None, Some(resolver)) => resolver.resolve(iss).await.map(ChosenIssuer::Resolved),
            (None, None) => Err(AuthError::WrongIssuer),
        }
    }

    /// The key that verifies the token's signature, each check run on the verification pool.
    async fn verified_key(
        &self,
        issuer: &IssuerState,
        parsed: &ParsedToken<'_>,
        peer: Option<IpAddr>,
    ) -> Result<Arc<VerificationKey>, AuthError> {
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
        issuer
            .verified_key(parsed.kid.as_deref(), alg, verifies)
            .await
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

    /// Fetch counters of the issuer `iss`, or `None` if it is neither configured nor live in
    /// the resolver.
    pub fn jwks_stats(&self, iss: &str) -> Option<JwksStats> {
        self.inner
            .issuers
            .iter()
            .find(|i| *i.config.issuer == *iss)
            .map(|i| i.keys.stats())
            .or_else(|| self.inner.resolver.as_ref()?.jwks_stats(iss))
    }

    /// Counters of the issuers resolved at run time, if there is a resolver.
    pub fn resolver_stats(&self) -> Option<ResolverStats> {
        self.inner.resolver.as_ref().map(Registry::stats)
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

#[cfg(test)]
mod tests;
