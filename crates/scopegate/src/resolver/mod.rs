//! Issuers resolved at run time, for multi-tenant services whose customers each have their own
//! issuer (one Logto tenant per customer): the issuer of a token is chosen by a trust rule over
//! its `iss`, checked before anything is fetched, and its keys are discovered on first sight.
//!
//! ```no_run
//! use scopegate::resolver::{IssuerPattern, IssuerResolver, Tenant};
//! use scopegate::{AuthConfig, Validator};
//!
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let tenants = IssuerPattern::new("https://{tenant}.id.example.com/oidc")?;
//! // The per-tenant policy comes from the same rule: here each tenant's API is its own audience.
//! let resolver = IssuerResolver::new(tenants, |tenant: &Tenant| {
//!     AuthConfig::builder(tenant.issuer(), format!("https://api.example.com/{}", tenant.id()))
//!         .build()
//! })
//! .max_issuers(1_000);
//! let validator = Validator::builder().resolver(resolver).build()?;
//! # Ok(()) }
//! ```
//!
//! What a token naming an issuer costs, and what it is answered:
//!
//! | `iss` | cost | answer |
//! |---|---|---|
//! | a configured issuer ([`ValidatorBuilder::issuer`](crate::ValidatorBuilder::issuer)) | none: chosen first, by exact match | as usual |
//! | not trusted by the rule | nothing is fetched | 401 `invalid_token` |
//! | trusted, refused by the policy (its `Err`) | nothing is fetched | 401 `invalid_token` |
//! | trusted, live | a lookup in the bounded set of live issuers | as usual |
//! | trusted, new | one discovery and one JWKS fetch, at most [`new_issuers_per_second`](IssuerResolver::new_issuers_per_second) (else 503 + `Retry-After`) | as usual, or 503 if the fetch fails |
//! | trusted, whose first fetch failed within [`failed_issuer_ttl`](IssuerResolver::failed_issuer_ttl) | nothing is fetched | 503 + `Retry-After` |
//!
//! Isolation: an issuer's keys verify only tokens whose `iss` is that issuer (the policy must
//! return a config for exactly the `iss` it was given, else the token is refused), and a cached
//! verified token is re-checked against the key set of its own issuer, which must still be live.
//! The live issuers are bounded ([`max_issuers`](IssuerResolver::max_issuers)); the least
//! recently used is evicted, and its key refresh stops with it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{AuthConfig, ConfigError};

mod pattern;
#[cfg(test)]
mod tests;

pub use pattern::{IssuerPattern, MAX_TENANT_LEN, PLACEHOLDER, PatternError};

/// A trusted issuer, as the trust rule found it in a token's `iss`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    issuer: Arc<str>,
    id: Arc<str>,
}

impl Tenant {
    pub(crate) fn new(issuer: &str, id: &str) -> Tenant {
        Tenant {
            issuer: Arc::from(issuer),
            id: Arc::from(id),
        }
    }

    pub(crate) fn issuer_arc(&self) -> &Arc<str> {
        &self.issuer
    }

    /// The issuer: the token's `iss`, exactly.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The tenant id: the placeholder's value for a pattern, what the allow-list returned
    /// otherwise.
    pub fn id(&self) -> &str {
        &self.id
    }
}

type AllowList = dyn Fn(&str) -> Option<String> + Send + Sync;
pub(crate) type Policy = dyn Fn(&Tenant) -> Result<AuthConfig, ConfigError> + Send + Sync;

/// Which `iss` values are trusted, and as which tenant: a pattern, or an allow-list function.
#[derive(Clone)]
pub struct IssuerTrust(Rule);

#[derive(Clone)]
enum Rule {
    Pattern(IssuerPattern),
    AllowList(Arc<AllowList>),
}

impl IssuerTrust {
    /// Trusts the issuers of `pattern`.
    pub fn pattern(pattern: IssuerPattern) -> IssuerTrust {
        IssuerTrust(Rule::Pattern(pattern))
    }

    /// Trusts the `iss` values for which `allow` returns a tenant id. It runs on the first
    /// sight of each token naming an issuer not live, before anything is fetched: keep it a
    /// lookup in memory (a set of known tenants), never a network call.
    ///
    /// ```
    /// use scopegate::resolver::IssuerTrust;
    ///
    /// let customers = ["https://id.acme.example", "https://login.globex.example/realms/main"];
    /// let trust = IssuerTrust::allow_list(move |iss: &str| {
    ///     customers.iter().position(|c| *c == iss).map(|i| format!("customer-{i}"))
    /// });
    /// assert_eq!(trust.tenant_of("https://id.acme.example").as_deref(), Some("customer-0"));
    /// assert_eq!(trust.tenant_of("https://id.acme.example/"), None);
    /// ```
    pub fn allow_list(
        allow: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> IssuerTrust {
        IssuerTrust(Rule::AllowList(Arc::new(allow)))
    }

    /// The tenant id of `iss`, if it is trusted.
    pub fn tenant_of(&self, iss: &str) -> Option<String> {
        match &self.0 {
            Rule::Pattern(pattern) => pattern.tenant_of(iss).map(str::to_owned),
            Rule::AllowList(allow) => allow(iss).filter(|id| !id.is_empty()),
        }
    }
}

impl From<IssuerPattern> for IssuerTrust {
    fn from(pattern: IssuerPattern) -> IssuerTrust {
        IssuerTrust::pattern(pattern)
    }
}

impl fmt::Debug for IssuerTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Rule::Pattern(pattern) => pattern.fmt(f),
            Rule::AllowList(_) => f.write_str("IssuerTrust::AllowList(..)"),
        }
    }
}

