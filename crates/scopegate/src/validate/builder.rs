//! [`ValidatorBuilder`]: issuers, caches, limits and clock in; a [`Validator`] with one key
//! source per issuer out.

use std::sync::Arc;

use super::cache::{CacheConfig, token_caches};
#[cfg(feature = "remote")]
use super::introspected::Introspection;
use super::resolved::Registry;
use super::{DEFAULT_MAX_TOKEN_LENGTH, Inner, IssuerState, Validator};
use crate::clock::{Clock, SystemClock};
use crate::config::{AuthConfig, ConfigError};
use crate::jwks::{KeySource, VerificationKey};
use crate::resolver::IssuerResolver;
use crate::telemetry;
use crate::verify_pool::{VerifyPool, VerifyPoolConfig};

/// Builds a [`Validator`] for several issuers, or with non-default caches and limits.
#[derive(Debug, Default)]
#[must_use]
pub struct ValidatorBuilder {
    issuers: Vec<AuthConfig>,
    cache: CacheConfig,
    max_token_length: Option<usize>,
    verify_pool: VerifyPoolConfig,
    clock: Option<Arc<dyn Clock>>,
    resolver: Option<IssuerResolver>,
}

impl ValidatorBuilder {
    /// Accepts tokens of one more issuer. The issuer of a token is chosen by exact match of its
    /// `iss` before anything else; one issuer's keys never verify another's tokens.
    pub fn issuer(mut self, config: AuthConfig) -> Self {
        self.issuers.push(config);
        self
    }

    /// Also accepts tokens of issuers chosen at run time by `resolver`'s trust rule (see
    /// [`resolver`](crate::resolver)); the configured issuers are matched first.
    pub fn resolver(mut self, resolver: IssuerResolver) -> Self {
        self.resolver = Some(resolver);
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
        if self.issuers.is_empty() && self.resolver.is_none() {
            return Err(ConfigError::NoIssuers);
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let mut issuers: Vec<IssuerState> = Vec::with_capacity(self.issuers.len());
        #[cfg(feature = "remote")]
        let mut introspection: Option<Introspection> = None;
        for config in self.issuers {
            if issuers.iter().any(|i| i.config.issuer == config.issuer) {
                return Err(ConfigError::DuplicateIssuer(config.issuer.to_string()));
            }
            // Without `remote`, AuthConfigBuilder::build refused any introspection config.
            #[cfg(feature = "remote")]
            if let Some(wanted) = &config.introspection {
                if let Some(other) = &introspection {
                    let first = issuers[other.issuer_index].config.issuer.to_string();
                    return Err(ConfigError::SeveralIntrospectingIssuers(
                        first,
                        config.issuer.to_string(),
                    ));
                }
                // Its own fetcher over the same client and rules as the issuer's keys.
                let fetcher = crate::jwks::fetcher(
                    config.http_client.clone(),
                    wanted.max_body_bytes,
                    config.allow_insecure_http,
                )
                .map_err(ConfigError::HttpClient)?;
                introspection = Some(Introspection::new(
                    issuers.len(),
                    Arc::clone(&config.issuer),
                    wanted,
                    fetcher,
                    Arc::clone(&clock),
                ));
            }
            issuers.push(IssuerState::new(config, &clock)?);
        }
        let resolver = match self.resolver {
            Some(resolver) => {
                resolver.check()?;
                Some(Registry::new(resolver, Arc::clone(&clock)))
            }
            None => None,
        };
        let (cache, rejected) = token_caches(&self.cache);
        Ok(Validator {
            inner: Arc::new(Inner {
                issuers,
                resolver,
                cache,
                rejected,
                digests: Default::default(),
                max_age: self.cache.max_age,
                rejected_ttl: self.cache.rejected_ttl,
                clock,
                max_token_length: self.max_token_length.unwrap_or(DEFAULT_MAX_TOKEN_LENGTH),
                counters: Arc::new(telemetry::Counters::register()),
                pool: VerifyPool::start(&self.verify_pool)?,
                #[cfg(feature = "remote")]
                introspection,
            }),
        })
    }
}

impl IssuerState {
    /// An issuer's state: its key source (nothing fetched yet) and HMAC secret.
    pub(crate) fn new(config: AuthConfig, clock: &Arc<dyn Clock>) -> Result<Self, ConfigError> {
        #[cfg(feature = "remote")]
        let fetcher = crate::jwks::fetcher(
            config.http_client.clone(),
            config.jwks_policy.max_body_bytes,
            config.allow_insecure_http,
        )
        .map_err(ConfigError::HttpClient)?;
        let keys = KeySource::new(
            Arc::clone(&config.issuer),
            config.jwks.clone(),
            #[cfg(feature = "remote")]
            fetcher,
            config.jwks_policy.clone(),
            Arc::clone(clock),
        );
        let secret = config
            .symmetric_secret
            .as_ref()
            .map(|s| Arc::new(VerificationKey::symmetric(s, config.algorithms)));
        Ok(IssuerState {
            config,
            keys,
            secret,
            shared: Default::default(),
        })
    }
}

/// jsonwebtoken picks its crypto backend from its own features and panics at run time when it
/// finds none or both (as when another crate in the build, or scopegate's own additive features,
/// enable both). Installing the provider explicitly removes that failure mode; with both
/// backends on, aws-lc-rs wins (the faster: 199 µs vs 1,160 µs per ES384 check).
fn install_crypto_provider() {
    // Err means a provider is already installed (by us or the application): keep it.
    #[cfg(feature = "aws-lc-rs")]
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}
