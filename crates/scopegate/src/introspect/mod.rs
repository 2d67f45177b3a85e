//! RFC 7662 token introspection: a second way to turn a token into an
//! [`AuthContext`](crate::AuthContext), for opaque access tokens (Logto issues them when a client
//! names no API resource) and, where revocation must take effect before `exp`, for JWTs too.
//!
//! ```
//! use std::time::Duration;
//! use scopegate::introspect::{IntrospectionConfig, IntrospectionPolicy};
//!
//! let config = scopegate::AuthConfig::builder("https://id.example.com", "https://shopping.api")
//!     .introspection(
//!         IntrospectionConfig::new("api-client-id", "api-client-secret")
//!             .policy(IntrospectionPolicy::OpaqueOnly)
//!             .cache_ttl(Duration::from_secs(30)), // revocation takes effect within 30 s
//!     )
//!     .build()?;
//! # Ok::<(), scopegate::ConfigError>(())
//! ```
//!
//! The validator routes a token by its shape ([`TokenKind`](crate::token::TokenKind)): a JWT is
//! validated locally, an opaque token is introspected (under
//! [`IntrospectionPolicy::Always`], a JWT is validated locally first and then introspected).
//! What the response says is judged like a JWT's claims: `active` must be `true`; `iss`, when
//! present, must be the issuer; `aud` must be accepted when present (always required with
//! [`require_audience`](IntrospectionConfig::require_audience)); `exp`/`nbf` are honoured with
//! the leeway; `token_type`, when present, must be an access token type; scopes come from the
//! issuer's scope sources (`scope`, a space-delimited string, by default), the organization
//! from its organization sources. A response's `cnf` binds the token as a JWT's does
//! (RFC 9449 §6.2): `jkt`, checked against the request's DPoP proof by the layer, or refused.
//!
//! Results are cached, keyed by the full token, until the earlier of the token's `exp` and
//! [`cache_ttl`](IntrospectionConfig::cache_ttl) (the documented upper bound on how long a
//! revoked token is still accepted); inactive results for
//! [`inactive_ttl`](IntrospectionConfig::inactive_ttl). Concurrent first sights of one token
//! share one call; at most [`max_in_flight`](IntrospectionConfig::max_in_flight) calls run at
//! once and [`max_queued`](IntrospectionConfig::max_queued) wait; past that, and whenever the
//! endpoint cannot answer, the request gets `503` with `Retry-After`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

// The HTTP call and its cache: with `remote` only. The config above them is always there, so
// that a build without `remote` can name it and be refused with a precise ConfigError.
#[cfg(feature = "remote")]
mod exchange;
#[cfg(feature = "remote")]
mod flight;

#[cfg(feature = "remote")]
pub(crate) use exchange::{Answer, Exchange};
#[cfg(feature = "remote")]
pub(crate) use flight::{Flights, Unavailable, Verdict};

/// Media type of an RFC 9701 JWT introspection response.
pub const JWT_RESPONSE_MEDIA_TYPE: &str = "application/token-introspection+jwt";

/// Which tokens are introspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IntrospectionPolicy {
    /// No token is introspected: opaque tokens are refused (the behaviour without
    /// introspection).
    Never,
    /// Opaque tokens are introspected; JWTs are validated locally only. The default once an
    /// [`IntrospectionConfig`] is given.
    #[default]
    OpaqueOnly,
    /// Every token is introspected, a JWT after its local validation: for APIs where a revoked
    /// token must stop working within [`cache_ttl`](IntrospectionConfig::cache_ttl), not at `exp`.
    Always,
}