/// Issuers resolved at run time: the trust rule, the per-tenant policy, and the bounds that keep
/// a flood of tokens naming made-up tenants cheap. Given to
/// [`ValidatorBuilder::resolver`](crate::ValidatorBuilder::resolver).
#[derive(Clone)]
#[must_use]
pub struct IssuerResolver {
    pub(crate) trust: IssuerTrust,
    pub(crate) policy: Arc<Policy>,
    pub(crate) max_issuers: u64,
    pub(crate) new_issuers_per_second: u32,
    pub(crate) failed_issuer_ttl: Duration,
    pub(crate) max_failed_issuers: u64,
}

impl IssuerResolver {
    /// Issuers trusted by `trust`, each checked with the config `policy` returns for it: its
    /// audiences, scope sources, algorithms, JWKS policy (discovery by default). The config
    /// must be for the tenant's issuer exactly; an `Err` refuses the tenant's tokens (401).
    ///
    /// Defaults: 1,000 live issuers, 5 new issuers a second, a failed first fetch remembered
    /// for 60 s (up to 10,000 issuers).
    pub fn new(
        trust: impl Into<IssuerTrust>,
        policy: impl Fn(&Tenant) -> Result<AuthConfig, ConfigError> + Send + Sync + 'static,
    ) -> IssuerResolver {
        IssuerResolver {
            trust: trust.into(),
            policy: Arc::new(policy),
            max_issuers: 1_000,
            new_issuers_per_second: 5,
            failed_issuer_ttl: Duration::from_secs(60),
            max_failed_issuers: 10_000,
        }
    }

    /// Most issuers kept live (each holds a key set and a refresh schedule); past it the least
    /// recently used is evicted, and fetched again if it comes back.
    pub fn max_issuers(mut self, max: u64) -> Self {
        self.max_issuers = max;
        self
    }

    /// Most issuers created (a discovery and a JWKS fetch each) per second, with a burst of as
    /// many; beyond it, tokens naming a new issuer are answered 503 with `Retry-After`.
    pub fn new_issuers_per_second(mut self, rate: u32) -> Self {
        self.new_issuers_per_second = rate;
        self
    }

    /// How long an issuer whose first fetch failed (a tenant that does not exist, or is down)
    /// is answered 503 without a new fetch.
    pub fn failed_issuer_ttl(mut self, ttl: Duration) -> Self {
        self.failed_issuer_ttl = ttl;
        self
    }

    /// Most failed issuers remembered.
    pub fn max_failed_issuers(mut self, max: u64) -> Self {
        self.max_failed_issuers = max;
        self
    }

    /// The trust rule.
    pub fn trust(&self) -> &IssuerTrust {
        &self.trust
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.max_issuers == 0 || self.new_issuers_per_second == 0 {
            return Err(ConfigError::InvalidPolicy(
                "max_issuers or new_issuers_per_second is zero",
            ));
        }
        if self.failed_issuer_ttl.is_zero() {
            return Err(ConfigError::InvalidPolicy("failed_issuer_ttl is zero"));
        }
        Ok(())
    }
}

impl fmt::Debug for IssuerResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerResolver")
            .field("trust", &self.trust)
            .field("max_issuers", &self.max_issuers)
            .field("new_issuers_per_second", &self.new_issuers_per_second)
            .field("failed_issuer_ttl", &self.failed_issuer_ttl)
            .finish_non_exhaustive()
    }
}

/// Counters of the issuers resolved at run time (for tests, dashboards and alerts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverStats {
    /// Issuers live now.
    pub live: u64,
    /// Issuers created (each one discovery and JWKS fetch).
    pub created: u64,
    /// Created issuers whose first fetch failed.
    pub failed: u64,
    /// Tokens naming a new issuer refused because the creation rate was exhausted.
    pub rate_limited: u64,
    /// Tokens refused without a fetch because their issuer failed recently.
    pub known_failed: u64,
    /// Tokens whose `iss` the trust rule or the policy refused.
    pub untrusted: u64,
    /// Live issuers evicted to stay within the bound.
    pub evicted: u64,
}