/// How scopegate authenticates to the introspection endpoint (RFC 7662 §2.1, RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `Authorization: Basic` (the default, and what Logto wants).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// Introspection of one issuer's tokens, given to
/// [`AuthConfigBuilder::introspection`](crate::AuthConfigBuilder::introspection). Its `Debug`
/// output never shows the client secret.
#[derive(Clone)]
#[must_use]
pub struct IntrospectionConfig {
    pub(crate) endpoint: Option<String>,
    pub(crate) client_id: String,
    // Read by the exchange, which needs `remote`.
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) client_secret: Arc<str>,
    pub(crate) auth_method: ClientAuthMethod,
    pub(crate) policy: IntrospectionPolicy,
    pub(crate) cache_ttl: Duration,
    pub(crate) inactive_ttl: Duration,
    pub(crate) cache_capacity: u64,
    pub(crate) max_in_flight: usize,
    pub(crate) max_queued: usize,
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) require_audience: bool,
    pub(crate) jwt_response: bool,
}

impl IntrospectionConfig {
    /// Introspects with these client credentials at the endpoint the issuer's discovery
    /// document names (`introspection_endpoint`), with the defaults: `client_secret_basic`,
    /// [`OpaqueOnly`](IntrospectionPolicy::OpaqueOnly), a 60 s cache, 32 calls in flight.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        IntrospectionConfig {
            endpoint: None,
            client_id: client_id.into(),
            client_secret: Arc::from(client_secret.into()),
            auth_method: ClientAuthMethod::ClientSecretBasic,
            policy: IntrospectionPolicy::OpaqueOnly,
            cache_ttl: Duration::from_secs(60),
            inactive_ttl: Duration::from_secs(5),
            cache_capacity: 10_000,
            max_in_flight: 32,
            max_queued: 128,
            timeout: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
            require_audience: false,
            jwt_response: false,
        }
    }

    /// Uses this endpoint instead of discovering it (https, or http to loopback only).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Sets how the client authenticates (default `client_secret_basic`).
    pub fn auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Sets which tokens are introspected (default [`OpaqueOnly`](IntrospectionPolicy::OpaqueOnly)).
    pub fn policy(mut self, policy: IntrospectionPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Longest time an active result is trusted without asking again (default 60 s; zero turns
    /// the cache off). A token revoked at the authorization server is refused at the latest
    /// this long after its revocation.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long an inactive result is remembered (default 5 s), so that a replayed bad token
    /// costs one call.
    pub fn inactive_ttl(mut self, ttl: Duration) -> Self {
        self.inactive_ttl = ttl;
        self
    }

    /// Most results cached (default 10,000).
    pub fn cache_capacity(mut self, capacity: u64) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Most introspection calls in flight at once (default 32).
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls;
        self
    }

    /// Most first-sight tokens waiting for a call slot (default 128); past it, `503`.
    pub fn max_queued(mut self, tokens: usize) -> Self {
        self.max_queued = tokens;
        self
    }

    /// Time limit of one introspection, the wait for a slot, discovery and the call together
    /// (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest response accepted (default 64 KiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Requires `aud` in every response (strict mode); by default a response without `aud` is
    /// accepted and one with `aud` must name an accepted audience.
    pub fn require_audience(mut self) -> Self {
        self.require_audience = true;
        self
    }

    /// Asks for RFC 9701 JWT responses (`Accept: application/token-introspection+jwt`), signed
    /// by the issuer and verified with its keys, for issuers that support them.
    pub fn jwt_response(mut self) -> Self {
        self.jwt_response = true;
        self
    }

    /// The policy.
    pub fn introspection_policy(&self) -> IntrospectionPolicy {
        self.policy
    }

    /// Checks what can be checked without the network (without `remote`, the config is
    /// refused before this).
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.client_id.is_empty() {
            Some("the client id is empty")
        } else if self.max_in_flight == 0 {
            Some("max_in_flight is zero")
        } else if self.timeout.is_zero() {
            Some("the timeout is zero")
        } else if self.max_body_bytes == 0 {
            Some("max_body_bytes is zero")
        } else {
            None
        }
    }
}

impl fmt::Debug for IntrospectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("auth_method", &self.auth_method)
            .field("policy", &self.policy)
            .field("cache_ttl", &self.cache_ttl)
            .field("max_in_flight", &self.max_in_flight)
            .field("require_audience", &self.require_audience)
            .field("jwt_response", &self.jwt_response)
            .finish_non_exhaustive()
    }
}
